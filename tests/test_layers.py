"""The layers of the suite point one way: ipm <- programs <- (common, trials) <- scripts
<- figures, and the grid runner imports no module of the mathematics. Every import
statement is read, those inside functions too."""

import ast
import os

import pytest

from conftest import ROOT

SUITE = {name[:-3] for name in os.listdir(ROOT) if name.endswith(".py")}
ALLOWED = {  # module: the suite modules it may import
    "ipm": set(),
    "certificate": set(),
    "programs": {"ipm", "certificate"},
    "common": {"programs"},
    "runner": set(),
    "nets": set(),
    "trials": {"common", "programs", "runner"},
}


def suite_imports(module):
    """The suite modules that module imports anywhere in its source."""
    with open(os.path.join(ROOT, module + ".py")) as stream:
        tree = ast.parse(stream.read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & SUITE


@pytest.mark.parametrize("module", ALLOWED)
def test_no_module_imports_upward(module):
    assert suite_imports(module) <= ALLOWED[module], suite_imports(module) - ALLOWED[module]


def test_the_certificate_imports_numpy_alone():
    """The check is independent of what it checks: no solver, no CVXPY, no scipy."""
    with open(os.path.join(ROOT, "certificate.py")) as stream:
        tree = ast.parse(stream.read())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"numpy"}


def test_the_reading_of_imports_sees_function_level_ones():
    """A check that would pass on any file is none: figures.py imports plot inside a function."""
    assert "plot" in suite_imports("figures") and "runner" in suite_imports("figures")
