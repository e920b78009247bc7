"""Stage names, and the translator that turns a pipeline spec's stages into asset specs."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import dagster as dg

from synth_pipeline.spec import SynthPipelineSpec

TAG_PREFIX = "synth_pipeline"
PROVENANCE_TAG = f"{TAG_PREFIX}/provenance"
STAGE_TAG = f"{TAG_PREFIX}/stage"
PIPELINE_TAG = f"{TAG_PREFIX}/pipeline"
# The shared resource keys of the dataset store and IO manager (a pipeline built with scoped_resources
# binds its own, see synth_pipeline.resources).
STORE_KEY = "synth_pipeline_store"
IO_MANAGER_KEY = "synth_pipeline_io_manager"


class Stage(StrEnum):
    """The stages of a synth-pipeline; each is one Dagster asset."""

    REAL_SOURCE = "real_source"
    REAL_HOLDOUT = "real_holdout"
    REAL_TRAIN = "real_train"
    REAL_ARRIVALS = "real_arrivals"
    SYNTHETIC = "synthetic"
    AUGMENTED = "augmented"
    UNKNOWN = "unknown_ingest"
    TRAINING_MIX = "training_mix"
    MODEL = "model"
    EVALUATION = "evaluation"


STAGE_PROVENANCE: dict[Stage, str] = {
    Stage.REAL_SOURCE: "real",
    Stage.REAL_HOLDOUT: "real",
    Stage.REAL_TRAIN: "real",
    Stage.REAL_ARRIVALS: "real",
    Stage.SYNTHETIC: "synthetic",
    Stage.AUGMENTED: "augmented",
    Stage.UNKNOWN: "unknown",
    Stage.TRAINING_MIX: "mixed",
    Stage.MODEL: "derived",
    Stage.EVALUATION: "derived",
}
"""What each stage holds: a provenance kind, ``mixed``, or ``derived`` (models, reports)."""

PARTITIONED_STAGES = frozenset(
    {Stage.REAL_ARRIVALS, Stage.SYNTHETIC, Stage.AUGMENTED, Stage.TRAINING_MIX, Stage.MODEL, Stage.EVALUATION}
)
"""Stages materialized once per generation; the others once for the pipeline."""

_DESCRIPTIONS: dict[Stage, str] = {
    Stage.REAL_SOURCE: "Real data as collected, tagged real (declared by this stage).",
    Stage.REAL_HOLDOUT: "Sealed real holdout, stratified by label. Only evaluation reads it.",
    Stage.REAL_TRAIN: "Real rows left after the holdout is sealed away.",
    Stage.REAL_ARRIVALS: "Real rows arriving in this generation (a batch of the real train split).",
    Stage.SYNTHETIC: "Rows sampled from an SDV synthesizer fitted on this generation's real rows "
    "or on the previous generation's training mix.",
    Stage.AUGMENTED: "Minority-class rows made by SMOTE interpolation between real rows.",
    Stage.UNKNOWN: "Data ingested without provenance metadata: unknown, quarantined unless the mix includes it.",
    Stage.TRAINING_MIX: "This generation's training set: real, synthetic and augmented rows, each with its provenance.",
    Stage.MODEL: "Downstream classifier trained on this generation's training mix.",
    Stage.EVALUATION: "Scores on the sealed real holdout: the mix model next to real-only (TRTR) "
    "and synthetic-only (TSTR) baselines.",
}

_TOOL_KINDS: dict[Stage, tuple[str, ...]] = {
    Stage.REAL_HOLDOUT: ("parquet",),
    Stage.SYNTHETIC: ("sdv", "parquet"),
    Stage.MODEL: ("scikitlearn", "python"),
    Stage.EVALUATION: ("pandas", "scikitlearn"),
}
"""What each stage is made with or stored as (default: pandas + parquet), next to its provenance kinds."""

MAX_SHOWN_KINDS = 3
"""Kinds that fit in one row of an asset graph node (320 px wide). Dagster shows every kind (at most 10),
in no set order, so a stage's kinds stay within this number to keep its provenance kind in sight."""


def provenance_kinds(stage: Stage) -> set[str]:
    """The kinds naming what a stage holds: its :data:`STAGE_PROVENANCE`, plus ``sealed`` for the holdout.

    Shown as badges on the asset graph nodes (the provenance at a glance, without opening the asset);
    ``kind:synthetic`` in the asset selection finds every synthetic asset.
    """
    return {STAGE_PROVENANCE[stage], *(("sealed",) if stage is Stage.REAL_HOLDOUT else ())}


def tagged_stage_assets(graph: Any, pipeline: str) -> list[tuple[Stage, dg.AssetKey]]:
    """The assets of an asset graph tagged as stages of ``pipeline`` (:func:`provenance_tags`), in the
    graph's order, with their stage; an unknown stage tag is left out.

    Args:
        graph: A Dagster asset graph (``get_all_asset_keys()``, ``get(key).tags``), e.g.
            ``Definitions.resolve_asset_graph()`` or a job's ``asset_layer.asset_graph``.
        pipeline: The pipeline's name.
    """
    found = []
    for key in graph.get_all_asset_keys():
        tags = graph.get(key).tags
        if tags.get(PIPELINE_TAG) == pipeline and tags.get(STAGE_TAG) in Stage._value2member_map_:
            found.append((Stage(tags[STAGE_TAG]), key))
    return found


def provenance_tags(pipeline: str, stage: Stage) -> dict[str, str]:
    """The Dagster tags of an asset playing ``stage`` in ``pipeline``: provenance kind, role, pipeline.

    The template's stages and assets declared with :mod:`synth_pipeline.provenance_assets` carry the same.
    """
    return {PROVENANCE_TAG: STAGE_PROVENANCE[stage], STAGE_TAG: stage.value, PIPELINE_TAG: pipeline}


class SynthPipelineTranslator:
    """Decides the asset key, group, tags, kinds and description of each stage.

    Subclass it to rename assets or add tags; the factory asks it for every stage.

    Example:
        .. code-block:: python

            class TeamTranslator(SynthPipelineTranslator):
                def get_asset_key(self, spec, stage):
                    return dg.AssetKey(["ml", spec.name, f"{stage.value}_v2"])
    """

    def get_asset_key(self, spec: SynthPipelineSpec, stage: Stage) -> dg.AssetKey:
        """Default: ``<pipeline name>/<stage>``."""
        return dg.AssetKey([spec.name, stage.value])

    def get_group_name(self, spec: SynthPipelineSpec) -> str:
        """Default: the pipeline name."""
        return spec.name

    def get_tags(self, spec: SynthPipelineSpec, stage: Stage) -> dict[str, str]:
        """Default: the stage's provenance, the stage name, and the pipeline name."""
        return provenance_tags(spec.name, stage)

    def get_kinds(self, spec: SynthPipelineSpec, stage: Stage) -> set[str]:
        """Default: the stage's :func:`provenance_kinds` (``real``, ``synthetic``, ``mixed``, ``derived``, ...)
        and what it is made with: pandas + parquet for data stages, sdv / scikitlearn where they act.

        At most :data:`MAX_SHOWN_KINDS` by default. An override adding kinds should keep the provenance
        kind (``super().get_kinds(spec, stage) | {...}``); more than three may not fit on the graph node.
        """
        return provenance_kinds(stage) | set(_TOOL_KINDS.get(stage, ("pandas", "parquet")))

    def get_description(self, spec: SynthPipelineSpec, stage: Stage) -> str:
        """A one-line description shown in the Dagster UI."""
        return _DESCRIPTIONS[stage]
