"""The exact all-ones decision and the sampled arrangement patterns (docs/math.md section 2)."""

from math import comb

import numpy as np
import pytest

import arrangement
import common


def rotated(rows, seed=0):
    """Rows in a random orthonormal frame of R^5, so no case is axis-aligned."""
    rows = np.asarray(rows, dtype=float)
    embedded = np.hstack([rows, np.zeros((rows.shape[0], 5 - rows.shape[1]))])
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((5, 5)))
    return embedded @ Q


def test_all_ones_yes_case():
    rng = np.random.default_rng(0)
    u = rng.standard_normal(6)
    X = rng.standard_normal((40, 6))
    X *= np.sign(X @ u)[:, None]  # every row on the positive side of u
    assert arrangement.has_all_ones_pattern(X)


def test_all_ones_no_case_by_gordan():
    # rows with a strictly positive combination summing to zero: no u has X u > 0
    rng = np.random.default_rng(1)
    X = rng.standard_normal((12, 6))
    weights = rng.uniform(0.5, 2.0, size=12)
    X = np.vstack([X, -(weights @ X)])
    assert not arrangement.has_all_ones_pattern(X)


@pytest.mark.parametrize("delta, expected", [(1e-6, True), (0.0, False), (-1e-6, False)])
def test_all_ones_near_degenerate(delta, expected):
    # rows (1, 0) and (-1, delta): the positive cone is a sliver of angle ~delta
    X = rotated([[1.0, 0.0], [-1.0, delta], [1.0, 1.0]])
    assert arrangement.has_all_ones_pattern(X) is expected


def test_zero_row_never_has_all_ones():
    assert not arrangement.has_all_ones_pattern(np.vstack([np.eye(3), np.zeros((1, 3))]))


def test_all_ones_frequency_matches_wendel():
    # Wendel (1962): for n Gaussian rows in R^d, P(some u has X u > 0) is
    # 2^-(n-1) * sum_{k<d} C(n-1, k); this is 1/2 at n = 2d, the paper's threshold.
    n, d, trials = 20, 10, 300
    rng = np.random.default_rng(2)
    hits = sum(arrangement.has_all_ones_pattern(rng.standard_normal((n, d))) for _ in range(trials))
    wendel = sum(comb(n - 1, k) for k in range(d)) / 2 ** (n - 1)
    assert arrangement.wendel_probability(n, d) == pytest.approx(wendel, rel=1e-12)
    assert abs(hits / trials - wendel) < 4 * np.sqrt(wendel * (1 - wendel) / trials)
    assert arrangement.wendel_probability(np.array([10, 20, 40]), 10).tolist() == pytest.approx(
        [1.0, 0.5, wendel_at(40, 10)])


def wendel_at(n, d):
    return sum(comb(n - 1, k) for k in range(d)) / 2 ** (n - 1)


def test_patterns_are_unique_realised_and_complete():
    rng = np.random.default_rng(3)
    X = common.sample_data(rng, 15, 10, 0)
    directions = np.random.default_rng(4).standard_normal((10, 2))
    patterns, exist_all_one = arrangement.sampled_patterns(X, rng, first_directions=directions)
    assert set(np.unique(patterns)) <= {0.0, 1.0}
    assert len({tuple(column) for column in patterns.T}) == patterns.shape[1]
    assert patterns.any(axis=0).all()  # no all-zero pattern
    np.testing.assert_array_equal(patterns[:, :2], X @ directions >= 0)  # planted first
    assert exist_all_one == arrangement.has_all_ones_pattern(X)
    assert patterns.all(axis=0).any() == exist_all_one


def test_all_ones_column_appended_when_it_exists():
    # n < d: the all-ones pattern always exists but random directions rarely hit it
    rng = np.random.default_rng(5)
    X = common.sample_data(rng, 10, 20, 0)
    patterns, exist_all_one = arrangement.sampled_patterns(X, rng)
    assert exist_all_one and patterns[:, -1].all()
