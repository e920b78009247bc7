"""The executor for a code location: step processes forked from a server that imported the heavy code once.

Dagster's multiprocess executor starts every step in a fresh interpreter (``spawn``), which
imports Dagster, the code location and, in a check step, Great Expectations again: under
``spawn`` a reference generation's 43 steps took 768.5 s, with ``forkserver`` preloading the
code location and GX 214.6 s (2-core machine at load 7-13; the eight ``expectations`` steps
186.6 s against 20.0 s; issue 16, benchmarks/expectations_speed.py).
"""

from __future__ import annotations

import dagster as dg

GX_PRELOAD_MODULE = "synth_pipeline.quality.gx_preload"


def preloading_executor(code_location_module: str, *, max_concurrent: int | None = None) -> dg.ExecutorDefinition:
    """Dagster's ``multi_or_in_process_executor`` whose multiprocess default starts steps from a fork server.

    The server imports ``code_location_module`` and Great Expectations once per run
    (:mod:`synth_pipeline.quality.gx_preload`); every step process is forked from it with both
    loaded. The run config may still choose ``in_process`` or another start method in the
    launchpad. The fork server needs a POSIX system (Linux, macOS).

    Args:
        code_location_module: The module Dagster loads the definitions from (e.g.
            ``assets.definitions``): an explicit preload list replaces Dagster's default,
            which is that module.
        max_concurrent: Steps run at once; None: Dagster's default (the CPU count).

    Returns:
        An executor definition for ``Definitions(executor=...)`` or
        :meth:`~synth_pipeline.factory.SynthPipeline.to_definitions`.

    Raises:
        ValueError: ``code_location_module`` is not a dotted module name.
    """
    if not code_location_module or not all(part.isidentifier() for part in code_location_module.split(".")):
        raise ValueError(f"code_location_module must be a dotted module name such as 'assets.definitions', "
                         f"got {code_location_module!r}")
    multiprocess: dict = {"start_method": {"forkserver": {"preload_modules": [code_location_module,
                                                                               GX_PRELOAD_MODULE]}}}
    if max_concurrent is not None:
        multiprocess["max_concurrent"] = max_concurrent
    base = dg.multi_or_in_process_executor
    schema = dg.Field(base.config_schema.as_field().config_type, default_value={"multiprocess": multiprocess},
                      is_required=False)
    return base.configured(lambda config: config, config_schema=schema, name="multi_or_in_process_preloading")


EXECUTOR_KINDS = ("in_process", "multiprocess")
"""What :func:`default_executor` runs steps in by default: one process, or a process per step."""


def default_executor(kind: str = "in_process", *, max_concurrent: int | None = None) -> dg.ExecutorDefinition:
    """Dagster's ``multi_or_in_process_executor`` with ``kind`` as its default; run config may still choose the other.

    ``in_process`` runs every step in the run's process, one after another: on small data the
    quickest (what ``synth-pipeline run`` does), since a step process re-imports Dagster, pandas
    and the checks' libraries. ``multiprocess`` starts a process per step (``spawn``), up to
    ``max_concurrent`` at once, for large data on several cores. A launch may still set
    ``execution: {config: {in_process: {}}}`` or ``{multiprocess: {...}}``.

    Args:
        kind: ``in_process`` or ``multiprocess``.
        max_concurrent: With ``multiprocess``: steps run at once (None: Dagster's default, the CPU count).

    Returns:
        An executor definition for a job (``define_asset_job(executor_def=...)``) or ``Definitions``.

    Raises:
        ValueError: ``kind`` is neither, or ``max_concurrent`` is given with ``in_process`` or is below 1.
    """
    if kind not in EXECUTOR_KINDS:
        raise ValueError(f"executor kind must be one of {list(EXECUTOR_KINDS)}, got {kind!r}")
    if max_concurrent is not None and (kind != "multiprocess" or max_concurrent < 1):
        raise ValueError(f"max_concurrent must be a whole number of at least 1, with multiprocess only "
                         f"(got {max_concurrent!r} with {kind})")
    chosen: dict = {kind: {"max_concurrent": max_concurrent} if max_concurrent is not None else {}}
    base = dg.multi_or_in_process_executor
    schema = dg.Field(base.config_schema.as_field().config_type, default_value=chosen, is_required=False)
    return base.configured(lambda config: config, config_schema=schema, name=f"multi_or_in_process_{kind}")
