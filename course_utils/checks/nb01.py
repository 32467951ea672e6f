"""Self-checks for notebook 01 (what learning is): Exercises 1.1 and 1.2."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .core import Miss, check_shape, close, compare, exercise_check, without

NOTEBOOK = "01_learning_definitions"  # the course id of the notebook these checks belong to


def _sgd_reference(X: np.ndarray, y: np.ndarray, eta: float, steps: int) -> tuple[list[np.ndarray], np.ndarray]:
    """w after each step, and the loss before each step, of torch.optim.SGD on the mean squared error from w = 0."""
    import torch
    Xt, yt = torch.tensor(X), torch.tensor(y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=eta)
    trajectory, losses = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((Xt @ w - yt) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        opt.step()
        trajectory.append(w.detach().numpy().copy())
    return trajectory, np.array(losses)


_SOLVERS = ("lstsq", "solve", "inv", "pinv")


@exercise_check("1.1")
def check_least_squares_gd(least_squares_gd: Callable) -> None:
    """Check ``least_squares_gd(X, y, eta, steps) -> (w, losses)`` against torch.optim.SGD and np.linalg.lstsq.

    Inputs: least_squares_gd, gradient descent on the mean squared error from w = 0; X (N, D),
    y (N,); returns w (D,) after ``steps`` updates and losses (steps,), the loss before each
    update. It runs with NumPy's linear solvers made unavailable.
    """
    rng = np.random.default_rng(11)
    N, D, eta, steps = 60, 3, 0.05, 400
    X = np.c_[np.ones(N), rng.normal(size=(N, D - 1))]
    y = X @ rng.normal(size=D) + rng.normal(0, 0.1, N)
    optimum = np.linalg.lstsq(X, y, rcond=None)[0]

    def run(n_steps: int):
        with without("1.1", "numpy.linalg's solvers", [(np.linalg, name) for name in _SOLVERS]), \
                np.errstate(all="ignore"):
            out = least_squares_gd(X.copy(), y.copy(), eta, n_steps)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise Miss(f"least_squares_gd should return (w, losses), got {type(out).__name__}")
        return check_shape(f"w after {n_steps} step(s)", out[0], optimum), out[1]

    w1, _ = run(1)  # before the reference, which imports torch: an unfinished stub is reported at once
    trajectory, ref_losses = _sgd_reference(X, y, eta, steps)
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
    w, losses = run(steps)
    if not close(w, trajectory[-1], rtol=1e-7, atol=1e-10):
        compare(f"w after {steps} steps", w, trajectory[-1], rtol=1e-7, atol=1e-10,
                hint="your first step is right but later ones are not: each step needs the gradient at the current w")
    compare("losses", losses, ref_losses, rtol=1e-7, atol=1e-12,
            hint="the loss recorded for step t is the mean squared error at its start, before the update")
    compare(f"w after {steps} steps against lstsq", w, optimum, rtol=1e-6, atol=1e-8,
            hint="gradient descent should have converged here; is eta used as given?")


def _variance_across_rows(values: np.ndarray) -> np.ndarray:
    """For each column, the mean squared deviation of its entries, from all pairwise differences (ddof 0)."""
    diffs = values[:, None, :] - values[None, :, :]
    return (diffs ** 2).mean(axis=(0, 1)) / 2


@exercise_check("1.2")
def check_bias_variance(bias_variance: Callable) -> None:
    """Check ``bias_variance(preds, truth_values) -> (bias2, variance)``.

    Inputs: preds (S, T), the predictions of S models (one per training set) at T test inputs;
    truth_values (T,). Both outputs are single numbers averaged over the T test inputs. The
    reference gets the variance from all pairwise differences and bias² as the mean squared error
    minus the variance.
    """
    rng = np.random.default_rng(12)
    S, T = 40, 9
    truth_values = np.sin(np.linspace(0, 3, T))
    offsets = np.linspace(-0.5, 0.5, T) ** 3 * 4 + 0.05  # biases of both signs: they must not cancel
    preds = truth_values + offsets + rng.normal(0, 0.3, size=(S, T)) * np.linspace(0.5, 1.5, T)
    variance = _variance_across_rows(preds).mean()
    bias2 = np.mean((preds - truth_values) ** 2) - variance
    out = bias_variance(preds.copy(), truth_values.copy())
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise Miss(f"bias_variance should return (bias2, variance), got {type(out).__name__}")
    got_b, got_v = (np.asarray(v, dtype=float) for v in out)
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
