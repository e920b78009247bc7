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
