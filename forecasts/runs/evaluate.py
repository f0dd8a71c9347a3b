"""Evaluation on a real track record: do the models beat the raw crowd, out of sample?

The models are run as forecasters over an imported crowd (by default the Metaculus community
median, ``import:metaculus``) with strict as-of discipline:

* **Training** reads the ledger as of the cut-off on the world clock: only questions resolved
  (yes/no) before the cut-off, and only the crowd's forecasts made before it.
* **Testing** covers the questions that opened at or after the cut-off and are resolved yes/no
  (optionally before ``end``).  At any time t a model sees the crowd's latest forecast at t and
  the parameters learned in training -- nothing later.

Models (each a forecaster ``model:<name>`` whose rows sit at the crowd's forecast times):

``model:extremized``
    ``expit(d * logit p)``, the extremizing factor ``d`` fitted on the training questions by
    :func:`forecasts.models.aggregate.fit_extremizing` (penalised maximum likelihood, Normal(1, 1)
    prior -- negligible with hundreds of questions; each question's cases weigh 1 in total).
``model:recalibrated``
    Platt-style recalibration ``expit(a + b * logit p)`` fitted on the training questions by
    :func:`forecasts.models.recalibrate.fit_forecaster` (Bayesian logistic regression, posterior
    predictive mean: :meth:`~forecasts.models.recalibrate.Recalibration.predictive_mean`).
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

Scores: time-averaged Brier and log score (nats) per question (:func:`forecasts.scoring.time_averaged`),
differences model minus crowd on the questions both forecast, with percentile bootstrap
intervals over questions (:func:`forecasts.scoring.compare_forecasters`).  Negative = the model
is better.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from forecasts.errors import InvalidInput
from forecasts.models.hazard import quiet_decay

if TYPE_CHECKING:
    import pandas as pd

    from forecasts.ledger import Ledger

_DEADLINE = re.compile(r"\b(before|by)\b[^?]*\b(19|20)\d{2}\b", re.I)
_NEGATIVE = re.compile(r"\b(not|remain|remains|still|continue|continues|stay|stays)\b", re.I)
DAY_US = 86_400_000_000


def is_deadline_question(title: str) -> bool:
    """Does the title ask whether something happens before a date?

    >>> is_deadline_question("Will Russia withdraw from New START before January 1, 2023?")
    True
    >>> is_deadline_question("Will the treaty still be in force by 2023?")
    False
    """
    return bool(_DEADLINE.search(title or "")) and not _NEGATIVE.search(title or "")


def _decay_rows(crowd: pd.DataFrame, ends: dict, shape: float, *, restart: bool,
                step_days: float = 1.0) -> pd.DataFrame:
    """Hazard forecasts on a grid: from each crowd forecast (``restart``) or from the first one
    only, one row at the forecast and one every ``step_days`` until the next crowd forecast (or
    the end of the question's scoring period)."""
    import numpy as np
    import pandas as pd

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
    t = t0[idx] + (k * step_days * DAY_US).astype("timedelta64[us]")
    deadline = c["deadline"].astype("datetime64[us]").to_numpy()[idx]
    p = quiet_decay(c["probability"].to_numpy()[idx], t0[idx], deadline, t, shape)
    return pd.DataFrame({"question": c["question"].to_numpy()[idx], "made_at": t, "probability": p})


@dataclass
class Evaluation:
    """The result of :func:`evaluate_crowd`: one row per (model, rule) in ``table``."""

    crowd: str
    cutoff: Any
    end: Any
    table: Any
    params: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    verdicts: dict = field(default_factory=dict)

    def to_text(self) -> str:
        lines = [f"Evaluation against {self.crowd}: trained on questions resolved before {self.cutoff:%Y-%m-%d}, "
                 f"tested on {self.counts.get('test_questions', 0)} questions opened after it"
                 + (f" and resolved before {self.end:%Y-%m-%d}" if self.end is not None else "")]
        for k, v in self.params.items():
            lines.append(f"  {k}: {v}")
        for r in self.table.itertuples():
            lines.append(f"  {r.model:22s} {r.rule:5s} n={r.n_questions:4d}  model {r.score_model:.4f}  crowd {r.score_crowd:.4f}  "
                         f"diff {r.difference:+.4f} [{r.lower:+.4f}, {r.upper:+.4f}]")
        for m, v in self.verdicts.items():
            lines.append(f"  {m}: {v}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p>{self.to_text().splitlines()[0]}</p>" + self.table.to_html(index=False, float_format="%.4f")


def _frames_as_of(ledger: Ledger, crowd: str, cutoff: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    fs = ledger.forecasts(cutoff, clock="world", forecaster=crowd)
    rs = ledger.resolutions(cutoff, clock="world")
    rs = rs[rs["outcome"].isin(["yes", "no"])]
    return fs, rs


def evaluate_crowd(ledger: Ledger, *, crowd: str = "import:metaculus", cutoff: object = "2020-07-01",
                   end: object = None, n_boot: int = 2000, seed: int = 0,
                   shapes: tuple[float, ...] = (0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)) -> Evaluation:
    """Run the models as forecasters over the crowd's track record and compare (see the module
    docstring).  ``cutoff``: training uses only what was known (world time) before it;
    ``end``: keep test questions resolved before it."""
    import numpy as np
    import pandas as pd

    from forecasts import domain
    from forecasts.models.aggregate import fit_extremizing
    from forecasts.models.logodds import expit_array, logit_array
    from forecasts.models.recalibrate import fit_forecaster
    from forecasts.scoring import compare_forecasters, time_averaged

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

    # ---- everything now, for the test questions
    qs = ledger.questions()
    rs = ledger.resolutions()
    rs = rs[rs["outcome"].isin(["yes", "no"])]
    test_q = qs[(qs["opens_at"] >= cut) & qs["id"].isin(rs["question"]) & (qs["kind"] == "binary")]
    if stop is not None:
        test_q = test_q[test_q["resolved_at"] < stop]
    allf = ledger.forecasts(forecaster=crowd)
    crowd_f = allf[allf["question"].isin(test_q["id"]) & allf["probability"].notna()]
    crowd_f = crowd_f[["question", "made_at", "probability"]].reset_index(drop=True)
    if crowd_f.empty:
        raise InvalidInput(f"no resolved question opened after {cut:%Y-%m-%d} has forecasts by {crowd}")

    parts = [crowd_f.assign(forecaster=crowd)]
    p = crowd_f["probability"].to_numpy(dtype=float)
    parts.append(crowd_f.assign(forecaster="model:extremized",
                                probability=expit_array(ext["factor"] * logit_array(p))))
    parts.append(crowd_f.assign(forecaster="model:recalibrated", probability=recal.predictive_mean(p)))

    # ---- the deadline hazard: shape chosen on the training deadline questions
    def deadline_rows(frame_q, frame_f, shape, restart):
        dq = frame_q[frame_q["title"].map(is_deadline_question)]
        ff = frame_f[frame_f["question"].isin(dq["id"])]
        if ff.empty:
            return ff.assign(forecaster=[])
        deadline = dict(zip(dq["id"], dq["closes_at"], strict=True))
        ends = {q: min(c, r) if pd.notna(r) else c
                for q, c, r in zip(dq["id"], dq["closes_at"], dq["resolved_at"], strict=True)}
        ff = ff.assign(deadline=ff["question"].map(deadline))
        return _decay_rows(ff, ends, shape, restart=restart)

    qs_cut = ledger.questions(cut, clock="world")
    train_dq = qs_cut[qs_cut["id"].isin(train_r["question"])]
    train_crowd = train_f[["question", "made_at", "probability"]]
    best, table_shapes = None, {}
    for a in shapes:
        rows = deadline_rows(train_dq, train_crowd, a, True)
        if rows.empty:
            break
        rows = rows.assign(forecaster="model:hazard-crowd", seq=np.arange(len(rows)))
        s = time_averaged(rows, train_dq.drop(columns=["resolved_at", "outcome"]), train_r, "brier")
        table_shapes[a] = float(s["score"].mean())
        if best is None or table_shapes[a] < table_shapes[best]:
            best = a
    shape = best if best is not None else 2.0
    crowd_train_brier = None
    if table_shapes:
        dq_ids = train_dq[train_dq["title"].map(is_deadline_question)]["id"]
        base = train_crowd[train_crowd["question"].isin(dq_ids)].assign(forecaster=crowd)
        base = base.assign(seq=np.arange(len(base)))
        crowd_train_brier = float(time_averaged(base, train_dq.drop(columns=["resolved_at", "outcome"]),
                                                train_r, "brier")["score"].mean())
    test_qq = test_q
    for restart, name in ((True, "model:hazard-crowd"), (False, "model:hazard")):
        rows = deadline_rows(test_qq, crowd_f, shape, restart)
        if len(rows):
            parts.append(rows.assign(forecaster=name))

    frame = pd.concat(parts, ignore_index=True)
    frame["seq"] = np.arange(len(frame))
    frame["made_at"] = frame["made_at"].astype("datetime64[us]")
    qframe = test_q.drop(columns=["resolved_at", "outcome"], errors="ignore")
    rframe = rs[rs["question"].isin(test_q["id"])]
    rows = []
    for rule in ("brier", "log"):
        scores = time_averaged(frame, qframe, rframe, rule)
        for m in ("model:extremized", "model:recalibrated", "model:hazard-crowd", "model:hazard"):
            if not (scores["forecaster"] == m).any():
                continue
            c = compare_forecasters(scores, m, crowd, n_boot=n_boot, random_state=seed)
            rows.append({"model": m, "rule": rule, "n_questions": c["n_questions"], "score_model": c["score_a"],
                         "score_crowd": c["score_b"], "difference": c["mean_difference"], "lower": c["lower"],
                         "upper": c["upper"], "share_model_better": c["share_a_better"]})
    table = pd.DataFrame(rows)
    verdicts = {}
    for m, g in table.groupby("model", sort=False):
        said = []
        for r in g.itertuples():
            if r.upper < 0:
                said.append(f"helps under {r.rule} ({r.difference:+.4f})")
            elif r.lower > 0:
                said.append(f"hurts under {r.rule} ({r.difference:+.4f})")
            else:
                said.append(f"no clear difference under {r.rule} (interval spans 0)")
        verdicts[m] = "; ".join(said)
    params = {"extremizing factor d": round(ext["factor"], 4), "extremizing sd": round(ext["sd"], 4),
              "recalibration intercept": round(recal.intercept, 4), "recalibration slope": round(recal.slope, 4),
              "hazard shape a (chosen on training)": shape,
              "training Brier of model:hazard-crowd by shape": {k: round(v, 5) for k, v in table_shapes.items()},
              "training Brier of the crowd on the same deadline questions":
                  None if crowd_train_brier is None else round(crowd_train_brier, 5)}
    counts = {"train_questions": int(train_r["question"].nunique()), "train_forecasts": len(train_f),
              "test_questions": int(test_q["id"].nunique()), "test_crowd_forecasts": len(crowd_f),
              "test_deadline_questions": int(test_q["title"].map(is_deadline_question).sum())}
    return Evaluation(crowd=crowd, cutoff=cut, end=stop, table=table, params=params, counts=counts,
                      verdicts=verdicts)
