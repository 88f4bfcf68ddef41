"""The trial bodies several scripts share: draw an instance, solve its program, and
measure the solution against the planted model (docs/math.md, sections 3 and 6).

One module for them keeps the mathematics (common.py) free of the grid runner's
types: these functions return runner.TrialResult, common's return numbers.
"""

import numpy as np

import common
import programs
import runner


def skip_settings(args):
    """The data settings of a skip-network trial, from a script's arguments."""
    return {"optx": args.optx, "optw": args.optw, "sigma": args.sigma}


def norm_settings(args):
    """The data settings of a normalisation-layer trial (planted neurons too)."""
    return dict(skip_settings(args), neu=args.neu)


def skip_distance_trial(n, d, rng, args, equation, beta=1e-6):
    """One skip-network trial of minnrm_skip ("12") or cvx_train_skip ("skip_train",
    weight decay beta): dis_abs = ||w0 - w|| and dis_test = ||f(X_test) - X_test w|| on
    fresh data, NaN unless the solve passed our checks. args: optx, optw, sigma,
    solver_name."""
    instance = common.skip_instance(rng, n, d, **skip_settings(args))
    X_test = common.sample_data(rng, n, d, args.optx)
    program = programs.Program(equation, instance["X"], instance["y"], instance["dmat"], beta=beta)
    solution = programs.solve(program, args.solver_name)
    metrics = {"dis_abs": np.nan, "dis_test": np.nan}
    if solution.accepted:
        metrics = common.skip_distances(instance, X_test, solution.primal)
    details = dict(instance, X_test=X_test, opt_w0=solution.primal.get("w0"),
                   opt_w=common.learned_variable(solution.primal),
                   **{f"opt_{name.lower()}": solution.primal[name] for name in ("U", "V") if name in solution.primal})
    return runner.TrialResult(metrics, solution.outcome, details, solution.route)


def norm_distance_trial(n, d, rng, args, equation, beta=1e-6):
    """One normalisation-layer trial of minnrm_norm ("14") or cvx_train_norm
    ("norm_train", weight decay beta): dis_abs between the learned variable and the
    planted one on the planted columns, NaN unless the solve passed our checks. args:
    optx, optw, sigma, neu, patterns, solver_name."""
    instance = common.norm_instance(rng, n, d, **norm_settings(args), pattern_kind=args.patterns)
    solution = programs.solve(common.norm_program(instance, equation, beta=beta), args.solver_name)
    dis_abs = np.nan
    if solution.accepted:
        dis_abs = common.norm_dis_abs(common.learned_variable(solution.primal), common.norm_planted_variable(instance),
                                      instance["planted_columns"])
    return runner.TrialResult({"dis_abs": dis_abs}, solution.outcome, common.norm_details(instance, solution),
                              solution.route)
