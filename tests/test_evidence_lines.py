"""Evidence lines a statistician would sign, and skipped checks shown as skipped (new-user trials).

- A line must be one coherent statement: the figure judged, its bound, the sample size and what it counts, the
  limit, why that figure (where another seems natural) and the fix; never "cannot fail" beside a failure, never
  an observed figure that is not the one the limit applies to, and no pointer to Dagster-only metadata
  ("see worst_columns"): the CLI and the HTML report show the line alone.
- A check whose rules were all skipped (no rows; a rule the policy leaves off) is ``skipped`` wherever check
  runs are listed (``synth-pipeline lineage checks``, the report, the CLI summary), never ``COMPLETE`` or passed.

Real check evaluations on a real pipeline run (GaussianCopula, 1 generation) of a small churn table.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from churn_data import churn_pipeline

from conftest import Runner, why
from synth_pipeline import SynthPolicy
from synth_pipeline.checks.quality_checks import _diversity_outcomes, _fidelity
from synth_pipeline.checks.rule_checks import CheckInputs
from synth_pipeline.cli import main
from synth_pipeline.lineage.store import LineageStore
from synth_pipeline.naming import Stage
from synth_pipeline.quality.diversity import measure_diversity
from synth_pipeline.report import build_generation_report, report_path
from synth_pipeline.reporting import check_failures, quality_summary
from synth_pipeline.verdicts import RuleOutcome, Verdict

UTILITY_ROWS = 100
"""The policy's utility_sample_rows: the utility refits see fewer rows than the evaluation's own models."""


@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    """One generation of the churn pipeline with every check; balanced classes leave augmentation nothing to do."""
    directory = tmp_path_factory.mktemp("evidence")
    runner = Runner(directory / "data")
    pipeline = churn_pipeline(directory, name="ev")
    [run] = runner.run(pipeline, [1], quality_checks=True, policy=SynthPolicy(utility_sample_rows=UTILITY_ROWS))
    assert run.success, why(run)
    return runner, pipeline, run


def _inputs(runner: Runner, pipeline, policy: SynthPolicy, stage: Stage = Stage.SYNTHETIC) -> CheckInputs:
    return CheckInputs(pipeline=pipeline, store=runner.store, policy=policy, generation=1, instance=runner.instance,
                       checked=pipeline.key(stage), role=stage)


def test_an_evidence_line_names_what_its_bound_and_sample_are():
    outcome = RuleOutcome("quality", 0.6, 0.7, "min", confidence_bound=0.65, bound_name="bound from a control",
                          sample_size=40, sample_unit="generated rows", basis="judged on this figure because ...",
                          fix="more rows")
    assert outcome.verdict is Verdict.FAIL
    assert outcome.evidence() == ("quality: observed 0.6 (bound from a control: 0.65) < limit 0.7, n = 40 generated "
                                  "rows; judged on this figure because ...; fix: more rows")
    plain = RuleOutcome("DCR share", 0.71, 0.55, "max", confidence_bound=0.66, sample_size=400, fix="x")
    assert plain.evidence() == "DCR share: observed 0.71 (95 % lower bound 0.66) > limit 0.55, n = 400; fix: x"
    assert set(plain.to_dict()) >= {"rule", "observed", "confidence_bound", "sample_size", "evidence"}


def test_every_line_of_a_run_is_coherent(churn):
    """No line says a figure cannot fail, names Dagster-only metadata, or shows a bound on the wrong side of
    its own figure (an observed value that is not the one the bound and the limit belong to)."""
    _, _, run = churn
    for check in run.checks:
        for rule in check.metadata.get("rules") or []:
            line = rule["evidence"]
            assert "cannot fail" not in line and "worst_columns" not in line, line
            bound, observed = rule.get("confidence_bound"), rule["observed"]
            if rule["verdict"] in ("pass", "fail") and bound is not None and bound == bound and observed == observed:
                on_its_side = bound >= observed - 1e-9 if rule["bound"] == "min" else bound <= observed + 1e-9
                assert on_its_side, line  # a lower bound above its estimate contradicts itself


def test_the_evaluation_judges_the_ratio_its_bound_belongs_to_and_says_when_its_own_models_differ(churn):
    _, _, run = churn
    [check] = [c for c in run.checks if c.name == "evaluation_on_real"]
    [rule] = [r for r in check.metadata["rules"] if r["rule"].startswith("TSTR/TRTR ratio")]
    evaluation = next(r.metadata for r in run.stages if "primary_metric" in r.metadata)
    assert rule["confidence_bound"] == pytest.approx(check.metadata["tstr_trtr_ratio_upper_bound"], abs=1e-3)
    assert re.search(r", n = \d+ holdout rows", rule["evidence"]), rule["evidence"]
    assert re.search(r": TSTR [\d.]+ / TRTR [\d.]+: observed ", rule["evidence"]), rule["evidence"]
    # The refits train on at most UTILITY_ROWS rows, the evaluation's own models on all of them: its ratio
    # is named beside, not put in place of the figure the bound belongs to.
    own = float(evaluation["tstr_trtr_ratio"])
    assert abs(own - rule["observed"]) > 5e-3, "the setup no longer makes the two ratios differ"
    assert rule["evidence"].endswith(f"n = 120 holdout rows; the figures are from the refits behind the bound (at "
                                     f"most {UTILITY_ROWS} training rows a model); the evaluation's own models give "
                                     f"the ratio {own:.3g}"), rule["evidence"]


def test_a_failing_fidelity_line_names_the_columns_that_differ_inline(churn):
    """The fix used to say "see worst_columns", metadata only the Dagster UI shows."""
    runner, pipeline, run = churn
    strict = SynthPolicy(max_adversarial_auc=0.5, min_quality_score=0.99)
    outcomes, metadata = _fidelity(_inputs(runner, pipeline, strict), stage=Stage.SYNTHETIC)
    quality, adversarial = outcomes
    assert quality.rule == "SDMetrics quality score"
    shapes = sorted(metadata["column_shape_scores"].data.items(), key=lambda item: item[1])
    lowest = ", ".join(f"{column} {score:.2f}" for column, score in shapes[:3])
    assert adversarial.verdict is Verdict.FAIL  # the strict limit: a classifier tells the rows apart
    for outcome in outcomes:
        line = outcome.evidence()
        assert "worst_columns" not in line
        if outcome.verdict is Verdict.FAIL:
            assert f"(lowest SDMetrics scores: column shapes {lowest}; column pairs " in line, line
    # The quality score's bound adds the shortfall of as many unseen holdout rows: it is named as what it is,
    # not as a 95 % confidence bound.
    judged = quality if quality.verdict is not Verdict.WARN else None
    if judged is not None:
        rows = metadata["control_rows"]
        assert f"(upper bound, adding the shortfall of {rows} unseen holdout rows scored alike: " in judged.evidence()
        assert "95 %" not in judged.evidence().split(", n = ")[0]
    assert adversarial.sample_unit == "real and generated rows"


def test_a_failing_tail_line_names_the_columns_it_pools(churn):
    runner, pipeline, _ = churn
    data = runner.read(pipeline, Stage.SYNTHETIC, 1)
    real = runner.read(pipeline, Stage.REAL_TRAIN)
    report = measure_diversity(data, real, categorical=["zip_code", "senior", "churned"])
    outcomes = _diversity_outcomes(report, SynthPolicy(min_tail_coverage=1.0, max_tail_coverage=1.0))
    tails = [o for o in outcomes if o.rule.startswith("tail coverage")]
    assert len(tails) == 2 and {o.public_rule for o in tails} == {None}  # the public name stays the rule itself
    for outcome, word in zip(tails, ("lowest", "highest"), strict=True):
        assert outcome.fix.startswith(f"the tails are pooled over {len(report.tail_coverages)} numeric columns, "
                                      f"{word} "), outcome.fix
        assert set(report.tail_coverages) <= {"tenure", "charges"}
    [variance] = [o for o in outcomes if o.rule.startswith("variance ratio, smallest")]
    assert variance.rule == f"variance ratio, smallest ({report.min_variance_column}, by 95 % upper bound)"


def test_a_blocked_generation_shows_the_columns_in_the_cli_and_the_report(tmp_path):
    runner = Runner(tmp_path / "data")
    pipeline = churn_pipeline(tmp_path, name="evb", augmentation=None)
    [run] = runner.run(pipeline, [1], quality_checks=True, policy=SynthPolicy(max_adversarial_auc=0.5))
    [fidelity] = [c for c in run.checks if c.name == "fidelity"]
    assert not run.success and not fidelity.passed, why(run)
    lines = [line for line in check_failures(run) if "check fidelity FAILED" in line]
    assert lines and all("lowest SDMetrics scores: column shapes " in line for line in lines), lines
    text = report_path(runner.data_dir, pipeline.name, 1).read_text()
    assert "lowest SDMetrics scores: column shapes " in text and "worst_columns" not in text


def test_skipped_checks_are_skipped_in_the_lineage_store_and_its_cli(churn, capsys):
    runner, pipeline, _ = churn
    history = LineageStore(runner.data_dir).checks(pipeline=pipeline.name)
    assert list(history.columns[:6]) == ["pipeline", "generation", "dataset", "check_name", "verdict", "state"]
    augmented = history[history["dataset"] == pipeline.key(Stage.AUGMENTED).to_user_string()]
    assert len(augmented) and set(augmented["verdict"]) == {"skipped"}  # no rows
    assert set(augmented["state"]) == {"COMPLETE"} and augmented["passed"].all()  # as OpenLineage and Dagster say
    budget = history[history["check_name"] == "privacy_budget"]
    assert set(budget["verdict"]) == {"skipped"}  # max_epsilon unset: the policy leaves the rule off
    judged = history[~history.index.isin(augmented.index) & ~history.index.isin(budget.index)]
    assert set(judged["verdict"]) <= {"passed", "warning"}

    assert main(["lineage", "checks", "--data-dir", str(runner.data_dir), "--pipeline", pipeline.name,
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    shown = {(row["dataset"], row["check_name"]): row["verdict"] for row in rows}
    assert shown[(pipeline.key(Stage.AUGMENTED).to_user_string(), "diversity")] == "skipped"
    assert main(["lineage", "checks", "--data-dir", str(runner.data_dir), "--pipeline", pipeline.name]) == 0
    table = capsys.readouterr().out
    [line] = [row for row in table.splitlines() if "ev/augmented" in row and " privacy " in row]
    assert " skipped " in line, line


def test_journals_written_before_the_verdict_was_recorded_read_skipped_checks_as_skipped(churn, tmp_path):
    """Events without the facet's ``verdict`` (older journals): a skipped check is told by its description."""
    runner, pipeline, _ = churn
    copy = tmp_path / "old"
    shutil.copytree(runner.data_dir / "lineage" / "events", copy / "lineage" / "events")
    stripped = 0
    for journal in (copy / "lineage" / "events").rglob("*.jsonl"):
        events = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
        for event in events:
            stripped += event["run"]["facets"].get("synthPipeline_check", {}).pop("verdict", None) is not None
        journal.write_text("".join(json.dumps(event) + "\n" for event in events))
    assert stripped
    old = LineageStore(copy).checks(pipeline=pipeline.name)
    new = LineageStore(runner.data_dir).checks(pipeline=pipeline.name)
    key = ["dataset", "check_name"]
    assert old.sort_values(key)["verdict"].tolist() == new.sort_values(key)["verdict"].tolist()


def test_skipped_checks_are_skipped_in_the_report_and_the_cli_summary(churn):
    runner, pipeline, run = churn
    keys = {stage: pipeline.key(stage) for stage in pipeline.stages}
    text = build_generation_report(runner.store, keys, pipeline=pipeline.name, generation=1,
                                   out=runner.data_dir / "r.html").path.read_text()
    fidelity = re.search(r"<dt>fidelity checks</dt><dd>(.*?)</dd>", text).group(1)
    assert 'augmented <span class="skipped">skipped</span>' in fidelity, fidelity
    budget = re.search(r"<dt>privacy_budget checks</dt><dd>(.*?)</dd>", text).group(1)
    assert '<span class="skipped">skipped</span>' in budget and "passed" not in budget, budget
    summary = quality_summary(run).splitlines()
    augmented = [line for line in summary if "ev/augmented" in line]
    assert augmented and all(" skipped no rows" in line for line in augmented), augmented
