"""Small ledger frames for the scoring tests, built as plain pandas frames.

They follow the frame contract of ``forecasts.scoring.frames`` and do not use
the ledger package. Times are given as days after 2020-01-01 (floats allowed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

T0 = np.datetime64("2020-01-01T00:00:00", "us")
DATA = Path(__file__).resolve().parents[2] / "data"


def day(d) -> np.datetime64:
    """2020-01-01 plus ``d`` days, as datetime64[us]."""
    return T0 + np.timedelta64(int(round(float(d) * 86_400_000_000)), "us")


def make_questions(specs):
    """specs: dicts with id and optional kind, options, ordered, opens, closes (days), tags."""
    rows = []
    for s in specs:
        rows.append({
            "id": s["id"],
            "title": s.get("title", s["id"]),
            "kind": s.get("kind", "binary"),
            "options": s.get("options"),
            "ordered": bool(s.get("ordered", False)),
            "opens_at": day(s.get("opens", 0)),
            "closes_at": day(s.get("closes", 10)),
            "tags": list(s.get("tags", [])),
            "base_rate": s.get("base_rate", np.nan),
            "reference_class": None,
            "criteria": "",
            "created_by": "test",
        })
    df = pd.DataFrame(rows)
    for c in ("opens_at", "closes_at"):
        df[c] = df[c].astype("datetime64[us]")
    return df


def make_forecasts(rows):
    """rows: tuples (question, forecaster, made_day, p) or with a dict p for multiple choice;
    optional 5th element: recorded_day."""
    out = []
    for i, r in enumerate(rows):
        q, f, d, p = r[:4]
        rec = r[4] if len(r) > 4 else d
        out.append({
            "seq": i + 1,
            "question": q,
            "forecaster": f,
            "made_at": day(d),
            "recorded_at": day(rec),
            "probability": np.nan if isinstance(p, dict) else float(p),
            "probabilities": p if isinstance(p, dict) else None,
            "source": "test",
            "rationale": "",
        })
    cols = ["seq", "question", "forecaster", "made_at", "recorded_at", "probability",
            "probabilities", "source", "rationale"]
    df = pd.DataFrame(out, columns=cols)
    df["seq"] = df["seq"].astype(np.int64)
    for c in ("made_at", "recorded_at"):
        df[c] = df[c].astype("datetime64[us]")
    df["probability"] = df["probability"].astype(np.float64)
    return df


def make_resolutions(rows):
    """rows: tuples (question, outcome, resolved_day[, recorded_day])."""
    out = []
    for r in rows:
        q, o, d = r[:3]
        rec = r[3] if len(r) > 3 else d
        out.append({"question": q, "outcome": o, "resolved_at": day(d), "resolved_by": "test",
                    "note": "", "recorded_at": day(rec)})
    cols = ["question", "outcome", "resolved_at", "resolved_by", "note", "recorded_at"]
    df = pd.DataFrame(out, columns=cols)
    for c in ("resolved_at", "recorded_at"):
        df[c] = df[c].astype("datetime64[us]")
    return df


def random_frames(seed, n_questions=30, n_forecasters=8, n_rows=400, shuffle=False,
                  grid=True):
    """Random binary ledger frames (for engine and oracle comparisons)."""
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(n_questions):
        opens = float(rng.integers(0, 50))
        specs.append({"id": f"q{i}", "opens": opens,
                      "closes": opens + float(rng.integers(5, 60)),
                      "tags": ["a"] if i % 2 else ["b", "c"]})
    questions = make_questions(specs)
    rows = []
    for _ in range(n_rows):
        j = int(rng.integers(0, n_questions))
        s = specs[j]
        d = s["opens"] - 3 + (s["closes"] - s["opens"] + 5) * rng.random()
        d = round(d * 24) / 24  # on the hour, so ties happen
        p = rng.random()
        p = round(p, 2) if grid else p
        rows.append((s["id"], f"f{int(rng.integers(0, n_forecasters))}", d, p))
    if not shuffle:
        rows.sort(key=lambda r: r[2])
    forecasts = make_forecasts(rows)
    res = []
    for s in specs:
        u = rng.random()
        if u < 0.1:
            res.append((s["id"], "ambiguous", s["closes"]))
        elif u < 0.15:
            continue  # unresolved
        else:
            early = rng.random() < 0.2
            when = s["opens"] + (s["closes"] - s["opens"]) * (0.5 if early else 1.0)
            res.append((s["id"], "yes" if rng.random() < 0.5 else "no", when))
    return forecasts, questions, make_resolutions(res)


@pytest.fixture
def niamey():
    return pd.read_csv(DATA / "precip_Niamey_2016.csv")


@pytest.fixture
def small_ledger():
    """Three binary questions, one multiple choice, one ambiguous, one unresolved."""
    questions = make_questions([
        {"id": "q1", "tags": ["arms"]},
        {"id": "q2", "tags": ["arms", "russia"]},
        {"id": "q3", "closes": 20},
        {"id": "q4"},
        {"id": "q5"},
        {"id": "q6", "kind": "multiple_choice", "options": ["a", "b", "c"], "ordered": True},
        {"id": "q7", "kind": "multiple_choice", "options": ["a", "b", "c"]},
    ])
    forecasts = make_forecasts([
        ("q1", "alice", 0, 0.6),
        ("q1", "bob", 2, 0.8),
        ("q1", "alice", 5, 0.9),
        ("q2", "alice", 0, 0.3),
        ("q2", "bob", 0, 0.5),
        ("q3", "alice", 0, 0.4),
        ("q4", "alice", 1, 0.5),
        ("q5", "bob", 1, 0.5),
        ("q6", "alice", 0, {"a": 0.2, "b": 0.5, "c": 0.3}),
        ("q7", "alice", 0, {"a": 0.2, "b": 0.5, "c": 0.3}),
    ])
    resolutions = make_resolutions([
        ("q1", "yes", 10),
        ("q2", "no", 10),
        ("q3", "yes", 5),  # early YES: scoring period 0-5, scheduled close day 20
        ("q4", "ambiguous", 10),
        ("q6", "b", 10),
        ("q7", "b", 10),
    ])
    return forecasts, questions, resolutions
