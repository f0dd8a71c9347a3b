"""Comparing forecasters: skill scores and paired comparisons with bootstrap intervals.

Conventions
-----------
* A skill score is ``1 - S / S_ref`` for a loss S (lower is better): 1 is
  perfect, 0 is no better than the reference, negative is worse. It is
  undefined (NaN) when the reference scores 0.
* Comparisons of two forecasters use only the questions **both** answered, so
  neither is rewarded for skipping hard questions. The interval is a
  percentile bootstrap over questions (questions are the independent units;
  resampling forecasts within a question would overstate the evidence).

References
----------
Murphy, A. H. (1988). Skill scores based on the mean square error and their
relationships to the correlation coefficient. Monthly Weather Review 116,
2417-2424.
Efron, B. and Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
Chapman & Hall, chapter 13 (percentile intervals).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from forecasts.errors import InvalidInput, UnknownForecaster
from forecasts.scoring import rules as rl
from forecasts.scoring.frames import check_columns, random_generator
from forecasts.scoring.options import LOSS_RULES, LossRule, check_choice

__all__ = ["compare_forecasters", "paired_difference", "skill_score",
           "skill_table", "skill_vs_base_rate"]


def skill_score(score: float, reference_score: float) -> float:
    r"""Skill of a mean loss relative to a reference mean loss.

    .. math:: \mathrm{SS} = 1 - \frac{\bar S}{\bar S_{\mathrm{ref}}}

    Parameters
    ----------
    score : float
        Mean score (loss) of the forecaster.
    reference_score : float
        Mean score of the reference on the same cases.

    Returns
    -------
    float
        NaN if the reference score is 0 (or either is NaN).

    Examples
    --------
    >>> skill_score(0.15, 0.25)
    0.4
    """
    try:
        score, reference_score = float(score), float(reference_score)
    except (TypeError, ValueError):
        raise InvalidInput("a skill score needs two numbers (the score and the reference score)") from None
    if math.isnan(score) or math.isnan(reference_score) or reference_score == 0:
        return math.nan
    if math.isinf(reference_score):
        return 1.0 if math.isfinite(score) else math.nan
    return 1.0 - score / reference_score


def skill_vs_base_rate(p: ArrayLike, y: ArrayLike, base_rate: ArrayLike | None = None,
                       rule: LossRule = "brier") -> dict:
    r"""Skill against a constant base-rate forecast (the Brier skill score for rule="brier").

    .. math:: \mathrm{SS} = 1 - \frac{\overline{S(p, y)}}{\overline{S(b, y)}}

    Parameters
    ----------
    p : array_like
        Forecasts in [0, 1].
    y : array_like
        Outcomes in {0, 1}.
    base_rate : float or array_like, optional
        The reference forecast b (one value, or one per case, e.g. each
        question's reference-class base rate). Default: the observed event
        rate of ``y`` (in-sample climatology, which flatters the reference).
    rule : {"brier", "log", "spherical"}
        The score.

    Returns
    -------
    dict
        ``skill``, ``score``, ``reference_score``, ``n``.

    Examples
    --------
    >>> r = skill_vs_base_rate([0.9, 0.1, 0.8, 0.3], [1, 0, 1, 0])
    >>> round(r["skill"], 4), r["reference_score"]
    (0.85, 0.25)
    """
    check_choice(rule, LOSS_RULES, "rule")
    fn = {"brier": rl.brier, "log": rl.log_score, "spherical": rl.spherical}[rule]
    s = fn(p, y)
    y_arr = rl.as_floats(y, "binary outcomes")
    if s.shape[0] == 0:
        raise InvalidInput("no forecasts to evaluate")
    b = np.mean(y_arr) if base_rate is None else base_rate
    b_arr = rl.as_floats(b, "base rate")
    try:
        b_arr = np.broadcast_to(b_arr, s.shape)
    except ValueError:
        raise InvalidInput(f"{b_arr.size} base rates for {s.shape[0]} forecasts") from None
    ref = fn(b_arr, y_arr)
    sc, rs = float(np.mean(s)), float(np.mean(ref))
    return {"skill": skill_score(sc, rs), "score": sc, "reference_score": rs,
            "n": int(s.shape[0])}


def paired_difference(a: ArrayLike, b: ArrayLike, *, n_boot: int = 2000, alpha: float = 0.05,
                      random_state: int | np.random.Generator | None = None) -> dict:
    r"""Mean of paired differences ``a - b`` with a percentile bootstrap interval.

    Parameters
    ----------
    a, b : array_like
        Scores of two forecasters on the same questions (paired by position).
    n_boot : int
        Bootstrap resamples of the pairs.
    alpha : float
        The interval is ``1 - alpha`` (default 95%).
    random_state : int, numpy.random.Generator or None
        Seed.

    Returns
    -------
    dict
        ``mean_difference``, ``lower``, ``upper``, ``n`` and
        ``share_a_better`` (share of pairs where ``a < b``, for losses).

    Examples
    --------
    >>> r = paired_difference([0.1, 0.2, 0.3], [0.2, 0.3, 0.4], n_boot=200, random_state=0)
    >>> round(r["mean_difference"], 6), round(r["lower"], 6), round(r["upper"], 6)
    (-0.1, -0.1, -0.1)
    """
    a = rl.as_floats(a, "paired scores")
    b = rl.as_floats(b, "paired scores")
    if a.shape != b.shape or a.ndim != 1:
        raise InvalidInput("a and b must be 1-d arrays of the same length (paired scores)")
    if a.shape[0] == 0:
        raise InvalidInput("no paired scores to compare")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise InvalidInput("alpha must lie strictly between 0 and 1")
    if isinstance(n_boot, bool) or not hasattr(n_boot, "__index__") or n_boot < 0:
        raise InvalidInput(f"the number of resamples must be a whole number >= 0; got {n_boot!r}")
    d = a - b
    rng = random_generator(random_state)
    n = d.shape[0]
    if n_boot > 0 and np.all(np.isfinite(d)):
        idx = rng.integers(0, n, size=(n_boot, n))
        means = d[idx].mean(axis=1)
        lo, hi = np.quantile(means, (alpha / 2, 1 - alpha / 2))
    else:
        lo = hi = math.nan
    return {"mean_difference": float(d.mean()), "lower": float(lo), "upper": float(hi),
            "n": int(n), "share_a_better": float(np.mean(a < b))}


def compare_forecasters(scores: pd.DataFrame, a: str, b: str, *, n_boot: int = 2000,
                        alpha: float = 0.05,
                        random_state: int | np.random.Generator | None = None) -> dict:
    """Compare two forecasters on the questions both answered.

    Parameters
    ----------
    scores : pandas.DataFrame
        Per-(question, forecaster) scores with columns ``question``,
        ``forecaster``, ``score`` (e.g. :func:`forecasts.scoring.time_averaged`).
        Rows with NaN scores (zero coverage) are ignored.
    a, b : str
        The two forecasters.
    n_boot, alpha, random_state
        As in :func:`paired_difference` (bootstrap over questions).

    Returns
    -------
    dict
        ``a``, ``b``, ``n_questions`` (answered by both), ``score_a``,
        ``score_b``, ``mean_difference`` (a - b; negative means a did better
        for losses), ``lower``, ``upper``, ``share_a_better``.

    Examples
    --------
    >>> from forecasts.scoring.frames import example_frames
    >>> from forecasts.scoring.timeavg import time_averaged
    >>> r = compare_forecasters(time_averaged(*example_frames()), "alice", "bob",
    ...                         n_boot=100, random_state=0)
    >>> r["n_questions"], round(r["mean_difference"], 4)
    (4, -0.135)
    """
    check_columns(scores, ("question", "forecaster", "score"), "scores")
    ok = scores[scores["score"].notna()]
    sa = ok[ok["forecaster"] == a].set_index("question")["score"]
    sb = ok[ok["forecaster"] == b].set_index("question")["score"]
    both = sa.index.intersection(sb.index)
    if len(both) == 0:
        raise InvalidInput(f"{a!r} and {b!r} have no scored question in common")
    va, vb = sa.loc[both].to_numpy(), sb.loc[both].to_numpy()
    r = paired_difference(va, vb, n_boot=n_boot, alpha=alpha, random_state=random_state)
    return {"a": a, "b": b, "n_questions": int(len(both)), "score_a": float(va.mean()),
            "score_b": float(vb.mean()), "mean_difference": r["mean_difference"],
            "lower": r["lower"], "upper": r["upper"], "share_a_better": r["share_a_better"]}


def skill_table(scores: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Skill of every forecaster against a reference forecaster (crowd, model).

    For each forecaster, on the questions they share with ``reference``:
    ``skill = 1 - mean(own score) / mean(reference score)``.

    Parameters
    ----------
    scores : pandas.DataFrame
        Per-(question, forecaster) losses (``question``, ``forecaster``,
        ``score``), e.g. from :func:`forecasts.scoring.time_averaged`.
    reference : str
        The reference forecaster's name, e.g. ``"crowd:median"``.

    Returns
    -------
    pandas.DataFrame
        Indexed by forecaster: ``n_questions``, ``score``, ``reference_score``,
        ``skill``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"question": ["a", "b", "a", "b"],
    ...                   "forecaster": ["x", "x", "crowd", "crowd"],
    ...                   "score": [0.1, 0.2, 0.2, 0.2]})
    >>> skill_table(s, "crowd").round(3)  # doctest: +NORMALIZE_WHITESPACE
                n_questions  score  reference_score  skill
    forecaster
    x                     2   0.15              0.2   0.25
    """
    check_columns(scores, ("question", "forecaster", "score"), "scores")
    ok = scores[scores["score"].notna()]
    ref = ok[ok["forecaster"] == reference].set_index("question")["score"]
    if ref.empty:
        raise UnknownForecaster(f"reference forecaster {reference!r} has no scores")
    rows = {}
    for name, g in ok[ok["forecaster"] != reference].groupby("forecaster", sort=True):
        g = g[g["question"].isin(ref.index)]
        if g.empty:
            continue
        own = float(g["score"].mean())
        rs = float(ref.loc[g["question"]].mean())
        rows[name] = {"n_questions": int(len(g)), "score": own, "reference_score": rs,
                      "skill": skill_score(own, rs)}
    out = pd.DataFrame.from_dict(rows, orient="index",
                                 columns=["n_questions", "score", "reference_score", "skill"])
    out.index.name = "forecaster"
    return out
