"""Running generations without a person at the keyboard: a schedule and a new-data sensor.

Both start the pipeline's generation job for the **next generation**: one after the
highest generation whose training mix is materialized (1 if none is), or that generation
again when its last run was killed. Both skip while a run of the job is queued or in
progress, so generations never overlap, after repairing runs whose ``synth-pipeline run``
process was killed (:func:`~synth_pipeline.runner.recover_interrupted_runs`); a generation
whose run failed is tried again at the next tick (its partition is reused).

- :func:`build_generation_schedule`: one generation per tick of a cron schedule
  (default: daily at 03:00 UTC), **stopped** until switched on in the UI.
- :func:`build_arrival_sensor`: one generation per new real-data file (``.csv``,
  ``.parquet``, ``.jsonl`` or ``.ndjson``) in a watched directory (by default ``incoming/<pipeline>`` under the data
  directory of the store bound in the definitions), read as that generation's real source; a file
  counts as new when its name or modification time changed, and only once it has not
  changed for :data:`SETTLE_SECONDS` (so a file still being copied is not read).
  **Stopped** until switched on.
"""

import json
import time
from pathlib import Path

import dagster as dg

from synth_pipeline.factory import SynthPipeline
from synth_pipeline.generations import generation_key
from synth_pipeline.naming import Stage
from synth_pipeline.runner import dataset_store, next_generation_of, recover_interrupted_runs
from synth_pipeline.storage import DatasetStore

DEFAULT_CRON = "0 3 * * *"
SETTLE_SECONDS = 5.0
DATA_SUFFIXES = (".csv", ".parquet", ".jsonl", ".ndjson")
_ACTIVE = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]


def next_generation(instance: dg.DagsterInstance, pipeline: SynthPipeline) -> int:
    """The generation to run next: see :func:`next_generation_of`."""
    return next_generation_of(instance, pipeline.key(Stage.TRAINING_MIX), pipeline=pipeline.name)


def _repository(
    context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext,
) -> dg.RepositoryDefinition | None:
    """The repository of the definitions being evaluated (None for a context built without them, in tests)."""
    try:
        return context.repository_def
    except dg.DagsterInvariantViolationError:
        return None


def _busy(
    context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext, pipeline: SynthPipeline, evaluator: str
) -> str | None:
    """Why no generation run may start now (None if one may), after repairing runs whose process was killed.

    A run may not start while a generation run is queued or in progress, or while another process
    holds the data directory (:mod:`synth_pipeline.run_lock`), e.g. ``synth-pipeline run`` with
    another Dagster home. The repair itself holds the directory, so it never meets a run writing.

    Args:
        context: The schedule's or sensor's evaluation context.
        pipeline: The pipeline.
        evaluator: The schedule's or sensor's name, for the message of a run waiting meanwhile.

    Returns:
        The reason to skip, or None.
    """
    repository = _repository(context)
    if repository is not None:
        from synth_pipeline.run_lock import DataDirBusyError, RunLock

        try:
            data_dir = dataset_store(repository, pipeline.name).root
            with RunLock(data_dir).hold(command=f"{evaluator} evaluation", wait=False):
                for run in recover_interrupted_runs(repository, pipeline=pipeline.name, instance=context.instance):
                    context.log.warning(f"recovered {run.describe()}")
        except DataDirBusyError as busy:
            return f"{busy.holder} is writing to {busy.data_dir}"
    runs = context.instance.get_run_records(
        dg.RunsFilter(job_name=pipeline.job.name, statuses=_ACTIVE), limit=1
    )
    return f"a {pipeline.job.name} run is still queued or in progress" if runs else None


def build_generation_schedule(
    pipeline: SynthPipeline,
    *,
    cron_schedule: str = DEFAULT_CRON,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED,
    execution_timezone: str = "UTC",
) -> dg.ScheduleDefinition:
    """A schedule running the next generation of ``pipeline`` at each tick.

    Args:
        pipeline: The pipeline.
        cron_schedule: When to run (default: daily at 03:00).
        default_status: STOPPED (default) until switched on in the UI, or RUNNING.
        execution_timezone: Time zone of ``cron_schedule``.
    """

    @dg.schedule(
        cron_schedule=cron_schedule, job=pipeline.job, name=f"{pipeline.name}_generation_schedule",
        default_status=default_status, execution_timezone=execution_timezone,
        description=f"Runs the next generation of {pipeline.name} ({cron_schedule}, {execution_timezone}).",
    )
    def generation_schedule(context: dg.ScheduleEvaluationContext):
        if reason := _busy(context, pipeline, f"{pipeline.name}_generation_schedule"):
            return dg.SkipReason(reason)
        key = generation_key(next_generation(context.instance, pipeline))
        context.instance.add_dynamic_partitions(pipeline.generations.name, [key])
        return dg.RunRequest(partition_key=key, tags={"synth_pipeline/trigger": "schedule"})

    return generation_schedule


def _data_files(directory: Path) -> dict[str, int]:
    if not directory.is_dir():
        return {}
    return {
        p.name: p.stat().st_mtime_ns for p in sorted(directory.iterdir())
        if p.is_file() and p.suffix.lower() in DATA_SUFFIXES and not p.name.startswith(".")
    }


def watched_directory(pipeline: SynthPipeline, repository: dg.RepositoryDefinition | None = None) -> Path:
    """The default directory :func:`build_arrival_sensor` watches: ``<data dir>/incoming/<pipeline>``.

    The data directory is that of the dataset store bound in the definitions the sensor is
    part of, so the files it passes to runs as config lie under it (run config may only
    name files there, :mod:`synth_pipeline.config_paths`).

    Args:
        pipeline: The pipeline.
        repository: The definitions' repository, as a sensor's context has it (None: the
            default store's data directory, from ``$SYNTH_PIPELINE_DATA_DIR`` or the default).

    Returns:
        The directory, absolute.
    """
    store = dataset_store(repository, pipeline.name) if repository is not None else DatasetStore()
    return store.root / "incoming" / pipeline.name


def build_arrival_sensor(
    pipeline: SynthPipeline,
    watch_dir: str | Path | None = None,
    *,
    minimum_interval_seconds: int = 30,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor starting the next generation of ``pipeline`` for each new file in ``watch_dir``.

    The file is the generation's real source (``real_source`` config ``path``), so its
    rows are split, held out and arrive like any real data. One file per evaluation; the
    others wait for the next one.

    Args:
        pipeline: The pipeline.
        watch_dir: The directory to watch (created when missing); relative paths are
            resolved from the code location's working directory. Default:
            ``incoming/<pipeline name>`` under the data directory of the dataset store
            bound in the definitions the sensor is in (:func:`watched_directory`), looked up
            at each evaluation.
        minimum_interval_seconds: Time between evaluations.
        default_status: STOPPED (default) until switched on in the UI, or RUNNING.
    """
    fixed = Path(watch_dir).expanduser().absolute() if watch_dir is not None else None
    where = str(fixed) if fixed is not None else f"incoming/{pipeline.name} under the data directory"
    source_key = pipeline.key(Stage.REAL_SOURCE)
    real_source_op = next(a for a in pipeline.assets if source_key in a.keys).node_def.name

    @dg.sensor(
        job=pipeline.job, name=f"{pipeline.name}_new_data_sensor", minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=(f"Runs the next generation of {pipeline.name} on each new CSV, Parquet or JSON Lines file in "
                     f"{where}."),
    )
    def new_data_sensor(context: dg.SensorEvaluationContext):
        directory = fixed if fixed is not None else watched_directory(pipeline, _repository(context))
        directory.mkdir(parents=True, exist_ok=True)
        seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        settled_before = time.time_ns() - int(SETTLE_SECONDS * 1e9)
        new = [name for name, mtime in _data_files(directory).items()
               if seen.get(name) != mtime and mtime <= settled_before]
        if not new:
            return dg.SkipReason(f"no new settled data file in {directory}")
        if reason := _busy(context, pipeline, f"{pipeline.name}_new_data_sensor"):
            return dg.SkipReason(f"{len(new)} new file(s) wait: {reason}")
        name = new[0]
        path = directory / name
        key = generation_key(next_generation(context.instance, pipeline))
        seen[name] = path.stat().st_mtime_ns
        return dg.SensorResult(
            run_requests=[dg.RunRequest(
                partition_key=key, run_key=f"{name}:{seen[name]}",
                run_config={"ops": {real_source_op: {"config": {"path": str(path)}}}},
                tags={"synth_pipeline/trigger": "new_data", "synth_pipeline/source_file": name},
            )],
            dynamic_partitions_requests=[pipeline.generations.build_add_request([key])],
            cursor=json.dumps(seen, sort_keys=True),
        )

    return new_data_sensor
