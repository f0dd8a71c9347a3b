"""The real-data evaluation: strict as-of training, models as forecasters, comparison with
bootstrap intervals; a synthetic crowd with a known bias, and the Metaculus series."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from forecasts.runs.evaluate import evaluate_crowd, is_deadline_question


def _underconfident_crowd(ledger, seed=0, n=300, flip_after=None):
    """Questions with a true probability; the crowd states it shrunk towards 0.5 (logit x 0.4)."""
    rng = np.random.default_rng(seed)
    qs, fs, rs = [], [], []
    start = datetime(2018, 1, 1)
    for i in range(n):
        opens = start + timedelta(days=7 * i)
        closes = opens + timedelta(days=60)
        truth = rng.uniform(0.03, 0.97)
        y = rng.uniform() < truth
        if flip_after is not None and opens >= flip_after:
            y = not y
        crowd = 1 / (1 + np.exp(-0.4 * np.log(truth / (1 - truth))))
        qid = f"q{i}"
        qs.append({"qid": qid, "title": f"Question {i}?", "opens": opens, "closes": closes})
        for k in range(3):
            fs.append({"question": qid, "forecaster": "import:crowd", "made_at": opens + timedelta(days=1 + 10 * k),
                       "probability": float(crowd)})
        rs.append({"question": qid, "outcome": "yes" if y else "no", "on": closes})
    ledger.import_history(questions=qs, forecasts=fs, resolutions=rs, source="import:crowd")


def test_extremizing_helps_an_underconfident_crowd(ledger):
    _underconfident_crowd(ledger)
    e = evaluate_crowd(ledger, crowd="import:crowd", cutoff="2020-06-01", n_boot=500)
    assert e.params["extremizing factor d"] > 1.3  # truth 2.5, shrunk by the Normal(1, 1) prior
    row = e.table[(e.table.model == "model:extremized") & (e.table.rule == "brier")].iloc[0]
    assert row["difference"] < 0 and row["upper"] < 0
    assert e.counts["test_questions"] > 50 and "helps under brier" in e.verdicts["model:extremized"]
    assert "model:hazard" not in set(e.table.model)  # no deadline questions here


def test_no_lookahead_outcomes_after_the_cutoff_do_not_change_the_fit(ledger, tmp_path):
    from forecasts.ledger import Ledger

    _underconfident_crowd(ledger)
    other = Ledger.open(tmp_path / "other.duckdb", create=True)
    _underconfident_crowd(other, flip_after=datetime(2019, 5, 1))  # every later outcome reversed
    a = evaluate_crowd(ledger, crowd="import:crowd", cutoff="2019-05-01", n_boot=100)
    b = evaluate_crowd(other, crowd="import:crowd", cutoff="2019-05-01", n_boot=100)
    assert a.params == b.params
    assert not a.table["difference"].equals(b.table["difference"])


def test_deadline_questions():
    assert is_deadline_question("Will China land a person on the Moon before 2030?")
    assert is_deadline_question("Will New START be extended by February 5th 2021?")
    assert not is_deadline_question("Will Putin remain president by 2025?")
    assert not is_deadline_question("What share of votes will X get?")


def test_metaculus_resolved_before_2022(ledger, shared):
    from forecasts.sources.metaculus import import_metaculus

    import_metaculus(ledger, shared("metaculus_binary_community_timeseries.parquet"),
                     questions=shared("metaculus_binary_questions.csv"), skip_malformed=True,
                     resolved_before="2022-01-01")
    e = evaluate_crowd(ledger, cutoff="2020-07-01", n_boot=1000)
    assert e.counts["train_questions"] == 556 and e.counts["test_questions"] == 241
    t = e.table.set_index(["model", "rule"])
    # the numbers reported in the note (bootstrap over questions, seed 0)
    assert t.loc[("model:extremized", "brier"), "difference"] == pytest.approx(-0.0011, abs=5e-4)
    assert t.loc[("model:hazard", "brier"), "lower"] > 0  # pure quiet decay is clearly worse
    assert set(t.index.get_level_values(0)) == {"model:extremized", "model:recalibrated",
                                                 "model:hazard-crowd", "model:hazard"}
