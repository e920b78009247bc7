"""Summaries of a provenance-tagged frame: what it is made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synth_pipeline.provenance import (
    ALL_KINDS,
    DEPTH_COLUMN,
    KIND_COLUMN,
    ProvenanceKind,
    dataset_kind,
)


@dataclass(frozen=True)
class Composition:
    """What a dataset is made of.

    Attributes:
        rows: Total number of rows.
        rows_by_kind: Rows per provenance kind (all four kinds, zeros included).
        provenance: The single kind of every row, ``mixed``, or ``empty``.
        max_depth: Largest generator depth of any row (0 for an empty frame).
        rows_by_class: Rows per label value, per kind (empty without a label column).
    """

    rows: int
    rows_by_kind: dict[str, int]
    provenance: str
    max_depth: int
    rows_by_class: dict[str, dict[str, int]] = field(default_factory=dict)

    def fraction(self, *kinds: ProvenanceKind | str) -> float:
        """Share of rows whose kind is one of ``kinds`` (0.0 for an empty frame)."""
        if not self.rows:
            return 0.0
        return sum(self.rows_by_kind[ProvenanceKind(k).value] for k in kinds) / self.rows

    @property
    def synthetic_fraction(self) -> float:
        """Share of rows produced by a generator."""
        return self.fraction(ProvenanceKind.SYNTHETIC)

    @property
    def non_real_fraction(self) -> float:
        """Share of rows that are not real: synthetic, augmented and unknown."""
        return 1.0 - self.fraction(ProvenanceKind.REAL) if self.rows else 0.0

    def class_fraction(self, *kinds: ProvenanceKind | str) -> dict[str, float]:
        """Per label value, the share of that class's rows whose kind is in ``kinds``."""
        wanted = [ProvenanceKind(k).value for k in kinds]
        return {
            label: (sum(counts[k] for k in wanted) / total) if (total := sum(counts.values())) else 0.0
            for label, counts in self.rows_by_class.items()
        }

    @property
    def synthetic_fraction_by_class(self) -> dict[str, float]:
        """Per label value, the share of synthetic rows."""
        return self.class_fraction(ProvenanceKind.SYNTHETIC)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, fractions included."""
        return {
            "rows": self.rows,
            "provenance": self.provenance,
            "rows_by_kind": self.rows_by_kind,
            "synthetic_fraction": self.synthetic_fraction,
            "non_real_fraction": self.non_real_fraction,
            "max_depth": self.max_depth,
            "rows_by_class": self.rows_by_class,
            "synthetic_fraction_by_class": self.synthetic_fraction_by_class,
        }


def summarize(frame: pd.DataFrame, label_column: str | None = None) -> Composition:
    """Count a tagged frame's rows per kind (and per class), and find its max depth.

    Args:
        frame: A frame with provenance columns.
        label_column: The class label; when given, counts are also broken down per class.

    Returns:
        The frame's :class:`Composition`.
    """
    kinds = frame[KIND_COLUMN].astype("string")
    counts = kinds.value_counts()
    rows_by_kind = {k.value: int(counts.get(k.value, 0)) for k in ALL_KINDS}
    rows_by_class: dict[str, dict[str, int]] = {}
    if label_column is not None and len(frame):
        table = pd.crosstab(frame[label_column].astype("string").fillna("<null>"), kinds)
        for label, row in table.iterrows():
            rows_by_class[str(label)] = {k.value: int(row.get(k.value, 0)) for k in ALL_KINDS}
    return Composition(
        rows=len(frame),
        rows_by_kind=rows_by_kind,
        provenance=dataset_kind(frame),
        max_depth=int(frame[DEPTH_COLUMN].max()) if len(frame) else 0,
        rows_by_class=rows_by_class,
    )
