"""The exercise format, written in one place for the release, student mode and grading.

An instructor notebook announces an exercise with a markdown heading ``### Exercise N.k · title``,
then holds the answer in ONE code cell between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
lines (several blocks in that cell are fine), then a cell calling a ``course_utils.checks`` check.

- :mod:`course_utils.release` turns instructor notebooks into student notebooks;
- :mod:`course_utils.student` is the kernel side: :func:`student_mode` (imported here too, so the
  line the release writes into notebooks, :data:`STUDENT_MODE_LINE`, keeps working);
- :mod:`course_utils.grading` executes notebooks and grades their exercises.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# Anything that looks like a marker: any case, any number of '#', separators, trailing text.
MARKER_LIKE = re.compile(r"^\s*#+\s*(begin|end)[\s_-]*solution\b", re.I)
HEADING = re.compile(r"^#{1,6}\s*Exercise\s+(\d+\.\d+)\s*[·:—–-]?\s*(.*)$", re.M)  # a markdown heading
CHECKS_HEADING = re.compile(r"^#{1,6}\s*Checks\b", re.M)  # the notebook's final "Checks" section

STUB_COMMENT = "# YOUR CODE HERE"
STUB_EXERCISE = re.compile(r"^Exercise (\d+\.\d+)\b")  # parses what stub_message writes

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"  # the statuses of a check

SKIP_TAG = "raises-exception"  # JupyterLab's Run All and nbclient run on past a failing cell with this tag
RELEASE_KEY = "course_release"  # notebook metadata: {"sha256": hash of the released cell sources}
KEEP_CELL_METADATA = ("tags",)
KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info", RELEASE_KEY)
STUDENT_MODE_LINE = "from course_utils.student import student_mode; student_mode()  # how errors are shown"
CHECKS_LINE = "from course_utils.student import require_exercises; require_exercises({numbers})"


class ReleaseError(ValueError):
    """Malformed exercise layout or markers, or solution lines found outside their exercise."""


@dataclass(frozen=True)
class Exercise:
    number: str  # "4.1"
    title: str


def stub_message(exercise: Exercise) -> str:
    """The NotImplementedError message of a stub: "Exercise 4.1: The backward pass"."""
    return f"Exercise {exercise.number}: {exercise.title}" if exercise.title else f"Exercise {exercise.number}"


def headings(source: str) -> list[Exercise]:
    """The exercises announced by the markdown ``source``, in order."""
    return [Exercise(m.group(1), m.group(2).strip(" #*")) for m in HEADING.finditer(source)]


def exercises_in(nb) -> list[Exercise]:
    """The exercises a notebook announces in markdown headings, in order, each once."""
    found: dict[str, Exercise] = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for exercise in headings(cell.source):
                found.setdefault(exercise.number, exercise)
    return list(found.values())


def solution_blocks(source: str, where: str) -> list[tuple[int, int]]:
    """(begin, end) 0-based line indices of each solution block in a code cell's ``source``.

    Raises :class:`ReleaseError` naming ``where`` and the line for anything marker-like that is not
    exactly a marker, and for unclosed, nested or unopened blocks.
    """
    blocks, start = [], None
    for i, line in enumerate(source.splitlines()):
        stripped = line.strip()
        if MARKER_LIKE.match(line) and stripped not in (BEGIN, END):
            raise ReleaseError(f"{where}, line {i + 1}: {stripped!r} is not a marker; write exactly "
                               f"{BEGIN!r} or {END!r} on a line of its own")
        if stripped == BEGIN:
            if start is not None:
                raise ReleaseError(f"{where}, line {i + 1}: nested {BEGIN} (the block opened at line {start + 1} is not closed)")
            start = i
        elif stripped == END:
            if start is None:
                raise ReleaseError(f"{where}, line {i + 1}: {END} without a {BEGIN}")
            blocks.append((start, i))
            start = None
    if start is not None:
        raise ReleaseError(f"{where}, line {start + 1}: {BEGIN} is never closed")
    return blocks


def marker_lines(source: str) -> list[int]:
    """1-based numbers of the lines of ``source`` that look like solution markers."""
    return [i for i, line in enumerate(source.splitlines(), start=1) if MARKER_LIKE.match(line)]


def __getattr__(name: str):  # student_mode lives in .student; imported lazily (no IPython needed here)
    if name == "student_mode":
        from .student import student_mode
        return student_mode
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
