"""Model 4, aggregation: pooling several forecasters' probabilities into one crowd forecast.

Methods (:func:`pool`)
----------------------
``mean``
    Arithmetic mean of the probabilities (linear opinion pool).
``median``
    The median probability.
``geomean_odds``
    Geometric mean of the odds, ``expit(mean(logit p))``.
``recency_median``
    Metaculus' recency-weighted median: forecasts ordered oldest to newest get weights
    ``exp(sqrt(n) - sqrt(N))``, ``n = 1..N`` (the newest weighs 1); the weighted median is the
    smallest value whose cumulative weight reaches half the total.
``extremized``
    Extremized log-odds pooling (Satopää et al. 2014): ``expit(d * mean(logit p))``.  The factor
    ``d`` is learned from resolved history by :func:`fit_extremizing`.

Each person counts once: their latest forecast (:func:`latest_by_forecaster`).  Only persons
are pooled (:func:`forecasts.domain.is_person`): models (``model:*``), crowds (``crowd:*``),
imported records (``import:*``, such as a platform's community prediction) and backtests are
left out.  Probabilities are
clipped to [1e-4, 1 - 1e-4] before any log-odds is taken.  Pooled forecasts are written as
forecaster ``crowd:<method>`` (source ``model:aggregate``), so scoring keeps them out of the
"median forecaster" pool.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike

from forecasts.domain import is_person
from forecasts.errors import InvalidInput
from forecasts.models.logodds import expit_array, logit_array

__all__ = ["METHODS", "extremize", "fit_extremizing", "latest_by_forecaster", "pool", "recency_weights"]

METHODS = ("mean", "median", "geomean_odds", "recency_median", "extremized")
VERSION = "aggregate-1"


def recency_weights(n: int) -> np.ndarray:
    """Metaculus' weights for ``n`` forecasts ordered oldest to newest: ``exp(sqrt(k) - sqrt(n))``.

    >>> recency_weights(3).round(3).tolist()
    [0.481, 0.728, 1.0]
    """
    k = np.arange(1, n + 1, dtype=float)
    return np.exp(np.sqrt(k) - math.sqrt(n))


def weighted_median(values: ArrayLike, weights: ArrayLike) -> float:
    """The smallest value whose cumulative weight reaches half the total weight.

    >>> weighted_median([0.1, 0.5, 0.9], [1, 1, 3])
    0.9
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, 0.5 * cum[-1])])


def pool(probabilities: Sequence[float], method: str = "mean", *, times: Sequence[datetime] | None = None,
         factor: float | None = None) -> float:
    """Pool probabilities by ``method`` (see the module docstring).

    ``times`` orders the forecasts for ``recency_median`` (default: the order given);
    ``factor`` is the extremizing ``d`` (default 1, i.e. the geometric mean of odds).

    >>> ps = [0.6, 0.7, 0.9]
    >>> [round(pool(ps, m), 4) for m in ("mean", "median", "geomean_odds")]
    [0.7333, 0.7, 0.7595]
    >>> round(pool(ps, "extremized", factor=2.0), 4)
    0.9089
    """
    p = np.asarray(probabilities, dtype=float)
    if p.size == 0:
        raise InvalidInput("nothing to pool: no forecasts")
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise InvalidInput("pooled probabilities must lie in [0, 1]")
    if method == "mean":
        return float(p.mean())
    if method == "median":
        return float(np.median(p))
    if method == "geomean_odds":
        return float(expit_array(logit_array(p).mean()))
    if method == "recency_median":
        if times is not None:
            order = sorted(range(len(p)), key=lambda i: times[i])
            p = p[order]
        return weighted_median(p, recency_weights(len(p)))
    if method == "extremized":
        d = 1.0 if factor is None else float(factor)
        return float(expit_array(d * logit_array(p).mean()))
    raise InvalidInput(f"unknown pooling method {method!r}; one of {', '.join(METHODS)}")


def extremize(probabilities: ArrayLike, factor: float) -> np.ndarray:
    """Each probability extremized by ``factor``: ``expit(d * logit p)``, elementwise (``p``
    first clipped to [1e-4, 1 - 1e-4] by :func:`~forecasts.models.logodds.logit_array`).  One
    forecaster's forecast pooled by ``extremized`` is this; the evaluation and the crowd
    backtest apply it to an imported crowd's own series (:mod:`forecasts.runs.evaluate`).

    >>> extremize([0.2, 0.5, 0.8], 2.0).round(4).tolist()
    [0.0588, 0.5, 0.9412]
    """
    return expit_array(float(factor) * logit_array(probabilities))


def latest_by_forecaster(forecasts: Sequence[dict], as_of: datetime | None = None) -> list[dict]:
    """Each person's latest binary forecast at or before ``as_of``, in time order (models,
    crowds, imported records and backtests left out: :func:`forecasts.domain.is_person`).

    A person whose latest forecast a late retraction ended (``ended_at`` at or before
    ``as_of``, or at all when ``as_of`` is None) holds nothing and is left out: the earlier
    forecast it replaced does not come back."""
    latest: dict[str, dict] = {}
    for f in forecasts:
        if f.get("probability") is None or not is_person(f["forecaster"]):
            continue
        if as_of is not None and f["made_at"] > as_of:
            continue
        old = latest.get(f["forecaster"])
        if old is None or (f["made_at"], f.get("seq", 0)) >= (old["made_at"], old.get("seq", 0)):
            latest[f["forecaster"]] = f
    return sorted((f for f in latest.values() if not _ended(f.get("ended_at"), as_of)),
                  key=lambda f: f["made_at"])


def _ended(ended_at: object, as_of: datetime | None) -> bool:
    if ended_at is None or ended_at != ended_at:  # None, NaN or NaT: never ended
        return False
    return as_of is None or ended_at <= as_of  # type: ignore[operator]


def pooled_history(forecasts: Sequence[dict], resolutions: Sequence[dict], *,
                   persons_only: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training cases for the extremizing factor: after every forecast on a resolved (yes/no)
    question, before its resolution, the mean log-odds of every person's latest forecast.

    ``persons_only=False`` pools every forecaster given instead (the evaluation extremizes
    one imported crowd's own series: :mod:`forecasts.runs.evaluate`).
    Returns ``(mean_logit, outcome, weight)``; each question's cases weigh 1 in total.
    """
    outcome = {r["question"]: 1.0 if r["outcome"] == "yes" else 0.0
               for r in resolutions if r["outcome"] in ("yes", "no")}
    resolved_at = {r["question"]: r["resolved_at"] for r in resolutions}
    by_q: dict[str, list[dict]] = {}
    for f in forecasts:
        if f["question"] in outcome and f.get("probability") is not None and f["made_at"] < resolved_at[f["question"]] \
                and (not persons_only or is_person(f["forecaster"])):
            by_q.setdefault(f["question"], []).append(f)
    xs, ys, ws = [], [], []
    for qid, rows in by_q.items():
        rows.sort(key=lambda f: (f["made_at"], f.get("seq", 0)))
        current: dict[str, float] = {}
        cases = []
        for f in rows:
            current[f["forecaster"]] = f["probability"]
            cases.append(float(logit_array(np.fromiter(current.values(), float)).mean()))
        xs += cases
        ys += [outcome[qid]] * len(cases)
        ws += [1.0 / len(cases)] * len(cases)
    return np.asarray(xs), np.asarray(ys), np.asarray(ws)


def fit_extremizing(forecasts: Sequence[dict], resolutions: Sequence[dict], *, prior_mean: float = 1.0,
                    prior_sd: float = 1.0, persons_only: bool = True) -> dict:
    """The extremizing factor ``d`` learned from resolved history (MAP with a Normal prior).

    Maximises ``sum_i w_i log Bernoulli(y_i | expit(d x_i)) + log Normal(d | prior_mean, prior_sd)``
    over the cases of :func:`pooled_history` (``persons_only`` is passed on) by Newton's method (the objective is concave);
    ``sd`` is the Laplace approximation.  With no resolved history, ``d = 1``.

    Returns ``{"factor", "sd", "n_questions", "n_cases"}``.
    """
    x, y, w = pooled_history(forecasts, resolutions, persons_only=persons_only)
    n_q = int(round(w.sum())) if w.size else 0
    if x.size == 0:
        return {"factor": 1.0, "sd": float(prior_sd), "n_questions": 0, "n_cases": 0}
    d = prior_mean
    prec0 = 1.0 / prior_sd**2
    for _ in range(50):
        p = expit_array(d * x)
        grad = float(np.sum(w * (y - p) * x)) - (d - prior_mean) * prec0
        hess = -float(np.sum(w * p * (1 - p) * x * x)) - prec0
        step = max(min(grad / hess, 1.0), -1.0)   # a bounded Newton step: no overshoot from a flat start
        d -= step
        if abs(step) < 1e-10:
            break
    p = expit_array(d * x)
    info = float(np.sum(w * p * (1 - p) * x * x)) + prec0
    return {"factor": float(d), "sd": float(1 / math.sqrt(info)), "n_questions": n_q, "n_cases": int(x.size)}
