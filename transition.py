"""Where exactly the recovery transition lies: success against n/d on a fine grid, fitted per d.

An extension, not a figure of the paper. For each d of --ds:

1. a pilot run: n = d, d + d/5, ..., ratio_max * d (step max(1, d/5)), --pilot_sample trials;
2. a fine run: n in steps of max(1, round(d/25)) from the last pilot n with rate 0
   below the transition to the first pilot n with rate 1 above it, --sample trials;
3. a logistic fit of the fine run's successes in x = n/d,
   P(x) = 1 / (1 + exp(-(x - x50) / scale)), by maximum likelihood, with a 95%
   bootstrap interval (trials resampled within each n): the 50% point n*/d = x50 and
   the 10-90% width 2 ln(9) scale.

Experiments: "skip", recovery of a linear neuron by (12) (Gaussian data, random
planted neuron: optw 0), and "norm", recovery of --neu normalised ReLU neurons by
(14). Every run goes through the suite's runner (per-trial seeds, state files,
sidecars, --resume, --jobs, --scheduler). Beside each fit the all-ones failure bound
1 - P(n, d) (Wendel) is computed: recovery of (12) needs the all-ones pattern absent,
so its rate is at most the bound; the bound's own 50% point is n = 2d and its 10-90%
width shrinks like 1/sqrt(d).

Writes transition_<experiment>.json (the table and fits) and .npz (counts and fitted
curves) and transition_<experiment>.png (success against n/d per d, with the bound;
n*/d against d with intervals and the line n/d = 2; widths against d) in
--save_folder, and the PNG to --figure when given.
"""

import json
import os
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

import arrangement
import common
import programs
import rec_rate_norm
import rec_rate_skip
import runner

EXPERIMENTS = {"skip": (rec_rate_skip.trial, 3.0), "norm": (rec_rate_norm.trial, 6.0)}
STUDY_FLAGS = ("ds", "pilot_sample", "ratio_max", "bootstrap", "figure", "experiment")  # not a run's business
WIDTH_FACTOR = 2 * np.log(9.0)  # 10-90% width of a logistic curve of scale 1


def experiment_name(args):
    return args.experiment + (f"_neu{args.neu}" if args.experiment == "norm" else "")


def rates(args, d, stage, n_values, sample):
    """Run (or resume) one stage's grid for one d; returns the (len(n_values), sample) 0/1 array (NaN: failed)."""
    trial, _ = EXPERIMENTS[args.experiment]
    run = runner.study_run_args(args, STUDY_FLAGS, n_values, d, sample=sample, stage=stage, optw=0, optx=0, sigma=0.0,
                                program="12")
    prefix = f"transition_{args.experiment}_{stage}"
    arrays = runner.run_grid(run, {"rec": prefix}, trial, prefix, with_sigma=False, neutral_flags=programs.SOLVER_FLAGS,
                             tolerances=common.TOLERANCES,
                             axes=(("n", np.asarray(n_values)), ("d", np.array([d]))))
    return arrays["rec"][:, 0, :]


def pilot_grid(d, ratio_max):
    step = max(1, d // 5)
    return np.arange(d, int(ratio_max * d) + 1, step)


def fine_grid(d, pilot_n, pilot_rate):
    """n from the last pilot point with rate 0 below the transition to the first with rate 1 above it."""
    rising = np.flatnonzero(pilot_rate > 0)
    below_one = np.flatnonzero(pilot_rate < 1)
    if len(rising) == 0 or len(below_one) == 0:  # never or always recovered on the pilot grid
        return None
    low = pilot_n[max(rising[0] - 1, 0)]
    high = pilot_n[min(below_one[-1] + 1, len(pilot_n) - 1)]
    return np.arange(low, high + 1, max(1, round(d / 25)))


def fit_logistic(x, successes, trials):
    """Maximum-likelihood logistic P(x) = expit((x - x50) / scale) to binomial counts;
    returns (x50, scale)."""
    def negative_log_likelihood(theta):
        p = np.clip(expit((x - theta[0]) / np.exp(theta[1])), 1e-12, 1 - 1e-12)
        return -np.sum(successes * np.log(p) + (trials - successes) * np.log1p(-p))

    rate = successes / np.maximum(trials, 1)
    middle = x[np.argmin(np.abs(rate - 0.5))]
    start = np.array([middle, np.log(max((x.max() - x.min()) / 10, 1e-3))])
    result = minimize(negative_log_likelihood, start, method="Nelder-Mead",
                      options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000})
    return float(result.x[0]), float(np.exp(result.x[1]))


def bootstrap(x, outcomes, rng, resamples):
    """Percentile 95% intervals of (x50, width) with the trials of each x resampled."""
    draws = []
    for _ in range(resamples):
        successes, trials = [], []
        for row in outcomes:
            valid = row[~np.isnan(row)]
            sample = rng.choice(valid, size=len(valid), replace=True) if len(valid) else valid
            successes.append(sample.sum())
            trials.append(len(sample))
        x50, scale = fit_logistic(x, np.array(successes), np.array(trials))
        draws.append((x50, WIDTH_FACTOR * scale))
    low, high = np.percentile(np.array(draws), [2.5, 97.5], axis=0)
    return (float(low[0]), float(high[0])), (float(low[1]), float(high[1]))


def bound_transition(d):
    """50% point and 10-90% width (in n/d) of the all-ones bound 1 - P(n, d) against n."""
    n = np.arange(d, 8 * d + 1)
    bound = 1.0 - arrangement.wendel_probability(n, d)
    at = {level: float(np.interp(level, bound, n)) / d for level in (0.1, 0.5, 0.9)}
    return at[0.5], at[0.9] - at[0.1]


def analyse(d, n_values, outcomes, seed, resamples):
    """The fit of one d: the table row and the fitted curve."""
    x = np.asarray(n_values) / d
    valid = ~np.isnan(outcomes)
    successes, trials = np.nansum(outcomes, axis=1), valid.sum(axis=1)
    x50, scale = fit_logistic(x, successes, trials)
    rng = np.random.default_rng([seed, d, 2])
    x50_interval, width_interval = bootstrap(x, outcomes, rng, resamples)
    bound_x50, bound_width = bound_transition(d)
    return {"d": int(d), "n_star_over_d": x50, "n_star_over_d_95": x50_interval,
            "width_10_90": WIDTH_FACTOR * scale, "width_95": width_interval,
            "bound_n_star_over_d": bound_x50, "bound_width_10_90": bound_width,
            "n": [int(n) for n in n_values], "successes": successes.astype(int).tolist(),
            "trials": trials.astype(int).tolist(), "failed_trials": int((~valid).sum())}


def draw(rows, args, png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (curves, centres, widths) = plt.subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)
    for row in rows:
        d, n = row["d"], np.array(row["n"])
        x = n / d
        rate = np.array(row["successes"]) / np.maximum(row["trials"], 1)
        line, = curves.plot(x, rate, "o", markersize=3, label=f"d = {d}")
        fine = np.linspace(x.min(), x.max(), 200)
        curves.plot(fine, expit((fine - row["n_star_over_d"]) / (row["width_10_90"] / WIDTH_FACTOR)),
                    color=line.get_color())
        bound_n = np.arange(n.min(), n.max() + 1)
        curves.plot(bound_n / d, 1 - arrangement.wendel_probability(bound_n, d), ":", color=line.get_color())
    curves.plot([], [], "k:", label="all-ones bound 1 - P(n, d)")
    curves.axvline(2, color="grey", linewidth=0.8)
    curves.set_xlabel("n / d")
    curves.set_ylabel("success probability")
    curves.legend(fontsize=7)
    d_values = np.array([row["d"] for row in rows])
    centre = np.array([row["n_star_over_d"] for row in rows])
    interval = np.array([row["n_star_over_d_95"] for row in rows]).T
    centres.errorbar(d_values, centre, yerr=[centre - interval[0], interval[1] - centre], fmt="o-", capsize=3,
                     label="n*/d (50% point), 95% interval")
    centres.axhline(2, color="k", linestyle="--", label="n / d = 2 (the bound's 50% point)")
    centres.set_xscale("log")
    centres.set_xlabel("d")
    centres.set_ylabel("n* / d")
    centres.legend(fontsize=7)
    width = np.array([row["width_10_90"] for row in rows])
    width_interval = np.array([row["width_95"] for row in rows]).T
    widths.errorbar(d_values, width, yerr=[width - width_interval[0], width_interval[1] - width], fmt="o-",
                    capsize=3, label="10-90% width of the fit, 95% interval")
    widths.plot(d_values, [row["bound_width_10_90"] for row in rows], "s:", label="10-90% width of the bound")
    widths.set_xscale("log")
    widths.set_yscale("log")
    widths.set_xlabel("d")
    widths.set_ylabel("10-90% width in n / d")
    widths.legend(fontsize=7)
    what = "(12), one linear neuron" if args.experiment == "skip" else f"(14), {args.neu} normalised neuron(s)"
    fig.suptitle(f"Extension (not in the paper): the recovery transition of {what}, "
                 f"{args.sample} trials per n", fontsize=10)
    runner.save_figure(fig, png, dpi=110)
    plt.close(fig)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = runner.OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="skip", help="skip ((12), linear neuron) or norm ((14), --neu)")
    parser.add_argument("--neu", type=int, default=None, help="planted normalised neurons (norm only; default 1)")
    parser.add_argument("--ds", type=int, nargs="+", default=[10, 20, 50, 100, 200], help="the values of d")
    parser.add_argument("--pilot_sample", type=int, default=10, help="trials per n of the pilot grid")
    parser.add_argument("--ratio_max", type=float, default=None,
                        help="largest n/d of the pilot grid (default 3 for skip, 6 for norm)")
    parser.add_argument("--bootstrap", type=int, default=500, help="bootstrap resamples of each fit")
    programs.add_solver_flag(parser)
    parser.add_argument("--figure", default=None, help="also write the PNG here")
    runner.add_run_flags(parser, details=False)
    parser.set_defaults(sample=50)
    args = parser.parse_args(argv)
    if args.experiment not in EXPERIMENTS:
        parser.error(f"--experiment must be one of {', '.join(EXPERIMENTS)}; got {args.experiment!r}")
    if args.experiment == "skip" and args.neu is not None:
        parser.error("--neu applies to --experiment norm only")
    if args.experiment == "norm":
        args.neu = 1 if args.neu is None else args.neu
        if args.neu < 1:
            parser.error(f"--neu must be at least 1; got {args.neu}")
    if any(d < 2 for d in args.ds):
        parser.error(f"--ds must be integers >= 2; got {' '.join(map(str, args.ds))}")
    if args.pilot_sample < 1 or args.bootstrap < 1:
        parser.error("--pilot_sample and --bootstrap must be at least 1")
    if args.ratio_max is None:
        args.ratio_max = EXPERIMENTS[args.experiment][1]
    if not np.isfinite(args.ratio_max) or args.ratio_max <= 1:
        parser.error(f"--ratio_max must be a number > 1; got {args.ratio_max}")
    runner.validate_figure_path(parser, args.figure)
    programs.validate_solver(parser, args)
    return runner.validate_run(parser, args)


def main():
    args = parse()
    start = time.time()
    rows = []
    for d in sorted(set(args.ds)):
        pilot_n = pilot_grid(d, args.ratio_max)
        pilot_rate = np.nanmean(rates(args, d, "pilot", pilot_n, args.pilot_sample), axis=1)
        n_values = fine_grid(d, pilot_n, pilot_rate)
        if n_values is None:
            print(f"d = {d}: the pilot rate is {'0' if np.all(pilot_rate == 0) else '1'} everywhere on "
                  f"n/d in [1, {args.ratio_max:g}]; no transition to fit (raise --ratio_max)")
            continue
        rows.append(analyse(d, n_values, rates(args, d, "fine", n_values, args.sample), args.seed, args.bootstrap))
    name = os.path.join(args.save_folder, f"transition_{experiment_name(args)}")
    summary = {"experiment": experiment_name(args), "args": dict(vars(args)),
               "versions": runner.package_versions(), "wall_time_s": round(time.time() - start, 1), "rows": rows}
    runner.atomic_write(name + ".json", lambda s: s.write(json.dumps(summary, indent=1).encode()))
    print(f"{'d':>5} {'n*/d':>7} {'95% interval':>17} {'10-90% width':>13} {'95% interval':>17} "
          f"{'bound width':>12} {'n values':>9}")
    for row in rows:
        print(f"{row['d']:>5} {row['n_star_over_d']:7.3f} [{row['n_star_over_d_95'][0]:6.3f}, "
              f"{row['n_star_over_d_95'][1]:6.3f}] {row['width_10_90']:13.3f} [{row['width_95'][0]:6.3f}, "
              f"{row['width_95'][1]:6.3f}] {row['bound_width_10_90']:12.3f} {len(row['n']):>9}")
    if rows:
        draw(rows, args, name + ".png")
        if args.figure:
            draw(rows, args, args.figure)
    print(f"saved {name}.json, {name}.png ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
