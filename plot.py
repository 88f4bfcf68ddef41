"""Render phase-transition maps the paper's way, one PNG beside each array.

`python plot.py results/` renders every .npy under the folder (recursively);
`python plot.py FILE.npy` renders one. Each map is the trial mean over the
(n, d) grid as filled contours: n on the x axis, d on the y axis, jet colours,
levels 0 to 1 by 0.1, an open-ended top level for distances, the theoretical
n = 2d line dashed (off with --no-theory). Cells with no finished trial (skipped
or failed) stay blank.
"""

import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from common import OneLineParser, grid, trial_mean  # noqa: E402

LEVELS = np.linspace(0.0, 1.0, 11)


def load(path):
    """The array (n grid, d grid, trials), its sidecar ({} when absent) and the grids."""
    array = np.load(path)
    if array.ndim != 3:
        raise ValueError(f"{path}: expected an (n, d, trial) array, got shape {array.shape}")
    sidecar_path = os.path.splitext(path)[0] + ".json"
    sidecar = {}
    if os.path.exists(sidecar_path):
        with open(sidecar_path) as stream:
            sidecar = json.load(stream)
    n_grid = np.array(sidecar.get("n_grid", grid(10 * array.shape[0])))
    d_grid = np.array(sidecar.get("d_grid", grid(10 * array.shape[1])))
    return array, sidecar, n_grid, d_grid


def title(path, sidecar):
    name = os.path.splitext(os.path.basename(path))[0]
    if not sidecar:
        return name
    args = sidecar["args"]
    parts = [f"optw {args['optw']}", f"optx {args['optx']}", f"sigma {args['sigma']}",
             f"{args['sample']} trials"]
    if args.get("neu") is not None:
        parts.insert(0, f"{args['neu']} neuron(s)")
    if sidecar.get("solver"):
        parts.append(sidecar["solver"])
    if not sidecar.get("complete", True):
        parts.append("INCOMPLETE")
    return f"{name}\n" + ", ".join(parts)


def render(path, theory=True):
    """Write <array>.png beside the array and return its path."""
    array, sidecar, n_grid, d_grid = load(path)
    mean = np.ma.masked_invalid(trial_mean(array)).T  # rows d, columns n
    is_distance = os.path.basename(path).startswith("dis_")
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    if len(n_grid) > 1 and len(d_grid) > 1:
        filled = ax.contourf(n_grid, d_grid, mean, levels=LEVELS, cmap="jet",
                             extend="max" if is_distance else "neither")
    else:  # contours need two grid points per axis; show single rows as cells
        filled = ax.pcolormesh(n_grid, d_grid, mean, cmap="jet", vmin=0, vmax=1, shading="nearest")
    fig.colorbar(filled, ax=ax, label="mean distance" if is_distance else "recovery rate")
    if theory:
        n_line = np.linspace(n_grid.min(), n_grid.max(), 100)
        inside = (n_line / 2 >= d_grid.min()) & (n_line / 2 <= d_grid.max())
        ax.plot(n_line[inside], n_line[inside] / 2, "k--", linewidth=1.5, label="n = 2d")
        if inside.any():
            ax.legend(loc="upper left")
    ax.set_xlabel("n")
    ax.set_ylabel("d")
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
    args = parser.parse_args()
    for target in args.paths:
        if not os.path.exists(target):
            parser.error(f"paths: {target!r} does not exist")
        if os.path.isfile(target) and not target.endswith(".npy"):
            parser.error(f"paths: {target!r} is not a .npy array")
    arrays = [path for target in args.paths for path in arrays_under(target)]
    if not arrays:
        parser.error(f"paths: no .npy arrays under {', '.join(args.paths)}")
    for path in arrays:
        try:
            print(render(path, theory=args.theory))
        except ValueError as error:
            print(f"skipped: {error}", file=sys.stderr)


if __name__ == "__main__":
    main()
