"""Fault injection for `release`, `check` and `run`: every bad input gets a one-line message and exit
code 1 (never a traceback), nothing a student or instructor wrote is lost, and grading cannot be
fooled by a submission that deletes its headings or writes its own results."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_notebooks import check, code, make_nb, md, solution, statement

from course_utils.tools.course import cell_meta
from course_utils.tools.release import RELEASE_KEY

pytestmark = pytest.mark.notebook  # starts Jupyter kernels

REPO = Path(__file__).resolve().parents[1]


def cli(*args, cwd=REPO, timeout=600):
    return subprocess.run([sys.executable, "-m", "course_utils", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def notebook(*cells):
    """A notebook of no course (no course metadata)."""
    return make_nb(*cells, id=None)


# Two exercises whose checks need only NumPy (others import scikit-learn or PyTorch, a second or more
# in every kernel these tests start): the mechanics of grading are the same for every exercise.
TINY = make_nb(
    md("# Tiny"),
    code("import numpy as np\nfrom course_utils.checks import check_bias_variance, check_outer_shell_fraction"),
    statement("1.2", "Bias and variance"),
    solution("1.2", "def bias_variance(preds, truth_values):\n    ### BEGIN SOLUTION\n"
                    "    bias2 = np.mean((preds.mean(axis=0) - truth_values) ** 2)\n"
                    "    return float(bias2), float(np.mean(preds.var(axis=0)))\n    ### END SOLUTION"),
    check("1.2", "check_bias_variance(bias_variance)"),
    statement("3.1", "The outer shell, by sampling"),
    solution("3.1", "def outer_shell_fraction(d, n, rng):\n    ### BEGIN SOLUTION\n    x = rng.random((n, d)) * 2 - 1\n"
                    "    return float(np.mean(np.abs(x).max(axis=1) > 0.95))\n    ### END SOLUTION"),
    check("3.1", "check_outer_shell_fraction(outer_shell_fraction)"),
    id="99_tiny",
)
NOT_ATTEMPTED = {("99_tiny.ipynb", "1.2"): "not", ("99_tiny.ipynb", "3.1"): "not"}  # "not attempted"


def with_wrong_answers(path: Path) -> None:
    """Both exercises of a released tiny notebook answered wrong (the variance across test inputs, the
    shell measured with the Euclidean norm)."""
    nb = nbformat.read(path, as_version=4)
    solutions = {cell_meta(c).get("exercise"): c for c in nb.cells if cell_meta(c).get("part") == "solution"}
    for number, cell in solutions.items():
        if number == "1.2":
            cell.source = ("def bias_variance(preds, truth_values):\n"
                           "    bias2 = np.mean((preds.mean(axis=0) - truth_values) ** 2)\n"
                           "    return float(bias2), float(np.mean(preds.var(axis=1)))")
        elif number == "3.1":
            cell.source = ("def outer_shell_fraction(d, n, rng):\n    x = rng.random((n, d)) * 2 - 1\n"
                           "    return float(np.mean(np.linalg.norm(x, axis=1) > 0.95))")
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def released_course(tmp_path_factory):
    """An instructor folder holding 99_tiny.ipynb (Exercises 1.2 and 3.1) and its release in student/, made
    once by the `release` command."""
    root = tmp_path_factory.mktemp("course")
    src = root / "notebooks"
    src.mkdir()
    nbformat.write(TINY, src / "99_tiny.ipynb")
    proc = cli("release", src, "--out", root / "student")
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture
def course(released_course, tmp_path):
    """A copy of ``released_course`` of the test's own, to change at will."""
    shutil.copytree(released_course, tmp_path, dirs_exist_ok=True)
    return tmp_path


# ---------------------------------------------------------------- release: bad inputs and work never lost

def test_release_into_its_own_source_folder_is_refused_and_solutions_stay(course):
    src = course / "notebooks"
    before = digest(src)
    assert_one_line_error(cli("release", src, "--out", src), "lies in the source folder")
    assert_one_line_error(cli("release", src / "99_tiny.ipynb", "--out", src), "lies in the source folder")
    assert_one_line_error(cli("release", src, "--out", src / "sub"), "lies in the source folder")
    assert digest(src) == before and not (src / "sub").exists()
    assert "### BEGIN SOLUTION" in (src / "99_tiny.ipynb").read_text()


def test_release_out_pointing_at_a_file_is_a_one_line_error(course):
    target = course / "a_file.txt"
    target.write_text("mine")
    assert_one_line_error(cli("release", course / "notebooks", "--out", target), "is a file")
    assert target.read_text() == "mine"


def test_release_of_a_missing_source_folder_creates_nothing(tmp_path):
    assert_one_line_error(cli("release", tmp_path / "nowhere", "--out", tmp_path / "out"), "no such file or folder")
    assert not (tmp_path / "out").exists()


def test_release_never_overwrites_a_notebook_the_student_changed(course):
    mine = course / "student" / "99_tiny.ipynb"
    nb = nbformat.read(mine, as_version=4)
    nb.cells[3].source = nb.cells[3].source.replace("# YOUR CODE HERE", "# my work in progress\n    x = 1")
    nbformat.write(nb, mine)
    edited = mine.read_bytes()
    proc = cli("release", course / "notebooks", "--out", course / "student")
    assert proc.returncode == 0, proc.stderr
    assert mine.read_bytes() == edited, "the student's notebook must stay as they left it"
    beside = course / "student" / "99_tiny.new.ipynb"
    assert beside.is_file() and f"kept {mine}" in proc.stdout and str(beside) in proc.stdout
    assert "my work in progress" not in beside.read_text()


def test_release_updates_an_untouched_notebook_and_leaves_an_unchanged_one_alone(course):
    mine = course / "student" / "99_tiny.ipynb"
    proc = cli("release", course / "notebooks", "--out", course / "student")
    assert proc.returncode == 0 and f"unchanged {mine}" in proc.stdout
    nb = nbformat.read(course / "notebooks" / "99_tiny.ipynb", as_version=4)
    nb.cells[0].source = "# Tiny, revised"
    nbformat.write(nb, course / "notebooks" / "99_tiny.ipynb")
    proc = cli("release", course / "notebooks", "--out", course / "student")
    assert proc.returncode == 0 and f"updated {mine}" in proc.stdout
    released = nbformat.read(mine, as_version=4)
    assert released.cells[0].source == "# Tiny, revised" and RELEASE_KEY in released.metadata
    assert not (course / "student" / "99_tiny.new.ipynb").exists()


def test_release_keeps_an_unreadable_file_in_the_way(course):
    mine = course / "student" / "99_tiny.ipynb"
    mine.write_text("half a notebook {")
    proc = cli("release", course / "notebooks", "--out", course / "student")
    assert proc.returncode == 0 and mine.read_text() == "half a notebook {"
    assert (course / "student" / "99_tiny.new.ipynb").is_file()


# ---------------------------------------------------------------- check: bad inputs are one-line errors

def test_commands_start_without_rfc3987_grammars_and_still_validate_notebooks(tmp_path):
    """The command line does not build rfc3987_syntax's lark grammars (about a second of CPU on import;
    course_utils.tools.deferred), which jsonschema uses only for the "iri" string formats: nbformat's schemas
    name no string format, and a notebook that breaks its schema is still refused."""
    def string_formats(node):  # the values of jsonschema's "format" keyword (a property called format is a dict)
        if isinstance(node, dict):
            yield from ([node["format"]] if isinstance(node.get("format"), str) else [])
            for value in node.values():
                yield from string_formats(value)
        elif isinstance(node, list):
            for value in node:
                yield from string_formats(value)
    schemas = list(Path(nbformat.__file__).parent.rglob("*.schema.json"))
    assert schemas and [f for p in schemas for f in string_formats(json.loads(p.read_text()))] == []
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    bad.cells[0]["execution_count"] = "one"  # not an integer: invalid under the schema
    nbformat.write(bad, tmp_path / "bad.ipynb", version=nbformat.NO_CONVERT)
    probe = ("import runpy, sys; sys.argv = ['course_utils', 'env', '--help']\n"
             "try:\n    runpy.run_module('course_utils', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "import nbformat\n"
             f"nb = nbformat.read({str(tmp_path / 'bad.ipynb')!r}, as_version=nbformat.NO_CONVERT)\n"
             "try:\n    nbformat.validate(nb)\nexcept nbformat.ValidationError:\n    print('refused')\n"
             "print('lark' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-2:] == ["refused", "False"], proc.stdout


def test_check_on_a_missing_file_is_a_one_line_error(tmp_path):
    assert_one_line_error(cli("check", tmp_path / "nope.ipynb"), "nope.ipynb: no such file")


def test_check_on_a_text_file_is_a_one_line_error(tmp_path):
    (tmp_path / "notes.ipynb").write_text("these are my notes\n")
    assert_one_line_error(cli("check", tmp_path / "notes.ipynb"), "not a notebook")


def test_check_on_a_truncated_notebook_is_a_one_line_error(tmp_path):
    text = (REPO / "notebooks" / "02_two_moons_mlp.ipynb").read_text()
    (tmp_path / "02_two_moons_mlp.ipynb").write_text(text[: len(text) // 2])
    assert_one_line_error(cli("check", tmp_path / "02_two_moons_mlp.ipynb"), "not a notebook")


def test_check_on_an_empty_json_notebook_is_a_one_line_error(tmp_path):
    (tmp_path / "02_two_moons_mlp.ipynb").write_text("{}")
    assert_one_line_error(cli("check", tmp_path / "02_two_moons_mlp.ipynb"), "not a notebook")


def test_run_on_a_missing_notebook_is_a_one_line_error(tmp_path):
    assert_one_line_error(cli("run", tmp_path / "nope.ipynb", "--out", tmp_path / "build"), "no such notebook")


# ---------------------------------------------------------------- check: grading that cannot be fooled (short kernels)

ROW = re.compile(r"^(.*?)\s+(\d+\.\d+)\s+(passed|failed|not attempted)\b")


def graded(proc) -> dict[tuple[str, str], str]:
    """{(file, exercise): first word of the result} from check's table (file names may hold spaces)."""
    rows = proc.stdout.splitlines()
    assert rows and rows[0].split() == ["notebook", "exercise", "result", "message"], proc.stdout + proc.stderr
    assert sum(r.split()[:2] == ["notebook", "exercise"] for r in proc.stdout.splitlines()) == 1
    found, columns = {}, {rows[0].index("exercise")}
    for r in rows[1:]:
        m = ROW.match(r)
        assert m, r
        found[(m.group(1), m.group(2))] = m.group(3).split()[0]
        columns.add(m.start(2))
    assert len(columns) == 1, f"the exercise column does not line up:\n{proc.stdout}"
    return found


def test_a_batch_reports_every_file_and_fails_if_any_failed(course):
    (course / "student" / "notes.ipynb").write_text("not json")
    nbformat.write(make_nb(code("x = 1"), id="00_intro"), course / "notebooks" / "00_intro.ipynb")
    nbformat.write(make_nb(code("x = 1"), id="00_intro"), course / "student" / "00_intro.ipynb")
    nbformat.write(notebook(code("x = 1")), course / "student" / "other_course.ipynb")
    proc = cli("check", course / "student" / "notes.ipynb", course / "student" / "00_intro.ipynb",
               course / "student" / "other_course.ipynb", course / "student" / "99_tiny.ipynb",
               "--instructor", course / "notebooks")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "notes.ipynb: not a notebook" in proc.stderr
    assert "skipped " in proc.stderr and "00_intro.ipynb has no exercises" in proc.stderr, "a notebook without exercises may be skipped"
    assert "other_course.ipynb: not a notebook of this course" in proc.stderr, "an unknown notebook is an error, not a skip"
    assert graded(proc) == NOT_ATTEMPTED


def test_deleting_the_exercise_headings_does_not_escape_grading(course):
    nb = nbformat.read(course / "student" / "99_tiny.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells if "Exercise" not in c.source or c.cell_type == "code"]
    nb.cells = [c for c in nb.cells if "check_bias_variance(bias_variance)" not in c.source]
    for cell in nb.cells:
        cell.metadata.pop("course", None)  # the exercises' metadata gone too; the notebook's id stays
    nbformat.write(nb, course / "student" / "99_tiny.ipynb")
    proc = cli("check", course / "student" / "99_tiny.ipynb", "--instructor", course / "notebooks")
    assert proc.returncode == 1
    # the grader probes the answer the model names whether or not a check cell is left: the stub of 1.2
    assert graded(proc) == {("99_tiny.ipynb", "1.2"): "not", ("99_tiny.ipynb", "3.1"): "not"}


def test_results_written_by_the_submission_are_not_believed(course):
    nb = nbformat.read(course / "student" / "99_tiny.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import course_utils.outcome as C\n"
        "from IPython.display import publish_display_data\n"
        "C._latest['1.2'] = C.CheckResult('1.2', 'passed')\n"
        "publish_display_data({'application/x-course-probe+json': {'token': 'guess', 'probes': {'1.2': '{}'}}})\n"
        "print('COURSE-RESULTS {\"1.2\": [\"passed\", \"\"]}')"))
    nbformat.write(nb, course / "student" / "99_tiny.ipynb")
    proc = cli("check", course / "student" / "99_tiny.ipynb", "--instructor", course / "notebooks")
    assert proc.returncode == 1 and graded(proc) == NOT_ATTEMPTED


def test_check_writes_each_notebook_as_it_ran_without_the_graders_additions(course):
    out = course / "executed"
    proc = cli("check", course / "student", "--instructor", course / "notebooks", "--executed", out)
    assert proc.returncode == 1 and graded(proc) == NOT_ATTEMPTED
    submitted = nbformat.read(course / "student" / "99_tiny.ipynb", as_version=4)
    ran = nbformat.read(out / "99_tiny.ipynb", as_version=4)
    assert [c.source for c in ran.cells] == [c.source for c in submitted.cells], "the student's cells, no grader cell"
    shown = [o for c in ran.cells if c.cell_type == "code" for o in c.outputs]
    assert any("Exercise 1.2: not attempted" in o.get("data", {}).get("text/plain", "") for o in shown)
    assert "application/x-course-probe+json" not in (out / "99_tiny.ipynb").read_text()


def test_check_refuses_to_write_executed_copies_over_the_submissions(course):
    before = digest(course / "student")
    assert_one_line_error(cli("check", course / "student", "--executed", course / "student"),
                          "would replace the submissions")
    assert digest(course / "student") == before
    other = course / "other"
    other.mkdir()
    (other / "99_tiny.ipynb").write_bytes((course / "student" / "99_tiny.ipynb").read_bytes())
    assert_one_line_error(cli("check", course / "student", other, "--executed", course / "out"),
                          "more than one notebook is called 99_tiny.ipynb")
    assert not (course / "out").exists()


def test_check_that_cannot_write_an_executed_copy_says_so_and_still_grades(course):
    in_the_way = course / "a_file"
    in_the_way.write_text("mine")
    proc = cli("check", course / "student", "--instructor", course / "notebooks", "--executed", in_the_way)
    assert_one_line_error(proc, "cannot write the executed copy of", "99_tiny.ipynb")
    assert graded(proc) == NOT_ATTEMPTED and in_the_way.read_text() == "mine"


def test_a_timeout_becomes_a_failed_row(course):
    nb = nbformat.read(course / "student" / "99_tiny.ipynb", as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell("import time\ntime.sleep(60)"))
    nbformat.write(nb, course / "student" / "99_tiny.ipynb")
    proc = cli("check", course / "student" / "99_tiny.ipynb", "--instructor", course / "notebooks", "--timeout", "3")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert graded(proc) == {("99_tiny.ipynb", "1.2"): "failed", ("99_tiny.ipynb", "3.1"): "failed"}
    assert "the notebook stopped (a cell ran longer than 3 s (timeout))" in proc.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_copy_of_the_kernel_exits_when_its_cell_ends(course):
    """A copy made by os.fork() (a fork bomb's, or one never followed by exec or _exit) must not run on as
    a second kernel: the copy exits with status 1 when its cell ends, or when an error stops it there
    (a fork bomb's copies, at the process limit), so the grading goes on to the end."""
    nb = nbformat.read(course / "student" / "99_tiny.ipynb", as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell("import os\ncopy = os.fork()\nstopped = os.fork()\n"
                                                 "if not stopped:\n    raise BlockingIOError('as at the process limit')"))
    nb.cells.insert(3, nbformat.v4.new_code_cell("_, status = os.waitpid(copy, 0)\n"
                                                 "print('the copy exited with', os.waitstatus_to_exitcode(status))\n"
                                                 "_, status = os.waitpid(stopped, 0)\n"
                                                 "print('the stopped copy exited with', os.waitstatus_to_exitcode(status))"))
    nbformat.write(nb, course / "student" / "99_tiny.ipynb")
    out = course / "ran"
    proc = cli("check", course / "student" / "99_tiny.ipynb", "--instructor", course / "notebooks", "--timeout", "20",
               "--executed", out, timeout=300)
    assert graded(proc) == NOT_ATTEMPTED, proc.stdout  # every cell ran: the check cells said "not attempted"
    ran = nbformat.read(out / "99_tiny.ipynb", as_version=4)
    shown = "".join(o.get("text", "") for o in ran.cells[3].outputs)
    assert shown == "the copy exited with 1\nthe stopped copy exited with 1\n", shown
    assert not [o for o in ran.cells[2].outputs if o.output_type == "error"], "the kernel itself raised nothing"
    assert "message from fork" not in proc.stderr, "the stopped copy should exit without showing its error"


def test_the_graders_first_cell_runs_where_there_is_no_fork():
    """Windows has no os.fork (nor os.register_at_fork): the grader's first cell must run there too."""
    probe = ("import os\n"
             "from IPython.core.interactiveshell import InteractiveShell\n"
             "from course_utils.tools.injected import prologue\n"
             "shell = InteractiveShell.instance()\n"
             "del os.register_at_fork\n"
             "result = shell.run_cell(prologue())\n"
             "print('ran' if result.success else f'failed: {result.error_in_exec!r}')\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip().splitlines()[-1:] == ["ran"], proc.stdout + proc.stderr


def test_a_dead_kernel_becomes_a_failed_row(course):
    nb = nbformat.read(course / "student" / "99_tiny.ipynb", as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    nbformat.write(nb, course / "student" / "99_tiny.ipynb")
    proc = cli("check", course / "student" / "99_tiny.ipynb", "--instructor", course / "notebooks", timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert graded(proc) == {("99_tiny.ipynb", "1.2"): "failed", ("99_tiny.ipynb", "3.1"): "failed"}
    assert "the notebook stopped (the kernel died" in proc.stdout


def test_the_checks_grade_a_student_repository_without_instructor_notebooks(monkeypatch, tmp_path):
    """A student's repository (GitHub Classroom): no instructor notebooks; the course model the release
    wrote beside the student notebooks (student/course.json), generated from the model, not kept by hand."""
    import course_utils.tools.grading as G
    proc = cli("release", REPO / "notebooks", "--out", tmp_path / "student")
    assert proc.returncode == 0, proc.stderr
    monkeypatch.setattr(G, "INSTRUCTOR_DIR", tmp_path / "absent")
    monkeypatch.setattr(G, "RELEASED_MODEL", tmp_path / "student" / "course.json")
    course = G.instructor_course()
    assert course.notebooks["04_from_scratch_layers"].numbers == ["4.1", "4.2", "4.3", "4.4"]
    assert course.notebooks["00_environment_check"].numbers == []
    real = G.load_course(REPO / "notebooks")
    assert {cid: [(e.number, e.title, e.defines) for e in m.exercises] for cid, m in course.notebooks.items()} == \
        {cid: [(e.number, e.title, e.defines) for e in m.exercises] for cid, m in real.notebooks.items()}
    monkeypatch.setattr(G, "RELEASED_MODEL", tmp_path / "nowhere.json")
    with pytest.raises(G.GradingError, match="--instructor"):
        G.instructor_course()


# ---------------------------------------------------------------- renamed copies, missing and doubled notebooks

@pytest.mark.parametrize("name", ["Copy of 99_tiny.ipynb", "99_tiny (1).ipynb", "tiny_homework.ipynb"])
def test_a_renamed_copy_is_graded_as_its_course_notebook(course, name):
    (course / "student" / "99_tiny.ipynb").rename(course / "student" / name)
    with_wrong_answers(course / "student" / name)
    proc = cli("check", course / "student" / name, "--instructor", course / "notebooks")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert graded(proc) == {(name, "1.2"): "failed", (name, "3.1"): "failed"}, proc.stdout


def test_a_copy_that_lost_its_metadata_falls_back_to_its_file_name(course):
    path = course / "student" / "Copy of 99_tiny (2).ipynb"
    (course / "student" / "99_tiny.ipynb").rename(path)
    with_wrong_answers(path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("course")
    for cell in nb.cells:
        cell.metadata.pop("course", None)
    nbformat.write(nb, path)
    proc = cli("check", path, "--instructor", course / "notebooks")
    assert {k[1]: v for k, v in graded(proc).items()} == {"1.2": "failed", "3.1": "failed"}, proc.stdout
    nbformat.write(nb, course / "student" / "homework.ipynb")  # nothing left to say which notebook it is
    assert_one_line_error(cli("check", course / "student" / "homework.ipynb", "--instructor", course / "notebooks"),
                          "homework.ipynb: not a notebook of this course")


def test_a_folder_is_graded_against_the_whole_course(course):
    nbformat.write(make_nb(md("# More"), code("from course_utils.checks import check_rmsprop"),  # a long name: the table widens
                           statement("4.2", "RMSprop"),
                           solution("4.2", "def rmsprop(w, g, s, lr=0.01, alpha=0.99, eps=1e-8):\n"
                                           "    ### BEGIN SOLUTION\n    s = alpha * s + (1 - alpha) * g**2\n"
                                           "    return w - lr * g / (np.sqrt(s) + eps), s\n    ### END SOLUTION"),
                           check("4.2", "check_rmsprop(rmsprop)"), id="98_more"),
                   course / "notebooks" / "98_more_exercises_with_a_long_file_name.ipynb")
    proc = cli("check", course / "student", "--instructor", course / "notebooks")
    assert proc.returncode == 1
    long = "98_more_exercises_with_a_long_file_name.ipynb"
    assert graded(proc) == {**NOT_ATTEMPTED, (long, "4.2"): "failed"}
    assert "not submitted" in next(r for r in proc.stdout.splitlines() if r.startswith(long))


def test_two_files_of_one_notebook_the_newest_counts_and_the_other_is_reported(course):
    """check follows grade-class's rule (one grading path): the newest copy counts, the other is named."""
    older = course / "student" / "Copy of 99_tiny.ipynb"
    shutil.copy(course / "student" / "99_tiny.ipynb", older)
    with_wrong_answers(older)
    os.utime(older, (1_700_000_000,) * 2)
    proc = cli("check", course / "student", "--instructor", course / "notebooks")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"ignored {older}: an older copy of 99_tiny.ipynb: {course / 'student' / '99_tiny.ipynb'} counts" in proc.stderr
    assert graded(proc) == NOT_ATTEMPTED, "the newer copy (the stubs) is graded, not the older wrong one"


# ---------------------------------------------------------------- the executor: our kernels speak IPC, quietly

SHOW_WARNING = ("import sys, course_utils.tools.execute as E\n"
                "from jupyter_client.manager import AsyncKernelManager\n"
                "E.kernel_manager_class = lambda: AsyncKernelManager\n"
                "from course_utils.__main__ import main\n"
                "sys.exit(main(sys.argv[1:]))\n")


@pytest.mark.skipif(sys.platform == "win32", reason="TCP is the transport on Windows")
def test_run_starts_kernels_without_the_tcp_warning_and_keeps_other_stderr(tmp_path):
    nbformat.write(notebook(("code", "print('hello')")), tmp_path / "98_hello.ipynb")
    proc = cli("run", tmp_path / "98_hello.ipynb", "--out", tmp_path / "build")
    assert proc.returncode == 0, proc.stderr
    assert "without encryption" not in proc.stderr
    executed = nbformat.read(tmp_path / "build" / "98_hello.ipynb", as_version=4)
    assert executed.cells[0].outputs[0].text == "hello\n"
    # the same run over TCP shows the warning on stderr: the test above can see it when it is there
    tcp = subprocess.run([sys.executable, "-c", SHOW_WARNING, "run", str(tmp_path / "98_hello.ipynb"), "--out",
                          str(tmp_path / "tcp")], capture_output=True, text=True, timeout=300)
    assert tcp.returncode == 0 and "without encryption" in tcp.stderr


# ---------------------------------------------------------------- where student work lives

def test_make_clean_and_distclean_keep_the_students_work(tmp_path):
    """`make clean` / `distclean` in a folder laid out like the repository: generated files go, the
    release in student/ (where `make student` writes and `make lab` can open it) stays."""
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "02_two_moons_mlp.ipynb").write_text("my work")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "02_two_moons_training.gif").write_text("generated")
    for target in ("clean", "distclean"):
        proc = subprocess.run(["make", "-f", str(REPO / "Makefile"), "-C", str(tmp_path), target, "VENV=venv-not-here"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "student" / "02_two_moons_mlp.ipynb").read_text() == "my work"
    assert not (tmp_path / "build").exists()
    dry = subprocess.run(["make", "-n", "-f", str(REPO / "Makefile"), "-C", str(REPO), "student", "lab"],
                         capture_output=True, text=True).stdout
    assert "release notebooks --out student" in dry and "--notebook-dir=." in dry
    ignored = subprocess.run(["git", "check-ignore", "student/02_two_moons_mlp.ipynb"], cwd=REPO, capture_output=True, text=True)
    assert ignored.returncode == 0, "student/ must be git-ignored"
