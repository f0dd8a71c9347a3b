"""The team ledger on a PostgreSQL server: a backend of :mod:`forecasts.ledger.storage`.

Open it with a connection URL, ``postgresql://alice@127.0.0.1:5432/teamledger`` (or
``postgres://``).  The password is never part of what the tool shows or stores: give it with
libpq's ``passfile`` parameter (``...?passfile=/home/alice/.forecasts.pgpass``), ``PGPASSFILE``
or ``~/.pgpass``; a password written in the URL itself works but is left out of every message.

* **The server's authority** (:mod:`forecasts.ledger.pg_schema`): append-only, one chain under
  many writers, ``recorded_at`` from the server's clock, the forecaster of a live row is the
  connected role.  The client keeps the ledger's rules (:mod:`forecasts.ledger.rules`) as on
  DuckDB and computes the hashes inside the transaction that holds the chain's lock.
* **Connections** come from a small pool per URL kept for the life of the process (a notebook
  or a CLI command that makes many calls reuses them); a pooled connection the server has
  dropped is replaced once, transparently.
* **Bulk moves**: reads for scoring and reports stream out with ``COPY ... TO STDOUT`` into
  Arrow (then pandas); imports stream in with ``COPY ... FROM STDIN``.  Values are always bound
  or quoted by the driver, never formatted into SQL.
* **Failures** become one-line ledger errors: a server that cannot be reached or went away
  (:class:`~forecasts.errors.StoreUnavailable`), a refusal by the server's grants or row-level
  security (:class:`~forecasts.errors.AccessDenied`), a chain check
  (:class:`~forecasts.errors.IntegrityError`), a full disk, a lock wait that timed out.
"""

from __future__ import annotations

import atexit
import csv
import heapq
import io
import threading
import urllib.parse
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import psycopg
from psycopg import errors as pgerrors
from psycopg import sql as pgsql

from forecasts.errors import (
    AccessDenied,
    ForecastsError,
    IntegrityError,
    InvalidInput,
    StoreCorrupt,
    StoreFull,
    StoreLocked,
    StoreMissing,
    StoreUnavailable,
)
from forecasts.ledger import integrity, pg_schema
from forecasts.ledger import sql as ledger_sql
from forecasts.ledger.migrations import COLUMNS, LEDGER_TABLES, SCHEMA, WRITES_TABLE
from forecasts.ledger.storage import (
    ChainRow,
    Clock,
    ExportFormat,
    Head,
    Lookups,
    Table,
    arrow_arrays,
    decode_frame,
    decode_records,
    stamp_frame,
    stamp_rows,
)

T = TypeVar("T")
URL_SCHEMES = ("postgresql://", "postgres://")
_MAX_IDLE = 4
_FEW_ROWS = 32
#: The type of every column a read can return (for the bulk reader).
_TYPES: dict[str, str] = {name: kind for cols in SCHEMA.values() for name, kind, _, _ in cols}
_TYPES.update(recorded_at="TIMESTAMP", prev_hash="VARCHAR", hash="VARCHAR", corrected_by="BIGINT", ended_at="TIMESTAMP", target_made_at="TIMESTAMP",
              target_recorded_at="TIMESTAMP", target_closes_at="TIMESTAMP",
              target_resolved_recorded_at="TIMESTAMP", target_opens_at="TIMESTAMP", history="BOOLEAN",
              amends="BOOLEAN", target_history="BOOLEAN", target_exists="BOOLEAN", event_exists="BOOLEAN",
              n_forecasts="BIGINT", n_forecasters="BIGINT", forecasters="VARCHAR", outcome="VARCHAR",
              resolved_at="TIMESTAMP", amended="BIGINT", event_title="VARCHAR", occurred_at="TIMESTAMP", assessed_at="TIMESTAMP", version="INTEGER",
              name="VARCHAR", applied_at="TIMESTAMP")


def is_url(location: object) -> bool:
    """Whether a ledger location names a PostgreSQL server rather than a DuckDB file."""
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def redact(url: str) -> str:
    """The URL as shown in messages: any password (in the URL or its ``password`` parameter) left out."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = userinfo.split(":", 1)[0] + "@" + host
    query = urllib.parse.urlencode([(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "password"])
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# ---------------------------------------------------------------------- the pool
_POOL: dict[str, list[psycopg.Connection]] = {}
_POOL_LOCK = threading.Lock()


def close_idle(url: str | None = None) -> None:
    """Close the pooled idle connections (to ``url``'s database, or all): before the database
    is dropped or copied, and at exit."""
    with _POOL_LOCK:
        for key in [k for k in _POOL if url is None or k == url]:
            for conn in _POOL.pop(key):
                with suppress(Exception):
                    conn.close()


atexit.register(close_idle)


class _PgTransaction(Lookups):
    """One write transaction (see :class:`~forecasts.ledger.storage.Transaction`): begun with
    ``forecasts_begin()``, which locks the chain and gives the head, the server's clock and
    the connected role."""

    def __init__(self, conn: psycopg.Connection, *, restore: bool = False):
        self.conn = conn
        if restore:
            conn.execute("SELECT forecasts_begin_restore()")
            self.now = conn.execute("SELECT clock_timestamp() AT TIME ZONE 'UTC'").fetchone()[0]  # type: ignore[index]
            self.actor = conn.execute("SELECT session_user").fetchone()[0]  # type: ignore[index]
            self._seq, self._prev = 1, integrity.GENESIS
            return
        row = conn.execute("SELECT next_seq, hash, clock, actor FROM forecasts_begin()").fetchone()
        assert row is not None
        self._seq, self._prev, self.now, self.actor = row

    # -- look-ups for the rules (the rest: storage.Lookups)
    def _rows(self, query: str, params: Sequence[Any]) -> list[tuple]:
        # the look-ups' own SQL (storage.Lookups), its ``?`` marks as psycopg's; values bound
        return self.conn.execute(query.replace("?", "%s"), list(params)).fetchall()  # type: ignore[arg-type]

    #: How this backend asks whether a value is in a list parameter.
    IN_LIST = "= ANY(?)"

    # -- appends
    def append(self, table: Table, rows: Sequence[dict[str, Any]] | Any) -> int:
        first = self._seq
        if isinstance(rows, list | tuple):
            if rows:
                values, (self._seq, self._prev) = stamp_rows(table, list(rows), Head(self._seq, self._prev), self.now)
                self._write(table, values)
        elif len(rows):
            out, (self._seq, self._prev) = stamp_frame(table, cast("Any", rows), Head(self._seq, self._prev), self.now)
            self._write(table, _python_rows(out, COLUMNS[table] + ("prev_hash", "hash")))
        return first

    def _write(self, table: str, values: Sequence[tuple] | Iterator[tuple]) -> None:
        cols = COLUMNS[table] + ("prev_hash", "hash")
        names = pgsql.SQL(", ").join(pgsql.Identifier(c) for c in cols)
        if isinstance(values, list) and len(values) <= _FEW_ROWS:
            marks = pgsql.SQL(", ").join(pgsql.Placeholder() for _ in cols)
            with self.conn.cursor() as cur:
                cur.executemany(pgsql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    pgsql.Identifier(table), names, marks), values)
            return
        # COPY cannot write through row-level security: stream the rows into a temporary table
        # with COPY, then append them with one INSERT that the policies and the chain check see.
        staging = pgsql.Identifier(f"incoming_{table}")
        with self.conn.cursor() as cur:
            cur.execute(pgsql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DROP").format(
                staging, pgsql.Identifier(table)))
            cur.execute(pgsql.SQL("TRUNCATE {}").format(staging))  # the session's own temporary table
            with cur.copy(pgsql.SQL("COPY {} ({}) FROM STDIN").format(staging, names)) as copy:
                for row in values:
                    copy.write_row(row)
            cur.execute(pgsql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ORDER BY seq").format(
                pgsql.Identifier(table), names, names, staging))

    def restore_rows(self, table: str, values: Iterator[tuple]) -> None:
        """Rows as exported (their own ``seq``, ``recorded_at`` and hashes), checked by the
        server as one chain when the restore ends."""
        self._write(table, values)

    def chain(self, since: int = 1) -> Iterator[ChainRow]:
        return _chain_rows(self.conn, since)


class PostgresStorage:
    """The ledger's rows in a PostgreSQL database (see the module docstring)."""

    dialect: ledger_sql.Dialect = "postgres"

    def __init__(self, url: str, *, lock_timeout: float = 5.0):
        self.url = url
        self.location = redact(url)
        self.lock_timeout = lock_timeout

    # ------------------------------------------------------------------ connections
    def _connect(self, url: str | None = None) -> psycopg.Connection:
        try:
            conn = psycopg.connect(url or self.url, autocommit=True, connect_timeout=10,
                                   application_name="forecasts")
        except psycopg.Error as exc:
            raise self._failure(exc) from None
        conn.execute("SET TIME ZONE 'UTC'")
        return conn

    def _checkout(self) -> tuple[psycopg.Connection, bool]:
        with _POOL_LOCK:
            idle = _POOL.get(self.url, [])
            while idle:
                conn = idle.pop()
                if not conn.closed:
                    return conn, True
        return self._connect(), False

    def _checkin(self, conn: psycopg.Connection) -> None:
        if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            with suppress(Exception):
                conn.close()
            return
        with _POOL_LOCK:
            idle = _POOL.setdefault(self.url, [])
            if len(idle) < _MAX_IDLE:
                idle.append(conn)
                return
        conn.close()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Reads inside need nothing more here: connections are pooled already, and every
        statement is its own snapshot on the server (see :meth:`DuckDBStorage.reading`)."""
        yield

    def _failure(self, exc: psycopg.Error) -> ForecastsError:
        """The ledger error for what the server or the connection said.  Errors that are not
        the server's or the user's doing are bugs: re-raised as they are."""
        text = _first_line(exc)
        if isinstance(exc, pgerrors.InvalidCatalogName) or "does not exist" in text and "database" in text:
            return StoreMissing(f"no ledger at {self.location}: {text}; create it first (forecasts init)")
        later = {WRITES_TABLE: "log of writes", "amendments": "amendments table"}
        if isinstance(exc, pgerrors.UndefinedTable) and (what := next((v for k, v in later.items() if k in text), None)):
            return StoreCorrupt(f"the team ledger at {self.location} predates this forecasts (it has no {what}): "
                                "its owner runs forecasts init on it to bring its schema up to date")
        if isinstance(exc, pgerrors.UndefinedTable):
            return StoreMissing(f"{self.location} is not a forecasts ledger ({text}); create one first (forecasts init)")
        if isinstance(exc, pgerrors.InsufficientPrivilege):
            hint = ("; on a team ledger you write live rows as yourself (the connected role), and history "
                    "or rows in another's name need the importer role") if "row-level security" in text else ""
            return AccessDenied(f"the server refused: {text}{hint}")
        if isinstance(exc, pgerrors.LockNotAvailable | pgerrors.QueryCanceled):
            return StoreLocked(f"the team ledger at {self.location} stayed busy for {self.lock_timeout:g} s; retry")
        if isinstance(exc, pgerrors.DiskFull):
            return StoreFull(f"the server's disk holding {self.location} is full; nothing was written")
        if isinstance(exc, pgerrors.CheckViolation):
            return IntegrityError(f"the server refused the rows: {text}")
        if isinstance(exc, pgerrors.ObjectNotInPrerequisiteState):
            return InvalidInput(text)
        if isinstance(exc, psycopg.OperationalError):
            if "authentication failed" in text or "no password supplied" in text or "pg_hba.conf" in text:
                return AccessDenied(f"the server at {self.location} refused the connection: {text}")
            return StoreUnavailable(f"cannot reach the team ledger at {self.location}: {text}; "
                                    "nothing of this command was written")
        raise exc

    def _begin(self) -> psycopg.Connection:
        """A connection with a transaction begun.  A pooled connection the server has dropped
        (a restart, an idle timeout) fails on ``BEGIN``, before anything of the command was
        sent: it is replaced by a fresh one, once."""
        for attempt in (0, 1):
            conn, pooled = self._checkout()
            try:
                conn.execute("BEGIN")
                return conn
            except psycopg.OperationalError as exc:
                with suppress(Exception):
                    conn.close()
                if not (pooled and attempt == 0):
                    raise self._failure(exc) from None
        raise AssertionError("unreachable")

    def _end(self, conn: psycopg.Connection, how: str) -> None:
        """``COMMIT`` or ``ROLLBACK``; the connection back to the pool (or closed if broken)."""
        try:
            conn.execute(how)  # type: ignore[arg-type]  # one of two fixed words
        finally:
            self._checkin(conn)

    def _run(self, work: Callable[[psycopg.Connection], T], *, write: bool = False) -> T:
        """Run ``work`` in one transaction on a pooled connection, committed if it returns.

        Never retried once ``work`` has begun: a connection lost before the commit leaves
        nothing written (the server rolls the transaction back); one lost *during* the commit
        is said so, as only the ledger can tell then whether the write landed."""
        conn = self._begin()
        committing = False
        try:
            if write:
                conn.execute(pgsql.SQL("SET LOCAL lock_timeout = {}").format(
                    pgsql.Literal(f"{int(self.lock_timeout * 1000)}ms")))
            result = work(conn)
            committing = True
            self._end(conn, "COMMIT")
            return result
        except ForecastsError:
            with suppress(psycopg.Error):
                self._end(conn, "ROLLBACK")
            raise
        except psycopg.OperationalError as exc:
            with suppress(Exception):
                conn.close()
            if committing and not isinstance(exc, pgerrors.QueryCanceled):
                raise StoreUnavailable(
                    f"the connection to {self.location} was lost while committing ({_first_line(exc)}); "
                    "check with forecasts history or verify whether this write was recorded") from None
            raise self._failure(exc) from None
        except psycopg.Error as exc:
            with suppress(psycopg.Error):
                self._end(conn, "ROLLBACK")
            raise self._failure(exc) from None
        except BaseException:
            with suppress(Exception):
                conn.close()
            raise

    def exists(self) -> bool:
        """Whether the database is there and holds a ledger."""
        try:
            return bool(self._run(lambda conn: conn.execute(
                "SELECT to_regclass('public._forecasts_migrations') IS NOT NULL").fetchone()[0]))  # type: ignore[index]
        except StoreMissing:
            return False

    def create(self) -> list[str]:
        """Create the database if it is missing (the role needs CREATEDB) and apply pending
        migrations (as the role that owns the ledger)."""
        try:
            self._run(lambda conn: conn.execute("SELECT 1"))
        except StoreMissing:
            dbname = urllib.parse.urlsplit(self.url).path.lstrip("/")
            if not dbname:
                raise InvalidInput(f"{self.location} names no database") from None
            maintenance = urllib.parse.urlunsplit(urllib.parse.urlsplit(self.url)._replace(path="/postgres"))
            conn = self._connect(maintenance)
            try:
                conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(dbname)))
            except psycopg.Error as exc:
                raise self._failure(exc) from None
            finally:
                conn.close()

        def migrate(conn: psycopg.Connection) -> list[str]:
            conn.execute(pgsql.SQL("SELECT pg_advisory_xact_lock({})").format(pgsql.Literal(pg_schema.CHAIN_LOCK)))
            conn.execute("CREATE TABLE IF NOT EXISTS _forecasts_migrations "
                         "(version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)")
            done = {r[0] for r in conn.execute("SELECT version FROM _forecasts_migrations").fetchall()}
            names = []
            for version, (name, statements) in enumerate(pg_schema.MIGRATIONS, start=1):
                if version in done:
                    continue
                for statement in statements():
                    conn.execute(statement)  # type: ignore[arg-type]  # our own DDL, no user values
                conn.execute("INSERT INTO _forecasts_migrations VALUES (%s, %s, clock_timestamp() AT TIME ZONE 'UTC')",
                             [version, name])
                names.append(name)
            return names

        return self._run(migrate)

    def transact(self, work: Callable[[Any], T]) -> T:
        return self._run(lambda conn: work(_PgTransaction(conn)), write=True)

    def now(self) -> datetime:
        """The server's clock (naive UTC)."""
        return self._run(lambda conn: conn.execute(
            "SELECT clock_timestamp() AT TIME ZONE 'UTC'").fetchone()[0])  # type: ignore[index]

    # ------------------------------------------------------------------ reads
    def _arrow(self, conn: psycopg.Connection, query: str, params: dict[str, Any]) -> Any:
        """A query's result streamed out with COPY (CSV) into an Arrow table, typed by column."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        # the query is the ledger's own SQL (forecasts.ledger.sql); values are bound by the driver
        bound = psycopg.ClientCursor(conn).mogrify(ledger_sql.placeholders(query, "postgres"), params)  # type: ignore[arg-type]
        buf = io.BytesIO()
        with conn.cursor() as cur, cur.copy(pgsql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER)").format(
                pgsql.SQL(bound))) as copy:  # type: ignore[arg-type]  # bound by the driver above
            for block in copy:
                buf.write(block)
        buf.seek(0)
        header = buf.readline().decode().rstrip("\r\n")
        names = next(csv.reader([header])) if header else []
        arrow = {"BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
                 "TIMESTAMP": pa.timestamp("us"), "VARCHAR": pa.string()}
        types = {n: arrow[_TYPES.get(n, "VARCHAR")] for n in names}
        opts = pacsv.ConvertOptions(column_types=types, true_values=["t", "true"], false_values=["f", "false"],
                                    null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
                                    timestamp_parsers=["%Y-%m-%d %H:%M:%S", pacsv.ISO8601])
        buf.seek(0)
        if not names:
            return pa.table({})
        return pacsv.read_csv(buf, convert_options=opts,
                              read_options=pacsv.ReadOptions(block_size=1 << 24))

    def frame(self, query: str, params: dict[str, Any]) -> Any:
        import pyarrow as pa

        table = self._run(lambda conn: self._arrow(conn, query, params))
        df = table.to_pandas()
        for name, field in zip(table.column_names, table.schema, strict=True):
            if pa.types.is_string(field.type) and table.column(name).null_count == len(table):
                df[name] = pd_object(df[name])  # no text at all: None, as DuckDB gives it
            elif pa.types.is_integer(field.type) and table.column(name).null_count:
                df[name] = df[name].astype("Int64")  # integers with gaps stay integers, as DuckDB gives them
        return decode_frame(df)

    def arrays(self, query: str, params: dict[str, Any]) -> dict[str, Any]:
        return arrow_arrays(self._run(lambda conn: self._arrow(conn, query, params)))

    def new_source_ids(self, table: Table, source: str, ids: Any) -> int:
        """Counted here against the stored ones (read in one query)."""
        if table not in LEDGER_TABLES:
            raise ValueError(f"not a ledger table: {table!r}")
        stored = self._run(lambda conn: {r[0] for r in conn.execute(
            pgsql.SQL("SELECT source_id FROM {} WHERE source = %s AND source_id IS NOT NULL").format(
                pgsql.Identifier(table)), [source]).fetchall()})
        return sum(1 for v in ids.to_pylist() if v not in stored)

    def read(self, table: Table, as_of: datetime, *, clock: Clock = "both", question: str | None = None,
             forecaster: str | None = None, include_backtest: bool = True, latest: bool = True,
             raw: bool = False) -> Any:
        query, params = ledger_sql.read_sql(table, clock, question, dialect="postgres", forecaster=forecaster,
                                            include_backtest=include_backtest, latest=latest, raw=raw)
        return self.frame(query, {"as_of": as_of, **params})

    def read_records(self, table: Table, as_of: datetime, *, clock: Clock = "both", question: str | None = None,
                     forecaster: str | None = None, include_backtest: bool = True, latest: bool = True,
                     raw: bool = False) -> list[dict[str, Any]]:
        query, params = ledger_sql.read_sql(table, clock, question, dialect="postgres", forecaster=forecaster,
                                            include_backtest=include_backtest, latest=latest, raw=raw)
        return decode_records({table: self.query(query, {"as_of": as_of, **params})})[table]

    def query(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        def work(conn: psycopg.Connection) -> list[dict[str, Any]]:
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute(ledger_sql.placeholders(query, "postgres"), params)  # type: ignore[arg-type]
                return cur.fetchall()

        return self._run(work)

    def records(self, tables: Sequence[Table], as_of: datetime, *, clock: Clock = "both",
                question: str | None = None) -> dict[str, list[dict[str, Any]]]:
        from psycopg.rows import dict_row

        queries = [(table, *ledger_sql.table_sql(table, clock, question, dialect="postgres")) for table in tables]

        def work(conn: psycopg.Connection) -> dict[str, list[dict[str, Any]]]:
            out: dict[str, list[dict[str, Any]]] = {}
            with conn.cursor(row_factory=dict_row) as cur:
                for table, query, extra in queries:
                    cur.execute(ledger_sql.placeholders(query + " ORDER BY seq", "postgres"),  # type: ignore[arg-type]
                                {"as_of": as_of, **extra})
                    out[table] = cur.fetchall()
            return out

        return decode_records(self._run(work))

    # ------------------------------------------------------------------ the chain
    def head(self) -> Head:
        row = self._run(lambda conn: conn.execute(ledger_sql.head_sql()).fetchone())  # type: ignore[arg-type]
        return Head(1, integrity.GENESIS) if row is None else Head(row[0] + 1, row[1])

    def chain(self, since: int = 1) -> Iterator[ChainRow]:
        """Every row (from ``seq`` ``since`` on) in ``seq`` order, streamed through server-side
        cursors in one transaction (the connection goes back to the pool however the caller
        stops reading)."""
        conn = self._begin()
        try:
            yield from _chain_rows(conn, since)
        except psycopg.Error as exc:
            with suppress(Exception):
                conn.close()
            raise self._failure(exc) from None
        finally:
            with suppress(psycopg.Error):
                self._end(conn, "ROLLBACK")

    def chain_batches(self) -> Generator[integrity.ChainBatch]:
        """Each table's stored rows as one batch (every row stores its full hashes), their
        canonical texts built column-wise in Python (:func:`~forecasts.ledger.integrity.canonical_texts`;
        nullable integers and booleans kept as such)."""
        import pandas as pd
        import pyarrow as pa

        from forecasts.ledger.migrations import COLUMNS

        types = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
        for table in LEDGER_TABLES:
            arrow = self._run(lambda conn, table=table: self._arrow(conn, ledger_sql.chain_sql(table), {}))
            frame = arrow.to_pandas(types_mapper=types.get)
            texts = integrity.canonical_texts(table, {c: frame[c] for c in COLUMNS[table]}) if len(frame) else []
            yield integrity.ChainBatch(table, frame["seq"].to_numpy(dtype="int64"), [t.encode() for t in texts],
                                       list(range(len(frame))), frame["prev_hash"].tolist(), frame["hash"].tolist())

    def check_chain(self) -> tuple[int, str] | None:
        with closing(self.chain_batches()) as batches:
            return integrity.check_batches(batches)

    def find_hash(self, h: str) -> int | None:
        row = self._run(lambda conn: conn.execute(
            ledger_sql.placeholders(ledger_sql.find_hash_sql(), "postgres"), {"h": h}).fetchone())  # type: ignore[arg-type]
        return None if row is None else row[0]

    def seals(self) -> list[tuple[int, str, str, str | None]]:
        return self._run(lambda conn: conn.execute(ledger_sql.seals_sql()).fetchall())  # type: ignore[arg-type,return-value]

    def last_write_check(self) -> tuple[int, str, str | None, str | None, int] | None:
        return self._run(lambda conn: conn.execute(ledger_sql.last_write_check_sql()).fetchone())  # type: ignore[arg-type,return-value]

    def counts(self) -> dict[str, int]:
        def work(conn: psycopg.Connection) -> dict[str, int]:
            return {t: conn.execute(pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(t))).fetchone()[0]  # type: ignore[index]
                    for t in LEDGER_TABLES}

        return self._run(work)

    # ------------------------------------------------------------------ export and restore
    def export(self, folder: Path, fmt: ExportFormat) -> dict[str, Path]:
        def work(conn: psycopg.Connection) -> dict[str, Path]:
            import pyarrow.parquet as pq

            files = {}
            for table in (*LEDGER_TABLES, "_forecasts_migrations"):
                target = folder / f"{table}.{fmt}"
                cols = ("version", "name", "applied_at") if table.startswith("_") else COLUMNS[table] + ("prev_hash", "hash")
                order = "version" if table.startswith("_") else "seq"
                query = (f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}" if table.startswith("_")
                         else ledger_sql.export_sql(table, fmt))
                arrow = self._arrow(conn, query, {})
                try:
                    if fmt == "parquet":
                        pq.write_table(arrow, target)
                    else:
                        import pyarrow.csv as pacsv

                        pacsv.write_csv(arrow, target)
                except OSError as exc:
                    raise InvalidInput(f"cannot write {target}: {exc.strerror or exc}") from None
                files[table] = target
            return files

        return self._run(work)

    def restore(self, files: dict[str, Path]) -> dict[str, int]:
        import pyarrow as pa

        tables = {}
        for table, path in files.items():
            try:
                tables[table] = _read_export(table, path)
            except (OSError, pa.ArrowException, ValueError) as exc:
                raise InvalidInput(f"cannot read {path.name}: {str(exc).splitlines()[0]}") from None

        def load(conn: psycopg.Connection) -> dict[str, int]:
            tx = _PgTransaction(conn, restore=True)
            for table, arrow in tables.items():
                tx.restore_rows(table, _arrow_rows(arrow, COLUMNS[table] + ("prev_hash", "hash")))
            result = integrity.verify_rows(_chain_rows(conn))
            if not result.ok:
                raise IntegrityError(f"the export does not verify, nothing restored: {result.problem}")
            conn.execute("SELECT forecasts_end_restore()")
            return {t: len(a) for t, a in tables.items()}

        return self._run(load, write=True)


def pd_object(column: Any) -> Any:
    """A text column as an ``object`` column of ``str`` and ``None``."""
    return column.astype(object).where(column.notna(), None)


def _first_line(exc: BaseException) -> str:
    """The server's or libpq's message, one line, without the connection preamble."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for marker in ("FATAL:  ", "ERROR:  "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip()


def _python_rows(frame: Any, cols: Sequence[str]) -> Iterator[tuple]:
    """A frame's rows as plain Python values (None for every missing value), column order ``cols``."""
    import pandas as pd

    columns = []
    for c in cols:
        s = frame[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            values = [None if v is pd.NaT or v is None else v for v in s.dt.to_pydatetime()]
        else:
            values = s.astype(object).where(s.notna(), None).tolist()
        columns.append(values)
    return zip(*columns, strict=True)


def _arrow_rows(table: Any, cols: Sequence[str]) -> Iterator[tuple]:
    """An Arrow table's rows as plain Python values (None for nulls), column order ``cols``."""
    return zip(*(table.column(c).to_pylist() for c in cols), strict=True)


def _read_export(table: str, path: Path) -> Any:
    """An exported table (CSV or Parquet) as Arrow, typed as the ledger stores it."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    arrow = {"BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
             "TIMESTAMP": pa.timestamp("us"), "VARCHAR": pa.string()}
    cols = COLUMNS[table] + ("prev_hash", "hash")
    types = {c: arrow[_TYPES[c]] for c in cols}
    if path.suffix == ".parquet":
        data = pq.read_table(path)
    else:
        data = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
            true_values=["t", "true"], false_values=["f", "false"]))
    missing = [c for c in cols if c not in data.column_names]
    if missing:
        raise ValueError(f"{table} has no column {missing[0]}")
    data = data.select(list(cols)).cast(pa.schema([(c, types[c]) for c in cols]))
    if path.suffix == ".csv":  # undo the export's guard against spreadsheet formulas (sql.csv_safe)
        import pyarrow.compute as pc

        for c in ledger_sql.text_columns(table):
            col = data.column(c)
            guarded = pc.call_function("starts_with", [col], pc.MatchSubstringOptions("'"))
            bare = pc.call_function("utf8_slice_codeunits", [col], pc.SliceOptions(1))
            fixed = pc.call_function("if_else", [guarded, bare, col])
            data = data.set_column(data.column_names.index(c), c, fixed)
    return data


def _chain_rows(conn: psycopg.Connection, since: int = 1) -> Iterator[ChainRow]:
    """Every ledger row of every table as ``(table, columns, values)``, merged in seq order,
    each table streamed through its own server-side cursor (inside the caller's transaction)."""

    def stream(table: str) -> Iterator[tuple[int, str, tuple[str, ...], tuple]]:
        cols = COLUMNS[table] + ("prev_hash", "hash")
        with conn.cursor(name=f"chain_{table}") as cur:
            cur.itersize = 20_000
            cur.execute(ledger_sql.chain_sql(table, since))  # type: ignore[arg-type]
            for values in cur:
                yield values[0], table, cols, values

    for _, table, cols, values in heapq.merge(*(stream(t) for t in LEDGER_TABLES), key=lambda x: x[0]):
        yield table, cols, values

