"""A structured primal-dual interior-point solver for the paper's group-l1 programs.

Every convex program of the suite is an instance of the block program

    minimise    sum_j t_j + ||r||^2 / (2 kappa)
    subject to  sum_j A_j u_j + r = y              (n rows; r = 0 when kappa = 0)
                ||u_j|| <= t_j                     (one second-order cone per block)
                G_j u_j >= 0                       (optional linear cones: the exact forms)

with dual

    maximise    y^T lam - (kappa / 2) ||lam||^2
    subject to  ||A_j^T lam + G_j^T zeta_j|| <= 1,  zeta_j >= 0.

kappa = 0 gives the min-norm programs (12) and (14); kappa = beta / 2 the training
forms (loss ||r||^2 plus beta times the norms, divided by beta); kappa = lambda the
group lasso (25). Blocks: for the skip programs A_j = D_j X (D_0 = I for the
linear neuron w0), for the normalisation programs A_j = U_j, the whitened block;
the exact forms add v_j blocks with A = -D_j X and the cones G_j = (2 D_j - I) X.
docs/math.md (sections 3-5) writes each program and this method out.

Why it is fast: n (at most a few hundred) is small, the number of blocks K and
their size k are not. A Nesterov-Todd primal-dual method eliminates every block
variable and factors only the n x n matrix

    M = sum_j A_j H_j^{-1} A_j^T + kappa I,

where H_j is the block's scaled Hessian. Without linear cones the spatial part of
H_j^{-1} is theta_j^{-2} (I + 2 wb1_j wb1_j^T) (scaled identity plus rank
one; wb the NT scaling point, theta its scale), so for masked blocks

    M = (X X^T) o (P diag(theta^{-2}) P^T) + B B^T,  B = P o (X V),

with P the n x K pattern matrix and V the rank-one directions: dense BLAS-3 in
O(n^2 K + n d K) per iteration, one Cholesky of n^3 / 3. A block at the apex of
its cone (u_j = 0, most of them at the optimum) has theta_j -> infinity and fades
out of M; nothing divides by ||u_j||. With linear cones H_j is a dense (k+1) x (k+1)
matrix per block, factored in a batch.

The iteration is Mehrotra's predictor-corrector with primal and dual steps of 0.99
of the way to the boundary (taken separately: on the exact forms that saved about
a tenth of the iterations), one step of iterative refinement on d(lam), and a
best-iterate safeguard. It starts from lam = 0 (so s_j = (1, 0), strictly dual
feasible; the dual stays exactly feasible because s is recomputed from lam and
zeta) and the least-norm primal point, and stops at relative residual, duality gap
and complementarity <= 1e-9, or when rounding stalls it (both steps < 1e-3, three
times in a row; or, within 100x the tolerance, no halving of the best measures in
10 iterations), with the best iterate, after at most 200 iterations. A caller that
certifies the answer on the whole program afterwards (the exact route) may stop the gap
and complementarity earlier (gap_tolerance) and take blocks out while the method runs
(EarlyRemoval). Every array is float64; BLAS runs on one thread (on two busy cores threaded BLAS made these small
dense solves 50-100x slower).
"""

import functools
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse
from threadpoolctl import ThreadpoolController

TOLERANCE = 1e-9
MAX_ITERATIONS = 200
STEP_FRACTION = 0.99
STALL_STEP = 1e-3  # both steps below this three times in a row: rounding has stalled the method
STALL_COUNT = 3
# within STAGNATION_LEVEL times the tolerance, the best iterate not twice as good as
# STAGNATION iterations before: stop (a floor of rounding, often near 1e-8 on the exact forms)
STAGNATION, STAGNATION_LEVEL = 10, 100
BACKTRACKS = 8


# --------------------------------------------------------------------------- blocks


class MaskedBlocks:
    """Blocks A_j = sign_j diag(p_g(j)) X of the skip programs.

    X (n, d); masks (n, G) 0/1 columns p_g; group (K,) the mask of each block;
    sign (K,) +1 or -1 (the v_j blocks of the exact forms). Blocks sharing a mask
    share a group, so their Gram contributions are summed before any product.
    """

    def __init__(self, X, masks, group, sign, XXt=None):
        self.X, self.masks = X, masks
        self.group, self.sign = np.asarray(group), np.asarray(sign, dtype=float)
        self.n, self.dim = X.shape
        self.count = len(self.group)
        self._XXt = X @ X.T if XXt is None else XXt
        # (12) has one block per mask, all positive: skip the gathers and sign flips
        self._plain = self.count == masks.shape[1] and np.array_equal(self.group, np.arange(self.count)) \
            and bool(np.all(self.sign == 1))

    def subset(self, indices):
        """The blocks `indices` alone, with only the masks they use."""
        used, local = np.unique(self.group[indices], return_inverse=True)
        return MaskedBlocks(self.X, self.masks[:, used], local, self.sign[indices], self._XXt)

    def apply(self, U):
        """sum_j A_j u_j for U (K, d)."""
        per_group = U if self._plain else _group_sum(self.sign[:, None] * U, self.group, self.masks.shape[1])
        return np.einsum("ng,ng->n", self.masks, self.X @ per_group.T)

    def adjoint(self, lam):
        """A_j^T lam for every block, (K, d)."""
        correlations = (self.X.T @ (self.masks * lam[:, None])).T
        return correlations if self._plain else self.sign[:, None] * correlations[self.group]

    def gram_rank_one(self, omega, V):
        """sum_j omega_j A_j A_j^T + (A_j v_j)(A_j v_j)^T as (X X^T) o (P diag(omega) P^T) + B B^T."""
        weights = _group_sum(omega, self.group, self.masks.shape[1])
        B = self.masks[:, self.group] * (self.X @ V.T)
        return self._XXt * ((self.masks * weights) @ self.masks.T) + B @ B.T

    def gram_factored(self, F):
        """sum_j A_j F_j F_j^T A_j^T for factors F (K, d, r), as one product B B^T.

        Taking factors rather than C_j = F_j F_j^T keeps M positive semi-definite
        in floating point when C_j spans many orders of magnitude."""
        F = _combine_factors(F, self.group, self.masks.shape[1])
        G, d, r = F.shape
        B = (self.X @ F.transpose(1, 0, 2).reshape(d, G * r)).reshape(self.n, G, r)  # one GEMM
        B *= self.masks[:, :, None]
        B = B.reshape(self.n, G * r)
        return B @ B.T


class DenseBlocks:
    """Blocks A_j = sign_j U_g(j) with U (G, n, k) dense (the whitened blocks, zero-padded
    to a common width k); group and sign as in MaskedBlocks.

    The whitened blocks have orthonormal columns, so U_g U_g^T is the fixed projector
    onto range(D_g X), zero outside the rows S_g of pattern g. The projectors are
    formed once, on their supports and upper triangles, as the columns of a sparse
    (n (n+1) / 2, G) matrix; sum_g omega_g U_g U_g^T is then one sparse
    matrix-vector product per iteration instead of an n x n x (G k) product.
    """

    def __init__(self, U, group, sign):
        self.U = U
        self.group, self.sign = np.asarray(group), np.asarray(sign, dtype=float)
        self.n, self.dim = U.shape[1], U.shape[2]
        self.count = len(self.group)
        self._side_by_side = U.transpose(1, 0, 2).reshape(self.n, -1)  # [U_1 ... U_G], (n, G k)
        self._projectors = None

    def subset(self, indices):
        """The blocks `indices` alone, with only the whitened blocks they use."""
        used, local = np.unique(self.group[indices], return_inverse=True)
        return DenseBlocks(self.U[used], local, self.sign[indices])

    def apply(self, V):
        per_group = _group_sum(self.sign[:, None] * V, self.group, len(self.U))
        return self._side_by_side @ per_group.ravel()

    def adjoint(self, lam):
        return self.sign[:, None] * (lam @ self._side_by_side).reshape(len(self.U), self.dim)[self.group]

    def gram_rank_one(self, omega, V):
        if self._projectors is None:
            self._projectors = self._packed_projectors()
        weights = _group_sum(omega, self.group, len(self.U))
        per_block = self._side_by_side.reshape(self.n, len(self.U), self.dim)
        if not np.array_equal(self.group, np.arange(len(self.U))):
            per_block = per_block[:, self.group]
        B = np.einsum("njk,jk->nj", per_block, V)  # column j: U_g(j) v_j
        M = np.zeros((self.n, self.n))
        M[self._upper] = self._projectors @ weights
        M += np.triu(M, 1).T
        return M + B @ B.T

    def _packed_projectors(self):
        """Column g: the upper triangle of U_g U_g^T on S_g x S_g, in packed positions."""
        self._upper = np.triu_indices(self.n)
        position = np.zeros((self.n, self.n), dtype=np.int64)
        position[self._upper] = np.arange(len(self._upper[0]))
        values, rows, counts = [], [], []
        for U in self.U:
            support = np.flatnonzero(np.any(U != 0, axis=1))
            compact = U[support]
            upper_a, upper_b = np.triu_indices(len(support))
            values.append((compact @ compact.T)[upper_a, upper_b])
            rows.append(position[support[upper_a], support[upper_b]])
            counts.append(len(upper_a))
        pointers = np.concatenate([[0], np.cumsum(counts)])
        return scipy.sparse.csc_matrix((np.concatenate(values), np.concatenate(rows), pointers),
                                       shape=(len(self._upper[0]), len(self.U)))

    def gram_factored(self, F):
        F = _combine_factors(F, self.group, len(self.U))
        side_by_side = np.empty((self.n, len(F), F.shape[2]))  # [U_1 F_1 ... U_G F_G] without a transposing copy
        np.matmul(self.U, F, out=side_by_side.transpose(1, 0, 2))
        B = side_by_side.reshape(self.n, -1)
        return B @ B.T


class SignCones:
    """The exact forms' linear cones G_j u_j = sigma_g(j) o (X T_g(j) u_j) >= 0.

    sigma (n, G): the diagonal of 2 D_g - I; X (n, d); maps: None, T_g = I (the skip
    forms, k = d), or (G, d, k), one T_g per group (the normalisation forms, T_g =
    V_g S_g^{-1}); group (K,) the group of each block; constrained (K,) marks the
    blocks that have cones (the linear neuron w0 has none). Since sigma^2 = 1,
    G_j^T diag(omega) G_j = T_g^T X^T diag(omega) X T_g.

    Every product goes through the one matrix X: blocks of one group (u_i and v_i)
    are laid side by side in a (G, width, slots) stack for the small T_g products, so
    no per-block copy of a matrix is ever made.
    """

    def __init__(self, sigma, X, group, constrained, maps=None):
        self.sigma, self.X, self.maps = sigma, X, maps
        self.group, self.constrained = np.asarray(group), np.asarray(constrained, dtype=bool)
        self.rows, self.count = sigma.shape[0], len(self.group)
        self.dim = X.shape[1] if maps is None else maps.shape[2]
        self._signs = self.sigma.T[self.group] * self.constrained[:, None]  # (K, n), zero rows off the cones
        self._slot = _slots(self.group)
        self._slots = int(self._slot.max(initial=0)) + 1
        self._outer = None  # upper triangles of the rows' outer products x_n x_n^T, formed on first use

    def subset(self, indices):
        """The cones of the blocks `indices` alone, with only the groups they use."""
        used, local = np.unique(self.group[indices], return_inverse=True)
        subset = SignCones(self.sigma[:, used], self.X, local, self.constrained[indices],
                           None if self.maps is None else self.maps[used])
        subset._outer = self._outer
        return subset

    def _per_group(self, values):
        """Scatter (K, width) block rows into a (G, width, slots) stack."""
        stack = np.zeros((self.sigma.shape[1], values.shape[1], self._slots))
        stack[self.group, :, self._slot] = values
        return stack

    def _mapped(self, U, transpose=False):
        """T_g u_j (K, d) for U (K, k), or T_g^T v_j (K, k) for V (K, d) with transpose."""
        if self.maps is None:
            return U
        maps = self.maps.transpose(0, 2, 1) if transpose else self.maps
        return np.matmul(maps, self._per_group(U))[self.group, :, self._slot]

    def value(self, U):
        """G_j u_j for every block, (K, n); zero rows for unconstrained blocks."""
        return (self._mapped(U) @ self.X.T) * self._signs

    def adjoint(self, Z):
        """G_j^T zeta_j for every block, (K, k)."""
        return self._mapped((Z * self._signs) @ self.X, transpose=True)

    def weighted_gram(self, Omega, out=None):
        """G_j^T diag(omega_j) G_j for every block, (K, k, k), written into out (a (K, k, k)
        array or view) when given. X^T diag(omega_j) X for all blocks is one GEMM with
        the upper triangles of the rows' outer products x_n x_n^T."""
        Omega = Omega * self.constrained[:, None]
        d = self.X.shape[1]
        upper = np.triu_indices(d)
        if self._outer is None:
            self._outer = self.X[:, upper[0]] * self.X[:, upper[1]]
        packed = Omega @ self._outer
        gram = np.empty((len(Omega), d, d)) if (out is None or self.maps is not None) else out
        gram[:, upper[0], upper[1]] = packed
        gram[:, upper[1], upper[0]] = packed
        if self.maps is None:
            return gram
        out = np.empty((len(Omega), self.dim, self.dim)) if out is None else out
        for slot in range(self._slots):  # T_g^T (X^T diag(omega_j) X) T_g, one batched product per slot
            members = np.flatnonzero(self._slot == slot)
            maps = self.maps[self.group[members]]
            out[members] = np.matmul(maps.transpose(0, 2, 1), np.matmul(gram[members], maps))
        return out

    def times(self, B, blocks):
        """G_j B_j for the given blocks, B (len(blocks), k, r) -> (len(blocks), n, r); zero for
        unconstrained blocks."""
        if self.maps is not None:
            B = np.matmul(self.maps[self.group[blocks]], B)
        return np.matmul(self.X, B) * self._signs[blocks][:, :, None]


def _slots(group):
    """The position of each block within its group (0 for the first block of a group, 1 for the next, ...)."""
    slot = np.zeros(len(group), dtype=int)
    seen = {}
    for j, g in enumerate(group):
        slot[j] = seen.get(g, 0)
        seen[g] = slot[j] + 1
    return slot


def _combine_factors(F, group, size):
    """Factors F_g (size, k, r') with F_g F_g^T = sum over the group's blocks of F_j F_j^T.

    Blocks alone in their group keep their factor; only the groups of several blocks
    have their factors stacked side by side, [F_u F_v], and reduced to one triangular
    factor (_upper_factor), which keeps the sum positive semi-definite in floating point."""
    counts = np.bincount(group, minlength=size)
    K, k, r = F.shape
    if counts.max() == 1 and len(group) == size:
        order = np.empty(size, dtype=int)
        order[group] = np.arange(size)
        return F[order]
    alone = counts[group] == 1
    shared = np.flatnonzero(counts > 1)
    slot, position_of = _slots(group), np.full(size, -1)
    position_of[shared] = np.arange(len(shared))
    stacked = np.zeros((len(shared), counts.max() * r, k))
    for position in range(counts.max()):
        members = (slot == position) & ~alone
        stacked[position_of[group[members]], position * r:(position + 1) * r] = F[members].transpose(0, 2, 1)
    reduced = _upper_factor(stacked).transpose(0, 2, 1)
    combined = np.zeros((size, k, max(r, reduced.shape[2])))
    combined[group[alone], :, :r] = F[alone]
    combined[shared, :, : reduced.shape[2]] = reduced
    return combined


def _upper_factor(F, identity=False):
    """Upper triangular R with R^T R = F^T F (+ I), for every block of F (K, rows, c).

    The Cholesky of the Gram matrix is three times cheaper than a QR of F; where
    rounding makes the Gram matrix indefinite, the QR of [F; I] is taken instead."""
    gram = np.matmul(F.transpose(0, 2, 1), F)
    if identity:
        gram[:, np.arange(F.shape[2]), np.arange(F.shape[2])] += 1.0
    try:
        return np.linalg.cholesky(gram).transpose(0, 2, 1)
    except np.linalg.LinAlgError:
        if identity:
            F = np.concatenate([F, np.broadcast_to(np.eye(F.shape[2]), (len(F), F.shape[2], F.shape[2]))], axis=1)
        return np.linalg.qr(F, mode="r")


def _group_sum(values, group, size):
    """Sum the rows of values that share a group: (K, ...) -> (size, ...)."""
    if len(group) == size and np.array_equal(group, np.arange(size)):
        return values
    total = np.zeros((size,) + values.shape[1:])
    np.add.at(total, group, values)
    return total


# --------------------------------------------------------------------------- second-order cone algebra
# A cone point is split into its scalar part (K,) and its spatial part (K, k);
# J = diag(1, -I).


def _det(x0, x1):
    """x0^2 - ||x1||^2, as (x0 - ||x1||)(x0 + ||x1||) to keep accuracy near the boundary."""
    norm = np.linalg.norm(x1, axis=1)
    return (x0 - norm) * (x0 + norm)


def _nt_scaling(x0, x1, s0, s1):
    """Nesterov-Todd scaling of interior x, s: the point wb (det wb = 1) with
    theta^2 (2 wb wb^T - J) x = s, theta = (det s / det x)^(1/4). W itself is
    theta (2 h h^T - J) with h = sqrt(wb) = (wb + e) / sqrt(2 (wb0 + 1)), so that
    W x = W^{-1} s. Returns theta (K,), wb0, wb1, h0, h1. Rounding can put a last
    iterate on a cone's boundary (the square root of a negative determinant): the NaN
    it gives ends the iteration with the best iterate, without a warning."""
    with np.errstate(invalid="ignore", divide="ignore"):
        x_root, s_root = np.sqrt(_det(x0, x1)), np.sqrt(_det(s0, s1))
        xb0, xb1 = x0 / x_root, x1 / x_root[:, None]
        sb0, sb1 = s0 / s_root, s1 / s_root[:, None]
        gamma = np.sqrt((1.0 + xb0 * sb0 + np.einsum("jk,jk->j", xb1, sb1)) / 2.0)
        wb0 = (sb0 + xb0) / (2.0 * gamma)
        wb1 = (sb1 - xb1) / (2.0 * gamma)[:, None]
        root = np.sqrt(2.0 * (wb0 + 1.0))
        return np.sqrt(s_root / x_root), wb0, wb1, (wb0 + 1.0) / root, wb1 / root[:, None]


def _reflect(factor, c0, c1, a0, a1):
    """factor (2 c c^T - J) a, per block."""
    inner = c0 * a0 + np.einsum("jk,jk->j", c1, a1)
    return factor * (2.0 * c0 * inner - a0), factor[:, None] * (2.0 * inner[:, None] * c1 + a1)


def _scale(theta, h0, h1, a0, a1, inverse=False):
    """W a = theta (2 h h^T - J) a, or W^{-1} a = theta^{-1} (2 Jh (Jh)^T - J) a."""
    if inverse:
        return _reflect(1.0 / theta, h0, -h1, a0, a1)
    return _reflect(theta, h0, h1, a0, a1)


def _inverse_hessian(theta, wb0, wb1, a0, a1):
    """W^{-2} a = theta^{-2} (2 Jwb (Jwb)^T - J) a; its spatial block is
    theta^{-2} (I + 2 wb1 wb1^T)."""
    return _reflect(theta**-2.0, wb0, -wb1, a0, a1)


def _jordan_product(a0, a1, b0, b1):
    """a o b = (a^T b, a0 b1 + b0 a1)."""
    return a0 * b0 + np.einsum("jk,jk->j", a1, b1), a0[:, None] * b1 + b0[:, None] * a1


def _jordan_divide(v0, v1, r0, r1):
    """q with v o q = r (v interior): the inverse of the arrow matrix of v."""
    with np.errstate(invalid="ignore", divide="ignore"):  # v on the boundary: see _nt_scaling
        q0 = (v0 * r0 - np.einsum("jk,jk->j", v1, r1)) / _det(v0, v1)
        return q0, (r1 - v1 * q0[:, None]) / v0[:, None]


def _max_step(v0, v1, d0, d1):
    """Largest alpha with v + alpha d in the cone (v interior), per block.

    The hyperbolic rotation taking v / sqrt(det v) to e = (1, 0) maps d to rho;
    e + alpha rho is in the cone while alpha (||rho1|| - rho0) <= 1.
    """
    with np.errstate(invalid="ignore", divide="ignore"):  # v on the boundary: see _nt_scaling
        root = np.sqrt(_det(v0, v1))
        vb0, vb1 = v0 / root, v1 / root[:, None]
        db0, db1 = d0 / root, d1 / root[:, None]
        rho0 = vb0 * db0 - np.einsum("jk,jk->j", vb1, db1)
        rho1 = db1 - ((db0 + rho0) / (vb0 + 1.0))[:, None] * vb1
        excess = np.linalg.norm(rho1, axis=1) - rho0
        return np.where(excess > 0, 1.0 / excess, np.inf)


def _nonnegative_step(z, dz):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dz < 0, -z / dz, np.inf)


# --------------------------------------------------------------------------- solver


@dataclass
class BlockSolution:
    """What solve_blocks returns: u (K, k), the dual lam (n,), zeta (K, n) of the
    linear cones (None without), the primal and dual objectives, the relative
    residual, gap and complementarity of the returned iterate, the iteration count,
    and status 'optimal' (all three <= the tolerance), 'infeasible' (y is not in the
    range of the blocks, kappa = 0), or why it stopped short (the best iterate is
    returned and the caller's certificate decides): 'max_iterations', 'stalled',
    'stagnated', 'not_definite', 'no_interior_step', 'non_finite' (see _solve)."""

    u: np.ndarray
    lam: np.ndarray
    zeta: np.ndarray | None
    primal_objective: float
    dual_objective: float
    residual: float
    gap: float
    complementarity: float
    iterations: int
    status: str
    removed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


@dataclass(frozen=True)
class EarlyRemoval:
    """Blocks taken out of a solve while it runs: once the relative gap is at most
    `gap`, a block with a linear cone whose t_j (the bound on ||u_j||) has fallen
    below `ratio` times its value `lag` iterates earlier is heading for the apex of
    its cone, and leaves the program, held at u_j = 0 from then on
    (BlockSolution.removed lists them). A block at the apex at the optimum has t_j
    shrinking with the complementarity, geometrically; an active block's t_j settles
    at ||u_j||. The rule is not safe: a removed block can belong to the optimum, so
    the caller certifies the answer with every block's dual constraint and puts the
    violated blocks back (programs._exact_with_removal). The thresholds are fitted
    in bench/early_removal.py on instances other than the solver bench's; the rule
    in use is programs.EARLY_REMOVAL."""

    gap: float
    ratio: float
    lag: int

    def fallen(self, history, gap, coned):
        """The blocks to remove (a mask), given the t of every iterate since the last
        removal (history, oldest first), this iterate's relative gap and the mask of the
        blocks with linear cones; None when none is."""
        if gap > self.gap or len(history) <= self.lag:
            return None
        fallen = coned & (history[-1] < self.ratio * history[-1 - self.lag])
        if not fallen.any() or fallen.sum() == coned.sum():  # keep at least one coned block
            return None
        return fallen


def solve_blocks(blocks, y, kappa=0.0, cones=None, tolerance=TOLERANCE, max_iterations=MAX_ITERATIONS,
                 gap_tolerance=None, removal=None):
    """Solve the block program above; never raises for a hard instance.

    blocks: MaskedBlocks or DenseBlocks; y (n,); kappa >= 0; cones: SignCones or
    None. The iteration stops once the relative residual is at most `tolerance` and
    the relative gap and complementarity at most `gap_tolerance` (default: the same).
    removal: an EarlyRemoval, or None to keep every block (it acts on the blocks with
    linear cones only). Runs with one BLAS thread.
    """
    gap_tolerance = tolerance if gap_tolerance is None else gap_tolerance
    with one_blas_thread():
        return _solve(blocks, y, float(kappa), cones, (tolerance, gap_tolerance, gap_tolerance), max_iterations,
                      removal)


def one_blas_thread():
    """A context in which BLAS runs on one thread (on two busy cores threaded BLAS made
    small dense solves 50-100x slower)."""
    return _blas_controller().limit(limits=1, user_api="blas")


@functools.cache
def _blas_controller():
    """One scan of the loaded BLAS libraries per process (a scan per solve cost 1.4 ms)."""
    return ThreadpoolController()


def _factor(M):
    """Cholesky of the symmetric positive definite M, with a tiny shift if rounding
    made it indefinite (blocks far from their apex make M ill-conditioned late on)."""
    shift = 0.0
    scale = max(np.trace(M) / len(M), 1e-300)
    while True:
        try:
            return scipy.linalg.cho_factor(M + shift * np.eye(len(M)), check_finite=False)
        except np.linalg.LinAlgError:
            shift = max(10 * shift, 1e-14 * scale)
            if shift > 1e-6 * scale:
                raise


@dataclass
class _Best:
    """The best iterate so far: its measures (residual, gap, complementarity), state and objectives."""

    measures: tuple
    scaled: float  # the largest measure over its tolerance
    state: "_State"
    primal: float
    dual: float


def _start_point(blocks, y, kappa, cones, coned, y_scale):
    """The first iterate: the least-norm primal point u, t_j = ||u_j|| + 1, lam = 0 (so
    s_j = (1, 0)), and for the linear cones zeta small enough that s = (1, -G^T zeta)
    is interior and z = (G u)_+ + 0.1; None when y is outside the range of the blocks
    (then (12) and (14) have no feasible point)."""
    n, K, k = len(y), blocks.count, blocks.dim
    gram = blocks.gram_rank_one(np.ones(K), np.zeros((K, k))) + kappa * np.eye(n)
    try:
        coefficients = scipy.linalg.cho_solve(scipy.linalg.cho_factor(gram, check_finite=False), y)
    except np.linalg.LinAlgError:  # the blocks do not span R^n
        coefficients = scipy.linalg.lstsq(gram, y, check_finite=False)[0]
    u = blocks.adjoint(coefficients)
    if kappa == 0 and cones is None and np.linalg.norm(blocks.apply(u) - y) > 1e-8 * y_scale:
        return None
    state = _State(t=np.linalg.norm(u, axis=1) + 1.0, u=u, lam=np.zeros(n))
    if cones is not None:  # cones: the coned blocks' (_Parts.cones), coned their indices
        ones = np.ones((cones.count, cones.rows))
        state.zeta = 0.5 / max(np.linalg.norm(cones.adjoint(ones), axis=1).max(initial=0.0), 1.0) * ones
        state.z = np.maximum(cones.value(u[coned]), 0.0) + 0.1
    return state


# Why an iteration stopped short of the tolerance (BlockSolution.status):
#   max_iterations   it ran out of iterations
#   stalled          rounding: both steps below STALL_STEP, STALL_COUNT times in a row
#   stagnated        near the tolerance, the best iterate did not halve its largest
#                    measure in STAGNATION iterations
#   not_definite     M or a block's Hessian could not be factored (rounding near the optimum)
#   no_interior_step no halving of the step stayed inside the cones
#   non_finite       a measure or a step became NaN or infinite
def _solve(blocks, y, kappa, cones, tolerances, max_iterations, removal=None):
    """tolerances: (residual, gap, complementarity), each relative (_Newton.measures)."""
    n, K, k = len(y), blocks.count, blocks.dim
    y_scale = max(1.0, np.linalg.norm(y))
    parts = None if cones is None or not cones.constrained.any() else _Parts(blocks, cones)
    state = _start_point(blocks, y, kappa, parts and parts.cones, parts and parts.coned, y_scale)
    if state is None:
        return BlockSolution(np.zeros((K, k)), np.zeros(n), None, np.nan, np.nan,
                             np.inf, np.inf, np.inf, 0, "infeasible")
    iteration_of = _Newton if parts is None else _ConeNewton
    every_cone = cones
    removal = removal if parts is not None else None
    kept = np.arange(K)  # the blocks still in the program (removal), in the solver's order
    t_history = []  # t of every iterate since the last removal

    best, iterations, short_steps, stop = None, 0, 0, "max_iterations"
    best_by_iteration = []  # the best iterate's measure after each iteration, for the stagnation stop
    newton = iteration_of(blocks, parts, y, kappa, state)
    for iteration in range(max_iterations + 1):
        measures = newton.measures(y_scale)
        if not np.all(np.isfinite(measures)):
            stop = "non_finite"
            break
        t_history.append(state.t)
        fallen = removal and removal.fallen(t_history, measures[1], cones.constrained)
        if fallen is not None:  # a smaller program from here on, the iterate restricted to it
            keep = np.flatnonzero(~fallen)
            state = state.take(keep, np.flatnonzero(~fallen[parts.coned]))
            blocks, cones, kept = blocks.subset(keep), cones.subset(keep), kept[keep]
            parts = _Parts(blocks, cones)
            newton = iteration_of(blocks, parts, y, kappa, state)
            measures = newton.measures(y_scale)
            t_history = [t[keep] for t in t_history]
            best, best_by_iteration = None, []  # the measures of a smaller program are not comparable
        scaled = max(measure / tolerance for measure, tolerance in zip(measures, tolerances))
        if best is None or scaled < best.scaled:
            best = _Best(measures, scaled, state.copy(), newton.primal, newton.dual)
        best_by_iteration.append(best.scaled)
        if scaled <= 1.0 or iteration == max_iterations:
            break
        if (len(best_by_iteration) > STAGNATION and best_by_iteration[-1] <= STAGNATION_LEVEL
                and best_by_iteration[-1] > 0.5 * best_by_iteration[-1 - STAGNATION]):
            stop = "stagnated"
            break  # keep the best iterate
        try:
            factors = newton.factor()
        except np.linalg.LinAlgError:  # M or a block's Hessian lost definiteness to rounding
            stop = "not_definite"
            break
        mu = newton.complementarity / (blocks.count + (0 if parts is None else state.z.size))
        # predictor: complementarity target 0; Mehrotra's centring sigma from its progress
        affine = newton.direction(factors, sigma_mu=0.0)
        alpha_primal, alpha_dual = newton.step_length(factors, affine)
        sigma = np.clip(newton.complementarity_after(affine, alpha_primal, alpha_dual)
                        / newton.complementarity, 0.0, 1.0) ** 3
        # corrector: centring plus the second-order term of the predictor
        step = newton.direction(factors, sigma_mu=sigma * mu, predictor=affine)
        alpha_primal, alpha_dual = (STEP_FRACTION * alpha for alpha in newton.step_length(factors, step))
        short_steps = short_steps + 1 if max(alpha_primal, alpha_dual) < STALL_STEP else 0
        if not np.isfinite(alpha_primal + alpha_dual):
            stop = "non_finite"
            break
        if short_steps == STALL_COUNT:
            stop = "stalled"
            break  # rounding has the last word: keep the best iterate
        # the step length is exact in the scaled space; mapped back through an
        # ill-conditioned W it can still land outside a cone: halve it until it does not
        for _ in range(BACKTRACKS):
            candidate = iteration_of(blocks, parts, y, kappa, state.moved(step, alpha_primal, alpha_dual))
            if candidate.interior():
                break
            alpha_primal, alpha_dual = alpha_primal / 2, alpha_dual / 2
        else:
            stop = "no_interior_step"
            break
        newton, state = candidate, candidate.state
        iterations = iteration + 1

    removed = np.setdiff1d(np.arange(K), kept)
    if best is None:  # the start point itself was not finite
        return BlockSolution(_every_row(state.u, kept, K), state.lam, _every_block(state.zeta, parts, every_cone, kept),
                             np.nan, np.nan, np.inf, np.inf, np.inf, 0, "non_finite", removed)
    residual, gap, complementarity = best.measures
    status = "optimal" if best.scaled <= 1.0 else stop
    return BlockSolution(_every_row(best.state.u, kept, K), best.state.lam,
                         _every_block(best.state.zeta, parts, every_cone, kept), float(best.primal), float(best.dual),
                         float(residual), float(gap), float(complementarity), iterations, status, removed)


def _every_row(u, kept, count):
    """The kept blocks' rows u (len(kept), k) as (count, k), zero rows for the removed."""
    if len(kept) == count:
        return u
    every = np.zeros((count, u.shape[1]))
    every[kept] = u
    return every


def _every_block(zeta, parts, cones, kept):
    """The coned blocks' cone duals (len(coned), n) as (K, n) over every block of the
    program (cones: its SignCones; kept: the blocks still in it, parts their split),
    zero rows for the free blocks and the removed ones."""
    if cones is None:
        return None
    every = np.zeros((len(cones.constrained), cones.rows))
    if parts is not None:
        every[kept[parts.coned]] = zeta
    return every


@dataclass
class _State:
    """An iterate: cone points x_j = (t_j, u_j), the dual lam, and for the linear
    cones of the coned blocks their slacks z and duals zeta (len(coned), n).
    The cone duals s_j are not stored: s_j = (1, -A_j^T lam - G_j^T zeta_j)."""

    t: np.ndarray
    u: np.ndarray
    lam: np.ndarray
    z: np.ndarray | None = None
    zeta: np.ndarray | None = None

    def copy(self):
        return _State(**{name: None if value is None else value.copy() for name, value in vars(self).items()})

    def take(self, keep, coned_keep):
        """The iterate of the blocks `keep` alone; coned_keep: which rows of z and zeta
        (the coned blocks') stay."""
        taken = _State(self.t[keep], self.u[keep], self.lam)
        if self.z is not None:
            taken.z, taken.zeta = self.z[coned_keep], self.zeta[coned_keep]
        return taken

    def moved(self, step, alpha_primal, alpha_dual):
        moved = _State(self.t + alpha_primal * step.dx0, self.u + alpha_primal * step.dx1,
                       self.lam + alpha_dual * step.d_lam)
        if self.z is not None:
            moved.z, moved.zeta = self.z + alpha_primal * step.d_z, self.zeta + alpha_dual * step.d_zeta
        return moved


@dataclass
class _Step:
    d_lam: np.ndarray
    dx0: np.ndarray
    dx1: np.ndarray
    ds1: np.ndarray  # ds0 is always 0: s0 = 1
    d_z: np.ndarray | None = None
    d_zeta: np.ndarray | None = None
    scaled: tuple = ()  # (W dx, W^{-1} ds), for the corrector's second-order term


@dataclass
class _Factors:
    """What one iteration factors once and both its directions use: the NT scaling
    (theta, wb, h; W = theta (2 h h^T - J)), the scaled point v = W x = W^{-1} s, the
    n x n matrix M + kappa I and its Cholesky factor; with linear cones also
    omega = zeta / z and R_H with H^{-1} = R_H^T R_H for every block."""

    theta: np.ndarray
    wb0: np.ndarray
    wb1: np.ndarray
    h0: np.ndarray
    h1: np.ndarray
    v: tuple
    M: np.ndarray = None
    cholesky: tuple = None
    omega: np.ndarray | None = None
    R_H: np.ndarray | None = None

    def scale(self, a0, a1, inverse=False, blocks=slice(None)):
        """W a (or W^{-1} a) for every block, or for the given blocks' rows a."""
        return _scale(self.theta[blocks], self.h0[blocks], self.h1[blocks], a0, a1, inverse=inverse)

    def solve(self, rhs, refine):
        """(M + kappa I) d_lam = rhs by the Cholesky factor; in the corrector one step of
        iterative refinement (M grows ill-conditioned like 1/mu^2 near the optimum)."""
        d_lam = scipy.linalg.cho_solve(self.cholesky, rhs, check_finite=False)
        if refine:
            d_lam += scipy.linalg.cho_solve(self.cholesky, rhs - self.M @ d_lam, check_finite=False)
        return d_lam


class _Newton:
    """One iteration of the method on second-order cones alone (the relaxed programs):
    its residuals and objectives, then factor() and the directions."""

    def __init__(self, blocks, cones, y, kappa, state):
        self.blocks, self.cones, self.kappa, self.state = blocks, cones, kappa, state
        self.s0 = np.ones(blocks.count)
        self.s1 = self._dual_slack()
        fit = blocks.apply(state.u)
        self.r_p = y - fit - kappa * state.lam
        self.complementarity = _pair_gap(state.t, state.u, self.s0, self.s1)
        loss = 0.0 if kappa == 0 else np.sum((y - fit) ** 2) / (2 * kappa)
        self.primal = np.linalg.norm(state.u, axis=1).sum() + loss
        self.dual = y @ state.lam - kappa / 2 * state.lam @ state.lam

    def _dual_slack(self):
        """s1 = -A^T lam: the spatial part of every cone's dual point."""
        return -self.blocks.adjoint(self.state.lam)

    def interior(self):
        """Every cone point strictly inside its cone (s = (1, s1): ||s1|| < 1)."""
        state = self.state
        return bool(np.all(_det(state.t, state.u) > 0) and np.all(state.t > 0)
                    and np.all(np.linalg.norm(self.s1, axis=1) < 1.0))

    def measures(self, y_scale):
        """Relative residual, duality gap and complementarity.

        With kappa > 0 the equality's residual r_p = y - A u - kappa lam is left out:
        every u is feasible there (the loss takes r = y - A u, as the primal objective
        here does) and every iterate's lam is strictly dual feasible, so the gap
        between the two objectives bounds the suboptimality by itself. Demanding
        r_p <= 1e-9 as well stalled the exact training forms for 40 iterations at
        small beta (gap 1e-10, r_p stuck at 5e-9 behind dual steps of 1e-4)."""
        scale = max(1.0, abs(self.primal))
        residual = 0.0 if self.kappa > 0 else np.linalg.norm(self.r_p) / y_scale
        return residual, abs(self.primal - self.dual) / scale, self.complementarity / scale

    def factor(self):
        """The iteration's _Factors: NT scaling of every cone, M + kappa I and its Cholesky
        factor. Raises LinAlgError where rounding has made M indefinite."""
        state = self.state
        theta, wb0, wb1, h0, h1 = _nt_scaling(state.t, state.u, self.s0, self.s1)
        factors = _Factors(theta, wb0, wb1, h0, h1, _scale(theta, h0, h1, state.t, state.u))
        factors.M = self._system_matrix(factors)
        factors.M[np.diag_indices(len(factors.M))] += self.kappa
        factors.cholesky = _factor(factors.M)
        return factors

    def _system_matrix(self, factors):
        """M = sum_j A_j H_j^{-1} A_j^T with H_j = W_j^2 (_rank_one_gram)."""
        return _rank_one_gram(self.blocks, factors.theta, factors.wb1)

    def _complementarity_rhs(self, factors, sigma_mu, predictor):
        """q with v o q = sigma_mu e - v o v (minus the predictor's second-order term)."""
        v0, v1 = factors.v
        rc0, rc1 = _jordan_product(v0, v1, v0, v1)
        rc0, rc1 = sigma_mu - rc0, -rc1
        if predictor is not None:
            cross0, cross1 = _jordan_product(*predictor.scaled[0], *predictor.scaled[1])
            rc0, rc1 = rc0 - cross0, rc1 - cross1
        return _jordan_divide(v0, v1, rc0, rc1)

    def direction(self, factors, sigma_mu, predictor=None):
        """The Newton step towards x o s = sigma_mu e, with Mehrotra's second-order term
        when a predictor step is given: dx = W^{-1} q + W^{-2} (0, A^T d_lam),
        ds = (0, -A^T d_lam)."""
        q0, q1 = self._complementarity_rhs(factors, sigma_mu, predictor)
        a0, a1 = factors.scale(q0, q1, inverse=True)
        d_lam = factors.solve(self.r_p - self.blocks.apply(a1), refine=predictor is not None)
        g = self.blocks.adjoint(d_lam)
        b0, b1 = _inverse_hessian(factors.theta, factors.wb0, factors.wb1, np.zeros(self.blocks.count), g)
        return self._scaled(factors, _Step(d_lam, a0 + b0, a1 + b1, -g))

    def _scaled(self, factors, step):
        step.scaled = (factors.scale(step.dx0, step.dx1),
                       factors.scale(np.zeros_like(step.dx0), step.ds1, inverse=True))
        return step

    def step_length(self, factors, step):
        """The largest primal and dual steps (at most 1) that stay in the cones."""
        alpha_primal, alpha_dual = self._largest_steps(factors, step)
        return min(1.0, alpha_primal), min(1.0, alpha_dual)

    def _largest_steps(self, factors, step):
        """The largest steps in the second-order cones, taken in the scaled space where
        both x and s are the well-centred point v."""
        (wx0, wx1), (ws0, ws1) = step.scaled
        return _max_step(*factors.v, wx0, wx1).min(), _max_step(*factors.v, ws0, ws1).min()

    def complementarity_after(self, step, alpha_primal, alpha_dual):
        state = self.state
        return _pair_gap(state.t + alpha_primal * step.dx0, state.u + alpha_primal * step.dx1,
                         self.s0, self.s1 + alpha_dual * step.ds1)


def _rank_one_gram(blocks, theta, wb1):
    """sum_j A_j W_j^{-2} A_j^T over the given blocks, the spatial part of W_j^{-2} being
    theta^{-2} (I + 2 wb1 wb1^T)."""
    with np.errstate(divide="ignore"):  # a block far out on its cone: theta -> 0 is rounding's
        directions = (np.sqrt(2.0) / theta)[:, None] * wb1
    return blocks.gram_rank_one(theta**-2.0, directions)


class _Parts:
    """The blocks of a program with linear cones, split once per solve: `free` (no linear
    cone, as the linear neuron w0) keep the rank-one Hessian of _Newton; `coned` get the
    dense one. cones: the SignCones of the coned blocks alone, whose slacks z and duals
    zeta are (len(coned), n)."""

    def __init__(self, blocks, cones):
        self.coned = np.flatnonzero(cones.constrained)
        self.free = np.flatnonzero(~cones.constrained)
        self.free_blocks = blocks.subset(self.free) if self.free.size else None
        self.coned_blocks = blocks.subset(self.coned)
        self.cones = cones.subset(self.coned)


class _ConeNewton(_Newton):
    """One iteration with the linear cones G_j u_j = z_j >= 0 of the exact forms too:
    their slacks z and duals zeta join the residuals, the complementarity and the
    steps, and each coned block's Hessian H_j = W_j^2 + G_j^T Omega_j G_j is dense;
    the free blocks keep W_j^2 (parts: _Parts)."""

    def __init__(self, blocks, parts, y, kappa, state):
        self.parts = parts
        super().__init__(blocks, parts.cones, y, kappa, state)
        self.r_g = state.z - parts.cones.value(state.u[parts.coned])
        self.complementarity += np.sum(state.z * state.zeta)

    def _dual_slack(self):
        """s1 = -A^T lam - G^T zeta."""
        s1 = super()._dual_slack()
        s1[self.parts.coned] -= self.cones.adjoint(self.state.zeta)
        return s1

    def interior(self):
        state = self.state
        return super().interior() and bool(np.all(state.z > 0) and np.all(state.zeta > 0))

    def measures(self, y_scale):
        residual, gap, complementarity = super().measures(y_scale)
        return max(residual, np.linalg.norm(self.r_g) / y_scale), gap, complementarity

    def _system_matrix(self, factors):
        """M = sum_j A_j H_j^{-1} A_j^T: the free blocks' rank-one part as in _Newton, and
        for the coned blocks H = W^2 + G^T Omega G = W (I + F^T F) W, F = Omega^(1/2) G W^{-1}:
        the middle matrix has eigenvalues >= 1 even where W^2 and Omega span twenty orders
        of magnitude, and the R of a QR of [F; I] factors it without forming it.
        H^{-1} = R_H^T R_H with R_H = R^{-T} W^{-1}."""
        state, cones, parts = self.state, self.cones, self.parts
        coned, free = parts.coned, parts.free
        theta, h0, h1 = factors.theta[coned], factors.h0[coned], factors.h1[coned]
        factors.omega = state.zeta / state.z
        c0, c1 = h0, -h1  # W^{-1} = theta^{-1} (2 c c^T - J)
        middle = _scaled_gram(theta, c0, c1, factors.omega, cones)
        lower, failed = _cholesky_per_block(middle)
        if failed.size:  # rounding made these indefinite: factor [F; I] by QR instead
            spatial = _scaling_matrix(theta[failed], h0[failed], h1[failed], inverse=True)[:, 1:, :]
            F = np.sqrt(factors.omega[failed])[:, :, None] * cones.times(spatial, failed)
            lower[failed] = _upper_factor(F, identity=True).transpose(0, 2, 1)
        factors.R_H = _inverse_times_scaling(lower, theta, c0, c1)
        M = parts.coned_blocks.gram_factored(factors.R_H[:, :, 1:].transpose(0, 2, 1))
        if parts.free_blocks is not None:
            M += _rank_one_gram(parts.free_blocks, factors.theta[free], factors.wb1[free])
        return M

    def direction(self, factors, sigma_mu, predictor=None):
        """The Newton step towards x o s = sigma_mu e and z zeta = sigma_mu, with
        Mehrotra's second-order term when a predictor step is given."""
        state = self.state
        q0, q1 = self._complementarity_rhs(factors, sigma_mu, predictor)
        r_lp = sigma_mu - state.z * state.zeta
        if predictor is not None:
            r_lp -= predictor.d_z * predictor.d_zeta
        # Near the optimum the eliminated system loses digits (zeta/z spans twenty orders
        # of magnitude): one round of iterative refinement on the whole Newton system,
        # with the same factors, keeps the step accurate enough for the last digits.
        step = self._cone_step(factors, self.r_p, self.r_g, q0, q1, r_lp)
        correction = self._cone_step(factors, *self._cone_residuals(factors, step, self.r_p, self.r_g, q0, q1, r_lp))
        for name in ("d_lam", "dx0", "dx1", "ds1", "d_z", "d_zeta"):
            setattr(step, name, getattr(step, name) + getattr(correction, name))
        return self._scaled(factors, step)

    def _cone_step(self, factors, r_p, r_g, q0, q1, r_lp):
        """Solve the Newton system with cones for the right-hand sides
            sum_j A_j dx_j + kappa d_lam = r_p,   G_j dx_j - dz_j = r_g,
            W dx + W^{-1} ds = q,   zeta dz + z dzeta = r_lp,
        with ds = (0, -A^T d_lam - G^T dzeta): dx = H^{-1} (W q + G^T lp + (0, A^T d_lam)),
        lp = (zeta r_g + r_lp) / z (G, lp and dz only on the coned blocks)."""
        state, cones, blocks, coned = self.state, self.cones, self.blocks, self.parts.coned
        lp = (state.zeta * r_g + r_lp) / state.z
        h = np.column_stack(factors.scale(q0, q1, inverse=True))  # W^{-2} W q on the free blocks
        w0, w1 = factors.scale(q0[coned], q1[coned], blocks=coned)
        h[coned] = _apply_factored_inverse(factors.R_H, np.column_stack([w0, w1 + cones.adjoint(lp)]))
        d_lam = factors.solve(r_p - blocks.apply(h[:, 1:]), refine=False)
        g = blocks.adjoint(d_lam)
        dx = h + np.column_stack(_inverse_hessian(factors.theta, factors.wb0, factors.wb1, np.zeros(blocks.count), g))
        dx[coned] = h[coned] + _apply_factored_inverse(factors.R_H, np.column_stack([np.zeros(len(coned)), g[coned]]))
        g_dx = cones.value(dx[coned, 1:])
        d_zeta = lp - factors.omega * g_dx
        ds1 = -g
        ds1[coned] -= cones.adjoint(d_zeta)
        return _Step(d_lam, dx[:, 0], dx[:, 1:], ds1, g_dx - r_g, d_zeta)

    def _cone_residuals(self, factors, step, r_p, r_g, q0, q1, r_lp):
        """What the computed step leaves of each equation of _cone_step, in its order."""
        state, cones = self.state, self.cones
        e_p = r_p - self.blocks.apply(step.dx1) - self.kappa * step.d_lam
        e_g = r_g - cones.value(step.dx1[self.parts.coned]) + step.d_z
        wx0, wx1 = factors.scale(step.dx0, step.dx1)
        ws0, ws1 = factors.scale(np.zeros_like(step.dx0), step.ds1, inverse=True)
        e_lp = r_lp - state.zeta * step.d_z - state.z * step.d_zeta
        return e_p, e_g, q0 - wx0 - ws0, q1 - wx1 - ws1, e_lp

    def _largest_steps(self, factors, step):
        """The second-order cones' largest steps, and those of z, zeta >= 0."""
        alpha_primal, alpha_dual = super()._largest_steps(factors, step)
        alpha_primal = min(alpha_primal, _nonnegative_step(self.state.z, step.d_z).min(initial=np.inf))
        alpha_dual = min(alpha_dual, _nonnegative_step(self.state.zeta, step.d_zeta).min(initial=np.inf))
        return alpha_primal, alpha_dual

    def complementarity_after(self, step, alpha_primal, alpha_dual):
        state = self.state
        return super().complementarity_after(step, alpha_primal, alpha_dual) + np.sum(
            (state.z + alpha_primal * step.d_z) * (state.zeta + alpha_dual * step.d_zeta))


def _pair_gap(t, u, s0, s1):
    return t @ s0 + np.einsum("jk,jk->", u, s1)


def _scaling_matrix(theta, h0, h1, inverse=False):
    """W (or W^{-1}) as explicit (K, k+1, k+1) matrices."""
    c = np.column_stack([h0, -h1 if inverse else h1])
    J = np.diag(np.r_[1.0, -np.ones(c.shape[1] - 1)])
    factor = 1.0 / theta if inverse else theta
    return factor[:, None, None] * (2.0 * c[:, :, None] * c[:, None, :] - J)


def _apply_factored_inverse(R, B):
    """H^{-1} b_j = R_j^T (R_j b_j) for every block."""
    return np.matmul(np.matmul(R, B[:, :, None]).transpose(0, 2, 1), R)[:, 0, :]


def _scaled_gram(theta, c0, c1, omega, cones):
    """I + W^{-1} [0 0; 0 Q] W^{-1} for every block, Q = G^T diag(omega) G, with
    W^{-1} = theta^{-1} (2 c c^T - J).

    The spatial rows of W^{-1} are theta^{-1} (E + 2 c1 c^T), E = [0 I], so with
    Q' = theta^{-2} Q, q = Q' c1 and f = (0, q) + (c1^T q) c the product is
    E^T Q' E + 2 (f c^T + c f^T): O(k^2) per block once Q' is formed (one GEMM),
    where the explicit (k+1) x (k+1) products cost O(k^3)."""
    K, k = c1.shape
    middle = np.empty((K, k + 1, k + 1))
    middle[:, 0, :] = 0.0
    middle[:, 1:, 0] = 0.0
    Q = cones.weighted_gram(omega * (theta**-2.0)[:, None], out=middle[:, 1:, 1:])
    q = np.matmul(Q, c1[:, :, None])[:, :, 0]
    c = np.column_stack([c0, c1])
    f = np.column_stack([np.zeros(K), q]) + np.einsum("jk,jk->j", c1, q)[:, None] * c
    middle += 2.0 * np.matmul(np.stack([f, c], axis=2), np.stack([c, f], axis=1))
    middle[:, np.arange(k + 1), np.arange(k + 1)] += 1.0
    return middle


def _cholesky_per_block(middle):
    """Lower Cholesky factors of every block of middle (K, m, m), one LAPACK call each
    (as fast as numpy's batched routine here), and the blocks where rounding made it
    fail, so that only those take the slower QR route."""
    lower = np.zeros_like(middle)
    failed = []
    for j, block in enumerate(middle):
        factor, info = scipy.linalg.lapack.dpotrf(block, lower=1, clean=1)
        if info == 0:
            lower[j] = factor
        else:
            failed.append(j)
    return lower, np.array(failed, dtype=int)


def _inverse_times_scaling(lower, theta, c0, c1):
    """R_H = L^{-1} W^{-1} for every block, L lower triangular (K, k+1, k+1), W^{-1} =
    theta^{-1} (2 c c^T - J): theta^{-1} (2 (L^{-1} c) c^T - L^{-1} J), so only L^{-1}
    is needed; it is LAPACK's triangular inverse (a third of the flops of the LU
    solve against an explicit W^{-1})."""
    inverse = np.empty_like(lower)
    for j, block in enumerate(lower):
        inverse[j], info = scipy.linalg.lapack.dtrtri(block, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"singular triangular factor (block {j})")
    inverse *= (1.0 / theta)[:, None, None]
    c = np.column_stack([c0, c1])
    inverse_c = np.matmul(inverse, c[:, :, None])  # (K, k+1, 1)
    inverse[:, :, 0] *= -1.0  # L^{-1} (-J) / theta
    inverse += 2.0 * np.matmul(inverse_c, c[:, None, :])
    return inverse
