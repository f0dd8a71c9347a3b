"""The notebooks in ``notebooks/`` run from top to bottom with the project's environment.

Each notebook is executed by nbclient from an in-memory copy (the committed file is never
written) with ``notebooks/`` as its working folder, in a kernel running this very interpreter
(the ``python`` of the kernelspec is resolved through ``PATH``, which is pointed at this
interpreter's folder first).  A failing cell fails the test.  The notebooks themselves write
only into temporary folders.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT, SHARED_DATA

NOTEBOOKS = ROOT / "notebooks"
METACULUS = SHARED_DATA / "metaculus_binary_community_timeseries.parquet"


def _run(name: str, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(book, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return book


def _outputs(book) -> str:
    parts = []
    for cell in book.cells:
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")))
            parts.extend(str(v) for v in out.get("data", {}).values())
    return "\n".join(parts)


def _kinds(book) -> set[str]:
    return {kind for cell in book.cells for out in cell.get("outputs", []) for kind in out.get("data", {})}


def test_notebooks_are_committed_without_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        book = nbformat.read(path, as_version=4)
        assert book.cells[0].cell_type == "markdown", path.name
        code = [c for c in book.cells if c.cell_type == "code"]
        assert code[0].source.startswith("%matplotlib inline"), path.name
        for cell in code:
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


def test_quickstart(monkeypatch):
    text = _outputs(_run("01-quickstart.ipynb", monkeypatch))
    assert "model:evidence" in text and "<svg" in text and 'class="scores"' in text


def test_new_start(monkeypatch):
    text = _outputs(_run("02-new-start.ipynb", monkeypatch))
    assert "import:metaculus" in text and 'data-question="new-start-extension"' in text


@pytest.mark.skipif(not METACULUS.exists(),
                    reason=f"needs the research-use Metaculus series at {METACULUS} (not redistributable, "
                           "so not in the repository)")
def test_calibration_of_a_real_track_record(monkeypatch):
    book = _run("03-calibration-of-a-real-track-record.ipynb", monkeypatch)
    text = _outputs(book)
    assert "Metaculus community, last forecast" in text and "consistency band" in text
    assert "model:extremized" in text and "model:hazard-crowd" in text  # the out-of-sample evaluation ran
    assert "model:contextual" in text and "contextual model" in text and "image/png" in _kinds(book)
