"""Quality gates as blocking asset checks: fidelity, privacy, utility and diversity.

===========  ==========================  ==================================================
check        assets                      rules (limits from the policy)
===========  ==========================  ==================================================
fidelity     synthetic, augmented        SDMetrics quality score >= ``min_quality_score``
                                         (bound: plus a holdout control's shortfall);
                                         adversarial AUC <= ``max_adversarial_auc`` (95 %
                                         lower bound); warns below ``min_fidelity_rows``
privacy      synthetic, augmented        copies of training rows beyond chance (against
                                         copies of the holdout) <= ``max_exact_copy_fraction``;
                                         DCR share <= ``max_dcr_share``; membership AUC
                                         <= ``max_membership_auc`` (all: 95 % lower bound)
utility      synthetic, augmented        TSTR / TRTR >= ``min_tstr_trtr_ratio`` (95 % upper
                                         bound, bootstrap; on skill above chance where a
                                         model at chance would reach the limit; TRTR on
                                         real samples as large as the generated rows
                                         where those are fewer); warns below
                                         ``min_utility_rows`` and when TRTR is not clearly
                                         above chance
diversity    synthetic, augmented,       variance ratio, category coverage, tail coverage
             training_mix                and distinct-row ratio >= their ``min_*`` limits
                                         (95 % upper bounds); variance ratio and tail
                                         coverage <= ``max_variance_ratio``,
                                         ``max_tail_coverage`` (95 % lower bounds)
===========  ==========================  ==================================================

What each is compared with:

- *fit input*: the real rows the generator was fitted on. For the synthetic stage that is
  the dataset named in its ``fitted_on`` metadata (this generation's real arrivals, or the
  previous training mix's real rows); if it holds no real rows (a generator refitted on
  purely synthetic data) the whole real train split stands in. For augmentation, the
  real arrivals of the classes it augmented.
- fidelity and utility use the fit input; privacy the fit input (copies, DCR,
  membership) against the sealed holdout (of the augmented classes, for augmentation,
  like its fit input; fidelity's holdout control likewise); diversity the
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

import math
from collections.abc import Collection
from functools import partial
from typing import Any

import dagster as dg
import pandas as pd

from synth_pipeline.budgets import RuleOutcome
from synth_pipeline.checks.quality_common import (
    GENERATOR_SETTINGS,
    MORE_ROWS_FIX,
    NO_HOLDOUT_FIX,
    augmented_enforced,
    blocks_on_failure,
    diversity_fixes,
    too_few_rows,
)
from synth_pipeline.checks.rule_checks import CheckInputs, RuleCheck, asset_checks, rule_check
from synth_pipeline.checks.text_rules import text_diversity, text_fidelity, text_only, text_privacy
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.generations import generation_key
from synth_pipeline.guarded import GuardedAssets, as_guarded
from synth_pipeline.model_cache import model_cache
from synth_pipeline.naming import Stage
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.provenance import KIND_COLUMN, ProvenanceKind
from synth_pipeline.quality.monitor_names import DIVERSITY_MONITOR, PRIVACY_MONITOR, UTILITY_MONITOR
from synth_pipeline.quality.sampling import fit_sample_positions
from synth_pipeline.verdicts import verdict_of

GENERATED_STAGES = (Stage.SYNTHETIC, Stage.AUGMENTED)


QUALITY_CHECK_NAMES = ("fidelity", "privacy", "utility", "diversity")


def build_quality_checks(
    pipeline: GuardedAssets, only: Collection[str] | None = None
) -> list[dg.AssetChecksDefinition]:
    """The checks of :func:`quality_rules`, one step per asset."""
    return asset_checks(quality_rules(pipeline, only), label="quality_checks")


def quality_rules(pipeline: GuardedAssets, only: Collection[str] | None = None) -> list[RuleCheck]:
    """The quality checks of a pipeline (see the module docs), reading its policy resource.

    Args:
        pipeline: The pipeline.
        only: Names of the checks to build (default: all of :data:`QUALITY_CHECK_NAMES`).
    """
    pipeline = as_guarded(pipeline)
    unknown = sorted(set(only or ()) - set(QUALITY_CHECK_NAMES))
    if unknown:
        raise SynthPipelineError(f"unknown quality check(s) {unknown}; choose from {list(QUALITY_CHECK_NAMES)}")
    checks = []
    for stage, key in pipeline.roles():
        if stage not in GENERATED_STAGES:
            continue
        # SMOTE interpolates between real rows: it sits close to them and narrows their
        # spread by design, so for augmented data these two warn unless the policy enforces them.
        enforced = None if stage is Stage.SYNTHETIC else augmented_enforced
        enforced_by = None if stage is Stage.SYNTHETIC else "enforce_quality_on_augmented"
        checks += [
            rule_check(pipeline, stage, "fidelity", partial(_fidelity, stage=stage),
                       "SDMetrics quality (column shapes, pair trends) and adversarial AUC against the real "
                       "fit input.", asset_key=key),
            rule_check(pipeline, stage, "privacy", partial(_privacy, stage=stage),
                       "Copies of training rows beyond chance, DCR share and membership-inference AUC, each "
                       "against the sealed holdout, within the policy.", enforced=enforced, enforced_by=enforced_by,
                       asset_key=key),
            rule_check(pipeline, stage, "utility", partial(_utility, stage=stage),
                       "Train-on-generated vs train-on-real score on the sealed holdout (same model).",
                       asset_key=key),
            rule_check(pipeline, stage, "diversity", partial(_diversity, stage=stage),
                       "Collapse monitors (variance, categories, tails, distinct rows) against real data.",
                       enforced=enforced, enforced_by=enforced_by, asset_key=key),
        ]
    checks.append(rule_check(pipeline, Stage.TRAINING_MIX, "diversity", partial(_diversity, stage=Stage.TRAINING_MIX),
                             "Collapse monitors (variance, categories, tails, distinct rows) against real data."))
    wanted = set(only or QUALITY_CHECK_NAMES)
    return [check for check in checks if check.name in wanted]


def _real(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame[KIND_COLUMN] == ProvenanceKind.REAL.value].reset_index(drop=True)


def _of_classes(frame: pd.DataFrame, like: pd.DataFrame, label_column: str) -> pd.DataFrame:
    return frame[frame[label_column].isin(like[label_column].unique())].reset_index(drop=True)


def _control_holdout(inputs: CheckInputs, stage: Stage, generated: pd.DataFrame) -> pd.DataFrame:
    """The sealed holdout rows a generated stage's fit input is compared with: for augmentation, of its classes.

    The control must be drawn like the fit input: SMOTE is fitted on the classes it tops up,
    so a holdout of every class would sit farther from its rows than the fit input does by
    its label alone, and the DCR share and the fidelity control would read that as evidence.
    """
    holdout = _real(inputs.read(Stage.REAL_HOLDOUT))
    if stage is Stage.AUGMENTED:
        return _of_classes(holdout, generated, inputs.pipeline.label_column)
    return holdout


def fit_input(inputs: CheckInputs, stage: Stage, generated: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The real rows a generated stage was made from, and where they came from (see module docs).

    The generator's asset names its fit input in its materialization metadata
    (``fitted_on_asset`` and ``fitted_on_generation``, see :mod:`synth_pipeline.metadata`);
    without them, this generation's fresh real rows (the real arrivals, else the real train
    split) stand in. A generator fitted on a seeded sample of its fit input (metadata
    ``fit_sample_seed``, ``fit_rows`` of ``fit_sampled_from_rows``; ``synthesizer.max_fit_rows``)
    is judged against the same sample, drawn again from the stored rows.
    """
    label = inputs.pipeline.label_column
    fresh_role = inputs.fresh_real_role()
    fresh = inputs.describe(fresh_role)
    if stage is Stage.AUGMENTED:
        return _of_classes(_real(inputs.read(fresh_role)), generated, label), fresh
    metadata = inputs.materialization_metadata(stage)
    asset, generation = metadata.get("fitted_on_asset"), metadata.get("fitted_on_generation")
    if asset is None:
        rows, fitted_on = _real(inputs.read(fresh_role)), fresh
    else:
        partition = str(generation) if isinstance(generation, int) and generation > 0 else None
        rows = _fitted_sample(inputs.store.read(dg.AssetKey.from_user_string(str(asset)), partition), metadata)
        rows = _real(rows)
        fitted_on = str(metadata.get("fitted_on") or asset)
        if len(rows) and "fit_sample_seed" in metadata:
            fitted_on += f" (the {metadata.get('fit_rows'):,} rows fitted, a seeded sample)"
    rows = inputs.without_identifiers(rows)
    if rows.empty:
        train = inputs.key(Stage.REAL_TRAIN).to_user_string()
        return _real(inputs.read(Stage.REAL_TRAIN)), f"{train} ({fitted_on} holds no real rows)"
    return rows, fitted_on


def _fitted_sample(stored: pd.DataFrame, metadata: dict[str, Any]) -> pd.DataFrame:
    """The rows of ``stored`` the generator was fitted on, drawn again as the stage drew them.

    Raises:
        SynthPipelineError: The stored rows are not the ones sampled from (another row count).
    """
    seed, rows, total = (metadata.get(name) for name in ("fit_sample_seed", "fit_rows", "fit_sampled_from_rows"))
    if not isinstance(seed, int) or not isinstance(rows, int):
        return stored
    if total != len(stored):
        raise SynthPipelineError(
            f"the generator was fitted on a sample of {total} stored rows, but {len(stored)} are stored now: the fit "
            "input was rewritten after the generation ran; rematerialize the generated asset")
    positions = fit_sample_positions(len(stored), rows, seed)
    return stored if positions is None else stored.iloc[positions].reset_index(drop=True)


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
        outcomes: The rule outcomes (stored as ``passed`` and ``verdict``, :func:`~synth_pipeline.verdicts.verdict_of`).
        limits: The policy limits the figures were compared with, as ``limit_*`` columns.
        blocking: Whether a failure blocks (False: the check only warns), stored as ``blocking``.
    """
    # ``verdict`` too: a check whose rules were all skipped passed without judging anything, and the
    # report's tables show it as skipped, not as passed.
    row = {"generation": inputs.generation,
           **{name: value for name, value in figures.items() if not isinstance(value, (dict, list, tuple))},
           **limits, "passed": all(outcome.passed for outcome in outcomes), "blocking": blocking,
           "verdict": verdict_of(outcomes).value}
    inputs.store.write_monitor(inputs.key(stage), monitor, generation_key(inputs.generation),
                               pd.DataFrame([row]))


def _nothing_generated(
    generated: pd.DataFrame, inputs: CheckInputs, stage: Stage
) -> tuple[list[RuleOutcome], dict[str, Any]] | None:
    """A skipped result when the checked stage holds no rows (None when it holds some): every
    figure of a quality check is undefined on no rows (see :mod:`synth_pipeline.no_rows`)."""
    if len(generated):
        return None
    outcome = inputs.no_rows_outcome(f"{stage.value} rows to measure", stage)
    return [outcome], {"rows": 0}


def _fidelity(inputs: CheckInputs, *, stage: Stage):
    """Quality score (bounded by the holdout control) and adversarial AUC (Hanley-McNeil bound).

    Below ``min_fidelity_rows`` generated rows both rules warn (not judged); the figures
    are still computed and shown.
    """
    from synth_pipeline.quality.fidelity import (
        adversarial_auc,
        control_quality_score,
        quality_score,
        quality_upper_bound,
    )

    generated = inputs.read(stage)
    if (empty := _nothing_generated(generated, inputs, stage)) is not None:
        return empty
    real, source = fit_input(inputs, stage, generated)
    holdout = _control_holdout(inputs, stage, generated)
    text_outcomes, text_metadata = text_fidelity(inputs, stage, generated, holdout)
    if (only_text := text_only(inputs, generated, "fidelity")) is not None:
        return [*text_outcomes, only_text], {"compared_with": source, "real_rows": len(real),
                                             "generated_rows": len(generated), **text_metadata}
    generated, real, holdout = (inputs.without_text(frame) for frame in (generated, real, holdout))
    seed = inputs.pipeline.seed + inputs.generation
    label = inputs.pipeline.label_column
    if inputs.label_task.is_regression:  # a quantity: scored as a number (KS), not as categories
        label = ""
    policy = inputs.policy
    too_few = too_few_rows(len(generated), policy.min_fidelity_rows, "generated rows")
    budget = policy.fidelity_pair_row_budget
    categorical = inputs.categorical_columns
    quality = quality_score(real, generated, label_column=label, seed=seed, pair_row_budget=budget,
                            categorical=categorical)
    control = None
    if too_few is None and quality.undefined is None and len(holdout):
        control = control_quality_score(real, holdout, quality.synthetic_rows_used, label_column=label, seed=seed,
                                        pair_row_budget=budget, categorical=categorical)
    quality_cause = too_few or quality.undefined
    if quality_cause is None:
        quality_cause = ("no sealed holdout rows to serve as the control" if control is None
                         else control.undefined and f"the holdout control cannot be scored: {control.undefined}")
    bound = float("nan") if control is None or quality_cause else quality_upper_bound(quality.score, control.score)
    adversarial = adversarial_auc(real, generated, seed=seed, max_rows=policy.adversarial_sample_rows)
    settings = GENERATOR_SETTINGS[stage]
    # Named inline: the CLI and the report show the evidence line, not the check's metadata.
    lowest = quality.lowest()
    differ = f" (lowest SDMetrics scores: {lowest})" if lowest else ""
    control_rows = 0 if control is None else control.synthetic_rows_used
    outcomes = [
        RuleOutcome(
            "SDMetrics quality score", quality.score,
            policy.min_quality_score, "min", confidence_bound=bound,
            bound_name=f"upper bound, adding the shortfall of {control_rows} unseen holdout rows scored alike",
            sample_size=quality.synthetic_rows_used, sample_unit="generated rows", unjudged=quality_cause,
            basis=None if control is None or quality_cause else quality_bound_basis(
                quality.score, control.score, control_rows, policy.min_quality_score),
            fix=(MORE_ROWS_FIX.format(field="min_fidelity_rows") if too_few or quality.undefined
                 else NO_HOLDOUT_FIX if quality_cause
                 else f"the generated columns or column pairs differ from the fit input{differ}: "
                      f"try {settings} or, if acceptable, lower `min_quality_score`"),
        ),
        RuleOutcome(
            "adversarial AUC (real vs generated)", adversarial.auc, policy.max_adversarial_auc, "max",
            confidence_bound=adversarial.auc_lower_bound,
            sample_size=adversarial.real_rows + adversarial.synthetic_rows, sample_unit="real and generated rows",
            unjudged=too_few or adversarial.undefined,
            fix=(MORE_ROWS_FIX.format(field="min_fidelity_rows") if too_few or adversarial.undefined
                 else f"a classifier tells generated rows from real ones{differ}: try {settings} or, if "
                      "acceptable, raise `max_adversarial_auc`"),
        ),
    ]
    per_column = pd.Series(quality.per_column, name="column shape score", dtype=float).sort_values()
    return outcomes + text_outcomes, {
        **text_metadata,
        "compared_with": source,
        "real_rows": len(real),
        "generated_rows": len(generated),
        "quality_score": dg.MetadataValue.float(quality.score),
        "quality_score_upper_bound": dg.MetadataValue.float(bound),
        "control_quality_score": dg.MetadataValue.float(float("nan") if control is None else control.score),
        "control_rows": 0 if control is None else control.synthetic_rows_used,
        "column_shapes": dg.MetadataValue.float(quality.column_shapes),
        "column_pair_trends": dg.MetadataValue.float(quality.column_pair_trends),
        "column_shape_scores": dg.MetadataValue.json(quality.per_column),
        "worst_columns": dg.MetadataValue.md(per_column.head(10).rename_axis("column").to_frame().to_markdown()),
        "sdmetrics_generated_rows_used": quality.synthetic_rows_used,
        "sdmetrics_real_rows_used": quality.real_rows_used,
        "sdmetrics_subsampled": quality.subsampled,
        "adversarial_auc": dg.MetadataValue.float(adversarial.auc),
        "adversarial_auc_lower_bound": dg.MetadataValue.float(adversarial.auc_lower_bound),
        "adversarial_rows": dg.MetadataValue.json(
            {"real": adversarial.real_rows, "generated": adversarial.synthetic_rows, "folds": adversarial.folds}
        ),
    }


def quality_bound_basis(score: float, control: float, rows: int, limit: float) -> str:
    """What the quality score's bound is, for its evidence line (see :mod:`synth_pipeline.quality.fidelity`).

    The bound is the score plus the shortfall of one same-size holdout control: a correction for the
    score's small-sample bias, not a confidence bound. When the control scores no higher than the generated
    rows, the bound reaches 1 and ``min_quality_score`` cannot fail at this size; the line says so, with
    what would let it bind, rather than reading as a score that was shown to be good enough.
    """
    shortfall = max(0.0, 1.0 - control)
    basis = (f"the bound corrects the score for its sample size by one control draw ({rows} unseen holdout rows "
             f"score {control:.3g}, a shortfall of {shortfall:.3g}); it is not a confidence bound")
    if score + shortfall < 1.0:
        return basis
    return (f"{basis}; it reaches 1: at {rows} generated rows, unseen real rows score no higher than these, so "
            f"`min_quality_score` ({limit:g}) cannot fail here and the score shows no more than that; more "
            "generated rows (a larger control, a smaller shortfall) would let the limit bind")


def _privacy(inputs: CheckInputs, *, stage: Stage):
    from synth_pipeline.quality.privacy import evaluate_privacy

    generated = inputs.read(stage)
    if (empty := _nothing_generated(generated, inputs, stage)) is not None:
        return empty
    training, source = fit_input(inputs, stage, generated)
    holdout = _control_holdout(inputs, stage, generated)
    text_outcomes, text_metadata = text_privacy(inputs, stage, generated, training, holdout)
    if (only_text := text_only(inputs, generated, "privacy")) is not None:
        outcomes = [*text_outcomes, *_real_key_outcomes(inputs, stage), only_text]
        return outcomes, {"compared_with": source, "holdout": inputs.key(Stage.REAL_HOLDOUT).to_user_string(),
                          **text_metadata}
    generated, training, holdout = (inputs.without_text(frame) for frame in (generated, training, holdout))
    report = evaluate_privacy(generated, training, holdout, seed=inputs.pipeline.seed + inputs.generation,
                              max_candidates=inputs.policy.membership_sample_rows,
                              dcr_rows=inputs.policy.dcr_sample_rows)
    outcomes = _privacy_outcomes(report, inputs.policy, stage) + _real_key_outcomes(inputs, stage) + text_outcomes
    policy = inputs.policy
    figures = report.to_dict()
    encoding = figures.pop("encoding")
    _store_figures(inputs, stage, PRIVACY_MONITOR, figures, outcomes, limits={
        "limit_exact_copy_fraction": policy.max_exact_copy_fraction,
        "limit_dcr_share": policy.max_dcr_share,
        "limit_membership_auc": policy.max_membership_auc,
    }, blocking=blocks_on_failure(stage, policy))
    copies = report.copies
    return outcomes, {
        **text_metadata,
        "compared_with": source,
        "holdout": inputs.key(Stage.REAL_HOLDOUT).to_user_string(),
        "copies_compared": (
            f"{copies.compared_rows} rows of the fit input ({source}, {report.training_rows} rows) against "
            f"{copies.compared_rows} of the sealed holdout ({report.holdout_rows} rows), the larger side "
            "subsampled (seeded) to the smaller one's size"),
        **{name: dg.MetadataValue.float(float(value)) if isinstance(value, float) else value
           for name, value in figures.items()},
        "distance_encoding": dg.MetadataValue.json(encoding),
    }


def _real_key_outcomes(inputs: CheckInputs, stage: Stage) -> list[RuleOutcome]:
    """Generated rows holding a real record key (:mod:`synth_pipeline.identifiers`); none without identifier columns."""
    from synth_pipeline.identifiers import real_keys, real_keys_in

    if not inputs.identifiers:
        return []
    # only the key columns: the rest of both tables is read by the other privacy rules
    from synth_pipeline.stage_files import read_parquet

    generated = read_parquet(inputs.path(stage), columns=inputs.identifiers)
    known = real_keys(inputs.store, inputs.pipeline.real_source, inputs.identifiers)
    counts = real_keys_in(generated, known, inputs.identifiers)
    found = {column: count for column, count in counts.items() if count}
    detail = ", ".join(f"{column}: {count}" for column, count in found.items()) or "none"
    return [RuleOutcome(
        f"generated rows holding a real record key ({detail}; identifier columns {', '.join(inputs.identifiers)})",
        float(sum(found.values())), 0.0, "max", public_rule="generated rows holding a real record key",
        sample_size=len(generated),
        fix="a generator copied real keys into generated rows: let the stage give fresh keys (leave the column in "
            "the spec's identifier_columns, or leave identifier_columns unset so keys are detected) or drop the "
            "column from the source",
    )]


_PRIVACY_FIX = "{what}: {remedy} or, if acceptable, raise `{field}`"
_PRIVACY_REMEDY = {
    Stage.SYNTHETIC: ("make the generator generalise rather than remember (fewer epochs or a smaller model in "
                      "`synthesizer.params`, a differentially private `synthesizer.method`, more fit rows)"),
    Stage.AUGMENTED: ("interpolate less close to the real rows (fewer interpolated rows, `augmentation.target_ratio`; "
                      "more neighbours to draw from, `augmentation.k_neighbors`)"),
}


def _privacy_outcomes(report: Any, policy: SynthPolicy, stage: Stage) -> list[RuleOutcome]:
    """The three privacy rules, each judged on its 95 % lower bound (see :mod:`synth_pipeline.quality.privacy`).

    Below ``min_fidelity_rows`` generated rows the DCR share and the membership AUC warn (not
    judged): a few rows cannot show privacy, and their pass would claim it. The copy rule stays
    judged at any size: a copy of a training row is evidence however few rows there are.

    The copy rule compares copies of the fit input with copies of the sealed holdout, so
    copies that low-cardinality data makes by chance do not count; it cannot be judged
    without holdout rows.
    """
    copies, dcr = report.copies, report.dcr
    generator = "augmentation" if stage is Stage.AUGMENTED else "generator"
    remedy = _PRIVACY_REMEDY[stage]
    no_holdout = "no sealed holdout rows to compare with" if report.holdout_rows == 0 else None
    holdout_fix = "seal real rows away (spec `holdout_fraction`, a source with more rows)"
    # A handful of generated rows gives the distance measures no power: a pass would claim privacy was
    # shown. They warn below the minimum fidelity uses; copies are counted, and a copy is evidence at any size.
    too_few = too_few_rows(report.synthetic_rows, policy.min_fidelity_rows, "generated rows")
    distance_cause = no_holdout or too_few
    distance_fix = holdout_fix if no_holdout else MORE_ROWS_FIX.format(field="min_fidelity_rows") if too_few else None
    return [
        RuleOutcome(
            f"copies of training rows beyond chance (share of generated rows; {copies.training_only_copies} copy a "
            f"content only in training, {copies.holdout_only_copies} one only in the holdout, "
            f"{copies.compared_rows} rows a side)",
            copies.excess_copy_fraction, policy.max_exact_copy_fraction, "max",
            public_rule="copies of training rows beyond chance (share of generated rows)",
            confidence_bound=copies.excess_copy_fraction_lower_bound, sample_size=report.synthetic_rows,
            fix=holdout_fix if no_holdout else _PRIVACY_FIX.format(
                what=f"the {generator} replays training rows", field="max_exact_copy_fraction", remedy=remedy),
            unjudged=no_holdout,
        ),
        RuleOutcome(
            "DCR share, closer to training than holdout (size-adjusted)", dcr.dcr_share, policy.max_dcr_share, "max",
            confidence_bound=dcr.dcr_share_lower_bound, sample_size=report.dcr_rows_used,
            fix=distance_fix or _PRIVACY_FIX.format(
                what=f"the {generator}'s rows sit closer to training rows than to unseen real rows",
                field="max_dcr_share", remedy=remedy),
            unjudged=distance_cause,
        ),
        RuleOutcome(
            "membership-inference AUC (distance attack)", report.membership_auc, policy.max_membership_auc, "max",
            confidence_bound=report.membership_auc_lower_bound, sample_size=report.membership_candidates,
            sample_unit="candidate records", fix=distance_fix or _PRIVACY_FIX.format(
                what="the generated rows tell training records from unseen ones", field="max_membership_auc",
                remedy=remedy),
            unjudged=distance_cause,
        ),
    ]


NEAR_CHANCE_FIX = (
    "the features do not predict the label well enough for a real-trained model to beat chance on these rows, so "
    "no generator can be compared with it: check that `label_column` is the column you mean to predict and that "
    "its values are right (not shuffled, not a constant or an identifier), keep the columns that carry the signal "
    "(not in `identifier_columns`), and bring more rows (a bigger source; a bigger holdout, spec "
    "`holdout_fraction`) so a weak signal can clear chance; until then utility cannot be judged for this label")
"""The fix when the real-trained model is not clearly above chance (the ratio is not informative)."""


SIZE_MATCHED_FIX = (
    "generate more rows (spec `synthesizer.num_rows` or `synthesizer.rows_per_real_row`): TRTR is compared on real "
    "samples of as many rows as the generated ones, and at this size even real rows do not train a model clearly "
    "above chance, so no generator can show utility here")
"""The fix when only the size-matched control is near chance (the model trained on every real row is not)."""


def size_matched_note(scores: Any) -> str | None:
    """How TRTR was sized, for the utility evidence: ``TRTR from real samples of 25 rows, as many as the generated
    ones (...)``; None when TRTR trained on every real row."""
    rows = int(getattr(scores, "control_rows", 0) or 0)
    if not rows:
        return None
    generated = int(scores.second_rows_used)
    rounding = "" if rows == generated else f" ({generated}, to within the class-stratified sample's rounding)"
    return (f"TRTR from real samples of {rows} rows, as many as the generated ones{rounding} (mean of "
            f"{scores.control_draws} "
            f"seeded draws, each refitted; the model trained on all {scores.real_rows_used} real rows scores "
            f"{float(scores.trained_on_real_all_rows):.3g}): a model trained on fewer rows scores lower whatever "
            "the rows, so the limit is spent on the generator, not on the size gap")


def utility_fix(cause: str | None, *, trained_on: str, limit: float, skill: bool = False,
                stage: Stage = Stage.SYNTHETIC) -> str:
    """What to change when the utility rule fails (``cause`` None) or cannot be judged (``cause``).

    ``skill``: the rule judges the skill ratio (:func:`utility_outcome`), and the fix says what that
    figure measures (the share of the real-trained model's gain over chance), not the plain ratio.
    ``stage``: the stage that made the rows, whose settings the fix names (SMOTE's are ``augmentation.*``).
    """
    if cause is None:
        shortfall = (f"keeps less than {limit:g} of the real-trained model's gain over chance" if skill
                     else f"scores below {limit:g} x the real-trained one")
        if stage is Stage.AUGMENTED:
            return (f"the model trained on {trained_on} rows {shortfall}: the interpolated rows blur the label's "
                    f"relation to the features; try {GENERATOR_SETTINGS[stage]} or, if acceptable, lower "
                    "`min_tstr_trtr_ratio`")
        return (f"the model trained on {trained_on} rows {shortfall}: a generator "
                "that keeps the label's relation to the features (another `synthesizer.method` or its "
                "`synthesizer.params`), more generated rows, or, if acceptable, lower `min_tstr_trtr_ratio`")
    if cause.startswith("not enough rows"):
        return MORE_ROWS_FIX.format(field="min_utility_rows")
    if cause.startswith("not informative") and "too few for any generator, real rows included" in cause:
        return SIZE_MATCHED_FIX
    if cause.startswith("not informative"):
        return NEAR_CHANCE_FIX
    subject = cause.split(" holds ")[0]
    if " holds " in cause and "real" in subject and "+" not in subject:
        return ("fit the generator on rows of every class: more real rows per generation (fewer "
                "`mix.real_arrival_batches`, a bigger source) or `synthesizer.fit_on: real`")
    if "one class" in cause or "no labelled rows" in cause:
        return ("sample every class: more generated rows (spec `synthesizer.num_rows` or "
                "`synthesizer.rows_per_real_row`) from a fit input that holds every class")
    return ("the real-trained model learns nothing on the holdout: check `label_column`, and give the holdout and "
            "the fit input more rows (spec `holdout_fraction`, a bigger source)")


def chance_reaches_limit(scores: Any, limit: float) -> bool:
    """Whether a model that learned nothing would already reach ``limit`` on the plain ratio.

    With ``k`` classes such a model scores chance, ``1 / k``, so its plain ratio is
    ``(1 / k) / TRTR``: at or above ``limit`` the plain ratio cannot tell a generator that
    kept the label's signal from one that lost it (binary label, limit 0.7: TRTR <= 0.714).
    R² has chance 0, so this never holds for regression.
    """
    chance, real = float(scores.chance), float(scores.trained_on_real)
    return math.isfinite(chance) and chance > 0 and real > 0 and chance / real >= limit


def utility_outcome(scores: Any, cause: str | None, *, rule: str, trained_on: str, limit: float,
                    note: str | None = None, stage: Stage = Stage.SYNTHETIC) -> RuleOutcome:
    """The utility rule: the plain TSTR/TRTR ratio, or the skill ratio where a model at chance reaches the limit.

    Where :func:`chance_reaches_limit` holds, the rule judges the ratio with chance taken out
    of both scores, ``(max(TSTR, c) - c) / (TRTR - c)``, by its bootstrap upper bound against
    the same limit (see :mod:`synth_pipeline.quality.utility`, "Skill above chance"), and its
    evidence says why that figure and not the plain ratio is judged; elsewhere the plain
    ratio, as calibrated by the trust benchmark. Either way the rule names the scores the
    figure is made of, and the sample size is the holdout's rows the models were scored on.

    Args:
        scores: The :class:`~synth_pipeline.quality.utility.UtilityScore`.
        cause: Why the rule is not judged, or None.
        rule: The rule's name (the skill variant says so after it).
        trained_on: What the second model was trained on, for the fix.
        limit: ``min_tstr_trtr_ratio``.
        note: Appended to the evidence (e.g. how the figures relate to the evaluation's own).
        stage: The stage that made the rows (its settings are named in the fix).
    """
    skill = cause is None and chance_reaches_limit(scores, limit)
    fix = utility_fix(cause, trained_on=trained_on, limit=limit, skill=skill, stage=stage)
    note = "; ".join(filter(None, (size_matched_note(scores), note))) or None
    generated, real, chance = (float(scores.trained_on_generated), float(scores.trained_on_real),
                               float(scores.chance))
    if skill:
        floored = " (a TSTR below chance counts as chance)" if generated < chance else ""
        basis = (f"judged on skill above chance, not on the plain ratio TSTR / TRTR = {scores.ratio:.3g}: a model that "
                 f"learned nothing scores chance {chance:.3g}, so its plain ratio would be {chance:.3g} / {real:.3g} "
                 f"= {chance / real:.3g}, already at or above the limit {limit:g}; the plain ratio cannot tell a "
                 "generator that kept the label's signal from one that lost it here")
        return RuleOutcome(
            f"{rule}, on skill above chance: (TSTR - chance) / (TRTR - chance) with TSTR {generated:.3g}, TRTR "
            f"{real:.3g}, chance {chance:.3g}{floored}",
            scores.skill_ratio, limit, "min", public_rule=f"{rule}, on skill above chance",
            confidence_bound=scores.skill_ratio_upper_bound, sample_size=scores.holdout_rows,
            sample_unit="holdout rows", fix=fix, basis="; ".join(filter(None, (basis, note))))
    measured = math.isfinite(generated) and math.isfinite(real)
    return RuleOutcome(f"{rule}: TSTR {generated:.3g} / TRTR {real:.3g}" if measured else rule, scores.ratio, limit,
                       "min", public_rule=rule, confidence_bound=scores.ratio_upper_bound,
                       sample_size=scores.holdout_rows, sample_unit="holdout rows", unjudged=cause, fix=fix,
                       basis=note)


def judged_utility_figure(scores: Any, cause: str | None, limit: float) -> str:
    """Which figure :func:`utility_outcome` judges: ``tstr_trtr_skill_ratio`` or ``tstr_trtr_ratio``
    (the metadata names of both), for views that show the judged figure beside its verdict."""
    return "tstr_trtr_skill_ratio" if cause is None and chance_reaches_limit(scores, limit) else "tstr_trtr_ratio"


def utility_chance_figures(scores: Any) -> dict[str, float | bool]:
    """The chance-related figures of a :class:`~synth_pipeline.quality.utility.UtilityScore` for metadata:
    ``chance_score``, ``trtr_score_lower_bound``, ``tstr_trtr_skill_ratio`` (and its upper bound) and
    ``tstr_trtr_informative`` (False when TRTR is not clearly above chance)."""
    return {
        "chance_score": float(scores.chance),
        "trtr_score_lower_bound": float(scores.trained_on_real_lower_bound),
        "tstr_trtr_skill_ratio": float(scores.skill_ratio),
        "tstr_trtr_skill_ratio_upper_bound": float(scores.skill_ratio_upper_bound),
        "tstr_trtr_informative": scores.not_informative is None,
    }


def utility_size_figures(scores: Any) -> dict[str, float | int]:
    """What TRTR was trained on, for metadata: ``trtr_control_rows`` (rows of each size-matched real sample,
    0: every real row), ``trtr_control_draws``, and ``trtr_score_all_real_rows`` with its 95 % lower bound
    (the model trained on every real fit-input row, reported whichever TRTR is compared)."""
    return {
        "trtr_control_rows": int(scores.control_rows),
        "trtr_control_draws": int(scores.control_draws),
        "trtr_score_all_real_rows": float(scores.trained_on_real_all_rows),
        "trtr_score_all_real_rows_lower_bound": float(scores.trained_on_real_all_rows_lower_bound),
    }


def utility_figure_metadata(scores: Any) -> dict[str, Any]:
    """:func:`utility_chance_figures` and :func:`utility_size_figures` as Dagster metadata values (floats as
    ``MetadataValue.float``), for the utility checks and ``evaluation_on_real``."""
    figures = {**utility_chance_figures(scores), **utility_size_figures(scores)}
    return {name: dg.MetadataValue.float(value) if isinstance(value, float) else value
            for name, value in figures.items()}


def _utility(inputs: CheckInputs, *, stage: Stage):
    """TSTR / TRTR with its bootstrap upper bound (see :mod:`synth_pipeline.quality.utility`).

    Where the generated rows are fewer than the real fit input's, TRTR is the size-matched control
    (real samples of as many rows, "Same size" in that module) and the evidence says so.

    Below ``min_utility_rows`` training rows (either model) the rule warns (not judged),
    and only the point estimate is computed; an undefined ratio (a training set with one
    class, TRTR 0) warns with its cause, and so does a ratio that is not informative (TRTR's
    95 % lower bound not above chance: 1/k balanced accuracy, R² 0).
    """
    from synth_pipeline.quality.utility import UTILITY_FITS, utility_scores

    generated = inputs.read(stage)
    if (empty := _nothing_generated(generated, inputs, stage)) is not None:
        return empty
    guarded = inputs.pipeline
    policy = inputs.policy
    real, source = fit_input(inputs, stage, generated)
    with_real = stage is Stage.AUGMENTED
    if with_real:  # augmentation only tops up some classes: score real + augmented
        real = inputs.without_identifiers(_real(inputs.read(inputs.fresh_real_role())))
    trained_on = "real + augmented" if with_real else "generated"
    too_few = (too_few_rows(len(generated) + (len(real) if with_real else 0), policy.min_utility_rows,
                        f"{trained_on} rows to train on")
               or too_few_rows(len(real), policy.min_utility_rows, "real fit-input rows to train on"))
    scores = utility_scores(
        generated, real, _real(inputs.read(Stage.REAL_HOLDOUT)), label_column=guarded.label_column,
        factory=guarded.model_factory, seed=guarded.seed, with_real=with_real, fits=1 if too_few else UTILITY_FITS,
        task=inputs.label_task.task, cache=model_cache(inputs.store), max_rows=inputs.utility_rows,
        text=inputs.text_columns,
    )
    cause = scores.undefined or too_few or scores.not_informative
    judged = judged_utility_figure(scores, cause, policy.min_tstr_trtr_ratio)
    outcomes = [utility_outcome(scores, cause, rule=f"utility ratio ({trained_on} / real, {scores.metric})",
                                trained_on=trained_on, limit=policy.min_tstr_trtr_ratio, stage=stage)]
    _store_figures(inputs, stage, UTILITY_MONITOR, {
        "metric": scores.metric, "tstr_score": scores.trained_on_generated, "trtr_score": scores.trained_on_real,
        "tstr_trtr_ratio": scores.ratio, "tstr_trtr_ratio_upper_bound": scores.ratio_upper_bound,
        "generated_rows": scores.generated_rows, "real_rows": scores.real_rows,
        "holdout_rows": scores.holdout_rows, "second_model_trained_on": trained_on,
        **utility_chance_figures(scores), **utility_size_figures(scores), "tstr_trtr_judged": judged,
    }, outcomes, limits={"limit_tstr_trtr_ratio": policy.min_tstr_trtr_ratio})
    return outcomes, {
        "compared_with": source,
        "metric": scores.metric,
        "tstr_score": dg.MetadataValue.float(scores.trained_on_generated),
        "trtr_score": dg.MetadataValue.float(scores.trained_on_real),
        "tstr_trtr_ratio": dg.MetadataValue.float(scores.ratio),
        "tstr_trtr_ratio_upper_bound": dg.MetadataValue.float(scores.ratio_upper_bound),
        **utility_figure_metadata(scores),
        "tstr_trtr_judged": judged,
        "utility_fits": scores.fits,
        "second_model_trained_on": trained_on,
        "train_rows": dg.MetadataValue.json({"generated": scores.generated_rows, "real": scores.real_rows}),
        "train_rows_used": dg.MetadataValue.json({trained_on: scores.second_rows_used, "real": scores.real_rows_used,
                                                  "cap": inputs.utility_rows}),
        "holdout_rows": scores.holdout_rows,
    }


def _diversity_outcomes(report: Any, policy: SynthPolicy, stage: Stage = Stage.SYNTHETIC) -> list[RuleOutcome]:
    """The diversity rules of a :class:`~synth_pipeline.quality.diversity.DiversityReport`.

    Lower limits are compared with the 95 % upper bounds, upper limits (over-dispersion)
    with the 95 % lower bounds; a monitor with nothing to measure is skipped with the
    reason (``not applicable: ...``), never dropped.
    """
    na = {monitor: f"not applicable: {why}" for monitor, why in report.unmeasured.items()}
    low, high = report.min_variance_column, report.max_variance_column
    rows = report.rows
    # The judged column is the one whose bound decides, which need not hold the extreme point estimate:
    # the rule says so. The per-column figures are Dagster metadata only, so a failing line names its columns.
    fixes = diversity_fixes(stage)
    lost, wide = fixes["lost"], fixes["wide"]
    outcomes = [
        RuleOutcome(_judged_column("variance ratio, smallest", low, "upper"),
                    report.variance_ratios.get(low, float("nan")), policy.min_variance_ratio, "min",
                    public_rule="variance ratio, smallest column",
                    confidence_bound=report.min_variance_upper_bound, sample_size=rows,
                    fix=lost.format(field="min_variance_ratio")),
        RuleOutcome(_judged_column("variance ratio, largest", high, "lower"),
                    report.variance_ratios.get(high, float("nan")), policy.max_variance_ratio, "max",
                    public_rule="variance ratio, largest column",
                    confidence_bound=report.max_variance_lower_bound, sample_size=rows,
                    fix=wide.format(field="max_variance_ratio")),
        RuleOutcome(_judged_column("category coverage, smallest", report.min_category_column, "upper"),
                    report.min_category_coverage, policy.min_category_coverage, "min",
                    public_rule="category coverage, smallest column",
                    confidence_bound=report.min_category_upper_bound, sample_size=rows,
                    fix=lost.format(field="min_category_coverage")),
        RuleOutcome("tail coverage beyond real 1st/99th percentiles (lost tails)", report.tail_coverage,
                    policy.min_tail_coverage, "min", confidence_bound=report.tail_coverage_upper_bound,
                    sample_size=rows, fix=_tail_columns(report.tail_coverages, lowest=True)
                    + lost.format(field="min_tail_coverage")),
        RuleOutcome("tail coverage beyond real 1st/99th percentiles (over-dispersed tails)", report.tail_coverage,
                    policy.max_tail_coverage, "max", confidence_bound=report.tail_coverage_lower_bound,
                    sample_size=rows, fix=_tail_columns(report.tail_coverages, lowest=False)
                    + wide.format(field="max_tail_coverage")),
        RuleOutcome("distinct-row ratio", report.distinct_row_ratio, policy.min_distinct_row_ratio, "min",
                    sample_size=rows, fix=lost.format(field="min_distinct_row_ratio")),
    ]
    monitors = ["variance", "variance", "category", "tail", "tail", "distinct"]
    return [
        RuleOutcome(o.rule, o.observed, o.threshold, o.bound, public_rule=o.public_rule, sample_size=o.sample_size,
                    unjudged=na[monitor], skipped=True) if monitor in na else o
        for monitor, o in zip(monitors, outcomes, strict=True)
    ]


def _judged_column(rule: str, column: str | None, bound: str) -> str:
    """``variance ratio, smallest (age, by 95 % upper bound)``: the column judged and why that one; ``..., smallest
    column`` when there is none (the monitor is not applicable)."""
    return f"{rule} ({column}, by 95 % {bound} bound)" if column is not None else f"{rule} column"


def _tail_columns(coverages: dict[str, float], *, lowest: bool, count: int = 3) -> str:
    """``"the tails are pooled over N numeric columns, lowest a 0.20, b 0.50: "``: where a pooled tail
    coverage comes from, the most extreme columns first, to lead its fix ("" without any)."""
    if not coverages:
        return ""
    ordered = sorted(coverages.items(), key=lambda item: item[1], reverse=not lowest)[:count]
    named = ", ".join(f"{column} {coverage:.2f}" for column, coverage in ordered)
    return f"the tails are pooled over {len(coverages)} numeric columns, {'lowest' if lowest else 'highest'} {named}: "


def _diversity(inputs: CheckInputs, *, stage: Stage):
    from synth_pipeline.quality.diversity import measure_diversity

    data = inputs.read(stage)
    if (empty := _nothing_generated(data, inputs, stage)) is not None:
        return empty
    real = _real(inputs.read(Stage.REAL_TRAIN))
    if stage is Stage.AUGMENTED:
        real = _of_classes(real, data, inputs.pipeline.label_column)
    # Columns declared open (synthesizer.open_categories) hold made-up values by design: there
    # are no real categories for them to cover.
    opened = [c for c in inputs.pipeline.open_categories if c in data.columns]
    text_outcomes, text_metadata = text_diversity(inputs, stage, data, _control_holdout(inputs, stage, data))
    if (only_text := text_only(inputs, data, "diversity")) is not None:
        return [*text_outcomes, only_text], text_metadata
    data, real = inputs.without_text(data), inputs.without_text(real)
    report = measure_diversity(data.drop(columns=opened), real, categorical=inputs.categorical_columns)
    policy = inputs.policy
    outcomes = _diversity_outcomes(report, policy, stage) + text_outcomes
    trend_outcomes, trend_metadata = _collapse_trend(inputs, stage, data, real, list(report.variance_ratios))
    outcomes += trend_outcomes
    _store_figures(inputs, stage, DIVERSITY_MONITOR, report.headline(), outcomes, limits={
        "limit_variance_ratio": policy.min_variance_ratio,
        "limit_category_coverage": policy.min_category_coverage,
        "limit_tail_coverage": policy.min_tail_coverage,
        "limit_max_variance_ratio": policy.max_variance_ratio,
        "limit_max_tail_coverage": policy.max_tail_coverage,
        "limit_distinct_row_ratio": policy.min_distinct_row_ratio,
    }, blocking=blocks_on_failure(stage, policy))
    asset_key = inputs.key(stage)
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
        "not_applicable": dg.MetadataValue.json(report.unmeasured),
        "trend": dg.MetadataValue.md(trend[shown].to_markdown(index=False, floatfmt=".3f")),
        **trend_metadata,
        **text_metadata,
    }


def _collapse_trend(
    inputs: CheckInputs, stage: Stage, data: pd.DataFrame, real: pd.DataFrame, columns: list[str]
) -> tuple[list[RuleOutcome], dict[str, Any]]:
    """Store this generation's variance figures and judge the collapse trend (training mix only).

    The trend is judged on the training mix alone: it is what models train on and what a
    ``previous_mix`` generator is refitted on, so the recursive loop's drift shows there; the
    synthetic stage feeds the same mix (testing both would spend the false-alarm budget twice),
    and augmented rows narrow by design. Before ``trend_min_generations`` generations the
    trend is reported as not yet judged, in metadata only (see :mod:`synth_pipeline.quality.trend`).
    """
    from synth_pipeline.quality.trend import TREND_MONITOR, collapse_trend, trend_figures

    if stage is not Stage.TRAINING_MIX:
        return [], {}
    key = inputs.key(stage)
    figures = trend_figures(data, real, columns)
    figures.insert(0, "generation", inputs.generation)
    inputs.store.write_monitor(key, TREND_MONITOR, generation_key(inputs.generation), figures)
    policy = inputs.policy
    verdict = collapse_trend(
        inputs.store.monitor_history(key, TREND_MONITOR), inputs.generation,
        min_generations=policy.trend_min_generations, false_alarm_rate=policy.trend_false_alarm_rate,
        tolerance=policy.trend_tolerance,
    )
    outcome = verdict.outcome()
    return ([] if outcome is None else [outcome]), {"collapse_trend": dg.MetadataValue.json(verdict.to_metadata())}
