"""The vectorised chain check (issue 10: ``verify`` near its floor) agrees with the row-by-row
walk on every ledger, intact or tampered, on both backends; the walk runs only to name the
first bad row."""

from __future__ import annotations

import pytest

from forecasts.ledger import integrity


def _rich(ledger):
    """Every table and every kind of value: NULLs, corrections, a retraction, JSON columns,
    multiple choice, evidence, a re-resolution."""
    ledger.add_question("mc", title="Which?", closes="2300-01-01", kind="multiple_choice", options=["a", "b", "c"],
                        tags="x,y", base_rate=None, criteria="per the 100% rule")
    a = ledger.log("mc", options={"a": 0.5, "b": 0.3, "c": 0.2}, by="alice", why="=1+1 %s %% {}")
    ledger.correct(a["seq"], options={"a": 0.6, "b": 0.2, "c": 0.2}, by="alice")
    b = ledger.log("rain", 0.25, by="bob")
    ledger.retract(b["seq"], by="bob")
    ledger.log("rain", 1e-9 + 0.5, by="carol", why="é 中文 \"quoted\"")
    ev = ledger.add_event("Talks", on="2020-03-01", tags="diplomacy", cameo="036", goldstein=4.0)
    ledger.add_evidence("rain", ev["seq"], lr=2.5, by="alice", note=None)
    ledger.import_history(questions=[{"qid": "past", "title": "Past?", "opens": "2019-01-01", "closes": "2019-06-01"}],
                          forecasts=[{"question": "past", "forecaster": "import:x", "made_at": "2019-02-01",
                                      "probability": 0.0, "allow_certainty": True}],
                          resolutions=[{"question": "past", "outcome": "no", "on": "2019-05-01"}], source="import:x")


@pytest.fixture(autouse=True)
def _vectorised_from_the_first_row(monkeypatch):
    """These ledgers are small: check them the way a large one is checked."""
    from forecasts.ledger import store

    monkeypatch.setattr(store, "VECTORISED_VERIFY_FROM", 0)


def _walked(ledger, monkeypatch) -> list[int]:
    calls: list[int] = []
    real = integrity.verify_rows

    def counted(rows):
        calls.append(1)
        return real(rows)

    monkeypatch.setattr(integrity, "verify_rows", counted)
    return calls


def test_an_intact_ledger_is_verified_without_the_walk(ledger, open_question, monkeypatch):
    _rich(ledger)
    slow = integrity.verify_rows(ledger.storage.chain())
    calls = _walked(ledger, monkeypatch)
    fast = ledger.verify()
    assert fast.ok and slow.ok and (fast.rows, fast.head) == (slow.rows, slow.head)
    assert calls == []  # every value type hashed column-wise exactly as row_hash does


@pytest.mark.parametrize(("table", "column", "value"), [
    ("forecasts", "probability", 0.26), ("forecasts", "rationale", "changed"), ("questions", "title", "Other?"),
    ("events", "goldstein", None), ("resolutions", "outcome", "yes"), ("evidence", "lr", 3.0),
    ("forecasts", "prev_hash", integrity.GENESIS)])
def test_a_tampered_ledger_gets_the_walks_own_message(ledger, open_question, raw_sql, monkeypatch, table, column, value):
    _rich(ledger)
    seq = raw_sql(ledger, f"SELECT max(seq) FROM {table}")[0][0]
    raw_sql(ledger, f"UPDATE {table} SET {column} = ? WHERE seq = ?", [value, seq])
    expected = integrity.verify_rows(ledger.storage.chain())
    calls = _walked(ledger, monkeypatch)
    got = ledger.verify()
    assert not expected.ok and got == expected and calls == [1]


def test_a_deleted_row_is_found_by_the_links(ledger, open_question, raw_sql):
    _rich(ledger)
    raw_sql(ledger, "DELETE FROM events")
    result = ledger.verify()
    assert not result.ok and "deleted or inserted" in result.problem
