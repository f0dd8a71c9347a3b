"""Compatibility shim, to delete once the CLI imports :mod:`forecasts.runs`: the old home of
the live updates, backtests and the demo replay.  Nothing in the project but the CLI imports it.

Old name -> new home: ``MODELS``, ``LEARNED``, ``CLOSED_FORM``, ``read_question``,
``forecast``, ``update``, ``update_all``, ``open_questions`` -> :mod:`forecasts.runs.live`;
``backtest``, ``backtest_dates`` -> :mod:`forecasts.runs.backtest`; ``models_folder`` ->
:mod:`forecasts.runs.learned`; ``choose_prior`` -> :mod:`forecasts.models.prior`;
``replay_demo`` -> :mod:`forecasts.runs.replay`.
"""

from __future__ import annotations

from forecasts.models.prior import choose_prior
from forecasts.runs.backtest import backtest, backtest_dates
from forecasts.runs.learned import models_folder
from forecasts.runs.live import (
    CLOSED_FORM,
    LEARNED,
    MODELS,
    forecast,
    open_questions,
    read_question,
    update,
    update_all,
)

__all__ = ["CLOSED_FORM", "LEARNED", "MODELS", "backtest", "backtest_dates", "choose_prior", "forecast",
           "models_folder", "open_questions", "read_question", "update", "update_all"]


def __getattr__(name: str) -> object:
    if name == "replay_demo":   # pandas and scoring: loaded only when asked for
        from forecasts.runs.replay import replay_demo

        return replay_demo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
