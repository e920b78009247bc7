"""Which input columns each output column of a stage is made from: the one rule behind both the
OpenLineage ``columnLineage`` facet and Dagster's ``dagster/column_lineage`` metadata.

By the relation of a step (how its outputs are made from its inputs):

- ``ingest``, ``split``, ``mix``: rows are copied. Each user column comes from the
  same-named column of every data input that has it, unchanged (``identity``); on ingest,
  a column whose type was converted (``converted_columns``) is ``transformed`` instead.
- ``generate``, ``augment``: each value is drawn from a generator (an SDV synthesizer,
  SMOTE) fitted on the ``fit`` input, so each user column comes from the same-named fit
  column, summarised over many fit rows (``generated``). Columns the step makes afresh
  (identifier keys) come from no input.
- ``train``, ``evaluate``: no column passes through (a model, a report).

The reserved ``_sp_*`` provenance columns are made by synth-pipeline itself for every row
and have no column lineage.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from synth_pipeline.provenance import PROVENANCE_PREFIX

if TYPE_CHECKING:
    import dagster as dg

COPYING_RELATIONS = frozenset({"ingest", "split", "mix"})
GENERATING_RELATIONS = frozenset({"generate", "augment"})
COPIED_ROLES = frozenset({"data", "source", "previous"})
"""Input roles whose rows a copying step passes on (not ``model``, ``holdout``, ``sample_size``, ...)."""


class Derivation(Enum):
    """How an output column's values come from an input column."""

    IDENTITY = "identity"
    """Copied unchanged."""
    TRANSFORMED = "transformed"
    """Copied with its type converted (ingest)."""
    GENERATED = "generated"
    """Sampled from a generator fitted on the input column (with the rest of its rows)."""


@dataclass(frozen=True)
class ColumnInput:
    """An input dataset as the rule sees it.

    Attributes:
        name: Its logical name (the asset key ``pipeline/stage``, or an external source's name).
        role: What the step used it for (``data``, ``fit``, ``source``, ...).
        columns: Its columns, or None when not known (an external source: then it is taken
            to hold every output column).
        is_asset: Whether it is a Dagster asset (only those appear in Dagster's column lineage).
    """

    name: str
    role: str
    columns: tuple[str, ...] | None = None
    is_asset: bool = True


@dataclass(frozen=True)
class ColumnSource:
    """One input column an output column is made from.

    Attributes:
        input: Index of the input in the sequence given to :func:`column_sources`.
        column: The input column.
        derivation: How the output column's values come from it.
    """

    input: int
    column: str
    derivation: Derivation


def column_sources(
    relation: str,
    output_columns: Sequence[str],
    inputs: Sequence[ColumnInput],
    *,
    fresh: Collection[str] = (),
    converted: Collection[str] = (),
) -> dict[str, list[ColumnSource]]:
    """Output column -> the input columns it is made from (see the module docs for the rule).

    Args:
        relation: How the step makes its outputs (``ingest``, ``split``, ``mix``, ``generate``, ...).
        output_columns: The output's columns, in order.
        inputs: The step's inputs.
        fresh: Output columns made afresh by the step (generated identifier keys).
        converted: Ingested columns whose type was converted.

    Returns:
        Only output columns with at least one source, in output order.
    """
    if relation in COPYING_RELATIONS:
        roles = COPIED_ROLES
    elif relation in GENERATING_RELATIONS:
        roles = frozenset({"fit"})
    else:
        return {}
    found: dict[str, list[ColumnSource]] = {}
    for column in output_columns:
        if column.startswith(PROVENANCE_PREFIX) or column in fresh:
            continue
        if relation in GENERATING_RELATIONS:
            derivation = Derivation.GENERATED
        else:
            derivation = Derivation.TRANSFORMED if column in converted else Derivation.IDENTITY
        sources = [
            ColumnSource(index, column, derivation)
            for index, item in enumerate(inputs)
            if item.role in roles and (item.columns is None or column in item.columns)
        ]
        if sources:
            found[column] = sources
    return found


def dagster_column_lineage(
    sources: dict[str, list[ColumnSource]], inputs: Sequence[ColumnInput]
) -> dg.TableColumnLineage | None:
    """The same lineage as Dagster's ``dagster/column_lineage`` metadata (asset inputs only; None if empty)."""
    import dagster as dg

    deps = {
        column: [
            dg.TableColumnDep(asset_key=dg.AssetKey.from_user_string(name), column_name=name_column)
            for name, name_column in dict.fromkeys(  # an asset read at two versions is one dependency
                (inputs[s.input].name, s.column) for s in column_sources if inputs[s.input].is_asset
            )
        ]
        for column, column_sources in sources.items()
    }
    deps = {column: found for column, found in deps.items() if found}
    return dg.TableColumnLineage(deps_by_column=deps) if deps else None
