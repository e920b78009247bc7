"""The augmented stage: SMOTE oversampling of each generation's real minority-class rows."""

import dagster as dg
import numpy as np
import pandas as pd

from synth_pipeline.augmentation import smote_oversample
from synth_pipeline.generations import current_generation
from synth_pipeline.metadata import provenance_metadata
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import DEPTH_COLUMN, ProvenanceKind, tag_rows, user_columns
from synth_pipeline.stages.builder import StageBuilder
from synth_pipeline.storage import DatasetStore


def build_augmented(builder: StageBuilder) -> dg.AssetsDefinition:
    """Per generation: new minority-class rows interpolated between real rows."""
    spec = builder.spec
    settings = spec.augmentation
    assert settings is not None

    @dg.asset(**builder.asset_kwargs(Stage.AUGMENTED), ins={"arrivals": builder.input(Stage.REAL_ARRIVALS)})
    def augmented(
        context: dg.AssetExecutionContext, arrivals: pd.DataFrame, synth_pipeline_store: DatasetStore
    ) -> dg.MaterializeResult:
        generation = current_generation(context)
        with builder.lineage(
            context, synth_pipeline_store, relation="augment", outputs=[Stage.AUGMENTED], generation=generation,
        ) as lineage:
            fit_ref = lineage.fit_input(builder.key(Stage.REAL_ARRIVALS), str(generation), arrivals)
            made, sources = smote_oversample(
                arrivals[user_columns(arrivals)], label_column=spec.label_column,
                target_ratio=settings.target_ratio, k_neighbors=settings.k_neighbors,
                seed=spec.seed + generation,
            )
            # An augmented row keeps its sources' depth (the deeper of base and neighbour).
            depths = arrivals[DEPTH_COLUMN].to_numpy()
            depth = depths[sources].max(axis=1) if len(made) else np.zeros(0, dtype="int32")
            frame = tag_rows(
                made, kind=ProvenanceKind.AUGMENTED, generation=generation,
                dataset=builder.dataset(Stage.AUGMENTED), depth=depth,
            )
            context.log.info(
                f"generation {generation}: {len(frame)} augmented rows (SMOTE, target ratio {settings.target_ratio})"
            )
            from synth_pipeline.lineage.facets import Generator

            params = {"target_ratio": settings.target_ratio, "k_neighbors": settings.k_neighbors}
            return lineage.publish(
                Stage.AUGMENTED, frame, generation=generation,
                generator=Generator(name="smote", params=params, fittedOn=f"{fit_ref.name}@{fit_ref.version}"),
                metadata=provenance_metadata(
                    frame, label_column=spec.label_column, generation=generation,
                    parents=[builder.key(Stage.REAL_ARRIVALS)],
                    extra={"method": "smote", **params},
                ),
            )

    return augmented
