"""Grading: execute a submitted notebook in a fresh kernel and report each exercise.

The exercises expected of a notebook come from the instructor's notebook of the same name (the
repository's ``notebooks/`` or ``--instructor DIR``), else from :data:`course_utils.expected.EXPECTED`
(shipped with the package, generated from the instructor notebooks and tested to match them): a
submission with its headings deleted is still graded on every exercise.

Results travel through a channel the submission's code does not write to by accident: before the
first cell the grader wraps every ``course_utils.checks`` check so that each call publishes its
outcome as display data of a private MIME type, stamped with a token drawn for this run only. An
exercise whose check never ran, or ran only after the notebook stopped (timeout, dead kernel), is
"failed". Like any autograder, grading executes the submission's code with the grader's rights:
grade untrusted work in a sandbox (a container).
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .exercises import FAILED, NOT_ATTEMPTED, PASSED, exercises_in
from .execute import execute

RESULT_MIME = "application/x-course-check+json"
INSTRUCTOR_DIR = Path(__file__).resolve().parents[1] / "notebooks"  # present in the course repository

_PROLOGUE = '''\
def _course_grader(token, mime):
    from IPython.display import publish_display_data
    from course_utils.student import watch_checks

    def report(exercise, status, message):
        publish_display_data({mime: {"token": token, "exercise": exercise, "status": status, "message": message}})
    watch_checks(report)


_course_grader(__TOKEN__, __MIME__)
del _course_grader
'''


class GradingError(ValueError):
    """A submission that cannot be graded at all: missing, not a notebook, truncated."""


@dataclass(frozen=True)
class Grade:
    exercise: str
    status: str  # passed / failed / not attempted
    message: str = ""


def read_submission(path: Path | str) -> nbformat.NotebookNode:
    """The notebook at ``path``; :class:`GradingError` with a one-line reason if there is none."""
    path = Path(path)
    if not path.exists():
        raise GradingError(f"{path}: no such file")
    if path.is_dir():
        raise GradingError(f"{path}: is a folder, not a notebook")
    try:
        nb = nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise GradingError(f"{path}: not a notebook (not JSON; truncated, or a text file?)") from None
    except Exception as e:  # nbformat's own reading errors
        raise GradingError(f"{path}: not a notebook ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
    if not isinstance(nb.get("cells"), list):
        raise GradingError(f"{path}: not a notebook (no cells)")
    return nb


def expected_exercises(name: str, instructor_dir: Path | None = INSTRUCTOR_DIR) -> list[str]:
    """Exercise numbers expected of the notebook called ``name`` ([] if it has none or is unknown)."""
    if instructor_dir is not None and (Path(instructor_dir) / name).is_file():
        return [e.number for e in exercises_in(nbformat.read(Path(instructor_dir) / name, as_version=4))]
    from .expected import EXPECTED
    return list(EXPECTED.get(name, []))


def grade_notebook(path: Path | str, timeout: int = 600, *, instructor_dir: Path | None = INSTRUCTOR_DIR,
                   keep: list | None = None) -> list[Grade]:
    """Execute the notebook at ``path`` in a fresh kernel (every cell runs, even after an error) and
    grade each expected exercise. Raises :class:`GradingError` if ``path`` holds no notebook.

    keep: a list that receives the submission as it ran (outputs, errors, messages), without the
    grader's own first cell and result records: what the student's Run All shows, every cell run.
    """
    path = Path(path)
    nb = read_submission(path)
    expected = expected_exercises(path.name, instructor_dir)
    if not expected:
        return []
    token = secrets.token_hex(16)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        _PROLOGUE.replace("__TOKEN__", repr(token)).replace("__MIME__", repr(RESULT_MIME))))
    run = execute(nb, path.parent, timeout=timeout, allow_errors=True)
    del nb.cells[0]  # the grader's prologue
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
        if status not in (PASSED, FAILED, NOT_ATTEMPTED):
            status, message = FAILED, f"unknown check status {status!r}"
        grades.append(Grade(number, status, message))
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


# ---------------------------------------------------------------- the list shipped in the package

EXPECTED_MODULE = Path(__file__).resolve().parent / "expected.py"


def expected_from(instructor_dir: Path | str = INSTRUCTOR_DIR) -> dict[str, list[str]]:
    """{notebook name: its exercise numbers} for the instructor notebooks that have exercises."""
    found = {}
    for path in sorted(Path(instructor_dir).glob("*.ipynb")):
        numbers = [e.number for e in exercises_in(nbformat.read(path, as_version=4))]
        if numbers:
            found[path.name] = numbers
    return found


def expected_module_text(expected: dict[str, list[str]]) -> str:
    """The source of ``course_utils/expected.py`` for ``expected``."""
    body = "".join(f"    {name!r}: {numbers!r},\n" for name, numbers in expected.items())
    return ('"""Exercises expected of each course notebook, for grading where no instructor notebook is at hand.\n\n'
            "Generated from the instructor notebooks by ``python -m course_utils.grading``; a test keeps it in step.\n"
            '"""\n\n'
            f"EXPECTED: dict[str, list[str]] = {{\n{body}}}\n")


if __name__ == "__main__":  # python -m course_utils.grading: regenerate course_utils/expected.py
    EXPECTED_MODULE.write_text(expected_module_text(expected_from()), encoding="utf-8")
    print(f"wrote {EXPECTED_MODULE}")
