"""Figures 1-3 (illustrations.py): the arrangement's regions against brute force and
Cover's count, and each figure renders."""

import json
from math import comb

import matplotlib.image
import numpy as np
import pytest

import illustrations
from conftest import run_script


def test_the_regions_are_the_patterns_random_directions_find():
    """Every pattern 1[X w >= 0] of 100 000 random w is one of the labelled regions, each
    region's pattern is met, and there are 2 sum_{k<d} C(n-1, k) = 6 of them."""
    _, patterns = illustrations.patterns_of_regions(illustrations.POINTS)
    labelled = {tuple(p) for p in patterns}
    directions = np.random.default_rng(0).standard_normal((100_000, 2))
    found = {tuple(p) for p in (directions @ illustrations.POINTS.T >= 0).astype(int)}
    assert found == labelled and len(labelled) == len(patterns) == 2 * sum(comb(2, k) for k in range(2))


@pytest.mark.parametrize("number", [1, 2, 3])
def test_each_illustration_renders(number, tmp_path):
    png = tmp_path / f"fig{number}.png"
    extra = []
    if number == 2:  # over a transition.py summary, as figures.py draws it
        rows = [{"d": d, "n_star_over_d": 2.0, "n_star_over_d_95": [1.9, 2.1]} for d in (10, 20)]
        (tmp_path / "transition_skip.json").write_text(json.dumps({"experiment": "skip", "rows": rows}))
        extra = ["--transition", str(tmp_path / "transition_skip.json")]
    run_script("illustrations.py", "--number", str(number), "--figure", str(png), *extra)
    image = matplotlib.image.imread(png)
    assert image.shape[0] > 300 and len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 20


@pytest.mark.parametrize("flags, named", [(["--number", "4"], "--number"),
                                          (["--number", "1", "--transition", "x.json"], "--transition")])
def test_bad_flags_are_one_line_errors(flags, named, tmp_path):
    result = run_script("illustrations.py", *flags, "--figure", str(tmp_path / "f.png"), check=False)
    assert result.returncode != 0 and named in result.stderr and len(result.stderr.strip().splitlines()) == 1
