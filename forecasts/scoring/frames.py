"""The ledger frames that scoring reads, and how they are turned into arrays.

The scoring functions take three plain pandas frames, as the ledger returns them
(all times timezone-naive UTC, ``datetime64[us]``):

``forecasts``
    ``seq`` (int, ledger row number), ``question``, ``forecaster``, ``made_at``,
    ``recorded_at``, ``probability`` (P(yes) for binary questions, NaN for
    multiple choice), ``probabilities`` (dict option -> probability for multiple
    choice, None for binary). Every row is a live forecast.
``questions``
    ``id``, ``kind`` ("binary" or "multiple_choice"), ``options`` (list or
    None), ``ordered`` (bool), ``opens_at``, ``closes_at`` (scheduled close),
    ``tags`` (list of str), ``base_rate`` (float or NaN), ...
``resolutions``
    the latest resolution per question: ``question``, ``outcome`` ("yes",
    "no", an option name, "ambiguous" or "annulled"), ``resolved_at``,
    ``recorded_at``. Unresolved questions have no row.

``as_of`` filtering (the same everywhere): forecasts with ``made_at`` or
``recorded_at`` after ``as_of`` are ignored, and so are resolutions recorded
after it. Only ``seq``, ``question``, ``forecaster``, ``made_at`` and
``probability``/``probabilities`` are required of ``forecasts``;
``recorded_at`` is used when present.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from forecasts.errors import InvalidDate, InvalidInput, UnknownForecaster

__all__ = ["TimeLike", "check_forecasters", "example_frames", "to_timestamp"]

#: What ``as_of`` and the other instants accept: ISO text, a datetime or date, a Timestamp,
#: a ``numpy.datetime64``, or None (now, or no cut-off: each function says which).
type TimeLike = str | datetime | date | pd.Timestamp | np.datetime64 | None

def to_timestamp(value: TimeLike) -> np.datetime64 | None:
    """``as_of``-style input (str, datetime, Timestamp or None) as naive UTC datetime64[us].

    Examples
    --------
    >>> to_timestamp("2024-03-01")
    np.datetime64('2024-03-01T00:00:00.000000')
    >>> to_timestamp(None) is None
    True
    """
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise InvalidDate(f"cannot read the time {value!r}: use YYYY-MM-DD or "
                          "YYYY-MM-DDTHH:MM[:SS][+HH:MM]") from None
    if ts is pd.NaT:
        raise InvalidDate(f"the time {value!r} is missing (NaT)")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return np.datetime64(ts.to_datetime64(), "us")


def now_utc() -> np.datetime64:
    return np.datetime64(pd.Timestamp.now(tz="UTC").tz_localize(None).to_datetime64(), "us")


def as_us(values: ArrayLike) -> np.ndarray:
    """Datetime-like column as int64 microseconds (NaT -> int64 min)."""
    arr = np.asarray(values)
    if arr.dtype.kind != "M":
        arr = pd.to_datetime(pd.Series(values)).to_numpy()  # type: ignore[call-overload]
    return arr.astype("datetime64[us]", copy=False).view(np.int64)


NAT = np.iinfo(np.int64).min


def filter_as_of(forecasts: pd.DataFrame, resolutions: pd.DataFrame,
                 as_of: TimeLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop forecasts made or recorded after ``as_of`` and resolutions recorded after it."""
    cutoff = to_timestamp(as_of)
    if cutoff is None:
        return forecasts, resolutions
    keep = forecasts["made_at"].to_numpy().astype("datetime64[us]") <= cutoff
    if "recorded_at" in forecasts.columns:
        keep &= forecasts["recorded_at"].to_numpy().astype("datetime64[us]") <= cutoff
    if not keep.all():
        forecasts = forecasts[keep]
    if len(resolutions) and "recorded_at" in resolutions.columns:
        rk = resolutions["recorded_at"].to_numpy().astype("datetime64[us]") <= cutoff
        if not rk.all():
            resolutions = resolutions[rk]
    return forecasts, resolutions


def live_only(forecasts: pd.DataFrame) -> pd.DataFrame:
    """The forecasts recorded live: rows whose ``source`` is not an import
    (:func:`forecasts.domain.is_imported`).  Scores computed from them are a live track
    record; pooled references (peer scores, the median) then pool live forecasts only."""
    from forecasts import domain

    if "source" not in forecasts.columns:
        raise InvalidInput("the forecasts have no 'source' column: cannot tell live from imported rows")
    keep = ~forecasts["source"].map(domain.is_imported).astype(bool)
    return forecasts[keep.to_numpy()]


def track_records(forecasts: pd.DataFrame) -> dict[str, str]:
    """Each forecaster's track record: ``live``, ``imported`` or ``live+imported``
    (:data:`forecasts.domain.TRACK_RECORDS`), by the ``source`` of their forecasts.  Frames
    without a ``source`` column (built by hand) say nothing about it: the result is empty."""
    from forecasts import domain

    if not len(forecasts) or "source" not in forecasts.columns:
        return {}
    # the rule once per distinct source (a track record has a handful), then spread to the rows
    codes, sources = pd.factorize(forecasts["source"].to_numpy(dtype=object), use_na_sentinel=False)
    marks = np.fromiter((domain.is_imported(s) for s in sources), dtype=bool, count=len(sources))
    imported = pd.Series(marks[codes], index=forecasts.index)
    share = imported.groupby(forecasts["forecaster"].astype(str)).agg(["any", "all"])
    return {str(n): domain.track_record(bool(r["any"]), bool(r["all"])) for n, r in share.iterrows()}


def random_generator(random_state: object) -> np.random.Generator:
    """A numpy generator from a seed, a generator or None, or :class:`InvalidInput`."""
    try:
        return np.random.default_rng(random_state)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"random_state must be a whole number, a numpy Generator or None; "
                           f"got {random_state!r}") from None


def check_columns(frame: Any, columns: Sequence[str], what: str) -> None:
    """Raise :class:`InvalidInput` unless ``frame`` is a DataFrame holding ``columns``."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"the {what} must be a pandas DataFrame, got {type(frame).__name__}")
    for col in columns:
        if col not in frame.columns:
            raise InvalidInput(f"{what} frame lacks column {col!r}")


def forecaster_names(forecaster: str | Sequence[str] | None) -> list[str] | None:
    """``forecaster`` (one name or several) as a list of names, None for everyone."""
    if forecaster is None:
        return None
    if isinstance(forecaster, str):
        return [forecaster]
    try:
        names = list(forecaster)
    except TypeError:
        raise InvalidInput(f"forecaster must be a name or a list of names, got "
                           f"{type(forecaster).__name__}") from None
    if not all(isinstance(n, str) for n in names):
        raise InvalidInput("forecaster names must be text")
    return names


def check_forecasters(forecasts: pd.DataFrame, forecaster: str | Sequence[str] | None) -> None:
    """Raise :class:`UnknownForecaster` if a name in ``forecaster`` has no row in ``forecasts``.

    >>> f, _, _ = example_frames()
    >>> check_forecasters(f, ["alice", "nobody"])
    Traceback (most recent call last):
    ...
    forecasts.errors.UnknownForecaster: no forecasts by 'nobody'
    """
    names = forecaster_names(forecaster)
    if not names:
        return
    known = set(forecasts["forecaster"].astype(str)) if "forecaster" in forecasts.columns else set()
    unknown = [n for n in dict.fromkeys(names) if n not in known]
    if unknown:
        raise UnknownForecaster(f"no forecasts by {', '.join(map(repr, unknown))}")


def example_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three small ledger frames (forecasts, questions, resolutions) for examples.

    Questions ``q1`` (binary, resolved yes), ``q2`` (binary, resolved no),
    ``q3`` (binary, resolved yes early), ``q4`` (ambiguous) and ``q5``
    (multiple choice, ordered, resolved "medium"); forecasters ``alice`` and
    ``bob``.

    Examples
    --------
    >>> f, q, r = example_frames()
    >>> len(f), len(q), len(r)
    (10, 5, 5)
    """
    t = pd.Timestamp
    questions = pd.DataFrame({
        "id": ["q1", "q2", "q3", "q4", "q5"],
        "title": ["Q1", "Q2", "Q3", "Q4", "Q5"],
        "kind": ["binary"] * 4 + ["multiple_choice"],
        "options": [None, None, None, None, ["low", "medium", "high"]],
        "ordered": [False, False, False, False, True],
        "opens_at": [t("2024-01-01")] * 5,
        "closes_at": [t("2024-01-11"), t("2024-01-11"), t("2024-01-11"),
                      t("2024-01-11"), t("2024-01-11")],
        "tags": [["arms"], ["arms", "russia"], [], ["russia"], ["economy"]],
        "base_rate": [0.3, np.nan, np.nan, np.nan, np.nan],
    })
    questions["opens_at"] = questions["opens_at"].astype("datetime64[us]")
    questions["closes_at"] = questions["closes_at"].astype("datetime64[us]")
    rows = [
        ("q1", "alice", "2024-01-01", 0.7, None),
        ("q1", "bob", "2024-01-06", 0.4, None),
        ("q1", "alice", "2024-01-06", 0.9, None),
        ("q2", "alice", "2024-01-01", 0.2, None),
        ("q2", "bob", "2024-01-01", 0.6, None),
        ("q3", "alice", "2024-01-01", 0.5, None),
        ("q3", "bob", "2024-01-03", 0.8, None),
        ("q4", "alice", "2024-01-02", 0.5, None),
        ("q5", "alice", "2024-01-01", np.nan, {"low": 0.2, "medium": 0.5, "high": 0.3}),
        ("q5", "bob", "2024-01-01", np.nan, {"low": 0.6, "medium": 0.3, "high": 0.1}),
    ]
    forecasts = pd.DataFrame(rows, columns=["question", "forecaster", "made_at",
                                            "probability", "probabilities"])
    forecasts.insert(0, "seq", np.arange(1, len(rows) + 1, dtype=np.int64))
    forecasts["made_at"] = pd.to_datetime(forecasts["made_at"]).astype("datetime64[us]")
    forecasts["recorded_at"] = forecasts["made_at"]
    forecasts["source"] = "example"
    resolutions = pd.DataFrame({
        "question": ["q1", "q2", "q3", "q4", "q5"],
        "outcome": ["yes", "no", "yes", "ambiguous", "medium"],
        "resolved_at": [t("2024-01-11"), t("2024-01-11"), t("2024-01-06"),
                        t("2024-01-11"), t("2024-01-11")],
    })
    resolutions["resolved_at"] = resolutions["resolved_at"].astype("datetime64[us]")
    resolutions["recorded_at"] = resolutions["resolved_at"]
    return forecasts, questions, resolutions
