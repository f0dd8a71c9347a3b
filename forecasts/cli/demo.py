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
    for text in result["about"]:
        line(text)
    questions = result["questions"].assign(
        crowd_until=lambda d: d["crowd_until"].dt.strftime("%Y-%m-%d").fillna(""),
        closes=lambda d: d["closes"].dt.strftime("%Y-%m-%d"))
    table(questions, ["question", "platform", "crowd", "crowd_until", "closes"],
          title="The questions: how many real crowd forecasts, the last one's date, the close")
    for q in questions.itertuples():
        said = f"{q.outcome.upper()}, source: {q.source} ({q.source_date})" if q.outcome else "unresolved: no source found"
        line(f"  {q.question}: {said}")
    table(result["scores"], ["forecaster", "questions", "coverage", "brier", "log", "vs_crowd"],
          title="Time-averaged scores on the resolved questions (lower is better; Brier 0-1, log in nats; "
                "vs_crowd: Brier minus import:metaculus's on the questions both forecast)")
    line(f"report: {result['report']}")
