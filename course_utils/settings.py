"""Every constant and environment variable the course's two sides share, defined once.

Standard library only: a student's kernel (data, tracking) and the instructor's tools (execution,
grading, the sandbox) both read it.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent  # course_utils/
REPO_DIR = PACKAGE_DIR.parent  # the checkout (or site-packages, where the course is installed)

# --- where things live
DATA_DIR_ENV = "COURSE_DATA_DIR"  # the folder holding FashionMNIST/
RUNS_DIR_ENV = "COURSE_RUNS_DIR"  # where notebooks keep their runs
RUNS_DIR_DEFAULT = "runs"  # beside the notebook: a notebook writes nothing outside its folder


def data_root() -> Path:
    """The folder holding ``FashionMNIST/``: ``$COURSE_DATA_DIR``; else the checkout's ``data/``; else
    ``data/`` in the working folder (an installed course)."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    if (REPO_DIR / "pyproject.toml").is_file():
        return REPO_DIR / "data"
    return Path.cwd() / "data"


def runs_root() -> Path:
    """Where notebooks keep their runs: ``$COURSE_RUNS_DIR`` when set, else ``runs/`` in the working folder."""
    return Path(os.environ.get(RUNS_DIR_ENV) or RUNS_DIR_DEFAULT)


# --- executing notebooks
KERNEL_NAME = "python3"
CELL_TIMEOUT = 600  # seconds a cell may run: make run, check, grading, nbval (conftest.py), nbgrader's config
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")

# --- grading
SANDBOX_MEMORY = 8 * 2**30  # bytes of address space per kernel (importing PyTorch alone reserves about 3.5 GB)
SANDBOX_PROCESSES = 256  # processes and threads of a sandboxed kernel's user
GRADING_SECRET_ENV = "COURSE_GRADING_SECRET"  # the key of the seeds a grader draws (never in a submission)
