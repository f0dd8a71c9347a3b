"""Tamper evidence: rows altered, deleted or inserted behind the tool's back (raw SQL on the
DuckDB file, or on the team ledger as the server's superuser with its triggers off)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forecasts.ledger import integrity
from forecasts.ledger.migrations import COLUMNS


@pytest.fixture
def filled(ledger, open_question):
    ledger.log("rain", 0.3, by="alice")
    ledger.log("rain", 0.6, by="bob")
    e = ledger.add_event("Storm warning", on="2020-06-01")
    ledger.add_evidence("rain", e["seq"], lr=2.0, by="alice")
    ledger.log("rain", 0.7, by="alice")
    ledger.resolve("rain", "yes")
    assert ledger.verify().ok
    return ledger


@pytest.fixture
def _sql(raw_sql):
    return lambda ledger, statement: raw_sql(ledger, statement)


def test_untouched_chain_verifies(filled):
    result = filled.verify()
    assert result.ok and result.rows == 7 and len(result.head) == 64


def test_altered_row_is_named(filled, _sql):
    _sql(filled, "UPDATE forecasts SET probability = 0.9 WHERE seq = 3")
    result = filled.verify()
    assert not result.ok and (result.table, result.seq) == ("forecasts", 3)
    assert "altered" in result.problem


def test_altered_world_time_is_named(filled, _sql):
    _sql(filled, "UPDATE resolutions SET resolved_at = resolved_at - INTERVAL '1 day'")
    result = filled.verify()
    assert (result.ok, result.table, result.seq) == (False, "resolutions", 7)


def test_deleted_row_is_named(filled, _sql):
    _sql(filled, "DELETE FROM forecasts WHERE seq = 3")
    result = filled.verify()
    assert not result.ok and result.seq == 4 and "deleted" in result.problem


def test_inserted_row_is_named(filled, _sql):
    cols = COLUMNS["forecasts"] + ("prev_hash", "hash")
    picked = ", ".join({"forecaster": "'mallory'", "seq": "3"}.get(c, c) for c in cols)
    insert = f"INSERT INTO forecasts ({', '.join(cols)}) SELECT {picked} FROM forecasts WHERE seq = 2"
    if filled.is_team:  # the server refuses a second row numbered 3 outright ...
        import psycopg

        with pytest.raises(psycopg.errors.UniqueViolation):
            _sql(filled, insert)
        _sql(filled, "DROP INDEX forecasts_seq")  # ... so a forger with the server's keys drops the index
    _sql(filled, insert)
    result = filled.verify()
    assert not result.ok and result.seq == 3 and "inserted" in result.problem


def test_forged_tail_row_needs_the_head(filled, _sql):
    head = filled.verify().head
    _sql(filled, "DELETE FROM resolutions")
    truncated = filled.verify()
    assert truncated.ok  # a shorter chain is still a chain ...
    caught = filled.verify(head=head)
    assert not caught.ok and "removed" in caught.problem  # ... which the saved head exposes


def test_cli_verify_names_the_row(filled, cli, _sql):
    ok = cli("verify", "--db", filled.location)
    assert ok.returncode == 0 and "7 rows verified" in ok.stdout
    _sql(filled, "UPDATE events SET title = 'Nothing happened'")
    bad = cli("verify", "--db", filled.location)
    assert bad.returncode == 1
    assert "events row seq=4" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_canonical_form_is_stable():
    row = {"seq": 1, "x": 0.1, "t": __import__("datetime").datetime(2020, 1, 2, 3, 4, 5)}
    assert integrity.canonical("forecasts", row) == '["forecasts",{"seq":1,"t":"2020-01-02T03:04:05.000000","x":"0.1"}]'
    assert integrity.row_hash(integrity.GENESIS, "forecasts", row) != integrity.row_hash("1" * 64, "forecasts", row)


def test_no_update_or_delete_code_path_on_ledger_tables():
    """The package never issues UPDATE, DELETE or TRUNCATE against a ledger table (the team
    ledger's schema names TRUNCATE only to revoke and refuse it: those are not statements on a
    table, and the server-side refusals are tested in tests/ledger/test_postgres.py)."""
    package = Path(__file__).resolve().parents[2] / "forecasts"
    pattern = re.compile(r"\b(UPDATE\s+(questions|forecasts|events|evidence|resolutions)\s+SET\b|DELETE\s+FROM\b|TRUNCATE\s+(TABLE\s+)?(ONLY\s+)?(questions|forecasts|events|evidence|resolutions)\b|DROP\s+TABLE\b)",
                         re.IGNORECASE)
    offenders = [f"{path.name}: {m.group(0)}" for path in package.rglob("*.py")
                 for m in pattern.finditer(path.read_text())]
    assert offenders == []
