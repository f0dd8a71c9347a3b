"""The vectorised chain check (issue 10: ``verify`` near its floor) agrees with the row-by-row
walk on every ledger, intact or tampered, on both backends; the walk runs only to name the
first bad row."""

from __future__ import annotations

import pytest

from forecasts.ledger import integrity
from forecasts.ledger.migrations import COLUMNS


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


def test_a_row_sql_cannot_write_exactly_is_checked_with_canonical(ledger, open_question, raw_sql, monkeypatch):
    """A text with a control character JSON writes as ``\\u00XX`` is not exact in SQL
    (DuckDB writes the hex in upper case): its row is hashed again with canonical(), and a row
    with a valid hash passes without the walk."""
    _rich(ledger)
    head = ledger.storage.head()
    row = {c: None for c in COLUMNS["forecasts"]} | {
        "seq": head.next_seq, "question": "rain", "forecaster": "alice", "made_at": ledger.storage.now(),
        "probability": 0.4, "rationale": "tab\there, unit\x1fseparator", "source": "cli", "backtest": False,
        "retracted": False, "recorded_at": ledger.storage.now()}
    row["hash"] = integrity.row_hash(head.hash, "forecasts", row)
    cols = [*COLUMNS["forecasts"], "prev_hash", "hash"]
    raw_sql(ledger, f"INSERT INTO forecasts ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [row.get(c, head.hash if c == "prev_hash" else None) for c in cols])
    calls = _walked(ledger, monkeypatch)
    result = ledger.verify()
    assert result.ok and result.head == row["hash"] and calls == []


@pytest.mark.parametrize("statement", [
    "UPDATE forecasts SET hash = 'abc' WHERE seq = (SELECT max(seq) FROM forecasts)",
    "UPDATE forecasts SET prev_hash = upper(prev_hash) WHERE seq = (SELECT max(seq) FROM forecasts)",
    "UPDATE events SET seq = (SELECT max(seq) FROM forecasts)",
])
def test_malformed_hashes_and_repeated_numbers_fall_to_the_walk(ledger, open_question, raw_sql, monkeypatch, statement):
    _rich(ledger)
    raw_sql(ledger, statement)
    expected = integrity.verify_rows(ledger.storage.chain())
    calls = _walked(ledger, monkeypatch)
    got = ledger.verify()
    assert not expected.ok and got == expected and calls == [1]


def test_check_batches_agrees_with_the_walk_on_any_split(ledger, open_question):
    """The rows cut into batches anywhere, tables in any order, full hashes stored on some rows
    only (tags on the others): the same rows and head as the walk, and a broken link or an
    altered row is found wherever it falls."""
    _rich(ledger)
    rows = list(ledger.storage.chain())
    walked = integrity.verify_rows(rows)
    by_table: dict[str, list] = {}
    for table, columns, values in rows:
        by_table.setdefault(table, []).append(dict(zip(columns, values, strict=True)))

    def batches(size: int, sparse: bool, broken: int | None = None, altered: int | None = None):
        for table in reversed(list(by_table)):
            table_rows = by_table[table]
            for start in range(0, len(table_rows), size):
                part = table_rows[start:start + size]
                # a row keeps its full hashes when a neighbour in seq order lies in another table
                seqs = {r["seq"] for r in table_rows}
                kept = [not sparse or r["seq"] - 1 not in seqs or r["seq"] + 1 not in seqs for r in part]
                at = [i for i, k in enumerate(kept) if k]
                yield integrity.ChainBatch(
                    table, [r["seq"] for r in part],
                    [integrity.canonical(table, {**r, "title": "x"} if r["seq"] == altered and "title" in r else r
                                         ).encode() for r in part],
                    at, [integrity.GENESIS if part[i]["seq"] == broken else part[i]["prev_hash"] for i in at],
                    [part[i]["hash"] for i in at],
                    [integrity.tag_of(r["hash"]) for r in part], [True] * len(part))

    question = next(r["seq"] for r in by_table["questions"])
    for size in (1, 2, 3, 100):
        for sparse in (False, True):
            assert integrity.check_batches(batches(size, sparse)) == (walked.rows, walked.head)
            assert integrity.check_batches(batches(size, sparse, broken=rows[-1][2][0])) is None
            assert integrity.check_batches(batches(size, sparse, altered=question)) is None


def test_canonical_sql_writes_what_canonical_writes():
    """Where canonical_sql says its text is exact, it is canonical()'s, byte for byte, for
    every table and every kind of value (random text with quotes, backslashes, every control
    character, non-ASCII; floats from random bits; times in years 1-9999; NULLs)."""
    import duckdb
    import pyarrow as pa
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from forecasts.ledger.migrations import SCHEMA

    arrow = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "TIMESTAMP": pa.timestamp("us"),
             "BIGINT": pa.int64(), "BOOLEAN": pa.bool_()}
    values = {"VARCHAR": st.text(st.characters(codec="utf-8"), max_size=12),
              "DOUBLE": st.floats(),
              "TIMESTAMP": st.datetimes(), "BIGINT": st.integers(-2**63, 2**63 - 1), "BOOLEAN": st.booleans()}
    con = duckdb.connect()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def check(data):
        for table in SCHEMA:
            kinds = {name: kind for name, kind, _, _ in SCHEMA[table]} | {"recorded_at": "TIMESTAMP"}
            rows = data.draw(st.lists(st.fixed_dictionaries(
                {c: st.none() | values[kinds[c]] for c in COLUMNS[table]}), min_size=1, max_size=5))
            frame = pa.table({c: pa.array([r[c] for r in rows], arrow[kinds[c]]) for c in COLUMNS[table]})
            con.register("incoming", frame)
            got = con.execute(integrity.canonical_sql(table, "incoming")).fetchall()
            con.unregister("incoming")
            for row, (seq, sql_text, is_exact) in zip(rows, got, strict=True):
                assert seq == row["seq"]
                if is_exact:
                    assert sql_text.decode() == integrity.canonical(table, row)

    check()


def test_verify_of_a_large_ledger_loads_no_pandas(tmp_path):
    """``verify`` reads its Arrow batches from their buffers (``storage.arrow_numpy``):
    pyarrow's ``to_numpy`` would import pandas, 0.4 s of a 1M-row verify."""
    import subprocess
    import sys

    from forecasts.ledger.store import Ledger

    db = tmp_path / "big.duckdb"
    ledger = Ledger.open(db, create=True)
    ledger.import_history(
        questions=[{"qid": "q", "title": "Q?", "opens": "2019-01-01", "closes": "2019-06-01"}],
        forecasts=[{"question": "q", "forecaster": "import:x", "made_at": f"2019-02-01 00:{i // 60:02d}:{i % 60:02d}",
                    "probability": 0.5} for i in range(3000)],
        resolutions=[{"question": "q", "outcome": "no", "on": "2019-05-01"}], source="import:x")
    code = ("import sys; from forecasts.ledger import store; store.VECTORISED_VERIFY_FROM = 0; "
            f"r = store.Ledger.open({str(db)!r}).verify(); assert r.ok and r.rows > 3000, r; "
            "print(sorted(m for m in ('pandas',) if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
