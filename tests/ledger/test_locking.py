"""DuckDB lets one process write: a second real process waits with backoff, then gives up clearly."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from forecasts.errors import StoreLocked
from forecasts.ledger import Ledger

HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
con.execute("SELECT count(*) FROM forecasts").fetchall()
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


@pytest.mark.duckdb_only  # the DuckDB file's lock; the team ledger's writers: test_postgres.py
def test_locked_file_gives_up_with_store_locked(ledger, open_question, snapshot):
    before = snapshot(ledger)
    holder = _hold(ledger.path, 6)
    try:
        impatient = Ledger(ledger.path, lock_timeout=1.0)
        start = time.monotonic()
        with pytest.raises(StoreLocked, match="locked by another process"):
            impatient.log("rain", 0.4, by="alice")
        assert 0.8 < time.monotonic() - start < 4.0
    finally:
        holder.wait()
        holder.stdout.close()
    assert snapshot(ledger) == before


@pytest.mark.duckdb_only  # the DuckDB file's lock; the team ledger's writers: test_postgres.py
def test_lock_released_in_time_is_retried(ledger, open_question):
    holder = _hold(ledger.path, 1.0)
    try:
        row = Ledger(ledger.path, lock_timeout=8.0).log("rain", 0.4, by="alice")
    finally:
        holder.wait()
        holder.stdout.close()
    assert row["seq"] == 2 and ledger.verify().ok


@pytest.mark.duckdb_only  # the DuckDB file's lock; the team ledger's writers: test_postgres.py
def test_cli_reports_lock_in_one_line(ledger, open_question, cli):
    holder = _hold(ledger.path, 10)
    try:
        out = cli("log", "rain", "40%", "--db", str(ledger.path))
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert out.returncode == 1
    assert "locked by another process" in out.stderr and len(out.stderr.strip().splitlines()) == 1


WRITE = """
import sys
from forecasts.errors import StoreLocked
from forecasts.ledger import Ledger
try:
    Ledger(sys.argv[1], lock_timeout=0.5).log("rain", 0.4, by="bo")
    print("written")
except StoreLocked:
    print("locked")
"""


def _write_from_another_process(path) -> str:
    return subprocess.run([sys.executable, "-c", WRITE, str(path)], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.duckdb_only  # the team ledger's connections are pooled: its reading() holds nothing
def test_a_reading_block_holds_one_connection_and_one_state_of_the_file(ledger, open_question, snapshot):
    ledger.log("rain", 0.6, by="alice")
    outside = (ledger.verify(), ledger.counts(), ledger.records("forecasts"))
    with ledger.storage.reading():
        with ledger.storage.reading():  # nested: the same connection
            inside = (ledger.verify(), ledger.counts(), ledger.records("forecasts"))
        assert _write_from_another_process(ledger.path) == "locked"  # the file cannot change under the reads
        with pytest.raises(RuntimeError, match="a write inside"):
            ledger.log("rain", 0.5, by="alice")
    assert inside == outside
    assert snapshot(ledger)[0] == outside[1]  # the refused write wrote nothing
    assert _write_from_another_process(ledger.path) == "written"  # released at the end of the block
    assert ledger.counts()["forecasts"] == outside[1]["forecasts"] + 1
