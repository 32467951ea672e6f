"""Student release: solutions removed, strict markers and layout, leaks found across notebooks and the
package (the instructor notebooks graded as passed: tests/test_clean_run.py)."""
import copy
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.__main__ import main
from course_notebooks import check, code, make_nb, md, solution, statement

from course_utils.tools.course import (BEGIN, COLLAPSED, END, KEY, NEEDS_LINE, SKIP_TAG, STUB_COMMENT, CourseError, course_id,
                                 load_course, read_model, solution_blocks)
from course_utils.tools.release import (CHECKS_LINE, RELEASE_KEY, STUDENT_MODE_LINE, build_release, leak_scan,
                                  release_notebook)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
COURSE = load_course(REPO / "notebooks")
WITH_EXERCISES = [REPO / "notebooks" / m.name for m in COURSE.notebooks.values() if m.exercises]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    build_release(REPO / "notebooks", out)
    return out


def test_at_least_two_notebooks_have_exercises():
    assert len(WITH_EXERCISES) >= 2


def test_the_whole_course_releases_without_leaks(tmp_path):
    """`make student`'s command: every notebook, scanned against all of them and the package."""
    proc = subprocess.run([sys.executable, "-m", "course_utils", "release", "notebooks", "--out", str(tmp_path / "s")],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "leak scan: no solution found outside its exercise" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "s").glob("*.ipynb")) == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_release_strips_solutions_outputs_and_metadata(path, release):
    instructor = nbformat.read(path, as_version=4)
    student = nbformat.read(release / path.name, as_version=4)
    assert len(student.cells) == len(instructor.cells)
    text = json.dumps(student)
    assert BEGIN not in text and END not in text
    assert set(student.metadata) <= {"kernelspec", "language_info", RELEASE_KEY, KEY}
    assert course_id(student) == read_model(instructor, path.name).id, "the release keeps the course id"
    folded = {s.heading for s in read_model(instructor, path.name).going_further}
    assert folded, "every notebook has a going-further section (tests/test_teaching.py)"
    for index, (cell, original) in enumerate(zip(student.cells, instructor.cells)):
        assert set(cell.metadata) <= {"tags", KEY, COLLAPSED}
        assert cell.metadata.get(KEY) == original.metadata.get(KEY), "the release keeps the course model"
        assert cell.metadata.get(COLLAPSED, False) is (index in folded), "JupyterLab shows going further folded"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    stubs = [c.source for c in student.cells if c.cell_type == "code" and "raise NotImplementedError(" in c.source]
    for exercise in read_model(instructor).exercises:
        assert any(f'raise NotImplementedError("Exercise {exercise.number}: {exercise.title}")' in s for s in stubs)


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.name)
def test_round_trip_restores_the_instructor_sources(path, release):
    """Putting the solution blocks back where the stubs stand gives the instructor's code cells."""
    instructor = nbformat.read(path, as_version=4)
    student = nbformat.read(release / path.name, as_version=4)
    for inst, stud in zip(instructor.cells, student.cells):
        if inst.cell_type != "code":
            continue
        restored = stud.source.replace("\n" + STUDENT_MODE_LINE, "").splitlines()
        restored = [line for line in restored if not line.startswith((CHECKS_LINE.split(";")[0], NEEDS_LINE))]
        lines = inst.source.splitlines()
        for begin, end in reversed(solution_blocks(inst.source, "x")):
            at = begin - sum(e - b - 1 for b, e in solution_blocks(inst.source, "x") if b < begin)
            assert restored[at].strip() == STUB_COMMENT and "NotImplementedError" in restored[at + 1]
            restored[at:at + 2] = lines[begin:end + 1]
        assert "\n".join(restored) == inst.source


IMPORT = code("from course_utils.checks import check_boundary_line")
SOLUTION = solution("9.1", "def f(v):\n    ### BEGIN SOLUTION\n    doubled = 2 * v\n    return doubled\n    ### END SOLUTION")
CHECK = check("9.1", "check_boundary_line(f)")
GOOD = make_nb(IMPORT, statement("9.1", "Double it"), SOLUTION, CHECK, code("g = f(2)", needs=["9.1"]),
               md("## Checks"), code("assert True\nprint(\"✓ All checks passed.\")", checks=True))


def test_stub_keeps_signature_and_indentation_and_the_checks_cell_requires_the_exercises():
    released = release_notebook(GOOD, "good.ipynb")
    cells = released.notebook.cells
    assert cells[2].source == 'def f(v):\n    # YOUR CODE HERE\n    raise NotImplementedError("Exercise 9.1: Double it")'
    assert [s.text for s in released.solutions] == ["    doubled = 2 * v", "    return doubled"]
    assert cells[0].source.endswith(STUDENT_MODE_LINE)
    assert cells[4].source.splitlines() == [f"{NEEDS_LINE}9.1", "g = f(2)"], "a cell that needs 9.1 says so first"
    assert cells[6].source.splitlines() == ['from course_utils.outcome import require_exercises; '
                                            'require_exercises("9.1")', "assert True", 'print("✓ All checks passed.")']
    assert SKIP_TAG in cells[3].metadata["tags"] and SKIP_TAG in cells[6].metadata["tags"]


def test_every_cell_of_a_split_checks_section_requires_the_exercises():
    two_cells = make_nb(IMPORT, statement("9.1", "Double it"), SOLUTION, CHECK,
                        md("## Checks"), code("assert True", checks=True), code('print("✓ All checks passed.")', checks=True))
    cells = release_notebook(two_cells, "two.ipynb").notebook.cells
    assert all(c.source.startswith('from course_utils.outcome import require_exercises; require_exercises("9.1")')
               for c in cells[5:7]), "the last Checks cell must not print 'All checks passed' before the exercises pass"


@pytest.mark.parametrize("marker", ["## BEGIN SOLUTION", "### BEGIN SOLUTION:", "### begin solution", "#### BEGIN SOLUTION",
                                    "# Begin Solution", "### BEGIN SOLUTION  # the answer", "  ##BEGIN_SOLUTION"])
def test_marker_typos_stop_the_build(marker, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    nb = copy.deepcopy(GOOD)
    nb.cells[2].source = nb.cells[2].source.replace(BEGIN, marker)
    nbformat.write(nb, src / "bad.ipynb")
    with pytest.raises(CourseError, match=r"bad.ipynb, cell 3, line 2: .* is not a marker"):
        build_release(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


ST = statement("1.1", "One")


@pytest.mark.parametrize("cells, message", [
    ([ST, solution("1.1", "### BEGIN SOLUTION\nx = 1")], "cell 2, line 1: ### BEGIN SOLUTION is never closed"),
    ([ST, solution("1.1", "x = 1\n### END SOLUTION")], "cell 2, line 2: ### END SOLUTION without"),
    ([ST, solution("1.1", "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION")], "cell 2, line 2: nested"),
    ([md("### Exercise 1.1\n## end solution\nsecret")], "cell 1, line 2: solution marker outside an exercise's solution cell"),
    ([code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")], "cell 1, line 1: solution marker outside an exercise's solution cell"),
    ([IMPORT, statement("9.1", "Double it"), code("x = 1"), CHECK], r"cell 4: Exercise 9.1's cells must come in the order"),
    ([IMPORT, statement("9.1", "Double it"), SOLUTION, code("f(2)")], "Exercise 9.1 has no check cell"),
    ([IMPORT, statement("9.1", "Double it"), solution("9.1", "x = 1"), CHECK], "cell 3: Exercise 9.1's solution cell has no"),
    ([IMPORT, statement("9.1", "Double it"), SOLUTION, SOLUTION, CHECK], "cell 4: a second solution cell for Exercise 9.1"),
    ([IMPORT, statement("9.1", "Double it"), CHECK, SOLUTION], r"cell 3: Exercise 9.1's cells must come in the order"),
    ([IMPORT, md("### Exercise 9.1", exercise="9.1", part="statement"), SOLUTION, CHECK], "cell 2: Exercise 9.1's statement needs a 'title'"),
    ([IMPORT, md("### Exercise 9.2 · Double it", exercise="9.1", part="statement", title="Double it"), SOLUTION, CHECK],
     "cell 2: the statement of Exercise 9.1 must say 'Exercise 9.1'"),
    ([IMPORT, code("x", exercise="9.1", part="statement", title="t")], "cell 2: Exercise 9.1's statement must be a markdown cell"),
    ([IMPORT, code("x", exercise="9.1", part="answer")], "cell 2: part 'answer' is none of"),
    ([IMPORT, code("x", exercise="one", part="solution")], "cell 2: exercise 'one' is not a number"),
    ([IMPORT, code("x", needed=["9.1"])], r"cell 2: unknown course metadata \['needed'\]"),
    ([IMPORT, code("g = f(2)", needs=["9.1"]), statement("9.1", "Double it"), SOLUTION, CHECK],
     "cell 2: needs Exercise 9.1, whose check cell is not above it"),
    ([IMPORT, md("## Checks", checks=True)], "cell 2: 'checks' marks a code cell"),
    ([IMPORT, code("x = 1", ignore_output="random")], "cell 2: an 'ignore_output' reason without the nbval-ignore-output tag"),
])
def test_malformed_exercises_stop_the_build(cells, message, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(make_nb(*cells), src / "bad.ipynb")
    with pytest.raises(CourseError, match=f"bad.ipynb[,:] {message}"):
        build_release(src, tmp_path / "out")
    assert main(["release", str(src), "--out", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()


def test_a_solution_cell_may_hold_several_blocks():
    nb = copy.deepcopy(GOOD)
    nb.cells[2].source = ("class A:\n    def __init__(self):\n        ### BEGIN SOLUTION\n        self.k = 2\n        ### END SOLUTION\n\n"
                          "    def f(self, v):\n        ### BEGIN SOLUTION\n        return self.k * v\n        ### END SOLUTION")
    released = release_notebook(nb, "two.ipynb")
    assert released.notebook.cells[2].source.count("raise NotImplementedError") == 2


@pytest.mark.parametrize("where", ["output", "metadata", "attachment", "source"])
def test_leak_scan_finds_a_solution_line_anywhere_in_its_notebook(where):
    released = release_notebook(GOOD, "good.ipynb")
    assert leak_scan([released], package_dir=None) == []
    cell = released.notebook.cells[2]
    if where == "output":
        cell.outputs = [nbformat.v4.new_output("stream", text="doubled = 2 * v\n")]
    elif where == "metadata":
        released.notebook.metadata["answers"] = {"9.1": "doubled = 2 * v"}
    elif where == "attachment":
        released.notebook.cells[1]["attachments"] = {"a.txt": {"text/plain": "doubled = 2 * v"}}
    else:
        released.notebook.cells[0].source += "\n# hint: doubled = 2 * v"
    leaks = leak_scan([released], package_dir=None)
    assert len(leaks) == 1 and "Exercise 9.1's solution (good.ipynb, cell 3) is in the release: 'doubled = 2 * v'" in leaks[0]


SECRET = make_nb(IMPORT, statement("9.2", "Per class"),
                 solution("9.2", "def per_class(p, y, n):\n    ### BEGIN SOLUTION\n    hits = np.bincount(y[p == y], minlength=n)\n"
                          "    totals = np.maximum(np.bincount(y, minlength=n), 1)\n    return hits / totals\n    ### END SOLUTION"),
                 check("9.2", "check_boundary_line(per_class)"))


def test_leak_scan_finds_a_solution_in_another_released_notebook():
    other = make_nb(code("counts = np.bincount(y[p == y], minlength=n)\nall_ = np.maximum(np.bincount(y, minlength=n), 1)\n"
                             "print(counts / all_)"))
    leaks = leak_scan([release_notebook(SECRET, "07_secret.ipynb"), release_notebook(other, "08_other.ipynb")],
                      package_dir=None)
    assert len(leaks) == 1
    assert leaks[0].startswith("Exercise 9.2 (07_secret.ipynb): 2 of its 3 solution lines appear outside it")
    assert "08_other.ipynb, cell 1, line 1" in leaks[0] and "08_other.ipynb, cell 1, line 2" in leaks[0]


def test_leak_scan_finds_a_solution_in_the_package_sources_even_reworded(tmp_path):
    package = tmp_path / "course_utils"
    package.mkdir()
    (package / "oracle.py").write_text("def oracle(p, y):  # the answer with the class count filled in\n"
                                       "    expected_hits = np.bincount(y[p == y], minlength=10)\n"
                                       "    all_ = np.maximum(np.bincount(y, minlength=10), 1)\n")
    leaks = leak_scan([release_notebook(SECRET, "07_secret.ipynb")], package_dir=package)
    assert len(leaks) == 1 and "course_utils/oracle.py, line 2" in leaks[0] and "course_utils/oracle.py, line 3" in leaks[0]
    (package / "oracle.py").write_text("def oracle(pred, labels):\n    return confusion_matrix(labels, pred).diagonal()\n")
    assert leak_scan([release_notebook(SECRET, "07_secret.ipynb")], package_dir=package) == []


def test_lines_shown_outside_solutions_are_not_leaks():
    nb = copy.deepcopy(GOOD)
    nb.cells.append(nbformat.v4.new_code_cell("doubled = 2 * v  # shown in the lecture anyway"))
    assert leak_scan([release_notebook(nb, "good.ipynb")], package_dir=None) == []


def test_a_notebook_without_a_course_id_is_refused(tmp_path):
    (tmp_path / "src").mkdir()
    nbformat.write(make_nb(IMPORT, id=None), tmp_path / "src" / "plain.ipynb")
    with pytest.raises(CourseError, match=r"plain.ipynb: no course id in the notebook's metadata"):
        build_release(tmp_path / "src", tmp_path / "out")


def test_every_course_notebook_is_a_valid_model_with_a_unique_id():
    assert [m.name for m in COURSE.notebooks.values()] == [p.name for p in NOTEBOOKS]
    assert [m.id for m in COURSE.notebooks.values()] == [p.stem for p in NOTEBOOKS]

