"""The grid runner: one atomic state per run, kill -9 and resume, failed trials as
results, Dask, provenance, order- and worker-independent results, bad input."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import common
import rec_rate_skip
import runner
from conftest import ROOT, run_script


def parse(folder, *extra):
    arguments = ["--n", "30", "--d", "20", "--sample", "2", "--optw", "0", "--save_folder", str(folder), *extra]
    return rec_rate_skip.parse(arguments)


def run(args, work=rec_rate_skip.trial):
    return runner.run_grid(args, {"rec": "rec_rate_skip"}, work, "rec_rate_skip", with_sigma=False,
                           neutral_flags=rec_rate_skip.NEUTRAL_FLAGS, tolerances=common.TOLERANCES)["rec"]


def sidecar_of(folder, stem):
    with open(os.path.join(folder, stem + ".json")) as stream:
        return json.load(stream)


def test_same_arrays_whatever_the_worker_count(tmp_path):
    serial = run(parse(tmp_path / "serial", "--jobs", "1"))
    parallel = run(parse(tmp_path / "parallel", "--jobs", "2"))
    assert serial.shape == (3, 2, 2)
    np.testing.assert_array_equal(serial, parallel)
    assert np.isin(serial, [0.0, 1.0]).all()


# --------------------------------------------------------------------------- kill -9 and resume

# (script, flags, stems): a one-array and a two-array script, runs of a few seconds
KILLED_RUNS = [
    ("rec_rate_skip.py", ["--n", "100", "--d", "30", "--sample", "3", "--optw", "0"],
     ["rec_rate_skip_n100_d30_w0_X0_sample3"]),
    ("minnrm_skip.py", ["--n", "60", "--d", "30", "--sample", "3", "--sigma", "0.1"],
     ["dis_abs_minnrm_skip_n60_d30_w1_X0_sig0.1_sample3", "dis_test_minnrm_skip_n60_d30_w1_X0_sig0.1_sample3"]),
]


def start(script, flags, folder, *extra):
    return subprocess.Popen([sys.executable, script, *flags, "--jobs", "2", "--save_folder", str(folder), *extra],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONWARNINGS="ignore"))


def kill_when_saved(process, state_path, extra_delay):
    """SIGKILL the run once its state file exists (plus extra_delay s); False if it finished first."""
    deadline = time.time() + 120
    while not os.path.exists(state_path) and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(extra_delay)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return True


@pytest.mark.parametrize("script, flags, stems", KILLED_RUNS)
def test_sigkill_then_resume_gives_the_uninterrupted_arrays(script, flags, stems, tmp_path):
    """A real kill -9, after the first saved unit and again at random moments, then
    --resume: every array bit-identical to an uninterrupted run's."""
    run_script(script, *flags, "--jobs", "2", "--save_folder", str(tmp_path / "whole"))
    folder = tmp_path / "killed"
    state_path = folder / (stems[0].replace("dis_abs_", "") + ".state.npz")
    rng = random.Random(0)
    kills = 0
    for attempt, delay in enumerate([0.0, rng.uniform(0.2, 1.0), rng.uniform(0.2, 1.0)]):
        process = start(script, flags, folder, *(["--resume"] if attempt else []))
        kills += kill_when_saved(process, state_path, delay)
    assert kills >= 2
    with open(state_path, "rb"):  # the state survived every kill
        pass
    run_script(script, *flags, "--jobs", "2", "--save_folder", str(folder), "--resume")
    assert not list(folder.glob("*.part"))  # the killed writers' leftovers are gone
    for stem in stems:
        assert (folder / f"{stem}.npy").read_bytes() == (tmp_path / "whole" / f"{stem}.npy").read_bytes()
        sidecar = sidecar_of(folder, stem)
        assert sidecar["complete"] and sidecar["trials_done"] == np.prod(sidecar["shape"])
        assert len(sidecar["runs"]) >= 2 and sidecar["wall_time_s"] == pytest.approx(
            sum(r["wall_s"] for r in sidecar["runs"]), abs=0.01)


def test_stale_part_files_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".x.npy.{dead.pid}.k2j3h4.part"  # as atomic_write names them
    live = tmp_path / f".y.npy.{os.getppid()}.q8w7e6.part"
    foreign = tmp_path / "tmpabc.part"
    for path in (stale, live, foreign):
        path.write_bytes(b"")
    assert sorted(runner.remove_stale_parts(str(tmp_path))) == sorted([stale.name, foreign.name])
    assert live.exists() and not stale.exists()


# --------------------------------------------------------------------------- failed trials


def test_a_trial_that_raises_is_recorded_and_the_grid_goes_on(tmp_path):
    reference = run(parse(tmp_path / "reference", "--jobs", "1"))

    def fails_at_20_20(n, d, rng, args):
        if (n, d) == (20, 20):
            raise RuntimeError("all-ones LP failed: numerical trouble\nsecond line")
        return rec_rate_skip.trial(n, d, rng, args)

    folder = tmp_path / "failing"
    with pytest.raises(SystemExit) as stop:
        run(parse(folder, "--jobs", "2"), fails_at_20_20)
    assert stop.value.code == runner.FAILED_TRIALS_EXIT
    arrays = np.load(folder / "rec_rate_skip_n30_d20_w0_X0_sample2.npy")
    failed = np.zeros(arrays.shape, bool)
    failed[1, 1] = True
    assert np.isnan(arrays[failed]).all()
    np.testing.assert_array_equal(arrays[~failed], reference[~failed])
    sidecar = sidecar_of(folder, "rec_rate_skip_n30_d20_w0_X0_sample2")
    assert not sidecar["complete"] and sidecar["trials_done"] == arrays.size and sidecar["trials_failed"] == 2
    assert sidecar["status_counts"]["error: RuntimeError: all-ones LP failed: numerical trouble"] == 2
    log = (folder / sidecar["errors_log"]).read_text()
    assert log.count("Traceback") == 2 and "fails_at_20_20" in log

    # --resume alone keeps them; --retry-failed runs them again
    calls = []

    def counts(n, d, rng, args):
        calls.append((n, d))
        return rec_rate_skip.trial(n, d, rng, args)

    with pytest.raises(SystemExit):  # still failed
        run(parse(folder, "--jobs", "1", "--resume"), counts)
    assert calls == []
    retried = run(parse(folder, "--jobs", "1", "--resume", "--retry-failed"), counts)
    assert calls == [(20, 20), (20, 20)]
    np.testing.assert_array_equal(retried, reference)
    assert sidecar_of(folder, "rec_rate_skip_n30_d20_w0_X0_sample2")["trials_failed"] == 0
    assert sidecar_of(folder, "rec_rate_skip_n30_d20_w0_X0_sample2")["complete"]
    # --overwrite discards the run, its tracebacks with it
    assert (folder / sidecar["errors_log"]).exists()
    run(parse(folder, "--jobs", "1", "--overwrite"))
    assert not (folder / sidecar["errors_log"]).exists()


# --------------------------------------------------------------------------- resume edge cases and provenance


def test_resume_refuses_other_arguments_and_accepts_the_same_solver_spelled_otherwise(tmp_path):
    run(parse(tmp_path, "--jobs", "1"))
    with pytest.raises(SystemExit, match="--seed"):
        run(parse(tmp_path, "--jobs", "1", "--seed", "1", "--resume"))
    resumed = run(parse(tmp_path, "--jobs", "1", "--solver", "IPM", "--resume"))
    assert resumed.shape == (3, 2, 2)


def test_resume_errors_are_one_line(tmp_path):
    run(parse(tmp_path, "--jobs", "1"))
    state = tmp_path / "rec_rate_skip_n30_d20_w0_X0_sample2.state.npz"
    state.write_bytes(b"not a zip file")
    result = run_script("rec_rate_skip.py", "--n", "30", "--d", "20", "--sample", "2", "--optw", "0",
                        "--save_folder", str(tmp_path), "--resume", check=False)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "not a readable run state" in result.stderr
    state.unlink()  # the sidecar and array remain, without the state they derive from
    result = run_script("rec_rate_skip.py", "--n", "30", "--d", "20", "--sample", "2", "--optw", "0",
                        "--save_folder", str(tmp_path), "--resume", check=False)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "run state" in result.stderr


def test_retry_failed_needs_resume(tmp_path):
    check_bad_input("rec_rate_skip.py", ["--retry-failed"], "--retry-failed", tmp_path)
    check_bad_input("rec_rate_skip.py", ["--scheduler", "nowhere"], "--scheduler", tmp_path)


def test_sidecar_provenance(tmp_path):
    run(parse(tmp_path, "--jobs", "1"))
    sidecar = sidecar_of(tmp_path, "rec_rate_skip_n30_d20_w0_X0_sample2")
    provenance = sidecar["provenance"]
    assert provenance["started_utc"].endswith("+00:00") and provenance["host"]
    assert provenance["git_commit"] is None or len(provenance["git_commit"]) == 40
    assert sidecar["tolerances"]["structured_solver"]["gap"] == 1e-7
    assert sidecar["tolerances"]["recovery_atol"] == 1e-4
    assert len(sidecar["runs"]) == 1 and sidecar["runs"][0]["trials"] == 12
    assert sidecar["state"] == "rec_rate_skip_n30_d20_w0_X0_sample2.state.npz"


# --------------------------------------------------------------------------- Dask


@pytest.fixture
def dask_cluster():
    """A scheduler and two worker processes on 127.0.0.1, stopped afterwards."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=40)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close(timeout=30)


def test_dask_runs_give_the_local_arrays_also_when_interrupted(tmp_path, dask_cluster):
    script, flags, stems = KILLED_RUNS[1]
    run_script(script, *flags, "--jobs", "1", "--save_folder", str(tmp_path / "local"))
    run_script(script, *flags, "--scheduler", dask_cluster, "--save_folder", str(tmp_path / "dask"))
    folder = tmp_path / "dask_killed"
    process = subprocess.Popen([sys.executable, script, *flags, "--scheduler", dask_cluster,
                                "--save_folder", str(folder)], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert kill_when_saved(process, folder / (stems[0].replace("dis_abs_", "") + ".state.npz"), 0.05)
    run_script(script, *flags, "--scheduler", dask_cluster, "--save_folder", str(folder), "--resume")
    for stem in stems:
        local = (tmp_path / "local" / f"{stem}.npy").read_bytes()
        assert (tmp_path / "dask" / f"{stem}.npy").read_bytes() == local
        assert (folder / f"{stem}.npy").read_bytes() == local
    assert sidecar_of(tmp_path / "dask", stems[0])["runs"][0]["engine"] == f"dask {dask_cluster}"


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
