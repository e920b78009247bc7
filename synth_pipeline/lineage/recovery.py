"""Closing the lineage of a Dagster run whose process died (SIGKILL, out-of-memory killer, power loss).

A killed step process never emits COMPLETE or FAIL for the OpenLineage runs it started.
:func:`abort_open_runs` appends, to the killed run's journal directory, an ``ABORT``
event (the OpenLineage state for a run stopped abnormally) for each of them, so the
journal, the store's ``runs`` view and any configured OpenLineage backend show them
ended. It reads complete journal lines only and is idempotent: a run already ended
(also by an earlier recovery) is left alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import RunState

from synth_pipeline.lineage.dagster_run import end_dagster_run
from synth_pipeline.lineage.emitter import LineageEmitter
from synth_pipeline.lineage.events import JOB_RUN, PRODUCER, run_event
from synth_pipeline.lineage.facets import DAGSTER_FACET, DagsterRunFacet
from synth_pipeline.lineage.layout import LineageLayout, safe_name

TERMINAL_STATES = ("COMPLETE", "FAIL", "ABORT")
RECOVERY_STEP = "recovery"


@dataclass(frozen=True)
class RunJournal:
    """The journal of one Dagster run: its complete events, in file and line order."""

    events: list[dict[str, Any]]

    def open_runs(self) -> list[dict[str, Any]]:
        """The START event of each OpenLineage run that has no COMPLETE, FAIL or ABORT event."""
        ended = {e["run"]["runId"] for e in self.events if e.get("eventType") in TERMINAL_STATES}
        started: dict[str, dict[str, Any]] = {}
        for event in self.events:
            run_id = event["run"]["runId"]
            if event.get("eventType") == "START" and run_id not in ended:
                started.setdefault(run_id, event)
        return list(started.values())

    def assets(self) -> list[tuple[str, str | None]]:
        """``(asset key, partition)`` of every asset a step of the run started to materialize."""
        found: dict[tuple[str, str | None], None] = {}
        for event in self.events:
            facet = event["run"].get("facets", {}).get(DAGSTER_FACET) or {}
            if facet.get("assetKey") and not facet.get("checkName"):
                found[(facet["assetKey"], facet.get("partitionKey"))] = None
        return list(found)


def read_run_journal(layout: LineageLayout, dagster_run_id: str) -> RunJournal:
    """Every complete, readable event in the journal directory of a Dagster run."""
    directory = journal_dir(layout, dagster_run_id)
    events: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        data = path.read_bytes()
        for line in data[: data.rfind(b"\n") + 1].splitlines():  # a cut-off last line is not an event
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get("run"), dict) and event["run"].get("runId"):
                events.append(event)
    return RunJournal(events)


def abort_open_runs(layout: LineageLayout, dagster_run_id: str, reason: str) -> int:
    """Emit ABORT (with ``reason`` as its error message) for each OpenLineage run of a Dagster run
    that started and never ended; returns how many.

    The events go to ``<run dir>/recovery-<pid>.jsonl`` and to the configured OpenLineage
    transport, if any.
    """
    open_runs = read_run_journal(layout, dagster_run_id).open_runs()
    if not open_runs:
        return 0
    emitter = LineageEmitter(layout, layout.journal_file(dagster_run_id, RECOVERY_STEP, os.getpid()))
    aborted = 0
    for start in open_runs:
        job_type = ((start.get("job", {}).get("facets") or {}).get("jobType") or {}).get("jobType", "")
        if job_type == JOB_RUN:  # the Dagster run's own run: ended once, whoever ends it
            aborted += end_dagster_run(layout, dagster_run_id, "ABORT", error=reason)
            continue
        aborted += 1
        facet = start["run"].get("facets", {}).get(DAGSTER_FACET) or {}
        job = start.get("job") or {}
        emitter.emit(run_event(
            RunState.ABORT, run_id=start["run"]["runId"], job_name=job.get("name", ""),
            job_type=((job.get("facets") or {}).get("jobType") or {}).get("jobType", ""),
            dagster=DagsterRunFacet(
                dagsterRunId=facet.get("dagsterRunId", dagster_run_id), dagsterJob=facet.get("dagsterJob", ""),
                stepKey=facet.get("stepKey", ""), assetKey=facet.get("assetKey", ""),
                partitionKey=facet.get("partitionKey"), checkName=facet.get("checkName"),
                retryNumber=facet.get("retryNumber", 0), producer=PRODUCER,
            ),
            error=reason,
        ))
    return aborted


def journal_dir(layout: LineageLayout, dagster_run_id: str) -> Path:
    """The journal directory of a Dagster run."""
    return layout.events_dir / safe_name(dagster_run_id)
