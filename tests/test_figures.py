"""The figure catalog: every panel's command is valid for its script, and figures are
recomposed from existing runs without recomputation."""

import dataclasses
import json
import os

import matplotlib.image
import numpy as np
import pytest

import figures
from conftest import run_script


@pytest.mark.parametrize("scale", ["paper", "quick"])
def test_every_panel_command_parses_and_validates(scale, tmp_path):
    for name, figure in figures.CATALOG.items():
        for panel in figure.panels:
            args = figures.parsed(panel, figures.arguments(figure, panel, scale, str(tmp_path)))
            n, d, sample = figures.scaled(figure, scale)
            assert (args.n, args.d, args.sample) == (n, d, sample), name
            assert os.path.basename(figures.array_path(panel, args)).startswith(panel.array)
        trials, seconds = figures.estimate(figure, scale)
        assert trials > 0 and seconds > 0


def test_quick_figure_is_recomposed_without_recomputation(tmp_path):
    flags = ["fig6", "--scale", "quick", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "figures")]
    first = run_script("figures.py", *flags)
    assert first.stdout.count("fig6 [") == 4  # four runs started
    arrays = sorted((tmp_path / "results").glob("rec_rate_skip_*.npy"))
    assert len(arrays) == 4
    stamps = [path.stat().st_mtime_ns for path in arrays]
    second = run_script("figures.py", *flags)
    assert "fig6 [" not in second.stdout  # no script started: every run was complete
    assert [path.stat().st_mtime_ns for path in arrays] == stamps
    image = matplotlib.image.imread(tmp_path / "figures" / "fig6_quick.png")
    assert image.shape[1] > 3 * image.shape[0]  # four panels side by side
    # A garbage sidecar and a truncated array under a complete one: each named in one
    # line, then derived again from its run's state, byte-identical to what they were.
    contents = [path.read_bytes() for path in arrays]
    sidecar = arrays[0].with_suffix(".json")
    sidecar_text = sidecar.read_text()
    sidecar.write_text("{not json")
    arrays[1].write_bytes(contents[1][:40])
    third = run_script("figures.py", *flags)
    assert third.stdout.count("deriving both again from the run's state") == 2 and "Traceback" not in third.stderr
    assert [path.read_bytes() for path in arrays] == contents
    assert json.loads(sidecar.read_text())["args"] == json.loads(sidecar_text)["args"]


def test_unknown_figure_is_a_one_line_error(tmp_path):
    result = run_script("figures.py", "fig99", check=False)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1 and "fig6" in result.stderr


@pytest.mark.parametrize("scale", ["paper", "quick"])
def test_every_extension_command_parses_and_validates(scale, tmp_path):
    for name, extension in figures.EXTENSIONS.items():
        assert "not in the paper" in extension.what
        for panel in extension.inputs.get(scale, ()):
            args = figures.parsed(panel, [*panel.flags, "--save_folder", str(tmp_path)])
            assert os.path.basename(figures.array_path(panel, args)).startswith(panel.array)
        args = figures.parsed(figures.Panel(name, extension.script, (), ""),
                              [*extension.flags[scale], "--save_folder", str(tmp_path)])
        assert args.save_folder == str(tmp_path)


def test_a_run_with_failed_trials_is_retried_once_then_refused(tmp_path, monkeypatch):
    """The script's exit status 3 (failed trials): one --retry-failed, then no figure unless
    --allow-failed."""
    import runner

    calls = []
    monkeypatch.setattr(figures, "run_script",
                        lambda label, script, argv: calls.append(argv) or runner.FAILED_TRIALS_EXIT)
    figure = figures.CATALOG["fig6"]
    argv = figures.arguments(figure, figure.panels[0], "quick", str(tmp_path))
    with pytest.raises(SystemExit) as stop:
        figures.reused_or_run("fig6 [Gaussian]", figure.panels[0], argv, [])
    assert "failed twice" in str(stop.value.code) and "--allow-failed" in str(stop.value.code)
    assert len(calls) == 2 and "--retry-failed" not in calls[0] and "--retry-failed" in calls[1]
    calls.clear()
    path = figures.reused_or_run("fig6 [Gaussian]", figure.panels[0], argv, [], allow_failed=True)
    assert path.endswith(".npy") and len(calls) == 2


def test_a_finished_run_of_another_code_version_is_composed_only_with_any_version(tmp_path, monkeypatch):
    """A complete run is refused once the code version changes (no reuse across a
    difference without saying so); --any-version composes it as it is, in a line that
    names both versions, starting no script; an unfinished one stays refused."""
    import runner

    figure = figures.CATALOG["fig6"]
    panel = figure.panels[0]
    argv = figures.arguments(figure, panel, "quick", str(tmp_path))
    made = figures.reused_or_run("fig6 [Gaussian]", panel, argv, [])  # a real run, at this version
    contents = open(made, "rb").read()
    monkeypatch.setattr(runner, "_IMPORTED_VERSION", "source-0000000000000000")
    monkeypatch.setattr(figures, "run_script", lambda *a: pytest.fail("a script was started"))
    with pytest.raises(SystemExit) as stop:
        figures.reused_or_run("fig6 [Gaussian]", panel, argv, [])
    assert "code version" in str(stop.value.code) and "--any-version" in str(stop.value.code)
    path = figures.reused_or_run("fig6 [Gaussian]", panel, argv, [], any_version=True)
    assert path == made and open(path, "rb").read() == contents
    args = figures.parsed(panel, argv)
    verdict, detail = figures.run_verdict(panel, args, path, any_version=True)
    assert verdict == "complete" and "source-0000000000000000" in detail
    state_path = os.path.join(str(tmp_path), json.load(open(path[:-4] + ".json"))["state"])
    with np.load(state_path) as stored:
        snapshot = dict(stored)
    snapshot["status"].flat[-1] = -1  # one trial not done: unfinished
    with open(state_path, "wb") as stream:
        np.savez(stream, **snapshot)
    verdict, detail = figures.run_verdict(panel, args, path, any_version=True)
    assert verdict == "other" and "not finished" in detail


def test_the_catalog_accounts_for_every_figure_of_the_paper():
    """Every number 1..43 is composed, drawn, composed with another, or not reproduced
    with a reason; readings carry their confidence; the paper's panel counts hold."""
    listing = run_script("figures.py", "--list", "--scale", "quick").stdout
    for number in range(1, figures.PAPER_FIGURES + 1):
        assert f"\nfig{number}: " in "\n" + listing, number
    accounted = {*figures.CATALOG, *figures.DRAWINGS, *figures.ALIASES, *figures.NOT_REPRODUCED}
    assert accounted == {f"fig{number}" for number in range(1, figures.PAPER_FIGURES + 1)}
    for item in [*figures.CATALOG.values(), *figures.DRAWINGS.values()]:
        assert bool(item.reading) == bool(item.confidence)
    counts = {name: len(figure.panels) for name, figure in figures.CATALOG.items()}
    assert counts["fig7"] == 4 and counts["fig35"] == 4 and figures.ALIASES["fig36"] == "fig35"
    assert all(counts[name] == 4 for name in ("fig22", "fig23", "fig24", "fig30", "fig32", "fig34"))
    assert {panel.array for panel in figures.CATALOG["fig7"].panels} == {"dis_abs_minnrm_skip"}
    refused = run_script("figures.py", "fig15", check=False)
    assert refused.returncode != 0 and "not reproduced" in refused.stderr


def test_every_figure_over_the_pattern_sample_says_so():
    """The normalisation-layer programs and the NNIC check run over the authors' pattern
    sample (the catalog passes no --patterns), whose boundaries are not those of (14):
    such a figure, and no other, carries the note that says so, and --list prints it.
    (The skip programs sample too, but the one pattern that decides them, all-ones, is
    added exactly.)"""
    over_the_sample = ("rec_rate_norm", "minnrm_norm", "cvx_train_norm", "nic_norm")
    listing = run_script("figures.py", "--list").stdout
    for name, figure in figures.CATALOG.items():
        sampled = any(panel.script in over_the_sample for panel in figure.panels)
        assert all("--patterns" not in panel.flags for panel in figure.panels)
        assert sampled == ("pattern sample" in figure.note), name
        if sampled:
            assert f"  note: {figure.note}" in listing, name


def test_figures_1_to_3_are_drawn(tmp_path):
    flags = ["--scale", "quick", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "figures")]
    made = run_script("figures.py", "fig1", "fig2", "fig3", *flags)
    for number in (1, 2, 3):
        assert (tmp_path / "figures" / f"fig{number}_quick.png").exists()
    assert (tmp_path / "results" / "transition_skip.json").exists()  # Figure 2 draws over it
    assert "fig1_quick.png" in made.stdout


def test_a_panel_with_unsolved_trials_says_so_in_its_title(tmp_path, monkeypatch):
    """A trial whose solve failed its check is NaN in the array and the map averages the
    cell's other trials: the panel's title counts it (skipped cells are not counted)."""
    import matplotlib.axes

    figure = dataclasses.replace(figures.CATALOG["fig6"], panels=figures.CATALOG["fig6"].panels[:1])
    array = np.ones((3, 2, 2))
    array[1, 0, 1] = np.nan
    np.save(tmp_path / "rec.npy", array)
    sidecar = {"args": {"n": 30, "d": 20}, "axes": ["n", "d", "trial"], "n_grid": [10, 20, 30], "d_grid": [10, 20],
               "complete": True, "trials_failed": 0,
               "status_counts": {"optimal": 10, "optimal_inaccurate (failed check)": 1, "skipped (n < d)": 1}}
    (tmp_path / "rec.json").write_text(json.dumps(sidecar))
    titles = []
    set_title = matplotlib.axes.Axes.set_title
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title",
                        lambda ax, text, **k: titles.append(text) or set_title(ax, text, **k))
    figures.compose("fig6", figure, "quick", [str(tmp_path / "rec.npy")], str(tmp_path))
    assert titles == [figure.panels[0].title + " (1 unsolved, NaN)"]
    assert figures.unsolved_trials({"status_counts": {"optimal": 3, "trained": 2, "skipped (n < d)": 4}}) == 0

