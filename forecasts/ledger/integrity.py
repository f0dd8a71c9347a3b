"""Tamper evidence: one SHA-256 hash chain over every ledger row, across all tables.

Each row stores ``prev_hash`` (the hash of the row with the previous ``seq``, or
:data:`GENESIS` for the first row) and ``hash = sha256(prev_hash + canonical(row))``, where the
canonical form is compact JSON ``[table, {column: value}]`` with sorted keys over every column
except ``prev_hash`` and ``hash``; times are ISO 8601 with microseconds, floats in their
shortest round-trip form.

:func:`verify_rows` walks the rows in ``seq`` order and names the first one that breaks the
chain: a row whose content no longer matches its hash was altered; a row whose ``prev_hash``
does not match its predecessor, or a gap or repeat in ``seq``, means a row was deleted or
inserted.  Removing the newest rows leaves a valid but shorter chain, so ``forecasts verify``
prints the head hash; keep it, and pass it back with ``--head`` to detect truncation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

GENESIS = "0" * 64


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, float):
        return repr(value)
    return value


def canonical(table: str, row: dict) -> str:
    """The canonical text of a row (``prev_hash`` and ``hash`` left out)."""
    body = {k: _plain(v) for k, v in row.items() if k not in ("prev_hash", "hash")}
    return json.dumps([table, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(prev_hash: str, table: str, row: dict) -> str:
    """``sha256(prev_hash + canonical(table, row))`` as hex."""
    return hashlib.sha256((prev_hash + canonical(table, row)).encode()).hexdigest()


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the chain: ``ok``, how many rows, the head, the first problem."""

    ok: bool
    rows: int
    head: str
    problem: str | None = None
    table: str | None = None
    seq: int | None = None


def verify_rows(rows: Iterable[tuple[str, Sequence[str], tuple]]) -> Verification:
    """Check ``(table, column_names, values)`` tuples given in ``seq`` order."""
    prev, last_seq, n = GENESIS, 0, 0
    for table, columns, values in rows:
        row = dict(zip(columns, values, strict=True))
        seq = row["seq"]
        where = f"{table} row seq={seq}"
        if seq == last_seq:
            return Verification(False, n, prev, f"{where} repeats seq {seq}: a row was inserted", table, seq)
        if row["prev_hash"] != prev:
            why = "a row before it was deleted or inserted" if seq != last_seq + 1 else "its link to the previous row was altered"
            gap = f" (seq jumps from {last_seq} to {seq})" if seq != last_seq + 1 else ""
            return Verification(False, n, prev, f"{where} does not follow the previous row{gap}: {why}", table, seq)
        if row_hash(prev, table, row) != row["hash"]:
            return Verification(False, n, prev, f"{where} does not match its hash: the row was altered", table, seq)
        if seq != last_seq + 1:
            return Verification(False, n, prev, f"{where} follows seq {last_seq}: the sequence has a gap", table, seq)
        prev, last_seq, n = row["hash"], seq, n + 1
    return Verification(True, n, prev)
