"""Bayesian models that update questions as events arrive; every model is a forecaster.

The models are pure: records (lists of dicts) or frames and plain values in, forecast rows and
explanations out.  None of them reads or writes the ledger: :mod:`forecasts.runs` does that.

Modules (import the one you need; this package imports nothing, so that the closed-form fast
path of ``forecasts update`` loads no numpy, pandas or PyMC):

logodds
    logit, expit and the clipping floor, once: scalars (standard library) and arrays (numpy).
prior
    The prior of the evidence, hazard and learned models (:func:`~forecasts.models.prior.choose_prior`).
forecasters
    Each model on one question's records as of t: forecast rows and an explanation.

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
contextual
    Model 7: recalibration by the moment (time left, forecasts so far, recent move), PyMC,
    hierarchical over question tags (a crowd) or analysts (a team).
dynamic
    Model 6: local-level state-space smoothing of a crowd's log-odds (statsmodels).
run
    A compatibility shim for the CLI, re-exporting :mod:`forecasts.runs` (to be deleted).
"""
