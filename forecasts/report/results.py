"""Result objects that notebooks show and the report is made of.

:class:`ScoreTable`, :class:`CalibrationResult` and :class:`QuestionTimeline` wrap what
:mod:`forecasts.scoring` and the ledger return, add the figure from :mod:`forecasts.plots`, and
display themselves in Jupyter through ``_repr_html_`` (tables as HTML, figures as inline SVG),
in the manner of arviz-plots' ``PlotCollection``.  ``forecasts report`` renders the very same
HTML fragments, so a notebook and a report never disagree.

Each object is built ``from_ledger`` (reading the ledger as of a time) or ``from_frames``
(from ledger-shaped DataFrames, e.g. an imported track record that never went into a ledger).
The numbers are kept in plain attributes (``frame``, ``summary``, ``curve``...) for code; the
HTML is only a view of them.  Every number cell carries ``data-metric`` and the exact value in
``data-value``, so tests and scripts can read the HTML without parsing formatted text.
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from forecasts import plots
from forecasts.domain import KIND_LABELS, forecaster_kind
from forecasts.errors import UnknownQuestion

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

    from forecasts.scoring import Holdings, Weighting

__all__ = ["CalibrationResult", "LedgerReader", "QuestionTimeline", "ScoreTable", "kind_badge",
           "scoped_frames"]


class LedgerReader(Protocol):
    """What the report reads from a ledger: its public frames as of a time, nothing else.

    Any store behind the ledger will do (the report never sees which one).
    """

    def questions(self, as_of: Any = None) -> pd.DataFrame: ...
    def forecasts(self, as_of: Any = None) -> pd.DataFrame: ...
    def resolutions(self, as_of: Any = None) -> pd.DataFrame: ...
    def events(self, as_of: Any = None) -> pd.DataFrame: ...
    def evidence(self, as_of: Any = None) -> pd.DataFrame: ...


#: The badge of a track record that is not all live (:func:`forecasts.scoring.track_records`).
_RECORD_LABELS = {"imported": "imported history", "live+imported": "live + imported"}
#: A forecaster is ranked in the report's score table with at least this many resolved questions.
MIN_RANKED = 5
#: Below this many resolved questions a reliability diagram is flagged as too small a sample.
FEW_FOR_CALIBRATION = 20


def record_badge(record: object) -> str:
    """The HTML badge marking imported history (empty for a live track record).

    >>> record_badge("imported")
    '<span class="kind record-imported" data-record="imported">imported history</span>'
    """
    label = _RECORD_LABELS.get(str(record))
    if label is None:
        return ""
    slug = str(record).replace("+", "-")
    return f'<span class="kind record-{slug}" data-record="{html.escape(str(record))}">{label}</span>'


def kind_badge(name: str) -> str:
    """The HTML badge naming a forecaster's kind (:func:`forecasts.domain.forecaster_kind`).

    >>> kind_badge("import:metaculus")
    '<span class="kind kind-import">imported record</span>'
    """
    kind = forecaster_kind(name)
    return f'<span class="kind kind-{kind}">{html.escape(KIND_LABELS[kind])}</span>'


# --------------------------------------------------------------------------- formatting
def _number(value: Any, fmt: str = "{:.3f}", *, percent: bool = False, signed: bool = False) -> str:
    if value is None:
        return "–"
    v = float(value)
    if math.isnan(v):
        return "–"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if percent:
        return f"{100 * v:.0f}%"
    text = ("{:+" + fmt[2:]).format(v) if signed else fmt.format(v)
    return text.replace("-", "−")


def _exact(value: Any) -> str:
    if value is None:
        return "nan"
    v = float(value)
    return "nan" if math.isnan(v) else repr(v)


def _cell(metric: str, value: Any, text: str, *, who: str | None = None, title: str | None = None) -> str:
    attrs = f' data-metric="{metric}" data-value="{_exact(value)}"'
    if who is not None:
        attrs += f' data-forecaster="{html.escape(who)}"'
    if title:
        attrs += f' title="{html.escape(title)}"'
    return f'<td class="num"{attrs}>{text}</td>'


def _date(value: Any) -> str:
    if value is None or pd.isna(value):
        return "–"
    t = pd.Timestamp(value)
    return t.strftime("%Y-%m-%d") if (t.hour, t.minute) == (0, 0) else t.strftime("%Y-%m-%d %H:%M")


def _figure_html(fig: Figure, css: str) -> str:
    return f'<figure class="{css}">{plots.to_svg(fig)}</figure>'


# --------------------------------------------------------------------------- scoping
def scoped_frames(ledger: LedgerReader, *, as_of: Any = None, tag: str | None = None,
                  since: Any = None) -> dict[str, Any]:
    """The ledger's frames as of a time, limited to the questions in scope.

    ``tag`` keeps questions carrying that tag; ``since`` keeps questions whose scheduled close
    is on or after that date (a track record "since 2024" is the questions that ran into
    2024 or later).  Returns ``forecasts``, ``questions``, ``resolutions``, ``events`` and
    ``evidence`` frames; forecasts, resolutions and evidence are those of the kept questions.
    """
    from forecasts import domain

    t = domain.now() if as_of is None else domain.parse_time(as_of, "as-of date")
    questions = ledger.questions(t)
    if tag is not None:
        wanted = tag.strip().lower()
        questions = questions.loc[[wanted in (tags or []) for tags in questions["tags"]]]  # .loc keeps the columns when empty
    if since is not None:
        start = domain.parse_time(since, "since date")
        questions = questions[questions["closes_at"] >= start]
    keep = set(questions["id"])
    forecasts = ledger.forecasts(t)
    resolutions = ledger.resolutions(t)
    evidence = ledger.evidence(t)
    return {
        "forecasts": forecasts[forecasts["question"].isin(keep)].reset_index(drop=True),
        "questions": questions.reset_index(drop=True),
        "resolutions": resolutions[resolutions["question"].isin(keep)].reset_index(drop=True),
        "events": ledger.events(t),
        "evidence": evidence[evidence["question"].isin(keep)].reset_index(drop=True),
        "as_of": t,
    }


# --------------------------------------------------------------------------- scores
_SCORE_COLUMNS = (
    # column, header, help, format
    ("n_questions", "Questions", "Resolved questions scored", "{:.0f}"),
    ("n_forecasts", "Forecasts", "Forecasts that held for some time in a scoring period", "{:.0f}"),
    ("coverage", "Coverage", "Mean share of each question's open period covered by a standing forecast", None),
    ("brier", "Brier", "Time-averaged Brier score, 0-1, lower is better", "{:.3f}"),
    ("log", "Log", "Time-averaged log score in nats, lower is better", "{:.3f}"),
    ("baseline", "Baseline", "Metaculus baseline score 100·log2(2p), higher is better", "{:.1f}"),
    ("peer", "Peer", "Metaculus peer score against the persons (the other persons, for a person), higher is better", "{:.1f}"),
    ("vs_median", "Δ median", "Good Judgment relative Brier: yours minus the median person's, daily; negative is better", "rel"),
    ("vs_crowd", "Δ crowd", "Brier minus the crowd's Brier on the questions both forecast; negative is better", "rel"),
)


def _pick_crowd(forecasts: pd.DataFrame) -> str | None:
    names = forecasts["forecaster"].astype(str)
    kinds = names.map({n: forecaster_kind(n) for n in names.unique()})
    for kind in ("crowd", "import"):
        sub = names[kinds == kind]
        if len(sub):
            counts = forecasts.loc[sub.index].groupby("forecaster")["question"].nunique()
            return str(min(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[0])
    return None


class _Shown:
    """Shows itself in Jupyter: its HTML with the report's styles (figures as inline SVG)."""

    def to_html(self, **options: Any) -> str:
        """The result as an HTML fragment (each result writes its own)."""
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return f'<div class="forecasts-result">{_INLINE_CSS}{self.to_html()}</div>'


class _ShownFigure(_Shown):
    """A result with a figure that can also be saved to a file."""

    def figure(self, ax: Axes | None = None, **options: Any) -> Figure:
        """The figure (each result draws its own)."""
        raise NotImplementedError

    def savefig(self, path: str | os.PathLike, **kwargs: Any) -> None:
        """Save the figure (format from the file name)."""
        self.figure().savefig(path, **kwargs)


@dataclass
class ScoreTable(_Shown):
    """Scores of every forecaster (persons, models, crowds, imports, backtests) under one set of rules.

    ``frame`` is indexed by forecaster with the columns ``kind`` (one of
    :data:`forecasts.domain.FORECASTER_KINDS`), ``record`` (``live``, ``imported`` or
    ``live+imported``: where the forecasts came from; None when the frames have no
    ``source`` column), ``n_questions``,
    ``n_forecasts``, ``coverage``, ``brier``, ``log`` (time-averaged, lower is better),
    ``baseline``, ``peer`` (Metaculus, higher is better), ``vs_median`` (Good Judgment style
    daily relative Brier) and ``vs_crowd`` (Brier minus the reference crowd's on shared
    questions), ``n_vs_crowd``.  Every number is :func:`forecasts.scoring.score_table`'s; the
    peer score and the median compare everyone with the persons (see
    :func:`forecasts.scoring.peer_scores`).
    """

    frame: pd.DataFrame
    crowd: str | None = None
    excluded: dict = field(default_factory=dict)
    #: Ranked (ordered by Brier, the best in bold) only with this many resolved questions.
    min_questions: int = MIN_RANKED

    def ranked(self) -> pd.DataFrame:
        """The forecasters with at least :attr:`min_questions` resolved questions, best Brier
        first: the only ones :meth:`to_html` ranks."""
        return self.frame[self.frame["n_questions"] >= self.min_questions].sort_values("brier", kind="stable")

    @classmethod
    def from_frames(cls, forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame,
                    *, as_of: Any = None, forecasters: Sequence[str] | None = None,
                    crowd: str | None = None) -> ScoreTable:
        """Score everyone in the frames; show ``forecasters`` only (default all).

        Everyone is scored, so peer scores and medians keep their full reference set (the
        persons).  ``crowd`` names the reference for ``vs_crowd`` (default: the crowd
        aggregate with the most questions, else the imported record with the most, else none).
        """
        from forecasts.scoring import Holdings

        return cls.from_holdings(Holdings(forecasts, questions, resolutions, as_of), forecasters=forecasters,
                                 crowd=crowd)

    @classmethod
    def from_holdings(cls, held: Holdings, *, forecasters: Sequence[str] | None = None,
                      crowd: str | None = None) -> ScoreTable:
        """:meth:`from_frames` of frames prepared once (:class:`forecasts.scoring.Holdings`),
        so that a caller that also needs their pairs or calibration cases prepares them once.
        Every column is the :func:`~forecasts.scoring.score_table` of the frames."""
        brier = held.table(rule="brier", relative_to="crowd:median")
        if brier.empty:
            frame = pd.DataFrame(columns=["kind", "record"] + [c for c, *_ in _SCORE_COLUMNS] + ["n_vs_crowd"])
            return cls(frame.rename_axis("forecaster"), crowd, dict(brier.attrs.get("excluded", {})))
        log = held.table(rule="log")
        baseline = held.table(rule="baseline")
        peer = held.table(rule="peer")
        frame = pd.DataFrame({
            "kind": [forecaster_kind(str(n)) for n in brier.index],
            "n_questions": brier["n_questions"], "n_forecasts": brier["n_forecasts"],
            "coverage": brier["coverage"], "brier": brier["score"],
            "log": log["score"].reindex(brier.index),
            "baseline": baseline["score"].reindex(brier.index),
            "peer": peer["score"].reindex(brier.index),
            "vs_median": brier["relative"],
        }, index=brier.index)
        forecasts = held.forecasts
        crowd = crowd if crowd is not None else _pick_crowd(forecasts)
        frame["vs_crowd"] = np.nan
        frame["n_vs_crowd"] = 0
        if crowd is not None and crowd in brier.index and brier["n_questions"].to_dict()[crowd] > 0:
            rel = held.table(rule="brier", relative_to=crowd)
            frame["vs_crowd"] = rel["relative"].reindex(frame.index)
            frame["n_vs_crowd"] = rel["n_relative"].reindex(frame.index).fillna(0).astype(np.int64)
        else:
            crowd = None
        from forecasts.scoring import track_records

        records = track_records(forecasts)
        frame["record"] = [records.get(str(n)) for n in frame.index]
        frame = frame[frame["n_questions"] > 0]
        if forecasters is not None:
            frame = frame[frame.index.isin(list(forecasters))]
        frame = frame.sort_values(["brier"], kind="stable", na_position="last")
        frame.index.name = "forecaster"
        return cls(frame, crowd, dict(brier.attrs.get("excluded", {})))

    @classmethod
    def from_ledger(cls, ledger: LedgerReader, *, as_of: Any = None,
                    forecasters: Sequence[str] | None = None, tag: str | None = None,
                    since: Any = None, crowd: str | None = None) -> ScoreTable:
        """Read the ledger as of ``as_of`` (questions limited by ``tag``/``since``) and score it."""
        fr = scoped_frames(ledger, as_of=as_of, tag=tag, since=since)
        return cls.from_frames(fr["forecasts"], fr["questions"], fr["resolutions"], as_of=fr["as_of"],
                               forecasters=forecasters, crowd=crowd)

    def to_html(self) -> str:
        """The table as an HTML fragment (``<table class="scores">``)."""
        if self.frame.empty:
            return '<p class="empty" data-empty="scores">No resolved questions with forecasts yet: nothing to score.</p>'
        head = "".join(
            f'<th class="num" title="{html.escape(help_)}">{html.escape(label if col != "vs_crowd" or not self.crowd else f"Δ {self.crowd}")}</th>'
            for col, label, help_, _ in _SCORE_COLUMNS)
        rows = []
        ranked = self.ranked()
        rest = self.frame[~self.frame.index.isin(ranked.index)].sort_values(
            ["n_questions", "brier"], ascending=[False, True], kind="stable")
        width = len(_SCORE_COLUMNS) + 1
        for rank, (name, r) in enumerate([*ranked.iterrows(), *rest.iterrows()]):
            if rank == len(ranked) and len(rest):
                rows.append(f'<tr class="unranked-head"><td colspan="{width}">Not ranked: fewer than '
                            f'{self.min_questions} resolved questions each, most questions first. Their scores '
                            'rest on too few outcomes to order them.</td></tr>')
            best = ' class="best"' if rank == 0 and len(ranked) else ""
            cells = [f'<th scope="row"><span class="who">{html.escape(str(name))}</span>'
                     f'{kind_badge(str(name))}{record_badge(r.get("record"))}</th>']
            for col, _, _, fmt in _SCORE_COLUMNS:
                v = r[col]
                if fmt is None:
                    text = _number(v, percent=True)
                elif fmt == "rel":
                    text = _number(v, "{:.3f}", signed=True)
                else:
                    text = _number(v, fmt)
                tip = f"on {int(r['n_vs_crowd'])} shared questions" if col == "vs_crowd" else None
                cells.append(_cell(col, v, text, who=str(name), title=tip))
            rows.append(f'<tr data-forecaster="{html.escape(str(name))}"{best}>{"".join(cells)}</tr>')
        note = []
        ex = {k: v for k, v in self.excluded.items() if v}
        if ex:
            note.append("Left out: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in ex.items())
                        + " question(s).")
        if self.crowd:
            note.append(f"Δ {html.escape(self.crowd)}: Brier minus {html.escape(self.crowd)}'s on the questions both forecast.")
        foot = f'<p class="note">{" ".join(note)}</p>' if note else ""
        return (f'<div class="table-wrap"><table class="scores"><thead><tr><th>Forecaster</th>{head}</tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table></div>{foot}')

    def __repr__(self) -> str:
        crowd = f", crowd {self.crowd}" if self.crowd else ""
        return f"ScoreTable({len(self.frame)} forecasters{crowd})\n{self.frame.to_string()}"


# --------------------------------------------------------------------------- calibration
class CalibrationResult(_ShownFigure):
    """A forecaster's calibration: CORP reliability curve with bands, decomposition, Z test.

    Built from calibration cases (``p``, ``y``, ``weight``, ``question``: see
    :func:`forecasts.scoring.calibration_cases`; only questions past their scheduled close
    count).  ``summary`` holds ``n_questions``, ``n_forecasts``, ``brier``, ``mcb``, ``dsc``,
    ``unc``, ``log``, ``log_mcb``, ``log_dsc``, ``log_unc`` (weighted CORP decompositions,
    :func:`~forecasts.scoring.decompose`), ``spiegelhalter_z`` and ``spiegelhalter_p``
    (:func:`~forecasts.scoring.spiegelhalter`, unweighted); ``curve`` is
    :func:`~forecasts.scoring.reliability`'s frame with consistency bands, computed the first
    time it is read (a report that shows the numbers of a thousand forecasters but draws a
    dozen diagrams resamples only for those it draws; the seed makes it the same whenever).
    """

    def __init__(self, cases: pd.DataFrame, label: str = "forecasts", *, n_boot: int = 200,
                 random_state: int | None = 0, excluded: dict | None = None) -> None:
        from forecasts.scoring import decompose, spiegelhalter

        self.label = label
        self.cases = cases.reset_index(drop=True)
        self.excluded = dict(excluded or cases.attrs.get("excluded", {}))
        self._curve: pd.DataFrame | None = None
        self._curve_options = {"n_boot": n_boot, "random_state": random_state}
        self.summary: dict[str, float] = {"n_questions": 0, "n_forecasts": 0}
        if self.cases.empty:
            return
        p = self.cases["p"].to_numpy(dtype=float)
        y = self.cases["y"].to_numpy(dtype=float)
        w = self.cases["weight"].to_numpy(dtype=float) if "weight" in self.cases else None
        n_q = self.cases["question"].nunique() if "question" in self.cases else len(self.cases)
        groups = None
        if {"question", "forecaster"} <= set(self.cases.columns):  # one outcome per question: cluster
            groups = (self.cases["question"].astype(str) + "\x1f" + self.cases["forecaster"].astype(str)).to_numpy()
        db, dl = decompose(p, y, "brier", weights=w), decompose(p, y, "log", weights=w)
        sp = spiegelhalter(p, y, weights=w, groups=groups)
        self.summary = {
            "n_questions": int(n_q), "n_forecasts": int(len(self.cases)),
            "brier": db["score"], "mcb": db["mcb"], "dsc": db["dsc"], "unc": db["unc"],
            "log": dl["score"], "log_mcb": dl["mcb"], "log_dsc": dl["dsc"], "log_unc": dl["unc"],
            "spiegelhalter_z": sp["z"], "spiegelhalter_p": sp["p_value"],
        }

    @property
    def curve(self) -> pd.DataFrame | None:
        """The CORP reliability curve with its consistency band (None without cases)."""
        if self._curve is None and not self.cases.empty:
            from forecasts.scoring import reliability

            p = self.cases["p"].to_numpy(dtype=float)
            y = self.cases["y"].to_numpy(dtype=float)
            w = self.cases["weight"].to_numpy(dtype=float) if "weight" in self.cases else None
            self._curve = reliability(p, y, w, bands=("consistency",), **self._curve_options)
        return self._curve

    @classmethod
    def from_frames(cls, forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame,
                    forecaster: str | Sequence[str] | None = None, *, as_of: Any = None,
                    weighting: Weighting = "time", label: str | None = None,
                    **options: Any) -> CalibrationResult:
        """Calibration of ``forecaster`` (a name, several, or ``None`` for everyone pooled)."""
        from forecasts.scoring import calibration_cases

        cases = calibration_cases(forecasts, questions, resolutions, forecaster, as_of=as_of, weighting=weighting)
        if label is None:
            label = forecaster if isinstance(forecaster, str) else "all forecasters" if forecaster is None else ", ".join(forecaster)
        return cls(cases, label, **options)

    @classmethod
    def from_ledger(cls, ledger: LedgerReader, forecaster: str | Sequence[str] | None = None, *,
                    as_of: Any = None, tag: str | None = None, since: Any = None,
                    **options: Any) -> CalibrationResult:
        """Read the ledger as of ``as_of`` and compute the calibration of ``forecaster``."""
        fr = scoped_frames(ledger, as_of=as_of, tag=tag, since=since)
        return cls.from_frames(fr["forecasts"], fr["questions"], fr["resolutions"], forecaster,
                               as_of=fr["as_of"], **options)

    @classmethod
    def from_arrays(cls, p: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None, *,
                    questions: ArrayLike | None = None, label: str = "forecasts",
                    **options: Any) -> CalibrationResult:
        """From plain forecasts ``p`` and outcomes ``y`` (e.g. a platform's last forecasts)."""
        p = np.asarray(p, dtype=float)
        cases = pd.DataFrame({"p": p, "y": np.asarray(y, dtype=float),
                              "weight": np.ones_like(p) if weights is None else np.asarray(weights, dtype=float),
                              "question": np.arange(len(p)) if questions is None else np.asarray(questions)})
        return cls(cases, label, **options)

    @property
    def empty(self) -> bool:
        """True when no case counts (no resolved binary question past its close)."""
        return self.cases.empty

    def figure(self, ax: Axes | None = None, *, colour: str = plots.PALETTE[0],
               title: str | None = None) -> Figure:
        """The reliability diagram (:func:`forecasts.plots.reliability_diagram`)."""
        curve = self.curve if self.curve is not None else pd.DataFrame({"x": [], "cep": [], "n": []})
        return plots.reliability_diagram(curve, ax=ax, colour=colour, title=title)

    def summary_html(self) -> str:
        """The decomposition and the Z test as a small HTML table."""
        s, who = self.summary, self.label
        rows = [
            ("Questions", "n_questions", "{:.0f}", "resolved binary questions past their scheduled close"),
            ("Forecasts", "n_forecasts", "{:.0f}", "cases, each weighted by the share of the question it held"),
            ("Brier", "brier", "{:.3f}", "mean Brier score = MCB − DSC + UNC"),
            ("MCB", "mcb", "{:.3f}", "miscalibration (0 is perfectly calibrated)"),
            ("DSC", "dsc", "{:.3f}", "discrimination (higher is better)"),
            ("UNC", "unc", "{:.3f}", "uncertainty of the outcomes"),
            ("Log", "log", "{:.3f}", "mean log score, nats"),
            ("Spiegelhalter Z", "spiegelhalter_z", "{:.2f}", "≈ N(0, 1) if calibrated; |Z| > 2 is suspect"),
            ("p-value", "spiegelhalter_p", "{:.3f}", "two-sided"),
        ]
        body = "".join(
            f'<tr><th scope="row" title="{html.escape(help_)}">{label}</th>'
            f'{_cell(key, s.get(key), _number(s.get(key), fmt), who=who)}</tr>'
            for label, key, fmt, help_ in rows)
        return f'<table class="decomposition" data-forecaster="{html.escape(who)}">{body}</table>'

    def to_html(self, *, colour: str = plots.PALETTE[0]) -> str:
        """Diagram and summary side by side, as an HTML fragment."""
        if self.empty:
            return (f'<div class="calibration" data-forecaster="{html.escape(self.label)}"><h3>{html.escape(self.label)}</h3>'
                    '<p class="empty">No resolved binary questions past their scheduled close yet.</p></div>')
        return (f'<div class="calibration" data-forecaster="{html.escape(self.label)}">'
                f'<h3>{html.escape(self.label)}</h3>{self.sample_flag()}<div class="calibration-body">'
                f'{_figure_html(self.figure(colour=colour), "reliability")}{self.summary_html()}</div></div>')

    def sample_flag(self) -> str:
        """A warning beside the diagram when its sample is small: fewer than
        :data:`FEW_FOR_CALIBRATION` questions, or outcomes that were all the same (then DSC and
        UNC are 0 by construction and the curve says nothing about discrimination)."""
        n = int(self.summary["n_questions"])
        parts = []
        if n < FEW_FOR_CALIBRATION:
            parts.append(f"Only {n} resolved question{'s' if n != 1 else ''}: calibration needs many questions "
                         f"(dozens; {FEW_FOR_CALIBRATION} at the least) before a curve says anything; read this "
                         "one as an illustration, not a verdict.")
        if self.summary.get("unc", 1.0) == 0:
            parts.append("Every outcome was the same, so DSC and UNC are 0 by construction.")
        return f'<p class="flag" data-flag="small-sample">{" ".join(parts)}</p>' if parts else ""

    def __repr__(self) -> str:
        s = self.summary
        if self.empty:
            return f"CalibrationResult({self.label!r}: no cases)"
        return (f"CalibrationResult({self.label!r}: {s['n_forecasts']} forecasts on {s['n_questions']} questions, "
                f"Brier {s['brier']:.3f} = MCB {s['mcb']:.3f} - DSC {s['dsc']:.3f} + UNC {s['unc']:.3f}, "
                f"Z {s['spiegelhalter_z']:.2f})")


# --------------------------------------------------------------------------- timelines
_URL = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:)]")


def linked(text: str) -> str:
    """``text`` escaped for HTML, each web address in it a link named by its host.

    >>> linked("See https://www.example.org/a?b=1&c=2 (2024).")
    'See <a href="https://www.example.org/a?b=1&amp;c=2" rel="noreferrer">example.org</a> (2024).'
    """
    out, at = [], 0
    for m in _URL.finditer(text):
        host = re.sub(r"^www\.", "", m.group(0).split("/")[2])
        out += [html.escape(text[at:m.start()]),
                f'<a href="{html.escape(m.group(0))}" rel="noreferrer">{html.escape(host)}</a>']
        at = m.end()
    return "".join([*out, html.escape(text[at:])])


def with_resolution_note(question: dict, resolutions: pd.DataFrame | None) -> dict:
    """``question`` (a row as a dict) with ``resolution_note``, the note of its latest
    resolution in ``resolutions`` (None when it has none)."""
    if resolutions is None or not len(resolutions) or "note" not in resolutions:
        return question
    mine = resolutions[resolutions["question"] == question["id"]]
    if len(mine):
        note = (mine.sort_values("seq", kind="stable") if "seq" in mine else mine)["note"].iloc[-1]
        question["resolution_note"] = note if isinstance(note, str) else None
    return question


class QuestionTimeline(_ShownFigure):
    """One question over time: everyone's probability path, the events, close and resolution.

    ``question`` is the question's row (a dict), ``forecasts`` its forecasts, ``events`` the
    events shown, numbered from 1 in date order (column ``number``): those assessed as
    evidence on the question, and those sharing one of its tags, within the shown period
    (:func:`forecasts.plots.timeline_span`).  A resolved question's row may carry its latest
    resolution's note as ``resolution_note`` (:meth:`from_frames` adds it from the
    resolutions); it is shown under the criteria, its web addresses as links.
    """

    def __init__(self, question: dict, forecasts: pd.DataFrame, events: pd.DataFrame | None = None,
                 *, forecasters: Sequence[str] | None = None, today: Any = None) -> None:
        self.question = dict(question)
        #: An open question's as-of, drawn as a "today" line (None: no line).
        self.today = today if today is not None and not isinstance(self.question.get("outcome"), str) else None
        f = forecasts[forecasts["question"] == self.question["id"]] if "question" in forecasts else forecasts
        if forecasters is not None:
            f = f[f["forecaster"].isin(list(forecasters))]
        self.forecasts = f.sort_values(["made_at", "seq"] if "seq" in f else ["made_at"], kind="stable").reset_index(drop=True)
        q = self.question
        span = plots.timeline_span(self.forecasts["made_at"], q.get("opens_at"), q.get("closes_at"), q.get("resolved_at"))
        ev = events if events is not None else pd.DataFrame({"occurred_at": [], "title": []})
        if len(ev) and span is not None:
            ev = ev[(ev["occurred_at"] >= span[0]) & (ev["occurred_at"] <= span[1])]
        ev = ev.sort_values("occurred_at", kind="stable").reset_index(drop=True)
        ev.insert(0, "number", np.arange(1, len(ev) + 1))
        self.events = ev

    @classmethod
    def from_frames(cls, question: dict | pd.Series, forecasts: pd.DataFrame, events: pd.DataFrame | None = None,
                    evidence: pd.DataFrame | None = None, resolutions: pd.DataFrame | None = None,
                    **options: Any) -> QuestionTimeline:
        """Pick the question's events from ``events``: assessed in ``evidence``, or sharing a
        tag; take its resolution's note from ``resolutions`` (the latest per question)."""
        q = with_resolution_note(dict(question), resolutions)
        chosen = events
        if events is not None and len(events):
            assessed = set()
            if evidence is not None and len(evidence):
                assessed = set(evidence.loc[evidence["question"] == q["id"], "event"])
            tags = set(q.get("tags") or [])
            shares = [bool(tags & set(t or [])) for t in events["tags"]] if "tags" in events else [False] * len(events)
            chosen = events[events["seq"].isin(assessed).to_numpy() | np.array(shares, dtype=bool)]
        return cls(q, forecasts, chosen, **options)

    @classmethod
    def from_ledger(cls, ledger: LedgerReader, question: str, *, as_of: Any = None,
                    forecasters: Sequence[str] | None = None) -> QuestionTimeline:
        """Read one question as of ``as_of``."""
        fr = scoped_frames(ledger, as_of=as_of)
        qs = fr["questions"]
        row = qs[qs["id"] == question]
        if row.empty:
            raise UnknownQuestion(f"no question {question!r}; see 'forecasts questions'")
        return cls.from_frames(row.iloc[0], fr["forecasts"], fr["events"], fr["evidence"], fr["resolutions"],
                               forecasters=forecasters)

    @property
    def forecasters(self) -> list[str]:
        """Who forecast the question (sorted)."""
        return sorted(self.forecasts["forecaster"].unique())

    def figure(self, ax: Axes | None = None, *, title: str | None = None) -> Figure:
        """The timeline figure (:func:`forecasts.plots.question_timeline`)."""
        q = self.question
        paths, ylabel = self._paths()
        return plots.question_timeline(paths, opens_at=q.get("opens_at"), closes_at=q.get("closes_at"),
                                       resolved_at=q.get("resolved_at"), outcome=q.get("outcome"),
                                       events=self.events, title=title, ax=ax, today=self.today, ylabel=ylabel)

    def _paths(self) -> tuple[pd.DataFrame, str]:
        """The probability paths drawn: a binary question's forecasts; a multiple-choice
        question's as one path per forecaster and option (``forecaster: option``)."""
        f = self.forecasts
        if self.question.get("kind", "binary") == "binary" or not len(f):
            return (f[f["probability"].notna()] if len(f) else f), "P(yes)"
        rows = [(f"{who}: {option}", made, float(p))
                for who, made, ps in zip(f["forecaster"], f["made_at"], f["probabilities"], strict=True)
                if isinstance(ps, dict) for option, p in ps.items()]
        return pd.DataFrame(rows, columns=["forecaster", "made_at", "probability"]), "P(option)"

    def events_html(self) -> str:
        """The numbered list of events drawn on the timeline."""
        if self.events.empty:
            return ""
        items = []
        for r in self.events.itertuples():
            url = getattr(r, "source_url", None)
            link = (f' <a href="{html.escape(url)}" rel="noreferrer">source</a>'
                    if isinstance(url, str) and url.startswith(("http://", "https://")) else "")
            items.append(f'<li value="{r.number}"><time>{_date(r.occurred_at)}</time> {html.escape(str(r.title))}{link}</li>')
        return f'<ol class="events">{"".join(items)}</ol>'

    def to_html(self, *, heading: str = "h3") -> str:
        """Title, status line, figure and events, as an HTML fragment."""
        q = self.question
        outcome = q.get("outcome")
        status = (f"resolved <b>{html.escape(str(outcome).upper())}</b> on {_date(q.get('resolved_at'))}"
                  if isinstance(outcome, str) else "unresolved")
        meta = (f'<p class="meta"><code>{html.escape(q["id"])}</code> · opened {_date(q.get("opens_at"))} · '
                f'closes {_date(q.get("closes_at"))} · {status} · {len(self.forecasts)} forecasts by '
                f'{len(self.forecasters)} forecaster{"s" if len(self.forecasters) != 1 else ""}</p>')
        criteria = q.get("criteria")
        crit = f'<p class="criteria">{html.escape(criteria)}</p>' if isinstance(criteria, str) and criteria else ""
        note = q.get("resolution_note")
        if isinstance(outcome, str) and isinstance(note, str) and note:
            crit += f'<p class="resolution-note">Resolution: {linked(note)}</p>'

        if self.forecasts.empty:
            body = '<p class="empty">No forecasts on this question yet.</p>'
        else:
            body = _figure_html(self.figure(), "timeline-figure")
        return (f'<section class="timeline" data-question="{html.escape(q["id"])}">'
                f'<{heading}>{html.escape(str(q.get("title", q["id"])))}</{heading}>{meta}{crit}{body}'
                f'{self.events_html()}</section>')

    def __repr__(self) -> str:
        return (f"QuestionTimeline({self.question['id']!r}: {len(self.forecasts)} forecasts, "
                f"{len(self.events)} events)")


# A few rules so that the fragments read well in Jupyter too (the report has its own sheet).
_INLINE_CSS = """<style>
.forecasts-result table{border-collapse:collapse;font-size:13px;margin:.4em 0}
.forecasts-result th,.forecasts-result td{padding:3px 9px;border-bottom:1px solid #e3e3e3;text-align:left}
.forecasts-result td.num,.forecasts-result th.num{text-align:right;font-variant-numeric:tabular-nums}
.forecasts-result .kind{margin-left:.5em;font-size:11px;color:#777}
.forecasts-result .note,.forecasts-result .meta{color:#666;font-size:12px}
.forecasts-result .calibration-body{display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap}
.forecasts-result figure{margin:0}
.forecasts-result svg{max-width:100%;height:auto}
.forecasts-result ol.events{font-size:12px;columns:2;color:#444}
</style>"""
