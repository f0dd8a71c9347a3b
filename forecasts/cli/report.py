"""The ``report`` command: the calibration report of a ledger as one self-contained HTML file.

Only typer and the standard library are imported here; the report machinery (pandas,
matplotlib, jinja2) is imported inside the command.  A long report draws a progress bar on
standard error when that is a terminal; the path written is printed last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecasts.cli.options import AsOf, Db, open_ledger
from forecasts.cli.output import line, progress

app = typer.Typer()

#: Reports with at least this many steps (forecasters + questions + 4) show a progress bar.
PROGRESS_FROM = 8


@app.command()
def report(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="HTML file to write [default: reports/<ledger name>.html].",
                                             show_default=False)] = None,
    forecaster: Annotated[list[str] | None, typer.Option("--forecaster", help="Only this forecaster (repeat for several).")] = None,
    tag: Annotated[str | None, typer.Option(help="Only questions with this tag.")] = None,
    since: Annotated[str | None, typer.Option(help="Only questions closing on or after this date.")] = None,
    live_only: Annotated[bool, typer.Option("--live-only", help="Only forecasts recorded live; imported history (source import:...) left out.")] = False,
    as_of: AsOf = None,
    db: Db = None,
) -> None:
    """Write a self-contained HTML calibration report: scores, reliability, timelines."""
    from forecasts.report.build import build_report

    ledger = open_ledger(db)
    with progress("report", show_from=PROGRESS_FROM) as update:
        # step i of n is being made: i - 1 are done (all n once the last step is reached)
        path = build_report(ledger, out, forecasters=forecaster or None, tag=tag, since=since, as_of=as_of,
                            live_only=live_only,
                            progress=lambda step, total, label: update(step - 1 if step < total else total,
                                                                       total, label))
    line(f"report written to {path}")
