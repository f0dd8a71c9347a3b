"""Every listing at 80 columns (issue 12): each row on one line (no number, id or date split
across lines, long text cut with an ellipsis), nothing wider than the terminal, and the columns
left out named; ``--wide`` shows everything.  On a copy of the demo ledger plus an open
question with a long title, a due forecast and a number with many digits."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest
from rich.cells import cell_len

from forecasts import domain
from forecasts.cli.output import cell, number_column
from forecasts.ledger import Ledger

LISTINGS = [("questions",), ("events",), ("due", "--by", "ana"), ("history", "new-start-extension"),
            ("score",), ("score", "--group-by", "question"), ("calibration",)]
#: A column of each listing whose values must appear whole in their row.
WHOLE = {"questions": "closes_at", "events": "goldstein", "due": "days_left", "history": "seq",
         "score": "score", "calibration": "brier"}


@pytest.fixture(scope="module")
def wide_ledger(demo_ledger_file, tmp_path_factory):
    path = tmp_path_factory.mktemp("width") / "ledger.duckdb"
    shutil.copyfile(demo_ledger_file, path)
    ledger = Ledger.open(path)
    ledger.add_question("iran-iaea-access-restored-before-the-end-of-the-year",
                        title="Will Iran restore the IAEA inspectors' access to every declared site " * 3,
                        closes="2300-01-01", tags="iran,iaea,nuclear,verification,middle-east")
    ledger.log("iran-iaea-access-restored-before-the-end-of-the-year", 0.1647, by="ana")
    ledger.add_question("talks-resume-within-the-week-after-the-summit-in-geneva", title="Talks resume soon?",
                        closes=domain.now() + timedelta(days=5))
    return path


def _body(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("┡"))
    end = next(i for i, x in enumerate(lines) if x.startswith("└"))
    return lines[start + 1:end]


@pytest.mark.duckdb_only  # the output, not the backend
@pytest.mark.parametrize("args", LISTINGS, ids=lambda a: " ".join(a))
def test_every_listing_reads_at_80_columns(cli, wide_ledger, args):
    env = {"COLUMNS": "80", "FORECASTS_DB": str(wide_ledger)}
    shown = cli(*args, env=env)
    assert shown.returncode == 0, shown.stderr
    tables = [x for x in shown.stdout.splitlines() if x[:1] in "┏┃┡│└"]
    assert tables and all(cell_len(x) <= 80 for x in tables), shown.stdout  # (messages may wrap as text does)
    data = json.loads(cli(*args, "--json", env=env).stdout)
    rows = data["rows"] if isinstance(data, dict) else data
    body = _body(shown.stdout)
    assert len(body) == len(rows), shown.stdout  # one line per row: nothing wrapped
    column = WHOLE[args[0]]
    left_out = next((x for x in shown.stdout.splitlines() if x.startswith("not shown at this width:")), "")
    expected = number_column([row[column] for row in rows]) or [cell(row[column]) for row in rows]
    for value, text in zip(expected, body, strict=True):
        if f" {column}," in left_out or f" {column} " in left_out:
            break
        assert value == "" or f" {value} " in text, (column, value, text)
    wide = cli(*args, "--wide", env=env)
    assert "not shown at this width" not in wide.stdout and "…" not in wide.stdout
    assert len(_body(wide.stdout)) == len(rows)


@pytest.mark.duckdb_only
def test_long_text_is_cut_with_an_ellipsis_and_left_out_columns_are_named(cli, wide_ledger):
    env = {"COLUMNS": "80", "FORECASTS_DB": str(wide_ledger)}
    out = cli("questions", env=env).stdout
    assert "…" in out and "iran-iaea-access-restored-before-the-end-of-the-year" in out
    assert "not shown at this width:" in out and "(--wide or --json shows them)" in out
    wide = cli("questions", "--wide", env=env).stdout
    assert "Will Iran restore the IAEA inspectors' access to every declared site " * 2 in wide


def test_numbers_read_the_same_down_a_column_without_noise():
    from forecasts.cli.output import plain

    assert number_column([0.2174, 0.08498, 0.3344]) == ["0.2174", "0.0850", "0.3344"]
    assert number_column([21.52, -21.517, 1.776e-15, -0.0]) == ["21.52", "-21.52", "0", "0"]  # zero by construction
    assert number_column([1234.5, 2.25]) == ["1234", "2"]  # 4 significant digits of the largest
    assert number_column([5.2, 7.0, -4.0]) == ["5.2", "7.0", "-4.0"]  # no zeros every value would carry
    assert number_column([1, 2]) is None and number_column(["a", 0.5]) is None
    assert str(plain(-0.0)) == "0.0" and plain(float("nan")) is None
