"""Self-checks for notebook 01 (what learning is): Exercises 1.1 and 1.2."""
from __future__ import annotations

import numpy as np

from .core import (Ban, Foreign, Miss, attempt, check_shape, close, compare, exercise_check, field, outcome, pair,
                   rng_for, type_name, without)

NOTEBOOK = "01_learning_definitions"  # the course id of the notebook these checks belong to


# ---------------------------------------------------------------- 1.1

SOLVERS = Ban("numpy.linalg's solvers",
              names=("numpy.linalg.lstsq", "numpy.linalg.solve", "numpy.linalg.inv", "numpy.linalg.pinv"))
_ETA, _STEPS = 0.05, 400


def _regression(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X (60, 3), a column of ones and two random features, and y (60,), the same on both sides for a seed.

    Drawn again (from the same stream) until gradient descent from w = 0 is within 1e-9 of the
    least-squares solution after the check's 400 steps: the error shrinks each step by at most the
    largest |1 - eta * lambda| over the eigenvalues lambda of the loss's Hessian (2/N) X'X, so a
    correct answer always meets the check's comparison with lstsq.
    """
    rng = rng_for(seed, 11)
    N, D = 60, 3
    while True:
        X = np.c_[np.ones(N), rng.normal(size=(N, D - 1))]
        y = X @ rng.normal(size=D) + rng.normal(0, 0.1, N)
        contraction = np.max(np.abs(1 - _ETA * np.linalg.eigvalsh(2 / N * X.T @ X)))
        optimum = np.linalg.lstsq(X, y, rcond=None)[0]
        if contraction ** _STEPS * np.linalg.norm(optimum) < 1e-9:
            return X, y


def _gd_reference(X: np.ndarray, y: np.ndarray, eta: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """w after each step (steps, D), and the loss before each step (steps,), of gradient descent on the mean
    squared error from w = 0, in closed form rather than by iterating: with the loss's Hessian
    H = (2/N) X'X = Q diag(lambda) Q' and the least-squares solution w*, the error w_t - w* shrinks by
    (I - eta H) each step, so w_t = Q diag(1 - (1 - eta lambda)^t) Q' w*."""
    lam, Q = np.linalg.eigh(2 / len(y) * X.T @ X)
    optimum = np.linalg.lstsq(X, y, rcond=None)[0]
    decay = (1 - eta * lam) ** np.arange(steps + 1)[:, None]  # (steps + 1, D)
    W = ((1 - decay) * (Q.T @ optimum)) @ Q.T  # w_0 = 0, w_1, ..., w_steps
    return W[1:], ((W[:-1] @ X.T - y) ** 2).mean(axis=1)


def probe_least_squares_gd(least_squares_gd, seed: int) -> dict:
    """Calls ``least_squares_gd(X, y, 0.05, steps)`` for 1 step and for 400 steps (each on copies of X
    and y), with NumPy's linear solvers made unavailable."""
    X, y = _regression(seed)
    with without("1.1", SOLVERS, [(np.linalg, name.rsplit(".", 1)[1]) for name in SOLVERS.names]), \
            np.errstate(all="ignore"):
        one = attempt(least_squares_gd, X.copy(), y.copy(), _ETA, 1)
        full = attempt(least_squares_gd, X.copy(), y.copy(), _ETA, _STEPS)
    return {"one": one, "full": full}


def _w_and_losses(data: dict, key: str, steps: int, optimum: np.ndarray) -> tuple[np.ndarray, object]:
    out = pair("least_squares_gd", outcome(field(data, key)), "(w, losses)")
    return check_shape(f"w after {steps} step(s)", out[0], optimum), out[1]


def judge_least_squares_gd(data: dict, seed: int) -> None:
    """The reference trajectory is gradient descent's in closed form; the limit is np.linalg.lstsq's solution."""
    X, y = _regression(seed)
    optimum = np.linalg.lstsq(X, y, rcond=None)[0]
    w1, _ = _w_and_losses(data, "one", 1, optimum)  # an unfinished stub is reported first
    trajectory, ref_losses = _gd_reference(X, y, _ETA, _STEPS)
    step, ref_step = w1, trajectory[0]  # from w = 0, w after one step is the step itself
    if not close(step, ref_step, rtol=1e-7, atol=1e-12):
        if close(step, -ref_step, rtol=1e-7, atol=1e-12):
            raise Miss("Your first step goes uphill: it points along the gradient, so the loss grows; gradient "
                       "descent moves against it")
        scale = float(step @ ref_step / (ref_step @ ref_step))
        if close(step, scale * ref_step, rtol=1e-7, atol=1e-12):
            raise Miss(f"Your first step points the right way but is {scale:.3g} times the right length: look at "
                       "the constant factors of the gradient of the mean squared error (from the mean and the square)")
        compare("w after one step from w = 0", step, ref_step, rtol=1e-7, atol=1e-12,
                hint="look at the gradient of the mean squared error with respect to w: its shape is w's, (D,)")
    w, losses = _w_and_losses(data, "full", _STEPS, optimum)
    if not close(w, trajectory[-1], rtol=1e-7, atol=1e-10):
        compare(f"w after {_STEPS} steps", w, trajectory[-1], rtol=1e-7, atol=1e-10,
                hint="your first step is right but later ones are not: each step needs the gradient at the current w")
    compare("losses", losses, ref_losses, rtol=1e-7, atol=1e-12,
            hint="the loss recorded for step t is the mean squared error at its start, before the update")
    compare(f"w after {_STEPS} steps against lstsq", w, optimum, rtol=1e-6, atol=1e-8,
            hint="gradient descent should have converged here; is eta used as given?")


check_least_squares_gd = exercise_check("1.1", probe=probe_least_squares_gd, judge=judge_least_squares_gd,
                                        ban=SOLVERS, doc="""\
Check ``least_squares_gd(X, y, eta, steps) -> (w, losses)`` against gradient descent in closed form and np.linalg.lstsq.

Inputs: least_squares_gd, gradient descent on the mean squared error from w = 0; X (N, D),
y (N,); returns w (D,) after ``steps`` updates and losses (steps,), the loss before each
update. It runs with NumPy's linear solvers made unavailable.""")


# ---------------------------------------------------------------- 1.2

def _predictions(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """preds (40, 9), the predictions of 40 models at 9 test inputs, and truth_values (9,)."""
    rng = rng_for(seed, 12)
    S, T = 40, 9
    truth_values = np.sin(np.linspace(0, 3, T))
    offsets = np.linspace(-0.5, 0.5, T) ** 3 * 4 + 0.05  # biases of both signs: they must not cancel
    preds = truth_values + offsets + rng.normal(0, 0.3, size=(S, T)) * np.linspace(0.5, 1.5, T)
    return preds, truth_values


def _variance_across_rows(values: np.ndarray) -> np.ndarray:
    """For each column, the mean squared deviation of its entries, from all pairwise differences (ddof 0)."""
    diffs = values[:, None, :] - values[None, :, :]
    return (diffs ** 2).mean(axis=(0, 1)) / 2


def probe_bias_variance(bias_variance, seed: int) -> dict:
    """Calls ``bias_variance(preds, truth_values)`` on the predictions of 40 models at 9 test inputs."""
    preds, truth_values = _predictions(seed)
    return {"call": attempt(bias_variance, preds.copy(), truth_values.copy())}


def _numbers(value) -> np.ndarray:
    """bias2 or variance as the student returned it, as a float array (its shape is checked next)."""
    try:
        if isinstance(value, (Foreign, str)) or value is None:
            raise TypeError(type_name(value))
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise Miss("bias2 and variance should be single numbers, averaged over the test inputs; got "
                   f"{type_name(value)}") from None


def judge_bias_variance(data: dict, seed: int) -> None:
    """The reference gets the variance from all pairwise differences and bias² as the mean squared error
    minus the variance."""
    out = pair("bias_variance", outcome(field(data, "call")), "(bias2, variance)")
    preds, truth_values = _predictions(seed)
    S = len(preds)
    variance = _variance_across_rows(preds).mean()
    bias2 = np.mean((preds - truth_values) ** 2) - variance
    got_b, got_v = (_numbers(v) for v in out)
    if got_b.shape != () or got_v.shape != ():
        raise Miss(f"bias2 and variance should be single numbers, averaged over the test inputs; got shapes "
                   f"{got_b.shape} and {got_v.shape}")
    if not close(got_v, variance, rtol=1e-9):
        if close(got_v, _variance_across_rows(preds.T).mean(), rtol=1e-9):
            raise Miss("Your variance is the spread across test inputs; the variance is the spread of the "
                       "predictions across training sets (models), at each test input, then averaged")
        if close(got_v, variance * S / (S - 1), rtol=1e-9):
            raise Miss("Your variance divides by S − 1: here it describes these S models themselves, so divide by S")
        compare("variance", got_v, variance, rtol=1e-9,
                hint="at each test input, the mean squared deviation of the S predictions from their average")
    if not close(got_b, bias2, rtol=1e-9):
        if close(got_b, np.mean((preds - truth_values) ** 2), rtol=1e-9):
            raise Miss("Your bias² includes the variance: it is the error of the average prediction, squared, "
                       "not the average of the squared errors")
        if close(got_b, (preds.mean() - truth_values.mean()) ** 2, rtol=1e-9):
            raise Miss("Your bias² averages the bias over test inputs before squaring, so errors of opposite signs "
                       "cancel: square at each test input, then average")
        compare("bias2", got_b, bias2, rtol=1e-9,
                hint="at each test input, (average prediction − truth)², then the mean over test inputs")


check_bias_variance = exercise_check("1.2", probe=probe_bias_variance, judge=judge_bias_variance, doc="""\
Check ``bias_variance(preds, truth_values) -> (bias2, variance)``.

Inputs: preds (S, T), the predictions of S models (one per training set) at T test inputs;
truth_values (T,). Both outputs are single numbers averaged over the T test inputs. The
reference gets the variance from all pairwise differences and bias² as the mean squared error
minus the variance.""")
