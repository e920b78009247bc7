"""OpenLineage RunEvents for synth-pipeline datasets, built with openlineage-python's classes.

One OpenLineage run per asset materialization (job ``<asset key>``) and per asset
check evaluation (job ``<asset key>:<check name>``), each with a START event and a
COMPLETE or FAIL event. Runs point at their Dagster run with the standard ``parent``
facet and our ``synthPipeline_dagster`` facet.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import pandas as pd
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import (
    data_quality_assertions_dataset,
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    processing_engine_run,
    schema_dataset,
)

from synth_pipeline.lineage.facets import (
    CHECK_FACET,
    DAGSTER_FACET,
    INPUT_FACET,
    PROVENANCE_FACET,
    CheckRunFacet,
    DagsterRunFacet,
    InputRoleInputDatasetFacet,
    ProvenanceDatasetFacet,
)

NAMESPACE_ENV = "SYNTH_PIPELINE_LINEAGE_NAMESPACE"
DEFAULT_NAMESPACE = "synth-pipeline"
INTEGRATION = "SYNTH_PIPELINE"
_ERROR_LIMIT = 2000


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "0+unknown"


PRODUCER = f"urn:synth-pipeline:{_version('synth-pipeline')}"


def lineage_namespace() -> str:
    """The OpenLineage namespace of our jobs and datasets: $SYNTH_PIPELINE_LINEAGE_NAMESPACE or ``synth-pipeline``."""
    return os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE


def now() -> str:
    """The current time as an ISO 8601 UTC timestamp."""
    return datetime.now(UTC).isoformat()


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, NaN or infinite (JSON has no NaN)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class DatasetRef:
    """A dataset version a step read.

    Attributes:
        name: The dataset name (the asset key, ``pipeline/stage``).
        version: The version read: the materialization that wrote it (see
            :mod:`~synth_pipeline.lineage.versions`), an external file's content digest, or
            None when unknown (e.g. a Python loader).
        role: What the step used it for (``data``, ``fit``, ``sample_size``, ``previous``,
            ``model``, ``holdout``, ``source``, ``checked``).
        manifest: Path of its row-hash file relative to the lineage directory, if kept.
        namespace: Defaults to :func:`lineage_namespace`.
        digest: The content digest of what was read, if known.
    """

    name: str
    version: str | None
    role: str = "data"
    manifest: str | None = None
    namespace: str | None = None
    digest: str | None = None


def input_dataset(ref: DatasetRef, assertions: Sequence[Any] = ()) -> InputDataset:
    """An OpenLineage input dataset with its version and role (and check assertions, if any)."""
    facets = {}
    if ref.version is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=ref.version, producer=PRODUCER
        )
    input_facets: dict[str, Any] = {
        INPUT_FACET: InputRoleInputDatasetFacet(
            role=ref.role, rowHashManifest=ref.manifest, contentDigest=ref.digest, producer=PRODUCER
        )
    }
    if assertions:
        input_facets["dataQualityAssertions"] = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=list(assertions), producer=PRODUCER
        )
    return InputDataset(
        namespace=ref.namespace or lineage_namespace(), name=ref.name, facets=facets, inputFacets=input_facets
    )


def schema_facet(frame: pd.DataFrame) -> schema_dataset.SchemaDatasetFacet:
    """Column names and dtypes (never values)."""
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=str(column), type=str(dtype), ordinal_position=index)
            for index, (column, dtype) in enumerate(frame.dtypes.items(), start=1)
        ],
        producer=PRODUCER,
    )


def output_dataset(
    name: str,
    version: str,
    provenance: ProvenanceDatasetFacet,
    *,
    frame: pd.DataFrame | None = None,
    size: int | None = None,
) -> OutputDataset:
    """An OpenLineage output dataset with version, schema, provenance and output statistics."""
    facets: dict[str, Any] = {
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version, producer=PRODUCER),
        PROVENANCE_FACET: provenance,
    }
    if frame is not None:
        facets["schema"] = schema_facet(frame)
    statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
        rowCount=provenance.rows, size=size, fileCount=1, producer=PRODUCER
    )
    return OutputDataset(
        namespace=lineage_namespace(), name=name, facets=facets, outputFacets={"outputStatistics": statistics}
    )


def run_event(
    state: RunState,
    *,
    run_id: str,
    job_name: str,
    job_type: str,
    dagster: DagsterRunFacet,
    inputs: Sequence[InputDataset] = (),
    outputs: Sequence[OutputDataset] = (),
    check: CheckRunFacet | None = None,
    error: BaseException | str | None = None,
    event_time: str | None = None,
) -> RunEvent:
    """A RunEvent of one of our jobs, linked to its Dagster run.

    Args:
        state: START, COMPLETE or FAIL.
        run_id: The OpenLineage run id (a UUID) shared by the run's events.
        job_name: ``<asset key>`` or ``<asset key>:<check name>``.
        job_type: ``ASSET`` or ``ASSET_CHECK``.
        dagster: The Dagster run, job and step.
        inputs: Datasets read.
        outputs: Datasets written.
        check: The check outcome, for check runs.
        error: What failed, for FAIL events: the exception type and message only (no
            stack trace, whose local values could hold data).
        event_time: Defaults to now.
    """
    namespace = lineage_namespace()
    run_facets: dict[str, Any] = {
        DAGSTER_FACET: dagster,
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=dagster.dagsterRunId),
            job=parent_run.Job(namespace=namespace, name=dagster.dagsterJob),
            producer=PRODUCER,
        ),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=_version("dagster"), name="Dagster", openlineageAdapterVersion=_version("synth-pipeline"),
            producer=PRODUCER,
        ),
    }
    if check is not None:
        run_facets[CHECK_FACET] = check
    if error is not None:
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=message[:_ERROR_LIMIT], programmingLanguage="python", producer=PRODUCER
        )
    job_facets = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=INTEGRATION, jobType=job_type, producer=PRODUCER
        )
    }
    return RunEvent(
        eventType=state,
        eventTime=event_time or now(),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(namespace=namespace, name=job_name, facets=job_facets),
        inputs=list(inputs),
        outputs=list(outputs),
        producer=PRODUCER,
    )


def assertion(
    name: str, rule: str, *, passed: bool, observed: Any, threshold: Any, bound: str, severity: str = "error"
) -> data_quality_assertions_dataset.Assertion:
    """A check rule as an OpenLineage data-quality assertion (expected / actual as text)."""
    comparison = "<=" if bound == "max" else ">="
    return data_quality_assertions_dataset.Assertion(
        assertion=rule, success=passed, name=name, severity=severity,
        expected=f"{comparison} {threshold:.6g}" if isinstance(threshold, float) else f"{comparison} {threshold}",
        actual=f"{observed:.6g}" if isinstance(observed, float) else str(observed),
    )
