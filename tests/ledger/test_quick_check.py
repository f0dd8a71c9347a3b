"""Every command checks the ledger cheaply (issue 12): a row altered or appended behind the
tool's back makes read commands warn and writes refuse (nothing written) unless ``--force``.
Every test runs on a DuckDB file and on the team ledger."""

from __future__ import annotations

import pytest

from forecasts.errors import IntegrityError
from forecasts.ledger import Ledger
from forecasts.ledger.store import QUICK_CHECK_ROWS
from tests.ledger.test_seals import _forge


def test_an_intact_ledger_passes_and_commands_do_not_warn(ledger, open_question, cli):
    ledger.log("rain", 0.3, by="alice")
    assert ledger.quick_check().ok
    for args in (("questions",), ("score",), ("history", "rain")):
        result = cli(*args)
        assert result.returncode == 0 and "warning" not in result.stderr, (args, result.stderr)


def test_an_altered_row_makes_reads_warn_and_writes_refuse_unless_forced(ledger, open_question, cli, raw_sql):
    row = ledger.log("rain", 0.3, by="alice")
    raw_sql(ledger, "UPDATE forecasts SET probability = 0.9 WHERE seq = ?", [row["seq"]])
    checked = ledger.quick_check()
    assert not checked.ok and f"forecasts row seq={row['seq']} does not match its hash" in checked.problem
    for args in (("score",), ("questions",), ("history", "rain")):
        result = cli(*args)
        assert result.returncode == 0 and result.stderr.count("\n") == 1, (args, result.stderr)
        assert result.stderr.startswith("warning: ledger") and "fails its check" in result.stderr
    before = ledger.counts()
    refused = cli("log", "rain", "40%", "--by", "bob")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "nothing was written" in refused.stderr and "--force" in refused.stderr
    with pytest.raises(IntegrityError, match="fails its check"):
        ledger.log("rain", 0.4, by="bob")
    assert ledger.counts() == before
    forced = cli("--force", "log", "rain", "40%", "--by", "bob")
    assert forced.returncode == 0 and "logged 40.0%" in forced.stdout and "warning" in forced.stderr
    assert ledger.counts()["forecasts"] == before["forecasts"] + 1
    assert Ledger(ledger.location, storage=ledger.storage, force=True).log("rain", 0.5, by="bob")["probability"] == 0.5


def test_a_row_appended_behind_the_tools_back_is_caught(ledger, open_question, raw_sql, cli):
    row = ledger.log("rain", 0.3, by="alice")
    seq = _forge(ledger, raw_sql, made_at=row["made_at"], recorded_at=row["recorded_at"])
    assert ledger.verify().ok  # the chain and the rules alone cannot tell (without a key) ...
    checked = ledger.quick_check()  # ... the log of writes can
    assert not checked.ok and f"rows seq {seq}..{seq} were appended behind the tool's back" in checked.problem
    assert "appended behind" in cli("questions").stderr


def test_only_the_newest_rows_are_rehashed(ledger, open_question, raw_sql):
    ledger.import_history(questions=[{"qid": "old", "title": "Old?", "opens": "2019-01-01", "closes": "2300-01-01"}],
                          forecasts=[{"question": "old", "forecaster": "ana", "made_at": "2020-01-01",
                                      "probability": 0.5}], source="import:old")
    ledger.import_history(forecasts=[{"question": "old", "forecaster": f"f{i}", "made_at": "2020-01-02",
                                      "probability": 0.5} for i in range(QUICK_CHECK_ROWS)], source="import:test")
    raw_sql(ledger, "UPDATE forecasts SET probability = 0.9 WHERE source = 'import:old'")
    assert ledger.quick_check().ok  # past the newest rows: the quick check's price
    assert not ledger.verify().ok  # verify checks everything
    raw_sql(ledger, f"UPDATE forecasts SET probability = 0.9 WHERE forecaster = 'f{QUICK_CHECK_ROWS - 1}'")
    assert not ledger.quick_check().ok
