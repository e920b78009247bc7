"""The OpenLineage run of a whole Dagster run: the parent and root of its steps' runs.

Each Dagster run is an OpenLineage run of the job ``<Dagster job name>`` (type ``JOB``),
whose run id is the Dagster run id (a UUID; any other id is mapped to one with uuid5,
:func:`~synth_pipeline.lineage.events.dagster_run_uuid`). Every step-level event names it
in its ``parent`` facet, as parent and as root.

No single process sees a Dagster run from start to end (the multiprocess executor runs
steps in their own processes; the UI and the daemon launch runs elsewhere), so:

- START is emitted by the first step that records lineage (:func:`start_dagster_run`):
  it claims the marker ``<journal run dir>/.dagster-run-started`` (a hard link, which
  exists whole or not at all, and only one process can create), which also records the
  job's name. Its event time is the Dagster run's start time when the instance knows it.
- COMPLETE, FAIL or ABORT is emitted by whoever sees the run end first
  (:func:`end_dagster_run`): the runner after ``execute_in_process``
  (:func:`synth_pipeline.runner.run_generations`), the run status sensors the definitions
  include (:mod:`~synth_pipeline.lineage.run_sensors`; runs from the UI or the daemon),
  the recovery of a killed run (ABORT), or a caller of ``dg.materialize`` with
  :func:`end_dagster_run`. The marker ``.dagster-run-ended`` makes the first one the only
  one. A run that recorded no lineage (no START marker) gets no end event either.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from openlineage.client.event_v2 import RunState

from synth_pipeline.lineage.emitter import LineageEmitter
from synth_pipeline.lineage.events import JOB_RUN, PRODUCER, dagster_run_uuid, run_event
from synth_pipeline.lineage.facets import DagsterRunFacet
from synth_pipeline.lineage.layout import LineageLayout, safe_name

START_MARKER = ".dagster-run-started"
END_MARKER = ".dagster-run-ended"
JOURNAL_STEP = "dagster-run"
"""Journal files of the Dagster run's own events: ``<run dir>/dagster-run-<pid>.jsonl``."""
_ENDED = {"COMPLETE": RunState.COMPLETE, "FAIL": RunState.FAIL, "ABORT": RunState.ABORT}


@dataclass(frozen=True)
class StartedRun:
    """What the START marker of a Dagster run records."""

    dagster_run_id: str
    job_name: str
    partition: str | None = None


def _run_dir(layout: LineageLayout, dagster_run_id: str) -> Path:
    return layout.events_dir / safe_name(dagster_run_id)


def _claim(marker: Path, content: str) -> bool:
    """Create ``marker`` holding ``content`` unless it exists; True if this call created it.

    The content is written to a private file first and hard-linked into place: the link
    appears whole or not at all, and fails if the marker exists (no two processes both win).
    """
    marker.parent.mkdir(parents=True, exist_ok=True)
    partial = marker.with_name(f"{marker.name}.{os.getpid()}.partial")
    partial.write_text(content)
    try:
        os.link(partial, marker)
    except FileExistsError:
        return False
    finally:
        partial.unlink(missing_ok=True)
    return True


def started_run(layout: LineageLayout, dagster_run_id: str) -> StartedRun | None:
    """The Dagster run's START marker, or None if no step of it recorded lineage."""
    try:
        recorded = json.loads((_run_dir(layout, dagster_run_id) / START_MARKER).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return StartedRun(dagster_run_id, str(recorded.get("job", "")), recorded.get("partition"))


def _facet(run: StartedRun) -> DagsterRunFacet:
    return DagsterRunFacet(dagsterRunId=run.dagster_run_id, dagsterJob=run.job_name, partitionKey=run.partition,
                           producer=PRODUCER)


def _time(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


def start_dagster_run(
    layout: LineageLayout,
    dagster_run_id: str,
    job_name: str,
    *,
    partition: str | None = None,
    started_at: float | None = None,
) -> bool:
    """Emit START for the Dagster run unless some process already did; True if this call did.

    Args:
        layout: The lineage directory.
        dagster_run_id: The Dagster run id.
        job_name: The Dagster job's name (the OpenLineage job name of the run).
        partition: The run's partition, if any.
        started_at: The run's start (POSIX seconds), default now.
    """
    run = StartedRun(dagster_run_id, job_name, partition)
    if not _claim(_run_dir(layout, dagster_run_id) / START_MARKER,
                  json.dumps({"job": job_name, "partition": partition})):
        return False
    emitter = LineageEmitter(layout, layout.journal_file(dagster_run_id, JOURNAL_STEP, os.getpid()))
    emitter.emit(run_event(RunState.START, run_id=dagster_run_uuid(dagster_run_id), job_name=job_name,
                           job_type=JOB_RUN, dagster=_facet(run), event_time=_time(started_at)))
    return True


def end_dagster_run(
    layout: LineageLayout,
    dagster_run_id: str,
    state: str,
    *,
    error: str | None = None,
    ended_at: float | None = None,
) -> bool:
    """Emit the end of the Dagster run (``COMPLETE``, ``FAIL`` or ``ABORT``) unless it was emitted
    already or the run recorded no lineage; True if this call emitted it.

    Args:
        layout: The lineage directory.
        dagster_run_id: The Dagster run id.
        state: ``COMPLETE``, ``FAIL`` or ``ABORT``.
        error: For FAIL and ABORT: what failed (no stack trace, no data values).
        ended_at: When the run ended (POSIX seconds), default now.

    Raises:
        ValueError: ``state`` is not an end state.
    """
    if state not in _ENDED:
        raise ValueError(f"a Dagster run ends with COMPLETE, FAIL or ABORT, not {state!r}")
    run = started_run(layout, dagster_run_id)
    if run is None or not _claim(_run_dir(layout, dagster_run_id) / END_MARKER, state):
        return False
    emitter = LineageEmitter(layout, layout.journal_file(dagster_run_id, JOURNAL_STEP, os.getpid()))
    emitter.emit(run_event(_ENDED[state], run_id=dagster_run_uuid(dagster_run_id), job_name=run.job_name,
                           job_type=JOB_RUN, dagster=_facet(run), event_time=_time(ended_at),
                           error=error if state != "COMPLETE" else None))
    return True
