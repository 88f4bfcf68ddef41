"""The skip programs (11), (12) and the training form, checked against mathematics."""

import numpy as np
import pytest

import common
import programs
import rec_rate_skip
import runner
from conftest import run_script


def instance(n, d, seed, args):
    return common.skip_instance(runner.trial_rng(seed, n, d, 0), n, d, optx=args.optx, optw=args.optw, sigma=args.sigma)


@pytest.mark.parametrize("n, d, seed", [(30, 10, 0), (15, 10, 1), (40, 20, 2)])
def test_relaxed_program_certificate(n, d, seed, skip_args):
    """KKT of (12), recomputed here from the returned primal and dual: feasibility,
    X^T lam = w0/||w0||, ||(D_i X)^T lam|| <= 1, = w_i/||w_i|| on active blocks,
    and no duality gap (y^T lam equals the objective)."""
    data = instance(n, d, seed, skip_args)
    X, y, D = data["X"], data["y"], data["dmat"]
    solution = programs.solve(programs.Program("12", X, y, D), "CLARABEL")
    assert solution.accepted, solution.checks
    w0, W, lam = solution.primal["w0"], solution.primal["W"], solution.dual
    tol = 1e-5  # the gap and dual feasibility; stationarity at the 1e-4 scale of the recovery test
    np.testing.assert_allclose(X @ w0 + np.sum(D * (X @ W), axis=1), y, atol=1e-7)
    np.testing.assert_allclose(X.T @ lam, w0 / np.linalg.norm(w0), atol=1e-4)
    correlations = np.stack([(D[:, i, None] * X).T @ lam for i in range(D.shape[1])], axis=1)
    assert np.linalg.norm(correlations, axis=0).max() <= 1 + tol
    active = np.linalg.norm(W, axis=0) > 1e-4
    np.testing.assert_allclose(correlations[:, active], W[:, active] / np.linalg.norm(W[:, active], axis=0),
                               atol=1e-3)
    objective = np.linalg.norm(w0) + np.linalg.norm(W, axis=0).sum()
    assert y @ lam == pytest.approx(objective, rel=tol)
    assert solution.value == pytest.approx(objective, rel=tol)


def test_relaxation_is_below_the_exact_program(skip_args):
    """(12) drops the cone constraints of (11) and merges u_i - v_i, so its value is lower."""
    for seed in range(3):
        data = instance(15, 10, seed, skip_args)
        relaxed = programs.solve(programs.Program("12", data["X"], data["y"], data["dmat"]), "CLARABEL")
        exact = programs.solve(programs.Program("11", data["X"], data["y"], data["dmat"]), "CLARABEL")
        assert relaxed.accepted and exact.accepted
        assert relaxed.value <= exact.value + 1e-6
        U, V = exact.primal["U"], exact.primal["V"]
        signs = 2 * data["dmat"] - 1
        assert (signs * (data["X"] @ U)).min() >= -1e-7 and (signs * (data["X"] @ V)).min() >= -1e-7


@pytest.mark.parametrize("seed", range(4))
def test_recovery_at_six_d(seed, skip_args):
    result = rec_rate_skip.trial(60, 10, runner.trial_rng(seed, 60, 10, 0), skip_args)
    assert result.metrics["rec"] == 1.0
    assert not result.details["exist_all_one"]


def test_recovery_fails_when_all_ones_pattern_exists(skip_args):
    """With the all-ones pattern D = I, w0 and that block are interchangeable, so the
    planted model is not the unique solution; the solver must not report recovery."""
    found = 0
    for seed in range(12):
        result = rec_rate_skip.trial(15, 10, runner.trial_rng(seed, 15, 10, 0), skip_args)
        if result.details["exist_all_one"]:
            found += 1
            assert result.metrics["rec"] == 0.0
            all_ones = result.details["dmat"].all(axis=0)
            assert np.linalg.norm(result.details["opt_w"][:, all_ones]) > 1e-4
    assert found >= 3


def test_threshold_between_d_and_two_d(skip_args):
    """At n = d a plain linear fit recovers w, the ReLU skip network does not; at n = 5d it does."""
    below = [rec_rate_skip.trial(10, 10, runner.trial_rng(s, 10, 10, 0), skip_args).metrics["rec"] for s in range(5)]
    above = [rec_rate_skip.trial(50, 10, runner.trial_rng(s, 50, 10, 0), skip_args).metrics["rec"] for s in range(5)]
    assert np.mean(below) == 0.0 and np.mean(above) == 1.0


def test_recovery_decision_rejects_small_but_real_deviation():
    w = np.ones(4) / 2
    assert common.skip_recovered(w, np.zeros((4, 3)), w)
    assert not common.skip_recovered(w + 2e-4, np.zeros((4, 3)), w)
    W = np.zeros((4, 3))
    W[1, 2] = 2e-4
    assert not common.skip_recovered(w, W, w)


def test_training_form_approaches_the_planted_model(skip_args):
    """With beta = 1e-6 and noiseless labels at n = 6d the regularised exact program
    fits y almost exactly with w0 close to w (the loss dominates, so the residual
    is of order beta)."""
    data = instance(60, 10, 5, skip_args)
    solution = programs.solve(programs.Program("skip_train", data["X"], data["y"], data["dmat"], beta=1e-6), "CLARABEL")
    assert solution.accepted
    assert np.linalg.norm(solution.primal["w0"] - data["w"]) < 1e-4


def test_failed_solve_is_recorded_not_raised():
    # y outside the range of X and of the single pattern's block: (12) is infeasible
    X = np.ones((10, 1))
    y = np.arange(10.0)
    solution = programs.solve(programs.Program("12", X, y, np.ones((10, 1))), "CLARABEL")
    assert not solution.accepted and np.isnan(solution.value)
    assert "infeasible" in solution.status


def test_masked_blocks_is_the_sum_of_masked_products():
    rng = np.random.default_rng(0)
    X, D = rng.standard_normal((7, 3)), (rng.random((7, 4)) > 0.5).astype(float)
    W = rng.standard_normal((3, 4))
    expected = sum(D[:, i] * (X @ W[:, i]) for i in range(4))
    np.testing.assert_allclose(programs.masked_blocks(X, D) @ W.ravel(order="F"), expected)


def test_solver_resolution():
    assert programs.resolve_solver("auto") == "IPM"
    assert programs.resolve_solver("ipm") == "IPM"
    assert programs.general_solver() in ("MOSEK", "CLARABEL")
    assert programs.resolve_solver("clarabel") == "CLARABEL"
    with pytest.raises(ValueError, match="--solver"):
        programs.resolve_solver("NOSUCH")


def test_a_solve_without_a_dual_is_not_accepted(monkeypatch, skip_args):
    """(12) is accepted only on its certificate; a solver that returns no dual gives none."""
    from cvxpy.constraints import Equality

    data = instance(30, 10, 0, skip_args)
    program = programs.Program("12", data["X"], data["y"], data["dmat"])
    assert programs.solve(program, "CLARABEL").accepted
    monkeypatch.setattr(Equality, "dual_value", property(lambda self: None))
    solution = programs.solve(program, "CLARABEL")
    assert not solution.accepted and "no dual" in solution.outcome


def test_exact_program_recovery_figure_4(skip_args, tmp_path):
    """--program 11: recovery by the exact program (Figure 4). At n = 6d it recovers, with
    the same decisions from the structured solver and Clarabel; its arrays are named
    apart from (12)'s, so both coexist in one folder."""
    import argparse

    for solver in ("IPM", "CLARABEL"):
        args = argparse.Namespace(**dict(vars(skip_args), solver_name=solver, program="11"))
        for seed in range(3):
            result = rec_rate_skip.trial(60, 10, runner.trial_rng(seed, 60, 10, 0), args)
            assert result.metrics["rec"] == 1.0, result.status
    common_flags = ["--n", "20", "--d", "10", "--sample", "2", "--optw", "0", "--jobs", "1",
                    "--save_folder", str(tmp_path)]
    run_script("rec_rate_skip.py", *common_flags)
    run_script("rec_rate_skip.py", *common_flags, "--program", "11")
    assert (tmp_path / "rec_rate_skip_n20_d10_w0_X0_sample2.npy").exists()
    exact = np.load(tmp_path / "rec_rate_exact_skip_n20_d10_w0_X0_sample2.npy")
    assert exact.shape == (2, 1, 2) and np.isin(exact, [0.0, 1.0]).all()
    bad = run_script("rec_rate_skip.py", *common_flags, "--program", "13", check=False)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1 and "--program" in bad.stderr


@pytest.mark.parametrize("change, named", [
    (dict(equation="99"), "equation"), (dict(y=np.zeros(3)), "X must be"),
    (dict(patterns=np.full((20, 4), 0.5)), "0/1"),
    (dict(equation="14"), "whitened blocks"), (dict(equation="25", penalty=0.0), "lambda > 0"),
])
def test_a_program_validates_its_inputs_at_construction(change, named):
    X = np.random.default_rng(0).standard_normal((20, 5))
    fields = dict(equation="12", X=X, y=X[:, 0], patterns=(X[:, :4] > 0).astype(float))
    with pytest.raises(ValueError, match=named):
        programs.Program(**dict(fields, **change))
