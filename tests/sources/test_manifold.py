"""Manifold Markets: markets and bets in the shapes of Manifold's API documentation
(fixtures/manifold/, sources in its README)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from forecasts.errors import InvalidInput
from forecasts.sources.manifold import import_manifold

FIX = Path(__file__).parent / "fixtures" / "manifold"
MARKETS, BETS = FIX / "markets.json", FIX / "bets.json"


def test_markets_with_bets(ledger, snapshot):
    s = import_manifold(ledger, MARKETS, bets=BETS)
    assert s.added == {"questions": 4, "resolutions": 2, "forecasts": 5}
    assert s.filtered == {"multiple_choice_market": 1, "after_close": 1, "redemption": 1, "repeated_timestamp": 1}
    assert "resolved MKT" in s.notes[0]
    q = ledger.questions().set_index("source_id")
    assert q.loc["Tz5dA01GkK5QKiQfZeDL", "outcome"] == "yes"
    assert q.loc["kupKInoLsjMuiDiNfogm", "outcome"] == "annulled"  # CANCEL
    assert q.loc["EvIhzcJXwhL0HavaszD7", "outcome"] != q.loc["EvIhzcJXwhL0HavaszD7", "outcome"]  # MKT: none
    assert q.loc["Tz5dA01GkK5QKiQfZeDL", "tags"] == ["geopolitics", "manifold", "nato"]
    assert str(q.loc["Tz5dA01GkK5QKiQfZeDL", "closes_at"]) == "2023-03-02 00:00:00"  # ms -> UTC
    fs = ledger.forecasts(question="manifold-tz5da01gkk5qkiqfzedl")
    assert fs["probability"].tolist() == [0.6, 0.7, 0.9, 0.93]  # probAfter, oldest first; b4 beats b3
    assert fs["source_id"].tolist() == ["b1", "b2", "b4", "b6"] and set(fs["forecaster"]) == {"import:manifold"}
    assert str(fs["made_at"].iloc[2]) == "2023-01-11 00:00:00.005000"
    before = snapshot(ledger)
    assert import_manifold(ledger, MARKETS, bets=BETS).total_added() == 0 and snapshot(ledger) == before


def test_markets_alone_give_the_current_probability(ledger):
    s = import_manifold(ledger, MARKETS)
    assert s.added == {"questions": 4, "resolutions": 2, "forecasts": 4}
    fs = ledger.forecasts().set_index("question")
    assert fs.loc["manifold-q7rn2lkw0pxc9svtyh3m", "probability"] == 0.72


def test_bet_on_unknown_market_and_unknown_resolution_are_named(ledger, tmp_path):
    bets = json.loads(BETS.read_text())
    bets[0]["contractId"] = "lEoqtnDgJzft6apSKzYK"  # the multiple-choice market
    path = tmp_path / "bets.json"
    path.write_text(json.dumps(bets))
    with pytest.raises(InvalidInput, match="does not hold as a binary market"):
        import_manifold(ledger, MARKETS, bets=path)
    markets = json.loads(MARKETS.read_text())
    markets[0]["resolution"] = "PROB"
    mpath = tmp_path / "m.json"
    mpath.write_text(json.dumps(markets))
    with pytest.raises(InvalidInput, match="unknown resolution 'PROB'"):
        import_manifold(ledger, mpath)
    mpath.write_text(json.dumps([{"id": "x", "question": "?"}]))
    with pytest.raises(InvalidInput, match="not a Manifold market"):
        import_manifold(ledger, mpath)


def test_cli(cli, tmp_path):
    for f in (MARKETS, BETS):
        shutil.copyfile(f, tmp_path / f.name)
    r = cli("import", "manifold", "markets.json", "--bets", "bets.json")
    assert r.returncode == 0, r.stderr
    assert "added 4 questions, 2 resolutions, 5 forecasts" in r.stdout and "note: 1 market(s) resolved MKT" in r.stdout
    assert "probAfter" in cli("import", "manifold", "--help").stdout
