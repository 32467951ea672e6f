"""What a student sees: the release built by `python -m course_utils release`, exercises filled in
wrong (tests/wrong_answers.py) or left unfinished, run as JupyterLab's Run All runs it, and what
`check` says of it.

Each course notebook with exercises is executed once, by `course_utils check --executed DIR`: the
project's one executor (nbclient, a fresh kernel, the notebook's folder as working directory), as
Run All runs it except that it goes on past every failing cell. Run All stops at the first cell that
raises unless the cell is tagged raises-exception, so the tests assert on that same run that no
untagged cell before the student's last one shows an error (Run All would then have run every cell
and shown the same outputs), and read what the student sees from it."""
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from wrong_answers import EXPECT, WRONG, blocks

from course_utils.execute import execute
from course_utils.exercises import SKIP_TAG, STUB_COMMENT, STUB_EXERCISE, exercises_in

pytestmark = pytest.mark.notebook  # starts Jupyter kernels

REPO = Path(__file__).resolve().parents[1]
WITH_EXERCISES = [p.name for p in sorted((REPO / "notebooks").glob("*.ipynb"))
                  if exercises_in(nbformat.read(p, as_version=4))]
PLAIN_ERROR = "1 / 0  # a plain error the student adds"


def release(names: list[str], out: Path, src: Path = REPO / "notebooks") -> None:
    proc = subprocess.run([sys.executable, "-m", "course_utils", "release", *[str(src / n) for n in names],
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def stub_exercise(source: str) -> str | None:
    m = re.search(r'raise NotImplementedError\("(Exercise [^"]*)"\)', source)
    return STUB_EXERCISE.match(m.group(1)).group(1) if m else None


def fill(nb, answers: dict[str, str]) -> dict[str, int]:
    """Replace each stub of the exercises in ``answers`` by the answer (one part per block, re-indented
    to the stub's indentation). Returns {exercise: index of its solution cell}."""
    where = {}
    for index, cell in enumerate(nb.cells):
        number = stub_exercise(cell.source) if cell.cell_type == "code" else None
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


def text_of(cell) -> str:
    """Everything a cell shows: streams, rich text, error tracebacks (ANSI colours removed)."""
    parts = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type in ("display_data", "execute_result"):
            parts.append(o.get("data", {}).get("text/plain", ""))
        elif o.output_type == "error":
            parts.append("\n".join(o.traceback))
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(parts))


def errors(cell) -> list:
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


@pytest.fixture(scope="module")
def wrong_release(tmp_path_factory):
    """The release of every notebook with exercises, each exercise filled with its first wrong
    answer and a plain error added as the last cell; {name: (path, {exercise: solution cell})}."""
    root = tmp_path_factory.mktemp("course")
    release(WITH_EXERCISES, root / "student")
    filled = {}
    for name in WITH_EXERCISES:
        path = root / "student" / name
        nb = nbformat.read(path, as_version=4)
        where = fill(nb, {n: WRONG[n][0] for n in WRONG})
        assert sorted(where) == sorted(e.number for e in exercises_in(nb)), "every exercise has a wrong answer"
        nb.cells.append(nbformat.v4.new_code_cell(PLAIN_ERROR))
        nbformat.write(nb, path)
        filled[name] = (path, where)
    return filled


@pytest.fixture(scope="module")
def graded(wrong_release, tmp_path_factory):
    """`course_utils check` over the wrong-answer release, run once: (its completed process, {name: the
    notebook as it ran})."""
    folder = next(iter(wrong_release.values()))[0].parent
    executed = tmp_path_factory.mktemp("executed")
    proc = subprocess.run([sys.executable, "-m", "course_utils", "check", str(folder), "--executed", str(executed)],
                          capture_output=True, text=True, timeout=1800)
    return proc, {name: nbformat.read(executed / name, as_version=4) for name in wrong_release}


def run_all_stops(nb) -> list[str]:
    """Cells before the last at which Run All would stop: they raise and are not tagged raises-exception."""
    return [f"cell {i}: {cell.source.splitlines()[0]!r}" for i, cell in enumerate(nb.cells[:-1])
            if cell.cell_type == "code" and errors(cell) and SKIP_TAG not in cell.metadata.get("tags", [])]


@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_run_all_with_wrong_answers_shows_each_message_a_traceback_and_no_all_passed(name, wrong_release, graded):
    nb = graded[1][name]
    assert run_all_stops(nb) == [], "Run All would stop there, before the student's last cell"
    _, where = wrong_release[name]
    for number, solution in where.items():
        check = next(c for c in nb.cells[solution + 1:] if c.cell_type == "code")
        shown = text_of(check)
        assert len(errors(check)) == 1, f"Exercise {number}: the check cell should show one error, shows {shown!r}"
        assert errors(check)[0].traceback == [shown.strip()], "a self-check failure is one line, not a traceback"
        assert shown.startswith(f"✗ Exercise {number}: failed") and EXPECT[number][0] in shown, shown
    plain = nb.cells[-1]
    assert plain.source == PLAIN_ERROR and plain.execution_count is not None
    assert errors(plain)[0].ename == "ZeroDivisionError" and len(errors(plain)[0].traceback) > 1, \
        "a real error keeps its traceback"
    checks_cell = nb.cells[-2]
    assert "All checks passed" not in text_of(checks_cell)
    assert "Not every exercise passes yet" in text_of(checks_cell)
    for cell in nb.cells:
        assert "⏭ Skipped" not in text_of(cell), "nothing is unfinished, so nothing may be reported as skipped"
    root = wrong_release[name][0].parent.parent  # the release sits in ROOT/student, like the repository's
    assert not (root / "student" / "build").exists() and not (root / "build" / "build").exists()
    if name.startswith("02_"):
        assert (root / "build" / "02_two_moons_training.gif").is_file(), "the GIF goes to the repository's build/"


def test_run_all_stops_are_found():
    cells = [nbformat.v4.new_code_cell("1 / 0"), nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0")]
    for cell in cells[::2]:
        cell.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="", traceback=[])]
    nb = nbformat.v4.new_notebook(cells=cells)
    assert run_all_stops(nb) == ["cell 0: '1 / 0'"]
    cells[0].metadata["tags"] = [SKIP_TAG]
    assert run_all_stops(nb) == []


def test_check_reports_every_wrong_answer_failed_in_one_table(wrong_release, graded):
    proc, _ = graded
    assert proc.returncode == 1
    rows = proc.stdout.splitlines()
    assert rows[0].split() == ["notebook", "exercise", "result", "message"]
    assert sum(r.split()[:2] == ["notebook", "exercise"] for r in proc.stdout.splitlines()) == 1, "one header for the whole batch"
    for name, (_, where) in wrong_release.items():
        for number in where:
            row = next(r for r in rows if r.startswith(name) and r.split()[1] == number)
            assert row.split()[2] == "failed" and EXPECT[number][0] in row, row
    assert "Traceback" not in proc.stderr and "without encryption" not in proc.stderr


# ---------------------------------------------------------------- student mode on a small release (one short kernel)

UNFINISHED = [
    ("md", "# A small notebook"),
    ("code", "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\n"
             "from course_utils.checks import check_boundary_line, check_mlp_forward\n"
             "fitted = LogisticRegression().fit([[0, 0], [1, 1], [0, 1], [1, 0], [2, 2]], [0, 1, 0, 1, 1])"),
    ("md", "### Exercise 2.1 · Where is the line?"),
    ("code", "def boundary_line(model):\n    ### BEGIN SOLUTION\n    weights = model.coef_.ravel()\n"
             "    return float(-weights[0] / weights[1]), float(-model.intercept_.item() / weights[1])\n"
             "    ### END SOLUTION"),
    ("code", "check_boundary_line(boundary_line)"),
    ("code", "slope, intercept = boundary_line(fitted)\nline_label = f'{slope:.2f}'"),  # needs 2.1: skipped
    ("code", "print(line_label)"),  # a name the skipped cell would have made: skipped too
    ("code", "title = line_label.upper()"),  # and again, through the chain
    ("code", "print(undefined_by_anyone)"),  # a real NameError: traceback
    ("md", "### Exercise 2.2 · The MLP's forward pass by hand"),
    ("code", "def forward(mlp, X):\n    ### BEGIN SOLUTION\n    h = X\n    for W, c in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):\n"
             "        h = np.maximum(h @ W + c, 0)\n    out = h @ mlp.coefs_[-1] + mlp.intercepts_[-1]\n"
             "    return 1 / (1 + np.exp(-out.ravel()))\n    ### END SOLUTION"),
    ("code", "check_mlp_forward(forward)"),  # filled wrong: its own message, not "skipped"
    ("code", "line_label = 'redone'"),
    ("code", "del line_label\nprint(line_label)"),  # the skip no longer explains this one: traceback
    ("md", "## Checks"),
    ("code", "assert fitted is not None\nprint(\"All checks passed.\")"),
]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    (root / "src").mkdir()
    nb = nbformat.v4.new_notebook()
    for kind, source in UNFINISHED:
        nb.cells.append(nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "src" / "99_small.ipynb")
    release(["99_small.ipynb"], root / "student", src=root / "src")
    student = nbformat.read(root / "student" / "99_small.ipynb", as_version=4)
    fill(student, {"2.2": WRONG["2.2"][0]})  # 2.1 stays unfinished
    execute(student, root / "student", timeout=120)
    return student


def test_a_cell_needing_an_unfinished_exercise_says_so_in_one_line(small_run):
    shown = text_of(small_run.cells[5])
    assert shown.startswith("⏭ Skipped: this cell needs Exercise 2.1 (Where is the line?), which is not done yet") and "Traceback" not in shown
    assert "not attempted" in text_of(small_run.cells[4])


def test_names_a_skipped_cell_would_have_made_are_skipped_in_a_chain(small_run):
    for index in (6, 7):
        shown = text_of(small_run.cells[index])
        assert shown.startswith("⏭ Skipped: this cell needs Exercise 2.1 (`line_label` comes from a cell skipped above)"), shown
        assert not errors(small_run.cells[index])


def test_an_unrelated_error_after_a_skip_keeps_its_traceback(small_run):
    cell = small_run.cells[8]
    assert errors(cell)[0].ename == "NameError" and len(errors(cell)[0].traceback) > 1
    assert "Skipped" not in text_of(cell) and "undefined_by_anyone" in text_of(cell)


def test_a_self_check_failure_after_a_skip_is_shown_as_itself(small_run):
    shown = text_of(small_run.cells[11])
    assert shown.startswith("✗ Exercise 2.2: failed") and EXPECT["2.2"][0] in shown
    assert "Skipped" not in shown and len(errors(small_run.cells[11])[0].traceback) == 1


def test_the_skip_bookkeeping_ends_once_the_name_exists_again(small_run):
    cell = small_run.cells[13]
    assert errors(cell) and errors(cell)[0].ename == "NameError" and "Skipped" not in text_of(cell)


def test_the_checks_cell_does_not_pass_while_exercises_do_not(small_run):
    shown = text_of(small_run.cells[15])
    assert "All checks passed" not in shown
    assert "Not every exercise passes yet: 2.1 (not attempted), 2.2 (failed)" in shown
