"""The ledger's commands: write rows (init, question add, question amend, log, correct,
retract, event add, event retract, evidence, resolve), read them (history, questions, events, due), check the hash chain (verify)
and export every table losslessly.

This area is the fast path: ``forecasts log`` imports this module, the shared options and
output, typer and, inside the command, the DuckDB store; nothing heavier.  The writing commands
confirm with one plain line; the listing commands print a table or, with ``--json``, records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from forecasts.cli.options import AsOf, By, Db, Json, OnlyBy, Wide, open_ledger
from forecasts.cli.output import line, table, write_json
from forecasts.errors import IntegrityError, InvalidInput

if TYPE_CHECKING:
    from forecasts.ledger.storage import ExportFormat

app = typer.Typer()
question_app = typer.Typer(help="Add and amend questions.", no_args_is_help=True)
event_app = typer.Typer(help="Add and withdraw events.", no_args_is_help=True)
app.add_typer(question_app, name="question")
app.add_typer(event_app, name="event")


@app.command()
def init(db: Db = None) -> None:
    """Create the ledger (default data/forecasts.duckdb; a postgresql:// URL makes a team
    ledger, creating the database if the role may) and bring its schema up to date."""
    from forecasts.ledger.store import Ledger, default_path

    ledger = Ledger(db if db is not None else default_path())
    applied = ledger.init()
    line(f"ledger ready at {ledger.location}" + (f" (applied {', '.join(applied)})" if applied else " (up to date)"))


@question_app.command("add")
def question_add(
    question_id: Annotated[str, typer.Argument(metavar="ID", help="A slug, e.g. new-start-extension.")],
    title: Annotated[str, typer.Option(help="The question as asked.")],
    closes: Annotated[str, typer.Option(help="Deadline / scheduled close (UTC), e.g. 2021-02-05.")],
    criteria: Annotated[str | None, typer.Option(help="Resolution criteria.")] = None,
    opens: Annotated[str | None, typer.Option(help="When it opens [default: now].")] = None,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags.")] = None,
    kind: Annotated[str, typer.Option(help="binary or multiple_choice.")] = "binary",
    options: Annotated[str | None, typer.Option(help="Multiple choice: comma-separated option names.")] = None,
    ordered: Annotated[bool, typer.Option(help="Multiple choice: the options are ordered (scored with RPS).")] = False,
    base_rate: Annotated[str | None, typer.Option(help="Reference-class base rate, e.g. 20%.")] = None,
    reference_class: Annotated[str | None, typer.Option(help="What the base rate is the rate of.")] = None,
    by: By = None,
    db: Db = None,
) -> None:
    """Add a question."""
    row = open_ledger(db).add_question(
        question_id, title=title, closes=closes, criteria=criteria, opens=opens, tags=tags,
        kind=kind, options=options, ordered=ordered, base_rate=base_rate,
        reference_class=reference_class, by=by, source="cli")
    line(f"added question {row['id']} (closes {row['closes_at']:%Y-%m-%d %H:%M} UTC)")


@app.command()
def log(
    question: Annotated[str, typer.Argument(help="Question id, or the start of exactly one.")],
    probability: Annotated[str | None, typer.Argument(help="0.65, 65% or odds 13:7 (binary questions).")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", help="Multiple choice: NAME=P, once per option.")] = None,
    why: Annotated[str | None, typer.Option(help="Your reasoning.")] = None,
    allow_certainty: Annotated[bool, typer.Option(help="Allow 0 or 1 (a wrong certain forecast scores infinitely badly).")] = False,
    by: By = None,
    db: Db = None,
) -> None:
    """Log a forecast, made now."""
    row = open_ledger(db).log(question, probability, options=option, by=by, why=why,
                              allow_certainty=allow_certainty, source="cli", id_prefix=True)
    shown = (f"{row['probability']:.1%}" if row["probability"] is not None
             else ", ".join(f"{k}={v:.1%}" for k, v in json.loads(row["probabilities"]).items()))
    line(f"logged {shown} on {row['question']} by {row['forecaster']} (row {row['seq']})")


@app.command()
def ask(
    title: Annotated[str, typer.Argument(help="The question, with its deadline as YYYY-MM-DD (or give --closes).")],
    probability: Annotated[str, typer.Argument(help="Your forecast: 0.25, 25% or odds 1:3.")],
    closes: Annotated[str | None, typer.Option(help="When it closes [default: the last date in the title].")] = None,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags.")] = None,
    why: Annotated[str | None, typer.Option(help="Your reasoning.")] = None,
    by: By = None,
    db: Db = None,
) -> None:
    """Create a yes/no question from its title and log your forecast on it, in one go."""
    out = open_ledger(db).ask(title, probability, closes=closes, tags=tags, why=why, by=by, source="cli")
    q, f = out["question"], out["forecast"]
    line(f"new question {q['id']} (closes {q['closes_at']:%Y-%m-%d}); logged {f['probability']:.1%} "
         f"by {f['forecaster']} (row {f['seq']})")


@question_app.command("amend")
def question_amend(
    question_id: Annotated[str, typer.Argument(metavar="ID", help="The question's id.")],
    title: Annotated[str | None, typer.Option(help="The corrected title.")] = None,
    criteria: Annotated[str | None, typer.Option(help="The new resolution criteria.")] = None,
    closes: Annotated[str | None, typer.Option(help="The new scheduled close (UTC).")] = None,
    tags: Annotated[str | None, typer.Option(help="The new tags, comma-separated (they replace the old).")] = None,
    why: Annotated[str | None, typer.Option(help="Why it changes.")] = None,
    by: By = None,
    db: Db = None,
) -> None:
    """Amend a question: a new row per changed field (the original stays; 'history' lists
    each change).  To withdraw a question, resolve it annulled."""
    rows = open_ledger(db).amend_question(question_id, title=title, criteria=criteria, closes=closes, tags=tags,
                                          why=why, by=by, source="cli")
    fields = ", ".join(r["field"].replace("closes_at", "close") for r in rows)
    line(f"amended {question_id}: {fields} (row{'s' if len(rows) > 1 else ''} {', '.join(str(r['seq']) for r in rows)})")


@app.command()
def correct(
    row: Annotated[int, typer.Argument(help="Row number of your forecast (see 'forecasts history').")],
    probability: Annotated[str | None, typer.Argument(help="The corrected probability.")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", help="Multiple choice: NAME=P.")] = None,
    why: Annotated[str | None, typer.Option(help="What was wrong.")] = None,
    allow_certainty: Annotated[bool, typer.Option(help="Allow 0 or 1.")] = False,
    by: By = None,
    db: Db = None,
) -> None:
    """Correct one of your forecasts (a new row; the original stays in the ledger)."""
    new = open_ledger(db).correct(row, probability, options=option, why=why, by=by,
                                  allow_certainty=allow_certainty, source="cli")
    line(f"row {new['seq']} corrects row {row}")


@app.command()
def retract(
    row: Annotated[int, typer.Argument(help="Row number of your forecast.")],
    why: Annotated[str | None, typer.Option(help="Why it is withdrawn.")] = None,
    by: By = None,
    db: Db = None,
) -> None:
    """Retract one of your forecasts (a new row; the original stays in the ledger)."""
    new = open_ledger(db).retract(row, why=why, by=by, source="cli")
    line(f"row {new['seq']} retracts row {row}")


@event_app.command("add")
def event_add(
    title: Annotated[str, typer.Argument(help="What happened.")],
    on: Annotated[str, typer.Option(help="When it happened (UTC date or time).")],
    source: Annotated[str | None, typer.Option(help="URL of a report that states it.")] = None,
    description: Annotated[str | None, typer.Option(help="Longer description.")] = None,
    actors: Annotated[str | None, typer.Option(help="Actors, comma-separated, e.g. RUS,USA.")] = None,
    cameo: Annotated[str | None, typer.Option(help="CAMEO event code, e.g. 036.")] = None,
    goldstein: Annotated[float | None, typer.Option(help="Goldstein score [default: from the CAMEO code].")] = None,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags.")] = None,
    approx: Annotated[bool, typer.Option(help="The date is approximate.")] = False,
    by: By = None,
    db: Db = None,
) -> None:
    """Record a dated event."""
    row = open_ledger(db).add_event(title, on=on, source_url=source, description=description,
                                    actors=actors, cameo=cameo, goldstein=goldstein, tags=tags,
                                    date_precision="approx" if approx else "day", by=by, source="cli")
    line(f"event {row['seq']} recorded ({row['occurred_at']:%Y-%m-%d})")


@event_app.command("retract")
def event_retract(
    event_id: Annotated[str, typer.Argument(metavar="EVENT_ID", help="Event id (see 'forecasts events').")],
    why: Annotated[str | None, typer.Option(help="Why it is withdrawn (a duplicate, a false report).")] = None,
    by: By = None,
    db: Db = None,
) -> None:
    """Withdraw an event (a new row; the event stays in the ledger): reads and models leave it
    and its evidence out from now on."""
    row = open_ledger(db).retract_event(event_id, why=why, by=by, source="cli")
    line(f"event {row['target']} withdrawn (row {row['seq']})")


@app.command()
def evidence(
    question: Annotated[str, typer.Argument(help="Question id.")],
    event_id: Annotated[str, typer.Argument(metavar="EVENT_ID", help="Event id (see 'forecasts events').")],
    lr: Annotated[float | None, typer.Option(help="Likelihood ratio P(event|yes)/P(event|no).")] = None,
    strength: Annotated[str | None, typer.Option(help="Verbal strength, e.g. 'moderate for no'.")] = None,
    weight: Annotated[float | None, typer.Option(help="(0, 1]: discount for a correlated report.")] = None,
    note: Annotated[str | None, typer.Option(help="Reasoning.")] = None,
    by: By = None,
    db: Db = None,
) -> None:
    """Assess what an event says about a question, as a likelihood ratio."""
    row = open_ledger(db).add_evidence(question, event_id, lr=lr, strength=strength, weight=weight,
                                       note=note, by=by, source="cli")
    line(f"evidence recorded: event {row['event']} on {row['question']}, LR {row['lr']:.3g} (row {row['seq']})")


@app.command()
def resolve(
    question: Annotated[str, typer.Argument(help="Question id.")],
    outcome: Annotated[str, typer.Argument(help="yes, no, an option name, ambiguous or annulled.")],
    on: Annotated[str | None, typer.Option(help="When it resolved in the world [default: now].")] = None,
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    by: By = None,
    db: Db = None,
) -> None:
    """Resolve a question (again, to re-resolve: the latest resolution counts)."""
    row = open_ledger(db).resolve(question, outcome, on=on, note=note, by=by, source="cli")
    line(f"resolved {row['question']} {row['outcome']} on {row['resolved_at']:%Y-%m-%d} (row {row['seq']})")


@app.command()
def history(
    question: Annotated[str, typer.Argument(help="Question id.")],
    as_of: AsOf = None,
    as_json: Json = False,
    wide: Wide = False,
    db: Db = None,
) -> None:
    """Every forecast, event and resolution of a question, dated."""
    df = open_ledger(db, reads=True).history_records(question, as_of)
    table(df, ["at", "kind", "who", "what", "seq"], title=question, as_json=as_json, wide=wide)


@app.command()
def questions(
    open_: Annotated[bool, typer.Option("--open", help="Only open questions.")] = False,
    closed: Annotated[bool, typer.Option("--closed", help="Only closed, unresolved questions.")] = False,
    resolved: Annotated[bool, typer.Option("--resolved", help="Only resolved questions.")] = False,
    tag: Annotated[str | None, typer.Option(help="Only questions with this tag.")] = None,
    by: OnlyBy = None,
    as_of: AsOf = None,
    as_json: Json = False,
    wide: Wide = False,
    db: Db = None,
) -> None:
    """List questions."""
    chosen = [s for s, on in (("open", open_), ("closed", closed), ("resolved", resolved)) if on]
    if len(chosen) > 1:
        raise InvalidInput("choose at most one of --open, --closed, --resolved")
    df = open_ledger(db, reads=True).question_records(as_of, status=chosen[0] if chosen else None, tag=tag, by=by)
    table(df, ["id", "title", "kind", "closes_at", "status", "outcome", "n_forecasts", "tags"],
          as_json=as_json, empty="no questions", wide=wide)


@app.command()
def events(
    tag: Annotated[str | None, typer.Option(help="Only events with this tag.")] = None,
    by: OnlyBy = None,
    since: Annotated[str | None, typer.Option(help="Only events on or after this date.")] = None,
    as_of: AsOf = None,
    as_json: Json = False,
    wide: Wide = False,
    db: Db = None,
) -> None:
    """List events (the seq column is the event id)."""
    df = open_ledger(db, reads=True).event_records(as_of, tag=tag, by=by, since=since)
    table(df, ["seq", "occurred_at", "title", "cameo", "goldstein", "tags", "source_url"],
          as_json=as_json, empty="no events", wide=wide)


@app.command()
def verify(
    head: Annotated[str | None, typer.Option(help="A head printed by an earlier verify (SEQ:HASH, or signed SEQ:HASH:MAC): the chain must pass through it; rows appended after it are reported.")] = None,
    key_file: Annotated[Path | None, typer.Option(envvar="FORECASTS_KEY_FILE", help="The team key file (kept outside the ledger): checks a signed head and prints the current head signed.")] = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Recompute the hash chain over every ledger row and re-check the ledger's rules on each
    row; name the first bad row."""
    from forecasts.ledger.integrity import read_key_file

    key = None if key_file is None else read_key_file(key_file)
    result = open_ledger(db, reads=True).verify(head, key=key)
    if as_json:
        write_json(result.__dict__, indent=None)
        if not result.ok:
            raise typer.Exit(IntegrityError.exit_code)
        return
    if not result.ok:
        raise IntegrityError(f"ledger does not verify: {result.problem}")
    line(f"ok: {result.rows} rows verified; head {result.rows}:{result.head}")
    if result.anchored_at is not None:
        after = (f"{result.appended} rows appended after it (seq {result.anchored_at + 1}..{result.rows})"
                 if result.appended else "nothing appended after it")
        line(f"the chain passes through the given head at seq {result.anchored_at}; {after}")
    if result.seals:
        line(f"{result.seals} writes sealed with the team key, the last at the head" if key is not None else
             f"{result.seals} writes sealed with a team key, not checked: give --key-file to check them")
    if result.signed_head is not None:
        line(f"signed head {result.signed_head}")


@app.command()
def due(
    by: By = None,
    within: Annotated[str, typer.Option(help="Closing within this long, e.g. 14d.")] = "14d",
    stale: Annotated[str, typer.Option(help="A forecast older than this is stale, e.g. 30d.")] = "30d",
    ics: Annotated[Path | None, typer.Option("--ics", help="Also write every open question's close, and when your "
                                                   "forecasts go stale, as an iCalendar file to subscribe to.")] = None,
    as_json: Json = False,
    wide: Wide = False,
    db: Db = None,
) -> None:
    """Open questions closing soon, and your forecasts gone stale."""
    ledger = open_ledger(db, reads=True)
    if ics is not None:
        from forecasts import domain
        from forecasts.sources.ics import write_reminders

        who = domain.parse_forecaster(by)
        n = write_reminders(ledger.reminders(who, stale=stale), ics, forecaster=who, ledger=ledger.location)
        line(f"wrote {n} reminders for {who} to {ics}", err=as_json)
    df = ledger.due_records(by, within=within, stale=stale)
    table(df, ["question", "closes_at", "days_left", "last_forecast_at", "why"], as_json=as_json,
          empty="nothing due", wide=wide)


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Folder to write one file per table into.")],
    format: Annotated[str, typer.Option("--format", help="csv or parquet (every table, lossless), hubverse or fatebook.")] = "csv",
    rounds: Annotated[str | None, typer.Option(
        "--round", help="hubverse only: one round per day (the default: each forecaster's last forecast of a "
                        "question per UTC day), week (ISO week, origin_date its Sunday) or month (origin_date "
                        "its last day). A day's rounds make about one file per forecast; a long track record "
                        "is easier to read by week or month.")] = None,
    db: Db = None,
) -> None:
    """Export every table, hashes included (lossless; 'forecasts import ledger' restores it),
    or the forecasts in the hubverse model-output format or as a Fatebook-compatible CSV."""
    from forecasts.cli import sources

    if rounds is not None and format != "hubverse":
        raise InvalidInput("--round is for --format hubverse (a hub's rounds); the other formats have none")
    if format in sources.EXPORTS:
        written = len(sources.export_to(format, open_ledger(db), out, rounds=rounds or "day"))
    else:
        written = len(open_ledger(db).export(out, cast("ExportFormat", format)))  # checked by the ledger
    line(f"wrote {written:,} file(s) to {out}")
