"""The learning task a pipeline's label implies: classification or regression.

The task is resolved once, from the spec's ``task`` and the real source's label column
(:func:`detect_task`), when the real source is ingested; it is recorded in that
materialization's metadata (``task``, ``task_rule``, ``label_bins``). Every later stage
and check resolves it again from the spec and the *stored* real source
(:func:`stored_label_task`), which gives the same answer because detection is a pure
function of the label values.

**Rule of ``task: auto``** (``rows`` = rows of the real source, ``limit`` =
``max(20, ceil(5 % of rows))``, :func:`class_limit`):

- a boolean label is classification;
- a numeric label is regression when it holds non-integer values or more than ``limit``
  distinct values; otherwise (few integer codes) classification;
- a text or categorical label is classification unless it has more than ``rows / 2``
  distinct values, which is what identifiers and free text look like; it is then refused;
- a date, time or duration label is refused (neither classes nor a quantity as stored).

**Quantile bins** (regression): the holdout is stratified on, and the per-class synthetic
budget applies per, equal-frequency bins of the label computed on the real source
(:func:`label_bin_edges`): up to :data:`MAX_BINS` bins, fewer on small data so that each
bin is expected to seal at least :data:`MIN_HOLDOUT_ROWS_PER_BIN` holdout rows. Bins are
named by number and range (``#03 [98, 140)``), never by a row's value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synth_pipeline.errors import DataSourceError

if TYPE_CHECKING:
    import dagster as dg

    from synth_pipeline.spec import SynthPipelineSpec
    from synth_pipeline.stage_files import StagePath
    from synth_pipeline.storage import DatasetStore

MAX_BINS = 10
"""Most quantile bins of a regression label."""
MIN_HOLDOUT_ROWS_PER_BIN = 5
"""Fewest holdout rows each quantile bin is expected to seal (fewer bins on small data)."""
MIN_CLASS_LIMIT = 20
"""A numeric label with at most ``max(MIN_CLASS_LIMIT, CLASS_LIMIT_SHARE x rows)`` integer values is classes."""
CLASS_LIMIT_SHARE = 0.05

DEFAULT_CLASSIFIER = "synth_pipeline.modeling:default_classifier"
DEFAULT_REGRESSOR = "synth_pipeline.modeling:default_regressor"


class Task(StrEnum):
    """What the downstream model predicts."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


@dataclass(frozen=True)
class LabelTask:
    """The resolved task of a pipeline's label.

    Attributes:
        task: Classification or regression.
        rule: Why (the declared task, or the auto rule and its evidence: distinct values vs rows).
        bin_edges: For regression, the quantile bin edges of the label on the real source
            (``k + 1`` increasing numbers for ``k`` bins, the first and last the label's
            minimum and maximum); empty for classification.
    """

    task: Task
    rule: str
    bin_edges: tuple[float, ...] = field(default=())

    @property
    def is_regression(self) -> bool:
        """Whether the label is a quantity (regression)."""
        return self.task is Task.REGRESSION

    def strata(self, labels: pd.Series) -> np.ndarray:
        """What the holdout split stratifies on: class text, or the quantile bin number of each row."""
        if not self.is_regression:
            return labels.astype("string").fillna("<null>").to_numpy()
        return bin_numbers(labels, self.bin_edges)

    def bin_names(self) -> list[str]:
        """``#01 [lo, hi)`` per bin (the last bin closed), in bin order; empty for classification."""
        return bin_names(self.bin_edges)

    def as_metadata(self) -> dict[str, object]:
        """``task``, ``task_rule`` and, for regression, ``label_bins`` (name and edges) for Dagster metadata."""
        metadata: dict[str, object] = {"task": self.task.value, "task_rule": self.rule}
        if self.is_regression:
            metadata["label_bins"] = self.bin_names()
        return metadata


def class_limit(rows: int) -> int:
    """Most distinct integer values a numeric label may have to be taken as classes: ``max(20, ceil(5 % of rows))``."""
    return max(MIN_CLASS_LIMIT, math.ceil(CLASS_LIMIT_SHARE * rows))


def detect_task(
    labels: pd.Series, declared: str = "auto", *, column: str, source: str, holdout_fraction: float = 0.2
) -> LabelTask:
    """Resolve the task of a label column (see the module docs for the ``auto`` rule).

    Args:
        labels: The label column of the real source (no missing values: checked before).
        declared: The spec's ``task``: ``auto``, ``classification`` or ``regression``.
        column: The label column's name, for messages.
        source: Where the data came from, for messages.
        holdout_fraction: The spec's holdout fraction (sets how many quantile bins fit).

    Returns:
        The task, the rule that chose it and, for regression, the quantile bin edges.

    Raises:
        DataSourceError: The label is neither usable classes nor a usable number (text
            with about one value per row, dates or durations), or ``regression`` was
            declared for a label that is not numeric. The message says what the label
            looks like, the evidence (distinct values vs rows) and the fix.
    """
    rows = len(labels)
    distinct = int(labels.nunique(dropna=True))
    evidence = f"{distinct} distinct values in {rows} rows"
    numeric = pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels)
    if pd.api.types.is_datetime64_any_dtype(labels) or pd.api.types.is_timedelta64_dtype(labels):
        raise DataSourceError(
            f"label column {column!r} of {source} holds dates, times or durations ({evidence}): neither classes to "
            "stratify nor a number to regress on. Fix: set label_column to the class or quantity to predict, or "
            "convert the column to a number (e.g. days) and set task: regression in the pipeline spec"
        )
    if declared == Task.REGRESSION.value:
        if not numeric:
            raise DataSourceError(
                f"task: regression needs a numeric label, but label column {column!r} of {source} holds "
                f"{'true/false values' if pd.api.types.is_bool_dtype(labels) else 'text'} ({evidence}). Fix: set "
                "label_column to a numeric column, convert this one to numbers, or set task: classification"
            )
        return LabelTask(Task.REGRESSION, f"declared (task: regression); {evidence}",
                         label_bin_edges(labels, holdout_fraction))
    if declared == Task.CLASSIFICATION.value:
        return LabelTask(Task.CLASSIFICATION, f"declared (task: classification); {evidence}")
    if not numeric:
        if pd.api.types.is_bool_dtype(labels) or distinct <= rows / 2:
            return LabelTask(Task.CLASSIFICATION, f"auto: non-numeric label with {evidence}")
        raise DataSourceError(
            f"label column {column!r} of {source} looks like an identifier or free text, not a class label: "
            f"{evidence} (more than half as many values as rows, so most classes hold one row and cannot be "
            "split between holdout and training), and it is not numeric, so it is no quantity to regress on "
            "either. Fix: set label_column to the column holding the class or quantity to predict, group the "
            "values into a few classes, or, if it holds numbers stored as text, convert it and set task: regression"
        )
    values = labels.to_numpy(dtype="float64")
    limit = class_limit(rows)
    fractional = bool(np.any(np.isfinite(values) & (values != np.round(values))))
    if fractional or distinct > limit:
        why = "non-integer values" if fractional else f"more than max(20, 5 % of rows) = {limit} distinct values"
        return LabelTask(Task.REGRESSION, f"auto: numeric label with {why} ({evidence})",
                         label_bin_edges(labels, holdout_fraction))
    return LabelTask(
        Task.CLASSIFICATION, f"auto: integer label with at most max(20, 5 % of rows) = {limit} distinct values "
        f"({evidence})")


def bin_count(rows: int, holdout_fraction: float) -> int:
    """Quantile bins for ``rows`` rows: up to :data:`MAX_BINS`, each expected to seal 5 holdout rows."""
    return max(1, min(MAX_BINS, math.floor(rows * holdout_fraction / MIN_HOLDOUT_ROWS_PER_BIN)))


def label_bin_edges(labels: pd.Series, holdout_fraction: float) -> tuple[float, ...]:
    """Equal-frequency bin edges of a numeric label (ties never split: repeated edges merge bins).

    Args:
        labels: The label on the real source.
        holdout_fraction: The spec's holdout fraction (see :func:`bin_count`).

    Returns:
        Increasing edges, first the minimum and last the maximum; ``(v, v)`` for a constant label.
    """
    values = labels.dropna().to_numpy(dtype="float64")
    if len(values) == 0:
        return ()
    k = bin_count(len(values), holdout_fraction)
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, k + 1)))
    if len(edges) == 1:
        edges = np.repeat(edges, 2)
    return tuple(float(e) for e in edges)


def bin_numbers(labels: pd.Series, edges: tuple[float, ...]) -> np.ndarray:
    """The 0-based bin of each value: bins are ``[e_i, e_i+1)``, the last closed; values outside go to the end bins."""
    inner = np.asarray(edges[1:-1], dtype="float64")
    return np.searchsorted(inner, labels.to_numpy(dtype="float64"), side="right").astype(np.int64)


def bin_names(edges: tuple[float, ...]) -> list[str]:
    """``#01 [lo, hi)`` per bin (the last ``[lo, hi]``); zero-padded so that names sort in bin order."""
    count = len(edges) - 1
    return [f"#{i + 1:02d} [{edges[i]:.4g}, {edges[i + 1]:.4g}{']' if i == count - 1 else ')'}" for i in range(count)]


def model_factory(factory: str, task: Task) -> str:
    """The model factory for ``task``: the default classifier becomes the default regressor for regression.

    A user factory (``ModelSpec.factory``) is used as given: it must return an estimator
    for the resolved task.
    """
    return DEFAULT_REGRESSOR if task is Task.REGRESSION and factory == DEFAULT_CLASSIFIER else factory


def primary_metric(task: Task) -> str:
    """The evaluation's and utility check's primary metric: balanced accuracy, or R² for regression."""
    from synth_pipeline.metrics import PRIMARY_METRIC, REGRESSION_PRIMARY_METRIC

    return REGRESSION_PRIMARY_METRIC if task is Task.REGRESSION else PRIMARY_METRIC


def stored_label_task(spec: SynthPipelineSpec, store: DatasetStore, source_key: dg.AssetKey) -> LabelTask:
    """The task resolved from the spec and the stored real source (the same as at its ingestion).

    Raises:
        StoredDataNotFoundError: The real source has not been materialized.
        DataSourceError: As :func:`detect_task`.
    """
    return stored_task(store, source_key, label_column=spec.label_column, declared=spec.task,
                       holdout_fraction=spec.holdout_fraction)


def stored_task(
    store: DatasetStore, source_key: dg.AssetKey, *, label_column: str, declared: str, holdout_fraction: float
) -> LabelTask:
    """The task of the label of a stored real dataset (cached per file version): see :func:`detect_task`.

    Raises:
        StoredDataNotFoundError: The dataset has not been materialized.
        DataSourceError: As :func:`detect_task`.
    """
    from synth_pipeline.stage_files import fingerprint

    path = store.parquet_path(source_key)
    size, stamp = fingerprint(path)
    return _label_task_of_file(path, stamp, size, label_column, declared, holdout_fraction)


@lru_cache(maxsize=16)
def _label_task_of_file(path: StagePath, _stamp: str, _size: int, column: str, declared: str,
                        holdout_fraction: float) -> LabelTask:
    # stamp and size are part of the cache key only: a rewritten source is read again.
    from synth_pipeline.stage_files import read_parquet

    labels = read_parquet(path, columns=[column])[column]
    return detect_task(labels, declared, column=column, source=str(path), holdout_fraction=holdout_fraction)
