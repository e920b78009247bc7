"""Minority-class oversampling of real rows: SMOTE (Chawla et al., 2002).

For each class smaller than ``target_ratio`` x the largest class, new rows are made
until the class reaches that size. Each new row starts from a random row of the class
(the base) and one of its ``k`` nearest neighbours in the same class, measured on
standardised numeric columns:

- numeric columns: ``base + u * (neighbour - base)`` with ``u ~ Uniform(0, 1)``, always
  between the two (also for numbers near the float64 limits, and integers beyond 2**53);
  integer columns are rounded back to integers;
- every other column (categorical, text, boolean, datetime, and numbers that hold categories:
  flags, codes, :mod:`synth_pipeline.categorical_columns`): copied from the base row. A postal
  code halfway between two others is no postal code.

The new rows are ``augmented``: transformations of real rows, at the depth of their
sources.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.output_validation import HUGE_MAGNITUDE, TINY_MAGNITUDE


def smote_target(real_rows: Mapping[Any, int], target_ratio: float) -> dict[Any, int]:
    """Rows SMOTE adds to each class before any cap: up to ``target_ratio`` x the largest class
    (0 for a class with fewer than 2 rows, which has no neighbour to interpolate with)."""
    target = math.ceil(target_ratio * max(real_rows.values(), default=0))
    return {label: max(0, target - int(count)) if count >= 2 else 0 for label, count in real_rows.items()}


def smote_oversample(
    rows: pd.DataFrame,
    *,
    label_column: str,
    target_ratio: float,
    k_neighbors: int,
    seed: int,
    max_added: Mapping[Any, int] | None = None,
    categorical: Collection[str] = (),
) -> tuple[pd.DataFrame, np.ndarray]:
    """Make new minority-class rows by interpolating between same-class neighbours.

    Args:
        rows: Source rows (user columns only).
        label_column: The class label.
        target_ratio: Top each class up to this share of the largest class.
        k_neighbors: Neighbours to choose from for each new row.
        seed: Makes the result repeatable.
        max_added: At most this many new rows per class label (e.g. the policy's
            allowance, :func:`synth_pipeline.budgets.augmentation_allowance`); None: no cap.
        categorical: Numeric columns that hold categories: copied from the base row, like text.

    Returns:
        The new rows (user columns only) and, for each, the positions in ``rows`` of its
        base row and its neighbour (shape ``(n, 2)``), so callers can carry provenance.
    """
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    numeric = [
        c for c in rows.columns
        if c != label_column and c not in set(categorical)
        and pd.api.types.is_numeric_dtype(rows[c]) and not pd.api.types.is_bool_dtype(rows[c])
    ]
    if rows.empty:
        return rows.reset_index(drop=True), np.zeros((0, 2), dtype=int)
    counts = rows[label_column].value_counts()
    targets = smote_target(counts.to_dict(), target_ratio)
    new_parts: list[pd.DataFrame] = []
    sources: list[np.ndarray] = []
    for label in counts.index:
        needed = targets[label]
        if max_added is not None and label in max_added:
            needed = min(needed, int(max_added[label]))
        positions = np.flatnonzero((rows[label_column] == label).to_numpy())
        if needed <= 0 or len(positions) < 2:
            continue
        group = rows.iloc[positions]
        values = group[numeric].to_numpy(dtype="float64")
        k = min(k_neighbors, len(group) - 1)
        # kneighbors() without arguments leaves each row out of its own neighbours.
        _, neighbours = NearestNeighbors(n_neighbors=k).fit(_standardized(values)).kneighbors()
        base = rng.integers(0, len(group), size=needed)
        partner = neighbours[base, rng.integers(0, k, size=needed)]
        made = group.iloc[base].reset_index(drop=True).copy()
        step = rng.uniform(0.0, 1.0, size=(needed, 1))
        if numeric:
            interpolated = _interpolate(values[base], values[partner], step)
            for index, column in enumerate(numeric):
                column_values = interpolated[:, index]
                if pd.api.types.is_integer_dtype(rows[column]):
                    made[column] = _as_integers(column_values, group[column].iloc[base], group[column].iloc[partner])
                else:
                    made[column] = pd.Series(column_values).astype(rows[column].dtype)
        new_parts.append(made)
        sources.append(np.column_stack([positions[base], positions[partner]]))
    if not new_parts:
        return rows.iloc[0:0].reset_index(drop=True), np.zeros((0, 2), dtype=int)
    return pd.concat(new_parts, ignore_index=True), np.concatenate(sources)


def _interpolate(start: np.ndarray, end: np.ndarray, step: np.ndarray) -> np.ndarray:
    """``start + step * (end - start)``, each value kept between its ``start`` and ``end``.

    The difference of two huge numbers of opposite sign overflows float64 (1e308 - -1e308);
    there the weighted sum ``(1 - step) * start + step * end`` is used, which cannot. Rounding
    can step a value an ulp past its pair (out of the column's range at its extremes): clipped.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        difference = end - start
        result = start + step * difference
        overflowed = np.isinf(difference) & np.isfinite(start) & np.isfinite(end)
        if overflowed.any():
            result = np.where(overflowed, (1 - step) * start + step * end, result)
    return np.clip(result, np.minimum(start, end), np.maximum(start, end))


def _as_integers(values: np.ndarray, start: pd.Series, end: pd.Series) -> pd.Series:
    """Interpolated ``values`` rounded to integers of ``start``'s dtype, each between its ``start`` and ``end``.

    float64 holds every integer only up to 2**53: beyond, the rounded value can land past
    its pair, or at 2**63, where the cast to int64 wraps to the most negative number. So the
    cast is bounded in float and the result clipped to its pair in exact integers.
    """
    dtype = start.dtype
    numpy_dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
    info = np.iinfo(numpy_dtype)
    upper = float(info.max)
    if upper > info.max:  # rounded up (64-bit types): the largest float below it
        upper = float(np.nextafter(upper, 0.0))
    present = ~np.isnan(values)  # missing where the base or the neighbour is
    rounded = np.clip(np.round(np.where(present, values, 0.0)), float(info.min), upper).astype(numpy_dtype)
    first = start.to_numpy(dtype=numpy_dtype, na_value=0)
    second = end.to_numpy(dtype=numpy_dtype, na_value=0)
    result = pd.Series(np.clip(rounded, np.minimum(first, second), np.maximum(first, second))).astype(dtype)
    return result if present.all() else result.mask(~present)


def _standardized(values: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-variance columns with missing values at the mean (a constant column
    when there are no numeric features, so every row is equally near)."""
    if values.shape[1] == 0:
        return np.zeros((len(values), 1))
    # Beyond HUGE_MAGNITUDE the variance overflows (and below TINY_MAGNITUDE it underflows to
    # 0): such columns are divided by their largest magnitude first, which standardizing undoes.
    magnitude = np.abs(np.nan_to_num(values, nan=0.0)).max(axis=0)
    rescale = (magnitude > HUGE_MAGNITUDE) | ((magnitude > 0) & (magnitude < TINY_MAGNITUDE))
    if rescale.any():
        values = values / np.where(rescale, magnitude, 1.0)
    filled = np.where(np.isnan(values), np.nanmean(values, axis=0), values)
    scale = filled.std(axis=0)
    return (filled - filled.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
