"""What a kernel bound sees: the data-dependent measure sqrt(2 y^T (H^inf)^-1 y / n) over the (n, d) grid.

An extension, not a figure of the paper. Arora, Du, Hu, Li and Wang (ICML 2019) bound
the test error of wide two-layer ReLU networks, trained by gradient descent from a
small random initialisation, by sqrt(2 y^T (H^inf)^-1 y / n), where for unit-norm
inputs

    H^inf_ij = E_w[x_i^T x_j 1{w^T x_i >= 0, w^T x_j >= 0}] = x_i^T x_j (pi - arccos(x_i^T x_j)) / (2 pi),

w ~ N(0, I). Each trial draws exactly the training data of the trained-network
script with the same flags and seed (--model skip: ncvx_train_skip.py's X, planted
linear w and y = X w + z; --model norm: ncvx_train_norm.py's normalised ReLU
neurons), normalises the rows of X to unit norm and rescales y to unit RMS, factors
H^inf by Cholesky and records the measure and lambda_min(H^inf). A trial whose H^inf
is numerically singular keeps status "singular" and NaN.

--compare DIS_TEST.npy (a trained-network dis_test array from the same flags and
seed) adds a figure: the measure's map, the dis_test map, and a scatter of the two
per cell (trial means) and per trial (the same data), with Spearman rank
correlations. Before any work, the array's sidecar must name the trained-network
script of the same --model, its dis_test array, and the same --n, --d, --seed,
--sigma, --optx, --optw (and --neu): the flags that decide the training data. Its
--sample (the first trials of both draw the same data) and training flags may differ.
"""

import json
import os
import sys

import numpy as np
import scipy.linalg
from scipy.stats import spearmanr

import common
import runner
import trials

# the script contract (runner.CONTRACT)
WITH_SIGMA = True
BATCHED = False
NEUTRAL_FLAGS = ("compare", "figure")  # they draw a figure after the run
TOLERANCES = None
axes = runner.default_axes


def skip_cell(n, d, args):
    """The normalisation network's cells with n < d are not run, as its script does."""
    return common.skip_n_below_d(n, d) if args.model == "norm" else None


def arc_cosine_kernel(X):
    """H^inf (n, n) of the rows of X, which must have unit norm."""
    cosines = np.clip(X @ X.T, -1.0, 1.0)
    return cosines * (np.pi - np.arccos(cosines)) / (2 * np.pi)


def kernel_measure(X, y):
    """(sqrt(2 y^T H^-1 y / n), lambda_min(H)) after unit-norm rows and unit-RMS labels;
    raises numpy.linalg.LinAlgError when H is numerically singular."""
    rows = X / np.linalg.norm(X, axis=1, keepdims=True)
    labels = y / np.sqrt(np.mean(y**2))
    H = arc_cosine_kernel(rows)
    smallest = float(np.linalg.eigvalsh(H)[0])
    if smallest <= len(H) * np.finfo(float).eps * np.abs(H).max():
        raise np.linalg.LinAlgError(f"H^inf is numerically singular (lambda_min {smallest:.2e})")
    factor = scipy.linalg.cho_factor(H)
    return float(np.sqrt(2 * labels @ scipy.linalg.cho_solve(factor, labels) / len(labels))), smallest


def training_data(rng, n, d, args):
    """The training set the trained-network script draws first from the same generator."""
    if args.model == "skip":
        X, _, y = common.linear_planted_data(rng, n, d, **trials.skip_settings(args))
    else:
        X, _, y = common.norm_planted_data(rng, n, d, **trials.norm_settings(args))
    return X, y


def trial(n, d, rng, args):
    X, y = training_data(rng, n, d, args)
    try:
        measure, smallest = kernel_measure(X, y)
    except np.linalg.LinAlgError:
        return runner.TrialResult({"measure": np.nan, "lambda_min": np.nan}, "singular")
    return runner.TrialResult({"measure": measure, "lambda_min": smallest}, "computed")


def outputs(args):
    return {"measure": f"kernel_measure_{args.model}", "lambda_min": f"kernel_lambda_min_{args.model}"}


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    return "kernel_measure"  # an extension: figures.py times it as a whole (Extension.seconds)


def matching(grid, other):
    """Indices into grid of the values of other (which must all be in grid)."""
    positions = {value: i for i, value in enumerate(grid)}
    missing = [value for value in other if value not in positions]
    if missing:
        raise ValueError(f"the grids do not match: {missing[:3]} not in {list(grid)[:3]}...")
    return [positions[value] for value in other]


DATA_FLAGS = ("n", "d", "seed", "sigma", "optx", "optw", "neu")  # what decides the training data drawn


def comparison_problem(path, args):
    """Why the array at path is not the trained networks' dis_test on this run's data
    (its sidecar says which script, array and flags made it), or None when it is."""
    import plot

    try:
        sidecar = plot.read_sidecar(os.path.splitext(path)[0] + ".json")
    except ValueError as error:
        return str(error)
    script = f"ncvx_train_{args.model}.py"
    if not sidecar:
        return "has no sidecar to say what it is"
    if sidecar.get("script") != script or sidecar.get("array") != "dis_test":
        return f"is {sidecar.get('script')}'s {sidecar.get('array')}, not {script}'s dis_test (--model {args.model})"
    theirs = sidecar["args"]
    for flag in DATA_FLAGS:
        if flag in theirs and theirs[flag] != getattr(args, flag, None):
            return f"was made with --{flag} {theirs[flag]}, this run has --{flag} {getattr(args, flag, None)}"
    return None


def compare(measure_path, dis_test_path, png):
    """The comparison figure; returns the per-cell and per-trial Spearman correlations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import plot

    measure, measure_sidecar, n_grid, d_grid = plot.load(measure_path)
    dis_test, dis_sidecar, dis_n, dis_d = plot.load(dis_test_path)
    rows, columns = matching(list(n_grid), list(dis_n)), matching(list(d_grid), list(dis_d))
    trials = min(measure.shape[2], dis_test.shape[2])
    paired_measure = measure[np.ix_(rows, columns)][:, :, :trials]
    paired_dis = dis_test[:, :, :trials]
    cell_measure, cell_dis = runner.trial_mean(paired_measure), runner.trial_mean(paired_dis)
    valid_cells = ~np.isnan(cell_measure) & ~np.isnan(cell_dis)
    valid_trials = ~np.isnan(paired_measure) & ~np.isnan(paired_dis)
    per_cell = spearmanr(cell_measure[valid_cells], cell_dis[valid_cells]).statistic
    per_trial = spearmanr(paired_measure[valid_trials], paired_dis[valid_trials]).statistic
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)
    top = np.nanmax(cell_measure)
    filled = axes[0].contourf(dis_n, dis_d, cell_measure.T, levels=np.linspace(0, top, 12), cmap="jet")
    fig.colorbar(filled, ax=axes[0], label="sqrt(2 y^T H^-1 y / n)")
    axes[0].set_title("kernel measure (trial mean)", fontsize=9)
    artist = plot.draw(axes[1], dis_n, dis_d, cell_dis, open_top=True)
    fig.colorbar(artist, ax=axes[1], label="mean dis_test")
    axes[1].set_title(f"trained networks: {os.path.basename(dis_test_path)}", fontsize=8)
    for ax in axes[:2]:
        plot.draw_theory(ax, "", dis_n, dis_d)
        plot.label_axes(ax, dis_sidecar)
    ratio = (np.asarray(dis_n)[:, None] / np.asarray(dis_d)[None, :])
    points = axes[2].scatter(cell_measure[valid_cells], cell_dis[valid_cells], c=ratio[valid_cells], cmap="viridis",
                             s=14)
    fig.colorbar(points, ax=axes[2], label="n / d")
    axes[2].set_xlabel("kernel measure (cell mean)")
    axes[2].set_ylabel("dis_test (cell mean)")
    axes[2].set_title(f"Spearman rank correlation: {per_cell:.2f} over cells, {per_trial:.2f} over trials",
                      fontsize=9)
    fig.suptitle("Extension (not in the paper): the kernel bound's measure beside trained networks' test distance",
                 fontsize=10)
    runner.save_figure(fig, png, dpi=110)
    plt.close(fig)
    return float(per_cell), float(per_trial), int(valid_cells.sum()), int(valid_trials.sum())


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = runner.make_parser(__doc__.splitlines()[0], optw_choices=(0, 1, 2),
                                optw_help=f"{runner.OPTW_SKIP} (--model skip); {runner.OPTW_NORM} (--model norm)")
    parser.add_argument("--model", default="skip", help="skip (linear planted neuron) or norm (--neu ReLU neurons)")
    parser.add_argument("--neu", type=int, default=None, help="planted normalised neurons (norm only; default 1)")
    parser.add_argument("--compare", default=None, help="a trained networks' dis_test .npy of the same flags")
    parser.add_argument("--figure", default=None, help="where the comparison PNG goes (default beside the array)")
    args = parser.parse_args(argv)
    if args.model not in ("skip", "norm"):
        parser.error(f"--model must be skip or norm; got {args.model!r}")
    if args.model == "skip":
        if args.neu is not None:
            parser.error("--neu applies to --model norm only")
        if args.optw == 2:
            parser.error(f"--optw must be 0 or 1 for --model skip; got {args.optw}")
    elif args.neu is None:
        args.neu = 1
    if args.compare is not None and not (args.compare.endswith(".npy") and os.path.isfile(args.compare)):
        parser.error(f"--compare must be an existing .npy array; got {args.compare!r}")
    if args.compare is not None and (problem := comparison_problem(args.compare, args)):
        parser.error(f"--compare {args.compare}: {problem}")
    runner.validate_figure_path(parser, args.figure)
    args.optw_choices = (0, 1) if args.model == "skip" else (0, 1, 2)
    return runner.validate(parser, args)


def main():
    args = parse()
    arrays = runner.run_script(sys.modules[__name__], args, trial, f"kernel_{args.model}")
    print("mean kernel measure (rows n, columns d):")
    print(np.round(runner.trial_mean(arrays["measure"]), 2))
    if args.compare:
        stem = runner.file_stem(outputs(args)["measure"], args, with_sigma=True)
        measure_path = os.path.join(args.save_folder, stem + ".npy")
        png = args.figure or os.path.join(args.save_folder, stem + "_vs_dis_test.png")
        per_cell, per_trial, cells, trials = compare(measure_path, args.compare, png)
        print(f"Spearman rank correlation of the measure with dis_test: {per_cell:.3f} over {cells} cells, "
              f"{per_trial:.3f} over {trials} paired trials; figure {png}")
        summary = {"compare": args.compare, "spearman_cells": per_cell, "spearman_trials": per_trial,
                   "cells": cells, "trials": trials, "figure": png}
        with open(os.path.join(args.save_folder, stem + "_vs_dis_test.json"), "w") as stream:
            json.dump(summary, stream, indent=1)


if __name__ == "__main__":
    main()
