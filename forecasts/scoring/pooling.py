"""Pooling binary forecasts by distinct forecast value, the first step of CORP.

CORP (Dimitriadis, Gneiting and Jordan 2021) fits the isotonic regression of
outcomes on forecasts with *tied forecasts pooled*: all cases sharing a forecast
value become one point whose weight is their total weight and whose value is
their (weighted) event rate. Everything downstream (the PAV fit, the MCB/DSC/UNC
decomposition, the bands) needs only these pooled sums, so this module computes
them as fast as the data allow:

* ``grid``: forecasts that are all exactly ``k / G`` for G = 100 or 1000 (what
  people type: 1% or 0.1% steps) are counted with ``np.bincount`` on the integer
  codes, with no sorting at all.
* ``sort``: unweighted forecasts with arbitrary values are split by outcome and
  each half is sorted by value (``np.sort``, which is many times faster than the
  ``argsort`` permutation a general group-by needs); the two sorted runs are
  merged by value (a linear numba pass for large inputs, ``searchsorted``
  otherwise).
* ``argsort``: weighted forecasts with arbitrary values fall back to a stable
  argsort.

All three return the same sorted distinct values and sums (tested against each
other), so the method is an implementation detail.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from forecasts.errors import InvalidInput

__all__ = ["Pooled", "pool"]

GRIDS = (100, 1000)
MERGE_MIN_ROWS = 200_000  # above this, merge the two sorted halves with numba


class Pooled(NamedTuple):
    """Distinct forecast values with their pooled case counts and sums."""

    x: np.ndarray  # sorted distinct forecast values
    n: np.ndarray  # number of cases at each value (int64)
    w: np.ndarray  # total case weight at each value
    s: np.ndarray  # weighted number of events (sum of w * y) at each value
    method: str


def _grid_codes(p: np.ndarray) -> tuple[int, np.ndarray] | tuple[None, None]:
    head = p[:4096]
    for g in GRIDS:
        if not np.array_equal(np.rint(head * g) / g, head):  # cheap early rejection
            continue
        scaled = p * g
        codes = np.rint(scaled)
        # exact: every value must be the double nearest to code / g
        if np.array_equal(codes / g, p):
            return g, codes.astype(np.int64)
    return None, None


def _run_starts(sorted_x: np.ndarray) -> np.ndarray:
    flag = np.empty(sorted_x.shape[0], dtype=bool)
    if sorted_x.shape[0]:
        flag[0] = True
        np.not_equal(sorted_x[1:], sorted_x[:-1], out=flag[1:])
    return np.flatnonzero(flag)


def pool(p: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
         method: str = "auto") -> Pooled:
    """Pool cases by distinct forecast value (inputs assumed checked).

    Parameters
    ----------
    p : numpy.ndarray of float64
        Forecasts in [0, 1].
    y : numpy.ndarray of float64
        Outcomes in {0, 1}.
    weights : numpy.ndarray or None
        Non-negative case weights; None means all 1.
    method : {"auto", "grid", "sort", "argsort"}
        Force a method (for tests); "auto" picks the fastest that applies.

    Returns
    -------
    Pooled

    Examples
    --------
    >>> import numpy as np
    >>> r = pool(np.array([0.2, 0.7, 0.2]), np.array([1.0, 1.0, 0.0]))
    >>> r.x, r.n, r.s, r.method
    (array([0.2, 0.7]), array([2, 1]), array([1., 1.]), 'grid')
    """
    if method in ("auto", "grid"):
        g, codes = _grid_codes(p)
        if g is not None and codes is not None:
            n = np.bincount(codes, minlength=g + 1)
            if weights is None:
                s = np.bincount(codes, weights=y, minlength=g + 1)
                w = n.astype(np.float64)
            else:
                s = np.bincount(codes, weights=weights * y, minlength=g + 1)
                w = np.bincount(codes, weights=weights, minlength=g + 1)
            keep = np.flatnonzero(n)
            return Pooled(keep / g, n[keep], w[keep], s[keep], "grid")
        if method == "grid":
            raise InvalidInput("forecasts are not all on a 1% or 0.1% grid")
    if method in ("auto", "sort") and weights is None:
        ones = y == 1.0
        x1 = np.sort(p[ones])
        x0 = np.sort(p[~ones])
        if p.shape[0] >= MERGE_MIN_ROWS:
            from forecasts.scoring.fastpath import merge_pool

            x, n, s = merge_pool(x0, x1)
            return Pooled(x, n, n.astype(np.float64), s, "sort")
        st1 = _run_starts(x1)
        st0 = _run_starts(x0)
        u1, c1 = x1[st1], np.diff(np.append(st1, x1.shape[0]))
        u0, c0 = x0[st0], np.diff(np.append(st0, x0.shape[0]))
        merged = np.sort(np.concatenate([u0, u1]), kind="stable")
        x = merged[_run_starts(merged)]
        n = np.zeros(x.shape[0], dtype=np.int64)
        s = np.zeros(x.shape[0], dtype=np.float64)
        i1 = np.searchsorted(x, u1)
        i0 = np.searchsorted(x, u0)
        n[i1] += c1
        n[i0] += c0
        s[i1] += c1
        return Pooled(x, n, n.astype(np.float64), s, "sort")
    if method == "sort":
        raise InvalidInput('method="sort" needs unweighted cases')
    order = np.argsort(p, kind="stable")
    ps = p[order]
    starts = _run_starts(ps)
    x = ps[starts]
    n = np.diff(np.append(starts, ps.shape[0]))
    w_sorted = np.ones_like(ps) if weights is None else weights[order]
    w = np.add.reduceat(w_sorted, starts) if starts.size else np.zeros(0)
    s = np.add.reduceat(w_sorted * y[order], starts) if starts.size else np.zeros(0)
    return Pooled(x, n.astype(np.int64), w, s, "argsort")
