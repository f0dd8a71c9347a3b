"""What goes wrong outside the ledger's rules: odd dates, folders for files, a full disk, a
truncated file, two writers at once.  Each is one clear ForecastsError, and what was recorded
before stays as it was."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from forecasts.errors import InvalidDate, InvalidInput, StoreCorrupt
from forecasts.ledger import Ledger
from forecasts.sources.generic import import_csv
from forecasts.sources.metaculus import import_metaculus

# 23:59:59 at UTC-1 on the last day of 9999 is in the year 10000 in UTC
BEYOND = "9999-12-31T23:59:59-01:00"


def test_dates_past_the_last_year_in_utc_are_invalid_not_overflows(ledger, open_question, snapshot, tmp_path):
    before = snapshot(ledger)
    with pytest.raises(InvalidDate, match="outside the years"):
        ledger.add_question("q", title="t", closes=BEYOND)
    with pytest.raises(InvalidDate, match="outside the years"):
        ledger.add_event("e", on=BEYOND)
    with pytest.raises(InvalidDate, match="outside the years"):
        ledger.resolve(open_question, "yes", on=BEYOND)
    table = tmp_path / "t.csv"
    table.write_text(f"question,title,opens,closes,forecaster,made_at,probability\nq1,T?,{BEYOND},9999-12-31,ana,2020-01-02,0.5\n")
    with pytest.raises(InvalidInput, match="outside the years"):
        import_csv(ledger, table)
    assert snapshot(ledger) == before


def test_a_folder_or_a_file_of_the_wrong_kind_is_refused(ledger, tmp_path, snapshot):
    before = snapshot(ledger)
    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(InvalidInput, match="is a folder"):
        import_csv(ledger, folder)
    with pytest.raises(InvalidInput, match="is a folder"):
        import_metaculus(ledger, folder)
    fake = tmp_path / "x.parquet"
    fake.write_text("question,forecaster\nq,ana\n")
    with pytest.raises(InvalidInput, match="cannot read x.parquet as Parquet"):
        import_csv(ledger, fake)
    with pytest.raises(InvalidInput, match="is a folder"):
        Ledger.open(folder)
    assert snapshot(ledger) == before


@pytest.mark.duckdb_only
@pytest.mark.parametrize("size", ["half", "4k"])
def test_a_truncated_ledger_is_one_clear_error(ledger, open_question, size):
    for p in (0.1, 0.2, 0.3) * 20:
        ledger.log(open_question, p, by="ana")
    path = ledger.path
    full = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(full // 2 if size == "half" else 4096)
    broken = Ledger(path, lock_timeout=0.3)
    for read in (broken.verify, broken.questions, lambda: broken.log(open_question, 0.5, by="ana")):
        with pytest.raises(StoreCorrupt) as info:
            read()
        assert "\n" not in info.value.message and str(path) in info.value.message
        assert info.value.exit_code == 1


# A child process whose files may not grow past a limit (RLIMIT_FSIZE): the same failure as a
# full disk for the file being written, without needing a small file system.
_LIMITED = textwrap.dedent("""
    import resource, signal, sys
    import pandas as pd
    from forecasts.errors import ForecastsError
    from forecasts.ledger import Ledger

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    ledger = Ledger.open(sys.argv[1])
    try:
        if sys.argv[2] == "log":
            ledger.log("rain", 0.6, by="ana")
        else:
            n = 20_000
            ledger.import_forecast_frame(pd.DataFrame({
                "question": ["rain"] * n, "forecaster": ["bo"] * n, "made_at": ["2020-06-01"] * n,
                "probability": [0.5] * n, "source_id": [str(i) for i in range(n)]}), source="import:bulk")
        print("written")
    except ForecastsError as exc:
        print(type(exc).__name__, exc.message)
""")


def _limited(path, what: str, limit: int) -> str:
    out = subprocess.run([sys.executable, "-c", _LIMITED, str(path), what, str(limit)],
                         capture_output=True, text=True, timeout=120)
    assert "Traceback" not in out.stderr, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(sys.platform != "linux", reason="the full disk is simulated with Linux's RLIMIT_FSIZE")
@pytest.mark.duckdb_only
def test_a_full_disk_writes_nothing_and_the_ledger_works_once_space_is_back(ledger, snapshot):
    ledger.import_history(questions=[{"qid": "rain", "title": "Rain?", "opens": "2020-01-01",
                                      "closes": "2300-01-01"}], source="import:bulk")
    ledger.log("rain", 0.4, by="ana")
    before = snapshot(ledger)
    for what in ("import", "log"):
        said = _limited(ledger.path, what, 1)
        assert said.startswith("StoreFull") and "full" in said and "\n" not in said, said
        assert snapshot(ledger) == before
    # space is back: the same writes go through, and the chain verifies
    assert _limited(ledger.path, "log", 1 << 40) == "written"
    assert _limited(ledger.path, "import", 1 << 40) == "written"
    counts = ledger.counts()
    assert counts["forecasts"] == before[0]["forecasts"] + 1 + 20_000
    assert ledger.verify().ok


_WRITER = textwrap.dedent("""
    import sys, time
    from forecasts.errors import StoreLocked
    from forecasts.ledger import Ledger

    ledger = Ledger(sys.argv[1], lock_timeout=10.0)
    ok = locked = 0
    for i in range(int(sys.argv[2])):
        try:
            ledger.log("rain", 0.5, by=sys.argv[3])
            ok += 1
        except StoreLocked:
            locked += 1
    print(ok, locked)
""")


def test_two_writers_at_once_get_a_retry_or_store_locked_never_a_raw_error(ledger, open_question):
    n = 60
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, ledger.location if ledger.is_team else str(ledger.path),
                               str(n), who],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who in ("ana", "bo")]
    outs = [p.communicate(timeout=300) for p in procs]
    for (_, err), p in zip(outs, procs, strict=True):
        assert p.returncode == 0 and "Traceback" not in err, err
    written = sum(int(out.split()[0]) for out, _ in outs)
    refused = sum(int(out.split()[1]) for out, _ in outs)
    assert written + refused == 2 * n
    if ledger.is_team:
        assert refused == 0  # the server queues writers on the chain's lock
    # every acknowledged write is there, and the chain holds
    assert len(ledger.forecasts()) == written
    assert ledger.verify().ok


def test_the_import_count_is_exact_when_the_listing_is_cut(ledger):
    ledger.import_history(questions=[{"qid": "rain", "title": "Rain?", "opens": "2020-01-01",
                                      "closes": "2021-01-01"}], source="import:bulk")
    n = 2500
    frame = pd.DataFrame({"question": ["rain"] * n, "forecaster": ["bo"] * n, "made_at": ["2022-06-01"] * n,
                          "probability": [0.5] * n})
    with pytest.raises(InvalidInput, match=f"^{n} malformed row"):
        ledger.import_forecast_frame(frame, source="import:bulk")


@pytest.mark.parametrize("name", ["notes.duckdb", "events.csv", "rows.parquet"])
def test_a_file_that_is_not_a_ledger_is_one_clear_error(tmp_path, name):
    """DuckDB itself would open a CSV file as a database of views: the ledger refuses it."""
    path = tmp_path / name
    path.write_text("question,probability\nrain,0.4\n")
    for use in (lambda: Ledger.open(path), lambda: Ledger(path).questions(), lambda: Ledger(path).init()):
        with pytest.raises(StoreCorrupt, match="is not a ledger"):
            use()
    assert path.read_text() == "question,probability\nrain,0.4\n"


def test_a_path_the_system_cannot_use_is_bad_input(tmp_path):
    too_long = tmp_path / ("x" * 300)
    with pytest.raises(InvalidInput, match="too long"):
        Ledger.open(too_long, create=True)
    ledger = Ledger.open(tmp_path / "l.duckdb", create=True)
    with pytest.raises(InvalidInput, match="too long"):
        import_csv(ledger, too_long)
    with pytest.raises(InvalidInput, match="too long"):
        ledger.export(too_long / "out")
