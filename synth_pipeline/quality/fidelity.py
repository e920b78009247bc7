"""Fidelity: how closely generated rows follow the real rows they were made from.

Two views, both against the real rows the generator was fitted on:

- **SDMetrics quality report** (single table): column shapes (KS complement for numbers,
  TV complement for categories) and column-pair trends (correlation similarity,
  contingency similarity). Every column pair counts, not only strongly related ones
  (SDMetrics by default ignores pairs whose real association is weak; that can leave
  the pair score undefined on small tables). Numeric pairs are computed in one pass
  (:mod:`synth_pipeline.quality.pair_trends`, same figures). Pair trends cost time per pair and row, so
  on wide or long tables both sides are subsampled (seeded) to keep ``pairs x rows`` within the
  policy's ``fidelity_pair_row_budget`` (default :data:`PAIR_ROW_BUDGET`): the generated rows
  scored, and the real reference rows (the score and its control compare with the same real
  sample, so the control's bound covers the sampling too); the metadata says how many rows of each were used.
- **Adversarial validation**: a classifier (the default downstream model) learns to
  tell real from generated rows; the figure is its cross-validated ROC AUC. 0.5 means
  indistinguishable, 1.0 means every generated row is recognisable.

Both figures are estimates, and on a few dozen rows chance alone moves them a lot, so
each comes with a one-sided 95 % bound that the fidelity check compares with the policy:

- the quality score's bound comes from a **control** (:func:`control_quality_score`): a
  same-size sample of real rows the generator never saw (the sealed holdout), scored
  against the same fit input. Its shortfall from 1 is what chance and real-data
  variability alone cost at this sample size: real wine rows (sklearn, 107-row fit
  input) score 0.45-0.50 with 2 rows, 0.69-0.79 with 10, 0.83-0.87 with 30 and 0.90
  with 71, against a limit of 0.7. The upper bound is ``min(1, score + (1 - control))``:
  the generator fails only on a shortfall beyond the one real rows show. A control
  was preferred to a bootstrap over generated rows because the small-sample shortfall
  is a bias (a KS distance of n rows is about 0.87 / sqrt(n) even for a perfect sample),
  which a bootstrap of the same rows reproduces instead of removing; and it costs one
  more report, on at most as many rows as the scored sample, instead of dozens.
- the adversarial AUC's lower bound is the Hanley & McNeil (1982) bound
  (:func:`synth_pipeline.quality.privacy.auc_with_lower_bound`) on the pooled
  out-of-fold probabilities.

SDMetrics and scikit-learn are imported inside the functions.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.provenance import user_columns

PAIR_ROW_BUDGET = 5_000_000
MIN_SUBSAMPLE_ROWS = 1_000
ADVERSARIAL_MAX_ROWS = 20_000
ADVERSARIAL_FOLDS = 3


def sdmetrics_metadata(
    frame: pd.DataFrame, columns: list[str], label_column: str, categorical: Collection[str] = ()
) -> dict[str, Any]:
    """SDMetrics single-table metadata: numbers are numerical, datetimes datetime, the rest categorical.

    The label and the ``categorical`` columns (numbers that hold categories: flags, codes; see
    :mod:`synth_pipeline.categorical_columns`) are categorical whatever their dtype: their shape is
    scored by the TV complement, not by a Kolmogorov-Smirnov distance between codes.
    """
    described = {}
    categorical = set(categorical)
    for column in columns:
        values = frame[column]
        if column == label_column or column in categorical or pd.api.types.is_bool_dtype(values):
            sdtype = "categorical"
        elif pd.api.types.is_datetime64_any_dtype(values):
            sdtype = "datetime"
        elif pd.api.types.is_numeric_dtype(values):
            sdtype = "numerical"
        else:
            sdtype = "categorical"
        described[column] = {"sdtype": sdtype}
    return {"columns": described}


def subsample_rows(rows: int, columns: int, budget: int = PAIR_ROW_BUDGET) -> int:
    """Rows to use so that column pairs x rows stays within ``budget`` (at least :data:`MIN_SUBSAMPLE_ROWS`)."""
    pairs = max(columns * (columns - 1) // 2, 1)
    return min(rows, max(MIN_SUBSAMPLE_ROWS, budget // pairs))


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
        real_rows_used: Real (reference) rows the report was computed on: a seeded sample of
            the same size cap (:func:`subsample_rows`), so the report's cost does not grow
            with the real table (the control is scored against the same sample).
        per_pair: ``"<column> ~ <column>"`` -> column-pair score, for the pairs SDMetrics scored.
    """

    score: float
    column_shapes: float
    column_pair_trends: float
    per_column: dict[str, float] = field(default_factory=dict)
    synthetic_rows_used: int = 0
    subsampled: bool = False
    real_rows_used: int = 0
    per_pair: dict[str, float] = field(default_factory=dict)

    def lowest(self, count: int = 3) -> str:
        """The ``count`` lowest column-shape and column-pair scores, named inline (e.g. ``column shapes
        zip 0.61, age 0.83; column pairs age ~ income 0.55``), so an evidence line says where the
        generated rows differ without pointing at metadata; "" when nothing was scored."""
        parts = []
        for what, scores in (("column shapes", self.per_column), ("column pairs", self.per_pair)):
            finite = sorted((score, name) for name, score in scores.items() if np.isfinite(score))
            if finite:
                parts.append(f"{what} " + ", ".join(f"{name} {score:.2f}" for score, name in finite[:count]))
        return "; ".join(parts)

    @property
    def undefined(self) -> str | None:
        """Why the score is undefined (no column in common, nothing SDMetrics could score), or None."""
        if not self.per_column:
            return "no column in common between the generated rows and the real fit input"
        if not np.isfinite(self.score):
            return "SDMetrics could score no column shape or column pair on these rows"
        return None


def quality_score(
    real: pd.DataFrame, synthetic: pd.DataFrame, *, label_column: str, seed: int = 0, rows: int | None = None,
    pair_row_budget: int = PAIR_ROW_BUDGET, categorical: Collection[str] = (),
) -> QualityScore:
    """SDMetrics quality report of ``synthetic`` against ``real`` over their common user columns.

    With one column there are no pairs, and the score is the column-shape score
    (SDMetrics averages the properties it could compute).

    Args:
        real: The real rows (the fit input).
        synthetic: The rows scored.
        label_column: The class label (scored as categorical); "" for none (a regression label, scored as a number).
        seed: Seed of the subsample.
        rows: Score a random sample of this many rows (default: as many as
            :func:`subsample_rows` allows).
        pair_row_budget: Column pairs x rows each side is sampled to (policy
            ``fidelity_pair_row_budget``).
        categorical: Numeric columns scored as categories (see :func:`sdmetrics_metadata`).
    """
    columns = [c for c in user_columns(synthetic) if c in real.columns]
    if not columns or len(synthetic) == 0:
        return QualityScore(float("nan"), float("nan"), float("nan"))
    cap = subsample_rows(len(synthetic), len(columns), pair_row_budget)
    used = min(len(synthetic), cap if rows is None else rows)
    sample = synthetic if used == len(synthetic) else synthetic.sample(used, random_state=seed)
    real = _reference_sample(real, len(columns), seed, pair_row_budget)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the single-table report's deprecation notice
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        report.real_correlation_threshold = 0
        report.real_association_threshold = 0
        _batch_numeric_pairs(report)
        report.generate(
            real[columns].reset_index(drop=True), sample[columns].reset_index(drop=True),
            sdmetrics_metadata(real, columns, label_column, categorical), verbose=False,
        )
    properties = report.get_properties().set_index("Property")["Score"]
    shapes = report.get_details("Column Shapes")
    return QualityScore(
        per_pair=_pair_scores(report),
        score=float(report.get_score()),
        column_shapes=float(properties.get("Column Shapes", np.nan)),
        column_pair_trends=float(properties.get("Column Pair Trends", np.nan)),
        per_column={str(c): float(s) for c, s in zip(shapes["Column"], shapes["Score"], strict=True)},
        synthetic_rows_used=used,
        subsampled=used < len(synthetic),
        real_rows_used=len(real),
    )


def _pair_scores(report: Any) -> dict[str, float]:
    """``"<column> ~ <column>"`` -> score of each column pair the report scored ({} without pairs)."""
    pairs = report.get_details("Column Pair Trends")
    if not isinstance(pairs, pd.DataFrame) or pairs.empty or not {"Column 1", "Column 2", "Score"} <= set(pairs):
        return {}
    return {f"{first} ~ {second}": float(score)
            for first, second, score in zip(pairs["Column 1"], pairs["Column 2"], pairs["Score"], strict=True)}


def _reference_sample(real: pd.DataFrame, columns: int, seed: int, budget: int) -> pd.DataFrame:
    """The real rows the report compares with: all of them up to :func:`subsample_rows`'s cap, else a
    seeded sample of that size (the same sample for the score and its control, which share ``seed``)."""
    cap = subsample_rows(len(real), columns, budget)
    return real if len(real) <= cap else real.sample(cap, random_state=seed)


def _batch_numeric_pairs(report: Any) -> None:
    """Have ``report`` score its numeric column pairs in one pass (same figures; see
    :mod:`synth_pipeline.quality.pair_trends`). Left as SDMetrics made it where its layout differs."""
    from synth_pipeline.quality.pair_trends import BatchedColumnPairTrends

    properties = getattr(report, "_properties", None)
    if isinstance(properties, dict) and type(properties.get("Column Pair Trends")).__name__ == "ColumnPairTrends":
        properties["Column Pair Trends"] = BatchedColumnPairTrends()


def control_quality_score(
    real: pd.DataFrame, holdout: pd.DataFrame, rows: int, *, label_column: str, seed: int = 0,
    pair_row_budget: int = PAIR_ROW_BUDGET, categorical: Collection[str] = (),
) -> QualityScore:
    """The quality score of ``rows`` real rows the generator never saw, against the same fit input.

    The control of the quality score (see module docs): how far below 1 a sample of
    this size scores by chance. ``rows`` is capped at the holdout's size; a smaller
    control shows a larger shortfall, which makes the bound more lenient, never stricter.

    Args:
        real: The fit input the generated rows were scored against.
        holdout: Real rows no generator saw (the sealed holdout).
        rows: The generated rows the score was computed on (``synthetic_rows_used``).
        label_column: The class label.
        seed: Seed of the holdout sample.
        pair_row_budget: As for :func:`quality_score` (the same real sample is then used).
        categorical: As for :func:`quality_score`.
    """
    columns = [c for c in user_columns(holdout) if c in real.columns]
    return quality_score(real, holdout[columns], label_column=label_column, seed=seed, rows=min(rows, len(holdout)),
                         pair_row_budget=pair_row_budget, categorical=categorical)


def quality_upper_bound(score: float, control: float) -> float:
    """The quality score with the control's shortfall added back, capped at 1 (see module docs)."""
    return float(min(1.0, score + max(0.0, 1.0 - control)))


@dataclass(frozen=True)
class AdversarialScore:
    """Cross-validated ROC AUC of a real-vs-generated classifier, its bound, and the rows it saw.

    Attributes:
        auc: ROC AUC of the out-of-fold probabilities (NaN with fewer than 2 rows a side).
        real_rows: Real rows used.
        synthetic_rows: Generated rows used.
        folds: Cross-validation folds (0 when not computed).
        auc_lower_bound: One-sided 95 % lower bound (Hanley & McNeil 1982).
    """

    auc: float
    real_rows: int
    synthetic_rows: int
    folds: int
    auc_lower_bound: float = float("nan")

    @property
    def undefined(self) -> str | None:
        """Why the AUC is undefined (fewer than 2 rows on a side), or None."""
        if self.folds < 2:
            return (f"fewer than 2 rows on a side (real {self.real_rows}, generated {self.synthetic_rows}): "
                    "no classifier can be cross-validated")
        return None


def adversarial_auc(real: pd.DataFrame, synthetic: pd.DataFrame, *, seed: int = 0,
                    max_rows: int = ADVERSARIAL_MAX_ROWS) -> AdversarialScore:
    """Train the default classifier to tell ``real`` from ``synthetic`` rows; its CV ROC AUC and bound.

    Each side is sampled to at most ``max_rows`` rows (policy ``adversarial_sample_rows``). The AUC is
    computed on the pooled out-of-fold probabilities, with ties counting one half (as
    scikit-learn's ``roc_auc_score``).
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from synth_pipeline.modeling import as_model_input, default_classifier, feature_columns, model_threads

    columns = [c for c in user_columns(synthetic) if c in real.columns]
    sides = [frame[columns] if len(frame) <= max_rows
             else frame[columns].sample(max_rows, random_state=seed) for frame in (real, synthetic)]
    folds = min(ADVERSARIAL_FOLDS, len(sides[0]), len(sides[1]))
    if folds < 2 or not columns:
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
    from synth_pipeline.quality.privacy import auc_with_lower_bound

    auc, lower = auc_with_lower_bound(probabilities[is_synthetic == 1], probabilities[is_synthetic == 0])
    return AdversarialScore(auc, len(sides[0]), len(sides[1]), folds, lower)
