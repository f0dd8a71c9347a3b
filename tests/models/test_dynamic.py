"""Model 6 (dynamic logit): smoothing beats the raw series, and the filtered path has no
lookahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasts.errors import InvalidInput
from forecasts.models import dynamic


def _series(n=120, seed=0):
    rng = np.random.default_rng(seed)
    level = np.cumsum(rng.normal(0, 0.08, n))
    idx = pd.date_range("2020-08-11", periods=n, freq="D")
    noisy = 1 / (1 + np.exp(-(level + rng.normal(0, 0.6, n))))
    return pd.Series(noisy, index=idx), 1 / (1 + np.exp(-level))


def test_bad_input():
    with pytest.raises(InvalidInput):
        dynamic.smooth(pd.Series(dtype=float))
    with pytest.raises(InvalidInput):
        dynamic.smooth(pd.Series([0.5, 0.6], index=pd.date_range("2020-01-01", periods=2)))


def test_smoothing_and_filtering_beat_the_raw_series():
    s, truth = _series()
    out = dynamic.smooth(s)
    raw = np.abs(s.to_numpy() - truth).mean()
    assert np.abs(out["smoothed"].to_numpy() - truth).mean() < raw
    assert np.abs(out["filtered"].to_numpy() - truth).mean() < raw
    assert (out["lower"] <= out["smoothed"]).all() and (out["smoothed"] <= out["upper"]).all()
    assert out.attrs["sigma_noise"] > out.attrs["sigma_level"]


def test_gaps_are_missing_values():
    s, _ = _series()
    out = dynamic.smooth(s.iloc[::3])
    assert len(out) == len(s) - 2 and out["observed"].isna().sum() == len(out) - len(s.iloc[::3])
    assert out["smoothed"].notna().all()
