"""Self-checks for notebook 02 (two moons): Exercises 2.1 and 2.2."""
from __future__ import annotations

import numpy as np

from .core import (Ban, Foreign, Miss, attempt, check_shape, close, compare, exercise_check, field, int_seed, outcome,
                   pair, rng_for, type_name, without)

NOTEBOOK = "02_two_moons_mlp"  # the course id of the notebook these checks belong to


def _moons(seed: int, n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons
    return make_moons(n_samples=n, noise=0.25, random_state=seed)


# ---------------------------------------------------------------- 2.1

def _logistic_models(seed: int) -> list:
    """Three logistic regressions fitted on two moons, each scaled another way: the same on both sides for a seed."""
    from sklearn.linear_model import LogisticRegression
    rng = rng_for(seed, 21)
    models = []
    for k in range(3):
        X, y = _moons(int_seed(seed, 21, k))
        X = X * rng.uniform(0.5, 2, size=2)  # another scale each time: no hard-coded line passes
        models.append(LogisticRegression().fit(X, y))
    return models


def _boundary_x2(model, x1: float) -> float:
    """The x2 where the model's decision function is 0 at x1: a secant step, exact for a linear function."""
    f0, f1 = model.decision_function(np.array([[x1, 0.0], [x1, 1.0]]))
    return float(f0 / (f0 - f1))


def probe_boundary_line(boundary_line, seed: int) -> dict:
    """Calls ``boundary_line(model)`` on three logistic regressions fitted on two moons scaled three ways."""
    return {"calls": [attempt(boundary_line, model) for model in _logistic_models(seed)]}


def _number(name: str, value) -> float:
    """A slope or intercept the student returned, as a float: two plain numbers, not arrays or lists."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray):
        shown = f"an array of shape {value.shape}"
    elif isinstance(value, list):
        shown = f"a list of {len(value)}"
    else:
        shown = type_name(value) if isinstance(value, Foreign) or value is None else f"a {type_name(value)}"
    raise Miss(f"boundary_line should return two numbers (floats), the slope and the intercept; your {name} is "
               f"{shown}: take the number out of it, e.g. with .item() or float(...)")


def judge_boundary_line(data: dict, seed: int) -> None:
    """The reference line passes through two points where ``model.decision_function`` is 0, found numerically."""
    calls = field(data, "calls")
    if not isinstance(calls, list) or len(calls) != 3:
        raise TypeError("calls should be a list of three records")
    for model, call in zip(_logistic_models(seed), calls):
        x2_at_0, x2_at_1 = _boundary_x2(model, 0.0), _boundary_x2(model, 1.0)
        true_slope, true_intercept = x2_at_1 - x2_at_0, x2_at_0
        out = pair("boundary_line", outcome(call), "a pair (slope, intercept)")
        slope, intercept = _number("slope", out[0]), _number("intercept", out[1])
        where = "(yours {:.4g}, the boundary's {:.4g}, on a model fitted by the check)"
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


check_boundary_line = exercise_check("2.1", probe=probe_boundary_line, judge=judge_boundary_line, doc="""\
Check ``boundary_line(model) -> (slope, intercept)`` on logistic regressions fitted here.

Inputs: boundary_line, a function of a fitted 2-D LogisticRegression (coef_ (1, 2), intercept_ (1,)).
It should return two numbers (floats), not arrays. The reference line passes through two points
where ``model.decision_function`` is 0, found numerically.""")


# ---------------------------------------------------------------- 2.2

PREDICTION = Ban("scikit-learn's prediction methods",
                 methods=("predict", "predict_proba", "predict_log_proba", "_forward_pass_fast", "_forward_pass"))
_HIDDEN = ((6,), (5, 4), (3, 7, 2))


def _mlps(seed: int) -> list[tuple[tuple, object, np.ndarray]]:
    """(hidden layer sizes, a fitted MLPClassifier, 11 points) for three networks: the same on both sides for a seed."""
    import warnings

    from sklearn.neural_network import MLPClassifier
    cases = []
    for k, hidden in enumerate(_HIDDEN):
        X, y = _moons(int_seed(seed, 22, k))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few iterations only: convergence is not the point
            mlp = MLPClassifier(hidden_layer_sizes=hidden, max_iter=30, random_state=int_seed(seed, 22, k, 1)).fit(X, y)
        cases.append((hidden, mlp, rng_for(seed, 22, k).normal(size=(11, 2))))
    return cases


def _proba_with(mlp, points: np.ndarray, hidden: str | None = None, output: str | None = None) -> np.ndarray:
    """P(class 1) that scikit-learn computes when the hidden layers use activation ``hidden`` instead,
    or the output unit ``output`` ("identity": its value before the sigmoid)."""
    original = mlp.activation, mlp.out_activation_
    try:
        mlp.activation, mlp.out_activation_ = hidden or original[0], output or original[1]
        return mlp.predict_proba(points)[:, 1]
    finally:
        mlp.activation, mlp.out_activation_ = original


def probe_mlp_forward(forward, seed: int) -> dict:
    """Calls ``forward(mlp, X)`` on 11 points for three fitted networks (hidden layers (6,), (5, 4) and
    (3, 7, 2)), with scikit-learn's own prediction methods made unavailable."""
    from sklearn.neural_network import MLPClassifier
    calls = []
    for _, mlp, points in _mlps(seed):
        with without("2.2", PREDICTION, [(MLPClassifier, m) for m in PREDICTION.methods]):
            calls.append(attempt(forward, mlp, points.copy()))
    return {"calls": calls}


def judge_mlp_forward(data: dict, seed: int) -> None:
    """The reference is ``mlp.predict_proba``; scikit-learn with other hidden activations tells which one was used."""
    calls = field(data, "calls")
    if not isinstance(calls, list) or len(calls) != len(_HIDDEN):
        raise TypeError(f"calls should be a list of {len(_HIDDEN)} records")
    for (hidden, mlp, points), call in zip(_mlps(seed), calls):
        out = outcome(call)
        expected = mlp.predict_proba(points)[:, 1]
        name = f"forward(mlp, X) for hidden layers {hidden}"
        got = check_shape(name, out, expected)
        if close(got, expected, rtol=1e-6):
            continue  # right: what follows tells wrong answers apart, and never speaks of a right one
        if np.any(got < 0) or np.any(got > 1):
            raise Miss(f"{name} returns values that are not probabilities (e.g. {got[(got < 0) | (got > 1)][0]:.4g}, "
                       "outside [0, 1]): look at the activation of the output unit")
        for output, how in (("identity", ""), ("relu", ", clipped at 0")):
            if close(got, _proba_with(mlp, points, output=output), rtol=1e-6):
                raise Miss(f"{name} returns values that are not probabilities: they are the output unit's values "
                           f"before its sigmoid{how}; look at the activation of the output unit")
        if close(got, 1 - expected, rtol=1e-6):
            raise Miss(f"{name} returns P(class 0), not P(class 1): look at what the single output unit's "
                       "sigmoid gives")
        variants = {a: _proba_with(mlp, points, hidden=a) for a in ("identity", "tanh", "logistic")}
        if close(got, variants["identity"], rtol=1e-6):
            raise Miss(f"{name}: your hidden layers apply no activation; MLPClassifier's hidden layers apply ReLU")
        for other in ("tanh", "logistic"):
            if close(got, variants[other], rtol=1e-6):
                raise Miss(f"{name}: your hidden layers apply {other}; MLPClassifier's hidden layers apply ReLU")
        compare(name, got, expected, rtol=1e-6,
                hint="Look at each layer in turn: which side of the product the activations go on "
                     "(rows are examples), the bias, and ReLU on hidden layers only")


check_mlp_forward = exercise_check("2.2", probe=probe_mlp_forward, judge=judge_mlp_forward, ban=PREDICTION, doc="""\
Check ``forward(mlp, X) -> P(class 1)``, shape (N,), against ``mlp.predict_proba``.

Inputs: forward, a function of a fitted MLPClassifier and X (N, 2). It runs with scikit-learn's
own prediction methods made unavailable: the exercise is to compute them from the arrays.""")
