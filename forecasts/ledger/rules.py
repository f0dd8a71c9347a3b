"""Every ledger rule, written once.

A rule is a test over column values that reads the same on one row (Python scalars) and on a
frame (numpy arrays): ``(made < opens) | (made > closes)`` is a bool for one forecast and a mask
for a million.  Each rule reports a breach to a :class:`Problems` with its error class and
message:

* the **live path** (``Ledger.log``, ``resolve``, ``add_event``, ...) checks one row with
  ``Problems()`` and the first breach is raised as its error (nothing is written);
* the **import path** (``Ledger.import_history``, ``import_forecast_frame`` and every importer
  in :mod:`forecasts.sources`, through :func:`check_forecast_frame`, :func:`question_row`,
  :func:`check_resolution` and :func:`check_event_time`) checks a whole frame with
  ``Problems(lines)`` and collects every breached row once, with the line of the source file it
  came from, so the import can be refused whole (:class:`~forecasts.errors.ImportRejected`) or,
  when asked, go ahead without those rows.

Value rules (a probability, a date, a slug, a name) live in :mod:`forecasts.domain`; the rules
here are the ledger's, which relate a row to its question, to the ledger's clock or to the other
rows of an import:

===================  =====================================================================
questions            the id is a slug and new (not in the ledger, not twice in an import);
                     a title; a known kind, options only for multiple choice; it closes
                     after it opens
forecasts            the question exists; ``made_at`` is a date, not in the future, within
                     the question's open period ``[opens_at, closes_at]``; a binary
                     forecast is one probability in [0, 1] (0 or 1 only with
                     ``allow_certainty``), a multiple-choice one a probability per option
                     summing to 1; a valid forecaster name; a source id at most once per
                     import; a rationale of at most 10,000 characters
live forecasts       also: made now (within :data:`~forecasts.domain.CLOCK_TOLERANCE`,
                     no backdating), by a person (no reserved prefix), on a question that
                     is open now and not resolved
events               dated, not in the future
evidence             on a binary question of the ledger, about an event of the ledger, a
                     likelihood ratio > 0 and a weight in (0, 1]; live evidence also on a
                     question that is not resolved
resolutions          an outcome of the question (or ambiguous/annulled), dated at or after
                     the question opens and not in the future
corrections and     by the forecaster of a live row that is not itself a correction, while
retractions          its question is open (not past close, not resolved); retroactive (the
                     row reads as corrected from its own ``made_at``) only within
                     :data:`CORRECTION_GRACE` of the original row's ``recorded_at``; later a
                     correction is refused (log a new forecast) and a retraction ends the
                     forecast from the moment it is recorded
amendments           a question's title, criteria, close or tags, to a new value (a title
                     is never empty; the close after the opening and no earlier than the
                     last forecast, and unchanged once resolved); an event withdrawn once,
                     and then no more evidence about it; a question is never withdrawn
                     (resolve it annulled)
sources              a live row cannot claim a history source (``import:``, ``model:``,
                     ``backtest:``, ``demo:``); a historical row needs one
===================  =====================================================================

:func:`ledger_breaches` re-checks the rules that a stored row can be checked against on its
own (its ``recorded_at`` is the ledger's clock), for ``verify``.

Only the standard library is imported at module level: the live path (``forecasts log``)
must not load numpy or pandas.  :func:`check_forecast_frame` imports them when it runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from forecasts import domain
from forecasts.domain import CLOCK_TOLERANCE
from forecasts.errors import (
    Backdated,
    DuplicateQuestion,
    ForecastsError,
    ImportRejected,
    IntegrityError,
    InvalidDate,
    InvalidInput,
    InvalidProbability,
    QuestionClosed,
    UnknownQuestion,
)

if TYPE_CHECKING:
    import pandas as pd

Message = str | Callable[[int], str]
#: Sources of rows that enter through the import path (history, models, backtests, the demo).
HISTORY_PREFIXES = ("import:", "model:", "backtest:", "demo:")
#: How long after a live forecast is recorded a correction or retraction may still apply from
#: the forecast's own ``made_at`` (a typo fixed at once).  Later, a correction is refused and
#: a retraction only ends the forecast from its own time.
CORRECTION_GRACE = timedelta(minutes=10)
#: The most breaches of one rule listed for one import (the count is always exact).
LISTED_PER_RULE = 1000


class Problems:
    """Where rules report breaches.

    ``Problems()`` checks one row: the first breach is raised as its error class.
    ``Problems(lines)`` checks a frame whose row ``i`` came from source line ``lines[i]``: each
    breaching row is recorded once, with the message of the first rule it breaks; ``bad`` is
    the mask of those rows and ``found`` the ``(line, message)`` pairs.
    """

    def __init__(self, lines: Sequence[int] | None = None):
        self.lines = lines
        self.found: list[tuple[int, str]] = []
        if lines is None:
            self.bad: Any = None
        else:
            import numpy as np

            self.bad = np.zeros(len(lines), dtype=bool)

    def flag(self, breach: Any, error: type[ForecastsError], message: Message) -> None:
        """Report ``breach`` (a bool for one row, a mask for a frame) of a rule."""
        if self.lines is None:
            if bool(breach):
                raise error(message if isinstance(message, str) else message(0))
            return
        import numpy as np

        mask = np.asarray(breach, dtype=bool) & ~self.bad
        for i in np.flatnonzero(mask)[:LISTED_PER_RULE].tolist():
            self.found.append((int(self.lines[i]), message if isinstance(message, str) else message(i)))
        self.bad |= mask

    @property
    def count(self) -> int:
        """How many rows breach a rule (``found`` lists at most :data:`LISTED_PER_RULE` per rule)."""
        return len(self.found) if self.bad is None else max(int(self.bad.sum()), len(self.found))

    def raise_if_any(self) -> None:
        if self.found:
            raise ImportRejected.listing(self.found, self.count)


def _at(values: Any, i: int) -> Any:
    """Value ``i`` of a column, or the value itself for one row."""
    if isinstance(values, str | int | float | datetime) or values is None:
        return values
    return values.iloc[i] if hasattr(values, "iloc") else values[i]


def _when(t: Any) -> str:
    if t is None:
        return "?"
    if not isinstance(t, datetime):
        import pandas as pd

        t = pd.Timestamp(t)
        if pd.isna(t):
            return "?"
    return f"{t:%Y-%m-%d %H:%M}"


def _tolerance64() -> Any:
    import numpy as np

    return np.timedelta64(int(CLOCK_TOLERANCE.total_seconds() * 1_000_000), "us")


# ---------------------------------------------------------------------- sources
def check_source(source: object, *, live: bool) -> str:
    """The ``source`` of a row: live rows cannot claim an import; history must name its origin."""
    text = domain.optional_text(source, "source", 200)
    if not text:
        raise InvalidInput("source must be named, e.g. cli, notebook or import:metaculus")
    if live and text.startswith(HISTORY_PREFIXES):
        raise InvalidInput(f"live rows cannot claim the history source {text!r} "
                           f"({', '.join(HISTORY_PREFIXES)}); history enters through an import")
    if not live and not text.startswith(HISTORY_PREFIXES):
        raise InvalidInput(f"historical rows need an import:, model: or backtest: source, not {text!r}")
    return text


def is_history_source(source: str) -> bool:
    """Rows under an ``import:``, ``model:``, ``backtest:`` or ``demo:`` source came through the
    import path (their times are the world's, not the ledger's clock)."""
    return source.startswith(HISTORY_PREFIXES)


def is_backtest_source(source: str) -> bool:
    """Rows written under a ``backtest:`` source are backtests unless they say otherwise."""
    return source.startswith("backtest:")


# ---------------------------------------------------------------------- questions
def question_row(qid: object, *, title: object, closes: object, criteria: object = None,
                 kind: object = "binary", options: object = None, ordered: object = False,
                 opens: object = None, tags: object = None, base_rate: object = None,
                 reference_class: object = None, by: object = None, source: object = "notebook",
                 source_id: object = None, now: datetime | None = None) -> dict[str, Any]:
    """A question as a ledger row (every value checked), or the first breach raised.

    ``opens`` defaults to ``now``.  The row has no ``seq``, ``recorded_at`` or hashes yet.
    """
    qid = domain.parse_question_id(qid)
    title = domain.optional_text(title, "title", 500)
    if not title:
        raise InvalidInput("a question needs a title")
    if kind not in domain.KINDS:
        raise InvalidInput(f"question kind {kind!r} must be one of {', '.join(domain.KINDS)}")
    if kind == "binary":
        if options:
            raise InvalidInput("a binary question takes no options; make it multiple_choice to give options")
        opts = None
    else:
        opts = domain.parse_options(options if options is not None else [])
    closes_at = domain.parse_time(closes, "close date")
    opens_at = (now or domain.now()) if opens is None else domain.parse_time(opens, "open date")
    if closes_at <= opens_at:
        raise InvalidDate(f"the question closes ({_when(closes_at)}) before it opens ({_when(opens_at)})")
    rate = None if base_rate is None else domain.parse_probability(base_rate, allow_certainty=True)
    return {
        "id": qid, "title": title, "criteria": domain.optional_text(criteria, "criteria"),
        "kind": kind, "options": to_json(opts), "ordered": bool(ordered) and opts is not None,
        "opens_at": opens_at, "closes_at": closes_at, "tags": to_json(domain.parse_tags(tags)),
        "base_rate": rate, "reference_class": domain.optional_text(reference_class, "reference class", 500),
        "created_by": domain.parse_forecaster(by),
        "source": domain.optional_text(source, "source", 200) or "notebook",
        "source_id": domain.optional_text(source_id, "source id", 200),
    }


def check_new_question(qid: str, *, in_ledger: bool, twice: bool = False, first_line: int | None = None) -> None:
    """A question id must be new: not in the ledger, not twice in one import."""
    if twice:
        where = f" (first on line {first_line})" if first_line is not None else ""
        raise DuplicateQuestion(f"question {qid!r} appears twice in the import{where}")
    if in_ledger:
        raise DuplicateQuestion(f"question {qid!r} already exists")


# ---------------------------------------------------------------------- forecasts
def check_forecast_time(problems: Problems, made: Any, opens: Any, closes: Any, *, now: Any,
                        question: Any = None) -> None:
    """``made_at`` is not in the future and lies within the question's open period.

    ``now`` is a ``datetime`` for one row, a ``numpy.datetime64`` for arrays."""
    latest = now + (CLOCK_TOLERANCE if isinstance(now, datetime) else _tolerance64())
    problems.flag(made > latest, InvalidDate,
                  lambda i: f"made_at {_when(_at(made, i))} is in the future")
    def outside(i: int) -> str:
        m, q = _at(made, i), _at(question, i)
        if m < _at(opens, i):
            side = f"it opens {_when(_at(opens, i))} and takes no forecasts yet"
        else:
            side = f"it closed {_when(_at(closes, i))} and takes no more forecasts"
        return f"made_at {_when(m)} lies outside the open period of question {q!r}: {side}"

    problems.flag((made < opens) | (made > closes), QuestionClosed, outside)


def check_before_resolution(problems: Problems, made: Any, resolved: Any, *, question: Any = None) -> None:
    """An imported forecast is not dated after its question's resolution (``resolved``: NaT
    for an unresolved question).  A forecast stamped at the resolution's own time passes; any
    later one is hindsight, not a forecast, and is refused."""
    def after(i: int) -> str:
        return (f"made_at {_when(_at(made, i))} is after question {_at(question, i)!r} was resolved "
                f"({_when(_at(resolved, i))}): an imported forecast must precede the resolution")

    problems.flag(made > resolved, QuestionClosed, after)


def check_live_forecast(question: Mapping[str, Any], *, stated: datetime | None, clock: datetime,
                        resolution: str | None) -> datetime:
    """The rules only a live forecast has: made now, on a question open now and unresolved.

    Returns its ``made_at`` (the stated time, else the clock).
    """
    qid = question["id"]
    one = Problems()
    one.flag(stated is not None and abs(stated - clock) > CLOCK_TOLERANCE, Backdated,
             f"made_at {_when(stated)} is not now ({_when(clock)} UTC): live forecasts cannot be "
             "backdated or postdated; history enters through an import")
    one.flag(resolution is not None, QuestionClosed,
             f"question {qid!r} is resolved ({resolution}); it takes no more forecasts")
    # the question must be open now (a stated made_at within the tolerance may fall just outside)
    check_forecast_time(one, clock, question["opens_at"], question["closes_at"], now=clock, question=qid)
    return stated or clock


def check_amendment(target: Mapping[str, Any], question: Mapping[str, Any], *, forecaster: str,
                    clock: datetime, resolution: str | None, retract: bool) -> datetime:
    """May ``forecaster`` correct (or ``retract``) the forecast row ``target`` now (``clock``)?

    ``target`` has ``seq``, ``forecaster``, ``made_at``, ``recorded_at``, ``source`` and
    ``corrects``.  Refused: a row that is itself a correction, another forecaster's row, an
    imported row, a forecast on a question that is resolved or past its close, and a correction
    more than :data:`CORRECTION_GRACE` after the original row was recorded.  Returns the
    ``made_at`` of the new row: the original's (the amendment applies retroactively) within
    the grace period, else ``clock`` (a late retraction ends the forecast from now on).
    """
    seq, qid = target["seq"], question["id"]
    one = Problems()
    one.flag(target["corrects"] is not None, InvalidInput,
             f"row {seq} is itself a correction; correct the original row {target['corrects']}")
    one.flag(target["forecaster"] != forecaster, InvalidInput,
             f"row {seq} is {target['forecaster']}'s forecast; only they can correct or retract it")
    one.flag(is_history_source(str(target["source"])), InvalidInput,
             f"row {seq} was imported ({target['source']}); imported rows are corrected by "
             "re-importing, not on the live path")
    one.flag(resolution is not None, QuestionClosed,
             f"question {qid!r} is resolved; its forecasts are final")
    one.flag(clock > question["closes_at"], QuestionClosed,
             f"question {qid!r} closed {_when(question['closes_at'])}; its forecasts are final")
    late = clock - target["recorded_at"] > CORRECTION_GRACE
    minutes = f"{CORRECTION_GRACE / timedelta(minutes=1):g} minutes"
    one.flag(late and not retract, InvalidInput,
             f"row {seq} was recorded {_when(target['recorded_at'])} UTC, more than {minutes} ago: "
             "a correction only fixes a typo at once; log a new forecast instead")
    return clock if late else target["made_at"]


def check_probability(problems: Problems, p: Any, *, allow_certainty: bool) -> None:
    """A binary forecast's probability: a number in [0, 1]; exactly 0 or 1 only when allowed."""
    missing = p != p  # NaN, for a float or an array alike
    problems.flag(missing | (p == float("inf")) | (p == float("-inf")), InvalidProbability,
                  "probability is missing or not a number")
    problems.flag((p < 0.0) | (p > 1.0), InvalidProbability,
                  lambda i: f"probability {float(_at(p, i))!r} is outside [0, 1]")
    if not allow_certainty:
        problems.flag((p == 0.0) | (p == 1.0), InvalidProbability,
                      "probability is certain (0 or 1); a wrong certain forecast scores infinitely "
                      "badly under the log score: allow certainty if you mean it")


def question_probabilities(question: Mapping[str, Any], probability: object, options: object,
                           allow_certainty: bool) -> tuple[float | None, dict[str, float] | None]:
    """One forecast's values for its question's kind: ``(P(yes), None)`` for a binary question,
    ``(None, {option: p})`` for a multiple-choice one."""
    qid, opts = question["id"], question["options"]
    if question["kind"] == "binary":
        if options:
            raise InvalidInput(f"question {qid!r} is binary: give one probability, not options")
        if probability is None:
            raise InvalidInput(f"question {qid!r} needs a probability, e.g. 65%")
        p = domain.parse_probability(probability, allow_certainty=True)
        check_probability(Problems(), p, allow_certainty=allow_certainty)
        return p, None
    if probability is not None or not options:
        raise InvalidInput(f"question {qid!r} is multiple choice: give a probability for each of {', '.join(opts)}")
    return None, domain.parse_option_probabilities(options, opts, allow_certainty=allow_certainty)


@dataclass(frozen=True)
class CheckedRows:
    """Question or event rows that passed :func:`question_row` / :func:`event_row` (and
    :func:`check_event_time`) for ``source``: the store writes them without checking again."""

    table: str
    rows: tuple[dict[str, Any], ...]
    source: str


@dataclass(frozen=True)
class CheckedForecasts:
    """A forecast frame that passed :func:`check_forecast_frame`: the rows to write, in ledger
    columns, and the source they were checked for.  The store writes it without checking again."""

    frame: pd.DataFrame
    source: str
    problems: tuple[tuple[int, str], ...] = ()
    #: How many rows were left out as malformed (``problems`` may list only some of them).
    malformed: int = 0

    def __len__(self) -> int:
        return len(self.frame)


def check_forecast_frame(frame: pd.DataFrame, questions: pd.DataFrame, *, source: str,
                         lines: Sequence[int] | None = None, allow_certainty: bool = False,
                         now: datetime | None = None, skip_malformed: bool = False,
                         bad_questions: Mapping[str, str] | None = None,
                         resolved_at: Mapping[str, Any] | None = None) -> CheckedForecasts:
    """Check many historical forecasts at once against their questions.

    ``frame`` has ``question``, ``forecaster``, ``made_at`` (text, naive UTC or aware), and
    ``probability`` (binary) or ``probabilities`` (dicts, multiple choice), optionally
    ``rationale``, ``source_id``, ``model_version``, ``params``, ``backtest``.  ``questions``
    is indexed by id with ``kind``, ``options`` (a list or JSON), ``opens_at``, ``closes_at``:
    the ledger's questions and the import's own.  ``bad_questions`` maps the ids of the
    import's malformed questions to why (their forecasts are refused with that reason).
    ``resolved_at`` maps question ids to when they were resolved (naive UTC): forecasts dated
    after it are refused (:func:`check_before_resolution`).

    Breaches are listed with their line (``lines[i]``, default ``i + 2`` as in a CSV with a
    header); unless ``skip_malformed``, any breach raises
    :class:`~forecasts.errors.ImportRejected` listing them all.  Returns the rows that pass,
    with ``made_at`` as naive UTC ``datetime64[us]``, ``probabilities`` and ``params`` as JSON.
    """
    import numpy as np
    import pandas as pd

    src = check_source(source, live=False)
    df = frame.reset_index(drop=True).copy()
    n = len(df)
    problems = Problems(list(lines) if lines is not None else list(range(2, n + 2)))
    for col in ("question", "forecaster", "made_at"):
        if col not in df.columns:
            raise InvalidInput(f"the import has no {col!r} column")
    if "probability" not in df.columns and "probabilities" not in df.columns:
        raise InvalidInput("the import has neither a 'probability' nor a 'probabilities' column")
    for col, default in (("probability", np.nan), ("probabilities", None), ("source_id", None),
                         ("backtest", is_backtest_source(src))):
        if col not in df.columns:
            df[col] = default

    def texts_of(col: str) -> Any:
        """An optional text column as an object array (None where missing); one of Nones where
        the import has no such column."""
        return _objects(df[col]) if col in df.columns else np.full(n, None, dtype=object)

    # every look-up is made once per distinct question id and forecaster name, then spread
    qid = df["question"].to_numpy(dtype=object)
    qcodes, qids = pd.factorize(qid, use_na_sentinel=False)

    def per_question(values: Any, empty: Any) -> Any:
        """A value of each distinct question id, spread to the rows (``empty`` for a row whose
        question is unknown)."""
        return np.asarray(values)[qcodes] if len(qids) else np.full(n, empty)

    if bad_questions:
        problems.flag(per_question(pd.Index(qids).isin(list(bad_questions)), False), InvalidInput,
                      lambda i: bad_questions[qid[i]])
    known_q = pd.Index(qids).isin(questions.index)
    problems.flag(~per_question(known_q, False), UnknownQuestion, lambda i: f"unknown question {qid[i]!r}")
    found = questions.reindex(pd.Index(qids).where(known_q, None))

    made = _times(df["made_at"])
    problems.flag(np.isnat(made), InvalidDate, "made_at is missing or not a date")
    clock = now or domain.now()
    opens = per_question(found["opens_at"].astype("datetime64[us]").to_numpy(), np.datetime64("NaT", "us"))
    closes = per_question(found["closes_at"].astype("datetime64[us]").to_numpy(), np.datetime64("NaT", "us"))
    check_forecast_time(problems, made, opens, closes, now=np.datetime64(clock, "us"), question=qid)
    if resolved_at:
        by_id = pd.Series(resolved_at, dtype="datetime64[us]")
        resolved = per_question(by_id.reindex(pd.Index(qids)).to_numpy(dtype="datetime64[us]"),
                                np.datetime64("NaT", "us"))
        check_before_resolution(problems, made, resolved, question=qid)

    names = df["forecaster"].to_numpy(dtype=object)
    ncodes, distinct_names = pd.factorize(names, use_na_sentinel=False)
    name_problem: list[str | None] = []
    for name in distinct_names.tolist():
        try:
            if not isinstance(name, str):
                raise InvalidInput("forecaster is missing")
            domain.parse_forecaster(name)
            name_problem.append(None)
        except InvalidInput as exc:
            name_problem.append(exc.message)
    if any(name_problem):
        why = np.asarray(name_problem, dtype=object)[ncodes]
        problems.flag(~pd.isna(why), InvalidInput, lambda i: why[i])

    kind = per_question(found["kind"].to_numpy(dtype=object), None)
    binary = kind == "binary"
    p = pd.to_numeric(df["probability"], errors="coerce").to_numpy(dtype=float, copy=True)
    binary_p = np.where(binary, p, 0.5)
    check_probability(problems, binary_p, allow_certainty=allow_certainty)
    probs_json: list[str | None] = [None] * n
    refused: dict[int, str] = {}
    for i in np.flatnonzero((kind == "multiple_choice") & ~problems.bad).tolist():
        stored: Any = questions.at[qid[i], "options"]
        opts = json.loads(stored) if isinstance(stored, str) else list(stored)
        try:
            parsed = domain.parse_option_probabilities(df["probabilities"].iloc[i], opts,
                                                       allow_certainty=allow_certainty)
        except InvalidInput as exc:
            refused[i] = exc.message
            continue
        probs_json[i] = to_json(parsed)
        p[i] = np.nan
    if refused:
        mask = np.zeros(n, dtype=bool)
        mask[list(refused)] = True
        problems.flag(mask, InvalidInput, lambda i: refused[i])

    sid = _texts(df["source_id"])
    ids = pd.Series(sid, copy=False)
    if ids.nunique(dropna=False) != n:  # a count first: duplicates are rare, and the full check costs more
        problems.flag(~ids.isna().to_numpy() & ids.duplicated(keep="first").to_numpy(), InvalidInput,
                      lambda i: f"source_id {ids.iloc[i]!r} appears twice in the import")
    text = texts_of("rationale")
    given = np.flatnonzero(~pd.isna(text))
    rationale = np.full(n, None, dtype=object)
    if len(given):  # each by the rule of the live path (domain.optional_text)
        refused_text: dict[int, str] = {}
        for i, v in zip(given.tolist(), text[given].tolist(), strict=True):
            try:
                rationale[i] = domain.optional_text(v, "rationale")
            except InvalidInput as exc:
                refused_text[i] = exc.message
        if refused_text:
            bad_text = np.zeros(n, dtype=bool)
            bad_text[list(refused_text)] = True
            problems.flag(bad_text, InvalidInput, lambda i: refused_text[i])

    if problems.found and not skip_malformed:
        problems.raise_if_any()
    params = texts_of("params")
    for i in np.flatnonzero(~pd.isna(params)).tolist():
        v = params[i]
        params[i] = None if isinstance(v, float) and v != v else (v if isinstance(v, str) else to_json(v))
    out = pd.DataFrame({
        "question": qid, "forecaster": names,
        "made_at": made, "probability": p, "probabilities": probs_json,
        "rationale": rationale, "source": src, "source_id": sid,
        "model_version": texts_of("model_version"),
        "params": params, "backtest": df["backtest"].astype(bool).to_numpy(),
    })
    out["probability"] = out["probability"].astype("float64")
    good = out[~problems.bad].reset_index(drop=True)
    return CheckedForecasts(good, src, tuple(sorted(problems.found)), problems.count)


def _times(values: pd.Series) -> Any:
    """Times given as text (ISO 8601, or any form pandas reads; an offset converted to UTC) or
    as times, as naive UTC ``datetime64[us]``; NaT where missing or unreadable.  ISO 8601 is
    read vectorised first; only what it cannot read is read form by form."""
    import numpy as np
    import pandas as pd

    if not len(values):
        return np.array([], dtype="datetime64[us]")
    iso = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    retry = (iso.isna() & values.notna()).to_numpy()
    if retry.any():
        iso = iso.where(~retry, pd.to_datetime(values.where(retry), errors="coerce", utc=True, format="mixed"))
    return iso.dt.tz_convert(None).to_numpy(dtype="datetime64[us]")


def _objects(values: pd.Series) -> Any:
    """A column as a new object array, None where a value is missing (NaN, NA, None)."""
    import numpy as np

    return np.array(values.to_numpy(dtype=object, na_value=cast(Any, None)), dtype=object, copy=True)


def _texts(values: pd.Series) -> Any:
    """A column of ids as text: a text column as it is (read from a table, held by pyarrow: a
    million ids are not made into Python strings), any other as an object array, None where
    missing (a value that is not text, such as a number read from JSON, as its ``str``),
    converted per value only where needed."""
    import numpy as np
    import pandas as pd

    if isinstance(values.dtype, pd.StringDtype):
        return values.reset_index(drop=True)
    out = _objects(values)
    if values.dtype == object:
        for i in np.flatnonzero([v is not None and not isinstance(v, str) for v in out.tolist()]).tolist():
            out[i] = None if out[i] != out[i] else str(out[i])
    return out


# ---------------------------------------------------------------------- events and resolutions
def event_row(title: object, *, on: object, description: object = None, source_url: object = None,
              actors: object = None, cameo: object = None, goldstein: object = None, tags: object = None,
              date_precision: object = "day", by: object = None, source: object = "notebook",
              source_id: object = None) -> dict[str, Any]:
    """An event as a ledger row (every value checked), or the first breach raised.

    A CAMEO code fills in the Goldstein conflict-cooperation score (-10..+10) from
    ``data/cameo_goldstein.csv`` unless ``goldstein`` is given.
    """
    from forecasts.cameo import goldstein_for

    title = domain.optional_text(title, "event title", 500)
    if not title:
        raise InvalidInput("an event needs a title")
    if on is None or (isinstance(on, str) and not on.strip()):
        raise InvalidDate("an event needs a date")
    code = domain.parse_cameo(cameo)
    if goldstein is None or goldstein == "":
        score = goldstein_for(code) if code else None
    else:
        try:
            score = float(goldstein)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidInput(f"Goldstein score {goldstein!r} is not a number") from None
        if not -10.0 <= score <= 10.0:
            raise InvalidInput(f"Goldstein score {score:g} must lie in [-10, 10]")
    if date_precision not in ("day", "approx", "time"):
        raise InvalidInput("date precision must be day, approx or time")
    if isinstance(actors, str):  # "RUS,USA" or "RUS;USA" (a ; unquoted would end a shell command)
        actors = re.split(r"[,;]", actors)
    if isinstance(actors, list | tuple):
        actors = ";".join(a for a in (str(x).strip() for x in actors) if a) or None
    url = domain.optional_text(source_url, "source URL", 2000)
    if url and not url.startswith(("http://", "https://")):
        raise InvalidInput(f"source URL {url!r} must start with http:// or https://")
    return {"title": title, "description": domain.optional_text(description, "description"),
            "occurred_at": domain.parse_time(on, "event date"), "date_precision": date_precision,
            "source_url": url, "actors": domain.optional_text(actors, "actors", 200),
            "cameo": code, "goldstein": score, "tags": to_json(domain.parse_tags(tags)),
            "created_by": domain.parse_forecaster(by),
            "source": domain.optional_text(source, "source", 200) or "notebook",
            "source_id": domain.optional_text(source_id, "source id", 200)}


def evidence_row(question: str, event: object, *, lr: object = None, strength: object = None,
                 weight: object = None, note: object = None, by: object = None,
                 source: object = "notebook") -> dict[str, Any]:
    """An evidence assessment as a ledger row (the question and event are checked against
    the ledger by the caller)."""
    from forecasts.errors import UnknownEvent

    if isinstance(event, bool):
        raise UnknownEvent(f"event id {event!r} must be a number")
    try:
        event_id = int(str(event).strip())
    except ValueError:
        raise UnknownEvent(f"event id {event!r} must be a number; list the events to find it") from None
    ratio, verbal = domain.parse_likelihood_ratio(lr, strength)
    return {"question": domain.parse_question_id(question), "event": event_id,
            "assessed_by": domain.parse_forecaster(by), "lr": ratio, "strength": verbal,
            "weight": domain.parse_weight(weight), "note": domain.optional_text(note, "note"),
            "source": domain.optional_text(source, "source", 200) or "notebook"}


def check_evidence_question(question: Mapping[str, Any]) -> None:
    """Evidence is a likelihood ratio P(event | yes) / P(event | no): only a binary question
    takes it (a multiple-choice question has no single "yes" for it to shift)."""
    if question["kind"] != "binary":
        raise InvalidInput(f"question {question['id']!r} is {question['kind'].replace('_', '-')}: evidence is a "
                           "likelihood ratio between yes and no, so only binary questions take it")


def check_live_evidence(question: Mapping[str, Any], *, resolution: str | None) -> None:
    """A live assessment: on a binary question (:func:`check_evidence_question`) that is not
    resolved (an assessment made in hindsight would count from when it was recorded, after
    the outcome was known)."""
    check_evidence_question(question)
    if resolution is not None:
        raise QuestionClosed(f"question {question['id']!r} is resolved ({resolution}); "
                             "it takes no more evidence")


def check_event_time(occurred_at: datetime, *, now: datetime, title: str | None = None) -> None:
    """An event is not dated in the future."""
    if occurred_at > now + CLOCK_TOLERANCE:
        what = f"event {title!r}" if title else "event"
        raise InvalidDate(f"{what} is dated {occurred_at:%Y-%m-%d}, in the future")


def resolution_moment(question: Mapping[str, Any], stated: datetime | None, *, bare: bool,
                      now: datetime) -> datetime:
    """When a live resolution happened: ``now`` when no date is given.  A bare date means 00:00
    of that day, except on the day the question opened, when 00:00 came before the opening:
    then it means the end of that day, or ``now`` if the end of the day is still to come
    (``resolve q yes --on <today>`` on a question added today)."""
    if stated is None:
        return now
    opens = question["opens_at"]
    if bare and stated < opens and stated.date() == opens.date():
        return min(now, stated + timedelta(days=1) - timedelta(microseconds=1))
    return stated


def check_resolution(question: Mapping[str, Any], outcome: object, resolved_at: datetime, *,
                     now: datetime) -> str:
    """A resolution: an outcome of the question, dated at or after it opens and not in the future.

    Returns the outcome in its ledger form."""
    options = question["options"]
    if isinstance(options, str):
        options = json.loads(options)
    result = domain.parse_outcome(outcome, question["kind"], options)
    if resolved_at < question["opens_at"]:
        raise InvalidDate(f"resolution date {resolved_at:%Y-%m-%d} is before question {question['id']!r} "
                          f"opens ({question['opens_at']:%Y-%m-%d})")
    if resolved_at > now + CLOCK_TOLERANCE:
        raise InvalidDate(f"resolution date {resolved_at:%Y-%m-%d} is in the future")
    return result


# ---------------------------------------------------------------------- amendments
def amendment_rows(question: Mapping[str, Any], *, title: object = None, criteria: object = None,
                   closes: object = None, tags: object = None, resolution: str | None,
                   last_forecast_at: datetime | None, reason: object = None) -> list[dict[str, Any]]:
    """The amendment rows that change ``question`` (as it now reads, amendments applied): one
    per field given whose value differs.  Refused: nothing to change; an empty title; a close
    not after the question opens, or before a forecast already made on it (no recorded
    forecast may fall after its question's close), or on a resolved question (its close is part
    of its scored record).  The rows have no ``amended_by``, ``seq`` or hashes yet.

    A question is not withdrawn: resolve it ``annulled`` (it then counts in no score)."""
    qid = question["id"]
    new: dict[str, str] = {}
    if title is not None:
        text = domain.optional_text(title, "title", 500)
        if not text:
            raise InvalidInput("a question needs a title; give the new title")
        if text != question["title"]:
            new["title"] = text
    if criteria is not None:
        text = domain.optional_text(criteria, "criteria")
        if not text:
            raise InvalidInput("give the new resolution criteria (they cannot be emptied)")
        if text != question.get("criteria"):
            new["criteria"] = text
    if tags is not None:
        parsed = domain.parse_tags(tags)
        if parsed != list(question.get("tags") or []):
            new["tags"] = to_json(parsed)  # type: ignore[assignment]
    if closes is not None:
        at = domain.parse_time(closes, "close date")
        if at != question["closes_at"]:
            if resolution is not None:
                raise QuestionClosed(f"question {qid!r} is resolved ({resolution}); its close date is part of "
                                     "its scored record and cannot change")
            if at <= question["opens_at"]:
                raise InvalidDate(f"the question would close ({_when(at)}) before it opens ({_when(question['opens_at'])})")
            if last_forecast_at is not None and at < last_forecast_at:
                raise InvalidDate(f"question {qid!r} has a forecast made {_when(last_forecast_at)}, after the new "
                                  f"close ({_when(at)}); a close moves no earlier than its last forecast")
            new["closes_at"] = at.isoformat(sep=" ")
    if not new:
        raise InvalidInput(f"nothing to amend: give a new --title, --criteria, --closes or --tags for {qid!r} "
                           "that differs from what it has")
    why = domain.optional_text(reason, "reason")
    return [{"about": "question", "target": qid, "field": field, "value": value, "reason": why}
            for field, value in new.items()]


def event_withdrawal_row(event: int, *, exists: bool, withdrawn: bool, reason: object = None) -> dict[str, Any]:
    """The row that withdraws event ``event`` (a duplicate, a report that proved false): every
    read leaves it, and the evidence that assessed it, out from then on."""
    from forecasts.errors import UnknownEvent

    if not exists:
        raise UnknownEvent(f"no event {event}; list the events to find its id")
    if withdrawn:
        raise InvalidInput(f"event {event} is already withdrawn")
    return {"about": "event", "target": str(event), "field": "withdrawn", "value": None,
            "reason": domain.optional_text(reason, "reason")}


def check_event_kept(event: int, *, withdrawn: bool) -> None:
    """New evidence is about an event that stands."""
    if withdrawn:
        raise InvalidInput(f"event {event} was withdrawn; it takes no evidence")


# ---------------------------------------------------------------------- stored rows, for verify
def ledger_breaches(rows: Mapping[str, Mapping[str, Any]]) -> list[tuple[int, str]]:
    """The stored rows that break a rule the ledger enforced when it wrote them, as
    ``(seq, message)`` in ``seq`` order (a row with a valid hash but an impossible time is a
    forgery, or was written past the tool).

    ``rows`` maps each row set of :func:`forecasts.ledger.sql.rule_rows_sql` (``forecasts``,
    ``corrections``, ``resolutions``, ``events``, ``questions``, ``amendments``) to its
    columns as arrays (times ``datetime64[us]`` with NaT for NULL).  Checked, vectorised: no
    row is dated (``made_at``, ``occurred_at``, ``resolved_at``) after it was recorded (beyond
    :data:`~forecasts.domain.CLOCK_TOLERANCE`); a live forecast was made when recorded; a
    question closes after it opens; an amendment points at an earlier live forecast, and is
    retroactive (the original's ``made_at``) only within :data:`CORRECTION_GRACE`, otherwise a
    retraction made when recorded; and it was recorded while the question was open (before its
    scheduled close and before any resolution was recorded), as :func:`check_amendment` requires.
    Each amendment of a question or an event names one of the ledger, a field it may change,
    and a close after the question opens.
    """
    import numpy as np

    tol = _tolerance64()
    grace = np.timedelta64(int(CORRECTION_GRACE.total_seconds() * 1_000_000), "us")
    found: list[tuple[int, str]] = []

    def times(cols: Mapping[str, Any], col: str) -> Any:
        return np.asarray(cols[col], dtype="datetime64[us]")

    def dated(table: str, col: str, rows_of: str | None = None) -> Problems:
        cols = rows[rows_of or table]
        seqs = np.asarray(cols["seq"])
        problems = Problems(seqs.tolist())
        world, rec = times(cols, col), times(cols, "recorded_at")
        problems.flag(world > rec + tol, IntegrityError,
                      lambda i: f"{table} row seq={seqs[i]} has {col} {_when(world[i])}, after it was "
                                f"recorded ({_when(rec[i])}): a row cannot be dated in the future")
        return problems

    f = rows["forecasts"]
    problems = dated("forecasts", "made_at")
    if len(f["seq"]):
        seqs = np.asarray(f["seq"])
        made, rec = times(f, "made_at"), times(f, "recorded_at")
        live, amends = ~np.asarray(f["history"], dtype=bool), np.asarray(f["amends"], dtype=bool)
        problems.flag(live & ~amends & (np.abs(made - rec) > tol), IntegrityError,
                      lambda i: f"forecasts row seq={seqs[i]} is a live forecast made {_when(made[i])} but "
                                f"recorded {_when(rec[i])}: live forecasts cannot be backdated")
    found += problems.found
    c = rows["corrections"]
    if len(c["seq"]):
        seqs, corrects = np.asarray(c["seq"]), np.asarray(c["corrects"])
        cp = Problems(seqs.tolist())
        cp.bad |= np.isin(seqs, np.asarray(f["seq"])[problems.bad])  # each row is reported once
        made, rec = times(c, "made_at"), times(c, "recorded_at")
        t_made, t_rec = times(c, "target_made_at"), times(c, "target_recorded_at")
        live, retracted = ~np.asarray(c["history"], dtype=bool), np.asarray(c["retracted"], dtype=bool)
        now_made = np.abs(made - rec) <= tol
        cp.flag(np.isnat(t_rec) | (corrects >= seqs), IntegrityError,
                lambda i: f"forecasts row seq={seqs[i]} amends row {corrects[i]}, which is no earlier forecast")
        cp.flag(np.asarray(c["target_history"], dtype=bool) | ~live, IntegrityError,
                lambda i: f"forecasts row seq={seqs[i]} amends an imported row, or is one: "
                          "only live forecasts are corrected on the live path")
        retro = made == t_made
        cp.flag(retro & (rec - t_rec > grace), IntegrityError,
                lambda i: f"forecasts row seq={seqs[i]} amends row {corrects[i]} from its "
                          f"own time {(rec[i] - t_rec[i]) / np.timedelta64(60, 's'):.0f} minutes after "
                          f"it was recorded, past the {CORRECTION_GRACE / timedelta(minutes=1):g}-minute grace period")
        cp.flag(~retro & ~(retracted & now_made), IntegrityError,
                lambda i: f"forecasts row seq={seqs[i]} amends row {corrects[i]} at "
                          f"{_when(made[i])}: a late amendment can only be a retraction made when recorded")
        t_close, t_res = times(c, "target_closes_at"), times(c, "target_resolved_recorded_at")
        closed = ~np.isnat(t_close) & (rec > t_close)  # the ledger clock, as when written
        cp.flag(closed, IntegrityError,
                lambda i: f"forecasts row seq={seqs[i]} amends row {corrects[i]} recorded "
                          f"{_when(rec[i])}, after its question closed ({_when(t_close[i])}): "
                          "forecasts on a closed question are final")
        cp.flag(~closed & ~np.isnat(t_res) & (rec >= t_res), IntegrityError,
                lambda i: f"forecasts row seq={seqs[i]} amends row {corrects[i]} recorded "
                          f"{_when(rec[i])}, after its question was resolved ({_when(t_res[i])}): "
                          "forecasts on a resolved question are final")
        found += cp.found
    found += dated("events", "occurred_at").found
    found += dated("resolutions", "resolved_at").found
    q = rows["questions"]
    qseq = np.asarray(q["seq"])
    qp = Problems(qseq.tolist())
    qp.flag(times(q, "closes_at") <= times(q, "opens_at"), IntegrityError,
            lambda i: f"questions row seq={qseq[i]} closes before it opens")
    found += qp.found
    a = rows["amendments"]
    if len(a["seq"]):
        from forecasts.ledger.migrations import AMENDABLE

        aseq = np.asarray(a["seq"])
        ap = Problems(aseq.tolist())
        about, field = np.asarray(a["about"]).astype(str), np.asarray(a["field"]).astype(str)
        on_question = about == "question"
        missing = ~np.where(on_question, np.asarray(a["target_exists"], dtype=bool),
                            np.asarray(a["event_exists"], dtype=bool))
        ap.flag(missing, IntegrityError, lambda i: f"amendments row seq={aseq[i]} names a {about[i]} the ledger does not hold")
        ap.flag(~missing & ~np.where(on_question, np.isin(field, AMENDABLE), field == "withdrawn"), IntegrityError,
                lambda i: f"amendments row seq={aseq[i]} changes {field[i]!r}, which a {about[i]} amendment cannot")
        closes = on_question & (field == "closes_at") & ~missing
        values = list(a["value"])
        at = np.array([_iso_time(v) if ok else np.datetime64("NaT", "us") for v, ok in zip(values, closes, strict=True)],
                      dtype="datetime64[us]")
        ap.flag(closes & (np.isnat(at) | (at <= times(a, "target_opens_at"))), IntegrityError,
                lambda i: f"amendments row seq={aseq[i]} moves a close to {values[i]!r}, "
                          "not a time after the question opens")
        found += ap.found
    return sorted(found)


def _iso_time(value: object) -> Any:
    """A stored ISO 8601 time (naive UTC) as ``datetime64[us]``, NaT when it is none."""
    import numpy as np

    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return np.datetime64("NaT", "us")
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(at, "us")


# ---------------------------------------------------------------------- storage form
def json_list(value: object) -> list[Any] | None:
    """A list stored as JSON text (or given as a list) as a list; ``None`` stays ``None``."""
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else list(value)  # type: ignore[call-overload]


def to_json(value: Any) -> str | None:
    """Lists and mappings are stored as compact JSON text (``None`` stays NULL)."""
    return None if value is None else json.dumps(value, sort_keys=False, separators=(",", ":"))
