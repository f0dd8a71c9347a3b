"""The interchange exporters as they were before they were made column-wise (commit ab37794),
row by row, kept as the reference the column-wise ones must equal: byte for byte for CSV, value
for value for Parquet.  What changed is copied as it was (the frames, the grouping of
``tasks.json``, one pandas writer per file, the Fatebook rows and times); what did not (model ids,
``admin.json``, the JSON of ``tasks.json``, the oracle output, the metadata and oracle files, the spreadsheet guard,
the Fatebook file name and quoting) is the modules' own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forecasts import domain
from forecasts.errors import InvalidInput
from forecasts.ledger import Ledger
from forecasts.paths import output_file, output_folder
from forecasts.sources.fatebook import COLUMNS, MARKER, TAGS_SEPARATOR, _quote, _target
from forecasts.sources.hubverse import (
    _model_ids,
    _oracle_output,
    _part,
    _tasks_json,
    _write,
    _write_config,
    _write_metadata,
    _write_oracle,
    admin_config,
)


def hubverse_frames(ledger: Ledger, *, as_of: object = None, forecaster: str | None = None) -> tuple[Any, Any, int]:
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
    return model, _oracle_output(rs, qs), replaced


def tasks_config(model: Any, questions: Any) -> dict[str, Any]:
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
    return _tasks_json(groups)


def export_hubverse(ledger: Ledger, path: str | Path, *, fmt: str = "csv", as_of: object = None,
                    forecaster: str | None = None, name: str = "forecasts ledger export",
                    maintainer: str | None = None, contact_email: str | None = None,
                    repository: str | None = None) -> dict[str, Path]:
    if fmt not in ("csv", "parquet"):
        raise InvalidInput("hubverse export format must be csv or parquet")
    folder = output_folder(path)
    model, oracle, _replaced = hubverse_frames(ledger, as_of=as_of, forecaster=forecaster)
    if model.empty:
        raise InvalidInput("no forecasts to export: a hub needs at least one model output file")
    who = maintainer or domain.parse_forecaster(None)
    admin = admin_config(fmt=fmt, name=name, maintainer=who,
                         contact_email=contact_email or f"{_part(who)}@example.invalid",
                         repository=repository or f"{_part(who)}/{_part(folder.name)}")
    files = _write_config(folder, admin, tasks_config(model, ledger.questions(as_of)))

    fs = ledger.forecasts(as_of, forecaster=forecaster)
    sources = fs.groupby("forecaster")["source"].agg(lambda s: bool(s.astype(str).str.startswith("import:").any()))
    files |= _write_metadata(folder, {str(k): bool(v) for k, v in sources.items()})

    out = folder / "model-output"
    for (mid, round_id), g in model.groupby(["model_id", "origin_date"], sort=True):
        d = out / str(mid)
        d.mkdir(parents=True, exist_ok=True)
        target = d / f"{round_id}-{mid}.{fmt}"
        _write(g.drop(columns=["model_id"]), target, fmt)
        files[f"output:{mid}:{round_id}"] = target
    files["oracle_output"] = _write_oracle(folder, oracle, fmt)
    return files


def _stamp(v: Any) -> str:
    """A time in Fatebook's format (``2021-02-05 00:00:0``: seconds not zero-padded, cut to the
    second); empty for a missing time."""
    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    t = pd.Timestamp(v)
    return f"{t:%Y-%m-%d %H:%M}:{t.second}"


def export_fatebook(ledger: Ledger, path: str | Path, *, as_of: object = None) -> Path:
    qs = ledger.questions(as_of)
    fs = ledger.forecasts(as_of)
    rs = ledger.resolutions(as_of)
    out = _target(path)
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
