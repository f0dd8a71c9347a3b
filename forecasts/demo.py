"""The New START case study, end to end, in a fresh demo ledger.

The question: will the US and Russia agree to extend New START before it expires on
5 February 2021?  The demo ledger receives, all through the import path (so every row keeps its
world time and names its source, and the no-backdating rule for live forecasts stays intact):

* the question (opened 2020-08-10 23:00 UTC, as the Metaculus question did; closes at the expiry);
* 31 dated, sourced events from July 2019 to February 2021 (``data/new_start_events.csv``);
* the real Metaculus community median for question 4935, 100 points from August to November
  2020 (``data/metaculus_4935_new_start.csv``), as forecaster ``import:metaculus``;
* two **illustrative** analysts, ``illustrative:analyst-a`` and ``illustrative:analyst-b``:
  invented forecasts and evidence assessments, written by the project to show the workflow, and
  labelled as such in every row (forecaster name, source ``import:illustrative`` and rationale);
* the resolution: YES on 2021-01-26, the day the diplomatic notes agreeing a five-year
  extension were exchanged (Metaculus resolved its question YES on 2021-01-27);

then replays the events through the evidence and deadline-hazard models as backtests (what each
model would have said at each event and each week), scores everyone with the time-averaged
Brier and log scores, and writes the report ``reports/new-start.html``.  The demo never touches
the user's own ledger: it writes ``data/demo/new-start.duckdb`` (or ``--db``), and refuses a
path that holds anything but an earlier demo.
"""

from __future__ import annotations

import csv
import os
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


def _events() -> list[dict]:
    rows = []
    with data_file("new_start_events.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["title"].startswith("REFERENCE ONLY"):
                continue
            rows.append(r)
    return rows


def _metaculus() -> list[dict]:
    with data_file("metaculus_4935_new_start.csv").open(newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["after_close"] == "False"]


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
    ledger.import_history(questions=[QUESTION_ROW], events=event_rows, source=DEMO_SOURCE)
    ids = {r["source_id"]: r["seq"] for r in ledger.events().to_dict("records")}

    metaculus = [{"question": QUESTION, "forecaster": "import:metaculus", "made_at": r["timestamp_utc"],
                  "probability": float(r["community_median_p_yes"]),
                  "source_id": f"metaculus:4935@{r['timestamp_utc']}",
                  "rationale": "Metaculus community median, question 4935"} for r in _metaculus()]
    ledger.import_history(forecasts=metaculus, source="import:metaculus")

    illustrative = [
        {"question": QUESTION, "forecaster": who, "made_at": at, "probability": p,
         "rationale": f"[illustrative, invented for the demo] {why}"}
        for who, series in ((ANALYST_A, ANALYST_A_FORECASTS), (ANALYST_B, ANALYST_B_FORECASTS))
        for at, p, why in series
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
    ledger.import_history(resolutions=[{
        "question": QUESTION, "outcome": "yes", "on": "2021-01-26T12:00:00", "by": "demo",
        "note": "Diplomatic notes agreeing a five-year extension exchanged on 26 Jan 2021 "
                "(Metaculus resolved question 4935 YES on 2021-01-27)"}], source=DEMO_SOURCE)
    return ledger


def demo_scores(ledger: Ledger) -> Any:
    """Time-averaged Brier (0-1) and log score (nats), lower is better, per forecaster."""
    from forecasts.scoring import score_table

    frames = ledger.forecasts(), ledger.questions(), ledger.resolutions()
    brier = score_table(*frames, by="forecaster", rule="brier")
    log = score_table(*frames, by="forecaster", rule="log")
    table = brier[["n_forecasts", "coverage", "score"]].rename(columns={"score": "brier"})
    table["log"] = log.loc[table.index, "score"]
    return table.sort_values("brier").rename_axis("forecaster").reset_index()


def run_demo(path: str | os.PathLike | None = None,
             report: str | os.PathLike | None = Path("reports") / "new-start.html") -> dict[str, Any]:
    """Build the demo ledger, replay the events through the evidence and deadline-hazard
    models (written as backtest rows, forecasters ``backtest:evidence`` and ``backtest:hazard``),
    score everyone, and write the report (``report=None`` skips it).

    Returns ``{"path", "counts", "scores", "verify", "models", "report"}``: the ledger file,
    rows per table, the score table (models included), the chain check, the models'
    final explanations, and the report's path.
    """
    from forecasts.runs.replay import replay_demo

    ledger = build_demo_ledger(path)
    replay = replay_demo(ledger)
    out = {"path": ledger.path, "counts": ledger.counts(), "scores": demo_scores(ledger),
           "verify": ledger.verify(), "models": replay["explanations"], "report": None}
    if report is not None:
        from forecasts.report import build_report

        out["report"] = build_report(ledger, Path(report))
    return out
