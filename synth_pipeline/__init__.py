"""synth-pipeline: provenance-tagged real, synthetic, augmented and unknown data as Dagster assets.

Importing this package loads no heavy library (sdv, torch, great_expectations,
sdmetrics, scikit-learn): stages import them when they run. Nor does it load Dagster:
each public name below is imported from its module on first use (PEP 562 ``__getattr__``),
so a process that only queries the lineage store (:mod:`synth_pipeline.lineage.store`,
``synth-pipeline lineage`` without ``-m``) never imports Dagster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synth_pipeline.automation import build_arrival_sensor, build_generation_schedule
    from synth_pipeline.checks.guard_rails import (
        build_guard_rails,
        generation_job,
        guard_rail_resources,
        guarded_definitions,
        validate_guarded,
    )
    from synth_pipeline.checks.policy_checks import build_policy_checks
    from synth_pipeline.checks.provenance_checks import build_provenance_checks
    from synth_pipeline.checks.quality_checks import build_quality_checks
    from synth_pipeline.components import SynthPipelineComponent
    from synth_pipeline.composition import Composition, summarize
    from synth_pipeline.declared import Provenance
    from synth_pipeline.errors import (
        ConfigFileError,
        ConfigPathError,
        ConfigValueError,
        DataSourceError,
        GeneratedDataError,
        GenerationError,
        GeneratorSpecError,
        MissingExtraError,
        NothingRecordedError,
        ProvenanceError,
        ReservedColumnError,
        StoredDataNotFoundError,
        SynthPipelineError,
        UnknownNameError,
    )
    from synth_pipeline.executors import preloading_executor
    from synth_pipeline.factory import SynthPipeline, build_synth_pipeline
    from synth_pipeline.generations import generations_partitions
    from synth_pipeline.generators.protocol import Generator, GeneratorInfo, PrivacySpend
    from synth_pipeline.guarded import GenerationMap, GuardedAssets
    from synth_pipeline.holdout_scores import holdout_report
    from synth_pipeline.naming import Stage, SynthPipelineTranslator
    from synth_pipeline.output_validation import validate_generated_rows
    from synth_pipeline.policy import SynthPolicy
    from synth_pipeline.provenance import (
        PROVENANCE_COLUMNS,
        ProvenanceKind,
        combine,
        ingest,
        tag_rows,
        user_columns,
    )
    from synth_pipeline.provenance_assets import provenance_asset, publish_rows, with_provenance
    from synth_pipeline.provenance_stamping import FitInput, GeneratedBy
    from synth_pipeline.resources import (
        IO_MANAGER_KEY,
        STORE_KEY,
        ResourceKeys,
        pipeline_resources,
        policy_resource_key,
        store_resource_key,
    )
    from synth_pipeline.run_lock import DataDirBusyError
    from synth_pipeline.spec import (
        AugmentationSpec,
        FitOn,
        GenerationMode,
        MixSpec,
        ModelSpec,
        SourceSpec,
        SynthesizerMethod,
        SynthesizerSpec,
        SynthPipelineSpec,
        load_spec,
    )
    from synth_pipeline.storage import DatasetStore, SynthPipelineIOManager

# Public name -> the module that defines it (as imported above for type checkers), imported on first access.
_EXPORTS: dict[str, str] = {
    "build_arrival_sensor": "synth_pipeline.automation",
    "build_generation_schedule": "synth_pipeline.automation",
    "build_guard_rails": "synth_pipeline.checks.guard_rails",
    "generation_job": "synth_pipeline.checks.guard_rails",
    "guard_rail_resources": "synth_pipeline.checks.guard_rails",
    "guarded_definitions": "synth_pipeline.checks.guard_rails",
    "validate_guarded": "synth_pipeline.checks.guard_rails",
    "build_policy_checks": "synth_pipeline.checks.policy_checks",
    "build_provenance_checks": "synth_pipeline.checks.provenance_checks",
    "build_quality_checks": "synth_pipeline.checks.quality_checks",
    "SynthPipelineComponent": "synth_pipeline.components",
    "Composition": "synth_pipeline.composition",
    "summarize": "synth_pipeline.composition",
    "Provenance": "synth_pipeline.declared",
    "ConfigFileError": "synth_pipeline.errors",
    "ConfigPathError": "synth_pipeline.errors",
    "ConfigValueError": "synth_pipeline.errors",
    "DataSourceError": "synth_pipeline.errors",
    "GeneratedDataError": "synth_pipeline.errors",
    "GenerationError": "synth_pipeline.errors",
    "GeneratorSpecError": "synth_pipeline.errors",
    "MissingExtraError": "synth_pipeline.errors",
    "NothingRecordedError": "synth_pipeline.errors",
    "ProvenanceError": "synth_pipeline.errors",
    "ReservedColumnError": "synth_pipeline.errors",
    "StoredDataNotFoundError": "synth_pipeline.errors",
    "SynthPipelineError": "synth_pipeline.errors",
    "UnknownNameError": "synth_pipeline.errors",
    "preloading_executor": "synth_pipeline.executors",
    "SynthPipeline": "synth_pipeline.factory",
    "build_synth_pipeline": "synth_pipeline.factory",
    "generations_partitions": "synth_pipeline.generations",
    "Generator": "synth_pipeline.generators.protocol",
    "GeneratorInfo": "synth_pipeline.generators.protocol",
    "PrivacySpend": "synth_pipeline.generators.protocol",
    "GenerationMap": "synth_pipeline.guarded",
    "GuardedAssets": "synth_pipeline.guarded",
    "holdout_report": "synth_pipeline.holdout_scores",
    "Stage": "synth_pipeline.naming",
    "SynthPipelineTranslator": "synth_pipeline.naming",
    "validate_generated_rows": "synth_pipeline.output_validation",
    "SynthPolicy": "synth_pipeline.policy",
    "PROVENANCE_COLUMNS": "synth_pipeline.provenance",
    "ProvenanceKind": "synth_pipeline.provenance",
    "combine": "synth_pipeline.provenance",
    "ingest": "synth_pipeline.provenance",
    "tag_rows": "synth_pipeline.provenance",
    "user_columns": "synth_pipeline.provenance",
    "provenance_asset": "synth_pipeline.provenance_assets",
    "publish_rows": "synth_pipeline.provenance_assets",
    "with_provenance": "synth_pipeline.provenance_assets",
    "FitInput": "synth_pipeline.provenance_stamping",
    "GeneratedBy": "synth_pipeline.provenance_stamping",
    "IO_MANAGER_KEY": "synth_pipeline.resources",
    "STORE_KEY": "synth_pipeline.resources",
    "ResourceKeys": "synth_pipeline.resources",
    "store_resource_key": "synth_pipeline.resources",
    "pipeline_resources": "synth_pipeline.resources",
    "policy_resource_key": "synth_pipeline.resources",
    "DataDirBusyError": "synth_pipeline.run_lock",
    "AugmentationSpec": "synth_pipeline.spec",
    "FitOn": "synth_pipeline.spec",
    "GenerationMode": "synth_pipeline.spec",
    "MixSpec": "synth_pipeline.spec",
    "ModelSpec": "synth_pipeline.spec",
    "SourceSpec": "synth_pipeline.spec",
    "SynthPipelineSpec": "synth_pipeline.spec",
    "SynthesizerMethod": "synth_pipeline.spec",
    "SynthesizerSpec": "synth_pipeline.spec",
    "load_spec": "synth_pipeline.spec",
    "DatasetStore": "synth_pipeline.storage",
    "SynthPipelineIOManager": "synth_pipeline.storage",
}

__all__ = [
    "AugmentationSpec",
    "Composition",
    "ConfigFileError",
    "ConfigPathError",
    "ConfigValueError",
    "DataDirBusyError",
    "DataSourceError",
    "DatasetStore",
    "FitInput",
    "FitOn",
    "GeneratedBy",
    "GeneratedDataError",
    "GenerationError",
    "GenerationMap",
    "GenerationMode",
    "Generator",
    "GeneratorInfo",
    "GeneratorSpecError",
    "GuardedAssets",
    "IO_MANAGER_KEY",
    "MissingExtraError",
    "MixSpec",
    "ModelSpec",
    "NothingRecordedError",
    "PROVENANCE_COLUMNS",
    "PrivacySpend",
    "Provenance",
    "ProvenanceError",
    "ProvenanceKind",
    "ReservedColumnError",
    "ResourceKeys",
    "STORE_KEY",
    "SourceSpec",
    "Stage",
    "StoredDataNotFoundError",
    "SynthPipeline",
    "SynthPipelineComponent",
    "SynthPipelineError",
    "SynthPipelineIOManager",
    "SynthPipelineSpec",
    "SynthPipelineTranslator",
    "SynthPolicy",
    "SynthesizerMethod",
    "SynthesizerSpec",
    "UnknownNameError",
    "build_arrival_sensor",
    "build_generation_schedule",
    "build_guard_rails",
    "build_policy_checks",
    "build_provenance_checks",
    "build_quality_checks",
    "build_synth_pipeline",
    "combine",
    "generation_job",
    "generations_partitions",
    "guard_rail_resources",
    "guarded_definitions",
    "holdout_report",
    "ingest",
    "load_spec",
    "pipeline_resources",
    "policy_resource_key",
    "preloading_executor",
    "provenance_asset",
    "publish_rows",
    "store_resource_key",
    "summarize",
    "tag_rows",
    "user_columns",
    "validate_generated_rows",
    "validate_guarded",
    "with_provenance",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first access (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    """The module's names and every public name, imported or not yet."""
    return sorted(set(globals()) | set(__all__))
