"""Export the ledger as a complete hubverse hub (hubverse.io): configuration, model metadata,
model output and oracle output, laid out as hubverse's tools read them.

The layout (hubverse-org/hubDocs ``docs/source/user-guide/model-output.md``,
``model-metadata.md``, ``target-data.md``; configuration checked against hubverse-org/schemas
v6.0.0)::

    <hub>/hub-config/admin.json                  hub name, maintainer, file format, time zone
    <hub>/hub-config/tasks.json                  one round, its id taken from ``origin_date``
    <hub>/hub-config/model-metadata-schema.json  the JSON schema of the metadata files
    <hub>/model-metadata/<model_id>.yml          one per forecaster
    <hub>/model-output/<model_id>/<round_id>-<model_id>.csv   (or .parquet)
    <hub>/target-data/oracle-output.csv          (or .parquet)

**Model ids** have hubverse's ``team_abbr-model_abbr`` form, each part letters, digits and
``_``: a forecaster's name prefix becomes the team (``import:metaculus`` ->
``import-metaculus``, ``model:hazard`` -> ``model-hazard``, ``gjp:1234`` -> ``gjp-1234``), a
bare person's name gets the team ``person`` (``ana`` -> ``person-ana``); other characters
become ``_``.  Two forecasters that would share an id are refused, naming both.  Each model's
metadata file keeps the ledger's name (``forecaster``) and kind.

**Rounds** are days: ``round_id`` = ``origin_date`` = the UTC date (``YYYY-MM-DD``) of the
forecast's ``made_at``.  A model output row is ``origin_date``, ``question_id``,
``output_type`` = ``pmf``, ``output_type_id`` (the category: ``yes``/``no`` for a binary
question, the option names, in their order, for a multiple-choice one) and ``value`` (its
probability; the categories of one forecast sum to 1).  A forecaster who forecast one
question several times on one day has **the last forecast of that day** exported (latest
``made_at``, then latest ledger row), so no task appears twice in a round; the earlier ones
are counted by :func:`hubverse_frames` (``same_day_replaced``).  Corrections count as the forecast they
correct; retracted forecasts are not exported.

``tasks.json`` has one round (``round_id_from_variable``) and one model task per set of
categories (all binary questions together; each multiple-choice question with its own
options), with the task ids ``origin_date`` and ``question_id`` (all values optional) and one
target ``outcome`` (``binary``, ``nominal`` or, for ordered options, ``ordinal``).

**Oracle output** is what a forecaster who knew the resolution would have said:
``question_id``, ``output_type`` = ``pmf``, ``output_type_id``, ``oracle_value`` 1 for the
observed category and 0 for the others; questions resolved ``ambiguous`` or ``annulled``,
and unresolved ones, have no oracle rows.

What a hub cannot carry: the time of day of a forecast and the earlier forecasts of a day,
rationales, corrections as such, the questions' titles and dates (only ids), and the
resolution dates.  ``admin.json``'s time zone is ``Africa/Abidjan`` (UTC+0 all year, no
daylight saving), because the schema's list of zones has no ``UTC``; its contact and
repository are placeholders unless given.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecasts import domain
from forecasts.errors import InvalidInput
from forecasts.paths import output_folder

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SCHEMAS = "https://raw.githubusercontent.com/hubverse-org/schemas/main/v6.0.0"
#: UTC+0 all year; the admin schema's zone list has no ``UTC``.
TIMEZONE = "Africa/Abidjan"
_PART_BAD = re.compile(r"[^A-Za-z0-9_]+")
MODEL_ID = re.compile(r"^[A-Za-z0-9_]+-[A-Za-z0-9_]+$")

#: The JSON schema written to ``hub-config/model-metadata-schema.json``.
MODEL_METADATA_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Model metadata of a hub exported by forecasts",
    "type": "object",
    "properties": {
        "team_abbr": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
        "model_abbr": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
        "team_name": {"type": "string"},
        "model_name": {"type": "string"},
        "designated_model": {"type": "boolean"},
        "forecaster": {"type": "string", "description": "The forecaster's name in the ledger."},
        "forecaster_kind": {"type": "string", "enum": list(domain.FORECASTER_KINDS)},
        "imported": {"type": "boolean", "description": "Whether its forecasts came from an import."},
        "model_details": {"type": "object", "properties": {"methods": {"type": "string"}}},
    },
    "required": ["team_abbr", "model_abbr", "team_name", "model_name", "designated_model", "forecaster",
                 "forecaster_kind", "imported"],
    "additionalProperties": False,
}


def _part(text: str) -> str:
    return _PART_BAD.sub("_", text).strip("_") or "x"


def model_id(forecaster: str) -> str:
    """The hubverse ``team_abbr-model_abbr`` id of a forecaster (see the module docstring).

    >>> [model_id(n) for n in ("import:metaculus", "pb:Robin_Z.", "ana", "model:hazard:v2")]
    ['import-metaculus', 'pb-Robin_Z', 'person-ana', 'model-hazard_v2']
    """
    team, sep, rest = str(forecaster).partition(":")
    return f"{_part(team)}-{_part(rest)}" if sep else f"person-{_part(team)}"


def _model_ids(names: list[str]) -> dict[str, str]:
    ids: dict[str, str] = {}
    taken: dict[str, str] = {}
    for name in names:
        mid = model_id(name)
        if mid in taken:
            raise InvalidInput(f"forecasters {taken[mid]!r} and {name!r} would both be hubverse model {mid!r}; "
                               "export one of them (forecaster=...)")
        ids[name], taken[mid] = mid, name
    return ids


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


def admin_config(*, fmt: str, name: str, maintainer: str, contact_email: str, repository: str) -> dict[str, Any]:
    """``admin.json`` (see the module docstring); ``repository`` is ``owner/name`` on GitHub."""
    owner, _, repo = repository.partition("/")
    if not owner or not repo:
        raise InvalidInput(f"hub repository {repository!r} must read OWNER/NAME")
    return {"schema_version": f"{SCHEMAS}/admin-schema.json", "name": name, "maintainer": maintainer,
            "contact": {"name": maintainer, "email": contact_email},
            "repository": {"host": "github", "owner": owner, "name": repo},
            "file_format": [fmt], "timezone": TIMEZONE}


def _yaml(mapping: dict[str, Any]) -> str:
    """A flat YAML mapping; strings are written as JSON strings, which YAML reads as they are."""
    return "".join(f"{k}: {json.dumps(v)}\n" for k, v in mapping.items())


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
