"""The ledger: an append-only, hash-chained record of questions, forecasts, events, evidence
and resolutions in one DuckDB file.

Storage design
--------------
* **Append only.**  The store has no UPDATE or DELETE path on a ledger table.  A correction or a
  retraction of a forecast is a new forecast row whose ``corrects`` column holds the ``seq`` of
  the row it fixes; a re-resolution is a new resolution row, and the latest one counts.
* **Two clocks.**  Every row has a world time (``made_at``, ``occurred_at``, ``resolved_at``,
  ``opens_at``) given by the caller and validated, and a ledger time ``recorded_at`` that the
  store sets from its own clock.  A live forecast whose ``made_at`` differs from the store's
  clock by more than :data:`~forecasts.domain.CLOCK_TOLERANCE` is refused (no backdating).
  Imported history (``source`` ``import:<platform>``) keeps its original world times.
* **As-of reads.**  Every read takes ``as_of`` (default: now) and returns what the ledger knew
  then: rows recorded at or before ``as_of`` whose world time is at or before ``as_of``.  With
  ``clock="world"`` only the world time is filtered, which replays imported history (recorded
  all at once, long after the fact) as it unfolded in the world.
* **Short-lived connections.**  DuckDB lets one process hold a file for writing, so each
  operation opens its own connection and closes it at once: a notebook never holds the file.
  A locked file is retried with exponential backoff for ``lock_timeout`` seconds, then
  :class:`~forecasts.errors.StoreLocked` is raised.
* **Tamper evidence.**  Each row extends one SHA-256 chain, see
  :mod:`forecasts.ledger.integrity`; :meth:`Ledger.verify` walks it.
* **Validate, then write.**  Every append validates all of its input first and writes in one
  transaction: on any error nothing is written.

Frames come back as pandas DataFrames with naive UTC ``datetime64[us]`` columns; lists and
mappings stored as JSON are decoded.  pandas is imported only by the methods that return
frames, so ``forecasts log`` never loads it.
"""

from __future__ import annotations

import heapq
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from forecasts import domain
from forecasts.domain import CLOCK_TOLERANCE, VOID_OUTCOMES
from forecasts.errors import (
    Backdated,
    DuplicateQuestion,
    InvalidDate,
    InvalidInput,
    QuestionClosed,
    StoreLocked,
    StoreMissing,
    UnknownEvent,
    UnknownForecast,
    UnknownQuestion,
)
from forecasts.ledger import integrity, migrations
from forecasts.ledger.migrations import LEDGER_TABLES

DEFAULT_PATH = Path("data") / "forecasts.duckdb"

_COLUMNS: dict[str, tuple[str, ...]] = {
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
_TIME_COLUMNS = ("made_at", "recorded_at", "opens_at", "closes_at", "occurred_at", "resolved_at")


def default_path() -> Path:
    """``FORECASTS_DB`` if set, else ``data/forecasts.duckdb`` under the current folder."""
    return Path(os.environ.get("FORECASTS_DB") or DEFAULT_PATH)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=False, separators=(",", ":"))


def _check_source(source: object, *, live: bool) -> str:
    text = domain.optional_text(source, "source", 200)
    if not text:
        raise InvalidInput("source must be named, e.g. cli, notebook or import:metaculus")
    if live and text.startswith("import:"):
        raise InvalidInput("live forecasts cannot claim an import source; use the import path")
    if not live and not text.startswith(("import:", "model:", "backtest:", "demo:")):
        raise InvalidInput(f"historical rows need an import:, model: or backtest: source, not {text!r}")
    return text


class Ledger:
    """An append-only forecast ledger in one DuckDB file.

    Open it with :meth:`Ledger.open`; every method opens and closes its own connection.

    >>> import tempfile, pathlib
    >>> ledger = Ledger.open(pathlib.Path(tempfile.mkdtemp()) / "l.duckdb", create=True)
    >>> q = ledger.add_question("rain", title="Rain tomorrow?", closes="2300-01-01")
    >>> ledger.log("rain", "70%", by="ana")["probability"]
    0.7
    >>> ledger.verify().ok
    True
    """

    def __init__(self, path: str | os.PathLike, *, lock_timeout: float = 5.0):
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._migrated = False

    # ------------------------------------------------------------------ connections
    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, create: bool = False,
             lock_timeout: float = 5.0) -> Ledger:
        """Open the ledger at ``path`` (default :func:`default_path`).

        With ``create=True`` a missing file (and its folder) is created and migrated; otherwise a
        missing file raises :class:`~forecasts.errors.StoreMissing`.
        """
        ledger = cls(path if path is not None else default_path(), lock_timeout=lock_timeout)
        if not ledger.path.exists():
            if not create:
                raise StoreMissing(f"no ledger at {ledger.path}; run 'forecasts init' first (or pass --db)")
            ledger.path.parent.mkdir(parents=True, exist_ok=True)
            with ledger._connect(create=True):
                pass
        return ledger

    def _raw_connect(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreMissing(f"cannot open ledger {self.path}: {exc}") from None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreLocked(
                        f"ledger {self.path} is locked by another process (tried for "
                        f"{self.lock_timeout:g} s); close the other program or notebook connection and retry"
                    ) from None
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.5)

    @contextmanager
    def _connect(self, *, create: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection, the schema brought up to date on first use.  A missing
        file is never created silently here (only by :meth:`open` with ``create`` or :meth:`init`)."""
        if not create and not self.path.exists():
            raise StoreMissing(f"no ledger at {self.path}; run 'forecasts init' first (or pass --db)")
        con = self._raw_connect()
        try:
            if not self._migrated:
                migrations.migrate(con)
                self._migrated = True
            yield con
        finally:
            con.close()

    @contextmanager
    def _transaction(self) -> Iterator[tuple[duckdb.DuckDBPyConnection, list[int | str]]]:
        """A write transaction with the chain head ``[next_seq, prev_hash]``."""
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con, self._head(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    @staticmethod
    def _head(con) -> list[int | str]:
        union = " UNION ALL ".join(
            f"(SELECT seq, hash FROM {t} ORDER BY seq DESC LIMIT 1)" for t in LEDGER_TABLES
        )
        row = _first(con.execute(f"SELECT seq, hash FROM ({union}) ORDER BY seq DESC LIMIT 1").fetchall())
        return [1, integrity.GENESIS] if row is None else [row[0] + 1, row[1]]

    @staticmethod
    def _chain(table: str, rows: list[dict], head: list) -> list[tuple]:
        """Give rows their seq, prev_hash and hash (advancing ``head``) as insert tuples."""
        out = []
        seq, prev = head
        for row in rows:
            row["seq"] = seq
            row["prev_hash"] = prev
            row["hash"] = prev = integrity.row_hash(prev, table, row)
            out.append(tuple(row.get(c) for c in _COLUMNS[table]) + (row["prev_hash"], row["hash"]))
            seq += 1
        head[0], head[1] = seq, prev
        return out

    def _insert(self, con, table: str, rows: list[dict], head: list) -> None:
        if not rows:
            return
        cols = _COLUMNS[table] + ("prev_hash", "hash")
        placeholders = ", ".join("?" for _ in cols)
        values = self._chain(table, rows, head)
        if len(values) <= 32:
            con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})", values)
            return
        import pandas as pd  # many rows: one bulk insert from a frame (executemany is row by row)

        frame = pd.DataFrame(values, columns=list(cols), dtype=object)  # object: None stays NULL, never NaN
        con.register("incoming_rows", frame)
        try:
            con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM incoming_rows")
        finally:
            con.unregister("incoming_rows")

    def init(self) -> list[str]:
        """Create the ledger file if needed and apply pending migrations; return their names."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._raw_connect()
        try:
            names = migrations.migrate(con)
        finally:
            con.close()
        self._migrated = True
        return names

    # ------------------------------------------------------------------ lookups
    @staticmethod
    def _question(con, qid: str) -> dict:
        row = _first(con.execute(
            "SELECT id, kind, options, opens_at, closes_at, title FROM questions WHERE id = ? "
            "ORDER BY seq LIMIT 1", [qid]).fetchall())
        if row is None:
            raise UnknownQuestion(f"no question {qid!r}; see 'forecasts questions'")
        return {"id": row[0], "kind": row[1], "options": json.loads(row[2]) if row[2] else None,
                "opens_at": row[3], "closes_at": row[4], "title": row[5]}

    @staticmethod
    def _latest_resolution(con, qid: str) -> tuple | None:
        return _first(con.execute(
            "SELECT outcome, resolved_at FROM resolutions WHERE question = ? "
            "ORDER BY seq DESC LIMIT 1", [qid]).fetchall())

    # ------------------------------------------------------------------ appends
    def add_question(self, qid: str, *, title: str, closes: object, criteria: str | None = None,
                     kind: str = "binary", options: object = None, ordered: bool = False,
                     opens: object = None, tags: object = None, base_rate: object = None,
                     reference_class: str | None = None, by: str | None = None,
                     source: str = "notebook", source_id: str | None = None) -> dict:
        """Add a question.  ``opens`` defaults to now; ``closes`` is the deadline (world time).

        ``kind`` is ``binary`` or ``multiple_choice`` (then ``options`` names at least two
        options; ``ordered=True`` scores them with the ranked probability score).
        """
        row = self._question_row(qid, title=title, closes=closes, criteria=criteria, kind=kind,
                                 options=options, ordered=ordered, opens=opens, tags=tags,
                                 base_rate=base_rate, reference_class=reference_class, by=by,
                                 source=source, source_id=source_id)
        with self._transaction() as (con, head):
            if _first(con.execute("SELECT 1 FROM questions WHERE id = ?", [row["id"]]).fetchall()):
                raise DuplicateQuestion(f"question {row['id']!r} already exists")
            row["recorded_at"] = domain.now()
            self._insert(con, "questions", [row], head)
        return row

    @staticmethod
    def _question_row(qid, *, title, closes, criteria, kind, options, ordered, opens, tags,
                      base_rate, reference_class, by, source, source_id) -> dict:
        qid = domain.parse_question_id(qid)
        title = domain.optional_text(title, "title", 500)
        if not title:
            raise InvalidInput("a question needs a title")
        if kind not in domain.KINDS:
            raise InvalidInput(f"question kind {kind!r} must be one of {', '.join(domain.KINDS)}")
        if kind == "binary":
            if options:
                raise InvalidInput("a binary question takes no options; use --kind multiple_choice")
            opts = None
        else:
            opts = domain.parse_options(options if options is not None else [])
        closes_at = domain.parse_time(closes, "close date")
        opens_at = domain.now() if opens is None else domain.parse_time(opens, "open date")
        if closes_at <= opens_at:
            raise InvalidDate(f"question closes ({closes_at:%Y-%m-%d %H:%M}) before it opens ({opens_at:%Y-%m-%d %H:%M})")
        rate = None
        if base_rate is not None:
            rate = domain.parse_probability(base_rate, allow_certainty=True)
        src = domain.optional_text(source, "source", 200) or "notebook"
        return {
            "id": qid, "title": title, "criteria": domain.optional_text(criteria, "criteria"),
            "kind": kind, "options": _json(opts), "ordered": bool(ordered) and opts is not None,
            "opens_at": opens_at, "closes_at": closes_at, "tags": _json(domain.parse_tags(tags)),
            "base_rate": rate, "reference_class": domain.optional_text(reference_class, "reference class", 500),
            "created_by": domain.parse_forecaster(by), "source": src,
            "source_id": domain.optional_text(source_id, "source id", 200),
        }

    def log(self, question: str, probability: object = None, *, options: object = None,
            by: str | None = None, why: str | None = None, made_at: object = None,
            allow_certainty: bool = False, source: str = "notebook") -> dict:
        """Record a live forecast made now and return the stored row.

        Binary questions take ``probability`` (``0.65``, ``"65%"``, ``"13:7"``);
        multiple-choice questions take ``options`` (``{"a": 0.6, "b": 0.4}`` or
        ``["a=0.6", "b=0.4"]``).  Refused, with nothing written: an unknown question; one that
        is resolved, not yet open or past its close; a certain forecast without
        ``allow_certainty``; a ``made_at`` away from the store's clock by more than
        :data:`~forecasts.domain.CLOCK_TOLERANCE`.
        """
        qid = domain.parse_question_id(question)
        forecaster = domain.parse_forecaster(by)
        rationale = domain.optional_text(why, "rationale")
        src = _check_source(source, live=True)
        stated = None if made_at is None else domain.parse_time(made_at, "made_at")
        with self._transaction() as (con, head):
            q = self._question(con, qid)
            p, ps = self._probabilities(q, probability, options, allow_certainty)
            clock = domain.now()
            if stated is not None and abs(stated - clock) > CLOCK_TOLERANCE:
                raise Backdated(
                    f"made_at {stated:%Y-%m-%d %H:%M} is not now ({clock:%Y-%m-%d %H:%M} UTC): live "
                    "forecasts cannot be backdated or postdated; import history with 'forecasts import'"
                )
            resolution = self._latest_resolution(con, qid)
            if resolution is not None:
                raise QuestionClosed(f"question {qid!r} is resolved ({resolution[0]}); it takes no more forecasts")
            if clock >= q["closes_at"]:
                raise QuestionClosed(f"question {qid!r} closed on {q['closes_at']:%Y-%m-%d %H:%M}; it takes no more forecasts")
            if clock < q["opens_at"]:
                raise QuestionClosed(f"question {qid!r} opens on {q['opens_at']:%Y-%m-%d %H:%M}; it takes no forecasts yet")
            row = {"question": qid, "forecaster": forecaster, "made_at": stated or clock,
                   "probability": p, "probabilities": _json(ps), "rationale": rationale,
                   "source": src, "source_id": None, "model_version": None, "params": None,
                   "backtest": False, "corrects": None, "retracted": False, "recorded_at": clock}
            self._insert(con, "forecasts", [row], head)
        return row

    @staticmethod
    def _probabilities(q: dict, probability, options, allow_certainty) -> tuple[float | None, dict | None]:
        if q["kind"] == "binary":
            if options:
                raise InvalidInput(f"question {q['id']!r} is binary: give one probability, not options")
            if probability is None:
                raise InvalidInput(f"question {q['id']!r} needs a probability, e.g. 65%")
            return domain.parse_probability(probability, allow_certainty=allow_certainty), None
        if probability is not None:
            raise InvalidInput(
                f"question {q['id']!r} is multiple choice: give --option NAME=P for each of "
                f"{', '.join(q['options'])}")
        if not options:
            raise InvalidInput(f"question {q['id']!r} needs --option NAME=P for each of {', '.join(q['options'])}")
        return None, domain.parse_option_probabilities(options, q["options"], allow_certainty=allow_certainty)

    def correct(self, seq: int, probability: object = None, *, options: object = None,
                why: str | None = None, by: str | None = None, allow_certainty: bool = False,
                source: str = "notebook") -> dict:
        """Correct a forecast (a typo, a wrong question): a new row pointing at row ``seq``.

        Reads then show the corrected values at the original ``made_at``.  Only the forecaster
        who made it can correct it, and only while the question is unresolved.
        """
        return self._amend(seq, probability, options, why, by, allow_certainty, source, retract=False)

    def retract(self, seq: int, *, why: str | None = None, by: str | None = None,
                source: str = "notebook") -> dict:
        """Retract a forecast: a new row marks row ``seq`` withdrawn; reads leave it out."""
        return self._amend(seq, None, None, why, by, False, source, retract=True)

    def _amend(self, seq, probability, options, why, by, allow_certainty, source, *, retract) -> dict:
        if isinstance(seq, bool) or not isinstance(seq, int):
            try:
                seq = int(str(seq).strip())
            except ValueError:
                raise UnknownForecast(f"forecast row {seq!r} must be a row number") from None
        forecaster = domain.parse_forecaster(by)
        rationale = domain.optional_text(why, "rationale")
        src = _check_source(source, live=True)
        with self._transaction() as (con, head):
            target = _first(con.execute(
                "SELECT question, forecaster, made_at, corrects FROM forecasts WHERE seq = ?", [seq]).fetchall())
            if target is None:
                raise UnknownForecast(f"no forecast with row number {seq}")
            if target[3] is not None:
                raise InvalidInput(f"row {seq} is itself a correction; correct the original row {target[3]}")
            if target[1] != forecaster:
                raise InvalidInput(f"row {seq} is {target[1]}'s forecast; only they can correct or retract it")
            q = self._question(con, target[0])
            resolution = self._latest_resolution(con, q["id"])
            if resolution is not None:
                raise QuestionClosed(f"question {q['id']!r} is resolved; its forecasts are final")
            p, ps = (None, None) if retract else self._probabilities(q, probability, options, allow_certainty)
            row = {"question": q["id"], "forecaster": forecaster, "made_at": target[2],
                   "probability": p, "probabilities": _json(ps), "rationale": rationale,
                   "source": src, "source_id": None, "model_version": None, "params": None,
                   "backtest": False, "corrects": seq, "retracted": retract,
                   "recorded_at": domain.now()}
            self._insert(con, "forecasts", [row], head)
        return row

    def add_event(self, title: str, *, on: object, description: str | None = None,
                  source_url: str | None = None, actors: object = None, cameo: object = None,
                  goldstein: object = None, tags: object = None, date_precision: str = "day",
                  by: str | None = None, source: str = "notebook", source_id: str | None = None) -> dict:
        """Record a dated event (``on`` is its world time).  Returns the row; its ``seq`` is the event id.

        A CAMEO code fills in the Goldstein conflict-cooperation score (-10..+10) from
        ``data/cameo_goldstein.csv`` unless ``goldstein`` is given.
        """
        row = self._event_row(title, on=on, description=description, source_url=source_url,
                              actors=actors, cameo=cameo, goldstein=goldstein, tags=tags,
                              date_precision=date_precision, by=by, source=source, source_id=source_id)
        if row["occurred_at"] > domain.now() + CLOCK_TOLERANCE:
            raise InvalidDate(f"event date {row['occurred_at']:%Y-%m-%d} is in the future")
        with self._transaction() as (con, head):
            row["recorded_at"] = domain.now()
            self._insert(con, "events", [row], head)
        return row

    @staticmethod
    def _event_row(title, *, on, description, source_url, actors, cameo, goldstein, tags,
                   date_precision, by, source, source_id) -> dict:
        from forecasts.sources.cameo import goldstein_for

        title = domain.optional_text(title, "event title", 500)
        if not title:
            raise InvalidInput("an event needs a title")
        code = domain.parse_cameo(cameo)
        if goldstein is None or goldstein == "":
            score = goldstein_for(code) if code else None
        else:
            try:
                score = float(goldstein)
            except (TypeError, ValueError):
                raise InvalidInput(f"Goldstein score {goldstein!r} is not a number") from None
            if not -10.0 <= score <= 10.0:
                raise InvalidInput(f"Goldstein score {score:g} must lie in [-10, 10]")
        if date_precision not in ("day", "approx", "time"):
            raise InvalidInput("date precision must be day, approx or time")
        if isinstance(actors, list | tuple):
            actors = ";".join(str(a).strip() for a in actors)
        url = domain.optional_text(source_url, "source URL", 2000)
        if url and not url.startswith(("http://", "https://")):
            raise InvalidInput(f"source URL {url!r} must start with http:// or https://")
        return {"title": title, "description": domain.optional_text(description, "description"),
                "occurred_at": domain.parse_time(on, "event date"), "date_precision": date_precision,
                "source_url": url, "actors": domain.optional_text(actors, "actors", 200),
                "cameo": code, "goldstein": score, "tags": _json(domain.parse_tags(tags)),
                "created_by": domain.parse_forecaster(by),
                "source": domain.optional_text(source, "source", 200) or "notebook",
                "source_id": domain.optional_text(source_id, "source id", 200)}

    def add_evidence(self, question: str, event: object, *, lr: object = None,
                     strength: object = None, weight: object = None, note: str | None = None,
                     by: str | None = None, source: str = "notebook") -> dict:
        """Assess what an event says about a question, as a likelihood ratio.

        ``lr`` = P(event | yes) / P(event | no), or ``strength`` such as ``"moderate for no"``
        (see :data:`~forecasts.domain.VERBAL_SCALE`); ``weight`` in (0, 1] discounts a report
        correlated with one already counted.
        """
        qid = domain.parse_question_id(question)
        try:
            event_id = int(str(event).strip())
        except ValueError:
            raise UnknownEvent(f"event id {event!r} must be a number; see 'forecasts events'") from None
        ratio, verbal = domain.parse_likelihood_ratio(lr, strength)
        row = {"question": qid, "event": event_id, "assessed_by": domain.parse_forecaster(by),
               "lr": ratio, "strength": verbal, "weight": domain.parse_weight(weight),
               "note": domain.optional_text(note, "note"),
               "source": domain.optional_text(source, "source", 200) or "notebook"}
        with self._transaction() as (con, head):
            self._question(con, qid)
            if _first(con.execute("SELECT 1 FROM events WHERE seq = ?", [event_id]).fetchall()) is None:
                raise UnknownEvent(f"no event {event_id}; see 'forecasts events'")
            row["recorded_at"] = domain.now()
            self._insert(con, "evidence", [row], head)
        return row

    def resolve(self, question: str, outcome: str, *, on: object = None, note: str | None = None,
                by: str | None = None, source: str = "notebook") -> dict:
        """Resolve a question (``on``: when it resolved in the world, default now).

        A later call re-resolves it: the newest resolution counts and scores are recomputed.
        Refused: a resolution dated before the question opens or in the future.
        """
        qid = domain.parse_question_id(question)
        resolved_at = domain.now() if on is None else domain.parse_time(on, "resolution date")
        row = {"question": qid, "resolved_by": domain.parse_forecaster(by),
               "note": domain.optional_text(note, "note"), "resolved_at": resolved_at,
               "source": domain.optional_text(source, "source", 200) or "notebook"}
        with self._transaction() as (con, head):
            q = self._question(con, qid)
            row["outcome"] = domain.parse_outcome(outcome, q["kind"], q["options"])
            if resolved_at < q["opens_at"]:
                raise InvalidDate(f"resolution date {resolved_at:%Y-%m-%d} is before the question opens ({q['opens_at']:%Y-%m-%d})")
            clock = domain.now()
            if resolved_at > clock + CLOCK_TOLERANCE:
                raise InvalidDate(f"resolution date {resolved_at:%Y-%m-%d} is in the future")
            row["recorded_at"] = clock
            self._insert(con, "resolutions", [row], head)
        return row

    # ------------------------------------------------------------------ bulk history
    def import_history(self, *, questions: Sequence[dict] = (), events: Sequence[dict] = (),
                       forecasts: Sequence[dict] = (), evidence: Sequence[dict] = (),
                       resolutions: Sequence[dict] = (), source: str, forecast_frame: Any = None,
                       first_line: int = 2, allow_certainty: bool = False) -> dict[str, int]:
        """Append historical rows that keep their original world times, in one transaction.

        ``source`` (``import:<platform>``, ``model:<name>``, ``backtest:<name>``) marks every
        row.  Each forecast must fall inside its question's open period and not in the future;
        events are referred to by their position in ``events`` as ``{"event_index": i}`` or by
        an existing id as ``{"event": seq}``.  ``forecast_frame`` adds many forecasts through
        the vectorised path of :meth:`import_forecast_frame` (its questions may be among
        ``questions``), in the same transaction.  Everything is validated before anything is
        committed: on any error nothing is written.  Returns the number of rows added per table
        (and ``forecasts_skipped_existing`` for frame rows already in the ledger).
        """
        src = _check_source(source, live=False)
        clock = domain.now()
        qrows = [self._question_row(**{"by": None, "criteria": None, "kind": "binary", "options": None,
                                       "ordered": False, "opens": None, "tags": None, "base_rate": None,
                                       "reference_class": None, "source_id": None, **q, "source": src})
                 for q in questions]
        erows = [self._event_row(**{"description": None, "source_url": None, "actors": None,
                                    "cameo": None, "goldstein": None, "tags": None,
                                    "date_precision": "day", "by": None, "source_id": None,
                                    **e, "source": src}) for e in events]
        for e in erows:
            if e["occurred_at"] > clock + CLOCK_TOLERANCE:
                raise InvalidDate(f"event {e['title']!r} is dated in the future")
        with self._transaction() as (con, head):
            known = {q["id"]: q for q in qrows}
            if len(known) != len(qrows):
                raise DuplicateQuestion("the import names a question twice")
            for qid in known:
                if _first(con.execute("SELECT 1 FROM questions WHERE id = ?", [qid]).fetchall()):
                    raise DuplicateQuestion(f"question {qid!r} already exists")

            def question(qid: str) -> dict:
                if qid not in known:
                    q = self._question(con, qid)
                    known[qid] = {**q, "options": json.dumps(q["options"]) if q["options"] else None}
                return known[qid]

            frows = []
            for i, f in enumerate(forecasts):
                q = question(domain.parse_question_id(f["question"]))
                opts = json.loads(q["options"]) if q["options"] else None
                qinfo = {"id": q["id"], "kind": q["kind"], "options": opts}
                p, ps = self._probabilities(qinfo, f.get("probability"), f.get("options"),
                                            f.get("allow_certainty", False))
                made = domain.parse_time(f["made_at"], "made_at")
                if made > clock + CLOCK_TOLERANCE:
                    raise InvalidDate(f"forecast {i + 1} is dated in the future")
                if not q["opens_at"] <= made <= q["closes_at"]:
                    raise InvalidDate(f"forecast {i + 1} ({made:%Y-%m-%d}) lies outside question {q['id']!r}'s open period")
                params = f.get("params")
                frows.append({"question": q["id"], "forecaster": domain.parse_forecaster(f["forecaster"]),
                              "made_at": made, "probability": p, "probabilities": _json(ps),
                              "rationale": domain.optional_text(f.get("rationale"), "rationale"),
                              "source": src, "source_id": domain.optional_text(f.get("source_id"), "source id", 200),
                              "model_version": domain.optional_text(f.get("model_version"), "model version", 100),
                              "params": _json(params) if params is not None else None,
                              "backtest": bool(f.get("backtest", src.startswith("backtest:"))),
                              "corrects": None, "retracted": False, "recorded_at": clock})
            rrows = []
            for r in resolutions:
                q = question(domain.parse_question_id(r["question"]))
                opts = json.loads(q["options"]) if q["options"] else None
                at = domain.parse_time(r["on"], "resolution date")
                if at < q["opens_at"] or at > clock + CLOCK_TOLERANCE:
                    raise InvalidDate(f"resolution of {q['id']!r} on {at:%Y-%m-%d} is before it opens or in the future")
                rrows.append({"question": q["id"], "outcome": domain.parse_outcome(r["outcome"], q["kind"], opts),
                              "resolved_at": at, "resolved_by": domain.parse_forecaster(r.get("by")),
                              "note": domain.optional_text(r.get("note"), "note"), "source": src,
                              "recorded_at": clock})
            for q in qrows:
                q["recorded_at"] = clock
            for e in erows:
                e["recorded_at"] = clock
            self._insert(con, "questions", qrows, head)
            first_event = head[0]
            self._insert(con, "events", erows, head)
            vrows = []
            for v in evidence:
                if "event_index" in v:
                    idx = int(v["event_index"])
                    if not 0 <= idx < len(erows):
                        raise UnknownEvent(f"evidence refers to event_index {idx}, outside the import")
                    event_id = first_event + idx
                else:
                    event_id = int(v["event"])
                    if _first(con.execute("SELECT 1 FROM events WHERE seq = ?", [event_id]).fetchall()) is None:
                        raise UnknownEvent(f"no event {event_id}")
                ratio, verbal = domain.parse_likelihood_ratio(v.get("lr"), v.get("strength"))
                vrows.append({"question": question(domain.parse_question_id(v["question"]))["id"],
                              "event": event_id, "assessed_by": domain.parse_forecaster(v.get("by")),
                              "lr": ratio, "strength": verbal, "weight": domain.parse_weight(v.get("weight")),
                              "note": domain.optional_text(v.get("note"), "note"), "source": src,
                              "recorded_at": clock})
            self._insert(con, "forecasts", frows, head)
            framed = {"added": 0, "skipped_existing": 0}
            if forecast_frame is not None and len(forecast_frame):
                framed = self._forecast_frame(con, head, forecast_frame, src, first_line, allow_certainty, False)
            self._insert(con, "evidence", vrows, head)
            self._insert(con, "resolutions", rrows, head)
        return {"questions": len(qrows), "events": len(erows), "forecasts": len(frows) + framed["added"],
                "evidence": len(vrows), "resolutions": len(rrows),
                "forecasts_skipped_existing": framed["skipped_existing"]}

    def import_forecast_frame(self, frame: Any, *, source: str, first_line: int = 2,
                              allow_certainty: bool = False, dry_run: bool = False) -> dict[str, Any]:
        """Append many historical forecasts at once: vectorised validation, one bulk insert.

        ``frame`` (pandas) has columns ``question``, ``forecaster``, ``made_at`` and either
        ``probability`` (binary questions) or ``probabilities`` (dicts, multiple choice), and
        optionally ``rationale``, ``source_id``, ``model_version``, ``params``, ``backtest``.
        ``made_at`` may be text, naive UTC or time-zone aware (converted to UTC).

        All or nothing: if any row is malformed, :class:`~forecasts.errors.ImportRejected` lists
        every problem with its line number (row i is line ``first_line + i``, as in a CSV with a
        header) and nothing is written.  Idempotent: rows whose ``(source, source_id)`` is
        already in the ledger are skipped and counted.  ``dry_run`` validates without writing.
        Returns ``{"added": n, "skipped_existing": k, "rows": len(frame)}``.
        """
        src = _check_source(source, live=False)
        with self._transaction() as (con, head):
            return self._forecast_frame(con, head, frame, src, first_line, allow_certainty, dry_run)

    def _forecast_frame(self, con, head: list, frame: Any, src: str, first_line: int,
                        allow_certainty: bool, dry_run: bool) -> dict[str, Any]:
        """Validate and (unless ``dry_run``) insert a forecast frame inside an open transaction."""
        import numpy as np
        import pandas as pd

        from forecasts.errors import ImportRejected

        df = frame.reset_index(drop=True).copy()
        n = len(df)
        lines = np.arange(n) + first_line
        problems: list[tuple[int, str]] = []

        def flag(mask, reason) -> None:
            mask = np.asarray(mask, dtype=bool)
            for i in np.flatnonzero(mask)[:1000]:
                problems.append((int(lines[i]), reason(i) if callable(reason) else reason))

        for col in ("question", "forecaster", "made_at"):
            if col not in df.columns:
                raise InvalidInput(f"the import has no {col!r} column")
        if "probability" not in df.columns and "probabilities" not in df.columns:
            raise InvalidInput("the import has neither a 'probability' nor a 'probabilities' column")
        for col, default in (("probability", np.nan), ("probabilities", None), ("rationale", None),
                             ("source_id", None), ("model_version", None), ("params", None),
                             ("backtest", src.startswith("backtest:"))):
            if col not in df.columns:
                df[col] = default

        made = pd.to_datetime(df["made_at"], errors="coerce", utc=True, format="mixed")
        made = made.dt.tz_convert(None).astype("datetime64[us]")
        flag(made.isna(), "made_at is missing or not a date")
        clock = domain.now()
        flag(made > pd.Timestamp(clock + CLOCK_TOLERANCE), "made_at is in the future")

        names = df["forecaster"].astype("object")
        bad_names = {}
        for name in pd.unique(names):
            try:
                domain.parse_forecaster(name if isinstance(name, str) else None if name is None else str(name))
                if not isinstance(name, str):
                    raise InvalidInput("forecaster is missing")
            except InvalidInput as exc:
                bad_names[name] = exc.message
        if bad_names:
            flag(names.isin(list(bad_names)), lambda i: bad_names[names.iloc[i]])

        qs = con.execute("SELECT id, kind, options, opens_at, closes_at FROM questions").df()
        qs = qs.set_index("id")
        qid = df["question"].astype("object")
        known = qid.isin(qs.index)
        flag(~known, lambda i: f"unknown question {qid.iloc[i]!r}")
        opens = qid.map(qs["opens_at"]).astype("datetime64[us]")
        closes = qid.map(qs["closes_at"]).astype("datetime64[us]")
        outside = known & made.notna() & ((made < opens) | (made > closes))
        flag(outside, lambda i: f"made_at {made.iloc[i]} lies outside the question's open period")

        kind = qid.map(qs["kind"])
        binary = (kind == "binary").to_numpy()
        p = pd.to_numeric(df["probability"], errors="coerce").to_numpy(dtype=float, copy=True)
        low = 0.0 if allow_certainty else np.nextafter(0.0, 1.0)
        high = 1.0 if allow_certainty else np.nextafter(1.0, 0.0)
        flag(binary & ~np.isfinite(p), "probability is missing or not a number")
        flag(binary & np.isfinite(p) & ((p < 0) | (p > 1)), lambda i: f"probability {float(p[i])!r} is outside [0, 1]")
        flag(binary & np.isfinite(p) & (p >= 0) & (p <= 1) & ((p < low) | (p > high)),
             "probability is certain (0 or 1); import with allow_certainty if you mean it")
        probs_json: list[str | None] = [None] * n
        for i in np.flatnonzero((kind == "multiple_choice").to_numpy()):
            try:
                opts = json.loads(qs.at[qid.iloc[i], "options"])
                parsed = domain.parse_option_probabilities(df["probabilities"].iloc[i], opts,
                                                           allow_certainty=allow_certainty)
                probs_json[i] = _json(parsed)
                p[i] = np.nan
            except InvalidInput as exc:
                problems.append((int(lines[i]), exc.message))

        sid = df["source_id"].astype("object").where(df["source_id"].notna(), None)
        sid = sid.map(lambda v: None if v is None else str(v))
        dup = sid.notna() & sid.duplicated(keep="first")
        flag(dup, lambda i: f"source_id {sid.iloc[i]!r} appears twice in the import")
        text = df["rationale"].astype("object").where(df["rationale"].notna(), None)
        flag(text.map(lambda v: v is not None and (not isinstance(v, str) or len(v) > 10_000 or "\x00" in v)),
             "rationale is not text of at most 10,000 characters")

        if problems:
            raise ImportRejected.listing(problems)

        params = df["params"].map(lambda v: None if v is None or (isinstance(v, float) and v != v)
                                  else (v if isinstance(v, str) else _json(v)))
        out = pd.DataFrame({
            "question": qid.astype(str).to_numpy(), "forecaster": names.astype(str).to_numpy(),
            "made_at": made.to_numpy(), "probability": p, "probabilities": probs_json,
            "rationale": text.map(lambda v: (v.strip() or None) if isinstance(v, str) else None).to_numpy(),
            "source": src, "source_id": sid.to_numpy(),
            "model_version": df["model_version"].astype("object").where(df["model_version"].notna(), None).to_numpy(),
            "params": params.to_numpy(), "backtest": df["backtest"].astype(bool).to_numpy(),
            "corrects": None, "retracted": False, "recorded_at": clock,
        })
        out["probability"] = out["probability"].astype("float64")
        out["corrects"] = out["corrects"].astype("Int64")
        existing = set()
        if out["source_id"].notna().any():
            existing = {r[0] for r in con.execute(
                "SELECT source_id FROM forecasts WHERE source = ? AND source_id IS NOT NULL", [src]).fetchall()}
        fresh = ~out["source_id"].isin(existing) if existing else np.ones(n, dtype=bool)
        out = out[fresh].reset_index(drop=True)
        skipped = n - len(out)
        if len(out) and not dry_run:
            out.insert(0, "seq", np.arange(head[0], head[0] + len(out), dtype=np.int64))
            columns = {c: out[c].to_numpy() for c in _COLUMNS["forecasts"]}
            columns["recorded_at"] = np.full(len(out), np.datetime64(clock, "us"))
            hashes = integrity.chain_columns("forecasts", columns, head[1])
            out["prev_hash"] = [head[1], *hashes[:-1]]
            out["hash"] = hashes
            con.register("incoming_forecasts", out)
            cols = ", ".join(_COLUMNS["forecasts"] + ("prev_hash", "hash"))
            con.execute(f"INSERT INTO forecasts ({cols}) SELECT {cols} FROM incoming_forecasts")
            con.unregister("incoming_forecasts")
            head[0], head[1] = head[0] + len(out), hashes[-1]
        return {"added": 0 if dry_run else len(out), "would_add": len(out), "skipped_existing": skipped, "rows": n}

    # ------------------------------------------------------------------ reads
    @staticmethod
    def _as_of(as_of: object) -> datetime:
        return domain.now() if as_of is None else domain.parse_time(as_of, "as-of date")

    def _frame(self, sql: str, params: list) -> Any:
        import pandas as pd

        with self._connect() as con:
            df = con.execute(sql, params).df()
        for col in df.columns:
            if col in _TIME_COLUMNS:
                df[col] = pd.to_datetime(df[col]).astype("datetime64[us]")
        for col in ("options", "tags", "probabilities", "params"):
            if col in df.columns:
                df[col] = [json.loads(v) if isinstance(v, str) else None for v in df[col]]
        if "forecasters" in df.columns:
            df["forecasters"] = [list(v) if hasattr(v, "__iter__") and not isinstance(v, str) else [] for v in df["forecasters"]]
        return df

    def records(self, table: str, as_of: object = None, *, clock: str = "both",
                question: str | None = None) -> list[dict]:
        """The rows of one table as of a time, as plain dicts, without pandas (the fast path
        that closed-form models use).  ``forecasts`` has corrections applied and retractions
        left out; ``resolutions`` holds the latest per question; ``evidence`` rows carry their
        event's ``occurred_at``, ``event_title``, ``cameo`` and ``goldstein``.  JSON columns are
        decoded; times are naive UTC datetimes.  Ordered by ``seq``.
        """
        return self.records_many((table,), as_of, clock=clock, question=question)[table]

    def records_many(self, tables: Sequence[str], as_of: object = None, *, clock: str = "both",
                     question: str | None = None) -> dict[str, list[dict]]:
        """:meth:`records` of several tables read through one connection (one file open)."""
        t = self._as_of(as_of)
        qid = None if question is None else domain.parse_question_id(question)
        queries = [(table, *self._records_sql(table, clock, qid)) for table in tables]
        out: dict[str, list[dict]] = {}
        with self._connect() as con:
            for table, sql, extra in queries:
                cur = con.execute(sql + " ORDER BY seq", {"as_of": t, **extra})
                names = [d[0] for d in cur.description]
                out[table] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        for rows in out.values():
            for row in rows:
                for col in ("options", "tags", "probabilities", "params"):
                    if isinstance(row.get(col), str):
                        row[col] = json.loads(row[col])
        return out

    def _records_sql(self, table: str, clock: str, qid: str | None) -> tuple[str, dict]:
        if table == "forecasts":
            sql = f"SELECT * FROM ({self._forecasts_sql(clock)}) WHERE true"
        elif table == "resolutions":
            sql = f"SELECT * FROM ({self._resolutions_sql(clock)}) WHERE true"
        elif table == "questions":
            world = "opens_at" if clock == "world" else None
            sql = f"SELECT * EXCLUDE (prev_hash, hash) FROM questions WHERE {self._clock_filter(world, clock)}"
        elif table == "events":
            sql = f"SELECT * EXCLUDE (prev_hash, hash) FROM events WHERE {self._clock_filter('occurred_at', clock)}"
        elif table == "evidence":
            sql = self._evidence_sql(clock)
        else:
            raise InvalidInput(f"unknown table {table!r}; one of {', '.join(LEDGER_TABLES)}")
        if qid is None:
            return sql, {}
        if table == "events":
            raise InvalidInput("events belong to no question; read evidence for a question's events")
        return sql + f" AND {'id' if table == 'questions' else 'question'} = $q", {"q": qid}

    @staticmethod
    def _clock_filter(world: str | None, clock: str, alias: str = "") -> str:
        """SQL keeping rows known as of ``$as_of``: world time (if any) and, unless
        ``clock == "world"``, ledger time."""
        if clock not in ("both", "world"):
            raise InvalidInput("clock must be 'both' or 'world'")
        parts = [f"{alias}{world} <= $as_of"] if world else []
        if clock == "both":
            parts.append(f"{alias}recorded_at <= $as_of")
        return " AND ".join(parts) or "true"

    def questions(self, as_of: object = None, *, clock: str = "both", status: str | None = None,
                  tag: str | None = None, by: str | None = None) -> Any:
        """Questions as of a time, with their latest resolution and forecast counts.

        ``status``: ``open`` (unresolved, not past close), ``closed`` (past close, unresolved),
        ``resolved``; ``tag`` keeps questions carrying it; ``by`` keeps questions that
        forecaster created or forecast.
        """
        t = self._as_of(as_of)
        # A question exists once recorded; replaying world time, once it has opened.
        cond = self._clock_filter("opens_at" if clock == "world" else None, clock, "q.")
        sql = f"""
            WITH r AS ({self._resolutions_sql(clock)}),
            f AS (SELECT question, count(*) AS n_forecasts, count(DISTINCT forecaster) AS n_forecasters,
                         list(DISTINCT forecaster) AS forecasters
                  FROM ({self._forecasts_sql(clock)}) GROUP BY question)
            SELECT q.id, q.title, q.kind, q.options, q.ordered, q.opens_at, q.closes_at, q.tags,
                   q.base_rate, q.reference_class, q.criteria, q.created_by, q.source, q.source_id,
                   q.seq, q.recorded_at, r.outcome, r.resolved_at,
                   coalesce(f.n_forecasts, 0) AS n_forecasts, coalesce(f.n_forecasters, 0) AS n_forecasters,
                   f.forecasters
            FROM questions q LEFT JOIN r ON r.question = q.id LEFT JOIN f ON f.question = q.id
            WHERE {cond} ORDER BY q.closes_at, q.id"""
        df = self._frame(sql, {"as_of": t})
        df["status"] = [
            "resolved" if isinstance(o, str) else ("closed" if c <= t else "open")
            for o, c in zip(df["outcome"], df["closes_at"], strict=True)
        ]
        if status is not None:
            if status not in ("open", "closed", "resolved"):
                raise InvalidInput("status must be open, closed or resolved")
            df = df[df["status"] == status]
        if tag is not None:
            tag = tag.strip().lower()
            df = df[[tag in tags for tags in df["tags"]]]
        if by is not None:
            who = domain.parse_forecaster(by)
            df = df[[c == who or (isinstance(fs, list) and who in fs)
                     for c, fs in zip(df["created_by"], df["forecasters"], strict=True)]]
        return df.drop(columns=["forecasters"]).reset_index(drop=True)

    def _forecasts_sql(self, clock: str) -> str:
        base = self._clock_filter("made_at", clock)
        fix_cond = "recorded_at <= $as_of"
        return f"""
            SELECT b.seq, b.question, b.forecaster, b.made_at, b.recorded_at,
                   CASE WHEN c.seq IS NULL THEN b.probability ELSE c.probability END AS probability,
                   CASE WHEN c.seq IS NULL THEN b.probabilities ELSE c.probabilities END AS probabilities,
                   CASE WHEN c.seq IS NULL THEN b.rationale ELSE c.rationale END AS rationale,
                   b.source, b.source_id, b.model_version, b.params, b.backtest,
                   c.seq AS corrected_by
            FROM (SELECT * FROM forecasts WHERE corrects IS NULL AND {base}) b
            LEFT JOIN (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY corrects ORDER BY seq DESC) AS k
                                      FROM forecasts WHERE corrects IS NOT NULL AND {fix_cond}) WHERE k = 1) c
              ON c.corrects = b.seq
            WHERE c.seq IS NULL OR NOT c.retracted"""

    def forecasts(self, as_of: object = None, *, clock: str = "both", question: str | None = None,
                  forecaster: str | None = None, include_backtest: bool = True) -> Any:
        """Live forecasts as of a time, corrections applied and retractions left out, in ``seq`` order.

        Columns: seq, question, forecaster, made_at, recorded_at, probability (P(yes), NaN for
        multiple choice), probabilities (dict or None), rationale, source, source_id,
        model_version, params, backtest, corrected_by.
        """
        t = self._as_of(as_of)
        sql = f"SELECT * FROM ({self._forecasts_sql(clock)}) WHERE true"
        params: dict[str, Any] = {"as_of": t}
        if question is not None:
            sql += " AND question = $q"
            params["q"] = domain.parse_question_id(question)
        if forecaster is not None:
            sql += " AND forecaster = $f"
            params["f"] = domain.parse_forecaster(forecaster)
        if not include_backtest:
            sql += " AND NOT backtest"
        return self._frame(sql + " ORDER BY seq", params)

    def events(self, as_of: object = None, *, clock: str = "both", tag: str | None = None,
               by: str | None = None, since: object = None) -> Any:
        """Events as of a time in world-time order; the ``seq`` column is the event id."""
        t = self._as_of(as_of)
        sql = f"SELECT * EXCLUDE (prev_hash, hash) FROM events WHERE {self._clock_filter('occurred_at', clock)}"
        params: dict[str, Any] = {"as_of": t}
        if since is not None:
            sql += " AND occurred_at >= $since"
            params["since"] = domain.parse_time(since, "since date")
        if by is not None:
            sql += " AND created_by = $by"
            params["by"] = domain.parse_forecaster(by)
        df = self._frame(sql + " ORDER BY occurred_at, seq", params)
        if tag is not None:
            tag = tag.strip().lower()
            df = df[[tag in tags for tags in df["tags"]]].reset_index(drop=True)
        return df

    def evidence(self, as_of: object = None, *, clock: str = "both", question: str | None = None) -> Any:
        """Evidence assessments joined to their events (both known as of the time)."""
        t = self._as_of(as_of)
        sql = self._evidence_sql(clock)
        params: dict[str, Any] = {"as_of": t}
        if question is not None:
            sql += " AND question = $q"
            params["q"] = domain.parse_question_id(question)
        return self._frame(sql + " ORDER BY occurred_at, seq", params)

    def _evidence_sql(self, clock: str) -> str:
        known = self._clock_filter("occurred_at", clock, "e.") + " AND " + self._clock_filter(None, clock, "v.")
        return f"""SELECT * FROM (
                     SELECT v.seq, v.question, v.event, v.assessed_by, v.lr, v.strength, v.weight, v.note,
                            v.source, v.recorded_at, e.occurred_at, e.title AS event_title, e.cameo, e.goldstein
                     FROM evidence v JOIN events e ON e.seq = v.event WHERE {known}) v WHERE true"""

    def _resolutions_sql(self, clock: str) -> str:
        return f"""SELECT * EXCLUDE (k) FROM (
                     SELECT question, outcome, resolved_at, resolved_by, note, source, recorded_at, seq,
                            row_number() OVER (PARTITION BY question ORDER BY seq DESC) AS k
                     FROM resolutions WHERE {self._clock_filter('resolved_at', clock)}) WHERE k = 1"""

    def resolutions(self, as_of: object = None, *, clock: str = "both", latest: bool = True) -> Any:
        """Resolutions as of a time: the latest per question (default) or every row."""
        t = self._as_of(as_of)
        if latest:
            sql = self._resolutions_sql(clock) + " ORDER BY question"
        else:
            sql = f"SELECT * EXCLUDE (prev_hash, hash) FROM resolutions WHERE {self._clock_filter('resolved_at', clock)} ORDER BY seq"
        return self._frame(sql, {"as_of": t})

    def history(self, question: str, as_of: object = None, *, clock: str = "both") -> Any:
        """Everything dated about one question, in world-time order: its opening, forecasts
        (corrections and retractions shown as such), assessed events, resolutions, close."""
        import pandas as pd

        qid = domain.parse_question_id(question)
        t = self._as_of(as_of)
        qs = self.questions(t, clock=clock)
        q = qs[qs["id"] == qid]
        if q.empty:
            raise UnknownQuestion(f"no question {qid!r}; see 'forecasts questions'")
        q = q.iloc[0]
        rows = [{"at": q["opens_at"], "kind": "opens", "who": q["created_by"], "what": q["title"], "seq": q["seq"]}]
        raw = self._frame(
            f"SELECT * FROM forecasts WHERE question = $q AND {self._clock_filter('made_at', clock)} ORDER BY seq",
            {"q": qid, "as_of": t})
        for r in raw.itertuples():
            if r.probabilities:
                value = ", ".join(f"{k}={v:.1%}" for k, v in r.probabilities.items())
            else:
                value = "" if pd.isna(r.probability) else f"{r.probability:.1%}"
            kind = "retraction" if r.retracted else ("forecast" if pd.isna(r.corrects) else "correction")
            what = value if kind == "forecast" else (f"of row {int(r.corrects)}" + (f": {value}" if value else ""))
            if not pd.isna(r.rationale) and r.rationale:
                what += f" ({r.rationale})"
            rows.append({"at": r.made_at, "kind": kind, "who": r.forecaster, "what": what, "seq": r.seq})
        for r in self.evidence(t, clock=clock, question=qid).itertuples():
            rows.append({"at": r.occurred_at, "kind": "event", "who": r.assessed_by,
                         "what": f"#{r.event} {r.event_title} (LR {r.lr:.3g}" + (f", weight {r.weight:g}" if r.weight != 1 else "") + ")",
                         "seq": r.seq})
        for r in self.resolutions(t, clock=clock, latest=False).itertuples():
            if r.question == qid:
                rows.append({"at": r.resolved_at, "kind": "resolution", "who": r.resolved_by,
                             "what": r.outcome + (f" ({r.note})" if r.note else ""), "seq": r.seq})
        rows.append({"at": q["closes_at"], "kind": "closes", "who": "", "what": "scheduled close", "seq": q["seq"]})
        df = pd.DataFrame(rows)
        df["at"] = pd.to_datetime(df["at"]).astype("datetime64[us]")
        return df.sort_values(["at", "seq"], kind="stable").reset_index(drop=True)

    def due(self, by: str | None = None, *, within: object = "14d", stale: object = "30d",
            as_of: object = None) -> Any:
        """Open questions that need attention from ``by``: closing within ``within``, or whose
        latest forecast by ``by`` is older than ``stale`` (or who has not forecast them yet)."""
        import pandas as pd

        who = domain.parse_forecaster(by)
        t = self._as_of(as_of)
        soon, old = domain.parse_duration(within, "--within"), domain.parse_duration(stale, "--stale")
        qs = self.questions(t, status="open")
        mine = self.forecasts(t, forecaster=who)
        last = mine.groupby("question")["made_at"].max() if not mine.empty else pd.Series(dtype="datetime64[us]")
        rows = []
        for q in qs.itertuples():
            left = q.closes_at - t
            latest = last.get(q.id)
            reasons = []
            if left <= soon:
                reasons.append(f"closes in {_ago(left)}")
            if latest is None or pd.isna(latest):
                reasons.append("no forecast from you yet")
            elif t - latest > old:
                reasons.append(f"your last forecast is {_ago(t - latest)} old")
            if reasons:
                rows.append({"question": q.id, "title": q.title, "closes_at": q.closes_at,
                             "days_left": left / timedelta(days=1),
                             "last_forecast_at": latest if latest is not None else pd.NaT,
                             "why": "; ".join(reasons)})
        cols = ["question", "title", "closes_at", "days_left", "last_forecast_at", "why"]
        return pd.DataFrame(rows, columns=cols).sort_values("closes_at").reset_index(drop=True)

    # ------------------------------------------------------------------ integrity and export
    def verify(self, head: str | None = None) -> integrity.Verification:
        """Recompute the hash chain over every ledger row; optionally check the head hash
        printed by an earlier ``verify`` (which detects removal of the newest rows)."""
        with self._connect() as con:
            result = integrity.verify_rows(self._chain_rows(con))
        if result.ok and head is not None:
            known = self._hash_seq(head)
            if known is None:
                return integrity.Verification(False, result.rows, result.head,
                                              f"the expected head {head[:12]}... is not in the ledger: rows were removed or rewritten")
        return result

    @staticmethod
    def _chain_rows(con, *, in_transaction: bool = False) -> Iterator[tuple[str, tuple[str, ...], tuple]]:
        """Every ledger row of every table as ``(table, columns, values)``, merged in seq order.

        Streams each table through its own cursor; inside a transaction (whose rows other
        cursors cannot see yet) each table is read whole on ``con`` instead.
        """

        def stream(table):
            cols = _COLUMNS[table] + ("prev_hash", "hash")
            sql = f"SELECT {', '.join(cols)} FROM {table} ORDER BY seq"
            if in_transaction:
                for values in con.execute(sql).fetchall():
                    yield values[0], table, cols, values
                return
            cur = con.cursor()
            cur.execute(sql)
            while batch := cur.fetchmany(10_000):
                for values in batch:
                    yield values[0], table, cols, values

        for _, table, cols, values in heapq.merge(*(stream(t) for t in LEDGER_TABLES), key=lambda x: x[0]):
            yield table, cols, values

    def _hash_seq(self, h: str) -> int | None:
        union = " UNION ALL ".join(f"SELECT seq FROM {t} WHERE hash = $h" for t in LEDGER_TABLES)
        with self._connect() as con:
            row = _first(con.execute(union, {"h": h}).fetchall())
        return None if row is None else row[0]

    def export(self, out: str | os.PathLike, fmt: str = "csv") -> dict[str, Path]:
        """Write every table (ledger tables with their hashes, and the migrations table) to
        ``out/<table>.<fmt>``; returns the files.  Parquet keeps exact types; CSV writes
        timestamps with microseconds and doubles in round-trip form."""
        if fmt not in ("csv", "parquet"):
            raise InvalidInput("export format must be csv or parquet")
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise InvalidInput(f"{folder} exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        files = {}
        with self._connect() as con:
            for table in (*LEDGER_TABLES, "_forecasts_migrations"):
                target = folder / f"{table}.{fmt}"
                opts = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
                order = "version" if table.startswith("_") else "seq"
                con.execute(f"COPY (SELECT * FROM {table} ORDER BY {order}) TO '{_sql_path(target)}' {opts}")
                files[table] = target
        return files

    def restore(self, folder: str | os.PathLike) -> dict[str, int]:
        """Load an :meth:`export` (CSV or Parquet) into this empty ledger, row for row.

        Rows keep their ``seq``, ``recorded_at`` and hashes, so the restored ledger has the same
        chain and head as the exported one.  The chain is verified inside the transaction: a
        tampered export is refused and nothing is written.  Returns rows per table.
        """
        from forecasts.errors import IntegrityError

        src = Path(folder)
        if not src.is_dir():
            raise InvalidInput(f"{src} is not a folder written by 'forecasts export'")
        if any(self.counts().values()):
            raise InvalidInput(f"ledger {self.path} is not empty; restore into a new ledger file")
        files = {}
        for table in LEDGER_TABLES:
            found = [src / f"{table}.{ext}" for ext in ("parquet", "csv") if (src / f"{table}.{ext}").exists()]
            if not found:
                raise InvalidInput(f"{src} holds no {table}.csv or {table}.parquet")
            files[table] = found[0]
        counts = {}
        with self._transaction() as (con, _head):
            for table, path in files.items():
                described = con.execute(f"DESCRIBE {table}").fetchall()
                cols = ", ".join(r[0] for r in described)
                if path.suffix == ".csv":
                    types = ", ".join(f"'{r[0]}': '{r[1]}'" for r in described)
                    reader = f"read_csv('{_sql_path(path)}', header = true, columns = {{{types}}})"
                else:
                    reader = f"read_parquet('{_sql_path(path)}')"
                try:
                    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {reader}")
                except duckdb.Error as exc:
                    raise InvalidInput(f"cannot read {path.name}: {str(exc).splitlines()[0]}") from None
                counts[table] = _first(con.execute(f"SELECT count(*) FROM {table}").fetchall())[0]
            result = integrity.verify_rows(self._chain_rows(con, in_transaction=True))
            if not result.ok:
                raise IntegrityError(f"the export does not verify, nothing restored: {result.problem}")
        return counts

    def counts(self) -> dict[str, int]:
        """Rows per ledger table."""
        with self._connect() as con:
            return {t: _first(con.execute(f"SELECT count(*) FROM {t}").fetchall())[0] for t in LEDGER_TABLES}


def _first(rows: list) -> Any:
    """The first row of a fully fetched result, or None (a result fetched only in part would
    block the next statement on the connection)."""
    return rows[0] if rows else None


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _ago(delta: timedelta) -> str:
    days = delta / timedelta(days=1)
    return f"{days:.0f} days" if abs(days) >= 2 else f"{delta / timedelta(hours=1):.0f} hours"
