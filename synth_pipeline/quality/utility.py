"""Utility: does a generated dataset train as good a model as the real data it came from?

The pipeline's own downstream model (spec ``model.factory``) is trained twice and scored
on the sealed real holdout:

- **TRTR** (train on real, test on real): on the real rows the generator was fitted on;
- **TSTR** (train on synthetic, test on real): on the generated rows.

**Same size.** A model trained on 25 rows scores lower than one trained on 101, whatever the
rows: in a new-user trial, 20 draws of 25 real rows from a 101-row fit input had a mean skill
ratio of 0.676 against the model trained on all 101, and 60 % fell below the 0.7 limit, so a
generator returning real rows would be blocked for the size gap alone. Where the generated rows
are fewer than the real ones (:func:`size_matched_rows`), TRTR is therefore the mean score of
models trained on :data:`CONTROL_DRAWS` seeded, class-stratified real samples of as many rows as
the generated ones (the fidelity score's holdout control and category coverage likewise compare
with "a real sample of the same size"); the model trained on every real row is still fitted and
reported (:attr:`UtilityScore.trained_on_real_all_rows`), and decides whether the label is
learnable at all. Augmentation's second model trains on real + augmented rows, never fewer than
the real ones, so it is compared with every real row.

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

With a size-matched control (see "Same size") a third draw adds to these: which real
sample of that size the control happened to get. A model on 25 real rows may land anywhere
from chance to the full model's score, and a generator as good as the real data returns what
amounts to one more such sample. Each resample therefore scores one of the generated side's
fits (as above) against *one* control draw chosen at random, not against their mean (the point
estimate is against the mean); the spread of single draws then widens the bound as the
generated rows' own luck of the draw would. TRTR's lower bound, which decides whether the
comparison is informative, is likewise that of a single control draw: where a model on as
many real rows as the generated ones is not clearly above chance, the generated rows cannot
show utility (the check warns and asks for more generated rows). On a weak-signal table (230
rows: 101 fit rows, 129 holdout rows, 25 generated rows drawn from the fit input), averaging
the draws in every resample or leaving out the generated side's refits failed 1 to 2 of 8
such real-draw generators; this scheme failed none.

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

from collections.abc import Callable, Sequence
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
CONTROL_DRAWS = 5
"""Real samples of the generated row count behind the size-matched TRTR (see module docs)."""


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
        trained_on_real_all_rows: TRTR of the model trained on every real fit-input row (after
            ``max_rows``); equals :attr:`trained_on_real` without size matching.
        trained_on_real_all_rows_lower_bound: Its one-sided 95 % lower bound; NaN when not computed.
        control_rows: Rows of each real sample the size-matched TRTR was trained on (as many as
            the generated rows, :func:`size_matched_rows`); 0: TRTR trained on every real row.
        control_draws: Real samples (each its own fit) averaged into the size-matched TRTR; 0: none.
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
    trained_on_real_all_rows: float = float("nan")
    trained_on_real_all_rows_lower_bound: float = float("nan")
    control_rows: int = 0
    control_draws: int = 0


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
    score: Callable[[np.ndarray, np.ndarray | None], float], generated: list[np.ndarray], real: list[np.ndarray],
    control: list[np.ndarray] | None = None, *, rows: int, resamples: int, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paired bootstrap over holdout rows of the models' scores (see module docs).

    Args:
        score: A model's score from its per-holdout-row output and the rows' draw counts
            (balanced accuracy from hits, weighted R² from predictions).
        generated: Per fit, the generated-trained model's output on the holdout rows.
        real: The same for the model trained on every real row, fit by fit.
        control: Per draw, the output of the model trained on a real sample of the generated
            row count (the size-matched control); None without size matching.
        rows: Holdout rows.
        resamples: Bootstrap resamples.
        rng: Random generator.

    Returns:
        TSTR, the TRTR compared with it and TRTR on every real row, per resample, all scored on
        the same rows: fit ``k`` of both models, ``k`` drawn at random; the compared TRTR is the one
        on every real row, or with a control one of its draws, drawn at random.
    """
    on_generated, compared, on_all = np.empty(resamples), np.empty(resamples), np.empty(resamples)
    for b in range(resamples):
        weights = np.bincount(rng.integers(0, rows, rows), minlength=rows).astype(float)
        fit = int(rng.integers(len(generated)))
        on_generated[b] = score(generated[fit], weights)
        on_all[b] = score(real[fit], weights)
        compared[b] = on_all[b] if control is None else score(control[int(rng.integers(len(control)))], weights)
    return on_generated, compared, on_all


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
    metric: str, real_name: str, holdout_rows: int, classes: int | None = None, ratio_text: str | None = None,
) -> dict[str, object]:
    """The ratio, its bounds, the skill ratio and whether the ratio is informative (see module docs).

    ``ratio_text`` names the ratio the reason speaks of, when it is not ``on_generated / on_real`` (the
    all-rows model decides informativeness while a size-matched TRTR is the ratio's denominator)."""
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
        f"{on_real:.3g}{bound} <= {level}; {holdout_rows} holdout rows), so "
        f"{ratio_text or f'the ratio {ratio:.3g} (TSTR {on_generated:.3g} / TRTR {on_real:.3g})'} compares "
        "near-chance scores and says nothing about the generated rows"
    )
    return figures


def size_matched_rows(generated_rows: int, real_rows: int, *, with_real: bool = False) -> int:
    """Rows of each real control sample TRTR is refitted on, to match the generated rows; 0: none.

    Size matching applies only when the generated rows are fewer than the real ones and train a
    model on their own: a model trained on 25 rows scores lower than one trained on 101 whatever
    the rows are, so a plain TRTR would charge the generator for the size gap (see module docs).
    Augmentation's second model trains on real + augmented rows, never fewer than the real ones.
    """
    return generated_rows if not with_real and 0 < generated_rows < real_rows else 0


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
    size_matched: bool = True,
) -> UtilityScore:
    """TSTR and TRTR of the same model on ``holdout``, their ratio and its 95 % upper bound.

    Costs ``2 x fits`` model fits (``fits=1`` gives the point estimate only), plus :data:`CONTROL_DRAWS`
    fits on real samples of the generated row count where size matching applies
    (:func:`size_matched_rows`; one with ``fits=1``).

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
        size_matched: Compare TSTR with the size-matched control where it applies (see module
            docs); False: with the model trained on every real row (the comparison before size
            matching, kept for benchmarks).
    """
    second = pd.concat([real, generated], ignore_index=True) if with_real else generated
    holdout = holdout[holdout[label_column].notna()].reset_index(drop=True)
    sizes = {"generated_rows": len(generated), "real_rows": len(real), "holdout_rows": len(holdout)}
    generated_name, real_name = names or (
        "real + generated rows" if with_real else "synthetic sample", "real fit input")
    task = Task(task)
    regression = task is Task.REGRESSION
    metric = primary_metric(task)
    strata = None if regression else label_column
    second = stratified_sample(second, max_rows, np.random.default_rng([seed, 3]), strata)
    real = stratified_sample(real, max_rows, np.random.default_rng([seed, 4]), strata)
    sizes.update(second_rows_used=len(second), real_rows_used=len(real))
    cause = (_regression_cause(second, real, holdout, label_column=label_column, names=(generated_name, real_name))
             if regression else undefined_cause(second, real, holdout, label_column=label_column,
                                                generated_name=generated_name, real_name=real_name))
    nan = float("nan")
    if cause is not None:
        return UtilityScore(nan, nan, nan, nan, **sizes, fits=0, metric=metric, undefined=cause)
    if regression:
        factory = model_factory(factory, task)
        truth = holdout[label_column].to_numpy(dtype="float64")

        def score(output: np.ndarray, weights: np.ndarray | None = None) -> float:
            return weighted_r2(truth, output, weights)
    else:
        classes = pd.factorize(holdout[label_column])[0]

        def score(output: np.ndarray, weights: np.ndarray | None = None) -> float:
            return balanced_accuracy(output, classes, weights)

    def output(rows: pd.DataFrame, model_seed: int, model_cache: ModelCache | None) -> np.ndarray:
        model = train_classifier(rows, label_column=label_column, factory=factory, seed=model_seed,
                                 cache=model_cache, text=text)
        return _predicted(model, holdout) if regression else _correct(model, holdout, label_column)

    streams = _streams(seed)
    matched = size_matched_rows(len(second), len(real), with_real=with_real) if size_matched else 0
    outputs: dict[str, list[np.ndarray]] = {"generated": [], "real": [], "control": []}
    for name, training in (("generated", second), ("real", real)):
        for fit in range(fits):
            rows = training if fit == 0 else _resample(training, strata, streams[name])
            outputs[name].append(output(rows, seed + fit, cache if name == "real" else None))
    control = None
    if matched:
        # The draws depend on the real rows, the size and the seed only: cached like TRTR's fits.
        draws_rng = np.random.default_rng([seed, 5, matched])
        samples = [stratified_sample(real, matched, draws_rng, strata) for _ in range(CONTROL_DRAWS if fits > 1 else 1)]
        control = outputs["control"] = [output(rows, seed + draw, cache) for draw, rows in enumerate(samples)]
        matched = round(float(np.mean([len(rows) for rows in samples])))
    on_generated = score(outputs["generated"][0])
    on_all = score(outputs["real"][0])
    on_real = float(np.mean([score(each) for each in outputs["control"]])) if matched else on_all
    chance = chance_score(metric, None if regression else int(classes.max()) + 1)
    extra = {"trained_on_real_all_rows": on_all, "control_rows": matched, "control_draws": len(outputs["control"])}
    if regression and not on_all > 0:
        return UtilityScore(on_generated, on_real, nan, nan, **sizes, fits=fits, metric=metric, chance=0.0, **extra,
                            undefined=f"TRTR R² is {on_all:.3g} <= 0: the model trained on the {real_name} predicts "
                                      "the holdout no better than its mean, so the ratio is undefined")
    if not regression and on_all == 0:
        return UtilityScore(on_generated, on_real, nan, nan, **sizes, fits=fits, chance=chance, **extra,
                            undefined=f"TRTR score is 0: the model trained on the {real_name} gets no holdout "
                                      "row right, so the ratio is undefined")
    resampled = on_all_rows = None
    all_lower = nan
    if fits > 1 and resamples > 0:
        tstr, compared, on_all_rows = bootstrap_scores(score, outputs["generated"], outputs["real"], control,
                                                       rows=len(holdout), resamples=resamples,
                                                       rng=streams["bootstrap"])
        resampled = (tstr, compared)
        all_lower = _percentile(on_all_rows, 5)
    compared_name = real_name
    if matched:  # a class-stratified sample rounds per class: say so where that shows
        generated_rows = sizes["generated_rows"]
        as_many = ("as many as the generated ones" if matched == generated_rows else
                   f"as many as the {generated_rows} generated ones, to within the class-stratified sample's rounding")
        compared_name = (f"real samples of {matched} rows ({as_many}, mean of "
                         f"{len(outputs['control'])} draws from the {real_name})")
    judged = _judged(on_generated, on_real, chance=chance, resampled=resampled, metric=metric,
                     real_name=compared_name, holdout_rows=len(holdout),
                     classes=None if regression else int(classes.max()) + 1)
    full = None
    if matched:  # the label must be learnable from every real row too, else nothing here is informative
        full = _judged(on_generated, on_all, chance=chance,
                       resampled=None if resampled is None else (resampled[0], on_all_rows), metric=metric,
                       real_name=real_name, holdout_rows=len(holdout),
                       classes=None if regression else int(classes.max()) + 1,
                       ratio_text=(f"the ratio {tstr_trtr_ratio(on_generated, on_real):.3g} (TSTR {on_generated:.3g} "
                                   f"/ TRTR {on_real:.3g} of real samples of {matched} rows)"),
                       ).get("not_informative")
    if full:
        judged.update(not_informative=full, skill_ratio_upper_bound=nan)
    elif matched and judged.get("not_informative"):
        judged["not_informative"] += (
            f"; the model trained on all {len(real)} real rows is above chance (TRTR {on_all:.3g}, 95 % lower bound "
            f"{all_lower:.3g}): {matched} rows are too few for any generator, real rows included, to show the "
            "label's signal")
    extra["trained_on_real_all_rows_lower_bound"] = all_lower
    return UtilityScore(on_generated, on_real, **judged, **sizes, fits=fits, metric=metric, **extra)


def _resample(frame: pd.DataFrame, strata: str | None, rng: np.random.Generator) -> pd.DataFrame:
    """A bootstrap resample of training rows: stratified by class (each keeps its count), plain without classes."""
    if strata is not None:
        return _stratified_resample(frame, strata, rng)
    return frame.iloc[rng.integers(0, len(frame), len(frame))]


def _predicted(model, holdout: pd.DataFrame) -> np.ndarray:
    from synth_pipeline.modeling import model_threads

    features = model_input(model, holdout)
    with model_threads(len(features)):
        return np.asarray(model.predict(features), dtype="float64")


def _regression_cause(second: pd.DataFrame, real: pd.DataFrame, holdout: pd.DataFrame, *, label_column: str,
                      names: tuple[str, str]) -> str | None:
    """Why R² TSTR / TRTR cannot be computed on these rows (a constant label), or None."""
    for name, frame in zip(names, (second, real), strict=True):
        if frame[label_column].dropna().nunique() < 2:
            return (f"{name} holds fewer than two label values: a regressor cannot be trained on a "
                    "constant label")
    if len(holdout) < 2 or holdout[label_column].nunique() < 2:
        return "the holdout holds fewer than two label values: R² is undefined"
    return None
