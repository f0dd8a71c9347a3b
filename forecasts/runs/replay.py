"""The New START demo's replay: both closed-form models backtested and scored against the crowd.

:func:`replay_demo` backtests the evidence and hazard models over the demo question (world
clock; :func:`forecasts.runs.backtest.backtest`), smooths the imported crowd with the dynamic
logit (:func:`forecasts.models.dynamic.smooth`) and scores everyone on the question
(:func:`forecasts.scoring.score_table`).  :func:`forecasts.demo.run_demo` calls it after
building the demo ledger.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from forecasts.runs.backtest import backtest
from forecasts.runs.live import CLOSED_FORM, forecast

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

__all__ = ["replay_demo"]


def replay_demo(ledger: Ledger, question: str = "new-start-extension", *, every: str = "1w") -> dict[str, Any]:
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
    keep = ["backtest:evidence", "backtest:hazard", "import:metaculus"]
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
