"""The exact route's early removal: blocks leave the solve while it runs, the answer is
certified on every block, a wrong removal is repaired, and the optimum is the whole
program's (the same value, the same recovery decision)."""

import numpy as np
import pytest
from test_working_set import recovered, training_program

import ipm
import programs

# (11), (13) and their training forms, with noise and without, on both sides of n = 2d
INSTANCES = [(family, exact, n, d, sigma, trial) for family in ("skip", "norm") for exact in (False, True)
             for sigma in (0.0, 0.1) for n, d in ((30, 10), (60, 15)) for trial in range(2)]


def whole_program(program):
    """The exact form on every block, no removal, every measure to ipm's 1e-9."""
    m = program.patterns.shape[1]
    return programs._exact_on(program, programs.loss_weight(program), programs.every_exact_block(m))[0]


def removals(monkeypatch):
    """Record the blocks each exact solve removed."""
    removed, solve = [], ipm.solve_blocks

    def recording(*args, **kwargs):
        solution = solve(*args, **kwargs)
        removed.append(solution.removed)
        return solution

    monkeypatch.setattr(ipm, "solve_blocks", recording)
    return removed


@pytest.mark.parametrize("family, exact, n, d, sigma, trial", INSTANCES)
def test_removal_gives_the_whole_programs_optimum(family, exact, n, d, sigma, trial, monkeypatch):
    data, program = training_program(family, n, d, sigma, trial, exact=exact)
    whole = whole_program(program)
    assert whole.accepted, whole.checks
    solution = programs._exact_with_removal(program, programs.loss_weight(program))

    assert solution.accepted, solution.checks
    assert abs(solution.value - whole.value) <= 1e-7 * abs(whole.value)
    assert recovered(family, data, solution.primal) == recovered(family, data, whole.primal)
    m = program.patterns.shape[1]
    assert solution.cone_duals.shape == (n, 2 * m) and np.all(solution.cone_duals >= 0)


def test_removal_removes_blocks_and_stops_at_the_gap(monkeypatch):
    """On most instances the first solve removes blocks (else nothing is saved), and it
    stops at the gap EXACT_GAP_STOP rather than at 1e-9."""
    removed = removals(monkeypatch)
    iterations_saved, removing = [], 0
    for family, exact, n, d, sigma, trial in INSTANCES:
        _, program = training_program(family, n, d, sigma, trial, exact=exact)
        kappa = programs.loss_weight(program)
        blocks, cones = program.form.block_program(program, exact=True)
        stopped = ipm.solve_blocks(blocks, program.y, kappa, cones, gap_tolerance=programs.EXACT_GAP_STOP)
        full = ipm.solve_blocks(blocks, program.y, kappa, cones)
        assert stopped.status == "optimal" and stopped.gap <= programs.EXACT_GAP_STOP
        iterations_saved.append(full.iterations - stopped.iterations)
        removed.clear()
        programs._exact_with_removal(program, kappa)
        assert len(removed[0]) < blocks.count
        removing += len(removed[0]) > 0
    assert min(iterations_saved) >= 0 and sum(iterations_saved) > 0
    assert removing >= len(INSTANCES) // 2, removing


@pytest.mark.parametrize("family", ["skip", "norm"])
def test_a_wrong_removal_is_repaired(family, monkeypatch):
    """A rule that removes every block whose bound fell in one iterate, from the first
    iterate on, takes out blocks of the optimum: the certificate on every block catches
    it and the repair round puts them back, to the whole program's optimum."""
    data, program = training_program(family, 60, 15, 0.1, 0)
    whole = whole_program(program)
    kappa = programs.loss_weight(program)
    monkeypatch.setattr(programs, "EARLY_REMOVAL", ipm.EarlyRemoval(gap=np.inf, ratio=1.0, lag=1))
    removed = removals(monkeypatch)
    solution = programs._exact_with_removal(program, kappa)

    first = 1 if family == "skip" else 0
    active = np.flatnonzero(programs._nonzero_blocks(whole.primal))
    assert np.intersect1d(removed[0] - first, active).size > 0  # the rule did remove blocks of the optimum
    assert solution.route == "exact, repaired" and solution.accepted, solution.checks
    assert abs(solution.value - whole.value) <= 1e-7 * abs(whole.value)
    assert recovered(family, data, solution.primal) == recovered(family, data, whole.primal)


def test_removed_blocks_are_held_at_zero():
    """The solver returns u_j = 0 and zero cone duals for the blocks it removed, and
    keeps at least one block with a cone."""
    _, program = training_program("norm", 60, 15, 0.1, 1)
    kappa = programs.loss_weight(program)
    blocks, cones = program.form.block_program(program, exact=True)
    solution = ipm.solve_blocks(blocks, program.y, kappa, cones, removal=ipm.EarlyRemoval(gap=np.inf, ratio=1.0, lag=1))
    assert 0 < len(solution.removed) < blocks.count
    assert np.all(solution.u[solution.removed] == 0) and np.all(solution.zeta[solution.removed] == 0)
    kept = np.setdiff1d(np.arange(blocks.count), solution.removed)
    assert np.any(np.linalg.norm(solution.u[kept], axis=1) > 0)
