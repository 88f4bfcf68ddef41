"""The failure split (failure_split.py): with the all-ones pattern (12) never recovers;
with a random planted neuron and n >= 3d it never fails without it; the intervals are
Clopper-Pearson's."""

import json

import numpy as np
import pytest
from scipy.stats import binomtest

import failure_split
from conftest import run_script


def test_failures_split_by_the_all_ones_pattern(tmp_path):
    run_script("failure_split.py", "--ds", "10", "--optws", "0", "--ratio_max", "4", "--sample", "10", "--jobs", "1",
               "--save_folder", str(tmp_path))
    row = json.loads((tmp_path / "failure_split.json").read_text())["table"]["0"]["10"]
    with_all_ones, without = row["with_all_ones"], row["without_all_ones"]
    assert with_all_ones["trials"] > 0 and with_all_ones["failures"] == with_all_ones["trials"]
    n = np.array(row["n"])
    assert without["trials"] > 50 and row["unsolved"] == 0
    assert sum(np.array(without["per_n_failures"])[n >= 30]) == 0
    assert sum(np.array(without["per_n_trials"])[n >= 30]) > 50
    assert (tmp_path / "failure_split.png").exists()


@pytest.mark.parametrize("failures, trials", [(0, 20), (3, 20), (20, 20), (41, 98)])
def test_the_interval_is_clopper_pearson(failures, trials):
    expected = binomtest(failures, trials).proportion_ci(0.95, method="exact")
    np.testing.assert_allclose(failure_split.clopper_pearson(failures, trials), [expected.low, expected.high],
                               atol=1e-9)
