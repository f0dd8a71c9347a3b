"""Metaculus: api2 JSON, the /api/posts/ JSON and a data export in the shapes Metaculus writes
(fixtures/metaculus/, sources in its README), synthetic api2 questions for edge cases, and the
real tabular community series from ../shared/data."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from forecasts.errors import ImportRejected, InvalidInput
from forecasts.sources.metaculus import import_metaculus

T0 = 1_600_000_000  # 2020-09-13 12:26:40 UTC


def api_question(qid, history_key="community_prediction", resolution: float | None = 1.0):
    q = {"id": qid, "title": f"Will thing {qid} happen before 2021?", "publish_time": "2020-09-01T00:00:00Z",
         "close_time": "2020-12-01T00:00:00Z", "resolve_time": "2020-12-15T00:00:00Z",
         "resolution": resolution, "possibilities": {"type": "binary"}}
    points = [(T0 + i * 86400, 0.3 + 0.1 * i) for i in range(3)]
    if history_key == "community_prediction":
        q["community_prediction"] = {"history": [{"t": t, "x1": {"q1": p - 0.1, "q2": p, "q3": p + 0.1}} for t, p in points]}
    elif history_key == "prediction_timeseries":
        q["prediction_timeseries"] = [{"t": t, "community_prediction": p} for t, p in points]
    return q


@pytest.fixture
def api_file(tmp_path):
    data = {"results": [api_question(1), api_question(2, "prediction_timeseries", 0.0),
                        {**api_question(3, "prediction_timeseries", None), "prediction_timeseries": []},
                        {"id": 4, "title": "numeric", "possibilities": {"type": "continuous"}}]}
    path = tmp_path / "metaculus.json"
    path.write_text(json.dumps(data))
    return path


def test_api_json_two_history_shapes(ledger, api_file, snapshot):
    s = import_metaculus(ledger, api_file)
    assert s.added == {"questions": 3, "resolutions": 2, "forecasts": 6}
    assert s.filtered == {"continuous_question": 1}
    fs = ledger.forecasts()
    assert set(fs["forecaster"]) == {"import:metaculus"} and set(fs["source"]) == {"import:metaculus"}
    assert fs[fs.question == "metaculus-1"]["probability"].round(6).tolist() == [0.3, 0.4, 0.5]
    assert fs["source_id"].iloc[0] == "1@2020-09-13T12:26:40.000000"
    res = ledger.resolutions().set_index("question")["outcome"].to_dict()
    assert res == {"metaculus-1": "yes", "metaculus-2": "no"}
    before = snapshot(ledger)
    again = import_metaculus(ledger, api_file)
    assert again.total_added() == 0 and snapshot(ledger) == before


def test_api_point_outside_the_open_period_is_refused_with_its_question_position(ledger, tmp_path):
    q = api_question(7)
    q["community_prediction"]["history"].append({"t": T0 + 400 * 86400, "x1": {"q2": 0.5}})
    q["close_time"] = "2022-01-01T00:00:00Z"
    q["community_prediction"]["history"].append({"t": T0, "x1": {"q2": 1.5}})
    path = tmp_path / "one.json"
    path.write_text(json.dumps([{"id": 8, "title": "ok", "possibilities": {"type": "binary"}}, q]))
    with pytest.raises(ImportRejected) as info:
        import_metaculus(ledger, path)
    assert {ln for ln, _ in info.value.problems} == {1, 2}
    assert any("outside [0, 1]" in why for _, why in info.value.problems)


def test_real_series_full_file(ledger, shared):
    ts, qs = shared("metaculus_binary_community_timeseries.parquet"), shared("metaculus_binary_questions.csv")
    dry = import_metaculus(ledger, ts, questions=qs, dry_run=True)  # far-future closes (3001, 9999) included
    assert dry.malformed == [] and sum(ledger.counts().values()) == 0
    s = import_metaculus(ledger, ts, questions=qs)
    assert s.added == dry.added
    assert s.added["questions"] == 2437 and s.added["resolutions"] == 1001
    assert s.added["forecasts"] == 198_448
    assert s.filtered == {"after_close": 1019, "before_open": 29, "repeated_timestamp": 12, "after_resolution": 16}
    q = ledger.questions().set_index("id").loc["metaculus-4935"]
    assert q["outcome"] == "yes" and "New START" in q["title"] and q["source_id"] == "4935"
    new_start = ledger.forecasts(question="metaculus-4935")
    assert len(new_start) == 100 and new_start["made_at"].min().year == 2020
    again = import_metaculus(ledger, ts, questions=qs)
    assert again.total_added() == 0 and again.skipped["forecasts"] == s.added["forecasts"]


FIX = Path(__file__).parent / "fixtures" / "metaculus"


def test_api2_page_imports_binary_and_counts_the_rest(ledger, snapshot):
    s = import_metaculus(ledger, FIX / "api2-questions.json")
    assert s.added == {"questions": 3, "resolutions": 3, "forecasts": 6}
    assert s.filtered == {"continuous_question": 1}  # never read as binary
    assert "metaculus-5002" not in set(ledger.questions()["id"])
    res = ledger.resolutions().set_index("question")["outcome"].to_dict()
    assert res == {"metaculus-5001": "yes", "metaculus-3001": "no", "metaculus-3002": "annulled"}
    fs = ledger.forecasts(question="metaculus-5001")
    assert fs["probability"].tolist() == [0.4, 0.45, 0.6]  # x1.q2, not q1 or q3
    assert str(fs["made_at"].iloc[0]) == "2020-09-13 12:26:40"
    before = snapshot(ledger)
    assert import_metaculus(ledger, FIX / "api2-questions.json").total_added() == 0 and snapshot(ledger) == before


def test_object_without_question_type_is_refused(ledger, cli, snapshot, tmp_path):
    before = snapshot(ledger)
    with pytest.raises(InvalidInput, match="neither an api2 question .*keys: close_time, id, publish_time, title, type"):
        import_metaculus(ledger, FIX / "api2-no-possibilities.json")
    assert snapshot(ledger) == before
    shutil.copyfile(FIX / "api2-no-possibilities.json", tmp_path / "x.json")
    r = cli("import", "metaculus", "x.json")
    assert r.returncode == 2 and "possibilities" in r.stderr


@pytest.mark.parametrize("bad, why", [
    ({"possibilities": {}}, "possibilities has no 'type'"),
    ({"resolution": 3}, "unknown resolution code 3"),
    ({"community_prediction": {"history": [{"t": T0, "x1": {"q1": 0.2}}]}}, "has no x1.q2"),
])
def test_api2_unknown_shapes_are_named(ledger, tmp_path, bad, why):
    path = tmp_path / "q.json"
    path.write_text(json.dumps([{**api_question(9), **bad}]))
    with pytest.raises(InvalidInput, match=why):
        import_metaculus(ledger, path)


def test_api2_discussion_items_are_counted(ledger, tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([api_question(11), {**api_question(12), "type": "discussion", "possibilities": {}}]))
    s = import_metaculus(ledger, path)
    assert s.added["questions"] == 1 and s.filtered == {"discussion_item": 1}


def test_empty_results_are_an_error(ledger, tmp_path):
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"results": []}))
    with pytest.raises(InvalidInput, match="holds no Metaculus question"):
        import_metaculus(ledger, path)


def test_posts_groups_become_questions_and_notebooks_are_counted(ledger):
    s = import_metaculus(ledger, FIX / "api-posts.json")
    assert s.added == {"questions": 3, "resolutions": 2, "forecasts": 6}
    assert s.filtered == {"notebook_post": 1, "numeric_question": 1, "conditional_post": 1}
    q = ledger.questions().set_index("id")
    assert set(q.index) == {"metaculus-20001", "metaculus-20002-19002", "metaculus-20002-19003"}
    assert q.loc["metaculus-20002-19002", "title"].endswith("(Norway)")
    assert q.loc["metaculus-20002-19002", "outcome"] == "yes" and q.loc["metaculus-20001", "outcome"] == "no"
    assert str(q.loc["metaculus-20002-19002", "closes_at"]) == "2024-03-01 00:00:00"  # actual close
    assert ledger.forecasts(question="metaculus-20001")["probability"].tolist() == [0.3, 0.35, 0.32]


def test_posts_binary_history_point_with_two_centers_is_refused(ledger, tmp_path):
    data = json.loads((FIX / "api-posts.json").read_text())
    data["results"][0]["question"]["aggregations"]["recency_weighted"]["history"][0]["centers"] = [0.7, 0.3]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInput, match="one center"):
        import_metaculus(ledger, path)


def test_data_export_folder_and_zip(ledger, tmp_path, cli):
    s = import_metaculus(ledger, FIX / "data-export")
    assert s.added == {"questions": 1, "resolutions": 1, "forecasts": 5}
    assert s.filtered == {"multiple_choice_question": 1}
    q = ledger.questions().iloc[0]
    assert q["id"] == "metaculus-32001" and q["outcome"] == "no" and str(q["closes_at"]) == "2024-04-02 08:00:00"
    fs = ledger.forecasts().set_index("forecaster")
    assert fs.loc["import:metaculus", "probability"].tolist() == [0.62, 0.55]
    assert fs.loc["import:metaculus:unweighted", "probability"] == 0.6
    assert str(fs.loc["metaculus:analyst_one", "made_at"]) == "2024-01-12 10:30:00.123456"
    assert "import:metaculus:bot:modelbot" in fs.index  # a bot is not a person
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as z:
        for name in ("question_data.csv", "forecast_data.csv"):
            z.write(FIX / "data-export" / name, name)
    r = cli("import", "metaculus", "export.zip", "--db", str(tmp_path / "z.duckdb"))
    assert r.returncode == 0, r.stderr
    assert "added 1 questions, 1 resolutions, 5 forecasts" in r.stdout and "1 multiple choice question" in r.stdout


def test_data_export_unknown_aggregation_is_named(ledger, tmp_path):
    folder = tmp_path / "exp"
    shutil.copytree(FIX / "data-export", folder)
    text = (folder / "forecast_data.csv").read_text().replace(",unweighted,", ",trimmed_mean,")
    (folder / "forecast_data.csv").write_text(text)
    with pytest.raises(InvalidInput, match="unknown aggregation method 'trimmed_mean'"):
        import_metaculus(ledger, folder)
