"""Running a pipeline's generations in-process against a Dagster instance.

The CLI (``synth-pipeline run``) is a thin layer over :func:`run_generations`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.factory import policy_resource_key
from synth_pipeline.generations import generation_key
from synth_pipeline.naming import PIPELINE_TAG, STAGE_TAG, Stage
from synth_pipeline.policy import SynthPolicy

DEFAULT_DAGSTER_HOME = Path(".synth_pipeline") / "dagster_home"


@dataclass(frozen=True)
class StageRecord:
    """What one stage reported when it was materialized."""

    asset_key: str
    stage: str
    generation: int | None
    metadata: dict[str, Any]


@dataclass(frozen=True)
class CheckRecord:
    """The outcome of one asset check in a run."""

    asset_key: str
    name: str
    passed: bool
    severity: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class GenerationRun:
    """The outcome of running one generation.

    Attributes:
        generation: The generation number.
        run_id: The Dagster run id.
        success: Whether every step succeeded.
        seconds: Wall-clock time of the run.
        stages: Each materialized stage with its metadata, in pipeline order.
        checks: Each asset check evaluated in the run.
        failures: ``(step, message)`` for each failed step (failed checks are in ``checks``).
    """

    generation: int
    run_id: str
    success: bool
    seconds: float
    stages: list[StageRecord] = field(default_factory=list)
    checks: list[CheckRecord] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[CheckRecord]:
        """Checks that failed with ERROR severity."""
        return [check for check in self.checks if not check.passed and check.severity == "ERROR"]

    def check(self, name: str) -> CheckRecord:
        """The result of the check with this name (the first, if several assets have one).

        Raises:
            KeyError: No check of that name ran (e.g. it was skipped after an upstream failure).
        """
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"check {name!r} did not run in generation {self.generation}")


def default_instance() -> dg.DagsterInstance:
    """The Dagster instance at $DAGSTER_HOME, or ``.synth_pipeline/dagster_home`` when unset.

    Using a persistent instance means ``dagster dev`` with the same DAGSTER_HOME shows
    the runs started from the command line.
    """
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).absolute()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        # Dagster's defaults (everything stored under home), without usage telemetry:
        # pipelines here run with no network.
        settings.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def pipeline_names(defs: dg.Definitions) -> list[str]:
    """Names of the synth-pipelines whose generation jobs ``defs`` holds."""
    return sorted(
        str(job.tags[PIPELINE_TAG]) for job in defs.resolve_all_job_defs() if PIPELINE_TAG in job.tags
    )


def pipeline_stages(defs: dg.Definitions, pipeline: str) -> dict[Stage, tuple[dg.AssetKey, str]]:
    """Each stage of a pipeline with its asset key and op name (for run config)."""
    stages: dict[Stage, tuple[dg.AssetKey, str]] = {}
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.tags.get(PIPELINE_TAG) == pipeline and STAGE_TAG in node.tags:
            stages[Stage(node.tags[STAGE_TAG])] = (key, node.assets_def.node_def.name)
    return stages


def run_generations(
    defs: dg.Definitions,
    *,
    pipeline: str,
    generations: list[int],
    instance: dg.DagsterInstance,
    stage_config: dict[Stage, dict[str, Any]] | None = None,
    policy: SynthPolicy | None = None,
    keep_going: bool = False,
    quiet: bool = True,
    on_start: Callable[[int], None] | None = None,
    stages: Sequence[Stage] | None = None,
) -> Iterator[GenerationRun]:
    """Materialize every stage of ``pipeline`` for each generation, in order.

    Stops after the first generation that fails (a step error or a failed blocking
    check), unless ``keep_going``.

    Args:
        defs: Definitions holding the pipeline (e.g. ``pipeline.to_definitions()``).
        pipeline: The pipeline name.
        generations: Generation numbers to run, in order.
        instance: Where runs, materializations and partitions are recorded.
        stage_config: Run config per stage (e.g. ``{Stage.TRAINING_MIX: {"mode": "replace"}}``).
        policy: Overrides the policy bound in ``defs`` for these runs.
        keep_going: Run the remaining generations after a failed one, letting them build on
            the failed generation's mix (for simulations of the loop).
        quiet: Silence Dagster's console log (failures are still in the returned runs).
        on_start: Called with each generation number before its run starts.
        stages: Materialize only these stages (and run their checks); their inputs must
            be stored already or be among them. Default: every stage.

    Yields:
        One :class:`GenerationRun` per generation run.
    """
    if pipeline not in pipeline_names(defs):
        raise SynthPipelineError(
            f"no synth-pipeline named {pipeline!r} in these definitions; found {pipeline_names(defs)}"
        )
    job = defs.resolve_job_def(f"{pipeline}_generation")
    available = pipeline_stages(defs, pipeline)
    selected = list(stages) if stages else list(available)
    unknown = sorted(s.value for s in [*(stage_config or {}), *selected] if s not in available)
    if unknown:
        raise SynthPipelineError(f"pipeline {pipeline!r} has no stage(s) {unknown}")
    stage_config = {stage: dict(config) for stage, config in (stage_config or {}).items()}
    if keep_going:  # later generations may then build on a mix that failed its checks
        for stage in (Stage.SYNTHETIC, Stage.TRAINING_MIX):
            stage_config.setdefault(stage, {})["allow_failed_previous"] = True
    run_config: dict[str, Any] = {
        "ops": {
            available[stage][1]: {"config": config} for stage, config in stage_config.items() if stage in selected
        }
    }
    if policy is not None:
        run_config["resources"] = {policy_resource_key(pipeline): {"config": policy.to_mapping()}}
    if quiet:
        run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}
    partitions_name = f"{pipeline}_generations"
    stage_of = {key: stage for stage, (key, _) in available.items()}
    selection = [available[stage][0] for stage in selected] if stages else None
    for generation in generations:
        key = generation_key(generation)
        if not instance.has_dynamic_partition(partitions_name, key):
            instance.add_dynamic_partitions(partitions_name, [key])
        if on_start:
            on_start(generation)
        started = time.perf_counter()
        result = job.execute_in_process(
            partition_key=key, instance=instance, run_config=run_config, raise_on_error=False,
            asset_selection=selection,
        )
        run = _summarize_run(result, generation, time.perf_counter() - started, stage_of)
        yield run
        if not run.success and not keep_going:
            return


def _summarize_run(
    result: dg.ExecuteInProcessResult, generation: int, seconds: float, stage_of: dict[dg.AssetKey, Stage]
) -> GenerationRun:
    order = {stage: index for index, stage in enumerate(Stage)}
    stages = []
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        stages.append(
            StageRecord(
                asset_key=materialization.asset_key.to_user_string(),
                stage=stage_of.get(materialization.asset_key, ""),
                generation=int(materialization.partition) if materialization.partition else None,
                metadata=metadata,
            )
        )
    stages.sort(key=lambda record: order.get(Stage(record.stage), 99) if record.stage else 99)
    failures = [
        (event.step_key or "?", _root_cause(event.step_failure_data.error))
        for event in result.all_events
        if event.is_step_failure and _reported_elsewhere(event.step_failure_data.error) is False
    ]
    checks = [
        CheckRecord(
            asset_key=evaluation.asset_key.to_user_string(),
            name=evaluation.check_name,
            passed=evaluation.passed,
            severity=evaluation.severity.value,
            metadata={k: getattr(v, "value", v) for k, v in evaluation.metadata.items()},
        )
        for evaluation in result.get_asset_check_evaluations()
    ]
    return GenerationRun(
        generation=generation, run_id=result.run_id, success=result.success,
        seconds=seconds, stages=stages, checks=checks, failures=failures,
    )


def _reported_elsewhere(error: Any) -> bool:
    """A failed blocking check fails its step too; the check result already reports it."""
    return error is not None and error.cls_name == "DagsterAssetCheckFailedError"


def _root_cause(error: Any) -> str:
    """The message of the exception user code raised, not of Dagster's wrappers around it."""
    while error is not None and error.cls_name and error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error.message.strip() if error is not None else "unknown error"
