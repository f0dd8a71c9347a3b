"""Good Judgment Open and INFER (Cultivate Labs platforms): questions and prediction sets.

Both platforms run on Cultivate Labs' forecasting software, whose API is documented in the
public cultivate-hfc/gfc-api-docs repository (``source/includes/_questions.md``,
``_prediction_sets.md``, commit 9144758).  Two JSON documents are read (each the body of one
page, a list of such bodies for several pages, or the bare list):

* **questions** (``GET /api/v1/questions``): ``{"questions": [...]}`` with ``id``, ``name``
  (the question text), ``type`` -- ``Forecast::Binary::Question`` (one yes/no answer) or
  ``Forecast::Question`` (several answers; any other type is refused by name) --
  ``starts_at``/``published_at``/``created_at``, ``ends_at``, ``resolved_at``, ``voided_at``,
  ``resolved?``, ``use_ordinal_scoring``, ``description``, ``resolution_notes``, and
  ``answers`` (``id``, ``name``; after resolution ``probability`` 1.0 for the answer that
  happened, 0.0 otherwise);
* **prediction sets** (``GET /api/v1/control/prediction_sets``): ``{"prediction_sets":
  [...]}`` with ``id``, ``question_id``, ``created_at``, ``membership_guid`` (one forecaster),
  ``rationale`` and ``predictions`` (``answer_id``, ``forecasted_probability``,
  ``made_after_correctness_known``).

Conventions: question ids ``<platform>-<id>`` (``gjopen-123``, ``infer-123``; ``source_id`` the
platform id); the source is ``import:<platform>``.  A binary question's forecast is the
probability of its one answer; a multi-answer question becomes multiple choice with one option
per answer (slugs of the answer names, in the API's order; ``use_ordinal_scoring`` makes it
ordered) and a prediction set must give every answer.  Forecasters are the persons
``<platform>:<first 12 characters of membership_guid>``.  Resolutions: a voided question
(``voided_at``) is ``annulled`` at that time; a resolved binary question is ``yes`` when its
answer's final ``probability`` is 1 and ``no`` when it is 0; a resolved multi-answer question
resolves to the answer with probability 1.  Predictions flagged
``made_after_correctness_known`` are left out and counted.  Times are ISO 8601 with an offset,
stored as UTC.  Not carried: the consensus (``starting_probability``,
``final_probability``), clarifications, metadata, and answers' own ``ends_at``.
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
    read_json,
    slug,
)

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

PLATFORMS = ("gjopen", "infer")
BINARY = "Forecast::Binary::Question"
MULTI = "Forecast::Question"


def _records(path: str | Path, key: str) -> list[dict]:
    """The objects under ``key`` of one page, a list of pages, or a bare list."""
    data = read_json(path)
    name = Path(path).name
    pages = data if isinstance(data, list) and data and all(isinstance(d, dict) and key in d for d in data) else [data]
    out: list[dict] = []
    for page in pages:
        if isinstance(page, dict):
            if key not in page:
                keys = ", ".join(sorted(map(str, page))[:10]) or "none"
                raise InvalidInput(f"{name} has no {key!r} list (a Cultivate {key.replace('_', ' ')} page); its keys: {keys}")
            items = page[key]
        else:
            items = page
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InvalidInput(f"{name}: {key!r} is not a list of objects")
        out += items
    return out


def _question(q: dict, platform: str, pos: int) -> tuple[dict, dict | None, dict[int, str]]:
    """The ledger question, its resolution (or None) and the answer id -> option map."""
    where = f"question {q.get('id')}"
    kind = q.get("type")
    if kind not in (BINARY, MULTI):
        raise InvalidInput(f"{where} has question type {kind!r}: known types are {BINARY} and {MULTI}")
    answers = q.get("answers")
    if not isinstance(answers, list) or not answers:
        raise InvalidInput(f"{where} has no answers")
    qid = f"{platform}-{q['id']}"
    options: dict[int, str] = {}
    if kind == MULTI:
        for a in answers:
            name = slug(a.get("name"), limit=60)
            options[a["id"]] = name if name not in options.values() else f"{name[:50]}-{a['id']}"
    elif len(answers) != 1:
        raise InvalidInput(f"{where} is {BINARY} but has {len(answers)} answers (one expected)")
    notes = q.get("resolution_notes")
    row = {"qid": qid, "title": clean(q.get("name")), "opens": clean(q.get("starts_at")) or clean(q.get("published_at"))
           or clean(q.get("created_at")), "closes": clean(q.get("ends_at")),
           "kind": "multiple_choice" if kind == MULTI else "binary",
           "options": list(options.values()) if kind == MULTI else None,
           "ordered": bool(q.get("use_ordinal_scoring")) and kind == MULTI,
           "criteria": clean(q.get("description")), "tags": [platform], "by": f"import:{platform}",
           "source_id": str(q["id"]), "line": pos}
    resolution = None
    if clean(q.get("voided_at")) is not None:
        resolution = {"question": qid, "outcome": "annulled", "on": q["voided_at"], "by": f"import:{platform}",
                      "note": "voided on the platform", "line": pos}
    elif q.get("resolved?") or clean(q.get("resolved_at")) is not None:
        final = {a["id"]: a.get("probability") for a in answers}
        if kind == BINARY:
            p = next(iter(final.values()))
            outcome = {1.0: "yes", 0.0: "no"}.get(float(p)) if p is not None else None
        else:
            hits = [options[i] for i, p in final.items() if p is not None and float(p) == 1.0]
            outcome = hits[0] if len(hits) == 1 else None
        if outcome is None:
            raise InvalidInput(f"{where} is resolved but its answers' final probabilities {list(final.values())} "
                               "name no single outcome")
        resolution = {"question": qid, "outcome": outcome, "on": q.get("resolved_at"), "by": f"import:{platform}",
                      "note": "; ".join(map(str, notes)) if isinstance(notes, list) and notes else None, "line": pos}
    return row, resolution, options


def import_cultivate(ledger: Ledger, path: str | Path, *, questions: str | Path | None = None,
                     platform: str = "gjopen", dry_run: bool = False, progress: Progress = None,
                     skip_malformed: bool = False) -> ImportSummary:
    """Import a Cultivate Labs platform's questions and prediction sets (see the module notes).

    ``path`` is a prediction sets JSON (then ``questions`` must give the questions JSON) or a
    questions JSON alone (questions and resolutions only).  ``platform`` (``gjopen`` or
    ``infer``) names the source, question ids and forecasters.  Line numbers are positions in
    the file (1-based), of the prediction set or question.
    """
    import pandas as pd

    if platform not in PLATFORMS:
        raise InvalidInput(f"platform must be one of {', '.join(PLATFORMS)}, not {platform!r}")
    source = f"import:{platform}"
    data = read_json(path)
    is_sets = (isinstance(data, dict) and "prediction_sets" in data) or (
        isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "prediction_sets" in data[0])
    qfile = questions if is_sets else path
    if is_sets and questions is None:
        raise InvalidInput(f"{Path(path).name} holds prediction sets: give the questions JSON with --questions")
    qs = _records(qfile, "questions")  # type: ignore[arg-type]
    sets = _records(path, "prediction_sets") if is_sets else []
    summary = ImportSummary(source=source, path=str(path), rows_read=len(sets) or len(qs))
    q_rows, resolutions, answer_map, kinds = [], [], {}, {}
    for pos, q in enumerate(qs, start=1):
        row, res, options = _question(q, platform, pos)
        q_rows.append(row)
        if res is not None:
            resolutions.append(res)
        answer_map[q["id"]] = options
        kinds[q["id"]] = row["kind"]
    rows, late = [], 0
    for pos, s in enumerate(sets, start=1):
        preds = s.get("predictions")
        if not isinstance(preds, list) or not preds:
            raise InvalidInput(f"{Path(path).name}: prediction set {s.get('id')} (item {pos}) has no predictions")
        if any(bool(p.get("made_after_correctness_known")) for p in preds):
            late += 1
            continue
        qid = s.get("question_id")
        guid = clean(s.get("membership_guid"))
        base = {"question": f"{platform}-{qid}", "forecaster": forecaster_name(platform, str(guid)[:12]) if guid else None,
                "made_at": clean(s.get("created_at")), "rationale": clean(s.get("rationale")),
                "source_id": str(s.get("id")), "line": pos, "probability": float("nan"), "probabilities": None}
        if kinds.get(qid) == "multiple_choice":
            options = answer_map[qid]
            unknown = [p.get("answer_id") for p in preds if p.get("answer_id") not in options]
            if unknown:
                raise InvalidInput(f"prediction set {s.get('id')} (item {pos}) names answer(s) {unknown} that "
                                   f"question {qid} does not have")
            base["probabilities"] = {options[p["answer_id"]]: p.get("forecasted_probability") for p in preds}
        elif kinds.get(qid) == "binary":
            if len(preds) != 1:
                raise InvalidInput(f"prediction set {s.get('id')} (item {pos}) gives {len(preds)} predictions on "
                                   f"binary question {qid} (one expected)")
            base["probability"] = preds[0].get("forecasted_probability")
        rows.append(base)  # an unknown question is named by the shared validation
    if late:
        summary.filtered["made_after_correctness_known"] = late
    frame = pd.DataFrame(rows, columns=["question", "forecaster", "made_at", "probability", "probabilities",
                                        "rationale", "source_id", "line"])
    frame["probability"] = pd.to_numeric(frame["probability"], errors="coerce")
    return load_track_record(ledger, source=source, questions=q_rows, forecasts=frame, resolutions=resolutions,
                             dry_run=dry_run, progress=progress, skip_malformed=skip_malformed, summary=summary,
                             question_file=Path(qfile).name if is_sets else None)  # type: ignore[arg-type]
