"""Recovery rate of planted normalised ReLU neurons by the normalisation network's min-norm program (14).

Figures 27/28, 35 and 36: for every (n, d) cell with n >= d and trial, solve (14)
on noiseless labels y = sum_j (X w_j)_+ / ||(X w_j)_+|| and record 1 when the
solution is t_k on the planted columns and 0 elsewhere (atol 1e-4), 0 when it is
not, NaN when the solve failed our checks or the cell has n < d. Beside it, the
uniqueness margin delta = 1 - max ||U_i^T lambda|| over the other blocks (margin_
array) and the planted model's relative excess of value over the optimum (value_gap_
array). delta > 0 certifies the planted model as the unique optimum; a trial whose
planted model is optimal (value_gap ~ 0) but delta ~ 0 is a near-tie: another block
carries the same fit, so the entries' test is the solver's choice. Near-ties are
reported apart (common.near_ties). With one neuron (--neu 1), also certified_: 1 when
y lies in no other block's range (common.one_neuron_separation), which decides (14)'s
unique recovery exactly and needs no solve, so it stands where the solver's margin is
too thin to resolve. --patterns picks the program's pattern set.
"""

import sys

import numpy as np

import common
import programs
import runner
import trials

# the script contract (runner.CONTRACT)
WITH_SIGMA = False
BATCHED = False
NEUTRAL_FLAGS = programs.SOLVER_FLAGS
TOLERANCES = common.TOLERANCES
axes = runner.default_axes
skip_cell = common.skip_n_below_d


def outputs(args):
    """{metric: file prefix} of the arrays a run writes."""
    names = {"rec": "rec_rate_norm", "margin": "margin_rec_rate_norm", "value_gap": "value_gap_rec_rate_norm"}
    return dict(names, certified="certified_rec_rate_norm") if args.neu == 1 else names


def cost_key(args):
    """The figures.COST (or MIXED) entry whose cost law a trial of this run follows."""
    return "rec_rate_norm, 1 neuron" if args.neu == 1 else "rec_rate_norm"  # one neuron: recovered from n = d


def trial(n, d, rng, args):
    instance = common.norm_instance(rng, n, d, **trials.norm_settings(args), pattern_kind=args.patterns)
    program = common.norm_program(instance, "14")
    solution = programs.solve(program, args.solver_name)
    rec = margin = value_gap = np.nan
    if solution.accepted:
        planted_W = common.norm_planted_variable(instance)
        rec = float(common.norm_recovered(solution.primal["W"], planted_W))
        margin = programs.dual_margin(program, solution.dual, instance["planted_columns"])
        value_gap = common.value_gap(solution.primal["W"], planted_W)
    metrics = {"rec": rec, "margin": margin, "value_gap": value_gap}
    if args.neu == 1:
        metrics["certified"] = float(common.one_neuron_separation(instance) > common.SEPARATION_TOL)
    details = dict(common.norm_details(instance, solution), dual_margin=margin)
    return runner.TrialResult(metrics, solution.outcome, details, solution.route)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = programs.add_solver_flag(runner.make_norm_parser(__doc__.splitlines()[0], neu_default=1, noiseless=True,
                                                                patterns=True))
    args = runner.check_flags(parser, parser.parse_args(argv), noiseless=True)
    programs.validate_solver(parser, args)
    return runner.validate_run(parser, args)  # last: it creates --save_folder


def main():
    args = parse()
    arrays = runner.run_script(sys.modules[__name__], args, trial, "rec_rate_norm")
    print("mean recovery rate (rows n, columns d; nan: n < d):")
    print(np.round(runner.trial_mean(arrays["rec"]), 2))
    near_ties = common.near_ties(arrays["margin"], arrays["value_gap"])
    print(f"near-ties (the planted model optimal, |margin| < {common.NEAR_TIE_MARGIN:g}): {int(near_ties.sum())} of "
          f"{int(np.isfinite(arrays['margin']).sum())} solved trials, "
          f"{int((near_ties & (arrays['rec'] == 1)).sum())} of them counted as recovered")
    if "certified" in arrays:
        print("certified unique recovery (y in no other block's range; no solve), mean per cell:")
        print(np.round(runner.trial_mean(arrays["certified"]), 2))


if __name__ == "__main__":
    main()
