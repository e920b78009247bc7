"""The policy's rules as blocking Dagster asset checks.

=====================  ===============  =====================================================
check                  asset            rule
=====================  ===============  =====================================================
holdout_purity         real_holdout     100 % real and at least ``min_holdout_rows`` rows
holdout_isolation      training_mix     no holdout row (by content hash) in any real arrival
                                        (a generator's fit input), synthetic or augmented
                                        output, or training mix, in this or any earlier
                                        generation
synthetic_budget       training_mix     budgeted fraction overall and per class (stricter
                                        for the minority class)
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
carries ``observed``, ``threshold``, ``rule`` and ``generation``, and ``rules`` lists
each rule evaluated.
"""

from typing import Any

import dagster as dg
import pandas as pd

from synth_pipeline.budgets import (
    RuleOutcome,
    generation_budget,
    holdout_purity,
    recursion_depth,
    synthetic_budget,
    unknown_budget,
)
from synth_pipeline.composition import Composition, summarize
from synth_pipeline.factory import SynthPipeline
from synth_pipeline.hashing import set_digest
from synth_pipeline.isolation import fresh_real_rows, leaked_rows
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import KIND_COLUMN, ROW_HASH_COLUMN, ProvenanceKind
from synth_pipeline.rule_checks import CheckInputs, rule_check
from synth_pipeline.stages.evaluation import PRIMARY_METRIC


def build_policy_checks(pipeline: SynthPipeline) -> list[dg.AssetChecksDefinition]:
    """The seven policy checks of a pipeline (see the module docs), reading its policy resource."""
    mix = Stage.TRAINING_MIX
    return [
        rule_check(pipeline, Stage.REAL_HOLDOUT, "holdout_purity", _holdout_purity,
                      "The sealed holdout is 100 % real and at least min_holdout_rows rows."),
        rule_check(pipeline, mix, "holdout_isolation", _holdout_isolation,
                      "No holdout row reached a generator's input, a synthetic or augmented output, or a "
                      "training mix, in this or any earlier generation."),
        rule_check(pipeline, mix, "synthetic_budget", _synthetic_budget,
                      "Synthetic fraction within the policy, overall and per class (minority stricter)."),
        rule_check(pipeline, mix, "generation_budget", _generation_budget,
                      "Synthetic fraction grows at most max_synthetic_fraction_growth per generation, and "
                      "each generation brings at least min_fresh_real_rows fresh real rows."),
        rule_check(pipeline, mix, "recursion_depth", _recursion_depth,
                      "No training row is deeper than max_depth generator hops from real data."),
        rule_check(pipeline, mix, "unknown_budget", _unknown_budget,
                      "Unknown-provenance rows within max_unknown_fraction."),
        rule_check(pipeline, Stage.EVALUATION, "evaluation_on_real", _evaluation_on_real,
                      "Scores were computed on the sealed real holdout, and TSTR/TRTR meets the policy."),
    ]


def _composition_metadata(composition: Composition) -> dict[str, Any]:
    return {
        "rows": composition.rows,
        "rows_by_kind": dg.MetadataValue.json(composition.rows_by_kind),
    }


def _holdout_purity(inputs: CheckInputs):
    composition = summarize(inputs.path(Stage.REAL_HOLDOUT), inputs.pipeline.spec.label_column)
    return holdout_purity(composition, inputs.policy), _composition_metadata(composition)


def _holdout_isolation(inputs: CheckInputs):
    stages = [s for s in (Stage.REAL_ARRIVALS, Stage.SYNTHETIC, Stage.AUGMENTED, Stage.TRAINING_MIX)
              if s in inputs.pipeline.stages]
    names = {
        path: f"{inputs.pipeline.key(stage).to_user_string()}[{generation}]"
        for stage in stages
        for generation, path in inputs.history(stage, through=inputs.generation).items()
    }
    leaks, distinct = leaked_rows(inputs.path(Stage.REAL_HOLDOUT), list(names))
    outcome = RuleOutcome("holdout rows found in generator inputs, outputs or training mixes",
                          float(distinct), 0.0, "max")
    return [outcome], {
        "leaked_rows": sum(leaks.values()),
        "leaks": dg.MetadataValue.json({names[p]: n for p, n in sorted(leaks.items())}),
        "datasets_scanned": len(names),
    }


def _synthetic_budget(inputs: CheckInputs):
    composition = inputs.mix()
    return synthetic_budget(composition, inputs.policy), {
        **_composition_metadata(composition),
        "rows_by_class": dg.MetadataValue.json(composition.rows_by_class),
        "minority_class": str(composition.minority_class),
        "budgeted_kinds": dg.MetadataValue.json([k.value for k in inputs.policy.budgeted_kinds()]),
    }


def _generation_budget(inputs: CheckInputs):
    generation = inputs.generation
    earlier = inputs.history(Stage.TRAINING_MIX, through=generation - 1)
    current = inputs.mix()
    previous = inputs.mix(generation - 1) if generation - 1 in earlier else None
    fresh = fresh_real_rows(inputs.path(Stage.TRAINING_MIX), list(earlier.values()))
    outcomes = generation_budget(current, previous, fresh, inputs.policy)
    if generation > 1 and previous is None:
        outcomes.append(RuleOutcome(f"generation {generation - 1} training mix stored", 0.0, 1.0, "min"))
    kinds = inputs.policy.budgeted_kinds()
    return outcomes, {
        "synthetic_fraction": dg.MetadataValue.float(current.fraction(*kinds)),
        "previous_synthetic_fraction": dg.MetadataValue.float(previous.fraction(*kinds) if previous else float("nan")),
        "fresh_real_rows": fresh,
        "earlier_generations": dg.MetadataValue.json(sorted(earlier)),
    }


def _recursion_depth(inputs: CheckInputs):
    composition = inputs.mix()
    return recursion_depth(composition, inputs.policy), _composition_metadata(composition)


def _unknown_budget(inputs: CheckInputs):
    composition = inputs.mix()
    return unknown_budget(composition, inputs.policy), _composition_metadata(composition)


def _evaluation_on_real(inputs: CheckInputs):
    holdout_key = inputs.pipeline.key(Stage.REAL_HOLDOUT).to_user_string()
    report = pd.read_parquet(inputs.path(Stage.EVALUATION)).set_index("trained_on")
    holdout = pd.read_parquet(inputs.path(Stage.REAL_HOLDOUT), columns=[ROW_HASH_COLUMN, KIND_COLUMN])
    digest = set_digest(holdout[ROW_HASH_COLUMN].to_numpy())
    on_holdout = bool(
        (report["evaluated_on"] == holdout_key).all() and (report["evaluation_set_digest"] == digest).all()
    )
    evaluated_kinds = set(",".join(report["evaluation_set_kinds"]).split(","))
    holdout_real = float((holdout[KIND_COLUMN] == ProvenanceKind.REAL.value).mean()) if len(holdout) else 0.0
    scores = report[PRIMARY_METRIC]
    ratio = float(scores["synthetic_only"] / scores["real_only"]) if scores["real_only"] else float("nan")
    outcomes = [
        RuleOutcome(f"TSTR/TRTR ratio ({PRIMARY_METRIC})", ratio, inputs.policy.min_tstr_trtr_ratio, "min"),
        RuleOutcome("scored on the sealed holdout (digest match)", float(on_holdout), 1.0, "min"),
        RuleOutcome("real fraction of the evaluation set",
                    holdout_real if evaluated_kinds == {ProvenanceKind.REAL.value} else 0.0, 1.0, "min"),
    ]
    return outcomes, {
        "evaluated_on": holdout_key,
        "evaluation_set_digest": str(report["evaluation_set_digest"].iloc[0]),
        "holdout_digest": digest,
        "tstr_score": dg.MetadataValue.float(float(scores["synthetic_only"])),
        "trtr_score": dg.MetadataValue.float(float(scores["real_only"])),
    }
