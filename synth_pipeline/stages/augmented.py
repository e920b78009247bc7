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


def build_augmented(builder: StageBuilder) -> dg.AssetsDefinition:
    """Per generation: new minority-class rows interpolated between real rows."""
    spec = builder.spec
    settings = spec.augmentation
    assert settings is not None

    @dg.asset(**builder.asset_kwargs(Stage.AUGMENTED), ins={"arrivals": builder.input(Stage.REAL_ARRIVALS)})
    def augmented(context: dg.AssetExecutionContext, arrivals: pd.DataFrame) -> dg.MaterializeResult:
        generation = current_generation(context)
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
        return dg.MaterializeResult(
            value=frame,
            metadata=provenance_metadata(
                frame, label_column=spec.label_column, generation=generation,
                parents=[builder.key(Stage.REAL_ARRIVALS)],
                extra={
                    "method": "smote",
                    "target_ratio": settings.target_ratio,
                    "k_neighbors": settings.k_neighbors,
                },
            ),
        )

    return augmented
