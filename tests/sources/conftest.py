"""Fixtures for the importers: small synthetic files written into tmp_path (the research-use
files of ../shared/data come from the ``shared`` fixture of tests/conftest.py)."""

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
