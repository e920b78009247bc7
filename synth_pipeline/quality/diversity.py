"""Collapse monitors: how much of the real data's diversity a dataset keeps.

Model collapse shows first as lost variance and lost tails, then as lost categories and
repeated rows (Shumailov et al., Nature 2024). Each monitor compares a dataset with the
real rows it should resemble, and is scaled so that 1.0 means "as diverse as real data":

- **variance ratio**, per numeric column: variance in the data over variance in the real
  rows. The monitor is the smallest ratio over columns.
- **category coverage**, per categorical column: the share of real categories present,
  over the share a random sample of the same number of real rows would cover (its
  expectation, ``mean(1 - (1 - p_c)^n)`` over categories ``c`` with real frequency
  ``p_c``), so a small healthy sample is not penalised for missing rare categories. The
  monitor is the smallest value over columns, capped at 1.
- **tail coverage**: the share of values beyond the real 1st and 99th percentiles, over
  the real share beyond them (about 2 %), pooled over numeric columns (single columns
  are too noisy on small samples).
- **distinct-row ratio**: distinct rows (by content hash) over rows, relative to the
  same ratio in the real rows.

Variance and tail figures of a few dozen rows are noisy, so each also has a one-sided
95 % upper confidence bound (chi-square for a variance, Clopper-Pearson for the tail
share); the checks fail a dataset only when even that bound is below the limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.provenance import ROW_HASH_COLUMN, user_columns

TAIL_PERCENTILES = (1.0, 99.0)


def _numeric_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    return [
        c for c in columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]


def _text(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.notna(), "\x00missing").astype(str)


def variance_ratios(data: pd.DataFrame, real: pd.DataFrame, columns: list[str]) -> dict[str, float]:
    """Variance of each numeric column in ``data`` over its variance in ``real``."""
    ratios = {}
    for column in columns:
        real_variance = float(real[column].astype("float64").var())
        if real_variance > 0 and np.isfinite(real_variance):
            variance = float(data[column].astype("float64").var())
            ratios[column] = (variance if np.isfinite(variance) else 0.0) / real_variance
    return ratios


def variance_upper_bound(ratio: float, rows: int) -> float:
    """One-sided 95 % upper bound of a variance ratio estimated from ``rows`` values (chi-square)."""
    from scipy.stats import chi2

    if rows < 2:
        return float("inf")
    return float(ratio * (rows - 1) / chi2.ppf(0.05, rows - 1))


def category_coverages(data: pd.DataFrame, real: pd.DataFrame, columns: list[str]) -> dict[str, float]:
    """Real categories present in ``data``, relative to a same-size real sample's expected coverage."""
    coverages = {}
    rows = len(data)
    for column in columns:
        frequencies = _text(real[column]).value_counts(normalize=True)
        if frequencies.empty:
            continue
        present = float(frequencies.index.isin(_text(data[column]).unique()).mean())
        expected = float(np.mean(1 - (1 - frequencies.to_numpy()) ** rows)) if rows else 0.0
        coverages[column] = min(present / expected, 1.0) if expected > 0 else 1.0
    return coverages


@dataclass(frozen=True)
class TailCounts:
    """Values beyond the real 1st/99th percentiles, per column, in the data and in the real rows."""

    data_tail: dict[str, int]
    data_values: dict[str, int]
    real_share: dict[str, float]

    def coverage(self) -> tuple[float, float]:
        """Pooled tail coverage and its one-sided 95 % upper bound (Clopper-Pearson)."""
        from scipy.stats import beta

        tail, values = sum(self.data_tail.values()), sum(self.data_values.values())
        if not values:
            return float("nan"), float("nan")
        expected = sum(self.real_share[c] * self.data_values[c] for c in self.data_values) / values
        upper = 1.0 if tail == values else float(beta.ppf(0.95, tail + 1, values - tail))
        return tail / values / expected, upper / expected

    def per_column(self) -> dict[str, float]:
        """Each column's tail coverage."""
        return {c: self.data_tail[c] / self.data_values[c] / self.real_share[c] for c in self.data_values}


def tail_counts(data: pd.DataFrame, real: pd.DataFrame, columns: list[str]) -> TailCounts:
    """Count values of ``data`` beyond the real 1st/99th percentiles, per numeric column."""
    counts = TailCounts({}, {}, {})
    for column in columns:
        real_values = real[column].astype("float64").dropna().to_numpy()
        values = data[column].astype("float64").dropna().to_numpy()
        if len(real_values) == 0 or len(values) == 0:
            continue
        low, high = np.percentile(real_values, TAIL_PERCENTILES)
        real_share = float(((real_values < low) | (real_values > high)).mean())
        if real_share > 0:
            counts.data_tail[column] = int(((values < low) | (values > high)).sum())
            counts.data_values[column] = len(values)
            counts.real_share[column] = real_share
    return counts


def distinct_ratio(frame: pd.DataFrame) -> float:
    """Distinct rows (by content hash) over rows; 1.0 for an empty frame."""
    hashes = frame[ROW_HASH_COLUMN]
    return float(hashes.nunique() / len(hashes)) if len(hashes) else 1.0


@dataclass(frozen=True)
class DiversityReport:
    """The four collapse monitors of one dataset (see the module docs).

    A monitor with nothing to measure (e.g. no categorical column) is NaN and is not
    compared with the policy.
    """

    rows: int
    real_rows: int
    min_variance_ratio: float
    min_variance_upper_bound: float
    min_variance_column: str | None
    min_category_coverage: float
    min_category_column: str | None
    tail_coverage: float
    tail_coverage_upper_bound: float
    distinct_row_ratio: float
    variance_ratios: dict[str, float] = field(default_factory=dict)
    category_coverages: dict[str, float] = field(default_factory=dict)
    tail_coverages: dict[str, float] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        """The four monitors and sizes, without the per-column figures."""
        figures = asdict(self)
        for per_column in ("variance_ratios", "category_coverages", "tail_coverages"):
            figures.pop(per_column)
        return figures


def _smallest(values: dict[str, float]) -> tuple[float, str | None]:
    if not values:
        return float("nan"), None
    column = min(values, key=values.__getitem__)
    return values[column], column


def measure_diversity(data: pd.DataFrame, real: pd.DataFrame) -> DiversityReport:
    """The collapse monitors of ``data`` against the ``real`` rows (both with provenance columns)."""
    columns = [c for c in user_columns(data) if c in real.columns]
    numeric = _numeric_columns(real, columns)
    categorical = [c for c in columns if c not in numeric]
    variances = variance_ratios(data, real, numeric)
    upper_bounds = {c: variance_upper_bound(r, int(data[c].notna().sum())) for c, r in variances.items()}
    categories = category_coverages(data, real, categorical)
    tails = tail_counts(data, real, numeric)
    tail_coverage, tail_upper = tails.coverage()
    real_distinct = distinct_ratio(real)
    smallest_upper, variance_column = _smallest(upper_bounds)
    smallest_category, category_column = _smallest(categories)
    return DiversityReport(
        rows=len(data), real_rows=len(real),
        min_variance_ratio=min(variances.values()) if variances else float("nan"),
        min_variance_upper_bound=smallest_upper, min_variance_column=variance_column,
        min_category_coverage=smallest_category, min_category_column=category_column,
        tail_coverage=tail_coverage, tail_coverage_upper_bound=tail_upper,
        distinct_row_ratio=distinct_ratio(data) / real_distinct if real_distinct else float("nan"),
        variance_ratios=variances, category_coverages=categories, tail_coverages=tails.per_column(),
    )
