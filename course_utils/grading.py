"""Grading: execute a submitted notebook in a fresh kernel and report each exercise it owes.

What a submission owes comes from the instructor's course model (:mod:`course_utils.course`: the
repository's ``notebooks/`` or ``--instructor DIR``), never from the submission: its metadata only
says which course notebook it is (:meth:`~course_utils.course.Course.match`), so a copy renamed by
Colab, a browser or an LMS is graded as the notebook it is, and one with its headings or metadata
of exercises deleted still owes every exercise.

Results travel the one way :mod:`course_utils.outcome` defines: before the first cell the grader
subscribes a listener that publishes each check's result as display data of a private MIME type,
stamped with a token drawn for this run only. An exercise whose check never ran, or ran only after
the notebook stopped (timeout, dead kernel), is "failed". Like any autograder, grading executes the
submission's code with the grader's rights: grade untrusted work in a sandbox (a container).
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .course import Course, CourseNotebook, Exercise, load_course
from .execute import CELL_TIMEOUT, execute
from .outcome import FAILED, STATUSES, CheckResult

RESULT_MIME = "application/x-course-check+json"
INSTRUCTOR_DIR = Path(__file__).resolve().parents[1] / "notebooks"  # present in the course repository
NOT_SUBMITTED = "not submitted"

_PROLOGUE = '''\
def _course_grader(token, mime):
    from IPython.display import publish_display_data
    from course_utils.outcome import subscribe

    def report(result):
        publish_display_data({mime: {"token": token, "exercise": result.exercise, "status": result.status,
                                     "message": result.message}})
    subscribe(report)


def _forked_copies_exit():
    # A copy of this kernel made by os.fork() in a cell (a fork bomb, or a fork never followed by exec
    # or _exit) would run on as a second kernel on the same sockets, spinning on a core the next
    # submission needs. It exits when the cell it was made in ends; one that an error stops (a fork
    # bomb's copies, once the process limit is reached) formats no traceback, which no one would see
    # (hundreds of copies doing so took about 20 s of both cores), but holds its process slot a
    # second and exits: meanwhile every other copy's fork fails too, so the bomb ends. multiprocessing's
    # forked workers never get there: they handle their own errors and leave through os._exit.
    import os
    import time
    kernel, shell = os.getpid(), get_ipython()

    def end_of_cell(result):
        if os.getpid() != kernel:
            os._exit(1)

    def hold_then_exit(*args, **kwargs):
        time.sleep(1)
        os._exit(1)

    def in_a_copy():
        shell.showtraceback = hold_then_exit
    shell.events.register("post_run_cell", end_of_cell)
    if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
        os.register_at_fork(after_in_child=in_a_copy)


_course_grader(__TOKEN__, __MIME__)
_forked_copies_exit()
del _course_grader, _forked_copies_exit
'''


class GradingError(ValueError):
    """A submission that cannot be graded at all: missing, not a notebook, truncated, not of the course."""


def read_submission(path: Path | str) -> nbformat.NotebookNode:
    """The notebook at ``path``; :class:`GradingError` with a one-line reason if there is none."""
    path = Path(path)
    if not path.exists():
        raise GradingError(f"{path}: no such file")
    if path.is_dir():
        raise GradingError(f"{path}: is a folder, not a notebook")
    from nbformat.reader import NotJSONError
    try:
        nb = nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError, NotJSONError):
        raise GradingError(f"{path}: not a notebook (not JSON; truncated, or a text file?)") from None
    except Exception as e:  # nbformat's own reading errors
        raise GradingError(f"{path}: not a notebook ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
    if not isinstance(nb.get("cells"), list):
        raise GradingError(f"{path}: not a notebook (no cells)")
    return nb


def instructor_course(folder: Path | str | None = None) -> Course:
    """The course a submission is graded against: the instructor notebooks in ``folder`` (default: the
    repository's ``notebooks/``). Where the default folder is absent (a repository made from the
    student release), the course as ``course_utils.checks`` knows it: each notebook's id and the
    exercises its checks grade."""
    if folder is not None and not Path(folder).is_dir():
        raise GradingError(f"--instructor {folder}: no such folder")
    if folder is not None or INSTRUCTOR_DIR.is_dir():
        return load_course(folder or INSTRUCTOR_DIR)
    from .checks import packaged_course
    return Course(INSTRUCTOR_DIR, {cid: CourseNotebook(cid, f"{cid}.ipynb", None, [Exercise(n, "", -1, -1, -1) for n in numbers])
                                   for cid, numbers in packaged_course().items()})


@dataclass
class Submission:
    path: Path
    notebook: nbformat.NotebookNode
    owes: CourseNotebook  # the instructor's model of the course notebook it is


def match_submission(path: Path | str, course: Course) -> Submission:
    """Read ``path`` and find which course notebook it is; :class:`GradingError` if it is none."""
    nb = read_submission(path)
    owes = course.match(nb, path)
    if owes is None:
        raise GradingError(f"{path}: not a notebook of this course (no course id in its metadata, and its file "
                           f"name matches none of {', '.join(m.name for m in course.notebooks.values())})")
    return Submission(Path(path), nb, owes)


def grade_notebook(submission: Submission, timeout: int = CELL_TIMEOUT, *, keep: list | None = None,
                   km=None) -> list[CheckResult]:
    """Execute the submission in a fresh kernel (every cell runs, even after an error) and grade each
    exercise its course notebook owes.

    keep: a list that receives the submission as it ran (outputs, errors, messages), without the
    grader's own first cell and result records: what the student's Run All shows, every cell run.
    km: the kernel manager to run it with (:class:`course_utils.sandbox.SandboxKernelManager`).
    """
    nb = submission.notebook
    expected = submission.owes.numbers
    if not expected:
        return []
    token = secrets.token_hex(16)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        _PROLOGUE.replace("__TOKEN__", repr(token)).replace("__MIME__", repr(RESULT_MIME))))
    run = execute(nb, submission.path.parent, timeout=timeout, allow_errors=True, km=km)
    del nb.cells[0]  # the grader's prologue, which took execution count 1: the cells count from 1, as in Run All
    for cell in nb.cells:
        if cell.cell_type == "code" and isinstance(cell.get("execution_count"), int):
            cell.execution_count -= 1
    results: dict[str, tuple[str, str]] = {}
    for cell in nb.cells:
        records = [out for out in cell.get("outputs", []) if RESULT_MIME in out.get("data", {})]
        for out in records:
            data = out["data"][RESULT_MIME]
            if isinstance(data, dict) and data.get("token") == token:
                results[data["exercise"]] = (data["status"], data.get("message", ""))
        if records:
            cell.outputs = [out for out in cell.outputs if RESULT_MIME not in out.get("data", {})]
    if keep is not None:
        keep.append(nb)
    missing = (f"its self-check did not run: the notebook stopped ({run.error})" if run.stopped
               else "its self-check did not run (the check cell is missing or was not reached)")
    grades = []
    for number in expected:
        status, message = results.get(number, (FAILED, missing))
        if status not in STATUSES:
            status, message = FAILED, f"unknown check status {status!r}"
        grades.append(CheckResult(number, status, message))
    return grades


def write_executed(nb, path: Path) -> Path:
    """Save a notebook kept by :func:`grade_notebook` (progress-bar frames dropped) at ``path``."""
    from .outputs import drop_progress_bars
    drop_progress_bars(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


HEADER = ("notebook", "exercise", "result", "message")


def format_row(notebook: str, exercise: str, status: str, message: str, width: int = 32) -> str:
    """One line of the grade table (the header is the same call with :data:`HEADER`)."""
    return f"{notebook:<{width}} {exercise:<8} {status:<14} {message}".rstrip()
