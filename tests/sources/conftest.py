"""Fixtures for the importers: the research-use files in ../shared/data (skipped when absent)
and small synthetic files written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PROJECT_DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def shared():
    """``shared("name")``: the path of a file in ../shared/data, or skip the test."""

    def get(name: str) -> Path:
        path = SHARED / name
        if not path.exists():
            pytest.skip(f"{name} is research-use data not shipped with the project: expected in {SHARED}")
        return path

    return get


def _write(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def write():
    """``write(path, text)``: a small synthetic input file (leading newline dropped)."""
    return _write
