"""Shared fixtures: every test runs in its own folder with its own ledger file.

The autouse fixture points ``FORECASTS_DB`` at a file under ``tmp_path`` and makes ``tmp_path``
the working folder, so no test can touch a real ``data/forecasts.duckdb``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path
from typing import NamedTuple

import pytest

from forecasts.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FORECASTS_DB", str(tmp_path / "ledger.duckdb"))
    monkeypatch.setenv("FORECASTS_USER", "tester")


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "ledger.duckdb"


@pytest.fixture
def ledger(db_path) -> Ledger:
    """A fresh, migrated ledger in a real DuckDB file."""
    return Ledger.open(db_path, create=True)


@pytest.fixture
def open_question(ledger) -> str:
    """A binary question open until 2300."""
    ledger.add_question("rain", title="Will it rain?", closes="2300-01-01", tags="weather")
    return "rain"


class CliResult(NamedTuple):
    """What a run of the command line left: the exit code and both output streams."""

    returncode: int
    stdout: str
    stderr: str


def _run_cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> CliResult:
    """The ``forecasts`` app in this process, built as :func:`forecasts.cli.main` builds it (only
    the command being run mounted).  An exception that escapes the app is written to stderr as
    the traceback a real process would print, with exit code 1."""
    from typer.testing import CliRunner

    from forecasts.cli import app_for

    app = app_for(args[0] if args else None)
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args), env=env, prog_name="forecasts")
    finally:
        os.chdir(old)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return CliResult(result.exit_code, result.stdout, stderr)


def _run_process(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "forecasts.cli", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=300)


@pytest.fixture
def cli():
    """Run the ``forecasts`` command line in this process: ``cli("log", "rain", "60%")`` returns
    ``returncode``, ``stdout`` and ``stderr`` like a finished process."""
    return _run_cli


@pytest.fixture
def shared():
    """``shared("name")``: the path of a file in ../shared/data, or skip the test."""

    def get(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.exists():
            pytest.skip(f"{name} is research-use data not shipped with the project: expected in {SHARED_DATA}")
        return path

    return get


@pytest.fixture(scope="session")
def demo_ledger_file(tmp_path_factory) -> Path:
    """The New START demo ledger (before the models' replay), built once per test session.
    Read it, never write to it: take :func:`demo_copy` for a ledger to change."""
    from forecasts.demo import build_demo_ledger

    return build_demo_ledger(tmp_path_factory.mktemp("demo-ledger") / "new-start.duckdb").path


@pytest.fixture
def demo_copy(demo_ledger_file, tmp_path) -> Ledger:
    """A copy of the session's demo ledger in this test's own folder, free to write to."""
    target = tmp_path / "new-start.duckdb"
    shutil.copyfile(demo_ledger_file, target)
    return Ledger.open(target)


@pytest.fixture
def cli_process():
    """Run the real ``forecasts`` entry point in a subprocess (``python -m forecasts.cli``)."""
    return _run_process


@pytest.fixture
def snapshot():
    """Everything recorded (row counts and the verified chain head), to show nothing changed."""

    def take(ledger: Ledger) -> tuple:
        result = ledger.verify()
        assert result.ok, result.problem
        return ledger.counts(), result.head

    return take
