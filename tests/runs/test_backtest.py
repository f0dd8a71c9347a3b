"""Backtests on a real DuckDB ledger: rows marked as backtests, quiet weeks decaying the
hazard model, re-runs appending nothing twice, the dates of a backtest."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from forecasts.errors import InvalidInput
from forecasts.runs.backtest import backtest, backtest_dates


def test_backtest_marks_rows_and_skips_repeats(ledger):
    ledger.import_history(questions=[{"qid": "q", "title": "Q?", "opens": "2020-01-01", "closes": "2020-03-01"}],
                          forecasts=[{"question": "q", "forecaster": "ana", "made_at": "2020-01-02", "probability": 0.5}],
                          source="import:test")
    out = backtest(ledger, "q", "hazard", "2020-01-01", "2020-02-29", "1w")
    assert len(out["rows"]) == 9
    assert all(r["backtest"] and r["forecaster"] == "backtest:hazard" for r in out["rows"])
    assert out["skipped"] == {}
    stored = [r for r in ledger.records("forecasts", clock="world") if r["forecaster"] == "backtest:hazard"]
    assert {r["source"] for r in stored} == {"backtest:hazard"} and all(r["backtest"] for r in stored)
    probs = [r["probability"] for r in sorted(stored, key=lambda r: r["made_at"]) if r["made_at"] >= datetime(2020, 1, 2)]
    assert probs == sorted(probs, reverse=True)   # quiet weeks: the hazard probability decays
    again = backtest(ledger, "q", "hazard", "2020-01-01", "2020-02-29", "1w")
    assert again["rows"] == [] and again["existing"] == 9


def test_backtest_dates_refuse_bad_steps_and_spans():
    t0 = datetime(2021, 1, 1)
    with pytest.raises(InvalidInput, match="positive"):
        backtest_dates(t0, t0 + timedelta(days=3), timedelta(0))
    with pytest.raises(InvalidInput, match="before it starts"):
        backtest_dates(t0, t0 - timedelta(days=1), timedelta(days=1))


def test_one_name_everywhere_and_live_scores_leave_backtests_out(ledger, cli):
    ledger.import_history(questions=[{"qid": "q", "title": "Q?", "opens": "2020-01-01", "closes": "2020-03-01"}],
                          forecasts=[{"question": "q", "forecaster": "ana", "made_at": "2020-01-02", "probability": 0.5}],
                          resolutions=[{"question": "q", "outcome": "yes", "on": "2020-02-15"}], source="import:test")
    r = cli("backtest", "q", "--model", "hazard", "--from", "2020-01-01", "--every", "1w")
    assert r.returncode == 0 and "  backtest:hazard  " in r.stdout and "rows written as backtest:hazard" in r.stdout
    live = cli("score")
    assert "backtest:hazard" not in live.stdout.split("left out")[0] and "ana" in live.stdout
    assert "7 backtest rows left out" in live.stdout and "--backtests" in live.stdout
    both = cli("score", "--backtests", "--json")
    import json

    names = {row["forecaster"] for row in json.loads(both.stdout)["rows"]}
    assert names == {"ana", "backtest:hazard"}  # its own forecaster, not mixed with live model rows
    assert "model:hazard" not in names
    calibration = cli("calibration")
    assert "7 backtest rows left out" in calibration.stdout


def _two_crowd_questions(ledger, first_outcome="yes"):
    """A deadline question the crowd answers at 80% and that resolves on 2020-06-01, and a second
    one, open across that resolution, at 30% then 40%; the second resolves no after its close."""
    ledger.import_history(
        questions=[{"qid": "a", "title": "Will A happen before 2021?", "opens": "2020-01-01", "closes": "2020-12-31"},
                   {"qid": "b", "title": "Will B happen before 2021?", "opens": "2020-03-01", "closes": "2020-12-31"},
                   {"qid": "c", "title": "Will C still be in office?", "opens": "2020-03-01", "closes": "2020-04-01"}],
        forecasts=[{"question": "a", "forecaster": "import:crowd", "made_at": "2020-01-02", "probability": 0.8},
                   {"question": "a", "forecaster": "import:crowd", "made_at": "2020-03-01", "probability": 0.8},
                   {"question": "b", "forecaster": "import:crowd", "made_at": "2020-03-02", "probability": 0.3},
                   {"question": "b", "forecaster": "import:crowd", "made_at": "2020-07-01", "probability": 0.4},
                   {"question": "c", "forecaster": "import:crowd", "made_at": "2020-03-02", "probability": 0.5}],
        resolutions=[{"question": "a", "outcome": first_outcome, "on": "2020-06-01"},
                     {"question": "b", "outcome": "no", "on": "2021-01-01"}], source="import:crowd")


def test_backtest_crowd_replays_the_evaluation_models_walk_forward(ledger):
    from forecasts.models.aggregate import extremize, fit_extremizing
    from forecasts.runs.backtest import backtest_crowd

    _two_crowd_questions(ledger)
    out = backtest_crowd(ledger, "import:crowd", every="1w")
    ext, hz = out["rows"]["extremized"], out["rows"]["hazard-crowd"]
    assert set(ext["question"]) == {"a", "b", "c"} and set(hz["question"]) == {"a", "b"}  # c has no deadline
    assert out["written"] == {"extremized": len(ext), "hazard-crowd": len(hz)}
    stored = ledger.forecasts(clock="world")
    assert set(stored.loc[stored["backtest"], "forecaster"]) == {"backtest:extremized", "backtest:hazard-crowd"}
    # a row at each crowd forecast and weekly while it stands, up to the resolution (a) or the close (b)
    a = ext[ext["question"] == "a"]
    assert a["made_at"].min() == datetime(2020, 1, 2) and a["made_at"].max() < datetime(2020, 6, 1)
    assert (a["made_at"] == datetime(2020, 3, 1)).any() and len(a) == 9 + 14   # Jan 2 .. Feb 27, Mar 1 .. May 31
    assert ext.loc[ext["question"] == "b", "made_at"].max() < datetime(2020, 12, 31)
    # before anything is resolved: d = 1 (the crowd itself) and the default shape, 2
    before = ext[ext["made_at"] < datetime(2020, 6, 1)]
    crowd_p = before["params"].map(lambda p: p["of"])
    assert before["probability"].to_numpy() == pytest.approx(crowd_p.to_numpy(), rel=1e-12)
    assert (before["params"].map(lambda p: p["factor"]) == 1.0).all()
    first = hz[(hz["question"] == "b") & (hz["made_at"] == datetime(2020, 3, 9))].iloc[0]   # 7 quiet days
    horizon, quiet = (datetime(2020, 12, 31) - datetime(2020, 3, 2)).days, 7.0   # the deadline is b's close
    r = (1 - 0.3) ** (1 / 2)
    big_b = horizon * r / (1 - r) + quiet
    assert first["probability"] == pytest.approx(1 - (big_b / (big_b + horizon - quiet)) ** 2, rel=1e-9)
    # once a is resolved (2020-06-01), b's rows use the factor learned on a alone
    learned = fit_extremizing([{"question": "a", "forecaster": "import:crowd", "made_at": datetime(2020, 1, 2),
                                "probability": 0.8},
                               {"question": "a", "forecaster": "import:crowd", "made_at": datetime(2020, 3, 1),
                                "probability": 0.8}],
                              [{"question": "a", "outcome": "yes", "resolved_at": datetime(2020, 6, 1)}],
                              persons_only=False)["factor"]
    after = ext[(ext["question"] == "b") & (ext["made_at"] >= datetime(2020, 6, 1))]
    assert learned > 1 and len(after) > 20
    assert after["probability"].to_numpy() == pytest.approx(extremize(after["params"].map(lambda p: p["of"]), learned))
    assert set(after["params"].map(lambda p: p["n_questions"])) == {1}
    assert "learned from 1 resolved question" in after["rationale"].iloc[0]
    assert list(out["fits"]["n_questions"]) == [0, 1, 2]
    again = backtest_crowd(ledger, "import:crowd", every="1w")   # a re-run appends nothing twice
    assert again["written"] == {"extremized": 0, "hazard-crowd": 0}


def test_backtest_crowd_never_looks_ahead(ledger, tmp_path):
    from forecasts.ledger import Ledger
    from forecasts.runs.backtest import backtest_crowd

    _two_crowd_questions(ledger, "yes")
    other = Ledger.open(tmp_path / "other.duckdb", create=True)
    _two_crowd_questions(other, "no")    # the same world until a resolves on 2020-06-01
    mine, theirs = (backtest_crowd(x, "import:crowd", write=False)["rows"] for x in (ledger, other))
    for model in ("extremized", "hazard-crowd"):
        cut = datetime(2020, 6, 1)
        early = [x[model][x[model]["made_at"] < cut].reset_index(drop=True) for x in (mine, theirs)]
        assert len(early[0]) > 20
        assert early[0]["probability"].tolist() == early[1]["probability"].tolist()
        late = [x[model][(x[model]["question"] == "b") & (x[model]["made_at"] >= cut)] for x in (mine, theirs)]
        assert late[0]["probability"].tolist() != late[1]["probability"].tolist()
    assert ledger.forecasts()["backtest"].sum() == 0     # write=False appends nothing


def test_backtest_crowd_needs_the_crowds_forecasts(ledger):
    from forecasts.runs.backtest import backtest_crowd

    _two_crowd_questions(ledger)
    with pytest.raises(InvalidInput, match="no binary question has forecasts by import:nobody"):
        backtest_crowd(ledger, "import:nobody")
    with pytest.raises(InvalidInput, match="positive"):
        backtest_crowd(ledger, "import:crowd", every=timedelta(0))
