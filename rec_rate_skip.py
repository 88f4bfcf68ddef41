"""Recovery rate of a planted linear neuron by the skip network's min-norm program (12), or (11).

Figures 6 and 21 (--program 12, the default) and Figure 4 (both): for every
(n, d) cell and trial, solve the program on noiseless labels y = X w and record 1
when the solution is the planted model (w0 = w, every other block 0, atol 1e-4),
0 when it is not, NaN when the solve failed our checks. --program 11 solves the
exact program (11), whose cones rule out the all-ones split; its arrays are named
rec_rate_exact_skip_... so that both coexist.
"""

import sys

import numpy as np

import common
import programs
import runner
import trials

PREFIXES = {"12": "rec_rate_skip", "11": "rec_rate_exact_skip"}

# the script contract (runner.CONTRACT)
WITH_SIGMA = False
BATCHED = False
NEUTRAL_FLAGS = programs.SOLVER_FLAGS
TOLERANCES = common.TOLERANCES
axes = runner.default_axes
skip_cell = runner.every_cell


def outputs(args):
    """{metric: file prefix} of the arrays a run writes."""
    return {"rec": PREFIXES[args.program]}


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    return "rec_rate_skip (11)" if args.program == "11" else "rec_rate_skip"



def trial(n, d, rng, args):
    instance = common.skip_instance(rng, n, d, **trials.skip_settings(args))
    program = programs.Program(getattr(args, "program", "12"), instance["X"], instance["y"], instance["dmat"])
    solution = programs.solve(program, args.solver_name)
    rec = margin = np.nan
    blocks = common.learned_variable(solution.primal)
    if solution.accepted:
        others = blocks if program.equation == "12" else np.hstack([solution.primal["U"], solution.primal["V"]])
        rec = float(common.skip_recovered(solution.primal["w0"], others, instance["w"]))
        if program.equation == "12":
            margin = programs.dual_margin(program, solution.dual)
    details = dict(instance, opt_w0=solution.primal.get("w0"), opt_w=blocks, dual_margin=margin)
    return runner.TrialResult({"rec": rec}, solution.outcome, details, solution.route)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = programs.add_solver_flag(runner.make_parser(__doc__.splitlines()[0], noiseless=True))
    parser.add_argument("--program", default="12", choices=sorted(PREFIXES),
                        help="12: the relaxed program (Figures 6, 21); 11: the exact program (Figure 4)")
    args = runner.check_flags(parser, parser.parse_args(argv), noiseless=True)
    programs.validate_solver(parser, args)
    return runner.validate_run(parser, args)  # last: it creates --save_folder


def main():
    args = parse()
    arrays = runner.run_script(sys.modules[__name__], args, trial, PREFIXES[args.program])
    print(f"mean recovery rate of ({args.program}) (rows n, columns d):")
    print(np.round(runner.trial_mean(arrays["rec"]), 2))


if __name__ == "__main__":
    main()
