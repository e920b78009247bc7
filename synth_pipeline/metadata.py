"""Dagster materialization metadata describing a stage's provenance."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg
import pandas as pd

from synth_pipeline.column_schema import COLUMN_SCHEMA, column_schema
from synth_pipeline.composition import Composition, summarize
from synth_pipeline.display import shown_float, shown_json
from synth_pipeline.provenance import ProvenanceKind, user_columns

__all__ = ["column_schema", "composition_metadata", "metadata_values", "provenance_metadata"]


def metadata_values(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The plain values of Dagster metadata (of a materialization, check result or event): each
    ``MetadataValue``'s ``value``, any other entry as it is; {} for None."""
    return {key: getattr(value, "value", value) for key, value in (metadata or {}).items()}


def provenance_metadata(
    frame: pd.DataFrame,
    *,
    label_column: str,
    generation: int,
    parents: Iterable[dg.AssetKey],
    extra: dict[str, Any] | None = None,
    bin_edges: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Metadata for a data stage: rows per kind, synthetic fraction, depth, generation, parents.

    Args:
        frame: The stage's tagged output.
        label_column: For the per-class breakdown.
        generation: The generation materialized (0 for stages outside generations).
        parents: The stages whose output this one was computed from.
        extra: Stage-specific entries added as they are.
        bin_edges: For a regression label, its quantile bin edges: the per-class entries are
            then per bin (:func:`~synth_pipeline.composition.summarize`).
    """
    composition = summarize(frame, label_column, bin_edges)
    metadata: dict[str, Any] = composition_metadata(composition)
    metadata.update(
        {
            "generation": generation,
            "parents": dg.MetadataValue.json([p.to_user_string() for p in parents]),
            "features": len(user_columns(frame)),
            COLUMN_SCHEMA: column_schema(frame),
        }
    )
    metadata.update(extra or {})
    return metadata


def composition_metadata(composition: Composition) -> dict[str, Any]:
    """A :class:`Composition` as Dagster metadata entries, the fractions rounded for display
    (:mod:`synth_pipeline.display`; the lineage store keeps them exact)."""
    return {
        "provenance": composition.provenance,
        "dagster/row_count": composition.rows,
        "rows_by_kind": dg.MetadataValue.json(composition.rows_by_kind),
        "synthetic_fraction": shown_float(composition.synthetic_fraction),
        "non_real_fraction": shown_float(composition.non_real_fraction),
        "synthetic_fraction_by_class": dg.MetadataValue.json(shown_json(composition.synthetic_fraction_by_class)),
        "non_real_fraction_by_class": dg.MetadataValue.json(shown_json(
            composition.class_fraction(ProvenanceKind.SYNTHETIC, ProvenanceKind.AUGMENTED, ProvenanceKind.UNKNOWN)
        )),
        "rows_by_class": dg.MetadataValue.json(composition.rows_by_class),
        "max_depth": composition.max_depth,
    }
