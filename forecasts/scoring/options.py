"""The names scoring accepts for its arguments, once: rules, groupings, log bases, bins.

Each ``Literal`` alias types an argument (the CLI imports them from :mod:`forecasts.scoring`);
each tuple beside it is the same list at run time.  :func:`check_choice` and
:func:`check_bins` are the checks every public function calls, so a wrong value is an
:class:`~forecasts.errors.InvalidInput` with a message in the library's terms.
Standard library only.
"""

from __future__ import annotations

from typing import Literal, get_args

from forecasts.errors import InvalidInput

__all__ = [
    "CALIBRATION_GROUPINGS",
    "EXCLUSION_REASONS",
    "LOSS_RULES",
    "MAX_BINS",
    "MIN_BINS",
    "SCORE_GROUPINGS",
    "SCORE_RULES",
    "UNTAGGED",
    "Band",
    "CalibrationGrouping",
    "Engine",
    "LogBase",
    "LossRule",
    "ScoreGrouping",
    "ScoreRule",
    "Weighting",
    "check_bins",
    "check_choice",
]

#: Proper scoring rules that are losses (lower is better).
LossRule = Literal["brier", "log", "spherical"]
#: Every rule of a score table: the losses and the Metaculus baseline and peer scores.
ScoreRule = Literal["brier", "log", "spherical", "baseline", "peer"]
#: Groupings of a score table.
ScoreGrouping = Literal["forecaster", "tag", "question", "kind", "period"]
#: Groupings of a calibration table (``None`` means one group, ``all``).
CalibrationGrouping = Literal["forecaster", "tag", "kind", "period"]
#: Log score in nats (``"e"``) or bits (``2``).
LogBase = Literal["e", 2]
#: Case weights of calibration (see :func:`forecasts.scoring.calibration_cases`).
Weighting = Literal["time", "forecast", "last"]
#: How the holding rule finds each forecast's successor.
Engine = Literal["auto", "numba", "numpy"]
#: Bands of a reliability curve.
Band = Literal["consistency", "confidence"]

LOSS_RULES: tuple[str, ...] = get_args(LossRule)
SCORE_RULES: tuple[str, ...] = get_args(ScoreRule)
SCORE_GROUPINGS: tuple[str, ...] = get_args(ScoreGrouping)
CALIBRATION_GROUPINGS: tuple[str, ...] = get_args(CalibrationGrouping)
#: Why a question is left out of a score table (``attrs["excluded"]``), in the tables' order.
EXCLUSION_REASONS: tuple[str, ...] = ("ambiguous", "annulled", "unresolved", "unknown_question")
#: The group of a question without tags, when a table groups by tag.
UNTAGGED = "(untagged)"
#: Bounds of an equal-width binning given as a number of bins.
MIN_BINS, MAX_BINS = 2, 100


def check_choice(value: object, allowed: tuple[object, ...], what: str, *,
                 none: bool = False) -> None:
    """Raise :class:`InvalidInput` unless ``value`` is one of ``allowed`` (or None if ``none``).

    >>> check_choice("brier", SCORE_RULES, "rule")
    >>> check_choice("gini", SCORE_RULES, "rule")
    Traceback (most recent call last):
    ...
    forecasts.errors.InvalidInput: rule must be one of brier, log, spherical, baseline, peer; got 'gini'
    """
    if value is None and none:
        return
    if isinstance(value, str | int) and not isinstance(value, bool) and value in allowed:
        return
    names = ", ".join(str(a) for a in allowed) + (" or None" if none else "")
    raise InvalidInput(f"{what} must be one of {names}; got {value!r}")


def check_bins(bins: object) -> None:
    """Raise :class:`InvalidInput` unless ``bins`` is a whole number from 2 to 100.

    >>> check_bins(10)
    >>> check_bins(1)
    Traceback (most recent call last):
    ...
    forecasts.errors.InvalidInput: the number of bins must be a whole number from 2 to 100; got 1
    """
    whole = not isinstance(bins, bool) and hasattr(bins, "__index__")
    if not whole or not MIN_BINS <= int(bins) <= MAX_BINS:  # type: ignore[call-overload]
        raise InvalidInput(f"the number of bins must be a whole number from {MIN_BINS} to "
                           f"{MAX_BINS}; got {bins!r}")
