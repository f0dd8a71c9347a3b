"""A ledger's score table, computed where it is cheapest: the one place that chooses how.

:func:`ledger_scores` gives the table of :func:`forecasts.scoring.score_table` for a ledger as of
a moment (what ``forecasts score`` prints, and what the report's score table is made of), as
plain records, or a DataFrame on request (:meth:`Scores.frame`).  Two ways to compute it, with
the same numbers:

* **in the database** (``computed_by == "sql"``): the query of :mod:`forecasts.scoring.sql`
  written over the ledger's as-of reads (:mod:`forecasts.ledger.sql`: corrections within the
  grace period applied, early retractions left out, late ones ending a forecast at
  ``ended_at``, amended closes, the latest resolution) and run by the ledger's backend, DuckDB
  or PostgreSQL alike.  Neither numpy, pandas nor numba is loaded: ``forecasts score`` at a
  million forecasts takes 0.58 s, 1.57x a bare SQL query of the Brier per forecaster
  (``benchmarks/bench_scale.py``; the README's "What holds at real size");
* **from the frames** (``"frames"``): the forecasts, questions and resolutions read as
  DataFrames and scored by :func:`~forecasts.scoring.score_table`, the reference.  It is used
  for what the query does not compute (:func:`forecasts.scoring.sql.covers`: the peer score,
  ``relative_to``, and a ledger with a multiple-choice question to score or a malformed
  binary forecast), and for arguments the library refuses, so its errors are the same.

Either way, backtest rows are left out (and counted) unless ``backtests``, and ``live_only``
leaves imported forecasts out, as ``forecasts score`` always did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

    from forecasts.ledger import Ledger

__all__ = ["Scores", "ledger_scores", "scoring_frames"]


@dataclass(frozen=True)
class Scores:
    """A score table (:func:`ledger_scores`): ``rows`` are plain dicts with the group (a column
    named ``by``), ``record`` by forecaster, and the columns of
    :func:`~forecasts.scoring.score_table` (a missing score or coverage is None), groups in
    sorted order.  ``excluded`` counts the questions left out by reason, over every forecaster;
    ``backtest_rows_left_out`` the backtest rows not scored."""

    rows: list[dict[str, Any]]
    by: str
    rule: str
    excluded: dict[str, int]
    backtest_rows_left_out: int
    live_only: bool
    computed_by: Literal["sql", "frames"]

    @property
    def higher_is_better(self) -> bool:
        """True for the Metaculus baseline and peer scores; the other rules are losses."""
        return self.rule in ("baseline", "peer")

    def frame(self) -> pd.DataFrame:
        """The table as :func:`~forecasts.scoring.score_table` returns it: indexed by the group,
        ``record`` first by forecaster, with ``attrs`` ``excluded``, ``rule``,
        ``higher_is_better`` and ``by``."""
        import pandas as pd

        columns = [self.by] + (["record"] if self.by == "forecaster" else []) + [
            "n_questions", "n_forecasts", "score", "coverage", "n_infinite", "excluded_ambiguous",
            "excluded_annulled", "excluded_unresolved"] + (["relative", "n_relative"] if self.rows
                                                           and "relative" in self.rows[0] else [])
        df = pd.DataFrame(self.rows, columns=columns).set_index(self.by)
        for col in ("score", "coverage", "relative"):
            if col in df:
                df[col] = df[col].astype("float64")
        for col in ("n_questions", "n_forecasts", "n_infinite", "excluded_ambiguous", "excluded_annulled",
                    "excluded_unresolved", "n_relative"):
            if col in df:
                df[col] = df[col].astype("int64")
        df.attrs.update(excluded=dict(self.excluded), rule=self.rule, higher_is_better=self.higher_is_better,
                        by=self.by)
        return df


def ledger_scores(ledger: Ledger, *, by: str = "forecaster", rule: str = "brier", relative_to: str | None = None,
                  as_of: object = None, log_base: object = "e", live_only: bool = False,
                  backtests: bool = False) -> Scores:
    """The score table of ``ledger`` as of ``as_of`` (default now): time-averaged scores of the
    resolved questions by ``by``, under ``rule``, as :func:`~forecasts.scoring.score_table`
    defines them (arguments as there).  Computed by the database when
    :func:`forecasts.scoring.sql.covers` the arguments and the ledger holds nothing it does not
    score; from the frames otherwise (see the module docstring).

    ``live_only`` scores only the forecasts recorded live (imported history left out);
    ``backtests`` also scores backtest rows, otherwise left out and counted.  Bad arguments
    raise :class:`~forecasts.errors.InvalidInput` (an unreadable ``as_of``:
    :class:`~forecasts.errors.InvalidDate`)."""
    from forecasts.scoring import sql as score_sql

    if score_sql.covers(rule, by, relative_to, log_base):
        computed = _in_database(ledger, by=by, rule=rule, as_of=as_of, log_base=log_base, live_only=live_only,
                                backtests=backtests)
        if computed is not None:
            return computed
    return _from_frames(ledger, by=by, rule=rule, relative_to=relative_to, as_of=as_of, log_base=log_base,
                        live_only=live_only, backtests=backtests)


def _in_database(ledger: Ledger, *, by: str, rule: str, as_of: object, log_base: object, live_only: bool,
                 backtests: bool) -> Scores | None:
    import functools

    from forecasts.ledger import sql as ledger_sql
    from forecasts.scoring import sql as score_sql

    clock = "both"
    query, params = score_sql.score_query(
        ledger_sql.forecasts_sql(clock), ledger_sql.table_sql("questions", clock, None)[0],
        ledger_sql.resolutions_sql(clock), rule=rule, by=by, log_base=log_base, live_only=live_only,
        backtests=backtests, ended_by_as_of=as_of is not None,
        epoch_us=functools.partial(ledger_sql.epoch_us, dialect=ledger.dialect))
    table = score_sql.score_rows(ledger.query(query, as_of, params=params), by=by)
    if table is None:
        return None
    rows, excluded, left_out = table
    return Scores(rows, by, rule, excluded, 0 if backtests else left_out, live_only, "sql")


def scoring_frames(ledger: Ledger, as_of: object = None, *, live_only: bool = False,
                   backtests: bool = False) -> tuple[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], int]:
    """The forecasts, questions and resolutions to score as of ``as_of``, and how many backtest
    rows were left out (all of them unless ``backtests``: a replay is not a track record);
    ``live_only`` leaves imported forecasts out (:func:`forecasts.scoring.live_only`)."""
    forecasts = ledger.forecasts(as_of)
    replayed = forecasts["backtest"].astype(bool).to_numpy()
    left_out = 0 if backtests else int(replayed.sum())
    if left_out:
        forecasts = forecasts[~replayed]
    if live_only:
        from forecasts.scoring import live_only as live_rows

        forecasts = live_rows(forecasts)
    return (forecasts, ledger.questions(as_of), ledger.resolutions(as_of)), left_out


def _from_frames(ledger: Ledger, *, by: str, rule: str, relative_to: str | None, as_of: object,
                 log_base: object, live_only: bool, backtests: bool) -> Scores:
    import math

    from forecasts.scoring import score_table, track_records

    frames, left_out = scoring_frames(ledger, as_of, live_only=live_only, backtests=backtests)
    table = score_table(*frames, by=by, rule=rule, relative_to=relative_to, as_of=as_of,  # type: ignore[arg-type]
                        log_base=log_base)  # type: ignore[arg-type]  # score_table checks them
    flat = table.rename_axis(by).reset_index()
    if by == "forecaster":
        kinds = track_records(frames[0])
        flat.insert(1, "record", [kinds.get(str(n)) for n in flat["forecaster"]])
    rows = [{str(k): None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
            for row in flat.to_dict(orient="records")]
    return Scores(rows, by, rule, dict(table.attrs.get("excluded", {})), left_out, live_only, "frames")
