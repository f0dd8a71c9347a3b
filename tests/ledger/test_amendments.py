"""Question amendments and event withdrawals: new rows in the ``amendments`` table, honoured by
every read, shown in ``history``, never an UPDATE; on DuckDB and on the team ledger."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from forecasts import domain
from forecasts.errors import InvalidDate, InvalidInput, QuestionClosed, UnknownEvent, UnknownQuestion
from forecasts.ledger import integrity, migrations
from forecasts.ledger.migrations import COLUMNS
from forecasts.ledger.store import Ledger
from tests.conftest import duckdb_ledger_at_schema


def _question(ledger, qid="rain"):
    return next(q for q in ledger.question_records() if q["id"] == qid)


def test_an_amended_question_reads_amended_from_then_on_and_the_original_row_stays(ledger, open_question, raw_sql):
    ledger.log("rain", 0.3, by="alice")
    before = ledger.storage.now()
    rows = ledger.amend_question("rain", title="Will it rain in Vienna?", closes="2299-06-01",
                                 tags="weather,vienna", criteria="Any rain at Hohe Warte", why="clearer", by="ed")
    assert [r["field"] for r in rows] == ["title", "criteria", "tags", "closes_at"]
    q = _question(ledger)
    assert (q["title"], q["closes_at"], q["tags"], q["criteria"], q["amended"]) == (
        "Will it rain in Vienna?", domain.parse_time("2299-06-01"), ["vienna", "weather"], "Any rain at Hohe Warte", 4)
    assert ledger.questions()["title"].tolist() == ["Will it rain in Vienna?"]  # the frame path too
    old = next(q for q in ledger.question_records(as_of=before) if q["id"] == "rain")
    assert (old["title"], old["closes_at"], old["amended"]) == ("Will it rain?", domain.parse_time("2300-01-01"), 0)
    assert raw_sql(ledger, "SELECT title, closes_at FROM questions") == [("Will it rain?", domain.parse_time("2300-01-01"))]
    kinds = [(r["kind"], r["what"]) for r in ledger.history_records("rain") if r["kind"] == "amendment"]
    assert kinds == [("amendment", "title: Will it rain in Vienna? (clearer)"),
                     ("amendment", "criteria: Any rain at Hohe Warte (clearer)"),
                     ("amendment", "tags: vienna, weather (clearer)"),
                     ("amendment", "close: 2299-06-01 00:00 (clearer)")]
    assert next(r for r in ledger.history_records("rain") if r["kind"] == "closes")["at"] == domain.parse_time("2299-06-01")
    assert [q["id"] for q in ledger.question_records(tag="vienna")] == ["rain"]
    assert ledger.verify().ok
    # the latest amendment of a field counts
    ledger.amend_question("rain", title="Will it rain in Vienna tomorrow?")
    assert _question(ledger)["title"] == "Will it rain in Vienna tomorrow?"


def test_a_moved_close_is_the_close_of_every_rule(ledger, raw_sql):
    ledger.add_question("late", title="Closed already?", opens="2026-01-01", closes="2026-06-01")
    with pytest.raises(QuestionClosed):
        ledger.log("late", 0.4, by="alice")
    ledger.amend_question("late", closes="2299-01-01", why="the deadline was extended")
    row = ledger.log("late", 0.4, by="alice")  # the live path reads the amended close
    # and so does the team ledger's server: a correction after the original close is accepted
    ledger.correct(row["seq"], 0.45, by="alice")
    assert ledger.forecasts(question="late")["probability"].tolist() == [0.45]
    assert ledger.verify().ok  # verify's re-check of corrections uses the moved close too


@pytest.mark.parametrize(("change", "error", "message"), [
    ({}, InvalidInput, "nothing to amend"),
    ({"title": "Will it rain?"}, InvalidInput, "nothing to amend"),
    ({"title": "  "}, InvalidInput, "needs a title"),
    ({"closes": "2001-01-01"}, InvalidDate, "before it opens"),
    ({"closes": "someday"}, InvalidDate, "close date"),
])
def test_a_bad_amendment_is_refused_and_nothing_is_written(ledger, open_question, snapshot, change, error, message):
    before = snapshot(ledger)
    with pytest.raises(error, match=message):
        ledger.amend_question("rain", **change)
    assert snapshot(ledger) == before


def test_a_close_moves_no_earlier_than_a_forecast_and_not_once_resolved(ledger, snapshot):
    ledger.add_question("q", title="Q?", opens="2026-01-01", closes="2299-01-01")
    ledger.log("q", 0.2, by="alice")
    before = snapshot(ledger)
    with pytest.raises(InvalidDate, match="after the new close"):
        ledger.amend_question("q", closes="2026-02-01")
    with pytest.raises(UnknownQuestion):
        ledger.amend_question("nope", title="X")
    assert snapshot(ledger) == before
    ledger.resolve("q", "no")
    with pytest.raises(QuestionClosed, match="resolved"):
        ledger.amend_question("q", closes="2298-01-01")
    ledger.amend_question("q", title="Q, typo fixed?")  # a title still may change
    assert _question(ledger, "q")["title"] == "Q, typo fixed?"


def test_a_withdrawn_event_leaves_every_read_and_takes_no_evidence(ledger, open_question, snapshot):
    keep = ledger.add_event("Talks", on="2026-11-30")["seq"]
    dup = ledger.add_event("Talks (entered twice)", on="2026-11-30")["seq"]
    ledger.add_evidence("rain", keep, lr=2.0, by="alice")
    ledger.add_evidence("rain", dup, lr=2.0, by="alice")
    before = ledger.storage.now()
    row = ledger.retract_event(dup, why="duplicate", by="ed")
    assert (row["about"], row["target"], row["field"]) == ("event", str(dup), "withdrawn")
    assert [e["seq"] for e in ledger.event_records()] == [keep]
    assert ledger.events()["seq"].tolist() == [keep]
    assert ledger.evidence(question="rain")["event"].tolist() == [keep]
    assert [e["seq"] for e in ledger.event_records(as_of=before)] == [keep, dup]  # as it was
    assert [e["seq"] for e in ledger.event_records(as_of="2026-12-31", clock="world")] == [keep]  # a replay too
    history = ledger.history_records("rain")
    assert [r["what"] for r in history if r["kind"] == "withdrawal"] == [f"of event #{dup} (duplicate)"]
    assert [r["what"].split(" ")[0] for r in history if r["kind"] == "event"] == [f"#{keep}"]
    state = snapshot(ledger)
    with pytest.raises(InvalidInput, match="withdrawn; it takes no evidence"):
        ledger.add_evidence("rain", dup, lr=3.0, by="alice")
    with pytest.raises(InvalidInput, match="already withdrawn"):
        ledger.retract_event(dup)
    with pytest.raises(UnknownEvent):
        ledger.retract_event(999)
    assert snapshot(ledger) == state
    assert ledger.verify().ok


def test_a_model_no_longer_counts_a_withdrawn_event(ledger, open_question):
    from forecasts.runs.live import forecast

    ledger.log("rain", 0.5, by="alice")
    ev = ledger.add_event("A strong sign", on=domain.now())["seq"]
    ledger.add_evidence("rain", ev, lr=4.0, by="alice")
    first = forecast(ledger, "rain", "evidence")["rows"][-1]["probability"]
    ledger.retract_event(ev, why="the report was false")
    second = forecast(ledger, "rain", "evidence")["rows"][-1]["probability"]
    assert first == pytest.approx(0.8) and second == pytest.approx(0.5)


def _forge_amendment(ledger, raw_sql, **values) -> int:
    seq, prev = ledger.storage.head()
    row = {c: None for c in COLUMNS["amendments"]}
    row.update(seq=seq, amended_by="mallory", source="cli", recorded_at=domain.now(), **values)
    row["hash"] = integrity.row_hash(prev, "amendments", row)
    cols = [*COLUMNS["amendments"], "prev_hash", "hash"]
    row["prev_hash"] = prev
    raw_sql(ledger, f"INSERT INTO amendments ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [row[c] for c in cols])
    return seq


@pytest.mark.parametrize(("values", "message"), [
    ({"about": "question", "target": "nope", "field": "title", "value": "X"}, "does not hold"),
    ({"about": "event", "target": "999", "field": "withdrawn"}, "does not hold"),
    ({"about": "question", "target": "rain", "field": "kind", "value": "multiple_choice"}, "cannot"),
    ({"about": "question", "target": "rain", "field": "closes_at", "value": "1999-01-01 00:00:00"}, "after the question opens"),
])
def test_verify_names_a_forged_amendment_with_a_valid_hash(ledger, open_question, raw_sql, values, message):
    seq = _forge_amendment(ledger, raw_sql, **values)
    result = ledger.verify()
    assert not result.ok and (result.table, result.seq) == ("amendments", seq)
    assert message in result.problem


def test_cli_amend_and_retract_are_one_line(ledger, open_question, cli):
    ok = cli("question", "amend", "rain", "--title", "Will it rain today?", "--why", "typo")
    assert ok.returncode == 0 and ok.stdout.startswith("amended rain: title (row ")
    ev = ledger.add_event("Talks", on="2026-11-30")["seq"]
    done = cli("event", "retract", str(ev), "--why", "duplicate")
    assert done.returncode == 0 and done.stdout == f"event {ev} withdrawn (row {ev + 1})\n"
    for args, text in ((("question", "amend", "rain"), "nothing to amend"),
                       (("event", "retract", str(ev)), "already withdrawn"),
                       (("question", "amend", "rain", "--closes", "1999-01-01"), "before it opens")):
        bad = cli(*args)
        assert bad.returncode == 2 and text in bad.stderr and bad.stderr.count("\n") == 1, (args, bad)
    shown = cli("history", "rain", "--wide")
    assert "title: Will it rain today? (typo)" in shown.stdout


def test_an_export_without_amendments_restores(ledger, open_question, tmp_path, db_path):
    ledger.log("rain", 0.3, by="alice")
    files = ledger.export(tmp_path / "old", "csv")
    files["amendments"].unlink()  # as an export written before schema 3
    target = Ledger.open(tmp_path / "new.duckdb", create=True)
    counts = target.restore(tmp_path / "old")
    assert counts["amendments"] == 0 and counts["forecasts"] == 1 and target.verify().ok


def test_a_ledger_of_schema_2_is_brought_up_to_date_when_opened(tmp_path):
    path = tmp_path / "old.duckdb"
    duckdb_ledger_at_schema(path, 2)
    ledger = Ledger(path)
    assert ledger.question_records() == []  # the first open migrates it
    ledger.add_question("q", title="Q?", closes=domain.now() + timedelta(days=3))
    ledger.amend_question("q", title="Q, amended?")
    assert _question(ledger, "q")["title"] == "Q, amended?" and ledger.verify().ok
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT max(version) FROM _forecasts_migrations").fetchone() == (len(migrations.MIGRATIONS),)
    con.close()
