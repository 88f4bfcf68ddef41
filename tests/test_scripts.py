"""Each script end to end on a tiny grid, and plot.py on its output."""

import json
import pickle

import matplotlib.image
import numpy as np
import pytest

from conftest import run_script

SCRIPTS = {
    "rec_rate_skip.py": (["--optw", "0"], ["rec_rate_skip_n30_d10_w0_X0_sample2"]),
    "minnrm_skip.py": (["--sigma", "0.1"], ["dis_abs_minnrm_skip_n30_d10_w1_X0_sig0.1_sample2",
                                            "dis_test_minnrm_skip_n30_d10_w1_X0_sig0.1_sample2"]),
    "cvx_train_skip.py": (["--sigma", "0.05", "--optw", "0"],
                          ["dis_abs_cvx_train_skip_n30_d10_w0_X0_sig0.05_sample2",
                           "dis_test_cvx_train_skip_n30_d10_w0_X0_sig0.05_sample2"]),
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_end_to_end(script, tmp_path):
    flags, stems = SCRIPTS[script]
    run_script(script, "--n", "30", "--d", "10", "--sample", "2", "--jobs", "1", "--save_details",
               "--save_folder", str(tmp_path), *flags)
    for stem in stems:
        array = np.load(tmp_path / f"{stem}.npy")
        assert array.shape == (3, 1, 2)
        with open(tmp_path / f"{stem}.json") as stream:
            sidecar = json.load(stream)
        assert sidecar["complete"] and sidecar["solver"] == "IPM"
        assert sum(sidecar["status_counts"].values()) == 6
        assert sum(sidecar["solver_routes"].values()) == 6
        assert {"numpy", "cvxpy", "python", "threadpoolctl"} <= set(sidecar["versions"])
        # every structured solve is certified on these small grids: no NaN may hide a failure
        assert not np.isnan(array).any(), sidecar["status_counts"]
        if stem.startswith("rec_rate"):
            assert np.isin(array, [0.0, 1.0]).all()
        else:
            assert (array >= 0).all()
    details = sorted((tmp_path / "details").glob("*.pkl"))
    assert len(details) == 6
    with open(details[0], "rb") as stream:
        trial = pickle.load(stream)
    assert {"X", "w", "y", "dmat", "opt_w0", "opt_w", "exist_all_one", "status"} <= set(trial)
    assert trial["X"].shape[1] == 10 and trial["dmat"].shape[0] == trial["X"].shape[0]


def test_distances_shrink_with_more_samples(tmp_path):
    """Noiseless min-norm distances: large at n = d (all-ones pattern), ~0 at n = 6d."""
    run_script("minnrm_skip.py", "--n", "60", "--d", "10", "--sample", "2", "--optw", "0", "--jobs", "2",
               "--save_folder", str(tmp_path))
    dis_abs = np.load(tmp_path / "dis_abs_minnrm_skip_n60_d10_w0_X0_sig0_sample2.npy")
    assert np.nanmean(dis_abs[0]) > 0.1 and np.nanmax(dis_abs[-1]) < 1e-4


def test_plot_renders_every_array(tmp_path):
    run_script("rec_rate_skip.py", "--n", "40", "--d", "20", "--sample", "2", "--optw", "0", "--jobs", "1",
               "--save_folder", str(tmp_path))
    run_script("plot.py", str(tmp_path))
    image = matplotlib.image.imread(tmp_path / "rec_rate_skip_n40_d20_w0_X0_sample2.png")
    assert image.shape[0] > 200 and image.shape[1] > 200
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 20  # a real picture, not a blank
    result = run_script("plot.py", str(tmp_path / "nothing_here.npy"), check=False)
    assert result.returncode != 0 and "paths" in result.stderr


def test_plot_names_bad_files_and_says_so_in_its_exit_code(tmp_path):
    """A valid array, a 0-byte .npy and an array of strings: the valid one is rendered,
    both bad ones are named, and the exit code says files were skipped."""
    np.save(tmp_path / "rec_rate_skip_n20_d20_w0_X0_sample2.npy", np.ones((2, 2, 2)))
    (tmp_path / "empty.npy").write_bytes(b"")
    np.save(tmp_path / "strings.npy", np.array([[["a"]]]))
    result = run_script("plot.py", str(tmp_path), check=False)
    assert result.returncode == 1
    assert (tmp_path / "rec_rate_skip_n20_d20_w0_X0_sample2.png").exists()
    assert "empty.npy" in result.stderr and "strings.npy" in result.stderr and "not numeric" in result.stderr
    assert run_script("plot.py", str(tmp_path), "--allow-skips", check=False).returncode == 0
    nothing = run_script("plot.py", str(tmp_path / "empty.npy"), check=False)
    assert nothing.returncode == 1 and "nothing rendered" in nothing.stderr


def test_plot_keeps_the_valid_cells_beside_a_row_of_nan():
    """contourf would blank the quads on both sides of an all-NaN row; cells keep the
    valid row's colour and blank only the NaN cells."""
    import matplotlib.pyplot as plt

    import plot

    mean = np.full((4, 3), 0.55)
    mean[:, 1] = np.nan  # d = 20 never finished
    fig, ax = plt.subplots()
    artist = plot.draw(ax, np.array([10, 20, 30, 40]), np.array([10, 20, 30]), mean)
    values = artist.get_array().reshape(3, 4)  # rows d, columns n
    assert values.mask[1].all() and not values.mask[[0, 2]].any()
    np.testing.assert_allclose(values[[0, 2]], 0.55)
    plt.close(fig)


def test_plot_skips_bad_sidecars_and_blank_maps_with_one_line_each(tmp_path):
    """Sidecars that are a JSON list, lack "args" or have an n_grid of the wrong length,
    and arrays with no finite value, are each named with the reason and no traceback;
    the rest of the folder is still rendered."""
    stem = "rec_rate_skip_n20_d20_w0_X0_sample2"
    np.save(tmp_path / f"{stem}.npy", np.ones((2, 2, 2)))
    bad_sidecars = {"list": [1, 2], "no_args": {"complete": True},
                    "short_grid": {"args": {"sample": 2}, "n_grid": [10, 20, 30]}}
    for name, sidecar in bad_sidecars.items():
        np.save(tmp_path / f"rec_rate_{name}.npy", np.ones((2, 2, 2)))
        (tmp_path / f"rec_rate_{name}.json").write_text(json.dumps(sidecar))
    np.save(tmp_path / "dis_abs_nan.npy", np.full((2, 2, 2), np.nan))
    np.save(tmp_path / "dis_abs_inf.npy", np.full((2, 2, 2), np.inf))
    np.save(tmp_path / "rec_rate_above_one.npy", np.full((2, 2, 2), 1.5))
    result = run_script("plot.py", str(tmp_path), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 6, result.stderr
    reasons = {"rec_rate_list.json is a JSON list", "rec_rate_no_args.json has no \"args\"", "n_grid is not 2 numbers",
               "dis_abs_nan.npy: no cell has a finite value", "dis_abs_inf.npy: no cell has a finite value",
               "outside [0, 1]"}
    assert all(any(reason in line for line in skipped) for reason in reasons), result.stderr
    assert (tmp_path / f"{stem}.png").exists()


def test_plot_draws_other_quantities_on_their_own_scale(tmp_path):
    """A kernel-measure array (values 1.5 to 3.1) is not a rate: its colour levels span
    its own trial means and its colour bar names it; rates keep the paper's 0..1 levels."""
    import plot
    import runner

    measure = np.linspace(1.5, 3.1, 8).reshape(2, 2, 2)
    mean = runner.trial_mean(measure)
    levels, label, open_top = plot.colour_levels("kernel_measure_skip_n20_d20_w1_X0_sig0_sample2.npy", mean)
    assert levels[0] == mean.min() and levels[-1] == mean.max() and "kernel measure" in label
    assert not open_top
    levels, label, _ = plot.colour_levels("num_active_lasso_skip.npy", np.array([[0.0, 4.0]]))
    assert levels[-1] == 4.0 and "active neurons" in label
    levels, label, open_top = plot.colour_levels("dis_test_minnrm_skip.npy", np.array([[0.2, 1.7]]))
    np.testing.assert_allclose(levels, np.linspace(0, 1, 11))
    assert open_top and label == "mean distance"
    np.save(tmp_path / "kernel_measure_skip_n20_d20_w1_X0_sig0_sample2.npy", measure)
    run_script("plot.py", str(tmp_path))
    image = matplotlib.image.imread(tmp_path / "kernel_measure_skip_n20_d20_w1_X0_sig0_sample2.png")
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 20  # coloured, not blank
