"""The ``expectations`` asset check: a stored dataset validated against its Great Expectations suite.

The suites themselves (building, reading, validating with GX Core) are
:mod:`synth_pipeline.quality.expectations`.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from synth_pipeline.checks.provenance_checks import DATA_STAGES
from synth_pipeline.checks.rule_checks import check_generation, check_result
from synth_pipeline.guarded import GuardedAssets, as_guarded
from synth_pipeline.naming import Stage
from synth_pipeline.quality.expectations import CHECK_NAME, ValidationSummary, load_suite, validate
from synth_pipeline.storage import DatasetStore


def build_expectation_checks(
    pipeline: GuardedAssets, suites_dir: Path, *, unexpected_samples: int = 0
) -> list[dg.AssetChecksDefinition]:
    """One blocking ``expectations`` check per data asset whose role has a suite file in ``suites_dir``.

    The check validates the stored frame against ``<suites_dir>/<stage>.json``, read
    each time the check runs, and quarantines the data when an expectation fails.

    Args:
        pipeline: The guarded assets whose data assets to check.
        suites_dir: The directory holding the suite files.
        unexpected_samples: Offending values per failed expectation to show in the check's
            metadata (at most 20). Default 0: counts only, so no row value reaches Dagster's
            event log or the lineage record.

    Returns:
        The checks; pass them to ``pipeline.to_definitions(asset_checks=...)``.

    Raises:
        SynthPipelineError: A suite file present for one of the stages is not a valid suite.
    """
    pipeline = as_guarded(pipeline)

    directory = Path(suites_dir).absolute()
    checks = []
    for stage, key in pipeline.roles():
        path = directory / f"{stage.value}.json"
        if stage in DATA_STAGES and path.is_file():
            load_suite(path)  # fail now, when the definitions load, rather than in every run
            checks.append(_expectations_check(pipeline, stage, key, path, unexpected_samples))
    return checks


def _expectations_check(
    pipeline: GuardedAssets, stage: Stage, asset_key: dg.AssetKey, path: Path, unexpected_samples: int
) -> dg.AssetChecksDefinition:

    @dg.asset_check(
        asset=asset_key,
        name=CHECK_NAME,
        blocking=True,
        description=f"Great Expectations suite {path}: schema, provenance columns and reference value ranges",
    )
    def expectations(
        context: dg.AssetCheckExecutionContext, synth_pipeline_store: DatasetStore
    ) -> dg.AssetCheckResult:
        from synth_pipeline.lineage.recorder import CheckLineage  # openlineage: import at run time only

        generation = check_generation(context, pipeline, stage, asset_key)
        partition = str(generation) if generation else None
        with CheckLineage(
            context.op_execution_context, synth_pipeline_store, asset_key=asset_key, partition=partition,
            check_name=CHECK_NAME,
        ) as lineage:
            frame = synth_pipeline_store.read(asset_key, partition)
            suite = load_suite(path)
            if frame.empty:  # only the schema can be judged: the table expectations
                suite = {**suite, "expectations": [e for e in suite.get("expectations", [])
                                                   if str(e.get("type", "")).startswith("expect_table_")]}
            summary = validate(frame, suite, unexpected_samples=unexpected_samples)
            if frame.empty and summary.success:
                return _skipped_on_no_rows(lineage, stage, generation, summary, path)
            rules = _expectation_rules(summary)
            headline = next((rule["rule"] for rule in rules if not rule["passed"]), "failed expectations")
            if not summary.success:
                synth_pipeline_store.quarantine(asset_key, partition, CHECK_NAME, headline)
            result = dg.AssetCheckResult(
                passed=summary.success,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=_check_metadata(summary, headline=headline, generation=generation, path=path, rows=len(frame)),
            )
            clean = {"rule": "failed expectations", "passed": True, "observed": 0, "threshold": 0, "bound": "max"}
            lineage.record(result, rules or [clean], generation=generation)
            failed = [rule for rule in rules if not rule["passed"]]
            synth_pipeline_store.write_check_result(asset_key, CHECK_NAME, generation, {
                "verdict": "passed" if summary.success else "failed", "blocking": True,
                "evidence": "\n".join(
                    f"{rule['rule']}: {rule['observed']} unexpected value(s) of {len(frame)} rows; fix: correct the "
                    f"data or, if the change is intended, the suite {path.name}" for rule in failed),
            })
            return result

    return expectations


def _skipped_on_no_rows(
    lineage: Any, stage: Stage, generation: int, summary: ValidationSummary, path: Path
) -> dg.AssetCheckResult:
    """The result on a 0-row frame whose schema passed: value expectations are vacuous on no rows, so the
    check is skipped with the reason (see :mod:`synth_pipeline.no_rows`), not passed."""
    from synth_pipeline.no_rows import no_rows_outcome

    outcome = no_rows_outcome("failed expectations", stage, generation)
    result = check_result([outcome], generation, {
        "suite": dg.MetadataValue.path(str(path)),
        "rows": 0,
        "evaluated": summary.evaluated,
        "successful": summary.successful,
        "schema": f"{summary.evaluated} table expectation(s) on the schema passed; value expectations skipped",
    })
    lineage.record(result, [outcome.to_dict()], generation=generation)
    return result


def _expectation_rules(summary: ValidationSummary) -> list[dict[str, Any]]:
    """One lineage rule per expectation: its text, whether it passed, and its unexpected count (max 0)."""
    return [
        {
            "rule": _rule_text(outcome),
            "passed": outcome["success"],
            "observed": outcome["unexpected_count"] if outcome["unexpected_count"] is not None
            else int(not outcome["success"]),
            "threshold": 0,
            "bound": "max",
        }
        for outcome in summary.results
    ]


def _rule_text(outcome: dict[str, Any]) -> str:
    column = outcome["column"]
    return f"{outcome['expectation']}({column})" if column is not None else str(outcome["expectation"])


def _check_metadata(
    summary: ValidationSummary, *, headline: str, generation: int, path: Path, rows: int
) -> dict[str, Any]:
    return {
        "observed": summary.failed,
        "threshold": 0,
        "bound": "max",
        "rule": headline,
        "generation": generation,
        "suite": dg.MetadataValue.path(str(path)),
        "rows": rows,
        "evaluated": summary.evaluated,
        "successful": summary.successful,
        "success_percent": summary.success_percent,
        "failures": dg.MetadataValue.json(summary.failures),
        "summary": dg.MetadataValue.md(_summary_table(summary.results)),
    }


def _summary_table(results: Sequence[dict[str, Any]]) -> str:
    """A markdown table of expectation results: expectation, column, success, unexpected count."""
    lines = ["| expectation | column | success | unexpected count |", "| --- | --- | --- | --- |"]
    for outcome in results:
        cells = [
            outcome["expectation"],
            "" if outcome["column"] is None else outcome["column"],
            "yes" if outcome["success"] else "**no**",
            "" if outcome["unexpected_count"] is None else outcome["unexpected_count"],
        ]
        lines.append("| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
