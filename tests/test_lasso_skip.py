"""The group lasso (25) of Figure 13 (lasso_skip.py): its two limits in closed form,
two solvers agreeing, and the failure-success-failure path in lambda."""

import argparse

import numpy as np
import pytest

import arrangement
import common
import lasso_skip
import programs
import runner
from conftest import run_script


def lasso_args(**kwargs):
    return argparse.Namespace(**dict(dict(optx=0, optw=0, sigma=0.1, d=10, solver_name="IPM"), **kwargs))


def instance(n, d, sigma, seed=0):
    """(U, w, y, patterns): the whitened data U of X = U S V^T and the patterns of X."""
    rng = runner.trial_rng(seed, n, d, 0)
    X, w, y = common.linear_planted_data(rng, n, d, optx=0, optw=0, sigma=sigma)
    patterns, _ = arrangement.sampled_patterns(X, rng)
    return programs.thin_svd(X)[0], w, y, patterns


def group_lasso(U, y, patterns, lam):
    return programs.Program("25", U, y, patterns, penalty=lam)


def cvxpy_direct(U, y, patterns, lam=None):
    """(25) written directly in CVXPY, one variable per block (independent of programs.py):
    min 1/2 ||U w0 + sum_i D_i U w_i - y||^2 + lam (||w0|| + sum_i ||w_i||), or for
    lam None the min-norm interpolant min ||w0|| + sum_i ||w_i|| s.t. the fit is y."""
    import cvxpy as cp

    w0 = cp.Variable(U.shape[1])
    parts = [cp.Variable(U.shape[1]) for _ in range(patterns.shape[1])]
    fit = U @ w0 + sum(np.diag(patterns[:, i]) @ U @ w for i, w in enumerate(parts))
    norms = cp.norm(w0) + sum(cp.norm(w) for w in parts)
    if lam is None:
        problem = cp.Problem(cp.Minimize(norms), [fit == y])
    else:
        problem = cp.Problem(cp.Minimize(cp.sum_squares(fit - y) / 2 + lam * norms))
    problem.solve(solver="CLARABEL")
    assert problem.status == "optimal"
    return problem.value, w0.value, np.column_stack([w.value for w in parts])


def test_lambda_to_zero_gives_the_min_norm_solution():
    """As lambda -> 0+ the minimiser of (25) tends to the min-norm interpolant on U; at
    lambda = 1e-7 they agree to 1e-5, against CVXPY's min-norm solution."""
    U, _, y, patterns = instance(40, 10, sigma=0.1)
    solution = programs.solve(group_lasso(U, y, patterns, 1e-7), "IPM")
    assert solution.accepted
    _, w0, W = cvxpy_direct(U, y, patterns)
    assert np.allclose(solution.primal["w0"], w0, atol=1e-5) and np.allclose(solution.primal["W"], W, atol=1e-5)
    assert (np.linalg.norm(W, axis=0) > 1e-4).any()  # the noise needs ReLU neurons at lambda -> 0


def test_noiseless_lambda_to_zero_recovers_the_planted_neuron():
    """Noiseless, n = 6d: the interpolant is the linear neuron alone, U w0 = X w."""
    U, w, y, patterns = instance(60, 10, sigma=0.0)
    solution = programs.solve(group_lasso(U, y, patterns, 1e-8), "IPM")
    assert solution.accepted
    assert np.allclose(U @ solution.primal["w0"], y, atol=1e-6) and np.allclose(solution.primal["W"], 0, atol=1e-4)


def test_zero_is_optimal_exactly_above_the_largest_block_correlation():
    """0 solves (25) iff lambda >= max_i ||A_i^T y|| (A_0 = U, A_i = D_i U); just below, the
    most correlated block alone turns active."""
    U, _, y, patterns = instance(50, 10, sigma=0.1)
    correlations = np.r_[np.linalg.norm(U.T @ y), np.linalg.norm(U.T @ (patterns * y[:, None]), axis=0)]
    threshold = correlations.max()
    above = programs.solve(group_lasso(U, y, patterns, 1.01 * threshold), "IPM")
    assert above.accepted
    assert np.linalg.norm(above.primal["w0"]) < 1e-6 and np.linalg.norm(above.primal["W"]) < 1e-6
    below = programs.solve(group_lasso(U, y, patterns, 0.99 * threshold), "IPM")
    norms = np.r_[np.linalg.norm(below.primal["w0"]), np.linalg.norm(below.primal["W"], axis=0)]
    assert below.accepted and np.flatnonzero(norms > 1e-8).tolist() == [int(np.argmax(correlations))]


@pytest.mark.parametrize("n, lam, seed", [(40, 0.01, 3), (40, 0.3, 3), (25, 0.1, 1), (60, 1.0, 2)])
def test_the_structured_solver_agrees_with_an_independent_cvxpy_program(n, lam, seed):
    U, _, y, patterns = instance(n, 10, sigma=0.1, seed=seed)
    structured = programs.solve(group_lasso(U, y, patterns, lam), "IPM")
    value, w0, W = cvxpy_direct(U, y, patterns, lam)
    assert structured.accepted and structured.value == pytest.approx(value, rel=1e-6)
    assert np.allclose(structured.primal["w0"], w0, atol=1e-4)


@pytest.mark.parametrize("lam", [0.01, 0.3])
def test_structured_solver_and_clarabel_agree(lam):
    U, _, y, patterns = instance(40, 10, sigma=0.1, seed=3)
    program = group_lasso(U, y, patterns, lam)
    structured, general = programs.solve(program, "IPM"), programs.solve(program, "CLARABEL")
    assert structured.accepted and general.accepted
    assert structured.value == pytest.approx(general.value, rel=1e-6)
    assert np.allclose(structured.primal["w0"], general.primal["w0"], atol=1e-4)


def test_a_wrong_point_fails_the_certificate():
    U, _, y, patterns = instance(40, 10, sigma=0.1)
    program = group_lasso(U, y, patterns, 0.1)
    solution = programs.solve(program, "IPM")
    moved = dict(solution.primal, w0=solution.primal["w0"] * 1.01)
    assert programs.certify(program, moved, solution.dual)["gap"] > programs.STRUCTURED_TOLERANCES["gap"]


def test_no_lambda_recovers_below_n_equals_d():
    """Below n = d, U is square and the all-ones pattern repeats the linear block: no
    lambda leaves the linear neuron alone (the reading of (25) on X's own blocks did)."""
    args = lasso_args(sigma=0.1, d=20)
    for lam in (0.01, 0.1, 0.3, 1.0):
        results = [lasso_skip.trial(10, lam, runner.trial_rng(t, 10, lam, 0), args) for t in range(3)]
        assert all(result.status in ("optimal", "optimal_inaccurate") for result in results)
        assert all(result.metrics["rec"] == 0 for result in results)


def test_trials_fail_then_succeed_then_fail_as_lambda_grows():
    """Above n = 2d with noise: lambda = 1e-3 fits the noise with ReLU neurons, lambda = 0.3
    keeps the linear neuron alone, lambda = 100 zeroes everything."""
    n = 80  # d = 10 (lasso_args)
    outcomes = {}
    for lam in (1e-3, 0.3, 100.0):
        results = [lasso_skip.trial(n, lam, runner.trial_rng(t, n, lam, 0), lasso_args(sigma=0.05)) for t in range(3)]
        assert all(result.status in ("optimal", "optimal_inaccurate") for result in results)
        outcomes[lam] = [(result.metrics["rec"], result.metrics["active"]) for result in results]
    assert all(rec == 0 and active > 1 for rec, active in outcomes[1e-3])
    assert all(rec == 1 and active == 1 for rec, active in outcomes[0.3])
    assert all(rec == 0 and active == 0 for rec, active in outcomes[100.0])


def test_the_run_saves_n_by_lambda_arrays(tmp_path):
    run_script("lasso_skip.py", "--n", "30", "--d", "10", "--lam_num", "4", "--sample", "2", "--jobs", "1",
               "--save_folder", str(tmp_path))
    array = np.load(tmp_path / "rec_rate_lasso_skip_n30_d10_w0_X0_sig0.1_sample2.npy")
    assert array.shape == (3, 4, 2) and not np.isnan(array).any()
    import json

    sidecar = json.loads((tmp_path / "rec_rate_lasso_skip_n30_d10_w0_X0_sig0.1_sample2.json").read_text())
    assert sidecar["axes"] == ["n", "lam", "trial"]
    assert sidecar["lam_grid"] == pytest.approx(np.logspace(-3, 1, 4).tolist())


@pytest.mark.parametrize("flags, named", [(["--lam_min", "0"], "--lam_min"), (["--lam_max", "1e-4"], "--lam_max"),
                                          (["--lam_num", "0"], "--lam_num")])
def test_bad_lambda_flags_are_one_line_errors(flags, named, tmp_path):
    result = run_script("lasso_skip.py", *flags, "--save_folder", str(tmp_path), check=False)
    assert result.returncode != 0 and named in result.stderr and len(result.stderr.strip().splitlines()) == 1
