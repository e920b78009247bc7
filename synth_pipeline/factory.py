"""Building a synth-pipeline's Dagster definitions from a spec."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from synth_pipeline.code_references import caller_reference, with_pipeline_references
from synth_pipeline.generations import generations_partitions
from synth_pipeline.guarded import GuardedAssets
from synth_pipeline.naming import PIPELINE_TAG, Stage, SynthPipelineTranslator
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.resources import ResourceKeys, pipeline_resources, policy_resource_key
from synth_pipeline.spec import SynthPipelineSpec
from synth_pipeline.stages.augmented import build_augmented
from synth_pipeline.stages.builder import StageBuilder
from synth_pipeline.stages.evaluation import build_evaluation
from synth_pipeline.stages.mix import build_training_mix
from synth_pipeline.stages.model import build_model
from synth_pipeline.stages.real import build_real_arrivals, build_real_source, build_split
from synth_pipeline.stages.synthetic import build_synthetic
from synth_pipeline.stages.unknown import build_unknown


@dataclass(frozen=True)
class SynthPipeline:
    """One pipeline's Dagster assets, generation partitions and job.

    Build it with :func:`build_synth_pipeline`; pass :meth:`to_definitions` to Dagster.

    Attributes:
        spec: The spec it was built from.
        translator: Names, tags and kinds of its assets.
        generations: The dynamic partitions holding its generations.
        assets: One asset per stage (the holdout and train split share one multi-asset).
        job: Materializes every stage for one generation (a partition key).
        stages: The stages present (augmented and unknown ingestion are optional).
        defined_at: Where :func:`build_synth_pipeline` was called (None when not from a source file): each
            asset's first code reference in the Dagster UI (:mod:`synth_pipeline.code_references`).
        resource_keys: The keys of its dataset store and IO manager (see
            :func:`build_synth_pipeline`'s ``scoped_resources``).
    """

    spec: SynthPipelineSpec
    translator: SynthPipelineTranslator
    generations: dg.DynamicPartitionsDefinition
    assets: tuple[dg.AssetsDefinition, ...]
    job: dg.UnresolvedAssetJobDefinition
    stages: tuple[Stage, ...] = field(default=())
    defined_at: dg.LocalFileCodeReference | None = None
    resource_keys: ResourceKeys = field(default=ResourceKeys())

    @property
    def name(self) -> str:
        """The pipeline's name."""
        return self.spec.name

    def key(self, stage: Stage | str) -> dg.AssetKey:
        """The asset key of a stage."""
        return self.translator.get_asset_key(self.spec, Stage(stage))

    @property
    def guarded(self) -> GuardedAssets:
        """The pipeline's assets by role, as the guard rails see them (:mod:`synth_pipeline.checks.guard_rails`)."""
        keys = {stage: self.key(stage) for stage in self.stages}
        return GuardedAssets(
            name=self.name, label_column=self.spec.label_column,
            real_source=keys[Stage.REAL_SOURCE], real_holdout=keys[Stage.REAL_HOLDOUT],
            real_train=keys[Stage.REAL_TRAIN], real_arrivals=keys[Stage.REAL_ARRIVALS],
            synthetic=(keys[Stage.SYNTHETIC],), augmented=tuple(k for s, k in keys.items() if s is Stage.AUGMENTED),
            unknown=tuple(k for s, k in keys.items() if s is Stage.UNKNOWN),
            training_mix=keys[Stage.TRAINING_MIX], evaluation=keys[Stage.EVALUATION],
            model_factory=self.spec.model.factory, seed=self.spec.seed,
            open_categories=tuple(self.spec.synthesizer.open_categories),
            task=self.spec.task, holdout_fraction=self.spec.holdout_fraction, store_key=self.resource_keys.store,
        )

    def to_definitions(
        self,
        *,
        data_dir: str | None = None,
        policy: SynthPolicy | None = None,
        include_checks: bool = True,
        include_quality_checks: bool = True,
        expectation_suites: str | Path | None = None,
        unexpected_value_samples: int = 0,
        asset_checks: Sequence[dg.AssetChecksDefinition] = (),
        schedules: Sequence[dg.ScheduleDefinition] = (),
        sensors: Sequence[dg.SensorDefinition] = (),
        executor: dg.ExecutorDefinition | None = None,
        lineage_sensors: bool = True,
    ) -> dg.Definitions:
        """Dagster definitions with the pipeline's assets, checks, job and resources.

        Each asset links to its code (``dagster/code_references``): where the pipeline was built, then
        its stage's function in :mod:`synth_pipeline.stages`.

        Args:
            data_dir: Where stage outputs are stored (default: see
                :mod:`synth_pipeline.storage`), bound under the pipeline's resource keys.
            policy: The limits the policy checks enforce (default: ``SynthPolicy()``),
                bound as the resource ``<pipeline>_policy``.
            include_checks: Include the provenance and policy checks (on by default;
                turning them off removes every guard rail).
            include_quality_checks: Include the fidelity, privacy, utility and diversity
                checks (on by default; they add a few seconds per generation on small data).
            expectation_suites: A directory of Great Expectations suite files,
                ``<stage>.json``; each present file becomes that stage's ``expectations``
                check (write them with ``synth-pipeline expectations init``).
            unexpected_value_samples: How many offending values of a failed expectation
                the ``expectations`` check shows in its metadata (at most 20). Default 0:
                counts only, so no raw row value reaches Dagster's event log.
            asset_checks: Further checks of your own.
            schedules: Schedules to include, e.g.
                :func:`~synth_pipeline.automation.build_generation_schedule`.
            sensors: Sensors to include, e.g.
                :func:`~synth_pipeline.automation.build_arrival_sensor`.
            executor: The executor of the definitions' jobs (default: Dagster's); e.g.
                :func:`~synth_pipeline.executors.preloading_executor`, which starts steps from
                a fork server that imported the code location and Great Expectations once per run.
            lineage_sensors: Include the run status sensors that end the OpenLineage run of
                each Dagster run launched from the UI, a schedule or a sensor
                (:mod:`synth_pipeline.lineage.run_sensors`; they need the Dagster daemon).
        """
        from synth_pipeline.checks.guard_rails import build_guard_rails, independent_generated_assets, validate_guarded
        from synth_pipeline.lineage.run_sensors import lineage_run_sensors

        validate_guarded(self.guarded, self.assets)  # the same check a team's own assets get
        checks = build_guard_rails(
            self.guarded, provenance=include_checks, policy=include_checks, quality=include_quality_checks,
            expectation_suites=expectation_suites, unexpected_value_samples=unexpected_value_samples,
            together=independent_generated_assets(self.guarded, self.assets),
        )
        return dg.Definitions(
            assets=with_pipeline_references(self.assets, self.defined_at),
            asset_checks=[*checks, *asset_checks],
            jobs=[self.job],
            schedules=list(schedules),
            sensors=[*sensors, *(lineage_run_sensors(self.name) if lineage_sensors else [])],
            resources={**pipeline_resources(data_dir, self.resource_keys),
                       policy_resource_key(self.name): policy or SynthPolicy()},
            executor=executor,
        )


def build_synth_pipeline(
    spec: SynthPipelineSpec, translator: SynthPipelineTranslator | None = None, *, scoped_resources: bool = False,
    executor: dg.ExecutorDefinition | None = None,
) -> SynthPipeline:
    """Turn a spec into Dagster assets: one per stage, per-generation where it applies.

    Args:
        spec: What to build.
        translator: Overrides asset keys, tags, kinds or descriptions.
        scoped_resources: Bind the dataset store and IO manager under keys of the pipeline's own,
            ``<name>_store`` and ``<name>_io_manager``, instead of the shared ``synth_pipeline_store``
            and ``synth_pipeline_io_manager``: then pipelines with different data directories can
            share one code location (``Definitions.merge``). The ``synth-pipeline`` command line
            binds either (``--pipeline`` chooses the pipeline when there are several).
        executor: The executor of the pipeline's generation job (default: the code location's),
            e.g. :func:`~synth_pipeline.executors.default_executor`. Set on the job, not on the
            definitions, so pipelines choosing different executors still merge into one code location.

    Returns:
        The pipeline; use ``pipeline.to_definitions()`` in a code location.

    Example:
        .. code-block:: python

            pipeline = build_synth_pipeline(
                SynthPipelineSpec(name="churn", label_column="churned",
                                  real_source=SourceSpec(path="customers.parquet"))
            )
            defs = pipeline.to_definitions()
    """
    keys = ResourceKeys.scoped(spec.name) if scoped_resources else ResourceKeys()
    builder = StageBuilder(spec=spec, translator=translator or SynthPipelineTranslator(),
                           generations=generations_partitions(spec.name), resource_keys=keys)
    stages = [Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, Stage.REAL_ARRIVALS, Stage.SYNTHETIC]
    assets = [build_real_source(builder), build_split(builder), build_real_arrivals(builder), build_synthetic(builder)]
    mix_sources = [Stage.REAL_ARRIVALS, Stage.SYNTHETIC]
    if spec.augmentation is not None:
        stages.append(Stage.AUGMENTED)
        assets.append(build_augmented(builder))
        mix_sources.append(Stage.AUGMENTED)
    if spec.unknown_source is not None:
        stages.append(Stage.UNKNOWN)
        assets.append(build_unknown(builder))
        if spec.mix.include_unknown:
            mix_sources.append(Stage.UNKNOWN)
    stages += [Stage.TRAINING_MIX, Stage.MODEL, Stage.EVALUATION]
    assets += [build_training_mix(builder, mix_sources), build_model(builder), build_evaluation(builder)]
    job = dg.define_asset_job(
        name=f"{spec.name}_generation",
        selection=dg.AssetSelection.assets(*assets),
        description=f"Materialize every stage of {spec.name} for one generation (partition).",
        tags={PIPELINE_TAG: spec.name},
        executor_def=executor,
    )
    return SynthPipeline(
        spec=spec, translator=builder.translator, generations=builder.generations,
        assets=tuple(assets), job=job, stages=tuple(stages), resource_keys=keys,
        defined_at=caller_reference(f"pipeline {spec.name} built here"),
    )


def import_pipeline(reference: str) -> Any:
    """The :class:`~synth_pipeline.factory.SynthPipeline` named ``MODULE:OBJECT``.

    Raises:
        UnknownNameError: Not of the form ``MODULE:OBJECT``, no such module or object, or
            the object is not a SynthPipeline (the message lists the SynthPipelines the
            module holds).
    """
    from synth_pipeline.errors import UnknownNameError
    from synth_pipeline.user_input import listing, quoted, unknown_name
    from synth_pipeline.user_modules import import_user_module

    module_name, colon, attribute = reference.partition(":")
    if not colon or not attribute:
        raise UnknownNameError(f"{quoted(reference)} does not name an object: write MODULE:OBJECT, "
                               "e.g. assets.pipeline:reference_pipeline")
    module = import_user_module(module_name)
    pipelines = sorted(name for name, value in vars(module).items() if isinstance(value, SynthPipeline))
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UnknownNameError(unknown_name("object", attribute, pipelines,
                                                where=f"in module {quoted(module_name)}",
                                                plural="SynthPipeline objects"))
        target = getattr(target, part)
    if not isinstance(target, SynthPipeline):
        raise UnknownNameError(
            f"{quoted(reference)} is a {type(target).__name__}, not a SynthPipeline; SynthPipeline objects in "
            f"module {quoted(module_name)}: {listing(pipelines)}"
        )
    return target
