"""The live path of the closed-form models stays free of numpy and pandas (the layering of
models and runs, and the absence of import cycles, are checked for the whole package in
tests/test_architecture.py)."""

from __future__ import annotations

import subprocess
import sys


def test_the_live_path_of_the_closed_form_models_loads_no_numpy_or_pandas():
    code = ("import sys, forecasts.runs.live, forecasts.runs.backtest, forecasts.models.forecasters; "
            "print(sorted(m for m in ('numpy', 'pandas', 'pymc', 'pytensor', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
