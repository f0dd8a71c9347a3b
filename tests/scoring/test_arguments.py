"""Every argument the CLI passes to scoring is checked by the library itself.

The CLI relies on these checks (it no longer re-checks by hand): each wrong value is an
``InvalidInput`` (exit 2) or a subclass, with a one-line message in the library's terms.
"""

from __future__ import annotations

import pandas as pd
import pytest

from forecasts.errors import ForecastsError, InvalidDate, InvalidInput, UnknownForecaster
from forecasts.scoring import (
    CALIBRATION_GROUPINGS,
    SCORE_GROUPINGS,
    SCORE_RULES,
    calibration_cases,
    calibration_groups,
    calibration_table,
    reliability,
    score_table,
    text_reliability_chart,
)
from forecasts.scoring.frames import example_frames

FLAGS = ("--by", "--rule", "--relative-to", "--bits", "--bins", "--forecaster")


def _one_line_library_message(err: pytest.ExceptionInfo) -> None:
    assert isinstance(err.value, ForecastsError) and err.value.exit_code == 2
    assert "\n" not in str(err.value)
    assert not any(flag in str(err.value) for flag in FLAGS)


@pytest.fixture
def frames():
    return example_frames()


@pytest.mark.parametrize("by", ["colour", "", "Forecaster", None, 3])
def test_score_table_by(frames, by):
    with pytest.raises(InvalidInput, match="by must be one of forecaster, tag, question") as err:
        score_table(*frames, by=by)
    _one_line_library_message(err)


@pytest.mark.parametrize("rule", ["crps", "Brier", None, 1])
def test_score_table_rule(frames, rule):
    with pytest.raises(InvalidInput, match="rule must be one of brier, log, spherical, baseline, peer") as err:
        score_table(*frames, rule=rule)
    _one_line_library_message(err)


def test_score_table_accepts_every_listed_choice(frames):
    for by in SCORE_GROUPINGS:
        for rule in SCORE_RULES:
            assert score_table(*frames, by=by, rule=rule).attrs["rule"] == rule


def test_score_table_relative_to(frames):
    with pytest.raises(UnknownForecaster, match="'nobody'") as err:
        score_table(*frames, relative_to="nobody")
    _one_line_library_message(err)
    for rule in ("baseline", "peer"):
        with pytest.raises(InvalidInput, match="relative already") as err:
            score_table(*frames, rule=rule, relative_to="crowd:median")
        _one_line_library_message(err)
    with pytest.raises(InvalidInput, match="relative_to must be"):
        score_table(*frames, relative_to=3)
    # a forecaster whose forecasts are all on questions left out: known, but nothing to compare
    f, q, r = frames
    lone = f[f["question"] == "q1"].assign(question="q4", forecaster="carol")
    with pytest.raises(InvalidInput, match="no scored forecasts") as err:
        score_table(pd.concat([f, lone], ignore_index=True), q, r, relative_to="carol")
    assert not isinstance(err.value, UnknownForecaster)
    assert "relative" in score_table(*frames, relative_to="crowd:median").columns
    assert "relative" in score_table(*frames, relative_to="bob").columns


@pytest.mark.parametrize("base", [10, "bits2", None, 2.5])
def test_score_table_log_base(frames, base):
    with pytest.raises(InvalidInput, match="log base") as err:
        score_table(*frames, rule="log", log_base=base)
    _one_line_library_message(err)


def test_score_table_log_base_in_bits(frames):
    nats = score_table(*frames, rule="log")
    bits = score_table(*frames, rule="log", log_base=2)
    assert bits.loc["alice", "score"] == pytest.approx(nats.loc["alice", "score"] / 0.6931471805599453)


def test_score_table_as_of(frames):
    with pytest.raises(InvalidDate):
        score_table(*frames, as_of="yesterday-ish")


@pytest.mark.parametrize("by", ["question", "colour", "all", 0])
def test_calibration_by(frames, by):
    with pytest.raises(InvalidInput, match="by must be one of forecaster, tag, kind, period or None") as err:
        calibration_table(*frames, by=by, as_of="2024-12-31")
    _one_line_library_message(err)
    cases = calibration_cases(*frames, as_of="2024-12-31")
    with pytest.raises(InvalidInput, match="by must be"):
        calibration_groups(cases, frames[1], by)


def test_calibration_accepts_every_listed_grouping(frames):
    cases = calibration_cases(*frames, as_of="2024-12-31")
    for by in (*CALIBRATION_GROUPINGS, None):
        assert len(calibration_table(*frames, by=by, as_of="2024-12-31")) >= 1
        assert calibration_groups(cases, frames[1], by)


@pytest.mark.parametrize("bins", [0, 1, 101, -3, 2.5, "ten", True])
def test_calibration_bins(frames, bins):
    with pytest.raises(InvalidInput, match="bins") as err:
        calibration_table(*frames, as_of="2024-12-31", bins=bins)
    _one_line_library_message(err)
    curve = reliability([0.2, 0.7], [0, 1], n_boot=0)
    with pytest.raises(InvalidInput, match="bins"):
        text_reliability_chart(curve, bins=bins)


def test_calibration_bins_bounds_accepted(frames):
    for bins in (2, 100):
        t = calibration_table(*frames, as_of="2024-12-31", bins=bins)
        assert f"{bins} bins" in t.attrs["ece_binning"]
        curve = reliability([0.2, 0.7], [0, 1], n_boot=0)
        assert text_reliability_chart(curve, bins=bins).startswith("forecast")


def test_calibration_unknown_forecaster(frames):
    with pytest.raises(UnknownForecaster, match="no forecasts by 'nobody'") as err:
        calibration_table(*frames, forecaster=["alice", "nobody"], as_of="2024-12-31")
    _one_line_library_message(err)
    with pytest.raises(UnknownForecaster):
        calibration_cases(*frames, forecaster="nobody")
    with pytest.raises(InvalidInput, match="forecaster"):
        calibration_cases(*frames, forecaster=3)
    # a known forecaster with nothing past the close is an empty table, not an error
    assert calibration_table(*frames, forecaster="bob", as_of="2024-01-02").empty


def test_reliability_and_chart_arguments():
    with pytest.raises(InvalidInput, match="numbers"):
        reliability(["a", "b"], [0, 1])
    with pytest.raises(InvalidInput, match="resamples"):
        reliability([0.2, 0.7], [0, 1], n_boot=-1)
    with pytest.raises(InvalidInput, match="DataFrame"):
        text_reliability_chart([0.2, 0.7])
    with pytest.raises(InvalidInput, match="width"):
        text_reliability_chart(reliability([0.2, 0.7], [0, 1], n_boot=0), width=0)


def test_frames_must_be_frames(frames):
    f, q, r = frames
    with pytest.raises(InvalidInput, match="forecasts must be a pandas DataFrame"):
        score_table(None, q, r)
    with pytest.raises(InvalidInput, match="resolutions frame lacks column 'outcome'"):
        score_table(f, q, r.drop(columns="outcome"))


def test_malformed_frames_and_values_are_invalid_input(frames):
    from forecasts.errors import InvalidProbability
    from forecasts.scoring import baseline_scores, paired_difference, time_averaged

    f, q, r = frames
    with pytest.raises(InvalidInput, match="lacks column 'probability'"):
        time_averaged(f.drop(columns="probability"), q, r)
    with pytest.raises(InvalidInput, match="lacks column 'probabilities'"):
        time_averaged(f.drop(columns="probabilities"), q, r)
    bad = f.astype({"probability": object})
    bad.loc[0, "probability"] = "high"
    with pytest.raises(InvalidProbability, match="numbers"):
        time_averaged(bad, q, r)
    mc = f.copy()
    mc.loc[mc["question"] == "q5", "probabilities"] = [{"low": "x", "medium": 0.5, "high": 0.5}] * 2
    with pytest.raises(InvalidProbability, match="not a number"):
        time_averaged(mc, q, r)
    # questions without an options column still score their binary questions
    binary = f[f["question"] != "q5"]
    assert len(baseline_scores(binary, q.drop(columns="options"), r)) > 0
    with pytest.raises(InvalidInput, match="random_state"):
        paired_difference([0.1], [0.2], random_state="seed")
    with pytest.raises(InvalidInput, match="random_state"):
        reliability([0.2, 0.7], [0, 1], n_boot=5, random_state="seed")
