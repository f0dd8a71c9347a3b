"""forecasts: an append-only forecast ledger, scoring, calibration and Bayesian updating."""

__version__ = "0.1.0"
