"""The paper's illustrations that need no program: Figures 1, 2 and 3, drawn from their definitions.

Figure 1 (reading: high confidence): a 2-D example of an arrangement. Three data
points x_1, x_2, x_3 in R^2; each line {w : x_i^T w = 0} through the origin is
perpendicular to one point, and the three lines cut the plane into six regions.
Every w in a region has the same pattern (1[x_1^T w >= 0], 1[x_2^T w >= 0],
1[x_3^T w >= 0]), the diagonal of D_i; each region is labelled with it. Two of the
2^3 = 8 patterns, (1, 0, 1) and (0, 1, 0) here, are not realised: n = 3 points in
d = 2 give 2 sum_{k<d} C(n-1, k) = 6 regions (Cover's count). The points lie in a
half-plane, so the all-ones pattern is one of them.

Figure 2 (reading: medium): Corollary 1's phase diagram in the (n, d) plane. Below
n = d nothing is recovered (even the linear model interpolates many solutions);
between n = d and n = 2d the linear fit recovers the planted linear neuron but the
ReLU network's minimum-norm solution does not (the all-ones pattern exists with
probability above 1/2, Wendel); above n = 2d the network recovers it too. With
--transition (the JSON of `transition.py`) the measured 50% points n*/d of (12),
with their 95% intervals, are drawn over it.

Figure 3 (reading: low; the text never mentions it): Wendel's probability
P(n, d) = 2^-(n-1) sum_{k<d} C(n-1, k) that the all-ones pattern exists (some w
has X w > 0) for n Gaussian points in R^d, over the (n, d) grid of the other maps,
with its 50% line n = 2d.
"""

import json

import numpy as np

import arrangement
import runner

NUMBERS = (1, 2, 3)
POINTS = 0.8 * np.array([[1.0, 0.35], [0.25, 1.0], [-0.9, 0.55]])  # Figure 1's x_1, x_2, x_3


def patterns_of_regions(points):
    """The regions of the arrangement of `points` (n, 2): for each, the angle of its
    bisector and its pattern (n,) of 0/1, in order of angle. Their number is 2n when no
    two points are parallel."""
    normals = np.arctan2(points[:, 1], points[:, 0]) + np.pi / 2  # each line's angle
    boundaries = np.sort(np.concatenate([normals, normals + np.pi]) % (2 * np.pi))
    centres = (boundaries + np.diff(np.r_[boundaries, boundaries[0] + 2 * np.pi]) / 2) % (2 * np.pi)
    directions = np.column_stack([np.cos(centres), np.sin(centres)])
    return centres, (directions @ points.T >= 0).astype(int)


def draw_arrangement(ax):
    centres, patterns = patterns_of_regions(POINTS)
    for i, x in enumerate(POINTS):
        ax.annotate("", xy=x, xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="C0", linewidth=1.5))
        ax.text(*(x * 1.12), f"$x_{i + 1}$", color="C0", ha="center", va="center", fontsize=11)
        line = np.array([-x[1], x[0]]) / np.linalg.norm(x) * 2.0
        ax.plot([-line[0], line[0]], [-line[1], line[1]], "k-", linewidth=1)
    for angle, pattern in zip(centres, patterns):
        ax.text(1.5 * np.cos(angle), 1.5 * np.sin(angle), "(" + ", ".join(map(str, pattern)) + ")",
                ha="center", va="center", fontsize=10, bbox=dict(facecolor="white", edgecolor="0.7"))
    ax.set_xlim(-1.8, 1.8)
    ax.set_ylim(-1.8, 1.8)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"Figure 1: the {len(patterns)} regions of the arrangement of 3 points in R^2,\n"
                 "each labelled with its pattern (1[x_1^T w >= 0], 1[x_2^T w >= 0], 1[x_3^T w >= 0])", fontsize=9)


def draw_phase_diagram(ax, transition=None):
    """n on the x axis and d on the y axis, as the maps of the other figures; the axes
    reach the paper's grid (n <= 400, d <= 100) or the largest measured d."""
    rows = transition["rows"] if transition else []
    d_top = max([100] + [1.05 * row["d"] for row in rows])
    n_top = 4 * d_top
    n = np.linspace(0, n_top, 401)
    ax.fill_between(n, n, d_top, where=n <= d_top, color="0.85", label="n < d: nothing recovers")
    ax.fill_between(n, n / 2, np.minimum(n, d_top), color="#f6c28b", label="d <= n < 2d: only the linear fit recovers")
    ax.fill_between(n, 0, np.minimum(n / 2, d_top), color="#9ecae1", label="n >= 2d: the ReLU network recovers too")
    ax.plot(n, n, "k-", linewidth=1)
    ax.plot(n, n / 2, "k--", linewidth=1.5)
    if rows:
        ds = np.array([row["d"] for row in rows])
        n_star = np.array([row["n_star_over_d"] for row in rows]) * ds
        intervals = np.array([row["n_star_over_d_95"] for row in rows]) * ds[:, None]
        ax.errorbar(n_star, ds, xerr=[n_star - intervals[:, 0], intervals[:, 1] - n_star], fmt="o", color="C3",
                    capsize=3, label=f"measured 50% point of recovery ({transition['experiment']}, transition.py)")
    ax.set_xlim(0, n_top)
    ax.set_ylim(0, d_top)
    ax.set_xlabel("n")
    ax.set_ylabel("d")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("Figure 2 (reading, medium confidence): Corollary 1's phase diagram", fontsize=9)


def draw_wendel_map(ax):
    n, d = np.arange(10, 401), np.arange(10, 101)
    probability = arrangement.wendel_probability(n[None, :], d[:, None])
    filled = ax.contourf(n, d, probability, levels=np.linspace(0, 1, 11), cmap="jet")
    ax.plot(n[n <= 200], n[n <= 200] / 2, "k--", linewidth=1.5, label="n = 2d")
    ax.figure.colorbar(filled, ax=ax, label="P(the all-ones pattern exists)")
    ax.set_xlabel("n")
    ax.set_ylabel("d")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Figure 3 (reading, low confidence): Wendel's P(n, d), Gaussian data", fontsize=9)


def parse(argv=None):
    """The command line (argv, default sys.argv), every flag validated before any work."""
    parser = runner.OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, required=True, help="the figure: 1, 2 or 3")
    parser.add_argument("--figure", required=True, help="the PNG to write")
    parser.add_argument("--transition", default=None,
                        help="Figure 2 only: a transition.py JSON whose measured 50%% points are drawn")
    args = parser.parse_args(argv)
    if args.number not in NUMBERS:
        parser.error(f"--number must be one of 1, 2, 3; got {args.number}")
    runner.validate_figure_path(parser, args.figure)
    if args.transition is not None and args.number != 2:
        parser.error("--transition applies to --number 2 only")
    if args.transition is not None:
        try:
            with open(args.transition) as stream:
                args.transition_summary = json.load(stream)
            [(row["d"], row["n_star_over_d"], row["n_star_over_d_95"]) for row in args.transition_summary["rows"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            parser.error(f"--transition {args.transition!r} is not a transition.py JSON ({type(error).__name__})")
    return args


def main():
    args = parse()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 6.0), constrained_layout=True)
    if args.number == 1:
        draw_arrangement(ax)
    elif args.number == 2:
        draw_phase_diagram(ax, getattr(args, "transition_summary", None))
    else:
        draw_wendel_map(ax)
    runner.save_figure(fig, args.figure, dpi=110)
    plt.close(fig)
    print(args.figure)


if __name__ == "__main__":
    main()
