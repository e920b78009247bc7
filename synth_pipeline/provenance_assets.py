"""Provenance on your own Dagster assets: declare what an asset holds, and its rows are
stamped, stored, versioned and recorded in lineage like the template's stages.

Two ways, in the style of Dagster's integrations:

- :func:`provenance_asset`: a decorator used like ``@dg.asset``. The function returns a
  ``pandas.DataFrame`` (or ``dg.Output(frame, metadata=...)``); the decorator stamps the
  per-row provenance columns the role calls for (unless the frame carries them already),
  validates generated rows against their fit input, stores the frame through the
  :class:`~synth_pipeline.storage.DatasetStore`, emits OpenLineage START / COMPLETE (FAIL
  on an exception) with the provenance facet, and sets tags, kinds and metadata: the
  provenance as a kind on the asset graph node, the described ``_sp_`` columns in
  ``dagster/column_schema`` (after any columns the asset declares) and a code reference to
  the decorated function.
- :func:`with_provenance` on a ``dg.AssetSpec`` (for ``@dg.multi_asset``), and
  :func:`publish_rows` inside its body for each output.

Roles are the :class:`~synth_pipeline.naming.Stage` values: ``real_source``,
``real_holdout`` (sealed), ``real_train``, ``real_arrivals``, ``synthetic``,
``augmented``, ``unknown_ingest``, ``training_mix``, ``model``, ``evaluation``. What is
stamped on untagged rows:

==================================  =====================================================
role                                rows
==================================  =====================================================
real_*                              kind ``real``, depth 0
synthetic, augmented                their kind, depth 1 + the deepest row of ``fitted_on``
unknown_ingest                      kind ``unknown``
training_mix                        must carry provenance already (build it with
                                    :func:`~synth_pipeline.provenance.combine`)
model, evaluation                   nothing (derived values)
==================================  =====================================================

The generation of a per-generation role comes from the partition key (through the
asset's :class:`~synth_pipeline.guarded.GenerationMap`) or, unpartitioned, from the
output metadata / run tag ``synth_pipeline/generation`` (see :mod:`synth_pipeline.guarded`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from synth_pipeline.code_references import function_reference, with_code_reference
from synth_pipeline.column_schema import COLUMN_SCHEMA, with_declared_columns
from synth_pipeline.declared import RELATION, Provenance
from synth_pipeline.errors import GenerationError, ProvenanceError
from synth_pipeline.generators.protocol import PrivacySpend
from synth_pipeline.guarded import GENERATION_METADATA, GenerationMap, register_generation_map
from synth_pipeline.naming import STAGE_TAG, Stage
from synth_pipeline.provenance_stamping import GeneratedBy
from synth_pipeline.resources import IO_MANAGER_KEY, STORE_KEY


def with_provenance(spec: dg.AssetSpec, provenance: Provenance) -> dg.AssetSpec:
    """``spec`` with the tags, kinds and metadata of ``provenance`` (for ``@dg.multi_asset``).

    Publish each output with :func:`publish_rows` in the multi-asset's body.
    """
    merged = spec.merge_attributes(tags=provenance.tags(), kinds=provenance.kinds(),
                                   metadata=declared_metadata(spec.metadata, provenance))
    register_generation_map(merged.key, provenance.generations)  # stored per generation: loads map keys the same way
    return merged.with_io_manager_key(IO_MANAGER_KEY)  # downstream assets load it from the store


def declared_metadata(own: Mapping[str, Any] | None, provenance: Provenance) -> dict[str, Any]:
    """An asset's own definition metadata with the declaration's (which wins), keeping an own
    ``dagster/column_schema`` (its columns first, then the provenance columns it lacks)."""
    declared = provenance.metadata()
    merged = {**(own or {}), **declared}
    if own and COLUMN_SCHEMA in own and COLUMN_SCHEMA in declared:
        merged = with_declared_columns({**merged, COLUMN_SCHEMA: own[COLUMN_SCHEMA]})
    return merged


def provenance_asset(
    *,
    pipeline: str,
    role: Stage | str,
    label_column: str | None = None,
    generator: str | None = None,
    generator_params: Mapping[str, Any] | None = None,
    fitted_on: dg.AssetKey | str | None = None,
    generations: GenerationMap | None = None,
    identifier_columns: list[str] | None = None,
    text_columns: list[str] | None = None,
    categorical_columns: list[str] | None = None,
    open_categories: tuple[str, ...] = (),
    privacy: PrivacySpend | None = None,
    task: str = "auto",
    **asset_kwargs: Any,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """Decorate a function returning rows as a Dagster asset with declared provenance.

    Used like ``@dg.asset`` (every keyword of it is passed on: ``key``, ``ins``, ``deps``,
    ``partitions_def``, ``group_name``, ...). The function may take ``context`` first; its
    other parameters are its inputs, loaded by the synth-pipeline IO manager.

    Args:
        pipeline: The pipeline (guard rails) the asset belongs to.
        role: What the asset holds (see the module docs).
        label_column: The target column, for per-class metadata.
        generator: For synthetic and augmented rows: the generator's name.
        generator_params: Recorded with the generator.
        fitted_on: For generated rows: the asset the generator was fitted on.
        generations: How partition keys map to generations (default: the key is the number).
        identifier_columns: For a real source: its record keys (None: detected).
        text_columns: For a real source: its free-text columns (None: detected, see
            :mod:`synth_pipeline.text_columns`).
        categorical_columns: For a real source: its numeric columns that hold categories (flags, codes;
            None: detected, see :mod:`synth_pipeline.categorical_columns`).
        open_categories: For generated rows: columns whose values may be new.
        privacy: For synthetic rows: the DP budget one fit spends (None: no DP guarantee).
        task: ``auto``, ``classification`` or ``regression`` (see :mod:`synth_pipeline.task`).
        **asset_kwargs: Passed to ``dg.asset``.

    Returns:
        The decorator.

    Raises:
        SynthPipelineError: The declaration is inconsistent (e.g. generated rows without a generator).

    Example:
        .. code-block:: python

            @provenance_asset(pipeline="churn", role="synthetic", generator="vendor_x",
                              fitted_on="train", partitions_def=generations)
            def vendor_rows(context, train: pd.DataFrame) -> pd.DataFrame:
                return pd.read_parquet(f"/drops/{context.partition_key}.parquet")
    """
    provenance = Provenance(
        pipeline=pipeline, role=Stage(role) if role in {s.value for s in Stage} else role,
        label_column=label_column, generator=generator,
        generator_params=dict(generator_params or {}), fitted_on=fitted_on, generations=generations or GenerationMap(),
        identifier_columns=identifier_columns, text_columns=text_columns, categorical_columns=categorical_columns,
        open_categories=tuple(open_categories), privacy=privacy, task=task,
    )

    def decorate(function: Callable[..., Any]) -> dg.AssetsDefinition:
        parameters = list(inspect.signature(function).parameters.values())
        takes_context = bool(parameters) and parameters[0].name == "context"
        # Annotations left as text (``from __future__ import annotations``) are dropped: Dagster
        # would read them as names of Dagster types.
        inputs = [p.replace(annotation=inspect.Parameter.empty) if isinstance(p.annotation, str) else p
                  for p in (parameters[1:] if takes_context else parameters)]

        @functools.wraps(function)
        def compute(context: dg.AssetExecutionContext, **kwargs: Any) -> dg.MaterializeResult:
            value = function(context, **kwargs) if takes_context else function(**kwargs)
            return publish_rows(context, value, provenance=provenance, asset_key=context.assets_def.key)

        context_parameter = inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                              annotation=dg.AssetExecutionContext)
        compute.__signature__ = inspect.Signature([context_parameter, *inputs])  # type: ignore[attr-defined]
        del compute.__wrapped__  # Dagster reads the signature above, not the function's
        kwargs = dict(asset_kwargs)
        kwargs["tags"] = {**kwargs.get("tags", {}), **provenance.tags()}
        kwargs["kinds"] = set(kwargs.get("kinds", set())) | provenance.kinds()
        kwargs["metadata"] = with_code_reference(declared_metadata(kwargs.get("metadata"), provenance),
                                                 function_reference(function))
        kwargs.setdefault("io_manager_key", IO_MANAGER_KEY)
        kwargs["required_resource_keys"] = set(kwargs.get("required_resource_keys", set())) | {STORE_KEY}
        if "key" not in kwargs and "name" not in kwargs:
            kwargs["name"] = function.__name__
        assets_def = dg.asset(**kwargs)(compute)
        register_generation_map(assets_def.key, provenance.generations)
        return assets_def

    return decorate


def publish_rows(
    context: dg.AssetExecutionContext,
    value: Any,
    *,
    provenance: Provenance,
    asset_key: dg.AssetKey | str,
    generated_by: GeneratedBy | None = None,
) -> dg.MaterializeResult:
    """Stamp, validate, store and record one output of a step (see the module docs).

    Call it in the body of a ``@dg.multi_asset`` for each output declared with
    :func:`with_provenance` (``@provenance_asset`` calls it for you). The store is the
    resource ``synth_pipeline_store`` (declare it in ``required_resource_keys``).

    Args:
        context: The step's context.
        value: A DataFrame (or ``dg.Output(frame, metadata=...)``); any picklable value for
            the ``model`` role.
        provenance: What the output holds.
        asset_key: The output's asset key.
        generated_by: For generated rows: what the step knows beyond the declaration, e.g. that its
            generator was fitted on another generation's rows (``GeneratedBy(fit=FitInput(...))``).

    Returns:
        The materialization (with the lineage version and the provenance metadata).

    Raises:
        ProvenanceError: Rows contradict the declared role (e.g. a training mix without provenance).
        GeneratedDataError: Generated rows break the schema or values of their fit input.
        GenerationError: A per-generation output has no generation.
    """
    from synth_pipeline.lineage.recorder import OutputSpec, StepLineage, stored_ref
    from synth_pipeline.publishing import publish_declared

    asset_key = dg.AssetKey.from_coercible(asset_key)
    store = getattr(context.resources, STORE_KEY)
    extra: dict[str, Any] = {}
    if isinstance(value, dg.Output):
        extra = dict(value.metadata or {})
        value = value.value
    _refuse_holdout_readers(context, provenance, asset_key, generated_by)
    generation = _generation(context, provenance, extra)
    partition = str(generation) if provenance.per_generation else None
    upstream = [
        key for key in context.assets_def.keys_by_input_name.values() if store.exists(key, _read_partition(
            store, key, generation))
    ]
    with StepLineage(
        context.op_execution_context, store, pipeline=provenance.pipeline, relation=RELATION[provenance.role],
        outputs={provenance.role.value: OutputSpec(asset_key, partition, tabular=provenance.role is not Stage.MODEL)},
        inputs=[stored_ref(store, key, _read_partition(store, key, generation), role="data") for key in upstream],
    ) as lineage:
        return publish_declared(
            context, lineage, value, provenance=provenance, asset_key=asset_key, store=store, generation=generation,
            parents=upstream, metadata={k: v for k, v in extra.items() if k != GENERATION_METADATA},
            generated_by=generated_by,
        )


def _generation(context: dg.AssetExecutionContext, provenance: Provenance, extra: dict[str, Any]) -> int:
    """The generation of a per-generation output: its partition key through the asset's map when the
    asset is partitioned; else the output metadata or run tag ``synth_pipeline/generation``; else the
    run's partition key through the map (an unpartitioned asset in a partitioned run)."""
    if not provenance.per_generation:
        return 0
    partitioned = context.assets_def.partitions_def is not None
    if partitioned:
        return provenance.generations.generation(context.partition_key)
    given = extra.get(GENERATION_METADATA, context.run.tags.get(GENERATION_METADATA))
    given = getattr(given, "value", given)
    if given is None and context.has_partition_key:
        return provenance.generations.generation(context.partition_key)
    try:
        generation = int(given) if given is not None else 0
    except (TypeError, ValueError):
        generation = 0
    if generation < 1:
        raise GenerationError(
            f"{provenance.role.value} asset {context.assets_def.key.to_user_string()} is made once per generation: "
            f"partition it, or give its generation (>= 1) as output metadata or run tag {GENERATION_METADATA!r} "
            f"(got {given!r})")
    return generation


def _refuse_holdout_readers(context: dg.AssetExecutionContext, provenance: Provenance, asset_key: dg.AssetKey,
                            generated_by: GeneratedBy | None = None) -> None:
    """Only the evaluation may read the sealed holdout: refuse any other declared asset that has it upstream.

    The train split may read it too, to leave the sealed rows out (``holdout_purity`` fails it if any stay in).

    Raises:
        ProvenanceError: An input or dependency of ``asset_key``, or its ``fitted_on``, is declared ``real_holdout``.
    """
    if provenance.role in (Stage.EVALUATION, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN):
        return
    graph = context.job_def.asset_layer.asset_graph
    fits = {provenance.fitted_on, generated_by.fit.key if generated_by and generated_by.fit else None} - {None}
    upstream = set(graph.get(asset_key).parent_keys) | fits
    sealed = sorted(k.to_user_string() for k in upstream
                    if graph.has(k) and graph.get(k).tags.get(STAGE_TAG) == Stage.REAL_HOLDOUT.value)
    if sealed:
        raise ProvenanceError(
            f"{asset_key.to_user_string()} ({provenance.role.value}) reads the sealed holdout {sealed}: only the "
            "evaluation may read it, or the scores on it no longer measure generalization. Fit generators and "
            "build mixes from the train split or the real arrivals instead")


def _read_partition(store: Any, key: dg.AssetKey, generation: int) -> str | None:
    """The stored partition of an upstream asset read in ``generation``: per generation if stored so."""
    if generation and store.exists(key, str(generation)):
        return str(generation)
    return None
