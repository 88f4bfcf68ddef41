"""What the failures of (12) are: the failure rate split by whether the all-ones pattern exists.

An extension, not a figure of the paper. For each planted neuron (--optws: 0 random,
1 the smallest right singular vector of X) and each d of --ds, (12) is solved on
Gaussian data, noiseless, for n = d, d + step, ..., ratio_max * d (step max(1, d/10))
with --sample trials per n. Each trial records whether (12) recovered the planted
linear neuron, whether the all-ones pattern exists (decided exactly, by a linear
program: some w has X w > 0), how many ReLU blocks are active (norm above the
recovery tolerance) and the optimal value sum ||w_j||.

Where the all-ones pattern exists, (12) cannot recover (its block D X = X repeats the
linear one); the question is whether that is the only way it fails. The table gives,
per optw and d, the failures among trials with and without the all-ones pattern, each
with a 95% Clopper-Pearson interval, and for the failures without it the median
optimal value: below 1 = ||w||, the ReLU blocks reach y = X w with less norm than the
planted neuron, a genuine optimum other than the planted model, not a solver failure.

Writes failure_split.json (the table) and failure_split.png (failure rate against n/d,
with and without the all-ones pattern, per optw) in --save_folder, and the PNG to
--figure when given; every run goes through the suite's runner (per-trial seeds,
state files, sidecars, --resume, --jobs, --scheduler).
"""

import json
import os
import time

import numpy as np
from scipy.stats import beta

import common
import programs
import rec_rate_skip
import runner

STUDY_FLAGS = ("ds", "optws", "ratio_max", "figure")  # not a run's business
METRICS = ("rec", "all_ones", "active", "value")


def trial(n, d, rng, args):
    """rec_rate_skip's trial (the same data and program), with what the split needs."""
    result = rec_rate_skip.trial(n, d, rng, args)
    blocks = result.details["opt_w"]
    if np.isnan(result.metrics["rec"]):
        active = value = np.nan
    else:
        norms = np.linalg.norm(blocks, axis=0)
        active = float(np.sum(norms > common.RECOVERY_ATOL))
        value = float(np.linalg.norm(result.details["opt_w0"]) + norms.sum())
    metrics = {"rec": result.metrics["rec"], "all_ones": float(result.details["exist_all_one"]),
               "active": active, "value": value}
    return runner.TrialResult(metrics, result.status, {}, result.route)


def n_grid(d, ratio_max):
    return np.arange(d, int(ratio_max * d) + 1, max(1, d // 10))


def outcomes(args, optw, d):
    """(n values, {metric: (len(n), sample) array}) of one run, made or resumed."""
    n_values = n_grid(d, args.ratio_max)
    prefix = "failure_split"  # the file names add w{optw}, as every script's do
    run = runner.study_run_args(args, STUDY_FLAGS, n_values, d, optw=int(optw), optx=0, sigma=0.0, program="12")
    arrays = runner.run_grid(run, {m: f"{prefix}_{m}" for m in METRICS}, trial, prefix,
                             with_sigma=False, axes=(("n", n_values), ("d", np.array([d]))),
                             neutral_flags=programs.SOLVER_FLAGS, tolerances=common.TOLERANCES)
    return n_values, {metric: array[:, 0, :] for metric, array in arrays.items()}


def clopper_pearson(failures, trials):
    """The 95% Clopper-Pearson interval of a binomial proportion ([0, 1] with no trials)."""
    if trials == 0:
        return [0.0, 1.0]
    low = beta.ppf(0.025, failures, trials - failures + 1) if failures > 0 else 0.0
    high = beta.ppf(0.975, failures + 1, trials - failures) if failures < trials else 1.0
    return [float(low), float(high)]


def split(n_values, arrays):
    """The table row of one (optw, d): failures with and without the all-ones pattern,
    overall and per n, and what the failures without it look like."""
    solved = ~np.isnan(arrays["rec"])
    failed = solved & (arrays["rec"] == 0)
    row = {"n": [int(n) for n in n_values], "unsolved": int((~solved).sum())}
    for name, where in (("with_all_ones", arrays["all_ones"] == 1), ("without_all_ones", arrays["all_ones"] == 0)):
        trials, failures = (solved & where).sum(axis=1), (failed & where).sum(axis=1)
        row[name] = {"trials": int(trials.sum()), "failures": int(failures.sum()),
                     "rate_95": clopper_pearson(int(failures.sum()), int(trials.sum())),
                     "per_n_trials": trials.astype(int).tolist(), "per_n_failures": failures.astype(int).tolist()}
    genuine = failed & (arrays["all_ones"] == 0)
    row["without_all_ones"]["median_value"] = float(np.median(arrays["value"][genuine])) if genuine.any() else None
    row["without_all_ones"]["median_active"] = float(np.median(arrays["active"][genuine])) if genuine.any() else None
    return row


def draw(table, args, png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(args.optws), figsize=(6.5 * len(args.optws), 4.6), constrained_layout=True,
                             squeeze=False)
    for ax, optw in zip(axes[0], args.optws):
        for k, (d, row) in enumerate(table[str(optw)].items()):
            x = np.array(row["n"]) / int(d)
            for name in ("with_all_ones", "without_all_ones"):
                trials = np.array(row[name]["per_n_trials"])
                failures = np.array(row[name]["per_n_failures"])
                shown = trials > 0
                rate = failures[shown] / trials[shown]
                if name == "with_all_ones":  # always 1 (the theory): a thin line, its intervals would hide the rest
                    ax.plot(x[shown], rate, ":", color=f"C{k}", linewidth=1,
                            label=f"d = {d}, with the all-ones pattern")
                    continue
                intervals = np.array([clopper_pearson(f, t) for f, t in zip(failures[shown], trials[shown])]).T
                ax.errorbar(x[shown], rate, yerr=[rate - intervals[0], intervals[1] - rate], fmt="o-",
                            color=f"C{k}", markersize=3, capsize=2, linewidth=1,
                            label=f"d = {d}, without it (95% intervals)")
        ax.axvline(2, color="grey", linewidth=0.8)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("n / d")
        ax.set_ylabel("failure rate of (12)")
        ax.set_title(f"optw {optw}: " + ("random planted neuron" if optw == 0 else "smallest right singular vector"),
                     fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle(f"Extension (not in the paper): the failures of (12) with and without the all-ones pattern, "
                 f"{args.sample} trials per n", fontsize=10)
    runner.save_figure(fig, png, dpi=110)
    plt.close(fig)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = runner.OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ds", type=int, nargs="+", default=[10, 20, 40], help="the values of d")
    parser.add_argument("--optws", type=int, nargs="+", default=[0, 1],
                        help="planted neurons: 0 random, 1 the smallest right singular vector of X")
    parser.add_argument("--ratio_max", type=float, default=3.0, help="largest n/d (n runs from d)")
    programs.add_solver_flag(parser)
    parser.add_argument("--figure", default=None, help="also write the PNG here")
    runner.add_run_flags(parser, details=False)
    parser.set_defaults(sample=50)
    args = parser.parse_args(argv)
    if any(d < 2 for d in args.ds):
        parser.error(f"--ds must be integers >= 2; got {' '.join(map(str, args.ds))}")
    if any(optw not in (0, 1) for optw in args.optws):
        parser.error(f"--optws must be 0 and/or 1; got {' '.join(map(str, args.optws))}")
    if not np.isfinite(args.ratio_max) or args.ratio_max < 1.2:
        parser.error(f"--ratio_max must be a number >= 1.2 (two n values at d = 10); got {args.ratio_max}")
    runner.validate_figure_path(parser, args.figure)
    programs.validate_solver(parser, args)
    args.ds, args.optws = sorted(set(args.ds)), sorted(set(args.optws))
    return runner.validate_run(parser, args)


def main():
    args = parse()
    start = time.time()
    table = {str(optw): {str(d): split(*outcomes(args, optw, d)) for d in args.ds} for optw in args.optws}
    name = os.path.join(args.save_folder, "failure_split")
    summary = {"args": dict(vars(args)), "versions": runner.package_versions(), "code_version": runner.code_version(),
               "wall_time_s": round(time.time() - start, 1), "table": table}
    runner.atomic_write(name + ".json", lambda s: s.write(json.dumps(summary, indent=1).encode()))
    print(f"{'optw':>4} {'d':>4} | {'with the all-ones pattern':^32} | {'without it':^32} | median value, "
          f"active blocks of those failures")
    for optw, rows in table.items():
        for d, row in rows.items():
            cells = []
            for name_ in ("with_all_ones", "without_all_ones"):
                part = row[name_]
                low, high = part["rate_95"]
                cells.append(f"{part['failures']:>4} of {part['trials']:<4} failed [{low:.2f}, {high:.2f}]")
            genuine = row["without_all_ones"]
            detail = ("-" if genuine["median_value"] is None else
                      f"{genuine['median_value']:.3f}, {genuine['median_active']:.0f}")
            print(f"{optw:>4} {d:>4} | {cells[0]:^32} | {cells[1]:^32} | {detail}")
    draw(table, args, name + ".png")
    if args.figure:
        draw(table, args, args.figure)
    print(f"saved {name}.json, {name}.png ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
