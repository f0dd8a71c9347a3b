"""Good Judgment Project questions and survey forecasts (binary and multiple choice)."""

from __future__ import annotations

from pathlib import Path

import pytest

from forecasts.errors import ImportRejected, InvalidInput
from forecasts.sources.gjp import import_gjp, parse_options

FIXTURES = Path(__file__).parent / "fixtures" / "gjp"

IFPS = """
ifp_id,q_type,q_text,q_desc,q_status,date_start,date_suspend,date_to_close,date_closed,outcome,short_title,days_open,n_opts,options
1001-0,0,Will talks resume in 2011?,"desc, with comma",closed,9/1/11,12/30/11 0:00,12/31/11,1/2/12,b,talks,122,2,"(a) Yes, (b) No"
1002-0,0,Who wins?,d,closed,9/1/11,5/14/12 0:00,5/15/12,5/6/12,b,who,248,3,"(a) Medvedev, (b) Putin, (c) Neither"
1003-0,0,Voided one?,d,voided,9/1/11,,12/31/11,10/1/11,,v,30,2,"(a) Yes, (b) No"
"""
FORECASTS = """
ifp_id,ctt,cond,training,team,user_id,forecast_id,fcast_type,answer_option,value,fcast_date,expertise,q_status,viewtime,year,timestamp
1001-0,1a,1,a,,600.0,-1,0,a,0.10,2011-08-31,1,closed,,1,2011-08-31 16:17:18
1001-0,1a,1,a,,600.0,-1,0,b,0.90,2011-08-31,1,closed,,1,2011-08-31 16:17:18
1002-0,1a,1,a,,601.0,-2,0,a,0.15,2011-09-02,2,closed,,1,2011-09-02 10:00:00
1002-0,1a,1,a,,601.0,-2,0,b,0.80,2011-09-02,2,closed,,1,2011-09-02 10:00:00
1002-0,1a,1,a,,601.0,-2,1,c,0.05,2011-09-02,2,closed,,1,2011-09-02 10:00:00
1002-0,1a,1,a,,602.0,-3,0,a,0.50,2011-09-03,2,closed,,1,2011-09-03 10:00:00
1002-0,1a,1,a,,602.0,-3,0,b,0.30,2011-09-03,2,closed,,1,2011-09-03 10:00:00
"""


def test_options_text():
    assert parse_options("(a) Yes, by 15 October 2011, (b) No") == [("a", "Yes, by 15 October 2011"), ("b", "No")]


def test_questions_forecasts_and_outcomes(ledger, tmp_path, write, snapshot):
    ifps = write(tmp_path / "gjp_ifps.csv", IFPS)
    good = write(tmp_path / "f.csv", FORECASTS + "1002-0,1a,1,a,,602.0,-3,0,c,0.20,2011-09-03,2,closed,,1,2011-09-03 10:00:00\n")
    s = import_gjp(ledger, good, questions=ifps)
    assert s.added == {"questions": 3, "resolutions": 3, "forecasts": 3}
    assert s.notes == ["1 question(s) open at their first forecast, before the official start date"]
    q = ledger.questions().set_index("id")
    assert q.loc["gjp-1001-0", "kind"] == "binary" and q.loc["gjp-1001-0", "outcome"] == "no"
    assert q.loc["gjp-1002-0", "options"] == ["a", "b", "c"] and q.loc["gjp-1002-0", "outcome"] == "b"
    assert q.loc["gjp-1003-0", "outcome"] == "annulled"
    fs = ledger.forecasts().set_index("source_id")
    assert fs.loc["1001-0:-1", "probability"] == 0.10 and fs.loc["1001-0:-1", "forecaster"] == "gjp:600"
    assert fs.loc["1002-0:-2", "probabilities"] == {"a": 0.15, "b": 0.8, "c": 0.05}
    before = snapshot(ledger)
    assert import_gjp(ledger, good, questions=ifps).total_added() == 0
    assert snapshot(ledger) == before


def test_incomplete_multiple_choice_forecast_is_refused_at_its_line(ledger, tmp_path, write):
    ifps = write(tmp_path / "gjp_ifps.csv", IFPS)
    bad = write(tmp_path / "f.csv", FORECASTS)  # forecast -3 lacks option c
    with pytest.raises(ImportRejected) as info:
        import_gjp(ledger, bad, questions=ifps)
    assert [ln for ln, _ in info.value.problems] == [7]
    assert ledger.counts()["questions"] == 0


def test_real_files(ledger, shared):
    ifps, fc = shared("gjp_ifps.csv"), shared("gjp_survey_forecasts_yr1_first9999.csv")
    s = import_gjp(ledger, fc, questions=ifps, skip_malformed=True)
    assert s.added["questions"] == 616 and s.added["forecasts"] > 4000
    # 1070-0 closes when it actually closed; 1224-6 (close before open, voided) is left out
    assert s.filtered["close_not_after_open"] == 1
    assert not any("the question closes" in why for _, why in s.malformed)
    assert any(why == "forecaster is missing" for _, why in s.malformed)
    assert ledger.questions().set_index("id").loc["gjp-1002-0", "kind"] == "multiple_choice"


def test_real_questions_file_imports_whole(ledger, shared):
    s = import_gjp(ledger, shared("gjp_ifps.csv"))
    assert s.added == {"questions": 616, "resolutions": 616, "forecasts": 0} and not s.malformed
    q = ledger.questions().set_index("id")
    assert (q["outcome"] == "annulled").sum() == 118  # 119 voided, less 1224-6, left out


def test_dataverse_shape_na_null_voided_and_close_before_open(ledger):
    """The release's own shape: NA / NULL for missing, voided questions, bad close dates."""
    s = import_gjp(ledger, FIXTURES / "ifps.csv")
    assert s.rows_read == 6 and not s.malformed
    assert s.added == {"questions": 5, "resolutions": 5, "forecasts": 0}
    assert s.filtered == {"close_not_after_open": 1}
    assert any("1224-6 (line 7)" in n for n in s.notes)
    q = ledger.questions().set_index("id")
    assert "gjp-1224-6" not in q.index
    # voided: annulled, not unresolved, at the scheduled close
    assert q.loc["gjp-1029-0", "outcome"] == "annulled"
    r = ledger.resolutions().set_index("question")
    assert str(r.loc["gjp-1029-0", "resolved_at"])[:10] == "2011-12-15"
    # 1070-0: date_to_close equals date_start, so it closes when it actually closed
    assert str(q.loc["gjp-1070-0", "closes_at"])[:10] == "2012-02-29"
    assert q.loc["gjp-1070-0", "outcome"] == "no"
    assert q.loc["gjp-1002-0", "options"] == ["a", "b", "c"]
    assert import_gjp(ledger, FIXTURES / "ifps.csv").total_added() == 0


def test_dataverse_survey_forecasts(ledger):
    s = import_gjp(ledger, FIXTURES / "survey_fcasts.yr1.csv", questions=FIXTURES / "ifps.csv")
    assert s.added["forecasts"] == 8 and not s.malformed
    f = ledger.forecasts().set_index("source_id")
    assert f.loc["1004-0:-200975", "probability"] == 0.05
    assert f.loc["1004-0:-200975", "forecaster"] == "gjp:2986"
    assert f.loc["1002-0:-200977", "probabilities"] == {"a": 0.8, "b": 0.1, "c": 0.1}


def test_unknown_status_is_named(ledger, tmp_path, write):
    text = (FIXTURES / "ifps.csv").read_text().replace(",voided,10/4/11", ",suspended,10/4/11")
    with pytest.raises(InvalidInput, match="unknown q_status 'suspended'"):
        import_gjp(ledger, write(tmp_path / "ifps.csv", text))
    assert ledger.counts()["questions"] == 0


def test_unknown_column_is_named(ledger, tmp_path, write):
    text = (FIXTURES / "survey_fcasts.yr1.csv").read_text().replace("viewtime", "view_seconds", 1)
    with pytest.raises(InvalidInput, match=r"not in a GJP survey forecasts \(survey_fcasts.yr1.csv\) file: 'view_seconds'"):
        import_gjp(ledger, write(tmp_path / "s.csv", text), questions=FIXTURES / "ifps.csv")
