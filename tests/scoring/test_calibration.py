"""Tests of forecasts/scoring/calibration.py (and pooling.py).

Bad inputs first, then published golden values, hand-computed values, oracle
agreement (scikit-learn, model-diagnostics, statsmodels, scipy), properties.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.errors import InvalidInput
from forecasts.scoring import (
    calibration_cases,
    calibration_in_the_large,
    calibration_table,
    cox,
    decompose,
    ece,
    murphy,
    reliability,
    spiegelhalter,
    text_reliability_chart,
    time_averaged,
)
from forecasts.scoring.pooling import pool
from tests.scoring.conftest import make_forecasts, make_questions, make_resolutions


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("fn", [decompose, reliability, murphy, ece, spiegelhalter,
                                calibration_in_the_large, cox])
@pytest.mark.parametrize("p, y, msg", [
    ([], [], "no forecasts"),
    ([0.2, 1.1], [0, 1], r"\[0, 1\]"),
    ([0.2, np.nan], [0, 1], "NaN"),
    ([0.2, 0.3], [0, 2], "0 or 1"),
    ([0.2, 0.3], [0, 1, 1], "2 forecasts but 3 outcomes"),
])
def test_bad_inputs(fn, p, y, msg):
    with pytest.raises(InvalidInput, match=msg):
        fn(p, y)


def test_bad_weights_rule_bins_and_options():
    with pytest.raises(InvalidInput, match="non-negative"):
        decompose([0.2, 0.3], [0, 1], weights=[1.0, -1.0])
    with pytest.raises(InvalidInput, match="2 forecasts but 1 weights"):
        decompose([0.2, 0.3], [0, 1], weights=[1.0])
    with pytest.raises(InvalidInput, match="all weights are zero"):
        decompose([0.2, 0.3], [0, 1], weights=[0.0, 0.0])
    with pytest.raises(InvalidInput, match="rule"):
        decompose([0.2], [1], rule="crps")
    with pytest.raises(InvalidInput, match="strictly increasing"):
        murphy([0.2], [1], bins=[0, 0.5, 0.5, 1])
    with pytest.raises(InvalidInput, match="cover"):
        murphy([0.2], [1], bins=[0.1, 1])
    with pytest.raises(InvalidInput, match="alpha"):
        reliability([0.2], [1], alpha=1.5)
    with pytest.raises(InvalidInput, match="unknown bands"):
        reliability([0.2], [1], bands=("prediction",))
    with pytest.raises(InvalidInput, match="strictly between 0 and 1"):
        cox([0.0, 0.5, 0.7], [0, 1, 1])
    with pytest.raises(InvalidInput, match="reliability"):
        text_reliability_chart(pd.DataFrame({"x": [0.1]}))
    with pytest.raises(InvalidInput, match="grid"):
        pool(np.array([0.12345]), np.array([1.0]), method="grid")


# --------------------------------------------------------------- golden values
# Dimitriadis, Gneiting & Jordan (2021), PNAS 118(8) e2016191118, and the R
# package reliabilitydiag README: CORP Brier decomposition of the Niamey 2016
# probability-of-precipitation forecasts (data/precip_Niamey_2016.csv).
NIAMEY = {
    "EMOS": {"score": (0.2320, 4), "mcb": (0.0183, 4), "dsc": (0.0305, 4), "unc": (0.2442, 4)},
    "ENS": {"mcb": (0.066, 3), "dsc": (0.044, 3), "unc": (0.244, 3)},
    "EPC": {"mcb": (0.022, 3), "dsc": (0.032, 3), "unc": (0.244, 3)},
    "Logistic": {"mcb": (0.017, 3), "dsc": (0.056, 3), "unc": (0.244, 3)},
}


@pytest.mark.parametrize("method", sorted(NIAMEY))
def test_niamey_published_corp_values(niamey, method):
    d = decompose(niamey[method], niamey["obs"])
    assert d["n"] == 92
    for key, (value, digits) in NIAMEY[method].items():
        assert round(d[key], digits) == pytest.approx(value, abs=1e-12), key


def test_niamey_curve_and_bands(niamey):
    curve = reliability(niamey["EMOS"], niamey["obs"], n_boot=200, random_state=1)
    assert curve["n"].sum() == 92
    assert np.all(np.diff(curve["cep"]) >= 0)
    assert (curve["consistency_lower"] <= curve["consistency_upper"]).all()
    assert (curve["confidence_lower"] <= curve["confidence_upper"]).all()
    assert curve.attrs["decomposition"]["mcb"] == pytest.approx(0.0183, abs=5e-5)
    chart = text_reliability_chart(curve)
    assert chart.count("\n") >= 3 and "cep" in chart


# ------------------------------------------------------------------ hand values
def test_decompose_hand_values():
    # p = (0.2, 0.6, 0.7, 0.2), y = (0, 1, 1, 0): PAV fit is y itself, so
    # S(p_hat) = 0, MCB = S(p), DSC = UNC = 0.25.
    d = decompose([0.2, 0.6, 0.7, 0.2], [0, 1, 1, 0])
    assert d["score"] == pytest.approx((0.04 + 0.16 + 0.09 + 0.04) / 4)
    assert d["mcb"] == pytest.approx(d["score"])
    assert d["dsc"] == pytest.approx(0.25) and d["unc"] == pytest.approx(0.25)
    # log score: UNC = ln 2
    dl = decompose([0.2, 0.6, 0.7, 0.2], [0, 1, 1, 0], rule="log")
    assert dl["unc"] == pytest.approx(math.log(2))


def test_log_decomposition_is_infinite_when_certain_and_wrong():
    d = decompose([0.0, 0.5, 0.9], [1, 0, 1], rule="log")
    assert math.isinf(d["score"]) and math.isinf(d["mcb"])
    assert math.isfinite(d["dsc"]) and math.isfinite(d["unc"])


def test_murphy_hand_values():
    # bins [0, .5), [.5, 1]: bin 1 = {0.1 (y0), 0.3 (y1)}, bin 2 = {0.8 (y1), 0.6 (y1)}
    m = murphy([0.1, 0.3, 0.8, 0.6], [0, 1, 1, 1], bins=2)
    assert m["rel"] == pytest.approx((2 * (0.2 - 0.5) ** 2 + 2 * (0.7 - 1) ** 2) / 4)
    assert m["res"] == pytest.approx((2 * (0.5 - 0.75) ** 2 + 2 * (1 - 0.75) ** 2) / 4)
    assert m["unc"] == pytest.approx(0.75 * 0.25)
    assert m["wbv"] == pytest.approx((0.01 + 0.01 + 0.01 + 0.01) / 4)
    # WBC = 2/n sum (o - obar_k)(f - fbar_k) = 2/4 * ((-0.5)(-0.1) + (0.5)(0.1) + 0 + 0)
    assert m["wbc"] == pytest.approx(0.05)
    total = m["rel"] - m["res"] + m["unc"] + m["wbv"] - m["wbc"]
    assert total == pytest.approx(m["score"], abs=1e-15)
    assert list(m["table"]["n"]) == [2, 2]
    # user edges: a forecast on an edge goes to the bin starting there
    m2 = murphy([0.3, 0.3], [1, 0], bins=[0, 0.3, 1])
    assert list(m2["table"]["lower"]) == [0.3]
    assert "left-closed" in m2["binning"]


def test_ece_hand_value_and_binning():
    r = ece([0.1, 0.1, 0.3, 0.9], [0, 1, 0, 1], bins=[0, 0.5, 1])
    # bin 1: mean f = 0.1667, obs = 1/3; bin 2: 0.9 vs 1
    assert r["ece"] == pytest.approx(0.75 * abs(1 / 3 - 0.5 / 3) + 0.25 * 0.1)
    assert "2 bins" in r["binning"]


def test_spiegelhalter_hand_value_and_scipy_pvalue():
    from scipy.stats import norm

    p = np.array([0.1, 0.3, 0.7, 0.9])
    y = np.array([0, 0, 1, 1])
    r = spiegelhalter(p, y)
    num = np.sum((y - p) * (1 - 2 * p))
    den = np.sqrt(np.sum((1 - 2 * p) ** 2 * p * (1 - p)))
    assert r["z"] == pytest.approx(num / den, abs=1e-14)
    assert r["p_value"] == pytest.approx(2 * norm.sf(abs(r["z"])), abs=1e-14)
    assert math.isnan(spiegelhalter([0.5, 0.5], [0, 1])["z"])


def test_calibration_in_the_large():
    r = calibration_in_the_large([0.2, 0.2, 0.2, 0.2], [1, 0, 0, 1])
    assert r["difference"] == pytest.approx(0.3)
    assert r["z"] == pytest.approx((2 - 0.8) / math.sqrt(4 * 0.16))


def test_cox_matches_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    p = rng.uniform(0.05, 0.95, 300)
    logit = np.log(p / (1 - p))
    y = (rng.random(300) < 1 / (1 + np.exp(-(0.3 + 0.7 * logit)))).astype(float)
    w = rng.integers(1, 4, 300).astype(float)
    ours = cox(p, y, weights=w)
    fit = sm.GLM(y, sm.add_constant(logit), family=sm.families.Binomial(),
                 freq_weights=w).fit()
    assert ours["converged"]
    np.testing.assert_allclose([ours["intercept"], ours["slope"]], fit.params, atol=1e-8)
    np.testing.assert_allclose([ours["se_intercept"], ours["se_slope"]], fit.bse, rtol=1e-6)


def test_cox_reports_non_convergence_under_separation():
    r = cox([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
    assert not r["converged"] and math.isnan(r["slope"])


# ---------------------------------------------------------------------- oracles
grid_p = st.integers(0, 100).map(lambda k: k / 100)
# Continuous forecasts at a resolution of 1e-9: model-diagnostics predicts its
# isotonic fit by linear interpolation (scipy interp1d), which breaks down for
# distinct forecasts closer than that (e.g. 0 and 1e-106 are treated as tied);
# ours pools exactly equal values only.
cont_p = st.floats(0.0, 1.0, allow_nan=False).map(lambda x: round(x, 9))
case_lists = st.lists(st.tuples(st.one_of(grid_p, cont_p), st.booleans(),
                                st.floats(0.1, 5.0)), min_size=2, max_size=60)


def _arrays(cases):
    p = np.array([c[0] for c in cases])
    y = np.array([c[1] for c in cases], dtype=float)
    w = np.array([c[2] for c in cases])
    return p, y, w


@settings(max_examples=60, deadline=None)
@given(case_lists, st.booleans())
def test_cep_matches_sklearn_isotonic(cases, weighted):
    from sklearn.isotonic import IsotonicRegression

    p, y, w = _arrays(cases)
    ww = w if weighted else None
    curve = reliability(p, y, weights=ww, n_boot=0)
    iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(p, y, sample_weight=ww)
    np.testing.assert_allclose(curve["cep"], iso.predict(curve["x"]), atol=1e-10, rtol=0)


@settings(max_examples=60, deadline=None)
@given(case_lists, st.booleans(), st.sampled_from(["brier", "log"]))
def test_decompose_matches_model_diagnostics(cases, weighted, rule):
    from model_diagnostics.scoring import LogLoss, SquaredError
    from model_diagnostics.scoring import decompose as md_decompose

    p, y, w = _arrays(cases)
    if rule == "log":
        p = np.clip(p, 0.01, 0.99)  # model-diagnostics needs finite log loss
    ww = w if weighted else None
    ours = decompose(p, y, rule=rule, weights=ww)
    sf = SquaredError() if rule == "brier" else LogLoss()
    theirs = md_decompose(y_obs=y, y_pred=p, weights=ww, scoring_function=sf)
    for ours_key, their_key in (("mcb", "miscalibration"), ("dsc", "discrimination"),
                                ("unc", "uncertainty"), ("score", "score")):
        assert abs(ours[ours_key] - theirs[their_key][0]) < 1e-10, ours_key


@settings(max_examples=60, deadline=None)
@given(case_lists)
def test_brier_score_matches_sklearn(cases):
    from sklearn.metrics import brier_score_loss

    p, y, w = _arrays(cases)
    assert abs(decompose(p, y, weights=w)["score"]
               - brier_score_loss(y, p, sample_weight=w, pos_label=1)) < 1e-10


@settings(max_examples=60, deadline=None)
@given(case_lists, st.booleans())
def test_pooling_methods_agree(cases, weighted):
    p, y, w = _arrays(cases)
    ww = w if weighted else None
    a = pool(p, y, ww, method="argsort")
    for method in (["auto"] if weighted else ["auto", "sort"]):
        b = pool(p, y, ww, method=method)
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.n, b.n)
        np.testing.assert_allclose(a.w, b.w, atol=1e-12)
        np.testing.assert_allclose(a.s, b.s, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(case_lists)
def test_numba_merge_pooling_agrees(cases):
    import forecasts.scoring.pooling as pooling

    p, y, _ = _arrays(cases)
    a = pool(p, y, None, method="argsort")
    old = pooling.MERGE_MIN_ROWS
    pooling.MERGE_MIN_ROWS = 0
    try:
        b = pool(p, y, None, method="sort")
    finally:
        pooling.MERGE_MIN_ROWS = old
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.n, b.n)
    np.testing.assert_array_equal(a.s, b.s)


def test_grid_pooling_is_used_on_percent_grid():
    p = np.array([0.01, 0.5, 0.5, 0.99, 0.123])
    assert pool(p, np.array([0, 1, 0, 1, 1.0])).method == "grid"
    assert pool(p + 1e-4, np.array([0, 1, 0, 1, 1.0])).method == "sort"


# ------------------------------------------------------------------- properties
@settings(max_examples=80, deadline=None)
@given(case_lists, st.booleans(), st.sampled_from(["brier", "log"]))
def test_decomposition_identity_holds(cases, weighted, rule):
    p, y, w = _arrays(cases)
    if rule == "log":
        p = np.clip(p, 0.001, 0.999)
    d = decompose(p, y, rule=rule, weights=w if weighted else None)
    assert abs(d["score"] - (d["mcb"] - d["dsc"] + d["unc"])) < 1e-12
    assert d["mcb"] >= -1e-12 and d["dsc"] >= -1e-12


@settings(max_examples=80, deadline=None)
@given(case_lists, st.integers(1, 12), st.booleans())
def test_murphy_identity_holds(cases, bins, weighted):
    p, y, w = _arrays(cases)
    m = murphy(p, y, bins=bins, weights=w if weighted else None)
    assert abs(m["score"] - (m["rel"] - m["res"] + m["unc"] + m["wbv"] - m["wbc"])) < 1e-12
    assert m["table"]["n"].sum() == len(p)


def test_integer_weights_equal_replicated_cases():
    p = np.array([0.1, 0.4, 0.4, 0.7, 0.9])
    y = np.array([0, 1, 0, 1, 1.0])
    w = np.array([2, 1, 3, 1, 2.0])
    rep = np.repeat(np.arange(5), w.astype(int))
    a = decompose(p, y, weights=w)
    b = decompose(p[rep], y[rep])
    for k in ("score", "mcb", "dsc", "unc"):
        assert a[k] == pytest.approx(b[k], abs=1e-14)


def test_bands_cover_diagonal_for_calibrated_forecasters():
    """Simulated calibrated forecasters: 90% bands hold the truth about 90% of the time."""
    rng = np.random.default_rng(11)
    values = np.round(np.linspace(0.05, 0.95, 10), 2)
    conf_hits = cons_hits = cons_diag = total = 0
    for _ in range(60):
        p = rng.choice(values, size=400)
        y = (rng.random(400) < p).astype(float)
        c = reliability(p, y, n_boot=200, alpha=0.1, random_state=rng)
        x = c["x"].to_numpy()
        conf_hits += np.sum((c["confidence_lower"] <= x + 1e-12)
                            & (x - 1e-12 <= c["confidence_upper"]))
        cons_hits += np.sum((c["consistency_lower"] <= c["cep"] + 1e-12)
                            & (c["cep"] - 1e-12 <= c["consistency_upper"]))
        cons_diag += np.sum((c["consistency_lower"] <= x) & (x <= c["consistency_upper"]))
        total += len(x)
    assert 0.84 <= conf_hits / total <= 0.99
    assert 0.84 <= cons_hits / total <= 0.99
    assert cons_diag / total >= 0.95


def test_weighted_bands_run_and_are_ordered():
    rng = np.random.default_rng(2)
    p = rng.choice([0.1, 0.3, 0.5, 0.7, 0.9], size=200)
    y = (rng.random(200) < p).astype(float)
    c = reliability(p, y, weights=rng.uniform(0.5, 2, 200), n_boot=50, random_state=0)
    assert (c["consistency_lower"] <= c["consistency_upper"]).all()
    assert (c["confidence_lower"] <= c["confidence_upper"]).all()


# ------------------------------------------------------------------ over frames
def _ledger():
    questions = make_questions([
        {"id": "a", "closes": 10},
        {"id": "b", "closes": 10},
        {"id": "early", "closes": 30},   # resolved YES on day 5, closes on day 30
        {"id": "amb", "closes": 10},
        {"id": "ann", "closes": 10},
        {"id": "open", "closes": 10},
        {"id": "mc", "kind": "multiple_choice", "options": ["x", "y"], "closes": 10},
    ])
    forecasts = make_forecasts([
        ("a", "alice", 0, 0.8), ("a", "alice", 5, 0.6), ("a", "bob", 0, 0.3),
        ("b", "alice", 0, 0.4), ("b", "bob", 2, 0.1),
        ("early", "alice", 0, 0.7),
        ("amb", "alice", 0, 0.5), ("ann", "alice", 0, 0.5), ("open", "bob", 0, 0.5),
        ("mc", "alice", 0, {"x": 0.5, "y": 0.5}),
    ])
    resolutions = make_resolutions([
        ("a", "yes", 10), ("b", "no", 10), ("early", "yes", 5),
        ("amb", "ambiguous", 10), ("ann", "annulled", 10), ("mc", "x", 10),
    ])
    return forecasts, questions, resolutions


def test_calibration_counts_only_questions_past_scheduled_close():
    f, q, r = _ledger()
    cases = calibration_cases(f, q, r, as_of="2020-01-20")
    assert set(cases["question"]) == {"a", "b"}
    assert cases.attrs["excluded"] == {
        "ambiguous": 1, "annulled": 1, "unresolved": 1, "unknown_question": 0,
        "before_scheduled_close": 1, "not_binary": 1}
    # after the scheduled close of "early" it counts
    later = calibration_cases(f, q, r, as_of="2020-02-15")
    assert "early" in set(later["question"])


def test_calibration_table_time_weights_match_time_averaged_brier():
    f, q, r = _ledger()
    t = calibration_table(f, q, r, as_of="2020-01-20")
    pairs = time_averaged(f, q, r)
    pairs = pairs[pairs["question"].isin(["a", "b"])]
    assert t.loc["all", "brier"] == pytest.approx(pairs["score"].mean(), abs=1e-14)
    assert t.loc["all", "n_questions"] == 2
    assert t.loc["all", "n_forecasts"] == 5
    assert t.attrs["excluded"]["before_scheduled_close"] == 1
    assert "bins" in t.attrs["ece_binning"]
    by_f = calibration_table(f, q, r, by="forecaster", as_of="2020-01-20")
    assert list(by_f.index) == ["alice", "bob"]
    last = calibration_table(f, q, r, forecaster="alice", as_of="2020-01-20", weighting="last")
    assert last.loc["all", "n_forecasts"] == 2  # alice's last forecasts on a and b
    by_tag = calibration_table(f, q, r, by="tag", as_of="2020-01-20")
    assert list(by_tag.index) == ["(untagged)"]
    by_period = calibration_table(f, q, r, by="period", as_of="2020-01-20")
    assert list(by_period.index) == ["2020Q1"]
    with pytest.raises(InvalidInput, match="weighting"):
        calibration_cases(f, q, r, weighting="daily")
    with pytest.raises(InvalidInput, match="by must be"):
        calibration_table(f, q, r, by="colour")


def test_calibration_table_empty():
    f, q, r = _ledger()
    t = calibration_table(f, q, r, as_of="2020-01-05")
    # nothing resolved yet as of day 4 (resolutions are recorded on days 5 and 10)
    assert t.empty and t.attrs["excluded"]["unresolved"] == 7


def test_spiegelhalter_weights_and_clusters():
    from forecasts.scoring import spiegelhalter

    p, y = np.array([0.1, 0.3, 0.7, 0.9]), np.array([0, 0, 1, 1])
    plain = spiegelhalter(p, y)
    assert spiegelhalter(p, y, weights=np.ones(4))["z"] == pytest.approx(plain["z"], abs=1e-15)
    assert spiegelhalter(p, y, groups=["a", "b", "c", "d"])["z"] == pytest.approx(plain["z"], abs=1e-15)
    # hand computation: num = -0.4; group sd = 0.8*0.3 + 0.4*sqrt(0.21) for both groups
    sd = 0.8 * 0.3 + 0.4 * np.sqrt(0.21)
    assert spiegelhalter(p, y, groups=["a", "a", "b", "b"])["z"] == pytest.approx(-0.4 / np.sqrt(2 * sd**2), rel=1e-12)
    # a zero-weight case drops out together with its label
    z = spiegelhalter(np.r_[p, 0.5], np.r_[y, 1], weights=[1, 1, 1, 1, 0], groups=["a", "a", "b", "b", "c"])
    assert z["z"] == pytest.approx(-0.4 / np.sqrt(2 * sd**2), rel=1e-12) and z["n"] == 4
    # 100 copies of one forecast on one question: clustered Z stays that of one case
    one = spiegelhalter([0.7], [0])
    many = spiegelhalter(np.full(100, 0.7), np.zeros(100), weights=np.full(100, 0.01), groups=np.zeros(100))
    assert many["z"] == pytest.approx(one["z"], rel=1e-12)
    assert abs(spiegelhalter(np.full(100, 0.7), np.zeros(100))["z"]) > 9 * abs(one["z"])
    with pytest.raises(InvalidInput, match="group labels"):
        spiegelhalter(p, y, groups=["a"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 99), st.booleans()), min_size=2, max_size=60))
def test_spherical_decomposition(cases):
    """Any proper score decomposes: the spherical loss too, with MCB, DSC >= 0 and the identity."""
    from forecasts.scoring import decompose, spherical

    p = np.array([c[0] / 100 for c in cases])
    y = np.array([int(c[1]) for c in cases])
    d = decompose(p, y, "spherical")
    assert d["score"] == pytest.approx(float(np.mean(spherical(p, y))), abs=1e-12)
    assert d["mcb"] >= -1e-12 and d["dsc"] >= -1e-12
    assert d["score"] == pytest.approx(d["mcb"] - d["dsc"] + d["unc"], abs=1e-12)
