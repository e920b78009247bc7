"""A generation blocked by its checks says so in Dagster: run tags, observations on the blocked and
the not-run partitions, and a run failure naming each blocking failure with observed and limit."""

from __future__ import annotations

import re

import dagster as dg

from conftest import fast_spec
from synth_pipeline import SynthPolicy, build_synth_pipeline
from synth_pipeline.checks.blocked import BLOCKED_TAG, blocked_tag
from synth_pipeline.cli import main
from synth_pipeline.naming import Stage
from synth_pipeline.report import report_path
from synth_pipeline.reporting import check_failures
from synth_pipeline.storage import DATA_DIR_ENV

# Generation 2 only: synthetic rows fail fidelity (quality score below 1) and utility (ratio to real below 1.5).
STRICT = SynthPolicy(min_quality_score=1.0, min_tstr_trtr_ratio=1.5)
EVIDENCE = re.compile(r"observed [\d.]+ (\([^)]*\) )?[<>]=? limit [\d.]+")


def _observations(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> dict[str, str]:
    records = instance.fetch_observations(dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]),
                                          limit=20).records
    return {label: value.value for r in records for label, value in r.asset_observation.metadata.items()}


def test_a_blocked_generation_says_which_checks_blocked_it_and_what_did_not_run(runner, tmp_path, monkeypatch,
                                                                               capsys):
    pipeline = build_synth_pipeline(fast_spec(name="blk", unknown_source=None))
    [first] = runner.run(pipeline, [1], quality_checks=True)
    assert first.success
    [blocked] = runner.run(pipeline, [2], policy=STRICT, quality_checks=True)
    assert not blocked.success
    failed = {(c.asset_key, c.name) for c in blocked.failed_checks if c.severity == "ERROR"}
    synthetic, augmented, mix = (pipeline.key(s) for s in (Stage.SYNTHETIC, Stage.AUGMENTED, Stage.TRAINING_MIX))
    assert failed == {("blk/synthetic", "fidelity"), ("blk/synthetic", "utility"), ("blk/augmented", "utility")}, \
        check_failures(blocked)
    assert blocked.failures == []  # the check results report the block; no duplicate step failure

    instance = runner.instance
    tags = instance.get_run_by_id(blocked.run_id).tags
    assert tags[BLOCKED_TAG] == "generation 2"
    for key, name in ((synthetic, "fidelity"), (synthetic, "utility"), (augmented, "utility")):
        assert EVIDENCE.search(tags[blocked_tag(key, name)]), tags

    # The blocked partition says by what; the partitions downstream say they were not run and why.
    on_synthetic = _observations(instance, synthetic, "2")
    assert {"blocked by fidelity", "blocked by utility"} <= set(on_synthetic)
    for key in (mix, pipeline.key(Stage.MODEL), pipeline.key(Stage.EVALUATION)):
        [note] = _observations(instance, key, "2").values()
        assert note.startswith("generation 2 blocked by "), note
        assert EVIDENCE.search(note)

    # The run failure names every blocking failure, with figures, as the CLI's verdict does: the checks of the
    # synthetic and augmented assets run in one step, which fails once, after all of them.
    [run_failure] = [e for e in instance.all_logs(blocked.run_id) if e.dagster_event
                     and e.dagster_event.event_type is dg.DagsterEventType.RUN_FAILURE]
    prefix = "synth_pipeline.checks.blocked.GenerationBlocked: "
    message = run_failure.dagster_event.event_specific_data.error.message.removeprefix(prefix)
    assert message.startswith("generation 2 blocked by 3 checks: blk/augmented utility ("), message
    assert "; not run: blk/training_mix, blk/model, blk/evaluation\n" in message, message
    assert f"report: {report_path(runner.data_dir, 'blk', 2)}" in message
    [step_failure] = [e.dagster_event for e in instance.all_logs(blocked.run_id)
                      if e.dagster_event and e.dagster_event.is_step_failure]
    assert step_failure.step_failure_data.error.message.removeprefix(prefix) == message
    # the same checks, figures and limits as the CLI's verdict (the kept records name rules without data values)
    figures = re.compile(r"(blk/\w+ \w+) \(|observed ([\d.]+)|limit ([\d.]+)")
    assert figures.findall(message.split("\n")[0]) == figures.findall(blocked.verdict.headline())
    for named in ("blk/synthetic fidelity (", "blk/synthetic utility (", "blk/augmented utility ("):
        assert named in message, message
    assert len(EVIDENCE.findall(message)) >= 3
    # the step's failure metadata lists each blocked check with its figures
    [listed] = [entry.value for name, entry in step_failure.step_failure_data.user_failure_data.metadata.items()
                if name == "blocked_checks"]
    assert {(item["asset"], item["check"]) for item in listed} == {
        ("blk/synthetic", "fidelity"), ("blk/synthetic", "utility"), ("blk/augmented", "utility")}
    assert all(item["observed"] is not None and item["threshold"] is not None for item in listed)
    # the step writes the generation's report once, after its three blocking checks, and each links it
    written = [e.user_message for e in instance.all_logs(blocked.run_id)
               if e.user_message.startswith("generation 2 blocked; its report: ")]
    assert written == [f"generation 2 blocked; its report: {report_path(runner.data_dir, 'blk', 2)}"], written
    links = {(c.asset_key, c.name): c.metadata.get("report") for c in blocked.failed_checks if c.severity == "ERROR"}
    assert set(map(str, links.values())) == {str(report_path(runner.data_dir, "blk", 2))}, links

    # Generation 1 keeps its passed results; generation 2's downstream checks were planned, never executed.
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(mix, "synthetic_budget")])
    assert latest[dg.AssetCheckKey(mix, "synthetic_budget")].status.value == "PLANNED"

    # `synth-pipeline report` without --generation reports the last generation run, blocked before its mix, and
    # names the last generation with a mix (a trial's `report` exited 2 here, naming only the earlier generation)
    defs_file = tmp_path / "blk_defs.py"
    defs_file.write_text("from conftest import fast_spec\nfrom synth_pipeline import build_synth_pipeline\n\n"
                         "defs = build_synth_pipeline(fast_spec(name='blk', unknown_source=None)).to_definitions()\n")
    monkeypatch.setenv(DATA_DIR_ENV, str(runner.data_dir))
    capsys.readouterr()
    assert main(["report", "-f", str(defs_file)]) == 0
    out = capsys.readouterr().out
    assert f"report of blk, generation 2: {report_path(runner.data_dir, 'blk', 2)}" in out, out
    assert f"generation 2 stopped before its training mix; the last generation with one is 1: synth-pipeline " \
           f"report -f {defs_file} --generation 1" in out, out
    banner = re.search(r'<p class="verdict failed" id="verdict">(.*?)</p>', report_path(
        runner.data_dir, "blk", 2).read_text())
    assert banner and banner.group(1).startswith("generation 2 blocked by 3 checks: "), banner


def test_a_block_by_a_check_of_an_asset_made_once_names_the_run_generation(runner):
    """The holdout is made once, so its checks have no generation of their own; blocking generation 1's run
    they still say 'generation 1', tag it, note the evaluation's partition and write its report (a new user's
    trial found 'the run blocked by ...', tag 'yes' and no report)."""
    pipeline = build_synth_pipeline(fast_spec(name="once", unknown_source=None))
    [blocked] = runner.run(pipeline, [1], policy=SynthPolicy(min_holdout_rows=1000))
    assert {(c.asset_key, c.name) for c in blocked.failed_checks} == {("once/real_holdout", "holdout_purity")}
    tags = runner.instance.get_run_by_id(blocked.run_id).tags
    assert tags[BLOCKED_TAG] == "generation 1"
    [failure] = [e.dagster_event.step_failure_data.error.message for e in runner.instance.all_logs(blocked.run_id)
                 if e.dagster_event and e.dagster_event.is_step_failure]
    verdict = re.compile(r"GenerationBlocked: generation 1 blocked by 1 check: once/real_holdout holdout_purity "
                         r"\(holdout rows: observed \d+ < limit 1000, n = \d+\); not run: once/evaluation\n")
    assert verdict.search(failure), failure
    assert f"report: {report_path(runner.data_dir, 'once', 1)}" in failure
    assert report_path(runner.data_dir, "once", 1).is_file()
    [note] = _observations(runner.instance, pipeline.key(Stage.EVALUATION), "1").values()
    assert note.startswith("generation 1 blocked by holdout_purity on once/real_holdout: "), note


def test_a_rerun_of_a_generation_names_only_its_own_blocking_failures(runner):
    """A trial ran generation 1 blocked by strict quality limits, then again blocked by the holdout's size only:
    the second run's failure still named the first run's fidelity and utility failures, kept in the store for
    checks that had not run again yet. Each run's failure names the failures that run recorded."""
    pipeline = build_synth_pipeline(fast_spec(name="again", unknown_source=None))
    [first] = runner.run(pipeline, [1], policy=STRICT, quality_checks=True)
    assert {c.name for c in first.failed_checks if c.severity == "ERROR"} >= {"fidelity", "utility"}
    [second] = runner.run(pipeline, [1], policy=SynthPolicy(min_holdout_rows=1000), quality_checks=True)
    assert {(c.asset_key, c.name) for c in second.failed_checks if c.severity == "ERROR"} == {
        ("again/real_holdout", "holdout_purity")}, check_failures(second)
    prefix = "synth_pipeline.checks.blocked.GenerationBlocked: "
    [run_failure] = [e for e in runner.instance.all_logs(second.run_id) if e.dagster_event
                     and e.dagster_event.event_type is dg.DagsterEventType.RUN_FAILURE]
    message = run_failure.dagster_event.event_specific_data.error.message.removeprefix(prefix)
    assert message.startswith("generation 1 blocked by 1 check: again/real_holdout holdout_purity ("), message
    assert "fidelity" not in message and "utility" not in message, message


def test_the_run_tag_of_a_check_with_several_failed_rules_names_every_rule(runner):
    """A trial's tag `synth_pipeline/blocked/<mix>/synthetic_budget` read "2 rule(s) failed: synthetic fraction,
    overall: ..." and nothing of the second rule: stripping the first fix took the rest of the line with it."""
    pipeline = build_synth_pipeline(fast_spec(name="tag", unknown_source=None))
    strict = SynthPolicy(max_synthetic_fraction=0.01, max_class_synthetic_fraction=0.01,
                         max_minority_class_synthetic_fraction=0.01)
    [blocked] = runner.run(pipeline, [1], policy=strict)
    check = blocked.check("synthetic_budget")
    failed = [rule for rule in check.metadata["rules"] if rule["verdict"] == "fail"]
    assert len(failed) >= 2, check.metadata["rules"]
    tag = runner.instance.get_run_by_id(blocked.run_id).tags[blocked_tag(pipeline.key(Stage.TRAINING_MIX),
                                                                           "synthetic_budget")]
    assert tag.startswith(f"{len(failed)} rule(s) failed: ") and "fix:" not in tag, tag
    shown = tag.split(": ", 1)[1].split(" | ")
    assert len(shown) == len(failed), tag
    for rule, text in zip(failed, shown, strict=True):
        assert text.startswith(f"{rule['rule']}: observed "), (rule, text)
        assert EVIDENCE.search(text), text
