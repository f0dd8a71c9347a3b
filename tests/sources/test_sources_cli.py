"""The import and evaluate commands, run in-process against real files."""

from __future__ import annotations

import json

GOOD = """question,title,opens,closes,forecaster,made_at,probability,outcome,resolved_at
q1,Will it rain?,2020-01-01,2020-06-01,ana,2020-01-05,0.6,yes,2020-05-01
q1,Will it rain?,2020-01-01,2020-06-01,bo,2020-01-06,0.7,yes,2020-05-01
"""


def test_import_csv_dry_run_twice_and_malformed(cli, tmp_path, write):
    path = write(tmp_path / "f.csv", GOOD)
    r = cli("import", "csv", str(path), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "would add 1 questions, 1 resolutions, 2 forecasts" in r.stdout
    r = cli("import", "csv", str(path), "--json")
    assert json.loads(r.stdout)["added"] == {"questions": 1, "resolutions": 1, "forecasts": 2}
    r = cli("import", "csv", str(path))
    assert "added 0 questions" in r.stdout and "skipped: 1 questions, 1 resolutions, 2 forecasts" in r.stdout
    bad = write(tmp_path / "bad.csv", GOOD + "q1,Will it rain?,2020-01-01,2020-06-01,cy,2020-01-07,2.0,yes,2020-05-01\n")
    r = cli("import", "csv", str(bad))
    assert r.returncode == 2
    assert "line 4: probability 2.0 is outside [0, 1]" in r.stderr and "nothing imported" in r.stderr


def test_export_then_import_ledger(cli, tmp_path, write):
    cli("import", "csv", str(write(tmp_path / "f.csv", GOOD)))
    assert cli("export", str(tmp_path / "out"), "--format", "parquet").returncode == 0
    head = cli("verify").stdout
    r = cli("import", "ledger", str(tmp_path / "out"), "--db", str(tmp_path / "copy.duckdb"))
    assert r.returncode == 0, r.stderr
    assert "restored" in r.stdout
    assert cli("verify", "--db", str(tmp_path / "copy.duckdb")).stdout == head


def test_evaluate_needs_history(cli, tmp_path, write):
    cli("import", "csv", str(write(tmp_path / "f.csv", GOOD)))
    r = cli("evaluate", "--crowd", "ana", "--cutoff", "2019-01-01")
    assert r.returncode == 2 and "nothing to learn from" in r.stderr


def test_import_spreadsheet_csv_options(cli, tmp_path, write):
    path = write(tmp_path / "semi.csv", "question;title;opens;closes;forecaster;made_at;probability\n"
                 "q1;Rain?;01/01/2020;12/12/2020;ana;05/01/2020;0,35\n")
    r = cli("import", "csv", str(path))
    assert r.returncode == 2 and "separated by ';'" in r.stderr
    r = cli("import", "csv", str(path), "--sep", ";", "--decimal", ",")
    assert r.returncode == 2 and "--dayfirst or --monthfirst" in r.stderr
    r = cli("import", "csv", str(path), "--sep", ";", "--decimal", ",", "--dayfirst", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"]["forecasts"] == 1
    r = cli("import", "csv", "--help")
    assert "tags: one cell, separated by commas" in r.stdout and "--dayfirst" in r.stdout


def test_import_published_gdelt_zip(cli):
    from pathlib import Path

    zipped = Path(__file__).parent / "fixtures" / "gdelt" / "20170701234500.export.CSV.zip"
    r = cli("import", "gdelt", str(zipped), "--actors", "USA,RUS", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "would add 6 events" in r.stdout and "12 other actors" in r.stdout


def test_a_very_wide_csv_is_refused_before_it_is_parsed(cli, tmp_path, write):
    """100,007 columns (the width that took 35 s and 681 MB to refuse): one line, exit 2, fast,
    nothing recorded; a megabyte-long first line without an end is refused the same way."""
    import time

    cli("import", "csv", str(write(tmp_path / "f.csv", GOOD)))
    head = cli("verify").stdout
    header = ",".join(["question", "title", "opens", "closes", "forecaster", "made_at", "probability"]
                      + [f"extra{i}" for i in range(100_000)])
    wide = write(tmp_path / "wide.csv", header + "\n" + ",".join(["q2"] * 100_007) + "\n")
    t0 = time.perf_counter()
    r = cli("import", "csv", str(wide))
    took = time.perf_counter() - t0
    assert r.returncode == 2 and r.stderr.strip() == (
        "error: wide.csv has at least 96,337 columns in its first megabyte, more than the 1,000 a table "
        "to import may have: it is not a forecast table")
    assert len(r.stderr.strip().splitlines()) == 1
    assert took < 30  # refused before parsing (it took 35 s to parse); a bound, not a benchmark
    narrow = write(tmp_path / "narrow.csv", ",".join(f"c{i}" for i in range(1_001)) + "\n")
    r = cli("import", "csv", str(narrow))
    assert r.returncode == 2 and "has 1,001 columns, more than the 1,000" in r.stderr
    endless = write(tmp_path / "endless.csv", "q," * 600_000)
    r = cli("import", "csv", str(endless))
    assert r.returncode == 2 and "columns in its first megabyte, more than the 1,000" in r.stderr
    assert cli("verify").stdout == head


def test_a_separator_of_several_characters_is_counted_not_a_traceback(cli, tmp_path, write):
    path = write(tmp_path / "ms.csv", "question;;title\nq1;;x\n")
    r = cli("import", "csv", str(path), "--sep", ";;")
    assert r.returncode == 2 and r.stderr.strip() == "error: ms.csv has no 'forecaster' column; map one of its columns to forecaster"
