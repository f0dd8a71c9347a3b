"""Scoring and calibration of probability forecasts.

Pure functions over numpy arrays (``rules``, ``calibration``, ``compare``) and
over the ledger's pandas frames (``timeavg``, ``calibration_table``). Nothing
here prints; the CLI formats the DataFrames and dicts returned.

Importing this package loads nothing: each name below is imported from its
module when first used (``from forecasts.scoring import score_table`` loads
numpy and pandas then), so :mod:`forecasts.scoring.options` and
:mod:`forecasts.scoring.sql` serve the command line without either. scipy
(isotonic regression) and numba (the large-frame fast path) are imported
inside the functions that need them.

Errors and argument names
-------------------------
Every error a caller can cause (a rule, grouping, log base or number of bins
outside the lists, a malformed frame or probability, a reference forecaster
with no forecasts) is a :class:`forecasts.errors.InvalidInput` or one of its
subclasses (``InvalidProbability``, ``UnknownForecaster``), never a bare
``ValueError``. The accepted names are ``Literal`` aliases exported here
(``ScoreRule``, ``ScoreGrouping``, ``CalibrationGrouping``, ``LogBase``...)
with the same lists as tuples (``SCORE_RULES``, ``SCORE_GROUPINGS``...).

Pools
-----
The peer score and the median reference compare a forecaster with the
*persons* (:func:`forecasts.domain.is_person`). Models, crowd aggregates,
imported records and backtests are scored against the persons' pool and never
enter it (see :func:`peer_scores` and :func:`relative_scores`).

Modules
-------
options
    The argument names above and their checks.
rules
    Brier (0-1 and the two-category 0-2 form), multi-category Brier, ranked
    probability score, log score (nats or bits), spherical score.
timeavg
    Time-averaged, spot, Metaculus baseline/peer and Good Judgment relative
    scores of dated forecast histories; score tables by forecaster, tag,
    question, kind or period.
calibration
    CORP reliability curves with bands and the MCB/DSC/UNC decomposition,
    Murphy's binned decomposition, Spiegelhalter's Z, calibration-in-the-large,
    Cox slope and intercept, ECE, calibration tables, a text chart.
compare
    Skill scores and paired comparisons with bootstrap intervals.
sql
    The time-averaged score table as one SQL query over the ledger's as-of
    reads, so a database computes it (standard library only; the same numbers
    as ``timeavg``, which stays the reference).

Where our conventions differ from other tools
---------------------------------------------
* scikit-learn ``log_loss`` clips probabilities to [eps, 1 - eps], so a
  certain-and-wrong forecast costs about 36 nats; :func:`log_score` returns
  ``inf`` (counted by :func:`count_infinite`, never clipped). Inside (0, 1) the
  two agree. ``brier_score_loss`` equals the mean of :func:`brier`.
* Good Judgment Open and Fatebook show the two-category Brier (0-2):
  :func:`brier_two_category`, twice :func:`brier`. The Good Judgment style
  relative score of :func:`relative_scores` uses the 0-1 Brier; double it to
  compare with numbers shown on Good Judgment Open.
* scoringrules: ``brier_score`` and ``log_score`` equal ours; ``rps_score`` is
  the unnormalised sum, as :func:`rps` by default (``normalize=True`` divides
  by K - 1; the time-averaged scores of ordered multiple-choice questions use
  the normalised form, so they lie in [0, 1] like the binary Brier).
* :func:`spherical` is reported as a loss, one minus the usual (higher is
  better) spherical score.
* model-diagnostics ``decompose`` and scikit-learn ``IsotonicRegression`` give
  the same CORP fit and decomposition (to 1e-10 in the tests). One edge:
  model-diagnostics predicts its fit by linear interpolation, which treats
  distinct forecasts closer than about 1e-9 (e.g. 0 and 1e-100) as tied; we
  pool exactly equal forecasts only.
* Metaculus baseline and peer scores follow Metaculus (divided by the
  *scheduled* period, uncovered time counts 0, higher is better), whereas
  :func:`time_averaged` averages over the covered part of the period that ends
  at ``min(closes_at, resolved_at)`` and reports coverage separately.
* The confidence bands of :func:`reliability` evaluate each bootstrap fit at
  forecast values the resample missed by linear interpolation; the R package
  reliabilitydiag's bands may differ in such details (same defaults: 100
  resamples, 90% pointwise bands).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the type checker sees; at run time __getattr__ imports each on first use
    from forecasts.scoring.calibration import (
        calibration_cases,
        calibration_groups,
        calibration_in_the_large,
        calibration_table,
        cox,
        decompose,
        ece,
        murphy,
        reliability,
        spiegelhalter,
        text_reliability_chart,
    )
    from forecasts.scoring.compare import (
        compare_forecasters,
        paired_difference,
        skill_score,
        skill_table,
        skill_vs_base_rate,
    )
    from forecasts.scoring.frames import TimeLike, live_only, track_records
    from forecasts.scoring.options import (
        CALIBRATION_GROUPINGS,
        LOSS_RULES,
        MAX_BINS,
        MIN_BINS,
        SCORE_GROUPINGS,
        SCORE_RULES,
        Band,
        CalibrationGrouping,
        Engine,
        LogBase,
        LossRule,
        ScoreGrouping,
        ScoreRule,
        Weighting,
    )
    from forecasts.scoring.rules import (
        brier,
        brier_two_category,
        count_infinite,
        log_score,
        multi_brier,
        multi_log_score,
        multi_spherical,
        rps,
        spherical,
    )
    from forecasts.scoring.timeavg import (
        Holdings,
        baseline_scores,
        holding_table,
        metaculus_baseline,
        metaculus_peer,
        peer_scores,
        relative_scores,
        score_table,
        spot_scores,
        time_averaged,
    )

#: Where each public name lives: its module under :mod:`forecasts.scoring` (the imports above,
#: for the type checker; a test keeps the two and ``__all__`` equal).
_HOMES = {
    "calibration": ("calibration_cases", "calibration_groups", "calibration_in_the_large", "calibration_table",
                    "cox", "decompose", "ece", "murphy", "reliability", "spiegelhalter", "text_reliability_chart"),
    "compare": ("compare_forecasters", "paired_difference", "skill_score", "skill_table", "skill_vs_base_rate"),
    "frames": ("TimeLike", "live_only", "track_records"),
    "options": ("CALIBRATION_GROUPINGS", "LOSS_RULES", "MAX_BINS", "MIN_BINS", "SCORE_GROUPINGS", "SCORE_RULES",
                "Band", "CalibrationGrouping", "Engine", "LogBase", "LossRule", "ScoreGrouping", "ScoreRule",
                "Weighting"),
    "rules": ("brier", "brier_two_category", "count_infinite", "log_score", "multi_brier", "multi_log_score",
              "multi_spherical", "rps", "spherical"),
    "timeavg": ("Holdings", "baseline_scores", "holding_table", "metaculus_baseline", "metaculus_peer", "peer_scores",
                "relative_scores", "score_table", "spot_scores", "time_averaged"),
}

__all__ = [
    "CALIBRATION_GROUPINGS",
    "LOSS_RULES",
    "MAX_BINS",
    "MIN_BINS",
    "SCORE_GROUPINGS",
    "SCORE_RULES",
    "Band",
    "CalibrationGrouping",
    "Engine",
    "Holdings",
    "LogBase",
    "LossRule",
    "ScoreGrouping",
    "ScoreRule",
    "TimeLike",
    "Weighting",
    "baseline_scores",
    "brier",
    "brier_two_category",
    "calibration_cases",
    "calibration_groups",
    "live_only",
    "track_records",
    "calibration_in_the_large",
    "calibration_table",
    "compare_forecasters",
    "count_infinite",
    "cox",
    "decompose",
    "ece",
    "holding_table",
    "log_score",
    "metaculus_baseline",
    "metaculus_peer",
    "multi_brier",
    "multi_log_score",
    "multi_spherical",
    "murphy",
    "paired_difference",
    "peer_scores",
    "relative_scores",
    "reliability",
    "rps",
    "score_table",
    "skill_score",
    "skill_table",
    "skill_vs_base_rate",
    "spherical",
    "spiegelhalter",
    "spot_scores",
    "text_reliability_chart",
    "time_averaged",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562), then keep it here."""
    for module, names in _HOMES.items():
        if name in names:
            value = getattr(importlib.import_module(f"forecasts.scoring.{module}"), name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'forecasts.scoring' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
