"""The ``synth-pipeline run`` command that runs a pipeline's generation (again), for the code location of a run.

Hints such as "run generation 2 again (synth-pipeline run --start 2)" must name a command that works
where the pipeline is defined: ``synth-pipeline run`` alone loads the reference module
(``assets.definitions``), not a team's module, file or ``dg`` project. So the command names the
definitions the run came from and the pipeline:

- runs started by ``synth-pipeline run`` are tagged with the ``-m`` / ``-f`` they were loaded with
  (:data:`DEFINITIONS_TAG`);
- runs started elsewhere (``dg launch``, ``dagster job execute``, the UI, a schedule or a sensor) carry
  the code pointer Dagster loaded the definitions from (the module or file of the code location, e.g.
  ``code_location_target_module`` of a ``dg`` project).

Without either (``dg.materialize`` in a test), the hint stays ``synth-pipeline run``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from synth_pipeline.user_modules import DefinitionsTarget

DEFINITIONS_TAG = "synth_pipeline/definitions"
"""Run tag: the ``-m MODULE`` / ``-f FILE`` arguments ``synth-pipeline run`` loaded the run's definitions with."""

RUN_COMMAND = "synth-pipeline run"


def definitions_tag(target: DefinitionsTarget) -> dict[str, str]:
    """The run tag recording where ``synth-pipeline run`` loaded the definitions from."""
    return {DEFINITIONS_TAG: shlex.join(target.arguments())}


def run_target(run: Any | None) -> DefinitionsTarget | None:
    """Where the definitions of a Dagster run come from (None when unknown).

    Args:
        run: The ``DagsterRun`` (``context.dagster_run``), or None.
    """
    if run is None:
        return None
    tagged = run.tags.get(DEFINITIONS_TAG)
    if tagged:
        arguments = shlex.split(tagged)
        if len(arguments) == 2 and arguments[0] in ("-m", "-f"):
            return DefinitionsTarget.of(module=arguments[1]) if arguments[0] == "-m" \
                else DefinitionsTarget.of(python_file=arguments[1])
    origin = getattr(run, "job_code_origin", None)
    pointer = getattr(getattr(origin, "repository_origin", None), "code_pointer", None)
    python_file = getattr(pointer, "python_file", None)
    if python_file:
        directory = getattr(pointer, "working_directory", None)
        return DefinitionsTarget.of(python_file=str(Path(directory or ".", python_file)))
    module = getattr(pointer, "module", None)
    # AutoloadDefsModuleCodePointer names a defs folder, not definitions this command can load
    if module and type(pointer).__name__ in ("ModuleCodePointer", "PackageCodePointer"):
        return DefinitionsTarget.of(module=module)
    return None


def run_command(pipeline: str, target: DefinitionsTarget | None) -> str:
    """``synth-pipeline run`` with the arguments that load ``pipeline`` from ``target``.

    The reference module (the command's default) and an unknown target give ``synth-pipeline run``;
    any other adds ``-m MODULE`` / ``-f FILE`` and ``--pipeline NAME``. Options such as
    ``--start G`` are appended by the caller.
    """
    if target is None or target.is_default:
        return RUN_COMMAND
    return shlex.join([*shlex.split(RUN_COMMAND), *target.arguments(), "--pipeline", pipeline])


def run_command_of(run: Any | None, pipeline: str) -> str:
    """:func:`run_command` for the code location a Dagster run (``context.dagster_run``) came from."""
    return run_command(pipeline, run_target(run))
