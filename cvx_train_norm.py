"""Distance of the normalisation network trained by the convex program: the regularised form of (13).

Figure 31: minimise ||sum_i U_i (u_i - v_i) - y||^2 + beta sum_i (||u_i|| + ||v_i||)
under the cone constraints of (13), then record dis_abs between u_i - v_i and the
targets t_k on the planted columns. NaN when the solve failed our checks or n < d.
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
    return {"dis_abs": "dis_abs_cvx_train_norm"}


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    return "cvx_train_norm, sigma > 0" if args.sigma > 0 else "cvx_train_norm"


def trial(n, d, rng, args):
    return trials.norm_distance_trial(n, d, rng, args, "norm_train", beta=args.beta)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = programs.add_solver_flag(runner.make_norm_parser(__doc__.splitlines()[0], neu_default=2, beta=True,
                                                                patterns=True))
    args = runner.check_flags(parser, parser.parse_args(argv))
    programs.validate_solver(parser, args)
    return runner.validate_run(parser, args)  # last: it creates --save_folder


def main():
    args = parse()
    arrays = runner.run_script(sys.modules[__name__], args, trial, "cvx_train_norm")
    print("mean dis_abs (rows n, columns d; nan: n < d):")
    print(np.round(runner.trial_mean(arrays["dis_abs"]), 3))


if __name__ == "__main__":
    main()
