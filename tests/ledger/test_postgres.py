"""The team ledger on a real PostgreSQL server: identity, roles and append-only enforced by the
server (each refusal shown by connecting as that role with plain SQL), real passwords, the
server's clock, one chain under many writers, and faults (a killed client, a stopped server).

Every other ledger, CLI, model, import and report test runs on the team ledger too (see
tests/conftest.py); this file holds what only a server has.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.parse
from datetime import timedelta

import psycopg
import pytest

from forecasts import domain
from forecasts.errors import AccessDenied, InvalidInput, StoreUnavailable
from forecasts.ledger import Ledger, team

pytestmark = pytest.mark.team_only  # every test here is the server's: run once, on it


@pytest.fixture
def teamdb(pg_cluster):
    """A fresh team ledger owned by the tests' role, with a question, and its database name."""
    from forecasts.ledger.postgres_storage import close_idle

    name = f"team_{os.getpid()}_{time.monotonic_ns()}"
    url = pg_cluster.new_database(name)
    ledger = Ledger.open(url, create=True)
    ledger.add_question("rain", title="Will it rain?", opens="2020-01-01", closes="2300-01-01")
    yield name
    close_idle()
    pg_cluster.drop_database(name)
    for member in _MEMBERS:  # roles are the server's, not the database's
        pg_cluster.sql(f'DROP ROLE IF EXISTS "{member}"')
    _MEMBERS.clear()


_MEMBERS: list[str] = []


def _member(cluster, db, name, role):
    _MEMBERS.append(name)
    password = team.add_member(Ledger.open(cluster.url(db)), name, role)
    cluster.add_password(name, password)
    return password


def _as(cluster, db, role):
    """A plain psycopg connection as ``role`` (no tool code in between)."""
    return psycopg.connect(cluster.url(db, role), autocommit=False)


def _row(seq, prev, clock, forecaster, **extra):
    row = {"seq": seq, "question": "rain", "forecaster": forecaster, "made_at": clock, "probability": 0.5,
           "source": "psql", "backtest": False, "retracted": False, "recorded_at": clock, "prev_hash": prev,
           "hash": "f" * 64}
    row.update(extra)
    return row


def _insert(conn, row):
    cols = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    conn.execute(f"INSERT INTO forecasts ({cols}) VALUES ({marks})", list(row.values()))  # type: ignore[arg-type]


def test_an_analyst_writes_only_as_themselves_and_the_server_says_so(pg_cluster, teamdb):
    _member(pg_cluster, teamdb, "alice", "analyst")
    _member(pg_cluster, teamdb, "bob", "analyst")
    bob_row = Ledger.open(pg_cluster.url(teamdb, "bob")).log("rain", "20%")
    assert bob_row["forecaster"] == "bob"  # the connected role, no --by needed

    with _as(pg_cluster, teamdb, "alice") as conn:
        seq, prev, clock, actor = conn.execute("SELECT next_seq, hash, clock, actor FROM forecasts_begin()").fetchone()
        assert actor == "alice"
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            _insert(conn, _row(seq, prev, clock, "bob"))
        conn.rollback()
        # a correction of bob's forecast, claimed by alice
        seq, prev, clock, _ = conn.execute("SELECT next_seq, hash, clock, actor FROM forecasts_begin()").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            _insert(conn, _row(seq, prev, clock, "alice", corrects=bob_row["seq"]))
        conn.rollback()
        # history is the importers'
        seq, prev, clock, _ = conn.execute("SELECT next_seq, hash, clock, actor FROM forecasts_begin()").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            _insert(conn, _row(seq, prev, clock, "alice", source="import:fatebook"))
        conn.rollback()
        # questions are the editors'
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute("INSERT INTO questions (seq) VALUES (99)")
        conn.rollback()
        # and reading is everyone's
        assert conn.execute("SELECT forecaster FROM forecasts").fetchall() == [("bob",)]

    alice = Ledger.open(pg_cluster.url(teamdb, "alice"))
    assert alice.log("rain", "35%")["forecaster"] == "alice"
    with pytest.raises(AccessDenied, match="row-level security"):
        alice.log("rain", "35%", by="bob")
    with pytest.raises(AccessDenied, match="permission denied"):
        alice.add_question("sun", title="Sun?", closes="2300-01-01")
    with pytest.raises(AccessDenied):
        alice.import_history(forecasts=[{"question": "rain", "forecaster": "import:x", "made_at": "2021-01-01",
                                         "probability": 0.4}], source="import:x")
    assert list(alice.forecasts()["forecaster"]) == ["bob", "alice"]
    assert alice.verify().ok
    with _as(pg_cluster, teamdb, "alice") as conn:  # nobody holds the chain's lock for long
        assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("1min",)


def test_the_server_refuses_a_backdated_forecast_and_a_late_rewrite_in_plain_sql(pg_cluster, teamdb):
    """What the client's rules refuse, the server refuses too, for a member writing plain SQL:
    a backdated live forecast and an amendment after the question was resolved; nothing of it
    is recorded."""
    from datetime import timedelta

    _member(pg_cluster, teamdb, "alice", "analyst")
    alice = Ledger.open(pg_cluster.url(teamdb, "alice"))
    row = alice.log("rain", "30%")
    with _as(pg_cluster, teamdb, "alice") as conn:
        seq, prev, clock, _ = conn.execute("SELECT next_seq, hash, clock, actor FROM forecasts_begin()").fetchone()
        with pytest.raises(psycopg.errors.CheckViolation, match="cannot be backdated"):
            _insert(conn, _row(seq, prev, clock, "alice", made_at=clock - timedelta(days=30)))
        conn.rollback()
    Ledger.open(pg_cluster.url(teamdb)).resolve("rain", "yes")  # the owner is an editor
    with _as(pg_cluster, teamdb, "alice") as conn:
        seq, prev, clock, _ = conn.execute("SELECT next_seq, hash, clock, actor FROM forecasts_begin()").fetchone()
        with pytest.raises(psycopg.errors.CheckViolation, match="resolved question"):
            _insert(conn, _row(seq, prev, clock, "alice", made_at=row["made_at"], corrects=row["seq"],
                               probability=0.99))
        conn.rollback()
    assert list(alice.forecasts()["probability"]) == [0.3] and alice.verify().ok


def test_the_server_keeps_the_correction_window(pg_cluster, monkeypatch):
    """The window the server enforces is :data:`rules.CORRECTION_GRACE` as the ledger was created
    with it: made zero here, so that a retroactive correction is late at once (the rule is the
    same at 10 minutes); a late retraction made now is accepted."""
    from datetime import timedelta

    from forecasts.ledger import rules
    from forecasts.ledger.postgres_storage import close_idle

    monkeypatch.setattr(rules, "CORRECTION_GRACE", timedelta(0))
    name = f"grace_{os.getpid()}_{time.monotonic_ns()}"
    ledger = Ledger.open(pg_cluster.new_database(name), create=True)
    try:
        ledger.add_question("rain", title="Will it rain?", opens="2020-01-01", closes="2300-01-01")
        row = ledger.log("rain", 0.3, by="tester")
        with psycopg.connect(pg_cluster.url(name), autocommit=False) as conn:
            seq, prev, clock, _ = conn.execute("SELECT next_seq, hash, clock, actor FROM forecasts_begin()").fetchone()
            with pytest.raises(psycopg.errors.CheckViolation, match="0-minute correction window"):
                _insert(conn, _row(seq, prev, clock, "tester", made_at=row["made_at"], corrects=row["seq"],
                                   probability=0.99))
            conn.rollback()
        ledger.retract(row["seq"], by="tester")  # late: ends the forecast from now
        assert ledger.forecasts()["ended_at"].notna().all() and ledger.verify().ok
    finally:
        close_idle()
        pg_cluster.drop_database(name)


def test_editors_and_importers(pg_cluster, teamdb):
    _member(pg_cluster, teamdb, "ed", "editor")
    _member(pg_cluster, teamdb, "imp", "importer")
    ed = Ledger.open(pg_cluster.url(teamdb, "ed"))
    assert ed.add_question("sun", title="Sun?", closes="2300-01-01")["created_by"] == "ed"
    assert ed.resolve("sun", "yes")["resolved_by"] == "ed"
    with pytest.raises(AccessDenied):
        ed.log("rain", "40%", by="alice")
    imp = Ledger.open(pg_cluster.url(teamdb, "imp"))
    added = imp.import_history(forecasts=[{"question": "rain", "forecaster": "import:x", "made_at": "2021-01-01",
                                           "probability": 0.4}], source="import:x")
    assert added["forecasts"] == 1
    assert imp.log("rain", "45%", by="carol")["forecaster"] == "carol"  # importers may write in a name
    _member(pg_cluster, teamdb, "ada", "admin")
    ada = Ledger.open(pg_cluster.url(teamdb, "ada"))
    _MEMBERS.append("ann")
    team.add_member(ada, "ann", "analyst", password="a long enough password")  # an admin adds members
    with pytest.raises(AccessDenied):
        team.add_member(imp, "ian", "analyst")  # an importer does not
    assert {m["name"]: m["role"] for m in team.members(imp)} == {
        "ada": "admin", "ann": "analyst", "ed": "editor", "imp": "importer", "tester": "admin"}


def test_no_role_updates_or_deletes_not_even_the_owner(pg_cluster, teamdb):
    owner = Ledger.open(pg_cluster.url(teamdb))
    owner.log("rain", "60%", by="ana")
    before = owner.verify()
    with psycopg.connect(pg_cluster.url(teamdb), autocommit=True) as conn:
        for statement in ("UPDATE forecasts SET probability = 0.9", "DELETE FROM forecasts",
                          "TRUNCATE forecasts"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)  # type: ignore[arg-type]
        # the owner may grant itself the privileges back; the trigger refuses anyway
        conn.execute("GRANT UPDATE, DELETE, TRUNCATE ON forecasts TO CURRENT_USER")
        for statement in ("UPDATE forecasts SET probability = 0.9", "DELETE FROM forecasts", "TRUNCATE forecasts"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)  # type: ignore[arg-type]
    assert owner.verify() == before


def test_the_server_keeps_the_chain_and_the_clock(pg_cluster, teamdb):
    _member(pg_cluster, teamdb, "alice", "analyst")
    with _as(pg_cluster, teamdb, "alice") as conn:
        # without forecasts_begin() (the chain's lock) nothing is appended
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="forecasts_begin"):
            _insert(conn, _row(2, "0" * 64, domain.now(), "alice"))
        conn.rollback()
        seq, prev, clock, _ = conn.execute("SELECT next_seq, hash, clock, actor FROM forecasts_begin()").fetchone()
        with pytest.raises(psycopg.errors.CheckViolation, match="server's clock"):  # backdated
            _insert(conn, _row(seq, prev, clock - timedelta(days=30), "alice"))
        conn.rollback()
        seq, prev, clock, _ = conn.execute("SELECT next_seq, hash, clock, actor FROM forecasts_begin()").fetchone()
        with pytest.raises(psycopg.errors.CheckViolation, match="continue the chain"):
            _insert(conn, _row(seq + 5, prev, clock, "alice"))
        conn.rollback()
        seq, prev, clock, _ = conn.execute("SELECT next_seq, hash, clock, actor FROM forecasts_begin()").fetchone()
        with pytest.raises(psycopg.errors.CheckViolation, match="link to the chain head"):
            _insert(conn, _row(seq, "e" * 64, clock, "alice"))
        conn.rollback()


def test_a_client_with_a_wrong_clock_neither_backdates_nor_postdates(pg_cluster, teamdb, monkeypatch):
    ledger = Ledger.open(pg_cluster.url(teamdb))
    real = domain.now()
    monkeypatch.setattr(domain, "now", lambda: real - timedelta(days=3))
    row = ledger.log("rain", "55%", by="ana")
    assert abs(row["recorded_at"] - real) < timedelta(minutes=1)
    assert abs(row["made_at"] - real) < timedelta(minutes=1)
    assert len(ledger.forecasts()) == 1  # "now" is the server's: the row is visible at once


def test_passwords_are_real_and_never_shown(pg_cluster, teamdb, tmp_path, cli_process):
    from forecasts.ledger.postgres_storage import close_idle

    pg_cluster.sql(f"ALTER DATABASE {teamdb} SET log_statement = 'all'")
    close_idle()  # new sessions log every statement
    alice_pw = _member(pg_cluster, teamdb, "alice", "analyst")
    pw_file = tmp_path / "bob.password"
    pw_file.write_text("correct horse battery staple\n")
    owner = pg_cluster.url(teamdb)
    _MEMBERS.append("bob")
    made = cli_process("team", "add-analyst", "bob", "--password-file", str(pw_file), "--db", owner)
    assert made.returncode == 0 and "bob added as analyst" in made.stdout and "staple" not in made.stdout
    # alice's own pgpass knows only her password: she cannot connect as bob
    mine = tmp_path / "alice.pgpass"
    mine.write_text(f"127.0.0.1:{pg_cluster.port}:*:alice:{alice_pw}\n")
    mine.chmod(0o600)
    assert Ledger.open(pg_cluster.url(teamdb, "alice", passfile=mine)).log("rain", "30%")["forecaster"] == "alice"
    with pytest.raises(AccessDenied, match="password"):
        Ledger.open(pg_cluster.url(teamdb, "bob", passfile=mine))
    wrong = f"postgresql://bob:{alice_pw}@127.0.0.1:{pg_cluster.port}/{teamdb}"
    with pytest.raises(AccessDenied) as caught:
        Ledger.open(wrong).log("rain", "30%")
    assert alice_pw not in caught.value.message
    # bob's password works; it is in no ledger row and in no statement the server logged
    good = f"postgresql://bob:{urllib.parse.quote('correct horse battery staple')}@127.0.0.1:{pg_cluster.port}/{teamdb}"
    bob = Ledger.open(good)
    assert bob.log("rain", "25%")["forecaster"] == "bob" and "battery" not in bob.location
    cut = cli_process("log", "rain", "nonsense", "--db", good)
    assert cut.returncode == 2 and "battery" not in cut.stderr
    dump = str(bob.forecasts().to_dict("records")) + str(bob.questions().to_dict("records"))
    log = (pg_cluster.root / "server.log").read_text()
    assert "CREATE ROLE" in log and "SCRAM-SHA-256$" in log  # statements were logged: as verifiers only
    for secret in (alice_pw, "correct horse battery staple"):
        assert secret not in log and secret not in dump


def test_sql_injection_strings_are_stored_literally(pg_cluster, teamdb):
    ledger = Ledger.open(pg_cluster.url(teamdb))
    evil = "'); DROP TABLE forecasts; -- \\' \" %s %(as_of)s $1 \x01"
    ledger.add_question("evil-q", title=evil, closes="2300-01-01", criteria=evil, reference_class=evil)
    row = ledger.log("evil-q", "40%", by="obrien", why=evil)
    event = ledger.add_event(evil, on="2020-01-01", description=evil, actors=evil, by="obrien")
    ledger.add_evidence("evil-q", event["seq"], lr=2, note=evil, by="obrien")
    q = ledger.questions().set_index("id").loc["evil-q"]
    assert q["title"] == evil and q["criteria"] == evil and q["reference_class"] == evil
    f = ledger.forecasts(question="evil-q").iloc[0]
    assert (f["rationale"], f["forecaster"], f["seq"]) == (evil, "obrien", row["seq"])
    assert ledger.events().iloc[0]["title"] == evil and ledger.evidence().iloc[0]["note"] == evil
    assert ledger.history("evil-q")["what"].str.contains("DROP TABLE").any()
    assert ledger.verify().ok and ledger.counts()["forecasts"] == 1


def test_the_code_builds_no_sql_from_user_values():
    """Every statement with a value binds it or has the driver quote it (psycopg.sql); the SQL
    that is formatted holds only table and column names of the schema."""
    import re
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "forecasts" / "ledger" / "postgres_storage.py").read_text()
    formatted = re.findall(r'execute\(f"[^"]*\{[^}]*\}', source)
    assert formatted == []


_WRITER = textwrap.dedent("""
    import sys, time
    from forecasts.ledger import Ledger
    ledger = Ledger(sys.argv[1])
    for i in range(int(sys.argv[2])):
        ledger.log("rain", 0.01 + (i % 98) / 100, by=sys.argv[3])
    print("done")
""")


def test_many_writers_one_chain(pg_cluster, teamdb):
    url = pg_cluster.url(teamdb)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, url, "25", f"w{i}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(8)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and out.strip() == "done", err
    ledger = Ledger.open(url)
    assert len(ledger.forecasts()) == 200
    result = ledger.verify()
    assert result.ok and result.rows == 201


_IMPORTER = textwrap.dedent("""
    import sys
    import pandas as pd
    from forecasts.ledger import Ledger
    n = 300_000
    frame = pd.DataFrame({"question": "hist", "forecaster": "import:x",
                          "made_at": pd.Timestamp("2021-01-01") + pd.to_timedelta(range(n), unit="s"),
                          "probability": 0.5, "source_id": [f"r{i}" for i in range(n)]})
    print("importing", flush=True)
    Ledger(sys.argv[1]).import_forecast_frame(frame, source="import:x")
    print("imported", flush=True)
""")


def test_a_client_killed_mid_import_leaves_all_or_nothing(pg_cluster, teamdb):
    url = pg_cluster.url(teamdb)
    ledger = Ledger.open(url)
    ledger.import_history(questions=[{"qid": "hist", "title": "Then?", "opens": "2020-01-01", "closes": "2300-01-01"}],
                          source="import:x")
    before = ledger.verify()
    p = subprocess.Popen([sys.executable, "-c", _IMPORTER, url], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "importing"
    time.sleep(1.5)  # inside the transaction: rows are streaming to the server
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=60)
    p.stdout.close()
    deadline = time.monotonic() + 30  # the server notices the dead client and rolls back
    while time.monotonic() < deadline and pg_cluster_busy(url):
        time.sleep(0.2)
    after = ledger.verify()
    assert after.ok
    assert ledger.counts()["forecasts"] in (0, 300_000)
    if ledger.counts()["forecasts"] == 0:
        assert after.head == before.head
    ledger.log("rain", "50%", by="ana")  # the chain's lock was released with the dead transaction
    assert ledger.verify().ok


def pg_cluster_busy(url: str) -> bool:
    database = urllib.parse.urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as conn:
        return bool(conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                                 "AND state <> 'idle'", [database]).fetchone()[0])  # type: ignore[index]


_STOPPED_IMPORT = _IMPORTER.replace('Ledger(sys.argv[1]).import_forecast_frame(frame, source="import:x")', """
from forecasts.errors import ForecastsError
try:
    Ledger(sys.argv[1]).import_forecast_frame(frame, source="import:x")
except ForecastsError as exc:
    print(exc.message)
    sys.exit(exc.exit_code)""")


def test_a_stopped_server_is_one_clear_line_and_nothing_half_written(tmp_path, cli_process):
    import pgcluster

    if pgcluster.bindir() is None:
        pytest.skip("PostgreSQL is not installed here")
    own = pgcluster.Cluster()  # its own server: this test stops it
    try:
        own.new_database("team")
        url = own.url("team")
        ledger = Ledger.open(url, create=True)
        ledger.add_question("rain", title="Rain?", closes="2300-01-01")
        ledger.log("rain", "40%", by="ana")
        before = ledger.verify()
        own.stop("fast")
        down = cli_process("log", "rain", "45%", "--by", "ana", "--db", url)
        assert down.returncode == 1
        assert down.stderr.strip().startswith("error: cannot reach the team ledger") and len(down.stderr.strip().splitlines()) == 1
        with pytest.raises(StoreUnavailable, match="nothing of this command was written"):
            ledger.log("rain", "45%", by="ana")
        own.start()
        own.wait_ready()
        assert ledger.verify() == before  # the pooled connections the restart cut are replaced
        ledger.log("rain", "45%", by="ana")
        assert ledger.verify().ok and ledger.counts()["forecasts"] == 2
        # the server stops in the middle of a big import: one line for the client, nothing half-written
        ledger.import_history(questions=[{"qid": "hist", "title": "Then?", "opens": "2020-01-01",
                                          "closes": "2300-01-01"}], source="import:x")
        before = ledger.verify()
        p = subprocess.Popen([sys.executable, "-c", _STOPPED_IMPORT, url], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        assert p.stdout is not None and p.stdout.readline().strip() == "importing"
        time.sleep(1.5)
        own.stop("fast")
        out, err = p.communicate(timeout=120)
        assert p.returncode == 1 and "Traceback" not in err, err
        assert out.strip().splitlines()[-1].startswith(("cannot reach the team ledger", "the connection to")), out
        own.start()
        own.wait_ready()
        after = ledger.verify()
        assert after.ok and ledger.counts()["forecasts"] in (2, 300_002)
        if ledger.counts()["forecasts"] == 2:
            assert after == before
    finally:
        from forecasts.ledger.postgres_storage import close_idle

        close_idle()
        own.close()


def test_push_keeps_every_hash_and_a_team_ledger_pushes_back(pg_cluster, demo_ledger_file, tmp_path, cli):
    name = f"push_{os.getpid()}"
    url = pg_cluster.new_database(name)
    try:
        assert cli("init", "--db", url).returncode == 0
        pushed = cli("push", str(demo_ledger_file), "--db", url)
        assert pushed.returncode == 0, pushed.stderr
        personal = Ledger.open(demo_ledger_file).verify()
        assert f"head {personal.head}" in pushed.stdout
        team_ledger = Ledger.open(url)
        assert team_ledger.verify() == personal
        again = cli("push", str(demo_ledger_file), "--db", url)
        assert again.returncode == 2 and "not empty" in again.stderr
        back = Ledger.open(tmp_path / "back.duckdb", create=True)
        back.restore_from(team_ledger)
        assert back.verify() == personal
    finally:
        from forecasts.ledger.postgres_storage import close_idle

        close_idle()
        pg_cluster.drop_database(name)


def test_team_commands_need_a_team_ledger(tmp_path, cli):
    ledger = Ledger.open(tmp_path / "mine.duckdb", create=True)
    with pytest.raises(InvalidInput, match="team ledger"):
        team.add_member(ledger, "alice", "analyst")
    out = cli("team", "add-analyst", "alice", "--db", str(ledger.path))
    assert out.returncode == 2 and "team ledger" in out.stderr


def test_a_password_file_that_is_not_text_is_one_clear_line(tmp_path, cli):
    """A binary file given as --password-file (found by the random-argument test: a ledger file)."""
    binary = tmp_path / "pw.bin"
    binary.write_bytes(b"\xa7\x00\xff binary")
    out = cli("team", "add-analyst", "alice", "--password-file", str(binary), "--db", str(tmp_path / "x.duckdb"))
    assert out.returncode == 2 and out.stderr.strip() == f"error: {binary} is not a text file (UTF-8): it holds no password"
