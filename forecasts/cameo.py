"""CAMEO event codes and their Goldstein conflict-cooperation scores.

The table is ``data/cameo_goldstein.csv`` (GDELT's CAMEO code and Goldstein scale lookups; see
``data/README.md`` for provenance).  Codes keep their leading zeros (``036``).  Goldstein scores
run from -10 (most conflictual) to +10 (most cooperative), Goldstein 1992.
"""

from __future__ import annotations

import csv
from functools import cache

from forecasts.errors import InvalidInput
from forecasts.paths import data_file


@cache
def cameo_table() -> dict[str, dict[str, str]]:
    """Every CAMEO code mapped to its row (description, goldstein, root_code, quad_class...)."""
    with data_file("cameo_goldstein.csv").open(newline="", encoding="utf-8") as fh:
        return {row["cameo_code"]: row for row in csv.DictReader(fh)}


def goldstein_for(code: str) -> float | None:
    """The Goldstein score of a CAMEO code; an unknown code is refused.

    >>> goldstein_for("036")
    4.0
    """
    row = cameo_table().get(code)
    if row is None:
        raise InvalidInput(f"unknown CAMEO code {code!r}; see data/cameo_goldstein.csv")
    return float(row["goldstein"]) if row["goldstein"] not in ("", None) else None
