"""Imported history kept apart from live track records: namespaced forecasters, hindsight
refused, and scores and the report that show a live track record on its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd

from forecasts.ledger import Ledger
from forecasts.scoring import live_only, track_records


def _day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")


def _ledger_with_live_and_imported(cli, tmp_path, write) -> None:
    assert cli("init").returncode == 0
    assert cli("question", "add", "q1", "--title", "Rain?", "--opens", _day(-30), "--closes", _day(300)).returncode == 0
    assert cli("log", "q1", "60%", "--by", "alice").returncode == 0
    sheet = write(tmp_path / "h.csv", f"question,forecaster,made_at,probability\nq1,alice,{_day(-10)},0.2\n"
                                      f"q1,bob,{_day(-10)},0.3\n")
    r = cli("import", "csv", str(sheet), "--name", "sheet")
    assert r.returncode == 0, r.stderr
    assert cli("resolve", "q1", "yes").returncode == 0


def test_imported_alice_is_not_the_live_alice(cli, tmp_path, write, db_path):
    _ledger_with_live_and_imported(cli, tmp_path, write)
    fs = Ledger.open(db_path).forecasts()
    assert sorted(fs["forecaster"]) == ["alice", "sheet:alice", "sheet:bob"]
    assert track_records(fs) == {"alice": "live", "sheet:alice": "imported", "sheet:bob": "imported"}
    assert live_only(fs)["forecaster"].tolist() == ["alice"]


def test_score_marks_imported_records_and_live_only_leaves_them_out(cli, tmp_path, write):
    _ledger_with_live_and_imported(cli, tmp_path, write)
    rows = json.loads(cli("score", "--json").stdout)["rows"]
    assert {r["forecaster"]: r["record"] for r in rows} == {"alice": "live", "sheet:alice": "imported",
                                                            "sheet:bob": "imported"}
    live = json.loads(cli("score", "--live-only", "--json").stdout)
    assert live["live_only"] and [r["forecaster"] for r in live["rows"]] == ["alice"]
    text = cli("score", "--live-only").stdout
    assert "live forecasts only" in text and "sheet:bob" not in text


def test_report_badges_imported_history_and_live_only(cli, tmp_path, write):
    _ledger_with_live_and_imported(cli, tmp_path, write)
    assert cli("report", "--out", str(tmp_path / "all.html")).returncode == 0
    html = (tmp_path / "all.html").read_text()
    assert html.count('data-record="imported"') == 2 and 'data-record="live"' not in html
    assert cli("report", "--out", str(tmp_path / "live.html"), "--live-only").returncode == 0
    live = (tmp_path / "live.html").read_text()
    assert "sheet:bob" not in live and "live forecasts only" in live and 'data-record="imported"' not in live


def test_mapping_a_forecaster_explicitly_files_history_under_the_live_name(cli, tmp_path, write, db_path):
    _ledger_with_live_and_imported(cli, tmp_path, write)
    more = write(tmp_path / "more.csv", f"question,forecaster,made_at,probability,source_id\n"
                                        f"q1,alice,{_day(-9)},0.25,x1\n")
    r = cli("import", "csv", str(more), "--name", "sheet", "--forecaster", "alice=alice")
    assert r.returncode == 0, r.stderr
    assert "forecasters mapped explicitly: alice -> alice" in r.stdout
    fs = Ledger.open(db_path).forecasts()
    assert track_records(fs)["alice"] == "live+imported"
    assert cli("question", "add", "q2", "--title", "Snow?", "--opens", _day(-30), "--closes", _day(300)).returncode == 0
    assert cli("resolve", "q2", "no", "--on", _day(-5)).returncode == 0
    late = write(tmp_path / "late.csv", f"question,forecaster,made_at,probability\nq2,carol,{_day(-2)},0.1\n")
    r = cli("import", "csv", str(late), "--name", "sheet")
    assert r.returncode == 2 and "was resolved" in r.stderr
    assert len(Ledger.open(db_path).forecasts()) == len(fs)
    assert pd.Series(fs["source"]).str.startswith("import:").sum() == 3
