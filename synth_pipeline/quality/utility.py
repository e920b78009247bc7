"""Utility: does a generated dataset train as good a model as the real data it came from?

The pipeline's own downstream model (spec ``model.factory``) is trained twice and scored
on the sealed real holdout:

- **TRTR** (train on real, test on real): on the real rows the generator was fitted on;
- **TSTR** (train on synthetic, test on real): on the generated rows.

For augmentation, which adds rows to some classes only and cannot train a model on its
own, the second model is trained on the real rows plus the augmented ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from synth_pipeline.modeling import score_classifier, train_classifier

PRIMARY_METRIC = "balanced_accuracy"


@dataclass(frozen=True)
class UtilityScore:
    """Both scores (the primary metric) on the holdout, and their ratio."""

    trained_on_generated: float
    trained_on_real: float
    ratio: float
    generated_rows: int
    real_rows: int
    holdout_rows: int
    metric: str = PRIMARY_METRIC


def _score(training: pd.DataFrame, holdout: pd.DataFrame, *, label_column: str, factory: str, seed: int) -> float:
    if training[label_column].nunique() < 2:
        return float("nan")
    model = train_classifier(training, label_column=label_column, factory=factory, seed=seed)
    return score_classifier(model, holdout, label_column=label_column)[PRIMARY_METRIC]


def utility_scores(
    generated: pd.DataFrame,
    real: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    label_column: str,
    factory: str,
    seed: int,
    with_real: bool = False,
) -> UtilityScore:
    """TSTR and TRTR of the same model on ``holdout``.

    Args:
        generated: The generated rows.
        real: The real rows the generator was fitted on.
        holdout: The sealed real holdout.
        label_column: The class label.
        factory: The model factory (``"module:function"``).
        seed: Model seed.
        with_real: Train the second model on ``real`` plus ``generated`` (for augmentation).
    """
    second = pd.concat([real, generated], ignore_index=True) if with_real else generated
    on_generated = _score(second, holdout, label_column=label_column, factory=factory, seed=seed)
    on_real = _score(real, holdout, label_column=label_column, factory=factory, seed=seed)
    ratio = on_generated / on_real if on_real and not math.isnan(on_real) else float("nan")
    return UtilityScore(
        trained_on_generated=on_generated, trained_on_real=on_real, ratio=ratio,
        generated_rows=len(generated), real_rows=len(real), holdout_rows=len(holdout),
    )
