"""Distances of the skip network's min-norm solution (12) to a planted linear neuron under label noise.

Figures 7, 22 and 23: labels y = X w + sigma N(0, I)/sqrt(n); record
dis_abs = ||w0 - w|| and dis_test = ||f(X_test) - X_test w|| on fresh data, where f
is the learned network sum_i (X w_i)_+ + X w0. NaN when the solve failed our checks.
"""

import numpy as np

import common
import programs
import runner


def trial(n, d, rng, args):
    instance = common.skip_instance(rng, n, d, args)
    X_test = common.sample_data(rng, n, d, args.optx)
    program = programs.Program("12", instance["X"], instance["y"], instance["dmat"])
    solution = programs.solve(program, args.solver_name)
    metrics = {"dis_abs": np.nan, "dis_test": np.nan}
    if solution.accepted:
        metrics = common.skip_distances(instance, X_test, solution.primal)
    details = dict(instance, X_test=X_test, opt_w0=solution.primal.get("w0"), opt_w=solution.primal.get("W"))
    return runner.TrialResult(metrics, solution.outcome, details, solution.route)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = runner.make_parser(__doc__.splitlines()[0])
    return runner.validate(parser, parser.parse_args(argv))


def main():
    args = parse()
    outputs = {"dis_abs": "dis_abs_minnrm_skip", "dis_test": "dis_test_minnrm_skip"}
    arrays = runner.run_grid(args, outputs, trial, "minnrm_skip", with_sigma=True)
    print("mean dis_abs (rows n, columns d):")
    print(np.round(runner.trial_mean(arrays["dis_abs"]), 3))


if __name__ == "__main__":
    main()
