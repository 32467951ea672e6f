"""Student release: solutions removed, nothing leaks, stubs report honestly, grading works end to end."""
import copy
import json
from pathlib import Path

import nbformat
import pytest

from course_utils.__main__ import main
from course_utils.exercises import (BEGIN, END, SKIP_TAG, STUDENT_MODE_LINE, ReleaseError, build_release,
                                    exercises_in, grade_notebook, leak_scan, release_notebook)

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
WITH_EXERCISES = [p for p in NOTEBOOKS if exercises_in(nbformat.read(p, as_version=4))]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    build_release(NOTEBOOKS[0].parent, out)
    return out


def test_at_least_two_notebooks_have_exercises():
    assert len(WITH_EXERCISES) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_release_strips_solutions_outputs_and_metadata(path, release):
    instructor = nbformat.read(path, as_version=4)
    student = nbformat.read(release / path.name, as_version=4)
    assert len(student.cells) == len(instructor.cells)
    text = json.dumps(student)
    assert BEGIN not in text and END not in text
    assert set(student.metadata) <= {"kernelspec", "language_info"}
    for cell in student.cells:
        assert set(cell.metadata) <= {"tags"}
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    stubs = [c.source for c in student.cells if c.cell_type == "code" and "raise NotImplementedError(" in c.source]
    for exercise in exercises_in(instructor):
        assert any(f'raise NotImplementedError("Exercise {exercise.number}: {exercise.title}")' in s for s in stubs)
    assert leak_scan(instructor, student, release_notebook(instructor)[1]) == []


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.name)
def test_round_trip_restores_the_instructor_sources(path, release):
    instructor = nbformat.read(path, as_version=4)
    student = nbformat.read(release / path.name, as_version=4)
    for inst, stud in zip(instructor.cells, student.cells):
        if inst.cell_type != "code":
            continue
        restored = stud.source.replace("\n" + STUDENT_MODE_LINE, "").splitlines()
        lines = inst.source.splitlines()
        blocks = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
        for begin in reversed(blocks):
            end = next(i for i in range(begin, len(lines)) if lines[i].strip() == END)
            # the stub's two lines stand where the block was: same position, shifted by earlier blocks
            at = begin - sum(end_ - b_ - 1 for b_, end_ in _blocks(lines) if b_ < begin)
            assert restored[at].strip() == "# YOUR CODE HERE" and "NotImplementedError" in restored[at + 1]
            restored[at:at + 2] = lines[begin:end + 1]
        assert "\n".join(restored) == inst.source


def _blocks(lines):
    out, start = [], None
    for i, line in enumerate(lines):
        if line.strip() == BEGIN:
            start = i
        elif line.strip() == END:
            out.append((start, i))
    return out


def make_nb(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source))
    return nb


GOOD = make_nb(("code", "import x"), ("md", "### Exercise 9.1 · Double it"),
               ("code", "def f(v):\n    ### BEGIN SOLUTION\n    doubled = 2 * v\n    return doubled\n    ### END SOLUTION"))


def test_stub_keeps_signature_and_indentation():
    student, removed = release_notebook(GOOD, "good.ipynb")
    assert student.cells[2].source == ('def f(v):\n    # YOUR CODE HERE\n'
                                       '    raise NotImplementedError("Exercise 9.1: Double it")')
    assert removed == ["    doubled = 2 * v", "    return doubled"]
    assert student.cells[0].source.endswith(STUDENT_MODE_LINE)


@pytest.mark.parametrize("cells, message", [
    ([("md", "### Exercise 1.1"), ("code", "### BEGIN SOLUTION\nx = 1")], "cell 2, line 1: ### BEGIN SOLUTION is never closed"),
    ([("md", "### Exercise 1.1"), ("code", "x = 1\n### END SOLUTION")], "cell 2, line 2: ### END SOLUTION without"),
    ([("md", "### Exercise 1.1"), ("code", "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION")],
     "cell 2, line 2: nested"),
    ([("md", "### Exercise 1.1\n### BEGIN SOLUTION\nsecret\n### END SOLUTION")], "cell 1: solution marker outside a code cell"),
    ([("code", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION")], "no 'Exercise N.k' heading"),
])
def test_malformed_markers_stop_the_build(cells, message, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(make_nb(*cells), src / "bad.ipynb")
    with pytest.raises(ReleaseError, match=f"bad.ipynb, {message}" if "cell" in message else message):
        build_release(src, tmp_path / "out")
    assert main(["release", str(src), "--out", str(tmp_path / "out")]) == 1


@pytest.mark.parametrize("where", ["output", "metadata", "attachment", "source"])
def test_leak_scan_finds_a_solution_line_anywhere(where):
    student, removed = release_notebook(GOOD)
    leaked = copy.deepcopy(student)
    cell = leaked.cells[2]
    if where == "output":
        cell.outputs = [nbformat.v4.new_output("stream", text="doubled = 2 * v\n")]
    elif where == "metadata":
        leaked.metadata["answers"] = {"9.1": "doubled = 2 * v"}
    elif where == "attachment":
        leaked.cells[1]["attachments"] = {"a.txt": {"text/plain": "doubled = 2 * v"}}
    else:
        leaked.cells[0].source += "\n# hint: doubled = 2 * v"
    assert leak_scan(GOOD, leaked, removed) == ["doubled = 2 * v"]
    assert leak_scan(GOOD, student, removed) == []


def test_lines_shown_outside_solutions_are_not_leaks():
    nb = copy.deepcopy(GOOD)
    nb.cells.append(nbformat.v4.new_code_cell("doubled = 2 * v  # shown in the lecture anyway"))
    nb.cells[-1].source = "doubled = 2 * v"
    student, removed = release_notebook(nb)
    assert leak_scan(nb, student, removed) == []


# ---------------------------------------------------------------- executing releases (slow: real kernels)

@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.name)
def test_release_runs_through_with_every_exercise_not_attempted(path, release):
    kept = []
    grades = grade_notebook(release / path.name, keep=kept)
    assert [g.status for g in grades] == ["not attempted"] * len(grades)
    executed = kept[0]
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == [], "every failure in a fresh release should be an announced skip"
    last_code = [c for c in executed.cells if c.cell_type == "code"][-2]  # the notebook's own last cell
    assert last_code.outputs, "the notebook should run to its end"


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.name)
def test_solutions_pass_their_checks(path):
    grades = grade_notebook(path)
    assert grades and all(g.status == "passed" for g in grades), grades


def test_wrong_answers_are_reported_failed(release, tmp_path, capsys):
    nb = nbformat.read(release / "02_two_moons_mlp.ipynb", as_version=4)
    for cell in nb.cells:
        if 'NotImplementedError("Exercise 2.1' in cell.source:
            cell.source = cell.source.replace('    # YOUR CODE HERE\n    raise NotImplementedError("Exercise 2.1: Where is the line?")',
                                              "    (w1, w2), b = model.coef_[0], model.intercept_[0]\n    return w1 / w2, -b / w2")
        if 'NotImplementedError("Exercise 2.2' in cell.source:
            cell.source = cell.source.replace('    # YOUR CODE HERE\n    raise NotImplementedError("Exercise 2.2: The MLP\'s forward pass by hand")',
                                              "    return mlp.predict(X)")
    path = tmp_path / "02_two_moons_mlp.ipynb"
    nbformat.write(nb, path)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "2.1       failed" in out and "decision_function on your line differs" in out
    assert "2.2       failed" in out and "largest relative error" in out
