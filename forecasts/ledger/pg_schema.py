"""The team ledger's schema on PostgreSQL: the tables, and the rules the server enforces itself.

The client (:mod:`forecasts.ledger.postgres_storage`) keeps every ledger rule of
:mod:`forecasts.ledger.rules`, as on DuckDB; what the server adds cannot be bypassed by a client
that speaks plain SQL:

* **Append only.**  ``UPDATE``, ``DELETE`` and ``TRUNCATE`` are revoked from every role, the
  owner too, and a trigger refuses them anyway.
* **One chain.**  A write starts with ``forecasts_begin()``, which takes the chain's advisory
  lock (held to the end of the transaction, so appends are serialised) and returns the head
  (``next_seq``, ``hash``), the server's clock and the connected role.  A statement trigger on
  every ledger table refuses rows that do not continue the chain at the head (``seq`` and
  ``prev_hash``) or whose ``recorded_at`` is not that clock, then moves the head.  The hashes
  themselves are computed by the client; ``forecasts verify`` recomputes them.
* **Identity.**  Row-level security: a live row (any source but ``import:``, ``model:``,
  ``backtest:``, ``demo:``) names the connected role (``session_user``) as its forecaster,
  assessor, creator or resolver, and a correction or retraction targets that role's own
  forecast; only members of ``forecasts_importer`` write history or rows in another's name.
* **The time rules** (migration 2): a live forecast is made at the server's clock, and an
  amendment is retroactive only within the correction window, or a retraction made now, and
  only while its question is open (:func:`m002_live_rules`).
* **The log of writes** (migration 3): each write records the head it left (sealed with the
  team key by a writer who holds it); the server takes a record only for the head as it is
  (:func:`m003_writes`).
* **Amendments** (migration 4): question amendments and event withdrawals, a ledger table
  like the others (:func:`m004_amendments`).
* **Roles** (group roles, one set per server): ``forecasts_analyst`` inserts forecasts,
  corrections and evidence; ``forecasts_editor`` adds questions, events, resolutions and
  amendments;
  ``forecasts_importer`` writes ``import:*`` and model rows; ``forecasts_admin`` may create
  roles.  Every role reads everything.

Migrations are numbered as on DuckDB and recorded in ``_forecasts_migrations``.
"""

from __future__ import annotations

from forecasts.ledger.integrity import GENESIS
from forecasts.ledger.migrations import LEDGER_TABLES, SCHEMA_V3, V1_TABLES, WRITES_TABLE, ddl, writes_ddl
from forecasts.ledger.sql import history_source_sql

GROUPS = ("forecasts_analyst", "forecasts_editor", "forecasts_importer", "forecasts_admin")
#: The advisory lock (in this database) that serialises appends to the chain.
CHAIN_LOCK = 7_426_001
#: Sources of history: only ``forecasts_importer`` writes them.
_HISTORY = history_source_sql()
#: Who may write each table, and which column names the writer of a live row.
WRITERS = {"questions": (("forecasts_editor",), "created_by"),
           "events": (("forecasts_editor",), "created_by"),
           "resolutions": (("forecasts_editor",), "resolved_by"),
           "forecasts": (("forecasts_analyst",), "forecaster"),
           "evidence": (("forecasts_analyst",), "assessed_by"),
           "amendments": (("forecasts_editor",), "amended_by")}


def _groups_sql() -> str:
    creates = "\n".join(
        f"  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{g}') THEN CREATE ROLE {g} NOLOGIN; END IF;"
        for g in GROUPS)
    return f"DO $$\nBEGIN\n{creates}\nEND $$"


def _end_restore_sql(tables: tuple[str, ...], create: str = "CREATE") -> str:
    """``forecasts_end_restore()``: the restored rows of ``tables`` checked as one chain, and
    the head set to its newest row."""
    return f"""{create} FUNCTION forecasts_end_restore() RETURNS BIGINT
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            DECLARE h RECORD; n BIGINT; last_seq BIGINT; last_hash TEXT; broken BIGINT;
            BEGIN
              SELECT * INTO h FROM _forecasts_head;
              IF h.txid IS DISTINCT FROM txid_current() OR NOT h.restoring THEN
                RAISE EXCEPTION 'no restore in progress' USING ERRCODE = '55000';
              END IF;
              WITH r AS ({" UNION ALL ".join(f"SELECT seq, prev_hash, hash, recorded_at FROM {t}" for t in tables)}),
                   l AS (SELECT seq, prev_hash, recorded_at, lag(seq) OVER (ORDER BY seq) AS pseq,
                                lag(hash) OVER (ORDER BY seq) AS phash FROM r)
              SELECT min(seq) INTO broken FROM l
               WHERE seq <> coalesce(pseq, 0) + 1 OR prev_hash <> coalesce(phash, '{GENESIS}')
                     OR recorded_at > h.clock;
              IF broken IS NOT NULL THEN
                RAISE EXCEPTION 'the restored rows do not form one chain (first break at seq %)', broken
                  USING ERRCODE = '23514';
              END IF;
              WITH r AS ({" UNION ALL ".join(f"SELECT seq, hash FROM {t}" for t in tables)})
              SELECT count(*), max(seq) INTO n, last_seq FROM r;
              WITH r AS ({" UNION ALL ".join(f"SELECT seq, hash FROM {t}" for t in tables)})
              SELECT hash INTO last_hash FROM r WHERE seq = last_seq;
              UPDATE _forecasts_head SET next_seq = coalesce(last_seq, 0) + 1, hash = coalesce(last_hash, '{GENESIS}'),
                                         restoring = false;
              RETURN n;
            END $$"""


def _table_guards(t: str) -> list[str]:
    """A ledger table's guards: the chain trigger, append only, grants and row-level security
    (a live row names the connected role as its writer)."""
    writers, who = WRITERS[t]
    out = [
        f"CREATE TRIGGER {t}_chain AFTER INSERT ON {t} REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION forecasts_chain_check()",
        # per statement: it fires even when row-level security leaves no row to touch
        f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
        "FOR EACH STATEMENT EXECUTE FUNCTION forecasts_append_only()",
        f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
        "FOR EACH STATEMENT EXECUTE FUNCTION forecasts_append_only()",
        f"REVOKE ALL ON {t} FROM PUBLIC",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {t} FROM CURRENT_USER",
        f"GRANT SELECT ON {t} TO forecasts_analyst, forecasts_editor, forecasts_importer, forecasts_admin",
        f"GRANT INSERT ON {t} TO {', '.join(writers)}, forecasts_importer",
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {t}_read ON {t} FOR SELECT USING (true)",
    ]
    live = f"NOT forecasts_is_history(source) AND {who} = session_user"
    if t == "forecasts":
        live += " AND NOT backtest AND (corrects IS NULL OR forecasts_author(corrects) = session_user)"
    out.append(f"CREATE POLICY {t}_write ON {t} FOR INSERT WITH CHECK (forecasts_may_import() OR ({live}))")
    return out


def m001_ledger() -> list[str]:
    """The ledger tables, the chain's head and its checks, append-only triggers, roles and
    row-level security."""
    out = [ddl(t, "postgres") for t in V1_TABLES]
    for t in V1_TABLES:
        out.append(f"CREATE UNIQUE INDEX {t}_seq ON {t} (seq)")
    out += [
        "CREATE INDEX forecasts_question ON forecasts (question, seq)",
        "CREATE INDEX forecasts_source_id ON forecasts (source, source_id)",
        "CREATE INDEX questions_id ON questions (id)",
        "CREATE INDEX resolutions_question ON resolutions (question, seq)",
        # the head: one row, moved only by the chain trigger
        "CREATE TABLE _forecasts_head (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), "
        "next_seq BIGINT NOT NULL, hash TEXT NOT NULL, txid BIGINT, clock TIMESTAMP, restoring BOOLEAN NOT NULL)",
        f"INSERT INTO _forecasts_head VALUES (true, 1, '{GENESIS}', NULL, NULL, false)",
        _groups_sql(),
        f"""CREATE FUNCTION forecasts_begin(OUT next_seq BIGINT, OUT hash TEXT, OUT clock TIMESTAMP, OUT actor TEXT)
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            BEGIN
              PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
              UPDATE _forecasts_head h
                 SET clock = CASE WHEN h.txid = txid_current() THEN h.clock
                                  ELSE clock_timestamp() AT TIME ZONE 'UTC' END,
                     txid = txid_current(), restoring = false
               RETURNING h.next_seq, h.hash, h.clock INTO next_seq, hash, clock;
              actor := session_user;
            END $$""",
        f"""CREATE FUNCTION forecasts_begin_restore() RETURNS VOID
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            BEGIN
              IF NOT pg_has_role(session_user, 'forecasts_admin', 'MEMBER') THEN
                RAISE EXCEPTION 'only a forecasts_admin may restore a ledger' USING ERRCODE = '42501';
              END IF;
              PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
              IF (SELECT next_seq FROM _forecasts_head) <> 1 THEN
                RAISE EXCEPTION 'the ledger is not empty: restore into a new ledger' USING ERRCODE = '55000';
              END IF;
              UPDATE _forecasts_head SET txid = txid_current(), clock = clock_timestamp() AT TIME ZONE 'UTC',
                                         restoring = true;
            END $$""",
        _end_restore_sql(V1_TABLES),
        """CREATE FUNCTION forecasts_chain_check() RETURNS TRIGGER
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            DECLARE h RECORD; n BIGINT; lo BIGINT; hi BIGINT;
            BEGIN
              SELECT * INTO h FROM _forecasts_head;
              IF h.txid IS DISTINCT FROM txid_current() THEN
                RAISE EXCEPTION 'appends to the ledger start with SELECT * FROM forecasts_begin()'
                  USING ERRCODE = '42501';
              END IF;
              IF h.restoring THEN
                RETURN NULL;  -- checked whole by forecasts_end_restore()
              END IF;
              SELECT count(*), min(seq), max(seq) INTO n, lo, hi FROM added;
              IF n = 0 THEN
                RETURN NULL;
              END IF;
              IF lo <> h.next_seq OR hi - lo + 1 <> n THEN
                RAISE EXCEPTION 'rows must continue the chain at seq % (got % to %)', h.next_seq, lo, hi
                  USING ERRCODE = '23514';
              END IF;
              IF EXISTS (SELECT 1 FROM added WHERE recorded_at IS DISTINCT FROM h.clock) THEN
                RAISE EXCEPTION 'recorded_at is set by the server''s clock (%), not by a client', h.clock
                  USING ERRCODE = '23514';
              END IF;
              -- one sort, no join: a transition table has no index, and a join could go quadratic
              IF EXISTS (SELECT 1 FROM (SELECT seq, prev_hash, lag(hash) OVER (ORDER BY seq) AS before
                                        FROM added) l
                         WHERE l.prev_hash IS DISTINCT FROM coalesce(l.before, h.hash)) THEN
                RAISE EXCEPTION 'rows must link to the chain head % (prev_hash)', left(h.hash, 12)
                  USING ERRCODE = '23514';
              END IF;
              UPDATE _forecasts_head SET next_seq = hi + 1,
                                         hash = (SELECT a.hash FROM added a ORDER BY a.seq DESC LIMIT 1);
              RETURN NULL;
            END $$""",
        """CREATE FUNCTION forecasts_append_only() RETURNS TRIGGER
            LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'the ledger is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = '42501';
            END $$""",
        f"""CREATE FUNCTION forecasts_is_history(source TEXT) RETURNS BOOLEAN
            LANGUAGE sql IMMUTABLE AS $$ SELECT {_HISTORY} $$""",
        """CREATE FUNCTION forecasts_may_import() RETURNS BOOLEAN
            LANGUAGE sql STABLE AS $$ SELECT pg_has_role(session_user, 'forecasts_importer', 'MEMBER') $$""",
        """CREATE FUNCTION forecasts_author(target BIGINT) RETURNS TEXT
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            SELECT forecaster FROM forecasts WHERE seq = target $$""",
        "REVOKE ALL ON FUNCTION forecasts_begin(), forecasts_begin_restore(), forecasts_end_restore(), "
        "forecasts_author(BIGINT) FROM PUBLIC",
        "REVOKE ALL ON _forecasts_head FROM PUBLIC",
        "GRANT EXECUTE ON FUNCTION forecasts_begin(), forecasts_author(BIGINT) TO "
        "forecasts_analyst, forecasts_editor, forecasts_importer",
        "GRANT EXECUTE ON FUNCTION forecasts_begin_restore(), forecasts_end_restore() TO forecasts_admin",
        "GRANT SELECT ON _forecasts_migrations TO forecasts_analyst, forecasts_editor, forecasts_importer, forecasts_admin",
    ]
    for t in V1_TABLES:
        out += _table_guards(t)
    # only this ledger's members connect (each is granted CONNECT and TEMPORARY, for the
    # temporary tables bulk appends stream through, by forecasts.ledger.team); the group roles
    # are the server's, shared by every team ledger on it, so they grant no CONNECT
    out.append("""DO $$ BEGIN
        EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
        END $$""")
    # the role that creates the ledger runs the tool's own commands (imports, models, restores)
    out.append("GRANT forecasts_analyst, forecasts_editor, forecasts_importer, forecasts_admin TO CURRENT_USER")
    return out


def _rules_check_sql(close: str = "q.closes_at", create: str = "CREATE") -> str:
    """``forecasts_rules_check()`` of :func:`m002_live_rules`; ``close`` is the SQL of the
    corrected forecast's question's close (``t`` the corrected row, ``q`` its question)."""
    from forecasts.domain import CLOCK_TOLERANCE
    from forecasts.ledger.rules import CORRECTION_GRACE

    tol = int(CLOCK_TOLERANCE.total_seconds())
    grace = int(CORRECTION_GRACE.total_seconds())
    minutes = f"{grace / 60:g}"
    return f"""{create} FUNCTION forecasts_rules_check() RETURNS TRIGGER
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            DECLARE bad RECORD;
            BEGIN
              IF (SELECT restoring FROM _forecasts_head) THEN
                RETURN NULL;
              END IF;
              SELECT a.seq INTO bad FROM added a
                WHERE a.corrects IS NULL AND NOT forecasts_is_history(a.source)
                  AND abs(extract(epoch FROM a.made_at - a.recorded_at)) > {tol} LIMIT 1;
              IF FOUND THEN
                RAISE EXCEPTION 'forecasts row seq=% is a live forecast not made at the server''s clock: '
                                'live forecasts cannot be backdated', bad.seq USING ERRCODE = '23514';
              END IF;
              SELECT x.seq, x.why INTO bad FROM (
                SELECT a.seq, CASE
                  WHEN t.seq IS NULL OR t.seq >= a.seq THEN 'amends no earlier forecast'
                  WHEN forecasts_is_history(t.source) THEN 'amends an imported row: those are corrected by re-importing'
                  WHEN a.recorded_at > {close} THEN 'amends a forecast on a closed question: its forecasts are final'
                  WHEN EXISTS (SELECT 1 FROM resolutions r WHERE r.question = t.question)
                    THEN 'amends a forecast on a resolved question: its forecasts are final'
                  WHEN a.made_at = t.made_at AND a.recorded_at > t.recorded_at + INTERVAL '{grace} seconds'
                    THEN 'is past the {minutes}-minute correction window: log a new forecast instead'
                  WHEN a.made_at <> t.made_at AND NOT (a.retracted AND abs(extract(epoch FROM a.made_at - a.recorded_at)) <= {tol})
                    THEN 'is a late amendment that is not a retraction made now'
                  END AS why
                FROM added a LEFT JOIN forecasts t ON t.seq = a.corrects LEFT JOIN questions q ON q.id = t.question
                WHERE a.corrects IS NOT NULL AND NOT forecasts_is_history(a.source)) x
              WHERE x.why IS NOT NULL LIMIT 1;
              IF FOUND THEN
                RAISE EXCEPTION 'forecasts row seq=% %', bad.seq, bad.why USING ERRCODE = '23514';
              END IF;
              RETURN NULL;
            END $$"""


def m002_live_rules() -> list[str]:
    """The server checks the ledger's time rules on live forecasts at insert, as the client
    does (:func:`forecasts.ledger.rules.check_live_forecast`, :func:`~forecasts.ledger.rules.
    check_amendment`), so a member writing plain SQL cannot backdate a forecast or rewrite one
    past the correction window: a live forecast is made at the server's clock (within
    :data:`~forecasts.domain.CLOCK_TOLERANCE`); an amendment targets an earlier live forecast on
    a question that is open (not past its scheduled close, no resolution recorded) and is either
    retroactive (the original's ``made_at``) within :data:`~forecasts.ledger.rules.CORRECTION_GRACE`
    of the original's ``recorded_at``, or a retraction made now.  History rows (the importers')
    and restores are exempt, as on the client; ``forecasts verify`` re-checks every row anyway."""
    return [
        _rules_check_sql(),
        "REVOKE ALL ON FUNCTION forecasts_rules_check() FROM PUBLIC",
        "CREATE TRIGGER forecasts_rules AFTER INSERT ON forecasts REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION forecasts_rules_check()",
    ]


def m003_writes() -> list[str]:
    """The log of writes (as migration 2 on DuckDB): one row per write transaction naming the
    head it left, sealed with the team key when the writer holds one.  The server accepts a
    record only inside a write begun with ``forecasts_begin()``, naming the chain's head as it
    now is and the write's clock, and never changes or removes one."""
    every = "forecasts_analyst, forecasts_editor, forecasts_importer, forecasts_admin"
    return [
        writes_ddl("postgres"),
        f"CREATE UNIQUE INDEX {WRITES_TABLE}_seq ON {WRITES_TABLE} (seq)",
        """CREATE FUNCTION forecasts_write_check() RETURNS TRIGGER
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            DECLARE h RECORD;
            BEGIN
              SELECT * INTO h FROM _forecasts_head;
              IF h.txid IS DISTINCT FROM txid_current() THEN
                RAISE EXCEPTION 'a write is recorded inside it, after SELECT * FROM forecasts_begin()'
                  USING ERRCODE = '42501';
              END IF;
              IF NEW.seq <> h.next_seq - 1 OR NEW.hash <> h.hash OR NEW.written_at IS DISTINCT FROM h.clock THEN
                RAISE EXCEPTION 'a write record names the chain''s head as it is (seq %, %...) at the write''s clock',
                  h.next_seq - 1, left(h.hash, 12) USING ERRCODE = '23514';
              END IF;
              RETURN NEW;
            END $$""",
        "REVOKE ALL ON FUNCTION forecasts_write_check() FROM PUBLIC",
        f"CREATE TRIGGER writes_check BEFORE INSERT ON {WRITES_TABLE} FOR EACH ROW EXECUTE FUNCTION forecasts_write_check()",
        f"CREATE TRIGGER writes_append_only BEFORE UPDATE OR DELETE ON {WRITES_TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION forecasts_append_only()",
        f"CREATE TRIGGER writes_no_truncate BEFORE TRUNCATE ON {WRITES_TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION forecasts_append_only()",
        f"REVOKE ALL ON {WRITES_TABLE} FROM PUBLIC",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {WRITES_TABLE} FROM CURRENT_USER",
        f"GRANT SELECT, INSERT ON {WRITES_TABLE} TO {every}",
    ]


#: A corrected forecast's question's close on the server, amendments applied (migration 4).
_AMENDED_CLOSE = ("coalesce((SELECT CAST(m.value AS TIMESTAMP) FROM amendments m WHERE m.about = 'question' "
                  "AND m.field = 'closes_at' AND m.target = t.question ORDER BY m.seq DESC LIMIT 1), q.closes_at)")


def m004_amendments() -> list[str]:
    """The amendments table (as migration 3 on DuckDB), guarded as every ledger table; a
    restore checks it in the one chain, and a correction's question closes as amended."""
    out = [ddl(t, "postgres") for t in SCHEMA_V3]
    for t in SCHEMA_V3:
        out.append(f"CREATE UNIQUE INDEX {t}_seq ON {t} (seq)")
        out += _table_guards(t)
    out += ["CREATE INDEX amendments_target ON amendments (about, target, seq)",
            _end_restore_sql(LEDGER_TABLES, "CREATE OR REPLACE"),
            _rules_check_sql(_AMENDED_CLOSE, "CREATE OR REPLACE")]
    return out


MIGRATIONS = [("m001_ledger", m001_ledger), ("m002_live_rules", m002_live_rules), ("m003_writes", m003_writes),
              ("m004_amendments", m004_amendments)]
