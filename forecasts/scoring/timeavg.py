"""Scores of dated forecast histories: time-averaged, spot, Metaculus, Good Judgment.

Conventions (the "holding" rule)
--------------------------------
* A question's **scoring period** runs from ``opens_at`` to
  ``min(closes_at, resolved_at)``: a question resolved YES early stops being
  scored when it resolves. (If ``opens_at`` is missing, the period starts at the
  question's first forecast.)
* A forecast **holds** from ``max(made_at, opens_at)`` until the same
  forecaster's next forecast on the question, the period end, or its ``ended_at``
  (a late retraction ends a forecast from the moment it was recorded: the
  forecaster holds nothing on the question from then until their next forecast;
  an ``ended_at`` after ``as_of`` is not yet known and ignored). Forecasts made
  at the same instant are ordered by ``seq``; the later one wins (the earlier
  holds for zero time). Forecasts made after the period end hold for zero time
  and are not counted in ``n_forecasts``.
* Time before a forecaster's first forecast is **uncovered**:
  ``coverage = covered time / period length``.
* The **time-averaged score** of a forecaster on a question is the
  duration-weighted mean of the scores of the forecasts they held, over the
  time they covered (uncovered time is not scored; see ``coverage``).
  The Metaculus scores follow Metaculus' own convention instead (below).
* Binary questions are scored with the 0-1 Brier, the log score (nats, or bits
  with ``log_base=2``) or the spherical loss of :mod:`forecasts.scoring.rules`.
  Multiple-choice questions use the multi-category Brier (0-2) if the options
  are unordered and the normalised ranked probability score (0-1) if they are
  ordered; the log and spherical rules use the probability of the outcome.
* Only questions resolved to an outcome are scored. Questions resolved
  ``ambiguous`` or ``annulled``, and unresolved ones, are excluded and counted
  (``attrs["excluded"]``, counting questions that have at least one forecast).
  A re-resolution is simply a new latest resolution: scores are recomputed
  from the frames every time, nothing is cached.
* ``as_of``: forecasts made or recorded after it, and resolutions recorded after
  it, are ignored.

Metaculus scores (higher is better)
-----------------------------------
Baseline: ``100 * ln(K * p_outcome) / ln K`` (K options; for binary questions
``100 * log2(2 p)``). Peer: ``100 * (ln p_i - mean_{j != i} ln p_j)`` over the
other members of the pool holding a forecast at that instant (0 when alone). Both are
integrated over time and divided by the *scheduled* period length
(``closes_at - opens_at``), so uncovered time and time after an early
resolution count as 0, exactly as in Metaculus' ``score_math.py``; coverage is
likewise relative to the scheduled period.

The pool (one rule for the peer score and the median reference)
---------------------------------------------------------------
The forecasters others are compared with are the **persons**
(:func:`forecasts.domain.is_person`: every name without a reserved prefix,
imported individuals included). Models, crowd aggregates, imported records
and backtests are scored too, against the persons' pool, and never enter it:

* peer score: a person is compared with the *other* persons standing (as on
  Metaculus); a forecaster outside the pool with *all* the persons standing,
  ``100 * (ln p - mean ln p_persons)``;
* Good Judgment style relative score (``relative_to="crowd:median"``): the
  daily median is that of the persons standing; a person's own score is part
  of it, a model's or an aggregate's is not.

With no person standing (on a question, or for part of its period) there is
nothing to compare with: that time scores 0 in the peer score (like a person
standing alone) and that day counts 0 in the relative score (it is not in
``days_covered``). ``pool=`` names a different pool explicitly.

References
----------
Metaculus scoring documentation, https://www.metaculus.com/help/scores-faq/ and
the tests in ``tests/unit/test_scoring/test_score_math.py`` of the Metaculus
repository. Good Judgment Open scoring FAQ (daily Brier relative to the median).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from forecasts.domain import is_person
from forecasts.errors import InvalidInput, InvalidProbability, UnknownForecaster
from forecasts.scoring import frames as fr
from forecasts.scoring import rules as rl
from forecasts.scoring.frames import TimeLike, check_columns, forecaster_names
from forecasts.scoring.options import (
    EXCLUSION_REASONS,
    LOSS_RULES,
    SCORE_GROUPINGS,
    SCORE_RULES,
    UNTAGGED,
    Engine,
    LogBase,
    LossRule,
    ScoreGrouping,
    ScoreRule,
    Weighting,
    check_choice,
)

__all__ = [
    "Holdings",
    "baseline_scores",
    "holding_table",
    "metaculus_baseline",
    "metaculus_peer",
    "peer_scores",
    "relative_scores",
    "score_table",
    "spot_scores",
    "time_averaged",
]

RULES = LOSS_RULES
FAST_MIN_ROWS = 200_000
US_PER_DAY = 86_400_000_000


# ======================================================================== core
def _no_rows() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class Holding:
    """Per-forecast arrays of the holding rule (rows already filtered)."""

    frame: pd.DataFrame  # the filtered forecasts (row i <-> array index i)
    q: np.ndarray  # question position in ``qinfo``
    f: np.ndarray  # forecaster code into ``fnames``
    fnames: np.ndarray
    qinfo: pd.DataFrame  # scoreable questions: id, kind, ordered, options, ps, pe, ...
    made: np.ndarray  # int64 us
    seq: np.ndarray
    excluded: dict
    stop: np.ndarray  # int64 us: ended_at, or int64 max when the forecast was never ended
    # every row read (as of the cut-off), scored or not: its question's code into ``all_qids``
    # (-1 for none) and its forecaster's into ``all_names``; ``all_qpos``: each of those ids'
    # position in the questions (-1 if unknown); ``status``: each question's (_question_status)
    all_q: np.ndarray = field(default_factory=_no_rows)
    all_qids: np.ndarray = field(default_factory=_no_rows)
    all_qpos: np.ndarray = field(default_factory=_no_rows)
    all_f: np.ndarray = field(default_factory=_no_rows)
    all_names: np.ndarray = field(default_factory=_no_rows)
    status: np.ndarray = field(default_factory=_no_rows)
    cutoff_us: int = 0  # as_of (default: the time of reading) in microseconds
    engine: str = "auto"
    # filled in by _attach_holding (empty until then)
    start: np.ndarray = field(default_factory=_no_rows)
    end: np.ndarray = field(default_factory=_no_rows)
    dur: np.ndarray = field(default_factory=_no_rows)  # int64 us, >= 0
    group: np.ndarray = field(default_factory=_no_rows)
    order: np.ndarray = field(default_factory=_no_rows)
    n_groups: int = 0


def _question_status(questions: pd.DataFrame, resolutions: pd.DataFrame):
    outcome = pd.Series(
        resolutions["outcome"].to_numpy(), index=resolutions["question"].to_numpy()
    ) if len(resolutions) else pd.Series(dtype=object)
    resolved_at = pd.Series(
        fr.as_us(resolutions["resolved_at"]), index=resolutions["question"].to_numpy()
    ) if len(resolutions) else pd.Series(dtype=np.int64)
    resolved_at = resolved_at.astype(np.float64).where(resolved_at != fr.NAT)
    if outcome.index.has_duplicates:
        keep = ~outcome.index.duplicated(keep="last")
        outcome, resolved_at = outcome[keep], resolved_at[keep]
    ids = questions["id"].to_numpy()
    out = outcome.reindex(ids).to_numpy(dtype=object)
    res = resolved_at.reindex(ids).to_numpy(dtype=np.float64)
    status = np.where(pd.isna(out), "unresolved",
                      np.where(out == "ambiguous", "ambiguous",
                               np.where(out == "annulled", "annulled", "scored")))
    return out, res, status


def _check_frames(forecasts: object, questions: object, resolutions: object) -> None:
    check_columns(forecasts, ("seq", "question", "forecaster", "made_at"), "forecasts")
    check_columns(questions, ("id", "kind", "opens_at", "closes_at"), "questions")
    check_columns(resolutions, (), "resolutions")
    if len(resolutions):  # type: ignore[arg-type]
        check_columns(resolutions, ("question", "outcome", "resolved_at"), "resolutions")


def _calibrated(kind: np.ndarray, closes_us: np.ndarray, cutoff_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Calibration's rule for a scored question, as two masks: it is ``binary``, and ``past``
    its scheduled close at the cutoff (a question resolved early is still open on its
    schedule: counting it would fake a bias); it counts where both hold.  Left out otherwise as
    ``not_binary``, else ``before_scheduled_close``."""
    return kind == "binary", closes_us <= cutoff_us


def _prepare(forecasts, questions, resolutions, *, as_of=None, forecaster=None,
             past_close_only=False, binary_only=False, engine="auto",
             holding=True) -> Holding:
    _check_frames(forecasts, questions, resolutions)
    check_choice(engine, ("auto", "numba", "numpy"), "engine")
    forecasts, resolutions = fr.filter_as_of(forecasts, resolutions, as_of)
    names = forecaster_names(forecaster)
    if names is not None:
        forecasts = forecasts[forecasts["forecaster"].isin(names)]
    qcodes_raw, quniq = pd.factorize(forecasts["question"], sort=False)
    qpos_of_uniq = pd.Index(questions["id"]).get_indexer(quniq)
    all_f, all_names = pd.factorize(forecasts["forecaster"], sort=False)
    outcome, resolved, status = _question_status(questions, resolutions)
    kind = questions["kind"].to_numpy(dtype=object)
    closes = fr.as_us(questions["closes_at"])
    cutoff = fr.to_timestamp(as_of) if as_of is not None else fr.now_utc()
    excluded = dict.fromkeys(EXCLUSION_REASONS, 0)
    if past_close_only:
        excluded["before_scheduled_close"] = 0
    if binary_only:
        excluded["not_binary"] = 0
    cutoff_us = int(np.datetime64(cutoff, "us").astype(np.int64))
    binary, past = _calibrated(kind, closes, cutoff_us)
    usable_q = np.zeros(len(questions), dtype=bool)
    for pos in qpos_of_uniq:
        if pos < 0:
            excluded["unknown_question"] += 1
            continue
        st = status[pos]
        if st != "scored":
            excluded[st] += 1
        elif binary_only and not binary[pos]:
            excluded["not_binary"] += 1
        elif past_close_only and not past[pos]:
            excluded["before_scheduled_close"] += 1
        else:
            usable_q[pos] = True
    # compact positions of the usable questions; one gather maps rows to them
    used = np.flatnonzero(usable_q)
    remap = np.full(len(questions) + 1, -1, dtype=np.int64)  # last slot: unknown
    remap[used] = np.arange(used.shape[0])
    qmap = np.append(remap[qpos_of_uniq], -1)  # code -1 (missing question) -> -1
    q = qmap[qcodes_raw]
    keep = q >= 0
    fcodes = all_f
    if not keep.all():
        forecasts = forecasts[keep]
        q = q[keep]
        fcodes = all_f[keep]
    qinfo = questions.iloc[used].reset_index(drop=True).copy()
    qinfo["outcome"] = outcome[used]
    ps = fr.as_us(qinfo["opens_at"]) if len(qinfo) else np.zeros(0, np.int64)
    cl = closes[used]
    rs = resolved[used]
    pe = np.where(np.isnan(rs), cl, np.minimum(cl, np.nan_to_num(rs, nan=0).astype(np.int64)))
    pe = np.where(cl == fr.NAT, np.nan_to_num(rs, nan=0).astype(np.int64), pe)
    made = fr.as_us(forecasts["made_at"].to_numpy())
    if (ps == fr.NAT).any():
        first = np.full(len(qinfo), np.iinfo(np.int64).max)
        np.minimum.at(first, q, made)
        ps = np.where(ps == fr.NAT, first, ps)
    qinfo["period_start"] = ps
    qinfo["period_end"] = pe
    qinfo["horizon_end"] = cl
    # the scored rows' forecasters in their own order of first appearance (as factorizing their names)
    fcodes, used_f = pd.factorize(fcodes, sort=False)
    all_names = np.asarray(all_names, dtype=object)
    fnames = all_names[used_f]
    seq = forecasts["seq"].to_numpy(dtype=np.int64)
    h = Holding(forecasts, q, fcodes, fnames, qinfo, made, seq, excluded,
                _stops(forecasts, cutoff_us if as_of is not None else None),
                all_q=qcodes_raw, all_qids=np.asarray(quniq, dtype=object), all_qpos=qpos_of_uniq, all_f=all_f,
                all_names=all_names, status=status, cutoff_us=cutoff_us, engine=engine)
    if holding:
        _attach_holding(h, engine)
    return h


def _stops(forecasts: pd.DataFrame, cutoff_us: int | None) -> np.ndarray:
    """Each row's ``ended_at`` (late retraction) in microseconds; int64 max where there is
    none, or where it lies after the ``as_of`` cut-off (not yet known then)."""
    never = np.iinfo(np.int64).max
    if "ended_at" not in forecasts.columns:
        return np.full(len(forecasts), never, dtype=np.int64)
    ended = fr.as_us(forecasts["ended_at"].to_numpy())
    unknown = ended == fr.NAT
    if cutoff_us is not None:
        unknown |= ended > cutoff_us
    return np.where(unknown, never, ended)


def _use_numba(n: int, engine: str) -> bool:
    return n > 0 and (engine == "numba" or (engine == "auto" and n >= FAST_MIN_ROWS))


def _attach_holding(h: Holding, engine: str) -> None:
    """Fill in group, order within group, start, end and duration of every row."""
    q, fcodes, made, seq = h.q, h.f, h.made, h.seq
    ps = h.qinfo["period_start"].to_numpy()
    pe = h.qinfo["period_end"].to_numpy()
    n = q.shape[0]
    nxt_t = None
    if _use_numba(n, engine):
        from forecasts.scoring.fastpath import group_next

        group, order, nxt, ng, ok = group_next(q, fcodes, made, seq, len(h.qinfo),
                                               len(h.fnames))
        if ok:
            nxt_t = np.where(nxt >= 0, made[np.maximum(nxt, 0)], np.iinfo(np.int64).max)
    if nxt_t is None:
        perm = np.lexsort((seq, made, fcodes, q))
        qs, fs = q[perm], fcodes[perm]
        newg = np.ones(n, dtype=bool)
        if n:
            newg[1:] = (qs[1:] != qs[:-1]) | (fs[1:] != fs[:-1])
        gs = np.cumsum(newg) - 1
        ng = int(gs[-1] + 1) if n else 0
        starts = np.flatnonzero(newg)
        ords = np.arange(n) - starts[gs]
        nt_sorted = np.full(n, np.iinfo(np.int64).max)
        if n:
            nt_sorted[:-1] = np.where(newg[1:], np.iinfo(np.int64).max, made[perm][1:])
        group = np.empty(n, np.int64)
        order = np.empty(n, np.int64)
        nxt_t = np.empty(n, np.int64)
        group[perm], order[perm], nxt_t[perm] = gs, ords, nt_sorted
    h.start = np.maximum(made, ps[q]) if n else made
    h.end = np.minimum(np.minimum(nxt_t, pe[q]), h.stop) if n else made
    h.dur = np.maximum(h.end - h.start, 0)
    h.group, h.order, h.n_groups = group, order, int(ng)


def _outcome_probability(h: Holding) -> np.ndarray:
    """Probability each forecast gave to the outcome that happened."""
    kinds = h.qinfo["kind"].to_numpy(dtype=object)
    out = np.empty(h.q.shape[0])
    binary_q = kinds == "binary"
    rows_bin = binary_q[h.q]
    if rows_bin.any():
        p = _probabilities(h)[rows_bin]
        _check_p(p, h, rows_bin)
        yq = (h.qinfo["outcome"].to_numpy(dtype=object) == "yes")
        y = yq[h.q[rows_bin]]
        out[rows_bin] = np.where(y, p, 1.0 - p)
    if (~rows_bin).any():
        probs, idx = _categorical(h, ~rows_bin)
        out[~rows_bin] = probs[np.arange(idx.shape[0]), idx]
    return out


def _need(frame: pd.DataFrame, column: str, what: str) -> None:
    if column not in frame.columns:
        raise InvalidInput(f"{what} frame lacks column {column!r}")


def _probabilities(h: Holding) -> np.ndarray:
    """The binary forecasts' P(yes) as floats (NaN for multiple-choice rows)."""
    _need(h.frame, "probability", "forecasts")
    try:
        return h.frame["probability"].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidProbability("forecast probabilities must be numbers") from None


def _check_p(p, h, rows):
    if p.shape[0] == 0 or (p.min() >= 0.0 and p.max() <= 1.0):  # NaN fails too
        return
    bad = np.isnan(p) | (p < 0) | (p > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        qid = h.qinfo["id"].to_numpy()[h.q[rows][i]]
        raise InvalidProbability(f"binary forecast on question {qid!r} has probability "
                         f"{float(p[i])!r}; it must be a number in [0, 1]")


def _binary_outcomes(h: Holding, rows: np.ndarray | None) -> np.ndarray:
    outs = h.qinfo["outcome"].to_numpy(dtype=object)
    kinds = h.qinfo["kind"].to_numpy(dtype=object)
    bad = (kinds == "binary") & ~np.isin(outs, ["yes", "no"])
    if bad.any():
        qid = h.qinfo["id"].to_numpy()[np.flatnonzero(bad)[0]]
        raise InvalidInput(f"binary question {qid!r} resolved {outs[bad][0]!r}; "
                         "expected yes, no, ambiguous or annulled")
    yq = (outs == "yes").astype(np.float64)
    return yq[h.q] if rows is None else yq[h.q[rows]]


def _categorical(h: Holding, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probability matrices and outcome indices for multiple-choice rows."""
    _need(h.frame, "probabilities", "forecasts")
    _need(h.qinfo, "options", "questions")
    idx_rows = np.flatnonzero(rows)
    qpos = h.q[idx_rows]
    dicts = h.frame["probabilities"].to_numpy(dtype=object)[idx_rows]
    options = h.qinfo["options"].to_numpy(dtype=object)
    outs = h.qinfo["outcome"].to_numpy(dtype=object)
    if any(options[j] is None for j in np.unique(qpos)):
        qid = next(h.qinfo["id"].iat[j] for j in np.unique(qpos) if options[j] is None)
        raise InvalidInput(f"multiple-choice question {qid!r} has no options")
    kmax = max(len(options[j]) for j in np.unique(qpos))
    probs = np.zeros((idx_rows.shape[0], kmax))
    outcome = np.empty(idx_rows.shape[0], dtype=np.int64)
    for r, (j, d) in enumerate(zip(qpos, dicts, strict=True)):
        opts = list(options[j])
        qid = h.qinfo["id"].iat[j]
        if outs[j] not in opts:
            raise InvalidInput(f"question {qid!r} resolved {outs[j]!r}, which is not one "
                             f"of its options {opts}")
        if not isinstance(d, dict):
            raise InvalidInput(f"multiple-choice forecast on {qid!r} lacks its "
                             "probabilities dict")
        unknown = set(d) - set(opts)
        if unknown:
            raise InvalidInput(f"forecast on {qid!r} names unknown options {sorted(unknown)}")
        try:
            vals = np.array([float(d.get(o, 0.0)) for o in opts])
        except (TypeError, ValueError):
            raise InvalidProbability(f"forecast on {qid!r} gives a probability that is not a "
                                     "number") from None
        if np.isnan(vals).any() or (vals < 0).any() or abs(vals.sum() - 1) > 1e-6:
            raise InvalidProbability(f"forecast on {qid!r} must give probabilities in [0, 1] "
                             "summing to 1")
        probs[r, : len(opts)] = vals
        outcome[r] = opts.index(outs[j])
    return probs, outcome


def _row_scores(h: Holding, rule: str, log_base: LogBase = "e") -> np.ndarray:
    """Score of every forecast against its question's outcome."""
    check_choice(rule, RULES, "rule")
    kinds = h.qinfo["kind"].to_numpy(dtype=object)
    rows_bin = (kinds == "binary")[h.q]
    out = np.empty(h.q.shape[0])
    all_bin = bool(rows_bin.all())
    if all_bin or rows_bin.any():
        p = _probabilities(h)
        p = p if all_bin else p[rows_bin]
        _check_p(p, h, rows_bin)
        y = _binary_outcomes(h, None if all_bin else rows_bin)
        if rule == "brier":
            out[rows_bin] = (p - y) ** 2
        else:
            po = np.where(y == 1.0, p, 1.0 - p)
            if rule == "log":
                with np.errstate(divide="ignore"):
                    out[rows_bin] = -np.log(po) * rl._log_factor(log_base)
            else:
                out[rows_bin] = 1.0 - po / np.sqrt(p * p + (1.0 - p) ** 2)
    if (~rows_bin).any():
        rows_mc = ~rows_bin
        probs, idx = _categorical(h, rows_mc)
        qpos = h.q[rows_mc]
        ordered = h.qinfo["ordered"].to_numpy(dtype=bool) if "ordered" in h.qinfo else \
            np.zeros(len(h.qinfo), dtype=bool)
        nopt = np.array([len(o) if o is not None else 0 for o in h.qinfo["options"]])
        vals = np.empty(idx.shape[0])
        for k in np.unique(nopt[qpos]):
            m = nopt[qpos] == k
            pk, ik = probs[m, :k], idx[m]
            if rule == "brier":
                ordm = ordered[qpos[m]]
                v = np.empty(pk.shape[0])
                if ordm.any():
                    v[ordm] = rl.rps(pk[ordm], ik[ordm], normalize=True)
                if (~ordm).any():
                    v[~ordm] = rl.multi_brier(pk[~ordm], ik[~ordm])
                vals[m] = v
            elif rule == "log":
                vals[m] = rl.multi_log_score(pk, ik, base=log_base)
            else:
                vals[m] = rl.multi_spherical(pk, ik)
        out[rows_mc] = vals
    return out


def _aggregate(h: Holding, values: np.ndarray) -> pd.DataFrame:
    """Duration-weighted mean of per-forecast values per (question, forecaster)."""
    ng = h.n_groups
    dur = h.dur.astype(np.float64)
    with np.errstate(invalid="ignore"):  # inf * 0 for certain-and-wrong held 0 time
        contrib = np.where(h.dur > 0, values * dur, 0.0)
    num = np.bincount(h.group, weights=contrib, minlength=ng)
    covered = np.bincount(h.group, weights=dur, minlength=ng)
    pe = h.qinfo["period_end"].to_numpy()
    counted = h.made < pe[h.q]
    nf = np.bincount(h.group, weights=counted, minlength=ng).astype(np.int64)
    first = np.full(ng, -1, dtype=np.int64)
    first[h.group[::-1]] = np.arange(h.group.shape[0])[::-1]
    return _pairs_frame(h, h.q[first], h.f[first], num, covered, nf)


def _obj(values) -> pd.Series:
    """Strings as an object column (no conversion cost for millions of rows)."""
    return pd.Series(np.asarray(values, dtype=object), dtype=object, copy=False)


def _pairs_frame(h: Holding, gq, gf, num, covered, nf) -> pd.DataFrame:
    pe = h.qinfo["period_end"].to_numpy()
    ps = h.qinfo["period_start"].to_numpy()
    length = (pe - ps)[gq].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(covered > 0, num / np.where(covered > 0, covered, 1.0), np.nan)
        coverage = np.where(length > 0, covered / np.where(length > 0, length, 1.0), 0.0)
    return pd.DataFrame({
        "question": _obj(h.qinfo["id"].to_numpy(dtype=object)[gq]),
        "forecaster": _obj(h.fnames[gf]),
        "score": score,
        "coverage": coverage,
        "n_forecasts": np.asarray(nf, dtype=np.int64),
    })


# ==================================================================== public
def holding_table(forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame, *,
                  as_of: TimeLike = None, forecaster: str | Sequence[str] | None = None,
                  past_close_only: bool = False,
                  binary_only: bool = False) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every scored forecast with its holding interval (the rule in the module doc).

    Parameters
    ----------
    forecasts, questions, resolutions : pandas.DataFrame
        Ledger frames (see :mod:`forecasts.scoring.frames`).
    as_of : datetime-like, optional
        Ignore forecasts and resolutions recorded after this time.
    forecaster : str or list of str, optional
        Restrict to these forecasters.
    past_close_only : bool
        Keep only questions whose scheduled close is at or before ``as_of``
        (default now): the calibration rule.
    binary_only : bool
        Keep only binary questions.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table (columns ``question``, ``forecaster``, ``seq``, ``made_at``,
        ``probability``, ``start``, ``end``, ``duration`` (seconds), ``order``
        (0 for a forecaster's first forecast on the question), ``period_start``,
        ``period_end``, ``closes_at``, ``kind``, ``outcome``, ``y`` (1/0 for
        binary questions, else NaN)) and the excluded-question counts.

    Examples
    --------
    >>> from forecasts.scoring.frames import example_frames
    >>> t, excluded = holding_table(*example_frames())
    >>> t.loc[t.question == "q1", ["forecaster", "probability", "duration"]]
      forecaster  probability  duration
    0      alice          0.7  432000.0
    1        bob          0.4  432000.0
    2      alice          0.9  432000.0
    >>> excluded["ambiguous"]
    1
    """
    h = _prepare(forecasts, questions, resolutions, as_of=as_of, forecaster=forecaster,
                 past_close_only=past_close_only, binary_only=binary_only)
    f = h.frame
    qi = h.qinfo
    outs = qi["outcome"].to_numpy(dtype=object)[h.q]
    kinds = qi["kind"].to_numpy(dtype=object)[h.q]
    y = np.where(kinds == "binary", np.where(outs == "yes", 1.0, 0.0), np.nan)
    table = pd.DataFrame({
        "question": f["question"].to_numpy(dtype=object),
        "forecaster": f["forecaster"].to_numpy(dtype=object),
        "seq": f["seq"].to_numpy(),
        "made_at": f["made_at"].to_numpy(),
        "probability": f["probability"].to_numpy(dtype=np.float64)
        if "probability" in f else np.nan,
        "start": h.start.astype("datetime64[us]"),
        "end": h.end.astype("datetime64[us]"),
        "duration": h.dur / 1e6,
        "order": h.order,
        "period_start": qi["period_start"].to_numpy()[h.q].astype("datetime64[us]"),
        "period_end": qi["period_end"].to_numpy()[h.q].astype("datetime64[us]"),
        "closes_at": qi["horizon_end"].to_numpy()[h.q].astype("datetime64[us]"),
        "kind": kinds,
        "outcome": outs,
        "y": y,
    })
    return table, h.excluded


def time_averaged(forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame,
                  rule: LossRule = "brier", as_of: TimeLike = None, *, log_base: LogBase = "e",
                  forecaster: str | Sequence[str] | None = None,
                  engine: Engine = "auto") -> pd.DataFrame:
    r"""Time-averaged score of each forecaster on each question.

    .. math::
        \bar S_{q,f} = \frac{\sum_i d_i\, S(p_i, y_q)}{\sum_i d_i}, \qquad
        \mathrm{coverage}_{q,f} = \frac{\sum_i d_i}{T_q}

    where forecast i of forecaster f on question q holds for duration
    :math:`d_i` (from ``max(made_at, opens_at)`` to the forecaster's next
    forecast or the period end) and :math:`T_q` is the scoring period length
    (``opens_at`` to ``min(closes_at, resolved_at)``).

    Parameters
    ----------
    forecasts, questions, resolutions : pandas.DataFrame
        Ledger frames (see :mod:`forecasts.scoring.frames`).
    rule : {"brier", "log", "spherical"}
        Binary: Brier 0-1, log score, spherical loss. Multiple choice:
        multi-category Brier (0-2) or normalised RPS if ordered, log score,
        spherical loss. All lower-is-better.
    as_of : datetime-like, optional
        Ignore forecasts made/recorded and resolutions recorded after it.
    log_base : {"e", 2}
        Log score in nats (default) or bits.
    forecaster : str or list of str, optional
        Restrict to these forecasters.
    engine : {"auto", "numba", "numpy"}
        How to find each forecast's successor: "numba" is a linear-time pass
        used automatically from 200,000 rows; "numpy" sorts. Same results.

    Returns
    -------
    pandas.DataFrame
        One row per (question, forecaster): ``question``, ``forecaster``,
        ``score`` (NaN if the coverage is 0; ``inf`` under the log score if a
        forecast of 0 or 1 on the wrong side held for a positive time),
        ``coverage`` and ``n_forecasts``. ``attrs["excluded"]`` counts the
        questions left out (``ambiguous``, ``annulled``, ``unresolved``,
        ``unknown_question``); ``attrs["rule"]`` names the rule.

    Examples
    --------
    >>> from forecasts.scoring.frames import example_frames
    >>> t = time_averaged(*example_frames())
    >>> t[t.question == "q1"]
      question forecaster  score  coverage  n_forecasts
    0       q1      alice   0.05       1.0            2
    1       q1        bob   0.36       0.5            1
    >>> t.attrs["excluded"]
    {'ambiguous': 1, 'annulled': 0, 'unresolved': 0, 'unknown_question': 0}
    """
    check_choice(rule, RULES, "rule")
    rl._log_factor(log_base)
    h = _prepare(forecasts, questions, resolutions, as_of=as_of, forecaster=forecaster,
                 engine=engine, holding=False)
    values = _row_scores(h, rule, log_base)
    out = None
    if _use_numba(h.q.shape[0], engine):
        from forecasts.scoring.fastpath import time_average

        ps = h.qinfo["period_start"].to_numpy()
        pe = h.qinfo["period_end"].to_numpy()
        gq, gf, num, covered, cnt, ok = time_average(h.q, h.f, h.made, h.seq, values, ps, pe,
                                                     len(h.qinfo), len(h.fnames), h.stop)
        if ok:
            out = _pairs_frame(h, gq, gf, num, covered, cnt)
    if out is None:
        _attach_holding(h, "numpy")
        out = _aggregate(h, values)
    out.attrs["excluded"] = dict(h.excluded)
    out.attrs["rule"] = rule
    return out


def spot_scores(forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame,
                at: TimeLike | Literal["close"], rule: Literal[LossRule, "baseline"] = "brier",
                as_of: TimeLike = None, *, log_base: LogBase = "e") -> pd.DataFrame:
    """Score of the forecast each forecaster held at one instant.

    ``at`` is either a time (the same instant for every question) or
    ``"close"`` (each question's period end, i.e. the last forecast standing
    before ``min(closes_at, resolved_at)``). A forecast is standing at ``at``
    if it was made at or before ``at`` (and before the period end) and not yet
    replaced by the forecaster's next forecast; forecasters with no forecast
    standing are left out.

    Parameters
    ----------
    forecasts, questions, resolutions : pandas.DataFrame
        Ledger frames.
    at : datetime-like or "close"
        The instant.
    rule : {"brier", "log", "spherical", "baseline"}
        Per-forecast rule; ``"baseline"`` is the Metaculus spot baseline
        score (higher is better).
    as_of : datetime-like, optional
        Ledger cut-off, as elsewhere.
    log_base : {"e", 2}
        Nats or bits for the log score.

    Returns
    -------
    pandas.DataFrame
        ``question``, ``forecaster``, ``made_at``, ``probability``, ``score``.

    Examples
    --------
    >>> from forecasts.scoring.frames import example_frames
    >>> s = spot_scores(*example_frames(), at="2024-01-04")
    >>> s[s.question == "q1"][["forecaster", "probability", "score"]]
      forecaster  probability  score
    0      alice          0.7   0.09
    """
    check_choice(rule, (*RULES, "baseline"), "rule")
    if at is None:
        raise InvalidInput('the instant must be a time or "close"')
    when = None if isinstance(at, str) and at == "close" else fr.to_timestamp(at)
    h = _prepare(forecasts, questions, resolutions, as_of=as_of)
    pe = h.qinfo["period_end"].to_numpy()[h.q]
    if when is None:
        t = pe - 1  # the last instant of the period
    else:
        t = np.full(h.q.shape[0], when.view(np.int64))
    # standing: made at or before t, next forecast after t, and t inside the period
    # h.end is min(next made_at, period end); with t < period end, end > t
    # means the forecaster's next forecast came after t
    ps = h.qinfo["period_start"].to_numpy()[h.q]
    standing = (h.made <= t) & (t >= ps) & (t < pe) & (h.end > t)
    if rule == "baseline":
        po = _outcome_probability(h)
        vals = _baseline_values(po, _n_options(h))
    else:
        vals = _row_scores(h, rule, log_base)
    f = h.frame
    out = pd.DataFrame({
        "question": f["question"].to_numpy(dtype=object)[standing],
        "forecaster": f["forecaster"].to_numpy(dtype=object)[standing],
        "made_at": f["made_at"].to_numpy()[standing],
        "probability": f["probability"].to_numpy(dtype=np.float64)[standing]
        if "probability" in f else np.full(int(standing.sum()), np.nan),
        "score": vals[standing],
    })
    out.attrs["excluded"] = dict(h.excluded)
    return out


# ----------------------------------------------------------------- Metaculus
def _baseline_values(p_outcome: np.ndarray, n_options: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 100.0 * np.log(n_options * p_outcome) / np.log(n_options)


def _n_options(h: Holding) -> np.ndarray:
    options = h.qinfo["options"] if "options" in h.qinfo else [None] * len(h.qinfo)
    nopt = np.array([2 if k == "binary" else len(o) if o is not None else 0
                     for k, o in zip(h.qinfo["kind"], options, strict=True)], dtype=np.float64)
    return nopt[h.q]


def _clip_intervals(start, end, horizon_start, horizon_end, actual_close):
    start = np.asarray(start, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    end = np.where(np.isnan(end), np.inf, end)
    stop = np.minimum(actual_close, horizon_end)  # scalars, or one per forecast
    s = np.clip(start, horizon_start, stop)
    e = np.clip(end, horizon_start, stop)
    return s, np.maximum(e, s)


def metaculus_baseline(p_outcome: ArrayLike, start: ArrayLike, end: ArrayLike,
                       horizon_start: float, horizon_end: float | np.ndarray, actual_close: float | np.ndarray,
                       n_options: int | np.ndarray = 2) -> tuple[np.ndarray, np.ndarray]:
    r"""Metaculus baseline accuracy of individual forecasts (higher is better).

    .. math::
        B_i = \frac{1}{T}\int_{s_i}^{e_i} 100\,\frac{\ln(K p_i)}{\ln K}\,dt, \qquad
        c_i = \frac{e_i - s_i}{T}

    with each forecast's interval clipped to ``[horizon_start,
    min(actual_close, horizon_end)]`` and ``T = horizon_end - horizon_start``
    (the *scheduled* horizon, so an early close shrinks the score, as on
    Metaculus).

    Parameters
    ----------
    p_outcome : array_like
        Probability each forecast gave to the outcome that happened.
    start, end : array_like
        Forecast start and end times (any numeric unit; ``end`` NaN or inf
        means open-ended).
    horizon_start, horizon_end, actual_close : float
        In the same unit; ``horizon_end`` and ``actual_close`` may also be arrays, one per
        forecast (forecasts of many questions at once, each clipped to its own).
    n_options : int or array
        K, the number of options (2 for binary), or one per forecast.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Scores and coverages, one per forecast; a forecaster's question score
        is the sum over their forecasts.

    Examples
    --------
    >>> s, c = metaculus_baseline([0.9], [5.0], [np.nan], 0.0, 10.0, 10.0)
    >>> round(float(s[0]), 8), float(c[0])
    (42.39984533, 0.5)
    """
    po = np.asarray(p_outcome, dtype=np.float64)
    s, e = _clip_intervals(start, end, horizon_start, horizon_end, actual_close)
    total = np.asarray(horizon_end, dtype=np.float64) - horizon_start
    dur = e - s
    vals = _baseline_values(po, np.asarray(n_options, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        contrib = np.where(dur > 0, vals * dur, 0.0)
    return contrib / total, dur / total


def metaculus_peer(p_outcome: ArrayLike, start: ArrayLike, end: ArrayLike, horizon_start: float,
                   horizon_end: float, actual_close: float, *,
                   in_pool: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Metaculus peer accuracy of individual forecasts (higher is better).

    At each instant, forecast i of the pool (of N standing pool forecasts)
    scores :math:`100\,(\ln p_i - \frac{1}{N-1}\sum_{j \ne i} \ln p_j)` (0 if
    it stands alone); a forecast outside the pool scores
    :math:`100\,(\ln p_i - \frac{1}{N}\sum_j \ln p_j)` against the N pool
    forecasts standing (0 while none stands) and never enters the others'
    scores. This is integrated over its interval and divided by the scheduled
    horizon ``horizon_end - horizon_start``. Each entry is treated as a
    different forecaster (pass one forecaster's successive forecasts with
    non-overlapping intervals).

    Parameters
    ----------
    p_outcome : array_like
        Probability each forecast gave to the outcome that happened.
    start, end : array_like
        Forecast start and end times (``end`` NaN or inf: open-ended).
    horizon_start, horizon_end, actual_close : float
        Same unit as the times.
    in_pool : array_like of bool, optional
        Which forecasts belong to the pool (default: all of them, Metaculus'
        own rule).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Scores and coverages, one per forecast. A forecast of probability 0 on
        the outcome scores ``-inf`` if it ever overlaps another pool forecast,
        and the forecasts a pool forecast of probability 0 overlaps score
        ``+inf``.

    Examples
    --------
    >>> s, c = metaculus_peer([0.1, 0.9], [0.0, 0.0], [np.nan, np.nan], 0.0, 10.0, 10.0)
    >>> np.round(s, 6)
    array([-219.722458,  219.722458])
    >>> s, _ = metaculus_peer([0.1, 0.9, 0.5], [0.0, 0.0, 0.0], [np.nan] * 3, 0.0, 10.0, 10.0,
    ...                       in_pool=[True, True, False])
    >>> np.round(s, 6)  # the third is scored against the mean ln p of the first two
    array([-219.722458,  219.722458,   51.082562])
    """
    po = np.asarray(p_outcome, dtype=np.float64)
    s, e = _clip_intervals(start, end, horizon_start, horizon_end, actual_close)
    total = float(horizon_end - horizon_start)
    n = po.shape[0]
    if n == 0:
        return np.zeros(0), np.zeros(0)
    if in_pool is None:
        member = np.ones(n, dtype=bool)
    else:
        member = np.asarray(in_pool, dtype=bool).ravel()
        if member.shape != po.shape:
            raise InvalidInput(f"{n} forecasts but {member.shape[0]} pool flags")
    valid = e > s
    zero = po <= 0
    with np.errstate(divide="ignore"):
        lp = np.where(zero, 0.0, np.log(np.where(zero, 1.0, po)))
    bounds = np.unique(np.concatenate([s[valid], e[valid]]))
    scores = np.zeros(n)
    if bounds.shape[0] < 2:
        return scores, (e - s) / total
    m = bounds.shape[0]
    # a forecast that holds for no time may lie past every bound (all the others ended
    # before it): its index is clipped, and its score is 0 whatever it reads
    a = np.minimum(np.searchsorted(bounds, s), m - 1)
    b = np.minimum(np.searchsorted(bounds, e), m - 1)
    dn = np.zeros(m)
    dsum = np.zeros(m)
    dinf = np.zeros(m)
    vp = valid & member
    vf = vp & ~zero
    vz = vp & zero
    np.add.at(dn, a[vp], 1.0)
    np.add.at(dn, b[vp], -1.0)
    np.add.at(dsum, a[vf], lp[vf])
    np.add.at(dsum, b[vf], -lp[vf])
    np.add.at(dinf, a[vz], 1.0)
    np.add.at(dinf, b[vz], -1.0)
    cnt = np.cumsum(dn)[:-1]
    ssum = np.cumsum(dsum)[:-1]
    ninf = np.cumsum(dinf)[:-1]
    length = np.diff(bounds)
    several = cnt > 1.5
    safe = np.where(several, cnt - 1.0, 1.0)
    outside = valid & ~member
    parts = [np.where(several, cnt / safe, 0.0) * length,
             np.where(several, ssum / safe, 0.0) * length,
             np.where(several & (ninf > 0.5), length, 0.0),
             np.where(several, length, 0.0)]
    if outside.any():  # scored against all the pool forecasts standing, never pooled
        some = cnt > 0.5
        per = np.where(some, cnt, 1.0)
        parts += [np.where(some, length, 0.0),
                  np.where(some, ssum / per, 0.0) * length,
                  np.where(some & (ninf > 0.5), length, 0.0)]
    cum = np.zeros((len(parts), m))
    np.cumsum(np.vstack(parts), axis=1, out=cum[:, 1:])
    ints = cum[:, b] - cum[:, a]
    i1, i2, i3, i4 = ints[:4]
    finite = lp * i1 - i2
    scores = np.where(zero, np.where(i4 > 0, -np.inf, 0.0),
                      np.where(i3 > 0, np.inf, finite))
    if len(parts) > 4:
        j1, j2, j3 = ints[4:]
        own = np.where(zero, np.where(j1 > 0, -np.inf, 0.0),
                       np.where(j3 > 0, np.inf, lp * j1 - j2))
        scores = np.where(outside, own, scores)
    scores = np.where(valid, scores, 0.0)
    return 100.0 * scores / total, (e - s) / total


def _days(h: Holding) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's holding in days from its question's period start (the unit in which
    :func:`metaculus_baseline` and :func:`metaculus_peer` take times), and its question's
    scheduled horizon and actual close in the same unit."""
    t0 = h.qinfo["period_start"].to_numpy()[h.q]
    he = h.qinfo["horizon_end"].to_numpy()[h.q]
    pe = h.qinfo["period_end"].to_numpy()[h.q]
    return ((h.start - t0) / US_PER_DAY, (h.end - t0) / US_PER_DAY, (he - t0) / US_PER_DAY,
            (pe - t0) / US_PER_DAY)


def _baseline_rows(h: Holding, po: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`metaculus_baseline` of every row at once, each clipped to its own question's horizon."""
    st, en, hz, ac = _days(h)
    return metaculus_baseline(po, st, en, 0.0, hz, ac, n_options=_n_options(h))


def _peer_rows(h: Holding, po: np.ndarray, in_pool_f: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`metaculus_peer` of every question's rows: a compiled pass over all questions for
    large frames (the same operations in the same order, so the same numbers), else a call per
    question."""
    member = np.ones(h.q.shape[0], dtype=bool) if in_pool_f is None else in_pool_f[h.f]
    st, en, hz, ac = _days(h)
    if _use_numba(h.q.shape[0], h.engine):
        from forecasts.scoring.fastpath import peer_rows

        zero = po <= 0
        with np.errstate(divide="ignore"):
            lp = np.where(zero, 0.0, np.log(np.where(zero, 1.0, po)))
        return peer_rows(h.q, st, en, lp, zero, member, hz, ac, len(h.qinfo))
    score = np.zeros(h.q.shape[0])
    cov = np.zeros(h.q.shape[0])
    order = np.argsort(h.q, kind="stable")
    bounds = np.flatnonzero(np.diff(np.concatenate([[-1], h.q[order], [len(h.qinfo)]])))
    for k in range(bounds.shape[0] - 1):
        rows = order[bounds[k]:bounds[k + 1]]
        if rows.shape[0] == 0:
            continue
        first = rows[0]
        score[rows], cov[rows] = metaculus_peer(po[rows], st[rows], en[rows], 0.0, float(hz[first]), float(ac[first]),
                                                in_pool=member[rows])
    return score, cov


def _metaculus(h: Holding, which: str, in_pool_f: np.ndarray | None = None) -> pd.DataFrame:
    po = _outcome_probability(h)
    pe = h.qinfo["period_end"].to_numpy()
    if which == "baseline":
        score, cov = _baseline_rows(h, po)
    else:
        score, cov = _peer_rows(h, po, in_pool_f)
    ng = h.n_groups
    first = np.full(ng, -1, dtype=np.int64)
    first[h.group[::-1]] = np.arange(h.group.shape[0])[::-1]
    counted = h.made < pe[h.q]
    out = pd.DataFrame({
        "question": h.qinfo["id"].to_numpy()[h.q[first]],
        "forecaster": h.fnames[h.f[first]],
        "score": np.bincount(h.group, weights=score, minlength=ng),
        "coverage": np.bincount(h.group, weights=cov, minlength=ng),
        "n_forecasts": np.bincount(h.group, weights=counted, minlength=ng).astype(np.int64),
    })
    out.attrs["excluded"] = dict(h.excluded)
    out.attrs["rule"] = which
    return out


def baseline_scores(forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame,
                    as_of: TimeLike = None) -> pd.DataFrame:
    r"""Metaculus baseline score of each forecaster on each question (higher is better).

    Time-integrated ``100 * ln(K p_outcome) / ln K`` divided by the scheduled
    period ``closes_at - opens_at`` (see the module notes and
    :func:`metaculus_baseline`).

    Parameters
    ----------
    forecasts, questions, resolutions : pandas.DataFrame
        Ledger frames.
    as_of : datetime-like, optional
        Ledger cut-off.

    Returns
    -------
    pandas.DataFrame
        ``question``, ``forecaster``, ``score``, ``coverage``, ``n_forecasts``;
        ``attrs["excluded"]`` as in :func:`time_averaged`.

    Examples
    --------
    >>> from forecasts.scoring.frames import example_frames
    >>> b = baseline_scores(*example_frames())
    >>> b[b.question == "q2"].round(4)
      question forecaster    score  coverage  n_forecasts
    2       q2      alice  67.8072       1.0            1
    3       q2        bob -32.1928       1.0            1
    """
    return Holdings(forecasts, questions, resolutions, as_of).pairs("baseline")


def peer_scores(forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame,
                as_of: TimeLike = None, *, pool: Sequence[str] | None = None) -> pd.DataFrame:
    r"""Metaculus peer score of each forecaster on each question (higher is better).

    ``100 * (ln p_i - mean ln p_j of the pool forecasters standing)``,
    integrated over time and divided by the scheduled period (see
    :func:`metaculus_peer`). The pool is the persons
    (:func:`forecasts.domain.is_person`) unless ``pool`` names it. A member of
    the pool is compared with the *other* members standing, as on Metaculus; a
    forecaster outside it (a model, a crowd aggregate, an imported record, a
    backtest) is still scored, against *all* the members standing, and never
    enters anyone else's reference: an aggregate of the persons is not counted
    twice, a model is measured against the people. While no member of the pool
    stands (other than oneself), the instant scores 0, so a question with no
    person on it gives everyone 0 (coverage is still reported).

    Parameters
    ----------
    forecasts, questions, resolutions : pandas.DataFrame
        Ledger frames.
    as_of : datetime-like, optional
        Ledger cut-off.
    pool : list of str, optional
        The forecasters whose forecasts are the reference. Default: the persons
        among the forecasters.

    Returns
    -------
    pandas.DataFrame
        ``question``, ``forecaster``, ``score``, ``coverage``, ``n_forecasts``:
        every forecaster, in the pool or not.

    Examples
    --------
    >>> from forecasts.scoring.frames import example_frames
    >>> p = peer_scores(*example_frames())
    >>> p[p.question == "q2"].round(4)
      question forecaster    score  coverage  n_forecasts
    2       q2      alice  69.3147       1.0            1
    3       q2        bob -69.3147       1.0            1
    """
    return Holdings(forecasts, questions, resolutions, as_of).pairs("peer", pool=pool)


def _pool_mask(names: np.ndarray, pool: Sequence[str] | None) -> np.ndarray:
    """Which of ``names`` (one per forecaster code) are in the pool: the persons by default."""
    if pool is None:
        return np.fromiter((is_person(str(n)) for n in names), dtype=bool, count=len(names))
    members = forecaster_names(pool) or []
    return np.isin(names.astype(object), np.asarray(members, dtype=object))


def nan_median_columns(values: np.ndarray) -> np.ndarray:
    """The median of each column of a 2-D array, ignoring NaN (NaN where a column has no
    number): the very values of ``np.nanmedian(values, axis=0)`` (the mean of the two middle
    values, ``(low + high) / 2``), from one sort instead of a masked array per call.

    >>> nan_median_columns(np.array([[1.0, np.nan, 2.0], [3.0, np.nan, np.nan], [4.0, np.nan, 5.0]]))
    array([3. , nan, 3.5])
    """
    srt = np.sort(values, axis=0)  # NaN sorts last
    n = (~np.isnan(values)).sum(axis=0)
    hi = n // 2
    lo = np.where(n % 2 == 1, hi, hi - 1)
    cols = np.arange(values.shape[1])
    has = n > 0
    out = np.full(values.shape[1], np.nan)
    out[has] = (srt[lo[has], cols[has]] + srt[hi[has], cols[has]]) / 2.0
    return out


# -------------------------------------------------------- Good Judgment style
def relative_scores(forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame,
                    rule: LossRule = "brier", as_of: TimeLike = None, *,
                    pool: Sequence[str] | None = None) -> pd.DataFrame:
    """Good Judgment style relative score: yours minus the median forecaster's, daily.

    For every UTC calendar day of a question's scoring period, each forecaster
    with a forecast standing at the end of that day (or at the period end on
    the last day) gets its score under ``rule``; the day's median is taken over
    the forecasters of the pool standing that day: the persons
    (:func:`forecasts.domain.is_person`) unless ``pool`` names it. A person's
    own score is part of the median it is compared with. A forecaster outside
    the pool (a model, a crowd aggregate, an imported record, a backtest) is
    scored against the same persons' median and never enters it. A
    forecaster's relative score is the mean over **all** days of the period of
    (own score - median), with days before their first forecast counting 0
    (Good Judgment Open assigns the median's score to them), and so do days on
    which no member of the pool stands (there is no median to compare with;
    they are not in ``days_covered``). Negative is better.

    Parameters
    ----------
    forecasts, questions, resolutions : pandas.DataFrame
        Ledger frames.
    rule : {"brier", "log", "spherical"}
        Daily score (default Brier, as on Good Judgment Open).
    as_of : datetime-like, optional
        Ledger cut-off.
    pool : list of str, optional
        Forecasters whose median is the reference. Default: the persons among
        the forecasters.

    Returns
    -------
    pandas.DataFrame
        ``question``, ``forecaster``, ``relative``, ``median`` (mean daily
        median over the days the forecaster was standing), ``own`` (mean
        daily own score over those days), ``days_covered``, ``days``.

    Examples
    --------
    >>> from forecasts.scoring.frames import example_frames
    >>> r = relative_scores(*example_frames())
    >>> r[r.question == "q2"].round(3)
      question forecaster  relative  median   own  days_covered  days
    2       q2      alice     -0.16     0.2  0.04            10    10
    3       q2        bob      0.16     0.2  0.36            10    10
    """
    check_choice(rule, RULES, "rule")
    return Holdings(forecasts, questions, resolutions, as_of).relative(rule, pool=pool)


def _by_group(h: Holding) -> tuple[np.ndarray, np.ndarray]:
    """The rows laid out group after group, each group in holding order (``made_at``, then
    ``seq``: ``h.order`` is a row's place in it), and each group's ``[start, stop)`` there."""
    size = np.bincount(h.group, minlength=h.n_groups)
    bounds = np.concatenate([[0], np.cumsum(size)]).astype(np.int64)
    layout = np.empty(h.group.shape[0], dtype=np.int64)
    layout[bounds[:-1][h.group] + h.order] = np.arange(h.group.shape[0])
    return layout, bounds


def _relative(h: Holding, rule: str, pool: Sequence[str] | None) -> pd.DataFrame:
    """:func:`relative_scores` of prepared frames: a compiled pass over all questions for large
    frames (the same operations in the same order, sums as numpy's, so the same numbers),
    else numpy question by question."""
    vals = _row_scores(h, rule)
    names = h.fnames
    in_pool_f = _pool_mask(names, pool)
    ps = h.qinfo["period_start"].to_numpy()
    pe = h.qinfo["period_end"].to_numpy()
    layout, gb = _by_group(h)
    first_of_group = layout[gb[:-1]]
    gq = h.q[first_of_group]
    gf = h.f[first_of_group]
    qids = h.qinfo["id"].to_numpy()
    columns = ["question", "forecaster", "relative", "median", "own", "days_covered", "days"]
    if _use_numba(h.q.shape[0], h.engine):
        from forecasts.scoring.fastpath import relative_days

        rel, med, own, covered, days = relative_days(layout, gb, gq, in_pool_f[gf], h.start, h.end, vals, ps, pe,
                                                     len(h.qinfo))
        shown = np.flatnonzero(days > 0)
        shown = shown[np.argsort(gq[shown], kind="stable")]  # by question, then group
        out = pd.DataFrame({"question": qids[gq[shown]], "forecaster": names[gf[shown]],
                            "relative": rel[shown], "median": med[shown], "own": own[shown],
                            "days_covered": covered[shown], "days": days[shown]}, columns=columns)
        out.attrs["excluded"] = dict(h.excluded)
        return out
    records = []
    # per question: collect its groups
    by_q = pd.Series(np.arange(h.n_groups)).groupby(gq).apply(list)
    for jq, groups in by_q.items():
        j = int(jq)  # type: ignore[arg-type]
        day0 = ps[j] - ps[j] % US_PER_DAY
        ndays = int(-(-(pe[j] - day0) // US_PER_DAY))
        if ndays <= 0:
            continue
        evals = np.minimum(day0 + US_PER_DAY * np.arange(1, ndays + 1), pe[j])
        # each forecaster's forecast standing at the end of each day: one search for all of the
        # question's forecasters, their start times (in holding order, so not decreasing within
        # each) laid end to end, each shifted by a band wider than any start or day so that a day
        # of forecaster r finds the last start of r before it, or the end of the band before
        # (nothing standing)
        garr = np.asarray(groups, dtype=np.int64)
        lens = gb[garr + 1] - gb[garr]
        rows = np.concatenate([layout[gb[g]:gb[g + 1]] for g in groups])
        first = np.concatenate([[0], np.cumsum(lens)[:-1]])
        st = h.start[rows] - day0  # >= 0: a forecast counts from the period start
        band = max(int(st.max()), int(evals[-1] - day0)) + 1
        owner = np.repeat(np.arange(len(groups), dtype=np.int64), lens)
        keys = st + owner * band
        days = (evals - day0)[None, :] + (np.arange(len(groups), dtype=np.int64) * band)[:, None]
        idx = np.searchsorted(keys, days.ravel(), side="left").reshape(days.shape) - 1
        ok = idx >= first[:, None]
        hit = rows[np.where(ok, idx, 0)]
        ok &= h.end[hit] >= evals[None, :]  # a late retraction ended it
        mat = np.where(ok, vals[hit], np.nan)
        pool_rows = in_pool_f[gf[garr]]
        with np.errstate(all="ignore"):
            if pool_rows.any() and np.isfinite(mat[pool_rows]).any():
                med = nan_median_columns(mat[pool_rows])
            else:
                med = np.full(ndays, np.nan)
            # elementwise for all the question's forecasters at once; the sums stay per row
            standing = ~np.isnan(mat) & ~np.isnan(med)
            diff = np.where(standing, mat - np.where(standing, med, 0.0), 0.0)
        nds = standing.sum(axis=1)
        qid = qids[j]
        for r in range(len(groups)):
            nd = int(nds[r])
            st_r = standing[r]
            # x.sum() / n is what x.mean() computes, without its overhead
            records.append((qid, names[gf[garr[r]]], float(diff[r].sum() / ndays),
                            float(med[st_r].sum() / nd) if nd else math.nan,
                            float(mat[r][st_r].sum() / nd) if nd else math.nan, nd, ndays))
    out = pd.DataFrame(records, columns=columns)
    out.attrs["excluded"] = dict(h.excluded)
    return out


# -------------------------------------------------------------- score tables
def tags_of(questions: pd.DataFrame) -> dict[str, list[str]]:
    """Question id -> list of tags (``["(untagged)"]`` when it has none)."""
    if "tags" not in questions.columns:
        return {q: [UNTAGGED] for q in questions["id"]}
    out = {}
    for q, t in zip(questions["id"], questions["tags"], strict=True):
        tags = [str(x) for x in t] if isinstance(t, (list, tuple, np.ndarray)) else []
        out[q] = tags or [UNTAGGED]
    return out


def _group_keys(frame: pd.DataFrame, by: str, questions: pd.DataFrame) -> pd.DataFrame:
    """Add a ``group`` column (exploding tags) to a frame with ``question``/``forecaster``."""
    qi = questions.set_index("id")
    if by == "forecaster":
        return frame.assign(group=frame["forecaster"].astype(str))
    if by == "question":
        return frame.assign(group=frame["question"].astype(str))
    if by == "kind":
        return frame.assign(group=frame["question"].map(qi["kind"]).astype(str))
    if by == "period":
        if frame.empty:  # nothing to map (pandas cannot map an empty column onto no closes)
            return frame.assign(group=pd.Series(dtype=object, index=frame.index))
        closes = pd.to_datetime(frame["question"].map(qi["closes_at"]))
        return frame.assign(group=closes.dt.to_period("Q").astype(str))
    tags = frame["question"].map(tags_of(questions))
    return frame.assign(group=tags).explode("group").assign(
        group=lambda d: d["group"].astype(str))


def score_table(forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame,
                by: ScoreGrouping = "forecaster", rule: ScoreRule = "brier",
                relative_to: str | None = None, as_of: TimeLike = None, *,
                log_base: LogBase = "e") -> pd.DataFrame:
    """Score table by forecaster, tag, question, kind or period.

    Each (question, forecaster) pair is first scored over time
    (:func:`time_averaged`, :func:`baseline_scores` or :func:`peer_scores`),
    then pairs are averaged within each group with equal weight.

    Parameters
    ----------
    forecasts, questions, resolutions : pandas.DataFrame
        Ledger frames.
    by : {"forecaster", "tag", "question", "kind", "period"}
        Grouping. ``"tag"`` counts a question under each of its tags
        (``(untagged)`` if none); ``"period"`` is the calendar quarter of the
        scheduled close (``closes_at``), e.g. ``2024Q1``.
    rule : {"brier", "log", "spherical", "baseline", "peer"}
        The first three are losses (lower is better); the Metaculus
        ``baseline`` and ``peer`` scores are higher-is-better
        (``attrs["higher_is_better"]``).
    relative_to : None, "crowd:median" or a forecaster name
        ``"crowd:median"``: Good Judgment style daily relative score against the
        median person (:func:`relative_scores`: the persons are the pool; models,
        crowds, imports and backtests are scored against their median). A
        forecaster name (e.g. ``"model:hazard"`` or a stored aggregate): own
        time-averaged score minus theirs on each question both forecast; a name
        with no forecast in ``forecasts`` raises
        :class:`~forecasts.errors.UnknownForecaster`. Adds the columns
        ``relative`` and ``n_relative``. Not available for ``baseline``/``peer``,
        which are relative already (and whose pool is the persons too, see
        :func:`peer_scores`).
    as_of : datetime-like, optional
        Ledger cut-off.
    log_base : {"e", 2}
        Nats or bits for ``rule="log"``.

    Raises
    ------
    forecasts.errors.InvalidInput
        For a ``by``, ``rule``, ``relative_to`` or ``log_base`` outside the lists
        above, or malformed frames; :class:`~forecasts.errors.UnknownForecaster`
        (a subclass) for a ``relative_to`` forecaster with no forecasts.

    Returns
    -------
    pandas.DataFrame
        Indexed by the group: ``n_questions``, ``n_forecasts``, ``score``
        (mean over pairs with positive coverage), ``coverage`` (mean),
        ``n_infinite`` (pairs with an infinite score),
        ``excluded_ambiguous``, ``excluded_annulled``, ``excluded_unresolved``
        (questions of the group left out, counted per group), and with
        ``relative_to`` also ``relative`` and ``n_relative``.
        ``attrs["excluded"]`` has the overall counts of questions left out,
        ``attrs["rule"]``, ``attrs["higher_is_better"]``, ``attrs["by"]``.

    Examples
    --------
    >>> from forecasts.scoring.frames import example_frames
    >>> t = score_table(*example_frames(), by="forecaster")
    >>> t[["n_questions", "n_forecasts", "score", "excluded_ambiguous"]].round(4)  # doctest: +NORMALIZE_WHITESPACE
                n_questions  n_forecasts   score  excluded_ambiguous
    forecaster
    alice                 4            5  0.1013                   1
    bob                   4            4  0.2362                   0
    """
    check_choice(by, SCORE_GROUPINGS, "by")
    check_choice(rule, SCORE_RULES, "rule")
    rl._log_factor(log_base)
    _check_frames(forecasts, questions, resolutions)
    _check_relative_to(relative_to, rule)
    return Holdings(forecasts, questions, resolutions, as_of).table(by, rule, relative_to, log_base=log_base)


def _check_relative_to(relative_to: object, rule: object) -> None:
    if relative_to is None:
        return
    if not isinstance(relative_to, str):
        raise InvalidInput(f"relative_to must be \"crowd:median\" or a forecaster name, "
                           f"got {type(relative_to).__name__}")
    if rule not in RULES:
        raise InvalidInput("relative_to applies to brier, log and spherical; baseline "
                           "and peer scores are relative already")


class Holdings:
    """Ledger frames prepared once for every time-averaged score of them.

    Every score of this module starts from the same preparation of the frames: the ``as_of``
    cut, each question's status, and each forecast's holding interval (the rule of the module
    docstring).  :func:`score_table`, :func:`baseline_scores`, :func:`peer_scores` and
    :func:`relative_scores` each prepare their frames here and ask for one thing; a caller that
    needs several (a report's score table has the Brier, log, baseline and peer scores, two
    relative scores and every pair's Brier) prepares them once and asks for each, and gets the
    very numbers of those functions.

    >>> from forecasts.scoring.frames import example_frames
    >>> held = Holdings(*example_frames())
    >>> held.table(rule="brier")["score"].equals(score_table(*example_frames())["score"])
    True
    """

    def __init__(self, forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame,
                 as_of: TimeLike = None, *, forecaster: str | Sequence[str] | None = None,
                 engine: Engine = "auto") -> None:
        self.forecasts = forecasts
        self.questions = questions
        self.holding = _prepare(forecasts, questions, resolutions, as_of=as_of, forecaster=forecaster,
                                engine=engine)
        self._pairs: dict[Any, pd.DataFrame] = {}
        self._counts: dict[str, list[pd.Series]] = {}

    @property
    def excluded(self) -> dict[str, int]:
        """The questions left out (with at least one forecast), by reason."""
        return dict(self.holding.excluded)

    def pairs(self, rule: ScoreRule = "brier", *, log_base: LogBase = "e",
              pool: Sequence[str] | None = None) -> pd.DataFrame:
        """Each (question, forecaster) pair's time-averaged score under ``rule``: the frame of
        :func:`time_averaged` (brier, log, spherical), :func:`baseline_scores` or
        :func:`peer_scores` (``pool`` as there).  Computed once per rule; do not modify it."""
        check_choice(rule, SCORE_RULES, "rule")
        key = (rule, log_base if rule == "log" else None, None if pool is None else tuple(pool))
        if key not in self._pairs:
            h = self.holding
            if rule in RULES:
                out = _aggregate(h, _row_scores(h, rule, log_base))
                out.attrs["excluded"] = dict(h.excluded)
                out.attrs["rule"] = rule
            elif rule == "baseline":
                out = _metaculus(h, "baseline")
            else:
                out = _metaculus(h, "peer", _pool_mask(h.fnames, pool))
            self._pairs[key] = out
        return self._pairs[key]

    def relative(self, rule: LossRule = "brier", *, pool: Sequence[str] | None = None) -> pd.DataFrame:
        """:func:`relative_scores` of the frames."""
        check_choice(rule, RULES, "rule")
        key = ("relative", rule, None if pool is None else tuple(pool))
        if key not in self._pairs:
            self._pairs[key] = _relative(self.holding, rule, pool)
        return self._pairs[key]

    def excluded_pairs(self) -> pd.DataFrame:
        """The distinct (question, forecaster) pairs of the questions left out, with the reason
        (``ambiguous``, ``annulled``, ``unresolved`` or ``unknown_question``), in the order of
        their first forecast.  Computed once; do not modify it."""
        if "excluded_pairs" not in self._pairs:
            h = self.holding
            reasons = np.array(["scored", "ambiguous", "annulled", "unresolved", "unknown_question"], dtype=object)
            index = {str(r): i for i, r in enumerate(reasons)}
            code = np.array([index[str(st)] for st in h.status] + [4], dtype=np.int8)  # each question's, then unknown
            code = code[np.append(h.all_qpos, -1)[h.all_q]]  # no question (code -1) or unknown: the last
            rows = np.flatnonzero(code != 0)
            key = h.all_q[rows].astype(np.int64) * max(len(h.all_names), 1) + h.all_f[rows]
            _, first = np.unique(key, return_index=True)
            rows = rows[np.sort(first)]
            self._pairs["excluded_pairs"] = pd.DataFrame({
                "question": _obj(np.append(h.all_qids, np.array([None], dtype=object))[h.all_q[rows]]),
                "forecaster": _obj(h.all_names[h.all_f[rows]]), "reason": _obj(reasons[code[rows]])})
        return self._pairs["excluded_pairs"]

    def calibration_cases(self, forecaster: str | Sequence[str] | None = None, *,
                          weighting: Weighting = "time") -> pd.DataFrame:
        """:func:`forecasts.scoring.calibration_cases` of the frames (of ``forecaster`` only, if
        given): the forecasts on binary questions resolved yes or no and past their scheduled
        close (at ``as_of``), made before the period end, with their weights."""
        check_choice(weighting, ("time", "forecast", "last"), "weighting")
        h = self.holding
        qi = h.qinfo
        binary, past = _calibrated(qi["kind"].to_numpy(dtype=object), qi["horizon_end"].to_numpy(), h.cutoff_us)
        rows = (binary & past)[h.q] & (h.made < qi["period_end"].to_numpy()[h.q])
        names = forecaster_names(forecaster)
        if names is not None:
            rows &= np.isin(h.fnames.astype(object), np.asarray(names, dtype=object))[h.f]
        rows = np.flatnonzero(rows)
        excluded = self._calibration_excluded(names)
        cols = ["question", "forecaster", "p", "y", "weight", "kind", "closes_at"]
        if not rows.shape[0]:
            out = pd.DataFrame({c: [] for c in cols})
            out.attrs["excluded"] = excluded
            return out
        group = h.group[rows]
        if weighting == "time":
            duration = pd.Series(h.dur[rows] / 1e6)
            tot = duration.groupby(group, sort=False).transform("sum")
            weight = np.where(tot > 0, duration / tot.where(tot > 0, 1.0), 0.0)
        elif weighting == "forecast":
            weight = np.ones(rows.shape[0])
        else:
            order = pd.Series(h.order[rows])
            weight = (order == order.groupby(group, sort=False).transform("max")).to_numpy(dtype=np.float64)
        kinds = qi["kind"].to_numpy(dtype=object)[h.q[rows]]
        outcome = qi["outcome"].to_numpy(dtype=object)[h.q[rows]]
        out = pd.DataFrame({
            "question": h.frame["question"].to_numpy(dtype=object)[rows],
            "forecaster": h.frame["forecaster"].to_numpy(dtype=object)[rows],
            "p": h.frame["probability"].to_numpy(dtype=np.float64)[rows],
            "y": np.where(outcome == "yes", 1.0, 0.0),
            "weight": np.asarray(weight, dtype=np.float64), "kind": kinds,
            "closes_at": qi["horizon_end"].to_numpy()[h.q[rows]].astype("datetime64[us]"),
        })
        out = out[out["weight"] > 0].reset_index(drop=True)
        out.attrs["excluded"] = excluded
        return out

    def _calibration_excluded(self, names: list[str] | None) -> dict[str, int]:
        """The questions calibration leaves out (with a forecast by ``names``, or anyone's), by
        reason: those of the scores, then ``before_scheduled_close`` and ``not_binary``."""
        h = self.holding
        excluded = dict.fromkeys((*EXCLUSION_REASONS, "before_scheduled_close", "not_binary"), 0)
        codes = h.all_q
        if names is not None:
            codes = codes[np.isin(h.all_names.astype(object), np.asarray(names, dtype=object))[h.all_f]]
        codes = np.unique(codes[codes >= 0])
        pos = h.all_qpos[codes]
        excluded["unknown_question"] = int((pos < 0).sum())
        pos = pos[pos >= 0]
        status = h.status[pos]
        for reason in ("ambiguous", "annulled", "unresolved"):
            excluded[reason] = int((status == reason).sum())
        pos = pos[status == "scored"]
        binary, past = _calibrated(self.questions["kind"].to_numpy(dtype=object)[pos],
                                   fr.as_us(self.questions["closes_at"])[pos], h.cutoff_us)
        excluded["not_binary"] = int((~binary).sum())
        excluded["before_scheduled_close"] = int((binary & ~past).sum())
        return excluded

    def _excluded_counts(self, by: ScoreGrouping) -> list[pd.Series]:
        """The questions left out per group, one Series per reason (``excluded_ambiguous``,
        ``excluded_annulled``, ``excluded_unresolved``): the same for every rule, so counted
        once per grouping."""
        if by not in self._counts:
            ex = self.excluded_pairs()
            counts = []
            for reason in ("ambiguous", "annulled", "unresolved"):
                sub = ex[ex["reason"] == reason]
                if len(sub):
                    cnt = _group_keys(sub, by, self.questions).groupby("group")["question"].nunique()
                else:
                    cnt = pd.Series(dtype=np.int64)
                counts.append(cnt.rename(f"excluded_{reason}"))
            self._counts[by] = counts
        return self._counts[by]

    def table(self, by: ScoreGrouping = "forecaster", rule: ScoreRule = "brier",
              relative_to: str | None = None, *, log_base: LogBase = "e") -> pd.DataFrame:
        """The :func:`score_table` of the frames (arguments as there)."""
        check_choice(by, SCORE_GROUPINGS, "by")
        check_choice(rule, SCORE_RULES, "rule")
        rl._log_factor(log_base)
        _check_relative_to(relative_to, rule)
        if (relative_to is not None and relative_to != "crowd:median"
                and not (self.forecasts["forecaster"] == relative_to).any()):
            raise UnknownForecaster(f"reference forecaster {relative_to!r} has no forecasts, so no "
                                    "scored forecasts to compare with")
        questions = self.questions
        pairs = self.pairs(rule, log_base=log_base)
        excluded = dict(pairs.attrs.get("excluded", {}))
        if relative_to is not None:
            if relative_to == "crowd:median":
                rel = self.relative(rule)  # type: ignore[arg-type]
                pairs = pairs.merge(rel[["question", "forecaster", "relative"]],
                                    on=["question", "forecaster"], how="left")
            else:
                ref = pairs[pairs["forecaster"] == relative_to][["question", "score"]]
                if ref.empty:
                    raise InvalidInput(f"reference forecaster {relative_to!r} has no scored "
                                       "forecasts (none on a question resolved to an outcome)")
                pairs = pairs.merge(ref.rename(columns={"score": "ref"}), on="question",
                                    how="left")
                pairs["relative"] = pairs["score"] - pairs["ref"]
                pairs = pairs.drop(columns="ref")
        grouped = _group_keys(pairs, by, questions)
        g = grouped.groupby("group", sort=True)
        valid = grouped.assign(s=grouped["score"].where(grouped["coverage"] > 0),
                               infinite=np.isinf(grouped["score"].to_numpy(dtype=np.float64)))
        out = pd.DataFrame({
            "n_questions": g["question"].nunique(),
            "n_forecasts": g["n_forecasts"].sum(),
            "score": valid.groupby("group", sort=True)["s"].mean(),
            "coverage": g["coverage"].mean(),
            "n_infinite": valid.groupby("group", sort=True)["infinite"].sum(),
        })
        for cnt in self._excluded_counts(by):
            out = out.join(cnt, how="outer")
        for reason in ("ambiguous", "annulled", "unresolved"):
            out[f"excluded_{reason}"] = out[f"excluded_{reason}"].fillna(0).astype(np.int64)
        for col in ("n_questions", "n_forecasts", "n_infinite"):
            out[col] = out[col].fillna(0).astype(np.int64)
        if relative_to is not None:
            out["relative"] = g["relative"].mean()
            out["n_relative"] = g["relative"].count().reindex(out.index).fillna(0).astype(np.int64)
        out.index.name = by
        out.attrs["excluded"] = excluded
        out.attrs["rule"] = rule
        out.attrs["higher_is_better"] = rule in ("baseline", "peer")
        out.attrs["by"] = by
        return out
