"""The report of a generation a blocking check stopped, written by that check.

The evaluation writes each generation's HTML report, so a generation blocked before it (e.g.
by a check on ``synthetic``) used to have a report only when the CLI ran it. Each failing
blocking check now rewrites its generation's report from what is stored, under the report's
lock, so whichever of several failing checks finishes last has named every one, whether the
run came from the CLI, the UI, a schedule or a sensor.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from synth_pipeline.guarded import GuardedAssets
from synth_pipeline.naming import PIPELINE_TAG, STAGE_TAG, Stage

if TYPE_CHECKING:
    from synth_pipeline.checks.rule_checks import CheckInputs


def stage_keys(graph: dg.AssetGraph | object, pipeline: GuardedAssets) -> dict[Stage, dg.AssetKey]:
    """One asset key per stage of ``pipeline``: its guarded roles (the first asset of a role played by
    several), plus the template's other stages (the model) found by their pipeline and stage tags."""
    keys: dict[Stage, dg.AssetKey] = {}
    for stage, key in pipeline.roles():
        keys.setdefault(stage, key)
    for key in graph.get_all_asset_keys():  # type: ignore[attr-defined]
        tags = graph.get(key).tags  # type: ignore[attr-defined]
        if tags.get(PIPELINE_TAG) == pipeline.name and tags.get(STAGE_TAG) in Stage._value2member_map_:
            keys.setdefault(Stage(tags[STAGE_TAG]), key)
    return keys


def write_blocked_report(context: dg.AssetCheckExecutionContext, inputs: CheckInputs) -> Path | None:
    """Rewrite generation ``generation``'s report after a blocking check failed; None when it cannot be.

    A report needs the pipeline's training mix and evaluation stages; a pipeline without them
    (e.g. a team's guarded assets with no evaluation) gets none. A failure to write is logged,
    never raised: the check's verdict is what blocks, the report is for people.
    """
    pipeline, generation = inputs.pipeline, inputs.generation
    if generation < 1 or pipeline.evaluation is None:
        return None
    from synth_pipeline.report import build_generation_report
    from synth_pipeline.task import Task

    op_context = context.op_execution_context
    keys = stage_keys(op_context.job_def.asset_layer.asset_graph, pipeline)
    try:
        # The per-class table would list a regression label's values: left out, as the evaluation does.
        classes = inputs.label_task.task is Task.CLASSIFICATION
        written = build_generation_report(
            inputs.store, keys, pipeline=pipeline.name, generation=generation,
            label_column=pipeline.label_column if classes else None, run_id=op_context.run_id,
        )
    except Exception as error:  # noqa: BLE001 - see the docstring
        op_context.log.warning(f"generation {generation} report not written: {type(error).__name__}: {error}")
        return None
    op_context.log.info(f"generation {generation} blocked; its report: {written.path}")
    return written.path
