"""Distance of the normalisation network's min-norm solution (14) to planted neurons under label noise.

Figures 9, 29 and 37-39: labels y = sum_j (X w_j)_+ / ||(X w_j)_+|| + sigma N(0, I)/sqrt(n);
record dis_abs = sqrt(sum_j ||W[:, k_j] - t_{k_j}||^2) over the planted columns.
NaN when the solve failed our checks or the cell has n < d.
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
skip_cell = common.skip_n_below_d


def outputs(args):
    """{metric: file prefix} of the arrays a run writes."""
    return {"dis_abs": "dis_abs_minnrm_norm"}


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    if args.sigma > 0:
        return "minnrm_norm"
    return "rec_rate_norm, 1 neuron" if args.neu == 1 else "rec_rate_norm"  # noiseless (14): as recovery


def trial(n, d, rng, args):
    return trials.norm_distance_trial(n, d, rng, args, "14")


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = programs.add_solver_flag(runner.make_norm_parser(__doc__.splitlines()[0], neu_default=1, patterns=True))
    args = runner.check_flags(parser, parser.parse_args(argv))
    programs.validate_solver(parser, args)
    return runner.validate_run(parser, args)  # last: it creates --save_folder


def main():
    args = parse()
    arrays = runner.run_script(sys.modules[__name__], args, trial, "minnrm_norm")
    print("mean dis_abs (rows n, columns d; nan: n < d):")
    print(np.round(runner.trial_mean(arrays["dis_abs"]), 3))


if __name__ == "__main__":
    main()
