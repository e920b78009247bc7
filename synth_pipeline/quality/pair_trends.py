"""SDMetrics' column-pair trends property, with every numeric pair computed in one pass.

SDMetrics (``sdmetrics.reports.single_table._properties.ColumnPairTrends``) scores each
pair of numeric columns with ``CorrelationSimilarity``: ``1 - |r_real - r_synthetic| / 2``,
``r`` being Pearson's correlation over the rows where both values are present. It does so
one pair at a time, copying and validating both frames for every pair; on a 31-column
table that is 435 pairs and about 3 s per report, more than half of a quality check's
time (profiled on the reference data). :class:`BatchedColumnPairTrends` computes the same
figures for all numeric pairs at once with ``DataFrame.corr`` (pairwise-complete rows,
as SDMetrics), and the pairs of a numeric column with a categorical one (SDMetrics'
``ContingencySimilarity`` of the numeric column's bins against the categories: on a
220-feature table with a class label, 220 pairs and half a report's time) for all numeric
columns of one categorical column at once, from SDMetrics' own binning. It leaves every
other pair (two categories, datetimes, a column SDMetrics failed to convert or bin) to
SDMetrics itself. Its details, scores and averages equal SDMetrics' to rounding (a test
compares them on tables with categories, missing values, booleans, mixed-type objects and
constant columns).

Used only with ``real_correlation_threshold`` 0 (as :mod:`synth_pipeline.quality.fidelity`
sets it); with a positive threshold the class defers to SDMetrics for every pair.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from sdmetrics.reports.single_table._properties import ColumnPairTrends
from sdmetrics.utils import get_columns_from_metadata, get_table_data_from_dict

_PAIR_KEY = ["Column 1", "Column 2"]
_DISCRETE = ("categorical", "boolean")
"""Discrete sdtypes whose pairs with a numeric column are scored in one pass (SDMetrics: contingency similarity)."""


class BatchedColumnPairTrends(ColumnPairTrends):
    """SDMetrics' ``ColumnPairTrends`` with the numeric pairs computed in one pass."""

    def _generate_details(
        self, real_data: Any, synthetic_data: Any, metadata: dict, progress_bar: Any = None,
        column_pairs: list[tuple[str, str]] | None = None,
    ) -> pd.DataFrame:
        columns = get_columns_from_metadata(metadata)
        pairs = list(itertools.combinations(list(columns), r=2)) if column_pairs is None else list(column_pairs)
        numeric = {name for name, meta in columns.items() if meta["sdtype"] == "numerical"}
        discrete = {name for name, meta in columns.items() if meta["sdtype"] in _DISCRETE}
        batched = [pair for pair in pairs if pair[0] in numeric and pair[1] in numeric]
        if self.real_correlation_threshold > 0:
            batched = []
        real = get_table_data_from_dict(real_data)
        synthetic = get_table_data_from_dict(synthetic_data)
        mixed = self._batchable_mixed_pairs(pairs, numeric, discrete, real, synthetic, metadata)
        if not batched and not mixed:
            return super()._generate_details(real_data, synthetic_data, metadata, progress_bar, column_pairs=pairs)
        done = set(batched) | set(mixed)
        rest = [pair for pair in pairs if pair not in done]
        parts = []
        if batched:
            parts.append(_correlation_details(real, synthetic, batched))
        if mixed:
            parts.append(_contingency_details(mixed, numeric, *self._discrete_versions))
        if rest:
            parts.append(super()._generate_details(
                real_data, synthetic_data, metadata, progress_bar, column_pairs=rest))
        if progress_bar:
            progress_bar.update(len(done))
        details = pd.concat(parts, ignore_index=True)
        order = pd.MultiIndex.from_tuples(pairs)
        details = details.set_index(_PAIR_KEY).reindex(order).rename_axis(_PAIR_KEY).reset_index()
        details["Meets Threshold?"] = details["Meets Threshold?"].astype("boolean")
        if "Error" in details.columns and details["Error"].isna().all():
            details = details.drop(columns="Error")
        return details

    def _batchable_mixed_pairs(
        self, pairs: list[tuple[str, str]], numeric: set[str], discrete: set[str], real: pd.DataFrame,
        synthetic: pd.DataFrame, metadata: dict,
    ) -> list[tuple[str, str]]:
        """The (numerical, categorical or boolean) pairs :func:`_contingency_details` scores as SDMetrics would.

        Not batched: with a positive association threshold, when SDMetrics would subsample the rows
        (``num_rows_subsample``), or a pair whose numeric column SDMetrics could not discretize.
        Sets ``_discrete_versions``: SDMetrics' own preprocessing of both sides (its
        ``_get_processed_data``: each side's numeric columns binned on that side's histogram edges).
        """
        mixed = [pair for pair in pairs if (pair[0] in numeric and pair[1] in discrete)
                 or (pair[0] in discrete and pair[1] in numeric)]
        subsampled = self.num_rows_subsample and max(len(real), len(synthetic)) > self.num_rows_subsample
        if not mixed or self.real_association_threshold > 0 or subsampled:
            return []
        self._columns_discretization_failed = {}
        real_processed, real_discrete = self._get_processed_data(real, metadata)
        synthetic_processed, synthetic_discrete = self._get_processed_data(synthetic, metadata)
        failed = set(self._columns_discretization_failed) | set(self._columns_datetime_conversion_failed)
        self._discrete_versions = (real_processed, real_discrete, synthetic_processed, synthetic_discrete)
        return [pair for pair in mixed if not set(pair) & failed]


def _contingency_details(
    pairs: list[tuple[str, str]], numeric: set[str], real: pd.DataFrame, real_discrete: pd.DataFrame,
    synthetic: pd.DataFrame, synthetic_discrete: pd.DataFrame,
) -> pd.DataFrame:
    """SDMetrics' ``ContingencySimilarity`` of each (numeric, discrete) pair, as rows of the property's details.

    As SDMetrics: the numeric column's bins (``real_discrete`` / ``synthetic_discrete``, each side
    binned on its own edges) against the discrete column's values, missing values a cell of their
    own; each side's cell shares of its rows; the score is one minus half the summed absolute
    differences over every cell either side holds. Computed for all numeric columns paired with
    one discrete column at once (one count of cells per column, by ``bincount``).
    """
    scores: dict[tuple[str, str], float] = {}
    by_discrete: dict[str, list[str]] = {}
    for pair in pairs:
        number, other = pair if pair[0] in numeric else pair[::-1]
        by_discrete.setdefault(other, []).append(number)
    for other, numbers in by_discrete.items():
        names = list(dict.fromkeys(numbers))
        codes, uniques = pd.factorize(pd.concat([real[other], synthetic[other]], ignore_index=True),
                                      use_na_sentinel=False)
        categories = max(len(uniques), 1)
        real_codes, synthetic_codes = codes[:len(real)], codes[len(real):]
        real_bins = real_discrete[names].to_numpy(dtype=np.int64)
        synthetic_bins = synthetic_discrete[names].to_numpy(dtype=np.int64)
        cells = int(max(real_bins.max(initial=0), synthetic_bins.max(initial=0)) + 1) * categories
        shares = []
        for bins, side_codes, rows in ((real_bins, real_codes, len(real)), (synthetic_bins, synthetic_codes,
                                                                             len(synthetic))):
            cell = bins * categories + side_codes[:, None] + np.arange(len(names))[None, :] * cells
            counts = np.bincount(cell.ravel(), minlength=cells * len(names)).reshape(len(names), cells)
            shares.append(counts / rows)
        score = 1 - (np.abs(shares[0] - shares[1]) / 2).sum(axis=1)
        for name, value in zip(names, score, strict=True):
            scores[(name, other)] = float(value)
    values = [scores[pair if pair[0] in numeric else pair[::-1]] for pair in pairs]
    return pd.DataFrame({
        "Column 1": [pair[0] for pair in pairs],
        "Column 2": [pair[1] for pair in pairs],
        "Metric": "ContingencySimilarity",
        "Score": values,
        "Real Correlation": np.nan,
        "Synthetic Correlation": np.nan,
        "Real Association": np.nan,
        "Meets Threshold?": pd.array([True] * len(pairs), dtype="boolean"),
        "Error": None,
    })


def _correlation_details(real: pd.DataFrame, synthetic: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """SDMetrics' ``CorrelationSimilarity`` (Pearson) for each pair, as rows of the property's details."""
    names = sorted({name for pair in pairs for name in pair})
    position = {name: index for index, name in enumerate(names)}
    # SDMetrics refuses a column holding one distinct value (nulls aside) on either side.
    constant = {  # one nunique over the columns: a Series per column costs more than the counting on wide tables
        side: set(frame[names].nunique().pipe(lambda counts: counts[counts == 1]).index) for side, frame in
        (("real data", real), ("synthetic data", synthetic))
    }
    correlations = {
        side: frame[names].apply(pd.to_numeric, errors="coerce").astype("float64").corr(min_periods=2).to_numpy()
        for side, frame in (("real", real), ("synthetic", synthetic))
    }
    first, second = (np.array([position[pair[i]] for pair in pairs], dtype=int) for i in (0, 1))
    on_real = correlations["real"][first, second]
    on_synthetic = correlations["synthetic"][first, second]
    score = 1 - np.abs(on_real - on_synthetic) / 2
    errors: list[str | None] = []
    for pair in pairs:
        error = None
        for side, names_constant in constant.items():
            held = [name for name in pair if name in names_constant]
            if held:
                cols = ", ".join(held)
                plural = "columns" if len(held) > 1 else "column"
                error = (f"ConstantInputError: The {side} in {plural} '{cols}' contains a constant value. "
                         "Correlation is undefined for constant data.")
                break
        errors.append(error)
    failed = np.array([error is not None for error in errors])
    score = np.where(failed, np.nan, score)
    meets = pd.array([pd.NA if bad else True for bad in failed], dtype="boolean")
    return pd.DataFrame({
        "Column 1": [pair[0] for pair in pairs],
        "Column 2": [pair[1] for pair in pairs],
        "Metric": "CorrelationSimilarity",
        "Score": score,
        "Real Correlation": np.where(failed, np.nan, on_real),
        "Synthetic Correlation": np.where(failed, np.nan, on_synthetic),
        "Real Association": np.nan,
        "Meets Threshold?": meets,
        "Error": errors,
    })
