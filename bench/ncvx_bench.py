"""Batched trainer vs one-trial-at-a-time loop, side by side in one run.

For each network and cell, the same S trials (same data, same initial weights)
are trained as the scripts train them (nets.train_in_chunks with the chunk of
nets.trials_per_chunk) and as a loop of S single-trial models (the same code with
chunk 1), with the settings of ncvx_train_*.py (400 AdamW steps, width n + 1,
float32, one thread per process as in the grid runner). Prints both wall times,
their ratio, and the largest difference between the two sets of final weights.

The last column is a ceiling on any batching: the loop's time divided by the time
of the two matrix products every step needs for every trial whatever the
batching (X_s W_s forward, X_s^T G_s for the gradient of W_s), timed one trial at
a time, which is their fastest form on a CPU. Batching removes per-step overhead,
never these products, so loop/batched cannot exceed that ceiling.

    python bench/ncvx_bench.py [--sample 10] [--epochs 400] [--repeats 2] [--network skip norm]
"""

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import common  # noqa: E402
import nets  # noqa: E402
import runner  # noqa: E402

# spread over the paper's grid (n <= 400, d <= 100): small cells are overhead-bound,
# large ones are bound by the n*d*m matrix products that batching cannot remove
CELLS = [(20, 10), (50, 20), (100, 50), (200, 50), (400, 100)]


def cell_tensors(network, n, d, sample, seed=0):
    """The cell's trial data (S, n, d), labels (S, n) and initial weights, as the scripts draw them."""
    settings = {"optx": 0, "optw": 0, "sigma": 0.0}
    rngs = [runner.trial_rng(seed, n, d, t) for t in range(sample)]
    if network == "skip":
        data = [common.linear_planted_data(rng, n, d, **settings) for rng in rngs]
    else:
        data = [common.norm_planted_data(rng, n, d, **settings, neu=1) for rng in rngs]
    X = torch.tensor(np.array([x for x, _, _ in data]), dtype=torch.float32)
    y = torch.tensor(np.array([t for _, _, t in data]), dtype=torch.float32)
    params = nets.NETWORKS[network][0](nets.trial_generators(rngs), d, n + 1)
    return X, y, params


def product_seconds(X, width, epochs):
    """Time of the two unavoidable products per step for every trial, one trial at a time."""
    W = torch.randn((X.shape[0], X.shape[2], width))
    G = torch.randn((X.shape[0], X.shape[1], width))
    start = time.perf_counter()
    for _ in range(epochs):
        for s in range(X.shape[0]):
            X[s] @ W[s]
            X[s].T @ G[s]
    return time.perf_counter() - start


def best_of(repeats, variants):
    """Each variant's best wall time and last result, alternating so that drift hits all alike."""
    timings, results = [[] for _ in variants], [None] * len(variants)
    for _ in range(repeats):
        for index, variant in enumerate(variants):
            start = time.perf_counter()
            results[index] = variant()
            timings[index].append(time.perf_counter() - start)
    return [min(t) for t in timings], results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=2, help="timings per variant; the best is kept")
    parser.add_argument("--network", nargs="+", choices=["skip", "norm"], default=["skip", "norm"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {args.sample} trials per cell, {args.epochs} steps, best of {args.repeats}")
    print(f"{'network':>7} {'cell':>12} {'chunk':>5} {'batched s':>10} {'loop s':>9} {'loop/batched':>13}"
          f" {'max |dW|':>9} {'ceiling':>8}")
    for network in args.network:
        forward = nets.NETWORKS[network][1]
        X, y, params = cell_tensors(network, *CELLS[0], args.sample)
        nets.train(forward, params, X, y, epochs=5)  # warm-up: the first call pays one-time setup
        totals = np.zeros(2)
        for n, d in CELLS:
            X, y, params = cell_tensors(network, n, d, args.sample)
            chunk = nets.trials_per_chunk(n, n + 1)
            (batched, loop, products), (batched_fit, loop_fit, _) = best_of(args.repeats, [
                lambda: nets.train_in_chunks(forward, params, X, y, chunk=chunk, epochs=args.epochs)[0],
                lambda: nets.train_in_chunks(forward, params, X, y, chunk=1, epochs=args.epochs)[0],
                lambda: product_seconds(X, n + 1, args.epochs),
            ])
            totals += batched, loop
            difference = max((batched_fit[k] - loop_fit[k]).abs().max().item() for k in params)
            print(f"{network:>7} {f'n={n} d={d}':>12} {min(chunk, args.sample):>5} {batched:>10.3f} {loop:>9.3f}"
                  f" {loop / batched:>12.1f}x {difference:>9.1e} {loop / products:>7.1f}x")
        print(f"{network:>7} {'all cells':>12} {'':>5} {totals[0]:>10.3f} {totals[1]:>9.3f}"
              f" {totals[1] / totals[0]:>12.1f}x")


if __name__ == "__main__":
    main()
