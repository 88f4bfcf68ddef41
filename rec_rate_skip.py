"""Recovery rate of a planted linear neuron by the skip network's min-norm program (12).

Figures 6 and 21: for every (n, d) cell and trial, solve (12) on noiseless labels
y = X w and record 1 when the solution is the planted model (w0 = w, every other
block 0, atol 1e-4), 0 when it is not, NaN when the solve failed our checks.
"""

import numpy as np

import common
import programs
import runner


def trial(n, d, rng, args):
    instance = common.skip_instance(rng, n, d, args)
    program = programs.Program("12", instance["X"], instance["y"], instance["dmat"])
    solution = programs.solve(program, args.solver_name)
    rec = margin = np.nan
    if solution.accepted:
        rec = float(common.skip_recovered(solution.primal["w0"], solution.primal["W"], instance["w"]))
        margin = programs.dual_margin(program, solution.dual)
    details = dict(instance, opt_w0=solution.primal.get("w0"), opt_w=solution.primal.get("W"), dual_margin=margin)
    return runner.TrialResult({"rec": rec}, solution.outcome, details, solution.route)


def main():
    parser = runner.make_parser(__doc__.splitlines()[0])
    args = runner.validate(parser, parser.parse_args(), noiseless=True)
    arrays = runner.run_grid(args, {"rec": "rec_rate_skip"}, trial, "rec_rate_skip", with_sigma=False)
    print("mean recovery rate (rows n, columns d):")
    print(np.round(runner.trial_mean(arrays["rec"]), 2))


if __name__ == "__main__":
    main()
