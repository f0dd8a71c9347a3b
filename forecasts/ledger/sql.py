"""The ledger's reads as SQL, once for every backend: what "a table as of a moment" means.

Each builder returns SQL in which ``$name`` marks a parameter (``$as_of``, ``$q``, ``$f``); a
backend turns the marks into its driver's placeholders with :func:`placeholders`.  The SQL is
the common subset of DuckDB and PostgreSQL: every subquery has an alias, columns are named
(no ``SELECT * EXCLUDE``), and the one aggregate and the one expression that differ (a list of
distinct values; a time in microseconds, :func:`epoch_us`) are chosen by ``dialect``.

The semantics, the same on every backend:

* a row is known at ``$as_of`` when its world time (``made_at``, ``occurred_at``,
  ``resolved_at``; ``opens_at`` for questions under the world clock) is at or before it and,
  unless ``clock == "world"``, its ``recorded_at`` is too;
* ``forecasts`` have their latest retroactive correction (known at ``$as_of``; one made within
  the grace period, stamped with the original's ``made_at``) applied and rows retracted so left
  out; ``corrected_by`` names the correction.  A late retraction (stamped with its own time)
  leaves the forecast in: it stood until then, so it is still scored; ``ended_at`` is the
  retraction's time once it is known at ``$as_of`` (NULL otherwise);
* ``resolutions`` hold the latest per question unless ``latest=False``;
* ``evidence`` rows carry their event's ``occurred_at``, ``event_title``, ``cameo`` and
  ``goldstein`` and are known when both the event and the assessment are;
* the ``questions`` summary carries the latest ``outcome``/``resolved_at``, ``n_forecasts``,
  ``n_forecasters`` and ``forecasters``;
* ``questions`` read with their amendments known at ``$as_of`` applied (the latest per field:
  title, criteria, close, tags), and ``amended`` counts them; ``events`` and ``evidence`` leave
  out an event once its withdrawal is known.  Amendments are ledger facts: unless
  ``clock == "world"``, one counts from its ``recorded_at``; replaying world time, all count.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from forecasts.errors import InvalidInput
from forecasts.ledger.migrations import AMENDABLE, COLUMNS, LEDGER_TABLES, SCHEMA, WRITES_TABLE

Dialect = Literal["duckdb", "postgres"]
_MARK = re.compile(r"\$([a-z_]+)")


def placeholders(sql: str, dialect: Dialect) -> str:
    """``$name`` marks as the driver wants them: DuckDB takes them as they are, psycopg wants
    ``%(name)s`` (and a literal ``%``, as in ``LIKE 'import:%'``, written ``%%``).  The SQL is
    then run with parameters, even none (``{}``), so that psycopg reads the marks."""
    return sql if dialect == "duckdb" else _MARK.sub(r"%(\1)s", sql.replace("%", "%%"))


def stored_columns(table: str) -> str:
    """A table's columns as stored, without the hashes."""
    return ", ".join(COLUMNS[table])


def epoch_us(expr: str, dialect: Dialect) -> str:
    """SQL for a timestamp as whole microseconds since the epoch, exactly, on either backend (the
    one expression the two write differently: PostgreSQL's ``EXTRACT`` gives numeric seconds)."""
    return f"epoch_us({expr})" if dialect == "duckdb" else f"CAST(EXTRACT(EPOCH FROM {expr}) * 1000000 AS BIGINT)"


def clock_filter(world: str | None, clock: str, alias: str = "") -> str:
    """SQL keeping rows known as of ``$as_of``: world time (if any) and, unless
    ``clock == "world"``, ledger time (the :class:`~forecasts.ledger.Ledger` checked ``clock``)."""
    parts = [f"{alias}{world} <= $as_of"] if world else []
    if clock == "both":
        parts.append(f"{alias}recorded_at <= $as_of")
    return " AND ".join(parts) or "true"


def _amendments_known(clock: str) -> str:
    return clock_filter(None, clock, "m.")


def amended_questions_sql(clock: str) -> str:
    """The ``questions`` table with every amendment known at ``$as_of`` applied: the latest
    value per field (by ``seq``), its stored columns in their order, and ``amended``, how many
    amendments it has.  One pass over the amendments, grouped, joined once."""
    cols = []
    for c in COLUMNS["questions"]:
        if c in AMENDABLE:
            new = "CAST(a.closes_at AS TIMESTAMP)" if c == "closes_at" else f"a.{c}"
            cols.append(f"CASE WHEN a.has_{c} THEN {new} ELSE q.{c} END AS {c}")
        else:
            cols.append(f"q.{c}")
    pivot = ", ".join(f"max(CASE WHEN field = '{c}' THEN value END) AS {c}, "
                      f"bool_or(field = '{c}') AS has_{c}" for c in AMENDABLE)
    return f"""SELECT {', '.join(cols)}, coalesce(a.n, 0) AS amended
        FROM questions q LEFT JOIN (
          SELECT target, count(*) AS n, {pivot} FROM (
            SELECT m.target, m.field, m.value, row_number() OVER (PARTITION BY m.target, m.field ORDER BY m.seq DESC) AS k
            FROM amendments m WHERE m.about = 'question' AND {_amendments_known(clock)}) lm
          WHERE k = 1 GROUP BY target) a ON a.target = q.id"""


def event_kept(clock: str, seq: str) -> str:
    """SQL true for an event (its id in column ``seq``) not withdrawn as of ``$as_of``."""
    return (f"NOT EXISTS (SELECT 1 FROM amendments m WHERE m.about = 'event' AND m.field = 'withdrawn' "
            f"AND m.target = CAST({seq} AS VARCHAR) AND {_amendments_known(clock)})")


def forecasts_sql(clock: str) -> str:
    """Forecasts as of ``$as_of`` with their amendments (see the module docstring).

    A retroactive amendment is stamped with the original's ``made_at`` and recorded within
    :data:`~forecasts.ledger.rules.CORRECTION_GRACE` of it (one recorded later, written past the
    tool, rewrites nothing); the latest one so stamped counts.  A late retraction is stamped
    with its own, later time: the earliest one is ``ended_at``.  Each amendment subquery scans
    the table once, without a self-join, so a planner without statistics cannot make it
    quadratic."""
    from forecasts.ledger.rules import CORRECTION_GRACE

    base = clock_filter("made_at", clock)
    grace = f"INTERVAL '{int(CORRECTION_GRACE.total_seconds())} seconds'"
    return f"""
        SELECT b.seq, b.question, b.forecaster, b.made_at, b.recorded_at,
               CASE WHEN c.seq IS NULL THEN b.probability ELSE c.probability END AS probability,
               CASE WHEN c.seq IS NULL THEN b.probabilities ELSE c.probabilities END AS probabilities,
               CASE WHEN c.seq IS NULL THEN b.rationale ELSE c.rationale END AS rationale,
               b.source, b.source_id, b.model_version, b.params, b.backtest,
               c.seq AS corrected_by, e.ended_at
        FROM (SELECT * FROM forecasts WHERE corrects IS NULL AND {base}) b
        LEFT JOIN (SELECT * FROM (SELECT seq, corrects, made_at, recorded_at, probability, probabilities,
                                         rationale, retracted,
                                         row_number() OVER (PARTITION BY corrects, made_at ORDER BY seq DESC) AS k
                                  FROM forecasts WHERE corrects IS NOT NULL AND recorded_at <= $as_of) ck
                   WHERE k = 1) c
          ON c.corrects = b.seq AND c.made_at = b.made_at AND c.recorded_at <= b.recorded_at + {grace}
        LEFT JOIN (SELECT corrects, ended_at FROM (
                     SELECT corrects, min(made_at) OVER (PARTITION BY corrects) AS ended_at,
                            row_number() OVER (PARTITION BY corrects ORDER BY seq) AS k
                     FROM forecasts WHERE corrects IS NOT NULL AND retracted AND recorded_at <= $as_of) ek
                   WHERE k = 1) e
          ON e.corrects = b.seq AND e.ended_at > b.made_at
        WHERE c.seq IS NULL OR NOT c.retracted"""


def history_source_sql(column: str = "source") -> str:
    """SQL that is true where ``column`` names a history source
    (:data:`~forecasts.ledger.rules.HISTORY_PREFIXES`, the rule's one list)."""
    from forecasts.ledger.rules import HISTORY_PREFIXES

    return "(" + " OR ".join(f"{column} LIKE '{prefix}%'" for prefix in HISTORY_PREFIXES) + ")"


def evidence_sql(clock: str) -> str:
    """Evidence with its event, known once both are.  ``assessed_at`` is the assessment's own
    time: a live one was made when it was recorded; an imported one is dated by its source,
    which dates it by its event.  So even replaying world time (``clock == "world"``), a live
    assessment recorded after ``$as_of`` is not known then: no hindsight in a backtest."""
    history = history_source_sql("v.source")
    known = clock_filter("occurred_at", clock, "e.") + " AND " + clock_filter(None, clock, "v.")
    if clock == "world":
        known += f" AND ({history} OR v.recorded_at <= $as_of)"
    return f"""SELECT * FROM (
                 SELECT v.seq, v.question, v.event, v.assessed_by, v.lr, v.strength, v.weight, v.note,
                        v.source, v.recorded_at, e.occurred_at, e.title AS event_title, e.cameo, e.goldstein,
                        CASE WHEN {history} THEN e.occurred_at ELSE v.recorded_at END AS assessed_at
                 FROM evidence v JOIN events e ON e.seq = v.event WHERE {known} AND {event_kept(clock, 'e.seq')}) ev
               WHERE true"""


def resolutions_sql(clock: str) -> str:
    return f"""SELECT question, outcome, resolved_at, resolved_by, note, source, recorded_at, seq FROM (
                 SELECT question, outcome, resolved_at, resolved_by, note, source, recorded_at, seq,
                        row_number() OVER (PARTITION BY question ORDER BY seq DESC) AS k
                 FROM resolutions WHERE {clock_filter('resolved_at', clock)}) rk WHERE k = 1"""


def questions_sql(clock: str, dialect: Dialect) -> str:
    # A question exists once recorded; replaying world time, once it has opened.
    cond = clock_filter("opens_at" if clock == "world" else None, clock, "q.")
    distinct = ("list(DISTINCT forecaster)" if dialect == "duckdb"
                else "array_to_json(array_agg(DISTINCT forecaster))::text")
    return f"""SELECT * FROM (
        WITH r AS ({resolutions_sql(clock)}),
        f AS (SELECT question, count(*) AS n_forecasts, count(DISTINCT forecaster) AS n_forecasters,
                     {distinct} AS forecasters
              FROM ({forecasts_sql(clock)}) lf GROUP BY question)
        SELECT q.id, q.title, q.kind, q.options, q.ordered, q.opens_at, q.closes_at, q.tags,
               q.base_rate, q.reference_class, q.criteria, q.created_by, q.source, q.source_id,
               q.seq, q.recorded_at, q.amended, r.outcome, r.resolved_at,
               coalesce(f.n_forecasts, 0) AS n_forecasts, coalesce(f.n_forecasters, 0) AS n_forecasters,
               f.forecasters
        FROM ({amended_questions_sql(clock)}) q LEFT JOIN r ON r.question = q.id LEFT JOIN f ON f.question = q.id
        WHERE {cond}) qs WHERE true"""


def table_sql(table: str, clock: str, qid: str | None, *, dialect: Dialect = "duckdb", summary: bool = False,
              latest: bool = True, raw: bool = False) -> tuple[str, dict[str, Any]]:
    """The SQL of a table as of ``$as_of`` (ending in a WHERE clause, so filters can follow) and
    its parameters.  ``summary``: questions with their latest resolution and forecast counts;
    ``latest=False``: every resolution; ``raw``: forecast rows as stored, corrections as rows."""
    if table == "forecasts":
        sql = (f"SELECT {stored_columns('forecasts')} FROM forecasts WHERE {clock_filter('made_at', clock)}" if raw
               else f"SELECT * FROM ({forecasts_sql(clock)}) fc WHERE true")
    elif table == "resolutions":
        sql = (f"SELECT * FROM ({resolutions_sql(clock)}) rs WHERE true" if latest else
               f"SELECT {stored_columns('resolutions')} FROM resolutions WHERE {clock_filter('resolved_at', clock)}")
    elif table == "questions":
        world = "opens_at" if clock == "world" else None
        sql = (questions_sql(clock, dialect) if summary else
               f"SELECT * FROM ({amended_questions_sql(clock)}) aq WHERE {clock_filter(world, clock)}")
    elif table == "events":
        sql = (f"SELECT {stored_columns('events')} FROM events WHERE {clock_filter('occurred_at', clock)} "
               f"AND {event_kept(clock, 'events.seq')}")
    elif table == "evidence":
        sql = evidence_sql(clock)
    elif table == "amendments":
        # replaying world time every amendment counts; the mark keeps the read's parameters
        known = "$as_of IS NOT NULL" if clock == "world" else _amendments_known(clock)
        sql = f"SELECT {stored_columns('amendments')} FROM amendments m WHERE {known}"
        if qid is not None:  # the question's own, and the withdrawals of events assessed for it
            return sql + (" AND ((about = 'question' AND target = $q) OR (about = 'event' AND target IN "
                          "(SELECT CAST(event AS VARCHAR) FROM evidence WHERE question = $q)))"), {"q": qid}
    else:
        raise InvalidInput(f"unknown table {table!r}; one of {', '.join(LEDGER_TABLES)}")
    if qid is None:
        return sql, {}
    if table == "events":
        raise InvalidInput("events belong to no question; read evidence for a question's events")
    return sql + f" AND {'id' if table == 'questions' else 'question'} = $q", {"q": qid}


def read_sql(table: str, clock: str, question: str | None, *, dialect: Dialect, forecaster: str | None,
             include_backtest: bool, latest: bool, raw: bool) -> tuple[str, dict[str, Any]]:
    """The full read of :meth:`~forecasts.ledger.storage.Storage.read`: the table as of
    ``$as_of`` with its filters and its order."""
    sql, params = table_sql(table, clock, question, dialect=dialect, summary=True, latest=latest, raw=raw)
    if table == "forecasts":
        if forecaster is not None:
            sql += " AND forecaster = $f"
            params["f"] = forecaster
        if not include_backtest:
            sql += " AND NOT backtest"
    order = {"questions": "closes_at, id", "events": "occurred_at, seq", "evidence": "occurred_at, seq",
             "resolutions": "question" if latest else "seq", "forecasts": "seq", "amendments": "seq"}[table]
    return f"{sql} ORDER BY {order}", params


def head_sql() -> str:
    """The newest row's ``seq`` and ``hash`` over every ledger table."""
    union = " UNION ALL ".join(f"(SELECT seq, hash FROM {t} ORDER BY seq DESC LIMIT 1)" for t in LEDGER_TABLES)
    return f"SELECT seq, hash FROM ({union}) heads ORDER BY seq DESC LIMIT 1"


def find_hash_sql() -> str:
    return " UNION ALL ".join(f"SELECT seq FROM {t} WHERE hash = $h" for t in LEDGER_TABLES)


def last_write_check_sql() -> str:
    """In one statement (one snapshot, even while others write): the newest record of the log
    of writes ``seq, hash, mac``, the hash of the chain's row at that ``seq`` (NULL if there is
    none) and the chain's newest ``seq``; no row while the log is empty.  The row at that
    ``seq`` is found by joins on the one-row log, which DuckDB prunes by its zone maps (a
    correlated subquery per table read every hash: 0.2 s at a million forecasts)."""
    joins = " ".join(f"LEFT JOIN {t} t{i} ON t{i}.seq = w.seq" for i, t in enumerate(LEDGER_TABLES))
    at = ", ".join(f"t{i}.hash" for i in range(len(LEDGER_TABLES)))
    return (f"SELECT w.seq, w.hash, w.mac, coalesce({at}) AS chain_hash, "
            f"(SELECT seq FROM ({head_sql()}) hd) AS head_seq "
            f"FROM (SELECT seq, hash, mac FROM {WRITES_TABLE} ORDER BY seq DESC LIMIT 1) w {joins}")


def last_write_sql() -> str:
    """The newest record of the log of writes: ``seq, hash, mac``."""
    return f"SELECT seq, hash, mac FROM {WRITES_TABLE} ORDER BY seq DESC LIMIT 1"


def record_write_sql() -> str:
    """Append a record to the log of writes (``?`` parameters: seq, hash, written_at, mac)."""
    return f"INSERT INTO {WRITES_TABLE} (seq, hash, written_at, mac) VALUES (?, ?, ?, ?) RETURNING seq"


def seals_sql() -> str:
    """Every sealed write with the hash of the chain's row at its ``seq``."""
    rows = " UNION ALL ".join(f"SELECT seq, hash FROM {t}" for t in LEDGER_TABLES)
    return (f"SELECT w.seq, w.hash, w.mac, r.hash AS chain_hash FROM {WRITES_TABLE} w "
            f"LEFT JOIN ({rows}) r ON r.seq = w.seq WHERE w.mac IS NOT NULL ORDER BY w.seq")


def chain_sql(table: str, since: int = 1, *, tagged: bool = False) -> str:
    """A table's rows as hashed, in ``seq`` order, from ``seq`` ``since`` on (``tagged``: with
    the ``tag`` a DuckDB ledger stores, see :mod:`forecasts.ledger.migrations`)."""
    cols = COLUMNS[table] + ("prev_hash", "hash") + (("tag",) if tagged else ())
    where = f" WHERE seq >= {int(since)}" if since > 1 else ""
    return f"SELECT {', '.join(cols)} FROM {table}{where} ORDER BY seq"


def chain_start_sql(since: int) -> str:
    """The newest row at or before ``seq`` ``since`` that stores its ``prev_hash`` (a walk of
    the newest rows starts there), or NULL."""
    return "SELECT max(seq) FROM (" + " UNION ALL ".join(
        f"SELECT max(seq) AS seq FROM {t} WHERE seq <= {int(since)} AND prev_hash IS NOT NULL" for t in LEDGER_TABLES
    ) + ") starts"


#: The row sets :func:`rule_rows_sql` gives (``corrections`` are the forecast rows that amend another).
RULE_ROWS = ("forecasts", "corrections", "resolutions", "events", "questions", "amendments")


def rule_rows_sql(rows: str) -> str:
    """The stored columns :func:`forecasts.ledger.rules.ledger_breaches` re-checks, in ``seq``
    order, with no NULL in a number or truth column (so they read as plain arrays):

    * ``forecasts``: every forecast row, whether it is history (:func:`history_source_sql`) and
      whether it amends another;
    * ``corrections``: the rows that amend another, with the row they point at (its times,
      whether it is history; NULL times when there is none), its question's closing time (the
      latest of its own and of every close amendment, so that a correction made after a close
      was moved later is not taken for one made after the close) and when the question's first
      resolution was recorded; the amended rows are found first, so the join stays as small as
      the corrections;
    * ``amendments``: with whether the question or event they name exists, and the question's
      opening time;
    * ``events``, ``resolutions``, ``questions``: their times."""
    if rows == "forecasts":
        return (f"SELECT seq, made_at, recorded_at, {history_source_sql()} AS history, corrects IS NOT NULL AS amends "
                "FROM forecasts ORDER BY seq")
    if rows == "corrections":
        return f"""SELECT f.seq, f.made_at, f.recorded_at, {history_source_sql('f.source')} AS history,
                         f.corrects, f.retracted, t.made_at AS target_made_at, t.recorded_at AS target_recorded_at,
                         coalesce({history_source_sql('t.source')}, false) AS target_history,
                         q.closes_at AS target_closes_at, r.first_recorded AS target_resolved_recorded_at
                  FROM forecasts f
                  LEFT JOIN (SELECT seq, made_at, recorded_at, source, question FROM forecasts
                             WHERE seq IN (SELECT corrects FROM forecasts WHERE corrects IS NOT NULL)) t
                    ON t.seq = f.corrects
                  LEFT JOIN (SELECT q.id, greatest(q.closes_at, coalesce(c.latest, q.closes_at)) AS closes_at
                             FROM questions q LEFT JOIN (SELECT target, max(CAST(value AS TIMESTAMP)) AS latest
                                                         FROM amendments WHERE about = 'question' AND field = 'closes_at'
                                                         GROUP BY target) c ON c.target = q.id) q
                    ON q.id = t.question
                  LEFT JOIN (SELECT question, min(recorded_at) AS first_recorded FROM resolutions
                             GROUP BY question) r ON r.question = t.question
                  WHERE f.corrects IS NOT NULL
                  ORDER BY f.seq"""
    if rows == "amendments":  # with the question or event it names
        return """SELECT m.seq, m.recorded_at, m.about, m.field, m.value, q.id IS NOT NULL AS target_exists,
                         q.opens_at AS target_opens_at, e.seq IS NOT NULL AS event_exists
                  FROM amendments m
                  LEFT JOIN (SELECT id, min(opens_at) AS opens_at FROM questions GROUP BY id) q
                    ON m.about = 'question' AND q.id = m.target
                  LEFT JOIN events e ON m.about = 'event' AND CAST(e.seq AS VARCHAR) = m.target
                  ORDER BY m.seq"""
    world = {"events": "occurred_at", "resolutions": "resolved_at", "questions": "opens_at, closes_at"}[rows]
    return f"SELECT seq, recorded_at, {world} FROM {rows} ORDER BY seq"


#: A CSV cell that starts with one of these is read by a spreadsheet as a formula (OWASP's
#: list); the export puts a ``'`` before it, and before a cell that starts with ``'`` itself,
#: so the import can take exactly one off again and the export stays lossless.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
_STARTS = ", ".join("chr(9)" if c == "\t" else "chr(13)" if c == "\r" else "''''" if c == "'" else f"'{c}'"
                    for c in FORMULA_START)


def csv_guard(text: str) -> str:
    """A text cell as :func:`csv_safe` writes it, for writers outside SQL (the Fatebook export)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_unguard(text: str) -> str:
    """:func:`csv_guard` undone: the one ``'`` it put before the cell taken off again."""
    return text[1:] if text.startswith("'") else text


def text_columns(table: str) -> tuple[str, ...]:
    """A ledger table's text columns (the hashes included)."""
    types = {name: kind for name, kind, _, _ in SCHEMA[table]}
    return tuple(c for c in COLUMNS[table] if types.get(c) == "VARCHAR") + ("prev_hash", "hash")


def csv_safe(column: str) -> str:
    """SQL for a text column's value as a CSV cell no spreadsheet reads as a formula."""
    return f"CASE WHEN left({column}, 1) IN ({_STARTS}) THEN '''' || {column} ELSE {column} END AS {column}"


def csv_restored(column: str) -> str:
    """SQL undoing :func:`csv_safe` on a cell read back from an exported CSV."""
    return f"CASE WHEN left({column}, 1) = '''' THEN substr({column}, 2) ELSE {column} END AS {column}"


def export_sql(table: str, fmt: str, *, hashes: str | None = None) -> str:
    """Every row of a ledger table as exported: CSV cells made safe for spreadsheets
    (:func:`csv_safe`), Parquet as stored; ``hashes``: a relation ``seq, prev_hash, hash``
    that gives every row's hashes (a DuckDB ledger stores some of them only)."""
    text = text_columns(table) if fmt == "csv" else ()
    cols = [csv_safe(c) if c in text else c for c in COLUMNS[table] + ("prev_hash", "hash")]
    rows = table if hashes is None else (
        f"(SELECT {', '.join('t.' + c for c in COLUMNS[table])}, h.prev_hash, h.hash "
        f"FROM {table} t JOIN {hashes} h ON h.seq = t.seq) hashed")
    return f"SELECT {', '.join(cols)} FROM {rows} ORDER BY seq"
