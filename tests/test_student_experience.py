"""What a student sees: the release built by `python -m course_utils release`, exercises filled in
wrong (tests/wrong_answers.py) or left unfinished, run as JupyterLab's Run All runs it, and what
`check` says of it.

Each course notebook with exercises is executed once, by `course_utils check --executed DIR`: the
project's one executor (nbclient, a fresh kernel, the notebook's folder as working directory), as
Run All runs it except that it goes on past every failing cell. Run All stops at the first cell that
raises unless the cell is tagged raises-exception, so the tests assert on that same run that no
untagged cell before the student's last one shows an error (Run All would then have run every cell
and shown the same outputs), and read what the student sees from it."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from wrong_answers import EXPECT, RIGHT, WRONG

from course_notebooks import check, code, fill, make_nb, md, solution, statement

from course_utils.settings import DATA_DIR_ENV, data_root
from course_utils.tools.course import SKIP_TAG, load_course
from course_utils.tools.execute import execute
from course_utils.tools.sandbox import unavailable

pytestmark = pytest.mark.notebook  # starts Jupyter kernels

REPO = Path(__file__).resolve().parents[1]
COURSE = load_course(REPO / "notebooks")
WITH_EXERCISES = [m.name for m in COURSE.notebooks.values() if m.exercises]
PLAIN_ERROR = "1 / 0  # a plain error the student adds"
SKIP_LINE = "» Skipped: this cell needs Exercise"


def release(names: list[str], out: Path, src: Path = REPO / "notebooks") -> None:
    proc = subprocess.run([sys.executable, "-m", "course_utils", "release", *[str(src / n) for n in names],
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


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
        assert sorted(where) == sorted(COURSE.notebooks[path.stem].numbers), "every exercise has a wrong answer"
        nb.cells.append(nbformat.v4.new_code_cell(PLAIN_ERROR))
        nbformat.write(nb, path)
        filled[name] = (path, where)
    return filled


def run_check(folder: Path, executed: Path, *options: str, env: dict | None = None):
    """`course_utils check FOLDER --executed EXECUTED`, as an instructor or a student runs it."""
    return subprocess.run([sys.executable, "-m", "course_utils", "check", str(folder), "--executed", str(executed),
                           *options], capture_output=True, text=True, timeout=1800, env=env)


@pytest.fixture(scope="module")
def graded(wrong_release, tmp_path_factory):
    """`course_utils check` over the wrong-answer release, run once: (its completed process, {name: the
    notebook as it ran})."""
    folder = next(iter(wrong_release.values()))[0].parent
    executed = tmp_path_factory.mktemp("executed")
    proc = run_check(folder, executed)
    return proc, {name: nbformat.read(executed / name, as_version=4) for name in wrong_release}


@pytest.fixture(scope="module")
def as_released(tmp_path_factory):
    """The release as a student first meets it (stubs, nothing filled), every notebook with exercises
    run once by `check --executed`: (its completed process, {name: the notebook as it ran})."""
    root = tmp_path_factory.mktemp("first")
    release(WITH_EXERCISES, root / "student")
    executed = tmp_path_factory.mktemp("executed-first")
    # graded in the sandbox where there is one, with the data in a COURSE_DATA_DIR outside the repository:
    # the sandbox binds that folder and passes the variable on (notebooks 05 and 06 read Fashion-MNIST)
    data = tmp_path_factory.mktemp("shared-data")
    shutil.copytree(data_root() / "FashionMNIST" / "raw", data / "FashionMNIST" / "raw")
    for folder in (data, data / "FashionMNIST", data / "FashionMNIST" / "raw"):  # readable by the kernel's own uid,
        folder.chmod(0o755)                                                    # as a shared data folder is
    sandbox = ["--sandbox"] if unavailable() is None else []
    proc = run_check(root / "student", executed, *sandbox, env=dict(os.environ, **{DATA_DIR_ENV: str(data)}))
    return proc, {name: nbformat.read(executed / name, as_version=4) for name in WITH_EXERCISES}, root


def run_all_stops(nb, *, honours_tag: bool = True) -> list[str]:
    """Cells before the last at which Run All would stop: they raise and are not tagged raises-exception
    (JupyterLab, nbclient, VS Code), or raise at all (``honours_tag=False``: Colab, Kaggle)."""
    return [f"cell {i}: {cell.source.splitlines()[0]!r}" for i, cell in enumerate(nb.cells[:-1])
            if cell.cell_type == "code" and errors(cell)
            and not (honours_tag and SKIP_TAG in cell.metadata.get("tags", []))]


def before_checks(nb, name: str):
    """The notebook up to its final Checks section (which raises until every exercise passes)."""
    first = min(COURSE.notebooks[Path(name).stem].checks)
    return nbformat.v4.new_notebook(cells=nb.cells[:first] + [nbformat.v4.new_markdown_cell("end")])


def assert_only_messages_and_skips(nb, name: str, wrong: bool) -> None:
    """What Run All shows, cell by cell: a cell that needs an exercise shows one skip line and
    nothing else (no partial output, no figure); a check cell shows its one-line result; the Checks
    cells one line saying which exercises do not pass; every other cell runs without an error."""
    model = COURSE.notebooks[Path(name).stem]
    checks_of = {e.check: e.number for e in model.exercises}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or index >= len(model.notebook.cells):
            continue
        where = f"{name}, cell {index} ({cell.source.splitlines()[1 if index in model.needs else 0][:60]!r})"
        shown = text_of(cell)
        if index in model.needs:
            assert {(o.output_type, o.get("name")) for o in cell.outputs} == {("stream", "stdout")} \
                and shown.startswith(SKIP_LINE) and len(shown.strip().splitlines()) == 1, \
                f"{where} needs {model.needs[index]} and must show only its skip line, shows {shown[:300]!r}"
        elif index in checks_of:
            number = checks_of[index]
            if wrong:  # shown as the cell's value, not raised: Run All goes on everywhere
                assert not errors(cell) and [o.output_type for o in cell.outputs] == ["execute_result"], (where, shown)
                assert shown.startswith(f"✗ Exercise {number}: failed"), (where, shown)
            else:
                assert not errors(cell) and shown.startswith(f"… Exercise {number}: not attempted"), (where, shown)
        elif index in model.checks:
            assert len(errors(cell)) == 1 and errors(cell)[0].traceback == [shown.strip()], (where, shown)
            assert "Not every exercise passes yet" in shown, (where, shown)
        else:
            assert not errors(cell), f"{where} shows a traceback: {shown[-600:]}"
            assert SKIP_LINE not in shown, where
        assert "Traceback" not in shown, (where, shown[-600:])


@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_first_run_all_as_released_shows_only_check_messages_and_skip_lines(name, as_released):
    nb = as_released[1][name]
    assert run_all_stops(nb) == [], "Run All would stop there"
    assert run_all_stops(before_checks(nb, name), honours_tag=False) == [], "Colab's Run All would stop there"
    assert_only_messages_and_skips(nb, name, wrong=False)
    root = as_released[2]
    assert not (root / "build").exists(), "the release writes nothing outside its own folder"


@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_run_all_with_wrong_answers_shows_each_message_and_no_all_passed_and_goes_on_everywhere(name, wrong_release,
                                                                                              graded):
    nb = graded[1][name]
    assert run_all_stops(nb) == [], "Run All would stop there, before the student's last cell"
    assert run_all_stops(before_checks(nb, name), honours_tag=False) == [], \
        "Colab's or Kaggle's Run All (which ignore raises-exception) would stop there, before the Checks section"
    _, where = wrong_release[name]
    for number, at in where.items():
        check_cell = next(c for c in nb.cells[at + 1:] if c.cell_type == "code")
        shown = text_of(check_cell)
        assert not errors(check_cell), f"Exercise {number}: a failed check is shown, not raised, shows {shown!r}"
        assert len(shown.strip().splitlines()) == 1, "a self-check failure is one line"
        assert shown.startswith(f"✗ Exercise {number}: failed") and EXPECT[number][0] in shown, shown
    assert_only_messages_and_skips(nb, name, wrong=True)
    plain = nb.cells[-1]
    assert plain.source == PLAIN_ERROR and plain.execution_count is not None
    assert errors(plain)[0].ename == "ZeroDivisionError" and len(errors(plain)[0].traceback) > 1, \
        "a real error keeps its traceback"
    checks_cell = nb.cells[-2]
    assert "All checks passed" not in text_of(checks_cell)
    assert "Not every exercise passes yet" in text_of(checks_cell)
    root = wrong_release[name][0].parent.parent  # the release sits in ROOT/student
    assert not (root / "build").exists(), "the release writes nothing outside its own folder"
    if name.startswith("02_"):
        assert (root / "student" / "build" / "02_two_moons_training.gif").is_file(), "the GIF goes to build/ beside the notebook"


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


# ---------------------------------------------------------------- student mode on a small release (short kernels)

FITTED = "fitted = LogisticRegression().fit([[0, 0], [1, 1], [0, 1], [1, 0], [2, 2]], [0, 1, 0, 1, 1])"
SMALL = [
    md("# A small notebook"),
    code("import numpy as np\nfrom sklearn.linear_model import LogisticRegression\n"
         "from course_utils.checks import check_boundary_line, check_mlp_forward\n" + FITTED),
    statement("2.1", "Where is the line?"),
    solution("2.1", "def boundary_line(model):\n    ### BEGIN SOLUTION\n    weights = model.coef_.ravel()\n"
                    "    return float(-weights[0] / weights[1]), float(-model.intercept_.item() / weights[1])\n"
                    "    ### END SOLUTION"),
    check("2.1", "check_boundary_line(boundary_line)"),
    code("ran_5 = True\nslope, intercept = boundary_line(fitted)\nprint(f'slope {slope:.2f}')", needs=["2.1"]),  # 5
    code("import matplotlib.pyplot as plt\nplt.plot([0, 1], [intercept, intercept + slope])\nplt.show()",
         needs=["2.1"]),  # 6: a figure that would be empty without 5
    code("print('ran_5' in globals())"),  # 7: the skipped cell did not run at all
    code("print(undefined_by_anyone)"),  # 8: a real NameError: traceback
    code("boundary_line(fitted)"),  # 9: a cell of the student's own calling the stub: one line
    statement("2.2", "The MLP's forward pass by hand"),
    solution("2.2", "def forward(mlp, X):\n    ### BEGIN SOLUTION\n    h = X\n    for W, c in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):\n"
                    "        h = np.maximum(h @ W + c, 0)\n    out = h @ mlp.coefs_[-1] + mlp.intercepts_[-1]\n"
                    "    return 1 / (1 + np.exp(-out.ravel()))\n    ### END SOLUTION"),
    check("2.2", "check_mlp_forward(forward)"),  # 12: filled wrong: its own message
    code("print('both done')", needs=["2.1", "2.2"]),  # 13
    md("## Checks"),
    code("assert fitted is not None\nprint(\"✓ All checks passed.\")", checks=True),  # 15
]


def small_release(root: Path, answers: dict[str, str]):
    (root / "src").mkdir()
    nbformat.write(make_nb(*SMALL, id="99_small"), root / "src" / "99_small.ipynb")
    release(["99_small.ipynb"], root / "student", src=root / "src")
    student = nbformat.read(root / "student" / "99_small.ipynb", as_version=4)
    fill(student, answers)
    execute(student, root / "student", timeout=120)
    return student


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """2.1 left unfinished, 2.2 answered wrong."""
    return small_release(tmp_path_factory.mktemp("small"), {"2.2": WRONG["2.2"][0]})


def test_a_cell_needing_an_unfinished_exercise_is_skipped_whole_in_one_line(small_run):
    for index in (5, 6):
        cell = small_run.cells[index]
        assert {o.output_type for o in cell.outputs} == {"stream"}, "one line, no figure, no partial output"
        assert text_of(cell).startswith("» Skipped: this cell needs Exercise 2.1 (not attempted)."), text_of(cell)
    assert text_of(small_run.cells[7]).strip() == "False", "the skipped cell did not run at all"
    assert "not attempted" in text_of(small_run.cells[4])


def test_a_cell_needing_two_exercises_names_each_with_its_status(small_run):
    assert text_of(small_run.cells[13]).startswith(
        "» Skipped: this cell needs Exercise 2.1 (not attempted), Exercise 2.2 (failed)."), text_of(small_run.cells[13])


def test_an_unrelated_error_after_a_skip_keeps_its_traceback(small_run):
    cell = small_run.cells[8]
    assert errors(cell)[0].ename == "NameError" and len(errors(cell)[0].traceback) > 1
    assert "Skipped" not in text_of(cell) and "undefined_by_anyone" in text_of(cell)


def test_calling_a_stub_in_a_cell_of_ones_own_is_one_line(small_run):
    shown = text_of(small_run.cells[9])
    assert shown.startswith("» This cell called Exercise 2.1 (Where is the line?), which is not done yet") and not errors(small_run.cells[9])


def test_a_self_check_failure_after_a_skip_is_shown_as_itself(small_run):
    shown = text_of(small_run.cells[12])
    assert shown.startswith("✗ Exercise 2.2: failed") and EXPECT["2.2"][0] in shown
    assert "Skipped" not in shown and not errors(small_run.cells[12]), "shown as the cell's value, not raised"


def test_the_checks_cell_does_not_pass_while_exercises_do_not(small_run):
    shown = text_of(small_run.cells[15])
    assert "All checks passed" not in shown
    assert "Not every exercise passes yet: 2.1 (not attempted), 2.2 (failed)" in shown


def test_once_the_exercise_passes_its_cells_run_as_written(tmp_path):
    run = small_release(tmp_path, {"2.1": RIGHT["2.1"][0]})
    assert text_of(run.cells[4]).startswith("✓ Exercise 2.1: passed")
    assert text_of(run.cells[5]).startswith("slope ") and "Skipped" not in text_of(run.cells[5])
    assert any("image/png" in o.get("data", {}) for o in run.cells[6].outputs), "its figure is drawn"
    assert text_of(run.cells[7]).strip() == "True"
    assert "Skipped" not in text_of(run.cells[9]) and not errors(run.cells[9])
