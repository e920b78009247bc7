"""The scores synth-pipeline reports and compares, defined once.

- classification: accuracy, balanced accuracy (primary), macro F1 and ROC AUC
  (scikit-learn's ``sklearn.metrics``);
- regression: R² (primary), MAE and RMSE, in label units;
- the utility ratio TSTR / TRTR (train on synthetic, test on real / train on real, test on
  real; Esteban et al. 2017), for both tasks, and the same ratio on skill above chance
  (:func:`tstr_trtr_skill_ratio`).

**Chance** (:func:`chance_score`): the primary score of a model that learned nothing. For
balanced accuracy it is ``1 / k`` for the ``k`` classes of the scored rows (a constant or
random prediction gets it; ``sklearn.metrics.balanced_accuracy_score(adjusted=True)``
rescales by the same level); for R² it is 0 (predicting the mean).
"""

from __future__ import annotations

import math

CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc")
"""Scores of a classifier on the sealed holdout."""
PRIMARY_METRIC = "balanced_accuracy"
"""The primary score of a classification label (the TSTR / TRTR ratio is taken on it)."""
REGRESSION_METRICS = ("r2", "mae", "rmse")
"""Scores of a regressor on the holdout: R² (primary), mean absolute and root mean squared error (label units)."""
REGRESSION_PRIMARY_METRIC = "r2"
"""The primary score of a regression label."""
METRIC_NAMES = {"balanced_accuracy": "balanced accuracy", "r2": "R²", "f1_macro": "macro F1", "roc_auc": "ROC AUC",
                "mae": "MAE", "rmse": "RMSE"}
"""How a page names each score (the stored evaluation names it by its key, e.g. ``r2``)."""


def metric_name(metric: str) -> str:
    """A score's name for people: ``r2`` -> ``R²``, ``balanced_accuracy`` -> ``balanced accuracy``."""
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def tstr_trtr_ratio(on_generated: float, on_real: float) -> float:
    """The utility ratio ``max(TSTR, 0) / TRTR``; NaN when either is NaN or TRTR <= 0.

    The one definition of the ratio for both tasks: for balanced accuracy (never negative)
    it is the plain quotient, NaN when TRTR is 0; for R² TSTR is clipped at 0 and a TRTR
    R² at or below 0 leaves it undefined.
    """
    if math.isnan(on_generated) or math.isnan(on_real) or on_real <= 0:
        return float("nan")
    return float(max(on_generated, 0.0) / on_real)


def chance_score(metric: str, classes: int | None = None) -> float:
    """The ``metric`` score of a model that learned nothing (see the module docs).

    Args:
        metric: :data:`PRIMARY_METRIC` (balanced accuracy) or :data:`REGRESSION_PRIMARY_METRIC` (R²).
        classes: Classes among the scored rows' labels (balanced accuracy only).

    Returns:
        ``1 / classes`` for balanced accuracy, 0 for R²; NaN without classes.
    """
    if metric == REGRESSION_PRIMARY_METRIC:
        return 0.0
    return 1.0 / classes if classes else float("nan")


def tstr_trtr_skill_ratio(on_generated: float, on_real: float, chance: float) -> float:
    """TSTR / TRTR on skill above chance: ``(max(TSTR, chance) - chance) / (TRTR - chance)``.

    The share of the real-trained model's gain over chance that the generated-data model
    keeps (1: all of it, 0: none). NaN when a figure is NaN or TRTR is not above chance. For
    R² (chance 0) it equals :func:`tstr_trtr_ratio`; for balanced accuracy it is that ratio
    with chance taken out of both scores, so a model at chance scores 0 however weak the
    real-trained one is (on a binary label a model at chance has the plain ratio ``0.5 / TRTR``).
    """
    if math.isnan(on_generated) or math.isnan(on_real) or math.isnan(chance) or on_real <= chance:
        return float("nan")
    return float((max(on_generated, chance) - chance) / (on_real - chance))
