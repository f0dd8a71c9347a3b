"""Many writers at once: a team ledger on PostgreSQL against a DuckDB file, and against the floor.

Run from the project folder:  ``uv run python benchmarks/bench_team.py [--writers 8] [--each 250]``

Starts a throwaway PostgreSQL cluster (as the tests do, ``tests/pgcluster.py``), then, in one
run, ``--writers`` processes each append ``--each`` forecasts one at a time through the path the
CLI takes (``Ledger.log``, one transaction per forecast):

* on a team ledger in that cluster (each writer its own forecaster);
* on one DuckDB file (``lock_timeout`` 5 s, as the CLI's default); a write refused with
  ``StoreLocked`` counts as refused;
* the floor: the same processes inserting one row per transaction into a plain PostgreSQL table
  with psycopg (no chain, no rules, no security): what the server itself costs.

Prints acknowledged / refused / lost (acknowledged but not in the ledger afterwards), whether the
chain verifies, writes per second and the p50/p99 latency of an acknowledged write, and the team
ledger's ratio to the floor.  Target (issue 15): on the team ledger all acknowledged, 0 refused,
0 lost, the chain verifies.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

WRITER = textwrap.dedent("""
    import json, sys, time
    from forecasts.errors import StoreLocked
    from forecasts.ledger import Ledger
    where, n, who, start = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    ledger = Ledger(where)
    while time.time() < start:
        time.sleep(0.001)
    ok, refused, lat, seqs = 0, 0, [], []
    for i in range(n):
        t = time.perf_counter()
        try:
            row = ledger.log("rain", 0.01 + (i % 98) / 100, by=who)
        except StoreLocked:
            refused += 1
            continue
        lat.append(time.perf_counter() - t)
        seqs.append(row["seq"])
        ok += 1
    print(json.dumps({"ok": ok, "refused": refused, "lat": lat, "seqs": seqs}))
""")

FLOOR = textwrap.dedent("""
    import json, sys, time
    import psycopg
    url, n, who, start = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    conn = psycopg.connect(url, autocommit=True)
    while time.time() < start:
        time.sleep(0.001)
    lat = []
    for i in range(n):
        t = time.perf_counter()
        with conn.transaction():
            conn.execute("INSERT INTO plain VALUES (%s, %s, %s, clock_timestamp())", ["rain", who, 0.5])
        lat.append(time.perf_counter() - t)
    print(json.dumps({"ok": n, "refused": 0, "lat": lat, "seqs": []}))
""")


def run(script: str, where: str, writers: int, each: int) -> dict:
    start = time.time() + 3.0  # every process imported and connected before the clock starts
    procs = [subprocess.Popen([sys.executable, "-c", script, where, str(each), f"w{i}", str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(writers)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=3600)
        if p.returncode != 0:
            raise SystemExit(f"a writer failed: {err.strip().splitlines()[-1]}")
        outs.append(json.loads(out))
    wall = time.time() - start
    lat = sorted(x for o in outs for x in o["lat"])
    return {"ok": sum(o["ok"] for o in outs), "refused": sum(o["refused"] for o in outs),
            "seqs": [s for o in outs for s in o["seqs"]], "wall": wall,
            "per_s": sum(o["ok"] for o in outs) / wall,
            "p50": statistics.median(lat) if lat else float("nan"),
            "p99": lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--each", type=int, default=250)
    args = parser.parse_args()

    import pgcluster
    import psycopg

    from forecasts.ledger import Ledger
    from forecasts.ledger.postgres_storage import close_idle

    cluster = pgcluster.Cluster()
    rows = []
    try:
        team_url = cluster.new_database("team")
        team = Ledger.open(team_url, create=True)
        team.add_question("rain", title="Rain?", closes="2300-01-01")
        floor_url = cluster.new_database("floor")
        with psycopg.connect(floor_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE plain (question TEXT, forecaster TEXT, p DOUBLE PRECISION, at TIMESTAMPTZ)")
        folder = Path(tempfile.mkdtemp(prefix="bench-team-"))
        file = Ledger.open(folder / "shared.duckdb", create=True)
        file.add_question("rain", title="Rain?", closes="2300-01-01")
        close_idle()

        for name, script, where, ledger in (("floor: plain PostgreSQL INSERT", FLOOR, floor_url, None),
                                            ("team ledger (PostgreSQL)", WRITER, team_url, team),
                                            ("one DuckDB file", WRITER, str(folder / "shared.duckdb"), file)):
            r = run(script, where, args.writers, args.each)
            if ledger is not None:
                present = set(ledger.forecasts()["seq"])
                r["lost"] = len(set(r["seqs"]) - present)
                r["verifies"] = ledger.verify().ok
            else:
                r["lost"], r["verifies"] = 0, None
            rows.append((name, r))
    finally:
        close_idle()
        cluster.close()

    n = args.writers * args.each
    print(f"{args.writers} writers x {args.each} forecasts = {n} writes, one transaction each\n")
    print(f"{'':32} {'acked':>6} {'refused':>7} {'lost':>4} {'verifies':>8} {'writes/s':>9} {'p50 ms':>7} {'p99 ms':>7}")
    for name, r in rows:
        ver = "" if r["verifies"] is None else str(r["verifies"])
        print(f"{name:32} {r['ok']:6d} {r['refused']:7d} {r['lost']:4d} {ver:>8} {r['per_s']:9.1f} "
              f"{r['p50'] * 1000:7.1f} {r['p99'] * 1000:7.1f}")
    floor, team_r = rows[0][1], rows[1][1]
    print(f"\nteam ledger / floor: {floor['per_s'] / team_r['per_s']:.2f}x the time per write "
          f"(p50 {team_r['p50'] / floor['p50']:.2f}x)")
    ok = team_r["ok"] == n and team_r["refused"] == 0 and team_r["lost"] == 0 and team_r["verifies"]
    print("target (all acknowledged, 0 refused, 0 lost, verifies):", "met" if ok else "MISSED")


if __name__ == "__main__":
    main()
