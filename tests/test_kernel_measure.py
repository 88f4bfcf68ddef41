"""kernel_measure.py: H^inf is positive semi-definite and equals its defining expectation
(Monte Carlo), the measure has its closed form on orthogonal inputs, each trial sees
exactly the trained network's training data, and the comparison runs end to end."""

import argparse
import json

import numpy as np
import pytest

import kernel_measure
import ncvx_train_norm
import ncvx_train_skip
import runner
from conftest import run_script


def unit_rows(n, d, seed):
    X = np.random.default_rng(seed).standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@pytest.mark.parametrize("n, d", [(30, 5), (60, 40), (100, 3)])
def test_h_infinity_is_positive_semi_definite(n, d):
    H = kernel_measure.arc_cosine_kernel(unit_rows(n, d, n + d))
    assert np.allclose(H, H.T) and np.allclose(np.diag(H), 0.5)
    assert np.linalg.eigvalsh(H)[0] > 0  # distinct, non-parallel rows: strictly positive definite


def test_h_infinity_is_the_expectation_over_random_neurons():
    """H_ij = E_w[x_i^T x_j 1{w^T x_i >= 0, w^T x_j >= 0}], w ~ N(0, I), by 400 000 draws."""
    X = unit_rows(4, 6, 1)
    X[3] = -0.9 * X[0] + 0.1 * X[1]  # an obtuse pair too
    X[3] /= np.linalg.norm(X[3])
    H = kernel_measure.arc_cosine_kernel(X)
    w = np.random.default_rng(2).standard_normal((400_000, 6))
    active = (w @ X.T) >= 0
    for i, j in [(0, 1), (0, 2), (1, 2), (0, 3), (2, 2)]:
        samples = (X[i] @ X[j]) * (active[:, i] & active[:, j])
        assert H[i, j] == pytest.approx(samples.mean(), abs=4 * samples.std() / np.sqrt(len(samples)) + 1e-12)


def test_the_measure_on_orthogonal_inputs():
    """Orthogonal unit rows give H = I/2, so with unit-RMS labels 2 y^T H^-1 y / n = 4."""
    X = np.eye(3)[:2] * 5.0  # rows are normalised first
    measure, smallest = kernel_measure.kernel_measure(X, np.array([3.0, -3.0]))
    assert measure == pytest.approx(2.0) and smallest == pytest.approx(0.5)


def test_parallel_inputs_are_singular_and_the_trial_records_it(monkeypatch):
    X = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    with pytest.raises(np.linalg.LinAlgError):
        kernel_measure.kernel_measure(X, np.ones(3))
    monkeypatch.setattr(kernel_measure, "training_data", lambda rng, n, d, args: (X, np.ones(3)))
    result = kernel_measure.trial(3, 2, None, None)
    assert result.status == "singular" and np.isnan(result.metrics["measure"])


@pytest.mark.parametrize("model", ["skip", "norm"])
def test_each_trial_sees_the_trained_networks_training_data(model):
    n, d = 30, 10
    args = argparse.Namespace(model=model, optx=0, optw=0, sigma=0.1, neu=2, epochs=1, lr=2e-3, beta=1e-6,
                              width=None, device="cpu", save_details=True, reset_optimizer=False, verbose=False)
    script = ncvx_train_skip if model == "skip" else ncvx_train_norm
    trained = script.cell(n, d, [runner.trial_rng(4, n, d, t) for t in range(2)], args)
    for t, result in enumerate(trained):
        X, y = kernel_measure.training_data(runner.trial_rng(4, n, d, t), n, d, args)
        assert np.array_equal(X, result.details["X"]) and np.array_equal(y, result.details["y"])


def test_the_comparison_runs_end_to_end(tmp_path):
    common_flags = ["--n", "40", "--d", "20", "--sample", "3", "--sigma", "0.05", "--jobs", "1",
                    "--save_folder", str(tmp_path)]
    run_script("ncvx_train_skip.py", *common_flags, "--epochs", "30")
    dis_test = tmp_path / "dis_test_ncvx_train_skip_n40_d20_w1_X0_sig0.05_sample3.npy"
    result = run_script("kernel_measure.py", *common_flags, "--compare", str(dis_test))
    summary = json.loads((tmp_path / "kernel_measure_skip_n40_d20_w1_X0_sig0.05_sample3_vs_dis_test.json").read_text())
    assert summary["cells"] == 8 and summary["trials"] == 24 and -1 <= summary["spearman_cells"] <= 1
    assert (tmp_path / "kernel_measure_skip_n40_d20_w1_X0_sig0.05_sample3_vs_dis_test.png").exists()
    assert "Spearman" in result.stdout
    measure = np.load(tmp_path / "kernel_measure_skip_n40_d20_w1_X0_sig0.05_sample3.npy")
    assert measure.shape == (4, 2, 3) and np.all(measure > 0)
    # Arrays that are not this run's trained networks' dis_test are refused in one
    # line, before any work: another seed, another script's array on the same grid.
    other = tmp_path / "other"
    run_script("minnrm_skip.py", *common_flags[:-1], str(other))
    cases = {"--seed": (dis_test, ["--seed", "3"]),
             "not ncvx_train_skip.py's dis_test": (other / dis_test.name.replace("ncvx_train", "minnrm"), [])}
    for reason, (path, flags) in cases.items():
        refused = run_script("kernel_measure.py", *common_flags[:-1], str(tmp_path / "refused"), *flags,
                             "--compare", str(path), check=False)
        assert refused.returncode != 0 and reason in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "refused").exists()


@pytest.mark.parametrize("flags, named", [(["--model", "plain"], "--model"), (["--neu", "2"], "--neu"),
                                          (["--compare", "nothing.npy"], "--compare")])
def test_bad_flags_are_one_line_errors(flags, named, tmp_path):
    result = run_script("kernel_measure.py", *flags, "--save_folder", str(tmp_path), check=False)
    assert result.returncode != 0 and named in result.stderr and len(result.stderr.strip().splitlines()) == 1
