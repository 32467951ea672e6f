"""Self-checks for notebook 03 (the curse of dimensionality): Exercises 3.1 and 3.2."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .core import Miss, close, compare, exercise_check

NOTEBOOK = "03_curse_of_dimensionality"  # the course id of the notebook these checks belong to


_ANOTHER_GENERATOR = ("Your estimate changes between two calls with the same seed: draw the points from the rng "
                      "you are given, not from another generator")


@exercise_check("3.1")
def check_outer_shell_fraction(outer_shell_fraction: Callable) -> None:
    """Check ``outer_shell_fraction(d, n, rng) -> float``, a sampled estimate of the outer-shell share.

    Inputs: dimension d, sample size n, a numpy Generator rng. The estimate must come from random
    points drawn with rng (same seed, same value; other seed, another value) and agree with
    1 − 0.95^d within five standard errors.
    """
    n = 20_000
    first = outer_shell_fraction(2, n, np.random.default_rng(31))
    again = outer_shell_fraction(2, n, np.random.default_rng(31))
    other = outer_shell_fraction(2, n, np.random.default_rng(32))
    try:
        first, again, other = float(first), float(again), float(other)
    except (TypeError, ValueError):
        raise Miss(f"outer_shell_fraction should return a float, got {type(first).__name__}") from None
    if first != again:
        raise Miss(_ANOTHER_GENERATOR)
    if first == other:
        if math.isclose(first, 1 - 0.95 ** 2, rel_tol=1e-9):
            raise Miss("Your estimate is the formula itself, the same for any random points; the exercise asks "
                       "you to estimate it by sampling")
        raise Miss("Your estimate is the same for two different seeds: it should come from the random points")
    for d in (1, 2, 10, 50):
        p_hat = float(outer_shell_fraction(d, n, np.random.default_rng(300 + d)))
        # Two estimates from another generator coincide by chance (about 1 in 150 at d = 2, with
        # n = 20 000): asking for it again at every d leaves that a chance far below 1 in 10^9.
        if float(outer_shell_fraction(d, n, np.random.default_rng(300 + d))) != p_hat:
            raise Miss(_ANOTHER_GENERATOR)
        if not 0 <= p_hat <= 1:
            raise Miss(f"for d = {d} you return {p_hat:g}; the share should be a fraction between 0 and 1, "
                       "the number of points in the shell divided by n")
        p = 1 - 0.95 ** d
        se = math.sqrt(p * (1 - p) / n)
        if abs(p_hat - p) > 5 * se:
            side = "many" if p_hat > p else "few"
            where = ("a point is in the cube's outer shell when it lies within 5 % of a face; check which "
                     "coordinates decide that, and how")
            raise Miss(f"for d = {d} your estimate {p_hat:.4f} is {abs(p_hat - p) / se:.0f} standard errors from "
                       f"1 − 0.95^d = {p:.4f}: you count too {side} points as in the shell; {where}")


def _pair_distances(X: np.ndarray, squared: bool = False) -> np.ndarray:
    from sklearn.metrics import pairwise_distances
    full = pairwise_distances(X, metric="sqeuclidean" if squared else "euclidean")
    return full[np.triu_indices(len(X), k=1)]


@exercise_check("3.2")
def check_relative_contrast(relative_contrast: Callable) -> None:
    """Check ``relative_contrast(X) -> float``: (largest − smallest) / smallest distance between distinct points.

    Inputs: X (n, d). The reference takes scikit-learn's pairwise distances of each pair once.
    """
    rng = np.random.default_rng(33)
    for n, d in ((30, 2), (50, 100)):
        X = rng.uniform(size=(n, d))
        pairs = _pair_distances(X)
        expected = np.ptp(pairs) / pairs.min()
        with np.errstate(all="ignore"):
            got = relative_contrast(X.copy())
        name = f"relative_contrast for {n} points in d = {d}"
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Miss(f"{name} should be a single number, got {type(got).__name__}") from None
        if not math.isfinite(got):
            raise Miss(f"{name} is {got}: your smallest distance is 0, a point's distance to itself; use only "
                       "pairs of two different points")
        if close(got, expected, rtol=1e-9):
            continue
        sq = _pair_distances(X, squared=True)
        if close(got, np.ptp(sq) / sq.min(), rtol=1e-9):
            raise Miss(f"{name}: you use squared distances; the contrast is between distances themselves")
        if close(got, np.ptp(pairs) / pairs.max(), rtol=1e-9):
            raise Miss(f"{name}: you divide by the largest distance; divide by the smallest")
        compare(name, got, expected, rtol=1e-9,
                hint="over all pairs of different points: (largest distance − smallest) / smallest")
