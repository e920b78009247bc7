"""One real generation of a full pipeline: every stage's data and metadata."""

import math

import pandas as pd
import pytest

from conftest import Runner, fast_spec, why
from synth_pipeline import AugmentationSpec, build_provenance_checks, build_synth_pipeline, summarize
from synth_pipeline.display import rounded, shown_json
from synth_pipeline.naming import PARTITIONED_STAGES, STAGE_PROVENANCE, Stage
from synth_pipeline.provenance import (
    DATASET_COLUMN,
    DEPTH_COLUMN,
    GENERATION_COLUMN,
    KIND_COLUMN,
    ROW_HASH_COLUMN,
    provenance_problems,
)

DATA_STAGES = [
    Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, Stage.REAL_ARRIVALS,
    Stage.SYNTHETIC, Stage.AUGMENTED, Stage.UNKNOWN, Stage.TRAINING_MIX,
]


@pytest.fixture(scope="module")
def generation_one(tmp_path_factory):
    runner = Runner(tmp_path_factory.mktemp("stages") / "data")
    pipeline = build_synth_pipeline(fast_spec())
    [run] = runner.run(pipeline, [1])
    assert run.success, why(run)
    return runner, pipeline, run


def _frame(generation_one, stage: Stage) -> pd.DataFrame:
    runner, pipeline, _ = generation_one
    return runner.read(pipeline, stage, 1 if stage in PARTITIONED_STAGES else None)


def _metadata(generation_one, stage: Stage) -> dict:
    _, pipeline, run = generation_one
    [record] = [r for r in run.stages if r.asset_key == pipeline.key(stage).to_user_string()]
    return record.metadata


@pytest.mark.parametrize("stage", DATA_STAGES)
def test_every_row_carries_valid_provenance_of_its_stage(generation_one, stage):
    frame = _frame(generation_one, stage)
    assert len(frame) > 0
    assert provenance_problems(frame) == []
    expected = STAGE_PROVENANCE[stage]
    if expected != "mixed":
        assert set(frame[KIND_COLUMN]) == {expected}


@pytest.mark.parametrize("stage", DATA_STAGES)
def test_metadata_matches_the_stored_data(generation_one, stage):
    frame, metadata = _frame(generation_one, stage), _metadata(generation_one, stage)
    composition = summarize(frame, "target")
    assert metadata["dagster/row_count"] == len(frame)
    assert metadata["rows_by_kind"] == composition.rows_by_kind
    # shown rounded in the UI (synth_pipeline.display); the lineage store keeps the exact figures
    assert metadata["synthetic_fraction"] == rounded(composition.synthetic_fraction)
    assert metadata["synthetic_fraction_by_class"] == shown_json(composition.synthetic_fraction_by_class)
    assert metadata["max_depth"] == composition.max_depth
    assert metadata["provenance"] == composition.provenance
    assert isinstance(metadata["parents"], list)


def test_holdout_rows_are_absent_from_every_other_stage(generation_one):
    holdout = set(_frame(generation_one, Stage.REAL_HOLDOUT)[ROW_HASH_COLUMN])
    assert len(holdout) == 113
    for stage in DATA_STAGES:
        if stage not in (Stage.REAL_HOLDOUT, Stage.REAL_SOURCE):
            assert not holdout & set(_frame(generation_one, stage)[ROW_HASH_COLUMN]), stage


def test_holdout_and_train_partition_the_source(generation_one):
    source = _frame(generation_one, Stage.REAL_SOURCE)
    holdout, train = _frame(generation_one, Stage.REAL_HOLDOUT), _frame(generation_one, Stage.REAL_TRAIN)
    assert len(holdout) + len(train) == len(source) == 569
    assert sorted(pd.concat([holdout, train])[ROW_HASH_COLUMN]) == sorted(source[ROW_HASH_COLUMN])
    share = holdout["target"].value_counts() / source["target"].value_counts()
    assert share.between(0.19, 0.21).all()


def test_synthetic_rows_are_depth_one_and_sized_by_the_spec(generation_one):
    synthetic, arrivals = _frame(generation_one, Stage.SYNTHETIC), _frame(generation_one, Stage.REAL_ARRIVALS)
    assert len(synthetic) == round(0.25 * len(arrivals))
    assert set(synthetic[DEPTH_COLUMN]) == {1} and set(synthetic[GENERATION_COLUMN]) == {1}
    assert set(synthetic[DATASET_COLUMN]) == {"bc/synthetic"}
    assert set(synthetic["target"]) == {0, 1}
    metadata = _metadata(generation_one, Stage.SYNTHETIC)
    assert metadata["generator"] == "sdv.gaussian_copula"
    assert metadata["fitted_on"] == "bc/real_arrivals[1]"


def test_augmentation_tops_up_the_minority_class_with_depth_zero_rows(generation_one):
    augmented, arrivals = _frame(generation_one, Stage.AUGMENTED), _frame(generation_one, Stage.REAL_ARRIVALS)
    counts = arrivals["target"].value_counts()
    assert set(augmented["target"]) == {counts.idxmin()}
    assert len(augmented) == math.ceil(AugmentationSpec().target_ratio * counts.max()) - counts.min()
    assert set(augmented[DEPTH_COLUMN]) == {0}


def test_unknown_rows_are_quarantined_by_default(generation_one):
    mix = _frame(generation_one, Stage.TRAINING_MIX)
    assert "unknown" not in set(mix[KIND_COLUMN])
    assert _metadata(generation_one, Stage.UNKNOWN)["quarantined"] is True
    assert _metadata(generation_one, Stage.UNKNOWN)["rows_by_kind"]["unknown"] == 120


def test_training_mix_is_the_union_of_its_stages(generation_one):
    mix = _frame(generation_one, Stage.TRAINING_MIX)
    parts = [_frame(generation_one, s) for s in (Stage.REAL_ARRIVALS, Stage.SYNTHETIC, Stage.AUGMENTED)]
    assert sorted(mix[ROW_HASH_COLUMN]) == sorted(pd.concat(parts)[ROW_HASH_COLUMN])
    counts = mix[KIND_COLUMN].value_counts().to_dict()
    assert counts == {k: len(p) for k, p in zip(["real", "synthetic", "augmented"], parts, strict=True)}
    assert _metadata(generation_one, Stage.TRAINING_MIX)["fresh_real_rows"] == len(parts[0])


def test_evaluation_is_on_the_real_holdout_next_to_baselines(generation_one):
    runner, pipeline, _ = generation_one
    report = runner.read(pipeline, Stage.EVALUATION, 1).set_index("trained_on")
    assert list(report.index) == ["training_mix", "real_only", "synthetic_only"]
    assert set(report["evaluated_on"]) == {"bc/real_holdout"} and set(report["holdout_rows"]) == {113}
    assert report["train_rows"].to_dict() == {
        "training_mix": len(_frame(generation_one, Stage.TRAINING_MIX)),
        "real_only": len(_frame(generation_one, Stage.REAL_ARRIVALS)),
        "synthetic_only": len(_frame(generation_one, Stage.SYNTHETIC)),  # generation 1: the mix's only ones
    }
    assert (report["balanced_accuracy"] > 0.7).all()  # breast cancer is easy; a broken model is not
    metadata = _metadata(generation_one, Stage.EVALUATION)
    assert metadata["holdout_provenance"] == "real"
    assert metadata["tstr_trtr_ratio"] == pytest.approx(rounded(
        report.loc["synthetic_only", "balanced_accuracy"] / report.loc["real_only", "balanced_accuracy"]
    ))


def test_model_is_stored_and_scores_the_holdout(generation_one):
    from synth_pipeline.modeling import score_classifier

    runner, pipeline, _ = generation_one
    model = runner.read(pipeline, Stage.MODEL, 1)
    scores = score_classifier(model, _frame(generation_one, Stage.REAL_HOLDOUT), label_column="target")
    report = runner.read(pipeline, Stage.EVALUATION, 1).set_index("trained_on")
    assert scores["accuracy"] == pytest.approx(report.loc["training_mix", "accuracy"])


def test_every_check_ran_and_passed(generation_one):
    _, pipeline, run = generation_one
    checked = {(c.asset_key, c.name): c.passed for c in run.checks}
    assert len(checked) == len(build_provenance_checks(pipeline)) + 9 == 17
    assert all(checked.values())
    assert (pipeline.key(Stage.REAL_HOLDOUT).to_user_string(), "provenance_valid") in checked
    assert (pipeline.key(Stage.TRAINING_MIX).to_user_string(), "synthetic_budget") in checked


def test_assets_carry_provenance_tags_and_kinds(generation_one):
    _, pipeline, _ = generation_one
    specs = {spec.key: spec for a in pipeline.assets for spec in a.specs}
    synthetic = specs[pipeline.key(Stage.SYNTHETIC)]
    assert synthetic.tags["synth_pipeline/provenance"] == "synthetic"
    assert "sdv" in synthetic.kinds
    assert specs[pipeline.key(Stage.REAL_HOLDOUT)].tags["synth_pipeline/provenance"] == "real"
    assert specs[pipeline.key(Stage.TRAINING_MIX)].partitions_def.name == "bc_generations"
    assert specs[pipeline.key(Stage.REAL_SOURCE)].partitions_def is None
