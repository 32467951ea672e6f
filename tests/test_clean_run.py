"""The course executed once outside the repository, in a clean folder laid out like it (the
``clean_run`` fixture): the instructor's answers grade as passed under ``course_utils check``, the
notebook without exercises runs under ``jupyter nbconvert --execute``, and every notebook shows the
results its committed copy shows, writing nothing outside its folder but runs/ and build/."""
from pathlib import Path

import nbformat
import pytest

from course_utils.tools.course import load_course

pytestmark = pytest.mark.notebook  # starts Jupyter kernels

COURSE = load_course(Path(__file__).resolve().parents[1] / "notebooks")
MODELS = list(COURSE.notebooks.values())


def test_instructor_notebooks_grade_as_passed(clean_run):
    """One batch over notebooks/: notebooks without exercises are skipped, one table, all passed."""
    proc = clean_run.check
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = proc.stdout.splitlines()
    assert rows[0].split() == ["notebook", "exercise", "result", "message"] and sum(r.split()[:2] == ["notebook", "exercise"] for r in rows) == 1
    graded = {(r.split()[0], r.split()[1]): r.split()[2] for r in rows[1:]}
    assert graded == {(m.name, e.number): "passed" for m, e in COURSE.exercises}
    for m in MODELS:
        if not m.exercises:
            assert f"skipped notebooks/{m.name}: {m.name} has no exercises" in proc.stderr
    assert "Traceback" not in proc.stderr and "without encryption" not in proc.stderr


def test_the_notebooks_without_exercises_run_under_nbconvert(clean_run):
    without = sorted(m.name for m in MODELS if not m.exercises)
    assert without and sorted(clean_run.nbconvert) == without
    for name, proc in clean_run.nbconvert.items():
        assert proc.returncode == 0, f"nbconvert failed on {name}:\n{proc.stderr[-4000:]}"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_a_clean_folder_run_shows_the_committed_results(model, clean_run):
    """Every cell ran once, in order, without an error; the notebook's final Checks cell says what
    the committed notebook says."""
    path = clean_run.executed / model.name
    assert path.is_file(), f"{model.name} was not executed:\n{clean_run.check.stderr[-3000:]}"
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert [o for c in code for o in c.outputs if o.output_type == "error"] == []
    last_checks = model.checks[-1]  # the notebook's final Checks cell, from the course model
    said = "".join(o.get("text", "") for o in model.notebook.cells[last_checks].outputs).strip()
    assert said, f"{model.name}: the committed Checks cell says nothing to compare with"
    shown = "".join(o.get("text", "") for o in nb.cells[last_checks].outputs).strip()
    assert shown == said, f"{model.name}: its Checks section says {shown!r} in a clean folder, {said!r} committed"


def test_the_clean_folder_is_the_only_place_written(clean_run):
    """A notebook writes only inside its own folder: its runs (runs/) and 02's animation (build/)."""
    assert {p.name for p in clean_run.root.iterdir()} == {"notebooks", "executed"}
    written = {p.name for p in (clean_run.root / "notebooks").iterdir()} - {m.name for m in MODELS}
    assert written <= {"runs", "build"}, written
