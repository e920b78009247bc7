"""Recording lineage from inside Dagster steps.

Stages use :class:`StepLineage`: entering it emits START for each asset the step
materializes, :meth:`StepLineage.publish` stores an output and emits its COMPLETE
event, and an exception escaping the block emits FAIL for every output not yet
published. Checks use :class:`CheckLineage` the same way. Stages store their outputs
through ``publish`` (not through the IO manager) so that the COMPLETE event can carry
the version of exactly the bytes that were written.

The first of a Dagster run's steps to record lineage also emits the START of the Dagster
run's own OpenLineage run (:mod:`~synth_pipeline.lineage.dagster_run`), the parent of
every step's run.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
from openlineage.client.event_v2 import InputDataset, RunState
from openlineage.client.uuid import generate_new_uuid

from synth_pipeline.atomic_files import atomic_write
from synth_pipeline.column_lineage import ColumnInput, column_sources, dagster_column_lineage
from synth_pipeline.composition import summarize
from synth_pipeline.lineage.dagster_run import start_dagster_run
from synth_pipeline.lineage.emitter import LineageEmitter
from synth_pipeline.lineage.events import (
    PRODUCER,
    DatasetRef,
    assertion,
    column_lineage_facet,
    finite,
    input_dataset,
    model_schema_facet,
    output_dataset,
    output_stub,
    run_event,
)
from synth_pipeline.lineage.facets import CheckRunFacet, DagsterRunFacet, Generator, ProvenanceDatasetFacet
from synth_pipeline.lineage.layout import MANIFEST_COUNTS, LineageLayout
from synth_pipeline.lineage.naming import stored_dataset_name
from synth_pipeline.lineage.versions import file_version, materialization_version, record_version, stored_version
from synth_pipeline.metadata import metadata_values
from synth_pipeline.provenance import KIND_COLUMN, ROW_HASH_COLUMN, ProvenanceKind, has_provenance
from synth_pipeline.stage_files import read_schema
from synth_pipeline.storage import DatasetStore
from synth_pipeline.verdicts import SHOWN_VERDICTS, shown_verdict

__all__ = ["CheckLineage", "OutputSpec", "StepLineage", "output_stub", "stored_ref"]

ASSET_JOB = "ASSET"
CHECK_JOB = "ASSET_CHECK"


@functools.cache
def _emitter(layout: LineageLayout, journal_file: str) -> LineageEmitter:
    return LineageEmitter(layout, Path(journal_file))


def step_emitter(layout: LineageLayout, context: dg.OpExecutionContext) -> LineageEmitter:
    """The emitter writing this step process's journal file (the Dagster run's START first, if
    no step emitted it yet)."""
    _start_dagster_run(layout, context.run_id, context)
    step_key = context.get_step_execution_context().step.key
    return _emitter(layout, str(layout.journal_file(context.run_id, step_key, os.getpid())))


_started: set[tuple[Path, str]] = set()


def _start_dagster_run(layout: LineageLayout, run_id: str, context: dg.OpExecutionContext) -> None:
    """Emit the Dagster run's START unless a step did (checked once per run in a process)."""
    if (layout.root, run_id) in _started:
        return
    started_at = None
    try:
        record = context.instance.get_run_record_by_id(run_id)
        started_at = record.start_time if record is not None else None
    except Exception:  # noqa: BLE001 - the event then carries the time it is emitted
        pass
    start_dagster_run(layout, run_id, context.job_name,
                      partition=context.partition_key if context.has_partition_key else None, started_at=started_at)
    _started.add((layout.root, run_id))


def dagster_facet(
    context: dg.OpExecutionContext, asset_key: dg.AssetKey, partition: str | None, check_name: str | None = None
) -> DagsterRunFacet:
    """Our facet naming the Dagster run, job and step."""
    return DagsterRunFacet(
        dagsterRunId=context.run_id,
        dagsterJob=context.job_name,
        stepKey=context.get_step_execution_context().step.key,
        assetKey=asset_key.to_user_string(),
        partitionKey=partition,
        checkName=check_name,
        retryNumber=context.retry_number,
        producer=PRODUCER,
    )


def stored_ref(
    store: DatasetStore,
    asset_key: dg.AssetKey,
    partition: str | None,
    *,
    role: str = "data",
    manifest: str | None = None,
) -> DatasetRef:
    """A reference to a stored dataset at its current version: the materialization that wrote it,
    named by its file (:mod:`~synth_pipeline.lineage.naming`), with its columns if it is a frame."""
    path = store.path_of(asset_key, partition)
    stored = stored_version(path, LineageLayout.for_data_dir(store.root).version_record(path))
    return DatasetRef(
        name=asset_key.to_user_string(), version=stored.version, role=role, manifest=manifest, digest=stored.digest,
        location=stored_dataset_name(path), columns=_columns(path),
    )


def _columns(path) -> tuple[str, ...] | None:
    """The columns of a stored Parquet file (None for other files)."""
    return tuple(read_schema(path).names) if path.suffix == ".parquet" else None


def keep_row_hashes(layout: LineageLayout, digest: str, frame: pd.DataFrame) -> str:
    """Store the row hashes of some content with their copies per kind (once per content digest);
    return their path relative to ``layout.root``.

    Copies are kept because a content hash names a row's values, not a record: the holdout
    audit counts copies as the holdout isolation check does (:mod:`synth_pipeline.isolation`).
    A manifest written before the counts were kept is written again.
    """
    path = layout.row_hash_manifest(digest)
    if not path.exists() or not set(MANIFEST_COUNTS) <= set(read_schema(path).names):
        table = row_hash_counts(frame)
        atomic_write(path, lambda handle: table.to_parquet(handle, index=False))
    return str(path.relative_to(layout.root))


def row_hash_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct row hash of ``frame``: ``row_hash`` and the :data:`MANIFEST_COUNTS`."""
    hashes = np.asarray(frame[ROW_HASH_COLUMN], dtype=np.uint64)
    kinds = (frame[KIND_COLUMN].astype(str).to_numpy() if KIND_COLUMN in frame.columns
             else np.full(len(frame), "", dtype=object))
    counts = pd.DataFrame({"row_hash": hashes, "copies": 1, "real_copies": kinds == ProvenanceKind.REAL.value,
                           "unknown_copies": kinds == ProvenanceKind.UNKNOWN.value})
    return counts.groupby("row_hash", sort=True).sum().astype("int64").reset_index()


@dataclass(frozen=True)
class OutputSpec:
    """An asset a step materializes: its key, partition, and whether it is a frame (Parquet) or
    another value (a pickled model), which decides the file, and so the dataset name, of its events."""

    asset_key: dg.AssetKey
    partition: str | None
    tabular: bool = True


class StepLineage:
    """Lineage of one materialization step (see the module docs).

    Args:
        context: The step's execution context.
        store: Where outputs are stored.
        pipeline: The pipeline name.
        relation: How the outputs are made from the inputs (``split``, ``generate``, ...).
        outputs: Stage name -> the asset it materializes.
        inputs: Datasets read (more can be added with :meth:`add_input`).
        stages: Stage name per output, recorded in the provenance facet.
    """

    def __init__(
        self,
        context: dg.OpExecutionContext,
        store: DatasetStore,
        *,
        pipeline: str,
        relation: str,
        outputs: dict[str, OutputSpec],
        inputs: Sequence[DatasetRef] = (),
    ) -> None:
        self.context = context
        self.store = store
        self.layout = LineageLayout.for_data_dir(store.root)
        self.pipeline = pipeline
        self.relation = relation
        self.outputs = outputs
        self.inputs: list[DatasetRef] = list(inputs)
        self.run_ids = {stage: str(generate_new_uuid()) for stage in outputs}
        self._published: set[str] = set()
        self._emitter = step_emitter(self.layout, context)

    def __enter__(self) -> StepLineage:
        for stage in self.outputs:
            self._emit(stage, RunState.START)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if error is None:
            unpublished = sorted(set(self.outputs) - self._published)
            if unpublished:
                error = RuntimeError(f"step ended without publishing {unpublished}")
        if error is not None:
            for stage in self.outputs:
                if stage not in self._published:
                    self._emit(stage, RunState.FAIL, error=error)

    def add_input(self, ref: DatasetRef) -> None:
        """Record one more dataset the step read (e.g. the previous generation's mix)."""
        self.inputs.append(ref)

    def add_stored_input(self, asset_key: dg.AssetKey, partition: str | None, *, role: str) -> None:
        """Record a stored dataset the step read outside its Dagster inputs, at its current version."""
        self.inputs.append(stored_ref(self.store, asset_key, partition, role=role))

    def fit_input(self, asset_key: dg.AssetKey, partition: str | None, frame: pd.DataFrame) -> DatasetRef:
        """Record a generator's training data, keeping its row hashes for the holdout audit."""
        path = self.store.path_of(asset_key, partition)
        stored = stored_version(path, self.layout.version_record(path))
        manifest = keep_row_hashes(self.layout, stored.digest, frame)
        ref = DatasetRef(
            name=asset_key.to_user_string(), version=stored.version, role="fit", manifest=manifest,
            digest=stored.digest, location=stored_dataset_name(path), columns=_columns(path),
        )
        self.inputs = [i for i in self.inputs if not (i.name == ref.name and i.version == ref.version)] + [ref]
        return ref

    def publish(
        self,
        stage: str,
        value: Any,
        *,
        metadata: dict[str, Any],
        generation: int,
        generator: Generator | None = None,
        sealed: bool = False,
        row_hashes: bool = False,
        label_column: str | None = None,
        fresh_columns: Sequence[str] = (),
    ) -> dg.MaterializeResult:
        """Store ``value`` as the output ``stage``, emit its COMPLETE event, and return its materialization.

        The output gets a version of its own (see :mod:`~synth_pipeline.lineage.versions`),
        recorded for the steps that read it once its COMPLETE event is in the journal, so no
        reader refers to a version whose event time is later than its own. Its column lineage
        (:mod:`synth_pipeline.column_lineage`) goes both into the event (``columnLineage``) and
        into the materialization (``dagster/column_lineage``).

        Args:
            stage: The output's stage name (a key of ``outputs``).
            value: A frame, or a picklable value (a model).
            metadata: Materialization metadata.
            generation: The generation made (0 outside generations).
            generator: What generated its rows, if generated.
            sealed: Whether it is the sealed holdout (its row hashes are kept).
            row_hashes: Keep its row hashes although it is not sealed (the train split: the holdout
                audit counts the train split's copies of a holdout row's content).
            label_column: For a model: the label it predicts (its schema's output).
            fresh_columns: Columns the step made afresh rather than from an input (generated keys).
        """
        output = self.outputs[stage]
        name = output.asset_key.to_user_string()
        path = self.store.write(value, output.asset_key, output.partition)
        digest, _ = file_version(path)
        version = materialization_version(digest, name=name, partition=output.partition, run_id=self.run_ids[stage])
        frame = value if isinstance(value, pd.DataFrame) else None
        manifest = (
            keep_row_hashes(self.layout, digest, frame)
            if (sealed or row_hashes) and frame is not None
            else None
        )
        provenance = provenance_facet(
            frame, pipeline=self.pipeline, stage=stage, relation=self.relation, generation=generation,
            generator=generator, sealed=sealed, manifest=manifest, digest=digest,
        )
        inputs = [ColumnInput(ref.name, ref.role, ref.columns, is_asset=ref.location is not None)
                  for ref in self.inputs]
        sources = column_sources(
            self.relation, [str(c) for c in frame.columns], inputs, fresh=fresh_columns,
            converted=_converted_columns(metadata),
        ) if frame is not None else {}
        dataset = output_dataset(
            name, version, provenance, frame=frame, size=path.stat().st_size, location=stored_dataset_name(path),
            schema=None if frame is not None else model_schema_facet(value, label_column),
            column_lineage=column_lineage_facet(sources, self.inputs),
        )
        self._emit(stage, RunState.COMPLETE, outputs=[dataset])
        record_version(self.layout.version_record(path), version, digest, run_id=self.run_ids[stage],
                       dagster_run_id=self.context.run_id)
        self._published.add(stage)
        dagster_lineage = dagster_column_lineage(sources, inputs)
        return dg.MaterializeResult(
            asset_key=output.asset_key,
            metadata={
                **metadata,
                **({"dagster/column_lineage": dagster_lineage} if dagster_lineage is not None else {}),
                "path": dg.MetadataValue.path(str(path)),
                "lineage_version": version,
                "lineage_content_digest": digest,
                "lineage_run_id": self.run_ids[stage],
            },
        )

    def _emit(self, stage: str, state: RunState, *, outputs: Sequence[Any] = (), error: BaseException | None = None):
        output = self.outputs[stage]
        name = output.asset_key.to_user_string()
        if not outputs:
            location = stored_dataset_name(self.store.file_for(output.asset_key, output.partition,
                                                               tabular=output.tabular))
            outputs = [output_stub(name, location)]
        self._emitter.emit(
            run_event(
                state, run_id=self.run_ids[stage], job_name=name, job_type=ASSET_JOB,
                dagster=dagster_facet(self.context, output.asset_key, output.partition),
                inputs=[input_dataset(ref) for ref in self.inputs], outputs=outputs, error=error,
            )
        )


def _converted_columns(metadata: dict[str, Any]) -> list[str]:
    """The columns an ingest converted, from its ``converted_columns`` metadata (none if absent)."""
    entry = metadata.get("converted_columns")
    records = getattr(entry, "data", entry)
    return [str(r["column"]) for r in records if isinstance(r, dict) and "column" in r] if isinstance(
        records, list) else []


def provenance_facet(
    frame: pd.DataFrame | None,
    *,
    pipeline: str,
    stage: str,
    relation: str,
    generation: int,
    generator: Generator | None = None,
    sealed: bool = False,
    manifest: str | None = None,
    digest: str | None = None,
) -> ProvenanceDatasetFacet:
    """The provenance facet of an output: rows per kind, fractions and depth for tagged frames."""
    if frame is None or not has_provenance(frame):
        return ProvenanceDatasetFacet(
            pipeline=pipeline, stage=stage, relation=relation, kind="derived", generation=generation,
            rows=None if frame is None else len(frame), generator=generator, contentDigest=digest,
            producer=PRODUCER,
        )
    composition = summarize(frame)
    return ProvenanceDatasetFacet(
        pipeline=pipeline, stage=stage, relation=relation, kind=composition.provenance,
        generation=generation, rows=composition.rows,
        rowsByKind={kind: count for kind, count in composition.rows_by_kind.items()},
        syntheticFraction=finite(composition.synthetic_fraction),
        nonRealFraction=finite(composition.non_real_fraction),
        maxDepth=composition.max_depth, generator=generator, sealed=sealed, rowHashManifest=manifest,
        contentDigest=digest, producer=PRODUCER,
    )


class CheckLineage:
    """Lineage of one asset check evaluation: START, then COMPLETE or FAIL.

    COMPLETE when the check passed or failed with WARN severity (not enforced: nothing is
    blocked; its facets still say it failed); FAIL when it failed with ERROR severity
    (blocking) or raised, with the standard ``errorMessage`` facet naming the failed rules.

    Args:
        context: The check's op execution context.
        store: Where the checked asset is stored.
        asset_key: The checked asset.
        partition: The checked partition (None for unpartitioned assets).
        check_name: The check's name.
    """

    def __init__(
        self,
        context: dg.OpExecutionContext,
        store: DatasetStore,
        *,
        asset_key: dg.AssetKey,
        partition: str | None,
        check_name: str,
        pipeline: str | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.context = context
        self.asset_key = asset_key
        self.partition = partition
        self.check_name = check_name
        self.run_id = str(generate_new_uuid())
        self.job_name = f"{asset_key.to_user_string()}:{check_name}"
        self._emitter = step_emitter(LineageLayout.for_data_dir(store.root), context)
        try:
            self.checked = stored_ref(store, asset_key, partition, role="checked")
        except Exception:  # noqa: BLE001 - the check itself reports a missing asset
            self.checked = DatasetRef(name=asset_key.to_user_string(), version=None, role="checked")
        self._done = False

    def __enter__(self) -> CheckLineage:
        self._emit(RunState.START, inputs=[input_dataset(self.checked)])
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if error is not None and not self._done:
            self._emit(RunState.FAIL, inputs=[input_dataset(self.checked)], error=error)

    def record(self, result: dg.AssetCheckResult, rules: Sequence[dict[str, Any]], *, generation: int,
               verdict: str | None = None) -> None:
        """Emit the outcome: each rule as a data-quality assertion on the checked dataset.

        A rule's ``public_rule`` (its text without data values such as class labels) is
        what the event carries, when the rule has one.

        Args:
            result: The check's result.
            rules: Every rule's outcome (:meth:`~synth_pipeline.verdicts.RuleOutcome.to_dict`).
            generation: The generation checked.
            verdict: The verdict as shown (:func:`~synth_pipeline.verdicts.shown_verdict`); default:
                from the result's ``verdict`` metadata, so that a skipped check is not recorded as passed.
        """
        severity = result.severity.value if result.severity else "ERROR"
        public = {str(rule["rule"]): str(rule.get("public_rule") or rule["rule"]) for rule in rules}
        assertions = [
            assertion(
                self.check_name, public[str(rule["rule"])], passed=bool(rule["passed"]), observed=rule["observed"],
                threshold=rule["threshold"], bound=str(rule["bound"]), severity=severity.lower(),
            )
            for rule in rules
        ]
        metadata = metadata_values(result.metadata)
        description = result.description
        for text, replacement in public.items():
            description = description.replace(text, replacement) if description else description
        headline = _text(metadata.get("rule"))
        blocking = severity == "ERROR"
        if verdict is None and metadata.get("verdict") in SHOWN_VERDICTS:
            verdict = shown_verdict(str(metadata["verdict"]), passed=bool(result.passed), blocking=blocking)
        check = CheckRunFacet(
            checkName=self.check_name, passed=bool(result.passed), severity=severity, blocking=blocking,
            generation=generation, rule=public.get(headline, headline) if headline else None,
            observed=_number(metadata.get("observed")), threshold=_number(metadata.get("threshold")),
            description=description, pipeline=self.pipeline, verdict=verdict, producer=PRODUCER,
        )
        failed = not result.passed and blocking
        error = _check_failure(self.check_name, severity, assertions) if failed else None
        self._emit(RunState.FAIL if failed else RunState.COMPLETE, inputs=[input_dataset(self.checked, assertions)],
                   check=check, error=error)
        self._done = True

    def _emit(self, state: RunState, *, inputs: list[InputDataset], check: CheckRunFacet | None = None,
              error: BaseException | str | None = None) -> None:
        self._emitter.emit(
            run_event(
                state, run_id=self.run_id, job_name=self.job_name, job_type=CHECK_JOB,
                dagster=dagster_facet(self.context, self.asset_key, self.partition, self.check_name),
                inputs=inputs, check=check, error=error,
            )
        )


def _check_failure(check_name: str, severity: str, assertions: Sequence[Any]) -> str:
    """The error message of a failed blocking check: each failed rule (its public text), observed
    value and limit; never row values (rules' public text leaves them out)."""
    failed = [a for a in assertions if not a.success]
    rules = "; ".join(f"{a.assertion}: observed {a.actual}, limit {a.expected}" for a in failed)
    return (f"blocking check {check_name} failed ({severity}): {len(failed)} rule(s) failed"
            + (f": {rules}" if rules else ""))


def _number(value: Any) -> float | None:
    try:
        return finite(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
