"""Provenance-integrity asset checks: every stored row carries valid, honest provenance."""

from functools import partial

import dagster as dg

from synth_pipeline.checks.rule_checks import CheckInputs, RuleCheck, asset_checks, rule_check
from synth_pipeline.guarded import GuardedAssets, as_guarded
from synth_pipeline.naming import STAGE_PROVENANCE, Stage
from synth_pipeline.provenance import KIND_COLUMN, has_provenance, provenance_problems
from synth_pipeline.verdicts import RuleOutcome

DATA_STAGES = (
    Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, Stage.REAL_ARRIVALS,
    Stage.SYNTHETIC, Stage.AUGMENTED, Stage.UNKNOWN, Stage.TRAINING_MIX,
)


def build_provenance_checks(pipeline: GuardedAssets) -> list[dg.AssetChecksDefinition]:
    """The checks of :func:`provenance_rules`, one step per asset."""
    return asset_checks(provenance_rules(pipeline), label="provenance_checks")


def provenance_rules(pipeline: GuardedAssets) -> list[RuleCheck]:
    """One blocking check per data asset: provenance columns valid and consistent with the stage.

    The check fails when a row has an unrecognised kind, a negative or null depth or
    generation, a real row has depth > 0, a content hash does not match the row, or a
    single-kind stage holds rows of another kind (e.g. a synthetic row in the holdout).
    The unknown stage may hold rows of any kind (data that arrived with provenance
    columns keeps them). On a stage with no rows but its provenance columns the check is
    skipped (``skipped: no rows: ...``, see :mod:`synth_pipeline.no_rows`); without the
    columns it fails, rows or not.
    """
    pipeline = as_guarded(pipeline)
    return [_provenance_check(pipeline, stage, key) for stage, key in pipeline.roles() if stage in DATA_STAGES]


def _provenance_check(pipeline: GuardedAssets, stage: Stage, asset_key: dg.AssetKey) -> RuleCheck:
    expected = STAGE_PROVENANCE[stage] if stage is not Stage.UNKNOWN else None
    description = (f"Rows of {asset_key.to_user_string()} carry valid provenance"
                   + (f" and are all {expected}." if expected in ("real", "synthetic", "augmented") else "."))
    return rule_check(pipeline, stage, "provenance_valid", partial(_provenance_rules, stage=stage, expected=expected),
                      description, asset_key=asset_key)


def _provenance_rules(inputs: CheckInputs, *, stage: Stage, expected: str | None):
    """One rule per provenance problem found (none: one passing rule), with the rows' kinds."""
    frame = inputs.read(stage, keys=True)
    if frame.empty and has_provenance(frame):  # no row to judge; missing columns still fail below
        return [inputs.no_rows_outcome("provenance problems", stage)], {
            "rows": 0, "kinds": dg.MetadataValue.json([])}
    problems = provenance_problems(frame) if has_provenance(frame) else ["provenance columns missing"]
    kinds = sorted(frame[KIND_COLUMN].dropna().unique()) if KIND_COLUMN in frame.columns else []
    if expected in ("real", "synthetic", "augmented") and set(kinds) - {expected}:
        problems.append(f"stage holds only {expected} rows, found kinds {kinds}")
    fix = ("tag the rows with synth_pipeline.tag_rows / ingest (or declare the asset with provenance_asset), and "
           "keep rows of other kinds out of this asset")
    outcomes = [RuleOutcome(problem, 1.0, 0.0, "max", sample_size=len(frame), fix=fix) for problem in problems]
    return outcomes or [RuleOutcome("provenance problems", 0.0, 0.0, "max", sample_size=len(frame))], {
        "rows": len(frame), "kinds": dg.MetadataValue.json([str(k) for k in kinds]),
        "problems": dg.MetadataValue.json(problems)}
