"""The model commands: ``update`` (a model forecasts now), ``backtest`` (replayed as of past
dates), ``fit`` (learn event effects, or the contextual recalibration, with PyMC) and ``explain`` (the steps, nothing written).

Only typer and the standard library are imported here; the commands import the models inside
their bodies, and ``update`` with a closed-form model (evidence, hazard) never loads numpy,
pandas, PyMC or PyTensor.  The library checks the model name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecasts.cli.options import AsOf, Db, Json, open_ledger
from forecasts.cli.output import line, write_json
from forecasts.errors import InvalidInput

app = typer.Typer()

Model = Annotated[str, typer.Option("--model", "-m", help="evidence, hazard, learned, learned-hazard, aggregate, "
                                                          "recalibrated or contextual.")]


@app.command()
def update(
    question: Annotated[str | None, typer.Argument(help="Question id (or --all).")] = None,
    model: Model = "evidence",
    all_: Annotated[bool, typer.Option("--all", help="Every open question.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Also print the step-by-step explanation.")] = False,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Let a model forecast a question now (written as model:<name>, with version and parameters)."""
    if all_ == (question is not None):
        raise InvalidInput("give a question id or --all (not both)")
    ledger = open_ledger(db)
    if question is None:
        from forecasts.runs.live import update_all

        out = update_all(ledger, model)
        if as_json:
            write_json(out["rows"])
            return
        for r in out["rows"]:
            line(f"{r['forecaster']} on {r['question']}: {r['probability']:.1%}")
        for qid, why in out["skipped"].items():
            line(f"skipped {qid}: {why}")
        line(f"{len(out['rows'])} model forecasts written")
        return
    from forecasts.runs.live import update as update_one

    out = update_one(ledger, question, model)
    if as_json:
        write_json(out["rows"])
        return
    if not out["rows"]:
        raise InvalidInput(f"{model} made no forecast on {question}: {out['skipped']}")
    if explain:
        for text in out["explanation"]:
            line("  " + text)
    for r in out["rows"]:
        line(f"{r['forecaster']} on {r['question']}: {r['probability']:.1%} ({r['model_version']})")


@app.command()
def backtest(
    question: Annotated[str, typer.Argument(help="Question id.")],
    model: Model = "evidence",
    from_: Annotated[str | None, typer.Option("--from", help="First date [default: the question's opening].")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last date [default: its resolution, close or now].")] = None,
    every: Annotated[str, typer.Option("--every", help="Step, e.g. 1w, 3d.")] = "1w",
    events: Annotated[bool, typer.Option("--events/--no-events", help="Also run on each assessed event's date.")] = True,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Replay a model on a question as of past dates (world clock) and write backtest rows."""
    from forecasts.runs.backtest import backtest as run_backtest

    out = run_backtest(open_ledger(db), question, model, from_, to, every, at_events=events)
    if as_json:
        write_json(out["rows"])
        return
    for r in out["rows"]:
        line(f"{r['made_at']:%Y-%m-%d %H:%M}  {r['forecaster']}  {r['probability']:.1%}")
    line(f"{len(out['rows'])} backtest rows written as backtest:{model}"
         + (f"; {out['existing']} already there" if out["existing"] else "")
         + (f"; {len(out['skipped'])} dates skipped" if out["skipped"] else ""))


@app.command()
def fit(
    as_of: AsOf = None,
    model: Annotated[str, typer.Option("--model", "-m", help="learned (event effects) or contextual "
                                                             "(recalibration of a crowd or a team).")] = "learned",
    of: Annotated[str | None, typer.Option("--of", help="contextual: the one forecaster to recalibrate, e.g. "
                                                         "import:metaculus [default: every person, pooled].")] = None,
    world: Annotated[bool, typer.Option("--world", help="contextual: read by world time (imported history).")] = False,
    draws: Annotated[int, typer.Option(help="Draws per chain.")] = 1000,
    tune: Annotated[int, typer.Option(help="Tuning steps per chain.")] = 1000,
    chains: Annotated[int, typer.Option(help="Chains (at least 2).")] = 2,
    sampler: Annotated[str, typer.Option(help="pymc or nutpie (the nutpie extra; learned only).")] = "pymc",
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the posterior summary [default: models/ beside the ledger].")] = None,
    db: Db = None,
) -> None:
    """Learn from resolved questions (PyMC NUTS): event effects, or a contextual recalibration."""
    if model == "contextual":
        from forecasts.runs.learned import fit_contextual_ledger

        summary, path = fit_contextual_ledger(open_ledger(db), as_of, of=of, clock="world" if world else "both",
                                              out=out, draws=draws, tune=tune, chains=chains, cores=2,
                                              seed=0 if seed is None else seed)
        d = summary["diagnostics"]
        line(f"fitted {summary['n_questions']} resolved questions, {summary['n_cases']} forecasts of "
             f"{', '.join(summary['of'])}, {len(summary['groups'])} groups ({summary['group_by']})")
        line(f"R-hat max {d['rhat_max']:.3f}, bulk ESS min {d['ess_bulk_min']:.0f}, divergences {d['divergences']}, "
             f"{d['sampling_seconds']:.1f} s")
        for name, c in summary["coefficients"].items():
            line(f"  {name:4s} {c['mean']:+.3f} [90% {c['q05']:+.3f}, {c['q95']:+.3f}]")
        if not d["converged"]:
            line("NOT CONVERGED (need R-hat < 1.01, no divergences, ESS >= 400): refit with more draws; "
                 "the contextual model refuses this fit")
        line(f"saved {path}")
        return
    if model != "learned":
        raise InvalidInput(f"fit learns 'learned' or 'contextual', not {model!r}")
    if of is not None or world:
        raise InvalidInput("--of and --world go with --model contextual")
    from forecasts.runs.learned import fit_ledger

    design, summary, path = fit_ledger(open_ledger(db), as_of, out=out, draws=draws, tune=tune, chains=chains,
                                       cores=2, sampler=sampler, seed=seed)
    line(f"fitted {len(design.y)} resolved questions, {design.n_events} events, {len(design.types)} event types")
    d = summary["diagnostics"]
    line(f"R-hat max {d['rhat_max']:.3f}, bulk ESS min {d['ess_bulk_min']:.0f}, tail ESS min "
         f"{d['ess_tail_min']:.0f}, divergences {d['divergences']}, {d['sampling_seconds']:.1f} s "
         f"({d['ess_per_second']:.0f} ESS/s)")
    for name, e in sorted(summary["effects"].items(), key=lambda kv: -kv[1]["mean"]):
        line(f"  CAMEO root {name:>4} (quad {e['quad']}): ln LR {e['mean']:+.2f} [90% {e['q05']:+.2f}, "
             f"{e['q95']:+.2f}], LR {e['lr']:.2f}, {e['n_events']:.0f} weighted events")
    if not d["converged"]:
        line("NOT CONVERGED (need R-hat < 1.01, no divergences, ESS >= 400): refit with more draws; "
             "the learned models refuse this fit")
    line(f"saved {path}")


@app.command()
def explain(
    question: Annotated[str, typer.Argument(help="Question id.")],
    model: Model = "evidence",
    as_of: AsOf = None,
    world: Annotated[bool, typer.Option("--world", help="Replay by world time (imported history).")] = False,
    db: Db = None,
) -> None:
    """Show how a model gets its forecast, step by step (writes nothing)."""
    from forecasts.runs.live import forecast

    out = forecast(open_ledger(db), question, model, as_of, clock="world" if world else "both")
    for text in out["explanation"]:
        line(text)
