"""The report's numbers are the scoring API's numbers, for the same ledger.

The HTML is read with the standard library's parser through the ``data-metric`` /
``data-value`` attributes each number cell carries (the exact float, not the rounded text).
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecasts.errors import InvalidInput
from forecasts.report import CalibrationResult, QuestionTimeline, ScoreTable, build_report
from forecasts.scoring import calibration_cases, calibration_table, decompose, score_table, spiegelhalter
from tests.report.conftest import Markup, numbers

CROWD = "import:metaculus"


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def _frames(ledger):
    return ledger.forecasts(), ledger.questions(), ledger.resolutions()


def test_score_table_numbers_equal_the_scoring_api(demo_ledger, demo_report):
    cells = numbers(demo_report.read_text(encoding="utf-8"), "scores")
    f, q, r = _frames(demo_ledger)
    expected = {
        "brier": score_table(f, q, r, rule="brier")["score"],
        "log": score_table(f, q, r, rule="log")["score"],
        "baseline": score_table(f, q, r, rule="baseline")["score"],
        "peer": score_table(f, q, r, rule="peer")["score"],
        "vs_median": score_table(f, q, r, rule="brier", relative_to="crowd:median")["relative"],
        "vs_crowd": score_table(f, q, r, rule="brier", relative_to=CROWD)["relative"],
        "coverage": score_table(f, q, r)["coverage"],
        "n_forecasts": score_table(f, q, r)["n_forecasts"],
        "n_questions": score_table(f, q, r)["n_questions"],
    }
    forecasters = set(f["forecaster"])
    assert {who for who, _ in cells} == forecasters
    for metric, series in expected.items():
        for who in forecasters:
            assert _same(cells[(who, metric)], float(series[who])), (who, metric)
    # the crowd is the reference of the relative column, so it is 0 against itself
    assert cells[(CROWD, "vs_crowd")] == 0.0


def test_decomposition_equals_the_scoring_api(demo_ledger, demo_report):
    cells = numbers(demo_report.read_text(encoding="utf-8"), "decomposition-all")
    f, q, r = _frames(demo_ledger)
    table = calibration_table(f, q, r, by="forecaster")
    for who in table.index:
        for metric in ("n_questions", "n_forecasts", "brier", "mcb", "dsc", "unc", "log", "log_mcb",
                       "log_dsc", "spiegelhalter_z", "spiegelhalter_p"):
            assert _same(cells[(who, metric)], float(table.loc[who, metric])), (who, metric)
        cases = calibration_cases(f, q, r, who)
        d = decompose(cases["p"], cases["y"], "brier", weights=cases["weight"])
        assert _same(cells[(who, "mcb")], d["mcb"]) and _same(cells[(who, "dsc")], d["dsc"])
        pairs = (cases["question"] + "\x1f" + cases["forecaster"]).to_numpy()
        z = spiegelhalter(cases["p"], cases["y"], weights=cases["weight"], groups=pairs)["z"]
        assert _same(cells[(who, "spiegelhalter_z")], z)
        # MCB - DSC + UNC adds up to the Brier score shown
        assert math.isclose(cells[(who, "mcb")] - cells[(who, "dsc")] + cells[(who, "unc")],
                            cells[(who, "brier")], abs_tol=1e-12)


def test_the_report_has_every_section_and_a_diagram_per_forecaster(demo_ledger, demo_report):
    text = demo_report.read_text(encoding="utf-8")
    page = Markup(text)
    ids = {a.get("id") for _, a in page.tags}
    assert {"summary", "scores", "calibration", "sharpness", "timelines", "method"} <= ids
    diagrams = {a["data-forecaster"] for t, a in page.tags if t == "div" and "calibration" == a.get("class")}
    f, q, r = _frames(demo_ledger)
    calibrated = set(calibration_cases(f, q, r)["forecaster"])
    assert diagrams == calibrated
    # Good Judgment Open's final crowd value is dated at its question's close: it stood for no time
    assert set(f["forecaster"]) - calibrated == {"import:gjopen"}
    assert "No calibration cases yet for: import:gjopen." in text
    drawn = f["question"].nunique()  # one timeline figure per question with forecasts
    assert text.count("<svg") == len(diagrams) + 1 + drawn  # + sharpness
    assert "consistency band" in text and "forecasts per bin" in text


def test_about_paragraphs_and_the_resolutions_note(ledger, open_question, tmp_path):
    ledger.log(open_question, "60%", by="ana")
    ledger.add_question("done", title="Resolved early", closes="2300-01-01")
    ledger.log("done", "20%", by="ben")
    ledger.resolve("done", "no", note="Nothing happened: https://www.example.org/report?id=3&x=1 (2024-05-01).")
    plain = build_report(ledger, tmp_path / "plain.html").read_text(encoding="utf-8")
    assert '<section id="about"' not in plain
    text = build_report(ledger, tmp_path / "about.html",
                        about=["Real: <the questions>.", "Illustrative: the analysts."]).read_text(encoding="utf-8")
    start = text.index('<section id="about"')
    about = text[start:text.index("</section>", start)]
    assert "<p>Real: &lt;the questions&gt;.</p>" in about and "<p>Illustrative: the analysts.</p>" in about
    assert start < text.index('<section id="now"')  # first, under the title
    # a resolved question's timeline shows its resolution's note, web addresses as links named by their host
    done = text[text.index('<section class="timeline" data-question="done">'):]
    done = done[:done.index("</section>")]
    assert ('<p class="resolution-note">Resolution: Nothing happened: <a href="https://www.example.org/report?id=3&amp;x=1" '
            'rel="noreferrer">example.org</a> (2024-05-01).</p>') in done
    still_open = text[text.index(f'<section class="timeline" data-question="{open_question}">'):]
    assert "resolution-note" not in still_open[:still_open.index("</section>")]


def test_every_question_has_a_timeline(ledger, open_question, tmp_path):
    ledger.add_question("quiet", title="A question nobody forecast", closes="2300-01-01")
    ledger.add_question("done", title="Resolved early", closes="2300-01-01", tags="weather")
    ledger.log(open_question, "60%", by="ana")
    ledger.log("done", "20%", by="ben")
    ledger.resolve("done", "no")
    event = ledger.add_event("Storm front forms", on="2020-01-01", tags="weather")
    ledger.add_evidence(open_question, event["seq"], lr=2, by="ana")
    text = build_report(ledger, tmp_path / "r.html").read_text(encoding="utf-8")
    page = Markup(text)
    shown = [a["data-question"] for t, a in page.tags if t == "section" and "data-question" in a]
    assert sorted(shown) == sorted(ledger.questions()["id"])
    assert "No forecasts on this question yet." in text
    assert "Resolved early" in text and "resolved <b>NO</b>" in text


def test_the_empty_ledger_says_so(ledger, tmp_path):
    text = build_report(ledger, tmp_path / "empty.html").read_text(encoding="utf-8")
    page = Markup(text)
    assert any(a.get("data-empty") == "ledger" for _, a in page.tags)
    assert "This ledger has no questions" in " ".join(page.text)
    assert "<svg" not in text


def test_questions_without_resolutions_say_there_is_nothing_to_score(ledger, open_question, tmp_path):
    ledger.log(open_question, "60%", by="ana")
    text = build_report(ledger, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'data-empty="scores"' in text and 'data-empty="calibration"' in text
    assert 'data-question="rain"' in text


def test_no_resource_comes_from_the_network(demo_report):
    text = demo_report.read_text(encoding="utf-8")
    page = Markup(text)
    assert not any(t in ("script", "iframe", "object", "embed") for t, _ in page.tags)
    loads = [(t, a) for t, a in page.tags
             if (t in ("img", "source", "audio", "video", "use", "image", "input") and a.get("src", a.get("href")))
             or (t == "link" and a.get("href"))]
    for tag, attrs in loads:
        ref = attrs.get("src") or attrs.get("href") or ""
        assert ref.startswith(("data:", "#")), (tag, ref)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text) and "@import" not in text
    links = [a["href"] for t, a in page.tags if t == "a" and a.get("href", "").startswith("http")]
    assert len(links) >= 20  # the events' sources stay plain links


def test_default_out_is_reports_named_after_the_ledger(demo_ledger, tmp_path):
    name = f"{demo_ledger.path.stem}.html"  # new-start.html for the file; the database's name on a server
    path = build_report(demo_ledger)
    assert path == tmp_path.joinpath("reports", name).relative_to(tmp_path)
    assert (tmp_path / "reports" / name).exists()
    (tmp_path / "out").mkdir()
    assert build_report(demo_ledger, tmp_path / "out") == tmp_path / "out" / name


def test_filters_and_progress(demo_ledger, tmp_path):
    steps = []
    path = build_report(demo_ledger, tmp_path / "a.html", forecasters=[CROWD],
                        progress=lambda step, total, label: steps.append((step, total, label)))
    cells = numbers(path.read_text(encoding="utf-8"), "scores")
    assert {who for who, _ in cells} == {CROWD}
    # the crowd is still compared with everyone: same numbers as in the full report
    f, q, r = _frames(demo_ledger)
    assert _same(cells[(CROWD, "vs_median")],
                 float(score_table(f, q, r, relative_to="crowd:median").loc[CROWD, "relative"]))
    assert [s for s, _, _ in steps] == list(range(1, len(steps) + 1)) and steps[-1][0] == steps[-1][1]
    text = build_report(demo_ledger, tmp_path / "b.html", tag="no-such-tag").read_text(encoding="utf-8")
    assert 'data-empty="ledger"' in text and "in this scope" in text
    assert 'data-empty="ledger"' in build_report(demo_ledger, tmp_path / "c.html",
                                                 since="2027-01-01").read_text(encoding="utf-8")
    # the imported history was recorded today: as of 2020 the ledger knew nothing
    assert 'data-empty="ledger"' in build_report(demo_ledger, tmp_path / "d.html",
                                                 as_of="2020-01-01").read_text(encoding="utf-8")
    with pytest.raises(InvalidInput, match="no forecasts by 'nobody'"):
        build_report(demo_ledger, tmp_path / "e.html", forecasters=["nobody"])


def test_result_objects_show_themselves(demo_ledger):
    scores = ScoreTable.from_ledger(demo_ledger)
    assert scores.crowd == CROWD and 'class="scores"' in scores._repr_html_()
    assert list(scores.frame.index)[0] == CROWD  # best Brier first
    cal = CalibrationResult.from_ledger(demo_ledger, CROWD)
    resolved = demo_ledger.questions(status="resolved")
    crowd = demo_ledger.forecasts(forecaster=CROWD)
    n = crowd.loc[crowd["question"].isin(resolved["id"]), "question"].nunique()
    assert "<svg" in cal._repr_html_() and cal.summary["n_questions"] == n == 3
    brier = calibration_table(*_frames(demo_ledger), forecaster=[CROWD], by="forecaster")["brier"].iloc[0]
    assert f"Brier {brier:.3f}" in repr(cal)
    timeline = QuestionTimeline.from_ledger(demo_ledger, "new-start-extension")
    assert len(timeline.forecasters) == 3 and "<svg" in timeline._repr_html_()
    # events drawn: those of the question's period, numbered in date order
    assert timeline.events["number"].tolist() == list(range(1, len(timeline.events) + 1))
    assert timeline.events["occurred_at"].is_monotonic_increasing
    with pytest.raises(InvalidInput):
        QuestionTimeline.from_ledger(demo_ledger, "no-such-question")


def test_calibration_from_arrays_matches_decompose():
    p, y = [0.1, 0.3, 0.3, 0.7, 0.9, 0.8], [0, 0, 1, 1, 1, 0]
    result = CalibrationResult.from_arrays(p, y, n_boot=20)
    d = decompose(p, y)
    assert _same(result.summary["mcb"], d["mcb"]) and _same(result.summary["unc"], d["unc"])
    assert "consistency_lower" in result.curve


def test_cli_report(cli, demo_ledger, tmp_path):
    out = tmp_path / "cli.html"
    done = cli("report", "--db", demo_ledger.location, "--out", str(out), "--forecaster", CROWD)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"report written to {out}" and out.exists()
    bad = cli("report", "--db", demo_ledger.location, "--since", "someday")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "since date" in bad.stderr


def test_the_five_kinds_come_from_the_domain():
    from forecasts import domain
    from forecasts.domain import KIND_LABELS
    from forecasts.report import results
    from forecasts.scoring.frames import example_frames

    # one rule: forecasts.domain.forecaster_kind, no second definition in the report
    assert "forecaster_kind" not in results.__all__
    assert getattr(results, "forecaster_kind", domain.forecaster_kind) is domain.forecaster_kind
    f, q, r = example_frames()
    extra = f[f["forecaster"] == "bob"]
    parts = [f]
    for name in ("model:m", "crowd:median", "import:x", "backtest:m"):
        parts.append(extra.assign(forecaster=name))
    frames = pd.concat(parts, ignore_index=True).assign(seq=lambda d: range(1, len(d) + 1))
    table = ScoreTable.from_frames(frames, q, r)
    kinds = table.frame["kind"].to_dict()
    assert kinds == {"alice": "person", "bob": "person", "model:m": "model", "crowd:median": "crowd",
                     "import:x": "import", "backtest:m": "backtest"}
    assert table.crowd == "crowd:median"  # a crowd aggregate before an imported record
    page = Markup(table.to_html())
    badges = {a["class"]: None for t, a in page.tags if t == "span" and "kind" in (a.get("class") or "")}
    assert set(badges) == {f"kind kind-{k}" for k in KIND_LABELS}
    for label in KIND_LABELS.values():
        assert label in "".join(page.text)
    # the persons' scores are those of the persons alone: the others never enter the pool
    alone = ScoreTable.from_frames(f, q, r)
    for who in ("alice", "bob"):
        assert _same(table.frame.loc[who, "peer"], alone.frame.loc[who, "peer"])
        assert _same(table.frame.loc[who, "vs_median"], alone.frame.loc[who, "vs_median"])


def test_the_summary_counts_forecasters_by_kind(demo_report, parse):
    page = parse(demo_report.read_text(encoding="utf-8"))
    text = " ".join(page.text)
    assert "imported record" in text and "crowd aggregates (" in text
    assert "persons (any other name)" in text


def test_an_unusable_out_path_is_one_line_and_nothing_is_written(ledger, open_question, tmp_path, cli):
    (tmp_path / "a-file").write_text("")
    for out in (tmp_path / ("x" * 300), tmp_path / "a-file" / "r.html"):  # too long a name; a path through a file
        with pytest.raises(InvalidInput, match="cannot write the report to"):
            build_report(ledger, out)
        result = cli("report", "--out", str(out))
        assert result.returncode == 2 and result.stderr.startswith("error: cannot write the report to")
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".duckdb") == ["a-file"]


@given(st.lists(st.tuples(st.sampled_from(["q1", "q2", "q3"]), st.sampled_from(["ann", "bob", "cy"]),
                          st.integers(0, 6), st.one_of(st.none(), st.integers(0, 8))), min_size=1, max_size=25),
       st.integers(0, 7))
def test_standing_is_the_latest_forecast_by_made_at_then_seq(rows, t_day):
    """``standing`` (the first screen's probabilities) finds each forecaster's latest forecast by
    ``latest_rows``, the report's one rule for it: the same rows, in the same order, as sorting
    every forecast by question, forecaster, ``made_at`` and ``seq`` and keeping the last."""
    import numpy as np

    from forecasts.report.build import standing

    day = pd.Timestamp("2024-01-01")
    f = pd.DataFrame({"question": [r[0] for r in rows], "forecaster": [r[1] for r in rows],
                      "made_at": [day + pd.Timedelta(days=r[2]) for r in rows],
                      "ended_at": [pd.NaT if r[3] is None else day + pd.Timedelta(days=r[3]) for r in rows],
                      "probability": np.linspace(0.05, 0.95, len(rows))})
    f["seq"] = np.random.default_rng(len(rows)).permutation(len(rows)) + 1
    t = day + pd.Timedelta(days=t_day)
    plain = (f[f["made_at"] <= t].sort_values(["question", "forecaster", "made_at", "seq"], kind="stable")
             .drop_duplicates(["question", "forecaster"], keep="last"))
    plain = plain[~(plain["ended_at"].notna() & (plain["ended_at"] <= t))]
    expected = plain.set_index(["question", "forecaster"])["probability"].astype(float)
    pd.testing.assert_series_equal(standing(f, t), expected)
