"""The quality checks in real generation runs: figures in the metadata, trends stored, blocking."""

import pytest

from conftest import fast_spec, why
from synth_pipeline import MixSpec, Stage, SynthPolicy, build_synth_pipeline
from synth_pipeline.checks.quality_checks import DIVERSITY_MONITOR
from synth_pipeline.quality.utility import CONTROL_DRAWS


def _check(run, stage: str, name: str):
    return next(c for c in run.checks if c.name == name and c.asset_key.endswith(f"/{stage}"))


def test_every_generated_stage_is_measured_and_the_diversity_trend_is_kept(runner):
    pipeline = build_synth_pipeline(fast_spec("q", unknown_source=None, mix=MixSpec(real_arrival_batches=2)))
    runs = runner.run(pipeline, [1, 2], quality_checks=True)
    for run in runs:
        assert run.success, why(run)
        fidelity = _check(run, "synthetic", "fidelity").metadata
        assert 0.7 <= fidelity["quality_score"] <= 1 and 0 <= fidelity["adversarial_auc"] <= 1
        assert set(fidelity["column_shape_scores"]) >= {"mean_radius", "target"}
        assert fidelity["compared_with"] == f"q/real_arrivals[{run.generation}]"
        privacy = _check(run, "synthetic", "privacy")
        assert privacy.passed and privacy.metadata["exact_copies"] == 0
        assert privacy.metadata["training_rows"] > 0 and privacy.metadata["holdout_rows"] == len(
            runner.read(pipeline, Stage.REAL_HOLDOUT))
        for figure in ("dcr_share", "dcr_share_raw", "nndr_training", "membership_auc"):
            assert 0 <= privacy.metadata[figure] <= 1, figure
        utility = _check(run, "synthetic", "utility").metadata
        # each figure is shown to 4 significant digits (synth_pipeline.display): the ratio holds to about 1e-3
        assert utility["tstr_trtr_ratio"] == pytest.approx(utility["tstr_score"] / utility["trtr_score"], rel=2e-3)
        for stage in ("synthetic", "augmented", "training_mix"):
            assert "min_variance_ratio" in _check(run, stage, "diversity").metadata

        # SMOTE rows sit next to real rows: the privacy check sees it, and warns.
        augmented_privacy = _check(run, "augmented", "privacy")
        assert not augmented_privacy.passed and augmented_privacy.severity == "WARN"
        assert augmented_privacy.metadata["dcr_share_raw"] > augmented_privacy.metadata["dcr_share_by_chance"]

    history = runner.store.monitor_history(pipeline.key(Stage.TRAINING_MIX), DIVERSITY_MONITOR)
    assert history["generation"].tolist() == [1, 2]
    assert history["rows"].tolist() == [_check(r, "training_mix", "diversity").metadata["rows"] for r in runs]
    assert history["rows"].is_monotonic_increasing  # accumulate mode: the mix grows
    trend = _check(runs[1], "training_mix", "diversity").metadata["trend"]
    assert len(trend.strip().splitlines()) == 2 + 2  # header, rule, one line per generation


def test_a_failed_quality_check_blocks_and_quarantines(runner):
    pipeline = build_synth_pipeline(fast_spec("qb", unknown_source=None))
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(enforce_quality_on_augmented=True), quality_checks=True)
    failed = {(c.asset_key, c.name) for c in run.failed_checks}
    assert ("qb/augmented", "privacy") in failed, why(run)
    assert not run.success
    assert "privacy" in runner.store.quarantine_reasons(pipeline.key(Stage.AUGMENTED), "1")
    materialized = {s.asset_key for s in run.stages}
    assert "qb/augmented" in materialized and "qb/training_mix" not in materialized


def test_one_real_only_baseline_per_generation_serves_both_utility_checks_and_the_evaluation(runner):
    """Issue 16: the real-only model was fitted three times per generation on the same rows (utility of
    the synthetic rows, of the augmented rows, and the evaluation). Each distinct fit is now made once."""
    pipeline = build_synth_pipeline(fast_spec("once", unknown_source=None, mix=MixSpec(real_arrival_batches=2)))
    runs = runner.run(pipeline, [1, 2], quality_checks=True)
    assert all(run.success for run in runs), why(runs[-1])
    for run in runs:
        synthetic, augmented = (_check(run, stage, "utility").metadata for stage in ("synthetic", "augmented"))
        # the same baseline fits on every real row (the synthetic check compares with its size-matched control,
        # fewer synthetic than real rows; augmentation trains on real + augmented rows, never fewer)
        # as many real rows as generated ones, to within the class-stratified sample's rounding (one per class)
        assert abs(synthetic["trtr_control_rows"] - synthetic["train_rows"]["generated"]) <= 2
        assert augmented["trtr_control_rows"] == 0
        assert synthetic["trtr_score_all_real_rows"] == augmented["trtr_score"]
    first = {s.stage: s.metadata for s in runs[0].stages}
    # generation 1: the mix's real rows are the real fit input, so the evaluation's real-only model is fit 0
    assert first["evaluation"]["real_only_balanced_accuracy"] == _check(runs[0], "synthetic", "utility").metadata[
        "trtr_score_all_real_rows"]
    fits = _check(runs[0], "synthetic", "utility").metadata["utility_fits"]
    cached = list((runner.store.root / "_cache" / "models").glob("*.pkl"))
    # Per generation one set of real-side fits (the utility checks). Generation 1's evaluation_on_real refits
    # the same rows and finds all of them (it used to fit them again, uncached); generation 2's evaluation
    # trains on both batches (accumulate): its real-only model, and the check's two resample fits of them.
    # Size-matched controls (CONTROL_DRAWS fits each): the synthetic check of each generation, and generation
    # 2's evaluation_on_real (generation 1's draws the same samples of the same real rows: cached).
    assert len(cached) == 2 * fits + 1 + (fits - 1) + 3 * CONTROL_DRAWS


def test_a_failure_the_policy_does_not_enforce_says_so_and_which_setting(runner, tmp_path):
    """A trial's augmented privacy line read "warning" with no reason, while its evidence said "1 rule(s) failed":
    augmented privacy and diversity only warn unless `enforce_quality_on_augmented`, and the line now says so."""
    import numpy as np
    import pandas as pd

    from conftest import FAST_SYNTHESIZER
    from synth_pipeline import SourceSpec, SynthPipelineSpec
    from synth_pipeline.reporting import quality_summary

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1200, 3)), columns=["a", "b", "c"]).assign(
        label=(rng.random(1200) < 0.25).astype(int))  # SMOTE tops the minority up with rows near real ones
    frame.to_csv(tmp_path / "imbalanced.csv", index=False)
    pipeline = build_synth_pipeline(SynthPipelineSpec(
        name="adv", label_column="label", real_source=SourceSpec(path=str(tmp_path / "imbalanced.csv")),
        synthesizer=FAST_SYNTHESIZER, unknown_source=None))
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(max_dcr_share=0.5, max_membership_auc=0.5),
                       quality_checks=True, keep_going=True)
    [check] = [c for c in run.checks if c.asset_key == "adv/augmented" and c.name == "privacy"]
    failed = [rule["rule"] for rule in check.metadata["rules"] if rule["verdict"] == "fail"]
    assert failed and check.severity == "WARN" and not check.passed
    assert check.metadata["not_blocking"] == \
        "failed, not blocking: the policy's `enforce_quality_on_augmented` is false"
    [line] = [text for text in quality_summary(run).splitlines() if text.startswith("privacy   adv/augmented")]
    assert line.endswith(f"; {check.metadata['not_blocking']}: {', '.join(failed)}"), line
    # an enforced check that fails blocks and needs no such note
    assert all("not_blocking" not in c.metadata for c in run.checks if c.asset_key != "adv/augmented")
