"""Render phase-transition maps the paper's way, one PNG beside each array.

`python plot.py results/` renders every .npy under the folder (recursively);
`python plot.py FILE.npy` renders one. Each map is the trial mean over the
(n, d) grid (or the two axes its sidecar names) as filled contours: n on the x
axis, d on the y axis, jet colours,
levels 0 to 1 by 0.1 for rates and probabilities (rec_*, prob_*, nic_*), with an
open-ended top level for distances (dis_*); any other array (the lasso's number of
active neurons, the kernel measure) gets ten levels between its own smallest and
largest trial means and a colour bar naming what it is. The theoretical n = 2d line
is dashed and, on the skip recovery maps, Wendel's all-ones failure bound dotted
(both off with --no-theory). Cells with no finished trial (skipped or failed) stay
blank: such maps are drawn as cells with the same colour levels, since contouring
would also blank the valid cells around a hole.

Every file that cannot be rendered (empty, not an array, not numeric, not
(n, d, trial), no finite value, a rate outside [0, 1], a sidecar that is not the
suite's JSON object or whose grids do not fit the array) is named on stderr with
the reason, the others are still rendered, and the exit status is 1 when any file
was skipped (unless --allow-skips) or none was rendered.
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import BoundaryNorm  # noqa: E402

import arrangement  # noqa: E402
from runner import OneLineParser, array_sha256, grid, save_figure, trial_mean  # noqa: E402

LEVELS = np.linspace(0.0, 1.0, 11)
# What each array family is, by file-name prefix: (colour-bar label, fixed 0..1 levels?).
# Rates and distances share the paper's fixed levels; the rest are scaled to their data.
QUANTITIES = {"rec_": ("recovery rate", True), "prob_": ("probability", True),
              "nic_": ("fraction satisfying the condition", True), "dis_": ("mean distance", True),
              "num_active": ("active neurons (trial mean)", False),
              "kernel_measure": ("kernel measure sqrt(2 y^T H^-1 y / n)", False),
              "kernel_lambda_min": ("lambda_min(H^inf)", False)}
AXIS_LABELS = {"lam": "lambda", "s": "s (inverse noise scale)"}
WENDEL_LEVELS = [0.1, 0.5, 0.9]


def load(path):
    """The array (n grid, d grid, trials), its sidecar ({} when absent) and the grids
    of its first two axes (n and d unless the sidecar names others, e.g. n and lam);
    ValueError with the reason when the file is no such array."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:  # empty, truncated, pickled or not .npy at all
        raise ValueError(f"not a readable .npy array ({type(error).__name__}: {error})") from None
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"not numeric (dtype {array.dtype})")
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(f"expected an (n, d, trial) array, got shape {array.shape}")
    sidecar = read_sidecar(os.path.splitext(path)[0] + ".json")
    if sidecar.get("array_sha256") not in (None, array_sha256(path)):
        raise ValueError("the array is not the one its sidecar describes (array_sha256 differs: the run stopped "
                         "between writing the two); rerun the run's command to derive both again from its state")
    rows, columns = axis_names(sidecar)
    grids = []
    for axis, name in enumerate((rows, columns)):
        values = sidecar.get(f"{name}_grid", grid(10 * array.shape[axis]).tolist())
        if not (isinstance(values, list) and all(isinstance(v, (int, float)) for v in values)
                and len(values) == array.shape[axis]):
            raise ValueError(f"its sidecar's {name}_grid is not {array.shape[axis]} numbers "
                             f"(the array's axis {axis}): {str(values)[:60]}")
        grids.append(np.array(values))
    return array, sidecar, *grids


def read_sidecar(path):
    """The JSON sidecar at path ({} when there is none, as for the authors' arrays);
    ValueError naming the file when it is not the suite's: a JSON object with an
    "args" object and, if it names them, two or more axis names."""
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as stream:
            sidecar = json.load(stream)
    except (OSError, ValueError) as error:  # unreadable, not JSON, not UTF-8
        raise ValueError(f"its sidecar {path} is not readable JSON ({type(error).__name__}: {error})") from None
    if not isinstance(sidecar, dict):
        raise ValueError(f"its sidecar {path} is a JSON {type(sidecar).__name__}, not an object")
    if not isinstance(sidecar.get("args"), dict):
        raise ValueError(f"its sidecar {path} has no \"args\" object")
    axes = sidecar.get("axes", ["n", "d"])
    if not (isinstance(axes, list) and len(axes) >= 2 and all(isinstance(a, str) for a in axes)):
        raise ValueError(f"its sidecar {path} has \"axes\" {str(axes)[:40]}, not a list of axis names")
    return sidecar


def quantity(name):
    """(colour-bar label, fixed levels?) of an array from its file name."""
    for prefix, described in QUANTITIES.items():
        if name.startswith(prefix):
            return described
    return os.path.splitext(name)[0], False


def colour_levels(name, mean):
    """The 11 colour levels of a map of `mean` (the trial means) named `name`, its
    colour-bar label and whether its top level is open (distances); ValueError when
    the map would be blank or mislabelled: no finite cell, or a rate outside [0, 1]."""
    finite = mean[np.isfinite(mean)]
    if finite.size == 0:
        raise ValueError("no cell has a finite value (every trial NaN or infinite: skipped or failed)")
    label, fixed = quantity(name)
    if not fixed:
        low, high = float(finite.min()), float(finite.max())
        return np.linspace(low, high if high > low else low + 1.0, 11), label, False
    if finite.min() < 0 or (not name.startswith("dis_") and finite.max() > 1):
        raise ValueError(f"a {label} map with values in [{finite.min():.3g}, {finite.max():.3g}], outside [0, 1]")
    return LEVELS, label, name.startswith("dis_")


def axis_names(sidecar):
    """The names of an array's first two axes: ("n", "d") unless its sidecar says otherwise."""
    return tuple(sidecar.get("axes", ["n", "d"])[:2])


def oriented(sidecar, row_grid, column_grid, mean):
    """(horizontal grid, vertical grid, mean with the horizontal axis first) of a map: the
    first axis horizontal, but a lambda axis goes there (Figure 13's text: "the lower
    bound of lambda ... shifts right as sigma increases")."""
    if axis_names(sidecar)[1] == "lam":
        return column_grid, row_grid, mean.T
    return row_grid, column_grid, mean


def label_axes(ax, sidecar):
    """Axis labels from the sidecar's axis names, in the orientation of oriented(); a
    lambda axis on a log scale."""
    rows, columns = axis_names(sidecar)
    horizontal, vertical = (columns, rows) if columns == "lam" else (rows, columns)
    ax.set_xlabel(AXIS_LABELS.get(horizontal, horizontal))
    ax.set_ylabel(AXIS_LABELS.get(vertical, vertical))
    if horizontal == "lam":
        ax.set_xscale("log")


def title(path, sidecar):
    name = os.path.splitext(os.path.basename(path))[0]
    if not sidecar:
        return name
    args = sidecar["args"]
    parts = [f"{flag} {args[flag]}" for flag in ("optw", "optx", "optmu", "sigma") if flag in args]
    if "sample" in args:
        parts.append(f"{args['sample']} trials")
    if args.get("neu") is not None:
        parts.insert(0, f"{args['neu']} neuron(s)")
    if sidecar.get("solver"):
        parts.append(sidecar["solver"])
    if not sidecar.get("complete", True):
        parts.append("INCOMPLETE")
    return f"{name}\n" + ", ".join(parts)


def draw(ax, n_grid, d_grid, mean, levels=LEVELS, open_top=False):
    """The map of mean (n, d) on ax: filled contours, or cells with the same colour
    levels where the grid has a single row or holes (NaN cells) that contouring
    would widen over their valid neighbours. open_top: values above the last level
    get its colour (distances). Returns the artist for the colour bar."""
    masked = np.ma.masked_invalid(mean).T  # rows d, columns n
    extend = "max" if open_top else "neither"
    if len(n_grid) > 1 and len(d_grid) > 1 and not masked.mask.any():
        return ax.contourf(n_grid, d_grid, masked, levels=levels, cmap="jet", extend=extend)
    cmap = plt.get_cmap("jet")
    norm = BoundaryNorm(levels, cmap.N, extend=extend)
    return ax.pcolormesh(n_grid, d_grid, masked, cmap=cmap, norm=norm, shading="nearest")


def draw_theory(ax, name, n_grid, d_grid):
    """The dashed n = 2d line and, on the skip recovery maps (name rec_rate_skip...),
    Wendel's all-ones failure bound, with a legend naming them."""
    n_line = np.linspace(n_grid.min(), n_grid.max(), 100)
    inside = (n_line / 2 >= d_grid.min()) & (n_line / 2 <= d_grid.max())
    ax.plot(n_line[inside], n_line[inside] / 2, "k--", linewidth=1.5, label="n = 2d")
    if name.startswith("rec_rate_skip"):
        draw_wendel_bound(ax, n_grid, d_grid)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=7)


def draw_wendel_bound(ax, n_grid, d_grid):
    """The theoretical failure bound on Gaussian data: where the all-ones pattern exists,
    (12) cannot recover, so the rate is at most 1 - P(n, d) (Wendel's formula). Its 0.5
    level is n = 2d exactly; the 0.1 and 0.9 levels show how wide the transition can be."""
    if len(n_grid) < 2 or len(d_grid) < 2:
        return
    n_fine, d_fine = np.arange(n_grid.min(), n_grid.max() + 1), np.arange(d_grid.min(), d_grid.max() + 1)
    bound = 1.0 - arrangement.wendel_probability(n_fine[None, :], d_fine[:, None])
    ax.contour(n_fine, d_fine, bound, levels=WENDEL_LEVELS, colors="white", linestyles=":", linewidths=1.3)
    ax.plot([], [], color="white", linestyle=":", label="all-ones bound 1 - P(n, d) = 0.1, 0.5, 0.9")


def render(path, theory=True):
    """Write <array>.png beside the array and return its path."""
    array, sidecar, n_grid, d_grid = load(path)
    mean = trial_mean(array.astype(float))
    levels, label, open_top = colour_levels(os.path.basename(path), mean)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    filled = draw(ax, *oriented(sidecar, n_grid, d_grid, mean), levels, open_top)
    fig.colorbar(filled, ax=ax, label=label)
    if theory and axis_names(sidecar) == ("n", "d"):
        draw_theory(ax, os.path.basename(path), n_grid, d_grid)
    label_axes(ax, sidecar)
    ax.set_title(title(path, sidecar), fontsize=9)
    png = os.path.splitext(path)[0] + ".png"
    try:
        save_figure(fig, png, dpi=120, bbox_inches="tight")
    except OSError as error:  # a read-only folder, a full disk
        raise ValueError(f"cannot write {png} ({error.strerror or error})") from None
    finally:
        plt.close(fig)
    return png


def arrays_under(target):
    if os.path.isdir(target):
        found = []
        for folder, _, files in os.walk(target):
            found += [os.path.join(folder, f) for f in files if f.endswith(".npy")]
        return sorted(found)
    return [target]


def main():
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="result folders (searched recursively) or .npy files")
    parser.add_argument("--no-theory", dest="theory", action="store_false", help="omit the dashed n = 2d line")
    parser.add_argument("--allow-skips", action="store_true",
                        help="exit 0 when some files could not be rendered (they are still named)")
    args = parser.parse_args()
    for target in args.paths:
        if not os.path.exists(target):
            parser.error(f"paths: {target!r} does not exist")
        if os.path.isfile(target) and not target.endswith(".npy"):
            parser.error(f"paths: {target!r} is not a .npy array")
    arrays = [path for target in args.paths for path in arrays_under(target)]
    if not arrays:
        parser.error(f"paths: no .npy arrays under {', '.join(args.paths)}")
    rendered, skipped = 0, 0
    for path in arrays:
        try:
            print(render(path, theory=args.theory))
            rendered += 1
        except ValueError as error:
            print(f"skipped {path}: {error}", file=sys.stderr)
            skipped += 1
    if not rendered:
        sys.exit(f"plot.py: nothing rendered ({skipped} file(s) skipped)")
    if skipped and not args.allow_skips:
        sys.exit(f"plot.py: {skipped} file(s) skipped, {rendered} rendered (--allow-skips to accept)")


if __name__ == "__main__":
    main()
