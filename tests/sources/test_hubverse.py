"""The hubverse export: a complete hub, its configuration validated against hubverse's
published JSON schemas (hubverse-org/schemas v6.0.0, copied into fixtures/hubverse/), its
model output checked against its own tasks.json, re-read and scored against the oracle."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from jsonschema import Draft202012Validator

from forecasts.errors import InvalidInput
from forecasts.sources.hubverse import MODEL_ID, export_hubverse, model_id

SCHEMAS = Path(__file__).parent / "fixtures" / "hubverse" / "schemas-v6.0.0"


def validate(instance: object, schema: dict) -> None:
    Draft202012Validator.check_schema(schema)
    errors = sorted(Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
                    .iter_errors(instance), key=str)
    assert not errors, [e.message for e in errors]


@pytest.fixture
def filled(ledger):
    ledger.import_history(source="import:test", questions=[
        {"qid": "b1", "title": "Binary?", "opens": "2020-01-01", "closes": "2020-12-01"},
        {"qid": "m1", "title": "Which?", "opens": "2020-01-01", "closes": "2020-12-01",
         "kind": "multiple_choice", "options": ["red", "blue", "green"]},
        {"qid": "open1", "title": "Open?", "opens": "2020-01-01", "closes": "2299-01-01"}],
        forecasts=[{"question": "b1", "forecaster": "import:metaculus", "made_at": "2020-02-01", "probability": 0.7},
                   {"question": "m1", "forecaster": "ana", "made_at": "2020-02-01 09:00",
                    "options": {"red": 0.2, "blue": 0.3, "green": 0.5}},
                   {"question": "m1", "forecaster": "ana", "made_at": "2020-02-01 17:00",  # same day, later
                    "options": {"red": 0.5, "blue": 0.3, "green": 0.2}},
                   {"question": "b1", "forecaster": "ana", "made_at": "2020-03-04 12:00", "probability": 0.4},
                   {"question": "open1", "forecaster": "ana", "made_at": "2020-02-01", "probability": 0.1}],
        resolutions=[{"question": "b1", "outcome": "no", "on": "2020-06-01"},
                     {"question": "m1", "outcome": "blue", "on": "2020-06-01"}])
    return ledger


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_hub_layout_and_schemas(filled, tmp_path, fmt):
    hub = tmp_path / "hub"
    export_hubverse(filled, hub, fmt=fmt)
    admin = json.loads((hub / "hub-config" / "admin.json").read_text())
    tasks = json.loads((hub / "hub-config" / "tasks.json").read_text())
    validate(admin, json.loads((SCHEMAS / "admin-schema.json").read_text()))
    validate(tasks, json.loads((SCHEMAS / "tasks-schema.json").read_text()))
    assert admin["file_format"] == [fmt]
    meta_schema = json.loads((hub / "hub-config" / "model-metadata-schema.json").read_text())
    metas = {p.stem: yaml.safe_load(p.read_text()) for p in (hub / "model-metadata").glob("*.yml")}
    assert set(metas) == {"import-metaculus", "person-ana"}
    for meta in metas.values():
        validate(meta, meta_schema)
    assert metas["person-ana"]["forecaster"] == "ana" and metas["import-metaculus"]["forecaster_kind"] == "import"

    outputs = sorted((hub / "model-output").rglob(f"*.{fmt}"))
    names = [p.relative_to(hub / "model-output").as_posix() for p in outputs]
    assert names == [f"import-metaculus/2020-02-01-import-metaculus.{fmt}",
                     f"person-ana/2020-02-01-person-ana.{fmt}", f"person-ana/2020-03-04-person-ana.{fmt}"]
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    (task_set,) = tasks["rounds"]
    assert task_set["round_id_from_variable"] and task_set["round_id"] == "origin_date"
    for p in outputs:
        mid, file_name = p.parent.name, p.name
        assert MODEL_ID.match(mid) and file_name.endswith(f"-{mid}.{fmt}")
        round_id = file_name[: -len(f"-{mid}.{fmt}")]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", round_id)
        out = read(p, dtype={"output_type_id": str}) if fmt == "csv" else read(p)
        assert list(out.columns) == ["origin_date", "question_id", "output_type", "output_type_id", "value"]
        assert (out["origin_date"].astype(str) == round_id).all()
        assert not out.duplicated(["origin_date", "question_id", "output_type", "output_type_id"]).any()
        for qid, g in out.groupby("question_id"):
            (task,) = [t for t in task_set["model_tasks"] if qid in t["task_ids"]["question_id"]["optional"]]
            assert round_id in task["task_ids"]["origin_date"]["optional"]
            assert g["output_type_id"].tolist() == task["output_type"]["pmf"]["output_type_id"]["required"]
            assert g["value"].between(0, 1).all() and g["value"].sum() == pytest.approx(1, abs=1e-12)


def test_last_forecast_of_the_day_and_oracle(filled, tmp_path):
    hub = tmp_path / "hub"
    export_hubverse(filled, hub)
    m1 = pd.read_csv(hub / "model-output" / "person-ana" / "2020-02-01-person-ana.csv")
    m1 = m1[m1.question_id == "m1"].set_index("output_type_id")["value"].to_dict()
    assert m1 == {"red": 0.5, "blue": 0.3, "green": 0.2}  # the 17:00 forecast, not the 09:00 one
    oracle = pd.read_csv(hub / "target-data" / "oracle-output.csv")
    assert list(oracle.columns) == ["question_id", "output_type", "output_type_id", "oracle_value"]
    got = oracle.set_index(["question_id", "output_type_id"])["oracle_value"].to_dict()
    assert got == {("b1", "yes"): 0, ("b1", "no"): 1, ("m1", "red"): 0, ("m1", "blue"): 1, ("m1", "green"): 0}
    model = pd.read_csv(hub / "model-output" / "import-metaculus" / "2020-02-01-import-metaculus.csv")
    merged = model.merge(oracle, on=["question_id", "output_type", "output_type_id"])
    brier = ((merged.value - merged.oracle_value) ** 2).sum()
    assert brier == pytest.approx(2 * 0.7**2)  # two-category Brier of 0.7 on a no


def test_empty_ledger_is_refused(ledger, tmp_path):
    with pytest.raises(InvalidInput, match="no forecasts to export"):
        export_hubverse(ledger, tmp_path / "hub")


def test_model_id():
    assert model_id("import:metaculus") == "import-metaculus" and model_id("pb:Robin_Z.") == "pb-Robin_Z"
    assert model_id("ana") == "person-ana" and model_id("illustrative-analyst-a") == "person-illustrative_analyst_a"
    assert MODEL_ID.match(model_id("fatebook:Ana Lopez"))
