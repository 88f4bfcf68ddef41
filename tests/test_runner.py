"""The grid runner: order- and worker-independent results, resumable runs, bad input."""

import json
import os

import numpy as np
import pytest

import common
import rec_rate_skip
from conftest import run_script


def parse(folder, *extra):
    parser = common.make_parser("test")
    arguments = ["--n", "30", "--d", "20", "--sample", "2", "--optw", "0", "--save_folder", str(folder), *extra]
    return common.validate(parser, parser.parse_args(arguments), noiseless=True)


def run(args, work=rec_rate_skip.trial):
    return common.run_grid(args, {"rec": "rec_rate_skip"}, work, "rec_rate_skip", with_sigma=False)["rec"]


def test_same_arrays_whatever_the_worker_count(tmp_path):
    serial = run(parse(tmp_path / "serial", "--jobs", "1"))
    parallel = run(parse(tmp_path / "parallel", "--jobs", "2"))
    assert serial.shape == (3, 2, 2)
    np.testing.assert_array_equal(serial, parallel)
    assert np.isin(serial, [0.0, 1.0]).all()


class Interrupted(Exception):
    pass


def test_interrupted_run_resumes_to_the_same_arrays(tmp_path):
    reference = run(parse(tmp_path / "whole", "--jobs", "1"))
    calls = []

    def dies_on_fifth_trial(n, d, rng, args):
        calls.append((n, d))
        if len(calls) == 5:
            raise KeyboardInterrupt
        return rec_rate_skip.trial(n, d, rng, args)

    folder = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        run(parse(folder, "--jobs", "1"), dies_on_fifth_trial)
    with open(folder / "rec_rate_skip_n30_d20_w0_X0_sample2.json") as stream:
        sidecar = json.load(stream)
    assert not sidecar["complete"] and sidecar["done"].count("1") == 4

    calls.clear()

    def counts_trials(n, d, rng, args):
        calls.append((n, d))
        return rec_rate_skip.trial(n, d, rng, args)

    resumed = run(parse(folder, "--jobs", "1", "--resume"), counts_trials)
    assert len(calls) == 12 - 4  # only the unfinished trials ran
    np.testing.assert_array_equal(resumed, reference)
    with open(folder / "rec_rate_skip_n30_d20_w0_X0_sample2.json") as stream:
        sidecar = json.load(stream)
    assert sidecar["complete"] and "done" not in sidecar
    assert sum(sidecar["status_counts"].values()) == 12


def test_resume_refuses_other_arguments(tmp_path):
    run(parse(tmp_path, "--jobs", "1"))
    parser = common.make_parser("test")
    args = common.validate(parser, parser.parse_args(
        ["--n", "30", "--d", "20", "--sample", "2", "--optw", "0", "--seed", "1", "--save_folder", str(tmp_path),
         "--resume"]), noiseless=True)
    with pytest.raises(SystemExit, match="--seed"):
        run(args)


BAD_INPUT = [
    (["--n", "5"], "--n"),
    (["--d", "45"], "--d"),
    (["--n", "30", "--d", "0"], "--d"),
    (["--optx", "7"], "--optx"),
    (["--optw", "3"], "--optw"),
    (["--solver", "NOSUCH"], "--solver"),
    (["--sigma", "-0.1"], "--sigma"),
    (["--sample", "0"], "--sample"),
    (["--jobs", "0"], "--jobs"),
    (["--seed", "-1"], "--seed"),
    (["--save_details", "maybe"], "--save_details"),
]


@pytest.mark.parametrize("script", ["minnrm_skip.py", "cvx_train_skip.py"])
@pytest.mark.parametrize("flags, flag", BAD_INPUT[:4] + BAD_INPUT[6:7])
def test_bad_input_fails_fast_with_one_line(script, flags, flag, tmp_path):
    check_bad_input(script, flags, flag, tmp_path)


@pytest.mark.parametrize("flags, flag", BAD_INPUT)
def test_bad_input_rec_rate(flags, flag, tmp_path):
    check_bad_input("rec_rate_skip.py", flags, flag, tmp_path)


def test_bad_input_noise_in_recovery_script_and_unwritable_folder(tmp_path):
    check_bad_input("rec_rate_skip.py", ["--sigma", "0.1"], "--sigma", tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    check_bad_input("rec_rate_skip.py", ["--save_folder", str(blocker / "results")], "--save_folder", tmp_path)
    check_bad_input("cvx_train_skip.py", ["--beta", "-1"], "--beta", tmp_path)


def check_bad_input(script, flags, flag, tmp_path):
    folder = tmp_path / "out"
    arguments = ["--n", "20", "--d", "10", "--sample", "1", "--save_folder", str(folder), *flags]
    if "--save_folder" in flags:
        arguments = arguments[:6] + flags
    result = run_script(script, *arguments, check=False)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()
    assert len(message) == 1 and flag in message[0], result.stderr
    assert not (folder.exists() and any(folder.glob("*.npy")))  # nothing ran
