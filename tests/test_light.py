"""The kernel side alone: a fresh venv with `pip install .` (no extra) and ipykernel, as a hosted Jupyter
or a bare hub image has it. No Jupyter tool is installed there, and the released notebooks 02 and 05
Run All in that venv's own kernel: the checks answer ("not attempted" for the stubs), no traceback.

`make test-light` builds the venv (.venv-light) and runs this file with COURSE_LIGHT_PYTHON pointing
at its python; without that variable the tests are skipped, saying so."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from other_pythons import check_numbers, kernelspec, python_from, run_all

from course_utils.tools.course import SKIP_TAG

pytestmark = [pytest.mark.notebook, pytest.mark.skipif(
    not os.environ.get("COURSE_LIGHT_PYTHON"), reason="COURSE_LIGHT_PYTHON is not set (make test-light sets it)")]

REPO = Path(__file__).resolve().parents[1]
TOOL_STACK = ("jupyterlab", "jupyter-server", "jupyter_server", "nbconvert", "nbclient", "nbformat", "nbgrader",
              "notebook")
RELEASED = ("02_two_moons_mlp.ipynb", "05_fashion_mnist_minimal.ipynb")


def light_python() -> str:
    return python_from("COURSE_LIGHT_PYTHON")


def test_the_kernel_side_installs_no_jupyter_tool():
    proc = subprocess.run([light_python(), "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(proc.stdout)}
    assert "course-utils" in installed and "ipykernel" in installed
    assert sorted(installed & {n.replace("_", "-") for n in TOOL_STACK}) == []


def test_the_installed_package_is_not_the_checkout():
    proc = subprocess.run([light_python(), "-c", "import course_utils; print(course_utils.__file__)"],
                          capture_output=True, text=True, timeout=120, cwd="/")
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).parent.resolve() != REPO / "course_utils", "a real install, not the checkout"
    assert "site-packages" in proc.stdout


@pytest.fixture(scope="module")
def light_kernel(tmp_path_factory):
    """A kernelspec for the light venv's python, found through JUPYTER_PATH."""
    return kernelspec(tmp_path_factory.mktemp("jupyter"), "course-light", light_python(), "course (kernel side only)")


@pytest.mark.parametrize("name", RELEASED)
def test_a_released_notebook_runs_all_in_the_light_kernel(name, light_kernel, tmp_path, monkeypatch):
    proc = subprocess.run([sys.executable, "-m", "course_utils", "release", str(REPO / "notebooks" / name),
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    nb = nbformat.read(tmp_path / name, as_version=4)
    shown = run_all(nb, tmp_path, "course-light", light_kernel, monkeypatch)
    numbers = check_numbers(nb)
    assert numbers, name
    for n in numbers:
        assert f"Exercise {n}: not attempted" in shown, (n, shown[-2000:])
    untagged_errors = [c.source[:60] for c in nb.cells if c.cell_type == "code" and SKIP_TAG not in c.metadata.get("tags", [])
                       and any(o.output_type == "error" for o in c.outputs)]
    assert untagged_errors == []
