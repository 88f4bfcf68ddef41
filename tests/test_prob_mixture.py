"""Figure 19 (prob_mixture.py): the Monte Carlo probability against its closed form for
the point's own means (+-1 and Gaussian), and, drawing new means every draw, against the
conditional probability averaged over the means."""

import argparse

import numpy as np
import pytest
from scipy.stats import binomtest, norm

import prob_mixture
import runner
from conftest import run_script


def successes(n, d, s, optmu, draws, seed=0, means="point"):
    args = argparse.Namespace(n=n, optmu=optmu, seed=seed, means=means)
    rngs = [runner.trial_rng(seed, d, s, t) for t in range(draws)]
    return int(sum(result.metrics["prob"] for result in prob_mixture.cell(d, s, rngs, args)))


def estimate(n, d, s, optmu, draws, seed=0, means="point"):
    return successes(n, d, s, optmu, draws, seed, means) / draws


def test_means_plus_minus_one_match_the_closed_form():
    """Phi(s sqrt(d))^n; n = 10, d = 2, s = 1 puts it near 0.44, where a wrong formula shows."""
    exact = prob_mixture.closed_form(10, 2, 1.0)
    assert 0.3 < exact < 0.6
    draws = 4000
    assert estimate(10, 2, 1.0, 0, draws) == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / draws))


@pytest.mark.parametrize("optmu", [1, 2])
def test_the_means_are_fixed_per_point_and_match_their_closed_form(optmu):
    """--means point: every draw of a (d, s) point shares the point's means, so the
    successes are Binomial(draws, P(success | those means)); a binomial test against
    that closed form at a point where it is far from 0 and 1 (the first seed with one)."""
    n, d, s = 100, 20, 3.5 if optmu == 2 else 1.0
    assert prob_mixture.point_means(3, d, s, optmu)[0] == pytest.approx(prob_mixture.point_means(3, d, s, optmu)[0])
    assert not np.allclose(prob_mixture.point_means(3, d, s, optmu)[0], prob_mixture.point_means(3, d, 4.0, optmu)[0])
    seed = next(seed for seed in range(200)
                if 0.2 < prob_mixture.closed_form_given_means(n, s, *prob_mixture.point_means(seed, d, s, optmu)) < 0.8)
    exact = prob_mixture.closed_form_given_means(n, s, *prob_mixture.point_means(seed, d, s, optmu))
    draws = 3000
    assert binomtest(successes(n, d, s, optmu, draws, seed), draws, float(exact)).pvalue > 1e-3
    args = argparse.Namespace(n=n, optmu=optmu, seed=seed, means="point")
    assert prob_mixture.exact_probability(args, d, [s])[0] == pytest.approx(exact)


@pytest.mark.parametrize("optmu", [1, 2])
def test_means_drawn_every_draw_match_the_averaged_conditional_probability(optmu):
    """--means draw: given the means, rows are independent: P = Phi(s m1/||u||)^(n/2)
    Phi(s m2/||u||)^(n/2) with m1 = mu1.u, m2 = -mu2.u; averaged over 20000 mean draws
    it has far less variance than the estimate."""
    n, d, s = 100, 20, 3.5 if optmu == 2 else 1.0
    rng = np.random.default_rng(5)
    conditional = []
    for _ in range(20000):
        mu_1, mu_2 = prob_mixture.cluster_means(rng, d, optmu)
        u = mu_1 / np.linalg.norm(mu_1) - mu_2 / np.linalg.norm(mu_2)
        scale = s / np.linalg.norm(u)
        conditional.append(norm.cdf(scale * (mu_1 @ u)) ** (n // 2) * norm.cdf(-scale * (mu_2 @ u)) ** (n // 2))
    expected = np.mean(conditional)
    assert 0.2 < expected < 0.9  # a setting where the probability is not trivially 0 or 1
    draws = 3000
    tolerance = 4 * np.sqrt(0.25 / draws) + 0.01
    assert estimate(n, d, s, optmu, draws, means="draw") == pytest.approx(expected, abs=tolerance)


def test_the_run_saves_d_by_s_arrays_and_prints_the_closed_form(tmp_path):
    result = run_script("prob_mixture.py", "--n", "10", "--d", "4", "--d_step", "2", "--s_min", "0.5",
                        "--s_max", "1.5", "--sample", "200", "--jobs", "1", "--save_folder", str(tmp_path))
    array = np.load(tmp_path / "prob_mixture_n10_d4_mu0_sample200.npy")
    assert array.shape == (2, 3, 200) and set(np.unique(array)) <= {0.0, 1.0}
    assert "closed form" in result.stdout


@pytest.mark.parametrize("flags, named", [(["--n", "7"], "--n"), (["--d", "30"], "--d"), (["--optmu", "3"], "--optmu"),
                                          (["--s_step", "0"], "--s_step"), (["--means", "cell"], "--means")])
def test_bad_flags_are_one_line_errors(flags, named, tmp_path):
    result = run_script("prob_mixture.py", *flags, "--save_folder", str(tmp_path), check=False)
    assert result.returncode != 0 and named in result.stderr and len(result.stderr.strip().splitlines()) == 1
