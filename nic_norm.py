"""Probability that the neural isometry condition NNIC-k holds for planted normalised ReLU neurons.

Figure 10: for every (n, d) cell with n >= d and trial, sample max(2n, 50) arrangement
directions (planted neurons first), whiten the blocks, and record 1 when
lambda = U_P (U_P^T U_P)^+ t certifies the planted model (U_P^T lambda = t and
||U_i^T lambda|| < 1 for every other pattern), 0 otherwise. No convex solve is needed.
"""

import sys

import numpy as np

import common
import runner
import trials

# the script contract (runner.CONTRACT)
WITH_SIGMA = False
BATCHED = False
NEUTRAL_FLAGS = ()
TOLERANCES = common.TOLERANCES
axes = runner.default_axes
skip_cell = common.skip_n_below_d


def outputs(args):
    """{metric: file prefix} of the arrays a run writes."""
    return {"nic": "nic_norm"}


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    return "nic_norm"


def trial(n, d, rng, args):
    instance = common.norm_instance(rng, n, d, **trials.norm_settings(args), num_directions=max(2 * n, 50))
    targets = common.norm_targets(instance["blocks"], instance["planted_columns"], instance["w"])
    holds, lam = common.nnic_holds(instance["blocks"], instance["planted_columns"], targets)
    details = {key: value for key, value in instance.items() if key != "blocks"}
    return runner.TrialResult({"nic": float(holds)}, "computed", dict(details, dual=lam))


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = runner.make_norm_parser(__doc__.splitlines()[0], neu_default=2, noiseless=True)
    parser.set_defaults(sample=50)
    return runner.validate(parser, parser.parse_args(argv), noiseless=True)


def main():
    args = parse()
    arrays = runner.run_script(sys.modules[__name__], args, trial, "nic_norm")
    print("probability that NNIC-k holds (rows n, columns d; nan: n < d):")
    print(np.round(runner.trial_mean(arrays["nic"]), 2))


if __name__ == "__main__":
    main()
