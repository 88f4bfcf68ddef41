"""The layers of the suite point one way: ipm <- programs <- (common, trials) <- scripts
<- figures, and the grid runner imports no module of the mathematics but arrangement,
whose names and cell count validate --patterns before any work. Every import
statement is read, those inside functions too."""

import ast
import os

import pytest

import runner
from conftest import ROOT

SUITE = {name[:-3] for name in os.listdir(ROOT) if name.endswith(".py")}
ALLOWED = {  # module: the suite modules it may import
    "ipm": set(),
    "certificate": set(),
    "programs": {"ipm", "certificate"},
    "arrangement": set(),
    "common": {"programs", "arrangement"},
    "runner": {"arrangement"},
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


@pytest.mark.parametrize("module", sorted(SUITE - {name[:-3] for name in runner.PRESENTATION}))
def test_no_versioned_module_imports_a_presentation_module(module):
    """The code version leaves out figures.py and illustrations.py: true only while no
    module that makes an array can reach them."""
    assert not suite_imports(module) & {name[:-3] for name in runner.PRESENTATION}


def test_the_code_version_ignores_the_presentation_modules_alone(tmp_path, monkeypatch):
    """Editing figures.py keeps the version; editing any other root module changes it. A
    process keeps the version of the source it imported: code_version() reads no disk."""
    for name in ("figures.py", "common.py", "requirements.txt"):
        (tmp_path / name).write_text("x = 1\n")
    imported = runner.code_version()
    monkeypatch.setattr(runner, "ROOT", str(tmp_path))
    before = runner._source_version()
    (tmp_path / "figures.py").write_text("x = 2\n")
    assert runner._source_version() == before
    (tmp_path / "common.py").write_text("x = 2\n")
    assert runner._source_version() != before
    assert runner.code_version() == imported


def test_the_reading_of_imports_sees_function_level_ones():
    """A check that would pass on any file is none: figures.py imports plot inside a function."""
    assert "plot" in suite_imports("figures") and "runner" in suite_imports("figures")
