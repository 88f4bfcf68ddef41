"""Data matrices, planted linear neurons, noise and per-trial seeding (docs/math.md section 1)."""

import numpy as np
import pytest

import common
import runner


@pytest.mark.parametrize("optx", [0, 1, 2, 3])
@pytest.mark.parametrize("n, d", [(40, 10), (10, 30)])
def test_shapes_and_whitening(optx, n, d):
    X = common.sample_data(np.random.default_rng(0), n, d, optx)
    assert X.shape == (n, d)
    if optx in (2, 3):  # whitened: orthonormal columns (n >= d) or rows (n < d)
        gram = X.T @ X if n >= d else X @ X.T
        np.testing.assert_allclose(gram, np.eye(min(n, d)), atol=1e-10)
    else:
        assert not np.allclose(X.T @ X if n >= d else X @ X.T, np.eye(min(n, d)), atol=1e-2)


def test_cubic_is_the_cube_of_the_scaled_gaussian():
    gaussian = common.sample_data(np.random.default_rng(3), 50, 10, 0)
    cubic = common.sample_data(np.random.default_rng(3), 50, 10, 1)
    np.testing.assert_allclose(cubic, gaussian**3)


def test_gaussian_scaling_is_one_over_sqrt_n():
    X = common.sample_data(np.random.default_rng(1), 2000, 50, 0)
    assert np.var(X) * 2000 == pytest.approx(1.0, rel=0.02)


@pytest.mark.parametrize("n, d", [(60, 20), (10, 20)])
def test_smallest_singular_vector_option(n, d):
    """optw 1 takes the thin SVD's last right singular vector (the reference's
    full_matrices=False): with n < d the smallest non-zero singular value, so y = X w
    is not 0 there."""
    rng = np.random.default_rng(2)
    X = common.sample_data(rng, n, d, 0)
    w = common.planted_linear(rng, X, 1)
    singular_values = np.linalg.svd(X, compute_uv=False)
    assert np.linalg.norm(w) == pytest.approx(1.0)
    assert np.linalg.norm(X @ w) == pytest.approx(singular_values.min(), rel=1e-10)
    assert np.linalg.norm(X @ w) > 0.1


def test_random_planted_neuron_is_unit_norm_and_random():
    rng = np.random.default_rng(4)
    X = common.sample_data(rng, 30, 10, 0)
    first, second = common.planted_linear(rng, X, 0), common.planted_linear(rng, X, 0)
    assert np.linalg.norm(first) == pytest.approx(1.0) and not np.allclose(first, second)


def test_noise_scale():
    z = common.label_noise(np.random.default_rng(5), 100_000, 0.2)
    assert np.std(z) * np.sqrt(100_000) == pytest.approx(0.2, rel=0.02)


def test_trial_generator_depends_only_on_seed_and_cell():
    draw = lambda *key: runner.trial_rng(*key).standard_normal(3)  # noqa: E731
    np.testing.assert_array_equal(draw(7, 20, 10, 1), draw(7, 20, 10, 1))
    for other in [(8, 20, 10, 1), (7, 30, 10, 1), (7, 20, 20, 1), (7, 20, 10, 2)]:
        assert not np.allclose(draw(7, 20, 10, 1), draw(*other))
