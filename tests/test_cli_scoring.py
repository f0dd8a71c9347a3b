"""`forecasts score` and `forecasts calibration` print what the scoring library returns."""

from __future__ import annotations

import json

import pytest

from forecasts.ledger import Ledger
from forecasts.scoring import calibration_table, score_table


@pytest.fixture
def demo_db(demo_ledger_file):
    """The session's demo ledger, read only (the scoring commands write nothing)."""
    return demo_ledger_file


def test_score_json_equals_library(cli, demo_db):
    ledger = Ledger.open(demo_db)
    frames = ledger.forecasts(), ledger.questions(), ledger.resolutions()
    for rule in ("brier", "log", "peer"):
        out = cli("score", "--rule", rule, "--json", "--db", str(demo_db))
        assert out.returncode == 0, out.stderr
        got = {r["forecaster"]: r["score"] for r in json.loads(out.stdout)["rows"]}
        expected = score_table(*frames, by="forecaster", rule=rule)["score"].to_dict()
        # JSON writes a missing score (import:gjopen's final value stood for no time) as null
        assert {k for k, v in got.items() if v is None} == {k for k, v in expected.items() if v != v} == {"import:gjopen"}
        assert {k: v for k, v in got.items() if v is not None} == pytest.approx(
            {k: v for k, v in expected.items() if v == v}, rel=1e-12)
    rel = json.loads(cli("score", "--relative-to", "crowd:median", "--json", "--db", str(demo_db)).stdout)
    assert all("relative" in r for r in rel["rows"])


def test_score_table_text(cli, demo_db):
    out = cli("score", "--db", str(demo_db), env={"COLUMNS": "200"})
    assert "Brier 0-1, time-averaged (lower is better)" in out.stdout
    assert "import:metaculus" in out.stdout and "left out: 3 unresolved\n" in out.stdout
    bits = cli("score", "--rule", "log", "--bits", "--db", str(demo_db), env={"COLUMNS": "200"})
    assert "log score in bits" in bits.stdout


def test_calibration(cli, demo_db):
    ledger = Ledger.open(demo_db)
    out = cli("calibration", "--json", "--forecaster", "import:metaculus", "--db", str(demo_db))
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["rows"]
    expected = calibration_table(ledger.forecasts(), ledger.questions(), ledger.resolutions(),
                                 forecaster=["import:metaculus"], by="forecaster")
    assert rows[0]["brier"] == pytest.approx(expected["brier"].iloc[0], rel=1e-12)
    summary = cli("calibration", "--db", str(demo_db), env={"COLUMNS": "200"}).stdout
    assert "import:metaculus" in summary and "0.7-0.8" not in summary and "add --charts" in summary
    text = cli("calibration", "--charts", "--db", str(demo_db), env={"COLUMNS": "200"}).stdout
    assert "reliability" in text and "0.7-0.8" in text
    by_tag = cli("calibration", "--charts", "--group-by", "tag", "--db", str(demo_db), env={"COLUMNS": "200"}).stdout
    assert "arms-control: reliability" in by_tag and "new-start: reliability" in by_tag
    one = cli("calibration", "--charts", "--top", "1", "--db", str(demo_db), env={"COLUMNS": "200"}).stdout
    assert one.count(": reliability") == 1 and "more groups with fewer questions not shown" in one


@pytest.mark.parametrize("args", [("score", "--rule", "accuracy"), ("score", "--group-by", "colour"),
                                  ("score", "--rule", "peer", "--relative-to", "crowd:median"),
                                  ("calibration", "--bins", "1"), ("score", "--as-of", "someday")])
def test_bad_scoring_options(cli, demo_db, args):
    out = cli(*args, "--db", str(demo_db))
    assert out.returncode == 2 and out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1


def test_empty_ledger(cli, ledger):
    assert "no resolved questions to score" in cli("score").stdout
    assert "past its scheduled close" in cli("calibration").stdout


def test_group_by_groups_and_the_old_by_still_works_with_a_warning(cli, demo_db):
    new = cli("score", "--group-by", "tag", "--json", "--db", str(demo_db))
    old = cli("score", "--by", "tag", "--json", "--db", str(demo_db))
    assert new.returncode == old.returncode == 0 and json.loads(new.stdout)["by"] == "tag"
    assert json.loads(old.stdout) == json.loads(new.stdout)
    assert new.stderr == "" and "--by is deprecated here, use --group-by" in old.stderr
    cal = cli("calibration", "--by", "tag", "--db", str(demo_db), env={"COLUMNS": "200"})
    assert cal.returncode == 0 and "arms-control" in cal.stdout and "use --group-by" in cal.stderr


def test_json_writes_a_table_row_per_line(cli, demo_db):
    """``--json`` is indented, but each row of a table is one line (``write_json``): the same
    value as the standard library's indented JSON."""
    out = cli("score", "--json", "--db", str(demo_db))
    value = json.loads(out.stdout)
    lines = out.stdout.splitlines()
    assert lines[0] == "{" and lines[1] == ' "rule": "brier",' and lines[-1] == "}"
    rows = [line for line in lines if line.startswith('  {"forecaster": ')]
    assert len(rows) == len(value["rows"]) >= 4
    assert [json.loads(r.rstrip(",")) for r in rows] == value["rows"]
    listed = cli("questions", "--json", "--db", str(demo_db))
    assert listed.stdout.startswith('[\n {"id": ') and len(listed.stdout.splitlines()) == len(json.loads(listed.stdout)) + 2
