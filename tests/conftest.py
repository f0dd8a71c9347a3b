"""Shared fixtures: every test runs in its own folder with its own ledger file.

The autouse fixture points ``FORECASTS_DB`` at a file under ``tmp_path`` and makes ``tmp_path``
the working folder, so no test can touch a real ``data/forecasts.duckdb``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def _run_cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "forecasts.cli", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=300)


@pytest.fixture
def cli():
    """Run the real ``forecasts`` entry point in a subprocess: ``cli("log", "rain", "60%")``."""
    return _run_cli


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
def snapshot():
    """Everything recorded (row counts and the verified chain head), to show nothing changed."""

    def take(ledger: Ledger) -> tuple:
        result = ledger.verify()
        assert result.ok, result.problem
        return ledger.counts(), result.head

    return take
