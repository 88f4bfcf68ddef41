"""The optimality certificate that decides whether a solve is accepted, written with
numpy alone: it imports neither a solver nor the programs' builders, so the check is
independent of what it checks in the import graph too (docs/math.md, section 4).
programs.certify applies it to every program of the suite.
"""

import numpy as np


def certify_group(fit, correlations, y, W, dual, kappa=0.0, cones=None, cone_duals=None):
    """Our own optimality certificate of the group program

        min sum_i ||w_i|| + ||sum_i A_i w_i - y||^2 / (2 kappa)  (kappa = 0: s.t. sum_i A_i w_i = y)
        [s.t. G_i w_i >= 0]

    independent of the solver's word. W is (d, m), one block per column;
    fit(W) -> sum_i A_i w_i (n,); correlations(lam) -> (d, m), column i A_i^T lam;
    cones: (values, adjoint) with values(W) -> the (rows, m) matrix of G_i w_i and
    adjoint(Z) -> the (d, m) matrix of G_i^T z_i; cone_duals: Z (rows, m), >= 0.

    Weak duality: for any lambda and zeta >= 0 with ||A_i^T lambda + G_i^T zeta_i||
    <= 1 for every block, y^T lambda - (kappa/2) ||lambda||^2 is a lower bound on
    the optimal value. We rescale the solver's (lambda, zeta) to be dual feasible
    and measure the relative gap to the primal objective, next to the relative
    residual of the equality and the relative violation of the cones.
    """
    y_scale = max(1.0, np.linalg.norm(y))
    misfit = fit(W) - y
    objective = np.linalg.norm(W, axis=0).sum()
    checks = {}
    if kappa == 0:
        checks["residual"] = float(np.linalg.norm(misfit) / y_scale)
    else:
        objective += misfit @ misfit / (2 * kappa)
    correlation = correlations(dual)
    if cones is not None:
        values, adjoint = cones
        checks["cone_violation"] = float(np.max(-values(W), initial=0.0) / y_scale)
        if cone_duals is not None:
            correlation = correlation + adjoint(np.maximum(cone_duals, 0.0))
    dual_norm = np.linalg.norm(correlation, axis=0).max()
    rescaled = dual / max(1.0, dual_norm)
    lower_bound = y @ rescaled - kappa / 2 * rescaled @ rescaled
    checks["gap"] = float((objective - lower_bound) / max(1.0, abs(objective)))
    checks["dual_infeasibility"] = float(max(0.0, dual_norm - 1.0))
    return checks
