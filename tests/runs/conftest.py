"""The evaluation's tests read the research-use files in ../shared/data as the importers' do:
the ``shared`` fixture is theirs."""

from __future__ import annotations

from tests.sources.conftest import shared

__all__ = ["shared"]
