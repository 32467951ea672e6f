"""A second client beside nbval: every notebook executed by `jupyter nbconvert --to notebook --execute`
in a clean folder, with the same results the committed notebook shows."""
from pathlib import Path

import nbformat
import pytest

from course_utils.course import load_course

pytestmark = pytest.mark.notebook  # starts Jupyter kernels

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
COURSE = load_course(Path(__file__).resolve().parents[1] / "notebooks")


def text_of(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbconvert_executes_the_notebook(path, nbconvert_execute):
    proc, executed, root = nbconvert_execute(path.name)
    assert proc.returncode == 0, f"nbconvert failed on {path.name}:\n{proc.stderr[-4000:]}"
    nb = nbformat.read(executed, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert [o for c in code for o in c.outputs if o.output_type == "error"] == []
    model = COURSE.notebooks[path.stem]
    last_checks = model.checks[-1]  # the notebook's final Checks cell, from the course model
    said = "".join(o.get("text", "") for o in model.notebook.cells[last_checks].outputs).strip()
    assert said, f"{path.name}: the committed Checks cell says nothing to compare with"
    shown = "".join(o.get("text", "") for o in nb.cells[last_checks].outputs).strip()
    assert shown == said, f"{path.name}: its Checks section says {shown!r} under nbconvert, {said!r} committed"
    # the clean folder is the only place it wrote: runs/ and build/ beside notebooks/
    assert {p.name for p in root.iterdir()} <= {"notebooks", "executed", "runs", "build"}
