"""The training mix: each generation's training set, assembled from the data stages."""

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from synth_pipeline.generations import current_generation
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import (
    DATASET_COLUMN,
    GENERATION_COLUMN,
    KIND_COLUMN,
    ROW_HASH_COLUMN,
    ProvenanceKind,
    combine,
)
from synth_pipeline.publishing import publish_declared
from synth_pipeline.rerun_command import run_command_of
from synth_pipeline.spec import GenerationMode, parse_choice
from synth_pipeline.stages.builder import StageBuilder
from synth_pipeline.stages.previous import ALLOW_FAILED_PREVIOUS, read_previous_mix


class MixConfig(dg.Config):
    """Run-time override of how the mix relates to the previous generation."""

    mode: str | None = Field(
        default=None, description="replace or accumulate; None keeps the pipeline spec's mode."
    )
    allow_failed_previous: bool = ALLOW_FAILED_PREVIOUS


def assemble_mix(
    new_rows: pd.DataFrame, previous: pd.DataFrame | None, mode: GenerationMode
) -> pd.DataFrame:
    """This generation's training set.

    ``replace`` keeps only the new rows. ``accumulate`` keeps the previous mix and adds
    the new rows that are not records it already holds, so real rows that arrive again
    are not counted twice. A record is its content, generation stamp, kind and dataset,
    counted as a multiset (see :func:`new_records`): a new copy of content the previous
    mix holds (another real row with the same values, a synthetic row of a later
    generation) is a new record and is added.
    """
    if mode is GenerationMode.REPLACE or previous is None:
        return new_rows.reset_index(drop=True)
    return combine([previous, new_rows[new_records(new_rows, previous)]])


RECORD_COLUMNS = (ROW_HASH_COLUMN, GENERATION_COLUMN, KIND_COLUMN, DATASET_COLUMN)


def new_records(rows: pd.DataFrame, held: pd.DataFrame) -> np.ndarray:
    """Which of ``rows`` are records ``held`` does not hold, counted as a multiset.

    Rows with equal content hash, generation stamp, kind and dataset are copies of one
    record; if ``held`` has ``k`` copies, the first ``k`` copies in ``rows`` are held
    already and the others are new.

    Args:
        rows: Provenance-tagged rows.
        held: Provenance-tagged rows already held.

    Returns:
        A boolean array aligned with ``rows``, True for new records.
    """
    if rows.empty or held.empty:
        return np.ones(len(rows), dtype=bool)
    columns = list(RECORD_COLUMNS)
    held_copies = held.groupby(columns, sort=False, dropna=False).size().rename("_held").reset_index()
    keys = rows[columns].reset_index(drop=True)
    keys["_copy"] = keys.groupby(columns, sort=False, dropna=False).cumcount()
    merged = keys.merge(held_copies, on=columns, how="left")
    return (merged["_copy"] >= merged["_held"].fillna(0)).to_numpy()


def build_training_mix(builder: StageBuilder, sources: list[Stage]) -> dg.AssetsDefinition:
    """Per generation: combine the given data stages (and, in accumulate mode, the previous mix)."""
    spec = builder.spec
    mix_key = builder.key(Stage.TRAINING_MIX)

    @dg.asset(**builder.asset_kwargs(Stage.TRAINING_MIX), ins={s.value: builder.input(s) for s in sources})
    def training_mix(
        context: dg.AssetExecutionContext,
        config: MixConfig,
        **inputs: pd.DataFrame,
    ) -> dg.MaterializeResult:
        synth_pipeline_store = builder.store(context)
        generation = current_generation(context)
        mode = parse_choice(GenerationMode, config.mode, spec.mix.mode, field="mode")
        with builder.lineage(
            context, synth_pipeline_store, relation="mix", outputs=[Stage.TRAINING_MIX],
            inputs=dict.fromkeys(sources, "data"), generation=generation,
        ) as lineage:
            new_rows = combine([inputs[s.value] for s in sources])
            previous = None
            if mode is GenerationMode.ACCUMULATE and generation > 1:
                previous = read_previous_mix(
                    synth_pipeline_store, mix_key, generation - 1,
                    allow_failed=config.allow_failed_previous, log=context.log,
                    command=run_command_of(context.run, spec.name),
                )
                lineage.add_stored_input(mix_key, str(generation - 1), role="previous")
            mix = assemble_mix(new_rows, previous, mode)
            is_real = mix[KIND_COLUMN] == ProvenanceKind.REAL.value
            fresh_real = int((is_real & (mix[GENERATION_COLUMN] == generation)).sum())
            context.log.info(f"generation {generation} ({mode.value}): {len(mix)} rows, {fresh_real} fresh real")
            parents = [builder.key(s) for s in sources] + ([mix_key] if previous is not None else [])
            return publish_declared(
                context, lineage, mix, provenance=builder.provenance(Stage.TRAINING_MIX), asset_key=mix_key,
                store=synth_pipeline_store, generation=generation, parents=parents,
                metadata={"mode": mode.value, "fresh_real_rows": fresh_real,
                          "previous_generation_rows": 0 if previous is None else len(previous)},
                bin_edges=builder.bin_edges(synth_pipeline_store),
            )

    return training_mix
