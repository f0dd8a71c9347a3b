"""Compiled kernels for large forecast frames (imported only for big inputs).

Finding, for every forecast, the same forecaster's next forecast on the same
question is the one step of time-averaged scoring that looks like it needs a
sort of all forecasts by (question, forecaster, time). Sorting ten million rows
by three keys costs 10-16 s here (``np.lexsort``); a ledger read in recorded
order is already in time order, so instead:

1. a stable counting sort of the rows by question code (linear, one pass to
   count, one to place);
2. within each question, a walk in row order that remembers, in a scratch array
   indexed by forecaster code, the last row of each forecaster seen so far in
   this question: the previous row's "next" pointer is set to the current row.

Both passes are O(n) with no comparison sort. :func:`time_average` goes one
step further for time-averaged scores: it scatters the rows into question
order and accumulates the duration-weighted sums per (question, forecaster)
during the walk, so no per-forecast output arrays are written at all. The walk also checks that time
(and ``seq`` among equal times) never decreases within a (question,
forecaster) group; if it does (imported history out of order), the caller falls
back to the sorting path, which handles any order.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["group_next", "merge_pool", "time_average"]


@numba.njit(cache=True, nogil=True)
def _question_offsets(q, nq):  # pragma: no cover - compiled
    """Counting sort by question: ``offsets[j]:offsets[j + 1]`` are question j's slots."""
    offsets = np.zeros(nq + 1, np.int64)
    for i in range(q.shape[0]):
        offsets[q[i] + 1] += 1
    for j in range(nq):
        offsets[j + 1] += offsets[j]
    return offsets


@numba.njit(cache=True, nogil=True)
def _group_next(q, f, t, seq, nq, nf):  # pragma: no cover - compiled
    n = q.shape[0]
    counts = _question_offsets(q, nq)
    pos = counts[:-1].copy()
    perm = np.empty(n, np.int64)
    for i in range(n):
        perm[pos[q[i]]] = i
        pos[q[i]] += 1
    stamp = np.full(nf, -1, np.int64)
    last = np.empty(nf, np.int64)
    gid = np.empty(nf, np.int64)
    cnt = np.empty(nf, np.int64)
    group = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    nxt = np.full(n, -1, np.int64)
    ng = 0
    ok = True
    for j in range(nq):
        for k in range(counts[j], counts[j + 1]):
            i = perm[k]
            ff = f[i]
            if stamp[ff] != j:
                stamp[ff] = j
                gid[ff] = ng
                cnt[ff] = 0
                ng += 1
            else:
                prev = last[ff]
                if t[i] < t[prev] or (t[i] == t[prev] and seq[i] < seq[prev]):
                    ok = False
                nxt[prev] = i
            last[ff] = i
            group[i] = gid[ff]
            order[i] = cnt[ff]
            cnt[ff] += 1
    return group, order, nxt, ng, ok


def group_next(q: np.ndarray, f: np.ndarray, t: np.ndarray, seq: np.ndarray,
               nq: int, nf: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]:
    """Group ids, order within group and next-row pointer per row (-1 if last).

    Returns ``(group, order, nxt, n_groups, ok)``; ``ok`` is False when some
    group is not in (time, seq) order in the input, and the other outputs must
    then be discarded.
    """
    return _group_next(np.ascontiguousarray(q, dtype=np.int64),
                       np.ascontiguousarray(f, dtype=np.int64),
                       np.ascontiguousarray(t, dtype=np.int64),
                       np.ascontiguousarray(seq, dtype=np.int64), int(nq), int(nf))


@numba.njit(cache=True, nogil=True)
def _grow(a, cap):  # pragma: no cover - compiled
    out = np.empty(cap, a.dtype)
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True, nogil=True)
def _time_average(q, f, t, seq, val, ps, pe, nq, nf, stop):  # pragma: no cover - compiled
    # Rows are scattered into question order (sequential reads, scattered
    # writes), then each question is walked in time order; the per-group
    # accumulators grow on demand.
    n = q.shape[0]
    counts = _question_offsets(q, nq)
    pos = counts[:-1].copy()
    fs = np.empty(n, np.int64)
    ts = np.empty(n, np.int64)
    ss = np.empty(n, np.int64)
    vs = np.empty(n, np.float64)
    es = np.empty(n, np.int64)
    for i in range(n):
        k = pos[q[i]]
        fs[k] = f[i]
        ts[k] = t[i]
        ss[k] = seq[i]
        vs[k] = val[i]
        es[k] = stop[i]
        pos[q[i]] = k + 1
    stamp = np.full(nf, -1, np.int64)
    last = np.empty(nf, np.int64)
    gid = np.empty(nf, np.int64)
    members = np.empty(nf, np.int64)
    cap = n // 4 + 16
    g_q = np.empty(cap, np.int64)
    g_f = np.empty(cap, np.int64)
    num = np.empty(cap, np.float64)
    cov = np.empty(cap, np.float64)
    cnt = np.empty(cap, np.int64)
    ng = 0
    ok = True
    for j in range(nq):
        lo = ps[j]
        hi = pe[j]
        m = 0
        for k in range(counts[j], counts[j + 1]):
            ff = fs[k]
            ti = ts[k]
            if stamp[ff] != j:
                if ng == cap:
                    cap = 2 * cap
                    g_q = _grow(g_q, cap)
                    g_f = _grow(g_f, cap)
                    num = _grow(num, cap)
                    cov = _grow(cov, cap)
                    cnt = _grow(cnt, cap)
                stamp[ff] = j
                gid[ff] = ng
                g_q[ng] = j
                g_f[ng] = ff
                num[ng] = 0.0
                cov[ng] = 0.0
                cnt[ng] = 0
                ng += 1
                members[m] = ff
                m += 1
            else:
                prev = last[ff]
                tp = ts[prev]
                if ti < tp or (ti == tp and ss[k] < ss[prev]):
                    ok = False
                s = tp if tp > lo else lo
                e = ti if ti < hi else hi
                if es[prev] < e:
                    e = es[prev]
                if e > s:
                    d = float(e - s)
                    g = gid[ff]
                    num[g] += vs[prev] * d
                    cov[g] += d
            if ti < hi:
                cnt[gid[ff]] += 1
            last[ff] = k
        # the last forecast of each forecaster holds until the period end
        for r in range(m):
            ff = members[r]
            prev = last[ff]
            tp = ts[prev]
            s = tp if tp > lo else lo
            e = hi if hi < es[prev] else es[prev]
            if e > s:
                d = float(e - s)
                g = gid[ff]
                num[g] += vs[prev] * d
                cov[g] += d
    return (g_q[:ng].copy(), g_f[:ng].copy(), num[:ng].copy(), cov[:ng].copy(),
            cnt[:ng].copy(), ok)


def time_average(q: np.ndarray, f: np.ndarray, t: np.ndarray, seq: np.ndarray, val: np.ndarray,
                 ps: np.ndarray, pe: np.ndarray, nq: int, nf: int, stop: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Duration-weighted sums per (question, forecaster) in one linear pass.

    Returns ``(group_question, group_forecaster, weighted_sum, covered, n_counted,
    ok)``: for each group, the sum of value * held duration, the covered
    duration (microseconds) and the number of forecasts made before the period
    end; ``stop`` caps each row's holding (``ended_at`` in microseconds, int64 max for
    none); ``ok`` is False when some group is out of (time, seq) order in the
    input (then discard the rest and use the sorting path).
    """
    return _time_average(np.ascontiguousarray(q, dtype=np.int64),
                         np.ascontiguousarray(f, dtype=np.int64),
                         np.ascontiguousarray(t, dtype=np.int64),
                         np.ascontiguousarray(seq, dtype=np.int64),
                         np.ascontiguousarray(val, dtype=np.float64),
                         np.ascontiguousarray(ps, dtype=np.int64),
                         np.ascontiguousarray(pe, dtype=np.int64), int(nq), int(nf),
                         np.full(len(q), np.iinfo(np.int64).max, np.int64) if stop is None
                         else np.ascontiguousarray(stop, dtype=np.int64))


@numba.njit(cache=True, nogil=True)
def _merge_pool(x0, x1):  # pragma: no cover - compiled
    n0 = x0.shape[0]
    n1 = x1.shape[0]
    x = np.empty(n0 + n1, np.float64)
    n = np.zeros(n0 + n1, np.int64)
    s = np.zeros(n0 + n1, np.float64)
    i = 0
    j = 0
    k = -1
    while i < n0 or j < n1:
        if j >= n1 or (i < n0 and x0[i] <= x1[j]):
            v = x0[i]
            ev = 0.0
            i += 1
        else:
            v = x1[j]
            ev = 1.0
            j += 1
        if k < 0 or v != x[k]:
            k += 1
            x[k] = v
        n[k] += 1
        s[k] += ev
    return x[: k + 1], n[: k + 1], s[: k + 1]


def merge_pool(x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge sorted no-event and event forecasts into distinct values, counts, events."""
    return _merge_pool(np.ascontiguousarray(x0, dtype=np.float64),
                       np.ascontiguousarray(x1, dtype=np.float64))
