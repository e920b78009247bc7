"""The ``expectations`` asset check: a stored dataset validated against its Great Expectations suite.

The suites themselves (building, reading, validating with GX Core) are
:mod:`synth_pipeline.quality.expectations`.
"""

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import dagster as dg

from synth_pipeline.checks.provenance_checks import DATA_STAGES
from synth_pipeline.checks.rule_checks import CheckInputs, RuleCheck, asset_checks, rule_check
from synth_pipeline.guarded import GuardedAssets, as_guarded
from synth_pipeline.naming import Stage
from synth_pipeline.quality.expectations import CHECK_NAME, load_suite, validate
from synth_pipeline.verdicts import RuleOutcome


def build_expectation_checks(
    pipeline: GuardedAssets, suites_dir: Path, *, unexpected_samples: int = 0
) -> list[dg.AssetChecksDefinition]:
    """The checks of :func:`expectation_rules`, one step per asset; pass them to
    ``pipeline.to_definitions(asset_checks=...)``.

    Raises:
        SynthPipelineError: As :func:`expectation_rules`.
    """
    return asset_checks(expectation_rules(pipeline, suites_dir, unexpected_samples=unexpected_samples),
                        label="expectation_checks")


def expectation_rules(pipeline: GuardedAssets, suites_dir: Path, *, unexpected_samples: int = 0) -> list[RuleCheck]:
    """One blocking ``expectations`` check per data asset whose role has a suite file in ``suites_dir``.

    The check validates the stored frame against ``<suites_dir>/<stage>.json``, read
    each time the check runs, and quarantines the data when an expectation fails.

    Args:
        pipeline: The guarded assets whose data assets to check.
        suites_dir: The directory holding the suite files.
        unexpected_samples: Offending values per failed expectation to show in the check's
            metadata (at most 20). Default 0: counts only, so no row value reaches Dagster's
            event log or the lineage record.

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
) -> RuleCheck:
    return rule_check(
        pipeline, stage, CHECK_NAME, partial(_expectation_outcomes, stage=stage, path=path,
                                             unexpected_samples=unexpected_samples),
        f"Great Expectations suite {path}: schema, provenance columns and reference value ranges",
        asset_key=asset_key,
    )


def _expectation_outcomes(inputs: CheckInputs, *, stage: Stage, path: Path, unexpected_samples: int):
    """One rule per expectation of the suite (read now, so edits apply to the next run), judged by GX Core.

    On a 0-row frame only the table (schema) expectations are judged; when they pass, the
    value expectations are vacuous and the check is skipped with the reason (see
    :mod:`synth_pipeline.no_rows`), not passed.
    """
    frame = inputs.read(stage, keys=True)
    suite = load_suite(path)
    if frame.empty:  # only the schema can be judged: the table expectations
        suite = {**suite, "expectations": [e for e in suite.get("expectations", [])
                                           if str(e.get("type", "")).startswith("expect_table_")]}
    summary = validate(frame, suite, unexpected_samples=unexpected_samples)
    common = {"suite": dg.MetadataValue.path(str(path)), "rows": len(frame), "evaluated": summary.evaluated,
              "successful": summary.successful}
    if frame.empty and summary.success:
        return [inputs.no_rows_outcome("failed expectations", stage)], {
            **common, "schema": f"{summary.evaluated} table expectation(s) on the schema passed; value expectations "
                                "skipped"}
    fix = f"correct the data or, if the change is intended, the suite {path.name}"
    # The figure is whether the expectation is unmet, not a count: the rule says so, so that "observed 1"
    # never reads as one unexpected value beside a fix that counts 14 (the count is in the fix).
    outcomes = [
        RuleOutcome(f"{_rule_text(outcome)}, unmet (1) or met (0)", float(not outcome["success"]), 0.0, "max",
                    public_rule=_rule_text(outcome), sample_size=len(frame), sample_unit="rows",
                    fix=None if outcome["success"] else f"{_unexpected(outcome)} of {len(frame)} rows; {fix}")
        for outcome in summary.results
    ]
    return outcomes or [RuleOutcome("failed expectations", 0.0, 0.0, "max", sample_size=len(frame))], {
        **common, "success_percent": summary.success_percent, "failures": dg.MetadataValue.json(summary.failures),
        "summary": dg.MetadataValue.md(_summary_table(summary.results))}


def _unexpected(outcome: dict[str, Any]) -> str:
    count = outcome["unexpected_count"]
    return "the expectation failed" if count is None else f"{count} unexpected value(s)"


def _rule_text(outcome: dict[str, Any]) -> str:
    column = outcome["column"]
    return f"{outcome['expectation']}({column})" if column is not None else str(outcome["expectation"])


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
