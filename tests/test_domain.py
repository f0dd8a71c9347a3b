"""Parsing of user input: probabilities, odds, dates, names, options, likelihood ratios."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecasts import domain
from forecasts.errors import ForecastsError, InvalidDate, InvalidInput, InvalidProbability


@pytest.mark.parametrize("text", ["", "abc", "65%%", "1:-1", "0:0", "nan", "inf", "-0.1", "1.01",
                                  "101%", "65", "1e400", "--5", "3:x", None, True, [0.5]])
def test_bad_probabilities_are_refused(text):
    with pytest.raises(InvalidProbability if not isinstance(text, list) else InvalidInput):
        domain.parse_probability(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("0.65", 0.65), ("65%", 0.65), (" 65 % ", 0.65), ("13:7", 0.65), ("1:3", 0.25),
    (0.2, 0.2), ("0.001", 0.001), ("99.9%", 0.999), ("1:999", 0.001),
])
def test_probability_forms(text, expected):
    assert domain.parse_probability(text) == pytest.approx(expected, abs=1e-15)


def test_certainty_needs_leave():
    for text in ("0", "1", "100%", "0%", "1:0", "0:5"):
        with pytest.raises(InvalidProbability, match="certain"):
            domain.parse_probability(text)
        assert domain.parse_probability(text, allow_certainty=True) in (0.0, 1.0)


def test_percentage_hint():
    with pytest.raises(InvalidProbability, match="write 65%"):
        domain.parse_probability("65")


@given(st.one_of(st.text(max_size=30), st.floats(allow_nan=True, allow_infinity=True),
                 st.integers(min_value=-10**30, max_value=10**30)))
def test_parse_probability_never_crashes(value):
    try:
        p = domain.parse_probability(value)
    except ForecastsError as exc:
        assert "\n" not in exc.message
    else:
        assert 0.0 < p < 1.0 and math.isfinite(p)


@given(st.text(max_size=40))
def test_parse_time_never_crashes(value):
    try:
        t = domain.parse_time(value)
    except ForecastsError:
        pass
    else:
        assert isinstance(t, datetime) and t.tzinfo is None


def test_times_are_utc():
    assert domain.parse_time("2021-02-05") == datetime(2021, 2, 5)
    assert domain.parse_time("2021-01-26T12:00:00+03:00") == datetime(2021, 1, 26, 9)
    assert domain.parse_time("2021-01-26T12:00Z") == datetime(2021, 1, 26, 12)
    for bad in ("2021-02-30", "05/02/2021", "tomorrow", "2021-13-01", "0001-01-01"):
        with pytest.raises(InvalidDate):
            domain.parse_time(bad)


def test_durations():
    assert domain.parse_duration("14d") == timedelta(days=14)
    assert domain.parse_duration("3") == timedelta(days=3)
    with pytest.raises(InvalidInput):
        domain.parse_duration("soon")


def test_names_and_slugs(monkeypatch):
    assert domain.parse_question_id("new-start-extension") == "new-start-extension"
    for bad in ("New START", "", "-x", "a" * 101, "q/1"):
        with pytest.raises(InvalidInput):
            domain.parse_question_id(bad)
    assert domain.parse_forecaster("model:hazard") == "model:hazard"
    monkeypatch.setenv("FORECASTS_USER", "carol")
    assert domain.parse_forecaster(None) == "carol"
    monkeypatch.delenv("FORECASTS_USER")
    assert domain.parse_forecaster(None)  # the OS user name
    with pytest.raises(InvalidInput):
        domain.parse_forecaster("bad name")


def test_tags_options_cameo():
    assert domain.parse_tags("Russia, arms-control,russia") == ["arms-control", "russia"]
    assert domain.parse_options("yes-5y,yes-1y,no") == ["yes-5y", "yes-1y", "no"]
    for bad in ("only-one", "a,a", "a,ambiguous"):
        with pytest.raises(InvalidInput):
            domain.parse_options(bad)
    assert domain.parse_cameo("036") == "036"
    with pytest.raises(InvalidInput):
        domain.parse_cameo("36x")


def test_option_probabilities():
    opts = ["yes-5y", "yes-1y", "no"]
    got = domain.parse_option_probabilities(["yes-5y=0.333", "yes-1y=0.333", "no=0.333"], opts)
    assert math.fsum(got.values()) == pytest.approx(1.0, abs=1e-15)
    for bad in (["yes-5y=0.6", "yes-1y=0.3"], ["yes-5y=0.6", "yes-1y=0.3", "no=0.2"],
                ["yes-5y=0.6", "yes-5y=0.3", "no=0.1"], ["maybe=1"], ["yes-5y"]):
        with pytest.raises(InvalidInput):
            domain.parse_option_probabilities(bad, opts)
    with pytest.raises(InvalidProbability, match="certain"):
        domain.parse_option_probabilities(["yes-5y=1", "yes-1y=0", "no=0"], opts)


def test_likelihood_ratios():
    assert domain.parse_likelihood_ratio(1.5, None) == (1.5, None)
    assert domain.parse_likelihood_ratio(None, "Strong  for YES") == (10.0, "strong for yes")
    for lr, strength in ((None, None), (1.5, "weak for yes"), (0, None), (-2, None),
                         (float("inf"), None), (None, "huge for yes"), (None, "weak")):
        with pytest.raises(InvalidInput):
            domain.parse_likelihood_ratio(lr, strength)
