"""The ``forecasts`` command line: parse, call the library, print.

Every command is a thin skin over :class:`forecasts.ledger.Ledger` and the scoring functions.
Errors from the library (:class:`~forecasts.errors.ForecastsError`) are printed as one red
line on standard error, and the process exits with the error's code: 2 for bad input (nothing
was written), 1 for a store that cannot be used.  Listing commands take ``--json``.

Start-up matters: ``forecasts log`` and ``forecasts --help`` import only duckdb, typer and rich.
pandas and everything heavier are imported inside the commands that need them.
"""

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from forecasts.errors import ForecastsError, InvalidInput


class _Group(TyperGroup):
    """Turns a library error anywhere below into one red line and its exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ForecastsError as exc:
            _err(exc.message)
            raise typer.Exit(exc.exit_code) from None


def _err(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}", markup=True)


def _out() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


app = typer.Typer(
    cls=_Group,
    help="An append-only forecast ledger: log dated probabilities, record events, resolve, score.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
question_app = typer.Typer(cls=_Group, help="Add questions.", no_args_is_help=True)
event_app = typer.Typer(cls=_Group, help="Add events.", no_args_is_help=True)
app.add_typer(question_app, name="question")
app.add_typer(event_app, name="event")

Db = Annotated[
    Path | None,
    typer.Option("--db", envvar="FORECASTS_DB", help="Ledger file [default: data/forecasts.duckdb].",
                 show_default=False),
]
By = Annotated[str | None, typer.Option("--by", help="Who [default: $FORECASTS_USER, else your user name].")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Read the ledger as it was at this date/time (UTC).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _ledger(db: Path | None, *, create: bool = False):
    from forecasts.ledger.store import Ledger

    return Ledger.open(db, create=create)


def _plain(value: Any) -> Any:
    """A JSON-ready version of a frame cell."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return None if str(value) == "NaT" else value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _plain(value.tolist())
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _records(df) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _cell(value: Any) -> str:
    v = _plain(value)
    if v is None or v == "NaT":
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={_cell(x)}" for k, x in v.items())
    if isinstance(v, str) and len(v) >= 19 and v[4] == "-" and v[10] == "T":
        return v[:16].replace("T", " ") if not v.endswith("T00:00:00") else v[:10]
    return str(v)


def _print_table(df, columns: list[str], title: str | None = None, as_json: bool = False,
                 empty: str = "nothing to show") -> None:
    if as_json:
        sys.stdout.write(json.dumps(_records(df), indent=1) + "\n")
        return
    console = _out()
    if df.empty:
        console.print(empty)
        return
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in df[columns].itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    console.print(table)


def _done(message: str) -> None:
    """A one-line confirmation: plain text, so the writing commands need not load rich."""
    sys.stdout.write(message + "\n")


# ---------------------------------------------------------------------------- commands
@app.command()
def init(db: Db = None) -> None:
    """Create the ledger file (default data/forecasts.duckdb) and bring its schema up to date."""
    from forecasts.ledger.store import Ledger, default_path

    ledger = Ledger(db if db is not None else default_path())
    applied = ledger.init()
    _done(f"ledger ready at {ledger.path}" + (f" (applied {', '.join(applied)})" if applied else " (up to date)"))


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
    row = _ledger(db).add_question(
        question_id, title=title, closes=closes, criteria=criteria, opens=opens, tags=tags,
        kind=kind, options=options, ordered=ordered, base_rate=base_rate,
        reference_class=reference_class, by=by, source="cli")
    _done(f"added question {row['id']} (closes {row['closes_at']:%Y-%m-%d %H:%M} UTC)")


@app.command()
def log(
    question: Annotated[str, typer.Argument(help="Question id.")],
    probability: Annotated[str | None, typer.Argument(help="0.65, 65% or odds 13:7 (binary questions).")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", help="Multiple choice: NAME=P, once per option.")] = None,
    why: Annotated[str | None, typer.Option(help="Your reasoning.")] = None,
    allow_certainty: Annotated[bool, typer.Option(help="Allow 0 or 1 (a wrong certain forecast scores infinitely badly).")] = False,
    by: By = None,
    db: Db = None,
) -> None:
    """Log a forecast, made now."""
    row = _ledger(db).log(question, probability, options=option, by=by, why=why,
                          allow_certainty=allow_certainty, source="cli")
    shown = (f"{row['probability']:.1%}" if row["probability"] is not None
             else ", ".join(f"{k}={v:.1%}" for k, v in json.loads(row["probabilities"]).items()))
    _done(f"logged {shown} on {row['question']} by {row['forecaster']} (row {row['seq']})")


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
    new = _ledger(db).correct(row, probability, options=option, why=why, by=by,
                              allow_certainty=allow_certainty, source="cli")
    _done(f"row {new['seq']} corrects row {row}")


@app.command()
def retract(
    row: Annotated[int, typer.Argument(help="Row number of your forecast.")],
    why: Annotated[str | None, typer.Option(help="Why it is withdrawn.")] = None,
    by: By = None,
    db: Db = None,
) -> None:
    """Retract one of your forecasts (a new row; the original stays in the ledger)."""
    new = _ledger(db).retract(row, why=why, by=by, source="cli")
    _done(f"row {new['seq']} retracts row {row}")


@event_app.command("add")
def event_add(
    title: Annotated[str, typer.Argument(help="What happened.")],
    on: Annotated[str, typer.Option(help="When it happened (UTC date or time).")],
    source: Annotated[str | None, typer.Option(help="URL of a report that states it.")] = None,
    description: Annotated[str | None, typer.Option(help="Longer description.")] = None,
    actors: Annotated[str | None, typer.Option(help="Actors, e.g. RUS;USA.")] = None,
    cameo: Annotated[str | None, typer.Option(help="CAMEO event code, e.g. 036.")] = None,
    goldstein: Annotated[float | None, typer.Option(help="Goldstein score [default: from the CAMEO code].")] = None,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags.")] = None,
    approx: Annotated[bool, typer.Option(help="The date is approximate.")] = False,
    by: By = None,
    db: Db = None,
) -> None:
    """Record a dated event."""
    row = _ledger(db).add_event(title, on=on, source_url=source, description=description,
                                actors=actors, cameo=cameo, goldstein=goldstein, tags=tags,
                                date_precision="approx" if approx else "day", by=by, source="cli")
    _done(f"event {row['seq']} recorded ({row['occurred_at']:%Y-%m-%d})")


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
    row = _ledger(db).add_evidence(question, event_id, lr=lr, strength=strength, weight=weight,
                                   note=note, by=by, source="cli")
    _done(f"evidence recorded: event {row['event']} on {row['question']}, LR {row['lr']:.3g} (row {row['seq']})")


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
    row = _ledger(db).resolve(question, outcome, on=on, note=note, by=by, source="cli")
    _done(f"resolved {row['question']} {row['outcome']} on {row['resolved_at']:%Y-%m-%d} (row {row['seq']})")


@app.command()
def history(
    question: Annotated[str, typer.Argument(help="Question id.")],
    as_of: AsOf = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Every forecast, event and resolution of a question, dated."""
    df = _ledger(db).history(question, as_of)
    _print_table(df, ["at", "kind", "who", "what", "seq"], title=question, as_json=as_json)


@app.command()
def questions(
    open_: Annotated[bool, typer.Option("--open", help="Only open questions.")] = False,
    closed: Annotated[bool, typer.Option("--closed", help="Only closed, unresolved questions.")] = False,
    resolved: Annotated[bool, typer.Option("--resolved", help="Only resolved questions.")] = False,
    tag: Annotated[str | None, typer.Option(help="Only questions with this tag.")] = None,
    by: Annotated[str | None, typer.Option(help="Only questions this person created or forecast.")] = None,
    as_of: AsOf = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """List questions."""
    chosen = [s for s, on in (("open", open_), ("closed", closed), ("resolved", resolved)) if on]
    if len(chosen) > 1:
        raise InvalidInput("choose at most one of --open, --closed, --resolved")
    df = _ledger(db).questions(as_of, status=chosen[0] if chosen else None, tag=tag, by=by)
    _print_table(df, ["id", "title", "kind", "closes_at", "status", "outcome", "n_forecasts", "tags"],
                 as_json=as_json, empty="no questions")


@app.command()
def events(
    tag: Annotated[str | None, typer.Option(help="Only events with this tag.")] = None,
    by: Annotated[str | None, typer.Option(help="Only events recorded by this person.")] = None,
    since: Annotated[str | None, typer.Option(help="Only events on or after this date.")] = None,
    as_of: AsOf = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """List events (the seq column is the event id)."""
    df = _ledger(db).events(as_of, tag=tag, by=by, since=since)
    _print_table(df, ["seq", "occurred_at", "title", "cameo", "goldstein", "tags", "source_url"],
                 as_json=as_json, empty="no events")


@app.command()
def verify(
    head: Annotated[str | None, typer.Option(help="A head hash printed by an earlier verify: detects removed newest rows.")] = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Recompute the hash chain over every ledger row; name the first bad row."""
    from forecasts.errors import IntegrityError

    result = _ledger(db).verify(head)
    if as_json:
        sys.stdout.write(json.dumps(result.__dict__) + "\n")
        if not result.ok:
            raise typer.Exit(IntegrityError.exit_code)
        return
    if not result.ok:
        raise IntegrityError(f"ledger does not verify: {result.problem}")
    _done(f"ok: {result.rows} rows verified; head {result.head}")


@app.command()
def due(
    by: By = None,
    within: Annotated[str, typer.Option(help="Closing within this long, e.g. 14d.")] = "14d",
    stale: Annotated[str, typer.Option(help="A forecast older than this is stale, e.g. 30d.")] = "30d",
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Open questions closing soon, and your forecasts gone stale."""
    df = _ledger(db).due(by, within=within, stale=stale)
    _print_table(df, ["question", "closes_at", "days_left", "last_forecast_at", "why"], as_json=as_json,
                 empty="nothing due")


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Folder to write one file per table into.")],
    format: Annotated[str, typer.Option("--format", help="csv or parquet (every table, lossless), hubverse or fatebook.")] = "csv",
    db: Db = None,
) -> None:
    """Export every table, hashes included (lossless; 'forecasts import ledger' restores it),
    or the forecasts in the hubverse model-output format or as a Fatebook-compatible CSV."""
    if format == "hubverse":
        from forecasts.sources.hubverse import export_hubverse

        files = export_hubverse(_ledger(db), out)
    elif format == "fatebook":
        from forecasts.sources.fatebook import export_fatebook

        files = [export_fatebook(_ledger(db), out)]
    else:
        files = list(_ledger(db).export(out, format).values())
    _done(f"wrote {len(files)} file(s) to {out}")


SCORE_BY = ("forecaster", "tag", "question", "kind", "period")
SCORE_RULES = ("brier", "log", "spherical", "baseline", "peer")


def _frames(db: Path | None, as_of: str | None) -> tuple:
    ledger = _ledger(db)
    return ledger.forecasts(as_of), ledger.questions(as_of), ledger.resolutions(as_of)


def _excluded_line(excluded: dict) -> str:
    left = {k: v for k, v in excluded.items() if v}
    return ("left out: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in left.items())) if left else "no question left out"


@app.command()
def score(
    by: Annotated[str, typer.Option(help="Group by forecaster, tag, question, kind or period.")] = "forecaster",
    rule: Annotated[str, typer.Option(help="brier (0-1), log (nats), spherical, baseline or peer (Metaculus).")] = "brier",
    relative_to: Annotated[str | None, typer.Option(help="crowd:median (Good Judgment daily relative Brier) or a forecaster.")] = None,
    bits: Annotated[bool, typer.Option(help="Log score in bits instead of nats.")] = False,
    as_of: AsOf = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Time-averaged scores of resolved questions (ambiguous and annulled ones left out and counted)."""
    if by not in SCORE_BY:
        raise InvalidInput(f"--by must be one of {', '.join(SCORE_BY)}")
    if rule not in SCORE_RULES:
        raise InvalidInput(f"--rule must be one of {', '.join(SCORE_RULES)}")
    if relative_to is not None and rule in ("baseline", "peer"):
        raise InvalidInput("--relative-to applies to brier, log and spherical; baseline and peer are relative already")
    from forecasts.scoring import score_table

    table = score_table(*_frames(db, as_of), by=by, rule=rule, relative_to=relative_to, as_of=as_of,
                        log_base=2 if bits else "e").rename_axis(by).reset_index()
    if as_json:
        sys.stdout.write(json.dumps({"rule": rule, "by": by, "higher_is_better": table.attrs.get("higher_is_better"),
                                     "excluded": _plain(table.attrs.get("excluded", {})),
                                     "rows": _records(table)}, indent=1) + "\n")
        return
    better = "higher" if table.attrs.get("higher_is_better") else "lower"
    unit = {"brier": "Brier 0-1", "log": "log score in " + ("bits" if bits else "nats"), "spherical": "spherical",
            "baseline": "Metaculus baseline", "peer": "Metaculus peer"}[rule]
    cols = [by, "n_questions", "n_forecasts", "score", "coverage"] + (["relative", "n_relative"] if relative_to else [])
    _print_table(table, cols, title=f"{unit}, time-averaged ({better} is better)", empty="no resolved questions to score")
    _done(_excluded_line(table.attrs.get("excluded", {})))


@app.command()
def calibration(
    forecaster: Annotated[list[str] | None, typer.Option(help="Only these forecasters (repeat the option).")] = None,
    by: Annotated[str | None, typer.Option(help="Group by forecaster, tag, kind or period.")] = "forecaster",
    bins: Annotated[int, typer.Option(help="Bins of the text chart and the ECE.")] = 10,
    as_of: AsOf = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Calibration of binary forecasts on questions past their scheduled close: CORP decomposition,
    Spiegelhalter's Z, Cox slope and intercept, ECE, and a text reliability chart."""
    if by not in (None, "forecaster", "tag", "kind", "period", "all"):
        raise InvalidInput("--by must be one of forecaster, tag, kind, period, all")
    if not 2 <= bins <= 100:
        raise InvalidInput("--bins must lie between 2 and 100")
    from forecasts.scoring import (calibration_cases, calibration_groups, calibration_table, reliability,
                                   text_reliability_chart)

    frames = _frames(db, as_of)
    group = None if by == "all" else by
    table = calibration_table(*frames, forecaster=forecaster, by=group, as_of=as_of, bins=bins)
    table = table.rename_axis(group or "group").reset_index()
    if as_json:
        sys.stdout.write(json.dumps({"by": group, "excluded": _plain(table.attrs.get("excluded", {})),
                                     "ece_binning": table.attrs.get("ece_binning"), "rows": _records(table)},
                                    indent=1) + "\n")
        return
    cols = [group or "group", "n_questions", "n_forecasts", "brier", "mcb", "dsc", "unc",
            "spiegelhalter_z", "spiegelhalter_p", "cox_slope", "cox_intercept", "ece"]
    _print_table(table, cols, title="Calibration (Brier decomposition: score = MCB - DSC + UNC; lower MCB is better)",
                 empty="no resolved binary question is past its scheduled close yet")
    _done(_excluded_line(table.attrs.get("excluded", {})))
    if table.empty:
        return
    cases = calibration_cases(*frames, forecaster=forecaster, as_of=as_of)
    for name, part in calibration_groups(cases, frames[1], group):
        curve = reliability(part["p"], part["y"], part["weight"], n_boot=0)
        _done(f"\n{name}: reliability (| = mean forecast, # = observed frequency)")
        _done(text_reliability_chart(curve, bins=bins))


@app.command()
def demo(
    db: Annotated[Path | None, typer.Option("--db", help="Where to build the demo ledger [default: data/demo/new-start.duckdb].")] = None,
) -> None:
    """Build the New START case study in a fresh demo ledger (never your own) and score it."""
    from forecasts.demo import run_demo

    result = run_demo(db)
    counts = result["counts"]
    _done(f"demo ledger: {result['path']} ({', '.join(f'{n} {t}' for t, n in counts.items())})")
    _done(f"hash chain: {'ok' if result['verify'].ok else result['verify'].problem}")
    _print_table(result["scores"], list(result["scores"].columns),
                 title="New START: time-averaged scores (lower is better; Brier 0-1, log in nats)")
    _done(f"report: {result['report']}")


_CORE = frozenset(c.name or c.callback.__name__ for c in app.registered_commands) | {"question", "event"}
#: The command modules of forecasts.commands and the commands each registers.
_AREAS = {"models": ("update", "backtest", "fit", "explain"), "report": ("report",),
          "sources": ("import", "evaluate")}
_registered: set[str] = set()


def _register(*areas: str) -> typer.Typer:
    import importlib

    for area in areas:
        if area not in _registered:
            importlib.import_module(f"forecasts.commands.{area}").register(app)
            _registered.add(area)
    return app


def full_app() -> typer.Typer:
    """The app with every command registered (models, report, import, evaluate too)."""
    return _register(*_AREAS)


def main() -> None:
    """Entry point of the ``forecasts`` script.

    typer turns every registered command into a click command at each start, so a command
    runs with only its own area registered (``log`` with the ledger's commands alone); an
    unknown command, or ``--help``, gets the full app.
    """
    command = sys.argv[1] if len(sys.argv) > 1 else None
    if command in _CORE:
        app()
        return
    areas = [area for area, commands in _AREAS.items() if command in commands]
    _register(*(areas or _AREAS))()


if __name__ == "__main__":
    main()
