"""Random argument vectors through the command line, in-process, against a real ledger.

Commands are drawn from the full app itself (every leaf command and group, so a new command
joins the draw by itself); each of its real arguments and options gets a value drawn from what
that parameter plausibly takes, mixed with hostile strings: far-off and malformed dates such as
``9999-12-31T23:59:59-01:00``, folders where files are expected, unknown names, huge numbers,
empty strings, rich markup.  Every example runs in a fresh folder holding a copy of one small
ledger.  The contract: the exit code is 0, 1 or 2; no output holds a traceback; and a command
that exits non-zero wrote nothing (the ledger's ``counts()`` and chain head are unchanged).

Examples: a few thousand with ``CI=true``, a few hundred otherwise, on a DuckDB file; on the
team ledger (a fresh database copied from the same small ledger, pushed, for every example) a
few hundred with ``CI=true`` and fifty otherwise, as each example makes and drops a database.  ``demo`` only meets
``--db`` paths it must refuse here: a demo that succeeds builds the whole case study
(``tests/test_demo.py`` covers it).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasts.ledger import Ledger

EXAMPLES = 2000 if os.environ.get("CI") == "true" else 200
TEAM_EXAMPLES = 300 if os.environ.get("CI") == "true" else 50

GOOD_CSV = """question,title,opens,closes,forecaster,made_at,probability,outcome,resolved_at
q1,Will it rain?,2020-01-01,2020-06-01,ana,2020-01-05,0.6,yes,2020-05-01
q1,Will it rain?,2020-01-01,2020-06-01,bo,2020-01-06,0.7,yes,2020-05-01
"""
FAR_CSV = GOOD_CSV.replace("2020-01-01,2020-06-01", "9999-12-31T23:59:59-01:00,2020-06-01")
EVENTS_CSV = "title,on\nStorm,2020-01-03\nFlood,9999-12-31T23:59:59-01:00\n"

#: Files and folders every example finds in its folder, named by a placeholder in the draw.
PATHS = ("<ledger>", "<dir>", "<missing>", "<junk>", "<good.csv>", "<far.csv>", "<events.csv>",
         "<fake.parquet>", "<dir.csv>", "<empty>", "<nested/missing.csv>")

HOSTILE = ["", " ", "-", "--", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+14:00", "9999-12-31",
           "0001-01-01", "99999-01-01", "2020-02-30", "someday", "nan", "inf", "-inf", "-1", "0", "1e308",
           "-1e308", str(2**63), str(10**40), "[/]", "[bold]x", "{}", "%s", ":smile:", "../..", "x" * 300,
           "é", "中文", "model:evidence", "crowd:median", "import:metaculus", "backtest:hazard", *PATHS]
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)

PLAUSIBLE = {
    "question": ["rain", "mc", "past", "q1", "nope", "RAIN", "a b"],
    "probability": ["65%", "0.5", "13:7", "1", "0", "0%", "100%", "150%", "-5%", "abc", "1:0", "0:0", "0.999999"],
    "option": ["a=0.5", "b=0.3", "c=0.2", "a=1", "a=2", "=", "a", "a=0.5,b=0.5", "z=0.1"],
    "date": ["2020-12-17", "2020-01-01", "2300-01-01", "2021-01-26T12:00:00", "2026-01-01", "1970-01-01",
             "now", "2020-06-01T00:00:00+05:00"],
    "duration": ["14d", "30d", "1w", "3d", "1d", "0d", "-3d", "soon", "99999999999d", "1s"],
    "row": ["1", "2", "3", "4", "5", "6", "0", "-1", "99", "x"],
    "number": ["1", "2", "0.5", "10", "1000", "0", "-3", "1.5"],
    "path": list(PATHS),
    "model": ["evidence", "hazard", "learned", "learned-hazard", "aggregate", "recalibrated", "oracle"],
    "who": ["tester", "ana", "bo", "nobody", "crowd:median", "import:test", "model:evidence"],
    "rule": ["brier", "log", "spherical", "baseline", "peer", "accuracy"],
    "group": ["forecaster", "tag", "question", "kind", "period", "all", "colour"],
    "format": ["csv", "parquet", "hubverse", "fatebook", "xml"],
    "round": ["day", "week", "month", "fortnight"],
    "kind": ["binary", "multiple_choice", "numeric"],
    "outcome": ["yes", "no", "ambiguous", "annulled", "a", "b", "maybe"],
    "strength": ["weak for yes", "moderate for no", "strong for yes", "very strong", "weak"],
    "mapping": ["made_at=date", "probability=p", "question=question", "nothing", "=x"],
    "text": ["Storm", "weather", "a,b,c", "036", "https://example.org", "USA,RUS", "03,04", "pymc", "nutpie"],
}
KIND_OF = {  # parameter name -> which plausible values it takes
    "question": "question", "question_id": "question", "probability": "probability", "option": "option",
    "closes": "date", "opens": "date", "on": "date", "since": "date", "until": "date", "as_of": "date",
    "from_": "date", "to": "date", "cutoff": "date", "end": "date", "resolved_before": "date",
    "within": "duration", "stale": "duration", "every": "duration", "row": "row", "event_id": "row",
    "lr": "number", "weight": "number", "goldstein": "number", "base_rate": "probability", "bins": "number",
    "draws": "number", "tune": "number", "chains": "number", "seed": "number", "n_boot": "number",
    "db": "path", "path": "path", "out": "path", "folder": "path", "questions": "path", "resolutions": "path",
    "model": "model", "by": "who", "relative_to": "who", "crowd": "who", "forecaster": "who",
    "rule": "rule", "format": "format", "kind": "kind", "outcome": "outcome", "strength": "strength",
    "map_": "mapping", "rounds": "round",
}
#: What ``demo --db`` may be given here (see the module docstring).
DEMO_DB = ["<ledger>", "<dir>", "<junk>", "<good.csv>", "<dir.csv>", "<empty>"]


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every command path of the full app with its click command (groups too)."""
    import typer.main

    from forecasts.cli import full_app

    out = []

    def walk(group: Any, prefix: tuple[str, ...]) -> None:
        for name, command in group.commands.items():
            out.append(((*prefix, name), command))
            if hasattr(command, "commands"):
                walk(command, (*prefix, name))

    walk(typer.main.get_command(full_app()), ())
    return out


COMMANDS = _commands()


def _value(name: str) -> st.SearchStrategy[str]:
    plausible = PLAUSIBLE.get(KIND_OF.get(name, "text"), PLAUSIBLE["text"])
    return st.one_of(st.sampled_from(plausible), st.sampled_from(HOSTILE), TEXT)


@st.composite
def argv(draw: st.DrawFn) -> list[str]:
    """A command path, then values for some of its arguments and options, in a drawn order."""
    path, command = draw(st.sampled_from(COMMANDS))
    words: list[list[str]] = []
    positional: list[str] = []
    for param in getattr(command, "params", []):
        if param.param_type_name == "argument":
            if draw(st.integers(0, 9)) > 0:  # now and then an argument is left out
                positional.append(draw(_value(param.name)))
            continue
        if param.name == "help" or draw(st.integers(0, 9)) >= (9 if param.required else 5):
            continue  # a required option is given nine times in ten, any other one time in two
        flag = draw(st.sampled_from(param.opts + param.secondary_opts))
        if param.is_flag:
            words.append([flag])
        elif path == ("demo",) and param.name == "db":
            words.append([flag, draw(st.sampled_from(DEMO_DB))])
        else:
            for _ in range(draw(st.integers(1, 2)) if param.multiple else 1):
                words.append([flag, draw(_value(param.name))])
    if draw(st.integers(0, 19)) == 0:  # an unknown option or a stray word
        words.append([draw(st.sampled_from(["--nope", "-x", "extra", "--db"]))])
    order = draw(st.permutations(range(len(words)))) if words else []
    args = list(path) + positional
    for i in order:
        args += words[i]
    if path == ("demo",) and not any(w[0] == "--db" and len(w) == 2 for w in words):
        args += ["--db", "<ledger>"]
    return args


@pytest.fixture(scope="module")
def base_file(tmp_path_factory) -> tuple[Path, tuple]:
    """A small ledger: an open binary and a multiple-choice question, a resolved imported
    question with two forecasters, an event, evidence and a live forecast; and its state."""
    # A model command drawn in an example imports pytensor, which raises the recursion limit at
    # import; inside a Hypothesis example that is a HypothesisWarning (an error here). Import it
    # once, before any example runs, as a long-lived process would have.
    import pytensor  # noqa: F401

    path = tmp_path_factory.mktemp("random-arguments") / "ledger.duckdb"
    ledger = Ledger.open(path, create=True)
    ledger.add_question("rain", title="Will it rain?", closes="2300-01-01", tags="weather")
    ledger.add_question("mc", title="Which?", closes="2300-01-01", kind="multiple_choice", options="a,b,c")
    ledger.import_history(
        questions=[{"qid": "past", "title": "Past?", "opens": "2020-01-01", "closes": "2020-06-01", "tags": "weather"}],
        events=[{"title": "Storm", "on": "2020-01-03", "cameo": "036"}],
        forecasts=[{"question": "past", "forecaster": "ana", "made_at": "2020-01-05", "probability": 0.6},
                   {"question": "past", "forecaster": "bo", "made_at": "2020-01-06", "probability": 0.3}],
        resolutions=[{"question": "past", "outcome": "yes", "on": "2020-05-01"}], source="import:test")
    ledger.add_evidence("rain", ledger.records("events")[0]["seq"], lr=2.0, by="tester")
    ledger.log("rain", "60%", by="tester")
    result = ledger.verify()
    assert result.ok
    return path, (ledger.counts(), result.head)


@pytest.fixture(scope="module")
def base_team(base_file, pg_cluster) -> tuple[str, tuple]:
    """The same small ledger pushed into a template database of the session's cluster."""
    from forecasts.ledger.postgres_storage import close_idle

    name = f"args_{os.getpid()}"
    url = pg_cluster.new_database(name)
    Ledger.open(url, create=True).restore_from(Ledger.open(base_file[0]))
    close_idle(url)
    return name, base_file[1]


def _workspace(ledger: Path | None, team: Any = None) -> Iterator[tuple[Path, dict[str, str]]]:
    folder = Path(tempfile.mkdtemp(prefix="forecasts-args-"))
    made = None
    try:
        if team is not None:
            cluster, template = team
            made = f"{template}_{next(_examples)}"
            url = cluster.new_database(made, template)
        else:
            shutil.copy(ledger, folder / "ledger.duckdb")
        (folder / "dir").mkdir()
        (folder / "dir.csv").mkdir()
        (folder / "junk").write_text("not a table\n\x01\x02")
        (folder / "good.csv").write_text(GOOD_CSV)
        (folder / "far.csv").write_text(FAR_CSV)
        (folder / "events.csv").write_text(EVENTS_CSV)
        (folder / "fake.parquet").write_text(GOOD_CSV)
        (folder / "empty").write_text("")
        names = {"<ledger>": "ledger.duckdb", "<missing>": "missing.csv"}
        paths = {p: str(folder / names.get(p, p.strip("<>"))) for p in PATHS}
        if made is not None:
            paths["<ledger>"] = url
        yield folder, paths
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if made is not None:
            from forecasts.ledger.postgres_storage import close_idle

            close_idle(url)
            cluster.drop_database(made)


_examples = itertools.count(1)


def _check(cli, args, ledger_path: Path | None, before: tuple, team: Any = None) -> None:
    for folder, paths in _workspace(ledger_path, team):
        real = [paths.get(a, a) for a in args]
        out = cli(*real, env={"FORECASTS_DB": paths["<ledger>"], "COLUMNS": "120"}, cwd=folder)
        assert "Traceback" not in out.stdout + out.stderr, (real, out.stderr[-2000:])
        assert out.returncode in (0, 1, 2), (real, out)
        if out.returncode != 0:
            ledger = Ledger(paths["<ledger>"])
            with ledger.storage.reading():  # one connection for both
                result = ledger.verify()
                assert (ledger.counts(), result.head) == before, real


_SETTINGS = {"deadline": None, "derandomize": False,
             "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large]}


@pytest.mark.duckdb_only
@given(args=argv())
@settings(max_examples=EXAMPLES, **_SETTINGS)
def test_random_arguments_exit_cleanly_and_write_nothing_when_refused(cli, base_file, args):
    _check(cli, args, base_file[0], base_file[1])


@pytest.mark.team_only
@given(args=argv())
@settings(max_examples=TEAM_EXAMPLES, **_SETTINGS)
def test_random_arguments_on_the_team_ledger(cli, base_team, pg_cluster, args):
    _check(cli, args, None, base_team[1], team=(pg_cluster, base_team[0]))
