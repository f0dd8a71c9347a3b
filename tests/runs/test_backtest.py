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
