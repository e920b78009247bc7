"""Summaries of a provenance-tagged frame: what it is made of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from synth_pipeline.provenance import ALL_KINDS, DEPTH_COLUMN, KIND_COLUMN, ProvenanceKind, kind_label
from synth_pipeline.stage_files import StagePath


@dataclass(frozen=True)
class Composition:
    """What a dataset is made of.

    Attributes:
        rows: Total number of rows.
        rows_by_kind: Rows per provenance kind (all four kinds, zeros included).
        provenance: The single kind of every row, ``mixed``, or ``empty``.
        max_depth: Largest generator depth of any row (0 for an empty frame).
        rows_by_class: Rows per label value, per kind (empty without a label column); for
            a regression label, per quantile bin (``#01 [lo, hi)``, see :mod:`synth_pipeline.task`).
        group: What ``rows_by_class`` is keyed by: ``class`` or ``bin`` (quantile bins of a
            regression label).
    """

    rows: int
    rows_by_kind: dict[str, int]
    provenance: str
    max_depth: int
    rows_by_class: dict[str, dict[str, int]] = field(default_factory=dict)
    group: str = "class"

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
    def imbalance_ratio(self) -> float:
        """The largest class's real rows over the smallest's (1.0 for balanced data).

        ``inf`` when some class has no real rows but another has; ``nan`` without at
        least two classes or without real rows, where imbalance is undefined.
        """
        real = [counts["real"] for counts in self.rows_by_class.values()]
        if len(real) < 2 or max(real) == 0:
            return float("nan")
        return max(real) / min(real) if min(real) else float("inf")

    def minority_classes(self, imbalance_ratio: float) -> list[str]:
        """Classes under-represented among the real rows: the largest class has at least
        ``imbalance_ratio`` times their real rows.

        Every class that meets the ratio is a minority (not only the smallest), so tied or
        nearly tied small classes are treated alike; balanced data (ratio below the limit)
        has none. Empty without at least two classes or without real rows.

        Args:
            imbalance_ratio: The smallest ratio (largest class's real rows over this
                class's) that makes a class a minority; at least 1.
        """
        real = {label: counts["real"] for label, counts in self.rows_by_class.items()}
        largest = max(real.values(), default=0)
        if len(real) < 2 or largest == 0:
            return []
        # Multiplying rather than dividing keeps exact ties exact (e.g. 60 vs 40 at 1.5).
        return sorted(label for label, count in real.items() if largest >= imbalance_ratio * count)

    @property
    def synthetic_fraction_by_class(self) -> dict[str, float]:
        """Per label value, the share of synthetic rows."""
        return self.class_fraction(ProvenanceKind.SYNTHETIC)


def summarize(
    data: pd.DataFrame | str | StagePath, label_column: str | None = None, bin_edges: Sequence[float] | None = None
) -> Composition:
    """Count a tagged dataset's rows per kind (and per class), and find its max depth.

    The counting is one DuckDB ``GROUP BY``, over an in-memory frame or straight over a
    Parquet file (which is then never loaded into pandas).

    Args:
        data: A frame with provenance columns, or the path of a Parquet file holding one.
        label_column: The class label; when given, counts are also broken down per class.
        bin_edges: For a regression label: quantile bin edges (:func:`synth_pipeline.task.label_bin_edges`);
            counts are then broken down per bin instead, each named by number and range, never by a value.

    Returns:
        The dataset's :class:`Composition`.
    """
    from synth_pipeline.stage_files import duckdb_connection

    connection = duckdb_connection([data] if not isinstance(data, pd.DataFrame | str) else [])
    if isinstance(data, pd.DataFrame):
        connection.register("source_rows", data)
        source, params = "source_rows", {}
    else:
        source, params = "read_parquet($path)", {"path": str(data)}
    # Group on the raw label and name the few groups in Python: cheaper than a per-row cast.
    label = quote_identifier(label_column) if label_column else "NULL"
    names: list[str] | None = None
    if label_column and bin_edges:
        from synth_pipeline.task import bin_names

        # The bin number, as synth_pipeline.task.bin_numbers: the count of inner edges at or below the value.
        inner = " + ".join(f"CAST({label} >= {float(edge)!r} AS INTEGER)" for edge in bin_edges[1:-1]) or "0"
        label = f"CASE WHEN {label} IS NULL THEN NULL ELSE {inner} END"
        names = bin_names(tuple(bin_edges))
    groups = connection.execute(
        f"SELECT {label} AS label, CAST({KIND_COLUMN} AS VARCHAR) AS kind, count(*) AS n, "
        f"max({DEPTH_COLUMN}) AS max_depth FROM {source} GROUP BY ALL",
        params,
    ).fetchall()
    connection.close()
    rows_by_kind = {k.value: 0 for k in ALL_KINDS}
    rows_by_class: dict[str, dict[str, int]] = {}
    max_depth = 0
    for label_value, kind, count, depth in groups:
        rows_by_kind[kind] += count
        max_depth = max(max_depth, int(depth))
        if label_column is not None:
            name = "<null>" if label_value is None else str(label_value) if names is None else names[label_value]
            rows_by_class.setdefault(name, {k.value: 0 for k in ALL_KINDS})[kind] += count
    return Composition(
        rows=sum(rows_by_kind.values()),
        rows_by_kind=rows_by_kind,
        provenance=kind_label([kind for kind, count in rows_by_kind.items() if count]),
        max_depth=max_depth,
        rows_by_class=dict(sorted(rows_by_class.items())),
        group="class" if names is None else "bin",
    )


def quote_identifier(name: str) -> str:
    """A column name quoted for SQL (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'
