"""Small course notebooks for tests, built with the course model's metadata (course_utils.tools.course)."""
from __future__ import annotations

import textwrap

import nbformat
from wrong_answers import blocks

from course_utils.tools.course import KEY, SOLUTION, STUB_COMMENT, cell_meta


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


def fill(nb, answers: dict[str, str]) -> dict[str, int]:
    """Replace each stub of the exercises in ``answers`` by the answer (one part per block, re-indented
    to the stub's indentation); the solution cells are the ones the course model names.
    Returns {exercise: index of its solution cell}."""
    where = {}
    for index, cell in enumerate(nb.cells):
        meta = cell_meta(cell)
        number = meta.get("exercise") if meta.get("part") == SOLUTION else None
        if number not in answers:
            continue
        parts, lines, out = blocks(answers[number]), cell.source.splitlines(), []
        i = 0
        while i < len(lines):
            if lines[i].strip() == STUB_COMMENT and "raise NotImplementedError" in lines[i + 1]:
                indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
                out += textwrap.indent(textwrap.dedent(parts.pop(0)), indent).splitlines()
                i += 2
            else:
                out.append(lines[i])
                i += 1
        assert not parts, f"Exercise {number}: more answer parts than stubs"
        cell.source = "\n".join(out)
        where[number] = index
    return where
