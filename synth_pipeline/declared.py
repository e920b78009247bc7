"""What an asset holds, as its author declares it: the :class:`Provenance` of
:mod:`synth_pipeline.provenance_assets`, and the tags, kinds and metadata it sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from synth_pipeline.column_schema import with_declared_columns
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.generators.protocol import PrivacySpend
from synth_pipeline.guarded import GenerationMap
from synth_pipeline.naming import PARTITIONED_STAGES, STAGE_PROVENANCE, Stage, provenance_kinds, provenance_tags

DECLARATION_METADATA = "synth_pipeline/provenance"
"""Definition metadata key holding an asset's declared provenance (a JSON object)."""

RELATION = {
    Stage.REAL_SOURCE: "ingest", Stage.REAL_HOLDOUT: "split", Stage.REAL_TRAIN: "split",
    Stage.REAL_ARRIVALS: "split", Stage.SYNTHETIC: "generate", Stage.AUGMENTED: "augment",
    Stage.UNKNOWN: "ingest", Stage.TRAINING_MIX: "mix", Stage.MODEL: "train", Stage.EVALUATION: "evaluate",
}
"""The OpenLineage relation (how outputs are made from inputs) of each role."""
DERIVED_ROLES = frozenset({Stage.MODEL, Stage.EVALUATION})
"""Roles whose output is a derived value (a model, scores), not rows carrying provenance columns."""


@dataclass(frozen=True)
class Provenance:
    """What one asset holds, as declared by its author.

    Attributes:
        pipeline: The pipeline (guard rails) it belongs to: ``GuardedAssets.name``.
        role: The role it plays (a :class:`~synth_pipeline.naming.Stage` or its value).
        label_column: The target column (for per-class metadata), if any.
        generator: For generated rows: the generator's name (``my_llm``, ``vendor_x``, ...).
        generator_params: The generator's parameters, recorded in provenance.
        fitted_on: For generated rows: the asset whose rows the generator was fitted on (read
            at the same generation when it is made per generation). Depth and the quality
            checks' fit input come from it.
        generations: How this asset's partition keys map to generations.
        identifier_columns: For a real source: its record keys (None: detected, see
            :mod:`synth_pipeline.identifiers`); generated rows get fresh keys in them.
        text_columns: For a real source: its free-text columns (None: detected, see
            :mod:`synth_pipeline.text_columns`).
        categorical_columns: For a real source: its numeric columns that hold categories (flags,
            codes; None: detected, see :mod:`synth_pipeline.categorical_columns`).
        open_categories: For generated rows: columns whose values may be new (see
            :class:`~synth_pipeline.spec.SynthesizerSpec`).
        privacy: For synthetic rows: the differential-privacy budget one fit of the generator
            spends on its real fit rows (None: no DP guarantee). Summed over generations by the
            ``privacy_budget`` check (:mod:`synth_pipeline.privacy_budget`).
        task: ``auto``, ``classification`` or ``regression``: whether generated labels are
            classes (only the fit input's) or numbers (see :mod:`synth_pipeline.task`).
    """

    pipeline: str
    role: Stage
    label_column: str | None = None
    generator: str | None = None
    generator_params: Mapping[str, Any] = field(default_factory=dict)
    fitted_on: dg.AssetKey | None = None
    generations: GenerationMap = field(default_factory=GenerationMap)
    identifier_columns: list[str] | None = None
    text_columns: list[str] | None = None
    categorical_columns: list[str] | None = None
    open_categories: tuple[str, ...] = ()
    privacy: PrivacySpend | None = None
    task: str = "auto"

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "role", Stage(self.role))
        except ValueError:
            raise SynthPipelineError(
                f"provenance role {self.role!r} is not one of {[s.value for s in Stage]}") from None
        if self.fitted_on is not None:
            object.__setattr__(self, "fitted_on", dg.AssetKey.from_coercible(self.fitted_on))
        generated = self.role in (Stage.SYNTHETIC, Stage.AUGMENTED)
        if generated and not self.generator:
            raise SynthPipelineError(
                f"a {self.role.value} asset must name its generator (generator='my_llm'): it is recorded in "
                "the rows' provenance and lineage")
        if generated and self.fitted_on is None:
            raise SynthPipelineError(
                f"a {self.role.value} asset must name the asset its generator was fitted on or prompted with "
                "(fitted_on='train'): depth, output validation, fresh keys and the quality checks' comparison "
                "rows come from it")
        if not generated and (self.generator or self.fitted_on is not None):
            raise SynthPipelineError(
                f"generator and fitted_on describe generated rows; a {self.role.value} asset has neither")

    @property
    def per_generation(self) -> bool:
        """Whether the asset is made once per generation."""
        return self.role in PARTITIONED_STAGES

    def tags(self) -> dict[str, str]:
        """Dagster tags: provenance kind, role and pipeline."""
        return provenance_tags(self.pipeline, self.role)

    def kinds(self) -> set[str]:
        """Dagster kinds shown on the asset graph: the provenance at a glance
        (:func:`~synth_pipeline.naming.provenance_kinds`), and pandas, or python for a model."""
        return provenance_kinds(self.role) | {"python" if self.role is Stage.MODEL else "pandas"}

    def metadata(self) -> dict[str, Any]:
        """Definition metadata: the declaration, as JSON, and for rows the provenance columns
        (``dagster/column_schema``, see :mod:`synth_pipeline.column_schema`)."""
        declared = {"pipeline": self.pipeline, "role": self.role.value, "kind": STAGE_PROVENANCE[self.role]}
        if self.generator:
            declared["generator"] = self.generator
        if self.fitted_on is not None:
            declared["fitted_on"] = self.fitted_on.to_user_string()
        metadata: dict[str, Any] = {DECLARATION_METADATA: dg.MetadataValue.json(declared)}
        return metadata if self.role in DERIVED_ROLES else with_declared_columns(metadata)
