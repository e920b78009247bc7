"""Adversarial fidelity of text columns: can a classifier tell generated texts from real ones?

The tabular adversarial AUC (:func:`synth_pipeline.quality.fidelity.adversarial_auc`) for
text: each text column becomes hashed word unigram and bigram counts (scikit-learn
``HashingVectorizer``, 2**18 features a column, the words of
:mod:`synth_pipeline.text.tokens`), the columns' features are stacked side by side (so the
same word in two columns is two features), then TF-IDF weighted (``TfidfTransformer``,
fitted inside each fold) and fed to an L2-regularised logistic regression (``liblinear``)
without intercept: the out-of-fold scores of the folds are pooled, and a per-fold intercept
(which follows each fold's class balance) would order them by fold, not by text; on texts
without features (all empty) it gave an AUC of 0.34 instead of 0.5.
The figure is the ROC AUC of the pooled out-of-fold scores of a stratified 3-fold
cross-validation: 0.5 means indistinguishable, 1.0 every generated text recognisable. Its
one-sided 95 % lower bound is the one the tabular AUC uses
(:func:`synth_pipeline.quality.privacy.auc_with_lower_bound`: DeLong et al. 1988 variance
from mid-ranks, which the Hanley & McNeil 1982 bound approximates).

Both sides are sampled (seeded) to the same number of texts, at most ``max_rows``
(default :data:`~synth_pipeline.quality.fidelity.ADVERSARIAL_MAX_ROWS`, 20,000): with equal
classes chance is exactly 0.5, and at 20,000 a side the AUC's standard error is at most
about 0.003. Missing values are empty texts. scikit-learn is imported inside the function.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.quality.fidelity import ADVERSARIAL_FOLDS, ADVERSARIAL_MAX_ROWS, AdversarialScore
from synth_pipeline.text.tokens import WORD_PATTERN, as_text

HASHED_FEATURES = 2**18


def _frame(texts: pd.Series | pd.DataFrame) -> pd.DataFrame:
    return texts.to_frame(name=texts.name if texts.name is not None else "text") if isinstance(texts, pd.Series) \
        else texts


def text_adversarial_auc(
    real: pd.Series | pd.DataFrame, generated: pd.Series | pd.DataFrame, *, seed: int = 0,
    max_rows: int | None = ADVERSARIAL_MAX_ROWS,
) -> AdversarialScore:
    """Cross-validated AUC of a real-vs-generated classifier on word 1-2-gram features, with its bound.

    Args:
        real: ``(r,)`` real texts, or ``(r, k)`` text columns.
        generated: ``(g,)`` generated texts, or ``(g, k)`` text columns. Two Series are compared
            whatever their names; two frames on their common columns.
        seed: Seed of the samples, the folds and the classifier.
        max_rows: Largest number of texts a side; None: no cap. Both sides use
            ``min(r, g, max_rows)`` texts.

    Returns:
        The AUC, the rows used a side, the folds (0 when fewer than 2 texts a side: the AUC
        and bound are then NaN, :attr:`AdversarialScore.undefined` says why) and the bound.

    Raises:
        ValueError: Two frames without a common column.
    """
    both_series = isinstance(real, pd.Series) and isinstance(generated, pd.Series)
    real_frame, generated_frame = _frame(real), _frame(generated)
    if both_series:
        generated_frame = generated_frame.set_axis(real_frame.columns, axis=1)
    columns = [c for c in real_frame.columns if c in generated_frame.columns]
    if not columns:
        raise ValueError("the real and generated texts have no column in common")
    rows = min(len(real_frame), len(generated_frame))
    if max_rows is not None:
        rows = min(rows, int(max_rows))
    folds = min(ADVERSARIAL_FOLDS, rows)
    if folds < 2:
        return AdversarialScore(float("nan"), rows, rows, 0)
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    from synth_pipeline.quality.privacy import auc_with_lower_bound

    sides = [frame[columns].sample(rows, random_state=seed) if len(frame) > rows else frame[columns]
             for frame in (real_frame, generated_frame)]
    data = pd.concat(sides, ignore_index=True)
    vectorizer = HashingVectorizer(n_features=HASHED_FEATURES, ngram_range=(1, 2), lowercase=True,
                                   token_pattern=WORD_PATTERN.pattern, alternate_sign=False, norm=None)
    features = hstack([vectorizer.transform([as_text(v) for v in data[column]]) for column in columns]).tocsr()
    is_generated = np.r_[np.zeros(rows), np.ones(rows)]
    classifier = make_pipeline(TfidfTransformer(sublinear_tf=True),
                               LogisticRegression(solver="liblinear", C=1.0, fit_intercept=False,
                                                  random_state=seed))
    scores = cross_val_predict(classifier, features, is_generated, method="decision_function",
                               cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    auc, lower = auc_with_lower_bound(scores[is_generated == 1], scores[is_generated == 0])
    return AdversarialScore(auc, rows, rows, folds, lower)
