"""Running models as forecasters: read the ledger as of t, run a model, append its forecasts.

This is the only module of :mod:`forecasts.models` that touches the ledger.  Everything else
takes plain values (or frames) and returns forecast rows plus an explanation.

Live updates and backtests
--------------------------
* ``update(ledger, question, model)``: a **live** forecast, made now, from what the ledger
  knows now (``clock="both"``: rows recorded *and* dated by now).  Written through
  :meth:`Ledger.import_history` with forecaster ``model:<name>`` (aggregates:
  ``crowd:<method>``; recalibrations: ``model:recalibrated:<forecaster>``), source
  ``model:<name>``, ``made_at`` = now, ``model_version`` and JSON ``params``.
* ``backtest(ledger, question, model, start, end, every)``: what the model would have said at
  each date ``d`` (and, by default, on each assessed event's date).  Reads use
  ``clock="world"``: rows are filtered by their *world* time only, so imported history that
  was recorded all at once in 2026 replays as it unfolded in 2020.  The price of that choice:
  an evidence assessment written later about an earlier event is visible at the event's date,
  hindsight included.  Rows are written with source ``backtest:<name>``, ``backtest=True``,
  ``made_at`` = ``d``.  Dates already backtested by the same model version are skipped, so a
  re-run appends nothing twice.

Which prior?  (:func:`choose_prior`, shared by the evidence, hazard and learned models)
  1. the question's reference-class ``base_rate`` (stated at its opening; every assessed event
     then counts);
  2. else the earliest forecast by an analyst who assessed evidence on the question;
  3. else the earliest forecast by anyone who is not a model or a crowd (``model:*``,
     ``crowd:*``);
  4. else 50% at the opening.
  With a forecast as prior (2, 3), events dated at or before it are taken to be in it already.

Learned effects as likelihood ratios: ``learned`` applies model 3's posterior to the events
assessed for the question on the log-odds scale (model 1 with learned LRs); ``learned-hazard``
uses the same learned LRs as hazard multipliers in model 2 (``forecaster model:learned-hazard``).
Both carry the posterior's 90% interval in their parameters.

No lookahead: every read takes the as-of time; a model never sees a row recorded (``both``) or
dated (``world``) after it; the learned models refuse a posterior fitted on resolutions that
came after the as-of time.  Tested as a property in ``tests/models/test_run.py``.

Fast path: evidence and hazard updates import only the standard library, duckdb (through the
ledger) and these modules: no numpy, pandas, PyMC or PyTensor.  The learned, aggregate and
recalibrated models (and ``learned-hazard``) import numpy inside their functions; only :func:`replay_demo` uses pandas.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from forecasts import domain
from forecasts.errors import InvalidInput
from forecasts.models import evidence as evidence_model
from forecasts.models import hazard as hazard_model

MODELS = ("evidence", "hazard", "learned", "learned-hazard", "aggregate", "recalibrated")
#: The models that need a fitted posterior summary of model 3.
LEARNED = ("learned", "learned-hazard")
CLOSED_FORM = ("evidence", "hazard")
_NOT_HUMAN = ("model:", "crowd:")


def _is_person(forecaster: str) -> bool:
    return not forecaster.startswith(_NOT_HUMAN)


# ---------------------------------------------------------------------------- reading as of t
def read_question(ledger, question: str, as_of: datetime, clock: str, *, row: dict | None = None) -> dict:
    """Everything the models need about one question as of ``as_of`` (plain dicts, no pandas).

    Returns ``{"question", "resolution", "forecasts", "evidence", "as_of", "clock"}``;
    ``question`` is ``None`` if the question did not exist yet.  A backtest passes the
    question's ``row`` once (question rows never change; on the world clock a question exists
    once it opens, which :func:`forecast` checks).
    """
    qid = domain.parse_question_id(question)
    got = ledger.records_many(("questions", "resolutions", "forecasts", "evidence"), as_of,
                              clock=clock, question=qid)
    qs = got["questions"]
    if row is not None and clock == "world":
        qs = [row] if row["opens_at"] <= as_of else []
    if not qs:
        return {"question": None, "resolution": None, "forecasts": [], "evidence": [],
                "as_of": as_of, "clock": clock}
    res = got["resolutions"]
    return {"question": qs[0], "resolution": res[-1] if res else None,
            "forecasts": got["forecasts"], "evidence": got["evidence"],
            "as_of": as_of, "clock": clock}


def choose_prior(question: dict, forecasts: list[dict], evidence: list[dict]) -> dict:
    """The prior of the evidence, hazard and learned models (see the module docstring).

    Returns ``{"p", "at", "from", "counts_earlier_events"}``.

    >>> from datetime import datetime as dt
    >>> q = {"base_rate": None, "opens_at": dt(2020, 1, 1)}
    >>> f = [{"forecaster": "ana", "made_at": dt(2020, 2, 1), "probability": 0.3},
    ...      {"forecaster": "bob", "made_at": dt(2020, 1, 5), "probability": 0.6}]
    >>> choose_prior(q, f, [{"assessed_by": "ana"}])["from"]
    "ana's first forecast (2020-02-01)"
    """
    rate = question.get("base_rate")
    if rate is not None and 0.0 < rate < 1.0:
        rc = question.get("reference_class")
        return {"p": float(rate), "at": question["opens_at"], "counts_earlier_events": False,
                "from": "the question's base rate" + (f" ({rc})" if rc else "")}
    usable = [f for f in forecasts if f.get("probability") is not None and 0.0 < f["probability"] < 1.0
              and _is_person(f["forecaster"])]
    assessors = {v.get("assessed_by") for v in evidence}
    for pool in ([f for f in usable if f["forecaster"] in assessors], usable):
        if pool:
            first = min(pool, key=lambda f: (f["made_at"], f.get("seq", 0)))
            return {"p": float(first["probability"]), "at": first["made_at"], "counts_earlier_events": True,
                    "from": f"{first['forecaster']}'s first forecast ({first['made_at']:%Y-%m-%d})"}
    return {"p": 0.5, "at": question["opens_at"], "counts_earlier_events": False,
            "from": "no prior recorded: 50%"}


def _events_after_prior(prior: dict, evidence: list[dict]) -> list[dict]:
    if not prior["counts_earlier_events"]:
        return list(evidence)
    return [v for v in evidence if v["occurred_at"] > prior["at"]]


def _why_not(data: dict, as_of: datetime) -> str | None:
    """Why no forecast can be made on this question at ``as_of`` (None if one can)."""
    q = data["question"]
    if q is None:
        return "the question does not exist yet"
    if q["kind"] != "binary":
        return "models forecast binary questions only"
    if data["resolution"] is not None:
        return f"resolved {data['resolution']['outcome']}"
    if as_of < q["opens_at"]:
        return "not open yet"
    if as_of >= q["closes_at"]:
        return "past its close"
    return None


# ---------------------------------------------------------------------------- the models on a question
def _row(qid: str, forecaster: str, as_of: datetime, p: float, version: str, params: dict,
         rationale: str) -> dict:
    return {"question": qid, "forecaster": forecaster, "made_at": as_of, "probability": p,
            "model_version": version, "params": _jsonable(params), "rationale": rationale[:2000]}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 10)
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return value


def _movers(steps, key) -> str:
    top = sorted(steps, key=lambda s: -abs(key(s)))[:3]
    return "; ".join(top_line for top_line in (f"#{s['event']} {s['title'][:60]} ({key(s):+.2f})" for s in top))


def evidence_forecast(data: dict, *, same_day_decay: float = 1.0) -> tuple[list[dict], list[str]]:
    """Model 1 on one question's records (see :func:`read_question`): rows and explanation."""
    q, as_of = data["question"], data["as_of"]
    prior = choose_prior(q, data["forecasts"], data["evidence"])
    result = evidence_model.update(prior["p"], _events_after_prior(prior, data["evidence"]),
                                   same_day_decay=same_day_decay, prior_from=prior["from"])
    steps = [{"event": s.event, "title": s.title, "delta": s.delta_logit} for s in result.steps]
    params = {**result.params, "prior_at": prior["at"], "clock": data["clock"],
              "events": [[s.event, round(s.delta_logit, 6)] for s in result.steps]}
    why = (f"prior {prior['p']:.1%} from {prior['from']}; {len(steps)} events"
           + (f", largest moves: {_movers(steps, lambda s: s['delta'])}" if steps else "")
           + f"; posterior {result.probability:.1%}")
    row = _row(q["id"], "model:evidence", as_of, result.probability, evidence_model.VERSION, params, why)
    return [row], result.explanation()


def hazard_forecast(data: dict, *, shape: float = hazard_model.DEFAULT_SHAPE,
                    same_day_decay: float = 1.0) -> tuple[list[dict], list[str]]:
    """Model 2 on one question's records: rows and explanation."""
    q, as_of = data["question"], data["as_of"]
    prior = choose_prior(q, data["forecasts"], data["evidence"])
    result = hazard_model.update(prior["p"], prior["at"], q["closes_at"], as_of,
                                 _events_after_prior(prior, data["evidence"]), shape=shape,
                                 prior_from=prior["from"], same_day_decay=same_day_decay)
    params = {**result.params, "clock": data["clock"],
              "events": [[s["event"], round(s["multiplier"], 6)] for s in result.steps if s["kind"] == "event"]}
    why = (f"prior {prior['p']:.1%} from {prior['from']}; Gamma(a={shape:g}) hazard; "
           f"{params['n_events']} events multiply it by {result.multiplier:.3g}; {result.days_left:.0f} days left; "
           f"P(by {q['closes_at']:%Y-%m-%d}) {result.probability:.1%}")
    row = _row(q["id"], "model:hazard", as_of, result.probability, hazard_model.VERSION, params, why)
    return [row], result.explanation()


def _check_trained(summary: dict, as_of: datetime) -> None:
    trained = datetime.fromisoformat(summary["trained_through"])
    if trained > as_of:
        raise InvalidInput(
            f"the learned effects ({summary['version']}) were fitted on resolutions up to "
            f"{trained:%Y-%m-%d}; using them as of {as_of:%Y-%m-%d} would look ahead: fit with --as-of")


def learned_forecast(data: dict, summary: dict) -> tuple[list[dict], list[str]]:
    """Model 3's fitted effects applied to one question (posterior draws, numpy)."""
    from forecasts.models import hierarchical

    q, as_of = data["question"], data["as_of"]
    _check_trained(summary, as_of)
    prior = choose_prior(q, data["forecasts"], data["evidence"])
    items = evidence_model.combine(_events_after_prior(prior, data["evidence"]))
    result = hierarchical.predict(summary, prior["p"], items)
    params = {"prior": prior["p"], "prior_from": prior["from"], "prior_at": prior["at"],
              "effects_version": summary["version"], "clock": data["clock"],
              "interval90": [result["q05"], result["q95"]], "n_events": len(items),
              "events": [[s["event"], s["type"], round(s["delta_mean"], 6)] for s in result["steps"]]}
    p = evidence_model.clip(result["probability"])
    why = (f"prior {prior['p']:.1%} from {prior['from']}; {len(items)} events with learned effects "
           f"({summary['version']}); P {p:.1%}, 90% interval {result['q05']:.1%}-{result['q95']:.1%}")
    row = _row(q["id"], "model:learned", as_of, p, f"learned-1+{summary['version']}", params, why)
    return [row], result["explanation"]


def learned_hazard_forecast(data: dict, summary: dict, *, shape: float = hazard_model.DEFAULT_SHAPE,
                            n_draws: int = 200) -> tuple[list[dict], list[str]]:
    """Model 2 with model 3's learned likelihood ratios: each assessed event multiplies the
    hazard by ``exp`` of its learned log-odds shift (direction and weight from the assessment),
    one posterior draw at a time; the forecast is the mean over ``n_draws`` evenly spaced
    draws, with their 90% interval (numpy)."""
    import numpy as np

    from forecasts.models import hierarchical

    q, as_of = data["question"], data["as_of"]
    _check_trained(summary, as_of)
    prior = choose_prior(q, data["forecasts"], data["evidence"])
    items = evidence_model.combine(_events_after_prior(prior, data["evidence"]))
    learned = hierarchical.predict(summary, prior["p"], items)
    draws = {s["event"]: s["draws"] for s in learned["steps"]}
    total = len(next(iter(draws.values()))) if draws else 1
    picks = np.unique(np.linspace(0, total - 1, min(n_draws, total)).astype(int))
    probs = np.array([
        hazard_model.update(prior["p"], prior["at"], q["closes_at"], as_of,
                            [{"event": it["event"], "lr": math.exp(float(draws[it["event"]][k])),
                              "occurred_at": it["occurred_at"], "event_title": it["title"]}
                             for it in items if it["event"] in draws], shape=shape).raw
        for k in picks])
    p = evidence_model.clip(float(probs.mean()))
    q05, q95 = (float(v) for v in np.quantile(probs, [0.05, 0.95]))
    params = {"prior": prior["p"], "prior_from": prior["from"], "prior_at": prior["at"], "shape": shape,
              "effects_version": summary["version"], "clock": data["clock"], "interval90": [q05, q95],
              "n_draws": int(len(picks)),
              "events": [[s["event"], s["type"], round(math.exp(s["delta_mean"]), 6)] for s in learned["steps"]]}
    why = (f"prior {prior['p']:.1%} from {prior['from']}; Gamma(a={shape:g}) hazard; {len(draws)} events "
           f"with learned hazard multipliers ({summary['version']}); P(by {q['closes_at']:%Y-%m-%d}) {p:.1%}, "
           f"90% interval {q05:.1%}-{q95:.1%}")
    lines = [*learned["explanation"][:-1],
             f"deadline hazard with these as hazard multipliers, over {len(picks)} posterior draws: "
             f"P(by {q['closes_at']:%Y-%m-%d}) {p:.1%} [90% {q05:.1%}-{q95:.1%}]"]
    row = _row(q["id"], "model:learned-hazard", as_of, p,
               f"{hazard_model.VERSION}+learned+{summary['version']}", params, why)
    return [row], lines


def aggregate_forecast(data: dict, history: dict, *, method: str = "extremized") -> tuple[list[dict], list[str]]:
    """Model 4: pool the latest forecast of every person (and import) on the question."""
    from forecasts.models import aggregate

    q, as_of = data["question"], data["as_of"]
    latest = aggregate.latest_by_forecaster(data["forecasts"])
    if not latest:
        return [], ["no forecasts to pool yet"]
    factor = None
    expl = []
    if method == "extremized":
        fit = aggregate.fit_extremizing(history["forecasts"], history["resolutions"])
        factor = fit["factor"]
        expl.append(f"extremizing factor d = {factor:.3g} (sd {fit['sd']:.2g}) learned from "
                    f"{fit['n_questions']} resolved questions" if fit["n_questions"] else
                    "extremizing factor d = 1 (no resolved history yet)")
    p = evidence_model.clip(aggregate.pool([f["probability"] for f in latest], method,
                                           times=[f["made_at"] for f in latest], factor=factor))
    expl.append(f"{method} of {len(latest)} forecasters' latest forecasts: {p:.1%}")
    params = {"method": method, "n_forecasters": len(latest), "factor": factor,
              "forecasters": [f["forecaster"] for f in latest], "clock": data["clock"]}
    row = _row(q["id"], f"crowd:{method}", as_of, p, aggregate.VERSION, params, "; ".join(expl))
    return [row], expl


def recalibrated_forecast(data: dict, history: dict, *, min_questions: int = 5) -> tuple[list[dict], list[str]]:
    """Model 5: each person's latest forecast, recalibrated on their own resolved history."""
    from forecasts.models import aggregate, recalibrate

    q, as_of = data["question"], data["as_of"]
    rows, expl = [], []
    for f in aggregate.latest_by_forecaster(data["forecasts"]):
        fit = recalibrate.fit_forecaster(history["forecasts"], history["resolutions"], f["forecaster"])
        if fit.n_questions < min_questions:
            expl.append(f"{f['forecaster']}: {fit.n_questions} resolved questions, fewer than {min_questions}: skipped")
            continue
        p, lo, hi = fit.predict(f["probability"])
        p = evidence_model.clip(p)
        text = (f"{f['forecaster']} said {f['probability']:.1%}; recalibrated (intercept {fit.intercept:+.2f}, "
                f"slope {fit.slope:.2f}, from {fit.n_questions} resolved questions) {p:.1%} "
                f"[90% {lo:.1%}-{hi:.1%}]")
        expl.append(text)
        params = {"of": f["forecaster"], "original": f["probability"], **fit.params(),
                  "interval90": [lo, hi], "clock": data["clock"]}
        rows.append(_row(q["id"], f"model:recalibrated:{f['forecaster']}", as_of, p, recalibrate.VERSION,
                         params, text))
    return rows, expl or ["no forecasts to recalibrate yet"]


def _history(ledger, as_of: datetime, clock: str) -> dict:
    return ledger.records_many(("forecasts", "resolutions"), as_of, clock=clock)


def models_folder(ledger) -> Path:
    """Where fitted posterior summaries live: ``$FORECASTS_MODELS``, else ``models/`` beside the
    ledger file (``data/models/`` for the default ``data/forecasts.duckdb``)."""
    env = os.environ.get("FORECASTS_MODELS")
    return Path(env) if env else Path(ledger.path).parent / "models"


def forecast(ledger, question: str, model: str = "evidence", as_of: object = None, *,
             clock: str = "both", summary: dict | None = None, question_row: dict | None = None,
             **options) -> dict:
    """What ``model`` says about ``question`` as of a time, without writing anything.

    Returns ``{"rows": [forecast rows], "explanation": [lines], "skipped": reason or None}``.
    """
    if model not in MODELS:
        raise InvalidInput(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    t = domain.now() if as_of is None else domain.parse_time(as_of, "as-of date")
    data = read_question(ledger, question, t, clock, row=question_row)
    why_not = _why_not(data, t)
    if why_not:
        return {"rows": [], "explanation": [f"{question}: {why_not}"], "skipped": why_not}
    if model == "evidence":
        rows, expl = evidence_forecast(data, **options)
    elif model == "hazard":
        rows, expl = hazard_forecast(data, **options)
    elif model in LEARNED:
        if summary is None:
            from forecasts.models import hierarchical

            summary = hierarchical.load_summary(models_folder(ledger))
        if model == "learned":
            rows, expl = learned_forecast(data, summary)
        else:
            rows, expl = learned_hazard_forecast(data, summary, **options)
    elif model == "aggregate":
        rows, expl = aggregate_forecast(data, _history(ledger, t, clock), **options)
    else:
        rows, expl = recalibrated_forecast(data, _history(ledger, t, clock), **options)
    return {"rows": rows, "explanation": expl, "skipped": None if rows else (expl[-1] if expl else "nothing")}


# ---------------------------------------------------------------------------- writing
def update(ledger, question: str, model: str = "evidence", **options) -> dict:
    """Append the model's live forecast on one question, made now; return what :func:`forecast` did."""
    out = forecast(ledger, question, model, None, clock="both", **options)
    if out["skipped"] == "the question does not exist yet":
        from forecasts.errors import UnknownQuestion

        raise UnknownQuestion(f"no question {question!r}; see 'forecasts questions'")
    if out["rows"]:
        ledger.import_history(forecasts=out["rows"], source=f"model:{model}")
    return out


def open_questions(ledger, as_of: datetime | None = None, clock: str = "both") -> list[str]:
    """Ids of the binary questions open and unresolved as of a time (no pandas)."""
    t = domain.now() if as_of is None else as_of
    resolved = {r["question"] for r in ledger.records("resolutions", t, clock=clock)}
    return [q["id"] for q in ledger.records("questions", t, clock=clock)
            if q["kind"] == "binary" and q["id"] not in resolved and q["opens_at"] <= t < q["closes_at"]]


def update_all(ledger, model: str = "evidence", **options) -> dict:
    """Live forecasts of ``model`` on every open question, appended in one transaction.

    Returns ``{"rows": [...], "skipped": {question: reason}}``.
    """
    t = domain.now()
    rows, skipped = [], {}
    summary = options.pop("summary", None)
    if model in LEARNED and summary is None:
        from forecasts.models import hierarchical

        summary = hierarchical.load_summary(models_folder(ledger))
    for qid in open_questions(ledger, t):
        out = forecast(ledger, qid, model, t, summary=summary, **options)
        rows += out["rows"]
        if not out["rows"]:
            skipped[qid] = out["skipped"]
    if rows:
        ledger.import_history(forecasts=rows, source=f"model:{model}")
    return {"rows": rows, "skipped": skipped}


def backtest_dates(start: datetime, end: datetime, every: timedelta, extra: list[datetime] = ()) -> list[datetime]:
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


def backtest(ledger, question: str, model: str = "evidence", start: object = None, end: object = None,
             every: object = "1w", *, at_events: bool = True, write: bool = True, **options) -> dict:
    """Replay ``model`` on ``question`` as of each date (world clock) and append backtest rows.

    ``start`` defaults to the question's opening, ``end`` to the earliest of its close, its
    resolution and now.  With ``at_events`` the model also runs at each assessed event's date
    (the moment after the event).  Returns ``{"rows", "skipped": {date: reason}, "existing"}``.
    """
    qid = domain.parse_question_id(question)
    data = read_question(ledger, qid, domain.now(), "world")
    if data["question"] is None:
        from forecasts.errors import UnknownQuestion

        raise UnknownQuestion(f"no question {qid!r}; see 'forecasts questions'")
    q = data["question"]
    last = min(q["closes_at"] - timedelta(seconds=1), domain.now())
    if data["resolution"] is not None:
        last = min(last, data["resolution"]["resolved_at"])
    t0 = q["opens_at"] if start is None else domain.parse_time(start, "--from date")
    t1 = last if end is None else min(domain.parse_time(end, "--to date"), last)
    step = every if isinstance(every, timedelta) else domain.parse_duration(every, "--every")
    extra = [v["occurred_at"] for v in data["evidence"]] if at_events else []
    summary = options.pop("summary", None)
    if model in LEARNED and summary is None:
        from forecasts.models import hierarchical

        summary = hierarchical.load_summary(models_folder(ledger))
    options["summary"] = summary
    done = {(f["forecaster"], f["made_at"], f["model_version"]) for f in data["forecasts"] if f["backtest"]}
    rows, skipped, existing = [], {}, 0
    for d in backtest_dates(t0, t1, step, extra):
        out = forecast(ledger, qid, model, d, clock="world", question_row=q, **options)
        for row in out["rows"]:
            row["backtest"] = True
            if (row["forecaster"], row["made_at"], row["model_version"]) in done:
                existing += 1
            else:
                rows.append(row)
        if not out["rows"]:
            skipped[d] = out["skipped"]
    if rows and write:
        ledger.import_history(forecasts=rows, source=f"backtest:{model}")
    return {"rows": rows, "skipped": skipped, "existing": existing}


# ---------------------------------------------------------------------------- the demo
def replay_demo(ledger, question: str = "new-start-extension", *, every: str = "1w") -> dict:
    """Backtest the evidence and hazard models over the New START demo question and compare.

    Runs both models as of each assessed event's date and weekly from the question's opening
    to its resolution (world clock), appends the rows as ``backtest:evidence`` and
    ``backtest:hazard``, and returns

    * ``"paths"``: DataFrame ``made_at, forecaster, probability`` of the model paths and the
      imported crowd (``import:metaculus``), plus the crowd smoothed by the dynamic logit
      (``model:dynamic-crowd``, not written to the ledger);
    * ``"scores"``: time-averaged Brier (0-1) and log score (nats) per forecaster on the
      question, lower is better;
    * ``"explanations"``: the final step-by-step explanation of each model.
    """
    import pandas as pd

    written = {m: backtest(ledger, question, m, every=every) for m in CLOSED_FORM}
    frame = ledger.forecasts(clock="world", question=question)
    keep = ["model:evidence", "model:hazard", "import:metaculus"]
    paths = frame[frame["forecaster"].isin(keep)][["made_at", "forecaster", "probability"]]
    crowd = paths[paths["forecaster"] == "import:metaculus"]
    if len(crowd) >= 5:
        from forecasts.models import dynamic

        smooth = dynamic.smooth(crowd.set_index("made_at")["probability"])
        paths = pd.concat([paths, pd.DataFrame({"made_at": smooth.index, "forecaster": "model:dynamic-crowd",
                                                "probability": smooth["smoothed"].to_numpy()})])
    paths = paths.sort_values(["forecaster", "made_at"]).reset_index(drop=True)
    from forecasts.scoring import score_table

    frames = (ledger.forecasts(clock="world", question=question),
              ledger.questions(clock="world"), ledger.resolutions(clock="world"))
    brier = score_table(*frames, by="forecaster", rule="brier")
    log = score_table(*frames, by="forecaster", rule="log")
    scores = pd.DataFrame({"brier": brier["score"], "log": log["score"],
                           "coverage": brier["coverage"], "n_forecasts": brier["n_forecasts"]})
    scores = scores.sort_values("brier")
    end = ledger.records("resolutions", clock="world", question=question)
    at = end[-1]["resolved_at"] - timedelta(seconds=1) if end else None
    explanations = {m: forecast(ledger, question, m, at, clock="world")["explanation"] for m in CLOSED_FORM}
    return {"paths": paths, "scores": scores, "explanations": explanations,
            "written": {m: len(w["rows"]) for m, w in written.items()}}
