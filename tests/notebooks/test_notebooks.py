"""Every notebook in ``notebooks/`` runs from top to bottom, and is committed without outputs.

Each notebook is executed with nbclient in a kernel of the interpreter running the tests, in a
temporary working directory, with ``FRONTDOOR_DEMO_STORE`` pointing into it (so the demo it
builds lands there) and BLAS kept to one thread. Any cell error fails the test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient  # the test extras (pip install '.[test]') provide nbclient, nbformat, ipykernel
import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/*.ipynb not found"


def _kernel_name() -> str:
    """A kernel of this interpreter: ipykernel's built-in ``python3`` spec runs ``sys.executable``.

    jupyter_client offers ipykernel's own spec under ``python3`` when ipykernel is importable
    and no installed spec of that name shadows it; one that does (a user's
    ``~/.local/share/jupyter/kernels/python3`` for another Python) is bypassed by registering
    this interpreter's spec in ``sys.prefix`` (found before the user's in a virtualenv).
    """
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    exe = spec.argv[0]
    if exe in ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"):
        return "python3"  # jupyter_client substitutes sys.executable for a bare "python"
    if Path(exe).resolve() == Path(sys.executable).resolve():
        return "python3"
    from ipykernel.kernelspec import install

    install(kernel_name="frontdoor-tests", prefix=sys.prefix, display_name="Python 3 (frontdoor tests)")
    return "frontdoor-tests"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    stored = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not stored, (
        f"{path.name} has stored outputs in code cell(s) {stored}: clear them before committing "
        f"(jupyter nbconvert --clear-output --inplace {path.name})"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("FRONTDOOR_DEMO_STORE", str(tmp_path / "demo"))
    monkeypatch.chdir(tmp_path)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=_kernel_name(),
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "some code cells did not run"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
