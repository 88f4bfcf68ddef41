"""The convex programs of the paper, and the one function that solves them.

Every program here is a group-l1 problem over arrangement patterns: blocks of
variables w_i, one per pattern D_i, whose sum of Euclidean norms is minimised.
Each CVXPY builder writes the program the way the paper writes it, one line per
constraint, with the paper's equation number. `solve` is the only place that
talks to a solver: the structured interior-point solver (ipm.py, through
solve_structured, which maps each program to ipm's block program) or CVXPY with
Clarabel or MOSEK. Either way a solve is accepted on our own certificate
(certify). docs/math.md, sections 3 and 4, writes the programs, their block form
and the certificate out.

Shapes: X is (n, d), y is (n,), patterns is an (n, m) 0/1 matrix whose column i
is the diagonal of D_i.
"""

import dataclasses
import functools
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import scipy.optimize
import scipy.sparse as sp

import ipm
from certificate import certify_group

# A CVXPY solve is accepted when our own residuals (relative) are at most CHECK_TOL.
# For (12) a duality gap eps bounds the mass off the planted blocks by eps / delta
# (delta: the dual margin), so 1e-5 stays below the atol 1e-4 recovery decision.
CHECK_TOL = 1e-5
ACCURACY = 1e-6
# The structured solver reaches 1e-9; its solves are held to tighter limits.
STRUCTURED_TOLERANCES = {"residual": 1e-8, "cone_violation": 1e-8, "gap": 1e-7, "dual_infeasibility": 1e-7}
# The exact forms' working set (_exact_by_working_set): it starts from the blocks whose
# relaxed dual constraint is within WORKING_SET_START of tight; after each round it keeps
# the blocks above WORKING_SET_ZERO of the largest and takes in every left-out block
# whose dual constraint is violated by more than WORKING_SET_SLACK (the certificate then
# allows 1e-7); a left-out block whose batched bound stays above 1 + WORKING_SET_CLEAR
# is taken in without its exact NNLS. It gives way to the whole program once it holds
# more than WORKING_SET_MAX_SHARE of the blocks or after WORKING_SET_MAX_ROUNDS rounds.
# Used for the training forms with at least WORKING_SET_MIN_PATTERNS patterns and
# n <= WORKING_SET_MAX_RATIO d. Every round is a cold start of 30-50 iterations, so it
# pays only where the blocks are large and few are active. Whole grids (sigma 0.1, one
# trial a cell, 2 workers, one after the other on an idle machine): normalisation
# (400, 50) 379 s against 556 s with the working set at n >= 300 (1.47x), skip
# (400, 100) 1017 s against 978 s (0.96x, a tie); single trials (docs/math.md, section
# 5, with the cells) had it 1.9x faster at (300, 150) and slower at every cell with n > 3.5d.
WORKING_SET_FORMS = ("skip_train", "norm_train")
WORKING_SET_MIN_PATTERNS = 300
WORKING_SET_MAX_RATIO = 3
WORKING_SET_START = 1e-3
WORKING_SET_SLACK = 1e-9
WORKING_SET_MAX_SHARE = 0.6
WORKING_SET_MAX_ROUNDS = 8
WORKING_SET_ZERO = 1e-7
WORKING_SET_CLEAR = 0.05
# The exact form on all of its blocks (the exact route's last step) runs with early
# removal (ipm.EarlyRemoval: blocks heading for the apex leave the solve) and stops at a
# relative gap of EXACT_GAP_STOP, a tenth of the certificate's 1e-7, where the residual
# still goes to the solver's 1e-9. The certificate on every block decides: the removed
# blocks' dual constraints are checked as the working set's left-out blocks are, and
# where one fails, a repair solve (without removal) over the blocks that stayed and the
# violated ones follows; after REPAIR_ROUNDS of them the whole program is solved as
# before, without removal. bench/early_removal.py fits the thresholds and measures them.
EXACT_GAP_STOP = 1e-8
EARLY_REMOVAL = ipm.EarlyRemoval(gap=1e-1, ratio=0.5, lag=1)
REPAIR_ROUNDS = 2

# Clarabel stalls near a 2e-8 primal residual on these programs (the optimum sits
# at the apex of most second-order cones) and then reports "AlmostSolved" against
# its loose 5e-5 fallback tolerances. Tightening the fallback to ACCURACY makes its
# "optimal_inaccurate" mean "accurate to 1e-6", which we then check ourselves.
CLARABEL_OPTIONS = dict(
    reduced_tol_feas=ACCURACY, reduced_tol_gap_abs=ACCURACY, reduced_tol_gap_rel=ACCURACY
)
SOLVED = ("optimal", "optimal_inaccurate")


# --------------------------------------------------------------------------- solvers


@functools.cache
def mosek_licensed():
    """True when MOSEK is installed and a licence can be checked out."""
    try:
        import mosek

        with mosek.Env() as env:
            env.checkoutlicense(mosek.feature.pts)
        return True
    except Exception:  # not installed, no licence file, expired licence, ...
        return False


def available_solvers():
    """Names accepted by --solver: 'auto', 'IPM' (the structured solver, ipm.py) and
    every installed CVXPY conic solver."""
    import cvxpy as cp

    conic = {"CLARABEL", "MOSEK", "SCS", "ECOS", "GUROBI", "CPLEX", "COPT", "XPRESS"}
    return ["auto", "IPM"] + sorted(s for s in cp.installed_solvers() if s in conic)


def general_solver():
    """The CVXPY solver for what the structured solver does not take: MOSEK if licensed, else Clarabel."""
    return "MOSEK" if mosek_licensed() else "CLARABEL"


def resolve_solver(name):
    """Map --solver to a solver name; raise ValueError naming the allowed values.

    'auto' is the structured solver, which takes every program of the suite (the
    training forms with beta = 0 go to general_solver())."""
    allowed = available_solvers()
    if name.lower() == "auto":
        return "IPM"
    if name.upper() not in allowed:
        raise ValueError(f"--solver must be one of {', '.join(allowed)} (got {name!r})")
    if name.upper() == "MOSEK" and not mosek_licensed():
        raise ValueError("--solver MOSEK: no MOSEK licence found (use --solver auto or CLARABEL)")
    return name.upper()


SOLVER_FLAGS = ("solver",)  # the --solver spelling changes no number: solver_name is the identity


def add_solver_flag(parser):
    """--solver on a script's command line (validate_solver resolves it)."""
    parser.add_argument("--solver", default="auto",
                        help="auto or IPM (the structured solver), or a CVXPY solver such as CLARABEL or MOSEK")
    return parser


def validate_solver(parser, args):
    """Resolve --solver into args.solver_name, or exit with one line naming the flag; say
    which solver runs (and whether MOSEK is licensed)."""
    try:
        args.solver_name = resolve_solver(args.solver)
    except ValueError as error:
        parser.error(str(error))
    licence = "MOSEK licence found" if mosek_licensed() else "no MOSEK licence found"
    if args.solver_name == "IPM":
        print(f"solver: IPM, the structured interior-point solver (--solver {args.solver}; "
              f"{general_solver()} for training forms with --beta 0; {licence})")
    else:
        print(f"solver: {args.solver_name} (--solver {args.solver}; {licence})")
    return args


# --------------------------------------------------------------------------- data


def masked_blocks(X, patterns):
    """The masked data [D_1 X, ..., D_m X] as a sparse (n, m*d) matrix.

    Block i occupies columns i*d .. i*d+d-1, so `masked_blocks(X, D) @ vec(W)`
    with W of shape (d, m) stacked column by column is sum_i D_i X w_i.
    """
    n, d = X.shape
    rows, cols = np.nonzero(patterns)
    column_index = cols[:, None] * d + np.arange(d)
    values = X[rows]
    return sp.csr_matrix(
        (values.ravel(), (np.repeat(rows, d), column_index.ravel())),
        shape=(n, patterns.shape[1] * d),
    )


def thin_svd(M):
    """The rank-truncated thin SVD M = U S V^T: U (rows, r) with orthonormal columns,
    S (r,) and V (cols, r), r the numerical rank of M."""
    U, S, Vt = np.linalg.svd(M, full_matrices=False)
    rank = int(np.sum(S > S.max(initial=0.0) * max(M.shape) * np.finfo(float).eps))
    return U[:, :rank], S[:rank], Vt[:rank].T


def whitened_blocks(X, patterns):
    """Rank-truncated thin SVDs D_i X = U_i S_i V_i^T, one per pattern.

    Returns a list of (U_i (n, r_i), S_i (r_i,), V_i (d, r_i)); U_i has orthonormal
    columns supported on the rows of pattern i, r_i is the numerical rank.
    """
    n = X.shape[0]
    blocks = []
    for active in patterns.T.astype(bool):
        U_active, S, V = thin_svd(X[active])
        U = np.zeros((n, len(S)))
        U[active] = U_active
        blocks.append((U, S, V))
    return blocks


def stacked_blocks(matrices, width):
    """[M_1, ..., M_m] as a sparse (rows, m*width) matrix, M_i in columns i*width
    .. i*width + cols(M_i) - 1 and zero padding after it, so that
    `stacked_blocks(M, d) @ vec(W)` with W (d, m) is sum_i M_i w_i[:cols(M_i)]."""
    padded = [sp.csr_matrix(np.hstack([M, np.zeros((M.shape[0], width - M.shape[1]))])) for M in matrices]
    return sp.hstack(padded, format="csr")  # sparse throughout: U_i vanishes off pattern i's rows


@dataclass(frozen=True)
class Program:
    """One convex program: its equation and its data.

    equation: "12", "11", "skip_train" (skip network), "14", "13", "norm_train"
    (normalisation layer) or "25" (the group lasso of a skip connection and a
    normalisation layer before the ReLU, whose X is the whitened data U of the thin
    SVD X = U S V^T, thin_svd); FORMS says what each is. beta is the weight decay of
    the training forms, penalty the lambda of (25) (not the dual lambda); blocks are
    the whitened blocks of the normalisation programs (whitened_blocks).
    """

    equation: str
    X: np.ndarray
    y: np.ndarray
    patterns: np.ndarray
    beta: float = 1e-6
    blocks: list | None = None
    penalty: float = 0.0

    def __post_init__(self):
        """Validate at construction: a known equation, X (n, d), y (n,), 0/1 patterns
        (n, m), the whitened blocks of a normalisation program (one per pattern), a
        positive penalty for (25); ValueError naming what is wrong."""
        if self.equation not in FORMS:
            raise ValueError(f"Program: equation must be one of {', '.join(FORMS)}; got {self.equation!r}")
        if np.ndim(self.X) != 2 or np.shape(self.y) != (len(self.X),):
            raise ValueError(f"Program: X must be (n, d) and y (n,); got {np.shape(self.X)} and {np.shape(self.y)}")
        patterns = np.asarray(self.patterns)
        if patterns.ndim != 2 or len(patterns) != len(self.X) or not np.isin(patterns, (0, 1)).all():
            raise ValueError(f"Program: patterns must be a 0/1 (n, m) matrix with n = {len(self.X)}; "
                             f"got shape {patterns.shape}")
        if self.form.network == "norm" and (self.blocks is None or len(self.blocks) != patterns.shape[1]):
            raise ValueError(f"Program: ({self.equation}) needs the whitened blocks of its {patterns.shape[1]} "
                             f"patterns (whitened_blocks)")
        if self.form.loss == "lasso" and not self.penalty > 0:
            raise ValueError(f"(25) needs lambda > 0; got {self.penalty}")

    @property
    def form(self):
        return FORMS[self.equation]


@dataclass
class Solution:
    """What a solve returns.

    primal: the variables by name (w0 (d,), W / U / V (d, m)); value: the optimal
    value; status: the solver's word; dual: lambda (n,) of the equality constraint
    with the paper's sign (X^T lambda = w0/||w0|| at the optimum of (12), U_k^T
    lambda = t_k on planted blocks of (14)); for a training form solved by the
    structured solver, lambda of the program divided by beta (same normalisation:
    A_i^T lambda = w_i/||w_i|| on active blocks); None from CVXPY where the program
    has no equality; accepted: the solve passed our own accuracy checks (`checks`
    holds the measured residuals); route: how the structured solver got it
    ("direct", "relaxation" when the relaxation's solution was sign-consistent
    and certified for the exact form, "working set" when the exact form was solved
    on a working set of its blocks and certified on all of them, "exact" otherwise),
    "cvxpy" otherwise;
    cone_duals: (n, 2m), the duals of the exact form's cones (u_i then v_i) where
    the structured solver solved the exact form, None otherwise.
    """

    primal: dict
    value: float
    status: str
    solver: str
    dual: np.ndarray | None = None
    accepted: bool = False
    checks: dict = field(default_factory=dict)
    route: str = ""
    cone_duals: np.ndarray | None = None

    @property
    def outcome(self):
        """The status to count: the solver's word, marked when our checks rejected it."""
        if self.accepted or self.status not in SOLVED:
            return self.status
        return f"{self.status} (failed check)"


# --------------------------------------------------------------------------- programs


def skip_relaxed(program):
    """(12): min ||w0|| + sum_i ||w_i||  s.t.  X w0 + sum_i D_i X w_i = y."""
    import cvxpy as cp

    X, y, patterns = program.X, program.y, program.patterns
    d, m = X.shape[1], patterns.shape[1]
    w0, W = cp.Variable(d), cp.Variable((d, m))
    fit = X @ w0 + masked_blocks(X, patterns) @ cp.vec(W, order="F")
    objective = cp.norm(w0, 2) + cp.sum(cp.norm(W, 2, axis=0))
    constraints = [fit == y]  # (12)
    return cp.Problem(cp.Minimize(objective), constraints), {"w0": w0, "W": W}


def _skip_exact_parts(program):
    """Variables, fit and cone constraints shared by (11) and its training form."""
    import cvxpy as cp

    X, patterns = program.X, program.patterns
    d, m = X.shape[1], patterns.shape[1]
    w0, U, V = cp.Variable(d), cp.Variable((d, m)), cp.Variable((d, m))
    signs = 2.0 * patterns - 1.0  # diagonal of 2 D_i - I, column by column
    fit = X @ w0 + masked_blocks(X, patterns) @ cp.vec(U - V, order="F")
    norms = cp.norm(w0, 2) + cp.sum(cp.norm(U, 2, axis=0)) + cp.sum(cp.norm(V, 2, axis=0))
    cones = [
        cp.multiply(signs, X @ U) >= 0,  # (2 D_i - I) X u_i >= 0
        cp.multiply(signs, X @ V) >= 0,  # (2 D_i - I) X v_i >= 0
    ]
    return {"w0": w0, "U": U, "V": V}, fit, norms, cones


def skip_exact(program):
    """(11): min ||w0|| + sum_i ||u_i|| + ||v_i||  s.t.  X w0 + sum_i D_i X (u_i - v_i) = y,
    (2 D_i - I) X u_i >= 0, (2 D_i - I) X v_i >= 0."""
    import cvxpy as cp

    variables, fit, norms, cones = _skip_exact_parts(program)
    constraints = [fit == program.y] + cones  # (11)
    return cp.Problem(cp.Minimize(norms), constraints), variables


def skip_train(program):
    """Regularised training form of (11) (Appendix L):
    min ||X w0 + sum_i D_i X (u_i - v_i) - y||^2 + beta (||w0|| + sum_i ||u_i|| + ||v_i||)
    s.t. the cone constraints of (11)."""
    import cvxpy as cp

    variables, fit, norms, cones = _skip_exact_parts(program)
    objective = cp.sum_squares(fit - program.y) + program.beta * norms
    return cp.Problem(cp.Minimize(objective), cones), variables


def norm_relaxed(program):
    """(14): min sum_i ||w_i||  s.t.  sum_i U_i w_i = y,  w_i in R^{r_i}.

    W is (d, m); rows r_i .. d-1 of column i are padding that no constraint sees,
    so they are 0 at the optimum.
    """
    import cvxpy as cp

    d, m = program.X.shape[1], len(program.blocks)
    W = cp.Variable((d, m))
    whitened = stacked_blocks([U for U, _, _ in program.blocks], d)
    constraints = [whitened @ cp.vec(W, order="F") == program.y]  # (14)
    return cp.Problem(cp.Minimize(cp.sum(cp.norm(W, 2, axis=0))), constraints), {"W": W}


def _norm_exact_parts(program):
    """Variables, fit and cone constraints shared by (13) and its training form."""
    import cvxpy as cp

    X, patterns, blocks = program.X, program.patterns, program.blocks
    d, m = X.shape[1], len(blocks)
    U, V = cp.Variable((d, m)), cp.Variable((d, m))
    whitened = stacked_blocks([Ui for Ui, _, _ in blocks], d)
    # (2 D_i - I) X V_i S_i^{-1}, one (n, r_i) matrix per pattern, block-diagonal over i
    cone_maps = sp.block_diag([
        stacked_blocks([(2.0 * patterns[:, [i]] - 1.0) * F], d) for i, F in enumerate(norm_cone_maps(program))
    ]).tocsr()
    fit = whitened @ cp.vec(U - V, order="F")
    norms = cp.sum(cp.norm(U, 2, axis=0)) + cp.sum(cp.norm(V, 2, axis=0))
    cones = [
        cone_maps @ cp.vec(U, order="F") >= 0,  # (2 D_i - I) X V_i S_i^{-1} u_i >= 0
        cone_maps @ cp.vec(V, order="F") >= 0,  # (2 D_i - I) X V_i S_i^{-1} v_i >= 0
    ]
    return {"U": U, "V": V}, fit, norms, cones


def norm_exact(program):
    """(13): min sum_i ||u_i|| + ||v_i||  s.t.  sum_i U_i (u_i - v_i) = y and the cone constraints."""
    import cvxpy as cp

    variables, fit, norms, cones = _norm_exact_parts(program)
    constraints = [fit == program.y] + cones  # (13)
    return cp.Problem(cp.Minimize(norms), constraints), variables


def norm_train(program):
    """Regularised training form of (13) (Appendix L):
    min ||sum_i U_i (u_i - v_i) - y||^2 + beta sum_i (||u_i|| + ||v_i||)  s.t. the cone constraints."""
    import cvxpy as cp

    variables, fit, norms, cones = _norm_exact_parts(program)
    objective = cp.sum_squares(fit - program.y) + program.beta * norms
    return cp.Problem(cp.Minimize(objective), cones), variables


def group_lasso(program):
    """(25): min 1/2 ||U w0 + sum_i D_i U w_i - y||^2 + lam (||w0|| + sum_i ||w_i||), the
    convex form of the regularised training problem (24) of a network with a skip
    connection and a normalisation layer before the ReLU: the normalisation makes
    the data enter only through U, the left factor of the thin SVD X = U S V^T
    (program.X holds U), and D_i are the arrangement patterns of X (those of U)."""
    import cvxpy as cp

    U, patterns = program.X, program.patterns
    r, m = U.shape[1], patterns.shape[1]
    w0, W = cp.Variable(r), cp.Variable((r, m))
    fit = U @ w0 + masked_blocks(U, patterns) @ cp.vec(W, order="F")
    norms = cp.norm(w0, 2) + cp.sum(cp.norm(W, 2, axis=0))
    objective = cp.sum_squares(fit - program.y) / 2 + program.penalty * norms  # (25)
    return cp.Problem(cp.Minimize(objective)), {"w0": w0, "W": W}


@dataclass(frozen=True)
class Form:
    """What the code needs to know of a program besides its data.

    network: "skip" (a linear neuron X w0 beside the masked blocks D_i X; for (25) on
    the whitened U) or "norm" (the whitened blocks U_i); exact: the cone constraints
    on u_i and v_i (the exact forms and their training forms); loss: None (the fit is
    an equality), "train" (||r||^2 + beta * norms) or "lasso" (||r||^2 / 2 + penalty *
    norms); build: the CVXPY program as the paper writes it; block_program(program,
    exact, selection=None): its blocks (and cones) for the structured solver."""

    network: str
    exact: bool
    loss: str | None
    build: object
    block_program: object




# --------------------------------------------------------------------------- checks


def group_operators(program):
    """(fit, correlations) of the program's blocks as certify_group takes them, written
    from the program's own data: X, D_i X for the skip programs (columns w0, then
    w_i, or w0, u_i, v_i with v_i's blocks negated), U_i for the normalisation
    programs (columns w_i, or u_i then v_i), zero-padded to d; (25) as (12) on its X = U."""
    X, patterns = program.X, program.patterns
    d, m = X.shape[1], patterns.shape[1]
    exact = program.form.exact
    if program.form.network == "skip":

        def fit(W):
            masked = W[:, 1 : m + 1] - (W[:, m + 1 :] if exact else 0.0)
            return X @ W[:, 0] + np.sum(patterns * (X @ masked), axis=1)

        def correlations(lam):
            masked = X.T @ (patterns * lam[:, None])
            return np.column_stack([X.T @ lam, masked] + ([-masked] if exact else []))

        return fit, correlations
    whitened = [U for U, _, _ in program.blocks]

    def fit(W):
        merged = W[:, :m] - (W[:, m:] if exact else 0.0)
        return sum(U @ merged[: U.shape[1], i] for i, U in enumerate(whitened))

    def correlations(lam):
        padded = np.column_stack([np.pad(U.T @ lam, (0, d - U.shape[1])) for U in whitened])
        return np.hstack([padded, -padded]) if exact else padded

    return fit, correlations


def loss_weight(program):
    """kappa of the block program: beta / 2 for the training forms (their objective
    divided by beta is sum ||w_i|| + ||r||^2 / beta), lam for (25) (divided by lam:
    sum ||w_i|| + ||r||^2 / (2 lam)), 0 for the equality programs."""
    loss = program.form.loss
    return program.penalty if loss == "lasso" else program.beta / 2 if loss == "train" else 0.0


def norm_cone_maps(program):
    """X V_i S_i^{-1} (n, r_i) for every whitened block: (13)'s cone on u_i is
    (2 D_i - I) X V_i S_i^{-1} u_i >= 0."""
    return [_norm_cone_map(program, i) for i in range(len(program.blocks))]


def _norm_cone_map(program, i):
    """X V_i S_i^{-1} (n, r_i) of the whitened block i."""
    _, S, V = program.blocks[i]
    return program.X @ V / S


def _skip_exact_cones(program):
    """G_i w = (2 D_i - I) X w_i for every pattern i, as (values, adjoint) for certify_group."""
    X, signs = program.X, 2.0 * program.patterns - 1.0
    return (lambda W: signs * (X @ W)), (lambda Z: X.T @ (signs * Z))


def _norm_exact_cones(program):
    """G_i w = (2 D_i - I) X V_i S_i^{-1} w_i[:r_i], as (values, adjoint) for certify_group."""
    signs, d = 2.0 * program.patterns - 1.0, program.X.shape[1]
    maps = norm_cone_maps(program)

    def values(W):
        return np.column_stack([F @ W[: F.shape[1], i] for i, F in enumerate(maps)]) * signs

    def adjoint(Z):
        return np.column_stack([np.pad(F.T @ (signs[:, i] * Z[:, i]), (0, d - F.shape[1])) for i, F in enumerate(maps)])

    return values, adjoint


def block_columns(primal):
    """The variables side by side, one block per column, in group_operators' order."""
    names = [name for name in ("w0", "W", "U", "V") if name in primal]
    return np.column_stack([primal[name] for name in names])


def certify(program, primal, dual, cone_duals=None):
    """The certificate of any program of the suite (certify_group on group_operators),
    with the cones of the exact forms. For a training form the gap is that of the
    program divided by beta, whose dual is the dual passed here.
    cone_duals: (n, 2m), the duals of the u_i cones then of the v_i cones."""
    kappa = loss_weight(program)
    fit, correlations = group_operators(program)
    W = block_columns(primal)
    if not program.form.exact:
        return certify_group(fit, correlations, program.y, W, dual, kappa)
    m = program.patterns.shape[1]
    if program.form.network == "skip":  # (11) and its training form: column 0 is the linear neuron, without cone
        values, adjoint = _skip_exact_cones(program)
        cones = (lambda W: np.hstack([values(W[:, 1 : m + 1]), values(W[:, m + 1 :])]),
                 lambda Z: np.column_stack([np.zeros(program.X.shape[1]), adjoint(Z[:, :m]), adjoint(Z[:, m:])]))
    else:
        values, adjoint = _norm_exact_cones(program)
        cones = (lambda W: np.hstack([values(W[:, :m]), values(W[:, m:])]),
                 lambda Z: np.hstack([adjoint(Z[:, :m]), adjoint(Z[:, m:])]))
    return certify_group(fit, correlations, program.y, W, dual, kappa, cones, cone_duals)


def dual_margin(program, dual, planted_columns=()):
    """delta = 1 - max ||A_i^T lambda|| over the blocks outside the planted model:
    every pattern block D_i X of (12), or every whitened block U_i of (14) but the
    planted columns. With a recovered model, delta > 0 certifies it as the unique
    optimum (strict complementarity on every other block); delta = 0 where another
    block, e.g. the all-ones pattern, can carry the same fit."""
    correlations = np.linalg.norm(group_operators(program)[1](dual), axis=0)
    if program.form.network == "skip":
        correlations = correlations[1:]  # the linear neuron's block X is the planted one
    others = np.setdiff1d(np.arange(len(correlations)), planted_columns)
    return float(1.0 - correlations[others].max(initial=0.0))


def primal_checks(program, problem):
    """Relative violations of the program's own constraints at the returned point:
    the equality (exact forms) and the cone inequalities (all U/V forms)."""
    from cvxpy.constraints import Equality

    checks = {}
    for constraint in problem.constraints:
        scale = max([1.0, np.linalg.norm(program.y)] + [np.abs(arg.value).max() for arg in constraint.args])
        name = "residual" if isinstance(constraint, Equality) else "cone_violation"
        violation = float(np.max(np.abs(constraint.residual), initial=0.0) / scale)
        checks[name] = max(checks.get(name, 0.0), violation)
    return checks


# --------------------------------------------------------------------------- structured solve
# The programs as block programs of ipm.py: blocks A_j, their signs and groups
# (blocks sharing a pattern), and for the exact forms the cones G_j.


class Selection(NamedTuple):
    """The blocks an exact-form solve carries, one entry per block: its pattern
    (columns) and sign (+1: u_i, -1: v_i). Blocks not selected are held at 0."""

    columns: np.ndarray
    signs: np.ndarray

    def take(self, keep):
        """The selection of the blocks `keep` (a mask or indices) alone."""
        return Selection(self.columns[keep], self.signs[keep])


def every_exact_block(m):
    """The Selection of all 2m blocks of an exact form: u_1 .. u_m (sign +1), then v_1 ..
    v_m (sign -1)."""
    return Selection(np.r_[np.arange(m), np.arange(m)], np.r_[np.ones(m), -np.ones(m)])


def _skip_block_program(program, exact, selection=None):
    """(12): blocks X, D_1 X, ..., D_m X. Exact forms: X, then for each selected block
    sign * D_i X (u_i: +1, v_i: -1) with the cone (2 D_i - I) X; selection a Selection,
    default every block (u_i then v_i). Only the selected patterns' masks are kept, so a
    working set costs what its own blocks cost. The linear neuron X has no cone."""
    X, patterns = program.X, program.patterns
    n, m = patterns.shape
    if not exact:
        masks = np.column_stack([np.ones(n), patterns])
        return ipm.MaskedBlocks(X, masks, np.arange(m + 1), np.ones(m + 1)), None
    columns, signs = every_exact_block(m) if selection is None else selection
    used, local = np.unique(columns, return_inverse=True)
    masks = np.column_stack([np.ones(n), patterns[:, used]])
    group = np.r_[0, local + 1]
    cones = ipm.SignCones(2.0 * masks - 1.0, X, group, constrained=group > 0)
    return ipm.MaskedBlocks(X, masks, group, np.r_[1.0, signs]), cones


def _padded(matrices, n, width):
    """The (n, r_i) matrices as one (m, n, width) array, zero-padded on the right."""
    stack = np.zeros((len(matrices), n, width))
    for i, M in enumerate(matrices):
        stack[i, :, : M.shape[1]] = M
    return stack


def _padded_cone_maps(program, columns, width):
    """T_i = V_i S_i^{-1} (d, r_i) of the whitened blocks `columns`, as one (len, d, width)
    array: (13)'s cone on u_i is (2 D_i - I) X T_i u_i >= 0."""
    return _padded([V / S for _, S, V in (program.blocks[i] for i in columns)], program.X.shape[1], width)


def _norm_width(program):
    """The common width of the whitened blocks: the largest rank r_i."""
    return max(1, max(U.shape[1] for U, _, _ in program.blocks))


def _norm_block_program(program, exact, selection=None):
    """(14): the whitened blocks U_i, zero-padded to the largest rank. Exact forms: for
    each selected block sign * U_i (u_i: +1, v_i: -1) with the cone
    (2 D_i - I) X V_i S_i^{-1}; selection as in _skip_block_program."""
    n, m = program.patterns.shape
    width = _norm_width(program)
    if not exact:
        U = _padded([U for U, _, _ in program.blocks], n, width)
        return ipm.DenseBlocks(U, np.arange(m), np.ones(m)), None
    columns, signs = every_exact_block(m) if selection is None else selection
    used, local = np.unique(columns, return_inverse=True)
    U = _padded([program.blocks[i][0] for i in used], n, width)
    maps = _padded_cone_maps(program, used, width)
    cones = ipm.SignCones(2.0 * program.patterns[:, used] - 1.0, program.X, local, np.ones(len(local), bool), maps)
    return ipm.DenseBlocks(U, local, signs), cones


# One spec per program, as the table "One form for all of them" in docs/math.md: its
# network, exact or relaxed, its loss (kappa: loss_weight), its CVXPY builder and its
# block map for the structured solver.
FORMS = {
    "12": Form("skip", False, None, skip_relaxed, _skip_block_program),
    "11": Form("skip", True, None, skip_exact, _skip_block_program),
    "skip_train": Form("skip", True, "train", skip_train, _skip_block_program),
    "14": Form("norm", False, None, norm_relaxed, _norm_block_program),
    "13": Form("norm", True, None, norm_exact, _norm_block_program),
    "norm_train": Form("norm", True, "train", norm_train, _norm_block_program),
    "25": Form("skip", False, "lasso", group_lasso, _skip_block_program),  # (12) on U, with a loss
}


def _relaxed_primal(program, u):
    """The block solution u (K, k) as the relaxed program's variables."""
    if program.form.network == "skip":
        return {"w0": u[0], "W": u[1:].T.copy()}
    W = np.zeros((program.X.shape[1], len(u)))
    W[: u.shape[1]] = u.T
    return {"W": W}


def _exact_primal(program, u, selection):
    """The exact-form block solution u (K, k) of the selected blocks as w0, U, V (d, m),
    zero on the blocks left out."""
    d, m = program.X.shape[1], program.patterns.shape[1]
    columns, signs = selection
    skip = program.form.network == "skip"
    blocks = u[1:] if skip else u
    U, V = np.zeros((d, m)), np.zeros((d, m))
    U[: blocks.shape[1], columns[signs > 0]] = blocks[signs > 0].T
    V[: blocks.shape[1], columns[signs < 0]] = blocks[signs < 0].T
    return {"w0": u[0], "U": U, "V": V} if skip else {"U": U, "V": V}


def _split_by_sign(program, relaxed):
    """Each relaxed block w_i as u_i = w_i or v_i = -w_i, whichever violates the
    exact form's cone less (blocks at the apex, 0, fit either way)."""
    skip = program.form.network == "skip"
    values, _ = (_skip_exact_cones if skip else _norm_exact_cones)(program)
    W = relaxed["W"]
    as_u = np.max(-values(W), axis=0, initial=0.0) <= np.max(values(W), axis=0, initial=0.0)
    exact = {"U": np.where(as_u, W, 0.0), "V": np.where(as_u, 0.0, -W)}
    if skip:
        exact["w0"] = relaxed["w0"]
    return exact


def _value(program, primal):
    """The program's objective at its own variables (the training forms unscaled)."""
    W = block_columns(primal)
    norms = np.linalg.norm(W, axis=0).sum()
    if program.form.loss is None:
        return float(norms)
    fit, _ = group_operators(program)
    loss = np.sum((fit(W) - program.y) ** 2)
    if program.form.loss == "lasso":
        return float(loss / 2 + program.penalty * norms)
    return float(loss + program.beta * norms)


def _within_tolerances(checks):
    """A structured solve's certificate passes: every check within STRUCTURED_TOLERANCES."""
    return all(checks[name] <= STRUCTURED_TOLERANCES[name] for name in checks)


def _structured_solution(program, primal, block_solution, route, cone_duals=None):
    """A Solution from the structured solver, accepted on our own certificate."""
    dual = block_solution.lam
    checks = certify(program, primal, dual, cone_duals)
    status = "optimal" if block_solution.status == "optimal" else "optimal_inaccurate"
    return Solution(primal, _value(program, primal), status, "IPM", dual, _within_tolerances(checks), checks, route,
                    cone_duals)


def solve_structured(program):
    """Solve any program of the suite with the structured interior-point solver.

    (12), (14) and the relaxations are solved directly. For the exact forms (11),
    (13) and their training forms the relaxation ((12) or (14), regularised alike)
    is solved first: its value is a lower bound, so when every block of its
    solution is sign-consistent (w_i or -w_i meets the exact cone) the split
    u_i/v_i is optimal for the exact form, and the relaxation's lambda certifies
    it. Otherwise the exact form is solved with its cones: the training forms with
    many patterns and n <= 3d first on a working set of its blocks (_exact_by_working_set), and
    where that does not end in a certified solution, every form on all of its blocks.
    """
    kappa = loss_weight(program)
    relaxed, first = relaxation_first(program, kappa)
    if first.status == "infeasible" or not program.form.exact or first.accepted:
        return first
    if uses_working_set(program):
        solution = _exact_by_working_set(program, kappa, relaxed.lam)
        if solution is not None and solution.accepted:
            return solution
    solution = _exact_with_removal(program, kappa)
    if solution.accepted:
        return solution
    return _exact_on(program, kappa, every_exact_block(program.patterns.shape[1]))[0]


def relaxation_first(program, kappa):
    """The relaxation's solve (ipm.BlockSolution) and what it answers: for (12), (14)
    and (25) the Solution itself ("direct"); for an exact form its sign split, accepted
    only when the relaxation's lambda certifies it ("relaxation", the shortcut); a
    Solution with status "infeasible" when the relaxation is infeasible."""
    # (25) is (12) on U with a loss: its relaxation is itself, as for (12) and (14)
    blocks, _ = program.form.block_program(program, exact=False)
    relaxed = ipm.solve_blocks(blocks, program.y, kappa)
    if relaxed.status == "infeasible":
        return relaxed, Solution({}, np.nan, "infeasible", "IPM", route="direct")
    primal = _relaxed_primal(program, relaxed.u)
    if not program.form.exact:
        return relaxed, _structured_solution(program, primal, relaxed, "direct")
    return relaxed, _structured_solution(program, _split_by_sign(program, primal), relaxed, "relaxation")


def uses_working_set(program):
    """Whether the exact route tries a working set first: a training form with at least
    WORKING_SET_MIN_PATTERNS patterns and n <= WORKING_SET_MAX_RATIO d (see there)."""
    n, d = program.X.shape
    return (program.equation in WORKING_SET_FORMS and program.patterns.shape[1] >= WORKING_SET_MIN_PATTERNS
            and n <= WORKING_SET_MAX_RATIO * d)


def _exact_on(program, kappa, selection, removal=None, gap_tolerance=None):
    """Solve the exact form on the selected blocks (the others held at 0) and certify the
    result on the whole program, with zero duals on the left-out blocks' cones: the
    Solution, and the block solver's own (ipm.BlockSolution). removal and
    gap_tolerance: as ipm.solve_blocks takes them (the removed blocks are held at 0
    too, with zero cone duals)."""
    blocks, cones = program.form.block_program(program, exact=True, selection=selection)
    exact = ipm.solve_blocks(blocks, program.y, kappa, cones, gap_tolerance=gap_tolerance, removal=removal)
    m = program.patterns.shape[1]
    full_duals = np.zeros((len(program.y), 2 * m))
    columns, signs = selection
    full_duals[:, columns + m * (signs < 0)] = exact.zeta[cones.constrained].T  # u_i cones, then v_i cones
    return _structured_solution(program, _exact_primal(program, exact.u, selection), exact, "exact", full_duals), exact


def _exact_with_removal(program, kappa):
    """The exact form on all of its blocks with early removal (EARLY_REMOVAL), stopped
    at the gap EXACT_GAP_STOP, certified on every block, and repaired where that fails.

    A removed block, held at 0, is optimal for the whole program when its dual
    constraint min_{zeta >= 0} ||A_i^T lam + G_i^T zeta|| <= 1 holds (exact_block_dual):
    the cone duals that show it are filled in (_left_out_duals) and the solution is
    certified with them. Where some removed block's constraint fails, the exact form
    is solved again, without removal, over the blocks that stayed and the violated
    ones (a repair round; at most REPAIR_ROUNDS). Returns the last Solution, accepted
    or not (the caller then solves the whole program without removal); its route is
    "exact" for the first solve, "exact, repaired" after a repair round."""
    m = program.patterns.shape[1]
    every = every_exact_block(m)
    selected = np.ones(2 * m, dtype=bool)
    for repair in range(REPAIR_ROUNDS + 1):
        solution, exact = _exact_on(program, kappa, every.take(selected), None if repair else EARLY_REMOVAL,
                                    EXACT_GAP_STOP)
        left_out = ~selected
        first = 1 if program.form.network == "skip" else 0  # the solver's block 0 is w0, which has no cone
        left_out[np.flatnonzero(selected)[exact.removed - first]] = True
        if repair:
            solution = dataclasses.replace(solution, route="exact, repaired")
        if not left_out.any():
            return solution
        violation, cone_duals = _left_out_duals(program, solution.dual, left_out, clear=np.inf)
        solution = _with_cone_duals(program, solution, cone_duals, left_out)
        violated = left_out & (violation > 1.0 + WORKING_SET_SLACK)
        if solution.accepted or not violated.any():
            return solution
        selected = (selected & ~left_out) | violated
    return solution


def _exact_by_working_set(program, kappa, relaxed_dual):
    """An exact form solved over a working set of blocks (used for the training forms,
    kappa > 0; with kappa = 0 a set whose blocks cannot fit y ends it, and the tests run
    it on (11) and (13) too).

    A block u_i (or v_i) left out, i.e. held at 0, is optimal for the whole program
    when its dual constraint min_{zeta >= 0} ||A_i^T lam + G_i^T zeta|| <= 1 holds
    (exact_block_dual). The set starts from the blocks that the relaxation's dual
    (feasible for the exact form: zeta = 0) holds tight, ||A_i^T lam|| >= 1 - 1e-3;
    each round solves the exact form on the set, keeps the blocks that are nonzero
    at its solution and takes in every left-out block whose constraint the new dual
    violates, until none does. Where the optimum is not unique a block can be violated,
    taken in and left at 0 round after round; a block taken in again after it was
    dropped is therefore kept from then on, so no set repeats. The returned solution
    is certified on the whole program with the left-out blocks' zeta, like any other.
    (The optimum is sparse: at (400, 100) about 12% of the blocks are active; a round
    costs about what its blocks cost, so dropping the set's zero blocks keeps the
    rounds small.)

    Returns None, for the caller to solve the whole program, once the set holds more
    than WORKING_SET_MAX_SHARE of the blocks, after WORKING_SET_MAX_ROUNDS rounds, or
    when a round is not solved to the certificate's tolerances (_round_solved)."""
    m = program.patterns.shape[1]
    every = every_exact_block(m)
    active = _exact_correlation_norms(program, relaxed_dual) >= 1.0 - WORKING_SET_START
    dropped_before, kept = np.zeros_like(active), np.zeros_like(active)
    for _ in range(WORKING_SET_MAX_ROUNDS):
        if active.sum() > WORKING_SET_MAX_SHARE * len(active):
            return None
        solution, exact = _exact_on(program, kappa, every.take(active))
        if not _round_solved(exact):
            return None
        violation, cone_duals = _left_out_duals(program, solution.dual, ~active)
        violated = violation > 1.0 + WORKING_SET_SLACK
        if not violated.any():
            return dataclasses.replace(_with_cone_duals(program, solution, cone_duals, ~active), route="working set")
        kept |= violated & dropped_before
        carried = active & (_nonzero_blocks(solution.primal) | kept)
        dropped_before |= active & ~carried
        active = carried | violated
    return None


def _round_solved(exact):
    """A working-set round's program (its blocks alone) solved as accurately as the
    certificate asks of the whole program: the solver's own residual and gap within
    STRUCTURED_TOLERANCES. (On many patterns in few dimensions a round's gap can stop
    near 1e-8, short of the solver's 1e-9; the whole program's certificate, which a
    round cannot pass while left-out blocks violate their dual constraints, still
    decides the end.)"""
    tolerances = STRUCTURED_TOLERANCES
    return exact.status == "optimal" or (exact.residual <= tolerances["residual"] and exact.gap <= tolerances["gap"]
                                         and exact.complementarity <= tolerances["gap"])


def _nonzero_blocks(primal):
    """The exact form's 2m blocks (u_i, then v_i) that are not at the apex: norm above
    WORKING_SET_ZERO times the largest block's."""
    norms = np.linalg.norm(np.hstack([primal["U"], primal["V"]]), axis=0)
    return norms > WORKING_SET_ZERO * norms.max(initial=0.0)


def _with_cone_duals(program, solution, cone_duals, left_out):
    """The solution re-certified with the left-out blocks' cone duals filled in."""
    duals = solution.cone_duals.copy()
    duals[:, left_out] = cone_duals[:, left_out]
    checks = certify(program, solution.primal, solution.dual, duals)
    return dataclasses.replace(solution, cone_duals=duals, checks=checks, accepted=_within_tolerances(checks))


def _exact_correlations(program, dual):
    """A_i^T lam (d, 2m) for the 2m cone blocks of an exact form (u_i, then v_i; not w0)."""
    correlations = group_operators(program)[1](dual)
    return correlations[:, 1:] if program.form.network == "skip" else correlations


def _exact_correlation_norms(program, dual):
    """||A_i^T lam|| for the 2m blocks of an exact form (u_i, then v_i)."""
    return np.linalg.norm(_exact_correlations(program, dual), axis=0)


def _cone_matrix(program, i):
    """G_i (n, k_i): the cone G_i u >= 0 of pattern i's blocks, (2 D_i - I) X for the skip
    forms, (2 D_i - I) X V_i S_i^{-1} for the normalisation forms."""
    signs = 2.0 * program.patterns[:, i] - 1.0
    F = program.X if program.form.network == "skip" else _norm_cone_map(program, i)
    return signs[:, None] * F


def exact_block_dual(a, G):
    """(min over zeta >= 0 of ||a + G^T zeta||, the minimiser zeta (n,)).

    The value is the norm of the projection of a onto the cone {u : G u >= 0} (Moreau:
    a splits into its projections onto that cone and onto its polar {-G^T zeta}), so
    a block held at 0 satisfies its dual constraint exactly when the value is <= 1.
    A non-negative least-squares problem; zeta = 0 where ||a|| <= 1 already."""
    if np.linalg.norm(a) <= 1.0:
        return float(np.linalg.norm(a)), np.zeros(G.shape[0])
    try:
        zeta, value = scipy.optimize.nnls(G.T, -a)
    except RuntimeError:  # no convergence: report the constraint as violated
        return np.inf, np.zeros(G.shape[0])
    return float(value), zeta


def _left_out_duals(program, dual, left_out, clear=WORKING_SET_CLEAR):
    """For the blocks left out (a (2m,) mask): the value of exact_block_dual (0 for the
    others) and the cone duals (n, 2m) that attain it.

    Most left-out blocks are far inside their dual constraint; a batched projected
    gradient on the non-negative least-squares problem (_projected_gradient_duals)
    shows that for them (any zeta >= 0 with ||a + G^T zeta|| <= 1 does). A block whose
    bound stays above 1 + WORKING_SET_CLEAR is reported with that bound (an upper bound
    on its value: it is taken into the set as violated; at (400, 100) one such block in
    about 270 was not), and only the blocks in between get an exact NNLS solve. With
    clear=inf every block whose bound stays above 1 gets the NNLS (early removal: a
    block reported violated costs a repair solve there)."""
    m, n = program.patterns.shape[1], len(program.y)
    correlations = _exact_correlations(program, dual)
    values, cone_duals = np.zeros(2 * m), np.zeros((n, 2 * m))
    blocks = np.flatnonzero(left_out)
    values[blocks] = np.linalg.norm(correlations[:, blocks], axis=0)
    blocks = blocks[values[blocks] > 1.0 + WORKING_SET_SLACK]
    if blocks.size:
        maps = None
        if program.form.network == "norm":  # T_i = V_i S_i^{-1}, of norm 1 / min S_i
            maps = (_padded_cone_maps(program, blocks % m, correlations.shape[0]),
                    np.array([1.0 / program.blocks[i][1].min() for i in blocks % m]))
        bounds, zetas = _projected_gradient_duals(program.X, 2.0 * program.patterns[:, blocks % m] - 1.0,
                                                  correlations[:, blocks], maps)
        values[blocks], cone_duals[:, blocks] = bounds, zetas
        blocks = blocks[(bounds > 1.0 + WORKING_SET_SLACK) & (bounds <= 1.0 + clear)]
    for block in blocks:
        G = _cone_matrix(program, block % m)
        values[block], cone_duals[:, block] = exact_block_dual(correlations[: G.shape[1], block], G)
    return values, cone_duals


def _projected_gradient_duals(X, signs, A, maps=None, iterations=100):
    """Upper bounds on min_{zeta >= 0} ||a_b + G_b^T zeta|| for many blocks at once, with
    G_b = diag(s_b) X T_b.

    X (n, d); signs (n, B) the diagonals s_b of 2 D_i - I; A (k, B) the vectors a_b;
    maps: None for T_b = I (the skip forms), or the T_b (B, d, k) (the normalisation
    forms' V_i S_i^{-1}, zero-padded) with their norms ||T_b|| (B,). Accelerated
    projected gradient (FISTA) on 1/2 ||a + G^T zeta||^2 with step
    1 / (||X|| ||T_b||)^2 <= 1 / ||G_b||^2; every iterate is feasible, so its value
    bounds the minimum from above. Returns the bounds (B,) and the zetas (n, B)."""
    if maps is None:
        step = 1.0 / np.linalg.norm(X, 2) ** 2

        def adjoint(Z):  # G_b^T zeta_b for every block, (k, B)
            return X.T @ (signs * Z)

        def forward(R):  # G_b r_b, (n, B)
            return signs * (X @ R)
    else:
        maps, map_norms = maps
        step = 1.0 / (np.linalg.norm(X, 2) * map_norms) ** 2

        def adjoint(Z):
            return np.einsum("bdk,db->kb", maps, X.T @ (signs * Z))

        def forward(R):
            return signs * (X @ np.einsum("bdk,kb->db", maps, R))
    zeta = np.zeros_like(signs)
    momentum, t = zeta, 1.0
    for _ in range(iterations):
        updated = np.maximum(momentum - step * forward(A + adjoint(momentum)), 0.0)
        t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        momentum = updated + ((t - 1.0) / t_next) * (updated - zeta)
        zeta, t = updated, t_next
    return np.linalg.norm(A + adjoint(zeta), axis=0), zeta


# --------------------------------------------------------------------------- solve


def solve(program, solver="IPM"):
    """Solve `program` with "IPM" (the structured solver) or a CVXPY solver name;
    never raises for a failed solve.

    Returns a Solution. A solve is accepted only if the solver reports a solution
    and our own checks (certificate or residuals) are all below the tolerances
    (STRUCTURED_TOLERANCES for IPM, CHECK_TOL for CVXPY); anything else keeps the
    solver's status with accepted=False, so callers record NaN.
    """
    form = program.form
    if solver == "IPM":
        if form.loss != "train" or program.beta > 0:
            return solve_structured(program)
        solver = general_solver()  # beta = 0 leaves a least-squares fit, not a block program
    import cvxpy as cp

    problem, variables = form.build(program)
    options = CLARABEL_OPTIONS if solver == "CLARABEL" else {}
    try:
        with warnings.catch_warnings():
            # "Solution may be inaccurate": the status is kept and our own checks decide
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            problem.solve(solver=solver, **options)
        status = problem.status
    except cp.error.SolverError as error:
        status = f"solver_error: {str(error).splitlines()[0]}"
    solution = Solution(primal={}, value=np.nan, status=status, solver=solver, route="cvxpy")
    if status not in SOLVED or any(v.value is None for v in variables.values()):
        return solution

    solution.primal = {name: np.asarray(v.value) for name, v in variables.items()}
    solution.value = float(problem.value)
    if form.loss is None and problem.constraints[0].dual_value is not None:
        # CVXPY's Lagrangian adds +nu^T (fit - y); the paper's lambda is -nu.
        solution.dual = -np.asarray(problem.constraints[0].dual_value)
    if form.loss == "lasso":  # at the optimum the dual is the scaled residual (y - fit) / lambda
        fit, _ = group_operators(program)
        solution.dual = (program.y - fit(block_columns(solution.primal))) / program.penalty
    if not form.exact:
        if solution.dual is None:  # without a dual there is no certificate of optimality
            solution.status = f"{status} (no dual)"
            return solution
        solution.checks = certify(program, solution.primal, solution.dual)
    else:
        solution.checks = primal_checks(program, problem)
    solution.accepted = all(value <= CHECK_TOL for value in solution.checks.values())
    return solution
