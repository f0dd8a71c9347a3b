"""Build the calibration report: one self-contained HTML file from a ledger as of a time.

The file holds everything inline (CSS, figures as SVG, no scripts, no fonts or images from the
network), so it opens from disk, survives e-mail and prints.  Sections:

1. **Summary**: who forecast what (forecasters by kind, questions by status).
2. **Scores**: :class:`~forecasts.report.results.ScoreTable` for every forecaster, of every
   kind (:data:`forecasts.domain.FORECASTER_KINDS`: persons, models, crowd aggregates, imported
   records, backtests) alike (Brier, log, Metaculus baseline and peer against the persons,
   relative to the median person and to the crowd, with n and coverage).
3. **Calibration**: for each forecaster with resolved questions past their scheduled close, a
   CORP reliability diagram with its consistency band and a count histogram, the MCB/DSC/UNC
   decomposition and Spiegelhalter's Z (:class:`~forecasts.report.results.CalibrationResult`).
4. **Sharpness**: how far forecasts stray from 50 %, and their distribution.
5. **Timelines**: one per question (:class:`~forecasts.report.results.QuestionTimeline`).
6. **Method**: the rules behind the numbers.

The report reads the ledger through its public frames only
(:class:`~forecasts.report.results.LedgerReader`: ``questions``, ``forecasts``,
``resolutions``, ``events``, ``evidence`` as of a time), so it works over any store.
The library never prints: ``progress(step, total, label)`` is called before each step so the
CLI can draw a progress bar.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasts import plots
from forecasts.domain import FORECASTER_KINDS, KIND_LABELS, RESERVED_PREFIXES, forecaster_kind
from forecasts.errors import UnknownForecaster
from forecasts.report.results import (
    CalibrationResult,
    LedgerReader,
    QuestionTimeline,
    ScoreTable,
    _cell,
    _date,
    _figure_html,
    _number,
    scoped_frames,
)

__all__ = ["build_report", "default_out"]

TEMPLATES = Path(__file__).with_name("templates")
#: How a name shows each kind (the reserved prefixes of :mod:`forecasts.domain`).
_PREFIX_OF = {kind: f"<code>{prefix}*</code>" for prefix, kind in RESERVED_PREFIXES.items()}
_PREFIX_OF["person"] = "any other name"
Progress = Callable[[int, int, str], None]


def _ledger_name(ledger: LedgerReader) -> tuple[str, str]:
    """How the report names the ledger: a short name for the file and a longer one to show.

    A ledger kept in a file is named by its file (``path``); any other store by its ``name``
    attribute if it has one, else ``ledger``.
    """
    where = getattr(ledger, "path", None)
    if where is not None:
        return Path(where).stem, str(where)
    name = str(getattr(ledger, "name", None) or "ledger")
    return name, name


def default_out(ledger: LedgerReader) -> Path:
    """``reports/<ledger file name>.html`` under the current folder (the demo ledger
    ``new-start.duckdb`` gives ``reports/new-start.html``)."""
    return Path("reports") / f"{_ledger_name(ledger)[0]}.html"


def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _who_table(forecasts: pd.DataFrame, names: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        f = forecasts[forecasts["forecaster"] == name]
        kind = forecaster_kind(name)
        rows.append({"name": name, "kind": kind, "kind_label": KIND_LABELS[kind], "questions": int(f["question"].nunique()),
                     "forecasts": len(f), "first": _date(f["made_at"].min()), "last": _date(f["made_at"].max())})
    return rows


def _question_rows(questions: pd.DataFrame, forecasts: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for q in questions.itertuples():
        f = forecasts[forecasts["question"] == q.id]
        rows.append({"id": q.id, "title": q.title, "status": q.status, "closes": _date(q.closes_at),
                     "outcome": q.outcome if isinstance(q.outcome, str) else "", "forecasters": int(f["forecaster"].nunique()),
                     "forecasts": len(f)})
    return rows


def _sharpness(forecasts: pd.DataFrame, names: Sequence[str]) -> tuple[str, str]:
    binary = forecasts[forecasts["probability"].notna() & forecasts["forecaster"].isin(list(names))]
    if binary.empty:
        return "", ""
    shown = [n for n in names if (binary["forecaster"] == n).any()]
    rows = []
    for name in shown:
        p = binary.loc[binary["forecaster"] == name, "probability"].to_numpy(dtype=float)
        sharp = float(np.mean(np.abs(p - 0.5)) * 2)
        extreme = float(np.mean((p <= 0.1) | (p >= 0.9)))
        rows.append(f'<tr data-forecaster="{html.escape(name)}"><th scope="row">{html.escape(name)}</th>'
                    f'{_cell("n", len(p), str(len(p)), who=name)}'
                    f'{_cell("sharpness", sharp, _number(sharp, "{:.2f}"), who=name)}'
                    f'{_cell("extreme", extreme, _number(extreme, percent=True), who=name)}'
                    f'{_cell("mean", float(p.mean()), _number(p.mean(), percent=True), who=name)}</tr>')
    table = ('<table class="sharpness"><thead><tr><th>Forecaster</th><th class="num">Forecasts</th>'
             '<th class="num" title="Mean of 2·|p − 50%|: 0 always says 50%, 1 always says 0% or 100%">Sharpness</th>'
             '<th class="num" title="Share of forecasts at or below 10% or at or above 90%">≤10% or ≥90%</th>'
             '<th class="num">Mean forecast</th></tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>')
    figure = _figure_html(plots.sharpness_histogram(binary, forecasters=shown), "sharpness-figure")
    return table, figure


def _decomposition_table(results: list[CalibrationResult]) -> str:
    cols = [("n_questions", "Questions", "{:.0f}"), ("n_forecasts", "Forecasts", "{:.0f}"),
            ("brier", "Brier", "{:.3f}"), ("mcb", "MCB", "{:.3f}"), ("dsc", "DSC", "{:.3f}"),
            ("unc", "UNC", "{:.3f}"), ("log", "Log", "{:.3f}"), ("log_mcb", "Log MCB", "{:.3f}"),
            ("log_dsc", "Log DSC", "{:.3f}"), ("spiegelhalter_z", "Z", "{:.2f}"),
            ("spiegelhalter_p", "p (Z)", "{:.3f}")]
    head = "".join(f'<th class="num">{label}</th>' for _, label, _ in cols)
    body = []
    for r in results:
        cells = "".join(_cell(key, r.summary.get(key), _number(r.summary.get(key), fmt), who=r.label)
                        for key, _, fmt in cols)
        body.append(f'<tr data-forecaster="{html.escape(r.label)}"><th scope="row">{html.escape(r.label)}</th>{cells}</tr>')
    return (f'<div class="table-wrap"><table class="decomposition-all"><thead><tr><th>Forecaster</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def build_report(ledger: LedgerReader, out: str | os.PathLike | None = None, *,
                 forecasters: Sequence[str] | None = None, tag: str | None = None, since: Any = None,
                 as_of: Any = None, progress: Progress | None = None,
                 title: str | None = None, live_only: bool = False) -> Path:
    """Write the calibration report of ``ledger`` to one self-contained HTML file.

    Parameters
    ----------
    ledger : forecasts.ledger.Ledger
        The ledger to read (nothing is written to it), through its public frames only
        (:class:`~forecasts.report.results.LedgerReader`).
    out : path, optional
        The HTML file (a folder gets ``<ledger name>.html`` inside it); default
        :func:`default_out`, ``reports/<ledger name>.html``.  Folders are created.
    forecasters : list of str, optional
        Show only these forecasters (everyone is still scored, so peer scores and medians keep
        their reference set).  An unknown name is an error.
    tag : str, optional
        Only questions with this tag.
    since : date-like, optional
        Only questions whose scheduled close is on or after this date.
    as_of : date-like, optional
        Read the ledger as it was then (default now).
    progress : callable, optional
        ``progress(step, total, label)``, called before each step (1-based) and once at the end
        with ``step == total``.
    title : str, optional
        The report's title (default "Forecast calibration report").
    live_only : bool, optional
        Report the forecasts recorded live only, leaving imported history (rows whose source
        is ``import:...``) out; otherwise the score table badges each forecaster whose
        forecasts were imported ("imported history", or "live + imported").

    Returns
    -------
    pathlib.Path
        The file written.
    """
    target = Path(out) if out is not None else default_out(ledger)
    if target.is_dir() or str(out or "").endswith(("/", os.sep)):
        target = target / f"{_ledger_name(ledger)[0]}.html"
    frames = scoped_frames(ledger, as_of=as_of, tag=tag, since=since)
    if live_only:
        from forecasts.scoring import live_only as live_rows

        frames["forecasts"] = live_rows(frames["forecasts"]).reset_index(drop=True)
    f, q, r = frames["forecasts"], frames["questions"], frames["resolutions"]
    everyone = sorted(f["forecaster"].unique())
    if forecasters:
        wanted = list(dict.fromkeys(forecasters))
        unknown = [n for n in wanted if n not in everyone]
        if unknown:
            raise UnknownForecaster(f"no forecasts by {', '.join(map(repr, unknown))} in the questions reported; "
                               "see 'forecasts history QUESTION' for who forecast what")
        shown = sorted(wanted)
    else:
        shown = everyone
    total = 4 + len(shown) + len(q)
    step = 0

    def tick(label: str) -> None:
        nonlocal step
        step += 1
        if progress is not None:
            progress(step, total, label)

    tick("scores")
    scores = ScoreTable.from_frames(f, q, r, as_of=frames["as_of"], forecasters=shown)
    calibrations = []
    for name in shown:
        tick(f"calibration: {name}")
        res = CalibrationResult.from_frames(f, q, r, name, as_of=frames["as_of"])
        if not res.empty:
            calibrations.append(res)
    from forecasts.scoring import calibration_cases

    excluded = calibration_cases(f, q, r, shown, as_of=frames["as_of"]).attrs["excluded"] if shown else {}
    tick("sharpness")
    sharp_table, sharp_figure = _sharpness(f, shown)
    timelines = []
    for row in q.to_dict("records"):
        tick(f"timeline: {row['id']}")
        timelines.append(QuestionTimeline.from_frames(row, f, frames["events"], frames["evidence"],
                                                      forecasters=shown if forecasters else None).to_html(heading="h3"))
    tick("writing")
    status = q["status"].value_counts().to_dict() if len(q) else {}
    counted = pd.Series([forecaster_kind(n) for n in shown], dtype=object).value_counts()
    kinds = {KIND_LABELS[k]: int(counted[k]) for k in FORECASTER_KINDS if k in counted.index}
    scope = []
    if tag:
        scope.append(f"tag “{tag}”")
    if since:
        scope.append(f"questions closing on or after {_date(pd.Timestamp(str(since)))}")
    if forecasters:
        scope.append("forecasters " + ", ".join(shown))
    if live_only:
        scope.append("live forecasts only (imported history left out)")
    context = {
        "title": title or "Forecast calibration report",
        "ledger": _ledger_name(ledger)[1],
        "as_of": _date(frames["as_of"]),
        "generated": _date(pd.Timestamp.now(tz="UTC").tz_localize(None).floor("min")),
        "scope": scope,
        "empty_ledger": len(q) == 0,
        "n_questions": len(q), "status": status,
        "n_forecasters": len(shown), "kinds": kinds,
        "kind_legend": "; ".join(f"{KIND_LABELS[k]}s ({_PREFIX_OF[k]})" for k in FORECASTER_KINDS),
        "n_forecasts": int(f["forecaster"].isin(shown).sum()), "n_events": len(frames["events"]),
        "who": _who_table(f, shown),
        "questions": _question_rows(q, f),
        "scores": scores.to_html(),
        "decomposition": _decomposition_table(calibrations) if calibrations else "",
        "calibrations": [c.to_html(colour=plots.colour_of(c.label, shown)) for c in calibrations],
        "excluded": {k.replace("_", " "): v for k, v in excluded.items() if v},
        "uncalibrated": [n for n in shown if n not in {c.label for c in calibrations}],
        "sharpness_table": sharp_table, "sharpness_figure": sharp_figure,
        "timelines": timelines,
        "css": (TEMPLATES / "report.css").read_text(encoding="utf-8"),
    }
    from markupsafe import Markup

    for key in ("scores", "decomposition", "sharpness_table", "sharpness_figure", "kind_legend"):
        context[key] = Markup(context[key])
    context["calibrations"] = [Markup(c) for c in context["calibrations"]]
    context["timelines"] = [Markup(t) for t in context["timelines"]]
    context["css"] = Markup(context["css"])
    text = _environment().get_template("report.html.j2").render(**context)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    if progress is not None:
        progress(total, total, "done")
    return target
