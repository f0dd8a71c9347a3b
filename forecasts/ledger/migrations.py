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

Since migration 4 a DuckDB ledger stores the full hashes of a bulk append only on its first
and last row and every :data:`~forecasts.ledger.integrity.MARK_EVERY`-th (NULL on the others),
and every row's ``tag`` (the first 32 bits of its hash): 64 hex characters twice per row
would make the file five times the size of the rows themselves.  Every row's hash is still
defined, and computed where needed (``verify``, ``export``).

The SQL is deliberately plain (no DuckDB-only types: lists and mappings are stored as JSON text)
so the same ledger can later live in PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from forecasts.domain import now

#: The tables of migration 1, once for every backend: ``(column, type, not null, note)`` with
#: DuckDB's type names (:func:`ddl` maps them for PostgreSQL).  Lists and mappings are JSON text.
SCHEMA_V1: dict[str, tuple[tuple[str, str, bool, str], ...]] = {
    "questions": (
        ("seq", "BIGINT", True, ""), ("id", "VARCHAR", True, ""), ("title", "VARCHAR", True, ""),
        ("criteria", "VARCHAR", False, ""), ("kind", "VARCHAR", True, ""),
        ("options", "VARCHAR", False, "JSON list of option names, NULL for binary"),
        ("ordered", "BOOLEAN", True, "options are ordered (scored with RPS)"),
        ("opens_at", "TIMESTAMP", True, ""), ("closes_at", "TIMESTAMP", True, ""),
        ("tags", "VARCHAR", True, "JSON list"), ("base_rate", "DOUBLE", False, ""),
        ("reference_class", "VARCHAR", False, ""), ("created_by", "VARCHAR", True, ""),
        ("source", "VARCHAR", True, ""), ("source_id", "VARCHAR", False, "")),
    "forecasts": (
        ("seq", "BIGINT", True, ""), ("question", "VARCHAR", True, ""), ("forecaster", "VARCHAR", True, ""),
        ("made_at", "TIMESTAMP", True, ""), ("probability", "DOUBLE", False, "P(yes) for binary questions"),
        ("probabilities", "VARCHAR", False, "JSON {option: p} for multiple choice"),
        ("rationale", "VARCHAR", False, ""), ("source", "VARCHAR", True, ""), ("source_id", "VARCHAR", False, ""),
        ("model_version", "VARCHAR", False, ""), ("params", "VARCHAR", False, "JSON model parameters"),
        ("backtest", "BOOLEAN", True, ""),
        ("corrects", "BIGINT", False, "seq of the forecast this row corrects or retracts"),
        ("retracted", "BOOLEAN", True, "")),
    "events": (
        ("seq", "BIGINT", True, "also the event's id"), ("title", "VARCHAR", True, ""),
        ("description", "VARCHAR", False, ""), ("occurred_at", "TIMESTAMP", True, ""),
        ("date_precision", "VARCHAR", True, ""), ("source_url", "VARCHAR", False, ""),
        ("actors", "VARCHAR", False, ""), ("cameo", "VARCHAR", False, ""), ("goldstein", "DOUBLE", False, ""),
        ("tags", "VARCHAR", True, ""), ("created_by", "VARCHAR", True, ""), ("source", "VARCHAR", True, ""),
        ("source_id", "VARCHAR", False, "")),
    "evidence": (
        ("seq", "BIGINT", True, ""), ("question", "VARCHAR", True, ""), ("event", "BIGINT", True, ""),
        ("assessed_by", "VARCHAR", True, ""), ("lr", "DOUBLE", True, "P(event | yes) / P(event | no)"),
        ("strength", "VARCHAR", False, "the verbal strength it came from, if any"),
        ("weight", "DOUBLE", True, "(0, 1]: discount for correlated reports"), ("note", "VARCHAR", False, ""),
        ("source", "VARCHAR", True, "")),
    "resolutions": (
        ("seq", "BIGINT", True, ""), ("question", "VARCHAR", True, ""), ("outcome", "VARCHAR", True, ""),
        ("resolved_at", "TIMESTAMP", True, ""), ("resolved_by", "VARCHAR", True, ""),
        ("note", "VARCHAR", False, ""), ("source", "VARCHAR", True, "")),
}
#: The amendments table (migration 3): a change to a question (a field's new value) or the
#: withdrawal of an event, as a row of its own; reads apply them, nothing is updated.
SCHEMA_V3: dict[str, tuple[tuple[str, str, bool, str], ...]] = {
    "amendments": (
        ("seq", "BIGINT", True, ""), ("about", "VARCHAR", True, "question or event"),
        ("target", "VARCHAR", True, "the question's id, or the event's id (its seq) as text"),
        ("field", "VARCHAR", True, "title, criteria, closes_at or tags of a question; withdrawn for an event"),
        ("value", "VARCHAR", False, "the new value as the questions table stores it (a time in ISO form, "
                                    "tags as JSON); NULL for a withdrawal"),
        ("reason", "VARCHAR", False, ""), ("amended_by", "VARCHAR", True, ""), ("source", "VARCHAR", True, "")),
}
#: The fields of a question an amendment may change (:func:`forecasts.ledger.rules.amendment_rows`).
AMENDABLE = ("title", "criteria", "closes_at", "tags")
#: Every ledger table's columns, as of the latest migration.
SCHEMA = {**SCHEMA_V1, **SCHEMA_V3}
#: The tables of migration 1, which every ledger holds.
V1_TABLES = tuple(SCHEMA_V1)
#: Every table of the hash chain.
LEDGER_TABLES = (*V1_TABLES, *SCHEMA_V3)
#: The bookkeeping columns every ledger table ends with.
_CHAIN_COLUMNS = (("recorded_at", "TIMESTAMP", True, ""), ("prev_hash", "VARCHAR", True, ""),
                  ("hash", "VARCHAR", True, ""))
#: The columns of each ledger table that its rows' hashes cover (``prev_hash`` and ``hash``
#: follow them), as of the latest migration.  A migration that adds a column adds it here.
COLUMNS: dict[str, tuple[str, ...]] = {t: tuple(c[0] for c in cols) + ("recorded_at",) for t, cols in SCHEMA.items()}
_PG_TYPES = {"VARCHAR": "TEXT", "DOUBLE": "DOUBLE PRECISION"}


def ddl(table: str, dialect: str = "duckdb") -> str:
    """``CREATE TABLE`` for a ledger table (:data:`SCHEMA`) in ``dialect`` (``duckdb`` or ``postgres``)."""
    cols = []
    for name, kind, not_null, _ in SCHEMA[table] + _CHAIN_COLUMNS:
        kind = _PG_TYPES.get(kind, kind) if dialect == "postgres" else kind
        cols.append(f"{name} {kind}{' NOT NULL' if not_null else ''}")
    return f"CREATE TABLE {table} ({', '.join(cols)})"


def m001_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """The five ledger tables of the first schema."""
    for table in SCHEMA_V1:
        con.execute(ddl(table))


#: The log of writes (migration 2): one row per write transaction, outside the chain.
WRITES_TABLE = "_forecasts_writes"
#: Its columns: ``seq`` and ``hash`` of the chain's newest row once the write committed, when
#: (the backend's clock), and ``mac``, HMAC-SHA256 of that head under the team key when the
#: writer held it (NULL otherwise; see :mod:`forecasts.ledger.integrity`).
WRITES_COLUMNS = (("seq", "BIGINT", True, ""), ("hash", "VARCHAR", True, ""),
                  ("written_at", "TIMESTAMP", True, ""), ("mac", "VARCHAR", False, ""))


def writes_ddl(dialect: str = "duckdb") -> str:
    """``CREATE TABLE`` for the log of writes in ``dialect``."""
    cols = ", ".join(f"{n} {_PG_TYPES.get(k, k) if dialect == 'postgres' else k}{' NOT NULL' if nn else ''}"
                     for n, k, nn, _ in WRITES_COLUMNS)
    return f"CREATE TABLE {WRITES_TABLE} ({cols})"


def m002_writes(con: duckdb.DuckDBPyConnection) -> None:
    """The log of writes: the head each write left, sealed with the team key when one is used."""
    con.execute(writes_ddl())


def m003_amendments(con: duckdb.DuckDBPyConnection) -> None:
    """The amendments of questions and withdrawals of events."""
    con.execute(ddl("amendments"))


def m004_sparse_chain(con: duckdb.DuckDBPyConnection) -> None:
    """Full hashes stored on some rows only, a tag on every row (see the module docstring);
    the rows written before keep their full hashes."""
    for table in LEDGER_TABLES:
        con.execute(f"ALTER TABLE {table} ALTER COLUMN prev_hash DROP NOT NULL")
        con.execute(f"ALTER TABLE {table} ALTER COLUMN hash DROP NOT NULL")
        con.execute(f"ALTER TABLE {table} ADD COLUMN tag INTEGER")


MIGRATIONS: list[Callable[[duckdb.DuckDBPyConnection], None]] = [m001_ledger, m002_writes, m003_amendments,
                                                                 m004_sparse_chain]
#: Tables beyond migration 1's that a ledger at this version (or later) must hold.
REQUIRED_SINCE = {2: (WRITES_TABLE,), 3: ("amendments",)}


def required_tables(version: int) -> tuple[str, ...]:
    """Every table a ledger at schema ``version`` holds (the migrations table aside)."""
    return V1_TABLES + tuple(t for v, ts in REQUIRED_SINCE.items() if v <= version for t in ts)


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
        def step(migration: Callable[[duckdb.DuckDBPyConnection], None] = migration, version: int = version) -> None:
            migration(con)
            con.execute("INSERT INTO _forecasts_migrations VALUES (?, ?, ?)", [version, migration.__name__, now()])

        atomically(con, step)
        names.append(migration.__name__)
    return names


def atomically[R](con: duckdb.DuckDBPyConnection, body: Callable[[], R]) -> R:
    """``body()`` in one transaction on ``con``: committed if it returns, rolled back if it
    raises; the error raised is the first one (a rollback that DuckDB has already done itself,
    after a failed commit, is not an error)."""
    con.execute("BEGIN TRANSACTION")
    try:
        result = body()
        con.execute("COMMIT")
        return result
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
