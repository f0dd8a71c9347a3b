"""The learned models' ledger side: their training data as of a time and their fitted summaries.

Model 3 (learned event effects) and model 7 (contextual recalibration,
:mod:`forecasts.models.contextual`: :func:`fit_contextual_ledger`, :func:`load_contextual`).

:func:`design_from_ledger` reads every question, forecast, assessment and resolution as of a
time and hands them to :func:`forecasts.models.hierarchical.design_from_records`;
:func:`models_folder` says where :func:`forecasts.models.hierarchical.save_summary` writes and
:func:`load_summary` reads the fitted posterior summaries.

Standard library only at import (``forecasts update`` imports :mod:`forecasts.runs.live`, which
imports this module); numpy and the model come in with the functions that need them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forecasts.ledger import Ledger
    from forecasts.ledger.storage import Clock
    from forecasts.models.hierarchical import Design

__all__ = ["design_from_ledger", "fit_contextual_ledger", "fit_ledger", "load_contextual", "load_summary",
           "models_folder"]


def models_folder(ledger: Ledger) -> Path:
    """Where fitted posterior summaries live: ``$FORECASTS_MODELS``, else ``models/`` beside the
    ledger file (``data/models/`` for the default ``data/forecasts.duckdb``; for a team ledger,
    ``data/models/`` under the working folder)."""
    env = os.environ.get("FORECASTS_MODELS")
    return Path(env) if env else ledger.folder / "models"


def load_summary(ledger: Ledger) -> dict[str, Any]:
    """The newest converged posterior summary in the ledger's :func:`models_folder`."""
    from forecasts.models import hierarchical

    return hierarchical.load_summary(models_folder(ledger))


def design_from_ledger(ledger: Ledger, as_of: object = None,
                       clock: Clock = "both") -> Design:
    """The design of every question resolved in the ledger as of a time (default: now)."""
    from forecasts.models.hierarchical import design_from_records

    got = ledger.records_many(("questions", "forecasts", "evidence", "resolutions"), as_of, clock=clock)
    return design_from_records(got["questions"], got["forecasts"], got["evidence"], got["resolutions"])


def fit_ledger(ledger: Ledger, as_of: object = None, *, out: str | os.PathLike[str] | None = None,
               **sampling: Any) -> tuple[Design, dict[str, Any], Path]:
    """Learn the event effects from what the ledger knew as of a time (default: now), save the
    versioned posterior summary (into ``out``, default :func:`models_folder`) and return
    ``(design, summary, path)``.  ``sampling`` goes to :func:`forecasts.models.hierarchical.fit`
    (``draws``, ``tune``, ``chains``, ``cores``, ``sampler``, ``seed``).  Fewer than two resolved
    yes/no questions with assessed events are too few to learn from."""
    from forecasts import domain
    from forecasts.errors import InvalidInput
    from forecasts.models import hierarchical

    t = domain.now() if as_of is None else domain.parse_time(as_of, "as-of date")
    design = design_from_ledger(ledger, t)
    if len(design.y) < 2 or not design.types:
        raise InvalidInput(f"{len(design.y)} resolved yes/no questions with assessed events: too few to learn from")
    summary, _ = hierarchical.fit(design, as_of=t.isoformat(), **sampling)
    return design, summary, hierarchical.save_summary(summary, out if out is not None else models_folder(ledger))


def load_contextual(ledger: Ledger) -> dict[str, Any]:
    """The newest converged contextual recalibration in the ledger's :func:`models_folder`."""
    from forecasts.models import contextual

    return contextual.load_summary(models_folder(ledger))


def fit_contextual_ledger(ledger: Ledger, as_of: object = None, *, of: str | None = None,
                          clock: Clock = "both", out: str | os.PathLike[str] | None = None, **sampling: Any) -> tuple[dict[str, Any], Path]:
    """Fit the contextual recalibration on what the ledger knew as of a time (default: now;
    ``clock="world"`` replays imported history by its world times) and save it (into ``out``, default :func:`models_folder`).

    ``of``: one forecaster (a crowd such as ``import:metaculus``, or one analyst), grouped by
    the questions' first tags; default: every person in the ledger (a team), grouped by
    forecaster, so that an analyst with few resolved questions borrows from the team.
    ``sampling`` goes to :func:`forecasts.models.contextual.fit` (``draws``, ``tune``,
    ``chains``, ``cores``, ``seed``).  Returns ``(summary, path)``."""
    import pandas as pd

    from forecasts import domain
    from forecasts.errors import InvalidInput
    from forecasts.models import contextual

    t = domain.now() if as_of is None else domain.parse_time(as_of, "as-of date")
    fs = ledger.forecasts(t, clock=clock)
    rs = ledger.resolutions(t, clock=clock)
    qs = ledger.questions(t, clock=clock)
    fs = fs[fs["probability"].notna()]
    if of is None:
        names = sorted({n for n in fs["forecaster"].unique() if domain.is_person(n)})
        group_by = "forecaster"
    else:
        names, group_by = [of], "tag"
    fs = fs[fs["forecaster"].isin(names)]
    cases = contextual.training_cases(fs, qs, rs, group_by=group_by)
    if cases.empty:
        who = of if of is not None else "any person"
        raise InvalidInput(f"no question resolved yes/no as of {t:%Y-%m-%d} has forecasts by {who}: nothing to learn from")
    used = rs[rs["question"].isin(cases["question"])]
    through = pd.Timestamp(used["resolved_at"].max()).isoformat()
    summary = contextual.fit(cases, of=sorted(cases["forecaster"].unique()), trained_through=through,
                             group_by=group_by, **sampling)
    return summary, contextual.save_summary(summary, out if out is not None else models_folder(ledger))
