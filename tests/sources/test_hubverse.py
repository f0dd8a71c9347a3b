"""The hubverse export: pmf model output and oracle output, re-read and checked."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasts.sources.hubverse import export_hubverse, model_id


@pytest.fixture
def filled(ledger):
    ledger.import_history(source="import:test", questions=[
        {"qid": "b1", "title": "Binary?", "opens": "2020-01-01", "closes": "2020-12-01"},
        {"qid": "m1", "title": "Which?", "opens": "2020-01-01", "closes": "2020-12-01",
         "kind": "multiple_choice", "options": ["red", "blue", "green"]},
        {"qid": "open1", "title": "Open?", "opens": "2020-01-01", "closes": "2299-01-01"}],
        forecasts=[{"question": "b1", "forecaster": "import:metaculus", "made_at": "2020-02-01", "probability": 0.7},
                   {"question": "m1", "forecaster": "ana", "made_at": "2020-02-01",
                    "options": {"red": 0.5, "blue": 0.3, "green": 0.2}},
                   {"question": "open1", "forecaster": "ana", "made_at": "2020-02-01", "probability": 0.1}],
        resolutions=[{"question": "b1", "outcome": "no", "on": "2020-06-01"},
                     {"question": "m1", "outcome": "blue", "on": "2020-06-01"}])
    return ledger


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_model_and_oracle_output(filled, tmp_path, fmt):
    files = export_hubverse(filled, tmp_path / "hub", fmt=fmt)
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    model, oracle = read(files["model_output"]), read(files["oracle_output"])
    assert list(model.columns) == ["model_id", "question_id", "origin_time", "output_type", "output_type_id", "value"]
    assert set(model["output_type"]) == {"pmf"}
    assert model.groupby(["model_id", "question_id", "origin_time"])["value"].sum().round(12).eq(1).all()
    b1 = model[model.question_id == "b1"].set_index("output_type_id")["value"]
    assert b1["yes"] == 0.7 and abs(b1["no"] - 0.3) < 1e-15
    assert set(model["model_id"]) == {"import-metaculus", "ana"}
    assert list(oracle.columns) == ["question_id", "output_type", "output_type_id", "oracle_value"]
    got = oracle.set_index(["question_id", "output_type_id"])["oracle_value"].to_dict()
    assert got == {("b1", "yes"): 0, ("b1", "no"): 1, ("m1", "red"): 0, ("m1", "blue"): 1, ("m1", "green"): 0}
    merged = model.merge(oracle, on=["question_id", "output_type", "output_type_id"])
    brier = merged.assign(se=(merged.value - merged.oracle_value) ** 2).groupby("question_id")["se"].sum()
    assert brier["b1"] == pytest.approx(2 * 0.7**2)  # two-category Brier of 0.7 on a no


def test_model_id():
    assert model_id("import:metaculus") == "import-metaculus" and model_id("pb:Robin_Z.") == "pb-Robin_Z"
