"""The package map holds: which layer may import which, who may print, no import cycles, and
a type hint on every public function.  Read from the source (every import statement, those
inside functions included), so a lazy import cannot slip past."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "forecasts"

# what each layer must never import (a prefix matches the module and everything below it)
FORBIDDEN = {
    "forecasts.scoring": ("forecasts.ledger", "forecasts.cli", "forecasts.runs", "forecasts.models",
                          "forecasts.sources", "forecasts.report", "duckdb"),
    "forecasts.models": ("forecasts.ledger", "forecasts.cli", "forecasts.runs", "forecasts.sources",
                         "forecasts.report", "forecasts.scoring", "forecasts.demo", "duckdb"),
    "forecasts.report": ("forecasts.cli", "forecasts.ledger.duckdb_storage", "duckdb"),
    "forecasts.plots": ("forecasts.ledger", "forecasts.cli", "duckdb"),
    "forecasts.runs": ("forecasts.cli", "forecasts.ledger.duckdb_storage", "duckdb"),
    "forecasts.sources": ("forecasts.cli", "forecasts.ledger.duckdb_storage", "duckdb"),
    "forecasts.ledger": ("forecasts.cli", "forecasts.runs", "forecasts.models", "forecasts.scoring",
                         "forecasts.report", "forecasts.sources"),
    "forecasts.domain": ("forecasts.ledger", "forecasts.cli", "duckdb", "numpy", "pandas"),
    "forecasts.errors": ("forecasts.",),
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions (not under
    ``if TYPE_CHECKING:``, which never runs)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and getattr(node.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix.rstrip(".") or name.startswith(prefix if prefix.endswith(".") else prefix + ".")


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_what_is_below_them(layer):
    bad = []
    for name, path in _modules().items():
        if not _under(name, layer):
            continue
        for imported in _imports(path):
            if any(_under(imported, f) for f in FORBIDDEN[layer]):
                bad.append(f"{name} imports {imported}")
    assert not bad, bad


def test_nothing_below_the_cli_prints():
    bad = []
    for name, path in _modules().items():
        if _under(name, "forecasts.cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id == "print":
                    bad.append(f"{name}:{node.lineno} print()")
                if (isinstance(f, ast.Attribute) and f.attr in ("write", "print")
                        and isinstance(f.value, ast.Attribute) and f.value.attr in ("stdout", "stderr")):
                    bad.append(f"{name}:{node.lineno} sys.{f.value.attr}.{f.attr}()")
                if isinstance(f, ast.Attribute) and f.attr == "echo" and isinstance(f.value, ast.Name):
                    bad.append(f"{name}:{node.lineno} {f.value.id}.echo()")
    assert not bad, bad


def test_no_import_cycles():
    """No cycle, counting the imports inside functions too (a lazy import is still a dependency)."""
    modules = _modules()
    graph = {name: {m for m in _imports(path) if m in modules and m != name}
             for name, path in modules.items()}
    # a package and its own submodules import each other by the way packages work; any other cycle is not
    graph = {n: {m for m in deps if not (_under(m, n) or _under(n, m))} for n, deps in graph.items()}
    seen: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(n: str) -> None:
        seen[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if seen.get(m) == 1:
                cycles.append(stack[stack.index(m):] + [m])
            elif m not in seen:
                visit(m)
        stack.pop()
        seen[n] = 2

    for n in sorted(graph):
        if n not in seen:
            visit(n)
    assert not cycles, cycles


def test_every_public_function_has_type_hints():
    missing = []
    for name, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))

        def check(body: list[ast.stmt], where: str, in_class: bool, path: Path = path) -> None:
            for node in body:
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    check(node.body, f"{where}.{node.name}", True)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    if node.name.startswith("_") and node.name != "__init__":
                        continue
                    args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                    if in_class and args and args[0].arg in ("self", "cls"):
                        args = args[1:]
                    args += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
                    if any(a.annotation is None for a in args) or (node.returns is None and node.name != "__init__"):
                        missing.append(f"{where}.{node.name} ({path.name}:{node.lineno})")

        check(tree.body, name, False)
    assert not missing, missing


def test_the_scoring_package_loads_each_name_from_its_module_on_first_use():
    """``forecasts.scoring`` imports nothing itself (so its SQL path and its options load no
    numpy or pandas); each public name comes from the module ``_HOMES`` names, the same list
    as ``__all__`` and as the imports the type checker reads."""
    import importlib
    import subprocess
    import sys

    import forecasts.scoring as scoring

    homes = {name: module for module, names in scoring._HOMES.items() for name in names}
    assert sorted(homes) == sorted(scoring.__all__)
    for name, module in homes.items():
        assert getattr(scoring, name) is getattr(importlib.import_module(f"forecasts.scoring.{module}"), name)
    typed = {f"{node.module}.{a.name}" for node in ast.walk(ast.parse((PACKAGE / "scoring" / "__init__.py").read_text()))
             if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("forecasts.") for a in node.names}
    assert typed == {f"forecasts.scoring.{module}.{name}" for name, module in homes.items()}
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        scoring.nothing  # noqa: B018
    probe = ("import sys, forecasts.scoring, forecasts.scoring.sql, forecasts.runs.scores\n"
             "from forecasts.scoring import SCORE_RULES\n"
             "print(sorted(m for m in ('numpy', 'pandas', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
