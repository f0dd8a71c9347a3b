"""Migrations: applied once each, in order, each in one transaction; the chain survives them."""

from __future__ import annotations

import duckdb
import pytest

from forecasts.ledger import Ledger, migrations


@pytest.mark.duckdb_only
def test_blank_file_gets_every_migration(db_path):
    con = duckdb.connect(str(db_path))
    assert migrations.migrate(con) == [m.__name__ for m in migrations.MIGRATIONS]
    assert migrations.migrate(con) == []  # idempotent
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert set(migrations.LEDGER_TABLES) | {"_forecasts_migrations"} <= tables
    con.close()


@pytest.mark.duckdb_only
def test_a_failing_migration_rolls_back(db_path, monkeypatch):
    def m_broken(con):
        con.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("boom")

    con = duckdb.connect(str(db_path))
    migrations.migrate(con)
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, m_broken])
    with pytest.raises(RuntimeError, match="boom"):
        migrations.migrate(con)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "half_done" not in tables
    assert migrations.applied(con) == set(range(1, len(migrations.MIGRATIONS)))
    con.close()


@pytest.mark.duckdb_only
def test_a_later_nullable_column_keeps_old_hashes(ledger, open_question, monkeypatch):
    """A migration that adds a nullable column leaves every earlier row verifying, because
    the canonical form leaves NULL columns out; new rows that fill it are chained with it."""
    ledger.log("rain", 0.4, by="alice")
    head = ledger.verify().head

    def m_confidence(con):
        con.execute("ALTER TABLE forecasts ADD COLUMN confidence VARCHAR")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, m_confidence])
    monkeypatch.setitem(migrations.COLUMNS, "forecasts", (*migrations.COLUMNS["forecasts"], "confidence"))
    upgraded = Ledger.open(ledger.path)
    result = upgraded.verify(head=head)
    assert result.ok and result.head == head
    con = duckdb.connect(str(ledger.path))
    assert con.execute("SELECT version, name FROM _forecasts_migrations ORDER BY version").fetchall()[-1] == (
        len(migrations.MIGRATIONS), "m_confidence")
    con.close()
    upgraded.log("rain", 0.5, by="bob")  # a row with the new column (NULL) chains on
    assert upgraded.verify().ok
