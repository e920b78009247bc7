"""Utility: does a generated dataset train as good a model as the real data it came from?

The pipeline's own downstream model (spec ``model.factory``) is trained twice and scored
on the sealed real holdout:

- **TRTR** (train on real, test on real): on the real rows the generator was fitted on;
- **TSTR** (train on synthetic, test on real): on the generated rows.

For augmentation, which adds rows to some classes only and cannot train a model on its
own, the second model is trained on the real rows plus the augmented ones.

**Confidence bound.** On small data the ratio TSTR / TRTR moves by tens of points from
one generation to the next with nothing changed (0.45, 0.71, 0.54 on sklearn's 178-row
wine table). Two draws make it noisy, and both are resampled:

- *the rows each model was trained on*: another draw of the same generator (or of the
  real arrivals) gives another model. Each model is refitted on ``fits - 1`` stratified
  bootstrap resamples of its training rows (every class keeps its row count); the first
  fit uses all rows and gives the point estimate. Refitting with other model seeds
  alone would not do: scikit-learn's histogram gradient boosting is deterministic
  without early stopping (below 10,000 rows).
- *the holdout rows it is scored on*: a paired bootstrap over holdout rows; each
  resample scores both models of one randomly chosen fit on the same rows.

The 95th percentile of the resampled ratios is the one-sided 95 % upper bound
(percentile bootstrap, Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993,
ch. 13); the utility check fails only when even that bound is below the policy limit.

**Undefined figures.** Where the ratio cannot be computed (a training set with one
class, a real-trained model scoring 0), :attr:`UtilityScore.undefined` names the cause
and no figure is compared.

**Not informative near chance.** The ratio compares the generated-data model with the
real-data one; when the real-data model is itself no better than chance the ratio of two
near-chance scores says nothing (a trial: TSTR 0.504, TRTR 0.539 on a binary label, ratio
0.934, "ok"). The same bootstrap gives TRTR's one-sided 95 % lower bound (5th percentile of
the resampled TRTR scores); when it is not above chance (:func:`synth_pipeline.metrics.chance_score`:
``1 / k`` balanced accuracy for the ``k`` classes of the holdout, R² 0 for regression),
:attr:`UtilityScore.not_informative` says so with the figures, and the checks warn instead
of judging (never "ok", never a block). Without a bootstrap (``fits == 1``) the point
estimate is compared.

**Skill above chance.** :attr:`UtilityScore.skill_ratio` is the ratio with chance taken out
of both scores, ``(TSTR - chance) / (TRTR - chance)``
(:func:`synth_pipeline.metrics.tstr_trtr_skill_ratio`), with its bootstrap upper bound. It is
judged in place of the plain ratio only where the plain ratio cannot tell skill from none: a
model that learned nothing scores chance, so its plain ratio is ``chance / TRTR``, which reaches
a limit of 0.7 on a binary label whenever TRTR is at most 0.714 (a new-user trial: labels sampled
independently of the features, TSTR 0.485, TRTR 0.554, ratio 0.875, "ok"; skill ratio 0,
bound 0.022). The evidence line then names the scores, the skill ratio and its bound, and why
the plain ratio is not the figure judged. Elsewhere the policy's ``min_tstr_trtr_ratio`` limits
the plain ratio, as the trust benchmark calibrated it (see the checks' ``utility_outcome``).

**Regression** (:mod:`synth_pipeline.task`). The metric is R² (``sklearn.metrics.r2_score``:
1 for a perfect model, 0 for predicting the holdout mean, negative for worse) and the
ratio has the same form, ``max(TSTR R², 0) / TRTR R²`` (:func:`tstr_trtr_ratio`, used by
the evaluation stage and both utility checks). TSTR is clipped at 0, so a generated-data
model worse than the mean scores a ratio of 0 rather than a negative number; when TRTR
R² is at most 0 the real-trained model explains nothing and the ratio is undefined (the
check warns with that cause). Bootstrap resamples of the training rows are plain (no
classes to keep); the holdout resamples are paired as for classification, each scored
with the weighted R² (:func:`weighted_r2`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synth_pipeline.metrics import PRIMARY_METRIC, chance_score, tstr_trtr_ratio, tstr_trtr_skill_ratio
from synth_pipeline.modeling import model_input, train_classifier
from synth_pipeline.quality.sampling import stratified_sample
from synth_pipeline.task import Task, model_factory, primary_metric

if TYPE_CHECKING:
    from synth_pipeline.model_cache import ModelCache

UTILITY_FITS = 3
"""Fits per model: one on all rows, the others on bootstrap resamples of the training rows."""
BOOTSTRAP_RESAMPLES = 1000
"""Paired bootstrap resamples of the holdout rows."""


@dataclass(frozen=True)
class UtilityScore:
    """Both scores (the primary metric) on the holdout, their ratio and its bound.

    Attributes:
        trained_on_generated: TSTR, the score of the model trained on the generated rows
            (real + augmented rows for augmentation), fitted on all its rows.
        trained_on_real: TRTR, the score of the model trained on the real fit input.
        ratio: ``trained_on_generated / trained_on_real``; NaN when undefined.
        ratio_upper_bound: One-sided 95 % upper bound of the ratio (see module docs);
            NaN when undefined or not computed (``fits == 1``).
        generated_rows: Rows of the generated dataset.
        real_rows: Rows of the real fit input.
        holdout_rows: Rows of the holdout.
        fits: Fits per model behind the bound.
        undefined: Why the ratio is undefined (e.g. ``synthetic sample holds one class``),
            or None.
        metric: The primary metric.
        second_rows_used: Rows the second model (TSTR) was trained on after sampling
            (``max_rows``): generated rows, or real + augmented rows.
        real_rows_used: Rows the real-trained model (TRTR) was trained on after sampling.
        chance: The score of a model that learned nothing (``1 / k`` balanced accuracy for the
            holdout's ``k`` classes, R² 0); NaN when undefined.
        trained_on_real_lower_bound: One-sided 95 % lower bound of TRTR (5th percentile of the
            bootstrap's TRTR scores); NaN when not computed.
        skill_ratio: ``(TSTR - chance) / (TRTR - chance)``, TSTR floored at chance; NaN when
            TRTR is not above chance.
        skill_ratio_upper_bound: Its one-sided 95 % upper bound from the same bootstrap; NaN
            when not computed or not informative.
        not_informative: Why the ratio says nothing (TRTR not clearly above chance), with the
            figures; None when it is informative or undefined.
    """

    trained_on_generated: float
    trained_on_real: float
    ratio: float
    ratio_upper_bound: float
    generated_rows: int
    real_rows: int
    holdout_rows: int
    fits: int = 1
    undefined: str | None = None
    metric: str = PRIMARY_METRIC
    second_rows_used: int = 0
    real_rows_used: int = 0
    chance: float = float("nan")
    trained_on_real_lower_bound: float = float("nan")
    skill_ratio: float = float("nan")
    skill_ratio_upper_bound: float = float("nan")
    not_informative: str | None = None


def weighted_r2(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None = None) -> float:
    """R² with per-row weights (a bootstrap resample's draw counts); ``sklearn.metrics.r2_score`` when None.

    NaN when the (weighted) truth has no variance.
    """
    w = np.ones(len(truth)) if weights is None else weights
    mean = float(np.average(truth, weights=w))
    total = float(np.sum(w * (truth - mean) ** 2))
    if total == 0:
        return float("nan")
    return 1.0 - float(np.sum(w * (truth - predicted) ** 2)) / total


def undefined_cause(
    generated: pd.DataFrame, real: pd.DataFrame, holdout: pd.DataFrame, *, label_column: str,
    generated_name: str = "synthetic sample", real_name: str = "real fit input",
) -> str | None:
    """Why TSTR / TRTR cannot be computed on these rows, or None when it can.

    Args:
        generated: The second model's training rows.
        real: The real fit input (the TRTR model's training rows).
        holdout: The rows both models are scored on.
        label_column: The class label.
        generated_name: How to name ``generated`` in the cause.
        real_name: How to name ``real`` in the cause.
    """
    for name, frame in ((generated_name, generated), (real_name, real)):
        classes = frame[label_column].dropna().unique()
        if len(classes) == 0:
            return f"{name} holds no labelled rows"
        if len(classes) == 1:
            # the class itself is a row value: it is not named (README, Security)
            return f"{name} holds one class of the label: a classifier cannot be trained on it"
    if holdout[label_column].notna().sum() == 0:
        return "the holdout holds no labelled rows"
    return None


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent random streams for each side's resamples and for the bootstrap: the real side's
    fits depend on the real rows and the seed only, so they are the same fits in every check."""
    return {name: np.random.default_rng([seed, index])
            for index, name in enumerate(("generated", "real", "bootstrap"))}


def _stratified_resample(frame: pd.DataFrame, label_column: str, rng: np.random.Generator) -> pd.DataFrame:
    positions = [
        rng.choice(np.flatnonzero(frame[label_column].to_numpy() == label), size=count, replace=True)
        for label, count in frame[label_column].value_counts().items()
    ]
    return frame.iloc[np.concatenate(positions)].reset_index(drop=True)


def _correct(model, holdout: pd.DataFrame, label_column: str) -> np.ndarray:
    from synth_pipeline.modeling import model_threads

    features = model_input(model, holdout)
    with model_threads(len(features)):
        predicted = model.predict(features)
    return np.asarray(predicted == holdout[label_column].to_numpy(), dtype=float)


def balanced_accuracy(correct: np.ndarray, classes: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Balanced accuracy (mean recall over the true classes present) from per-row hits.

    Args:
        correct: 1.0 where the prediction of a row is right, shape ``(n,)``.
        classes: Integer code of each row's true class, shape ``(n,)``.
        weights: How often each row is drawn (a bootstrap resample), shape ``(n,)``;
            None: once each.

    Returns:
        The same figure as ``sklearn.metrics.balanced_accuracy_score`` on the same rows.
    """
    counts = np.bincount(classes, weights=weights)
    hits = np.bincount(classes, weights=correct if weights is None else correct * weights, minlength=len(counts))
    present = counts > 0
    return float((hits[present] / counts[present]).mean())


def bootstrap_scores(
    generated_hits: list[np.ndarray], real_hits: list[np.ndarray], classes: np.ndarray, *, resamples: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Paired bootstrap over holdout rows of two models' balanced accuracies.

    Args:
        generated_hits: Per fit, 1.0 where the generated-trained model is right, shape ``(n,)``.
        real_hits: The same for the real-trained model, fit by fit.
        classes: Integer code of each holdout row's true class.
        resamples: Bootstrap resamples.
        rng: Random generator.

    Returns:
        TSTR and TRTR of each resample (one fit drawn at random per resample, both models
        scored on the same rows).
    """
    n = len(classes)
    on_generated, on_real = np.empty(resamples), np.empty(resamples)
    for b in range(resamples):
        weights = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        fit = int(rng.integers(len(generated_hits)))
        on_real[b] = balanced_accuracy(real_hits[fit], classes, weights)
        on_generated[b] = balanced_accuracy(generated_hits[fit], classes, weights)
    return on_generated, on_real


def bootstrap_ratios(
    generated_hits: list[np.ndarray], real_hits: list[np.ndarray], classes: np.ndarray, *, resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Paired bootstrap over holdout rows of the ratio of two models' balanced accuracies
    (:func:`bootstrap_scores`); NaN where the real-trained score is 0."""
    return _ratios(*bootstrap_scores(generated_hits, real_hits, classes, resamples=resamples, rng=rng))


def _ratios(on_generated: np.ndarray, on_real: np.ndarray, chance: float = 0.0) -> np.ndarray:
    """Per resample ``(max(TSTR, chance) - chance) / (TRTR - chance)``: the plain ratio for chance 0
    (:func:`~synth_pipeline.metrics.tstr_trtr_ratio`), the skill ratio otherwise; NaN where TRTR <= chance."""
    above = on_real > chance
    gain = np.maximum(on_generated, chance) - chance
    return np.where(above, gain / np.where(above, on_real - chance, 1.0), np.nan)


def _percentile(values: np.ndarray, q: float) -> float:
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, q)) if len(finite) else float("nan")


def _judged(
    on_generated: float, on_real: float, *, chance: float, resampled: tuple[np.ndarray, np.ndarray] | None,
    metric: str, real_name: str, holdout_rows: int, classes: int | None = None,
) -> dict[str, object]:
    """The ratio, its bounds, the skill ratio and whether the ratio is informative (see module docs)."""
    nan = float("nan")
    upper = lower = skill_upper = nan
    if resampled is not None:
        generated_scores, real_scores = resampled
        upper = _percentile(_ratios(generated_scores, real_scores), 95)
        lower = _percentile(real_scores, 5)
        skill_upper = _percentile(_ratios(generated_scores, real_scores, chance), 95)
    ratio = tstr_trtr_ratio(on_generated, on_real)
    figures: dict[str, object] = {
        "ratio": ratio, "ratio_upper_bound": upper, "chance": chance, "trained_on_real_lower_bound": lower,
        "skill_ratio": tstr_trtr_skill_ratio(on_generated, on_real, chance), "skill_ratio_upper_bound": skill_upper,
    }
    judged = lower if np.isfinite(lower) else on_real
    if judged > chance:
        return figures
    figures["skill_ratio_upper_bound"] = nan  # drawn from the few resamples above chance: no bound
    bound = f", 95 % lower bound {lower:.3g}" if np.isfinite(lower) else " (point estimate: no bootstrap bound)"
    level = (f"chance {chance:.3g}, the R² of predicting the holdout mean" if classes is None
             else f"chance {chance:.3g} = 1/{classes} classes")
    figures["not_informative"] = (
        f"not informative: the model trained on the {real_name} is not clearly above chance (TRTR {metric} "
        f"{on_real:.3g}{bound} <= {level}; {holdout_rows} holdout rows), so the ratio {ratio:.3g} (TSTR "
        f"{on_generated:.3g} / TRTR {on_real:.3g}) compares near-chance scores and says nothing about the "
        "generated rows"
    )
    return figures


def utility_scores(
    generated: pd.DataFrame,
    real: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    label_column: str,
    factory: str,
    seed: int,
    with_real: bool = False,
    fits: int = UTILITY_FITS,
    resamples: int = BOOTSTRAP_RESAMPLES,
    names: tuple[str, str] | None = None,
    task: Task | str = Task.CLASSIFICATION,
    cache: ModelCache | None = None,
    max_rows: int | None = None,
    text: Sequence[str] = (),
) -> UtilityScore:
    """TSTR and TRTR of the same model on ``holdout``, their ratio and its 95 % upper bound.

    Costs ``2 x fits`` model fits; ``fits=1`` gives the point estimate only.

    Args:
        generated: The generated rows.
        real: The real rows the generator was fitted on.
        holdout: The sealed real holdout.
        label_column: The class label.
        factory: The model factory (``"module:function"``).
        seed: Model seed (fit ``k`` uses ``seed + k``) and seed of the resamples.
        with_real: Train the second model on ``real`` plus ``generated`` (for augmentation).
        fits: Fits per model (see module docs).
        resamples: Paired bootstrap resamples of the holdout rows.
        names: How to name the two training sets in an undefined cause (default: the
            synthetic sample, or real + generated rows, and the real fit input).
        task: ``regression`` scores R² with a regressor (the default classifier factory
            becomes the default regressor, :func:`synth_pipeline.task.model_factory`).
        cache: Where models trained on the real rows are kept (:mod:`synth_pipeline.model_cache`), so
            the synthetic and augmented checks and the evaluation fit the same real-only baseline once.
            The real side draws its resamples from a stream of its own (``seed``, 1), so its fits do
            not depend on the generated rows.
        max_rows: Most rows each model is trained on (policy ``utility_sample_rows``): a seeded
            stratified sample (:func:`synth_pipeline.quality.sampling.stratified_sample`) of each
            training set, drawn before the bootstrap resamples; None: every row. The sizes
            returned are the rows before sampling.
        text: Free-text feature columns (:mod:`synth_pipeline.text_columns`), passed to the model
            factory as ``text=`` (TSTR/TRTR with a text classifier).
    """
    second = pd.concat([real, generated], ignore_index=True) if with_real else generated
    holdout = holdout[holdout[label_column].notna()].reset_index(drop=True)
    sizes = {"generated_rows": len(generated), "real_rows": len(real), "holdout_rows": len(holdout)}
    generated_name, real_name = names or (
        "real + generated rows" if with_real else "synthetic sample", "real fit input")
    task = Task(task)
    strata = None if task is Task.REGRESSION else label_column
    second = stratified_sample(second, max_rows, np.random.default_rng([seed, 3]), strata)
    real = stratified_sample(real, max_rows, np.random.default_rng([seed, 4]), strata)
    sizes.update(second_rows_used=len(second), real_rows_used=len(real))
    if task is Task.REGRESSION:
        return _regression_utility(second, real, holdout, label_column=label_column,
                                   factory=model_factory(factory, task), seed=seed, fits=fits, resamples=resamples,
                                   sizes=sizes, names=(generated_name, real_name), cache=cache, text=text)
    cause = undefined_cause(second, real, holdout, label_column=label_column,
                            generated_name=generated_name, real_name=real_name)
    if cause is not None:
        nan = float("nan")
        return UtilityScore(nan, nan, nan, nan, **sizes, fits=0, undefined=cause)
    streams = _streams(seed)
    hits: dict[str, list[np.ndarray]] = {"generated": [], "real": []}
    for name, training in (("generated", second), ("real", real)):
        for fit in range(fits):
            rows = training if fit == 0 else _stratified_resample(training, label_column, streams[name])
            model = train_classifier(rows, label_column=label_column, factory=factory, seed=seed + fit,
                                     cache=cache if name == "real" else None, text=text)
            hits[name].append(_correct(model, holdout, label_column))
    rng = streams["bootstrap"]
    classes = pd.factorize(holdout[label_column])[0]
    on_generated = balanced_accuracy(hits["generated"][0], classes)
    on_real = balanced_accuracy(hits["real"][0], classes)
    count = int(classes.max()) + 1
    chance = chance_score(PRIMARY_METRIC, count)
    if on_real == 0:
        return UtilityScore(on_generated, on_real, float("nan"), float("nan"), **sizes, fits=fits, chance=chance,
                            undefined=f"TRTR score is 0: the model trained on the {real_name} gets no holdout "
                                      "row right, so the ratio is undefined")
    resampled = None
    if fits > 1 and resamples > 0:
        resampled = bootstrap_scores(hits["generated"], hits["real"], classes, resamples=resamples, rng=rng)
    judged = _judged(on_generated, on_real, chance=chance, resampled=resampled,
                     metric=PRIMARY_METRIC, real_name=real_name, holdout_rows=len(holdout), classes=count)
    return UtilityScore(on_generated, on_real, **judged, **sizes, fits=fits)


def _regression_utility(
    second: pd.DataFrame, real: pd.DataFrame, holdout: pd.DataFrame, *, label_column: str, factory: str, seed: int,
    fits: int, resamples: int, sizes: dict[str, int], names: tuple[str, str], cache: ModelCache | None = None,
    text: Sequence[str] = (),
) -> UtilityScore:
    """:func:`utility_scores` for a regression label: R², plain bootstrap of training rows (see module docs)."""
    from synth_pipeline.modeling import model_threads

    metric = primary_metric(Task.REGRESSION)
    nan = float("nan")
    for name, frame in zip(names, (second, real), strict=True):
        if frame[label_column].dropna().nunique() < 2:
            return UtilityScore(nan, nan, nan, nan, **sizes, fits=0, metric=metric,
                                undefined=f"{name} holds fewer than two label values: a regressor cannot be "
                                          "trained on a constant label")
    if len(holdout) < 2 or holdout[label_column].nunique() < 2:
        return UtilityScore(nan, nan, nan, nan, **sizes, fits=0, metric=metric,
                            undefined="the holdout holds fewer than two label values: R² is undefined")
    streams = _streams(seed)
    rng = streams["bootstrap"]
    truth = holdout[label_column].to_numpy(dtype="float64")
    predictions: dict[str, list[np.ndarray]] = {"generated": [], "real": []}
    for key, training in (("generated", second), ("real", real)):
        for fit in range(fits):
            stream = streams[key]
            rows = training if fit == 0 else training.iloc[stream.integers(0, len(training), len(training))]
            model = train_classifier(rows, label_column=label_column, factory=factory, seed=seed + fit,
                                     cache=cache if key == "real" else None, text=text)
            features = model_input(model, holdout)
            with model_threads(len(features)):
                predictions[key].append(np.asarray(model.predict(features), dtype="float64"))
    on_generated = weighted_r2(truth, predictions["generated"][0])
    on_real = weighted_r2(truth, predictions["real"][0])
    if not on_real > 0:
        return UtilityScore(on_generated, on_real, nan, nan, **sizes, fits=fits, metric=metric, chance=0.0,
                            undefined=f"TRTR R² is {on_real:.3g} <= 0: the model trained on the {names[1]} predicts "
                                      "the holdout no better than its mean, so the ratio is undefined")
    resampled = None
    if fits > 1 and resamples > 0:
        n = len(truth)
        generated_scores, real_scores = np.empty(resamples), np.empty(resamples)
        for b in range(resamples):
            weights = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
            fit = int(rng.integers(fits))
            generated_scores[b] = weighted_r2(truth, predictions["generated"][fit], weights)
            real_scores[b] = weighted_r2(truth, predictions["real"][fit], weights)
        resampled = (generated_scores, real_scores)
    judged = _judged(on_generated, on_real, chance=chance_score(metric), resampled=resampled, metric=metric,
                     real_name=names[1], holdout_rows=len(holdout))
    return UtilityScore(on_generated, on_real, **judged, **sizes, fits=fits, metric=metric)
