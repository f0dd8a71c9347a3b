"""CLI commands that take history in: ``forecasts import FORMAT FILE`` and ``forecasts evaluate``.

Each import command is a thin skin over one importer of :mod:`forecasts.sources`: it opens (or
creates) the ledger, drives a progress bar on standard error from the importer's ``progress``
callback, and prints what was added, skipped as already present, filtered and refused.  A
refused import prints its malformed rows with their line numbers, then the one-line error
(exit code 2; nothing written).  Only typer and the standard library are imported here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

Db = Annotated[
    Path | None,
    typer.Option("--db", envvar="FORECASTS_DB", help="Ledger file [default: data/forecasts.duckdb].",
                 show_default=False),
]
File = Annotated[Path, typer.Argument(help="The file to import.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Validate and count, write nothing.")]
Skip = Annotated[bool, typer.Option("--skip-malformed", help="Import the valid rows and list the malformed ones (default: refuse the whole file).")]
Json = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]
SHOWN = 20


def _print(text: str, *, err: bool = False) -> None:
    from rich.console import Console

    Console(stderr=err, highlight=False, soft_wrap=True).print(text, markup=False)


def _run(importer, db: Path | None, path: Path, as_json: bool, **kwargs) -> None:
    """Open the ledger, run an importer with a progress bar, print its summary."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from forecasts.errors import ImportRejected
    from forecasts.ledger.store import Ledger

    ledger = Ledger.open(db, create=True)
    console = Console(stderr=True)
    bar = Progress(TextColumn(f"importing {path.name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console, transient=True, disable=not console.is_terminal)
    task = bar.add_task("import", total=None)

    def progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    try:
        with bar:
            summary = importer(ledger, path, progress=progress, **kwargs)
    except ImportRejected as exc:
        for line, why in exc.problems[:SHOWN]:
            _print(f"line {line}: {why}", err=True)
        if len(exc.problems) > SHOWN:
            _print(f"... and {len(exc.problems) - SHOWN} more malformed rows", err=True)
        raise
    if as_json:
        sys.stdout.write(json.dumps(summary.as_dict(), indent=1, default=str) + "\n")
        return
    verb = "would add" if summary.dry_run else "added"
    added = ", ".join(f"{n} {t}" for t, n in summary.added.items()) or "nothing"
    _print(f"{summary.source}: read {summary.rows_read} rows from {path.name}; {verb} {added}")
    skipped = {t: n for t, n in summary.skipped.items() if n}
    if skipped:
        _print("already in the ledger, skipped: " + ", ".join(f"{n} {t}" for t, n in skipped.items()))
    if summary.filtered:
        _print("left out on purpose: " + ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in summary.filtered.items()))
    for note in summary.notes:
        _print(f"note: {note}")
    if summary.malformed:
        _print(f"{len(summary.malformed)} malformed rows left out (--skip-malformed):")
        for line, why in summary.malformed[:SHOWN]:
            _print(f"  line {line}: {why}")
        if len(summary.malformed) > SHOWN:
            _print(f"  ... and {len(summary.malformed) - SHOWN} more (see --json)")


def _mapping(items: list[str] | None) -> dict[str, str]:
    from forecasts.errors import InvalidInput

    out = {}
    for item in items or []:
        if "=" not in item:
            raise InvalidInput(f"--map {item!r} must read CANONICAL=COLUMN, e.g. made_at=date")
        key, col = item.split("=", 1)
        out[key.strip()] = col.strip()
    return out


def register(app: typer.Typer) -> None:
    """Add ``import`` (a command group) and ``evaluate`` to the ``forecasts`` app."""
    imp = typer.Typer(help="Import a track record or events from another tool (idempotent, all or nothing).",
                      no_args_is_help=True)
    app.add_typer(imp, name="import")

    @imp.command("metaculus")
    def metaculus(
        path: File,
        questions: Annotated[Path | None, typer.Option("--questions", help="Questions table with titles (metaculus_binary_questions.csv).")] = None,
        question_id: Annotated[list[int] | None, typer.Option("--question-id", help="Only this Metaculus question (repeatable).")] = None,
        resolved_before: Annotated[str | None, typer.Option("--resolved-before", help="Only questions resolved before this date.")] = None,
        dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
    ) -> None:
        """Metaculus questions with the community prediction history (tabular file or API JSON)."""
        from forecasts.sources.metaculus import import_metaculus

        _run(import_metaculus, db, path, as_json, questions=questions, question_ids=question_id,
             resolved_before=resolved_before, dry_run=dry_run, skip_malformed=skip_malformed)

    @imp.command("gjp")
    def gjp(
        path: File,
        questions: Annotated[Path | None, typer.Option("--questions", help="gjp_ifps.csv (needed for a forecasts file).")] = None,
        dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
    ) -> None:
        """Good Judgment Project questions (gjp_ifps.csv) or survey forecasts (with --questions)."""
        from forecasts.sources.gjp import import_gjp

        _run(import_gjp, db, path, as_json, questions=questions, dry_run=dry_run, skip_malformed=skip_malformed)

    @imp.command("predictionbook")
    def predictionbook(
        path: File,
        questions: Annotated[Path | None, typer.Option("--questions", help="predictionbook_questions.parquet, for titles.")] = None,
        certainty: Annotated[bool, typer.Option("--certainty/--no-certainty", help="Accept 0% and 100% forecasts.")] = True,
        dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
    ) -> None:
        """PredictionBook forecasts (and questions, resolutions)."""
        from forecasts.sources.predictionbook import import_predictionbook

        _run(import_predictionbook, db, path, as_json, questions=questions, allow_certainty=certainty,
             dry_run=dry_run, skip_malformed=skip_malformed)

    @imp.command("fatebook")
    def fatebook(
        path: File,
        prefix: Annotated[str, typer.Option("--prefix", help="Forecaster names become PREFIX:<name>.")] = "fatebook",
        dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
    ) -> None:
        """A Fatebook CSV export."""
        from forecasts.sources.fatebook import import_fatebook

        _run(import_fatebook, db, path, as_json, prefix=prefix, dry_run=dry_run, skip_malformed=skip_malformed)

    @imp.command("forecastbench")
    def forecastbench(
        path: File,
        resolutions: Annotated[Path | None, typer.Option("--resolutions", help="A resolution set JSON (with a question set JSON).")] = None,
        dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
    ) -> None:
        """ForecastBench market questions with the frozen crowd forecast and resolutions."""
        from forecasts.sources.forecastbench import import_forecastbench

        _run(import_forecastbench, db, path, as_json, resolutions=resolutions, dry_run=dry_run,
             skip_malformed=skip_malformed)

    @imp.command("csv")
    def csv_(
        path: File,
        map_: Annotated[list[str] | None, typer.Option("--map", help="CANONICAL=COLUMN, e.g. made_at=date (repeatable).")] = None,
        name: Annotated[str, typer.Option("--name", help="Rows are marked import:NAME.")] = "csv",
        prefix: Annotated[str | None, typer.Option("--prefix", help="Prefix for question ids.")] = None,
        certainty: Annotated[bool, typer.Option("--allow-certainty", help="Accept 0% and 100% forecasts.")] = False,
        dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
    ) -> None:
        """Any CSV/Parquet table of forecasts (columns question, forecaster, made_at, probability; optional title, opens, closes, outcome, resolved_at, source_id, rationale)."""
        from forecasts.sources.generic import import_csv

        _run(import_csv, db, path, as_json, mapping=_mapping(map_), name=name, prefix=prefix,
             allow_certainty=certainty, dry_run=dry_run, skip_malformed=skip_malformed)

    @imp.command("gdelt")
    def gdelt(
        path: File,
        actors: Annotated[str | None, typer.Option("--actors", help="Actor pair, either direction, e.g. USA,RUS.")] = None,
        codes: Annotated[str | None, typer.Option("--codes", help="CAMEO code prefixes, e.g. 03,04,17.")] = None,
        root_only: Annotated[bool, typer.Option("--root-only", help="Only root events.")] = False,
        since: Annotated[str | None, typer.Option("--since", help="From this date.")] = None,
        until: Annotated[str | None, typer.Option("--until", help="Up to this date.")] = None,
        dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
    ) -> None:
        """GDELT 1.0/2.0 event exports, with CAMEO descriptions and Goldstein scores attached."""
        from forecasts.sources.gdelt import import_gdelt

        _run(import_gdelt, db, path, as_json, actors=actors.split(",") if actors else None,
             codes=codes.split(",") if codes else None, root_only=root_only, since=since, until=until,
             dry_run=dry_run, skip_malformed=skip_malformed)

    @imp.command("events-csv")
    def events_csv(
        path: File,
        map_: Annotated[list[str] | None, typer.Option("--map", help="FIELD=COLUMN (repeatable).")] = None,
        name: Annotated[str, typer.Option("--name", help="Rows are marked import:NAME.")] = "events-csv",
        tag: Annotated[list[str] | None, typer.Option("--tag", help="Add this tag to every event (repeatable).")] = None,
        dry_run: DryRun = False, skip_malformed: Skip = False, as_json: Json = False, db: Db = None,
    ) -> None:
        """A plain CSV of dated events (title, on, and optional description, source_url, actors, cameo...)."""
        from forecasts.sources.events_csv import import_events_csv

        _run(import_events_csv, db, path, as_json, mapping=_mapping(map_), name=name, tags=tag or (),
             dry_run=dry_run, skip_malformed=skip_malformed)

    @imp.command("ledger")
    def ledger_(
        folder: Annotated[Path, typer.Argument(help="A folder written by 'forecasts export' (CSV or Parquet).")],
        db: Db = None,
    ) -> None:
        """Restore a full export into a new, empty ledger (same rows, same hashes)."""
        from forecasts.ledger.store import Ledger

        counts = Ledger.open(db, create=True).restore(folder)
        _print("restored " + ", ".join(f"{n} {t}" for t, n in counts.items()) + f" from {folder}")

    @app.command()
    def evaluate(
        crowd: Annotated[str, typer.Option("--crowd", help="The imported crowd to beat.")] = "import:metaculus",
        cutoff: Annotated[str, typer.Option("--cutoff", help="Train on questions resolved before it; test on questions opened after it.")] = "2020-07-01",
        end: Annotated[str | None, typer.Option("--end", help="Only test questions resolved before this date.")] = None,
        n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples.")] = 2000,
        seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
        as_json: Json = False,
        db: Db = None,
    ) -> None:
        """Run the models as forecasters over an imported crowd out of sample and compare scores."""
        from forecasts.ledger.store import Ledger
        from forecasts.sources.evaluate import evaluate_crowd

        result = evaluate_crowd(Ledger.open(db), crowd=crowd, cutoff=cutoff, end=end, n_boot=n_boot, seed=seed)
        if as_json:
            out = {"crowd": result.crowd, "cutoff": str(result.cutoff), "end": str(result.end),
                   "params": result.params, "counts": result.counts, "verdicts": result.verdicts,
                   "table": result.table.to_dict(orient="records")}
            sys.stdout.write(json.dumps(out, indent=1, default=str) + "\n")
            return
        _print(result.to_text())
