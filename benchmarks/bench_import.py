"""Benchmark: importing real track records and a synthetic million-row forecast frame.

Times, each into a fresh DuckDB ledger in a temporary folder:

* the Metaculus community series (``../shared/data/metaculus_binary_community_timeseries.parquet``,
  ~196k points on 2,437 questions) through :func:`forecasts.sources.metaculus.import_metaculus`,
  then the same file again (the idempotent re-import: everything skipped);
* the PredictionBook forecasts (63,592 rows on 18,670 questions) through
  :func:`forecasts.sources.predictionbook.import_predictionbook`;
* a synthetic frame of 1,000,000 forecasts (default) on 10,000 questions by 1,000 forecasters
  through :meth:`forecasts.ledger.Ledger.import_forecast_frame` (the validated, vectorised bulk
  path; target: 1 million rows in 10 s).

Each line gives wall time and rows per second; the importers' summaries show how the time
splits between questions (row-wise ``import_history``) and forecasts (bulk).  Real files absent
from ``../shared/data`` are skipped with a note.

Run: ``.venv/bin/python benchmarks/bench_import.py [--n 1000000]``.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from forecasts.ledger import Ledger
from forecasts.sources.metaculus import import_metaculus
from forecasts.sources.predictionbook import import_predictionbook

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class Stages:
    """Wall-clock time at each progress call, to split an import into its phases."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.marks: list[tuple[float, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.marks.append((time.perf_counter() - self.t0, done))


def report(name: str, rows: int, seconds: float, extra: str = "") -> None:
    print(f"{name:46s} {rows:>9,d} rows {seconds:7.2f} s {rows / seconds:>11,.0f} rows/s {extra}")


def bench_metaculus(folder: Path) -> None:
    ts, qs = SHARED / "metaculus_binary_community_timeseries.parquet", SHARED / "metaculus_binary_questions.csv"
    if not ts.exists():
        print(f"skipped Metaculus: {ts} absent")
        return
    ledger = Ledger.open(folder / "metaculus.duckdb", create=True)
    stages = Stages()
    t = time.perf_counter()
    s = import_metaculus(ledger, ts, questions=qs, skip_malformed=True, progress=stages)
    wall = time.perf_counter() - t
    rows = s.rows_read
    phases = [round(b[0] - a[0], 2) for a, b in zip(stages.marks, stages.marks[1:], strict=False)]
    report("Metaculus series (import_metaculus)", rows, wall,
           f"added {s.added}; phases (read+prepare, questions check, forecasts check, questions+resolutions write, forecasts write) "
           f"{[round(stages.marks[0][0], 2), *phases]} s")
    t = time.perf_counter()
    s = import_metaculus(ledger, ts, questions=qs, skip_malformed=True)
    report("Metaculus series again (all skipped)", rows, time.perf_counter() - t, f"added {s.total_added()}")


def bench_predictionbook(folder: Path) -> None:
    fs, qs = SHARED / "predictionbook_forecasts.parquet", SHARED / "predictionbook_questions.parquet"
    if not fs.exists():
        print(f"skipped PredictionBook: {fs} absent")
        return
    ledger = Ledger.open(folder / "pb.duckdb", create=True)
    stages = Stages()
    t = time.perf_counter()
    s = import_predictionbook(ledger, fs, questions=qs, skip_malformed=True, progress=stages)
    wall = time.perf_counter() - t
    phases = [round(b[0] - a[0], 2) for a, b in zip(stages.marks, stages.marks[1:], strict=False)]
    report("PredictionBook (import_predictionbook)", s.rows_read, wall,
           f"added {s.added}, {len(s.malformed)} malformed left out; phases {[round(stages.marks[0][0], 2), *phases]} s")


def bench_frame(folder: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    n_q, n_f = 10_000, 1_000
    ledger = Ledger.open(folder / "bulk.duckdb", create=True)
    ledger.import_history(source="import:bench", questions=[
        {"qid": f"q{i}", "title": f"Question {i}?", "opens": "2015-01-01", "closes": "2025-01-01"} for i in range(n_q)])
    start = np.datetime64("2015-01-02T00:00:00", "us")
    frame = pd.DataFrame({
        "question": np.char.add("q", rng.integers(0, n_q, n).astype(str)).astype(object),
        "forecaster": np.char.add("user", rng.integers(0, n_f, n).astype(str)).astype(object),
        "made_at": start + rng.integers(0, 3_000 * 86_400, n).astype("timedelta64[s]"),
        "probability": np.round(rng.uniform(0.01, 0.99, n), 2),
        "source_id": np.char.add("f", np.arange(n).astype(str)).astype(object),
    })
    t = time.perf_counter()
    r = ledger.import_forecast_frame(frame, source="import:bench")
    report(f"synthetic frame (import_forecast_frame, n={n:,})", n, time.perf_counter() - t, f"added {r['added']:,}")
    t = time.perf_counter()
    r = ledger.import_forecast_frame(frame, source="import:bench")
    report("synthetic frame again (all skipped)", n, time.perf_counter() - t, f"skipped {r['skipped_existing']:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="rows of the synthetic frame")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_metaculus(folder)
        bench_predictionbook(folder)
        bench_frame(folder, args.n)


if __name__ == "__main__":
    main()
