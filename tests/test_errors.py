"""Bad input fails the run with a message that names the problem and the fix; nothing is half-written."""

import pandas as pd

from conftest import FAST_SYNTHESIZER
from synth_pipeline import SourceSpec, SynthPipelineSpec, build_synth_pipeline
from synth_pipeline.naming import Stage


def _pipeline(path, label="label"):
    return build_synth_pipeline(
        SynthPipelineSpec(name="bad", label_column=label, real_source=SourceSpec(path=str(path)),
                          synthesizer=FAST_SYNTHESIZER)
    )


def _failure(run) -> str:
    assert not run.success
    return " ".join(message for _, message in run.failures)


def test_missing_file(runner, tmp_path):
    [run] = runner.run(_pipeline(tmp_path / "nope.csv"), [1])
    assert "nope.csv not found" in _failure(run)


def test_missing_label_column(runner, tmp_path):
    path = tmp_path / "data.csv"
    pd.DataFrame({"a": [1, 2], "b": [3, 4]}).to_csv(path, index=False)
    [run] = runner.run(_pipeline(path), [1])
    assert "label column 'label' not in" in _failure(run) and "set label_column" in _failure(run)


def test_reserved_column_collision_fails_before_anything_is_stored(runner, tmp_path):
    path = tmp_path / "data.csv"
    pd.DataFrame({"a": range(20), "_sp_score": range(20), "label": [0, 1] * 10}).to_csv(path, index=False)
    pipeline = _pipeline(path)
    [run] = runner.run(pipeline, [1])
    assert "_sp_score" in _failure(run) and "Rename" in _failure(run)
    assert not runner.store.exists(pipeline.key(Stage.REAL_SOURCE))
    assert not runner.data_dir.exists() or not any(runner.data_dir.rglob("*.parquet"))


def test_unsupported_file_type(runner, tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("not a spreadsheet")
    [run] = runner.run(_pipeline(path), [1])
    assert "use .csv or .parquet" in _failure(run)


def test_missing_labels(runner, tmp_path):
    path = tmp_path / "data.csv"
    pd.DataFrame({"a": range(4), "label": [0, None, 1, 0]}).to_csv(path, index=False)
    [run] = runner.run(_pipeline(path), [1])
    assert "have no 'label' label" in _failure(run)
