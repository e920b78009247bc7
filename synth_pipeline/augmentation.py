"""Minority-class oversampling of real rows: SMOTE (Chawla et al., 2002).

For each class smaller than ``target_ratio`` x the largest class, new rows are made
until the class reaches that size. Each new row starts from a random row of the class
(the base) and one of its ``k`` nearest neighbours in the same class, measured on
standardised numeric columns:

- numeric columns: ``base + u * (neighbour - base)`` with ``u ~ Uniform(0, 1)``;
  integer columns are rounded back to integers;
- every other column (categorical, text, boolean, datetime): copied from the base row.

The new rows are ``augmented``: transformations of real rows, at the depth of their
sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


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

    Returns:
        The new rows (user columns only) and, for each, the positions in ``rows`` of its
        base row and its neighbour (shape ``(n, 2)``), so callers can carry provenance.
    """
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    numeric = [
        c for c in rows.columns
        if c != label_column and pd.api.types.is_numeric_dtype(rows[c]) and not pd.api.types.is_bool_dtype(rows[c])
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
            interpolated = values[base] + step * (values[partner] - values[base])
            for index, column in enumerate(numeric):
                column_values = interpolated[:, index]
                if pd.api.types.is_integer_dtype(rows[column]):
                    column_values = np.round(column_values)
                made[column] = pd.Series(column_values).astype(rows[column].dtype)
        new_parts.append(made)
        sources.append(np.column_stack([positions[base], positions[partner]]))
    if not new_parts:
        return rows.iloc[0:0].reset_index(drop=True), np.zeros((0, 2), dtype=int)
    return pd.concat(new_parts, ignore_index=True), np.concatenate(sources)


def _standardized(values: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-variance columns with missing values at the mean (a constant column
    when there are no numeric features, so every row is equally near)."""
    if values.shape[1] == 0:
        return np.zeros((len(values), 1))
    filled = np.where(np.isnan(values), np.nanmean(values, axis=0), values)
    scale = filled.std(axis=0)
    return (filled - filled.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
