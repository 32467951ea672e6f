"""Self-checks for notebook 03 (the curse of dimensionality): Exercises 3.1 and 3.2."""
from __future__ import annotations

import math

import numpy as np

from .core import Miss, as_float, attempt, close, compare, exercise_check, field, outcome, rng_for, type_name

NOTEBOOK = "03_curse_of_dimensionality"  # the course id of the notebook these checks belong to


# ---------------------------------------------------------------- 3.1

_ANOTHER_GENERATOR = ("Your estimate changes between two calls with the same seed: draw the points from the rng "
                      "you are given, not from another generator")
_N = 20_000  # points per estimate
_DIMENSIONS = (1, 2, 10, 50)

# How often a right answer fails, at most 1e-9 in all (computed exactly from the binomial distribution):
#
# - "the same for different seeds" needs _PAIRS independent pairs of estimates at d = 2 to coincide.
#   One pair's two counts, each Binomial(20 000, 1 - 0.95^2 = 0.0975) with standard deviation 42.0,
#   coincide with probability sum_k P(k)^2 = 0.00672 (1 in 149); four pairs all do with 2.0e-9, five
#   with 0.00672^5 = 1.4e-11. An answer that ignores the rng gives the same value for every seed.
# - the band: a right estimate lies more than _BAND standard errors from 1 - 0.95^d with probability
#   6.3e-12, 4.0e-12, 2.6e-12 and 4.7e-12 at d = 1, 2, 10, 50 (the normal tail's 2.6e-12, a little
#   more where the binomial is skewed): 1.8e-11 for the four. (Five standard errors: 2.4e-6.)
#
# Together 3.1e-11. The wrong answers the check names lie 40 or more standard errors away.
_PAIRS = 5
_BAND = 7


def _generator(seed: int, *stream: int) -> np.random.Generator:
    return rng_for(seed, 31, *stream)


def probe_outer_shell_fraction(outer_shell_fraction, seed: int) -> dict:
    """Calls ``outer_shell_fraction(d, 20000, rng)``: at d = 2 with rngs of 2 * 5 different seeds, the
    first seed twice; at d = 1, 2, 10, 50 twice each, with two rngs of one seed."""
    def estimate(d: int, *stream: int) -> dict:
        return attempt(outer_shell_fraction, d, _N, _generator(seed, *stream))

    first = estimate(2, 0, 0)
    again = estimate(2, 0, 0)
    seeds = [first] + [estimate(2, 0, k) for k in range(1, 2 * _PAIRS)]
    by_d = [[estimate(d, 1, d), estimate(d, 1, d)] for d in _DIMENSIONS]
    return {"seeds": seeds, "again": again, "by_d": by_d}


def _estimate(record) -> float:
    got = outcome(record)
    try:
        return as_float(got)
    except (TypeError, ValueError):
        raise Miss(f"outer_shell_fraction should return a float, got {type_name(got)}") from None


def judge_outer_shell_fraction(data: dict, seed: int) -> None:
    """The estimates must come from the rng given (the same seed gives the same value, other seeds other
    values) and agree with 1 − 0.95^d within seven standard errors."""
    seeds, by_d = field(data, "seeds"), field(data, "by_d")
    if not (isinstance(seeds, list) and len(seeds) == 2 * _PAIRS and isinstance(by_d, list)
            and len(by_d) == len(_DIMENSIONS) and all(isinstance(r, list) and len(r) == 2 for r in by_d)):
        raise TypeError("the estimates are not 10 for different seeds and 2 for each dimension")
    first, again = _estimate(seeds[0]), _estimate(field(data, "again"))
    estimates = [first] + [_estimate(r) for r in seeds[1:]]
    if first != again:
        raise Miss(_ANOTHER_GENERATOR)
    if all(estimates[2 * k] == estimates[2 * k + 1] for k in range(_PAIRS)):
        if math.isclose(first, 1 - 0.95 ** 2, rel_tol=1e-9):
            raise Miss("Your estimate is the formula itself, the same for any random points; the exercise asks "
                       "you to estimate it by sampling")
        raise Miss("Your estimate is the same for two different seeds: it should come from the random points")
    for d, (record, repeat) in zip(_DIMENSIONS, by_d):
        p_hat = _estimate(record)
        # Two estimates from another generator coincide by chance (about 1 in 150 at d = 2, with
        # n = 20 000): asking for it again at every d leaves that a chance far below 1 in 10^9.
        if _estimate(repeat) != p_hat:
            raise Miss(_ANOTHER_GENERATOR)
        if not 0 <= p_hat <= 1:
            raise Miss(f"For d = {d} you return {p_hat:g}; the share should be a fraction between 0 and 1, "
                       "the number of points in the shell divided by n")
        p = 1 - 0.95 ** d
        se = math.sqrt(p * (1 - p) / _N)
        if abs(p_hat - p) > _BAND * se:
            side = "many" if p_hat > p else "few"
            where = ("a point is in the cube's outer shell when it lies within 5 % of a face; check which "
                     "coordinates decide that, and how")
            raise Miss(f"For d = {d} your estimate {p_hat:.4f} is {abs(p_hat - p) / se:.0f} standard errors from "
                       f"1 − 0.95^d = {p:.4f}: you count too {side} points as in the shell; {where}")


check_outer_shell_fraction = exercise_check("3.1", probe=probe_outer_shell_fraction, judge=judge_outer_shell_fraction,
                                            doc="""\
Check ``outer_shell_fraction(d, n, rng) -> float``, a sampled estimate of the outer-shell share.

Inputs: dimension d, sample size n, a numpy Generator rng. The estimate must come from random
points drawn with rng (same seed, same value; other seeds, other values) and agree with
1 − 0.95^d within seven standard errors (a right answer fails less than once in 10^9 runs).""")


# ---------------------------------------------------------------- 3.2

_CLOUDS = ((30, 2), (50, 100))  # (n points, dimension d)


def _clouds(seed: int) -> list[np.ndarray]:
    """Uniform points in the unit cube, for each of _CLOUDS: the same on both sides for a seed.

    A cloud with two points closer than 0.01 is drawn again (from the same stream): the smallest
    distance then keeps about ten significant digits however it is computed, also from the squared
    norms (x·x + y·y − 2 x·y, as scikit-learn does), so every right answer meets the tolerance.
    """
    rng = rng_for(seed, 32)
    clouds = []
    for n, d in _CLOUDS:
        X = rng.uniform(size=(n, d))
        while _smallest_distance(X) < 0.01:
            X = rng.uniform(size=(n, d))
        clouds.append(X)
    return clouds


def _smallest_distance(X: np.ndarray) -> float:
    differences = X[:, None, :] - X[None, :, :]
    return float(np.sqrt((differences ** 2).sum(axis=-1))[np.triu_indices(len(X), k=1)].min())


def _pair_distances(X: np.ndarray, squared: bool = False) -> np.ndarray:
    """The distance of each pair of distinct points once, by SciPy (in the order of np.triu_indices)."""
    from scipy.spatial.distance import pdist
    return pdist(X, metric="sqeuclidean" if squared else "euclidean")


def probe_relative_contrast(relative_contrast, seed: int) -> dict:
    """Calls ``relative_contrast(X)`` on 30 random points in d = 2 and 50 in d = 100."""
    with np.errstate(all="ignore"):
        return {"calls": [attempt(relative_contrast, X.copy()) for X in _clouds(seed)]}


def judge_relative_contrast(data: dict, seed: int) -> None:
    """The reference takes SciPy's pairwise distances of each pair once."""
    calls = field(data, "calls")
    if not isinstance(calls, list) or len(calls) != len(_CLOUDS):
        raise TypeError(f"calls should be a list of {len(_CLOUDS)} records")
    for X, call in zip(_clouds(seed), calls):
        n, d = X.shape
        got = outcome(call)
        pairs = _pair_distances(X)
        expected = np.ptp(pairs) / pairs.min()
        name = f"relative_contrast for {n} points in d = {d}"
        try:
            got = as_float(got)
        except (TypeError, ValueError):
            raise Miss(f"{name} should be a single number, got {type_name(got)}") from None
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


check_relative_contrast = exercise_check("3.2", probe=probe_relative_contrast, judge=judge_relative_contrast, doc="""\
Check ``relative_contrast(X) -> float``: (largest − smallest) / smallest distance between distinct points.

Inputs: X (n, d). The reference takes SciPy's pairwise distances of each pair once.""")
