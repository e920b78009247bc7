"""Real stages: the source, the sealed holdout / train split, and per-generation arrivals."""

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from synth_pipeline.config_paths import confine_config_path
from synth_pipeline.generations import current_generation
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import GENERATION_COLUMN, ROW_HASH_COLUMN, ProvenanceKind, ingest
from synth_pipeline.publishing import publish_declared
from synth_pipeline.sources import SourceData, check_schema, describe, read_source, stored_column_families
from synth_pipeline.spec import SUFFIX_FORMATS, SourceSpec
from synth_pipeline.splitting import check_holdout_split, check_labels, holdout_mask, mix64, record_keys
from synth_pipeline.stage_files import read_parquet
from synth_pipeline.stages.builder import StageBuilder
from synth_pipeline.storage import DatasetStore
from synth_pipeline.task import LabelTask, detect_task

if TYPE_CHECKING:
    from synth_pipeline.lineage.events import DatasetRef


class SourceConfig(dg.Config):
    """Run-time choice of the data a source stage reads."""

    path: str | None = Field(
        default=None,
        description="CSV, Parquet or JSON Lines file to read instead of the source in the pipeline spec: under the "
        "data directory (a relative path is taken relative to it) or a directory in $SYNTH_PIPELINE_INPUT_DIRS.",
    )


def configured_source(spec_source: SourceSpec, config: SourceConfig, store: DatasetStore) -> SourceSpec:
    """The spec's source, or the file named in the run config, confined to the data directory.

    A CSV file named in the run config keeps the spec source's ``delimiter`` (files fed to
    one pipeline share their format); its format follows its suffix.

    Raises:
        ConfigPathError: The configured path resolves outside the data directory and the
            directories in ``$SYNTH_PIPELINE_INPUT_DIRS``.
    """
    if config.path is None:
        return spec_source
    path = str(confine_config_path(config.path, store.root, store.input_dirs))
    if SUFFIX_FORMATS.get(Path(path).suffix.lower()) in ("parquet", "jsonl"):
        return SourceSpec(path=path)
    return SourceSpec(path=path, delimiter=spec_source.delimiter)


def read_logged(
    source: SourceSpec, context: dg.AssetExecutionContext, *, label_column: str | None = None
) -> SourceData:
    """:func:`~synth_pipeline.sources.read_source`, logging how a CSV was split and every column converted.

    Args:
        source: The source to read.
        context: The reading stage's context (for its log).
        label_column: As for :func:`~synth_pipeline.sources.read_source`.

    Returns:
        The data read, checked and converted.

    Raises:
        DataSourceError: As :func:`~synth_pipeline.sources.read_source`.
    """
    data = read_source(source, label_column=label_column)
    if data.csv_format is not None:
        context.log.info(f"read {describe(source)} as {data.csv_format.description()}")
    for converted in data.converted:
        context.log.info(converted.log_line())
    for warning in data.warnings.values():
        context.log.warning(warning)
    return data


def source_metadata(data: SourceData) -> dict[str, dg.MetadataValue]:
    """Materialization metadata on how a source was read.

    Args:
        data: What :func:`read_logged` returned.

    Returns:
        ``converted_columns`` (column, from and to type, rule; empty when nothing was
        converted), ``column_warnings`` (column -> caveat of a column accepted with one)
        and, for CSV files, ``csv_format`` (delimiter, where it came from, decimal mark).
    """
    metadata = {
        "converted_columns": dg.MetadataValue.json([c.as_metadata() for c in data.converted]),
        "column_warnings": dg.MetadataValue.json(data.warnings),
    }
    if data.csv_format is not None:
        metadata["csv_format"] = dg.MetadataValue.json(data.csv_format.as_metadata())
    return metadata


def task_metadata(label_task: LabelTask) -> dict[str, dg.MetadataValue]:
    """``task``, ``task_rule`` and, for regression, ``label_bins`` (bin names with their ranges)."""
    return {key: dg.MetadataValue.json(value) if isinstance(value, list) else dg.MetadataValue.text(str(value))
            for key, value in label_task.as_metadata().items()}


def source_ref(source: SourceSpec) -> "DatasetRef":
    """The lineage reference of an external source: a file (versioned by its bytes) or a loader."""
    from synth_pipeline.lineage.events import DatasetRef
    from synth_pipeline.lineage.versions import bytes_version

    if source.path is not None:
        path = Path(source.path).absolute()
        return DatasetRef(
            name=str(path), version=bytes_version(path) if path.is_file() else None, role="source", namespace="file"
        )
    return DatasetRef(name=str(source.loader), version=None, role="source", namespace="python")


def build_real_source(builder: StageBuilder) -> dg.AssetsDefinition:
    """The real source: reads the real data and declares every row real."""
    spec = builder.spec

    @dg.asset(**builder.asset_kwargs(Stage.REAL_SOURCE))
    def real_source(
        context: dg.AssetExecutionContext, config: SourceConfig
    ) -> dg.MaterializeResult:
        synth_pipeline_store = builder.store(context)
        with builder.lineage(
            context, synth_pipeline_store, relation="ingest", outputs=[Stage.REAL_SOURCE]
        ) as lineage:
            source = configured_source(spec.real_source, config, synth_pipeline_store)
            lineage.add_input(source_ref(source))
            context.log.info(f"reading real data from {describe(source)}")
            data = read_logged(source, context, label_column=spec.label_column)
            raw = data.frame
            if synth_pipeline_store.exists(builder.key(Stage.REAL_SOURCE)):  # a later run, e.g. generation 2
                stored = synth_pipeline_store.parquet_path(builder.key(Stage.REAL_SOURCE))
                check_schema(
                    raw, stored_column_families(stored), source=describe(source),
                    reference=f"the real source stored by an earlier run ({stored})",
                )
            check_labels(raw, spec.label_column, source=describe(source))
            label_task = detect_task(raw[spec.label_column], spec.task, column=spec.label_column,
                                     source=describe(source), holdout_fraction=spec.holdout_fraction)
            context.log.info(f"task {label_task.task.value}: {label_task.rule}")
            frame = ingest(raw, dataset=builder.dataset(Stage.REAL_SOURCE), declared_kind=ProvenanceKind.REAL)
            check_holdout_split(
                frame, label_column=spec.label_column, fraction=spec.holdout_fraction, source=describe(source),
                strata=label_task.strata(frame[spec.label_column]) if label_task.is_regression else None,
            )
            # identifiers are resolved and kept beside the published source (publish_declared)
            return publish_declared(
                context, lineage, frame, provenance=builder.provenance(Stage.REAL_SOURCE),
                asset_key=builder.key(Stage.REAL_SOURCE), store=synth_pipeline_store, generation=0,
                metadata={"source": describe(source), **task_metadata(label_task), **source_metadata(data)},
                bin_edges=label_task.bin_edges or None, source_name=describe(source),
            )

    return real_source


def build_split(builder: StageBuilder) -> dg.AssetsDefinition:
    """The sealed real holdout and the real train split, made together from the source."""
    spec = builder.spec

    @dg.multi_asset(
        outs={"holdout": builder.asset_out(Stage.REAL_HOLDOUT), "train": builder.asset_out(Stage.REAL_TRAIN)},
        ins={"source": builder.input(Stage.REAL_SOURCE)},
        name=f"{spec.name}_split",
        required_resource_keys={builder.resource_keys.store},
    )
    def split(context: dg.AssetExecutionContext, source: pd.DataFrame):
        synth_pipeline_store = builder.store(context)
        with builder.lineage(
            context, synth_pipeline_store, relation="split", outputs=[Stage.REAL_HOLDOUT, Stage.REAL_TRAIN],
            inputs={Stage.REAL_SOURCE: "data"},
        ) as lineage:
            # A source read again keeps its records on their side of the seal (see holdout_mask).
            previous = {
                side: read_parquet(synth_pipeline_store.parquet_path(builder.key(stage)), columns=[ROW_HASH_COLUMN])
                [ROW_HASH_COLUMN].to_numpy(dtype=np.uint64)
                for side, stage in (("sealed", Stage.REAL_HOLDOUT), ("trained", Stage.REAL_TRAIN))
                if synth_pipeline_store.exists(builder.key(stage))
            }
            label_task = builder.label_task(synth_pipeline_store)
            bins = label_task.bin_edges or None
            mask = holdout_mask(
                source, label_column=spec.label_column, fraction=spec.holdout_fraction, seed=spec.seed, **previous,
                strata=label_task.strata(source[spec.label_column]) if label_task.is_regression else None,
            )
            holdout = source[mask].reset_index(drop=True)
            train = source[~mask].reset_index(drop=True)
            context.log.info(f"sealed {len(holdout)} holdout rows; {len(train)} real rows left for training")
            parents = [builder.key(Stage.REAL_SOURCE)]
            common = {"holdout_fraction": spec.holdout_fraction, "seed": spec.seed,
                      "stratified_on": (f"{len(bins) - 1} quantile bins of {spec.label_column}" if bins
                                        else f"classes of {spec.label_column}")}
            for stage, rows, extra in ((Stage.REAL_HOLDOUT, holdout, {**common, "sealed": True}),
                                       (Stage.REAL_TRAIN, train, common)):
                yield publish_declared(
                    context, lineage, rows, provenance=builder.provenance(stage), asset_key=builder.key(stage),
                    store=synth_pipeline_store, generation=0, parents=parents, metadata=extra, bin_edges=bins,
                )

    return split


def arrival_batch(train: pd.DataFrame, *, generation: int, batches: int, seed: int) -> pd.DataFrame:
    """The real rows arriving in ``generation``: batch ``(generation - 1) mod batches``.

    Rows are ordered by a seeded score of their record key (content hash and occurrence
    number, see :func:`~synth_pipeline.splitting.record_keys`) and cut into ``batches``
    near-equal batches, so the assignment does not depend on row order and copies of one
    row arrive in different batches like any other rows. Each row is stamped with the
    generation it first arrived in: once the batches run out, rows arrive again but are
    not fresh.
    """
    keys = record_keys(train[ROW_HASH_COLUMN].to_numpy(dtype=np.uint64))
    order = np.argsort(mix64(keys ^ np.uint64(seed + 1)), kind="stable")
    batch = (generation - 1) % batches
    arrivals = train.iloc[np.sort(np.array_split(order, batches)[batch])].reset_index(drop=True)
    arrivals[GENERATION_COLUMN] = np.int32(batch + 1)
    return arrivals


def build_real_arrivals(builder: StageBuilder) -> dg.AssetsDefinition:
    """Per generation: the batch of the real train split that arrives in it."""
    spec = builder.spec

    @dg.asset(**builder.asset_kwargs(Stage.REAL_ARRIVALS), ins={"train": builder.input(Stage.REAL_TRAIN)})
    def real_arrivals(
        context: dg.AssetExecutionContext, train: pd.DataFrame
    ) -> dg.MaterializeResult:
        synth_pipeline_store = builder.store(context)
        generation = current_generation(context)
        with builder.lineage(
            context, synth_pipeline_store, relation="split", outputs=[Stage.REAL_ARRIVALS],
            inputs={Stage.REAL_TRAIN: "data"}, generation=generation,
        ) as lineage:
            batches = spec.mix.real_arrival_batches
            arrivals = arrival_batch(train, generation=generation, batches=batches, seed=spec.seed)
            last = spec.mix.real_arrival_generations
            if last is not None and generation > last:
                arrivals = arrivals.iloc[0:0]
                context.log.info(f"generation {generation}: no real rows arrive (they stop after generation {last})")
            else:
                context.log.info(
                    f"generation {generation}: {len(arrivals)} real rows arrive (batch "
                    f"{(generation - 1) % batches + 1} of {batches})"
                )
            return publish_declared(
                context, lineage, arrivals, provenance=builder.provenance(Stage.REAL_ARRIVALS),
                asset_key=builder.key(Stage.REAL_ARRIVALS), store=synth_pipeline_store, generation=generation,
                parents=[builder.key(Stage.REAL_TRAIN)],
                metadata={"batch": (generation - 1) % batches + 1, "batches": batches},
                bin_edges=builder.bin_edges(synth_pipeline_store),
            )

    return real_arrivals
