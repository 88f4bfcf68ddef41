"""Recovery of planted normalised neurons by (14) over three pattern sets: the sample, its one-flip neighbours, all.

An extension, not a figure of the paper. The program (14) has one block per
hyperplane-arrangement pattern; the authors' code, and the suite's default, builds
it over the patterns of max(n, 50) random directions (arrangement.py). For each
number of planted Gaussian neurons k of --neus and each d of --ds, rec_rate_norm's
trial is run, noiseless, for n = d, d + step, ..., ratio_max d (step max(1, d / 5)),
--sample trials per n, under --patterns sampled and neighbours; for each d of
--all_ds also under all, the whole arrangement (up to n = ALL_RATIO_MAX d, while it
has at most arrangement.ALL_CELLS_LIMIT cells).

For one neuron the whole arrangement's answer is known in closed form: (14) recovers
it iff its pattern has at least d rows, which has probability P(Bin(n, 1/2) >= d)
(docs/math.md, section 8), a threshold at n = 2d; the sample's program recovers from
about n = d. The table gives per k, d and pattern set the recovery rate per n with a
95% Clopper-Pearson interval, the near-ties (the planted model optimal, value gap below
common.NEAR_TIE_GAP, yet not unique, margin below common.NEAR_TIE_MARGIN: common.near_ties;
counted as not recovered and reported apart), the measured 50% and 90% points (linear
interpolation of the rate in n; "not reached by n = ..." otherwise), and for one neuron
the closed form's 50% point; for one neuron also the certified rate (common.
one_neuron_separation: y in no other block's range, which decides uniqueness exactly
without a solve) and its 50% point, since at large n/d genuine recoveries have margins
too thin for the solver's entries to show them (near-ties that are not ties).

Writes pattern_sets.json (the table) and pattern_sets.png (rows: k; columns: d) in
--save_folder, and the PNG to --figure when given; every run goes through the
suite's runner (per-trial seeds, state files, sidecars, --resume, --jobs, --scheduler).
"""

import json
import os
import time

import numpy as np

import arrangement
import common
import programs
import rec_rate_norm
import runner
from failure_split import clopper_pearson

STUDY_FLAGS = ("ds", "all_ds", "neus", "ratio_max", "figure")  # not a run's business
METRICS = ("rec", "margin", "value_gap", "pattern_rows")  # and, for one neuron, "certified"
# the whole arrangement's enumeration grows like n^d cells, each found by a linear program
# over n rows: up to 8d it decides one neuron's law at d = 3 (P(Bin(24, 1/2) >= 3) > 0.9999)
ALL_RATIO_MAX = 8


def trial(n, d, rng, args):
    """rec_rate_norm's trial (the same data and program), with the fewest rows of a
    planted neuron's pattern, min_j |D_{w_j}|, which decides one neuron's recovery."""
    result = rec_rate_norm.trial(n, d, rng, args)
    columns = result.details["dmat"][:, result.details["planted_columns"]]
    metrics = dict(result.metrics, pattern_rows=float(columns.sum(axis=0).min()))
    return runner.TrialResult(metrics, result.status, {}, result.route)


def n_grid(d, ratio_max, kind):
    """n = d, d + step, ..., ratio_max d; for `all`, up to ALL_RATIO_MAX d and only while
    the arrangement is enumerable."""
    if kind == "all":
        ratio_max = min(ratio_max, ALL_RATIO_MAX)
    n_values = np.arange(d, int(ratio_max * d) + 1, max(1, d // 5))
    if kind == "all":
        n_values = n_values[[arrangement.cell_count(int(n), d) <= arrangement.ALL_CELLS_LIMIT for n in n_values]]
    return n_values


def outcomes(args, neu, d, kind):
    """(n values, {metric: (len(n), sample) array}) of one run, made or resumed."""
    n_values = n_grid(d, args.ratio_max, kind)
    metrics = METRICS + ("certified",) * (neu == 1)
    run = runner.study_run_args(args, STUDY_FLAGS, n_values, d, neu=int(neu), patterns=kind, optw=0, optx=0, sigma=0.0)
    arrays = runner.run_grid(run, {m: f"pattern_sets_{m}" for m in metrics}, trial, "pattern_sets", with_sigma=False,
                             axes=(("n", n_values), ("d", np.array([d]))),
                             neutral_flags=programs.SOLVER_FLAGS, tolerances=common.TOLERANCES)
    return n_values, {metric: array[:, 0, :] for metric, array in arrays.items()}


def crossing(n_values, rate, level):
    """The first n where the rate reaches `level`, linearly interpolated from the n before;
    None when it never does."""
    reached = np.flatnonzero(rate >= level)
    if len(reached) == 0:
        return None
    i = reached[0]
    if i == 0:
        return float(n_values[0])
    return float(np.interp(level, [rate[i - 1], rate[i]], [n_values[i - 1], n_values[i]]))


def summary(n_values, arrays, d, neu):
    """The table entry of one run: per n, trials, recoveries with 95% intervals and
    near-ties; the 50% and 90% points; for one neuron, the trials whose pattern has
    >= d rows (where the whole arrangement recovers)."""
    solved = ~np.isnan(arrays["rec"])
    trials, recovered = solved.sum(axis=1), (solved & (arrays["rec"] == 1)).sum(axis=1)
    rate = recovered / np.maximum(trials, 1)
    entry = {"n": [int(n) for n in n_values], "trials": trials.tolist(), "recovered": recovered.tolist(),
             "rate_95": [clopper_pearson(int(r), int(t)) for r, t in zip(recovered, trials)],
             "near_ties": common.near_ties(arrays["margin"], arrays["value_gap"]).sum(axis=1).tolist(),
             "n50": crossing(n_values, rate, 0.5), "n90": crossing(n_values, rate, 0.9),
             "largest_n": int(n_values[-1]), "unsolved": int((~solved).sum())}
    if neu == 1:
        entry["closed_form"] = common.one_neuron_recovery_probability(n_values, d).tolist()
        entry["pattern_has_d_rows"] = (arrays["pattern_rows"] >= d).sum(axis=1).tolist()
        certified = (solved & (arrays["certified"] == 1)).sum(axis=1)
        entry["certified"] = certified.tolist()
        entry["certified_n50"] = crossing(n_values, certified / np.maximum(trials, 1), 0.5)
    return entry


def closed_form_n50(d):
    """The n/d where P(Bin(n, 1/2) >= d) crosses 1/2, linearly interpolated over integer n."""
    n = np.arange(d, 4 * d + 1)
    return float(np.interp(0.5, common.one_neuron_recovery_probability(n, d), n))


def point(value, largest):
    return f"n = {value:.0f}" if value is not None else f"not reached by n = {largest}"


def draw(table, args, png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = sorted(set(args.all_ds) | set(args.ds))
    fig, axes = plt.subplots(len(args.neus), len(ds), figsize=(4.6 * len(ds), 3.4 * len(args.neus)),
                             constrained_layout=True, squeeze=False)
    styles = {"sampled": ("C0", "o"), "neighbours": ("C3", "s"), "all": ("C2", "^")}
    for row, neu in zip(axes, args.neus):
        for ax, d in zip(row, ds):
            for kind, entry in table[str(neu)][str(d)].items():
                n = np.array(entry["n"])
                rate = np.array(entry["recovered"]) / np.maximum(entry["trials"], 1)
                low, high = np.array(entry["rate_95"]).T
                colour, marker = styles[kind]
                ties = sum(entry["near_ties"])
                ax.errorbar(n / d, rate, yerr=[rate - low, high - rate], fmt=f"{marker}-", color=colour,
                            markersize=3, capsize=1.5, linewidth=1,
                            label=f"{kind}: 50% at {point(entry['n50'], entry['largest_n'])}"
                                  + (f", {ties} near-ties" if ties else ""))
                if "certified" in entry:
                    ax.plot(n / d, np.array(entry["certified"]) / np.maximum(entry["trials"], 1), "--", color=colour,
                            linewidth=1.4, zorder=3, label=f"{kind}, certified: 50% at "
                                                 f"{point(entry['certified_n50'], entry['largest_n'])}")
            if neu == 1:
                n = np.arange(d, int(args.ratio_max * d) + 1)
                ax.plot(n / d, common.one_neuron_recovery_probability(n, d), "k:", linewidth=1.2,
                        label=f"P(Bin(n, 1/2) >= d): 50% at n = {closed_form_n50(d):.1f}")
                ax.axvline(closed_form_n50(d) / d, color="k", linestyle=":", linewidth=0.6)
            ax.axhline(0.5, color="grey", linewidth=0.5)
            ax.set_ylim(-0.03, 1.03)
            ax.set_xlabel("n / d")
            ax.set_ylabel("recovery rate of (14)")
            ax.set_title(f"{neu} neuron{'s' * (neu > 1)}, d = {d}", fontsize=9)
            ax.legend(fontsize=6, loc="lower right")
    fig.suptitle(f"Extension (not in the paper): (14) over the sampled patterns, their one-flip neighbours and the "
                 f"whole arrangement,\n{args.sample} trials per n, 95% intervals; dashed: certified unique "
                 f"(one neuron, no solve); dotted: the closed form", fontsize=10)
    runner.save_figure(fig, png, dpi=110)
    plt.close(fig)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = runner.OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neus", type=int, nargs="+", default=[1, 2, 3], help="numbers of planted Gaussian neurons")
    parser.add_argument("--ds", type=int, nargs="+", default=[10, 20],
                        help="the values of d run under --patterns sampled and neighbours")
    parser.add_argument("--all_ds", type=int, nargs="*", default=[3],
                        help="the values of d run under all three pattern sets (small: the whole arrangement is "
                             f"enumerated while it has at most {arrangement.ALL_CELLS_LIMIT} cells)")
    parser.add_argument("--ratio_max", type=float, default=12.0, help="largest n/d (n runs from d)")
    programs.add_solver_flag(parser)
    parser.add_argument("--figure", default=None, help="also write the PNG here")
    runner.add_run_flags(parser, details=False)
    parser.set_defaults(sample=10)
    args = parser.parse_args(argv)
    if any(d < 2 for d in args.ds + args.all_ds):
        parser.error(f"--ds and --all_ds must be integers >= 2; got {' '.join(map(str, args.ds + args.all_ds))}")
    if any(neu < 1 or neu > min(args.ds + args.all_ds) for neu in args.neus):
        parser.error(f"--neus must be integers from 1 to the smallest d; got {' '.join(map(str, args.neus))}")
    if not np.isfinite(args.ratio_max) or args.ratio_max < 1.5:
        parser.error(f"--ratio_max must be a number >= 1.5; got {args.ratio_max}")
    small = [d for d in args.all_ds if arrangement.cell_count(2 * d, d) > arrangement.ALL_CELLS_LIMIT]
    if small:
        parser.error(f"--all_ds {' '.join(map(str, small))}: the arrangement has more than "
                     f"{arrangement.ALL_CELLS_LIMIT} cells before n = 2d; use d <= 6")
    runner.validate_figure_path(parser, args.figure)
    programs.validate_solver(parser, args)
    args.neus, args.ds, args.all_ds = sorted(set(args.neus)), sorted(set(args.ds)), sorted(set(args.all_ds))
    return runner.validate_run(parser, args)


def main():
    args = parse()
    start = time.time()
    table = {}
    for neu in args.neus:
        table[str(neu)] = {}
        for d in sorted(set(args.all_ds) | set(args.ds)):
            kinds = arrangement.SETS if d in args.all_ds else ("sampled", "neighbours")
            table[str(neu)][str(d)] = {kind: summary(*outcomes(args, neu, d, kind), d, neu) for kind in kinds}
    name = os.path.join(args.save_folder, "pattern_sets")
    record = {"args": dict(vars(args)), "versions": runner.package_versions(), "code_version": runner.code_version(),
              "wall_time_s": round(time.time() - start, 1), "table": table}
    runner.atomic_write(name + ".json", lambda s: s.write(json.dumps(record, indent=1).encode()))
    print(f"{'k':>2} {'d':>3} {'patterns':>10} | {'50% point':>22} | {'90% point':>22} | near-ties | "
          f"{'certified 50%':>22} | closed form 50%")
    for neu, rows in table.items():
        for d, entries in rows.items():
            for kind, entry in entries.items():
                closed = f"n = {closed_form_n50(int(d)):.1f}" if neu == "1" else "-"
                certified = point(entry["certified_n50"], entry["largest_n"]) if neu == "1" else "-"
                print(f"{neu:>2} {d:>3} {kind:>10} | {point(entry['n50'], entry['largest_n']):>22} | "
                      f"{point(entry['n90'], entry['largest_n']):>22} | {sum(entry['near_ties']):>9} | "
                      f"{certified:>22} | {closed}")
    draw(table, args, name + ".png")
    if args.figure:
        draw(table, args, args.figure)
    print(f"saved {name}.json, {name}.png ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
