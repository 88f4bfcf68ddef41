"""Does a warm start pay for the exact route of the noisy training forms?

The exact route solves the relaxation ((12) or (14), regularised alike) and then,
where its solution is not sign-consistent, the exact program ((11) or (13)) cold
from ipm's start point. This script starts that exact interior-point solve from two
other points instead, on the bench's own instances (bench/solver_bench.py), one BLAS
thread, and prints iterations and seconds against the cold start:

- from the relaxation: the relaxation's blocks split by sign (u_i = w_i or v_i = -w_i,
  as the route's shortcut splits them) and its dual lam, both shifted into the
  interior by delta: t_j = ||u_j|| + delta, z = (G u)_+ + delta, lam scaled by
  1 - delta, the cone duals zeta = delta times the cold start's;
- from the exact optimum itself (an oracle no method has: the bound on what any warm
  start could give), the same shift, zeta = (1 - delta) zeta* + delta times the cold
  start's.

Each warm solve is certified on the whole program as the route certifies (the
`cert` column) and its value compared with the cold solve's. The start point is
replaced by patching ipm._start_point for the duration of a solve; nothing in the
suite takes this path.

    python bench/warm_start.py [--trials 3] [--settings skip_train norm_train]
"""

import argparse
import contextlib
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solver_bench import SETTINGS, instance  # noqa: E402

import ipm  # noqa: E402
import programs  # noqa: E402

DELTAS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-6)


def cold_zeta(cones):
    """The cold start's cone duals: small enough that ||G^T zeta|| <= 1/2 on every block."""
    ones = np.ones((cones.count, cones.rows))
    return 0.5 / max(np.linalg.norm(cones.adjoint(ones), axis=1).max(initial=0.0), 1.0) * ones


@contextlib.contextmanager
def started_at(u, lam, zeta, delta):
    """ipm's start point replaced, inside the context, by (u, lam, zeta) shifted by delta
    (zeta None: the relaxation has no cone duals)."""
    cold = ipm._start_point

    def warm(blocks, y, kappa, cones, coned, y_scale):
        state = ipm._State(t=np.linalg.norm(u, axis=1) + delta, u=u.copy(), lam=(1 - delta) * lam)
        start = cold_zeta(cones)
        state.zeta = delta * start if zeta is None else (1 - delta) * zeta[coned] + delta * start
        state.z = np.maximum(cones.value(u[coned]), 0.0) + delta
        return state

    ipm._start_point = warm
    try:
        yield
    finally:
        ipm._start_point = cold


def split_blocks(program, relaxed_u):
    """The relaxation's blocks split by sign, as the exact program's blocks (K, k): skip
    w0, u_1..u_m, v_1..v_m; normalisation u_1..u_m, v_1..v_m."""
    split = programs._split_by_sign(program, programs._relaxed_primal(program, relaxed_u))
    k = relaxed_u.shape[1]
    if program.form.network == "skip":
        return np.vstack([split["w0"][None], split["U"].T, split["V"].T])
    return np.vstack([split["U"][:k].T, split["V"][:k].T])


def timed_exact(program, kappa):
    start = time.perf_counter()
    solution, block_solution = programs._exact_on(program, kappa, programs.every_exact_block(program.patterns.shape[1]))
    return solution, block_solution, time.perf_counter() - start


def run(name, equation, n, d, settings, trials):
    for seed in range(trials):
        _, program = instance(equation, n, d, settings, seed)
        kappa = programs.loss_weight(program)
        blocks, _ = program.form.block_program(program, exact=False)
        start = time.perf_counter()
        relaxed = ipm.solve_blocks(blocks, program.y, kappa)
        relaxed_time = time.perf_counter() - start
        _, cold, cold_time = timed_exact(program, kappa)
        u = split_blocks(program, relaxed.u)
        distance = np.linalg.norm(u - cold.u) / np.linalg.norm(cold.u)
        print(f"{name} ({n}, {d}) seed {seed}: relaxation {relaxed.iterations} it {relaxed_time:.2f} s; "
              f"exact cold {cold.iterations} it {cold_time:.2f} s; relaxation's split at relative "
              f"distance {distance:.2f} from the exact optimum")
        for start_name, point in (("relaxation", (u, relaxed.lam, None)), ("optimum", (cold.u, cold.lam, cold.zeta))):
            cells = []
            for delta in DELTAS:
                with started_at(*point, delta):
                    solution, warm, warm_time = timed_exact(program, kappa)
                difference = abs(warm.primal_objective - cold.primal_objective) / abs(cold.primal_objective)
                verdict = "cert" if solution.accepted else f"NOT CERTIFIED ({warm.status})"
                cells.append(f"{delta:g}: {warm.iterations} it {warm_time:.2f} s {verdict} {difference:.0e}")
            print(f"    from the {start_name:10s} delta " + " | ".join(cells), flush=True)


def main():
    names = sorted({name for name, *_ in SETTINGS if name.endswith("_train")})
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--settings", nargs="+", default=names, choices=names)
    parser.add_argument("--cells", nargs="+", default=["200x50"], help="n x d cells of the settings, e.g. 200x50")
    args = parser.parse_args()
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    cells = sorted({f"{n}x{d}" for name, _, n, d, _, _ in SETTINGS if name in args.settings})
    if set(args.cells) - set(cells):
        parser.error(f"--cells must be among {', '.join(cells)}")
    with ipm.one_blas_thread():
        for name, equation, n, d, settings, _ in SETTINGS:
            if name in args.settings and f"{n}x{d}" in args.cells:
                run(name, equation, n, d, settings, args.trials)


if __name__ == "__main__":
    main()
