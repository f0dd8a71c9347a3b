"""The bulk import path: vectorised validation, all-or-nothing, idempotent, hash-chained."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.errors import ImportRejected, InvalidInput
from forecasts.ledger import integrity


@pytest.fixture
def history(ledger):
    ledger.import_history(questions=[
        {"qid": "q1", "title": "One?", "opens": "2020-01-01", "closes": "2021-01-01"},
        {"qid": "mc", "title": "Which?", "opens": "2020-01-01", "closes": "2021-01-01",
         "kind": "multiple_choice", "options": "a,b,c"},
    ], source="import:test")
    return ledger


def _frame(n=5):
    return pd.DataFrame({
        "question": ["q1"] * n,
        "forecaster": [f"user{i % 2}" for i in range(n)],
        "made_at": [f"2020-0{1 + i % 9}-15T10:00:00+02:00" for i in range(n)],
        "probability": np.linspace(0.1, 0.9, n),
        "source_id": [f"row{i}" for i in range(n)],
    })


def test_bulk_import_round_trip(history):
    df = _frame()
    df.loc[0, "rationale"] = '50% "sure" ü'
    got = history.import_forecast_frame(df, source="import:test")
    assert got == {"added": 5, "would_add": 5, "skipped_existing": 0, "rows": 5}
    back = history.forecasts()
    assert back["probability"].tolist() == pytest.approx(np.linspace(0.1, 0.9, 5).tolist(), abs=0)
    assert back["made_at"].iloc[0] == pd.Timestamp("2020-01-15T08:00:00")  # converted to UTC
    assert back["rationale"].iloc[0] == '50% "sure" ü'
    assert set(back["source"]) == {"import:test"}
    assert history.verify().ok
    # live rows chain on after bulk rows
    history.add_question("live", title="Live?", closes="2300-01-01")
    history.log("live", 0.3)
    assert history.verify().ok


def test_bulk_import_is_idempotent(history):
    history.import_forecast_frame(_frame(), source="import:test")
    again = history.import_forecast_frame(_frame(7), source="import:test")
    assert again["added"] == 2 and again["skipped_existing"] == 5
    assert history.counts()["forecasts"] == 7 and history.verify().ok


def test_dry_run_writes_nothing(history, snapshot):
    before = snapshot(history)
    assert history.import_forecast_frame(_frame(), source="import:test", dry_run=True)["would_add"] == 5
    assert snapshot(history) == before


def test_malformed_rows_are_listed_and_nothing_is_written(history, snapshot):
    df = _frame(8)
    df.loc[1, "probability"] = 1.7
    df.loc[2, "question"] = "nope"
    df.loc[3, "made_at"] = "not a date"
    df.loc[4, "made_at"] = "2023-01-01"
    df.loc[5, "forecaster"] = "bad name"
    df.loc[6, "probability"] = 1.0
    df.loc[7, "source_id"] = "row0"
    before = snapshot(history)
    with pytest.raises(ImportRejected) as info:
        history.import_forecast_frame(df, source="import:test")
    lines = [line for line, _ in info.value.problems]
    assert lines == [3, 4, 5, 6, 7, 8, 9]
    reasons = " | ".join(why for _, why in info.value.problems)
    for word in ("outside [0, 1]", "unknown question", "not a date", "open period", "forecaster name", "certain", "twice"):
        assert word in reasons
    assert "\n" not in info.value.message and "7 malformed" in info.value.message
    assert snapshot(history) == before


def test_bulk_multiple_choice_and_sources(history):
    df = pd.DataFrame({"question": ["mc", "mc"], "forecaster": ["a", "b"],
                       "made_at": ["2020-02-01", "2020-02-02"],
                       "probabilities": [{"a": 0.5, "b": 0.3, "c": 0.2}, {"a": 0.5, "b": 0.6, "c": 0.2}]})
    with pytest.raises(ImportRejected, match="line 3: option probabilities sum"):
        history.import_forecast_frame(df, source="import:test")
    df = df.assign(probabilities=[{"a": 0.5, "b": 0.3, "c": 0.2}, {"a": 0.1, "b": 0.6, "c": 0.3}])
    assert history.import_forecast_frame(df, source="import:test")["added"] == 2
    assert history.forecasts()["probabilities"].iloc[1] == {"a": 0.1, "b": 0.6, "c": 0.3}
    for bad in ("cli", "import"):
        with pytest.raises(InvalidInput):
            history.import_forecast_frame(df, source=bad)
    with pytest.raises(InvalidInput, match="no 'made_at' column"):
        history.import_forecast_frame(df.drop(columns="made_at"), source="import:test")


values = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                   st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(values, values, st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))),
                min_size=1, max_size=6))
def test_vectorised_chain_equals_row_by_row(rows):
    prev, expected = integrity.GENESIS, []
    for a, b, t in rows:
        prev = integrity.row_hash(prev, "forecasts", {"a": a, "b": b, "t": t, "seq": 1})
        expected.append(prev)
    columns = {"a": [r[0] for r in rows], "b": [r[1] for r in rows], "seq": [1] * len(rows),
               "t": np.array([r[2] for r in rows], dtype="datetime64[us]")}
    assert integrity.chain_columns("forecasts", columns, integrity.GENESIS) == expected
