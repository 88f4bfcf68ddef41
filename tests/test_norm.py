"""The normalisation-layer suite: whitened blocks, (13)/(14), targets and NNIC-k."""

import argparse
import itertools

import numpy as np
import pytest

import common
import programs
import runner
from conftest import run_script


def norm_args(neu=1, optw=0, sigma=0.0):
    return argparse.Namespace(optx=0, optw=optw, neu=neu, sigma=sigma, solver_name="CLARABEL", beta=1e-6)


def instance(n, d, seed, **kwargs):
    args = norm_args(**kwargs)
    return common.norm_instance(runner.trial_rng(seed, n, d, 0), n, d, optx=0, optw=args.optw, sigma=args.sigma,
                                neu=args.neu)


@pytest.mark.parametrize("neu, optw", [(1, 0), (2, 2), (3, 1)])
def test_whitened_blocks_and_targets(neu, optw):
    data = instance(25, 10, 0, neu=neu, optw=optw)
    X, D = data["X"], data["dmat"]
    for i, (U, S, V) in enumerate(data["blocks"]):
        np.testing.assert_allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-10)
        np.testing.assert_allclose(U * S @ V.T, D[:, [i]] * X, atol=1e-10)
        assert not U[D[:, i] == 0].any()  # supported on the pattern's rows
    targets = common.norm_targets(data["blocks"], data["planted_columns"], data["w"])
    for k, t, w in zip(data["planted_columns"], targets, data["w"].T):
        np.testing.assert_array_equal(D[:, k], X @ w >= 0)
        activation = np.maximum(X @ w, 0)
        np.testing.assert_allclose(data["blocks"][k][0] @ t, activation / np.linalg.norm(activation), atol=1e-10)
    np.testing.assert_allclose(sum(data["blocks"][k][0] @ t for k, t in zip(data["planted_columns"], targets)),
                               data["y"], atol=1e-10)


def test_planted_neuron_options():
    rng = np.random.default_rng(0)
    assert np.allclose(common.planted_relu_neurons(rng, 5, 2, 1), np.eye(5)[:, :2])
    opposite = common.planted_relu_neurons(rng, 5, 2, 2)
    np.testing.assert_allclose(opposite[:, 1], -opposite[:, 0])
    np.testing.assert_allclose(np.linalg.norm(common.planted_relu_neurons(rng, 5, 3, 0), axis=0), 1.0)


@pytest.mark.parametrize("n, d, seed", [(30, 10, 0), (15, 10, 1), (40, 10, 2)])
def test_relaxed_norm_program_certificate(n, d, seed):
    """KKT of (14) from the returned primal and dual: feasibility, ||U_i^T lam|| <= 1,
    = w_i/||w_i|| on active blocks, and y^T lam equal to the objective. When the
    planted model is recovered, U_k^T lam = t_k on the planted blocks."""
    data = instance(n, d, seed)
    solution = programs.solve(common.norm_program(data, "14"), "CLARABEL")
    assert solution.accepted, solution.checks
    W, lam, blocks = solution.primal["W"], solution.dual, data["blocks"]
    fit = sum(U @ W[: U.shape[1], i] for i, (U, _, _) in enumerate(blocks))
    np.testing.assert_allclose(fit, data["y"], atol=1e-7)
    correlations = [U.T @ lam for U, _, _ in blocks]
    assert max(np.linalg.norm(c) for c in correlations) <= 1 + 1e-5
    for i, c in enumerate(correlations):
        block = W[: len(c), i]
        if np.linalg.norm(block) > 1e-4:
            np.testing.assert_allclose(c, block / np.linalg.norm(block), atol=1e-3)
    assert data["y"] @ lam == pytest.approx(np.linalg.norm(W, axis=0).sum(), rel=1e-5)
    planted = common.norm_planted_variable(data)
    if common.norm_recovered(W, planted):
        for k in data["planted_columns"]:
            r = blocks[k][0].shape[1]
            np.testing.assert_allclose(correlations[k], planted[:r, k], atol=1e-4)


def test_nnic_implies_recovery():
    """Proposition 5: wherever NNIC-k holds, (14) on the same instance and patterns
    recovers the planted neurons. Recovery without NNIC-k is allowed (it is only
    sufficient); its frequency is printed."""
    counts = {"nic and rec": 0, "nic without rec": 0, "rec without nic": 0, "neither": 0}
    cases = [(1, 0, 15, 10), (1, 0, 25, 10), (1, 1, 20, 10), (2, 2, 40, 10), (2, 2, 60, 10), (2, 0, 60, 10),
             (3, 0, 80, 10), (1, 0, 40, 20)]
    for neu, optw, n, d in cases:
        for seed in range(6):
            data = common.norm_instance(runner.trial_rng(seed, n, d, 0), n, d, optx=0, optw=optw, sigma=0.0, neu=neu,
                                        num_directions=max(2 * n, 50))
            targets = common.norm_targets(data["blocks"], data["planted_columns"], data["w"])
            holds, _ = common.nnic_holds(data["blocks"], data["planted_columns"], targets)
            solution = programs.solve(common.norm_program(data, "14"), "CLARABEL")
            assert solution.accepted
            recovered = common.norm_recovered(solution.primal["W"], common.norm_planted_variable(data))
            key = ("nic and rec" if recovered else "nic without rec") if holds else \
                ("rec without nic" if recovered else "neither")
            counts[key] += 1
    print("NNIC-k vs recovery over", sum(counts.values()), "instances:", counts)
    assert counts["nic without rec"] == 0
    assert counts["nic and rec"] >= 10 and counts["neither"] >= 5  # both outcomes exercised


def test_nnic_rejects_a_block_that_spans_the_planted_activation():
    """A second pattern containing the planted rows at full rank reproduces the planted
    activation, so the certificate has correlation exactly 1 there: not strict."""
    X = np.vstack([np.eye(3), -np.eye(3)[:1]])
    w = np.array([0.0, 1.0, 1.0]) / np.sqrt(2)
    patterns = np.column_stack([X @ w >= 0, [1, 1, 1, 0], [0, 0, 0, 1]]).astype(float)
    blocks = programs.whitened_blocks(X, patterns)
    targets = common.norm_targets(blocks, [0], w[:, None])
    holds, lam = common.nnic_holds(blocks, [0], targets)
    assert np.linalg.norm(blocks[1][0].T @ lam) == pytest.approx(1.0)
    assert not holds


def test_nnic_certificate_is_the_minimum_norm_interpolant_on_a_rank_deficient_gram():
    """Figure 11's trial (seed 97006855, n = 240, d = 80, trial 19; 3 e_j neurons): U_P is
    240 x 240 of rank < 240, and LAPACK's SVD of its Gram failed to converge on the machine
    that ran it. lambda = U_P (U_P^T U_P)^+ t is the minimum-norm least-squares solution of
    U_P^T lambda = t, computed independently here from the SVD of U_P itself; U_P^T lambda
    misses t, so NNIC-3 does not hold."""
    n, d = 240, 80
    data = common.norm_instance(runner.trial_rng(97006855, n, d, 19), n, d, optx=0, optw=1, sigma=0.0, neu=3,
                                num_directions=2 * n)
    targets = common.norm_targets(data["blocks"], data["planted_columns"], data["w"])
    holds, lam = common.nnic_holds(data["blocks"], data["planted_columns"], targets)
    columns = sorted(set(data["planted_columns"]))
    U_planted = np.hstack([data["blocks"][k][0] for k in columns])
    planted = common.planted_solution(data["blocks"], data["planted_columns"], targets, d)
    t = np.concatenate([planted[: data["blocks"][k][0].shape[1], k] for k in columns])
    assert np.linalg.matrix_rank(U_planted) < U_planted.shape[1]
    np.testing.assert_allclose(lam, np.linalg.lstsq(U_planted.T, t, rcond=None)[0], atol=1e-8)
    assert np.abs(U_planted.T @ lam - t).max() > 1e-3
    assert not holds


def test_exact_norm_program_is_above_the_relaxation():
    for seed in range(3):
        data = instance(20, 10, seed)
        relaxed = programs.solve(common.norm_program(data, "14"), "CLARABEL")
        exact = programs.solve(common.norm_program(data, "13"), "CLARABEL")
        assert relaxed.accepted and exact.accepted
        assert relaxed.value <= exact.value + 1e-6


def test_norm_training_form_recovers_at_six_d():
    data = instance(60, 10, 4)
    solution = programs.solve(common.norm_program(data, "norm_train"), "CLARABEL")
    assert solution.accepted
    dis_abs = common.norm_dis_abs(common.learned_variable(solution.primal), common.norm_planted_variable(data),
                                  data["planted_columns"])
    assert dis_abs < 1e-3


NORM_SCRIPTS = {
    "rec_rate_norm.py": ([], "rec_rate_norm_n20_d20_w0_X0_neu1_sample2"),
    "minnrm_norm.py": (["--sigma", "0.1"], "dis_abs_minnrm_norm_n20_d20_w0_X0_neu1_sig0.1_sample2"),
    "cvx_train_norm.py": (["--optw", "2"], "dis_abs_cvx_train_norm_n20_d20_w2_X0_neu2_sig0_sample2"),
    "nic_norm.py": ([], "nic_norm_n20_d20_w0_X0_neu2_sample2"),
}


@pytest.mark.parametrize("script", NORM_SCRIPTS)
def test_norm_script_end_to_end_with_blank_n_below_d(script, tmp_path):
    flags, stem = NORM_SCRIPTS[script]
    run_script(script, "--n", "20", "--d", "20", "--sample", "2", "--jobs", "1", "--save_details",
               "--save_folder", str(tmp_path), *flags)
    array = np.load(tmp_path / f"{stem}.npy")
    assert array.shape == (2, 2, 2)
    assert np.isnan(array[0, 1]).all()  # n = 10 < d = 20: skipped
    assert not np.isnan(array[1, 1]).any()
    assert len(list((tmp_path / "details").glob("*.pkl"))) == 6  # 3 cells with n >= d
    run_script("plot.py", str(tmp_path / f"{stem}.npy"))
    assert (tmp_path / f"{stem}.png").stat().st_size > 10_000


@pytest.mark.parametrize("flags, flag", [(["--optw", "2", "--neu", "3"], "--optw 2"), (["--neu", "0"], "--neu"),
                                         (["--optw", "1", "--neu", "11"], "--neu")])
def test_norm_bad_input(flags, flag, tmp_path):
    result = run_script("rec_rate_norm.py", "--n", "20", "--d", "10", "--save_folder", str(tmp_path), *flags,
                        check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and flag in lines[0], result.stderr


def planted_preimage_keeps_its_pattern(data):
    """(whether the planted pattern has >= d rows, whether (13) admits the planted neuron).
    (13)'s neuron behind a block is the preimage V S^-1 u of its target u = S V^T w, the
    projection V V^T w of w onto the span of the pattern's rows; the cone asks it to keep
    w's signs on every row."""
    X, w = data["X"], data["w"][:, 0]
    _, _, V = data["blocks"][data["planted_columns"][0]]
    preimage = V @ (V.T @ w)  # V S^-1 (S V^T w)
    signs = np.where(X @ w > 0, 1, -1)
    return V.shape[1] == X.shape[1], bool(np.all(signs * (X @ preimage) >= -1e-12))


def test_exact_norm_program_recovers_one_neuron_iff_its_preimage_keeps_the_pattern():
    # below n = 2d the planted pattern often has fewer than d rows; then (13) cannot
    # represent the planted neuron unless the projection happens to keep its signs
    seen = set()
    for optw, seed in itertools.product((0, 1), range(6)):
        data = instance(60, 30, seed, optw=optw)
        full_rank, feasible = planted_preimage_keeps_its_pattern(data)
        assert feasible or not full_rank
        solution = programs.solve(common.norm_program(data, "13"), "IPM")
        assert solution.accepted
        dis_abs = common.norm_dis_abs(common.learned_variable(solution.primal), common.norm_planted_variable(data),
                                      data["planted_columns"])
        assert (dis_abs < common.RECOVERY_ATOL) == feasible
        # infeasible planted model: (13)'s optimum costs more than the planted norm 1
        assert feasible or solution.value > 1 + 1e-6
        seen.add(feasible)
    assert seen == {True, False}
