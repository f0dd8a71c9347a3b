"""Cold start of ``forecasts log`` against the floor for a DuckDB CLI and against augur-cli.

Run from the project folder:  ``uv run python benchmarks/bench_startup.py [--runs 10]``

In one run, interleaved so that machine load hits all alike, each measured as the median wall
time of ``--runs`` fresh processes:

* ``forecasts log``: the real console script appending one forecast to a real ledger;
* the floor: a script that imports duckdb, typer and rich, opens a DuckDB file and inserts one
  row (no CLI can do less and still be a DuckDB CLI written with typer and rich);
* ``augur add`` from augur-cli, a zero-dependency SQLite forecast logger, installed into a
  throwaway virtual environment under a temporary folder (never into the project).

Also checks that ``forecasts log`` and ``forecasts --help`` load none of pandas, numpy, scipy,
statsmodels, matplotlib, PyMC or pytensor.  Target: ``forecasts log`` within 1.2x of the floor.
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
from pathlib import Path

FLOOR = """
import duckdb, typer, rich, sys
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE IF NOT EXISTS t (q VARCHAR, p DOUBLE)")
con.execute("INSERT INTO t VALUES (?, ?)", ["rain", 0.4])
con.close()
"""
PROBE = """
import sys
from forecasts.cli import main
sys.argv = ['forecasts'] + sys.argv[1:]
try:
    main()
except SystemExit:
    pass
heavy = {'pandas', 'numpy', 'scipy', 'statsmodels', 'matplotlib', 'pymc', 'pytensor'}
print(sorted({m.split('.')[0] for m in sys.modules} & heavy))
"""


def _time(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _augur(tmp: Path) -> list[str] | None:
    venv = tmp / "augur-venv"
    python = shutil.which("python3") or sys.executable
    try:
        subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "augur-cli"], check=True, capture_output=True)
    except subprocess.CalledProcessError as exc:
        print(f"augur-cli could not be installed ({exc}); skipping it", file=sys.stderr)
        return None
    return [str(venv / "bin" / "augur"), "--db", str(tmp / "augur.db"), "add", "Will it rain?", "-p", "40%"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="no .pyc files at all: every process compiles every module it imports")
    args = parser.parse_args()
    forecasts = shutil.which("forecasts", path=str(Path(sys.executable).parent)) or "forecasts"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env = {**os.environ, "FORECASTS_DB": str(tmp / "ledger.duckdb"), "FORECASTS_USER": "bench"}
        if args.no_bytecode_cache:  # an empty, read-only-by-convention pycache prefix
            env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(tmp / "no-pycache"))
        else:  # as on a user's machine: the warm-up run writes .pyc files
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([forecasts, "init"], check=True, env=env, capture_output=True)
        subprocess.run([forecasts, "question", "add", "rain", "--title", "Rain?", "--closes", "2300-01-01"],
                       check=True, env=env, capture_output=True)
        commands = {
            "forecasts log": [forecasts, "log", "rain", "40%", "--why", "bench"],
            "floor (duckdb+typer+rich, 1 insert)": [sys.executable, "-c", FLOOR, str(tmp / "floor.duckdb")],
            "forecasts --help": [forecasts, "--help"],
        }
        augur = _augur(tmp)
        if augur:
            commands["augur add (augur-cli)"] = augur
        for cmd in commands.values():  # warm the file cache once
            _time(cmd, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(_time(cmd, env))
        heavy = {}
        for label, extra in (("log", ["log", "rain", "41%"]), ("--help", ["--help"])):
            out = subprocess.run([sys.executable, "-c", PROBE, *extra], env=env, capture_output=True, text=True)
            heavy[label] = out.stdout.strip().splitlines()[-1]
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    floor = medians["floor (duckdb+typer+rich, 1 insert)"]
    cache = "off (no .pyc read or written)" if args.no_bytecode_cache else "on"
    print(f"cold start, median of {args.runs} runs each (seconds); bytecode cache {cache}")
    for name, m in medians.items():
        print(f"  {name:40s} {m:7.3f}   {m / floor:5.2f}x floor   (min {min(times[name]):.3f}, max {max(times[name]):.3f})")
    ratio = medians["forecasts log"] / floor
    print(f"target: forecasts log <= 1.2x floor -> {ratio:.2f}x {'MET' if ratio <= 1.2 else 'MISSED'}")
    print(f"heavy modules loaded: log {heavy['log']}, --help {heavy['--help']}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"startup{'-nocache' if args.no_bytecode_cache else ''}.json").write_text(json.dumps({"medians": medians, "runs": times, "heavy": heavy}, indent=1))


if __name__ == "__main__":
    main()
