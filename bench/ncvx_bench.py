"""Batched trainer vs one-trial-at-a-time loop, side by side in one run.

For each cell, the same S trials (same data, same initial weights) are trained
once as one batched model and once as S separate single-trial models, with the
same settings as ncvx_train_skip.py (400 AdamW steps, width n + 1, float32, one
thread per process as in the grid runner). Prints both wall times, their ratio,
and the largest difference between the two sets of final weights.

    python bench/ncvx_bench.py [--sample 10] [--epochs 400] [--repeats 2]
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

# spread over the paper's grid (n <= 400, d <= 100): small cells are overhead-bound,
# large ones are bound by the n*d*m matrix products that batching cannot remove
CELLS = [(20, 10), (50, 20), (100, 50), (200, 50), (400, 100)]


def cell_tensors(n, d, sample, seed=0):
    args = argparse.Namespace(optx=0, optw=0, sigma=0.0)
    rngs = [common.trial_rng(seed, n, d, t) for t in range(sample)]
    data = [common.linear_planted_data(rng, n, d, args) for rng in rngs]
    X = torch.tensor(np.array([x for x, _, _ in data]), dtype=torch.float32)
    y = torch.tensor(np.array([t for _, _, t in data]), dtype=torch.float32)
    params = nets.init_skip(nets.trial_generators(rngs), d, n + 1)
    return X, y, params


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=2, help="timings per variant; the best is kept")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {args.sample} trials per cell, {args.epochs} steps, best of {args.repeats}")
    print(f"{'cell':>12} {'batched s':>10} {'loop s':>10} {'loop/batched':>13} {'max |dW|':>10}")
    totals = [0.0, 0.0]
    for n, d in CELLS:
        X, y, params = cell_tensors(n, d, args.sample)

        def batched():
            return nets.train(nets.skip_forward, params, X, y, epochs=args.epochs)[0]

        def loop():
            singles = [nets.train(nets.skip_forward, {k: v[s:s + 1] for k, v in params.items()},
                                  X[s:s + 1], y[s:s + 1], epochs=args.epochs)[0]
                       for s in range(args.sample)]
            return {k: torch.cat([p[k] for p in singles]) for k in params}

        timings, results = [[], []], {}
        for _ in range(args.repeats):  # alternate the variants so drift hits both alike
            for index, variant in enumerate((batched, loop)):
                start = time.perf_counter()
                results[index] = variant()
                timings[index].append(time.perf_counter() - start)
        best = [min(t) for t in timings]
        totals = [totals[0] + best[0], totals[1] + best[1]]
        difference = max((results[0][k] - results[1][k]).abs().max().item() for k in params)
        print(f"{f'n={n} d={d}':>12} {best[0]:>10.3f} {best[1]:>10.3f} {best[1] / best[0]:>12.1f}x {difference:>10.1e}")
    print(f"{'all cells':>12} {totals[0]:>10.3f} {totals[1]:>10.3f} {totals[1] / totals[0]:>12.1f}x")


if __name__ == "__main__":
    main()
