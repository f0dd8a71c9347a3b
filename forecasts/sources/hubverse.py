"""Export to the hubverse's model-output and oracle-output formats (hubverse.io).

Model output is one row per predicted category: ``model_id``, the task-id columns
``question_id`` and ``origin_time`` (when the forecast was made, ISO UTC), then
``output_type`` = ``pmf``, ``output_type_id`` (the category: ``yes``/``no`` for a binary
question, the option names for a multiple-choice one) and ``value`` (its probability; the
categories of one forecast sum to 1).  Oracle output is what a forecaster who knew the
resolution would have said: ``question_id``, ``output_type`` = ``pmf``, ``output_type_id``,
``oracle_value`` 1 for the observed category and 0 for the others; questions resolved
``ambiguous`` or ``annulled``, and unresolved ones, have no oracle rows.

``model_id`` follows the hubverse's ``team-model`` form: the forecaster's name with characters
other than letters, digits, ``_`` and ``-`` replaced by ``-`` (``import:metaculus`` ->
``import-metaculus``).  No extra column carries the original name, because hubverse tools treat
every extra column as a task id; :func:`model_id` gives the mapping.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecasts.errors import InvalidInput
from forecasts.paths import output_folder

if TYPE_CHECKING:
    from forecasts.ledger import Ledger

_BAD = re.compile(r"[^A-Za-z0-9_-]+")


def model_id(forecaster: str) -> str:
    """``"import:metaculus"`` -> ``"import-metaculus"``."""
    return _BAD.sub("-", forecaster).strip("-") or "model"


def hubverse_frames(ledger: Ledger, *, as_of: object = None, forecaster: str | None = None) -> tuple[Any, Any]:
    """``(model_output, oracle_output)`` frames of the ledger as of a time."""
    import pandas as pd

    qs = ledger.questions(as_of)
    fs = ledger.forecasts(as_of, forecaster=forecaster)
    rs = ledger.resolutions(as_of)
    kind = dict(zip(qs["id"], qs["kind"], strict=True))
    options = dict(zip(qs["id"], qs["options"], strict=True))
    rows = []
    for f in fs.itertuples():
        mid, t = model_id(f.forecaster), pd.Timestamp(f.made_at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if kind.get(f.question) == "binary":
            p = float(f.probability)
            rows.append((mid, f.question, t, "pmf", "yes", p))
            rows.append((mid, f.question, t, "pmf", "no", 1.0 - p))
        elif isinstance(f.probabilities, dict):
            for option, p in f.probabilities.items():
                rows.append((mid, f.question, t, "pmf", option, float(p)))
    model = pd.DataFrame(rows, columns=["model_id", "question_id", "origin_time", "output_type",
                                        "output_type_id", "value"])
    oracle = []
    for r in rs.itertuples():
        if r.outcome in ("ambiguous", "annulled") or r.question not in kind:
            continue
        cats = ["yes", "no"] if kind[r.question] == "binary" else list(options[r.question] or [])
        for c in cats:
            oracle.append((r.question, "pmf", c, 1.0 if c == r.outcome else 0.0))
    oracle_df = pd.DataFrame(oracle, columns=["question_id", "output_type", "output_type_id", "oracle_value"])
    return model, oracle_df


def export_hubverse(ledger: Ledger, path: str | Path, *, fmt: str = "csv", as_of: object = None,
                    forecaster: str | None = None) -> dict[str, Path]:
    """Write ``model-output.<fmt>`` and ``oracle-output.<fmt>`` into the folder ``path``
    (``fmt``: ``csv`` or ``parquet``); returns the two files.  CSV writes missing values as ``NA`` as hubverse tools expect."""
    if fmt not in ("csv", "parquet"):
        raise InvalidInput("hubverse export format must be csv or parquet")
    folder = output_folder(path)
    model, oracle = hubverse_frames(ledger, as_of=as_of, forecaster=forecaster)
    files = {"model_output": folder / f"model-output.{fmt}", "oracle_output": folder / f"oracle-output.{fmt}"}
    for frame, target in ((model, files["model_output"]), (oracle, files["oracle_output"])):
        frame = frame.astype({"output_type_id": "string"})
        if fmt == "csv":
            frame.to_csv(target, index=False, na_rep="NA", float_format="%.17g")
        else:
            frame.to_parquet(target, index=False)
    return files
