"""A student's JupyterLab shows no instructor tool: the student's set-up (`pip install '.[lab]'`, in
.venv-student: the kernel side, JupyterLab, ipykernel) opens a released notebook without nbgrader's
menu, toolbar button or "Create Assignment" panel. The same page served by the instructor's
environment (`make setup`, nbgrader included) shows them: the test sees what it looks for.

`make test-light` builds .venv-student and sets COURSE_STUDENT_PYTHON; without it the test is skipped."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import lab_settings, screenshot

pytestmark = pytest.mark.skipif(not os.environ.get("COURSE_STUDENT_PYTHON"),
                                reason="COURSE_STUDENT_PYTHON is not set (make test-light sets it)")

REPO = Path(__file__).resolve().parents[2]
NAME = "02_two_moons_mlp.ipynb"
NBGRADER_UI = ("Nbgrader", "Validate", "Create Assignment", "Formgrader", "Assignment List")


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("student")
    proc = subprocess.run([sys.executable, "-m", "course_utils", "release", str(REPO / "notebooks" / NAME),
                           "--out", str(folder)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return folder


def nbgrader_shown(python: str, folder: Path, browser, free_port, serve, tmp_path: Path, label: str) -> list[str]:
    """The nbgrader labels that JupyterLab, run by ``python``, shows with a released notebook open: in its
    menu bar, the notebook's toolbar and the side panels' tabs."""
    port, token = free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    cmd = [python, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}", "--allow-root",
           f"--LabApp.user_settings_dir={lab_settings(tmp_path / 'settings')}",
           f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"]
    with serve(cmd, f"{base}/api/status?token={token}", log=tmp_path / "jupyterlab.log"):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(f"{base}/lab/workspaces/w/tree/{NAME}?reset&token={token}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=120_000)
            page.wait_for_timeout(1500)  # the extensions' menus and panels settle
            shown = " ".join(page.locator(".lm-MenuBar, .jp-NotebookPanel-toolbar, .lm-TabBar").all_inner_texts())
            screenshot(page, f"student_lab_{label}")
        finally:
            page.close()
    return [ui for ui in NBGRADER_UI if ui.lower() in shown.lower()]


def test_a_students_lab_shows_no_nbgrader(released, browser, free_port, serve, tmp_path):
    student = os.path.abspath(os.environ["COURSE_STUDENT_PYTHON"])  # a venv's python is a link: not resolved
    listed = subprocess.run([student, "-m", "pip", "list", "--disable-pip-version-check"], capture_output=True,
                            text=True, timeout=120).stdout.lower()
    assert "jupyterlab" in listed and "nbgrader" not in listed
    assert nbgrader_shown(student, released, browser, free_port, serve, tmp_path / "student", "student") == []
    instructor = nbgrader_shown(sys.executable, released, browser, free_port, serve, tmp_path / "instructor",
                                "instructor")
    assert {"Nbgrader", "Create Assignment"} <= set(instructor), \
        f"the instructor's Lab shows nbgrader's menu and panel (else this test could not see them missing): {instructor}"
