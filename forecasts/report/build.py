"""Build the calibration report: one self-contained HTML file from a ledger as of a time.

The file holds everything inline (CSS, figures as SVG, no scripts, no fonts or images from the
network), so it opens from disk, survives e-mail and prints.  Sections:

0. **Open questions** (the first screen, :func:`headline`): each open question with every
   analyst's probability, the team's median and the best model's, how far the team moved
   since the last report written to the same path (else in the last :data:`MOVED_DAYS` days),
   and which close within :data:`SOON_DAYS` days.
1. **Summary**: who forecast what (every forecaster by kind; questions by status).
2. **Scores**: :class:`~forecasts.report.results.ScoreTable` for every forecaster, of every
   kind (:data:`forecasts.domain.FORECASTER_KINDS`: persons, models, crowd aggregates, imported
   records, backtests) alike (Brier, log, Metaculus baseline and peer against the persons,
   relative to the median person and to the crowd, with n and coverage).
3. **Calibration**: the MCB/DSC/UNC decomposition and Spiegelhalter's Z of every forecaster
   with resolved questions past their scheduled close, from one
   :func:`~forecasts.scoring.calibration_cases` pass sliced by forecaster; CORP reliability
   diagrams with consistency band and count histogram (:class:`~forecasts.report.results.CalibrationResult`)
   for each forecaster when there are at most :data:`FEW_FORECASTERS`, else for each kind
   pooled and the :data:`DIAGRAMS` forecasters with the most resolved questions.
4. **Sharpness**: how far every forecaster's forecasts stray from 50 %, and their
   distribution (by forecaster when few, by kind pooled otherwise).
5. **Timelines** (:class:`~forecasts.report.results.QuestionTimeline`): every question when
   there are at most :data:`FEW_QUESTIONS`, else the questions :func:`choose_timelines` picks
   (open and closing soonest, resolved most recently, most forecast, most disagreed on), each
   saying why; drawn from one sort of the forecasts by question (:func:`sorted_slices`).
6. **Questions**: an index of every question with its outcome, counts and Brier scores
   (:func:`question_scores`), one terse row each, no figure.
7. **Method**: the rules behind the numbers.

Each section states what it shows and the rule that chose it, so a reader of a report on a
million forecasts knows what was left out of the figures (never out of the numbers).

The report reads the ledger through its public frames only
(:class:`~forecasts.report.results.LedgerReader`: ``questions``, ``forecasts``,
``resolutions``, ``events``, ``evidence`` as of a time), so it works over any store.
The library never prints: ``progress(step, total, label)`` is called before each step so the
CLI can draw a progress bar.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasts import plots
from forecasts.domain import FORECASTER_KINDS, KIND_LABELS, RESERVED_PREFIXES, forecaster_kind
from forecasts.errors import InvalidInput, UnknownForecaster
from forecasts.paths import is_folder
from forecasts.report.results import (
    CalibrationResult,
    LedgerReader,
    QuestionTimeline,
    ScoreTable,
    _cell,
    _date,
    _exact,
    _figure_html,
    _number,
    scoped_frames,
    with_resolution_note,
)
from forecasts.scoring import Holdings

__all__ = ["build_report", "default_out", "headline"]

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


#: Up to this many forecasters with calibration cases, each gets a reliability diagram (and a
#: bar of its own in the sharpness histogram); beyond, the pooled diagram of each kind of
#: forecaster and the :data:`DIAGRAMS` forecasters with the most resolved questions.
FEW_FORECASTERS = 8
#: How many forecasters get their own reliability diagram when there are more than
#: :data:`FEW_FORECASTERS`.
DIAGRAMS = 8
#: How many questions each rule of :func:`choose_timelines` picks for a timeline.
PER_RULE = 5
#: Up to this many questions (as many as the four rules can pick), each gets its timeline.
FEW_QUESTIONS = 4 * PER_RULE


def sorted_slices(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, dict[Any, tuple[int, int]]]:
    """``frame`` sorted once by ``column`` (stable: each key's rows keep their order) and each
    key's ``[start, stop)`` in it, so that figures and tables slice instead of filtering.

    >>> f = pd.DataFrame({"q": ["b", "a", "b"], "v": [1, 2, 3]})
    >>> s, at = sorted_slices(f, "q")
    >>> s["v"].tolist(), at
    ([2, 1, 3], {'a': (0, 1), 'b': (1, 3)})
    """
    if frame.empty:
        return frame.reset_index(drop=True), {}
    codes, keys = pd.factorize(frame[column], sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(keys)))])
    return (frame.take(order).reset_index(drop=True),
            {k: (int(bounds[i]), int(bounds[i + 1])) for i, k in enumerate(keys)})


def _who_table(forecasts: pd.DataFrame, names: Sequence[str]) -> list[dict[str, Any]]:
    f = forecasts[forecasts["forecaster"].isin(list(names))]
    g = f.groupby("forecaster", sort=False)
    n_q, n, first, last = g["question"].nunique(), g.size(), g["made_at"].min(), g["made_at"].max()
    rows = []
    for name in names:
        kind = forecaster_kind(name)
        rows.append({"name": name, "kind": kind, "kind_label": KIND_LABELS[kind],
                     "questions": int(n_q.get(name, 0)), "forecasts": int(n.get(name, 0)),
                     "first": _date(first.get(name)), "last": _date(last.get(name))})
    return rows


def question_scores(held: Holdings, *, crowd: str | None = None) -> pd.DataFrame:
    """One row per question of prepared frames (:class:`~forecasts.scoring.Holdings`; indexed
    by id, in the order of its questions): ``forecasters`` and ``forecasts`` (counts,
    everyone's), and for questions resolved to an outcome ``brier`` (the mean of the
    forecasters' time-averaged Brier scores on it, as :func:`forecasts.scoring.score_table`
    ``by="question"`` gives it), ``median_brier`` (their median) and ``crowd_brier``
    (``crowd``'s, if given and it forecast the question).

    The pairs' Brier scores the score table has computed, and a few grouped reductions,
    whatever the number of questions.
    """
    forecasts, questions = held.forecasts, held.questions
    ids = questions["id"]
    g = forecasts.groupby("question", sort=False)
    out = pd.DataFrame({"forecasters": g["forecaster"].nunique(), "forecasts": g.size()}).reindex(ids)
    out = out.fillna(0).astype(np.int64)
    out["brier"] = out["median_brier"] = out["crowd_brier"] = np.nan
    pairs = held.pairs("brier")
    if len(pairs):
        valid = pairs.assign(s=pairs["score"].where(pairs["coverage"] > 0))
        by_q = valid.groupby("question", sort=True)["s"]  # as score_table groups (sort=False sums in another order)
        out["brier"] = by_q.mean().reindex(ids).to_numpy()
        out["median_brier"] = by_q.median().reindex(ids).to_numpy()
        if crowd is not None:
            mine = valid[valid["forecaster"] == crowd].set_index("question")["s"]
            out["crowd_brier"] = mine.reindex(ids).to_numpy()
    out.index.name = "id"
    return out


def latest_rows(forecasts: pd.DataFrame) -> np.ndarray:
    """The positions (in ``forecasts``) of each forecaster's latest forecast on each question,
    latest by ``made_at``, then ``seq``, in the order of the rows: grouped passes over integer
    codes, no sort of the rows.

    >>> f = pd.DataFrame({"question": ["q", "q", "q"], "forecaster": ["a", "a", "b"], "seq": [2, 1, 3],
    ...                   "made_at": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"])})
    >>> latest_rows(f).tolist()
    [0, 2]
    """
    if not len(forecasts):
        return np.zeros(0, dtype=np.int64)
    qc = pd.factorize(forecasts["question"])[0].astype(np.int64)
    fc, names = pd.factorize(forecasts["forecaster"])
    pair = pd.Series(qc * max(len(names), 1) + fc, copy=False)
    made = forecasts["made_at"].to_numpy().astype("datetime64[us]").view(np.int64)
    last = made == pd.Series(made).groupby(pair).transform("max").to_numpy()
    rows = np.flatnonzero(last)
    seq = pd.Series(forecasts["seq"].to_numpy(dtype=np.int64)[rows])
    return np.sort(rows[seq.groupby(pair.to_numpy()[rows]).idxmax().to_numpy()])


def latest_spread(forecasts: pd.DataFrame) -> pd.Series:
    """How much the forecasters disagree on each question: the standard deviation (population,
    in probability) of each forecaster's latest binary forecast on it (latest by ``made_at``,
    then ``seq``: :func:`latest_rows`); only questions with two forecasters or more.

    >>> f = pd.DataFrame({"question": ["q"] * 3, "forecaster": ["a", "a", "b"], "seq": [1, 2, 3],
    ...                   "made_at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"]),
    ...                   "probability": [0.9, 0.2, 0.6]})
    >>> round(float(latest_spread(f)["q"]), 3)
    0.2
    """
    b = forecasts[forecasts["probability"].notna().to_numpy()]
    last = b.iloc[latest_rows(b)][["question", "forecaster", "probability"]]
    # by question, then forecaster (the order the deviation adds them up in)
    last = last.iloc[np.lexsort((pd.factorize(last["forecaster"], sort=True)[0],
                                 pd.factorize(last["question"], sort=True)[0]))]
    g = last.groupby("question", sort=True)["probability"]
    spread = g.std(ddof=0)
    return spread[g.size() >= 2].astype(float)


#: Why a timeline is shown, by rule (see :func:`choose_timelines`).
TIMELINE_RULES = {
    "open": "open, closing soonest",
    "resolved": "resolved most recently",
    "most-forecast": "among the most forecast",
    "disagreement": "the forecasters disagree most",
}


def choose_timelines(questions: pd.DataFrame, forecasts: pd.DataFrame, *, few: int = FEW_QUESTIONS,
                     per_rule: int = PER_RULE) -> list[tuple[str, list[str]]]:
    """Which questions get a timeline, each with why: ``[(question id, [reason, ...]), ...]``.

    Up to ``few`` questions, all of them, in order, with no reason.  Beyond, the first
    ``per_rule`` of each rule, in this order (a question picked by several rules is shown once,
    where it first comes, with every reason): ``open`` (status open, soonest scheduled close
    first), ``resolved`` (latest resolution first), ``most-forecast`` (most forecasts first) and
    ``disagreement`` (largest :func:`latest_spread` first); ties go to the question id.
    """
    ids = questions["id"].astype(str).tolist()
    if len(ids) <= few:
        return [(i, []) for i in ids]
    q = questions.set_index("id").rename_axis(None)
    counts = forecasts.groupby("question", sort=False).size().reindex(q.index).fillna(0)
    spread = latest_spread(forecasts)
    spread = spread[spread > 0]
    ranked: dict[str, list[tuple[str, str]]] = {}
    opened = q[q["status"] == "open"]
    order = pd.DataFrame({"t": opened["closes_at"].to_numpy(), "id": opened.index.to_numpy()}).sort_values(["t", "id"], kind="stable")
    ranked["open"] = [(i, f"open, closes {_date(t)}") for i, t in zip(order["id"], order["t"], strict=True)]
    done = q[q["status"] == "resolved"]
    order = pd.DataFrame({"t": done["resolved_at"].to_numpy(), "id": done.index.to_numpy()}).sort_values(
        ["t", "id"], ascending=[False, True], kind="stable")
    ranked["resolved"] = [(i, f"resolved {_date(t)}") for i, t in zip(order["id"], order["t"], strict=True)]
    order = pd.DataFrame({"n": counts.to_numpy(), "id": counts.index.to_numpy()})
    order = order[order["n"] > 0].sort_values(["n", "id"], ascending=[False, True], kind="stable")
    ranked["most-forecast"] = [(i, f"{int(n)} forecasts") for i, n in zip(order["id"], order["n"], strict=True)]
    order = pd.DataFrame({"s": spread.to_numpy(), "id": spread.index.to_numpy()}).sort_values(
        ["s", "id"], ascending=[False, True], kind="stable")
    ranked["disagreement"] = [(i, f"spread of latest forecasts {100 * s:.0f} points")
                              for i, s in zip(order["id"], order["s"], strict=True)]
    chosen: dict[str, list[str]] = {}
    for rule, picks in ranked.items():
        for rank, (qid, detail) in enumerate(picks[:per_rule], start=1):
            chosen.setdefault(str(qid), []).append(f"{TIMELINE_RULES[rule]} (#{rank}: {detail})")
    return list(chosen.items())


def _timeline_events(chosen: Sequence[dict], events: pd.DataFrame | None,
                     evidence: pd.DataFrame | None) -> dict[str, pd.DataFrame | None]:
    """The events of each chosen question, as :meth:`QuestionTimeline.from_frames` picks them
    (assessed as evidence on it, or sharing one of its tags), from one index of the events."""
    if events is None or not len(events):
        return {q["id"]: events for q in chosen}
    by_tag: dict[str, list[int]] = {}
    if "tags" in events:
        for pos, tags in enumerate(events["tags"]):
            for t in set(tags or []):
                by_tag.setdefault(t, []).append(pos)
    seqs = events["seq"]
    assessed = (evidence.groupby("question", sort=False)["event"].agg(set).to_dict()
                if evidence is not None and len(evidence) else {})
    out: dict[str, pd.DataFrame | None] = {}
    for q in chosen:
        mask = np.array(seqs.isin(assessed.get(q["id"], set())), dtype=bool)
        for t in set(q.get("tags") or []):
            mask[by_tag.get(t, [])] = True
        out[q["id"]] = events[mask]
    return out


#: How many open questions the first screen lists (soonest close first); the index has all.
HEADLINE_ROWS = 25
#: Up to this many analysts, the first screen gives each one's probability in a column of
#: their own; beyond, the range of theirs.
HEADLINE_PERSONS = 6
#: A question closing within this many days is flagged "closes soon".
SOON_DAYS = 14
#: Without an earlier report at the same path, "moved" compares with this many days before.
MOVED_DAYS = 7
_AS_OF_META = re.compile(r'<meta name="forecasts-as-of" content="([0-9T:. -]+)">')


def previous_as_of(target: Path) -> pd.Timestamp | None:
    """The ``as of`` of the report already at ``target`` (the one this report replaces), read
    from its ``forecasts-as-of`` meta tag; None when there is none."""
    try:
        with target.open("r", encoding="utf-8", errors="replace") as fh:
            start = fh.read(4096)
    except OSError:
        return None
    found = _AS_OF_META.search(start)
    return pd.Timestamp(found.group(1)) if found else None


def standing(forecasts: pd.DataFrame, t: Any) -> pd.Series:
    """Each forecaster's binary forecast standing at ``t`` on each question: the latest made
    by then (by ``made_at``, then ``seq``), unless a retraction ended it by then; indexed by
    ``(question, forecaster)``."""
    last = _latest(forecasts[forecasts["probability"].notna()], t)
    return last.set_index(["question", "forecaster"])["probability"].astype(float)


def _latest(rows: pd.DataFrame, t: Any) -> pd.DataFrame:
    """Of ``rows``, each forecaster's latest on each question made by ``t`` (by ``made_at``,
    then ``seq``), left out if a retraction ended it by then."""
    made = rows[(rows["made_at"] <= t).to_numpy()]
    last = made.iloc[latest_rows(made)].sort_values(["question", "forecaster"], kind="stable")
    if "ended_at" in last:
        last = last[~(last["ended_at"].notna() & (last["ended_at"] <= t)).to_numpy()]
    return last


def _leading_options(forecasts: pd.DataFrame, t: Any) -> dict[tuple[str, str], tuple[str, float]]:
    """Each forecaster's standing multiple-choice forecast at ``t`` as its leading option and
    that option's probability, by ``(question, forecaster)``."""
    last = _latest(forecasts[forecasts["probabilities"].notna()] if "probabilities" in forecasts else forecasts.iloc[:0], t)
    out = {}
    for qid, who, ps in zip(last["question"], last["forecaster"], last["probabilities"], strict=True):
        if isinstance(ps, dict) and ps:
            top = max(ps, key=lambda k: (ps[k], k))
            out[(str(qid), str(who))] = (str(top), float(ps[top]))
    return out


def best_model(scores: ScoreTable, present: Sequence[str] = ()) -> tuple[str | None, str]:
    """The model the first screen shows beside the team: the best-ranked one by Brier (at
    least :attr:`ScoreTable.min_questions` resolved questions), else the model with the most
    resolved questions, said to be unranked, else (no model scored yet) the first of the
    models in ``present`` (those forecasting the open questions, most questions first); and
    how it was chosen."""
    models = scores.frame[scores.frame["kind"] == "model"]
    if models.empty:
        live = [n for n in present if forecaster_kind(n) == "model"]
        if not live:
            return None, "no model forecasts these questions"
        return live[0], f"not ranked: no model has a resolved question yet ({live[0]} forecasts the most of these)"
    ranked = models[models["n_questions"] >= scores.min_questions]
    if len(ranked):
        top = ranked.sort_values("brier", kind="stable")
        name, n = str(top.index[0]), int(top["n_questions"].to_numpy()[0])
        return name, f"the best-ranked model by Brier on {n} resolved questions"
    top = models.sort_values(["n_questions", "brier"], ascending=[False, True], kind="stable")
    name, n = str(top.index[0]), int(top["n_questions"].iloc[0])
    return name, (f"not ranked: no model has {scores.min_questions} resolved questions yet "
                  f"({name} has {n}, the most)")


def headline(forecasts: pd.DataFrame, questions: pd.DataFrame, as_of: Any, scores: ScoreTable,
             since: Any) -> dict[str, Any]:
    """The first screen: the open questions, soonest close first (at most
    :data:`HEADLINE_ROWS`), each with every analyst's standing probability (persons, as
    columns up to :data:`HEADLINE_PERSONS` of them, else their range), the team's crowd (the
    median of the analysts'), the chosen model's (:func:`best_model`), how far the team moved
    since ``since``, and whether it closes within :data:`SOON_DAYS` days.

    Returns ``html`` (the table, or a sentence when nothing is open), ``n_open``, ``n_soon``,
    ``model`` and ``model_rule``."""
    esc = html.escape
    t = pd.Timestamp(as_of)
    opened = questions[questions["status"] == "open"].sort_values(["closes_at", "id"], kind="stable")
    n_open = len(opened)
    soon = opened["closes_at"] <= t + pd.Timedelta(days=SOON_DAYS)
    shown = opened.head(HEADLINE_ROWS)
    f = forecasts[forecasts["question"].isin(shown["id"])]
    now, then = standing(f, t), standing(f, pd.Timestamp(since))
    present = now.groupby(level=1).size().sort_values(ascending=False, kind="stable").index.astype(str).tolist()
    model, model_rule = best_model(scores, present)
    out = {"n_open": n_open, "n_soon": int(soon.sum()), "model": model, "model_rule": model_rule, "html": ""}
    if not n_open:
        return out
    leading = _leading_options(f, t)
    person = np.array([forecaster_kind(str(n)) == "person" for n in now.index.get_level_values(1)], dtype=bool)
    people = now[person]
    names = sorted(set(people.index.get_level_values(1))
                   | {str(n) for _, n in leading if forecaster_kind(str(n)) == "person"})
    crowd_now = people.groupby(level=0).median()
    then_people = then[[forecaster_kind(str(n)) == "person" for n in then.index.get_level_values(1)]]
    crowd_then = then_people.groupby(level=0).median()
    columns = names if len(names) <= HEADLINE_PERSONS else []
    head = ["<th>Question</th><th>Closes</th>"]
    head += [f'<th class="num">{esc(n)}</th>' for n in columns]
    if not columns:
        head.append(f'<th class="num" title="lowest to highest of the {len(names)} analysts">Analysts</th>')
    head.append('<th class="num" title="median of the analysts\' standing forecasts">Team</th>')
    if model is not None:
        head.append(f'<th class="num" title="{esc(model_rule)}">{esc(model)}</th>')
    head.append(f'<th class="num" title="change of the team median since {_date(since)}">Moved</th>')
    rows = []
    for q, is_soon in zip(shown.itertuples(index=False), soon.head(HEADLINE_ROWS), strict=True):
        qid = str(q.id)
        days = (pd.Timestamp(str(q.closes_at)) - t) / pd.Timedelta(days=1)
        when = f'{_date(q.closes_at)}<span class="days">{max(days, 0):.0f} d</span>'
        cells = [f'<td class="title">{esc(str(q.title))}{"" if q.kind == "binary" else " <span class=kind>multiple choice</span>"}</td>',
                 f'<td class="{"soon" if is_soon else ""}">{when}</td>']
        mine = people.xs(qid, level=0) if qid in people.index.get_level_values(0) else pd.Series(dtype=float)
        for n in columns:
            if q.kind != "binary":  # a multiple-choice forecast: its leading option
                top = leading.get((qid, n))
                cells.append(f'<td class="num" data-forecaster="{esc(n)}">{esc(top[0])} {_number(top[1], percent=True)}</td>'
                             if top else '<td class="num">–</td>')
                continue
            v = mine.get(n, np.nan)
            cells.append(_cell("p", v, _number(v, percent=True), who=n))
        if not columns:
            text = (f"{_number(mine.min(), percent=True)}–{_number(mine.max(), percent=True)} ({len(mine)})"
                    if len(mine) else "–")
            cells.append(f'<td class="num">{text}</td>')
        team = crowd_now.get(qid, np.nan)
        cells.append(_cell("team", team, _number(team, percent=True)))
        if model is not None:
            v = now.get((qid, model), np.nan)
            cells.append(_cell("model", v, _number(v, percent=True), who=model))
        before = crowd_then.get(qid, np.nan)
        if np.isnan(team):
            moved, text = np.nan, "–"
        elif np.isnan(before):
            moved, text = np.nan, "new"
        else:
            moved = team - before
            text = "0" if abs(moved) < 0.005 else f"{100 * moved:+.0f} pt".replace("-", "−")
        cells.append(_cell("moved", moved, text))
        rows.append(f'<tr data-open-question="{esc(qid)}"{" class=soon" if is_soon else ""}>{"".join(cells)}</tr>')
    more = (f'<p class="note">… and {n_open - len(shown)} more open questions, in the index below.</p>'
            if n_open > len(shown) else "")
    out["html"] = (f'<div class="table-wrap"><table class="headline"><thead><tr>{"".join(head)}</tr></thead>'
                   f'<tbody>{"".join(rows)}</tbody></table></div>{more}')
    return out


def _question_index(questions: pd.DataFrame, scores: pd.DataFrame, crowd: str | None,
                    linked: set[str]) -> str:
    """Every question as one terse table row (no figure): outcome, counts and Brier scores."""
    cols = [("brier", "Mean Brier"), ("median_brier", "Median Brier")]
    if crowd is not None:
        cols.append(("crowd_brier", f"{crowd} Brier"))
    head = ('<tr><th>Question</th><th>Status</th><th>Closes</th><th>Outcome</th><th>Forecasters</th>'
            '<th>Forecasts</th>' + "".join(f"<th>{html.escape(label)}</th>" for _, label in cols) + "</tr>")
    esc = html.escape
    body = []
    sc = {c: scores[c].to_numpy(dtype=float) for c, _ in cols}
    n_f, n_n = scores["forecasters"].to_numpy(), scores["forecasts"].to_numpy()
    for i, q in enumerate(questions[["id", "title", "status", "closes_at", "outcome"]].itertuples(index=False)):
        qid = esc(str(q.id))
        title = esc(str(q.title))
        name = f'<a href="#q-{qid}">{title}</a>' if q.id in linked else title
        outcome = esc(q.outcome.upper()) if isinstance(q.outcome, str) else ""
        nums = "".join(f'<td data-metric="{c}" data-value="{_exact(sc[c][i])}">{_number(sc[c][i])}</td>'
                       for c, _ in cols)
        body.append(f'<tr data-question="{qid}"><td>{name}</td><td class="s-{esc(str(q.status))}">{esc(str(q.status))}</td>'
                    f'<td>{_date(q.closes_at)}</td><td>{outcome}</td><td>{n_f[i]}</td><td>{n_n[i]}</td>{nums}</tr>')
    return (f'<div class="table-wrap"><table class="questions"><thead>{head}</thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _sharpness(forecasts: pd.DataFrame, names: Sequence[str], few: int = FEW_FORECASTERS) -> tuple[str, str, str]:
    """The sharpness table (every forecaster, one pass over the forecasts sorted by forecaster),
    the histogram (each forecaster when there are at most ``few``, else each kind pooled) and
    what the histogram shows."""
    binary = forecasts[forecasts["probability"].notna() & forecasts["forecaster"].isin(list(names))]
    if binary.empty:
        return "", "", ""
    ordered, at = sorted_slices(binary[["forecaster", "probability"]], "forecaster")
    probs = ordered["probability"].to_numpy(dtype=float)
    shown = [n for n in names if n in at]
    rows = []
    for name in shown:
        lo, hi = at[name]
        p = probs[lo:hi]
        sharp = float(np.mean(np.abs(p - 0.5)) * 2)
        extreme = float(np.mean((p <= 0.1) | (p >= 0.9)))
        rows.append(f'<tr data-forecaster="{html.escape(name)}"><th scope="row">{html.escape(name)}</th>'
                    f'{_cell("n", len(p), str(len(p)), who=name)}'
                    f'{_cell("sharpness", sharp, _number(sharp, "{:.2f}"), who=name)}'
                    f'{_cell("extreme", extreme, _number(extreme, percent=True), who=name)}'
                    f'{_cell("mean", float(p.mean()), _number(p.mean(), percent=True), who=name)}</tr>')
    table = ('<div class="table-wrap"><table class="sharpness"><thead><tr><th>Forecaster</th><th class="num">Forecasts</th>'
             '<th class="num" title="Mean of 2·|p − 50%|: 0 always says 50%, 1 always says 0% or 100%">Sharpness</th>'
             '<th class="num" title="Share of forecasts at or below 10% or at or above 90%">≤10% or ≥90%</th>'
             '<th class="num">Mean forecast</th></tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table></div>')
    if len(shown) <= few:
        figure = _figure_html(plots.sharpness_histogram(binary, forecasters=shown), "sharpness-figure")
        return table, figure, f"The histogram has a bar for each of the {len(shown)} forecasters."
    kinds = ordered["forecaster"].map({n: forecaster_kind(n) for n in shown})
    counts = pd.Series([forecaster_kind(n) for n in shown]).value_counts()
    labels = {k: f"{KIND_LABELS[k]}s, {int(counts[k])} pooled" for k in FORECASTER_KINDS if k in counts.index}
    pooled = pd.DataFrame({"forecaster": kinds.map(labels).to_numpy(), "probability": probs})
    figure = _figure_html(plots.sharpness_histogram(pooled, forecasters=list(labels.values())), "sharpness-figure")
    return table, figure, (f"{len(shown)} forecasters are more than {few} to draw one by one: the histogram "
                           "pools the forecasts of each kind of forecaster.")


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


def _calibrations(held: Holdings, names: Sequence[str], *,
                  everyone: bool = False) -> tuple[list[CalibrationResult], dict, pd.DataFrame]:
    """Every forecaster's :class:`CalibrationResult` from one pass over the calibration cases of
    prepared frames (:meth:`forecasts.scoring.Holdings.calibration_cases`), sorted by forecaster
    once and sliced (each slice holds the very rows, in the very order, of the forecaster's own
    ``CalibrationResult.from_frames``, so the numbers are identical); the excluded-question
    counts; and all the cases.  ``everyone``: ``names`` are all the forecasters of the frames,
    so no row needs filtering."""
    if not names:
        return [], {}, pd.DataFrame()
    cases = held.calibration_cases(None if everyone else list(names))
    excluded = dict(cases.attrs.get("excluded", {}))
    ordered, at = sorted_slices(cases, "forecaster")
    results = []
    for name in names:
        if name in at:
            lo, hi = at[name]
            part = ordered.iloc[lo:hi]
            part.attrs = {}
            results.append(CalibrationResult(part, name))
    return results, excluded, cases


def choose_diagrams(results: Sequence[CalibrationResult], cases: pd.DataFrame, *,
                    few: int = FEW_FORECASTERS, top: int = DIAGRAMS) -> tuple[list[CalibrationResult], str]:
    """The reliability diagrams to draw and the rule that chose them.

    Up to ``few`` forecasters with cases: each of them.  Beyond: the pooled diagram of each kind
    with two forecasters or more (all their cases together), then the ``top`` forecasters with
    the most resolved questions (ties: more forecasts, then the name).
    """
    if len(results) <= few:
        return list(results), f"Each of the {len(results)} forecasters with calibration cases has its diagram."
    pooled = []
    kind_of = cases["forecaster"].map({n: forecaster_kind(str(n)) for n in cases["forecaster"].unique()})
    members = pd.Series([forecaster_kind(r.label) for r in results]).value_counts()
    for kind in FORECASTER_KINDS:
        if members.get(kind, 0) >= 2:
            part = cases[(kind_of == kind).to_numpy()]
            pooled.append(CalibrationResult(part, f"{KIND_LABELS[kind]}s, {int(members[kind])} pooled"))
    best = sorted(results, key=lambda r: (-r.summary["n_questions"], -r.summary["n_forecasts"], r.label))[:top]
    rule = (f"{len(results)} forecasters have calibration cases, more than {few} to draw one by one: shown are "
            f"the pooled diagram of each kind of forecaster with two members or more"
            f"{' (' + ', '.join(p.label for p in pooled) + ')' if pooled else ' (none here)'}"
            f" and the {len(best)} forecasters with the most resolved questions (ties: more forecasts, then the name). "
            "The table above has every forecaster's numbers.")
    return pooled + best, rule


def build_report(ledger: LedgerReader, out: str | os.PathLike | None = None, *,
                 forecasters: Sequence[str] | None = None, tag: str | None = None, since: Any = None,
                 as_of: Any = None, progress: Progress | None = None,
                 title: str | None = None, live_only: bool = False, about: Sequence[str] = ()) -> Path:
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
    about : sequence of str, optional
        Paragraphs of plain text shown first, under the title: what the ledger holds and where
        it comes from (the demo says there what is real and what is illustrative).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    target = Path(out) if out is not None else default_out(ledger)
    if is_folder(target, cannot="write the report to") or str(out or "").endswith(("/", os.sep)):
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
    # forecasts of the forecasters shown, sorted by question once: each timeline is a slice
    fs = f if not forecasters else f[f["forecaster"].isin(shown)]
    picked = choose_timelines(q, fs)
    total = 7 + len(picked)
    step = 0

    def tick(label: str) -> None:
        nonlocal step
        step += 1
        if progress is not None:
            progress(step, total, label)

    tick("scores")
    held = Holdings(f, q, r, frames["as_of"])  # the frames prepared once for every score and case
    scores = ScoreTable.from_holdings(held, forecasters=shown)
    tick("calibration")
    calibrations, excluded, cases = _calibrations(held, shown, everyone=not forecasters)
    tick("reliability diagrams")
    diagrams, diagram_rule = choose_diagrams(calibrations, cases)
    diagram_html = [c.to_html(colour=plots.colour_of(c.label, shown)) for c in diagrams]
    tick("sharpness")
    sharp_table, sharp_figure, sharp_rule = _sharpness(f, shown)
    tick("question index")
    per_question = question_scores(held, crowd=scores.crowd)
    index_html = _question_index(q, per_question, scores.crowd, {qid for qid, _ in picked})
    rows = q.set_index("id", drop=False)
    chosen = [with_resolution_note(rows.loc[qid].to_dict(), r) for qid, _ in picked]
    chosen_events = _timeline_events(chosen, frames["events"], frames["evidence"])
    ordered, at = sorted_slices(fs[fs["question"].isin([qid for qid, _ in picked]).to_numpy()], "question")
    timelines = []
    for row, (qid, reasons) in zip(chosen, picked, strict=True):
        tick(f"timeline: {qid}")
        lo, hi = at.get(qid, (0, 0))
        fragment = QuestionTimeline(row, ordered.iloc[lo:hi], chosen_events[qid],
                                    forecasters=shown if forecasters else None,
                                    today=frames["as_of"] if row.get("status") == "open" else None).to_html(heading="h3")
        if reasons:
            why = "; ".join(html.escape(x) for x in reasons)
            fragment = fragment.replace('<p class="meta">', f'<p class="why">Shown because: {why}.</p><p class="meta">', 1)
        timelines.append((qid, fragment))
    if len(picked) == len(q):
        timeline_rule = f"Each of the {len(q)} questions has its timeline."
    else:
        timeline_rule = (f"{len(q)} questions are more than {FEW_QUESTIONS} to draw one by one: shown are the "
                         f"{len(picked)} questions picked by four rules, at most {PER_RULE} each: the open questions "
                         "closing soonest, those resolved most recently, those with the most forecasts, and those on "
                         "which the forecasters disagree most (the standard deviation of each forecaster's latest "
                         "forecast, questions with two forecasters or more). Each says why it is shown; every "
                         "question is in the index below.")
    tick("writing")
    as_of_t = pd.Timestamp(frames["as_of"])
    last = previous_as_of(target)
    if last is not None and last < as_of_t:
        moved_from, moved_label = last, f"since the last report at this path (as of {_date(last)})"
    else:
        moved_from = as_of_t - pd.Timedelta(days=MOVED_DAYS)
        moved_label = f"in the last {MOVED_DAYS} days (no earlier report at this path)"
    first = headline(f if not forecasters else fs, q, as_of_t, scores, moved_from)
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
        "about": [str(a) for a in about],
        "ledger": _ledger_name(ledger)[1],
        "as_of": _date(frames["as_of"]), "as_of_exact": as_of_t.isoformat(),
        "headline": first, "moved_label": moved_label, "soon_days": SOON_DAYS,
        "min_ranked": scores.min_questions, "n_ranked": int(scores.ranked().shape[0]),
        "generated": _date(pd.Timestamp.now(tz="UTC").tz_localize(None).floor("min")),
        "scope": scope,
        "empty_ledger": len(q) == 0,
        "n_questions": len(q), "status": status,
        "n_forecasters": len(shown), "kinds": kinds,
        "kind_legend": "; ".join(f"{KIND_LABELS[k]}s ({_PREFIX_OF[k]})" for k in FORECASTER_KINDS),
        "n_forecasts": int(f["forecaster"].isin(shown).sum()), "n_events": len(frames["events"]),
        "who": _who_table(f, shown),
        "question_index": index_html,
        "crowd": scores.crowd,
        "n_scored": len(scores.frame),
        "scores": scores.to_html(),
        "decomposition": _decomposition_table(calibrations) if calibrations else "",
        "n_calibrated": len(calibrations),
        "calibrations": diagram_html,
        "diagram_rule": diagram_rule,
        "excluded": {k.replace("_", " "): v for k, v in excluded.items() if v},
        "uncalibrated": [n for n in shown if n not in {c.label for c in calibrations}],
        "sharpness_table": sharp_table, "sharpness_figure": sharp_figure, "sharpness_rule": sharp_rule,
        "timelines": timelines, "timeline_rule": timeline_rule,
        "css": (TEMPLATES / "report.css").read_text(encoding="utf-8"),
    }
    from markupsafe import Markup

    for key in ("scores", "decomposition", "sharpness_table", "sharpness_figure", "kind_legend", "question_index"):
        context[key] = Markup(context[key])
    context["headline"] = {**first, "html": Markup(first["html"])}
    context["calibrations"] = [Markup(c) for c in context["calibrations"]]
    context["timelines"] = [(qid, Markup(t)) for qid, t in context["timelines"]]
    context["css"] = Markup(context["css"])
    text = _environment().get_template("report.html.j2").render(**context)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write the report to {target}: {exc.strerror or exc}") from None
    if progress is not None:
        progress(total, total, "done")
    return target
