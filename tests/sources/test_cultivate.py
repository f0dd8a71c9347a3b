"""Good Judgment Open / INFER (Cultivate Labs API): questions and prediction sets in the shapes
the API documentation gives (fixtures/cultivate/, sources in its README)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from forecasts.errors import ImportRejected, InvalidInput
from forecasts.sources.cultivate import import_cultivate

FIX = Path(__file__).parent / "fixtures" / "cultivate"
SETS, QUESTIONS = FIX / "prediction_sets.json", FIX / "questions.json"


def test_questions_and_prediction_sets(ledger, snapshot):
    s = import_cultivate(ledger, SETS, questions=QUESTIONS, platform="gjopen")
    assert s.added == {"questions": 4, "resolutions": 3, "forecasts": 6}
    assert s.filtered == {"made_after_correctness_known": 1}
    q = ledger.questions().set_index("id")
    assert q.loc["gjopen-101", "outcome"] == "yes" and q.loc["gjopen-101", "kind"] == "binary"
    assert q.loc["gjopen-103", "outcome"] == "annulled"  # voided: the annulment is kept
    assert pd_isna(q.loc["gjopen-104", "outcome"])
    mc = q.loc["gjopen-102"]
    assert mc["options"] == ["fewer-than-5", "between-5-and-10-inclusive", "more-than-10"] and bool(mc["ordered"])
    assert mc["outcome"] == "between-5-and-10-inclusive"
    r = ledger.resolutions().set_index("question")
    assert str(r.loc["gjopen-103", "resolved_at"]) == "2023-03-15 13:00:00"  # -05:00 read as UTC
    fs = ledger.forecasts().set_index("source_id")
    assert fs.loc["501", "forecaster"] == "gjopen:cc4c30df5539" and fs.loc["501", "probability"] == 0.65
    assert str(fs.loc["502", "made_at"]) == "2023-02-01 14:00:00" and fs.loc["501", "rationale"] == "Talks look serious."
    assert fs.loc["504", "probabilities"] == {"fewer-than-5": 0.25, "between-5-and-10-inclusive": 0.45, "more-than-10": 0.3}
    assert "506" not in fs.index
    before = snapshot(ledger)
    assert import_cultivate(ledger, SETS, questions=QUESTIONS).total_added() == 0 and snapshot(ledger) == before


def pd_isna(v) -> bool:
    return v is None or v != v


def test_questions_alone_and_infer(ledger):
    s = import_cultivate(ledger, QUESTIONS, platform="infer")
    assert s.added == {"questions": 4, "resolutions": 3, "forecasts": 0}
    assert set(ledger.questions()["id"]) == {"infer-101", "infer-102", "infer-103", "infer-104"}


def test_unknown_question_type_is_named(ledger, tmp_path):
    data = json.loads(QUESTIONS.read_text())
    data["questions"][0]["type"] = "Forecast::Continuous::Question"
    path = tmp_path / "q.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInput, match="question type 'Forecast::Continuous::Question'"):
        import_cultivate(ledger, path)


def test_unknown_layout_and_missing_questions_are_errors(ledger, tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"forecasts": []}))
    with pytest.raises(InvalidInput, match="no 'questions' list .*keys: forecasts"):
        import_cultivate(ledger, path)
    with pytest.raises(InvalidInput, match="--questions"):
        import_cultivate(ledger, SETS)


def test_incomplete_multi_answer_set_is_refused_by_line(ledger, tmp_path, snapshot):
    data = json.loads(SETS.read_text())
    data["prediction_sets"][3]["predictions"].pop()
    path = tmp_path / "sets.json"
    path.write_text(json.dumps(data))
    before = snapshot(ledger)
    with pytest.raises(ImportRejected) as info:
        import_cultivate(ledger, path, questions=QUESTIONS)
    assert [ln for ln, _ in info.value.problems] == [4] and "more-than-10" in info.value.problems[0][1]
    assert snapshot(ledger) == before


def test_cli(cli, tmp_path):
    for f in (SETS, QUESTIONS):
        shutil.copyfile(f, tmp_path / f.name)
    r = cli("import", "cultivate", "prediction_sets.json", "--questions", "questions.json", "--platform", "infer")
    assert r.returncode == 0, r.stderr
    assert "added 4 questions, 3 resolutions, 6 forecasts" in r.stdout and "made after correctness known" in r.stdout
    h = cli("import", "cultivate", "--help")
    assert "membership_guid" in h.stdout and "Forecast::Binary::Question" in h.stdout
