"""The evaluation record the ``evaluation_on_real`` check verifies: scores of models on
the sealed real holdout, with the proof of what they were scored on.

A team's own evaluation asset builds its output with :func:`holdout_report`; the
template's evaluation stage writes the same columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import pandas as pd

from synth_pipeline.errors import ProvenanceError
from synth_pipeline.hashing import set_digest
from synth_pipeline.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS
from synth_pipeline.provenance import KIND_COLUMN, ROW_HASH_COLUMN, has_provenance, user_columns


def holdout_report(
    models: Mapping[str, tuple[Any, int]],
    holdout: pd.DataFrame,
    *,
    label_column: str,
    holdout_asset: dg.AssetKey | str,
    generation: int,
    features: Sequence[str] | None = None,
    task: str = "auto",
) -> pd.DataFrame:
    """Score fitted models on the sealed holdout, in the record ``evaluation_on_real`` verifies.

    Args:
        models: Name -> (fitted estimator from :func:`synth_pipeline.modeling.train_classifier`,
            or None when it could not be trained; rows it was trained on). Name the model
            trained on the mix ``training_mix``; ``real_only`` (TRTR) and ``synthetic_only``
            (TSTR) baselines are optional (the check refits them when absent).
        holdout: The sealed holdout as stored (with its provenance columns).
        label_column: The label.
        holdout_asset: The holdout's asset key (recorded in ``evaluated_on``).
        generation: The generation evaluated.
        features: The columns a model predicts from, for models that do not name them
            (those of :func:`~synth_pipeline.modeling.train_classifier` do); default: the
            columns a scikit-learn model was fitted on (``feature_names_in_``), else every user
            column but the label.
        task: ``auto`` (from the holdout's labels, :func:`synth_pipeline.task.detect_task`),
            ``classification`` or ``regression``.

    Returns:
        One row per model: ``trained_on``, ``train_rows``, each metric of
        :data:`~synth_pipeline.metrics.CLASSIFICATION_METRICS` (or, for regression,
        :data:`~synth_pipeline.metrics.REGRESSION_METRICS`; scikit-learn), ``evaluated_on``, ``holdout_rows``,
        ``evaluation_set_digest`` (order-independent digest of the holdout's row hashes),
        ``evaluation_set_kinds``, ``evaluation_set_rows_by_kind`` (:func:`evaluation_set_proof`)
        and ``generation``.

    Raises:
        ProvenanceError: ``holdout`` has no provenance columns (it must be the stored holdout).
    """
    from synth_pipeline.modeling import score_classifier, score_regressor
    from synth_pipeline.task import detect_task, primary_metric

    if not has_provenance(holdout):
        raise ProvenanceError("holdout_report needs the holdout as stored, with its provenance columns: take it as "
                              "an input of the evaluation asset")
    resolved = detect_task(holdout[label_column], task, column=label_column, source=str(holdout_asset)).task
    regression = resolved.value == "regression"
    score, metrics = (score_regressor, REGRESSION_METRICS) if regression else (score_classifier, CLASSIFICATION_METRICS)
    columns = list(features) if features is not None else [c for c in user_columns(holdout) if c != label_column]
    records = []
    for name, (estimator, train_rows) in models.items():
        if estimator is not None and not hasattr(estimator, "feature_names_"):
            # scikit-learn records the columns it was fitted on (feature_names_in_): those, else ``columns``
            named = getattr(estimator, "feature_names_in_", None)
            estimator = _NamedFeatures(estimator, list(named) if named is not None and features is None else columns)
        scores = (score(estimator, holdout, label_column=label_column) if estimator is not None
                  else dict.fromkeys(metrics, float("nan")))
        records.append({"trained_on": name, "train_rows": train_rows, **scores})
    report = pd.DataFrame.from_records(records)
    report["evaluated_on"] = dg.AssetKey.from_coercible(holdout_asset).to_user_string()
    report["holdout_rows"] = len(holdout)
    for column, value in evaluation_set_proof(holdout).items():
        report[column] = value
    report["generation"] = generation
    report["task"] = resolved.value
    report["primary_metric"] = primary_metric(resolved)
    return report


def evaluation_set_proof(evaluated: pd.DataFrame) -> dict[str, str]:
    """What a set of rows scored on is, for the ``evaluation_on_real`` check to verify.

    Args:
        evaluated: The rows scored on, with their provenance columns.

    Returns:
        ``evaluation_set_digest`` (order-independent digest of the row hashes, compared with
        the sealed holdout's), ``evaluation_set_kinds`` (the provenance kinds, comma-separated)
        and ``evaluation_set_rows_by_kind`` (JSON, e.g. ``{"real": 400, "synthetic": 100}``), so a
        partly generated evaluation set is named with its rows' provenance.
    """
    import json

    counts = evaluated[KIND_COLUMN].astype(str).value_counts().sort_index()
    return {"evaluation_set_digest": set_digest(evaluated[ROW_HASH_COLUMN].to_numpy()),
            "evaluation_set_kinds": ",".join(counts.index),
            "evaluation_set_rows_by_kind": json.dumps({kind: int(n) for kind, n in counts.items()})}


class _NamedFeatures:
    """A model of the user's own, told which columns it predicts from (passed as they are)."""

    def __init__(self, estimator: Any, features: list[str]) -> None:
        self.estimator, self.feature_names_, self.categorical_ = estimator, features, []
        self.classes_ = getattr(estimator, "classes_", None)
        if hasattr(estimator, "predict_proba"):
            self.predict_proba = estimator.predict_proba

    def predict(self, features: pd.DataFrame) -> Any:
        return self.estimator.predict(features)
