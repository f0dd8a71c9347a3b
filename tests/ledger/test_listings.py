"""The listing commands' fast path (issue 10): ``question_records``, ``event_records``,
``history_records`` and ``due_records`` give exactly the rows of the frames ``questions``,
``events``, ``history`` and ``due`` (same columns, values and order), on both backends, and the
commands ``questions``, ``history``, ``due`` and ``events`` never load pandas."""

from __future__ import annotations

import pytest

from forecasts.cli.output import records
from tests.conftest import modules_loaded


def _plain(rows):
    return records(rows)


@pytest.mark.parametrize("filters", [{}, {"status": "open"}, {"status": "resolved"}, {"tag": "arms-control"},
                                     {"by": "import:metaculus"}, {"as_of": "2020-06-01"},
                                     {"as_of": "2020-06-01", "clock": "world"}])
def test_question_records_are_the_questions_frame(demo_copy, filters):
    assert _plain(demo_copy.question_records(**filters)) == _plain(demo_copy.questions(**filters))


@pytest.mark.parametrize("filters", [{}, {"since": "2020-12-01"}, {"tag": "arms-control"}, {"by": "demo:builder"},
                                     {"as_of": "2020-06-01", "clock": "world"}])
def test_event_records_are_the_events_frame(demo_copy, filters):
    assert _plain(demo_copy.event_records(**filters)) == _plain(demo_copy.events(**filters))


def test_history_and_due_records_are_their_frames(demo_copy):
    qid = demo_copy.question_records()[0]["id"]
    for as_of, clock in ((None, "both"), ("2020-12-01", "world")):
        assert _plain(demo_copy.history_records(qid, as_of, clock=clock)) == \
            _plain(demo_copy.history(qid, as_of, clock=clock))
    demo_copy.add_question("soon", title="Soon?", closes="2100-01-01")
    now = demo_copy.storage.now()
    for who in ("tester", "import:metaculus"):
        for within in ("14d", "30000d"):
            assert _plain(demo_copy.due_records(who, within=within, as_of=now)) == \
                _plain(demo_copy.due(who, within=within, as_of=now))
    assert [r["question"] for r in demo_copy.due_records("tester", within="30000d")] == ["soon"]


@pytest.mark.duckdb_only
@pytest.mark.parametrize("args", [["questions"], ["history", "rain"], ["due"], ["events"], ["questions", "--json"]])
def test_listings_load_no_pandas(open_question, ledger, args):
    ledger.log("rain", 0.3, by="alice")
    assert modules_loaded(args, ("pandas", "numpy", "pyarrow")) == []


@pytest.mark.duckdb_only
@pytest.mark.parametrize("args", [["questions"], ["history", "rain"], ["due"], ["events"], ["score"], ["verify"],
                                  ["score", "--json"]])
def test_a_read_command_opens_the_file_once(open_question, ledger, cli, monkeypatch, args):
    """Its quick check and every read share one read-only connection (``open_ledger(reads=True)``),
    closed when the command ends: a write right after it in the same process works."""
    import duckdb

    ledger.log("rain", 0.3, by="alice")
    ledger.resolve("rain", "yes", by="alice")
    ledger.add_question("snow", title="Snow?", closes="2300-01-01")
    opened: list[bool] = []
    real = duckdb.connect

    def counted(*a, **k):
        opened.append(k.get("read_only", False))
        return real(*a, **k)

    monkeypatch.setattr(duckdb, "connect", counted)
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    assert opened == [True]
    monkeypatch.setattr(duckdb, "connect", real)
    written = cli("log", "snow", "40%", "--by", "bob")
    assert written.returncode == 0, written.stderr
