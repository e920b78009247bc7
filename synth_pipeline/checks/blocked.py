"""Saying plainly, in Dagster, that a generation was blocked by its checks (not broken).

When a blocking check fails, its step (:func:`~synth_pipeline.checks.rule_checks.asset_checks`)

* calls :func:`record_block`, which tags the run ``synth_pipeline/blocked`` (the generation) and
  ``synth_pipeline/blocked/<asset>/<check>`` (observed vs limit, one tag per failed check), and
  records an observation on the blocked partition (``blocked by <check>``) and on the same
  partition of every asset downstream of it (``not run``), shown at the top of that
  partition's metadata;
* links the generation's HTML report from the check's result and, once every check of the step
  ran, rewrites that report from what is stored (:func:`write_blocked_report`), under the
  report's lock, whoever launched the run (CLI, UI, schedule or sensor);
* once every check of the step ran, ends the step with :func:`blocked_failure`: its message
  is the generation's verdict (:class:`~synth_pipeline.generation_verdict.GenerationVerdict`,
  as the CLI and report say it), every blocking failure recorded with observed vs limit, and
  the assets not run. Dagster shows the first failed step's message as the run's; all the
  checks of an asset (and of the generated assets together) share a step, so that message
  names them all.

Dagster 1.13 resolves a check that was planned in a run and never executed to
"Execution failed" whenever the run failed; it has no "skipped" state for a failed run, and a
blocked generation's run must fail (CI and run-failure alerts rely on it). The downstream
checks therefore still read "Execution failed" in the UI: the ``not run`` observations and
the run failure say why.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from synth_pipeline.generation_verdict import GenerationVerdict, stored_blocking_failures, verdict_from_records
from synth_pipeline.guarded import GuardedAssets
from synth_pipeline.metadata import metadata_values
from synth_pipeline.naming import Stage, tagged_stage_assets

if TYPE_CHECKING:
    from synth_pipeline.checks.rule_checks import CheckInputs

BLOCKED_TAG = "synth_pipeline/blocked"
_TAG_VALUE_LIMIT = 500


class GenerationBlocked(dg.Failure):
    """A blocking check failed: the generation is blocked, its downstream assets not run.

    The check's own result already reports the evidence; runners treat this failure as
    reported by the check (see :func:`synth_pipeline.runner._reported_elsewhere`).
    """


def blocked_tag(asset_key: dg.AssetKey, check_name: str) -> str:
    """The run tag of one failed blocking check (``/`` in an asset path becomes ``.``)."""
    return f"{BLOCKED_TAG}/{'.'.join(asset_key.path)}/{check_name}"


def tag_evidence(evidence: str, limit: int = _TAG_VALUE_LIMIT) -> str:
    """A failed check's evidence as a run tag's value: every failed rule with observed vs limit, no fixes.

    The evidence joins its rules with `` | ``, each ending in ``; fix: ...`` (:func:`~synth_pipeline.checks.
    rule_checks.rule_checks`); each fix is dropped up to the next rule, so every rule stays in the tag (a
    trial's tag kept only the first of two failed rules). Past ``limit`` characters (Dagster keeps tag
    values short) the value is cut and says how many rules the check's result holds.
    """
    value = re.sub(r"; fix: .*?(?= \| |\n|$)", "", evidence)
    if len(value) <= limit:
        return value
    rules = value.count(" | ") + 1
    tail = f"… ({rules} rules: the check's result has each)"
    return value[: limit - len(tail)] + tail


def stage_keys(graph: Any, pipeline: GuardedAssets) -> dict[Stage, dg.AssetKey]:
    """One asset key per stage of ``pipeline``: its guarded roles (the first asset of a role played by
    several), plus the template's other stages (the model) found by their pipeline and stage tags.

    Args:
        graph: The job's asset graph (``get_all_asset_keys()``, ``get(key).tags``).
        pipeline: The guarded assets.
    """
    keys: dict[Stage, dg.AssetKey] = {}
    for stage, key in pipeline.roles():
        keys.setdefault(stage, key)
    for stage, key in tagged_stage_assets(graph, pipeline.name):
        keys.setdefault(stage, key)
    return keys


def downstream_keys(graph: Any, roots: list[dg.AssetKey]) -> list[dg.AssetKey]:
    """Every asset of the job's graph downstream of any of ``roots``, in topological order."""
    found: set[dg.AssetKey] = set()
    frontier = [key for key in roots if graph.has(key)]
    while frontier:
        for child in graph.get(frontier.pop()).child_keys:
            if child not in found:
                found.add(child)
                frontier.append(child)
    return [key for key in graph.toposorted_asset_keys if key in found]


def run_generation(context: dg.AssetCheckExecutionContext, inputs: CheckInputs) -> int:
    """The generation the blocked run was making: the check's own, or, for a check of an asset made once
    (e.g. the holdout's purity), the generation of the run's partition; 0 when the run has none."""
    if inputs.generation:
        return inputs.generation
    op_context = context.op_execution_context
    if not op_context.has_partition_key:
        return 0
    try:
        return inputs.pipeline.generations.generation(op_context.partition_key)
    except Exception:  # noqa: BLE001 - a partition that is not a generation: the run has none
        return 0


def blocked_report_path(context: dg.AssetCheckExecutionContext, inputs: CheckInputs) -> Path | None:
    """Where :func:`write_blocked_report` writes the checked generation's report; None when it writes none
    (no generation, or a pipeline without an evaluation stage)."""
    pipeline, generation = inputs.pipeline, run_generation(context, inputs)
    if generation < 1 or pipeline.evaluation is None:
        return None
    from synth_pipeline.report import report_path

    return report_path(inputs.store.root, pipeline.name, generation)


def write_blocked_report(context: dg.AssetCheckExecutionContext, inputs: CheckInputs) -> Path | None:
    """Rewrite the checked generation's report once a step's blocking checks failed; None when it cannot be.

    A report needs the pipeline's training mix and evaluation stages; a pipeline without them
    (e.g. a team's guarded assets with no evaluation) gets none. A failure to write is logged,
    never raised: the check's verdict is what blocks, the report is for people.
    """
    path = blocked_report_path(context, inputs)
    if path is None:
        return None
    from synth_pipeline.report import build_generation_report
    from synth_pipeline.task import Task

    pipeline, generation = inputs.pipeline, run_generation(context, inputs)
    op_context = context.op_execution_context
    keys = stage_keys(op_context.job_def.asset_layer.asset_graph, pipeline)
    try:
        # The per-class table would list a regression label's values: left out, as the evaluation does.
        classes = inputs.label_task.task is Task.CLASSIFICATION
        written = build_generation_report(
            inputs.store, keys, pipeline=pipeline.name, generation=generation,
            label_column=pipeline.label_column if classes else None, run_id=op_context.run_id, out=path,
        )
    except Exception as error:  # noqa: BLE001 - see the docstring
        op_context.log.warning(f"generation {generation} report not written: {type(error).__name__}: {error}")
        return None
    op_context.log.info(f"generation {generation} blocked; its report: {written.path}")
    return written.path


def recorded_verdict(context: dg.AssetCheckExecutionContext, checked: list[CheckInputs]) -> GenerationVerdict:
    """The generation's verdict as this run recorded it: the blocking failures it kept in the store (those of
    the ``checked`` inputs' checks included), and the assets of the job downstream of the blocked ones (not run)."""
    graph = context.op_execution_context.job_def.asset_layer.asset_graph
    first = checked[0]
    keys = list(stage_keys(graph, first.pipeline).values())
    keys += [inputs.checked for inputs in checked if inputs.checked not in keys]
    generation = run_generation(context, first)
    # this run's failures only: a rerun of the generation keeps an earlier run's records of checks not run again
    failures = stored_blocking_failures(first.store, keys, generation,
                                        run_id=context.op_execution_context.run_id)
    blocked = [dg.AssetKey.from_user_string(failure.asset) for failure in failures] or [
        inputs.checked for inputs in checked]
    not_run = [key.to_user_string() for key in downstream_keys(graph, blocked)]
    return verdict_from_records(generation, failures, not_run)


def record_block(context: dg.AssetCheckExecutionContext, inputs: CheckInputs, *, check_name: str,
                 evidence: str) -> None:
    """Tag the run with a failed blocking check and note the block on the partitions concerned.

    Args:
        context: The failing check's context.
        inputs: The check's inputs (pipeline, store, generation, checked asset).
        check_name: The failed check.
        evidence: Its failed rules with observed and limit (the result's description).
    """
    op_context = context.op_execution_context
    graph = op_context.job_def.asset_layer.asset_graph
    asset_key, generation = inputs.checked, run_generation(context, inputs)
    # Dagster's partition key is the run's, on partitioned assets only (the store's is the generation number)
    partitions_def = graph.get(asset_key).partitions_def if graph.has(asset_key) else None
    partition = op_context.partition_key if partitions_def is not None and op_context.has_partition_key else None
    context.instance.add_run_tags(op_context.run_id, {
        BLOCKED_TAG: f"generation {generation}" if generation else "yes",
        blocked_tag(asset_key, check_name): tag_evidence(evidence),
    })
    op_context.log_event(dg.AssetObservation(
        asset_key=asset_key, partition=partition,
        metadata={f"blocked by {check_name}": dg.MetadataValue.text(evidence)},
    ))
    run_partition = op_context.partition_key if op_context.has_partition_key else None
    run_partitions_def = op_context.job_def.partitions_def
    for key in downstream_keys(graph, [asset_key]):
        # the run's partition of each downstream asset partitioned like the run (e.g. the evaluation of the
        # generation, below an unpartitioned holdout); a key of another partitions definition would be refused
        if run_partition is not None and graph.get(key).partitions_def == run_partitions_def:
            op_context.log_event(dg.AssetObservation(
                asset_key=key, partition=run_partition,
                metadata={"not run": dg.MetadataValue.text(
                    f"generation {generation} blocked by {check_name} on {asset_key.to_user_string()}: {evidence}")},
            ))


def blocked_failure(
    context: dg.AssetCheckExecutionContext,
    blocked: list[tuple[CheckInputs, str, dg.AssetCheckResult]],
    *,
    report: Path | None,
) -> GenerationBlocked:
    """The failure that ends a step whose blocking checks failed: the generation's verdict.

    Its message names every blocking failure recorded for the generation (this step's and any
    recorded before it) with observed vs limit, and the assets not run.

    Args:
        context: The step's context.
        blocked: Each check of the step that blocked: its inputs, name and result (exact figures).
        report: The generation's report, if written.
    """
    verdict = recorded_verdict(context, [inputs for inputs, _, _ in blocked])
    lines = [verdict.headline()]
    if verdict.not_run:
        lines.append("Dagster shows the checks of the assets not run as 'Execution failed': they did not execute.")
    if report is not None:
        lines.append(f"report: {report}")
    failed = []
    for inputs, name, result in blocked:
        metadata = metadata_values(result.metadata)
        failed.append({"asset": inputs.checked.to_user_string(), "check": name, "evidence": result.description,
                       **{key: metadata.get(key) for key in ("rule", "observed", "threshold", "bound")}})
    return GenerationBlocked(description="\n".join(lines), metadata={"blocked_checks": dg.MetadataValue.json(failed)},
                             allow_retries=False)
