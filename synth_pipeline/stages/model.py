"""The downstream model, trained on each generation's training mix."""

import dagster as dg
import pandas as pd

from synth_pipeline.composition import summarize
from synth_pipeline.generations import current_generation
from synth_pipeline.identifiers import stored_identifiers
from synth_pipeline.metadata import composition_metadata
from synth_pipeline.modeling import train_classifier
from synth_pipeline.naming import Stage
from synth_pipeline.publishing import publish_declared
from synth_pipeline.stages.builder import StageBuilder
from synth_pipeline.task import model_factory
from synth_pipeline.text_columns import stored_text_columns


def build_model(builder: StageBuilder) -> dg.AssetsDefinition:
    """Per generation: fit the spec's model on the training mix (a regressor for a regression label)."""
    spec = builder.spec

    @dg.asset(**builder.asset_kwargs(Stage.MODEL), ins={"mix": builder.input(Stage.TRAINING_MIX)})
    def model(
        context: dg.AssetExecutionContext, mix: pd.DataFrame
    ) -> dg.MaterializeResult:
        synth_pipeline_store = builder.store(context)
        generation = current_generation(context)
        with builder.lineage(
            context, synth_pipeline_store, relation="train", outputs=[Stage.MODEL],
            inputs={Stage.TRAINING_MIX: "data"}, generation=generation,
        ) as lineage:
            label_task = builder.label_task(synth_pipeline_store)
            factory = model_factory(spec.model.factory, label_task.task)
            context.log.info(
                f"generation {generation}: training {factory} ({label_task.task.value}) on {len(mix)} rows")
            estimator = train_classifier(
                mix, label_column=spec.label_column, factory=factory, seed=spec.seed,
                exclude=stored_identifiers(synth_pipeline_store, builder.key(Stage.REAL_SOURCE)),
                text=stored_text_columns(synth_pipeline_store, builder.key(Stage.REAL_SOURCE)),
            )
            metadata = {
                f"trained_on_{key}": value
                for key, value in composition_metadata(
                    summarize(mix, spec.label_column, label_task.bin_edges or None)).items()
                if not key.startswith("dagster/")
            }
            metadata.update(
                {
                    "generation": generation,
                    "parents": dg.MetadataValue.json([builder.dataset(Stage.TRAINING_MIX)]),
                    "estimator": type(estimator).__name__,
                    "model_factory": factory,
                    "task": label_task.task.value,
                    "train_rows": len(mix),
                }
            )
            if hasattr(estimator, "classes_"):
                metadata["classes"] = dg.MetadataValue.json([str(c) for c in estimator.classes_])
            return publish_declared(
                context, lineage, estimator, provenance=builder.provenance(Stage.MODEL),
                asset_key=builder.key(Stage.MODEL), store=synth_pipeline_store, generation=generation,
                metadata=metadata)

    return model
