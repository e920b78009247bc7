"""Run status sensors that end the OpenLineage run of each Dagster run the daemon sees end.

A run launched from the Dagster UI, a schedule or a sensor ends in a process nothing of
ours runs in. These sensors (on by default; they need the Dagster daemon) emit the end
of its OpenLineage run (:func:`~synth_pipeline.lineage.dagster_run.end_dagster_run`):
COMPLETE on success, FAIL on failure, ABORT when canceled. Whoever emits first wins
(the runner for its own runs), so a run never gets two ends, and a run that recorded no
lineage gets none.

The lineage directory is that of the run's tag ``synth_pipeline/data_dir`` (set by the
run's steps), else that of the dataset store bound in the definitions.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from synth_pipeline.storage import DATA_DIR_TAG

_ENDS = (
    (dg.DagsterRunStatus.SUCCESS, "COMPLETE", "completed"),
    (dg.DagsterRunStatus.FAILURE, "FAIL", "failed"),
    (dg.DagsterRunStatus.CANCELED, "ABORT", "canceled"),
)


def _data_dir(context: dg.RunStatusSensorContext, pipeline: str) -> Path | None:
    tagged = context.dagster_run.tags.get(DATA_DIR_TAG)
    if tagged:
        return Path(tagged)
    repository = context.repository_def
    if repository is None:
        return None
    from synth_pipeline.bound_store import dataset_store

    try:
        return dataset_store(repository, pipeline).root
    except Exception:  # noqa: BLE001 - definitions without a dataset store record no lineage
        return None


def _error(context: dg.RunStatusSensorContext, state: str) -> str | None:
    if state == "COMPLETE":
        return None
    message = getattr(context.dagster_event, "message", None) or ""
    # Dagster's run-level message names the failed steps; step errors are in the steps' own events.
    return f"Dagster run {context.dagster_run.run_id} {state.lower()}ed" + (f": {message}" if message else "")


def lineage_run_sensors(prefix: str) -> list[dg.SensorDefinition]:
    """The sensors ending OpenLineage runs of Dagster runs of this code location, named ``<prefix>_lineage_run_*``.

    Args:
        prefix: The pipeline's name: names the sensors uniquely in a code location, and picks
            the pipeline's own dataset store when the definitions bind one per pipeline.
    """
    return [_sensor(prefix, status, state, word) for status, state, word in _ENDS]


def _sensor(prefix: str, status: dg.DagsterRunStatus, state: str, word: str) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        run_status=status, name=f"{prefix}_lineage_run_{word}", default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Ends the OpenLineage run of each {word} Dagster run with {state} "
                    "(synth_pipeline.lineage.run_sensors).",
    )
    def end(context: dg.RunStatusSensorContext) -> None:
        data_dir = _data_dir(context, prefix)
        if data_dir is None:
            return
        from synth_pipeline.lineage.dagster_run import end_dagster_run
        from synth_pipeline.lineage.layout import LineageLayout

        end_dagster_run(LineageLayout.for_data_dir(data_dir), context.dagster_run.run_id, state,
                        error=_error(context, state))

    return end
