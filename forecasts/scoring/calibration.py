"""Calibration of binary probability forecasts: CORP reliability, decompositions, tests.

What is here
------------
* :func:`reliability` and :func:`decompose`: the CORP approach of Dimitriadis,
  Gneiting and Jordan (2021): the calibration curve is the isotonic (PAV)
  regression of outcomes on forecasts, with tied forecasts pooled first, and any
  proper score S splits exactly as ``S = MCB - DSC + UNC``.
* :func:`murphy`: the classic binned (Murphy 1973) decomposition, with the two
  within-bin terms of Stephenson, Coelho and Jolliffe (2008) so that it adds up
  to the Brier score exactly.
* :func:`spiegelhalter`, :func:`calibration_in_the_large`, :func:`cox`,
  :func:`ece`: calibration tests and summaries.
* :func:`calibration_cases` and :func:`calibration_table`: the same, over ledger
  frames, counting only questions past their scheduled close.
* :func:`text_reliability_chart`: a compact plain-text chart for terminals.

Conventions
-----------
Forecasts ``p`` are P(yes) in [0, 1], outcomes ``y`` are 0/1, optional case
``weights`` are non-negative (cases of weight 0 are dropped). Scores are
averaged with the weights. Scores are losses (lower is better); the log score
is in nats. Nothing is clipped: a forecast of 0 or 1 on the wrong side makes the
log score and its MCB ``inf``.
Random resampling (the bands) takes ``random_state`` (an int seed or a
``numpy.random.Generator``); pass one for reproducible bands.

References
----------
Dimitriadis, T., Gneiting, T. and Jordan, A. I. (2021). Stable reliability
diagrams for probabilistic classifiers. PNAS 118(8), e2016191118.
Murphy, A. H. (1973). A new vector partition of the probability score. Journal
of Applied Meteorology 12, 595-600.
Stephenson, D. B., Coelho, C. A. S. and Jolliffe, I. T. (2008). Two extra
components in the Brier score decomposition. Weather and Forecasting 23, 752-757.
Spiegelhalter, D. J. (1986). Probabilistic prediction in patient management and
clinical trials. Statistics in Medicine 5, 421-433.
Cox, D. R. (1958). Two further applications of a model for binary regression.
Biometrika 45, 562-565.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from forecasts.errors import InvalidInput, InvalidProbability
from forecasts.scoring.frames import TimeLike, check_columns, check_forecasters, random_generator
from forecasts.scoring.options import (
    CALIBRATION_GROUPINGS,
    LOSS_RULES,
    Band,
    CalibrationGrouping,
    LossRule,
    Weighting,
    check_bins,
    check_choice,
)
from forecasts.scoring.pooling import Pooled, pool
from forecasts.scoring.rules import as_floats

__all__ = [
    "calibration_cases",
    "calibration_in_the_large",
    "calibration_table",
    "cox",
    "decompose",
    "ece",
    "murphy",
    "reliability",
    "spiegelhalter",
    "text_reliability_chart",
]

RULES = LOSS_RULES


# --------------------------------------------------------------------- checks
def _check_cases(p: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None, *,
                 allow_empty: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    p = as_floats(p, "forecast probabilities").ravel()
    y = as_floats(y, "binary outcomes").ravel()
    if p.shape != y.shape:
        raise InvalidInput(f"{p.shape[0]} forecasts but {y.shape[0]} outcomes")
    if p.shape[0] == 0 and not allow_empty:
        raise InvalidInput("no forecasts to evaluate")
    if p.shape[0] and not (p.min() >= 0.0 and p.max() <= 1.0):  # NaN fails too
        if np.isnan(p).any():
            raise InvalidProbability("forecast probabilities contain NaN")
        raise InvalidProbability("forecast probabilities must lie in [0, 1]")
    if y.shape[0] and not (y.min() >= 0.0 and y.max() <= 1.0
                           and np.count_nonzero((y > 0.0) & (y < 1.0)) == 0):
        raise InvalidInput("binary outcomes must be 0 or 1 (or False/True)")
    if weights is not None:
        weights = as_floats(weights, "weights").ravel()
        if weights.shape != p.shape:
            raise InvalidInput(f"{p.shape[0]} forecasts but {weights.shape[0]} weights")
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise InvalidInput("weights must be finite and non-negative")
        keep = weights > 0
        if not keep.all():
            p, y, weights = p[keep], y[keep], weights[keep]
        if p.shape[0] == 0 and not allow_empty:
            raise InvalidInput("all weights are zero")
    return p, y, weights


def _check_rule(rule: object) -> None:
    check_choice(rule, RULES, "rule")


def _pav(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Increasing isotonic regression of ``values`` with ``weights`` (ordered points)."""
    if values.shape[0] == 0:
        return values.copy()
    from scipy.optimize import isotonic_regression

    return np.asarray(isotonic_regression(values, weights=weights, increasing=True).x)


def _xlogy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast(a, b).shape)
    a, b = np.broadcast_arrays(a, b)
    m = a > 0
    with np.errstate(divide="ignore"):
        out[m] = a[m] * np.log(b[m])
    return out


def _total_score(rule: str, x: np.ndarray, w: np.ndarray, s: np.ndarray) -> float:
    """Sum over cases of w * S(x, y) from pooled sums (w: weight, s: weighted events)."""
    if rule == "brier":
        return float(np.sum(w * x * x - 2.0 * x * s + s))
    if rule == "spherical":  # the loss 1 - (y x + (1 - y)(1 - x)) / sqrt(x^2 + (1 - x)^2)
        return float(np.sum(w - (s * x + (w - s) * (1.0 - x)) / np.sqrt(x * x + (1.0 - x) ** 2)))
    return float(-np.sum(_xlogy(s, x) + _xlogy(w - s, 1.0 - x)))


def _decompose_pooled(pooled: Pooled, rule: str) -> tuple[dict, np.ndarray]:
    x, w, s = pooled.x, pooled.w, pooled.s
    total_w = float(w.sum())
    fit = _pav(s / w, w)
    ybar = float(s.sum()) / total_w
    s_p = _total_score(rule, x, w, s) / total_w
    s_fit = _total_score(rule, fit, w, s) / total_w
    s_clim = _total_score(rule, np.full_like(x, ybar), w, s) / total_w
    return {
        "score": s_p,
        "mcb": s_p - s_fit,
        "dsc": s_clim - s_fit,
        "unc": s_clim,
        "n": int(pooled.n.sum()),
        "rule": rule,
    }, fit


# ------------------------------------------------------------------ decompose
def decompose(p: ArrayLike, y: ArrayLike, rule: LossRule = "brier",
              weights: ArrayLike | None = None) -> dict:
    r"""CORP decomposition of the mean Brier, log or spherical score into MCB, DSC and UNC.

    With :math:`\hat p` the isotonic (PAV) regression of the outcomes on the
    forecasts (tied forecasts pooled first, case weights respected) and
    :math:`\bar y` the (weighted) event rate,

    .. math::
        \bar S = \mathrm{MCB} - \mathrm{DSC} + \mathrm{UNC}, \quad
        \mathrm{MCB} = \bar S(p) - \bar S(\hat p), \quad
        \mathrm{DSC} = \bar S(\bar y) - \bar S(\hat p), \quad
        \mathrm{UNC} = \bar S(\bar y),

    where :math:`\bar S(q)` is the mean score of forecasts ``q`` against ``y``.
    MCB >= 0 measures miscalibration, DSC >= 0 discrimination (resolution).

    Parameters
    ----------
    p : array_like
        Forecast probabilities of "yes", in [0, 1].
    y : array_like
        Outcomes in {0, 1}.
    rule : {"brier", "log", "spherical"}
        The proper score, as a loss: Brier (0-1 form), log score in nats, or
        the spherical loss of :func:`forecasts.scoring.spherical`. The PAV fit
        is optimal under every proper score at once (CORP, Theorem 1), so
        MCB >= 0 and DSC >= 0 for each.
    weights : array_like, optional
        Non-negative case weights (e.g. the share of a question's period a
        forecast held); None means equal weights.

    Returns
    -------
    dict
        ``score`` (mean score), ``mcb``, ``dsc``, ``unc``, plus ``n`` (number of
        cases with positive weight) and ``rule``. The identity
        ``score == mcb - dsc + unc`` holds up to floating-point rounding.

    Notes
    -----
    Under the log score a forecast of 0 or 1 on the wrong side makes ``score``
    and ``mcb`` infinite (no clipping). Agrees with model-diagnostics'
    ``decompose`` (``SquaredError``/``LogLoss``), whose isotonic fit also pools
    ties; scikit-learn's ``IsotonicRegression`` gives the same :math:`\hat p`.

    References
    ----------
    Dimitriadis, Gneiting and Jordan (2021), PNAS 118(8), e2016191118, eq. (3)-(4).

    Examples
    --------
    >>> d = decompose([0.2, 0.6, 0.7, 0.2], [0, 1, 1, 0])
    >>> {k: round(v, 4) for k, v in d.items() if k in ("score", "mcb", "dsc", "unc")}
    {'score': 0.0825, 'mcb': 0.0825, 'dsc': 0.25, 'unc': 0.25}
    """
    _check_rule(rule)
    p, y, weights = _check_cases(p, y, weights)
    out, _ = _decompose_pooled(pool(p, y, weights), rule)
    return out


# ----------------------------------------------------------------- reliability
def _interp_fit(x_all: np.ndarray, x_present: np.ndarray, fit: np.ndarray) -> np.ndarray:
    if x_present.shape[0] == 1:
        return np.full_like(x_all, fit[0])
    return np.interp(x_all, x_present, fit)


def reliability(p: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None, *, n_boot: int = 100,
                alpha: float = 0.1, random_state: int | np.random.Generator | None = None,
                bands: tuple[Band, ...] = ("consistency", "confidence")) -> pd.DataFrame:
    r"""CORP reliability curve with consistency and confidence bands.

    The curve is the conditional event probability (CEP)
    :math:`\hat p(x) = \widehat{P}(Y = 1 \mid p = x)` estimated by the isotonic
    PAV regression of ``y`` on ``p`` with tied forecasts pooled; a calibrated
    forecaster has :math:`\hat p(x) \approx x`.

    Parameters
    ----------
    p : array_like
        Forecast probabilities of "yes", in [0, 1].
    y : array_like
        Outcomes in {0, 1}.
    weights : array_like, optional
        Non-negative case weights.
    n_boot : int
        Number of resamples for each band (0 skips the bands).
    alpha : float
        Bands are pointwise ``1 - alpha`` intervals (default 90%, as in the
        R package reliabilitydiag).
    random_state : int, numpy.random.Generator or None
        Seed for the resampling.
    bands : tuple of {"consistency", "confidence"}
        Which bands to compute.

    Returns
    -------
    pandas.DataFrame
        One row per distinct forecast value: ``x`` (forecast), ``cep`` (the
        PAV fit), ``n`` (cases at x), ``weight`` (their total weight),
        ``events`` (weighted number of yes outcomes), and, if requested,
        ``consistency_lower/upper`` and ``confidence_lower/upper``.
        ``attrs`` holds ``alpha``, ``n_boot`` and the Brier decomposition.

    Notes
    -----
    *Consistency bands* show where the CEP of a **calibrated** forecaster with
    these forecasts would fall: outcomes are redrawn as :math:`Y^* \sim
    \mathrm{Bernoulli}(p)` and the PAV fit recomputed (with no weights this is a
    Binomial draw per distinct value). If the curve leaves them, the
    miscalibration is unlikely to be chance. *Confidence bands* bootstrap the
    cases (a multinomial draw of the (x, y) cells when unweighted) and refit;
    a resample's fit is evaluated at values it did not draw by linear
    interpolation between the values it did (constant beyond them).
    Both are pointwise percentile intervals.

    References
    ----------
    Dimitriadis, Gneiting and Jordan (2021), PNAS 118(8), e2016191118,
    sections 2-3 (resampling-based consistency and confidence bands).

    Examples
    --------
    >>> curve = reliability([0.1, 0.1, 0.5, 0.8, 0.8], [0, 0, 1, 1, 0], n_boot=0)
    >>> curve[["x", "cep", "n"]].round(4)
         x     cep  n
    0  0.1  0.0000  2
    1  0.5  0.6667  1
    2  0.8  0.6667  2
    """
    p, y, weights = _check_cases(p, y, weights)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise InvalidInput("alpha must lie strictly between 0 and 1")
    if isinstance(n_boot, bool) or not hasattr(n_boot, "__index__") or n_boot < 0:
        raise InvalidInput(f"the number of resamples must be a whole number >= 0; got {n_boot!r}")
    if isinstance(bands, str):
        bands = (bands,)  # type: ignore[assignment]
    unknown = set(bands) - {"consistency", "confidence"}
    if unknown:
        raise InvalidInput(f"unknown bands {sorted(unknown)}")
    pooled = pool(p, y, weights)
    dec, fit = _decompose_pooled(pooled, "brier")
    x, n, w, s = pooled.x, pooled.n, pooled.w, pooled.s
    out = pd.DataFrame({"x": x, "cep": fit, "n": n, "weight": w, "events": s})
    rng = random_generator(random_state)
    q = (alpha / 2, 1 - alpha / 2)
    k = x.shape[0]
    if n_boot > 0 and "consistency" in bands:
        fits = np.empty((n_boot, k))
        if weights is None:
            for b in range(n_boot):
                sb = rng.binomial(n, x).astype(np.float64)
                fits[b] = _pav(sb / n, w)
        else:
            idx = np.searchsorted(x, p)
            for b in range(n_boot):
                yb = (rng.random(p.shape[0]) < p).astype(np.float64)
                sb = np.bincount(idx, weights=weights * yb, minlength=k)
                fits[b] = _pav(sb / w, w)
        lo, hi = np.quantile(fits, q, axis=0)
        out["consistency_lower"], out["consistency_upper"] = lo, hi
    if n_boot > 0 and "confidence" in bands:
        fits = np.empty((n_boot, k))
        total = int(n.sum())
        if weights is None:
            cells = np.concatenate([s, n - s]) / total
            cells = cells / cells.sum()
            for b in range(n_boot):
                draw = rng.multinomial(total, cells)
                sb, fb = draw[:k].astype(np.float64), draw[k:].astype(np.float64)
                nb = sb + fb
                present = nb > 0
                fb_fit = _pav(sb[present] / nb[present], nb[present])
                fits[b] = _interp_fit(x, x[present], fb_fit)
        else:
            idx = np.searchsorted(x, p)
            for b in range(n_boot):
                pick = rng.integers(0, p.shape[0], p.shape[0])
                wb = np.bincount(idx[pick], weights=weights[pick], minlength=k)
                sb = np.bincount(idx[pick], weights=weights[pick] * y[pick], minlength=k)
                present = wb > 0
                fb_fit = _pav(sb[present] / wb[present], wb[present])
                fits[b] = _interp_fit(x, x[present], fb_fit)
        lo, hi = np.quantile(fits, q, axis=0)
        out["confidence_lower"], out["confidence_upper"] = lo, hi
    out.attrs = {"alpha": alpha, "n_boot": n_boot, "pooling": pooled.method,
                 "decomposition": dec}
    return out


# ----------------------------------------------------------------- binned view
def _bin_edges(bins: int | ArrayLike) -> np.ndarray:
    if isinstance(bins, bool):
        raise InvalidInput("bins must be a positive integer or a list of edges")
    if isinstance(bins, int | np.integer):
        if bins < 1:
            raise InvalidInput("bins must be a positive integer or a list of edges")
        # rounded so that edges are the decimal values people expect (0.3, not
        # 0.30000000000000004), so a forecast of 0.3 falls in [0.3, 0.4)
        return np.round(np.linspace(0.0, 1.0, int(bins) + 1), 12)
    edges = as_floats(bins, "bin edges")
    if edges.ndim != 1 or edges.shape[0] < 2:
        raise InvalidInput("bin edges must be a 1-d list of at least two values")
    if np.any(np.diff(edges) <= 0):
        raise InvalidInput("bin edges must be strictly increasing")
    if edges[0] > 0 or edges[-1] < 1:
        raise InvalidInput("bin edges must cover [0, 1]")
    return edges


def _bin_index(p: np.ndarray, edges: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(edges, p, side="right") - 1
    return np.clip(idx, 0, edges.shape[0] - 2)


def _binning_text(edges: np.ndarray) -> str:
    k = edges.shape[0] - 1
    return (f"{k} bins with edges {np.round(edges, 6).tolist()}; each bin is "
            "left-closed [a, b) except the last, which is closed [a, b]")


def murphy(p: ArrayLike, y: ArrayLike, bins: int | ArrayLike = 10,
           weights: ArrayLike | None = None) -> dict:
    r"""Binned Brier decomposition that adds up exactly (Murphy + two within-bin terms).

    With bins k holding weight :math:`W_k`, mean forecast :math:`\bar f_k` and
    event rate :math:`\bar o_k`, overall event rate :math:`\bar o` and total
    weight W,

    .. math::
        \mathrm{BS} = \mathrm{REL} - \mathrm{RES} + \mathrm{UNC}
        + \mathrm{WBV} - \mathrm{WBC},

    with :math:`\mathrm{REL} = \sum_k W_k(\bar f_k - \bar o_k)^2/W`,
    :math:`\mathrm{RES} = \sum_k W_k(\bar o_k - \bar o)^2/W`,
    :math:`\mathrm{UNC} = \bar o(1 - \bar o)`, the within-bin variance
    :math:`\mathrm{WBV} = \sum_k\sum_{i\in k} w_i(f_i - \bar f_k)^2/W` and the
    within-bin covariance
    :math:`\mathrm{WBC} = 2\sum_k\sum_{i\in k} w_i(o_i - \bar o_k)(f_i - \bar f_k)/W`.

    Parameters
    ----------
    p : array_like
        Forecast probabilities in [0, 1].
    y : array_like
        Outcomes in {0, 1}.
    bins : int or array_like
        Number of equal-width bins on [0, 1] (default 10) or the bin edges.
        Bins are left-closed ``[a, b)``, the last one closed ``[a, 1]``.
    weights : array_like, optional
        Non-negative case weights.

    Returns
    -------
    dict
        ``score``, ``rel``, ``res``, ``unc``, ``wbv``, ``wbc``, ``n``,
        ``binning`` (text) and ``table`` (a DataFrame with one row per
        non-empty bin: ``lower``, ``upper``, ``n``, ``weight``,
        ``mean_forecast``, ``observed_rate``).

    References
    ----------
    Murphy (1973), J. Appl. Meteor. 12, 595-600; Stephenson, Coelho and
    Jolliffe (2008), Weather and Forecasting 23, 752-757, eq. (9).

    Examples
    --------
    >>> m = murphy([0.1, 0.15, 0.9, 0.8], [0, 1, 1, 1], bins=2)
    >>> round(m["rel"] - m["res"] + m["unc"] + m["wbv"] - m["wbc"], 6) == round(m["score"], 6)
    True
    >>> m["table"][["lower", "upper", "n", "observed_rate"]]
       lower  upper  n  observed_rate
    0    0.0    0.5  2            0.5
    1    0.5    1.0  2            1.0
    """
    p, y, weights = _check_cases(p, y, weights)
    edges = _bin_edges(bins)
    w = np.ones_like(p) if weights is None else weights
    k = edges.shape[0] - 1
    idx = _bin_index(p, edges)
    nk = np.bincount(idx, minlength=k)
    wk = np.bincount(idx, weights=w, minlength=k)
    total = float(w.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        fk = np.bincount(idx, weights=w * p, minlength=k) / wk
        ok = np.bincount(idx, weights=w * y, minlength=k) / wk
    obar = float(np.sum(w * y)) / total
    nonempty = wk > 0
    fk0 = np.where(nonempty, fk, 0.0)
    ok0 = np.where(nonempty, ok, 0.0)
    rel = float(np.sum(wk * (fk0 - ok0) ** 2)) / total
    res = float(np.sum(wk * (ok0 - obar) ** 2)) / total
    unc = obar * (1.0 - obar)
    df = p - fk0[idx]
    wbv = float(np.sum(w * df**2)) / total
    wbc = 2.0 * float(np.sum(w * (y - ok0[idx]) * df)) / total
    score = float(np.sum(w * (p - y) ** 2)) / total
    table = pd.DataFrame({
        "lower": edges[:-1], "upper": edges[1:], "n": nk, "weight": wk,
        "mean_forecast": fk, "observed_rate": ok,
    })[nonempty].reset_index(drop=True)
    return {"score": score, "rel": rel, "res": res, "unc": unc, "wbv": wbv,
            "wbc": wbc, "n": int(p.shape[0]), "binning": _binning_text(edges),
            "table": table}


def ece(p: ArrayLike, y: ArrayLike, bins: int | ArrayLike = 10,
        weights: ArrayLike | None = None) -> dict:
    r"""Expected calibration error over fixed bins, with the binning stated.

    .. math:: \mathrm{ECE} = \sum_k \frac{W_k}{W}\,\lvert \bar o_k - \bar f_k \rvert

    Parameters
    ----------
    p : array_like
        Forecast probabilities in [0, 1].
    y : array_like
        Outcomes in {0, 1}.
    bins : int or array_like
        Number of equal-width bins (default 10) or edges covering [0, 1]; bins
        are ``[a, b)`` except the last, ``[a, 1]``.
    weights : array_like, optional
        Non-negative case weights.

    Returns
    -------
    dict
        ``ece``, ``n``, ``binning`` (a sentence giving the edges and closure)
        and ``table`` (as in :func:`murphy`).

    Notes
    -----
    ECE depends on the binning (which is why CORP exists); always report it
    with its bins. Prefer ``decompose(...)["mcb"]`` for comparisons.

    Examples
    --------
    >>> r = ece([0.2, 0.2, 0.8, 0.8], [0, 1, 1, 1], bins=5)
    >>> round(r["ece"], 10)
    0.25
    >>> r["binning"]
    '5 bins with edges [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]; each bin is left-closed [a, b) except the last, which is closed [a, b]'
    """
    m = murphy(p, y, bins=bins, weights=weights)
    t = m["table"]
    value = float(np.sum(t["weight"] * np.abs(t["observed_rate"] - t["mean_forecast"]))
                  / t["weight"].sum())
    return {"ece": value, "n": m["n"], "binning": m["binning"], "table": t}


# ---------------------------------------------------------------------- tests
def spiegelhalter(p: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None,
                  groups: ArrayLike | None = None) -> dict:
    r"""Spiegelhalter's Z test of calibration.

    .. math::
        Z = \frac{\sum_i w_i (y_i - p_i)(1 - 2p_i)}{\sqrt{V}}, \qquad
        V = \sum_i w_i^2 (1 - 2p_i)^2\, p_i (1 - p_i)

    Under the null hypothesis that the forecasts are calibrated and the cases
    independent, Z is approximately standard normal; the p-value is two-sided.
    Without weights, :math:`w_i = 1` (Spiegelhalter 1986).

    Successive forecasts of one forecaster on one question share one outcome,
    so they are not independent. Pass ``groups`` (e.g. a question-forecaster
    label per case) and the variance becomes the bound that holds whatever
    the dependence within a group,
    :math:`V = \sum_g \bigl(\sum_{i \in g} w_i |1 - 2p_i| \sqrt{p_i(1 - p_i)}\bigr)^2`,
    which makes the test conservative rather than overconfident.

    Parameters
    ----------
    p : array_like
        Forecast probabilities in [0, 1].
    y : array_like
        Outcomes in {0, 1}.
    weights : array_like, optional
        Non-negative case weights (cases of weight 0 are left out).
    groups : array_like, optional
        A cluster label per case.

    Returns
    -------
    dict
        ``z``, ``p_value`` and ``n``. Both are NaN if the variance is 0
        (every forecast is 0, 0.5 or 1).

    References
    ----------
    Spiegelhalter (1986), Statistics in Medicine 5, 421-433.

    Examples
    --------
    >>> r = spiegelhalter([0.1, 0.3, 0.7, 0.9], [0, 0, 1, 1])
    >>> round(r["z"], 4), round(r["p_value"], 4)
    (-0.9366, 0.349)
    >>> r = spiegelhalter([0.1, 0.3, 0.7, 0.9], [0, 0, 1, 1], groups=["a", "a", "b", "b"])
    >>> round(r["z"], 4)
    -0.6682
    """
    if groups is not None:
        groups = np.asarray(groups).ravel()
        if groups.shape != np.shape(np.ravel(p)):
            raise InvalidInput(f"{np.size(p)} forecasts but {groups.shape[0]} group labels")
        if weights is not None:  # _check_cases drops cases of weight 0: keep the labels aligned
            groups = groups[as_floats(weights, "weights").ravel() != 0]
    p, y, w = _check_cases(p, y, weights)
    if w is None:
        w = np.ones_like(p)
    num = float(np.sum(w * (y - p) * (1.0 - 2.0 * p)))
    if groups is None:
        den = float(np.sum(w**2 * (1.0 - 2.0 * p) ** 2 * p * (1.0 - p)))
    else:
        import pandas as pd

        sd = w * np.abs(1.0 - 2.0 * p) * np.sqrt(p * (1.0 - p))
        codes = pd.factorize(groups)[0]
        den = float(np.sum(np.bincount(codes, weights=sd) ** 2))
    if den <= 0:
        return {"z": math.nan, "p_value": math.nan, "n": int(p.shape[0])}
    z = num / math.sqrt(den)
    return {"z": z, "p_value": math.erfc(abs(z) / math.sqrt(2.0)), "n": int(p.shape[0])}


def calibration_in_the_large(p: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None) -> dict:
    r"""Calibration-in-the-large: observed event rate minus mean forecast.

    .. math::
        d = \bar y - \bar p, \qquad
        z = \frac{\sum_i (y_i - p_i)}{\sqrt{\sum_i p_i(1 - p_i)}}

    Parameters
    ----------
    p : array_like
        Forecast probabilities in [0, 1].
    y : array_like
        Outcomes in {0, 1}.
    weights : array_like, optional
        Case weights for the means (the z test uses unweighted cases).

    Returns
    -------
    dict
        ``mean_forecast``, ``observed_rate``, ``difference`` (positive: more
        yes outcomes than forecast, i.e. under-forecasting), ``z``,
        ``p_value`` (two-sided normal) and ``n``.

    Examples
    --------
    >>> r = calibration_in_the_large([0.5, 0.5, 0.5, 0.5], [1, 1, 1, 0])
    >>> r["difference"], r["z"]
    (0.25, 1.0)
    """
    p, y, weights = _check_cases(p, y, weights)
    w = np.ones_like(p) if weights is None else weights
    mp = float(np.sum(w * p) / w.sum())
    my = float(np.sum(w * y) / w.sum())
    den = float(np.sum(p * (1.0 - p)))
    z = float(np.sum(y - p)) / math.sqrt(den) if den > 0 else math.nan
    pv = math.erfc(abs(z) / math.sqrt(2.0)) if den > 0 else math.nan
    return {"mean_forecast": mp, "observed_rate": my, "difference": my - mp,
            "z": z, "p_value": pv, "n": int(p.shape[0])}


def cox(p: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None, *, max_iter: int = 100,
        tol: float = 1e-12) -> dict:
    r"""Cox calibration intercept and slope (logistic recalibration).

    Fits :math:`\operatorname{logit} P(Y = 1) = a + b \operatorname{logit}(p)`
    by maximum likelihood (Newton-Raphson / IRLS). A calibrated forecaster has
    a = 0 and b = 1; b < 1 means over-confident (too extreme), b > 1
    under-confident.

    Parameters
    ----------
    p : array_like
        Forecast probabilities, strictly inside (0, 1).
    y : array_like
        Outcomes in {0, 1}.
    weights : array_like, optional
        Non-negative case (frequency) weights.
    max_iter, tol : int, float
        Newton iterations and convergence tolerance on the coefficients.

    Returns
    -------
    dict
        ``intercept``, ``slope``, their standard errors ``se_intercept`` and
        ``se_slope`` (from the observed information), ``converged`` and ``n``.
        If the fit does not converge (e.g. perfect separation) the estimates
        are NaN and ``converged`` is False.

    Raises
    ------
    ValueError
        If a forecast is exactly 0 or 1 (logit undefined). They are not
        clipped: drop them and report how many you dropped.

    Notes
    -----
    Agrees with a statsmodels binomial GLM on ``[1, logit(p)]`` with
    ``freq_weights``.

    References
    ----------
    Cox (1958), Biometrika 45, 562-565.

    Examples
    --------
    >>> r = cox([0.2, 0.4, 0.6, 0.8, 0.3, 0.7], [0, 1, 0, 1, 0, 1])
    >>> round(r["slope"], 4), abs(r["intercept"]) < 1e-9, r["converged"]
    (1.7415, True, True)
    """
    p, y, weights = _check_cases(p, y, weights)
    if ((p <= 0) | (p >= 1)).any():
        raise InvalidProbability("Cox calibration needs forecasts strictly between 0 and 1 "
                                 "(logit of 0 or 1 is infinite); drop those and say how many")
    w = np.ones_like(p) if weights is None else weights
    xlogit = np.log(p) - np.log1p(-p)
    X = np.column_stack([np.ones_like(p), xlogit])
    beta = np.zeros(2)
    converged = False
    info = None
    for _ in range(max_iter):
        eta = X @ beta
        mu = 1.0 / (1.0 + np.exp(-eta))
        info = (X * (w * mu * (1.0 - mu))[:, None]).T @ X
        grad = X.T @ (w * (y - mu))
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            break
        beta = beta + step
        if not np.all(np.isfinite(beta)) or np.max(np.abs(beta)) > 1e8:
            break
        if np.max(np.abs(step)) < tol * (1.0 + np.max(np.abs(beta))):
            converged = True
            break
    n = int(p.shape[0])
    if not converged:
        nan = math.nan
        return {"intercept": nan, "slope": nan, "se_intercept": nan, "se_slope": nan,
                "converged": False, "n": n}
    eta = X @ beta
    mu = 1.0 / (1.0 + np.exp(-eta))
    info = (X * (w * mu * (1.0 - mu))[:, None]).T @ X
    cov = np.linalg.inv(info)
    return {"intercept": float(beta[0]), "slope": float(beta[1]),
            "se_intercept": float(math.sqrt(cov[0, 0])),
            "se_slope": float(math.sqrt(cov[1, 1])), "converged": True, "n": n}


# ------------------------------------------------------------------ text chart
def text_reliability_chart(curve: pd.DataFrame, bins: int = 10, width: int = 20) -> str:
    """A compact plain-text reliability chart of a :func:`reliability` curve.

    One line per forecast bin: the bin, the number of cases, the mean forecast,
    the (case-weighted) mean CEP, and a bar where ``|`` marks the mean forecast
    (where a calibrated forecaster would be) and ``#`` fills up to the CEP.

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`reliability` (columns ``x``, ``cep``, ``n``, ``weight``).
    bins : int
        Number of equal-width forecast bins, 2 to 100 (default 10).
    width : int
        Bar width in characters.

    Returns
    -------
    str
        The chart; empty bins are left out. Nothing is printed.

    Examples
    --------
    >>> curve = reliability([0.1, 0.1, 0.5, 0.8, 0.8], [0, 0, 1, 1, 0], n_boot=0)
    >>> print(text_reliability_chart(curve, bins=2, width=10))
    forecast     n  mean   cep  0 .. 1
    0.0-0.5     2  0.10  0.00  [ |        ]
    0.5-1.0     3  0.70  0.67  [#######|  ]
    """
    if not isinstance(curve, pd.DataFrame):
        raise InvalidInput("the curve must be the DataFrame that reliability() returns")
    check_bins(bins)
    if isinstance(width, bool) or not hasattr(width, "__index__") or width < 1:
        raise InvalidInput(f"the chart width must be a whole number >= 1; got {width!r}")
    for col in ("x", "cep", "n", "weight"):
        if col not in curve.columns:
            raise InvalidInput(f"curve lacks column {col!r}; pass the output of reliability()")
    edges = _bin_edges(bins)
    idx = _bin_index(curve["x"].to_numpy(dtype=np.float64), edges)
    lines = [f"{'forecast':<9} {'n':>4}  mean   cep  0 .. 1"]
    wt = curve["weight"].to_numpy(dtype=np.float64)
    for k in range(edges.shape[0] - 1):
        m = idx == k
        if not m.any():
            continue
        n = int(curve["n"].to_numpy()[m].sum())
        mean_x = float(np.sum(wt[m] * curve["x"].to_numpy()[m]) / wt[m].sum())
        cep = float(np.sum(wt[m] * curve["cep"].to_numpy()[m]) / wt[m].sum())
        fill = int(round(cep * width))
        mark = min(int(round(mean_x * width)), width - 1)
        bar = ["#" if i < fill else " " for i in range(width)]
        bar[mark] = "|"
        lines.append(f"{edges[k]:.1f}-{edges[k + 1]:.1f}  {n:>4}  {mean_x:.2f}  "
                     f"{cep:.2f}  [{''.join(bar)}]")
    return "\n".join(lines)


# -------------------------------------------------------- over ledger frames
def calibration_cases(forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame,
                      forecaster: str | Sequence[str] | None = None, *, as_of: TimeLike = None,
                      weighting: Weighting = "time") -> pd.DataFrame:
    """Binary forecasts ready for calibration: one row per forecast with p, y, weight.

    Only questions that are binary, resolved yes/no and **past their scheduled
    close** (``closes_at <= as_of``; ``as_of`` defaults to now, UTC) count:
    a question resolved YES early is still open on its schedule, and counting
    it while its NO-twins are still open would fake a YES bias.

    Parameters
    ----------
    forecasts, questions, resolutions : pandas.DataFrame
        Ledger frames (see :mod:`forecasts.scoring.timeavg`).
    forecaster : str or list of str, optional
        Restrict to these forecasters; a name with no forecast in ``forecasts`` raises
        :class:`~forecasts.errors.UnknownForecaster`.
    as_of : datetime-like, optional
        Evaluate as of this time (filters forecasts and resolutions too).
    weighting : {"time", "forecast", "last"}
        ``"time"`` (default): each forecast is weighted by the share of the
        question's scoring period it held, normalised so each
        (question, forecaster) pair weighs 1 in total; so the weighted mean
        Brier equals the mean time-averaged Brier of the score table.
        ``"forecast"``: every forecast weighs 1. ``"last"``: only each
        forecaster's last forecast before the period end, weight 1.

    Returns
    -------
    pandas.DataFrame
        Columns ``question``, ``forecaster``, ``p``, ``y``, ``weight``,
        ``kind``, ``closes_at``. ``attrs["excluded"]`` counts the questions
        left out, by reason: ``ambiguous``, ``annulled``, ``unresolved``,
        ``before_scheduled_close``, ``not_binary``, ``unknown_question``;
        only questions with at least one forecast are counted.

    Examples
    --------
    >>> import pandas as pd
    >>> from forecasts.scoring.frames import example_frames
    >>> f, q, r = example_frames()
    >>> cases = calibration_cases(f, q, r, as_of="2024-12-31")
    >>> cases.attrs["excluded"]["before_scheduled_close"]
    0
    """
    from forecasts.scoring.timeavg import Holdings

    check_choice(weighting, ("time", "forecast", "last"), "weighting")
    check_columns(forecasts, ("seq", "question", "forecaster", "made_at"), "forecasts")
    check_forecasters(forecasts, forecaster)
    held = Holdings(forecasts, questions, resolutions, as_of, forecaster=forecaster)
    return held.calibration_cases(weighting=weighting)


SUMMARY_COLUMNS = ("n_questions", "n_forecasts", "brier", "mcb", "dsc", "unc", "log",
                   "log_mcb", "log_dsc", "log_unc", "spiegelhalter_z", "spiegelhalter_p",
                   "citl", "cox_n_excluded", "cox_intercept", "cox_slope", "ece")


def _summary_row(cases: pd.DataFrame, bins: int | ArrayLike) -> dict[str, float]:
    p = cases["p"].to_numpy()
    y = cases["y"].to_numpy()
    w = cases["weight"].to_numpy()
    row: dict[str, float] = {"n_questions": int(cases["question"].nunique()),
                             "n_forecasts": int(len(cases))}
    db = decompose(p, y, "brier", weights=w)
    dl = decompose(p, y, "log", weights=w)
    row.update({"brier": db["score"], "mcb": db["mcb"], "dsc": db["dsc"], "unc": db["unc"],
                "log": dl["score"], "log_mcb": dl["mcb"], "log_dsc": dl["dsc"],
                "log_unc": dl["unc"]})
    # one outcome per question: successive forecasts are clustered by (question, forecaster)
    pairs = cases["question"].astype(str) + "\x1f" + cases["forecaster"].astype(str)
    sp = spiegelhalter(p, y, weights=w, groups=pairs.to_numpy())
    row.update({"spiegelhalter_z": sp["z"], "spiegelhalter_p": sp["p_value"]})
    citl = calibration_in_the_large(p, y, weights=w)
    row["citl"] = citl["difference"]
    inside = (p > 0) & (p < 1)
    row["cox_n_excluded"] = int((~inside).sum())
    if inside.sum() >= 3:
        c = cox(p[inside], y[inside], weights=w[inside])
        row["cox_intercept"], row["cox_slope"] = c["intercept"], c["slope"]
    else:
        row["cox_intercept"] = row["cox_slope"] = math.nan
    row["ece"] = ece(p, y, bins=bins, weights=w)["ece"]
    return row


def calibration_groups(cases: pd.DataFrame, questions: pd.DataFrame,
                       by: CalibrationGrouping | None = None) -> list[tuple[str, pd.DataFrame]]:
    """Split :func:`calibration_cases` into ``(name, cases)`` groups, sorted by name.

    ``by``: None (one group ``all``), ``"forecaster"``, ``"kind"``, ``"period"`` (calendar
    quarter of the scheduled close) or ``"tag"`` (a question counts under each of its tags,
    ``(untagged)`` if none).

    >>> from forecasts.scoring.frames import example_frames
    >>> f, q, r = example_frames()
    >>> [name for name, _ in calibration_groups(calibration_cases(f, q, r, as_of="2024-12-31"), q, "forecaster")]
    ['alice', 'bob']
    """
    check_choice(by, CALIBRATION_GROUPINGS, "by", none=True)
    if cases.empty:
        return []
    if by is None:
        return [("all", cases)]
    if by in ("forecaster", "kind"):
        return [(str(k), g) for k, g in cases.groupby(by, sort=True)]
    if by == "period":
        per = pd.to_datetime(cases["closes_at"]).dt.to_period("Q").astype(str)
        return [(str(k), g) for k, g in cases.groupby(per, sort=True)]
    from forecasts.scoring.timeavg import tags_of

    exploded = cases.assign(tag=cases["question"].map(tags_of(questions))).explode("tag")
    return [(str(k), g) for k, g in exploded.groupby("tag", sort=True)]


def calibration_table(forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame,
                      forecaster: str | Sequence[str] | None = None,
                      by: CalibrationGrouping | None = None, *, as_of: TimeLike = None,
                      weighting: Weighting = "time", bins: int | ArrayLike = 10) -> pd.DataFrame:
    """Calibration summary per group, over questions past their scheduled close.

    Parameters
    ----------
    forecasts, questions, resolutions : pandas.DataFrame
        Ledger frames.
    forecaster : str or list of str, optional
        Restrict to these forecasters.
    by : {None, "forecaster", "tag", "kind", "period"}
        Grouping; None gives one row ``all``. ``"period"`` groups by the
        calendar quarter of the scheduled close; ``"tag"`` counts a question
        under each of its tags (``(untagged)`` if none).
    as_of : datetime-like, optional
        Evaluate as of this time (default now, UTC).
    weighting : {"time", "forecast", "last"}
        Case weights, see :func:`calibration_cases`.
    bins : int or array_like
        Binning of the ECE (stated in ``attrs["ece_binning"]``): 2 to 100 equal-width
        bins, or the bin edges.

    Returns
    -------
    pandas.DataFrame
        Index: the group. Columns ``n_questions``, ``n_forecasts``, ``brier``,
        ``mcb``, ``dsc``, ``unc`` (CORP, Brier), ``log``, ``log_mcb``,
        ``log_dsc``, ``log_unc`` (CORP, log score in nats),
        ``spiegelhalter_z``, ``spiegelhalter_p``, ``citl`` (observed rate minus
        mean forecast), ``cox_intercept``, ``cox_slope``, ``cox_n_excluded``
        (forecasts of exactly 0 or 1, left out of the Cox fit only), ``ece``.
        ``attrs["excluded"]`` counts left-out questions by reason (see
        :func:`calibration_cases`), ``attrs["ece_binning"]`` states the bins,
        ``attrs["weighting"]`` the case weights.

    Examples
    --------
    >>> from forecasts.scoring.frames import example_frames
    >>> f, q, r = example_frames()
    >>> t = calibration_table(f, q, r, by="forecaster", as_of="2024-12-31")
    >>> t[["n_questions", "n_forecasts"]]  # doctest: +NORMALIZE_WHITESPACE
                n_questions  n_forecasts
    forecaster
    alice                 3            4
    bob                   3            3
    """
    check_choice(by, CALIBRATION_GROUPINGS, "by", none=True)
    if isinstance(bins, str) or not hasattr(bins, "__len__"):  # a number of bins, not edges
        check_bins(bins)
    edges = _bin_edges(bins)
    cases = calibration_cases(forecasts, questions, resolutions, forecaster,
                              as_of=as_of, weighting=weighting)
    excluded = cases.attrs["excluded"]
    groups = calibration_groups(cases, questions, by)
    rows = [(name, _summary_row(g, bins)) for name, g in groups]
    index_name = by or "group"
    out = pd.DataFrame([r for _, r in rows], index=pd.Index([n for n, _ in rows], name=index_name),
                       columns=list(SUMMARY_COLUMNS))
    out.attrs["excluded"] = excluded
    out.attrs["ece_binning"] = _binning_text(edges)
    out.attrs["weighting"] = weighting
    return out
