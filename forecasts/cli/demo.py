"""The ``demo`` command: the New START case study built end to end in a fresh demo ledger.

The demo's ``--db`` never falls back to ``$FORECASTS_DB``, so it cannot touch your own ledger.
The demo code (pandas, PyMC, the report) is imported inside the command.
"""

from __future__ import annotations

import typer

from forecasts.cli.options import DemoDb
from forecasts.cli.output import line, table

app = typer.Typer()


@app.command()
def demo(db: DemoDb = None) -> None:
    """Build the New START case study in a fresh demo ledger (never your own) and score it."""
    from forecasts.demo import run_demo

    result = run_demo(db)
    counts = result["counts"]
    line(f"demo ledger: {result['path']} ({', '.join(f'{n} {t}' for t, n in counts.items())})")
    line(f"hash chain: {'ok' if result['verify'].ok else result['verify'].problem}")
    table(result["scores"], list(result["scores"].columns),
          title="New START: time-averaged scores (lower is better; Brier 0-1, log in nats)")
    line(f"report: {result['report']}")
