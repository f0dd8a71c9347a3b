"""The generic CSV/Parquet importer and the shared loading rules: all or nothing with line
numbers, idempotency, dry run, column mapping, and the lossless export/restore round trip."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecasts.errors import ImportRejected, InvalidInput
from forecasts.ledger import Ledger
from forecasts.sources.generic import forecaster_name, import_csv, load_track_record, slug

GOOD = """
question,title,opens,closes,forecaster,made_at,probability,outcome,resolved_at,id
q1,Will it rain?,2020-01-01,2020-06-01,ana,2020-01-05,0.6,yes,2020-05-01,a1
q1,Will it rain?,2020-01-01,2020-06-01,bo,2020-01-06T10:00:00Z,70%,yes,2020-05-01,a2
q2,"Multi-line
title?",2020-02-01,2020-09-01,ana,2020-03-01,13:7,,,a3
"""


@pytest.fixture
def good(tmp_path, write):
    return write(tmp_path / "good.csv", GOOD)


def test_import_csv_adds_questions_forecasts_resolutions(ledger, good):
    s = import_csv(ledger, good, mapping={"source_id": "id"}, name="mine")
    assert s.added == {"questions": 2, "resolutions": 1, "forecasts": 3}
    assert s.source == "import:mine" and s.rows_read == 3
    fs = ledger.forecasts()
    assert fs["probability"].tolist() == [0.6, 0.7, 0.65]
    assert set(fs["source"]) == {"import:mine"} and fs["source_id"].tolist() == ["a1", "a2", "a3"]
    assert fs["made_at"].iloc[1] == pd.Timestamp("2020-01-06 10:00")  # world time kept, UTC
    q = ledger.questions().set_index("id")
    assert q.loc["q1", "outcome"] == "yes" and q.loc["q2", "title"] == "Multi-line\ntitle?"
    assert q.loc["q1", "source_id"] == "q1"


def test_import_twice_adds_nothing_and_keeps_the_chain(ledger, good, snapshot):
    import_csv(ledger, good, mapping={"source_id": "id"})
    before = snapshot(ledger)
    s = import_csv(ledger, good, mapping={"source_id": "id"})
    assert s.added == {"questions": 0, "resolutions": 0, "forecasts": 0}
    assert s.skipped == {"questions": 2, "resolutions": 1, "forecasts": 3}
    assert snapshot(ledger) == before


def test_dry_run_writes_nothing(ledger, good, snapshot):
    before = snapshot(ledger)
    s = import_csv(ledger, good, mapping={"source_id": "id"}, dry_run=True)
    assert s.dry_run and s.added == {"questions": 2, "resolutions": 1, "forecasts": 3}
    assert snapshot(ledger) == before


def test_malformed_rows_are_refused_with_their_line_numbers(ledger, tmp_path, snapshot, write):
    bad = write(tmp_path / "bad.csv", """
question,title,opens,closes,forecaster,made_at,probability
q1,Rain?,2020-01-01,2020-06-01,ana,2020-01-05,0.6
q1,Rain?,2020-01-01,2020-06-01,ana,not a date,0.6
q1,Rain?,2020-01-01,2020-06-01,bo,2020-01-05,150%
q1,Rain?,2020-01-01,2020-06-01,has space,2020-01-05,0.5
q1,Rain?,2020-01-01,2020-06-01,cy,2021-01-05,0.5
""")
    before = snapshot(ledger)
    with pytest.raises(ImportRejected) as info:
        import_csv(ledger, bad)
    lines = dict(info.value.problems)
    assert sorted(lines) == [3, 4, 5, 6]
    assert "not a date" in lines[3] and "outside" in lines[6] and "forecaster name" in lines[5]
    assert "line 3" in info.value.message
    assert snapshot(ledger) == before
    s = import_csv(ledger, bad, skip_malformed=True)
    assert s.added["forecasts"] == 1 and [ln for ln, _ in s.malformed] == [3, 4, 5, 6]


def test_line_numbers_count_newlines_inside_quotes(ledger, tmp_path, write):
    f = write(tmp_path / "nl.csv", 'question,title,opens,closes,forecaster,made_at,probability\n'
              'q1,"two\nlines",2020-01-01,2020-06-01,ana,2020-01-05,0.6\n'
              'q1,"two\nlines",2020-01-01,2020-06-01,ana,2020-01-06,x\n')
    with pytest.raises(ImportRejected) as info:
        import_csv(ledger, f)
    assert info.value.problems == [(4, "probability is missing or not a number")]


def test_question_from_another_source_is_not_overwritten(ledger, tmp_path, write):
    ledger.add_question("q1", title="Mine", closes="2300-01-01", opens="2020-01-01")
    f = write(tmp_path / "x.csv", "question,title,opens,closes,forecaster,made_at,probability\n"
              "q1,Rain?,2020-01-01,2020-06-01,ana,2020-01-05,0.6\n")
    with pytest.raises(ImportRejected, match="already exists in the ledger from notebook"):
        import_csv(ledger, f)


def test_mapping_and_parquet(ledger, tmp_path):
    df = pd.DataFrame({"qid": ["A 1"], "who": ["ana"], "when": ["2020-01-05"], "p": [0.3],
                       "name": ["Rain?"], "start": ["2020-01-01"], "end": ["2020-03-01"]})
    df.to_parquet(tmp_path / "f.parquet")
    s = import_csv(ledger, tmp_path / "f.parquet", prefix="ext",
                   mapping={"question": "qid", "forecaster": "who", "made_at": "when", "probability": "p",
                            "title": "name", "opens": "start", "closes": "end"})
    assert s.added["forecasts"] == 1 and ledger.questions()["id"].tolist() == ["ext-a-1"]
    with pytest.raises(InvalidInput, match="no column 'nope'"):
        import_csv(ledger, tmp_path / "f.parquet", mapping={"question": "nope"})


def test_export_then_restore_gives_equal_rows_and_hashes(ledger, good, tmp_path):
    import_csv(ledger, good, mapping={"source_id": "id"})
    for fmt in ("csv", "parquet"):
        ledger.export(tmp_path / fmt, fmt)
        fresh = Ledger.open(tmp_path / f"fresh-{fmt}.duckdb", create=True)
        fresh.restore(tmp_path / fmt)
        assert fresh.verify().head == ledger.verify().head
        assert fresh.forecasts().drop(columns="recorded_at").equals(ledger.forecasts().drop(columns="recorded_at"))


def test_names_and_slugs():
    assert slug("GJP 1001-0") == "gjp-1001-0"
    assert forecaster_name("pb", "Sandra Åhlén") == "pb:Sandra_Ahlen"
    assert forecaster_name("pb", "CRNewsReports©") == "pb:CRNewsReports"


# ---------------------------------------------------------------------- spreadsheet CSVs
SEMI = """
question;title;opens;closes;forecaster;made_at;probability
q1;Rain?;01/01/2020;01/06/2020;ana;05/01/2020;0,35
q1;Rain?;01/01/2020;01/06/2020;bo;25/01/2020;0,4
"""


def test_semicolon_file_is_refused_naming_the_separator(ledger, tmp_path, write):
    f = write(tmp_path / "semi.csv", SEMI)
    with pytest.raises(InvalidInput, match="separated by ';'"):
        import_csv(ledger, f)


def test_decimal_comma_needs_decimal_option(ledger, tmp_path, write):
    f = write(tmp_path / "semi.csv", SEMI)
    with pytest.raises(InvalidInput, match=r"probability '0,35' on line 2 has a decimal comma"):
        import_csv(ledger, f, sep=";", date_order="dayfirst")


def test_ambiguous_day_month_dates_are_refused_without_an_order(ledger, tmp_path, write):
    f = write(tmp_path / "semi.csv", SEMI)
    with pytest.raises(InvalidInput, match=r"made_at '05/01/2020' on line 2 could be day/month or month/day"):
        import_csv(ledger, f, sep=";", decimal=",")
    assert ledger.counts()["forecasts"] == 0


@pytest.mark.parametrize(("order", "month"), [("dayfirst", 1), ("monthfirst", 5)])
def test_day_month_order_given(ledger, tmp_path, write, order, month):
    text = SEMI.replace("25/01/2020", "05/01/2020").replace("01/06/2020", "12/12/2020")
    s = import_csv(ledger, write(tmp_path / "semi.csv", text), sep=";", decimal=",", date_order=order)
    assert s.added["forecasts"] == 2
    fs = ledger.forecasts()
    assert fs["probability"].tolist() == [0.35, 0.4]
    assert fs["made_at"].iloc[0] == pd.Timestamp(2020, month, 5 if month == 1 else 1)


def test_unambiguous_day_first_date_is_read_without_an_order(ledger, tmp_path, write):
    f = write(tmp_path / "d.csv", "question,title,opens,closes,forecaster,made_at,probability\n"
              "q1,Rain?,2020-01-01,2020-06-01,ana,25/01/2020 14:30,0.3\n")
    import_csv(ledger, f)
    assert ledger.forecasts()["made_at"].iloc[0] == pd.Timestamp("2020-01-25 14:30")


def test_unknown_column_is_named(ledger, tmp_path, write):
    f = write(tmp_path / "u.csv", "question,title,opens,closes,forecaster,made_at,probability,confidence\n"
              "q1,Rain?,2020-01-01,2020-06-01,ana,2020-01-05,0.6,high\n")
    with pytest.raises(InvalidInput, match="not understood: 'confidence'"):
        import_csv(ledger, f)


# ---------------------------------------------------------------------- attribution
def test_imported_forecasters_are_namespaced_unless_mapped(ledger, good, tmp_path):
    import_csv(ledger, good, mapping={"source_id": "id"}, name="mine")
    assert sorted(set(ledger.forecasts()["forecaster"])) == ["mine:ana", "mine:bo"]
    other = Ledger.open(tmp_path / "other.duckdb", create=True)
    s = import_csv(other, good, mapping={"source_id": "id"}, name="mine", forecasters={"ana": "ana"})
    assert sorted(set(other.forecasts()["forecaster"])) == ["ana", "mine:bo"]
    assert set(other.forecasts()["source"]) == {"import:mine"}
    assert s.notes == ["forecasters mapped explicitly: ana -> ana"]


def test_forecast_after_resolution_is_refused(ledger, tmp_path, write, snapshot):
    f = write(tmp_path / "late.csv", """
question,title,opens,closes,forecaster,made_at,probability,outcome,resolved_at
q1,Rain?,2020-01-01,2020-06-01,ana,2020-01-05,0.6,yes,2020-03-01
q1,Rain?,2020-01-01,2020-06-01,bo,2020-03-02,0.9,yes,2020-03-01
""")
    before = snapshot(ledger)
    with pytest.raises(ImportRejected) as info:
        import_csv(ledger, f)
    assert [ln for ln, _ in info.value.problems] == [3]
    assert "after question 'q1' was resolved (2020-03-01 00:00)" in info.value.problems[0][1]
    assert snapshot(ledger) == before


def test_forecast_after_a_resolution_already_in_the_ledger_is_refused(ledger, tmp_path, write):
    import_csv(ledger, write(tmp_path / "a.csv", """
question,title,opens,closes,forecaster,made_at,probability,outcome,resolved_at
q1,Rain?,2020-01-01,2020-06-01,ana,2020-01-05,0.6,yes,2020-03-01
"""))
    with pytest.raises(ImportRejected, match="was resolved"):
        import_csv(ledger, write(tmp_path / "b.csv", "question,forecaster,made_at,probability\nq1,bo,2020-04-01,0.9\n"))


def test_bad_tags_cell_gives_its_root_cause_once(ledger, tmp_path, write):
    f = write(tmp_path / "t.csv", """
question,title,opens,closes,forecaster,made_at,probability,outcome,resolved_at,tags
q1,Rain?,2020-01-01,2020-06-01,ana,2020-01-05,0.6,yes,2020-05-01,bad tag!
q1,Rain?,2020-01-01,2020-06-01,bo,2020-01-06,0.7,yes,2020-05-01,bad tag!
""")
    with pytest.raises(ImportRejected) as info:
        import_csv(ledger, f)
    assert info.value.problems[0] == (2, "tag 'bad tag!' may hold letters, digits and . _ : - (at most 50)")
    assert info.value.problems[1:] == [(3, "its question 'q1' (line 2) is malformed")]
    assert info.value.message.startswith("2 malformed row(s), nothing imported: line 2: tag")


def test_importer_may_leave_out_points_after_resolution_and_count_them(ledger):
    frame = pd.DataFrame({"question": ["q1", "q1"], "forecaster": ["import:crowd", "import:crowd"],
                          "made_at": ["2020-02-01", "2020-04-01"], "probability": [0.4, 0.9],
                          "source_id": ["p1", "p2"], "line": [2, 3]})
    questions = [{"qid": "q1", "title": "Rain?", "opens": "2020-01-01", "closes": "2020-06-01", "line": 2}]
    resolutions = [{"question": "q1", "outcome": "yes", "on": "2020-03-01", "line": 2}]
    with pytest.raises(ImportRejected, match="line 3: made_at 2020-04-01 00:00 is after question 'q1' was resolved"):
        load_track_record(ledger, source="import:crowd", questions=questions, forecasts=frame,
                          resolutions=resolutions)
    s = load_track_record(ledger, source="import:crowd", questions=questions, forecasts=frame,
                          resolutions=resolutions, drop_after_resolution=True)
    assert s.filtered == {"after_resolution": 1} and s.added["forecasts"] == 1
    assert ledger.forecasts()["source_id"].tolist() == ["p1"]


_HERE = Path(__file__).resolve().parent
_TABLES = sorted({*(_HERE / "fixtures").rglob("*.csv"), *(_HERE.parents[1] / "data").glob("*.csv")})


@pytest.mark.parametrize("path", _TABLES, ids=lambda p: p.name)
@pytest.mark.parametrize("na", [("",), ("", "NA", "NULL")])
def test_the_parallel_reader_reads_what_pandas_reads(path, na, monkeypatch):
    """read_table reads a plain table with pyarrow's parallel reader; on every CSV the project
    has (real exports of the tools it reads, and its data) the frame is pandas' own."""
    from forecasts.sources import generic

    fast = generic.read_table(path, na_values=na)
    monkeypatch.setattr(generic, "_read_arrow", lambda *args: None)
    slow = generic.read_table(path, na_values=na)
    pd.testing.assert_frame_equal(fast, slow)


@pytest.mark.parametrize("text", [
    'a,b,c\n1,"",x\n2,"q,uoted","multi\nline"\n3,NA, sp \n\n4,é,"say ""hi"""\n',
    "a,b,c\n1,2\n",  # a short row: pandas fills it, pyarrow refuses, so pandas reads it
    "a,a,b\n1,2,3\n",  # repeated names: pandas renames them
    "\ufeffa,b\n1,2\n",  # a byte-order mark
    "a,b\n1,2,3\n",  # a long row: refused by pandas, with its words
    b"question_id,\xff\xfetitle\n1,x\n",  # a header that is not UTF-8
    b"a,b\n1,\xff\n",  # a cell that is not UTF-8
])
def test_the_parallel_reader_agrees_with_pandas_on_awkward_tables(tmp_path, text, monkeypatch):
    from forecasts.sources import generic

    path = tmp_path / "t.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())

    def read() -> object:
        try:
            return generic.read_table(path)
        except InvalidInput as exc:
            return exc.message

    fast = read()
    monkeypatch.setattr(generic, "_read_arrow", lambda *args: None)
    slow = read()
    if isinstance(slow, str):
        assert fast == slow
    else:
        pd.testing.assert_frame_equal(fast, slow)


PLAIN = """question,title,opens,closes,forecaster,made_at,probability,outcome,resolved_at,source_id
q1,Will it rain?,2020-01-01,2020-06-01,ana,2020-01-05,0.6,yes,2020-05-01,a1
q1,,,,bo,2020-01-06T10:00:00Z,70%,,,a2
q2,Will it snow?,2020-02-01,2020-09-01,ana,2020-03-01,13:7,,,a3
Q2,,,,bo,2020-03-02,0.2,,,a4
"""


def _full_path(monkeypatch):
    from forecasts.sources import generic

    monkeypatch.setattr(generic, "_all_present", lambda *args, **kwargs: None)


@pytest.mark.parametrize("dry_run", [False, True])
def test_an_import_already_in_the_ledger_is_known_without_reading_it_whole(ledger, tmp_path, write, monkeypatch,
                                                                          dry_run):
    """A second import of the same plain table takes the quick path, and says exactly what
    the whole path says; nothing is written."""
    from forecasts.sources import generic

    path = write(tmp_path / "plain.csv", PLAIN)
    import_csv(ledger, path, name="mine", prefix="p")
    counts, head = ledger.counts(), ledger.storage.head()
    assert generic._all_present(ledger, path, mapping=None, source="import:mine", prefix="p", sep=None,
                                decimal=".", forecasters=None) is not None
    quick = import_csv(ledger, path, name="mine", prefix="p", dry_run=dry_run).as_dict()
    _full_path(monkeypatch)
    whole = import_csv(ledger, path, name="mine", prefix="p", dry_run=dry_run).as_dict()
    assert quick == whole and quick["skipped"] == {"questions": 2, "resolutions": 1, "forecasts": 4}
    assert ledger.counts() == counts and ledger.storage.head() == head


@pytest.mark.parametrize("change", [
    lambda text: text + "q2,,,,cy,2020-03-03,0.3,,,a5\n",  # a new forecast
    lambda text: text.replace("a4\n", "a4\nq3,Will it hail?,2020-02-01,2020-09-01,cy,2020-03-03,0.3,,,a5\n"),
    lambda text: text.replace(",yes,2020-05-01,", ",no,2020-05-02,"),  # another resolution
    lambda text: text.replace("a3", "a 3"),  # an id it does not hold
    lambda text: text.replace("Will it snow?", '"Will it snow, or hail?"'),  # quotes: read whole
])
def test_any_new_or_different_row_takes_the_whole_path(ledger, tmp_path, write, monkeypatch, change):
    from forecasts.sources import generic

    path = write(tmp_path / "plain.csv", PLAIN)
    import_csv(ledger, path, name="mine")
    path.write_text(change(PLAIN), encoding="utf-8")
    assert generic._all_present(ledger, path, mapping=None, source="import:mine", prefix=None, sep=None,
                                decimal=".", forecasters=None) is None


@pytest.mark.parametrize(("text", "mapping", "said"), [
    ("question,source_id\nq1,a1\nq2,a3\n", None, "has no 'forecaster' column"),
    (PLAIN, {"bogus": "title"}, "cannot map 'bogus'"),
    (PLAIN.replace("source_id", "note"), {"source_id": "note", "rationale": "nope"}, "has no column 'nope'"),
])
def test_a_file_the_whole_path_refuses_is_refused_though_its_ids_are_present(ledger, tmp_path, write, text,
                                                                             mapping, said):
    """The quick path checks the columns as the whole path does: a file whose ids are all in
    the ledger, but which the whole path refuses, is refused with the same message."""
    path = write(tmp_path / "plain.csv", PLAIN)
    import_csv(ledger, path, name="mine")
    counts = ledger.counts()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=said):
        import_csv(ledger, path, name="mine", mapping=mapping)
    assert ledger.counts() == counts


def test_the_day_month_prefilter_misses_no_date_python_reads():
    """``_DM_START`` (RE2, run by pyarrow over the whole column) is a superset of the start of
    ``_DM_DATE`` (Python's ``re``, run on the candidates only): every Unicode character
    Python's ``\\d`` or ``\\s`` takes is taken by the prefilter too."""
    import re
    import sys

    from forecasts.sources.generic import _DM_DATE, _DM_START, _matches

    digits = [chr(c) for c in range(sys.maxunicode + 1) if re.match(r"\d", chr(c))]
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if re.match(r"\s", chr(c))]
    dates = [f"{s}{d}{d}/1/2021" for d in digits for s in ("", spaces[len(d) % len(spaces)])] + \
        [f"{s}{s}1{sep}2{sep}21 10:00" for s in spaces for sep in "/.-"]
    assert all(_DM_DATE.match(v) for v in dates)
    assert _matches(pd.Series(dates, dtype=object), _DM_START).all()
    others = pd.Series(["2021-01-05", "x1/2/2021", "123/4/2021", None, float("nan"), 7, ""], dtype=object)
    assert not _matches(others, _DM_START).any()


@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(" \t\u00a01234567890١٢/.-Tx:"), max_size=14)),
                max_size=30))
def test_the_day_month_prefilter_holds_every_candidate(values):
    from forecasts.sources.generic import _DM_DATE, _DM_START, _matches

    found = _matches(pd.Series(values, dtype=object), _DM_START)
    for v, hit in zip(values, found, strict=True):
        if isinstance(v, str) and _DM_DATE.match(v):
            assert hit, v


def test_a_first_import_is_not_read_twice(ledger, tmp_path, write, monkeypatch):
    """The quick path asks about the first row's id first: an import whose first row is new
    goes to the whole path without the quick path reading the file (0.3 s of a 1M-row import)."""
    import pyarrow.csv as pacsv

    from forecasts.sources import generic

    path = write(tmp_path / "plain.csv", PLAIN)
    reads: list[object] = []
    real = pacsv.read_csv
    monkeypatch.setattr(pacsv, "read_csv", lambda *a, **k: reads.append(a[0]) or real(*a, **k))
    bytes_read: list[object] = []
    whole = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: bytes_read.append(self) or whole(self))
    assert generic._all_present(ledger, path, mapping=None, source="import:mine", prefix=None, sep=None,
                                decimal=".", forecasters=None) is None
    assert reads == [] and bytes_read == []  # neither parsed nor read whole (for its quotes)
    import_csv(ledger, path, name="mine")
    reads.clear()
    bytes_read.clear()
    assert generic._all_present(ledger, path, mapping=None, source="import:mine", prefix=None, sep=None,
                                decimal=".", forecasters=None) is not None
    assert len(reads) == 1 and len(bytes_read) == 1  # all present: parsed once, read whole once for its quotes
