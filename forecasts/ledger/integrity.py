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
prints the head, ``SEQ:HASH``; keep it, and pass it back with ``--head``: the chain must pass
through that hash at that ``seq`` (:func:`check_head`), and the rows appended after it are
reported.

Anyone who knows the algorithm can rehash a rewritten chain, and then print a new head of their
own.  A **signed head** (:func:`sign_head`) closes that gap: ``SEQ:HASH:MAC`` where ``MAC`` is
HMAC-SHA256 under a team key kept outside the ledger (a key file).  Without the key no one can
sign a head; a rewritten chain cannot pass through a signed head, and every row after the last
signed head is reported as not covered by a signature.

**Seals.**  Every write records the head it left in the log of writes (``_forecasts_writes``,
outside the chain); a writer who holds the team key (``FORECASTS_KEY_FILE``) stores that head's
MAC with it: a seal.  Once a ledger holds a seal it is *sealed*: every later write must carry
the key, and a write is refused when rows were appended since the last seal
(:func:`check_writable`).  ``verify`` with the key checks every seal and fails when any row lies
after the last one (:func:`check_seals`): a row appended, or a chain rewritten and rehashed, by
anyone without the key fails ``verify``.  What a seal cannot show is the newest writes removed
together with their seals; a signed head kept outside the ledger shows that.  The first sealed
write vouches for every row before it: verify the ledger before a team starts using a key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring as _encode_string
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, float):
        return repr(value)
    return value


#: A row's chain columns, which its canonical text leaves out.
_NOT_HASHED = ("prev_hash", "hash", "tag")


def canonical(table: str, row: dict) -> str:
    """The canonical text of a row: ``prev_hash``, ``hash`` and NULL columns left out.

    Leaving NULLs out lets a later migration add a nullable column without changing the
    canonical text, and so the hash, of any row written before it.
    """
    body = {k: _plain(v) for k, v in row.items() if k not in _NOT_HASHED and v is not None}
    return json.dumps([table, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_sql(table: str, source: str, *, prefix: str = "", carry: Sequence[str] = ()) -> str:
    """:func:`canonical` as DuckDB SQL: a query over ``source`` (a relation with the columns of
    ``table``) giving each row's ``seq``, ``text`` (``prefix``, an SQL expression such as
    ``prev_hash``, then the canonical text, UTF-8 as a BLOB), built by the database in
    parallel without a Python call per row, and ``exact``: true where that text is certainly
    what :func:`canonical` writes.

    Every value is written as :func:`canonical` writes it: keys sorted, NULLs left out, text
    as JSON strings (non-ASCII kept), times ISO 8601 with microseconds, floats in their shortest
    round-trip form (DuckDB's cast of a DOUBLE to text is Python's ``repr``, ``inf`` included;
    a NaN is ``nan`` whatever its sign) as JSON strings.  The one difference is a control character that JSON
    writes as ``\\u00XX`` (Python in lower case, DuckDB in upper): a text holding ``\\u00``
    is not ``exact`` (nor one with a time outside years 1-9999, which Python cannot hold), and
    such rows are for Python to encode.  Where ``exact`` is false the text is still a lossless
    encoding of the row and never another row's canonical text, so a hash that matches it
    proves the row unchanged as well.
    """
    from forecasts.ledger.migrations import COLUMNS, SCHEMA

    kinds = {name: kind for name, kind, _, _ in SCHEMA[table]} | {"recorded_at": "TIMESTAMP"}
    parts = []
    for name in sorted(COLUMNS[table]):  # ``carry``: more columns of ``source`` given as they are
        kind = kinds[name]
        if kind == "VARCHAR":
            value = f"to_json({name})"
        elif kind == "DOUBLE":
            # a NaN is written "nan" whatever its sign bit, as Python's repr writes it
            value = f"CASE WHEN isnan({name}) THEN '\"nan\"' ELSE '\"' || CAST({name} AS VARCHAR) || '\"' END"
        elif kind == "TIMESTAMP":
            value = f"strftime({name}, '\"%Y-%m-%dT%H:%M:%S.%f\"')"
        elif kind == "BOOLEAN":
            value = f"CASE WHEN {name} THEN 'true' WHEN NOT {name} THEN 'false' END"
        else:  # BIGINT
            value = f"CAST({name} AS VARCHAR)"
        parts.append(f"'\"{name}\":' || {value}")  # NULL when the value is: concat_ws leaves it out
    head = f"{prefix}, " if prefix else ""
    text = f"concat({head}'[\"{table}\",{{', concat_ws(',', {', '.join(parts)}), '}}]')"
    times = [c for c in COLUMNS[table] if kinds[c] == "TIMESTAMP"]
    years = "".join(f" AND coalesce(year({c}) BETWEEN 1 AND 9999, true)" for c in times)
    more = "".join(f", {c}" for c in carry)
    return (f"SELECT seq, encode(t) AS text, strpos(t, '\\u00') = 0{years} AS exact{more} "
            f"FROM (SELECT seq, {text} AS t, {', '.join(times)}{more} FROM {source}) canonical")


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
    #: With a head to check: the ``seq`` it sits at, and how many rows were appended after it.
    anchored_at: int | None = None
    appended: int = 0
    #: With a team key: the current head signed, ``SEQ:HASH:MAC``.
    signed_head: str | None = None
    #: Writes sealed with the team key (counted, and checked when the key was given).
    seals: int = 0


#: The shortest team key accepted (bytes of the key file, surrounding whitespace removed).
MIN_KEY_BYTES = 16


def check_key(key: bytes | None) -> bytes | None:
    """A team key as given, or InvalidInput when it is too short to be one."""
    from forecasts.errors import InvalidInput

    if key is not None and len(key) < MIN_KEY_BYTES:
        raise InvalidInput(f"the team key must be at least {MIN_KEY_BYTES} bytes")
    return key


def read_key_file(path: str | os.PathLike[str]) -> bytes:
    """The team key held in a file (surrounding whitespace removed); InvalidInput, in one line,
    when it cannot be read or is too short."""
    from forecasts.errors import InvalidInput

    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        raise InvalidInput(f"cannot read the key file {path}: {exc.strerror or exc}") from None
    check_key(key)
    return key


def check_writable(last: tuple[int, str, str | None] | None, next_seq: int, head: str, key: bytes | None) -> None:
    """Refuse a write that would break the ledger's seals (see the module docstring).

    ``last`` is the newest record of the log of writes ``(seq, hash, mac)``, ``next_seq`` and
    ``head`` the chain's head as the write begins.  On a sealed ledger a write needs the key
    that made the last seal, and no row may have been appended since that seal (sealing now
    would vouch for them).  Nothing is checked on a ledger that was never sealed.
    """
    from forecasts.errors import AccessDenied, IntegrityError

    if last is None:
        return
    seq, h, mac = last
    if mac is None:
        return
    if key is None:
        raise AccessDenied("this ledger is sealed with a team key: every write needs it "
                           "(set FORECASTS_KEY_FILE to the team's key file); nothing was written")
    if not hmac.compare_digest(mac, head_mac(key, seq, h)):
        raise AccessDenied("the team key given does not match this ledger's seals; nothing was written")
    if seq != next_seq - 1 or h != head:
        what = (f"rows seq {seq + 1}..{next_seq - 1} were appended without the team key since the last seal"
                if seq < next_seq - 1 else f"the chain no longer passes through the last seal (seq {seq})")
        raise IntegrityError(f"{what}; nothing was written: check with forecasts verify --key-file")


def check_seals(result: Verification, seals: Sequence[tuple[int, str, str, str | None]],
                key: bytes | None) -> Verification:
    """Check a verified chain (``result``) against its seals ``(seq, hash, mac, chain_hash)``
    (``chain_hash``: the hash of the chain's row at ``seq``, None if there is none).  Without
    the key the seals are only counted.  With it, every seal must carry the key's MAC of its
    head, the chain must pass through each, and no row may lie after the last one."""
    ok = Verification(True, result.rows, result.head, signed_head=result.signed_head, seals=len(seals))
    if not seals or key is None:
        return ok

    def fail(problem: str, seq: int | None) -> Verification:
        return Verification(False, result.rows, result.head, problem, seq=seq, seals=len(seals))

    for seq, h, mac, chain_hash in seals:
        if not hmac.compare_digest(mac, head_mac(key, seq, h)):
            return fail(f"the seal of the write ending at seq {seq} does not match the team key: "
                        "it was forged (or the key is not this team's)", seq)
        if chain_hash != h:
            return fail(f"the chain does not pass through the seal at seq {seq}: "
                        "rows up to it were rewritten and rehashed", seq)
    last = seals[-1][0]
    if last < result.rows:
        return fail(f"rows seq {last + 1}..{result.rows} are not sealed by the team key (the last seal is at "
                    f"seq {last}): they were written outside the tool, or without the key", last + 1)
    return ok


def head_mac(key: bytes, seq: int, head: str) -> str:
    """HMAC-SHA256, as hex, of the head ``head`` at row ``seq`` under the team ``key``."""
    return hmac.new(key, f"forecasts-head:{seq}:{head}".encode(), hashlib.sha256).hexdigest()


def sign_head(key: bytes, seq: int, head: str) -> str:
    """The signed head ``SEQ:HASH:MAC`` (see the module docstring)."""
    return f"{seq}:{head}:{head_mac(key, seq, head)}"


def parse_head(text: str) -> tuple[int | None, str, str | None]:
    """``HASH``, ``SEQ:HASH`` or ``SEQ:HASH:MAC`` as ``(seq, hash, mac)``; raises ValueError."""
    parts = text.strip().split(":")
    hexed = all(len(p) == 64 and all(c in "0123456789abcdef" for c in p) for p in parts[1:] or parts)
    if len(parts) == 1 and hexed:
        return None, parts[0], None
    if 2 <= len(parts) <= 3 and parts[0].isdigit() and hexed:
        return int(parts[0]), parts[1], parts[2] if len(parts) == 3 else None
    raise ValueError(f"head {text!r} is not HASH, SEQ:HASH or SEQ:HASH:MAC (64 hex digits each)")


def check_head(result: Verification, expected: str, found_at: int | None, key: bytes | None) -> Verification:
    """Check a verified chain (``result``) against a head printed by an earlier verify.

    ``found_at`` is the ``seq`` of the row whose hash is the expected head (None if no row has
    it).  The chain must pass through that hash at its ``seq``; a signed head must carry a MAC
    made with ``key``; with a key, an unsigned head is refused.  Returns ``result`` with
    ``anchored_at`` and ``appended`` (rows after the head) filled in, or a failure.
    """
    seq, h, mac = parse_head(expected)

    def fail(problem: str) -> Verification:
        return Verification(False, result.rows, result.head, problem, signed_head=result.signed_head,
                            seals=result.seals)

    if mac is not None or key is not None:
        if key is None:
            raise ValueError("this head is signed: give the team key file to check it")
        if mac is None or seq is None:
            return fail("the head given is not signed, and a team key was given: "
                        "pass a head signed by an earlier verify with the key")
        if not hmac.compare_digest(mac, head_mac(key, seq, h)):
            return fail("the head's signature does not match the team key: the head was forged "
                        "(or the key is not this team's)")
    if found_at is None:
        return fail(f"the expected head {h[:12]}... is not in the ledger: rows were removed or rewritten")
    if seq is not None and found_at != seq:
        return fail(f"the expected head {h[:12]}... sits at seq {found_at}, not at seq {seq}: "
                    "the chain was rewritten")
    return Verification(True, result.rows, result.head, anchored_at=found_at,
                        appended=result.rows - found_at, signed_head=result.signed_head, seals=result.seals)


def verify_rows(rows: Iterable[tuple[str, Sequence[str], tuple]], *, tail: bool = False) -> Verification:
    """Check ``(table, column_names, values)`` tuples given in ``seq`` order.  ``tail``: the
    rows are the newest part of the chain, so the first one's link to the row before it is
    taken as it is (``rows`` counts the rows checked); it must store its ``prev_hash``.

    Each row's hash is computed from the one before it and compared with what the row stores:
    its ``hash`` (and ``prev_hash``) where stored, else its ``tag`` (see :func:`tag_of`: the
    storage may keep the full hashes of some rows only); a row with neither was not written
    by the tool."""
    prev, last_seq, n = GENESIS, 0, 0
    for table, columns, values in rows:
        row = dict(zip(columns, values, strict=True))
        seq = row["seq"]
        stored_prev, stored, tag = row["prev_hash"], row["hash"], row.get("tag")
        where = f"{table} row seq={seq}"
        if tail and n == 0 and last_seq == 0:
            if stored_prev is None:
                return Verification(False, 0, prev, f"{where} keeps no link to the row before it", table, seq)
            prev, last_seq = stored_prev, seq - 1
        if seq == last_seq:
            return Verification(False, n, prev, f"{where} repeats seq {seq}: a row was inserted", table, seq)
        if (stored_prev is not None and stored_prev != prev) or (stored_prev is None and seq != last_seq + 1):
            why = "a row before it was deleted or inserted" if seq != last_seq + 1 else "its link to the previous row was altered"
            gap = f" (seq jumps from {last_seq} to {seq})" if seq != last_seq + 1 else ""
            return Verification(False, n, prev, f"{where} does not follow the previous row{gap}: {why}", table, seq)
        computed = row_hash(prev, table, row)
        if stored is None and tag is None:
            return Verification(False, n, prev, f"{where} stores no hash: it was not written by the tool", table, seq)
        if (stored is not None and computed != stored) or (tag is not None and tag_of(computed) != tag):
            return Verification(False, n, prev, f"{where} does not match its hash: the row was altered", table, seq)
        if seq != last_seq + 1:
            return Verification(False, n, prev, f"{where} follows seq {last_seq}: the sequence has a gap", table, seq)
        prev, last_seq, n = computed, seq, n + 1
    return Verification(True, n, prev)


#: In a bulk append the full ``prev_hash`` and ``hash`` are stored on its first and last row
#: and on every row whose ``seq`` is a multiple of this; every row stores its ``tag``.
MARK_EVERY = 1024


def tag_of(hash_: str) -> int:
    """A row's tag: the first 32 bits of its hash, as a signed 32-bit integer.  Stored on every
    row, it names the first altered row of a stretch whose full hashes are not stored (the
    chain itself is checked against the full hashes at the stretch's ends)."""
    return int(hash_[:8], 16) - 2**31


def hash_tags(hashes: Sequence[str]) -> Any:
    """:func:`tag_of` of many hex hashes at once, as an int64 array."""
    import numpy as np

    heads = np.frombuffer("".join(hashes).encode(), dtype=np.uint8).reshape(-1, 64)[:, :8]  # 8 hex digits each
    return np.frombuffer(bytes.fromhex(heads.tobytes().decode()), dtype=">u4").astype(np.int64) - 2**31


def marks(seqs: Any, first: int, last: int) -> Any:
    """Which rows of a bulk append of ``seq`` numbers ``first..last`` (``seqs``: some of them)
    keep their full hashes: the first, the last and every :data:`MARK_EVERY`-th (see
    :func:`tag_of`)."""
    import numpy as np

    seqs = np.asarray(seqs)
    return (seqs % MARK_EVERY == 0) | (seqs == first) | (seqs == last)


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

    if isinstance(getattr(values, "dtype", None), pd.api.extensions.ExtensionDtype) and values.dtype.kind in "iub":
        values = values.to_numpy(dtype=object, na_value=None)  # nullable ints and booleans: not floats
    elif hasattr(values, "to_numpy"):
        values = values.to_numpy()
    arr = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if arr.dtype.kind == "M":
        codes, uniques = pd.factorize(arr.astype("datetime64[us]"), use_na_sentinel=False)
        text = np.datetime_as_string(np.asarray(uniques, dtype="datetime64[us]"), unit="us")
        return ["null" if t == "NaT" else f'"{t}"' for t in text.tolist()], codes
    if arr.dtype.kind == "f":  # factorize the bits, so -0.0 and 0.0 stay apart
        codes, uniques = pd.factorize(arr.astype(np.float64).view(np.int64), use_na_sentinel=False)
        return [_fragment(v) for v in np.asarray(uniques).view(np.float64).tolist()], codes
    if arr.dtype.kind == "b":
        codes, uniques = pd.factorize(arr, use_na_sentinel=False)
        return [_fragment(v) for v in np.asarray(uniques).tolist()], codes
    if arr.dtype.kind in "iu":  # as _fragment writes them, without a call per value (seq is unique per row)
        codes, uniques = pd.factorize(arr, use_na_sentinel=False)
        return list(map(str, np.asarray(uniques).tolist())), codes
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


def _template(table: str, columns: dict[str, Any]) -> tuple[str, str, list[Any], int]:
    """What every row's canonical text shares, and what varies: ``(head, text, varying, n)``,
    where row ``i``'s canonical text is ``head + text % varying[.][i]`` without a leading comma."""
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
    n = len(varying[0]) if varying else len(next(iter(columns.values())))
    return "[" + _encode_string(table) + ",{", "".join(template) + "}]", varying, n


def canonical_texts(table: str, columns: dict[str, Any]) -> list[str]:
    """:func:`canonical` for many rows at once (equal to it row by row).

    ``columns`` maps every column name (except ``prev_hash`` and ``hash``) to an array of
    values, all of one length; timestamp columns are ``datetime64`` arrays."""
    head, text, varying, n = _template(table, columns)
    rows = zip(*varying, strict=True) if varying else ((),) * n
    out = []
    for parts in rows:
        body = text % parts
        out.append(head + (body[1:] if body[0] == "," else body))
    return out


def chain_hashes(prev_hash: str, texts: Iterable[bytes]) -> list[str]:
    """The chain over rows given by their canonical texts (UTF-8), from ``prev_hash``: each
    row's hash, ``sha256(previous hash + text)`` as hex (one after the other: the chain is
    sequential)."""
    sha = hashlib.sha256
    prev = prev_hash.encode()
    out = []
    for text in texts:
        h = sha(prev + text).hexdigest()
        out.append(h)
        prev = h.encode()
    return out


def chain_columns(table: str, columns: dict[str, Any], prev_hash: str) -> list[str]:
    """Hashes for many rows at once; equal to calling :func:`row_hash` row by row.

    ``columns`` maps every column name (except ``prev_hash`` and ``hash``) to an array of
    values, all of one length; timestamp columns are ``datetime64`` arrays.  Returns one hex
    hash per row, chained from ``prev_hash``.
    """
    return chain_hashes(prev_hash, [text.encode() for text in canonical_texts(table, columns)])


@dataclass(frozen=True)
class ChainBatch:
    """Consecutive stored rows of one table, in ``seq`` order, as a backend reads them to
    check the chain: ``seqs`` (int64), ``texts`` (each row's canonical text, UTF-8), and what
    the rows store of the chain: ``kept``, the positions of the rows that store their full
    hashes, with those ``prevs`` and ``hashes`` (None where one is NULL), and ``tags`` (int64,
    one per row) with ``tagged``, where a row stores one (None: no row does)."""

    table: str
    seqs: Any
    texts: list[bytes]
    kept: Any
    prevs: list[str | None]
    hashes: list[str | None]
    tags: Any = None
    tagged: Any = None


def check_batches(batches: Iterable[ChainBatch], *,
                  keep: Callable[[str, Any, list[str], list[str]], None] | None = None) -> tuple[int, str] | None:
    """The chain check of :func:`verify_rows` over each table's rows in batches (tables in any
    order) instead of one walk over every table in ``seq`` order: each stretch of consecutive
    ``seq`` numbers in a table is hashed from the ``prev_hash`` its first row stores, and every
    stored ``hash``, ``prev_hash`` and ``tag`` is compared with the computed chain; the links
    between stretches (across tables) and the numbering 1..n without gap or repeat are checked
    apart.  ``keep(table, seqs, prevs, hashes)``, if given, receives every batch's computed
    chain (each row's ``prev_hash`` and ``hash``).

    Returns ``(rows, head)``, or None when anything does not match (walk the chain with
    :func:`verify_rows` to name the row)."""
    import numpy as np

    numbered: list[Any] = []
    ends: dict[int, str] = {}  # the last row of each stretch: seq -> its computed hash
    starts: dict[int, str] = {}  # the first row of each stretch: seq -> the prev_hash it stores
    carry: tuple[str, int, str] | None = None  # the previous batch's table, last seq and hash
    head_seq, head = 0, GENESIS
    for b in batches:
        seqs = np.asarray(b.seqs, dtype=np.int64)
        n = len(seqs)
        if not n:
            continue
        numbered.append(seqs)
        step = np.diff(seqs)
        if (step <= 0).any():
            return None
        stored = dict(zip(np.asarray(b.kept).tolist(), zip(b.prevs, b.hashes, strict=True), strict=True))
        has = np.zeros(n, dtype=bool)
        has[[i for i, (_, h) in stored.items() if h is not None]] = True
        if b.tagged is not None:
            has |= np.asarray(b.tagged, dtype=bool)
        if not has.all():
            return None  # a row that stores neither its hash nor its tag was not written by the tool
        cuts = [0, *(np.flatnonzero(step != 1) + 1).tolist(), n]
        computed: list[str] = []
        for a, z in zip(cuts[:-1], cuts[1:], strict=True):
            first, stored_prev = int(seqs[a]), stored.get(a, (None, None))[0]
            if carry is not None and carry[0] == b.table and carry[1] == first - 1:
                prev = carry[2]
                del ends[first - 1]
            elif stored_prev is None:
                return None
            else:
                prev = starts[first] = stored_prev
            computed += chain_hashes(prev, b.texts[a:z])
            ends[int(seqs[z - 1])] = computed[-1]
        before = [carry[2] if carry is not None and carry[0] == b.table and carry[1] == seqs[0] - 1 else
                  stored.get(0, (None, None))[0] or "", *computed[:-1]]
        for a in cuts[1:-1]:  # a stretch that starts in this batch links to its own stored prev
            before[a] = stored[a][0] or ""
        for i, (p, h) in stored.items():
            if (p is not None and p != before[i]) or (h is not None and h != computed[i]):
                return None
        if b.tagged is not None:
            tagged = np.asarray(b.tagged, dtype=bool)
            if tagged.any() and not np.array_equal(hash_tags(computed)[tagged], np.asarray(b.tags, dtype=np.int64)[tagged]):
                return None
        if keep is not None:
            keep(b.table, seqs, before, computed)
        carry = (b.table, int(seqs[-1]), computed[-1])
        if seqs[-1] > head_seq:
            head_seq, head = int(seqs[-1]), computed[-1]
    every = np.sort(np.concatenate(numbered)) if numbered else np.empty(0, np.int64)
    if not np.array_equal(every, np.arange(1, 1 + len(every))):
        return None
    if len(every) and starts.pop(1, GENESIS) != GENESIS:  # the first row links to the genesis
        return None
    if any(prev != ends.get(seq - 1) for seq, prev in starts.items()):
        return None
    return len(every), head
