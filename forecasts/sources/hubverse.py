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

**Rounds** are days by default: ``round_id`` = ``origin_date`` = the UTC date (``YYYY-MM-DD``)
of the forecast's ``made_at``.  Coarser rounds (``rounds``, :data:`ROUNDS`) are weeks (ISO weeks,
Monday to Sunday; ``origin_date`` is the Sunday) or calendar months (``origin_date`` is the
month's last day): a round's date is its last day, so every forecast a round holds was made on
or before its ``origin_date``.  A model output row is ``origin_date``, ``question_id``,
``output_type`` = ``pmf``, ``output_type_id`` (the category: ``yes``/``no`` for a binary
question, the option names, in their order, for a multiple-choice one) and ``value`` (its
probability; the categories of one forecast sum to 1).  A forecaster who forecast one
question several times in one round has **the last forecast of that round** exported (latest
``made_at``, then latest ledger row), so no task appears twice in a round; the earlier ones
are counted by :func:`hubverse_frames` (``replaced``).  Corrections count as the forecast they
correct; retracted forecasts are not exported.

One file per model and round is what the format means: a track record of forecasts on
hundreds of days per forecaster makes hundreds of files per model (about one per forecast at
the sizes of ``benchmarks/bench_scale.py``).  The rows are built column-wise and sorted once;
each file is written from one pre-formatted block of bytes (CSV: values with 17 significant
digits, missing values ``NA``; Parquet: the columns as pandas would write them), a block of
rows at a time (:data:`~forecasts.sources.csv_text.BLOCK_ROWS`).

``tasks.json`` has one round (``round_id_from_variable``) and one model task per set of
categories (all binary questions together; each multiple-choice question with its own
options), with the task ids ``origin_date`` and ``question_id`` (all values optional) and one
target ``outcome`` (``binary``, ``nominal`` or, for ordered options, ``ordinal``).

**Oracle output** is what a forecaster who knew the resolution would have said:
``question_id``, ``output_type`` = ``pmf``, ``output_type_id``, ``oracle_value`` 1 for the
observed category and 0 for the others; questions resolved ``ambiguous`` or ``annulled``,
and unresolved ones, have no oracle rows.

What a hub cannot carry: the time of day of a forecast and the earlier forecasts of a round,
rationales, corrections as such, the questions' titles and dates (only ids), and the
resolution dates.  ``admin.json``'s time zone is ``Africa/Abidjan`` (UTC+0 all year, no
daylight saving), because the schema's list of zones has no ``UTC``; its contact and
repository are placeholders unless given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecasts import domain
from forecasts.errors import InvalidInput
from forecasts.paths import output_folder
from forecasts.sources import csv_text

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SCHEMAS = "https://raw.githubusercontent.com/hubverse-org/schemas/main/v6.0.0"
#: UTC+0 all year; the admin schema's zone list has no ``UTC``.
TIMEZONE = "Africa/Abidjan"
_PART_BAD = re.compile(r"[^A-Za-z0-9_]+")
#: The rounds a hub can have: one per UTC day (the default), ISO week or calendar month.
ROUNDS = ("day", "week", "month")
#: The columns of a model output file, in order.
OUTPUT_COLUMNS = ("origin_date", "question_id", "output_type", "output_type_id", "value")
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


def round_dates(made_at: Any, rounds: str = "day") -> Any:
    """The round (its ``origin_date``, as ``datetime64[D]``) of forecasts made at ``made_at``
    (naive UTC): the day; the Sunday that ends the ISO week; the last day of the month.

    >>> import numpy as np
    >>> made = np.array(["2021-02-01T00:00", "2021-02-07T23:59", "2021-02-08T09:00"], dtype="datetime64[us]")
    >>> [str(d) for d in round_dates(made, "week")], [str(d) for d in round_dates(made, "month")]
    (['2021-02-07', '2021-02-07', '2021-02-14'], ['2021-02-28', '2021-02-28', '2021-02-28'])
    """
    import numpy as np

    _check_rounds(rounds)
    days = np.asarray(made_at, dtype="datetime64[us]").astype("datetime64[D]")  # floors, as a date does
    day = np.timedelta64(1, "D")
    if rounds == "week":  # 1970-01-01 was a Thursday (ISO weekday 3, counting Monday as 0)
        return days + (6 - (days.astype(np.int64) + 3) % 7) * day
    if rounds == "month":
        return (days.astype("datetime64[M]") + np.timedelta64(1, "M")).astype("datetime64[D]") - day
    return days


def _check_rounds(rounds: str) -> None:
    if rounds not in ROUNDS:
        raise InvalidInput(f"hubverse rounds must be one of {', '.join(ROUNDS)}, not {rounds!r}")


def _sorted_codes(values: Any) -> tuple[Any, list[str]]:
    """Codes of a text column into its distinct values sorted (so codes sort as the text does)."""
    import pandas as pd

    codes, distinct = pd.factorize(values, sort=True, use_na_sentinel=False)
    return codes, [str(v) for v in distinct]


def _last_of_round(keys: Any, made_at: Any) -> Any:
    """Row positions of the last forecast (latest ``made_at``, then the latest row: ``keys``
    come in ledger order) of each distinct key, ordered by key: one stable sort, then runs."""
    import numpy as np

    order = np.argsort(keys, kind="stable")
    ks, made = keys[order], made_at[order]
    start = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    length = np.diff(np.r_[start, len(ks)])
    latest = made == np.repeat(np.maximum.reduceat(made, start), length)
    run = np.repeat(np.arange(len(start)), length)[latest]
    return order[np.flatnonzero(latest)[np.r_[run[1:] != run[:-1], True]]]


def _model_output(fs: Any, qs: Any, rounds: str) -> tuple[Any, int]:
    """The model output (see :func:`hubverse_frames`) with categorical columns, in
    ``(model_id, origin_date, question_id)`` order, each forecast's categories in order;
    and how many earlier forecasts of a round it leaves out."""
    import numpy as np
    import pandas as pd

    if not fs["seq"].is_monotonic_increasing:
        fs = fs.sort_values("seq", kind="stable")
    f_code, forecasters = _sorted_codes(fs["forecaster"])
    q_code, questions = _sorted_codes(fs["question"])
    r_code, r_days = pd.factorize(round_dates(fs["made_at"], rounds).astype(np.int64), sort=True)
    model_ids = list(_model_ids(forecasters).values())
    sizes = (len(forecasters), len(r_days), len(questions))
    if sizes[0] * sizes[1] * sizes[2] < 2**62:  # one number per (forecaster, round, question)
        keys = (f_code.astype(np.int64) * sizes[1] + r_code) * sizes[2] + q_code
    else:  # too many for one number: their rank in (forecaster, round, question) order
        order = np.lexsort((q_code, r_code, f_code))
        f, r, q = f_code[order], r_code[order], q_code[order]
        keys = np.empty(len(fs), np.int64)
        keys[order] = np.cumsum(np.r_[True, (f[1:] != f[:-1]) | (r[1:] != r[:-1]) | (q[1:] != q[:-1])])
    last = _last_of_round(keys, fs["made_at"].to_numpy("datetime64[us]").view(np.int64))

    kind = dict(zip(qs["id"], qs["kind"], strict=True))
    options = dict(zip(qs["id"], qs["options"], strict=True))
    binary = np.array([kind.get(q) == "binary" for q in questions], dtype=bool)
    cats = [["yes", "no"] if b else list(options.get(q) or []) for q, b in zip(questions, binary, strict=True)]
    categories = sorted({c for cs in cats for c in cs})
    where = {c: i for i, c in enumerate(categories)}
    cat_start = np.cumsum([0] + [len(cs) for cs in cats])
    cat_flat = np.array([where[c] for cs in cats for c in cs], dtype=np.int64)

    q_last = q_code[last]
    b_last = binary[q_last]
    probabilities = fs["probabilities"].to_numpy(dtype=object)[last]
    mc = np.flatnonzero(~b_last & pd.notna(probabilities))
    counts = np.where(b_last, 2, 0)
    counts[mc] = np.diff(cat_start)[q_last[mc]]
    row = np.repeat(np.arange(len(last)), counts)
    pos = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    value = np.empty(len(row))
    on_binary = b_last[row]
    p = fs["probability"].to_numpy(dtype=np.float64)[last][row[on_binary]]
    value[on_binary] = np.where(pos[on_binary] == 0, p, 1.0 - p)
    value[~on_binary] = [float(d[o]) for d, q in zip(probabilities[mc], q_last[mc], strict=True) for o in cats[q]]
    codes = {"model_id": f_code[last][row], "origin_date": r_code[last][row], "question_id": q_last[row],
             "output_type": np.zeros(len(row), np.int8), "output_type_id": cat_flat[cat_start[q_last[row]] + pos]}
    names = {"model_id": model_ids, "origin_date": [str(d) for d in r_days.astype("datetime64[D]")],
             "question_id": questions, "output_type": ["pmf"], "output_type_id": categories}
    model = pd.DataFrame({c: pd.Categorical.from_codes(codes[c], categories=names[c]) for c in codes})
    model["value"] = value
    return model, len(fs) - len(last)


def _oracle_output(rs: Any, qs: Any) -> Any:
    import pandas as pd

    kind = dict(zip(qs["id"], qs["kind"], strict=True))
    options = dict(zip(qs["id"], qs["options"], strict=True))
    oracle = []
    for r in rs.itertuples():
        if r.outcome in domain.VOID_OUTCOMES or r.question not in kind:
            continue
        cats = ["yes", "no"] if kind[r.question] == "binary" else list(options[r.question] or [])
        for c in cats:
            oracle.append((r.question, "pmf", c, 1.0 if c == r.outcome else 0.0))
    return pd.DataFrame(oracle, columns=["question_id", "output_type", "output_type_id", "oracle_value"])


def hubverse_frames(ledger: Ledger, *, as_of: object = None, forecaster: str | None = None,
                    rounds: str = "day") -> tuple[Any, Any, int]:
    """``(model_output, oracle_output, replaced)``: the model output of every forecaster (with
    a ``model_id`` column, as hubverse's ``collect_hub`` adds it), one row per category of the
    last forecast of each forecaster, question and round (``rounds``: ``day``, ``week`` or
    ``month``), in ``(model_id, origin_date, question_id)`` order; the oracle output; and how
    many earlier forecasts of a round were left out."""
    import pandas as pd

    _check_rounds(rounds)
    qs = ledger.questions(as_of)
    fs = ledger.forecasts(as_of, forecaster=forecaster)
    oracle = _oracle_output(ledger.resolutions(as_of), qs)
    if not len(fs):
        return pd.DataFrame([], columns=["model_id", *OUTPUT_COLUMNS]), oracle, 0
    model, replaced = _model_output(fs, qs, rounds)
    return model.astype({c: "str" for c in model.columns if c != "value"}), oracle, replaced


def tasks_config(model: Any, questions: Any) -> dict[str, Any]:
    """``tasks.json`` for a model output frame (see the module docstring): one pass over its
    distinct (question, date) and (question, category) pairs, not a group per question."""
    import numpy as np
    import pandas as pd

    kind = dict(zip(questions["id"], questions["kind"], strict=True))
    ordered = dict(zip(questions["id"], questions["ordered"], strict=True)) if "ordered" in questions else {}
    q_code, qids = _sorted_codes(model["question_id"])
    d_code, dates = _sorted_codes(model["origin_date"])
    c_code, cat_names = pd.factorize(model["output_type_id"], use_na_sentinel=False)
    binary = np.array([kind.get(q) == "binary" for q in qids], dtype=bool)
    # each question's dates, sorted; each question's categories, in the order they first appear
    n_dates, n_cats = max(len(dates), 1), max(len(cat_names), 1)
    pair_q, pair_d = np.divmod(np.sort(pd.unique(q_code.astype(np.int64) * n_dates + d_code)), n_dates)
    seen = pd.unique(q_code.astype(np.int64) * n_cats + c_code)  # in the order they first appear
    seen_q, seen_c = np.divmod(seen[np.argsort(seen // n_cats, kind="stable")], n_cats)
    date_at = np.searchsorted(pair_q, np.arange(len(qids) + 1))
    cat_at = np.searchsorted(seen_q, np.arange(len(qids) + 1))
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    if binary.any():
        groups[("binary",)] = {"questions": [q for q, b in zip(qids, binary, strict=True) if b],
                               "dates": {dates[d] for d in np.unique(pair_d[binary[pair_q]])},
                               "cats": ("yes", "no"), "type": "binary"}
    for i in np.flatnonzero(~binary):
        qid = qids[i]
        groups[(qid,)] = {"questions": [qid], "dates": {dates[d] for d in pair_d[date_at[i]:date_at[i + 1]]},
                          "cats": tuple(str(cat_names[c]) for c in seen_c[cat_at[i]:cat_at[i + 1]]),
                          "type": "ordinal" if ordered.get(qid) else "nominal"}
    return _tasks_json(groups)


def _tasks_json(groups: dict[tuple[str, ...], dict[str, Any]]) -> dict[str, Any]:
    """``tasks.json`` from its groups of questions: ``("binary",)`` or ``(question id,)`` ->
    ``questions``, ``dates``, ``cats`` (categories) and ``type`` (the target type)."""
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
                    repository: str | None = None, rounds: str = "day") -> HubFiles:
    """Write a complete hub into the folder ``path`` (``fmt``: ``csv`` or ``parquet``; ``rounds``:
    ``day``, ``week`` or ``month``, see the module docstring); returns the files written, by
    role (``admin``, ``tasks``, ``model_metadata_schema``, ``metadata:<model_id>``,
    ``output:<model_id>:<round_id>``, ``oracle_output``), in the order written.

    ``maintainer`` defaults to the ledger's user (``FORECASTS_USER`` or the OS user);
    ``contact_email`` to ``<maintainer>@example.invalid`` and ``repository`` to
    ``<maintainer>/<folder name>``, placeholders to replace before publishing the hub.
    CSV writes missing values as ``NA``, as hubverse tools expect."""
    import pandas as pd

    if fmt not in ("csv", "parquet"):
        raise InvalidInput("hubverse export format must be csv or parquet")
    _check_rounds(rounds)
    folder = output_folder(path)
    qs, rs = ledger.questions(as_of), ledger.resolutions(as_of)
    fs = ledger.forecasts(as_of, forecaster=forecaster)
    model, _replaced = _model_output(fs, qs, rounds) if len(fs) else (pd.DataFrame(), 0)
    if model.empty:
        raise InvalidInput("no forecasts to export: a hub needs at least one model output file")
    imported = _imported(fs)
    del fs  # the largest thing held: the files are written from ``model``
    who = maintainer or domain.parse_forecaster(None)
    admin = admin_config(fmt=fmt, name=name, maintainer=who,
                         contact_email=contact_email or f"{_part(who)}@example.invalid",
                         repository=repository or f"{_part(who)}/{_part(folder.name)}")
    files = _write_config(folder, admin, tasks_config(model, qs)) | _write_metadata(folder, imported)
    written = _write_model_output(model, folder / "model-output", fmt)
    return HubFiles(files, written, {"oracle_output": _write_oracle(folder, _oracle_output(rs, qs), fmt)})


def _write_config(folder: Path, admin: dict[str, Any], tasks: dict[str, Any]) -> dict[str, Path]:
    """``hub-config/``: ``admin.json``, ``tasks.json`` and the model metadata schema."""
    config = folder / "hub-config"
    config.mkdir(parents=True, exist_ok=True)
    files = {}
    for role, data in {"admin": admin, "tasks": tasks, "model_metadata_schema": MODEL_METADATA_SCHEMA}.items():
        target = config / ("model-metadata-schema.json" if role == "model_metadata_schema" else f"{role}.json")
        target.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        files[role] = target
    return files


def _write_metadata(folder: Path, imported: dict[str, bool]) -> dict[str, Path]:
    """``model-metadata/<model_id>.yml`` for each forecaster (in ``imported``, sorted by name,
    with whether any of its forecasts was imported)."""
    meta = folder / "model-metadata"
    meta.mkdir(exist_ok=True)
    files = {}
    for (person, mid), was_imported in zip(_model_ids(list(imported)).items(), imported.values(), strict=True):
        team, model_abbr = mid.split("-", 1)
        target = meta / f"{mid}.yml"
        target.write_text(_yaml({"team_abbr": team, "model_abbr": model_abbr, "team_name": team,
                                 "model_name": person, "designated_model": False, "forecaster": person,
                                 "forecaster_kind": domain.forecaster_kind(person),
                                 "imported": bool(was_imported)}), encoding="utf-8")
        files[f"metadata:{mid}"] = target
    return files


def _write_oracle(folder: Path, oracle: Any, fmt: str) -> Path:
    """``target-data/oracle-output.<fmt>``."""
    target_data = folder / "target-data"
    target_data.mkdir(exist_ok=True)
    target = target_data / f"oracle-output.{fmt}"
    _write(oracle, target, fmt)
    return target


def _imported(fs: Any) -> dict[str, bool]:
    """Each forecaster (sorted by name) and whether any of its forecasts was imported
    (:func:`forecasts.domain.is_imported`, asked once per distinct source)."""
    import numpy as np
    import pandas as pd

    f_code, forecasters = _sorted_codes(fs["forecaster"])
    s_code, sources = pd.factorize(fs["source"], use_na_sentinel=False)
    from_import = np.array([domain.is_imported(s) for s in sources], dtype=bool)[s_code]
    counts = np.bincount(f_code[from_import], minlength=len(forecasters))
    return {name: bool(n) for name, n in zip(forecasters, counts, strict=True)}


class HubFiles(Mapping[str, Path]):
    """The files :func:`export_hubverse` wrote, by role, in the order written.  A hub of daily
    rounds over years holds millions of model output files, so their paths are made when asked
    for (from each model's rounds), not held."""

    def __init__(self, before: dict[str, Path], outputs: dict[str, Any], after: dict[str, Path]):
        self._before, self._after = before, after
        self._folder: Path = outputs["folder"]
        self._fmt: str = outputs["fmt"]
        self._rounds: list[str] = outputs["round_ids"]
        self._round_code = {r: i for i, r in enumerate(self._rounds)}
        self._by_model: dict[str, Any] = outputs["rounds_by_model"]  # per model id, its sorted round codes

    def _output(self, mid: str, round_id: str) -> Path:
        return self._folder / mid / f"{round_id}-{mid}.{self._fmt}"

    def __len__(self) -> int:
        return len(self._before) + sum(len(r) for r in self._by_model.values()) + len(self._after)

    def __iter__(self) -> Iterator[str]:
        yield from self._before
        for mid, codes in self._by_model.items():
            for code in codes.tolist():
                yield f"output:{mid}:{self._rounds[code]}"
        yield from self._after

    def __getitem__(self, role: str) -> Path:
        if role in self._before or role in self._after:
            return self._before.get(role) or self._after[role]
        kind, _, rest = role.partition(":")
        mid, _, round_id = rest.partition(":")
        codes = self._by_model.get(mid) if kind == "output" else None
        code = self._round_code.get(round_id)
        if codes is not None and code is not None:
            at = int(codes.searchsorted(code))
            if at < len(codes) and codes[at] == code:
                return self._output(mid, round_id)
        raise KeyError(role)


def _write_model_output(model: Any, out: Path, fmt: str) -> dict[str, Any]:
    """Write one file per model and round from ``model`` (:func:`_model_output`'s frame, in file
    order), a block of about :data:`~forecasts.sources.csv_text.BLOCK_ROWS` rows at a time; what
    :class:`HubFiles` lists."""
    import numpy as np

    m_code = model["model_id"].cat.codes.to_numpy(np.int64)
    r_code = model["origin_date"].cat.codes.to_numpy(np.int64)
    mids = [str(m) for m in model["model_id"].cat.categories]
    round_ids = [str(r) for r in model["origin_date"].cat.categories]
    start = np.flatnonzero(np.r_[True, (m_code[1:] != m_code[:-1]) | (r_code[1:] != r_code[:-1])])
    end = np.r_[start[1:], len(model)]
    for m in np.unique(m_code):
        (out / mids[m]).mkdir(parents=True, exist_ok=True)
    first = 0
    while first < len(start):  # files [first, last) make one block of rows
        last = max(first + 1, int(np.searchsorted(end, start[first] + csv_text.BLOCK_ROWS, side="right")))
        a, b = int(start[first]), int(end[last - 1])
        block = model.iloc[a:b]
        names = [f"{out}/{mids[m]}/{round_ids[r]}-{mids[m]}.{fmt}"
                 for m, r in zip(m_code[start[first:last]], r_code[start[first:last]], strict=True)]
        _write_files(block, names, start[first:last] - a, end[first:last] - a, fmt)
        first = last
    file_model, file_round = m_code[start], r_code[start]
    bounds = np.searchsorted(file_model, np.arange(len(mids) + 1))
    return {"folder": out, "fmt": fmt, "round_ids": round_ids,
            "rounds_by_model": {mids[m]: file_round[bounds[m]:bounds[m + 1]]
                                for m in sorted(range(len(mids)), key=mids.__getitem__) if bounds[m + 1] > bounds[m]}}


def _write_files(block: Any, names: list[str], starts: Any, ends: Any, fmt: str) -> None:
    """The files ``names`` of one block of model output rows, file ``i`` holding rows
    ``starts[i]:ends[i]``: CSV cut out of the block's lines, Parquet from slices of one table."""
    if fmt == "csv":
        header = (",".join(OUTPUT_COLUMNS) + "\n").encode()
        cells = [x for c in OUTPUT_COLUMNS[:-1] for x in (_cells(block[c]), ",")]
        lines = csv_text.joined(*cells, csv_text.distinct_text(block["value"].to_numpy(), _value_text))
        data, offsets = csv_text.text_block(lines)
        for name, a, b in zip(names, offsets[starts].tolist(), offsets[ends].tolist(), strict=True):
            csv_text.write_file(name, header + data[a:b])
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_arrays([_cells(block[c]) for c in OUTPUT_COLUMNS[:-1]]
                                 + [pa.array(block["value"].to_numpy())], schema=_parquet_schema())
    for name, a, b in zip(names, starts.tolist(), ends.tolist(), strict=True):
        pq.write_table(table.slice(a, b - a), name)


def _cells(column: Any) -> Any:
    """A categorical column as a pyarrow ``large_string`` array (its categories, taken by code);
    CSV quoting is never needed: ids, dates and option names are slugs."""
    import pyarrow as pa

    names = pa.array([str(c) for c in column.cat.categories], pa.large_string())
    return names.take(pa.array(column.cat.codes.to_numpy()))


def _value_text(v: float) -> str:
    """A probability as the model output CSV writes it: 17 significant digits, ``NA`` if missing."""
    return "NA\n" if v != v else f"{v:.17g}\n"


def _parquet_schema() -> Any:
    """The Arrow schema pandas gives the model output (string columns, ``output_type_id`` as
    pandas' ``string``), with its pandas metadata, so that files read back as they always did."""
    import pandas as pd
    import pyarrow as pa

    frame = pd.DataFrame({c: ["x"] for c in OUTPUT_COLUMNS[:-1]} | {"value": [0.5]})
    return pa.Schema.from_pandas(frame.astype({"output_type_id": "string"}), preserve_index=False)


def _write(frame: Any, target: Path, fmt: str) -> None:
    frame = frame.astype({"output_type_id": "string"}).reset_index(drop=True)
    if fmt == "csv":
        frame.to_csv(target, index=False, na_rep="NA", float_format="%.17g")
    else:
        frame.to_parquet(target, index=False)
