"""The time-averaged score table as one SQL query, so that the database computes it.

:func:`~forecasts.scoring.score_table` reads three pandas frames; at a million forecasts, reading
them costs several times more than scoring them.  Here the same table is computed where the
ledger lives: :func:`score_query` builds one query over the three relations the frames are read
from (the caller gives their SQL: the ledger's as-of reads), and :func:`score_rows` turns its
rows into the rows of ``score_table``, plain dicts.  Standard library only: nothing here loads
numpy or pandas.  :mod:`forecasts.scoring.timeavg` stays the reference; this module computes
the very same numbers (to rounding, about 1e-15; a test compares every column on random
ledgers), for what it covers.

What it covers (:func:`covers`; anything else goes to ``score_table``)
---------------------------------------------------------------------
* rules ``brier`` (0-1), ``log`` (nats, or bits with ``log_base=2``), ``spherical`` (a loss)
  and the Metaculus ``baseline`` (higher is better); not ``peer`` (each instant's pool of
  others) nor ``relative_to``;
* every grouping: ``forecaster``, ``question``, ``kind``, ``period`` (the calendar quarter of
  the close, ``2024Q1``) and ``tag`` (a question under each of its tags, ``(untagged)`` if it
  has none).  The query groups by forecaster, or by question; :func:`score_rows` adds the
  questions' sums up by kind, period or tag;
* binary questions.  A question to score that is not binary (or one resolved other than yes
  or no, or a forecast on it whose probability is missing or outside [0, 1]) makes
  :func:`score_rows` return None: the caller then scores with ``score_table``, which scores
  multiple choice and names what is malformed.  Unresolved, ambiguous and annulled questions
  of any kind are only counted, so they never send a ledger there.

The semantics are ``timeavg``'s (its module docstring), step by step
--------------------------------------------------------------------
* a question is scored when its latest resolution is an outcome; ``ambiguous``, ``annulled``
  and unresolved questions, and forecasts on a question not in ``questions``, are counted
  (questions with at least one forecast) and left out;
* its period runs from ``opens_at`` to ``min(closes_at, resolved_at)``;
* a forecast holds from ``max(made_at, opens_at)`` until the same forecaster's next forecast on
  the question (``lead(made_at)`` in ``made_at, seq`` order), the period end, or its
  ``ended_at`` (a late retraction; one after ``$as_of`` is not known yet when the read is as of
  a given time); durations are whole microseconds, as in ``timeavg``;
* a (question, forecaster) pair scores ``sum(S * duration) / sum(duration)`` over its positive
  durations (no score when nothing was covered), ``coverage = covered / period``; the Metaculus
  baseline ``100 * log2(2 p_outcome)`` is integrated and divided by the *scheduled* period
  (``closes_at - opens_at``), and so is its coverage; a forecast counts in ``n_forecasts`` when
  made before the period end;
* a group's ``score`` is the mean over its pairs with positive coverage, ``coverage`` the mean
  over all its pairs, ``n_infinite`` the pairs whose score is infinite, ``excluded_*`` the
  questions of the group left out for that reason.

Certain forecasts: a probability of 0 on the outcome that happened scores ``inf`` under the log
score and ``-inf`` under the baseline, written by a ``CASE`` before any logarithm is taken
(PostgreSQL refuses ``ln(0)``; DuckDB returns ``-inf``); nothing is clipped.

SQL: the common subset of DuckDB and PostgreSQL (as :mod:`forecasts.ledger.sql`, whose ``$name``
marks it uses for parameters), but for one expression the caller gives in its dialect: a time as
whole microseconds since the epoch (``epoch_us``).  The forecasts are read once; a window (``lead``) over them, partitioned by
question and forecaster, finds each forecast's successor.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from forecasts.domain import IMPORT_SOURCE, track_record
from forecasts.scoring.options import EXCLUSION_REASONS, SCORE_GROUPINGS, UNTAGGED

__all__ = ["SQL_RULES", "covers", "score_query", "score_rows", "value_sql"]

#: The rules this path computes (the loss rules and the Metaculus baseline; not ``peer``).
SQL_RULES = ("brier", "log", "spherical", "baseline")
_INF = "CAST('Infinity' AS DOUBLE PRECISION)"
#: Below it, a number's square underflows (1e-100 squared is 1e-200; the smallest double is 5e-324).
_TINY = "1e-100"


def covers(rule: object, by: object, relative_to: object = None, log_base: object = "e") -> bool:
    """Whether :func:`score_query` computes this score table (binary questions assumed; the
    data are checked by :func:`score_rows`).  Values it does not know (a misspelt rule) are not
    covered, so that ``score_table`` refuses them in its own words."""
    return (relative_to is None and isinstance(rule, str) and rule in SQL_RULES
            and isinstance(by, str) and by in SCORE_GROUPINGS
            and isinstance(log_base, str | int) and not isinstance(log_base, bool) and log_base in ("e", 2))


def value_sql(rule: str) -> str:
    """SQL of one forecast's score under ``rule``, from ``p`` (P(yes)), ``y`` (1 for yes, else
    0) and ``po`` (P(outcome)): the formulas of :mod:`forecasts.scoring.rules` (and
    ``timeavg``'s baseline).  NULL for a probability outside [0, 1] or NaN (never computed: the
    query reports it and the frames' path names it); a logarithm taken only of a positive
    number; a square below 1e-200 written 0 (PostgreSQL raises on a product that underflows to
    0, where numpy gives 0 or a subnormal number: a difference below 1e-200)."""
    valid = "p >= 0 AND p <= 1"
    if rule == "brier":
        return f"CASE WHEN NOT ({valid}) THEN NULL WHEN abs(p - y) < {_TINY} THEN 0.0 ELSE (p - y) * (p - y) END"
    if rule == "spherical":
        return (f"CASE WHEN {valid} THEN 1.0 - po / sqrt(CASE WHEN p < {_TINY} THEN 0.0 ELSE p * p END "
                "+ (1.0 - p) * (1.0 - p)) END")
    if rule == "log":
        return f"CASE WHEN NOT ({valid}) THEN NULL WHEN po > 0 THEN -ln(po) * $log_factor ELSE {_INF} END"
    return f"CASE WHEN NOT ({valid}) THEN NULL WHEN po > 0 THEN 100.0 * ln(2.0 * po) / $ln_two ELSE -{_INF} END"


def score_query(forecasts: str, questions: str, resolutions: str, *, rule: str, by: str,
                log_base: object = "e", live_only: bool = False, backtests: bool = False,
                ended_by_as_of: bool = False, epoch_us: Callable[[str], str]) -> tuple[str, dict[str, Any]]:
    """The query of a score table and its parameters (``$as_of`` is the caller's).

    Parameters
    ----------
    forecasts, questions, resolutions : str
        SQL of the three relations, read as of ``$as_of``: forecasts with their corrections
        applied (``seq, question, forecaster, made_at, probability, source, backtest,
        ended_at``), questions (``id, kind, opens_at, closes_at, tags`` as JSON text) and the
        latest resolution of each question (``question, outcome, resolved_at``).
    rule, by, log_base
        As :func:`~forecasts.scoring.score_table` (see :func:`covers`).  ``by`` other than
        ``forecaster`` groups by question; :func:`score_rows` regroups.
    live_only : bool
        Leave imported forecasts (source ``import:...``) out, as
        :func:`~forecasts.scoring.live_only` does.
    backtests : bool
        Keep backtest rows; otherwise they are left out and counted.
    ended_by_as_of : bool
        An ``ended_at`` after ``$as_of`` is not known yet (the read is as of a given time).
    epoch_us : callable
        SQL for a timestamp as whole microseconds since the epoch, in the ledger's dialect
        (:func:`forecasts.ledger.sql.epoch_us`).

    Returns
    -------
    (str, dict)
        The query and its parameters.  Its rows (for :func:`score_rows`) are the sums of each
        question (``level`` ``question``: with ``kind``, ``closes_at`` and ``tags``), and by
        forecaster those of each forecaster too (``level`` ``forecaster``).
    """
    if not covers(rule, by, None, log_base):
        raise ValueError(f"the SQL path does not compute rule {rule!r} by {by!r} (log base {log_base!r})")
    imported = f"(source LIKE '{IMPORT_SOURCE}%')"
    kept = " AND ".join(([] if backtests else ["NOT backtest"]) + ([f"NOT {imported}"] if live_only else [])) or "true"
    stop = f"CASE WHEN ended_at <= $as_of THEN {epoch_us('ended_at')} END" if ended_by_as_of else epoch_us("ended_at")
    baseline, by_forecaster, filtered = rule == "baseline", by == "forecaster", kept != "true"
    # each forecast's score, weighted by how long it held (the baseline: by its share of the scheduled period)
    num = "CASE WHEN dur > 0 THEN s * dur / scheduled ELSE 0 END" if baseline else "CASE WHEN dur > 0 THEN s * dur ELSE 0 END"
    # each pair's sums over its forecasts kept: only what the rule, the grouping and the filters need
    only = "kept AND " if filtered else ""
    pair_sums = ", ".join(x.replace(" FILTER (WHERE true)", "") for x in [
        f"sum({num}) FILTER (WHERE {only}true) AS num",
        f"CAST(sum(dur) FILTER (WHERE {only}true) AS DOUBLE PRECISION) AS covered",
        (f"sum(CASE WHEN dur > 0 THEN CAST(dur AS DOUBLE PRECISION) / scheduled ELSE 0 END) FILTER (WHERE {only}true) "
         "AS held") if baseline else "0 AS held",
        f"count(*) FILTER (WHERE {only}counted) AS n",
        f"count(*) FILTER (WHERE {only}(p IS NULL OR p < 0 OR p > 1)) AS n_bad",
        f"count(*) FILTER (WHERE {only}true) AS n_kept" if filtered else "1 AS n_kept",
        "0 AS n_backtest" if backtests else "count(*) FILTER (WHERE backtest) AS n_backtest",
        *([f"bool_or(imported) FILTER (WHERE {only}true) AS any_imported",
           f"bool_and(imported) FILTER (WHERE {only}true) AS all_imported"] if by_forecaster else [])])
    # each pair's score and coverage, and whether it counts in its group's mean score
    score = "sp.num" if baseline else "CASE WHEN sp.covered > 0 THEN sp.num / sp.covered END"
    coverage = "sp.held" if baseline else \
        "CASE WHEN q.pe > q.ps THEN sp.covered / CAST(q.pe - q.ps AS DOUBLE PRECISION) ELSE 0.0 END"
    valid = "held > 0" if baseline else "covered > 0"
    scored = "status = 'scored'"
    # a group's sums over its pairs; the questions left out (each pair of a forecaster is a question of its
    # own), those this query does not score (score_rows then declines the table) and the backtest rows
    counts = [*(f"CAST(count(*) FILTER (WHERE status = '{r}') AS BIGINT) AS {r}" for r in EXCLUSION_REASONS),
              f"CAST(count(*) FILTER (WHERE {scored} AND (kind <> 'binary' OR outcome NOT IN ('yes', 'no') "
              "OR n_bad > 0)) AS BIGINT) AS uncovered",
              "CAST(coalesce(sum(n_backtest), 0) AS BIGINT) AS backtest_rows"]
    sums = ", ".join([
        f"CAST(count(*) FILTER (WHERE {scored}) AS BIGINT) AS n_pairs",
        f"CAST(coalesce(sum(n) FILTER (WHERE {scored}), 0) AS BIGINT) AS n_forecasts",
        f"sum(score) FILTER (WHERE {scored} AND {valid}) AS score_sum",
        f"CAST(count(*) FILTER (WHERE {scored} AND {valid}) AS BIGINT) AS score_n",
        f"sum(coverage) FILTER (WHERE {scored}) AS coverage_sum",
        f"CAST(count(*) FILTER (WHERE {scored} AND (score = {_INF} OR score = -{_INF})) AS BIGINT) AS n_infinite",
        *counts])
    if by_forecaster:  # a row per forecaster, and a slim one per question for the questions left out overall
        groups = f"""SELECT 'forecaster' AS level, forecaster, NULL AS question, NULL AS kind, NULL AS closes_at,
       NULL AS tags, {sums}, bool_or(any_imported) AS any_imported, bool_and(all_imported) AS all_imported
FROM p GROUP BY forecaster
UNION ALL
SELECT 'question', NULL, question, NULL, NULL, NULL, 0 AS n_pairs, 0 AS n_forecasts, NULL AS score_sum,
       0 AS score_n, NULL AS coverage_sum, 0 AS n_infinite, {", ".join(counts)}, NULL, NULL
FROM p GROUP BY question"""
    else:  # a row per question: score_rows adds them up by kind, period or tag
        groups = f"""SELECT 'question' AS level, NULL AS forecaster, question, kind, closes_at, tags, {sums},
       NULL AS any_imported, NULL AS all_imported
FROM p GROUP BY question, kind, closes_at, tags"""
    # Rows left out (backtests; imports with live_only) stay in the stream, in partitions of their own, so that
    # no filter cuts the forecasts' estimated number before the joins (DuckDB then builds each join's hash
    # table on the questions, not on the forecasts); the pairs' sums leave them out and count the backtests.
    carried = ", ".join(["p", "made", "stop", "seq", *(["imported"] if by_forecaster else []),
                         *([] if backtests else ["backtest"]), *(["kept"] if filtered else [])])
    sql = f"""
WITH f AS (SELECT question, forecaster, {epoch_us('made_at')} AS made, probability AS p, {stop} AS stop, seq,
                  {imported} AS imported, backtest, {kept} AS kept
           FROM ({forecasts}) fr),
q AS (SELECT qs.id, qs.kind, qs.closes_at, qs.tags, rs.outcome,
             CASE WHEN rs.question IS NULL THEN 'unresolved' WHEN rs.outcome IN ('ambiguous', 'annulled')
                  THEN rs.outcome ELSE 'scored' END AS status,
             {epoch_us('qs.opens_at')} AS ps, {epoch_us('qs.closes_at')} AS he,
             {epoch_us('CASE WHEN rs.resolved_at < qs.closes_at THEN rs.resolved_at ELSE qs.closes_at END')} AS pe
      FROM ({questions}) qs LEFT JOIN ({resolutions}) rs ON rs.question = qs.id),
w AS (SELECT question, forecaster, {carried},
             lead(made) OVER (PARTITION BY question, forecaster{", kept" if filtered else ""} ORDER BY made, seq) AS next_made
      FROM f),
d AS (SELECT *, made < pe AS counted, CAST(he - ps AS DOUBLE PRECISION) AS scheduled,
             greatest(least(coalesce(next_made, pe), pe, coalesce(stop, pe)) - greatest(made, ps), 0) AS dur,
             {value_sql(rule)} AS s
      FROM (SELECT w.*, q.outcome, q.ps, q.pe, q.he, CASE WHEN q.outcome = 'yes' THEN w.p ELSE 1.0 - w.p END AS po,
                   CASE WHEN q.outcome = 'yes' THEN 1.0 ELSE 0.0 END AS y
            FROM w LEFT JOIN q ON q.id = w.question) wq),
sp AS (SELECT question, forecaster, {pair_sums} FROM d GROUP BY question, forecaster),
p AS (SELECT sp.*, CASE WHEN sp.n_kept = 0 THEN 'left_out' ELSE coalesce(q.status, 'unknown_question') END AS status,
             q.kind, q.outcome, q.closes_at, q.tags, {score} AS score, {coverage} AS coverage
      FROM sp LEFT JOIN q ON q.id = sp.question)
{groups}"""
    params: dict[str, Any] = {}
    if rule == "log":
        params["log_factor"] = 1.0 if log_base == "e" else 1.0 / math.log(2.0)
    if baseline:
        params["ln_two"] = math.log(2.0)
    return sql, params


def _quarter(closes_at: datetime) -> str:
    """The calendar quarter of a close, as pandas writes a quarterly period (``2024Q1``)."""
    return f"{closes_at.year:04d}Q{(closes_at.month - 1) // 3 + 1}"


def _groups(row: dict[str, Any], by: str) -> list[str]:
    """The groups a question's row falls in (a question is under each of its tags)."""
    if by == "question":
        return [row["question"]]
    if by == "kind":
        return [row["kind"]]
    if by == "period":
        return [_quarter(row["closes_at"])]
    tags = json.loads(row["tags"]) if isinstance(row["tags"], str) else row["tags"]
    return [str(t) for t in tags] or [UNTAGGED]


_SUMS = ("n_questions", "n_pairs", "n_forecasts", "score_sum", "score_n", "coverage_sum", "n_infinite",
         "ambiguous", "annulled", "unresolved")


def score_rows(result: list[dict[str, Any]], *, by: str) -> tuple[list[dict[str, Any]], dict[str, int], int] | None:
    """The rows of :func:`~forecasts.scoring.score_table` (its columns, groups sorted, ``record``
    by forecaster), the questions left out per reason and the backtest rows left out, from the
    rows of :func:`score_query`; None when the ledger holds what this path does not score (see
    the module docstring): the caller then uses ``score_table``.

    A score or coverage that does not exist (a group with no question to score, or nothing
    covered) is None, as in the table's JSON."""
    questions = [row for row in result if row["level"] == "question"]
    if any(row["uncovered"] for row in questions):
        return None
    groups: dict[str, dict[str, Any]] = {}
    for row in result if by == "forecaster" else questions:
        if row["level"] != ("forecaster" if by == "forecaster" else "question"):
            continue
        if not (row["n_pairs"] or row["ambiguous"] or row["annulled"] or row["unresolved"]):
            continue  # only forecasts left out, or on questions not in the ledger: no group
        if by == "forecaster":  # each pair is a question of its forecaster
            names, sums = [row["forecaster"]], dict(row, n_questions=row["n_pairs"])
        else:  # a question, under each of its groups
            names = _groups(row, by)
            sums = dict(row, n_questions=int(row["n_pairs"] > 0), **{r: int(row[r] > 0) for r in EXCLUSION_REASONS})
        sums.update(score_sum=row["score_sum"] or 0.0, coverage_sum=row["coverage_sum"] or 0.0)
        for name in names:
            acc = groups.setdefault(name, dict.fromkeys(_SUMS, 0))
            for k in _SUMS:
                acc[k] += sums[k]
            if by == "forecaster":
                acc["record"] = track_record(row["any_imported"], row["all_imported"])
    rows = []
    for name in sorted(groups):
        acc = groups[name]
        rows.append({by: name, **({"record": acc["record"]} if by == "forecaster" else {}),
                     "n_questions": acc["n_questions"], "n_forecasts": acc["n_forecasts"],
                     "score": acc["score_sum"] / acc["score_n"] if acc["score_n"] else None,
                     "coverage": acc["coverage_sum"] / acc["n_pairs"] if acc["n_pairs"] else None,
                     "n_infinite": acc["n_infinite"], "excluded_ambiguous": acc["ambiguous"],
                     "excluded_annulled": acc["annulled"], "excluded_unresolved": acc["unresolved"]})
    excluded = {r: sum(1 for row in questions if row[r]) for r in EXCLUSION_REASONS}
    return rows, excluded, sum(row["backtest_rows"] for row in questions)
