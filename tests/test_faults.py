"""Crash safety: `synth-pipeline run` and `synth-pipeline lineage rebuild` killed with SIGKILL.

The kill points are chosen by watching the file system of the real command, not by hooks
in the product code. To hit a short window reliably, the watcher freezes the process
(SIGSTOP) when it sees the window open, checks that it is still open, and only then sends
SIGKILL (otherwise it lets the process go on, SIGCONT, and waits for the next one).

After every kill: every stored Parquet file reads completely, the lineage store syncs,
holds every complete journal line exactly once and no orphan record; after the next run,
no temporary file is left, no Dagster run of the job is left STARTED (so the schedule
runs again), and every OpenLineage run has ended.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from unittest.mock import patch

import dagster as dg
import pyarrow.parquet as pq
import pytest

from synth_pipeline.atomic_files import atomic_write, sweep_temporary_files
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.lineage.store import LineageStore
from synth_pipeline.runner import INTERRUPTED_TAG

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent
JOB = "faults_generation"
UNFINISHED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


class Command:
    """``synth-pipeline`` (or Python) started in its own session against one data directory and Dagster home."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.home = base / "home"
        self.env = {**os.environ, "DAGSTER_HOME": str(self.home), "SYNTH_PIPELINE_DATA_DIR": str(self.data),
                    "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
        self.runs = 0
        self.processes: list[subprocess.Popen] = []

    def kill_all(self) -> None:
        """Kill every process group this command started that is still running (after a failed test)."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)

    def _argv(self, args: list[str]) -> list[str]:
        return args if args[0] == sys.executable else [sys.executable, "-m", "synth_pipeline.cli", *args]

    def start(self, args: list[str]) -> subprocess.Popen:
        self.runs += 1
        log = open(self.base / f"output-{self.runs}.txt", "w+")  # a file: a pipe could fill up and stall it
        process = subprocess.Popen(self._argv(args), cwd=TESTS, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        process.log = log
        self.processes.append(process)
        return process

    def run(self, args: list[str]) -> tuple[int, str]:
        process = self.start(args)
        code = process.wait(timeout=300)
        return code, self.output(process)

    @staticmethod
    def output(process: subprocess.Popen) -> str:
        process.log.seek(0)
        text = process.log.read()
        process.log.close()
        return text

    def generation(self, extra: tuple[str, ...] = ("--next",)) -> list[str]:
        return ["run", "-m", "fault_job", *extra]


def kill_when(process: subprocess.Popen, window_open: Callable[[], bool], *, timeout: float = 240) -> None:
    """SIGKILL ``process`` while ``window_open()`` holds (checked again with the process frozen)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the process ended (exit {process.returncode}) before the kill point")
        if window_open():
            os.killpg(process.pid, signal.SIGSTOP)
            if window_open():
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
                return
            os.killpg(process.pid, signal.SIGCONT)
        time.sleep(0.002)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    pytest.fail("the kill point was not reached in time")


def files(root: Path) -> list[Path]:
    found = []
    for directory, _, names in os.walk(root):
        found += [Path(directory) / name for name in names]
    return found


def temporary_files(data: Path) -> list[Path]:
    return [path for path in files(data) if path.name.endswith(".tmp")]


def stage_temporary_files(data: Path) -> list[Path]:
    """Temporary files of stage outputs (not of the run lock's holder record, written first)."""
    return [path for path in temporary_files(data) if path.name.split(".")[-3] in ("parquet", "pkl")]


def journal_events(data: Path) -> Counter:
    """(OpenLineage run id, event type) of every complete journal line."""
    events: Counter = Counter()
    for path in LineageLayout.for_data_dir(data).journal_files():
        content = path.read_bytes()
        for line in content[: content.rfind(b"\n") + 1].splitlines():
            event = json.loads(line)
            events[(event["run"]["runId"], event["eventType"])] += 1
    return events


def assert_consistent(data: Path, *, ended: bool) -> int:
    """No half-written file is visible, and the lineage store is complete and has no orphan record.

    Args:
        ended: Every OpenLineage run must have ended (COMPLETE, FAIL or ABORT): true once a
            run after the kill has recovered from it.

    Returns:
        How many events the store lacked before this check synced it.
    """
    for path in files(data):
        if path.suffix == ".parquet":
            pq.read_table(path)  # a partial file has no footer and fails here
        elif path.suffix == ".pkl":
            with open(path, "rb") as handle:
                pickle.load(handle)
    store = LineageStore(data)
    added = store.sync(full=True).events
    with store.connect() as connection:
        def rows(sql: str) -> list[tuple]:
            return connection.execute(sql).fetchall()

        stored = Counter({(run, kind): count for run, kind, count in rows(
            "SELECT run_id, event_type, count(*) FROM events GROUP BY ALL")})
        journal = journal_events(data)
        assert stored == journal, (
            f"lost: {journal - stored}, duplicated or unknown: {stored - journal}")
        assert not rows(
            "SELECT * FROM dataset_versions WHERE produced_by_run IS NOT NULL AND produced_by_run NOT IN "
            "(SELECT run_id FROM events WHERE event_type = 'COMPLETE')"), "version without its producing run"
        assert not rows(
            "SELECT * FROM dataset_versions WHERE produced_by_run IS NULL AND node_id IN (SELECT child_id FROM edges)"
        ), "a derived version without its producer"
        assert not rows(
            "SELECT * FROM edges WHERE parent_id NOT IN (SELECT node_id FROM dataset_versions) "
            "OR child_id NOT IN (SELECT node_id FROM dataset_versions) "
            "OR run_id NOT IN (SELECT run_id FROM events WHERE event_type = 'COMPLETE')"), "orphan edge"
        assert not rows(
            "SELECT * FROM generators WHERE node_id NOT IN (SELECT node_id FROM dataset_versions) "
            "OR (fitted_on_id IS NOT NULL AND fitted_on_id NOT IN (SELECT node_id FROM dataset_versions))"
        ), "orphan generator"
        assert not rows(
            "SELECT * FROM check_results AS c WHERE NOT EXISTS (SELECT 1 FROM events AS e "
            "WHERE e.run_id = c.run_id AND e.event_type = c.state) "
            "OR (c.node_id IS NOT NULL AND c.node_id NOT IN (SELECT node_id FROM dataset_versions))"
        ), "check result without its run or dataset"
        assert not rows("SELECT * FROM check_assertions WHERE run_id NOT IN (SELECT run_id FROM check_results)")
        assert not rows("SELECT DISTINCT content_digest FROM row_hashes WHERE content_digest NOT IN "
                        "(SELECT content_digest FROM dataset_versions)"), "row hashes of an unknown content"
        for path, offset in rows("SELECT path, size FROM ingested_files"):
            with open(path, "rb") as handle:  # read up to a line end, never into a line
                assert offset <= os.path.getsize(path)
                if offset:
                    handle.seek(offset - 1)
                    assert handle.read(1) == b"\n", path
        if ended:
            assert not rows("SELECT * FROM runs WHERE state = 'START'"), "lineage runs left open"
    return added


def instance_of(command: Command) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(command.home))


def assert_recovered(command: Command, killed_run_ids: list[str]) -> None:
    """No run of the job is left unfinished; the killed ones are failed, saying why; the schedule runs."""
    from fault_job import pipeline

    from synth_pipeline.automation import build_generation_schedule

    instance = instance_of(command)
    assert not instance.get_run_records(dg.RunsFilter(job_name=JOB, statuses=UNFINISHED))
    for run_id in killed_run_ids:
        run = instance.get_run_by_id(run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE and run.tags[INTERRUPTED_TAG] == "killed"
        [failure] = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert "ended without finishing" in failure.message and "killed?" in failure.message
    tick = build_generation_schedule(pipeline)(dg.build_schedule_context(instance=instance))
    assert isinstance(tick, dg.RunRequest), tick
    instance.dispose()


def schedule_tick(command: Command) -> dg.RunRequest | dg.SkipReason:
    """One evaluation of the pipeline's schedule, as the Dagster daemon makes it (with the code location)."""
    from fault_job import defs, pipeline

    from synth_pipeline.automation import build_generation_schedule

    instance = instance_of(command)
    context = dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def())
    # The code location's environment: fault_job's store reads its data directory from it.
    with patch.dict(os.environ, {"SYNTH_PIPELINE_DATA_DIR": str(command.data)}):
        tick = build_generation_schedule(pipeline)(context)
    instance.dispose()
    return tick


def started_runs(command: Command) -> list[str]:
    instance = instance_of(command)
    ids = [r.dagster_run.run_id for r in instance.get_run_records(dg.RunsFilter(job_name=JOB, statuses=UNFINISHED))]
    instance.dispose()
    return ids


@pytest.mark.slow
def test_runs_killed_at_several_points_leave_consistent_data_and_the_next_run_succeeds(tmp_path, request):
    command = Command(tmp_path)
    request.addfinalizer(command.kill_all)
    data = command.data
    mix = data / "faults" / "training_mix"

    # 1. Killed while the first stage output is being written (its temporary file exists).
    process = command.start(command.generation())
    kill_when(process, lambda: bool(stage_temporary_files(data)))
    # usually the real source's; a fast write may be missed, then a later stage's
    [leftover] = stage_temporary_files(data)
    target = leftover.with_name(leftover.name[1:].rsplit(".", 2)[0])  # .<name>.<uuid>.tmp -> <name>
    assert target.suffix in (".parquet", ".pkl") and not target.exists(), leftover
    assert_consistent(data, ended=False)
    killed = started_runs(command)
    assert len(killed) == 1  # left STARTED: the schedule and the sensor would wait for it forever

    # 2. The next run (generation 1 again), killed after its training mix was materialized,
    #    while the mix's blocking checks run.
    runs_before = set(os.listdir(data / "lineage" / "events"))

    def checking_the_mix() -> bool:
        """A check of the mix has started (its own journal file holds START) and not ended."""
        events = data / "lineage" / "events"
        return any(path.read_bytes().count(b"\n") == 1
                   for run in set(os.listdir(events)) - runs_before
                   for path in (events / run).glob("faults__training_mix_*.jsonl"))

    process = command.start(command.generation())
    kill_when(process, checking_the_mix)
    output = Command.output(process)
    # the killed check's run, and the Dagster run's own OpenLineage run (its parent)
    assert "recovered generation 1" in output and "2 open lineage runs ended with ABORT" in output, output
    assert not temporary_files(data), "the run swept the killed writer's temporary file"
    assert (mix / "1.parquet").is_file()
    assert_consistent(data, ended=False)
    unfinished = started_runs(command)
    assert killed[0] not in unfinished and len(unfinished) == 1  # the first one was recovered
    killed += unfinished

    # The schedule's next tick repairs the killed run itself (no CLI run in between): it fails the
    # run, quarantines the mix whose checks never finished, and asks for generation 1 again.
    tick = schedule_tick(command)
    assert isinstance(tick, dg.RunRequest) and tick.partition_key == "1", tick
    assert not started_runs(command)
    assert [marker.name for marker in mix.glob("*.quarantine.*")] == ["1.quarantine.interrupted_run.txt"]

    # 3. The next run, `run --next --generations 2`, succeeds. Dagster holds generation 1's mix as
    #    materialized, but generation 1's run was killed, so --next starts with generation 1 again.
    code, output = command.run(command.generation(("--next", "--generations", "2")))
    assert code == 0, output
    assert "generation 1 done" in output and "generation 2 done" in output, output
    assert not temporary_files(data)
    assert not list((mix).glob("*.quarantine.*")), "the new write of generation 1 lifted the quarantine"
    assert assert_consistent(data, ended=True) == 0, "the run's own sync read everything"
    assert_recovered(command, killed)
    with LineageStore(data).connect() as connection:
        aborted = connection.execute("SELECT count(*) FROM runs WHERE state = 'ABORT'").fetchall()[0][0]
        checked = connection.execute(
            "SELECT generation, count(DISTINCT check_name) FROM check_results WHERE dataset = 'faults/training_mix' "
            "AND passed GROUP BY ALL ORDER BY ALL").fetchall()
    # real_source in the first killed run, a check of the mix in the second, and both Dagster runs' own runs
    assert aborted == 4
    assert [generation for generation, _ in checked] == [1, 2]
    assert len({count for _, count in checked}) == 1  # both generations passed every check on their mix

    # 4. `lineage rebuild` killed part-way: small transactions (a test setting), so it is killed
    #    holding the store's lock, between commits of a partly rebuilt store, with its staging
    #    file on disk. The next `lineage sync` neither waits for the lock nor loses an event.
    before = journal_events(data)
    rebuild = [sys.executable, "-c", "import sys; import synth_pipeline.lineage.store as s; "
               "assert hasattr(s, '_BATCH_BYTES'); s._BATCH_BYTES = 1; s.LineageStore(sys.argv[1]).rebuild()",
               str(data)]
    lineage = data / "lineage"
    process = command.start(rebuild)
    kill_when(process, lambda: (lineage / "lineage.duckdb.wal").exists()
              and any(p.name.startswith(".staging-") for p in lineage.iterdir()))
    assert list(lineage.glob(".staging-*"))
    code, output = command.run(["lineage", "sync", "--data-dir", str(data)])
    assert code == 0, output
    assert not list(lineage.glob(".staging-*"))
    assert assert_consistent(data, ended=True) == 0, "the sync after the kill read everything"
    assert journal_events(data) == before


def test_a_line_cut_off_by_a_killed_writer_is_not_read_and_breaks_nothing(tmp_path):
    from openlineage.client.event_v2 import RunState

    from synth_pipeline.lineage.emitter import LineageEmitter
    from synth_pipeline.lineage.events import run_event
    from synth_pipeline.lineage.facets import DagsterRunFacet
    from synth_pipeline.lineage.recovery import abort_open_runs

    layout = LineageLayout.for_data_dir(tmp_path)
    dagster_run = "10000000-0000-4000-8000-000000000000"
    journal = layout.journal_file(dagster_run, "step", 1)
    emitter = LineageEmitter(layout, journal, forward=False)
    facet = DagsterRunFacet(dagsterRunId=dagster_run, dagsterJob="job", stepKey="step", assetKey="p/a")

    def event(state, run_id):
        return run_event(state, run_id=run_id, job_name="p/a", job_type="ASSET", dagster=facet)

    ids = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(3)]
    emitter.emit(event(RunState.START, ids[0]))
    emitter.emit(event(RunState.COMPLETE, ids[0]))
    emitter.emit(event(RunState.START, ids[1]))
    whole = journal.read_bytes()
    last = whole[whole.rfind(b"\n", 0, len(whole) - 1) + 1:]
    journal.write_bytes(whole[: len(whole) - len(last)] + last[: len(last) // 2])  # killed mid-append
    store = LineageStore(tmp_path)
    assert store.sync(full=True).events == 2
    assert store.sync(full=True).events == 0  # the cut-off line is looked at again, and left again
    with store.connect() as connection:
        [(offset,)] = connection.execute("SELECT size FROM ingested_files").fetchall()
    assert offset == len(whole) - len(last)
    assert abort_open_runs(layout, dagster_run, "killed") == 0  # the cut-off START is no event

    # A writer that failed part-way through an append (and lived on) ends the partial line
    # before its next event, so that event is read.
    original = emitter._journal.emit

    def fail_half_way(_event):
        with open(journal, "ab") as handle:
            handle.write(b'{"eventType": "START", "run": {"ru')
        raise RuntimeError("No space left on device")

    emitter._journal.emit = fail_half_way
    with pytest.raises(RuntimeError):
        emitter.emit(event(RunState.START, ids[2]))
    emitter._journal.emit = original
    emitter.emit(event(RunState.COMPLETE, ids[2]))
    assert store.sync(full=True).events == 1
    with store.connect() as connection:
        assert connection.execute("SELECT count(*) FROM events WHERE run_id = ?", [ids[2]]).fetchall() == [(1,)]


def test_temporary_files_of_dead_writers_are_swept_and_those_of_live_writers_kept(tmp_path):
    target = tmp_path / "a" / "stage.parquet"
    atomic_write(target, lambda handle: handle.write(b"done"))
    assert sorted(p.name for p in files(tmp_path)) == ["stage.parquet"]
    live = target.with_name(f".stage.parquet.{'1' * 32}.tmp")
    dead = target.with_name(f".stage.parquet.{'2' * 32}.tmp")
    other = target.with_name(".notes.txt")  # hidden, but not ours
    for path in (live, dead, other):
        path.write_bytes(b"partial")
    # A live writer: another process holding the temporary file's lock.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; h = open(sys.argv[1], 'rb'); "
         "fcntl.flock(h, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)", str(live)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert sweep_temporary_files(tmp_path) == [dead]
        assert live.exists() and other.exists() and target.read_bytes() == b"done"
    finally:
        holder.kill()
        holder.wait()
    assert sweep_temporary_files(tmp_path) == [live]  # its writer died: the kernel dropped the lock
