"""ForecastBench: the real market question table and a synthetic question/resolution set."""

from __future__ import annotations

import json
from pathlib import Path

from forecasts.sources.forecastbench import import_forecastbench

# CC BY-SA 4.0, shipped in the project's data/ (see data/README.md)
MARKETS = Path(__file__).resolve().parents[2] / "data" / "forecastbench_2024-07-21_market_questions.csv"


def test_real_market_questions(ledger, snapshot):
    s = import_forecastbench(ledger, MARKETS, skip_malformed=True)
    assert s.added == {"questions": 90, "resolutions": 57, "forecasts": 90}
    assert s.malformed == []  # line 19 closes in 2525: a far-future deadline is a valid date
    fs = ledger.forecasts()
    assert set(fs["forecaster"]) == {"import:manifold", "import:metaculus", "import:infer", "import:polymarket"}
    from forecasts.scoring import time_averaged

    brier = time_averaged(fs, ledger.questions(), ledger.resolutions())
    # PROVENANCE.md: the frozen crowd's Brier on the 57 resolved questions is about 0.129
    assert len(brier) == 57 and abs(brier["score"].mean() - 0.129) < 0.002
    before = snapshot(ledger)
    assert import_forecastbench(ledger, MARKETS, skip_malformed=True).total_added() == 0
    assert snapshot(ledger) == before


def test_question_and_resolution_sets(ledger, tmp_path):
    qset = {"forecast_due_date": "2024-07-21", "questions": [
        {"id": "abc", "source": "manifold", "question": "Will X?", "url": "https://manifold.markets/x",
         "resolution_criteria": "as stated", "market_info_open_datetime": "2024-01-01T00:00:00Z",
         "market_info_close_datetime": "2024-12-31T00:00:00Z", "freeze_datetime": "2024-07-12T00:00:00Z",
         "freeze_datetime_value": 0.25},
        {"id": "acled-1", "source": "acled", "question": "How many?"}]}
    rset = {"resolutions": [{"id": "abc", "source": "manifold", "resolution_date": "2024-09-01",
                             "resolved_to": 0.0, "resolved": True}]}
    (tmp_path / "q.json").write_text(json.dumps(qset))
    (tmp_path / "r.json").write_text(json.dumps(rset))
    s = import_forecastbench(ledger, tmp_path / "q.json", resolutions=tmp_path / "r.json")
    assert s.added == {"questions": 1, "resolutions": 1, "forecasts": 1}
    assert s.filtered == {"not_a_market_question": 1}
    assert ledger.resolutions()["outcome"].tolist() == ["no"]
