"""The script contract (runner.CONTRACT): every grid script declares what the runner and
figures.py need, so that neither knows a script by its name."""

import importlib

import pytest

import runner

GRID_SCRIPTS = ("rec_rate_skip", "minnrm_skip", "cvx_train_skip", "rec_rate_norm", "minnrm_norm", "cvx_train_norm",
                "nic_norm", "ncvx_train_skip", "ncvx_train_norm", "lasso_skip", "prob_mixture", "kernel_measure")


@pytest.mark.parametrize("name", GRID_SCRIPTS)
def test_every_grid_script_declares_the_contract(name, tmp_path):
    script = importlib.import_module(name)
    missing = [item for item in runner.CONTRACT if not hasattr(script, item)]
    assert not missing, missing
    assert isinstance(script.WITH_SIGMA, bool) and isinstance(script.BATCHED, bool)
    assert script.TOLERANCES is None or "recovery_atol" in script.TOLERANCES
    args = script.parse(["--save_folder", str(tmp_path)])
    assert set(script.NEUTRAL_FLAGS) <= set(vars(args)), "a neutral flag the script does not have"
    (rows, row_values), (columns, column_values) = script.axes(args)
    assert len(row_values) and len(column_values) and rows != columns
    kept = [script.skip_cell(a, b, args) is None for a in row_values for b in column_values]
    assert any(kept)
    assert callable(script.main) and (callable(getattr(script, "trial", None)) or callable(getattr(script, "cell")))


def test_every_catalog_panel_draws_an_array_its_script_writes():
    import figures

    for name, figure in figures.CATALOG.items():
        for panel in figure.panels:
            args = figures.parsed(panel, figures.arguments(figure, panel, "quick", "results/"))
            script = importlib.import_module(panel.script)
            written = script.outputs(args).values()
            assert panel.array in written, (name, panel.title, panel.array, list(written))
            assert script.cost_key(args) in {**figures.COST, **figures.MIXED}, (name, panel.title)


def test_figures_names_no_script():
    """figures.py reads the contract: no list of scripts by name for file names, batching or skipped cells."""
    with open(importlib.import_module("figures").__file__) as stream:
        source = stream.read()
    for leftover in ("NOISELESS_SCRIPTS", "BATCHED_SCRIPTS", 'endswith("_norm")', 'hasattr(module, "axes")',
                     'script == "', "args.program"):
        assert leftover not in source


@pytest.mark.parametrize("name", [*GRID_SCRIPTS, "transition", "failure_split", "illustrations", "plot", "figures"])
def test_every_flag_has_help_and_help_shows_defaults(name):
    """In --help, every flag but -h has a help text ending in its default (argparse's
    formatter prints the default only for a flag that has help)."""
    from conftest import run_script

    text = run_script(f"{name}.py", "--help").stdout
    entries, current = [], None
    for line in text.split("options:", 1)[1].splitlines():
        if line.startswith("  -"):
            current = [line]
            entries.append(current)
        elif current is not None and line.startswith("    "):
            current.append(line)
    flags = [entry for entry in entries if not entry[0].strip().startswith("-h")]
    assert len(flags) >= 2
    undocumented = [entry[0].split()[0] for entry in flags if "(default:" not in " ".join(entry)]
    assert not undocumented, undocumented
