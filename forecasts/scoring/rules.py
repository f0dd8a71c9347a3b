"""Proper scoring rules for probability forecasts, one score per forecast.

Every rule here is *negatively oriented* (a loss: lower is better, 0 is a perfect
forecast), vectorised over numpy arrays, and pure: no state, no printing.

Conventions shared by all rules
-------------------------------
* Binary forecasts are ``p = P(yes)`` in [0, 1] and outcomes ``y`` in {0, 1}
  (``True``/``False`` accepted).
* Categorical forecasts are arrays of shape ``(n, K)`` whose rows sum to 1, and
  outcomes are option indices ``0..K-1`` (shape ``(n,)``).
* A probability of exactly 0 on the outcome that happened is a legitimate
  forecast with an infinite log score: :func:`log_score` returns ``inf`` there.
  Nothing is clipped (scikit-learn's ``log_loss`` clips at machine epsilon;
  we do not, so a certain-and-wrong forecast is visible). Use
  :func:`count_infinite` to report how many such forecasts a set holds.
* Invalid inputs (probabilities outside [0, 1] or NaN, outcomes other than
  0/1, mismatched shapes) raise :class:`~forecasts.errors.InvalidInput` (probabilities:
  :class:`~forecasts.errors.InvalidProbability`) with a message saying which.

References
----------
Brier, G. W. (1950). Verification of forecasts expressed in terms of
probability. Monthly Weather Review 78(1), 1-3.
Epstein, E. S. (1969). A scoring system for probability forecasts of ranked
categories. Journal of Applied Meteorology 8, 985-987.
Good, I. J. (1952). Rational decisions. JRSS B 14(1), 107-114.
Gneiting, T. and Raftery, A. E. (2007). Strictly proper scoring rules,
prediction, and estimation. JASA 102(477), 359-378.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from forecasts.errors import InvalidInput, InvalidProbability
from forecasts.scoring.options import LogBase

__all__ = [
    "brier",
    "brier_two_category",
    "count_infinite",
    "log_score",
    "multi_brier",
    "multi_log_score",
    "multi_spherical",
    "rps",
    "spherical",
]


# --------------------------------------------------------------------- checks
def as_floats(values: ArrayLike, what: str) -> np.ndarray:
    """``values`` as a float64 array, or :class:`InvalidInput` naming ``what``."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be numbers") from None


def _check_binary(p: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p = as_floats(p, "forecast probabilities")
    y_arr = as_floats(y, "binary outcomes")
    try:
        p, y_arr = np.broadcast_arrays(p, y_arr)
    except ValueError:
        raise InvalidInput(
            f"forecasts of shape {np.shape(p)} and outcomes of shape "
            f"{np.shape(y)} cannot be broadcast together"
        ) from None
    if np.isnan(p).any():
        raise InvalidProbability("forecast probabilities contain NaN")
    if ((p < 0) | (p > 1)).any():
        raise InvalidProbability("forecast probabilities must lie in [0, 1]")
    if not np.isin(y_arr, (0.0, 1.0)).all():
        raise InvalidInput("binary outcomes must be 0 or 1 (or False/True)")
    return p, y_arr


def _check_categorical(probs: ArrayLike, outcome: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    probs = as_floats(probs, "categorical forecasts")
    if probs.ndim == 1:
        probs = probs[np.newaxis, :]
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise InvalidInput("categorical forecasts must have shape (n, K) with K >= 2")
    outcome = np.atleast_1d(np.asarray(outcome))
    if outcome.ndim != 1:
        raise InvalidInput("categorical outcomes must be option indices of shape (n,)")
    if outcome.shape[0] == 1 and probs.shape[0] > 1:
        outcome = np.repeat(outcome, probs.shape[0])
    if probs.shape[0] == 1 and outcome.shape[0] > 1:
        probs = np.repeat(probs, outcome.shape[0], axis=0)
    if probs.shape[0] != outcome.shape[0]:
        raise InvalidInput(
            f"{probs.shape[0]} forecasts but {outcome.shape[0]} outcomes"
        )
    if np.isnan(probs).any():
        raise InvalidProbability("forecast probabilities contain NaN")
    if ((probs < 0) | (probs > 1)).any():
        raise InvalidProbability("forecast probabilities must lie in [0, 1]")
    if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-6):
        raise InvalidProbability("each categorical forecast must sum to 1 (tolerance 1e-6)")
    if not np.issubdtype(outcome.dtype, np.integer):
        if np.issubdtype(outcome.dtype, np.floating) and np.all(outcome == np.round(outcome)):
            outcome = outcome.astype(np.int64)
        else:
            raise InvalidInput("categorical outcomes must be integer option indices")
    if ((outcome < 0) | (outcome >= probs.shape[1])).any():
        raise InvalidInput(f"outcome indices must lie in 0..{probs.shape[1] - 1}")
    return probs, outcome.astype(np.int64)


def _log_factor(base: object) -> float:
    if base == "e" or base == np.e:
        return 1.0
    if base == 2 or base == "2" or base == "bits":
        return 1.0 / np.log(2.0)
    raise InvalidInput(f'log base must be "e" (nats) or 2 (bits), got {base!r}')


# ---------------------------------------------------------------- binary rules
def brier(p: ArrayLike, y: ArrayLike) -> np.ndarray:
    r"""Brier score of binary probability forecasts (range 0-1, lower is better).

    .. math:: \mathrm{BS}(p, y) = (p - y)^2

    Parameters
    ----------
    p : array_like
        Forecast probabilities of "yes", in [0, 1].
    y : array_like
        Outcomes, 1 for yes and 0 for no; broadcast against ``p``.

    Returns
    -------
    numpy.ndarray
        One score per forecast (average them yourself: ``brier(p, y).mean()``).

    Notes
    -----
    This is the one-category form used in meteorology and by scikit-learn's
    ``brier_score_loss``. Good Judgment Open and Fatebook show the original
    two-category form, which is exactly twice this: see
    :func:`brier_two_category`.

    References
    ----------
    Brier, G. W. (1950). Monthly Weather Review 78(1), 1-3.

    Examples
    --------
    >>> brier([0.9, 0.2, 0.5], [1, 1, 0])
    array([0.01, 0.64, 0.25])
    """
    p, y = _check_binary(p, y)
    return (p - y) ** 2


def brier_two_category(p: ArrayLike, y: ArrayLike) -> np.ndarray:
    r"""Original two-category Brier score (range 0-2), as Good Judgment Open shows it.

    .. math:: \mathrm{BS}_2(p, y) = (p - y)^2 + ((1 - p) - (1 - y))^2 = 2 (p - y)^2

    Parameters
    ----------
    p : array_like
        Forecast probabilities of "yes", in [0, 1].
    y : array_like
        Outcomes in {0, 1}.

    Returns
    -------
    numpy.ndarray
        One score per forecast; 0 is perfect, 0.5 is the 50% forecast, 2 is
        certain and wrong.

    Examples
    --------
    >>> brier_two_category([0.9, 0.5, 0.0], [1, 0, 1])
    array([0.02, 0.5 , 2.  ])
    """
    return 2.0 * brier(p, y)


def log_score(p: ArrayLike, y: ArrayLike, base: LogBase = "e") -> np.ndarray:
    r"""Logarithmic (ignorance) score of binary forecasts, lower is better.

    .. math:: \mathrm{LS}(p, y) = -\log_b\big(y\,p + (1 - y)(1 - p)\big)

    Parameters
    ----------
    p : array_like
        Forecast probabilities of "yes", in [0, 1].
    y : array_like
        Outcomes in {0, 1}.
    base : {"e", 2}
        ``"e"`` for nats (default), ``2`` for bits (the "ignorance" score).

    Returns
    -------
    numpy.ndarray
        One score per forecast; ``inf`` where the forecast put probability 0
        on what happened (p = 0 and y = 1, or p = 1 and y = 0).

    Notes
    -----
    No clipping: scikit-learn's ``log_loss`` replaces 0 and 1 by machine
    epsilon and so reports about 36.04 nats for a certain-and-wrong forecast;
    here it is ``inf``. Count such forecasts with :func:`count_infinite`.

    References
    ----------
    Good, I. J. (1952). Rational decisions. JRSS B 14(1), 107-114.

    Examples
    --------
    >>> log_score([0.5, 0.9, 0.0], [1, 0, 1])
    array([0.69314718, 2.30258509,        inf])
    >>> log_score([0.5], [1], base=2)
    array([1.])
    """
    factor = _log_factor(base)
    p, y = _check_binary(p, y)
    q = np.where(y == 1.0, p, 1.0 - p)
    with np.errstate(divide="ignore"):
        return -np.log(q) * factor


def spherical(p: ArrayLike, y: ArrayLike) -> np.ndarray:
    r"""Spherical score of binary forecasts, as a loss (lower is better).

    .. math::
        \mathrm{SphS}(p, y) = 1 - \frac{y\,p + (1 - y)(1 - p)}{\sqrt{p^2 + (1 - p)^2}}

    Parameters
    ----------
    p : array_like
        Forecast probabilities of "yes", in [0, 1].
    y : array_like
        Outcomes in {0, 1}.

    Returns
    -------
    numpy.ndarray
        One score per forecast, in [0, 1]; 0 is perfect.

    Notes
    -----
    The spherical score is usually written positively oriented,
    :math:`p_y / \lVert p \rVert_2` (higher is better). We report
    one minus it, so that all scores in this package are losses; the ranking of
    forecasters is unchanged and the rule stays strictly proper.

    References
    ----------
    Gneiting, T. and Raftery, A. E. (2007). JASA 102(477), 359-378, section 3.

    Examples
    --------
    >>> spherical([0.5, 1.0, 0.0], [1, 1, 1])
    array([0.29289322, 0.        , 1.        ])
    """
    p, y = _check_binary(p, y)
    q = np.where(y == 1.0, p, 1.0 - p)
    return 1.0 - q / np.sqrt(p * p + (1.0 - p) ** 2)


# ----------------------------------------------------------- categorical rules
def multi_brier(probs: ArrayLike, outcome: ArrayLike) -> np.ndarray:
    r"""Multi-category Brier score (range 0-2, lower is better).

    .. math:: \mathrm{BS}(\mathbf p, j) = \sum_{k=1}^{K} (p_k - \mathbb 1\{k = j\})^2

    Parameters
    ----------
    probs : array_like, shape (n, K)
        Forecast probabilities of the K options; each row sums to 1.
    outcome : array_like of int, shape (n,)
        Index of the option that happened.

    Returns
    -------
    numpy.ndarray
        One score per forecast. For K = 2 this equals
        :func:`brier_two_category`, i.e. twice :func:`brier`.

    Examples
    --------
    >>> multi_brier([[0.2, 0.3, 0.5]], [2])
    array([0.38])
    """
    probs, outcome = _check_categorical(probs, outcome)
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(outcome)), outcome] = 1.0
    return ((probs - onehot) ** 2).sum(axis=1)


def rps(probs: ArrayLike, outcome: ArrayLike, normalize: bool = False) -> np.ndarray:
    r"""Ranked probability score for ordered options (lower is better).

    .. math::
        \mathrm{RPS}(\mathbf p, j) = \sum_{k=1}^{K-1}
        \Big(\sum_{i \le k} p_i - \mathbb 1\{j \le k\}\Big)^2

    Parameters
    ----------
    probs : array_like, shape (n, K)
        Forecast probabilities of the K options in their natural order.
    outcome : array_like of int, shape (n,)
        Index of the option that happened.
    normalize : bool
        If True, divide by K - 1 so that the score lies in [0, 1] (Epstein's
        normalisation). Default False, the unnormalised sum used by
        scoringrules' ``rps_score``.

    Returns
    -------
    numpy.ndarray
        One score per forecast. For K = 2 it equals :func:`brier`.

    References
    ----------
    Epstein, E. S. (1969). Journal of Applied Meteorology 8, 985-987.

    Examples
    --------
    >>> rps([[0.1, 0.2, 0.3, 0.4]], [2])
    array([0.26])
    >>> rps([[0.1, 0.2, 0.3, 0.4]], [2], normalize=True)
    array([0.08666667])
    """
    probs, outcome = _check_categorical(probs, outcome)
    k = probs.shape[1]
    cdf = np.cumsum(probs, axis=1)[:, :-1]
    obs = (outcome[:, None] <= np.arange(k - 1)[None, :]).astype(np.float64)
    out = ((cdf - obs) ** 2).sum(axis=1)
    return out / (k - 1) if normalize else out


def multi_log_score(probs: ArrayLike, outcome: ArrayLike, base: LogBase = "e") -> np.ndarray:
    r"""Log score of categorical forecasts: :math:`-\log_b p_j` for outcome j.

    Parameters
    ----------
    probs : array_like, shape (n, K)
        Forecast probabilities; rows sum to 1.
    outcome : array_like of int, shape (n,)
        Index of the option that happened.
    base : {"e", 2}
        Nats (default) or bits.

    Returns
    -------
    numpy.ndarray
        One score per forecast; ``inf`` where the outcome got probability 0.

    Examples
    --------
    >>> multi_log_score([[0.25, 0.25, 0.5]], [2], base=2)
    array([1.])
    """
    factor = _log_factor(base)
    probs, outcome = _check_categorical(probs, outcome)
    with np.errstate(divide="ignore"):
        return -np.log(probs[np.arange(len(outcome)), outcome]) * factor


def multi_spherical(probs: ArrayLike, outcome: ArrayLike) -> np.ndarray:
    r"""Spherical score of categorical forecasts, as a loss: :math:`1 - p_j / \lVert\mathbf p\rVert_2`.

    Parameters
    ----------
    probs : array_like, shape (n, K)
        Forecast probabilities; rows sum to 1.
    outcome : array_like of int, shape (n,)
        Index of the option that happened.

    Returns
    -------
    numpy.ndarray
        One score per forecast, in [0, 1].

    Examples
    --------
    >>> multi_spherical([[0.5, 0.5, 0.0]], [0])
    array([0.29289322])
    """
    probs, outcome = _check_categorical(probs, outcome)
    norm = np.sqrt((probs**2).sum(axis=1))
    return 1.0 - probs[np.arange(len(outcome)), outcome] / norm


def count_infinite(scores: ArrayLike) -> int:
    """Number of infinite scores (certain-and-wrong forecasts under the log score).

    Parameters
    ----------
    scores : array_like
        Scores from any rule in this module.

    Returns
    -------
    int

    Examples
    --------
    >>> count_infinite(log_score([0.0, 1.0, 0.3], [1, 0, 1]))
    2
    """
    return int(np.isinf(np.asarray(scores, dtype=np.float64)).sum())
