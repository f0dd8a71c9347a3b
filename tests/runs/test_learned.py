"""The learned model's ledger side: its design read as of a time, where fitted summaries
live, and (slow) a fit on a ledger feeding the learned model."""

from __future__ import annotations

import numpy as np
import pytest

from forecasts.ledger import Ledger
from forecasts.models import hierarchical as hm
from forecasts.runs import live
from forecasts.runs.learned import design_from_ledger, models_folder


def _resolved_ledger(ledger, n=8, seed=0):
    """n resolved questions, each with a forecast and two assessed, CAMEO-coded events."""
    rng = np.random.default_rng(seed)
    qs = [{"qid": f"q{i}", "title": f"Q{i}?", "opens": "2020-01-01", "closes": "2020-12-31"} for i in range(n)]
    events = [{"title": f"e{i}", "on": "2020-03-01", "cameo": ["036", "111", "0312"][i % 3]} for i in range(2 * n)]
    ledger.import_history(questions=qs, events=events, source="import:test")
    ids = [e["seq"] for e in ledger.records("events")]
    ledger.import_history(
        forecasts=[{"question": f"q{i}", "forecaster": "ana", "made_at": "2020-02-01", "probability": 0.5}
                   for i in range(n)],
        evidence=[{"question": f"q{i // 2}", "event": ids[i], "by": "ana", "lr": float(rng.choice([3.0, 1 / 3]))}
                  for i in range(2 * n)],
        resolutions=[{"question": f"q{i}", "outcome": "yes" if i % 2 else "no", "on": "2020-06-01"} for i in range(n)],
        source="import:test")


def test_design_from_ledger(ledger):
    _resolved_ledger(ledger)
    d = design_from_ledger(ledger)
    assert len(d.y) == 8 and d.y.tolist() == [0, 1] * 4
    assert set(d.types) == {"03", "11"} and d.n_events == 16
    assert d.X.shape == (8, 2) and set(np.unique(d.X)) <= {-2.0, -1.0, 0.0, 1.0, 2.0}   # sums of w d
    assert d.trained_through == "2020-06-01T00:00:00"
    # as of before any resolution: nothing to learn from
    assert len(design_from_ledger(ledger, "2020-05-01").y) == 0


def test_models_folder_sits_beside_the_ledger_unless_told(ledger, tmp_path, monkeypatch):
    monkeypatch.delenv("FORECASTS_MODELS", raising=False)
    assert models_folder(ledger) == ledger.folder / "models"
    monkeypatch.setenv("FORECASTS_MODELS", str(tmp_path / "elsewhere"))
    assert models_folder(ledger) == tmp_path / "elsewhere"


@pytest.mark.slow
def test_fit_on_a_ledger_saves_and_feeds_the_learned_model(ledger, tmp_path):
    _resolved_ledger(ledger, n=12)
    design = design_from_ledger(ledger)
    summary, _ = hm.fit(design, draws=500, tune=500, seed=3)
    d = summary["diagnostics"]
    assert set(d) >= {"rhat_max", "ess_bulk_min", "ess_tail_min", "divergences", "ess_per_second", "converged"}
    assert set(summary["effects"]) == {"03", "11"}
    path = hm.save_summary(summary, models_folder(ledger))
    assert path.parent == ledger.folder / "models"
    ledger.add_question("new", title="New?", closes="2300-01-01")
    ledger.log("new", 0.5, by="ana")
    e = ledger.add_event("Threat", on="2026-01-01", cameo="111")
    ledger.add_evidence("new", e["seq"], strength="moderate for no", by="ana")
    out = live.forecast(ledger, "new", "learned", summary=summary)
    row = out["rows"][0]
    assert row["forecaster"] == "model:learned" and row["model_version"].endswith(summary["version"])
    lo, hi = row["params"]["interval90"]
    assert lo < row["probability"] < hi


def _team_ledger(ledger, seed=0):
    """Three analysts on resolved questions (cy has only 15), underconfident by a log-odds factor
    of 2, and an open question that ana and cy have forecast."""
    rng = np.random.default_rng(seed)
    qs, fs, rs = [], [], []
    for name, n in (("ana", 60), ("bo", 60), ("cy", 15)):
        for i in range(n):
            qid = f"{name}-{i}"
            truth = rng.normal(0, 1.5)
            qs.append({"qid": qid, "title": f"{qid}?", "opens": "2015-01-01", "closes": "2020-06-01", "tags": "team"})
            for day, scale in (("2015-02-01", 3.0), ("2020-03-11", 2.0)):
                fs.append({"question": qid, "forecaster": name, "made_at": day,
                           "probability": float(1 / (1 + np.exp(-truth / scale)))})
            rs.append({"question": qid, "outcome": "yes" if rng.uniform() < 1 / (1 + np.exp(-truth)) else "no",
                       "on": "2020-06-01"})
    qs.append({"qid": "open-q", "title": "Open?", "opens": "2020-01-01", "closes": "2027-06-01", "tags": "team"})
    fs += [{"question": "open-q", "forecaster": "ana", "made_at": "2020-07-01", "probability": 0.7},
           {"question": "open-q", "forecaster": "cy", "made_at": "2020-07-02", "probability": 0.3}]
    ledger.import_history(questions=qs, forecasts=fs, resolutions=rs, source="import:test")


def test_contextual_needs_a_fit(cli, ledger):
    _team_ledger(ledger)
    r = cli("update", "open-q", "--model", "contextual")
    assert r.returncode == 2 and "forecasts fit --model contextual" in r.stderr
    r = cli("fit", "--model", "contextual", "--of", "nobody")
    assert r.returncode == 2 and "nothing to learn from" in r.stderr
    r = cli("fit", "--model", "oracle")
    assert r.returncode == 2 and r.stderr.count("\n") == 1


@pytest.mark.slow
def test_contextual_fit_update_and_backtest_for_a_team(cli, ledger, db_path):
    """`forecasts fit --model contextual` pools the team; `update --model contextual` writes one
    row per analyst with the posterior interval; backtests after the training data run, before
    it they refuse."""
    import json

    _team_ledger(ledger)
    r = cli("fit", "--model", "contextual", "--world", "--as-of", "2020-06-02", "--draws", "600", "--tune", "500",
            "--seed", "3")
    assert r.returncode == 0, r.stderr
    assert "fitted 135 resolved questions" in r.stdout and "3 groups (forecaster)" in r.stdout
    assert "NOT CONVERGED" not in r.stdout
    saved = sorted(models_folder(ledger).glob("contextual-*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["trained_through"] == "2020-06-01T00:00:00"
    r = cli("update", "open-q", "--model", "contextual", "--json")
    assert r.returncode == 0, r.stderr
    rows = {row["forecaster"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {"model:contextual:ana", "model:contextual:cy"}
    ana, cy = rows["model:contextual:ana"], rows["model:contextual:cy"]
    assert ana["probability"] > 0.7 and cy["probability"] < 0.3          # underconfident analysts
    for row in (ana, cy):
        lo, hi = row["params"]["interval90"]
        assert lo < row["probability"] < hi and row["model_version"] == "contextual-1"
    stored = [f for f in Ledger.open(db_path).records("forecasts") if f["forecaster"].startswith("model:contextual")]
    assert len(stored) == 2 and {f["source"] for f in stored} == {"model:contextual"}
    r = cli("backtest", "open-q", "--model", "contextual", "--from", "2020-07-03", "--to", "2020-07-24",
            "--every", "1w")
    assert r.returncode == 0, r.stderr
    assert "8 backtest rows written as backtest:contextual" in r.stdout    # 4 dates x 2 analysts
    r = cli("backtest", "open-q", "--model", "contextual", "--from", "2020-03-01", "--to", "2020-04-01")
    assert r.returncode == 2 and "would look ahead" in r.stderr
