"""Model 3, learned event effects: what kinds of events actually moved resolved questions.

The model (PyMC, fitted in batch by ``forecasts fit``)
-----------------------------------------------------
For each resolved yes/no question ``q`` with prior log-odds ``x_q`` (the prior of
:func:`forecasts.models.prior.choose_prior`) and assessed events ``e`` after the prior, each with
an assessed direction ``d_e = sign(ln LR_e)`` (+1 for YES, -1 for NO), a weight ``w_e`` (the
correlated-report discount) and a Goldstein intensity ``m_e = |goldstein_e| / 10``::

    y_q ~ Bernoulli(expit(eta_q))
    eta_q = alpha + x_q + sum_e w_e * d_e * (beta[type_e] + gamma * m_e)
    beta[k] = mu[quad_k] + tau * z_k,    z_k ~ Normal(0, 1)        (non-centred)
    mu[j] ~ Normal(0, 0.75),  tau ~ HalfNormal(0.5),  gamma ~ Normal(0, 0.5),  alpha ~ Normal(0, 0.5)

``type`` is the event's CAMEO root code (``"04"``: consult) and ``quad`` its CAMEO quad class
(verbal/material cooperation/conflict); events without a CAMEO code form the type ``none``.
Partial pooling: a root code seen rarely borrows strength from its quad class.  ``beta[k]`` is
the learned log likelihood ratio of an event of type ``k`` pointing the way the analyst said it
did: ``exp(beta[k] + gamma m)`` is the learned LR that replaces the analyst's own in models 1
and 2, with its posterior uncertainty.  ``alpha`` measures a bias of the priors.

Questions and events are summed into a question x type design matrix, so the likelihood costs
one small matrix product however many events there are.

Fitting and storing
-------------------
:func:`fit` samples with NUTS (``nuts_sampler`` always explicit: ``"pymc"`` or ``"nutpie"``;
``cores=2``, ``chains>=2``: PYMC-NOTES.md), returns R-hat, bulk and tail ESS and divergences
(ArviZ), and a JSON-ready **posterior summary**: up to 1,000 thinned draws of every parameter
plus per-type means and 90% intervals, the fit's data cut-off (``trained_through``) and
diagnostics.  :func:`save_summary` writes it as ``learned-<time>-<hash>.json`` (the version);
:func:`predict` applies it with numpy alone, so PyMC stays out of interactive paths.  A fit is
*converged* when max R-hat < 1.01, no divergences and min bulk ESS >= 400; :func:`load_summary`
refuses an unconverged one unless asked.

PyMC and PyTensor are imported inside :func:`build_model` and :func:`fit` only.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from forecasts.errors import InvalidInput
from forecasts.models.evidence import combine
from forecasts.models.logodds import expit_array, logit
from forecasts.models.prior import choose_prior, events_after_prior
from forecasts.paths import is_folder, is_there

if TYPE_CHECKING:
    import arviz as az
    import pymc as pm

__all__ = ["Design", "build_model", "design_from_records", "fit", "load_summary", "predict",
           "save_summary", "simulate"]

VERSION = "learned-1"
PRIORS = {"alpha_sd": 0.5, "mu_sd": 0.75, "tau_sd": 0.5, "gamma_sd": 0.5}
GATES = {"rhat": 1.01, "divergences": 0, "ess_bulk": 400}
_NONE = "none"


class Design:
    """Training data in matrix form.

    ``y`` (Q,), ``prior_logit`` (Q,), ``X`` (Q, K): sum of ``w d`` per question and type,
    ``G`` (Q,): sum of ``w d m``; ``types`` (K names), ``type_quad`` (K indices into ``quads``).
    """

    def __init__(self, y: ArrayLike, prior_logit: ArrayLike, X: ArrayLike, G: ArrayLike, types: Sequence[str],
                 type_quad: ArrayLike, quads: Sequence[str], questions: Sequence[str] = (), n_events: int = 0,
                 trained_through: str | None = None) -> None:
        self.y = np.asarray(y, dtype=np.int64)
        self.prior_logit = np.asarray(prior_logit, dtype=float)
        self.X = np.asarray(X, dtype=float).reshape(len(self.y), len(types))
        self.G = np.asarray(G, dtype=float)
        self.types = list(types)
        self.type_quad = np.asarray(type_quad, dtype=np.int64)
        self.quads = list(quads)
        self.questions = list(questions)
        self.n_events = int(n_events)
        self.trained_through = trained_through

    def digest(self) -> str:
        """A short hash of the data (part of the fit's version)."""
        h = hashlib.sha256()
        for a in (self.y, self.prior_logit, self.X, self.G):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(json.dumps([self.types, self.quads]).encode())
        return h.hexdigest()[:8]


def event_type(cameo: str | None) -> tuple[str, str]:
    """``(type, quad)`` of an event: its CAMEO root code and quad class, or ``("none", "none")``.

    >>> event_type("0312"), event_type(None)
    (('03', '1'), ('none', 'none'))
    """
    if not cameo:
        return _NONE, _NONE
    from forecasts.cameo import cameo_table

    root = str(cameo)[:2]
    row = cameo_table().get(root)
    return root, (str(row["quad_class"]) if row and row.get("quad_class") else _NONE)


def design_from_records(questions: Sequence[dict], forecasts: Sequence[dict], evidence: Sequence[dict],
                        resolutions: Sequence[dict]) -> Design:
    """Build the design from ledger rows (lists of dicts or DataFrames) of resolved questions.

    The caller reads the rows as of a time (:func:`forecasts.runs.learned.design_from_ledger`);
    this function only turns them into matrices."""
    questions, forecasts, evidence, resolutions = (_rows(x) for x in (questions, forecasts, evidence, resolutions))
    outcome = {r["question"]: r for r in resolutions if r["outcome"] in ("yes", "no")}
    f_by_q: dict[str, list] = {}
    for f in forecasts:
        f_by_q.setdefault(f["question"], []).append(f)
    v_by_q: dict[str, list] = {}
    for v in evidence:
        v_by_q.setdefault(v["question"], []).append(v)
    ys, priors, cells, gs, qids = [], [], [], [], []
    types: dict[str, int] = {}
    quads: dict[str, int] = {}
    type_quad: list[int] = []
    n_events = 0
    through = None
    for q in questions:
        r = outcome.get(q["id"])
        if r is None or q.get("kind", "binary") != "binary":
            continue
        end = min(r["resolved_at"], q["closes_at"])
        fs = [f for f in f_by_q.get(q["id"], []) if f["made_at"] < r["resolved_at"]]
        vs = [v for v in v_by_q.get(q["id"], []) if v["occurred_at"] < end]
        prior = choose_prior(q, fs, vs)
        row: dict[int, float] = {}
        g = 0.0
        for item in combine(events_after_prior(prior, vs)):
            d = math.copysign(1.0, item["delta"]) if item["delta"] != 0 else 0.0
            if d == 0.0:
                continue
            name, quad = event_type(item.get("cameo"))
            if name not in types:
                types[name] = len(types)
                quads.setdefault(quad, len(quads))
                type_quad.append(quads[quad])
            row[types[name]] = row.get(types[name], 0.0) + item["weight"] * d
            gold = item.get("goldstein")
            if gold is not None and not (isinstance(gold, float) and math.isnan(gold)):
                g += item["weight"] * d * abs(float(gold)) / 10.0
            n_events += 1
        ys.append(1 if r["outcome"] == "yes" else 0)
        priors.append(logit(prior["p"]))
        cells.append(row)
        gs.append(g)
        qids.append(q["id"])
        through = r["resolved_at"] if through is None else max(through, r["resolved_at"])
    X = np.zeros((len(ys), len(types)))
    for i, row in enumerate(cells):
        for k, v in row.items():
            X[i, k] = v
    return Design(ys, priors, X, gs, list(types), type_quad, list(quads), qids, n_events,
                  through.isoformat() if isinstance(through, datetime) else through)


def _rows(x) -> list[dict]:
    if hasattr(x, "to_dict"):
        rows = x.to_dict("records")
        for r in rows:
            for k, v in r.items():
                if hasattr(v, "to_pydatetime"):
                    r[k] = v.to_pydatetime()
                elif isinstance(v, float) and math.isnan(v):
                    r[k] = None
        return rows
    return list(x)


def simulate(n_questions: int = 200, events_per_question: float = 10.0, *, n_types: int = 12,
             n_quads: int = 4, rng: np.random.Generator | int | None = None,
             params: dict | None = None) -> tuple[Design, dict]:
    """Data simulated from the model's own prior (or from ``params``): ``(design, truth)``.

    Each question gets a Poisson number of events of random types, directions and weights
    (1 or 0.5), Goldstein intensities in [0, 1] and a prior log-odds ~ Normal(0, 1).

    >>> d, truth = simulate(20, 5, rng=1)
    >>> d.X.shape, sorted(truth)
    ((20, 12), ['alpha', 'beta', 'gamma', 'mu', 'tau'])
    """
    rng = np.random.default_rng(rng)
    if params is None:
        mu = rng.normal(0, PRIORS["mu_sd"], n_quads)
        tau = abs(rng.normal(0, PRIORS["tau_sd"]))
        z = rng.normal(0, 1, n_types)
        type_quad = np.arange(n_types) % n_quads
        params = {"alpha": rng.normal(0, PRIORS["alpha_sd"]), "gamma": rng.normal(0, PRIORS["gamma_sd"]),
                  "mu": mu, "tau": tau, "beta": mu[type_quad] + tau * z}
    type_quad = np.arange(n_types) % n_quads
    X = np.zeros((n_questions, n_types))
    G = np.zeros(n_questions)
    n_events = 0
    for i in range(n_questions):
        n = rng.poisson(events_per_question)
        n_events += n
        k = rng.integers(0, n_types, n)
        d = rng.choice([-1.0, 1.0], n)
        w = rng.choice([1.0, 0.5], n, p=[0.8, 0.2])
        m = rng.uniform(0, 1, n)
        np.add.at(X[i], k, w * d)
        G[i] = np.sum(w * d * m)
    prior = rng.normal(0, 1, n_questions)
    eta = params["alpha"] + prior + X @ params["beta"] + params["gamma"] * G
    y = (rng.uniform(size=n_questions) < expit_array(eta)).astype(int)
    design = Design(y, prior, X, G, [f"t{k}" for k in range(n_types)], type_quad,
                    [f"q{j}" for j in range(n_quads)], [f"sim-{i}" for i in range(n_questions)], n_events,
                    "2000-01-01T00:00:00")
    return design, {k: np.asarray(v) if isinstance(v, np.ndarray) else float(v) for k, v in params.items()}


def build_model(design: Design) -> pm.Model:
    """The PyMC model of the module docstring for a design."""
    import pymc as pm

    if len(design.y) == 0:
        raise InvalidInput("no resolved yes/no questions to learn from")
    coords = {"question": design.questions or list(range(len(design.y))), "type": design.types,
              "quad": design.quads}
    with pm.Model(coords=coords) as model:
        X = pm.Data("X", design.X, dims=("question", "type"))
        G = pm.Data("G", design.G, dims="question")
        prior = pm.Data("prior_logit", design.prior_logit, dims="question")
        alpha = pm.Normal("alpha", 0.0, PRIORS["alpha_sd"])
        mu = pm.Normal("mu", 0.0, PRIORS["mu_sd"], dims="quad")
        tau = pm.HalfNormal("tau", PRIORS["tau_sd"])
        z = pm.Normal("z", 0.0, 1.0, dims="type")
        beta = pm.Deterministic("beta", mu[design.type_quad] + tau * z, dims="type")
        gamma = pm.Normal("gamma", 0.0, PRIORS["gamma_sd"])
        eta = alpha + prior + pm.math.dot(X, beta) + gamma * G
        y = pm.Data("y_obs", design.y, dims="question")   # data, not a constant: one compiled graph per shape
        pm.Bernoulli("y", logit_p=eta, observed=y, dims="question")
    return model


def _diagnostics(idata, wall: float) -> dict:
    import arviz as az

    names = ["alpha", "mu", "tau", "z", "gamma"]
    post = idata["posterior"]
    rhat = az.rhat(post, var_names=names)
    ess_bulk = az.ess(post, var_names=names, method="bulk")
    ess_tail = az.ess(post, var_names=names, method="tail")

    def extreme(ds, fn):
        return float(fn([float(fn(np.asarray(ds[v]))) for v in names]))

    div = int(np.asarray(idata["sample_stats"]["diverging"]).sum())
    out = {"rhat_max": extreme(rhat, np.max), "ess_bulk_min": extreme(ess_bulk, np.min),
           "ess_tail_min": extreme(ess_tail, np.min), "divergences": div, "sampling_seconds": wall}
    out["ess_per_second"] = out["ess_bulk_min"] / wall if wall > 0 else float("nan")
    out["converged"] = bool(out["rhat_max"] < GATES["rhat"] and div <= GATES["divergences"]
                            and out["ess_bulk_min"] >= GATES["ess_bulk"])
    return out


def sample(design: Design, *, draws: int = 1000, tune: int = 1000, chains: int = 2, cores: int = 2,
           sampler: Literal["pymc", "nutpie"] = "pymc", target_accept: float = 0.9,
           seed: int | None = None) -> tuple[az.InferenceData, dict[str, Any]]:
    """NUTS on the design: ``(idata, diagnostics)``.  ``sampler`` is ``"pymc"`` or ``"nutpie"``."""
    import logging

    import pymc as pm

    if sampler not in ("pymc", "nutpie"):
        raise InvalidInput("sampler must be pymc or nutpie (blackjax fails through pm.sample)")
    if sampler == "nutpie":
        try:
            import nutpie  # noqa: F401  # pyright: ignore[reportMissingImports]
        except ImportError:
            raise InvalidInput("nutpie is not installed: install the project's 'nutpie' extra") from None
    if chains < 2:
        raise InvalidInput("use at least 2 chains, so that R-hat means something")
    model = build_model(design)
    quiet = logging.getLogger("pymc")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        start = time.perf_counter()
        with model:
            idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=cores, nuts_sampler=sampler,
                              target_accept=target_accept, random_seed=seed, progressbar=False,
                              compute_convergence_checks=False)
        wall = time.perf_counter() - start
    finally:
        quiet.setLevel(level)
    return idata, _diagnostics(idata, wall)


def summarize(idata: az.InferenceData, design: Design, diagnostics: dict, *, max_draws: int = 1000, seed: int = 0,
              as_of: object = None) -> dict:
    """The JSON-ready posterior summary that :func:`predict` uses (see the module docstring)."""
    post = idata["posterior"]

    def flat(name):
        a = np.asarray(post[name])
        return a.reshape(a.shape[0] * a.shape[1], *a.shape[2:])

    n = flat("alpha").shape[0]
    keep = np.sort(np.random.default_rng(seed).choice(n, min(n, max_draws), replace=False))
    draws = {name: flat(name)[keep].round(5).tolist() for name in ("alpha", "gamma", "tau", "mu", "beta")}
    beta = flat("beta")
    effects = {}
    for k, name in enumerate(design.types):
        b = beta[:, k]
        effects[name] = {"quad": design.quads[design.type_quad[k]], "mean": float(b.mean()), "sd": float(b.std()),
                         "q05": float(np.quantile(b, 0.05)), "q95": float(np.quantile(b, 0.95)),
                         "lr": float(np.exp(b.mean())), "n_events": float(np.abs(design.X[:, k]).sum())}
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    return {"model": VERSION, "version": f"{stamp}-{design.digest()}", "priors": PRIORS,
            "types": design.types, "quads": design.quads, "type_quad": design.type_quad.tolist(),
            "n_questions": len(design.y), "n_events": design.n_events,
            "trained_through": design.trained_through or "1800-01-01T00:00:00",
            "as_of": None if as_of is None else str(as_of), "diagnostics": diagnostics,
            "effects": effects, "draws": draws}


def fit(design: Design, **kwargs: Any) -> tuple[dict, Any]:
    """Sample (see :func:`sample`) and summarise: ``(summary, idata)``."""
    as_of = kwargs.pop("as_of", None)
    idata, diagnostics = sample(design, **kwargs)
    return summarize(idata, design, diagnostics, as_of=as_of), idata


def save_summary(summary: dict, folder: str | os.PathLike[str]) -> Path:
    """Write ``learned-<version>.json`` into ``folder`` (created) and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"learned-{summary['version']}.json"
    path.write_text(json.dumps(summary, separators=(",", ":")), encoding="utf-8")
    return path


def load_summary(where: str | Path, *, allow_unconverged: bool = False) -> dict:
    """The newest ``learned-*.json`` in a folder (or that file); refuses an unconverged fit."""
    where = Path(where)
    if is_folder(where):
        files = sorted(where.glob("learned-*.json"))
        if not files:
            raise InvalidInput(f"no fitted event effects in {where}; run 'forecasts fit' first")
        where = files[-1]
    if not is_there(where):
        raise InvalidInput(f"no fitted event effects at {where}; run 'forecasts fit' first")
    summary = json.loads(where.read_text(encoding="utf-8"))
    if not allow_unconverged and not summary["diagnostics"].get("converged", False):
        d = summary["diagnostics"]
        raise InvalidInput(f"the fit {summary['version']} did not converge (R-hat {d['rhat_max']:.3f}, "
                           f"{d['divergences']} divergences, ESS {d['ess_bulk_min']:.0f}); refit with more draws")
    return summary


def predict(summary: Mapping[str, Any], prior: float, items: Sequence[dict], *, seed: int = 0) -> dict:
    """Apply fitted effects to a question: prior ``prior``, events ``items`` as
    :func:`forecasts.models.evidence.combine` returns them.  Numpy only.

    Types unseen in training draw their effect from the hierarchy (their quad's ``mu`` plus
    ``tau z``; an unseen quad draws ``mu`` from its prior), with a fixed seed, so the result is
    deterministic.  Returns ``{"probability", "q05", "q95", "steps", "explanation"}``; each step
    holds the event's learned log-odds shift as posterior ``draws`` (its log likelihood ratio)
    and their mean and 90% interval.
    """
    d = {k: np.asarray(v, dtype=float) for k, v in summary["draws"].items()}
    n = d["alpha"].shape[0]
    rng = np.random.default_rng(seed)
    types = {name: k for k, name in enumerate(summary["types"])}
    quads = {name: j for j, name in enumerate(summary["quads"])}
    eta = d["alpha"] + logit(prior)
    steps, lines = [], [f"prior {prior:.1%}; prior bias alpha {d['alpha'].mean():+.2f}"]
    for item in items:
        if item["delta"] == 0:
            continue
        direction = math.copysign(1.0, item["delta"])
        name, quad = event_type(item.get("cameo"))
        if name in types:
            b = d["beta"][:, types[name]]
            origin = "learned"
        else:
            mu = d["mu"][:, quads[quad]] if quad in quads else rng.normal(0, PRIORS["mu_sd"], n)
            b = mu + d["tau"] * rng.normal(0, 1, n)
            origin = "unseen type: pooled"
        g = item.get("goldstein")
        m = abs(float(g)) / 10.0 if g is not None and not (isinstance(g, float) and math.isnan(g)) else 0.0
        delta = item["weight"] * direction * (b + d["gamma"] * m)
        eta = eta + delta
        steps.append({"event": item["event"], "type": name, "delta_mean": float(delta.mean()),
                      "delta_q05": float(np.quantile(delta, 0.05)), "delta_q95": float(np.quantile(delta, 0.95)),
                      "draws": delta})
        lines.append(f"#{item['event']} {item['title']} (CAMEO root {name}, {origin}): learned "
                     f"{float(delta.mean()):+.2f} log-odds [90% {np.quantile(delta, 0.05):+.2f}, "
                     f"{np.quantile(delta, 0.95):+.2f}] vs the analyst's {item['delta']:+.2f}")
    p = expit_array(eta)
    out = {"probability": float(p.mean()), "q05": float(np.quantile(p, 0.05)), "q95": float(np.quantile(p, 0.95)),
           "steps": steps}
    lines.append(f"posterior predictive {out['probability']:.1%} [90% {out['q05']:.1%}-{out['q95']:.1%}]")
    out["explanation"] = lines
    return out
