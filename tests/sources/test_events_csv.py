"""A plain CSV of events: the project's New START timeline, and malformed rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from forecasts.errors import ImportRejected
from forecasts.sources.events_csv import import_events_csv

TIMELINE = Path(__file__).resolve().parents[2] / "data" / "new_start_events.csv"
#: The timeline's own columns that are not event fields (the demo reads them itself).
NOT_EVENT_FIELDS = ["direction_for_extension", "source_date", "note"]


def test_new_start_timeline(ledger, snapshot):
    s = import_events_csv(ledger, TIMELINE, tags=["new-start"], ignore=NOT_EVENT_FIELDS)
    assert s.added == {"events": 32}
    ev = ledger.events()
    assert ev["cameo"].iloc[0] == "0312" or ev["cameo"].str.len().ge(3).all()
    assert all("new-start" in t for t in ev["tags"]) and set(ev["source"]) == {"import:events-csv"}
    before = snapshot(ledger)
    assert import_events_csv(ledger, TIMELINE, ignore=NOT_EVENT_FIELDS).total_added() == 0
    assert snapshot(ledger) == before


def test_malformed_events_have_lines(ledger, tmp_path, write):
    path = write(tmp_path / "e.csv", """
title,on,cameo,source_url
Talks held,2020-06-22,046,https://example.org/a
No date,,046,
Bad code,2020-06-23,99x,
Bad url,2020-06-24,046,ftp://example.org
""")
    with pytest.raises(ImportRejected) as info:
        import_events_csv(ledger, path)
    assert [ln for ln, _ in info.value.problems] == [3, 4, 5]
    s = import_events_csv(ledger, path, skip_malformed=True)
    assert s.added == {"events": 1}


def test_unknown_column_is_named_unless_ignored(ledger):
    from forecasts.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not understood: 'direction_for_extension', 'source_date', 'note'"):
        import_events_csv(ledger, TIMELINE)
    assert ledger.counts()["events"] == 0
