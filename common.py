"""Shared core of the suite: data, planted models, arrangement patterns, metrics,
the command line and the grid runner.

Shapes: X is (n, d) with rows as samples; w is (d,); patterns is an (n, m) 0/1
matrix whose column i is the diagonal of D_i. The formulas are written out in
docs/math.md, sections 1, 2 and 6.
"""

import argparse
import json
import os
import pickle
import platform
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
from scipy.optimize import linprog

import programs

SEED = 97006855
GRID_STEP = 10
OPTX_CHOICES = (0, 1, 2, 3)
RECOVERY_ATOL = 1e-4
VERSIONED_PACKAGES = ("numpy", "scipy", "cvxpy", "clarabel", "mosek", "torch", "joblib", "threadpoolctl")


# --------------------------------------------------------------------------- data


def whiten(X):
    """Orthonormal factor of the thin SVD X = U S V^T: U (n, d) when n >= d, V^T (n, d) when n < d."""
    U, _, Vt = np.linalg.svd(X, full_matrices=False)
    return U if X.shape[0] >= X.shape[1] else Vt


def sample_data(rng, n, d, optx):
    """Data matrix (n, d) with i.i.d. N(0, 1/n) entries, transformed by --optx.

    0 Gaussian; 1 cubic Gaussian (elementwise cube); 2 Haar (whitened Gaussian);
    3 whitened cubic Gaussian (the reference code never whitened this one).
    """
    X = rng.standard_normal((n, d)) / np.sqrt(n)
    if optx in (1, 3):
        X = X**3
    if optx in (2, 3):
        X = whiten(X)
    return X


def planted_linear(rng, X, optw):
    """Unit-norm planted linear neuron w (d,).

    0: w ~ N(0, I_d) normalised; 1: the right singular vector of X for its smallest
    singular value (a null vector of X when n < d, as in the reference code).
    """
    if optw == 0:
        w = rng.standard_normal(X.shape[1])
        return w / np.linalg.norm(w)
    return np.linalg.svd(X, full_matrices=True)[2][-1]


def label_noise(rng, n, sigma):
    """z = sigma * N(0, I_n) / sqrt(n)."""
    return sigma * rng.standard_normal(n) / np.sqrt(n)


# --------------------------------------------------------------------------- patterns


def has_all_ones_pattern(X):
    """Decide whether some u has X u > 0 in every row (the all-ones pattern exists).

    By scaling, this holds iff the LP  max t  s.t.  x_i^T u / ||x_i|| >= t,
    -1 <= u <= 1, t <= 1  has a positive optimum. We solve it with HiGHS and accept
    a "yes" only with its witness: the returned u must give X u > 0 in floating
    point. A zero row can never be positive, so it is a "no" at once.
    """
    row_norms = np.linalg.norm(X, axis=1)
    if np.any(row_norms == 0):
        return False
    n, d = X.shape
    normalised = X / row_norms[:, None]
    cost = np.zeros(d + 1)
    cost[-1] = -1.0  # maximise t
    constraints = np.hstack([-normalised, np.ones((n, 1))])  # t - x_i^T u / ||x_i|| <= 0
    bounds = [(-1.0, 1.0)] * d + [(None, 1.0)]
    result = linprog(cost, A_ub=constraints, b_ub=np.zeros(n), bounds=bounds, method="highs")
    if result.status != 0:
        raise RuntimeError(f"all-ones LP failed: {result.message}")
    margin, u = -result.fun, result.x[:d]
    return bool(margin > 1e-10 and np.all(X @ u > 0))


def arrangement_patterns(X, rng, num_directions=None, first_directions=None):
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


# --------------------------------------------------------------------------- metrics


def relu(z):
    return np.maximum(z, 0.0)


def skip_network_output(X, w0, W=None, U=None, V=None):
    """The learned skip network on data X (n,): X w0 + sum_i (X w_i)_+, or for the
    exact forms X w0 + sum_i (X u_i)_+ - (X v_i)_+ (W, U, V are (d, m))."""
    output = X @ w0
    if W is not None:
        output = output + relu(X @ W).sum(axis=1)
    if U is not None:
        output = output + relu(X @ U).sum(axis=1) - relu(X @ V).sum(axis=1)
    return output


def skip_recovered(w0, W, w):
    """Reference recovery test: w0 equals the planted w and every other block is 0 (atol 1e-4)."""
    return bool(np.allclose(w0, w, atol=RECOVERY_ATOL) and np.allclose(W, 0, atol=RECOVERY_ATOL))


def linear_planted_data(rng, n, d, args):
    """X, planted linear w and labels y = X w + z, drawn in that order."""
    X = sample_data(rng, n, d, args.optx)
    w = planted_linear(rng, X, args.optw)
    return X, w, X @ w + label_noise(rng, n, args.sigma)


def skip_instance(rng, n, d, args):
    """One skip-connection trial's data: X, planted linear w, labels y = X w + z, patterns.

    The draws happen in a fixed order (X, w, noise, patterns) so that a trial is a
    function of its generator alone.
    """
    X, w, y = linear_planted_data(rng, n, d, args)
    patterns, exist_all_one = arrangement_patterns(X, rng)
    return {"X": X, "w": w, "y": y, "dmat": patterns, "exist_all_one": exist_all_one}


def skip_distances(instance, X_test, primal):
    """dis_abs = ||w0 - w|| and dis_test = ||f(X_test) - X_test w|| of a solved skip program."""
    w = instance["w"]
    weights = {name: primal[name] for name in ("W", "U", "V") if name in primal}
    prediction = skip_network_output(X_test, primal["w0"], **weights)
    return {
        "dis_abs": float(np.linalg.norm(primal["w0"] - w)),
        "dis_test": float(np.linalg.norm(prediction - X_test @ w)),
    }


# --------------------------------------------------------------------------- normalisation layer

MAX_REDRAWS = 100
# NNIC-k is a strict inequality; a block whose span contains a planted activation has
# correlation exactly 1, which rounding can put just below 1, so demand a margin.
NIC_MARGIN = 1e-6


def planted_relu_neurons(rng, d, neu, optw):
    """Unit-norm planted ReLU neurons as the columns of a (d, neu) matrix.

    0: Gaussian directions; 1: w_j = e_j; 2 (neu = 2 only): w_2 = -w_1, whose
    activation regions do not intersect.
    """
    if optw == 1:
        return np.eye(d)[:, :neu]
    if optw == 2:
        w = rng.standard_normal(d)
        w /= np.linalg.norm(w)
        return np.column_stack([w, -w])
    W = rng.standard_normal((d, neu))
    return W / np.linalg.norm(W, axis=0)


def normalised_relu_sum(X, planted):
    """y = sum_j (X w_j)_+ / ||(X w_j)_+|| for the columns w_j of planted (d, k)."""
    activations = relu(X @ planted)
    return (activations / np.linalg.norm(activations, axis=0)).sum(axis=1)


def norm_planted_data(rng, n, d, args):
    """X, planted neurons (d, k) and labels y = sum_j (X w_j)_+/||(X w_j)_+|| + z.

    X and the neurons are redrawn while some (X w_j)_+ is the zero vector.
    """
    for _ in range(MAX_REDRAWS):
        X = sample_data(rng, n, d, args.optx)
        planted = planted_relu_neurons(rng, d, args.neu, args.optw)
        if relu(X @ planted).any(axis=0).all():
            return X, planted, normalised_relu_sum(X, planted) + label_noise(rng, n, args.sigma)
    raise RuntimeError(f"no data with every planted neuron active after {MAX_REDRAWS} draws (n={n}, d={d})")


def norm_test_data(rng, n, d, args, planted):
    """Fresh test data for the planted neurons, noiseless labels (redrawn while a neuron is dead)."""
    for _ in range(MAX_REDRAWS):
        X_test = sample_data(rng, n, d, args.optx)
        if relu(X_test @ planted).any(axis=0).all():
            return X_test, normalised_relu_sum(X_test, planted)
    raise RuntimeError(f"no test data with every planted neuron active after {MAX_REDRAWS} draws")


def norm_instance(rng, n, d, args, num_directions=None):
    """One normalisation-layer trial: X, planted neurons (d, k), labels, patterns,
    the planted neurons' pattern columns and the whitened blocks.

    The planted directions go first among the sampled ones, so their patterns are
    in the set; planted_columns[j] is the column of neuron j's pattern.
    """
    X, planted, y = norm_planted_data(rng, n, d, args)
    patterns, exist_all_one = arrangement_patterns(X, rng, num_directions, first_directions=planted)
    planted_patterns = (X @ planted >= 0).astype(float)
    planted_columns = [int(np.flatnonzero((patterns == column[:, None]).all(axis=0))[0]) for column in planted_patterns.T]
    blocks = programs.whitened_blocks(X, patterns)
    return {"X": X, "w": planted, "y": y, "dmat": patterns, "exist_all_one": exist_all_one,
            "planted_columns": planted_columns, "blocks": blocks}


def norm_targets(blocks, planted_columns, planted):
    """t_k = S_k V_k^T w_j / ||S_k V_k^T w_j|| for neuron j with pattern column k,
    so that U_k t_k = (X w_j)_+ / ||(X w_j)_+||. Returns a list of (r_k,) vectors."""
    targets = []
    for k, w in zip(planted_columns, planted.T):
        _, S, V = blocks[k]
        coefficients = S * (V.T @ w)
        targets.append(coefficients / np.linalg.norm(coefficients))
    return targets


def planted_solution(blocks, planted_columns, targets, d):
    """The (d, m) program variable of the planted model: t_k on planted columns
    (zero-padded to d), 0 elsewhere. Neurons sharing a pattern add up."""
    W = np.zeros((d, len(blocks)))
    for k, t in zip(planted_columns, targets):
        W[: len(t), k] += t
    return W


def norm_recovered(W, planted_W):
    """Recovery: the solution equals the planted variable everywhere, atol 1e-4."""
    return bool(np.allclose(W, planted_W, atol=RECOVERY_ATOL))


def norm_dis_abs(W, planted_W, planted_columns):
    """dis_abs = sqrt(sum_j ||W[:, k_j] - t_{k_j}||^2) over the planted columns (reference)."""
    columns = sorted(set(planted_columns))
    return float(np.linalg.norm(W[:, columns] - planted_W[:, columns]))


def nnic_holds(blocks, planted_columns, targets):
    """Neural isometry condition NNIC-k (Fig. 10).

    With U_P the planted blocks side by side and t the stacked targets,
    lambda = U_P (U_P^T U_P)^+ t; the condition holds when ||U_i^T lambda|| < 1 for
    every non-planted pattern i. lambda is a dual certificate of (14) only if it
    also meets U_P^T lambda = t, which fails when U_P loses column rank (several
    neurons, small n), so that is required too. Returns (holds, lambda).
    """
    columns = sorted(set(planted_columns))  # neurons sharing a pattern share its block
    U_planted = np.hstack([blocks[k][0] for k in columns])
    planted_W = planted_solution(blocks, planted_columns, targets, blocks[0][2].shape[0])
    t = np.concatenate([planted_W[: blocks[k][0].shape[1], k] for k in columns])
    lam = U_planted @ np.linalg.pinv(U_planted.T @ U_planted) @ t
    interpolates = np.allclose(U_planted.T @ lam, t, atol=1e-8)
    others = [i for i in range(len(blocks)) if i not in columns]
    correlations = [np.linalg.norm(blocks[i][0].T @ lam) for i in others]
    return bool(interpolates and max(correlations, default=0.0) < 1.0 - NIC_MARGIN), lam


def norm_program(instance, equation, beta=1e-6):
    """The normalisation-layer program `equation` ("14", "13", "norm_train") on an instance."""
    return programs.Program(equation, instance["X"], instance["y"], instance["dmat"], beta=beta,
                            blocks=instance["blocks"])


def norm_planted_variable(instance):
    """The planted model as the (d, m) program variable (targets on planted columns)."""
    targets = norm_targets(instance["blocks"], instance["planted_columns"], instance["w"])
    return planted_solution(instance["blocks"], instance["planted_columns"], targets, instance["X"].shape[1])


def learned_variable(primal):
    """W of a relaxed program, or u_i - v_i of an exact one; None for a failed solve."""
    if "W" in primal:
        return primal["W"]
    return primal["U"] - primal["V"] if "U" in primal else None


def norm_details(instance, solution):
    """What --save_details keeps of a norm trial (the whitened blocks are recomputable)."""
    details = {key: value for key, value in instance.items() if key != "blocks"}
    return dict(details, opt_w=learned_variable(solution.primal))


def norm_distance_trial(n, d, rng, args, equation, beta=1e-6):
    """One normalisation-layer trial of minnrm_norm ((14)) or cvx_train_norm
    ("norm_train", weight decay beta): dis_abs between the learned variable and the
    planted one on the planted columns, NaN unless the solve passed our checks."""
    instance = norm_instance(rng, n, d, args)
    solution = programs.solve(norm_program(instance, equation, beta=beta), args.solver_name)
    dis_abs = np.nan
    if solution.accepted:
        dis_abs = norm_dis_abs(learned_variable(solution.primal), norm_planted_variable(instance),
                               instance["planted_columns"])
    return TrialResult({"dis_abs": dis_abs}, solution.outcome, norm_details(instance, solution), solution.route)


def skip_n_below_d(n, d):
    """Normalisation-layer cells with n < d are not run (reference)."""
    return "n < d" if n < d else None


# --------------------------------------------------------------------------- command line


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr, naming the flag."""

    def error(self, message):
        sys.exit(f"{self.prog}: error: {message}")


def on_off(text):
    """--save_details accepts no value (on) or true/false/1/0/yes/no; the reference's
    type=bool took any value, "False" included, as True."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def make_parser(description, optw_default=1, optw_choices=(0, 1), solver=True, beta=False):
    """The reference command line plus --jobs, --resume, (convex scripts) --solver and
    (training scripts, convex or not) --beta."""
    parser = OneLineParser(description=description)
    parser.add_argument("--n", type=int, default=400, help="largest n; grid 10, 20, ..., N")
    parser.add_argument("--d", type=int, default=100, help="largest d; grid 10, 20, ..., D")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--sample", type=int, default=10, help="trials per (n, d) cell")
    parser.add_argument("--optw", type=int, default=optw_default, help=f"planted model, one of {optw_choices}")
    parser.add_argument("--optx", type=int, default=0, help="data: 0 Gaussian, 1 cubic, 2 Haar, 3 whitened cubic")
    parser.add_argument("--sigma", type=float, default=0.0, help="label noise level")
    parser.add_argument("--save_details", type=on_off, nargs="?", const=True, default=False,
                        help="also pickle every trial's data and solution (details/ subfolder)")
    parser.add_argument("--save_folder", default="./results/")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (1: serial)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    if solver:
        parser.add_argument("--solver", default="auto",
                            help="auto or IPM (the structured solver), or a CVXPY solver such as CLARABEL or MOSEK")
    if beta:
        parser.add_argument("--beta", type=float, default=1e-6, help="weight decay")
    parser.set_defaults(optw_choices=optw_choices)
    return parser


def make_norm_parser(description, neu_default, solver=True, beta=False):
    """The normalisation-layer command line: make_parser plus --neu, optw 0/1/2."""
    parser = make_parser(description, optw_default=0, optw_choices=(0, 1, 2), solver=solver, beta=beta)
    parser.add_argument("--neu", type=int, default=neu_default, help="planted neurons")
    return parser


def validate(parser, args, noiseless=False):
    """Check every flag before any work; exit with one line naming the flag."""
    for flag in ("n", "d"):
        value = getattr(args, flag)
        if value < GRID_STEP or value % GRID_STEP:
            parser.error(f"--{flag} must be a multiple of {GRID_STEP} and at least {GRID_STEP} "
                         f"(the grid is 10, 20, ..., {flag.upper()}); got {value}")
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer; got {args.seed}")
    if args.sample < 1:
        parser.error(f"--sample must be at least 1; got {args.sample}")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1; got {args.jobs}")
    if args.optx not in OPTX_CHOICES:
        parser.error(f"--optx must be one of {', '.join(map(str, OPTX_CHOICES))}; got {args.optx}")
    if args.optw not in args.optw_choices:
        parser.error(f"--optw must be one of {', '.join(map(str, args.optw_choices))}; got {args.optw}")
    if getattr(args, "neu", None) is not None:
        if args.neu < 1:
            parser.error(f"--neu must be at least 1; got {args.neu}")
        if args.optw == 2 and args.neu != 2:
            parser.error(f"--optw 2 (w_2 = -w_1) needs --neu 2; got --neu {args.neu}")
        if args.optw == 1 and args.neu > GRID_STEP:
            parser.error(f"--optw 1 (w_j = e_j) needs --neu at most {GRID_STEP}, the smallest d; got {args.neu}")
    if not np.isfinite(args.sigma) or args.sigma < 0:
        parser.error(f"--sigma must be a finite number >= 0; got {args.sigma}")
    if getattr(args, "beta", None) is not None and (not np.isfinite(args.beta) or args.beta < 0):
        parser.error(f"--beta must be a finite number >= 0; got {args.beta}")
    if noiseless and args.sigma != 0:
        parser.error(f"--sigma must be 0 for this noiseless recovery script; got {args.sigma}")
    if hasattr(args, "solver"):
        try:
            args.solver_name = programs.resolve_solver(args.solver)
        except ValueError as error:
            parser.error(str(error))
        licence = "MOSEK licence found" if programs.mosek_licensed() else "no MOSEK licence found"
        if args.solver_name == "IPM":
            print(f"solver: IPM, the structured interior-point solver (--solver {args.solver}; "
                  f"{programs.general_solver()} for training forms with --beta 0; {licence})")
        else:
            print(f"solver: {args.solver_name} (--solver {args.solver}; {licence})")
    try:
        os.makedirs(args.save_folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=args.save_folder):
            pass
    except OSError as error:
        parser.error(f"--save_folder {args.save_folder!r} is not writable ({error.strerror or error})")
    return args


def file_stem(prefix, args, with_sigma, n=None, d=None, sample=None):
    """Reference file name, e.g. dis_abs_minnrm_skip_n400_d100_w1_X0_sig0.1_sample5."""
    parts = [prefix, f"n{args.n if n is None else n}", f"d{args.d if d is None else d}",
             f"w{args.optw}", f"X{args.optx}"]
    if getattr(args, "neu", None) is not None:
        parts.append(f"neu{args.neu}")
    if with_sigma:
        parts.append(f"sig{args.sigma}")
    parts.append(f"sample{args.sample if sample is None else sample}")
    return "_".join(parts)


# --------------------------------------------------------------------------- grid runner


def trial_mean(array):
    """Mean over the trial axis, ignoring NaN trials; NaN where a cell has none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN cells
        return np.nanmean(array, axis=2)


def grid(largest):
    """10, 20, ..., largest."""
    return np.arange(GRID_STEP, largest + 1, GRID_STEP)


def trial_rng(seed, n, d, trial):
    """The trial's own generator, a function of (seed, n, d, trial) alone."""
    return np.random.default_rng([seed, n, d, trial])


@dataclass
class TrialResult:
    """One trial: its metric values (NaN when the solve was not accepted), the
    status to count, what --save_details pickles, and how the structured solver got
    the solution (Solution.route; counted in the sidecar's solver_routes)."""

    metrics: dict
    status: str
    details: dict = field(default_factory=dict)
    route: str = ""


def package_versions():
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def atomic_write(path, write):
    """Write through a temporary file in the same folder, then rename over path."""
    folder = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600; keep the usual mode
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _run_task(work, batched, n, d, trials, seed, args):
    """One unit of work in a worker: a single trial, or all pending trials of a cell."""
    rngs = [trial_rng(seed, n, d, t) for t in trials]
    results = work(n, d, rngs, args) if batched else [work(n, d, rngs[0], args)]
    if not args.save_details:  # a trial's data are megabytes: send back only what is kept
        for result in results:
            result.details = {}
    return n, d, trials, results


# the resolved solver_name is compared, not the --solver spelling (auto and IPM are one solver)
RESUME_IGNORES = {"jobs", "resume", "save_details", "save_folder", "verbose", "device", "solver"}


def run_grid(args, outputs, work, details_prefix, with_sigma, batched=False, skip_cell=None):
    """Run `work` over the (n, d, trial) grid and save one array per metric.

    outputs: {metric: file prefix}, e.g. {"rec": "rec_rate_skip"}; each array has
    shape (len(n grid), len(d grid), sample) and is saved as <stem>.npy beside a
    <stem>.json sidecar. work(n, d, rng, args) -> TrialResult, or with batched=True
    work(n, d, [rng, ...], args) -> [TrialResult, ...] for all pending trials of a
    cell at once. skip_cell(n, d) -> reason or None: such cells stay NaN.

    Arrays and sidecars are rewritten atomically after every finished unit of work,
    with the mask of finished trials in the sidecar, so an interrupted run loses only
    the work in flight and --resume finishes it with the same arrays.
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    n_grid, d_grid = grid(args.n), grid(args.d)
    shape = (len(n_grid), len(d_grid), args.sample)
    stems = {metric: file_stem(prefix, args, with_sigma) for metric, prefix in outputs.items()}
    paths = {metric: os.path.join(args.save_folder, stem) for metric, stem in stems.items()}
    arguments = {k: v for k, v in vars(args).items() if k != "optw_choices"}
    arrays = {metric: np.full(shape, np.nan) for metric in outputs}
    done = np.zeros(shape, dtype=bool)
    status_counts, route_counts, wall_before = Counter(), Counter(), 0.0

    if args.resume:
        state = _load_state(paths, arguments, shape)
        if state is not None:
            arrays, done, status_counts, route_counts, wall_before = state
            print(f"resuming: {int(done.sum())} of {done.size} trials already done")

    for i, n in enumerate(n_grid):
        for j, d in enumerate(d_grid):
            reason = skip_cell(n, d) if skip_cell else None
            if reason and not done[i, j].all():
                status_counts[f"skipped ({reason})"] += int((~done[i, j]).sum())
                done[i, j] = True

    def save(wall):
        complete = bool(done.all())
        for metric, path in paths.items():
            sidecar = {
                "script": os.path.basename(sys.argv[0]),
                "array": metric,
                "file": stems[metric] + ".npy",
                "shape": list(shape),
                "axes": ["n", "d", "trial"],
                "n_grid": n_grid.tolist(),
                "d_grid": d_grid.tolist(),
                "args": arguments,
                "seed": args.seed,
                "solver": getattr(args, "solver_name", None),
                "versions": package_versions(),
                "wall_time_s": round(wall, 3),
                "status_counts": dict(status_counts),
                "solver_routes": dict(route_counts),
                "complete": complete,
            }
            if not complete:
                sidecar["done"] = "".join("1" if flag else "0" for flag in done.ravel())
            atomic_write(path + ".npy", lambda s, a=arrays[metric]: np.save(s, a))
            atomic_write(path + ".json", lambda s, c=sidecar: s.write(json.dumps(c, indent=1).encode()))

    tasks = []
    for i, n in enumerate(n_grid):
        for j, d in enumerate(d_grid):
            pending = [t for t in range(args.sample) if not done[i, j, t]]
            units = [pending] if batched else [[t] for t in pending]
            tasks += [(int(n), int(d), unit) for unit in units if unit]
    index_n = {int(n): i for i, n in enumerate(n_grid)}
    index_d = {int(d): j for j, d in enumerate(d_grid)}

    start = time.time()
    progress = tqdm(total=sum(len(unit) for _, _, unit in tasks), desc=details_prefix, unit="trial")
    try:
        jobs = Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
            delayed(_run_task)(work, batched, n, d, unit, args.seed, args) for n, d, unit in tasks
        )
        for n, d, trials, results in jobs:
            i, j = index_n[n], index_d[d]
            for t, result in zip(trials, results):
                for metric in outputs:
                    arrays[metric][i, j, t] = result.metrics[metric]
                status_counts[result.status] += 1
                if result.route:
                    route_counts[result.route] += 1
                done[i, j, t] = True
                if args.save_details:
                    _save_details(args, details_prefix, with_sigma, n, d, t, result)
            save(wall_before + time.time() - start)
            progress.update(len(trials))
    finally:
        progress.close()
    save(wall_before + time.time() - start)
    for metric, path in paths.items():
        print(f"saved {path}.npy  shape {shape}  statuses {dict(status_counts)}")
    return arrays


def _load_state(paths, arguments, shape):
    """Arrays, done mask, status and route counts and wall time of an earlier run, if compatible."""
    sidecars = {}
    for metric, path in paths.items():
        if not (os.path.exists(path + ".json") and os.path.exists(path + ".npy")):
            return None
        with open(path + ".json") as stream:
            sidecars[metric] = json.load(stream)
    first = next(iter(sidecars.values()))
    for key, value in arguments.items():
        if key not in RESUME_IGNORES and first["args"].get(key) != value:
            sys.exit(f"error: --resume: {next(iter(paths.values()))}.json was made with "
                     f"--{key} {first['args'].get(key)}, not {value}")
    if first["complete"]:
        done = np.ones(shape, dtype=bool)
    else:
        done = (np.frombuffer(first["done"].encode(), dtype=np.uint8) == ord("1")).reshape(shape)
    arrays = {metric: np.load(path + ".npy") for metric, path in paths.items()}
    return (arrays, done, Counter(first["status_counts"]), Counter(first.get("solver_routes", {})),
            first["wall_time_s"])


def _save_details(args, details_prefix, with_sigma, n, d, trial, result):
    """One pickle per trial, named as the reference names them, under details/."""
    folder = os.path.join(args.save_folder, "details")
    os.makedirs(folder, exist_ok=True)
    name = file_stem(details_prefix, args, with_sigma, n=n, d=d, sample=trial) + ".pkl"
    payload = dict(result.details, status=result.status, **result.metrics)
    atomic_write(os.path.join(folder, name), lambda s: pickle.dump(payload, s))
