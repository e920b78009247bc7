"""OpenLineage RunEvents for synth-pipeline datasets, built with openlineage-python's classes.

One OpenLineage run per asset materialization (job ``<asset key>``) and per asset
check evaluation (job ``<asset key>:<check name>``), each with a START event and a
COMPLETE or FAIL event. Runs point at the OpenLineage run of their Dagster run (job
``<Dagster job name>``, :mod:`~synth_pipeline.lineage.dagster_run`) with the standard
``parent`` facet (``root`` included) and carry our ``synthPipeline_dagster`` facet.

Datasets stored as files are named as the OpenLineage naming spec says
(:mod:`~synth_pipeline.lineage.naming`: namespace ``file`` and the absolute path, or
``s3://<bucket>`` and the key), with their logical name ``pipeline/stage`` in the standard
``symlinks`` facet.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import (
    column_lineage_dataset,
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
from synth_pipeline.lineage.naming import symlinks_facet
from synth_pipeline.lineage.producer import package_version, producer_url

NAMESPACE_ENV = "SYNTH_PIPELINE_LINEAGE_NAMESPACE"
DEFAULT_NAMESPACE = "synth-pipeline"
INTEGRATION = "SYNTH_PIPELINE"
JOB_RUN = "JOB"
"""``jobType`` of the OpenLineage run of a whole Dagster run."""
_ERROR_LIMIT = 2000
_DAGSTER_RUN_NAMESPACE = uuid.UUID("5b0c8d3e-4f7a-5e21-9c55-1d2a6f0b7e43")
"""uuid5 namespace of OpenLineage run ids derived from Dagster run ids that are not UUIDs."""

PRODUCER = producer_url()
"""The ``producer`` of every event and facet: the repository at this version's tag."""


def dagster_run_uuid(dagster_run_id: str) -> str:
    """The OpenLineage run id of a Dagster run: its own id when that is a UUID (Dagster's are),
    else a UUID derived from it (uuid5), the same in every process."""
    try:
        return str(uuid.UUID(dagster_run_id))
    except ValueError:
        return str(uuid.uuid5(_DAGSTER_RUN_NAMESPACE, dagster_run_id))


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
        location: ``(namespace, name)`` of the stored file read (see
            :func:`~synth_pipeline.lineage.naming.stored_dataset_name`): the dataset is then
            named by it, with ``name`` as its ``symlinks`` facet. None: named ``name``.
        columns: Its columns, when known (column lineage).
    """

    name: str
    version: str | None
    role: str = "data"
    manifest: str | None = None
    namespace: str | None = None
    digest: str | None = None
    location: tuple[str, str] | None = None
    columns: tuple[str, ...] | None = None

    @property
    def identity(self) -> tuple[str, str]:
        """``(namespace, name)`` of the dataset in events."""
        return self.location or (self.namespace or lineage_namespace(), self.name)


def dataset_facets(name: str, location: tuple[str, str] | None) -> tuple[str, str, dict[str, Any]]:
    """``(namespace, name, facets)`` of a dataset with logical name ``name`` stored at ``location``:
    named by its location with a ``symlinks`` facet to the logical name, or named ``name`` when
    there is no location."""
    if location is None:
        return lineage_namespace(), name, {}
    return *location, {"symlinks": symlinks_facet(lineage_namespace(), name, PRODUCER)}


def input_dataset(ref: DatasetRef, assertions: Sequence[Any] = ()) -> InputDataset:
    """An OpenLineage input dataset with its version and role (and check assertions, if any)."""
    facets: dict[str, Any] = {}
    if ref.location is not None:
        facets["symlinks"] = symlinks_facet(ref.namespace or lineage_namespace(), ref.name, PRODUCER)
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
    namespace, name = ref.identity
    return InputDataset(namespace=namespace, name=name, facets=facets, inputFacets=input_facets)


def schema_facet(frame: pd.DataFrame) -> schema_dataset.SchemaDatasetFacet:
    """Column names and dtypes (never values)."""
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=str(column), type=str(dtype), ordinal_position=index)
            for index, (column, dtype) in enumerate(frame.dtypes.items(), start=1)
        ],
        producer=PRODUCER,
    )


def model_schema_facet(estimator: Any, label_column: str | None) -> schema_dataset.SchemaDatasetFacet | None:
    """The schema of a trained model: the features it takes (with their kind) and the prediction
    it makes, from the ``feature_names_``, ``categorical_`` and ``text_`` that
    :func:`~synth_pipeline.modeling.train_classifier` sets (None for other values)."""
    features = getattr(estimator, "feature_names_", None)
    if not isinstance(features, list):
        return None
    categorical = set(getattr(estimator, "categorical_", []) or [])
    text = set(getattr(estimator, "text_", []) or [])
    fields = [
        schema_dataset.SchemaDatasetFacetFields(
            name=str(column), type="text" if column in text else "categorical" if column in categorical else "numeric",
            description="model input feature", ordinal_position=index,
        )
        for index, column in enumerate(features, start=1)
    ]
    if label_column:
        fields.append(schema_dataset.SchemaDatasetFacetFields(
            name=str(label_column), type="class" if hasattr(estimator, "classes_") else "numeric",
            description="model output: the predicted label", ordinal_position=len(fields) + 1,
        ))
    return schema_dataset.SchemaDatasetFacet(fields=fields, producer=PRODUCER)


_TRANSFORMATIONS = {
    # Values copied unchanged.
    "identity": ("DIRECT", "IDENTITY", "copied unchanged"),
    # Values copied with their type converted at ingestion.
    "transformed": ("DIRECT", "TRANSFORMATION", "type converted at ingestion"),
    # Each value is drawn from a generator fitted on many input rows of the column (with the
    # rest of the row): the spec's "aggregation of source values from multiple input rows".
    # Not masking: a generator can reproduce input values (the privacy checks look for that).
    "generated": ("DIRECT", "AGGREGATION", "sampled from a generator fitted on this input column"),
}


def column_lineage_facet(
    sources: dict[str, list[Any]], inputs: Sequence[DatasetRef]
) -> column_lineage_dataset.ColumnLineageDatasetFacet | None:
    """The ``columnLineage`` facet of :func:`synth_pipeline.column_lineage.column_sources`'s answer
    (input fields named as the inputs are in the event); None when no column has a source."""
    if not sources:
        return None
    fields = {}
    for column, found in sources.items():
        input_fields = []
        for source in found:
            kind, subtype, description = _TRANSFORMATIONS[source.derivation.value]
            namespace, name = inputs[source.input].identity
            input_fields.append(column_lineage_dataset.InputField(
                namespace=namespace, name=name, field=source.column,
                transformations=[column_lineage_dataset.Transformation(
                    type=kind, subtype=subtype, description=description, masking=False)],
            ))
        fields[column] = column_lineage_dataset.Fields(inputFields=input_fields)
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields, producer=PRODUCER)


def output_dataset(
    name: str,
    version: str,
    provenance: ProvenanceDatasetFacet,
    *,
    frame: pd.DataFrame | None = None,
    size: int | None = None,
    location: tuple[str, str] | None = None,
    schema: schema_dataset.SchemaDatasetFacet | None = None,
    column_lineage: column_lineage_dataset.ColumnLineageDatasetFacet | None = None,
) -> OutputDataset:
    """An OpenLineage output dataset with version, schema, provenance and output statistics.

    Args:
        name: Its logical name (``pipeline/stage``).
        version: The version written.
        provenance: Our provenance facet.
        frame: The rows written (their schema is recorded), if tabular.
        size: The file's size in bytes.
        location: ``(namespace, name)`` of the file written; the dataset is named by it, with
            ``name`` in its ``symlinks`` facet (None: named ``name``).
        schema: The schema, when not that of ``frame`` (a model's features).
        column_lineage: Which input columns its columns come from.
    """
    namespace, dataset_name, facets = dataset_facets(name, location)
    facets.update({
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version, producer=PRODUCER),
        PROVENANCE_FACET: provenance,
    })
    if schema is not None:
        facets["schema"] = schema
    elif frame is not None:
        facets["schema"] = schema_facet(frame)
    if column_lineage is not None:
        facets["columnLineage"] = column_lineage
    statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
        rowCount=provenance.rows, size=size, fileCount=1, producer=PRODUCER
    )
    return OutputDataset(
        namespace=namespace, name=dataset_name, facets=facets, outputFacets={"outputStatistics": statistics}
    )


def output_stub(name: str, location: tuple[str, str] | None = None) -> OutputDataset:
    """An output dataset with its name only (and symlinks), for START and FAIL events (nothing was written yet)."""
    namespace, dataset_name, facets = dataset_facets(name, location)
    return OutputDataset(namespace=namespace, name=dataset_name, facets=facets)


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
        state: START, COMPLETE, FAIL or ABORT.
        run_id: The OpenLineage run id (a UUID) shared by the run's events.
        job_name: ``<asset key>``, ``<asset key>:<check name>``, or the Dagster job's name
            for the run of the Dagster run itself.
        job_type: ``ASSET``, ``ASSET_CHECK`` or ``JOB`` (the Dagster run itself, which
            has no parent: it is the root of its steps' runs).
        dagster: The Dagster run, job and step.
        inputs: Datasets read.
        outputs: Datasets written.
        check: The check outcome, for check runs.
        error: What failed, for FAIL events: the exception type and message only (no
            stack trace, whose local values could hold data).
        event_time: Defaults to now.
    """
    namespace = lineage_namespace()
    run_facets: dict[str, Any] = {DAGSTER_FACET: dagster}
    if job_type != JOB_RUN:
        run_facets["parent"] = parent_facet(dagster.dagsterRunId, dagster.dagsterJob)
    run_facets.update({
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=package_version("dagster"), name="Dagster", openlineageAdapterVersion=package_version(),
            producer=PRODUCER,
        ),
    })
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


def parent_facet(dagster_run_id: str, dagster_job: str) -> parent_run.ParentRunFacet:
    """The ``parent`` facet of a step's run: the OpenLineage run of its Dagster run, which is also its root."""
    namespace = lineage_namespace()
    run_id = dagster_run_uuid(dagster_run_id)
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_id),
        job=parent_run.Job(namespace=namespace, name=dagster_job),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=run_id), job=parent_run.RootJob(namespace=namespace, name=dagster_job)
        ),
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
