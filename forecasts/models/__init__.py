"""Bayesian models that update questions as events arrive; every model is a forecaster.

Modules (import the one you need; this package imports nothing, so that the closed-form fast
path of ``forecasts update`` loads no numpy, pandas or PyMC):

evidence
    Model 1: prior log-odds plus weighted log likelihood ratios, explained step by step.
hazard
    Model 2: "before date T" questions as a Gamma-mixed waiting time that decays with quiet days.
hierarchical
    Model 3: learned event effects (PyMC, batch), stored as posterior draws for models 1 and 2.
aggregate
    Model 4: mean, median, geometric mean of odds, Metaculus' recency-weighted median,
    extremized log-odds pooling with a learned factor.
recalibrate
    Model 5: per-forecaster Bayesian logistic recalibration.
dynamic
    Model 6: local-level state-space smoothing of a crowd's log-odds (statsmodels).
run
    The glue: read the ledger as of t, run a model, append ``model:<name>`` rows; backtests;
    the New START replay.
"""
