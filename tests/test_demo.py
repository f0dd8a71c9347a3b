"""The demo: New START and a small real track record, in a fresh ledger that is never the user's own."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import duckdb
import pytest

from forecasts.demo import ABOUT, ANALYST_A, ANALYST_B, QUESTION, TRACK_RECORD, build_demo_ledger, run_demo
from forecasts.errors import InvalidInput
from forecasts.ledger import Ledger
from forecasts.paths import data_file

METACULUS = "import:metaculus"


def _csv(name: str) -> list[dict]:
    with data_file(name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    return run_demo(folder / "new-start.duckdb", report=folder / "new-start.html")


def test_the_questions_are_the_real_ones(demo):
    ledger = Ledger.open(demo["path"])
    qs = ledger.questions().set_index("id")
    assert set(qs.index) == {qid for qid, _ in TRACK_RECORD.values()} and len(qs) == 8
    assert set(qs["source"]) == {"import:demo"}
    for r in _csv("metaculus_arms_control_timeseries.csv"):
        qid = TRACK_RECORD[("Metaculus", r["question_id"])][0]
        if qid == QUESTION:  # the case study's own wording; opened as the Metaculus question did
            assert qs.at[qid, "opens_at"] == datetime(2020, 8, 10, 23) and qs.at[qid, "closes_at"] == datetime(2021, 2, 5)
            continue
        assert qs.at[qid, "title"] == r["question_title"]
        assert qs.at[qid, "opens_at"].isoformat() == r["open_time_utc"][:19].replace(" ", "T")
        assert qs.at[qid, "closes_at"].isoformat() == r["close_time_utc"][:19].replace(" ", "T")
    for r in _csv("new_start_questions.csv"):
        if r["platform"] == "GJOpen":
            qid = TRACK_RECORD[("GJOpen", r["question_id"])][0]
            assert qs.at[qid, "title"] == r["question_text"]
    # a Good Judgment Open question closes at the deadline in its title
    assert qs.at["gjopen-1551", "closes_at"] == datetime(2020, 10, 1)
    assert qs.at["gjopen-942", "closes_at"] == datetime(2019, 10, 1)


def test_the_crowd_series_are_the_real_ones(demo):
    ledger = Ledger.open(demo["path"])
    f = ledger.forecasts()
    crowd = f[f["forecaster"] == METACULUS]
    assert set(crowd["source"]) == {METACULUS}
    rows = _csv("metaculus_arms_control_timeseries.csv")
    kept = [r for r in rows if r["after_close"] == "False"]
    assert len(rows) == 520 and len(crowd) == len(kept) == 519   # 4935's point of 2022-01-20 is after its close
    per = crowd.groupby("question").size().to_dict()
    assert per == {QUESTION: 100, "metaculus-8393": 46, "metaculus-10042": 101, "metaculus-8547": 96,
                   "metaculus-8550": 93, "metaculus-8589": 83}
    qs = ledger.questions().set_index("id")
    assert (crowd["made_at"].to_numpy() <= crowd["question"].map(qs["closes_at"]).to_numpy()).all()
    first = crowd.sort_values("made_at").groupby("question")["probability"]
    # new_start_questions.csv: 0.40 first and 0.70 at the close (4935); the snapshot's last points
    assert first.first()[QUESTION] == 0.40 and first.last()[QUESTION] == 0.70
    assert first.last()["metaculus-8393"] == 0.60 and first.last()["metaculus-10042"] == 0.07
    assert crowd.loc[crowd["question"] != QUESTION, "made_at"].max() < datetime(2022, 8, 7)
    gj = f[f["forecaster"] == "import:gjopen"]
    assert gj[["question", "made_at", "probability"]].values.tolist() == [["gjopen-1551", datetime(2020, 6, 22, 12), 0.40]]


def test_the_illustrative_analysts_stay_as_they_were(demo):
    f = Ledger.open(demo["path"]).forecasts()
    for who, n in ((ANALYST_A, 10), (ANALYST_B, 5)):
        mine = f[f["forecaster"] == who]
        assert len(mine) == n and set(mine["question"]) == {QUESTION}
        assert set(mine["source"]) == {"import:illustrative"}
        assert all(r.startswith("[illustrative") for r in mine["rationale"])
    # history entered through the import path and the models as backtests: no live row
    assert set(f["source"]) == {METACULUS, "import:gjopen", "import:illustrative", "backtest:evidence",
                                "backtest:hazard", "backtest:extremized", "backtest:hazard-crowd"}
    assert f.loc[f["source"].str.startswith("backtest:"), "backtest"].all()


def test_only_sourced_resolutions(demo):
    ledger = Ledger.open(demo["path"])
    sourced = _csv("arms_control_resolutions.csv")
    assert all(r["source_url"].startswith("https://") and datetime.fromisoformat(r["source_date"]) for r in sourced)
    res = ledger.resolutions().set_index("question")
    assert res["outcome"].to_dict() == {QUESTION: "yes", "metaculus-8393": "no", "metaculus-10042": "no",
                                        "gjopen-942": "no", "gjopen-1551": "yes"}
    for r in sourced:
        qid = TRACK_RECORD[(r["platform"], r["question_id"])][0]
        assert res.at[qid, "note"].endswith(f"Source: {r['source_url']} ({r['source_date']}).")
        assert res.at[qid, "resolved_at"].isoformat() == r["resolved_at"]
    assert res.at[QUESTION, "resolved_at"] == datetime(2021, 1, 26, 12)
    assert "suspending" in res.at["metaculus-10042", "note"]     # suspended, not withdrawn
    # the questions whose outcome has no source stay unresolved, and say so
    qs = ledger.questions().set_index("id")
    unresolved = qs[qs["outcome"].isna()]
    assert set(unresolved.index) == {"metaculus-8547", "metaculus-8550", "metaculus-8589"}
    assert set(unresolved["status"]) == {"closed"}
    table = demo["questions"].set_index("question")
    assert set(table.loc[table["outcome"] == ""].index) == set(unresolved.index)
    assert (table.loc[table["outcome"] != "", "source"].str.startswith("https://")).all()


def test_the_models_are_replayed_on_every_question(demo):
    ledger = Ledger.open(demo["path"])
    f = ledger.forecasts(clock="world")
    on = f[f["backtest"]].groupby("forecaster")["question"].unique().map(set).to_dict()
    metaculus = {qid for (platform, _), (qid, _) in TRACK_RECORD.items() if platform == "Metaculus"}
    assert on["backtest:evidence"] == on["backtest:hazard"] == {QUESTION}  # they need the analysts' prior
    assert on["backtest:extremized"] == metaculus and len(metaculus) == 6
    assert on["backtest:hazard-crowd"] == metaculus - {"metaculus-8393"}   # "renewed until": no deadline
    ext = f[f["forecaster"] == "backtest:extremized"]
    trained = ext["params"].map(lambda p: p["n_questions"])
    # New START was the crowd's first question: replayed with d = 1, the crowd itself
    first = ext[ext["question"] == QUESTION]
    assert set(trained[first.index]) == {0} and set(first["params"].map(lambda p: p["factor"])) == {1.0}
    # the later questions use what was resolved by each row's date: New START, then also 10042
    later = ext[ext["question"] == "metaculus-8393"]
    before_10042 = later["made_at"] < datetime(2023, 1, 1)
    assert set(trained[later.index[before_10042]]) == {1} and set(trained[later.index[~before_10042]]) == {2}
    assert list(demo["fits"]["n_questions"]) == [0, 1, 2, 3]


def test_demo_scores(demo):
    scores = demo["scores"].set_index("forecaster")
    assert set(scores.index) == {METACULUS, ANALYST_A, ANALYST_B, "backtest:evidence", "backtest:hazard",
                                 "backtest:extremized", "backtest:hazard-crowd"}   # import:gjopen stood no time
    assert scores["questions"].to_dict() == {METACULUS: 3, "backtest:extremized": 3, "backtest:hazard-crowd": 2,
                                             "backtest:evidence": 1, "backtest:hazard": 1, ANALYST_A: 1, ANALYST_B: 1}
    assert list(scores["questions"]) == sorted(scores["questions"], reverse=True)
    assert ((scores["brier"] > 0) & (scores["brier"] < 1)).all()
    assert (scores["log"] > 0).all() and (scores["coverage"] <= 1).all()
    assert scores["vs_crowd"].isna().to_dict() == {n: n == METACULUS for n in scores.index}


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
    imported = int((~demo_copy.forecasts()["backtest"]).sum())
    ledger = build_demo_ledger(demo_copy.path)  # an earlier demo ledger is replaced
    assert ledger.counts()["forecasts"] == imported == 519 + 1 + 15 and ledger.verify().ok


def test_demo_report(demo):
    html = demo["report"].read_text()
    assert demo["report"].name == "new-start.html" and "backtest:evidence" in html and METACULUS in html
    assert "backtest:extremized" in html and "backtest:hazard-crowd" in html
    for text in ABOUT:    # what is real and what is illustrative, first, under the title
        assert f"<p>{text}</p>".replace("'", "&#39;") in html
    for r in _csv("arms_control_resolutions.csv"):
        assert f'<a href="{r["source_url"]}" rel="noreferrer">' in html


@pytest.mark.duckdb_only  # the demo is a DuckDB file
def test_demo_cli_ends_with_the_report(cli, tmp_path):
    out = cli("demo", "--db", str(tmp_path / "d.duckdb"), env={"COLUMNS": "80"}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert METACULUS in out.stdout and "backtest:hazard-crowd" in out.stdout and "hash chain: ok" in out.stdout
    assert "not shown at this width" not in out.stdout   # both tables fit 80 columns
    assert out.stdout.startswith("demo ledger: ") and "\nIllustrative: illustrative:analyst-a" in out.stdout
    assert out.stdout.count(": unresolved: no source found") == 3
    assert "  metaculus-10042: NO, source: https://" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "report: reports/new-start.html"
    assert (tmp_path / "reports" / "new-start.html").exists()
    con = duckdb.connect(str(tmp_path / "d.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM forecasts WHERE question = ? AND NOT backtest", [QUESTION]).fetchone()[0] == 115
    con.close()
    ids = [q["id"] for q in json.loads(cli("questions", "--json", "--db", str(tmp_path / "d.duckdb")).stdout)]
    assert QUESTION in ids and len(ids) == 8
