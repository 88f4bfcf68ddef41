"""The convex programs of the paper, and the one function that solves them.

Every program here is a group-l1 problem over arrangement patterns: blocks of
variables w_i, one per pattern D_i, whose sum of Euclidean norms is minimised.
Each builder writes the program the way the paper writes it, one line per
constraint, with the paper's equation number. `solve` is the only place that
talks to a solver: a faster solver replaces its inside without touching the
scripts.

Shapes: X is (n, d), y is (n,), patterns is an (n, m) 0/1 matrix whose column i
is the diagonal of D_i.
"""

import functools
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

# A solve is accepted when our own residuals (relative) are at most CHECK_TOL. For
# (12) a duality gap eps bounds the mass off the planted blocks by eps / delta
# (delta: the dual margin), so 1e-5 stays below the atol 1e-4 recovery decision.
CHECK_TOL = 1e-5
ACCURACY = 1e-6

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
    """Names accepted by --solver: 'auto' and every installed CVXPY conic solver."""
    import cvxpy as cp

    conic = {"CLARABEL", "MOSEK", "SCS", "ECOS", "GUROBI", "CPLEX", "COPT", "XPRESS"}
    return ["auto"] + sorted(s for s in cp.installed_solvers() if s in conic)


def resolve_solver(name):
    """Map --solver to a CVXPY solver name; raise ValueError naming the allowed values."""
    allowed = available_solvers()
    if name.lower() == "auto":
        return "MOSEK" if mosek_licensed() else "CLARABEL"
    if name.upper() not in allowed:
        raise ValueError(f"--solver must be one of {', '.join(allowed)} (got {name!r})")
    if name.upper() == "MOSEK" and not mosek_licensed():
        raise ValueError("--solver MOSEK: no MOSEK licence found (use --solver auto or CLARABEL)")
    return name.upper()


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


def whitened_blocks(X, patterns):
    """Rank-truncated thin SVDs D_i X = U_i S_i V_i^T, one per pattern.

    Returns a list of (U_i (n, r_i), S_i (r_i,), V_i (d, r_i)); U_i has orthonormal
    columns supported on the rows of pattern i, r_i is the numerical rank.
    """
    n, d = X.shape
    blocks = []
    for active in patterns.T.astype(bool):
        U_active, S, Vt = np.linalg.svd(X[active], full_matrices=False)
        rank = int(np.sum(S > S.max(initial=0.0) * max(n, d) * np.finfo(float).eps))
        U = np.zeros((n, rank))
        U[active] = U_active[:, :rank]
        blocks.append((U, S[:rank], Vt[:rank].T))
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

    equation: "12", "11", "skip_train" (skip network) or "14", "13", "norm_train"
    (normalisation layer); beta is the weight decay of the training forms; blocks
    are the whitened blocks of the normalisation programs (whitened_blocks).
    """

    equation: str
    X: np.ndarray
    y: np.ndarray
    patterns: np.ndarray
    beta: float = 1e-6
    blocks: list | None = None


@dataclass
class Solution:
    """What a solve returns.

    primal: the variables by name (w0 (d,), W / U / V (d, m)); value: the optimal
    value; status: the solver's word; dual: lambda (n,) of the equality constraint
    with the paper's sign (X^T lambda = w0/||w0|| at the optimum of (12), U_k^T
    lambda = t_k on planted blocks of (14)), None where the program has no
    equality; accepted: the solve passed our own accuracy checks (`checks` holds
    the measured residuals).
    """

    primal: dict
    value: float
    status: str
    solver: str
    dual: np.ndarray | None = None
    accepted: bool = False
    checks: dict = field(default_factory=dict)

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
        stacked_blocks([(2.0 * patterns[:, [i]] - 1.0) * (X @ Vi / Si)], d) for i, (_, Si, Vi) in enumerate(blocks)
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


BUILDERS = {
    "12": skip_relaxed, "11": skip_exact, "skip_train": skip_train,
    "14": norm_relaxed, "13": norm_exact, "norm_train": norm_train,
}
EQUALITY_PROGRAMS = ("12", "11", "14", "13")


# --------------------------------------------------------------------------- checks


def certify_min_norm(A, y, W, dual):
    """Our own optimality certificate for min sum_i ||w_i|| s.t. A vec(W) = y,
    independent of the solver's word (A is (n, m*d) stacked by blocks, W is (d, m)).

    Weak duality: for any lambda with ||A_i^T lambda|| <= 1 for every block i,
    y^T lambda is a lower bound on the optimal value. We rescale the solver's
    lambda to be dual feasible and measure the relative gap to the primal
    objective, next to the relative residual of the equality.
    """
    d, m = W.shape
    objective = np.linalg.norm(W, axis=0).sum()
    dual_norm = np.linalg.norm((A.T @ dual).reshape(m, d), axis=1).max()  # max_i ||A_i^T lambda||
    lower_bound = y @ dual / max(1.0, dual_norm)
    return {
        "residual": float(np.linalg.norm(A @ W.ravel(order="F") - y) / max(1.0, np.linalg.norm(y))),
        "gap": float((objective - lower_bound) / max(1.0, abs(objective))),
        "dual_infeasibility": float(max(0.0, dual_norm - 1.0)),
    }


def certify(program, primal, dual):
    """The certificate of (12) (blocks X, D_1 X, ..., D_m X) or (14) (blocks U_i)."""
    X, y = program.X, program.y
    if program.equation == "12":
        A = sp.hstack([sp.csr_matrix(X), masked_blocks(X, program.patterns)]).tocsr()
        return certify_min_norm(A, y, np.column_stack([primal["w0"], primal["W"]]), dual)
    A = stacked_blocks([U for U, _, _ in program.blocks], X.shape[1])
    return certify_min_norm(A, y, primal["W"], dual)


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


# --------------------------------------------------------------------------- solve


def solve(program, solver="CLARABEL"):
    """Solve `program` with a CVXPY solver name; never raises for a failed solve.

    Returns a Solution. A solve is accepted only if the solver reports a solution
    and our own checks (certificate or residuals) are all below CHECK_TOL; anything
    else keeps the solver's status with accepted=False, so callers record NaN.
    """
    import cvxpy as cp

    problem, variables = BUILDERS[program.equation](program)
    options = CLARABEL_OPTIONS if solver == "CLARABEL" else {}
    try:
        with warnings.catch_warnings():
            # "Solution may be inaccurate": the status is kept and our own checks decide
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            problem.solve(solver=solver, **options)
        status = problem.status
    except cp.error.SolverError as error:
        status = f"solver_error: {str(error).splitlines()[0]}"
    solution = Solution(primal={}, value=np.nan, status=status, solver=solver)
    if status not in SOLVED or any(v.value is None for v in variables.values()):
        return solution

    solution.primal = {name: np.asarray(v.value) for name, v in variables.items()}
    solution.value = float(problem.value)
    equality = problem.constraints[0]
    if program.equation in EQUALITY_PROGRAMS and equality.dual_value is not None:
        # CVXPY's Lagrangian adds +nu^T (fit - y); the paper's lambda is -nu.
        solution.dual = -np.asarray(equality.dual_value)
    if program.equation in ("12", "14") and solution.dual is not None:
        solution.checks = certify(program, solution.primal, solution.dual)
    else:
        solution.checks = primal_checks(program, problem)
    solution.accepted = all(value <= CHECK_TOL for value in solution.checks.values())
    return solution
