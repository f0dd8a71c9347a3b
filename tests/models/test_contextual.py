"""Model 7, contextual recalibration: causal features, training weights, the posterior
predictive, and (slow) a small NUTS fit that recovers a known slope and pools a sparse analyst."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.errors import InvalidInput
from forecasts.models import contextual as ctx


def _series(ps, days, close="2021-01-01", forecaster="c", question="q"):
    return pd.DataFrame({"question": question, "forecaster": forecaster, "probability": ps,
                         "made_at": pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D"),
                         "closes_at": pd.Timestamp(close)})


def test_features_by_hand():
    f = ctx.features(_series([0.5, 0.8, 0.2], [0, 3, 10]))
    x = [0.0, math.log(4), -math.log(4)]
    assert f["x"].tolist() == pytest.approx(x)
    # the move looks back to the latest forecast at least 7 days earlier, else the first one
    assert f["M"].tolist() == pytest.approx([0.0, x[1] - x[0], x[2] - x[1]])
    left = (pd.Timestamp("2021-01-01") - pd.Timestamp("2020-01-11")).days
    assert f["x*H"].iloc[2] == pytest.approx(x[2] * (math.log1p(left) - math.log1p(90)))
    assert f["x*N"].iloc[2] == pytest.approx(x[2] * (math.log1p(3) - math.log1p(30)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 0.99), min_size=2, max_size=12), st.integers(1, 11))
def test_features_never_look_ahead(ps, k):
    """The features of the first k forecasts do not change when later forecasts are added."""
    k = min(k, len(ps) - 1)
    days = list(range(0, 3 * len(ps), 3))
    full = ctx.features(_series(ps, days))
    head = ctx.features(_series(ps[:k], days[:k]))
    cols = list(ctx.FEATURES)
    np.testing.assert_allclose(full[cols].to_numpy()[:k], head[cols].to_numpy())


def _frames():
    qs = pd.DataFrame({"id": ["a", "b", "c"], "opens_at": pd.to_datetime(["2020-01-01"] * 3),
                       "closes_at": pd.to_datetime(["2020-01-31"] * 3), "tags": [["x"], [], ["y", "x"]]})
    rs = pd.DataFrame({"question": ["a", "b", "c"], "outcome": ["yes", "no", "ambiguous"],
                       "resolved_at": pd.to_datetime(["2020-01-21", "2020-01-31", "2020-01-31"])})
    fs = pd.concat([_series([0.6, 0.7, 0.9], [0, 10, 25], close="2020-01-31", question="a"),
                    _series([0.3], [5], close="2020-01-31", question="b"),
                    _series([0.5], [1], close="2020-01-31", question="c")]).drop(columns="closes_at")
    return fs, qs, rs


def test_training_cases_weigh_each_question_once_by_holding_time():
    cases = ctx.training_cases(*_frames())
    assert set(cases["question"]) == {"a", "b"}          # ambiguous left out
    a = cases[cases["question"] == "a"]
    # a resolved on day 20: the day-0 forecast held 10 days, the day-10 one 10, the day-25 one none
    assert a["weight"].tolist() == pytest.approx([0.5, 0.5]) and a["y"].tolist() == [1.0, 1.0]
    assert cases.groupby("question")["weight"].sum().tolist() == pytest.approx([1.0, 1.0])
    assert dict(zip(cases["question"], cases["group"], strict=False)) == {"a": "x", "b": "untagged"}
    assert set(ctx.training_cases(*_frames(), group_by="forecaster")["group"]) == {"c"}
    with pytest.raises(InvalidInput, match="group_by"):
        ctx.training_cases(*_frames(), group_by="colour")


def _summary(b, groups=("g",), u0=None, u1=None, tau=(0.0, 0.0)):
    b = np.atleast_2d(b)
    n = len(b)
    return {"groups": list(groups), "draws": {
        "b": b.tolist(), "u0": (np.zeros((n, len(groups))) if u0 is None else np.asarray(u0)).tolist(),
        "u1": (np.zeros((n, len(groups))) if u1 is None else np.asarray(u1)).tolist(),
        "tau": [list(tau)] * n}}


def test_predict_identity_slope_and_posterior_mean():
    design = ctx.features(_series([0.2, 0.5, 0.9], [0, 10, 20]))
    same = ctx.predict(_summary([1.0, 0.0, 0.0, 0.0]), design)
    assert same["mean"].tolist() == pytest.approx([0.2, 0.5, 0.9])
    doubled = ctx.predict(_summary([2.0, 0.0, 0.0, 0.0]), design)["mean"]
    assert doubled.tolist() == pytest.approx([1 / 17, 0.5, 81 / 82])        # odds squared
    # two draws: the forecast is the mean of their probabilities, and the interval spans them
    two = ctx.predict(_summary([[1.0, 0, 0, 0], [2.0, 0, 0, 0]]), design)
    assert two["mean"][0] == pytest.approx((0.2 + 1 / 17) / 2)
    assert two["q05"][0] < two["mean"][0] < two["q95"][0]


def test_predict_groups_and_unseen_groups():
    design = ctx.features(_series([0.7, 0.7], [0, 10]))
    s = _summary([1.0, 0, 0, 0], groups=("ana", "bo"), u1=[[1.0, 0.0]], tau=(0.0, 0.0))
    out = ctx.predict(s, design, ["ana", "bo"])["mean"]
    assert out[0] == pytest.approx(1 / (1 + (3 / 7) ** 2)) and out[1] == pytest.approx(0.7)
    # an unseen group draws its terms from the hierarchy: with tau 0 it is the population
    assert ctx.predict(s, design, ["cy", "cy"])["mean"].tolist() == pytest.approx([0.7, 0.7])
    wide = _summary(np.tile([1.0, 0, 0, 0], (200, 1)), groups=("ana",), tau=(0.0, 1.0))
    new = ctx.predict(wide, design, ["cy", "cy"])
    assert new["q95"][0] - new["q05"][0] > 0.2      # an unknown analyst is uncertain


def test_load_refuses_missing_and_unconverged(tmp_path):
    with pytest.raises(InvalidInput, match="fit --model contextual"):
        ctx.load_summary(tmp_path)
    s = {**_summary([1.0, 0, 0, 0]), "version": "v1", "diagnostics": {
        "converged": False, "rhat_max": 1.2, "divergences": 3, "ess_bulk_min": 50}}
    ctx.save_summary(s, tmp_path)
    with pytest.raises(InvalidInput, match="did not converge"):
        ctx.load_summary(tmp_path)


def _team_cases(seed=0):
    """Three analysts, log-odds slope 1.6 of the truth's (underconfident), one with 15 questions."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, n in (("ana", 120), ("bo", 120), ("cy", 15)):
        for i in range(n):
            truth = rng.normal(0, 1.5)
            y = float(rng.uniform() < 1 / (1 + math.exp(-truth)))
            p = 1 / (1 + math.exp(-truth / 1.6))
            rows.append({"question": f"{name}{i}", "forecaster": name, "probability": p, "y": y, "weight": 1.0,
                         "made_at": pd.Timestamp("2020-01-01"), "closes_at": pd.Timestamp("2020-04-01")})
    f = ctx.features(pd.DataFrame(rows))
    return f.assign(group=f["forecaster"])


@pytest.mark.slow
def test_fit_recovers_the_slope_and_pools_a_sparse_analyst():
    cases = _team_cases()
    s = ctx.fit(cases, of=["ana", "bo", "cy"], trained_through="2020-04-01T00:00:00", group_by="forecaster",
                draws=400, tune=400, seed=1)
    d = s["diagnostics"]
    assert d["divergences"] == 0 and d["rhat_max"] < 1.02, d
    b = np.asarray(s["draws"]["b"])
    # x*N and x*H are constant here (one forecast, same horizon): the slope at this point is
    # b1 + b2 H + b3 N
    f0 = cases.iloc[0]
    slope = b[:, 0] + b[:, 1] * f0["x*H"] / f0["x"] + b[:, 2] * f0["x*N"] / f0["x"]
    assert 1.1 < slope.mean() < 2.3
    u1 = np.asarray(s["draws"]["u1"])
    spread = u1.std(axis=0)
    assert spread[s["groups"].index("cy")] > spread[s["groups"].index("ana")]   # 15 questions: less known
    assert s["versions"]["pymc"] and s["seed"] == 1 and s["group_questions"]["cy"] == 15
