"""The scores synth-pipeline reports and compares, defined once.

- classification: accuracy, balanced accuracy (primary), macro F1 and ROC AUC
  (scikit-learn's ``sklearn.metrics``);
- regression: R² (primary), MAE and RMSE, in label units;
- the utility ratio TSTR / TRTR (train on synthetic, test on real / train on real, test on
  real; Esteban et al. 2017), for both tasks.
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


def tstr_trtr_ratio(on_generated: float, on_real: float) -> float:
    """The utility ratio ``max(TSTR, 0) / TRTR``; NaN when either is NaN or TRTR <= 0.

    The one definition of the ratio for both tasks: for balanced accuracy (never negative)
    it is the plain quotient, NaN when TRTR is 0; for R² TSTR is clipped at 0 and a TRTR
    R² at or below 0 leaves it undefined.
    """
    if math.isnan(on_generated) or math.isnan(on_real) or on_real <= 0:
        return float("nan")
    return float(max(on_generated, 0.0) / on_real)
