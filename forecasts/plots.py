"""Figures for notebooks and reports: matplotlib without pyplot.

Every function draws on the :class:`~matplotlib.axes.Axes` it is given (``ax=None`` makes a
new :class:`~matplotlib.figure.Figure`) and returns the figure, so the same picture appears in
a notebook cell, in ``forecasts report`` and in a saved file.  Nothing here calls
``pyplot``, opens a window or touches a global state: figures are plain objects, rendered to
PNG by Jupyter and to inline SVG by :func:`to_svg`.

Conventions
-----------
* Inputs are the DataFrames of :mod:`forecasts.scoring` and of the ledger (``made_at``,
  ``forecaster``, ``probability``...), never the database.
* Probabilities are drawn on a 0-100 % axis; times are naive UTC.
* Colours are the Okabe-Ito palette (safe for colour-blind readers); forecasters keep one
  colour across figures through :func:`colour_of`.  The line style follows the kind of
  forecaster (:func:`forecasts.domain.forecaster_kind`, see :data:`KIND_STYLES`): crowd
  aggregates and imported records thick and pale, models and backtests dashed, persons solid
  with dots.

>>> import pandas as pd
>>> from forecasts.scoring import reliability
>>> fig = reliability_diagram(reliability([0.1, 0.3, 0.7, 0.9], [0, 0, 1, 1], n_boot=20, random_state=0))
>>> fig.axes[0].get_xlabel()
'Forecast probability'
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from numpy.typing import ArrayLike

from forecasts.domain import ForecasterKind, forecaster_kind

__all__ = [
    "KIND_STYLES",
    "colour_of",
    "forecaster_style",
    "question_timeline",
    "reliability_diagram",
    "sharpness_histogram",
    "timeline_span",
    "to_svg",
]

#: Okabe-Ito colours, black last.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
INK = "#222222"
MUTED = "#6b6b6b"
ACCENT = "#0b5cad"  # the report's accent: the "today" line
GRID = "#e4e4e4"
YES_COLOUR = "#009E73"
NO_COLOUR = "#D55E00"

_RC: dict[Any, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.edgecolor": "#9a9a9a",
    "axes.labelcolor": INK,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "svg.fonttype": "none",
}


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return cast(Figure, ax.figure), ax  # a SubFigure draws like a Figure
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _tidy(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(True, color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)


def colour_of(forecaster: str, forecasters: Sequence[str] | None = None) -> str:
    """A stable colour for a forecaster: its place in ``forecasters`` (sorted), else its name.

    >>> colour_of("alice", ["alice", "bob"]), colour_of("bob", ["alice", "bob"])
    ('#0072B2', '#D55E00')
    """
    if forecasters is not None and forecaster in forecasters:
        i = sorted(forecasters).index(forecaster)
    else:
        i = sum(forecaster.encode()) % len(PALETTE)
    return PALETTE[i % len(PALETTE)]


_POOLED_LINE: dict[str, Any] = {"linewidth": 2.6, "alpha": 0.55, "linestyle": "-", "marker": None}
_MODEL_LINE: dict[str, Any] = {"linewidth": 1.5, "alpha": 0.95, "linestyle": "--", "marker": None}
#: The line style of each kind of forecaster (crowd aggregates and imported records share one).
KIND_STYLES: dict[ForecasterKind, dict[str, Any]] = {
    "person": {"linewidth": 1.6, "alpha": 0.95, "linestyle": "-", "marker": "o"},
    "model": _MODEL_LINE, "backtest": _MODEL_LINE, "crowd": _POOLED_LINE, "import": _POOLED_LINE,
}


def forecaster_style(forecaster: str) -> dict[str, Any]:
    """Line style by kind of forecaster (:data:`KIND_STYLES`): crowd aggregates and imported
    records thick and pale, models and backtests dashed, persons solid with dots.

    >>> forecaster_style("model:hazard")["linestyle"], forecaster_style("import:metaculus")["alpha"]
    ('--', 0.55)
    """
    return dict(KIND_STYLES[forecaster_kind(forecaster)])


# ----------------------------------------------------------------------- reliability
def reliability_diagram(curve: pd.DataFrame, *, ax: Axes | None = None, label: str | None = None,
                        colour: str = PALETTE[0], histogram: bool = True,
                        title: str | None = None) -> Figure:
    """CORP reliability diagram: the PAV calibration curve, its consistency band, a histogram.

    Parameters
    ----------
    curve : pandas.DataFrame
        The output of :func:`forecasts.scoring.reliability`: ``x``, ``cep``, ``n`` and, if
        computed, ``consistency_lower``/``consistency_upper``.
    ax : matplotlib.axes.Axes, optional
        Draw here; default a new 3.9 x 4.3 inch figure.
    label : str, optional
        Legend label of the curve.
    colour : str
        Colour of the curve.
    histogram : bool
        Add an inset histogram of the forecasts (case counts in ten bins), as in
        Dimitriadis, Gneiting and Jordan (2021), figure 1.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding ``ax``.

    Notes
    -----
    The band shows where the curve of a *calibrated* forecaster with these same forecasts
    would fall (90 % pointwise by default); a curve leaving it is unlikely to be chance.
    """
    with rc_context(_RC):
        fig, ax = _axes(ax, (3.9, 4.3))
        _tidy(ax)
        ax.plot([0, 1], [0, 1], color=MUTED, linewidth=0.9, linestyle=":", label="Perfect calibration")
        x = curve["x"].to_numpy(dtype=float)
        if len(x):
            if "consistency_lower" in curve:
                ax.fill_between(x, curve["consistency_lower"].to_numpy(dtype=float),
                                curve["consistency_upper"].to_numpy(dtype=float), step="mid" if len(x) > 1 else None,
                                color=colour, alpha=0.14, linewidth=0,
                                label=f"{100 * (1 - curve.attrs.get('alpha', 0.1)):.0f}% consistency band")
            cep = curve["cep"].to_numpy(dtype=float)
            if len(x) > 1:
                ax.step(x, cep, where="mid", color=colour, linewidth=2.0, label=label or "CEP (PAV fit)")
            ax.scatter(x, cep, s=np.clip(8 + 40 * curve["n"].to_numpy() / max(curve["n"].max(), 1), 8, 48),
                       color=colour, zorder=3, linewidth=0,
                       label=None if len(x) > 1 else (label or "CEP (PAV fit)"))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("Forecast probability")
        ax.set_ylabel("Observed frequency (CEP)")
        if title:
            ax.set_title(title, loc="left")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, frameon=False, fontsize=7.5)
        if histogram and len(x):
            inset = ax.inset_axes((0.6, 0.06, 0.36, 0.22))
            counts, edges = np.histogram(x, bins=10, range=(0, 1), weights=curve["n"].to_numpy(dtype=float))
            inset.bar(edges[:-1], counts, width=0.1, align="edge", color=colour, alpha=0.6,
                      edgecolor="white", linewidth=0.4)
            inset.set_xlim(0, 1)
            inset.set_xticks([0, 0.5, 1], ["0", "50", "100%"])
            inset.tick_params(labelsize=7.5, length=2)
            inset.set_title("forecasts per bin", fontsize=7.5, color=MUTED, pad=2)
            for side in ("top", "right"):
                inset.spines[side].set_visible(False)
            inset.patch.set_alpha(0.85)
    return fig


def sharpness_histogram(forecasts: pd.DataFrame, *, ax: Axes | None = None,
                        forecasters: Sequence[str] | None = None, bins: int = 10) -> Figure:
    """How sharp each forecaster is: the distribution of their binary forecasts.

    Parameters
    ----------
    forecasts : pandas.DataFrame
        Rows with ``forecaster`` and ``probability`` (rows without a probability are ignored).
    ax : matplotlib.axes.Axes, optional
        Draw here; default a new figure.
    forecasters : list of str, optional
        Which forecasters, in this order (default all, sorted).
    bins : int
        Number of equal bins on [0, 1].

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Each forecaster's bars are the *share* of their forecasts in each bin, so a forecaster
    with 5 forecasts and a crowd with 500 compare.  Mass near 0 % and 100 % is sharpness;
    it is a virtue only together with calibration.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"forecaster": ["a", "a", "b"], "probability": [0.1, 0.9, 0.5]})
    >>> len(sharpness_histogram(f).axes[0].patches)
    20
    """
    with rc_context(_RC):
        fig, ax = _axes(ax, (6.4, 2.8))
        _tidy(ax)
        f = forecasts[forecasts["probability"].notna()]
        names = list(forecasters) if forecasters is not None else sorted(f["forecaster"].unique())
        k = max(len(names), 1)
        width = 1.0 / bins
        edges = np.linspace(0, 1, bins + 1)
        for i, name in enumerate(names):
            p = f.loc[f["forecaster"] == name, "probability"].to_numpy(dtype=float)
            counts, _ = np.histogram(p, bins=edges)
            share = counts / max(counts.sum(), 1)
            ax.bar(edges[:-1] + width * (0.1 + 0.8 * i / k), share, width=0.8 * width / k, align="edge",
                   color=colour_of(name, names), label=f"{name} (n={len(p)})", linewidth=0)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xticks(edges)
        ax.set_xlabel("Forecast probability")
        ax.set_ylabel("Share of forecasts")
        if names:
            ax.legend(frameon=False, fontsize=8.5, loc="upper center", ncols=min(k, 3),
                      bbox_to_anchor=(0.5, -0.22))
    return fig


# -------------------------------------------------------------------------- timeline
def _event_rows(events: pd.DataFrame | None) -> pd.DataFrame:
    if events is None or len(events) == 0:
        return pd.DataFrame({"occurred_at": pd.Series([], dtype="datetime64[us]"), "title": []})
    return events.sort_values("occurred_at").reset_index(drop=True)


def timeline_span(made_at: ArrayLike, opens_at: Any = None, closes_at: Any = None,
                  resolved_at: Any = None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The time range a question's timeline shows: opening or first forecast to close,
    resolution or last forecast, whichever is later; ``None`` if nothing is dated.

    >>> timeline_span([], "2021-01-01", "2021-02-01")
    (Timestamp('2021-01-01 00:00:00'), Timestamp('2021-02-01 00:00:00'))
    """
    times = [pd.Timestamp(t) for t in (opens_at, closes_at, resolved_at) if t is not None and not pd.isna(t)]
    times += [pd.Timestamp(t) for t in np.asarray(made_at, dtype=object).ravel()]
    if not times:
        return None
    return min(times), max(times)


def _label_levels(times: pd.Series, xlim: tuple[float, float], gap: float = 0.022) -> list[int]:
    """Stack event numbers in rows so that labels closer than ``gap`` (axis share) never touch."""
    span = (xlim[1] - xlim[0]) or 1.0
    pos = [(float(mdates.date2num(pd.Timestamp(t))) - xlim[0]) / span for t in times]
    last: list[float] = []
    levels = []
    for x in pos:
        for level, seen in enumerate(last):
            if x - seen >= gap:
                last[level] = x
                levels.append(level)
                break
        else:
            last.append(x)
            levels.append(len(last) - 1)
    return levels


def question_timeline(forecasts: pd.DataFrame, *, opens_at: Any = None, closes_at: Any = None,
                      resolved_at: Any = None, outcome: str | None = None,
                      events: pd.DataFrame | None = None, title: str | None = None,
                      forecasters: Sequence[str] | None = None, ax: Axes | None = None,
                      today: Any = None, ylabel: str = "P(yes)") -> Figure:
    """One question over time: every forecaster's probability path, events, close, resolution.

    Parameters
    ----------
    forecasts : pandas.DataFrame
        The question's binary forecasts: ``forecaster``, ``made_at``, ``probability``.
    opens_at, closes_at, resolved_at : datetime-like, optional
        The question's opening, scheduled close and resolution (world times).
    outcome : str, optional
        The resolution (``yes``, ``no``, ``ambiguous``, ``annulled``).
    events : pandas.DataFrame, optional
        Events to mark (``occurred_at``, ``title``); they are numbered 1, 2... in date order,
        and the numbers are drawn above the plot (the report lists them under it).
    title : str, optional
        Axes title.
    forecasters : list of str, optional
        Which forecasters, in legend order (default all, sorted).
    ax : matplotlib.axes.Axes, optional
        Draw here; default a new 9 x 3.6 inch figure.
    today : datetime-like, optional
        Mark this moment with a "today" line (an open question's as-of), the axis extended to it.
    ylabel : str
        The y axis label (a multiple-choice question's paths are one per option).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    A forecast holds until the same forecaster's next one, so paths are steps; the last
    step runs to the end of the scoring period (the earlier of the resolution and the
    close), as in :mod:`forecasts.scoring.timeavg`.
    """
    with rc_context(_RC):
        fig, ax = _axes(ax, (9.0, 3.6))
        _tidy(ax)
        f = forecasts[forecasts["probability"].notna()].sort_values(["made_at"], kind="stable")
        names = list(forecasters) if forecasters is not None else sorted(f["forecaster"].unique())
        span = timeline_span(f["made_at"], opens_at, closes_at, resolved_at)
        if today is not None and span is not None:
            span = (span[0], max(span[1], pd.Timestamp(today)))
        ev = _event_rows(events)
        end = None
        ends = [pd.Timestamp(t) for t in (closes_at, resolved_at) if t is not None and not pd.isna(t)]
        if ends:
            end = min(ends)
        for name in names:
            rows = f[f["forecaster"] == name]
            if rows.empty:
                continue
            x: list[Any] = list(pd.to_datetime(rows["made_at"]))  # matplotlib converts dates
            y = list(rows["probability"].astype(float))
            stop = end if end is not None and end > x[-1] else x[-1]
            if today is not None:  # an open question: a path runs to today, not into the future
                stop = max(min(stop, pd.Timestamp(today)), x[-1])
            style = forecaster_style(name)
            colour = colour_of(name, names)
            ax.step(x + [stop], y + [y[-1]], where="post", color=colour, linewidth=style["linewidth"],
                    alpha=style["alpha"], linestyle=style["linestyle"], label=f"{name} ({len(rows)})")
            if style["marker"]:
                ax.plot(x, y, linestyle="none", marker="o", markersize=3.2, color=colour)
        if span is not None:
            lo, hi = span
            if len(ev):
                inside = (ev["occurred_at"] >= lo) & (ev["occurred_at"] <= hi)
                ev = ev[inside].reset_index(drop=True)
            pad = max((hi - lo) * 0.02, pd.Timedelta(hours=6))
            ax.set_xlim(cast(Any, lo - pad), cast(Any, hi + pad))
        levels = _label_levels(ev["occurred_at"], ax.get_xlim()) if len(ev) else []
        for i, at in enumerate(pd.to_datetime(ev["occurred_at"]) if len(ev) else []):
            at = cast(Any, at)
            ax.axvline(at, color="#8c8c8c", linewidth=0.6, alpha=0.55, zorder=0)
            ax.annotate(str(i + 1), xy=(at, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(0, 3 + 8.5 * levels[i]), textcoords="offset points", ha="center",
                        va="bottom", fontsize=7, color=MUTED, annotation_clip=False)
        if today is not None:
            now = cast(Any, pd.Timestamp(today))
            ax.axvline(now, color=ACCENT, linewidth=1.2, zorder=1)
            ax.annotate("today", xy=(now, 0.98), xytext=(3, 0), textcoords="offset points", ha="left",
                        va="top", fontsize=7.5, color=ACCENT)
        if closes_at is not None and not pd.isna(closes_at):
            ax.axvline(cast(Any, pd.Timestamp(closes_at)), color=INK, linewidth=1.0, linestyle=(0, (4, 3)))
            ax.annotate("close", xy=(pd.Timestamp(closes_at), 0.02), xytext=(-3, 0),
                        textcoords="offset points", ha="right", va="bottom", fontsize=7.5, color=INK)
        if resolved_at is not None and not pd.isna(resolved_at) and outcome:
            yes = outcome == "yes"
            level = 1.0 if yes else 0.0 if outcome == "no" else 0.5
            colour = YES_COLOUR if yes else NO_COLOUR if outcome == "no" else MUTED
            ax.plot(cast(Any, [pd.Timestamp(resolved_at)]), [level], marker="*", markersize=13, color=colour,
                    markeredgecolor="white", markeredgewidth=0.8, linestyle="none", zorder=5,
                    label=f"resolved {outcome.upper()}", clip_on=False)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel(ylabel)
        locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        if title:
            ax.set_title(title, loc="left", pad=6 + 8.5 * (max(levels) + 1.5) if len(ev) else 6)
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            ax.legend(frameon=False, fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


# ----------------------------------------------------------------------------- output
_SVG_HEAD = re.compile(r"^.*?(?=<svg)", re.S)


def to_svg(fig: Figure) -> str:
    """The figure as an ``<svg>`` element to inline in HTML (no XML prolog, text as text).

    >>> to_svg(Figure(figsize=(1, 1))).startswith("<svg")
    True
    """
    buf = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return _SVG_HEAD.sub("", buf.getvalue(), count=1).strip()
