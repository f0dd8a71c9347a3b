"""Metaculus: binary questions with the community prediction's history (and, from a data
export, individual forecasts).

Four inputs are read, told apart by their layout (anything else is refused, naming what was
found):

* **the tabular form** (``metaculus_binary_community_timeseries.parquet`` or a CSV with the same
  columns): one row per community-median point -- ``question_id``, ``timestamp_utc``,
  ``community_median_p_yes``, ``outcome`` (1 yes, 0 no, -1 ambiguous, empty while open),
  ``open_time_utc``, ``close_time_utc``, ``resolve_time_utc``, ``after_close``, and optionally
  ``question_title``; titles can also come from a questions table (``question_id``,
  ``question_title``, as ``metaculus_binary_questions.csv``);
* **api2 JSON** (``/api2/questions/``, 2019-2023; one question, a list, a page
  ``{"results": [...]}`` or a list of pages): the question type is ``possibilities.type``;
  ``binary`` questions are imported, every other type is left out and counted by name.  The
  history is ``community_prediction.history`` (``t`` in Unix seconds, the median in ``x1.q2``)
  or, in older dumps, ``prediction_timeseries`` (``t``, ``community_prediction``).  Times
  ``publish_time``, ``close_time``, ``resolve_time``; ``resolution`` 1 yes, 0 no, -1
  ambiguous, -2 annulled, null while open.  An item whose post ``type`` is not ``forecast``
  (a discussion, say) is left out and counted; an item without ``possibilities.type`` (e.g.
  one carrying only ``"type": "forecast"``) is refused;
* **the current ``/api/posts/`` JSON** (Metaculus/metaculus ``posts/serializers.py``): a post
  holds ``question``, ``group_of_questions`` (its ``questions`` become several ledger questions)
  ``conditional`` or ``notebook``.  Notebooks and conditional pairs are left out and counted;
  a question's ``type`` must be ``binary`` to be imported (others counted by name).  The
  history is ``question.aggregations.recency_weighted.history`` (``start_time`` in Unix
  seconds, ``centers[0]`` the community's P(yes): ``serialize_aggregate_forecast`` drops the
  P(no) entry for binary questions).  Times ``open_time``, ``actual_close_time`` (else
  ``scheduled_close_time``), ``actual_resolve_time``; ``resolution`` ``yes``, ``no``,
  ``ambiguous``, ``annulled``;
* **a Metaculus data export** (a folder or ``.zip`` with ``question_data.csv`` and
  ``forecast_data.csv``, or either file with the other beside it; columns as described in the
  README that ships with the export, written by ``utils/csv_utils.py``): binary questions
  (``Question Type``), their aggregate forecasts (``Forecaster Username`` or ``Forecaster
  (Anonymized)`` naming the aggregation method) and individual forecasts, ``Start Time`` and
  ``Probability Yes``.

Conventions: question ids ``metaculus-<post id>`` (``source_id`` the Metaculus id; for a
sub-question of a group ``metaculus-<post id>-<question id>``).  The community prediction
(``recency_weighted``) is the forecaster ``import:metaculus``; another aggregation method ``m``
of a data export is ``import:metaculus:m``; an individual is the person ``metaculus:<username>``
(``metaculus:<id>`` without a name, ``metaculus:<first 12 hex digits>`` when anonymized); a
bot (``Is Bot``) is the imported record ``import:metaculus:bot:<username>``, kept out of the
pools of persons.
Each point's ``source_id`` is ``<id>@<UTC timestamp>`` (with the forecaster for a data
export).  Left out on purpose and counted in ``filtered``: points stamped after the question
closed (``after_close``), before it opened (pre-publication activity), and repeated timestamps
(the last point of a timestamp is kept), plus the skipped question types and posts.
Resolutions: ``yes``, ``no``, ``ambiguous``, ``annulled`` at the resolve time; open questions
get none.  What the ledger does not carry: a forecast's ``End Time`` (a withdrawn forecast
stands until the forecaster's next one), continuous and multiple-choice questions.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecasts.errors import InvalidInput
from forecasts.paths import is_folder, is_there
from forecasts.sources.generic import (
    ImportSummary,
    Progress,
    clean,
    forecaster_name,
    load_track_record,
    read_json,
    read_table,
    to_utc,
)

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SOURCE = "import:metaculus"
FORECASTER = "import:metaculus"
_OUTCOMES = {1.0: "yes", 0.0: "no", -1.0: "ambiguous", -2.0: "annulled"}
#: The aggregation methods of Metaculus (``questions/types.py``, plus the export's geometric mean).
AGGREGATIONS = ("recency_weighted", "unweighted", "single_aggregation", "metaculus_prediction", "geometric_mean")
#: The files of a Metaculus data export that are read.
EXPORT_FILES = ("question_data.csv", "forecast_data.csv")


def import_metaculus(ledger: Ledger, path: str | Path, *, questions: str | Path | None = None,
                     dry_run: bool = False, progress: Progress = None, skip_malformed: bool = False,
                     question_ids: list[int] | None = None, resolved_before: object = None) -> ImportSummary:
    """Import Metaculus questions, community prediction histories and resolutions.

    ``path`` is the tabular time series (``.parquet``/``.csv``) or the API's JSON (``.json``);
    ``questions`` a table of titles for the tabular form.  Filters: ``question_ids`` keeps only
    those questions; ``resolved_before`` keeps only questions resolved before that date (open
    ones are left out too).
    """
    p = Path(path)
    skipped: dict[str, int] = {}
    if p.suffix.lower() == ".json":
        table = _table_from_api(p, skipped)
    elif _is_export(p):
        table = _table_from_export(p, skipped)
    else:
        table = read_table(p)
    summary = ImportSummary(source=SOURCE, path=str(p), rows_read=len(table))
    titles = _titles(questions) if questions is not None else {}
    return _load(ledger, table, titles, summary, dry_run=dry_run, progress=progress, skipped=skipped,
                 skip_malformed=skip_malformed, question_ids=question_ids, resolved_before=resolved_before)


def _titles(path: str | Path) -> dict[str, str]:
    t = read_table(path)
    for col in ("question_id", "question_title"):
        if col not in t.columns:
            raise InvalidInput(f"{Path(path).name} has no {col!r} column (a Metaculus questions table)")
    return {str(clean(q)).split(".")[0]: clean(title) for q, title in zip(t["question_id"], t["question_title"], strict=True)}


def _load(ledger: Ledger, table, titles, summary, *, dry_run, progress, skip_malformed, question_ids, resolved_before,
          skipped=None):
    import numpy as np
    import pandas as pd

    need = ("question_id", "timestamp_utc", "community_median_p_yes", "open_time_utc", "close_time_utc")
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise InvalidInput(f"the Metaculus table lacks column(s) {', '.join(missing)}")
    t = table.copy()
    t["_qid"] = t["question_id"].astype(str).str.split(".").str[0]
    if "forecaster" not in t.columns:
        t["forecaster"] = FORECASTER
    for c in ("timestamp_utc", "open_time_utc", "close_time_utc", "resolve_time_utc"):
        if c in t.columns:
            t[c] = to_utc(t[c])
    outcome = pd.to_numeric(t["outcome"], errors="coerce") if "outcome" in t.columns else pd.Series(np.nan, index=t.index)
    t["_outcome"] = outcome
    if question_ids is not None:
        t = t[t["_qid"].isin({str(int(q)) for q in question_ids})]
    if resolved_before is not None:
        cut = pd.Timestamp(to_utc(pd.Series([resolved_before])).iloc[0])
        t = t[t["_outcome"].notna() & (t["resolve_time_utc"] < cut)]
    filtered: dict[str, int] = {}
    if "after_close" in t.columns:
        after = t["after_close"].astype(str).str.lower().isin(("true", "1"))
    else:
        after = t["timestamp_utc"] > t["close_time_utc"]
    filtered["after_close"] = int(after.sum())
    t = t[~after.to_numpy()]
    before = (t["timestamp_utc"] < t["open_time_utc"]).to_numpy()
    filtered["before_open"] = int(before.sum())
    t = t[~before]
    dup = t.duplicated(["_qid", "forecaster", "timestamp_utc"], keep="last").to_numpy()
    filtered["repeated_timestamp"] = int(dup.sum())
    t = t[~dup]
    summary.filtered = {k: v for k, v in {**filtered, **(skipped or {})}.items() if v}

    first = t.drop_duplicates("_qid", keep="first")
    questions, resolutions = [], []
    has_title = "question_title" in t.columns
    for r in first.to_dict("records"):
        mid = r["_qid"]
        title = titles.get(mid) or (clean(r.get("question_title")) if has_title else None) or f"Metaculus question {mid}"
        qid = f"metaculus-{mid}"
        questions.append({"qid": qid, "title": str(title), "opens": r["open_time_utc"], "closes": r["close_time_utc"],
                          "tags": ["metaculus"], "by": FORECASTER, "source_id": mid, "line": r["_line"],
                          "criteria": f"https://www.metaculus.com/questions/{clean(r.get('post_id')) or mid}/"})
        o = r["_outcome"]
        if o is not None and not (isinstance(o, float) and math.isnan(o)):
            outcome_text = _OUTCOMES.get(float(o))
            if outcome_text is None:
                resolutions.append({"question": qid, "outcome": str(o), "on": r.get("resolve_time_utc"), "line": r["_line"]})
            elif clean(r.get("resolve_time_utc")) is not None:
                resolutions.append({"question": qid, "outcome": outcome_text, "on": r["resolve_time_utc"],
                                    "by": FORECASTER, "line": r["_line"]})
    if "_placeholder" in t.columns:
        t = t[~t["_placeholder"].astype(bool).to_numpy()]
    stamp = t["timestamp_utc"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    frame = pd.DataFrame({
        "question": ("metaculus-" + t["_qid"]).to_numpy(),
        "forecaster": t["forecaster"].to_numpy(),
        "made_at": t["timestamp_utc"].to_numpy(),
        "probability": pd.to_numeric(t["community_median_p_yes"], errors="coerce").astype("float64").to_numpy(),
        "source_id": (t["_qid"] + "@" + stamp).where(t["forecaster"] == FORECASTER,
                                                     t["_qid"] + ":" + t["forecaster"] + "@" + stamp).to_numpy(),
        "line": t["_line"].to_numpy(),
    })
    # Metaculus stamps crowd points after a question has resolved (16 in the real series, e.g.
    # 2022-01-20 on questions resolved years before): left out and counted, never imported.
    return load_track_record(ledger, source=SOURCE, questions=questions, forecasts=frame,
                             resolutions=resolutions, dry_run=dry_run, progress=progress,
                             skip_malformed=skip_malformed, summary=summary, drop_after_resolution=True)




# ---------------------------------------------------------------------- JSON: api2 and /api/posts/
_TABLE = ["question_id", "post_id", "question_title", "open_time_utc", "close_time_utc", "resolve_time_utc",
          "outcome", "_line", "forecaster", "timestamp_utc", "community_median_p_yes", "_placeholder"]
_POST_KEYS = ("question", "group_of_questions", "conditional", "notebook")


def _when(v: Any) -> Any:
    """A Metaculus time: Unix seconds or ISO text, as an aware UTC datetime (None if absent)."""
    v = clean(v)
    if v is None:
        return None
    if isinstance(v, int | float):
        return datetime.fromtimestamp(float(v), UTC)
    return v


def _resolution_code(v: Any, where: str) -> float:
    """The tabular outcome code (1 yes, 0 no, -1 ambiguous, -2 annulled, NaN open) of a
    Metaculus resolution (a code or ``yes``/``no``/``ambiguous``/``annulled``); any other value
    is refused, naming it."""
    v = clean(v)
    if v is None:
        return math.nan
    if isinstance(v, str):
        code = {"yes": 1.0, "no": 0.0, "ambiguous": -1.0, "annulled": -2.0}.get(v.strip().lower())
        if code is None:
            try:
                code = float(v)
            except ValueError:
                raise InvalidInput(f"{where}: unknown resolution {v!r} (known: yes, no, ambiguous, annulled)") from None
    else:
        code = float(v)
    if code not in _OUTCOMES:
        raise InvalidInput(f"{where}: unknown resolution code {v!r} (known: 1, 0, -1 ambiguous, -2 annulled)")
    return code


def _count(skipped: dict[str, int], what: str) -> None:
    key = re.sub(r"[^a-z0-9]+", "_", what.lower()).strip("_")
    skipped[key] = skipped.get(key, 0) + 1


def _api2_history(q: dict, where: str) -> list[tuple[Any, Any]]:
    cp = q.get("community_prediction")
    if isinstance(cp, dict) and isinstance(cp.get("history"), list):
        out = []
        for h in cp["history"]:
            x1 = h.get("x1") if isinstance(h, dict) else None
            if not isinstance(x1, dict) or "q2" not in x1:
                raise InvalidInput(f"{where}: a community_prediction.history point has no x1.q2")
            out.append((_when(h.get("t")), x1["q2"]))
        return out
    if isinstance(q.get("prediction_timeseries"), list):
        return [(_when(h.get("t")), h.get("community_prediction")) for h in q["prediction_timeseries"]]
    return []


def _posts_history(q: dict, where: str) -> list[tuple[Any, Any]]:
    agg = q.get("aggregations")
    if agg is None:
        return []
    rw = agg.get("recency_weighted") if isinstance(agg, dict) else None
    if not isinstance(rw, dict) or not isinstance(rw.get("history", []), list):
        raise InvalidInput(f"{where}: aggregations has no recency_weighted.history list")
    out = []
    for h in rw.get("history", []):
        centers = h.get("centers")
        if not isinstance(centers, list) or len(centers) != 1:
            raise InvalidInput(f"{where}: a binary history point must have one center (P(yes)), not {centers!r}")
        out.append((_when(h.get("start_time")), centers[0]))
    return out


def _rows(base: dict, history: list[tuple[Any, Any]]) -> list[dict]:
    if not history:  # a question without history keeps one placeholder row, so it is still imported
        return [{**base, "timestamp_utc": None, "community_median_p_yes": None, "_placeholder": True}]
    return [{**base, "timestamp_utc": t, "community_median_p_yes": p, "_placeholder": False} for t, p in history]


def _api2_rows(item: dict, pos: int, skipped: dict[str, int]) -> list[dict]:
    where = f"item {pos} (id {item.get('id')})"
    post_type = clean(item.get("type"))
    if post_type is not None and post_type != "forecast":  # discussions, claims...: no question to import
        _count(skipped, f"{post_type} item")
        return []
    poss = item.get("possibilities")
    kind = poss.get("type") if isinstance(poss, dict) else None
    if not isinstance(kind, str):
        raise InvalidInput(f"{where}: possibilities has no 'type', so the question type is unknown")
    if kind != "binary":
        _count(skipped, f"{kind} question")
        return []
    base = {"question_id": str(item.get("id")), "post_id": str(item.get("id")), "question_title": item.get("title"),
            "open_time_utc": _when(item.get("publish_time") or item.get("created_time")),
            "close_time_utc": _when(item.get("close_time")), "resolve_time_utc": _when(item.get("resolve_time")),
            "outcome": _resolution_code(item.get("resolution"), where), "_line": pos, "forecaster": FORECASTER}
    return _rows(base, _api2_history(item, where))


def _posts_question(post: dict, q: dict, pos: int, qid: str, title: Any, skipped: dict[str, int]) -> list[dict]:
    where = f"item {pos} (post {post.get('id')}, question {q.get('id')})"
    kind = q.get("type")
    if not isinstance(kind, str):
        raise InvalidInput(f"{where}: the question has no 'type'")
    if kind != "binary":
        _count(skipped, f"{kind} question")
        return []
    base = {"question_id": qid, "post_id": str(post.get("id")), "question_title": title,
            "open_time_utc": _when(q.get("open_time") or post.get("open_time")),
            "close_time_utc": _when(q.get("actual_close_time") or q.get("scheduled_close_time")
                                    or post.get("scheduled_close_time")),
            "resolve_time_utc": _when(q.get("actual_resolve_time") or post.get("actual_resolve_time")),
            "outcome": _resolution_code(q.get("resolution"), where), "_line": pos, "forecaster": FORECASTER}
    return _rows(base, _posts_history(q, where))


def _post_rows(post: dict, pos: int, skipped: dict[str, int]) -> list[dict]:
    if post.get("notebook") is not None:
        _count(skipped, "notebook post")
        return []
    if post.get("conditional") is not None:
        _count(skipped, "conditional post")
        return []
    pid = str(post.get("id"))
    if isinstance(post.get("group_of_questions"), dict):
        subs = post["group_of_questions"].get("questions")
        if not isinstance(subs, list):
            raise InvalidInput(f"item {pos} (post {pid}): group_of_questions has no 'questions' list")
        rows = []
        for q in subs:
            label = clean(q.get("label"))
            title = f"{post.get('title')} ({label})" if label else (q.get("title") or post.get("title"))
            rows += _posts_question(post, q, pos, f"{pid}-{q.get('id')}", title, skipped)
        return rows
    q = post["question"]
    if not isinstance(q, dict):
        raise InvalidInput(f"item {pos} (post {pid}): 'question' is not an object")
    return _posts_question(post, q, pos, pid, post.get("title") or q.get("title"), skipped)


def _table_from_api(path: Path, skipped: dict[str, int]) -> Any:
    """Flatten api2 or /api/posts/ JSON into the tabular form (one row per history point); the
    points of an item share its position in the file (1-based) as their line number.  Skipped
    question types and posts are counted into ``skipped``."""
    import pandas as pd

    data = read_json(path)
    if isinstance(data, dict) and "results" in data:
        items = data["results"]
    elif isinstance(data, list) and data and all(isinstance(d, dict) and "results" in d for d in data):
        items = [q for page in data for q in page["results"]]  # a list of pages, as in the 2023 dumps
    else:
        items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"{path.name} holds no Metaculus question, post or list of them")
    rows: list[dict] = []
    for pos, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InvalidInput(f"{path.name}: item {pos} is not an object")
        if "possibilities" in item:
            rows += _api2_rows(item, pos, skipped)
        elif any(item.get(k) is not None for k in _POST_KEYS):
            rows += _post_rows(item, pos, skipped)
        else:
            keys = ", ".join(sorted(map(str, item))[:12]) or "none"
            raise InvalidInput(
                f"{path.name}: item {pos} (id {item.get('id')}) is neither an api2 question (no "
                f"'possibilities') nor an /api/posts/ post (no {', '.join(_POST_KEYS)}); its keys: {keys}")
    return pd.DataFrame(rows, columns=_TABLE)


# ---------------------------------------------------------------------- a Metaculus data export
_EXPORT_QUESTION = ("Question ID", "Question Title", "Post ID", "Label", "Question Type", "Open Time",
                    "Scheduled Close Time", "Actual Close Time", "Resolution", "Resolution Known Time")
_EXPORT_FORECAST = ("Question ID", "Is Bot", "Start Time", "End Time", "Forecaster Count", "Probability Yes",
                    "Probability Yes Per Category")


def _is_export(p: Path) -> bool:
    if is_folder(p):  # a folder that holds neither file is refused as a folder, like any other import
        return any((p / f).exists() for f in EXPORT_FILES)
    return p.suffix.lower() == ".zip" or p.name in EXPORT_FILES


def _export_tables(p: Path) -> tuple[Any, Any]:
    """``question_data.csv`` and ``forecast_data.csv`` of an export (a folder, a zip, or one of
    the two files with the other beside it), read as text."""
    import tempfile
    import zipfile

    if p.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(p) as z, tempfile.TemporaryDirectory() as tmp:
                names = {Path(n).name: n for n in z.namelist()}
                missing = [f for f in EXPORT_FILES if f not in names]
                if missing:
                    raise InvalidInput(f"{p.name} is not a Metaculus data export: no {', '.join(missing)}")
                out = []
                for f in EXPORT_FILES:
                    target = Path(tmp) / f
                    target.write_bytes(z.read(names[f]))
                    out.append(read_table(target))
                return out[0], out[1]
        except zipfile.BadZipFile:
            raise InvalidInput(f"cannot read {p.name} as a zip file") from None
    folder = p if is_folder(p) else p.parent
    missing = [f for f in EXPORT_FILES if not is_there(folder / f)]
    if missing:
        raise InvalidInput(f"{folder} holds no {', '.join(missing)} (a Metaculus data export has both)")
    return read_table(folder / EXPORT_FILES[0]), read_table(folder / EXPORT_FILES[1])


def _table_from_export(p: Path, skipped: dict[str, int]) -> Any:
    """The tabular form of a data export: its binary questions and every forecast on them."""
    import pandas as pd

    qs, fs = _export_tables(p)
    for table, need, name in ((qs, _EXPORT_QUESTION, EXPORT_FILES[0]), (fs, _EXPORT_FORECAST, EXPORT_FILES[1])):
        missing = [c for c in need if c not in table.columns]
        if missing:
            raise InvalidInput(f"{name} lacks column(s) {', '.join(missing)} (see the export's README.md)")
    if "Forecaster (Anonymized)" in fs.columns:
        who = fs["Forecaster (Anonymized)"].map(lambda v: _export_forecaster(None, v))
    elif "Forecaster Username" in fs.columns and "Forecaster ID" in fs.columns:
        who = pd.Series([_export_forecaster(i, u, bot) for i, u, bot in zip(
            fs["Forecaster ID"], fs["Forecaster Username"], fs["Is Bot"], strict=True)], index=fs.index)
    else:
        raise InvalidInput(f"{EXPORT_FILES[1]} has neither 'Forecaster (Anonymized)' nor 'Forecaster ID' and "
                           "'Forecaster Username'")
    questions: dict[str, dict] = {}
    kinds: dict[str, str] = {}
    for r in qs.to_dict("records"):
        qid, kind = str(r["Question ID"]).strip(), str(clean(r["Question Type"]) or "").strip()
        kinds[qid] = kind
        if kind != "binary":
            _count(skipped, f"{kind or 'untyped'} question")
            continue
        where = f"{EXPORT_FILES[0]} line {r['_line']}"
        post = str(r["Post ID"]).strip()
        label = clean(r["Label"])
        questions[qid] = {
            "question_id": f"{post}-{qid}" if label else post, "post_id": post,
            "question_title": r["Question Title"], "open_time_utc": clean(r["Open Time"]),
            "close_time_utc": clean(r["Actual Close Time"]) or clean(r["Scheduled Close Time"]),
            "resolve_time_utc": clean(r["Resolution Known Time"]),
            "outcome": _resolution_code(r["Resolution"], where), "_line": r["_line"]}
    rows = []
    seen_q: set[str] = set()
    unknown = sorted(set(fs["Question ID"].astype(str).str.strip()) - set(kinds))
    if unknown:
        raise InvalidInput(f"{EXPORT_FILES[1]} has forecasts on question(s) {', '.join(unknown[:5])} that "
                           f"{EXPORT_FILES[0]} does not list")
    for r, name in zip(fs.to_dict("records"), who, strict=True):
        qid = str(r["Question ID"]).strip()
        if qid not in questions:
            continue
        seen_q.add(qid)
        rows.append({**questions[qid], "_line": r["_line"], "forecaster": name,
                     "timestamp_utc": clean(r["Start Time"]), "community_median_p_yes": r["Probability Yes"],
                     "_placeholder": False})
    for qid, q in questions.items():
        if qid not in seen_q:
            rows.append({**q, "forecaster": FORECASTER, "timestamp_utc": None, "community_median_p_yes": None,
                         "_placeholder": True})
    return pd.DataFrame(rows, columns=_TABLE)


def _export_forecaster(user_id: Any, name: Any, bot: Any = None) -> str:
    """The ledger forecaster of a data export row (see the module notes); a bot (``Is Bot``
    ``True``) is the imported record ``import:metaculus:bot:<username>``, not a person."""
    name, user_id = clean(name), clean(user_id)
    text = str(name).strip() if name is not None else ""
    if user_id is None and text in AGGREGATIONS:
        return FORECASTER if text == "recency_weighted" else f"{FORECASTER}:{text}"
    if user_id is None and re.fullmatch(r"[0-9a-f]{64}", text):
        return forecaster_name("metaculus", text[:12])
    if user_id is None and not text:
        raise InvalidInput("a forecast_data.csv row names no forecaster")
    if user_id is None:
        raise InvalidInput(f"unknown aggregation method {text!r} in forecast_data.csv (known: {', '.join(AGGREGATIONS)})")
    if str(clean(bot)).strip().lower() == "true":
        return forecaster_name(f"{FORECASTER}:bot", text or str(user_id).split(".")[0])
    return forecaster_name("metaculus", text or str(user_id).split(".")[0])
