"""Quality gates as blocking asset checks: fidelity, privacy, utility and diversity.

===========  ==========================  ==================================================
check        assets                      rules (limits from the policy)
===========  ==========================  ==================================================
fidelity     synthetic, augmented        SDMetrics quality score >= ``min_quality_score``;
                                         adversarial AUC <= ``max_adversarial_auc``
privacy      synthetic, augmented        exact-copy share <= ``max_exact_copy_fraction``;
                                         DCR share <= ``max_dcr_share``; membership AUC
                                         <= ``max_membership_auc`` (both: 95 % lower bound)
utility      synthetic, augmented        TSTR / TRTR >= ``min_tstr_trtr_ratio``
diversity    synthetic, augmented,       variance ratio, category coverage, tail coverage
             training_mix                and distinct-row ratio >= their ``min_*`` limits
===========  ==========================  ==================================================

What each is compared with:

- *fit input*: the real rows the generator was fitted on. For the synthetic stage that is
  the dataset named in its ``fitted_on`` metadata (this generation's real arrivals, or the
  previous training mix's real rows); if it holds no real rows (a generator refitted on
  purely synthetic data) the whole real train split stands in. For augmentation, the
  real arrivals of the classes it augmented.
- fidelity and utility use the fit input; privacy the fit input (DCR, membership) and
  the whole real train split (exact copies), against the sealed holdout; diversity the
  real train split (of the augmented classes, for augmentation).

For augmented data, privacy and diversity failures are warnings unless the policy sets
``enforce_quality_on_augmented``: SMOTE interpolates between real rows, so its rows sit
close to them (a high DCR share) and spread less, by design.

The figures are in each result's metadata. The diversity, privacy and utility figures
are also stored per generation, with the limits they were compared with
(``DatasetStore.monitor_history(asset_key, "diversity" | "privacy" | "utility")``); the
generation report (:mod:`synth_pipeline.report`) plots them, and the diversity result
shows their trend.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import partial
from typing import Any

import dagster as dg
import pandas as pd

from synth_pipeline.budgets import RuleOutcome
from synth_pipeline.factory import SynthPipeline
from synth_pipeline.generations import generation_key
from synth_pipeline.naming import Stage
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.provenance import KIND_COLUMN, ProvenanceKind
from synth_pipeline.rule_checks import CheckInputs, rule_check

GENERATED_STAGES = (Stage.SYNTHETIC, Stage.AUGMENTED)
DIVERSITY_MONITOR = "diversity"
PRIVACY_MONITOR = "privacy"
UTILITY_MONITOR = "utility"
_FITTED_ON = re.compile(r"^(?P<key>.+)\[(?P<partition>\d+)\]$")


QUALITY_CHECK_NAMES = ("fidelity", "privacy", "utility", "diversity")


def build_quality_checks(
    pipeline: SynthPipeline, only: Collection[str] | None = None
) -> list[dg.AssetChecksDefinition]:
    """The quality checks of a pipeline (see the module docs), reading its policy resource.

    Args:
        pipeline: The pipeline.
        only: Names of the checks to build (default: all of :data:`QUALITY_CHECK_NAMES`).
    """
    unknown = sorted(set(only or ()) - set(QUALITY_CHECK_NAMES))
    if unknown:
        raise ValueError(f"unknown quality check(s) {unknown}; choose from {list(QUALITY_CHECK_NAMES)}")
    checks = []
    for stage in GENERATED_STAGES:
        if stage not in pipeline.stages:
            continue
        # SMOTE interpolates between real rows: it sits close to them and narrows their
        # spread by design, so for augmented data these two warn unless the policy enforces them.
        enforced = None if stage is Stage.SYNTHETIC else _augmented_enforced
        checks += [
            rule_check(pipeline, stage, "fidelity", partial(_fidelity, stage=stage),
                       "SDMetrics quality (column shapes, pair trends) and adversarial AUC against the real "
                       "fit input."),
            rule_check(pipeline, stage, "privacy", partial(_privacy, stage=stage),
                       "No exact copies of real training rows; DCR share and membership-inference AUC against "
                       "the sealed holdout within the policy.", enforced=enforced),
            rule_check(pipeline, stage, "utility", partial(_utility, stage=stage),
                       "Train-on-generated vs train-on-real score on the sealed holdout (same model)."),
            rule_check(pipeline, stage, "diversity", partial(_diversity, stage=stage),
                       "Collapse monitors (variance, categories, tails, distinct rows) against real data.",
                       enforced=enforced),
        ]
    checks.append(rule_check(pipeline, Stage.TRAINING_MIX, "diversity", partial(_diversity, stage=Stage.TRAINING_MIX),
                             "Collapse monitors (variance, categories, tails, distinct rows) against real data."))
    wanted = set(only or QUALITY_CHECK_NAMES)
    return [check for check in checks if next(iter(check.check_keys)).name in wanted]


def _augmented_enforced(policy: SynthPolicy) -> bool:
    return policy.enforce_quality_on_augmented


def _blocking(stage: Stage, policy: SynthPolicy) -> bool:
    """Whether the privacy and diversity checks of a stage block (see :func:`build_quality_checks`)."""
    return stage is not Stage.AUGMENTED or _augmented_enforced(policy)


def _real(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame[KIND_COLUMN] == ProvenanceKind.REAL.value].reset_index(drop=True)


def _of_classes(frame: pd.DataFrame, like: pd.DataFrame, label_column: str) -> pd.DataFrame:
    return frame[frame[label_column].isin(like[label_column].unique())].reset_index(drop=True)


def fit_input(inputs: CheckInputs, stage: Stage, generated: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The real rows a generated stage was made from, and where they came from (see module docs)."""
    label = inputs.pipeline.spec.label_column
    arrivals = f"{inputs.pipeline.key(Stage.REAL_ARRIVALS).to_user_string()}[{inputs.generation}]"
    if stage is Stage.AUGMENTED:
        return _of_classes(_real(inputs.read(Stage.REAL_ARRIVALS)), generated, label), arrivals
    fitted_on = str(inputs.materialization_metadata(stage).get("fitted_on") or arrivals)
    match = _FITTED_ON.match(fitted_on)
    if match is None:
        raise ValueError(f"cannot tell what {stage.value} was fitted on from {fitted_on!r}")
    rows = _real(inputs.store.read(dg.AssetKey.from_user_string(match["key"]), match["partition"]))
    if rows.empty:
        train = inputs.pipeline.key(Stage.REAL_TRAIN).to_user_string()
        return _real(inputs.read(Stage.REAL_TRAIN)), f"{train} ({fitted_on} holds no real rows)"
    return rows, fitted_on


def _store_figures(
    inputs: CheckInputs,
    stage: Stage,
    monitor: str,
    figures: dict[str, Any],
    outcomes: list[RuleOutcome],
    *,
    limits: dict[str, float],
    blocking: bool = True,
) -> None:
    """Keep one generation's figures of a check (aggregates only) for trends and the report.

    Args:
        inputs: The check's inputs (store, pipeline, generation).
        stage: The checked stage.
        monitor: The monitor's name (its directory under ``_monitors/<asset key>/``).
        figures: Scalar figures; nested values are left out.
        outcomes: The rule outcomes (their verdict is stored as ``passed``).
        limits: The policy limits the figures were compared with, as ``limit_*`` columns.
        blocking: Whether a failure blocks (False: the check only warns), stored as ``blocking``.
    """
    row = {"generation": inputs.generation,
           **{name: value for name, value in figures.items() if not isinstance(value, (dict, list, tuple))},
           **limits, "passed": all(outcome.passed for outcome in outcomes), "blocking": blocking}
    inputs.store.write_monitor(inputs.pipeline.key(stage), monitor, generation_key(inputs.generation),
                               pd.DataFrame([row]))


def _nothing_generated(generated: pd.DataFrame) -> tuple[list[RuleOutcome], dict[str, Any]] | None:
    if len(generated):
        return None
    return [RuleOutcome("rows to measure (none generated)", 0.0, 0.0, "min")], {"rows": 0}


def _fidelity(inputs: CheckInputs, *, stage: Stage):
    from synth_pipeline.quality.fidelity import adversarial_auc, quality_score

    generated = inputs.read(stage)
    if (empty := _nothing_generated(generated)) is not None:
        return empty
    real, source = fit_input(inputs, stage, generated)
    seed = inputs.pipeline.spec.seed + inputs.generation
    quality = quality_score(real, generated, label_column=inputs.pipeline.spec.label_column, seed=seed)
    adversarial = adversarial_auc(real, generated, seed=seed)
    policy = inputs.policy
    outcomes = [
        RuleOutcome("SDMetrics quality score", quality.score, policy.min_quality_score, "min"),
        RuleOutcome("adversarial AUC (real vs generated)", adversarial.auc, policy.max_adversarial_auc, "max"),
    ]
    per_column = pd.Series(quality.per_column, name="column shape score").sort_values()
    return outcomes, {
        "compared_with": source,
        "real_rows": len(real),
        "generated_rows": len(generated),
        "quality_score": dg.MetadataValue.float(quality.score),
        "column_shapes": dg.MetadataValue.float(quality.column_shapes),
        "column_pair_trends": dg.MetadataValue.float(quality.column_pair_trends),
        "column_shape_scores": dg.MetadataValue.json(quality.per_column),
        "worst_columns": dg.MetadataValue.md(per_column.head(10).rename_axis("column").to_frame().to_markdown()),
        "sdmetrics_generated_rows_used": quality.synthetic_rows_used,
        "sdmetrics_subsampled": quality.subsampled,
        "adversarial_auc": dg.MetadataValue.float(adversarial.auc),
        "adversarial_rows": dg.MetadataValue.json(
            {"real": adversarial.real_rows, "generated": adversarial.synthetic_rows, "folds": adversarial.folds}
        ),
    }


def _privacy(inputs: CheckInputs, *, stage: Stage):
    from synth_pipeline.quality.privacy import evaluate_privacy

    generated = inputs.read(stage)
    if (empty := _nothing_generated(generated)) is not None:
        return empty
    training, source = fit_input(inputs, stage, generated)
    holdout = inputs.read(Stage.REAL_HOLDOUT)
    train_split = _real(inputs.read(Stage.REAL_TRAIN))
    report = evaluate_privacy(
        generated, training, holdout, copy_reference=pd.concat([train_split, training], ignore_index=True),
        seed=inputs.pipeline.spec.seed + inputs.generation,
    )
    policy = inputs.policy
    outcomes = [
        RuleOutcome("exact copies of real training rows (share)", report.exact_copy_fraction,
                    policy.max_exact_copy_fraction, "max"),
        RuleOutcome("DCR share, closer to training than holdout (95 % lower bound)",
                    report.dcr.dcr_share_lower_bound, policy.max_dcr_share, "max"),
        RuleOutcome("membership-inference AUC (95 % lower bound)", report.membership_auc_lower_bound,
                    policy.max_membership_auc, "max"),
    ]
    figures = report.to_dict()
    encoding = figures.pop("encoding")
    _store_figures(inputs, stage, PRIVACY_MONITOR, figures, outcomes, limits={
        "limit_exact_copy_fraction": policy.max_exact_copy_fraction,
        "limit_dcr_share": policy.max_dcr_share,
        "limit_membership_auc": policy.max_membership_auc,
    }, blocking=_blocking(stage, policy))
    return outcomes, {
        "compared_with": source,
        "holdout": inputs.pipeline.key(Stage.REAL_HOLDOUT).to_user_string(),
        **{name: dg.MetadataValue.float(float(value)) if isinstance(value, float) else value
           for name, value in figures.items()},
        "distance_encoding": dg.MetadataValue.json(encoding),
    }


def _utility(inputs: CheckInputs, *, stage: Stage):
    from synth_pipeline.quality.utility import utility_scores

    generated = inputs.read(stage)
    if (empty := _nothing_generated(generated)) is not None:
        return empty
    spec = inputs.pipeline.spec
    real, source = fit_input(inputs, stage, generated)
    if stage is Stage.AUGMENTED:  # augmentation only tops up some classes: score real + augmented
        real = _real(inputs.read(Stage.REAL_ARRIVALS))
    scores = utility_scores(
        generated, real, inputs.read(Stage.REAL_HOLDOUT), label_column=spec.label_column,
        factory=spec.model.factory, seed=spec.seed, with_real=stage is Stage.AUGMENTED,
    )
    trained_on = "real + augmented" if stage is Stage.AUGMENTED else "generated"
    outcomes = [RuleOutcome(f"utility ratio ({trained_on} / real, {scores.metric})", scores.ratio,
                            inputs.policy.min_tstr_trtr_ratio, "min")]
    _store_figures(inputs, stage, UTILITY_MONITOR, {
        "metric": scores.metric, "tstr_score": scores.trained_on_generated, "trtr_score": scores.trained_on_real,
        "tstr_trtr_ratio": scores.ratio, "generated_rows": scores.generated_rows, "real_rows": scores.real_rows,
        "holdout_rows": scores.holdout_rows, "second_model_trained_on": trained_on,
    }, outcomes, limits={"limit_tstr_trtr_ratio": inputs.policy.min_tstr_trtr_ratio})
    return outcomes, {
        "compared_with": source,
        "metric": scores.metric,
        "tstr_score": dg.MetadataValue.float(scores.trained_on_generated),
        "trtr_score": dg.MetadataValue.float(scores.trained_on_real),
        "tstr_trtr_ratio": dg.MetadataValue.float(scores.ratio),
        "second_model_trained_on": trained_on,
        "train_rows": dg.MetadataValue.json({"generated": scores.generated_rows, "real": scores.real_rows}),
        "holdout_rows": scores.holdout_rows,
    }


def _diversity(inputs: CheckInputs, *, stage: Stage):
    from synth_pipeline.quality.diversity import measure_diversity

    data = inputs.read(stage)
    if (empty := _nothing_generated(data)) is not None:
        return empty
    real = _real(inputs.read(Stage.REAL_TRAIN))
    if stage is Stage.AUGMENTED:
        real = _of_classes(real, data, inputs.pipeline.spec.label_column)
    report = measure_diversity(data, real)
    policy = inputs.policy
    candidates = [
        (f"variance ratio, 95 % upper bound, smallest ({report.min_variance_column})",
         report.min_variance_upper_bound, policy.min_variance_ratio),
        (f"category coverage, smallest ({report.min_category_column})", report.min_category_coverage,
         policy.min_category_coverage),
        ("tail coverage beyond real 1st/99th percentiles, 95 % upper bound", report.tail_coverage_upper_bound,
         policy.min_tail_coverage),
        ("distinct-row ratio", report.distinct_row_ratio, policy.min_distinct_row_ratio),
    ]
    outcomes = [RuleOutcome(rule, value, limit, "min") for rule, value, limit in candidates if value == value]
    _store_figures(inputs, stage, DIVERSITY_MONITOR, report.headline(), outcomes, limits={
        "limit_variance_ratio": policy.min_variance_ratio,
        "limit_category_coverage": policy.min_category_coverage,
        "limit_tail_coverage": policy.min_tail_coverage,
        "limit_distinct_row_ratio": policy.min_distinct_row_ratio,
    }, blocking=_blocking(stage, policy))
    asset_key = inputs.pipeline.key(stage)
    trend = inputs.store.monitor_history(asset_key, DIVERSITY_MONITOR)
    trend = trend[trend["generation"] <= inputs.generation].sort_values("generation")
    shown = ["generation", "rows", "min_variance_ratio", "min_variance_upper_bound", "min_category_coverage",
             "tail_coverage", "tail_coverage_upper_bound", "distinct_row_ratio", "passed"]
    return outcomes, {
        **{name: dg.MetadataValue.float(float(value)) if isinstance(value, float) else value
           for name, value in report.headline().items() if value is not None},
        "variance_ratios": dg.MetadataValue.json(report.variance_ratios),
        "category_coverages": dg.MetadataValue.json(report.category_coverages),
        "tail_coverages": dg.MetadataValue.json(report.tail_coverages),
        "trend": dg.MetadataValue.md(trend[shown].to_markdown(index=False, floatfmt=".3f")),
    }
