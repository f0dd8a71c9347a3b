"""Dated events from a plain CSV (or Parquet) table, and the event loading every feed shares.

Columns (``mapping`` renames them): ``title`` and ``on`` (also accepted: ``occurred_on``,
``occurred_at``, ``date``) are required; optional ``description``, ``source_url``, ``actors``
(``USA;RUS``), ``cameo`` (or ``cameo_code``; leading zeros kept, e.g. ``036``), ``goldstein``
(filled in from ``data/cameo_goldstein.csv`` when a CAMEO code is given without one), ``tags``,
``date_precision`` (``day``, ``approx``, ``time``), ``source_id``.  A row without ``source_id``
is identified by its date and a hash of its title, so importing the same file twice adds
nothing.  Rows are marked ``import:events-csv`` (or ``import:<name>``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from forecasts import domain
from forecasts.errors import ImportRejected, InvalidInput
from forecasts.ledger import rules
from forecasts.sources.generic import ImportSummary, Progress, clean, read_table, slug

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SOURCE = "import:events-csv"
_ALIASES = {"on": ("on", "occurred_on", "occurred_at", "date"), "cameo": ("cameo", "cameo_code")}
FIELDS = ("title", "on", "description", "source_url", "actors", "cameo", "goldstein", "tags",
          "date_precision", "source_id")


def check_event(e: dict, source: str = SOURCE) -> dict:
    """The ledger row of an event, by the ledger's rules (the first breach raised)."""
    if clean(e.get("on")) is None:
        raise InvalidInput("the event has no date")
    fields = {k: clean(v) for k, v in e.items() if k in FIELDS and clean(v) is not None}
    row = rules.event_row(**{"by": source, **fields, "source": source})
    rules.check_event_time(row["occurred_at"], now=domain.now())
    return row


def load_events(ledger: Ledger, events: Sequence[dict], *, source: str, dry_run: bool = False,
                progress: Progress = None, skip_malformed: bool = False,
                summary: ImportSummary | None = None) -> ImportSummary:
    """Validate every event (``line`` key: its source line), skip those the ledger already holds
    (same source and ``source_id``), and write the rest in one transaction."""
    summary = summary or ImportSummary(source=source)
    summary.dry_run = dry_run
    tick = progress or (lambda done, total: None)
    total = max(len(events), 1)
    tick(0, total)
    have = ledger.existing_source_ids("events", source)
    problems, fresh, skipped, seen = [], [], 0, {}
    for e in events:
        line = int(e.get("line", 0))
        try:
            row = check_event(e, source)
        except InvalidInput as exc:
            problems.append((line, exc.message))
            continue
        sid = str(e["source_id"])
        if sid in seen:
            problems.append((line, f"source_id {sid!r} appears twice in the import (first on line {seen[sid]})"))
            continue
        seen[sid] = line
        if sid in have:
            skipped += 1
            continue
        fresh.append(row)
    tick(len(events) // 2, total)
    if problems:
        problems.sort()
        if not skip_malformed:
            raise ImportRejected.listing(problems)
        summary.malformed = problems
    summary.skipped = {"events": skipped}
    summary.added = {"events": len(fresh)}
    if fresh and not dry_run:
        ledger.import_history(events=rules.CheckedRows("events", tuple(fresh), source), source=source)
    tick(total, total)
    return summary


def event_id(on: object, title: object) -> str:
    """A stable id for an event row that has none: its date and a hash of its title."""
    digest = hashlib.sha1(str(title).strip().encode("utf-8")).hexdigest()[:12]
    return f"{str(on).strip()[:10]}:{digest}"


def import_events_csv(ledger: Ledger, path: str | Path, *, mapping: dict[str, str] | None = None,
                      name: str = "events-csv", tags: Sequence[str] = (), dry_run: bool = False,
                      progress: Progress = None, skip_malformed: bool = False,
                      ignore: Sequence[str] = ()) -> ImportSummary:
    """Import dated events from a CSV/Parquet table (columns in the module docstring).

    A column that is none of the event fields (nor one of their aliases, nor mapped) is
    refused, naming it, unless ``ignore`` lists it: then it is left out, and a note says so."""
    t = read_table(path)
    mapping = dict(mapping or {})
    for key, col in mapping.items():
        if key not in FIELDS:
            raise InvalidInput(f"cannot map {key!r}: event columns are {', '.join(FIELDS)}")
        if col not in t.columns:
            raise InvalidInput(f"{Path(path).name} has no column {col!r} (mapped to {key})")

    def column(field: str) -> str | None:
        if field in mapping:
            return mapping[field]
        for alias in _ALIASES.get(field, (field,)):
            if alias in t.columns:
                return alias
        return None

    cols = {f: column(f) for f in FIELDS}
    for need in ("title", "on"):
        if cols[need] is None:
            raise InvalidInput(f"{Path(path).name} has no {need!r} column (an events table needs title and on)")
    used = {c for c in cols.values() if c} | {"_line"}
    missing = [c for c in ignore if c not in t.columns]
    if missing:
        raise InvalidInput(f"{Path(path).name} has no column {missing[0]!r} to ignore")
    unknown = [c for c in t.columns if c not in used and c not in ignore]
    if unknown:
        raise InvalidInput(f"{Path(path).name} has column(s) not understood: {', '.join(map(repr, unknown))}; "
                           f"map them (--map FIELD=COLUMN; fields: {', '.join(FIELDS)}) or --ignore them")
    source = SOURCE if name == "events-csv" else f"import:{slug(name)}"
    summary = ImportSummary(source=source, path=str(path), rows_read=len(t))
    if ignore:
        summary.notes.append("columns not imported (--ignore): " + ", ".join(ignore))
    extra = list(tags)
    events = []
    for r in t.to_dict("records"):
        e = {f: clean(r.get(c)) if c else None for f, c in cols.items()}
        if e["source_id"] is None:
            e["source_id"] = event_id(e["on"], e["title"])
        if extra:
            own = domain.parse_tags(e["tags"]) if isinstance(e["tags"], str) else []
            e["tags"] = sorted(set(own) | set(extra))
        e["line"] = r["_line"]
        events.append(e)
    return load_events(ledger, events, source=source, dry_run=dry_run, progress=progress,
                       skip_malformed=skip_malformed, summary=summary)
