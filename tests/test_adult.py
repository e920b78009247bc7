"""The full pipeline on a larger real dataset with categorical columns (UCI Adult, 32,561 rows).

Skipped where ../shared/data/adult.csv is absent; the file is never copied into the repo.
"""

from pathlib import Path

import pytest

from conftest import FAST_SYNTHESIZER
from synth_pipeline import SourceSpec, SynthPipelineSpec, build_synth_pipeline, summarize
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import KIND_COLUMN, ROW_HASH_COLUMN

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult.csv"


@pytest.mark.skipif(not ADULT.is_file(), reason=f"{ADULT} not present")
def test_adult_generation_with_categorical_columns(runner):
    pipeline = build_synth_pipeline(
        SynthPipelineSpec(
            name="adult", label_column="income", real_source=SourceSpec(path=str(ADULT)),
            synthesizer=FAST_SYNTHESIZER,
        )
    )
    [run] = runner.run(pipeline, [1])
    assert run.success, run.failures
    source = runner.read(pipeline, Stage.REAL_SOURCE)
    holdout = runner.read(pipeline, Stage.REAL_HOLDOUT)
    mix = runner.read(pipeline, Stage.TRAINING_MIX, 1)
    assert len(source) == 32561
    assert set(mix["income"]) == {"<=50K", ">50K"}  # leading blanks stripped on read
    assert not set(holdout[ROW_HASH_COLUMN]) & set(mix[ROW_HASH_COLUMN])
    composition = summarize(mix, "income")
    assert composition.rows_by_kind["augmented"] > 0  # >50K is the minority class
    assert set(mix[KIND_COLUMN]) == {"real", "synthetic", "augmented"}
    report = runner.read(pipeline, Stage.EVALUATION, 1).set_index("trained_on")
    assert report.loc["real_only", "roc_auc"] > 0.85
