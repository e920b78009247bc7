"""The unknown-provenance ingestion stage: external data with no provenance metadata."""

import dagster as dg

from synth_pipeline.errors import DataSourceError
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import ingest
from synth_pipeline.publishing import publish_declared
from synth_pipeline.sources import describe
from synth_pipeline.stages.builder import StageBuilder
from synth_pipeline.stages.real import SourceConfig, configured_source, read_logged, source_metadata, source_ref


def build_unknown(builder: StageBuilder) -> dg.AssetsDefinition:
    """Ingest the unknown source. Rows without provenance columns become ``unknown``."""
    spec = builder.spec
    assert spec.unknown_source is not None

    @dg.asset(**builder.asset_kwargs(Stage.UNKNOWN))
    def unknown_ingest(
        context: dg.AssetExecutionContext, config: SourceConfig
    ) -> dg.MaterializeResult:
        synth_pipeline_store = builder.store(context)
        with builder.lineage(context, synth_pipeline_store, relation="ingest", outputs=[Stage.UNKNOWN]) as lineage:
            source = configured_source(spec.unknown_source, config, synth_pipeline_store)
            lineage.add_input(source_ref(source))
            data = read_logged(source, context)
            raw = data.frame
            if spec.label_column not in raw.columns:
                raise DataSourceError(
                    f"label column {spec.label_column!r} not in {describe(source)}; unknown-provenance "
                    "data must have the same columns as the real data"
                )
            frame = ingest(raw, dataset=builder.dataset(Stage.UNKNOWN))
            context.log.info(
                f"ingested {len(frame)} rows from {describe(source)} as {sorted(frame['_sp_kind'].unique())}"
            )
            return publish_declared(
                context, lineage, frame, provenance=builder.provenance(Stage.UNKNOWN),
                asset_key=builder.key(Stage.UNKNOWN), store=synth_pipeline_store, generation=0,
                metadata={"source": describe(source), "quarantined": not spec.mix.include_unknown,
                          **source_metadata(data)},
                # per quantile bin for a regression label, once the real source (which sets the bins) is stored
                bin_edges=builder.bin_edges(synth_pipeline_store)
                if synth_pipeline_store.exists(builder.key(Stage.REAL_SOURCE)) else None,
            )

    return unknown_ingest
