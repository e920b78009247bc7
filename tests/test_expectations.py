"""Great Expectations suites: real GX validations and real pipeline runs (no mocks)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import Runner, fast_spec, why
from synth_pipeline import MixSpec, build_synth_pipeline
from synth_pipeline.checks.expectation_checks import build_expectation_checks
from synth_pipeline.checks.provenance_checks import DATA_STAGES
from synth_pipeline.datasets import breast_cancer
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import DATASET_COLUMN, PROVENANCE_COLUMNS, ProvenanceKind, tag_rows
from synth_pipeline.quality.expectations import (
    load_suite,
    suite_for_stage,
    validate,
    write_suites,
)
from synth_pipeline.reporting import check_failures
from synth_pipeline.runner import run_generations

LABEL = "target"


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return breast_cancer()


@pytest.fixture(scope="module")
def real_suite(reference) -> dict:
    return suite_for_stage(reference, stage=Stage.REAL_SOURCE, suite_name="bc/real_source", label_column=LABEL)


@pytest.fixture
def real_rows(reference) -> pd.DataFrame:
    return tag_rows(reference, kind=ProvenanceKind.REAL, generation=0, dataset="bc/real_source", depth=0)


def _find(suite: dict, kind: str, column: str | None = None) -> dict:
    return next(e for e in suite["expectations"] if e["type"] == kind and e["kwargs"].get("column") == column)


def _failure(summary, kind: str, column: str | None = None) -> dict:
    return next(f for f in summary.failures if f["expectation"] == kind and f["column"] == column)


# --- the suite ---


def test_the_suite_is_plain_json_that_gx_reads_back(real_suite, reference):
    assert json.loads(json.dumps(real_suite, allow_nan=False)) == real_suite
    from synth_pipeline.quality.gx_runtime import great_expectations

    gx_suite = great_expectations().ExpectationSuite(**real_suite)
    assert [(e.configuration.type, e.configuration.kwargs.get("column")) for e in gx_suite.expectations] == [
        (e["type"], e["kwargs"].get("column")) for e in real_suite["expectations"]
    ]
    schema = _find(real_suite, "expect_table_columns_to_match_set")["kwargs"]
    assert schema == {"column_set": list(reference.columns) + list(PROVENANCE_COLUMNS), "exact_match": True}
    radius = _find(real_suite, "expect_column_values_to_be_between", "mean_radius")
    assert radius["kwargs"]["min_value"] == reference["mean_radius"].min()
    assert radius["kwargs"]["max_value"] == reference["mean_radius"].max()
    assert radius["meta"]["source"] == "reference data"
    assert _find(real_suite, "expect_column_values_to_be_in_set", LABEL)["kwargs"]["value_set"] == [0, 1]
    assert not any(e["kwargs"].get("column") == LABEL and e["type"].endswith("between")
                   for e in real_suite["expectations"])
    assert _find(real_suite, "expect_column_values_to_not_be_null", "worst_area")


@pytest.mark.parametrize(
    ("stage", "kinds", "max_depth"),
    [
        (Stage.REAL_HOLDOUT, ["real"], 0),
        (Stage.SYNTHETIC, ["synthetic"], None),
        (Stage.AUGMENTED, ["augmented"], None),
        (Stage.UNKNOWN, ["real", "synthetic", "augmented", "unknown"], None),
        (Stage.TRAINING_MIX, ["real", "synthetic", "augmented", "unknown"], None),
    ],
)
def test_provenance_expectations_follow_the_stage(reference, stage, kinds, max_depth):
    suite = suite_for_stage(reference, stage=stage, suite_name="s", label_column=LABEL)
    assert _find(suite, "expect_column_values_to_be_in_set", "_sp_kind")["kwargs"]["value_set"] == kinds
    assert _find(suite, "expect_column_values_to_be_between", "_sp_depth")["kwargs"] == {
        "column": "_sp_depth", "min_value": 0, "max_value": max_depth}
    assert _find(suite, "expect_column_values_to_be_between", "_sp_generation")["kwargs"]["min_value"] == 0
    for column in PROVENANCE_COLUMNS:
        assert _find(suite, "expect_column_values_to_not_be_null", column)


def test_categorical_columns_get_value_sets_up_to_100_distinct_values():
    frame = pd.DataFrame({
        "colour": pd.Series(["red", "blue", None, "red"] * 50, dtype="string"),
        "flag": [True, False] * 100,
        "code": [f"c{i}" for i in range(200)],
        "label": np.arange(200) % 3,
    })
    suite = suite_for_stage(frame, stage=Stage.SYNTHETIC, suite_name="s", label_column="label")
    assert _find(suite, "expect_column_values_to_be_in_set", "colour")["kwargs"]["value_set"] == ["blue", "red"]
    assert _find(suite, "expect_column_values_to_be_in_set", "flag")["kwargs"]["value_set"] == [False, True]
    assert _find(suite, "expect_column_values_to_be_in_set", "label")["kwargs"]["value_set"] == [0, 1, 2]
    assert not [e for e in suite["expectations"] if e["kwargs"].get("column") == "code" and "set" in e["type"]]
    nullable = [e["kwargs"]["column"] for e in suite["expectations"] if e["type"].endswith("not_be_null")]
    assert "colour" not in nullable and {"flag", "code", "label"} <= set(nullable)
    json.dumps(suite, allow_nan=False)


# --- validating real data ---


def test_real_tagged_data_passes_the_suite_built_from_it(real_rows, real_suite):
    summary = validate(real_rows, real_suite)
    assert summary.success, summary.failures
    assert summary.evaluated == len(real_suite["expectations"]) == summary.successful
    assert (summary.failed, summary.failures, summary.success_percent) == (0, [], 100.0)


def test_a_value_out_of_range_names_the_column_and_count(real_rows, real_suite, reference):
    too_big = float(reference["mean_radius"].max()) + 1
    real_rows.loc[[3, 7, 11], "mean_radius"] = too_big
    assert _failure(validate(real_rows, real_suite), "expect_column_values_to_be_between",
                    "mean_radius")["partial_unexpected_list"] == []  # no row values unless asked for
    summary = validate(real_rows, real_suite, unexpected_samples=5)
    assert not summary.success and summary.failed == 1
    failure = _failure(summary, "expect_column_values_to_be_between", "mean_radius")
    assert failure["unexpected_count"] == 3
    assert failure["partial_unexpected_list"] == [too_big] * 3
    assert failure["error"] is None
    json.dumps(summary.failures, allow_nan=False)


def test_a_missing_column_fails_the_schema_and_its_column_expectations(real_rows, real_suite):
    summary = validate(real_rows.drop(columns=["mean_texture"]), real_suite)
    assert not summary.success
    schema = _failure(summary, "expect_table_columns_to_match_set")
    assert schema["details"] == {"mismatched": {"missing": ["mean_texture"]}}
    between = _failure(summary, "expect_column_values_to_be_between", "mean_texture")
    assert 'The column "mean_texture" in BatchData does not exist' in between["error"]
    assert {f["column"] for f in summary.failures} == {None, "mean_texture"}
    assert summary.failures[0]["expectation"] == "expect_table_columns_to_match_set"  # suite order


def test_synthetic_rows_fail_a_real_stage_and_pass_the_synthetic_one(reference):
    rows = tag_rows(reference.head(50), kind=ProvenanceKind.SYNTHETIC, generation=1, dataset="bc/synthetic", depth=1)
    real_stage = suite_for_stage(reference, stage=Stage.REAL_TRAIN, suite_name="s", label_column=LABEL)
    summary = validate(rows, real_stage, unexpected_samples=5)
    kind = _failure(summary, "expect_column_values_to_be_in_set", "_sp_kind")
    assert kind["unexpected_count"] == 50 and kind["partial_unexpected_list"] == ["synthetic"] * 5
    assert _failure(summary, "expect_column_values_to_be_between", "_sp_depth")["unexpected_count"] == 50
    synthetic_stage = suite_for_stage(reference, stage=Stage.SYNTHETIC, suite_name="s", label_column=LABEL)
    assert validate(rows, synthetic_stage).success


def test_counts_are_the_same_as_a_single_summary_validation(real_rows, real_suite):
    """validate() checks with BOOLEAN_ONLY first and counts again only where needed: every
    count must equal what GX's SUMMARY format gives on the whole suite in one pass."""
    import great_expectations as gx

    from synth_pipeline.quality.expectations import _build_suite

    real_rows.loc[[3, 7], "mean_radius"] = float(real_rows["mean_radius"].max()) + 1
    real_rows["worst_area"] = real_rows["worst_area"].astype("float64")
    real_rows.loc[[0], "worst_area"] = np.nan
    suite = json.loads(json.dumps(real_suite))
    between = _find(suite, "expect_column_values_to_be_between", "mean_texture")
    limit = float(real_rows["mean_texture"].quantile(0.99))
    between["kwargs"].update(max_value=limit, mostly=0.9)
    summary = validate(real_rows, suite)
    context = gx.get_context(mode="ephemeral")
    batch = (context.data_sources.add_pandas("p").add_dataframe_asset(name="f")
             .add_batch_definition_whole_dataframe("w").get_batch(batch_parameters={"dataframe": real_rows}))
    single = batch.validate(_build_suite(gx, suite), result_format="SUMMARY")
    expected = {(r.expectation_config.type, r.expectation_config.kwargs.get("column")):
                (bool(r.success), r.result.get("unexpected_count")) for r in single.results}
    got = {(r["expectation"], r["column"]): (r["success"], r["unexpected_count"]) for r in summary.results}
    assert got == expected
    above = int((real_rows["mean_texture"] > limit).sum())
    assert above > 0 and got["expect_column_values_to_be_between", "mean_texture"] == (True, above)  # mostly
    assert summary.failed == 2


def test_a_null_fails_not_null_but_not_the_range(real_rows, real_suite):
    real_rows["worst_area"] = real_rows["worst_area"].astype("float64")
    real_rows.loc[[0, 1], "worst_area"] = np.nan
    real_rows[DATASET_COLUMN] = real_rows[DATASET_COLUMN].astype(object)
    real_rows.loc[5, DATASET_COLUMN] = None
    summary = validate(real_rows, real_suite)
    assert _failure(summary, "expect_column_values_to_not_be_null", "worst_area")["unexpected_count"] == 2
    assert _failure(summary, "expect_column_values_to_not_be_null", DATASET_COLUMN)["unexpected_count"] == 1
    assert summary.failed == 2  # nulls are "missing" to the range expectation, not unexpected


def test_an_unknown_expectation_type_is_an_error_not_silently_dropped(real_rows):
    suite = {"name": "typo", "expectations": [
        {"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "mean_radius", "min_value": 0}}]}
    with pytest.raises(SynthPipelineError, match="expectation 0 .*expect_column_values_to_be_betwen"):
        validate(real_rows, suite)


# --- suite files ---


def test_write_suites_refuses_to_overwrite_and_load_suite_explains_bad_files(tmp_path, reference):
    stages = [Stage.REAL_SOURCE, Stage.SYNTHETIC]
    paths = write_suites(reference, stages=stages, directory=tmp_path, pipeline_name="bc", label_column=LABEL)
    assert paths == [tmp_path / "real_source.json", tmp_path / "synthetic.json"]
    text = paths[1].read_text()
    assert text.startswith('{\n  "expectations"')  # indented, keys sorted
    assert load_suite(paths[1])["name"] == "bc/synthetic"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real_source.json", "synthetic.json"]  # no temp files

    paths[1].write_text('{"name": "edited", "expectations": []}')
    with pytest.raises(SynthPipelineError, match=r"synthetic\.json.*overwrite=True"):
        write_suites(reference, stages=stages, directory=tmp_path, pipeline_name="bc", label_column=LABEL)
    assert load_suite(paths[1])["name"] == "edited"
    write_suites(reference, stages=stages, directory=tmp_path, pipeline_name="bc", label_column=LABEL, overwrite=True)
    assert paths[1].read_text() == text

    paths[1].write_text('{"name": "bc/synthetic", "expectations": [')
    with pytest.raises(SynthPipelineError, match=r"synthetic\.json is not valid JSON"):
        load_suite(paths[1])
    paths[1].write_text('{"name": "bc/synthetic"}')
    with pytest.raises(SynthPipelineError, match=r"synthetic\.json is not a Great Expectations suite.*expectations"):
        load_suite(paths[1])
    with pytest.raises(SynthPipelineError, match=r"augmented\.json does not exist"):
        load_suite(tmp_path / "augmented.json")


def test_importing_the_module_does_not_import_great_expectations():
    code = (
        "import sys, synth_pipeline.quality.expectations\n"
        "assert 'great_expectations' not in sys.modules, 'great_expectations imported'\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr


def test_a_corrupt_suite_file_fails_when_the_definitions_load(tmp_path):
    pipeline = build_synth_pipeline(fast_spec(name="gx_bad", unknown_source=None))
    (tmp_path / "synthetic.json").write_text("{not json")
    with pytest.raises(SynthPipelineError, match=r"synthetic\.json is not valid JSON"):
        build_expectation_checks(pipeline, tmp_path)
    (tmp_path / "synthetic.json").unlink()
    (tmp_path / "model.json").write_text("{}")  # not a data stage: ignored
    assert build_expectation_checks(pipeline, tmp_path) == []


# --- end to end ---


def _expectation_checks(run) -> dict:
    return {check.asset_key: check for check in run.checks if check.name == "expectations"}


def test_expectation_checks_run_on_every_data_stage_and_read_the_suite_at_run_time(runner: Runner, tmp_path: Path):
    pipeline = build_synth_pipeline(fast_spec(name="gx", unknown_source=None, mix=MixSpec(real_arrival_batches=2)))
    stages = [stage for stage in DATA_STAGES if stage in pipeline.stages]
    suites = tmp_path / "suites"
    write_suites(breast_cancer(), stages=stages, directory=suites, pipeline_name=pipeline.name, label_column=LABEL)
    checks = build_expectation_checks(pipeline, suites)
    assert len(checks) == len(stages)
    # Without the fidelity/privacy/utility/diversity checks: they have their own tests and take long.
    defs = pipeline.to_definitions(data_dir=str(runner.data_dir), asset_checks=checks, include_quality_checks=False)

    [first] = run_generations(defs, pipeline=pipeline.name, generations=[1], instance=runner.instance)
    assert first.success, why(first)
    passed = _expectation_checks(first)
    assert set(passed) == {pipeline.key(stage).to_user_string() for stage in stages}
    for check in passed.values():
        assert check.passed and check.severity == "ERROR"
        assert check.metadata["evaluated"] > 0 and check.metadata["observed"] == 0
        assert check.metadata["success_percent"] == 100.0 and check.metadata["failures"] == []
        assert check.metadata["summary"].startswith("| expectation | column | success | unexpected count |")
    assert passed["gx/synthetic"].metadata["generation"] == 1
    assert passed["gx/synthetic"].metadata["suite"] == str(suites / "synthetic.json")

    # Hand-edit the synthetic suite: mean_radius at most the real median. The same
    # definitions pick it up in the next run.
    path = suites / "synthetic.json"
    suite = json.loads(path.read_text())
    _find(suite, "expect_column_values_to_be_between", "mean_radius")["kwargs"]["max_value"] = float(
        breast_cancer()["mean_radius"].median())
    path.write_text(json.dumps(suite, indent=2))

    [second] = run_generations(defs, pipeline=pipeline.name, generations=[2], instance=runner.instance)
    assert not second.success
    failed = _expectation_checks(second)["gx/synthetic"]
    assert not failed.passed and failed in second.failed_checks
    assert failed.metadata["rule"] == "expect_column_values_to_be_between(mean_radius), unmet (1) or met (0)"
    assert failed.metadata["observed"] == 1 and failed.metadata["generation"] == 2
    [failure] = failed.metadata["failures"]
    assert failure["column"] == "mean_radius" and failure["unexpected_count"] > 0
    assert "| expect_column_values_to_be_between | mean_radius | **no** |" in failed.metadata["summary"]
    assert any("expectations FAILED on gx/synthetic" in line for line in check_failures(second))
    # quarantined with the evidence every check gives (one result builder): the rule, its figures and fix
    [(name, reason)] = runner.store.quarantine_reasons(pipeline.key(Stage.SYNTHETIC), "2").items()
    assert name == "expectations"
    assert reason.startswith("1 rule(s) failed: expect_column_values_to_be_between(mean_radius), unmet (1) or met (0): "
                             "observed 1 > limit 0, n = ")
    assert re.search(r"fix: \d+ unexpected value\(s\) of \d+ rows; correct the data or, if the change is intended, "
                     r"the suite synthetic\.json", reason), reason
    assert _expectation_checks(second)["gx/real_arrivals"].passed


def test_column_aggregates_are_row_values_and_hidden_unless_asked_for(real_rows, reference):
    too_big = float(reference["mean_radius"].max()) + 1
    real_rows.loc[3, "mean_radius"] = too_big
    suite = {"name": "max", "expectations": [{"type": "expect_column_max_to_be_between",
                                              "kwargs": {"column": "mean_radius", "max_value": too_big - 0.5}}]}
    [hidden] = validate(real_rows, suite).failures
    assert hidden["observed_value"] is None and hidden["details"] is None
    [shown] = validate(real_rows, suite, unexpected_samples=1).failures
    assert shown["observed_value"] == too_big
