"""Every policy check, passing and failing, on real pipeline runs."""

import pytest

from conftest import FAST_SYNTHESIZER, Runner, fast_spec, why
from synth_pipeline import FitOn, MixSpec, SourceSpec, SynthesizerSpec, SynthPolicy, build_synth_pipeline
from synth_pipeline.datasets import breast_cancer
from synth_pipeline.display import rounded
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import ROW_HASH_COLUMN
from synth_pipeline.runner import CheckRecord

POLICY_CHECKS = [
    "holdout_purity", "holdout_isolation", "synthetic_budget", "generation_budget",
    "recursion_depth", "unknown_budget", "evaluation_on_real", "privacy_budget",
]


@pytest.fixture(scope="module")
def passing_run(tmp_path_factory):
    runner = Runner(tmp_path_factory.mktemp("passing") / "data")
    pipeline = build_synth_pipeline(fast_spec(name="ok", mix=MixSpec(real_arrival_batches=2)))
    runs = runner.run(pipeline, [1, 2])
    for run in runs:
        assert run.success, why(run)
    return runs


def _failed(run, name: str) -> CheckRecord:
    check = run.check(name)
    assert not check.passed, f"{name} passed: {check.metadata}"
    assert check.severity == "ERROR"
    assert not run.success
    return check


@pytest.mark.parametrize("name", POLICY_CHECKS)
def test_check_passes_on_a_conforming_run_with_observed_and_threshold(passing_run, name):
    for generation, run in enumerate(passing_run, start=1):
        check = run.check(name)
        assert check.passed
        assert {"observed", "threshold", "rule", "generation", "rules"} <= set(check.metadata)
        if name != "holdout_purity":
            assert check.metadata["generation"] == generation


def test_holdout_purity_fails_when_the_holdout_is_too_small(runner):
    pipeline = build_synth_pipeline(fast_spec(name="small_holdout", unknown_source=None))
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(min_holdout_rows=200))
    check = _failed(run, "holdout_purity")
    assert (check.metadata["observed"], check.metadata["threshold"]) == (113, 200)
    assert check.asset_key == "small_holdout/real_holdout"
    # the holdout feeds only evaluation: that is what a bad holdout blocks
    materialized = {r.stage for r in run.stages}
    assert Stage.MODEL in materialized and Stage.EVALUATION not in materialized


def test_holdout_isolation_catches_holdout_rows_arriving_through_vendor_data(runner, tmp_path):
    # A vendor "drop" that is really 60 of our own records: some of them are holdout rows.
    vendor = breast_cancer().sample(60, random_state=1)
    vendor.to_csv(tmp_path / "vendor.csv", index=False)
    pipeline = build_synth_pipeline(
        fast_spec(name="leaky", unknown_source=SourceSpec(path=str(tmp_path / "vendor.csv")),
                  mix=MixSpec(include_unknown=True))
    )
    lenient_unknown = SynthPolicy(max_unknown_fraction=1.0, unknown_counts_as_synthetic=False)
    [run] = runner.run(pipeline, [1], policy=lenient_unknown)
    check = _failed(run, "holdout_isolation")
    holdout = set(runner.read(pipeline, Stage.REAL_HOLDOUT)[ROW_HASH_COLUMN])
    leaked = len(holdout & set(runner.read(pipeline, Stage.UNKNOWN)[ROW_HASH_COLUMN]))
    assert leaked > 0
    # Unknown rows equal to holdout rows are judged as near-copies against chance (train-split rows as the
    # control); here they are exact copies of distinct records, far beyond chance.
    assert check.metadata["rule"] == "near-copies of holdout rows beyond chance (unknown-provenance rows)"
    assert 0 < check.metadata["confidence_bound"] <= check.metadata["observed"] <= leaked
    assert check.metadata["threshold"] == 0
    assert check.metadata["near_copies"] == {"leaky/training_mix[1]": leaked}
    assert check.metadata["near_copy_figures"]["exact_copies"] == leaked
    assert check.metadata["leaks"] == {}  # no real row beyond the train split's copies
    assert run.check("unknown_budget").passed  # the lenient policy lets unknown rows in


def test_synthetic_budget_fails_when_synthetic_rows_outnumber_real_ones(runner):
    spec = fast_spec(name="flooded", unknown_source=None,
                     synthesizer=SynthesizerSpec(params=FAST_SYNTHESIZER.params, rows_per_real_row=2.0))
    [run] = runner.run(build_synth_pipeline(spec), [1])
    check = _failed(run, "synthetic_budget")
    assert check.metadata["rule"].startswith("non-real fraction")
    assert check.metadata["observed"] > 0.6 and check.metadata["threshold"] in (0.4, 0.5)


def test_generation_budget_fails_without_fresh_real_rows_and_on_growth(runner):
    # One arrival batch: generation 2 brings no real row that generation 1 did not have,
    # and accumulating more synthetic rows on the same real rows raises the fraction.
    pipeline = build_synth_pipeline(fast_spec(name="stale", unknown_source=None))
    first, second = runner.run(pipeline, [1, 2], keep_going=True)
    assert first.check("generation_budget").passed
    check = _failed(second, "generation_budget")
    rules = {r["rule"]: r for r in check.metadata["rules"]}
    assert rules["fresh real rows"]["observed"] == 0 and not rules["fresh real rows"]["passed"]
    growth = rules["non-real fraction (synthetic + augmented + unknown) growth since previous generation"]
    assert growth["observed"] > 0.1 and not growth["passed"]
    assert check.metadata["fresh_real_rows"] == 0 and check.metadata["generation"] == 2


def test_recursion_depth_fails_when_the_generator_feeds_on_its_own_output(runner):
    spec = fast_spec(name="recursive", unknown_source=None, mix=MixSpec(real_arrival_batches=2),
                     synthesizer=SynthesizerSpec(params=FAST_SYNTHESIZER.params, fit_on=FitOn.PREVIOUS_MIX))
    first, second = runner.run(build_synth_pipeline(spec), [1, 2], policy=SynthPolicy(max_depth=1),
                               keep_going=True)
    assert first.check("recursion_depth").passed
    check = _failed(second, "recursion_depth")
    assert (check.metadata["observed"], check.metadata["threshold"]) == (2, 1)


def test_unknown_budget_fails_when_unknown_rows_enter_the_mix(runner):
    pipeline = build_synth_pipeline(fast_spec(name="unknown_in", mix=MixSpec(include_unknown=True)))
    [run] = runner.run(pipeline, [1])
    check = _failed(run, "unknown_budget")
    mix = runner.read(pipeline, Stage.TRAINING_MIX, 1)
    assert check.metadata["observed"] == rounded(120 / len(mix)) and check.metadata["threshold"] == 0


def test_evaluation_on_real_fails_below_the_utility_floor(runner):
    pipeline = build_synth_pipeline(fast_spec(name="utility", unknown_source=None))
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(min_tstr_trtr_ratio=1.5))
    check = _failed(run, "evaluation_on_real")
    report = runner.read(pipeline, Stage.EVALUATION, 1).set_index("trained_on")["balanced_accuracy"]
    metadata = check.metadata
    # the figure judged is the refitted models' ratio (TRTR size-matched to the mix's synthetic rows, fewer than
    # its real ones), with its own scores; the evaluation's own models are kept beside it, and the evidence
    # names their ratio where it differs
    assert metadata["observed"] == pytest.approx(rounded(metadata["tstr_score"] / metadata["trtr_score"]), rel=1e-3)
    assert metadata["trtr_control_rows"] > 0
    assert metadata["evaluation_synthetic_only_score"] == pytest.approx(rounded(report["synthetic_only"]))
    assert metadata["evaluation_real_only_score"] == pytest.approx(rounded(report["real_only"]))
    own = report["synthetic_only"] / report["real_only"]
    assert f"the evaluation's own models give the ratio {own:.3g}" in metadata["evidence"], metadata["evidence"]
    rules = {r["public_rule"] or r["rule"]: r["passed"] for r in check.metadata["rules"]}
    assert rules["scored on the sealed holdout (digest match)"] and rules["real fraction of the evaluation set"]
    assert check.metadata["evaluation_set_digest"] == check.metadata["holdout_digest"]


def test_a_failed_blocking_check_stops_training_but_keeps_its_record(runner):
    spec = fast_spec(name="blocked", unknown_source=None,
                     synthesizer=SynthesizerSpec(params=FAST_SYNTHESIZER.params, rows_per_real_row=2.0))
    pipeline = build_synth_pipeline(spec)
    [run] = runner.run(pipeline, [1])
    assert not run.success
    materialized = {r.stage for r in run.stages}
    assert Stage.TRAINING_MIX in materialized
    assert Stage.MODEL not in materialized and Stage.EVALUATION not in materialized
    assert not runner.store.exists(pipeline.key(Stage.MODEL), "1")
    # the failed result and its metadata are in the instance's event log
    check_key = next(iter(k for k in pipeline.to_definitions().resolve_asset_graph().asset_check_keys
                          if k.name == "synthetic_budget"))
    record = runner.instance.event_log_storage.get_asset_check_execution_history(check_key, limit=1)[0]
    evaluation = record.event.dagster_event.event_specific_data
    assert evaluation.passed is False
    assert evaluation.metadata["observed"].value > evaluation.metadata["threshold"].value
    assert record.run_id == run.run_id


def test_stored_data_agrees_with_the_check(runner):
    pipeline = build_synth_pipeline(fast_spec(name="agree", unknown_source=None))
    [run] = runner.run(pipeline, [1])
    mix = runner.read(pipeline, Stage.TRAINING_MIX, 1)
    budgeted = mix["_sp_kind"].isin(["synthetic", "augmented", "unknown"]).mean()
    overall = next(r for r in run.check("synthetic_budget").metadata["rules"] if r["rule"].endswith("overall"))
    assert overall["observed"] == pytest.approx(budgeted)


def test_a_generation_that_failed_its_checks_does_not_seed_the_next(runner):
    pipeline = build_synth_pipeline(fast_spec(name="seed_guard", unknown_source=None))
    first, second = runner.run(pipeline, [1, 2])  # the second fails generation_budget
    assert first.success and not second.success
    failed = {check.name for check in second.failed_checks}
    assert "generation_budget" in failed
    assert set(runner.store.quarantine_reasons(pipeline.key(Stage.TRAINING_MIX), "2")) == failed
    [third] = runner.run(pipeline, [3])
    [(step, message)] = third.failures
    assert step.endswith("training_mix")
    assert "generation 2 of seed_guard/training_mix failed blocking checks" in message
    assert "generation_budget" in message and "allow_failed_previous" in message
    # an explicit opt-in (what --keep-going does) lets a simulation go on
    [third] = runner.run(pipeline, [3], keep_going=True)
    assert not third.failures
    # re-materializing generation 2 lifts its quarantine
    runner.run(pipeline, [2], policy=SynthPolicy(min_fresh_real_rows=0, max_synthetic_fraction_growth=1,
                                                  max_minority_class_synthetic_fraction=1))
    assert runner.store.quarantine_reasons(pipeline.key(Stage.TRAINING_MIX), "2") == {}
