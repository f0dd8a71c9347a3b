"""CLI command ``report``: write the calibration report of a ledger as one HTML file.

Only typer and the standard library are imported at module level; the report machinery
(pandas, matplotlib, jinja2) is imported inside the command.  A long report draws a rich
progress bar on standard error when that is a terminal; the path written is printed last.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

Db = Annotated[
    Path | None,
    typer.Option("--db", envvar="FORECASTS_DB", help="Ledger file [default: data/forecasts.duckdb].",
                 show_default=False),
]

#: Reports with at least this many steps (forecasters + questions + 4) show a progress bar.
PROGRESS_FROM = 8


def register(app: typer.Typer) -> None:
    """Add ``report`` to the ``forecasts`` app."""

    @app.command()
    def report(
        out: Annotated[Path | None, typer.Option("--out", "-o", help="HTML file to write [default: reports/<ledger name>.html].",
                                                 show_default=False)] = None,
        forecaster: Annotated[list[str] | None, typer.Option("--forecaster", help="Only this forecaster (repeat for several).")] = None,
        tag: Annotated[str | None, typer.Option(help="Only questions with this tag.")] = None,
        since: Annotated[str | None, typer.Option(help="Only questions closing on or after this date.")] = None,
        as_of: Annotated[str | None, typer.Option("--as-of", help="Read the ledger as it was at this date/time (UTC).")] = None,
        db: Db = None,
    ) -> None:
        """Write a self-contained HTML calibration report: scores, reliability, timelines."""
        from forecasts.ledger.store import Ledger
        from forecasts.report.build import build_report

        ledger = Ledger.open(db)
        state: dict = {}

        def progress(step: int, total: int, label: str) -> None:
            if total < PROGRESS_FROM:
                return
            if "bar" not in state:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

                console = Console(stderr=True)
                if not console.is_terminal:
                    state["bar"] = None
                    return
                bar = Progress(TextColumn("[bold]report[/]"), BarColumn(), MofNCompleteColumn(),
                               TimeElapsedColumn(), TextColumn("{task.description}"), console=console,
                               transient=True)
                bar.start()
                state["bar"], state["task"] = bar, bar.add_task(label, total=total)
            bar = state["bar"]
            if bar is None:
                return
            bar.update(state["task"], completed=step - 1 if step < total else total, description=label)
            if step >= total:
                bar.stop()

        try:
            path = build_report(ledger, out, forecasters=forecaster or None, tag=tag, since=since,
                                as_of=as_of, progress=progress)
        finally:
            if state.get("bar") is not None:
                state["bar"].stop()
        sys.stdout.write(f"report written to {path}\n")
