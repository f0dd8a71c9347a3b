"""GDELT event exports: the real 1.0 extract, and synthetic header-less 1.0/2.0 rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from forecasts.errors import ImportRejected, InvalidInput
from forecasts.sources.gdelt import columns, import_gdelt


def raw_row(version: int, event_id: str, code: str, a1="USA", a2="RUS") -> str:
    values = dict.fromkeys(columns(version), "")
    values.update({"GLOBALEVENTID": event_id, "SQLDATE": "20200115", "Actor1Code": a1, "Actor1Name": a1,
                   "Actor1CountryCode": a1, "Actor2Code": a2, "Actor2Name": a2, "Actor2CountryCode": a2,
                   "IsRootEvent": "1", "EventCode": code, "EventBaseCode": code, "EventRootCode": code[:2],
                   "QuadClass": "1", "GoldsteinScale": "3.4", "NumMentions": "5",
                   "SOURCEURL": "https://example.org/story"})
    return "\t".join(values[c] for c in columns(version))


def test_layouts_match_gdelt_header_files(shared):
    for version, name in ((1, "gdelt1_event_columns.txt"), (2, "gdelt_event_columns.txt")):
        names = [line.split("\t")[1] for line in shared(name).read_text().splitlines()]
        assert columns(version) == names


@pytest.mark.parametrize("version", [1, 2])
def test_raw_export_rows(ledger, tmp_path, version, snapshot):
    path = tmp_path / "export.CSV"
    path.write_text("\n".join([raw_row(version, "1", "036"), raw_row(version, "2", "190"),
                               raw_row(version, "3", "036", a2="CHN")]) + "\n")
    s = import_gdelt(ledger, path, actors=["RUS", "USA"], codes=["03"])
    assert s.added == {"events": 1} and s.filtered == {"other_actors": 1, "other_codes": 1}
    e = ledger.events().iloc[0]
    assert e["cameo"] == "036" and e["goldstein"] == 4.0  # from data/cameo_goldstein.csv
    assert e["title"] == "USA -> RUS: Express intent to meet or negotiate"
    assert e["source_id"] == "1" and e["source_url"] == "https://example.org/story"
    assert "GDELT Goldstein 3.4" in e["description"] and "gdelt" in e["tags"]
    before = snapshot(ledger)
    assert import_gdelt(ledger, path, actors=["RUS", "USA"], codes=["03"]).total_added() == 0
    assert snapshot(ledger) == before


def test_unknown_code_is_refused_with_its_line(ledger, tmp_path):
    path = tmp_path / "export.tsv"
    path.write_text(raw_row(2, "1", "036") + "\n" + raw_row(2, "2", "999") + "\n")
    with pytest.raises(ImportRejected) as info:
        import_gdelt(ledger, path)
    assert info.value.problems == [(2, "unknown CAMEO code '999'; see data/cameo_goldstein.csv")]
    assert ledger.counts()["events"] == 0


def test_wrong_width_is_a_clear_error(ledger, tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("a\tb\tc\n")
    with pytest.raises(InvalidInput, match="has 3 columns"):
        import_gdelt(ledger, path)


EXTRACT = Path(__file__).resolve().parents[2] / "data" / "gdelt1_events_usa_rus_georgia_2011_2013.csv"


def test_real_extract(ledger):
    s = import_gdelt(ledger, EXTRACT, actors=["USA", "RUS"],
                     codes=["04", "17", "19"], since="2012-01-01")
    ev = ledger.events()
    assert s.added["events"] == len(ev) > 50
    assert ev["cameo"].str.startswith(("04", "17", "19")).all() and (ev["occurred_at"] >= "2012-01-01").all()
    assert ev["actors"].isin(["USA;RUS", "RUS;USA"]).mean() > 0.5


FIXTURES = Path(__file__).parent / "fixtures" / "gdelt"
ZIP = FIXTURES / "20170701234500.export.CSV.zip"


def test_published_2_0_zip_imports(ledger, snapshot):
    s = import_gdelt(ledger, ZIP)
    assert s.rows_read == 18 and s.added == {"events": 18}
    ev = ledger.events().set_index("source_id")
    assert ev.loc["669666350", "cameo"] == "040"  # leading zero kept
    assert ev.loc["661116620", "actors"] == "RUS;USA"
    assert str(ev.loc["669666350", "occurred_at"])[:10] == "2007-07-04"
    before = snapshot(ledger)
    assert import_gdelt(ledger, ZIP).total_added() == 0
    assert snapshot(ledger) == before


def test_published_zip_filtered_by_actor_pair(ledger):
    s = import_gdelt(ledger, ZIP, actors=["USA", "RUS"])
    assert s.added == {"events": 6} and s.filtered == {"other_actors": 12}


def test_gdeltpyr_csv_with_header_and_its_added_column(ledger):
    s = import_gdelt(ledger, FIXTURES / "events2samps_head.csv")
    assert s.added == {"events": 5}


def test_wrong_column_count_on_a_later_line_names_line_and_counts(ledger, tmp_path):
    import zipfile

    with zipfile.ZipFile(ZIP) as z:
        rows = z.read("20170701234500.export.CSV").decode().splitlines()
    rows[3] = "\t".join(rows[3].split("\t")[:60])
    path = tmp_path / "x.export.CSV"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(InvalidInput, match=r"line 4 has 60 columns where line 1 has 61 \(GDELT 2.0\)"):
        import_gdelt(ledger, path)
    assert ledger.counts()["events"] == 0


def test_unknown_header_column_is_named(ledger, tmp_path):
    text = (FIXTURES / "events2samps_head.csv").read_text().replace("SOURCEURL", "SourceLink", 1)
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(InvalidInput, match="'SourceLink'"):
        import_gdelt(ledger, path)
