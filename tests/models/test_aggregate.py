"""Model 4 (aggregation): bad input, hand-computed pools, Metaculus' recency weights, and the
extremizing factor recovered from simulated resolved history."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from forecasts.errors import InvalidInput
from forecasts.models import aggregate as ag


def test_bad_input():
    with pytest.raises(InvalidInput):
        ag.pool([], "mean")
    with pytest.raises(InvalidInput):
        ag.pool([0.5, 1.2], "mean")
    with pytest.raises(InvalidInput):
        ag.pool([0.5], "mode")


def test_hand_computed():
    ps = [0.2, 0.5, 0.8]
    assert ag.pool(ps, "mean") == pytest.approx(0.5)
    assert ag.pool(ps, "median") == 0.5
    assert ag.pool(ps, "geomean_odds") == pytest.approx(0.5)          # logits cancel
    assert ag.pool([0.9, 0.9], "extremized", factor=2.0) == pytest.approx(81 / 82)   # odds 9 -> 81


def test_recency_median_favours_the_newest():
    t0 = datetime(2020, 1, 1)
    ps = [0.1, 0.2, 0.9, 0.95]
    times = [t0 + timedelta(days=d) for d in (3, 2, 1, 0)]   # the low ones are newest
    # weights by time order (0.95, 0.9, 0.2, 0.1): e^(1-2)=.37, e^(1.41-2)=.56, e^(1.73-2)=.77, 1
    assert ag.pool(ps, "recency_median", times=times) == 0.2
    assert ag.pool(ps, "median") == pytest.approx(0.55)


def test_latest_by_forecaster_keeps_persons_only():
    """Models, crowds and imported records (a platform's community prediction is not an
    analyst) are left out: only persons are pooled (forecasts.domain.is_person)."""
    t0 = datetime(2020, 1, 1)
    rows = [{"forecaster": "ana", "made_at": t0, "probability": 0.2},
            {"forecaster": "ana", "made_at": t0 + timedelta(1), "probability": 0.4},
            {"forecaster": "model:hazard", "made_at": t0, "probability": 0.9},
            {"forecaster": "crowd:mean", "made_at": t0, "probability": 0.9},
            {"forecaster": "import:metaculus", "made_at": t0, "probability": 0.6}]
    assert [(r["forecaster"], r["probability"]) for r in ag.latest_by_forecaster(rows)] == [("ana", 0.4)]


def test_extremizing_factor_is_recovered():
    """Forecasters who each see part of the evidence are underconfident as a pool: simulate
    outcomes from expit(2.5 * mean logit) and the learned factor should be near 2.5."""
    rng = np.random.default_rng(4)
    t0 = datetime(2020, 1, 1)
    forecasts, resolutions = [], []
    for q in range(600):
        x = rng.normal(0, 0.8)
        y = rng.uniform() < 1 / (1 + np.exp(-2.5 * x))
        for k in range(3):
            p = 1 / (1 + np.exp(-(x + rng.normal(0, 0.05))))
            forecasts.append({"question": f"q{q}", "forecaster": f"f{k}", "made_at": t0 + timedelta(hours=k),
                              "probability": float(p)})
        resolutions.append({"question": f"q{q}", "outcome": "yes" if y else "no", "resolved_at": t0 + timedelta(days=9)})
    fit = ag.fit_extremizing(forecasts, resolutions)
    assert fit["n_questions"] == 600
    assert abs(fit["factor"] - 2.5) < 3 * fit["sd"] + 0.1
    assert ag.fit_extremizing([], [])["factor"] == 1.0


def test_a_person_whose_latest_forecast_was_retracted_late_holds_nothing():
    t = datetime(2024, 1, 1, )
    rows = [{"forecaster": "ana", "probability": 0.2, "made_at": t, "seq": 1},
            {"forecaster": "ana", "probability": 0.4, "made_at": t + timedelta(days=2), "seq": 2,
             "ended_at": t + timedelta(days=5)},
            {"forecaster": "ben", "probability": 0.7, "made_at": t, "seq": 3, "ended_at": None}]
    latest = ag.latest_by_forecaster
    assert [r["forecaster"] for r in latest(rows)] == ["ben"]  # ana's 0.2 does not come back
    assert [(r["forecaster"], r["probability"]) for r in latest(rows, t + timedelta(days=3))] == \
        [("ben", 0.7), ("ana", 0.4)]
    assert [r["forecaster"] for r in latest(rows, t + timedelta(days=5))] == ["ben"]
