"""Small random ledgers for the exporters' tests: a Hypothesis strategy for what a ledger holds
and :func:`build`, which writes it through the ledger's own API (so every rule applies).

What the exporters have to get right is all in here: binary and multiple-choice questions
(options in an order that is not sorted, ordered or not), several forecasts of one forecaster
on one question and day (the same second too, where the later row counts), days either side of
a week's and a month's end, forecasters of every kind (two names that would make the same
hubverse model id now and then), probabilities that print with 17 digits, text that a
spreadsheet would take for a formula or that needs CSV quoting, re-resolutions, amended
questions, and live forecasts corrected or retracted within the grace period."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from forecasts.ledger import Ledger

#: Hypothesis settings for a test that builds a ledger per example (from a function-scoped
#: factory such as ``new_ledger``, on purpose): no deadline, as a ledger takes a while to write.
LEDGER_PER_EXAMPLE = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

FORECASTERS = ("ana", "Bo", "zed", "model:hazard", "crowd:median", "import:metaculus", "backtest:hazard",
               "fatebook:Ana.L", "gjp:1234", "x+y@z", "a_b")
#: Sometimes drawn with ``a_b`` above: both are hubverse model ``person-a_b``.
CLASHING = "a.b"
OPTIONS = ("zeta", "alpha", "b-2", "a.1", "other", "mid")
SOURCES = ("import:test", "model:hazard", "backtest:hazard")
START = datetime(2019, 12, 20)  # a Friday: the days drawn below cross weeks, a month and a year

text = st.one_of(
    st.sampled_from(["Will it rain?", '=HYPERLINK("http://example.invalid","x")', "+1 if yes", "-1",
                     "@handle", "'quoted", 'a "quote", and a comma', "two\nlines", "tab\tinside", "café ☂"]),
    st.text(st.sampled_from('ab ,"=+-@\'\n;é'), min_size=1, max_size=12).filter(lambda s: s.strip() != ""))
probability = st.one_of(st.sampled_from([0.1, 0.35, 0.5, 0.7, 0.99, 0.01]),
                        st.floats(min_value=0.001, max_value=0.999, allow_nan=False),
                        st.integers(1, 6).map(lambda k: k / 7))


@st.composite
def questions(draw: Any, i: int) -> dict[str, Any]:
    mc = draw(st.booleans())
    q: dict[str, Any] = {"qid": f"q{i}-{draw(st.sampled_from(['b', 'a', 'z.1']))}", "title": draw(text),
                         "opens": START.isoformat(), "closes": (START + timedelta(days=400)).isoformat(),
                         "criteria": draw(st.none() | text), "by": draw(st.sampled_from(["ana", "zed", None])),
                         "tags": draw(st.lists(st.sampled_from(["arms", "b.c", "x:y"]), max_size=2, unique=True))}
    if draw(st.integers(0, 11)) == 0:
        q["tags"].append("ledger:no")  # the export's marker prefix: refused
    if mc:
        q.update(kind="multiple_choice", ordered=draw(st.booleans()),
                 options=draw(st.lists(st.sampled_from(OPTIONS), min_size=2, max_size=4, unique=True)))
    return q


@st.composite
def ledgers(draw: Any) -> dict[str, Any]:
    """What a small ledger holds: ``questions``, imported ``forecasts`` (with their ``source``),
    ``resolutions``, ``amendments`` and ``live`` steps (log, correct, retract)."""
    qs = [draw(questions(i)) for i in range(draw(st.integers(1, 4)))]
    names = [*FORECASTERS[:draw(st.integers(2, len(FORECASTERS)))]]
    if draw(st.integers(0, 7)) == 0:
        names.append(CLASHING)
    forecasts = []
    for _ in range(draw(st.integers(1, 14))):
        q = draw(st.sampled_from(qs))
        day = draw(st.sampled_from([0, 1, 2, 3, 9, 10, 11, 12, 13, 40, 41]))
        at = START + timedelta(days=day, seconds=draw(st.sampled_from([0, 1, 59, 3600, 86399])),
                               microseconds=draw(st.sampled_from([0, 0, 250_000])))
        f: dict[str, Any] = {"question": q["qid"], "forecaster": draw(st.sampled_from(names)),
                             "made_at": at.isoformat(), "source": draw(st.sampled_from(SOURCES))}
        if q.get("kind") == "multiple_choice":
            weights = draw(st.lists(st.integers(1, 9), min_size=len(q["options"]), max_size=len(q["options"])))
            order = draw(st.permutations(q["options"]))
            f["options"] = {o: weights[q["options"].index(o)] / sum(weights) for o in order}
        else:
            f["probability"] = draw(probability)
        forecasts.append(f)
    resolutions = []
    for q in qs:
        for _ in range(draw(st.integers(0, 2))):  # a second resolution re-resolves
            outcomes = [*(q.get("options") or ["yes", "no"]), "ambiguous", "annulled"]
            resolutions.append({"question": q["qid"], "outcome": draw(st.sampled_from(outcomes)),
                                "on": (START + timedelta(days=draw(st.integers(50, 60)))).isoformat()})
    amendments = [{"question": q["qid"], "title": draw(text)} for q in qs if draw(st.integers(0, 4)) == 0]
    live = draw(st.lists(st.tuples(st.sampled_from(["log", "log", "correct", "retract"]),
                                   st.sampled_from(["ana", "zed"]), probability), max_size=5))
    return {"questions": qs, "forecasts": forecasts, "resolutions": resolutions, "amendments": amendments,
            "live": live}


def build(ledger: Ledger, recipe: dict[str, Any]) -> Ledger:
    """Write ``recipe`` (from :func:`ledgers`) into an empty ledger and return it."""
    ledger.import_history(questions=recipe["questions"], source="import:test")
    for source in SOURCES:
        rows = [{k: v for k, v in f.items() if k != "source"} for f in recipe["forecasts"] if f["source"] == source]
        if rows:
            ledger.import_history(forecasts=rows, source=source)
    for r in recipe["resolutions"]:
        ledger.resolve(r["question"], r["outcome"], on=r["on"], by="ana")
    for a in recipe["amendments"]:
        if a["title"].strip() != next(q["title"] for q in recipe["questions"] if q["qid"] == a["question"]).strip():
            ledger.amend_question(a["question"], title=a["title"], by="ana")
    if recipe["live"]:
        ledger.add_question("live-q", title='Live, "now"', closes="2300-01-01", tags="live", by="zed")
    mine: dict[str, list[int]] = {}
    for step, who, p in recipe["live"]:
        if step == "log" or not mine.get(who):
            mine.setdefault(who, []).append(int(ledger.log("live-q", p, by=who)["seq"]))
        elif step == "correct":
            ledger.correct(mine[who][-1], p, by=who)
        else:
            ledger.retract(mine[who].pop(), by=who)
    return ledger
