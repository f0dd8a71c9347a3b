"""PredictionBook: a real subset of the research-use files (the first questions and all their
forecasts), written into tmp_path so the test stays fast."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from forecasts.errors import ImportRejected, InvalidInput
from forecasts.sources.predictionbook import import_predictionbook


@pytest.fixture
def subset(shared, tmp_path):
    f = pd.read_parquet(shared("predictionbook_forecasts.parquet"))
    q = pd.read_parquet(shared("predictionbook_questions.parquet"))
    keep = q["question_id"].iloc[:400]
    f[f["question_id"].isin(keep)].to_parquet(tmp_path / "pb_f.parquet")
    q[q["question_id"].isin(keep)].to_parquet(tmp_path / "pb_q.parquet")
    return tmp_path / "pb_f.parquet", tmp_path / "pb_q.parquet", f[f["question_id"].isin(keep)]


def test_real_subset(ledger, subset, snapshot):
    fpath, qpath, raw = subset
    with pytest.raises(ImportRejected) as info:
        import_predictionbook(ledger, fpath, questions=qpath)
    assert all(ln >= 2 for ln, _ in info.value.problems)
    s = import_predictionbook(ledger, fpath, questions=qpath, skip_malformed=True)
    assert s.added["questions"] + len({why for _, why in s.malformed if "closes" in why}) <= 400
    assert 0.8 * len(raw) < s.added["forecasts"] < len(raw)
    kinds = ("its question", "made_at", "the question closes", "close date")
    assert all(why.startswith(kinds) for _, why in s.malformed), {w for _, w in s.malformed if not w.startswith(kinds)}
    fs = ledger.forecasts()
    assert fs["forecaster"].str.startswith("pb:").all() and set(fs["source"]) == {"import:predictionbook"}
    first = ledger.questions().set_index("id").loc["pb-1"]
    assert first["title"].startswith("PredictionBook will have an Alpha server") and first["outcome"] == "yes"
    assert ((fs["probability"] == 0) | (fs["probability"] == 1)).any()  # certain forecasts kept
    before = snapshot(ledger)
    assert import_predictionbook(ledger, fpath, questions=qpath, skip_malformed=True).total_added() == 0
    assert snapshot(ledger) == before


def test_questions_file_alone(ledger, subset):
    _, qpath, _ = subset
    s = import_predictionbook(ledger, qpath, skip_malformed=True)
    assert s.added["questions"] > 300 and s.added["forecasts"] == 0


FIXTURES = Path(__file__).parent / "fixtures" / "predictionbook"


def test_api_json_is_read_as_json(ledger, snapshot):
    s = import_predictionbook(ledger, FIXTURES / "api_predictions.json")
    assert s.rows_read == 3 and not s.malformed
    assert s.filtered == {"comment_without_confidence": 1}
    q = ledger.questions().set_index("id")
    assert q.loc["pb-7", "outcome"] == "yes" and q.loc["pb-11", "outcome"] == "no"
    assert pd.isna(q.loc["pb-89", "outcome"])  # not judged: unresolved
    assert q.loc["pb-11", "title"] == "There will be more than 10,000 predictions on pbook by end 08."
    f = ledger.forecasts().set_index("source_id")
    assert f.loc["response:1008", "probability"] == 0.75
    assert f.loc["response:1008", "forecaster"] == "pb:Lina"
    assert f.loc["response:1008", "made_at"] == pd.Timestamp("2008-06-20 12:45:33")
    before = snapshot(ledger)
    assert import_predictionbook(ledger, FIXTURES / "api_predictions.json").total_added() == 0
    assert snapshot(ledger) == before


def test_api_my_predictions_shape(ledger):
    s = import_predictionbook(ledger, FIXTURES / "api_my_predictions.json")
    assert s.added == {"questions": 1, "resolutions": 1, "forecasts": 3}


def test_api_unknown_field_is_named(ledger, tmp_path):
    data = json.loads((FIXTURES / "api_predictions.json").read_text())
    data[0]["tags"] = ["x"]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInput, match="prediction 1 has unknown field\\(s\\) 'tags'"):
        import_predictionbook(ledger, path)
    data[0].pop("tags")
    data[0]["responses"][0]["probability"] = 0.5
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInput, match="response of prediction 7 has unknown field\\(s\\) 'probability'"):
        import_predictionbook(ledger, path)
    assert ledger.counts()["questions"] == 0


def test_api_withdrawn_prediction_is_annulled(ledger, tmp_path):
    data = json.loads((FIXTURES / "api_predictions.json").read_text())
    data[2]["withdrawn"] = True
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    import_predictionbook(ledger, path)
    assert ledger.questions().set_index("id").loc["pb-89", "outcome"] == "annulled"
