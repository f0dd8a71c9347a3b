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
