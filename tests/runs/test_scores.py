"""Tests of forecasts/runs/scores.py: a ledger's score table computed by the database is the
straightforward path's table (``score_table`` on the frames), column for column, on random
ledgers built through the API on both backends; the choice of path; what ``forecasts score``
loads."""

from __future__ import annotations

import itertools
import math
import os
import shutil
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasts import domain
from forecasts.errors import InvalidDate, InvalidInput, UnknownForecaster
from forecasts.ledger import Ledger, rules
from forecasts.runs.scores import ledger_scores, scoring_frames
from forecasts.scoring import score_table, track_records
from tests.conftest import modules_loaded

GROUPINGS = ("forecaster", "question", "kind", "period", "tag")
#: Every rule the database computes, the log score in nats and in bits.
SQL_RULES = (("brier", "e"), ("log", "e"), ("log", 2), ("spherical", "e"), ("baseline", "e"))
EXAMPLES = 40 if os.environ.get("CI") == "true" else 12
START = datetime(2020, 1, 1)
_numbers = itertools.count(1)


@pytest.fixture
def fresh(team, tmp_path):
    """``fresh()``: a new empty ledger for each Hypothesis example, on this run's backend (a copy
    of one empty ledger file, or a database copied from an empty template database)."""
    if team is None:
        template = Ledger.open(tmp_path / "empty.duckdb", create=True).path

        def make() -> Ledger:
            path = tmp_path / f"example-{next(_numbers)}.duckdb"
            shutil.copyfile(template, path)
            return Ledger.open(path)

        return make
    from forecasts.ledger.postgres_storage import close_idle

    url = team.database()
    Ledger.open(url, create=True)
    close_idle(url)
    template = team.names[-1]

    def copy() -> Ledger:
        close_idle()  # the previous examples' connections
        return Ledger.open(team.database(template=template))

    return copy


def reference(ledger: Ledger, *, by: str, rule: str, as_of: object = None, log_base: object = "e",
              live_only: bool = False, backtests: bool = False, relative_to: str | None = None, frames=None):
    """The straightforward path, written out: the frames (read here unless given, as
    ``scoring_frames`` returns them), ``score_table`` and the track records, as rows of plain
    values (NaN as None), the excluded counts and the backtest rows left out."""
    frames, left_out = frames or scoring_frames(ledger, as_of, live_only=live_only, backtests=backtests)
    table = score_table(*frames, by=by, rule=rule, relative_to=relative_to, as_of=as_of,  # type: ignore[arg-type]
                        log_base=log_base)  # type: ignore[arg-type]
    flat = table.rename_axis(by).reset_index()
    if by == "forecaster":
        kinds = track_records(frames[0])
        flat.insert(1, "record", [kinds.get(n) for n in flat["forecaster"]])
    rows = [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
            for r in flat.to_dict(orient="records")]
    return rows, dict(table.attrs["excluded"]), left_out


def same_number(a: object, b: object) -> bool:
    """Equal, or floats equal to 1e-12 (relative for large ones); infinities equal exactly."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isinf(a) or math.isinf(b):
            return a == b
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b and type(a) is type(b)


def assert_same_table(got, expected) -> None:
    rows, excluded, left_out = expected
    assert got.excluded == excluded
    assert got.backtest_rows_left_out == left_out
    assert [r[got.by] for r in got.rows] == [r[got.by] for r in rows]
    for mine, theirs in zip(got.rows, rows, strict=True):
        assert list(mine) == list(theirs)
        bad = {k: (mine[k], theirs[k]) for k in mine if not same_number(mine[k], theirs[k])}
        assert not bad, (mine[got.by], bad)


# ---------------------------------------------------------------------- random ledgers
P = st.sampled_from([0.0, 0.01, 0.2, 0.35, 0.5, 0.77, 0.99, 1.0])
OUTCOME = st.sampled_from([None, "yes", "no", "ambiguous", "annulled"])
IMPORTED = ("ann", "bob", "import:crowd", "sheet:cy")  # ann and bob also forecast live


@st.composite
def histories(draw):
    """A plan of writes: imported questions (some tagged, some closes amended) with forecasts by
    several forecasters on a coarse grid (so several fall at one instant), model and backtest
    rows, resolutions and re-resolutions (some earlier than forecasts), and a live question with
    forecasts, corrections within the grace period, early and late retractions."""
    questions = []
    for i in range(draw(st.integers(1, 4))):
        opens = draw(st.integers(0, 10))
        length = draw(st.integers(2, 20))
        questions.append({"qid": f"q{i}", "title": f"Q{i}?", "opens": START + timedelta(days=opens),
                          "closes": START + timedelta(days=opens + length),
                          "tags": draw(st.lists(st.sampled_from(["arms", "russia", "trade"]), max_size=2))})
    forecasts, last = [], {}
    for _ in range(draw(st.integers(0, 14))):
        q = draw(st.sampled_from(questions))
        span = (q["closes"] - q["opens"]) // timedelta(hours=12)
        made = q["opens"] + timedelta(hours=12) * draw(st.integers(0, span))
        source = draw(st.sampled_from(["import:test", "import:test", "model:m", "backtest:m"]))
        who = {"model:m": "model:m", "backtest:m": "backtest:m"}.get(source) or draw(st.sampled_from(IMPORTED))
        forecasts.append({"question": q["qid"], "forecaster": who, "made_at": made, "probability": draw(P),
                          "allow_certainty": True, "source": source})
        last[q["qid"]] = max(last.get(q["qid"], made), made)
    amended, resolutions, again = {}, [], []
    for q in questions:
        first = last.get(q["qid"], q["opens"] + timedelta(hours=1))
        closes = first + timedelta(hours=draw(st.integers(0, 400)))
        if draw(st.booleans()) and closes != q["closes"]:  # a moved close, never before the last forecast
            amended[q["qid"]] = closes
        outcome = draw(OUTCOME)
        if outcome is not None:
            resolutions.append({"question": q["qid"], "outcome": outcome,
                                "on": first + timedelta(hours=draw(st.integers(0, 500)))})
            if draw(st.booleans()):  # re-resolved: the later resolution counts, perhaps dated earlier
                again.append((q["qid"], draw(OUTCOME.filter(bool)),
                              q["opens"] + timedelta(hours=draw(st.integers(1, 600)))))
    live = draw(st.lists(st.tuples(st.sampled_from(["ann", "bob", "cat"]), P.filter(lambda p: 0 < p < 1),
                                   st.sampled_from([None, "correct", "retract", "late retraction"])),
                         max_size=5))
    return {"questions": questions, "forecasts": forecasts, "amended": amended, "resolutions": resolutions,
            "again": again, "live": live, "live_outcome": draw(OUTCOME)}


def build(ledger: Ledger, plan: dict) -> list[datetime]:
    """Write ``plan`` through the API; the instants between its steps, to read as of."""
    moments = []
    ledger.import_history(questions=plan["questions"], source="import:test")
    for source in ("import:test", "model:m", "backtest:m"):
        rows = [{k: v for k, v in f.items() if k != "source"} | {"backtest": source == "backtest:m"}
                for f in plan["forecasts"] if f["source"] == source]
        if rows:
            ledger.import_history(forecasts=rows, source=source)
    moments.append(domain.now())
    for qid, closes in plan["amended"].items():
        ledger.amend_question(qid, closes=closes, why="moved")
    if plan["resolutions"]:
        ledger.import_history(resolutions=plan["resolutions"], source="import:test")
    moments.append(domain.now())
    for qid, outcome, on in plan["again"]:
        ledger.resolve(qid, outcome, on=on)
    if plan["live"]:
        ledger.add_question("live", title="Live?", closes="2300-01-01", tags="arms")
        for who, p, then in plan["live"]:
            row = ledger.log("live", p, by=who)
            if then == "correct":
                ledger.correct(row["seq"], round(1 - p, 2), by=who)
            elif then == "retract":
                ledger.retract(row["seq"], by=who)  # within the grace period: as if never made
            elif then == "late retraction":  # after it: ends the forecast from now on
                grace = rules.CORRECTION_GRACE
                rules.CORRECTION_GRACE = timedelta(0)
                try:
                    ledger.retract(row["seq"], by=who)
                finally:
                    rules.CORRECTION_GRACE = grace
            moments.append(domain.now())
        if plan["live_outcome"] is not None:
            ledger.resolve("live", plan["live_outcome"])
    moments.append(domain.now())
    return moments


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(plan=histories(), data=st.data())
def test_the_database_computes_the_tables_of_the_frames(fresh, plan, data):
    """Every rule and grouping the SQL path covers, as of random instants (before anything was
    recorded too), with and without backtests and imported history: the same table as
    ``score_table`` on the frames, every column to 1e-12, in the same order."""
    ledger = fresh()
    moments = build(ledger, plan)
    as_of = data.draw(st.sampled_from([None, START + timedelta(days=40), *moments]), label="as_of")
    live_only, backtests = data.draw(st.booleans(), label="live_only"), data.draw(st.booleans(), label="backtests")
    with ledger.storage.reading():  # one connection for all the reads of the example
        frames = scoring_frames(ledger, as_of, live_only=live_only, backtests=backtests)
        for (rule, base), by in itertools.product(SQL_RULES, GROUPINGS):
            got = ledger_scores(ledger, by=by, rule=rule, as_of=as_of, log_base=base, live_only=live_only,
                        backtests=backtests)
            assert got.computed_by == "sql"
            assert_same_table(got, reference(ledger, by=by, rule=rule, as_of=as_of, log_base=base, frames=frames))


# ---------------------------------------------------------------------- the choice of path
@pytest.fixture
def small(ledger):
    """Two imported binary questions and a multiple-choice one, unresolved; forecasts by a
    person, a crowd and a model, a certain-and-wrong one among them."""
    ledger.import_history(
        questions=[{"qid": "deal", "title": "Deal?", "opens": "2020-01-01", "closes": "2020-01-11", "tags": "trade"},
                   {"qid": "vote", "title": "Vote?", "opens": "2020-01-01", "closes": "2020-01-21"},
                   {"qid": "term", "title": "Term?", "opens": "2020-01-01", "closes": "2020-01-11",
                    "kind": "multiple_choice", "options": ["one", "two", "three"]}],
        forecasts=[{"question": "deal", "forecaster": "ann", "made_at": "2020-01-01", "probability": 0.7},
                   {"question": "deal", "forecaster": "ann", "made_at": "2020-01-06", "probability": 0.9},
                   {"question": "deal", "forecaster": "import:crowd", "made_at": "2020-01-06", "probability": 0.4},
                   {"question": "vote", "forecaster": "ann", "made_at": "2020-01-01", "probability": 0.0,
                    "allow_certainty": True},
                   {"question": "vote", "forecaster": "import:crowd", "made_at": "2020-01-11", "probability": 0.6},
                   {"question": "term", "forecaster": "ann", "made_at": "2020-01-02",
                    "options": {"one": 0.2, "two": 0.5, "three": 0.3}}],
        resolutions=[{"question": "deal", "outcome": "yes", "on": "2020-01-11"},
                     {"question": "vote", "outcome": "yes", "on": "2020-01-16"}], source="import:test")
    return ledger


def test_hand_computed_scores_and_certainty(small):
    """deal: ann 0.7 for 5 days then 0.9 for 5, Brier (0.09 + 0.01) / 2 = 0.05; the crowd 0.4
    for the last half, 0.36 at coverage 0.5.  vote (resolved yes on the 16th, before its close):
    ann's certain no holds all 15 days, Brier 1 and an infinite log score, flagged, never
    clipped (the baseline: -inf); the crowd's 0.6 the last 5, 0.16.  The multiple-choice
    question is unresolved, so it is only counted."""
    brier = {r["forecaster"]: r for r in ledger_scores(small, by="forecaster").rows}
    assert brier["import:crowd"]["score"] == pytest.approx((0.36 + 0.16) / 2)
    assert brier["ann"]["score"] == pytest.approx((0.05 + 1.0) / 2) and brier["ann"]["coverage"] == 1.0
    assert brier["ann"]["excluded_unresolved"] == 1 and brier["ann"]["record"] == "imported"
    by_question = {r["question"]: r for r in ledger_scores(small, by="question").rows}
    assert by_question["deal"]["score"] == pytest.approx((0.05 + 0.36) / 2)
    log = ledger_scores(small, rule="log", by="forecaster")
    assert log.computed_by == "sql"
    ann = next(r for r in log.rows if r["forecaster"] == "ann")
    assert ann["score"] == math.inf and ann["n_infinite"] == 1
    baseline = next(r for r in ledger_scores(small, rule="baseline").rows if r["forecaster"] == "ann")
    assert baseline["score"] == -math.inf and baseline["n_infinite"] == 1
    assert_same_table(log, reference(small, by="forecaster", rule="log"))


def test_a_multiple_choice_question_to_score_goes_to_the_frames(small):
    assert ledger_scores(small).computed_by == "sql"  # unresolved: only counted
    small.resolve("term", "two", on="2020-01-11")
    for by in GROUPINGS:
        got = ledger_scores(small, by=by)
        assert got.computed_by == "frames"
        assert_same_table(got, reference(small, by=by, rule="brier"))


@pytest.mark.parametrize("options", [{"rule": "peer"}, {"relative_to": "crowd:median"},
                                     {"relative_to": "import:crowd", "by": "question"}])
def test_what_the_query_does_not_compute_goes_to_the_frames(small, options):
    got = ledger_scores(small, **options)
    assert got.computed_by == "frames"
    assert_same_table(got, reference(small, **{"by": "forecaster", "rule": "brier"} | options))


@pytest.mark.parametrize(("options", "error"), [({"rule": "accuracy"}, InvalidInput), ({"by": "colour"}, InvalidInput),
                                                ({"log_base": 10, "rule": "log"}, InvalidInput),
                                                ({"relative_to": "nobody"}, UnknownForecaster),
                                                ({"as_of": "someday"}, InvalidDate)])
def test_bad_arguments_are_refused_in_the_librarys_words(small, options, error):
    with pytest.raises(error):
        ledger_scores(small, **options)


@pytest.mark.parametrize("by", ["tag", "forecaster"])
def test_the_frame_is_score_tables(small, by):
    import pandas as pd

    got = ledger_scores(small, by=by, rule="spherical").frame()
    frames, _ = scoring_frames(small)
    expected = score_table(*frames, by=by, rule="spherical")
    if by == "forecaster":
        expected.insert(0, "record", [track_records(frames[0])[n] for n in expected.index])
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=1e-12)
    assert got.attrs == expected.attrs


def test_an_empty_ledger(ledger):
    got = ledger_scores(ledger)
    assert got.computed_by == "sql" and got.rows == [] and got.backtest_rows_left_out == 0
    assert got.excluded == {"ambiguous": 0, "annulled": 0, "unresolved": 0, "unknown_question": 0}
    assert got.frame().empty


@pytest.mark.parametrize("args", [["score"], ["score", "--json", "--group-by", "tag"],
                                  ["score", "--rule", "log", "--bits", "--live-only"],
                                  ["score", "--rule", "baseline", "--backtests", "--group-by", "period"]])
def test_score_loads_neither_pandas_nor_numba(small, args):
    assert modules_loaded(args, ("pandas", "numpy", "numba", "pyarrow", "scipy")) == []
