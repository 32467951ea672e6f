"""Sandboxed grading reads the data from COURSE_DATA_DIR, wherever it is: the sandbox binds that folder
read-only (and not the repository's data/), and passes the variable to the kernel."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from course_utils.settings import DATA_DIR_ENV
from course_utils.tools.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]


def test_the_sandbox_binds_the_data_folder_of_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()
    box = Sandbox(tmp_path / "work")
    assert (tmp_path / "elsewhere").resolve() in box.readonly and REPO / "data" not in box.readonly
    assert box.environment()[DATA_DIR_ENV] == str((tmp_path / "elsewhere").resolve())
    args = box.wrap(["python"], tmp_path / "ipc")
    assert ["--ro-bind", str((tmp_path / "elsewhere").resolve()), str((tmp_path / "elsewhere").resolve())] in \
        [args[i:i + 3] for i in range(len(args) - 2)]


# Notebook 05 graded in the sandbox with the data outside the repository: the first Run All of the whole
# release in tests/test_student_experience.py (fixture as_released) runs `check --sandbox` that way.


def test_a_data_folder_the_kernels_user_cannot_read_is_named(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("not root: the kernel runs as the grader's own user and reads what the grader reads")
    (tmp_path / "private").mkdir(mode=0o700)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "private"))
    assert Sandbox(tmp_path / "work").unreadable() == [(tmp_path / "private").resolve()]
    (tmp_path / "private").chmod(0o755)
    assert Sandbox(tmp_path / "work").unreadable() == []
