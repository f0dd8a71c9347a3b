"""The ledger schema as an append-only list of numbered migrations.

Each migration is a function that receives an open DuckDB connection and runs plain SQL.  They
are applied in order, each in its own transaction together with the row that records it in
``_forecasts_migrations``, so a ledger is always at a well-defined version.  Never edit or
reorder a migration that has shipped: add a new one.

Every ledger table carries the same four bookkeeping columns:

``seq``
    the row's place in the ledger, one sequence across all tables (1, 2, 3, ...);
``recorded_at``
    when the store wrote the row (naive UTC), never given by a caller;
``prev_hash`` / ``hash``
    the tamper-evident chain, see :mod:`forecasts.ledger.integrity`.

The SQL is deliberately plain (no DuckDB-only types: lists and mappings are stored as JSON text)
so the same ledger can later live in PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from forecasts.domain import now

LEDGER_TABLES = ("questions", "forecasts", "events", "evidence", "resolutions")
#: The columns of each ledger table that its rows' hashes cover (``prev_hash`` and ``hash``
#: follow them), as of the latest migration.  A migration that adds a column adds it here.
COLUMNS: dict[str, tuple[str, ...]] = {
    "questions": ("seq", "id", "title", "criteria", "kind", "options", "ordered", "opens_at",
                  "closes_at", "tags", "base_rate", "reference_class", "created_by", "source",
                  "source_id", "recorded_at"),
    "forecasts": ("seq", "question", "forecaster", "made_at", "probability", "probabilities",
                  "rationale", "source", "source_id", "model_version", "params", "backtest",
                  "corrects", "retracted", "recorded_at"),
    "events": ("seq", "title", "description", "occurred_at", "date_precision", "source_url",
               "actors", "cameo", "goldstein", "tags", "created_by", "source", "source_id",
               "recorded_at"),
    "evidence": ("seq", "question", "event", "assessed_by", "lr", "strength", "weight", "note",
                 "source", "recorded_at"),
    "resolutions": ("seq", "question", "outcome", "resolved_at", "resolved_by", "note", "source",
                    "recorded_at"),
}

_CHAIN = """
    recorded_at TIMESTAMP NOT NULL,
    prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL
"""


def m001_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """The five ledger tables."""
    con.execute(f"""
        CREATE TABLE questions (
            seq BIGINT NOT NULL,
            id VARCHAR NOT NULL,
            title VARCHAR NOT NULL,
            criteria VARCHAR,
            kind VARCHAR NOT NULL,
            options VARCHAR,            -- JSON list of option names, NULL for binary
            ordered BOOLEAN NOT NULL,   -- options are ordered (scored with RPS)
            opens_at TIMESTAMP NOT NULL,
            closes_at TIMESTAMP NOT NULL,
            tags VARCHAR NOT NULL,      -- JSON list
            base_rate DOUBLE,
            reference_class VARCHAR,
            created_by VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            source_id VARCHAR,
            {_CHAIN})""")
    con.execute(f"""
        CREATE TABLE forecasts (
            seq BIGINT NOT NULL,
            question VARCHAR NOT NULL,
            forecaster VARCHAR NOT NULL,
            made_at TIMESTAMP NOT NULL,
            probability DOUBLE,         -- P(yes) for binary questions
            probabilities VARCHAR,      -- JSON {{option: p}} for multiple choice
            rationale VARCHAR,
            source VARCHAR NOT NULL,
            source_id VARCHAR,
            model_version VARCHAR,
            params VARCHAR,             -- JSON model parameters
            backtest BOOLEAN NOT NULL,
            corrects BIGINT,            -- seq of the forecast this row corrects or retracts
            retracted BOOLEAN NOT NULL,
            {_CHAIN})""")
    con.execute(f"""
        CREATE TABLE events (
            seq BIGINT NOT NULL,        -- also the event's id
            title VARCHAR NOT NULL,
            description VARCHAR,
            occurred_at TIMESTAMP NOT NULL,
            date_precision VARCHAR NOT NULL,
            source_url VARCHAR,
            actors VARCHAR,
            cameo VARCHAR,
            goldstein DOUBLE,
            tags VARCHAR NOT NULL,
            created_by VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            source_id VARCHAR,
            {_CHAIN})""")
    con.execute(f"""
        CREATE TABLE evidence (
            seq BIGINT NOT NULL,
            question VARCHAR NOT NULL,
            event BIGINT NOT NULL,
            assessed_by VARCHAR NOT NULL,
            lr DOUBLE NOT NULL,         -- P(event | yes) / P(event | no)
            strength VARCHAR,           -- the verbal strength it came from, if any
            weight DOUBLE NOT NULL,     -- (0, 1]: discount for correlated reports
            note VARCHAR,
            source VARCHAR NOT NULL,
            {_CHAIN})""")
    con.execute(f"""
        CREATE TABLE resolutions (
            seq BIGINT NOT NULL,
            question VARCHAR NOT NULL,
            outcome VARCHAR NOT NULL,
            resolved_at TIMESTAMP NOT NULL,
            resolved_by VARCHAR NOT NULL,
            note VARCHAR,
            source VARCHAR NOT NULL,
            {_CHAIN})""")


MIGRATIONS: list[Callable[[duckdb.DuckDBPyConnection], None]] = [m001_ledger]


def applied(con: duckdb.DuckDBPyConnection) -> set[int]:
    """Versions already applied (creating the bookkeeping table on a blank file)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS _forecasts_migrations ("
        "version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    return {row[0] for row in con.execute("SELECT version FROM _forecasts_migrations").fetchall()}


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration not yet applied, each in one transaction; return their names."""
    done = applied(con)
    names = []
    for version, migration in enumerate(MIGRATIONS, start=1):
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            migration(con)
            con.execute(
                "INSERT INTO _forecasts_migrations VALUES (?, ?, ?)",
                [version, migration.__name__, now()],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        names.append(migration.__name__)
    return names
