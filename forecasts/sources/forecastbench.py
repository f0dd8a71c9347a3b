"""ForecastBench (forecastingresearch/forecastbench-datasets): market questions with the crowd's
probability frozen on the freeze date, and their resolutions.

Inputs:

* a flattened table such as ``forecastbench_2024-07-21_market_questions.csv``: ``fb_id``,
  ``source`` (manifold, metaculus, infer, polymarket), ``question``, ``url``,
  ``market_open_utc``, ``market_close_utc``, ``freeze_datetime_utc``, ``freeze_crowd_p_yes``,
  ``resolved``, ``resolved_to`` (1/0), ``first_resolved_date``, ``resolution_criteria``;
* or a question set JSON (``{"questions": [{"id", "source", "question", "url",
  "resolution_criteria", "market_info_open_datetime", "market_info_close_datetime",
  "freeze_datetime", "freeze_datetime_value"}...]}``) with, optionally, a resolution set JSON
  (``{"resolutions": [{"id", "source", "resolution_date", "resolved_to", "resolved"}...]}``).

Conventions: question ids ``fb-<source>-<id>``; the frozen crowd probability is a forecast by
``import:<source>`` (the platform's crowd, e.g. ``import:manifold``) at the freeze time;
``source_id`` ``<source>:<id>``.  Only market questions (binary, with a crowd value) are read;
dataset questions (ACLED, FRED...) carry no frozen crowd forecast and resolve to a value per
horizon, so they are counted in ``filtered``.  A question without an opening date (Polymarket's are ``N/A``) opens at the freeze time,
the first moment the crowd's forecast is known.  A resolved question resolves ``yes`` if
``resolved_to`` is 1, ``no`` if 0, on its first resolution date.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from forecasts.errors import InvalidInput
from forecasts.sources.generic import ImportSummary, Progress, clean, load_track_record, read_json, read_table, slug

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SOURCE = "import:forecastbench"
MARKETS = ("manifold", "metaculus", "infer", "polymarket")


def _time(v: object) -> object:
    v = clean(v)
    return None if isinstance(v, str) and v.strip().upper() in ("N/A", "NA", "NONE", "NULL") else v


def _from_json(path: Path, resolutions: Path | None):
    import pandas as pd

    data = read_json(path)
    items = data.get("questions") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InvalidInput(f"{path.name} holds no 'questions' list (a ForecastBench question set)")
    res = {}
    if resolutions is not None:
        rdata = read_json(resolutions)
        for r in (rdata.get("resolutions") if isinstance(rdata, dict) else rdata) or []:
            key = (str(r.get("source")), str(r.get("id")))
            if r.get("resolved") and key not in res:  # the first resolution date counts
                res[key] = r
    rows = []
    for pos, q in enumerate(items, start=1):
        key = (str(q.get("source")), str(q.get("id")))
        r = res.get(key, {})
        rows.append({"fb_id": key[1], "source": key[0], "question": q.get("question"), "url": q.get("url"),
                     "market_open_utc": q.get("market_info_open_datetime"),
                     "market_close_utc": q.get("market_info_close_datetime"),
                     "freeze_datetime_utc": q.get("freeze_datetime"),
                     "freeze_crowd_p_yes": q.get("freeze_datetime_value"),
                     "resolved": bool(r), "resolved_to": r.get("resolved_to"),
                     "first_resolved_date": r.get("resolution_date"),
                     "resolution_criteria": q.get("resolution_criteria"), "_line": pos})
    return pd.DataFrame(rows)


def import_forecastbench(ledger: Ledger, path: str | Path, *, resolutions: str | Path | None = None,
                         dry_run: bool = False, progress: Progress = None,
                         skip_malformed: bool = False) -> ImportSummary:
    """Import ForecastBench market questions, the frozen crowd forecasts and the resolutions."""
    import pandas as pd

    p = Path(path)
    t = _from_json(p, Path(resolutions) if resolutions else None) if p.suffix.lower() == ".json" else read_table(p)
    for col in ("fb_id", "source", "question", "freeze_datetime_utc", "freeze_crowd_p_yes"):
        if col not in t.columns:
            raise InvalidInput(f"{p.name} has no {col!r} column (a ForecastBench market question table)")
    summary = ImportSummary(source=SOURCE, path=str(p), rows_read=len(t))
    market = t["source"].astype(str).str.lower().isin(MARKETS)
    if (~market).any():
        summary.filtered["not_a_market_question"] = int((~market).sum())
    t = t[market.to_numpy()]
    questions, resolutions_out, rows = [], [], []
    for r in t.to_dict("records"):
        src = str(r["source"]).lower()
        qid = f"fb-{slug(src)}-{slug(r['fb_id'], limit=80)}"
        criteria = "\n".join(x for x in (clean(r.get("resolution_criteria")), clean(r.get("url"))) if x)
        questions.append({"qid": qid, "title": clean(r.get("question")), "opens": _time(r.get("market_open_utc")) or _time(r.get("freeze_datetime_utc")),
                          "closes": _time(r.get("market_close_utc")), "criteria": criteria or None,
                          "tags": ["forecastbench", slug(src)], "by": SOURCE,
                          "source_id": f"{src}:{r['fb_id']}", "line": r["_line"]})
        rows.append({"question": qid, "forecaster": f"import:{slug(src)}", "made_at": clean(r.get("freeze_datetime_utc")),
                     "probability": pd.to_numeric(pd.Series([clean(r.get("freeze_crowd_p_yes"))]), errors="coerce").iloc[0],
                     "source_id": f"{src}:{r['fb_id']}@freeze", "line": r["_line"]})
        done = str(clean(r.get("resolved")) or "").lower() in ("true", "1")
        value = pd.to_numeric(pd.Series([clean(r.get("resolved_to"))]), errors="coerce").iloc[0]
        if done and value == value:
            outcome = "yes" if value == 1 else "no" if value == 0 else str(value)
            resolutions_out.append({"question": qid, "outcome": outcome, "on": clean(r.get("first_resolved_date")),
                                    "by": SOURCE, "line": r["_line"]})
    frame = pd.DataFrame(rows, columns=["question", "forecaster", "made_at", "probability", "source_id", "line"])
    return load_track_record(ledger, source=SOURCE, questions=questions, forecasts=frame,
                             resolutions=resolutions_out, dry_run=dry_run, progress=progress,
                             skip_malformed=skip_malformed, summary=summary)
