"""Fit and measure the exact route's early removal (ipm.EarlyRemoval) and its gap stop.

The exact route's last step solves the exact form ((11), (13) or their training
forms) on all of its blocks. programs._exact_with_removal does it with early
removal, a stop at the relative gap programs.EXACT_GAP_STOP and the certificate on
every block with repair rounds. This script times that step, for each candidate rule,
against the same step as it was before (no removal, every measure to ipm's 1e-9), on
the same instance in the same process, one BLAS thread, and prints per rule: the time
ratio (the sum of the old step's seconds over the sum of the new one's), the solves
certified on the whole program, the repair rounds taken, and the largest relative
value difference.

The thresholds are fitted on --seeds (default 10 11: not the solver bench's 0 1 2)
and then checked out of sample: run it again with --seeds 0 1 2 --rules chosen.
Seconds are CPU seconds of this process (time.process_time), so that a busy machine
inflates neither side; the solver bench's --baseline gives the wall-clock ratio.

--cells norm400d10 norm400d30 norm400d50 go further into a figure's grid (n/d 40, 13.3,
8), where the optimum keeps more blocks and the rule pays less (docs/benchmarks.md).

    python bench/early_removal.py [--seeds 10 11] [--cells ...] [--rules grid|chosen]
"""

import os
import sys
import time

from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solver_bench import instance  # noqa: E402

import ipm  # noqa: E402
import programs  # noqa: E402
import runner  # noqa: E402

# the exact route's cells of the solver bench: (name, equation, n, d, data settings)
CELLS = {
    "skip200": ("skip_train", 200, 50, dict(optw=1, sigma=0.1)),
    "norm200": ("norm_train", 200, 50, dict(optw=0, sigma=0.1, neu=1)),
    "skip400": ("skip_train", 400, 100, dict(optw=1, sigma=0.1)),
    "norm400": ("norm_train", 400, 80, dict(optw=0, sigma=0.1, neu=1)),
    # n = 400 further into a figure's grid (Figures 31-32 run d = 10..100): n/d 40, 13.3, 8
    "norm400d10": ("norm_train", 400, 10, dict(optw=0, sigma=0.1, neu=1)),
    "norm400d30": ("norm_train", 400, 30, dict(optw=0, sigma=0.1, neu=1)),
    "norm400d50": ("norm_train", 400, 50, dict(optw=0, sigma=0.1, neu=1)),
}
FIT_CELLS = ["skip200", "norm200", "skip400", "norm400"]  # the solver bench's exact-route cells
# (gap, ratio, lag) candidates; None: the gap stop alone, without removal
# (the lag-1 rules at ratio 0.8 and every rule from gap 1 removed planted blocks in
# the iterates of the old step at (400, 80) and (400, 100), seeds 10: left out)
GRID = [None] + [(1e-1, ratio, 2) for ratio in (0.3, 0.4, 0.5, 0.6)] + [(1e-1, ratio, 1) for ratio in (0.5, 0.7)]


def old_step(program, kappa):
    """The step as before: every block, no removal, every measure to ipm's tolerance."""
    return programs._exact_on(program, kappa, programs.every_exact_block(program.patterns.shape[1]))[0]


def new_step(program, kappa, rule):
    """programs._exact_with_removal under `rule` (None: no removal, the gap stop alone)."""
    saved = programs.EARLY_REMOVAL
    programs.EARLY_REMOVAL = None if rule is None else ipm.EarlyRemoval(*rule)
    try:
        return programs._exact_with_removal(program, kappa)
    finally:
        programs.EARLY_REMOVAL = saved


def cpu_timed(function, *args):
    start = time.process_time()
    result = function(*args)
    return result, time.process_time() - start


def exact_instances(cells, seeds):
    """The instances whose relaxation does not certify (the exact step runs), with kappa."""
    for cell in cells:
        equation, n, d, settings = CELLS[cell]
        for seed in seeds:
            data, program = instance(equation, n, d, settings, seed)
            kappa = programs.loss_weight(program)
            if programs.relaxation_first(program, kappa)[1].accepted:
                print(f"  {cell} seed {seed}: the relaxation certifies, no exact step", flush=True)
                continue
            yield cell, seed, program, kappa


def main():
    parser = runner.OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11], help="instance seeds")
    parser.add_argument("--cells", nargs="+", choices=sorted(CELLS), default=FIT_CELLS,
                        help="which cells (default: the solver bench's)")
    parser.add_argument("--rules", choices=("grid", "chosen"), default="grid",
                        help="grid: every candidate of GRID; chosen: programs.EARLY_REMOVAL alone")
    args = parser.parse_args()
    chosen = programs.EARLY_REMOVAL
    rules = GRID if args.rules == "grid" else [(chosen.gap, chosen.ratio, chosen.lag)]
    print(f"load average {os.getloadavg()[0]:.2f} at the start; CPU seconds; seeds {args.seeds}")
    with threadpool_limits(limits=1, user_api="blas"):
        rows = {}
        for cell, seed, program, kappa in exact_instances(args.cells, args.seeds):
            old, old_seconds = cpu_timed(old_step, program, kappa)
            line = [f"{cell} seed {seed}: old {old_seconds:.2f} s (certified {old.accepted}, "
                    f"{programs._nonzero_blocks(old.primal).sum()} of {2 * program.patterns.shape[1]} blocks nonzero)"]
            for rule in rules:
                new, seconds = cpu_timed(new_step, program, kappa, rule)
                row = rows.setdefault(rule, {"old": 0.0, "new": 0.0, "certified": 0, "count": 0, "repairs": 0,
                                             "diff": 0.0, "per_cell": {}})
                row["old"] += old_seconds
                row["new"] += seconds
                row["count"] += 1
                row["certified"] += bool(new.accepted)
                row["repairs"] += new.route == "exact, repaired"
                row["diff"] = max(row["diff"], abs(new.value - old.value) / abs(old.value))
                cell_row = row["per_cell"].setdefault(cell, [0.0, 0.0])
                cell_row[0] += old_seconds
                cell_row[1] += seconds
                if args.rules == "chosen":
                    line.append(f"new {seconds:.2f} s ({old_seconds / seconds:.2f}x, certified {new.accepted}, "
                                f"route {new.route}, rel diff {abs(new.value - old.value) / abs(old.value):.1e})")
            print("  " + "; ".join(line), flush=True)
    print(f"\n{'rule (gap, ratio, lag)':>24} {'ratio':>6} {'certified':>9} {'repairs':>7} {'rel diff':>8}  per cell")
    for rule, row in sorted(rows.items(), key=lambda item: -item[1]["old"] / item[1]["new"]):
        cells = " ".join(f"{cell} {old / new:.2f}x" for cell, (old, new) in row["per_cell"].items())
        name = "gap stop alone" if rule is None else f"{rule}"
        print(f"{name:>24} {row['old'] / row['new']:5.2f}x {row['certified']:>4}/{row['count']:<4} "
              f"{row['repairs']:>7} {row['diff']:8.1e}  {cells}")


if __name__ == "__main__":
    main()
