"""Test distance of two-layer ReLU networks with a skip connection trained by AdamW with weight decay.

Figure 8: the network f(X) = a0 (X w0) + sum_j a_j (X w_j)_+ with width n + 1 is
trained on y = X w + sigma N(0, I)/sqrt(n) for 400 full-batch AdamW steps; record
dis_test = ||f(X_test) - X_test w|| on fresh data and dis_abs = ||a0 w0 - w||. All
trials of a cell train at once as one batched model.
"""

import numpy as np

import common
import nets


def cell(n, d, rngs, args):
    data = [common.linear_planted_data(rng, n, d, args) for rng in rngs]
    X_test = [common.sample_data(rng, n, d, args.optx) for rng in rngs]
    y_test = [x @ w for x, (_, w, _) in zip(X_test, data)]
    params, prediction, train_curve, test_curve = nets.fit_cell(
        "skip", rngs, [(X, y) for X, _, y in data], X_test, y_test, args)
    results = []
    for s, (X, w, y) in enumerate(data):
        metrics = {"dis_test": float(np.linalg.norm(prediction[s] - y_test[s])),
                   "dis_abs": float(np.linalg.norm(params["a0"][s] * params["w0"][s] - w))}
        details = {"X": X, "w": w, "y": y, "X_test": X_test[s], "train_loss": train_curve[s],
                   "test_loss": None if test_curve is None else test_curve[s], **{name: value[s] for name, value in params.items()}}
        results.append(common.TrialResult(metrics, "trained", details))
    if args.verbose:
        print(f"n={n} d={d}: final train loss {np.round(train_curve[:, -1], 5)}, "
              f"dis_test {np.round([r.metrics['dis_test'] for r in results], 4)}", flush=True)
    return results


def main():
    parser = nets.add_training_flags(common.make_parser(__doc__.splitlines()[0], solver=False))
    args = nets.validate_training(parser, common.validate(parser, parser.parse_args()))
    outputs = {"dis_test": "dis_test_ncvx_train_skip", "dis_abs": "dis_abs_ncvx_train_skip"}
    arrays = common.run_grid(args, outputs, cell, "ncvx_train_skip", with_sigma=True, batched=True)
    print("mean dis_test (rows n, columns d):")
    print(np.round(common.trial_mean(arrays["dis_test"]), 3))


if __name__ == "__main__":
    main()
