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

**The API's JSON** (a ``.json`` file) is read as JSON, not as a table.  Its shape is
PredictionBook's own serializers (bellroy/predictionbook ``app/serializers/
prediction_serializer.rb``, ``response_serializer.rb``; ``app/controllers/api/``):
``GET /api/predictions`` answers a list of predictions, ``GET /api/predictions/:id`` one
prediction, ``GET /api/my_predictions`` an object ``{"user": {...}, "predictions": [...]}``.
A prediction holds ``id``, ``description`` (the title), ``deadline`` (the "known on" date,
when it closes), ``created_at`` (when it opens), ``updated_at``, ``creator_id``, ``uuid``,
``withdrawn``, ``version``, ``visibility``, ``group_id``, ``prediction_group_id``,
``outcome`` (``true`` right = yes, ``false`` wrong = no, ``null`` not judged, or judged
unknown: both left unresolved) and ``mean_confidence``, with its ``responses``: ``id``,
``confidence`` (a whole percentage 0-100, or ``null`` for a comment without a wager, which is
left out and counted), ``comment`` (kept as the rationale), ``created_at``, ``updated_at``,
``user_id``, ``user_label`` (the user's name or login).  Times are ISO 8601 (the site runs in
UTC).  Any other key is refused, naming it.  Forecasters ``pb:<user_label>`` as for the
tables; a forecast's ``source_id`` is ``response:<id>``, so the JSON and the scraped tables
do not recognise each other's forecasts: import one or the other.  The API does not say when a
prediction was judged: the resolution is dated at the deadline or, when a wager came later
(PredictionBook takes wagers until a judgement), at the last wager; a withdrawn prediction is
``annulled`` at its ``updated_at``.  What the JSON cannot carry: the judgement's time and the
judge, and the prediction's tags.  A JSON file has no lines: malformed rows are listed by
the prediction's position in the answer (1 = the first prediction).
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
    resolutions only.  A ``.json`` file is an API answer (:func:`import_predictionbook_json`)."""
    import pandas as pd

    if Path(path).suffix.lower() == ".json":
        if questions is not None:
            raise InvalidInput("a PredictionBook API answer carries its questions; give no questions file")
        return import_predictionbook_json(ledger, path, dry_run=dry_run, progress=progress,
                                          skip_malformed=skip_malformed, allow_certainty=allow_certainty)

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


#: The keys of PredictionBook's serializers (see the module docstring).
PREDICTION_KEYS = frozenset({"id", "description", "deadline", "created_at", "updated_at", "creator_id", "uuid",
                             "withdrawn", "version", "visibility", "group_id", "prediction_group_id", "outcome",
                             "mean_confidence", "responses"})
RESPONSE_KEYS = frozenset({"comment", "confidence", "created_at", "id", "updated_at", "user_id", "user_label"})


def _api_predictions(data: object, name: str) -> list[dict]:
    """The predictions of an API answer: a list, one prediction, or ``my_predictions``."""
    if isinstance(data, dict) and set(data) == {"user", "predictions"}:
        data = data["predictions"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise InvalidInput(f"{name} is not a PredictionBook API answer (a list of predictions, one prediction, "
                           "or my_predictions' {\"user\", \"predictions\"})")
    for i, d in enumerate(data):
        extra = sorted(set(d) - PREDICTION_KEYS)
        if extra or "id" not in d:
            what = f"unknown field(s) {', '.join(map(repr, extra))}" if extra else "no 'id'"
            raise InvalidInput(f"{name}: prediction {i + 1} has {what} (PredictionBook's prediction_serializer.rb "
                               f"writes {', '.join(sorted(PREDICTION_KEYS))})")
        for r in d.get("responses") or []:
            extra = sorted(set(r) - RESPONSE_KEYS) if isinstance(r, dict) else ["(not an object)"]
            if extra:
                raise InvalidInput(f"{name}: a response of prediction {d['id']} has unknown field(s) "
                                   f"{', '.join(map(repr, extra))} (response_serializer.rb writes "
                                   f"{', '.join(sorted(RESPONSE_KEYS))})")
    return data


def import_predictionbook_json(ledger: Ledger, path: str | Path, *, dry_run: bool = False,
                               progress: Progress = None, skip_malformed: bool = False,
                               allow_certainty: bool = True) -> ImportSummary:
    """Import a PredictionBook API answer (see the module docstring): its predictions as
    questions, their wagers as forecasts, their judgements as resolutions."""
    import pandas as pd

    from forecasts import domain
    from forecasts.sources.generic import read_json

    name = Path(path).name
    preds = _api_predictions(read_json(path), name)
    summary = ImportSummary(source=SOURCE, path=str(path), rows_read=len(preds))
    questions, resolutions, rows = [], [], []
    comments_only = 0
    clock = pd.Timestamp(domain.now())
    for i, d in enumerate(preds):
        line = i + 1  # the prediction's position in the answer
        pid = str(d["id"])
        qid = f"pb-{pid}"
        questions.append({"qid": qid, "title": clean(d.get("description")), "opens": _utc(d.get("created_at")),
                          "closes": _utc(d.get("deadline")), "tags": ["predictionbook"], "by": SOURCE,
                          "source_id": pid, "line": line,
                          "criteria": f"https://predictionbook.com/predictions/{pid}"})
        wagers = []
        for r in d.get("responses") or []:
            if r.get("confidence") is None:
                comments_only += 1
                continue
            made = _utc(r.get("created_at"))
            wagers.append(made)
            who = clean(r.get("user_label")) or clean(r.get("user_id"))
            conf = r.get("confidence")
            rows.append({"question": qid, "forecaster": None if who is None else forecaster_name("pb", who),
                         "made_at": made,
                         "probability": conf / 100.0 if isinstance(conf, int | float) and not isinstance(conf, bool)
                         else float("nan"),
                         "rationale": clean(r.get("comment")), "source_id": f"response:{r.get('id')}",
                         "line": line})
        if d.get("withdrawn") is True:
            resolutions.append({"question": qid, "outcome": "annulled", "on": _utc(d.get("updated_at")),
                                "by": SOURCE, "line": line})
        elif isinstance(d.get("outcome"), bool):
            on = _utc(d.get("deadline"))
            last = max((w for w in wagers if w is not None), default=None)
            if on is None or (last is not None and last > on) or (on > clock):
                on = last or on
            resolutions.append({"question": qid, "outcome": "yes" if d["outcome"] else "no", "on": on,
                                "by": SOURCE, "line": line})
        elif d.get("outcome") is not None:
            raise InvalidInput(f"{name}: prediction {pid} has outcome {d['outcome']!r}; PredictionBook writes "
                               "true, false or null")
    if comments_only:
        summary.filtered["comment_without_confidence"] = comments_only
    frame = pd.DataFrame(rows, columns=["question", "forecaster", "made_at", "probability", "rationale",
                                        "source_id", "line"])
    return load_track_record(ledger, source=SOURCE, questions=questions, forecasts=frame, resolutions=resolutions,
                             dry_run=dry_run, progress=progress, skip_malformed=skip_malformed,
                             allow_certainty=allow_certainty, summary=summary)


def _utc(value: object):
    """An API time (ISO 8601 with offset) as a naive UTC Timestamp; unreadable text is kept
    for the validation to refuse."""
    import pandas as pd

    v = clean(value)
    if v is None:
        return None
    t = pd.to_datetime(pd.Series([v]), errors="coerce", utc=True, format="ISO8601").iloc[0]
    return v if pd.isna(t) else t.tz_convert(None)
