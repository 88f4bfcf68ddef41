"""Support recovery of the group lasso (25) as lambda varies: skip connection, normalisation before the ReLU.

Figure 13 (Theorem 10): d is fixed (--d), n runs over 10, 20, ..., N and lambda
over --lam_num log-spaced values from --lam_min to --lam_max. Each trial draws X,
a planted linear neuron w and noisy labels y = X w + z (z = sigma N(0, I)/sqrt(n)),
samples the arrangement patterns D_i of X, takes the thin SVD X = U S V^T and
solves, on the whitened data U (the normalisation layer makes the network see X
only through U; the paper: "equivalent to the training problem with Haar data"),

    min 1/2 ||U w0 + sum_i D_i U w_i - y||^2 + lambda (||w0|| + sum_i ||w_i||)      (25)

A neuron is active when its block's norm exceeds 1e-4 (the suite's recovery
tolerance). Recovery: exactly one active neuron, the linear one (w0 != 0 and every
w_i = 0), as Theorem 10 states it. Arrays (n grid, lambda grid, trials): the
recovery indicator, the number of active neurons and dis_abs = ||V S^-1 w0 - w||,
the linear neuron in X's coordinates (U w0 = X V S^-1 w0) against the planted one;
NaN where the solve failed our certificate. Too small a lambda fits the noise with
ReLU neurons, too large a one zeroes w0 as well: failure, success, failure.
"""

import sys

import numpy as np

import arrangement
import common
import programs
import runner
import trials

# the script contract (runner.CONTRACT)
WITH_SIGMA = True
BATCHED = False
NEUTRAL_FLAGS = programs.SOLVER_FLAGS
TOLERANCES = common.TOLERANCES
skip_cell = runner.every_cell


def outputs(args):
    """{metric: file prefix} of the arrays a run writes."""
    return {"rec": "rec_rate_lasso_skip", "active": "num_active_lasso_skip", "dis_abs": "dis_abs_lasso_skip"}


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    return "lasso_skip"

LAM_FLOOR = 1e-6  # lambda seeds its cell as round(1e6 lambda); smaller values would share seeds


def lambdas(args):
    """The lambda grid: lam_num values, log-spaced from lam_min to lam_max."""
    return np.logspace(np.log10(args.lam_min), np.log10(args.lam_max), args.lam_num)


def axes(args):
    """The run's grid: n = 10, 20, ..., N by the lambda grid."""
    return ("n", runner.grid(args.n)), ("lam", lambdas(args))


def trial(n, lam, rng, args):
    X, w, y = common.linear_planted_data(rng, n, args.d, **trials.skip_settings(args))
    patterns, exist_all_one = arrangement.sampled_patterns(X, rng)
    U, S, V = programs.thin_svd(X)
    program = programs.Program("25", U, y, patterns, penalty=lam)
    solution = programs.solve(program, args.solver_name)
    metrics = {"rec": np.nan, "active": np.nan, "dis_abs": np.nan}
    if solution.accepted:
        linear_active = np.linalg.norm(solution.primal["w0"]) > common.RECOVERY_ATOL
        relu_active = int(np.sum(np.linalg.norm(solution.primal["W"], axis=0) > common.RECOVERY_ATOL))
        metrics = {"rec": float(linear_active and relu_active == 0), "active": float(linear_active + relu_active),
                   "dis_abs": float(np.linalg.norm(V @ (solution.primal["w0"] / S) - w))}
    details = {"X": X, "w": w, "y": y, "dmat": patterns, "exist_all_one": exist_all_one, **solution.primal}
    return runner.TrialResult(metrics, solution.outcome, details, solution.route)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = programs.add_solver_flag(runner.make_parser(__doc__.splitlines()[0], optw_default=0,
                                                                d_help="the one d of every cell (not a grid)"))
    parser.set_defaults(n=200, d=20, sample=5, sigma=0.1)
    parser.add_argument("--lam_min", type=float, default=1e-3, help="smallest lambda of the log grid")
    parser.add_argument("--lam_max", type=float, default=10.0, help="largest lambda of the log grid")
    parser.add_argument("--lam_num", type=int, default=25, help="lambda values, log-spaced")
    args = parser.parse_args(argv)
    for flag in ("lam_min", "lam_max"):
        value = getattr(args, flag)
        if not np.isfinite(value) or value < LAM_FLOOR:
            parser.error(f"--{flag} must be a finite number >= {LAM_FLOOR:g}; got {value}")
    if args.lam_max < args.lam_min:
        parser.error(f"--lam_max must be at least --lam_min ({args.lam_min:g}); got {args.lam_max:g}")
    if args.lam_num < 1:
        parser.error(f"--lam_num must be at least 1; got {args.lam_num}")
    args = runner.check_flags(parser, args)
    programs.validate_solver(parser, args)
    return runner.validate_run(parser, args)  # last: it creates --save_folder


def main():
    args = parse()
    arrays = runner.run_script(sys.modules[__name__], args, trial, "lasso_skip")
    print(f"recovery rate (rows n, columns lambda = {', '.join(f'{lam:.3g}' for lam in lambdas(args))}):")
    print(np.round(runner.trial_mean(arrays["rec"]), 2))


if __name__ == "__main__":
    main()
