"""One harness for running released notebooks in another Python's own kernel (tests/test_light.py: the kernel side
alone; tests/test_hosted.py: a hub's and Colab's Python without the course): a kernelspec for that Python, found
through JUPYTER_PATH, and a Run All there, outside the checkout, with the data from the local copy."""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat

from course_utils.settings import DATA_DIR_ENV
from course_utils.tools.execute import execute

REPO = Path(__file__).resolve().parents[1]


def python_from(variable: str) -> str:
    """The python a variable names, as an absolute path (not resolved: a venv's python is a link)."""
    return os.path.abspath(os.environ[variable])


def kernelspec(folder: Path, name: str, python: str, display_name: str) -> Path:
    """A kernelspec ``name`` for ``python`` under ``folder``; returns the folder to put in JUPYTER_PATH."""
    spec = folder / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name, "language": "python"}))
    return folder


def run_all(nb, cwd: Path, kernel: str, jupyter_path: Path, monkeypatch, **environ: str) -> str:
    """Run All of ``nb`` (filled in place) in the kernel ``kernel``; asserts it reached the end without a
    traceback and returns everything its code cells show."""
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    monkeypatch.setenv(DATA_DIR_ENV, str(REPO / "data"))  # an installed course has no checkout beside it
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    from course_utils.tools import execute as ex
    monkeypatch.setattr(ex, "KERNEL_NAME", kernel)
    run = execute(nb, cwd)
    assert not run.stopped and not run.error, run.error
    shown = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                      for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Traceback" not in shown, shown[-3000:]
    return shown


def check_numbers(nb) -> list[str]:
    """The exercises whose check cells ``nb`` holds."""
    return [c.metadata["course"]["exercise"] for c in nb.cells if c.metadata.get("course", {}).get("part") == "check"]


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)
