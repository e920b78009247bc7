"""Collapse monitors: how much of the real data's diversity a dataset keeps.

Model collapse shows first as lost variance and lost tails, then as lost categories and
repeated rows (Shumailov et al., Nature 2024). Each monitor compares a dataset with the
real rows it should resemble, and is scaled so that 1.0 means "as diverse as real data":

Numeric columns that hold categories (a class label, 0/1 flags, codes such as postal codes;
:mod:`synth_pipeline.categorical_columns`) are categorical here: a variance of codes means nothing.

- **variance ratio**, per numeric column: variance in the data over variance in the real
  rows. The monitor is the smallest ratio over columns (lost spread); the largest is
  kept too (over-dispersion: generated values spread far wider than real ones is a
  fidelity defect as well).
- **category coverage**, per categorical column: the share of real categories present,
  over the share a random sample of the same number of real rows would cover (its
  expectation, ``mean(1 - (1 - p_c)^n)`` over categories ``c`` with real frequency
  ``p_c``), so a small healthy sample is not penalised for missing rare categories. The
  monitor is the column with the smallest upper bound (below), capped at 1.
- **tail coverage**: the share of values beyond the real 1st and 99th percentiles, over
  the real share beyond them (about 2 %), pooled over numeric columns (single columns
  are too noisy on small samples). Far above 1 means generated tails much wider than
  real ones.
- **distinct-row ratio**: distinct rows (by content hash) over rows, relative to the
  same ratio in the real rows, both at the same sample size (see
  :func:`distinct_row_ratio`).

Variance, category and tail figures of a few dozen rows are noisy, so each also has
one-sided 95 % confidence bounds (chi-square for a variance, Clopper-Pearson for the tail
share, a normal bound on the count of categories present for coverage): the upper bound
is compared with a lower limit (lost diversity), the lower bound with an upper limit
(over-dispersion); the checks fail a dataset only when even that bound is beyond the
limit.

Two small-sample cases the chi-square bound cannot see are handled apart:

- **a constant sample of a discrete column**: its variance is 0 and so is any bound
  proportional to it, yet 10 draws of a binary flag set in 5 % of real rows are all 0
  in 60 % of samples. Where the chance that ``n`` draws from the real values are all equal
  (``sum_v f_v^n`` over the real frequencies ``f_v``, at their upper bounds) is 5 % or more, the upper bound is
  infinite: a constant sample is no evidence of lost spread there.
  (:func:`constant_sample_chance`; a continuous column has a chance near 0 and is judged.)
- **category coverage** of ``n`` rows varies by chance around its expectation; the
  variance of the count of categories present, ``sum_c q_c (1 - q_c)`` with
  ``q_c = 1 - (1 - p_c)^n``, is an upper bound of the true one (the indicators of
  multinomial sampling are negatively correlated), and the upper bound of coverage is
  ``(present + 1.645 sd) / expected`` (``_coverage_and_bound``).

A monitor with nothing to measure (no categorical column; no numeric column with values
beyond the real 1st/99th percentiles, e.g. an all-binary table; every numeric column
constant in the real rows) is NaN, and :attr:`DiversityReport.unmeasured` says why.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.provenance import ROW_HASH_COLUMN, user_columns

TAIL_PERCENTILES = (1.0, 99.0)
CONSTANT_SAMPLE_CHANCE = 0.05
"""A constant sample more likely than this by chance is no evidence of lost spread (module docs)."""


def _numeric_columns(frame: pd.DataFrame, columns: list[str], categorical: Collection[str] = ()) -> list[str]:
    return [
        c for c in columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        and c not in categorical
    ]


def _datetimes_as_seconds(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    from synth_pipeline.quality.encoding import numbers_of

    dated = [c for c in columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    if not dated:
        return frame
    return frame.assign(**{c: numbers_of(frame[c]) for c in dated})


def _text(values: pd.Series) -> pd.Series:
    """Values as category labels; numbers by value, so a code read as ``int64`` on one side and as
    ``float64`` on the other (a column with gaps) is one category: ``1`` and ``1.0`` are both ``"1"``."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        whole = np.isfinite(numbers) & (np.abs(numbers) < 2.0**63)
        whole[whole] = numbers[whole] == np.round(numbers[whole])
        text = numbers.astype(str).astype(object)
        text[whole] = numbers[whole].astype(np.int64).astype(str)
        text[np.isnan(numbers)] = "\x00missing"
        return pd.Series(text, index=values.index, dtype=object)
    return values.astype("object").where(values.notna(), "\x00missing").astype(str)


def variance_ratios(data: pd.DataFrame, real: pd.DataFrame, columns: list[str]) -> dict[str, float]:
    """Variance of each numeric column in ``data`` over its variance in ``real``.

    Columns constant in ``real`` (the ratio is undefined) and columns with fewer than 2
    values in ``data`` (no variance) are left out.
    """
    ratios = {}
    for column in columns:
        reference, values = real[column].astype("float64"), data[column].astype("float64")
        # A ratio does not depend on the unit, and in the real values' own scale the squares of
        # values near 1e308 (or 1e-320) do not overflow (underflow) to a variance of inf (0).
        scale = float(reference[np.isfinite(reference)].abs().max()) if np.isfinite(reference).any() else 0.0
        if scale > 0 and np.isfinite(scale):
            reference, values = reference / scale, values / scale
        real_variance = float(reference.var())
        if real_variance > 0 and np.isfinite(real_variance) and values.notna().sum() >= 2:
            variance = float(values.var())
            ratios[column] = (variance if np.isfinite(variance) else 0.0) / real_variance
    return ratios


def variance_ratio_dof(rows: int, real_rows: int, excess_kurtosis: float) -> float:
    """Effective degrees of freedom of a variance ratio's sampling distribution.

    The sample variance of ``n`` values has relative variance ``2/(n-1) + k/n``, with
    ``k`` the column's excess kurtosis (0 for normal data, where ``(n-1) s^2/sigma^2`` is
    chi-square with ``n-1`` degrees of freedom); the real side's variance adds its own
    term. Matching that relative variance with a scaled chi-square (Satterthwaite's
    approximation, Box 1953 on the non-robustness of variance tests) gives
    ``d = 2 / (relative variance)``: ``n-1`` for normal data and a large real side, far
    fewer for a heavy-tailed column, whose few dozen generated values say little about
    its variance. Without it a healthy generator fails on skewed columns by chance.

    Args:
        rows: Values the variance was estimated from (generated side).
        real_rows: Values of the real side.
        excess_kurtosis: The real column's excess kurtosis (negative values count as 0).
    """
    kurtosis = max(float(excess_kurtosis), 0.0) if np.isfinite(excess_kurtosis) else 0.0
    relative = 2.0 / (rows - 1) + kurtosis / rows
    if real_rows >= 2:
        relative += 2.0 / (real_rows - 1) + kurtosis / real_rows
    return 2.0 / relative


def variance_upper_bound(ratio: float, rows: int, *, real_rows: int = 0, excess_kurtosis: float = 0.0) -> float:
    """One-sided 95 % upper bound of a variance ratio estimated from ``rows`` values.

    Chi-square with :func:`variance_ratio_dof` degrees of freedom (exact for normal data
    and a large real side: ``real_rows=0`` and ``excess_kurtosis=0`` give the classic
    chi-square bound with ``rows - 1`` degrees of freedom).
    """
    from scipy.stats import chi2

    if rows < 2:
        return float("inf")
    dof = variance_ratio_dof(rows, real_rows, excess_kurtosis)
    return float(ratio * dof / chi2.ppf(0.05, dof))


def variance_lower_bound(ratio: float, rows: int, *, real_rows: int = 0, excess_kurtosis: float = 0.0) -> float:
    """One-sided 95 % lower bound of a variance ratio (see :func:`variance_upper_bound`)."""
    from scipy.stats import chi2

    if rows < 2:
        return 0.0
    dof = variance_ratio_dof(rows, real_rows, excess_kurtosis)
    return float(ratio * dof / chi2.ppf(0.95, dof))


def category_coverages(data: pd.DataFrame, real: pd.DataFrame, columns: list[str]) -> dict[str, float]:
    """Real categories present in ``data``, relative to a same-size real sample's expected coverage."""
    return {column: coverage for column, (coverage, _) in _coverage_and_bound(data, real, columns).items()}


def _coverage_and_bound(data: pd.DataFrame, real: pd.DataFrame, columns: list[str]) -> dict[str, tuple[float, float]]:
    from scipy.stats import norm

    z = float(norm.ppf(0.95))
    figures = {}
    rows = len(data)
    for column in columns:
        frequencies = _text(real[column]).value_counts(normalize=True).to_numpy()
        if len(frequencies) == 0:
            continue
        present = float(pd.Index(_text(real[column]).unique()).isin(_text(data[column]).unique()).sum())
        reached = 1 - (1 - frequencies) ** rows if rows else np.zeros_like(frequencies)
        expected = float(reached.sum())
        if expected <= 0:
            figures[column] = (1.0, 1.0)
            continue
        spread = float(np.sqrt((reached * (1 - reached)).sum()))
        figures[column] = (min(present / expected, 1.0), min((present + z * spread) / expected, 1.0))
    return figures


def constant_sample_chance(values: pd.Series, real: pd.Series) -> float:
    """Chance that ``len(values.dropna())`` draws from the real values are all equal, at most.

    ``sum_v f_v^n`` over the real values' frequencies ``f_v``, each taken at its one-sided
    95 % Clopper-Pearson upper bound: the real rows are a sample too, and a flag seen in
    6 % of 2,000 real rows may well be set in 5 % of the population (with point
    frequencies a perfect generator's 50-row samples failed 8.5 % of the time instead of
    5 %). Near 0 for a continuous column, large for a rare flag on a few rows (module docs).
    """
    from scipy.stats import beta

    drawn = int(values.notna().sum())
    counts = real.dropna().value_counts().to_numpy().astype("float64")
    total = counts.sum()
    if drawn == 0 or total == 0:
        return 1.0
    upper = np.where(counts < total, beta.ppf(0.95, counts + 1, np.maximum(total - counts, 1)), 1.0)
    return float(min(1.0, np.sum(upper ** drawn)))


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

    def lower_bound(self) -> float:
        """One-sided 95 % lower bound of the pooled tail coverage (Clopper-Pearson); NaN without values."""
        from scipy.stats import beta

        tail, values = sum(self.data_tail.values()), sum(self.data_values.values())
        if not values:
            return float("nan")
        expected = sum(self.real_share[c] * self.data_values[c] for c in self.data_values) / values
        lower = 0.0 if tail == 0 else float(beta.ppf(0.05, tail, values - tail + 1))
        return lower / expected

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


def distinct_row_ratio(data: pd.DataFrame, real: pd.DataFrame, *, seed: int = 0) -> float:
    """Distinct rows of ``data`` relative to the real rows, compared at equal sample size.

    The larger side is subsampled (seeded, in content-hash order so that row order does
    not matter) to the smaller one's size: how many rows are distinct depends on how
    many rows there are, since on a table with few possible rows (e.g. 32) a larger set
    repeats itself more by necessity. Comparing whole sets failed every healthy training
    mix of such a table (0.80 against the 0.9 limit).

    Returns:
        The ratio of the two distinct-row shares (1.0: as distinct as real rows), or NaN
        when either side is empty.
    """
    rows = min(len(data), len(real))
    if rows == 0:
        return float("nan")

    def sample(frame: pd.DataFrame) -> pd.DataFrame:
        if len(frame) == rows:
            return frame
        ordered = frame.sort_values(ROW_HASH_COLUMN, kind="stable")
        return ordered.sample(rows, random_state=seed)

    return distinct_ratio(sample(data)) / distinct_ratio(sample(real))


@dataclass(frozen=True)
class DiversityReport:
    """The four collapse monitors of one dataset (see the module docs).

    A monitor with nothing to measure (e.g. no categorical column) is NaN, is not
    compared with the policy, and :attr:`unmeasured` says why.

    The variance monitors are judged on the column whose bound decides (the smallest 95 %
    upper bound, the largest 95 % lower bound); ``min_variance_ratio`` and
    ``max_variance_ratio`` are that column's ratio, so a figure is always shown beside its
    own bound and column. That column need not have the lowest ratio: a heavy-tailed
    column's wide bound can hide a low ratio, which ``lowest_variance_ratio`` and
    ``lowest_variance_column`` report (not judged).
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
    max_variance_ratio: float = float("nan")
    max_variance_lower_bound: float = float("nan")
    max_variance_column: str | None = None
    tail_coverage_lower_bound: float = float("nan")
    min_category_upper_bound: float = float("nan")
    variance_ratios: dict[str, float] = field(default_factory=dict)
    category_coverages: dict[str, float] = field(default_factory=dict)
    tail_coverages: dict[str, float] = field(default_factory=dict)
    lowest_variance_ratio: float = float("nan")
    lowest_variance_column: str | None = None
    unmeasured: dict[str, str] = field(default_factory=dict)
    """Monitor (``variance``, ``category``, ``tail``, ``distinct``) -> why it has nothing to measure."""

    def headline(self) -> dict[str, Any]:
        """The monitors and sizes, without the per-column figures."""
        figures = asdict(self)
        for per_column in ("variance_ratios", "category_coverages", "tail_coverages", "unmeasured"):
            figures.pop(per_column)
        return figures


def _smallest(values: dict[str, float]) -> tuple[float, str | None]:
    if not values:
        return float("nan"), None
    column = min(values, key=values.__getitem__)
    return values[column], column


def _largest(values: dict[str, float]) -> tuple[float, str | None]:
    if not values:
        return float("nan"), None
    column = max(values, key=values.__getitem__)
    return values[column], column


def _unmeasured(data: pd.DataFrame, real: pd.DataFrame, numeric: list[str], categorical: list[str],
                variances: dict[str, float], categories: dict[str, float], tails: TailCounts) -> dict[str, str]:
    reasons = {}
    if not variances:
        if not numeric:
            reasons["variance"] = "no numeric column"
        elif all(real[c].astype("float64").nunique() < 2 for c in numeric):
            reasons["variance"] = "every numeric column is constant in the real rows"
        else:
            reasons["variance"] = "no numeric column holds 2 or more values in the data"
    if not categories:
        reasons["category"] = "no categorical column" if not categorical else "no categorical column has real values"
    if not tails.data_values:
        reasons["tail"] = ("no numeric column has values beyond the real 1st/99th percentiles"
                           + (" (binary or low-cardinality columns)" if numeric else " (no numeric column)"))
    if len(real) == 0:
        reasons["distinct"] = "no real rows to compare with"
    return reasons


def measure_diversity(data: pd.DataFrame, real: pd.DataFrame, *, categorical: Collection[str] = ()) -> DiversityReport:
    """The collapse monitors of ``data`` against the ``real`` rows (both with provenance columns).

    Args:
        data: The rows measured.
        real: The real rows they should resemble.
        categorical: Numeric columns that hold categories (a class label, flags, codes; see
            :mod:`synth_pipeline.categorical_columns`): measured by category coverage, not by
            variance and tails. Text, boolean and category columns are categorical anyway.
    """
    columns = [c for c in user_columns(data) if c in real.columns]
    # Datetimes are points on a line, not categories: a sampled timestamp that is not exactly
    # a real one is no lost category, so they are judged as numbers (seconds).
    data, real = _datetimes_as_seconds(data, columns), _datetimes_as_seconds(real, columns)
    numeric = _numeric_columns(real, columns, set(categorical))
    categorical = [c for c in columns if c not in numeric]
    variances = variance_ratios(data, real, numeric)
    spread = {c: {"rows": int(data[c].notna().sum()), "real_rows": int(real[c].notna().sum()),
                  "excess_kurtosis": float(real[c].astype("float64").kurt())} for c in variances}
    upper_bounds = {
        c: float("inf") if r == 0 and constant_sample_chance(data[c], real[c]) >= CONSTANT_SAMPLE_CHANCE
        else variance_upper_bound(r, **spread[c])
        for c, r in variances.items()
    }
    lower_bounds = {c: variance_lower_bound(r, **spread[c]) for c, r in variances.items()}
    coverage = _coverage_and_bound(data, real, categorical)
    categories = {c: figures[0] for c, figures in coverage.items()}
    tails = tail_counts(data, real, numeric)
    tail_coverage, tail_upper = tails.coverage()
    smallest_upper, variance_column = _smallest(upper_bounds)
    lowest_ratio, lowest_column = _smallest(variances)
    largest_lower, wide_column = _largest(lower_bounds)
    smallest_category_bound, category_column = _smallest({c: figures[1] for c, figures in coverage.items()})
    smallest_category = categories[category_column] if category_column is not None else float("nan")
    return DiversityReport(
        rows=len(data), real_rows=len(real),
        min_variance_ratio=variances[variance_column] if variance_column is not None else float("nan"),
        min_variance_upper_bound=smallest_upper, min_variance_column=variance_column,
        min_category_coverage=smallest_category, min_category_column=category_column,
        tail_coverage=tail_coverage, tail_coverage_upper_bound=tail_upper,
        distinct_row_ratio=distinct_row_ratio(data, real),
        max_variance_ratio=variances[wide_column] if wide_column is not None else float("nan"),
        max_variance_lower_bound=largest_lower, max_variance_column=wide_column,
        tail_coverage_lower_bound=tails.lower_bound(), min_category_upper_bound=smallest_category_bound,
        lowest_variance_ratio=lowest_ratio, lowest_variance_column=lowest_column,
        variance_ratios=variances, category_coverages=categories, tail_coverages=tails.per_column(),
        unmeasured=_unmeasured(data, real, numeric, categorical, variances, categories, tails),
    )
