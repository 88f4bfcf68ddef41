"""Test distance of two-layer ReLU networks with a skip connection trained by AdamW with weight decay.

Figure 8: the network f(X) = a0 (X w0) + sum_j a_j (X w_j)_+ with width n + 1 is
trained on y = X w + sigma N(0, I)/sqrt(n) for 400 full-batch AdamW steps; record
dis_test = ||f(X_test) - X_test w|| on fresh data and dis_abs = ||a0 w0 - w||. A
cell's trials train together as batched models (nets.fit_cell).
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
skip_cell = runner.every_cell


def outputs(args):
    """{metric: file prefix} of the arrays a run writes."""
    return {"dis_test": "dis_test_ncvx_train_skip", "dis_abs": "dis_abs_ncvx_train_skip"}


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    return "ncvx_train_skip"


def cell(n, d, rngs, args):
    data = [common.linear_planted_data(rng, n, d, **trials.skip_settings(args)) for rng in rngs]
    X_test = [common.sample_data(rng, n, d, args.optx) for rng in rngs]
    y_test = [x @ w for x, (_, w, _) in zip(X_test, data)]
    fits = nets.fit_cell("skip", rngs, [(X, y) for X, _, y in data], X_test, y_test, args)
    results = []
    for (X, w, y), x_test, t_test, fit in zip(data, X_test, y_test, fits):
        metrics = {"dis_test": float(np.linalg.norm(fit["prediction"] - t_test)),
                   "dis_abs": float(np.linalg.norm(fit["a0"] * fit["w0"] - w))}
        results.append(runner.TrialResult(metrics, "trained", dict(fit, X=X, w=w, y=y, X_test=x_test)))
    if args.verbose:
        nets.report(n, d, results)
    return results


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = nets.add_training_flags(runner.make_parser(__doc__.splitlines()[0], beta=True))
    return nets.validate_training(parser, runner.validate(parser, parser.parse_args(argv)))


def main():
    args = parse()
    arrays = runner.run_script(sys.modules[__name__], args, cell, "ncvx_train_skip")
    print("mean dis_test (rows n, columns d):")
    print(np.round(runner.trial_mean(arrays["dis_test"]), 3))


if __name__ == "__main__":
    main()
