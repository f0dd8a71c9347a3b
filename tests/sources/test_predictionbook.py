"""PredictionBook: a real subset of the research-use files (the first questions and all their
forecasts), written into tmp_path so the test stays fast."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasts.errors import ImportRejected
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
