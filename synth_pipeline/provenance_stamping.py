"""Stamping the rows of a declared asset with the provenance its role calls for
(the table in :mod:`synth_pipeline.provenance_assets`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from synth_pipeline.errors import ProvenanceError
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import (
    DEPTH_COLUMN,
    KIND_COLUMN,
    ProvenanceKind,
    has_provenance,
    ingest,
    tag_rows,
    user_columns,
)

if TYPE_CHECKING:
    from synth_pipeline.declared import Provenance
    from synth_pipeline.lineage.facets import Generator
    from synth_pipeline.lineage.recorder import StepLineage
    from synth_pipeline.storage import DatasetStore

_REAL_ROLES = (Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, Stage.REAL_ARRIVALS)


@dataclass(frozen=True)
class Stamped:
    """A value ready to store, with its metadata and (for generated rows) its generator facet.

    Attributes:
        identifiers: For a real source: its identifier columns, to keep beside it once published.
    """

    value: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    generator: Generator | None = None
    identifiers: list[Any] | None = None
    privacy_spend: dict[str, Any] | None = None


def stamp(
    value: Any,
    provenance: Provenance,
    *,
    store: DatasetStore,
    asset_key: dg.AssetKey,
    generation: int,
    lineage: StepLineage,
    real_source: dg.AssetKey | None = None,
    protected: dg.AssetKey | None = None,
) -> Stamped:
    """The value of a declared asset, stamped (see :mod:`synth_pipeline.provenance_assets`).

    A real source's identifier columns are resolved (:mod:`synth_pipeline.identifiers`);
    generated rows get fresh keys in them (never a key of ``real_source``). A synthetic fit
    records its privacy spend against ``protected`` (the real source, else the train split).

    Raises:
        ProvenanceError: The value is not a DataFrame where rows are expected, or a training
            mix without provenance columns, or rows of another kind than the role's.
        GeneratedDataError: Generated rows break the schema or values of their fit input.
    """
    role, dataset = provenance.role, asset_key.to_user_string()
    if role is Stage.MODEL:
        return Stamped(value)
    if not isinstance(value, pd.DataFrame):
        raise ProvenanceError(
            f"{dataset} ({role.value}) returned {type(value).__name__}; a {role.value} asset returns a pandas "
            "DataFrame (or dg.Output of one)")
    if role is Stage.EVALUATION:
        return Stamped(value.reset_index(drop=True))
    if role is Stage.REAL_SOURCE:
        from synth_pipeline.identifiers import resolve_identifiers

        frame = ingest(value, dataset=dataset, generation=generation, declared_kind=ProvenanceKind.REAL)
        identifiers = resolve_identifiers(frame, declared=provenance.identifier_columns,
                                          label_column=provenance.label_column or "", source=dataset)
        return Stamped(frame, {"identifier_columns": dg.MetadataValue.json([vars(i) for i in identifiers])},
                       identifiers=identifiers)
    if role in _REAL_ROLES:
        return Stamped(ingest(value, dataset=dataset, generation=generation, declared_kind=ProvenanceKind.REAL))
    if role is Stage.UNKNOWN:
        return Stamped(ingest(value, dataset=dataset, generation=generation))
    if role is Stage.TRAINING_MIX:
        if not has_provenance(value):
            raise ProvenanceError(
                f"{dataset}: a training mix must keep its rows' provenance, and these rows have none; build the mix "
                "from assets declared with provenance and concatenate them with synth_pipeline.combine")
        return Stamped(ingest(value, dataset=dataset, generation=generation))
    return _stamp_generated(value, provenance, store=store, dataset=dataset, generation=generation, lineage=lineage,
                            real_source=real_source, protected=protected or real_source)


def _stamp_generated(
    rows: pd.DataFrame,
    provenance: Provenance,
    *,
    store: DatasetStore,
    dataset: str,
    generation: int,
    lineage: StepLineage,
    real_source: dg.AssetKey | None,
    protected: dg.AssetKey | None,
) -> Stamped:
    from synth_pipeline.identifiers import fresh_key_metadata, real_keys, stored_identifiers, with_fresh_keys
    from synth_pipeline.lineage.facets import Generator
    from synth_pipeline.output_validation import validate_generated_rows

    kind = ProvenanceKind.SYNTHETIC if provenance.role is Stage.SYNTHETIC else ProvenanceKind.AUGMENTED
    metadata: dict[str, Any] = {"generator": provenance.generator,
                                "generator_params": dg.MetadataValue.json(dict(provenance.generator_params))}
    fitted_on, fit_ref, depth, spend = None, None, 1, None
    if provenance.fitted_on is not None:
        partition = str(generation) if generation and store.exists(provenance.fitted_on, str(generation)) else None
        fit = store.read(provenance.fitted_on, partition)
        fitted_on = provenance.fitted_on.to_user_string() + (f"[{partition}]" if partition else "")
        fit_ref = lineage.fit_input(provenance.fitted_on, partition, fit)
        depth = int(fit[DEPTH_COLUMN].max()) + 1 if len(fit) and DEPTH_COLUMN in fit.columns else 1
        identifiers = stored_identifiers(store, real_source) if real_source is not None else []
        columns = user_columns(fit)
        features = fit[[c for c in columns if c not in identifiers]]
        if not has_provenance(rows):
            validated = validate_generated_rows(
                rows[[c for c in user_columns(rows) if c not in identifiers]], features,
                generator=str(provenance.generator), label_column=provenance.label_column or "",
                fitted_on=fitted_on, open_columns=provenance.open_categories,
                label_is_class=not _label_is_number(provenance, fit),
                alternative="fix the generator, or declare the columns it may invent (open_categories)",
            )
            rows = with_fresh_keys(validated.rows, real_keys(store, real_source, identifiers) if identifiers
                                   else pd.DataFrame(), identifiers, columns, generation=generation,
                                   stage=dataset.replace("/", "_"))
            metadata.update(validated.metadata())
            metadata.update(fresh_key_metadata(identifiers, rows))
        spend = _spend(provenance, fit, generation=generation, fitted_on=fitted_on, real_source=protected)
        metadata.update({"fitted_on": fitted_on, "fitted_on_asset": provenance.fitted_on.to_user_string(),
                         "fitted_on_generation": int(partition) if partition else 0, "fit_rows": len(fit),
                         "fit_max_depth": depth - 1})
    if has_provenance(rows):
        kinds = set(rows[KIND_COLUMN].astype(str).unique())
        if kinds - {kind.value}:
            raise ProvenanceError(
                f"{dataset} ({provenance.role.value}) returned rows whose provenance says {sorted(kinds)}; drop their "
                "_sp_ columns so they are stamped, or declare the asset with the role its rows have")
        stamped = ingest(rows, dataset=dataset, generation=generation, declared_kind=kind)
    else:
        stamped = tag_rows(rows, kind=kind, generation=generation, dataset=dataset, depth=depth)
    generator = Generator(
        name=str(provenance.generator), params=dict(provenance.generator_params),
        fittedOn=f"{fit_ref.name}@{fit_ref.version}" if fit_ref is not None else None,
    )
    if spend is not None and provenance.privacy is not None:
        metadata.update({"privacy_epsilon": provenance.privacy.epsilon, "privacy_delta": provenance.privacy.delta})
    return Stamped(stamped, metadata, generator, privacy_spend=spend)


def _label_is_number(provenance: Provenance, fit: pd.DataFrame) -> bool:
    """Whether the label of the fit input is a regression target (:func:`synth_pipeline.task.detect_task`)."""
    from synth_pipeline.task import Task, detect_task

    label = provenance.label_column
    if not label or label not in fit.columns:
        return False
    return detect_task(fit[label], provenance.task, column=label, source="fit input").task is Task.REGRESSION


def _spend(provenance: Provenance, fit: pd.DataFrame, *, generation: int, fitted_on: str,
           real_source: dg.AssetKey | None) -> dict[str, Any] | None:
    """The privacy spend record of a fit on real rows (:mod:`synth_pipeline.privacy_budget`), or None.

    A generator that declares no ``privacy`` counts as a fit without a DP guarantee.
    """
    from synth_pipeline.generators.protocol import GeneratorInfo
    from synth_pipeline.privacy_budget import spend_record

    if provenance.role is not Stage.SYNTHETIC or real_source is None:
        return None
    real_rows = int((fit[KIND_COLUMN] == ProvenanceKind.REAL.value).sum()) if KIND_COLUMN in fit.columns else 0
    info = GeneratorInfo(name=str(provenance.generator), params=dict(provenance.generator_params),
                         privacy=provenance.privacy)
    return spend_record(info, generation=generation, fit_real_rows=real_rows, fitted=True, fitted_on=fitted_on,
                        real_source=real_source.to_user_string())
