"""The course as an nbgrader course: cell metadata nbgrader reads, a config, one assignment.

``python -m course_utils export-nbgrader --out DIR`` writes ``DIR/nbgrader_config.py`` and
``DIR/source/unit1/*.ipynb``: every course notebook of ``notebooks/`` that holds exercises, outputs
cleared, each cell marked the way nbgrader expects (``metadata.nbgrader``, schema 3), from the
course model (:mod:`course_utils.tools.course`):

- the solution cell of Exercise N.k: a solution cell, ``grade_id`` ``exN_k-solution``;
- its check cell: an autograded test cell (``grade: true``, :data:`POINTS` points, locked),
  ``grade_id`` ``exN_k-check``, with one line appended that raises unless the exercise passed
  (:func:`course_utils.outcome.require_exercises`: a check *returns* "not attempted" on a stub, and
  nbgrader gives full points to a test cell that raises nothing);
- every other cell read-only (``locked``): nbgrader restores it from the source when grading.

The course metadata stays on the cells, so a notebook from the exported course is still recognised
by ``course_utils check``. The notebooks in ``notebooks/`` stay the single source; the export is
regenerated, not edited. The model refuses a notebook whose exercises break the course's layout,
because nbgrader itself accepts any line containing "BEGIN SOLUTION".
"""
from __future__ import annotations

import copy
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import transforms as T
from .course import CourseError, Exercise, load_course
from ..settings import CELL_TIMEOUT, DATA_DIR_ENV

ASSIGNMENT = "unit1"
COURSE_ID = "ee541"
POINTS = 1  # per exercise: each is one function checked against an oracle, of similar size
SCHEMA_VERSION = 3


@dataclass(frozen=True)
class GradedExercise:
    notebook: str  # "02_two_moons_mlp"
    exercise: Exercise
    points: int

    number = property(lambda self: self.exercise.number)  # "2.1"
    # nbgrader's grade ids of the exercise's two cells: ex2_1-solution, ex2_1-check
    solution_id = property(lambda self: f"{self.exercise.grade_id}-solution")
    check_id = property(lambda self: f"{self.exercise.grade_id}-check")


def _test_line(number: str) -> str:
    return (f"from course_utils.outcome import require_exercises; "
            f"print(*require_exercises({number!r}))  # graded: raises unless Exercise {number} passed")


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


def nbgrader_notebook(model) -> tuple[nbformat.NotebookNode, list[GradedExercise]]:
    """The nbgrader source version of a course notebook (its :class:`~course_utils.tools.course.CourseNotebook`)
    and its graded exercises, in order."""
    stem = Path(model.name).stem
    out = copy.deepcopy(model.notebook)
    graded = [GradedExercise(stem, e, POINTS) for e in model.exercises]
    T.apply(out, model, [
        T.keep_notebook_metadata,
        T.keep_cell_metadata(nbval_tags=False),
        T.fold_going_further,
        T.clear_outputs,
        T.append_lines(lambda m: {g.exercise.check: _test_line(g.number) for g in graded}),
        _mark_cells(stem, graded),
        T.tag_raises_exception,
    ])
    return out, graded


def _mark_cells(stem: str, graded: list[GradedExercise]):
    """The step writing nbgrader's own cell metadata: solution cells, graded test cells (the checks),
    every other cell locked."""
    solutions = {g.exercise.solution: g for g in graded}
    checks = {g.exercise.check: g for g in graded}

    def mark_nbgrader_cells(nb, model) -> None:
        for index, cell in enumerate(nb.cells):
            if index in solutions:
                cell.metadata["nbgrader"] = _nbgrader_meta(solutions[index].solution_id, solution=True)
            elif index in checks:
                cell.metadata["nbgrader"] = _nbgrader_meta(checks[index].check_id, grade=True, points=POINTS)
            else:
                cell.metadata["nbgrader"] = _nbgrader_meta(_cell_id(cell, stem, index))
    return mark_nbgrader_cells


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
os.environ.setdefault({data_var!r}, {data_dir!r})

# Seconds per cell (nbgrader's default is 30): the Fashion-MNIST training cells need more on a
# loaded machine.
c.Execute.timeout = {timeout}

# Notebooks 02, 05 and 06 write a GIF and training runs into build/ and runs/ in the assignment
# folder (autograded/<student>/<assignment>/build, .../runs): never copied between nbgrader's folders.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "build", "runs"]

# Graded exercises ({total} points):
{table}
'''


def _config_text(exercises: list[GradedExercise], data_dir: Path) -> str:
    table = "\n".join(f"#   {g.notebook}.ipynb  Exercise {g.number}  {g.check_id}  {g.points} point(s)"
                      for g in exercises)
    return CONFIG.format(assignment=ASSIGNMENT, course_id=COURSE_ID, data_dir=str(data_dir), data_var=DATA_DIR_ENV, timeout=CELL_TIMEOUT,
                         total=sum(g.points for g in exercises), table=table)


def export_course(notebooks: Path | str, out: Path | str, *, data_dir: Path | str | None = None,
                  assignment: str = ASSIGNMENT) -> list[GradedExercise]:
    """Write the nbgrader course to ``out``: its config and ``source/<assignment>/``.

    Every notebook of ``notebooks`` with a solution block goes into the one assignment.
    ``data_dir`` (default: :func:`course_utils.data.data_root`) is the folder holding
    ``FashionMNIST/`` that graded kernels use. Nothing is written unless every notebook passes the
    layout check. Returns the graded exercises, in notebook order.
    """
    from ..data import data_root
    notebooks, out = Path(notebooks), Path(out)
    data_dir = Path(data_dir).resolve() if data_dir is not None else data_root()
    converted = [(m.name, *nbgrader_notebook(m)) for m in load_course(notebooks).notebooks.values() if m.exercises]
    if not converted:
        raise CourseError(f"no notebook in {notebooks} holds an exercise")
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
