"""The ledger in one DuckDB file: the default backend of :mod:`forecasts.ledger.storage`.

* **Short-lived connections.**  DuckDB lets one process hold a file for writing, so each
  operation opens its own connection and closes it at once: a notebook never holds the file.
  A locked file is retried with exponential backoff for ``lock_timeout`` seconds, then
  :class:`~forecasts.errors.StoreLocked` is raised.  A read that finds the file half-written by
  another process (DuckDB's "could not read enough bytes") is retried the same way; if it
  persists, the file is damaged: :class:`~forecasts.errors.StoreCorrupt`.
* **All or nothing.**  A write runs in one transaction; on any error it is rolled back (a
  rollback that DuckDB has already done itself is not an error), and a full disk is reported as
  :class:`~forecasts.errors.StoreFull` with the ledger as it was.
* **Migrations** are applied on the first connection (:mod:`forecasts.ledger.migrations`).
* **The chain.**  Rows are hashed as they are appended (:mod:`forecasts.ledger.integrity`):
  row by row for a few rows, vectorised for a frame.

The reads' SQL is shared with every backend (:mod:`forecasts.ledger.sql`).
"""

from __future__ import annotations

import errno
import heapq
import os
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from forecasts import domain
from forecasts.errors import (
    ForecastsError,
    IntegrityError,
    InvalidInput,
    StoreCorrupt,
    StoreFull,
    StoreLocked,
    StoreMissing,
)
from forecasts.ledger import integrity, migrations, sql
from forecasts.ledger.migrations import COLUMNS, LEDGER_TABLES
from forecasts.ledger.storage import (
    ChainRow,
    Clock,
    ExportFormat,
    Head,
    Lookups,
    Table,
    arrow_arrays,
    arrow_numpy,
    decode_frame,
    decode_records,
    numbered_frame,
    stamp_rows,
)

T = TypeVar("T")
#: Rows at most this many are inserted with executemany; more go through one bulk insert.
_FEW_ROWS = 32
#: Rows per batch when the chain is checked (:meth:`DuckDBStorage.chain_batches`).
_CHAIN_BATCH = 100_000
#: Each ledger table's column types, by name.
_TYPE = {t: {n: k for n, k, _, _ in cols} | {"recorded_at": "TIMESTAMP"} for t, cols in migrations.SCHEMA.items()}
#: Every connection's settings: no extension is installed or loaded on the fly (a file that
#: is not DuckDB's own, such as SQLite, would otherwise fetch a scanner from the network), and
#: no progress bar (DuckDB draws one on standard output for a query over 2 s, which would land
#: in the middle of a command's JSON).
_CONFIG = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


def _first(rows: list) -> Any:
    """The first row of a fully fetched result, or None (a result fetched only in part would
    block the next statement on the connection)."""
    return rows[0] if rows else None


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _is_transient(exc: duckdb.Error) -> bool:
    """A file another process is in the middle of writing (retry), not a broken one."""
    return isinstance(exc, duckdb.IOException) and "could not read enough bytes" in str(exc).lower()


def _is_full(exc: BaseException) -> bool:
    """A write the disk (or the file's size limit) had no room for: ENOSPC, EFBIG, EDQUOT, or
    DuckDB's words for them."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("no space left", "disk full", "file too large", "disk is full",
                                   "quota exceeded"))


class _DuckDBTransaction(Lookups):
    """One open write transaction on a connection (see :class:`~forecasts.ledger.storage.Transaction`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, head: Head, now: datetime):
        self.con = con
        self.now = now
        self._seq, self._prev = head

    @property
    def actor(self) -> str:
        return domain.parse_live_forecaster(None)

    # -- look-ups for the rules (the rest: storage.Lookups)
    def _rows(self, query: str, params: Sequence[Any]) -> list[tuple]:
        return self.con.execute(query, list(params)).fetchall()

    # -- appends
    def append(self, table: Table, rows: Sequence[dict[str, Any]] | Any) -> int:
        first = self._seq
        if isinstance(rows, list | tuple):
            self._append_rows(table, list(rows))
        else:
            self._append_frame(table, rows)
        return first

    def _append_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Rows given one by one: a few are each stored with their full hashes and tag; more
        are appended as a frame (:meth:`_append_frame`)."""
        if not rows:
            return
        if len(rows) > _FEW_ROWS:  # many: as a frame (object columns: None stays NULL)
            import pandas as pd

            given = [c for c in COLUMNS[table] if c not in ("seq", "recorded_at")]
            self._append_frame(table, pd.DataFrame([[r.get(c) for c in given] for r in rows], columns=given,
                                                   dtype=object))
            return
        cols = COLUMNS[table] + ("prev_hash", "hash", "tag")
        stamped, (self._seq, self._prev) = stamp_rows(table, rows, Head(self._seq, self._prev), self.now)
        values = [(*v, integrity.tag_of(v[-1])) for v in stamped]
        placeholders = ", ".join("?" for _ in cols)
        self.con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})", values)

    def _append_frame(self, table: Table, frame: Any) -> None:
        """Many rows at once: DuckDB writes each row's canonical text
        (:func:`~forecasts.ledger.integrity.canonical_sql`; the rare row it cannot write
        exactly is written by :func:`~forecasts.ledger.integrity.canonical_texts`) a batch
        ahead while Python chains the hashes (:func:`_ahead`); one insert stores the rows with
        their tags, and the full hashes of the marks only (:func:`~forecasts.ledger.integrity.marks`)."""
        import numpy as np
        import pyarrow as pa

        if not len(frame):
            return
        out = numbered_frame(table, frame, Head(self._seq, self._prev), self.now)
        cols = COLUMNS[table]
        # the frame's columns as the table types them (an object column of Nones has no type)
        typed = "(SELECT " + ", ".join(f"CAST({c} AS {_TYPE[table][c]}) AS {c}" for c in cols) + " FROM incoming_rows) r"
        self.con.register("incoming_rows", out)
        try:
            batches = self.con.sql(integrity.canonical_sql(table, typed)).to_arrow_reader(_CHAIN_BATCH)
            prev, done = self._prev, 0
            kept: dict[str, list[Any]] = {"prev_hash": [], "hash": [], "tag": []}
            with closing(_ahead(iter(batches))) as ahead:
                for batch in ahead:
                    seqs = arrow_numpy(batch.column(0))
                    if not np.array_equal(seqs, np.arange(self._seq + done, self._seq + done + len(seqs))):
                        raise RuntimeError("DuckDB gave the rows out of order")  # preserve_insertion_order is on
                    texts = batch.column(1).to_pylist()
                    for i in np.flatnonzero(~arrow_numpy(batch.column(2))).tolist():
                        one = out.iloc[done + i:done + i + 1]  # that row only (not each column whole)
                        texts[i] = integrity.canonical_texts(table, {c: one[c].to_numpy() for c in cols})[0].encode()
                    hashes = integrity.chain_hashes(prev, texts)
                    marked = np.flatnonzero(integrity.marks(seqs, self._seq, self._seq + len(out) - 1)).tolist()
                    prevs: list[str | None] = [None] * len(hashes)  # NULL but at the marks
                    full: list[str | None] = [None] * len(hashes)
                    for i in marked:
                        prevs[i], full[i] = hashes[i - 1] if i else prev, hashes[i]
                    kept["prev_hash"].append(pa.array(prevs, pa.string()))
                    kept["hash"].append(pa.array(full, pa.string()))
                    kept["tag"].append(pa.array(integrity.hash_tags(hashes), pa.int32()))
                    prev, done = hashes[-1], done + len(texts)
            self.con.register("incoming_hashes", pa.table({k: pa.chunked_array(v) for k, v in kept.items()}))
            self.con.execute(f"INSERT INTO {table} ({', '.join(cols)}, prev_hash, hash, tag) "
                             f"SELECT {', '.join('r.' + c for c in cols)}, h.prev_hash, h.hash, h.tag "
                             f"FROM {typed} POSITIONAL JOIN incoming_hashes h")
        finally:
            self.con.unregister("incoming_rows")
            with suppress(duckdb.Error):
                self.con.unregister("incoming_hashes")
        self._seq, self._prev = self._seq + len(out), prev

    def chain(self, since: int = 1) -> Iterator[ChainRow]:
        return _chain_rows(self.con, in_transaction=True, since=since)


def _progress_bar_off(con: duckdb.DuckDBPyConnection) -> None:
    """Turn DuckDB's progress bar off (it writes into stdout, so into ``--json`` output, when
    stdout is a terminal).  It is a session option, not a connect one.  Inside Jupyter without
    ``ipywidgets`` DuckDB refuses any change to it, even to turn it off, but there it is off
    already: the option is set only when it is on."""
    if con.execute("SELECT current_setting('enable_progress_bar')").fetchall() == [(True,)]:
        con.execute("SET enable_progress_bar = false")


class DuckDBStorage:
    """The ledger's rows in one DuckDB file (see the module docstring)."""

    dialect: sql.Dialect = "duckdb"

    def __init__(self, path: str | os.PathLike, *, lock_timeout: float = 5.0):
        self.path = Path(path)
        self.location = str(self.path)
        self.lock_timeout = lock_timeout
        self._migrated = False
        self._held: duckdb.DuckDBPyConnection | None = None  # see reading()

    # ------------------------------------------------------------------ connections
    def exists(self) -> bool:
        """Whether the file is there; a folder, an unusable path or a file that is not a
        DuckDB database is refused (DuckDB itself would open a CSV file as a database of views)."""
        try:
            if self.path.is_dir():
                raise InvalidInput(f"{self.path} is a folder, not a ledger file")
            if not self.path.exists():
                return False
            with self.path.open("rb") as fh:
                head = fh.read(12)
        except OSError as exc:
            raise InvalidInput(f"cannot use {self.path} as a ledger: {exc.strerror or exc}") from None
        if head and head[8:12] != b"DUCK":
            raise StoreCorrupt(f"{self.path} is not a ledger: it is not a DuckDB database file")
        return True

    def now(self) -> datetime:
        return domain.now()

    def _missing(self) -> StoreMissing:
        return StoreMissing(f"no ledger at {self.path}; create one first (forecasts init)")

    def _connect_once(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A connection (read-only for reads: readers do not take the writer's lock), waiting
        (with backoff, up to ``lock_timeout``) while another process holds the file; any other
        failure is raised as DuckDB raised it (see :meth:`_failure`).  Extensions are never
        installed or loaded on the fly: the tool never reaches the network."""
        self.exists()
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only, config=dict(_CONFIG))
                _progress_bar_off(con)
                return con
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreLocked(
                        f"ledger {self.path} is locked by another process (tried for "
                        f"{self.lock_timeout:g} s); close the other program or notebook connection and retry"
                    ) from None
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.5)

    def _open(self, *, write: bool = False) -> duckdb.DuckDBPyConnection:
        """A fresh connection to a file checked to be a ledger (:func:`_check_ledger`) on the
        first one; a ledger of an older schema is brought up to date then."""
        con = self._connect_once(read_only=not write)
        if self._migrated:
            return con
        try:
            pending = _check_ledger(con, self.path)
            if pending:
                con.close()
                con = self._connect_once()
                self._migrate(con)
                if not write:
                    con.close()
                    con = self._connect_once(read_only=True)
        except BaseException:
            con.close()
            raise
        self._migrated = True
        return con

    def _migrate(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """Bring the ledger's schema up to date (:func:`~forecasts.ledger.migrations.migrate`);
        a migration that fails is one line: a write the file or folder refuses (open it once
        where it can be written), or a schema that does not match its migrations table."""
        try:
            return migrations.migrate(con)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            failure = self._failure(exc, final=True) if isinstance(exc, duckdb.IOException | duckdb.TransactionException) \
                else None
            if failure is not None and str(failure).startswith("cannot write"):
                raise StoreCorrupt(f"ledger {self.path} was written by an older forecasts and its schema must be "
                                   f"brought up to date, which needs a write ({first}); open it once where its "
                                   "file and folder are writable (forecasts init)") from None
            raise StoreCorrupt(f"ledger {self.path} is damaged: its schema does not match its migrations table "
                               f"({first}); restore it from an export or a backup") from None

    def _failure(self, exc: duckdb.Error | OSError, *, final: bool) -> ForecastsError | None:
        """The ledger error for a storage failure; ``None`` for one worth retrying (a file
        caught half-written by another process) unless ``final``.  Errors that are not the
        file's fault are bugs: re-raised as they are."""
        if _is_full(exc):
            return StoreFull(f"the disk holding ledger {self.path} is full; nothing was written. "
                             "Free some space and retry")
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, duckdb.TransactionException) and "failed to commit" in first.lower():
            return StoreCorrupt(f"cannot write to ledger {self.path} ({first}); nothing was written: "
                                "check that its file and folder are writable")
        if isinstance(exc, duckdb.Error) and "corrupt" in first.lower():
            return StoreCorrupt(f"ledger {self.path} is damaged ({first}); "
                                "restore it from an export or a backup")
        if not isinstance(exc, duckdb.IOException | duckdb.FatalException | duckdb.InternalException):
            raise exc  # an OSError that is not a full disk, or a DuckDB error that is not the file's
        if _is_transient(exc) and not final:
            return None
        if "not a valid duckdb database" in first.lower():
            return StoreCorrupt(f"{self.path} is not a ledger: it is not a DuckDB database file")
        if any(w in first.lower() for w in ("read-only", "read only", "not permitted", "permission denied")):
            return StoreCorrupt(f"cannot write to ledger {self.path} ({first}); nothing was written")
        return StoreCorrupt(f"ledger {self.path} is damaged or truncated ({first}); "
                            "verify it, or restore it from an export or a backup")

    def _run(self, work: Callable[[duckdb.DuckDBPyConnection], T], *, create: bool = False,
             write: bool = False, keep: bool = False) -> T:
        """Run ``work`` on a fresh connection (read-only unless ``write``; left open if
        ``keep``), or on the one held by :meth:`reading`; retry a file caught half-written by
        another process; map storage failures to ledger errors.  A missing file is never
        created here unless ``create``."""
        if self._held is not None:
            if write or create:
                raise RuntimeError("a write inside DuckDBStorage.reading(), which holds a read-only connection")
            try:
                return work(self._held)
            except ForecastsError:
                raise
            except (duckdb.Error, OSError) as exc:
                raise self._failure(exc, final=True) from None  # type: ignore[misc]
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            if not create and not self.exists():
                raise self._missing()
            try:
                con = self._connect_once() if create else self._open(write=write)
            except duckdb.Error as exc:
                error = self._failure(exc, final=time.monotonic() >= deadline)
                if error is not None:
                    raise error from None
            else:
                try:
                    return work(con)
                except ForecastsError:
                    raise
                except (duckdb.Error, OSError) as exc:
                    error = self._failure(exc, final=time.monotonic() >= deadline)
                    if error is not None:
                        raise error from None
                finally:
                    if not keep:
                        con.close()
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Inside, every read shares one read-only connection, opened once: opening one costs
        about 15 ms, and ``verify`` makes eight reads.  The reads also see one state of the file,
        as another process cannot write to it meanwhile (its writes wait, up to its
        ``lock_timeout``).  Writes are refused inside (DuckDB cannot open a file read-write
        beside a read-only connection in the same process).  Nested uses share the outer one."""
        if self._held is not None:
            yield
            return
        con = self._run(lambda con: con, keep=True)
        self._held = con
        try:
            yield
        finally:
            self._held = None
            con.close()

    @contextmanager
    def _reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for a streamed read: the held one, or one of its own closed after."""
        if self._held is not None:
            yield self._held
            return
        if not self.exists():
            raise self._missing()
        try:
            con = self._open()
        except duckdb.Error as exc:
            raise self._failure(exc, final=True) from None  # type: ignore[misc]
        try:
            yield con
        finally:
            con.close()

    def create(self) -> list[str]:
        """Create the ledger file, or bring an existing ledger's schema up to date.  A DuckDB
        file that holds tables but no ledger is refused, and left as it was."""
        self.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInput(f"cannot create the folder of ledger {self.path}: {exc.strerror or exc}") from None
        names: list[str] = []

        def work(con: duckdb.DuckDBPyConnection) -> None:
            _check_ledger(con, self.path, blank_ok=True)
            names.extend(self._migrate(con))

        self._run(work, create=True)
        self._migrated = True
        return names

    def transact(self, work: Callable[[Any], T]) -> T:
        """Run ``work`` in one write transaction: committed if it returns, rolled back if it
        raises (and then re-run only if the file was caught half-written)."""

        return self._run(lambda con: migrations.atomically(con, lambda: work(_DuckDBTransaction(con, _head(con), domain.now()))),
                         write=True)

    # ------------------------------------------------------------------ reads
    def frame(self, query: str, params: dict[str, Any]) -> Any:
        return decode_frame(self._run(lambda con: con.execute(query, params).df()))

    def arrays(self, query: str, params: dict[str, Any]) -> dict[str, Any]:
        return arrow_arrays(self._run(lambda con: con.sql(query, params=params or None).to_arrow_table()))

    def new_source_ids(self, table: Table, source: str, ids: Any) -> int:
        """Counted by the database: an anti-join of ``ids`` with the stored ones."""
        import pyarrow as pa

        if table not in LEDGER_TABLES:
            raise ValueError(f"not a ledger table: {table!r}")
        incoming = pa.table({"source_id": ids})

        def count(con: duckdb.DuckDBPyConnection) -> int:
            con.register("incoming_ids", incoming)
            try:
                return _first(con.execute(
                    f"SELECT count(*) FROM incoming_ids i ANTI JOIN (SELECT source_id FROM {table} "
                    "WHERE source = $source) s ON s.source_id = i.source_id", {"source": source}).fetchall())[0]
            finally:
                con.unregister("incoming_ids")

        return self._run(count)

    def read(self, table: Table, as_of: datetime, *, clock: Clock = "both", question: str | None = None,
             forecaster: str | None = None, include_backtest: bool = True, latest: bool = True,
             raw: bool = False) -> Any:
        query, params = sql.read_sql(table, clock, question, dialect="duckdb", forecaster=forecaster,
                                     include_backtest=include_backtest, latest=latest, raw=raw)
        return self.frame(query, {"as_of": as_of, **params})

    def read_records(self, table: Table, as_of: datetime, *, clock: Clock = "both", question: str | None = None,
                     forecaster: str | None = None, include_backtest: bool = True, latest: bool = True,
                     raw: bool = False) -> list[dict[str, Any]]:
        query, params = sql.read_sql(table, clock, question, dialect="duckdb", forecaster=forecaster,
                                     include_backtest=include_backtest, latest=latest, raw=raw)
        return decode_records({table: self.query(query, {"as_of": as_of, **params})})[table]

    def query(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        def work(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
            cur = con.execute(query, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

        return self._run(work)

    def records(self, tables: Sequence[Table], as_of: datetime, *, clock: Clock = "both",
                question: str | None = None) -> dict[str, list[dict[str, Any]]]:
        queries = [(table, *sql.table_sql(table, clock, question)) for table in tables]

        def work(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
            out: dict[str, list[dict[str, Any]]] = {}
            for table, query, extra in queries:
                cur = con.execute(query + " ORDER BY seq", {"as_of": as_of, **extra})
                names = [d[0] for d in cur.description]
                out[table] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            return out

        out = self._run(work)
        return decode_records(out)

    # ------------------------------------------------------------------ the chain
    def head(self) -> Head:
        return self._run(_head)

    def chain(self, since: int = 1) -> Iterator[ChainRow]:
        """Every row (from ``seq`` ``since`` on) in ``seq`` order, streamed through one
        connection held while iterating."""
        with self._reader() as con:
            try:
                yield from _chain_rows(con, since=since)
            except duckdb.Error as exc:
                raise self._failure(exc, final=True) from None  # type: ignore[misc]

    def chain_batches(self) -> Generator[integrity.ChainBatch]:
        """Each table's rows in ``seq`` order with what they store of the chain, their texts
        built by DuckDB (:func:`~forecasts.ledger.integrity.canonical_sql`; a row it cannot
        write exactly is read whole and written by :func:`~forecasts.ledger.integrity.canonical`),
        one connection for them all, a batch ahead of the caller (:func:`_ahead`)."""
        import numpy as np
        import pyarrow.compute as pc

        def batches() -> Iterator[integrity.ChainBatch]:
            with self._reader() as con:
                for table in LEDGER_TABLES:
                    # in the order rows were stored (seq order, as the tool appends them; a
                    # table out of order is found by the check, which then walks it)
                    texts = integrity.canonical_sql(table, table, carry=("prev_hash", "hash", "tag"))
                    for batch in con.sql(texts).to_arrow_reader(_CHAIN_BATCH):
                        seqs, text = arrow_numpy(batch.column(0)), batch.column(1).to_pylist()
                        inexact = (~arrow_numpy(batch.column(2))).nonzero()[0].tolist()
                        if inexact:
                            text = _exact_texts(con, table, seqs, text, inexact)
                        prevs, hashes, tags = batch.column(3), batch.column(4), batch.column(5)
                        stores = pc.call_function("or", [prevs.is_valid(), hashes.is_valid()])
                        yield integrity.ChainBatch(table, seqs, text, np.flatnonzero(arrow_numpy(stores)),
                                                   prevs.filter(stores).to_pylist(), hashes.filter(stores).to_pylist(),
                                                   arrow_numpy(tags, nulls=True), arrow_numpy(tags.is_valid()))

        try:
            yield from _ahead(batches())
        except duckdb.Error as exc:
            raise self._failure(exc, final=True) from None  # type: ignore[misc]

    def check_chain(self) -> tuple[int, str] | None:
        """:func:`~forecasts.ledger.integrity.check_batches` over every row, in one process:
        DuckDB writes each batch's canonical texts on its own threads while this one hashes
        the batch before (:func:`_ahead`), so the check already uses about 1.3 cores (a second
        process hashing half the chain was measured no faster at 1M rows on 2 cores: 2.2-2.6 s
        against 2.1-2.4 s)."""
        with closing(self.chain_batches()) as batches:
            return integrity.check_batches(batches)

    def find_hash(self, h: str) -> int | None:
        """The ``seq`` of the row whose hash is ``h``: among the full hashes stored, else
        (a row of a bulk append, which stores its tag only) computed along the chain."""
        row = self._run(lambda con: _first(con.execute(sql.find_hash_sql(), {"h": h}).fetchall()))
        if row is not None:
            return row[0]
        found: list[int] = []

        def look(table: str, seqs: Any, prevs: list[str], hashes: list[str]) -> None:
            if not found and h in hashes:
                found.append(int(seqs[hashes.index(h)]))

        with closing(self.chain_batches()) as batches:
            integrity.check_batches(batches, keep=look)
        return found[0] if found else None

    def seals(self) -> list[tuple[int, str, str, str | None]]:
        return self._run(lambda con: con.execute(sql.seals_sql()).fetchall())

    def last_write_check(self) -> tuple[int, str, str | None, str | None, int] | None:
        return self._run(lambda con: _first(con.execute(sql.last_write_check_sql()).fetchall()))

    def counts(self) -> dict[str, int]:
        return self._run(lambda con: {t: _first(con.execute(f"SELECT count(*) FROM {t}").fetchall())[0]
                                      for t in LEDGER_TABLES})

    # ------------------------------------------------------------------ export and restore
    def export(self, folder: Path, fmt: ExportFormat) -> dict[str, Path]:
        """Every table with every row's ``prev_hash`` and ``hash``: those a bulk append did not
        store are computed along the chain, which must verify (a tampered ledger is refused,
        so an export never carries hashes made up for altered rows)."""
        import pyarrow as pa

        computed: dict[str, list[Any]] = {}

        def keep(table: str, seqs: Any, prevs: list[str], hashes: list[str]) -> None:
            computed.setdefault(table, []).append(pa.record_batch(
                {"seq": pa.array(seqs, pa.int64()), "prev_hash": pa.array(prevs, pa.string()),
                 "hash": pa.array(hashes, pa.string())}))

        with closing(self.chain_batches()) as batches:
            if integrity.check_batches(batches, keep=keep) is None:
                raise IntegrityError(f"ledger {self.path} does not verify; nothing exported "
                                     "(forecasts verify names the first bad row)")

        def work(con: duckdb.DuckDBPyConnection) -> dict[str, Path]:
            files = {}
            for table in (*LEDGER_TABLES, "_forecasts_migrations"):
                target = folder / f"{table}.{fmt}"
                opts = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
                if table.startswith("_"):
                    query = "SELECT * FROM _forecasts_migrations ORDER BY version"
                else:
                    schema = pa.schema([("seq", pa.int64()), ("prev_hash", pa.string()), ("hash", pa.string())])
                    con.register("chain_hashes", pa.Table.from_batches(computed.pop(table, []), schema=schema))
                    query = sql.export_sql(table, fmt, hashes="chain_hashes")
                try:
                    con.execute(f"COPY ({query}) TO '{_sql_path(target)}' {opts}")
                except duckdb.IOException as exc:  # the target's fault, not the ledger's
                    if _is_full(exc):
                        raise StoreFull(f"the disk holding {folder} is full; the export is incomplete") from None
                    raise InvalidInput(f"cannot write {target}: {str(exc).splitlines()[0]}") from None
                finally:
                    with suppress(duckdb.Error):
                        con.unregister("chain_hashes")
                files[table] = target
            return files

        return self._run(work)

    def restore(self, files: dict[str, Path]) -> dict[str, int]:
        def load(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
            counts = {}
            for table, path in files.items():
                # every column an export holds (the tag is not one: the restored rows keep their
                # full hashes, which verify reads first)
                described = [r for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] != "tag"]
                cols = ", ".join(r[0] for r in described)
                picked = cols
                if path.suffix == ".csv":
                    picked = ", ".join(sql.csv_restored(r[0]) if r[0] in sql.text_columns(table) else r[0]
                                       for r in described)
                    types = ", ".join(f"'{r[0]}': '{r[1]}'" for r in described)
                    reader = f"read_csv('{_sql_path(path)}', header = true, columns = {{{types}}})"
                else:
                    reader = f"read_parquet('{_sql_path(path)}')"
                try:
                    con.execute(f"INSERT INTO {table} ({cols}) SELECT {picked} FROM {reader}")
                except duckdb.Error as exc:
                    raise InvalidInput(f"cannot read {path.name}: {str(exc).splitlines()[0]}") from None
                counts[table] = _first(con.execute(f"SELECT count(*) FROM {table}").fetchall())[0]
            result = integrity.verify_rows(_chain_rows(con, in_transaction=True))
            if not result.ok:
                raise IntegrityError(f"the export does not verify, nothing restored: {result.problem}")
            return counts

        return self._run(lambda con: migrations.atomically(con, lambda: load(con)), write=True)


# ---------------------------------------------------------------------- SQL
def _check_ledger(con: duckdb.DuckDBPyConnection, path: Path, *, blank_ok: bool = False) -> int:
    """Refuse a DuckDB file that is not a ledger, or not one this code can use, naming what is
    wrong; return how many migrations it lacks.  Reads only: a file that is not ours is left
    exactly as it was.  ``blank_ok``: a database without any table is a ledger to be (init)."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    if "_forecasts_migrations" not in tables:
        if not tables and blank_ok:
            return len(migrations.MIGRATIONS)
        if not tables:
            raise StoreCorrupt(f"{path} holds no ledger (an empty DuckDB database); create one with forecasts init")
        theirs = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        what = ("its ledger tables are there but its migrations table is missing: the ledger is damaged"
                if set(migrations.V1_TABLES) <= tables else
                f"it holds another application's tables ({theirs}); forecasts changes nothing in it")
        raise StoreCorrupt(f"{path} is not a ledger: {what}")
    versions = {r[0] for r in con.execute("SELECT version FROM _forecasts_migrations").fetchall()}
    known = len(migrations.MIGRATIONS)
    if versions and max(versions) > known:
        raise StoreCorrupt(f"this ledger was written by a newer forecasts (schema {max(versions)}, this one "
                           f"knows {known}); upgrade forecasts to use {path}")
    gaps = sorted(set(range(1, max(versions, default=0) + 1)) - versions)
    if not versions or gaps:
        what = "records no migration" if not versions else f"lacks version {', '.join(map(str, gaps))}"
        raise StoreCorrupt(f"ledger {path} is damaged: its migrations table {what}; "
                           "restore it from an export or a backup")
    missing = [t for t in migrations.required_tables(max(versions)) if t not in tables]
    if missing:
        raise StoreCorrupt(f"ledger {path} is damaged: table {', '.join(missing)} is missing; "
                           "restore it from an export or a backup")
    return known - max(versions)


def _head(con: duckdb.DuckDBPyConnection) -> Head:
    """The chain's head: the newest row's ``seq`` and hash.  The tool stores the full hash of
    the newest row of every write; a newest row that keeps none was appended past the tool,
    and its hash is computed from the newest row before it that does."""
    row = _first(con.execute(sql.head_sql()).fetchall())
    if row is None:
        return Head(1, integrity.GENESIS)
    if row[1] is not None:
        return Head(row[0] + 1, row[1])
    h = None
    for table, cols, values in _chain_rows(con, in_transaction=True, since=row[0]):
        stored = dict(zip(cols, values, strict=True))
        prev = h if h is not None else stored["prev_hash"] or integrity.GENESIS
        h = integrity.row_hash(prev, table, stored)
    return Head(row[0] + 1, h or integrity.GENESIS)


def _ahead[T](items: Iterator[T], depth: int = 2) -> Generator[T]:
    """``items`` read in a thread of their own, up to ``depth`` ahead of the caller: DuckDB
    builds the next batch (on its own threads, without the GIL) while the caller works on this
    one.  An error in the thread is raised in the caller's; closing the generator stops the
    thread before it returns, so the connection it reads from is free again."""
    import queue
    import threading

    ahead: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                ahead.put(item)
            ahead.put(done)
        except BaseException as exc:  # handed to the caller's thread
            ahead.put(exc)

    worker = threading.Thread(target=produce, name="forecasts-ahead", daemon=True)
    worker.start()
    try:
        while (item := ahead.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let the producer see the stop while the queue drains
            try:
                ahead.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()


def _exact_texts(con: duckdb.DuckDBPyConnection, table: str, seqs: Any, texts: list[bytes],
                 rows: list[int]) -> list[bytes]:
    """``texts`` with those of ``rows`` (positions) written by
    :func:`~forecasts.ledger.integrity.canonical` from the stored rows, read on a cursor of
    their own (the connection is streaming the batch)."""
    cols = COLUMNS[table]
    wanted = ", ".join(str(int(seqs[i])) for i in rows)
    cur = con.cursor()
    try:
        stored = {r[0]: dict(zip(cols, r, strict=True))
                  for r in cur.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE seq IN ({wanted})").fetchall()}
    finally:
        cur.close()
    out = list(texts)
    for i in rows:
        out[i] = integrity.canonical(table, stored[int(seqs[i])]).encode()
    return out


def _chain_rows(con: duckdb.DuckDBPyConnection, *, in_transaction: bool = False, since: int = 1) -> Iterator[ChainRow]:
    """Every ledger row of every table as ``(table, columns, values)``, merged in seq order,
    from ``since`` or the newest row before it that stores its ``prev_hash``.

    Streams each table through its own cursor; inside a transaction (whose rows other cursors
    cannot see yet) each table is read whole on ``con`` instead.
    """

    if since > 1:  # from the newest row at or before it that stores its link (see integrity.verify_rows)
        since = _first(con.execute(sql.chain_start_sql(since)).fetchall())[0] or 1

    def stream(table: str) -> Iterator[tuple[int, str, tuple[str, ...], tuple]]:
        cols = COLUMNS[table] + ("prev_hash", "hash", "tag")
        query = sql.chain_sql(table, since, tagged=True)
        if in_transaction:
            for values in con.execute(query).fetchall():
                yield values[0], table, cols, values
            return
        cur = con.cursor()
        cur.execute(query)
        while batch := cur.fetchmany(10_000):
            for values in batch:
                yield values[0], table, cols, values

    for _, table, cols, values in heapq.merge(*(stream(t) for t in LEDGER_TABLES), key=lambda x: x[0]):
        yield table, cols, values
