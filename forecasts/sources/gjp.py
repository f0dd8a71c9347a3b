"""The Good Judgment Project (2011-2015): questions ("IFPs") and individual survey forecasts.

Inputs, as in the project's data release (Harvard Dataverse doi:10.7910/DVN/BPCDH5):

* ``gjp_ifps.csv``: one row per question -- ``ifp_id`` (``1001-0``), ``q_text``, ``q_desc``,
  ``q_status`` (``closed`` or ``voided``), ``date_start``, ``date_to_close`` (the scheduled
  deadline), ``date_closed`` (when it actually closed), ``outcome`` (the letter of the correct
  option), ``n_opts``, ``options`` (``"(a) Yes, (b) No"``); dates as ``m/d/yy``.
* ``gjp_survey_forecasts_*.csv``: one row per answer option of each forecast -- ``ifp_id``,
  ``user_id``, ``forecast_id``, ``answer_option`` (``a``, ``b``...), ``value`` (its probability),
  ``timestamp``.

Conventions: question ids ``gjp-<ifp_id>`` (``gjp-1001-0``); a question whose options are
exactly "Yes" and "No" is binary (P(yes) = the value of option ``a``); every other question is
multiple choice with the option letters as option names (the option texts go into the
criteria).  Forecasters ``gjp:<user_id>``; a forecast's ``source_id`` is
``<ifp_id>:<forecast_id>``.  Outcomes: the correct letter (``yes``/``no`` for binary questions)
at ``date_closed``; voided questions resolve ``annulled``.  A question opens at ``date_start``
or, when its forecasts file holds earlier forecasts (year 1 took forecasts on 31 August 2011,
the day before the official start), at its first forecast.  GJP times carry no time zone and are
taken as UTC.

The released files write ``NA`` (``date_closed``, ``days_open``) and ``NULL``
(``date_suspend``) for missing values; both are read as missing, as is a blank cell.
A voided question (``q_status = voided``) has no ``date_closed``: it resolves ``annulled`` at
its scheduled close (``date_to_close``), so it is excluded from scoring and counted, not left
unresolved.  Two questions of the release close no later than they open: when
``date_to_close`` is not after ``date_start`` but the question actually closed later
(``date_closed``), it closes then (counted in a note); when no close date is after the start,
the question is left out and counted (``filtered``: ``close_not_after_open``), with its
forecasts (``rows_of_left_out_questions``).  Any other ``q_status`` than ``closed`` and
``voided`` is refused naming it, and so is a column the release's files do not have
(:data:`IFP_COLUMNS`, :data:`SURVEY_COLUMNS`; checked against ``ifps.csv`` and the year 1
survey file; other years' files were not seen).  What the files cannot carry into the
ledger: the GJP conditions, teams and training (``ctt``, ``cond``, ``training``, ``team``),
the forecasters' expertise ratings, and the suspension date.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from forecasts.errors import InvalidInput
from forecasts.sources.generic import ImportSummary, Progress, clean, load_track_record, read_table

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SOURCE = "import:gjp"
#: How the Dataverse files write a missing value.
MISSING = ("", "NA", "NULL")
STATUSES = ("closed", "voided")
#: The columns of the release's files (``ifps.csv``; ``survey_fcasts.yr1.csv``); any other is refused.
IFP_COLUMNS = ("ifp_id", "q_type", "q_text", "q_desc", "q_status", "date_start", "date_suspend", "date_to_close",
               "date_closed", "outcome", "short_title", "days_open", "n_opts", "options")
SURVEY_COLUMNS = ("ifp_id", "ctt", "cond", "training", "team", "user_id", "forecast_id", "fcast_type",
                  "answer_option", "value", "fcast_date", "expertise", "q_status", "viewtime", "year", "timestamp")


def _known_columns(t, known: tuple[str, ...], name: str, what: str) -> None:
    unknown = [c for c in t.columns if c not in known and c != "_line"]
    if unknown:
        raise InvalidInput(f"{name} has column(s) not in a GJP {what} file: {', '.join(map(repr, unknown))}")
_OPTION = re.compile(r"\(([a-z])\)\s*(.*?)\s*(?=,\s*\([a-z]\)|$)", re.S)


def _date(text: object):
    import pandas as pd

    text = clean(text)
    if text is None:
        return None
    for fmt in ("%m/%d/%y %H:%M", "%m/%d/%y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return pd.Timestamp(pd.to_datetime(str(text).strip(), format=fmt)).to_pydatetime()
        except ValueError:
            continue
    return str(text)  # left for validation to refuse with the line number


def parse_options(text: object) -> list[tuple[str, str]]:
    """``"(a) Yes, (b) No"`` -> ``[("a", "Yes"), ("b", "No")]``."""
    return [(m.group(1), m.group(2).strip()) for m in _OPTION.finditer(str(clean(text) or ""))]


def _questions(path: str | Path) -> tuple[list[dict], list[dict], dict[str, dict], int, dict[str, int], list[str]]:
    """Questions, resolutions, option letters by ifp, rows read, the questions left out
    (ifp id -> line) and notes."""
    t = read_table(path, na_values=MISSING)
    for col in ("ifp_id", "q_text", "date_start", "options", "q_status"):
        if col not in t.columns:
            raise InvalidInput(f"{Path(path).name} has no {col!r} column (a GJP questions file, gjp_ifps.csv)")
    _known_columns(t, IFP_COLUMNS, Path(path).name, "questions (ifps.csv)")
    questions, resolutions, kinds = [], [], {}
    left_out: dict[str, int] = {}
    moved = 0
    for r in t.to_dict("records"):
        ifp = str(clean(r["ifp_id"]) or "").strip()
        qid = f"gjp-{ifp}"
        status = str(clean(r.get("q_status")) or "").strip().lower()
        if status not in STATUSES:
            raise InvalidInput(f"{Path(path).name} line {r['_line']}: unknown q_status {status!r} "
                               f"(known: {', '.join(STATUSES)})")
        opts = parse_options(r.get("options"))
        binary = [o[1].lower() for o in opts] == ["yes", "no"]
        letters = [o[0] for o in opts]
        criteria = "\n".join(x for x in (clean(r.get("q_desc")),
                                         "Options: " + "; ".join(f"({a}) {b}" for a, b in opts)) if x)
        opens, scheduled, closed = (_date(r.get(c)) for c in ("date_start", "date_to_close", "date_closed"))
        closes = scheduled or closed
        readable = all(isinstance(v, datetime) for v in (opens, closes))
        if readable and closes <= opens:  # type: ignore[operator]
            if isinstance(closed, datetime) and closed > opens:  # type: ignore[operator]
                closes, moved = closed, moved + 1
            else:
                left_out[ifp] = int(r["_line"])
                continue
        kinds[ifp] = {"qid": qid, "binary": binary, "letters": letters}
        questions.append({"qid": qid, "title": clean(r.get("q_text")), "opens": opens,
                          "closes": closes, "kind": "binary" if binary else "multiple_choice",
                          "options": None if binary else letters, "criteria": criteria,
                          "tags": ["gjp"], "by": "import:gjp", "source_id": ifp, "line": r["_line"]})
        closed_on = closed or closes
        if status == "voided":
            resolutions.append({"question": qid, "outcome": "annulled", "on": closed_on, "by": "import:gjp",
                                "line": r["_line"]})
        elif clean(r.get("outcome")) is not None:
            letter = str(r["outcome"]).strip().lower()
            outcome = ({"a": "yes", "b": "no"}.get(letter, letter)) if binary else letter
            resolutions.append({"question": qid, "outcome": outcome, "on": closed_on, "by": "import:gjp",
                                "line": r["_line"]})
    notes = []
    if moved:
        notes.append(f"{moved} question(s) whose scheduled close (date_to_close) is not after their start"
                     ": they close when they actually closed (date_closed)")
    if left_out:
        notes.append("left out, no close date after the start: " + ", ".join(
            f"{ifp} (line {ln})" for ifp, ln in left_out.items()))
    return questions, resolutions, kinds, len(t), left_out, notes


def import_gjp(ledger: Ledger, path: str | Path, *, questions: str | Path | None = None, dry_run: bool = False,
               progress: Progress = None, skip_malformed: bool = False,
               question_ids: list[str] | None = None, allow_certainty: bool = True) -> ImportSummary:
    """Import GJP questions (``path`` = ``gjp_ifps.csv``) or survey forecasts (``path`` = a
    ``gjp_survey_forecasts_*.csv``, with ``questions`` = ``gjp_ifps.csv`` defining their
    questions; every question of that file is imported, idempotently).  ``question_ids``
    (``1001-0``...) keeps only those questions and their forecasts.  GJP let forecasters
    state 0% and 100%, so certain forecasts are accepted by default (``allow_certainty``)."""
    import pandas as pd

    head = read_table(path).columns
    if "q_text" in head:
        qs, rs, _kinds, n, left_out, notes = _questions(path)
        summary = ImportSummary(source=SOURCE, path=str(path), rows_read=n, notes=notes)
        if left_out:
            summary.filtered["close_not_after_open"] = len(left_out)
        if question_ids is not None:
            keep = {f"gjp-{q}" for q in question_ids}
            qs = [q for q in qs if q["qid"] in keep]
            rs = [r for r in rs if r["question"] in keep]
        return load_track_record(ledger, source=SOURCE, questions=qs, resolutions=rs, dry_run=dry_run,
                                 progress=progress, skip_malformed=skip_malformed, summary=summary)
    if questions is None:
        raise InvalidInput("GJP forecasts need their questions: give the questions file (gjp_ifps.csv) too")
    qs, rs, kinds, _, left_out, notes = _questions(questions)
    t = read_table(path, na_values=MISSING)
    for col in ("ifp_id", "user_id", "forecast_id", "answer_option", "value", "timestamp"):
        if col not in t.columns:
            raise InvalidInput(f"{Path(path).name} has no {col!r} column (a GJP survey forecasts file)")
    _known_columns(t, SURVEY_COLUMNS, Path(path).name, "survey forecasts (survey_fcasts.yr1.csv)")
    summary = ImportSummary(source=SOURCE, path=str(path), rows_read=len(t), notes=notes)
    if left_out:
        summary.filtered["close_not_after_open"] = len(left_out)
        gone = t["ifp_id"].isin(list(left_out))
        if gone.any():
            summary.filtered["rows_of_left_out_questions"] = int(gone.sum())
            t = t[~gone]
    if question_ids is not None:
        keep = set(question_ids)
        t = t[t["ifp_id"].isin(keep)]
        qs = [q for q in qs if q["source_id"] in keep]
        rs = [r for r in rs if r["question"] in {q["qid"] for q in qs}]
    t = t.assign(value=pd.to_numeric(t["value"], errors="coerce"),
                 answer_option=t["answer_option"].str.strip().str.lower())
    key = ["ifp_id", "forecast_id"]
    rows = []
    for (ifp, fid), g in t.groupby(key, sort=False, dropna=False):
        first = g.iloc[0]
        info = kinds.get(str(ifp))
        user = clean(first["user_id"])
        who = None if user is None else f"gjp:{str(user).split('.')[0]}"
        row = {"question": info["qid"] if info else f"gjp-{ifp}", "forecaster": who,
               "made_at": clean(first["timestamp"]), "source_id": f"{ifp}:{fid}", "line": int(g["_line"].min()),
               "probability": float("nan"), "probabilities": None}
        values = dict(zip(g["answer_option"], g["value"], strict=True))
        if info is not None and info["binary"]:
            row["probability"] = values.get("a", float("nan"))
        else:
            row["probabilities"] = {k: float(v) for k, v in values.items()}
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["question", "forecaster", "made_at", "source_id", "line",
                                        "probability", "probabilities"])
    # Forecasting opened before the official start date (year 1 took forecasts on 31 Aug 2011):
    # a question opens at the earlier of its start date and its first forecast.
    first = frame.assign(t=pd.to_datetime(frame["made_at"], errors="coerce")).groupby("question")["t"].min()
    moved = 0
    for q in qs:
        t0 = first.get(q["qid"])
        if t0 is not None and not pd.isna(t0) and not isinstance(q["opens"], str) and q["opens"] is not None \
                and t0.to_pydatetime() < q["opens"]:
            q["opens"] = t0.to_pydatetime()
            moved += 1
    if moved:
        summary.notes.append(f"{moved} question(s) open at their first forecast, before the official start date")
    return load_track_record(ledger, source=SOURCE, questions=qs, forecasts=frame, resolutions=rs,
                             dry_run=dry_run, progress=progress, skip_malformed=skip_malformed,
                             allow_certainty=allow_certainty, summary=summary, question_file=Path(questions).name)
