"""Figures of the paper by one command: the catalog, the runs behind each panel, the composed PNG.

    python figures.py --list                     the catalog, with the runs and estimated times
    python figures.py fig6 [--scale quick]       run what Figure 6 needs, write figures/fig6.png
    python figures.py all --scale quick          every figure of the catalog

Each panel is one run of a script of the suite, into --results (default ./results/).
A run whose state is complete (of the panel's settings and code version, its array and
sidecar what the state derives) is reused without starting the script; an unfinished
one is continued (--resume), so a figure is recomposed without recomputation. --scale
paper (the default) uses the paper's grid and trials, --scale quick a reduced grid
(n <= 100, d <= 50, 3 trials) of the same figure, written as figures/<name>_quick.png.
--jobs and --scheduler pass through to the scripts. A run made by another code version
is refused unless --any-version, which composes a finished one as it is (saying so) and
still refuses an unfinished one: gallery/'s runs, after a change of the code.

The catalog follows the paper's text and, where the text lost a setting, the authors'
code; CHOICES lists every such choice. Figures the catalog does not reproduce
are listed by --list with the reason.
"""

import argparse
import contextlib
import dataclasses
import importlib
import io
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass

import numpy as np

import arrangement
import runner

ROOT = os.path.dirname(os.path.abspath(__file__))
SIGMAS = ("0", "0.05", "0.1", "0.2")
QUICK = {"n": 100, "d": 50, "sample": 3}


@dataclass(frozen=True)
class Panel:
    """One panel: a title, the script (module name) and its flags, and the array it draws."""

    title: str
    script: str
    flags: tuple
    array: str


@dataclass(frozen=True)
class Figure:
    """A figure of the paper: what it shows, its panels (drawn in rows of `columns`), and
    the paper's grid (n <= n, d <= d; for scripts with their own axes, their --n and
    --d) and trials per cell; quick: (n, d, sample) at --scale quick where the
    QUICK caps do not fit the figure. kind: "map" (a colour map per panel) or "curves" (one
    curve per value of the first axis against the second)."""

    what: str
    panels: tuple
    n: int
    d: int
    sample: int
    columns: int = 4
    kind: str = "map"
    quick: tuple | None = None  # (n, d, sample) at --scale quick where QUICK does not fit
    reading: str = ""  # where the text does not say what the figure shows: our reading of it (in its title)
    confidence: str = ""  # of the reading: high, medium, medium-low, low-medium, low
    evidence: str = ""  # what the reading rests on (--list prints it)
    note: str = ""  # what a reader must know to read the figure (--list prints it)


@dataclass(frozen=True)
class Drawing:
    """A figure of the paper drawn from its definition by illustrations.py, no runs:
    what it shows, our reading and its confidence, and the extension whose results it
    draws over (Figure 2: the transition's measured 50% points), run first."""

    what: str
    number: int
    reading: str
    confidence: str
    needs: str = ""
    note: str = ""


SAMPLED = ("(14) is built over the authors' pattern sample (max(n, 50) random directions, --patterns sampled), "
           "so a boundary here is the sample's: over the whole arrangement (14) recovers one neuron only where its "
           "pattern has >= d rows, P(Bin(n, 1/2) >= d), 50% at n ~ 2d, and two or three neurons later than the sample "
           "shows (ext_patterns; docs/math.md, section 8)")
# the training form of Figures 31 and 32: its boundary is not the sample's (measured on Figure 32's run)
SAMPLED_13 = ("(13) is built over the authors' pattern sample (max(n, 50) random directions), but its boundary is "
              "not the sample's: its cones admit a neuron only through the projection of w onto its pattern's rows, "
              "which keeps w's signs when the pattern has >= d rows and rarely otherwise, so one neuron is recovered "
              "about as often as P(Bin(n, 1/2) >= d), 50% at n ~ 2d, where (14) over the same sample recovers from "
              "n = d + 10 (docs/math.md, section 8)")
NNIC_SAMPLED = ("the check runs over the authors' pattern sample (max(2n, 50) random directions); over the whole "
                "arrangement NNIC is stricter (see ext_patterns for (14) itself)")
LOST_COMPANION = ("not mentioned in the text, and no image of its own survives; it directly follows Figure {}, so "
                  "it is probably a companion whose float was lost, and the panels drawn are our choice")


def sigma_panels(script, array, flags=()):
    return tuple(Panel(f"sigma = {sigma}", script, (*flags, "--sigma", sigma), array) for sigma in SIGMAS)


DATA = (("Gaussian", "0"), ("cubic", "1"), ("Haar", "2"), ("whitened cubic", "3"))
NEURONS = {"2 neurons, Gaussian": ("--neu", "2", "--optw", "0"), "2 neurons, e_1, e_2": ("--neu", "2", "--optw", "1"),
           "2 neurons, w2 = -w1": ("--neu", "2", "--optw", "2"), "3 neurons, Gaussian": ("--neu", "3", "--optw", "0"),
           "3 neurons, e_1, e_2, e_3": ("--neu", "3", "--optw", "1")}


def neuron_panels(script, array, names, flags=()):
    return tuple(Panel(name, script, (*NEURONS[name], *flags), array) for name in names)


def min_norm_norm(what, names):
    """Figures 37-39: dis_abs of (14), one planted setting, sigma panels."""
    return Figure(what, sigma_panels("minnrm_norm", "dis_abs_minnrm_norm", NEURONS[names]), 400, 80, 5, note=SAMPLED)


def trained_norm(names):
    """Figures 40-43: dis_test of trained normalisation nets, one planted setting, sigma panels."""
    return Figure(f"test distance of trained normalisation networks, {names}",
                  sigma_panels("ncvx_train_norm", "dis_test_ncvx_train_norm", NEURONS[names]), 400, 80, 10)


CATALOG = {
    "fig4": Figure("recovery rate of a linear neuron with skip: the exact program (11) and its relaxation (12)",
                   (Panel("exact (11)", "rec_rate_skip", ("--optw", "0", "--program", "11"), "rec_rate_exact_skip"),
                    Panel("relaxed (12)", "rec_rate_skip", ("--optw", "0"), "rec_rate_skip")), 400, 100, 5, 2),
    "fig5": Figure("recovery rate with the normalisation layer, 2 and 3 planted neurons, (14)",
                   (Panel("2 neurons", "rec_rate_norm", ("--neu", "2"), "rec_rate_norm"),
                    Panel("3 neurons", "rec_rate_norm", ("--neu", "3"), "rec_rate_norm")), 400, 80, 5, 2, note=SAMPLED),
    "fig6": Figure("recovery rate of a linear neuron by (12), random planted neuron (optw 0)",
                   tuple(Panel(name, "rec_rate_skip", ("--optw", "0", "--optx", x), "rec_rate_skip")
                         for name, x in DATA), 400, 100, 5),
    "fig21": Figure("recovery rate of a linear neuron by (12), smallest singular vector (optw 1)",
                    tuple(Panel(name, "rec_rate_skip", ("--optw", "1", "--optx", x), "rec_rate_skip")
                          for name, x in DATA), 400, 100, 5),
    "fig7": Figure("absolute distance dis_abs of the min-norm solution of (12) under label noise, optw 1",
                   sigma_panels("minnrm_skip", "dis_abs_minnrm_skip"), 400, 100, 5),
    "fig22": Figure("test distance dis_test of the min-norm solution of (12), optw 1 (Figure 7's runs)",
                    sigma_panels("minnrm_skip", "dis_test_minnrm_skip"), 400, 100, 5,
                    reading="Figure 7's test distances", confidence="low",
                    evidence=LOST_COMPANION.format(21) + " (the text's 'similar' is said of 21 against 6 and of 23 "
                             "against 7, never of 22)"),
    "fig23": Figure("absolute distance dis_abs of the min-norm solution of (12), random planted neuron (optw 0)",
                    sigma_panels("minnrm_skip", "dis_abs_minnrm_skip", ("--optw", "0")), 400, 100, 5,
                    reading="'In Figure 23 below, we find similar pattern' to Figure 7's dis_abs; the other planted "
                            "neuron, as Figure 21 is Figure 6's", confidence="medium-low"),
    "fig24": Figure("test distance dis_test of the min-norm solution of (12), random planted neuron (optw 0)",
                    sigma_panels("minnrm_skip", "dis_test_minnrm_skip", ("--optw", "0")), 400, 100, 5,
                    reading="Figure 23's test distances", confidence="low", evidence=LOST_COMPANION.format(23)),
    "fig8": Figure("test distance of trained skip networks (400 AdamW steps), optw 1",
                   sigma_panels("ncvx_train_skip", "dis_test_ncvx_train_skip"), 400, 100, 10),
    "fig9": Figure("dis_abs of (14), 2 neurons with w2 = -w1",
                   sigma_panels("minnrm_norm", "dis_abs_minnrm_norm", ("--neu", "2", "--optw", "2")), 400, 80, 5,
                   note=SAMPLED),
    "fig10": Figure("probability that NNIC-k holds",
                    neuron_panels("nic_norm", "nic_norm", ("2 neurons, Gaussian", "2 neurons, e_1, e_2",
                                                           "2 neurons, w2 = -w1", "3 neurons, Gaussian")),
                    400, 80, 50, reading="the NNIC-k probability over the planted settings of Figures 9 and 35-39",
                    confidence="medium", evidence="numbered only by its position: the text never names Figure 10",
                    note=NNIC_SAMPLED),
    "fig11": Figure("probability that NNIC-k holds, planted neurons e_1, ..., e_k (optw 1)",
                    tuple(Panel(f"{k} neuron(s), e_j", "nic_norm", ("--neu", str(k), "--optw", "1"), "nic_norm")
                          for k in (1, 2, 3)), 400, 80, 50, 3,
                    reading="Figure 10's NNIC probability with the e_j neurons", confidence="low",
                    evidence=LOST_COMPANION.format(10) + "; Figures 10 and 11 share one slot of 4 images, where the "
                             "suite draws 4 + 3 panels", note=NNIC_SAMPLED),
    "fig13": Figure("Theorem 10: exactly one active neuron (the linear one) in the group lasso (25), d = 20",
                    tuple(Panel(f"sigma = {sigma}", "lasso_skip", ("--sigma", sigma), "rec_rate_lasso_skip")
                          for sigma in SIGMAS[1:]), 200, 20, 5),
    "fig19": Figure("Proposition 23: P(the pattern of mu1/|mu1| - mu2/|mu2| splits a Gaussian mixture), n = 100",
                    tuple(Panel(title, "prob_mixture", ("--optmu", optmu), "prob_mixture")
                          for title, optmu in (("mu = +-1", "0"), ("Gaussian mu", "1"), ("unit Gaussian mu", "2"))),
                    100, 80, 5000, kind="curves", quick=(100, 80, 500),
                    note="the text speaks of S-shaped curves; two of the three panels are flat at 1 over s = 1 to "
                         "8.5, in the authors' ReLU/prob.py too: only the unit-norm means give an S-curve"),
    "fig25": Figure("dis_abs of the skip training form of (11), optw 1",
                    sigma_panels("cvx_train_skip", "dis_abs_cvx_train_skip"), 400, 100, 5),
    "fig26": Figure("dis_test of the skip training form of (11), optw 1",
                    sigma_panels("cvx_train_skip", "dis_test_cvx_train_skip"), 400, 100, 5),
    "fig27": Figure("recovery rate of one normalised ReLU neuron by (14)",
                    (Panel("1 neuron, Gaussian", "rec_rate_norm", ("--neu", "1"), "rec_rate_norm"),), 400, 100, 5, 1,
                    reading="Appendix L-C's recovery of one normalised neuron by (14)", confidence="medium",
                    evidence="numbered only by its position: the text never names Figure 27", note=SAMPLED),
    "fig28": Figure("recovery rate of one normalised ReLU neuron by (14), planted e_1 (optw 1)",
                    (Panel("1 neuron, e_1", "rec_rate_norm", ("--neu", "1", "--optw", "1"), "rec_rate_norm"),),
                    400, 100, 5, 1, reading="Figure 27 with the other planted neuron (optw 1)", confidence="low",
                    evidence=LOST_COMPANION.format(27), note=SAMPLED),
    "fig29": Figure("dis_abs of (14), one neuron", sigma_panels("minnrm_norm", "dis_abs_minnrm_norm"), 400, 100, 5,
                    note=SAMPLED),
    "fig30": Figure("dis_abs of (14), one neuron, planted e_1 (optw 1)",
                    sigma_panels("minnrm_norm", "dis_abs_minnrm_norm", ("--optw", "1")), 400, 100, 5,
                    reading="Figure 29 with --optw 1", confidence="low",
                    evidence=LOST_COMPANION.format(29) + "; the authors kept no _w1_ run of the min-norm script",
                    note=SAMPLED),
    "fig31": Figure("dis_abs of the training form of (13), one neuron",
                    sigma_panels("cvx_train_norm", "dis_abs_cvx_train_norm", ("--neu", "1")), 400, 100, 5,
                    note=SAMPLED_13),
    "fig32": Figure("dis_abs of the training form of (13), one neuron, planted e_1 (optw 1)",
                    sigma_panels("cvx_train_norm", "dis_abs_cvx_train_norm", ("--neu", "1", "--optw", "1")),
                    400, 100, 5, reading="Figure 31 with --optw 1 (the authors kept _w1_ runs of the training form)",
                    confidence="low-medium",
                    evidence=LOST_COMPANION.format(31) + "; the authors kept one _w1_ run of their training-form "
                             "script (n40_d20, 2 trials)", note=SAMPLED_13),
    "fig33": Figure("test distance of trained normalisation networks, one neuron",
                    sigma_panels("ncvx_train_norm", "dis_test_ncvx_train_norm"), 400, 100, 10),
    "fig34": Figure("test distance of trained normalisation networks, one neuron, planted e_1 (optw 1)",
                    sigma_panels("ncvx_train_norm", "dis_test_ncvx_train_norm", ("--optw", "1")), 400, 100, 10,
                    reading="Figure 33 with --optw 1 (the authors kept _w1_ runs of the trained networks)",
                    confidence="low-medium",
                    evidence=LOST_COMPANION.format(33) + "; the authors kept one _w1_ run of their trained "
                             "normalisation networks (n400_d100, 1 trial)"),
    "fig35": Figure("recovery rate of planted normalised neurons by (14): Figures 35 and 36, one group of 4 panels",
                    neuron_panels("rec_rate_norm", "rec_rate_norm", ("2 neurons, Gaussian", "2 neurons, e_1, e_2",
                                                                     "2 neurons, w2 = -w1", "3 neurons, Gaussian")),
                    400, 80, 5, reading="Appendix L-C's noiseless maps, one group of 4 images numbered 35 and 36; "
                                        "the four planted settings of its noisy Figures 9 and 37-39",
                    confidence="medium", note=SAMPLED),
    "fig37": min_norm_norm("dis_abs of (14), 2 Gaussian neurons", "2 neurons, Gaussian"),
    "fig38": min_norm_norm("dis_abs of (14), 2 neurons e_1, e_2", "2 neurons, e_1, e_2"),
    "fig39": min_norm_norm("dis_abs of (14), 3 Gaussian neurons", "3 neurons, Gaussian"),
    "fig40": trained_norm("2 neurons, Gaussian"),
    "fig41": trained_norm("2 neurons, e_1, e_2"),
    "fig42": trained_norm("2 neurons, w2 = -w1"),
    "fig43": trained_norm("3 neurons, Gaussian"),
}
ALIASES = {"fig36": "fig35"}  # numbered apart in the paper, one group of panels in its text
DRAWINGS = {
    "fig1": Drawing("a 2-D arrangement: 3 points, the lines perpendicular to them, 6 regions with their patterns",
                    1, "the text: 'a 2-dimensional example ... with three hyperplanes, is presented in Figure 1'",
                    "high"),
    "fig2": Drawing("Corollary 1's phase diagram in the (n, d) plane, with the measured 50% points of (12)", 2,
                    "'this corollary is illustrated in Figure 2 as a phase diagram'", "medium",
                    needs="ext_transition_skip",
                    note="the band where only the linear fit recovers holds for a w meeting Corollary 1's condition "
                         "(Proposition 7); the exact program (11) recovers a random w from n ~ 1.1d (Figure 4); the "
                         "red points are the 50% points of (12), measured by transition.py"),
    "fig3": Drawing("Wendel's probability P(n, d) that the all-ones pattern exists, Gaussian data", 3,
                    "not named in the text; two images open Section V, right after '...through an application of "
                    "the kinematic formula for convex cones', which gives the all-ones pattern's probability: our "
                    "reading of the first", "low"),
}


@dataclass(frozen=True)
class Extension:
    """A result beyond the paper, made by one script that draws its own figure (--figure).
    flags: {scale: flags}; inputs: {scale: panels} whose arrays the script compares
    against (--compare), run first; seconds: {scale: wall seconds measured here}."""

    what: str
    script: str
    flags: dict
    seconds: dict
    inputs: dict = dataclasses.field(default_factory=dict)


def trained_skip(n, d, sample):
    return (Panel("trained skip networks, sigma 0", "ncvx_train_skip",
                  ("--n", str(n), "--d", str(d), "--sample", str(sample), "--sigma", "0"), "dis_test_ncvx_train_skip"),)


QUICK_TRANSITION = ("--sample", "20", "--bootstrap", "100")
EXTENSIONS = {
    "ext_transition_skip": Extension(
        "EXTENSION, not in the paper: the transition of (12) per d, fitted n*/d with 95% intervals and 10-90% widths",
        "transition", {"paper": (), "quick": ("--ds", "10", "20", *QUICK_TRANSITION)},
        {"paper": 357, "quick": 8}),
    "ext_transition_norm2": Extension(
        "EXTENSION, not in the paper: the same for (14) with 2 normalised neurons",
        "transition", {"paper": ("--experiment", "norm", "--neu", "2", "--ds", "10", "20", "40"),
                       "quick": ("--experiment", "norm", "--neu", "2", "--ds", "10", *QUICK_TRANSITION)},
        {"paper": 171, "quick": 7}),
    "ext_failure_split": Extension(
        "EXTENSION, not in the paper: the failures of (12) split by whether the all-ones pattern exists, optw 0 and 1",
        "failure_split", {"paper": (), "quick": ("--ds", "10", "20", "--sample", "10")},
        {"paper": 60, "quick": 7}),
    "ext_kernel": Extension(
        "EXTENSION, not in the paper: the kernel bound's measure sqrt(2 y^T H^-1 y / n) beside trained skip "
        "networks' dis_test (optw 1, sigma 0)",
        "kernel_measure", {"paper": ("--n", "400", "--d", "100", "--sample", "10", "--sigma", "0"),
                           "quick": ("--n", "60", "--d", "30", "--sample", "3", "--sigma", "0")},
        {"paper": 230, "quick": 6},
        {"paper": trained_skip(400, 100, 10), "quick": trained_skip(60, 30, 3)}),
    "ext_patterns": Extension(
        "EXTENSION, not in the paper: (14) for 1, 2 and 3 planted neurons over the sampled patterns, their one-flip "
        "neighbours and (d = 3) the whole arrangement, with the one-neuron closed form P(Bin(n, 1/2) >= d)",
        "pattern_sets", {"paper": (), "quick": ("--ds", "10", "--sample", "4", "--ratio_max", "6")},
        {"paper": 1802, "quick": 86}),
}

PAPER_FIGURES = 43
LIMIT_FUNCTIONS = ("a limit function of the theory (Figure 12 'by the numerical quadrature of the survival "
                   "function', 14 and 16 functions 'we plot'), whose formula the paper's text lost")
NOT_REPRODUCED = {**{f"fig{number}": LIMIT_FUNCTIONS for number in (12, 14, 15, 16, 17, 18)},
                  "fig20": "not mentioned in the text, and no saved run of the authors suggests what it shows"}
CHOICES = [
    "noise levels sigma in {0, 0.05, 0.1, 0.2} (the text says only 'various noise levels')",
    "5 trials per cell for convex programs, 10 for trained networks (the authors' README)",
    "Figure 4 and Figure 6 use optw 0; Figures 7, 8, 25, 26 optw 1 (the reference default)",
    "Figure 5 and Figures 9, 10 use d <= 80 (as Figures 35-43)",
    "Figure 7 shows dis_abs ('absolute distance by solving (12)'); its runs' dis_test maps are Figure 22",
    "Figure 10's four panels: 2 neurons with optw 0, 1, 2 and 3 Gaussian neurons",
    "Figure 13: d = 20, n <= 200, 25 values of lambda log-spaced over [1e-3, 10], sigma 0.05, 0.1, 0.2 as its "
    "three panels, lambda on the x axis (log scale) and n on the y axis; success = w0 active and every ReLU block "
    "zero (norms against 1e-4)",
    "Figure 19: z ~ N(0, I_d / s^2), s = 1, 1.5, ..., 8.5; panels mu = +-(1, ..., 1), Gaussian, unit Gaussian "
    "(the authors' optmu 1, 2, 3); the random means drawn once per (d, s) point, as the authors do",
    "Figures 35-43 (settings lost with the captions): 35-36 recovery with 2 neurons, optw 0, 1, 2, and 3 Gaussian "
    "neurons; 37-39 dis_abs with sigma panels for 2 Gaussian, 2 e_j and 3 Gaussian neurons (Figure 9 has "
    "w2 = -w1); 40-43 trained nets' dis_test with sigma panels for 2 Gaussian, 2 e_j, w2 = -w1 and 3 Gaussian "
    "neurons; all d <= 80",
]

# Seconds per trial on this machine, as a grid worker runs it (one BLAS thread, the other
# core busy with the second worker): fixed + scale (n / 100)^n_power (d / 50)^d_power,
# fitted by `python bench/cost_model.py --fit` (2026-11-30, load 0.3 before it started)
# on the cells it lists; that bench prints each cell's measured time beside this model.
# Keys: each script's cost_key(args) (its contract). Trained nets: per trial of a cell of
# 10, batched as the runs batch them; in a run their size term is the bench's times
# RUN_FACTOR, calibrated on whole paper-scale runs (2 workers): the skip nets' 0.44 on a
# Figure 8 panel (ncvx_train_skip --n 400 --d 100 --sample 10 --sigma 0: 281.5 s, where
# the bench's cells added up to 602 s), the normalisation nets' 1.39 on Figure 40's four
# runs (ncvx_train_norm --neu 2 --optw 0 --n 400 --d 80 --sample 10, sigma 0 to 0.2:
# 271-289 s each, where the bench's cells added up to 208 s). The bench times each cell
# alone after a small warm-up, which misjudges torch's large cells inside a long run one
# way for the skip nets and the other for the normalisation nets. At quick scale, where
# the size term is small, both matched measured runs at 0.44 (0.94-1.02); 1.39 raises the
# normalisation nets' quick estimates by 6%.
COST = {
    "rec_rate_skip": (0.01435, 0.01502, 1.359, 1.195),
    "minnrm_skip": (0.01077, 0.01099, 2.36, 0.3181),
    "rec_rate_norm": (0.01658, 0.06928, 2.104, 1.331),
    "rec_rate_norm, 1 neuron": (0.01289, 0.07572, 1.801, 1.343),
    "minnrm_norm": (0.01582, 0.0657, 1.935, 1.265),
    "nic_norm": (0.003793, 0.07523, 1.467, 1.304),
    # refitted 2026-12-06 on the exact route with early removal and the gap stop (issue 31):
    # load 0.3 before the bench started, 11 of 11 cells within 1.15x of the fit
    "cvx_train_skip, sigma > 0": (0.1031, 0.2753, 2.814, 0.4874),
    "cvx_train_norm, sigma > 0": (0.07233, 0.7154, 2.149, 1.386),
    "lasso_skip": (0.008385, 0.005684, 1.801, 0.0),  # refitted 2026-11-30 for (25) on the whitened data
    "prob_mixture": (9.5e-5, 0.0, 0.0, 0.0),  # per draw; the Figure 19 runs at both scales
    "ncvx_train_skip": (0.01229, 0.01905, 2.745, -0.6479),  # size term: the bench's; RUN_FACTOR 0.44
    "ncvx_train_norm": (0.01404, 0.02266, 2.008, 0.962),
}
# The noiseless exact and training forms take the relaxation's shortcut unless its
# solution is not sign-consistent, which the all-ones pattern forces: with probability
# P(n / shift, d) (Wendel's P, its n scaled down by shift) a trial costs what the exact
# route costs (the noisy training form's law), else what the relaxation costs. (key:
# (exact route, relaxation, shift)). The shifts were read off paper-scale grids with one
# trial per cell (2026-11-30): cvx_train_skip.py --sigma 0 --n 400 --d 100 (its default
# optw 1, as Figures 25/26) took the exact route in every cell with n < 2.5d, in 84% of
# those with 2.5d <= n < 3d and 7% of those with 3d <= n < 4d (the planted smallest
# singular vector is recovered right of n = 2d); cvx_train_norm.py --sigma 0 --neu 1
# --n 400 --d 50 in 67-78% of the cells with d <= n < 2.5d and none beyond.
MIXED = {
    "rec_rate_skip (11)": ("cvx_train_skip, sigma > 0", "rec_rate_skip", 1.0),
    "cvx_train_skip": ("cvx_train_skip, sigma > 0", "rec_rate_skip", 1.4),
    "cvx_train_norm": ("cvx_train_norm, sigma > 0", "minnrm_norm", 1.15),
}
# A whole run's large cells take longer than the bench's cells: two workers each in a
# large solve share the memory bandwidth the whole time. The noisy training forms' size
# term (fitted on the bench's cells) times this factor, calibrated on paper-scale grids
# with one trial per cell (2026-11-30, 2 workers): cvx_train_skip.py --sigma 0.1 --n 400
# --d 100 --sample 1 took 969 s where the bench's fit said 685 s; cvx_train_norm.py
# --sigma 0.1 --neu 1 --n 400 --d 50 --sample 1 took 545 s where it said 337 s. (The
# trained nets run faster inside a run: their factor is the 0.44 above.) Recalibrated on
# the same two grids once the exact route solved the whole program where n > 3d
# (2026-11-30, later, the machine otherwise idle): 1017 s (skip, 1.49) and 379 s
# (normalisation, 1.13; 2952660's route took 556 s on it that day, and 978 s on the skip grid).
# Recalibrated for the exact route's early removal and gap stop (2026-12-06) before any
# whole run of it: the two grids' measured times above divided by the route's speed-up
# measured side by side (bench/solver_bench.py --baseline 2dd3277, 3 instances a cell,
# load 0.5: 1.33x at skip (400, 100), 1.39x at normalisation (400, 80), the cells where
# these runs spend their time), over the refitted entries' sums for the same grids (772 s
# and 250 s): 1017 / 1.33 / 772 = 0.99 and 379 / 1.39 / 250 = 1.09. The normalisation
# form's 1.09 was 13% and 23% low on the route's first whole runs, Figure 32's sigma =
# 0.05 and 0.1 (--neu 1 --optw 1 --n 400 --d 100 --sample 5: 7085 s and 7703 s where
# 6256 s was estimated, 2026-12-06/07): now 1.29, fitted to those two (in-sample; the
# sigma = 0.2 run: 0.98x). The skip form's 0.99, out of sample on its own grid at the new
# route (2026-12-07): 813 s against 766 s (1.06x).
# The NNIC check's 0.87: the
# six paper-scale runs of Figures 10 and 11 (nic_norm --n 400 --d 80 --sample 50, neu/optw
# 2/0, 2/1, 2/2, 3/0, 1/1, 3/1) took 9315 s where the bench's law gave 10685 s (0.81-0.99
# a run, load 2.0 with the runs alone; 0.87 on the size term, the fixed one is 2%).
# The noisy min-norm (14)'s 1.30: the six noisy runs of Figures 30 and 39 at code version
# source-cffba7f2f97a2d0d (minnrm_norm --n 400 --d 100 --neu 1 --optw 1 and --n 400 --d 80
# --neu 3, sigma 0.05, 0.1, 0.2) took 522-526 s and 341-350 s where the bench's law gave
# 413 s and 259 s (1.27-1.35x); with 1.30 on the size term each run is within 0.98-1.05x.
RUN_FACTOR = {"cvx_train_skip, sigma > 0": 0.99, "cvx_train_norm, sigma > 0": 1.29,
              "ncvx_train_skip": 0.44, "ncvx_train_norm": 1.39, "nic_norm": 0.87, "minnrm_norm": 1.30}
# entries whose fixed part was fitted per trial of a batched cell of 10 trained nets, and
# is paid once per cell
FIXED_PER_CELL = ("ncvx_train_skip", "ncvx_train_norm")
# a run's start-up beside its trials: imports, and the worker processes importing the suite
RUN_START_S = {"convex": 1.6, "trained": 5.6}  # measured by bench/cost_model.py


def trial_seconds(key, n, d, in_a_run=True):
    """Predicted seconds of one trial of a (n, d) cell for the COST or MIXED entry `key`,
    inside a whole run (RUN_FACTOR), or with in_a_run=False as the bench times a cell."""
    if key in MIXED:
        exact, relaxed, shift = MIXED[key]
        share = float(arrangement.wendel_probability(max(1, round(n / shift)), d))
        # both parts at the bench's cost: the shifts were read off whole runs so, and
        # RUN_FACTOR's entries are the noisy runs' (a noiseless run's exact solves are the
        # small ones near the transition: Figure 32's noiseless run took 1.02x of this law)
        return share * trial_seconds(exact, n, d, False) + (1 - share) * trial_seconds(relaxed, n, d, False)
    if key not in COST:
        sys.exit(f"figures.py: no cost entry {key!r} in figures.COST; fit one with "
                 f"python bench/cost_model.py --fit (add its cells to bench/cost_model.CELLS)")
    fixed, scale, n_power, d_power = COST[key]
    factor = RUN_FACTOR.get(key, 1.0) if in_a_run else 1.0
    return fixed + factor * scale * (n / 100) ** n_power * (d / 50) ** d_power


def cell_seconds(key, n, d, sample):
    """Predicted seconds of a cell's `sample` trials. The trained nets run a cell's trials
    as one batch, so their fixed part (fitted per trial at 10 trials a cell) is paid once
    per cell: at 3 trials a cell (--scale quick) a trial costs more than at 10."""
    if key in FIXED_PER_CELL:
        fixed = COST[key][0]
        return 10 * fixed + sample * (trial_seconds(key, n, d) - fixed)
    return sample * trial_seconds(key, n, d)


def scaled(figure, scale):
    if scale == "paper":
        return figure.n, figure.d, figure.sample
    return figure.quick or (min(figure.n, QUICK["n"]), min(figure.d, QUICK["d"]), QUICK["sample"])


def arguments(figure, panel, scale, results, extra=()):
    n, d, sample = scaled(figure, scale)
    return [*panel.flags, "--n", str(n), "--d", str(d), "--sample", str(sample), "--save_folder", results, *extra]


def parsed(panel, argv):
    """The panel's arguments as its script parses and validates them (quietly). The
    folder is checked by the script when it runs, not here: a read-only --results holding
    complete runs is only read."""
    import tempfile

    module = importlib.import_module(panel.script)
    at = argv.index("--save_folder") + 1
    with contextlib.redirect_stdout(io.StringIO()):
        args = module.parse([*argv[:at], tempfile.gettempdir(), *argv[at + 1:]])
    args.save_folder = argv[at]
    return args


def array_path(panel, args):
    with_sigma = importlib.import_module(panel.script).WITH_SIGMA
    return os.path.join(args.save_folder, runner.file_stem(panel.array, args, with_sigma) + ".npy")


def run_verdict(panel, args, path, any_version=False):
    """What --results holds for a panel's run, decided by the run's state, not by its
    derived files: ("complete", ""), the state is complete, of the panel's identity
    (settings and code version), and the array and sidecar at path are what it derives;
    ("other", differences), the state is another run's; ("run", reason), anything else
    (nothing yet, unfinished, or derived files that disagree with the state), which the
    script continues or derives again. The sidecar only locates the state.

    any_version: a run of the panel's settings made by another code version counts as
    ("complete", "made by code version ...") when it is finished, without failed trials,
    and its files are what its state derives; it is composed as it is, never continued
    or derived again here (this code did not make it), so otherwise it stays "other"."""
    import plot

    if not (os.path.exists(path) and os.path.exists(os.path.splitext(path)[0] + ".json")):
        return "run", ""
    try:
        array, sidecar = plot.load(path)[:2]
    except ValueError as error:
        return "run", f"{str(error).split('; ')[0]}; deriving both again from the run's state"
    module = importlib.import_module(panel.script)
    metrics = list(module.outputs(args))
    metric = next(metric for metric, prefix in module.outputs(args).items() if prefix == panel.array)
    (_, rows), (_, columns) = module.axes(args)
    try:
        state = runner.RunState.load(os.path.join(args.save_folder, str(sidecar.get("state"))), metrics,
                                     (len(rows), len(columns), args.sample))
    except ValueError:
        return "run", ""  # the script reads the state itself, and says what is wrong with it
    run_identity = runner.identity(args, module.NEUTRAL_FLAGS)
    made_by = state.provenance.get("code_version")
    differences = "; ".join(runner.identity_differences(state.arguments, run_identity, True, made_by))
    other_version = made_by != runner.code_version()
    if differences and not (any_version and other_version
                            and not runner.identity_differences(state.arguments, run_identity)):
        return "other", differences
    finished = state.done.all() and not state.failed().any()
    agrees = (finished and np.array_equal(array, state.arrays[metric], equal_nan=True)
              and sidecar.get("code_version") == made_by
              and not runner.identity_differences(sidecar.get("args", {}), run_identity)
              and sidecar.get("trials_done") == state.done.size)
    if other_version:  # accepted by any_version above: composed as it is or not at all
        if agrees:
            return "complete", f"made by code version {made_by} (this is {runner.code_version()})"
        return "other", (f"{differences}, and it is {'not finished' if not finished else 'not what its state derives'} "
                         f"(its script's --resume --resume-any-version continues it as a mixed-version run)")
    if not finished:
        return "run", ""
    if not agrees:
        return "run", "its array or sidecar is not what the run's state derives; deriving both again from the state"
    return "complete", ""


def cell_sizes(panel, args):
    """(n, d) of every cell a panel runs, from its script's contract: the cells of its
    axes(args) that its skip_cell keeps, sized by the axes' n and d (an axis other than
    n or d, such as lambda, leaves --n or --d as the size)."""
    module = importlib.import_module(panel.script)
    (rows, row_values), (columns, column_values) = module.axes(args)
    sizes = []
    for a in row_values:
        for b in column_values:
            if module.skip_cell(a, b, args) is None:
                cell = {"n": getattr(args, "n", None), "d": getattr(args, "d", None), rows: a, columns: b}
                sizes.append((int(cell["n"]), int(cell["d"])))
    return sizes


def estimate(figure, scale, workers=2):
    """(trials, estimated wall seconds on `workers` cores) of a figure's runs (shared runs once)."""
    runs, trials, seconds = set(), 0, 0.0
    for panel in figure.panels:
        if (panel.script, panel.flags) in runs:
            continue
        runs.add((panel.script, panel.flags))
        args = parsed(panel, arguments(figure, panel, scale, "results/"))
        sizes = cell_sizes(panel, args)
        trials += len(sizes) * args.sample
        key = importlib.import_module(panel.script).cost_key(args)
        seconds += sum(cell_seconds(key, n, d, args.sample) for n, d in sizes) / workers
        seconds += RUN_START_S["trained" if panel.script.startswith("ncvx") else "convex"]
    return trials, seconds


def reading_note(item):
    """'reading (confidence): ...' for a figure the text does not pin down, else ''."""
    return f"reading ({item.confidence} confidence): {item.reading}" if item.reading else ""


def show_catalog(scale):
    print(f"figure catalog (--scale {scale}; estimated wall time on this 2-core machine, rough)\n")
    for number in range(1, PAPER_FIGURES + 1):
        name = f"fig{number}"
        if name in DRAWINGS:
            drawing = DRAWINGS[name]
            note = f"\n  note: {drawing.note}" if drawing.note else ""
            print(f"{name}: {drawing.what}\n  {reading_note(drawing)}{note}"
                  + f"\n  drawn by python illustrations.py --number {drawing.number}"
                  + (f" (over {drawing.needs}'s results)" if drawing.needs else ""))
        elif name in ALIASES:
            print(f"{name}: composed with {ALIASES[name]} (one group of panels in the paper's text)")
        elif name in NOT_REPRODUCED:
            print(f"{name}: not reproduced: {NOT_REPRODUCED[name]}")
        else:
            show_figure(name, CATALOG[name], scale)
    # runs shared by several figures (Figures 7 and 22, 25 and 26) count once
    runs = {(panel.script, panel.flags): (figure, panel) for figure in CATALOG.values() for panel in figure.panels}
    total = sum(estimate(dataclasses.replace(figure, panels=(panel,)), scale)[1] for figure, panel in runs.values())
    print(f"\nall cataloged figures at --scale {scale}: {len(runs)} runs, about {format_seconds(total)}")
    print("\nextensions (not figures of the paper; measured wall time here):")
    for name, extension in EXTENSIONS.items():
        print(f"{name}: {extension.what}\n  about {format_seconds(extension.seconds[scale])}")
        for panel in extension.inputs.get(scale, ()):
            print(f"    [input: {panel.title}] python {panel.script}.py {' '.join(panel.flags)}  -> {panel.array}")
        compare = " --compare <the input's array>" if extension.inputs else ""
        print(f"    python {extension.script}.py {' '.join(extension.flags[scale])}{compare} --figure <out>/{name}.png")
    print("\nchoices where the paper's text is silent:")
    for choice in CHOICES:
        print(f"  - {choice}")


def show_figure(name, figure, scale):
    trials, seconds = estimate(figure, scale)
    kind = ("trained nets" if any(p.script.startswith("ncvx") for p in figure.panels)
            else "condition checks (no program)" if all(p.array.startswith("nic_") for p in figure.panels)
            else "Monte Carlo draws" if figure.kind == "curves" else "programs")
    print(f"{name}: {figure.what}")
    if figure.reading:
        print(f"  {reading_note(figure)}")
    if figure.evidence:
        print(f"  evidence: {figure.evidence}")
    if figure.note:
        print(f"  note: {figure.note}")
    panels = f"{len(figure.panels)} panel{'s' * (len(figure.panels) > 1)}"
    print(f"  {panels}, {trials} {kind}, about {format_seconds(seconds)}")
    for panel in figure.panels:
        print(f"    [{panel.title}] python {panel.script}.py "
              + " ".join(arguments(figure, panel, scale, "results/")[:-2]) + f"  -> {panel.array}")


def format_seconds(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def run_panels(name, figure, scale, results, passthrough, allow_failed=False, any_version=False):
    """Run (or reuse) every panel's array; returns their paths, in panel order."""
    return [reused_or_run(f"{name} [{panel.title}]", panel, arguments(figure, panel, scale, results), passthrough,
                          allow_failed, any_version) for panel in figure.panels]


def reused_or_run(label, panel, argv, passthrough, allow_failed=False, any_version=False):
    """The path of the panel's array, running (--resume) its script first unless the run is
    complete. A run that ends with failed trials gets one --retry-failed; if some still
    fail, the figure is refused unless allow_failed (then its title says so). any_version:
    a finished run of another code version is used as it is, in a line that says so
    (run_verdict)."""
    args = parsed(panel, argv)
    path = array_path(panel, args)
    verdict, detail = run_verdict(panel, args, path, any_version)
    if verdict == "complete" and detail:
        print(f"{label}: {path}: {detail}; composed as it is")
    if verdict == "other":
        if "--overwrite" not in passthrough:
            sys.exit(f"error: {label}: {path} was made with {detail}; use another --results, --overwrite to "
                     f"rerun it into place, or (a finished run of another code version) --any-version to compose it")
        run_script(f"{label} (replacing it)", panel.script, [*argv, *passthrough])
        verdict = run_verdict(panel, args, path)[0]
    if verdict == "run":
        if detail:
            print(f"{label}: {path}: {detail}")
        status = run_script(label, panel.script, [*argv, "--resume", *passthrough])
        if status == runner.FAILED_TRIALS_EXIT:
            status = run_script(f"{label} (its failed trials again)", panel.script,
                                [*argv, "--resume", "--retry-failed", *passthrough])
        if status == runner.FAILED_TRIALS_EXIT and not allow_failed:
            sys.exit(f"error: {label}: {path} has trials that failed twice (tracebacks in the run's "
                     f".errors.log); --allow-failed composes the figure with them as NaN")
    return path


def run_script(label, script, argv):
    """Run a script of the suite; it is sent SIGTERM if this process dies, however it dies
    (so a killed figures.py leaves no run behind to overlap the next), and SIGTERM once
    when this process gets SIGINT or SIGTERM (it runs in its own process group, so a
    terminal's Ctrl-C reaches it through here alone): in its run it stops as under
    Ctrl-C, saving its state and saying how far it got; still starting, it just ends
    (SIGTERM, unlike SIGINT, gives no traceback there). Its failure ends figures.py with
    its exit status and one line."""
    import signal

    command = [sys.executable, os.path.join(ROOT, script + ".py"), *argv]
    print(f"{label}: {' '.join(command[1:])}", flush=True)
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent, process_group=0)
    forwarded = [number for number in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(number) != signal.SIG_IGN]
    received = []

    def forward(number, frame):
        received.append(number)
        child.send_signal(signal.SIGTERM)

    previous = {number: signal.signal(number, forward) for number in forwarded}
    try:
        status = child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if received or status in (130, 143):  # interrupted: the script has said how far it got, if it had begun
        if status == -signal.SIGTERM:
            print(f"{label}: interrupted before its run began", file=sys.stderr)
        sys.exit(130 if signal.SIGINT in received or status == 130 else 143)
    if status not in (0, runner.FAILED_TRIALS_EXIT):
        sys.exit(f"error: {label}: {script}.py exited with status {status}")
    return status


def _die_with_parent():
    """In the child before exec: SIGTERM when the parent dies (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:  # not Linux: no such guarantee
        pass


def png_path(out, name, scale):
    return os.path.join(out, f"{name}{'' if scale == 'paper' else '_' + scale}.png")


def compose(name, figure, scale, paths, out):
    """The figure's panels side by side (rows of figure.columns), one shared colour bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import plot

    rows = -(-len(figure.panels) // figure.columns)
    columns = min(figure.columns, len(figure.panels))
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns + 1.2, 3.2 * rows + 0.8), squeeze=False,
                             constrained_layout=True)
    artist = None
    for ax, panel, path in zip(axes.ravel(), figure.panels, paths):
        try:
            array, sidecar, row_grid, column_grid = plot.load(path)
            mean = runner.trial_mean(array.astype(float))
            levels, label, open_top = plot.colour_levels(panel.array, mean)
        except ValueError as error:
            sys.exit(f"error: {name} [{panel.title}]: {path}: {error}")
        if figure.kind == "curves":
            draw_curves(ax, panel, sidecar, row_grid, column_grid, mean)
        else:
            artist = plot.draw(ax, *plot.oriented(sidecar, row_grid, column_grid, mean), levels, open_top)
            if plot.axis_names(sidecar) == ("n", "d"):
                plot.draw_theory(ax, os.path.basename(path), row_grid, column_grid)
            plot.label_axes(ax, sidecar)
        failed, unsolved = sidecar.get("trials_failed", 0), unsolved_trials(sidecar)
        notes = ([f"{failed} failed trial{'s' * (failed > 1)}, NaN"] * bool(failed)
                 + [f"{unsolved} unsolved, NaN"] * bool(unsolved))
        notes += ["incomplete"] * (not failed and not sidecar.get("complete", True))
        title = panel.title + (f" ({'; '.join(notes)})" if notes else "")
        ax.set_title(title + (f"\n{panel.array.split('_', 2)[0]}_{panel.array.split('_', 2)[1]}"
                              if rows > 1 and panel.array.startswith("dis_") else ""), fontsize=9)
    for ax in axes.ravel()[len(figure.panels):]:
        ax.set_visible(False)
    if artist is not None:  # the catalog's maps share fixed levels, so one colour bar serves all panels
        fig.colorbar(artist, ax=axes, label=label, shrink=0.9)
    suffix = "" if scale == "paper" else f" ({scale} scale)"
    note = f"\n{reading_note(figure)}" if figure.reading else ""
    # wrapped to the figure's width (about 12 characters an inch at 10 pt): a one-panel
    # figure is narrower than its title and reading note
    width = int(12 * fig.get_figwidth())
    title = "\n".join(textwrap.fill(line, width) for line in f"{name}: {figure.what}{suffix}{note}".split("\n"))
    fig.suptitle(title, fontsize=10)
    png = png_path(out, name, scale)
    try:
        os.makedirs(out, exist_ok=True)
        runner.save_figure(fig, png, dpi=110)
    except OSError as error:  # checked writable at the start; a full disk can still say no
        sys.exit(f"error: {name}: cannot write {png} ({error.strerror or error})")
    plt.close(fig)
    return png


# what a trial's status says when its numbers count (every other status is NaN)
ACCEPTED_STATUSES = ("optimal", "optimal_inaccurate", "trained", "computed")


def unsolved_trials(sidecar):
    """The trials a run kept as NaN because their solve was not accepted (counted in the
    sidecar's status_counts, e.g. 'optimal_inaccurate (failed check)'); skipped cells
    and trials that raised (trials_failed) aside. The maps average the other trials."""
    return sum(count for status, count in sidecar.get("status_counts", {}).items()
               if status not in ACCEPTED_STATUSES and not status.startswith(("skipped", "error:")))


def draw_curves(ax, panel, sidecar, row_grid, column_grid, mean):
    """One curve per value of the first axis against the second, with the script's
    exact probability dashed where it has one (its exact_probability(args, row, column))."""
    import plot

    rows, columns = plot.axis_names(sidecar)
    module = importlib.import_module(panel.script)
    args = argparse.Namespace(**sidecar["args"])
    exact_probability = getattr(module, "exact_probability", lambda args, row, columns: None)
    exact = [exact_probability(args, row, column_grid) for row in row_grid]
    for i, row in enumerate(row_grid):
        ax.plot(column_grid, mean[i], marker="o", markersize=3, linewidth=0.8, alpha=0.75, label=f"{rows} = {row:g}")
        if exact[i] is not None:  # black, over the data: where they agree the data would hide a line of its colour
            ax.plot(column_grid, exact[i], linestyle=(0, (4, 2)), color="black", linewidth=1.1, zorder=3)
    if exact[0] is not None:
        ax.plot([], [], color="black", linestyle=(0, (4, 2)), linewidth=1.1, label="closed form")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(plot.AXIS_LABELS.get(columns, columns))
    ax.set_ylabel("probability")
    ax.legend(fontsize=7, loc="lower right")


def drawing_command(name, drawing, scale, results, out, passthrough, allow_failed=False):
    """Draw one of the paper's illustrations (after the extension it draws over); returns the PNG path."""
    over = []
    if drawing.needs:
        extension_command(drawing.needs, EXTENSIONS[drawing.needs], scale, results, out, passthrough, allow_failed)
        over = ["--transition", os.path.join(results, "transition_skip.json")]
    os.makedirs(out, exist_ok=True)
    png = png_path(out, name, scale)
    run_script(name, "illustrations", ["--number", str(drawing.number), "--figure", png, *over])
    return png


def extension_command(name, extension, scale, results, out, passthrough, allow_failed=False):
    """Run an extension's inputs (reused when complete), then its script; returns the PNG path."""
    compare = []
    for panel in extension.inputs.get(scale, ()):
        path = reused_or_run(f"{name} [input: {panel.title}]", panel, [*panel.flags, "--save_folder", results],
                             passthrough, allow_failed)
        compare += ["--compare", path]
    os.makedirs(out, exist_ok=True)
    png = png_path(out, name, scale)
    status = run_script(name, extension.script, [*extension.flags[scale], "--save_folder", results, "--resume",
                                                 "--figure", png, *compare, *passthrough])
    if status == runner.FAILED_TRIALS_EXIT and not allow_failed:
        sys.exit(f"error: {name}: {extension.script}.py finished with failed trials (tracebacks in its "
                 f".errors.log); --allow-failed accepts them as NaN")
    return png


def main():
    parser = runner.OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures", nargs="*", help="figure names (fig1 ... fig43 where reproduced, the extensions "
                                                   "ext_...; --list names them) or all")
    parser.add_argument("--list", action="store_true", help="print the catalog and exit")
    parser.add_argument("--scale", default="paper", choices=("paper", "quick"),
                        help="paper: the paper's grids; quick: n <= 100, d <= 50, 3 trials (Figure 19: 500 draws)")
    parser.add_argument("--results", default="./results/", help="folder of the runs' arrays")
    parser.add_argument("--out", default="./figures/", help="folder of the composed PNGs")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes of each run")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address for the runs")
    parser.add_argument("--overwrite", action="store_true",
                        help="rerun into place a panel's run that was made with other settings or code")
    parser.add_argument("--any-version", dest="any_version", action="store_true",
                        help="compose finished runs made by another code version as they are (each named in a line); "
                             "without it such a run is refused")
    parser.add_argument("--allow-failed", action="store_true",
                        help="compose panels whose runs keep failed trials after one --retry-failed "
                             "(NaN, said in the title)")
    args = parser.parse_args()
    if args.list:
        show_catalog(args.scale)
        return
    made = [*DRAWINGS, *CATALOG, *EXTENSIONS]
    names = made if args.figures == ["all"] else list(dict.fromkeys(ALIASES.get(name, name) for name in args.figures))
    for name in names:
        if name in NOT_REPRODUCED:
            parser.error(f"figures: {name} is not reproduced: {NOT_REPRODUCED[name]}")
    unknown = [name for name in names if name not in made]
    if not names or unknown:
        parser.error(f"figures: choose from {', '.join(made)} or all; got {', '.join(unknown) or 'none'}")
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"--jobs must be at least 1; got {args.jobs}")
    if args.any_version and args.overwrite:
        parser.error("--any-version composes another version's runs, --overwrite reruns them: give one of them")
    if runner.unwritable(args.out):  # before any run, not after
        parser.error(f"--out {args.out!r}: {runner.unwritable(args.out)}")
    passthrough = (["--jobs", str(args.jobs)] if args.jobs else []) + (
        ["--scheduler", args.scheduler] if args.scheduler else []) + (["--overwrite"] if args.overwrite else [])
    writes = []  # what will write into --results: a read-only one serves runs that are complete
    for name in names:  # every command validates before any work starts
        if name in DRAWINGS:
            writes += [name] * bool(DRAWINGS[name].needs)
            continue
        if name in EXTENSIONS:
            extension = EXTENSIONS[name]
            for panel in extension.inputs.get(args.scale, ()):
                parsed(panel, [*panel.flags, "--save_folder", args.results, *passthrough])
            parsed(Panel(name, extension.script, (), ""),
                   [*extension.flags[args.scale], "--save_folder", args.results, *passthrough])
            writes.append(name)
            continue
        figure = CATALOG[name]
        for panel in figure.panels:
            panel_args = parsed(panel, arguments(figure, panel, args.scale, args.results, passthrough))
            if run_verdict(panel, panel_args, array_path(panel, panel_args), args.any_version)[0] != "complete":
                writes.append(f"{name} [{panel.title}]")
    if writes and runner.unwritable(args.results):
        parser.error(f"--results {args.results!r}: {runner.unwritable(args.results)}, and {writes[0]} needs to write "
                     f"its run there")
    for name in names:
        start = time.time()
        if name in DRAWINGS:
            png = drawing_command(name, DRAWINGS[name], args.scale, args.results, args.out, passthrough,
                                  args.allow_failed)
            needs = DRAWINGS[name].needs  # the extension it draws over, run first, and 1 s of drawing
            estimated = 1.0 + (EXTENSIONS[needs].seconds[args.scale] if needs else 0.0)
        elif name in EXTENSIONS:
            png = extension_command(name, EXTENSIONS[name], args.scale, args.results, args.out, passthrough,
                                    args.allow_failed)
            estimated = EXTENSIONS[name].seconds[args.scale]
        else:
            figure = CATALOG[name]
            paths = run_panels(name, figure, args.scale, args.results, passthrough, args.allow_failed,
                               args.any_version)
            png = compose(name, figure, args.scale, paths, args.out)
            estimated = estimate(figure, args.scale)[1]
        # the estimate is for runs made from nothing; reused runs make the time shorter
        print(f"{png}  ({time.time() - start:.1f} s; estimated {format_seconds(estimated)} from nothing)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the running script has said how far it got
        sys.exit(130)
