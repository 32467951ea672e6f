"""share-packages (make test-light): the named distributions and their requirements are hard-linked
into another environment, which then imports them; nothing outside site-packages is linked."""
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from course_utils.tools.venvs import requirement_closure, share_packages


def test_closure_follows_requirements():
    found = requirement_closure(["nbclient"])
    assert {"nbclient", "nbformat", "jupyter-client", "traitlets"} <= set(found)
    assert "torch" not in found and "nbconvert" not in found  # nbclient needs neither


def test_shared_packages_import_in_the_other_environment(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    dists, files, reason = share_packages(["nbformat"], venv)
    assert reason == "" and dists >= 4 and files > 50
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    here = Path(sysconfig.get_path("purelib"))
    linked = site / "nbformat" / "__init__.py"
    assert os.stat(linked).st_ino == os.stat(here / "nbformat" / "__init__.py").st_ino  # a link, not a copy
    assert not list((venv / "bin").glob("jupyter*"))  # console scripts name this environment's Python
    out = subprocess.run([str(venv / "bin" / "python"), "-c", "import nbformat; print(nbformat.__file__)"],
                         check=True, capture_output=True, text=True, cwd=tmp_path).stdout
    assert out.startswith(str(site))
    # a second call shares nothing more: every distribution is already there
    assert share_packages(["nbformat"], venv)[:2] == (0, 0)


def _other_python():
    """A python3.X on PATH (pyenv's shims included) of another minor version than this one, or None."""
    import shutil
    for minor in (12, 13, 11, 10):
        candidates = [shutil.which(f"python3.{minor}"),
                      *map(str, sorted(Path.home().glob(f".pyenv/versions/3.{minor}.*/bin/python3.{minor}")))]
        for exe in filter(None, candidates):
            if minor != sys.version_info[1] and subprocess.run([exe, "-c", "pass"], capture_output=True).returncode == 0:
                return exe
    return None


@pytest.mark.skipif(_other_python() is None, reason="needs a Python of another version")
def test_another_python_shares_nothing(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([_other_python(), "-m", "venv", "--without-pip", str(venv)], check=True)
    dists, files, reason = share_packages(["nbformat"], venv)
    assert (dists, files) == (0, 0) and "Python" in reason
