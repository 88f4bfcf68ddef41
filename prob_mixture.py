"""Probability that the planted direction of a Gaussian mixture splits the clusters exactly.

Figure 19 (Proposition 23): n samples, the first n/2 rows mu_1 + z_i and the rest
mu_2 + z_i with z_i ~ N(0, I_d / s^2) (s: an inverse noise scale). A draw succeeds
when the pattern 1[X u >= 0] of u = mu_1/||mu_1|| - mu_2/||mu_2|| is exactly the
cluster split: all ones on the first cluster, all zeros on the second. The cluster
means (--optmu; the authors' ReLU/prob.py numbers the same three 1, 2, 3): 0 mu_1 =
(1, ..., 1), mu_2 = -mu_1; 1 mu_1, mu_2 ~ N(0, I_d); 2 the same, normalised to unit
norm. Array (d grid, s grid, draws) of 0/1; d runs over D_STEP, 2 D_STEP, ..., D and
s over s_min, s_min + s_step, ..., s_max.

--means point (the default, as the authors compute it and as Proposition 23 states
it, for given means): the random means are drawn once per (d, s) point, from the
point's own generator (apart from every draw's), and every draw of the point shares
them; the estimate is then P(success | mu_1, mu_2). --means draw: new means in every
draw, which estimates the average of that probability over the means (an
extension, labelled so in the sidecar through its arguments).

For given means the probability has a closed form. With u = mu_1/|mu_1| - mu_2/|mu_2|
and m_k = mu_k^T u / |u|, z^T u / |u| ~ N(0, 1/s^2), so a first-cluster row is on
the right side with probability Phi(s m_1), a second-cluster row with Phi(-s m_2),
and P = Phi(s m_1)^(n/2) Phi(-s m_2)^(n/2). For mu = +-(1, ..., 1), m_1 = -m_2 =
sqrt(d) and P = Phi(s sqrt(d))^n. The script prints it beside the estimate.
"""

import sys

import numpy as np
from scipy.stats import norm

import runner

# the script contract (runner.CONTRACT)
WITH_SIGMA = False
BATCHED = True
NEUTRAL_FLAGS = ()
TOLERANCES = None
skip_cell = runner.every_cell


def outputs(args):
    """{metric: file prefix} of the arrays a run writes."""
    return {"prob": "prob_mixture"}


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    return "prob_mixture"  # per draw

MEANS_STREAM = 1  # the spawn key of a point's means generator: apart from every draw's


def cluster_means(rng, d, optmu):
    """(mu_1, mu_2), each (d,)."""
    if optmu == 0:
        return np.ones(d), -np.ones(d)
    means = rng.standard_normal((2, d))
    if optmu == 2:
        means /= np.linalg.norm(means, axis=1, keepdims=True)
    return means[0], means[1]


def point_means(seed, d, s, optmu):
    """(mu_1, mu_2) of the point (d, s) under --means point: from the point's own
    generator, a function of (seed, d, s) alone and apart from every draw's (its
    spawn key pads the entropy, so no draw's [seed, d, s, trial] can equal it)."""
    entropy = [seed, runner.seed_key(d), runner.seed_key(s)]
    return cluster_means(np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(MEANS_STREAM,))), d, optmu)


def mixture_data(rng, n, d, s, optmu, means=None):
    """X (n, d): n/2 rows mu_1 + z, then n/2 rows mu_2 + z, z ~ N(0, I_d / s^2); and mu_1,
    mu_2. means: the point's (mu_1, mu_2), or None to draw them first from rng."""
    mu_1, mu_2 = cluster_means(rng, d, optmu) if means is None else means
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


def closed_form_given_means(n, s, mu_1, mu_2):
    """P(success | mu_1, mu_2) = Phi(s m_1)^(n/2) Phi(-s m_2)^(n/2), m_k = mu_k^T u / |u|."""
    u = mu_1 / np.linalg.norm(mu_1) - mu_2 / np.linalg.norm(mu_2)
    m_1, m_2 = mu_1 @ u / np.linalg.norm(u), mu_2 @ u / np.linalg.norm(u)
    s = np.asarray(s, dtype=float)
    return norm.cdf(s * m_1) ** (n // 2) * norm.cdf(-s * m_2) ** (n // 2)


def exact_probability(args, d, s):
    """The closed form at the points (d, s_k): for each point's own means under --means
    point; under --means draw only for --optmu 0 (fixed means), else None."""
    if args.optmu == 0:
        return closed_form(args.n, d, np.asarray(s))
    if args.means == "draw":
        return None
    return np.array([closed_form_given_means(args.n, value, *point_means(args.seed, d, value, args.optmu))
                     for value in np.atleast_1d(s)])


def cell(d, s, rngs, args):
    """Every pending draw of a (d, s) cell at once (thousands of draws of microseconds each)."""
    means = point_means(args.seed, d, s, args.optmu) if args.means == "point" else None
    results = []
    for rng in rngs:
        X, mu_1, mu_2 = mixture_data(rng, args.n, d, s, args.optmu, means)
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
    parser.add_argument("--optmu", type=int, default=0,
                        help="cluster means: 0 +-1, 1 Gaussian, 2 unit Gaussian (the authors' 1, 2, 3)")
    parser.add_argument("--means", default="point",
                        help="point: one draw of the means per (d, s) point (the authors', the default); "
                             "draw: new means every draw (averages over the means)")
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
    if args.means not in ("point", "draw"):
        parser.error(f"--means must be point or draw; got {args.means!r}")
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
    arrays = runner.run_script(sys.modules[__name__], args, cell, "prob_mixture")
    (_, d_grid), (_, s_grid) = grids
    print(f"probability of the exact cluster split (rows d = {', '.join(map(str, d_grid))}; columns s):")
    print(np.round(runner.trial_mean(arrays["prob"]), 3))
    if args.optmu == 0 or args.means == "point":
        print("closed form for the point's means (Phi(s sqrt(d))^n for mu = +-1):")
        print(np.round(np.array([exact_probability(args, d, s_grid) for d in d_grid]), 3))


if __name__ == "__main__":
    main()
