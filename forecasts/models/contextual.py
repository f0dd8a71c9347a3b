"""Model 7, contextual recalibration: when is a forecaster (a crowd, or an analyst) wrong?

A forecaster's probability ``p`` is recalibrated on the log-odds scale with coefficients that
depend on the moment it was stated::

    logit P(YES) = u0[g] + (b1 + u1[g]) x + b2 x H + b3 x N + b4 M

    x = logit p                      (p clipped to [1e-4, 1 - 1e-4])
    H = ln(1 + days left to the question's scheduled close) - ln(1 + 90)   (days left 0 after the close)
    N = ln(1 + forecasts this forecaster had made on the question so far, this one included) - ln(1 + 30)
    M = x - (x of the forecaster's latest forecast at least 7 days earlier; its first one if none)

H and N are centred on 90 days left and 30 forecasts (fixed constants, not fitted), so ``b1`` is
the log-odds slope there and is nearly uncorrelated with ``b2`` and ``b3`` in the posterior.
``g`` is the case's group: a question's first tag for a crowd (sparse categories borrow
strength from the others), the forecaster's name for a team (someone with 15 resolved questions
borrows from the team).  With one group there are no group terms.  There is no population
intercept on purpose: a base rate learned from one period (on Metaculus, a NO-heavy one) does
not carry over to the next; a group's intercept ``u0[g]`` is shrunk to zero.

Priors (log-odds units): ``b1 ~ Normal(1, 1)`` (centred on "already calibrated"),
``b2, b3, b4 ~ Normal(0, 0.5)``; ``u0[g] = tau0 z0[g]``, ``u1[g] = tau1 z1[g]`` (non-centred),
``z ~ Normal(0, 1)``, ``tau0 ~ HalfNormal(0.25)``, ``tau1 ~ HalfNormal(0.5)``.

Training cases (:func:`training_cases`): each forecast of the forecaster on a question resolved
YES or NO, weighted by the time it held within the question's scoring period (from the opening
to the earlier of the close and the resolution; until the forecaster's next forecast), so each
(question, forecaster) weighs 1 in total and the fit targets the time-averaged score.  The
likelihood is the weighted Bernoulli log-likelihood.  Fitted with NUTS (PyMC, ``cores=2``,
``nuts_sampler="pymc"``, ``target_accept=0.9``); the summary keeps up to 400 posterior draws,
and :func:`predict` is the posterior predictive mean ``mean_s expit(eta_s)`` over them, so the
posterior uncertainty is carried into every forecast (its 5% and 95% quantiles too).  A group
unseen in training draws its terms from the hierarchy (``tau z`` with ``z`` from a fixed seed).

Features are causal: each is computed from the forecaster's own forecasts up to that moment and
the question's scheduled close (known in advance), never from later rows or the resolution.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from forecasts.errors import InvalidInput
from forecasts.models.logodds import expit_array, logit_array
from forecasts.paths import is_folder, is_there

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FEATURES", "GATES", "PRIORS", "VERSION", "features", "fit", "group_of", "load_summary", "predict",
           "save_summary", "training_cases"]

VERSION = "contextual-1"  # features centred at 90 days left and 30 forecasts
#: Column names of the design, in order (see the module docstring).
FEATURES = ("x", "x*H", "x*N", "M")
PRIORS = {"b_mean": [1.0, 0.0, 0.0, 0.0], "b_sd": [1.0, 0.5, 0.5, 0.5], "tau0_sd": 0.25, "tau1_sd": 0.5}
#: A fit is used only if R-hat < 1.01, no divergences and bulk ESS >= 400 (PYMC-NOTES).
GATES = {"rhat": 1.01, "divergences": 0, "ess_bulk": 400}
_DAY_US = 86_400_000_000
_MOVE_DAYS = 7
_H0 = float(np.log1p(90.0))
_N0 = float(np.log1p(30.0))


def features(frame: pd.DataFrame, closes_at: pd.Series | None = None) -> pd.DataFrame:
    """The design of each forecast in ``frame`` (columns ``question``, ``forecaster``,
    ``made_at``, ``probability``, and ``closes_at`` unless given as ``closes_at``, aligned with
    ``frame``).  Returns ``frame`` sorted by (question, forecaster, made_at) with the columns of
    :data:`FEATURES` added.  Uses only each forecaster's earlier forecasts on the same question
    and the scheduled close.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"question": "q", "forecaster": "c", "probability": [0.5, 0.8],
    ...                   "made_at": pd.to_datetime(["2020-01-01", "2020-01-11"]),
    ...                   "closes_at": pd.Timestamp("2020-01-21")})
    >>> features(f)[list(FEATURES)].round(3).to_numpy().tolist()
    [[0.0, -0.0, -0.0, 0.0], [1.386, -2.929, -3.238, 1.386]]
    """
    import pandas as pd

    f = frame.copy()
    if closes_at is not None:
        f["closes_at"] = closes_at.to_numpy()
    f = f.sort_values(["question", "forecaster", "made_at"], kind="stable").reset_index(drop=True)
    t = f["made_at"].astype("datetime64[us]").to_numpy().astype("int64")
    close = pd.Series(f["closes_at"]).astype("datetime64[us]").to_numpy().astype("int64")
    x = logit_array(f["probability"].to_numpy(dtype=float))
    key = pd.factorize(pd.MultiIndex.from_frame(f[["question", "forecaster"]]))[0]
    starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(f)]))
    count = np.arange(len(f)) - first + 1
    # latest forecast of the same series made at least 7 days earlier (else the series' first)
    moved = np.empty(len(f))
    lag = _MOVE_DAYS * _DAY_US
    for s, e in zip(starts, np.r_[starts[1:], len(f)], strict=True):
        ts = t[s:e]
        j = np.searchsorted(ts, ts - lag, side="right") - 1
        moved[s:e] = x[s:e] - x[s:e][np.maximum(j, 0)]
    h = np.log1p(np.maximum(close - t, 0) / _DAY_US) - _H0
    n = np.log1p(count) - _N0
    f["x"], f["x*H"], f["x*N"], f["M"] = x, x * h, x * n, moved
    return f


def training_cases(forecasts: pd.DataFrame, questions: pd.DataFrame, resolutions: pd.DataFrame, *,
                   group_by: str = "tag") -> pd.DataFrame:
    """Weighted training cases: the :func:`features` of every forecast on a question resolved
    yes/no, with ``y`` (1 yes, 0 no), ``weight`` (its holding time within the scoring period,
    divided by the total of its (question, forecaster); zero-weight cases are dropped) and
    ``group`` (``group_by="tag"``: the question's first tag, ``"untagged"`` if none;
    ``"forecaster"``: the forecaster).  ``questions`` needs ``id``, ``opens_at``, ``closes_at``,
    ``tags``; ``resolutions`` ``question``, ``outcome``, ``resolved_at`` (the latest per question
    is used)."""
    import pandas as pd

    if group_by not in ("tag", "forecaster"):
        raise InvalidInput(f"group_by must be 'tag' or 'forecaster', not {group_by!r}")
    res = resolutions.sort_values("resolved_at").drop_duplicates("question", keep="last")
    res = res[res["outcome"].isin(["yes", "no"])]
    q = questions.set_index("id")
    f = forecasts[forecasts["question"].isin(res["question"]) & forecasts["probability"].notna()]
    cols = ["question", "forecaster", "made_at", "probability"]
    if "ended_at" in f.columns:
        cols.append("ended_at")
    f = f[f["question"].isin(q.index)][cols]
    if f.empty:
        return f.assign(**{c: [] for c in (*FEATURES, "y", "weight", "group")})
    f = f.assign(closes_at=f["question"].map(q["closes_at"]).to_numpy())
    f = features(f)
    r = res.set_index("question")
    opens = f["question"].map(q["opens_at"]).astype("datetime64[us]")
    end = f["question"].map(r["resolved_at"]).astype("datetime64[us]")
    end = end.where(end < f["closes_at"].astype("datetime64[us]"), f["closes_at"].astype("datetime64[us]"))
    nxt = f.groupby(["question", "forecaster"])["made_at"].shift(-1).astype("datetime64[us]")
    stop = nxt.where(nxt.notna() & (nxt < end), end)
    if "ended_at" in f.columns:  # a late retraction ends the forecast when it was recorded
        ended = f["ended_at"].astype("datetime64[us]")
        stop = ended.where(ended.notna() & (ended < stop), stop)
    start = f["made_at"].astype("datetime64[us]")
    start = start.where(start > opens, opens)
    held = ((stop - start) / pd.Timedelta(days=1)).clip(lower=0).fillna(0)
    total = held.groupby([f["question"], f["forecaster"]]).transform("sum")
    f = f.assign(y=(f["question"].map(r["outcome"]) == "yes").astype(float),
                 weight=(held / total.where(total > 0)).fillna(0))
    if group_by == "tag":
        first_tag = {qid: (list(tags)[0] if tags is not None and len(tags) else "untagged")
                     for qid, tags in q["tags"].items()}
        f["group"] = f["question"].map(first_tag)
    else:
        f["group"] = f["forecaster"]
    return f[f["weight"] > 0].reset_index(drop=True)


def _build(X: np.ndarray, y: np.ndarray, w: np.ndarray, g: np.ndarray, n_groups: int) -> Any:
    import pymc as pm

    with pm.Model() as model:
        b = pm.Normal("b", mu=np.array(PRIORS["b_mean"]), sigma=np.array(PRIORS["b_sd"]), shape=len(FEATURES))
        eta = pm.math.dot(X, b)
        if n_groups > 1:
            tau0 = pm.HalfNormal("tau0", PRIORS["tau0_sd"])
            tau1 = pm.HalfNormal("tau1", PRIORS["tau1_sd"])
            z0 = pm.Normal("z0", 0.0, 1.0, shape=n_groups)
            z1 = pm.Normal("z1", 0.0, 1.0, shape=n_groups)
            eta = eta + (tau0 * z0)[g] + (tau1 * z1)[g] * X[:, 0]
        loglik = w * (y * eta - pm.math.log1pexp(eta))
        pm.Potential("weighted_bernoulli", loglik.sum())
    return model


def fit(cases: pd.DataFrame, *, of: list[str], trained_through: str, group_by: str = "tag", draws: int = 500,
        tune: int = 500, chains: int = 2, cores: int = 2, seed: int = 0, max_draws: int = 400) -> dict[str, Any]:
    """NUTS on the weighted cases of :func:`training_cases`; the JSON-ready summary that
    :func:`predict` uses (posterior draws, groups, priors, diagnostics, seed, versions).

    ``of``: the forecasters the fit recalibrates; ``trained_through``: ISO time of the latest
    resolution used (a forecast as of an earlier time must refuse this fit); ``group_by``: how
    the cases were grouped (``"tag"`` or ``"forecaster"``, as in :func:`training_cases`)."""
    import logging

    import arviz as az
    import pymc as pm

    if chains < 2:
        raise InvalidInput("use at least 2 chains, so that R-hat means something")
    if cases.empty or cases["question"].nunique() < 2:
        raise InvalidInput(f"{cases['question'].nunique() if len(cases) else 0} resolved questions: too few to learn from")
    groups = sorted(cases["group"].astype(str).unique())
    g = np.searchsorted(groups, cases["group"].astype(str).to_numpy())
    X = cases[list(FEATURES)].to_numpy(dtype=float)
    y = cases["y"].to_numpy(dtype=float)
    w = cases["weight"].to_numpy(dtype=float)
    model = _build(X, y, w, g, len(groups))
    quiet = logging.getLogger("pymc")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        start = time.perf_counter()
        with model:
            idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=cores, nuts_sampler="pymc",
                              target_accept=0.9, random_seed=seed, progressbar=False,
                              compute_convergence_checks=False)
        wall = time.perf_counter() - start
    finally:
        quiet.setLevel(level)
    post = idata["posterior"]
    names = ["b"] + (["tau0", "tau1", "z0", "z1"] if len(groups) > 1 else [])
    rhat = az.rhat(post, var_names=names)
    ess = az.ess(post, var_names=names, method="bulk")
    rhat_max = max(float(np.max(np.asarray(rhat[v]))) for v in names)
    ess_min = min(float(np.min(np.asarray(ess[v]))) for v in names)
    div = int(np.asarray(idata["sample_stats"]["diverging"]).sum())

    def flat(name: str) -> np.ndarray:
        a = np.asarray(post[name])
        return a.reshape(a.shape[0] * a.shape[1], *a.shape[2:])

    total = flat("b").shape[0]
    keep = np.sort(np.random.default_rng(seed).choice(total, min(total, max_draws), replace=False))
    b = flat("b")[keep]
    if len(groups) > 1:
        u0 = flat("tau0")[keep][:, None] * flat("z0")[keep]
        u1 = flat("tau1")[keep][:, None] * flat("z1")[keep]
        tau = np.column_stack([flat("tau0")[keep], flat("tau1")[keep]])
    else:
        u0 = u1 = np.zeros((len(keep), 1))
        tau = np.zeros((len(keep), 2))
    per_question = cases.groupby("question")["group"].first()
    digest = hashlib.sha256(json.dumps([trained_through, of, groups, len(cases), float(w.sum()),
                                        float((X * w[:, None]).sum())]).encode()).hexdigest()[:10]
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    coefficients = {name: {"mean": float(b[:, k].mean()), "sd": float(b[:, k].std()),
                           "q05": float(np.quantile(b[:, k], 0.05)), "q95": float(np.quantile(b[:, k], 0.95))}
                    for k, name in enumerate(FEATURES)}
    return {"model": VERSION, "version": f"{stamp}-{digest}", "of": list(of), "features": list(FEATURES),
            "priors": PRIORS, "group_by": group_by, "groups": groups,
            "group_questions": {str(k): int(v) for k, v in per_question.value_counts().items()},
            "n_questions": int(cases["question"].nunique()), "n_cases": len(cases),
            "trained_through": trained_through, "seed": seed,
            "sampling": {"draws": draws, "tune": tune, "chains": chains, "cores": cores, "sampler": "pymc",
                         "target_accept": 0.9},
            "versions": _versions(),
            "diagnostics": {"rhat_max": rhat_max, "ess_bulk_min": ess_min, "divergences": div,
                            "sampling_seconds": wall,
                            "converged": bool(rhat_max < GATES["rhat"] and div <= GATES["divergences"]
                                              and ess_min >= GATES["ess_bulk"])},
            "coefficients": coefficients,
            "draws": {"b": b.round(6).tolist(), "u0": u0.round(6).tolist(), "u1": u1.round(6).tolist(),
                      "tau": tau.round(6).tolist()}}


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {}
    for name in ("pymc", "pytensor", "arviz", "numpy"):
        try:
            out[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing distribution only leaves its version out
            out[name] = "unknown"
    return out


def group_of(summary: dict[str, Any], forecaster: str, tags: Any) -> str:
    """The group a forecast falls in under a fit: its forecaster (``group_by="forecaster"``) or
    the question's first tag (``"untagged"`` if none)."""
    if summary.get("group_by") == "forecaster":
        return forecaster
    return str(list(tags)[0]) if tags is not None and len(tags) else "untagged"


def predict(summary: dict[str, Any], design: pd.DataFrame, groups: Any = None) -> dict[str, np.ndarray]:
    """Recalibrated probabilities of the rows of ``design`` (the columns of :data:`FEATURES`):
    ``{"mean", "q05", "q95"}`` over the posterior draws, clipped to [1e-4, 1 - 1e-4].
    ``groups``: each row's group (default: the fit's only group); a group the fit did not see
    gets group terms drawn from the hierarchy (seed 0)."""
    X = design[list(FEATURES)].to_numpy(dtype=float)
    d = summary["draws"]
    b = np.asarray(d["b"], dtype=float)
    u0 = np.asarray(d["u0"], dtype=float)
    u1 = np.asarray(d["u1"], dtype=float)
    tau = np.asarray(d["tau"], dtype=float)
    known = list(summary["groups"])
    labels = np.asarray([known[0]] * len(X) if groups is None else [str(v) for v in groups], dtype=object)
    new = sorted(set(labels) - set(known))
    if new:
        z = np.random.default_rng(0).standard_normal((len(b), len(new), 2))
        u0 = np.column_stack([u0, tau[:, :1] * z[:, :, 0]])
        u1 = np.column_stack([u1, tau[:, 1:] * z[:, :, 1]])
        known = known + new
    index = {name: k for k, name in enumerate(known)}
    gi = np.asarray([index[v] for v in labels], dtype=np.int64)
    eta = X @ b.T + u0[:, gi].T + u1[:, gi].T * X[:, :1]       # rows x draws
    p = expit_array(eta)
    lo, hi = np.quantile(p, [0.05, 0.95], axis=1)
    clip = (1e-4, 1 - 1e-4)
    return {"mean": np.clip(p.mean(axis=1), *clip), "q05": np.clip(lo, *clip), "q95": np.clip(hi, *clip)}


def save_summary(summary: dict[str, Any], folder: str | os.PathLike[str]) -> Path:
    """Write ``contextual-<version>.json`` into ``folder`` (created) and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"contextual-{summary['version']}.json"
    path.write_text(json.dumps(summary, separators=(",", ":")), encoding="utf-8")
    return path


def load_summary(where: str | os.PathLike[str]) -> dict[str, Any]:
    """The newest ``contextual-*.json`` in a folder (or that file); refuses an unconverged fit."""
    where = Path(where)
    if is_folder(where):
        files = sorted(where.glob("contextual-*.json"))
        if not files:
            raise InvalidInput(f"no contextual recalibration fitted in {where}; run 'forecasts fit --model contextual'")
        where = files[-1]
    if not is_there(where):
        raise InvalidInput(f"no contextual recalibration fitted at {where}; run 'forecasts fit --model contextual'")
    summary = json.loads(where.read_text(encoding="utf-8"))
    d = summary["diagnostics"]
    if not d.get("converged", False):
        raise InvalidInput(f"the contextual fit {summary['version']} did not converge (R-hat {d['rhat_max']:.3f}, "
                           f"{d['divergences']} divergences, ESS {d['ess_bulk_min']:.0f}); refit with more draws")
    return summary
