"""The ``forecasts`` command line: parse, call the library, print.

One module per area, each with its own ``typer.Typer()`` named ``app``, mounted on the top-level
app built here:

* :mod:`~forecasts.cli.ledger`   init, question add, log, correct, retract, event add, evidence,
  resolve, history, questions, events, verify, due, export (lossless csv/parquet);
* :mod:`~forecasts.cli.scoring`  score, calibration;
* :mod:`~forecasts.cli.models`   update, backtest, fit, explain;
* :mod:`~forecasts.cli.sources`  import ..., evaluate, export hubverse/fatebook;
* :mod:`~forecasts.cli.report`   report;
* :mod:`~forecasts.cli.team`     team add-analyst/add-editor/add-importer/add-admin/list, push;
* :mod:`~forecasts.cli.demo`     demo.

The options every area shares (``--db``, ``--by``, ``--as-of``, ``--json``) live in
:mod:`~forecasts.cli.options`, the ways of printing (one red error line, tables, JSON records,
progress bars) in :mod:`~forecasts.cli.output`.

Errors: the library raises :class:`~forecasts.errors.ForecastsError` for anything a user can
cause; the top-level group prints its one line in red on standard error and exits with its
``exit_code`` (2 bad input, nothing written; 1 a ledger that cannot be used).  Nothing else is
caught: any other exception is a library bug and shows its traceback.

Start-up: typer turns every mounted command into a click command at each start, so
:func:`main` mounts only the command being run, taken from the area that holds it.  Which area
that is, is read from the areas' own apps (every module of this package with a module-level
``app``), never from a table kept by hand; the ledger area is looked at first, so
``forecasts log`` imports no other area.  ``--help`` and an unknown command get every area.
Area modules import only typer and the standard library at module level (and
:mod:`forecasts.errors`); pandas and everything heavier are imported inside the commands that
need them.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.main import get_command_name
from typer.models import CommandInfo

from forecasts.errors import ForecastsError

#: The order of the areas in ``forecasts --help`` and in the search for a command; an area
#: module not named here still counts, after these, in name order.
ORDER = ("ledger", "scoring", "models", "sources", "report", "team", "demo")
HELP = "An append-only forecast ledger: log dated probabilities, record events, resolve, score."


class _Group(TyperGroup):
    """Turns a library error anywhere below into one red line and its exit code."""

    def invoke(self, ctx: Any) -> Any:
        from forecasts.cli import options

        try:
            result = super().invoke(ctx)
        except ForecastsError as exc:
            from forecasts.cli.output import error

            error(exc.message)  # a refused write says why itself: no warning after it
            raise typer.Exit(exc.exit_code) from None
        except typer.Exit as done:
            if done.exit_code == 0:
                _warn(options.WARNINGS)
            raise
        finally:
            options.release()
        _warn(options.WARNINGS)
        return result


def _warn(warnings: list[str]) -> None:
    """The warnings a command left (:data:`forecasts.cli.options.WARNINGS`), on stderr, after its output."""
    if warnings:
        from forecasts.cli.output import line

        for text in dict.fromkeys(warnings):
            line(text, err=True)


def _print_version(value: bool) -> None:
    if value:
        from forecasts import __version__

        sys.stdout.write(f"forecasts {__version__}\n")
        raise typer.Exit()


def _options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Write even to a ledger that fails its quick check "
                                                        "(see 'forecasts verify').")] = False,
) -> None:
    from forecasts.cli import options

    options.FORCE = force  # each run sets both afresh (tests run many commands in one process)
    options.WARNINGS.clear()


def area_names() -> list[str]:
    """The modules of this package that may hold an area, in :data:`ORDER` first."""
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_") and not m.ispkg]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def area(name: str) -> typer.Typer | None:
    """The ``app`` of the module ``forecasts.cli.<name>``, or None if that module is no area."""
    found = getattr(importlib.import_module(f"{__name__}.{name}"), "app", None)
    return found if isinstance(found, typer.Typer) else None


def command_names(app: typer.Typer) -> Iterator[str]:
    """The top-level command names an app registers, command groups by their name."""
    for info in app.registered_commands:
        name = _command_name(info)
        if name is not None:
            yield name
    for group in app.registered_groups:
        if isinstance(group.name, str):
            yield group.name
        elif group.typer_instance is not None:  # mounted without a name: its commands are ours
            yield from command_names(group.typer_instance)


def _command_name(info: CommandInfo) -> str | None:
    if isinstance(info.name, str):
        return info.name
    return None if info.callback is None else get_command_name(info.callback.__name__)


def find_area(command: str | None) -> str | None:
    """The area whose app holds ``command`` (the first one, in :func:`area_names` order), or None."""
    for name in area_names():
        app = area(name)
        if app is not None and command in list(command_names(app)):
            return name
    return None


def _root() -> typer.Typer:
    root = typer.Typer(cls=_Group, help=HELP, no_args_is_help=True, pretty_exceptions_enable=False,
                       rich_markup_mode=None, add_completion=False)
    root.callback(help=HELP)(_options)
    return root


def _mount(root: typer.Typer, app: typer.Typer, command: str) -> None:
    """Put the command (or command group) ``command`` of ``app`` on ``root``, and nothing else."""
    root.registered_commands += [info for info in app.registered_commands if _command_name(info) == command]
    for group in app.registered_groups:
        if group.name == command:
            root.registered_groups.append(group)
        elif not isinstance(group.name, str) and group.typer_instance is not None:
            _mount(root, group.typer_instance, command)


def full_app() -> typer.Typer:
    """The app with every area mounted, in :func:`area_names` order."""
    root = _root()
    for name in area_names():
        app = area(name)
        if app is not None:
            root.add_typer(app)
    return root


def app_for(command: str | None) -> typer.Typer:
    """The app that runs ``command``: that command alone, taken from its area's app, so typer
    converts nothing else; the full app for ``--help``, no command or an unknown one."""
    name = find_area(command)
    app = area(name) if name is not None else None
    if command is None or app is None:
        return full_app()
    root = _root()
    _mount(root, app, command)
    return root


def main() -> None:
    """Entry point of the ``forecasts`` script (see :func:`app_for`)."""
    app_for(sys.argv[1] if len(sys.argv) > 1 else None)()
