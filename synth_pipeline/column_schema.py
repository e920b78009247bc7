"""Column schemas as Dagster metadata (``dagster/column_schema``): declared on the asset
definition and reported with each materialization, the provenance columns described.

At definition time only the five ``_sp_`` columns are declared: the user columns of a
source are known once it is read, and loading the definitions (the UI, every run step)
reads no data. Each materialization reports every column with its dtype; the Dagster UI
shows that schema and merges in the definition's descriptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import pandas as pd

from synth_pipeline.provenance import PROVENANCE_COLUMN_DESCRIPTIONS, PROVENANCE_COLUMN_TYPES, PROVENANCE_COLUMNS

COLUMN_SCHEMA = "dagster/column_schema"
"""The metadata key Dagster shows as an asset's columns."""


def provenance_columns() -> list[dg.TableColumn]:
    """The five provenance columns, with their stored types and descriptions."""
    return [
        dg.TableColumn(name=name, type=PROVENANCE_COLUMN_TYPES[name], description=PROVENANCE_COLUMN_DESCRIPTIONS[name])
        for name in PROVENANCE_COLUMNS
    ]


def declared_column_schema(existing: dg.TableSchema | None = None) -> dg.TableSchema:
    """The definition-time schema of a provenance-carrying asset: ``existing`` columns (an author's
    own declaration, kept as given) followed by the provenance columns it does not already name."""
    columns = list(existing.columns) if existing is not None else []
    named = {column.name for column in columns}
    return dg.TableSchema(columns=[*columns, *(c for c in provenance_columns() if c.name not in named)])


def with_declared_columns(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """``metadata`` with its ``dagster/column_schema`` extended by the provenance columns (added if absent).

    Raises:
        TypeError: ``metadata`` holds a ``dagster/column_schema`` that is not a table schema.
    """
    merged = dict(metadata or {})
    existing = merged.get(COLUMN_SCHEMA)
    if isinstance(existing, dg.TableSchemaMetadataValue):
        existing = existing.schema
    if existing is not None and not isinstance(existing, dg.TableSchema):
        raise TypeError(f"metadata {COLUMN_SCHEMA!r} must be a dagster TableSchema (dg.TableSchema(columns=[...])), "
                        f"got {type(existing).__name__}")
    merged[COLUMN_SCHEMA] = dg.TableSchemaMetadataValue(declared_column_schema(existing))
    return merged


def column_schema(frame: pd.DataFrame) -> dg.TableSchema:
    """The frame's columns and dtypes as a Dagster table schema, the provenance columns described."""
    return dg.TableSchema(columns=[
        dg.TableColumn(name=str(c), type=str(frame[c].dtype), description=PROVENANCE_COLUMN_DESCRIPTIONS.get(str(c)))
        for c in frame.columns
    ])
