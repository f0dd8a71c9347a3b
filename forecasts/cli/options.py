"""The options every area of the command line shares, declared once, and what they resolve to.

``--db`` (also ``$FORECASTS_DB``) names the ledger (a file, or a team ledger's URL), ``--by`` who is acting (else
``$FORECASTS_USER``, else the operating-system user name; the library decides), ``--as-of``
the moment the ledger is read as of (UTC), ``--json`` machine-readable output.
``$FORECASTS_KEY_FILE`` names the team key file that seals every write.  Only typer and
the standard library are imported here: every area imports this module at start-up.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from forecasts.ledger.store import Ledger

Db = Annotated[
    str | None,
    typer.Option("--db", envvar="FORECASTS_DB", show_default=False,
                 help="Ledger: a DuckDB file, or a team ledger's postgresql:// URL "
                      "[default: data/forecasts.duckdb]."),
]
#: The demo's own ledger: never ``$FORECASTS_DB``, so the demo cannot touch your ledger.
DemoDb = Annotated[
    Path | None,
    typer.Option("--db", help="Where to build the demo ledger [default: data/demo/new-start.duckdb].",
                 show_default=False),
]
By = Annotated[str | None, typer.Option("--by", help="Who [default: $FORECASTS_USER, else your user name].")]
#: ``--by`` of the listing commands: a filter, not who is acting.
OnlyBy = Annotated[str | None, typer.Option("--by", help="Only rows this person recorded "
                                                         "(questions: created or forecast).")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Read the ledger as it was at this date/time (UTC).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table or text.")]
Wide = Annotated[bool, typer.Option("--wide", help="Every column and all of the text, however wide the terminal.")]
#: ``forecasts --force``: write even to a ledger that fails its quick check.
FORCE = False
#: Warnings for the end of the command's output (the group prints them: :mod:`forecasts.cli`).
WARNINGS: list[str] = []


#: What a command holds until it ends (:func:`release`): a read command's one connection.
_HELD = contextlib.ExitStack()


def open_ledger(db: str | None, *, create: bool = False, reads: bool = False) -> Ledger:
    """The ledger ``--db`` names (``$FORECASTS_DB``, else data/forecasts.duckdb): a file, or a
    ``postgresql://`` URL; with ``create`` a missing one is created, otherwise it is an error
    (StoreMissing).  ``reads``: the command only reads, so the quick check and every read
    after it share one read-only connection (:meth:`~forecasts.ledger.storage.Storage.reading`),
    held until the command ends (:func:`release`); a write meanwhile is refused."""
    from forecasts.ledger.integrity import read_key_file
    from forecasts.ledger.store import Ledger

    key_file = os.environ.get("FORECASTS_KEY_FILE")
    ledger = Ledger.open(db, create=create, key=read_key_file(key_file) if key_file else None, force=FORCE)
    if reads:
        _HELD.enter_context(ledger.storage.reading())
    checked = ledger.quick_check()  # every command checks the newest rows (Ledger.quick_check)
    if not checked.ok:
        WARNINGS.append(f"warning: ledger {ledger.location} fails its check: {checked.problem}; "
                        "run 'forecasts verify'")
    return ledger


def release() -> None:
    """Close what :func:`open_ledger` held for the command that just ended (the group calls it
    after every command: tests run many commands in one process, and DuckDB refuses a
    read-write connection beside a read-only one to the same file)."""
    _HELD.close()
