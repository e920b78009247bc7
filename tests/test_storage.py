"""Persistence: atomic writes, clear errors, results visible to later runs."""

import dagster as dg
import pandas as pd
import pytest

from conftest import fast_spec
from synth_pipeline import DatasetStore, MixSpec, StoredDataNotFoundError, build_synth_pipeline
from synth_pipeline.naming import Stage
from synth_pipeline.storage import DATA_DIR_ENV, resolve_data_dir


def test_frames_and_objects_round_trip_without_leftover_files(tmp_path):
    store = DatasetStore(base_dir=str(tmp_path))
    key = dg.AssetKey(["p", "stage"])
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    path = store.write(frame, key, "3")
    assert path == tmp_path / "p" / "stage" / "3.parquet"
    pd.testing.assert_frame_equal(store.read(key, "3"), frame)
    store.write({"model": [1, 2]}, key)
    assert store.read(key) == {"model": [1, 2]}
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["3.parquet", "p", "stage", "stage.pkl"]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_half_written(tmp_path):
    store = DatasetStore(base_dir=str(tmp_path))
    key = dg.AssetKey(["p", "stage"])
    store.write(pd.DataFrame({"a": [1]}), key)

    class Unwritable(pd.DataFrame):
        def to_parquet(self, handle, **kwargs):
            handle.write(b"PAR1 partial")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.write(Unwritable({"a": [2]}), key)
    assert store.read(key)["a"].tolist() == [1]
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["stage.parquet"]


def test_missing_data_names_the_asset_and_the_fix(tmp_path):
    store = DatasetStore(base_dir=str(tmp_path))
    expected = r"p/stage generation 2 has not been materialized.*materialize it first"
    with pytest.raises(StoredDataNotFoundError, match=expected):
        store.read(dg.AssetKey(["p", "stage"]), "2")


def test_unsafe_path_parts_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="may only contain"):
        DatasetStore(base_dir=str(tmp_path)).write(pd.DataFrame({"a": [1]}), dg.AssetKey(["..", "x"]))


def test_data_dir_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir() == tmp_path / ".synth_pipeline" / "data"
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "elsewhere"))
    assert resolve_data_dir() == tmp_path / "elsewhere"
    assert resolve_data_dir(str(tmp_path / "explicit")) == tmp_path / "explicit"


def test_a_later_run_reads_what_an_earlier_run_stored(runner):
    pipeline = build_synth_pipeline(fast_spec(name="persist", unknown_source=None, mix=MixSpec(real_arrival_batches=2)))
    [first] = runner.run(pipeline, [1])
    assert first.success
    # Generation 2 is a separate run with a fresh instance: it finds generation 1 only on disk.
    runner.instance = dg.DagsterInstance.ephemeral()
    [run] = runner.run(pipeline, [2])
    assert run.success
    assert {r.stage: r.metadata for r in run.stages}[Stage.TRAINING_MIX]["previous_generation_rows"] == len(
        runner.read(pipeline, Stage.TRAINING_MIX, 1)
    )
