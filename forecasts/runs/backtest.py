"""Backtests: what a model would have said at each past date, replayed on the world clock.

:func:`backtest` runs a model on a question as of each date ``d`` (and, by default, on each
assessed event's date).  Reads use ``clock="world"``: rows are filtered by their *world* time
only, so imported history that was recorded all at once in 2026 replays as it unfolded in 2020.
An evidence assessment carries its own time (:func:`~forecasts.ledger.sql.evidence_sql`): a
live one counts from when it was recorded, so one written today about an event of last year
is not seen by a backtest of last year; an imported one keeps the source's time, its event's.
Rows are written as forecaster and source ``backtest:<name>`` (:func:`backtest_name`),
``backtest=True``, ``made_at`` = ``d``.  Dates already backtested by the same model version are
skipped, so a re-run appends nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from forecasts import domain
from forecasts.errors import InvalidInput, UnknownQuestion
from forecasts.runs.learned import load_summary
from forecasts.runs.live import LEARNED, forecast, read_question

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

__all__ = ["backtest", "backtest_dates", "backtest_name"]


def backtest_name(forecaster: str) -> str:
    """The forecaster a model's backtest rows are written as: ``model:hazard`` replayed is
    ``backtest:hazard`` (``model:contextual:ana``: ``backtest:contextual:ana``), the name that
    ``score``, the report and the command's own message all use.

    >>> backtest_name("model:hazard"), backtest_name("model:contextual:ana")
    ('backtest:hazard', 'backtest:contextual:ana')
    """
    return "backtest:" + forecaster.removeprefix("model:")


def backtest_dates(start: datetime, end: datetime, every: timedelta,
                   extra: Sequence[datetime] = ()) -> list[datetime]:
    """``start, start + every, ... <= end`` plus the ``extra`` dates inside [start, end], sorted, unique.

    >>> from datetime import datetime as dt, timedelta as td
    >>> [d.day for d in backtest_dates(dt(2021, 1, 1), dt(2021, 1, 20), td(weeks=1), [dt(2021, 1, 10)])]
    [1, 8, 10, 15]
    """
    if every <= timedelta(0):
        raise InvalidInput("the backtest step must be positive, e.g. 1w")
    if end < start:
        raise InvalidInput(f"backtest ends ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d})")
    if (end - start) / every > 10_000:
        raise InvalidInput("that backtest has more than 10,000 dates; use a longer step")
    dates = set()
    d = start
    while d <= end:
        dates.add(d)
        d += every
    dates.update(x for x in extra if start <= x <= end)
    return sorted(dates)


def backtest(ledger: Ledger, question: str, model: str = "evidence", start: object = None,
             end: object = None, every: object = "1w", *, at_events: bool = True, write: bool = True,
             **options: Any) -> dict[str, Any]:
    """Replay ``model`` on ``question`` as of each date (world clock) and append backtest rows.

    ``start`` defaults to the question's opening, ``end`` to the earliest of its close, its
    resolution and now; ``every`` is a step such as ``"1w"`` or a :class:`~datetime.timedelta`.
    With ``at_events`` the model also runs at each assessment's date: its event's, or when it
    was made if that was later (the moment it became known).  ``write=False`` computes the rows without appending them.  Returns ``{"rows",
    "skipped": {date: reason}, "existing"}`` (``existing``: rows already in the ledger).
    """
    qid = domain.parse_question_id(question)
    data = read_question(ledger, qid, domain.now(), "world")
    q = data["question"]
    if q is None:
        raise UnknownQuestion(f"no question {qid!r}; see 'forecasts questions'")
    last = min(q["closes_at"] - timedelta(seconds=1), domain.now())
    if data["resolution"] is not None:
        last = min(last, data["resolution"]["resolved_at"])
    t0 = q["opens_at"] if start is None else domain.parse_time(start, "backtest start date")
    t1 = last if end is None else min(domain.parse_time(end, "backtest end date"), last)
    step = every if isinstance(every, timedelta) else domain.parse_duration(every, "backtest step")
    extra = [max(v["occurred_at"], v["assessed_at"]) for v in data["evidence"]] if at_events else []
    summary = options.pop("summary", None)
    if model in LEARNED and summary is None:
        summary = load_summary(ledger)
    options["summary"] = summary
    done = {(f["forecaster"], f["made_at"], f["model_version"]) for f in data["forecasts"] if f["backtest"]}
    rows: list[dict[str, Any]] = []
    skipped: dict[datetime, str] = {}
    existing = 0
    for d in backtest_dates(t0, t1, step, extra):
        out = forecast(ledger, qid, model, d, clock="world", question_row=q, **options)
        for row in out["rows"]:
            row["backtest"] = True
            row["forecaster"] = backtest_name(row["forecaster"])
            if (row["forecaster"], row["made_at"], row["model_version"]) in done:
                existing += 1
            else:
                rows.append(row)
        if not out["rows"]:
            skipped[d] = out["skipped"]
    if rows and write:
        ledger.import_history(forecasts=rows, source=f"backtest:{model}")
    return {"rows": rows, "skipped": skipped, "existing": existing}
