"""Tests import the root modules and run the root scripts."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def run_script(*arguments, check=True, environment=None):
    """Run a root script in a subprocess (with `environment` added to this one's); return
    the CompletedProcess."""
    result = subprocess.run([sys.executable, *arguments], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONWARNINGS="ignore", **(environment or {})))
    if check and result.returncode != 0:
        raise AssertionError(f"{arguments} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def skip_args():
    """The arguments a skip trial reads, for calling trial functions directly."""
    import argparse

    return argparse.Namespace(optx=0, optw=0, sigma=0.0, solver_name="CLARABEL", beta=1e-6)
