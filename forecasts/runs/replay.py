"""The demo's replay: the models backtested, on the New START question and on every question.

:func:`replay_demo` backtests the evidence and hazard models over the New START question (world
clock; :func:`forecasts.runs.backtest.backtest`: they need the analysts' prior and evidence,
which only that question has), and the crowd models of ``forecasts evaluate`` walk-forward over
every question the Metaculus community forecast (:func:`forecasts.runs.backtest.backtest_crowd`);
it smooths the imported crowd with the dynamic logit (:func:`forecasts.models.dynamic.smooth`)
and scores everyone on the New START question (:func:`forecasts.scoring.score_table`).
:func:`forecasts.demo.run_demo` calls it after building the demo ledger.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from forecasts.runs.backtest import CROWD_MODELS, backtest, backtest_crowd
from forecasts.runs.live import CLOSED_FORM, forecast

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

__all__ = ["replay_demo"]


def replay_demo(ledger: Ledger, question: str = "new-start-extension", *, every: str = "1w",
                crowd: str = "import:metaculus") -> dict[str, Any]:
    """Backtest the models over the demo's questions and compare them on the New START question.

    Runs the evidence and hazard models on ``question`` as of each assessed event's date and
    weekly from its opening to its resolution (world clock), appended as ``backtest:evidence``
    and ``backtest:hazard``; and the crowd models on every question ``crowd`` forecast, at each
    of its forecasts and weekly while it stands (:func:`~forecasts.runs.backtest.backtest_crowd`),
    appended as ``backtest:extremized`` and ``backtest:hazard-crowd``.  Returns

    * ``"paths"``: DataFrame ``made_at, forecaster, probability`` of the model paths on
      ``question`` and the imported crowd, plus the crowd smoothed by the dynamic logit
      (``model:dynamic-crowd``, not written to the ledger);
    * ``"scores"``: time-averaged Brier (0-1) and log score (nats) per forecaster on
      ``question``, lower is better;
    * ``"explanations"``: the final step-by-step explanation of each closed-form model;
    * ``"written"``: rows appended per model; ``"fits"``: what the crowd models had learned
      at each state of knowledge (:func:`~forecasts.runs.backtest.backtest_crowd`).
    """
    import pandas as pd

    written = {m: backtest(ledger, question, m, every=every) for m in CLOSED_FORM}
    replayed = backtest_crowd(ledger, crowd, every=every)
    frame = ledger.forecasts(clock="world", question=question)
    keep = ["backtest:evidence", "backtest:hazard", *(f"backtest:{m}" for m in CROWD_MODELS), crowd]
    paths = frame[frame["forecaster"].isin(keep)][["made_at", "forecaster", "probability"]]
    crowd_path = paths[paths["forecaster"] == crowd]
    if len(crowd_path) >= 5:
        from forecasts.models import dynamic

        smooth = dynamic.smooth(crowd_path.set_index("made_at")["probability"])
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
            "written": {**{m: len(w["rows"]) for m, w in written.items()}, **replayed["written"]},
            "fits": replayed["fits"]}
