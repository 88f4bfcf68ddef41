"""Every script's arrays on a small grid, byte for byte, against digests recorded before
a refactoring (tests/data/array_digests.json): a change of structure must not change a
number. `python tests/test_byte_identity.py --record` records the digests anew (only when
a change of results is intended, and said so in its commit)."""

import hashlib
import json
import os
import sys

import pytest

from conftest import ROOT, run_script

DIGESTS = os.path.join(ROOT, "tests", "data", "array_digests.json")
SMALL = ["--n", "30", "--d", "20", "--sample", "2", "--jobs", "1"]
RUNS = {  # name: the script and its flags; every array the run writes is compared
    "rec_rate_skip": ["rec_rate_skip.py", *SMALL, "--optw", "0"],
    "rec_rate_skip_11": ["rec_rate_skip.py", *SMALL, "--program", "11"],
    "minnrm_skip": ["minnrm_skip.py", *SMALL, "--sigma", "0.1"],
    "cvx_train_skip": ["cvx_train_skip.py", *SMALL, "--sigma", "0.1"],
    "rec_rate_norm": ["rec_rate_norm.py", *SMALL, "--neu", "2"],
    "minnrm_norm": ["minnrm_norm.py", *SMALL, "--sigma", "0.1"],
    "cvx_train_norm": ["cvx_train_norm.py", *SMALL, "--sigma", "0.1", "--neu", "1"],
    "nic_norm": ["nic_norm.py", *SMALL],
    "ncvx_train_skip": ["ncvx_train_skip.py", *SMALL, "--sigma", "0.1", "--epochs", "20"],
    "ncvx_train_norm": ["ncvx_train_norm.py", *SMALL, "--sigma", "0.1", "--epochs", "20"],
    "lasso_skip": ["lasso_skip.py", *SMALL, "--lam_num", "3"],
    "prob_mixture": ["prob_mixture.py", "--n", "20", "--d", "4", "--d_step", "2", "--s_max", "2", "--sample", "50",
                     "--optmu", "2", "--jobs", "1"],
    "kernel_measure": ["kernel_measure.py", *SMALL, "--sigma", "0.1"],
    "transition": ["transition.py", "--ds", "10", "--sample", "3", "--pilot_sample", "2", "--bootstrap", "10",
                   "--jobs", "1"],
    "failure_split": ["failure_split.py", "--ds", "10", "--sample", "2", "--jobs", "1"],
}


def digests(name, folder):
    """{file name: sha256} of every .npy a run writes (details and figures aside)."""
    command = RUNS[name]
    run_script(*command, "--save_folder", str(folder))
    return {entry: hashlib.sha256((folder / entry).read_bytes()).hexdigest()
            for entry in sorted(os.listdir(folder)) if entry.endswith(".npy")}


@pytest.mark.parametrize("name", RUNS)
def test_arrays_are_byte_identical_to_the_recorded_ones(name, tmp_path):
    with open(DIGESTS) as stream:
        recorded = json.load(stream)[name]
    assert digests(name, tmp_path) == recorded


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    import pathlib
    import tempfile

    table = {}
    for name in RUNS:
        with tempfile.TemporaryDirectory() as folder:
            table[name] = digests(name, pathlib.Path(folder))
            print(name, len(table[name]), "arrays")
    with open(DIGESTS, "w") as stream:
        json.dump(table, stream, indent=1, sort_keys=True)
        stream.write("\n")
