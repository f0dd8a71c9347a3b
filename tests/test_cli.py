"""The command line: output, --json, exit codes, one-line errors, lazy loading.

Most tests run the app in this process (the ``cli`` fixture); a few run the real entry point in
a subprocess (``cli_process``): the script itself, a missing ledger, a locked one, and the
checks that ``forecasts log`` and ``--help`` load no heavy library.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import forecasts
from forecasts.cli import app_for, area, area_names, command_names, find_area, full_app
from forecasts.ledger import Ledger

README = Path(__file__).resolve().parents[1] / "README.md"
HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(30)
"""


def test_full_workflow(cli, db_path):
    steps = [
        ("init",),
        ("question", "add", "new-start-extension", "--title", "Will the US and Russia agree to extend New START?",
         "--closes", "2300-02-05", "--criteria", "notes exchanged", "--tags", "arms-control,russia"),
        ("log", "new-start-extension", "35%", "--by", "alice", "--why", "Moscow rejects meetings"),
        ("log", "new-start-extension", "13:7", "--by", "bob"),
        ("log", "new-start-extension", "0.65", "--by", "carol"),
        ("event", "add", "Putin calls for one-year extension", "--on", "2020-12-17",
         "--source", "https://example.org/putin", "--cameo", "036", "--tags", "russia"),
        ("evidence", "new-start-extension", "5", "--lr", "1.5", "--by", "alice"),
        ("resolve", "new-start-extension", "yes", "--note", "notes exchanged"),
    ]
    for step in steps:
        out = cli(*step)
        assert out.returncode == 0, (step, out.stderr)
    table = cli("history", "new-start-extension", env={"COLUMNS": "200"}).stdout
    assert "Moscow rejects meetings" in table and "notes exchanged" in table
    hist = json.loads(cli("history", "new-start-extension", "--json").stdout)
    assert [h["kind"] for h in hist] == ["event", "opens", "forecast", "forecast", "forecast", "resolution", "closes"]
    assert [h["who"] for h in hist if h["kind"] == "forecast"] == ["alice", "bob", "carol"]
    qs = json.loads(cli("questions", "--json").stdout)
    assert qs[0]["status"] == "resolved" and qs[0]["n_forecasts"] == 3
    evs = json.loads(cli("events", "--json", "--tag", "russia").stdout)
    assert evs[0]["seq"] == 5 and evs[0]["goldstein"] == 4.0
    assert json.loads(cli("questions", "--open", "--json").stdout) == []
    v = json.loads(cli("verify", "--json").stdout)
    assert v["ok"] and v["rows"] == 7
    assert Ledger.open(db_path).counts()["forecasts"] == 3


def test_multiple_choice_from_the_cli(cli):
    cli("init")
    assert cli("question", "add", "term", "--title", "Extension length?", "--closes", "2300-01-01",
               "--kind", "multiple_choice", "--options", "yes-5y,yes-1y,no").returncode == 0
    ok = cli("log", "term", "--option", "yes-5y=0.6", "--option", "yes-1y=0.3", "--option", "no=0.1", "--by", "al")
    assert ok.returncode == 0 and "yes-5y=60.0%" in ok.stdout
    bad = cli("log", "term", "--option", "yes-5y=0.6", "--option", "yes-1y=0.3", "--option", "no=0.3")
    assert bad.returncode == 2 and "sum to" in bad.stderr


@pytest.mark.parametrize("args", [
    ("log", "rain", "150%"),
    ("log", "rain", "abc"),
    ("log", "rain", "1"),
    ("log", "snow", "50%"),
    ("question", "add", "rain", "--title", "again", "--closes", "2300-01-01"),
    ("question", "add", "x", "--title", "t", "--closes", "31/12/2300"),
    ("resolve", "rain", "maybe"),
    ("resolve", "rain", "yes", "--on", "1999-01-01"),
    ("evidence", "rain", "99", "--lr", "2"),
    ("evidence", "rain", "99"),
    ("event", "add", "x", "--on", "not-a-date"),
    ("due", "--within", "soon"),
    ("questions", "--open", "--closed"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, db_path, args):
    cli("init")
    cli("question", "add", "rain", "--title", "Rain?", "--closes", "2300-01-01")
    ledger = Ledger.open(db_path)
    before = (ledger.counts(), ledger.verify().head)
    out = cli(*args)
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr
    assert (ledger.counts(), ledger.verify().head) == before


def test_missing_ledger_is_a_clear_error(cli_process, tmp_path):
    out = cli_process("log", "rain", "50%", "--db", str(tmp_path / "none.duckdb"))
    assert out.returncode == 1 and "forecasts init" in out.stderr


@pytest.mark.duckdb_only  # the DuckDB file's lock
def test_locked_ledger_is_one_line_from_the_real_entry_point(cli_process, ledger, open_question):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(ledger.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        out = cli_process("log", "rain", "40%", "--db", str(ledger.path))
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert out.returncode == 1, out
    assert "locked by another process" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_version_from_the_console_script():
    script = Path(sys.executable).parent / "forecasts"
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == f"forecasts {forecasts.__version__}\n", out


def test_version(cli):
    out = cli("--version")
    assert out.returncode == 0 and out.stdout == f"forecasts {forecasts.__version__}\n"


def test_db_option_and_environment(cli, tmp_path):
    other = tmp_path / "elsewhere" / "team.duckdb"
    assert cli("init", "--db", str(other)).returncode == 0 and other.exists()
    assert cli("init", env={"FORECASTS_DB": str(tmp_path / "env.duckdb")}).returncode == 0
    assert (tmp_path / "env.duckdb").exists()


def test_default_location_is_data_folder(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if k != "FORECASTS_DB"}
    out = subprocess.run([sys.executable, "-m", "forecasts.cli", "init"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0 and (tmp_path / "data" / "forecasts.duckdb").exists()


def test_correct_retract_due_export(cli, tmp_path):
    cli("init")
    cli("question", "add", "rain", "--title", "Rain?", "--closes", "2300-01-01")
    cli("log", "rain", "60%", "--by", "al")
    assert cli("correct", "2", "16%", "--by", "al", "--why", "typo").returncode == 0
    assert cli("retract", "2", "--by", "bo").returncode == 2
    hist = json.loads(cli("history", "rain", "--json").stdout)
    assert [h["kind"] for h in hist] == ["opens", "forecast", "correction", "closes"]
    due = json.loads(cli("due", "--by", "bo", "--json").stdout)
    assert due[0]["question"] == "rain" and "no forecast" in due[0]["why"]
    assert cli("export", str(tmp_path / "out"), "--format", "parquet").returncode == 0
    assert (tmp_path / "out" / "forecasts.parquet").exists()


def test_log_does_not_import_heavy_libraries(cli, db_path):
    cli("init")
    cli("question", "add", "rain", "--title", "Rain?", "--closes", "2300-01-01")
    probe = (
        "import sys\n"
        "from forecasts.cli import main\n"
        "sys.argv = ['forecasts'] + sys.argv[1:]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "heavy = {'pandas', 'pymc', 'pytensor', 'matplotlib', 'statsmodels', 'scipy', 'numpy'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    for args in (["log", "rain", "40%", "--by", "al"], ["--help"]):
        out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def _commands(group, prefix=()):
    import typer.main

    click_group = typer.main.get_command(group)
    for name, command in click_group.commands.items():
        if hasattr(command, "commands"):
            for sub in command.commands:
                yield (*prefix, name, sub)
        else:
            yield (*prefix, name)


def test_every_command_has_help_and_is_in_the_readme():
    text = README.read_text()
    import typer.main

    app = full_app()
    click_group = typer.main.get_command(app)
    missing = []
    for path in _commands(app):
        command = click_group
        for part in path:
            command = command.commands[part]
        assert command.help, f"{' '.join(path)} has no help text"
        if not re.search(rf"forecasts {' '.join(path)}\b", text):
            missing.append(" ".join(path))
    assert missing == [], f"commands not documented in README.md: {missing}"


def test_lazy_loading_finds_every_command():
    """Every command of the full app is found in exactly one area, and the app built for it
    alone holds it, with the same help."""
    import typer.main

    full = typer.main.get_command(full_app())
    areas = [a for a in area_names() if area(a) is not None]
    assert len(areas) >= 6
    claimed = [n for a in areas for n in command_names(area(a))]
    assert sorted(claimed) == sorted(full.commands)  # each command in one area, none left out
    for name, command in full.commands.items():
        found = find_area(name)
        assert found is not None and name in command_names(area(found))
        alone = typer.main.get_command(app_for(name))
        assert list(alone.commands) == [name]
        assert alone.commands[name].help == command.help
        if hasattr(command, "commands"):
            assert list(alone.commands[name].commands) == list(command.commands)
    assert find_area("no-such-command") is None
    assert sorted(typer.main.get_command(app_for("no-such-command")).commands) == sorted(full.commands)


def test_log_mounts_only_the_ledger_area():
    probe = ("import sys\n"
             "from forecasts.cli import main\n"
             "sys.argv = ['forecasts', 'log', '--help']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.startswith('forecasts.cli.')))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "['forecasts.cli.ledger', 'forecasts.cli.options', 'forecasts.cli.output']", out


def test_the_readme_models_table_lists_exactly_the_models_update_knows():
    from forecasts.runs.live import MODELS

    text = README.read_text()
    table = text[text.index("| model | what it does |"):]
    table = table[:table.index("\n\n")]
    names = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert sorted(names) == sorted(MODELS)


def test_log_takes_the_start_of_one_question_id(cli, ledger, snapshot):
    ledger.add_question("new-start-extension", title="Extended?", closes="2300-01-01")
    ledger.add_question("new-start-term", title="How long?", closes="2300-01-01")
    ledger.add_question("iran-deal", title="Deal?", closes="2300-01-01")
    result = cli("log", "iran", "30%")
    assert result.returncode == 0 and "on iran-deal" in result.stdout
    assert ledger.records("forecasts")[-1]["question"] == "iran-deal"
    before = snapshot(ledger)
    several = cli("log", "new-st", "30%")
    assert several.returncode == 2 and "'new-st' starts several question ids (new-start-extension, new-start-term)" \
        in several.stderr
    assert cli("log", "nope", "30%").returncode == 2
    assert snapshot(ledger) == before
    assert cli("log", "new-start-extension", "30%").returncode == 0  # a whole id, even the start of another


def test_ask_creates_the_question_and_logs_the_forecast_in_one_write(cli, ledger, snapshot):
    title = "Will the US and Russia resume strategic stability talks before 2027-06-01?"
    result = cli("ask", title, "25%", "--by", "ana", "--tags", "arms-control")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("new question us-russia-resume-strategic-stability-talks (closes 2027-06-01); "
                                    "logged 25.0% by ana")
    q = ledger.records("questions")[0]
    assert (q["id"], q["title"], q["kind"], f"{q['closes_at']:%Y-%m-%d}") == (
        "us-russia-resume-strategic-stability-talks", title, "binary", "2027-06-01")
    f = ledger.records("forecasts")[0]
    assert (f["question"], f["forecaster"], f["probability"]) == (q["id"], "ana", 0.25)
    assert ledger.storage.last_write_check()[0] == f["seq"]  # one write: the log of writes has its head
    again = cli("ask", title, "30%", "--closes", "2027-01-01", "--by", "bo")
    assert "new question us-russia-resume-strategic-stability-talks-2 (closes 2027-01-01)" in again.stdout
    before = snapshot(ledger)
    for args in (("ask", "No date in this one?", "30%"), ("ask", "Talks by 2027-06-01?", "130%"),
                 ("ask", "Talks by 2020-06-01?", "30%")):
        refused = cli(*args)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, (args, refused.stderr)
    assert snapshot(ledger) == before  # a refused forecast leaves no question behind


def test_due_ics_is_a_calendar_of_closes_and_stale_forecasts(cli, ledger, tmp_path):
    from icalendar import Calendar

    ledger.add_question("talks", title="Talks resume?", closes="2300-01-01")
    ledger.add_question("summit", title="Summit held?", closes="2299-06-01")
    ledger.add_question("done", title="Done?", closes="2300-01-01")
    ledger.resolve("done", "yes")  # not open: no reminder
    made = ledger.log("talks", 0.3, by="ana")["made_at"]
    out = tmp_path / "cal" / "ana.ics"
    result = cli("due", "--by", "ana", "--stale", "30d", "--ics", str(out))
    assert result.returncode == 0 and f"wrote 3 reminders for ana to {out}" in result.stdout
    events = [c for c in Calendar.from_ical(out.read_bytes()).walk("VEVENT")]
    got = sorted((str(e["summary"]), e.decoded("dtstart").replace(tzinfo=None)) for e in events)
    assert got == sorted([("Closes: Talks resume?", datetime(2300, 1, 1)), ("Closes: Summit held?", datetime(2299, 6, 1)),
                          ("Update your forecast: Talks resume?", (made + timedelta(days=30)).replace(microsecond=0))])  # to the second
    uids = [str(e["uid"]) for e in events]
    assert len(set(uids)) == 3
    cli("due", "--by", "ana", "--ics", str(out))
    assert [str(e["uid"]) for e in Calendar.from_ical(out.read_bytes()).walk("VEVENT")] == uids  # stable: updates, no copies
    bad = cli("due", "--by", "ana", "--ics", str(tmp_path))  # a folder
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


@pytest.mark.parametrize("args", [("import", "ledger", "<long>"), ("import", "metaculus", "<long>"),
                                  ("import", "csv", "<long>"), ("import", "fatebook", "<long>"),
                                  ("export", "<long>"), ("export", "--format", "fatebook", "<long>"),
                                  ("report", "--out", "<long>"), ("due", "--ics", "<long>")])
def test_a_path_too_long_for_the_file_system_is_one_line(cli, ledger, open_question, snapshot, tmp_path, args):
    before = snapshot(ledger)
    long = str(tmp_path / ("x" * 300))  # ENAMETOOLONG: the random-argument test found two tracebacks here
    result = cli(*[long if a == "<long>" else a for a in args])
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error:") and result.stderr.count("\n") == 1, result.stderr
    assert snapshot(ledger) == before
