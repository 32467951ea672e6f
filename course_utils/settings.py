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


def checkout_file(name: str) -> Path | None:
    """A file of the course checkout beside the package (``environment.yml``, ``.gitignore``), or None
    where the course is installed (site-packages: Colab, Kaggle, a hub) and there is no checkout."""
    path = REPO_DIR / name
    return path if (REPO_DIR / "pyproject.toml").is_file() and path.is_file() else None


def data_root() -> Path:
    """The folder holding ``FashionMNIST/``: ``$COURSE_DATA_DIR``; else the checkout's ``data/``; else
    ``data/`` in the hosted runtime's folder that survives the most (:func:`hosted_root`); else ``data/``
    in the working folder (an installed course)."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    if (REPO_DIR / "pyproject.toml").is_file():
        return REPO_DIR / "data"
    return (hosted_root() or Path.cwd()) / "data"


def runs_root() -> Path:
    """Where notebooks keep their runs: ``$COURSE_RUNS_DIR`` when set, else ``runs/`` in the working folder."""
    return Path(os.environ.get(RUNS_DIR_ENV) or RUNS_DIR_DEFAULT)


# --- hosted runtimes (README, "Open it in Colab, Kaggle or your JupyterHub")
# The folder of each that keeps files the longest: Colab's /content survives a restart of the runtime but
# not a new session; Kaggle's /kaggle/working survives within a session (and is saved with a version).
HOSTED_ROOTS = {"Colab": "/content", "Kaggle": "/kaggle/working"}


def runtime(environ: dict | None = None) -> str:
    """Where the kernel runs: "Colab", "Kaggle", "JupyterHub", "VS Code" or "local", from the variables
    each platform sets in its kernels."""
    env = os.environ if environ is None else environ
    if "COLAB_RELEASE_TAG" in env or "COLAB_GPU" in env:
        return "Colab"
    if "KAGGLE_KERNEL_RUN_TYPE" in env or "KAGGLE_URL_BASE" in env:
        return "Kaggle"
    if "JUPYTERHUB_USER" in env or "JUPYTERHUB_API_URL" in env:
        return "JupyterHub"
    if "VSCODE_PID" in env or "VSCODE_CWD" in env or "VSCODE_IPC_HOOK_CLI" in env:
        return "VS Code"
    return "local"


def hosted_root() -> Path | None:
    """The folder of a hosted runtime where data and runs survive the most, or None elsewhere."""
    root = HOSTED_ROOTS.get(runtime())
    return Path(root) if root and Path(root).is_dir() else None


# --- where students get the course (docs/teaching.md, "Colab, Kaggle and hubs")
# The repository made from the student release (never this one, whose notebooks/ hold the solutions).
# Badges and the first cell's install line name one of its tags.
STUDENT_REPOSITORY_ENV = "COURSE_STUDENT_REPOSITORY"
STUDENT_REPOSITORY = "https://github.com/ee541/unit1-student"
STUDENT_FOLDER = "student"  # where the released notebooks lie in it


def student_repository() -> str:
    """The student repository's URL: ``$COURSE_STUDENT_REPOSITORY``, else :data:`STUDENT_REPOSITORY`."""
    return os.environ.get(STUDENT_REPOSITORY_ENV) or STUDENT_REPOSITORY


# --- executing notebooks
KERNEL_NAME = "python3"
CELL_TIMEOUT = 600  # seconds a cell may run: make run, check, grading, nbval (conftest.py), nbgrader's config
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")

# --- grading
SANDBOX_MEMORY = 8 * 2**30  # bytes of address space per kernel (importing PyTorch alone reserves about 3.5 GB)
SANDBOX_PROCESSES = 256  # processes and threads of a sandboxed kernel's user
GRADING_SECRET_ENV = "COURSE_GRADING_SECRET"  # the key of the seeds a grader draws (never in a submission)
