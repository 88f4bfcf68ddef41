"""Every script's arrays on a small grid against the values recorded in
tests/data/recorded_results.json, on any CPU: outcomes and counts (recovered or not, a
condition holding, active neurons) exactly, continuous values (distances, kernel
measures, objective values) to the tolerance of their family (TOLERANCES), NaN where NaN
was recorded.

Why not byte for byte: the arrays are bit-identical run to run on one machine (resume,
worker count, Dask against local: tests/test_runner.py), but the math libraries pick
their code path by CPU, and another path rounds otherwise. So this file runs each script
under the settings another CPU would select too (MATH_SETTINGS), and a digest is only
ever compared on one machine:

    python tests/test_recorded_results.py --baseline DIR   # this machine's arrays, before a refactoring
    python tests/test_recorded_results.py --against DIR    # after it: byte for byte, file by file
    python tests/test_recorded_results.py --record         # the recorded values anew (an intended change only)

The tolerances, from the largest differences measured on one machine across
MATH_SETTINGS and OpenBLAS's kernels (OPENBLAS_CORETYPE Haswell, SandyBridge, Prescott;
docs/running.md has the table):
- convex solves and closed forms: rtol 1e-5, atol 1e-7. The solver stops at a relative
  gap of 1e-7, so another rounding path can stop it an iterate apart: measured 9.4e-7
  relative at most (the lasso under Prescott's kernels), 2.2e-7 for the training forms.
- trained networks: rtol 2e-3, atol 1e-4. Twenty AdamW steps of a nonconvex net amplify
  a rounding difference: MKL_CBWR=AVX moved a normalisation net's test distance by 2.05e-4
  (3e-4 relative). That is still 50 times finer than the maps' colour levels (0.1).
"""

import json
import os
import sys

import numpy as np
import pytest

from conftest import ROOT, run_script

RECORDED = os.path.join(ROOT, "tests", "data", "recorded_results.json")
TOLERANCES = {"trained": (2e-3, 1e-4), "solved": (1e-5, 1e-7)}  # (rtol, atol) of continuous arrays
# arrays of outcomes and counts, by file-name prefix: compared exactly
DISCRETE = ("rec_", "nic_", "prob_", "num_active_", "transition_", "failure_split_rec_", "failure_split_active_",
            "failure_split_all_ones_")
# the math-library settings another CPU would select: each run is repeated under them
MATH_SETTINGS = {"default": {}, "MKL_CBWR=AVX": {"MKL_CBWR": "AVX"}, "MKL_CBWR=SSE4_2": {"MKL_CBWR": "SSE4_2"},
                 "MKL_ENABLE_INSTRUCTIONS=AVX2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"}}
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


def arrays(name, folder, environment=None):
    """{file name: array} of every .npy the run writes (details and figures aside)."""
    run_script(*RUNS[name], "--save_folder", str(folder), environment=environment)
    return {entry: np.load(os.path.join(folder, entry)) for entry in sorted(os.listdir(folder))
            if entry.endswith(".npy")}


def recorded():
    with open(RECORDED) as stream:
        table = json.load(stream)
    return {name: {entry: np.array(values, dtype=np.float64) for entry, values in files.items()}
            for name, files in table.items()}


def tolerance(entry):
    """(rtol, atol) of a continuous array, by the family its file name says."""
    return TOLERANCES["trained" if "_ncvx_train_" in entry else "solved"]


def disagreements(expected, found):
    """How the arrays found differ from the recorded ones, one phrase per file ([] when they agree)."""
    if sorted(expected) != sorted(found):
        return [f"files {sorted(found)}, recorded {sorted(expected)}"]
    problems = []
    for entry, want in expected.items():
        got = np.asarray(found[entry], dtype=np.float64)
        if got.shape != want.shape:
            problems.append(f"{entry}: shape {got.shape}, recorded {want.shape}")
        elif not np.array_equal(np.isnan(got), np.isnan(want)):
            problems.append(f"{entry}: NaN at {np.argwhere(np.isnan(got) != np.isnan(want)).tolist()}")
        elif entry.startswith(DISCRETE):
            if not np.array_equal(got, want, equal_nan=True):
                problems.append(f"{entry}: outcomes differ at {np.argwhere(got != want).tolist()}")
        elif not np.allclose(got, want, *tolerance(entry), equal_nan=True):
            rtol, atol = tolerance(entry)
            worst = np.nanmax(np.abs(got - want) / (atol + rtol * np.abs(want)))
            problems.append(f"{entry}: off by {worst:.3g} x the tolerance")
    return problems


@pytest.mark.parametrize("setting", MATH_SETTINGS)
@pytest.mark.parametrize("name", RUNS)
def test_arrays_match_the_recorded_values(name, setting, tmp_path):
    found = arrays(name, tmp_path, MATH_SETTINGS[setting])
    assert found and not disagreements(recorded()[name], found), disagreements(recorded()[name], found)


def test_the_comparison_can_fail():
    """A recorded outcome flipped, a distance moved by 1e-4 relative, a NaN moved: each is caught."""
    table = recorded()
    outcomes = {entry: values.copy() for entry, values in table["rec_rate_skip"].items()}
    entry = next(iter(outcomes))
    flipped = {entry: outcomes[entry].copy()}
    flipped[entry].flat[0] = 1 - flipped[entry].flat[0]
    assert disagreements(outcomes, flipped) and not disagreements(outcomes, outcomes)
    distances = table["minnrm_skip"]
    entry = next(e for e in distances if e.startswith("dis_abs"))
    moved = dict(distances, **{entry: distances[entry] * (1 + 1e-4) + 1e-6})
    assert disagreements(distances, moved)
    within = dict(distances, **{entry: distances[entry] * (1 + 1e-6)})
    assert not disagreements(distances, within)
    nan = dict(distances, **{entry: np.where(np.arange(distances[entry].size).reshape(distances[entry].shape) == 0,
                                             np.nan, distances[entry])})
    assert disagreements(distances, nan)


def main(argv):
    import pathlib
    import tempfile

    commands = {"--record": 1, "--baseline": 2, "--against": 2}
    if not argv or commands.get(argv[0]) != len(argv):
        sys.exit("usage: python tests/test_recorded_results.py --record | --baseline DIR | --against DIR")
    table, problems = {}, []
    for name in RUNS:
        with tempfile.TemporaryDirectory() as folder:
            found = arrays(name, pathlib.Path(folder))
            if argv[0] == "--record":
                table[name] = {entry: array.tolist() for entry, array in found.items()}
            elif argv[0] == "--baseline":
                os.makedirs(os.path.join(argv[1], name), exist_ok=True)
                for entry, array in found.items():
                    np.save(os.path.join(argv[1], name, entry), array)
            else:
                for entry, array in found.items():
                    baseline = os.path.join(argv[1], name, entry)
                    same = os.path.exists(baseline) and np.load(baseline).tobytes() == array.tobytes()
                    problems += [] if same else [f"{name}: {entry} is not byte-identical to {baseline}"]
            print(name, len(found), "arrays")
    if argv[0] == "--record":
        with open(RECORDED, "w") as stream:
            json.dump(table, stream, indent=1, sort_keys=True)
            stream.write("\n")
    print("\n".join(problems) or "byte-identical" * (argv[0] == "--against"))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main(sys.argv[1:])
