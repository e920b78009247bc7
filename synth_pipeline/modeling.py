"""The downstream model: training on a generation's mix and scoring on the real holdout.

scikit-learn is imported inside the functions, so loading definitions stays fast.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synth_pipeline.metrics import REGRESSION_METRICS
from synth_pipeline.provenance import user_columns
from synth_pipeline.sources import import_object

if TYPE_CHECKING:
    from synth_pipeline.model_cache import ModelCache

# Below this many rows, one OpenMP thread is faster: scikit-learn's histogram boosting
# otherwise spends most of a tiny fit waiting on its threads (10-40x slower measured on
# 2 busy cores).
SINGLE_THREAD_ROWS = 20_000


@contextmanager
def model_threads(rows: int) -> Iterator[None]:
    """Bound OpenMP while fitting or scoring: one thread below SINGLE_THREAD_ROWS rows, else the idle
    cores of those this process may use (:func:`synth_pipeline.cores.idle_cores`), never one per CPU
    of the machine, and one on a busy machine, where spinning threads cost up to ten times the work."""
    from threadpoolctl import threadpool_limits

    from synth_pipeline.cores import idle_cores

    with threadpool_limits(limits=1 if rows < SINGLE_THREAD_ROWS else idle_cores(), user_api="openmp"):
        yield


# Histogram boosting takes a categorical feature natively when its codes stay below
# max_bins (255): rarer levels beyond the 255 most frequent share one code.
MAX_CATEGORY_CODES = 255


def _categories_as_codes(categorical: list[str]) -> Any:
    """Categorical columns as integer codes (first), numeric columns passed through.

    Unknown levels at prediction become missing values, which histogram boosting sends down
    the branch it learned for missing values.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OrdinalEncoder

    codes = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                           max_categories=MAX_CATEGORY_CODES)
    return ColumnTransformer([("categorical", codes, categorical)], remainder="passthrough")


def _boosting_options(categorical: list[str], numeric: list[str], seed: int) -> dict[str, Any]:
    # min_samples_leaf=5 (sklearn's default is 20) lets the model learn from the few dozen
    # rows a small synthetic sample can have.
    mask = [True] * len(categorical) + [False] * len(numeric)
    return {"min_samples_leaf": 5, "random_state": seed, "categorical_features": mask if categorical else None}


# Hashed word n-gram features of a text column: 2**18 buckets keep collisions rare for a
# vocabulary of 100,000 uni- and bigrams at a fixed memory cost, with no fitted vocabulary.
TEXT_FEATURES = 2**18


def _text_model_input(categorical: list[str], numeric: list[str], text: Sequence[str]) -> Any:
    """Sparse features for a linear model: TF-IDF of hashed word 1-2-grams per text column
    (scikit-learn ``HashingVectorizer`` + ``TfidfTransformer``), one-hot categories, scaled numbers."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    # a bare column name (not a list) hands the vectorizer one 1-D column of strings
    from synth_pipeline.text_features import CachingHashingVectorizer

    words = [(f"text_{n}", make_pipeline(
        CachingHashingVectorizer(ngram_range=(1, 2), n_features=TEXT_FEATURES, alternate_sign=False, norm=None),
        TfidfTransformer(sublinear_tf=True)), column) for n, column in enumerate(text)]
    parts = [*words, ("categorical", OneHotEncoder(handle_unknown="ignore", min_frequency=5), categorical),
             ("numeric", make_pipeline(SimpleImputer(), StandardScaler()), numeric)]
    return ColumnTransformer([part for part in parts if len(part[2])], sparse_threshold=1.0)


def default_classifier(
    categorical: list[str], numeric: list[str], seed: int, text: Sequence[str] = ()
) -> Any:
    """Histogram gradient boosting with native categorical splits (scikit-learn); with free-text
    columns, logistic regression on TF-IDF of hashed word 1-2-grams.

    Categorical columns are integer codes that the booster splits on as categories
    (``categorical_features``) rather than one-hot columns: on 26,000 UCI Adult rows the
    same balanced accuracy (0.802 against 0.799 one-hot) in 0.6 s of CPU instead of 2.7 s,
    because it bins 14 columns instead of about 106 (issue 16, benchmarks/generation_scale.py).

    With free-text columns (:mod:`synth_pipeline.text_columns`) the features are sparse
    (hundreds of thousands of hashed n-grams), which boosting cannot take; a linear model on
    TF-IDF n-grams is the standard text-classification baseline (Joachims 1998; scikit-learn's
    "Classification of text documents using sparse features" example).

    Args:
        categorical: Categorical feature columns (text, as :func:`as_model_input` makes them).
        numeric: Numeric feature columns.
        seed: The booster's ``random_state``.
        text: Free-text feature columns (strings, missing values as "").

    Returns:
        An unfitted scikit-learn pipeline taking ``categorical + numeric + text`` columns.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    if text:
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        # liblinear, one model per class: on 6,000 reviews x 524,288 hashed features it fitted a binary label
        # in 0.35 s of CPU (lbfgs: 3.2 s) and six classes in 2.0 s (lbfgs multinomial: 29 s), balanced
        # accuracy 0.760 / 0.362 against lbfgs's 0.760 / 0.375
        linear = OneVsRestClassifier(LogisticRegression(solver="liblinear", class_weight="balanced",
                                                        random_state=seed))
        return Pipeline([("encode", _text_model_input(categorical, numeric, text)), ("classify", linear)])

    classify = HistGradientBoostingClassifier(**_boosting_options(categorical, numeric, seed))
    return Pipeline([("encode", _categories_as_codes(categorical)), ("classify", classify)])


def default_regressor(categorical: list[str], numeric: list[str], seed: int, text: Sequence[str] = ()) -> Any:
    """The regression counterpart of :func:`default_classifier` (same encoding and booster settings;
    ridge regression on the same sparse features with free-text columns).

    Used for a regression label (:mod:`synth_pipeline.task`) when the spec keeps the default
    ``model.factory``.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline

    if text:
        from sklearn.linear_model import Ridge

        return Pipeline([("encode", _text_model_input(categorical, numeric, text)), ("regress", Ridge())])

    regress = HistGradientBoostingRegressor(**_boosting_options(categorical, numeric, seed))
    return Pipeline([("encode", _categories_as_codes(categorical)), ("regress", regress)])


def feature_columns(
    frame: pd.DataFrame, label_column: str, exclude: Collection[str] = ()
) -> tuple[list[str], list[str]]:
    """Split the user feature columns (less ``exclude``, e.g. identifier and free-text columns) into
    (categorical, numeric)."""
    features = [c for c in user_columns(frame) if c != label_column and c not in exclude]
    numeric = [
        c for c in features
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    return [c for c in features if c not in numeric], numeric


def as_model_input(frame: pd.DataFrame, categorical: list[str], text: Collection[str] = ()) -> pd.DataFrame:
    """A copy of ``frame`` with categorical columns as text (missing values as ``<null>``) and free-text
    columns as strings (missing values as "")."""
    converted = frame.copy()
    for column in categorical:
        converted[column] = converted[column].astype("string").fillna("<null>").astype(object)
    for column in text:
        converted[column] = converted[column].astype("string").fillna("").astype(object)
    return converted


def model_input(estimator: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """The features a model fitted by :func:`train_classifier` takes, from ``frame``."""
    return as_model_input(frame[estimator.feature_names_], estimator.categorical_, getattr(estimator, "text_", ()))


def build_model(factory: str, categorical: list[str], numeric: list[str], seed: int, text: list[str]) -> Any:
    """``factory(categorical, numeric, seed)``, with ``text=`` when there are free-text columns.

    Raises:
        SynthPipelineError: There are free-text columns and the factory takes no ``text`` argument.
    """
    import inspect

    from synth_pipeline.errors import SynthPipelineError

    build = import_object(factory)
    if not text:
        return build(categorical, numeric, seed)
    try:
        inspect.signature(build).bind(categorical, numeric, seed, text=text)
    except TypeError:
        raise SynthPipelineError(
            f"model factory {factory} takes no `text` argument, but the data has free-text columns {text} "
            "(synth_pipeline.text_columns): add a parameter `text: list[str] = ()` that builds features for them "
            "(see synth_pipeline.modeling.default_classifier), or declare `text_columns: []` in the spec to model "
            "them as categories") from None
    return build(categorical, numeric, seed, text=text)


def train_classifier(
    training: pd.DataFrame, *, label_column: str, factory: str, seed: int, exclude: Collection[str] = (),
    text: Collection[str] = (), cache: ModelCache | None = None,
) -> Any:
    """Fit the spec's classifier on the user columns of ``training`` but ``exclude`` (identifier columns).

    Args:
        training: Rows with the label and the feature columns.
        label_column: The target.
        factory: The model factory (``module:function``).
        seed: The model's seed.
        exclude: Columns left out of the features (identifier columns).
        text: Free-text columns (:mod:`synth_pipeline.text_columns`), given to the factory as ``text=``.
        cache: Where a fit on the same features, labels, factory and seed may already be
            (:mod:`synth_pipeline.model_cache`); None fits every time.

    Returns:
        The fitted estimator, with ``feature_names_``, ``categorical_`` and ``text_`` attributes
        set so it can be scored later without the training data (:func:`model_input`).

    Raises:
        SynthPipelineError: As :func:`build_model`.
    """
    text = [c for c in text if c in training.columns and c not in exclude and c != label_column]
    categorical, numeric = feature_columns(training, label_column, [*exclude, *text])
    features = as_model_input(training[categorical + numeric + text], categorical, text)
    labels = training[label_column]

    def fit() -> Any:
        estimator = build_model(factory, categorical, numeric, seed, text)
        with model_threads(len(features)):
            estimator.fit(features, labels)
        estimator.feature_names_ = categorical + numeric + text
        estimator.categorical_ = categorical
        estimator.text_ = text
        return estimator

    if cache is None:
        return fit()
    from synth_pipeline.model_cache import fit_key

    return cache.fitted(fit_key(features, labels, factory=factory, seed=seed), fit)


def score_classifier(estimator: Any, evaluation: pd.DataFrame, *, label_column: str) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro F1 and ROC AUC of ``estimator`` on ``evaluation``.

    ROC AUC is one-vs-rest for more than two classes, and NaN where it is undefined
    (the model never saw some class).
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score

    features = model_input(estimator, evaluation)
    truth = evaluation[label_column].to_numpy()
    with model_threads(len(features)):
        predicted = estimator.predict(features)
        probabilities = _probabilities(estimator, features)
    scores = {
        "accuracy": float(accuracy_score(truth, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
        "f1_macro": float(f1_score(truth, predicted, average="macro")),
    }
    if probabilities is None:
        scores["roc_auc"] = float(np.nan)
        return scores
    try:
        classes = list(estimator.classes_)
        if len(classes) == 2:
            scores["roc_auc"] = float(roc_auc_score(truth == classes[1], probabilities[:, 1]))
        else:
            scores["roc_auc"] = float(
                roc_auc_score(truth, probabilities, multi_class="ovr", labels=classes)
            )
    except ValueError:
        scores["roc_auc"] = float(np.nan)
    return scores




def score_regressor(estimator: Any, evaluation: pd.DataFrame, *, label_column: str) -> dict[str, float]:
    """R², MAE and RMSE of ``estimator`` on ``evaluation`` (sklearn ``r2_score``, ``mean_absolute_error``, ...).

    R² is 1 for a perfect model, 0 for one that predicts the holdout's mean, negative for
    worse; MAE and RMSE are in the label's units. NaN on fewer than two rows.
    """
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    if len(evaluation) < 2:
        return dict.fromkeys(REGRESSION_METRICS, float("nan"))
    features = model_input(estimator, evaluation)
    truth = evaluation[label_column].to_numpy(dtype="float64")
    with model_threads(len(features)):
        predicted = np.asarray(estimator.predict(features), dtype="float64")
    return {
        "r2": float(r2_score(truth, predicted)),
        "mae": float(mean_absolute_error(truth, predicted)),
        "rmse": float(np.sqrt(mean_squared_error(truth, predicted))),
    }


def _probabilities(estimator: Any, features: pd.DataFrame) -> np.ndarray | None:
    """Class probabilities, or None for an estimator without ``predict_proba``."""
    return estimator.predict_proba(features) if hasattr(estimator, "predict_proba") else None

