"""PredictionBook (predictionbook.com, 2008 on): personal predictions with their outcomes.

Inputs (as collected in niplav/iqisa):

* ``predictionbook_forecasts.parquet``: one row per forecast -- ``question_id``, ``user_id``,
  ``probability``, ``timestamp``, ``outcome`` (1 right, 0 wrong, -1 unknown, empty while
  open), ``open_time``, ``close_time`` (the "known on" date), ``resolve_time``, ``q_status``;
* ``predictionbook_questions.parquet``: one row per question with its title ``q_title`` and the
  same times and outcome.

Conventions: question ids ``pb-<id>``; forecasters ``pb:<user>`` (accents dropped, characters a
forecaster name cannot hold replaced by ``_``; the original name stays in the forecast's
``source_id``, ``<question_id>:<user>:<UTC time>``, with ``#2``... for repeats).  PredictionBook
lets users state 0% and 100%, so certain forecasts are accepted (``allow_certainty=True``; the
log score flags them).  Outcomes ``yes``/``no``/``ambiguous`` at the resolve time.  Questions
whose "known on" date precedes their creation, and forecasts made after it, break the ledger's
open-period rule: they are malformed rows (use ``skip_malformed`` to import the rest).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from forecasts.errors import InvalidInput
from forecasts.sources.generic import (
    ImportSummary,
    Progress,
    clean,
    forecaster_name,
    load_track_record,
    read_table,
    to_utc,
)

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SOURCE = "import:predictionbook"
_OUTCOMES = {1.0: "yes", 0.0: "no", -1.0: "ambiguous"}


def _question_rows(t, titles: dict[str, str]) -> tuple[list[dict], list[dict]]:
    import pandas as pd

    questions, resolutions = [], []
    first = t.drop_duplicates("_qid", keep="first")
    outcome = pd.to_numeric(first["outcome"], errors="coerce") if "outcome" in first.columns else None
    for i, r in enumerate(first.to_dict("records")):
        pid = r["_qid"]
        qid = f"pb-{pid}"
        title = titles.get(pid) or clean(r.get("q_title")) or f"PredictionBook question {pid}"
        questions.append({"qid": qid, "title": str(title), "opens": r["open_time"], "closes": r["close_time"],
                          "tags": ["predictionbook"], "by": SOURCE, "source_id": pid, "line": r["_line"],
                          "criteria": f"https://predictionbook.com/predictions/{pid}"})
        o = None if outcome is None else outcome.iloc[i]
        if o is not None and o == o and clean(r.get("resolve_time")) is not None:
            resolutions.append({"question": qid, "outcome": _OUTCOMES.get(float(o), str(o)),
                                "on": r["resolve_time"], "by": SOURCE, "line": r["_line"]})
    return questions, resolutions


def _prepare(path: str | Path):
    t = read_table(path)
    if "question_id" not in t.columns:
        raise InvalidInput(f"{Path(path).name} has no 'question_id' column (a PredictionBook file)")
    t["_qid"] = t["question_id"].astype(str).str.split(".").str[0]
    for c in ("open_time", "close_time", "resolve_time", "timestamp"):
        if c in t.columns:
            t[c] = to_utc(t[c])
    return t


def import_predictionbook(ledger: Ledger, path: str | Path, *, questions: str | Path | None = None,
                          dry_run: bool = False, progress: Progress = None, skip_malformed: bool = False,
                          allow_certainty: bool = True) -> ImportSummary:
    """Import PredictionBook forecasts (``path`` = the forecasts file; ``questions`` = the
    questions file for titles) or, if ``path`` is the questions file, questions and
    resolutions only."""
    import pandas as pd

    t = _prepare(path)
    summary = ImportSummary(source=SOURCE, path=str(path), rows_read=len(t))
    if "user_id" not in t.columns:  # the questions file
        qs, rs = _question_rows(t, {})
        return load_track_record(ledger, source=SOURCE, questions=qs, resolutions=rs, dry_run=dry_run,
                                 progress=progress, skip_malformed=skip_malformed, summary=summary)
    titles = {}
    if questions is not None:
        qt = _prepare(questions)
        if "q_title" not in qt.columns:
            raise InvalidInput(f"{Path(questions).name} has no 'q_title' column (the PredictionBook questions file)")
        titles = dict(zip(qt["_qid"], qt["q_title"], strict=True))
    qs, rs = _question_rows(t, titles)
    users = t["user_id"].astype(object)
    names = {u: (None if clean(u) is None else forecaster_name("pb", u)) for u in pd.unique(users)}
    renamed = sum(1 for u, n in names.items() if n is not None and n != f"pb:{u}")
    if renamed:
        summary.notes.append(f"{renamed} user name(s) changed to fit forecaster names (see source_id)")
    stamp = t["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    sid = t["_qid"] + ":" + users.astype(str) + ":" + stamp.astype(str)
    rank = sid.groupby(sid).cumcount()
    sid = sid.where(rank == 0, sid + "#" + (rank + 1).astype(str))
    frame = pd.DataFrame({"question": ("pb-" + t["_qid"]).to_numpy(), "forecaster": users.map(names).to_numpy(),
                          "made_at": t["timestamp"].to_numpy(),
                          "probability": pd.to_numeric(t["probability"], errors="coerce").to_numpy(dtype=float),
                          "source_id": sid.to_numpy(), "line": t["_line"].to_numpy()})
    return load_track_record(ledger, source=SOURCE, questions=qs, forecasts=frame, resolutions=rs,
                             dry_run=dry_run, progress=progress, skip_malformed=skip_malformed,
                             allow_certainty=allow_certainty, summary=summary)
