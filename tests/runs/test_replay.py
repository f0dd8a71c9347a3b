"""The demo replay: the closed-form models backtested on New START, the crowd models on every
question, the smoothed crowd, the scores on New START."""

from __future__ import annotations

from datetime import datetime

from forecasts.runs.replay import replay_demo


def test_replay_demo(demo_copy):
    ledger = demo_copy
    out = replay_demo(ledger)
    paths = out["paths"]
    assert {"backtest:evidence", "backtest:hazard", "backtest:extremized", "backtest:hazard-crowd", "import:metaculus",
            "model:dynamic-crowd"} <= set(paths["forecaster"])
    ev = paths[paths["forecaster"] == "backtest:evidence"]
    assert ev["made_at"].min() >= datetime(2020, 8, 10, 23) and ev["made_at"].max() < datetime(2021, 1, 26, 12)
    assert ((paths["probability"] > 0) & (paths["probability"] < 1)).all()
    assert out["written"]["evidence"] == out["written"]["hazard"] > 30
    # the crowd models run on every question the Metaculus community forecast, not New START alone
    replayed = ledger.forecasts(clock="world", forecaster="backtest:extremized")
    assert out["written"]["extremized"] == len(replayed) > 500 and replayed["question"].nunique() == 6
    assert out["written"]["hazard-crowd"] > 300
    assert list(out["fits"]["n_questions"]) == [0, 1, 2, 3]
    scores = out["scores"]
    assert {"backtest:evidence", "backtest:hazard", "import:metaculus"} <= set(scores.index)
    assert scores["coverage"].loc["backtest:evidence"] > 0.99
    assert any("Billingslea answers that Russia turned down all US meeting offers" in line
               for line in out["explanations"]["evidence"])
    assert ledger.verify().ok
