"""Random input thrown at the parsers and the Python API: either a clean ForecastsError or a
correct row, never a traceback, never a partial write."""

from __future__ import annotations

import functools
import math
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasts.errors import ForecastsError
from forecasts.ledger import Ledger

junk = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=25),
    st.sampled_from(["rain", "65%", "13:7", "0.5", "2020-12-17", "2300-01-01", "yes", "no",
                     "ambiguous", "1", "0", "weak for yes", "a,b", "036", "https://x.org"]),
)
_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def _template() -> Path:
    ledger = Ledger.open(Path(tempfile.mkdtemp()) / "h.duckdb", create=True)
    ledger.add_question("rain", title="Rain?", closes="2300-01-01")
    ledger.add_event("Storm", on="2020-01-01")
    return ledger.path


def _fresh() -> Ledger:
    """A ledger of its own for each example: a copy of one small ledger file."""
    path = Path(tempfile.mkdtemp()) / "h.duckdb"
    shutil.copyfile(_template(), path)
    return Ledger(path)


def _state(ledger: Ledger):
    result = ledger.verify()
    assert result.ok, result.problem
    return ledger.counts(), result.head


def _call(ledger, method, table, kwargs):
    before = _state(ledger)
    try:
        row = getattr(ledger, method)(**kwargs)
    except ForecastsError as exc:
        assert exc.message and "\n" not in exc.message
        assert _state(ledger) == before, "a refused call changed the ledger"
        return None
    counts, _ = _state(ledger)
    assert counts[table] == before[0][table] + 1 and sum(counts.values()) == sum(before[0].values()) + 1
    return row


@_settings
@given(question=junk, probability=junk, by=junk, why=junk, made_at=junk, certain=st.booleans())
def test_log(question, probability, by, why, made_at, certain):
    ledger = _fresh()
    row = _call(ledger, "log", "forecasts", dict(question=question, probability=probability, by=by,
                                                 why=why, made_at=made_at, allow_certainty=certain))
    if row is not None:
        p = row["probability"]
        assert 0.0 <= p <= 1.0 and math.isfinite(p) and (certain or 0.0 < p < 1.0)
        stored = ledger.forecasts()
        assert stored["probability"].iloc[-1] == p and stored["question"].iloc[-1] == "rain"


@_settings
@given(qid=junk, title=junk, closes=junk, opens=junk, tags=junk, kind=junk, options=junk, base_rate=junk)
def test_add_question(qid, title, closes, opens, tags, kind, options, base_rate):
    ledger = _fresh()
    row = _call(ledger, "add_question", "questions", dict(qid=qid, title=title, closes=closes, opens=opens,
                                                          tags=tags, kind=kind, options=options,
                                                          base_rate=base_rate))
    if row is not None:
        assert row["closes_at"] > row["opens_at"]
        assert ledger.questions()["id"].tolist().count(row["id"]) == 1


@_settings
@given(title=junk, on=junk, cameo=junk, goldstein=junk, source_url=junk, tags=junk)
def test_add_event(title, on, cameo, goldstein, source_url, tags):
    ledger = _fresh()
    row = _call(ledger, "add_event", "events", dict(title=title, on=on, cameo=cameo, goldstein=goldstein,
                                                    source_url=source_url, tags=tags))
    if row is not None and row["goldstein"] is not None:
        assert -10 <= row["goldstein"] <= 10


@_settings
@given(question=junk, event=junk, lr=junk, strength=junk, weight=junk)
def test_add_evidence(question, event, lr, strength, weight):
    ledger = _fresh()
    row = _call(ledger, "add_evidence", "evidence", dict(question=question, event=event, lr=lr,
                                                         strength=strength, weight=weight))
    if row is not None:
        assert row["lr"] > 0 and 0 < row["weight"] <= 1


@_settings
@given(question=junk, outcome=junk, on=junk, note=junk)
def test_resolve(question, outcome, on, note):
    ledger = _fresh()
    row = _call(ledger, "resolve", "resolutions", dict(question=question, outcome=outcome, on=on, note=note))
    if row is not None:
        assert row["outcome"] in ("yes", "no", "ambiguous", "annulled")
        assert ledger.resolutions()["outcome"].tolist() == [row["outcome"]]
