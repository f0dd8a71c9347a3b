"""Models as forecasters against real DuckDB ledgers: no lookahead (as a property, live and
replayed), live updates, the prior rule and the learned models' refusal to look ahead."""

from __future__ import annotations

import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasts import domain
from forecasts.errors import InvalidInput, UnknownQuestion
from forecasts.ledger import Ledger
from forecasts.models.prior import choose_prior
from forecasts.runs import live
from forecasts.runs.backtest import backtest

PEOPLE = ["ana", "bob", "cyd", "import:crowd"]
CLOSED_AND_POOLED = ("evidence", "hazard", "aggregate", "recalibrated")


def _random_rows(rng: random.Random, lo: datetime, hi: datetime, questions: list[str], n: int,
                 event_ids: list[int]) -> dict:
    """Forecasts, events and evidence with world times in [lo, hi]."""
    span = (hi - lo).total_seconds()

    def when():
        return lo + timedelta(seconds=rng.uniform(0, span))

    forecasts = [{"question": rng.choice(questions), "forecaster": rng.choice(PEOPLE),
                  "made_at": max(when(), datetime(2020, 1, 1)),
                  "probability": round(rng.uniform(0.02, 0.98), 3)} for _ in range(n)]
    events = [{"title": f"event {i}", "on": when(), "cameo": rng.choice([None, "036", "111", "0312", "057"])}
              for i in range(rng.randint(0, 3))]
    evidence = [{"question": rng.choice(questions), "event_index": i, "by": rng.choice(PEOPLE[:3]),
                 "lr": round(rng.uniform(0.2, 5), 3), "weight": rng.choice([1.0, 0.5])} for i in range(len(events))]
    evidence += [{"question": rng.choice(questions), "event": e, "by": rng.choice(PEOPLE[:3]),
                  "lr": round(rng.uniform(0.2, 5), 3)} for e in rng.sample(event_ids, min(len(event_ids), 2))]
    return {"forecasts": forecasts, "events": events, "evidence": evidence}


def _ledger_with_history(folder: Path, rng: random.Random) -> tuple[Ledger, list[str]]:
    ledger = Ledger.open(folder / "l.duckdb", create=True)
    qs = [{"qid": "q-a", "title": "A?", "opens": "2020-01-01", "closes": "2300-01-01",
           "base_rate": rng.choice([None, 0.2])},
          {"qid": "q-b", "title": "B?", "opens": "2020-01-01", "closes": "2300-01-01"},
          {"qid": "q-old", "title": "Old?", "opens": "2019-01-01", "closes": "2020-06-01"}]
    ledger.import_history(questions=qs, events=[{"title": "base event", "on": "2020-02-01", "cameo": "036"}],
                          source="import:test")
    ledger.import_history(**_random_rows(rng, datetime(2020, 1, 1), datetime(2021, 1, 1), ["q-a", "q-b"], 8, []),
                          source="import:test")
    ledger.import_history(forecasts=[{"question": "q-old", "forecaster": p, "made_at": "2019-06-01",
                                      "probability": 0.7} for p in PEOPLE[:3]],
                          resolutions=[{"question": "q-old", "outcome": rng.choice(["yes", "no"]), "on": "2020-05-01"}],
                          source="import:test")
    return ledger, ["q-a", "q-b"]


def _snapshot(ledger, qids, as_of, clock):
    return {(q, m): [(r["forecaster"], r["probability"], r["params"]) for r in
                     live.forecast(ledger, q, m, as_of, clock=clock)["rows"]]
            for q in qids for m in CLOSED_AND_POOLED}


def _event_ids(ledger) -> list[int]:
    return [e["seq"] for e in ledger.records("events", clock="world")]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_no_lookahead_ledger_clock(seed):
    """Anything recorded after t (forecasts, events, evidence, corrections, retractions,
    resolutions, model rows) never changes a model's forecast as of t."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        ledger, qids = _ledger_with_history(Path(tmp), rng)
        t = domain.now()
        before = _snapshot(ledger, qids, t, "both")
        time.sleep(0.002)
        ledger.import_history(**_random_rows(rng, datetime(2019, 6, 1), domain.now(), qids, 6, _event_ids(ledger)),
                              source="import:later")
        row = ledger.log(rng.choice(qids), rng.uniform(0.05, 0.95), by="ana")
        if rng.random() < 0.5:
            ledger.correct(row["seq"], 0.5, by="ana")
        else:
            ledger.retract(row["seq"], by="ana")
        ledger.add_evidence(rng.choice(qids), rng.choice(_event_ids(ledger)), lr=rng.uniform(0.1, 10), by="bob")
        live.update_all(ledger, "evidence")
        ledger.resolve(rng.choice(qids), rng.choice(["yes", "no"]), on="2020-06-01")
        assert _snapshot(ledger, qids, t, "both") == before


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), cut_days=st.integers(30, 330))
def test_no_lookahead_world_clock(seed, cut_days):
    """Replaying history (backtests): rows dated after t in the world, whenever recorded, and
    live assessments recorded after t, whatever event they assess, never change a model's
    forecast as of t."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        ledger, qids = _ledger_with_history(Path(tmp), rng)
        t = datetime(2020, 1, 1) + timedelta(days=cut_days)
        before = _snapshot(ledger, qids, t, "world")
        after = t + timedelta(seconds=1)
        # A live assessment, recorded now, of an event dated before t: made after t, so unseen at t.
        # (An imported assessment is dated by its source, that is by its event: see forecasts/ledger/sql.py.)
        early = [e["seq"] for e in ledger.records("events", clock="world") if e["occurred_at"] <= t]
        if early:
            ledger.add_evidence(rng.choice(qids), rng.choice(early), lr=rng.uniform(0.1, 10), by="bob")
        ledger.import_history(**_random_rows(rng, after, datetime(2022, 1, 1), qids, 6, []),
                              source="import:later")
        ledger.import_history(resolutions=[{"question": rng.choice(qids), "outcome": "yes", "on": after}],
                              source="import:later")
        backtest(ledger, qids[0], "hazard", start=after, every="30d")
        assert _snapshot(ledger, qids, t, "world") == before


def test_prior_rule(ledger):
    ledger.import_history(questions=[{"qid": "q", "title": "Q?", "opens": "2020-01-01", "closes": "2300-01-01"}],
                          events=[{"title": "e", "on": "2020-01-05"}], source="import:test")
    eid = _event_ids(ledger)[0]
    q = live.read_question(ledger, "q", domain.now(), "both")
    assert q["question"] is not None
    assert choose_prior(q["question"], [], [])["p"] == 0.5
    ledger.import_history(forecasts=[{"question": "q", "forecaster": "model:evidence", "made_at": "2020-01-02",
                                      "probability": 0.9}], source="model:evidence")
    ledger.import_history(forecasts=[{"question": "q", "forecaster": "bob", "made_at": "2020-01-03", "probability": 0.3},
                                     {"question": "q", "forecaster": "ana", "made_at": "2020-01-10", "probability": 0.6}],
                          evidence=[{"question": "q", "event": eid, "by": "ana", "lr": 4.0}], source="import:test")
    out = live.forecast(ledger, "q", "evidence", clock="both")
    # ana assessed the evidence, so her first forecast is the prior; the event predates it
    assert out["rows"][0]["probability"] == pytest.approx(0.6)
    assert "ana's first forecast" in out["explanation"][0]
    # without ana's forecast (as of before it, world clock), bob's is the prior and the event counts
    early = live.forecast(ledger, "q", "evidence", "2020-01-06", clock="world")
    assert early["rows"][0]["probability"] == pytest.approx(0.3 * 4 / (0.3 * 4 + 0.7))


def test_base_rate_prior_counts_every_event(ledger):
    ledger.import_history(questions=[{"qid": "q", "title": "Q?", "opens": "2020-01-01", "closes": "2021-01-01",
                                      "base_rate": 0.25, "reference_class": "treaties"}],
                          events=[{"title": "e", "on": "2019-12-01"}], source="import:test")
    ledger.import_history(evidence=[{"question": "q", "event": _event_ids(ledger)[0], "by": "ana", "lr": 3.0}],
                          source="import:test")
    out = live.forecast(ledger, "q", "evidence", "2020-02-01", clock="world")
    assert out["rows"][0]["probability"] == pytest.approx(0.5)
    assert "base rate (treaties)" in out["explanation"][0]


def test_update_writes_a_model_row(ledger, open_question):
    ledger.log(open_question, 0.4, by="ana")
    e = ledger.add_event("Clouds gather", on=domain.now())
    ledger.add_evidence(open_question, e["seq"], strength="moderate for yes", by="ana")
    out = live.update(ledger, open_question, "evidence")
    assert out["rows"][0]["probability"] == pytest.approx(2 / 3)
    model = [r for r in ledger.records("forecasts") if r["forecaster"] == "model:evidence"]
    assert len(model) == 1
    m = model[0]
    assert m["source"] == "model:evidence" and not m["backtest"]
    assert m["model_version"] == "evidence-1"
    assert m["params"]["prior"] == 0.4 and m["params"]["events"] == [[e["seq"], pytest.approx(1.0986123)]]
    assert ledger.verify().ok


def test_update_refuses_unknown_and_skips_resolved(ledger, open_question):
    with pytest.raises(UnknownQuestion):
        live.update(ledger, "nope")
    with pytest.raises(InvalidInput):
        live.update(ledger, open_question, "bayes")
    ledger.resolve(open_question, "yes")
    out = live.update(ledger, open_question, "hazard")
    assert out["rows"] == [] and out["skipped"].startswith("resolved")


def test_update_all_covers_open_questions_in_one_go(ledger, open_question, snapshot):
    ledger.add_question("snow", title="Snow?", closes="2300-01-01")
    ledger.add_question("hail", title="Hail?", closes="2300-01-01")
    ledger.resolve("hail", "no")
    out = live.update_all(ledger, "hazard")
    assert sorted(r["question"] for r in out["rows"]) == ["rain", "snow"]
    before = snapshot(ledger)
    assert before[0]["forecasts"] == 2


def test_learned_effects_from_the_future_are_refused(ledger, tmp_path):
    summary = {"version": "x", "trained_through": "2021-01-01T00:00:00", "draws": {}, "types": [], "quads": []}
    ledger.import_history(questions=[{"qid": "q", "title": "Q?", "opens": "2020-01-01", "closes": "2300-01-01"}],
                          source="import:test")
    with pytest.raises(InvalidInput, match="look ahead"):
        live.forecast(ledger, "q", "learned", "2020-06-01", clock="world", summary=summary)


def test_learned_effects_feed_the_hazard_model(ledger):
    """Model 3's learned LRs as hazard multipliers (model 2): the learned effect, not the
    analyst's LR, moves the deadline probability, with a posterior interval."""
    import numpy as np

    from forecasts.models import hazard

    rng = np.random.default_rng(0)
    n = 400
    summary = {"version": "t", "types": ["03"], "quads": ["1"], "type_quad": [0],
               "draws": {"alpha": np.zeros(n).tolist(), "gamma": np.zeros(n).tolist(),
                         "tau": np.full(n, 0.1).tolist(), "mu": rng.normal(0.5, 0.01, (n, 1)).tolist(),
                         "beta": rng.normal(1.0, 0.2, (n, 1)).tolist()},
               "trained_through": "2020-01-01T00:00:00", "diagnostics": {"converged": True}}
    ledger.import_history(
        questions=[{"qid": "q", "title": "Before 2021?", "opens": "2020-01-01", "closes": "2021-01-01"}],
        events=[{"title": "Offer to extend", "on": "2020-06-01", "cameo": "0312"}],
        forecasts=[{"question": "q", "forecaster": "ana", "made_at": "2020-01-02", "probability": 0.3}],
        evidence=[{"question": "q", "event_index": 0, "by": "ana", "lr": 1.5}], source="import:test")
    at = datetime(2020, 7, 1)
    out = live.forecast(ledger, "q", "learned-hazard", at, clock="world", summary=summary)
    row = out["rows"][0]
    assert row["forecaster"] == "model:learned-hazard" and row["model_version"].startswith(hazard.VERSION)
    lo, hi = row["params"]["interval90"]
    assert lo < row["probability"] < hi
    # the same hazard model with the learned LR e^1 in place of the analyst's 1.5
    direct = hazard.update(0.3, datetime(2020, 1, 2), datetime(2021, 1, 1), at,
                           [{"event": 1, "lr": float(np.e), "occurred_at": datetime(2020, 6, 1)}]).probability
    analyst = live.forecast(ledger, "q", "hazard", at, clock="world")["rows"][0]["probability"]
    assert row["probability"] == pytest.approx(direct, abs=0.01)
    assert row["probability"] > analyst  # the learned effect (e^1 = 2.7) is stronger than LR 1.5
    assert any("hazard multipliers" in line for line in out["explanation"])
    with pytest.raises(InvalidInput, match="look ahead"):
        live.forecast(ledger, "q", "learned-hazard", at, clock="world",
                     summary={**summary, "trained_through": "2020-08-01T00:00:00"})


def test_imported_records_neither_set_the_prior_nor_enter_the_pool(ledger):
    """An imported record (a platform's community prediction) is not an analyst: the models'
    prior and the crowd aggregates use persons only (forecasts.domain.is_person)."""
    ledger.import_history(questions=[{"qid": "q", "title": "Q?", "opens": "2020-01-01", "closes": "2300-01-01"}],
                          forecasts=[{"question": "q", "forecaster": "import:metaculus", "made_at": "2020-01-02",
                                      "probability": 0.9},
                                     {"question": "q", "forecaster": "ana", "made_at": "2020-01-05", "probability": 0.3}],
                          source="import:test")
    ev = live.forecast(ledger, "q", "evidence", "2020-02-01", clock="world")
    assert ev["rows"][0]["probability"] == pytest.approx(0.3) and "ana's first forecast" in ev["explanation"][0]
    pooled = live.forecast(ledger, "q", "aggregate", "2020-02-01", clock="world", method="mean")
    assert pooled["rows"][0]["probability"] == pytest.approx(0.3)
    assert pooled["rows"][0]["params"]["forecasters"] == ["ana"]


def test_update_all_reads_once_and_equals_update_question_by_question(tmp_path, monkeypatch):
    """The fast path (one read, one fit shared by every question) gives each open question
    exactly what the straightforward path (read and fit per question) gives it."""
    rng = random.Random(7)
    ledger, open_ids = _ledger_with_history(tmp_path, rng)
    resolved = [{"qid": f"past-{i}", "title": f"Past {i}?", "opens": "2019-01-01", "closes": "2019-12-01"}
                for i in range(7)]
    forecasts = [{"question": q["qid"], "forecaster": who, "made_at": f"2019-0{m}-15",
                  "probability": round(rng.uniform(0.05, 0.95), 2)}
                 for q in resolved for who in PEOPLE for m in (2, 5, 8)]
    ledger.import_history(questions=resolved, forecasts=forecasts, source="import:test",
                          resolutions=[{"question": q["qid"], "outcome": rng.choice(["yes", "no"]), "on": "2019-11-01"}
                                       for q in resolved])
    ledger.import_history(questions=[{"qid": "q-c", "title": "C?", "opens": "2020-01-01", "closes": "2300-01-01"}],
                          forecasts=[{"question": "q-c", "forecaster": p, "made_at": "2020-03-01", "probability": 0.4}
                                     for p in PEOPLE[:3]], source="import:test")
    open_ids = [*open_ids, "q-c"]
    reads = []
    real = ledger.storage.records

    def counted(*args, **kwargs):
        reads.append(args[0])
        return real(*args, **kwargs)

    for model in CLOSED_AND_POOLED:
        t = domain.now()
        monkeypatch.setattr(domain, "now", lambda t=t: t)  # both paths forecast at the same moment
        alone = {q: [(r["forecaster"], r["probability"], r["params"]) for r in live.forecast(ledger, q, model, t)["rows"]]
                 for q in open_ids}
        ledger.storage.records = counted  # type: ignore[method-assign]  # counts the real reads
        reads.clear()
        out = live.update_all(ledger, model)
        ledger.storage.records = real  # type: ignore[method-assign]
        together: dict[str, list] = {q: [] for q in open_ids}
        for r in out["rows"]:
            together[r["question"]].append((r["forecaster"], r["probability"], r["params"]))
        assert together == alone, model
        assert len(reads) == 1, (model, reads)  # one read of the ledger, whatever the questions
        monkeypatch.undo()
    assert any(r["forecaster"].startswith("model:recalibrated:") for r in out["rows"])


def test_a_backtest_does_not_see_an_assessment_made_after_its_dates(ledger):
    ledger.import_history(questions=[{"qid": "talks", "title": "Talks?", "opens": "2025-08-01", "closes": "2300-01-01"}],
                          events=[{"title": "Summit", "on": "2025-08-08"}],
                          forecasts=[{"question": "talks", "forecaster": "ana", "made_at": "2025-08-02",
                                      "probability": 0.4}], source="import:test")
    summit = _event_ids(ledger)[0]
    window = {"start": "2025-08-01", "end": "2025-09-01", "every": "1w", "write": False}

    def replayed() -> dict:
        return {r["made_at"]: r["probability"] for r in backtest(ledger, "talks", "evidence", **window)["rows"]}

    before = replayed()
    assert before[datetime(2025, 8, 15)] == pytest.approx(0.4)  # ana's forecast, the event unassessed
    ledger.add_evidence("talks", summit, lr=30, by="ana")  # recorded today, about an event of 2025-08-08
    assert replayed() == before  # no hindsight in 2025
    now = live.forecast(ledger, "talks", "evidence")["rows"][0]["probability"]
    assert now == pytest.approx(0.4 * 30 / (0.4 * 30 + 0.6))  # live, today, it counts
    assessed = ledger.records("evidence")[0]
    assert assessed["assessed_at"] == assessed["recorded_at"]
