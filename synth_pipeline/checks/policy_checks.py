"""The policy's rules as blocking Dagster asset checks.

=====================  ===============  =====================================================
check                  asset            rule
=====================  ===============  =====================================================
holdout_purity         real_holdout     100 % real and at least ``min_holdout_rows`` rows
holdout_excluded       real_train       no holdout record also in the train split (copies
                                        beyond the source's); built when the real source
                                        and the train split are named
holdout_isolation      training_mix     no holdout record (real rows beyond the train
                                        split's copies of their content) and no more
                                        near-copies of holdout rows among non-real rows
                                        than chance gives, in any real arrival (a
                                        generator's fit input), synthetic or augmented
                                        output, or training mix, in this or any earlier
                                        generation (synth_pipeline.holdout_isolation)
synthetic_budget       training_mix     budgeted fraction overall and per class (stricter
                                        for minority classes: the largest class has at
                                        least ``minority_imbalance_ratio`` x their real
                                        rows; balanced data has none)
generation_budget      training_mix     growth of the budgeted fraction since generation
                                        g-1; fresh real rows present
recursion_depth        training_mix     max depth of any row within ``max_depth``
unknown_budget         training_mix     unknown fraction within ``max_unknown_fraction``
evaluation_on_real     evaluation       scores computed on the sealed holdout (digest
                                        match, all rows real); TSTR/TRTR ratio
=====================  ===============  =====================================================

All are ``blocking=True`` with ERROR severity: a failure stops the stages after the
checked asset in that run (the model is not trained on a mix that breaks the policy)
and fails the run, while the check result and its metadata are recorded. Every result
carries ``observed``, ``threshold``, ``rule``, ``sample_size``, ``fix`` and
``generation``, and ``rules`` lists each rule evaluated. On an empty training mix the
rules about shares and depth are skipped (``skipped: no rows: ...``); fresh real rows and
the holdout's size are still judged, since there the absence of rows is the evidence.
"""

import math
from collections.abc import Callable
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from synth_pipeline.budgets import (
    RuleOutcome,
    generation_budget,
    holdout_purity,
    minority_class_numbers,
    recursion_depth,
    synthetic_budget,
    unknown_budget,
)
from synth_pipeline.checks.rule_checks import CheckInputs, Evaluation, RuleCheck, asset_checks, rule_check
from synth_pipeline.composition import Composition, summarize
from synth_pipeline.guarded import GuardedAssets, as_guarded
from synth_pipeline.hashing import set_digest
from synth_pipeline.holdout_isolation import holdout_isolation
from synth_pipeline.isolation import fresh_real_rows
from synth_pipeline.naming import Stage
from synth_pipeline.no_rows import no_rows_outcome
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.provenance import KIND_COLUMN, ROW_HASH_COLUMN, ProvenanceKind
from synth_pipeline.stage_files import read_parquet
from synth_pipeline.stages.previous import missing_mix_explanation


def build_policy_checks(pipeline: GuardedAssets) -> list[dg.AssetChecksDefinition]:
    """The checks of :func:`policy_rules`, one step per asset."""
    return asset_checks(policy_rules(pipeline), label="policy_checks")


def policy_rules(pipeline: GuardedAssets) -> list[RuleCheck]:
    """The policy checks of a pipeline (see the module docs), reading its policy resource.

    ``evaluation_on_real`` is built only when ``pipeline`` names an ``evaluation`` asset.
    """
    pipeline = as_guarded(pipeline)
    mix = Stage.TRAINING_MIX
    checks = [
        rule_check(pipeline, Stage.REAL_HOLDOUT, "holdout_purity", _holdout_purity,
                      "The sealed holdout is 100 % real and at least min_holdout_rows rows."),
        rule_check(pipeline, mix, "holdout_isolation", _holdout_isolation,
                      "No holdout row reached a generator's input, a synthetic or augmented output, or a "
                      "training mix, in this or any earlier generation."),
        rule_check(pipeline, mix, "synthetic_budget", _synthetic_budget,
                      "Budgeted (by default non-real: synthetic + augmented + unknown) fraction within the policy, "
                      "overall and per class (minority stricter)."),
        rule_check(pipeline, mix, "generation_budget", _generation_budget,
                      "The budgeted (by default non-real) fraction grows at most max_synthetic_fraction_growth per "
                      "generation, and each generation brings at least min_fresh_real_rows fresh real rows."),
        rule_check(pipeline, mix, "recursion_depth", _recursion_depth,
                      "No training row is deeper than max_depth generator hops from real data."),
        rule_check(pipeline, mix, "unknown_budget", _unknown_budget,
                      "Unknown-provenance rows within max_unknown_fraction."),
    ]
    if pipeline.real_source is not None and pipeline.real_train is not None:
        # On the train split, which is made with the holdout or after it (validate_guarded): not after the
        # holdout's own checks, or a too-small holdout would block training as well as the evaluation.
        checks.append(rule_check(
            pipeline, Stage.REAL_TRAIN, "holdout_excluded", _holdout_excluded,
            "The train split holds no record of the sealed holdout (it is the source minus the holdout).",
            additional_deps=[pipeline.real_source]))
    from synth_pipeline.privacy_budget import privacy_budget_rules

    checks += privacy_budget_rules(pipeline)
    if pipeline.evaluation is not None:
        checks.append(rule_check(pipeline, Stage.EVALUATION, "evaluation_on_real", _evaluation_on_real,
                                 "Scores were computed on the sealed real holdout, and TSTR/TRTR meets the policy."))
    return checks


def _composition_metadata(composition: Composition) -> dict[str, Any]:
    return {
        "rows": composition.rows,
        "rows_by_kind": dg.MetadataValue.json(composition.rows_by_kind),
    }


def _holdout_purity(inputs: CheckInputs):
    composition = summarize(inputs.path(Stage.REAL_HOLDOUT), inputs.pipeline.label_column)
    size, real = holdout_purity(composition, inputs.policy)
    if not composition.rows:  # too small is judged (no rows is the evidence); the real share is undefined
        real = no_rows_outcome(real.rule, Stage.REAL_HOLDOUT, threshold=real.threshold, bound=real.bound)
    return [size, real], _composition_metadata(composition)


def _holdout_excluded(inputs: CheckInputs):
    """Holdout records that are also in the train split (a split that sealed nothing), judged when the
    real source and the train split are separate assets.

    Identical rows are told apart by count: for each content, the holdout's and the train split's
    copies together may not outnumber the source's. Without a source to count against,
    identical rows on both sides are legitimate duplicates, and nothing is judged.
    """
    guarded = inputs.pipeline
    if not inputs.store.exists(guarded.real_holdout):
        return [RuleOutcome(
            "holdout records also in the train split", float("nan"), 0.0, "max", sample_size=0,
            unjudged=f"{guarded.real_holdout.to_user_string()} is not stored yet",
            fix=(f"materialize {guarded.real_holdout.to_user_string()} with or before "
                 f"{guarded.real_train.to_user_string()}: make the train split depend on it (deps=[...]) or make "
                 "both in one multi-asset"),
        )], {}
    counts = [read_parquet(inputs.path(stage), columns=[ROW_HASH_COLUMN])[ROW_HASH_COLUMN].value_counts()
              for stage in (Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, Stage.REAL_SOURCE)]
    holdout, train, source = (c.reindex(counts[0].index, fill_value=0) for c in counts)
    # per content: copies beyond the source's, never more than either side holds
    excess = int(np.minimum((holdout + train - source).clip(lower=0), np.minimum(holdout, train)).sum())
    return [RuleOutcome(
        "holdout records also in the train split", float(excess), 0.0, "max", sample_size=int(counts[0].sum()),
        fix=(f"{guarded.real_holdout.to_user_string()} and {guarded.real_train.to_user_string()} share records: split "
             f"{guarded.real_source.to_user_string()} so that each of its rows lands on one side only (the train "
             "split is the source minus the holdout)"),
    )], {"holdout_rows": int(counts[0].sum()), "train_rows": int(counts[1].sum())}


def _holdout_isolation(inputs: CheckInputs):
    roles = (Stage.REAL_ARRIVALS, Stage.SYNTHETIC, Stage.AUGMENTED, Stage.TRAINING_MIX)
    names = {
        path: f"{key.to_user_string()}[{generation}]"
        for stage, key in inputs.pipeline.roles() if stage in roles
        for generation, path in inputs.key_history(key, through=inputs.generation).items()
    }
    return holdout_isolation(inputs.path(Stage.REAL_HOLDOUT), inputs.path(Stage.REAL_TRAIN), names, inputs.policy,
                             text_columns=inputs.text_columns)


def _synthetic_budget(inputs: CheckInputs):
    composition = inputs.mix()
    policy = inputs.policy
    outcomes = synthetic_budget(composition, policy)
    if not composition.rows:
        outcomes = [_skipped(outcome, inputs) for outcome in outcomes]
    ratio = composition.imbalance_ratio
    return outcomes, {
        **_composition_metadata(composition),
        "rows_by_class": dg.MetadataValue.json(composition.rows_by_class),
        # By number (class #i in label order, as each rule's public_rule), never by value.
        "minority_classes": dg.MetadataValue.json(minority_class_numbers(composition, policy)),
        "imbalance_ratio": dg.MetadataValue.float(ratio) if math.isfinite(ratio) else str(ratio),
        "minority_imbalance_ratio": dg.MetadataValue.float(policy.minority_imbalance_ratio),
        "budgeted_kinds": dg.MetadataValue.json([k.value for k in policy.budgeted_kinds()]),
    }


def _generation_budget(inputs: CheckInputs):
    generation = inputs.generation
    earlier = inputs.history(Stage.TRAINING_MIX, through=generation - 1)
    current = inputs.mix()
    previous = inputs.mix(generation - 1) if generation - 1 in earlier else None
    fresh = fresh_real_rows(inputs.path(Stage.TRAINING_MIX), list(earlier.values()))
    growth, fresh_rows = generation_budget(current, previous, fresh, inputs.policy)
    # No rows: the growth of a share is undefined; fresh real rows are still judged (none came).
    outcomes = [growth if current.rows else _skipped(growth, inputs), fresh_rows]
    if generation > 1 and previous is None:
        outcomes.append(RuleOutcome(
            f"generation {generation - 1} training mix stored", 0.0, 1.0, "min",
            fix=missing_mix_explanation(inputs.store, inputs.key(Stage.TRAINING_MIX), generation - 1,
                                        inputs.run_command),
        ))
    kinds = inputs.policy.budgeted_kinds()
    return outcomes, {
        # the budgeted fraction the growth rule judges (budgeted_kinds), not the mix's synthetic fraction
        "budgeted_fraction": dg.MetadataValue.float(current.fraction(*kinds)),
        "previous_budgeted_fraction": dg.MetadataValue.float(previous.fraction(*kinds) if previous else float("nan")),
        "budgeted_kinds": dg.MetadataValue.json([k.value for k in kinds]),
        "fresh_real_rows": fresh,
        "earlier_generations": dg.MetadataValue.json(sorted(earlier)),
    }


def _composition_rules(judge: Callable[[Composition, SynthPolicy], list[RuleOutcome]]) -> Evaluation:
    """A check of this generation's mix composition by ``judge``; its rules are skipped on an empty mix."""
    def evaluate(inputs: CheckInputs):
        composition = inputs.mix()
        outcomes = judge(composition, inputs.policy)
        if not composition.rows:
            outcomes = [_skipped(outcome, inputs) for outcome in outcomes]
        return outcomes, _composition_metadata(composition)

    return evaluate


_recursion_depth = _composition_rules(recursion_depth)
_unknown_budget = _composition_rules(unknown_budget)


def _skipped(outcome: RuleOutcome, inputs: CheckInputs) -> RuleOutcome:
    """``outcome`` as skipped on this generation's empty training mix (see :mod:`synth_pipeline.no_rows`)."""
    return no_rows_outcome(outcome.rule, Stage.TRAINING_MIX, inputs.generation, threshold=outcome.threshold,
                           bound=outcome.bound)


def _rows_by_kind(report: pd.DataFrame) -> dict[str, int]:
    """The evaluation set's rows per provenance kind (``evaluation_set_rows_by_kind``; {} in older records)."""
    import json

    if "evaluation_set_rows_by_kind" not in report.columns or report.empty:
        return {}
    stored = report["evaluation_set_rows_by_kind"].iloc[0]
    return {str(kind): int(rows) for kind, rows in json.loads(stored).items()} if isinstance(stored, str) else {}


def _evaluation_on_real(inputs: CheckInputs):
    """Scores on the sealed holdout, and TSTR / TRTR judged on its 95 % upper bound.

    The ratio is the evaluation's (``synthetic_only`` over ``real_only``); its bound is
    the utility check's (:mod:`synth_pipeline.quality.utility`): the same two models
    refitted on bootstrap resamples of the mix's synthetic and real rows, and a paired
    bootstrap over holdout rows; with fewer synthetic than real rows in the mix, TRTR is refitted on
    real samples of as many rows as the synthetic ones (the utility check's size-matched control). Below
    ``min_utility_rows`` rows of either kind, when
    the ratio is undefined (one class, TRTR 0), or when it is not informative (the refitted
    TRTR's 95 % lower bound not above chance), the ratio warns with its cause; without
    synthetic rows in the mix it is skipped (not applicable).
    """
    from synth_pipeline.checks.quality_checks import judged_utility_figure, utility_figure_metadata, utility_outcome
    from synth_pipeline.model_cache import model_cache
    from synth_pipeline.quality.utility import UTILITY_FITS, tstr_trtr_ratio, utility_scores
    from synth_pipeline.task import primary_metric

    holdout_key = inputs.key(Stage.REAL_HOLDOUT).to_user_string()
    report = read_parquet(inputs.path(Stage.EVALUATION)).set_index("trained_on")
    holdout_rows = inputs.read(Stage.REAL_HOLDOUT)
    holdout = inputs.read(Stage.REAL_HOLDOUT, keys=True)[[ROW_HASH_COLUMN, KIND_COLUMN]]  # the stored hashes
    digest = set_digest(holdout[ROW_HASH_COLUMN].to_numpy())
    on_holdout = bool(
        (report["evaluated_on"] == holdout_key).all() and (report["evaluation_set_digest"] == digest).all()
    )
    evaluated_kinds = set(",".join(report["evaluation_set_kinds"]).split(","))
    holdout_real = float((holdout[KIND_COLUMN] == ProvenanceKind.REAL.value).mean()) if len(holdout) else 0.0
    policy, guarded = inputs.policy, inputs.pipeline
    task = inputs.label_task.task
    metric = primary_metric(task)
    scores = report[metric]
    mix = inputs.read(Stage.TRAINING_MIX)
    real = mix[mix[KIND_COLUMN] == ProvenanceKind.REAL.value]
    synthetic = mix[mix[KIND_COLUMN] == ProvenanceKind.SYNTHETIC.value]
    too_few = next((f"not enough rows to judge: {len(rows)} {what} rows in the training mix < "
                    f"{policy.min_utility_rows}" for what, rows in (("synthetic", synthetic), ("real", real))
                    if len(rows) < policy.min_utility_rows), None)
    utility = utility_scores(
        synthetic, real, holdout_rows[holdout_rows[KIND_COLUMN] == ProvenanceKind.REAL.value],
        label_column=guarded.label_column, factory=guarded.model_factory, seed=guarded.seed,
        fits=1 if too_few else UTILITY_FITS, names=("mix's synthetic rows", "mix's real rows"), task=task,
        max_rows=inputs.utility_rows, cache=model_cache(inputs.store), text=inputs.text_columns,
    )
    # The figure judged is the refits' ratio, the one its bound belongs to; where the evaluation's own
    # models (trained on every row, the template's) give another ratio, the evidence says so.
    stored = (tstr_trtr_ratio(float(scores["synthetic_only"]), float(scores["real_only"]))
              if {"synthetic_only", "real_only"} <= set(scores.index) else float("nan"))
    cause = utility.undefined or too_few or utility.not_informative
    ratio_rule = f"TSTR/TRTR ratio ({metric})"
    if synthetic.empty:
        ratio_outcome = RuleOutcome(ratio_rule, float("nan"), policy.min_tstr_trtr_ratio, "min", sample_size=0,
                                    unjudged="not applicable: the training mix holds no synthetic rows",
                                    skipped=True)
    else:
        differs = math.isfinite(stored) and math.isfinite(utility.ratio) and abs(stored - utility.ratio) > 5e-4
        note = (f"the figures are from the refits behind the bound (at most {inputs.utility_rows:,} training rows "
                f"a model); the evaluation's own models give the ratio {stored:.3g}") if differs else None
        ratio_outcome = utility_outcome(utility, cause, rule=ratio_rule, trained_on="synthetic",
                                        limit=policy.min_tstr_trtr_ratio, note=note)
    by_kind = _rows_by_kind(report)
    evaluated_rows = sum(by_kind.values())
    real_share = (by_kind.get(ProvenanceKind.REAL.value, 0) / evaluated_rows if evaluated_rows
                  else holdout_real if evaluated_kinds == {ProvenanceKind.REAL.value} else 0.0)
    other = {kind: rows for kind, rows in by_kind.items() if kind != ProvenanceKind.REAL.value}
    provenance = "; ".join(f"{rows:,} {kind}" for kind, rows in by_kind.items())
    homework = (f"the models were scored on {evaluated_rows:,} rows of which "
                f"{', '.join(f'{rows:,} are {kind}' for kind, rows in other.items())}: an evaluation set "
                "that is partly generated grades the generator's own homework and hides model collapse; "
                f"score on the sealed real holdout {holdout_key} (take it as the evaluation's input, and "
                "synth_pipeline.holdout_report records it)") if other else None
    outcomes = [
        ratio_outcome,
        RuleOutcome("scored on the sealed holdout (digest match)", float(on_holdout), 1.0, "min",
                    fix=None if on_holdout else (
                        homework or f"the rows scored on are not the sealed holdout {holdout_key}: score on it (take "
                        "it as the evaluation's input; synth_pipeline.holdout_report records it)")),
        RuleOutcome(f"real fraction of the evaluation set ({provenance or 'kinds ' + ','.join(evaluated_kinds)})",
                    min(real_share, holdout_real) if evaluated_kinds == {ProvenanceKind.REAL.value} else real_share,
                    1.0, "min", public_rule="real fraction of the evaluation set",
                    sample_size=evaluated_rows or None, fix=homework),
    ]
    return outcomes, {
        "evaluated_on": holdout_key,
        "evaluation_set_digest": str(report["evaluation_set_digest"].iloc[0]),
        "holdout_digest": digest,
        # the scores of the ratio judged (as on the utility check: TRTR is the size-matched control where
        # it applies), so that tstr_trtr_ratio = tstr_score / trtr_score and the bounds belong to them; the
        # evaluation's own models (every row of each training set) are kept beside them
        "tstr_score": dg.MetadataValue.float(utility.trained_on_generated),
        "trtr_score": dg.MetadataValue.float(utility.trained_on_real),
        "tstr_trtr_ratio": dg.MetadataValue.float(utility.ratio),
        "tstr_trtr_ratio_upper_bound": dg.MetadataValue.float(utility.ratio_upper_bound),
        **{f"evaluation_{name}_score": dg.MetadataValue.float(float(scores[name]))
           for name in ("synthetic_only", "real_only") if name in scores.index},
        **utility_figure_metadata(utility),
        "tstr_trtr_judged": judged_utility_figure(utility, cause, policy.min_tstr_trtr_ratio),
        "utility_fits": utility.fits,
    }
