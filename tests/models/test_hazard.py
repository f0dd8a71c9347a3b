"""Model 2 (deadline hazard): bad inputs, the closed form against a generative Monte Carlo
simulation, monotone decay in quiet time, and zero at the deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.errors import InvalidInput
from forecasts.models import hazard as hz

T0 = datetime(2020, 8, 19)
DEADLINE = datetime(2021, 2, 5)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


@pytest.mark.parametrize("p0", [0.0, 1.0, -1.0])
def test_bad_prior_is_refused(p0):
    with pytest.raises(InvalidInput):
        hz.update(p0, T0, DEADLINE, T0)


def test_as_of_before_prior_and_events_after_as_of_are_refused():
    with pytest.raises(InvalidInput):
        hz.update(0.4, T0, DEADLINE, at(-1))
    with pytest.raises(InvalidInput):
        hz.update(0.4, T0, DEADLINE, at(10), [{"event": 1, "lr": 2.0, "occurred_at": at(11)}])
    with pytest.raises(InvalidInput):
        hz.prior_rate(0.5, 10.0, shape=0.0)


@pytest.mark.parametrize("shape", [0.5, 1.0, 2.0, 8.0])
@pytest.mark.parametrize("p0", [0.05, 0.45, 0.9])
def test_prior_is_reproduced_at_its_date(shape, p0):
    r = hz.update(p0, T0, DEADLINE, T0, shape=shape)
    assert r.raw == pytest.approx(p0, rel=1e-12)


def test_textbook_formula_without_events():
    a, p0 = 2.0, 0.45
    horizon = (DEADLINE - T0).days
    b = hz.prior_rate(p0, horizon, a)
    t = 60.0
    expected = 1 - (( b + t) / (b + t + horizon - t)) ** a
    assert hz.update(p0, T0, DEADLINE, at(t), shape=a).raw == pytest.approx(expected)


def _simulate(p0, shape, events, as_of_days, rng, n=1_000_000):
    """Generative Monte Carlo: lambda0 ~ Gamma(a, b); the first occurrence time solves
    lambda0 * E(tau) = U, U ~ Exp(1), with E the exposure of the piecewise hazard multiplier;
    keep worlds with nothing by as_of; return the share with tau <= deadline and its s.e."""
    horizon = (DEADLINE - T0).total_seconds() / 86400
    b = hz.prior_rate(p0, horizon, shape)
    lam = rng.gamma(shape, 1 / b, n)
    u = rng.exponential(1.0, n)
    # breakpoints (days after T0) and multipliers after each
    knots = [0.0] + [d for d, _ in events]
    mult = np.cumprod([1.0] + [m for _, m in events])
    exposure = np.concatenate([[0.0], np.cumsum(np.diff(knots) * mult[:-1])])
    target = u / lam
    seg = np.searchsorted(exposure, target, side="right") - 1
    tau = np.asarray(knots)[seg] + (target - exposure[seg]) / mult[seg]
    alive = tau > as_of_days
    share = (tau[alive] <= horizon).mean()
    return share, np.sqrt(share * (1 - share) / alive.sum())


@pytest.mark.parametrize("shape", [1.0, 3.0])
def test_closed_form_matches_monte_carlo(shape):
    rng = np.random.default_rng(int(shape * 100))
    events = [(30.0, 3.0), (55.0, 0.5), (80.0, 2.0)]   # (day, hazard multiplier)
    for as_of_days in (0.0, 40.0, 100.0, 150.0):
        known = [(d, m) for d, m in events if d <= as_of_days]
        closed = hz.update(0.45, T0, DEADLINE, at(as_of_days),
                           [{"event": i, "lr": m, "occurred_at": at(d)} for i, (d, m) in enumerate(known)],
                           shape=shape).raw
        share, se = _simulate(0.45, shape, known, as_of_days, rng)
        assert abs(share - closed) < 4 * se + 1e-4, (as_of_days, share, closed)


def test_weight_scales_the_multiplier():
    r = hz.update(0.3, T0, DEADLINE, at(10), [{"event": 1, "lr": 4.0, "weight": 0.5, "occurred_at": at(5)}])
    assert r.multiplier == pytest.approx(2.0)


@settings(max_examples=200, deadline=None)
@given(p0=st.floats(0.01, 0.99), shape=st.floats(0.2, 20), t1=st.floats(0, 170), dt=st.floats(0, 170),
       lrs=st.lists(st.floats(0.05, 20), max_size=4))
def test_probability_never_rises_in_quiet_time_and_is_zero_at_the_deadline(p0, shape, t1, dt, lrs):
    events = [{"event": i, "lr": lr, "occurred_at": at(t1 * (i + 1) / (len(lrs) + 1))} for i, lr in enumerate(lrs)]
    horizon = (DEADLINE - T0).total_seconds() / 86400
    t2 = min(t1 + dt, horizon)
    t1 = min(t1, horizon)
    p1 = hz.update(p0, T0, DEADLINE, at(t1), events, shape=shape).raw
    p2 = hz.update(p0, T0, DEADLINE, at(t2), events, shape=shape).raw
    assert p2 <= p1 + 1e-12
    end = hz.update(p0, T0, DEADLINE, DEADLINE, events, shape=shape)
    assert end.raw == 0.0
    assert end.probability == 1e-4   # clipped: model forecasts are never certain


def test_events_after_the_deadline_and_past_deadline_as_of():
    r = hz.update(0.5, T0, DEADLINE, DEADLINE + timedelta(days=3),
                  [{"event": 1, "lr": 5.0, "occurred_at": DEADLINE + timedelta(days=1)}])
    assert r.raw == 0.0 and r.multiplier == 1.0


def test_explanation_names_each_event():
    r = hz.update(0.45, T0, DEADLINE, at(120), [
        {"event": 21, "lr": 1 / 1.5, "occurred_at": at(120), "event_title": "Moscow rejects all meetings"}])
    text = r.explanation()
    assert text[0].startswith("2020-08-19 prior 45.0%")
    assert "#21 Moscow rejects all meetings: hazard x0.667" in text[1]
    assert len(text) == 3


def test_quiet_decay_is_the_hazard_models_closed_form():
    t0, deadline = datetime(2021, 1, 1), datetime(2021, 7, 1)
    for p0, days, a in ((0.5, 30, 1.0), (0.2, 100, 2.0), (0.9, 1, 0.5)):
        t = t0 + timedelta(days=days)
        want = hz.update(p0, t0, deadline, t, shape=a).probability
        got = hz.quiet_decay(p0, np.datetime64(t0), np.datetime64(deadline), np.datetime64(t), a)
        assert got == pytest.approx(want, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(p0=st.floats(0.001, 0.999), shape=st.sampled_from([0.0625, 0.5, 1.0, 2.0, 8.0]),
       quiet=st.lists(st.floats(0.0, 300.0), min_size=1, max_size=8))
def test_update_without_events_agrees_with_quiet_decay_on_arrays(p0, shape, quiet):
    """One vectorised call over many as-of times gives what the model says at each of them,
    past the deadline included (clipped to 1e-4)."""
    times = [T0 + timedelta(days=d) for d in quiet]
    got = hz.quiet_decay(np.full(len(times), p0), np.datetime64(T0), np.datetime64(DEADLINE),
                         np.array(times, dtype="datetime64[us]"), shape)
    want = [hz.update(p0, T0, DEADLINE, t, shape=shape).probability for t in times]
    assert got.tolist() == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_quiet_decay_refuses_a_shape_that_is_not_positive():
    with pytest.raises(InvalidInput):
        hz.quiet_decay(0.5, np.datetime64(T0), np.datetime64(DEADLINE), np.datetime64(T0), 0.0)
