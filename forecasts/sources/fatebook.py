"""Fatebook (fatebook.io): its CSV export, read and written.

Fatebook's "export all" CSV has one row per forecast with the columns (as written by
``lib/web/export.ts`` in the public Sage-Future/fatebook repository): ``Question title``,
``Multiple choice option``, ``Forecast created by``, ``Forecast (scale = 0-1)``,
``Forecast created at``, ``Question created by``, ``Question created at``,
``Question resolve by``, ``Resolution`` (``YES``, ``NO``, ``AMBIGUOUS``; per option for
multiple-choice questions), ``Resolved at``, ``Your Brier score for this question``,
``Your relative Brier score for this question``, ``Question notes``, ``Question shared with``,
``Question shared publicly``, ``Question comments``.  Times are written ``YYYY-MM-DD HH:MM:SS``
and read as UTC.

Import conventions: the export carries no question ids, so a question is identified by its
title and creation time: id ``fatebook-<hash>``, ``source_id`` ``<created at>|<title>``
(truncated).  A question with option rows is multiple choice (options are slugs of the option
texts); one forecast is the rows of one forecaster at one time, which must cover every option
and sum to 1.  Forecasters ``fatebook:<name>``.  Fatebook lets users say 0% and 100%, so
certain forecasts are accepted.  :func:`export_fatebook` writes a ledger in the same format
(the two Brier columns are left empty: the ledger scores differently, time-averaged).
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecasts.errors import InvalidInput
from forecasts.paths import output_file, output_folder
from forecasts.sources.generic import (
    ImportSummary,
    Progress,
    clean,
    forecaster_name,
    load_track_record,
    read_table,
    slug,
)

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SOURCE = "import:fatebook"
COLUMNS = ("Question title", "Multiple choice option", "Forecast created by", "Forecast (scale = 0-1)",
           "Forecast created at", "Question created by", "Question created at", "Question resolve by",
           "Resolution", "Resolved at", "Your Brier score for this question",
           "Your relative Brier score for this question", "Question notes", "Question shared with",
           "Question shared publicly", "Question comments")
_OUTCOME = {"YES": "yes", "NO": "no", "AMBIGUOUS": "ambiguous"}


def _key(title: str, created: str) -> tuple[str, str]:
    digest = hashlib.sha1(f"{created}|{title}".encode()).hexdigest()[:12]
    return f"fatebook-{digest}", f"{created}|{title}"[:200]


def import_fatebook(ledger: Ledger, path: str | Path, *, prefix: str = "fatebook", dry_run: bool = False,
                    progress: Progress = None, skip_malformed: bool = False,
                    allow_certainty: bool = True) -> ImportSummary:
    """Import a Fatebook CSV export (questions, forecasts, resolutions)."""
    import pandas as pd

    t = read_table(path)
    missing = [c for c in COLUMNS[:9] if c not in t.columns]
    if missing:
        raise InvalidInput(f"{Path(path).name} is not a Fatebook export: no column(s) {', '.join(missing)}")
    summary = ImportSummary(source=SOURCE, path=str(path), rows_read=len(t))
    t = t.assign(_title=t["Question title"].fillna("").str.strip(),
                 _created=t["Question created at"].fillna("").str.strip(),
                 _option=t["Multiple choice option"].map(lambda v: clean(v)))
    questions, resolutions, rows = [], [], []
    for (title, created), g in t.groupby(["_title", "_created"], sort=False):
        qid, sid = _key(title, created)
        first = g.iloc[0]
        option_texts = [o for o in pd.unique(g["_option"].dropna())]
        mc = bool(option_texts)
        names = {o: slug(o, limit=60) for o in option_texts}
        questions.append({"qid": qid, "title": title or None, "opens": clean(created), "closes": clean(first["Question resolve by"]),
                          "kind": "multiple_choice" if mc else "binary", "options": list(names.values()) if mc else None,
                          "criteria": clean(first.get("Question notes")), "tags": ["fatebook"],
                          "by": forecaster_name(prefix, first["Question created by"]) if clean(first["Question created by"]) else SOURCE,
                          "source_id": sid, "line": int(g["_line"].min())})
        # resolution: binary from the question's Resolution; multiple choice: the option resolved YES
        res = g.dropna(subset=["Resolution"])
        if len(res):
            if mc:
                yes = res[res["Resolution"].str.upper().str.strip() == "YES"]
                outcome = names.get(yes["_option"].iloc[0]) if len(yes) else (
                    "ambiguous" if (res["Resolution"].str.upper().str.strip() == "AMBIGUOUS").any() else None)
                at = (yes if len(yes) else res)["Resolved at"].iloc[0]
            else:
                word = str(res["Resolution"].iloc[0]).strip().upper()
                outcome, at = _OUTCOME.get(word, word.lower()), res["Resolved at"].iloc[0]
            if outcome:
                resolutions.append({"question": qid, "outcome": outcome, "on": clean(at), "by": SOURCE,
                                    "line": int(res["_line"].iloc[0])})
        if mc:
            for (who, when), f in g.groupby(["Forecast created by", "Forecast created at"], sort=False, dropna=False):
                probs = {names[o]: _number(v) for o, v in zip(f["_option"], f["Forecast (scale = 0-1)"], strict=True) if o in names}
                rows.append({"question": qid, "forecaster": forecaster_name(prefix, who) if clean(who) else None,
                             "made_at": clean(when), "probability": float("nan"), "probabilities": probs,
                             "source_id": f"{qid}:{who}:{when}", "line": int(f["_line"].min())})
        else:
            for r in g.to_dict("records"):
                who, when = r["Forecast created by"], r["Forecast created at"]
                rows.append({"question": qid, "forecaster": forecaster_name(prefix, who) if clean(who) else None,
                             "made_at": clean(when), "probability": _number(r["Forecast (scale = 0-1)"]),
                             "probabilities": None, "source_id": f"{qid}:{who}:{when}", "line": r["_line"]})
    frame = pd.DataFrame(rows, columns=["question", "forecaster", "made_at", "probability", "probabilities",
                                        "source_id", "line"])
    return load_track_record(ledger, source=SOURCE, questions=questions, forecasts=frame,
                             resolutions=resolutions, dry_run=dry_run, progress=progress,
                             skip_malformed=skip_malformed, allow_certainty=allow_certainty, summary=summary)


def _number(v: object) -> float:
    try:
        return float(clean(v))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _stamp(v: Any) -> str:
    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    return pd.Timestamp(v).strftime("%Y-%m-%d %H:%M:%S")


def export_fatebook(ledger: Ledger, path: str | Path, *, as_of: object = None) -> Path:
    """Write the ledger's forecasts as a Fatebook-style CSV export (one row per forecast, one
    per option for multiple-choice questions) to ``path`` (a ``.csv`` file, or a folder that
    gets ``fatebook.csv``); returns the file.  Times are UTC, to the
    second."""
    qs = ledger.questions(as_of)
    fs = ledger.forecasts(as_of)
    rs = ledger.resolutions(as_of)
    out = Path(path)
    if out.is_dir() or out.suffix.lower() != ".csv":  # a folder, as for 'forecasts export OUT'
        out = output_folder(out) / "fatebook.csv"
    out = output_file(out)
    res = {r.question: r for r in rs.itertuples()}
    qmap = {q.id: q for q in qs.itertuples()}
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow(COLUMNS)
        for f in fs.itertuples():
            q = qmap.get(f.question)
            if q is None:
                continue
            r = res.get(f.question)
            base = [q.title]
            tail = [_stamp(f.made_at), q.created_by, _stamp(q.opens_at), _stamp(q.closes_at)]
            notes = [q.criteria or "", "", "false", ""]
            if isinstance(f.probabilities, dict) and f.probabilities:
                for option, p in f.probabilities.items():
                    word = "" if r is None else ("YES" if r.outcome == option else
                                                 "AMBIGUOUS" if r.outcome in ("ambiguous", "annulled") else "NO")
                    w.writerow(base + [option, f.forecaster, repr(float(p))] + tail +
                               [word, _stamp(r.resolved_at) if r is not None else "", "", ""] + notes)
            else:
                word = "" if r is None else {"yes": "YES", "no": "NO"}.get(r.outcome, "AMBIGUOUS")
                w.writerow(base + ["", f.forecaster, repr(float(f.probability))] + tail +
                           [word, _stamp(r.resolved_at) if r is not None else "", "", ""] + notes)
    return out
