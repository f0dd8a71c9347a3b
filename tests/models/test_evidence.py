"""Model 1 (evidence): bad inputs, hand-computed values, the verbal scale, and a Monte Carlo
check that the closed form is Bayes' rule."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest

from forecasts.domain import VERBAL_SCALE
from forecasts.errors import InvalidInput
from forecasts.models import evidence as ev


@pytest.mark.parametrize("prior", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_prior_must_be_strictly_inside(prior):
    with pytest.raises(InvalidInput):
        ev.update(prior, [])


@pytest.mark.parametrize("row", [{"event": 1, "lr": 0.0}, {"event": 1, "lr": -2}, {"event": 1, "lr": float("inf")},
                                 {"event": 1, "lr": 2.0, "weight": 0.0}, {"event": 1, "lr": 2.0, "weight": 1.5}])
def test_bad_evidence_rows_are_refused(row):
    with pytest.raises(InvalidInput):
        ev.update(0.5, [row])


def test_no_evidence_returns_the_prior():
    r = ev.update(0.37, [])
    assert r.probability == pytest.approx(0.37)
    assert r.steps == ()


def test_hand_computed_update():
    # prior 20% -> odds 1/4; x3 (moderate for yes) -> 3/4; x(1/10)^0.5 -> 0.2372 -> p = 0.1917
    r = ev.update(0.2, [{"event": 1, "lr": 3.0}, {"event": 2, "lr": 0.1, "weight": 0.5}])
    odds = 0.25 * 3 * 0.1 ** 0.5
    assert r.probability == pytest.approx(odds / (1 + odds), rel=1e-12)
    assert [s.delta_logit for s in r.steps] == pytest.approx([math.log(3), 0.5 * math.log(0.1)])
    assert r.steps[0].p_before == pytest.approx(0.2)
    assert r.steps[-1].p_after == pytest.approx(r.probability)


def test_verbal_scale_matches_the_domain_table():
    for step, lr in VERBAL_SCALE.items():
        assert ev.verbal_lr(f"{step} for yes") == lr
        assert ev.verbal_lr(f"{step} for no") == pytest.approx(1 / lr)
    with pytest.raises(InvalidInput):
        ev.verbal_lr("huge for yes")


def test_result_is_clipped_never_certain():
    r = ev.update(0.5, [{"event": i, "lr": 100.0} for i in range(10)])
    assert r.probability == 1 - ev.PROB_FLOOR and r.clipped
    assert r.logit == pytest.approx(10 * math.log(100))
    assert "clipped" in r.explanation()[-1]


def test_events_are_applied_in_world_time_order_and_explained():
    rows = [{"event": 2, "lr": 0.5, "occurred_at": datetime(2020, 12, 17), "event_title": "Moscow rejects all meetings"},
            {"event": 1, "lr": 2.0, "occurred_at": datetime(2020, 10, 20), "event_title": "Freeze offered"}]
    r = ev.update(0.5, rows, prior_from="ana's first forecast")
    assert [s.event for s in r.steps] == [1, 2]
    text = r.explanation()
    assert "ana's first forecast" in text[0]
    assert "2020-12-17 #2 Moscow rejects all meetings" in text[2]
    assert r.probability == pytest.approx(0.5)


def test_one_voice_per_event():
    # the same analyst re-assessing an event: the latest assessment counts
    rows = [{"event": 1, "lr": 3.0, "assessed_by": "a", "seq": 1}, {"event": 1, "lr": 10.0, "assessed_by": "a", "seq": 5}]
    assert ev.update(0.5, rows).logit == pytest.approx(math.log(10))
    # two analysts on one event: averaged, not added
    rows = [{"event": 1, "lr": 3.0, "assessed_by": "a"}, {"event": 1, "lr": 12.0, "assessed_by": "b"}]
    assert ev.update(0.5, rows).logit == pytest.approx(math.log(6))


def test_same_day_decay_discounts_repeats():
    day = datetime(2020, 12, 17)
    rows = [{"event": i, "lr": 3.0, "occurred_at": day} for i in range(3)]
    plain = ev.update(0.5, rows)
    decayed = ev.update(0.5, rows, same_day_decay=0.5)
    assert plain.logit == pytest.approx(3 * math.log(3))
    assert decayed.logit == pytest.approx((1 + 0.5 + 0.25) * math.log(3))
    with pytest.raises(InvalidInput):
        ev.update(0.5, rows, same_day_decay=0)


def test_closed_form_matches_monte_carlo():
    """Simulate the world: Y ~ Bernoulli(prior), then conditionally independent signals with
    known P(signal | Y); among simulated worlds showing the observed signals, the share with
    Y = 1 must match the closed-form posterior (within 4 standard errors)."""
    rng = np.random.default_rng(20201217)
    n = 2_000_000
    prior = 0.3
    q1 = np.array([0.6, 0.3, 0.8])   # P(signal | YES)
    q0 = np.array([0.2, 0.5, 0.4])   # P(signal | NO)
    observed = np.array([1, 0, 1])
    y = rng.uniform(size=n) < prior
    s = rng.uniform(size=(n, 3)) < np.where(y[:, None], q1, q0)
    match = np.all(s == observed, axis=1)
    share = y[match].mean()
    lrs = np.where(observed == 1, q1 / q0, (1 - q1) / (1 - q0))
    closed = ev.update(prior, [{"event": i, "lr": lr} for i, lr in enumerate(lrs)]).probability
    se = math.sqrt(closed * (1 - closed) / match.sum())
    assert abs(share - closed) < 4 * se


def test_weights_treat_copies_of_one_report_as_one_observation():
    """Monte Carlo: a report and its verbatim copy carry one signal; two weights of 0.5 give the
    right posterior, two weights of 1 overstate it."""
    rng = np.random.default_rng(7)
    n = 1_000_000
    prior, q1, q0 = 0.4, 0.7, 0.2
    y = rng.uniform(size=n) < prior
    s = rng.uniform(size=n) < np.where(y, q1, q0)
    share = y[s].mean()   # the copy adds nothing
    rows = [{"event": 1, "lr": q1 / q0, "weight": 0.5}, {"event": 2, "lr": q1 / q0, "weight": 0.5}]
    assert ev.update(prior, rows).probability == pytest.approx(share, abs=0.003)
    naive = ev.update(prior, [{**r, "weight": 1.0} for r in rows]).probability
    assert naive > share + 0.05
