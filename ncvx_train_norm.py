"""Test distance of two-layer ReLU networks with a normalisation layer trained by AdamW with weight decay.

Figures 33 and 40+: the network f(X) = sum_j a_j gamma_j (X w_j)_+ / ||(X w_j)_+||
with width n + 1 is trained on y = sum_j (X w_j)_+ / ||(X w_j)_+|| + noise for 400
full-batch AdamW steps; record dis_test = ||f(X_test) - y_test|| on fresh noiseless
data. Cells with n < d are skipped. A cell's trials train together as batched
models (nets.fit_cell).
"""

import sys

import numpy as np

import common
import nets
import runner
import trials

# the script contract (runner.CONTRACT)
WITH_SIGMA = True
BATCHED = True
NEUTRAL_FLAGS = nets.RUN_FLAGS
TOLERANCES = None
axes = runner.default_axes
skip_cell = common.skip_n_below_d


def outputs(args):
    """{metric: file prefix} of the arrays a run writes."""
    return {"dis_test": "dis_test_ncvx_train_norm"}


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    return "ncvx_train_norm"


def cell(n, d, rngs, args):
    data = [common.norm_planted_data(rng, n, d, **trials.norm_settings(args)) for rng in rngs]
    tests = [common.norm_test_data(rng, n, d, planted, optx=args.optx) for rng, (_, planted, _) in zip(rngs, data)]
    fits = nets.fit_cell("norm", rngs, [(X, y) for X, _, y in data], [x for x, _ in tests], [t for _, t in tests], args)
    results = []
    for (X, planted, y), (x_test, t_test), fit in zip(data, tests, fits):
        metrics = {"dis_test": float(np.linalg.norm(fit["prediction"] - t_test))}
        results.append(runner.TrialResult(metrics, "trained", dict(fit, X=X, w=planted, y=y, X_test=x_test)))
    if args.verbose:
        nets.report(n, d, results)
    return results


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = nets.add_training_flags(runner.make_norm_parser(__doc__.splitlines()[0], neu_default=1, beta=True))
    return nets.validate_training(parser, runner.validate(parser, parser.parse_args(argv)))


def main():
    args = parse()
    arrays = runner.run_script(sys.modules[__name__], args, cell, "ncvx_train_norm")
    print("mean dis_test (rows n, columns d; nan: n < d):")
    print(np.round(runner.trial_mean(arrays["dis_test"]), 3))


if __name__ == "__main__":
    main()
