"""Model 5 (recalibration): recovery of a known miscalibration, uncertainty that shrinks
with history, and the per-forecaster training cases."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from forecasts.models import recalibrate as rc


def _overconfident(n, rng, factor=2.0, bias=0.0):
    truth = rng.uniform(0.05, 0.95, n)
    y = (rng.uniform(size=n) < truth).astype(float)
    logit = np.log(truth / (1 - truth))
    stated = 1 / (1 + np.exp(-(factor * logit + bias)))
    return stated, y


def test_recovers_slope_and_intercept():
    rng = np.random.default_rng(0)
    p, y = _overconfident(20_000, rng, factor=2.0, bias=0.6)
    r = rc.fit(p, y)
    # true recalibration: logit P = (logit p - 0.6) / 2 -> slope 0.5, intercept -0.3
    assert r.slope == pytest.approx(0.5, abs=0.03)
    assert r.intercept == pytest.approx(-0.3, abs=0.05)


def test_uncertainty_shrinks_with_history_and_prior_rules_short_history():
    rng = np.random.default_rng(1)
    small = rc.fit(*_overconfident(20, rng))
    large = rc.fit(*_overconfident(2000, rng))
    assert large.sd()[1] < small.sd()[1] / 3
    none = rc.fit_forecaster([], [], "ana")
    assert none.n_questions == 0 and none.predict(0.7)[0] == pytest.approx(0.7, abs=0.05)
    mean, lo, hi = small.predict(0.9)
    assert lo < mean < hi


def test_history_cases_weigh_each_question_once():
    t0 = datetime(2020, 1, 1)
    forecasts = [{"question": "a", "forecaster": "ana", "made_at": t0 + timedelta(d), "probability": 0.6} for d in range(4)]
    forecasts += [{"question": "b", "forecaster": "ana", "made_at": t0, "probability": 0.2},
                  {"question": "b", "forecaster": "ana", "made_at": t0 + timedelta(30), "probability": 0.9},  # after resolution
                  {"question": "c", "forecaster": "ana", "made_at": t0, "probability": 0.3},   # unresolved
                  {"question": "a", "forecaster": "bob", "made_at": t0, "probability": 0.1}]
    resolutions = [{"question": "a", "outcome": "yes", "resolved_at": t0 + timedelta(10)},
                   {"question": "b", "outcome": "no", "resolved_at": t0 + timedelta(10)}]
    p, y, w, n = rc.history_cases(forecasts, resolutions, "ana")
    assert n == 2 and p.tolist() == [0.6] * 4 + [0.2] and y.tolist() == [1] * 4 + [0]
    assert w.tolist() == [0.25] * 4 + [1.0]


def test_predictive_mean_of_an_array_is_predict_elementwise():
    rng = np.random.default_rng(4)
    stated, y = _overconfident(300, rng)
    fit = rc.fit(stated, y)
    ps = np.array([0.0, 1e-6, 0.03, 0.5, 0.8, 0.999, 1.0])
    assert fit.predictive_mean(ps).tolist() == pytest.approx([fit.predict(p)[0] for p in ps], rel=1e-12)
