"""A lineage query in a new process imports only what it uses (issue: first query in a new
process under 500 ms): importing ``synth_pipeline`` (a lazy package, PEP 562), the lineage
store and the ``synth-pipeline lineage`` command loads no Dagster, sdv, scikit-learn or
Great Expectations; and every public name of the package still resolves.

Each check runs in a new Python process, since this one has imported everything already.
No check times anything: import times move with the machine's load.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openlineage.client.event_v2 import RunState
from openlineage.client.uuid import generate_new_uuid

import synth_pipeline
from synth_pipeline.lineage.emitter import LineageEmitter
from synth_pipeline.lineage.events import PRODUCER, DatasetRef, input_dataset, output_dataset, run_event
from synth_pipeline.lineage.facets import DagsterRunFacet, ProvenanceDatasetFacet
from synth_pipeline.lineage.layout import LineageLayout

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("dagster", "sdv", "sklearn", "great_expectations", "sdmetrics", "torch")
"""Top-level packages a lineage query must not import."""


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a new Python process (the plugin of this checkout on its path); it must succeed.

    Its last output line is a JSON list of the :data:`HEAVY` packages it had imported by then.
    """
    report = f"\nimport json as _json, sys as _sys\nprint(_json.dumps([m for m in {HEAVY!r} if m in _sys.modules]))\n"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code + report, *args], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def _heavy(done: subprocess.CompletedProcess) -> list[str]:
    return json.loads(done.stdout.splitlines()[-1])


def _write_journal(data_dir: Path) -> None:
    """A source, then two generations of a training mix (each built on the previous one),
    journaled as Dagster steps journal them."""
    layout = LineageLayout.for_data_dir(data_dir)
    run = str(generate_new_uuid())
    made = [DatasetRef("p/source", "source-v", "source")]
    for generation in (1, 2):
        step = f"mix_{generation}"
        emitter = LineageEmitter(layout, layout.journal_file(run, step, 1), forward=False)
        dagster = DagsterRunFacet(dagsterRunId=run, dagsterJob="job", stepKey=step, assetKey="p/mix",
                                  partitionKey=str(generation))
        provenance = ProvenanceDatasetFacet(pipeline="p", stage="training_mix", relation="mix", kind="real",
                                            generation=generation, rows=10, rowsByKind={"real": 10},
                                            producer=PRODUCER)
        common = {"run_id": str(generate_new_uuid()), "job_name": "p/mix", "job_type": "ASSET", "dagster": dagster,
                  "inputs": [input_dataset(made[-1])]}
        emitter.emit(run_event(RunState.START, event_time=f"2026-01-01T00:0{generation}:00+00:00", **common))
        emitter.emit(run_event(RunState.COMPLETE, outputs=[output_dataset("p/mix", f"mix-g{generation}", provenance)],
                               event_time=f"2026-01-01T00:0{generation}:30+00:00", **common))
        made.append(DatasetRef("p/mix", f"mix-g{generation}", "previous"))


def test_importing_the_package_and_the_lineage_store_loads_no_dagster():
    done = _run("import synth_pipeline\n"
                "import synth_pipeline.lineage.layout, synth_pipeline.lineage.queries, synth_pipeline.lineage.store\n"
                "assert set(synth_pipeline.__all__) <= set(dir(synth_pipeline))\n")
    assert _heavy(done) == []


def test_a_lineage_query_in_a_new_process_loads_no_dagster(tmp_path):
    _write_journal(tmp_path / "data")
    done = _run("import sys\n"
                "from synth_pipeline.lineage.store import LineageStore\n"
                "found = LineageStore(sys.argv[1]).ancestors('p/mix', version='mix-g2')\n"
                "print(sorted(found['version']))\n", str(tmp_path / "data"))
    assert done.stdout.splitlines()[0] == "['mix-g1', 'mix-g2', 'source-v']"
    assert _heavy(done) == []


@pytest.mark.parametrize("arguments", [
    ["lineage", "ancestors", "p/mix", "--version", "mix-g2", "--format", "json"],
    ["lineage", "ancestors", "--help"],
    ["--help"],
], ids=["query", "lineage-help", "help"])
def test_the_lineage_command_loads_no_dagster(tmp_path, arguments):
    """``synth-pipeline lineage`` without ``-m`` (the console script calls ``synth_pipeline.cli:main``)."""
    _write_journal(tmp_path / "data")
    done = _run("import sys\n"
                "from synth_pipeline.cli import main\n"
                "try:\n"
                "    code = main(sys.argv[1:])\n"
                "except SystemExit as exit:  # --help\n"
                "    code = exit.code\n"
                "print()\n"
                "assert code == 0, code\n", *arguments, "--data-dir", str(tmp_path / "data"))
    if "--help" not in arguments:
        rows = json.loads(done.stdout.split("\n\n")[0])
        assert sorted(row["version"] for row in rows) == ["mix-g1", "mix-g2", "source-v"]
    assert _heavy(done) == []


def test_every_public_name_resolves_in_a_new_process():
    """``from synth_pipeline import *`` gives every name of ``__all__``, each the object its module defines."""
    done = _run("import importlib, synth_pipeline\n"
                "from synth_pipeline import *\n"
                "for name in synth_pipeline.__all__:\n"
                "    defined = getattr(importlib.import_module(synth_pipeline._EXPORTS[name]), name)\n"
                "    assert globals()[name] is defined is getattr(synth_pipeline, name), name\n"
                "print(len(synth_pipeline.__all__))\n")
    assert int(done.stdout.splitlines()[0]) == len(synth_pipeline.__all__)


def test_the_public_names_the_type_checker_sees_are_those_resolved_at_run_time():
    """The ``if TYPE_CHECKING:`` imports of ``synth_pipeline/__init__.py``, its name -> module map
    and ``__all__`` name the same names, each from the same module."""
    tree = ast.parse(Path(synth_pipeline.__file__).read_text())
    [checking] = [node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"]
    for_checker = {alias.name: node.module for node in checking.body if isinstance(node, ast.ImportFrom)
                   for alias in node.names}
    assert for_checker == synth_pipeline._EXPORTS
    assert sorted(synth_pipeline.__all__) == sorted(synth_pipeline._EXPORTS)
    assert len(set(synth_pipeline.__all__)) == len(synth_pipeline.__all__)


def test_other_names_are_still_missing_attributes_and_submodules_still_import():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        synth_pipeline.no_such_name  # noqa: B018
    assert not hasattr(synth_pipeline, "no_such_name")
    from synth_pipeline import cores  # a submodule, not a public name: imported as before

    assert cores.__name__ == "synth_pipeline.cores"
