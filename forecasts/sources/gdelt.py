"""GDELT event exports (1.0 and 2.0), filtered by actor pair and CAMEO codes.

Input: a GDELT event export as published -- ``<timestamp>.export.CSV.zip`` (or the
``.export.CSV`` inside it): tab-separated, no header, 57 or 58 columns for GDELT 1.0 (the
58th, ``SOURCEURL``, from April 2013) and 61 for GDELT 2.0 -- or the same columns with a
header row (CSV or TSV, e.g. an extract).  The layouts are GDELT's own header
files (``gdelt1_event_columns.txt``, ``gdelt_event_columns.txt``): 2.0 adds the ``ADM2Code`` of
each of the three geographies and a ``DATEADDED`` with the time of day.

Each kept row becomes an event: ``on`` = ``SQLDATE`` (the day it took place); title
``"<Actor1Name> -> <Actor2Name>: <CAMEO description>"``; ``cameo`` = ``EventCode`` with its
description and Goldstein score attached from ``data/cameo_goldstein.csv`` (GDELT's own
``GoldsteinScale``, mentions, sources and tone go into the description); ``actors`` =
``<Actor1Code>;<Actor2Code>``; ``source_url`` = ``SOURCEURL`` when present; tags ``gdelt``,
``quad:<QuadClass>``, ``cameo-root:<EventRootCode>``; ``source_id`` = ``GLOBALEVENTID``.

Filters: ``actors=("USA", "RUS")`` keeps rows between those two actors in either direction
(matched on the actor code's first three letters or the actor's country code);
``codes=("03", "1")`` keeps CAMEO codes starting with any of them; ``root_only`` keeps root
events; ``since``/``until`` bound the date.  Rows marked ``import:gdelt``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecasts import domain
from forecasts.errors import InvalidInput
from forecasts.paths import source_file
from forecasts.sources.events_csv import load_events
from forecasts.sources.generic import ImportSummary, Progress, clean, read_table

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

SOURCE = "import:gdelt"

_ACTOR = ("Code", "Name", "CountryCode", "KnownGroupCode", "EthnicCode", "Religion1Code",
          "Religion2Code", "Type1Code", "Type2Code", "Type3Code")
_EVENT = ("IsRootEvent", "EventCode", "EventBaseCode", "EventRootCode", "QuadClass", "GoldsteinScale",
          "NumMentions", "NumSources", "NumArticles", "AvgTone")


def _geo(prefix: str, adm2: bool) -> list[str]:
    cols = ["Type", "FullName", "CountryCode", "ADM1Code"] + (["ADM2Code"] if adm2 else []) + ["Lat", "Long", "FeatureID"]
    return [f"{prefix}Geo_{c}" for c in cols]


def columns(version: int, *, source_url: bool = True) -> list[str]:
    """The column names of a GDELT event export (``version`` 1 or 2)."""
    adm2 = version == 2
    cols = ["GLOBALEVENTID", "SQLDATE", "MonthYear", "Year", "FractionDate"]
    cols += [f"Actor1{c}" for c in _ACTOR] + [f"Actor2{c}" for c in _ACTOR] + list(_EVENT)
    cols += _geo("Actor1", adm2) + _geo("Actor2", adm2) + _geo("Action", adm2) + ["DATEADDED"]
    if version == 2 or source_url:
        cols.append("SOURCEURL")
    return cols


#: Columns some tools add to an export with a header (gdeltPyR's ``CAMEOCodeDescription``);
#: read and ignored, since descriptions come from ``data/cameo_goldstein.csv``.
ADDED_COLUMNS = ("CAMEOCodeDescription",)


def _layouts() -> dict[int, tuple[str, list[str]]]:
    return {57: ("GDELT 1.0 (before April 2013)", columns(1, source_url=False)),
            58: ("GDELT 1.0", columns(1)), 61: ("GDELT 2.0", columns(2))}


def read_export(path: str | Path) -> Any:
    """A GDELT export as a frame of text columns with ``_line``.

    ``path`` is an export as GDELT publishes it (``20170701234500.export.CSV.zip``: a zip
    holding one tab-separated file without a header), that file unzipped, or a table with
    GDELT's column names as a header (CSV or TSV, e.g. an extract).  Without a header the
    layout is recognised from the number of columns -- 57 or 58 (1.0), 61 (2.0) -- and every
    line must have that many: the first that does not is refused, naming its line, the count
    found and the count expected.  With a header, a column GDELT does not write is refused,
    naming it."""
    p = source_file(path)
    if p.suffix.lower() == ".zip":
        return _read_zip(p)
    return _read_text(p, p.name)


def _read_zip(p: Path) -> Any:
    import tempfile
    import zipfile

    try:
        with zipfile.ZipFile(p) as z:
            members = [m for m in z.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise InvalidInput(f"{p.name} holds {len(members)} files; a GDELT export zip holds one "
                                   "(e.g. 20170701234500.export.CSV)")
            with tempfile.TemporaryDirectory() as tmp:
                inner = Path(z.extract(members[0], tmp))
                return _read_text(inner, f"{p.name}:{members[0].filename}")
    except zipfile.BadZipFile:
        raise InvalidInput(f"{p.name} is not a zip file (GDELT publishes .export.CSV.zip)") from None


def _read_text(p: Path, label: str) -> Any:
    with p.open(encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    sep = "\t" if first.count("\t") > first.count(",") else ","
    if "GLOBALEVENTID" in first:
        t = read_table(p, sep=sep)
        known = set(columns(2)) | set(columns(1)) | set(ADDED_COLUMNS) | {"_line"}
        unknown = [c for c in t.columns if c not in known]
        if unknown:
            raise InvalidInput(f"{label} has column(s) GDELT does not write: {', '.join(map(repr, unknown))}")
        return t
    if sep != "\t":
        raise InvalidInput(f"{label} has no header and is not tab-separated; a GDELT export is "
                           "tab-separated without a header (or give GDELT's column names as a header)")
    layouts = _layouts()
    widths = []
    with p.open(encoding="utf-8", errors="replace", newline="") as fh:
        for number, text in enumerate(fh, start=1):
            body = text.rstrip("\r\n")
            if body:
                widths.append((number, body.count("\t") + 1))
    n = widths[0][1] if widths else 0
    expected = "a GDELT 1.0 export has 57 or 58 (58 from April 2013), a 2.0 export 61"
    if n not in layouts:
        raise InvalidInput(f"{label} line 1 has {n} columns (tab-separated): {expected}")
    for number, w in widths:
        if w != n:
            raise InvalidInput(f"{label} line {number} has {w} columns where line 1 has {n} "
                               f"({layouts[n][0]}): {expected}")
    return read_table(p, sep="\t", header=False, names=layouts[n][1])


def import_gdelt(ledger: Ledger, path: str | Path, *, actors: Sequence[str] | None = None,
                 codes: Sequence[str] | None = None, root_only: bool = False, since: object = None,
                 until: object = None, dry_run: bool = False, progress: Progress = None,
                 skip_malformed: bool = False) -> ImportSummary:
    """Import GDELT events, filtered (see the module docstring); CAMEO descriptions and
    Goldstein scores come from ``data/cameo_goldstein.csv``."""
    import pandas as pd

    from forecasts.cameo import cameo_table

    t = read_export(path)
    summary = ImportSummary(source=SOURCE, path=str(path), rows_read=len(t))
    for col in ("GLOBALEVENTID", "SQLDATE", "EventCode"):
        if col not in t.columns:
            raise InvalidInput(f"{Path(path).name} has no {col!r} column (a GDELT event export)")
    keep = pd.Series(True, index=t.index)
    if actors:
        if len(actors) != 2:
            raise InvalidInput("give an actor pair, e.g. USA,RUS")
        a, b = (x.strip().upper() for x in actors)

        def who(n: int):
            code = t.get(f"Actor{n}Code", pd.Series("", index=t.index)).fillna("").str[:3]
            country = t.get(f"Actor{n}CountryCode", pd.Series("", index=t.index)).fillna("")
            return code, country

        c1, k1 = who(1)
        c2, k2 = who(2)
        is1 = {x: (c1 == x) | (k1 == x) for x in (a, b)}
        is2 = {x: (c2 == x) | (k2 == x) for x in (a, b)}
        pair = (is1[a] & is2[b]) | (is1[b] & is2[a])
        summary.filtered["other_actors"] = int((keep & ~pair).sum())
        keep &= pair
    code = t["EventCode"].fillna("").str.strip()
    if codes:
        wanted = tuple(c.strip() for c in codes if c.strip())
        hit = code.str.startswith(wanted)
        summary.filtered["other_codes"] = int((keep & ~hit).sum())
        keep &= hit
    if root_only and "IsRootEvent" in t.columns:
        root = t["IsRootEvent"].fillna("0").str.strip() == "1"
        summary.filtered["not_root_event"] = int((keep & ~root).sum())
        keep &= root
    day = pd.to_datetime(t["SQLDATE"].fillna(""), format="%Y%m%d", errors="coerce")
    if since is not None:
        early = day < pd.Timestamp(domain.parse_time(since, "since date"))
        summary.filtered["before_since"] = int((keep & early).sum())
        keep &= ~early
    if until is not None:
        late = day > pd.Timestamp(domain.parse_time(until, "until date"))
        summary.filtered["after_until"] = int((keep & late).sum())
        keep &= ~late
    summary.filtered = {k: v for k, v in summary.filtered.items() if v}
    table = cameo_table()
    events = []
    for r, d in zip(t[keep.to_numpy()].to_dict("records"), day[keep.to_numpy()], strict=True):
        ev = str(clean(r.get("EventCode")) or "")
        info = table.get(ev, {})
        what = info.get("description") or f"CAMEO {ev}"
        a1 = clean(r.get("Actor1Name")) or clean(r.get("Actor1Code")) or "?"
        a2 = clean(r.get("Actor2Name")) or clean(r.get("Actor2Code")) or "?"
        facts = [f"GDELT event {r['GLOBALEVENTID']}, CAMEO {ev} ({what})"]
        for key, label in (("GoldsteinScale", "GDELT Goldstein"), ("NumMentions", "mentions"),
                           ("NumSources", "sources"), ("AvgTone", "tone"), ("ActionGeo_FullName", "where")):
            if clean(r.get(key)) is not None:
                facts.append(f"{label} {r[key]}")
        tags = ["gdelt"]
        if clean(r.get("QuadClass")):
            tags.append(f"quad:{str(r['QuadClass']).strip()}")
        if clean(r.get("EventRootCode")):
            tags.append(f"cameo-root:{str(r['EventRootCode']).strip()}")
        actors_text = ";".join(x for x in (clean(r.get("Actor1Code")), clean(r.get("Actor2Code"))) if x)
        url = clean(r.get("SOURCEURL"))
        events.append({"title": f"{a1} -> {a2}: {what}", "on": None if pd.isna(d) else d.to_pydatetime(),
                       "description": "; ".join(facts), "source_url": url if url and str(url).startswith("http") else None,
                       "actors": actors_text or None, "cameo": ev or None, "tags": tags,
                       "source_id": str(r["GLOBALEVENTID"]).strip(), "line": r["_line"]})
    return load_events(ledger, events, source=SOURCE, dry_run=dry_run, progress=progress,
                       skip_malformed=skip_malformed, summary=summary)
