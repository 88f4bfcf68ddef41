"""Hyperplane-arrangement patterns of a data matrix: which D = diag(1[X u >= 0]) exist.

The n rows x_i of X (n, d) cut R^d by the hyperplanes x_i^T u = 0 into cells; inside
a cell every sign s_i = sign(x_i^T u) is fixed, and its pattern is the 0/1 vector
1[s > 0], the diagonal of D. The convex programs have one block per pattern
(docs/math.md, section 2). This module offers three pattern sets:

- sampled: the patterns of max(n, 50) random directions (the authors' sample), with
  the planted neurons' patterns first and the all-ones pattern added exactly;
- neighbours: the sample plus every pattern one flip (one row added or removed) from
  a planted neuron's pattern that some u realises, each decided by a linear program;
- all: every cell of the arrangement, enumerated exactly (all_sign_vectors), for
  instances with at most ALL_CELLS_LIMIT cells.

Shapes: patterns is an (n, m) 0/1 matrix whose column i is the diagonal of D_i;
signs is an (n,) vector of +-1. For points in general position (Gaussian X) the
arrangement has exactly cell_count(n, d) = 2 sum_{k<d} C(n-1, k) cells.
"""

import math

import numpy as np
from scipy.optimize import linprog

SETS = ("sampled", "neighbours", "all")
# `all` enumerates the arrangement with about n / d linear programs per cell (1 ms each):
# at most this many cells, about a minute a trial (872 cells of n = 30 points in R^3: 9.5 s)
ALL_CELLS_LIMIT = 5_000
# a linear program's "yes" needs a margin above this and a witness checked in floating point
MARGIN = 1e-10


def cell_count(n, d):
    """Cells of a central arrangement of n hyperplanes in general position in R^d:
    2 sum_{k<d} C(n-1, k) (Cover, 1965), the all-negative cell (zero pattern) included."""
    return 2 * sum(math.comb(n - 1, k) for k in range(min(d, n)))


def wendel_probability(n, d):
    """P(n, d) = 2^-(n-1) sum_{k<d} C(n-1, k), the probability that n Gaussian points in
    R^d admit the all-ones pattern (Wendel, 1962): P(n-1 fair coins show < d heads).
    It is 1 for n <= d and exactly 1/2 at n = 2d. Broadcasts over arrays."""
    from scipy.stats import binom

    return binom.cdf(np.asarray(d) - 1, np.asarray(n) - 1, 0.5)


def realise(X, signs):
    """A witness u (d,) with sign(X u) = signs strictly, or None when no u has.

    By scaling, such u exists iff the LP  max t  s.t.  s_i x_i^T u / ||x_i|| >= t,
    -1 <= u <= 1, t <= 1  has a positive optimum. HiGHS solves it; a "yes" is accepted
    only with a margin above MARGIN and its u checked in floating point. A zero row has
    no sign, so it is a "no" at once.
    """
    row_norms = np.linalg.norm(X, axis=1)
    if np.any(row_norms == 0):
        return None
    n, d = X.shape
    oriented = signs[:, None] * (X / row_norms[:, None])
    cost = np.zeros(d + 1)
    cost[-1] = -1.0  # maximise t
    constraints = np.hstack([-oriented, np.ones((n, 1))])  # t - s_i x_i^T u / ||x_i|| <= 0
    bounds = [(-1.0, 1.0)] * d + [(None, 1.0)]
    result = linprog(cost, A_ub=constraints, b_ub=np.zeros(n), bounds=bounds, method="highs")
    if result.status != 0:
        raise RuntimeError(f"pattern LP failed: {result.message}")
    u = result.x[:d]
    return u if -result.fun > MARGIN and np.all(signs * (X @ u) > 0) else None


def has_all_ones_pattern(X):
    """Decide whether some u has X u > 0 in every row (the all-ones pattern exists)."""
    return realise(X, np.ones(X.shape[0])) is not None


def sampled_patterns(X, rng, num_directions=None, first_directions=None):
    """Sampled hyperplane arrangement patterns of X, shape (n, m), dtype float.

    Draws num_directions (default max(n, 50)) directions u ~ N(0, I_d), forms the
    0/1 columns 1[X u >= 0] and keeps unique columns in order of first appearance,
    so columns of first_directions (d, k), e.g. planted neurons, come first. The
    all-zero pattern is dropped (D_i X = 0 adds nothing). The all-ones column is
    appended when it exists (decided exactly) and was not sampled.

    Returns (patterns, exist_all_one).
    """
    n, d = X.shape
    directions = rng.standard_normal((d, num_directions or max(n, 50)))
    if first_directions is not None:
        directions = np.hstack([first_directions, directions])
    signs = X @ directions >= 0
    _, first = np.unique(signs, axis=1, return_index=True)
    patterns = signs[:, np.sort(first)]
    patterns = patterns[:, patterns.any(axis=0)]
    exist_all_one = bool(patterns.all(axis=0).any()) or has_all_ones_pattern(X)
    if exist_all_one and not patterns.all(axis=0).any():
        patterns = np.hstack([patterns, np.ones((n, 1), dtype=bool)])
    return patterns.astype(float), exist_all_one


def step_across(X, signs, inside, j):
    """A cheap witness of the cell `signs`, which differs from the cell of the point
    `inside` in row j alone: project `inside` onto the hyperplane x_j^T u = 0 and step
    just across it. Returns u, or None where the projection leaves the cell elsewhere
    (then only a linear program decides)."""
    row_norms = np.linalg.norm(X, axis=1)
    on_plane = inside - (X[j] @ inside) / row_norms[j] ** 2 * X[j]
    slack = np.delete(signs * (X @ on_plane) / row_norms, j)
    if slack.size and slack.min() <= 0:
        return None
    u = on_plane + 0.5 * slack.min(initial=1.0) * signs[j] * X[j] / row_norms[j]
    return u if np.all(signs * (X @ u) > 0) else None


def one_flip_neighbours(X, signs, inside=None):
    """The sign vectors one flip from the cell `signs` that some u realises, (k, n).

    Flipping row j is realisable iff the hyperplane x_j^T u = 0 carries a facet of the
    cell. A cheap witness first (step_across from a deep point of the cell: the LP's, or
    `inside`); where it fails, the LP of realise() decides. Every answer has a witness
    or an LP.
    """
    inside = realise(X, signs) if inside is None else inside
    if inside is None:
        raise ValueError("the sign vector is not a cell of this arrangement")
    found = []
    for j in range(len(signs)):
        flipped = signs.copy()
        flipped[j] = -flipped[j]
        if step_across(X, flipped, inside, j) is not None or realise(X, flipped) is not None:
            found.append(flipped)
    return np.array(found).reshape(-1, len(signs))


def all_sign_vectors(X, limit=ALL_CELLS_LIMIT):
    """Every cell of the arrangement of X's rows as sign vectors (cells, n), built one
    hyperplane at a time: hyperplane m + 1 splits a cell of the first m iff both its
    sides are realisable. The side a cell's witness u lies on is realised by u itself;
    the other side by a step across the hyperplane from u (step_across), else by
    realise(), whose witness joins it. So every cell comes
    with a witness, and the linear programs number the cells of the partial
    arrangements (about n / d per final cell), not n per cell as a search over single
    flips needs. Stops with ValueError past `limit` cells."""
    n = X.shape[0]
    cells = [(np.array([1.0]), X[0]), (np.array([-1.0]), -X[0])]  # the two sides of the first hyperplane
    for m in range(1, n):
        split = []
        for signs, u in cells:
            side = 1.0 if X[m] @ u > 0 else -1.0
            split.append((np.append(signs, side), u))
            other = np.append(signs, -side)
            witness = step_across(X[: m + 1], other, u, m)
            if witness is None:
                witness = realise(X[: m + 1], other)
            if witness is not None:
                split.append((other, witness))
        if len(split) > limit:
            raise ValueError(f"the arrangement of these {n} points has more than {limit} cells")
        cells = split
    return np.array([signs for signs, _ in cells])


def planted_neighbours(X, planted):
    """Patterns (n, k) one flip from a planted neuron's pattern 1[X w_j >= 0] (the
    columns w_j of planted (d, k)) that some u realises; the zero pattern left out."""
    columns = []
    for w in planted.T:
        signs = np.where(X @ w >= 0, 1.0, -1.0)
        inside = w if np.all(signs * (X @ w) > 0) else None
        columns.extend(one_flip_neighbours(X, signs, inside) > 0)
    patterns = np.array(columns, dtype=bool).reshape(-1, X.shape[0]).T
    return patterns[:, patterns.any(axis=0)]


def pattern_set(X, rng, kind, planted, num_directions=None):
    """The patterns (n, m) of the set `kind` (SETS) and whether the all-ones one exists.

    Every set starts with the sample (sampled_patterns, planted neurons first), so the
    random draws and the first columns are the same under every kind; neighbours and all
    append, in a fixed order, the patterns the sample missed.
    """
    patterns, exist_all_one = sampled_patterns(X, rng, num_directions, first_directions=planted)
    if kind == "sampled":
        return patterns, exist_all_one
    if kind == "neighbours":
        extra = planted_neighbours(X, planted)
    else:
        extra = (all_sign_vectors(X) > 0).T
        extra = extra[:, extra.any(axis=0)]
    return merge(patterns, extra), exist_all_one


def merge(patterns, extra):
    """patterns (n, m) followed by the columns of extra it lacks, each once, in order."""
    known = {column.tobytes() for column in patterns.astype(bool).T}
    added = []
    for column in extra.astype(bool).T:
        if column.tobytes() not in known:
            known.add(column.tobytes())
            added.append(column)
    return np.hstack([patterns, np.array(added, dtype=float).reshape(-1, patterns.shape[0]).T])
