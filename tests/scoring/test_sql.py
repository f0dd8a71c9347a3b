"""Tests of forecasts/scoring/sql.py: what the SQL path covers, and each forecast's score in SQL
against :mod:`forecasts.scoring.rules` on both backends, certain forecasts included (the
tables themselves are compared with ``score_table`` in tests/runs/test_scores.py)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from forecasts.scoring import rules
from forecasts.scoring.sql import SQL_RULES, covers, score_query, value_sql

PROBABILITIES = ("0", "1e-300", "1e-160", "1e-100", "1e-60", "0.01", "0.3", "0.5", "0.77", "0.99", "1")


@pytest.mark.parametrize(("args", "covered"), [
    (("brier", "forecaster"), True), (("log", "tag", None, 2), True), (("spherical", "period"), True),
    (("baseline", "kind"), True), (("brier", "question", None, "e"), True),
    (("peer", "forecaster"), False), (("brier", "forecaster", "crowd:median"), False),
    (("brier", "forecaster", "import:metaculus"), False), (("log", "forecaster", None, 10), False),
    (("log", "forecaster", None, True), False), (("accuracy", "forecaster"), False), (("brier", "colour"), False),
    ((None, "forecaster"), False), (("brier", ["forecaster"]), False),
])
def test_covers(args, covered):
    assert covers(*args) is covered


def test_a_query_it_does_not_cover_is_a_programming_error():
    with pytest.raises(ValueError, match="does not compute rule 'peer'"):
        score_query("f", "q", "r", rule="peer", by="forecaster", epoch_us=str)


def _expected(rule: str, base: object, p: float, y: float) -> float:
    """The forecast's score as :mod:`forecasts.scoring.rules` (and timeavg's baseline) give it."""
    if rule == "brier":
        return float(rules.brier(p, y))
    if rule == "log":
        return float(rules.log_score(p, y, base=base))  # type: ignore[arg-type]
    if rule == "spherical":
        return float(rules.spherical(p, y))
    with np.errstate(divide="ignore"):
        return float(100.0 * np.log(2.0 * (p if y else 1.0 - p)) / np.log(2.0))


@pytest.mark.parametrize(("rule", "base"), [(r, "e") for r in SQL_RULES] + [("log", 2)])
def test_each_forecast_scores_as_the_rules_say(ledger, rule, base):
    """On the ledger's own database: p = 0 or 1 on the wrong side is inf (log) or -inf (baseline),
    written before any logarithm (PostgreSQL refuses ln(0)), never clipped; a probability so
    small that its square underflows does not stop PostgreSQL; elsewhere the very formulas of
    the rules, to 1e-15."""
    cases = list(itertools.product(PROBABILITIES, (0, 1)))
    values = ", ".join(f"('{p}', {y})" for p, y in cases)
    query = (f"SELECT p, y, {value_sql(rule)} AS s FROM ("
             "SELECT CAST(t AS DOUBLE PRECISION) AS p, CAST(y AS DOUBLE PRECISION) AS y, "
             "CASE WHEN y = 1 THEN CAST(t AS DOUBLE PRECISION) ELSE 1.0 - CAST(t AS DOUBLE PRECISION) END AS po "
             f"FROM (VALUES {values}) v(t, y)) c ORDER BY p, y")
    params = {"log_factor": 1.0 if base == "e" else 1.0 / math.log(2.0)} if rule == "log" else \
        {"ln_two": math.log(2.0)} if rule == "baseline" else {}
    rows = ledger.query(query, params=params)
    assert len(rows) == len(cases)
    for row in rows:
        expected = _expected(rule, base, row["p"], row["y"])
        if math.isinf(expected):
            assert row["s"] == expected, row
        else:
            assert row["s"] == pytest.approx(expected, rel=1e-15, abs=1e-15), row
    wrong = [r for r in rows if (r["p"], r["y"]) in ((0.0, 1.0), (1.0, 0.0))]
    if rule in ("log", "baseline"):
        assert [r["s"] for r in wrong] == [math.inf if rule == "log" else -math.inf] * 2
