"""course_utils.checks: each check passes a correct answer, reports a stub, explains a plausible mistake."""
import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import FAILED, NOT_ATTEMPTED, PASSED, ExerciseFailed, Miss, compare


def stub(*args):
    raise NotImplementedError("Exercise: fill me in")


def relu(z):
    return np.maximum(z, 0)


def forward_correct(mlp, X):
    a = X
    for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
        a = relu(a @ W + b)
    z = a @ mlp.coefs_[-1] + mlp.intercepts_[-1]
    return 1 / (1 + np.exp(-z[:, 0]))


def forward_no_activation(mlp, X):  # forgets the hidden ReLU: a plausible mistake
    a = X
    for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
        a = a @ W + b
    z = a @ mlp.coefs_[-1] + mlp.intercepts_[-1]
    return 1 / (1 + np.exp(-z[:, 0]))


def forward_keeps_column(mlp, X):  # returns (N, 1) instead of (N,)
    return forward_correct(mlp, X)[:, None]


def line_correct(model):
    (w1, w2), b = model.coef_[0], model.intercept_[0]
    return -w1 / w2, -b / w2


def line_sign_error(model):
    (w1, w2), b = model.coef_[0], model.intercept_[0]
    return w1 / w2, -b / w2


CASES = [
    (checks.check_boundary_line, line_correct, line_sign_error, "decision_function on your line differs"),
    (checks.check_mlp_forward, forward_correct, forward_no_activation, "largest relative error"),
    (checks.check_mlp_forward, forward_correct, forward_keeps_column, "has shape (11, 1), expected (11,)"),
]


@pytest.mark.parametrize("check, good, bad, message", CASES)
def test_check_passes_correct_answer(check, good, bad, message):
    assert check(good).status == PASSED
    assert checks.RESULTS[check.exercise].status == PASSED


@pytest.mark.parametrize("check, good, bad, message", CASES)
def test_check_reports_stub_as_not_attempted(check, good, bad, message):
    result = check(stub)  # no exception: the notebook keeps running
    assert result.status == NOT_ATTEMPTED
    assert str(result).startswith(f"… Exercise {check.exercise}: not attempted")


@pytest.mark.parametrize("check, good, bad, message", CASES)
def test_check_explains_plausible_mistake(check, good, bad, message):
    with pytest.raises(ExerciseFailed) as err:
        check(bad)
    assert message in str(err.value)
    assert err.value._render_traceback_() == [str(err.value.result)]
    assert check(bad, raise_on_fail=False).status == FAILED


def test_crashing_answer_is_a_failure_with_the_error():
    result = checks.check_mlp_forward(lambda mlp, X: X @ np.ones((3, 3)), raise_on_fail=False)
    assert result.status == FAILED and "your code raised ValueError" in result.message


def test_compare_messages():
    with pytest.raises(Miss, match=r"transposed"):
        compare("W", np.zeros((3, 2)), np.zeros((2, 3)))
    with pytest.raises(Miss, match=r"sum over the wrong axis"):
        compare("b", np.zeros(3), np.zeros((2, 3)))
    with pytest.raises(Miss, match=r"NaN"):
        compare("x", np.array([np.nan]), np.array([1.0]))
    with pytest.raises(Miss, match=r"at index \(1,\) \(got 5, expected 2\)"):
        compare("x", np.array([1.0, 5.0]), np.array([1.0, 2.0]))
    with pytest.raises(Miss, match=r"should be an array of numbers"):
        compare("x", "abc", np.array([1.0]))
    compare("x", [1.0, 2.0 + 1e-9], [1.0, 2.0])
