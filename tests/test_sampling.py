"""Sampled quality measures (issue 16, point 2): the sample sizes come from the policy, the rows
used are reported, the bound counts them, and a sampled verdict agrees with the exact one."""

import numpy as np
import pandas as pd
import pytest

from conftest import fast_spec, why
from synth_pipeline import MixSpec, SynthPolicy, build_synth_pipeline
from synth_pipeline.config_validation import ConfigValueError
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.hashing import row_hashes
from synth_pipeline.lineage.store import LineageStore
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import ROW_HASH_COLUMN
from synth_pipeline.quality.privacy import evaluate_privacy
from synth_pipeline.quality.sampling import fit_sample_positions, sample_positions, stratified_sample
from synth_pipeline.quality.utility import utility_scores


def test_sample_positions_are_a_seeded_sorted_sample_or_none_when_every_row_fits():
    assert sample_positions(100, 100, 0) is None and sample_positions(100, None, 0) is None
    positions = sample_positions(1000, 50, 7)
    assert len(positions) == 50 == len(set(positions.tolist()))
    assert (np.diff(positions) > 0).all() and positions.max() < 1000
    assert (positions == sample_positions(1000, 50, 7)).all()
    assert not (positions == sample_positions(1000, 50, 8)).all()


def test_stratified_sample_keeps_each_class_share_and_never_drops_a_rare_class():
    labels = np.r_[np.zeros(9_000), np.ones(990), np.full(10, 2)]
    frame = pd.DataFrame({"x": np.arange(len(labels)), "y": labels})
    sample = stratified_sample(frame, 1_000, np.random.default_rng(0), "y")
    counts = sample["y"].value_counts()
    assert counts[0.0] == 900 and counts[1.0] == 99 and counts[2.0] == 1
    assert sample["x"].is_monotonic_increasing and sample["x"].is_unique
    assert stratified_sample(frame, len(frame), np.random.default_rng(0), "y") is frame
    unlabelled = frame.assign(y=frame["y"].where(frame["x"] % 2 == 0))  # half the labels missing
    assert stratified_sample(unlabelled, 100, np.random.default_rng(0), "y")["y"].isna().sum() == 50


def _hashed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{ROW_HASH_COLUMN: row_hashes(frame)})


def _privacy_case(leak: bool, rows: int = 3_000) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)
    training, holdout = (pd.DataFrame(rng.normal(size=(rows, 4)), columns=list("abcd")) for _ in range(2))
    if leak:  # the generator replays training rows with a little noise
        synthetic = training + rng.normal(scale=0.01, size=training.shape)
    else:
        synthetic = pd.DataFrame(rng.normal(size=(rows, 4)), columns=list("abcd"))
    return _hashed(synthetic), _hashed(training), _hashed(holdout)


@pytest.mark.parametrize("leak", [False, True])
def test_a_sampled_dcr_share_gives_the_exact_verdict_and_its_bound_counts_the_sampled_rows(leak):
    synthetic, training, holdout = _privacy_case(leak)
    exact = evaluate_privacy(synthetic, training, holdout, dcr_rows=None, max_candidates=500)
    sampled = evaluate_privacy(synthetic, training, holdout, dcr_rows=400, max_candidates=500)
    assert exact.dcr_rows_used == 3_000 and sampled.dcr_rows_used == 400
    assert sampled.synthetic_rows == 3_000 and sampled.copies.exact_copies == exact.copies.exact_copies
    limit = SynthPolicy().max_dcr_share
    assert (sampled.dcr.dcr_share_lower_bound > limit) == (exact.dcr.dcr_share_lower_bound > limit) == leak
    # fewer rows, a wider bound: the sampled lower bound sits further below its share
    widths = [r.dcr.dcr_share - r.dcr.dcr_share_lower_bound for r in (exact, sampled)]
    assert 0 < widths[0] < widths[1]


def test_utility_models_train_on_at_most_the_sample_and_the_real_side_is_the_same_sample_every_time():
    rng = np.random.default_rng(3)

    def rows(n: int) -> pd.DataFrame:
        x = rng.normal(size=(n, 3))
        return pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=(x[:, 0] + 0.3 * rng.normal(size=n) > 1.2))

    generated, real, holdout = rows(2_000), rows(1_500), rows(400)
    kwargs = {"label_column": "y", "factory": "synth_pipeline.modeling:default_classifier", "seed": 0, "fits": 2,
              "resamples": 50}
    capped = utility_scores(generated, real, holdout, max_rows=300, **kwargs)
    assert (capped.generated_rows, capped.real_rows) == (2_000, 1_500)
    assert capped.second_rows_used <= 302 and capped.real_rows_used <= 302
    assert capped.undefined is None and 0 < capped.ratio and np.isfinite(capped.ratio_upper_bound)
    again = utility_scores(rows(2_000), real, holdout, max_rows=300, **kwargs)  # other generated rows
    assert again.trained_on_real == capped.trained_on_real
    whole = utility_scores(generated, real, holdout, max_rows=None, **kwargs)
    assert (whole.second_rows_used, whole.real_rows_used) == (2_000, 1_500)


@pytest.mark.parametrize("field", ["dcr_sample_rows", "membership_sample_rows", "adversarial_sample_rows",
                                   "utility_sample_rows", "near_copy_control_rows"])
def test_a_sample_size_below_its_floor_is_refused_naming_the_field(field):
    with pytest.raises(ConfigValueError, match=field):
        SynthPolicy.from_mapping({field: 10})


def test_the_checks_use_the_policy_sample_sizes_and_report_the_rows_used(runner):
    pipeline = build_synth_pipeline(fast_spec("smp", unknown_source=None, mix=MixSpec(real_arrival_batches=1)))
    policy = SynthPolicy(dcr_sample_rows=100, membership_sample_rows=100, adversarial_sample_rows=100,
                         utility_sample_rows=100, fidelity_pair_row_budget=10_000, min_tstr_trtr_ratio=0.0)
    [run] = runner.run(pipeline, [1], policy=policy, quality_checks=True)
    assert run.success, why(run)
    checks = {(c.asset_key.split("/")[-1], c.name): c.metadata for c in run.checks}
    privacy = checks["synthetic", "privacy"]
    assert privacy["synthetic_rows"] > 100 and privacy["dcr_rows_used"] == 100
    assert privacy["membership_candidates"] == min(100, privacy["training_rows"]) + min(100, privacy["holdout_rows"])
    fidelity = checks["synthetic", "fidelity"]
    assert fidelity["adversarial_rows"]["real"] == fidelity["adversarial_rows"]["generated"] == 100
    utility = checks["synthetic", "utility"]["train_rows_used"]
    assert utility["cap"] == 100 and utility["generated"] <= 102 and utility["real"] <= 102


def test_a_synthesizer_fitted_on_a_sample_is_judged_against_the_rows_it_was_fitted_on(runner):
    spec = fast_spec("fitcap", unknown_source=None, mix=MixSpec(real_arrival_batches=1))
    spec = spec.model_copy(update={"synthesizer": spec.synthesizer.model_copy(update={"max_fit_rows": 150})})
    pipeline = build_synth_pipeline(spec)
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(min_tstr_trtr_ratio=0.0), quality_checks=True)
    assert run.success, why(run)
    synthetic = next(stage.metadata for stage in run.stages if stage.stage == "synthetic")
    arrivals = runner.store.read(pipeline.key(Stage.REAL_ARRIVALS), "1")
    assert synthetic["fit_rows"] == 150 and synthetic["fit_sampled_from_rows"] == len(arrivals) > 150
    checks = {(c.asset_key.split("/")[-1], c.name): c.metadata for c in run.checks}
    assert checks["synthetic", "privacy"]["training_rows"] == 150
    assert "a seeded sample" in checks["synthetic", "privacy"]["compared_with"]
    assert checks["augmented", "privacy"]["training_rows"] > 150  # SMOTE is fitted on every real row
    # The lineage records the whole stored fit input, so its holdout audit covers every row sampled from.
    [audit] = LineageStore(runner.data_dir).holdout_audit("fitcap").query("output == 'fitcap/synthetic'").itertuples()
    assert audit.fit_rows_hashed == arrivals[ROW_HASH_COLUMN].nunique() and audit.holdout_rows_in_fit == 0


def test_a_fit_sample_is_the_same_rows_each_time_and_none_below_the_cap():
    first, again = fit_sample_positions(1_000, 100, 7), fit_sample_positions(1_000, 100, 7)
    assert np.array_equal(first, again) and len(first) == 100 and np.all(np.diff(first) > 0)
    assert not np.array_equal(first, fit_sample_positions(1_000, 100, 8))
    assert fit_sample_positions(100, 100, 7) is None and fit_sample_positions(10, None, 7) is None


def test_a_fit_input_rewritten_after_the_fit_is_refused_naming_the_fix():
    from synth_pipeline.checks.quality_checks import _fitted_sample

    stored = pd.DataFrame({"x": range(500)})
    metadata = {"fit_rows": 100, "fit_sampled_from_rows": 500, "fit_sample_seed": 3}
    expected = stored["x"].iloc[fit_sample_positions(500, 100, 3)].tolist()
    assert _fitted_sample(stored, metadata)["x"].tolist() == expected
    assert _fitted_sample(stored, {"fit_rows": 500}) is stored  # not sampled
    with pytest.raises(SynthPipelineError, match="rematerialize the generated asset"):
        _fitted_sample(stored.iloc[:400], metadata)
