"""Recording lineage from inside Dagster steps.

Stages use :class:`StepLineage`: entering it emits START for each asset the step
materializes, :meth:`StepLineage.publish` stores an output and emits its COMPLETE
event, and an exception escaping the block emits FAIL for every output not yet
published. Checks use :class:`CheckLineage` the same way. Stages store their outputs
through ``publish`` (not through the IO manager) so that the COMPLETE event can carry
the version of exactly the bytes that were written.
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
from openlineage.client.event_v2 import InputDataset, OutputDataset, RunState
from openlineage.client.uuid import generate_new_uuid

from synth_pipeline.atomic_files import atomic_write
from synth_pipeline.composition import summarize
from synth_pipeline.lineage.emitter import LineageEmitter
from synth_pipeline.lineage.events import (
    PRODUCER,
    DatasetRef,
    assertion,
    finite,
    input_dataset,
    lineage_namespace,
    output_dataset,
    run_event,
)
from synth_pipeline.lineage.facets import CheckRunFacet, DagsterRunFacet, Generator, ProvenanceDatasetFacet
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.lineage.versions import file_version, materialization_version, record_version, stored_version
from synth_pipeline.provenance import ROW_HASH_COLUMN, has_provenance
from synth_pipeline.storage import DatasetStore

ASSET_JOB = "ASSET"
CHECK_JOB = "ASSET_CHECK"


@functools.cache
def _emitter(layout: LineageLayout, journal_file: str) -> LineageEmitter:
    return LineageEmitter(layout, Path(journal_file))


def step_emitter(layout: LineageLayout, context: dg.OpExecutionContext) -> LineageEmitter:
    """The emitter writing this step process's journal file."""
    step_key = context.get_step_execution_context().step.key
    return _emitter(layout, str(layout.journal_file(context.run_id, step_key, os.getpid())))


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
    """A reference to a stored dataset at its current version: the materialization that wrote it."""
    path = store.path_of(asset_key, partition)
    stored = stored_version(path, LineageLayout.for_data_dir(store.root).version_record(path))
    return DatasetRef(
        name=asset_key.to_user_string(), version=stored.version, role=role, manifest=manifest, digest=stored.digest
    )


def keep_row_hashes(layout: LineageLayout, digest: str, hashes: np.ndarray) -> str:
    """Store the row hashes of some content (once per content digest); return their path relative to ``layout.root``."""
    path = layout.row_hash_manifest(digest)
    if not path.exists():
        table = pd.DataFrame({"row_hash": np.unique(np.asarray(hashes, dtype=np.uint64))})
        atomic_write(path, lambda handle: table.to_parquet(handle, index=False))
    return str(path.relative_to(layout.root))


@dataclass(frozen=True)
class OutputSpec:
    """An asset a step materializes: its key and partition."""

    asset_key: dg.AssetKey
    partition: str | None


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
        manifest = keep_row_hashes(self.layout, stored.digest, frame[ROW_HASH_COLUMN].to_numpy())
        ref = DatasetRef(
            name=asset_key.to_user_string(), version=stored.version, role="fit", manifest=manifest, digest=stored.digest
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
    ) -> dg.MaterializeResult:
        """Store ``value`` as the output ``stage``, emit its COMPLETE event, and return its materialization.

        The output gets a version of its own (see :mod:`~synth_pipeline.lineage.versions`),
        recorded for the steps that read it once its COMPLETE event is in the journal, so no
        reader refers to a version whose event time is later than its own.
        """
        output = self.outputs[stage]
        name = output.asset_key.to_user_string()
        path = self.store.write(value, output.asset_key, output.partition)
        digest, _ = file_version(path)
        version = materialization_version(digest, name=name, partition=output.partition, run_id=self.run_ids[stage])
        frame = value if isinstance(value, pd.DataFrame) else None
        manifest = (
            keep_row_hashes(self.layout, digest, frame[ROW_HASH_COLUMN].to_numpy())
            if sealed and frame is not None
            else None
        )
        provenance = provenance_facet(
            frame, pipeline=self.pipeline, stage=stage, relation=self.relation, generation=generation,
            generator=generator, sealed=sealed, manifest=manifest, digest=digest,
        )
        dataset = output_dataset(name, version, provenance, frame=frame, size=path.stat().st_size)
        self._emit(stage, RunState.COMPLETE, outputs=[dataset])
        record_version(self.layout.version_record(path), version, digest, run_id=self.run_ids[stage])
        self._published.add(stage)
        return dg.MaterializeResult(
            asset_key=output.asset_key,
            metadata={
                **metadata,
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
            outputs = [output_stub(name)]
        self._emitter.emit(
            run_event(
                state, run_id=self.run_ids[stage], job_name=name, job_type=ASSET_JOB,
                dagster=dagster_facet(self.context, output.asset_key, output.partition),
                inputs=[input_dataset(ref) for ref in self.inputs], outputs=outputs, error=error,
            )
        )


def output_stub(name: str) -> OutputDataset:
    """An output dataset with no facets, for START and FAIL events (nothing was written yet)."""
    return OutputDataset(namespace=lineage_namespace(), name=name)


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
    """Lineage of one asset check evaluation: START, then COMPLETE (passed) or FAIL (failed or raised).

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

    def record(self, result: dg.AssetCheckResult, rules: Sequence[dict[str, Any]], *, generation: int) -> None:
        """Emit the outcome: each rule as a data-quality assertion on the checked dataset.

        A rule's ``public_rule`` (its text without data values such as class labels) is
        what the event carries, when the rule has one.
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
        metadata = {key: getattr(value, "value", value) for key, value in (result.metadata or {}).items()}
        description = result.description
        for text, replacement in public.items():
            description = description.replace(text, replacement) if description else description
        headline = _text(metadata.get("rule"))
        check = CheckRunFacet(
            checkName=self.check_name, passed=bool(result.passed), severity=severity, blocking=True,
            generation=generation, rule=public.get(headline, headline) if headline else None,
            observed=_number(metadata.get("observed")), threshold=_number(metadata.get("threshold")),
            description=description, pipeline=self.pipeline, producer=PRODUCER,
        )
        state = RunState.COMPLETE if result.passed else RunState.FAIL
        self._emit(state, inputs=[input_dataset(self.checked, assertions)], check=check)
        self._done = True

    def _emit(self, state: RunState, *, inputs: list[InputDataset], check: CheckRunFacet | None = None,
              error: BaseException | None = None) -> None:
        self._emitter.emit(
            run_event(
                state, run_id=self.run_id, job_name=self.job_name, job_type=CHECK_JOB,
                dagster=dagster_facet(self.context, self.asset_key, self.partition, self.check_name),
                inputs=inputs, check=check, error=error,
            )
        )


def _number(value: Any) -> float | None:
    try:
        return finite(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
