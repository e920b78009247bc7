"""Publishing one output of a step with its declared provenance: stamp its rows, store them,
record lineage, keep the privacy spend and identifier records beside it.

The one path every provenance-carrying output takes: a team's own assets
(:func:`~synth_pipeline.provenance_assets.publish_rows`, ``@provenance_asset``) and the
template's stages (:mod:`synth_pipeline.stages`) both end in :func:`publish_declared`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from synth_pipeline.naming import PIPELINE_TAG, STAGE_TAG, Stage

if TYPE_CHECKING:
    from synth_pipeline.declared import Provenance
    from synth_pipeline.lineage.recorder import StepLineage
    from synth_pipeline.provenance_stamping import GeneratedBy
    from synth_pipeline.storage import DatasetStore


def publish_declared(
    context: dg.AssetExecutionContext,
    lineage: StepLineage,
    value: Any,
    *,
    provenance: Provenance,
    asset_key: dg.AssetKey,
    store: DatasetStore,
    generation: int,
    parents: Sequence[dg.AssetKey] = (),
    metadata: Mapping[str, Any] | None = None,
    bin_edges: tuple[float, ...] | None = None,
    generated_by: GeneratedBy | None = None,
    source_name: str | None = None,
) -> dg.MaterializeResult:
    """Stamp ``value`` as ``provenance`` says (:func:`~synth_pipeline.provenance_stamping.stamp`), store it
    through the step's open ``lineage`` and return its materialization.

    Args:
        context: The step's context (its job's asset graph names the pipeline's real source).
        lineage: The step's open lineage recording, with ``provenance.role`` among its outputs.
        value: Rows (a DataFrame), or any picklable value for the ``model`` role.
        provenance: What the output holds.
        asset_key: The output's asset key.
        store: The dataset store.
        generation: The generation made (0 outside generations).
        parents: The assets it was made from (metadata ``parents``).
        metadata: Further materialization metadata (the stamping's own entries win on a clash).
        bin_edges: Quantile bins of a regression label, for per-bin composition metadata.
        generated_by: For generated rows: what the step knows beyond the declaration.
        source_name: How messages name where a real source's rows came from.

    Returns:
        The materialization, with the lineage version and the provenance metadata.

    Raises:
        ProvenanceError: Rows contradict the declared role.
        GeneratedDataError: Generated rows break the schema or values of their fit input.
    """
    from synth_pipeline.metadata import provenance_metadata
    from synth_pipeline.provenance_stamping import stamp

    role = provenance.role
    real_source = declared_asset(context, provenance.pipeline, Stage.REAL_SOURCE)
    stamped = stamp(value, provenance, store=store, asset_key=asset_key, generation=generation, lineage=lineage,
                    real_source=real_source, protected=protected_rows(context, provenance.pipeline),
                    generated_by=generated_by, source_name=source_name)
    for found in stamped.identifiers or []:
        context.log.info(f"identifier column {found.column} ({found.origin}: {found.evidence}): kept out of "
                         "generation and measures; generated rows get fresh keys")
    for found in stamped.text_columns or []:
        context.log.info(f"free-text column {found.column} ({found.origin}: {found.evidence}): measured as text "
                         "(synth_pipeline.text), open to new values in generated rows")
    entries = {**(metadata or {}), **stamped.metadata}
    if isinstance(stamped.value, pd.DataFrame) and role not in (Stage.MODEL, Stage.EVALUATION):
        entries = provenance_metadata(stamped.value, label_column=provenance.label_column or "",
                                      generation=generation, parents=list(dict.fromkeys(parents)), extra=entries,
                                      bin_edges=bin_edges)
    else:
        entries = {"generation": generation, **entries}
    result = lineage.publish(role.value, stamped.value, metadata=entries, generation=generation,
                             generator=stamped.generator, sealed=role is Stage.REAL_HOLDOUT,
                             row_hashes=role is Stage.REAL_TRAIN,
                             label_column=provenance.label_column,
                             fresh_columns=_fresh_columns(store, role, real_source))
    if stamped.privacy_spend is not None:  # recorded only for a published output
        from synth_pipeline.privacy_budget import record_privacy_spend

        record_privacy_spend(store, asset_key, str(generation), stamped.privacy_spend)
    if stamped.identifiers is not None:  # kept only beside a published source: a failed publish leaves none
        from synth_pipeline.identifiers import store_identifiers

        store_identifiers(store, asset_key, stamped.identifiers)
    if stamped.text_columns is not None:
        from synth_pipeline.text_columns import store_text_columns

        store_text_columns(store, asset_key, stamped.text_columns)
    if stamped.categorical_columns is not None:
        from synth_pipeline.categorical_columns import store_categorical_columns

        store_categorical_columns(store, asset_key, stamped.categorical_columns)
    return result


def _fresh_columns(store: DatasetStore, role: Stage, real_source: dg.AssetKey | None) -> list[str]:
    """Columns generated rows get afresh rather than from their fit input: the identifier keys."""
    if role not in (Stage.SYNTHETIC, Stage.AUGMENTED) or real_source is None:
        return []
    from synth_pipeline.identifiers import stored_identifiers

    return stored_identifiers(store, real_source)


def declared_asset(context: dg.AssetExecutionContext, pipeline: str, stage: Stage) -> dg.AssetKey | None:
    """The asset declared as ``pipeline``'s ``stage`` in the step's job, if any.

    A run of some assets only (a selection in the UI, ``run_generations(stages=...)``) executes a
    subset of the job whose asset graph holds the selected assets alone; the job it was cut from
    holds them all, and the real source found there is what keeps a generation's free-text and
    identifier columns known when the source itself is not rematerialized.
    """
    job = context.job_def
    while getattr(job, "asset_selection_data", None) is not None:
        job = job.asset_selection_data.parent_job_def
    graph = job.asset_layer.asset_graph  # the repository's is not set in execute_in_process
    for key in graph.get_all_asset_keys():
        tags = graph.get(key).tags
        if tags.get(PIPELINE_TAG) == pipeline and tags.get(STAGE_TAG) == stage.value:
            return key
    return None


def protected_rows(context: dg.AssetExecutionContext, pipeline: str) -> dg.AssetKey | None:
    """The real dataset whose rows the privacy budget protects: the real source, else the train split,
    else the holdout (the same order as :func:`synth_pipeline.privacy_budget.evaluate_privacy_budget`)."""
    for stage in (Stage.REAL_SOURCE, Stage.REAL_TRAIN, Stage.REAL_HOLDOUT):
        key = declared_asset(context, pipeline, stage)
        if key is not None:
            return key
    return None
