"""The commands that take history in and send forecasts out to other tools: ``forecasts import
FORMAT FILE`` (one command per importer of :mod:`forecasts.sources`, plus ``import ledger`` to
restore an export), ``forecasts evaluate`` (the models against an imported crowd), and the
interchange formats of ``forecasts export`` (hubverse, fatebook).

Each import opens (or creates) the ledger, drives a progress bar on standard error from the
importer's ``progress`` callback, and prints what was added, skipped as already present,
filtered and refused.  A refused import prints its malformed rows with their line numbers, then
the one-line error (exit code 2; nothing written).  Only typer and the standard library are
imported here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from forecasts.cli.options import Db, Json, open_ledger
from forecasts.cli.output import line, progress, records, write_json
from forecasts.errors import ImportRejected, InvalidInput

if TYPE_CHECKING:
    from forecasts.ledger.store import Ledger

app = typer.Typer()
import_app = typer.Typer(help="Import a track record or events from another tool (idempotent, all or nothing).",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")

File = Annotated[Path, typer.Argument(help="The file to import.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Validate and count, write nothing.")]
Skip = Annotated[bool, typer.Option("--skip-malformed", help="Import the valid rows and list the malformed ones (default: refuse the whole file).")]
#: Malformed rows listed in full; the rest are counted.
SHOWN = 20
#: The interchange formats of ``forecasts export`` (the others are the ledger's own, lossless).
EXPORTS = ("hubverse", "fatebook")


def export_to(format: str, ledger: Ledger, out: Path, *, rounds: str = "day") -> Mapping[str, Path]:
    """Write the ledger's forecasts in an interchange format (one of :data:`EXPORTS`; ``rounds``
    for hubverse); the files written, by role."""
    if format == "hubverse":
        from forecasts.sources.hubverse import export_hubverse

        return export_hubverse(ledger, out, rounds=rounds)
    from forecasts.sources.fatebook import export_fatebook

    return {"fatebook": export_fatebook(ledger, out)}


def _run(importer: Callable[..., Any], db: str | None, path: Path, as_json: bool, **kwargs: Any) -> None:
    """Open the ledger, run an importer with a progress bar, print its summary."""
    ledger = open_ledger(db, create=True)
    try:
        with progress(f"importing {path.name}") as update:
            summary = importer(ledger, path, progress=lambda done, total: update(done, total), **kwargs)
    except ImportRejected as exc:
        for number, why in exc.problems[:SHOWN]:
            line(f"line {number}: {why}", err=True)
        if len(exc.problems) > SHOWN:
            line(f"... and {len(exc.problems) - SHOWN} more malformed rows", err=True)
        raise
    if as_json:
        write_json(summary.as_dict())
        return
    verb = "would add" if summary.dry_run else "added"
    added = ", ".join(f"{n} {t}" for t, n in summary.added.items()) or "nothing"
    line(f"{summary.source}: read {summary.rows_read} rows from {path.name}; {verb} {added}")
    skipped = {t: n for t, n in summary.skipped.items() if n}
    if skipped:
        line("already in the ledger, skipped: " + ", ".join(f"{n} {t}" for t, n in skipped.items()))
    if summary.filtered:
        line("left out on purpose: " + ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in summary.filtered.items()))
    for note in summary.notes:
        line(f"note: {note}")
    if summary.malformed:
        line(f"{len(summary.malformed)} malformed rows left out (--skip-malformed):")
        for number, why in summary.malformed[:SHOWN]:
            line(f"  line {number}: {why}")
        if len(summary.malformed) > SHOWN:
            line(f"  ... and {len(summary.malformed) - SHOWN} more (see --json)")


def _mapping(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise InvalidInput(f"--map {item!r} must read CANONICAL=COLUMN, e.g. made_at=date")
        key, col = item.split("=", 1)
        out[key.strip()] = col.strip()
    return out


@import_app.command("metaculus")
def metaculus(
    path: File,
    questions: Annotated[Path | None, typer.Option("--questions", help="Questions table with titles (metaculus_binary_questions.csv).")] = None,
    question_id: Annotated[list[int] | None, typer.Option("--question-id", help="Only this Metaculus question (repeatable).")] = None,
    resolved_before: Annotated[str | None, typer.Option("--resolved-before", help="Only questions resolved before this date.")] = None,
    dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
) -> None:
    """Metaculus binary questions with the community prediction history.

    PATH is one of: the tabular series (.parquet/.csv: question_id, timestamp_utc,
    community_median_p_yes, outcome 1/0/-1, open_time_utc, close_time_utc, resolve_time_utc,
    after_close, question_title); api2 JSON (question type in possibilities.type, history in
    community_prediction.history[].t/x1.q2 or prediction_timeseries[].t/community_prediction);
    /api/posts/ JSON (question, group_of_questions -> one question each, conditional and
    notebook posts skipped and counted; history in question.aggregations.recency_weighted.history
    start_time/centers); or a Metaculus data export (folder or .zip with question_data.csv and
    forecast_data.csv: Question ID, Post ID, Label, Question Type, Open Time, Actual/Scheduled
    Close Time, Resolution, Resolution Known Time; Forecaster ID/Username or Forecaster
    (Anonymized), Is Bot, Start Time, Probability Yes). Only binary questions are imported; other
    types are counted by name. Any other layout is refused.
    """
    from forecasts.sources.metaculus import import_metaculus

    _run(import_metaculus, db, path, as_json, questions=questions, question_ids=question_id,
         resolved_before=resolved_before, dry_run=dry_run, skip_malformed=skip_malformed)


@import_app.command("gjp")
def gjp(
    path: File,
    questions: Annotated[Path | None, typer.Option("--questions", help="gjp_ifps.csv (needed for a forecasts file).")] = None,
    dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
) -> None:
    """Good Judgment Project questions (ifps.csv) or survey forecasts (survey_fcasts*.csv, with --questions).

    \b
    ifps.csv: ifp_id, q_type, q_text (title), q_desc (criteria), q_status (closed or voided:
      annulled), date_start (opens), date_suspend, date_to_close (closes), date_closed
      (resolved; also the close when date_to_close is not after date_start), outcome (the
      option letter), short_title, days_open, n_opts, options ("(a) Yes, (b) No": binary;
      otherwise multiple choice with the letters as options). Dates m/d/yy, UTC; NA and
      NULL mean missing. Tags: gjp.
    survey forecasts: ifp_id, ctt, cond, training, team, user_id (forecaster gjp:<user_id>),
      forecast_id, fcast_type, answer_option (a, b...), value (its probability), fcast_date,
      expertise, q_status, viewtime, year, timestamp. One row per option of a forecast.
    Any other column or q_status is refused, naming it. Import the forecasts file (it brings
    its questions) rather than ifps.csv first: year 1 took forecasts the day before the
    official start, and a question already imported keeps its official start."""
    from forecasts.sources.gjp import import_gjp

    _run(import_gjp, db, path, as_json, questions=questions, dry_run=dry_run, skip_malformed=skip_malformed)


@import_app.command("predictionbook")
def predictionbook(
    path: File,
    questions: Annotated[Path | None, typer.Option("--questions", help="predictionbook_questions.parquet, for titles.")] = None,
    certainty: Annotated[bool, typer.Option("--certainty/--no-certainty", help="Accept 0% and 100% forecasts.")] = True,
    dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
) -> None:
    """PredictionBook forecasts (and questions, resolutions): the scraped tables (CSV/Parquet:
    question_id, user_id, probability, timestamp, outcome 1/0/-1, open_time, close_time,
    resolve_time; --questions adds q_title) or an API answer (.json: /api/predictions,
    /api/predictions/:id or /api/my_predictions; wagers are responses' confidence / 100)."""
    from forecasts.sources.predictionbook import import_predictionbook

    _run(import_predictionbook, db, path, as_json, questions=questions, allow_certainty=certainty,
         dry_run=dry_run, skip_malformed=skip_malformed)


@import_app.command("fatebook")
def fatebook(
    path: File,
    prefix: Annotated[str, typer.Option("--prefix", help="Persons become PREFIX:<name>; names with a reserved prefix (model:, crowd:, import:, backtest:) are kept.")] = "fatebook",
    dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
) -> None:
    """A Fatebook CSV export (fatebook.io, "export all"), one row per stored forecast.

    Columns, in Fatebook's order: Question title; Multiple choice option (empty for a binary
    question); Forecast created by; Forecast (scale = 0-1); Forecast created at; Question
    created by; Question created at (the question opens); Question resolve by (it closes);
    Resolution (YES, NO, AMBIGUOUS; per option for multiple choice); Resolved at; Your Brier
    score for this question and Your relative Brier score for this question (not read);
    Question notes (the criteria); Question shared with, Question shared publicly, Question
    comments (not read); Question tags (tag names separated by "; ", optional in older
    exports). Times are YYYY-MM-DD HH:MM:S in UTC (seconds not zero-padded). Multiple-choice
    rows of one forecaster at one second make one forecast (options not yet given count 0,
    the rest goes to an added option 'other'); options summing to more than 1 are refused.
    Any other column is refused by name.
    """
    from forecasts.sources.fatebook import import_fatebook

    _run(import_fatebook, db, path, as_json, prefix=prefix, dry_run=dry_run, skip_malformed=skip_malformed)


@import_app.command("cultivate")
def cultivate(
    path: File,
    questions: Annotated[Path | None, typer.Option("--questions", help="The questions JSON (GET /api/v1/questions), needed with a prediction sets file.")] = None,
    platform: Annotated[str, typer.Option("--platform", help="gjopen (Good Judgment Open) or infer: names the source import:PLATFORM, question ids PLATFORM-<id> and forecasters PLATFORM:<guid>.")] = "gjopen",
    dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
) -> None:
    """Good Judgment Open or INFER (Cultivate Labs API JSON): questions and prediction sets.

    PATH is a prediction sets JSON ({"prediction_sets": [...]}: id, question_id, created_at,
    membership_guid, rationale, predictions[].answer_id / forecasted_probability /
    made_after_correctness_known) with --questions, or a questions JSON alone ({"questions":
    [...]}: id, name, type Forecast::Binary::Question or Forecast::Question, starts_at,
    ends_at, resolved_at, voided_at, use_ordinal_scoring, description, answers[].id / name /
    probability). A page, a list of pages or a bare list is read. Voided questions are
    annulled; predictions made after correctness was known are counted and left out; any
    other question type is refused by name.
    """
    from forecasts.sources.cultivate import import_cultivate

    _run(import_cultivate, db, path, as_json, questions=questions, platform=platform, dry_run=dry_run,
         skip_malformed=skip_malformed)


@import_app.command("manifold")
def manifold(
    path: File,
    bets: Annotated[Path | None, typer.Option("--bets", help="The market's bets JSON (GET /v0/bets?contractId=...), for the probability history.")] = None,
    dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
) -> None:
    """Manifold Markets binary markets (public API JSON) as a crowd baseline.

    PATH is a market (GET /v0/market/ID: id, question, outcomeType, mechanism, createdTime,
    closeTime, isResolved, resolution YES/NO/CANCEL/MKT, resolutionTime, resolutionProbability,
    probability) or a list of them (GET /v0/markets). With --bets (a list: contractId,
    createdTime, probBefore, probAfter, isRedemption, isFilled/isCancelled) each bet gives the
    market probability probAfter at its time; without, the market's current probability at
    its last update is the one point. Times are Unix milliseconds. Only BINARY markets are
    imported; other outcome types are counted by name.
    """
    from forecasts.sources.manifold import import_manifold

    _run(import_manifold, db, path, as_json, bets=bets, dry_run=dry_run, skip_malformed=skip_malformed)


@import_app.command("forecastbench")
def forecastbench(
    path: File,
    resolutions: Annotated[Path | None, typer.Option("--resolutions", help="A resolution set JSON (with a question set JSON).")] = None,
    dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
) -> None:
    """ForecastBench market questions with the frozen crowd forecast and resolutions.

    \b
    FILE: a flattened table (fb_id, source, question, url, market_open_utc, market_close_utc,
    freeze_datetime_utc, freeze_crowd_p_yes, resolved, resolved_to 1/0,
    first_resolved_date, resolution_criteria) or a question set JSON ({"questions": [...]},
    with --resolutions a resolution set JSON). The frozen crowd value is a forecast by
    import:<source> at the freeze time; questions are tagged forecastbench and <source>."""
    from forecasts.sources.forecastbench import import_forecastbench

    _run(import_forecastbench, db, path, as_json, resolutions=resolutions, dry_run=dry_run,
         skip_malformed=skip_malformed)


@import_app.command("csv")
def csv_(
    path: File,
    map_: Annotated[list[str] | None, typer.Option("--map", help="CANONICAL=COLUMN, e.g. made_at=date (repeatable).")] = None,
    name: Annotated[str, typer.Option("--name", help="Rows are marked import:NAME; forecasters become NAME:<name in file>.")] = "csv",
    prefix: Annotated[str | None, typer.Option("--prefix", help="Prefix for question ids.")] = None,
    forecaster: Annotated[list[str] | None, typer.Option("--forecaster", help="FILE_NAME=LEDGER_NAME: file this forecaster's rows under LEDGER_NAME instead of NAME:FILE_NAME (repeatable).")] = None,
    sep: Annotated[str | None, typer.Option("--sep", help="Field separator, e.g. ';' or '\\t' (default ',', tab for .tsv/.txt).")] = None,
    decimal: Annotated[str, typer.Option("--decimal", help="Decimal mark of probabilities: '.' or ',' (0,35).")] = ".",
    dayfirst: Annotated[bool, typer.Option("--dayfirst", help="Read 05/01/2021 as 5 January 2021.")] = False,
    monthfirst: Annotated[bool, typer.Option("--monthfirst", help="Read 05/01/2021 as 1 May 2021.")] = False,
    certainty: Annotated[bool, typer.Option("--allow-certainty", help="Accept 0% and 100% forecasts.")] = False,
    dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
) -> None:
    """Any CSV/Parquet table of forecasts, one row per forecast.

    \b
    Columns (rename with --map CANONICAL=COLUMN; any other column is refused):
      question     question id in the file (made a slug; --prefix adds PREFIX-)   required
      forecaster   who forecast; becomes NAME:<forecaster> unless --forecaster   required
      made_at      when (ISO 8601, or 05/01/2021 with --dayfirst/--monthfirst)   required
      probability  P(yes): 0.65, 65%, odds 13:7 (0,65 with --decimal ,)           required
      source_id    the row's id in the source (default line-<n>)
      rationale    text, at most 10,000 characters
      title, opens, closes, criteria, tags    the question, from its first row
                   (tags: one cell, separated by commas: arms-control,russia)
      outcome      yes, no, ambiguous or annulled; resolved_at its date
                   (default: closes); forecasts dated after it are refused
    """
    from forecasts.sources.generic import import_csv

    if dayfirst and monthfirst:
        raise InvalidInput("give --dayfirst or --monthfirst, not both")
    order = "dayfirst" if dayfirst else ("monthfirst" if monthfirst else None)
    _run(import_csv, db, path, as_json, mapping=_mapping(map_), name=name, prefix=prefix,
         allow_certainty=certainty, dry_run=dry_run, skip_malformed=skip_malformed,
         sep=None if sep is None else sep.replace("\\t", "\t"), decimal=decimal, date_order=order,
         forecasters=_pairs(forecaster, "--forecaster", "FILE_NAME=LEDGER_NAME, e.g. alice=alice"))


def _pairs(items: list[str] | None, option: str, example: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise InvalidInput(f"{option} {item!r} must read {example}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


@import_app.command("gdelt")
def gdelt(
    path: File,
    actors: Annotated[str | None, typer.Option("--actors", help="Actor pair, either direction, e.g. USA,RUS.")] = None,
    codes: Annotated[str | None, typer.Option("--codes", help="CAMEO code prefixes, e.g. 03,04,17.")] = None,
    root_only: Annotated[bool, typer.Option("--root-only", help="Only root events.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="From this date.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this date.")] = None,
    dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
) -> None:
    """GDELT 1.0/2.0 event exports, with CAMEO descriptions and Goldstein scores attached.

    \b
    FILE: an export as GDELT publishes it (20170701234500.export.CSV.zip, or the .export.CSV
    inside): tab-separated, no header, 57 or 58 columns (1.0) or 61 (2.0), every line the
    same; or a table with GDELT's column names as its header (gdeltPyR's added
    CAMEOCodeDescription is ignored, any other unknown column refused).
    Each row becomes an event: on = SQLDATE; title "<Actor1Name> -> <Actor2Name>: <CAMEO
    description>"; cameo = EventCode (leading zeros kept); actors = Actor1Code;Actor2Code;
    source_url = SOURCEURL; source_id = GLOBALEVENTID; GoldsteinScale, NumMentions,
    NumSources, AvgTone and ActionGeo_FullName go into the description; tags gdelt,
    quad:<QuadClass>, cameo-root:<EventRootCode>."""
    from forecasts.sources.gdelt import import_gdelt

    _run(import_gdelt, db, path, as_json, actors=actors.split(",") if actors else None,
         codes=codes.split(",") if codes else None, root_only=root_only, since=since, until=until,
         dry_run=dry_run, skip_malformed=skip_malformed)


@import_app.command("events-csv")
def events_csv(
    path: File,
    map_: Annotated[list[str] | None, typer.Option("--map", help="FIELD=COLUMN (repeatable).")] = None,
    name: Annotated[str, typer.Option("--name", help="Rows are marked import:NAME.")] = "events-csv",
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Add this tag to every event (repeatable).")] = None,
    ignore: Annotated[list[str] | None, typer.Option("--ignore", help="Leave this column out (repeatable); any other unknown column is refused.")] = None,
    dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
) -> None:
    """A plain CSV (or Parquet) of dated events, one row per event.

    \b
    Columns (rename with --map FIELD=COLUMN):
      title          what happened                                             required
      on             when (also occurred_on, occurred_at, date; ISO 8601)      required
      description    longer text
      source_url     a link to the report
      actors         source;target, separated by a semicolon (USA;RUS)
      cameo          CAMEO code, leading zeros kept (also cameo_code)
      goldstein      -10..+10 (filled in from the CAMEO code when missing)
      tags           one cell, separated by commas (arms-control,russia)
      date_precision day, approx or time
      source_id      the row's id (default: date and a hash of the title)"""
    from forecasts.sources.events_csv import import_events_csv

    _run(import_events_csv, db, path, as_json, mapping=_mapping(map_), name=name, tags=tag or (),
         ignore=ignore or (), dry_run=dry_run, skip_malformed=skip_malformed)


@import_app.command("ledger")
def ledger_(
    folder: Annotated[Path, typer.Argument(help="A folder written by 'forecasts export' (CSV or Parquet).")],
    db: Db = None,
) -> None:
    """Restore a full export into a new, empty ledger (same rows, same hashes)."""
    counts = open_ledger(db, create=True).restore(folder)
    line("restored " + ", ".join(f"{n} {t}" for t, n in counts.items()) + f" from {folder}")


@app.command()
def evaluate(
    crowd: Annotated[str, typer.Option("--crowd", help="The imported crowd to beat.")] = "import:metaculus",
    cutoff: Annotated[str, typer.Option("--cutoff", help="Train on questions resolved before it; test on every question open at it or opened after it, scored after it.")] = "2020-07-01",
    end: Annotated[str | None, typer.Option("--end", help="Only test questions resolved before this date.")] = None,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and of the contextual model's sampler.")] = 0,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Run the models as forecasters over an imported crowd out of sample and compare scores."""
    from forecasts.runs.evaluate import evaluate_crowd

    result = evaluate_crowd(open_ledger(db), crowd=crowd, cutoff=cutoff, end=end, n_boot=n_boot, seed=seed)
    if as_json:
        write_json({"crowd": result.crowd, "cutoff": str(result.cutoff), "end": str(result.end),
                    "params": result.params, "counts": result.counts, "verdicts": result.verdicts,
                    "table": records(result.table), "by_horizon": records(result.by_horizon),
                    "by_length": records(result.by_length), "pairs": records(result.pairs)})
        return
    line(result.to_text())
