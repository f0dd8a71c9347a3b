"""Evaluation on a real track record: do the models beat the raw crowd, out of sample?

The models are run as forecasters over an imported crowd (by default the Metaculus community
median, ``import:metaculus``) with strict as-of discipline:

* **Training** reads the ledger as of the cut-off on the world clock: only questions resolved
  (yes/no) before the cut-off, and only the crowd's forecasts made before it.
* **Testing** covers every binary question still open at the cut-off or opened after it (its
  scoring period, from the opening to the earlier of the close and the resolution, ends after
  the cut-off) and resolved yes/no (optionally before ``end``).  Each is scored only on the part
  of its life after the cut-off: the scoring period starts at ``max(opens_at, cutoff)``, and the
  forecast standing at the cut-off holds from it.  At any time t a model sees the crowd's
  forecasts up to t, the question's scheduled close and the parameters learned in training --
  nothing later.

Models (each a forecaster ``model:<name>`` whose rows sit at the crowd's forecast times):

``model:extremized``
    ``expit(d * logit p)``, the extremizing factor ``d`` fitted on the training questions by
    :func:`forecasts.models.aggregate.fit_extremizing` (penalised maximum likelihood, Normal(1, 1)
    prior -- negligible with hundreds of questions; each question's cases weigh 1 in total).
``model:recalibrated``
    Platt-style recalibration ``expit(a + b * logit p)`` fitted on the training questions by
    :func:`forecasts.models.recalibrate.fit_forecaster` (Bayesian logistic regression, posterior
    predictive mean: :meth:`~forecasts.models.recalibrate.Recalibration.predictive_mean`).
``model:contextual``
    The contextual recalibration of :mod:`forecasts.models.contextual` (PyMC NUTS on the
    training questions, hierarchical over the questions' first tags): the log-odds scaled by
    how long is left to the close and how many forecasts the crowd has made, plus its recent
    move; the posterior predictive mean over the stored draws.
``model:hazard-crowd`` (deadline questions only)
    The deadline-hazard correction: after each crowd forecast p at t0, the probability decays
    with quiet time as the hazard model says it should (:func:`forecasts.models.hazard.quiet_decay`, Gamma
    shape ``a`` chosen on the training deadline questions) until the crowd's next forecast;
    written on a daily grid.  If it beats the crowd, the crowd decays its probability too
    slowly; if it loses, the crowd's flat holding between updates was right (or news arrived).
``model:hazard``
    The pure hazard model from the crowd's first forecast only (quiet decay, no news).

Deadline questions are those whose title asks whether something happens "before"/"by" a year
(``_DEADLINE``) and is not phrased negatively (not/remain/still/continue/stay); their deadline is
the question's close time (known in advance; the resolve time would leak early YES outcomes).

Scores: time-averaged Brier (0-1) and log score (nats) per question, lower is better
(:func:`forecasts.scoring.time_averaged`).  Tables (every row gives its ``n_questions``):

* ``table``: each model minus the crowd on the questions both forecast, with a 95% percentile
  bootstrap interval over questions (:func:`forecasts.scoring.compare_forecasters`) and the
  difference relative to the crowd's score (``relative``, ``rel_lower``, ``rel_upper``: the
  difference and its interval divided by the crowd's mean score).  Negative = the model is better.
* ``by_horizon``: the same on the part of each question's life with a given time left to its
  scheduled close (:data:`HORIZONS`, in days); ``by_length``: grouped by the question's
  scheduled length, close minus opening (:data:`LENGTHS`, in days).
* ``pairs``: every pair of forecasters (the crowd and the models), ``a`` minus ``b``.

Verdicts ("helps", "hurts", "no clear difference") need at least :data:`MIN_QUESTIONS` test
questions; below that the numbers are printed with "too few questions for a verdict".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from forecasts.errors import InvalidInput
from forecasts.models.hazard import DEFAULT_SHAPE, quiet_decay

if TYPE_CHECKING:
    import pandas as pd

    from forecasts.ledger import Ledger

_DEADLINE = re.compile(r"\b(before|by)\b[^?]*\b(19|20)\d{2}\b", re.I)
_NEGATIVE = re.compile(r"\b(not|remain|remains|still|continue|continues|stay|stays)\b", re.I)
DAY_US = 86_400_000_000
#: Fewer test questions than this get no verdict.
MIN_QUESTIONS = 30
#: Time left to the scheduled close, in days: (label, at least, less than).
HORIZONS = (("over 1 year", 365.0, float("inf")), ("3-12 months", 91.0, 365.0), ("1-3 months", 30.0, 91.0),
            ("under 1 month", 0.0, 30.0))
#: Scheduled length of the question (close minus opening), in days: (label, at least, less than).
LENGTHS = (("under 3 months", 0.0, 91.0), ("3-12 months", 91.0, 365.0), ("over 1 year", 365.0, float("inf")))
#: The Gamma shapes of the deadline hazard tried on the training questions (:func:`choose_shape`).
SHAPES = (0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
MODEL_NAMES = ("model:extremized", "model:recalibrated", "model:contextual", "model:hazard-crowd", "model:hazard")


def is_deadline_question(title: str) -> bool:
    """Does the title ask whether something happens before a date?

    >>> is_deadline_question("Will Russia withdraw from New START before January 1, 2023?")
    True
    >>> is_deadline_question("Will the treaty still be in force by 2023?")
    False
    """
    return bool(_DEADLINE.search(title or "")) and not _NEGATIVE.search(title or "")


def holding_grid(crowd: pd.DataFrame, ends: dict, *, restart: bool = True, step_days: float = 1.0) -> pd.DataFrame:
    """Times at which a model re-reads the crowd: from each crowd forecast (``restart``) or from
    the first one only, one row at the forecast and one every ``step_days`` while it stands, until
    the crowd's next forecast (``restart``) or the end of the question's scoring period
    (``ends``: question id -> time).  A forecast at or after its end still gives its one row.

    Returns a frame with the standing forecast's columns (``crowd``'s, e.g. ``question``,
    ``probability``, ``deadline``), its own time as ``t0`` and the row's time as ``made_at``
    (``datetime64[us]``)."""
    import numpy as np

    c = crowd.sort_values(["question", "made_at"]).reset_index(drop=True)
    if not restart:
        c = c.drop_duplicates("question", keep="first").reset_index(drop=True)
    nxt = c.groupby("question")["made_at"].shift(-1)
    end = c["question"].map(ends)
    stop = nxt.where(nxt.notna(), end)
    stop = stop.where(stop < end, end).astype("datetime64[us]")
    t0 = c["made_at"].astype("datetime64[us]").to_numpy()
    span = (stop.to_numpy() - t0) / np.timedelta64(1, "D")
    n = np.maximum(np.ceil(np.nan_to_num(span, nan=0.0) / step_days).astype(np.int64), 1)
    idx = np.repeat(np.arange(len(c)), n)
    k = np.arange(idx.size) - np.repeat(np.cumsum(n) - n, n)
    grid = c.iloc[idx].reset_index(drop=True)
    grid["t0"] = t0[idx]
    grid["made_at"] = t0[idx] + (k * step_days * DAY_US).astype("timedelta64[us]")
    return grid


def _decay_rows(crowd: pd.DataFrame, ends: dict, shape: float, *, restart: bool,
                step_days: float = 1.0) -> pd.DataFrame:
    """Hazard forecasts on the :func:`holding_grid`: each row decays its standing crowd
    forecast quietly to the question's ``deadline`` (:func:`quiet_decay`)."""
    import pandas as pd

    g = holding_grid(crowd, ends, restart=restart, step_days=step_days)
    p = quiet_decay(g["probability"].to_numpy(), g["t0"].to_numpy(), g["deadline"].astype("datetime64[us]").to_numpy(),
                    g["made_at"].to_numpy(), shape)
    return pd.DataFrame({"question": g["question"].to_numpy(), "made_at": g["made_at"].to_numpy(), "probability": p})


def deadline_rows(questions: pd.DataFrame, crowd: pd.DataFrame, shape: float, *, restart: bool = True,
                  step_days: float = 1.0) -> pd.DataFrame:
    """The deadline-hazard correction of the crowd (``model:hazard-crowd`` with ``restart``,
    ``model:hazard`` without) on the deadline questions of ``questions``
    (:func:`is_deadline_question`; columns ``id, title, closes_at, resolved_at``): the
    deadline is the scheduled close, the scoring period ends at the close or an earlier
    resolution.  ``crowd``: ``question, made_at, probability``.  Returns ``question, made_at,
    probability``."""
    import pandas as pd

    dq = questions[questions["title"].map(is_deadline_question).to_numpy(dtype=bool)]
    ff = crowd[crowd["question"].isin(dq["id"])]
    if ff.empty:
        return ff.assign(forecaster=[])
    deadline = dict(zip(dq["id"], dq["closes_at"], strict=True))
    ends = {q: min(c, r) if pd.notna(r) else c
            for q, c, r in zip(dq["id"], dq["closes_at"], dq["resolved_at"], strict=True)}
    ff = ff.assign(deadline=ff["question"].map(deadline))
    return _decay_rows(ff, ends, shape, restart=restart, step_days=step_days)


def choose_shape(questions: pd.DataFrame, crowd: pd.DataFrame, resolutions: pd.DataFrame,
                 shapes: Sequence[float] = SHAPES) -> tuple[float | None, dict[float, float]]:
    """The Gamma shape of ``model:hazard-crowd`` with the lowest mean time-averaged Brier on the
    resolved deadline questions of ``questions`` (``crowd``'s forecasts on them, ``resolutions``
    yes/no), and that Brier for each shape tried; ``(None, {})`` when there is no such question
    (the caller then takes :data:`~forecasts.models.hazard.DEFAULT_SHAPE`).  Ties go to the
    shape listed first."""
    import numpy as np

    from forecasts.scoring import time_averaged

    best, table = None, {}
    scored = questions.drop(columns=["resolved_at", "outcome"], errors="ignore")
    for a in shapes:
        rows = deadline_rows(questions, crowd, a, restart=True)
        if rows.empty:
            break
        rows = rows.assign(forecaster="model:hazard-crowd", seq=np.arange(len(rows)))
        s = time_averaged(rows, scored, resolutions, "brier")
        table[a] = float(s["score"].mean())
        if best is None or table[a] < table[best]:
            best = a
    return best, table


def verdict(row: Any) -> str:
    """The verdict on one comparison row (``n_questions``, ``difference``, ``lower``, ``upper``,
    ``rule``): fewer than :data:`MIN_QUESTIONS` questions get none."""
    if row.n_questions < MIN_QUESTIONS:
        return (f"too few questions for a verdict under {row.rule} (n={row.n_questions}, "
                f"need {MIN_QUESTIONS}; {row.difference:+.4f} [{row.lower:+.4f}, {row.upper:+.4f}])")
    if row.upper < 0:
        return f"helps under {row.rule} ({row.difference:+.4f})"
    if row.lower > 0:
        return f"hurts under {row.rule} ({row.difference:+.4f})"
    return f"no clear difference under {row.rule} (interval spans 0)"


@dataclass
class Evaluation:
    """The result of :func:`evaluate_crowd`: the tables of the module docstring."""

    crowd: str
    cutoff: Any
    end: Any
    table: Any
    params: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    verdicts: dict = field(default_factory=dict)
    by_horizon: Any = None
    by_length: Any = None
    pairs: Any = None
    fits: dict = field(default_factory=dict)
    #: The scored test frames: every forecast row (crowd and models), the test questions with
    #: their scoring period starting at the cut-off, and their resolutions.
    forecasts: Any = None
    questions: Any = None
    resolutions: Any = None

    def to_text(self) -> str:
        c = self.counts
        lines = [f"Evaluation against {self.crowd}: trained on {c.get('train_questions', 0)} questions resolved "
                 f"before {self.cutoff:%Y-%m-%d}; tested on {c.get('test_questions', 0)} questions open at it or "
                 f"opened after it ({c.get('test_open_at_cutoff', 0)} open at the cut-off, scored after it)"
                 + (f" and resolved before {self.end:%Y-%m-%d}" if self.end is not None else "")]
        for k, v in self.params.items():
            lines.append(f"  {k}: {v}")
        lines.append("  model minus crowd (negative: the model is better); 95% bootstrap intervals over questions")
        for r in self.table.itertuples():
            lines.append(f"  {r.model:20s} {r.rule:5s} n={r.n_questions:4d}  model {r.score_model:.4f}  "
                         f"crowd {r.score_crowd:.4f}  diff {r.difference:+.4f} [{r.lower:+.4f}, {r.upper:+.4f}]  "
                         f"{r.relative:+.1%} [{r.rel_lower:+.1%}, {r.rel_upper:+.1%}] of the crowd's score")
        for m, v in self.verdicts.items():
            lines.append(f"  {m}: {v}")
        for title, frame, key in (("by time left to the close", self.by_horizon, "horizon"),
                                  ("by question length", self.by_length, "length")):
            if frame is None or frame.empty:
                continue
            lines.append(f"  {title} (Brier, model minus crowd)")
            for r in frame[frame["rule"] == "brier"].itertuples():
                lines.append(f"    {getattr(r, key):15s} {r.model:20s} n={r.n_questions:4d}  crowd "
                             f"{r.score_crowd:.4f}  diff {r.difference:+.4f} [{r.lower:+.4f}, {r.upper:+.4f}]"
                             + ("  (too few questions for a verdict)" if r.n_questions < MIN_QUESTIONS else ""))
        if self.pairs is not None and not self.pairs.empty:
            lines.append("  paired comparisons (a minus b)")
            for r in self.pairs.itertuples():
                lines.append(f"    {r.a:20s} - {r.b:20s} {r.rule:5s} n={r.n_questions:4d}  "
                             f"diff {r.difference:+.4f} [{r.lower:+.4f}, {r.upper:+.4f}]")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        parts = [f"<p>{escape(self.to_text().splitlines()[0])}</p>",
                 self.table.to_html(index=False, float_format="%.4f")]
        for title, frame in (("By time left to the close", self.by_horizon), ("By question length", self.by_length),
                             ("Paired comparisons (a minus b)", self.pairs)):
            if frame is not None and not frame.empty:
                parts.append(f"<h4>{title}</h4>" + frame.to_html(index=False, float_format="%.4f"))
        return "".join(parts)


def _frames_as_of(ledger: Ledger, crowd: str, cutoff: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    fs = ledger.forecasts(cutoff, clock="world", forecaster=crowd)
    rs = ledger.resolutions(cutoff, clock="world")
    rs = rs[rs["outcome"].isin(["yes", "no"])]
    return fs, rs


def _compare(scores: pd.DataFrame, a: str, b: str, rule: str, n_boot: int, seed: int) -> dict | None:
    from forecasts.scoring import compare_forecasters

    have = set(scores.loc[scores["score"].notna(), "forecaster"])
    if a not in have or b not in have:
        return None
    try:
        c = compare_forecasters(scores, a, b, n_boot=n_boot, random_state=seed)
    except InvalidInput:   # no question in common
        return None
    base = c["score_b"]
    return {"rule": rule, "n_questions": c["n_questions"], "score_model": c["score_a"], "score_crowd": base,
            "difference": c["mean_difference"], "lower": c["lower"], "upper": c["upper"],
            "relative": c["mean_difference"] / base if base else float("nan"),
            "rel_lower": c["lower"] / base if base else float("nan"),
            "rel_upper": c["upper"] / base if base else float("nan"),
            "share_model_better": c["share_a_better"]}


def _window(qframe: pd.DataFrame, rframe: pd.DataFrame, lo: float, hi: float) -> pd.DataFrame:
    """The questions restricted to the part of their scoring period with between ``lo`` and
    ``hi`` days left to the scheduled close (questions with nothing left in it are dropped)."""
    import pandas as pd

    close = qframe["closes_at"].astype("datetime64[us]")
    start = qframe["opens_at"].astype("datetime64[us]")
    if hi != float("inf"):
        later = close - pd.Timedelta(days=hi)
        start = start.where(start > later, later)
    stop = close - pd.Timedelta(days=lo)
    resolved = qframe["id"].map(rframe.set_index("question")["resolved_at"]).astype("datetime64[us]")
    end = stop.where(stop < resolved, resolved)
    keep = end > start
    return qframe.assign(opens_at=start, closes_at=stop)[keep.to_numpy()]


def evaluate_crowd(ledger: Ledger, *, crowd: str = "import:metaculus", cutoff: object = "2020-07-01",
                   end: object = None, n_boot: int = 2000, seed: int = 0,
                   shapes: tuple[float, ...] = SHAPES,
                   contextual: bool = True, draws: int = 500, tune: int = 500) -> Evaluation:
    """Run the models as forecasters over the crowd's track record and compare (see the module
    docstring).  ``cutoff``: training uses only what was known (world time) before it;
    ``end``: keep test questions resolved before it; ``contextual``: also fit and test
    :mod:`forecasts.models.contextual` (PyMC NUTS, ``draws`` and ``tune`` per chain, 2 chains,
    seed ``seed``); ``n_boot`` and ``seed``: the bootstrap."""
    import numpy as np
    import pandas as pd

    from forecasts import domain
    from forecasts.models import contextual as ctx
    from forecasts.models.aggregate import extremize, fit_extremizing
    from forecasts.models.recalibrate import fit_forecaster
    from forecasts.scoring import time_averaged

    cut = pd.Timestamp(domain.parse_time(cutoff, "cut-off date"))
    stop = None if end is None else pd.Timestamp(domain.parse_time(end, "end date"))

    # ---- training: the ledger as it stood at the cut-off
    train_f, train_r = _frames_as_of(ledger, crowd, cut)
    train_f = train_f[train_f["question"].isin(train_r["question"]) & train_f["probability"].notna()]
    if train_r.empty or train_f.empty:
        raise InvalidInput(f"no question resolved before {cut:%Y-%m-%d} has forecasts by {crowd}: nothing to learn from")
    f_rec = train_f[["seq", "question", "forecaster", "made_at", "probability"]].to_dict("records")
    r_rec = train_r[["question", "outcome", "resolved_at"]].to_dict("records")
    ext = fit_extremizing(f_rec, r_rec, persons_only=False)   # the crowd is an imported record, not a person
    recal = fit_forecaster(f_rec, r_rec, crowd)
    qs_cut = ledger.questions(cut, clock="world")
    fit = None
    if contextual:
        cases = ctx.training_cases(train_f, qs_cut, train_r, group_by="tag")
        fit = ctx.fit(cases, of=[crowd], trained_through=pd.Timestamp(train_r["resolved_at"].max()).isoformat(),
                      group_by="tag", draws=draws, tune=tune, seed=seed)

    # ---- everything now, for the test questions: open at the cut-off or opened after it
    qs = ledger.questions()
    rs = ledger.resolutions()
    rs = rs[rs["outcome"].isin(["yes", "no"])]
    rs = rs.sort_values("resolved_at").drop_duplicates("question", keep="last")
    res_at = qs["id"].map(rs.set_index("question")["resolved_at"])
    period_end = qs["closes_at"].where(qs["closes_at"] < res_at, res_at)
    test_q = qs[qs["id"].isin(rs["question"]) & (qs["kind"] == "binary") & (period_end > cut).to_numpy()]
    if stop is not None:
        test_q = test_q[test_q["id"].map(rs.set_index("question")["resolved_at"]) < stop]
    allf = ledger.forecasts(forecaster=crowd)
    crowd_f = allf[allf["question"].isin(test_q["id"]) & allf["probability"].notna()]
    crowd_f = crowd_f[["question", "made_at", "probability"]].reset_index(drop=True)
    if crowd_f.empty:
        raise InvalidInput(f"no resolved question open at or after {cut:%Y-%m-%d} has forecasts by {crowd}")

    parts = [crowd_f.assign(forecaster=crowd)]
    p = crowd_f["probability"].to_numpy(dtype=float)
    parts.append(crowd_f.assign(forecaster="model:extremized", probability=extremize(p, ext["factor"])))
    parts.append(crowd_f.assign(forecaster="model:recalibrated", probability=recal.predictive_mean(p)))
    if fit is not None:
        closes = crowd_f["question"].map(test_q.set_index("id")["closes_at"])
        design = ctx.features(crowd_f.assign(forecaster=crowd, closes_at=closes.to_numpy()))
        tags = test_q.set_index("id")["tags"]
        groups = design["question"].map(lambda q: ctx.group_of(fit, crowd, tags[q]))
        pred = ctx.predict(fit, design, groups)
        parts.append(design[["question", "made_at"]].assign(forecaster="model:contextual", probability=pred["mean"]))

    # ---- the deadline hazard: shape chosen on the training deadline questions
    train_dq = qs_cut[qs_cut["id"].isin(train_r["question"])]
    train_crowd = train_f[["question", "made_at", "probability"]]
    best, table_shapes = choose_shape(train_dq, train_crowd, train_r, shapes)
    shape = best if best is not None else DEFAULT_SHAPE
    crowd_train_brier = None
    if table_shapes:
        dq_ids = train_dq[train_dq["title"].map(is_deadline_question)]["id"]
        base = train_crowd[train_crowd["question"].isin(dq_ids)].assign(forecaster=crowd)
        base = base.assign(seq=np.arange(len(base)))
        crowd_train_brier = float(time_averaged(base, train_dq.drop(columns=["resolved_at", "outcome"]),
                                                train_r, "brier")["score"].mean())
    for restart, name in ((True, "model:hazard-crowd"), (False, "model:hazard")):
        rows = deadline_rows(test_q, crowd_f, shape, restart=restart)
        if len(rows):
            parts.append(rows.assign(forecaster=name))

    frame = pd.concat(parts, ignore_index=True)
    frame["seq"] = np.arange(len(frame))
    frame["made_at"] = frame["made_at"].astype("datetime64[us]")
    # scored only after the cut-off: the forecast standing at the cut-off holds from it
    qframe = test_q.drop(columns=["resolved_at", "outcome"], errors="ignore")
    opens = qframe["opens_at"].astype("datetime64[us]")
    qframe = qframe.assign(opens_at=opens.where(opens > cut, cut.to_datetime64()))
    rframe = rs[rs["question"].isin(test_q["id"])]
    present = [m for m in MODEL_NAMES if (frame["forecaster"] == m).any()]
    rows, horizon_rows, length_rows, pair_rows = [], [], [], []
    length_days = (test_q["closes_at"] - test_q["opens_at"]).dt.total_seconds().to_numpy() / 86400
    for rule in ("brier", "log"):
        scores = time_averaged(frame, qframe, rframe, rule)
        for m in present:
            c = _compare(scores, m, crowd, rule, n_boot, seed)
            if c is not None:
                rows.append({"model": m, **c})
        names = [crowd, *present]
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                c = _compare(scores, a, b, rule, n_boot, seed)
                if c is not None:
                    pair_rows.append({"a": a, "b": b, "rule": rule, "n_questions": c["n_questions"],
                                      "score_a": c["score_model"], "score_b": c["score_crowd"],
                                      "difference": c["difference"], "lower": c["lower"], "upper": c["upper"]})
        for label, lo, hi in HORIZONS:
            window = _window(qframe, rframe, lo, hi)
            if window.empty:
                continue
            ws = time_averaged(frame, window, rframe[rframe["question"].isin(window["id"])], rule)
            for m in present:
                c = _compare(ws, m, crowd, rule, n_boot, seed)
                if c is not None:
                    horizon_rows.append({"horizon": label, "model": m, **c})
        for label, lo, hi in LENGTHS:
            ids = set(test_q["id"][(length_days >= lo) & (length_days < hi)])
            ls = scores[scores["question"].isin(ids)]
            for m in present:
                c = _compare(ls, m, crowd, rule, n_boot, seed)
                if c is not None:
                    length_rows.append({"length": label, "model": m, **c})
    table = pd.DataFrame(rows)
    verdicts = {m: "; ".join(verdict(r) for r in g.itertuples()) for m, g in table.groupby("model", sort=False)}
    params = {"extremizing factor d": round(ext["factor"], 4), "extremizing sd": round(ext["sd"], 4),
              "recalibration intercept": round(recal.intercept, 4), "recalibration slope": round(recal.slope, 4),
              "hazard shape a (chosen on training)": shape,
              "training Brier of model:hazard-crowd by shape": {k: round(v, 5) for k, v in table_shapes.items()},
              "training Brier of the crowd on the same deadline questions":
                  None if crowd_train_brier is None else round(crowd_train_brier, 5)}
    fits = {}
    if fit is not None:
        params["contextual coefficients (posterior mean, sd)"] = {
            k: (round(v["mean"], 4), round(v["sd"], 4)) for k, v in fit["coefficients"].items()}
        d = fit["diagnostics"]
        params["contextual fit"] = (f"{fit['version']}: {fit['n_questions']} questions, {fit['n_cases']} cases, "
                                    f"{len(fit['groups'])} groups; R-hat max {d['rhat_max']:.3f}, bulk ESS min "
                                    f"{d['ess_bulk_min']:.0f}, {d['divergences']} divergences; seed {fit['seed']}; "
                                    + ", ".join(f"{k} {v}" for k, v in fit["versions"].items()))
        fits["contextual"] = fit
    open_at_cut = int((test_q["opens_at"] < cut).sum())
    counts = {"train_questions": int(train_r["question"].nunique()), "train_forecasts": len(train_f),
              "test_questions": int(test_q["id"].nunique()), "test_open_at_cutoff": open_at_cut,
              "test_opened_after_cutoff": int(test_q["id"].nunique()) - open_at_cut,
              "test_crowd_forecasts": len(crowd_f),
              "test_deadline_questions": int(test_q["title"].map(is_deadline_question).sum())}
    return Evaluation(crowd=crowd, cutoff=cut, end=stop, table=table, params=params, counts=counts,
                      verdicts=verdicts, by_horizon=pd.DataFrame(horizon_rows), by_length=pd.DataFrame(length_rows),
                      pairs=pd.DataFrame(pair_rows), fits=fits, forecasts=frame, questions=qframe,
                      resolutions=rframe)
