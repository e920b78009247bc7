"""What every stage builder needs: the spec, the translator and the wiring helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dagster as dg

from synth_pipeline.declared import Provenance
from synth_pipeline.naming import PARTITIONED_STAGES, Stage, SynthPipelineTranslator
from synth_pipeline.resources import IO_MANAGER_KEY, STORE_KEY, ResourceKeys
from synth_pipeline.spec import SynthPipelineSpec
from synth_pipeline.storage import DatasetStore

if TYPE_CHECKING:
    from synth_pipeline.lineage.recorder import StepLineage
    from synth_pipeline.task import LabelTask

__all__ = ["IO_MANAGER_KEY", "STORE_KEY", "StageBuilder"]


@dataclass(frozen=True)
class StageBuilder:
    """Shared context for building one pipeline's stage assets.

    Attributes:
        spec: The pipeline spec.
        translator: Names, tags and kinds of each stage.
        generations: The dynamic partitions holding the pipeline's generations.
        resource_keys: Where the stages find the dataset store and the IO manager.
    """

    spec: SynthPipelineSpec
    translator: SynthPipelineTranslator
    generations: dg.DynamicPartitionsDefinition
    resource_keys: ResourceKeys = ResourceKeys()

    def store(self, context: dg.AssetExecutionContext) -> DatasetStore:
        """The dataset store bound for this pipeline in the running step's resources."""
        return getattr(context.resources, self.resource_keys.store)

    def key(self, stage: Stage) -> dg.AssetKey:
        """The asset key of a stage."""
        return self.translator.get_asset_key(self.spec, stage)

    def dataset(self, stage: Stage) -> str:
        """The dataset name recorded in ``_sp_dataset`` for rows a stage produces."""
        return self.key(stage).to_user_string()

    def input(self, stage: Stage) -> dg.AssetIn:
        """An input reading a stage's output."""
        return dg.AssetIn(key=self.key(stage))

    def partitions_def(self, stage: Stage) -> dg.DynamicPartitionsDefinition | None:
        """Generations for per-generation stages, None for the others."""
        return self.generations if stage in PARTITIONED_STAGES else None

    def asset_kwargs(self, stage: Stage) -> dict[str, Any]:
        """Keyword arguments for ``@dg.asset`` describing a stage."""
        return {
            "key": self.key(stage),
            "group_name": self.translator.get_group_name(self.spec),
            "tags": self.translator.get_tags(self.spec, stage),
            "kinds": self.translator.get_kinds(self.spec, stage),
            "description": self.translator.get_description(self.spec, stage),
            "io_manager_key": self.resource_keys.io_manager,
            "required_resource_keys": {self.resource_keys.store},
            "partitions_def": self.partitions_def(stage),
            "metadata": self.provenance(stage).metadata(),
        }

    def provenance(self, stage: Stage) -> Provenance:
        """The stage's declared provenance, as a team's own asset declares it (:mod:`synth_pipeline.declared`)."""
        generator = fitted_on = None
        if stage is Stage.SYNTHETIC:
            generator = str(self.spec.synthesizer.method)
            recursive = self.spec.synthesizer.fit_on == "previous_mix"  # from generation 2 on
            fitted_on = self.key(Stage.TRAINING_MIX if recursive else Stage.REAL_ARRIVALS)
        elif stage is Stage.AUGMENTED:
            generator, fitted_on = "smote", self.key(Stage.REAL_ARRIVALS)
        return Provenance(
            pipeline=self.spec.name, role=stage, label_column=self.spec.label_column, generator=generator,
            fitted_on=fitted_on, task=self.spec.task,
            identifier_columns=self.spec.identifier_columns, text_columns=self.spec.text_columns,
            categorical_columns=self.spec.categorical_columns,
            open_categories=tuple(self.spec.synthesizer.open_categories) if stage is Stage.SYNTHETIC else (),
        )

    def asset_out(self, stage: Stage) -> dg.AssetOut:
        """An ``AssetOut`` describing a stage, for multi-assets."""
        kwargs = self.asset_kwargs(stage)
        kwargs.pop("partitions_def")
        kwargs.pop("required_resource_keys")  # a multi-asset requires them as a whole
        return dg.AssetOut(**kwargs)

    def label_task(self, store: DatasetStore) -> LabelTask:
        """The task resolved from the spec and the stored real source (:func:`~synth_pipeline.task.stored_label_task`).

        Raises:
            StoredDataNotFoundError: The real source has not been materialized.
        """
        from synth_pipeline.task import stored_label_task

        return stored_label_task(self.spec, store, self.key(Stage.REAL_SOURCE))

    def bin_edges(self, store: DatasetStore) -> tuple[float, ...] | None:
        """Quantile bin edges of a regression label (per-bin composition), None for classification."""
        return self.label_task(store).bin_edges or None

    def partition(self, stage: Stage, generation: int) -> str | None:
        """The partition of ``stage`` read or written in ``generation`` (None for unpartitioned stages)."""
        return str(generation) if stage in PARTITIONED_STAGES and generation > 0 else None

    def lineage(
        self,
        context: dg.AssetExecutionContext,
        store: DatasetStore,
        *,
        relation: str,
        outputs: list[Stage],
        inputs: dict[Stage, str] | None = None,
        generation: int = 0,
    ) -> StepLineage:
        """Lineage recording for a stage step (use it as a context manager).

        Args:
            context: The asset's execution context.
            store: The dataset store (outputs are written through it).
            relation: ``ingest``, ``split``, ``generate``, ``augment``, ``mix``, ``train`` or ``evaluate``.
            outputs: The stages the step materializes.
            inputs: Stages read as Dagster inputs, with the role each plays.
            generation: The generation materialized (0 outside generations).
        """
        # Imported here: openlineage-python takes about a second to import, and loading
        # the definitions (e.g. in the Dagster UI) must not pay for it.
        from synth_pipeline.lineage.recorder import OutputSpec, StepLineage, stored_ref

        return StepLineage(
            context.op_execution_context, store, pipeline=self.spec.name, relation=relation,
            outputs={
                stage.value: OutputSpec(
                    self.key(stage), self.partition(stage, generation), tabular=stage is not Stage.MODEL
                )
                for stage in outputs
            },
            inputs=[
                stored_ref(store, self.key(stage), self.partition(stage, generation), role=role)
                for stage, role in (inputs or {}).items()
            ],
        )
