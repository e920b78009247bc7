"""Provenance-integrity asset checks: every stored row carries valid, honest provenance."""

import dagster as dg

from synth_pipeline.checks.rule_checks import check_generation, check_result
from synth_pipeline.guarded import GuardedAssets, as_guarded
from synth_pipeline.naming import STAGE_PROVENANCE, Stage
from synth_pipeline.no_rows import no_rows_outcome
from synth_pipeline.provenance import KIND_COLUMN, has_provenance, provenance_problems
from synth_pipeline.storage import DatasetStore

DATA_STAGES = (
    Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, Stage.REAL_ARRIVALS,
    Stage.SYNTHETIC, Stage.AUGMENTED, Stage.UNKNOWN, Stage.TRAINING_MIX,
)


def build_provenance_checks(pipeline: GuardedAssets) -> list[dg.AssetChecksDefinition]:
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


def _provenance_check(pipeline: GuardedAssets, stage: Stage, asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    expected = STAGE_PROVENANCE[stage] if stage is not Stage.UNKNOWN else None

    @dg.asset_check(
        asset=asset_key,
        name="provenance_valid",
        blocking=True,
        description=f"Rows of {asset_key.to_user_string()} carry valid provenance"
        + (f" and are all {expected}." if expected in ("real", "synthetic", "augmented") else "."),
    )
    def provenance_valid(
        context: dg.AssetCheckExecutionContext, synth_pipeline_store: DatasetStore
    ) -> dg.AssetCheckResult:
        from synth_pipeline.lineage.recorder import CheckLineage  # openlineage: import at run time only

        generation = check_generation(context, pipeline, stage, asset_key)
        partition = str(generation) if generation else None
        with CheckLineage(
            context.op_execution_context, synth_pipeline_store, asset_key=asset_key, partition=partition,
            check_name="provenance_valid",
        ) as lineage:
            frame = synth_pipeline_store.read(asset_key, partition)
            if frame.empty and has_provenance(frame):  # no row to judge; missing columns still fail below
                outcome = no_rows_outcome("provenance problems", stage, generation)
                result = check_result([outcome], generation, {"rows": 0, "kinds": dg.MetadataValue.json([])})
                lineage.record(result, [outcome.to_dict()], generation=generation)
                return result
            problems = provenance_problems(frame) if has_provenance(frame) else ["provenance columns missing"]
            kinds = sorted(frame[KIND_COLUMN].dropna().unique()) if KIND_COLUMN in frame.columns else []
            if expected in ("real", "synthetic", "augmented") and set(kinds) - {expected}:
                problems.append(f"stage holds only {expected} rows, found kinds {kinds}")
            if problems:
                synth_pipeline_store.quarantine(asset_key, partition, "provenance_valid", problems[0])
            result = dg.AssetCheckResult(
                passed=not problems,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "observed": len(problems),
                    "threshold": 0,
                    "bound": "max",
                    "rule": problems[0] if problems else "provenance problems",
                    "rows": len(frame),
                    "kinds": dg.MetadataValue.json(kinds),
                    "problems": dg.MetadataValue.json(problems),
                    "generation": generation,
                },
            )
            rules = [{"rule": problem, "passed": False, "observed": 1, "threshold": 0, "bound": "max"}
                     for problem in problems]
            clean = {"rule": "provenance problems", "passed": True, "observed": 0, "threshold": 0, "bound": "max"}
            lineage.record(result, rules or [clean], generation=generation)
            return result

    return provenance_valid
