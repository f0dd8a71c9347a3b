"""Figures: matplotlib without pyplot; every function takes ``ax=None`` and returns the figure."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from forecasts import plots
from forecasts.scoring import reliability


@pytest.fixture
def curve():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 300)
    return reliability(p, rng.uniform(0, 1, 300) < p, n_boot=30, random_state=0)


@pytest.fixture
def path():
    return pd.DataFrame({
        "forecaster": ["ana", "ana", "import:metaculus", "import:metaculus", "model:hazard"],
        "made_at": pd.to_datetime(["2021-01-02", "2021-01-10", "2021-01-01", "2021-01-05", "2021-01-03"]),
        "probability": [0.3, 0.6, 0.5, 0.55, 0.4],
    })


def test_no_pyplot_anywhere():
    code = ("import sys, forecasts.plots, forecasts.report, forecasts.cli.report; "
            "assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_reliability_diagram(curve):
    fig = plots.reliability_diagram(curve, title="t")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1)
    assert len(ax.collections) >= 2  # the band and the points
    (inset,) = ax.child_axes  # the count histogram
    assert sum(p.get_height() for p in inset.patches) == pytest.approx(curve["n"].sum())


def test_every_function_draws_on_the_axes_it_is_given(curve, path):
    fig = Figure()
    axes = fig.subplots(1, 3)
    assert plots.reliability_diagram(curve, ax=axes[0], histogram=False) is fig
    assert plots.sharpness_histogram(path, ax=axes[1]) is fig
    assert plots.question_timeline(path, ax=axes[2]) is fig
    assert len(fig.axes) == 3


def test_reliability_diagram_of_nothing_is_an_empty_frame():
    fig = plots.reliability_diagram(pd.DataFrame({"x": [], "cep": [], "n": []}))
    assert len(fig.axes) == 1


def test_question_timeline(path):
    events = pd.DataFrame({"occurred_at": pd.to_datetime(["2021-01-04", "2021-01-04", "2020-06-01"]),
                           "title": ["a", "b", "long before"]})
    fig = plots.question_timeline(path, opens_at="2021-01-01", closes_at="2021-01-20",
                                  resolved_at="2021-01-15", outcome="yes", events=events, title="Q")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert "1" in labels and "2" in labels and "3" not in labels  # outside the question's period
    assert "close" in labels
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["ana (2)", "import:metaculus (2)", "model:hazard (1)", "resolved YES"]
    # a path steps to the end of the scoring period (the resolution, before the close)
    ana = ax.get_lines()[0]
    assert pd.Timestamp(ana.get_xdata()[-1]) == pd.Timestamp("2021-01-15")


def test_event_labels_never_collide():
    times = pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-02", "2021-03-01"])
    from matplotlib.dates import date2num

    levels = plots._label_levels(times, (date2num(pd.Timestamp("2021-01-01")), date2num(pd.Timestamp("2021-03-02"))))
    assert levels == [0, 1, 2, 0]


def test_styles_and_colours():
    assert plots.forecaster_style("import:metaculus")["linewidth"] > plots.forecaster_style("ana")["linewidth"]
    assert plots.colour_of("b", ["a", "b"]) == plots.PALETTE[1]
    assert plots.colour_of("zed") in plots.PALETTE


def test_to_svg_is_inline_svg(path):
    svg = plots.to_svg(plots.sharpness_histogram(path))
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert "http://www.w3.org/2000/svg" in svg  # a namespace, not a download


def test_line_style_follows_the_domain_kind():
    from forecasts.domain import FORECASTER_KINDS

    assert set(plots.KIND_STYLES) == set(FORECASTER_KINDS)
    person, model, crowd, imported, backtest = (
        plots.forecaster_style(n) for n in ("ana", "model:hazard", "crowd:median", "import:metaculus",
                                            "backtest:hazard"))
    assert crowd == imported and crowd["alpha"] < person["alpha"]
    assert model == backtest and model["linestyle"] == "--"
    assert person["marker"] == "o"
    # imported individuals are persons, whatever their prefix looks like
    assert plots.forecaster_style("fatebook:ana") == person
    # a name that merely starts like a prefix is a person too
    assert plots.forecaster_style("modeller") == person
