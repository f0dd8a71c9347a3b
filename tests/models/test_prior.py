"""The models' prior: base rate, an assessor's first forecast, any person's, 50%; only persons
(forecasts.domain.is_person) set it."""

from __future__ import annotations

from datetime import datetime

from forecasts.models.prior import choose_prior, events_after_prior

Q = {"base_rate": None, "opens_at": datetime(2020, 1, 1)}


def _f(who, day, p):
    return {"forecaster": who, "made_at": datetime(2020, 1, day), "probability": p}


def test_the_order_of_the_rule():
    assert choose_prior({**Q, "base_rate": 0.2}, [_f("ana", 2, 0.4)], [])["p"] == 0.2
    fs = [_f("ana", 9, 0.4), _f("bob", 3, 0.7)]
    assert choose_prior(Q, fs, [{"assessed_by": "ana"}])["p"] == 0.4
    assert choose_prior(Q, fs, [])["p"] == 0.7
    assert choose_prior(Q, [], [])["p"] == 0.5


def test_only_persons_set_the_prior():
    """Models, crowds, backtests and imported records (a platform's community prediction)
    are not analysts: with nothing else, the prior is 50%."""
    others = [_f(who, 2, 0.9) for who in ("model:evidence", "crowd:mean", "import:metaculus", "backtest:hazard")]
    assert choose_prior(Q, others, [])["from"] == "no prior recorded: 50%"
    assert choose_prior(Q, [*others, _f("fatebook:ana", 5, 0.3)], [])["p"] == 0.3   # an imported person


def test_events_before_a_forecast_prior_are_in_it_already():
    ev = [{"event": 1, "occurred_at": datetime(2020, 1, 2)}, {"event": 2, "occurred_at": datetime(2020, 1, 8)}]
    prior = choose_prior(Q, [_f("ana", 5, 0.4)], [])
    assert [v["event"] for v in events_after_prior(prior, ev)] == [2]
    base = choose_prior({**Q, "base_rate": 0.2}, [], [])
    assert [v["event"] for v in events_after_prior(base, ev)] == [1, 2]
