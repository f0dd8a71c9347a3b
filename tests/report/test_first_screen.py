"""The report's first screen (open questions, each analyst, the team, the model, what moved,
what closes soon), rankings only on enough questions, and small samples flagged."""

from __future__ import annotations

import math
import re
import statistics
from datetime import timedelta

import pytest

from forecasts import domain
from forecasts.report import ScoreTable, build_report
from forecasts.report.results import FEW_FOR_CALIBRATION, MIN_RANKED
from tests.report.conftest import Markup


def _team_ledger(ledger):
    now = domain.now()
    ledger.add_question("talks", title="Will the US and Russia resume strategic stability talks before 2027-06-01?",
                        closes="2027-06-01")
    ledger.add_question("soon", title="Will the sides meet in Geneva this month?", closes=now + timedelta(days=5))
    ledger.add_question("term", title="How long an extension?", closes="2027-03-01", kind="multiple_choice",
                        options="none,one-year,five-years")
    ledger.add_question("done", title="Already over?", opens="2026-01-01", closes="2026-06-01")
    for who, p in (("alice", 0.3), ("bob", 0.2), ("carol", 0.45)):
        ledger.log("talks", p, by=who)
    ledger.log("soon", 0.1, by="alice")
    ledger.log("term", options={"none": 0.5, "one-year": 0.3, "five-years": 0.2}, by="bob")
    from forecasts.runs.live import update

    update(ledger, "talks", model="evidence")
    return ledger


def _rows(text: str) -> dict[str, dict[str, str | float]]:
    """The first screen's rows: ``{question: {forecaster or metric: value, "class": ...}}``."""
    rows: dict[str, dict] = {}

    class Rows(Markup):
        current: dict | None = None
        cell: str | None = None

        def handle_starttag(self, tag, attrs):
            super().handle_starttag(tag, attrs)
            a = dict(attrs)
            if tag == "tr" and "data-open-question" in a and self.within("headline"):
                self.current = rows.setdefault(a["data-open-question"], {"class": a.get("class") or ""})
            if tag == "td" and self.current is not None:
                self.cell = a.get("data-forecaster") or a.get("data-metric")
                if "data-value" in a:
                    self.current[a.get("data-metric") if a.get("data-metric") != "p" else self.cell] = float(a["data-value"])
                    self.cell = None

        def handle_data(self, data):
            super().handle_data(data)
            if self.current is not None and self.cell:
                self.current[self.cell] = self.current.get(self.cell, "") + data

    Rows(text)
    return rows


def test_the_first_screen_lists_every_open_question_soonest_first(ledger, tmp_path):
    _team_ledger(ledger)
    text = build_report(ledger, tmp_path / "r.html").read_text(encoding="utf-8")
    first = text.index('id="now"')
    assert first < text.index('id="summary"') and first < text.index('id="scores"')  # the first section
    rows = _rows(text)
    assert list(rows) == ["soon", "term", "talks"]  # open only, soonest close first
    talks = rows["talks"]
    assert (talks["alice"], talks["bob"], talks["carol"]) == (0.3, 0.2, 0.45)
    assert talks["team"] == statistics.median([0.3, 0.2, 0.45])
    model = ledger.forecasts(question="talks", forecaster="model:evidence")["probability"].iloc[-1]
    assert talks["model"] == model
    assert "soon" in rows["soon"]["class"] and "soon" not in talks["class"]
    assert rows["term"]["bob"].strip() == "none 50%"  # a multiple-choice forecast: its leading option
    assert re.search(r"3 questions are open; <strong>1 closes within 14 days</strong>", text)
    assert "model:evidence's (not ranked: no model has a resolved question yet" in text


def test_moved_counts_from_the_report_it_replaces(ledger, tmp_path):
    _team_ledger(ledger)
    out = tmp_path / "r.html"
    build_report(ledger, out)
    assert math.isnan(_rows(out.read_text(encoding="utf-8"))["talks"]["moved"])  # no team forecast before: new
    ledger.log("talks", 0.6, by="bob")
    text = build_report(ledger, out).read_text(encoding="utf-8")
    talks = _rows(text)["talks"]
    assert talks["team"] == 0.45 and talks["moved"] == pytest.approx(0.45 - 0.3)
    assert "since the last report at this path (as of" in text
    fresh = build_report(ledger, tmp_path / "other.html").read_text(encoding="utf-8")
    assert "in the last 7 days (no earlier report at this path)" in fresh


def test_only_forecasters_with_enough_questions_are_ranked(demo_ledger, demo_report):
    text = demo_report.read_text(encoding="utf-8")
    scores = text[text.index('<table class="scores">'):text.index("</table>", text.index('<table class="scores">'))]
    assert 'class="best"' not in scores  # at most 3 resolved questions each: nobody is ranked, nobody in bold
    assert f"Not ranked: fewer than {MIN_RANKED} resolved questions each" in scores
    assert f"only those with at least {MIN_RANKED} resolved questions (0)" in text
    table = ScoreTable.from_ledger(demo_ledger)
    one = ScoreTable(table.frame, table.crowd, table.excluded, min_questions=1)
    best = one.frame["brier"].idxmin()
    assert re.search(rf'<tr data-forecaster="{re.escape(best)}" class="best">', one.to_html())
    assert "Not ranked" not in one.to_html()


def test_every_small_calibration_sample_is_flagged(demo_report):
    text = demo_report.read_text(encoding="utf-8")
    diagrams = text.count('<div class="calibration" ')
    assert diagrams >= 1
    assert text.count('data-flag="small-sample"') == diagrams
    assert f"Only 1 resolved question: calibration needs many questions (dozens; {FEW_FOR_CALIBRATION} at the least)" in text
    assert "Every outcome was the same, so DSC and UNC are 0 by construction." in text


def test_open_timelines_have_a_today_line_and_multiple_choice_is_drawn(ledger, tmp_path):
    _team_ledger(ledger)
    text = build_report(ledger, tmp_path / "r.html").read_text(encoding="utf-8")

    def timeline(qid: str) -> str:
        start = text.index(f'<section class="timeline" data-question="{qid}">')
        return text[start:text.index("</section>", start)]

    assert ">today<" in timeline("talks") and ">today<" in timeline("soon")
    assert ">today<" not in timeline("done")  # closed, not open
    term = timeline("term")
    assert "<svg" in term and "P(option)" in term
    for option in ("none", "one-year", "five-years"):
        assert f"bob: {option} (1)" in term  # one path per forecaster and option
