"""Deterministic, stratified holdout split keyed on row content."""

from __future__ import annotations

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
    labels = frame[label_column].astype("string").fillna("<null>").to_numpy()
    for label in np.unique(labels):
        in_class = labels == label
        distinct, first_index = np.unique(hashes[in_class], return_index=True)
        n_holdout = int(round(fraction * len(distinct)))
        chosen = distinct[np.argsort(scores[in_class][first_index], kind="stable")[:n_holdout]]
        mask |= in_class & np.isin(hashes, chosen)
    return mask
