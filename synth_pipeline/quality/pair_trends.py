"""SDMetrics' column-pair trends property, with every numeric pair computed in one pass.

SDMetrics (``sdmetrics.reports.single_table._properties.ColumnPairTrends``) scores each
pair of numeric columns with ``CorrelationSimilarity``: ``1 - |r_real - r_synthetic| / 2``,
``r`` being Pearson's correlation over the rows where both values are present. It does so
one pair at a time, copying and validating both frames for every pair; on a 31-column
table that is 435 pairs and about 3 s per report, more than half of a quality check's
time (profiled on the reference data). :class:`BatchedColumnPairTrends` computes the same
figures for all numeric pairs at once with ``DataFrame.corr`` (pairwise-complete rows,
as SDMetrics) and leaves every other pair (categorical, datetime, mixed) to SDMetrics
itself. Its details, scores and averages equal SDMetrics' to rounding (a test compares
them on tables with categories, missing values and constant columns).

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


class BatchedColumnPairTrends(ColumnPairTrends):
    """SDMetrics' ``ColumnPairTrends`` with the numeric pairs computed in one pass."""

    def _generate_details(
        self, real_data: Any, synthetic_data: Any, metadata: dict, progress_bar: Any = None,
        column_pairs: list[tuple[str, str]] | None = None,
    ) -> pd.DataFrame:
        columns = get_columns_from_metadata(metadata)
        pairs = list(itertools.combinations(list(columns), r=2)) if column_pairs is None else list(column_pairs)
        numeric = {name for name, meta in columns.items() if meta["sdtype"] == "numerical"}
        batched = [pair for pair in pairs if pair[0] in numeric and pair[1] in numeric]
        if self.real_correlation_threshold > 0 or not batched:
            return super()._generate_details(real_data, synthetic_data, metadata, progress_bar, column_pairs=pairs)
        batched_set = set(batched)
        rest = [pair for pair in pairs if pair not in batched_set]
        real = get_table_data_from_dict(real_data)
        synthetic = get_table_data_from_dict(synthetic_data)
        parts = [_correlation_details(real, synthetic, batched)]
        if rest:
            parts.append(super()._generate_details(
                real_data, synthetic_data, metadata, progress_bar, column_pairs=rest))
        if progress_bar:
            progress_bar.update(len(batched))
        details = pd.concat(parts, ignore_index=True)
        order = pd.MultiIndex.from_tuples(pairs)
        details = details.set_index(_PAIR_KEY).reindex(order).rename_axis(_PAIR_KEY).reset_index()
        details["Meets Threshold?"] = details["Meets Threshold?"].astype("boolean")
        if "Error" in details.columns and details["Error"].isna().all():
            details = details.drop(columns="Error")
        return details


def _correlation_details(real: pd.DataFrame, synthetic: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """SDMetrics' ``CorrelationSimilarity`` (Pearson) for each pair, as rows of the property's details."""
    names = sorted({name for pair in pairs for name in pair})
    position = {name: index for index, name in enumerate(names)}
    # SDMetrics refuses a column holding one distinct value (nulls aside) on either side.
    constant = {
        side: {name for name in names if frame[name].nunique() == 1} for side, frame in
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
