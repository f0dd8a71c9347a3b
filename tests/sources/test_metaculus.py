"""Metaculus: the API's question JSON (synthetic, three history shapes) and the real tabular
community series from ../shared/data."""

from __future__ import annotations

import json

import pytest

from forecasts.errors import ImportRejected
from forecasts.sources.metaculus import import_metaculus

T0 = 1_600_000_000  # 2020-09-13 12:26:40 UTC


def api_question(qid, history_key="community_prediction", resolution=1.0):
    q = {"id": qid, "title": f"Will thing {qid} happen before 2021?", "publish_time": "2020-09-01T00:00:00Z",
         "close_time": "2020-12-01T00:00:00Z", "resolve_time": "2020-12-15T00:00:00Z",
         "resolution": resolution, "possibility": {"type": "binary"}}
    points = [(T0 + i * 86400, 0.3 + 0.1 * i) for i in range(3)]
    if history_key == "community_prediction":
        q["community_prediction"] = {"history": [{"t": t, "x1": {"q1": p - 0.1, "q2": p, "q3": p + 0.1}} for t, p in points]}
    elif history_key == "prediction_timeseries":
        q["prediction_timeseries"] = [{"t": t, "community_prediction": p} for t, p in points]
    else:
        q["aggregations"] = {"recency_weighted": {"history": [{"start_time": t, "centers": [p]} for t, p in points]}}
    return q


@pytest.fixture
def api_file(tmp_path):
    data = {"results": [api_question(1), api_question(2, "prediction_timeseries", 0.0),
                        api_question(3, "aggregations", None),
                        {"id": 4, "title": "numeric", "possibility": {"type": "continuous"}}]}
    path = tmp_path / "metaculus.json"
    path.write_text(json.dumps(data))
    return path


def test_api_json_three_history_shapes(ledger, api_file, snapshot):
    s = import_metaculus(ledger, api_file)
    assert s.added == {"questions": 3, "resolutions": 2, "forecasts": 9}
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
    path.write_text(json.dumps([{"id": 8, "title": "ok", "possibility": {"type": "binary"}}, q]))
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
    assert s.added["forecasts"] == 198_464
    assert s.filtered == {"after_close": 1019, "before_open": 29, "repeated_timestamp": 12}
    q = ledger.questions().set_index("id").loc["metaculus-4935"]
    assert q["outcome"] == "yes" and "New START" in q["title"] and q["source_id"] == "4935"
    new_start = ledger.forecasts(question="metaculus-4935")
    assert len(new_start) == 100 and new_start["made_at"].min().year == 2020
    again = import_metaculus(ledger, ts, questions=qs)
    assert again.total_added() == 0 and again.skipped["forecasts"] == s.added["forecasts"]
