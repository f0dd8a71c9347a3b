"""Tamper evidence: one SHA-256 hash chain over every ledger row, across all tables.

Each row stores ``prev_hash`` (the hash of the row with the previous ``seq``, or
:data:`GENESIS` for the first row) and ``hash = sha256(prev_hash + canonical(row))``, where the
canonical form is compact JSON ``[table, {column: value}]`` with sorted keys over every column
except ``prev_hash``, ``hash`` and the NULL ones (so a migration may add a nullable column
without breaking old rows' hashes); times are ISO 8601 with microseconds, floats in their
shortest round-trip form (as JSON strings).

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
from json.encoder import encode_basestring as _encode_string
from typing import Any

GENESIS = "0" * 64


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, float):
        return repr(value)
    return value


def canonical(table: str, row: dict) -> str:
    """The canonical text of a row: ``prev_hash``, ``hash`` and NULL columns left out.

    Leaving NULLs out lets a later migration add a nullable column without changing the
    canonical text, and so the hash, of any row written before it.
    """
    body = {k: _plain(v) for k, v in row.items() if k not in ("prev_hash", "hash") and v is not None}
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


def _fragment(v) -> str:
    import numpy as np

    if v is None or (isinstance(v, float | np.floating) and v != v) or str(v) in ("<NA>", "NaT"):
        return "null"
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, float | np.floating):
        return f'"{float(v)!r}"'
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, datetime):
        return f'"{v.isoformat(timespec="microseconds")}"'
    return _encode_string(v)


def _fragments(values) -> tuple[list[str], Any]:
    """JSON fragments of one column's distinct values, exactly as :func:`canonical` writes
    them, and the code of each row (so repeated values are encoded once)."""
    import numpy as np
    import pandas as pd

    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    arr = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if arr.dtype.kind == "M":
        codes, uniques = pd.factorize(arr.astype("datetime64[us]"), use_na_sentinel=False)
        text = np.datetime_as_string(np.asarray(uniques, dtype="datetime64[us]"), unit="us")
        return ["null" if t == "NaT" else f'"{t}"' for t in text.tolist()], codes
    if arr.dtype.kind == "f":  # factorize the bits, so -0.0 and 0.0 stay apart
        codes, uniques = pd.factorize(arr.astype(np.float64).view(np.int64), use_na_sentinel=False)
        return [_fragment(v) for v in np.asarray(uniques).view(np.float64).tolist()], codes
    if arr.dtype.kind in "biu":
        codes, uniques = pd.factorize(arr, use_na_sentinel=False)
        return [_fragment(v) for v in np.asarray(uniques).tolist()], codes
    kind = pd.api.types.infer_dtype(arr, skipna=True)
    if kind in ("string", "empty"):  # text and NULLs only (the common case): hash-factorize in C
        codes, uniques = pd.factorize(arr, use_na_sentinel=False)
        return [_encode_string(u) if isinstance(u, str) else "null" for u in uniques.tolist()], codes
    # mixed object columns: key on the type too, so True, 1 and 1.0 stay apart
    seen: dict = {}
    fragments: list[str] = []
    codes = np.empty(len(arr), dtype=np.int64)
    for i, v in enumerate(arr.tolist()):
        key = (v.__class__, repr(v) if isinstance(v, float) else v)
        code = seen.get(key)
        if code is None:
            code = seen[key] = len(fragments)
            fragments.append(_fragment(v))
        codes[i] = code
    return fragments, codes


def chain_columns(table: str, columns: dict[str, Any], prev_hash: str) -> list[str]:
    """Hashes for many rows at once; equal to calling :func:`row_hash` row by row.

    ``columns`` maps every column name (except ``prev_hash`` and ``hash``) to an array of
    values, all of one length; timestamp columns are ``datetime64`` arrays.  Returns one hex
    hash per row, chained from ``prev_hash``.
    """
    import numpy as np

    names = sorted(columns)
    template, varying = [], []
    for name in names:
        fragments, codes = _fragments(columns[name])
        # each fragment carries its comma and key; a NULL is left out, as canonical() does
        keyed = ["" if f == "null" else "," + _encode_string(name) + ":" + f for f in fragments]
        if len(keyed) == 1:  # constant column: baked into the template
            template.append(keyed[0].replace("%", "%%"))
        else:
            template.append("%s")
            varying.append(np.asarray(keyed, dtype=object)[codes])
    head = "[" + _encode_string(table) + ",{"
    text = "".join(template) + "}]"
    sha = hashlib.sha256
    hashes = []
    n = len(varying[0]) if varying else len(next(iter(columns.values())))
    rows = zip(*varying, strict=True) if varying else ((),) * n
    for parts in rows:
        body = text % parts
        prev_hash = sha((prev_hash + head + (body[1:] if body[0] == "," else body)).encode()).hexdigest()
        hashes.append(prev_hash)
    return hashes
