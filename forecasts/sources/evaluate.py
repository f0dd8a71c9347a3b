"""Compatibility shim, to delete once the CLI imports :mod:`forecasts.runs.evaluate`: the
evaluation on a crowd's track record moved there (``quiet_decay`` to
:mod:`forecasts.models.hazard`)."""

from __future__ import annotations

from forecasts.models.hazard import quiet_decay
from forecasts.runs.evaluate import Evaluation, evaluate_crowd, is_deadline_question

__all__ = ["Evaluation", "evaluate_crowd", "is_deadline_question", "quiet_decay"]
