"""The New START demo: a fresh ledger from the real data, never the user's own."""

from __future__ import annotations

import json

import duckdb
import pytest

from forecasts.demo import ANALYST_A, ANALYST_B, QUESTION, build_demo_ledger, run_demo
from forecasts.errors import InvalidInput
from forecasts.ledger import Ledger


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    return run_demo(folder / "new-start.duckdb", report=folder / "new-start.html")


def test_demo_contents(demo):
    ledger = Ledger.open(demo["path"])
    models = demo["counts"]["forecasts"] - 115
    assert demo["counts"] == {"questions": 1, "forecasts": 115 + models, "events": 31, "evidence": 25, "resolutions": 1,
                              "amendments": 0}
    assert models > 60  # weekly and at each event, two models
    assert demo["verify"].ok
    f = ledger.forecasts()
    crowd = f[f["forecaster"] == "import:metaculus"]
    assert len(crowd) == 100 and set(crowd["source"]) == {"import:metaculus"}
    # the real series: 0.40 on 2020-08-11, 0.70 at the Metaculus close (PROVENANCE.md)
    assert crowd["probability"].iloc[0] == 0.40 and crowd["probability"].iloc[-1] == 0.70
    for who in (ANALYST_A, ANALYST_B):
        mine = f[f["forecaster"] == who]
        assert set(mine["source"]) == {"import:illustrative"}
        assert all(r.startswith("[illustrative") for r in mine["rationale"])
    events = ledger.events()
    assert events["occurred_at"].min().strftime("%Y-%m-%d") == "2019-07-11"
    assert events["source_url"].str.startswith("http").all()
    putin = events[events["title"].str.contains("annual press conference")]
    assert putin["occurred_at"].iloc[0].strftime("%Y-%m-%d") == "2020-12-17"
    res = ledger.resolutions()
    assert res["outcome"].tolist() == ["yes"] and res["resolved_at"].iloc[0].strftime("%Y-%m-%d") == "2021-01-26"
    # history entered through the import path and the models as backtests: no live row
    assert set(f["source"]) == {"import:metaculus", "import:illustrative", "backtest:evidence", "backtest:hazard"}
    assert f.loc[f["source"].str.startswith("backtest:"), "backtest"].all()


def test_demo_scores(demo):
    scores = demo["scores"].set_index("forecaster")
    assert set(scores.index) == {"import:metaculus", ANALYST_A, ANALYST_B, "backtest:evidence", "backtest:hazard"}
    assert ((scores["brier"] > 0) & (scores["brier"] < 1)).all()
    assert (scores["log"] > 0).all() and (scores["coverage"] <= 1).all()
    assert scores.loc["import:metaculus", "n_forecasts"] == 100


def test_demo_refuses_a_users_ledger(tmp_path, snapshot):
    mine = Ledger.open(tmp_path / "mine.duckdb", create=True)
    mine.add_question("rain", title="Rain?", closes="2300-01-01")
    before = snapshot(mine)
    with pytest.raises(InvalidInput, match="not a demo ledger"):
        build_demo_ledger(mine.path)
    assert snapshot(mine) == before


def test_demo_refuses_a_team_ledger():
    with pytest.raises(InvalidInput, match="its own DuckDB file"):
        build_demo_ledger("postgresql://forecasts@127.0.0.1/teamledger")


@pytest.mark.duckdb_only  # the demo is a DuckDB file
def test_demo_rebuilds_fresh(demo_copy):
    ledger = build_demo_ledger(demo_copy.path)  # an earlier demo ledger is replaced
    assert ledger.counts()["forecasts"] == 115 and ledger.verify().ok


def test_demo_report(demo):
    html = demo["report"].read_text()
    assert demo["report"].name == "new-start.html" and "backtest:evidence" in html and "import:metaculus" in html


@pytest.mark.duckdb_only  # the demo is a DuckDB file
def test_demo_cli_ends_with_the_report(cli, tmp_path):
    out = cli("demo", "--db", str(tmp_path / "d.duckdb"), env={"COLUMNS": "200"}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "import:metaculus" in out.stdout and "backtest:hazard" in out.stdout and "hash chain: ok" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "report: reports/new-start.html"
    assert (tmp_path / "reports" / "new-start.html").exists()
    con = duckdb.connect(str(tmp_path / "d.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM forecasts WHERE question = ? AND NOT backtest", [QUESTION]).fetchone()[0] == 115
    con.close()
    assert json.loads(cli("questions", "--json", "--db", str(tmp_path / "d.duckdb")).stdout)[0]["id"] == QUESTION
