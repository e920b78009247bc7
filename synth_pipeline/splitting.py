"""Deterministic, stratified holdout split keyed on record identity.

A record is identified by its content hash and its occurrence number among the rows
with that content (the first copy is occurrence 0, the next 1, ...). Copies of one row
are interchangeable, so numbering them in row order still gives a split whose content
(as a multiset) does not depend on row order, while each copy is placed on its own:
on a table with few distinct rows, every feature vector and label has copies on both
sides of the split in about the holdout fraction, as a random split would give.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synth_pipeline.errors import DataSourceError
from synth_pipeline.provenance import ROW_HASH_COLUMN

MANY_NUMERIC_CLASSES = 20
"""More distinct numeric labels than this, too many of them too small to split: the error suggests regression."""


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


def occurrence_numbers(keys: np.ndarray) -> np.ndarray:
    """For each row, how many earlier rows carry the same key (0 for the first copy).

    Args:
        keys: One key per row, e.g. content hashes (any hashable dtype).

    Returns:
        An ``int64`` array aligned with ``keys``.
    """
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return pd.Series(keys).groupby(keys, sort=False).cumcount().to_numpy(dtype=np.int64)


def record_keys(hashes: np.ndarray) -> np.ndarray:
    """Per-row record keys: ``mix64(row_hash ^ mix64(occurrence))``.

    Identical rows get distinct keys, so a seeded score ranks every copy independently;
    distinct rows get keys as well spread as their hashes. The keys do not depend on row
    order beyond which of several identical rows gets which key.

    Args:
        hashes: ``uint64`` content hashes (``_sp_row_hash``), one per row.

    Returns:
        A ``uint64`` array aligned with ``hashes``.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    occurrence = occurrence_numbers(hashes).astype(np.uint64)
    return mix64(hashes ^ mix64(occurrence))


def holdout_mask(
    frame: pd.DataFrame,
    *,
    label_column: str,
    fraction: float,
    seed: int,
    sealed: np.ndarray | None = None,
    trained: np.ndarray | None = None,
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """Choose the holdout rows: stratified by label, deterministic, order-independent.

    Within each class the records (see :func:`record_keys`) are ranked by a seeded score
    and the first ``round(fraction * n_rows)`` go to the holdout. Keying on records rather
    than positions means the split does not depend on row order; keying on records
    rather than content means identical rows are split like any others. (Keying on
    content would send every copy of a row, label included, to one side: on a table with
    few distinct rows the holdout would then hold, for each feature vector, labels the
    training side never saw.) Holdout isolation counts leaks as a multiset of records
    for the same reason (:mod:`synth_pipeline.isolation`).

    A source that is read again and has grown (e.g. a new file from the arrival sensor
    holding the old rows and new ones) must not move a record across the seal: a train
    record that generators have already seen would otherwise join the holdout. Pass the
    content hashes of the previous split as ``sealed`` and ``trained``: those records
    keep their side (copies matched by count), and only the new records are ranked, so
    that each class gets as close to ``fraction`` as the kept records allow.

    Args:
        frame: Tagged rows (needs ``_sp_row_hash`` and the label column).
        label_column: The column to stratify on.
        fraction: Share of each class that goes to the holdout, in (0, 1).
        seed: Changes which rows are chosen.
        sealed: Content hashes of the previous split's holdout rows (one per row), if any.
        trained: Content hashes of the previous split's train rows, if any.
        strata: What to stratify on instead of the label's classes, one value per row
            (for regression the quantile bin number of each row's label,
            :meth:`synth_pipeline.task.LabelTask.strata`); None: the classes.

    Returns:
        A boolean array, True for holdout rows.

    Raises:
        DataSourceError: ``fraction`` is outside (0, 1) or the label column is missing.
    """
    if not 0.0 < fraction < 1.0:
        raise DataSourceError(f"holdout fraction must be in (0, 1), got {fraction}")
    if label_column not in frame.columns:
        raise DataSourceError(f"label column {label_column!r} not found in the data")
    hashes = frame[ROW_HASH_COLUMN].to_numpy(dtype=np.uint64)
    keys = record_keys(hashes)
    scores = mix64(keys ^ mix64(np.array([seed], dtype=np.uint64))[0])
    kept_holdout, kept_train = _kept_sides(hashes, scores, sealed, trained)
    mask = kept_holdout.copy()
    labels = class_labels(frame[label_column]).to_numpy() if strata is None else np.asarray(strata)
    for label in np.unique(labels):
        in_class = np.flatnonzero(labels == label)
        wanted = int(round(fraction * len(in_class))) - int(kept_holdout[in_class].sum())
        new = in_class[~(kept_holdout[in_class] | kept_train[in_class])]
        chosen = new[np.argsort(scores[new], kind="stable")[:max(wanted, 0)]]
        mask[chosen] = True
    return mask


def _kept_sides(
    hashes: np.ndarray, scores: np.ndarray, sealed: np.ndarray | None, trained: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Rows that keep their side from a previous split: per content, as many copies as it had there.

    Which copies of identical rows keep a side does not matter (they are interchangeable);
    the lowest-scored ones do, so the choice does not depend on row order.
    """
    holdout = np.zeros(len(hashes), dtype=bool)
    train = np.zeros(len(hashes), dtype=bool)
    if sealed is None and trained is None:
        return holdout, train
    order = np.lexsort((scores, hashes))  # copies of a content together, lowest score first
    rank = np.empty(len(hashes), dtype=np.int64)
    rank[order] = occurrence_numbers(hashes[order])
    sealed_copies = pd.Series(np.asarray(sealed if sealed is not None else [], dtype=np.uint64)).value_counts()
    trained_copies = pd.Series(np.asarray(trained if trained is not None else [], dtype=np.uint64)).value_counts()
    in_holdout = pd.Series(hashes).map(sealed_copies).fillna(0).to_numpy(dtype=np.int64)
    in_train = pd.Series(hashes).map(trained_copies).fillna(0).to_numpy(dtype=np.int64)
    holdout[rank < in_holdout] = True
    train[(rank >= in_holdout) & (rank < in_holdout + in_train)] = True
    return holdout, train


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
    """The fewest rows a class needs so that both the holdout and training get one."""
    # Both sides need about half a row's share: n >= 0.5 / fraction and n >= 0.5 / (1 - fraction).
    rows = max(2, math.floor(max(0.5 / fraction, 0.5 / (1 - fraction))) - 1)
    while not 1 <= int(round(fraction * rows)) <= rows - 1:
        rows += 1
    return rows


def check_holdout_split(
    frame: pd.DataFrame, *, label_column: str, fraction: float, source: str, strata: np.ndarray | None = None
) -> None:
    """Check that :func:`holdout_mask` gives every class (or quantile bin) rows on both sides of the split.

    Classes are named by number (``class #i`` in sorted label order), never by value.

    Args:
        frame: Tagged rows (needs ``_sp_row_hash`` and the label column).
        label_column: The column the split is stratified on.
        fraction: The holdout fraction.
        source: Where the data came from, quoted in the error.
        strata: As for :func:`holdout_mask` (quantile bins of a regression label).

    Raises:
        DataSourceError: A class has too few rows to seal some as holdout and keep some
            for training.
    """
    # How many rows each class seals does not depend on the seed, only which ones.
    sealed = holdout_mask(frame, label_column=label_column, fraction=fraction, seed=0, strata=strata)
    groups = class_labels(frame[label_column]).to_numpy() if strata is None else np.asarray(strata)
    rows = pd.DataFrame({"label": groups, "sealed": sealed})
    # Records, not distinct contents, are split (see holdout_mask): a class of identical rows splits too.
    per_class = rows.groupby("label", sort=True).agg(sealed=("sealed", "sum"), size=("sealed", "size"))
    small = [(index, int(row.size)) for index, row in enumerate(per_class.itertuples(), 1)
             if row.sealed == 0 or row.sealed == row.size]
    if not small:
        return
    what = "class(es)" if strata is None else "quantile bin(s) of the label"
    if strata is None and len(per_class) > len(frame) / 2:
        raise DataSourceError(
            f"label column {label_column!r} of {source} looks continuous ({len(per_class)} distinct labels in "
            f"{len(frame)} rows, most of them too rare to split): label_column must name a class label, not a "
            "continuous value when task is classification: set task: regression (or task: auto) in the pipeline spec "
            "if it is a quantity to predict, bin it into classes, or set label_column to the class column"
        )
    needed = min_rows_per_class(fraction)
    shown = ", ".join(f"#{index} ({count} row{'s' if count != 1 else ''})" for index, count in small[:10])
    more = f" and {len(small) - 10} more" if len(small) > 10 else ""
    raise DataSourceError(
        f"{source}: {what} {shown}{more} of {len(per_class)} (numbered in sorted label order) are too small to "
        f"split: sealing {fraction:.0%} of each class as the holdout needs at least {needed} rows per "
        "class, so that the holdout and training both get some. Add rows of those classes, merge or drop them, "
        f"or change holdout_fraction in the pipeline spec{_quantity_hint(frame[label_column], len(per_class), strata)}"
    )


def _quantity_hint(labels: pd.Series, classes: int, strata: object) -> str:
    """A hint that a numeric label with many values may be a quantity (a trial forced ``task: classification`` on
    a float label with 419 values in 1,650 rows and got a list of small classes, not the likely fix)."""
    if strata is not None or classes <= MANY_NUMERIC_CLASSES or not pd.api.types.is_numeric_dtype(labels):
        return ""
    return (f"; with {classes} distinct numeric labels, the label may be a quantity: then set task: regression "
            "(or task: auto) in the pipeline spec")
