"""Stamping the rows of a declared asset with the provenance its role calls for
(the table in :mod:`synth_pipeline.provenance_assets`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from synth_pipeline.errors import ProvenanceError
from synth_pipeline.generators.protocol import GeneratorInfo
from synth_pipeline.naming import Stage
from synth_pipeline.output_validation import ASSET_OPEN_SETTING
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
class FitInput:
    """The rows a generator was fitted on, as the step read them.

    Attributes:
        key: The asset they were read from.
        partition: Its stored partition (a generation number as text), None if stored once.
        rows: The rows fitted, with their provenance columns.
        stored_rows: Where ``rows`` are a seeded sample of the stored rows (:meth:`sampled`),
            the stored rows: the lineage records their content as the fit input. None:
            ``rows`` are the stored rows.
        sample_seed: The sample's seed (:func:`~synth_pipeline.quality.sampling.fit_sample_positions`),
            recorded so that the quality checks draw the same rows.
    """

    key: dg.AssetKey
    partition: str | None
    rows: pd.DataFrame
    stored_rows: pd.DataFrame | None = None
    sample_seed: int | None = None

    @classmethod
    def sampled(cls, key: dg.AssetKey, partition: str | None, stored: pd.DataFrame, *, max_rows: int | None,
                seed: int) -> FitInput:
        """The fit input of a generator fitted on at most ``max_rows`` of the ``stored`` rows.

        Args:
            key: The asset the rows were read from.
            partition: Its stored partition, None if stored once.
            stored: Every stored row, in stored order.
            max_rows: Largest fit (a seeded simple random sample above it); None: every row.
            seed: The sample's seed.
        """
        from synth_pipeline.quality.sampling import fit_sample_positions

        positions = fit_sample_positions(len(stored), max_rows, seed)
        if positions is None:
            return cls(key, partition, stored)
        return cls(key, partition, stored.iloc[positions].reset_index(drop=True), stored_rows=stored,
                   sample_seed=seed)

    @property
    def name(self) -> str:
        """``key[partition]``, e.g. ``bc/training_mix[2]``: how ``fitted_on`` is recorded."""
        return self.key.to_user_string() + (f"[{self.partition}]" if self.partition else "")


@dataclass(frozen=True)
class GeneratedBy:
    """What the step knows about its generated rows beyond their declaration.

    The template's stages give it; a team's own generator asset may too (e.g. a fit on the
    previous generation's mix, which the declared ``fitted_on`` alone reads at the same generation).

    Attributes:
        fit: The rows the generator was fitted on (default: the declared ``fitted_on``, read at
            the step's generation when stored per generation, else its one stored version).
        info: The generator's own record after its fit (default: the declared name, parameters and privacy).
        fitted: False when nothing was fitted (no rows asked for): no privacy is spent.
        depth: Per-row depths when the step knows them (SMOTE rows keep their sources' depth);
            default: synthetic 1 + the fit input's deepest row, augmented the fit input's deepest row
            (DESIGN.md: augmented keeps its source's depth).
        alternative: The fix named when generated rows break their fit input's schema or values.
        within_fit_range: Refuse numeric values outside the fit input's range (interpolating generators).
        open_setting: How this user declares a column open, or None where it does not apply (see
            :func:`~synth_pipeline.output_validation.validate_generated_rows`); default: a team asset's
            ``open_categories``.
    """

    fit: FitInput | None = None
    info: GeneratorInfo | None = None
    fitted: bool = True
    depth: Any = None
    alternative: str | None = None
    within_fit_range: bool = False
    open_setting: str | None = ASSET_OPEN_SETTING


@dataclass(frozen=True)
class Stamped:
    """A value ready to store, with its metadata and (for generated rows) its generator facet.

    Attributes:
        identifiers: For a real source: its identifier columns, to keep beside it once published.
        text_columns: For a real source: its free-text columns, likewise.
        categorical_columns: For a real source: its numeric columns that hold categories, likewise.
    """

    value: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    generator: Generator | None = None
    identifiers: list[Any] | None = None
    text_columns: list[Any] | None = None
    categorical_columns: list[Any] | None = None
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
    generated_by: GeneratedBy | None = None,
    source_name: str | None = None,
) -> Stamped:
    """The value of a declared asset, stamped (see :mod:`synth_pipeline.provenance_assets`).

    A real source's identifier columns are resolved (:mod:`synth_pipeline.identifiers`);
    generated rows get fresh keys in them (never a key of ``real_source``). A synthetic fit
    records its privacy spend against ``protected`` (the real source, else the train split).

    Args:
        value: The step's output.
        provenance: What it holds.
        store: The dataset store (fit inputs and identifiers are read from it).
        asset_key: The output's asset key.
        generation: The generation made (0 outside generations).
        lineage: The step's lineage (the fit input is recorded in it).
        real_source: The pipeline's real source, whose keys generated rows never reuse.
        protected: The real rows a privacy budget protects (default: ``real_source``).
        generated_by: For generated rows: what the step knows beyond the declaration.
        source_name: How messages name where a real source's rows came from (default: the asset).

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
        from synth_pipeline.categorical_columns import resolve_categorical_columns
        from synth_pipeline.identifiers import resolve_identifiers
        from synth_pipeline.text_columns import resolve_text_columns

        frame = ingest(value, dataset=dataset, generation=generation, declared_kind=ProvenanceKind.REAL)
        source, label = source_name or dataset, provenance.label_column or ""
        identifiers = resolve_identifiers(frame, declared=provenance.identifier_columns, label_column=label,
                                          source=source, exclude=provenance.text_columns or ())
        texts = resolve_text_columns(frame, declared=provenance.text_columns, label_column=label,
                                     identifiers=[i.column for i in identifiers], source=source)
        categories = resolve_categorical_columns(
            frame, declared=provenance.categorical_columns, label_column=label,
            identifiers=[i.column for i in identifiers], text_columns=[t.column for t in texts], source=source)
        return Stamped(frame, {"identifier_columns": dg.MetadataValue.json([vars(i) for i in identifiers]),
                               "text_columns": dg.MetadataValue.json([vars(t) for t in texts]),
                               "categorical_columns": dg.MetadataValue.json([vars(c) for c in categories])},
                       identifiers=identifiers, text_columns=texts, categorical_columns=categories)
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
                            real_source=real_source, protected=protected or real_source,
                            by=generated_by or GeneratedBy())


def _declared_fit(store: DatasetStore, provenance: Provenance, generation: int) -> FitInput:
    """The declared ``fitted_on`` as stored: at ``generation`` if stored per generation, else its one version."""
    assert provenance.fitted_on is not None  # required of generated roles (Provenance)
    partition = str(generation) if generation and store.exists(provenance.fitted_on, str(generation)) else None
    return FitInput(provenance.fitted_on, partition, store.read(provenance.fitted_on, partition))


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
    by: GeneratedBy,
) -> Stamped:
    from synth_pipeline.identifiers import fresh_key_metadata, real_keys, stored_identifiers, with_fresh_keys
    from synth_pipeline.lineage.facets import Generator
    from synth_pipeline.output_validation import validate_generated_rows

    kind = ProvenanceKind.SYNTHETIC if provenance.role is Stage.SYNTHETIC else ProvenanceKind.AUGMENTED
    info = by.info or GeneratorInfo(name=str(provenance.generator), params=dict(provenance.generator_params),
                                    privacy=provenance.privacy)
    fit = by.fit or _declared_fit(store, provenance, generation)
    fit_ref = lineage.fit_input(fit.key, fit.partition, fit.rows if fit.stored_rows is None else fit.stored_rows)
    fit_depth = int(fit.rows[DEPTH_COLUMN].max()) if len(fit.rows) and DEPTH_COLUMN in fit.rows.columns else 0
    fit_depth = max(fit_depth, info.fitted_on_depth or 0)  # an outside generator's own fit input may be deeper
    metadata: dict[str, Any] = {
        "generator": info.name, "generator_params": dg.MetadataValue.json(dict(info.params)),
        "fitted_on": fit.name, "fitted_on_asset": fit.key.to_user_string(),
        "fitted_on_generation": int(fit.partition) if fit.partition else 0, "fit_rows": len(fit.rows),
        "fit_max_depth": fit_depth, **_sample_metadata(fit), **_privacy_metadata(info), **_extra_metadata(info),
    }
    if has_provenance(rows):
        kinds = set(rows[KIND_COLUMN].astype(str).unique())
        if kinds - {kind.value}:
            raise ProvenanceError(
                f"{dataset} ({provenance.role.value}) returned rows whose provenance says {sorted(kinds)}; drop their "
                "_sp_ columns so they are stamped, or declare the asset with the role its rows have")
        stamped = ingest(rows, dataset=dataset, generation=generation, declared_kind=kind)
    else:
        from synth_pipeline.text_columns import stored_text_columns

        identifiers = stored_identifiers(store, real_source) if real_source is not None else []
        # generated free text may, and should, be new (synth_pipeline.text_columns)
        opened = (*provenance.open_categories, *stored_text_columns(store, real_source))
        columns = user_columns(fit.rows)
        validated = validate_generated_rows(
            rows[[c for c in user_columns(rows) if c not in identifiers]],
            fit.rows[[c for c in columns if c not in identifiers]],
            generator=info.name, label_column=provenance.label_column or "", fitted_on=fit.name,
            open_columns=opened, label_is_class=not _label_is_number(provenance, fit.rows),
            alternative=by.alternative or "fix the generator, or declare the columns it may invent (open_categories)",
            within_fit_range=by.within_fit_range, open_setting=by.open_setting,
        )
        keys = real_keys(store, real_source, identifiers) if identifiers and real_source is not None else None
        generated = with_fresh_keys(validated.rows, keys if keys is not None else pd.DataFrame(), identifiers,
                                    columns, generation=generation, stage=dataset.replace("/", "_"))
        metadata.update(validated.metadata())
        metadata.update(fresh_key_metadata(identifiers, generated))
        if by.depth is not None:
            depth = by.depth
        else:  # DESIGN.md: a generator fitted on rows of depth d makes depth d + 1; augmented keeps its source's
            depth = fit_depth + 1 if kind is ProvenanceKind.SYNTHETIC else fit_depth
        stamped = tag_rows(generated, kind=kind, generation=generation, dataset=dataset, depth=depth)
    generator = Generator(name=info.name, params=dict(info.params), fittedOn=f"{fit_ref.name}@{fit_ref.version}")
    spend = _spend(provenance, info, fit, generation=generation, fitted=by.fitted, real_source=protected)
    return Stamped(stamped, metadata, generator, privacy_spend=spend)


def _sample_metadata(fit: FitInput) -> dict[str, int]:
    """``fit_sampled_from_rows`` and ``fit_sample_seed`` where the generator was fitted on a sample (else nothing)."""
    if fit.stored_rows is None or fit.sample_seed is None:
        return {}
    return {"fit_sampled_from_rows": len(fit.stored_rows), "fit_sample_seed": int(fit.sample_seed)}


def _privacy_metadata(info: GeneratorInfo) -> dict[str, float | str]:
    """``privacy_epsilon`` / ``privacy_delta`` / ``privacy_mechanism`` of a DP generator's fit (nothing without DP)."""
    if info.privacy is None:
        return {}
    return {"privacy_epsilon": float(info.privacy.epsilon), "privacy_delta": float(info.privacy.delta),
            "privacy_mechanism": info.privacy.mechanism}


def _extra_metadata(info: GeneratorInfo) -> dict[str, Any]:
    """A generator's further figures (``info.extra``): lists and mappings as JSON, None left out."""
    return {key: dg.MetadataValue.json(value) if isinstance(value, (dict, list, tuple)) else value
            for key, value in info.extra.items() if value is not None}


def _label_is_number(provenance: Provenance, fit: pd.DataFrame) -> bool:
    """Whether the label of the fit input is a regression target (:func:`synth_pipeline.task.detect_task`)."""
    from synth_pipeline.task import Task, detect_task

    label = provenance.label_column
    if not label or label not in fit.columns:
        return False
    return detect_task(fit[label], provenance.task, column=label, source="fit input").task is Task.REGRESSION


def _spend(provenance: Provenance, info: GeneratorInfo, fit: FitInput, *, generation: int, fitted: bool,
           real_source: dg.AssetKey | None) -> dict[str, Any] | None:
    """The privacy spend record of a synthetic fit (:mod:`synth_pipeline.privacy_budget`), or None.

    A generator that declares no ``privacy`` counts as a fit without a DP guarantee.
    """
    from synth_pipeline.privacy_budget import spend_record

    if provenance.role is not Stage.SYNTHETIC or real_source is None:
        return None
    rows = fit.rows
    real_rows = int((rows[KIND_COLUMN] == ProvenanceKind.REAL.value).sum()) if KIND_COLUMN in rows.columns else 0
    return spend_record(info, generation=generation, fit_real_rows=real_rows, fitted=fitted, fitted_on=fit.name,
                        real_source=real_source.to_user_string())
