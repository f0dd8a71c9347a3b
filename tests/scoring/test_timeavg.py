"""Tests of forecasts/scoring/timeavg.py: holding rule, time averages, Metaculus, GJ, tables."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import gmean

from forecasts.errors import InvalidInput
from forecasts.scoring import (
    baseline_scores,
    holding_table,
    metaculus_baseline,
    metaculus_peer,
    peer_scores,
    relative_scores,
    score_table,
    spot_scores,
    time_averaged,
)
from tests.scoring.conftest import (
    make_forecasts,
    make_questions,
    make_resolutions,
    random_frames,
)


def _row(df, q, f):
    r = df[(df["question"] == q) & (df["forecaster"] == f)]
    assert len(r) == 1, (q, f)
    return r.iloc[0]


# ------------------------------------------------------------------ bad inputs
def test_bad_inputs(small_ledger):
    f, q, r = small_ledger
    with pytest.raises(InvalidInput, match="rule"):
        time_averaged(f, q, r, rule="crps")
    with pytest.raises(InvalidInput, match="lacks column 'made_at'"):
        time_averaged(f.drop(columns="made_at"), q, r)
    with pytest.raises(InvalidInput, match="lacks column 'closes_at'"):
        time_averaged(f, q.drop(columns="closes_at"), r)
    with pytest.raises(InvalidInput, match="engine"):
        time_averaged(f, q, r, engine="gpu")
    bad = f.copy()
    bad.loc[0, "probability"] = 1.3
    with pytest.raises(InvalidInput, match="question 'q1' has probability 1.3"):
        time_averaged(bad, q, r)
    r2 = r.copy()
    r2.loc[r2["question"] == "q6", "outcome"] = "z"
    with pytest.raises(InvalidInput, match="not one of its options"):
        time_averaged(f, q, r2)
    r3 = r.copy()
    r3.loc[r3["question"] == "q1", "outcome"] = "maybe"
    with pytest.raises(InvalidInput, match="resolved 'maybe'"):
        time_averaged(f, q, r3)
    with pytest.raises(InvalidInput, match="by must be"):
        score_table(f, q, r, by="colour")
    with pytest.raises(InvalidInput, match="rule must be"):
        score_table(f, q, r, rule="crps")
    with pytest.raises(InvalidInput, match="relative already"):
        score_table(f, q, r, rule="peer", relative_to="bob")
    with pytest.raises(InvalidInput, match="no scored"):
        score_table(f, q, r, relative_to="nobody")


# ------------------------------------------------------------------ hand values
def test_time_averaged_hand_values(small_ledger):
    t = time_averaged(*small_ledger)
    a1 = _row(t, "q1", "alice")  # 0.6 for 5 days, 0.9 for 5 days, outcome yes
    assert a1["score"] == pytest.approx((0.16 * 5 + 0.01 * 5) / 10)
    assert a1["coverage"] == 1.0 and a1["n_forecasts"] == 2
    b1 = _row(t, "q1", "bob")  # 0.8 from day 2: covered 8 of 10 days
    assert b1["score"] == pytest.approx(0.04) and b1["coverage"] == pytest.approx(0.8)
    a3 = _row(t, "q3", "alice")  # early YES on day 5: period is days 0-5
    assert a3["score"] == pytest.approx(0.36) and a3["coverage"] == 1.0
    # ordered multiple choice -> normalised RPS; unordered -> multi-category Brier
    assert _row(t, "q6", "alice")["score"] == pytest.approx((0.04 + 0.09) / 2)
    assert _row(t, "q7", "alice")["score"] == pytest.approx(0.04 + 0.25 + 0.09)
    assert t.attrs["excluded"] == {"ambiguous": 1, "annulled": 0, "unresolved": 1,
                                   "unknown_question": 0}
    assert set(t["question"]) == {"q1", "q2", "q3", "q6", "q7"}


def test_log_and_spherical_rules(small_ledger):
    t = time_averaged(*small_ledger, rule="log")
    assert _row(t, "q1", "alice")["score"] == pytest.approx(
        -(np.log(0.6) + np.log(0.9)) / 2)
    tb = time_averaged(*small_ledger, rule="log", log_base=2)
    assert _row(tb, "q2", "bob")["score"] == pytest.approx(1.0)
    ts = time_averaged(*small_ledger, rule="spherical")
    assert _row(ts, "q2", "alice")["score"] == pytest.approx(1 - 0.7 / math.sqrt(0.58))


def test_certain_and_wrong_is_infinite_not_clipped():
    q = make_questions([{"id": "q"}])
    f = make_forecasts([("q", "a", 0, 0.0), ("q", "b", 0, 0.5),
                        ("q", "c", 0, 0.0), ("q", "c", 0, 0.6)])  # c's 0 held for no time
    r = make_resolutions([("q", "yes", 10)])
    t = time_averaged(f, q, r, rule="log")
    assert math.isinf(_row(t, "q", "a")["score"])
    assert _row(t, "q", "c")["score"] == pytest.approx(-math.log(0.6))
    table = score_table(f, q, r, rule="log")
    assert table.loc["a", "n_infinite"] == 1 and math.isinf(table.loc["a", "score"])


def test_forecasts_before_open_and_after_close():
    q = make_questions([{"id": "q", "opens": 2, "closes": 12}])
    f = make_forecasts([("q", "a", 0, 0.2), ("q", "a", 1, 0.4), ("q", "a", 7, 0.8),
                        ("q", "a", 15, 0.1), ("q", "b", 13, 0.9)])
    r = make_resolutions([("q", "yes", 12)])
    t = time_averaged(f, q, r)
    a = _row(t, "q", "a")  # 0.4 holds from the opening (day 2) to day 7, then 0.8
    assert a["score"] == pytest.approx((0.36 * 5 + 0.04 * 5) / 10)
    assert a["n_forecasts"] == 3  # the forecast after the close does not count
    b = _row(t, "q", "b")
    assert math.isnan(b["score"]) and b["coverage"] == 0 and b["n_forecasts"] == 0


def test_same_instant_forecasts_later_seq_wins():
    q = make_questions([{"id": "q"}])
    f = make_forecasts([("q", "a", 0, 0.9), ("q", "a", 0, 0.3)])
    t = time_averaged(f, q, make_resolutions([("q", "no", 10)]))
    assert _row(t, "q", "a")["score"] == pytest.approx(0.09)


# ---------------------------------------------------------- as_of, resolutions
def test_as_of_filters_forecasts_and_resolutions():
    q = make_questions([{"id": "q"}])
    f = make_forecasts([("q", "a", 0, 0.6), ("q", "a", 2, 0.9, 8)])  # recorded on day 8
    r = make_resolutions([("q", "yes", 10, 10)])
    full = time_averaged(f, q, r)
    assert _row(full, "q", "a")["score"] == pytest.approx((0.16 * 2 + 0.01 * 8) / 10)
    # as of day 9: the resolution is not yet recorded
    t9 = time_averaged(f, q, r, as_of="2020-01-10")
    assert t9.empty and t9.attrs["excluded"]["unresolved"] == 1
    # a resolution recorded by day 5 and the late-recorded forecast ignored
    r5 = make_resolutions([("q", "yes", 10, 5)])
    t5 = time_averaged(f, q, r5, as_of="2020-01-06")
    assert _row(t5, "q", "a")["score"] == pytest.approx(0.16)


def test_re_resolution_recomputes_scores():
    q = make_questions([{"id": "q"}, {"id": "p"}])
    f = make_forecasts([("q", "a", 0, 0.8), ("p", "a", 0, 0.3)])
    yes = time_averaged(f, q, make_resolutions([("q", "yes", 10), ("p", "no", 10)]))
    no = time_averaged(f, q, make_resolutions([("q", "no", 10), ("p", "no", 10)]))
    assert _row(yes, "q", "a")["score"] == pytest.approx(0.04)
    assert _row(no, "q", "a")["score"] == pytest.approx(0.64)
    # latest resolution wins when a frame carries several rows for a question
    both = make_resolutions([("q", "yes", 10), ("p", "no", 10), ("q", "annulled", 10)])
    t = time_averaged(f, q, both)
    assert set(t["question"]) == {"p"} and t.attrs["excluded"]["annulled"] == 1


def test_unknown_question_is_counted():
    q = make_questions([{"id": "q"}])
    f = make_forecasts([("q", "a", 0, 0.8), ("zzz", "a", 0, 0.3)])
    t = time_averaged(f, q, make_resolutions([("q", "yes", 10)]))
    assert t.attrs["excluded"]["unknown_question"] == 1 and len(t) == 1


# ---------------------------------------------------------- engines and oracle
def _reference_time_averaged(f, q, r):
    """Slow, obvious implementation of the holding rule (the oracle)."""
    res = r.drop_duplicates("question", keep="last").set_index("question")
    qi = q.set_index("id")
    out = {}
    for (qq, ff), g in f.groupby(["question", "forecaster"]):
        if qq not in res.index or res.loc[qq, "outcome"] not in ("yes", "no"):
            continue
        y = 1.0 if res.loc[qq, "outcome"] == "yes" else 0.0
        ps = qi.loc[qq, "opens_at"]
        pe = min(qi.loc[qq, "closes_at"], res.loc[qq, "resolved_at"])
        g = g.sort_values(["made_at", "seq"])
        made = list(g["made_at"]) + [pd.Timestamp.max]
        num = den = 0.0
        for i, p in enumerate(g["probability"]):
            s, e = max(made[i], ps), min(made[i + 1], pe)
            d = max((e - s).total_seconds(), 0.0)
            num += d * (p - y) ** 2
            den += d
        out[(qq, ff)] = (num / den if den > 0 else np.nan,
                         den / (pe - ps).total_seconds())
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shuffle", [False, True])
def test_engines_agree_with_reference(seed, shuffle):
    f, q, r = random_frames(seed, shuffle=shuffle)
    ref = _reference_time_averaged(f, q, r)
    for engine in ("numpy", "numba"):
        t = time_averaged(f, q, r, engine=engine)
        assert len(t) == len(ref)
        for row in t.itertuples():
            s, c = ref[(row.question, row.forecaster)]
            assert row.coverage == pytest.approx(c, abs=1e-12)
            if np.isnan(s):
                assert np.isnan(row.score)
            else:
                assert row.score == pytest.approx(s, abs=1e-12)


@pytest.mark.parametrize("shuffle", [False, True])
def test_holding_engines_agree(shuffle):
    from forecasts.scoring.timeavg import _prepare

    f, q, r = random_frames(7, shuffle=shuffle)
    a = _prepare(f, q, r, engine="numpy")
    b = _prepare(f, q, r, engine="numba")
    for name in ("start", "end", "dur", "order"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # group ids may be numbered differently but must partition rows the same way
    pairs = set(zip(a.group.tolist(), b.group.tolist(), strict=True))
    assert len(pairs) == a.n_groups == b.n_groups


def test_holding_table_matches_time_averaged(small_ledger):
    h, excluded = holding_table(*small_ledger)
    assert excluded["ambiguous"] == 1
    a = h[(h.question == "q1") & (h.forecaster == "alice")]
    assert list(a["duration"]) == [5 * 86400.0, 5 * 86400.0]
    assert list(a["order"]) == [0, 1]


# ---------------------------------------------------------------- spot scores
def test_spot_scores(small_ledger):
    s = spot_scores(*small_ledger, at="2020-01-04")
    assert _row(s, "q1", "alice")["score"] == pytest.approx(0.16)
    assert _row(s, "q1", "bob")["score"] == pytest.approx(0.04)
    assert _row(s, "q3", "alice")["score"] == pytest.approx(0.36)
    close = spot_scores(*small_ledger, at="close")
    assert _row(close, "q1", "alice")["probability"] == 0.9
    assert _row(close, "q3", "alice")["probability"] == 0.4
    before = spot_scores(*small_ledger, at="2020-01-02")
    assert ((before.question == "q1") & (before.forecaster == "bob")).sum() == 0
    base = spot_scores(*small_ledger, at="close", rule="baseline")
    assert _row(base, "q1", "alice")["score"] == pytest.approx(100 * math.log2(1.8))


# ------------------------------------------------------------------- Metaculus
# Expected values from Metaculus' own unit tests, tests/unit/test_scoring/
# test_score_math.py in the public repository github.com/Metaculus/metaculus
# (test_evaluate_forecasts_baseline_accuracy / _peer_accuracy): horizon days
# 0-10, F(v, s, e) = forecast of probability v from day s to day e.
def F(v=0.5, s=0.0, e=None):
    return (v, s, np.nan if e is None else e)


def _mc_args(forecasts, bucket=1):
    v = np.array([x[0] for x in forecasts], dtype=float)
    po = v if bucket == 1 else 1 - v
    return po, np.array([x[1] for x in forecasts]), np.array([x[2] for x in forecasts])


BASELINE_CASES = [
    ([F()], {}, [(0, 1)]),
    ([F()] * 100, {}, [(0, 1)] * 100),
    ([F(s=3)], {}, [(0, 0.7)]),
    ([F(s=5)], {}, [(0, 0.5)]),
    ([F(s=7)], {}, [(0, 0.3)]),
    ([F(s=1), F(s=7)], {}, [(0, 0.9), (0, 0.3)]),
    ([F(e=3)], {}, [(0, 0.3)]),
    ([F(s=5, e=8)], {}, [(0, 0.3)]),
    ([F()], {"ac": 5}, [(0, 0.5)]),
    ([F(s=5)], {"ac": 5}, [(0, 0)]),
    ([F(v=0.9)], {}, [(84.79969066, 1)]),
    ([F(v=0.1)], {}, [(-232.19280949, 1)]),
    ([F(v=0.9)], {"bucket": 0}, [(-232.19280949, 1)]),
    ([F(v=0.9, s=5)], {}, [(84.79969066 / 2, 0.5)]),
    ([F(v=2 ** (-1 / 2))], {}, [(50, 1)]),
    ([F(v=2 ** (-3 / 2))], {}, [(-50, 1)]),
]


@pytest.mark.parametrize("forecasts, args, expected", BASELINE_CASES)
def test_metaculus_baseline_expected_values(forecasts, args, expected):
    po, s, e = _mc_args(forecasts, args.get("bucket", 1))
    score, cov = metaculus_baseline(po, s, e, 0.0, 10.0, args.get("ac", 10.0))
    assert np.round(score, 8).tolist() == pytest.approx([round(x, 8) for x, _ in expected])
    assert np.round(cov, 8).tolist() == pytest.approx([c for _, c in expected])


def test_metaculus_baseline_multiple_choice():
    # their case with a placeholder option: 3 real options, p = 3**-0.5 -> 50
    s, _ = metaculus_baseline([3 ** -0.5, 1 / 3], [0, 0], [np.nan, np.nan], 0, 10, 10,
                              n_options=3)
    np.testing.assert_allclose(s, [50.0, 0.0], atol=1e-8)


def ln(x):
    return 100 * np.log(x)


PEER_CASES = [
    ([F()], {}, [(0, 1)]),
    ([F()] * 100, {}, [(0, 1)] * 100),
    ([F(s=3)], {}, [(0, 0.7)]),
    ([F(s=1), F(s=7)], {}, [(0, 0.9), (0, 0.3)]),
    ([F(), F(s=4, e=6)], {}, [(0, 1), (0, 0.2)]),
    ([F(e=5), F(s=5), F(s=2)], {}, [(0, 0.5), (0, 0.5), (0, 0.8)]),
    ([F()], {"ac": 5}, [(0, 0.5)]),
    ([F(s=5)], {"ac": 5}, [(0, 0)]),
    ([F(v=0.9)], {}, [(0, 1)]),
    ([F(v=0.9), F(v=0.9)], {}, [(0, 1), (0, 1)]),
    ([F(v=0.1), F(v=0.9)], {}, [(ln(0.1 / 0.9), 1), (ln(0.9 / 0.1), 1)]),
    ([F(v=0.4), F(v=0.6)], {}, [(ln(0.4 / 0.6), 1), (ln(0.6 / 0.4), 1)]),
    ([F(v=0.1), F(v=0.5), F(v=0.9)], {},
     [(ln(0.1 / gmean([0.5, 0.9])), 1), (ln(0.5 / gmean([0.1, 0.9])), 1),
      (ln(0.9 / gmean([0.1, 0.5])), 1)]),
    ([F(v=0.1), F(v=0.3), F(v=0.6), F(v=0.9)], {},
     [(ln(0.1 / gmean([0.3, 0.6, 0.9])), 1), (ln(0.3 / gmean([0.1, 0.6, 0.9])), 1),
      (ln(0.6 / gmean([0.1, 0.3, 0.9])), 1), (ln(0.9 / gmean([0.1, 0.3, 0.6])), 1)]),
    ([F(v=0.1), F(v=0.5), F(s=5, v=0.9)], {},
     [(0.5 * ln(0.1 / 0.5) + 0.5 * ln(0.1 / gmean([0.5, 0.9])), 1),
      (0.5 * ln(0.5 / 0.1) + 0.5 * ln(0.5 / gmean([0.1, 0.9])), 1),
      (0.5 * 0 + 0.5 * ln(0.9 / gmean([0.1, 0.5])), 0.5)]),
]


@pytest.mark.parametrize("forecasts, args, expected", PEER_CASES)
def test_metaculus_peer_expected_values(forecasts, args, expected):
    po, s, e = _mc_args(forecasts, args.get("bucket", 1))
    score, cov = metaculus_peer(po, s, e, 0.0, 10.0, args.get("ac", 10.0))
    np.testing.assert_allclose(score, [x for x, _ in expected], atol=1e-8)
    np.testing.assert_allclose(cov, [c for _, c in expected], atol=1e-8)


def test_metaculus_peer_multiple_choice_and_zero_probability():
    # their multiple-choice case: outcome probabilities e**0.25 / 3 and 1/3 -> +25 / -25
    s, _ = metaculus_peer([np.e ** 0.25 / 3, 1 / 3], [0, 0], [np.nan, np.nan], 0, 10, 10)
    np.testing.assert_allclose(s, [25, -25], atol=1e-8)
    s, _ = metaculus_peer([0.0, 0.5, 0.5], [0, 0, 6], [3, np.nan, np.nan], 0, 10, 10)
    assert s[0] == -np.inf and s[1] == np.inf and np.isfinite(s[2])
    assert metaculus_peer([], [], [], 0, 10, 10)[0].shape == (0,)


def test_baseline_and_peer_over_frames(small_ledger):
    b = baseline_scores(*small_ledger)
    assert _row(b, "q1", "alice")["score"] == pytest.approx(
        (100 * math.log2(1.2) * 5 + 100 * math.log2(1.8) * 5) / 10)
    assert _row(b, "q1", "bob")["coverage"] == pytest.approx(0.8)
    # early YES on day 5, scheduled close day 20: Metaculus divides by 20 days
    assert _row(b, "q3", "alice")["score"] == pytest.approx(100 * math.log2(0.8) * 5 / 20)
    assert _row(b, "q3", "alice")["coverage"] == pytest.approx(0.25)
    # multiple choice, 3 options: 100 ln(3 * 0.5) / ln 3
    assert _row(b, "q7", "alice")["score"] == pytest.approx(100 * math.log(1.5) / math.log(3))
    p = peer_scores(*small_ledger)
    expected = (3 * ln(0.6 / 0.8) + 5 * ln(0.9 / 0.8)) / 10
    assert _row(p, "q1", "alice")["score"] == pytest.approx(expected)
    assert _row(p, "q1", "bob")["score"] == pytest.approx(-expected)
    # crowd aggregates are not peers by default: they are scored against the persons
    # and leave the persons' scores as they were
    f, q, r = small_ledger
    f2 = pd.concat([f, make_forecasts([("q1", "crowd:median", 0, 0.1)])], ignore_index=True)
    f2["seq"] = np.arange(1, len(f2) + 1)
    p2 = peer_scores(f2, q, r)
    assert set(p2["forecaster"]) == {"alice", "bob", "crowd:median"}
    assert _row(p2, "q1", "alice")["score"] == pytest.approx(expected)
    assert _row(p2, "q1", "bob")["score"] == pytest.approx(-expected)
    # an explicit pool: its members are compared with each other, everyone else with them
    p3 = peer_scores(f2, q, r, pool=["alice", "crowd:median"])
    assert set(p3["forecaster"]) == {"alice", "bob", "crowd:median"}
    assert _row(p3, "q1", "alice")["score"] != pytest.approx(expected)


def test_peer_pool_is_the_persons():
    # two persons and three forecasters outside the pool on one question, days 0-10,
    # resolved yes at the close: ana 0.8 from day 0, ben 0.4 from day 5, model:m 0.6,
    # crowd:median 0.7 and import:x 0.5 from day 0
    q = make_questions([{"id": "q", "closes": 10}, {"id": "alone", "closes": 10}])
    f = make_forecasts([("q", "ana", 0, 0.8), ("q", "ben", 5, 0.4), ("q", "model:m", 0, 0.6),
                        ("q", "crowd:median", 0, 0.7), ("q", "import:x", 0, 0.5),
                        ("alone", "model:m", 0, 0.6), ("alone", "backtest:m", 0, 0.3)])
    r = make_resolutions([("q", "yes", 10), ("alone", "yes", 10)])
    p = peer_scores(f, q, r)
    # ana: alone among the persons on days 0-5 (0), then ln 0.8 - ln 0.4 for 5 of 10 days
    assert _row(p, "q", "ana")["score"] == pytest.approx(5 * ln(2) / 10)
    assert _row(p, "q", "ben")["score"] == pytest.approx(-5 * ln(2) / 10)
    # outside the pool: against ana on days 0-5, against the mean ln p of ana and ben after
    for name, pr in (("model:m", 0.6), ("crowd:median", 0.7), ("import:x", 0.5)):
        want = (5 * ln(pr / 0.8) + 5 * (ln(pr) - (ln(0.8) + ln(0.4)) / 2)) / 10
        assert _row(p, "q", name)["score"] == pytest.approx(want)
        assert _row(p, "q", name)["coverage"] == pytest.approx(1.0)
    # no person on the question: nobody to compare with, every instant scores 0
    for name in ("model:m", "backtest:m"):
        assert _row(p, "alone", name)["score"] == 0.0
        assert _row(p, "alone", name)["coverage"] == pytest.approx(1.0)
    # the same through the score table
    t = score_table(f, q, r, rule="peer", by="forecaster")
    assert t.loc["ana", "score"] == pytest.approx(5 * ln(2) / 10)  # mean over q and nothing else
    assert t.loc["model:m", "n_questions"] == 2


def test_metaculus_peer_outside_the_pool_with_zero_probability():
    # a pool forecast of 0 makes an overlapping outsider +inf; an outsider's 0 makes it -inf
    # only while a pool forecast stands, and never touches the pool's scores
    s, _ = metaculus_peer([0.0, 0.5, 0.5], [0, 0, 0], [5, np.nan, np.nan], 0, 10, 10,
                          in_pool=[True, True, False])
    assert s[0] == -np.inf and s[1] == np.inf and s[2] == np.inf
    s, _ = metaculus_peer([0.5, 0.25, 0.0], [0, 0, 0], [np.nan, np.nan, np.nan], 0, 10, 10,
                          in_pool=[True, True, False])
    np.testing.assert_allclose(s[:2], [ln(2), -ln(2)])
    assert s[2] == -np.inf
    s, _ = metaculus_peer([0.0], [0], [np.nan], 0, 10, 10, in_pool=[False])
    assert s[0] == 0.0
    with pytest.raises(InvalidInput, match="pool flags"):
        metaculus_peer([0.5], [0], [np.nan], 0, 10, 10, in_pool=[True, False])


def test_relative_median_is_the_persons():
    # days 1-4 of a question resolved yes at day 4: ana 0.9 and ben 0.5 from day 0 (Brier
    # 0.01 and 0.25, median 0.13), model:m 0.8 (0.04), import:x 0.6 from day 2 (0.16)
    q = make_questions([{"id": "q", "closes": 4}, {"id": "late", "closes": 4}])
    f = make_forecasts([("q", "ana", 0, 0.9), ("q", "ben", 0, 0.5), ("q", "model:m", 0, 0.8),
                        ("q", "import:x", 2, 0.6),
                        ("late", "model:m", 0, 0.8), ("late", "ana", 2, 0.9)])
    r = make_resolutions([("q", "yes", 4), ("late", "yes", 4)])
    rel = relative_scores(f, q, r)
    assert _row(rel, "q", "ana")["relative"] == pytest.approx(-0.12)
    assert _row(rel, "q", "ben")["relative"] == pytest.approx(0.12)
    m = _row(rel, "q", "model:m")
    assert m["relative"] == pytest.approx(-0.09) and m["median"] == pytest.approx(0.13)
    x = _row(rel, "q", "import:x")
    assert x["relative"] == pytest.approx(0.03 * 2 / 4) and x["days_covered"] == 2
    # no person standing on days 1-2 of "late": those days count 0 for the model
    late = _row(rel, "late", "model:m")
    assert late["relative"] == pytest.approx(0.03 * 2 / 4)
    assert late["days_covered"] == 2 and late["days"] == 4
    assert _row(rel, "late", "ana")["relative"] == pytest.approx(0.0)
    t = score_table(f, q, r, relative_to="crowd:median")
    assert t.loc["model:m", "relative"] == pytest.approx((-0.09 + 0.015) / 2)


# --------------------------------------------------------- Good Judgment style
def test_relative_scores_daily_median():
    q = make_questions([{"id": "q", "closes": 4}])
    f = make_forecasts([("q", "a", 0, 0.9), ("q", "b", 0, 0.5), ("q", "c", 2, 0.2),
                        ("q", "crowd:median", 0, 0.5)])
    r = make_resolutions([("q", "yes", 4)])
    rel = relative_scores(f, q, r)
    # day ends 1, 2, 3, 4. Days 1-2: a 0.01, b 0.25 (median 0.13); days 3-4: c 0.64 too
    # (median 0.25). c made its forecast at the start of day 3.
    assert _row(rel, "q", "a")["relative"] == pytest.approx((-0.12 * 2 - 0.24 * 2) / 4)
    assert _row(rel, "q", "b")["relative"] == pytest.approx((0.12 * 2 + 0) / 4)
    c = _row(rel, "q", "c")
    assert c["relative"] == pytest.approx(0.39 * 2 / 4)
    assert c["days_covered"] == 2 and c["days"] == 4
    t = score_table(f, q, r, relative_to="crowd:median")
    assert t.loc["a", "relative"] == pytest.approx(-0.18)


# ---------------------------------------------------------------- score tables
def test_score_table_groupings(small_ledger):
    f, q, r = small_ledger
    t = score_table(f, q, r, by="forecaster")
    assert list(t.index) == ["alice", "bob"]
    ta = time_averaged(f, q, r)
    assert t.loc["alice", "score"] == pytest.approx(
        ta[ta.forecaster == "alice"]["score"].mean())
    assert t.loc["alice", "n_questions"] == 5 and t.loc["bob", "n_questions"] == 2
    assert t.loc["alice", "excluded_ambiguous"] == 1
    assert t.loc["bob", "excluded_unresolved"] == 1
    assert t.attrs["excluded"] == {"ambiguous": 1, "annulled": 0, "unresolved": 1,
                                   "unknown_question": 0}
    assert t.attrs["higher_is_better"] is False
    tags = score_table(f, q, r, by="tag")
    assert set(tags.index) == {"arms", "russia", "(untagged)"}
    assert tags.loc["arms", "n_questions"] == 2
    assert tags.loc["(untagged)", "excluded_ambiguous"] == 1
    kinds = score_table(f, q, r, by="kind")
    assert list(kinds.index) == ["binary", "multiple_choice"]
    per = score_table(f, q, r, by="period")
    assert list(per.index) == ["2020Q1"]
    byq = score_table(f, q, r, by="question")
    assert byq.loc["q1", "n_forecasts"] == 3
    assert byq.loc["q4", "excluded_ambiguous"] == 1 and byq.loc["q4", "n_questions"] == 0


@pytest.mark.parametrize("by", ["forecaster", "tag", "question", "kind", "period"])
def test_score_table_of_nothing(small_ledger, by):
    """A read as of before any question was recorded gives empty frames: an empty table (by
    period it raised a pandas TypeError, mapping no forecasts onto no closes)."""
    f, q, r = (frame.iloc[:0] for frame in small_ledger)
    t = score_table(f, q, r, by=by)
    assert t.empty and t.attrs["excluded"] == {"ambiguous": 0, "annulled": 0, "unresolved": 0,
                                               "unknown_question": 0}


def test_score_table_relative_to_forecaster_and_metaculus_rules(small_ledger):
    f, q, r = small_ledger
    t = score_table(f, q, r, relative_to="bob")
    # alice vs bob on q1 and q2 only
    ta = time_averaged(f, q, r).set_index(["question", "forecaster"])["score"]
    expected = np.mean([ta["q1", "alice"] - ta["q1", "bob"], ta["q2", "alice"] - ta["q2", "bob"]])
    assert t.loc["alice", "relative"] == pytest.approx(expected)
    assert t.loc["alice", "n_relative"] == 2
    assert t.loc["bob", "relative"] == 0
    b = score_table(f, q, r, rule="baseline")
    assert b.attrs["higher_is_better"] is True
    p = score_table(f, q, r, rule="peer", by="question")
    assert p.loc["q2", "score"] == pytest.approx(0.0)  # peer scores sum to zero


# ------------------------------------------------------------ late retractions
def _bob_retracts_q2():
    """Bob's 0.6 on q2 (open 2024-01-01 to 01-11, resolved no) ended by a late retraction
    recorded on 01-06: he holds it for 5 of the 10 days and nothing after."""
    from forecasts.scoring.frames import example_frames

    f, q, r = example_frames()
    f = f.copy()
    f["ended_at"] = pd.Series(pd.NaT, index=f.index, dtype="datetime64[us]")
    f.loc[(f["question"] == "q2") & (f["forecaster"] == "bob"), "ended_at"] = pd.Timestamp("2024-01-06")
    return f, q, r


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_a_late_retraction_ends_the_holding(engine):
    f, q, r = _bob_retracts_q2()
    t = time_averaged(f, q, r, engine=engine)
    bob = _row(t, "q2", "bob")
    assert bob["score"] == pytest.approx(0.36)
    assert bob["coverage"] == pytest.approx(0.5)
    assert _row(t, "q2", "alice")["coverage"] == pytest.approx(1.0)
    # the same frames without the retraction: bob covers the whole period
    assert _row(time_averaged(f.drop(columns="ended_at"), q, r, engine=engine), "q2", "bob")["coverage"] == 1.0


def test_a_late_retraction_is_not_known_before_it_happened():
    f, q, r = _bob_retracts_q2()
    r = r.assign(recorded_at=pd.Timestamp("2024-01-02"))  # the outcomes known early, so as_of keeps them
    # at 01-05 the retraction lies in the future: bob's forecast still holds to the period end
    assert spot_scores(f, q, r, at="2024-01-08", as_of="2024-01-05").query("question == 'q2'")["forecaster"].tolist() \
        == ["alice", "bob"]
    assert spot_scores(f, q, r, at="2024-01-08").query("question == 'q2'")["forecaster"].tolist() == ["alice"]
    assert spot_scores(f, q, r, at="2024-01-04").query("question == 'q2'")["forecaster"].tolist() == ["alice", "bob"]


def test_a_late_retraction_ends_the_days_counted_and_the_metaculus_coverage():
    f, q, r = _bob_retracts_q2()
    rel = relative_scores(f, q, r)
    assert _row(rel, "q2", "bob")["days_covered"] == 5
    assert _row(rel, "q2", "alice")["days_covered"] == 10
    base = baseline_scores(f, q, r)
    full = baseline_scores(f.drop(columns="ended_at"), q, r)
    assert _row(base, "q2", "bob")["score"] == pytest.approx(_row(full, "q2", "bob")["score"] / 2)
    held, _ = holding_table(f, q, r)
    bob = held[(held["question"] == "q2") & (held["forecaster"] == "bob")].iloc[0]
    assert bob["end"] == pd.Timestamp("2024-01-06")


def test_nan_median_columns_is_nanmedian_exactly():
    """The daily median of relative_scores: one sort, the very values of np.nanmedian."""
    import warnings

    from forecasts.scoring.timeavg import nan_median_columns

    rng = np.random.default_rng(3)
    for trial in range(200):
        a = rng.random((int(rng.integers(1, 9)), int(rng.integers(1, 40))))
        a[rng.random(a.shape) < 0.3] = np.nan
        if trial % 5 == 0:
            a[rng.random(a.shape) < 0.1] = np.inf
        expected = np.full(a.shape[1], np.nan)
        has = (~np.isnan(a)).any(axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected[has] = np.nanmedian(a[:, has], axis=0)
        assert np.array_equal(nan_median_columns(a), expected, equal_nan=True)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("shuffle", [False, True])
def test_compiled_peer_and_relative_passes_give_numpys_numbers(seed, shuffle):
    """The compiled passes over all questions (large frames) give exactly the numbers of the
    question-by-question numpy code (small frames): peer scores with and without a pool, and
    relative scores against the daily median (rows compared by question and forecaster: the
    two engines number the pairs in different orders)."""
    from forecasts.scoring import Holdings

    f, q, r = random_frames(seed, shuffle=shuffle)
    f.loc[f.index[::17], "probability"] = 0.0  # certain and wrong: the peer score's infinite case
    slow = Holdings(f, q, r, engine="numpy")
    fast = Holdings(f, q, r, engine="numba")
    pool = ["f0", "f2", "f5"]
    for a, b in ((slow.pairs("peer"), fast.pairs("peer")),
                 (slow.pairs("peer", pool=pool), fast.pairs("peer", pool=pool)),
                 (slow.relative("brier"), fast.relative("brier")),
                 (slow.relative("log", pool=pool), fast.relative("log", pool=pool))):
        assert len(a) > 0
        a, b = (x.sort_values(["question", "forecaster"]).reset_index(drop=True) for x in (a, b))
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@given(st.lists(st.tuples(st.floats(0.001, 1.0), st.floats(-5, 40), st.one_of(st.just(np.nan), st.floats(-5, 40)),
                          st.integers(0, 2)), min_size=1, max_size=20),
       st.lists(st.tuples(st.floats(0.5, 30), st.floats(0.1, 40), st.sampled_from([2, 3, 5])), min_size=3, max_size=3))
def test_metaculus_baseline_of_many_questions_is_each_question_alone(rows, questions):
    """Arrays of horizons (one per forecast: what the frames path passes for every row at once)
    give exactly the numbers of one call per question."""
    po, start, end, q = (np.array(c) for c in zip(*rows, strict=True))
    hz, ac, k = (np.array(c, dtype=float) for c in zip(*questions, strict=True))
    many = metaculus_baseline(po, start, end, 0.0, hz[q], ac[q], n_options=k[q])
    for j in range(3):
        rows_j = q == j
        alone = metaculus_baseline(po[rows_j], start[rows_j], end[rows_j], 0.0, float(hz[j]), float(ac[j]),
                                   n_options=int(k[j]))
        assert np.array_equal(many[0][rows_j], alone[0]) and np.array_equal(many[1][rows_j], alone[1])
