"""Every model as a forecaster: one question's records as of t in, forecast rows out.

Each ``*_forecast`` function takes the :data:`QuestionRecords` of one question (its row, its
latest resolution, its forecasts and evidence, all as of ``as_of`` on one clock: the caller,
:mod:`forecasts.runs`, reads them from the ledger) and returns ``(rows, explanation)``: forecast
rows ready for :meth:`forecasts.ledger.Ledger.import_history` (forecaster ``model:<name>``,
aggregates ``crowd:<method>``, recalibrations ``model:recalibrated:<forecaster>``, ``made_at`` =
``as_of``, ``model_version``, JSON-ready ``params``, a ``rationale``) and the step-by-step
explanation as lines.  Nothing here reads or writes the ledger.

The prior of the evidence, hazard and learned models is :func:`forecasts.models.prior.choose_prior`.
Learned effects as likelihood ratios: ``learned`` applies model 3's posterior to the events
assessed for the question on the log-odds scale (model 1 with learned LRs); ``learned-hazard``
uses the same learned LRs as hazard multipliers in model 2.  Both carry the posterior's 90%
interval in their parameters and refuse a posterior fitted on resolutions after ``as_of``
(:func:`check_trained`).

Fast path: standard library only at import (the evidence and hazard models); the learned,
aggregate and recalibrated models import numpy inside their functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypedDict

from forecasts.errors import InvalidInput
from forecasts.models import evidence as evidence_model
from forecasts.models import hazard as hazard_model
from forecasts.models.logodds import clip
from forecasts.models.prior import choose_prior, events_after_prior, explain_left_out

__all__ = ["Forecasts", "History", "QuestionRecords", "aggregate_forecast", "check_trained", "contextual_forecast",
           "evidence_forecast", "hazard_forecast", "learned_forecast", "learned_hazard_forecast",
           "recalibrated_forecast", "why_not"]

#: What a model returns: forecast rows and the explanation, as lines.
Forecasts = tuple[list[dict[str, Any]], list[str]]


class QuestionRecords(TypedDict):
    """One question's records as of a time (plain dicts, as ``Ledger.records`` returns them)."""

    question: dict[str, Any] | None    # None: the question did not exist yet
    resolution: dict[str, Any] | None  # the latest resolution, if any
    forecasts: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    as_of: datetime
    clock: str


class History(TypedDict):
    """Every forecast and resolution in the ledger as of a time (for the pooled models)."""

    forecasts: list[dict[str, Any]]
    resolutions: list[dict[str, Any]]


def why_not(data: QuestionRecords) -> str | None:
    """Why no model can forecast this question as of ``data["as_of"]`` (None if one can)."""
    q, as_of = data["question"], data["as_of"]
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


# ---------------------------------------------------------------------------- forecast rows
def _question(data: QuestionRecords) -> dict[str, Any]:
    q = data["question"]
    if q is None:
        raise InvalidInput("the question does not exist yet as of that time: no model can forecast it")
    return q


def _row(qid: str, forecaster: str, as_of: datetime, p: float, version: str, params: dict,
         rationale: str) -> dict[str, Any]:
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


def _movers(steps: list[dict], key: Callable[[dict], float]) -> str:
    top = sorted(steps, key=lambda s: -abs(key(s)))[:3]
    return "; ".join(top_line for top_line in (f"#{s['event']} {s['title'][:60]} ({key(s):+.2f})" for s in top))


def evidence_forecast(data: QuestionRecords, *, same_day_decay: float = 1.0) -> Forecasts:
    """Model 1 on one question's records: rows and explanation."""
    q, as_of = _question(data), data["as_of"]
    prior = choose_prior(q, data["forecasts"], data["evidence"])
    result = evidence_model.update(prior["p"], events_after_prior(prior, data["evidence"]),
                                   same_day_decay=same_day_decay, prior_from=prior["from"])
    steps = [{"event": s.event, "title": s.title, "delta": s.delta_logit} for s in result.steps]
    params = {**result.params, "prior_at": prior["at"], "clock": data["clock"],
              "events": [[s.event, round(s.delta_logit, 6)] for s in result.steps]}
    why = (f"prior {prior['p']:.1%} from {prior['from']}; {len(steps)} events"
           + (f", largest moves: {_movers(steps, lambda s: s['delta'])}" if steps else "")
           + f"; posterior {result.probability:.1%}")
    row = _row(q["id"], "model:evidence", as_of, result.probability, evidence_model.VERSION, params, why)
    return [row], explain_left_out(result.explanation(), prior, data["evidence"])


def hazard_forecast(data: QuestionRecords, *, shape: float = hazard_model.DEFAULT_SHAPE,
                    same_day_decay: float = 1.0) -> Forecasts:
    """Model 2 on one question's records: rows and explanation."""
    q, as_of = _question(data), data["as_of"]
    prior = choose_prior(q, data["forecasts"], data["evidence"])
    result = hazard_model.update(prior["p"], prior["at"], q["closes_at"], as_of,
                                 events_after_prior(prior, data["evidence"]), shape=shape,
                                 prior_from=prior["from"], same_day_decay=same_day_decay)
    params = {**result.params, "clock": data["clock"],
              "events": [[s["event"], round(s["multiplier"], 6)] for s in result.steps if s["kind"] == "event"]}
    why = (f"prior {prior['p']:.1%} from {prior['from']}; Gamma(a={shape:g}) hazard; "
           f"{params['n_events']} events multiply it by {result.multiplier:.3g}; {result.days_left:.0f} days left; "
           f"P(by {q['closes_at']:%Y-%m-%d}) {result.probability:.1%}")
    row = _row(q["id"], "model:hazard", as_of, result.probability, hazard_model.VERSION, params, why)
    return [row], explain_left_out(result.explanation(), prior, data["evidence"])


def check_trained(summary: Mapping[str, Any], as_of: datetime) -> None:
    """Refuse learned effects fitted on resolutions after ``as_of`` (they would look ahead)."""
    trained = datetime.fromisoformat(summary["trained_through"])
    if trained > as_of:
        raise InvalidInput(
            f"the learned effects ({summary['version']}) were fitted on resolutions up to "
            f"{trained:%Y-%m-%d}; using them as of {as_of:%Y-%m-%d} would look ahead: fit them as of that date")


def learned_forecast(data: QuestionRecords, summary: Mapping[str, Any]) -> Forecasts:
    """Model 3's fitted effects applied to one question (posterior draws, numpy)."""
    from forecasts.models import hierarchical

    q, as_of = _question(data), data["as_of"]
    check_trained(summary, as_of)
    prior = choose_prior(q, data["forecasts"], data["evidence"])
    items = evidence_model.combine(events_after_prior(prior, data["evidence"]))
    result = hierarchical.predict(summary, prior["p"], items)
    params = {"prior": prior["p"], "prior_from": prior["from"], "prior_at": prior["at"],
              "effects_version": summary["version"], "clock": data["clock"],
              "interval90": [result["q05"], result["q95"]], "n_events": len(items),
              "events": [[s["event"], s["type"], round(s["delta_mean"], 6)] for s in result["steps"]]}
    p = clip(result["probability"])
    why = (f"prior {prior['p']:.1%} from {prior['from']}; {len(items)} events with learned effects "
           f"({summary['version']}); P {p:.1%}, 90% interval {result['q05']:.1%}-{result['q95']:.1%}")
    row = _row(q["id"], "model:learned", as_of, p, f"learned-1+{summary['version']}", params, why)
    return [row], explain_left_out(result["explanation"], prior, data["evidence"])


def learned_hazard_forecast(data: QuestionRecords, summary: Mapping[str, Any], *,
                            shape: float = hazard_model.DEFAULT_SHAPE, n_draws: int = 200) -> Forecasts:
    """Model 2 with model 3's learned likelihood ratios: each assessed event multiplies the
    hazard by ``exp`` of its learned log-odds shift (direction and weight from the assessment),
    one posterior draw at a time; the forecast is the mean over ``n_draws`` evenly spaced
    draws, with their 90% interval (numpy)."""
    import numpy as np

    from forecasts.models import hierarchical

    q, as_of = _question(data), data["as_of"]
    check_trained(summary, as_of)
    prior = choose_prior(q, data["forecasts"], data["evidence"])
    items = evidence_model.combine(events_after_prior(prior, data["evidence"]))
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
    p = clip(float(probs.mean()))
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
    return [row], explain_left_out(lines, prior, data["evidence"])


def _cached(fits: dict | None, key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()``, or what it gave for ``key`` before in ``fits`` (a cache that lives for one
    pass over many questions read at the same time, so a fit on the whole history runs once)."""
    if fits is None:
        return compute()
    if key not in fits:
        fits[key] = compute()
    return fits[key]


def _grouped(rows: list[dict], key: str) -> dict[Any, list[dict]]:
    """Rows grouped by ``row[key]``, each group in the rows' order."""
    out: dict[Any, list[dict]] = {}
    for r in rows:
        out.setdefault(r[key], []).append(r)
    return out


def aggregate_forecast(data: QuestionRecords, history: History, *, method: str = "extremized",
                       fits: dict | None = None) -> Forecasts:
    """Model 4: pool the latest forecast of every person on the question (``history``: every
    forecast and resolution as of the same time, for the extremizing factor; ``fits``: a cache
    shared by the questions of one pass, see :func:`_cached`)."""
    from forecasts.models import aggregate

    q, as_of = _question(data), data["as_of"]
    latest = aggregate.latest_by_forecaster(data["forecasts"])
    if not latest:
        return [], ["no forecasts to pool yet"]
    factor = None
    expl = []
    if method == "extremized":
        fit = _cached(fits, ("extremizing",),
                      lambda: aggregate.fit_extremizing(history["forecasts"], history["resolutions"]))
        factor = fit["factor"]
        expl.append(f"extremizing factor d = {factor:.3g} (sd {fit['sd']:.2g}) learned from "
                    f"{fit['n_questions']} resolved questions" if fit["n_questions"] else
                    "extremizing factor d = 1 (no resolved history yet)")
    p = clip(aggregate.pool([f["probability"] for f in latest], method,
                                           times=[f["made_at"] for f in latest], factor=factor))
    expl.append(f"{method} of {len(latest)} forecasters' latest forecasts: {p:.1%}")
    params = {"method": method, "n_forecasters": len(latest), "factor": factor,
              "forecasters": [f["forecaster"] for f in latest], "clock": data["clock"]}
    row = _row(q["id"], f"crowd:{method}", as_of, p, aggregate.VERSION, params, "; ".join(expl))
    return [row], expl


def recalibrated_forecast(data: QuestionRecords, history: History, *, min_questions: int = 5,
                          fits: dict | None = None) -> Forecasts:
    """Model 5: each person's latest forecast, recalibrated on their own resolved history
    (``fits``: as for :func:`aggregate_forecast`)."""
    from forecasts.models import aggregate, recalibrate

    q, as_of = _question(data), data["as_of"]
    rows, expl = [], []
    for f in aggregate.latest_by_forecaster(data["forecasts"]):
        who = f["forecaster"]
        # within one pass, each forecaster's own history is found through one grouping of it
        mine = (history["forecasts"] if fits is None else
                _cached(fits, ("by forecaster",), lambda: _grouped(history["forecasts"], "forecaster")).get(who, []))
        fit = _cached(fits, ("recalibrate", who),
                      lambda who=who, mine=mine: recalibrate.fit_forecaster(mine, history["resolutions"], who))
        if fit.n_questions < min_questions:
            expl.append(f"{f['forecaster']}: {fit.n_questions} resolved questions, fewer than {min_questions}: skipped")
            continue
        p, lo, hi = fit.predict(f["probability"])
        p = clip(p)
        text = (f"{f['forecaster']} said {f['probability']:.1%}; recalibrated (intercept {fit.intercept:+.2f}, "
                f"slope {fit.slope:.2f}, from {fit.n_questions} resolved questions) {p:.1%} "
                f"[90% {lo:.1%}-{hi:.1%}]")
        expl.append(text)
        params = {"of": f["forecaster"], "original": f["probability"], **fit.params(),
                  "interval90": [lo, hi], "clock": data["clock"]}
        rows.append(_row(q["id"], f"model:recalibrated:{f['forecaster']}", as_of, p, recalibrate.VERSION,
                         params, text))
    return rows, expl or ["no forecasts to recalibrate yet"]


def contextual_forecast(data: QuestionRecords, summary: Mapping[str, Any]) -> Forecasts:
    """Model 7 (:mod:`forecasts.models.contextual`): the latest forecast of each forecaster the
    fit covers (``summary["of"]``), recalibrated by the fit's posterior draws on the features of
    that forecast (computed from the forecaster's own forecasts on the question up to it and
    the scheduled close).  Refuses a fit trained on resolutions after ``as_of``."""
    import pandas as pd

    from forecasts.models import aggregate, contextual

    q, as_of = _question(data), data["as_of"]
    check_trained(summary, as_of)
    covered = set(summary["of"])
    mine = [f for f in data["forecasts"] if f["forecaster"] in covered and f.get("probability") is not None]
    if not mine:
        return [], [f"none of the forecasters this fit recalibrates ({', '.join(sorted(covered))}) "
                    "has forecast the question yet"]
    frame = pd.DataFrame({"question": q["id"], "forecaster": [f["forecaster"] for f in mine],
                          "made_at": pd.to_datetime([f["made_at"] for f in mine]),
                          "probability": [float(f["probability"]) for f in mine], "closes_at": q["closes_at"]})
    design = contextual.features(frame).groupby("forecaster", sort=True).tail(1)
    latest = {f["forecaster"]: f for f in aggregate.latest_by_forecaster(mine)}
    groups = [contextual.group_of(dict(summary), name, q.get("tags")) for name in design["forecaster"]]
    pred = contextual.predict(dict(summary), design, groups)
    values = design[list(contextual.FEATURES)].to_numpy(dtype=float)
    stated = design["probability"].to_numpy(dtype=float)
    rows, expl = [], []
    for k, r in enumerate(design.itertuples(index=False)):
        name = str(r.forecaster)
        p, lo, hi = float(pred["mean"][k]), float(pred["q05"][k]), float(pred["q95"][k])
        text = (f"{name} said {stated[k]:.1%} on {r.made_at:%Y-%m-%d}; contextual recalibration "
                f"({summary['version']}, group {groups[k]}, from {summary['n_questions']} resolved questions) "
                f"{p:.1%} [90% {lo:.1%}-{hi:.1%}]")
        expl.append(text)
        params = {"of": name, "original": float(stated[k]), "original_at": latest[name]["made_at"],
                  "group": groups[k], "fit_version": summary["version"], "trained_through": summary["trained_through"],
                  "features": dict(zip(contextual.FEATURES, values[k].tolist(), strict=True)),
                  "interval90": [lo, hi], "clock": data["clock"]}
        rows.append(_row(q["id"], f"model:contextual:{name}", as_of, clip(p), contextual.VERSION, params, text))
    return rows, expl
