"""Metaculus: binary questions with the community prediction's history.

Two inputs are read:

* **the tabular form** (``metaculus_binary_community_timeseries.parquet`` or a CSV with the same
  columns): one row per community-median point -- ``question_id``, ``timestamp_utc``,
  ``community_median_p_yes``, ``outcome`` (1 yes, 0 no, -1 ambiguous, empty while open),
  ``open_time_utc``, ``close_time_utc``, ``resolve_time_utc``, ``after_close``, and optionally
  ``question_title``; titles can also come from a questions table (``question_id``,
  ``question_title``, as ``metaculus_binary_questions.csv``);
* **the API's question JSON** (one question, a list, or a page ``{"results": [...]}``), with the
  history in ``community_prediction.history`` (``t`` in Unix seconds, the median in
  ``x1.q2``), ``prediction_timeseries`` (``t``, ``community_prediction``), or
  ``aggregations.recency_weighted.history`` (``start_time``, ``centers``).

Conventions: question ids ``metaculus-<id>`` (``source_id`` the Metaculus id); the community is
the forecaster ``import:metaculus``; each point's ``source_id`` is ``<id>@<UTC timestamp>``.
Left out on purpose and counted in ``filtered``: points stamped after the question closed
(``after_close``), before it opened (pre-publication activity), and repeated timestamps (the
last point of a timestamp is kept).  Resolutions: ``yes``, ``no``, ``ambiguous`` at the
resolve time; open questions get none.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecasts.errors import InvalidInput
from forecasts.sources.generic import (
    ImportSummary,
    Progress,
    clean,
    load_track_record,
    read_json,
    read_table,
    to_utc,
)

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SOURCE = "import:metaculus"
FORECASTER = "import:metaculus"
_OUTCOMES = {1.0: "yes", 0.0: "no", -1.0: "ambiguous"}


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
    if p.suffix.lower() == ".json":
        table = _table_from_api(p)
    else:
        table = read_table(p)
    summary = ImportSummary(source=SOURCE, path=str(p), rows_read=len(table))
    titles = _titles(questions) if questions is not None else {}
    return _load(ledger, table, titles, summary, dry_run=dry_run, progress=progress,
                 skip_malformed=skip_malformed, question_ids=question_ids, resolved_before=resolved_before)


def _titles(path: str | Path) -> dict[str, str]:
    t = read_table(path)
    for col in ("question_id", "question_title"):
        if col not in t.columns:
            raise InvalidInput(f"{Path(path).name} has no {col!r} column (a Metaculus questions table)")
    return {str(clean(q)).split(".")[0]: clean(title) for q, title in zip(t["question_id"], t["question_title"], strict=True)}


def _load(ledger: Ledger, table, titles, summary, *, dry_run, progress, skip_malformed, question_ids, resolved_before):
    import numpy as np
    import pandas as pd

    need = ("question_id", "timestamp_utc", "community_median_p_yes", "open_time_utc", "close_time_utc")
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise InvalidInput(f"the Metaculus table lacks column(s) {', '.join(missing)}")
    t = table.copy()
    t["_qid"] = t["question_id"].astype(str).str.split(".").str[0]
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
    dup = t.duplicated(["_qid", "timestamp_utc"], keep="last").to_numpy()
    filtered["repeated_timestamp"] = int(dup.sum())
    t = t[~dup]
    summary.filtered = {k: v for k, v in filtered.items() if v}

    first = t.drop_duplicates("_qid", keep="first")
    questions, resolutions = [], []
    has_title = "question_title" in t.columns
    for r in first.to_dict("records"):
        mid = r["_qid"]
        title = titles.get(mid) or (clean(r.get("question_title")) if has_title else None) or f"Metaculus question {mid}"
        qid = f"metaculus-{mid}"
        questions.append({"qid": qid, "title": str(title), "opens": r["open_time_utc"], "closes": r["close_time_utc"],
                          "tags": ["metaculus"], "by": FORECASTER, "source_id": mid, "line": r["_line"],
                          "criteria": f"https://www.metaculus.com/questions/{mid}/"})
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
        "forecaster": FORECASTER,
        "made_at": t["timestamp_utc"].to_numpy(),
        "probability": pd.to_numeric(t["community_median_p_yes"], errors="coerce").astype("float64").to_numpy(),
        "source_id": (t["_qid"] + "@" + stamp).to_numpy(),
        "line": t["_line"].to_numpy(),
    })
    return load_track_record(ledger, source=SOURCE, questions=questions, forecasts=frame,
                             resolutions=resolutions, dry_run=dry_run, progress=progress,
                             skip_malformed=skip_malformed, summary=summary)


# ---------------------------------------------------------------------- the API's JSON
def _when(v: Any) -> Any:
    """A Metaculus time: Unix seconds or ISO text, as an aware UTC datetime (None if absent)."""
    v = clean(v)
    if v is None:
        return None
    if isinstance(v, int | float):
        return datetime.fromtimestamp(float(v), UTC)
    return v


def _history(q: dict) -> list[tuple[Any, Any]]:
    cp = q.get("community_prediction")
    if isinstance(cp, dict) and isinstance(cp.get("history"), list):
        out = []
        for h in cp["history"]:
            x1 = h.get("x1") or {}
            out.append((_when(h.get("t")), x1.get("q2") if isinstance(x1, dict) else None))
        return out
    if isinstance(q.get("prediction_timeseries"), list):
        return [(_when(h.get("t")), h.get("community_prediction")) for h in q["prediction_timeseries"]]
    agg = q.get("aggregations") or (q.get("question") or {}).get("aggregations") or {}
    rw = agg.get("recency_weighted") if isinstance(agg, dict) else None
    if isinstance(rw, dict) and isinstance(rw.get("history"), list):
        out = []
        for h in rw["history"]:
            centers = h.get("centers") or []
            out.append((_when(h.get("start_time")), centers[0] if centers else None))
        return out
    return []


def _resolution_code(v: Any) -> float:
    if v is None:
        return math.nan
    if isinstance(v, str):
        return {"yes": 1.0, "no": 0.0, "ambiguous": -1.0, "annulled": -1.0}.get(v.strip().lower(), math.nan)
    return float(v)


def _table_from_api(path: Path) -> Any:
    """Flatten API question JSON into the tabular form (one row per history point); a
    question's points share its position in the file (1-based) as their line number."""
    import pandas as pd

    data = read_json(path)
    items = data.get("results") if isinstance(data, dict) and "results" in data else data
    items = [items] if isinstance(items, dict) else items
    if not isinstance(items, list):
        raise InvalidInput(f"{path.name} holds no Metaculus question or list of questions")
    rows = []
    for pos, q in enumerate(items, start=1):
        inner: dict[str, Any] = q["question"] if isinstance(q.get("question"), dict) else {}
        kind = (q.get("possibility") or {}).get("type") or q.get("type") or inner.get("type") or "binary"
        if kind != "binary":
            continue
        base = {"question_id": str(q.get("id")), "question_title": q.get("title") or inner.get("title"),
                "open_time_utc": _when(q.get("publish_time") or q.get("open_time") or inner.get("open_time")
                                       or q.get("created_time")),
                "close_time_utc": _when(q.get("close_time") or q.get("scheduled_close_time")
                                        or inner.get("scheduled_close_time")),
                "resolve_time_utc": _when(q.get("resolve_time") or q.get("actual_resolve_time")
                                          or inner.get("actual_resolve_time") or inner.get("scheduled_resolve_time")),
                "outcome": _resolution_code(q.get("resolution", inner.get("resolution"))), "_line": pos}
        history = _history(q) or _history(inner)
        if not history:
            rows.append({**base, "timestamp_utc": None, "community_median_p_yes": None, "_placeholder": True})
        for t, p in history:
            rows.append({**base, "timestamp_utc": t, "community_median_p_yes": p, "_placeholder": False})
    df = pd.DataFrame(rows, columns=["question_id", "question_title", "open_time_utc", "close_time_utc",
                                     "resolve_time_utc", "outcome", "_line", "timestamp_utc",
                                     "community_median_p_yes", "_placeholder"])
    return df  # a question without history keeps one placeholder row, so it is still imported
