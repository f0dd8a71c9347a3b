"""The scoring commands: ``score`` (time-averaged scores by forecaster, tag, question, kind or
period) and ``calibration`` (CORP decomposition, Spiegelhalter's Z, Cox slope and intercept, ECE
and a text reliability chart).

``score`` prints the table :func:`forecasts.runs.scores.ledger_scores` gives for the ledger as of
``--as-of`` (plain records: computed by the database where it can, without pandas);
``calibration`` reads the frames (:func:`forecasts.runs.scores.scoring_frames`) and prints what
:mod:`forecasts.scoring` returns.  The library checks the grouping, the rule, the reference and
the bins, so nothing is re-checked here; it is imported inside the commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

import typer

from forecasts.cli.options import AsOf, Db, Json, Wide, open_ledger
from forecasts.cli.output import line, plain, records, table, write_json

if TYPE_CHECKING:
    from forecasts.scoring import CalibrationGrouping

app = typer.Typer()


def _backtests_line(left_out: int) -> None:
    if left_out:
        line(f"{left_out} backtest rows left out (replayed models, not a track record): --backtests scores them "
             "as their own forecasters")


OldBy = Annotated[str | None, typer.Option("--by", hidden=True, help="Deprecated: --group-by.")]


def _grouping(group_by: str, by: str | None) -> str:
    """The grouping asked for: ``--group-by``, or the deprecated ``--by`` (in the other commands
    ``--by`` names who), which still works for one release, with a warning on stderr."""
    if by is None:
        return group_by
    line("warning: --by is deprecated here, use --group-by (--by names a forecaster in log, due, "
         "questions and events)", err=True)
    return by


LiveOnly = Annotated[bool, typer.Option("--live-only", help="Score only forecasts recorded live, leaving imported history (source import:...) out.")]
Backtests = Annotated[bool, typer.Option("--backtests", help="Also score backtest rows (forecasters backtest:<model>), left out by default.")]


def _excluded_line(excluded: dict[str, int]) -> str:
    left = {k: v for k, v in excluded.items() if v}
    return ("left out: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in left.items())) if left else "no question left out"


@app.command()
def score(
    group_by: Annotated[str, typer.Option("--group-by", help="Group by forecaster, tag, question, kind or period.")] = "forecaster",
    by: OldBy = None,
    rule: Annotated[str, typer.Option(help="brier (0-1), log (nats), spherical, baseline or peer (Metaculus).")] = "brier",
    relative_to: Annotated[str | None, typer.Option(help="crowd:median (Good Judgment daily relative Brier) or a forecaster.")] = None,
    bits: Annotated[bool, typer.Option(help="Log score in bits instead of nats.")] = False,
    live_only: LiveOnly = False,
    backtests: Backtests = False,
    as_of: AsOf = None,
    as_json: Json = False,
    wide: Wide = False,
    db: Db = None,
) -> None:
    """Time-averaged scores of resolved questions (ambiguous and annulled ones left out and counted).

    By forecaster, the ``record`` column says whether each track record is live, imported
    (forecasts that came in with 'forecasts import') or live+imported; --live-only scores the
    live forecasts alone."""
    from forecasts.runs.scores import ledger_scores

    by = _grouping(group_by, by)
    # the library checks by, rule and the reference (InvalidInput, exit 2) and chooses how to compute the table
    scores = ledger_scores(open_ledger(db, reads=True), by=by, rule=rule, relative_to=relative_to, as_of=as_of,
                           log_base=2 if bits else "e", live_only=live_only, backtests=backtests)
    if as_json:
        write_json({"rule": rule, "by": by, "higher_is_better": scores.higher_is_better, "live_only": live_only,
                    "backtest_rows_left_out": scores.backtest_rows_left_out, "excluded": scores.excluded,
                    "rows": records(scores.rows)})
        return
    better = "higher" if scores.higher_is_better else "lower"
    unit = {"brier": "Brier 0-1", "log": "log score in " + ("bits" if bits else "nats"), "spherical": "spherical",
            "baseline": "Metaculus baseline", "peer": "Metaculus peer"}[rule]
    cols = [by] + (["record"] if by == "forecaster" else []) + ["n_questions", "n_forecasts", "score", "coverage"] \
        + (["relative", "n_relative"] if relative_to else [])
    scope = ", live forecasts only" if live_only else ""
    table(scores.rows, cols, title=f"{unit}, time-averaged ({better} is better){scope}",
          empty="no resolved questions to score", wide=wide)
    line(_excluded_line(scores.excluded))
    _backtests_line(scores.backtest_rows_left_out)
    line("every resolved question counts here; 'forecasts calibration' counts only those past their scheduled "
         "close, so its Brier can differ")


@app.command()
def calibration(
    forecaster: Annotated[list[str] | None, typer.Option(help="Only these forecasters (repeat the option).")] = None,
    group_by: Annotated[str, typer.Option("--group-by", help="Group by forecaster, tag, kind or period, or 'all' for one group.")] = "forecaster",
    by: OldBy = None,
    bins: Annotated[int, typer.Option(help="Bins of the text chart and the ECE.")] = 10,
    top: Annotated[int, typer.Option(min=0, help="Show the groups with the most questions, at most this many (0: all); --json has every group.")] = 30,
    charts: Annotated[bool, typer.Option("--charts", help="Also draw a text reliability chart per group shown.")] = False,
    backtests: Backtests = False,
    as_of: AsOf = None,
    as_json: Json = False,
    wide: Wide = False,
    db: Db = None,
) -> None:
    """Calibration of binary forecasts on questions past their scheduled close: CORP decomposition,
    Spiegelhalter's Z, Cox slope and intercept and ECE per group, as one table (the --top groups
    with the most questions); --charts adds a text reliability chart per group shown."""
    from forecasts.runs.scores import scoring_frames
    from forecasts.scoring import (
        calibration_cases,
        calibration_groups,
        calibration_table,
        reliability,
        text_reliability_chart,
    )

    by = _grouping(group_by, by)
    frames, left_out = scoring_frames(open_ledger(db), as_of, backtests=backtests)
    group = None if by == "all" else cast("CalibrationGrouping", by)  # checked by the library
    result = calibration_table(*frames, forecaster=forecaster, by=group, as_of=as_of, bins=bins)
    result = result.rename_axis(group or "group").reset_index()
    if as_json:
        write_json({"by": group, "backtest_rows_left_out": left_out, "excluded": plain(result.attrs.get("excluded", {})),
                    "ece_binning": result.attrs.get("ece_binning"), "rows": records(result)})
        return
    cols = [group or "group", "n_questions", "n_forecasts", "brier", "mcb", "dsc", "unc",
            "spiegelhalter_z", "spiegelhalter_p", "cox_slope", "cox_intercept", "ece"]
    shown = result
    if top and len(result) > top:  # the groups with the most questions, in the table's own order
        shown = result.loc[result["n_questions"].sort_values(ascending=False, kind="stable").index[:top]].sort_index()
    table(shown, cols, title="Calibration (Brier decomposition: score = MCB - DSC + UNC; lower MCB is better)",
          empty="no resolved binary question is past its scheduled close yet", wide=wide)
    if len(shown) < len(result):
        line(f"{len(result) - len(shown)} more groups with fewer questions not shown (--top 0 shows all, "
             "--json gives every number)")
    line(_excluded_line(result.attrs.get("excluded", {})))
    _backtests_line(left_out)
    line("only questions past their scheduled close count here (a question resolved early would bias it); "
         "'forecasts score' counts every resolved question, so its Brier can differ")
    if result.empty or not charts:
        if not result.empty:
            line("text reliability charts: add --charts")
        return
    names = set(shown[group or "group"])
    cases = calibration_cases(*frames, forecaster=forecaster, as_of=as_of)
    for name, part in calibration_groups(cases, frames[1], group):
        if name not in names:
            continue
        curve = reliability(part["p"], part["y"], part["weight"], n_boot=0)
        line(f"\n{name}: reliability (| = mean forecast, # = observed frequency)")
        line(text_reliability_chart(curve, bins=bins))
