"""The New START case study and a small real track record beside it, in a fresh demo ledger.

The question: will the US and Russia agree to extend New START before it expires on
5 February 2021?  The demo ledger receives, all through the import path (so every row keeps its
world time and names its source, and the no-backdating rule for live forecasts stays intact):

* the question (opened 2020-08-10 23:00 UTC, as the Metaculus question did; closes at the expiry);
* 31 dated, sourced events from July 2019 to February 2021 (``data/new_start_events.csv``);
* the real Metaculus community median for question 4935, 100 points from August to November
  2020 (``data/metaculus_arms_control_timeseries.csv``), as forecaster ``import:metaculus``;
* two **illustrative** analysts, ``illustrative:analyst-a`` and ``illustrative:analyst-b``:
  invented forecasts and evidence assessments, written by the project to show the workflow, and
  labelled as such in every row (forecaster name, source ``import:illustrative`` and rationale);
* the resolution: YES on 2021-01-26, the day the diplomatic notes agreeing a five-year
  extension were exchanged (Metaculus resolved its question YES on 2021-01-27).

Beside it, a small **real track record** (:data:`TRACK_RECORD`): the other arms-control
questions of the same data, with their real titles and open and close times, the Metaculus
community median of each (points stamped after a question's close are left out) and Good
Judgment Open's final crowd forecast where the data has one (``import:gjopen``).  A question is
resolved only with a cited source for its outcome (``data/arms_control_resolutions.csv``: the
source's address and date are in the resolution's note); the others stay unresolved.  The
Metaculus series come from a snapshot of August 2022: on a question that closed later, the
community's last point in it holds to the close, as any forecaster's last forecast does.

Then the demo replays the events through the evidence and deadline-hazard models on the New
START question, and the crowd models of ``forecasts evaluate`` (the extremized and the
hazard-decayed Metaculus community) walk-forward over every question, all as backtests
(:func:`forecasts.runs.replay.replay_demo`); scores everyone with the time-averaged Brier and
log scores, and writes the report ``reports/new-start.html``.  The demo never touches the
user's own ledger: it writes ``data/demo/new-start.duckdb`` (or ``--db``), and refuses a path
that holds anything but an earlier demo.
"""

from __future__ import annotations

import csv
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from forecasts.errors import InvalidInput
from forecasts.ledger.store import Ledger
from forecasts.paths import data_file

DEMO_PATH = Path("data") / "demo" / "new-start.duckdb"
QUESTION = "new-start-extension"
DEMO_SOURCE = "import:demo"
ILLUSTRATIVE = "import:illustrative"
ANALYST_A = "illustrative:analyst-a"
ANALYST_B = "illustrative:analyst-b"
#: The real crowd series, the question list and the sourced resolutions (``data/README.md``).
SERIES = "metaculus_arms_control_timeseries.csv"
QUESTION_LIST = "new_start_questions.csv"
RESOLUTIONS = "arms_control_resolutions.csv"
#: When the Metaculus series were collected: the snapshot's last points are of early August 2022.
SNAPSHOT = "August 2022"

#: The real questions beside New START: (platform, the platform's id) -> (ledger id, tags).
#: Titles, open and close times, crowd forecasts and resolutions come from the files above.
TRACK_RECORD = {
    ("Metaculus", "4935"): (QUESTION, ["arms-control", "russia", "usa", "new-start"]),
    ("Metaculus", "8393"): ("metaculus-8393", ["arms-control", "russia", "usa", "new-start", "metaculus"]),
    ("Metaculus", "10042"): ("metaculus-10042", ["arms-control", "russia", "new-start", "metaculus"]),
    ("Metaculus", "8547"): ("metaculus-8547", ["arms-control", "usa", "open-skies", "metaculus"]),
    ("Metaculus", "8550"): ("metaculus-8550", ["arms-control", "russia", "open-skies", "metaculus"]),
    ("Metaculus", "8589"): ("metaculus-8589", ["arms-control", "usa", "inf", "metaculus"]),
    ("GJOpen", "942"): ("gjopen-942", ["arms-control", "russia", "usa", "new-start", "gjopen"]),
    ("GJOpen", "1551"): ("gjopen-1551", ["arms-control", "russia", "usa", "new-start", "gjopen"]),
}

QUESTION_ROW = {
    "qid": QUESTION,
    "title": "Will the US and Russia agree to extend New START before it expires on 5 February 2021?",
    "criteria": ("Resolves YES if the United States and Russia agree, by exchange of diplomatic notes or "
                 "an equivalent formal act, to extend or replace the New START treaty before its "
                 "expiry on 5 February 2021 00:00 UTC. Modelled on Metaculus question 4935."),
    "opens": "2020-08-10T23:00:00",
    "closes": "2021-02-05T00:00:00",
    "tags": ["arms-control", "russia", "usa", "new-start"],
    "by": "demo",
    "source_id": "metaculus:4935",
}

# Invented, illustrative forecasts: (made_at UTC, probability, rationale).
ANALYST_A_FORECASTS = [
    ("2020-08-19T12:00", 0.45, "Billingslea signals the US could recommend extension if conditions are met"),
    ("2020-09-22T12:00", 0.30, "Ryabkov calls the US terms an ultimatum; chances minimal"),
    ("2020-10-14T12:00", 0.35, "Agreement-in-principle claim, rejected by Moscow the same day"),
    ("2020-10-17T12:00", 0.40, "Putin offers a one-year extension without conditions; O'Brien says non-starter"),
    ("2020-10-21T12:00", 0.55, "Moscow offers a warhead freeze; State Department welcomes it"),
    ("2020-11-01T12:00", 0.40, "Talks stall over verification before the election"),
    ("2020-11-08T12:00", 0.70, "Biden projected winner; he pledged to extend"),
    ("2020-12-18T12:00", 0.72, "Putin presses for a one-year extension; Billingslea says Russia rejected all meetings"),
    ("2021-01-20T12:00", 0.85, "Blinken says the administration will seek extension; Moscow backs five years"),
    ("2021-01-22T12:00", 0.92, "White House confirms a five-year extension; Kremlin welcomes it"),
]
ANALYST_B_FORECASTS = [
    ("2020-08-12T12:00", 0.30, "Base rate: the administration has let arms-control treaties lapse (INF, Open Skies)"),
    ("2020-10-22T12:00", 0.40, "Freeze offer narrows the gap, but verification is unresolved"),
    ("2020-11-10T12:00", 0.55, "A Biden administration would extend, but only 16 days remain after inauguration"),
    ("2021-01-05T12:00", 0.60, "Both sides say five years is possible; little time left"),
    ("2021-01-22T12:00", 0.80, "White House confirms it will seek five years"),
]
# Analyst A's verbal strengths for the events that moved them most; other events with a
# direction get "weak"; correlated same-day reports get weight 0.5.
STRONGER = {"0312": "moderate", "057": "decisive", "035": "moderate"}
CORRELATED_TITLES = ("Kremlin Twitter account",)
#: The deadline in a Good Judgment Open title: "... begin before 1 October 2020?".
_DEADLINE = re.compile(r"before (\d{1,2} [A-Z][a-z]+ \d{4})\?$")


def _events() -> list[dict]:
    rows = []
    with data_file("new_start_events.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["title"].startswith("REFERENCE ONLY"):
                continue
            rows.append(r)
    return rows


def _rows(name: str) -> list[dict]:
    with data_file(name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _metaculus() -> list[dict]:
    """The Metaculus community series of the track record, without the points stamped after a
    question's close."""
    return [r for r in _rows(SERIES) if r["after_close"] == "False"]


def _page_time(text: str) -> str:
    """A time of the question list, without its trailing remark ("... (page time zone not stated)")."""
    return text.split(" (")[0].removesuffix("Z")


def resolutions() -> list[dict]:
    """The sourced resolutions of the track record (``data/arms_control_resolutions.csv``), each
    with its ledger ``question`` and a ``note`` that ends with its source's address and date."""
    out = []
    for r in _rows(RESOLUTIONS):
        qid = TRACK_RECORD[(r["platform"], r["question_id"])][0]
        out.append({"question": qid, "outcome": r["outcome"], "on": r["resolved_at"], "by": "demo",
                    "note": f"{r['note']} Source: {r['source_url']} ({r['source_date']}).",
                    "source_url": r["source_url"], "source_date": r["source_date"]})
    return out


def _track_record_questions(series: list[dict]) -> list[dict]:
    """The question rows beside New START: Metaculus' from its series, Good Judgment Open's
    from the question list (a question whose deadline is in its title closes then)."""
    first, last = {}, {}
    for r in series:
        first.setdefault(r["question_id"], r)
        last[r["question_id"]] = r
    rows = []
    for (platform, pid), (qid, tags) in TRACK_RECORD.items():
        if qid == QUESTION:
            continue
        if platform == "Metaculus":
            r = first[pid]
            criteria = (f"Resolves as Metaculus question {pid} does (metaculus.com/questions/{pid}/). Demo data: "
                        f"the community median from a snapshot of the Metaculus API taken in {SNAPSHOT}, its "
                        f"last point on {last[pid]['timestamp_utc'][:10]}; the community's later forecasts are not "
                        "in the data, so that last point holds to the close in every score.")
            rows.append({"qid": qid, "title": r["question_title"], "criteria": criteria,
                         "opens": r["open_time_utc"][:19], "closes": r["close_time_utc"][:19], "tags": tags,
                         "by": "demo", "source_id": f"metaculus:{pid}"})
            continue
        q = next(x for x in _rows(QUESTION_LIST) if (x["platform"], x["question_id"]) == (platform, pid))
        deadline = _DEADLINE.search(q["question_text"])
        closes = datetime.strptime(deadline.group(1), "%d %B %Y").isoformat() if deadline else _page_time(q["close_utc"])
        criteria = (f"Resolves as Good Judgment Open question {pid} does (gjopen.com/questions/{pid}). Demo data: "
                    + ("the crowd's final forecast only, as the question closed"
                       if q["final_or_last_crowd_p_yes"] else "no crowd forecast of this question is in the data")
                    + f". The platform closed it on {q['resolved_utc_or_date']}; this ledger's close is the deadline "
                      "in its title.")
        rows.append({"qid": qid, "title": q["question_text"], "criteria": criteria,
                     "opens": _page_time(q["open_utc"]), "closes": closes, "tags": tags, "by": "demo",
                     "source_id": f"gjopen:{pid}"})
    return rows


def _gjopen() -> list[dict]:
    """Good Judgment Open's final crowd forecast where the question list has one, dated when
    the question closed (the page's own close; it stood until then)."""
    rows = []
    for q in _rows(QUESTION_LIST):
        if q["platform"] != "GJOpen" or not q["final_or_last_crowd_p_yes"]:
            continue
        qid = TRACK_RECORD[("GJOpen", q["question_id"])][0]
        at = _page_time(q["close_utc"])
        rows.append({"question": qid, "forecaster": "import:gjopen", "made_at": at,
                     "probability": float(q["final_or_last_crowd_p_yes"]),
                     "source_id": f"gjopen:{q['question_id']}@{at}",
                     "rationale": (f"Good Judgment Open's final crowd forecast, question {q['question_id']} "
                                   f"({q['n_forecasters']} forecasters, {q['n_forecasts']} forecasts)")})
    return rows


def _is_demo_ledger(path: Path) -> bool:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        sources = {r[0] for r in con.execute("SELECT DISTINCT source FROM questions").fetchall()}
    except duckdb.Error:
        return False
    finally:
        con.close()
    return sources == {DEMO_SOURCE}


def build_demo_ledger(path: str | os.PathLike | None = None) -> Ledger:
    """Create a fresh demo ledger at ``path`` (default ``data/demo/new-start.duckdb``).

    An existing earlier demo ledger there is replaced; any other file is refused.
    """
    if str(path).startswith(("postgresql:", "postgres:")):
        raise InvalidInput("the demo builds its own DuckDB file; push it to a team ledger afterwards "
                           "(forecasts push data/demo/new-start.duckdb --db postgresql://...)")
    target = Path(path) if path is not None else DEMO_PATH
    if target.exists():
        if not _is_demo_ledger(target):
            raise InvalidInput(f"{target} exists and is not a demo ledger; the demo never overwrites your own data")
        target.unlink()
        wal = target.with_name(target.name + ".wal")
        if wal.exists():
            wal.unlink()
    ledger = Ledger.open(target, create=True)

    events = _events()
    event_rows = [{
        "title": e["title"], "on": e["occurred_on"], "date_precision": e["date_precision"],
        "description": e["note"] or None, "source_url": e["source_url"] or None,
        "actors": e["actors"] or None, "cameo": e["cameo_code"] or None,
        "goldstein": e["goldstein"] or None, "tags": ["new-start"], "by": "demo",
        "source_id": f"new_start_events.csv:{i + 2}",
    } for i, e in enumerate(events)]
    series = _metaculus()
    questions = [QUESTION_ROW, *_track_record_questions(series)]
    ledger.import_history(questions=questions, events=event_rows, source=DEMO_SOURCE)
    ids = {r["source_id"]: r["seq"] for r in ledger.events().to_dict("records")}

    ledger_id = {pid: qid for (platform, pid), (qid, _) in TRACK_RECORD.items() if platform == "Metaculus"}
    metaculus = [{"question": ledger_id[r["question_id"]], "forecaster": "import:metaculus",
                  "made_at": r["timestamp_utc"], "probability": float(r["community_median_p_yes"]),
                  "source_id": f"metaculus:{r['question_id']}@{r['timestamp_utc']}",
                  "rationale": f"Metaculus community median, question {r['question_id']}"} for r in series]
    ledger.import_history(forecasts=metaculus, source="import:metaculus")
    ledger.import_history(forecasts=_gjopen(), source="import:gjopen")

    illustrative = [
        {"question": QUESTION, "forecaster": who, "made_at": at, "probability": p,
         "rationale": f"[illustrative, invented for the demo] {why}"}
        for who, series_ in ((ANALYST_A, ANALYST_A_FORECASTS), (ANALYST_B, ANALYST_B_FORECASTS))
        for at, p, why in series_
    ]
    evidence = []
    for i, e in enumerate(events):
        direction = int(e["direction_for_extension"] or 0)
        if direction == 0 or e["occurred_on"] > "2021-01-26":
            continue
        step = STRONGER.get(e["cameo_code"], "weak")
        evidence.append({
            "question": QUESTION, "event": ids[f"new_start_events.csv:{i + 2}"], "by": ANALYST_A,
            "strength": f"{step} for {'yes' if direction > 0 else 'no'}",
            "weight": 0.5 if e["title"].startswith(CORRELATED_TITLES) else 1.0,
            "note": "[illustrative] analyst A's assessment",
        })
    ledger.import_history(forecasts=illustrative, evidence=evidence, source=ILLUSTRATIVE)
    ledger.import_history(resolutions=[{k: r[k] for k in ("question", "outcome", "on", "by", "note")}
                                       for r in resolutions()], source=DEMO_SOURCE)
    return ledger


def demo_scores(ledger: Ledger, crowd: str = "import:metaculus") -> Any:
    """Time-averaged Brier (0-1) and log score (nats), lower is better, per forecaster, over the
    resolved questions each forecast (``questions``), and ``vs_crowd``: Brier minus ``crowd``'s
    on the questions both forecast (negative: better than the crowd).  Most questions first,
    then by Brier.  Forecasters with nothing scored (a forecast that stood for no time, such as
    a crowd's final value dated at the close) are left out."""
    from forecasts.scoring import score_table

    frames = ledger.forecasts(), ledger.questions(), ledger.resolutions()
    brier = score_table(*frames, by="forecaster", rule="brier")
    log = score_table(*frames, by="forecaster", rule="log")
    vs = score_table(*frames, by="forecaster", rule="brier", relative_to=crowd)
    table = brier[["n_questions", "n_forecasts", "coverage", "score"]].rename(
        columns={"n_questions": "questions", "n_forecasts": "forecasts", "score": "brier"})
    table["log"] = log.loc[table.index, "score"]
    table["vs_crowd"] = vs["relative"].reindex(table.index).where(table.index != crowd)
    table = table[table["brier"].notna()]
    table = table.sort_values(["questions", "brier"], ascending=[False, True], kind="stable")
    return table.rename_axis("forecaster").reset_index()


def demo_questions(ledger: Ledger) -> Any:
    """One row per question of the demo, in the order of :data:`TRACK_RECORD`: its id, the
    platform and the platform's id, how many real crowd forecasts it has (``crowd``) and the
    time of the last (``crowd_until``), its close, its outcome (empty while no source for it is
    known) and the address and date of the outcome's source."""
    import pandas as pd

    qs = ledger.questions().set_index("id")
    f = ledger.forecasts()
    crowd = f[f["source"].isin(["import:metaculus", "import:gjopen"])].groupby("question")["made_at"]
    n, last = crowd.size(), crowd.max()
    source = {r["question"]: r["source_url"] for r in resolutions()}
    date = {r["question"]: r["source_date"] for r in resolutions()}
    rows = []
    for (platform, pid), (qid, _) in TRACK_RECORD.items():
        q = qs.loc[qid]
        rows.append({"question": qid, "platform": f"{platform} {pid}", "crowd": int(n.get(qid, 0)),
                     "crowd_until": last.get(qid, pd.NaT), "closes": q["closes_at"],
                     "outcome": q["outcome"] if isinstance(q["outcome"], str) else "",
                     "source": source.get(qid, ""), "source_date": date.get(qid, "")})
    return pd.DataFrame(rows)


#: What in the demo is real and what is illustrative: the first lines of its summary and report.
ABOUT = (
    "Real: the questions (titles, opening and close times as on Metaculus and Good Judgment Open; the New "
    "START question is worded by the project after Metaculus 4935 and closes at the treaty's expiry, and a "
    "Good Judgment Open question closes at the deadline in its title), the Metaculus community median of each Metaculus question (import:metaculus), Good Judgment Open's final "
    "crowd forecast on question 1551 (import:gjopen; dated at the close, it stood for no time, so it is shown "
    "but not scored), the 31 dated New START events with their news "
    "sources, and every resolution: each cites its source (address and date) in its note; a question "
    "whose outcome has no source stays unresolved.",
    "Illustrative: illustrative:analyst-a and illustrative:analyst-b are invented by the project to show "
    "the workflow on the New START question (their forecasts and analyst A's evidence assessments), "
    "and so are the backtest:evidence and backtest:hazard replays built on them.",
    "Replayed: backtest:extremized and backtest:hazard-crowd are the crowd models of 'forecasts evaluate' run "
    "walk-forward on the Metaculus series of every question, each row with only what was known at its date; "
    "learned from the one or two questions resolved before it, their parameters say little.",
    f"The Metaculus series come from a snapshot taken in {SNAPSHOT}: on the questions that closed later "
    "the community's later forecasts are not in the data, and its last point in the snapshot holds to "
    "the close in every score, as any forecaster's last forecast does. With this few questions no "
    "ranking and no calibration estimate means much.",
)


def run_demo(path: str | os.PathLike | None = None,
             report: str | os.PathLike | None = Path("reports") / "new-start.html") -> dict[str, Any]:
    """Build the demo ledger, replay the models (:func:`forecasts.runs.replay.replay_demo`:
    the evidence and deadline-hazard models on the New START question, the crowd models on
    every question, all as backtest rows), score everyone, and write the report
    (``report=None`` skips it).

    Returns ``{"path", "counts", "questions", "scores", "verify", "models", "fits", "about",
    "report"}``: the ledger file, rows per table, the questions with their crowd data and
    outcome sources (:func:`demo_questions`), the score table (models included), the chain
    check, the closed-form models' final explanations, what the crowd models had learned at
    each state of knowledge, what is real and what is illustrative (:data:`ABOUT`), and the
    report's path.
    """
    from forecasts.runs.replay import replay_demo

    ledger = build_demo_ledger(path)
    replay = replay_demo(ledger)
    out = {"path": ledger.path, "counts": ledger.counts(), "questions": demo_questions(ledger),
           "scores": demo_scores(ledger), "verify": ledger.verify(), "models": replay["explanations"],
           "fits": replay["fits"], "about": ABOUT, "report": None}
    if report is not None:
        from forecasts.report import build_report

        out["report"] = build_report(ledger, Path(report), title="New START and a small arms-control track record",
                                     about=ABOUT)
    return out
