"""Model 2, deadline hazard: "will X happen before T?" as a waiting time with an uncertain rate.

The closed form
---------------
X happens at rate ``lambda(t) = lambda0 * c(t)`` per day, where ``lambda0 ~ Gamma(a, b)``
(shape ``a``, rate ``b``, in days) and ``c(t)`` is the product of the hazard multipliers of the
events known by ``t`` (proportional hazards; an event with likelihood ratio ``LR`` and weight
``w`` multiplies the hazard by ``LR ** w``).  If X has not happened by ``t``, the posterior of
``lambda0`` is ``Gamma(a, B)`` with ``B = b + integral_{t0}^{t} c(u) du`` (the quiet exposure),
and::

    P(X by T | nothing by t) = 1 - (B / (B + c(t) * (T - t))) ** a

With no events (``c = 1``) this is the textbook ``1 - (b / (b + T - t)) ** a`` of the issue,
``b`` grown by the quiet days.  It is non-increasing in quiet time and exactly 0 at ``T``: each
quiet day both shortens the time left and lowers the belief in a high hazard.

The prior
---------
From a probability ``p0`` stated at ``t0`` for the deadline ``T`` (the analyst's first forecast,
or the question's reference-class base rate over its open period), with a chosen shape ``a``:
``b`` solves ``1 - (b / (b + (T - t0))) ** a = p0``, i.e.
``b = H r / (1 - r)`` with ``H = T - t0`` and ``r = (1 - p0) ** (1 / a)``.  The shape says how
sure we are about the rate: small ``a`` (heavy tail) learns a lot from quiet days, large ``a``
(nearly a known rate) little.  The default ``a = 2`` is a moderately uncertain rate.

Events dated before ``t0`` are counted in the prior when it is an analyst's forecast; with a
base-rate prior they multiply the hazard from ``t0`` on (the caller decides which to pass).

With no events at all, :func:`quiet_decay` is the same closed form for arrays of priors and
times (numpy): many forecasts decayed at once, as the evaluation on a crowd's track record
needs.

Conventions: standard library only at import (the ``forecasts update`` fast path; numpy is
imported inside :func:`quiet_decay`); times are naive UTC datetimes, durations in days; the
forecast is clipped to [1e-4, 1 - 1e-4] (never certain) while ``raw`` keeps the unclipped
value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from forecasts.errors import InvalidInput
from forecasts.models.evidence import combine
from forecasts.models.logodds import PROB_FLOOR, clip

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

__all__ = ["DEFAULT_SHAPE", "HazardResult", "prior_rate", "probability_by", "quiet_decay", "update"]

DEFAULT_SHAPE = 2.0
VERSION = "hazard-1"
_DAY = 86400.0


def _days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / _DAY


def prior_rate(p0: float, horizon_days: float, shape: float = DEFAULT_SHAPE) -> float:
    """The Gamma rate ``b`` (days) that gives ``P(X within horizon) = p0`` for shape ``a``.

    >>> b = prior_rate(0.5, 100.0, shape=1.0)
    >>> b, probability_by(1.0, b, 100.0)
    (100.0, 0.5)
    """
    if not 0.0 < p0 < 1.0:
        raise InvalidInput(f"prior probability {p0!r} must lie strictly between 0 and 1")
    if not horizon_days > 0:
        raise InvalidInput("the prior needs a positive time to the deadline")
    if not shape > 0:
        raise InvalidInput("the Gamma shape must be positive")
    r = (1.0 - p0) ** (1.0 / shape)
    return horizon_days * r / (1.0 - r)


def probability_by(shape: float, rate: float, remaining_days: float, multiplier: float = 1.0) -> float:
    """``1 - (rate / (rate + multiplier * remaining)) ** shape``: P(X within the remaining days).

    >>> probability_by(2.0, 50.0, 0.0)
    0.0
    >>> round(probability_by(2.0, 50.0, 50.0), 4)
    0.75
    """
    if remaining_days <= 0:
        return 0.0
    # 1 - x**a computed as -expm1(a * log x) for accuracy near 0
    return -math.expm1(shape * math.log(rate / (rate + multiplier * remaining_days)))


@dataclass(frozen=True)
class HazardResult:
    """P(X by the deadline) as of a time, with the Gamma posterior and the path to it."""

    probability: float       # clipped to [1e-4, 1 - 1e-4]
    raw: float               # unclipped; exactly 0 at the deadline
    shape: float
    rate: float              # B: the Gamma rate after quiet exposure
    multiplier: float        # c(t): product of event multipliers so far
    days_left: float
    steps: tuple[dict, ...]
    params: dict = field(default_factory=dict)

    @property
    def hazard_mean(self) -> float:
        """Posterior mean of the current hazard per day, ``a * c(t) / B``."""
        return self.shape * self.multiplier / self.rate

    def explanation(self) -> list[str]:
        """The path as lines: prior, quiet decay, each event's jump, the result."""
        return [s["text"] for s in self.steps]


def update(prior: float, prior_at: datetime, deadline: datetime, as_of: datetime,
           events: Iterable[Mapping[str, Any]] = (), *, shape: float = DEFAULT_SHAPE,
           prior_from: str | None = None, same_day_decay: float = 1.0) -> HazardResult:
    """P(X before ``deadline``) as of ``as_of``, given nothing yet.

    Parameters
    ----------
    prior : float
        P(X by the deadline) stated at ``prior_at``.
    prior_at, deadline, as_of : datetime
        ``prior_at <= as_of``; ``as_of`` past the deadline gives 0 (clipped to 1e-4).
    events : iterable of dict
        Evidence rows (``event``, ``lr``, ``weight``, ``occurred_at``...; see
        :func:`forecasts.models.evidence.combine`).  Rows dated after ``as_of`` are refused:
        the caller reads the ledger as of ``as_of``.  Rows dated before ``prior_at`` take
        effect at ``prior_at``.
    shape : float
        Gamma shape ``a`` of the prior on the hazard.

    Examples
    --------
    >>> from datetime import datetime as dt
    >>> r = update(0.5, dt(2021, 1, 1), dt(2021, 4, 11), dt(2021, 1, 1), shape=1.0)
    >>> round(r.probability, 3), round(r.rate, 1)
    (0.5, 100.0)
    >>> later = update(0.5, dt(2021, 1, 1), dt(2021, 4, 11), dt(2021, 2, 20), shape=1.0)
    >>> round(later.probability, 3)   # 50 quiet days: 1 - 150 / (150 + 50)
    0.25
    >>> jump = update(0.5, dt(2021, 1, 1), dt(2021, 4, 11), dt(2021, 2, 20), shape=1.0,
    ...               events=[{"event": 7, "lr": 4.0, "occurred_at": dt(2021, 2, 20)}])
    >>> round(jump.probability, 3)    # hazard x4: 1 - 150 / (150 + 200)
    0.571
    """
    if as_of < prior_at:
        raise InvalidInput(f"as-of {as_of:%Y-%m-%d} is before the prior's date {prior_at:%Y-%m-%d}")
    horizon = _days(prior_at, deadline)
    b = prior_rate(prior, horizon, shape)
    label = f" from {prior_from}" if prior_from else ""
    steps = [{"at": prior_at, "kind": "prior", "probability": prior,
              "text": f"{prior_at:%Y-%m-%d} prior {prior:.1%} by {deadline:%Y-%m-%d}{label}: "
                      f"hazard ~ Gamma(a={shape:g}, b={b:.4g} days), mean {shape / b:.4g}/day"}]
    B, c, t = b, 1.0, prior_at
    end = min(as_of, deadline)
    for item in combine(events, same_day_decay=same_day_decay):
        at = item["occurred_at"] or prior_at
        if at > as_of:
            raise InvalidInput(f"event {item['event']} on {at:%Y-%m-%d} is after the as-of date: read the ledger as of it")
        at = max(at, prior_at)
        if at > end:
            continue
        quiet = _days(t, at)
        B += c * quiet
        p_before = probability_by(shape, B, _days(at, deadline), c)
        factor = math.exp(item["delta"])
        c *= factor
        p_after = probability_by(shape, B, _days(at, deadline), c)
        t = at
        steps.append({"at": at, "kind": "event", "event": item["event"], "multiplier": factor,
                      "quiet_days": quiet, "p_before": p_before, "probability": p_after,
                      "text": (f"{at:%Y-%m-%d} #{item['event']} {item['title']}: hazard x{factor:.3g} "
                               f"(LR {item['lr']:.3g}, weight {item['weight']:.3g}); after {quiet:.0f} quiet days "
                               f"{p_before:.1%} -> {p_after:.1%}")})
    quiet = _days(t, end)
    B += c * quiet
    left = max(_days(end, deadline), 0.0)
    raw = probability_by(shape, B, left, c)
    p = clip(raw)
    steps.append({"at": as_of, "kind": "now", "probability": raw,
                  "text": (f"{as_of:%Y-%m-%d} {quiet:.0f} quiet days since the last step, {left:.1f} days left: "
                           f"P(by deadline) = {p:.1%}" + (" [clipped: never certain]" if p != raw else ""))})
    params = {"prior": prior, "prior_at": prior_at.isoformat(), "prior_from": prior_from,
              "deadline": deadline.isoformat(), "shape": shape, "prior_rate": b, "rate": B,
              "multiplier": c, "days_left": left, "n_events": len(steps) - 2}
    return HazardResult(probability=p, raw=raw, shape=shape, rate=B, multiplier=c, days_left=left,
                        steps=tuple(steps), params=params)


def quiet_decay(p0: ArrayLike, t0: ArrayLike, deadline: ArrayLike, t: ArrayLike, shape: float) -> np.ndarray:
    """P(X by ``deadline`` | nothing by ``t``) from ``p0`` stated at ``t0``, with no events: the
    closed form of :func:`update`, vectorised (numpy; times as ``datetime64``, broadcast).

    ``b = H r / (1 - r)`` with ``H = deadline - t0`` and ``r = (1 - p0) ** (1 / a)``; then
    ``P = 1 - (B / (B + (deadline - t))) ** a`` with ``B = b + (t - t0)``, in days.  ``p0`` is
    first clipped to [1e-4, 1 - 1e-4], and so is the result, as :func:`update` clips its
    forecast.

    >>> import numpy as np
    >>> t0, deadline = np.datetime64("2021-01-01"), np.datetime64("2021-04-11")
    >>> quiet_decay([0.5, 0.5], t0, deadline, np.array(["2021-01-01", "2021-02-20"], "datetime64[D]"),
    ...             1.0).round(3).tolist()    # 50 quiet days: 1 - 150 / (150 + 50)
    [0.5, 0.25]
    """
    import numpy as np

    if not shape > 0:
        raise InvalidInput("the Gamma shape must be positive")
    day = np.timedelta64(1, "D")
    p = np.clip(np.asarray(p0, dtype=float), PROB_FLOOR, 1 - PROB_FLOOR)
    start, end, now = np.asarray(t0), np.asarray(deadline), np.asarray(t)
    horizon = (end - start) / day
    quiet = (now - start) / day
    left = np.maximum((end - now) / day, 0.0)
    r = (1.0 - p) ** (1.0 / shape)
    b = np.maximum(horizon, 1e-9) * r / (1.0 - r)
    B = b + np.maximum(quiet, 0.0)
    out = -np.expm1(shape * np.log(B / (B + left)))
    return np.clip(out, PROB_FLOOR, 1 - PROB_FLOOR)
