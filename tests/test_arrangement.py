"""The pattern sets of arrangement.py against the arrangement's mathematics, and the
one-neuron law of (14) over them (docs/math.md, section 8).

- `all` finds exactly 2 sum_{k<d} C(n-1, k) cells for points in general position.
- `neighbours` adds patterns of `all`, and misses none one flip from a planted pattern.
- One planted neuron, whole arrangement: (14) recovers it exactly when its pattern has
  at least d rows, and below that the planted model ties with another; near-ties where
  it has d rows (common.near_ties) are reported, not counted; `neighbours` decides every
  trial as `all` does. The solve-free certificate (y in no other block's range) is 1
  exactly when the pattern has d rows, and 0 under the sample where the sample holds a
  tying block.
- `--patterns neighbours` on a one-neuron grid follows P(Bin(n, 1/2) >= d) cell by cell,
  by the certificate on the quick grid of Figure 27 and by the solver's entries where
  the margins are not thin.
"""

import json
import os

import numpy as np
import pytest
from scipy.stats import binomtest

import arrangement
import common
import programs
import runner
from conftest import run_script


def gaussian(n, d, seed):
    return np.random.default_rng(seed).standard_normal((n, d))


@pytest.mark.parametrize("d, n", [(2, 3), (2, 9), (3, 4), (3, 8), (3, 13), (4, 5), (4, 9), (4, 12)])
def test_all_counts_every_cell(d, n):
    for seed in range(2):
        X = gaussian(n, d, seed)
        cells = arrangement.all_sign_vectors(X)
        assert len(cells) == arrangement.cell_count(n, d)
        assert len({cell.tobytes() for cell in cells}) == len(cells)
        # every cell has a witness: its sign vector is realisable, one LP each
        assert all(arrangement.realise(X, cell) is not None for cell in cells[:: max(1, len(cells) // 10)])
        # and random directions fall only in these cells
        directions = np.random.default_rng(seed + 10).standard_normal((d, 500))
        sampled = {column.tobytes() for column in np.where(X @ directions >= 0, 1.0, -1.0).T}
        assert sampled <= {cell.tobytes() for cell in cells}


def test_cell_count_closed_form():
    assert arrangement.cell_count(10, 10) == 2**10  # n <= d: every pattern
    assert arrangement.cell_count(3, 2) == 6  # three lines through the origin of the plane
    assert arrangement.cell_count(2 * 5, 5) == 2**9  # half of 2^(n - 1) counted twice at n = 2d


def test_all_refuses_past_its_limit():
    with pytest.raises(ValueError, match="more than 20 cells"):
        arrangement.all_sign_vectors(gaussian(8, 3, 0), limit=20)


@pytest.mark.parametrize("d, n, neu", [(2, 7, 1), (3, 10, 2), (4, 11, 1), (3, 14, 3)])
def test_neighbours_are_the_whole_arrangements_one_flip_patterns(d, n, neu):
    for seed in range(3):
        X = gaussian(n, d, seed)
        planted = np.random.default_rng(seed + 5).standard_normal((d, neu))
        every = {tuple(cell > 0) for cell in arrangement.all_sign_vectors(X)}
        neighbours = {tuple(column > 0) for column in arrangement.planted_neighbours(X, planted).T}
        assert neighbours <= every
        expected = set()
        for w in planted.T:
            pattern = X @ w >= 0
            for j in range(n):
                flipped = pattern.copy()
                flipped[j] = not flipped[j]
                if tuple(flipped) in every and flipped.any():
                    expected.add(tuple(flipped))
        assert neighbours == expected


def test_pattern_sets_share_the_sample():
    X = gaussian(12, 3, 1)
    planted = np.random.default_rng(2).standard_normal((3, 1))
    sampled, _ = arrangement.pattern_set(X, np.random.default_rng(7), "sampled", planted)
    for kind in ("neighbours", "all"):
        patterns, exist_all_one = arrangement.pattern_set(X, np.random.default_rng(7), kind, planted)
        assert np.array_equal(patterns[:, : sampled.shape[1]], sampled)  # the sample first, then what it missed
        assert len({column.tobytes() for column in patterns.T}) == patterns.shape[1]
    # `all`: every cell, but the zero pattern, which exists with the all-ones one
    assert patterns.shape[1] == arrangement.cell_count(12, 3) - exist_all_one


def one_neuron_trial(n, d, seed, kind):
    """(|D_w|, recovered, near-tie, certified) of (14) with one planted Gaussian neuron over `kind`."""
    instance = common.norm_instance(runner.trial_rng(seed, n, d, 0), n, d, optx=0, optw=0, sigma=0.0, neu=1,
                                    pattern_kind=kind)
    program = common.norm_program(instance, "14")
    solution = programs.solve(program, "IPM")
    assert solution.accepted, solution.outcome
    planted_W = common.norm_planted_variable(instance)
    recovered = common.norm_recovered(solution.primal["W"], planted_W)
    margin = programs.dual_margin(program, solution.dual, instance["planted_columns"])
    near_tie = common.near_ties(margin, common.value_gap(solution.primal["W"], planted_W))
    size = int(instance["dmat"][:, instance["planted_columns"][0]].sum())
    certified = common.one_neuron_separation(instance) > common.SEPARATION_TOL
    return size, recovered, bool(near_tie), certified


def test_one_neuron_is_recovered_over_the_whole_arrangement_iff_its_pattern_has_d_rows():
    cells = [(d, n) for d in (2, 3, 4) for n in range(d, 4 * d + 1) if arrangement.cell_count(n, d) <= 500]
    decided = {True: 0, False: 0}
    near_ties = 0
    for seed in range(200):
        d, n = cells[seed % len(cells)]
        size, recovered, near_tie, certified = one_neuron_trial(n, d, seed, "all")
        assert one_neuron_trial(n, d, seed, "neighbours")[1:] == (recovered, near_tie, certified), (n, d, seed)
        assert certified == (size >= d), (n, d, seed, size)
        if size < d:  # a tie: the block of D_w + {k} holds y too, at the same value
            assert not recovered and near_tie, (n, d, seed, size)
        elif near_tie:
            near_ties += 1  # reported, not counted
        else:
            assert recovered, (n, d, seed, size)
        decided[size >= d] += 1
    assert min(decided.values()) >= 50 and near_ties <= 10, (decided, near_ties)


def test_neighbours_follow_the_closed_form_cell_by_cell(tmp_path):
    run_script("rec_rate_norm.py", "--n", "50", "--d", "20", "--sample", "24", "--patterns", "neighbours",
               "--save_folder", str(tmp_path), "--jobs", "2")
    stem = "n50_d20_w0_X0_neu1_sample24_patterns-neighbours"
    rec = np.load(tmp_path / f"rec_rate_norm_{stem}.npy")
    certified = np.load(tmp_path / f"certified_rec_rate_norm_{stem}.npy")
    sidecar = json.loads((tmp_path / f"rec_rate_norm_{stem}.json").read_text())
    assert sidecar["args"]["patterns"] == "neighbours"
    assert os.path.exists(tmp_path / f"margin_rec_rate_norm_{stem}.npy")
    assert os.path.exists(tmp_path / f"value_gap_rec_rate_norm_{stem}.npy")
    checked = 0
    for i, n in enumerate(runner.grid(50)):
        for j, d in enumerate(runner.grid(20)):
            if n < d:
                continue
            assert not np.isnan(rec[i, j]).any()
            expected = float(common.one_neuron_recovery_probability(n, d))
            for decided in (rec[i, j], certified[i, j]):
                assert binomtest(int(decided.sum()), rec.shape[2], expected).pvalue > 1e-3, (n, d, decided, expected)
            checked += 1
    assert checked == 9
    # the sample's program recovers where the closed form says (14) cannot: (n, d) = (30, 20)
    run_script("rec_rate_norm.py", "--n", "30", "--d", "20", "--sample", "24", "--save_folder", str(tmp_path),
               "--jobs", "2")
    rec = np.load(tmp_path / "rec_rate_norm_n30_d20_w0_X0_neu1_sample24.npy")
    assert np.mean(rec[2, 1]) > 0.5 > 0.05 > common.one_neuron_recovery_probability(30, 20)


def test_patterns_all_is_refused_past_its_limit_before_any_work(tmp_path):
    result = run_script("rec_rate_norm.py", "--n", "30", "--d", "10", "--patterns", "all", "--save_folder",
                        str(tmp_path / "out"), check=False)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "--patterns all: the arrangement of n = 30 points in d = 10 has" in result.stderr
    assert "--patterns neighbours" in result.stderr
    assert not os.path.exists(tmp_path / "out")
