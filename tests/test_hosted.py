"""A published notebook where the course is not installed, offline, in two Pythons:

- a hub's (``COURSE_HUB_PYTHON``, `make test-hosted`, .venv-hub): ipykernel, PyTorch and the scientific stack, no
  course; released 05 runs there;
- Colab's (``COURSE_COLAB_PYTHON``, `make test-colab`, .venv-colab): Python 3.13 with Colab's kernel stack and
  scientific stack at Colab's versions (tests/hosted/colab-constraints.txt: ipykernel 6.17.1, IPython 7.34, ...);
  released 00, 02 and 05 run there, in Colab's ipykernel, not ours, so student mode runs on IPython 7.34.

The release's first cell installs the course from a wheelhouse built from this checkout (``COURSE_WHEELHOUSE``:
there is no network to GitHub here) and changes nothing else: `pip freeze` afterwards differs by the course
alone. Without its variable, each environment's tests are skipped, saying so."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from other_pythons import check_numbers, kernelspec, python_from, run_all

from course_utils.tools.injected import SETUP_WHEELHOUSE_ENV
from course_utils.tools.publish import SETUP_TAG, parse_publication
from course_utils.tools.release import build_release

pytestmark = pytest.mark.notebook
ENVIRONMENTS = {"hub": ("COURSE_HUB_PYTHON", "make test-hosted", ("05_fashion_mnist_minimal.ipynb",)),
                "colab": ("COURSE_COLAB_PYTHON", "make test-colab",
                          ("00_environment_check.ipynb", "02_two_moons_mlp.ipynb", "05_fashion_mnist_minimal.ipynb"))}

REPO = Path(__file__).resolve().parents[1]
VERSION, TAG = "1.2.0", "v1.2.0"


@pytest.fixture(scope="module", params=list(ENVIRONMENTS))
def env(request) -> str:
    variable, target, _ = ENVIRONMENTS[request.param]
    if not os.environ.get(variable):
        pytest.skip(f"{variable} is not set ({target} sets it)")
    return request.param


def python_of(env: str) -> str:
    return python_from(ENVIRONMENTS[env][0])


def freeze(env: str) -> list[str]:
    proc = subprocess.run([python_of(env), "-m", "pip", "freeze", "--disable-pip-version-check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return sorted(proc.stdout.splitlines())


@pytest.fixture(scope="module")
def hosted(env, tmp_path_factory):
    """The wheelhouse (the course at the tag's version), the published release, the environment's kernelspec."""
    root = tmp_path_factory.mktemp(f"hosted-{env}")
    wheels = root / "wheels"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
                           "-w", str(wheels), str(REPO)], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, SETUPTOOLS_SCM_PRETEND_VERSION=VERSION))
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in wheels.iterdir()] == [f"course_utils-{VERSION}-py3-none-any.whl"]
    build_release([REPO / "notebooks" / n for n in ENVIRONMENTS[env][2]], root / "student",
                  publication=parse_publication(f"https://github.com/ee541/unit1-student@{TAG}"))
    kernelspec(root / "jupyter", f"course-{env}", python_of(env), f"{env}'s Python (no course)")
    return root


def run_released(env: str, hosted: Path, name: str, monkeypatch) -> tuple[nbformat.NotebookNode, str]:
    """Released ``name`` run all in the environment's own kernel, outside the checkout: (notebook, all it shows)."""
    nb = nbformat.read(hosted / "student" / name, as_version=4)
    assert nb.cells[0].metadata["tags"] == [SETUP_TAG]
    shown = run_all(nb, hosted / "student", f"course-{env}", hosted / "jupyter", monkeypatch,
                    **{SETUP_WHEELHOUSE_ENV: str(hosted / "wheels")})
    return nb, shown


def test_the_first_cell_installs_the_course_changing_nothing_else_and_each_notebook_runs_all(env, hosted,
                                                                                               monkeypatch):
    before = freeze(env)
    assert not any(line.lower().startswith(("course-utils", "course_utils")) for line in before), "no course yet"
    for k, name in enumerate(ENVIRONMENTS[env][2]):
        nb, shown = run_released(env, hosted, name, monkeypatch)
        first = "".join(o.get("text", "") for o in nb.cells[0].outputs)
        if k == 0:  # the first notebook installs; later ones find the version installed and print nothing
            assert f"Installing course_utils {VERSION}" in first and "Restart" not in first, first
        else:
            assert first == "", first
        for number in check_numbers(nb):
            assert f"Exercise {number}: not attempted" in shown, (env, name, number)
        if name.startswith("00"):
            assert f"Runtime: local, the course installed as a package" in shown and "Environment ready" in shown
    after = freeze(env)
    assert sorted(set(before) - set(after)) == [], "no package that was there changed"
    assert sorted(set(after) - set(before)) == [f"course-utils=={VERSION}"]


def test_the_first_cell_again_where_the_version_is_installed_is_quick_and_silent(env, hosted):
    source = nbformat.read(hosted / "student" / ENVIRONMENTS[env][2][0], as_version=4).cells[0].source
    code = (f"import time\nstart = time.perf_counter()\nexec(compile({source!r}, 'cell', 'exec'), {{}})\n"
            "print(f'SECONDS {time.perf_counter() - start}')")
    proc = subprocess.run([python_of(env), "-c", code], capture_output=True, text=True, timeout=120, cwd=hosted,
                          env=dict(os.environ, **{SETUP_WHEELHOUSE_ENV: str(hosted / "wheels")}))
    assert proc.returncode == 0, proc.stderr
    printed, seconds = proc.stdout.rsplit("SECONDS ", 1)
    assert printed == "" and float(seconds) < 2.0, proc.stdout
