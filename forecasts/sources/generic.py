"""Importing a track record from any table, and the machinery every importer shares.

Every importer in :mod:`forecasts.sources` turns its source into the same canonical pieces --
question dicts, one forecast frame, resolution dicts -- and hands them to
:func:`load_track_record`, which

1. **validates every row first, in memory** (questions with the ledger's rules; forecasts
   vectorised against the incoming *and* the existing questions; resolutions against their
   question), collecting ``(line, reason)`` pairs with the line numbers of the source file;
2. refuses the whole import with :class:`~forecasts.errors.ImportRejected` if any row is
   malformed (or, with ``skip_malformed=True``, leaves those rows out and lists them);
3. skips what the ledger already holds -- questions by id with the same ``(source, source_id)``,
   resolutions with the same question, outcome and date, forecasts by ``(source, source_id)``
   (through :meth:`~forecasts.ledger.Ledger.import_forecast_frame`) -- so importing the same file
   twice adds nothing;
4. writes questions, resolutions and forecasts in **one transaction**
   (:meth:`~forecasts.ledger.Ledger.import_history` with its ``forecast_frame``, the vectorised
   path), so an import is all or nothing, whatever stops it.

The generic importer itself, :func:`import_csv`, reads a CSV or Parquet table of forecasts with
a column mapping; rows may also carry the question's title, dates and resolution.

Conventions: the library never prints; ``progress`` is an optional ``callable(done, total)``;
world times are kept as the source gives them (converted to naive UTC); every row is marked
with the import's ``source`` (``import:<platform>``) and keeps its original id in ``source_id``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecasts import domain
from forecasts.errors import ImportRejected, InvalidInput
from forecasts.ledger import rules
from forecasts.paths import source_file

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

Progress = Callable[[int, int], None] | None

CANONICAL = ("question", "forecaster", "made_at", "probability", "title", "opens", "closes",
             "outcome", "resolved_at", "source_id", "rationale", "criteria", "tags")


@dataclass
class ImportSummary:
    """What an import did (or, with ``dry_run``, would do).

    ``added`` and ``skipped`` count rows per ledger table (``skipped``: already in the ledger);
    ``filtered`` counts source rows left out on purpose, by reason (e.g. points stamped after
    the question closed); ``malformed`` lists ``(line, reason)`` of rows refused (only non-empty
    in a summary when ``skip_malformed`` let the import go ahead without them).
    """

    source: str
    path: str = ""
    rows_read: int = 0
    added: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    filtered: dict[str, int] = field(default_factory=dict)
    malformed: list[tuple[int, str]] = field(default_factory=list)
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    def total_added(self) -> int:
        return sum(self.added.values())

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "path": self.path, "rows_read": self.rows_read,
                "added": dict(self.added), "skipped": dict(self.skipped),
                "filtered": dict(self.filtered), "malformed": [list(m) for m in self.malformed],
                "dry_run": self.dry_run, "notes": list(self.notes)}


# ---------------------------------------------------------------------- names and ids
_SLUG_BAD = re.compile(r"[^a-z0-9._-]+")
_NAME_BAD = re.compile(r"[^A-Za-z0-9._:@+-]+")


def slug(text: object, *, limit: int = 100) -> str:
    """A question-id-safe slug of ``text``: ``"GJP 1001-0"`` -> ``"gjp-1001-0"``."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    s = _SLUG_BAD.sub("-", ascii_text.lower()).strip("-._")
    return (s or "x")[:limit]


def forecaster_name(prefix: str, raw: object) -> str:
    """A ledger forecaster name for a platform user: ``("pb", "Robin Z.")`` -> ``"pb:Robin_Z."``.

    Accents are dropped and characters a forecaster name cannot hold become ``_``; the
    original name stays traceable through the rows' ``source_id``.
    """
    ascii_text = unicodedata.normalize("NFKD", str(raw).strip()).encode("ascii", "ignore").decode()
    body = _NAME_BAD.sub("_", ascii_text).strip("_") or "anonymous"
    return f"{prefix}:{body}"[:100]


def clean(v: Any) -> Any:
    """``None`` for missing values (None, NaN, NA, NaT, blank text); other values unchanged."""
    if v is None:
        return None
    if isinstance(v, str):
        return v if v.strip() else None
    if isinstance(v, list | tuple | dict):
        return v
    try:
        import pandas as pd

        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v


def to_utc(values: Any) -> Any:
    """A pandas Series of times (text, naive UTC, aware) as naive UTC ``datetime64[us]``; NaT
    where a value cannot be read."""
    import pandas as pd

    s = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return s.dt.tz_convert(None).astype("datetime64[us]")


# ---------------------------------------------------------------------- reading files
def read_json(path: str | Path) -> Any:
    """A JSON file an importer reads (see :func:`source_file`)."""
    import json

    p = source_file(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read {p.name} as JSON: {exc}") from None


def read_table(path: str | Path, *, sep: str | None = None, header: bool = True,
               names: Sequence[str] | None = None, na_values: Sequence[str] = ("",)) -> Any:
    """Read a CSV/TSV (every column as text) or Parquet file into a frame with a ``_line``
    column: the line of the record in a text file (header = line 1, embedded newlines
    counted), the 1-based row number plus one in a Parquet file (as if it had a header).

    ``na_values``: the texts that stand for a missing value (only the blank cell by default;
    a source that writes ``NA`` or ``NULL`` for missing says so).  A file whose header has
    one column only while ``sep`` is not in it, but ``;`` or a tab is, is refused naming the
    separator found (a spreadsheet's semicolon CSV read as commas)."""
    import pandas as pd

    p = source_file(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq

            _check_width(p, len(pq.read_schema(p).names))
            df = pd.read_parquet(p)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise InvalidInput(f"cannot read {p.name} as Parquet: {str(exc).splitlines()[0]}") from None
        df["_line"] = range(2, len(df) + 2)
        return df
    if sep is None:
        sep = "\t" if p.suffix.lower() in (".tsv", ".txt") else ","
    _check_first_line(p, sep)
    df = _read_arrow(p, sep, na_values) if header and names is None and len(sep) == 1 else None
    try:
        if df is None:
            df = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False, na_values=list(na_values),
                             header=0 if header else None, names=None if names is None else list(names), quoting=0,
                             engine="python" if len(sep) > 1 else "c")  # pandas' C parser takes one character
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        found = _other_separator(p, sep)
        hint = f"; its first line looks separated by {found!r} (give the separator)" if found else ""
        raise InvalidInput(f"cannot read {p.name} with separator {sep!r}: {str(exc).splitlines()[0]}{hint}") from None
    if header and len(df.columns) == 1:
        found = _other_separator(p, sep)
        if found:
            raise InvalidInput(f"{p.name} read with separator {sep!r} has one column only; its first line "
                               f"looks separated by {found!r} (give the separator)")
    df["_line"] = _record_lines(p, len(df), sep, header)
    return df


#: The most columns a table to import may have: every format read here has a few dozen at most;
#: a file far wider is refused before it is parsed (a 100,000-column CSV would take a minute
#: and most of a gigabyte to read).
MAX_COLUMNS = 1_000
#: The longest first line read to count the columns.
_FIRST_LINE_LIMIT = 1 << 20


def _check_width(p: Path, n_columns: int, *, at_least: bool = False) -> None:
    if n_columns > MAX_COLUMNS:
        many = f"at least {n_columns:,} columns in its first megabyte" if at_least else f"{n_columns:,} columns"
        raise InvalidInput(f"{p.name} has {many}, more than the {MAX_COLUMNS:,} a table to import may have: "
                           "it is not a forecast table")


def _read_arrow(p: Path, sep: str, na_values: Sequence[str]) -> Any:
    """A text table read by pyarrow's parallel CSV reader into the frame pandas would read
    (every column text, ``na_values`` missing, quotes and embedded newlines as pandas reads
    them; about a third of the time at a million rows), or None where pyarrow will not read it
    as pandas does (a row with too few or too many fields, repeated or blank column names,
    text that is not UTF-8): then pandas reads it, and says what is wrong."""
    import csv

    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        with p.open("rb") as fh:
            if fh.read(3) == b"\xef\xbb\xbf":  # a byte-order mark: pandas takes it off the first name
                return None
        names = next(csv.reader([_first_line(p, _FIRST_LINE_LIMIT)], delimiter=sep), [])
        if not names or len(set(names)) != len(names) or not all(names):
            return None
        table = pacsv.read_csv(p, parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
                               convert_options=pacsv.ConvertOptions(
                                   column_types={n: pa.string() for n in names}, null_values=list(na_values),
                                   strings_can_be_null=True, quoted_strings_can_be_null=True))
        if table.column_names != names:
            return None
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError):
        return None
    return table.to_pandas()


def _first_line(p: Path, limit: int = -1) -> str:
    """The first line of a text file (at most ``limit`` characters; all of it by default)."""
    with p.open(newline="", encoding="utf-8", errors="replace") as fh:
        return fh.readline(limit)


def _fields(line: str, sep: str) -> int:
    """How many fields ``sep`` splits ``line`` into (quotes honoured for a one-character
    separator; a longer one, which the csv module cannot take, is counted as text)."""
    import csv

    if len(sep) != 1:
        return line.count(sep) + 1 if sep else 1
    return len(next(csv.reader([line], delimiter=sep), []))


def _check_first_line(p: Path, sep: str) -> None:
    """Refuse a text table whose first line has more than :data:`MAX_COLUMNS` fields, reading at
    most a megabyte of it (a longer line is counted in that megabyte)."""
    try:
        first = _first_line(p, _FIRST_LINE_LIMIT)
    except OSError as exc:
        raise InvalidInput(f"cannot read {p.name}: {exc.strerror or exc}") from None
    cut = len(first) >= _FIRST_LINE_LIMIT and not first.endswith("\n")
    _check_width(p, _fields(first, sep), at_least=cut)


def _other_separator(p: Path, sep: str) -> str | None:
    """The separator that splits the first line of ``p`` into more fields than ``sep`` does."""
    try:
        first = _first_line(p)
    except OSError:
        return None
    width = {c: _fields(first, c) for c in (",", ";", "\t", "|") if c != sep}
    mine = _fields(first, sep) if len(sep) == 1 else 1
    best = max(width, key=lambda c: width[c], default=None)
    return best if best is not None and width[best] > max(mine, 1) else None


def _record_lines(p: Path, n: int, sep: str, header: bool) -> Any:
    """The starting line of each record, counting newlines inside quoted fields (an int64 array)."""
    import csv

    import numpy as np

    raw = p.read_bytes()
    first = 2 if header else 1
    if raw.count(b"\n") - (0 if raw.endswith(b"\n") else -1) == n + (1 if header else 0) and b'"' not in raw:
        return np.arange(first, first + n, dtype=np.int64)
    lines = []
    with p.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=sep)
        start = 1
        for i, _row in enumerate(reader):
            if i >= (1 if header else 0) and any(_row):
                lines.append(start)
            start = reader.line_num + 1
    if len(lines) != n:  # a reader disagreement: fall back to arithmetic numbering
        return np.arange(first, first + n, dtype=np.int64)
    return np.asarray(lines, dtype=np.int64)


# ---------------------------------------------------------------------- validation
def _existing_questions(ledger: Ledger) -> dict[str, dict]:
    return {q["id"]: q for q in ledger.records("questions")}


def _as_text_time(v: object) -> object:
    """Datetimes pass through; pandas Timestamps become datetimes (naive UTC)."""
    if hasattr(v, "to_pydatetime"):
        t = v.tz_convert("UTC").tz_localize(None) if getattr(v, "tzinfo", None) else v  # type: ignore[union-attr]
        return t.to_pydatetime()  # type: ignore[union-attr]
    return v


_QUESTION_KEYS = ("qid", "title", "closes", "opens", "criteria", "kind", "options", "ordered", "tags",
                  "base_rate", "reference_class", "by", "source_id")


def _history_question(q: dict) -> dict:
    """An importer's question dict in the form of :meth:`~forecasts.ledger.Ledger.import_history`."""
    out = {k: _as_text_time(clean(q[k])) if k in ("opens", "closes") else clean(q[k])
           for k in _QUESTION_KEYS if k in q and clean(q[k]) is not None}
    if "title" in out:
        out["title"] = str(out["title"]).strip()[:500]
    return out


def _checked_question(q: dict, source: str) -> dict:
    """The ledger row of an importer's question, by the ledger's rules (the first breach raised).

    An importer must say when its questions open and close: the live default (opens now) does
    not apply to history."""
    if clean(q.get("opens")) is None:
        raise InvalidInput("the question has no opening date")
    if clean(q.get("closes")) is None:
        raise InvalidInput("the question has no close date")
    h = _history_question(q)
    if "title" not in h:
        raise InvalidInput("the question has no title")
    return rules.question_row(h.pop("qid", q.get("qid")), **h, source=source)


def _resolution_times(ledger: Ledger, resolutions: Sequence[dict]) -> dict[str, Any]:
    """When each question was resolved: the import's own resolution, else the ledger's latest.
    Unreadable dates are left to the resolution check."""
    import pandas as pd

    out: dict[str, Any] = {}
    held = ledger.resolutions()
    if len(held):
        out.update({str(q): pd.Timestamp(t) for q, t in zip(held["question"], held["resolved_at"], strict=True)})
    for r in resolutions:
        try:
            out[r["question"]] = pd.Timestamp(domain.parse_time(_as_text_time(r["on"]), "resolution date"))
        except (InvalidInput, TypeError, ValueError):
            continue
    return out


def load_track_record(ledger: Ledger, *, source: str, questions: Sequence[dict] = (), forecasts: Any = None,
                      resolutions: Sequence[dict] = (), dry_run: bool = False, progress: Progress = None,
                      skip_malformed: bool = False, allow_certainty: bool = False,
                      summary: ImportSummary | None = None, question_file: str | None = None,
                      drop_after_resolution: bool = False) -> ImportSummary:
    """Validate, de-duplicate and write a canonical track record (see the module docstring).

    ``questions``: dicts with the keys of :meth:`~forecasts.ledger.Ledger.import_history` plus
    ``line`` (source line).  ``forecasts``: a frame with ``question``, ``forecaster``,
    ``made_at`` (naive UTC), ``probability`` or ``probabilities``, ``source_id``, ``line``, and
    optionally ``rationale``.  ``resolutions``: dicts ``question``, ``outcome``, ``on``, ``by``,
    ``note``, ``line``.  When questions and resolutions come from another file than the
    forecasts, ``question_file`` names it and prefixes their problems, so that each line
    number points into the right file.  Every row is checked once, by
    :mod:`forecasts.ledger.rules`.

    A forecast dated after its question's resolution (the import's own, else the ledger's) is
    refused (:func:`forecasts.ledger.rules.check_before_resolution`).  An importer whose source
    is known to stamp points after the resolution (a platform's crowd series, as it does after
    the close) may pass ``drop_after_resolution=True``: such rows are then left out and
    counted in ``summary.filtered["after_resolution"]`` instead.
    """
    import pandas as pd

    summary = summary or ImportSummary(source=source)
    summary.dry_run = dry_run
    if forecasts is None:
        forecasts = pd.DataFrame(columns=["question", "forecaster", "made_at", "probability", "source_id", "line"])
    n_f = len(forecasts)
    total = max(len(questions) + n_f + len(resolutions), 1)
    tick = progress or (lambda done, total: None)
    tick(0, total)
    src = rules.check_source(source, live=False)

    # -- questions
    qproblems: list[tuple[int, str]] = []
    existing = _existing_questions(ledger)
    info: dict[str, dict] = {}
    bad_q: dict[str, int] = {}
    new_questions, skipped_q = [], 0
    seen: dict[str, int] = {}
    for q in questions:
        line = int(q.get("line", 0))
        try:
            checked = _checked_question(q, src)
            qid = checked["id"]
            rules.check_new_question(qid, in_ledger=False, twice=qid in seen, first_line=seen.get(qid))
        except InvalidInput as exc:
            qproblems.append((line, exc.message))
            if isinstance(q.get("qid"), str) and q["qid"] not in seen:
                bad_q[q["qid"]] = line
            continue
        seen[qid] = line
        old = existing.get(qid)
        if old is not None:
            if old["source"] == src and (old["source_id"] or None) == (checked["source_id"] and str(checked["source_id"])):
                skipped_q += 1
                continue
            qproblems.append((line, f"question id {qid!r} already exists in the ledger from {old['source']}"))
            bad_q[qid] = line
            continue
        info[qid] = {**checked, "options": rules.json_list(checked["options"])}
        new_questions.append(checked)
    for qid, old in existing.items():
        if qid not in info:
            info[qid] = {"id": qid, "kind": old["kind"], "options": old["options"],
                         "opens_at": old["opens_at"], "closes_at": old["closes_at"]}
    tick(len(questions), total)

    # -- forecasts, vectorised, by the ledger's rules
    where = f"{question_file} " if question_file else ""
    index = pd.DataFrame([{k: v[k] for k in ("id", "kind", "options", "opens_at", "closes_at")} for v in info.values()],
                         columns=["id", "kind", "options", "opens_at", "closes_at"]).set_index("id")
    f = forecasts.reset_index(drop=True)
    resolved = _resolution_times(ledger, resolutions) if n_f else {}
    if drop_after_resolution and resolved and n_f:
        made = to_utc(f["made_at"])
        limit = f["question"].map(pd.Series(resolved, dtype="datetime64[us]")).astype("datetime64[us]")
        late = (made > limit).to_numpy()
        if late.any():
            summary.filtered["after_resolution"] = summary.filtered.get("after_resolution", 0) + int(late.sum())
            f = f[~late].reset_index(drop=True)
    checked_f = rules.check_forecast_frame(
        f.drop(columns=["line"]), index, source=src, lines=f["line"].astype(int).tolist(),
        allow_certainty=allow_certainty, skip_malformed=True,
        resolved_at=resolved or None,
        bad_questions={qid: f"its question {qid!r} ({where}line {ln}) is malformed" for qid, ln in bad_q.items()})
    problems = list(checked_f.problems)
    tick(len(questions) + n_f, total)

    # -- resolutions
    old_res = ledger.resolutions(latest=False)
    have = {(r.question, r.outcome, pd.Timestamp(r.resolved_at)) for r in old_res.itertuples()
            if r.source == src} if len(old_res) else set()
    new_res, skipped_r = [], 0
    clock = domain.now()
    for r in resolutions:
        line = int(r.get("line", 0))
        q = r["question"]
        if q in bad_q:
            qproblems.append((line, f"its question {q!r} (line {bad_q[q]}) is malformed"))
            continue
        if q not in info:
            qproblems.append((line, f"unknown question {q!r}"))
            continue
        try:
            at = domain.parse_time(_as_text_time(r["on"]), "resolution date")
            outcome = rules.check_resolution(info[q], r["outcome"], at, now=clock)
        except InvalidInput as exc:
            qproblems.append((line, exc.message))
            continue
        if (q, outcome, pd.Timestamp(at)) in have:
            skipped_r += 1
            continue
        new_res.append({k: v for k, v in {"question": q, "outcome": outcome, "on": at, "by": r.get("by"),
                                          "note": clean(r.get("note"))}.items() if v is not None})

    label = f"{question_file}: " if question_file else ""
    problems = _root_causes_first([(ln, label + why) for ln, why in qproblems], problems, bad_q,
                                  same_file=question_file is None)
    if problems:
        if not skip_malformed:
            raise ImportRejected.listing(problems, checked_f.malformed - len(checked_f.problems) + len(problems))
        summary.malformed = problems

    summary.added = {"questions": 0, "resolutions": 0, "forecasts": 0}
    summary.skipped = {"questions": skipped_q, "resolutions": skipped_r, "forecasts": 0}
    if dry_run:
        good = checked_f.frame
        have_ids = ledger.existing_source_ids("forecasts", src) if len(good) else set()
        present = int(good["source_id"].astype(object).isin(have_ids).sum()) if have_ids else 0
        summary.added = {"questions": len(new_questions), "resolutions": len(new_res),
                         "forecasts": len(good) - present}
        summary.skipped["forecasts"] = present
        tick(total, total)
        return summary

    # one transaction for questions, resolutions and forecasts: all or nothing
    r = ledger.import_history(questions=rules.CheckedRows("questions", tuple(new_questions), src),
                              resolutions=new_res, source=src,
                              forecast_frame=checked_f if len(checked_f.frame) else None,
                              allow_certainty=allow_certainty)
    summary.added["questions"] = r["questions"]
    summary.added["resolutions"] = r["resolutions"]
    summary.added["forecasts"] = r["forecasts"]
    summary.skipped["forecasts"] = r["forecasts_skipped_existing"]
    tick(total, total)
    return summary


def _root_causes_first(qproblems: list[tuple[int, str]], fproblems: list[tuple[int, str]],
                       bad_q: dict[str, int], *, same_file: bool) -> list[tuple[int, str]]:
    """One list of ``(line, reason)``, sorted by line, each line's root cause first.

    A malformed question makes its forecasts and resolution malformed too.  On the question's
    own line (when questions and forecasts come from one file) that consequence only repeats
    the cause and is dropped, so a bad cell gives one message, the real one; on other lines it
    stays, after any problem of that line's own."""
    def consequence(why: str) -> str | None:  # the question a "its question ... is malformed" names
        body = why.split(": ", 1)[1] if why.split(": ", 1)[0].endswith((".csv", ".json", ".parquet", ".tsv")) else why
        if not (body.startswith("its question ") and body.endswith(" is malformed")):
            return None
        return body[len("its question "):].split(" (", 1)[0].strip("'\"")

    rows = []
    for ln, why in [*qproblems, *fproblems]:
        q = consequence(why)
        if q is not None and same_file and bad_q.get(q) == ln:
            continue
        rows.append((ln, 0 if q is None else 1, why))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(ln, why) for ln, _, why in rows]


# ---------------------------------------------------------------------- the generic importer
#: Day/month dates as spreadsheets write them: ``05/01/2021``, ``5.1.21``, ``05-01-2021 14:30``.
_DM_DATE = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?=$|[ T])(.*)$")
#: What every such date starts with, as a pattern for pyarrow's vectorised match (RE2): a
#: superset of ``_DM_DATE``'s start, whose ``\s`` and ``\d`` are Python's (any Unicode space
#: and decimal digit; RE2's ``\s`` and ``\d`` are ASCII), so that no date it reads is missed.
_DM_START = r"^[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]*\p{N}{1,2}[/.-]"
DATE_COLUMNS = ("made_at", "opens", "closes", "resolved_at")


def _matches(values: Any, pattern: str) -> Any:
    """Which of ``values`` (a column of text, missing values and perhaps other objects) are
    texts that ``pattern`` (RE2) matches, as a bool array: pyarrow's match, ten times faster
    here than pandas' (which runs Python's ``re`` on each row for this pattern)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: the rest is no match
        text = pa.array([v if isinstance(v, str) else None for v in values], type=pa.string())
    found = pc.call_function("match_substring_regex", [text], pc.MatchSubstringOptions(pattern))
    return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def day_month_dates(values: Any, *, column: str, lines: Sequence[int], order: str | None) -> Any:
    """``values`` with day/month dates (``05/01/2021``, ``5.1.21``) rewritten as ISO text.

    ``order`` is ``"dayfirst"``, ``"monthfirst"`` or ``None``.  Without an order, a date whose
    day and month could be swapped (both 12 or less and different, ``05/01/2021``) is refused
    naming its line; one that can be read only one way (``25/01/2021``) is read that way.
    Two-digit years are 2000-2068 for 00-68 and 1969-1999 for 69-99 (the POSIX rule).  ISO
    dates and other texts pass unchanged; a date impossible in the given order (``13/25/2021``)
    is left as it is, so that the validation refuses it as not a date."""
    import numpy as np
    import pandas as pd

    if order not in (None, "dayfirst", "monthfirst"):
        raise InvalidInput(f"date order {order!r} must be dayfirst or monthfirst")
    if not len(values):
        return values
    # only a text starting with a one- or two-digit number and a separator can be one (ISO
    # dates start with four digits): found by one vectorised match, the rest passes unchanged
    maybe = _matches(values, _DM_START)
    if not maybe.any():
        return values
    text = values.to_numpy(dtype=object)
    out = text.copy()
    for i in np.flatnonzero(maybe).tolist():
        v, line = text[i], lines[i]
        m = _DM_DATE.match(v) if isinstance(v, str) else None
        if m is None:
            continue
        a, b, year, rest = int(m.group(1)), int(m.group(3)), m.group(4), m.group(5)
        if order is None:
            if a <= 12 and b <= 12 and a != b:
                raise InvalidInput(
                    f"{column} {v.strip()!r} on line {line} could be day/month or month/day: "
                    "say which with --dayfirst or --monthfirst")
            day, month = (a, b) if a > 12 else (b, a)
        else:
            day, month = (a, b) if order == "dayfirst" else (b, a)
        y = int(year) if len(year) == 4 else (2000 + int(year) if int(year) < 69 else 1900 + int(year))
        out[i] = f"{y:04d}-{month:02d}-{day:02d}{rest}" if 1 <= month <= 12 and 1 <= day <= 31 else v
    return pd.Series(out, index=values.index, dtype=object)


def import_csv(ledger: Ledger, path: str | Path, *, mapping: dict[str, str] | None = None, name: str = "csv",
               prefix: str | None = None, dry_run: bool = False, progress: Progress = None,
               skip_malformed: bool = False, allow_certainty: bool = False, sep: str | None = None,
               decimal: str = ".", date_order: str | None = None,
               forecasters: dict[str, str] | None = None) -> ImportSummary:
    """Import forecasts from any CSV or Parquet table, mapping its columns onto the ledger's.

    Canonical columns (``mapping`` maps a canonical name to the file's column name; unmapped
    names are looked up as they are): ``question``, ``forecaster``, ``made_at``, ``probability``
    (``0.65``, ``65%`` or odds ``13:7``), and optionally ``source_id`` (default: the line
    number), ``rationale``; for questions not yet in the ledger ``title``, ``opens``, ``closes``
    (and ``criteria``, ``tags``: one cell, tags separated by commas) taken from the first row
    of each question; for resolutions ``outcome`` and ``resolved_at``.  A column the file has
    that is none of these (and not mapped) is refused, naming it.  ``question`` values are
    made into slugs prefixed with ``prefix`` if given.  Rows are marked ``import:<name>``.

    Forecasters are namespaced by the import: ``alice`` in the file becomes ``<name>:alice``
    (a person, kept apart from a live analyst ``alice``; a name that is not a valid forecaster
    name is refused, not rewritten), unless ``forecasters`` maps the
    file's name to a ledger name explicitly (``{"alice": "alice"}`` files the history under
    the live analyst; the rows still carry ``source = import:<name>``).

    ``sep``: the field separator (default: ``,``, tab for ``.tsv``/``.txt``); a file that
    looks separated otherwise is refused naming what was found.  ``decimal``: ``"."`` or
    ``","`` (then ``0,35`` is 0.35); a decimal comma without ``decimal=","`` is refused naming
    the cell.  ``date_order``: ``"dayfirst"`` or ``"monthfirst"`` for day/month dates, see
    :func:`day_month_dates` (without it ambiguous ones are refused).
    """

    if decimal not in (".", ","):
        raise InvalidInput(f"decimal separator {decimal!r} must be '.' or ','")
    if sep is not None and decimal == "," and sep == ",":
        raise InvalidInput("a decimal comma needs another field separator than ',' (give --sep ';')")
    source = f"import:{slug(name)}"
    present = _all_present(ledger, path, mapping=mapping, source=source, prefix=prefix, sep=sep, decimal=decimal,
                           forecasters=forecasters)
    if present is not None:
        present.dry_run = dry_run
        return present
    import pandas as pd

    table = read_table(path, sep=sep)
    col = _file_columns(Path(path).name, list(table.columns), mapping)
    summary = ImportSummary(source=source, path=str(path), rows_read=len(table))
    lines = table["_line"].to_numpy()
    for k in DATE_COLUMNS:
        if col[k] in table.columns:
            table[col[k]] = day_month_dates(table[col[k]], column=k, lines=lines, order=date_order)

    qids = _map_distinct(_column(table, col["question"]),
                         lambda v: None if clean(v) is None else (f"{prefix}-" if prefix else "") + slug(v))
    raw_p = _column(table, col["probability"])
    if decimal == ",":
        raw_p = _map_distinct(raw_p, lambda v: v.replace(",", ".", 1) if isinstance(v, str) and _DECIMAL_COMMA.match(v)
                              else v)
    else:
        commas = _map_distinct(raw_p, lambda v: isinstance(v, str) and bool(_DECIMAL_COMMA.match(v))).astype(bool)
        if commas.any():
            i = int(commas.argmax())
            raise InvalidInput(f"probability {str(raw_p.iloc[i]).strip()!r} on line {lines[i]} has a decimal comma: "
                               "give --decimal , (and --sep ';' if fields are separated by semicolons)")
    probs = _map_distinct(raw_p, _probability_or_nan).astype(float)
    sid = _column(table, col["source_id"])
    if sid.isna().any():  # a row without its own id is known by its line
        sid = sid.astype(object).where(sid.notna(), "line-" + table["_line"].astype(str))
    given = dict(forecasters or {})
    who = _map_distinct(_column(table, col["forecaster"]),
                        lambda v: None if clean(v) is None else given.get(str(v).strip(), f"{slug(name)}:{str(v).strip()}"))
    frame = pd.DataFrame({"question": qids, "forecaster": who,
                          "made_at": _column(table, col["made_at"]), "probability": probs,
                          "rationale": _column(table, col["rationale"]), "source_id": sid.astype(str),
                          "line": table["_line"]})
    if given:
        summary.notes.append("forecasters mapped explicitly: " + ", ".join(f"{a} -> {b}" for a, b in given.items()))
    # a question's fields, and its resolution, come from its first row that names it (and an outcome)
    named = pd.Series(qids).notna().to_numpy()
    questions, resolutions = [], []
    if col["title"] in table.columns:
        first = table.loc[named & ~pd.Series(qids).duplicated().to_numpy(),
                          [c for c in dict.fromkeys((col["question"], col["title"], col["opens"], col["closes"],
                                                     col["criteria"], col["tags"], "_line")) if c in table.columns]]
        for d, qid in zip(first.to_dict("records"), qids[first.index], strict=True):
            questions.append({"qid": qid, "title": clean(d.get(col["title"])),
                              "opens": clean(d.get(col["opens"])), "closes": clean(d.get(col["closes"])),
                              "criteria": clean(d.get(col["criteria"])), "tags": clean(d.get(col["tags"])),
                              "by": source, "source_id": str(d[col["question"]]).strip(), "line": d["_line"]})
    if col["outcome"] in table.columns:
        told = named & table[col["outcome"]].notna().to_numpy()
        told_q = pd.Series(qids[told], index=table.index[told])
        res = table.loc[told_q.index[~told_q.duplicated().to_numpy()],
                        [c for c in dict.fromkeys((col["outcome"], col["resolved_at"], col["closes"], "_line"))
                         if c in table.columns]]
        for d, qid in zip(res.to_dict("records"), qids[res.index], strict=True):
            resolutions.append({"question": qid, "outcome": str(d[col["outcome"]]).strip().lower(),
                                "on": clean(d.get(col["resolved_at"])) or clean(d.get(col["closes"])),
                                "by": source, "line": d["_line"]})
    del table  # the columns the frame does not hold go before the checks
    return load_track_record(ledger, source=source, questions=questions, forecasts=frame,
                             resolutions=resolutions, dry_run=dry_run, progress=progress,
                             skip_malformed=skip_malformed, allow_certainty=allow_certainty,
                             summary=summary)


def _file_columns(file_name: str, columns: Sequence[str], mapping: dict[str, str] | None) -> dict[str, str]:
    """The file's column for each canonical name (``mapping``, else the name itself), once
    ``columns`` (the file's, and ``_line``) are checked against them: a mapping of an unknown
    name or to a missing column, a required column missing or a column not understood is
    :class:`InvalidInput` naming it."""
    given = dict(mapping or {})
    for key, name in given.items():
        if key not in CANONICAL:
            raise InvalidInput(f"cannot map {key!r}: canonical columns are {', '.join(CANONICAL)}")
        if name not in columns:
            raise InvalidInput(f"{file_name} has no column {name!r} (mapped to {key})")
    col = {k: given.get(k, k) for k in CANONICAL}
    for need in ("question", "forecaster", "made_at", "probability"):
        if col[need] not in columns:
            raise InvalidInput(f"{file_name} has no {need!r} column; map one of its columns to {need}")
    known = set(col.values()) | {"_line"}
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise InvalidInput(f"{file_name} has column(s) not understood: {', '.join(map(repr, unknown))}; "
                           f"map them (--map CANONICAL=COLUMN; canonical: {', '.join(CANONICAL)}) or remove them")
    return col


def _column(table: Any, name: str) -> Any:
    """A column of a table read by :func:`read_table`, or one of missing values."""
    import pandas as pd

    return table[name] if name in table.columns else pd.Series([None] * len(table), dtype=object)


def _all_present(ledger: Ledger, path: str | Path, *, mapping: dict[str, str] | None, source: str,
                 prefix: str | None, sep: str | None, decimal: str,
                 forecasters: dict[str, str] | None) -> ImportSummary | None:
    """The summary of an import whose every row the ledger already holds, found without
    reading the file into pandas: the forecasts' ``source_id`` values counted against the
    ledger's by the database, the questions and resolutions compared one per question.
    Rows already present are skipped, not checked again.  None (read the file the whole way)
    unless the file is a plain text table (no quotes, a one-character separator, a decimal
    point, every column known, a source_id on every row) whose rows are all present."""
    import csv

    p = source_file(path)
    sep = sep if sep is not None else ("\t" if p.suffix.lower() in (".tsv", ".txt") else ",")
    if p.suffix.lower() in (".parquet", ".pq") or len(sep) != 1 or decimal != ".":
        return None
    try:
        with p.open(newline="", encoding="utf-8", errors="replace") as fh:  # the header and the first row
            header = next(csv.reader([fh.readline(_FIRST_LINE_LIMIT)], delimiter=sep), [])
            row = next(csv.reader([fh.readline(_FIRST_LINE_LIMIT)], delimiter=sep), [])
    except OSError:
        return None
    try:  # the checks of the whole path: a file it would refuse is left to it, which says why
        col = _file_columns(p.name, header, mapping)
    except InvalidInput:
        return None
    if len(set(header)) != len(header) or col["source_id"] not in header:
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # a first row the ledger does not hold settles it before the file is read (a first import)
    first_id = row[header.index(col["source_id"])] if len(row) == len(header) else ""
    if first_id and ledger.new_source_ids("forecasts", source, pa.array([first_id], pa.string())):
        return None
    try:
        if b'"' in p.read_bytes():  # quotes: the whole path reads the file as pandas does
            return None
    except OSError:
        return None

    wanted = [c for c in (col["question"], col["source_id"], col["title"], col["outcome"], col["resolved_at"],
                          col["closes"]) if c in header]
    try:
        table = pacsv.read_csv(p, parse_options=pacsv.ParseOptions(delimiter=sep, quote_char=False),
                               convert_options=pacsv.ConvertOptions(
                                   include_columns=list(dict.fromkeys(wanted)), null_values=[""],
                                   strings_can_be_null=True, column_types={c: pa.string() for c in header}))
    except (pa.ArrowInvalid, OSError):
        return None
    ids = table.column(col["source_id"])
    if ids.null_count or not len(ids) or ledger.new_source_ids("forecasts", source, ids.combine_chunks()):
        return None
    # the questions and resolutions the import would write, each already there (else None)
    held = _existing_questions(ledger)
    first: dict[str, str] = {}
    for raw in table.column(col["question"]).unique().to_pylist():
        if clean(raw) is not None:
            first.setdefault((f"{prefix}-" if prefix else "") + slug(raw), str(raw).strip())
    questions = 0
    if col["title"] in header:
        for qid, raw in first.items():
            q = held.get(qid)
            if q is None or q["source"] != source or (q["source_id"] or None) != raw:
                return None
        questions = len(first)
    resolutions = 0
    if col["outcome"] in header:
        latest = {r["question"]: r for r in ledger.records("resolutions")}
        rows = table.filter(table.column(col["outcome"]).is_valid()).to_pylist()
        seen: set[str] = set()
        for r in rows:
            raw = clean(r[col["question"]])
            qid = None if raw is None else (f"{prefix}-" if prefix else "") + slug(raw)
            if qid is None or qid in seen or clean(r[col["outcome"]]) is None:
                continue
            seen.add(qid)
            on = clean(r.get(col["resolved_at"])) or clean(r.get(col["closes"]))
            try:
                at = domain.parse_time(on, "resolution date")
            except InvalidInput:
                return None
            old = latest.get(qid)
            if old is None or old["source"] != source or old["outcome"] != str(r[col["outcome"]]).strip().lower() \
                    or old["resolved_at"] != at:
                return None
        resolutions = len(seen)
    summary = ImportSummary(source=source, path=str(path), rows_read=len(ids))
    summary.added = {"questions": 0, "resolutions": 0, "forecasts": 0}
    summary.skipped = {"questions": questions, "resolutions": resolutions, "forecasts": len(ids)}
    if forecasters:
        summary.notes.append("forecasters mapped explicitly: " + ", ".join(f"{a} -> {b}" for a, b in forecasters.items()))
    return summary


_DECIMAL_COMMA = re.compile(r"^\s*\d+,\d+\s*%?\s*$")


def _map_distinct(values: Any, fn: Callable[[Any], Any]) -> Any:
    """``values.map(fn)`` with ``fn`` called once per distinct value (a track record repeats its
    question ids, names and probabilities on every row), as an object array.  A column mixing
    types (where ``1``, ``1.0`` and ``True`` would count as one value) is mapped row by row."""
    import numpy as np
    import pandas as pd

    values = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if isinstance(values.dtype, pd.StringDtype):  # text as read from a table: factorized as it is
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
    elif pd.api.types.infer_dtype(values, skipna=False) in ("string", "floating", "integer", "empty"):
        codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    else:
        return values.map(fn).to_numpy(dtype=object)
    mapped = np.empty(len(uniques), dtype=object)
    mapped[:] = [fn(None if u is pd.NA or (isinstance(u, float) and u != u) else u) for u in list(uniques)]
    return mapped[codes]


def _probability_or_nan(v: object) -> float:
    """A probability from ``0.65``, ``65%`` or odds ``13:7``; a number outside [0, 1] is
    returned as it is (the validation names it), unreadable text gives NaN."""
    v = clean(v)
    if v is None:
        return math.nan
    if isinstance(v, int | float):
        return float(v)
    try:
        return domain.parse_probability(v, allow_certainty=True)
    except InvalidInput:
        text = str(v).strip()
        try:
            return float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        except ValueError:
            return math.nan
