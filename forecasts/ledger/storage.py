"""The storage interface of the ledger: the one thing a backend implements.

:class:`~forecasts.ledger.Ledger` holds the ledger's rules (:mod:`forecasts.ledger.rules`) and
its API; a backend only stores and reads rows.  The interface is narrow on purpose:

* **append** rows in one transaction (:meth:`Storage.transact`): the transaction offers the
  few look-ups the rules need (a question, its latest resolution, a forecast, whether an event
  exists, the source ids already imported), gives every appended row its ``seq``, its
  ``recorded_at`` from the backend's clock (:attr:`Transaction.now`) and its place in the hash
  chain, and writes all or nothing;
* **read** a table as of a moment (:meth:`Storage.read` as a DataFrame, :meth:`Storage.records`
  as plain dicts for the fast path that must not load pandas), under either clock, or a query
  written over those reads (:meth:`Storage.query`: the database computes what is asked, such
  as a score table, in its :attr:`Storage.dialect`);
* the **chain**: its head, every row in ``seq`` order for :meth:`~forecasts.ledger.Ledger.verify`,
  where a given hash sits.

The DuckDB file (:class:`forecasts.ledger.duckdb_storage.DuckDBStorage`) is the default backend.
Nothing above the ledger -- scoring, models, runs, the report, the CLI -- knows which backend it
talks to: they use :class:`~forecasts.ledger.Ledger`'s methods only.

Conventions every backend keeps: times are naive UTC; lists and mappings are stored as JSON text
and decoded on read; ``forecasts`` reads have corrections applied and retractions left out;
``resolutions`` reads hold the latest per question unless ``latest=False``; ``evidence`` reads
carry their event's ``occurred_at``, ``event_title``, ``cameo`` and ``goldstein``; ``questions``
reads carry the latest ``outcome`` and ``resolved_at`` and ``n_forecasts``, ``n_forecasters`` and
``forecasters``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol, TypeVar

if TYPE_CHECKING:
    import pandas as pd

    from forecasts.ledger import integrity
    from forecasts.ledger.sql import Dialect

T = TypeVar("T")
Table = Literal["questions", "forecasts", "events", "evidence", "resolutions", "amendments"]
Clock = Literal["both", "world"]
ExportFormat = Literal["csv", "parquet"]
#: A ledger row as the chain sees it: its table, column names and values (``seq`` first).
ChainRow = tuple[str, tuple[str, ...], tuple[Any, ...]]


_TIME_COLUMNS = ("made_at", "recorded_at", "opens_at", "closes_at", "occurred_at", "resolved_at")
_JSON_COLUMNS = ("options", "tags", "probabilities", "params")


class Head(NamedTuple):
    """The chain head: the ``seq`` the next row gets and the hash it will link to."""

    next_seq: int
    hash: str


class Transaction(Protocol):
    """One write transaction: look-ups for the rules, then appends; all or nothing."""

    #: The backend's clock for this transaction: every row's ``recorded_at``.
    now: datetime
    #: Who writes a live row that names nobody: the connected role on a server, else
    #: ``FORECASTS_USER`` or the OS user (:func:`forecasts.domain.parse_live_forecaster`).
    actor: str

    def question(self, qid: str) -> dict[str, Any] | None:
        """``id, kind, options (list or None), opens_at, closes_at, title`` of a question."""
        ...

    def question_ids_starting(self, prefix: str, limit: int = 6) -> list[str]:
        """Up to ``limit`` question ids that start with ``prefix``, in order."""
        ...

    def existing_questions(self, ids: Sequence[str]) -> set[str]:
        """Which of these question ids the ledger holds (one look-up for many)."""
        ...

    def questions(self) -> pd.DataFrame:
        """Every question's ``kind, options, opens_at, closes_at``, indexed by id."""
        ...

    def latest_resolution(self, qid: str) -> tuple[str, datetime] | None:
        """``(outcome, resolved_at)`` of a question's latest resolution."""
        ...

    def forecast(self, seq: int) -> dict[str, Any] | None:
        """``question, forecaster, made_at, corrects, recorded_at, source`` of forecast row ``seq``."""
        ...

    def has_event(self, seq: int) -> bool: ...

    def event_withdrawn(self, seq: int) -> bool: ...

    def last_forecast_at(self, qid: str) -> datetime | None: ...

    def source_ids(self, table: Table, source: str) -> set[str]:
        """The ``source_id`` values already stored in ``table`` under ``source``."""
        ...

    def append(self, table: Table, rows: Sequence[dict[str, Any]] | pd.DataFrame) -> int:
        """Append rows (dicts or a frame of the table's columns but the bookkeeping ones):
        each gets ``seq``, ``recorded_at`` = :attr:`now`, ``prev_hash`` and ``hash``; returns the
        first ``seq`` given (the next one if no rows)."""
        ...

    def chain(self, since: int = 1) -> Iterator[ChainRow]:
        """Every row (from ``seq`` ``since`` on) in ``seq`` order, this transaction's own included."""
        ...

    def last_write_check(self) -> tuple[int, str, str | None, str | None, int] | None:
        """As :meth:`Storage.last_write_check`, inside this transaction."""
        ...

    def head(self) -> Head:
        """The chain's head as this transaction now sees it (its own appends included)."""
        ...

    def last_write(self) -> tuple[int, str, str | None] | None:
        """``(seq, hash, mac)`` of the newest record in the log of writes, or None."""
        ...

    def record_write(self, mac: str | None) -> None:
        """Record the current head (and its seal ``mac``, if any) in the log of writes."""
        ...


class Storage(Protocol):
    """A ledger backend (see the module docstring)."""

    #: Where the ledger lives, as shown in messages (a file path or a server URL).
    location: str
    #: The SQL its reads are written in (:mod:`forecasts.ledger.sql` builds them for it).
    dialect: Dialect

    def exists(self) -> bool: ...

    def now(self) -> datetime:
        """The backend's clock (naive UTC): what a read "as of now" means."""
        ...

    def create(self) -> list[str]:
        """Create the ledger if needed and apply pending migrations; their names."""
        ...

    def reading(self) -> AbstractContextManager[None]:
        """A block of reads that may share one connection (``verify`` makes several); no
        writes inside."""
        ...

    def transact(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in one write transaction: committed if it returns, rolled back if it
        raises.  A backend may run ``work`` again after a transient failure, so ``work`` does
        nothing but look-ups and appends on the transaction."""
        ...

    def read(self, table: Table, as_of: datetime, *, clock: Clock = "both", question: str | None = None,
             forecaster: str | None = None, include_backtest: bool = True, latest: bool = True,
             raw: bool = False) -> pd.DataFrame:
        """``table`` as of ``as_of``.  ``raw`` reads stored forecast rows as written
        (corrections and retractions as rows of their own)."""
        ...

    def records(self, tables: Sequence[Table], as_of: datetime, *, clock: Clock = "both",
                question: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """:meth:`read` as plain dicts in ``seq`` order, several tables in one go, no pandas."""
        ...

    def read_records(self, table: Table, as_of: datetime, *, clock: Clock = "both", question: str | None = None,
                     forecaster: str | None = None, include_backtest: bool = True, latest: bool = True,
                     raw: bool = False) -> list[dict[str, Any]]:
        """:meth:`read` exactly (the same SQL, rows and order) as plain dicts, without pandas."""
        ...

    def frame(self, query: str, params: dict[str, Any]) -> pd.DataFrame:
        """The result of one of the ledger's own queries (:mod:`forecasts.ledger.sql`) as a frame."""
        ...

    def query(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows of a read written over the ledger's own SQL (:mod:`forecasts.ledger.sql`,
        ``$name`` marks bound from ``params``) as plain dicts, values as the driver gives them
        (JSON text not decoded), without pandas."""
        ...

    def head(self) -> Head: ...

    def chain(self, since: int = 1) -> Iterator[ChainRow]:
        """The rows from ``seq`` ``since`` on, in ``seq`` order."""
        ...

    def last_write_check(self) -> tuple[int, str, str | None, str | None, int] | None:
        """``(seq, hash, mac, chain_hash, head_seq)``: :func:`~forecasts.ledger.sql.last_write_check_sql`."""
        ...

    def find_hash(self, h: str) -> int | None:
        """The ``seq`` of the row whose hash is ``h``."""
        ...

    def arrays(self, query: str, params: dict[str, Any]) -> dict[str, Any]:
        """A query's result as plain arrays by column (:func:`arrow_arrays`), without pandas."""
        ...

    def new_source_ids(self, table: Table, source: str, ids: Any) -> int:
        """How many of ``ids`` (an Arrow array of text) ``table`` does not hold under ``source``."""
        ...

    def check_chain(self) -> tuple[int, str] | None:
        """``(rows, head)`` when every row's hash, link and number checks out
        (:func:`~forecasts.ledger.integrity.check_batches`), else None."""
        ...

    def chain_batches(self) -> Generator[integrity.ChainBatch]:
        """Every table's stored rows in ``seq`` order, in batches, each row with its
        ``prev_hash`` and canonical text to hash (:func:`~forecasts.ledger.integrity.check_batches`)."""
        ...

    def counts(self) -> dict[str, int]: ...

    def seals(self) -> list[tuple[int, str, str, str | None]]:
        """Every sealed write ``(seq, hash, mac, chain_hash)`` in ``seq`` order, ``chain_hash``
        being the hash of the chain's row at ``seq`` (None if there is none)."""
        ...

    def export(self, folder: Path, fmt: ExportFormat) -> dict[str, Path]: ...

    def restore(self, files: dict[str, Path]) -> dict[str, int]:
        """Load exported tables row for row in one transaction, verified before it commits."""
        ...


# ---------------------------------------------------------------------- what every backend shares
class Lookups:
    """The look-ups of :class:`Transaction`, written once: a backend's transaction inherits them
    and gives :meth:`_rows` (its driver running SQL with ``?`` parameters, fully fetched)."""

    #: How this backend asks whether a value is in a list parameter.
    IN_LIST = "IN (SELECT unnest(?))"

    def _rows(self, query: str, params: Sequence[Any]) -> list[tuple]:
        raise NotImplementedError

    def _one(self, query: str, params: Sequence[Any]) -> tuple | None:
        rows = self._rows(query, params)
        return rows[0] if rows else None

    def question(self, qid: str) -> dict[str, Any] | None:
        import json

        from forecasts.ledger import sql

        row = self._one("SELECT id, kind, options, opens_at, closes_at, title, criteria, tags "
                        f"FROM ({sql.amended_questions_sql('world')}) q WHERE id = ? ORDER BY seq LIMIT 1", [qid])
        if row is None:
            return None
        return {"id": row[0], "kind": row[1], "options": json.loads(row[2]) if row[2] else None,
                "opens_at": row[3], "closes_at": row[4], "title": row[5], "criteria": row[6],
                "tags": json.loads(row[7]) if row[7] else []}

    def question_ids_starting(self, prefix: str, limit: int = 6) -> list[str]:
        """Up to ``limit`` question ids that start with ``prefix``, in order."""
        return [r[0] for r in self._rows("SELECT DISTINCT id FROM questions WHERE substr(id, 1, length(?)) = ? "
                                         "ORDER BY id LIMIT ?", [prefix, prefix, limit])]

    def existing_questions(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        return {r[0] for r in self._rows(f"SELECT DISTINCT id FROM questions WHERE id {self.IN_LIST}", [list(ids)])}

    def questions(self) -> pd.DataFrame:
        import json

        import pandas as pd

        from forecasts.ledger import sql

        qs = pd.DataFrame(self._rows("SELECT id, kind, options, opens_at, closes_at "
                                     f"FROM ({sql.amended_questions_sql('world')}) q", []),
                          columns=["id", "kind", "options", "opens_at", "closes_at"])
        for col in ("opens_at", "closes_at"):
            qs[col] = pd.to_datetime(qs[col]).astype("datetime64[us]")
        qs["options"] = [json.loads(v) if isinstance(v, str) else None for v in qs["options"]]
        return qs.set_index("id")

    def latest_resolution(self, qid: str) -> tuple[str, datetime] | None:
        return self._one("SELECT outcome, resolved_at FROM resolutions WHERE question = ? ORDER BY seq DESC LIMIT 1",
                         [qid])  # type: ignore[return-value]

    def forecast(self, seq: int) -> dict[str, Any] | None:
        cols = ("question", "forecaster", "made_at", "corrects", "recorded_at", "source")
        row = self._one(f"SELECT {', '.join(cols)} FROM forecasts WHERE seq = ?", [seq])
        return None if row is None else dict(zip(cols, row, strict=True))

    def has_event(self, seq: int) -> bool:
        return self._one("SELECT 1 FROM events WHERE seq = ?", [seq]) is not None

    def event_withdrawn(self, seq: int) -> bool:
        """Whether event ``seq`` has been withdrawn (``event retract``)."""
        return self._one("SELECT 1 FROM amendments WHERE about = 'event' AND field = 'withdrawn' AND target = ?",
                         [str(seq)]) is not None

    def last_forecast_at(self, qid: str) -> datetime | None:
        """When the latest forecast row on question ``qid`` was made (corrections included)."""
        row = self._one("SELECT max(made_at) FROM forecasts WHERE question = ?", [qid])
        return None if row is None else row[0]

    def head(self) -> Head:
        return Head(self._seq, self._prev)  # type: ignore[attr-defined]  # every backend's transaction keeps them

    def last_write(self) -> tuple[int, str, str | None] | None:
        from forecasts.ledger import sql

        return self._one(sql.last_write_sql(), [])  # type: ignore[return-value]

    def last_write_check(self) -> tuple[int, str, str | None, str | None, int] | None:
        from forecasts.ledger import sql

        return self._one(sql.last_write_check_sql(), [])  # type: ignore[return-value]

    def record_write(self, mac: str | None) -> None:
        from forecasts.ledger import sql

        seq, h = self.head()
        self._rows(sql.record_write_sql(), [seq - 1, h, self.now, mac])  # type: ignore[attr-defined]

    def source_ids(self, table: Table, source: str) -> set[str]:
        from forecasts.ledger.migrations import LEDGER_TABLES

        if table not in LEDGER_TABLES:
            raise ValueError(f"not a ledger table: {table!r}")
        return {r[0] for r in self._rows(f"SELECT source_id FROM {table} WHERE source = ? AND source_id IS NOT NULL",
                                         [source])}


def stamp_rows(table: str, rows: Sequence[dict[str, Any]], head: Head,
               now: datetime) -> tuple[list[tuple[Any, ...]], Head]:
    """Give rows their ``seq``, ``recorded_at`` and place in the chain (in place), one by one;
    their values in the order of the table's columns and ``prev_hash, hash``, and the new head."""
    from forecasts.ledger import integrity
    from forecasts.ledger.migrations import COLUMNS

    cols = COLUMNS[table] + ("prev_hash", "hash")
    seq, prev = head
    values = []
    for row in rows:
        row["seq"], row["recorded_at"], row["prev_hash"] = seq, now, prev
        row["hash"] = prev = integrity.row_hash(prev, table, row)
        values.append(tuple(row.get(c) for c in cols))
        seq += 1
    return values, Head(seq, prev)


def numbered_frame(table: str, frame: pd.DataFrame, head: Head, now: datetime) -> pd.DataFrame:
    """A copy of ``frame`` with every column of the table, numbered from ``head`` (``seq``)
    and stamped ``recorded_at = now``: the rows as they will be stored, hashes aside."""
    import numpy as np

    from forecasts.ledger.migrations import COLUMNS

    n = len(frame)
    out = frame.reset_index(drop=True).copy()
    for c in COLUMNS[table]:
        if c not in out.columns:
            out[c] = None
    out["seq"] = np.arange(head.next_seq, head.next_seq + n, dtype=np.int64)
    out["recorded_at"] = np.full(n, np.datetime64(now, "us"))
    if "corrects" in out.columns:
        out["corrects"] = out["corrects"].astype("Int64")
    if "retracted" in out.columns:
        out["retracted"] = out["retracted"].fillna(False).astype(bool)
    return out


def stamp_frame(table: str, frame: pd.DataFrame, head: Head, now: datetime) -> tuple[pd.DataFrame, Head]:
    """:func:`stamp_rows` for a frame, the chain computed column-wise: a copy with every
    column of the table, ``prev_hash`` and ``hash``, and the new head."""
    from forecasts.ledger import integrity
    from forecasts.ledger.migrations import COLUMNS

    out = numbered_frame(table, frame, head, now)
    hashes = integrity.chain_columns(table, {c: out[c].to_numpy() for c in COLUMNS[table]}, head.hash)
    out["prev_hash"] = [head.hash, *hashes[:-1]]
    out["hash"] = hashes
    return out, Head(head.next_seq + len(out), hashes[-1])


def arrow_arrays(table: Any) -> dict[str, Any]:
    """An Arrow table's columns as numpy arrays (:func:`arrow_numpy`): times ``datetime64[us]``
    (NaT for NULL), numbers and truth values as they are (the query leaves no NULL in them),
    text as objects (None for NULL)."""
    return {name: arrow_numpy(table.column(name)) for name in table.column_names}


def arrow_numpy(column: Any, *, nulls: bool = False) -> Any:
    """An Arrow array (or chunked array) as a numpy array, read from its buffers: pyarrow's own
    ``to_numpy`` (and ``combine_chunks``, ``fill_null``, ``take`` with numpy indices) import
    pandas, 0.4 s that ``verify`` has no use for.  Integers, floats and truth values as they
    are, refused with a NULL unless ``nulls`` (then the values at the NULLs are whatever the
    buffer holds, for a caller that reads only the valid ones); times as ``datetime64`` of
    their unit, NaT for NULL; text as objects, None for NULL."""
    import numpy as np
    import pyarrow as pa

    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        out = np.empty(len(column), dtype=object)
        out[:] = column.to_pylist()
        return out
    if pa.types.is_boolean(kind):
        dtype = np.dtype(bool)
    elif pa.types.is_timestamp(kind):
        dtype = np.dtype(f"datetime64[{kind.unit}]")
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        dtype = np.dtype(kind.to_pandas_dtype())
    else:
        raise ValueError(f"no plain numpy form for an Arrow column of {kind}")
    if column.null_count and not (nulls or pa.types.is_timestamp(kind)):
        raise ValueError(f"a column of {kind} with {column.null_count} NULLs has no plain numpy form")
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [_arrow_chunk(c, dtype) for c in chunks if len(c)]
    return np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else np.zeros(0, dtype=dtype)


def _arrow_chunk(arr: Any, dtype: Any) -> Any:
    """:func:`arrow_numpy` of one non-empty Arrow array of fixed-width values."""
    import numpy as np

    data = arr.buffers()[1]
    if dtype == np.dtype(bool):  # one bit a value, the first in the lowest bit
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=arr.offset + len(arr), bitorder="little")
        return bits[arr.offset:].view(bool)
    out = np.frombuffer(data, dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize)
    if arr.null_count and dtype.kind == "M":
        out = out.copy()
        out.view(np.int64)[~_arrow_chunk(arr.is_valid(), np.dtype(bool))] = np.iinfo(np.int64).min  # NaT
    return out


def decode_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A read as the ledger returns it: times as naive UTC ``datetime64[us]``, JSON columns
    decoded, ``forecasters`` a list (empty for none)."""
    import json

    import numpy as np
    import pandas as pd

    for col in df.columns:
        if col in _TIME_COLUMNS:
            df[col] = pd.to_datetime(df[col]).astype("datetime64[us]")
    for col in _JSON_COLUMNS:
        if col in df.columns:
            values = df[col].to_numpy(dtype=object)
            out = np.full(len(values), None, dtype=object)
            # decoded row by row, so no two rows share one mutable list or dict; NULLs stay None
            for i in np.flatnonzero(df[col].notna().to_numpy()):
                out[i] = json.loads(values[i])
            df[col] = out
    if "forecasters" in df.columns:
        df["forecasters"] = [json.loads(v) if isinstance(v, str) else
                             list(v) if hasattr(v, "__iter__") else [] for v in df["forecasters"]]
    return df


def decode_records(out: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """:func:`decode_frame` for plain records: JSON columns decoded in place."""
    import json

    for rows in out.values():
        for row in rows:
            for col in _JSON_COLUMNS:
                if isinstance(row.get(col), str):
                    row[col] = json.loads(row[col])
            if "forecasters" in row:
                v = row["forecasters"]
                row["forecasters"] = json.loads(v) if isinstance(v, str) else list(v) if v is not None else []
    return out
