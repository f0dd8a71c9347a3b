"""The team ledger's commands: its members (``team add-analyst`` ...) and ``push``, which copies
a personal ledger into a new team ledger row for row.  Only typer and the standard library at
module level; the PostgreSQL driver is imported by the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecasts.cli.options import Db, Json, open_ledger
from forecasts.cli.output import line, table
from forecasts.errors import InvalidInput

app = typer.Typer()
team_app = typer.Typer(help="Members of a team ledger (PostgreSQL roles).", no_args_is_help=True)
app.add_typer(team_app, name="team")

PasswordFile = Annotated[Path | None, typer.Option(
    "--password-file", help="Read the password from this file (first line) instead of making one.")]
Name = Annotated[str, typer.Argument(metavar="NAME", help="The member's name: their forecaster name and "
                                                         "PostgreSQL role.")]


def _password(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not a text file (UTF-8): it holds no password") from None
    if not text or not text[0]:
        raise InvalidInput(f"{path} holds no password on its first line")
    return text[0]


def _add(name: str, role: str, password_file: Path | None, db: str | None) -> None:
    from forecasts.ledger.team import add_member

    given = _password(password_file)
    secret = add_member(open_ledger(db), name, role, password=given)
    line(f"{name} added as {role}")
    if given is None:
        line(f"password for {name} (shown once; give it to them, then they keep it in ~/.pgpass): {secret}")


@team_app.command("add-analyst")
def add_analyst(name: Name, password_file: PasswordFile = None, db: Db = None) -> None:
    """Add an analyst: logs forecasts, corrections and evidence as themselves; reads everything."""
    _add(name, "analyst", password_file, db)


@team_app.command("add-editor")
def add_editor(name: Name, password_file: PasswordFile = None, db: Db = None) -> None:
    """Add an editor: an analyst who also adds questions, events and resolutions."""
    _add(name, "editor", password_file, db)


@team_app.command("add-importer")
def add_importer(name: Name, password_file: PasswordFile = None, db: Db = None) -> None:
    """Add an importer: an analyst who also writes imports and model rows, and --by others."""
    _add(name, "importer", password_file, db)


@team_app.command("add-admin")
def add_admin(name: Name, password_file: PasswordFile = None, db: Db = None) -> None:
    """Add an admin: all of the above, and adds members."""
    _add(name, "admin", password_file, db)


@team_app.command("list")
def team_list(db: Db = None, as_json: Json = False) -> None:
    """The team's members and their roles."""
    import pandas as pd

    from forecasts.ledger.team import members

    cols = ["name", "role", "can_login"]
    table(pd.DataFrame(members(open_ledger(db, reads=True)), columns=cols), cols, as_json=as_json, empty="no members yet")


@app.command()
def push(
    source: Annotated[Path, typer.Argument(metavar="FILE", help="The personal ledger (a DuckDB file) to copy.")],
    db: Db = None,
) -> None:
    """Copy a personal ledger into an empty team ledger (--db), every row with its seq, time and
    hash, so the team ledger's chain and head are the file's."""
    from forecasts.ledger.store import Ledger

    target = open_ledger(db)
    counts = target.restore_from(Ledger.open(source, key=target.key))
    head = target.verify().head
    line(f"pushed {sum(counts.values())} rows ({', '.join(f'{n} {t}' for t, n in counts.items())}) "
         f"to {target.location}; head {head}")
