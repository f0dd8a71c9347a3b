"""Fatebook's CSV export: import a synthetic export, and export a ledger that re-imports to
the same forecasts."""

from __future__ import annotations

import csv

import pytest

from forecasts.errors import ImportRejected
from forecasts.ledger import Ledger
from forecasts.sources.fatebook import COLUMNS, export_fatebook, import_fatebook

HEADER = ",".join(f'"{c}"' if " " in c else c for c in COLUMNS)
ROWS = """
"Will it rain?",,"Ana",0.7,2023-01-02 10:00:00,"Ana",2023-01-01 09:00:00,2023-02-01 00:00:00,"YES",2023-01-20 12:00:00,0.09,-0.01,"notes",,false,
"Will it rain?",,"Bo",0.4,2023-01-03 11:00:00,"Ana",2023-01-01 09:00:00,2023-02-01 00:00:00,"YES",2023-01-20 12:00:00,,,"notes",,false,
"Who wins?","Red team","Ana",0.6,2023-01-05 10:00:00,"Ana",2023-01-04 09:00:00,2023-03-01 00:00:00,"NO",,,,"",,false,
"Who wins?","Blue team","Ana",0.4,2023-01-05 10:00:00,"Ana",2023-01-04 09:00:00,2023-03-01 00:00:00,"YES",2023-02-10 00:00:00,,,"",,false,
"""


def test_import_export_round_trip(ledger, tmp_path, write, snapshot):
    path = write(tmp_path / "fatebook.csv", HEADER + "\n" + ROWS.lstrip("\n"))
    s = import_fatebook(ledger, path)
    assert s.added == {"questions": 2, "resolutions": 2, "forecasts": 3}
    q = ledger.questions().set_index("title")
    assert q.loc["Will it rain?", "outcome"] == "yes" and q.loc["Who wins?", "outcome"] == "blue-team"
    assert q.loc["Who wins?", "options"] == ["red-team", "blue-team"]
    fs = ledger.forecasts()
    assert set(fs["forecaster"]) == {"fatebook:Ana", "fatebook:Bo"}
    before = snapshot(ledger)
    assert import_fatebook(ledger, path).total_added() == 0 and snapshot(ledger) == before

    out = export_fatebook(ledger, tmp_path / "out.csv")
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 4
    assert {r["Resolution"] for r in rows} == {"YES", "NO"}
    fresh = Ledger.open(tmp_path / "fresh.duckdb", create=True)
    again = import_fatebook(fresh, out, prefix="x")
    assert again.added == {"questions": 2, "resolutions": 2, "forecasts": 3}
    a = ledger.forecasts().sort_values(["made_at", "forecaster"])
    b = fresh.forecasts().sort_values(["made_at", "forecaster"])
    assert a["probability"].fillna(-1).tolist() == b["probability"].fillna(-1).tolist()
    assert a["made_at"].tolist() == b["made_at"].tolist()
    assert [f"x:{n}" for n in a["forecaster"]] == b["forecaster"].tolist()
    qa, qb = ledger.questions().sort_values("title"), fresh.questions().sort_values("title")
    assert qa["outcome"].tolist() == qb["outcome"].tolist() and qa["closes_at"].tolist() == qb["closes_at"].tolist()


def test_malformed_row_has_its_line(ledger, tmp_path, write):
    bad = ROWS.replace('"Bo",0.4', '"Bo",1.4')
    with pytest.raises(ImportRejected) as info:
        import_fatebook(ledger, write(tmp_path / "f.csv", HEADER + "\n" + bad.lstrip("\n")))
    assert info.value.problems == [(3, "probability 1.4 is outside [0, 1]")]
