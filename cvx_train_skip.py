"""Distances of the skip network trained by the convex program: the regularised form of (11).

Figures 25 and 26: minimise ||X w0 + sum_i D_i X (u_i - v_i) - y||^2 + beta * (sum
of norms) under the cone constraints of (11), then record dis_abs = ||w0 - w|| and
dis_test = ||f(X_test) - X_test w|| with f = X w0 + sum_i (X u_i)_+ - (X v_i)_+.
"""

import sys

import numpy as np

import common
import programs
import runner
import trials

# the script contract (runner.CONTRACT)
WITH_SIGMA = True
BATCHED = False
NEUTRAL_FLAGS = programs.SOLVER_FLAGS
TOLERANCES = common.TOLERANCES
axes = runner.default_axes
skip_cell = runner.every_cell


def outputs(args):
    """{metric: file prefix} of the arrays a run writes."""
    return {"dis_abs": "dis_abs_cvx_train_skip", "dis_test": "dis_test_cvx_train_skip"}


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    return "cvx_train_skip, sigma > 0" if args.sigma > 0 else "cvx_train_skip"


def trial(n, d, rng, args):
    return trials.skip_distance_trial(n, d, rng, args, "skip_train", beta=args.beta)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = programs.add_solver_flag(runner.make_parser(__doc__.splitlines()[0], beta=True))
    args = runner.check_flags(parser, parser.parse_args(argv))
    programs.validate_solver(parser, args)
    return runner.validate_run(parser, args)  # last: it creates --save_folder


def main():
    args = parse()
    arrays = runner.run_script(sys.modules[__name__], args, trial, "cvx_train_skip")
    print("mean dis_abs (rows n, columns d):")
    print(np.round(runner.trial_mean(arrays["dis_abs"]), 3))


if __name__ == "__main__":
    main()
