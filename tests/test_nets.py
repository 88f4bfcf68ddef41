"""Batched nonconvex training (PyTorch): equivalence to separate models, training, determinism."""

import argparse

import numpy as np
import pytest
import torch

import ncvx_train_skip
import nets
import runner
from conftest import run_script


def batched_params(network, S=3, d=5, width=7):
    generators = [torch.Generator().manual_seed(s) for s in range(S)]
    params = nets.NETWORKS[network][0](generators, d, width, torch.float64)
    if network == "norm":  # away from the default 1 so that gamma's gradient is tested too
        params["gamma"] = params["gamma"] + torch.rand(params["gamma"].shape, generator=generators[0],
                                                       dtype=torch.float64)
    return params


@pytest.mark.parametrize("network", ["skip", "norm"])
def test_batched_model_equals_separate_models(network):
    """Outputs and gradients of the batched model are those of S separate models."""
    forward = nets.NETWORKS[network][1]
    params = batched_params(network)
    generator = torch.Generator().manual_seed(9)
    X = torch.randn((3, 11, 5), generator=generator, dtype=torch.float64)
    y = torch.randn((3, 11), generator=generator, dtype=torch.float64)
    batched = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    output = forward(batched, X)
    nets.squared_errors(output, y).sum().backward()
    for s in range(3):
        single = {k: v[s:s + 1].clone().requires_grad_(True) for k, v in params.items()}
        single_output = forward(single, X[s:s + 1])
        torch.testing.assert_close(output[s:s + 1], single_output, rtol=1e-12, atol=1e-12)
        nets.squared_errors(single_output, y[s:s + 1]).sum().backward()
        for name in params:
            torch.testing.assert_close(batched[name].grad[s:s + 1], single[name].grad, rtol=1e-10, atol=1e-12)


def test_skip_forward_matches_the_formula():
    params = batched_params("skip", S=1)
    X = torch.randn((1, 6, 5), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected = params["a0"][0] * (X[0] @ params["w0"][0]) + torch.relu(X[0] @ params["W"][0]) @ params["a"][0]
    torch.testing.assert_close(nets.skip_forward(params, X)[0], expected)


def test_norm_forward_matches_the_formula_with_a_dead_neuron():
    """f = sum over live neurons of a_j gamma_j (X w_j)_+ / ||(X w_j)_+||; a neuron dead on
    every sample adds nothing and gets zero, not NaN, gradients."""
    params = batched_params("norm", S=1)
    # nonnegative inputs, so w_0 = -1 is dead on every sample
    X = torch.rand((1, 6, 5), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    params["W"][0, :, 0] = -1.0
    hidden = torch.relu(X[0] @ params["W"][0])
    live = hidden.norm(dim=0) > 0
    expected = (hidden[:, live] / hidden[:, live].norm(dim=0)) @ (params["a"][0] * params["gamma"][0])[live]
    params = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    output = nets.norm_forward(params, X)
    torch.testing.assert_close(output[0], expected)
    output.sum().backward()
    assert all(torch.isfinite(value.grad).all() for value in params.values())
    assert params["W"].grad[0, :, 0].abs().max() == 0 and params["a"].grad[0, 0] == 0

def test_default_initialisation_bounds():
    """The authors' layers: W, w0 U(+-1/sqrt(d)); a U(+-1/sqrt(width)); a0, a 1 x 1 layer, U(+-1)."""
    params = nets.init_skip([torch.Generator().manual_seed(s) for s in range(50)], d=16, width=100)
    assert params["W"].abs().max() <= 1 / 4 and params["W"].abs().max() > 0.2  # U(-1/sqrt(d), 1/sqrt(d))
    assert params["w0"].abs().max() <= 1 / 4 and params["w0"].abs().max() > 0.2
    assert params["a"].abs().max() <= 1 / 10 and params["a"].abs().max() > 0.09  # fan-in width = 100
    assert params["a0"].abs().max() <= 1 and params["a0"].abs().max() > 0.8  # fan-in 1


def training_args(**overrides):
    values = dict(optx=0, optw=0, sigma=0.0, epochs=400, lr=2e-3, beta=1e-6, width=None, device="cpu",
                  save_details=True, reset_optimizer=False, verbose=False)
    return argparse.Namespace(**dict(values, **overrides))


def test_training_lowers_loss_and_learns_the_linear_neuron_at_eight_d():
    """Noiseless y = X w at n = 8d. The test labels have norm ~1 (X has N(0, 1/n)
    entries, ||w|| = 1), so an untrained or zero network is at distance ~1. Above
    n = 2d the convex theory makes the planted model the simplest interpolant;
    400 AdamW steps reach 0.10-0.13 on these seeds, and 0.25 (94% of the signal
    energy explained) leaves a 2x margin. At n = d the same training stays above 0.4."""
    n, d = 80, 10
    results = ncvx_train_skip.cell(n, d, [runner.trial_rng(1, n, d, t) for t in range(3)], training_args())
    for result in results:
        curve = result.details["train_loss"]
        assert curve[-1] < 0.01 * curve[0]
        assert result.metrics["dis_test"] < 0.25
    below = ncvx_train_skip.cell(10, 10, [runner.trial_rng(1, 10, 10, t) for t in range(3)], training_args())
    assert np.mean([r.metrics["dis_test"] for r in below]) > 0.4


def test_reset_optimizer_steps_are_sign_steps():
    """Rebuilding AdamW every step (the authors' code) discards the moments, so every
    step moves each weight by about lr (bias-corrected m/sqrt(v) = g/|g|); with one
    optimizer the steps differ from the second step on."""
    # float64 and seeded data: in float32 a tiny gradient's square can underflow to a
    # denormal, and the step g / sqrt(v) then exceeds lr (seen once, by 2e-4)
    params = batched_params("skip", S=2)
    generator = torch.Generator().manual_seed(3)
    X = torch.randn((2, 12, 5), generator=generator, dtype=torch.float64)
    y = torch.randn((2, 12), generator=generator, dtype=torch.float64)
    reset, _, _ = nets.train(nets.skip_forward, params, X, y, epochs=5, lr=1e-2, beta=0.0, reset_optimizer=True)
    kept, _, _ = nets.train(nets.skip_forward, params, X, y, epochs=5, lr=1e-2, beta=0.0)
    moves = torch.cat([(reset[name] - params[name]).abs().flatten() for name in params])
    assert moves.max() <= 5 * 1e-2 * (1 + 1e-6)
    assert (moves > 5 * 1e-2 * (1 - 1e-6)).any()  # a weight whose gradient kept its sign moved 5 lr
    assert any(not torch.allclose(reset[name], kept[name]) for name in params)


def test_same_arrays_whatever_the_worker_count(tmp_path):
    arrays = {}
    for jobs in ("1", "2"):
        folder = tmp_path / jobs
        run_script("ncvx_train_skip.py", "--n", "30", "--d", "20", "--sample", "2", "--epochs", "30", "--optw", "0",
                   "--jobs", jobs, "--save_folder", str(folder))
        arrays[jobs] = np.load(folder / "dis_test_ncvx_train_skip_n30_d20_w0_X0_sig0_sample2.npy")
    assert arrays["1"].shape == (3, 2, 2) and not np.isnan(arrays["1"]).any()
    np.testing.assert_array_equal(arrays["1"], arrays["2"])


def test_norm_training_script_end_to_end(tmp_path):
    run_script("ncvx_train_norm.py", "--n", "20", "--d", "20", "--sample", "2", "--epochs", "50", "--neu", "2",
               "--jobs", "1", "--save_details", "--save_folder", str(tmp_path))
    dis_test = np.load(tmp_path / "dis_test_ncvx_train_norm_n20_d20_w0_X0_neu2_sig0_sample2.npy")
    assert dis_test.shape == (2, 2, 2) and np.isnan(dis_test[0, 1]).all() and not np.isnan(dis_test[1]).any()
    import pickle

    with open(sorted((tmp_path / "details").glob("*.pkl"))[0], "rb") as stream:
        details = pickle.load(stream)
    assert details["train_loss"].shape == (50,) and details["test_loss"].shape == (50,)
    assert details["train_loss"][-1] < details["train_loss"][0]
    assert {"W", "a", "gamma", "X", "w", "y"} <= set(details)


@pytest.mark.parametrize("flags, flag", [(["--epochs", "0"], "--epochs"), (["--lr", "0"], "--lr"),
                                         (["--width", "0"], "--width"), (["--device", "tpu"], "--device")])
def test_training_bad_input(flags, flag, tmp_path):
    result = run_script("ncvx_train_skip.py", "--n", "20", "--d", "10", "--save_folder", str(tmp_path), *flags,
                        check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and flag in lines[0], result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_cuda_fails_fast(tmp_path):
    result = run_script("ncvx_train_skip.py", "--device", "cuda", "--save_folder", str(tmp_path), check=False)
    assert result.returncode != 0 and "--device cuda" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("network", ["skip", "norm"])
def test_training_in_chunks_equals_training_all_trials_at_once(network):
    """Chunks of 2 out of 5 trials (the CPU path for large cells) give, trial by
    trial and in order, what one batch of 5 gives, up to float64 rounding."""
    forward = nets.NETWORKS[network][1]
    params = batched_params(network, S=5)
    generator = torch.Generator().manual_seed(4)
    X, X_test = torch.randn((2, 5, 11, 5), generator=generator, dtype=torch.float64)
    y, y_test = torch.randn((2, 5, 11), generator=generator, dtype=torch.float64)
    whole = nets.train(forward, params, X, y, X_test, y_test, epochs=30)
    chunked = nets.train_in_chunks(forward, params, X, y, X_test, y_test, chunk=2, epochs=30)
    for name in params:
        torch.testing.assert_close(chunked[0][name], whole[0][name], rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(chunked[1], whole[1], rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(chunked[2], whole[2], rtol=1e-9, atol=1e-12)


def test_chunks_keep_the_activations_within_budget():
    assert nets.trials_per_chunk(100, 101) == 51  # small cells: all trials at once
    assert nets.trials_per_chunk(400, 401) == 3  # 3 * 400 * 401 entries <= 2**19
    assert nets.trials_per_chunk(2000, 2001) == 1  # never zero
