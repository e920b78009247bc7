"""synth-pipeline's custom OpenLineage facets, defined the way openlineage-python defines its own.

Each facet is an ``attrs`` class deriving from the matching openlineage-python base
(:class:`~openlineage.client.generated.base.DatasetFacet`, ``InputDatasetFacet`` or
``RunFacet``), so the client serializes it with ``_producer`` and ``_schemaURL``. The
JSON Schema of each facet ships with the package (``synth_pipeline/lineage/schemas``)
under the ``$id`` its ``_schemaURL`` names. As the OpenLineage spec asks of custom
facets, schema names follow ``{prefix}{name}{entity}Facet`` (``SynthPipelineProvenanceDatasetFacet``),
keys in events ``{prefix}_{name}`` (``synthPipeline_provenance``), and ``_schemaURL`` is an
immutable, fetchable URL of the schema at this version's tag
(:func:`~synth_pipeline.lineage.producer.facet_schema_url`).

Facets hold statistics and identifiers only, never row values.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import attr
from openlineage.client.generated.base import DatasetFacet, InputDatasetFacet, RunFacet
from openlineage.client.utils import RedactMixin

from synth_pipeline.lineage.producer import facet_schema_url

FACET_PREFIX = "synthPipeline_"
PROVENANCE_FACET = f"{FACET_PREFIX}provenance"
INPUT_FACET = f"{FACET_PREFIX}input"
DAGSTER_FACET = f"{FACET_PREFIX}dagster"
CHECK_FACET = f"{FACET_PREFIX}check"

SCHEMA_PREFIX = "SynthPipeline"
"""Prefix of our facets' schema names (the spec's ``{prefix}{name}{entity}Facet``)."""


def schema_url(facet_name: str) -> str:
    """The ``_schemaURL`` of one of our facets: ``<$id of its shipped JSON Schema>#/$defs/<facet_name>``."""
    return facet_schema_url(facet_name)


def shipped_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schemas of our facets, keyed by their ``$id`` (the ``_schemaURL`` without its fragment)."""
    folder = resources.files("synth_pipeline.lineage") / "schemas"
    schemas = [json.loads(entry.read_text()) for entry in folder.iterdir() if entry.name.endswith(".json")]
    return {schema["$id"]: schema for schema in schemas}


@attr.define
class Generator(RedactMixin):
    """The generator (SDV synthesizer, SMOTE) that made a dataset's rows."""

    name: str
    """E.g. ``sdv.gaussian_copula`` or ``smote``."""
    params: dict[str, Any] = attr.field(factory=dict)
    """The parameters it was built with (never fitted values or rows)."""
    fittedOn: str | None = attr.field(default=None)  # noqa: N815
    """The dataset version it was fitted on, ``<name>@<version>``."""


@attr.define
class ProvenanceDatasetFacet(DatasetFacet):
    """What a synth-pipeline dataset is made of: kinds, generation, depth, generator."""

    pipeline: str
    stage: str
    relation: str
    """How it was made from its inputs: ingest, split, generate, augment, mix, train, evaluate."""
    kind: str
    """real, synthetic, augmented, unknown, mixed (several kinds), empty, or derived (models, reports)."""
    generation: int
    rows: int | None = attr.field(default=None)
    rowsByKind: dict[str, int] = attr.field(factory=dict)  # noqa: N815
    syntheticFraction: float | None = attr.field(default=None)  # noqa: N815
    nonRealFraction: float | None = attr.field(default=None)  # noqa: N815
    maxDepth: int | None = attr.field(default=None)  # noqa: N815
    generator: Generator | None = attr.field(default=None)
    sealed: bool = attr.field(default=False)
    """True for the sealed real holdout."""
    rowHashManifest: str | None = attr.field(default=None)  # noqa: N815
    """Path, relative to the lineage directory, of the Parquet file of its row hashes, if kept."""
    contentDigest: str | None = attr.field(default=None)  # noqa: N815
    """Digest of its content; the dataset version is per materialization, this is per content."""

    @staticmethod
    def _get_schema() -> str:
        return schema_url(f"{SCHEMA_PREFIX}ProvenanceDatasetFacet")


@attr.define
class InputRoleInputDatasetFacet(InputDatasetFacet):
    """What a step used an input for: ``fit`` (a generator's training data), ``data``, ``model``, ..."""

    role: str
    rowHashManifest: str | None = attr.field(default=None)  # noqa: N815
    contentDigest: str | None = attr.field(default=None)  # noqa: N815
    """Digest of the content read (the dataset version names the materialization read)."""

    @staticmethod
    def _get_schema() -> str:
        return schema_url(f"{SCHEMA_PREFIX}InputRoleInputDatasetFacet")


@attr.define
class DagsterRunFacet(RunFacet):
    """The Dagster run and step an OpenLineage run belongs to (no step for the Dagster run's own run)."""

    dagsterRunId: str  # noqa: N815
    dagsterJob: str  # noqa: N815
    stepKey: str | None = attr.field(default=None)  # noqa: N815
    """None for the OpenLineage run of the whole Dagster run (:mod:`~synth_pipeline.lineage.dagster_run`)."""
    assetKey: str | None = attr.field(default=None)  # noqa: N815
    partitionKey: str | None = attr.field(default=None)  # noqa: N815
    checkName: str | None = attr.field(default=None)  # noqa: N815
    retryNumber: int = attr.field(default=0)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return schema_url(f"{SCHEMA_PREFIX}DagsterRunFacet")


@attr.define
class CheckRunFacet(RunFacet):
    """The outcome of one asset check: the deciding rule, observed value and threshold."""

    checkName: str  # noqa: N815
    passed: bool
    severity: str
    blocking: bool
    generation: int
    rule: str | None = attr.field(default=None)
    observed: float | None = attr.field(default=None)
    threshold: float | None = attr.field(default=None)
    description: str | None = attr.field(default=None)
    pipeline: str | None = attr.field(default=None)
    """The pipeline whose guard rail this is (its assets' keys need not start with its name)."""
    verdict: str | None = attr.field(default=None)
    """``passed``, ``failed`` (blocking), ``warning`` or ``skipped`` (nothing to judge, e.g. no rows: ``passed``
    is true, as Dagster's result, but nothing was judged); see :func:`synth_pipeline.verdicts.shown_verdict`."""

    @staticmethod
    def _get_schema() -> str:
        return schema_url(f"{SCHEMA_PREFIX}CheckRunFacet")
