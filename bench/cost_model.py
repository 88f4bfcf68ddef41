"""figures.py's cost model against measured trials: the constants' source and their check.

Times sampled cells of every grid script as the grid runner runs them (runner._run_task:
one BLAS thread, the scripts' own trial functions and seeds), two worker processes at
once as a --jobs 2 run has them, and prints for each cell the measured seconds per trial
beside figures.trial_seconds (without figures.RUN_FACTOR, the whole-run calibration of
the noisy training forms), their ratio, and whether it is within 1.5x.

    python bench/cost_model.py [--trials 3] [--keys ...]     measured against predicted
    python bench/cost_model.py --fit                          also the fitted COST entries

--fit fits each key's fixed + scale (n / 100)^p (d / 50)^q to its cells by least
squares on the log of the time (q = 0 where the cells share one d) and prints the
entries to put in figures.COST; the check column then compares the cells with the
new fit. The noiseless exact and training forms (figures.MIXED) have no constants of
their own: the exact route's and the relaxation's laws, mixed by Wendel's
probability of the all-ones pattern with n scaled down by the entry's shift (read off
whole runs' route maps, see figures.MIXED); their cells are bimodal (a trial takes one
route or the other), so they want more trials. Takes about 5 minutes on this 2-core machine.
"""

import importlib
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.optimize
from joblib import Parallel, delayed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import figures  # noqa: E402
import runner  # noqa: E402

SMALL, MID, LARGE = ((20, 10), (100, 50), (200, 50)), ((300, 100), (400, 100)), ((300, 80), (400, 80))
# key: (script, flags, cells (n, d)); the lasso's second axis is lambda (its d is --d 20)
CELLS = {
    "rec_rate_skip": ("rec_rate_skip", ("--optw", "0"), SMALL + MID),
    "rec_rate_skip (11)": ("rec_rate_skip", ("--optw", "0", "--program", "11"), SMALL + ((60, 50),) + MID),
    "minnrm_skip": ("minnrm_skip", ("--sigma", "0.1"), SMALL + MID),
    "rec_rate_norm": ("rec_rate_norm", ("--neu", "2"), SMALL + LARGE),
    "rec_rate_norm, 1 neuron": ("rec_rate_norm", ("--neu", "1"), SMALL + MID),
    "minnrm_norm": ("minnrm_norm", ("--sigma", "0.1"), SMALL + LARGE + ((400, 100),)),
    "nic_norm": ("nic_norm", ("--neu", "2"), SMALL + LARGE),
    "cvx_train_skip": ("cvx_train_skip", ("--sigma", "0"), SMALL + MID),
    "cvx_train_skip, sigma > 0": ("cvx_train_skip", ("--sigma", "0.1"), SMALL + MID),
    "cvx_train_norm": ("cvx_train_norm", ("--sigma", "0", "--neu", "1"), SMALL + LARGE),
    "cvx_train_norm, sigma > 0": ("cvx_train_norm", ("--sigma", "0.1", "--neu", "1"), SMALL + LARGE + ((400, 100),)),
    "lasso_skip": ("lasso_skip", ("--d", "20"), ((20, 0.01), (100, 0.01), (100, 1.0), (200, 0.05), (200, 1.0))),
    "ncvx_train_skip": ("ncvx_train_skip", ("--sigma", "0"), ((20, 10), (100, 50), (200, 50), (400, 100))),
    "ncvx_train_norm": ("ncvx_train_norm", ("--sigma", "0", "--neu", "1"), ((20, 10), (100, 50), (400, 80))),
}
BATCHED = ("ncvx_train_skip", "ncvx_train_norm")  # one unit of work per cell, as the runner runs them


def time_cell(script, flags, n, second, trials):
    """Seconds per trial of one cell, in this worker as the runner's workers run it."""
    module = importlib.import_module(script)
    with tempfile.TemporaryDirectory() as folder:
        d = 20 if script == "lasso_skip" else second
        args = module.parse([*flags, "--n", str(max(n, 10)), "--d", str(d), "--sample", str(trials),
                             "--save_folder", folder])
    batched = script in BATCHED
    work = module.cell if batched else module.trial
    units = [list(range(trials))] if batched else [[t] for t in range(trials)]
    warm_up = 0.01 if script == "lasso_skip" else 10
    runner._run_task(work, batched, [], 20, warm_up, [0], args.seed, args)  # first calls off the clock
    start = time.perf_counter()
    for unit in units:
        runner._run_task(work, batched, [], n, second, unit, args.seed, args)
    return (time.perf_counter() - start) / trials


def start_up_seconds(script, flags):
    """Wall seconds of a one-cell, one-trial --jobs 2 run of the script: its start-up."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run([sys.executable, os.path.join(ROOT, f"{script}.py"), *flags, "--n", "10", "--d", "10",
                        "--sample", "1", "--jobs", "2", "--save_folder", folder], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start


def fit(cells):
    """(fixed, scale, n_power, d_power) minimising the squared log error over [(n, d, seconds)]."""
    n, d, seconds = (np.array(column, dtype=float) for column in zip(*cells))
    one_d = np.all(d == d[0])

    def model(theta):
        fixed, scale, p, q = np.exp(theta[0]), np.exp(theta[1]), theta[2], 0.0 if one_d else theta[3]
        return fixed + scale * (n / 100) ** p * (d / 50) ** q

    start = np.array([np.log(max(seconds.min(), 1e-4) / 2), np.log(np.median(seconds)), 2.0, 1.0])
    theta = scipy.optimize.least_squares(lambda t: np.log(model(t)) - np.log(seconds), start).x
    return (float(np.exp(theta[0])), float(np.exp(theta[1])), float(theta[2]), 0.0 if one_d else float(theta[3]))


def main():
    parser = runner.OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3,
                        help="trials per cell (at most 2 from n = 300 on; trained nets: 10, batched)")
    parser.add_argument("--keys", nargs="+", choices=list(CELLS), default=list(CELLS), help="which entries")
    parser.add_argument("--fit", action="store_true", help="fit the entries and check the cells against the fit")
    args = parser.parse_args()
    if args.trials < 1:
        parser.error(f"--trials must be at least 1; got {args.trials}")

    def trials(key, n):  # trained nets as the paper's runs batch them, 10 a cell
        return 10 if CELLS[key][0] in BATCHED else args.trials if n < 300 else min(args.trials, 2)

    jobs = [(key, n, second, trials(key, n)) for key in args.keys for n, second in CELLS[key][2]]
    print(f"load average {os.getloadavg()[0]:.2f} at the start; {len(jobs)} cells on 2 workers", flush=True)
    start = time.perf_counter()
    measured = Parallel(n_jobs=2)(delayed(time_cell)(*CELLS[key][:2], n, second, trials)
                                  for key, n, second, trials in jobs)
    print(f"measured in {time.perf_counter() - start:.0f} s")
    start_up = {"convex": start_up_seconds("rec_rate_skip", ("--optw", "0")),
                "trained": start_up_seconds("ncvx_train_skip", ("--sigma", "0"))}
    start_up_text = ", ".join(f"{kind} {seconds:.1f} s" for kind, seconds in start_up.items())
    print(f"a run's start-up (RUN_START_S): {start_up_text}; the model says {figures.RUN_START_S}\n")
    if args.fit:
        print(f"    RUN_START_S = {{{', '.join(f'{kind!r}: {seconds:.1f}' for kind, seconds in start_up.items())}}}")
        for key in (key for key in args.keys if key not in figures.MIXED):
            cells = [(n, 20 if key == "lasso_skip" else second, seconds)
                     for (k, n, second, _), seconds in zip(jobs, measured) if k == key]
            figures.COST[key] = fit(cells)
            print(f'    "{key}": ({", ".join(f"{value:.4g}" for value in figures.COST[key])}),')
        print()
    print(f"{'key':>26} {'n':>4} {'d|lam':>6} {'measured s':>11} {'model s':>9} {'ratio':>6}")
    outside = 0
    for (key, n, second, _), seconds in zip(jobs, measured):
        predicted = figures.trial_seconds(key, n, 20 if key == "lasso_skip" else second, in_a_run=False)
        ratio = seconds / predicted
        outside += not (1 / 1.5 <= ratio <= 1.5)
        print(f"{key:>26} {n:>4} {second:>6} {seconds:11.4f} {predicted:9.4f} {ratio:6.2f}"
              + ("" if 1 / 1.5 <= ratio <= 1.5 else "  outside 1.5x"))
    print(f"\n{len(jobs) - outside} of {len(jobs)} cells within 1.5x of the model")


if __name__ == "__main__":
    main()
