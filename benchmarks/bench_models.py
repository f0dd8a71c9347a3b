"""Benchmarks of the models (run: ``.venv/bin/python benchmarks/bench_models.py [--quick]``).

1. In process: an evidence and a hazard update of one question (30 assessed events), median
   of many runs: the model step alone, and the whole ``forecasts.runs.live.forecast`` (one ledger read through one connection + model).
2. Cold start of ``forecasts update QUESTION`` (closed-form model) against ``forecasts log`` in
   the same run: subprocesses, median of 10, each against a fresh copy of a small ledger.
3. The learned model on 200 simulated resolved questions with about 2,000 events: sampling
   wall time (including PyTensor's compile for the first fit, then warm) and bulk ESS per
   second, for NUTS with ``nuts_sampler="pymc"`` and, if installed, nutpie.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _median_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def bench_in_process() -> dict:
    from forecasts.ledger import Ledger
    from forecasts.models import evidence, hazard
    from forecasts.runs import live

    t0 = datetime(2020, 8, 19)
    rows = [{"event": i, "lr": (3.0 if i % 3 else 1 / 1.5), "weight": 1.0 if i % 5 else 0.5,
             "occurred_at": t0 + timedelta(days=4 * i), "event_title": f"event {i}", "assessed_by": "ana"}
            for i in range(30)]
    out = {"evidence_model_ms": _median_ms(lambda: evidence.update(0.45, rows), 2000),
           "hazard_model_ms": _median_ms(lambda: hazard.update(0.45, t0, datetime(2021, 2, 5), datetime(2021, 1, 1),
                                                                rows), 2000)}
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger.open(Path(tmp) / "b.duckdb", create=True)
        ledger.import_history(questions=[{"qid": "q", "title": "Q?", "opens": "2020-08-01", "closes": "2300-01-01"}],
                              events=[{"title": r["event_title"], "on": r["occurred_at"]} for r in rows],
                              source="import:bench")
        ids = [e["seq"] for e in ledger.records("events")]
        ledger.import_history(forecasts=[{"question": "q", "forecaster": "ana", "made_at": "2020-08-02", "probability": 0.45}],
                              evidence=[{"question": "q", "event": i, "by": "ana", "lr": r["lr"], "weight": r["weight"]}
                                        for i, r in zip(ids, rows, strict=True)], source="import:bench")
        for m in ("evidence", "hazard"):
            out[f"{m}_forecast_with_ledger_reads_ms"] = _median_ms(lambda m=m: live.forecast(ledger, "q", m), 30)
    return out


def bench_cold_start(reps: int = 10) -> dict:
    from forecasts.ledger import Ledger

    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.duckdb"
        ledger = Ledger.open(template, create=True)
        ledger.add_question("talks", title="Talks before March?", closes="2300-03-01", by="bench")
        ledger.log("talks", 0.4, by="bench")
        e = ledger.add_event("Moscow rejects all meetings", on=datetime.now() - timedelta(days=1))
        ledger.add_evidence("talks", e["seq"], strength="moderate for no", by="bench")
        # bytecode caching on (as for an installed package): one untimed warm-up run of each
        # command writes the .pyc files, so neither command pays for compiling source
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["FORECASTS_USER"] = "bench"
        times = {"log": [], "update": []}
        for i in range(-1, reps):
            for cmd, args in (("log", ["log", "talks", "55%"]), ("update", ["update", "talks", "--model", "hazard"])):
                db = Path(tmp) / f"{cmd}-{i}.duckdb"
                shutil.copy(template, db)
                t = time.perf_counter()
                r = subprocess.run([py, "-m", "forecasts.cli", *args, "--db", str(db)], capture_output=True,
                                   text=True, env=env, cwd=ROOT)
                if i >= 0:
                    times[cmd].append(time.perf_counter() - t)
                if r.returncode:
                    raise SystemExit(f"{cmd} failed: {r.stderr}")
    log, upd = statistics.median(times["log"]), statistics.median(times["update"])
    return {"log_cold_s": log, "update_cold_s": upd, "ratio": upd / log, "target_ratio": 1.5}


def bench_learned(quick: bool) -> dict:
    from forecasts.models import hierarchical as hm

    design, _ = hm.simulate(200, 10.0, rng=2026)
    out: dict[str, Any] = {"questions": len(design.y), "events": design.n_events, "parameters": 1 + 1 + 1 + len(design.quads)
           + len(design.types)}
    draws = 300 if quick else 1000
    for label in ("pymc first (with compile)", "pymc warm"):
        t = time.perf_counter()
        _, d = hm.sample(design, draws=draws, tune=draws, seed=1, sampler="pymc")
        out[label] = {"wall_s": time.perf_counter() - t, "ess_bulk_min": d["ess_bulk_min"],
                      "ess_per_s": d["ess_bulk_min"] / (time.perf_counter() - t), "rhat_max": d["rhat_max"],
                      "divergences": d["divergences"]}
    try:
        import nutpie  # noqa: F401  # pyright: ignore[reportMissingImports]
    except ImportError:
        out["nutpie"] = "not installed (add the project's 'nutpie' extra to measure it)"
    else:
        t = time.perf_counter()
        _, d = hm.sample(design, draws=draws, tune=draws, seed=1, sampler="nutpie")
        out["nutpie"] = {"wall_s": time.perf_counter() - t, "ess_bulk_min": d["ess_bulk_min"],
                         "ess_per_s": d["ess_bulk_min"] / (time.perf_counter() - t), "divergences": d["divergences"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer draws for the learned model")
    parser.add_argument("--skip-learned", action="store_true")
    args = parser.parse_args()
    results = {"in_process": bench_in_process(), "cold_start": bench_cold_start()}
    if not args.skip_learned:
        results["learned"] = bench_learned(args.quick)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
