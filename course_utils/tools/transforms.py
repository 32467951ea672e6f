"""Notebook transforms: small named steps that the student release and the nbgrader export chain.

Each step is a function ``step(nb, model) -> None`` that changes ``nb`` (a copy of the instructor
notebook) in place, reading what it needs from ``model`` (its :class:`~.course.CourseNotebook`, whose
cell indices still match ``nb``'s: no step adds or removes cells). :func:`apply` runs a chain.
"""
from __future__ import annotations

from typing import Callable

from .course import COLLAPSED, KEY, SKIP_TAG, CourseNotebook

Step = Callable[[object, CourseNotebook], None]
KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info", KEY)  # nothing else of the instructor's metadata travels


def apply(nb, model: CourseNotebook, steps: list[Step]) -> None:
    """Run ``steps`` on ``nb`` in order."""
    for step in steps:
        step(nb, model)


def keep_notebook_metadata(nb, model: CourseNotebook) -> None:
    """Only the kernel, the language and the course id stay in the notebook's metadata."""
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in KEEP_NOTEBOOK_METADATA}


def keep_cell_metadata(*, nbval_tags: bool) -> Step:
    """Only ``tags`` and the course metadata stay on each cell (without nbval's tags unless ``nbval_tags``)."""
    def keep_cell_metadata(nb, model: CourseNotebook) -> None:
        for cell in nb.cells:
            tags = [t for t in cell.metadata.get("tags", []) if nbval_tags or not t.startswith("nbval")]
            cell.metadata = {k: v for k, v in (("tags", tags), (KEY, cell.metadata.get(KEY))) if v}
    return keep_cell_metadata


def fold_going_further(nb, model: CourseNotebook) -> None:
    """Each going-further section's heading cell gets JupyterLab's collapsed-heading flag: a student sees
    the section folded (Colab ignores the flag; the heading still says "Going further")."""
    for section in model.going_further:
        nb.cells[section.heading].metadata[COLLAPSED] = True


def clear_outputs(nb, model: CourseNotebook) -> None:
    """No outputs and no execution counts."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None


def tag_raises_exception(nb, model: CourseNotebook) -> None:
    """Every code cell after the first solution cell, solutions excepted, gets the ``raises-exception``
    tag: Run All (JupyterLab, nbclient) goes on past it when it fails (a wrong answer's check, a cell
    that uses an unfinished exercise, a student's error)."""
    solutions = {e.solution for e in model.exercises}
    first = min(solutions, default=len(nb.cells))
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and index > first and index not in solutions \
                and SKIP_TAG not in cell.metadata.get("tags", []):
            cell.metadata["tags"] = list(cell.metadata.get("tags", [])) + [SKIP_TAG]


def prepend_lines(where: Callable[[CourseNotebook], dict[int, str]]) -> Step:
    """A step putting a line first in some cells: ``where(model)`` gives {cell index: line}."""
    def prepend(nb, model: CourseNotebook) -> None:
        for index, line in where(model).items():
            nb.cells[index].source = line + "\n" + nb.cells[index].source if nb.cells[index].source else line
    return prepend


def append_lines(where: Callable[[CourseNotebook], dict[int, str]]) -> Step:
    """A step putting a line last in some cells: ``where(model)`` gives {cell index: line}."""
    def append(nb, model: CourseNotebook) -> None:
        for index, line in where(model).items():
            source = nb.cells[index].source.rstrip("\n")
            nb.cells[index].source = source + "\n" + line if source else line
    return append


def first_code_cell(model: CourseNotebook) -> int | None:
    return next((i for i, c in enumerate(model.notebook.cells) if c.cell_type == "code"), None)
