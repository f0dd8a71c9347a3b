"""The ledger: an append-only, hash-chained record of questions, forecasts, events, evidence
and resolutions.

Storage design
--------------
* **Append only.**  There is no UPDATE or DELETE path on a ledger table.  A correction or a
  retraction of a forecast is a new forecast row whose ``corrects`` column holds the ``seq`` of
  the row it fixes; a re-resolution is a new resolution row, and the latest one counts.
* **Two clocks.**  Every row has a world time (``made_at``, ``occurred_at``, ``resolved_at``,
  ``opens_at``) given by the caller and validated, and a ledger time ``recorded_at`` that the
  storage sets from its own clock.  A live forecast whose ``made_at`` differs from that clock by
  more than :data:`~forecasts.domain.CLOCK_TOLERANCE` is refused (no backdating).  Imported
  history (``source`` ``import:<platform>``) keeps its original world times.
* **As-of reads.**  Every read takes ``as_of`` (default: now) and returns what the ledger knew
  then: rows recorded at or before ``as_of`` whose world time is at or before ``as_of``.  With
  ``clock="world"`` only the world time is filtered, which replays imported history (recorded
  all at once, long after the fact) as it unfolded in the world.
* **Rules once, storage behind an interface.**  Every rule a row must keep is in
  :mod:`forecasts.ledger.rules`, called alike for one live row and for a whole import; the rows
  are kept by a :class:`~forecasts.ledger.storage.Storage` backend (one DuckDB file by default,
  :mod:`forecasts.ledger.duckdb_storage`), which appends in one transaction, reads a table as
  of a moment and keeps the hash chain.  Nothing above this class knows which backend it uses.
* **Tamper evidence.**  Each row extends one SHA-256 chain, see
  :mod:`forecasts.ledger.integrity`; :meth:`Ledger.verify` walks it.
* **Validate, then write.**  Every append validates all of its input first and writes in one
  transaction: on any error nothing is written.

Frames come back as pandas DataFrames with naive UTC ``datetime64[us]`` columns; lists and
mappings stored as JSON are decoded.  pandas is imported only by the methods that return
frames, so ``forecasts log`` never loads it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from forecasts import domain
from forecasts.errors import (
    IntegrityError,
    InvalidDate,
    InvalidInput,
    StoreMissing,
    UnknownEvent,
    UnknownForecast,
    UnknownQuestion,
)
from forecasts.ledger import integrity, rules
from forecasts.ledger.duckdb_storage import DuckDBStorage
from forecasts.ledger.migrations import LEDGER_TABLES, V1_TABLES
from forecasts.ledger.sql import RULE_ROWS, Dialect
from forecasts.ledger.sql import rule_rows_sql as sql_rules
from forecasts.ledger.storage import Clock, ExportFormat, Head, Storage, Table, Transaction
from forecasts.paths import is_folder, output_folder

DEFAULT_PATH = Path("data") / "forecasts.duckdb"
#: From this many rows on, :meth:`Ledger.verify` checks the chain vectorised; below it the
#: walk is faster (the vectorised check costs about 0.3 s of frames and connections whatever
#: the size: 0.37 s against the walk's 0.08 s on the 257-row demo ledger).
VECTORISED_VERIFY_FROM = 20_000
#: How many of the newest rows :meth:`Ledger.quick_check` re-hashes before every command.
QUICK_CHECK_ROWS = 1_000
#: Row numbers are BIGINTs: larger ones cannot name a row.
_MAX_SEQ = 2**63 - 1


def default_path() -> Path | str:
    """``FORECASTS_DB`` if set (a file path or a ``postgresql://`` URL), else
    ``data/forecasts.duckdb`` under the current folder."""
    env = os.environ.get("FORECASTS_DB")
    if env and env.startswith(("postgresql://", "postgres://")):
        return env
    return Path(env or DEFAULT_PATH)


def _storage(location: str | os.PathLike[str], lock_timeout: float) -> Storage:
    """The backend a location names: a ``postgresql://`` URL is a team ledger on a server,
    anything else a DuckDB file."""
    if isinstance(location, str) and location.startswith(("postgresql://", "postgres://")):
        from forecasts.ledger.postgres_storage import PostgresStorage

        return PostgresStorage(location, lock_timeout=lock_timeout)
    return DuckDBStorage(location, lock_timeout=lock_timeout)


def _row_number(value: object, error: type[InvalidInput], what: str) -> int:
    if isinstance(value, bool):
        raise error(f"{what} {value!r} must be a row number")
    try:
        n = value if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        raise error(f"{what} {value!r} must be a row number") from None
    if not 0 < n <= _MAX_SEQ:
        raise error(f"no {what} {n}")
    return n


def _live_forecast(qid: str, forecaster: str, made_at: datetime, p: float | None, ps: dict[str, float] | None,
                   rationale: str | None, source: str, *, corrects: int | None = None,
                   retracted: bool = False) -> dict[str, Any]:
    """A live forecast row (a correction or retraction when it ``corrects`` another)."""
    return {"question": qid, "forecaster": forecaster, "made_at": made_at, "probability": p,
            "probabilities": rules.to_json(ps), "rationale": rationale, "source": source,
            "source_id": None, "model_version": None, "params": None, "backtest": False,
            "corrects": corrects, "retracted": retracted}


def _question(tx: Transaction, qid: str, *, prefix: bool = False) -> dict[str, Any]:
    """The question ``qid``; with ``prefix``, also the one question whose id starts with it."""
    q = tx.question(qid)
    if q is None and prefix:
        ids = tx.question_ids_starting(qid)
        if len(ids) > 1:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            raise UnknownQuestion(f"{qid!r} starts several question ids ({shown}); give more of it")
        q = tx.question(ids[0]) if ids else None
    if q is None:
        raise UnknownQuestion(f"no question {qid!r}; list the questions to see their ids")
    return q


def _one_read[T](method: Callable[..., T]) -> Callable[..., T]:
    """A listing's reads share one read-only connection (:meth:`Storage.reading`): opening one
    costs about 15 ms, and a listing makes up to five reads; they also see one state of the
    ledger."""

    @functools.wraps(method)
    def read(self: Ledger, *args: Any, **kwargs: Any) -> T:
        with self.storage.reading():
            return method(self, *args, **kwargs)

    return read


class Ledger:
    """An append-only forecast ledger.

    Open it with :meth:`Ledger.open`: a DuckDB file, or a team ledger on a PostgreSQL server
    (``Ledger.open("postgresql://alice@host/team")``, see
    :mod:`forecasts.ledger.postgres_storage`); every method works the same on both.  On the
    team ledger the forecaster of a live row is the connected role and the clock is the
    server's.

    >>> import tempfile, pathlib
    >>> ledger = Ledger.open(pathlib.Path(tempfile.mkdtemp()) / "l.duckdb", create=True)
    >>> q = ledger.add_question("rain", title="Rain tomorrow?", closes="2300-01-01")
    >>> ledger.log("rain", "70%", by="ana")["probability"]
    0.7
    >>> ledger.verify().ok
    True
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 5.0,
                 storage: Storage | None = None, key: bytes | None = None, force: bool = False):
        self.lock_timeout = lock_timeout
        #: Write even when :meth:`quick_check` fails (``forecasts --force``); otherwise such a
        #: write is refused (:class:`~forecasts.errors.IntegrityError`) and nothing is written.
        self.force = force
        #: The head the last :meth:`quick_check` passed on: the next write, if it finds that
        #: head, is not checked again (a command checks once); any write clears it.
        self._trusted: Head | None = None
        #: The team key (kept outside the ledger): every write is sealed with it, see
        #: :mod:`forecasts.ledger.integrity`.  None writes unsealed, which a sealed ledger refuses.
        self.key = integrity.check_key(key)
        self.storage: Storage = storage if storage is not None else _storage(path, lock_timeout)
        #: Where the ledger is, as messages show it (a file, or a URL without its password).
        self.location = self.storage.location
        #: The DuckDB file (for a team ledger: a name for its outputs, such as the report's).
        self.path = Path(self.location.rsplit("/", 1)[-1].split("?")[0] + ".team") if self.is_team else Path(path)

    @property
    def is_team(self) -> bool:
        """Whether this is a team ledger on a server (identity and clock from the server)."""
        return not isinstance(self.storage, DuckDBStorage)

    @property
    def folder(self) -> Path:
        """The folder for files that belong with this ledger (fitted models): the DuckDB
        file's folder, or ``data/`` under the working folder for a team ledger."""
        return Path("data") if self.is_team else self.path.parent

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, create: bool = False,
             lock_timeout: float = 5.0, key: bytes | None = None, force: bool = False) -> Ledger:
        """Open the ledger at ``path`` (default :func:`default_path`).

        With ``create=True`` a missing file (and its folder) is created and migrated; otherwise a
        missing file raises :class:`~forecasts.errors.StoreMissing`.  ``key``: the team key
        that seals every write (:attr:`key`); ``force``: write despite a failed
        :meth:`quick_check` (:attr:`force`).
        """
        ledger = cls(path if path is not None else default_path(), lock_timeout=lock_timeout, key=key, force=force)
        if not ledger.storage.exists():
            if not create:
                raise StoreMissing(f"no ledger at {ledger.location}; create one first (forecasts init)")
            ledger.storage.create()
        return ledger

    def init(self) -> list[str]:
        """Create the ledger if needed and apply pending migrations; return their names."""
        return self.storage.create()

    def _transact(self, work: Any, *, cover: bool = False) -> Any:
        """Run ``work`` in one write transaction of the storage and, when it appended rows (or
        with ``cover``, when the head is not yet in the log of writes), record the head it
        leaves, sealed with :attr:`key` if there is one.  A write that would break the ledger's
        seals is refused (:func:`~forecasts.ledger.integrity.check_writable`), in the same
        transaction, so nothing of it is written.  So is any write to a ledger that fails its
        :meth:`quick_check`, unless :attr:`force`; the check runs in the write's transaction,
        unless :meth:`quick_check` has just passed on the head the write finds (a command
        checks once, when it opens the ledger)."""
        key = self.key

        def sealed(tx: Transaction) -> Any:
            before, trusted, self._trusted = tx.head(), self._trusted, None
            if not self.force and before != trusted:  # just checked by quick_check: not twice
                checked = _quick_check(tx, before)
                if not checked.ok:
                    raise IntegrityError(f"ledger {self.location} fails its check: {checked.problem}; nothing "
                                         "was written. Run 'forecasts verify'; 'forecasts --force ...' writes anyway")
            last = tx.last_write()
            result = work(tx)
            after = tx.head()
            covered = last[0] if last is not None else 0
            if after.next_seq != before.next_seq or (cover and after.next_seq - 1 > covered):
                integrity.check_writable(last, before.next_seq, before.hash, key)
                tx.record_write(None if key is None else integrity.head_mac(key, after.next_seq - 1, after.hash))
            return result

        return self.storage.transact(sealed)

    # ------------------------------------------------------------------ appends
    def add_question(self, qid: str, *, title: str, closes: object, criteria: str | None = None,
                     kind: str = "binary", options: object = None, ordered: bool = False,
                     opens: object = None, tags: object = None, base_rate: object = None,
                     reference_class: str | None = None, by: str | None = None,
                     source: str = "notebook", source_id: str | None = None) -> dict[str, Any]:
        """Add a question.  ``opens`` defaults to now; ``closes`` is the deadline (world time).

        ``kind`` is ``binary`` or ``multiple_choice`` (then ``options`` names at least two
        options; ``ordered=True`` scores them with the ranked probability score).
        """
        row = rules.question_row(qid, title=title, closes=closes, criteria=criteria, kind=kind,
                                 options=options, ordered=ordered, opens=opens, tags=tags,
                                 base_rate=base_rate, reference_class=reference_class,
                                 by=_named(by) or "pending", source=source, source_id=source_id)
        who = _named(by)

        def write(tx: Transaction) -> None:
            row["created_by"] = who or tx.actor
            rules.check_new_question(row["id"], in_ledger=tx.question(row["id"]) is not None)
            tx.append("questions", [row])

        self._transact(write)
        return row

    def log(self, question: str, probability: object = None, *, options: object = None,
            by: str | None = None, why: str | None = None, made_at: object = None,
            allow_certainty: bool = False, source: str = "notebook", id_prefix: bool = False) -> dict[str, Any]:
        """Record a live forecast made now and return the stored row.

        ``id_prefix``: ``question`` may be the start of one question's id (``forecasts log``
        takes ``new-st`` for ``new-start-extension``); the start of several is refused.

        Binary questions take ``probability`` (``0.65``, ``"65%"``, ``"13:7"``);
        multiple-choice questions take ``options`` (``{"a": 0.6, "b": 0.4}`` or
        ``["a=0.6", "b=0.4"]``).  Refused, with nothing written: an unknown question; one that
        is resolved, not yet open or past its close; a certain forecast without
        ``allow_certainty``; a ``made_at`` away from the store's clock by more than
        :data:`~forecasts.domain.CLOCK_TOLERANCE`; a forecaster name with a reserved prefix.
        """
        qid = domain.parse_question_id(question)
        who = _named(by)
        rationale = domain.optional_text(why, "rationale")
        src = rules.check_source(source, live=True)
        stated = None if made_at is None else domain.parse_time(made_at, "made_at")

        def write(tx: Transaction) -> dict[str, Any]:
            forecaster = who or tx.actor
            q = _question(tx, qid, prefix=id_prefix)
            p, ps = rules.question_probabilities(q, probability, options, allow_certainty)
            resolution = tx.latest_resolution(q["id"])
            made = rules.check_live_forecast(q, stated=stated, clock=tx.now,
                                             resolution=None if resolution is None else resolution[0])
            row = _live_forecast(q["id"], forecaster, made, p, ps, rationale, src)
            tx.append("forecasts", [row])
            return row

        return self._transact(write)

    def ask(self, title: str, probability: object, *, closes: object = None, tags: object = None,
            why: str | None = None, by: str | None = None, source: str = "notebook") -> dict[str, Any]:
        """Quick capture, as in Fatebook: create a binary question from its title and log a
        forecast on it, in one write.  The id is made from the title
        (:func:`~forecasts.domain.id_from_title`, with ``-2``, ``-3``... if taken); the question
        closes at ``closes``, else at the last ISO date in the title (refused if there is
        none).  Returns ``{"question": row, "forecast": row}``.
        """
        deadline = closes if closes is not None else domain.date_in_title(str(title or ""))
        if deadline is None:
            raise InvalidDate("a question needs a closing date: put one in the title as YYYY-MM-DD, or give closes (--closes)")
        base = domain.id_from_title(str(title or ""))
        who = _named(by)
        rationale = domain.optional_text(why, "rationale")
        src = rules.check_source(source, live=True)
        question = rules.question_row(base, title=title, closes=deadline, tags=tags, by=who or "pending", source=src)

        def write(tx: Transaction) -> dict[str, Any]:
            qid, n = base, 2
            while tx.question(qid) is not None:
                qid, n = f"{base}-{n}", n + 1
            q = {**question, "id": qid, "created_by": who or tx.actor}
            tx.append("questions", [q])
            p, ps = rules.question_probabilities({**q, "options": None}, probability, None, False)
            made = rules.check_live_forecast(q, stated=None, clock=tx.now, resolution=None)
            row = _live_forecast(qid, who or tx.actor, made, p, ps, rationale, src)
            tx.append("forecasts", [row])
            return {"question": q, "forecast": row}

        return self._transact(write)

    def correct(self, seq: int, probability: object = None, *, options: object = None,
                why: str | None = None, by: str | None = None, allow_certainty: bool = False,
                source: str = "notebook") -> dict[str, Any]:
        """Correct a forecast (a typo, a wrong question): a new row pointing at row ``seq``.

        Reads then show the corrected values at the original ``made_at``.  Only the forecaster
        who made a live forecast can correct it, only while the question is open (not past its
        close, not resolved) and only within :data:`~forecasts.ledger.rules.CORRECTION_GRACE`
        (10 minutes) of when the original was recorded; later, log a new forecast.
        """
        return self._amend(seq, probability, options, why, by, allow_certainty, source, retract=False)

    def retract(self, seq: int, *, why: str | None = None, by: str | None = None,
                source: str = "notebook") -> dict[str, Any]:
        """Retract a forecast: a new row marks row ``seq`` withdrawn.

        Within :data:`~forecasts.ledger.rules.CORRECTION_GRACE` of when the forecast was
        recorded, reads leave it out altogether; later, the retraction only ends it from the
        moment it is recorded: the forecast stays in every read (it stood, and is scored), with
        ``ended_at`` set once the retraction is known.  The same rules as :meth:`correct`.
        """
        return self._amend(seq, None, None, why, by, False, source, retract=True)

    def _amend(self, seq: object, probability: object, options: object, why: str | None, by: str | None,
               allow_certainty: bool, source: str, *, retract: bool) -> dict[str, Any]:
        target_seq = _row_number(seq, UnknownForecast, "forecast row")
        who = _named(by)
        rationale = domain.optional_text(why, "rationale")
        src = rules.check_source(source, live=True)

        def write(tx: Transaction) -> dict[str, Any]:
            forecaster = who or tx.actor
            target = tx.forecast(target_seq)
            if target is None:
                raise UnknownForecast(f"no forecast with row number {target_seq}")
            q = _question(tx, target["question"])
            resolution = tx.latest_resolution(q["id"])
            made = rules.check_amendment({**target, "seq": target_seq}, q, forecaster=forecaster, clock=tx.now,
                                         resolution=None if resolution is None else resolution[0],
                                         retract=retract)
            p, ps = (None, None) if retract else rules.question_probabilities(q, probability, options, allow_certainty)
            row = _live_forecast(q["id"], forecaster, made, p, ps, rationale, src,
                                 corrects=target_seq, retracted=retract)
            tx.append("forecasts", [row])
            return row

        return self._transact(write)

    def add_event(self, title: str, *, on: object, description: str | None = None,
                  source_url: str | None = None, actors: object = None, cameo: object = None,
                  goldstein: object = None, tags: object = None, date_precision: str = "day",
                  by: str | None = None, source: str = "notebook", source_id: str | None = None) -> dict[str, Any]:
        """Record a dated event (``on`` is its world time).  Returns the row; its ``seq`` is the event id.

        A CAMEO code fills in the Goldstein conflict-cooperation score (-10..+10) from
        ``data/cameo_goldstein.csv`` unless ``goldstein`` is given.
        """
        row = rules.event_row(title, on=on, description=description, source_url=source_url,
                              actors=actors, cameo=cameo, goldstein=goldstein, tags=tags,
                              date_precision=date_precision, by=_named(by) or "pending",
                              source=source, source_id=source_id)
        who = _named(by)

        def write(tx: Transaction) -> dict[str, Any]:
            row["created_by"] = who or tx.actor
            rules.check_event_time(row["occurred_at"], now=tx.now)
            tx.append("events", [row])
            return row

        return self._transact(write)

    def amend_question(self, question: str, *, title: object = None, criteria: object = None,
                       closes: object = None, tags: object = None, why: str | None = None,
                       by: str | None = None, source: str = "notebook") -> list[dict[str, Any]]:
        """Amend a question (a typo in the title, clearer criteria, a moved close, its tags): one
        new row per changed field; every read shows the question as amended from then on, and
        ``history`` lists each amendment.  The original row is never changed.

        Refused (:func:`~forecasts.ledger.rules.amendment_rows`): nothing that differs; an
        empty title; a close not after the opening, earlier than a forecast already made, or on
        a resolved question.  To withdraw a question, resolve it ``annulled``.  Returns the rows.
        """
        qid = domain.parse_question_id(question)
        who = _named(by)
        src = rules.check_source(source, live=True)

        def write(tx: Transaction) -> list[dict[str, Any]]:
            q = _question(tx, qid)
            resolution = tx.latest_resolution(qid)
            rows = rules.amendment_rows(q, title=title, criteria=criteria, closes=closes, tags=tags,
                                        resolution=None if resolution is None else resolution[0],
                                        last_forecast_at=tx.last_forecast_at(qid), reason=why)
            for row in rows:
                row.update(amended_by=who or tx.actor, source=src)
            tx.append("amendments", rows)
            return rows

        return self._transact(write)

    def retract_event(self, event: object, *, why: str | None = None, by: str | None = None,
                      source: str = "notebook") -> dict[str, Any]:
        """Withdraw an event (a duplicate, a report that proved false): a new row; from then on
        every read leaves the event out, and with it the evidence that assessed it (models
        updated later no longer count it; forecasts already recorded stay as they were).  The
        event's row is never changed; ``history`` shows the withdrawal."""
        seq = _row_number(event, UnknownEvent, "event")
        who = _named(by)
        src = rules.check_source(source, live=True)

        def write(tx: Transaction) -> dict[str, Any]:
            row = rules.event_withdrawal_row(seq, exists=tx.has_event(seq), withdrawn=tx.event_withdrawn(seq),
                                             reason=why)
            row.update(amended_by=who or tx.actor, source=src)
            tx.append("amendments", [row])
            return row

        return self._transact(write)

    def add_evidence(self, question: str, event: object, *, lr: object = None,
                     strength: object = None, weight: object = None, note: str | None = None,
                     by: str | None = None, source: str = "notebook") -> dict[str, Any]:
        """Assess what an event says about a question, as a likelihood ratio.

        ``lr`` = P(event | yes) / P(event | no), or ``strength`` such as ``"moderate for no"``
        (see :data:`~forecasts.domain.VERBAL_SCALE`); ``weight`` in (0, 1] discounts a report
        correlated with one already counted.
        """
        row = rules.evidence_row(question, _row_number(event, UnknownEvent, "event"), lr=lr,
                                 strength=strength, weight=weight, note=note,
                                 by=_named(by) or "pending", source=source)
        who = _named(by)

        def write(tx: Transaction) -> dict[str, Any]:
            row["assessed_by"] = who or tx.actor
            q = _question(tx, row["question"])
            resolution = tx.latest_resolution(q["id"])
            rules.check_live_evidence(q, resolution=None if resolution is None else resolution[0])
            if not tx.has_event(row["event"]):
                raise UnknownEvent(f"no event {row['event']}; list the events to find its id")
            rules.check_event_kept(row["event"], withdrawn=tx.event_withdrawn(row["event"]))
            tx.append("evidence", [row])
            return row

        return self._transact(write)

    def resolve(self, question: str, outcome: str, *, on: object = None, note: str | None = None,
                by: str | None = None, source: str = "notebook") -> dict[str, Any]:
        """Resolve a question (``on``: when it resolved in the world, default now; a bare date
        on the question's opening day means that day after it opened:
        :func:`~forecasts.ledger.rules.resolution_moment`).

        A later call re-resolves it: the newest resolution counts and scores are recomputed.
        Refused: a resolution dated before the question opens or in the future.
        """
        qid = domain.parse_question_id(question)
        stated = None if on is None else domain.parse_time(on, "resolution date")
        bare = domain.is_bare_date(on)
        who = _named(by)
        row = {"question": qid, "resolved_by": who,
               "note": domain.optional_text(note, "note"),
               "source": domain.optional_text(source, "source", 200) or "notebook"}

        def write(tx: Transaction) -> dict[str, Any]:
            q = _question(tx, qid)
            at = rules.resolution_moment(q, stated, bare=bare, now=tx.now)
            done = {**row, "resolved_by": who or tx.actor, "resolved_at": at,
                    "outcome": rules.check_resolution(q, outcome, at, now=tx.now)}
            tx.append("resolutions", [done])
            return done

        return self._transact(write)

    # ------------------------------------------------------------------ bulk history
    def import_history(self, *, questions: Sequence[dict] | rules.CheckedRows = (),
                       events: Sequence[dict] | rules.CheckedRows = (),
                       forecasts: Sequence[dict] = (), evidence: Sequence[dict] = (),
                       resolutions: Sequence[dict] = (), source: str,
                       forecast_frame: Any = None, first_line: int = 2,
                       allow_certainty: bool = False) -> dict[str, int]:
        """Append historical rows that keep their original world times, in one transaction.

        ``source`` (``import:<platform>``, ``model:<name>``, ``backtest:<name>``) marks every
        row.  Each forecast must fall inside its question's open period and not in the future;
        events are referred to by their position in ``events`` as ``{"event_index": i}`` or by
        an existing id as ``{"event": seq}``.  ``forecast_frame`` adds many forecasts at once
        (its questions may be among ``questions``), in the same transaction: a frame as for
        :meth:`import_forecast_frame`, or a :class:`~forecasts.ledger.rules.CheckedForecasts`
        an importer has already checked (against this ledger's questions and its own);
        ``questions`` and ``events`` may likewise be :class:`~forecasts.ledger.rules.CheckedRows`.
        Everything is validated before anything is committed: on any error nothing is written.
        Returns the number of rows added per table (and ``forecasts_skipped_existing`` for
        frame rows already in the ledger).
        """
        src = rules.check_source(source, live=False)
        qrows = _checked(questions, "questions", src, lambda q: rules.question_row(**{**q, "source": src}))
        erows = _checked(events, "events", src, lambda e: rules.event_row(**{**e, "source": src}))

        def write(tx: Transaction) -> dict[str, int]:
            for e in erows:
                rules.check_event_time(e["occurred_at"], now=tx.now, title=e["title"])
            known: dict[str, dict[str, Any]] = {}
            in_ledger = tx.existing_questions([q["id"] for q in qrows])
            for q in qrows:
                rules.check_new_question(q["id"], in_ledger=q["id"] in in_ledger, twice=q["id"] in known)
                known[q["id"]] = {**q, "options": rules.json_list(q["options"])}

            def question(qid: object) -> dict[str, Any]:
                qid = domain.parse_question_id(qid)
                if qid not in known:
                    known[qid] = _question(tx, qid)
                return known[qid]

            frows = []
            for i, f in enumerate(forecasts):
                q = question(f["question"])
                p, ps = rules.question_probabilities(q, f.get("probability"), f.get("options"),
                                                     f.get("allow_certainty", False))
                made = domain.parse_time(f["made_at"], "made_at")
                try:
                    rules.check_forecast_time(rules.Problems(), made, q["opens_at"], q["closes_at"],
                                              now=tx.now, question=q["id"])
                except InvalidInput as exc:
                    raise type(exc)(f"forecast {i + 1}: {exc.message}") from None
                params = f.get("params")
                frows.append({"question": q["id"], "forecaster": domain.parse_forecaster(f["forecaster"]),
                              "made_at": made, "probability": p, "probabilities": rules.to_json(ps),
                              "rationale": domain.optional_text(f.get("rationale"), "rationale"),
                              "source": src, "source_id": domain.optional_text(f.get("source_id"), "source id", 200),
                              "model_version": domain.optional_text(f.get("model_version"), "model version", 100),
                              "params": rules.to_json(params) if params is not None else None,
                              "backtest": bool(f.get("backtest", rules.is_backtest_source(src))),
                              "corrects": None, "retracted": False})
            rrows = []
            for r in resolutions:
                q = question(r["question"])
                at = domain.parse_time(r["on"], "resolution date")
                rrows.append({"question": q["id"], "outcome": rules.check_resolution(q, r["outcome"], at, now=tx.now),
                              "resolved_at": at, "resolved_by": domain.parse_forecaster(r.get("by")),
                              "note": domain.optional_text(r.get("note"), "note"), "source": src})
            vrows = []
            for v in evidence:
                if "event_index" in v:
                    idx = int(v["event_index"])
                    if not 0 <= idx < len(erows):
                        raise UnknownEvent(f"evidence refers to event_index {idx}, outside the import")
                    event: object = None
                else:
                    event = v["event"]
                q = question(v["question"])
                rules.check_evidence_question(q)
                row = rules.evidence_row(q["id"], 1 if event is None else event,
                                         lr=v.get("lr"), strength=v.get("strength"), weight=v.get("weight"),
                                         note=v.get("note"), by=v.get("by"), source=src)
                if event is not None and not tx.has_event(row["event"]):
                    raise UnknownEvent(f"no event {row['event']}")
                vrows.append((v.get("event_index"), row))
            checked = None
            if forecast_frame is not None and len(forecast_frame):
                checked = forecast_frame
                if not isinstance(forecast_frame, rules.CheckedForecasts):
                    checked = rules.check_forecast_frame(
                        forecast_frame, _question_index(tx, known), source=src, now=tx.now,
                        lines=range(first_line, first_line + len(forecast_frame)), allow_certainty=allow_certainty)
                elif forecast_frame.source != src:
                    raise InvalidInput(f"forecasts checked for {forecast_frame.source} cannot be written as {src}")
            tx.append("questions", qrows)
            first_event = tx.append("events", erows)
            tx.append("forecasts", frows)
            framed = {"added": 0, "skipped_existing": 0}
            if checked is not None:
                framed = _append_new(tx, checked)
            for idx, row in vrows:
                if idx is not None:
                    row["event"] = first_event + int(idx)
            tx.append("evidence", [row for _, row in vrows])
            tx.append("resolutions", rrows)
            return {"questions": len(qrows), "events": len(erows), "forecasts": len(frows) + framed["added"],
                    "evidence": len(vrows), "resolutions": len(rrows),
                    "forecasts_skipped_existing": framed["skipped_existing"]}

        return self._transact(write)

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
        Returns ``{"added": n, "would_add": n, "skipped_existing": k, "rows": len(frame)}``.
        """
        src = rules.check_source(source, live=False)

        def write(tx: Transaction) -> dict[str, Any]:
            checked = rules.check_forecast_frame(frame, tx.questions(), source=src, now=tx.now,
                                                 lines=range(first_line, first_line + len(frame)),
                                                 allow_certainty=allow_certainty)
            fresh = _fresh(tx, checked)
            if not dry_run:
                tx.append("forecasts", fresh)
            n = len(frame)
            return {"added": 0 if dry_run else len(fresh), "would_add": len(fresh),
                    "skipped_existing": n - len(fresh), "rows": n}

        return self._transact(write)

    def new_source_ids(self, table: Table, source: str, ids: Any) -> int:
        """How many of ``ids`` (an Arrow array of text) are not yet in ``table`` under
        ``source``: what an import of them would add (counted without reading them all out)."""
        return self.storage.new_source_ids(table, source, ids)

    def existing_source_ids(self, table: Table, source: str) -> set[str]:
        """The ``source_id`` values already in ``table`` under ``source`` (what a re-import skips)."""
        return self.storage.transact(lambda tx: tx.source_ids(table, source))

    # ------------------------------------------------------------------ reads
    def _as_of(self, as_of: object) -> datetime:
        """The moment a read is as of: the one given, else now on the ledger's clock."""
        return self.storage.now() if as_of is None else domain.parse_time(as_of, "as-of date")

    def records(self, table: Table, as_of: object = None, *, clock: Clock = "both",
                question: str | None = None) -> list[dict[str, Any]]:
        """The rows of one table as of a time, as plain dicts, without pandas (the fast path
        that closed-form models use).  ``forecasts`` has corrections applied and retractions
        left out; ``resolutions`` holds the latest per question; ``evidence`` rows carry their
        event's ``occurred_at``, ``event_title``, ``cameo`` and ``goldstein``.  JSON columns are
        decoded; times are naive UTC datetimes.  Ordered by ``seq``.
        """
        return self.records_many((table,), as_of, clock=clock, question=question)[table]

    @property
    def dialect(self) -> Dialect:
        """The SQL of the backend (``duckdb`` or ``postgres``): what :meth:`query` runs."""
        return self.storage.dialect

    def query(self, sql: str, as_of: object = None, *, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The rows of a read-only query written over the ledger's as-of reads
        (:mod:`forecasts.ledger.sql`, in the backend's :attr:`dialect`), computed by the database
        and returned as plain dicts without pandas: how a score table of millions of forecasts is
        computed where the ledger lives (:mod:`forecasts.runs.scores`).  ``$as_of``, where the
        query has it, is bound to ``as_of`` (default now, on the ledger's clock), the other
        ``$name`` marks to ``params``.
        """
        moment = {"as_of": self._as_of(as_of)} if "$as_of" in sql else {}
        return self.storage.query(sql, {**(params or {}), **moment})

    def records_many(self, tables: Sequence[Table], as_of: object = None, *, clock: Clock = "both",
                     question: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """:meth:`records` of several tables read in one go (one file open)."""
        for table in tables:
            if table not in LEDGER_TABLES:
                raise InvalidInput(f"unknown table {table!r}; one of {', '.join(LEDGER_TABLES)}")
        _check_clock(clock)
        qid = None if question is None else domain.parse_question_id(question)
        return self.storage.records(tables, self._as_of(as_of), clock=clock, question=qid)

    def _question_filter(self, as_of: object, clock: Clock, status: str | None, tag: str | None,
                         by: str | None) -> tuple[datetime, Any]:
        """The moment and the row test of :meth:`questions` (the one place its filters live)."""
        if status is not None and status not in ("open", "closed", "resolved"):
            raise InvalidInput("status must be open, closed or resolved")
        _check_clock(clock)
        t = self._as_of(as_of)
        who = None if by is None else domain.parse_forecaster(by)
        wanted = None if tag is None else tag.strip().lower()

        def keep(row: dict[str, Any]) -> bool:
            forecasters = row["forecasters"]
            return ((status is None or row["status"] == status)
                    and (wanted is None or wanted in row["tags"])
                    and (who is None or row["created_by"] == who or (isinstance(forecasters, list) and who in forecasters)))

        return t, keep

    @staticmethod
    def _status(outcome: object, closes_at: datetime, t: datetime) -> str:
        """``resolved`` (a resolution is known), ``closed`` (past its scheduled close) or ``open``."""
        return "resolved" if isinstance(outcome, str) else ("closed" if closes_at <= t else "open")

    def questions(self, as_of: object = None, *, clock: Clock = "both", status: str | None = None,
                  tag: str | None = None, by: str | None = None) -> Any:
        """Questions as of a time, with their latest resolution and forecast counts, ordered by
        scheduled close then id.

        ``status``: ``open`` (unresolved, not past close), ``closed`` (past close, unresolved),
        ``resolved``; ``tag`` keeps questions carrying it; ``by`` keeps questions that
        forecaster created or forecast.  :meth:`question_records` gives the same rows as plain
        dicts, without pandas.
        """
        t, keep = self._question_filter(as_of, clock, status, tag, by)
        df = self.storage.read("questions", t, clock=clock)
        df["status"] = [self._status(o, c, t) for o, c in zip(df["outcome"], df["closes_at"], strict=True)]
        if status is not None or tag is not None or by is not None:
            cols = ["status", "tags", "created_by", "forecasters"]
            df = df.loc[[keep(dict(zip(cols, r, strict=True))) for r in zip(*(df[c] for c in cols), strict=True)]]
        return df.drop(columns=["forecasters"]).reset_index(drop=True)

    @_one_read
    def question_records(self, as_of: object = None, *, clock: Clock = "both", status: str | None = None,
                         tag: str | None = None, by: str | None = None) -> list[dict[str, Any]]:
        """:meth:`questions` as plain dicts (the same rows, columns and order), without pandas."""
        t, keep = self._question_filter(as_of, clock, status, tag, by)
        out = []
        for row in self.storage.read_records("questions", t, clock=clock):
            row["status"] = self._status(row["outcome"], row["closes_at"], t)
            if keep(row):
                del row["forecasters"]
                out.append(row)
        return out

    def forecasts(self, as_of: object = None, *, clock: Clock = "both", question: str | None = None,
                  forecaster: str | None = None, include_backtest: bool = True) -> Any:
        """Live forecasts as of a time, corrections applied and retractions left out, in ``seq`` order.

        Columns: seq, question, forecaster, made_at, recorded_at, probability (P(yes), NaN for
        multiple choice), probabilities (dict or None), rationale, source, source_id,
        model_version, params, backtest, corrected_by, ended_at (when a late retraction ended
        the forecast, NaT while it stands).
        """
        return self.storage.read(
            "forecasts", self._as_of(as_of), clock=_check_clock(clock),
            question=None if question is None else domain.parse_question_id(question),
            forecaster=None if forecaster is None else domain.parse_forecaster(forecaster),
            include_backtest=include_backtest)

    def events(self, as_of: object = None, *, clock: Clock = "both", tag: str | None = None,
               by: str | None = None, since: object = None) -> Any:
        """Events as of a time in world-time order; the ``seq`` column is the event id.
        :meth:`event_records` gives the same rows as plain dicts, without pandas."""
        t, keep = self._event_filter(as_of, clock, tag, by, since)
        df = self.storage.read("events", t, clock=clock)
        if tag is not None or by is not None or since is not None:
            cols = ["occurred_at", "created_by", "tags"]
            df = df.loc[[keep(dict(zip(cols, r, strict=True))) for r in zip(*(df[c] for c in cols), strict=True)]]
        return df.reset_index(drop=True)

    @_one_read
    def event_records(self, as_of: object = None, *, clock: Clock = "both", tag: str | None = None,
                      by: str | None = None, since: object = None) -> list[dict[str, Any]]:
        """:meth:`events` as plain dicts (the same rows, columns and order), without pandas."""
        t, keep = self._event_filter(as_of, clock, tag, by, since)
        return [r for r in self.storage.read_records("events", t, clock=clock) if keep(r)]

    def _event_filter(self, as_of: object, clock: Clock, tag: str | None, by: str | None,
                      since: object) -> tuple[datetime, Any]:
        """The moment and the row test of :meth:`events` (the one place its filters live)."""
        _check_clock(clock)
        t = self._as_of(as_of)
        start = None if since is None else domain.parse_time(since, "since date")
        who = None if by is None else domain.parse_forecaster(by)
        wanted = None if tag is None else tag.strip().lower()

        def keep(row: dict[str, Any]) -> bool:
            return ((start is None or row["occurred_at"] >= start) and (who is None or row["created_by"] == who)
                    and (wanted is None or wanted in row["tags"]))

        return t, keep

    def evidence(self, as_of: object = None, *, clock: Clock = "both", question: str | None = None) -> Any:
        """Evidence assessments joined to their events (both known as of the time)."""
        return self.storage.read("evidence", self._as_of(as_of), clock=_check_clock(clock),
                                 question=None if question is None else domain.parse_question_id(question))

    def resolutions(self, as_of: object = None, *, clock: Clock = "both", latest: bool = True) -> Any:
        """Resolutions as of a time: the latest per question (default) or every row."""
        return self.storage.read("resolutions", self._as_of(as_of), clock=_check_clock(clock), latest=latest)

    def history(self, question: str, as_of: object = None, *, clock: Clock = "both") -> Any:
        """Everything dated about one question, in world-time order: its opening, forecasts
        (corrections and retractions shown as such), assessed events, resolutions, its
        amendments and the withdrawals of events assessed for it (at when they were recorded),
        and its close (as amended).
        Columns ``at, kind, who, what, seq``; :meth:`history_records` as plain dicts."""
        import pandas as pd

        df = pd.DataFrame(self.history_records(question, as_of, clock=clock))
        df["at"] = pd.to_datetime(df["at"]).astype("datetime64[us]")
        return df

    @_one_read
    def history_records(self, question: str, as_of: object = None, *, clock: Clock = "both") -> list[dict[str, Any]]:
        """:meth:`history` as plain dicts, without pandas."""
        qid = domain.parse_question_id(question)
        _check_clock(clock)
        t = self._as_of(as_of)
        qs = self.storage.read_records("questions", t, clock=clock, question=qid)
        if not qs:
            raise UnknownQuestion(f"no question {qid!r}; list the questions to see their ids")
        q = qs[0]
        rows = [{"at": q["opens_at"], "kind": "opens", "who": q["created_by"], "what": q["title"], "seq": q["seq"]}]
        for r in self.storage.read_records("forecasts", t, clock=clock, question=qid, raw=True):
            if r["probabilities"]:
                value = ", ".join(f"{k}={v:.1%}" for k, v in r["probabilities"].items())
            else:
                value = "" if r["probability"] is None else f"{r['probability']:.1%}"
            fixes = r["corrects"]
            kind = "retraction" if r["retracted"] else ("forecast" if fixes is None else "correction")
            what = value if fixes is None else (f"of row {int(fixes)}" + (f": {value}" if value else ""))
            if isinstance(r["rationale"], str) and r["rationale"]:
                what += f" ({r['rationale']})"
            rows.append({"at": r["made_at"], "kind": kind, "who": r["forecaster"], "what": what, "seq": r["seq"]})
        for r in self.storage.read_records("evidence", t, clock=clock, question=qid):
            rows.append({"at": r["occurred_at"], "kind": "event", "who": r["assessed_by"],
                         "what": f"#{r['event']} {r['event_title']} (LR {r['lr']:.3g}"
                                 + (f", weight {r['weight']:g}" if r["weight"] != 1 else "") + ")",
                         "seq": r["seq"]})
        for r in self.storage.read_records("resolutions", t, clock=clock, question=qid, latest=False):
            rows.append({"at": r["resolved_at"], "kind": "resolution", "who": r["resolved_by"],
                         "what": r["outcome"] + (f" ({r['note']})" if r["note"] else ""), "seq": r["seq"]})
        for r in self.storage.read_records("amendments", t, clock=clock, question=qid):
            why = f" ({r['reason']})" if r["reason"] else ""
            if r["about"] == "event":
                rows.append({"at": r["recorded_at"], "kind": "withdrawal", "who": r["amended_by"],
                             "what": f"of event #{r['target']}{why}", "seq": r["seq"]})
            else:
                rows.append({"at": r["recorded_at"], "kind": "amendment", "who": r["amended_by"],
                             "what": f"{r['field'].replace('closes_at', 'close')}: {_amended_value(r)}{why}",
                             "seq": r["seq"]})
        rows.append({"at": q["closes_at"], "kind": "closes", "who": "", "what": "scheduled close", "seq": q["seq"]})
        rows.sort(key=lambda r: (r["at"], r["seq"]))  # stable, as the frame's sort was
        return rows

    def due(self, by: str | None = None, *, within: object = "14d", stale: object = "30d",
            as_of: object = None) -> Any:
        """Open questions that need attention from ``by``: closing within ``within``, or whose
        latest forecast by ``by`` is older than ``stale`` (or who has not forecast them yet).
        Columns ``question, title, closes_at, days_left, last_forecast_at, why``, soonest close
        first; :meth:`due_records` as plain dicts."""
        import pandas as pd

        cols = ["question", "title", "closes_at", "days_left", "last_forecast_at", "why"]
        df = pd.DataFrame(self.due_records(by, within=within, stale=stale, as_of=as_of), columns=cols)
        for col in ("closes_at", "last_forecast_at"):
            df[col] = pd.to_datetime(df[col]).astype("datetime64[us]")
        df["days_left"] = df["days_left"].astype(float)
        return df

    @_one_read
    def due_records(self, by: str | None = None, *, within: object = "14d", stale: object = "30d",
                    as_of: object = None) -> list[dict[str, Any]]:
        """:meth:`due` as plain dicts, without pandas (``last_forecast_at`` None when ``by`` has
        not forecast the question)."""
        who = domain.parse_forecaster(by)
        t = self._as_of(as_of)
        soon, old = domain.parse_duration(within, "closing window"), domain.parse_duration(stale, "staleness")
        qs = self.question_records(t, status="open")
        last: dict[str, datetime] = {}
        for f in self.storage.read_records("forecasts", t, forecaster=who):
            if f["question"] not in last or f["made_at"] > last[f["question"]]:
                last[f["question"]] = f["made_at"]
        rows = []
        for q in qs:
            left = q["closes_at"] - t
            latest = last.get(q["id"])
            reasons = []
            if left <= soon:
                reasons.append(f"closes in {_ago(left)}")
            if latest is None:
                reasons.append("no forecast from you yet")
            elif t - latest > old:
                reasons.append(f"your last forecast is {_ago(t - latest)} old")
            if reasons:
                rows.append({"question": q["id"], "title": q["title"], "closes_at": q["closes_at"],
                             "days_left": left / timedelta(days=1), "last_forecast_at": latest,
                             "why": "; ".join(reasons)})
        rows.sort(key=lambda r: r["closes_at"])
        return rows

    def reminders(self, by: str | None = None, *, stale: object = "30d", as_of: object = None) -> list[dict[str, Any]]:
        """What a calendar of ``by``'s work holds (``forecasts due --ics``), as plain dicts: every
        open question with ``question``, ``title``, ``closes_at`` and ``stale_at``, when ``by``'s
        latest forecast on it becomes ``stale`` old (None without one), in closing order."""
        who = domain.parse_forecaster(by)
        t = self._as_of(as_of)
        old = domain.parse_duration(stale, "staleness")
        last: dict[str, datetime] = {}
        for f in self.storage.read_records("forecasts", t, forecaster=who):
            if f["question"] not in last or f["made_at"] > last[f["question"]]:
                last[f["question"]] = f["made_at"]
        return [{"question": q["id"], "title": q["title"], "closes_at": q["closes_at"],
                 "stale_at": last[q["id"]] + old if q["id"] in last else None}
                for q in sorted(self.question_records(t, status="open"), key=lambda q: q["closes_at"])]

    # ------------------------------------------------------------------ integrity and export
    def quick_check(self) -> integrity.Verification:
        """A check cheap enough to run before every command: the newest
        :data:`QUICK_CHECK_ROWS` rows re-hashed and linked (all of them on a smaller ledger),
        and the chain's head is the one the tool's last write recorded in the log of writes
        (no row was appended behind its back).  An older row altered in place is found by
        :meth:`verify` only, which checks everything."""
        with self.storage.reading():
            head = self.storage.head()
            result = _quick_check(self.storage, head)
        if result.ok and result.head == head.hash:
            self._trusted = head
        return result

    def verify(self, head: str | None = None, *, key: bytes | None = None) -> integrity.Verification:
        """Recompute the hash chain over every ledger row, then re-check the ledger's own rules
        on every row (:func:`~forecasts.ledger.rules.ledger_breaches`: a row with a valid hash
        but an impossible time is named).

        ``head``: a head printed by an earlier verify (``HASH``, ``SEQ:HASH`` or, signed,
        ``SEQ:HASH:MAC``): the chain must pass through it at its ``seq``; ``appended`` counts
        the rows after it.  ``key``: the team key (at least 16 bytes, kept outside the ledger):
        a signed head is checked against it and the current head is returned signed
        (``signed_head``); every seal in the log of writes is checked, and rows after the last
        seal fail (:func:`~forecasts.ledger.integrity.check_seals`).  Without the key the seals
        are only counted (``seals``).
        """
        integrity.check_key(key)
        if head is not None:
            try:
                integrity.parse_head(head)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
        with self.storage.reading():
            return self._verify(head, key)

    def _verify(self, head: str | None, key: bytes | None) -> integrity.Verification:
        result = self._verify_chain()
        if not result.ok:
            return result
        breaches = rules.ledger_breaches({rows: self.storage.arrays(sql_rules(rows), {}) for rows in RULE_ROWS})
        if breaches:
            seq, message = breaches[0]
            more = f" ({len(breaches)} rows break the ledger's rules)" if len(breaches) > 1 else ""
            table = message.split(" ", 1)[0]
            return integrity.Verification(False, result.rows, result.head, message + more, table, seq)
        if key is not None:
            result = integrity.Verification(True, result.rows, result.head,
                                            signed_head=integrity.sign_head(key, result.rows, result.head))
        result = integrity.check_seals(result, self.storage.seals(), key)
        if not result.ok or head is None:
            return result
        _, h, _ = integrity.parse_head(head)
        try:
            return integrity.check_head(result, head, self.storage.find_hash(h), key)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None

    def _verify_chain(self) -> integrity.Verification:
        """The hash chain checked: on a larger ledger first in batches (each table's stretches
        of rows hashed from the texts the backend builds, the links between them and the
        numbering checked apart: :func:`~forecasts.ledger.integrity.check_batches`); only when
        that finds something wrong is the chain walked row by row
        (:func:`~forecasts.ledger.integrity.verify_rows`), which names the first bad row.  Both
        check the same thing."""
        if self.storage.head().next_seq - 1 >= VECTORISED_VERIFY_FROM:
            checked = self.storage.check_chain()
            if checked is not None:
                return integrity.Verification(True, *checked)
        return integrity.verify_rows(self.storage.chain())

    def export(self, out: str | os.PathLike[str], fmt: ExportFormat = "csv") -> dict[str, Path]:
        """Write every table (ledger tables with their hashes, and the migrations table) to
        ``out/<table>.<fmt>``; returns the files.  Parquet keeps exact types; CSV writes
        timestamps with microseconds and doubles in round-trip form."""
        if fmt not in ("csv", "parquet"):
            raise InvalidInput("export format must be csv or parquet")
        self.storage.head()  # a file that is not a ledger is refused before the folder is made
        return self.storage.export(output_folder(out), fmt)

    def restore(self, folder: str | os.PathLike[str]) -> dict[str, int]:
        """Load an :meth:`export` (CSV or Parquet) into this empty ledger, row for row.

        Rows keep their ``seq``, ``recorded_at`` and hashes, so the restored ledger has the same
        chain and head as the exported one.  The chain is verified inside the transaction: a
        tampered export is refused and nothing is written.  Returns rows per table.
        """
        src = Path(folder)
        if not is_folder(src):
            raise InvalidInput(f"{src} is not a folder written by an export of the ledger")
        if any(self.counts().values()):
            raise InvalidInput(f"ledger {self.location} is not empty; restore into a new ledger")
        files = {}
        for table in LEDGER_TABLES:
            found = [src / f"{table}.{ext}" for ext in ("parquet", "csv") if (src / f"{table}.{ext}").is_file()]
            if found:
                files[table] = found[0]
            elif table in V1_TABLES:  # a later table is absent from an export written before it
                raise InvalidInput(f"{src} holds no {table}.csv or {table}.parquet")
        counts = {t: 0 for t in LEDGER_TABLES} | self.storage.restore(files)
        self._transact(lambda tx: None, cover=True)  # the restored head enters the log of writes
        return counts

    def restore_from(self, source: Ledger) -> dict[str, int]:
        """Copy every row of another ledger into this empty one, keeping each row's ``seq``,
        ``recorded_at`` and hashes (``forecasts push``: a personal DuckDB file into a new team
        ledger, or back).  The source is verified first and the copy inside the transaction;
        on any error nothing is written.  Returns rows per table."""
        import tempfile

        checked = source.verify(key=source.key)
        if not checked.ok:
            raise IntegrityError(f"{source.location} does not verify, nothing copied: {checked.problem}")
        with tempfile.TemporaryDirectory(prefix="forecasts-push-") as folder:
            source.export(folder, "parquet")
            return self.restore(folder)

    def counts(self) -> dict[str, int]:
        """Rows per ledger table."""
        return self.storage.counts()


def _quick_check(source: Storage | Transaction, head: Head) -> integrity.Verification:
    """:meth:`Ledger.quick_check` on a storage or inside a write transaction, whose head is ``head``."""
    since = max(1, head.next_seq - QUICK_CHECK_ROWS)
    result = integrity.verify_rows(source.chain(since), tail=since > 1)
    last = source.last_write_check() if result.ok else None
    if last is None:
        return result
    seq, h, mac, chain_hash, head_seq = last  # one snapshot: another writer's rows come with its record
    if chain_hash != h:
        problem = f"the chain no longer passes through the head of the tool's last write (seq {seq})"
    elif head_seq > seq and mac is not None:  # the words of integrity.check_writable
        problem = f"rows seq {seq + 1}..{head_seq} were appended without the team key since the last seal"
    elif head_seq > seq:
        problem = f"rows seq {seq + 1}..{head_seq} were appended behind the tool's back (after its last write, seq {seq})"
    else:
        return result
    return integrity.Verification(False, result.rows, result.head, problem)


def _amended_value(row: dict[str, Any]) -> str:
    """An amendment's new value as ``history`` shows it."""
    if row["field"] == "tags":
        return ", ".join(rules.json_list(row["value"]) or []) or "(none)"
    if row["field"] == "closes_at":
        return f"{domain.parse_time(row['value'], 'close'):%Y-%m-%d %H:%M}"
    return str(row["value"])


def _named(by: object) -> str | None:
    """The live forecaster named by ``by`` (checked), or None: the ledger's actor then, the
    connected role on a team ledger, ``FORECASTS_USER`` or the OS user on a file."""
    return None if by is None or by == "" else domain.parse_live_forecaster(by)


def _checked(rows: Sequence[dict] | rules.CheckedRows, table: str, source: str,
             check: Any) -> list[dict[str, Any]]:
    """Rows of ``table`` by the rules: checked here, or already checked for this source."""
    if isinstance(rows, rules.CheckedRows):
        if rows.table != table or rows.source != source:
            raise InvalidInput(f"{rows.table} rows checked for {rows.source} cannot be written as {table} of {source}")
        return [dict(r) for r in rows.rows]
    return [check(r) for r in rows]


def _check_clock(clock: object) -> Clock:
    if clock not in ("both", "world"):
        raise InvalidInput("clock must be 'both' or 'world'")
    return clock  # type: ignore[return-value]


def _question_index(tx: Transaction, incoming: dict[str, dict[str, Any]]) -> Any:
    """The questions a forecast frame may refer to: the ledger's and the import's own."""
    import pandas as pd

    qs = tx.questions()
    if incoming:
        new = pd.DataFrame([{"id": q["id"], "kind": q["kind"], "options": q["options"],
                             "opens_at": q["opens_at"], "closes_at": q["closes_at"]} for q in incoming.values()])
        qs = pd.concat([qs, new.set_index("id")])
        qs = qs[~qs.index.duplicated(keep="last")]
    return qs


def _fresh(tx: Transaction, checked: rules.CheckedForecasts) -> Any:
    """The checked rows whose ``(source, source_id)`` the ledger does not hold yet."""
    frame = checked.frame
    if not len(frame) or not frame["source_id"].notna().any():
        return frame
    existing = tx.source_ids("forecasts", checked.source)
    if not existing:
        return frame
    # object dtype: a hash-table look-up (pandas' Arrow-string isin of a large set took 3.5 s per 100k)
    return frame[~frame["source_id"].astype(object).isin(existing)].reset_index(drop=True)


def _append_new(tx: Transaction, checked: rules.CheckedForecasts) -> dict[str, int]:
    fresh = _fresh(tx, checked)
    tx.append("forecasts", fresh)
    return {"added": len(fresh), "skipped_existing": len(checked.frame) - len(fresh)}


def _ago(delta: timedelta) -> str:
    days = delta / timedelta(days=1)
    return f"{days:.0f} days" if abs(days) >= 2 else f"{delta / timedelta(hours=1):.0f} hours"

