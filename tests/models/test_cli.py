"""The model commands, run in-process against real ledger files (one subprocess: the import check)."""

from __future__ import annotations

import json
import subprocess
import sys

from forecasts.ledger import Ledger


def _setup(cli):
    assert cli("init").returncode == 0
    assert cli("question", "add", "talks", "--title", "Talks before March?", "--closes", "2300-03-01").returncode == 0
    assert cli("log", "talks", "40%").returncode == 0
    assert cli("event", "add", "Moscow rejects all meetings", "--on", "2026-11-27", "--cameo", "111").returncode == 0


def test_update_explain_and_all(cli, db_path):
    _setup(cli)
    r = cli("update", "talks", "--explain")
    assert r.returncode == 0, r.stderr
    assert "prior 40.0%" in r.stdout and "model:evidence on talks: 40.0%" in r.stdout
    r = cli("update", "--all", "--model", "hazard", "--json")
    rows = json.loads(r.stdout)
    assert rows[0]["forecaster"] == "model:hazard" and rows[0]["model_version"] == "hazard-1"
    stored = [f for f in Ledger.open(db_path).records("forecasts") if f["forecaster"].startswith("model:")]
    assert {f["source"] for f in stored} == {"model:evidence", "model:hazard"}


def test_errors_are_one_red_line(cli):
    _setup(cli)
    for args in (["update", "nope"], ["update", "talks", "--model", "oracle"], ["update"],
                 ["update", "talks", "--model", "learned"], ["backtest", "talks", "--every", "0d"]):
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("error:") and r.stderr.count("\n") == 1, r.stderr


def test_backtest_and_explain(cli, db_path):
    ledger = Ledger.open(db_path, create=True)
    ledger.import_history(questions=[{"qid": "q", "title": "Q?", "opens": "2020-01-01", "closes": "2020-03-01"}],
                          events=[{"title": "offer", "on": "2020-01-20", "cameo": "057"}], source="import:test")
    eid = ledger.records("events")[0]["seq"]
    ledger.import_history(forecasts=[{"question": "q", "forecaster": "ana", "made_at": "2020-01-02", "probability": 0.3}],
                          evidence=[{"question": "q", "event": eid, "by": "ana", "strength": "strong for yes"}],
                          source="import:test")
    r = cli("backtest", "q", "--model", "hazard", "--from", "2020-01-01", "--to", "2020-02-01", "--every", "1w")
    assert r.returncode == 0, r.stderr
    assert "6 backtest rows written as backtest:hazard" in r.stdout   # 5 weekly dates + the event day
    r = cli("explain", "q", "--model", "hazard", "--as-of", "2020-01-25", "--world")
    assert f"#{eid} offer: hazard x10" in r.stdout


def test_update_with_a_closed_form_model_imports_no_pandas_numpy_or_pymc(cli, tmp_path):
    _setup(cli)
    code = ("import sys, runpy; sys.argv = ['forecasts', 'update', 'talks', '--model', 'hazard'];\n"
            "try:\n    runpy.run_module('forecasts.cli', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pandas', 'numpy', 'pymc', 'pytensor', 'scipy') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip().endswith("[]"), r.stdout + r.stderr


def test_explain_says_which_assessed_events_the_prior_already_contains(cli, db_path):
    _setup(cli)  # the event (2026-11-27) predates the analyst's first forecast (now)
    event = Ledger.open(db_path).records("events")[0]["seq"]
    assert cli("evidence", "talks", str(event), "--lr", "3").returncode == 0
    for model in ("evidence", "hazard"):
        r = cli("explain", "talks", "--model", model)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        left = [x for x in lines if "left out" in x]
        assert len(left) == 1 and f"event {event} 'Moscow rejects all meetings' (2026-11-27) left out: it predates " \
            "the prior" in left[0] and "which already reflects it" in left[0], r.stdout
    assert "posterior 40.0%" in cli("explain", "talks", "--model", "evidence").stdout
