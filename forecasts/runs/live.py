"""Models as live forecasters: read a question as of t, run a model, append what it says.

* :func:`read_question`: one question's records as of a time, on one clock (plain dicts).
* :func:`forecast`: what a model says about a question as of a time; nothing is written.
* :func:`update`: a **live** forecast, made now, from what the ledger knows now
  (``clock="both"``: rows recorded *and* dated by now).  Written through
  :meth:`Ledger.import_history` with forecaster ``model:<name>`` (aggregates:
  ``crowd:<method>``; recalibrations: ``model:recalibrated:<forecaster>`` and
  ``model:contextual:<forecaster>``), source
  ``model:<name>``, ``made_at`` = now, ``model_version`` and JSON ``params``.
* :func:`update_all`: the same on every open question, in one transaction.

The models themselves are :mod:`forecasts.models.forecasters` (pure: records in, rows out);
their prior is :func:`forecasts.models.prior.choose_prior`.  Backtests (the world clock) are
:mod:`forecasts.runs.backtest`.

No lookahead: every read takes the as-of time; a model never sees a row recorded (``both``) or
dated (``world``) after it; the learned models refuse a posterior fitted on resolutions that
came after the as-of time.  Tested as a property in ``tests/runs/test_live.py``.

Fast path: evidence and hazard updates import only the standard library, duckdb (through the
ledger) and the closed-form models: no numpy, pandas, PyMC or PyTensor.  The learned, aggregate
and recalibrated models import numpy inside their functions.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from forecasts import domain
from forecasts.errors import UnknownModel, UnknownQuestion
from forecasts.ledger.storage import Clock
from forecasts.models import forecasters
from forecasts.models.forecasters import History, QuestionRecords
from forecasts.runs.learned import load_contextual, load_summary

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

__all__ = ["CLOSED_FORM", "LEARNED", "MODELS", "Clock", "forecast", "open_questions", "read_question",
           "update", "update_all"]

#: The models, by the name ``forecasts update --model`` takes.
MODELS = ("evidence", "hazard", "learned", "learned-hazard", "aggregate", "recalibrated", "contextual")
#: The models that need a fitted posterior summary of model 3.
LEARNED = ("learned", "learned-hazard")
#: The closed-form models (standard library only).
CLOSED_FORM = ("evidence", "hazard")


def read_question(ledger: Ledger, question: str, as_of: datetime, clock: Clock, *,
                  row: dict[str, Any] | None = None) -> QuestionRecords:
    """Everything the models need about one question as of ``as_of`` (plain dicts, no pandas).

    Returns ``{"question", "resolution", "forecasts", "evidence", "as_of", "clock"}``;
    ``question`` is ``None`` if the question did not exist yet.  A backtest passes the
    question's ``row`` once (question rows never change; on the world clock a question exists
    once it opens, which :func:`forecasts.models.forecasters.why_not` checks).
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


def _history(ledger: Ledger, as_of: datetime, clock: Clock) -> History:
    got = ledger.records_many(("forecasts", "resolutions"), as_of, clock=clock)
    return {"forecasts": got["forecasts"], "resolutions": got["resolutions"]}


def _check_model(model: str) -> None:
    if model not in MODELS:
        raise UnknownModel(f"unknown model {model!r}; one of {', '.join(MODELS)}")


def forecast(ledger: Ledger, question: str, model: str = "evidence", as_of: object = None, *,
             clock: Clock = "both", summary: dict[str, Any] | None = None,
             question_row: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    """What ``model`` says about ``question`` as of a time (default: now), without writing.

    ``summary``: the learned models' posterior summary (default: the newest in
    :func:`forecasts.runs.learned.models_folder`); ``options`` go to the model's function in
    :mod:`forecasts.models.forecasters`.  Returns ``{"rows": [forecast rows], "explanation":
    [lines], "skipped": reason or None}``.
    """
    _check_model(model)
    t = domain.now() if as_of is None else domain.parse_time(as_of, "as-of date")
    data = read_question(ledger, question, t, clock, row=question_row)
    if model in LEARNED and summary is None and not forecasters.why_not(data):
        summary = load_summary(ledger)
    if model == "contextual" and summary is None and not forecasters.why_not(data):
        summary = load_contextual(ledger)
    history = (lambda: _history(ledger, t, clock)) if model in ("aggregate", "recalibrated") else None
    return _run_model(model, question, data, history, summary, None, options)


def _run_model(model: str, question: str, data: QuestionRecords, history: Any, summary: dict[str, Any] | None,
               fits: dict | None, options: dict[str, Any]) -> dict[str, Any]:
    """One model on one question's records, the one dispatch :func:`forecast` and
    :func:`update_all` share.  ``history``: a callable giving every forecast and resolution as
    of the same time (called only by the models that need it); ``fits``: the cache of fits on
    that history kept across the questions of one pass."""
    why_not = forecasters.why_not(data)
    if why_not:
        return {"rows": [], "explanation": [f"{question}: {why_not}"], "skipped": why_not}
    if model == "evidence":
        rows, expl = forecasters.evidence_forecast(data, **options)
    elif model == "hazard":
        rows, expl = forecasters.hazard_forecast(data, **options)
    elif model in LEARNED:
        assert summary is not None
        if model == "learned":
            rows, expl = forecasters.learned_forecast(data, summary)
        else:
            rows, expl = forecasters.learned_hazard_forecast(data, summary, **options)
    elif model == "contextual":
        assert summary is not None
        rows, expl = forecasters.contextual_forecast(data, summary)
    elif model == "aggregate":
        rows, expl = forecasters.aggregate_forecast(data, history(), fits=fits, **options)
    else:
        rows, expl = forecasters.recalibrated_forecast(data, history(), fits=fits, **options)
    return {"rows": rows, "explanation": expl, "skipped": None if rows else (expl[-1] if expl else "nothing")}


def update(ledger: Ledger, question: str, model: str = "evidence", **options: Any) -> dict[str, Any]:
    """Append the model's live forecast on one question, made now; return what :func:`forecast` did."""
    out = forecast(ledger, question, model, None, clock="both", **options)
    if out["skipped"] == "the question does not exist yet":
        raise UnknownQuestion(f"no question {question!r}; see 'forecasts questions'")
    if out["rows"]:
        ledger.import_history(forecasts=out["rows"], source=f"model:{model}")
    return out


def _open(questions: list[dict[str, Any]], resolutions: list[dict[str, Any]], t: datetime) -> list[str]:
    resolved = {r["question"] for r in resolutions}
    return [q["id"] for q in questions
            if q["kind"] == "binary" and q["id"] not in resolved and q["opens_at"] <= t < q["closes_at"]]


def open_questions(ledger: Ledger, as_of: datetime | None = None, clock: Clock = "both") -> list[str]:
    """Ids of the binary questions open and unresolved as of a time (no pandas)."""
    t = domain.now() if as_of is None else as_of
    got = ledger.records_many(("questions", "resolutions"), t, clock=clock)
    return _open(got["questions"], got["resolutions"], t)


def update_all(ledger: Ledger, model: str = "evidence", **options: Any) -> dict[str, Any]:
    """Live forecasts of ``model`` on every open question, appended in one transaction.

    One read of the ledger (every table as of now, split by question in one pass) and at most
    one fit per model on the history (the extremizing factor, or each forecaster's
    recalibration, computed once and shared by every question), whatever the number of open
    questions.  Each question gets exactly what :func:`update` would give it alone.
    Returns ``{"rows": [...], "skipped": {question: reason}}``.
    """
    _check_model(model)
    t = domain.now()
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    summary = options.pop("summary", None)
    got = ledger.records_many(("questions", "resolutions", "forecasts", "evidence"), t, clock="both")
    open_ids = _open(got["questions"], got["resolutions"], t)
    if open_ids and model in LEARNED and summary is None:
        summary = load_summary(ledger)
    if open_ids and model == "contextual" and summary is None:
        summary = load_contextual(ledger)
    wanted = set(open_ids)
    split: dict[str, dict[str, list[dict[str, Any]]]] = {q: {"questions": [], "resolutions": [], "forecasts": [],
                                                              "evidence": []} for q in open_ids}
    for table in ("questions", "resolutions", "forecasts", "evidence"):
        key = "id" if table == "questions" else "question"
        for r in got[table]:
            if r[key] in wanted:
                split[r[key]][table].append(r)
    history: History = {"forecasts": got["forecasts"], "resolutions": got["resolutions"]}
    fits: dict = {}
    for qid in open_ids:
        mine = split[qid]
        res = mine["resolutions"]
        data: QuestionRecords = {"question": mine["questions"][0], "resolution": res[-1] if res else None,
                                 "forecasts": mine["forecasts"], "evidence": mine["evidence"],
                                 "as_of": t, "clock": "both"}
        out = _run_model(model, qid, data, lambda: history, summary, fits, options)
        rows += out["rows"]
        if not out["rows"]:
            skipped[qid] = out["skipped"]
    if rows:
        ledger.import_history(forecasts=rows, source=f"model:{model}")
    return {"rows": rows, "skipped": skipped}
