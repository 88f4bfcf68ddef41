"""Processes of a run: one writer per run, no workers or scripts left behind by a killed
run, and an interrupted run says in one line how far it got."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT

FLAGS = ["--n", "300", "--d", "100", "--sample", "1", "--optw", "0"]  # about 10 s on 2 workers
STEM = "rec_rate_skip_n300_d100_w0_X0_sample1"


def launch(*arguments):
    # SIGINT back to its default in the child: under a non-interactive shell's background
    # job (as CI runs) it is inherited as ignored, and Python then never raises Ctrl-C
    return subprocess.Popen([sys.executable, *arguments], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONWARNINGS="ignore"),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def start(folder, *extra):
    return launch("rec_rate_skip.py", *FLAGS, "--save_folder", str(folder), *extra)


def wait_for(condition, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def alive(pid):
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def descendants(pid):
    """The PIDs of every process below pid."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(c) for c in children] + [g for c in children for g in descendants(int(c))]


def test_a_second_writer_is_refused_and_the_first_run_is_untouched(tmp_path):
    lone = start(tmp_path / "lone", "--jobs", "2")
    assert lone.wait(timeout=300) == 0
    first = start(tmp_path / "shared", "--jobs", "1")
    assert wait_for(lambda: (tmp_path / "shared" / f"{STEM}.state.npz").exists(), 60)
    second = start(tmp_path / "shared", "--jobs", "1")
    _, error = second.communicate(timeout=60)
    assert second.returncode == 1
    assert error.strip().count("\n") == 0 and f"locked by PID {first.pid}" in error, error
    assert first.wait(timeout=300) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "shared" / f"{STEM}.npy"),
                                  np.load(tmp_path / "lone" / f"{STEM}.npy"))
    # the lock went with its process: the same run can be resumed at once
    assert start(tmp_path / "shared", "--jobs", "1", "--resume").wait(timeout=60) == 0


def test_no_worker_outlives_a_killed_run(tmp_path):
    run = start(tmp_path, "--jobs", "2")
    assert wait_for(lambda: (tmp_path / f"{STEM}.state.npz").exists() and len(descendants(run.pid)) >= 2, 60)
    workers = descendants(run.pid)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    assert wait_for(lambda: not any(alive(pid) for pid in workers), 10), [p for p in workers if alive(p)]


def test_no_script_outlives_a_killed_figures_py(tmp_path):
    figures = launch("figures.py", "fig6", "--scale", "quick", "--results", str(tmp_path / "results"),
                     "--out", str(tmp_path / "png"))
    assert wait_for(lambda: any(descendants(figures.pid)), 60)
    time.sleep(2)  # the script is running its grid
    below = descendants(figures.pid)
    figures.send_signal(signal.SIGKILL)
    figures.wait(timeout=30)
    assert wait_for(lambda: not any(alive(pid) for pid in below), 10), [p for p in below if alive(p)]


def test_an_interrupted_run_says_how_far_it_got_and_resumes(tmp_path):
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        folder = tmp_path / sig.name
        run = start(folder, "--jobs", "2")
        assert wait_for(lambda: (folder / f"{STEM}.state.npz").exists(), 60)
        time.sleep(1.0)
        run.send_signal(sig)
        _, error = run.communicate(timeout=60)
        lines = message_lines(error)
        assert run.returncode == code, error
        assert "Traceback" not in error
        assert len(lines) == 1 and lines[0].startswith("interrupted after ") and "--resume continues" in lines[0], lines
        assert start(folder, "--jobs", "2", "--resume").wait(timeout=300) == 0
        assert np.isin(np.load(folder / f"{STEM}.npy"), [0.0, 1.0]).all()


def message_lines(error):
    """stderr without tqdm's progress lines."""
    return [line for line in error.splitlines() if line.strip() and "trial/s" not in line and "%|" not in line]


def test_a_full_disk_stops_the_run_in_one_line_and_resume_finishes_it(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        folder = disk / "results"
        run = start(folder, "--jobs", "1")
        assert wait_for(lambda: (folder / f"{STEM}.state.npz").exists(), 60)
        filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            with pytest.raises(OSError, match="No space left"):
                while True:  # take every free byte
                    os.write(filler, bytes(4096))
        finally:
            os.close(filler)
        _, error = run.communicate(timeout=120)
        lines = message_lines(error)
        assert run.returncode == 1 and "Traceback" not in error, error
        assert len(lines) == 1 and "no space left" in lines[0] and "--resume" in lines[0], lines
        (disk / "filler").unlink()
        assert start(folder, "--jobs", "2", "--resume").wait(timeout=300) == 0
        assert np.isin(np.load(folder / f"{STEM}.npy"), [0.0, 1.0]).all()
        assert not list(folder.glob(".*.part"))
    finally:
        subprocess.run(["umount", "-l", str(disk)])


def test_a_damaged_state_is_one_line_whatever_the_damage(tmp_path):
    """A truncated state file and bits flipped in its members' data: --resume and a fresh
    run each say in one line that it is unreadable, and change nothing on disk. Flips
    anywhere else (a sweep over the file) never give a traceback: either the same line
    or, where the zip format ignores the byte, a normal resume."""
    folder = tmp_path / "run"
    small = ["rec_rate_skip.py", "--n", "20", "--d", "20", "--sample", "2", "--save_folder", str(folder)]
    assert launch(*small).wait(timeout=120) == 0
    state = folder / "rec_rate_skip_n20_d20_w1_X0_sample2.state.npz"
    good = state.read_bytes()

    def flipped(offset):
        damaged = bytearray(good)
        damaged[offset] ^= 0x10
        return bytes(damaged)

    def attempt(content, *extra):
        state.write_bytes(content)
        run = launch(*small, *extra)
        _, error = run.communicate(timeout=120)
        assert "Traceback" not in error, error
        return run.returncode, message_lines(error)

    for content in (good[: len(good) // 2], flipped(len(good) // 3), flipped(len(good) // 2)):
        for extra in (["--resume"], []):
            status, lines = attempt(content, *extra)
            assert status == 1 and lines[-1].startswith("error:") and "not a readable run state" in lines[-1], lines
            assert state.read_bytes() == content
    for offset in range(0, len(good), len(good) // 12):
        status, lines = attempt(flipped(offset), "--resume")
        assert status == 0 or (status == 1 and "not a readable run state" in lines[-1]), (offset, lines)


# --------------------------------------------------------------------------- run identity

SMALL = ["--n", "30", "--d", "20", "--sample", "2", "--optw", "0", "--jobs", "1"]
SMALL_STEM = "rec_rate_skip_n30_d20_w0_X0_sample2"


def test_a_rerun_over_a_run_of_other_settings_is_refused_unless_overwrite(tmp_path):
    assert launch("rec_rate_skip.py", *SMALL, "--save_folder", str(tmp_path)).wait(timeout=120) == 0
    other = launch("rec_rate_skip.py", *SMALL, "--seed", "5", "--save_folder", str(tmp_path))
    _, error = other.communicate(timeout=120)
    assert other.returncode == 1 and error.strip().count("\n") == 0, error
    assert "--seed 97006855 (not 5)" in error and "--overwrite" in error
    assert launch("rec_rate_skip.py", *SMALL, "--seed", "5", "--overwrite", "--save_folder",
                  str(tmp_path)).wait(timeout=120) == 0
    with open(tmp_path / f"{SMALL_STEM}.json") as stream:
        assert json.load(stream)["seed"] == 5


def test_resume_across_a_code_version_is_refused_unless_asked(tmp_path, monkeypatch):
    import rec_rate_skip
    import runner

    arguments = ["--n", "30", "--d", "20", "--sample", "2", "--optw", "0", "--jobs", "1",
                 "--save_folder", str(tmp_path)]

    def run(*extra):
        args = rec_rate_skip.parse([*arguments, *extra])
        return runner.run_grid(args, {"rec": "rec_rate_skip"}, rec_rate_skip.trial, "rec_rate_skip", with_sigma=False,
                               neutral_flags=rec_rate_skip.NEUTRAL_FLAGS)

    def sidecar():
        with open(tmp_path / f"{SMALL_STEM}.json") as stream:
            return json.load(stream)

    def fails_at_the_largest_n(n, d, rng, args):
        if n == 30:
            raise RuntimeError("a trial that raised")
        return rec_rate_skip.trial(n, d, rng, args)

    trial = rec_rate_skip.trial
    monkeypatch.setattr(runner, "code_version", lambda: "commit-a")
    monkeypatch.setattr(rec_rate_skip, "trial", fails_at_the_largest_n)
    with pytest.raises(SystemExit) as stop:
        run()
    assert stop.value.code == runner.FAILED_TRIALS_EXIT
    monkeypatch.setattr(rec_rate_skip, "trial", trial)
    monkeypatch.setattr(runner, "code_version", lambda: "commit-b")
    with pytest.raises(SystemExit) as stop:
        run("--resume")
    assert "code version commit-a" in str(stop.value.code) and "--resume-any-version" in str(stop.value.code)
    with pytest.raises(SystemExit):
        run()  # a fresh run would replace it silently
    run("--resume", "--retry-failed", "--resume-any-version")
    assert sidecar()["mixed_versions"] and [r["code_version"] for r in sidecar()["runs"]] == ["commit-a", "commit-b"]
    assert sidecar()["complete"]


def test_a_resume_that_computes_nothing_leaves_the_version_unmixed(tmp_path, monkeypatch):
    import rec_rate_skip
    import runner

    args = rec_rate_skip.parse(["--n", "30", "--d", "20", "--sample", "2", "--optw", "0", "--jobs", "1",
                                "--save_folder", str(tmp_path), "--resume", "--resume-any-version"])
    for version in ("commit-a", "commit-b"):
        monkeypatch.setattr(runner, "code_version", lambda version=version: version)
        runner.run_grid(args, {"rec": "rec_rate_skip"}, rec_rate_skip.trial, "rec_rate_skip", with_sigma=False,
                        neutral_flags=rec_rate_skip.NEUTRAL_FLAGS)
    with open(tmp_path / f"{SMALL_STEM}.json") as stream:
        sidecar = json.load(stream)
    assert [(r["code_version"], r["trials"] > 0) for r in sidecar["runs"]] == [("commit-a", True), ("commit-b", False)]
    assert not sidecar["mixed_versions"]


def test_figures_refuse_a_run_made_with_other_settings(tmp_path):
    results = tmp_path / "results"
    figure = launch("rec_rate_skip.py", "--optw", "0", "--optx", "0", "--n", "100", "--d", "50", "--sample", "3",
                    "--seed", "5", "--save_folder", str(results))
    assert figure.wait(timeout=120) == 0
    flags = ["figures.py", "fig6", "--scale", "quick", "--results", str(results), "--out", str(tmp_path / "png")]
    refused = launch(*flags)
    out, error = refused.communicate(timeout=300)
    assert refused.returncode == 1 and "--seed 5 (not 97006855)" in error and "--overwrite" in error, error
    assert "Traceback" not in error and not (tmp_path / "png").exists()
    assert launch(*flags, "--overwrite").wait(timeout=300) == 0


def test_figure_8_is_not_composed_from_5_epoch_runs(tmp_path):
    """The case that was reported: a 5-step run under the file name of Figure 8's
    400-step panel; figures.py names the run and the difference, and draws nothing."""
    results = tmp_path / "results"
    short = launch("ncvx_train_skip.py", "--sigma", "0", "--n", "100", "--d", "50", "--sample", "3", "--epochs", "5",
                   "--save_folder", str(results))
    assert short.wait(timeout=300) == 0
    refused = launch("figures.py", "fig8", "--scale", "quick", "--results", str(results),
                     "--out", str(tmp_path / "png"))
    _, error = refused.communicate(timeout=120)
    assert refused.returncode == 1 and error.strip().count("\n") == 0 and "Traceback" not in error, error
    assert "fig8 [sigma = 0]" in error and "--epochs 5 (not 400)" in error
    assert not (tmp_path / "png").exists()


@pytest.mark.parametrize("arguments, flag", [
    (["transition.py", "--ratio_max", "0"], "--ratio_max"),
    (["transition.py", "--figure", "/tmp"], "--figure"),
    (["figures.py", "fig6", "--results", "NEVER", "--out", "NEVER", "--results", "FILE/results"], "--results"),
    (["figures.py", "fig6", "--results", "NEVER", "--out", "NEVER", "--out", "FILE/figures"], "--out"),
    (["rec_rate_skip.py", "--optx", "9"], "--optx"),
])
def test_bad_flags_name_themselves_and_leave_nothing_on_disk(arguments, flag, tmp_path):
    folder = tmp_path / "never"
    (tmp_path / "file").write_text("a file, not a folder")
    arguments = [argument.replace("FILE", str(tmp_path / "file")).replace("NEVER", str(folder))
                 for argument in arguments]
    run = launch(*arguments, *([] if arguments[0] == "figures.py" else ["--save_folder", str(folder)]))
    try:
        _, error = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 2 or run.returncode == 1
    assert flag in error and error.strip().count("\n") == 0 and "Traceback" not in error, error
    assert not folder.exists()
