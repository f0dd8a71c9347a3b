"""The hubverse export: a complete hub, its configuration validated against hubverse's
published JSON schemas (hubverse-org/schemas v6.0.0, copied into fixtures/hubverse/), its
model output checked against its own tasks.json, re-read and scored against the oracle."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
import random_ledgers
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from forecasts.errors import InvalidInput
from forecasts.sources.hubverse import MODEL_ID, export_hubverse, hubverse_frames, model_id

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


# ---------------------------------------------------------------------- rounds by week and month

def _round_of(day: str, rounds: str) -> str:
    """The last day of the week (Monday to Sunday) or month holding ``day``."""
    d = date.fromisoformat(day)
    if rounds == "week":
        return (d + timedelta(days=6 - d.weekday())).isoformat()
    return ((d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).isoformat()


@settings(random_ledgers.LEDGER_PER_EXAMPLE, max_examples=10)
@given(recipe=random_ledgers.ledgers(), rounds=st.sampled_from(["week", "month"]))
def test_a_coarser_round_holds_the_last_forecast_of_its_days(new_ledger, tmp_path_factory, recipe, rounds):
    """A week's (or month's) round is what the daily hub holds on the latest day of that round
    on which the model forecast the question, dated the round's last day; the rest count as
    replaced.  The hub it makes validates against hubverse's schemas."""
    ledger = random_ledgers.build(new_ledger(), recipe)
    try:
        daily = hubverse_frames(ledger)
    except InvalidInput as exc:  # two forecasters with one model id, whatever the rounds
        with pytest.raises(InvalidInput, match=re.escape(exc.message)):
            hubverse_frames(ledger, rounds=rounds)
        return
    model, oracle, replaced = hubverse_frames(ledger, rounds=rounds)
    days = daily[0].assign(round=[_round_of(d, rounds) for d in daily[0]["origin_date"]])
    latest = days.groupby(["model_id", "question_id", "round"])["origin_date"].transform("max")
    expected = (days[days["origin_date"] == latest].assign(origin_date=lambda f: f["round"]).drop(columns="round")
                .sort_values(["model_id", "origin_date", "question_id"], kind="stable").reset_index(drop=True))
    expected = expected.astype({c: "str" for c in expected.columns if c != "value"})
    pd.testing.assert_frame_equal(model.sort_values(["model_id", "origin_date", "question_id"], kind="stable")
                                  .reset_index(drop=True), expected)
    pd.testing.assert_frame_equal(oracle, daily[1])
    forecasts = ledger.forecasts()
    assert replaced == len(forecasts) - len(expected.drop_duplicates(["model_id", "origin_date", "question_id"]))
    hub = tmp_path_factory.mktemp("hub") / "hub"
    files = export_hubverse(ledger, hub, rounds=rounds)
    validate(json.loads((hub / "hub-config" / "tasks.json").read_text()),
             json.loads((SCHEMAS / "tasks-schema.json").read_text()))
    outputs = sorted((hub / "model-output").rglob("*.csv"))
    assert sorted(p for role, p in files.items() if role.startswith("output:")) == outputs
    assert {(p.parent.name, p.name[:10]) for p in outputs} == set(zip(model["model_id"], model["origin_date"],
                                                                      strict=True))


def test_rounds_by_week_and_month_on_the_cli(cli, tmp_path, filled):
    for rounds, first in (("week", "2020-02-02"), ("month", "2020-02-29")):
        r = cli("export", str(tmp_path / rounds), "--format", "hubverse", "--round", rounds)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / rounds / "model-output" / "person-ana" / f"{first}-person-ana.csv").is_file()
    bad = cli("export", str(tmp_path / "x"), "--format", "csv", "--round", "week")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--round is for --format hubverse" in bad.stderr
    bad = cli("export", str(tmp_path / "y"), "--format", "hubverse", "--round", "fortnight")
    assert bad.returncode == 2 and "day, week, month" in bad.stderr and not (tmp_path / "y" / "hub-config").exists()


def test_the_files_written_are_listed_without_holding_every_path(filled, tmp_path):
    files = export_hubverse(filled, tmp_path / "hub")
    assert len(files) == len(list(files)) == 3 + 2 + 3 + 1
    assert files["output:person-ana:2020-03-04"] == tmp_path / "hub" / "model-output" / "person-ana" / \
        "2020-03-04-person-ana.csv"
    for missing in ("output:person-ana:2020-03-05", "output:person-bo:2020-03-04", "metadata:x", "nope"):
        assert missing not in files
        with pytest.raises(KeyError):
            files[missing]
    assert all(p.is_file() for p in files.values())
