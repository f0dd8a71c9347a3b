"""The interchange exporters as they were before they were made column-wise (commit ab37794),
row by row, kept as the reference the column-wise ones must equal: byte for byte for CSV, value
for value for Parquet.  Copied unchanged but for their imports; the helpers that did not change
(model ids, ``admin.json``, the metadata YAML, the spreadsheet guard) are the modules' own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from forecasts import domain
from forecasts.errors import InvalidInput
from forecasts.ledger import Ledger
from forecasts.ledger.sql import csv_guard
from forecasts.paths import is_folder, output_file, output_folder
from forecasts.sources.fatebook import COLUMNS, MARKER, TAGS_SEPARATOR
from forecasts.sources.hubverse import MODEL_METADATA_SCHEMA, SCHEMAS, _model_ids, _part, _yaml, admin_config


def hubverse_frames(ledger: Ledger, *, as_of: object = None, forecaster: str | None = None) -> tuple[Any, Any, int]:
    """``(model_output, oracle_output, same_day_replaced)``: the model output of every
    forecaster (with a ``model_id`` column, as hubverse's ``collect_hub`` adds it), one row
    per category of the last forecast of each forecaster, question and day; the oracle
    output; and how many earlier same-day forecasts were left out."""
    import pandas as pd

    qs = ledger.questions(as_of)
    fs = ledger.forecasts(as_of, forecaster=forecaster)
    rs = ledger.resolutions(as_of)
    kind = dict(zip(qs["id"], qs["kind"], strict=True))
    options = dict(zip(qs["id"], qs["options"], strict=True))
    ids = _model_ids(sorted(set(fs["forecaster"]))) if len(fs) else {}
    fs = fs.assign(origin_date=pd.to_datetime(fs["made_at"]).dt.strftime("%Y-%m-%d"))
    order = [c for c in ("made_at", "seq") if c in fs.columns]
    last = fs.sort_values(order).drop_duplicates(["forecaster", "question", "origin_date"], keep="last")
    replaced = len(fs) - len(last)
    rows = []
    for f in last.sort_values(["forecaster", "origin_date", "question"]).itertuples():
        mid = ids[f.forecaster]
        if kind.get(f.question) == "binary":
            p = float(f.probability)
            rows.append((mid, f.origin_date, f.question, "pmf", "yes", p))
            rows.append((mid, f.origin_date, f.question, "pmf", "no", 1.0 - p))
        elif isinstance(f.probabilities, dict):
            for option in options[f.question] or []:
                rows.append((mid, f.origin_date, f.question, "pmf", option, float(f.probabilities[option])))
    model = pd.DataFrame(rows, columns=["model_id", "origin_date", "question_id", "output_type",
                                        "output_type_id", "value"])
    oracle = []
    for r in rs.itertuples():
        if r.outcome in domain.VOID_OUTCOMES or r.question not in kind:
            continue
        cats = ["yes", "no"] if kind[r.question] == "binary" else list(options[r.question] or [])
        for c in cats:
            oracle.append((r.question, "pmf", c, 1.0 if c == r.outcome else 0.0))
    oracle_df = pd.DataFrame(oracle, columns=["question_id", "output_type", "output_type_id", "oracle_value"])
    return model, oracle_df, replaced


def tasks_config(model: Any, questions: Any) -> dict[str, Any]:
    """``tasks.json`` for a model output frame (see the module docstring)."""
    kind = dict(zip(questions["id"], questions["kind"], strict=True))
    ordered = dict(zip(questions["id"], questions["ordered"], strict=True)) if "ordered" in questions else {}
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for qid, g in model.groupby("question_id", sort=True):
        cats = tuple(g["output_type_id"].drop_duplicates().tolist())
        if kind.get(qid) == "binary":
            cats = ("yes", "no")
        key = ("binary",) if kind.get(qid) == "binary" else (str(qid),)
        group = groups.setdefault(key, {"questions": [], "dates": set(), "cats": cats,
                                        "type": "binary" if kind.get(qid) == "binary"
                                        else ("ordinal" if ordered.get(qid) else "nominal")})
        group["questions"].append(str(qid))
        group["dates"].update(g["origin_date"].tolist())
    tasks = []
    for n, (key, g) in enumerate(sorted(groups.items())):
        target = "outcome" if key == ("binary",) else f"outcome_{n}"
        tasks.append({
            "task_ids": {"origin_date": {"required": None, "optional": sorted(g["dates"])},
                         "question_id": {"required": None, "optional": g["questions"]}},
            "output_type": {"pmf": {"output_type_id": {"required": list(g["cats"])},
                                    "value": {"type": "double", "minimum": 0, "maximum": 1},
                                    "is_required": True}},
            "target_metadata": [{"target_id": target,
                                 "target_name": "Binary question outcome" if key == ("binary",)
                                 else f"Outcome of question {key[0]}"[:100],
                                 "target_units": "category", "target_keys": None, "target_type": g["type"],
                                 "is_step_ahead": False}],
        })
    return {"schema_version": f"{SCHEMAS}/tasks-schema.json",
            "rounds": [{"round_id_from_variable": True, "round_id": "origin_date", "model_tasks": tasks,
                        "submissions_due": {"relative_to": "origin_date", "start": 0, "end": 0}}],
            "output_type_id_datatype": "character", "derived_task_ids": None}


def export_hubverse(ledger: Ledger, path: str | Path, *, fmt: str = "csv", as_of: object = None,
                    forecaster: str | None = None, name: str = "forecasts ledger export",
                    maintainer: str | None = None, contact_email: str | None = None,
                    repository: str | None = None) -> dict[str, Path]:
    """Write a complete hub into the folder ``path`` (``fmt``: ``csv`` or ``parquet``); returns
    the files written, by role (``admin``, ``tasks``, ``model_metadata_schema``,
    ``metadata:<model_id>``, ``output:<model_id>:<round_id>``, ``oracle_output``).

    ``maintainer`` defaults to the ledger's user (``FORECASTS_USER`` or the OS user);
    ``contact_email`` to ``<maintainer>@example.invalid`` and ``repository`` to
    ``<maintainer>/<folder name>``, placeholders to replace before publishing the hub.
    CSV writes missing values as ``NA``, as hubverse tools expect."""
    if fmt not in ("csv", "parquet"):
        raise InvalidInput("hubverse export format must be csv or parquet")
    folder = output_folder(path)
    model, oracle, _replaced = hubverse_frames(ledger, as_of=as_of, forecaster=forecaster)
    if model.empty:
        raise InvalidInput("no forecasts to export: a hub needs at least one model output file")
    who = maintainer or domain.parse_forecaster(None)
    files: dict[str, Path] = {}

    config = folder / "hub-config"
    config.mkdir(parents=True, exist_ok=True)
    contents = {
        "admin": admin_config(fmt=fmt, name=name, maintainer=who,
                              contact_email=contact_email or f"{_part(who)}@example.invalid",
                              repository=repository or f"{_part(who)}/{_part(folder.name)}"),
        "tasks": tasks_config(model, ledger.questions(as_of)),
        "model_metadata_schema": MODEL_METADATA_SCHEMA,
    }
    for role, data in contents.items():
        target = config / ("model-metadata-schema.json" if role == "model_metadata_schema" else f"{role}.json")
        target.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        files[role] = target

    fs = ledger.forecasts(as_of, forecaster=forecaster)
    sources = fs.groupby("forecaster")["source"].agg(lambda s: bool(s.astype(str).str.startswith("import:").any()))
    meta = folder / "model-metadata"
    meta.mkdir(exist_ok=True)
    ids = _model_ids(sorted(sources.index))
    for person, mid in ids.items():
        team, model_abbr = mid.split("-", 1)
        target = meta / f"{mid}.yml"
        target.write_text(_yaml({"team_abbr": team, "model_abbr": model_abbr, "team_name": team,
                                 "model_name": person, "designated_model": False, "forecaster": person,
                                 "forecaster_kind": domain.forecaster_kind(person),
                                 "imported": bool(sources[person])}), encoding="utf-8")
        files[f"metadata:{mid}"] = target

    out = folder / "model-output"
    for (mid, round_id), g in model.groupby(["model_id", "origin_date"], sort=True):
        d = out / str(mid)
        d.mkdir(parents=True, exist_ok=True)
        target = d / f"{round_id}-{mid}.{fmt}"
        _write(g.drop(columns=["model_id"]), target, fmt)
        files[f"output:{mid}:{round_id}"] = target

    target_data = folder / "target-data"
    target_data.mkdir(exist_ok=True)
    files["oracle_output"] = target_data / f"oracle-output.{fmt}"
    _write(oracle, files["oracle_output"], fmt)
    return files


def _write(frame: Any, target: Path, fmt: str) -> None:
    frame = frame.astype({"output_type_id": "string"}).reset_index(drop=True)
    if fmt == "csv":
        frame.to_csv(target, index=False, na_rep="NA", float_format="%.17g")
    else:
        frame.to_parquet(target, index=False)



def _stamp(v: Any) -> str:
    """A time in Fatebook's format (``2021-02-05 00:00:0``: seconds not zero-padded, cut to the
    second); empty for a missing time."""
    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    t = pd.Timestamp(v)
    return f"{t:%Y-%m-%d %H:%M}:{t.second}"


def _quote(text: object) -> str:
    """A text cell as Fatebook's ``printForCsv`` writes it (always quoted, quotes doubled), and
    guarded so that no spreadsheet reads it as a formula (:func:`forecasts.ledger.sql.csv_guard`;
    the import takes the guard off again for a file this export wrote)."""
    return '"' + csv_guard(str(text)).replace('"', '""') + '"'


def export_fatebook(ledger: Ledger, path: str | Path, *, as_of: object = None) -> Path:
    """Write the ledger's forecasts as a Fatebook CSV export (see the module notes): one row per
    forecast, one per option for a multiple-choice forecast, to ``path`` (a ``.csv`` file, or a
    folder that gets ``fatebook.csv``); returns the file.  Times are UTC, cut to the second.

    A ledger tag that starts with ``ledger:`` (the marker prefix) is refused.
    """
    qs = ledger.questions(as_of)
    fs = ledger.forecasts(as_of)
    rs = ledger.resolutions(as_of)
    out = Path(path)
    if is_folder(out) or out.suffix.lower() != ".csv":  # a folder, as for 'forecasts export OUT'
        out = output_folder(out) / "fatebook.csv"
    res = {r.question: r for r in rs.itertuples()}
    qmap = {q.id: q for q in qs.itertuples()}
    lines = [",".join(COLUMNS)]
    for f in fs.itertuples():
        q = qmap.get(f.question)
        if q is None:
            continue
        tags = [str(tag) for tag in (q.tags if isinstance(q.tags, list) else [])]
        clash = [tag for tag in tags if tag.startswith(MARKER)]
        if clash:
            raise InvalidInput(f"question {q.id!r} has tag {clash[0]!r}: the prefix {MARKER!r} is reserved "
                               "for the export's marker tags")
        tags += [f"{MARKER}id={q.id}", *([f"{MARKER}ordered"] if bool(q.ordered) else [])]
        r = res.get(f.question)
        resolved = _stamp(r.resolved_at) if r is not None else ""
        tail = [_stamp(f.made_at), _quote(q.created_by), _stamp(q.opens_at), _stamp(q.closes_at)]
        notes = [_quote(q.criteria) if isinstance(q.criteria, str) and q.criteria else "", "", "false", "",
                 _quote(TAGS_SEPARATOR.join(tags))]
        if isinstance(f.probabilities, dict) and f.probabilities:
            for option, p in f.probabilities.items():
                word = "" if r is None else ("YES" if r.outcome == option else
                                             "AMBIGUOUS" if r.outcome in domain.VOID_OUTCOMES else "NO")
                lines.append(",".join([_quote(q.title), _quote(option), _quote(f.forecaster), repr(float(p)), *tail,
                                       _quote(word) if word else "", resolved if word else "", "", "", *notes]))
        else:
            word = "" if r is None else {"yes": "YES", "no": "NO"}.get(r.outcome, "AMBIGUOUS")
            lines.append(",".join([_quote(q.title), "", _quote(f.forecaster), repr(float(f.probability)), *tail,
                                   _quote(word) if word else "", resolved if word else "", "", "", *notes]))
    out = output_file(out)
    out.write_text("\n".join(lines), encoding="utf-8")
    return out
