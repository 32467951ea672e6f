"""The course model: what the tools know about a course notebook, read from its own metadata.

A course notebook says what it is in metadata under the key ``"course"`` (kept by Jupyter, the
release, the nbgrader export and a student's renamed copy):

- notebook metadata ``{"id": "02_two_moons_mlp"}``: which course notebook this is;
- an exercise is three cells, in this order:
  ``{"exercise": "2.1", "part": "statement", "title": "Where is the line?"}`` (markdown),
  ``{"exercise": "2.1", "part": "solution"}`` (code: the answer between :data:`BEGIN` and
  :data:`END` lines, one block or several) and ``{"exercise": "2.1", "part": "check"}`` (code: the
  self-check);
- ``{"needs": ["2.1"]}``: a later code cell that uses an exercise's result (the student release
  skips it whole until that exercise's check passes);
- ``{"checks": true}``: a cell of the notebook's final Checks section;
- ``{"ignore_output": "why"}``: a cell whose outputs nbval does not compare (it also carries the
  tag :data:`IGNORE_TAG`, which is what nbval reads);
- ``{"going_further": true}``: the heading cell of a section a student may skip (its heading says
  "Going further"); the section runs to the next heading of the same or a higher level. The release
  and ``make run``'s copies show it folded in JupyterLab (:data:`COLLAPSED`);
- ``{"listing": true}``: a code cell that is one of the lecture's own listings, kept whole however long.

:func:`read_model` validates all of it and raises :class:`CourseError` naming the cell. The tools find
cells through this model; only a submission that lost its metadata is matched by its file name
(:meth:`Course.match`), and grading finds an exercise's answer by the name the model gives it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..student import NEEDS_LINE, STUB  # noqa: F401  (the kernel side's; the release writes, student mode reads)

if TYPE_CHECKING:  # nbformat is imported only where a notebook is read
    import nbformat

KEY = "course"
STATEMENT, SOLUTION, CHECK = "statement", "solution", "check"
PARTS = (STATEMENT, SOLUTION, CHECK)
CELL_KEYS = {"exercise", "part", "title", "needs", "checks", "ignore_output", "going_further", "listing"}
GOING_FURTHER = "Going further"  # what a going-further section's heading says (Colab ignores the fold)
COLLAPSED = "jp-MarkdownHeadingCollapsed"  # the cell metadata JupyterLab 4 folds a heading's section by
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# Anything that looks like a marker: any case, any number of '#', separators, trailing text.
MARKER_LIKE = re.compile(r"^\s*#+\s*(begin|end)[\s_-]*solution\b", re.I)
NUMBER = re.compile(r"\d+\.\d+")
STUB_COMMENT = "# YOUR CODE HERE"

IGNORE_TAG = "nbval-ignore-output"  # nbval: run the cell, do not compare its outputs
EXCLUDING_TAGS = (IGNORE_TAG, "nbval-skip")
SKIP_TAG = "raises-exception"  # JupyterLab's Run All and nbclient run on past a failing cell with this tag


class CourseError(ValueError):
    """A course notebook whose metadata or solution markers break the model; the message names the cell."""


@dataclass(frozen=True)
class Exercise:
    number: str  # "4.1"
    title: str
    statement: int  # 0-based cell indices
    solution: int
    check: int
    defines: str = ""  # the function or class the answer is: what a check is given, found by this name


    @property
    def stub_message(self) -> str:
        """The NotImplementedError message of its stub: "Exercise 4.1: The backward pass"."""
        return f"Exercise {self.number}: {self.title}"

    @property
    def grade_id(self) -> str:
        """nbgrader's id stem: ``ex4_1``."""
        return f"ex{self.number.replace('.', '_')}"


@dataclass(frozen=True)
class Section:
    """A section of a notebook: its heading cell and the cells up to the next heading of its level or higher."""

    title: str  # the heading's text, without the '#'s
    heading: int  # 0-based index of the heading cell
    end: int  # one past its last cell

    @property
    def cells(self) -> range:
        return range(self.heading, self.end)


def heading_level(cell) -> int | None:
    """The level of a markdown cell's heading (its first line), or None."""
    if cell.get("cell_type") != "markdown":
        return None
    match = HEADING.match((cell.get("source", "").lstrip().splitlines() or [""])[0])
    return len(match.group(1)) if match else None


@dataclass
class CourseNotebook:
    """One validated course notebook: its id, exercises and the cells the tools treat specially."""

    id: str
    name: str  # where it was read from (messages)
    notebook: nbformat.NotebookNode
    exercises: list[Exercise] = field(default_factory=list)
    needs: dict[int, tuple[str, ...]] = field(default_factory=dict)  # cell index -> exercise numbers
    checks: list[int] = field(default_factory=list)  # cells of the final Checks section
    ignored: dict[int, str] = field(default_factory=dict)  # cell index -> why nbval does not compare it
    going_further: list[Section] = field(default_factory=list)  # the sections a student may skip
    listings: list[int] = field(default_factory=list)  # code cells that are the lecture's own listings

    def in_going_further(self, index: int) -> bool:
        return any(index in s.cells for s in self.going_further)

    @property
    def numbers(self) -> list[str]:
        return [e.number for e in self.exercises]

    def exercise(self, number: str) -> Exercise:
        return next(e for e in self.exercises if e.number == number)

    def solution_blocks(self, exercise: Exercise) -> list[tuple[int, int]]:
        """(begin, end) 0-based line indices of the exercise's solution blocks."""
        return solution_blocks(self.notebook.cells[exercise.solution].source, self.where(exercise.solution))

    def where(self, index: int) -> str:
        return f"{self.name}, cell {index + 1}"


def cell_meta(cell) -> dict:
    """A cell's course metadata ({} if it has none)."""
    meta = cell.get("metadata", {}).get(KEY, {})
    return meta if isinstance(meta, dict) else {}


def course_id(nb) -> str | None:
    """The course id a notebook's metadata carries, or None (no validation: any submission)."""
    meta = nb.get("metadata", {}).get(KEY, {})
    value = meta.get("id") if isinstance(meta, dict) else None
    return value if isinstance(value, str) and value else None


def solution_blocks(source: str, where: str) -> list[tuple[int, int]]:
    """(begin, end) 0-based line indices of each solution block in a code cell's ``source``.

    Raises :class:`CourseError` naming ``where`` and the line for anything marker-like that is not
    exactly a marker, and for unclosed, nested or unopened blocks.
    """
    blocks, start = [], None
    for i, line in enumerate(source.splitlines()):
        stripped = line.strip()
        if MARKER_LIKE.match(line) and stripped not in (BEGIN, END):
            raise CourseError(f"{where}, line {i + 1}: {stripped!r} is not a marker; write exactly "
                              f"{BEGIN!r} or {END!r} on a line of its own")
        if stripped == BEGIN:
            if start is not None:
                raise CourseError(f"{where}, line {i + 1}: nested {BEGIN} (the block opened at line {start + 1} is not closed)")
            start = i
        elif stripped == END:
            if start is None:
                raise CourseError(f"{where}, line {i + 1}: {END} without a {BEGIN}")
            blocks.append((start, i))
            start = None
    if start is not None:
        raise CourseError(f"{where}, line {start + 1}: {BEGIN} is never closed")
    return blocks


def defined_answer(source: str, where: str) -> str:
    """The name of the top-level function or class of a solution cell that holds its (first) solution
    block: the object the exercise's check is given, and the name the grader finds it by."""
    import ast
    first = solution_blocks(source, where)[0][0] + 1  # 1-based line of the first BEGIN marker
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise CourseError(f"{where}: the solution cell does not parse ({e.msg}, line {e.lineno})") from None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.lineno <= first <= node.end_lineno:
            return node.name
    raise CourseError(f"{where}: the solution block is not inside a top-level def or class; the exercise's answer "
                      "is the function or class that holds it")


def _marker_lines(source: str) -> list[int]:
    return [i for i, line in enumerate(source.splitlines(), start=1) if MARKER_LIKE.match(line)]


def read_model(nb, name: str = "notebook") -> CourseNotebook:
    """The validated model of course notebook ``nb``; :class:`CourseError` for anything malformed."""
    cid = course_id(nb)
    if cid is None:
        raise CourseError(f"{name}: no course id in the notebook's metadata ({{{KEY!r}: {{'id': ...}}}})")
    model = CourseNotebook(cid, name, nb)
    parts: dict[str, dict[str, int]] = {}
    titles: dict[str, str] = {}
    for index, cell in enumerate(nb.cells):
        where = model.where(index)
        meta = cell_meta(cell)
        unknown = set(meta) - CELL_KEYS
        if unknown:
            raise CourseError(f"{where}: unknown course metadata {sorted(unknown)} (known: {sorted(CELL_KEYS)})")
        part, number = meta.get("part"), meta.get("exercise")
        if (part is None) != (number is None):
            raise CourseError(f"{where}: 'exercise' and 'part' go together (got {meta})")
        if part is not None:
            if part not in PARTS:
                raise CourseError(f"{where}: part {part!r} is none of {PARTS}")
            if not isinstance(number, str) or not NUMBER.fullmatch(number):
                raise CourseError(f"{where}: exercise {number!r} is not a number like '2.1'")
            kind = "markdown" if part == STATEMENT else "code"
            if cell.cell_type != kind:
                raise CourseError(f"{where}: Exercise {number}'s {part} must be a {kind} cell, not {cell.cell_type}")
            if part in parts.setdefault(number, {}):
                raise CourseError(f"{where}: a second {part} cell for Exercise {number} "
                                  f"(the first is cell {parts[number][part] + 1})")
            order = PARTS.index(part)
            if any(PARTS.index(p) > order for p in parts[number]) or (order and PARTS[order - 1] not in parts[number]):
                raise CourseError(f"{where}: Exercise {number}'s cells must come in the order {', '.join(PARTS)}")
            parts[number][part] = index
            if part == STATEMENT:
                title = meta.get("title")
                if not isinstance(title, str) or not title.strip():
                    raise CourseError(f"{where}: Exercise {number}'s statement needs a 'title'")
                if f"Exercise {number}" not in cell.source:
                    raise CourseError(f"{where}: the statement of Exercise {number} must say 'Exercise {number}'")
                titles[number] = title.strip()
        markers = _marker_lines(cell.source)
        if part == SOLUTION:
            if not solution_blocks(cell.source, where):
                raise CourseError(f"{where}: Exercise {number}'s solution cell has no {BEGIN} ... {END} block")
        elif markers:
            raise CourseError(f"{where}, line {markers[0]}: solution marker outside an exercise's solution cell")
        if "needs" in meta:
            needs = meta["needs"]
            if cell.cell_type != "code" or not isinstance(needs, list) or not needs:
                raise CourseError(f"{where}: 'needs' is a non-empty list of exercise numbers on a code cell")
            for n in needs:
                if CHECK not in parts.get(n, {}):
                    raise CourseError(f"{where}: needs Exercise {n}, whose check cell is not above it in this notebook")
            model.needs[index] = tuple(needs)
        if meta.get("checks"):
            if cell.cell_type != "code":
                raise CourseError(f"{where}: 'checks' marks a code cell of the Checks section")
            model.checks.append(index)
        tags = cell.get("metadata", {}).get("tags", [])
        excluded = [t for t in tags if t in EXCLUDING_TAGS]
        reason = meta.get("ignore_output")
        if excluded and not (isinstance(reason, str) and reason.strip()):
            raise CourseError(f"{where}: tagged {excluded[0]} without a reason ('ignore_output' in its course metadata)")
        if reason is not None and not excluded:
            raise CourseError(f"{where}: an 'ignore_output' reason without the {IGNORE_TAG} tag")
        if reason is not None:
            model.ignored[index] = reason
        if meta.get("going_further"):
            level = heading_level(cell)
            if level is None or GOING_FURTHER.lower() not in cell.source.splitlines()[0].lower():
                raise CourseError(f"{where}: 'going_further' marks a markdown heading cell whose heading says "
                                  f"{GOING_FURTHER!r}")
            end = next((j for j in range(index + 1, len(nb.cells))
                        if (heading_level(nb.cells[j]) or 7) <= level), len(nb.cells))
            title = HEADING.match(cell.source.lstrip().splitlines()[0]).group(2).strip()
            model.going_further.append(Section(title, index, end))
        if meta.get("listing"):
            if cell.cell_type != "code":
                raise CourseError(f"{where}: 'listing' marks a code cell (one of the lecture's listings)")
            model.listings.append(index)
    for number, found in parts.items():
        missing = [p for p in PARTS if p not in found]
        if missing:
            raise CourseError(f"{name}: Exercise {number} has no {' or '.join(missing)} cell")
        where = model.where(found[SOLUTION])
        defines = defined_answer(nb.cells[found[SOLUTION]].source, where)
        model.exercises.append(Exercise(number, titles[number], found[STATEMENT], found[SOLUTION], found[CHECK], defines))
    model.exercises.sort(key=lambda e: e.statement)
    return model


def read_notebook(path: Path | str) -> nbformat.NotebookNode:
    """nbformat's reading of ``path`` (as version 4)."""
    import nbformat
    return nbformat.read(path, as_version=4)


def notebooks_in(folder: Path) -> list[Path]:
    """The notebooks a folder stands for: its ``*.ipynb``, without the ``NAME.new.ipynb`` a release
    writes beside a student's changed notebook, and without checkpoints."""
    return sorted(p for p in Path(folder).glob("*.ipynb") if not p.name.endswith(".new.ipynb"))


@dataclass
class Course:
    """The instructor's course: every course notebook of a folder, by id."""

    folder: Path
    notebooks: dict[str, CourseNotebook]  # id -> model, in file order

    @property
    def exercises(self) -> list[tuple[CourseNotebook, Exercise]]:
        return [(m, e) for m in self.notebooks.values() for e in m.exercises]

    def owner(self, number: str) -> CourseNotebook | None:
        return next((m for m in self.notebooks.values() if number in m.numbers), None)

    def to_json(self) -> str:
        """The model without the notebooks themselves: each notebook's id and file name, and each
        exercise's number, title and answer name. What a repository made from the student release
        grades against (the release writes it as :data:`MODEL_FILE`)."""
        return json.dumps({"notebooks": [{"id": m.id, "name": m.name, "exercises": [
            {"number": e.number, "title": e.title, "defines": e.defines} for e in m.exercises]}
            for m in self.notebooks.values()]}, indent=1, ensure_ascii=False) + "\n"

    def match(self, nb, path: Path | str) -> CourseNotebook | None:
        """The course notebook a submission is: by the id in its metadata; only a copy that has lost
        its metadata falls back to its file name, without "Copy of " and " (N)"."""
        cid = course_id(nb)
        if cid is not None:
            return self.notebooks.get(cid)
        stem = plain_stem(Path(path).name)
        return next((m for m in self.notebooks.values() if m.id == stem or Path(m.name).stem == stem), None)


_COPY = re.compile(r"^(?:copy of\s+)+", re.I)
_NUMBERED = re.compile(r"\s*\(\d+\)$")


def plain_stem(file_name: str) -> str:
    """A notebook file name as the course named it: "Copy of 02_x (1).ipynb" -> "02_x"."""
    stem = file_name[: -len(".ipynb")] if file_name.endswith(".ipynb") else file_name
    stem = _COPY.sub("", stem.strip())
    while _NUMBERED.search(stem):
        stem = _NUMBERED.sub("", stem)
    return stem.strip()


MODEL_FILE = "course.json"  # the course model beside the released notebooks (Course.to_json)


def course_from_json(path: Path) -> Course:
    """The course a :meth:`Course.to_json` file describes (its notebooks themselves are not at hand)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        notebooks = {}
        for m in data["notebooks"]:
            exercises = [Exercise(e["number"], e["title"], -1, -1, -1, e["defines"]) for e in m["exercises"]]
            notebooks[m["id"]] = CourseNotebook(m["id"], m["name"], None, exercises)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CourseError(f"{path}: not a course model ({type(e).__name__}: {e})") from None
    return Course(Path(path).parent, notebooks)


def load_course(folder: Path | str) -> Course:
    """Every course notebook in ``folder``, validated; :class:`CourseError` for a malformed one or two
    notebooks with one id or one exercise number."""
    folder = Path(folder)
    notebooks: dict[str, CourseNotebook] = {}
    seen: dict[str, str] = {}
    for path in notebooks_in(folder):
        model = read_model(read_notebook(path), path.name)
        if model.id in notebooks:
            raise CourseError(f"{path.name} and {notebooks[model.id].name} carry the same course id {model.id!r}")
        for number in model.numbers:
            if number in seen:
                raise CourseError(f"Exercise {number} is in both {seen[number]} and {path.name}")
            seen[number] = path.name
        notebooks[model.id] = model
    if not notebooks:
        raise CourseError(f"{folder}: no course notebooks (*.ipynb) in this folder")
    return Course(folder, notebooks)


# ---------------------------------------------------------------- which cells use an exercise's result

_MUTATORS = {"append", "extend", "update", "insert", "add", "setdefault", "pop", "clear", "remove"}


def _names(source: str) -> tuple[set[str], set[str], set[str]]:
    """(names the top level of a cell's code defines, names it changes in place, names it reads that
    are not local to a function or class body of the cell)."""
    import ast
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: nothing known
        return set(), set(), set()
    defined: set[str] = set()
    read: set[str] = set()

    def stores(node) -> set[str]:
        found = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        found |= {a.arg for n in ast.walk(node) if isinstance(n, ast.arguments)
                  for a in n.posonlyargs + n.args + n.kwonlyargs + [n.vararg, n.kwarg] if a is not None}
        return found

    def visit(node, local: set[str], top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                if top and not isinstance(child, ast.Lambda):
                    defined.add(child.name)
                for deco in getattr(child, "decorator_list", []):
                    visit(deco, local, top)
                visit(child, local | stores(child), False)
                continue
            if isinstance(child, ast.Name):
                if isinstance(child.ctx, ast.Store) and top:
                    defined.add(child.id)
                elif isinstance(child.ctx, ast.Load) and child.id not in local:
                    read.add(child.id)
            elif isinstance(child, ast.alias) and top:
                defined.add((child.asname or child.name).split(".")[0])
            elif top and isinstance(child, (ast.Subscript, ast.Attribute)) and isinstance(child.ctx, ast.Store):
                base = child.value
                while isinstance(base, (ast.Subscript, ast.Attribute)):
                    base = base.value
                if isinstance(base, ast.Name):
                    changed.add(base.id)  # x[k] = ..., x.a = ...: x changes
            elif top and isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) \
                    and child.func.attr in _MUTATORS and isinstance(child.func.value, ast.Name):
                changed.add(child.func.value.id)  # x.append(...): x changes
            visit(child, local, top)
    changed: set[str] = set()
    visit(tree, set(), True)
    return defined, changed, read


def uses_of_exercises(model: CourseNotebook) -> dict[int, set[str]]:
    """The code cells that use what an exercise's solution defines, directly or through a cell that
    does, with those exercises: {cell index: {"4.1", ...}}.

    A name that such a cell defines for the first time, or changes in place (``x[k] = ...``,
    ``x.append(...)``), exists as the notebook means it only if that cell runs; a name it merely
    redefines keeps its earlier value when the cell is skipped. Solution and check cells, and the
    Checks section (which requires every exercise anyway), are not counted."""
    tainted: dict[str, set[str]] = {}  # name -> the exercises its value comes from
    own = {e.solution: e for e in model.exercises}
    skip = {e.check for e in model.exercises} | set(model.checks)
    uses: dict[int, set[str]] = {}
    available: set[str] = set()  # names some cell defined before
    for index, cell in enumerate(model.notebook.cells):
        if cell.cell_type != "code":
            continue
        defined, changed, read = _names(cell.source)
        if index in own:
            for name in defined:
                tainted[name] = {own[index].number}
            available |= defined
            continue
        if index in skip:
            continue
        needed = set().union(*(tainted[n] for n in read if n in tainted)) if read & set(tainted) else set()
        if needed:
            uses[index] = needed
        for name in defined - changed:
            if not needed:
                tainted.pop(name, None)  # defined again without the exercise: usable
            elif name in tainted or name not in available:
                tainted[name] = tainted.get(name, set()) | needed  # exists only if this cell runs
        for name in changed if needed else ():
            tainted[name] = tainted.get(name, set()) | needed  # incomplete unless this cell runs
        available |= defined | changed
    return uses


def uses_of_going_further(model: CourseNotebook) -> dict[int, set[str]]:
    """The cells outside every going-further section that use a name only such a section makes:
    {cell index: {names}}. Empty when a student can skip every going-further section and lose nothing
    a later cell needs. A name a going-further cell defines or changes in place (even one that existed
    before: a later cell would read the section's value) counts until a cell outside those sections
    defines it again."""
    made: set[str] = set()  # names whose value comes from a going-further section
    uses: dict[int, set[str]] = {}
    for index, cell in enumerate(model.notebook.cells):
        if cell.cell_type != "code":
            continue
        defined, changed, read = _names(cell.source)
        if model.in_going_further(index):
            made |= defined | changed
        else:
            used = (read - defined) & made  # a name the cell makes before it reads it is its own
            if used:
                uses[index] = used
            made -= defined - changed
    return uses
