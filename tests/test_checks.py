"""course_utils.checks, on the notebooks' own exercise cells, without a kernel.

For every exercise the solution cell is taken from its notebook, its solution block(s) replaced
by the notebook's answer, by each correct variant and each plausible wrong answer of
tests/wrong_answers.py, and by the release's stub; the cell then runs in a namespace prepared by
the notebook's first code cell (as in a student's kernel), and the exercise's check is called on
the result: the correct answers pass, each wrong answer fails with its own message, the stub is
"not attempted".
"""
from __future__ import annotations

import json
import linecache
import os
import re
import sys
import textwrap
from pathlib import Path

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # this process only: an environment variable would reach the kernels later tests start

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils import checks  # noqa: E402
from course_utils.checks import FAILED, NOT_ATTEMPTED, PASSED, ExerciseFailed, Miss, compare  # noqa: E402
from course_utils.checks.core import NOT_ATTEMPTED_MESSAGE  # noqa: E402
from course_utils.tools.course import BEGIN, END, load_course  # noqa: E402
from course_utils.outcome import forget, latest  # noqa: E402
from course_utils.tools.release import release_notebook  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from wrong_answers import EXPECT, RIGHT, WRONG, blocks  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
COURSE = load_course(NOTEBOOKS)
CHECKS = checks.all_checks()


def _exercise_cells() -> dict[str, dict]:
    """exercise -> notebook path, index of its first code cell, of the solution and the check cell (the model's)."""
    found = {}
    for model, exercise in COURSE.exercises:
        first = next(i for i, c in enumerate(model.notebook.cells) if c.cell_type == "code")
        found[exercise.number] = dict(path=NOTEBOOKS / model.name, setup=first, solution=exercise.solution,
                                      check=exercise.check)
    return found


EXERCISES = _exercise_cells()
_SETUP: dict[Path, tuple[dict, torch.dtype]] = {}


def _setup_namespace(path: Path, index: int) -> tuple[dict, torch.dtype]:
    """The namespace after the notebook's first code cell, and the default dtype that cell sets."""
    if path not in _SETUP:
        before = torch.get_default_dtype()
        ns: dict = {"__name__": "__main__"}
        source = nbformat.read(path, as_version=4).cells[index].source
        cwd = os.getcwd()
        try:
            os.chdir(path.parent)
            exec(compile(source, f"{path.name}[setup]", "exec"), ns)
        finally:
            os.chdir(cwd)
            _SETUP[path] = (ns, torch.get_default_dtype())
            torch.set_default_dtype(before)
    return _SETUP[path]


def _with_blocks(source: str, answers: list[str]) -> str:
    """``source`` with its solution blocks replaced by ``answers`` (dedented), re-indented."""
    lines, out, k = source.splitlines(), [], 0
    inside = False
    for line in lines:
        if line.strip() == BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(textwrap.indent(answers[k], indent, lambda s: True).splitlines())
            k, inside = k + 1, True
        elif line.strip() == END:
            inside = False
        elif not inside:
            out.append(line)
    assert k == len(answers), f"{k} solution blocks in the cell, {len(answers)} answers given"
    return "\n".join(out)


def solution_source(exercise: str) -> str:
    info = EXERCISES[exercise]
    return nbformat.read(info["path"], as_version=4).cells[info["solution"]].source


def notebook_answer(exercise: str) -> str:
    """The notebook's own answer, in wrong_answers.py's format."""
    parts, current, inside = [], [], False
    for line in solution_source(exercise).splitlines():
        if line.strip() == BEGIN:
            inside, current = True, []
        elif line.strip() == END:
            inside = False
            parts.append(textwrap.dedent("\n".join(current)))
        elif inside:
            current.append(line)
    return "\n### NEXT BLOCK\n".join(parts)


def run_check(exercise: str, source: str, raise_on_fail: bool = True):
    """Execute a solution cell's ``source`` in the notebook's namespace, then the exercise's check
    cell as the notebook has it; returns the check's result (with ``raise_on_fail=False`` a wrong
    answer's result instead of its ExerciseFailed)."""
    info = EXERCISES[exercise]
    ns, dtype = _setup_namespace(info["path"], info["setup"])
    ns = dict(ns)
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    cell = f"<cell: {info['path'].name}, exercise {exercise}>"  # named and cached as IPython names a cell
    linecache.cache[cell] = (len(source), None, source.splitlines(True), cell)
    forget()  # the result returned is this run's
    try:
        exec(compile(source, cell, "exec"), ns)
        check_source = nbformat.read(info["path"], as_version=4).cells[info["check"]].source
        try:
            exec(compile(check_source, f"{info['path'].name}[check {exercise}]", "exec"), ns)
        except ExerciseFailed:
            if raise_on_fail:
                raise
        assert latest(exercise) is not None, f"the check cell of Exercise {exercise} does not run its check"
        return latest(exercise)
    finally:
        torch.set_default_dtype(before)


def run_answer(exercise: str, answer: str, **kwargs):
    return run_check(exercise, _with_blocks(solution_source(exercise), blocks(answer)), **kwargs)


def stub_source(exercise: str) -> str:
    """The solution cell as the student release ships it."""
    info = EXERCISES[exercise]
    released = release_notebook(nbformat.read(info["path"], as_version=4), info["path"].name)
    return released.notebook.cells[info["solution"]].source


WRONG_CASES = [(ex, i) for ex in sorted(WRONG) for i in range(len(WRONG[ex]))]
RIGHT_CASES = [(ex, i) for ex in sorted(RIGHT) for i in range(len(RIGHT[ex]))]


def test_every_exercise_of_the_course_has_a_check_and_every_check_an_exercise():
    assert set(EXERCISES) == set(CHECKS)
    assert all(isinstance(c, checks.Check) and c.exercise == n for n, c in CHECKS.items()), "each a probe and a judge"


def test_every_exercise_has_at_least_two_wrong_answers_with_messages():
    assert set(WRONG) == set(EXERCISES)
    for exercise, answers in WRONG.items():
        assert len(answers) >= 2, exercise
        assert len(EXPECT[exercise]) == len(answers), exercise


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_notebook_answer_passes(exercise):
    result = run_check(exercise, solution_source(exercise))
    assert result.status == PASSED, result
    assert latest(exercise).status == PASSED


@pytest.mark.parametrize("exercise, i", RIGHT_CASES)
def test_correct_variant_passes(exercise, i):
    result = run_answer(exercise, RIGHT[exercise][i], raise_on_fail=False)
    assert result.status == PASSED, result


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_stub_is_not_attempted_without_traceback(exercise):
    source = stub_source(exercise)
    assert "NotImplementedError" in source and BEGIN not in source
    result = run_check(exercise, source)  # no exception: the notebook keeps running
    assert result.status == NOT_ATTEMPTED
    assert str(result) == f"… Exercise {exercise}: not attempted. {NOT_ATTEMPTED_MESSAGE}"
    assert latest(exercise) == result


def test_an_unfinished_1_1_is_reported_before_its_torch_reference_is_built():
    """01 imports no torch: a stub of 1.1 is "not attempted" before the check builds its reference with
    torch.optim.SGD, so a student's first Run All does not wait for torch's import (about 2 s)."""
    import subprocess
    program = ("import sys\nfrom course_utils.checks import check_least_squares_gd\n"
               "def least_squares_gd(X, y, eta, steps):\n    raise NotImplementedError\n"
               "result = check_least_squares_gd(least_squares_gd, raise_on_fail=False)\n"
               "print(result.status, 'torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [*NOT_ATTEMPTED.split(), "False"]
    assert "torch" not in COURSE.notebooks["01_learning_definitions"].notebook.cells[1].source


@pytest.mark.parametrize("exercise, i", WRONG_CASES)
def test_wrong_answer_fails_with_its_message(exercise, i):
    with pytest.raises(ExerciseFailed) as err:
        run_answer(exercise, WRONG[exercise][i])
    message = str(err.value)
    assert message.startswith(f"✗ Exercise {exercise}: failed. ")
    assert EXPECT[exercise][i] in message, message
    assert err.value._render_traceback_() == [message]
    assert latest(exercise).status == FAILED
    assert "your code raised" not in message.lower()  # a specific message, not the generic crash report


def _public_lines(path: Path) -> set[str]:
    """Lines the instructor notebook shows outside its solution blocks (the release shows them too)."""
    public, inside = set(), False
    for cell in nbformat.read(path, as_version=4).cells:
        for line in cell.source.splitlines():
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
            elif not inside:
                public.add(line.strip())
    return public


def _code_lines(exercise: str) -> set[str]:
    """The answer's own lines that carry code (not blank, not comments, not shown elsewhere in its notebook)."""
    lines = {line.strip() for part in blocks(notebook_answer(exercise)) for line in part.splitlines()}
    lines -= _public_lines(EXERCISES[exercise]["path"])
    return {s for s in lines if s and not s.startswith("#") and len(s) > 12 and not re.fullmatch(r"[\w.]+\(\)", s)}


@pytest.mark.parametrize("exercise, i", WRONG_CASES)
def test_messages_show_no_code_of_the_answer(exercise, i):
    message = run_answer(exercise, WRONG[exercise][i], raise_on_fail=False).message
    for line in _code_lines(exercise):
        assert line not in message, (line, message)
    assert "@" not in message and "np." not in message and "torch." not in message.replace("torch.nn.functional", "") \
        .replace("torch.optim", ""), message


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_package_holds_no_answer_line(exercise):
    sources = "\n".join(p.read_text() for p in Path(checks.__file__).parent.glob("*.py"))
    sources += "\n".join(p.read_text() for p in Path(checks.__file__).parents[1].glob("*.py"))
    for line in _code_lines(exercise):
        assert line not in sources, (exercise, line)


def test_refused_shortcuts_are_restored_afterwards():
    import torch.nn.functional as F
    from sklearn.neural_network import MLPClassifier
    for exercise in ("2.2", "4.1", "4.2", "4.3", "4.4"):
        shortcut = next(a for a, m in zip(WRONG[exercise], EXPECT[exercise]) if "asks you to implement" in m)
        run_answer(exercise, shortcut, raise_on_fail=False)
    x = torch.ones(1, 1, 3, 3, requires_grad=True)
    F.conv2d(x, torch.ones(1, 1, 2, 2)).sum().backward()
    assert x.grad.sum().item() == 16
    opt = torch.optim.RMSprop([x], lr=0.1)
    opt.step()
    assert callable(MLPClassifier.predict_proba) and MLPClassifier.predict_proba.__name__ == "predict_proba"
    assert torch.Tensor.backward.__name__ == "backward" and torch.autograd.grad.__name__ == "grad"


def test_evaluate_gets_the_model_on_the_notebooks_device(monkeypatch):
    """The check puts its model where the notebook puts its own: on pick_device()'s device. The fake
    device is one no model is on unless moved there (not the CPU, where a model is built)."""
    import course_utils.env
    asked = []

    def pick_device():
        asked.append(torch.device("meta"))
        return asked[-1]

    monkeypatch.setattr(course_utils.env, "pick_device", pick_device)
    seen = []

    def evaluate(model, loader):
        seen.append(next(model.parameters()).device)
        raise NotImplementedError("Exercise 5.1")

    assert checks.check_evaluate(evaluate).status == NOT_ATTEMPTED
    assert len(asked) == 1 and seen == asked, (asked, seen)


def test_another_generator_is_found_when_two_of_its_estimates_coincide():
    """An answer that ignores the rng it is given: its first two estimates may agree by chance
    (about 1 in 150 runs at n = 20 000); the check must still find it, from the later calls."""
    own = np.random.default_rng(2026)
    calls = []

    def outer_shell_fraction(d, n, rng):
        calls.append(d)
        if len(calls) == 2:  # the chance coincidence, replayed: the second call repeats the first
            return first[0]
        x = own.uniform(-1, 1, size=(n, d))
        value = float(np.mean(np.abs(x).max(axis=1) > 0.95))
        first.append(value)
        return value

    first = []
    result = checks.check_outer_shell_fraction(outer_shell_fraction, raise_on_fail=False)
    assert result.status == FAILED and "rng you are given" in result.message, result.message


def test_crashing_answer_is_a_failure_with_the_error_and_the_line_of_the_students_code():
    answer = "h = X\nout = h @ np.ones((3, 3))\nreturn out"
    line = _with_blocks(solution_source("2.2"), blocks(answer)).splitlines().index("    out = h @ np.ones((3, 3))") + 1
    result = run_answer("2.2", answer, raise_on_fail=False)
    assert result.status == FAILED and "Your code raised ValueError" in result.message, result.message
    assert f"(in `forward`, line {line} of its cell: `out = h @ np.ones((3, 3))`)" in result.message, result.message


def test_compare_messages():
    with pytest.raises(Miss, match=r"transposed"):
        compare("W", np.zeros((3, 2)), np.zeros((2, 3)))
    with pytest.raises(Miss, match=r"one axis too few or too many"):
        compare("b", np.zeros(3), np.zeros((2, 3)))
    with pytest.raises(Miss, match=r"NaN"):
        compare("x", np.array([np.nan]), np.array([1.0]))
    with pytest.raises(Miss, match=r"largest relative error 1.50e\+00 at index \(1,\) \(got 5, expected 2\)"):
        compare("x", np.array([1.0, 5.0]), np.array([1.0, 2.0]))
    with pytest.raises(Miss, match=r"should be an array of numbers"):
        compare("x", "abc", np.array([1.0]))
    compare("x", [1.0, 2.0 + 1e-9], [1.0, 2.0])


def test_compare_reports_a_difference_not_a_relative_error_against_zero():
    with pytest.raises(Miss) as err:
        compare("decision function", np.array([0.0, 1.3]), np.zeros(2))
    assert "off by 1.30e+00 at index (1,)" in str(err.value) and "relative" not in str(err.value)


def test_results_hold_status_and_message_per_exercise_for_the_grader():
    run_answer("6.2", WRONG["6.2"][0], raise_on_fail=False)
    graded = json.loads(json.dumps([latest("6.2").status, latest("6.2").message]))
    assert graded[0] == FAILED and EXPECT["6.2"][0] in graded[1]


# ---------------------------------------------------------------- probe and judge, as the grader runs them

OTHER_SEEDS = (1, 7, 2**40 + 3)  # seeds a grader might draw: every check is judged the same way with each
DEFINES = {e.number: e.defines for _, e in COURSE.exercises}


def answer_object(exercise: str, source: str):
    """The answer (the function or class the model names) after running solution ``source`` in the
    notebook's namespace."""
    info = EXERCISES[exercise]
    ns, dtype = _setup_namespace(info["path"], info["setup"])
    ns = dict(ns)
    cell = f"<cell: {info['path'].name}, exercise {exercise}>"
    linecache.cache[cell] = (len(source), None, source.splitlines(True), cell)
    exec(compile(source, cell, "exec"), ns)
    return ns[DEFINES[exercise]], dtype


def grade_with_seed(exercise: str, source: str, seed: int):
    """The grader's path: the probe's JSON from this answer, judged for ``seed`` with the source scanned."""
    from course_utils.checks.core import judge_data
    answer, dtype = answer_object(exercise, source)
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        text = CHECKS[exercise].run_probe(answer, seed)
    finally:
        torch.set_default_dtype(before)
    return judge_data(CHECKS[exercise], text, seed, sources=[source])


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
@pytest.mark.parametrize("seed", OTHER_SEEDS)
def test_notebook_answer_passes_for_any_seed_as_graded(exercise, seed):
    result = grade_with_seed(exercise, solution_source(exercise), seed)
    assert result.status == PASSED, result


@pytest.mark.parametrize("exercise, i", WRONG_CASES)
def test_wrong_answer_fails_with_its_message_for_another_seed_as_graded(exercise, i):
    source = _with_blocks(solution_source(exercise), blocks(WRONG[exercise][i]))
    result = grade_with_seed(exercise, source, 7)
    assert result.status == FAILED and EXPECT[exercise][i] in result.message, result.message
    # printed after "failed." as a sentence of its own: a capital, unless it opens with a name of the code
    first = re.split(r"[\s(]", result.message, maxsplit=1)[0]
    assert first[:1].isupper() or re.search(rf"\b{re.escape(first)}\b", solution_source(exercise)), result.message
