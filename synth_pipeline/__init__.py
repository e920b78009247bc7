"""synth-pipeline: provenance-tagged real, synthetic, augmented and unknown data as Dagster assets.

Importing this package loads no heavy library (sdv, torch, great_expectations,
sdmetrics, scikit-learn): stages import them when they run.
"""

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
from synth_pipeline.resources import IO_MANAGER_KEY, STORE_KEY, pipeline_resources, policy_resource_key
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
    "STORE_KEY",
    "SourceSpec",
    "Stage",
    "StoredDataNotFoundError",
    "SynthPipeline",
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
    "summarize",
    "tag_rows",
    "user_columns",
    "validate_generated_rows",
    "validate_guarded",
    "with_provenance",
]
