"""synth-pipeline: provenance-tagged real, synthetic, augmented and unknown data as Dagster assets.

Importing this package loads no heavy library (sdv, torch, great_expectations,
sdmetrics, scikit-learn): stages import them when they run.
"""

from synth_pipeline.composition import Composition, summarize
from synth_pipeline.errors import (
    DataSourceError,
    GeneratedDataError,
    GenerationError,
    ProvenanceError,
    ReservedColumnError,
    StoredDataNotFoundError,
    SynthPipelineError,
)
from synth_pipeline.factory import SynthPipeline, build_synth_pipeline, pipeline_resources, policy_resource_key
from synth_pipeline.integrity import build_provenance_checks
from synth_pipeline.naming import Stage, SynthPipelineTranslator
from synth_pipeline.output_validation import validate_generated_rows
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.policy_checks import build_policy_checks
from synth_pipeline.provenance import (
    PROVENANCE_COLUMNS,
    ProvenanceKind,
    combine,
    ingest,
    tag_rows,
    user_columns,
)
from synth_pipeline.quality_checks import build_quality_checks
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
    "DataSourceError",
    "DatasetStore",
    "FitOn",
    "GeneratedDataError",
    "GenerationError",
    "GenerationMode",
    "MixSpec",
    "ModelSpec",
    "PROVENANCE_COLUMNS",
    "ProvenanceError",
    "ProvenanceKind",
    "ReservedColumnError",
    "SourceSpec",
    "Stage",
    "StoredDataNotFoundError",
    "SynthPipeline",
    "SynthPipelineError",
    "SynthPipelineIOManager",
    "SynthPipelineSpec",
    "SynthPipelineTranslator",
    "SynthesizerMethod",
    "SynthesizerSpec",
    "SynthPolicy",
    "build_policy_checks",
    "build_quality_checks",
    "build_provenance_checks",
    "build_synth_pipeline",
    "combine",
    "ingest",
    "load_spec",
    "pipeline_resources",
    "policy_resource_key",
    "summarize",
    "tag_rows",
    "user_columns",
    "validate_generated_rows",
]
