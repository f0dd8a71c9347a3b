"""Benchmark: time-averaged scoring and CORP decomposition on a large synthetic ledger.

Builds a synthetic ledger frame following the scoring frame contract (default 10
million forecasts on 100,000 questions by 10,000 forecasters, several revisions
per (question, forecaster), rows in recorded = time order, probabilities on a
1% grid like human forecasts), then times, in the same run:

* ours: ``time_averaged`` (Brier, then log score) per (question, forecaster),
  and the mean per forecaster;
* reference: a plain pandas implementation (sort, groupby shift for the next
  forecast time, weighted mean per (question, forecaster), mean per forecaster);
* ours: ``decompose`` (CORP, Brier) over all forecasts, on the 1% grid and on
  continuous probabilities (the same forecasts jittered off the grid);
* reference: model-diagnostics ``decompose`` (CORP, SquaredError) on both.

It checks that the results agree and prints times, ratios (reference / ours)
and peak traced memory (tracemalloc, measured in a second pass so that tracing
does not slow the timed pass), plus the process's peak RSS.

Run: ``.venv/bin/python benchmarks/bench_scoring.py [--n 10000000] [--no-memory]``.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd

from forecasts.scoring import decompose, time_averaged

US_PER_DAY = 86_400_000_000


def build(n: int, n_questions: int, n_forecasters: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    revisions = 4
    n_pairs = max(n // revisions, 1)
    pair_q = rng.integers(0, n_questions, n_pairs)
    pair_f = rng.integers(0, n_forecasters, n_pairs)
    reps = rng.multinomial(n - n_pairs, np.full(n_pairs, 1.0 / n_pairs)) + 1
    q = np.repeat(pair_q, reps)
    f = np.repeat(pair_f, reps)
    base = np.datetime64("2020-01-01T00:00:00", "us").astype(np.int64)
    opens = base + rng.integers(0, 3 * 365, n_questions) * US_PER_DAY
    length = rng.integers(30, 365, n_questions) * US_PER_DAY
    closes = opens + length
    early = rng.random(n_questions) < 0.1
    resolved = np.where(early, opens + (length * rng.random(n_questions)).astype(np.int64),
                        closes)
    # forecasts from a week before opening to the close
    made = opens[q] - 7 * US_PER_DAY + (
        (length[q] + 7 * US_PER_DAY) * rng.random(n)).astype(np.int64)
    made -= made % 1_000_000  # whole seconds
    truth = rng.random(n_questions)
    outcome = rng.random(n_questions) < truth
    p = np.clip(truth[q] + rng.normal(0, 0.25, n), 0.01, 0.99)
    p = np.rint(p * 100) / 100
    order = np.argsort(made, kind="stable")  # ledger read in recorded order
    q, f, made, p = q[order], f[order], made[order], p[order]
    qnames = np.array([f"q{i:06d}" for i in range(n_questions)], dtype=object)
    fnames = np.array([f"f{i:05d}" for i in range(n_forecasters)], dtype=object)
    made_dt = made.astype("datetime64[us]")
    forecasts = pd.DataFrame({
        "seq": np.arange(1, n + 1, dtype=np.int64),
        "question": pd.array(qnames[q], dtype="str"),
        "forecaster": pd.array(fnames[f], dtype="str"),
        "made_at": made_dt,
        "recorded_at": made_dt,
        "probability": p,
        "probabilities": None,
        "source": "synthetic",
    })
    questions = pd.DataFrame({
        "id": qnames, "title": qnames, "kind": "binary", "options": None,
        "ordered": False, "opens_at": opens.astype("datetime64[us]"),
        "closes_at": closes.astype("datetime64[us]"), "tags": [[] for _ in qnames],
        "base_rate": np.nan,
    })
    resolutions = pd.DataFrame({
        "question": qnames, "outcome": np.where(outcome, "yes", "no"),
        "resolved_at": resolved.astype("datetime64[us]"),
        "recorded_at": resolved.astype("datetime64[us]"),
    })
    return forecasts, questions, resolutions


# ------------------------------------------------------------------ ours
def ours_time_averaged(forecasts, questions, resolutions, rule):
    pairs = time_averaged(forecasts, questions, resolutions, rule)
    ok = pairs["score"].notna().to_numpy()
    codes, names = pd.factorize(pairs["forecaster"])
    s = pairs["score"].to_numpy()
    per_f = np.bincount(codes[ok], weights=s[ok], minlength=len(names)) / np.maximum(
        np.bincount(codes[ok], minlength=len(names)), 1)
    return pairs, pd.Series(per_f, index=names)


# ------------------------------------------------------------- reference
def pandas_time_averaged(forecasts, questions, resolutions, rule):
    """Plain pandas: sort, groupby shift, weighted mean per pair, mean per forecaster."""
    res = resolutions.set_index("question")
    qi = questions.set_index("id")
    df = forecasts[["seq", "question", "forecaster", "made_at", "probability"]]
    df = df.sort_values(["question", "forecaster", "made_at", "seq"])
    df["next"] = df.groupby(["question", "forecaster"], sort=False)["made_at"].shift(-1)
    opens = df["question"].map(qi["opens_at"])
    end = np.minimum(df["question"].map(qi["closes_at"]), df["question"].map(res["resolved_at"]))
    y = (df["question"].map(res["outcome"]) == "yes").astype(float)
    start = np.maximum(df["made_at"], opens)
    stop = df["next"].where(df["next"] < end, end)
    dur = (stop - start).dt.total_seconds().clip(lower=0)
    if rule == "brier":
        s = (df["probability"] - y) ** 2
    else:
        s = -np.log(np.where(y == 1, df["probability"], 1 - df["probability"]))
    df = df.assign(w=dur, ws=s * dur)
    g = df.groupby(["question", "forecaster"], sort=False)[["w", "ws"]].sum()
    pairs = (g["ws"] / g["w"]).rename("score").reset_index()
    per_f = pairs.groupby("forecaster")["score"].mean()
    return pairs, per_f


def md_decompose(p, y):
    from model_diagnostics.scoring import SquaredError
    from model_diagnostics.scoring import decompose as mdd

    r = mdd(y_obs=y, y_pred=p, scoring_function=SquaredError())
    return {"mcb": r["miscalibration"][0], "dsc": r["discrimination"][0],
            "unc": r["uncertainty"][0], "score": r["score"][0]}


# ----------------------------------------------------------------- timing
def timed(fn, *args):
    gc.collect()
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def peak_mib(fn, *args):
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    gc.collect()
    return peak / 2**20


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--questions", type=int, default=100_000)
    ap.add_argument("--forecasters", type=int, default=10_000)
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    ap.add_argument("--skip-reference", action="store_true",
                    help="time ours only (no pandas / model-diagnostics)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    forecasts, questions, resolutions = build(args.n, args.questions, args.forecasters)
    print(f"built {len(forecasts):,} forecasts, {len(questions):,} questions, "
          f"{forecasts['forecaster'].nunique():,} forecasters in "
          f"{time.perf_counter() - t0:.1f} s")
    # warm-up: compile the numba kernel (cached on disk after the first run)
    time_averaged(forecasts.iloc[:300_000], questions, resolutions, engine="numba")
    # warm-up imports (scipy for ours, polars for model-diagnostics) outside the timings
    decompose(np.array([0.2, 0.7]), np.array([0.0, 1.0]))
    if not args.skip_reference:
        md_decompose(np.array([0.2, 0.7]), np.array([0.0, 1.0]))

    rows = []
    checks = []
    for rule in ("brier", "log"):
        (pairs, per_f), t_ours = timed(ours_time_averaged, forecasts, questions,
                                       resolutions, rule)
        ref_t = None
        if not args.skip_reference:
            (rpairs, rper_f), ref_t = timed(pandas_time_averaged, forecasts, questions,
                                            resolutions, rule)
            m = pairs.merge(rpairs, on=["question", "forecaster"], suffixes=("", "_ref"))
            both = m["score"].notna() & m["score_ref"].notna()
            diff = float(np.max(np.abs(m["score"][both] - m["score_ref"][both])))
            dpf = float(np.nanmax(np.abs(per_f.sort_index().to_numpy()
                                         - rper_f.sort_index().to_numpy())))
            checks.append(f"time-averaged {rule}: {len(m):,} pairs matched of "
                          f"{len(pairs):,}/{len(rpairs):,}, max |diff| {diff:.2e} per pair, "
                          f"{dpf:.2e} per forecaster")
        rows.append((f"time-averaged {rule} per (q,f) + per forecaster", t_ours,
                     "pandas groupby", ref_t,
                     (ours_time_averaged, forecasts, questions, resolutions, rule),
                     (pandas_time_averaged, forecasts, questions, resolutions, rule)))

    p_grid = forecasts["probability"].to_numpy()
    y = (forecasts["question"].map(resolutions.set_index("question")["outcome"])
         == "yes").to_numpy(dtype=np.float64)
    rng = np.random.default_rng(1)
    p_cont = np.clip(p_grid + rng.uniform(-0.005, 0.005, p_grid.shape[0]), 0.0, 1.0)
    for label, p in (("1% grid", p_grid), ("continuous", p_cont)):
        ours, t_ours = timed(decompose, p, y)
        ref_t = None
        if not args.skip_reference:
            ref, ref_t = timed(md_decompose, p, y)
            diff = max(abs(ours[k] - ref[k]) for k in ("mcb", "dsc", "unc", "score"))
            checks.append(f"CORP {label}: ours mcb={ours['mcb']:.6f} dsc={ours['dsc']:.6f} "
                          f"unc={ours['unc']:.6f}; max |diff| vs model-diagnostics {diff:.2e}")
        rows.append((f"CORP decompose, p on {label}", t_ours, "model-diagnostics", ref_t,
                     (decompose, p, y), (md_decompose, p, y)))

    mem = {}
    if not args.no_memory:
        for i, (_, _, _, ref_t, ours_call, ref_call) in enumerate(rows):
            mem[i] = (peak_mib(*ours_call),
                      peak_mib(*ref_call) if ref_t is not None else None)

    print()
    print(f"{'task':<48} {'ours s':>7} {'reference':<18} {'ref s':>7} {'ratio':>6} "
          f"{'ours MiB':>9} {'ref MiB':>8}")
    for i, (task, t_ours, ref_name, ref_t, _, _) in enumerate(rows):
        ratio = f"{ref_t / t_ours:6.1f}" if ref_t else "     -"
        rt = f"{ref_t:7.2f}" if ref_t else "      -"
        mo, mr = mem.get(i, (None, None))
        mo_s = f"{mo:9.0f}" if mo is not None else "        -"
        mr_s = f"{mr:8.0f}" if mr is not None else "       -"
        print(f"{task:<48} {t_ours:7.2f} {ref_name:<18} {rt} {ratio} {mo_s} {mr_s}")
    print()
    for c in checks:
        print("check:", c)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole process: {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
