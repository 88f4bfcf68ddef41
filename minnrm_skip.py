"""Distances of the skip network's min-norm solution (12) to a planted linear neuron under label noise.

Figures 7, 22 and 23: labels y = X w + sigma N(0, I)/sqrt(n); record
dis_abs = ||w0 - w|| and dis_test = ||f(X_test) - X_test w|| on fresh data, where f
is the learned network sum_i (X w_i)_+ + X w0. NaN when the solve failed our checks.
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
    return {"dis_abs": "dis_abs_minnrm_skip", "dis_test": "dis_test_minnrm_skip"}


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    return "minnrm_skip" if args.sigma > 0 else "rec_rate_skip"  # noiseless (12) costs what recovery costs


def trial(n, d, rng, args):
    return trials.skip_distance_trial(n, d, rng, args, "12")


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = programs.add_solver_flag(runner.make_parser(__doc__.splitlines()[0]))
    args = runner.check_flags(parser, parser.parse_args(argv))
    programs.validate_solver(parser, args)
    return runner.validate_run(parser, args)  # last: it creates --save_folder


def main():
    args = parse()
    arrays = runner.run_script(sys.modules[__name__], args, trial, "minnrm_skip")
    print("mean dis_abs (rows n, columns d):")
    print(np.round(runner.trial_mean(arrays["dis_abs"]), 3))


if __name__ == "__main__":
    main()
