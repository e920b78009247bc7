"""Columns with a role resolved once at the real source's ingestion: declared in the spec or detected.

Identifier columns (:mod:`synth_pipeline.identifiers`), free-text columns
(:mod:`synth_pipeline.text_columns`) and numbers that are categories
(:mod:`synth_pipeline.categorical_columns`) are each a list the spec may declare (``[]``: none)
or leave to detection, checked against the source, and kept beside the real source as a
monitor, so that every later stage and check reads the same list.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.provenance import user_columns

if TYPE_CHECKING:
    import dagster as dg

    from synth_pipeline.storage import DatasetStore


@dataclass(frozen=True)
class ResolvedColumn:
    """One column with its role and why it has it.

    Attributes:
        column: The column name.
        origin: ``declared`` (in the spec) or ``detected``.
        evidence: The figures behind a detection, or ``declared in the spec``.
    """

    column: str
    origin: str
    evidence: str


def check_declared(frame: pd.DataFrame, declared: list[str], *, field: str, source: str) -> None:
    """Refuse a declared list naming columns the source lacks, or a column twice.

    Args:
        frame: The real source's rows.
        declared: The spec's list.
        field: The spec field, e.g. ``text_columns``, for the message.
        source: The source's description, for the message.

    Raises:
        SynthPipelineError: Naming the columns and the fix.
    """
    columns = set(user_columns(frame))
    missing = [c for c in declared if c not in columns]
    if missing:
        raise SynthPipelineError(
            f"{source}: {field} names {missing}, which the source does not have (its columns: "
            f"{sorted(columns)[:20]}); fix the spec's {field}")
    repeated = sorted({c for c in declared if declared.count(c) > 1})
    if repeated:
        raise SynthPipelineError(f"{source}: {field} names {repeated} more than once; fix the spec's {field}")


def detected_columns(
    frame: pd.DataFrame, evidence_of: Callable[[pd.Series], str | None], *, label_column: str,
    exclude: Collection[str] = (),
) -> list[ResolvedColumn]:
    """The user columns of ``frame`` for which ``evidence_of`` finds evidence of a role, in column order.

    Args:
        frame: Real rows (provenance columns are ignored).
        evidence_of: The detection rule: the figures behind the role, or None when the column lacks it.
        label_column: Never detected (its role follows the task).
        exclude: Columns resolved to another role first.
    """
    found = []
    for column in user_columns(frame):
        if column == label_column or column in exclude:
            continue
        evidence = evidence_of(frame[column])
        if evidence is not None:
            found.append(ResolvedColumn(str(column), "detected", evidence))
    return found


def declared_columns(declared: list[str]) -> list[ResolvedColumn]:
    """The declared columns as resolved ones."""
    return [ResolvedColumn(c, "declared", "declared in the spec") for c in declared]


def store_columns(store: DatasetStore, source_key: dg.AssetKey, monitor: str, resolved: list[ResolvedColumn]) -> None:
    """Keep resolved columns beside the real source, as the monitor ``monitor`` (read by :func:`stored_columns`)."""
    frame = pd.DataFrame([vars(r) for r in resolved], columns=["column", "origin", "evidence"])
    store.write_monitor(source_key, monitor, "0", frame)


def stored_columns(store: DatasetStore, source_key: dg.AssetKey | None, monitor: str) -> list[str]:
    """The columns kept by :func:`store_columns` ([] before the source's ingestion, without a source, or none)."""
    if source_key is None:
        return []
    stored = store.monitor_history(source_key, monitor)
    return [str(c) for c in stored["column"]] if "column" in stored else []
