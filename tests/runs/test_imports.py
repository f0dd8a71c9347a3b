"""The layering of models and runs: no import cycles, models import no ledger and nothing
above them, and the live path of the closed-form models stays free of numpy and pandas."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import forecasts

ROOT = Path(forecasts.__file__).parent
#: The compatibility shim that re-exports forecasts.runs under the CLI's old import path; it
#: goes once the CLI imports forecasts.runs.
SHIMS = {"forecasts.models.run"}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every forecasts module a file imports, at the top or inside functions (not the ones
    under ``if TYPE_CHECKING:``, which never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and getattr(node.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(node)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in out if m.startswith("forecasts")}


def _graph(packages=("models", "runs")) -> dict[str, set[str]]:
    files = [p for pkg in packages for p in (ROOT / pkg).glob("*.py")]
    mods = {_module(p): p for p in files}
    return {m: {i for i in _imports(p) if i in mods and i != m} for m, p in mods.items()}


def test_no_import_cycles_in_models_and_runs():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for n in sorted(graph[m]):
            assert state.get(n) != 1, f"import cycle: {' -> '.join([*path, n])}"
            if n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_models_import_neither_the_ledger_nor_what_sits_above_them():
    above = ("forecasts.ledger", "forecasts.runs", "forecasts.cli", "forecasts.commands", "forecasts.report",
             "forecasts.scoring", "forecasts.demo")
    for path in (ROOT / "models").glob("*.py"):
        if _module(path) in SHIMS:
            continue
        bad = sorted(i for i in _imports(path) if i.startswith(above))
        assert not bad, f"{path.name} imports {bad}"


def test_the_live_path_of_the_closed_form_models_loads_no_numpy_or_pandas():
    code = ("import sys, forecasts.runs.live, forecasts.runs.backtest, forecasts.models.forecasters; "
            "print(sorted(m for m in ('numpy', 'pandas', 'pymc', 'pytensor', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
