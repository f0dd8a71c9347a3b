"""Seals (issue 14): every write made with the team key stores the head it left, signed; rows
appended or rewritten behind the tool's back, by anyone without the key, then fail ``verify``,
and a sealed ledger refuses writes without its key.  Every test runs on a DuckDB file and on the
team ledger."""

from __future__ import annotations

import pytest

from forecasts.errors import AccessDenied, IntegrityError
from forecasts.ledger import Ledger, integrity
from forecasts.ledger.migrations import COLUMNS

KEY = b"team-key-kept-outside-the-ledger"
OTHER = b"a-forger-guessing-the-key-badly"


def _keyed(ledger: Ledger, key: bytes | None = KEY) -> Ledger:
    """The same ledger (same storage) opened with ``key``."""
    return Ledger(ledger.path, storage=ledger.storage, key=key)


def _forge(ledger: Ledger, raw_sql, **values) -> int:
    """Append a forecast row with a correct hash past the tool (and, on the server, move the
    chain's head as a superuser could): what anyone knowing the algorithm can do."""
    seq, prev = ledger.storage.head()
    row = {c: None for c in COLUMNS["forecasts"]}
    row.update(seq=seq, question="rain", forecaster="mallory", made_at=values.pop("made_at"),
               probability=0.9, source="cli", backtest=False, retracted=False, recorded_at=values.pop("recorded_at"))
    row["hash"] = integrity.row_hash(prev, "forecasts", {k: v for k, v in row.items() if k != "hash"})
    row["prev_hash"] = prev
    cols = [*COLUMNS["forecasts"], "prev_hash", "hash"]
    raw_sql(ledger, f"INSERT INTO forecasts ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [row[c] for c in cols])
    if ledger.is_team:
        raw_sql(ledger, "UPDATE _forecasts_head SET next_seq = ?, hash = ?", [seq + 1, row["hash"]])
    return seq


def test_every_keyed_write_is_sealed_and_verifies(ledger, open_question):
    sealed = _keyed(ledger)
    sealed.log("rain", 0.3, by="alice")
    sealed.log("rain", 0.4, by="bob")
    result = sealed.verify(key=KEY)
    assert result.ok and result.seals == 2, result.problem
    assert ledger.verify().seals == 2  # without the key: counted, not checked
    wrong = ledger.verify(key=OTHER)
    assert not wrong.ok and "does not match the team key" in wrong.problem


def test_a_row_appended_behind_the_tools_back_fails_verify_with_the_key(ledger, open_question, raw_sql):
    sealed = _keyed(ledger)
    row = sealed.log("rain", 0.3, by="alice")
    seq = _forge(ledger, raw_sql, made_at=row["made_at"], recorded_at=row["recorded_at"])
    assert ledger.verify().ok  # the chain and the rules alone cannot tell ...
    caught = ledger.verify(key=KEY)  # ... the seals can
    assert not caught.ok and caught.seq == seq
    assert f"rows seq {seq}..{seq} are not sealed by the team key" in caught.problem
    before = ledger.counts()
    with pytest.raises(IntegrityError, match="appended without the team key"):
        sealed.log("rain", 0.5, by="bob")  # sealing now would vouch for the forged row
    assert ledger.counts() == before


def test_a_rewritten_and_rehashed_chain_fails_verify_with_the_key(ledger, open_question, raw_sql):
    sealed = _keyed(ledger)
    sealed.log("rain", 0.3, by="alice")
    sealed.log("rain", 0.6, by="bob")
    rows = list(ledger.storage.chain())
    prev = integrity.GENESIS
    for table, cols, values in rows:  # alice's 30% becomes 99%, the chain rehashed from there
        row = dict(zip(cols, values, strict=True))
        if table == "forecasts" and row["probability"] == 0.3:
            row["probability"] = 0.99
            raw_sql(ledger, "UPDATE forecasts SET probability = 0.99 WHERE seq = ?", [row["seq"]])
        new = integrity.row_hash(prev, table, row)
        raw_sql(ledger, f"UPDATE {table} SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, new, row["seq"]])
        if "tag" in cols:  # a DuckDB ledger stores each row's tag too: the forger rewrites it
            raw_sql(ledger, f"UPDATE {table} SET tag = ? WHERE seq = ?", [integrity.tag_of(new), row["seq"]])
        prev = new
    assert ledger.verify().ok
    caught = ledger.verify(key=KEY)
    assert not caught.ok and "does not pass through the seal" in caught.problem
    # moving the seals onto the new chain needs the key: a forger's own MAC is named as forged
    raw_sql(ledger, "UPDATE _forecasts_writes SET hash = ?, mac = ? WHERE seq = ?",
            [prev, integrity.head_mac(OTHER, rows[-1][2][0], prev), rows[-1][2][0]])
    forged = ledger.verify(key=KEY)
    assert not forged.ok and ("forged" in forged.problem or "does not pass through" in forged.problem)


def test_a_sealed_ledger_refuses_writes_without_its_key(ledger, open_question, snapshot):
    _keyed(ledger).log("rain", 0.3, by="alice")
    before = snapshot(ledger)
    with pytest.raises(AccessDenied, match="sealed with a team key"):
        ledger.log("rain", 0.4, by="bob")
    with pytest.raises(AccessDenied, match="does not match"):
        _keyed(ledger, OTHER).log("rain", 0.4, by="bob")
    assert snapshot(ledger) == before
    assert ledger.forecasts()["probability"].tolist() == [0.3]  # reads need no key


def test_an_unsealed_ledger_logs_every_write_and_the_first_keyed_write_seals_it(ledger, open_question, raw_sql):
    ledger.log("rain", 0.3, by="alice")
    writes = raw_sql(ledger, "SELECT seq, hash, mac FROM _forecasts_writes ORDER BY seq")
    head = ledger.verify()
    assert writes[-1][:2] == (head.rows, head.head) and all(w[2] is None for w in writes)
    assert ledger.verify(key=KEY).ok  # no seal yet: nothing to check
    _keyed(ledger).log("rain", 0.4, by="bob")
    assert ledger.verify(key=KEY).ok and ledger.verify(key=KEY).seals == 1


def test_a_restore_seals_the_restored_head(ledger, open_question, tmp_path):
    _keyed(ledger).log("rain", 0.3, by="alice")
    ledger.export(tmp_path / "out", "parquet")
    copy = Ledger.open(tmp_path / "copy.duckdb", create=True, key=KEY)
    copy.restore(tmp_path / "out")
    result = copy.verify(key=KEY)
    assert result.ok and result.seals == 1 and result.head == ledger.verify().head


@pytest.mark.team_only
def test_the_server_takes_a_write_record_only_for_the_head_as_it_is(ledger, open_question):
    import psycopg

    url = ledger.storage.url  # type: ignore[attr-defined]
    with psycopg.connect(url, autocommit=False) as conn:
        seq, h, clock, _ = conn.execute("SELECT * FROM forecasts_begin()").fetchone()  # type: ignore[misc]
        with pytest.raises(psycopg.errors.CheckViolation, match="names the chain's head"):
            conn.execute("INSERT INTO _forecasts_writes VALUES (%s, %s, %s, NULL)", [seq + 5, h, clock])
        conn.rollback()
    with psycopg.connect(url, autocommit=True) as conn, pytest.raises(psycopg.Error, match="forecasts_begin"):
        conn.execute("INSERT INTO _forecasts_writes VALUES (1, 'x', now(), NULL)")
    with psycopg.connect(url, autocommit=True) as conn, pytest.raises(psycopg.Error, match="append-only|permission denied"):
        conn.execute("DELETE FROM _forecasts_writes")


def test_cli_writes_sealed_with_the_key_file_and_verify_checks_them(cli, open_question, tmp_path, monkeypatch):
    key = tmp_path / "team.key"
    key.write_bytes(KEY + b"\n")
    monkeypatch.setenv("FORECASTS_KEY_FILE", str(key))
    assert cli("log", "rain", "30%").returncode == 0
    ok = cli("verify")
    assert ok.returncode == 0 and "1 writes sealed with the team key" in ok.stdout, ok.stderr
    monkeypatch.delenv("FORECASTS_KEY_FILE")
    refused = cli("log", "rain", "40%")
    assert refused.returncode != 0 and "sealed with a team key" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    counted = cli("verify")
    assert counted.returncode == 0 and "not checked: give --key-file" in counted.stdout
    short = tmp_path / "short.key"
    short.write_bytes(b"short")
    monkeypatch.setenv("FORECASTS_KEY_FILE", str(short))
    bad = cli("log", "rain", "40%")
    assert bad.returncode == 2 and "16 bytes" in bad.stderr
