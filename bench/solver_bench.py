"""The structured solver against today's CVXPY + Clarabel path, side by side in one run.

For each setting the same instances (drawn as the scripts draw them) are solved by
programs.solve with "CLARABEL" (CVXPY compile and solve, the path every script took
before the structured solver) and with "IPM", one BLAS thread each. Prints seconds
per program for both, their ratio, whether every recovery decision agrees, the
largest relative difference of the optimal values, and which route the structured
solver took (for the exact training form: its relaxation, certified, or the exact
block program).

Where the values differ by more than 1e-6 the last column says which is lower: with
beta = 1e-6 the training form's value is about 1e-6, and Clarabel's default gap
tolerance (1e-8 absolute) leaves it up to a few 1e-6 above the optimum; the
structured solver's value carries its own certificate (gap <= 1e-7).

    python bench/solver_bench.py [--trials 3] [--settings ...] [--panel]

--panel also runs the whole Figure 6 panel (rec_rate_skip.py --n 400 --d 100
--sample 5 --optw 0 --optx 0, two workers) and prints its wall time and statuses.

--baseline DIR times, on the same instances, the structured solver of another
checkout of the suite (e.g. `git worktree add /tmp/base <commit>`, any commit from
2df0807 on; 2df0807 is the exact route when issue 15 was filed), each solve in a
subprocess that imports that checkout's modules, and prints its seconds, the ratio
and the largest value difference: the exact route of the training forms before and
after a change, side by side in one run. --no-clarabel leaves CVXPY out (the large
cells take Clarabel many minutes).

Settings: skip_train and norm_train are the noisy training forms (sigma = 0.1,
beta = 1e-6; skip optw 1 as Figures 25/26, norm one Gaussian neuron as Figure 31) at
their mid cells and at (400, 100) and (400, 80), the largest cells of Figures 25 and
31 (the exact route through the working set). CVXPY + Clarabel is left out at those
two cells, where one solve takes it many minutes; --baseline times them.
"""

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter

import numpy as np
from threadpoolctl import threadpool_limits

# SUITE_ROOT: the checkout whose modules are timed (the --baseline subprocesses set it)
ROOT = os.environ.get("SUITE_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import common  # noqa: E402
import programs  # noqa: E402
import runner  # noqa: E402

# (name, equation, n, d, data settings, with Clarabel): Figure 6 / 27 / 25 / 31 settings
SETTINGS = [
    ("12", "12", 50, 10, dict(optw=0, sigma=0.0), True),
    ("12", "12", 100, 50, dict(optw=0, sigma=0.0), True),
    ("12", "12", 200, 50, dict(optw=0, sigma=0.0), True),
    ("12", "12", 400, 100, dict(optw=0, sigma=0.0), True),
    ("14", "14", 100, 50, dict(optw=0, sigma=0.0, neu=1), True),
    ("14", "14", 200, 50, dict(optw=0, sigma=0.0, neu=1), True),
    ("skip_train", "skip_train", 100, 50, dict(optw=1, sigma=0.1), True),
    ("skip_train", "skip_train", 200, 50, dict(optw=1, sigma=0.1), True),
    ("skip_train", "skip_train", 400, 100, dict(optw=1, sigma=0.1), False),
    ("norm_train", "norm_train", 100, 50, dict(optw=0, sigma=0.1, neu=1), True),
    ("norm_train", "norm_train", 200, 50, dict(optw=0, sigma=0.1, neu=1), True),
    ("norm_train", "norm_train", 400, 80, dict(optw=0, sigma=0.1, neu=1), False),
]


def instance(equation, n, d, settings, seed):
    rng = runner.trial_rng(seed, n, d, 0)
    norm = equation in ("14", "norm_train")
    draw = common.norm_instance if norm else common.skip_instance
    if "args" in inspect.signature(draw).parameters:  # a --baseline checkout before d958c6f: one namespace
        data = draw(rng, n, d, argparse.Namespace(optx=0, **settings))
    else:
        data = draw(rng, n, d, optx=0, **settings)
    if norm:
        return data, common.norm_program(data, equation)
    return data, programs.Program(equation, data["X"], data["y"], data["dmat"], beta=1e-6)


def decision(equation, data, solution):
    if not solution.accepted:
        return None
    if equation == "12":
        return common.skip_recovered(solution.primal["w0"], solution.primal["W"], data["w"])
    if equation == "14":
        return common.norm_recovered(solution.primal["W"], common.norm_planted_variable(data))
    return "n/a"


def timed(program, solver):
    start = time.perf_counter()
    solution = programs.solve(program, solver)
    return solution, time.perf_counter() - start


def run_setting(equation, n, d, settings, trials, clarabel=True, baseline=None):
    """Seconds per solver over `trials` instances, and how the solutions compare."""
    times = Counter()
    agree, accepted, worst, lower, routes, baseline_worst = 0, 0, 0.0, "", Counter(), 0.0
    for seed in range(trials):
        data, program = instance(equation, n, d, settings, seed)
        structured, structured_time = timed(program, "IPM")
        times["IPM"] += structured_time
        routes[structured.route] += 1
        if baseline:
            before = baseline_solve(baseline, equation, n, d, settings, seed)
            times["baseline"] += before["seconds"]
            baseline_worst = max(baseline_worst, abs(structured.value - before["value"]) / abs(before["value"]))
        if not clarabel:
            accepted += structured.accepted
            continue
        general, general_time = timed(program, "CLARABEL")
        times["CLARABEL"] += general_time
        accepted += structured.accepted and general.accepted
        agree += decision(equation, data, general) == decision(equation, data, structured)
        difference = abs(structured.value - general.value) / abs(general.value)
        if difference > worst:
            worst = difference
            lower = "IPM lower" if structured.value < general.value else "Clarabel lower"
    return times, agree, accepted, worst, lower if worst > 1e-6 else "", routes, baseline_worst


def baseline_solve(folder, equation, n, d, settings, seed):
    """Time another checkout's structured solve of the same instance, in a subprocess."""
    job = json.dumps([equation, n, d, settings, seed])
    output = subprocess.run([sys.executable, os.path.abspath(__file__), "--time-one", job], check=True,
                            capture_output=True, text=True, env=dict(os.environ, SUITE_ROOT=os.path.abspath(folder)))
    return json.loads(output.stdout.strip().splitlines()[-1])


def time_one(job):
    """--time-one: solve one instance with this process's suite (SUITE_ROOT) and print seconds and value."""
    equation, n, d, settings, seed = json.loads(job)
    with threadpool_limits(limits=1, user_api="blas"):
        programs.solve(instance("12", 20, 10, dict(optw=0, sigma=0.0), 0)[1], "IPM")  # first calls off the clock
        solution, seconds = timed(instance(equation, n, d, settings, seed)[1], "IPM")
    print(json.dumps({"seconds": seconds, "value": solution.value, "route": solution.route,
                      "accepted": bool(solution.accepted)}))


def run_panel():
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, os.path.join(ROOT, "rec_rate_skip.py"), "--n", "400", "--d", "100", "--sample",
                   "5", "--optw", "0", "--optx", "0", "--jobs", "2", "--save_folder", folder]
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        with open(os.path.join(folder, "rec_rate_skip_n400_d100_w0_X0_sample5.json")) as stream:
            sidecar = json.load(stream)
        rate = runner.trial_mean(np.load(os.path.join(folder, "rec_rate_skip_n400_d100_w0_X0_sample5.npy")))
    n_grid, d_grid = np.array(sidecar["n_grid"]), np.array(sidecar["d_grid"])
    ratio = n_grid[:, None] / d_grid[None, :]
    print(f"\nFigure 6 panel (Gaussian, optw 0, 2000 programs (12), 2 workers): {wall:.1f} s wall")
    print(f"  statuses {sidecar['status_counts']}  routes {sidecar['solver_routes']}")
    print(f"  max rate where n <= 1.5 d: {np.nanmax(rate[ratio <= 1.5]):.2f}; "
          f"min rate where n >= 3 d: {np.nanmin(rate[ratio >= 3]):.2f}")


def main():
    parser = runner.OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3, help="instances per setting")
    parser.add_argument("--settings", nargs="+", choices=sorted({s[0] for s in SETTINGS}),
                        default=sorted({s[0] for s in SETTINGS}), help="which programs to time")
    parser.add_argument("--panel", action="store_true", help="also time the whole Figure 6 panel")
    parser.add_argument("--baseline", metavar="DIR", help="also time the structured solver of this checkout")
    parser.add_argument("--no-clarabel", action="store_true", help="leave CVXPY + Clarabel out")
    parser.add_argument("--time-one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_one:
        return time_one(args.time_one)
    if args.trials < 1:
        parser.error(f"--trials must be at least 1; got {args.trials}")
    if args.baseline and not os.path.exists(os.path.join(args.baseline, "programs.py")):
        parser.error(f"--baseline must be a checkout of the suite (no programs.py in {args.baseline!r})")

    print(f"load average {os.getloadavg()[0]:.2f} at the start")
    print(f"{'program':>16} {'cell':>12} {'Clarabel s':>11} {'IPM s':>8} {'ratio':>7} {'decisions':>9} "
          f"{'certified':>9} {'max rel diff':>12}  routes"
          + ("   baseline s  speed-up  rel diff" if args.baseline else ""))
    with threadpool_limits(limits=1, user_api="blas"):
        for solver in ("CLARABEL", "IPM"):  # imports and first calls outside the clock
            programs.solve(instance("12", 20, 10, dict(optw=0, sigma=0.0), 0)[1], solver)
        for name, equation, n, d, settings, with_clarabel in SETTINGS:
            if name not in args.settings:
                continue
            clarabel = with_clarabel and not args.no_clarabel
            times, agree, accepted, worst, lower, routes, baseline_worst = run_setting(
                equation, n, d, settings, args.trials, clarabel, args.baseline)
            per_program = {solver: total / args.trials for solver, total in times.items()}
            decisions = f"{agree}/{args.trials}" if clarabel else "-"
            clarabel = per_program.get("CLARABEL", np.nan)
            line = (f"{name:>16} {f'n={n} d={d}':>12} {clarabel:11.3f} {per_program['IPM']:8.3f} "
                    f"{clarabel / per_program['IPM']:6.1f}x {decisions:>9} "
                    f"{f'{accepted}/{args.trials}':>9} {worst:12.1e}  {dict(routes)} {lower}")
            if args.baseline:
                line += (f"   {per_program['baseline']:10.3f} {per_program['baseline'] / per_program['IPM']:8.1f}x"
                         f" {baseline_worst:9.1e}")
            print(line, flush=True)
    if args.panel:
        run_panel()


if __name__ == "__main__":
    main()
