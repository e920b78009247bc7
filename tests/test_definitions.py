"""Loading the code location is fast: no heavy library is imported."""

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
HEAVY = ["sdv", "torch", "sdmetrics", "great_expectations", "sklearn", "ctgan", "copulas", "matplotlib", "PIL", "faiss"]


def test_loading_definitions_imports_no_heavy_library():
    script = (
        "import sys, assets.definitions as d\n"
        "d.defs.resolve_asset_graph()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_workspace_points_at_the_definitions_module():
    import yaml

    workspace = yaml.safe_load((PROJECT / "workspace.yaml").read_text())
    modules = [entry["python_module"]["module_name"] for entry in workspace["load_from"]]
    assert modules == ["assets.definitions", "assets.text_definitions"]


def test_reference_definitions_are_valid():
    import dagster as dg

    from assets.definitions import defs

    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("breast_cancer_generation") is not None

