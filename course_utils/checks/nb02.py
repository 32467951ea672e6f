"""Self-checks for notebook 02 (two moons): Exercises 2.1 and 2.2."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .core import Miss, close, compare, check_shape, exercise_check, without

NOTEBOOK = "02_two_moons_mlp"  # the course id of the notebook these checks belong to


def _moons(seed: int, n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons
    return make_moons(n_samples=n, noise=0.25, random_state=seed)


def _boundary_x2(model, x1: float) -> float:
    """The x2 where the model's decision function is 0 at x1: a secant step, exact for a linear function."""
    f0, f1 = model.decision_function(np.array([[x1, 0.0], [x1, 1.0]]))
    return float(f0 / (f0 - f1))


@exercise_check("2.1")
def check_boundary_line(boundary_line: Callable) -> None:
    """Check ``boundary_line(model) -> (slope, intercept)`` on logistic regressions fitted here.

    Inputs: boundary_line, a function of a fitted 2-D LogisticRegression (coef_ (1, 2), intercept_ (1,)).
    The reference line passes through two points where ``model.decision_function`` is 0, found
    numerically.
    """
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(21)
    for seed in range(3):
        X, y = _moons(seed)
        X = X * rng.uniform(0.5, 2, size=2)  # another scale each time: no hard-coded line passes
        model = LogisticRegression().fit(X, y)
        x2_at_0, x2_at_1 = _boundary_x2(model, 0.0), _boundary_x2(model, 1.0)
        true_slope, true_intercept = x2_at_1 - x2_at_0, x2_at_0
        out = boundary_line(model)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise Miss(f"boundary_line should return a pair (slope, intercept), got {out!r}")
        slope, intercept = (float(np.squeeze(v)) for v in out)
        where = f"(yours {{:.4g}}, the boundary's {{:.4g}}, on a model fitted by the check)"
        if not close(slope, true_slope, rtol=1e-6):
            if close(slope, -true_slope, rtol=1e-6):
                raise Miss("The slope has the wrong sign " + where.format(slope, true_slope)
                           + ": recheck the signs when you move terms across the boundary's equation")
            raise Miss("The slope is wrong " + where.format(slope, true_slope)
                       + ": the boundary is where the decision function is 0; solve that equation for x2 "
                         "and check which weight ends up dividing")
        if not close(intercept, true_intercept, rtol=1e-6, atol=1e-9):
            if close(intercept, -true_intercept, rtol=1e-6):
                raise Miss("The intercept has the wrong sign " + where.format(intercept, true_intercept)
                           + ": recheck the sign of the bias term when you solve for x2")
            raise Miss("The intercept is wrong " + where.format(intercept, true_intercept)
                       + ": it is the boundary's x2 at x1 = 0; which terms remain there?")


_SKLEARN_FORWARD = ("predict", "predict_proba", "predict_log_proba", "_forward_pass_fast", "_forward_pass")


def _proba_with_hidden(mlp, activation: str, points: np.ndarray) -> np.ndarray:
    """P(class 1) that scikit-learn computes when the hidden layers use ``activation`` instead."""
    original = mlp.activation
    try:
        mlp.activation = activation
        return mlp.predict_proba(points)[:, 1]
    finally:
        mlp.activation = original


@exercise_check("2.2")
def check_mlp_forward(forward: Callable) -> None:
    """Check ``forward(mlp, X) -> P(class 1)``, shape (N,), against ``mlp.predict_proba``.

    Inputs: forward, a function of a fitted MLPClassifier and X (N, 2). It runs with scikit-learn's
    own prediction methods made unavailable: the exercise is to compute them from the arrays.
    """
    import warnings

    from sklearn.neural_network import MLPClassifier
    for seed, hidden in ((0, (6,)), (1, (5, 4)), (2, (3, 7, 2))):
        X, y = _moons(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few iterations only: convergence is not the point
            mlp = MLPClassifier(hidden_layer_sizes=hidden, max_iter=30, random_state=seed).fit(X, y)
        points = np.random.default_rng(seed).normal(size=(11, 2))
        expected = mlp.predict_proba(points)[:, 1]
        variants = {name: _proba_with_hidden(mlp, name, points) for name in ("identity", "tanh", "logistic")}
        with without("2.2", "scikit-learn's prediction methods", [(MLPClassifier, m) for m in _SKLEARN_FORWARD]):
            out = forward(mlp, points)
        name = f"forward(mlp, X) for hidden layers {hidden}"
        got = check_shape(name, out, expected)
        if np.any(got < 0) or np.any(got > 1):
            raise Miss(f"{name} returns values that are not probabilities (e.g. {got[(got < 0) | (got > 1)][0]:.4g}, "
                       "outside [0, 1]): look at the activation of the output unit")
        if close(got, 1 - expected, rtol=1e-6):
            raise Miss(f"{name} returns P(class 0), not P(class 1): look at what the single output unit's "
                       "sigmoid gives")
        if close(got, variants["identity"], rtol=1e-6):
            raise Miss(f"{name}: your hidden layers apply no activation; MLPClassifier's hidden layers apply ReLU")
        for other in ("tanh", "logistic"):
            if close(got, variants[other], rtol=1e-6):
                raise Miss(f"{name}: your hidden layers apply {other}; MLPClassifier's hidden layers apply ReLU")
        compare(name, got, expected, rtol=1e-6,
                hint="Look at each layer in turn: which side of the product the activations go on "
                     "(rows are examples), the bias, and ReLU on hidden layers only")
