"""Probability that the planted direction of a Gaussian mixture splits the clusters exactly.

Figure 19 (Proposition 23): n samples, the first n/2 rows mu_1 + z_i and the rest
mu_2 + z_i with z_i ~ N(0, I_d / s^2) (s: an inverse noise scale). A draw succeeds
when the pattern 1[X u >= 0] of u = mu_1/||mu_1|| - mu_2/||mu_2|| is exactly the
cluster split: all ones on the first cluster, all zeros on the second. The cluster
means (--optmu): 0 mu_1 = (1, ..., 1), mu_2 = -mu_1; 1 mu_1, mu_2 ~ N(0, I_d);
2 the same, normalised to unit norm. Array (d grid, s grid, draws) of 0/1; d runs
over D_STEP, 2 D_STEP, ..., D and s over s_min, s_min + s_step, ..., s_max.

For --optmu 0 the probability has a closed form: row i of the first cluster is
on the right side iff sum_k z_ik >= -d, and sum_k z_ik ~ N(0, d / s^2), so
P = Phi(s sqrt(d))^n. The script prints it beside the estimate.
"""

import numpy as np
from scipy.stats import norm

import runner


def cluster_means(rng, d, optmu):
    """(mu_1, mu_2), each (d,)."""
    if optmu == 0:
        return np.ones(d), -np.ones(d)
    means = rng.standard_normal((2, d))
    if optmu == 2:
        means /= np.linalg.norm(means, axis=1, keepdims=True)
    return means[0], means[1]


def mixture_data(rng, n, d, s, optmu):
    """X (n, d): n/2 rows mu_1 + z, then n/2 rows mu_2 + z, z ~ N(0, I_d / s^2); and mu_1, mu_2."""
    mu_1, mu_2 = cluster_means(rng, d, optmu)
    centres = np.repeat(np.vstack([mu_1, mu_2]), n // 2, axis=0)
    return centres + rng.standard_normal((n, d)) / s, mu_1, mu_2


def splits_clusters(X, mu_1, mu_2):
    """True when 1[X u >= 0], u = mu_1/||mu_1|| - mu_2/||mu_2||, is ones on the first half, zeros on the second."""
    u = mu_1 / np.linalg.norm(mu_1) - mu_2 / np.linalg.norm(mu_2)
    pattern = X @ u >= 0
    half = len(X) // 2
    return bool(pattern[:half].all() and not pattern[half:].any())


def closed_form(n, d, s):
    """P(success) for --optmu 0: Phi(s sqrt(d))^n."""
    return norm.cdf(s * np.sqrt(d)) ** n


def exact_probability(args, d, s):
    """The closed form where the means have one (--optmu 0), else None."""
    return closed_form(args.n, d, np.asarray(s)) if args.optmu == 0 else None


def cell(d, s, rngs, args):
    """Every pending draw of a (d, s) cell at once (thousands of draws of microseconds each)."""
    results = []
    for rng in rngs:
        X, mu_1, mu_2 = mixture_data(rng, args.n, d, s, args.optmu)
        results.append(runner.TrialResult({"prob": float(splits_clusters(X, mu_1, mu_2))}, "computed"))
    return results


def axes(args):
    """The run's grid: d = d_step, ..., D by s = s_min, s_min + s_step, ..., s_max."""
    s_grid = np.round(np.arange(args.s_min, args.s_max + args.s_step / 2, args.s_step), 10)
    return ("d", np.arange(args.d_step, args.d + 1, args.d_step)), ("s", s_grid)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = runner.OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="samples (even: two equal clusters)")
    parser.add_argument("--d", type=int, default=80, help="largest d; grid d_step, 2 d_step, ..., D")
    parser.add_argument("--d_step", type=int, default=20, help="step of the d grid")
    parser.add_argument("--optmu", type=int, default=0, help="cluster means: 0 +-1, 1 Gaussian, 2 unit Gaussian")
    parser.add_argument("--s_min", type=float, default=1.0, help="smallest inverse noise scale s")
    parser.add_argument("--s_max", type=float, default=8.5, help="largest s")
    parser.add_argument("--s_step", type=float, default=0.5, help="step of the s grid")
    runner.add_run_flags(parser, details=False)
    parser.set_defaults(sample=5000)
    args = parser.parse_args(argv)
    if args.n < 2 or args.n % 2:
        parser.error(f"--n must be an even number >= 2 (two clusters of n/2); got {args.n}")
    if args.d_step < 1 or args.d < args.d_step or args.d % args.d_step:
        parser.error(f"--d must be a positive multiple of --d_step ({args.d_step}, at least 1); got {args.d}")
    if args.optmu not in (0, 1, 2):
        parser.error(f"--optmu must be one of 0, 1, 2; got {args.optmu}")
    for flag in ("s_min", "s_max", "s_step"):
        value = getattr(args, flag)
        if not np.isfinite(value) or value < 1e-3:  # s seeds its cell as round(1e6 s)
            parser.error(f"--{flag} must be a finite number >= 0.001; got {value}")
    if args.s_max < args.s_min:
        parser.error(f"--s_max must be at least --s_min ({args.s_min:g}); got {args.s_max:g}")
    return runner.validate_run(parser, args)


def main():
    args = parse()
    grids = axes(args)
    arrays = runner.run_grid(args, {"prob": "prob_mixture"}, cell, "prob_mixture", with_sigma=False,
                             batched=True, axes=grids)
    (_, d_grid), (_, s_grid) = grids
    print(f"probability of the exact cluster split (rows d = {', '.join(map(str, d_grid))}; columns s):")
    print(np.round(runner.trial_mean(arrays["prob"]), 3))
    if args.optmu == 0:
        print("closed form Phi(s sqrt(d))^n:")
        print(np.round(closed_form(args.n, d_grid[:, None], s_grid[None, :]), 3))


if __name__ == "__main__":
    main()
