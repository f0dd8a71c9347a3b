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

__all__ = ["group_next", "merge_pool", "peer_rows", "relative_days", "time_average"]


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
def _by_question(q, nq):  # pragma: no cover - compiled
    """Rows in question order (stable) and each question's ``[offsets[j], offsets[j + 1])``."""
    offsets = _question_offsets(q, nq)
    pos = offsets[:-1].copy()
    rows = np.empty(q.shape[0], np.int64)
    for i in range(q.shape[0]):
        rows[pos[q[i]]] = i
        pos[q[i]] += 1
    return rows, offsets


@numba.njit(cache=True, nogil=True)
def _group_next(q, f, t, seq, nq, nf):  # pragma: no cover - compiled
    n = q.shape[0]
    perm, counts = _by_question(q, nq)
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


US_PER_DAY = 86_400_000_000


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _peer_rows(q, st, en, lp, zero, member, hz, ac, nq):  # pragma: no cover - compiled
    # timeavg.metaculus_peer for each question, operation for operation (sums in the same
    # order: numpy's add.at and cumsum are sequential), so the numbers are the same
    n = q.shape[0]
    rows, offsets = _by_question(q, nq)
    score = np.zeros(n)
    cov = np.zeros(n)
    for j in range(nq):
        lo = offsets[j]
        k = offsets[j + 1] - lo
        if k == 0:
            continue
        first = rows[lo]
        hzj = hz[first]
        acj = ac[first]
        stop = hzj if hzj < acj else acj  # min(actual close, horizon end)
        total = hzj - 0.0
        s = np.empty(k)
        e = np.empty(k)
        valid = np.zeros(k, np.bool_)
        ends = np.empty(2 * k)
        nb = 0
        outside = False
        for r in range(k):
            i = rows[lo + r]
            a = st[i] if st[i] > 0.0 else 0.0  # np.clip(x, 0, stop): min(max(x, 0), stop)
            s[r] = a if a < stop else stop
            b = en[i] if en[i] > 0.0 else 0.0
            b = b if b < stop else stop
            e[r] = b if b >= s[r] else s[r]
            if e[r] > s[r]:
                valid[r] = True
                ends[nb] = s[r]
                ends[nb + 1] = e[r]
                nb += 2
                if not member[i]:
                    outside = True
        if nb == 0:
            for r in range(k):
                i = rows[lo + r]
                cov[i] = (e[r] - s[r]) / total
            continue
        srt = np.sort(ends[:nb])
        bounds = np.empty(nb)
        m = 0
        for t in range(nb):
            if m == 0 or srt[t] != bounds[m - 1]:
                bounds[m] = srt[t]
                m += 1
        if m < 2:
            for r in range(k):
                i = rows[lo + r]
                cov[i] = (e[r] - s[r]) / total
            continue
        bounds = bounds[:m]
        ia = np.minimum(np.searchsorted(bounds, s), m - 1)
        ib = np.minimum(np.searchsorted(bounds, e), m - 1)
        dn = np.zeros(m)
        dsum = np.zeros(m)
        dinf = np.zeros(m)
        for r in range(k):  # np.add.at: every start in row order, then every end
            i = rows[lo + r]
            if valid[r] and member[i]:
                dn[ia[r]] += 1.0
        for r in range(k):
            i = rows[lo + r]
            if valid[r] and member[i]:
                dn[ib[r]] += -1.0
        for r in range(k):
            i = rows[lo + r]
            if valid[r] and member[i] and not zero[i]:
                dsum[ia[r]] += lp[i]
        for r in range(k):
            i = rows[lo + r]
            if valid[r] and member[i] and not zero[i]:
                dsum[ib[r]] += -lp[i]
        for r in range(k):
            i = rows[lo + r]
            if valid[r] and member[i] and zero[i]:
                dinf[ia[r]] += 1.0
        for r in range(k):
            i = rows[lo + r]
            if valid[r] and member[i] and zero[i]:
                dinf[ib[r]] += -1.0
        n_parts = 7 if outside else 4
        cum = np.zeros((n_parts, m))
        cnt = 0.0
        ssum = 0.0
        ninf = 0.0
        parts = np.empty(n_parts)  # each segment's, overwritten in turn
        for t in range(m - 1):
            cnt = dn[t] if t == 0 else cnt + dn[t]
            ssum = dsum[t] if t == 0 else ssum + dsum[t]
            ninf = dinf[t] if t == 0 else ninf + dinf[t]
            length = bounds[t + 1] - bounds[t]
            several = cnt > 1.5
            safe = cnt - 1.0 if several else 1.0
            parts[0] = (cnt / safe if several else 0.0) * length
            parts[1] = (ssum / safe if several else 0.0) * length
            parts[2] = length if several and ninf > 0.5 else 0.0
            parts[3] = length if several else 0.0
            if outside:
                some = cnt > 0.5
                per = cnt if some else 1.0
                parts[4] = length if some else 0.0
                parts[5] = (ssum / per if some else 0.0) * length
                parts[6] = length if some and ninf > 0.5 else 0.0
            for c in range(n_parts):
                cum[c, t + 1] = parts[c] if t == 0 else cum[c, t] + parts[c]
        for r in range(k):
            i = rows[lo + r]
            cov[i] = (e[r] - s[r]) / total
            if not valid[r]:
                score[i] = 100.0 * 0.0 / total
                continue
            a = ia[r]
            b = ib[r]
            i1 = cum[0, b] - cum[0, a]
            i2 = cum[1, b] - cum[1, a]
            i3 = cum[2, b] - cum[2, a]
            i4 = cum[3, b] - cum[3, a]
            if zero[i]:
                v = -np.inf if i4 > 0 else 0.0
            else:
                v = np.inf if i3 > 0 else lp[i] * i1 - i2
            if outside and not member[i]:
                j1 = cum[4, b] - cum[4, a]
                j2 = cum[5, b] - cum[5, a]
                j3 = cum[6, b] - cum[6, a]
                if zero[i]:
                    v = -np.inf if j1 > 0 else 0.0
                else:
                    v = np.inf if j3 > 0 else lp[i] * j1 - j2
            score[i] = 100.0 * v / total
    return score, cov


def peer_rows(q: np.ndarray, st: np.ndarray, en: np.ndarray, lp: np.ndarray, zero: np.ndarray,
              member: np.ndarray, hz: np.ndarray, ac: np.ndarray, nq: int) -> tuple[np.ndarray, np.ndarray]:
    """Metaculus peer score and coverage of every row, question by question in one compiled
    pass: :func:`forecasts.scoring.timeavg.metaculus_peer` of each question's rows (``st``,
    ``en``: the rows' holding in days from the period start; ``lp``: ln of the outcome's
    probability, 0 where it is 0, flagged by ``zero``; ``member``: in the pool; ``hz``,
    ``ac``: each row's question's horizon and actual close in days)."""
    return _peer_rows(np.ascontiguousarray(q, dtype=np.int64), np.ascontiguousarray(st, dtype=np.float64),
                      np.ascontiguousarray(en, dtype=np.float64), np.ascontiguousarray(lp, dtype=np.float64),
                      np.ascontiguousarray(zero, dtype=np.bool_), np.ascontiguousarray(member, dtype=np.bool_),
                      np.ascontiguousarray(hz, dtype=np.float64), np.ascontiguousarray(ac, dtype=np.float64),
                      int(nq))


@numba.njit(cache=True, nogil=True)
def _block_sum(a, lo, n):  # pragma: no cover - compiled
    """numpy's sum of at most 128 numbers: one by one below 8, else eight accumulators."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@numba.njit(cache=True, nogil=True)
def _pairwise_sum(a, lo, n):  # pragma: no cover - compiled
    """``a[lo:lo + n].sum()`` as numpy adds it up (halves, split at a multiple of 8, down to
    blocks of at most 128: :func:`_block_sum`), so the sum is numpy's to the last bit.  The
    halving is walked with a stack of its own (numba does not cache recursive functions)."""
    if n <= 128:
        return _block_sum(a, lo, n)
    los = np.empty(64, np.int64)
    ns = np.empty(64, np.int64)
    stage = np.zeros(64, np.int64)  # 0: to split, 1: left half being summed, 2: right half
    left = np.empty(64)
    d = 0
    los[0] = lo
    ns[0] = n
    while True:
        if ns[d] > 128:  # split: the left half first
            half = ns[d] // 2
            half -= half % 8
            stage[d] = 1
            los[d + 1] = los[d]
            ns[d + 1] = half
            stage[d + 1] = 0
            d += 1
            continue
        ret = _block_sum(a, los[d], ns[d])
        d -= 1
        while d >= 0:  # hand the sum back up
            if stage[d] == 1:  # the left half is done: the right half next
                left[d] = ret
                stage[d] = 2
                half = ns[d] // 2
                half -= half % 8
                los[d + 1] = los[d] + half
                ns[d + 1] = ns[d] - half
                stage[d + 1] = 0
                d += 1
                break
            ret = left[d] + ret
            d -= 1
        if d < 0:
            return ret


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _relative_days(layout, gb, gq, gpool, start, end, vals, ps, pe, nq):  # pragma: no cover - compiled
    # timeavg._relative's numpy pass for each question, operation for operation: the score
    # standing at each day's end, the median of the pool's (numpy's nanmedian), the sums
    ng = gq.shape[0]
    rel = np.zeros(ng)
    med_out = np.zeros(ng)
    own = np.zeros(ng)
    covered = np.zeros(ng, np.int64)
    days = np.zeros(ng, np.int64)
    groups, qoff = _by_question(gq, nq)
    for j in range(nq):
        g_lo = qoff[j]
        n_g = qoff[j + 1] - g_lo
        if n_g == 0:
            continue
        day0 = ps[j] - ps[j] % US_PER_DAY
        ndays = -(-(pe[j] - day0) // US_PER_DAY)
        if ndays <= 0:
            continue
        evals = np.empty(ndays, np.int64)
        for k in range(ndays):
            t = day0 + US_PER_DAY * (k + 1)
            evals[k] = t if t < pe[j] else pe[j]
        mat = np.empty((n_g, ndays))
        changed = np.zeros(ndays, np.bool_)  # a pool member's score differs from the day before
        changed[0] = True
        any_pool = False
        finite = False
        for r in range(n_g):
            g = groups[g_lo + r]
            p = gb[g] - 1
            for k in range(ndays):
                while p + 1 < gb[g + 1] and start[layout[p + 1]] < evals[k]:
                    p += 1
                if p >= gb[g] and end[layout[p]] >= evals[k]:
                    mat[r, k] = vals[layout[p]]
                else:
                    mat[r, k] = np.nan
                if gpool[g]:
                    v = mat[r, k]
                    if np.isfinite(v):
                        finite = True
                    if k > 0 and not (v == mat[r, k - 1] or (np.isnan(v) and np.isnan(mat[r, k - 1]))):
                        changed[k] = True
            if gpool[g]:
                any_pool = True
        med = np.full(ndays, np.nan)
        if any_pool and finite:
            col = np.empty(n_g)
            for k in range(ndays):
                if not changed[k]:  # the same numbers: the same median
                    med[k] = med[k - 1]
                    continue
                c = 0
                for r in range(n_g):
                    v = mat[r, k]
                    if gpool[groups[g_lo + r]] and not np.isnan(v):
                        t = c  # insertion sort of the column's numbers
                        while t > 0 and col[t - 1] > v:
                            col[t] = col[t - 1]
                            t -= 1
                        col[t] = v
                        c += 1
                if c > 0:
                    hi = c // 2
                    lo = hi if c % 2 == 1 else hi - 1
                    med[k] = (col[lo] + col[hi]) / 2.0
        diff = np.empty(ndays)
        kept_med = np.empty(ndays)
        kept_own = np.empty(ndays)
        for r in range(n_g):
            g = groups[g_lo + r]
            nd = 0
            for k in range(ndays):
                if not np.isnan(mat[r, k]) and not np.isnan(med[k]):
                    diff[k] = mat[r, k] - med[k]
                    kept_med[nd] = med[k]
                    kept_own[nd] = mat[r, k]
                    nd += 1
                else:
                    diff[k] = 0.0
            rel[g] = _pairwise_sum(diff, 0, ndays) / ndays
            med_out[g] = _pairwise_sum(kept_med, 0, nd) / nd if nd else np.nan
            own[g] = _pairwise_sum(kept_own, 0, nd) / nd if nd else np.nan
            covered[g] = nd
            days[g] = ndays
    return rel, med_out, own, covered, days


def relative_days(layout: np.ndarray, gb: np.ndarray, gq: np.ndarray, gpool: np.ndarray, start: np.ndarray,
                  end: np.ndarray, vals: np.ndarray, ps: np.ndarray, pe: np.ndarray,
                  nq: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Good Judgment style daily relative scores of every (question, forecaster) group in one
    compiled pass (:func:`forecasts.scoring.timeavg.relative_scores`): the rows ``layout``
    group after group in holding order (group g at ``gb[g]:gb[g + 1]``), each group's question
    ``gq`` and whether it is in the pool ``gpool``, each row's holding ``start``/``end`` (us)
    and score ``vals``, each question's period ``ps``/``pe`` (us).  Returns each group's
    relative score, mean median, mean own score, days covered and days (0 days: no row)."""
    return _relative_days(np.ascontiguousarray(layout, dtype=np.int64), np.ascontiguousarray(gb, dtype=np.int64),
                          np.ascontiguousarray(gq, dtype=np.int64), np.ascontiguousarray(gpool, dtype=np.bool_),
                          np.ascontiguousarray(start, dtype=np.int64), np.ascontiguousarray(end, dtype=np.int64),
                          np.ascontiguousarray(vals, dtype=np.float64), np.ascontiguousarray(ps, dtype=np.int64),
                          np.ascontiguousarray(pe, dtype=np.int64), int(nq))
