"""Nothing a user does loses a finished run, every number comes from the code that claims
it, and every refusal is one line: the real scripts, driven in subprocesses."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from test_processes import launch, message_lines, wait_for

import runner
from conftest import ROOT

SMALL = ["--n", "30", "--d", "20", "--sample", "2", "--optw", "0", "--jobs", "1"]
SMALL_STEM = "rec_rate_skip_n30_d20_w0_X0_sample2"


def finish(*arguments, timeout=300):
    run = launch(*arguments)
    out, error = run.communicate(timeout=timeout)
    return run.returncode, out, error


def test_rerunning_a_finished_run_without_resume_keeps_every_trial(tmp_path):
    flags = ["minnrm_skip.py", "--n", "100", "--d", "50", "--sample", "8", "--optw", "1", "--sigma", "0.1",
             "--jobs", "2", "--save_folder", str(tmp_path)]
    stem = "dis_abs_minnrm_skip_n100_d50_w1_X0_sig0.1_sample8"
    assert finish(*flags)[0] == 0
    finished = (tmp_path / f"{stem}.npy").read_bytes()
    again = launch(*flags)  # the same command from the shell's history, then Ctrl-C
    # it derives the arrays again and exits by itself, in about a second on an idle machine;
    # under load the interpreter's start-up alone took over 2 s and the Ctrl-C came first
    assert wait_for(lambda: again.poll() is not None, 30) or again.send_signal(signal.SIGINT) is None
    out, error = again.communicate(timeout=60)
    assert again.returncode in (0, 130), error
    assert "complete: all 400 trials were done" in out, out
    assert (tmp_path / f"{stem}.npy").read_bytes() == finished
    sidecar = json.loads((tmp_path / f"{stem}.json").read_text())
    assert sidecar["trials_done"] == 400 and sidecar["complete"]
    # only --overwrite starts afresh, saying what it discards
    code, out, _ = finish(*flags[:-2], "--save_folder", str(tmp_path), "--overwrite", "--seed", "5")
    assert code == 0 and "--overwrite: discarding" in out and "400 of 400 trials" in out, out


def test_arrays_without_their_state_are_not_replaced_without_overwrite(tmp_path):
    assert finish("rec_rate_skip.py", *SMALL, "--save_folder", str(tmp_path))[0] == 0
    (tmp_path / f"{SMALL_STEM}.state.npz").unlink()
    code, _, error = finish("rec_rate_skip.py", *SMALL, "--save_folder", str(tmp_path))
    assert code == 1 and len(message_lines(error)) == 1 and "without its run state" in error, error


def test_sigma_minus_zero_is_zero_and_an_unusable_sigma_is_refused(tmp_path):
    for sigma in ("-0", "0"):
        assert finish("minnrm_skip.py", *SMALL, "--sigma", sigma, "--save_folder", str(tmp_path / sigma))[0] == 0
    assert sorted(os.listdir(tmp_path / "-0")) == sorted(os.listdir(tmp_path / "0"))
    assert any("sig0_" in name for name in os.listdir(tmp_path / "0"))
    code, _, error = finish("minnrm_skip.py", *SMALL, "--sigma", "1e300", "--save_folder", str(tmp_path / "big"))
    assert code == 2 or code == 1
    assert len(message_lines(error)) == 1 and "--sigma must be a number from 0 to 100" in error, error


def test_a_run_whose_every_trial_failed_its_check_exits_non_zero(tmp_path, monkeypatch):
    import rec_rate_skip

    args = rec_rate_skip.parse([*SMALL, "--save_folder", str(tmp_path)])

    def unsolved(n, d, rng, args):
        return runner.TrialResult({"rec": np.nan}, "optimal_inaccurate (failed check)")

    with pytest.raises(SystemExit) as stop:
        runner.run_script(rec_rate_skip, args, unsolved, "rec_rate_skip")
    assert stop.value.code == runner.NO_RESULT_EXIT


def test_a_grid_too_large_for_memory_is_refused_before_any_work(tmp_path):
    code, _, error = finish("rec_rate_skip.py", "--sample", "1000000000", "--save_folder", str(tmp_path))
    assert code == 1 and len(message_lines(error)) == 1 and "--sample 1000000000" in error, error
    assert "GiB of memory" in error and not list(tmp_path.glob("*.npz"))


def test_the_sidecar_names_the_folder_it_lives_in(tmp_path):
    assert finish("rec_rate_skip.py", *SMALL, "--save_folder", str(tmp_path / "a"))[0] == 0
    os.rename(tmp_path / "a", tmp_path / "b")
    assert finish("rec_rate_skip.py", *SMALL, "--save_folder", str(tmp_path / "b"))[0] == 0
    sidecar = json.loads((tmp_path / "b" / f"{SMALL_STEM}.json").read_text())
    assert sidecar["args"]["save_folder"] == str(tmp_path / "b") and sidecar["folder"] == str(tmp_path / "b")


# --------------------------------------------------------------------------- crafted states


def crafted(state, how):
    """The state file rewritten with one well-formed but wrong-typed entry."""
    with np.load(state) as stored:
        payload = {key: stored[key] for key in stored.files}
    meta = json.loads(str(payload["meta"]))
    if how == "arguments a list":
        meta["arguments"] = list(meta["arguments"])
    elif how == "runs a dict":
        meta["runs"] = {"0": meta["runs"][0]}
    elif how == "status past its names":
        payload["status"] = payload["status"] + len(meta["status_names"]) + 5
    elif how == "float status":
        payload["status"] = payload["status"].astype(float)
    elif how == "another version's arrays":  # a version whose script wrote no rec array
        payload["metric_margin"] = payload.pop("metric_rec")
        meta["runs"][0]["code_version"] = "source-0000000000000000"
    payload["meta"] = np.array(json.dumps(meta))
    with open(state, "wb") as stream:
        np.savez(stream, **payload)


@pytest.mark.parametrize("how", ["arguments a list", "runs a dict", "status past its names", "float status"])
def test_a_wrong_typed_state_is_one_line(how, tmp_path):
    assert finish("rec_rate_skip.py", *SMALL, "--save_folder", str(tmp_path))[0] == 0
    crafted(tmp_path / f"{SMALL_STEM}.state.npz", how)
    for extra in ([], ["--resume"]):
        code, _, error = finish("rec_rate_skip.py", *SMALL, "--save_folder", str(tmp_path), *extra)
        lines = message_lines(error)
        assert code == 1 and "Traceback" not in error and len(lines) == 1, error
        assert "not a readable run state" in lines[0]


def test_a_state_of_another_versions_arrays_names_the_version(tmp_path):
    """A whole state whose script wrote other arrays (an older code version) is another
    version's run, not a damaged file: the one line says which version and what is missing."""
    assert finish("rec_rate_skip.py", *SMALL, "--save_folder", str(tmp_path))[0] == 0
    crafted(tmp_path / f"{SMALL_STEM}.state.npz", "another version's arrays")
    code, _, error = finish("rec_rate_skip.py", *SMALL, "--save_folder", str(tmp_path))
    lines = message_lines(error)
    assert code == 1 and "Traceback" not in error and len(lines) == 1, error
    assert "made by another code version (source-0000000000000000, not source-" in lines[0], lines
    assert "it has no rec array" in lines[0] and "--overwrite" in lines[0], lines


# --------------------------------------------------------------------------- figures.py reads the state


FIG6_FIRST = ["rec_rate_skip.py", "--optw", "0", "--optx", "0", "--n", "100", "--d", "50", "--sample", "3"]
FIG6_STEM = "rec_rate_skip_n100_d50_w0_X0_sample3"


def test_an_edited_sidecar_does_not_make_figures_compose_another_run(tmp_path):
    results = tmp_path / "results"
    assert finish(*FIG6_FIRST, "--seed", "5", "--save_folder", str(results))[0] == 0
    sidecar_path = results / f"{FIG6_STEM}.json"
    sidecar = json.loads(sidecar_path.read_text())
    sidecar["seed"] = sidecar["args"]["seed"] = runner.SEED
    sidecar_path.write_text(json.dumps(sidecar))
    code, _, error = finish("figures.py", "fig6", "--scale", "quick", "--results", str(results),
                            "--out", str(tmp_path / "png"))
    assert code == 1 and "--seed 5 (not 97006855)" in error and "Traceback" not in error, error
    assert not (tmp_path / "png").exists()


def test_a_nan_array_under_a_complete_sidecar_is_rebuilt_from_the_state(tmp_path):
    results = tmp_path / "results"
    assert finish(*FIG6_FIRST, "--save_folder", str(results))[0] == 0
    array = results / f"{FIG6_STEM}.npy"
    made = array.read_bytes()
    np.save(array, np.full(np.load(array).shape, np.nan))  # as a kill between array and sidecar leaves it
    code, out, error = finish("figures.py", "fig6", "--scale", "quick", "--results", str(results),
                              "--out", str(tmp_path / "png"))
    assert code == 0, error
    assert "array_sha256 differs" in out and "deriving both again" in out, out
    assert array.read_bytes() == made and (tmp_path / "png" / "fig6_quick.png").exists()


def test_figures_read_a_read_only_results_folder_of_complete_runs(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs read-only needs root")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(results)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    flags = ["figures.py", "fig6", "--scale", "quick", "--results", str(results)]
    try:
        assert finish(*flags, "--out", str(tmp_path / "first"))[0] == 0
        assert subprocess.run(["mount", "-o", "remount,ro", str(results)]).returncode == 0
        code, out, error = finish(*flags, "--out", str(tmp_path / "again"))
        assert code == 0 and "rec_rate_skip.py" not in out, (out, error)  # read, not run
        assert (tmp_path / "again" / "fig6_quick.png").exists()
        code, _, error = finish(*flags, "--scale", "paper", "--out", str(tmp_path / "paper"))
        assert code == 1 and "--results" in error and "needs to write" in error, error
    finally:
        subprocess.run(["umount", "-l", str(results)])


# --------------------------------------------------------------------------- workers run the recorded code


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line_within_the_timeout(tmp_path):
    began = time.time()
    code, _, error = finish("rec_rate_skip.py", *SMALL, "--scheduler", f"tcp://127.0.0.1:{free_port()}",
                            "--scheduler_timeout", "3", "--save_folder", str(tmp_path))
    assert code == 1 and len(message_lines(error)) == 1 and "Traceback" not in error, error
    assert "no Dask scheduler answered within 3 s" in error
    assert time.time() - began < 30 and not list(tmp_path.glob("*.npz"))


def test_a_worker_that_imported_other_code_is_refused(tmp_path):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=40)
    try:
        with Client(cluster.scheduler_address) as client:
            def stale():  # as if the worker had imported the suite before an edit
                import runner

                runner._IMPORTED_VERSION = "source-0000000000000000"

            client.run(stale)
        code, _, error = finish("rec_rate_skip.py", *SMALL, "--scheduler", cluster.scheduler_address,
                                "--save_folder", str(tmp_path))
    finally:
        cluster.close(timeout=30)
    lines = message_lines(error)
    assert code == 1 and "Traceback" not in error and len(lines) == 1, error
    assert "runs code version source-0000000000000000" in lines[0] and runner.code_version() in lines[0]
    assert "restart the workers" in lines[0] and not list(tmp_path.glob("*.npz"))


def test_a_unit_from_a_worker_of_another_version_stops_the_run_unrecorded(tmp_path, monkeypatch):
    """A local worker whose source changed mid-run (simulated in-process with --jobs 1):
    the run stops with one line, and the unit it returned is not in the state."""
    import rec_rate_skip

    args = rec_rate_skip.parse([*SMALL, "--save_folder", str(tmp_path)])
    calls = []

    def edited_after_two(n, d, rng, args):
        calls.append(n)
        if len(calls) == 2:
            monkeypatch.setattr(runner, "code_version", lambda: "source-edited")
        return rec_rate_skip.trial(n, d, rng, args)

    with pytest.raises(SystemExit) as stop:
        runner.run_script(rec_rate_skip, args, edited_after_two, "rec_rate_skip")
    assert "a worker ran code version source-edited" in str(stop.value.code) and "1 of 12" in str(stop.value.code)


# --------------------------------------------------------------------------- PNGs


def test_a_full_disk_leaves_no_png_at_the_final_name(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        assert finish("rec_rate_skip.py", *SMALL, "--save_folder", str(disk))[0] == 0
        filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            with pytest.raises(OSError, match="No space left"):
                while True:
                    os.write(filler, bytes(4096))
        finally:
            os.close(filler)
        plotted = subprocess.run([sys.executable, "plot.py", str(disk / f"{SMALL_STEM}.npy")], cwd=ROOT,
                                 capture_output=True, text=True)
        assert plotted.returncode == 1 and "Traceback" not in plotted.stderr, plotted.stderr
        assert not (disk / f"{SMALL_STEM}.png").exists() and not list(disk.glob(".*.part"))
    finally:
        subprocess.run(["umount", "-l", str(disk)])


def test_sigint_to_figures_py_alone_stops_its_script_as_ctrl_c_does(tmp_path):
    results = tmp_path / "results"
    figures = launch("figures.py", "fig6", "--scale", "quick", "--results", str(results), "--out", str(tmp_path))
    assert wait_for(lambda: (results / f"{FIG6_STEM}.state.npz").exists(), 60)
    time.sleep(0.5)
    figures.send_signal(signal.SIGINT)
    _, error = figures.communicate(timeout=60)
    lines = message_lines(error)
    assert figures.returncode == 130 and "Traceback" not in error, error
    assert len(lines) == 1 and lines[0].startswith("interrupted after "), lines
    done = int(lines[0].split()[2])
    assert json.loads((results / f"{FIG6_STEM}.json").read_text())["trials_done"] == done
