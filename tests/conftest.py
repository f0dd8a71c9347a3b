"""Shared fixtures: every test runs in its own folder with its own ledger.

The autouse fixture points ``FORECASTS_DB`` at a file under ``tmp_path`` and makes ``tmp_path``
the working folder, so no test can touch a real ``data/forecasts.duckdb``.

**Both backends.**  Every test that takes a ledger (``db_path``, ``ledger``, ``open_question``,
``demo_copy``) or runs the command line (``cli``, ``cli_process``) runs twice: on a DuckDB file
and on a team ledger in a real PostgreSQL server (a throwaway cluster started once per session,
:mod:`pgcluster`; each test gets a database of its own, and ``FORECASTS_DB`` names it).  A test
about the DuckDB file itself (its bytes, its lock) is marked ``duckdb_only``.  Without a
PostgreSQL installation the server's half skips, saying so; CI (``.ci/run``) installs it.
"""

from __future__ import annotations

import itertools
import json
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


def pytest_runtest_setup(item):
    """Import PyMC before a Hypothesis test whose code may import it for the first time.

    ``pymc.sampling.mcmc`` calls ``sys.setrecursionlimit(10000)`` when it is imported.  Hypothesis
    raises the limit while an example runs and warns (an error here) when it finds it changed
    underneath; a command run in-process that imports PyMC first inside an example trips that.
    Doing the import before the test starts makes the change happen outside Hypothesis.
    """
    if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
        import pymc.sampling.mcmc  # noqa: F401


BACKENDS = ("duckdb", "postgres")
_numbers = itertools.count(1)


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        if metafunc.definition.get_closest_marker("duckdb_only"):
            chosen = ["duckdb"]
        elif metafunc.definition.get_closest_marker("team_only"):
            chosen = ["postgres"]
        else:
            chosen = list(BACKENDS)
        metafunc.parametrize("backend", chosen, indirect=True)


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's throwaway PostgreSQL cluster (see :mod:`pgcluster`)."""
    import pgcluster

    if pgcluster.bindir() is None:
        pytest.skip("PostgreSQL is not installed here (Debian: apt-get install postgresql; .ci/run does it)")
    cluster = pgcluster.Cluster()
    yield cluster
    from forecasts.ledger.postgres_storage import close_idle

    close_idle()
    cluster.close()


@pytest.fixture
def backend(request) -> str:
    """``duckdb`` or ``postgres``: which backend this run of the test uses."""
    return request.param


class _Team:
    """Databases made for one test on the session's cluster, dropped at its end."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.names: list[str] = []

    def database(self, template: str | None = None) -> str:
        name = f"t{next(_numbers)}_{os.getpid()}"
        self.names.append(name)
        return self.cluster.new_database(name, template)

    def drop(self) -> None:
        from forecasts.ledger.postgres_storage import close_idle

        for name in self.names:
            close_idle(self.cluster.url(name))
            self.cluster.drop_database(name)


@pytest.fixture
def team(request, backend):
    """On the server's run: makes databases for this test (``team.database()``); else None."""
    if backend != "postgres":
        yield None
        return
    made = _Team(request.getfixturevalue("pg_cluster"))
    yield made
    made.drop()


@pytest.fixture
def db_path(tmp_path, team, monkeypatch) -> Path | str:
    """Where this test's ledger goes: a DuckDB file under ``tmp_path``, or on the server's run
    the URL of an empty database of its own (``FORECASTS_DB`` names it either way)."""
    if team is None:
        return tmp_path / "ledger.duckdb"
    url = team.database()
    monkeypatch.setenv("FORECASTS_DB", url)
    return url


@pytest.fixture
def ledger(db_path) -> Ledger:
    """A fresh, migrated ledger: a real DuckDB file, or a real PostgreSQL database."""
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


def modules_loaded(args: list[str], modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` the command line ``forecasts *args`` loads, run as a process of its
    own (``FORECASTS_DB`` naming this test's ledger); the command must succeed."""
    code = ("import json, sys, runpy; wanted = sys.argv[1].split(','); sys.argv = ['forecasts', *sys.argv[2:]]\n"
            "try:\n    runpy.run_module('forecasts.cli', run_name='__main__')\n"
            "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print(json.dumps(sorted(m for m in wanted if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, ",".join(modules), *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def duckdb_ledger_at_schema(path: Path, version: int) -> None:
    """Write a DuckDB ledger file as the code of schema ``version`` wrote it: its migrations
    table and the first ``version`` migrations (to test how a later one brings it up to date)."""
    import duckdb

    from forecasts import domain
    from forecasts.ledger import migrations

    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE _forecasts_migrations (version INTEGER NOT NULL, name VARCHAR NOT NULL, "
                "applied_at TIMESTAMP NOT NULL)")
    for number, step in enumerate(migrations.MIGRATIONS[:version], start=1):
        step(con)
        con.execute("INSERT INTO _forecasts_migrations VALUES (?, ?, ?)", [number, step.__name__, domain.now()])
    con.close()


@pytest.fixture
def cli(db_path):
    """Run the ``forecasts`` command line in this process: ``cli("log", "rain", "60%")`` returns
    ``returncode``, ``stdout`` and ``stderr`` like a finished process.  ``FORECASTS_DB`` names
    this run's ledger (a file not yet created, or an empty team database)."""
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


@pytest.fixture(scope="session")
def demo_team_template(demo_ledger_file, pg_cluster) -> str:
    """The demo ledger pushed into a database of the session's cluster, to copy from."""
    from forecasts.ledger.postgres_storage import close_idle

    name = f"demo_{os.getpid()}"
    url = pg_cluster.new_database(name)
    Ledger.open(url, create=True).restore_from(Ledger.open(demo_ledger_file))
    close_idle(url)
    return name


@pytest.fixture
def demo_copy(request, demo_ledger_file, tmp_path, team, monkeypatch) -> Ledger:
    """A copy of the session's demo ledger of this test's own, free to write to: a file in its
    folder, or on the server's run a database copied from the pushed demo."""
    if team is not None:
        url = team.database(template=request.getfixturevalue("demo_team_template"))
        monkeypatch.setenv("FORECASTS_DB", url)
        return Ledger.open(url)
    target = tmp_path / "new-start.duckdb"
    shutil.copyfile(demo_ledger_file, target)
    return Ledger.open(target)


@pytest.fixture
def cli_process(db_path):
    """Run the real ``forecasts`` entry point in a subprocess (``python -m forecasts.cli``),
    ``FORECASTS_DB`` naming this run's ledger."""
    return _run_process


@pytest.fixture
def snapshot():
    """Everything recorded (row counts and the verified chain head), to show nothing changed."""

    def take(ledger: Ledger) -> tuple:
        result = ledger.verify()
        assert result.ok, result.problem
        return ledger.counts(), result.head

    return take


@pytest.fixture
def raw_sql(request):
    """``raw_sql(ledger, "SQL", params)``: plain SQL on a ledger's own storage, past the tool,
    as someone with the storage's keys would run it: DuckDB on the file, or on the team ledger
    psql-style as the cluster's superuser with triggers off (``session_replication_role =
    replica``; row-level security does not bind a superuser).  ``?`` marks parameters on both.
    Returns the rows of a query (``[]`` for a statement)."""

    def run(ledger: Ledger, statement: str, params: tuple | list = ()) -> list[tuple]:
        if not ledger.is_team:
            import duckdb

            con = duckdb.connect(str(ledger.path))
            try:
                cur = con.execute(statement, list(params))
                return cur.fetchall() if cur.description else []
            finally:
                con.close()
        import urllib.parse

        import psycopg

        cluster = request.getfixturevalue("pg_cluster")
        database = urllib.parse.urlsplit(ledger.location).path.lstrip("/")
        with psycopg.connect(cluster.url(database, "postgres"), autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            cur = conn.execute(statement.replace("?", "%s"), list(params))  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    return run
