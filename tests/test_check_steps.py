"""One step per asset for all its checks (issue 18, point 2): every check of the step runs, one that
raises stops none of the others, and the step fails once, naming every blocking failure with its figures."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from synth_pipeline import GuardedAssets, SynthPipelineError, guard_rail_resources, provenance_asset
from synth_pipeline.checks.blocked import GenerationBlocked
from synth_pipeline.checks.guard_rails import independent_generated_assets
from synth_pipeline.checks.rule_checks import CheckInputs, asset_checks, rule_check
from synth_pipeline.naming import Stage
from synth_pipeline.verdicts import RuleOutcome

GUARDED = GuardedAssets(name="steps", label_column="y", real_holdout="sealed", training_mix="mix")
SEALED = dg.AssetKey("sealed")


@provenance_asset(pipeline="steps", role="real_holdout", label_column="y")
def sealed() -> pd.DataFrame:
    return pd.DataFrame({"x": [0.1, 0.5, 0.9, 1.3, 2.2, 3.1], "y": [0, 1, 0, 1, 0, 1]})


def _rows_at_least(limit: int):
    def evaluate(inputs: CheckInputs):
        rows = len(inputs.read(Stage.REAL_HOLDOUT))
        return [RuleOutcome("holdout rows", rows, limit, "min", sample_size=rows, fix="seal more rows")], {}
    return evaluate


def _explodes(inputs: CheckInputs):
    raise ValueError("the evaluation met a value it cannot read")


def _check(name: str, evaluate) -> object:
    return rule_check(GUARDED, Stage.REAL_HOLDOUT, name, evaluate, f"{name} on the holdout")


def _materialize(tmp_path, rules, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [sealed, *asset_checks(rules, label="test_checks")], instance=dg.DagsterInstance.ephemeral(),
        resources=guard_rail_resources(GUARDED, data_dir=str(tmp_path / "data")), raise_on_error=False, **kwargs,
    )


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {evaluation.check_name: evaluation.passed for evaluation in result.get_asset_check_evaluations()}


def _step_failures(result: dg.ExecuteInProcessResult) -> list:
    return [event.step_failure_data for event in result.all_events if event.is_step_failure]


def test_the_checks_of_an_asset_run_in_one_step_that_names_every_blocking_failure(tmp_path):
    rules = [_check("enough_rows", _rows_at_least(100)), _check("some_rows", _rows_at_least(2)),
             _check("many_rows", _rows_at_least(500))]
    [step] = asset_checks(rules, label="test_checks")
    assert step.node_def.name == "sealed_test_checks" and len(step.check_keys) == 3

    result = _materialize(tmp_path, rules)
    assert not result.success
    assert _evaluations(result) == {"enough_rows": False, "some_rows": True, "many_rows": False}
    [failure] = _step_failures(result)
    assert failure.error.cls_name == GenerationBlocked.__name__
    message = failure.error.message
    assert "blocked by 2 checks: sealed enough_rows (holdout rows: observed 6 < limit 100, n = 6)" in message, message
    assert "sealed many_rows (holdout rows: observed 6 < limit 500, n = 6)" in message, message
    listed = failure.user_failure_data.metadata["blocked_checks"].value
    assert [(item["check"], item["observed"], item["threshold"]) for item in listed] == [
        ("enough_rows", 6, 100), ("many_rows", 6, 500)]


def test_a_check_that_raises_stops_none_of_the_others_and_its_error_fails_the_step(tmp_path):
    rules = [_check("explodes", _explodes), _check("some_rows", _rows_at_least(2)),
             _check("enough_rows", _rows_at_least(100))]
    result = _materialize(tmp_path, rules)
    assert not result.success
    # the checks after the one that raised were evaluated and recorded
    assert _evaluations(result) == {"some_rows": True, "enough_rows": False}
    [failure] = _step_failures(result)
    assert "the evaluation met a value it cannot read" in failure.error.to_string()
    assert failure.error.cls_name != GenerationBlocked.__name__


def test_a_run_may_select_one_check_of_a_step(tmp_path):
    rules = [_check("some_rows", _rows_at_least(2)), _check("enough_rows", _rows_at_least(100))]
    assert _materialize(tmp_path, rules, selection=[SEALED]).success is False
    only = dg.AssetSelection.checks(dg.AssetCheckKey(SEALED, "some_rows"))
    defs = dg.Definitions(
        assets=[sealed], asset_checks=asset_checks(rules, label="test_checks"),
        jobs=[dg.define_asset_job("one_check", selection=only)],
        resources=guard_rail_resources(GUARDED, data_dir=str(tmp_path / "data")),
    )
    result = defs.resolve_job_def("one_check").execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert _evaluations(result) == {"some_rows": True}


def test_two_checks_of_one_name_on_one_asset_are_refused():
    with pytest.raises(SynthPipelineError, match="two checks named 'some_rows' on sealed: give one another name"):
        asset_checks([_check("some_rows", _rows_at_least(2)), _check("some_rows", _rows_at_least(3))])


def _spec(key: str, *deps: str) -> dg.AssetSpec:
    return dg.AssetSpec(key, deps=list(deps))


def test_only_generated_assets_independent_of_one_another_share_a_step():
    guarded = GuardedAssets(name="gen", label_column="y", real_holdout="sealed", training_mix="mix",
                            synthetic=["copula", "llm"], augmented="smote")
    siblings = [_spec("arrivals"), _spec("copula", "arrivals"), _spec("llm", "arrivals"), _spec("smote", "arrivals")]
    assert independent_generated_assets(guarded, siblings) == [dg.AssetKey(k) for k in ("copula", "llm", "smote")]
    # the LLM refines the copula's rows: neither may wait on the other's checks; the augmented one still may
    chain = [_spec("arrivals"), _spec("copula", "arrivals"), _spec("refined", "copula"), _spec("llm", "refined"),
             _spec("smote", "arrivals")]
    assert independent_generated_assets(guarded, chain) == []  # one left: nothing to share a step with
    both = [*chain[:-1], _spec("smote", "arrivals"), _spec("extra", "arrivals")]
    guarded_more = GuardedAssets(name="gen", label_column="y", real_holdout="sealed", training_mix="mix",
                                 synthetic=["copula", "llm", "extra"], augmented="smote")
    assert independent_generated_assets(guarded_more, both) == [dg.AssetKey("extra"), dg.AssetKey("smote")]
