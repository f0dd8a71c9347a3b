"""Tests of forecasts/scoring/rules.py: bad inputs, hand values, oracles, propriety."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.errors import InvalidInput
from forecasts.scoring import rules as rl

probs = st.floats(0.0, 1.0, allow_nan=False)
inner = st.floats(1e-6, 1 - 1e-6, allow_nan=False)


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("fn", [rl.brier, rl.brier_two_category, rl.log_score, rl.spherical])
@pytest.mark.parametrize("p, y, msg", [
    ([1.2], [1], r"\[0, 1\]"),
    ([-0.1], [0], r"\[0, 1\]"),
    ([np.nan], [1], "NaN"),
    ([0.5], [2], "0 or 1"),
    ([0.5, 0.2], [1, 0, 1], "broadcast"),
])
def test_binary_bad_inputs(fn, p, y, msg):
    with pytest.raises(InvalidInput, match=msg):
        fn(p, y)


@pytest.mark.parametrize("fn", [rl.multi_brier, rl.rps, rl.multi_log_score,
                                rl.multi_spherical])
@pytest.mark.parametrize("probs_, outcome, msg", [
    ([[0.5, 0.6]], [0], "sum to 1"),
    ([[0.5, 0.5]], [2], "0..1"),
    ([[0.5, 0.5]], [0.5], "integer"),
    ([[1.0]], [0], "K >= 2"),
    ([[0.5, 0.5], [0.2, 0.8]], [0, 1, 1], "2 forecasts but 3"),
    ([[1.5, -0.5]], [0], r"\[0, 1\]"),
])
def test_categorical_bad_inputs(fn, probs_, outcome, msg):
    with pytest.raises(InvalidInput, match=msg):
        fn(probs_, outcome)


def test_bad_log_base():
    with pytest.raises(InvalidInput, match="base"):
        rl.log_score([0.5], [1], base=10)


# ----------------------------------------------------------------- hand values
def test_brier_hand_values():
    np.testing.assert_allclose(rl.brier([0.9, 0.2, 0.5, 1.0], [1, 1, 0, 0]),
                               [0.01, 0.64, 0.25, 1.0])
    np.testing.assert_allclose(rl.brier_two_category([0.9, 0.5], [1, 1]), [0.02, 0.5])
    # two-category = multi-category with K = 2
    np.testing.assert_allclose(rl.brier_two_category([0.7], [0]),
                               rl.multi_brier([[0.3, 0.7]], [0]))
    assert rl.brier([0.3], [True])[0] == pytest.approx(0.49)


def test_log_score_hand_values_and_infinity():
    out = rl.log_score([0.5, 0.25, 0.0, 1.0, 1.0], [1, 1, 1, 0, 1])
    np.testing.assert_allclose(out[:2], [np.log(2), np.log(4)])
    assert np.isinf(out[2]) and np.isinf(out[3])  # certain and wrong: inf, not clipped
    assert out[4] == 0.0
    np.testing.assert_allclose(rl.log_score([0.25], [1], base=2), [2.0])
    assert rl.count_infinite(out) == 2


def test_spherical_hand_values():
    # p = 0.6, y = 1: 1 - 0.6 / sqrt(0.36 + 0.16)
    np.testing.assert_allclose(rl.spherical([0.6], [1]), [1 - 0.6 / np.sqrt(0.52)])
    np.testing.assert_allclose(rl.multi_spherical([[0.6, 0.4]], [0]), rl.spherical([0.6], [1]))


def test_multi_and_rps_hand_values():
    np.testing.assert_allclose(rl.multi_brier([[0.2, 0.3, 0.5]], [0]),
                               [0.64 + 0.09 + 0.25])
    # RPS: cdf (0.2, 0.5) vs (1, 1) -> 0.64 + 0.25
    np.testing.assert_allclose(rl.rps([[0.2, 0.3, 0.5]], [0]), [0.89])
    np.testing.assert_allclose(rl.rps([[0.2, 0.3, 0.5]], [0], normalize=True), [0.445])
    # K = 2: RPS is the 0-1 Brier of the second option
    np.testing.assert_allclose(rl.rps([[0.3, 0.7]], [1]), rl.brier([0.7], [1]))
    np.testing.assert_allclose(rl.multi_log_score([[0.2, 0.8]], [1]), [-np.log(0.8)])
    assert np.isinf(rl.multi_log_score([[1.0, 0.0]], [1])[0])
    # a single forecast broadcasts against several outcomes
    np.testing.assert_allclose(rl.multi_brier([0.5, 0.5], [0, 1]), [0.5, 0.5])


# --------------------------------------------------------------------- oracles
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(probs, st.booleans()), min_size=1, max_size=40))
def test_brier_matches_sklearn_and_scoringrules(cases):
    import scoringrules as sr
    from sklearn.metrics import brier_score_loss

    p = np.array([c[0] for c in cases])
    y = np.array([c[1] for c in cases], dtype=float)
    ours = rl.brier(p, y)
    assert abs(ours.mean() - brier_score_loss(y, p, pos_label=1)) < 1e-10
    np.testing.assert_allclose(ours, sr.brier_score(y, p), atol=1e-10, rtol=0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(inner, st.booleans()), min_size=1, max_size=40))
def test_log_score_matches_sklearn_and_scoringrules_inside(cases):
    import scoringrules as sr
    from sklearn.metrics import log_loss

    p = np.array([c[0] for c in cases])
    y = np.array([c[1] for c in cases], dtype=float)
    ours = rl.log_score(p, y)
    assert abs(ours.mean() - log_loss(y, p, labels=[0, 1])) < 1e-10
    np.testing.assert_allclose(ours, sr.log_score(y, p), atol=1e-10, rtol=0)


def test_log_score_differs_from_sklearn_at_certainty():
    """scikit-learn clips p to [eps, 1 - eps]; we report inf (documented difference)."""
    from sklearn.metrics import log_loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = log_loss([1.0, 0.0], [0.0, 0.0], labels=[0, 1])
    assert np.isfinite(theirs)
    assert np.isinf(rl.log_score([0.0, 0.0], [1, 0]).mean())


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.integers(1, 10), st.integers(0, 2**32 - 1))
def test_rps_matches_scoringrules(k, n, seed):
    import scoringrules as sr

    rng = np.random.default_rng(seed)
    probs_ = rng.dirichlet(np.ones(k), size=n)
    outcome = rng.integers(0, k, n)
    onehot = np.eye(k)[outcome]
    np.testing.assert_allclose(rl.rps(probs_, outcome), sr.rps_score(onehot, probs_, onehot=True),
                               atol=1e-10, rtol=0)


# -------------------------------------------------------------------- propriety
@pytest.mark.parametrize("rule", [rl.brier, rl.log_score, rl.spherical])
@pytest.mark.parametrize("q", [0.03, 0.2, 0.5, 0.77, 0.95])
def test_binary_rules_are_proper(rule, q):
    """Expected score under Y ~ Bernoulli(q) is minimised at p = q (checked on a grid)."""
    grid = np.linspace(0.001, 0.999, 999)
    expected = q * rule(grid, 1) + (1 - q) * rule(grid, 0)
    best = grid[np.argmin(expected)]
    assert abs(best - q) <= 0.0015
    at_q = q * rule([q], 1)[0] + (1 - q) * rule([q], 0)[0]
    assert np.all(expected >= at_q - 1e-12)


@pytest.mark.parametrize("rule", [rl.multi_brier, rl.rps, rl.multi_log_score,
                                  rl.multi_spherical])
def test_categorical_rules_are_proper(rule):
    rng = np.random.default_rng(3)
    for _ in range(10):
        q = rng.dirichlet(np.ones(4))
        at_q = sum(q[j] * rule([q], [j])[0] for j in range(4))
        others = rng.dirichlet(np.ones(4), size=300)
        exp_others = sum(q[j] * rule(others, np.full(300, j)) for j in range(4))
        assert np.all(exp_others >= at_q - 1e-12)
