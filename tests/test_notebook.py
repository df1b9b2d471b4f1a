"""The quickstart notebook runs from top to bottom (nbclient, a kernel of this Python)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbclient  # test dependencies (pyproject.toml), with ipykernel
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "notebooks" / "quickstart.ipynb"
KERNEL = "orgself-test"


@pytest.fixture()
def this_python_kernel(tmp_path, monkeypatch):
    """A kernel spec running this interpreter (JUPYTER_PATH is searched first), so the
    notebook sees this environment whatever other kernels are installed."""
    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "orgself (tests)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    return KERNEL


def test_the_quickstart_notebook_runs(this_python_kernel):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells), "stored without outputs"
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name=this_python_kernel,
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()  # raises CellExecutionError naming the failing cell
    texts = [output.get("data", {}).get("text/plain", "") for cell in notebook.cells
             for output in cell.get("outputs", [])]
    assert any("mu_star" in text for text in texts)
    assert any("hidden_coasting_share" in text and "40.0" in text for text in texts)  # replicate
    assert any("'commit'" in text for text in texts)
