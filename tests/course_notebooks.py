"""Small course notebooks for tests, built with the course model's metadata (course_utils.course)."""
from __future__ import annotations

import nbformat

from course_utils.course import KEY


def md(source: str, **course) -> tuple:
    return ("md", source, course)


def code(source: str, **course) -> tuple:
    return ("code", source, course)


def statement(number: str, title: str, text: str = "") -> tuple:
    return md(f"### Exercise {number} · {title}" + (f"\n\n{text}" if text else ""), exercise=number, part="statement",
              title=title)


def solution(number: str, source: str) -> tuple:
    return code(source, exercise=number, part="solution")


def check(number: str, source: str) -> tuple:
    return code(source, exercise=number, part="check")


def make_nb(*cells, id: str | None = "99_test") -> nbformat.NotebookNode:
    """A notebook of ``cells`` (from the functions above, or (kind, source) pairs) with course id ``id``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if id is not None:
        nb.metadata[KEY] = {"id": id}
    for kind, source, *course in cells:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        if course and course[0]:
            cell.metadata[KEY] = dict(course[0])
        nb.cells.append(cell)
    return nb
