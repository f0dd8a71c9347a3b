"""Tests of forecasts/scoring/compare.py: skill scores and paired comparisons."""

import math

import numpy as np
import pandas as pd
import pytest

from forecasts.errors import InvalidInput
from forecasts.scoring import (
    compare_forecasters,
    paired_difference,
    skill_score,
    skill_table,
    skill_vs_base_rate,
    time_averaged,
)


# ------------------------------------------------------------------ bad inputs
def test_bad_inputs():
    with pytest.raises(InvalidInput, match="same length"):
        paired_difference([0.1, 0.2], [0.1])
    with pytest.raises(InvalidInput, match="no paired"):
        paired_difference([], [])
    with pytest.raises(InvalidInput, match="alpha"):
        paired_difference([0.1], [0.2], alpha=0)
    with pytest.raises(InvalidInput, match="rule"):
        skill_vs_base_rate([0.5], [1], rule="crps")
    with pytest.raises(InvalidInput, match="no forecasts"):
        skill_vs_base_rate([], [])
    s = pd.DataFrame({"question": ["a"], "forecaster": ["x"], "score": [0.1]})
    with pytest.raises(InvalidInput, match="no scored question in common"):
        compare_forecasters(s, "x", "y")
    with pytest.raises(InvalidInput, match="lacks column"):
        compare_forecasters(s.drop(columns="score"), "x", "y")
    with pytest.raises(InvalidInput, match="reference forecaster 'crowd'"):
        skill_table(s, "crowd")


# ----------------------------------------------------------------- hand values
def test_skill_score_hand_values():
    assert skill_score(0.15, 0.25) == pytest.approx(0.4)
    assert skill_score(0.25, 0.25) == 0.0
    assert math.isnan(skill_score(0.1, 0.0))
    assert math.isnan(skill_score(float("nan"), 0.2))
    assert skill_score(0.3, float("inf")) == 1.0


def test_skill_vs_base_rate():
    # Brier skill vs climatology: y rate 0.5 -> reference Brier 0.25
    r = skill_vs_base_rate([0.9, 0.1, 0.8, 0.3], [1, 0, 1, 0])
    assert r["score"] == pytest.approx((0.01 + 0.01 + 0.04 + 0.09) / 4)
    assert r["skill"] == pytest.approx(1 - 0.0375 / 0.25)
    # a stated base rate, per case
    r2 = skill_vs_base_rate([0.9, 0.1], [1, 0], base_rate=[0.7, 0.2])
    assert r2["reference_score"] == pytest.approx((0.09 + 0.04) / 2)
    r3 = skill_vs_base_rate([0.9, 0.1], [1, 0], base_rate=0.5, rule="log")
    assert r3["skill"] == pytest.approx(1 - (-math.log(0.9)) / math.log(2))


def test_paired_difference_interval():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 0.3, 200)
    b = a + 0.05 + rng.normal(0, 0.02, 200)
    r = paired_difference(a, b, n_boot=1000, random_state=1)
    assert r["lower"] < r["mean_difference"] < r["upper"]
    assert r["upper"] < 0  # a clearly better
    assert r["n"] == 200 and r["share_a_better"] > 0.9
    # reproducible with a seed
    assert paired_difference(a, b, n_boot=200, random_state=3) == paired_difference(
        a, b, n_boot=200, random_state=3)


def test_bootstrap_interval_coverage():
    """Percentile bootstrap 90% intervals cover a true mean difference of 0 about 90%."""
    rng = np.random.default_rng(4)
    hits = 0
    for _ in range(200):
        d = rng.normal(0, 1, 60)
        r = paired_difference(d, np.zeros(60), n_boot=400, alpha=0.1, random_state=rng)
        hits += r["lower"] <= 0 <= r["upper"]
    assert 0.82 <= hits / 200 <= 0.96


def test_compare_forecasters_uses_shared_questions_only(small_ledger):
    scores = time_averaged(*small_ledger)
    r = compare_forecasters(scores, "alice", "bob", n_boot=100, random_state=0)
    assert r["n_questions"] == 2  # q1 and q2
    s = scores.set_index(["question", "forecaster"])["score"]
    assert r["score_a"] == pytest.approx((s["q1", "alice"] + s["q2", "alice"]) / 2)
    assert r["mean_difference"] == pytest.approx(r["score_a"] - r["score_b"])


def test_skill_table_against_reference():
    s = pd.DataFrame({
        "question": ["a", "b", "c", "a", "b", "a"],
        "forecaster": ["x", "x", "x", "crowd:median", "crowd:median", "y"],
        "score": [0.1, 0.3, 0.5, 0.2, 0.2, np.nan],
    })
    t = skill_table(s, "crowd:median")
    assert list(t.index) == ["x"]  # y has no scored question
    assert t.loc["x", "n_questions"] == 2  # c is not shared with the crowd
    assert t.loc["x", "skill"] == pytest.approx(1 - 0.2 / 0.2)
