"""Real-size ledgers end to end (issue 10): every step of the CLI against its floor, in one run.

How to run::

    python -m uv run python benchmarks/bench_scale.py --quick            # 10k and 30k forecasts
    python -m uv run python benchmarks/bench_scale.py                    # 100k and 1M (default)
    python -m uv run python benchmarks/bench_scale.py --sizes 100k,1m,10m --timeout 900 --json out.json
    options: --seed N (data is a pure function of it), --workdir DIR (default a temp dir),
             --keep (leave the generated CSVs and ledgers), --timeout S (per step, default 900),
             --skip 'report,export hubverse' (steps not run; their targets are n/a; with verify
             skipped its floors are not measured either),
             --hub-round day|week|month (the rounds of the hubverse step; default day)

Each size builds a synthetic ledger: ``n/100`` questions (100 forecasts each: 25 forecasters x
4 revisions), ``max(25, n/1000)`` forecasters, human-like probabilities on a 1% grid (clustered
at multiples of 5%), questions opening 2015-2026 and running 30-730 days, about 85% resolved
yes/no, 3% ambiguous, 2% annulled, 10% open.  The CSV is written by DuckDB ``COPY`` (streamed,
so 10M rows need little memory) and loaded through the real CLI, ``forecasts import csv``.
Corrections, retractions and re-resolutions cannot be written through ``import csv``, so these
ledgers have none (the benchmark's score query does not handle them either).

Every step runs as its own process of the installed CLI (``python -m forecasts``), with
``--timeout`` seconds (a step that times out prints ``timeout`` and the run goes on); wall time
and CPU time (user+sys) of the child come from ``os.wait4``, its peak RSS from GNU time
(``/usr/bin/time -f %M``: a child's own counter starts at this process's peak).  Steps: import csv, the
same import again (all rows present), verify, score (--json), calibration (bytes of stdout),
report (bytes of HTML), export in each format, update --all --model aggregate, and cold starts
of questions/history/due/events/score against ``forecasts log`` on a 10k-forecast ledger
(median of several runs; ``log`` writes to a throwaway copy).

Floors, measured in the same run on the same data:

1. import: a new DuckDB file, ``CREATE TABLE`` + ``INSERT ... SELECT * FROM read_csv(...)`` of
   the same CSV (in a child process, timed the same way);
2. verify: the canonical text of every ledger row (``forecasts.ledger.integrity.canonical``,
   computed beforehand, not timed) stored with its ``prev_hash`` and ``hash`` (every row's, from
   an export of the ledger) in a Parquet file;
   (a) one DuckDB query recomputing ``sha256(prev_hash || canonical)`` for every row in parallel
   and counting mismatches (child process), (b) a plain ``hashlib`` loop over the same bytes;
3. score: one DuckDB SQL query on the ledger file (``lead(made_at) over (partition by question,
   forecaster order by made_at, seq)``, holding times clipped to [opens_at, least(closes_at,
   resolved_at)], time-weighted 0-1 Brier per pair, mean per forecaster); ``forecasts score
   --json`` must give the same per-forecaster numbers (max abs difference printed, target 1e-12);
4. disk: the ledger file vs the forecasts table's non-hash columns copied into a new DuckDB
   file (and, for reference, the same with both hashes on every row, as 64 hex characters and
   as 32-byte BLOBs, from an export of the ledger);
5. startup: ``forecasts log`` cold start;
6. export hubverse: the file system alone: as many files as the export wrote (its ``wrote N
   file(s)``), of their mean size, in as many folders, each written with one
   ``os.open``/``os.write``/``os.close`` (child process; its files are deleted after);
7. export fatebook: one DuckDB ``COPY`` writing the same CSV from the ledger file (binary
   questions; the benchmark's ledgers have no other kind), whose bytes are compared with the
   export's.

A daily hub (``--hub-round day``) has about one model output file per forecast here (each
forecaster forecasts on hundreds of distinct days): 8.6 million 4 KB files at 10M forecasts, and
the floor writes as many again.  Run 10M with ``--hub-round week`` (4.5 million) or ``month``
(1.4 million) unless the disk and its inodes allow that (``df -i``).

The import, SQL verify and SQL score floors run as child processes like the CLI steps, so their
times include starting Python and importing DuckDB (about 0.2 s here), as the CLI's include its
own start; the hashlib floor is the loop's time alone.

Prints one table per size, the log-log slope of each step's time vs forecasts when two or more
sizes ran, and each target of the issue with PASS/FAIL and its number; ``--json FILE`` writes
every number.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TODAY_CUT = "2026-11-30 00:00:00"
PER_QUESTION = 100      # 25 forecasters x 4 revisions
PAIRS = 25
REVISIONS = 4
COLD_RUNS = 5


def parse_size(text: str) -> int:
    """``10k`` -> 10_000, ``1m`` -> 1_000_000."""
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def label(n: int) -> str:
    """10_000 -> ``10k``."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# ---------------------------------------------------------------------- data

def write_csv(path: Path, n: int, seed: int) -> dict[str, int]:
    """Write a synthetic track record of about ``n`` forecasts as a CSV ``import csv`` reads."""
    import duckdb

    n_q = max(1, n // PER_QUESTION)
    n_f = max(PAIRS, n // 1000)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = true")
    # u(tag, a, b): a deterministic uniform in [0, 1) from the seed, a tag and up to two ints.
    con.execute(f"""CREATE MACRO u(tag, a, b) AS
        (hash({seed}, tag, a, b) % 1000000007)::DOUBLE / 1000000007.0""")
    con.execute(f"""
        CREATE TEMP TABLE q AS
        SELECT i AS q,
               CASE WHEN u('st', i, 0) < 0.10 THEN 'open'
                    WHEN u('st', i, 0) < 0.13 THEN 'ambiguous'
                    WHEN u('st', i, 0) < 0.15 THEN 'annulled'
                    WHEN u('yes', i, 0) < 0.4 THEN 'yes' ELSE 'no' END AS status,
               30 + floor(u('len', i, 0) * 700)::INT AS days
        FROM range({n_q}) t(i)""")
    con.execute("""
        CREATE TEMP TABLE qq AS
        SELECT q, status, days,
               CASE WHEN status = 'open'
                    THEN TIMESTAMP '2026-06-01' + to_days(floor(u('op', q, 0) * 150)::INT)
                    ELSE TIMESTAMP '2015-01-01' + to_days(floor(u('op', q, 0) * 3600)::INT) END AS opens
        FROM q""")
    con.execute(f"""
        CREATE TEMP TABLE qs AS
        SELECT q, status, opens,
               CASE WHEN status = 'open' THEN greatest(opens + to_days(days), TIMESTAMP '2027-01-15')
                    ELSE least(opens + to_days(days), TIMESTAMP '{TODAY_CUT}') END AS closes
        FROM qq""")
    # resolved questions resolve on their close date or, for a fifth of them, earlier
    con.execute("""
        CREATE TEMP TABLE qr AS
        SELECT *, CASE WHEN status = 'open' THEN NULL
                       WHEN u('early', q, 0) < 0.2
                       THEN opens + to_microseconds(((epoch_us(closes) - epoch_us(opens))
                                                      * (0.5 + 0.5 * u('rt', q, 0)))::BIGINT)
                       ELSE closes END AS resolved_at,
               least(closes, TIMESTAMP '""" + TODAY_CUT + """') AS window_end
        FROM qs""")
    con.execute(f"""
        COPY (
          WITH f AS (
            SELECT i, i // {PER_QUESTION} AS q, (i % {PER_QUESTION}) // {REVISIONS} AS pair,
                   i % {REVISIONS} AS rev FROM range({n_q * PER_QUESTION}) t(i)
          ), g AS (
            SELECT f.*, qr.status, qr.opens, qr.closes, qr.resolved_at,
                   coalesce(qr.resolved_at, qr.window_end) AS stop,
                   (f.q * 31 + f.pair) % {n_f} AS who,
                   -- the pair's belief: drawn towards the outcome, plus per-revision noise
                   CASE qr.status WHEN 'yes' THEN 0.62 WHEN 'no' THEN 0.32 ELSE 0.45 END
                     + 0.30 * (u('sk', f.q, f.pair) - 0.5)
                     + 0.25 * (u('n1', f.i, 0) + u('n2', f.i, 0) + u('n3', f.i, 0) - 1.5) / 1.5 AS belief
            FROM f JOIN qr USING (q)
          ), h AS (
            SELECT *,
                   opens + to_microseconds(((epoch_us(stop) - epoch_us(opens))
                                            * (0.999 * u('t', i, 0)))::BIGINT) AS made,
                   least(99, greatest(1, CASE WHEN u('r5', i, 0) < 0.5
                                              THEN round(belief * 20) * 5
                                              ELSE round(belief * 100) END))::INT AS pct
            FROM g
          )
          SELECT 'q' || lpad(q::VARCHAR, 6, '0') AS question,
                 'f' || lpad(who::VARCHAR, 5, '0') AS forecaster,
                 strftime(date_trunc('second', made), '%Y-%m-%dT%H:%M:%S') AS made_at,
                 printf('%.2f', pct / 100.0) AS probability,
                 's' || i::VARCHAR AS source_id,
                 CASE WHEN i % {PER_QUESTION} = 0 THEN 'Synthetic question ' || q::VARCHAR END AS title,
                 CASE WHEN i % {PER_QUESTION} = 0 THEN strftime(opens, '%Y-%m-%dT%H:%M:%S') END AS opens,
                 CASE WHEN i % {PER_QUESTION} = 0 THEN strftime(closes, '%Y-%m-%dT%H:%M:%S') END AS closes,
                 CASE WHEN i % {PER_QUESTION} = 0 AND status <> 'open' THEN status END AS outcome,
                 CASE WHEN i % {PER_QUESTION} = 0 AND status <> 'open'
                      THEN strftime(resolved_at, '%Y-%m-%dT%H:%M:%S') END AS resolved_at
          FROM h ORDER BY i
        ) TO '{path}' (HEADER, DELIMITER ',')""")
    counts = dict(zip(["questions", "open", "resolved_yes_no"], con.execute(
        "SELECT count(*), count(*) FILTER (status = 'open'), count(*) FILTER (status IN ('yes','no')) FROM qr"
    ).fetchone() or (0, 0, 0), strict=True))
    con.close()
    return {"forecasts": n_q * PER_QUESTION, "forecasters": n_f, **counts}


# ---------------------------------------------------------------------- running children

#: GNU time, to read a child's own peak RSS: a child started from this process (posix_spawn or
#: fork) inherits this process's peak in its own counter at exec, so ``os.wait4`` reports at
#: least this process's RSS; ``time -f %M`` reports its child's, which starts from time's own.
TIME = "/usr/bin/time"


def run(cmd: list[str], *, timeout: float, stdout: Path | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd`` as a child; wall and CPU seconds from ``os.wait4``, its peak RSS (bytes) from
    GNU time (``os.wait4``'s, an upper bound, where GNU time is not installed)."""
    err_path = Path(tempfile.mkstemp(prefix="bench-err-")[1])
    rss_path = Path(tempfile.mkstemp(prefix="bench-rss-")[1])
    out_path = str(stdout) if stdout else os.devnull
    actions = [(os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
               (os.POSIX_SPAWN_OPEN, 2, str(err_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    timed = os.path.exists(TIME)
    if timed:
        cmd = [TIME, "-f", "%M", "-o", str(rss_path), *cmd]
    t0 = time.perf_counter()
    pid = os.posix_spawn(cmd[0], cmd, dict(env or os.environ), file_actions=actions, setsid=True)
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    timer.cancel()
    rc = os.waitstatus_to_exitcode(status)
    tail = err_path.read_text(errors="replace").strip().splitlines()
    if timed and tail and tail[-1].startswith("Command exited with non-zero status"):
        tail = tail[:-1]  # GNU time's own line
    err_path.unlink()
    peak = rss_path.read_text().strip().splitlines() if timed else []
    rss_path.unlink()
    rss = int(peak[-1]) * 1024 if peak and peak[-1].isdigit() else ru.ru_maxrss * 1024
    res: dict[str, Any] = {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": rss, "rc": rc, "status": "ok"}
    if killed.is_set():
        res["status"] = "timeout"
    elif rc != 0:
        res["status"] = "error"
        res["error"] = tail[-1] if tail else f"exit {rc}"
    if stdout:
        res["stdout_bytes"] = stdout.stat().st_size
    return res


def cli(*args: str) -> list[str]:
    """The installed CLI (the ``forecasts`` script next to this interpreter)."""
    return [str(Path(sys.executable).parent / "forecasts"), *args]


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


# ---------------------------------------------------------------------- floors

def full_export(db: Path, work: Path) -> dict[str, Path]:
    """The ledger exported as Parquet: every row with its ``prev_hash`` and ``hash`` (a DuckDB
    ledger stores the full hashes of some rows only; its export computes every row's)."""
    from forecasts.ledger import Ledger

    folder = work / "floor-export"
    shutil.rmtree(folder, ignore_errors=True)
    return {k: Path(v) for k, v in Ledger.open(db).export(folder, "parquet").items()}


def verify_prep(exported: dict[str, Path], out: Path) -> int:
    """Write every ledger row's canonical text (``integrity.canonical``), prev_hash and hash
    (from :func:`full_export`) to ``out`` (Parquet)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from forecasts.ledger.integrity import canonical
    from forecasts.ledger.migrations import COLUMNS

    schema = pa.schema([("seq", pa.int64()), ("canon", pa.string()), ("prev_hash", pa.string()), ("hash", pa.string())])
    writer = pq.ParquetWriter(str(out), schema)
    n = 0
    con = duckdb.connect()
    for table, cols in COLUMNS.items():
        names = list(cols)
        cur = con.execute(f"SELECT {', '.join(names)}, prev_hash, hash FROM read_parquet(?) ORDER BY seq",
                          [str(exported[table])])
        while True:
            rows = cur.fetchmany(100_000)
            if not rows:
                break
            seqs, canons, prevs, hashes = [], [], [], []
            for r in rows:
                seqs.append(r[0])
                canons.append(canonical(table, dict(zip(names, r[:-2], strict=True))))
                prevs.append(r[-2])
                hashes.append(r[-1])
            writer.write_table(pa.table({"seq": seqs, "canon": canons, "prev_hash": prevs, "hash": hashes},
                                        schema=schema))
            n += len(rows)
    con.close()
    writer.close()
    return n


def hashlib_floor(canon: Path) -> dict[str, Any]:
    """A plain hashlib loop over the stored canonical bytes, read in batches (only the loop is
    timed, summed over the batches; reading the Parquet file is not)."""
    import pyarrow.parquet as pq

    wall = cpu = 0.0
    bad = 0
    sha = hashlib.sha256
    for batch in pq.ParquetFile(str(canon)).iter_batches(batch_size=200_000):
        canons = batch.column("canon").to_pylist()
        prevs = batch.column("prev_hash").to_pylist()
        hashes = batch.column("hash").to_pylist()
        c0, t0 = time.process_time(), time.perf_counter()
        for c, p, h in zip(canons, prevs, hashes, strict=True):
            if sha((p + c).encode()).hexdigest() != h:
                bad += 1
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
    return {"wall": wall, "cpu": cpu, "mismatches": bad}


SQL_VERIFY = """
import duckdb, sys, json
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
bad, n = con.execute("SELECT count(*) FILTER (sha256(prev_hash || canon) <> hash), count(*) "
                     "FROM read_parquet(?)", [sys.argv[1]]).fetchone()
print(json.dumps({"mismatches": bad, "rows": n}))
"""

IMPORT_FLOOR = """
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar = false) LIMIT 0", [sys.argv[2]])
con.execute("INSERT INTO t SELECT * FROM read_csv(?, all_varchar = false)", [sys.argv[2]])
con.close()
"""

SCORE_SQL = """
WITH res AS (
  SELECT question, outcome, resolved_at FROM (
    SELECT *, row_number() OVER (PARTITION BY question ORDER BY seq DESC) AS k FROM resolutions) WHERE k = 1
), q AS (
  SELECT q.id, q.opens_at, least(q.closes_at, r.resolved_at) AS stop,
         CASE r.outcome WHEN 'yes' THEN 1.0 ELSE 0.0 END AS o
  FROM questions q JOIN res r ON r.question = q.id WHERE r.outcome IN ('yes', 'no')
), f AS (
  SELECT f.question, f.forecaster, f.probability, q.o, q.opens_at, q.stop,
         greatest(f.made_at, q.opens_at) AS start,
         lead(f.made_at) OVER (PARTITION BY f.question, f.forecaster ORDER BY f.made_at, f.seq) AS nxt
  FROM forecasts f JOIN q ON q.id = f.question
), d AS (
  SELECT question, forecaster, probability, o,
         greatest(0, epoch_us(least(coalesce(nxt, stop), stop)) - epoch_us(least(start, stop)))::DOUBLE AS w
  FROM f
), pair AS (
  SELECT question, forecaster, sum(w * (probability - o) * (probability - o)) / sum(w) AS brier
  FROM d GROUP BY question, forecaster HAVING sum(w) > 0
)
SELECT forecaster, avg(brier) AS brier, count(*) AS questions FROM pair GROUP BY forecaster ORDER BY forecaster
"""

SCORE_FLOOR = """
import duckdb, sys, json
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
rows = con.execute(open(sys.argv[2]).read()).fetchall()
json.dump({r[0]: [r[1], r[2]] for r in rows}, open(sys.argv[3], "w"))
"""
FILES_FLOOR = """
import os, sys
root, files, folders, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = b"x" * max(size - 1, 0) + b"\\n"
for k in range(folders):
    os.makedirs(f"{root}/{k}")
for i in range(files):
    fd = os.open(f"{root}/{i * folders // files}/{i}.csv", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    os.write(fd, data)
    os.close(fd)
"""
#: The Fatebook export of a ledger of binary questions as one query, the conventions of
#: forecasts.sources.fatebook (text quoted and guarded, times with unpadded seconds, marker tags);
#: {title}, {created_by} and {criteria} are the guarded columns (forecasts.ledger.sql.csv_safe).
FATEBOOK_SQL = """
WITH r AS (SELECT question, outcome, resolved_at FROM (
             SELECT *, row_number() OVER (PARTITION BY question ORDER BY seq DESC) AS k FROM resolutions) x
           WHERE k = 1),
q AS (SELECT id, {title}, {created_by}, {criteria}, opens_at, closes_at,
             array_to_string(list_concat(coalesce(from_json(tags, '["VARCHAR"]'), []), ['ledger:id=' || id]),
                             '; ') AS tags
      FROM questions)
SELECT f.seq, '"' || replace(q.title, '"', '""') || '",,"' || replace(f.forecaster, '"', '""') || '",'
       || CAST(f.probability AS VARCHAR) || ',' || strftime(f.made_at, '%Y-%m-%d %H:%M:') || second(f.made_at)
       || ',"' || replace(q.created_by, '"', '""') || '",' || strftime(q.opens_at, '%Y-%m-%d %H:%M:')
       || second(q.opens_at) || ',' || strftime(q.closes_at, '%Y-%m-%d %H:%M:') || second(q.closes_at) || ','
       || CASE WHEN r.outcome IS NULL THEN ','
               ELSE '"' || CASE r.outcome WHEN 'yes' THEN 'YES' WHEN 'no' THEN 'NO' ELSE 'AMBIGUOUS' END || '",'
                    || strftime(r.resolved_at, '%Y-%m-%d %H:%M:') || second(r.resolved_at) END
       || ',,,' || coalesce('"' || replace(q.criteria, '"', '""') || '"', '') || ',,false,,"'
       || replace(q.tags, '"', '""') || '"' AS line
FROM forecasts f JOIN q ON q.id = f.question LEFT JOIN r ON r.question = f.question
WHERE f.corrects IS NULL
"""
FATEBOOK_FLOOR = """
import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
query = open(sys.argv[2]).read()
options = "FORMAT csv, HEADER false, QUOTE '" + chr(2) + "', ESCAPE '" + chr(2) + "', DELIMITER '" + chr(1) + "'"
con.execute(f"COPY ({query}) TO '{sys.argv[3]}' ({options})")
"""


def fatebook_sql() -> str:
    """:data:`FATEBOOK_SQL` with its header line first, rows in ``seq`` order."""
    from forecasts.ledger.sql import csv_safe
    from forecasts.sources.fatebook import COLUMNS

    body = FATEBOOK_SQL.format(**{c: csv_safe(c) for c in ("title", "created_by", "criteria")})
    header = ",".join(COLUMNS).replace("'", "''")
    return f"SELECT line FROM (SELECT -1 AS seq, '{header}' AS line UNION ALL ({body})) x ORDER BY seq"


def same_file(floor: Path, export: Path) -> bool:
    """Whether the floor's CSV is the export's bytes (plus the line end DuckDB puts after the last line)."""
    if floor.stat().st_size != export.stat().st_size + 1:
        return False
    with floor.open("rb") as a, export.open("rb") as b:
        while chunk := b.read(1 << 24):
            if a.read(len(chunk)) != chunk:
                return False
        return a.read() == b"\n"


def hub_files(hub: Path, said: str) -> dict[str, Any]:
    """The model output files of an exported hub: how many (from the command's ``wrote N
    file(s)``, less the hub's own config, metadata and oracle files), in how many folders, and
    their mean size (over up to 2,000 of them)."""
    import re

    found = re.search(r"wrote ([\d,]+) file", said)
    folders = [p for p in (hub / "model-output").iterdir() if p.is_dir()]
    sizes = [f.stat().st_size for p in folders[:400] for f in list(p.iterdir())[:5]]
    models = len(list((hub / "model-metadata").iterdir()))
    total = int(found.group(1).replace(",", "")) if found else 0
    return {"files": total - models - 4, "folders": len(folders),
            "mean_bytes": round(sum(sizes) / len(sizes)) if sizes else 0}


def score_numbers(path: Path) -> dict[str, float]:
    """Per-forecaster mean Brier from ``forecasts score --json`` output (list or mapping of rows)."""
    data = json.loads(path.read_text())
    rows = data.get("rows", data.get("scores", data)) if isinstance(data, dict) else data
    out: dict[str, float] = {}
    if isinstance(rows, dict):
        for k, v in rows.items():
            out[k] = float(v["score"] if isinstance(v, dict) else v)
        return out
    for r in rows:
        key = r.get("forecaster", r.get("group"))
        val = next(r[k] for k in ("score", "brier", "mean_score", "mean") if k in r)
        out[str(key)] = float(val)
    return out


def disk_floor(exported: dict[str, Path], work: Path) -> dict[str, int]:
    """Size of the forecasts as a plain DuckDB table of their non-hash columns, and for
    reference with every row's two hashes as 64 hex characters (as a ledger stored them before
    schema 4) and as 32-byte BLOBs."""
    import duckdb

    from forecasts.ledger.migrations import COLUMNS

    cols = ", ".join(COLUMNS["forecasts"])
    sizes = {}
    for name, extra in (("plain", ""), ("plain_hex_hashes", ", prev_hash, hash"),
                        ("plain_blob_hashes", ", from_hex(prev_hash) AS prev_hash, from_hex(hash) AS hash")):
        target = work / f"{name}.duckdb"
        target.unlink(missing_ok=True)
        con = duckdb.connect(str(target))
        con.execute(f"CREATE TABLE forecasts AS SELECT {cols}{extra} FROM read_parquet(?)", [str(exported["forecasts"])])
        con.execute("CHECKPOINT")
        con.close()
        sizes[name] = target.stat().st_size
        target.unlink()
    return sizes


# ---------------------------------------------------------------------- one size

def fmt_s(r: dict[str, Any] | None) -> str:
    if not r:
        return "-"
    if r.get("status") == "timeout":
        return "timeout"
    if r.get("status") in ("error", "skipped"):
        return str(r["status"])
    return f"{r['wall']:.2f}"


def one_size(n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    d = work / label(n)
    d.mkdir(parents=True, exist_ok=True)
    csv = d / "forecasts.csv"
    db = d / "ledger.duckdb"
    db.unlink(missing_ok=True)
    T = args.timeout
    out: dict[str, Any] = {"n": n, "steps": {}, "floors": {}}
    t0 = time.perf_counter()
    out["data"] = dict[str, Any](write_csv(csv, n, args.seed))
    out["data"]["csv_bytes"] = csv.stat().st_size
    out["data"]["write_s"] = time.perf_counter() - t0
    print(f"\n[{label(n)}] wrote {csv} ({out['data']}) ", flush=True)
    steps = out["steps"]
    floors = out["floors"]

    def step(name: str, cmd: list[str], stdout: Path | None = None) -> dict[str, Any]:
        if name in args.skip:
            r = steps[name] = {"status": "skipped", "wall": math.nan, "cpu": math.nan, "rss": 0}
            print(f"  {name:<28} {'skipped':>9}", flush=True)
            return r
        r = run(cmd, timeout=T, stdout=stdout)
        steps[name] = r
        extra = f" ({r['error']})" if r.get("error") else ""
        print(f"  {name:<28} {fmt_s(r):>9} s  cpu {r['cpu']:.2f} s  rss {r['rss'] / 2**20:.0f} MiB{extra}", flush=True)
        return r

    step("import", cli("import", "csv", str(csv), "--name", "bench", "--db", str(db)))
    step("import again", cli("import", "csv", str(csv), "--name", "bench", "--db", str(db)))
    if db.exists():
        out["ledger_bytes"] = db.stat().st_size
    step("verify", cli("verify", "--db", str(db)))
    score_json = d / "score.json"
    step("score", cli("score", "--json", "--db", str(db)), stdout=score_json)
    step("calibration", cli("calibration", "--db", str(db)), stdout=d / "calibration.txt")
    html = d / "report.html"
    r = step("report", cli("report", "-o", str(html), "--db", str(db)))
    if r["status"] == "ok" and html.exists():
        r["html_bytes"] = html.stat().st_size
    for fmt in ("csv", "parquet", "hubverse", "fatebook"):
        target = d / f"export-{fmt}"
        shutil.rmtree(target, ignore_errors=True)
        if target.is_file():
            target.unlink()
        rounds = ["--round", args.hub_round] if fmt == "hubverse" and args.hub_round != "day" else []
        r = step(f"export {fmt}", cli("export", str(target), "--format", fmt, *rounds, "--db", str(db)),
                 stdout=d / f"export-{fmt}.out")
        if fmt == "hubverse":
            r["round"] = args.hub_round
            if r["status"] == "ok":
                r.update(hub_files(target, (d / f"export-{fmt}.out").read_text()))
    upd_db = d / "update.duckdb"
    if db.exists():
        shutil.copy(db, upd_db)
    r = step("update --all aggregate", cli("update", "--all", "--model", "aggregate", "--db", str(upd_db)))
    r["open_questions"] = out["data"]["open"]
    if r["status"] == "ok" and out["data"]["open"]:
        r["per_open_question"] = r["wall"] / out["data"]["open"]
    upd_db.unlink(missing_ok=True)

    # floors
    fdb = d / "floor-import.duckdb"
    fdb.unlink(missing_ok=True)
    floors["import"] = run(py(IMPORT_FLOOR) + [str(fdb), str(csv)], timeout=T)
    fdb.unlink(missing_ok=True)
    if db.exists():
        exported = full_export(db, d)
        if "verify" not in args.skip:  # a step left out needs no floor
            canon = d / "canonical.parquet"
            t0 = time.perf_counter()
            out["verify_prep_rows"] = verify_prep(exported, canon)
            out["verify_prep_s"] = time.perf_counter() - t0
            sql = run(py(SQL_VERIFY) + [str(canon)], timeout=T, stdout=d / "sqlverify.json")
            if sql["status"] == "ok":
                sql.update(json.loads((d / "sqlverify.json").read_text()))
            floors["verify_sql"] = sql
            floors["verify_hashlib"] = hashlib_floor(canon)
            canon.unlink(missing_ok=True)
        sql_file = d / "score.sql"
        sql_file.write_text(SCORE_SQL)
        floors["score_sql"] = run(py(SCORE_FLOOR) + [str(db), str(sql_file), str(d / "score_floor.json")], timeout=T)
        if floors["score_sql"]["status"] == "ok" and steps["score"]["status"] == "ok":
            ref = {k: v[0] for k, v in json.loads((d / "score_floor.json").read_text()).items()}
            try:
                got = score_numbers(score_json)
                common = set(ref) & set(got)
                out["score_compare"] = {
                    "forecasters_sql": len(ref), "forecasters_cli": len(got), "common": len(common),
                    "max_abs_diff": max((abs(ref[k] - got[k]) for k in common), default=math.nan)}
            except (KeyError, StopIteration, TypeError, ValueError, AttributeError) as exc:
                out["score_compare"] = {"error": f"cannot read score --json: {exc!r}"}
        floors["disk"] = disk_floor(exported, d)
        shutil.rmtree(d / "floor-export", ignore_errors=True)
        fb, fb_sql = d / "floor-fatebook.csv", d / "fatebook.sql"
        fb_sql.write_text(fatebook_sql())
        floors["fatebook_sql"] = run(py(FATEBOOK_FLOOR) + [str(db), str(fb_sql), str(fb)], timeout=T)
        mine = d / "export-fatebook" / "fatebook.csv"
        if floors["fatebook_sql"]["status"] == "ok" and mine.exists():
            floors["fatebook_sql"]["same_bytes"] = same_file(fb, mine)
        fb.unlink(missing_ok=True)
    if steps["export hubverse"].get("files"):
        h = steps["export hubverse"]
        root = d / "floor-files"
        shutil.rmtree(root, ignore_errors=True)
        floors["hubverse_files"] = run(py(FILES_FLOOR) + [str(root), str(h["files"]), str(h["folders"]),
                                                         str(h["mean_bytes"])], timeout=T)
        shutil.rmtree(root, ignore_errors=True)
    for k, v in floors.items():
        if isinstance(v, dict) and "wall" in v:
            print(f"  floor {k:<22} {fmt_s(v):>9} s  cpu {v['cpu']:.2f} s" + (f"  rss {v['rss'] / 2**20:.0f} MiB" if "rss" in v else ""), flush=True)
    return out


def cold_start(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Cold starts on a 10k-forecast ledger: median of COLD_RUNS runs of each read command.

    The package's modules are compiled to bytecode first, as an installed package's are (uv
    compiles them at install): where Python runs with ``PYTHONDONTWRITEBYTECODE``, a module
    edited since its bytecode was written is otherwise compiled from source at every start
    (about 80 ms for the ledger's modules), whichever command imports it."""
    import compileall

    import forecasts

    compileall.compile_dir(str(Path(forecasts.__file__).parent), quiet=1)
    d = work / "cold"
    d.mkdir(parents=True, exist_ok=True)
    csv, db = d / "forecasts.csv", d / "ledger.duckdb"
    db.unlink(missing_ok=True)
    info = write_csv(csv, 10_000, args.seed)
    r = run(cli("import", "csv", str(csv), "--name", "bench", "--db", str(db)), timeout=args.timeout)
    if r["status"] != "ok":
        return {"error": f"import: {r.get('error', r['status'])}"}
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT id FROM questions WHERE id NOT IN (SELECT question FROM resolutions) "
                      "AND closes_at > now()::TIMESTAMP ORDER BY id LIMIT 1").fetchone()
    any_q = con.execute("SELECT id FROM questions ORDER BY id LIMIT 1").fetchone()
    con.close()
    open_q = row[0] if row else None
    cmds = {
        "questions": cli("questions", "--db", str(db)),
        "history": cli("history", str(any_q[0] if any_q else "q000000"), "--db", str(db)),
        "due": cli("due", "--by", "bench:f00000", "--db", str(db)),
        "events": cli("events", "--db", str(db)),
        "score": cli("score", "--db", str(db)),
    }
    res: dict[str, Any] = {"forecasts": info["forecasts"]}
    for name, cmd in cmds.items():
        runs = [run(cmd, timeout=args.timeout) for _ in range(COLD_RUNS)]
        ok = [x["wall"] for x in runs if x["status"] == "ok"]
        res[name] = {"median": statistics.median(ok) if ok else None, "status": runs[-1]["status"],
                     "error": runs[-1].get("error")}
    logs = []
    status, error = "ok", None
    for i in range(COLD_RUNS):
        copy = d / f"throwaway-{i}.duckdb"
        shutil.copy(db, copy)
        x = run(cli("log", str(open_q or "q000000"), "0.5", "--by", "bench-log", "--db", str(copy)), timeout=args.timeout)
        copy.unlink(missing_ok=True)
        status, error = x["status"], x.get("error")
        if x["status"] == "ok":
            logs.append(x["wall"])
    res["log"] = {"median": statistics.median(logs) if logs else None, "status": status, "error": error}
    for k, v in res.items():
        if isinstance(v, dict):
            m = v["median"]
            ratio = m / res["log"]["median"] if m and res["log"]["median"] else None
            print(f"  cold {k:<10} {'-' if m is None else f'{m * 1000:.0f} ms':>9}"
                  + (f"  x{ratio:.2f} of log" if ratio else "") + (f"  ({v['error']})" if v.get("error") else ""), flush=True)
    return res


# ---------------------------------------------------------------------- summary

def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str = "wall") -> float | None:
    if not a or not b or a.get("status", "ok") != "ok" or b.get("status", "ok") != "ok":
        return None
    return a[key] / b[key] if b[key] else None


def slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    den = sum((x - mx) ** 2 for x in lx)
    return sum((x - mx) * (y - my) for x, y in zip(lx, ly, strict=True)) / den if den else math.nan


def table(res: dict[str, Any]) -> None:
    n = res["n"]
    s, f = res["steps"], res["floors"]
    print(f"\n=== {label(n)} forecasts ({res['data']['questions']} questions, {res['data']['forecasters']} forecasters, "
          f"{res['data']['open']} open) ===")
    print(f"{'step':<26} {'wall s':>9} {'cpu s':>8} {'RSS MiB':>8}  reference")
    refs = {
        "import": ("floor read_csv+insert", f.get("import")),
        "verify": ("floor SQL sha256 / hashlib", f.get("verify_sql")),
        "score": ("floor SQL query", f.get("score_sql")),
        "report": ("score", s.get("score")),
        "export hubverse": ("writing as many files", f.get("hubverse_files")),
        "export fatebook": ("SQL COPY of the same CSV", f.get("fatebook_sql")),
    }
    for name, r in s.items():
        ref = ""
        if name in refs:
            rname, rr = refs[name]
            x = ratio(r, rr)
            ref = f"x{x:.2f} of {rname}" if x else f"({rname}: {fmt_s(rr)})"
            if name == "verify":
                y = ratio(r, f.get("verify_hashlib"))
                ref += f", x{y:.2f} of hashlib" if y else ""
            if name == "score":
                c = ratio(r, f.get("score_sql"), "cpu")
                ref += f", cpu x{c:.2f}" if c else ""
        if name == "import again":
            x = ratio(r, s.get("import"))
            ref = f"x{x:.2f} of first import" if x else ""
        if name == "calibration" and "stdout_bytes" in r:
            ref = f"stdout {r['stdout_bytes']:,} bytes"
        if name == "report" and "html_bytes" in r:
            ref += f", HTML {r['html_bytes']:,} bytes"
        if name == "export hubverse" and r.get("files"):
            ref += f"; {r['files']:,} files ({r['round']} rounds), {r['wall'] / r['files'] * 1e6:.0f} us a file"
        if name.startswith("update") and r.get("per_open_question"):
            ref = f"{r['per_open_question']:.3f} s per open question ({r['open_questions']} open)"
        err = f" [{r['error'][:80]}]" if r.get("error") else ""
        print(f"{name:<26} {fmt_s(r):>9} {r['cpu']:>8.2f} {r['rss'] / 2**20:>8.0f}  {ref}{err}")
    for k, v in f.items():
        if k == "disk":
            continue
        extra = f"  mismatches {v['mismatches']}" if "mismatches" in v else ""
        extra += f"  same bytes as the export: {v['same_bytes']}" if "same_bytes" in v else ""
        print(f"{'floor ' + k:<26} {fmt_s(v):>9} {v['cpu']:>8.2f} {v.get('rss', 0) / 2**20:>8.0f}{extra}")
    if "score_compare" in res:
        print(f"score --json vs SQL: {res['score_compare']}")
    if "ledger_bytes" in res and "disk" in f:
        lb, pb = res["ledger_bytes"], f["disk"]["plain"]
        print(f"disk: ledger {lb:,} bytes; plain table {pb:,} (x{lb / pb:.2f}); for reference, the plain table "
              f"with both hashes on every row as hex {f['disk']['plain_hex_hashes']:,}, as BLOB(32) "
              f"{f['disk']['plain_blob_hashes']:,}")


def targets(results: list[dict[str, Any]], cold: dict[str, Any] | None) -> list[tuple[str, bool | None, str]]:
    out: list[tuple[str, bool | None, str]] = []

    def add(name: str, value: float | None, limit: float, fmt: str = "{:.2f}",
            step: dict[str, Any] | None = None) -> None:
        if step is not None and step.get("status") in ("timeout", "error"):
            out.append((name, False, step["status"]))  # a step that did not finish misses its target
            return
        out.append((name, None if value is None else value <= limit, "n/a" if value is None else fmt.format(value)))

    for r in results:
        s, f, L = r["steps"], r["floors"], label(r["n"])
        add(f"[{L}] import <= 3x read_csv+insert", ratio(s["import"], f.get("import")), 3, step=s["import"])
        add(f"[{L}] re-import <= 0.2x first import", ratio(s["import again"], s["import"]), 0.2, step=s["import again"])
        fast = min((x for x in (f.get("verify_sql"), f.get("verify_hashlib")) if x and x.get("status", "ok") == "ok"),
                   key=lambda x: x["wall"], default=None)
        add(f"[{L}] verify <= 1.5x faster floor", ratio(s["verify"], fast), 1.5, step=s["verify"])
        add(f"[{L}] score <= 1.5x SQL query", ratio(s["score"], f.get("score_sql")), 1.5, step=s["score"])
        diff = r.get("score_compare", {}).get("max_abs_diff")
        add(f"[{L}] score same numbers (max abs diff <= 1e-12)", None if diff is None or math.isnan(diff) else diff, 1e-12, "{:.2e}")
        add(f"[{L}] report <= 3x score", ratio(s["report"], s["score"]), 3, step=s["report"])
        hb = s["report"].get("html_bytes")
        add(f"[{L}] report HTML <= 15 MB", None if hb is None else hb / 1e6, 15, "{:.2f} MB", step=s["report"])
        if "ledger_bytes" in r and "disk" in f:
            add(f"[{L}] disk <= 1.5x plain table", r["ledger_bytes"] / f["disk"]["plain"], 1.5)
        if r["n"] == 1_000_000:
            rss = s["import"]["rss"] if s["import"]["status"] == "ok" else None
            add("[1m] import peak RSS <= 1 GiB", None if rss is None else rss / 2**30, 1, "{:.2f} GiB")
        if r["n"] == 10_000_000:
            bad = [k for k in ("import", "verify", "score", "calibration", "report") if s[k]["status"] != "ok"]
            bad += [k for k in s if k.startswith("export") and s[k]["status"] != "ok"]
            out.append(("[10m] end to end", not bad, "all ok" if not bad else "failed: " + ", ".join(bad)))
    if len(results) >= 2:
        a, b = results[0], results[-1]
        ca, cb = a["steps"]["calibration"].get("stdout_bytes"), b["steps"]["calibration"].get("stdout_bytes")
        if ca and cb:
            out.append((f"calibration output bounded ({label(a['n'])} -> {label(b['n'])})", cb <= 2 * ca,
                        f"{ca:,} -> {cb:,} bytes"))
        ua, ub = a["steps"]["update --all aggregate"], b["steps"]["update --all aggregate"]
        if ua.get("per_open_question") and ub.get("per_open_question"):
            k = slope([a["data"]["open"], b["data"]["open"]], [ua["wall"], ub["wall"]])
            add("update --all time vs open questions: log-log slope <= 1.1", k, 1.1)
        for name in results[0]["steps"]:
            pts = [(r["n"], r["steps"][name]["wall"]) for r in results if r["steps"][name]["status"] == "ok"]
            k = slope([p[0] for p in pts], [p[1] for p in pts]) if len(pts) >= 2 else None
            add(f"slope {name} <= 1.1", k, 1.1)
    if cold and "log" in cold and cold["log"]["median"]:
        base = cold["log"]["median"]
        for name, lim in (("questions", 1.3), ("history", 1.3), ("due", 1.3), ("events", 1.3), ("score", 3.0)):
            m = cold.get(name, {}).get("median")
            add(f"cold start {name} <= {lim}x log", None if m is None else m / base, lim)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", default="100k,1m", help="comma-separated forecast counts, e.g. 100k,1m,10m")
    ap.add_argument("--quick", action="store_true", help="10k and 30k forecasts")
    ap.add_argument("--seed", type=int, default=20240701)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per step")
    ap.add_argument("--json", type=Path, default=None, help="write every number to this file")
    ap.add_argument("--skip", default="", help="comma-separated steps not to run, e.g. 'report,export hubverse'")
    ap.add_argument("--hub-round", default="day", choices=["day", "week", "month"],
                    help="the rounds of the hubverse export step (forecasts export --round)")
    args = ap.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    sizes = [10_000, 30_000] if args.quick else [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"bench_scale: sizes {', '.join(map(label, sizes))}; seed {args.seed}; timeout {args.timeout:.0f} s; "
          f"workdir {work}; {os.cpu_count()} cores; python {sys.version.split()[0]}")
    print("note: corrections, retractions and re-resolutions cannot be written through `import csv`; "
          "these ledgers have none.")
    results = []
    cold = None
    try:
        for n in sizes:
            results.append(one_size(n, args, work))
        print("\n[cold start, 10k forecasts]", flush=True)
        cold = cold_start(args, work)
    finally:
        import traceback

        tg: list[tuple[str, bool | None, str]] = []
        try:
            for r in results:
                table(r)
            tg = targets(results, cold)
            print("\n=== targets ===")
            for name, ok, value in tg:
                print(f"{'n/a ' if ok is None else ('PASS' if ok else 'FAIL')}  {name}: {value}")
        except Exception:  # the numbers are still written below
            traceback.print_exc()
        if args.json:
            args.json.write_text(json.dumps({"sizes": sizes, "seed": args.seed, "results": results, "cold": cold,
                                             "targets": [{"target": a, "pass": b, "value": c} for a, b, c in tg]},
                                            indent=1, default=str))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
