"""Model 3 (learned event effects): the design built from records, prediction from stored
draws without PyMC, and (slow) recovery of effects simulated from the model's own prior:
90% interval coverage over repeated small fits and a simulation-based calibration check."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from forecasts.errors import InvalidInput
from forecasts.models import evidence as ev
from forecasts.models import hierarchical as hm


def test_event_type_uses_cameo_root_and_quad():
    assert hm.event_type("111") == ("11", "3")
    assert hm.event_type("057") == ("05", "1")
    assert hm.event_type("") == ("none", "none")


def _fake_summary(beta_mean=1.0, n=400):
    rng = np.random.default_rng(0)
    return {"version": "t", "types": ["03"], "quads": ["1"], "type_quad": [0],
            "draws": {"alpha": np.zeros(n).tolist(), "gamma": np.zeros(n).tolist(),
                      "tau": np.full(n, 0.1).tolist(), "mu": rng.normal(0.5, 0.01, (n, 1)).tolist(),
                      "beta": rng.normal(beta_mean, 0.01, (n, 1)).tolist()},
            "trained_through": "2020-01-01T00:00:00", "diagnostics": {"converged": True}}


def test_predict_uses_learned_effects_in_the_assessed_direction():
    s = _fake_summary(beta_mean=1.0)
    items = ev.combine([{"event": 1, "lr": 1.5, "cameo": "036", "goldstein": 4.0},
                        {"event": 2, "lr": 0.5, "cameo": "0312", "goldstein": 4.0}])
    out = hm.predict(s, 0.5, items[:1])
    assert out["probability"] == pytest.approx(ev.expit(1.0), abs=0.01)   # learned LR e^1, not 1.5
    both = hm.predict(s, 0.5, items)
    assert both["probability"] == pytest.approx(0.5, abs=0.01)   # +1 and -1 cancel
    unseen = hm.predict(s, 0.5, ev.combine([{"event": 3, "lr": 2.0, "cameo": "111"}]))
    assert 0 < unseen["q05"] < unseen["probability"] < unseen["q95"] < 1   # pooled from the prior
    assert "unseen type" in unseen["explanation"][1]


def test_load_summary_gates(tmp_path):
    with pytest.raises(InvalidInput, match="run 'forecasts fit'"):
        hm.load_summary(tmp_path)
    s = _fake_summary()
    s["diagnostics"] = {"converged": False, "rhat_max": 1.2, "divergences": 3, "ess_bulk_min": 50}
    path = hm.save_summary(s, tmp_path)
    assert path.name == "learned-t.json" and json.loads(path.read_text())["version"] == "t"
    with pytest.raises(InvalidInput, match="did not converge"):
        hm.load_summary(tmp_path)
    assert hm.load_summary(tmp_path, allow_unconverged=True)["version"] == "t"


def test_importing_the_model_module_does_not_import_pymc():
    assert "forecasts.models.hierarchical" in sys.modules
    # pymc may have been imported by another test, so check in a fresh interpreter
    import subprocess

    code = "import forecasts.models.hierarchical, forecasts.runs.live, forecasts.runs.learned, sys; print('pymc' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


@pytest.mark.slow
def test_recovers_simulated_effects_with_calibrated_intervals():
    """Repeated small fits on data simulated from the prior: the 90% intervals of every
    parameter should cover the truth about 90% of the time, and the rank of each true value
    among its posterior draws should be uniform (simulation-based calibration, Talts et al.
    2018).  20 fits x 13 parameters; 2 chains x 300 draws each."""
    reps, covered, ranks = 20, [], []
    for rep in range(reps):
        design, truth = hm.simulate(40, 6, n_types=6, n_quads=3, rng=1000 + rep)
        idata, diag = hm.sample(design, draws=300, tune=400, seed=rep)
        assert diag["divergences"] <= 2
        post = idata["posterior"]
        for name in ("alpha", "gamma", "tau", "beta", "mu"):
            draws = np.asarray(post[name]).reshape(-1, *np.asarray(post[name]).shape[2:])
            true = np.atleast_1d(truth[name])
            draws = draws.reshape(draws.shape[0], -1)
            lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
            covered += list((lo <= true) & (true <= hi))
            thinned = draws[::6]   # ~100 roughly independent draws
            ranks += list((thinned < true).mean(axis=0))
    coverage = np.mean(covered)
    assert 0.80 <= coverage <= 0.97, coverage
    # SBC: the rank fractions should be uniform on [0, 1]; 10 bins, chi-square with 9 d.f.
    counts = np.histogram(ranks, bins=10, range=(0, 1))[0]
    expected = len(ranks) / 10
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 30, (chi2, counts)   # 9 d.f.: P(chi2 > 30) ~ 0.0004 under uniformity (ranks are only roughly independent)


def test_design_from_records_needs_no_ledger():
    """Plain records in (as Ledger.records returns them): only resolved binary questions count,
    events before a forecast prior are in it already, and an imported record is no prior."""
    from datetime import datetime as dt

    qs = [{"id": "a", "kind": "binary", "base_rate": None, "opens_at": dt(2020, 1, 1), "closes_at": dt(2020, 12, 1)},
          {"id": "b", "kind": "binary", "base_rate": None, "opens_at": dt(2020, 1, 1), "closes_at": dt(2020, 12, 1)}]
    fs = [{"question": "a", "forecaster": "import:metaculus", "made_at": dt(2020, 1, 2), "probability": 0.9},
          {"question": "a", "forecaster": "ana", "made_at": dt(2020, 2, 1), "probability": 0.25}]
    vs = [{"question": "a", "event": 1, "lr": 3.0, "assessed_by": "ana", "occurred_at": dt(2020, 1, 10), "cameo": "036"},
          {"question": "a", "event": 2, "lr": 3.0, "assessed_by": "ana", "occurred_at": dt(2020, 3, 1), "cameo": "111"}]
    rs = [{"question": "a", "outcome": "yes", "resolved_at": dt(2020, 6, 1)}]
    d = hm.design_from_records(qs, fs, vs, rs)
    assert d.questions == ["a"] and d.y.tolist() == [1]
    assert d.prior_logit.tolist() == pytest.approx([ev.logit(0.25)])   # ana's, not the import's 0.9
    assert d.types == ["11"] and d.n_events == 1                        # event 1 predates her forecast
    assert d.trained_through == "2020-06-01T00:00:00"
