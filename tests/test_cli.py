"""The synth-pipeline command, run as users run it."""

import os
import re
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "synth_pipeline.cli"]


def _run(args, tmp_path, **extra_env):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"),
           "SYNTH_PIPELINE_DATA_DIR": str(tmp_path / "data"), **extra_env}
    return subprocess.run(CLI + args, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)


def test_run_materializes_the_reference_pipeline_and_prints_a_summary(tmp_path):
    result = _run(["run"], tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "generation 1 done" in out
    stages = ["real_source", "real_holdout", "real_train", "synthetic", "augmented", "unknown_ingest", "training_mix"]
    for stage in stages:
        assert f"breast_cancer/{stage}" in out
    assert "stage" in out and "provenance" in out and "synthetic fraction" in out and "max depth" in out
    assert "evaluation on breast_cancer/real_holdout (113 real rows)" in out
    # the quality checks ran, with their figures (SMOTE rows sit next to real rows: a warning)
    assert re.search(r"fidelity\s+breast_cancer/synthetic\s+ok\s+quality 0\.\d+, its bound [\d.]+, adversarial AUC "
                     r"0\.\d+, its 95 % bound 0\.\d+", out), out
    assert re.search(r"privacy\s+breast_cancer/synthetic\s+ok\s+copies 0, DCR share", out), out
    assert re.search(r"privacy\s+breast_cancer/augmented\s+warning", out), out
    assert re.search(r"diversity\s+breast_cancer/training_mix\s+ok", out), out
    assert (tmp_path / "data" / "breast_cancer" / "training_mix" / "1.parquet").is_file()
    # the run is recorded in the persistent instance the UI reads
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(tmp_path / "home"))
    assert len(instance.get_runs()) == 1
    assert instance.get_dynamic_partitions("breast_cancer_generations") == ["1"]
    # and so are the Great Expectations checks of every stage (suites in checks/expectations)
    evaluations = [
        record.event_log_entry.dagster_event.event_specific_data
        for record in instance.get_records_for_run(instance.get_runs()[0].run_id).records
        if record.event_log_entry.dagster_event
        and record.event_log_entry.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    expectations = {e.asset_key.to_user_string(): e.passed for e in evaluations if e.check_name == "expectations"}
    assert expectations == {f"breast_cancer/{stage}": True for stage in [*stages, "real_arrivals"]}


def test_expectations_init_writes_one_suite_per_stage_and_keeps_hand_edits(tmp_path):
    out = tmp_path / "suites"
    result = _run(["expectations", "init", "assets.pipeline:reference_pipeline", "--out", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    shipped = (PROJECT / "checks" / "expectations").glob("*.json")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in shipped)
    again = _run(["expectations", "init", "assets.pipeline:reference_pipeline", "--out", str(out)], tmp_path)
    assert again.returncode == 2 and "already exist" in again.stderr


def test_a_failing_run_exits_non_zero_and_says_why(tmp_path):
    result = _run(["run", "--source", str(tmp_path / "missing.csv")], tmp_path)
    assert result.returncode == 1
    assert "FAILED" in result.stdout
    assert "missing.csv not found" in result.stderr


def test_usage_errors_exit_2(tmp_path):
    result = _run(["run", "--pipeline", "nope"], tmp_path)
    assert result.returncode == 2
    assert "no synth-pipeline named 'nope'" in result.stderr


def test_a_failing_blocking_check_exits_1_and_names_check_asset_generation_and_values(tmp_path):
    """On a small pipeline of the test module (the reference one is run above)."""
    policy = tmp_path / "strict.yaml"
    policy.write_text("max_synthetic_fraction: 0.05\n")
    result = _run(["run", "-m", "multiprocess_job", "--pipeline", "par_a", "--policy", str(policy)], tmp_path,
                  PYTHONPATH=str(PROJECT / "tests"))
    assert result.returncode == 1
    headline, line = [line for line in result.stderr.splitlines() if "synthetic_budget" in line]
    assert headline.startswith("generation 1 blocked by 1 check: par_a/training_mix synthetic_budget (non-real "
                               "fraction (synthetic + augmented + unknown), overall: observed 0."), headline
    assert headline.endswith("); not run: par_a/model, par_a/evaluation"), headline
    assert line.startswith("check synthetic_budget FAILED on par_a/training_mix, generation 1: ")
    assert re.search(r"non-real fraction \(synthetic \+ augmented \+ unknown\), overall: "
                     r"observed 0\.\d+ > limit 0\.05, n = \d+; fix: .*synthesizer\.rows_per_real_row", line), line
    assert "Traceback" not in result.stderr


def test_invalid_policy_file_is_a_usage_error_naming_the_field(tmp_path):
    policy = tmp_path / "bad.yaml"
    policy.write_text("max_depth: -2\n")
    result = _run(["run", "--policy", str(policy)], tmp_path)
    assert result.returncode == 2
    assert "max_depth" in result.stderr


def test_ci_gate_runs_the_next_generation_and_fails_with_a_markdown_summary(tmp_path):
    """The README's CI command: `run --next --summary $GITHUB_STEP_SUMMARY`, here on a small pipeline."""
    summary = tmp_path / "summary.md"
    gate = ["run", "-m", "multiprocess_job", "--pipeline", "par_a", "--next", "--summary", str(summary)]
    tests_dir = str(PROJECT / "tests")
    result = _run(gate, tmp_path, PYTHONPATH=tests_dir)
    assert result.returncode == 0, result.stderr
    assert "generation 1 done" in result.stdout
    policy = tmp_path / "strict.yaml"
    policy.write_text("max_synthetic_fraction: 0.05\n")
    failing = _run([*gate, "--policy", str(policy)], tmp_path, PYTHONPATH=tests_dir)
    # a blocked generation is not a broken one: said so, with what blocked it and what did not run
    assert failing.returncode == 1 and "generation 2 BLOCKED" in failing.stdout  # --next went on from 1
    headline = re.search(r"^generation 2 blocked by 1 check: par_a/training_mix synthetic_budget "
                         r"\(non-real fraction \(synthetic \+ augmented \+ unknown\), overall: "
                         r"observed 0\.\d+ > limit 0\.05, n = \d+\); "
                         r"not run: par_a/model, par_a/evaluation$", failing.stderr, re.M)
    assert headline, failing.stderr
    text = summary.read_text()
    assert "### par_a, generation 1: passed" in text
    failed_section = text.split("### par_a, generation 2: blocked")[1]
    assert headline.group(0) in failed_section
    assert "**Blocking failures**" in failed_section
    assert "- check synthetic_budget FAILED on par_a/training_mix, generation 2: " in failed_section


def test_the_example_workflow_runs_the_documented_ci_command():
    import yaml

    workflow = yaml.safe_load((PROJECT / "examples" / "ci" / "github-actions.yml").read_text())
    commands = [step.get("run", "") for step in workflow["jobs"]["generation"]["steps"]]
    assert '.venv/bin/synth-pipeline run --next --summary "$GITHUB_STEP_SUMMARY"' in commands
    assert "make setup" in commands
    assert "synth-pipeline run --next --summary" in (PROJECT / "README.md").read_text()
