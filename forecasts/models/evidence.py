"""Model 1, evidence: a prior on the log-odds scale plus weighted log likelihood ratios.

The closed form
---------------
For a question with prior probability ``p0`` and assessed events ``i = 1..n``::

    logit p = logit p0 + sum_i w_i * ln LR_i

``LR_i = P(event i | YES) / P(event i | NO)`` is the analyst's likelihood ratio (Bayes'
rule in odds form: posterior odds = prior odds x LR, for conditionally independent
events).  ``w_i`` in (0, 1] discounts a report that is correlated with one already counted:
two reports that are really one observation should each carry ``w = 0.5``.

The verbal scale (:data:`forecasts.domain.VERBAL_SCALE`) maps an analyst's words to LRs; "for
NO" divides the odds by the same factor:

============  =====  ==================  ==========================
step          LR     ln LR (nats)        e.g. from 50%, for YES
============  =====  ==================  ==========================
negligible    1      0                   50%
weak          1.5    0.41                60%
moderate      3      1.10                75%
strong        10     2.30                91%
very-strong   30     3.40                97%
decisive      100    4.61                99%
============  =====  ==================  ==========================

Correlated reports
------------------
Two discounts, applied in this order and both shown in the explanation:

1. *One voice per event.*  Several assessments of the same event (by several analysts, or an
   analyst re-assessing) are one observation: the latest assessment per (event, assessor)
   counts, and the assessors' weighted log LRs are averaged, not added.
2. *The stored weight* ``w_i`` of the assessment (``forecasts evidence --weight 0.5``).
3. Optionally, ``same_day_decay`` (default 1, i.e. off): the k-th event on the same day
   pointing the same way gets a further factor ``same_day_decay ** (k - 1)``, strongest first,
   for feeds that report one development several times.

Conventions
-----------
* Only standard library here (``math``): the ``forecasts update`` fast path imports this
  module and must start as fast as ``forecasts log``.
* A model forecast is never certain: it is clipped to ``[PROB_FLOOR, 1 - PROB_FLOOR]`` =
  ``[1e-4, 1 - 1e-4]`` (the ledger refuses 0 and 1, and a certain wrong forecast has an
  infinite log score).  The explanation says when clipping happened.  ``logit``, ``expit``,
  ``clip`` and ``PROB_FLOOR`` are those of :mod:`forecasts.models.logodds`, re-exported here.
* Functions take plain values and lists of dicts (as :meth:`Ledger.records` returns them) and
  return values; they never read or write the ledger.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from forecasts.domain import VERBAL_SCALE
from forecasts.errors import InvalidInput
from forecasts.models.logodds import PROB_FLOOR, clip, expit, logit

__all__ = ["PROB_FLOOR", "VERBAL_SCALE", "EvidenceResult", "Step", "clip", "expit", "logit",
           "combine", "update", "verbal_lr"]

VERSION = "evidence-1"


def verbal_lr(strength: str) -> float:
    """The likelihood ratio of a verbal strength such as ``"moderate for no"``.

    >>> verbal_lr("strong for yes"), round(verbal_lr("moderate for no"), 4)
    (10.0, 0.3333)
    """
    words = " ".join(str(strength).lower().split()).split(" for ")
    if len(words) != 2 or words[0] not in VERBAL_SCALE or words[1] not in ("yes", "no"):
        raise InvalidInput(f"strength {strength!r} must be '<step> for yes|no', step in {', '.join(VERBAL_SCALE)}")
    lr = VERBAL_SCALE[words[0]]
    return lr if words[1] == "yes" else 1.0 / lr


@dataclass(frozen=True)
class Step:
    """One event's contribution: how much it moved the log-odds and the probability."""

    event: Any
    title: str
    occurred_at: datetime | None
    lr: float                 # the (averaged) likelihood ratio of the event
    weight: float             # the effective weight after every discount
    delta_logit: float        # weight * ln LR
    p_before: float
    p_after: float
    assessors: tuple[str, ...] = ()
    note: str = ""

    def line(self) -> str:
        """One readable line, e.g. ``2020-12-17 #23 Moscow rejects meetings: LR 0.33 x w 1 -> 62.0% -> 35.2%``."""
        day = f"{self.occurred_at:%Y-%m-%d} " if self.occurred_at else ""
        extra = f" ({self.note})" if self.note else ""
        return (f"{day}#{self.event} {self.title}: LR {self.lr:.3g} x weight {self.weight:.3g} "
                f"= {self.delta_logit:+.2f} log-odds, {self.p_before:.1%} -> {self.p_after:.1%}{extra}")


@dataclass(frozen=True)
class EvidenceResult:
    """The posterior of the evidence model and how it got there."""

    probability: float        # clipped to [1e-4, 1 - 1e-4]
    prior: float
    prior_logit: float
    logit: float              # unclipped posterior log-odds
    steps: tuple[Step, ...]
    clipped: bool = False
    params: dict = field(default_factory=dict)

    def explanation(self) -> list[str]:
        """The update as lines: the prior, each event, the result."""
        lines = [f"prior {self.prior:.1%} (log-odds {self.prior_logit:+.2f})"
                 + (f" from {self.params['prior_from']}" if self.params.get("prior_from") else "")]
        lines += [s.line() for s in self.steps]
        lines.append(f"posterior {self.probability:.1%} (log-odds {self.logit:+.2f})"
                     + (" [clipped: model forecasts are never certain]" if self.clipped else ""))
        return lines


def combine(assessments: Iterable[Mapping[str, Any]], *, same_day_decay: float = 1.0) -> list[dict]:
    """Group evidence rows into one item per event, with the discounts applied.

    Each row needs ``event`` and ``lr``; optional ``weight`` (default 1), ``assessed_by``,
    ``occurred_at``, ``event_title``, ``seq`` (later rows supersede earlier ones by the same
    assessor on the same event).  Returns dicts ``{event, title, occurred_at, lr, weight,
    delta, assessors, note}`` in world-time order, where ``delta = weight * ln lr``.

    >>> rows = [{"event": 1, "lr": 3.0, "assessed_by": "a"}, {"event": 1, "lr": 1/3, "assessed_by": "b"}]
    >>> [round(c["delta"], 6) for c in combine(rows)]   # two analysts disagree: they cancel
    [0.0]
    """
    if not 0.0 < same_day_decay <= 1.0:
        raise InvalidInput("same_day_decay must lie in (0, 1]")
    latest: dict[tuple, dict] = {}
    order = []
    for i, row in enumerate(assessments):
        lr = float(row["lr"])
        if not (math.isfinite(lr) and lr > 0):
            raise InvalidInput(f"likelihood ratio {row['lr']!r} must be a finite number above 0")
        given = row.get("weight")
        w = 1.0 if given is None else float(given)
        if not 0.0 < w <= 1.0:
            raise InvalidInput(f"weight {w!r} must lie in (0, 1]")
        key = (row["event"], row.get("assessed_by"))
        if key not in latest:
            order.append(key)
        latest[key] = {**row, "_w": w, "_lr": lr, "_i": (row.get("seq") or 0, i)}
    by_event: dict[Any, list[dict]] = {}
    for key in order:
        by_event.setdefault(key[0], []).append(latest[key])
    items = []
    for event, rows in by_event.items():
        deltas = [r["_w"] * math.log(r["_lr"]) for r in rows]
        delta = sum(deltas) / len(deltas)
        lr_mean = math.exp(sum(math.log(r["_lr"]) for r in rows) / len(rows))
        weight = sum(r["_w"] for r in rows) / len(rows)
        first = rows[0]
        note = f"mean of {len(rows)} assessments" if len(rows) > 1 else ""
        items.append({"event": event, "title": first.get("event_title") or f"event {event}",
                      "occurred_at": first.get("occurred_at"), "lr": lr_mean, "weight": weight,
                      "delta": delta, "assessors": tuple(sorted(str(r.get("assessed_by")) for r in rows)),
                      "note": note, "cameo": first.get("cameo"), "goldstein": first.get("goldstein")})
    items.sort(key=lambda c: (c["occurred_at"] or datetime.min, str(c["event"])))
    if same_day_decay < 1.0:
        groups: dict[tuple, list[dict]] = {}
        for c in items:
            day = c["occurred_at"].date() if c["occurred_at"] else None
            groups.setdefault((day, c["delta"] > 0), []).append(c)
        for group in groups.values():
            for k, c in enumerate(sorted(group, key=lambda c: -abs(c["delta"]))):
                if k:
                    factor = same_day_decay ** k
                    c["delta"] *= factor
                    c["weight"] *= factor
                    c["note"] = (c["note"] + "; " if c["note"] else "") + f"same-day report x{factor:.3g}"
    return items


def update(prior: float, evidence: Iterable[Mapping[str, Any]], *, same_day_decay: float = 1.0,
           prior_from: str | None = None) -> EvidenceResult:
    """Update ``prior`` by the evidence rows (see :func:`combine`) and explain each step.

    Parameters
    ----------
    prior : float
        Prior probability of YES, strictly inside (0, 1).
    evidence : iterable of dict
        Rows with ``event``, ``lr`` and optionally ``weight``, ``assessed_by``,
        ``occurred_at``, ``event_title``.
    same_day_decay : float
        Extra discount for same-day, same-direction events (1 = off).
    prior_from : str, optional
        Where the prior came from, for the explanation.

    Returns
    -------
    EvidenceResult
        ``probability`` = expit(logit(prior) + sum of weighted ln LR), clipped to
        [1e-4, 1 - 1e-4]; ``steps`` says which event moved it how much.

    Examples
    --------
    A 50% prior, one "moderate for yes" report and two copies of one "strong for no" report,
    each at weight 0.5 (together one observation):

    >>> rows = [{"event": 1, "lr": 3.0}, {"event": 2, "lr": 0.1, "weight": 0.5},
    ...         {"event": 3, "lr": 0.1, "weight": 0.5}]
    >>> r = update(0.5, rows)
    >>> round(r.probability, 4)          # odds 1 x 3 / 10 = 0.3
    0.2308
    >>> [round(s.p_after, 3) for s in r.steps]
    [0.75, 0.487, 0.231]
    """
    if not 0.0 < prior < 1.0:
        raise InvalidInput(f"prior {prior!r} must lie strictly between 0 and 1")
    x0 = logit(prior)
    x = x0
    steps = []
    for c in combine(evidence, same_day_decay=same_day_decay):
        before = expit(x)
        x += c["delta"]
        steps.append(Step(event=c["event"], title=c["title"], occurred_at=c["occurred_at"], lr=c["lr"],
                          weight=c["weight"], delta_logit=c["delta"], p_before=before, p_after=expit(x),
                          assessors=c["assessors"], note=c["note"]))
    p = expit(x)
    q = clip(p)
    params = {"prior": prior, "prior_from": prior_from, "n_events": len(steps),
              "same_day_decay": same_day_decay, "sum_weighted_log_lr": x - x0}
    return EvidenceResult(probability=q, prior=prior, prior_logit=x0, logit=x, steps=tuple(steps),
                          clipped=q != p, params=params)
