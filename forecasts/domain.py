"""Value parsing and validation: the one place where user input becomes ledger values.

Conventions
-----------
* Probabilities are floats in [0, 1].  :func:`parse_probability` reads ``"0.65"``, ``"65%"``
  and odds in favour ``"13:7"`` (13 / (13 + 7) = 0.65).  A bare number above 1 is refused
  (write ``65%`` for a percentage).  Exactly 0 or 1 is refused unless ``allow_certainty`` is
  given: a single wrong certain forecast makes the log score infinite.
* Times are naive :class:`datetime.datetime` values in UTC.  A bare date ``2021-02-05`` means
  00:00 UTC of that day (a resolution dated by the day its question opened is the one
  exception: :func:`~forecasts.ledger.rules.resolution_moment`); a timestamp with an offset is converted to UTC; one without an offset
  is taken to be UTC already.
* Question ids are slugs: lower-case letters, digits, ``.``, ``_`` and ``-``, starting with a
  letter or digit, at most 100 characters.  Forecaster names may also contain ``:`` and ``@``
  (``model:hazard``, ``import:metaculus``).
* Forecaster kinds (:func:`forecaster_kind`, the only place that decides them): a name that
  starts with a reserved prefix is a ``model`` (``model:``), a ``crowd`` aggregate computed
  here (``crowd:``), an ``import`` (``import:``, an imported record such as a platform's
  community prediction) or a ``backtest`` (``backtest:``); every other name is a ``person``,
  imported individuals (``fatebook:ana``, ``gjp:1234``) included.  Only persons enter the
  pools that others are compared with (peer scores, the median reference, crowd aggregates,
  a model's prior), and the reserved prefixes cannot be claimed on the live path.
* Multiple-choice forecasts give one probability per named option.  They must sum to 1 within
  :data:`SUM_TOLERANCE`; the stored values are divided by their sum so they add up to 1 exactly.

Everything here is standard library only, so that ``forecasts log`` starts fast.
"""

from __future__ import annotations

import getpass
import math
import os
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from forecasts.errors import InvalidDate, InvalidInput, InvalidProbability, ReservedForecaster

#: How far a live forecast's ``made_at`` may lie from the store's clock (either way).
CLOCK_TOLERANCE = timedelta(minutes=5)
#: How far the option probabilities of a multiple-choice forecast may sum away from 1.
SUM_TOLERANCE = 0.005
#: Resolution outcomes that void a question: it is excluded from scoring and counted.
VOID_OUTCOMES = ("ambiguous", "annulled")
BINARY_OUTCOMES = ("yes", "no")
KINDS = ("binary", "multiple_choice")

ForecasterKind = Literal["person", "model", "crowd", "import", "backtest"]
#: Every forecaster kind, in the order tables list them.
FORECASTER_KINDS: tuple[ForecasterKind, ...] = ("person", "model", "crowd", "import", "backtest")
#: The reserved name prefixes and the kind each one names; any other name is a person.
RESERVED_PREFIXES: dict[str, ForecasterKind] = {
    "model:": "model", "crowd:": "crowd", "import:": "import", "backtest:": "backtest",
}
#: What each kind is, in words (the README and the report use these).
KIND_LABELS: dict[ForecasterKind, str] = {
    "person": "person", "model": "model", "crowd": "crowd aggregate",
    "import": "imported record", "backtest": "backtest",
}

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,99}$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,49}$")
_CAMEO = re.compile(r"^[0-9]{2,4}$")
_MIN_YEAR, _MAX_YEAR = 1800, 9999

#: The verbal scale for evidence strength, as likelihood ratios P(event | YES) / P(event | NO).
#: "for yes" multiplies the odds of YES by the ratio; "for no" divides them by it.
#: The steps follow the usual Bayes-factor bands (Kass & Raftery 1995, on a finer grid).
VERBAL_SCALE = {
    "negligible": 1.0,
    "weak": 1.5,
    "moderate": 3.0,
    "strong": 10.0,
    "very-strong": 30.0,
    "decisive": 100.0,
}


def now() -> datetime:
    """The store's clock: the current time as a naive UTC datetime (microsecond precision)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__}")
    return value.strip()


def parse_probability(value: object, *, allow_certainty: bool = False) -> float:
    """Read a probability from ``0.65``, ``"0.65"``, ``"65%"`` or odds ``"13:7"``.

    Returns a float in [0, 1]; 0 and 1 only with ``allow_certainty=True``.

    >>> parse_probability("65%"), parse_probability("13:7"), parse_probability(0.65)
    (0.65, 0.65, 0.65)
    """
    if isinstance(value, bool):
        raise InvalidProbability(f"probability must be a number, got {value!r}")
    if isinstance(value, int | float):
        p = float(value)
        shown = repr(value)
    elif not isinstance(value, str):
        raise InvalidProbability(f"probability must be a number or text, got {type(value).__name__}")
    else:
        text = value.strip()
        shown = repr(text)
        try:
            if text.endswith("%"):
                p = float(text[:-1].strip()) / 100.0
            elif ":" in text:
                a, b = (float(x.strip()) for x in text.split(":", 1))
                if not (math.isfinite(a) and math.isfinite(b)) or a < 0 or b < 0 or a + b <= 0:
                    raise InvalidProbability(
                        f"odds {shown} must be two non-negative numbers, not both 0"
                    )
                p = a / (a + b)
            else:
                p = float(text)
        except ValueError:
            raise InvalidProbability(
                f"cannot read {shown} as a probability: write 0.65, 65% or odds 13:7"
            ) from None
    if not math.isfinite(p):
        raise InvalidProbability(f"probability {shown} is not a finite number")
    if p < 0.0 or p > 1.0:
        hint = f" (for a percentage, write {p:g}%)" if 1.0 < p <= 100.0 else ""
        raise InvalidProbability(f"probability {shown} is outside [0, 1]{hint}")
    if p in (0.0, 1.0) and not allow_certainty:
        raise InvalidProbability(
            f"probability {shown} is certain; a wrong certain forecast scores infinitely badly "
            "under the log score: allow certainty if you mean it"
        )
    return p


def parse_option_probabilities(
    items: object, options: list[str] | tuple[str, ...], *, allow_certainty: bool = False
) -> dict[str, float]:
    """Read one probability per option from ``{"a": 0.6, ...}`` or ``["a=0.6", "b=40%"]``.

    Every option of the question must appear exactly once; the probabilities must sum to 1
    within :data:`SUM_TOLERANCE` and are returned divided by their sum.

    >>> parse_option_probabilities(["yes-5y=0.6", "yes-1y=30%", "no=0.1"], ["yes-5y", "yes-1y", "no"])
    {'yes-5y': 0.6, 'yes-1y': 0.3, 'no': 0.1}
    """
    pairs: list[tuple[str, object]] = []
    if isinstance(items, dict):
        pairs = [(_text(k, "option name"), v) for k, v in items.items()]
    elif isinstance(items, list | tuple):
        for item in items:
            text = _text(item, "option")
            if "=" not in text:
                raise InvalidInput(f"option {text!r} must look like NAME=PROBABILITY")
            name, _, p = text.partition("=")
            pairs.append((name.strip(), p))
    else:
        raise InvalidInput("option probabilities must be NAME=PROBABILITY pairs")
    out: dict[str, float] = {}
    for name, p in pairs:
        if name not in options:
            raise InvalidInput(f"unknown option {name!r}; the options are {', '.join(options)}")
        if name in out:
            raise InvalidInput(f"option {name!r} is given twice")
        out[name] = parse_probability(p, allow_certainty=True)
        if out[name] in (0.0, 1.0) and not allow_certainty:
            raise InvalidProbability(
                f"option {name!r} has probability {out[name]:g}, which is certain: "
                "allow certainty if you mean it"
            )
    missing = [o for o in options if o not in out]
    if missing:
        raise InvalidInput(f"no probability given for option(s) {', '.join(missing)}")
    total = math.fsum(out.values())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise InvalidProbability(f"option probabilities sum to {total:.4g}, not 1")
    return {o: out[o] / total for o in options}


def parse_time(value: object, what: str = "date") -> datetime:
    """Read a date or timestamp as a naive UTC datetime.

    Accepts a :class:`datetime` (an aware one is converted to UTC), a :class:`date`
    (00:00 UTC), or ISO 8601 text: ``2021-02-05``, ``2021-02-05T10:30``,
    ``2021-02-05 10:30:00+03:00``, ``...Z``.

    >>> parse_time("2021-02-05"), parse_time("2021-01-26T12:00:00+03:00")
    (datetime.datetime(2021, 2, 5, 0, 0), datetime.datetime(2021, 1, 26, 9, 0))
    """
    if isinstance(value, datetime):
        t = value
    elif isinstance(value, date):
        t = datetime(value.year, value.month, value.day)
    else:
        text = _text(value, what)
        try:
            t = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidDate(
                f"cannot read {what} {text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]"
            ) from None
    if t.tzinfo is not None:
        try:
            t = t.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is in the year 10000 in UTC
            raise InvalidDate(f"{what} {t.isoformat()} is outside the years {_MIN_YEAR}-{_MAX_YEAR} in UTC") from None
    if not _MIN_YEAR <= t.year <= _MAX_YEAR:
        raise InvalidDate(f"{what} {t.isoformat()} is outside the years {_MIN_YEAR}-{_MAX_YEAR}")
    return t


def is_bare_date(value: object) -> bool:
    """Whether ``value`` names a day, not a moment: a :class:`date` that is not a datetime, or
    text ``YYYY-MM-DD``.

    >>> is_bare_date("2021-02-05"), is_bare_date("2021-02-05T00:00"), is_bare_date(date(2021, 2, 5))
    (True, False, True)
    """
    if isinstance(value, date):
        return not isinstance(value, datetime)
    return isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", value) is not None


def parse_duration(value: object, what: str = "duration") -> timedelta:
    """Read ``"14d"``, ``"2w"``, ``"12h"`` or a plain number of days.

    >>> parse_duration("2w"), parse_duration("36h")
    (datetime.timedelta(days=14), datetime.timedelta(days=1, seconds=43200))
    """
    text = _text(value, what) if not isinstance(value, int | float) else str(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([hdw]?)\s*", text)
    if not m:
        raise InvalidInput(f"cannot read {what} {text!r}: use e.g. 12h, 14d or 2w")
    n, unit = float(m.group(1)), m.group(2) or "d"
    if n > 365 * 200:
        raise InvalidInput(f"{what} {text!r} is too long")
    return {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]


def parse_question_id(value: object) -> str:
    """Check a question id (a slug such as ``new-start-extension``)."""
    text = _text(value, "question id")
    if not _SLUG.match(text):
        raise InvalidInput(
            f"question id {text!r} must be a slug: lower-case letters, digits, '.', '_', '-'"
        )
    return text


#: Words a question's title starts with or joins with, left out of an id made from it.
_FILLER = frozenset("will would is are does do did can could should the a an of to and or in on at for by "
                    "be been before after until".split())
_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def id_from_title(title: str, longest: int = 60) -> str:
    """A question id made from a title (``forecasts ask``): its words in lower case, without
    filler words or dates, joined by ``-``, at most ``longest`` characters, cut at a word.

    >>> id_from_title("Will the US and Russia resume strategic stability talks before 2027-06-01?")
    'us-russia-resume-strategic-stability-talks'
    """
    import unicodedata

    text = unicodedata.normalize("NFKD", _ISO_DATE.sub(" ", title)).encode("ascii", "ignore").decode().lower()
    words = [w for w in re.findall(r"[a-z0-9]+", text) if w not in _FILLER]
    out = ""
    for w in words:
        if len(out) + len(w) + (1 if out else 0) > longest:
            break
        out = f"{out}-{w}" if out else w
    return out or "question"


def date_in_title(title: str) -> datetime | None:
    """The last ISO date (``YYYY-MM-DD``) in a question's title, as its deadline, or None.

    >>> date_in_title("Talks resumed before 2027-06-01?")
    datetime.datetime(2027, 6, 1, 0, 0)
    """
    found = _ISO_DATE.findall(title)
    return parse_time(found[-1], "date in the title") if found else None


def parse_forecaster(value: object | None) -> str:
    """Who is forecasting: the value given, else ``FORECASTS_USER``, else the OS user name."""
    if value is None or value == "":
        value = os.environ.get("FORECASTS_USER") or getpass.getuser()
    text = _text(value, "forecaster")
    if not _NAME.match(text):
        raise InvalidInput(
            f"forecaster name {text!r} may hold letters, digits and . _ : @ + - (at most 100)"
        )
    return text


#: The ``source`` prefix of rows written by an importer (imported history, not recorded live).
IMPORT_SOURCE = "import:"
#: How a forecaster's scored forecasts came in: all live, all imported, or both.
TRACK_RECORDS = ("live", "imported", "live+imported")


def track_record(any_imported: bool, all_imported: bool) -> str:
    """A forecaster's track record (:data:`TRACK_RECORDS`) from whether any and whether all of
    their forecasts are imported history (:func:`is_imported`)."""
    live, imported, both = TRACK_RECORDS
    return imported if all_imported else both if any_imported else live


def is_imported(source: object) -> bool:
    """Whether a row's ``source`` marks it as imported history (``import:<platform>``) rather
    than a forecast recorded live (``cli``, ``notebook``, ``model:...``).

    >>> is_imported("import:gjp"), is_imported("cli")
    (True, False)
    """
    return str(source).startswith(IMPORT_SOURCE)


def forecaster_kind(name: str) -> ForecasterKind:
    """The kind of forecaster a name denotes, by its reserved prefix (see the module notes).

    >>> [forecaster_kind(n) for n in ("ana", "model:hazard", "crowd:median", "import:metaculus",
    ...                               "backtest:hazard", "fatebook:ana")]
    ['person', 'model', 'crowd', 'import', 'backtest', 'person']
    """
    head, sep, _ = str(name).partition(":")
    return RESERVED_PREFIXES.get(head + sep, "person") if sep else "person"


def is_person(name: str) -> bool:
    """Whether ``name`` is a person: the only kind pooled with others (peer scores, medians,
    crowd aggregates, model priors).

    >>> is_person("ana"), is_person("import:metaculus")
    (True, False)
    """
    return forecaster_kind(name) == "person"


def persons(names: Iterable[str]) -> list[str]:
    """The distinct persons among ``names``, in first-seen order."""
    return [n for n in dict.fromkeys(str(n) for n in names) if is_person(n)]


def parse_live_forecaster(value: object | None) -> str:
    """Who forecasts on the live path: :func:`parse_forecaster`, refusing the reserved
    prefixes (models, crowds, imports and backtests write only through the import path)."""
    name = parse_forecaster(value)
    kind = forecaster_kind(name)
    if kind != "person":
        raise ReservedForecaster(
            f"forecaster {name!r} names a {KIND_LABELS[kind]}; the prefixes "
            f"{', '.join(RESERVED_PREFIXES)} are reserved for rows written by models, aggregates, "
            "imports and backtests, so a person cannot use them")
    return name


def parse_tags(value: object | None) -> list[str]:
    """Read tags from ``"arms-control,russia"`` or a list; lower-cased, sorted, unique."""
    if value is None or value == "":
        return []
    raw = value.split(",") if isinstance(value, str) else value
    if not isinstance(raw, list | tuple):
        raise InvalidInput("tags must be a comma-separated list")
    tags = set()
    for tag in raw:
        t = _text(tag, "tag").lower()
        if not t:
            continue
        if not _TAG.match(t):
            raise InvalidInput(f"tag {t!r} may hold letters, digits and . _ : - (at most 50)")
        tags.add(t)
    return sorted(tags)


def parse_options(value: object) -> list[str]:
    """Read multiple-choice option names (slugs, at least two, unique, order kept)."""
    raw = value.split(",") if isinstance(value, str) else value
    if not isinstance(raw, list | tuple):
        raise InvalidInput("options must be a comma-separated list of names")
    options = [_text(o, "option") for o in raw]
    options = [o for o in options if o]
    for o in options:
        if not _SLUG.match(o) or o in VOID_OUTCOMES:
            raise InvalidInput(f"option {o!r} must be a slug and not 'ambiguous' or 'annulled'")
    if len(options) < 2 or len(set(options)) != len(options):
        raise InvalidInput("a multiple-choice question needs at least two distinct options")
    return options


def parse_cameo(value: object | None) -> str | None:
    """A CAMEO event code is 2 to 4 digits, leading zeros kept (``036``)."""
    if value is None or value == "":
        return None
    text = _text(value, "CAMEO code")
    if not _CAMEO.match(text):
        raise InvalidInput(f"CAMEO code {text!r} must be 2 to 4 digits, e.g. 036")
    return text


def parse_likelihood_ratio(lr: object | None, strength: object | None) -> tuple[float, str | None]:
    """An evidence assessment's likelihood ratio, from a number or a verbal strength.

    ``strength`` reads ``"<step> for yes"`` or ``"<step> for no"`` with a step of
    :data:`VERBAL_SCALE`; exactly one of ``lr`` and ``strength`` must be given.

    >>> parse_likelihood_ratio(None, "moderate for no")
    (0.3333333333333333, 'moderate for no')
    """
    if (lr is None) == (strength is None):
        raise InvalidInput("give a likelihood ratio or a verbal strength (exactly one of the two)")
    if strength is not None:
        text = " ".join(_text(strength, "strength").lower().split())
        m = re.fullmatch(r"([a-z-]+) for (yes|no)", text)
        if not m or m.group(1) not in VERBAL_SCALE:
            steps = ", ".join(VERBAL_SCALE)
            raise InvalidInput(f"strength {text!r} must be '<step> for yes|no' with step in {steps}")
        ratio = VERBAL_SCALE[m.group(1)]
        return (ratio if m.group(2) == "yes" else 1.0 / ratio), text
    if isinstance(lr, bool):
        raise InvalidInput("likelihood ratio must be a number")
    try:
        ratio = float(lr)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"likelihood ratio {lr!r} is not a number") from None
    if not math.isfinite(ratio) or ratio <= 0:
        raise InvalidInput(f"likelihood ratio {lr!r} must be a finite number above 0")
    return ratio, None


def parse_weight(value: object | None) -> float:
    """The weight of an evidence assessment in (0, 1]: below 1 discounts correlated reports."""
    if value is None:
        return 1.0
    try:
        w = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"weight {value!r} is not a number") from None
    if not (0.0 < w <= 1.0):
        raise InvalidInput(f"weight {value!r} must lie in (0, 1]")
    return w


def parse_outcome(value: object, kind: str, options: list[str] | None) -> str:
    """A resolution outcome: yes/no (binary) or an option name, or ambiguous/annulled."""
    text = _text(value, "outcome").lower()
    allowed = list(BINARY_OUTCOMES if kind == "binary" else options or []) + list(VOID_OUTCOMES)
    if text not in allowed:
        raise InvalidInput(f"outcome {text!r} must be one of {', '.join(allowed)}")
    return text


#: Characters no one means in a title, rationale or note: the escape, bell and backspace
#: characters and the C1 controls, from which terminal escape sequences are made.
_TERMINAL_CONTROL = re.compile("[\x07\x08\x1b\x80-\x9f]")


def optional_text(value: object | None, what: str, limit: int = 10_000) -> str | None:
    """Free text (a rationale, a note): stripped, ``None`` when empty, at most ``limit`` chars."""
    if value is None:
        return None
    text = _text(value, what)
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    if "\x00" in text:
        raise InvalidInput(f"{what} contains a NUL character")
    bad = _TERMINAL_CONTROL.search(text)
    if bad:
        raise InvalidInput(f"{what} contains the control character {bad.group()!r}, which would drive "
                           "the terminal of whoever reads it (an escape sequence); remove it")
    return text or None
