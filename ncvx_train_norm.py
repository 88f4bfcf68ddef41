"""Test distance of two-layer ReLU networks with a normalisation layer trained by AdamW with weight decay.

Figures 33 and 40+: the network f(X) = sum_j a_j gamma_j (X w_j)_+ / ||(X w_j)_+||
with width n + 1 is trained on y = sum_j (X w_j)_+ / ||(X w_j)_+|| + noise for 400
full-batch AdamW steps; record dis_test = ||f(X_test) - y_test|| on fresh noiseless
data. Cells with n < d are skipped. All trials of a cell train at once.
"""

import numpy as np

import common
import nets


def cell(n, d, rngs, args):
    data = [common.norm_planted_data(rng, n, d, args) for rng in rngs]
    tests = [common.norm_test_data(rng, n, d, args, planted) for rng, (_, planted, _) in zip(rngs, data)]
    params, prediction, train_curve, test_curve = nets.fit_cell(
        "norm", rngs, [(X, y) for X, _, y in data], [x for x, _ in tests], [t for _, t in tests], args)
    results = []
    for s, (X, planted, y) in enumerate(data):
        metrics = {"dis_test": float(np.linalg.norm(prediction[s] - tests[s][1]))}
        details = {"X": X, "w": planted, "y": y, "X_test": tests[s][0], "train_loss": train_curve[s],
                   "test_loss": None if test_curve is None else test_curve[s], **{name: value[s] for name, value in params.items()}}
        results.append(common.TrialResult(metrics, "trained", details))
    if args.verbose:
        print(f"n={n} d={d}: final train loss {np.round(train_curve[:, -1], 5)}, "
              f"dis_test {np.round([r.metrics['dis_test'] for r in results], 4)}", flush=True)
    return results


def main():
    parser = nets.add_training_flags(common.make_norm_parser(__doc__.splitlines()[0], neu_default=1, solver=False))
    args = nets.validate_training(parser, common.validate(parser, parser.parse_args()))
    arrays = common.run_grid(args, {"dis_test": "dis_test_ncvx_train_norm"}, cell, "ncvx_train_norm",
                             with_sigma=True, batched=True, skip_cell=common.skip_n_below_d)
    print("mean dis_test (rows n, columns d; nan: n < d):")
    print(np.round(common.trial_mean(arrays["dis_test"]), 3))


if __name__ == "__main__":
    main()
