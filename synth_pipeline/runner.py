"""Running a pipeline's generations in-process against a Dagster instance.

The CLI (``synth-pipeline run``) is a thin layer over :func:`run_generations`.

Crash recovery: a run executed in-process by a process that is then killed (SIGKILL,
out-of-memory killer, power loss) stays STARTED in Dagster's run storage forever, which
would keep the schedule and sensor of :mod:`synth_pipeline.automation` skipping. Each run
started here is therefore tagged with the host, pid and start time of its process, and
:func:`run_generations` first calls :func:`recover_interrupted_runs`, which marks the
runs of dead processes on this host failed (see its docs for what else it repairs).

One run per data directory: :func:`run_generations` holds the directory's run lock
(:func:`hold_data_dir`, :mod:`synth_pipeline.run_lock`) and waits for whoever holds it.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from synth_pipeline.atomic_files import atomic_write, sweep_temporary_files
from synth_pipeline.bound_store import dataset_store
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.factory import policy_resource_key
from synth_pipeline.generation_verdict import (
    BlockingFailure,
    GenerationVerdict,
    evidence_lines,
    verdict_from_records,
)
from synth_pipeline.generations import generation_key
from synth_pipeline.metadata import metadata_values
from synth_pipeline.naming import PIPELINE_TAG, Stage, tagged_stage_assets
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.rerun_command import RUN_COMMAND, run_command_of
from synth_pipeline.run_lock import LockHolder, RunLock
from synth_pipeline.storage import DATA_DIR_TAG

DEFAULT_DAGSTER_HOME = Path(".synth_pipeline") / "dagster_home"
HOST_TAG = "synth_pipeline/host"
PID_TAG = "synth_pipeline/pid"
PROCESS_START_TAG = "synth_pipeline/process_start"
INTERRUPTED_TAG = "synth_pipeline/interrupted"
INTERRUPTED_CHECK = "interrupted_run"
"""The quarantine marker's name for data a killed run wrote without passing all its blocking checks."""
_UNFINISHED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
_WRITING = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageRecord:
    """What one stage reported when it was materialized."""

    asset_key: str
    stage: str
    generation: int | None
    metadata: dict[str, Any]


@dataclass(frozen=True)
class CheckRecord:
    """The outcome of one asset check in a run."""

    asset_key: str
    name: str
    passed: bool
    severity: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class GenerationRun:
    """The outcome of running one generation.

    Attributes:
        generation: The generation number.
        run_id: The Dagster run id.
        success: Whether every step succeeded.
        seconds: Wall-clock time of the run.
        stages: Each materialized stage with its metadata, in pipeline order.
        checks: Each asset check evaluated in the run.
        failures: ``(step, message)`` for each failed step (failed checks are in ``checks``).
        not_run: Asset keys the run was to materialize and did not (downstream of a failure).
    """

    generation: int
    run_id: str
    success: bool
    seconds: float
    stages: list[StageRecord] = field(default_factory=list)
    checks: list[CheckRecord] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> GenerationVerdict:
        """Passed, blocked (by which checks, observed vs limit; what did not run) or failed (step errors)."""
        blocking = [
            BlockingFailure(asset=check.asset_key, check=check.name, evidence=evidence_lines(check.metadata))
            for check in self.failed_checks
        ]
        errors = [step for step, _ in self.failures]
        return verdict_from_records(self.generation, blocking, self.not_run, errors)

    @property
    def failed_checks(self) -> list[CheckRecord]:
        """Checks that failed with ERROR severity."""
        return [check for check in self.checks if not check.passed and check.severity == "ERROR"]

    def check(self, name: str) -> CheckRecord:
        """The result of the check with this name (the first, if several assets have one).

        Raises:
            KeyError: No check of that name ran (e.g. it was skipped after an upstream failure).
        """
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"check {name!r} did not run in generation {self.generation}")


@dataclass(frozen=True)
class InterruptedRun:
    """A Dagster run whose process died before finishing it, as found and repaired.

    Attributes:
        run_id: The Dagster run id.
        generation: Its generation (partition), if any.
        pid: The process that ran it.
        aborted: OpenLineage runs (steps and checks) it left open, now ended with ABORT.
        quarantined: ``asset key[partition]`` of stored data it wrote whose blocking checks
            did not all pass on that exact version; quarantined until written again.
        command: The command that runs its pipeline's generations, for the code location the run
            came from (:func:`~synth_pipeline.rerun_command.run_command_of`).
    """

    run_id: str
    generation: int | None
    pid: int
    aborted: int
    quarantined: list[str]
    command: str = RUN_COMMAND

    @property
    def rerun(self) -> str:
        """The command that runs its generation again."""
        return _rerun(self.command, self.generation)

    def describe(self) -> str:
        """One line for people."""
        where = f"generation {self.generation}" if self.generation is not None else "a run"
        text = (f"{where}: Dagster run {self.run_id} was left unfinished by process {self.pid}, which is gone "
                f"(killed?); marked failed, {self.aborted} open lineage run{'' if self.aborted == 1 else 's'} "
                "ended with ABORT")
        if self.quarantined:
            text += f", unchecked data quarantined: {', '.join(self.quarantined)}"
        return f"{text}; run it again: {self.rerun}"


def process_tags() -> dict[str, str]:
    """Tags naming this process, put on every run started by :func:`run_generations`."""
    identity = _process_identity(os.getpid())
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
        PROCESS_START_TAG: identity[0] if identity else "",
    }


def _process_identity(pid: int) -> tuple[str, str] | None:
    """``(boot id:start time, state)`` of a process from /proc (None where there is no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the name in parentheses may hold spaces
    return f"{boot}:{fields[19]}", fields[0]


def _process_alive(pid: int, started: str) -> bool:
    """Whether the process that tagged a run still runs (a reused pid is not it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        pass
    identity = _process_identity(pid)
    if identity is None:  # no /proc (e.g. macOS): the pid exists, so assume it is that process
        return True
    start, state = identity
    if state in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    return not started or start == started


def recover_interrupted_runs(
    defs: dg.Definitions | dg.RepositoryDefinition, *, pipeline: str, instance: dg.DagsterInstance
) -> list[InterruptedRun]:
    """Repair what runs of ``pipeline``'s generation job left behind when their process was killed.

    Looks at the job's runs that are not finished (NOT_STARTED, STARTING, STARTED), were
    started by :func:`run_generations` on this host (tags), and whose process is gone.
    For each, in this order (each step is idempotent, so a recovery killed half-way is
    completed by the next one):

    1. ends the OpenLineage runs it left open with an ABORT event in its journal;
    2. quarantines (:meth:`DatasetStore.quarantine`, check name ``interrupted_run``) each
       stored asset it started to write whose blocking checks have not all passed on the
       exact version now stored, so no later generation builds on data nobody checked;
    3. tags it ``synth_pipeline/interrupted`` and marks it failed in Dagster
       (``report_run_failed``), so schedules and sensors waiting for it run again.

    Runs started elsewhere (other hosts, or by the Dagster daemon's run launcher, whose
    dead runs Dagster's own run monitoring detects) are left alone.

    Args:
        defs: The definitions holding the pipeline, or their repository (as schedules and
            sensors see it).
        pipeline: The pipeline name.
        instance: The Dagster instance holding the runs.

    Returns:
        The runs repaired.
    """
    from synth_pipeline.lineage.layout import LineageLayout
    from synth_pipeline.lineage.recovery import abort_open_runs, read_run_journal
    from synth_pipeline.lineage.store import LineageStore
    from synth_pipeline.lineage.versions import file_version

    host = socket.gethostname()
    records = instance.get_run_records(
        dg.RunsFilter(job_name=f"{pipeline}_generation", statuses=_UNFINISHED, tags={HOST_TAG: host})
    )
    dead = [
        run for run in (record.dagster_run for record in records)
        if run.tags.get(PID_TAG, "").isdigit()
        and not _process_alive(int(run.tags[PID_TAG]), run.tags.get(PROCESS_START_TAG, ""))
    ]
    if not dead:
        return []
    store = dataset_store(defs, pipeline)
    layout = LineageLayout.for_data_dir(store.root)
    lineage = LineageStore(layout=layout)
    graph = defs.asset_graph if isinstance(defs, dg.RepositoryDefinition) else defs.resolve_asset_graph()
    recovered = []
    for run in dead:
        pid = int(run.tags[PID_TAG])
        run_partition = run.tags.get("dagster/partition")
        generation = int(run_partition) if run_partition and run_partition.isdigit() else None
        command = run_command_of(run, pipeline)
        reason = (f"process {pid} on {host} ended without finishing Dagster run {run.run_id} (killed?); "
                  "recorded by synth-pipeline's recovery")
        aborted = abort_open_runs(layout, run.run_id, reason)
        quarantined = []
        for asset, partition in read_run_journal(layout, run.run_id).assets():
            key = dg.AssetKey.from_user_string(asset)
            blocking = sorted(
                check.name for check in graph.get_check_keys_for_assets({key}) if graph.get_check_spec(check).blocking
            )
            if not blocking or not store.exists(key, partition):
                continue
            version = file_version(store.path_of(key, partition))[0]
            outcomes = lineage.check_outcomes(asset, version, int(partition) if partition else 0)
            unchecked = [name for name in blocking if not outcomes.get(name)]
            if unchecked:
                store.quarantine(
                    key, partition, INTERRUPTED_CHECK,
                    f"written by Dagster run {run.run_id}, whose process was killed before checks "
                    f"{unchecked} passed on it; run its generation again ({_rerun(command, generation)})",
                )
                quarantined.append(asset + (f"[{partition}]" if partition else ""))
        instance.add_run_tags(run.run_id, {INTERRUPTED_TAG: "killed"})
        instance.report_run_failed(run, message=reason)
        recovered.append(InterruptedRun(
            run_id=run.run_id, generation=generation, pid=pid, aborted=aborted, quarantined=quarantined,
            command=command,
        ))
    return recovered


def _rerun(command: str, generation: int | None) -> str:
    """``command`` running ``generation`` again (``--next`` does when it is not known: a killed generation
    is the next one)."""
    return f"{command} --start {generation}" if generation is not None else f"{command} --next"


def last_run_interrupted(instance: dg.DagsterInstance, pipeline: str, generation: int) -> bool:
    """Whether the latest run of a generation was left unfinished by a killed process."""
    records = instance.get_run_records(
        dg.RunsFilter(job_name=f"{pipeline}_generation", tags={"dagster/partition": generation_key(generation)}),
        limit=1,
    )
    return bool(records) and INTERRUPTED_TAG in records[0].dagster_run.tags


def next_generation_of(instance: dg.DagsterInstance, training_mix_key: dg.AssetKey, *, pipeline: str) -> int:
    """One after the highest materialized partition of a training-mix asset (1 if none).

    When the latest run of that highest generation was killed (recovered by
    :func:`~synth_pipeline.runner.recover_interrupted_runs`: its mix may be stored, its
    checks, model or evaluation not), that generation is run again instead.
    """
    done = instance.get_materialized_partitions(training_mix_key)
    following = max((int(key) for key in done if key.isdigit()), default=0) + 1
    if following > 1 and last_run_interrupted(instance, pipeline, following - 1):
        return following - 1
    return following


def next_generation_to_run(defs: dg.Definitions, *, pipeline: str, instance: dg.DagsterInstance) -> int:
    """The generation ``synth-pipeline run --next`` runs: the next one, or one a killed process left unfinished.

    Repairs runs of killed processes first (:func:`recover_interrupted_runs`). The next
    generation is one after the highest whose training mix is materialized; but when the
    latest run of that highest generation was killed (its mix may be stored, its checks,
    model or evaluation not), that generation is run again instead.
    """
    for interrupted in recover_interrupted_runs(defs, pipeline=pipeline, instance=instance):
        log.warning("recovered %s", interrupted.describe())
    return next_generation_of(instance, pipeline_stages(defs, pipeline)[Stage.TRAINING_MIX][0], pipeline=pipeline)


def hold_data_dir(
    defs: dg.Definitions,
    *,
    instance: dg.DagsterInstance,
    command: str | None = None,
    wait: bool = True,
    report: Callable[[str], None] | None = None,
    pipeline: str | None = None,
) -> AbstractContextManager[LockHolder]:
    """Hold the run lock of the data directory ``defs`` store into (:mod:`synth_pipeline.run_lock`).

    Besides a process holding the lock, it waits for Dagster runs of ``instance`` started elsewhere
    (the UI, a schedule, a sensor) that write into the directory (their steps tag them
    ``synth_pipeline/data_dir``), since such a run holds the lock only while one of its steps runs.

    Args:
        defs: The definitions whose dataset store names the data directory.
        instance: The Dagster instance to look for runs started elsewhere in.
        command: What this process runs, for the message of whoever waits (default: its command line).
        wait: Wait (default); False raises :class:`~synth_pipeline.run_lock.DataDirBusyError` at once.
        report: Where the waiting lines go (default: this module's log, as warnings).
        pipeline: Whose store names the directory (see :func:`dataset_store`; None: the shared store).

    Returns:
        A context manager holding the lock, re-entrant within one thread. Entering it raises
        :class:`~synth_pipeline.run_lock.DataDirBusyError` when ``wait`` is False and the
        directory is in use.
    """
    root = dataset_store(defs, pipeline).root
    return RunLock(root).hold(
        command=command or shlex.join(sys.argv), wait=wait, report=report or log.warning,
        also_wait_for=lambda: _run_writing_into(instance, root), launches_runs=True,
    )


def _run_writing_into(instance: dg.DagsterInstance, root: Path) -> str | None:
    """A run started elsewhere that is writing into ``root``, described for people (None if none is)."""
    for record in instance.get_run_records(dg.RunsFilter(statuses=_WRITING, tags={DATA_DIR_TAG: str(root)})):
        run = record.dagster_run
        if PID_TAG in run.tags:  # started by run_generations, whose process holds the lock itself
            continue
        return (f"Dagster run {run.run_id} of {run.job_name} ({run.status.value}, started from the Dagster UI, "
                "a schedule or a sensor; if its process is gone, terminate it in the UI)")
    return None


def dagster_home(environ: Mapping[str, str] | None = None) -> Path:
    """The Dagster home :func:`default_instance` opens: $DAGSTER_HOME, or ``.synth_pipeline/dagster_home``.

    Args:
        environ: Where $DAGSTER_HOME is read (default: ``os.environ``; never written).

    Returns:
        The directory, absolute.
    """
    environ = os.environ if environ is None else environ
    return Path(environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).expanduser().absolute()


def default_instance(home: str | Path | None = None) -> dg.DagsterInstance:
    """The persistent Dagster instance at ``home`` (default: :func:`dagster_home`), created if need be.

    Using a persistent instance means ``dagster dev`` with the same DAGSTER_HOME shows
    the runs started from the command line. The instance is opened from the directory
    itself: the environment (``$DAGSTER_HOME``) is read for the default, never written.

    Args:
        home: The Dagster home directory; a new one gets a ``dagster.yaml`` with Dagster's
            defaults and usage telemetry off.

    Returns:
        The instance.
    """
    home = Path(home).expanduser().absolute() if home is not None else dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        # Dagster's defaults (everything stored under home), without usage telemetry:
        # pipelines here run with no network.
        # Atomically: a half-written settings file would keep every later run from starting.
        atomic_write(settings, lambda handle: handle.write(b"telemetry:\n  enabled: false\n"))
    # Two processes opening a fresh SQLite instance at once both create its tables and stamp
    # its schema version twice ("alembic_version has more than one head"), and every later
    # run on that home fails; so opening it is serialized.
    from filelock import FileLock

    with FileLock(home / ".instance.lock"):
        return dg.DagsterInstance.from_config(str(home))


def pipeline_names(defs: dg.Definitions) -> list[str]:
    """Names of the synth-pipelines whose generation jobs ``defs`` holds."""
    return sorted(
        str(job.tags[PIPELINE_TAG]) for job in defs.resolve_all_job_defs() if PIPELINE_TAG in job.tags
    )


def pipeline_stages(defs: dg.Definitions, pipeline: str) -> dict[Stage, tuple[dg.AssetKey, str]]:
    """Each stage of a pipeline with its asset key and op name (for run config)."""
    graph = defs.resolve_asset_graph()
    return {stage: (key, graph.get(key).assets_def.node_def.name)
            for stage, key in tagged_stage_assets(graph, pipeline)}


def run_generations(
    defs: dg.Definitions,
    *,
    pipeline: str,
    generations: list[int],
    instance: dg.DagsterInstance,
    stage_config: dict[Stage, dict[str, Any]] | None = None,
    policy: SynthPolicy | None = None,
    keep_going: bool = False,
    quiet: bool = True,
    on_start: Callable[[int], None] | None = None,
    stages: Sequence[Stage] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[GenerationRun]:
    """Materialize every stage of ``pipeline`` for each generation, in order.

    Stops after the first generation that fails (a step error or a failed blocking
    check), unless ``keep_going``.

    Holds the data directory's run lock throughout (:func:`hold_data_dir`), after waiting for
    any other run writing into it. Then runs of this pipeline left unfinished by a killed
    process are repaired (:func:`recover_interrupted_runs`) and temporary files of killed
    writers are removed from the data directory. :func:`next_generation_to_run` says which generation to run
    after a killed run.

    Args:
        defs: Definitions holding the pipeline (e.g. ``pipeline.to_definitions()``).
        pipeline: The pipeline name.
        generations: Generation numbers to run, in order.
        instance: Where runs, materializations and partitions are recorded.
        stage_config: Run config per stage (e.g. ``{Stage.TRAINING_MIX: {"mode": "replace"}}``).
        policy: Overrides the policy bound in ``defs`` for these runs.
        keep_going: Run the remaining generations after a failed one, letting them build on
            the failed generation's mix (for simulations of the loop).
        quiet: Silence Dagster's console log (failures are still in the returned runs).
        on_start: Called with each generation number before its run starts.
        stages: Materialize only these stages (and run their checks); their inputs must
            be stored already or be among them. Default: every stage.
        tags: Further tags on every run, e.g. where the definitions were loaded from
            (:func:`~synth_pipeline.rerun_command.definitions_tag`, so hints name the command that
            runs them again).

    Yields:
        One :class:`GenerationRun` per generation run.
    """
    if pipeline not in pipeline_names(defs):
        raise SynthPipelineError(
            f"no synth-pipeline named {pipeline!r} in these definitions; found {pipeline_names(defs)}"
        )
    job = defs.resolve_job_def(f"{pipeline}_generation")
    partitions = job.partitions_def
    if partitions is not None and getattr(partitions, "name", None) != f"{pipeline}_generations":
        raise SynthPipelineError(
            f"synth-pipeline run numbers generations 1, 2, ... as the dynamic partitions "
            f"{pipeline}_generations (synth_pipeline.generations_partitions({pipeline!r})); the job "
            f"{pipeline}_generation is partitioned by {type(partitions).__name__}: launch its partitions from the "
            "Dagster UI or dg.materialize, or partition the per-generation assets with generations_partitions")
    available = pipeline_stages(defs, pipeline)
    selected = list(stages) if stages else list(available)
    unknown = sorted(s.value for s in [*(stage_config or {}), *selected] if s not in available)
    if unknown:
        raise SynthPipelineError(f"pipeline {pipeline!r} has no stage(s) {unknown}")
    stage_config = {stage: dict(config) for stage, config in (stage_config or {}).items()}
    if keep_going:  # later generations may then build on a mix that failed its checks
        for stage in (Stage.SYNTHETIC, Stage.TRAINING_MIX):
            stage_config.setdefault(stage, {})["allow_failed_previous"] = True
    run_config: dict[str, Any] = {
        "ops": {
            available[stage][1]: {"config": config} for stage, config in stage_config.items() if stage in selected
        }
    }
    if policy is not None:
        run_config["resources"] = {policy_resource_key(pipeline): {"config": policy.to_mapping()}}
    if quiet:
        run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}
    # Held until the last generation is done; re-entered at no cost when the caller holds it (the CLI does).
    with hold_data_dir(defs, instance=instance, pipeline=pipeline):
        for interrupted in recover_interrupted_runs(defs, pipeline=pipeline, instance=instance):
            log.warning("recovered %s", interrupted.describe())
        sweep_temporary_files(dataset_store(defs, pipeline).root, skip=("lineage/events",))
        partitions_name = f"{pipeline}_generations"
        stage_of = {key: stage for stage, (key, _) in available.items()}
        selection = [available[stage][0] for stage in selected] if stages else None
        for generation in generations:
            key = generation_key(generation)
            if not instance.has_dynamic_partition(partitions_name, key):
                instance.add_dynamic_partitions(partitions_name, [key])
            if on_start:
                on_start(generation)
            started = time.perf_counter()
            result = job.execute_in_process(
                partition_key=key, instance=instance, run_config=run_config, raise_on_error=False,
                asset_selection=selection, tags={**(tags or {}), **process_tags()},
            )
            run = _summarize_run(result, generation, time.perf_counter() - started, stage_of,
                                 planned=selection or [available[s][0] for s in Stage if s in available])
            _end_lineage_run(defs, pipeline, run)
            yield run
            if not run.success and not keep_going:
                return


def _summarize_run(
    result: dg.ExecuteInProcessResult, generation: int, seconds: float, stage_of: dict[dg.AssetKey, Stage],
    planned: Sequence[dg.AssetKey] = (),
) -> GenerationRun:
    order = {stage: index for index, stage in enumerate(Stage)}
    stages = []
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata = metadata_values(materialization.metadata)
        stages.append(
            StageRecord(
                asset_key=materialization.asset_key.to_user_string(),
                stage=stage_of.get(materialization.asset_key, ""),
                generation=int(materialization.partition) if materialization.partition else None,
                metadata=metadata,
            )
        )
    stages.sort(key=lambda record: order.get(Stage(record.stage), 99) if record.stage else 99)
    failures = [
        (event.step_key or "?", _root_cause(event.step_failure_data.error))
        for event in result.all_events
        if event.is_step_failure and _reported_elsewhere(event.step_failure_data.error) is False
    ]
    checks = [
        CheckRecord(
            asset_key=evaluation.asset_key.to_user_string(),
            name=evaluation.check_name,
            passed=evaluation.passed,
            severity=evaluation.severity.value,
            metadata=metadata_values(evaluation.metadata),
        )
        for evaluation in result.get_asset_check_evaluations()
    ]
    materialized = {record.asset_key for record in stages}
    return GenerationRun(
        generation=generation, run_id=result.run_id, success=result.success,
        seconds=seconds, stages=stages, checks=checks, failures=failures,
        not_run=[key.to_user_string() for key in planned if key.to_user_string() not in materialized],
    )


def _end_lineage_run(defs: dg.Definitions, pipeline: str, run: GenerationRun) -> None:
    """End the OpenLineage run of the Dagster run just executed (:mod:`synth_pipeline.lineage.dagster_run`)."""
    from synth_pipeline.lineage.dagster_run import end_dagster_run
    from synth_pipeline.lineage.layout import LineageLayout

    error = None
    if not run.success:
        parts = [f"step {step} failed" for step, _ in run.failures]
        parts += [f"blocking check {check.asset_key}:{check.name} failed" for check in run.failed_checks]
        error = f"Dagster run {run.run_id} failed: " + ("; ".join(parts) or "see its steps' events")
    end_dagster_run(LineageLayout.for_data_dir(dataset_store(defs, pipeline).root), run.run_id,
                    "COMPLETE" if run.success else "FAIL", error=error)


def _reported_elsewhere(error: Any) -> bool:
    """A failed blocking check fails its step too (Dagster's failure, or the check's own
    :class:`~synth_pipeline.checks.blocked.GenerationBlocked`); the check result already reports it."""
    while error is not None:
        if error.cls_name in ("DagsterAssetCheckFailedError", "GenerationBlocked"):
            return True
        error = error.cause
    return False


def _root_cause(error: Any) -> str:
    """The message of the exception user code raised, not of Dagster's wrappers around it."""
    while error is not None and error.cls_name and error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error.message.strip() if error is not None else "unknown error"
