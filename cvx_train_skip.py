"""Distances of the skip network trained by the convex program: the regularised form of (11).

Figures 25 and 26: minimise ||X w0 + sum_i D_i X (u_i - v_i) - y||^2 + beta * (sum
of norms) under the cone constraints of (11), then record dis_abs = ||w0 - w|| and
dis_test = ||f(X_test) - X_test w|| with f = X w0 + sum_i (X u_i)_+ - (X v_i)_+.
"""

import numpy as np

import common
import programs
import runner


def trial(n, d, rng, args):
    instance = common.skip_instance(rng, n, d, args)
    X_test = common.sample_data(rng, n, d, args.optx)
    program = programs.Program("skip_train", instance["X"], instance["y"], instance["dmat"], beta=args.beta)
    solution = programs.solve(program, args.solver_name)
    metrics = {"dis_abs": np.nan, "dis_test": np.nan}
    opt_w = None
    if solution.accepted:
        metrics = common.skip_distances(instance, X_test, solution.primal)
        opt_w = common.learned_variable(solution.primal)
    details = dict(instance, X_test=X_test, opt_w0=solution.primal.get("w0"), opt_w=opt_w,
                   opt_u=solution.primal.get("U"), opt_v=solution.primal.get("V"))
    return runner.TrialResult(metrics, solution.outcome, details, solution.route)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = runner.make_parser(__doc__.splitlines()[0], beta=True)
    return runner.validate(parser, parser.parse_args(argv))


def main():
    args = parse()
    outputs = {"dis_abs": "dis_abs_cvx_train_skip", "dis_test": "dis_test_cvx_train_skip"}
    arrays = runner.run_grid(args, outputs, trial, "cvx_train_skip", with_sigma=True)
    print("mean dis_abs (rows n, columns d):")
    print(np.round(runner.trial_mean(arrays["dis_abs"]), 3))


if __name__ == "__main__":
    main()
