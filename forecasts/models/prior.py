"""The prior of the evidence, hazard and learned models: where a question's belief starts.

:func:`choose_prior` picks, in this order:

1. the question's reference-class ``base_rate`` (stated at its opening; every assessed event
   then counts);
2. else the earliest forecast by a person who assessed evidence on the question;
3. else the earliest forecast by any person (:func:`forecasts.domain.is_person`: models,
   crowd aggregates, imported records such as a platform's community prediction, and
   backtests are not analysts, so they never set a model's prior);
4. else 50% at the opening.

With a forecast as prior (2, 3), events dated at or before it are taken to be in it already:
:func:`events_after_prior` drops them.

Plain dicts in (as :meth:`forecasts.ledger.Ledger.records` returns them), plain dicts out;
standard library only (the ``forecasts update`` fast path).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from forecasts.domain import is_person

__all__ = ["choose_prior", "events_after_prior", "explain_left_out"]


def choose_prior(question: Mapping[str, Any], forecasts: Sequence[Mapping[str, Any]],
                 evidence: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The prior of a question given its forecasts and evidence (see the module docstring).

    Returns ``{"p", "at", "from", "counts_earlier_events"}``: the probability, when it was
    stated, where it came from (for explanations) and whether events before it still count.

    >>> from datetime import datetime as dt
    >>> q = {"base_rate": None, "opens_at": dt(2020, 1, 1)}
    >>> f = [{"forecaster": "ana", "made_at": dt(2020, 2, 1), "probability": 0.3},
    ...      {"forecaster": "bob", "made_at": dt(2020, 1, 5), "probability": 0.6},
    ...      {"forecaster": "import:metaculus", "made_at": dt(2020, 1, 2), "probability": 0.9}]
    >>> choose_prior(q, f, [{"assessed_by": "ana"}])["from"]
    "ana's first forecast (2020-02-01)"
    >>> choose_prior(q, f, [])["from"]      # the imported record is not a person
    "bob's first forecast (2020-01-05)"
    """
    rate = question.get("base_rate")
    if rate is not None and 0.0 < rate < 1.0:
        rc = question.get("reference_class")
        return {"p": float(rate), "at": question["opens_at"], "counts_earlier_events": False,
                "from": "the question's base rate" + (f" ({rc})" if rc else "")}
    usable = [f for f in forecasts if f.get("probability") is not None and 0.0 < f["probability"] < 1.0
              and is_person(f["forecaster"])]
    assessors = {v.get("assessed_by") for v in evidence}
    for pool in ([f for f in usable if f["forecaster"] in assessors], usable):
        if pool:
            first = min(pool, key=lambda f: (f["made_at"], f.get("seq", 0)))
            return {"p": float(first["probability"]), "at": first["made_at"], "counts_earlier_events": True,
                    "from": f"{first['forecaster']}'s first forecast ({first['made_at']:%Y-%m-%d})"}
    return {"p": 0.5, "at": question["opens_at"], "counts_earlier_events": False,
            "from": "no prior recorded: 50%"}


def events_after_prior(prior: Mapping[str, Any], evidence: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The evidence rows that the prior does not contain yet (all of them for a base rate or
    the 50% default; those dated after a forecast prior's date otherwise).

    >>> from datetime import datetime as dt
    >>> prior = {"at": dt(2020, 1, 5), "counts_earlier_events": True}
    >>> [v["event"] for v in events_after_prior(prior, [{"event": 1, "occurred_at": dt(2020, 1, 1)},
    ...                                                  {"event": 2, "occurred_at": dt(2020, 1, 9)}])]
    [2]
    """
    if not prior["counts_earlier_events"]:
        return list(evidence)
    return [v for v in evidence if v["occurred_at"] > prior["at"]]


def explain_left_out(explanation: list[str], prior: Mapping[str, Any],
                     evidence: Sequence[Mapping[str, Any]]) -> list[str]:
    """``explanation`` (its first line the prior) with a line after the prior for each assessed
    event that :func:`events_after_prior` leaves out, saying why: a forecast made after the
    event already contains it, and counting it again would count it twice.

    >>> from datetime import datetime as dt
    >>> prior = {"at": dt(2020, 1, 5), "counts_earlier_events": True, "from": "ana's first forecast (2020-01-05)"}
    >>> explain_left_out(["prior 40.0%", "posterior 40.0%"], prior,
    ...                  [{"event": 3, "event_title": "Talks", "occurred_at": dt(2020, 1, 1)}])[1]
    "event 3 'Talks' (2020-01-01) left out: it predates the prior, ana's first forecast (2020-01-05), which already reflects it"
    """
    if not prior["counts_earlier_events"]:
        return explanation
    left: dict[Any, Mapping[str, Any]] = {}
    for v in evidence:
        if v["occurred_at"] <= prior["at"]:
            left.setdefault(v["event"], v)
    lines = [f"event {e} {v.get('event_title')!r} ({v['occurred_at']:%Y-%m-%d}) left out: it predates the prior, "
             f"{prior['from']}, which already reflects it" for e, v in left.items()]
    return [*explanation[:1], *lines, *explanation[1:]]
