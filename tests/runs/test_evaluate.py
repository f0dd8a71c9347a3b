"""The real-data evaluation: strict as-of training, models as forecasters, comparison with
bootstrap intervals; a synthetic crowd with a known bias, a question scored by hand after the
cut-off, and the Metaculus series."""

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
        if flip_after is not None and closes >= flip_after:   # every outcome resolved after it
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
    e = evaluate_crowd(ledger, crowd="import:crowd", cutoff="2020-06-01", n_boot=500, contextual=False)
    assert e.params["extremizing factor d"] > 1.3  # truth 2.5, shrunk by the Normal(1, 1) prior
    row = e.table[(e.table.model == "model:extremized") & (e.table.rule == "brier")].iloc[0]
    assert row["difference"] < 0 and row["upper"] < 0
    assert e.counts["test_questions"] > 50 and "helps under brier" in e.verdicts["model:extremized"]
    assert e.counts["test_open_at_cutoff"] == 8      # opened in the 60 days before the cut-off
    assert "model:hazard" not in set(e.table.model)  # no deadline questions here
    assert "model:contextual" not in set(e.table.model)
    # every row says how many questions it rests on; pairs cover every two forecasters
    for frame in (e.table, e.by_horizon, e.by_length, e.pairs):
        assert (frame["n_questions"] > 0).all()
    assert {(r.a, r.b) for r in e.pairs.itertuples()} == {
        ("import:crowd", "model:extremized"), ("import:crowd", "model:recalibrated"),
        ("model:extremized", "model:recalibrated")}
    assert set(e.by_horizon["horizon"]) == {"1-3 months", "under 1 month"}   # 60-day questions


def test_no_lookahead_outcomes_after_the_cutoff_do_not_change_the_fit(ledger, tmp_path):
    from forecasts.ledger import Ledger

    _underconfident_crowd(ledger)
    other = Ledger.open(tmp_path / "other.duckdb", create=True)
    _underconfident_crowd(other, flip_after=datetime(2019, 5, 1))  # every later outcome reversed
    a = evaluate_crowd(ledger, crowd="import:crowd", cutoff="2019-05-01", n_boot=100, contextual=False)
    b = evaluate_crowd(other, crowd="import:crowd", cutoff="2019-05-01", n_boot=100, contextual=False)
    assert a.params == b.params
    assert not a.table["difference"].equals(b.table["difference"])


@pytest.mark.slow
def test_no_lookahead_in_the_contextual_fit(ledger, tmp_path):
    """The same with the PyMC fit: identical posterior draws, different test scores."""
    from forecasts.ledger import Ledger

    _underconfident_crowd(ledger, n=120)
    other = Ledger.open(tmp_path / "other.duckdb", create=True)
    _underconfident_crowd(other, n=120, flip_after=datetime(2019, 5, 1))
    a = evaluate_crowd(ledger, crowd="import:crowd", cutoff="2019-05-01", n_boot=100, draws=300, tune=300)
    b = evaluate_crowd(other, crowd="import:crowd", cutoff="2019-05-01", n_boot=100, draws=300, tune=300)
    fa, fb = a.fits["contextual"], b.fits["contextual"]
    assert fa["draws"] == fb["draws"] and fa["coefficients"] == fb["coefficients"]
    assert fa["trained_through"] == fb["trained_through"] < "2019-05-01"
    row = {e: x.table.set_index(["model", "rule"]).loc[("model:contextual", "brier")] for e, x in (("a", a), ("b", b))}
    assert row["a"]["n_questions"] == row["b"]["n_questions"] and row["a"]["score_model"] != row["b"]["score_model"]
    assert row["a"]["difference"] < 0       # the crowd's log-odds are shrunk by 0.4: the fit undoes some of it


def test_open_questions_are_scored_after_the_cutoff_by_hand(ledger):
    """One question open across the cut-off: only its life after the cut-off is scored, with
    the forecast standing at the cut-off holding from it; one question is too few for a verdict."""
    _underconfident_crowd(ledger, n=60)           # all resolved by mid-2019: the training set
    ledger.import_history(
        questions=[{"qid": "long", "title": "Long question?", "opens": "2020-01-01", "closes": "2020-12-31"}],
        forecasts=[{"question": "long", "forecaster": "import:crowd", "made_at": t, "probability": p}
                   for t, p in (("2020-01-02", 0.2), ("2020-03-01", 0.6), ("2020-09-01", 0.8))],
        resolutions=[{"question": "long", "outcome": "yes", "on": "2020-12-31"}], source="import:crowd")
    e = evaluate_crowd(ledger, crowd="import:crowd", cutoff="2020-07-01", n_boot=100, contextual=False)
    assert e.counts["test_questions"] == 1 and e.counts["test_open_at_cutoff"] == 1
    row = e.table.set_index(["model", "rule"]).loc[("model:extremized", "brier")]
    # 1 Jul - 1 Sep (62 days) at 0.6, 1 Sep - 31 Dec (121 days) at 0.8; resolved yes
    assert row["score_crowd"] == pytest.approx((62 * 0.4**2 + 121 * 0.2**2) / 183)
    assert row["n_questions"] == 1
    assert "too few questions for a verdict" in e.verdicts["model:extremized"]
    assert "helps" not in e.verdicts["model:extremized"] and "hurts" not in e.verdicts["model:extremized"]
    h = e.by_horizon[(e.by_horizon["model"] == "model:extremized") & (e.by_horizon["rule"] == "brier")]
    h = h.set_index("horizon")["score_crowd"]
    # 3-12 months left: 1 Jul - 1 Oct (1 Sep - 1 Oct at 0.8); 1-3 months and under 1 month: 0.8
    assert h["3-12 months"] == pytest.approx((62 * 0.16 + 30 * 0.04) / 92)
    assert h["1-3 months"] == pytest.approx(0.04) and h["under 1 month"] == pytest.approx(0.04)
    assert "over 1 year" not in h.index
    assert set(e.by_length["length"]) == {"over 1 year"}
    assert "too few questions for a verdict" in e.to_text()


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
    e = evaluate_crowd(ledger, cutoff="2020-07-01", n_boot=1000, contextual=False)   # the PyMC fit: notebook 3
    assert e.counts["train_questions"] == 556 and e.counts["test_questions"] == 326
    assert e.counts["test_open_at_cutoff"] == 85 and e.counts["test_opened_after_cutoff"] == 241
    t = e.table.set_index(["model", "rule"])
    # the numbers reported in the note (bootstrap over questions, seed 0)
    assert t.loc[("model:extremized", "brier"), "difference"] == pytest.approx(-0.0011, abs=5e-4)
    assert t.loc[("model:hazard", "brier"), "lower"] > 0  # pure quiet decay is clearly worse
    assert set(t.index.get_level_values(0)) == {"model:extremized", "model:recalibrated",
                                                 "model:hazard-crowd", "model:hazard"}
