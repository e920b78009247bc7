"""Checks on no rows are skipped, with the reason, never passed as ``0 >= 0`` nor failed: in the
check result and its metadata, the CLI summary and the HTML report."""

import re
from pathlib import Path

import dagster as dg
from test_hints import cli, user_module

from conftest import fast_spec
from synth_pipeline import SynthesizerSpec, SynthPolicy, build_synth_pipeline
from synth_pipeline.naming import Stage
from synth_pipeline.spec import MixSpec

AUGMENTED_CHECKS = {"fidelity", "privacy", "utility", "diversity", "provenance_valid", "expectations"}
REASON = "no rows: augmentation made none in generation 1"
# Only the augmented stage's quality checks: the ones this test is about (the others cost time).
AUGMENTED_QUALITY = ("[c for c in __import__('synth_pipeline.checks.quality_checks', fromlist=['x'])"
                     ".build_quality_checks(pipeline) if next(iter(c.check_keys)).asset_key == "
                     "pipeline.key('augmented')]")


def _evaluations(home: Path) -> list:
    instance = dg.DagsterInstance.from_config(str(home))
    [run] = instance.get_runs()
    return [
        record.event_log_entry.dagster_event.event_specific_data
        for record in instance.get_records_for_run(run.run_id).records
        if record.event_log_entry.dagster_event
        and record.event_log_entry.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]


def test_balanced_table_augments_nothing_and_every_check_on_it_is_skipped(tmp_path):
    # iris is balanced (40/40/40 arriving rows): SMOTE has no class to top up
    module = user_module(tmp_path / "code", suites='["augmented"]', checks=AUGMENTED_QUALITY)
    result = cli(["run"], tmp_path, module)
    out = result.stdout
    assert re.search(r"iris/augmented\s+1\s+empty\s+0", out), out

    # the check results and their metadata
    augmented = {e.check_name: e for e in _evaluations(tmp_path / "home") if e.asset_key.to_user_string()
                 == "iris/augmented"}
    assert set(augmented) == AUGMENTED_CHECKS, out + result.stderr
    for name, evaluation in augmented.items():
        assert evaluation.passed, name
        assert evaluation.description.startswith(f"skipped: {REASON}"), (name, evaluation.description)
        metadata = {key: getattr(value, "value", value) for key, value in evaluation.metadata.items()}
        assert metadata["verdict"] == "skipped" and metadata["reason"].startswith(REASON), name
        assert metadata["sample_size"] == 0, name
        assert all(rule["verdict"] == "skipped" for rule in metadata["rules"]), name

    # the CLI summary: one "skipped" line per check, with the reason
    for name in AUGMENTED_CHECKS:
        assert re.search(rf"^{name}\s+iris/augmented\s+skipped\s+{REASON}", out, re.MULTILINE), (name, out)
    assert not re.search(r"^expectations: ", out, re.MULTILINE)  # its only suite was skipped: not "passed"

    # the report
    report = re.search(r"^report.*?: (\S+\.html)$", out, re.MULTILINE)
    assert report, out
    page = Path(report.group(1)).read_text()
    assert "augmented (no rows)" in page and REASON in page
    for table in ("diversity", "privacy", "utility"):
        body = page.split(f'<table id="{table}">')[1].split("</table>")[0]
        assert '<td>augmented</td><td class="n">1</td>' in body, table
        assert '<td class="skipped">skipped</td>' in body, table


def test_checks_on_an_empty_mix_and_empty_arrivals_skip_what_is_undefined_and_judge_what_is_not(runner):
    # Real rows arrive in generation 1 only; generation 2 samples 0 synthetic rows from 0 arrivals,
    # and in replace mode its mix holds no rows.
    pipeline = build_synth_pipeline(fast_spec(
        name="dry", unknown_source=None, augmentation=None,
        synthesizer=SynthesizerSpec(params={"default_distribution": "norm"}),
        mix=MixSpec(mode="replace", real_arrival_generations=1),
    ))
    first, second = runner.run(pipeline, [1, 2], policy=SynthPolicy(), keep_going=True)
    assert first.success
    checks = {(c.asset_key.split("/")[-1], c.name): c for c in second.checks}
    skipped = {key for key, c in checks.items() if c.metadata.get("verdict") == "skipped"}
    assert {("real_arrivals", "provenance_valid"), ("synthetic", "provenance_valid"),
            ("training_mix", "provenance_valid"), ("training_mix", "synthetic_budget"),
            ("training_mix", "recursion_depth"), ("training_mix", "unknown_budget")} <= skipped, checks
    assert checks[("real_arrivals", "provenance_valid")].metadata["reason"].startswith(
        "no rows: no real rows arrive in generation 2")
    assert checks[("training_mix", "synthetic_budget")].metadata["reason"].startswith(
        "no rows: the training mix of generation 2 is empty")
    # no rows is itself the evidence that no fresh real rows came: judged, and it blocks the empty mix
    budget = checks[("training_mix", "generation_budget")]
    assert not budget.passed and budget.metadata["rule"] == "fresh real rows"
    verdicts = {rule["rule"]: rule["verdict"] for rule in budget.metadata["rules"]}
    growth = "non-real fraction (synthetic + augmented + unknown) growth since previous generation"
    assert verdicts == {growth: "skipped", "fresh real rows": "fail"}
    assert "mix.real_arrival_batches" in budget.metadata["fix"]
    assert not any(record.stage == Stage.MODEL for record in second.stages)
