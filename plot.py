"""Render phase-transition maps the paper's way, one PNG beside each array.

`python plot.py results/` renders every .npy under the folder (recursively);
`python plot.py FILE.npy` renders one. Each map is the trial mean over the
(n, d) grid (or the two axes its sidecar names) as filled contours: n on the x
axis, d on the y axis, jet colours,
levels 0 to 1 by 0.1, an open-ended top level for distances, the theoretical
n = 2d line dashed and, on the skip recovery maps, Wendel's all-ones failure bound
dotted (both off with --no-theory). Cells with no finished trial (skipped
or failed) stay blank: such maps are drawn as cells with the same colour levels,
since contouring would also blank the valid cells around a hole.

Every file that cannot be rendered (empty, not an array, not numeric, not
(n, d, trial)) is named on stderr with the reason, and the exit status is 1 when
any file was skipped (unless --allow-skips) or none was rendered.
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import BoundaryNorm  # noqa: E402

import common  # noqa: E402
from runner import OneLineParser, grid, trial_mean  # noqa: E402

LEVELS = np.linspace(0.0, 1.0, 11)
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
    sidecar_path = os.path.splitext(path)[0] + ".json"
    sidecar = {}
    if os.path.exists(sidecar_path):
        with open(sidecar_path) as stream:
            sidecar = json.load(stream)
    rows, columns = axis_names(sidecar)
    n_grid = np.array(sidecar.get(f"{rows}_grid", grid(10 * array.shape[0])))
    d_grid = np.array(sidecar.get(f"{columns}_grid", grid(10 * array.shape[1])))
    return array, sidecar, n_grid, d_grid


def axis_names(sidecar):
    """The names of an array's first two axes: ("n", "d") unless its sidecar says otherwise."""
    return tuple(sidecar.get("axes", ["n", "d"])[:2])


def label_axes(ax, sidecar):
    """Axis labels from the sidecar's axis names; a lambda axis on a log scale."""
    rows, columns = axis_names(sidecar)
    ax.set_xlabel(AXIS_LABELS.get(rows, rows))
    ax.set_ylabel(AXIS_LABELS.get(columns, columns))
    if columns == "lam":
        ax.set_yscale("log")


def title(path, sidecar):
    name = os.path.splitext(os.path.basename(path))[0]
    if not sidecar:
        return name
    args = sidecar["args"]
    parts = [f"{flag} {args[flag]}" for flag in ("optw", "optx", "optmu", "sigma") if flag in args]
    parts.append(f"{args['sample']} trials")
    if args.get("neu") is not None:
        parts.insert(0, f"{args['neu']} neuron(s)")
    if sidecar.get("solver"):
        parts.append(sidecar["solver"])
    if not sidecar.get("complete", True):
        parts.append("INCOMPLETE")
    return f"{name}\n" + ", ".join(parts)


def draw(ax, n_grid, d_grid, mean, is_distance):
    """The map of mean (n, d) on ax: filled contours, or cells with the same colour
    levels where the grid has a single row or holes (NaN cells) that contouring
    would widen over their valid neighbours. Returns the artist for the colour bar."""
    masked = np.ma.masked_invalid(mean).T  # rows d, columns n
    extend = "max" if is_distance else "neither"
    if len(n_grid) > 1 and len(d_grid) > 1 and not masked.mask.any():
        return ax.contourf(n_grid, d_grid, masked, levels=LEVELS, cmap="jet", extend=extend)
    cmap = plt.get_cmap("jet")
    norm = BoundaryNorm(LEVELS, cmap.N, extend=extend)
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
    bound = 1.0 - common.wendel_probability(n_fine[None, :], d_fine[:, None])
    ax.contour(n_fine, d_fine, bound, levels=WENDEL_LEVELS, colors="white", linestyles=":", linewidths=1.3)
    ax.plot([], [], color="white", linestyle=":", label="all-ones bound 1 - P(n, d) = 0.1, 0.5, 0.9")


def render(path, theory=True):
    """Write <array>.png beside the array and return its path."""
    array, sidecar, n_grid, d_grid = load(path)
    is_distance = os.path.basename(path).startswith("dis_")
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    filled = draw(ax, n_grid, d_grid, trial_mean(array.astype(float)), is_distance)
    fig.colorbar(filled, ax=ax, label="mean distance" if is_distance else "recovery rate")
    if theory and axis_names(sidecar) == ("n", "d"):
        draw_theory(ax, os.path.basename(path), n_grid, d_grid)
    label_axes(ax, sidecar)
    ax.set_title(title(path, sidecar), fontsize=9)
    png = os.path.splitext(path)[0] + ".png"
    fig.savefig(png, dpi=120, bbox_inches="tight")
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
