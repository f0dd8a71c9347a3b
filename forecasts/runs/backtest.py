"""Backtests: what a model would have said at each past date, replayed on the world clock.

:func:`backtest` runs a model on a question as of each date ``d`` (and, by default, on each
assessed event's date).  Reads use ``clock="world"``: rows are filtered by their *world* time
only, so imported history that was recorded all at once in 2026 replays as it unfolded in 2020.
An evidence assessment carries its own time (:func:`~forecasts.ledger.sql.evidence_sql`): a
live one counts from when it was recorded, so one written today about an event of last year
is not seen by a backtest of last year; an imported one keeps the source's time, its event's.
Rows are written as forecaster and source ``backtest:<name>`` (:func:`backtest_name`),
``backtest=True``, ``made_at`` = ``d``.  Dates already backtested by the same model version are
skipped, so a re-run appends nothing twice.

:func:`backtest_crowd` replays the crowd models of :mod:`forecasts.runs.evaluate` (the
extremized and the hazard-decayed crowd) over every question an imported crowd forecast,
walk-forward: each row uses the parameters learned from the questions resolved by its own date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from forecasts import domain
from forecasts.errors import InvalidInput, UnknownQuestion
from forecasts.runs.learned import load_summary
from forecasts.runs.live import LEARNED, forecast, read_question

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

__all__ = ["CROWD_MODELS", "backtest", "backtest_crowd", "backtest_dates", "backtest_name"]


def backtest_name(forecaster: str) -> str:
    """The forecaster a model's backtest rows are written as: ``model:hazard`` replayed is
    ``backtest:hazard`` (``model:contextual:ana``: ``backtest:contextual:ana``), the name that
    ``score``, the report and the command's own message all use.

    >>> backtest_name("model:hazard"), backtest_name("model:contextual:ana")
    ('backtest:hazard', 'backtest:contextual:ana')
    """
    return "backtest:" + forecaster.removeprefix("model:")


def backtest_dates(start: datetime, end: datetime, every: timedelta,
                   extra: Sequence[datetime] = ()) -> list[datetime]:
    """``start, start + every, ... <= end`` plus the ``extra`` dates inside [start, end], sorted, unique.

    >>> from datetime import datetime as dt, timedelta as td
    >>> [d.day for d in backtest_dates(dt(2021, 1, 1), dt(2021, 1, 20), td(weeks=1), [dt(2021, 1, 10)])]
    [1, 8, 10, 15]
    """
    if every <= timedelta(0):
        raise InvalidInput("the backtest step must be positive, e.g. 1w")
    if end < start:
        raise InvalidInput(f"backtest ends ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d})")
    if (end - start) / every > 10_000:
        raise InvalidInput("that backtest has more than 10,000 dates; use a longer step")
    dates = set()
    d = start
    while d <= end:
        dates.add(d)
        d += every
    dates.update(x for x in extra if start <= x <= end)
    return sorted(dates)


def backtest(ledger: Ledger, question: str, model: str = "evidence", start: object = None,
             end: object = None, every: object = "1w", *, at_events: bool = True, write: bool = True,
             **options: Any) -> dict[str, Any]:
    """Replay ``model`` on ``question`` as of each date (world clock) and append backtest rows.

    ``start`` defaults to the question's opening, ``end`` to the earliest of its close, its
    resolution and now; ``every`` is a step such as ``"1w"`` or a :class:`~datetime.timedelta`.
    With ``at_events`` the model also runs at each assessment's date: its event's, or when it
    was made if that was later (the moment it became known).  ``write=False`` computes the rows without appending them.  Returns ``{"rows",
    "skipped": {date: reason}, "existing"}`` (``existing``: rows already in the ledger).
    """
    qid = domain.parse_question_id(question)
    data = read_question(ledger, qid, domain.now(), "world")
    q = data["question"]
    if q is None:
        raise UnknownQuestion(f"no question {qid!r}; see 'forecasts questions'")
    last = min(q["closes_at"] - timedelta(seconds=1), domain.now())
    if data["resolution"] is not None:
        last = min(last, data["resolution"]["resolved_at"])
    t0 = q["opens_at"] if start is None else domain.parse_time(start, "backtest start date")
    t1 = last if end is None else min(domain.parse_time(end, "backtest end date"), last)
    step = every if isinstance(every, timedelta) else domain.parse_duration(every, "backtest step")
    extra = [max(v["occurred_at"], v["assessed_at"]) for v in data["evidence"]] if at_events else []
    summary = options.pop("summary", None)
    if model in LEARNED and summary is None:
        summary = load_summary(ledger)
    options["summary"] = summary
    done = {(f["forecaster"], f["made_at"], f["model_version"]) for f in data["forecasts"] if f["backtest"]}
    rows: list[dict[str, Any]] = []
    skipped: dict[datetime, str] = {}
    existing = 0
    for d in backtest_dates(t0, t1, step, extra):
        out = forecast(ledger, qid, model, d, clock="world", question_row=q, **options)
        for row in out["rows"]:
            row["backtest"] = True
            row["forecaster"] = backtest_name(row["forecaster"])
            if (row["forecaster"], row["made_at"], row["model_version"]) in done:
                existing += 1
            else:
                rows.append(row)
        if not out["rows"]:
            skipped[d] = out["skipped"]
    if rows and write:
        ledger.import_history(forecasts=rows, source=f"backtest:{model}")
    return {"rows": rows, "skipped": skipped, "existing": existing}


#: The crowd models of :mod:`forecasts.runs.evaluate` that :func:`backtest_crowd` replays.
CROWD_MODELS = ("extremized", "hazard-crowd")


def backtest_crowd(ledger: Ledger, crowd: str = "import:metaculus", *, every: object = "1w",
                   shapes: Sequence[float] | None = None, write: bool = True) -> dict[str, Any]:
    """Replay the evaluation's crowd models over every binary question ``crowd`` forecast,
    walk-forward on the world clock, and append them as backtest rows.

    The models are those of :func:`forecasts.runs.evaluate.evaluate_crowd`, one rule each:

    ``backtest:extremized``
        ``expit(d * logit p)`` of the crowd's standing forecast ``p``
        (:func:`forecasts.models.aggregate.extremize`), ``d`` fitted by
        :func:`~forecasts.models.aggregate.fit_extremizing` on the crowd's forecasts on the
        questions resolved yes/no by then; with none, ``d = 1`` (the crowd itself).
    ``backtest:hazard-crowd`` (deadline questions only: :func:`~forecasts.runs.evaluate.is_deadline_question`)
        the crowd's standing forecast decayed quietly to the question's close
        (:func:`~forecasts.models.hazard.quiet_decay`), the Gamma shape chosen by
        :func:`~forecasts.runs.evaluate.choose_shape` on the deadline questions resolved by
        then; with none, :data:`~forecasts.models.hazard.DEFAULT_SHAPE`.

    Each model runs at each of the crowd's forecasts and every ``every`` while it stands
    (:func:`~forecasts.runs.evaluate.holding_grid`), until the question closes, resolves or
    now.  A row made at ``t`` uses only what was known at ``t`` on the world clock: the crowd's
    forecasts up to ``t`` and the parameters learned from the questions resolved at or before
    ``t`` (so the first question a crowd answered is replayed with ``d = 1``).  Rows are
    forecaster and source ``backtest:<model>``, ``backtest=True``, with the model version, the
    parameters they used (the crowd, the forecast they start from, the factor or shape and how
    many questions it was learned on) and a ``source_id`` naming question and time, so a
    re-run appends nothing twice.  ``write=False`` computes the rows without appending them.

    Returns ``{"rows": {model: frame}, "written": {model: n}, "fits": frame}``: ``fits`` has
    one row per state of knowledge (``from``: the resolution that opened it, ``n_questions``
    resolved by then, the extremizing ``factor`` and its ``sd``, the hazard ``shape`` and
    ``n_deadline`` questions it was chosen on).
    """
    import numpy as np
    import pandas as pd

    from forecasts.models import aggregate, hazard
    from forecasts.models.logodds import PROB_FLOOR
    from forecasts.runs.evaluate import SHAPES, choose_shape, holding_grid, is_deadline_question

    step = every if isinstance(every, timedelta) else domain.parse_duration(every, "backtest step")
    if step <= timedelta(0):
        raise InvalidInput("the backtest step must be positive, e.g. 1w")
    now = pd.Timestamp(domain.now())
    qs = ledger.questions(clock="world")
    qs = qs[qs["kind"] == "binary"]
    f = ledger.forecasts(clock="world", forecaster=crowd)
    f = f[f["probability"].notna() & f["question"].isin(qs["id"])]
    if f.empty:
        raise InvalidInput(f"no binary question has forecasts by {crowd}; see 'forecasts history QUESTION'")
    rs = ledger.resolutions(clock="world")
    known = rs[rs["outcome"].isin(["yes", "no"]) & rs["question"].isin(f["question"])].sort_values("resolved_at")
    # each state of knowledge begins when a question the crowd forecast is resolved
    starts = np.unique(known["resolved_at"].to_numpy(dtype="datetime64[us]"))
    fits = []
    for k in range(len(starts) + 1):
        told = known[known["resolved_at"].to_numpy(dtype="datetime64[us]") <= starts[k - 1]] if k else known.iloc[:0]
        train_f = f[f["question"].isin(told["question"])]
        ext = aggregate.fit_extremizing(train_f[["seq", "question", "forecaster", "made_at", "probability"]]
                                        .to_dict("records"),
                                        told[["question", "outcome", "resolved_at"]].to_dict("records"),
                                        persons_only=False)
        train_q = qs[qs["id"].isin(told["question"])]
        shape, _ = choose_shape(train_q, train_f[["question", "made_at", "probability"]], told,
                                SHAPES if shapes is None else shapes)
        fits.append({"from": pd.Timestamp(starts[k - 1]) if k else pd.NaT, "n_questions": int(len(told)),
                     "factor": float(ext["factor"]), "sd": float(ext["sd"]),
                     "shape": hazard.DEFAULT_SHAPE if shape is None else float(shape),
                     "n_deadline": int(train_q["title"].map(is_deadline_question).sum()) if shape is not None else 0})
    fit_frame = pd.DataFrame(fits)

    q = qs.set_index("id")
    ends = {}
    for qid in f["question"].unique():
        end = min(pd.Timestamp(q.at[qid, "closes_at"]), now)
        if pd.notna(q.at[qid, "resolved_at"]):
            end = min(end, pd.Timestamp(q.at[qid, "resolved_at"]))
        ends[qid] = end
    grid = holding_grid(f[["question", "made_at", "probability"]], ends, restart=True,
                        step_days=step / timedelta(days=1))
    grid = grid[grid["made_at"] < grid["question"].map(ends).astype("datetime64[us]")].reset_index(drop=True)
    grid["state"] = np.searchsorted(starts, grid["made_at"].to_numpy(dtype="datetime64[us]"), side="right")
    grid["closes_at"] = grid["question"].map(q["closes_at"]).astype("datetime64[us]")
    deadline = grid["question"].map(q["title"].map(is_deadline_question)).to_numpy(dtype=bool)

    rows = {"extremized": grid.assign(probability=np.nan), "hazard-crowd": grid[deadline].assign(probability=np.nan)}
    for k, fit in enumerate(fits):
        for model, frame in rows.items():
            at = (frame["state"] == k).to_numpy()
            if not at.any():
                continue
            p0 = grid.loc[frame.index[at], "probability"].to_numpy(dtype=float)
            if model == "extremized":
                p = aggregate.extremize(p0, fit["factor"])
            else:
                p = hazard.quiet_decay(p0, frame["t0"].to_numpy()[at], frame["closes_at"].to_numpy()[at],
                                       frame["made_at"].to_numpy()[at], fit["shape"])
            frame.loc[frame.index[at], "probability"] = np.clip(p, PROB_FLOOR, 1 - PROB_FLOOR)
    out = {m: _crowd_rows(grid.loc[frame.index], frame["probability"].to_numpy(), m, crowd, fits)
           for m, frame in rows.items()}
    written = {m: (ledger.import_forecast_frame(r, source=f"backtest:{m}")["added"] if write and len(r) else 0)
               for m, r in out.items()}
    return {"rows": out, "written": written, "fits": fit_frame}


def _crowd_rows(grid: Any, probability: Any, model: str, crowd: str, fits: list[dict[str, Any]]) -> Any:
    """The forecast rows of one crowd model (:func:`backtest_crowd`): forecaster and
    ``source_id``, version, parameters and rationale from the grid row and its state's fit."""
    import pandas as pd

    from forecasts.models import aggregate, hazard

    params, why = [], []
    for t0, p0, p, made, state, closes in zip(grid["t0"], grid["probability"], probability, grid["made_at"],
                                              grid["state"], grid["closes_at"], strict=True):
        fit = fits[state]
        learned = fit["n_questions"]
        through = None if pd.isna(fit["from"]) else fit["from"].isoformat()
        said = f"{crowd} said {p0:.1%} on {pd.Timestamp(t0):%Y-%m-%d}"
        base = {"crowd": crowd, "of": float(p0), "of_at": pd.Timestamp(t0).isoformat(), "trained_through": through,
                "n_questions": learned, "clock": "world"}
        if model == "extremized":
            params.append({**base, "factor": round(fit["factor"], 6), "sd": round(fit["sd"], 6)})
            how = (f"d = {fit['factor']:.2f} (sd {fit['sd']:.2f}) learned from {learned} resolved question"
                   f"{'s' if learned != 1 else ''}" if learned else "d = 1: no resolved question yet")
            why.append(f"{said}; extremized with {how}: {p:.1%}")
        else:
            params.append({**base, "shape": fit["shape"], "n_deadline": fit["n_deadline"],
                           "deadline": pd.Timestamp(closes).isoformat()})
            how = (f"chosen on {fit['n_deadline']} resolved deadline question{'s' if fit['n_deadline'] != 1 else ''}"
                   if fit["n_deadline"] else "the default: no resolved deadline question yet")
            quiet = (pd.Timestamp(made) - pd.Timestamp(t0)) / pd.Timedelta(days=1)
            why.append(f"{said}; {quiet:.0f} quiet days later, a Gamma(a={fit['shape']:g}) hazard ({how}) gives "
                       f"P(by {pd.Timestamp(closes):%Y-%m-%d}) {p:.1%}")
    made = pd.to_datetime(grid["made_at"].to_numpy())
    return pd.DataFrame({
        "question": grid["question"].to_numpy(), "forecaster": backtest_name(f"model:{model}"),
        "made_at": made, "probability": probability, "rationale": why, "params": params,
        "model_version": aggregate.VERSION if model == "extremized" else hazard.VERSION, "backtest": True,
        "source_id": [f"{q}@{m.isoformat()}" for q, m in zip(grid["question"], made, strict=True)]})
