"""The course model (course_utils.tools.course) on the course's own notebooks and on small cases."""
from pathlib import Path

import nbformat
import pytest
from course_notebooks import check, code, make_nb, solution, statement

from course_utils.tools.course import Course, load_course, plain_stem, read_model, uses_of_exercises

REPO = Path(__file__).resolve().parents[1]
COURSE = load_course(REPO / "notebooks")


@pytest.mark.parametrize("cid", list(COURSE.notebooks))
def test_every_cell_that_uses_an_exercise_says_it_needs_it(cid):
    """A cell using what an exercise defines (directly, or through a cell that does) is skipped in the
    release until that exercise passes, so its metadata must name it."""
    model = COURSE.notebooks[cid]
    missing = {model.where(i): sorted(n - set(model.needs.get(i, ()))) for i, n in uses_of_exercises(model).items()
               if not n <= set(model.needs.get(i, ()))}
    assert not missing, f"cells using an exercise's result without 'needs' in their course metadata: {missing}"


def test_exercise_numbers_are_unique_across_the_course():
    numbers = [e.number for _, e in COURSE.exercises]
    assert len(numbers) == len(set(numbers)) and len(numbers) >= 10


def test_uses_follow_names_through_cells_and_stop_where_a_name_is_made_again():
    nb = make_nb(code("import numpy as np\nrng = 1"), statement("9.1", "Double"),
                 solution("9.1", "def f(v):\n    ### BEGIN SOLUTION\n    return 2 * v\n    ### END SOLUTION"),
                 check("9.1", "check(f)"),
                 code("y = f(2)"),  # 4: uses f
                 code("z = y + 1"),  # 5: through y
                 code("rng = f(3)"),  # 6: redefines a name made before: rng keeps its old value when skipped
                 code("print(rng)"),  # 7: not counted
                 code("history = []"),  # 8
                 code("history.append(f(1))"),  # 9: changes history in place
                 code("print(len(history))"),  # 10: so this one needs 9.1 too
                 code("y = 5"),  # 11: makes y again without the exercise
                 code("print(y)"))  # 12: not counted
    uses = uses_of_exercises(read_model(nb))
    assert uses == {4: {"9.1"}, 5: {"9.1"}, 6: {"9.1"}, 9: {"9.1"}, 10: {"9.1"}}


@pytest.mark.parametrize("name, stem", [("Copy of 02_two_moons_mlp.ipynb", "02_two_moons_mlp"),
                                        ("02_two_moons_mlp (1).ipynb", "02_two_moons_mlp"),
                                        ("Copy of Copy of 02_two_moons_mlp (2) (3).ipynb", "02_two_moons_mlp"),
                                        ("two_moons_homework.ipynb", "two_moons_homework")])
def test_plain_stem_removes_what_copies_add(name, stem):
    assert plain_stem(name) == stem


def test_a_submission_is_matched_by_its_id_before_its_file_name():
    nb = nbformat.read(REPO / "notebooks" / "02_two_moons_mlp.ipynb", as_version=4)
    assert COURSE.match(nb, "whatever_name.ipynb").id == "02_two_moons_mlp"
    nb.metadata["course"]["id"] = "04_from_scratch_layers"
    assert COURSE.match(nb, "02_two_moons_mlp.ipynb").id == "04_from_scratch_layers", "the id wins over the name"
    del nb.metadata["course"]
    assert COURSE.match(nb, "Copy of 02_two_moons_mlp (1).ipynb").id == "02_two_moons_mlp"
    assert COURSE.match(nb, "homework.ipynb") is None
    nb.metadata["course"] = {"id": "07_not_in_the_course"}
    assert COURSE.match(nb, "02_two_moons_mlp.ipynb") is None, "an unknown id is not a notebook of this course"
    assert isinstance(COURSE, Course)
