"""The schedule and the new-data sensor: evaluated as Dagster evaluates them, their runs executed."""

import os
import time

import dagster as dg
import pytest

from conftest import fast_spec, why
from synth_pipeline import DatasetStore, MixSpec, Stage, SynthPolicy, build_synth_pipeline
from synth_pipeline.automation import build_arrival_sensor, build_generation_schedule, next_generation
from synth_pipeline.datasets import breast_cancer
from synth_pipeline.runner import dataset_store, run_generations


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:  # schedules and sensors need a persistent instance
        yield instance


@pytest.fixture
def pipeline():
    return build_synth_pipeline(
        fast_spec("auto", unknown_source=None, augmentation=None, mix=MixSpec(real_arrival_batches=4))
    )


def _settled(path):
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


def _run(defs, pipeline, request, instance):
    source_op = next(iter(request.run_config.get("ops", {})), None)
    config = {Stage.REAL_SOURCE: request.run_config["ops"][source_op]["config"]} if source_op else None
    # These tests are about what the schedule and the sensor start. The fast copula on a quarter of the
    # data makes a synthetic-only model near chance (balanced accuracy 0.51 against 0.96 real): the
    # utility limit is lowered so that its verdict, which depends on the bootstrap draw, is not the subject.
    [run] = run_generations(defs, pipeline=pipeline.name, generations=[int(request.partition_key)],
                            instance=instance, stage_config=config, policy=SynthPolicy(min_tstr_trtr_ratio=0.3))
    assert run.success, why(run)
    return run


def test_the_schedule_runs_the_next_generation_each_tick(pipeline, instance, tmp_path):
    schedule = build_generation_schedule(pipeline, cron_schedule="*/5 * * * *")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    defs = pipeline.to_definitions(data_dir=str(tmp_path / "data"), schedules=[schedule],
                                   include_quality_checks=False)
    assert defs.resolve_schedule_def(schedule.name).job_name == pipeline.job.name
    for expected in (1, 2):
        request = schedule(dg.build_schedule_context(instance=instance))
        assert request.partition_key == str(expected)
        assert instance.has_dynamic_partition(pipeline.generations.name, str(expected))
        assert _run(defs, pipeline, request, instance).success
    assert next_generation(instance, pipeline) == 3


def test_a_new_file_in_the_watched_directory_starts_a_generation_on_it(pipeline, instance, tmp_path):
    incoming = tmp_path / "data" / "incoming" / "auto"  # config paths must stay under the data directory
    sensor = build_arrival_sensor(pipeline, incoming)
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    defs = pipeline.to_definitions(data_dir=str(tmp_path / "data"), sensors=[sensor], include_quality_checks=False)

    def evaluate(cursor=None):
        return sensor(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))

    assert isinstance(evaluate(), dg.SkipReason) and incoming.is_dir()
    data = breast_cancer()
    data.iloc[:520].to_csv(incoming / "batch_1.csv", index=False)
    assert isinstance(evaluate(), dg.SkipReason)  # still being written, as far as the sensor can tell
    _settled(incoming / "batch_1.csv")
    (incoming / "notes.txt").write_text("not data")
    first = evaluate()
    [request] = first.run_requests
    assert request.partition_key == "1" and request.tags["synth_pipeline/source_file"] == "batch_1.csv"
    assert _run(defs, pipeline, request, instance).success
    assert len(_stored_source(tmp_path, pipeline)) == 520

    assert isinstance(evaluate(first.cursor), dg.SkipReason)  # nothing new
    data.to_csv(incoming / "batch_2.csv", index=False)
    _settled(incoming / "batch_2.csv")
    second = evaluate(first.cursor)
    [request] = second.run_requests
    assert request.partition_key == "2" and request.tags["synth_pipeline/source_file"] == "batch_2.csv"
    assert _run(defs, pipeline, request, instance).success
    assert len(_stored_source(tmp_path, pipeline)) == len(data)


def _stored_source(tmp_path, pipeline):
    return DatasetStore(base_dir=str(tmp_path / "data")).read(pipeline.key(Stage.REAL_SOURCE))


def test_the_sensor_watches_incoming_under_the_bound_store_by_default(pipeline, instance, tmp_path, monkeypatch):
    """Without a watch directory, the sensor watches ``incoming/<pipeline>`` under the data directory of the
    store bound in its definitions, not the one the environment names."""
    monkeypatch.setenv("SYNTH_PIPELINE_DATA_DIR", str(tmp_path / "elsewhere"))
    sensor = build_arrival_sensor(pipeline)
    defs = pipeline.to_definitions(data_dir=str(tmp_path / "data"), sensors=[sensor], include_quality_checks=False)
    # what the schedule's and sensor's busy check and the recovery of killed runs see in the code location
    assert dataset_store(defs.get_repository_def()).root == tmp_path / "data"
    skipped = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
    incoming = tmp_path / "data" / "incoming" / "auto"
    assert isinstance(skipped, dg.SkipReason) and str(incoming) in skipped.skip_message
    assert incoming.is_dir() and not (tmp_path / "elsewhere").exists()
    breast_cancer().iloc[:520].to_csv(incoming / "batch_1.csv", index=False)
    _settled(incoming / "batch_1.csv")
    [request] = sensor(dg.build_sensor_context(instance=instance, definitions=defs)).run_requests
    assert request.run_config["ops"]["auto__real_source"]["config"]["path"] == str(incoming / "batch_1.csv")
