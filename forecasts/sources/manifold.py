"""Manifold Markets: binary markets and the probability path their bets trace, as a crowd
baseline.

The shapes are those of Manifold's public API as documented in the manifoldmarkets/manifold
repository (``docs/docs/api.md``, commit 2c9045b; types in ``common/src/api/schema.ts``):

* **markets** (``GET /v0/market/[id]`` -> one ``FullMarket``; ``GET /v0/markets`` -> a list of
  ``LiteMarket``): ``id``, ``question``, ``outcomeType`` (``BINARY``; ``MULTIPLE_CHOICE``,
  ``PSEUDO_NUMERIC``, ``POLL``, ... are left out and counted by name), ``createdTime``,
  ``closeTime``, ``isResolved``, ``resolution`` (``YES``, ``NO``, ``MKT``, ``CANCEL``),
  ``resolutionTime``, ``probability``, ``lastBetTime``, ``url``, ``textDescription``,
  ``groupSlugs``;
* **bets** (``GET /v0/bets?contractId=...`` -> a list of ``Bet``, newest first): ``id``,
  ``contractId``, ``createdTime``, ``probBefore``, ``probAfter``, ``isRedemption``.

All times are Unix milliseconds (UTC).  Conventions: question ids ``manifold-<market id in
lower case>`` (``source_id`` the exact id); the market is the forecaster ``import:manifold``:
each bet gives one point, the market probability ``probAfter`` at the bet's ``createdTime``
(``source_id`` the bet id).  Redemptions (``isRedemption``, automatic and not trades) are left
out and counted, as are bets stamped after the market closed or before it was created, and
all but the last bet of one millisecond.  Without a bets file a market gives one point, its
``probability`` at ``lastBetTime`` when that is no later than the close.  Resolutions ``YES``
-> ``yes``, ``NO`` -> ``no``, ``CANCEL`` -> ``annulled`` at ``resolutionTime``; a market
resolved ``MKT`` (to a probability, ``resolutionProbability``) has no yes/no outcome and is left
unresolved, with a note.  Tags: ``manifold`` and the market's ``groupSlugs``.  Not carried:
individual traders, amounts and shares, limit orders' fills, answers of multi-answer markets.
"""

from __future__ import annotations

import re
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
    slug,
)

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SOURCE = "import:manifold"
FORECASTER = "import:manifold"
_RESOLUTIONS = {"YES": "yes", "NO": "no", "CANCEL": "annulled"}


def _ms(v: Any, what: str, where: str) -> datetime | None:
    """Unix milliseconds as a naive UTC datetime (None if absent); anything else is refused."""
    v = clean(v)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise InvalidInput(f"{where}: {what} {v!r} is not a Unix time in milliseconds")
    return datetime.fromtimestamp(float(v) / 1000.0, UTC).replace(tzinfo=None)


def _list(path: str | Path, what: str) -> list[dict]:
    data = read_json(path)
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise InvalidInput(f"{Path(path).name} holds no Manifold {what} (an object or a list of them)")
    return items


def import_manifold(ledger: Ledger, path: str | Path, *, bets: str | Path | None = None, dry_run: bool = False,
                    progress: Progress = None, skip_malformed: bool = False) -> ImportSummary:
    """Import Manifold binary markets (``path``: one market or a list) and, from ``bets`` (a
    list of bets), the market probability after each bet (see the module notes).  Line numbers
    are 1-based positions in the file: of the bet, or of the market."""
    import pandas as pd

    markets = _list(path, "market")
    summary = ImportSummary(source=SOURCE, path=str(bets or path))
    questions, resolutions, points = [], [], []
    binary: dict[str, dict] = {}
    skipped: dict[str, int] = {}
    mkt = 0
    for pos, m in enumerate(markets, start=1):
        mid = clean(m.get("id"))
        where = f"market {pos} ({mid})"
        if not isinstance(mid, str) or "outcomeType" not in m:
            keys = ", ".join(sorted(map(str, m))[:10]) or "none"
            raise InvalidInput(f"{Path(path).name}: item {pos} is not a Manifold market (no id or outcomeType); "
                               f"its keys: {keys}")
        kind = str(m["outcomeType"])
        if kind != "BINARY":
            key = re.sub(r"[^a-z0-9]+", "_", kind.lower()).strip("_") + "_market"
            skipped[key] = skipped.get(key, 0) + 1
            continue
        qid = f"manifold-{slug(mid, limit=80)}"
        opens, closes = _ms(m.get("createdTime"), "createdTime", where), _ms(m.get("closeTime"), "closeTime", where)
        binary[mid] = {"qid": qid, "opens": opens, "closes": closes, "line": pos}
        tags = ["manifold", *[slug(g, limit=50) for g in m.get("groupSlugs") or []]]
        questions.append({"qid": qid, "title": clean(m.get("question")), "opens": opens, "closes": closes,
                          "criteria": clean(m.get("textDescription")) or clean(m.get("url")),
                          "tags": sorted(set(tags)), "by": SOURCE, "source_id": mid, "line": pos})
        word = clean(m.get("resolution"))
        if m.get("isResolved") and word is not None:
            if word == "MKT":
                mkt += 1
            elif word in _RESOLUTIONS:
                resolutions.append({"question": qid, "outcome": _RESOLUTIONS[word], "by": SOURCE, "line": pos,
                                    "on": _ms(m.get("resolutionTime"), "resolutionTime", where)})
            else:
                raise InvalidInput(f"{where}: unknown resolution {word!r} (known: YES, NO, MKT, CANCEL)")
        if bets is None:
            last = _ms(m.get("lastBetTime"), "lastBetTime", where)
            if last is not None and clean(m.get("probability")) is not None and (closes is None or last <= closes):
                points.append({"question": qid, "made_at": last, "probability": m.get("probability"),
                               "source_id": f"{mid}@{int(m['lastBetTime'])}", "line": pos})
    if mkt:
        summary.notes.append(f"{mkt} market(s) resolved MKT (to a probability) left unresolved: the ledger "
                             "holds yes/no outcomes")
    if bets is not None:
        points = _bet_points(_list(bets, "bet"), binary, skipped, Path(bets).name)
    summary.rows_read = len(points) + sum(skipped.values()) if bets is not None else len(markets)
    summary.filtered = {k: v for k, v in skipped.items() if v}
    frame = pd.DataFrame(points, columns=["question", "made_at", "probability", "source_id", "line"])
    frame["forecaster"] = FORECASTER
    frame["probability"] = pd.to_numeric(frame["probability"], errors="coerce")
    return load_track_record(ledger, source=SOURCE, questions=questions, forecasts=frame,
                             resolutions=resolutions, dry_run=dry_run, progress=progress,
                             skip_malformed=skip_malformed, summary=summary,
                             question_file=Path(path).name if bets is not None else None)


def _bet_points(bets: list[dict], binary: dict[str, dict], skipped: dict[str, int], name: str) -> list[dict]:
    """The market probability after each bet on a binary market (see the module notes)."""
    rows = []
    for pos, b in enumerate(bets, start=1):
        where = f"{name} bet {pos} ({b.get('id')})"
        for key in ("id", "contractId", "createdTime", "probAfter"):
            if key not in b:
                raise InvalidInput(f"{where} has no {key!r}: not a Manifold bet")
        cid = b["contractId"]
        if cid not in binary:
            raise InvalidInput(f"{where} is on market {cid!r}, which the markets file does not hold as a binary market")
        if b.get("isRedemption"):
            skipped["redemption"] = skipped.get("redemption", 0) + 1
            continue
        m = binary[cid]
        at = _ms(b["createdTime"], "createdTime", where)
        assert at is not None
        if m["closes"] is not None and at > m["closes"]:
            skipped["after_close"] = skipped.get("after_close", 0) + 1
            continue
        if m["opens"] is not None and at < m["opens"]:
            skipped["before_open"] = skipped.get("before_open", 0) + 1
            continue
        rows.append({"question": m["qid"], "made_at": at, "probability": b["probAfter"], "source_id": str(b["id"]),
                     "line": pos, "_ms": b["createdTime"], "_cid": cid})
    rows.sort(key=lambda r: (r["_cid"], r["_ms"], -r["line"]))  # the API lists newest first
    out: list[dict] = []
    for r in rows:
        if out and out[-1]["question"] == r["question"] and out[-1]["made_at"] == r["made_at"]:
            skipped["repeated_timestamp"] = skipped.get("repeated_timestamp", 0) + 1
            out[-1] = r  # within one millisecond the bet listed first (the newest) is kept
            continue
        out.append(r)
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in out]
