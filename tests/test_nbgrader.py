"""The course as an nbgrader course: the export's cell metadata and checks, and nbgrader's own
commands (generate_assignment, autograde, export, generate_feedback) run on it outside the repository."""
from __future__ import annotations

import csv
import html
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from course_utils import checks
from course_utils.__main__ import main
from course_notebooks import check, code, make_nb, md, solution, statement

from course_utils.tools.course import BEGIN, END, KEY, SKIP_TAG, CourseError, course_id, load_course, read_model, solution_blocks
from course_utils.tools.nbgrader_export import ASSIGNMENT, COURSE_ID, export_course, nbgrader_notebook
from course_utils.outcome import ExerciseNotPassed, forget, require_exercises
from course_utils.tools.release import leak_scan, release_notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
COURSE = load_course(NOTEBOOKS)
WITH_EXERCISES = sorted(m.name for m in COURSE.notebooks.values() if m.exercises)
# 2.1 with the slope's sign lost: a plausible wrong answer (tests/wrong_answers.py wins when it has one)
OWN_WRONG_2_1 = "(w1, w2), b = model.coef_[0], model.intercept_[0]\nreturn w1 / w2, -b / w2"


def nbg(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def outside_repo(path: Path) -> Path:
    assert not path.resolve().is_relative_to(REPO), f"{path} must lie outside the repository"
    return path


# ---------------------------------------------------------------- the export

@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    course = outside_repo(tmp_path_factory.mktemp("nbgrader") / "course")
    graded = export_course(NOTEBOOKS, course, data_dir=REPO / "data")
    return course, graded


def test_every_notebook_with_exercises_is_in_the_one_assignment(exported):
    course, graded = exported
    assert len(WITH_EXERCISES) >= 4
    assert sorted(p.name for p in (course / "source" / ASSIGNMENT).iterdir()) == WITH_EXERCISES
    announced = [e.number for m, e in COURSE.exercises]
    assert [g.number for g in graded] == announced and len(announced) >= 10
    assert {"2.1", "4.4", "5.2", "6.2"} <= set(announced)
    assert all(g.points == 1 for g in graded)


def test_cells_carry_the_metadata_nbgrader_expects(exported):
    from nbgrader.nbgraderformat import MetadataValidator
    course, graded = exported
    validator = MetadataValidator()
    seen_ids, solutions, tests = set(), {}, {}
    for name in WITH_EXERCISES:
        nb = nbformat.read(course / "source" / ASSIGNMENT / name, as_version=4)
        nbformat.validate(nb)
        validator.validate_nb(nb)  # nbgrader's own schema check (raises on a bad cell)
        for cell in nb.cells:
            meta = nbg(cell)
            assert meta["schema_version"] == 3 and meta["grade_id"] not in seen_ids, meta
            seen_ids.add(meta["grade_id"])
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, "stored outputs must be cleared"
                assert not any(t.startswith("nbval") for t in cell.metadata.get("tags", []))
            if meta["solution"]:
                assert not meta["locked"] and not meta["grade"] and BEGIN in cell.source
                solutions[meta["grade_id"]] = cell.source
            elif meta["grade"]:
                assert meta["locked"] and meta["points"] == 1 and cell.cell_type == "code"
                assert f"require_exercises({meta['grade_id'][2:5].replace('_', '.')!r})" in cell.source
                assert SKIP_TAG in cell.metadata["tags"]  # Run All goes on past a failing check
                tests[meta["grade_id"]] = cell.source
            else:
                assert meta["locked"], f"{name}: a cell students may edit that is not an answer cell"
            assert "student_mode" not in cell.source  # see test_student_mode_is_not_in_the_nbgrader_release
        assert course_id(nb) == Path(name).stem, "an exported notebook is still recognised by check"
    assert sorted(solutions) == sorted(g.solution_id for g in graded)
    assert sorted(tests) == sorted(g.check_id for g in graded)
    assert solutions["ex2_1-solution"].startswith("def boundary_line(model):")
    assert tests["ex2_1-check"].splitlines()[0] == "check_boundary_line(boundary_line)"


def test_grade_ids_are_stable_across_exports(exported, tmp_path):
    course, _ = exported
    again = tmp_path / "again"
    export_course(NOTEBOOKS, again, data_dir=REPO / "data")
    for name in WITH_EXERCISES:
        ids = [[nbg(c)["grade_id"] for c in nbformat.read(d / "source" / ASSIGNMENT / name, as_version=4).cells]
               for d in (course, again)]
        assert ids[0] == ids[1]
    assert (course / "nbgrader_config.py").read_text() == (again / "nbgrader_config.py").read_text()


def test_config_points_graded_kernels_at_the_prepared_data(exported, monkeypatch):
    course, _ = exported
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(course))
    config = loader.load_config()
    assert config.CourseDirectory.course_id == COURSE_ID
    assert Path(config.CourseDirectory.root) == course
    assert config.Execute.timeout >= 300
    assert {"runs", "build"} <= set(config.CourseDirectory.ignore)
    assert os.environ["COURSE_DATA_DIR"] == str(REPO / "data")  # inherited by the kernels nbgrader starts
    monkeypatch.setenv("COURSE_DATA_DIR", "/elsewhere")
    loader.load_config()
    assert os.environ["COURSE_DATA_DIR"] == "/elsewhere", "an instructor's own setting must win"


def _exercise_notebook(body: str, check_source: str = "check_rmsprop(rmsprop)", number: str = "4.2"):
    return make_nb(md("# A notebook"), code("from course_utils.checks import check_layer_backward, check_rmsprop"),
                   statement(number, "RMSprop"), solution(number, body), check(number, check_source), id="04_x")


GOOD = f"def rmsprop(w, grad, square_avg):\n    {BEGIN}\n    return w, square_avg\n    {END}"


@pytest.mark.parametrize("body, message", [
    (GOOD.replace(BEGIN, "## BEGIN SOLUTION"), "is not a marker"),
    (GOOD.replace(END, "### END SOLUTION (hidden)"), "is not a marker"),
    (GOOD.replace(f"    {END}", ""), "never closed"),
    ("def rmsprop(w, grad, square_avg):\n    return w, square_avg", "solution cell has no"),
])
def test_malformed_exercises_are_refused(body, message, tmp_path):
    nbformat.write(_exercise_notebook(body), tmp_path / "04_bad.ipynb")
    with pytest.raises(CourseError, match=message):
        export_course(tmp_path, tmp_path / "course", data_dir=tmp_path)


def test_a_well_formed_exercise_is_exported():
    out, graded = nbgrader_notebook(read_model(_exercise_notebook(GOOD), "04_good.ipynb"))
    assert [(g.number, g.solution_id, g.check_id) for g in graded] == [("4.2", "ex4_2-solution", "ex4_2-check")]
    assert [nbg(c)["grade_id"] for c in out.cells][3:] == ["ex4_2-solution", "ex4_2-check"]


def test_a_bad_notebook_stops_the_whole_export(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    nbformat.write(_exercise_notebook(GOOD), src / "01_good.ipynb")
    bad = _exercise_notebook(GOOD.replace(BEGIN, "# BEGIN SOLUTION"), number="4.3")
    bad.metadata[KEY]["id"] = "02_bad"
    nbformat.write(bad, src / "02_bad.ipynb")
    with pytest.raises(CourseError, match="02_bad.ipynb, cell 4, line 2"):
        export_course(src, tmp_path / "course", data_dir=tmp_path)
    assert not (tmp_path / "course").exists()


def test_command_line_writes_the_course(tmp_path, capsys):
    out = tmp_path / "course"
    assert main(["export-nbgrader", "--out", str(out), "--notebooks", str(NOTEBOOKS)]) == 0
    assert sorted(p.name for p in (out / "source" / ASSIGNMENT).iterdir()) == WITH_EXERCISES
    n = len(COURSE.exercises)
    assert f"{len(WITH_EXERCISES)} notebooks, {n} exercises, {n} points" in capsys.readouterr().out


# ---------------------------------------------------------------- what makes a stub score zero

def test_the_test_cells_line_raises_unless_the_exercise_passed():
    forget()
    with pytest.raises(ExerciseNotPassed, match="Exercise 4.2: its check has not run"):
        require_exercises("4.2")

    def stub(w, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
        raise NotImplementedError()

    assert checks.check_rmsprop(stub).status == checks.NOT_ATTEMPTED  # returns: nbgrader would give points
    with pytest.raises(ExerciseNotPassed, match="Exercise 4.2: not attempted"):
        require_exercises("4.2")

    def wrong(w, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
        square_avg = alpha * square_avg + (1 - alpha) * grad ** 2
        return w - lr * grad / square_avg, square_avg  # the square root forgotten

    with pytest.raises(AssertionError):
        checks.check_rmsprop(wrong)
    with pytest.raises(ExerciseNotPassed, match="Exercise 4.2: failed. w after step 1 differs"):
        require_exercises("4.2")

    def right(w, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
        square_avg = alpha * square_avg + (1 - alpha) * grad ** 2
        return w - lr * grad / (square_avg ** 0.5 + eps), square_avg

    checks.check_rmsprop(right)
    assert require_exercises("4.2")[0].status == checks.PASSED
    assert ExerciseNotPassed("one line")._render_traceback_() == ["✗ one line"]


# ---------------------------------------------------------------- nbgrader itself

def wrong_answer_2_1() -> tuple[str, str]:
    """A wrong answer to Exercise 2.1 and a fragment of the message its check must give."""
    path = Path(__file__).with_name("wrong_answers.py")
    if path.is_file():
        spec = importlib.util.spec_from_file_location("wrong_answers", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if module.WRONG.get("2.1"):
            return module.WRONG["2.1"][0], module.EXPECT["2.1"][0]
    return OWN_WRONG_2_1, "wrong sign"


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course folder; its helper programs (alembic) are on PATH."""
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0 and "[ERROR]" not in proc.stderr.replace("| ERROR]", "[ERROR]"), proc.stderr[-4000:]
    return proc


def solution_lines(nb) -> set[str]:
    """Lines inside solution blocks that the instructor notebook shows nowhere else (the answers)."""
    inside, public = set(), set()
    for index, cell in enumerate(nb.cells):
        lines = cell.source.splitlines()
        blocks = solution_blocks(cell.source, f"cell {index + 1}") if cell.cell_type == "code" else []
        hidden = {i for b, e in blocks for i in range(b, e + 1)}
        for i, line in enumerate(lines):
            (inside if i in hidden else public).add(line.strip())
    return {s for s in inside - public if s and not s.startswith("#") and len(s) > 12}


def fill(released, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A student's submission: each answer cell of ``released`` with its stub replaced by ``answers[grade_id]``."""
    nb = nbformat.from_dict(json.loads(json.dumps(released)))
    for cell in nb.cells:
        gid = nbg(cell).get("grade_id")
        if nbg(cell).get("solution") and gid in answers:
            lines = cell.source.splitlines()
            at = next(i for i, line in enumerate(lines) if line.strip() == "# YOUR CODE HERE")
            assert lines[at + 1].strip().startswith("raise NotImplementedError"), cell.source
            indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
            lines[at:at + 2] = textwrap.indent(textwrap.dedent(answers[gid]), indent).splitlines()
            cell.source = "\n".join(lines)
    return nb


def instructor_answers(source) -> dict[str, str]:
    answers = {}
    for cell in source.cells:
        if nbg(cell).get("solution"):
            blocks = solution_blocks(cell.source, "source")
            assert len(blocks) == 1, "fill() replaces one stub per answer cell"
            b, e = blocks[0]
            answers[nbg(cell)["grade_id"]] = "\n".join(cell.source.splitlines()[b + 1:e])
    return answers


def generate_release(course: Path) -> Path:
    """``nbgrader generate_assignment`` on the whole course; checks that no solution line is in release/."""
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    release = course / "release" / ASSIGNMENT
    assert sorted(p.name for p in release.iterdir()) == WITH_EXERCISES
    releases = []
    for name in WITH_EXERCISES:
        released = nbformat.read(release / name, as_version=4)
        text = json.dumps(released)
        answers = solution_lines(nbformat.read(NOTEBOOKS / name, as_version=4))
        assert answers and not [s for s in answers if json.dumps(s)[1:-1] in text], name
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        assert text.count("raise NotImplementedError()") == text.count("# YOUR CODE HERE") >= 2
        ours = release_notebook(nbformat.read(NOTEBOOKS / name, as_version=4), name)
        ours.notebook = released  # the project's own leak scan, run on nbgrader's release
        releases.append(ours)
    assert leak_scan(releases, package_dir=None) == []
    return release


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The course exported and released by ``nbgrader generate_assignment``, once for this module:
    (the folder holding the course, the course, the exported exercises, the release)."""
    parent = tmp_path_factory.mktemp("nbgrader-course")
    course = outside_repo(parent / "course")
    graded = export_course(NOTEBOOKS, course, data_dir=REPO / "data")
    return parent, course, graded, generate_release(course)


@pytest.mark.slow
def test_nbgrader_releases_the_whole_course_without_solutions(generated):
    parent, course, _, release = generated
    nb = nbformat.read(release / "02_two_moons_mlp.ipynb", as_version=4)
    answer = next(c for c in nb.cells if nbg(c).get("grade_id") == "ex2_1-solution")
    assert answer.source.endswith("# YOUR CODE HERE\n    raise NotImplementedError()")
    assert "checksum" in nbg(answer) and answer.metadata["deletable"] is False
    assert sorted(p.name for p in parent.iterdir()) == ["course"]


AUTOGRADED = ("02_two_moons_mlp.ipynb", "04_from_scratch_layers.ipynb")


@pytest.mark.slow
def test_nbgrader_grades_the_course(generated):
    """autograde of two submissions, export to CSV and generate_feedback. Together the submissions show
    every behaviour on every exercise of notebooks 02 and 04 (05 and 06 train on Fashion-MNIST: too
    slow here): "answered" holds the instructor's answers except a wrong one for 2.1 (each right
    answer scores its point, the wrong one loses exactly its own); "stubs" holds the released stubs
    except the right answer for 2.1 (each stub scores zero, and 2.1's right answer its point)."""
    from nbgrader.api import Gradebook
    parent, course, graded, release = generated
    points = {g.check_id: g.points for g in graded}

    wrong, fragment = wrong_answer_2_1()
    sources = {name: nbformat.read(course / "source" / ASSIGNMENT / name, as_version=4) for name in AUTOGRADED}
    answers = {name: instructor_answers(nb) for name, nb in sources.items()}
    submissions = {"answered": {"02_two_moons_mlp.ipynb": {**answers["02_two_moons_mlp.ipynb"], "ex2_1-solution": wrong},
                                "04_from_scratch_layers.ipynb": answers["04_from_scratch_layers.ipynb"]},
                   "stubs": {"02_two_moons_mlp.ipynb": {"ex2_1-solution": answers["02_two_moons_mlp.ipynb"]["ex2_1-solution"]},
                             "04_from_scratch_layers.ipynb": {}}}
    for student, filled in submissions.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name in AUTOGRADED:
            nbformat.write(fill(nbformat.read(release / name, as_version=4), filled[name]), folder / name)
    nbgrader(course, "autograde", ASSIGNMENT)

    def right(student: str, check_id: str) -> bool:
        """Whether the submission's answer behind a check is right: it must score that check's points."""
        return (check_id == "ex2_1-check") != (student == "answered")

    autograded = {Path(name).stem for name in AUTOGRADED}
    seen = {student: set() for student in submissions}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in submissions:
            for notebook in gb.find_submission(ASSIGNMENT, student).notebooks:
                if notebook.name not in autograded:
                    continue
                for grade in notebook.grades:
                    want = grade.max_score if right(student, grade.name) else 0
                    assert grade.auto_score == want, (student, notebook.name, grade.name, grade.auto_score)
                    seen[student].add(grade.name)
    assert seen["answered"] == seen["stubs"] == {g.check_id for g in graded if g.notebook in autograded}
    expected = {student: sum(points[c] for c in seen[student] if right(student, c)) for student in submissions}
    assert expected["stubs"] == points["ex2_1-check"] and expected["answered"] == sum(points[c] for c in seen["answered"]) - points["ex2_1-check"]

    nbgrader(course, "export")
    with open(course / "grades.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert {s: float(rows[s]["score"]) for s in expected} == expected
    assert all(float(rows[s]["max_score"]) == sum(points.values()) for s in expected)

    nbgrader(course, "generate_feedback", ASSIGNMENT)
    namespace = {"np": __import__("numpy")}
    exec("def boundary_line(model):\n" + textwrap.indent(textwrap.dedent(wrong), "    "), namespace)
    result = checks.check_boundary_line(namespace["boundary_line"], raise_on_fail=False)
    message = result.message  # what the check says about this wrong answer
    assert result.status == checks.FAILED and fragment in message
    page = html.unescape((course / "feedback" / "answered" / ASSIGNMENT / "02_two_moons_mlp.html").read_text())
    assert message in page
    stubs_page = html.unescape((course / "feedback" / "stubs" / ASSIGNMENT / "02_two_moons_mlp.html").read_text())
    assert "Exercise 2.2: not attempted" in stubs_page and "Exercise 2.1: not attempted" not in stubs_page

    # Graded runs write their files inside the course folder, never into its parents.
    assert sorted(p.name for p in parent.iterdir()) == ["course"]
    assert list((course / "autograded" / "answered").rglob("02_two_moons_training.gif"))
