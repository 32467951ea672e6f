"""The course as an nbgrader course: cell metadata nbgrader reads, a config, one assignment.

``python -m course_utils export-nbgrader --out DIR`` writes ``DIR/nbgrader_config.py`` and
``DIR/source/unit1/*.ipynb``: every notebook of ``notebooks/`` that holds exercises, outputs
cleared, each cell marked the way nbgrader expects (``metadata.nbgrader``, schema 3):

- the answer cell of Exercise N.k: a solution cell, ``grade_id`` ``exN_k-solution``;
- its self-check cell: an autograded test cell (``grade: true``, :data:`POINTS` points, locked),
  ``grade_id`` ``exN_k-check``, with one line appended that raises unless the exercise passed
  (a check *returns* "not attempted" on a stub, and nbgrader gives full points to a test cell that
  raises nothing);
- every other cell read-only (``locked``): nbgrader restores it from the source when grading.

The notebooks in ``notebooks/`` stay the single source; the export is regenerated, not edited.
It refuses a notebook whose exercises break the course's layout (marker-like lines that are not
exactly the markers, a solution outside an exercise, an exercise without its check), because
nbgrader itself accepts any line containing "BEGIN SOLUTION".
"""
from __future__ import annotations

import copy
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import checks
from .exercises import BEGIN, SKIP_TAG, ReleaseError, headings, marker_lines, solution_blocks
from .release import check_layout

ASSIGNMENT = "unit1"
COURSE_ID = "ee541"
POINTS = 1  # per exercise: each is one function checked against an oracle, of similar size
SCHEMA_VERSION = 3
KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info")
CHECK_CALL = re.compile(r"^\s*(check_\w+)\(", re.M)


@dataclass(frozen=True)
class GradedExercise:
    notebook: str  # "02_two_moons_mlp"
    number: str  # "2.1"
    points: int

    # nbgrader's grade ids of the exercise's two cells: ex2_1-solution, ex2_1-check
    solution_id = property(lambda self: f"ex{self.number.replace('.', '_')}-solution")
    check_id = property(lambda self: f"ex{self.number.replace('.', '_')}-check")


class ExerciseNotPassed(AssertionError):
    """Raised in an nbgrader test cell when its exercise did not pass; shown as its message alone."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [str(self)]


def require_passed(exercise: str):
    """The latest self-check result of ``exercise`` if it passed; else raise :class:`ExerciseNotPassed`.

    Appended to each exported test cell so that nbgrader scores a stub or a wrong answer zero.
    """
    result = checks.RESULTS.get(exercise)
    if getattr(result, "status", result) == checks.PASSED:
        return result
    if result is None:
        raise ExerciseNotPassed(f"Exercise {exercise}: its self-check did not run (an error above?)")
    raise ExerciseNotPassed(str(result) if hasattr(result, "status") else f"Exercise {exercise}: {result}")


def _test_line(number: str) -> str:
    return (f"from course_utils.nbgrader_export import require_passed; "
            f"print(require_passed({number!r}))  # graded: raises unless Exercise {number} passed")


def _nbgrader_meta(grade_id: str, *, solution=False, grade=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": SCHEMA_VERSION,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def _cell_id(cell, stem: str, index: int) -> str:
    """A grade_id for a read-only cell: the cell's own id (stable under edits elsewhere), else its index."""
    cid = re.sub(r"[^A-Za-z0-9_-]", "_", str(cell.get("id") or ""))
    return f"{stem[:2]}-{cid}" if cid else f"{stem[:2]}-cell{index + 1}"


def nbgrader_notebook(nb, name: str = "notebook") -> tuple[nbformat.NotebookNode, list[GradedExercise]]:
    """The nbgrader source version of instructor notebook ``nb`` and its graded exercises, in order.

    Raises :class:`ReleaseError` where the notebook breaks the exercise layout: a heading, then
    one code cell with the solution block(s), then a cell calling that exercise's check.
    """
    check_layout(nb, name)  # the release's strict check of markers and exercise layout
    stem = Path(name).stem
    out = copy.deepcopy(nb)
    out.metadata = {k: v for k, v in nb.metadata.items() if k in KEEP_NOTEBOOK_METADATA}
    current, after_exercise = None, False
    solutions: dict[str, int] = {}
    graded: list[GradedExercise] = []
    for index, cell in enumerate(out.cells):
        where = f"{name}, cell {index + 1}"
        tags = [t for t in cell.metadata.get("tags", []) if not t.startswith("nbval")]
        cell.metadata = {"tags": tags} if tags else {}
        if cell.cell_type != "code":
            if marker_lines(cell.source):
                raise ReleaseError(f"{where}: solution marker outside a code cell ({cell.cell_type})")
            found = headings(cell.source) if cell.cell_type == "markdown" else []
            current = found[-1] if found else current
            cell.metadata["nbgrader"] = _nbgrader_meta(_cell_id(cell, stem, index))
            continue
        cell.outputs, cell.execution_count = [], None
        blocks = solution_blocks(cell.source, where)  # the release's strict marker check
        calls = [c for c in CHECK_CALL.findall(cell.source) if hasattr(getattr(checks, c, None), "exercise")]
        if blocks and calls:
            raise ReleaseError(f"{where}: a solution and a self-check in one cell; give the check its own cell")
        if blocks:
            if current is None:
                raise ReleaseError(f"{where}: solution block with no 'Exercise N.k' heading above it")
            if current.number in solutions:
                raise ReleaseError(f"{where}: a second solution cell for Exercise {current.number} "
                                   f"(the first is cell {solutions[current.number] + 1}); keep one")
            solutions[current.number] = index
            cell.metadata["nbgrader"] = _nbgrader_meta(f"ex{current.number.replace('.', '_')}-solution",
                                                       solution=True)
            after_exercise = True
        elif calls:
            numbers = {getattr(checks, c).exercise for c in calls}
            if len(numbers) != 1:
                raise ReleaseError(f"{where}: checks of several exercises {sorted(numbers)} in one cell")
            number = numbers.pop()
            if number not in solutions:
                raise ReleaseError(f"{where}: check of Exercise {number} with no solution cell for it above")
            if number in {g.number for g in graded}:
                raise ReleaseError(f"{where}: a second self-check cell for Exercise {number}")
            exercise = GradedExercise(stem, number, POINTS)
            graded.append(exercise)
            cell.source = cell.source.rstrip("\n") + "\n" + _test_line(number)
            cell.metadata["nbgrader"] = _nbgrader_meta(exercise.check_id, grade=True, points=POINTS)
        else:
            cell.metadata["nbgrader"] = _nbgrader_meta(_cell_id(cell, stem, index))
        if after_exercise and not blocks and SKIP_TAG not in cell.metadata.get("tags", []):
            # JupyterLab's Run All goes on past this cell if it fails (an unfinished exercise above)
            cell.metadata["tags"] = cell.metadata.get("tags", []) + [SKIP_TAG]
    unchecked = sorted(set(solutions) - {g.number for g in graded})
    if unchecked:
        raise ReleaseError(f"{name}: no self-check cell for Exercise(s) {', '.join(unchecked)}")
    return out, graded


CONFIG = '''\
# nbgrader configuration of the EE 541 Unit 1 course ({assignment}).
# Written by `python -m course_utils export-nbgrader`: regenerate it rather than edit it
# (notebooks/ in the course repository is the single source). Settings of your own (exchange,
# JupyterHub) go into ~/.jupyter/nbgrader_config.py or /etc/jupyter/nbgrader_config.py.
import os

c = get_config()  # noqa: F821 (provided by nbgrader)
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# Kernels started by nbgrader (validate, autograde) inherit this environment: the notebooks find
# the prepared Fashion-MNIST here instead of a copy in every student's folder. Set
# COURSE_DATA_DIR before running nbgrader to use another copy.
os.environ.setdefault("COURSE_DATA_DIR", {data_dir!r})

# Seconds per cell (nbgrader's default is 30): the Fashion-MNIST training cells need more on a
# loaded machine.
c.Execute.timeout = 600

# Notebooks 02, 05 and 06 write a GIF and training runs into build/ and runs/ beside the assignment
# folder (autograded/<student>/build, .../runs): never copied between nbgrader's folders.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "build", "runs"]

# Graded exercises ({total} points):
{table}
'''


def _config_text(exercises: list[GradedExercise], data_dir: Path) -> str:
    table = "\n".join(f"#   {g.notebook}.ipynb  Exercise {g.number}  {g.check_id}  {g.points} point(s)"
                      for g in exercises)
    return CONFIG.format(assignment=ASSIGNMENT, course_id=COURSE_ID, data_dir=str(data_dir),
                         total=sum(g.points for g in exercises), table=table)


def export_course(notebooks: Path | str, out: Path | str, *, data_dir: Path | str | None = None,
                  assignment: str = ASSIGNMENT) -> list[GradedExercise]:
    """Write the nbgrader course to ``out``: its config and ``source/<assignment>/``.

    Every notebook of ``notebooks`` with a solution block goes into the one assignment.
    ``data_dir`` (default: :func:`course_utils.data.data_root`) is the folder holding
    ``FashionMNIST/`` that graded kernels use. Nothing is written unless every notebook passes the
    layout check. Returns the graded exercises, in notebook order.
    """
    from .data import data_root
    notebooks, out = Path(notebooks), Path(out)
    data_dir = Path(data_dir).resolve() if data_dir is not None else data_root()
    converted = []
    for path in sorted(notebooks.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(marker_lines(cell.source) for cell in nb.cells):  # a malformed marker too: refused below
            converted.append((path.name, *nbgrader_notebook(nb, path.name)))
    if not converted:
        raise ReleaseError(f"no notebook in {notebooks} holds an exercise ({BEGIN})")
    source = out / "source" / assignment
    if source.is_dir():
        shutil.rmtree(source)  # a notebook removed from the course leaves the assignment too
    source.mkdir(parents=True)
    exercises = []
    for name, nb, graded in converted:
        nbformat.validate(nb)
        nbformat.write(nb, source / name)
        exercises += graded
    (out / "nbgrader_config.py").write_text(_config_text(exercises, data_dir), encoding="utf-8")
    return exercises
