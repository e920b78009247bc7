"""Stage data on object storage: a local S3 server (moto's server mode on 127.0.0.1), no internet.

The store writes the stage data (datasets, monitors, check results, quarantine markers) under
an ``s3://`` URL through s3fs, pandas, pyarrow and DuckDB read the same objects through the
same file system, and the data directory keeps only what needs a POSIX file system (run
lock, lineage). The last test runs one generation with every heavy check through the
multiprocess executor, each check a step in a process of its own, all reading from S3.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from conftest import free_port
from synth_pipeline import DatasetStore, StoredDataNotFoundError
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.naming import Stage
from synth_pipeline.object_storage import ObjectStorageError, clear_cache
from synth_pipeline.stage_files import duckdb_connection, is_remote, read_table

BUCKET = "synth-stage"
KEY, SECRET = "test-key", "test-secret"  # moto accepts any credentials; these are checked to be passed
AWS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free port of 127.0.0.1, with one bucket; its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        pytest.skip(f"moto's server mode is not installed ({error}): pip install 'moto[server]'")
    import s3fs

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        s3fs.S3FileSystem(endpoint_url=endpoint, key=KEY, secret=SECRET, skip_instance_cache=True).mkdir(BUCKET)
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def no_aws_environment(monkeypatch, tmp_path):
    """No AWS settings from the developer's environment, files or an instance role."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no_aws_config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no_aws_credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("SYNTH_PIPELINE_STAGE_URL", raising=False)
    clear_cache()
    yield
    clear_cache()


def _store(tmp_path: Path, endpoint: str, **options: str) -> DatasetStore:
    return DatasetStore(base_dir=str(tmp_path / "data"), stage_url=f"s3://{BUCKET}/{uuid.uuid4().hex}/stages",
                        storage_options={"endpoint_url": endpoint, "key": KEY, "secret": SECRET, **options})


def _local_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def test_stage_data_round_trips_on_s3_and_duckdb_and_pyarrow_read_the_same_objects(
    s3_endpoint, tmp_path, no_aws_environment
):
    store = _store(tmp_path, s3_endpoint)
    key = dg.AssetKey(["bc", "synthetic"])
    frames = {str(g): pd.DataFrame({"x": [g, g + 1, g + 2], "label": ["a", "b", "a"]}) for g in (1, 2)}
    for generation, frame in frames.items():
        path = store.write(frame, key, generation)
        assert is_remote(path) and str(path).startswith(f"s3://{BUCKET}/") and path.name == f"{generation}.parquet"
    model = {"weights": [1.0, 2.0]}
    store.write(model, dg.AssetKey(["bc", "model"]), "1")

    assert store.exists(key, "1") and not store.exists(key, "3")
    assert store.stored_generations(key) == [1, 2]
    pd.testing.assert_frame_equal(store.read(key, "2"), frames["2"])
    assert store.read(dg.AssetKey(["bc", "model"]), "1") == model
    assert str(store.path_of(dg.AssetKey(["bc", "model"]), "1")).endswith("/bc/model/1.pkl")
    with pytest.raises(StoredDataNotFoundError, match=f"s3://{BUCKET}/"):
        store.read(key, "3")

    # pyarrow and DuckDB read the very objects, through the store's file system.
    paths = [store.parquet_path(key, g) for g in frames]
    assert read_table(paths[0]).num_rows == 3
    with duckdb_connection(paths) as connection:
        rows = connection.execute("SELECT sum(x), count(*) FROM read_parquet($files)",
                                  {"files": [str(p) for p in paths]}).fetchone()
    assert rows == (sum(sum(f["x"]) for f in frames.values()), 6)

    # Monitors, check results and quarantine markers: on S3 too, for steps on other workers.
    store.write_monitor(key, "diversity", "1", pd.DataFrame({"generation": [1], "distinct": [0.9]}))
    store.write_check_result(key, "privacy", 1, {"passed": True, "description": "ok"})
    store.quarantine(key, "2", "privacy", "copies of training rows")
    assert store.monitor_history(key, "diversity")["distinct"].tolist() == [0.9]
    assert store.check_results(key)[["generation", "check", "passed"]].to_dict("records") == [
        {"generation": 1, "check": "privacy", "passed": True}]
    assert store.quarantine_reasons(key, "2") == {"privacy": "copies of training rows"}
    store.write(frames["2"], key, "2")  # a new value lifts the quarantine
    assert store.quarantine_reasons(key, "2") == {}

    # Nothing of the stage data went to the local data directory.
    assert _local_files(tmp_path / "data") == []


def test_a_failed_write_to_s3_keeps_the_old_object(s3_endpoint, tmp_path, no_aws_environment):
    store = _store(tmp_path, s3_endpoint)
    key = dg.AssetKey(["bc", "training_mix"])
    old = pd.DataFrame({"x": range(5)})
    store.write(old, key, "1")

    class Failing(pd.DataFrame):
        def to_parquet(self, handle, **kwargs):
            handle.write(b"PAR1 half a file")
            raise OSError("disk full halfway")

    with pytest.raises(OSError, match="halfway"):
        store.write(Failing({"x": range(100)}), key, "1")
    pd.testing.assert_frame_equal(store.read(key, "1"), old)
    root = store.stage_root
    objects = root.fs.find(root.path)
    assert [name.rsplit("/", 1)[-1] for name in objects] == ["1.parquet"]  # and no temporary object


def test_unusable_stage_urls_name_the_problem_and_the_fix(s3_endpoint, tmp_path, no_aws_environment):
    base = str(tmp_path / "data")
    unreachable = f"http://127.0.0.1:{free_port()}"
    cases = [
        (DatasetStore(base_dir=base, stage_url=f"s3://{BUCKET}/p", storage_options={
            "endpoint_url": unreachable, "key": KEY, "secret": SECRET}),
         [unreachable, "cannot be reached", "endpoint_url"]),
        (DatasetStore(base_dir=base, stage_url="s3://no-such-bucket/p", storage_options={
            "endpoint_url": s3_endpoint, "key": KEY, "secret": SECRET}),
         ["'no-such-bucket' does not exist", "create it"]),
        (DatasetStore(base_dir=base, stage_url=f"s3://{BUCKET}/p", storage_options={"endpoint_url": s3_endpoint}),
         ["no credentials", "AWS_ACCESS_KEY_ID"]),
        (DatasetStore(base_dir=base, stage_url="s3:///p"), ["not an object storage URL with a bucket"]),
        (DatasetStore(base_dir=base, stage_url="nosuchfs://bucket/p"), ["cannot be opened", "nosuchfs"]),
    ]
    for store, phrases in cases:
        with pytest.raises(ObjectStorageError) as raised:
            store.check_stage_location()
        for phrase in phrases:
            assert phrase in str(raised.value), (phrase, str(raised.value))
        with pytest.raises(ObjectStorageError):  # every use fails the same way, not only the check
            store.exists(dg.AssetKey("x"))
    with pytest.raises(SynthPipelineError, match="stage_url"):
        _ = DatasetStore(base_dir=f"s3://{BUCKET}/data").root  # the data directory is never a URL


def test_a_missing_file_system_package_names_the_extra(tmp_path, no_aws_environment):
    pytest.importorskip("upath")
    store = DatasetStore(base_dir=str(tmp_path / "data"), stage_url="gs://bucket/prefix")
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        with pytest.raises(ObjectStorageError, match=r"not installed.*synth-pipeline\[s3\]"):
            store.check_stage_location()
    else:
        pytest.skip("gcsfs is installed here: no missing package to report")


HEAVY_CHECKS = ("fidelity", "privacy", "utility", "diversity", "expectations")


@pytest.mark.slow
def test_a_generation_on_s3_runs_the_heavy_checks_in_steps_of_their_own_processes(
    s3_endpoint, tmp_path, monkeypatch, no_aws_environment
):
    """The multiprocess executor, as on a cluster: each step a process that reads its inputs from S3."""
    from dagster._core.execution.api import create_execution_plan

    data_dir, prefix = tmp_path / "data", f"s3://{BUCKET}/{uuid.uuid4().hex}"
    for name, value in {"SYNTH_PIPELINE_DATA_DIR": str(data_dir), "SYNTH_PIPELINE_STAGE_URL": prefix,
                        "AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": KEY,
                        "AWS_SECRET_ACCESS_KEY": SECRET}.items():
        monkeypatch.setenv(name, value)  # inherited by the step processes
    monkeypatch.chdir(Path(__file__).parent)  # where the step processes import the job module from
    (tmp_path / "home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "home"))
    from object_storage_job import generation_job, pipeline

    job = generation_job()
    instance.add_dynamic_partitions(f"{pipeline.name}_generations", ["1"])
    checks = set(job.asset_layer.asset_graph.asset_check_keys)
    heavy = {key for key in checks if key.name in HEAVY_CHECKS}
    assert {key.name for key in heavy} == set(HEAVY_CHECKS)

    result = dg.execute_job(
        dg.reconstructable(generation_job), instance=instance, tags={"dagster/partition": "1"},
        # spawn, not forkserver: a fork server started earlier in this process would not have this environment
        run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2, "start_method": {"spawn": {}}}}}},
    )
    failures = [event.message for event in result.all_events if event.is_step_failure]
    assert result.success and failures == [], failures

    # Each heavy check was evaluated once, in a check step (its asset's checks), planned as such.
    events = result.all_events
    evaluated = {event.event_specific_data.asset_check_key: event.step_key for event in events
                 if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION}
    assert set(evaluated) == checks
    assert all(event.event_specific_data.passed for event in events
               if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    heavy_steps = {evaluated[key] for key in heavy}
    assert len(heavy_steps) == len({key.asset_key for key in heavy})  # one step per checked asset
    materializing = {event.step_key for event in events
                     if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION}
    assert heavy_steps.isdisjoint(materializing)
    planned = set(create_execution_plan(job, tags={"dagster/partition": "1"}).step_keys_to_execute)
    assert heavy_steps <= planned
    # ... each in a process of its own: the process that started the step, not this one.
    started = {event.step_key: event.pid for event in events if event.event_type == dg.DagsterEventType.STEP_START}
    pids = [started[step] for step in heavy_steps]
    assert len(set(pids)) == len(pids) and os.getpid() not in pids

    # The stage data is on S3, and only there; the data directory holds the run lock, the lineage,
    # the model cache and the reports.
    store = DatasetStore(base_dir=str(data_dir), stage_url=prefix)
    mix_key = pipeline.key(Stage.TRAINING_MIX)
    materialized = [event.event_specific_data.materialization for event in events
                    if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]
    for materialization in materialized:
        path = store.path_of(materialization.asset_key, materialization.partition)
        assert is_remote(path) and str(path).startswith(prefix + "/"), path
    local = [p.relative_to(data_dir) for p in _local_files(data_dir)]
    assert {p.parts[0] for p in local} <= {".run.lock", "lineage", "_cache", "_reports"}, local
    assert [p for p in local if p.suffix in (".parquet", ".pkl") and p.parts[0] != "_cache"
            and p.parts[:2] != ("lineage", "row_hashes")] == [], local
    # Check evaluations were kept next to the data, for the report.
    kept = store.check_results(mix_key)
    assert "diversity" in set(kept["check"])

    # pandas, pyarrow and DuckDB read the same mix object, with the same rows.
    mix_path = store.parquet_path(mix_key, "1")
    mix = store.read(mix_key, "1")
    with duckdb_connection([mix_path]) as connection:
        [(rows, kinds)] = connection.execute(
            "SELECT count(*), count(DISTINCT _sp_kind) FROM read_parquet($mix)", {"mix": str(mix_path)}).fetchall()
    assert rows == len(mix) == read_table(mix_path).num_rows > 0
    assert kinds == mix["_sp_kind"].nunique()
    assert Counter(m.asset_key for m in materialized) == Counter(job.asset_layer.selected_asset_keys)
