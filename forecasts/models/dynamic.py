"""Model 6, dynamic logit: a local-level state-space model that smooths a noisy crowd series.

The crowd's log-odds on day ``t`` is ``y_t = mu_t + e_t`` with ``e_t ~ N(0, s_e^2)`` (noise:
who happened to update that day) and ``mu_t = mu_{t-1} + u_t``, ``u_t ~ N(0, s_u^2)`` (the
underlying belief, a random walk).  Both variances are fitted by maximum likelihood with
statsmodels' ``UnobservedComponents("local level")`` (Kalman filter; days without a forecast
are missing values, which the filter handles).

Two outputs, not to be confused:

* ``filtered``: the estimate on day t from data up to t.  No lookahead: usable as a forecast.
* ``smoothed``: the estimate on day t from the whole series (Kalman smoother): for plots and
  for reading the past, never as a forecast made at t.

Probabilities are clipped to [1e-4, 1 - 1e-4] before taking log-odds.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from forecasts.errors import InvalidInput
from forecasts.models.logodds import PROB_FLOOR, expit_array, logit_array

__all__ = ["smooth"]

VERSION = "dynamic-1"


def smooth(series: pd.Series, *, freq: str = "D") -> pd.DataFrame:
    """Filter and smooth a probability series (index: times) on a regular grid.

    Several values in one period keep the last.  Returns a DataFrame indexed by period start
    with ``observed`` (NaN where nothing was said), ``filtered``, ``smoothed``, ``lower`` and
    ``upper`` (90% band of the smoothed level), all probabilities, and ``attrs`` holding the
    fitted ``sigma_level`` and ``sigma_noise`` (log-odds per period).

    >>> idx = pd.date_range("2021-01-01", periods=60, freq="D")
    >>> rng = np.random.default_rng(0)
    >>> level = np.cumsum(rng.normal(0, 0.05, 60))
    >>> noisy = pd.Series(1 / (1 + np.exp(-(level + rng.normal(0, 0.5, 60)))), index=idx)
    >>> out = smooth(noisy)
    >>> truth = 1 / (1 + np.exp(-level))
    >>> bool(np.abs(out["smoothed"] - truth).mean() < np.abs(noisy.to_numpy() - truth).mean())
    True
    """
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    if not isinstance(series, pd.Series) or series.empty:
        raise InvalidInput("smoothing needs a non-empty series of probabilities indexed by time")
    s = series.sort_index().astype(float).clip(PROB_FLOOR, 1 - PROB_FLOOR)
    grid = s.resample(freq).last()
    if grid.notna().sum() < 3:
        raise InvalidInput("smoothing needs forecasts on at least 3 different days")
    y = logit_array(grid.to_numpy())   # NaN (no forecast that day) stays NaN
    model = UnobservedComponents(y, level="local level")  # pyright: ignore[reportArgumentType]  (the stubs say bool)
    with warnings.catch_warnings():
        # Only the optimiser's convergence notice on short, flat series: the fit is still the
        # best found, and the smoothed path is reported either way.
        from statsmodels.tools.sm_exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
        fit: Any = model.fit(disp=False)
    filtered = np.asarray(fit.filtered_state[0])
    smoothed = np.asarray(fit.smoothed_state[0])
    sd = np.sqrt(np.asarray(fit.smoothed_state_cov[0, 0]))
    out = pd.DataFrame({"observed": grid.to_numpy(), "filtered": expit_array(filtered), "smoothed": expit_array(smoothed),
                        "lower": expit_array(smoothed - 1.6449 * sd), "upper": expit_array(smoothed + 1.6449 * sd)},
                       index=grid.index)
    params = dict(zip(model.param_names, np.asarray(fit.params), strict=True))
    out.attrs = {"sigma_noise": float(np.sqrt(params["sigma2.irregular"])),
                 "sigma_level": float(np.sqrt(params["sigma2.level"])), "version": VERSION}
    return out
