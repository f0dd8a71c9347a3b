"""A DuckDB ledger keeps the full hashes of a bulk append on a few rows (its first and last row
and every MARK_EVERY-th) and a 32-bit tag on every row: the chain is as strong (every row's
hash is computed from the one before it and checked at the next stored hash), every altered
row is still named, export still carries every row's hashes, and the file is a fraction of
the size (issue 10: disk)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasts.errors import IntegrityError
from forecasts.ledger import Ledger, integrity, store

pytestmark = pytest.mark.duckdb_only

N = 2 * integrity.MARK_EVERY + 500


@pytest.fixture
def bulk(ledger):
    """A ledger with one question, a bulk import of N forecasts, then a live forecast."""
    ledger.import_history(questions=[{"qid": "q1", "title": "One?", "opens": "2020-01-01", "closes": "2021-01-01"}],
                          source="import:test")
    ledger.import_forecast_frame(pd.DataFrame({
        "question": ["q1"] * N, "forecaster": [f"user{i % 7}" for i in range(N)],
        "made_at": pd.date_range("2020-01-02", periods=N, freq="min").strftime("%Y-%m-%dT%H:%M:%S"),
        "probability": np.linspace(0.01, 0.99, N), "source_id": [f"row{i}" for i in range(N)],
        "rationale": ["tab\there, unit\x1fseparator" if i == 7 else None for i in range(N)]}),
        source="import:test")
    ledger.add_question("live", title="Live?", closes="2300-01-01")
    ledger.log("live", 0.3, by="alice")
    return ledger


@pytest.fixture
def _sql(raw_sql):
    return raw_sql


def _forecast_seqs(ledger, sql):
    return [r[0] for r in sql(ledger, "SELECT seq FROM forecasts ORDER BY seq")]


def test_a_bulk_append_stores_full_hashes_on_its_marks_only(bulk, _sql):
    seqs = _forecast_seqs(bulk, _sql)
    first, last = seqs[0], seqs[-2]  # the last one is the live forecast
    stored = {r[0] for r in _sql(bulk, "SELECT seq FROM forecasts WHERE hash IS NOT NULL")}
    marks = {s for s in seqs[:-1] if s % integrity.MARK_EVERY == 0} | {first, last}
    assert stored == marks | {seqs[-1]}  # the live row stores its own
    assert _sql(bulk, "SELECT count(*) FROM forecasts WHERE tag IS NULL") == [(0,)]
    assert _sql(bulk, "SELECT count(*) FROM forecasts WHERE (prev_hash IS NULL) <> (hash IS NULL)") == [(0,)]


def _checked(monkeypatch, how: str) -> None:
    """Verify by walking the chain or in batches."""
    monkeypatch.setattr(store, "VECTORISED_VERIFY_FROM", 10**9 if how == "walk" else 0)


HOW = ["walk", "batches"]


@pytest.mark.parametrize("how", HOW)
def test_a_sparse_chain_verifies_as_the_walk_does(bulk, monkeypatch, how):
    _checked(monkeypatch, how)
    walked = integrity.verify_rows(bulk.storage.chain())
    result = bulk.verify()
    assert result.ok and walked.ok and (result.rows, result.head) == (walked.rows, walked.head)
    assert bulk.quick_check().ok


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize(("statement", "named"), [
    ("UPDATE forecasts SET probability = 0.5 WHERE seq = {s}", "does not match its hash: the row was altered"),
    ("UPDATE forecasts SET tag = tag + 1 WHERE seq = {s}", "does not match its hash: the row was altered"),
    ("UPDATE forecasts SET tag = NULL WHERE seq = {s}", "stores no hash"),
    ("DELETE FROM forecasts WHERE seq = {s}", "deleted or inserted"),
])
@pytest.mark.parametrize("half", ["older", "newer"])
def test_an_altered_row_between_marks_is_named(bulk, monkeypatch, how, statement, named, half, _sql):
    _checked(monkeypatch, how)
    target = [s for s in _forecast_seqs(bulk, _sql) if s % integrity.MARK_EVERY == 300][0 if half == "older" else -1]
    _sql(bulk, statement.format(s=target))
    result = bulk.verify()
    expected = target + 1 if statement.startswith("DELETE") else target
    assert not result.ok and result.seq == expected and named in result.problem
    assert (result.table, result.seq) == ("forecasts", expected)


def test_a_forged_appended_row_without_a_hash_is_named_and_the_head_still_computed(bulk, _sql):
    head = bulk.storage.head()
    cols = ["seq", "question", "forecaster", "made_at", "probability", "source", "backtest", "retracted",
            "recorded_at"]
    _sql(bulk, f"INSERT INTO forecasts ({', '.join(cols)}) VALUES (?, 'live', 'mallory', now()::TIMESTAMP, 0.9, "
               "'cli', false, false, now()::TIMESTAMP)", [head.next_seq])
    result = bulk.verify()
    assert not result.ok and result.seq == head.next_seq and "stores no hash" in result.problem
    assert not bulk.quick_check().ok
    assert bulk.storage.head().next_seq == head.next_seq + 1  # the forged row's own hash, computed
    with pytest.raises(IntegrityError):
        bulk.log("live", 0.4, by="alice")  # writes refuse a ledger that fails its check


def test_export_carries_every_rows_hashes_and_restores_to_the_same_head(bulk, tmp_path, _sql):
    files = bulk.export(tmp_path / "out", "parquet")
    exported = pd.read_parquet(files["forecasts"])
    assert exported["hash"].notna().all() and exported["prev_hash"].notna().all()
    chain = {values[0]: (values[-3], values[-2]) for table, _, values in bulk.storage.chain() if table == "forecasts"}
    walked = integrity.verify_rows(bulk.storage.chain())
    assert walked.ok
    restored = Ledger.open(tmp_path / "restored.duckdb", create=True)
    restored.restore(tmp_path / "out")
    assert restored.verify().head == bulk.verify().head
    # every exported hash is the chain's own: the stored ones, and the computed ones between
    stored = {s: h for s, (p, h) in chain.items() if h is not None}
    assert all(exported.set_index("seq").loc[s, "hash"] == h for s, h in stored.items())
    assert [integrity.tag_of(h) for h in exported["hash"]] == [r[0] for r in _sql(
        bulk, "SELECT tag FROM forecasts ORDER BY seq")]


def test_export_refuses_a_tampered_ledger(bulk, tmp_path, _sql):
    target = [s for s in _forecast_seqs(bulk, _sql) if s % integrity.MARK_EVERY == 5][0]
    _sql(bulk, "UPDATE forecasts SET probability = 0.5 WHERE seq = ?", [target])
    with pytest.raises(IntegrityError, match="does not verify; nothing exported"):
        bulk.export(tmp_path / "out", "csv")


def test_a_head_between_marks_anchors_verify(bulk, _sql):
    seqs = _forecast_seqs(bulk, _sql)
    middle = [s for s in seqs if s % integrity.MARK_EVERY == 100][0]
    rows = {v[0]: (t, c, v) for t, c, v in bulk.storage.chain()}
    walked_to = integrity.verify_rows(r for s, r in sorted(rows.items()) if s <= middle)
    assert _sql(bulk, "SELECT hash FROM forecasts WHERE seq = ?", [middle]) == [(None,)]
    anchored = bulk.verify(f"{middle}:{walked_to.head}")
    assert anchored.ok and anchored.anchored_at == middle and anchored.appended == anchored.rows - middle


def test_tags_are_the_first_32_bits_of_the_hash():
    import hashlib

    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(500)] + ["f" * 8 + "0" * 56, "0" * 64]
    assert integrity.hash_tags(hashes).tolist() == [integrity.tag_of(h) for h in hashes]
    assert integrity.tag_of("f" * 64) == 2**31 - 1 and integrity.tag_of("0" * 64) == -(2**31)
