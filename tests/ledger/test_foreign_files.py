"""Files that are not ours, or not well (issue 14): only ``init`` creates tables; every other
command refuses a DuckDB file that is not a ledger and leaves it byte for byte as it was;
reads open the file read-only; a newer, damaged or corrupt ledger is one clear error."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from forecasts.errors import StoreCorrupt
from forecasts.ledger import Ledger
from tests.conftest import duckdb_ledger_at_schema

pytestmark = pytest.mark.duckdb_only

COMMANDS = [("questions", "--json"), ("verify",), ("history", "rain"), ("events",), ("log", "rain", "30%"),
            ("question", "add", "rain", "--title", "Rain?", "--closes", "2300-01-01"),
            ("export", "out")]


def _other_app(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales AS SELECT range AS id, 'item ' || range AS name FROM range(5000)")
    con.close()
    return path


def _own_questions(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE questions (id INTEGER, text VARCHAR)")
    con.execute("INSERT INTO questions VALUES (1, 'What is this file?')")
    con.close()
    return path


@pytest.mark.parametrize("make", [_other_app, _own_questions], ids=["unrelated tables", "own questions table"])
def test_a_file_that_is_not_a_ledger_is_refused_and_unchanged(tmp_path, cli, make):
    path = make(tmp_path / "theirs.duckdb")
    before = path.read_bytes()
    for args in [*COMMANDS, ("init",)]:
        result = cli(*args, "--db", str(path)) if args[0] != "init" else cli("init", "--db", str(path))
        assert result.returncode == 1, (args, result.stdout)
        assert "is not a ledger" in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == before
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("theirs")) == ["theirs.duckdb"]


def test_the_api_refuses_it_too(tmp_path):
    path = _own_questions(tmp_path / "theirs.duckdb")
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt, match="another application's tables"):
        Ledger.open(path).questions()
    with pytest.raises(StoreCorrupt, match="another application's tables"):
        Ledger.open(path, create=True).init()
    assert path.read_bytes() == before


def test_an_empty_duckdb_file_is_a_ledger_only_after_init(tmp_path, cli):
    path = tmp_path / "blank.duckdb"
    duckdb.connect(str(path)).close()
    before = path.read_bytes()
    refused = cli("questions", "--db", str(path))
    assert refused.returncode == 1 and "forecasts init" in refused.stderr
    assert path.read_bytes() == before
    assert cli("init", "--db", str(path)).returncode == 0
    assert cli("questions", "--db", str(path)).returncode == 0


def test_a_sqlite_file_is_refused_without_the_network(tmp_path, cli):
    path = tmp_path / "notes.duckdb"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = path.read_bytes()
    result = cli("verify", "--db", str(path))
    assert result.returncode == 1 and "not a DuckDB database file" in result.stderr
    assert path.read_bytes() == before


def test_connections_never_install_or_load_extensions_nor_draw_progress(ledger):
    settings = ledger.storage._run(lambda con: dict(con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN "
        "('autoinstall_known_extensions', 'autoload_known_extensions', 'enable_progress_bar')").fetchall()))
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false",
                        "enable_progress_bar": "false"}


def _tamper(ledger: Ledger, statement: str) -> None:
    con = duckdb.connect(str(ledger.path))
    con.execute(statement)
    con.close()


@pytest.mark.parametrize(("statement", "message"), [
    ("INSERT INTO _forecasts_migrations VALUES (9, 'm009_future', now())",
     "written by a newer forecasts (schema 9"),
    ("DELETE FROM _forecasts_migrations", "migrations table records no migration"),
    ("DROP TABLE events", "table events is missing"),
    ("DROP TABLE _forecasts_writes", "table _forecasts_writes is missing"),
    ("DROP TABLE _forecasts_migrations", "migrations table is missing"),
    # the newest migration's row deleted: the migration would run again on a schema that has it
    ("DELETE FROM _forecasts_migrations WHERE version = (SELECT max(version) FROM _forecasts_migrations)",
     "its schema does not match its migrations table"),
])
def test_a_newer_or_damaged_ledger_is_named_not_a_traceback(ledger, open_question, cli, statement, message):
    ledger.log("rain", 0.3, by="alice")
    _tamper(ledger, statement)
    before = ledger.path.read_bytes()
    for args in (("questions",), ("verify",), ("log", "rain", "40%")):
        result = cli(*args, "--db", str(ledger.path))
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and "CatalogException" not in result.stderr
    assert ledger.path.read_bytes() == before


def _immutable(*paths: Path) -> bool:
    """``chattr +i`` on ``paths`` where the file system takes it (root ignores file modes)."""
    return shutil.which("chattr") is not None and subprocess.run(
        ["chattr", "+i", *map(str, paths)], capture_output=True).returncode == 0


@pytest.mark.parametrize("schema", ["older", "current"])
def test_a_write_the_folder_refuses_is_one_line_with_the_first_error(tmp_path, schema):
    """A ledger in a folder that refuses new files (its write-ahead log cannot be made): a
    write fails at its commit, and an older schema cannot be brought up to date; either is one
    line naming the real error (the rollback after it is not one), and nothing changes."""

    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "ledger.duckdb"
    if schema == "older":  # schema 3, as written before the sparse chain
        duckdb_ledger_at_schema(path, 3)
    else:
        Ledger.open(path, create=True).add_question("rain", title="Rain?", closes="2300-01-01")
    before = path.read_bytes()
    if not _immutable(folder):
        pytest.skip("this file system does not take chattr +i")
    try:
        args = ("questions",) if schema == "older" else ("question", "add", "snow", "--title", "Snow?",
                                                          "--closes", "2300-01-01")
        result = subprocess.run([sys.executable, "-m", "forecasts.cli", *args, "--db", str(path)],
                                capture_output=True, text=True)
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr and "rollback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    expected = "brought up to date, which needs a write" if schema == "older" else "cannot write to ledger"
    assert expected in result.stderr and "Operation not permitted" in result.stderr
    assert path.read_bytes() == before


def test_flipped_bytes_are_one_clear_error_for_every_command(ledger, open_question, cli):
    ledger.log("rain", 0.3, by="alice")
    data = bytearray(ledger.path.read_bytes())
    for i in range(4096, 4096 + 64):  # the first data block after the headers
        data[i] ^= 0xFF
    ledger.path.write_bytes(bytes(data))
    for args in (("questions",), ("verify",), ("log", "rain", "40%"), ("history", "rain")):
        result = cli(*args, "--db", str(ledger.path))
        assert result.returncode == 1, (args, result.stdout)
        assert "is damaged" in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


_HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SELECT count(*) FROM forecasts").fetchall()
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_reads_open_read_only_and_do_not_lock_out_other_readers(ledger, open_question):
    ledger.log("rain", 0.3, by="alice")
    with subprocess.Popen([sys.executable, "-c", _HOLD, str(ledger.path), "3"], stdout=subprocess.PIPE,
                          text=True) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        reader = Ledger.open(ledger.path, lock_timeout=0.2)
        assert list(reader.forecasts()["probability"]) == [0.3]  # another process reads at the same time
        assert reader.verify().ok


def test_a_read_only_file_can_be_verified(ledger, open_question, tmp_path):
    """Read-only for everyone, root included where ``chattr +i`` works (root ignores modes)."""
    ledger.log("rain", 0.3, by="alice")
    copy = tmp_path / "ro" / "ledger.duckdb"
    copy.parent.mkdir()
    shutil.copy(ledger.path, copy)
    copy.chmod(0o444)
    copy.parent.chmod(0o555)
    immutable = shutil.which("chattr") is not None and subprocess.run(
        ["chattr", "+i", str(copy), str(copy.parent)], capture_output=True).returncode == 0
    try:
        assert Ledger.open(copy).verify().ok
        assert list(Ledger.open(copy).forecasts()["probability"]) == [0.3]
        if immutable:
            refused = subprocess.run([sys.executable, "-m", "forecasts.cli", "log", "rain", "40%", "--db", str(copy)],
                                     capture_output=True, text=True)
            assert refused.returncode == 1 and "cannot write to ledger" in refused.stderr
            assert "Traceback" not in refused.stderr and "rollback" not in refused.stderr
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(copy), str(copy.parent)], check=True)
        copy.parent.chmod(0o755)
        copy.chmod(0o644)
