"""The New START demo replay: both closed-form models backtested, smoothed crowd, scores."""

from __future__ import annotations

from datetime import datetime

from forecasts.runs.replay import replay_demo


def test_replay_demo(demo_copy):
    ledger = demo_copy
    out = replay_demo(ledger)
    paths = out["paths"]
    assert {"backtest:evidence", "backtest:hazard", "import:metaculus", "model:dynamic-crowd"} <= set(paths["forecaster"])
    ev = paths[paths["forecaster"] == "backtest:evidence"]
    assert ev["made_at"].min() >= datetime(2020, 8, 10, 23) and ev["made_at"].max() < datetime(2021, 1, 26, 12)
    assert ((paths["probability"] > 0) & (paths["probability"] < 1)).all()
    assert out["written"]["evidence"] == out["written"]["hazard"] > 30
    scores = out["scores"]
    assert {"backtest:evidence", "backtest:hazard", "import:metaculus"} <= set(scores.index)
    assert scores["coverage"].loc["backtest:evidence"] > 0.99
    assert any("Billingslea answers that Russia turned down all US meeting offers" in line
               for line in out["explanations"]["evidence"])
    assert ledger.verify().ok
