"""An analyst's reminders as an iCalendar file (RFC 5545) to subscribe to: ``forecasts due --ics``.

Each open question gives an event at its close ("Closes: <title>") and, where the analyst has
forecast it, one when that forecast goes stale ("Update your forecast: <title>").  Written with
the ``icalendar`` library, never by hand.  UIDs are stable (question, kind, forecaster, ledger),
so a calendar that re-reads the file updates its events instead of adding copies; times are UTC.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from forecasts import domain
from forecasts.paths import output_file

__all__ = ["reminders_calendar", "write_reminders"]

#: How long each reminder lasts in the calendar.
_LENGTH = timedelta(minutes=30)


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC)


def reminders_calendar(reminders: Sequence[dict[str, Any]], *, forecaster: str, ledger: str) -> bytes:
    """The iCalendar text of :meth:`~forecasts.ledger.Ledger.reminders` rows for ``forecaster``
    (``ledger`` names where they come from, in the calendar's name and the UIDs)."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//forecasts//due reminders//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"forecasts: {forecaster} ({Path(ledger).name})")
    stamp = _utc(domain.now())
    scope = hashlib.sha256(f"{ledger}\0{forecaster}".encode()).hexdigest()[:16]
    for r in reminders:
        moments = [("closes", r["closes_at"], f"Closes: {r['title']}")]
        if r["stale_at"] is not None and r["stale_at"] < r["closes_at"]:
            moments.append(("stale", r["stale_at"], f"Update your forecast: {r['title']}"))
        for kind, at, summary in moments:
            event = Event()
            event.add("uid", f"{r['question']}-{kind}-{scope}@forecasts")
            event.add("dtstamp", stamp)
            event.add("dtstart", _utc(at))
            event.add("dtend", _utc(at) + _LENGTH)
            event.add("summary", summary)
            event.add("description", f"question {r['question']}: forecasts log {r['question']} P")
            cal.add_component(event)
    return cal.to_ical()


def write_reminders(reminders: Sequence[dict[str, Any]], path: str | os.PathLike[str], *, forecaster: str,
                    ledger: str) -> int:
    """Write :func:`reminders_calendar` to ``path``; returns how many events it holds."""
    from forecasts.errors import InvalidInput

    target = output_file(path)
    text = reminders_calendar(reminders, forecaster=forecaster, ledger=ledger)
    try:
        target.write_bytes(text)
    except OSError as exc:
        raise InvalidInput(f"cannot write {target}: {exc.strerror or exc}") from None
    return text.count(b"BEGIN:VEVENT")
