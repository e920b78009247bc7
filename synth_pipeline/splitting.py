"""Deterministic, stratified holdout split keyed on row content."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synth_pipeline.errors import DataSourceError
from synth_pipeline.provenance import ROW_HASH_COLUMN


def mix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: turns (hash XOR seed) into a well-spread score."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def class_labels(labels: pd.Series) -> pd.Series:
    """Labels as the split groups them: by their text (``1`` and ``"1"`` are one class)."""
    return labels.astype("string").fillna("<null>")


def holdout_mask(
    frame: pd.DataFrame, *, label_column: str, fraction: float, seed: int
) -> np.ndarray:
    """Choose the holdout rows: stratified by label, deterministic, order-independent.

    Within each class the distinct content hashes are ranked by a seeded score and the
    first ``round(fraction * n_distinct)`` go to the holdout. Keying on content rather
    than position means the split does not depend on row order, and duplicate rows
    always land on the same side, so no holdout record can leak into training as its
    own twin.

    Args:
        frame: Tagged rows (needs ``_sp_row_hash`` and the label column).
        label_column: The column to stratify on.
        fraction: Share of each class that goes to the holdout, in (0, 1).
        seed: Changes which rows are chosen.

    Returns:
        A boolean array, True for holdout rows.
    """
    if not 0.0 < fraction < 1.0:
        raise DataSourceError(f"holdout fraction must be in (0, 1), got {fraction}")
    if label_column not in frame.columns:
        raise DataSourceError(f"label column {label_column!r} not found in the data")
    hashes = frame[ROW_HASH_COLUMN].to_numpy(dtype=np.uint64)
    scores = mix64(hashes ^ mix64(np.array([seed], dtype=np.uint64))[0])
    mask = np.zeros(len(frame), dtype=bool)
    labels = class_labels(frame[label_column]).to_numpy()
    for label in np.unique(labels):
        in_class = labels == label
        distinct, first_index = np.unique(hashes[in_class], return_index=True)
        n_holdout = int(round(fraction * len(distinct)))
        chosen = distinct[np.argsort(scores[in_class][first_index], kind="stable")[:n_holdout]]
        mask |= in_class & np.isin(hashes, chosen)
    return mask


def check_labels(frame: pd.DataFrame, label_column: str, *, source: str) -> None:
    """Check the label column: present, a value in every row, at least two classes.

    Raises:
        DataSourceError: The column is missing, some or all rows have no label, or
            every row has the same label.
    """
    if label_column not in frame.columns:
        raise DataSourceError(
            f"label column {label_column!r} not in {source} (columns: {[str(c) for c in frame.columns][:20]}); "
            "set label_column in the pipeline spec to the column holding the class"
        )
    missing = int(frame[label_column].isna().sum())
    if missing == len(frame):
        raise DataSourceError(
            f"label column {label_column!r} of {source} is empty in all {missing} rows; set label_column in the "
            "pipeline spec to the column holding the class, or fill in the labels"
        )
    if missing:
        raise DataSourceError(
            f"{missing} of {len(frame)} rows of {source} have no {label_column!r} label; drop or fill them before "
            "ingestion"
        )
    if frame[label_column].nunique() < 2:
        raise DataSourceError(
            f"label column {label_column!r} of {source} has a single class in all {len(frame)} rows; a classifier "
            "needs at least two: add rows of the other classes, or check label_column names the class label"
        )


def min_rows_per_class(fraction: float) -> int:
    """The fewest distinct rows a class needs so that both the holdout and training get one."""
    # Both sides need about half a row's share: n >= 0.5 / fraction and n >= 0.5 / (1 - fraction).
    rows = max(2, math.floor(max(0.5 / fraction, 0.5 / (1 - fraction))) - 1)
    while not 1 <= int(round(fraction * rows)) <= rows - 1:
        rows += 1
    return rows


def check_holdout_split(frame: pd.DataFrame, *, label_column: str, fraction: float, source: str) -> None:
    """Check that :func:`holdout_mask` gives every class rows on both sides of the split.

    Classes are named by number (``class #i`` in sorted label order), never by value.

    Args:
        frame: Tagged rows (needs ``_sp_row_hash`` and the label column).
        label_column: The column the split is stratified on.
        fraction: The holdout fraction.
        source: Where the data came from, quoted in the error.

    Raises:
        DataSourceError: A class has too few distinct rows to seal some as holdout and
            keep some for training.
    """
    # How many rows each class seals does not depend on the seed, only which ones.
    sealed = holdout_mask(frame, label_column=label_column, fraction=fraction, seed=0)
    rows = pd.DataFrame({"label": class_labels(frame[label_column]), "hash": frame[ROW_HASH_COLUMN].to_numpy(),
                         "sealed": sealed})
    per_class = rows.groupby("label", sort=True).agg(distinct=("hash", "nunique"), sealed=("sealed", "sum"),
                                                    size=("sealed", "size"))
    small = [(index, int(row.distinct)) for index, row in enumerate(per_class.itertuples(), 1)
             if row.sealed == 0 or row.sealed == row.size]
    if not small:
        return
    if len(per_class) > len(frame) / 2:
        raise DataSourceError(
            f"label column {label_column!r} of {source} looks continuous ({len(per_class)} distinct labels in "
            f"{len(frame)} rows, most of them too rare to split): label_column must name a class label, not a "
            "continuous value; bin it into classes first, or set label_column to the class column"
        )
    needed = min_rows_per_class(fraction)
    shown = ", ".join(f"#{index} ({count} distinct row{'s' if count != 1 else ''})" for index, count in small[:10])
    more = f" and {len(small) - 10} more" if len(small) > 10 else ""
    raise DataSourceError(
        f"{source}: class(es) {shown}{more} of {len(per_class)} (numbered in sorted label order) are too small to "
        f"split: sealing {fraction:.0%} of each class as the holdout needs at least {needed} distinct rows per "
        "class, so that the holdout and training both get some. Add rows of those classes, merge or drop them, "
        "or change holdout_fraction in the pipeline spec"
    )
