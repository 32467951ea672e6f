"""Self-checks for exercises: run the student's code against an oracle, explain any miss.

Every check compares with a reference computed on the spot (scikit-learn, torch or a numerical
gradient) on fresh random inputs, never with a stored copy of the answer. A check returns a
:class:`CheckResult`:

- ``passed``: the answer agrees with the oracle;
- ``not attempted``: the code still raises ``NotImplementedError`` (the notebook keeps running);
- ``failed``: raises :class:`ExerciseFailed`, whose message says what differs, where, and the
  usual cause. In Jupyter it prints as that message alone, not as a traceback.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
RESULTS: dict[str, "CheckResult"] = {}  # latest result per exercise, for graders


@dataclass(frozen=True)
class CheckResult:
    exercise: str
    status: str
    message: str = ""

    def __str__(self) -> str:
        mark = {PASSED: "✓", FAILED: "✗", NOT_ATTEMPTED: "…"}[self.status]
        return f"{mark} Exercise {self.exercise}: {self.status}" + (f". {self.message}" if self.message else "")

    __repr__ = __str__


class ExerciseFailed(AssertionError):
    """A wrong answer. Shown in Jupyter as its message only."""

    def __init__(self, result: CheckResult):
        super().__init__(str(result))
        self.result = result

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [str(self.result)]


class Miss(Exception):
    """Raised inside a check body to report what differs."""


def exercise_check(exercise: str) -> Callable:
    """Decorator turning ``body(*student_code) -> None`` (raising :class:`Miss`) into a check."""
    def wrap(body: Callable) -> Callable:
        @functools.wraps(body)
        def check(*student, raise_on_fail: bool = True) -> CheckResult:
            try:
                body(*student)
                result = CheckResult(exercise, PASSED)
            except NotImplementedError:
                result = CheckResult(exercise, NOT_ATTEMPTED, "Fill in the code above, run it, then run this cell")
            except Miss as miss:
                result = CheckResult(exercise, FAILED, str(miss))
            except Exception as e:  # the student's code crashed: say where, briefly
                result = CheckResult(exercise, FAILED, f"your code raised {type(e).__name__}: {e}")
            RESULTS[exercise] = result
            if result.status == FAILED and raise_on_fail:
                raise ExerciseFailed(result)
            return result  # shown by Jupyter as the cell's value
        check.exercise = exercise
        return check
    return wrap


def compare(name: str, got, expected, *, rtol: float = 1e-5, atol: float = 1e-8, hint: str = "") -> None:
    """Raise :class:`Miss` unless ``got`` matches ``expected`` in shape and value, saying how it differs."""
    expected = np.asarray(expected, dtype=float)
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Miss(f"{name} should be an array of numbers with shape {expected.shape}, got {type(got).__name__}")
    if got.shape != expected.shape:
        cause = ""
        if got.shape == expected.shape[::-1] and got.ndim == 2:
            cause = " (transposed: a missing or extra .T?)"
        elif got.size == expected.size:
            cause = " (same numbers of entries: a reshape or an axis mix-up?)"
        elif got.ndim == expected.ndim - 1 or got.ndim + 1 == expected.ndim:
            cause = " (one axis too few or too many: a sum over the wrong axis, or keepdims?)"
        raise Miss(f"{name} has shape {got.shape}, expected {expected.shape}{cause}")
    if not np.all(np.isfinite(got)):
        raise Miss(f"{name} contains NaN or inf")
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return
    err = np.abs(got - expected) / (np.abs(expected) + atol)
    where = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    msg = (f"{name} differs: largest relative error {float(err.max()):.2e} at index {tuple(int(i) for i in where)} "
           f"(got {float(got[where]):.6g}, expected {float(expected[where]):.6g})")
    raise Miss(msg + (f". {hint}" if hint else ""))


# ---------------------------------------------------------------- notebook 02: two moons

def _moons(seed: int, n: int = 80):
    from sklearn.datasets import make_moons
    return make_moons(n_samples=n, noise=0.25, random_state=seed)


@exercise_check("2.1")
def check_boundary_line(boundary_line: Callable) -> None:
    """``boundary_line(model) -> (slope, intercept)`` of a fitted 2-D LogisticRegression's boundary."""
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(21)
    for seed in range(3):
        X, y = _moons(seed)
        X = X * rng.uniform(0.5, 2, size=2)  # another scale each time: no hard-coded line passes
        model = LogisticRegression().fit(X, y)
        out = boundary_line(model)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise Miss(f"boundary_line should return a tuple (slope, intercept), got {out!r}")
        slope, intercept = (float(v) for v in out)
        x1 = np.linspace(X[:, 0].min(), X[:, 0].max(), 7)
        on_line = np.c_[x1, slope * x1 + intercept]
        compare("decision_function on your line", model.decision_function(on_line), np.zeros(7), atol=1e-6,
                hint="On the boundary w1*x1 + w2*x2 + b = 0; solve for x2 (check the signs and which weight divides)")


@exercise_check("2.2")
def check_mlp_forward(forward: Callable) -> None:
    """``forward(mlp, X) -> P(class 1)`` (N,) computed by hand from ``mlp.coefs_`` and ``mlp.intercepts_``."""
    import warnings

    from sklearn.neural_network import MLPClassifier
    for seed, hidden in ((0, (6,)), (1, (5, 4)), (2, (3, 7, 2))):
        X, y = _moons(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few iterations only: convergence is not the point
            mlp = MLPClassifier(hidden_layer_sizes=hidden, max_iter=30, random_state=seed).fit(X, y)
        points = np.random.default_rng(seed).normal(size=(11, 2))
        compare(f"forward(mlp, X) for hidden layers {hidden}", forward(mlp, points), mlp.predict_proba(points)[:, 1],
                rtol=1e-6, hint="Hidden layers use ReLU, the output the logistic sigmoid; x @ W + b, not W @ x")
