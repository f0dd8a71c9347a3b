"""The report at scale gives exactly the numbers of the straightforward calls.

A synthetic track record of a few hundred forecasts (more questions than get a timeline, more
forecasters than get a diagram) goes into a real ledger through ``import_csv``; the report's
grouped one-pass paths (one calibration pass sliced by forecaster, one sort of the forecasts by
question for the timelines, grouped sharpness and question scores) must give the very numbers
of ``ScoreTable.from_frames`` / ``CalibrationResult.from_frames`` per forecaster and of the
scoring API per question, read back from the HTML's ``data-metric``/``data-value`` cells.
"""

from __future__ import annotations

import math
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from forecasts.ledger import Ledger
from forecasts.report import CalibrationResult, QuestionTimeline, ScoreTable, build_report
from forecasts.report.build import (
    DIAGRAMS,
    FEW_FORECASTERS,
    FEW_QUESTIONS,
    PER_RULE,
    _timeline_events,
    choose_timelines,
    latest_spread,
    sorted_slices,
)
from forecasts.scoring import Holdings, score_table, time_averaged
from forecasts.sources.generic import import_csv
from tests.report.conftest import Markup, numbers

N_QUESTIONS = 64
N_FORECASTERS = 20
CROWD = "crowd:median"


def _exactly(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _track_record(path, seed: int = 7) -> None:
    """64 questions (14 open, 4 ambiguous or annulled, the rest resolved past their close), 20
    imported persons and a crowd aggregate; a few hundred forecasts with revisions."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(N_QUESTIONS):
        qid = f"q{i:03d}"
        opens = pd.Timestamp("2021-01-01") + pd.Timedelta(days=int(rng.integers(0, 900)))
        if i < 14:  # open: closes in the future, no outcome
            closes = pd.Timestamp("2300-01-01") + pd.Timedelta(days=int(rng.integers(0, 400)))
            outcome, resolved = "", ""
            stop = opens + pd.Timedelta(days=200)
        else:
            closes = opens + pd.Timedelta(days=int(rng.integers(40, 300)))
            outcome = "ambiguous" if i in (20, 21) else "annulled" if i == 22 else (
                "yes" if rng.random() < 0.4 else "no")
            early = rng.random() < 0.2
            end = opens + (closes - opens) * (0.6 if early else 1.0)
            resolved = end.strftime("%Y-%m-%dT%H:%M:%S")
            stop = end
        who = rng.choice(N_FORECASTERS, size=int(rng.integers(2, 7)), replace=False)
        lean = 0.65 if outcome == "yes" else 0.35
        first = True
        for f in sorted(who):
            for _ in range(int(rng.integers(1, 4))):
                at = opens + (stop - opens) * float(rng.uniform(0.0, 0.95))
                p = float(np.clip(lean + rng.normal(0, 0.2), 0.01, 0.99))
                rows.append({"question": qid, "title": f"Synthetic question {i}" if first else "",
                             "opens": opens.strftime("%Y-%m-%d") if first else "",
                             "closes": closes.strftime("%Y-%m-%d") if first else "",
                             "outcome": outcome if first else "", "resolved_at": resolved if first else "",
                             "forecaster": f"p{f:02d}", "made_at": at.strftime("%Y-%m-%dT%H:%M:%S"),
                             "probability": f"{round(p, 2):.2f}"})
                first = False
        if i % 3 == 0:  # the crowd forecasts every third question
            at = opens + (stop - opens) * 0.5
            rows.append({"question": qid, "title": "", "opens": "", "closes": "", "outcome": "", "resolved_at": "",
                         "forecaster": "crowd", "made_at": at.strftime("%Y-%m-%dT%H:%M:%S"),
                         "probability": f"{0.5 + (0.1 if outcome == 'yes' else -0.1):.2f}"})
    pd.DataFrame(rows).to_csv(path, index=False)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A DuckDB ledger past both thresholds, and its report (built once: the tests only read)."""
    where = tmp_path_factory.mktemp("scale")
    sheet = where / "record.csv"
    _track_record(sheet)
    ledger = Ledger.open(where / "record.duckdb", create=True)
    import_csv(ledger, sheet, name="syn", forecasters={"crowd": CROWD})
    return ledger, build_report(ledger, where / "big.html")


def _frames(ledger):
    return ledger.forecasts(), ledger.questions(), ledger.resolutions()


class _QuestionCells(HTMLParser):
    """``{(question, metric): value}`` from the question index."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.row: str | None = None
        self.cells: dict[tuple[str, str], float] = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-question" in a:
            self.row = a["data-question"]
        if tag == "td" and "data-metric" in a and self.row is not None:
            self.cells[(self.row, a["data-metric"])] = float(a["data-value"])


def test_the_ledger_is_past_both_thresholds(big):
    ledger, _ = big
    f, q, _ = _frames(ledger)
    assert 200 <= len(f) <= 700
    assert len(q) > FEW_QUESTIONS and f["forecaster"].nunique() > FEW_FORECASTERS
    assert CROWD in set(f["forecaster"])


def test_scores_equal_the_score_table_of_everyone(big):
    ledger, report = big
    text = report.read_text(encoding="utf-8")
    f, q, r = _frames(ledger)
    expected = ScoreTable.from_frames(f, q, r).frame
    cells = numbers(text, "scores")
    assert {who for who, _ in cells} == set(expected.index)
    for who, row in expected.iterrows():
        for metric in ("n_questions", "n_forecasts", "coverage", "brier", "log", "baseline", "peer",
                       "vs_median", "vs_crowd"):
            assert _exactly(cells[(str(who), metric)], float(row[metric])), (who, metric)


def test_calibration_of_every_forecaster_equals_its_own_calibration_result(big):
    ledger, report = big
    text = report.read_text(encoding="utf-8")
    f, q, r = _frames(ledger)
    cells = numbers(text, "decomposition-all")
    seen = {who for who, _ in cells}
    expected = {}
    for who in sorted(f["forecaster"].unique()):
        res = CalibrationResult.from_frames(f, q, r, who)
        if not res.empty:
            expected[who] = res
    assert seen == set(expected) and len(seen) > FEW_FORECASTERS
    for who, res in expected.items():
        for metric in ("n_questions", "n_forecasts", "brier", "mcb", "dsc", "unc", "log", "log_mcb",
                       "log_dsc", "spiegelhalter_z", "spiegelhalter_p"):
            assert _exactly(cells[(who, metric)], float(res.summary[metric])), (who, metric)


def test_diagrams_are_bounded_pooled_by_kind_and_the_best_covered(big):
    ledger, report = big
    text = report.read_text(encoding="utf-8")
    page = Markup(text)
    f, q, r = _frames(ledger)
    drawn = [a["data-forecaster"] for t, a in page.tags if t == "div" and a.get("class") == "calibration"]
    persons = sorted(n for n in f["forecaster"].unique() if n != CROWD)
    pooled = f"persons, {len(persons)} pooled"
    assert drawn[0] == pooled and len(drawn) == 1 + DIAGRAMS  # the crowd is alone of its kind: no pool
    # the DIAGRAMS forecasters with the most resolved questions (ties: more forecasts, then name)
    results = [CalibrationResult.from_frames(f, q, r, n) for n in sorted(f["forecaster"].unique())]
    results = [c for c in results if not c.empty]
    best = sorted(results, key=lambda c: (-c.summary["n_questions"], -c.summary["n_forecasts"], c.label))
    assert drawn[1:] == [c.label for c in best[:DIAGRAMS]]
    # the pooled diagram's numbers are those of all the persons' cases together
    cells = {}
    for t, a in page.tags:
        if t == "td" and a.get("data-forecaster") == pooled:
            cells[a["data-metric"]] = float(a["data-value"])
    together = CalibrationResult.from_frames(f, q, r, persons)
    for metric in ("n_questions", "n_forecasts", "brier", "mcb", "dsc", "unc", "spiegelhalter_z"):
        assert math.isclose(cells[metric], float(together.summary[metric]), rel_tol=1e-12, abs_tol=1e-15), metric
    rule = next(a for t, a in page.tags if a.get("data-rule") == "diagrams")
    assert rule is not None and f"the {DIAGRAMS} forecasters with the most resolved questions" in text
    assert text.count("<svg") == len(drawn) + 1 + len(choose_timelines(q, f))  # + the sharpness histogram


def test_the_diagram_drawn_from_a_slice_is_the_forecasters_own(big):
    from forecasts.report.build import _calibrations

    ledger, _ = big
    f, q, r = _frames(ledger)
    names = sorted(f["forecaster"].unique())
    results, _, _ = _calibrations(Holdings(f, q, r), names)
    for res in results[:4]:
        own = CalibrationResult.from_frames(f, q, r, res.label)
        pd.testing.assert_frame_equal(res.cases, own.cases.reset_index(drop=True), check_exact=True)
        pd.testing.assert_frame_equal(res.curve, own.curve, check_exact=True)


def test_sharpness_of_every_forecaster(big):
    ledger, report = big
    cells = numbers(report.read_text(encoding="utf-8"), "sharpness")
    f = ledger.forecasts()
    for who in f["forecaster"].unique():
        p = f.loc[(f["forecaster"] == who) & f["probability"].notna(), "probability"].to_numpy(dtype=float)
        assert cells[(who, "n")] == len(p)
        assert _exactly(cells[(who, "sharpness")], float(np.mean(np.abs(p - 0.5)) * 2))
        assert _exactly(cells[(who, "extreme")], float(np.mean((p <= 0.1) | (p >= 0.9))))
        assert _exactly(cells[(who, "mean")], float(p.mean()))
    assert "pools the forecasts of each kind" in report.read_text(encoding="utf-8")


def test_the_index_has_every_question_with_its_scores(big):
    ledger, report = big
    text = report.read_text(encoding="utf-8")
    f, q, r = _frames(ledger)
    cells = _QuestionCells(text).cells
    rows = [a["data-question"] for t, a in Markup(text).tags if t == "tr" and "data-question" in a]
    assert rows == q["id"].tolist()
    by_question = score_table(f, q, r, by="question")["score"]
    pairs = time_averaged(f, q, r, "brier")
    for qid in q["id"]:
        mine = pairs[(pairs["question"] == qid) & (pairs["coverage"] > 0)]
        mean = float(by_question.get(qid, math.nan))
        assert _exactly(cells[(qid, "brier")], mean), qid
        assert _exactly(cells[(qid, "median_brier")], float(np.median(mine["score"])) if len(mine) else math.nan), qid
        crowd = mine.loc[mine["forecaster"] == CROWD, "score"]
        assert _exactly(cells[(qid, "crowd_brier")], float(crowd.iloc[0]) if len(crowd) else math.nan), qid
    resolved = q[q["outcome"].isin(["yes", "no"])]["id"]
    assert all(not math.isnan(cells[(qid, "brier")]) for qid in resolved)
    assert "<svg" not in text[text.index('<section id="questions">'):]


def test_timelines_are_the_questions_that_matter(big):
    ledger, report = big
    text = report.read_text(encoding="utf-8")
    page = Markup(text)
    f, q, _ = _frames(ledger)
    shown = [a["data-question"] for t, a in page.tags if t == "section" and "data-question" in a]
    assert len(shown) <= 4 * PER_RULE and len(shown) == len(set(shown)) < len(q)
    assert text.count('<p class="why">Shown because: ') == len(shown)
    # the rules, computed the straightforward way
    opened = q[q["status"] == "open"].sort_values(["closes_at", "id"])["id"].tolist()[:PER_RULE]
    resolved = q[q["status"] == "resolved"].sort_values(["resolved_at", "id"], ascending=[False, True])
    counts = {qid: int((f["question"] == qid).sum()) for qid in q["id"]}
    most = sorted(counts, key=lambda k: (-counts[k], k))[:PER_RULE]
    spread = {}
    for qid in q["id"]:
        mine = f[(f["question"] == qid) & f["probability"].notna()].sort_values(["made_at", "seq"])
        last = mine.groupby("forecaster")["probability"].last()
        if len(last) >= 2 and last.std(ddof=0) > 0:
            spread[qid] = float(last.std(ddof=0))
    disagree = sorted(spread, key=lambda k: (-spread[k], k))[:PER_RULE]
    expected = list(dict.fromkeys(opened + resolved["id"].tolist()[:PER_RULE] + most + disagree))
    assert shown == expected
    assert set(latest_spread(f)[lambda s: s > 0].index) == set(spread)
    for qid in shown:
        assert f'href="#q-{qid}"' in text  # the index links to it
    assert "open, closing soonest (#1" in text and "the forecasters disagree most (#1" in text


def test_timelines_from_sorted_slices_equal_the_straightforward_ones(big):
    ledger, _ = big
    f, q, _ = _frames(ledger)
    events, evidence = ledger.events(), ledger.evidence()
    ordered, at = sorted_slices(f, "question")
    rows = [q[q["id"] == qid].iloc[0].to_dict() for qid, _ in choose_timelines(q, f)]
    picked = _timeline_events(rows, events, evidence)
    for row in rows:
        lo, hi = at.get(row["id"], (0, 0))
        fast = QuestionTimeline(row, ordered.iloc[lo:hi], picked[row["id"]])
        slow = QuestionTimeline.from_frames(row, f, events, evidence)
        pd.testing.assert_frame_equal(fast.forecasts, slow.forecasts, check_exact=True)
        pd.testing.assert_frame_equal(fast.events, slow.events, check_exact=True)


def test_events_of_a_timeline_come_from_one_index(ledger, open_question):
    ledger.add_question("dry", title="Dry spell?", closes="2300-01-01", tags="weather,drought")
    ledger.add_question("other", title="Unrelated", closes="2300-01-01")
    ledger.log(open_question, "60%", by="ana")
    a = ledger.add_event("Storm front forms", on="2020-01-01", tags="weather")
    b = ledger.add_event("Reservoirs low", on="2020-01-02", tags="drought")
    c = ledger.add_event("Election called", on="2020-01-03")
    ledger.add_evidence("other", c["seq"], lr=2, by="ana")
    del a, b
    q, events, evidence = ledger.questions(), ledger.events(), ledger.evidence()
    rows = q.to_dict("records")
    picked = _timeline_events(rows, events, evidence)
    for row in rows:
        slow = QuestionTimeline.from_frames(row, ledger.forecasts(), events, evidence)
        fast = QuestionTimeline(row, ledger.forecasts(), picked[row["id"]])
        assert fast.events["title"].tolist() == slow.events["title"].tolist(), row["id"]
    assert picked["dry"]["title"].tolist() == ["Storm front forms", "Reservoirs low"]
    assert picked["other"]["title"].tolist() == ["Election called"]
