"""The augmented stage: SMOTE oversampling of each generation's real minority-class rows.

For a regression label (:mod:`synth_pipeline.task`) the stage makes no rows: SMOTE tops
classes up to a share of the largest, and a continuous label has no classes to balance
(interpolating the label between neighbours would be a generator of its own, with no
imbalance to justify it). The empty partition is stored, so every check on it reports
``skipped`` with the reason, and the metadata's ``skipped`` entry says why.
"""

from dataclasses import replace

import dagster as dg
import numpy as np
import pandas as pd

from synth_pipeline.augmentation import smote_oversample, smote_target
from synth_pipeline.budgets import augmentation_allowance
from synth_pipeline.categorical_columns import stored_categorical_columns
from synth_pipeline.generations import current_generation
from synth_pipeline.generators.protocol import GeneratorInfo
from synth_pipeline.identifiers import stored_identifiers
from synth_pipeline.naming import Stage
from synth_pipeline.no_rows import AUGMENTATION_NOT_FOR_REGRESSION
from synth_pipeline.output_validation import SMOTE_ALTERNATIVE
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.provenance import DEPTH_COLUMN, user_columns
from synth_pipeline.provenance_stamping import FitInput, GeneratedBy
from synth_pipeline.publishing import publish_declared
from synth_pipeline.spec import SynthPipelineSpec
from synth_pipeline.stages.builder import StageBuilder

REGRESSION_SKIP = AUGMENTATION_NOT_FOR_REGRESSION


def build_augmented(builder: StageBuilder) -> dg.AssetsDefinition:
    """Per generation: new minority-class rows interpolated between real rows.

    SMOTE tops each class up to ``target_ratio`` of the largest, but never beyond the
    run's policy: each class gets at most the rows that keep its budgeted fraction within
    its limit next to the synthesizer's expected rows (:func:`augmentation_allowance`);
    the metadata says which classes were capped.
    """
    from synth_pipeline.resources import policy_resource_key

    spec = builder.spec
    settings = spec.augmentation
    assert settings is not None
    policy_key = policy_resource_key(spec.name)

    kwargs = builder.asset_kwargs(Stage.AUGMENTED)
    kwargs["required_resource_keys"] = {*kwargs["required_resource_keys"], policy_key}

    @dg.asset(**kwargs, ins={"arrivals": builder.input(Stage.REAL_ARRIVALS)})
    def augmented(context: dg.AssetExecutionContext, arrivals: pd.DataFrame) -> dg.MaterializeResult:
        generation = current_generation(context)
        store = builder.store(context)
        policy: SynthPolicy = getattr(context.resources, policy_key)
        with builder.lineage(
            context, store, relation="augment", outputs=[Stage.AUGMENTED], generation=generation,
        ) as lineage:
            real_rows = arrivals[spec.label_column].value_counts().to_dict()
            allowance = augmentation_allowance(real_rows, policy, synthetic_per_real_row=_synthetic_per_real_row(
                spec, len(arrivals)))
            identifiers = stored_identifiers(store, builder.key(Stage.REAL_SOURCE))
            fit_rows = arrivals[[c for c in user_columns(arrivals) if c not in identifiers]]
            label_task = builder.label_task(store)
            if label_task.is_regression:
                # SMOTE tops classes up; a regression label has none to balance (see module docs).
                made, sources = fit_rows.iloc[0:0], np.zeros((0, 2), dtype=np.int64)
                real_rows, allowance = {}, {}
                context.log.info(f"generation {generation}: no augmentation: {REGRESSION_SKIP}")
            else:
                made, sources = smote_oversample(
                    fit_rows, label_column=spec.label_column,
                    target_ratio=settings.target_ratio, k_neighbors=settings.k_neighbors,
                    seed=spec.seed + generation, max_added=allowance,
                    categorical=stored_categorical_columns(store, builder.key(Stage.REAL_SOURCE)),
                )
            uncapped = smote_target(real_rows, settings.target_ratio)
            capped = {
                f"class #{index}": {"target": uncapped[label], "allowed": allowance[label]}
                for index, label in enumerate(sorted(real_rows, key=str), start=1)
                if label in allowance and uncapped[label] > allowance[label]
            }
            if capped:
                context.log.info(f"augmentation capped by the policy's class budgets: {capped}")
            context.log.info(
                f"generation {generation}: {len(made)} augmented rows (SMOTE, target ratio {settings.target_ratio})"
            )
            # An augmented row keeps its sources' depth (the deeper of base and neighbour).
            depths = arrivals[DEPTH_COLUMN].to_numpy()
            depth = depths[sources].max(axis=1) if len(made) else np.zeros(0, dtype="int32")
            params = {"target_ratio": settings.target_ratio, "k_neighbors": settings.k_neighbors}
            return publish_declared(
                context, lineage, made, provenance=replace(builder.provenance(Stage.AUGMENTED),
                                                           task=label_task.task.value),
                asset_key=builder.key(Stage.AUGMENTED), store=store, generation=generation,
                parents=[builder.key(Stage.REAL_ARRIVALS)], bin_edges=label_task.bin_edges or None,
                metadata={"method": "smote", **params, "capped_by_policy": dg.MetadataValue.json(capped),
                          **({"skipped": REGRESSION_SKIP} if label_task.is_regression else {})},
                generated_by=GeneratedBy(
                    fit=FitInput(builder.key(Stage.REAL_ARRIVALS), str(generation), arrivals),
                    info=GeneratorInfo(name="smote", params=params), depth=depth, alternative=SMOTE_ALTERNATIVE,
                    within_fit_range=True, open_setting=None),  # SMOTE recombines fit values: no open columns
            )

    return augmented


def _synthetic_per_real_row(spec: SynthPipelineSpec, arriving: int) -> float:
    """Synthetic rows the synthesizer is expected to add per real row of a class."""
    rows = spec.synthesizer.num_rows
    if rows is not None:
        return rows / arriving if arriving else 0.0
    return spec.synthesizer.rows_per_real_row
