"""transition.py: the logistic fit recovers a known threshold and width from synthetic
Bernoulli data, the all-ones bound's transition is where Wendel's formula puts it, and
a small run finds the skip network's threshold near n = 2d."""

import json

import numpy as np
import pytest
from scipy.special import expit

import transition
from conftest import run_script


def synthetic(x50, width, trials, seed):
    x = np.linspace(x50 - 2 * width, x50 + 2 * width, 21)
    rng = np.random.default_rng(seed)
    outcomes = (rng.random((len(x), trials)) < expit((x - x50) / (width / transition.WIDTH_FACTOR))[:, None])
    return x, outcomes.astype(float)


@pytest.mark.parametrize("x50, width", [(2.1, 0.3), (4.5, 1.2)])
def test_the_fit_recovers_a_known_logistic_curve(x50, width):
    x, outcomes = synthetic(x50, width, trials=400, seed=1)
    fitted_x50, scale = transition.fit_logistic(x, outcomes.sum(axis=1), np.full(len(x), outcomes.shape[1]))
    assert fitted_x50 == pytest.approx(x50, abs=0.02 * width / 0.3)
    assert transition.WIDTH_FACTOR * scale == pytest.approx(width, rel=0.08)


def fisher_standard_errors(x, trials, x50, scale):
    """Asymptotic standard errors of (x50, width) of the logistic MLE: the inverse of the
    Fisher information sum_i m_i p_i (1 - p_i) g_i g_i^T, g_i = d eta_i / d(x50, scale)."""
    p = expit((x - x50) / scale)
    g = np.column_stack([-np.ones_like(x) / scale, -(x - x50) / scale**2])
    information = (g * (trials * p * (1 - p))[:, None]).T @ g
    covariance = np.linalg.inv(information)
    return np.sqrt(covariance[0, 0]), transition.WIDTH_FACTOR * np.sqrt(covariance[1, 1])


def test_the_bootstrap_interval_matches_the_fisher_information_and_shrinks_with_trials():
    """The percentile interval's half-lengths agree with 1.96 asymptotic standard errors
    (within 30%) and shrink by about sqrt(8) from 50 to 400 trials per point."""
    rng = np.random.default_rng(3)
    lengths = []
    for trials in (50, 400):
        x, outcomes = synthetic(2.0, 0.4, trials, seed=trials)
        x50, scale = transition.fit_logistic(x, outcomes.sum(axis=1), np.full(len(x), trials))
        (low, high), (width_low, width_high) = transition.bootstrap(x, outcomes, rng, resamples=300)
        se_x50, se_width = fisher_standard_errors(x, np.full(len(x), trials), x50, scale)
        assert (high - low) / 2 == pytest.approx(1.96 * se_x50, rel=0.3)
        assert (width_high - width_low) / 2 == pytest.approx(1.96 * se_width, rel=0.3)
        lengths.append(high - low)
    assert lengths[1] == pytest.approx(lengths[0] / np.sqrt(8), rel=0.35)


def test_failed_trials_are_left_out_of_the_fit():
    x, outcomes = synthetic(2.0, 0.4, trials=200, seed=5)
    holed = outcomes.copy()
    holed[:, ::4] = np.nan
    row = transition.analyse(10, x * 10, holed, seed=1, resamples=20)
    assert row["failed_trials"] == np.isnan(holed).sum() and row["trials"][0] == 150
    assert row["n_star_over_d"] == pytest.approx(2.0, abs=0.05)


def test_the_all_ones_bound_is_centred_at_two_and_sharpens_like_one_over_sqrt_d():
    centre_100, width_100 = transition.bound_transition(100)
    centre_400, width_400 = transition.bound_transition(400)
    assert centre_100 == pytest.approx(2.0, abs=0.01) and centre_400 == pytest.approx(2.0, abs=0.005)
    assert width_100 / width_400 == pytest.approx(2.0, rel=0.1)


def test_the_fine_grid_spans_the_pilot_transition():
    pilot_n = np.arange(50, 151, 10)
    rate = np.array([0, 0, 0, 0, 0.1, 0.6, 0.9, 1, 1, 1, 1])
    grid = transition.fine_grid(50, pilot_n, rate)
    assert grid[0] == 80 and grid[-1] == 120 and np.all(np.diff(grid) == 2)
    assert transition.fine_grid(50, pilot_n, np.zeros(11)) is None


def test_a_small_run_puts_the_skip_threshold_near_two(tmp_path):
    """d = 10 and 16, 30 trials per n: the 50% point of (12)'s recovery lies near n = 2d
    (Wendel's bound alone would allow it anywhere right of 2d)."""
    result = run_script("transition.py", "--ds", "10", "16", "--sample", "30", "--bootstrap", "50", "--jobs", "2",
                        "--save_folder", str(tmp_path))
    summary = json.loads((tmp_path / "transition_skip.json").read_text())
    assert [row["d"] for row in summary["rows"]] == [10, 16]
    for row in summary["rows"]:
        low, high = row["n_star_over_d_95"]
        assert low <= row["n_star_over_d"] <= high
        assert 1.7 < row["n_star_over_d"] < 2.4
        assert row["failed_trials"] == 0 and sum(row["successes"]) > 0
    assert (tmp_path / "transition_skip.png").exists() and "n*/d" in result.stdout


@pytest.mark.parametrize("flags, named", [(["--experiment", "plain"], "--experiment"), (["--neu", "2"], "--neu"),
                                          (["--ds", "1"], "--ds"), (["--ratio_max", "0.5"], "--ratio_max")])
def test_bad_flags_are_one_line_errors(flags, named, tmp_path):
    result = run_script("transition.py", *flags, "--save_folder", str(tmp_path), check=False)
    assert result.returncode != 0 and named in result.stderr and len(result.stderr.strip().splitlines()) == 1
