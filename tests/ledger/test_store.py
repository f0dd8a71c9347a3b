"""The ledger store on a real DuckDB file: appends, validation, corrections, as-of reads."""

from __future__ import annotations

import time
from datetime import timedelta

import duckdb
import pandas as pd
import pytest

from forecasts import domain
from forecasts.errors import (
    Backdated,
    DuplicateQuestion,
    InvalidDate,
    InvalidInput,
    InvalidProbability,
    QuestionClosed,
    StoreMissing,
    UnknownEvent,
    UnknownForecast,
    UnknownQuestion,
)
from forecasts.ledger import Ledger, migrations


def test_open_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(StoreMissing, match="forecasts init"):
        Ledger.open(tmp_path / "nope.duckdb")


def test_init_records_migrations(db_path, raw_sql):
    ledger = Ledger(db_path)
    # the team ledger has a second migration: the server's own check of the live time rules
    names = (["m001_ledger", "m002_live_rules", "m003_writes", "m004_amendments"] if str(db_path).startswith("postgresql")
             else ["m001_ledger", "m002_writes", "m003_amendments", "m004_sparse_chain"])
    assert ledger.init() == names
    assert Ledger(db_path).init() == []  # already up to date
    assert raw_sql(ledger, "SELECT version, name FROM _forecasts_migrations ORDER BY version") == \
        list(enumerate(names, start=1))


def test_log_and_read_back(ledger, open_question):
    row = ledger.log("rain", "13:7", by="bob", why="clouds")
    assert row["probability"] == 0.65 and row["source"] == "notebook"
    assert row["recorded_at"] == row["made_at"]
    df = ledger.forecasts()
    assert list(df["forecaster"]) == ["bob"] and df["probability"].iloc[0] == 0.65
    assert str(df["made_at"].dtype) == "datetime64[us]"
    assert df["rationale"].iloc[0] == "clouds"


@pytest.mark.duckdb_only  # on the team ledger the forecaster is the connected role: tests/ledger/test_postgres.py
def test_forecaster_defaults_to_environment(ledger, open_question, monkeypatch):
    monkeypatch.setenv("FORECASTS_USER", "dana")
    assert ledger.log("rain", 0.3)["forecaster"] == "dana"


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"question": "snow", "probability": "50%"}, UnknownQuestion),
    ({"question": "rain", "probability": "150%"}, InvalidProbability),
    ({"question": "rain", "probability": "maybe"}, InvalidProbability),
    ({"question": "rain", "probability": "1"}, InvalidProbability),
    ({"question": "rain", "probability": None}, InvalidInput),
    ({"question": "rain", "probability": "0.5", "options": ["a=1"]}, InvalidInput),
    ({"question": "rain", "probability": "0.5", "made_at": "2020-01-01"}, Backdated),
    ({"question": "rain", "probability": "0.5", "made_at": "2299-01-01"}, Backdated),
    ({"question": "rain", "probability": "0.5", "made_at": "yesterday"}, InvalidDate),
    ({"question": "rain", "probability": "0.5", "source": "import:metaculus"}, InvalidInput),
    ({"question": "Rain", "probability": "0.5"}, InvalidInput),
])
def test_bad_forecasts_write_nothing(ledger, open_question, snapshot, kwargs, error):
    before = snapshot(ledger)
    with pytest.raises(error):
        ledger.log(**kwargs)
    assert snapshot(ledger) == before


def test_made_at_within_tolerance_is_accepted(ledger, open_question):
    near = domain.now() - timedelta(minutes=1)
    assert ledger.log("rain", 0.4, made_at=near)["made_at"] == near


def test_certainty_with_leave(ledger, open_question):
    assert ledger.log("rain", "100%", allow_certainty=True)["probability"] == 1.0


def test_resolved_and_closed_questions_take_no_forecasts(ledger, open_question, snapshot):
    ledger.add_question("past", title="Past?", opens="2020-01-01", closes="2021-01-01")
    ledger.resolve("rain", "no")
    before = snapshot(ledger)
    with pytest.raises(QuestionClosed, match="resolved"):
        ledger.log("rain", 0.5)
    with pytest.raises(QuestionClosed, match="closed"):
        ledger.log("past", 0.5)
    assert snapshot(ledger) == before


def test_question_not_yet_open(ledger):
    ledger.add_question("later", title="Later?", opens="2299-01-01", closes="2300-01-01")
    with pytest.raises(QuestionClosed, match="opens"):
        ledger.log("later", 0.5)


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"qid": "rain", "title": "again", "closes": "2300-01-01"}, DuplicateQuestion),
    ({"qid": "x", "title": "", "closes": "2300-01-01"}, InvalidInput),
    ({"qid": "x", "title": "t", "closes": "2300-02-30"}, InvalidDate),
    ({"qid": "x", "title": "t", "closes": "2020-01-01", "opens": "2021-01-01"}, InvalidDate),
    ({"qid": "x", "title": "t", "closes": "2300-01-01", "kind": "numeric"}, InvalidInput),
    ({"qid": "x", "title": "t", "closes": "2300-01-01", "kind": "multiple_choice", "options": "a"}, InvalidInput),
    ({"qid": "x", "title": "t", "closes": "2300-01-01", "options": "a,b"}, InvalidInput),
    ({"qid": "x", "title": "t", "closes": "2300-01-01", "base_rate": "2"}, InvalidProbability),
    ({"qid": "x", "title": "t", "closes": "2300-01-01", "tags": "bad tag!"}, InvalidInput),
])
def test_bad_questions_write_nothing(ledger, open_question, snapshot, kwargs, error):
    before = snapshot(ledger)
    kwargs = dict(kwargs)  # the parameter is shared by both backends' runs
    qid = kwargs.pop("qid")
    with pytest.raises(error):
        ledger.add_question(qid, **kwargs)
    assert snapshot(ledger) == before


def test_multiple_choice(ledger, snapshot):
    ledger.add_question("term", title="How long an extension?", closes="2300-01-01",
                        kind="multiple_choice", options="yes-5y,yes-1y,no", ordered=True)
    row = ledger.log("term", options=["yes-5y=0.6", "yes-1y=0.3", "no=0.1"], by="alice")
    assert row["probability"] is None
    df = ledger.forecasts()
    assert df["probabilities"].iloc[0] == {"yes-5y": 0.6, "yes-1y": 0.3, "no": 0.1}
    assert pd.isna(df["probability"].iloc[0])
    q = ledger.questions()
    assert q["options"].iloc[0] == ["yes-5y", "yes-1y", "no"] and bool(q["ordered"].iloc[0])
    before = snapshot(ledger)
    for bad in (["yes-5y=0.6", "yes-1y=0.3", "no=0.3"], ["yes-5y=0.6", "no=0.4"], None):
        with pytest.raises(InvalidInput):
            ledger.log("term", options=bad)
    with pytest.raises(InvalidInput, match="multiple choice"):
        ledger.log("term", "60%")
    with pytest.raises(InvalidInput):
        ledger.resolve("term", "yes")
    assert snapshot(ledger) == before
    assert ledger.resolve("term", "yes-5y")["outcome"] == "yes-5y"


def test_corrections_and_retractions_are_new_rows(ledger, open_question, snapshot, raw_sql):
    first = ledger.log("rain", 0.6, by="alice")
    other = ledger.log("rain", 0.2, by="bob")
    fix = ledger.correct(first["seq"], 0.16, by="alice", why="typo: meant 16%")
    assert fix["corrects"] == first["seq"] and fix["seq"] > other["seq"]
    df = ledger.forecasts()
    alice = df[df["forecaster"] == "alice"].iloc[0]
    assert alice["probability"] == 0.16 and alice["seq"] == first["seq"]
    assert alice["made_at"] == pd.Timestamp(first["made_at"])  # keeps the original time
    assert alice["corrected_by"] == fix["seq"]
    before = snapshot(ledger)
    with pytest.raises(InvalidInput, match="bob's forecast"):
        ledger.correct(other["seq"], 0.3, by="alice")
    with pytest.raises(InvalidInput, match="itself a correction"):
        ledger.correct(fix["seq"], 0.3, by="alice")
    with pytest.raises(UnknownForecast):
        ledger.correct(9999, 0.3, by="alice")
    assert snapshot(ledger) == before
    ledger.retract(other["seq"], by="bob", why="wrong question")
    assert list(ledger.forecasts()["forecaster"]) == ["alice"]
    # the raw table still holds all four rows: nothing was edited or deleted
    assert raw_sql(ledger, "SELECT count(*) FROM forecasts") == [(4,)]
    assert raw_sql(ledger, "SELECT probability FROM forecasts WHERE seq = ?", [first["seq"]]) == [(0.6,)]


def test_as_of_reads(ledger, open_question):
    a = ledger.log("rain", 0.3, by="alice")
    time.sleep(0.01)
    t = domain.now()
    time.sleep(0.01)
    ledger.log("rain", 0.5, by="alice")
    ledger.correct(a["seq"], 0.35, by="alice")
    ledger.resolve("rain", "yes")
    then = ledger.forecasts(as_of=t)
    assert list(then["probability"]) == [0.3]  # the later correction is not yet known
    assert ledger.resolutions(as_of=t).empty
    assert ledger.questions(as_of=t)["status"].iloc[0] == "open"
    assert list(ledger.forecasts()["probability"]) == [0.35, 0.5]
    assert ledger.questions()["status"].iloc[0] == "resolved"
    assert ledger.questions(as_of="2000-01-01").empty


def test_re_resolution_latest_counts(ledger, open_question, snapshot):
    ledger.resolve("rain", "yes", note="first call")
    ledger.resolve("rain", "ambiguous", note="gauge broken")
    latest = ledger.resolutions()
    assert list(latest["outcome"]) == ["ambiguous"]
    assert list(ledger.resolutions(latest=False)["outcome"]) == ["yes", "ambiguous"]
    before = snapshot(ledger)
    for outcome, on, error in (("perhaps", None, InvalidInput), ("yes", "1999-01-01", InvalidDate),
                               ("yes", "2299-01-01", InvalidDate), ("yes", "2021-02-31", InvalidDate)):
        with pytest.raises(error):
            ledger.resolve("rain", outcome, on=on)
    with pytest.raises(UnknownQuestion):
        ledger.resolve("snow", "yes")
    assert snapshot(ledger) == before


def test_events_and_evidence(ledger, open_question, snapshot):
    e = ledger.add_event("Putin calls for a one-year extension", on="2020-12-17", cameo="036",
                         source_url="https://example.org/a", tags="russia", actors=["RUS", "USA"])
    assert e["goldstein"] == 4.0 and e["actors"] == "RUS;USA"
    v = ledger.add_evidence("rain", e["seq"], strength="moderate for no", weight=0.5, by="alice")
    assert v["lr"] == pytest.approx(1 / 3)
    got = ledger.evidence(question="rain")
    assert got["event_title"].iloc[0].startswith("Putin") and got["weight"].iloc[0] == 0.5
    assert ledger.events(tag="russia")["seq"].tolist() == [e["seq"]]
    assert ledger.events(tag="weather").empty
    before = snapshot(ledger)
    bad_events = [dict(title="x", on="2999-01-01"), dict(title="", on="2020-01-01"),
                  dict(title="x", on="2020-01-01", cameo="999"), dict(title="x", on="2020-01-01", goldstein=11),
                  dict(title="x", on="2020-01-01", source_url="ftp://x")]
    for kwargs in bad_events:
        with pytest.raises(InvalidInput):
            ledger.add_event(**kwargs)
    with pytest.raises(UnknownEvent):
        ledger.add_evidence("rain", 999, lr=2)
    with pytest.raises(UnknownEvent):
        ledger.add_evidence("rain", "abc", lr=2)
    with pytest.raises(UnknownQuestion):
        ledger.add_evidence("snow", e["seq"], lr=2)
    with pytest.raises(InvalidInput):
        ledger.add_evidence("rain", e["seq"], lr=0)
    assert snapshot(ledger) == before


def test_history_is_dated_and_complete(ledger, open_question):
    e = ledger.add_event("Storm warning", on="2020-06-01")
    ledger.add_evidence("rain", e["seq"], lr=3, by="alice")
    f = ledger.log("rain", 0.7, by="alice", why="warning")
    ledger.correct(f["seq"], 0.75, by="alice")
    ledger.resolve("rain", "yes")
    h = ledger.history("rain")
    assert list(h["kind"]) == ["event", "opens", "forecast", "correction", "resolution", "closes"]
    assert h["at"].is_monotonic_increasing
    with pytest.raises(UnknownQuestion):
        ledger.history("snow")


def test_questions_filters(ledger, open_question):
    ledger.add_question("past", title="Past?", opens="2020-01-01", closes="2021-01-01", tags="old")
    ledger.add_question("done", title="Done?", closes="2300-01-01", by="zoe")
    ledger.resolve("done", "no")
    ledger.log("rain", 0.5, by="yan")
    assert ledger.questions(status="open")["id"].tolist() == ["rain"]
    assert ledger.questions(status="closed")["id"].tolist() == ["past"]
    assert ledger.questions(status="resolved")["id"].tolist() == ["done"]
    assert ledger.questions(tag="old")["id"].tolist() == ["past"]
    assert ledger.questions(by="yan")["id"].tolist() == ["rain"]
    assert ledger.questions(by="zoe")["id"].tolist() == ["done"]


def test_due(ledger):
    soon = (domain.now() + timedelta(days=3)).isoformat()
    ledger.add_question("soon", title="Soon?", closes=soon)
    ledger.add_question("far", title="Far?", closes="2300-01-01")
    ledger.log("far", 0.5, by="alice")
    ledger.log("soon", 0.5, by="alice")
    due = ledger.due("alice")
    assert due["question"].tolist() == ["soon"] and "closes in" in due["why"].iloc[0]
    assert set(ledger.due("bob")["question"]) == {"soon", "far"}
    later = domain.now() + timedelta(days=40)
    stale = ledger.due("alice", as_of=later, within="1d")
    assert "far" in stale["question"].tolist() and "old" in stale["why"].iloc[0]


def test_export_is_lossless(ledger, open_question, tmp_path, raw_sql):
    ledger.log("rain", 0.123456789012345678, by="alice", why="präzise, \"quoted\", comma")
    ledger.add_event("Something", on="2020-01-01T10:11:12.123456")
    for fmt in ("csv", "parquet"):
        files = ledger.export(tmp_path / fmt, fmt)
        assert set(files) == {"questions", "forecasts", "events", "evidence", "resolutions", "amendments",
                              "_forecasts_migrations"}
        con = duckdb.connect()  # reads the exported file, whichever backend wrote it
        for table in ("questions", "forecasts", "events"):
            cols = [*migrations.COLUMNS[table], "prev_hash", "hash"]
            original = raw_sql(ledger, f"SELECT {', '.join(cols)} FROM {table} ORDER BY seq")
            reader = "read_parquet" if fmt == "parquet" else "read_csv"
            types = {c: t for c, t, _, _ in migrations.SCHEMA_V1[table]} | {
                "recorded_at": "TIMESTAMP", "prev_hash": "VARCHAR", "hash": "VARCHAR"}
            args = f", columns = {{{', '.join(repr(c) + ': ' + repr(types[c]) for c in cols)}}}" if fmt == "csv" else ""
            back = con.execute(f"SELECT {', '.join(cols)} FROM {reader}('{files[table]}'{args}) ORDER BY seq").fetchall()
            assert back == original, (fmt, table)
        con.close()
    with pytest.raises(InvalidInput):
        ledger.export(tmp_path / "x", "xlsx")


def test_export_restore_round_trip(ledger, open_question, tmp_path):
    ledger.log("rain", 0.3, by="alice", why="a, \"quoted\" reason")
    e = ledger.add_event("Storm", on="2020-06-01", cameo="036")
    ledger.add_evidence("rain", e["seq"], strength="weak for yes", by="alice")
    ledger.resolve("rain", "yes")
    original = ledger.verify()
    for fmt in ("csv", "parquet"):
        ledger.export(tmp_path / fmt, fmt)
        fresh = Ledger.open(tmp_path / f"restored-{fmt}.duckdb", create=True)
        assert fresh.restore(tmp_path / fmt) == ledger.counts()
        again = fresh.verify()
        assert again.ok and again.head == original.head and again.rows == original.rows
        assert fresh.forecasts().equals(ledger.forecasts())
        with pytest.raises(InvalidInput, match="not empty"):
            fresh.restore(tmp_path / fmt)


def test_restore_refuses_a_tampered_export(ledger, open_question, tmp_path, snapshot):
    ledger.log("rain", 0.3, by="alice")
    ledger.export(tmp_path / "x", "csv")
    text = (tmp_path / "x" / "forecasts.csv").read_text().replace(",0.3,", ",0.9,")
    (tmp_path / "x" / "forecasts.csv").write_text(text)
    fresh = Ledger.open(tmp_path / "r.duckdb", create=True)
    from forecasts.errors import IntegrityError

    with pytest.raises(IntegrityError, match="altered"):
        fresh.restore(tmp_path / "x")
    assert sum(fresh.counts().values()) == 0


@pytest.mark.duckdb_only
def test_a_vanished_file_is_not_recreated_silently(ledger, open_question):
    ledger.path.unlink()
    with pytest.raises(StoreMissing, match="forecasts init"):
        ledger.log("rain", 0.4)
    assert not ledger.path.exists()


@pytest.mark.parametrize("name", ["model:evidence", "crowd:median", "import:metaculus", "backtest:hazard"])
def test_reserved_forecaster_prefixes_are_refused_on_the_live_path(ledger, open_question, snapshot, name):
    from forecasts.errors import ReservedForecaster

    row = ledger.log(open_question, 0.4, by="ana")
    event = ledger.add_event("Talks", on="2020-01-01")
    before = snapshot(ledger)
    for write in (lambda: ledger.log(open_question, 0.5, by=name),
                  lambda: ledger.add_question("q2", title="Q?", closes="2300-01-01", by=name),
                  lambda: ledger.add_event("Talks again", on="2020-01-02", by=name),
                  lambda: ledger.add_evidence(open_question, event["seq"], lr=2.0, by=name),
                  lambda: ledger.correct(row["seq"], 0.5, by=name),
                  lambda: ledger.resolve(open_question, "yes", by=name)):
        with pytest.raises(ReservedForecaster, match="reserved"):
            write()
    assert snapshot(ledger) == before
    # the import path still writes them, under their own source
    ledger.import_history(forecasts=[{"question": open_question, "forecaster": name,
                                      "made_at": row["made_at"], "probability": 0.5}], source="import:test")
    assert name in set(ledger.forecasts()["forecaster"])


def test_a_bare_date_on_the_opening_day_resolves_after_the_opening(ledger, cli, snapshot):
    ledger.add_question("today", title="Added today?", closes="2300-01-01")
    opened = ledger.records("questions")[0]["opens_at"]
    result = cli("resolve", "today", "yes", "--on", f"{domain.now():%Y-%m-%d}")
    assert result.returncode == 0, result.stderr
    resolved = ledger.records("resolutions")[0]["resolved_at"]
    assert opened <= resolved <= domain.now()  # the moment of the command: the end of today is to come

    ledger.add_question("earlier", title="Opened one afternoon?", opens="2020-01-01T15:00", closes="2300-01-01")
    assert ledger.resolve("earlier", "no", on="2020-01-01")["resolved_at"] == \
        pd.Timestamp("2020-01-01 23:59:59.999999").to_pydatetime()  # that day has ended
    assert ledger.resolve("earlier", "no", on="2020-01-02")["resolved_at"] == pd.Timestamp("2020-01-02").to_pydatetime()
    before = snapshot(ledger)
    with pytest.raises(InvalidDate, match="before question 'earlier' opens"):
        ledger.resolve("earlier", "no", on="2020-01-01T14:00")  # a moment before the opening stays refused
    with pytest.raises(InvalidDate, match="before question 'earlier' opens"):
        ledger.resolve("earlier", "no", on="2019-12-31")
    assert snapshot(ledger) == before


def test_resolve_without_a_date_means_now(ledger, cli):
    ledger.add_question("now", title="Now?", closes="2300-01-01")
    start = domain.now()
    assert cli("resolve", "now", "yes").returncode == 0
    assert start <= ledger.records("resolutions")[0]["resolved_at"] <= domain.now()


def test_evidence_only_on_binary_questions_and_live_only_before_the_resolution(ledger, open_question, snapshot, cli):
    e = ledger.add_event("Talks announced", on="2020-12-17")
    ledger.add_question("term", title="How long?", closes="2300-01-01", kind="multiple_choice", options="a,b")
    ledger.add_question("done", title="Done?", closes="2300-01-01")
    ledger.resolve("done", "yes")
    before = snapshot(ledger)
    with pytest.raises(InvalidInput, match="'term' is multiple-choice: evidence is a likelihood ratio between yes and no"):
        ledger.add_evidence("term", e["seq"], lr=2)
    with pytest.raises(InvalidInput, match="only binary questions"):
        ledger.import_history(questions=[{"qid": "mc-old", "title": "Which?", "opens": "2020-01-01",
                                          "closes": "2020-06-01", "kind": "multiple_choice", "options": "a,b"}],
                              evidence=[{"question": "mc-old", "event": e["seq"], "lr": 2.0, "by": "ana"}],
                              source="import:test")
    with pytest.raises(QuestionClosed, match="'done' is resolved .*takes no more evidence"):
        ledger.add_evidence("done", e["seq"], lr=2)
    result = cli("evidence", "done", str(e["seq"]), "--lr", "2")
    assert result.returncode == 2 and "takes no more evidence" in result.stderr and result.stderr.count("\n") == 1
    assert snapshot(ledger) == before
    ledger.add_evidence("rain", e["seq"], lr=2)  # a binary, open question takes it


def test_event_actors_take_commas_so_the_shell_does_not_split_them(ledger, cli):
    assert cli("event", "add", "Talks", "--on", "2020-01-01", "--actors", "RUS,USA").returncode == 0
    assert ledger.add_event("More talks", on="2020-01-02", actors="RUS; USA ;")["actors"] == "RUS;USA"
    assert [e["actors"] for e in ledger.records("events")] == ["RUS;USA", "RUS;USA"]


def test_a_query_over_the_as_of_reads_is_computed_by_the_database(ledger, open_question):
    """``Ledger.query`` runs a read written over the ledger's own SQL in its dialect: ``$as_of``
    bound to the moment (default now), other marks to ``params``; plain dicts, no pandas.  A
    time in microseconds (``sql.epoch_us``) is exact on both backends."""
    from forecasts.ledger import sql

    first = ledger.log(open_question, 0.3, by="alice")
    between = domain.now()
    ledger.log(open_question, 0.6, by="bob")
    count = f"SELECT count(*) AS n, sum(probability) AS total FROM ({sql.forecasts_sql('both')}) f WHERE forecaster <> $who"
    assert ledger.query(count, params={"who": "nobody"}) == [{"n": 2, "total": pytest.approx(0.9)}]
    assert ledger.query(count, between, params={"who": "nobody"}) == [{"n": 1, "total": 0.3}]
    assert ledger.query(count, params={"who": "bob"}) == [{"n": 1, "total": 0.3}]
    at = sql.epoch_us("CAST('2024-05-01 12:00:00.123457' AS TIMESTAMP)", ledger.dialect)
    made = sql.epoch_us("made_at", ledger.dialect)
    rows = ledger.query(f"SELECT {at} AS at, {made} AS made FROM forecasts WHERE seq = $seq", params={"seq": first["seq"]})
    micros = (first["made_at"] - domain.parse_time("1970-01-01")) // timedelta(microseconds=1)
    assert rows == [{"at": 1714564800123457, "made": micros}]
    assert ledger.dialect in ("duckdb", "postgres")
