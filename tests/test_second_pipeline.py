"""The plugin is reusable: a second pipeline with its own names and data, from the public API."""

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from assets.pipeline import reference_pipeline
from conftest import FAST_SYNTHESIZER, why
from synth_pipeline import (
    AugmentationSpec,
    SourceSpec,
    SynthesizerSpec,
    SynthPipelineSpec,
    SynthPipelineTranslator,
    SynthPolicy,
    build_provenance_checks,
    build_synth_pipeline,
)
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import KIND_COLUMN, ROW_HASH_COLUMN


class WineTranslator(SynthPipelineTranslator):
    def get_asset_key(self, spec, stage):
        return dg.AssetKey(["cellar", spec.name, f"{stage.value}_v2"])

    def get_group_name(self, spec):
        return "cellar"


@pytest.fixture
def wine_csv(tmp_path):
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    frame["cultivar"] = frame["cultivar"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    rng = np.random.default_rng(0)
    frame["region"] = rng.choice(["north", "south"], size=len(frame))  # a categorical feature
    path = tmp_path / "wine.csv"
    frame.to_csv(path, index=False)
    return path


def test_second_pipeline_with_other_names_and_data(runner, wine_csv):
    spec = SynthPipelineSpec(
        name="wine",
        label_column="cultivar",
        real_source=SourceSpec(path=str(wine_csv)),
        holdout_fraction=0.25,
        synthesizer=SynthesizerSpec(params=FAST_SYNTHESIZER.params, rows_per_real_row=0.4),
        augmentation=AugmentationSpec(target_ratio=0.9),
    )
    pipeline = build_synth_pipeline(spec, translator=WineTranslator())
    assert pipeline.key(Stage.SYNTHETIC) == dg.AssetKey(["cellar", "wine", "synthetic_v2"])
    assert Stage.UNKNOWN not in pipeline.stages
    # 178 rows: a 25 % holdout has 45 rows, fewer than the default policy's 100
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(min_holdout_rows=40))
    assert run.success, why(run)
    assert all(c.passed for c in run.checks) and len(run.checks) == len(build_provenance_checks(pipeline)) + 9

    mix = runner.read(pipeline, Stage.TRAINING_MIX, 1)
    assert set(mix["cultivar"]) == {"barolo", "grignolino", "barbera"}
    assert set(mix["region"]) <= {"north", "south"}
    assert set(mix[KIND_COLUMN]) == {"real", "synthetic", "augmented"}
    holdout = runner.read(pipeline, Stage.REAL_HOLDOUT)
    assert not set(holdout[ROW_HASH_COLUMN]) & set(mix[ROW_HASH_COLUMN])
    report = runner.read(pipeline, Stage.EVALUATION, 1)
    assert set(report["evaluated_on"]) == {"cellar/wine/real_holdout_v2"}
    assert (report["roc_auc"] > 0.8).all()
    assert (runner.data_dir / "cellar" / "wine" / "training_mix_v2" / "1.parquet").is_file()


def test_two_pipelines_live_in_one_code_location(wine_csv):
    wine = build_synth_pipeline(
        SynthPipelineSpec(name="wine", label_column="cultivar", real_source=SourceSpec(path=str(wine_csv)))
    )
    defs = dg.Definitions.merge(reference_pipeline.to_definitions(), wine.to_definitions())
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    assert wine.key(Stage.MODEL) in keys and reference_pipeline.key(Stage.MODEL) in keys
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"wine_generation", "breast_cancer_generation"}


def test_spec_rejects_bad_values_naming_the_field():
    with pytest.raises(ValueError, match="holdout_fraction"):
        SynthPipelineSpec(name="x", label_column="y", real_source=SourceSpec(path="a.csv"), holdout_fraction=1.5)
    with pytest.raises(ValueError, match="exactly one of 'path'"):
        SourceSpec()
    with pytest.raises(ValueError, match="unknown_field|extra"):
        SynthPipelineSpec(name="x", label_column="y", real_source=SourceSpec(path="a.csv"), unknown_field=1)


def test_spec_loads_from_yaml(tmp_path):
    from synth_pipeline import load_spec

    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "name: churn\nlabel_column: churned\nreal_source: {path: customers.parquet}\n"
        "mix: {mode: replace, real_arrival_batches: 3}\nsynthesizer: {method: ctgan, params: {epochs: 5}}\n"
    )
    spec = load_spec(path)
    assert spec.mix.mode == "replace" and spec.synthesizer.method == "ctgan"
    path.write_text("name: churn\nlabel_column: churned\nreal_source: {path: c.csv}\nholdout_fraction: -1\n")
    with pytest.raises(ValueError, match="holdout_fraction"):
        load_spec(path)


def test_frames_from_a_user_loader_work(runner, tmp_path):
    frame = pd.DataFrame({"a": np.arange(200) % 7, "b": np.linspace(0, 1, 200), "label": np.arange(200) % 2})
    path = tmp_path / "small.parquet"
    frame.to_parquet(path)
    pipeline = build_synth_pipeline(
        SynthPipelineSpec(name="tiny", label_column="label", real_source=SourceSpec(path=str(path)),
                          synthesizer=FAST_SYNTHESIZER, augmentation=None)
    )
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(min_holdout_rows=40))
    assert run.success, why(run)
    assert len(runner.read(pipeline, Stage.REAL_SOURCE)) == 200
