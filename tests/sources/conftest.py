"""Fixtures for the importers and exporters: small synthetic files written into tmp_path (the
research-use files of ../shared/data come from the ``shared`` fixture of tests/conftest.py), and
fresh ledgers on this run's backend, one per Hypothesis example."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_DATA = Path(__file__).resolve().parents[2] / "data"


def _write(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def write():
    """``write(path, text)``: a small synthetic input file (leading newline dropped)."""
    return _write


@pytest.fixture
def new_ledger(tmp_path, team):
    """``new_ledger()``: another empty ledger on this run's backend at each call (one per
    Hypothesis example): a DuckDB file of its own, or a database of its own on the server."""
    import itertools

    from forecasts.ledger import Ledger

    numbers = itertools.count()

    def make() -> Ledger:
        if team is None:
            return Ledger.open(tmp_path / f"example-{next(numbers)}.duckdb", create=True)
        return Ledger.open(team.database(), create=True)

    return make
