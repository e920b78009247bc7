"""Fidelity: how closely generated rows follow the real rows they were made from.

Two views, both against the real rows the generator was fitted on:

- **SDMetrics quality report** (single table): column shapes (KS complement for numbers,
  TV complement for categories) and column-pair trends (correlation similarity,
  contingency similarity). Every column pair counts, not only strongly related ones
  (SDMetrics by default ignores pairs whose real association is weak; that can leave
  the pair score undefined on small tables). Pair trends cost time per pair and row, so
  on wide tables the synthetic side is subsampled to keep ``pairs x rows`` within
  :data:`PAIR_ROW_BUDGET`; the metadata says when and how far.
- **Adversarial validation**: a classifier (the default downstream model) learns to
  tell real from generated rows; the figure is its cross-validated ROC AUC. 0.5 means
  indistinguishable, 1.0 means every generated row is recognisable.

SDMetrics and scikit-learn are imported inside the functions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.provenance import user_columns

PAIR_ROW_BUDGET = 5_000_000
MIN_SUBSAMPLE_ROWS = 1_000
ADVERSARIAL_MAX_ROWS = 20_000
ADVERSARIAL_FOLDS = 3


def sdmetrics_metadata(frame: pd.DataFrame, columns: list[str], label_column: str) -> dict[str, Any]:
    """SDMetrics single-table metadata: numbers are numerical, datetimes datetime, the rest categorical."""
    described = {}
    for column in columns:
        values = frame[column]
        if column == label_column or pd.api.types.is_bool_dtype(values):
            sdtype = "categorical"
        elif pd.api.types.is_datetime64_any_dtype(values):
            sdtype = "datetime"
        elif pd.api.types.is_numeric_dtype(values):
            sdtype = "numerical"
        else:
            sdtype = "categorical"
        described[column] = {"sdtype": sdtype}
    return {"columns": described}


def subsample_rows(rows: int, columns: int) -> int:
    """Synthetic rows to use so that column pairs x rows stays within :data:`PAIR_ROW_BUDGET`."""
    pairs = max(columns * (columns - 1) // 2, 1)
    return min(rows, max(MIN_SUBSAMPLE_ROWS, PAIR_ROW_BUDGET // pairs))


@dataclass(frozen=True)
class QualityScore:
    """SDMetrics quality report figures.

    Attributes:
        score: Overall score, the mean of the two properties (0-1, higher is better).
        column_shapes: Mean column-shape score.
        column_pair_trends: Mean column-pair score (NaN with fewer than two columns).
        per_column: Column -> column-shape score.
        synthetic_rows_used: Synthetic rows the report was computed on.
        subsampled: Whether that is fewer than the dataset holds.
    """

    score: float
    column_shapes: float
    column_pair_trends: float
    per_column: dict[str, float] = field(default_factory=dict)
    synthetic_rows_used: int = 0
    subsampled: bool = False


def quality_score(real: pd.DataFrame, synthetic: pd.DataFrame, *, label_column: str, seed: int = 0) -> QualityScore:
    """SDMetrics quality report of ``synthetic`` against ``real`` over their common user columns."""
    columns = [c for c in user_columns(synthetic) if c in real.columns]
    used = subsample_rows(len(synthetic), len(columns))
    sample = synthetic if used == len(synthetic) else synthetic.sample(used, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the single-table report's deprecation notice
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        report.real_correlation_threshold = 0
        report.real_association_threshold = 0
        report.generate(
            real[columns].reset_index(drop=True), sample[columns].reset_index(drop=True),
            sdmetrics_metadata(real, columns, label_column), verbose=False,
        )
    properties = report.get_properties().set_index("Property")["Score"]
    shapes = report.get_details("Column Shapes")
    return QualityScore(
        score=float(report.get_score()),
        column_shapes=float(properties.get("Column Shapes", np.nan)),
        column_pair_trends=float(properties.get("Column Pair Trends", np.nan)),
        per_column={str(c): float(s) for c, s in zip(shapes["Column"], shapes["Score"], strict=True)},
        synthetic_rows_used=used,
        subsampled=used < len(synthetic),
    )


@dataclass(frozen=True)
class AdversarialScore:
    """Cross-validated ROC AUC of a real-vs-generated classifier, and the rows it saw."""

    auc: float
    real_rows: int
    synthetic_rows: int
    folds: int


def adversarial_auc(real: pd.DataFrame, synthetic: pd.DataFrame, *, seed: int = 0) -> AdversarialScore:
    """Train the default classifier to tell ``real`` from ``synthetic`` rows; its CV ROC AUC.

    Each side is sampled to at most :data:`ADVERSARIAL_MAX_ROWS` rows.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from synth_pipeline.modeling import as_model_input, default_classifier, feature_columns, model_threads

    columns = [c for c in user_columns(synthetic) if c in real.columns]
    sides = [frame[columns] if len(frame) <= ADVERSARIAL_MAX_ROWS
             else frame[columns].sample(ADVERSARIAL_MAX_ROWS, random_state=seed) for frame in (real, synthetic)]
    folds = min(ADVERSARIAL_FOLDS, len(sides[0]), len(sides[1]))
    if folds < 2:
        return AdversarialScore(float("nan"), len(sides[0]), len(sides[1]), 0)
    data = pd.concat(sides, ignore_index=True)
    is_synthetic = np.r_[np.zeros(len(sides[0])), np.ones(len(sides[1]))]
    categorical, numeric = feature_columns(data, label_column="\x00none")
    classifier = default_classifier(categorical, numeric, seed)
    with model_threads(len(data)):
        probabilities = cross_val_predict(
            classifier, as_model_input(data, categorical), is_synthetic,
            cv=StratifiedKFold(folds, shuffle=True, random_state=seed), method="predict_proba",
        )[:, 1]
    return AdversarialScore(float(roc_auc_score(is_synthetic, probabilities)), len(sides[0]), len(sides[1]), folds)
