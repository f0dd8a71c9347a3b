"""The column-wise exporters (hubverse, Fatebook) write what the previous, row-by-row ones
wrote (:mod:`previous_exporters`): the same hub files by role, each CSV byte for byte and each
Parquet file value for value (types and pandas metadata included), the same Fatebook CSV byte
for byte, or the same one-line refusal; on random ledgers and the demo, on both backends."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import previous_exporters
import pyarrow.parquet as pq
import pytest
import random_ledgers
from hypothesis import given, settings

from forecasts.errors import InvalidInput
from forecasts.ledger import Ledger
from forecasts.sources.fatebook import export_fatebook
from forecasts.sources.hubverse import export_hubverse, hubverse_frames


def _outcome(export, *args, **kwargs):
    """What ``export(*args, **kwargs)`` gives: its value, or the one-line message it refuses with."""
    try:
        return export(*args, **kwargs), None
    except InvalidInput as exc:
        return None, exc.message


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def same_hub(ledger: Ledger, folder: Path) -> None:
    old, old_error = _outcome(previous_exporters.hubverse_frames, ledger)
    new, new_error = _outcome(hubverse_frames, ledger)
    assert new_error == old_error
    if old is not None and new is not None:
        pd.testing.assert_frame_equal(new[0], old[0])
        pd.testing.assert_frame_equal(new[1], old[1])
        assert new[2] == old[2]
    for fmt in ("csv", "parquet"):
        before, after = folder / f"previous-{fmt}" / "hub", folder / f"now-{fmt}" / "hub"
        old_files, old_error = _outcome(previous_exporters.export_hubverse, ledger, before, fmt=fmt)
        new_files, new_error = _outcome(export_hubverse, ledger, after, fmt=fmt)
        assert new_error == old_error
        if old_files is None or new_files is None:
            continue
        assert [(role, p.relative_to(after)) for role, p in new_files.items()] == \
               [(role, p.relative_to(before)) for role, p in old_files.items()]
        assert len(new_files) == len(old_files) and all(new_files[role] == after / p.relative_to(before)
                                                         for role, p in old_files.items())
        old_bytes, new_bytes = _files(before), _files(after)
        assert list(new_bytes) == list(old_bytes)
        for name, data in new_bytes.items():
            if name.endswith(".parquet"):
                assert pq.read_table(after / name).equals(pq.read_table(before / name), check_metadata=True), name
            else:
                assert data == old_bytes[name], name


def same_fatebook(ledger: Ledger, folder: Path) -> None:
    old = _outcome(lambda: previous_exporters.export_fatebook(ledger, folder / "previous" / "out.csv").read_bytes())
    new = _outcome(lambda: export_fatebook(ledger, folder / "now" / "out.csv").read_bytes())
    assert new == old


@pytest.mark.parametrize("same", [same_hub, same_fatebook])
@settings(random_ledgers.LEDGER_PER_EXAMPLE)
@given(recipe=random_ledgers.ledgers())
def test_random_ledgers_export_as_before(new_ledger, tmp_path_factory, same, recipe):
    same(random_ledgers.build(new_ledger(), recipe), tmp_path_factory.mktemp("export"))


@pytest.mark.parametrize("same", [same_hub, same_fatebook])
def test_the_demo_exports_as_before(demo_copy, tmp_path, same):
    same(demo_copy, tmp_path)


def test_two_forecasters_with_one_model_id_are_refused_as_before(ledger, tmp_path):
    ledger.import_history(source="import:test", questions=[
        {"qid": "b1", "title": "Binary?", "opens": "2020-01-01", "closes": "2020-12-01"}],
        forecasts=[{"question": "b1", "forecaster": name, "made_at": "2020-02-01", "probability": 0.7}
                   for name in ("a.b", "a_b")])
    with pytest.raises(InvalidInput, match="forecasters 'a.b' and 'a_b' would both be hubverse model 'person-a_b'"):
        export_hubverse(ledger, tmp_path / "hub")
    same_hub(ledger, tmp_path)
