"""Two runs on one data directory: the second waits for the first (or refuses, with --no-wait).

Real processes throughout: `synth-pipeline run` on the small `fault_job` pipeline (one generation
each), and a helper process that holds the data directory's run lock as a run would. A helper
killed with SIGKILL must not block anyone; the data and the lineage store must come out as if the
runs had been started one after the other. Nothing asserts wall-clock times.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

from lineage_helpers import journal_events
from synth_pipeline.cli import main
from synth_pipeline.lineage.store import LineageStore
from synth_pipeline.run_lock import DataDirBusyError, RunLock
from synth_pipeline.runner import hold_data_dir
from synth_pipeline.stages.builder import STORE_KEY
from synth_pipeline.storage import DATA_DIR_TAG, DatasetStore

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent
HOST = socket.gethostname()
BUSY_EXIT_CODE = 3  # documented: `run --no-wait` found the data directory in use
HOLDER = """
import sys
from synth_pipeline.run_lock import RunLock

with RunLock(sys.argv[1]).hold(command="lock holder of the test"):
    print("holding", flush=True)
    sys.stdin.read()  # until the test closes stdin, or kills this process
"""

pytestmark = pytest.mark.slow


class Processes:
    """Processes started against one data directory and Dagster home; all killed at the end."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.env = {**os.environ, "DAGSTER_HOME": str(base / "home"),
                    "PYTHONPATH": os.pathsep.join([str(PROJECT), str(TESTS)])}
        self.started: list[subprocess.Popen] = []

    def cli(self, *args: str) -> subprocess.Popen:
        """``synth-pipeline ARGS`` with its output (stdout and stderr) in a file: a pipe could fill up and stall it."""
        log = open(self.base / f"output-{len(self.started)}.txt", "w+")
        process = subprocess.Popen([sys.executable, "-m", "synth_pipeline.cli", *args], cwd=TESTS, env=self.env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        process.log = log
        self.started.append(process)
        return process

    def run(self, *args: str) -> subprocess.Popen:
        """``synth-pipeline run`` of the fault tests' small pipeline on the data directory."""
        return self.cli("run", "-m", "fault_job", "--data-dir", str(self.data), *args)

    def holder(self) -> subprocess.Popen:
        """A process holding the data directory's run lock until its stdin is closed."""
        process = subprocess.Popen([sys.executable, "-c", HOLDER, str(self.data)], cwd=TESTS, env=self.env,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.started.append(process)
        assert process.stdout.readline() == "holding\n"
        return process

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    yield started
    started.kill_all()


def output(process: subprocess.Popen) -> str:
    process.log.seek(0)
    return process.log.read()


def finish(process: subprocess.Popen) -> tuple[int, str]:
    code = process.wait(timeout=300)
    return code, output(process)


def wait_until(condition, what: str, *, running: list[subprocess.Popen], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for process in running:
            if process.poll() is not None:
                pytest.fail(f"{what}: process {process.pid} ended first (exit {process.returncode}):\n"
                            f"{output(process) if hasattr(process, 'log') else ''}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def waiting_line(pid: int) -> str:
    return f"waiting for run {pid} on {HOST} started "


def test_a_second_run_waits_for_the_first_then_runs_the_next_generation(processes, capsys):
    """Two `run --next` at once: one runs generation 1, the other waits for it (naming it) and runs 2.

    Both start while a holder has the directory, so neither can be done before the other is
    waiting; the holder is then killed outright, which must release the lock. While the second
    run writes, `lineage sync` and `report` run beside it without waiting.
    """
    data = processes.data
    holder = processes.holder()
    runs = [processes.run("--next"), processes.run("--next")]
    for run in runs:
        wait_until(lambda run=run: waiting_line(holder.pid) in output(run), "waiting for the holder",
                   running=runs)
    lock = RunLock(data)
    assert lock.holder().pid == holder.pid and "lock holder of the test" in output(runs[0])
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)

    wait_until(lambda: getattr(lock.holder(), "pid", None) in {r.pid for r in runs}, "a run holding the lock",
               running=runs)
    first = next(run for run in runs if run.pid == lock.holder().pid)
    second = next(run for run in runs if run is not first)
    wait_until(lambda: waiting_line(first.pid) in output(second), "the second waiting for the first",
               running=[second])
    first_code, first_output = finish(first)
    assert first_code == 0, first_output
    assert "generation 1 done" in first_output and "generation 2" not in first_output

    # Readers need no lock: they run while the second run holds the directory.
    wait_until(lambda: getattr(lock.holder(), "pid", None) == second.pid, "the second run holding the lock",
               running=[second])
    readers = [processes.cli("lineage", "sync", "--data-dir", str(data)),
               processes.cli("report", "-m", "fault_job", "--generation", "1", "--data-dir", str(data))]
    for reader in readers:
        code, text = finish(reader)
        assert code == 0 and "waiting" not in text, text
    second_code, second_output = finish(second)
    assert second_code == 0, second_output
    assert "generation 2 done" in second_output and "generation 1 done" not in second_output
    # said once; a wait of more than 30 s adds progress lines ("still waiting for ...")
    assert [line.startswith(waiting_line(first.pid)) for line in second_output.splitlines()].count(True) == 1
    assert lock.holder() is None  # released, and its record with it

    assert_consistent(processes, capsys, generations=[1, 2])


def assert_consistent(processes: Processes, capsys, *, generations: list[int]) -> None:
    """Every stored file reads; the lineage store holds the journal exactly once; each generation ran once."""
    data = processes.data
    stored = [path for path in data.rglob("*") if path.suffix in (".parquet", ".pkl")]
    assert {path.stem for path in (data / "faults" / "training_mix").glob("*.parquet")} == {str(g) for g in generations}
    for path in stored:
        if path.suffix == ".parquet":
            pq.read_table(path)  # a partial file has no footer and fails here
        else:
            with open(path, "rb") as handle:
                pickle.load(handle)
    assert not [path for path in data.rglob("*.tmp")]

    # The lineage commands run in this process (the same code as the command, without its start-up time).
    assert main(["lineage", "sync", "--full", "--data-dir", str(data)]) == 0
    with LineageStore(data).connect() as connection:
        in_store = Counter(map(tuple, connection.execute("SELECT run_id, event_type FROM events").fetchall()))
    in_journal = Counter((event["run"]["runId"], event["eventType"]) for event in journal_events(data))
    assert in_store == in_journal, f"lost: {in_journal - in_store}, duplicated: {in_store - in_journal}"

    def lineage(*args: str) -> pd.DataFrame:
        capsys.readouterr()
        code = main(["lineage", *args, "--pipeline", "faults", "--format", "json", "--data-dir", str(data)])
        text = capsys.readouterr().out
        assert code == 0, text
        return pd.DataFrame(json.loads(text))

    composition = lineage("composition")
    assert composition["generation"].tolist() == generations
    audit = lineage("holdout-audit")
    assert not audit["leak"].any()
    assert Counter(zip(audit["generation"], audit["generator"], strict=True)) == Counter(
        {(g, generator): 1 for g in generations for generator in ("sdv.gaussian_copula", "smote")})

    instance = dg.DagsterInstance.from_config(processes.env["DAGSTER_HOME"])
    runs = instance.get_runs(dg.RunsFilter(job_name="faults_generation"))
    assert sorted(run.tags["dagster/partition"] for run in runs) == [str(g) for g in generations]
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    instance.dispose()


def test_no_wait_refuses_while_held_and_a_killed_holder_blocks_nothing(processes, monkeypatch, capsys):
    """`run --no-wait` exits 3 naming the holder and writes nothing (the schedule skips too); once the
    holder is killed with SIGKILL, its left-over record blocks nothing: the same command runs."""
    data = processes.data
    holder = processes.holder()
    code, text = finish(processes.run("--next", "--no-wait"))
    assert code == BUSY_EXIT_CODE, text
    assert f"is in use by run {holder.pid} on {HOST} started " in text and "(lock holder of the test)" in text
    assert "without --no-wait" in text and "waiting" not in text
    assert not list(data.rglob("*.parquet"))
    instance = dg.DagsterInstance.from_config(processes.env["DAGSTER_HOME"])
    assert not instance.get_runs()
    instance.dispose()

    # A sibling: the schedule, evaluated with its code location as the daemon does, skips naming the holder.
    from fault_job import defs, pipeline

    from synth_pipeline.automation import build_generation_schedule

    monkeypatch.setenv("SYNTH_PIPELINE_DATA_DIR", str(data))  # the code location's data directory
    with dg.instance_for_test() as instance:
        tick = build_generation_schedule(pipeline)(
            dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def()))
    assert isinstance(tick, dg.SkipReason) and f"run {holder.pid} on {HOST}" in tick.skip_message

    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    assert RunLock(data).holder().pid == holder.pid  # its record is left behind
    code, text = finish(processes.run("--next", "--no-wait"))
    assert code == 0, text
    assert "generation 1 done" in text and "waiting" not in text
    assert_consistent(processes, capsys, generations=[1])


def _store_asset(name: str) -> dg.AssetsDefinition:
    """A step that writes through the dataset store resource, as every synth-pipeline step does."""
    @dg.asset(name=name)
    def stored(context, synth_pipeline_store: DatasetStore) -> None:
        synth_pipeline_store.write(pd.DataFrame({"x": [1, 2]}), context.asset_key, None)

    return stored


def test_steps_of_a_run_started_elsewhere_wait_for_the_holder(processes):
    """As a run from the UI or a sensor would: its step waits (saying for whom), then writes."""
    data = processes.data
    holder = processes.holder()
    store = DatasetStore(base_dir=str(data))
    results: list[dg.ExecuteInProcessResult] = []
    with dg.instance_for_test() as instance:
        thread = threading.Thread(target=lambda: results.append(dg.materialize(
            [_store_asset("written")], resources={"synth_pipeline_store": store}, instance=instance)))
        thread.start()

        def step_waiting() -> bool:
            return any(waiting_line(holder.pid) in (entry.user_message or "")
                       for run in instance.get_runs() for entry in instance.all_logs(run.run_id))

        wait_until(step_waiting, "the step waiting for the holder", running=[holder])
        assert not (data / "written.parquet").exists()
        holder.stdin.close()  # the holder ends and releases the lock
        thread.join(timeout=120)
        [result] = results
        assert result.success and (data / "written.parquet").is_file()
        assert instance.get_run_by_id(result.run_id).tags[DATA_DIR_TAG] == str(data)


def test_a_run_waits_for_a_run_started_elsewhere_between_its_steps(tmp_path, monkeypatch):
    """A run from the UI (multiprocess executor, a process per step) holds the lock only while a step
    runs; a run starting between two of its steps must wait for the rest of it too. It finds the run
    by the data-directory tag its storing step added."""
    data, signals = tmp_path / "data", tmp_path / "signals"
    signals.mkdir()
    monkeypatch.setenv("SYNTH_PIPELINE_DATA_DIR", str(data))  # step processes inherit the environment
    monkeypatch.setenv(SIGNALS_ENV, str(signals))
    monkeypatch.chdir(TESTS)  # where the step processes import this module from to rebuild the job
    results: list[dg.JobExecutionResult] = []
    with dg.instance_for_test() as instance:
        run_thread = threading.Thread(
            target=lambda: results.append(dg.execute_job(dg.reconstructable(two_step_job), instance=instance)))
        run_thread.start()
        wait_until(lambda: (signals / "running").exists() or bool(results), "the second step running", running=[])
        assert not results, [e.message for e in results[0].all_events if e.is_failure]
        [run] = instance.get_runs()
        # The two steps run side by side: the storing one tags the run when it starts.
        wait_until(lambda: instance.get_run_by_id(run.run_id).tags.get(DATA_DIR_TAG) == str(data),
                   "the storing step tagging its run", running=[])
        defs = dg.Definitions(resources={STORE_KEY: DatasetStore(base_dir=str(data))})

        def refusal() -> str:
            try:
                with hold_data_dir(defs, instance=instance, wait=False):
                    pytest.fail("took the data directory while a run started elsewhere was writing")
            except DataDirBusyError as busy:
                return str(busy)

        # Refused for the storing step while its process lasts (it ran beside this one), then for the run.
        wait_until(lambda: f"in use by Dagster run {run.run_id} of two_steps" in refusal(), "refused for the run",
                   running=[])
        lines: list[str] = []
        waiting = threading.Thread(target=_hold_once, args=(defs, instance, lines))
        waiting.start()
        wait_until(lambda: bool(lines), "the hold waiting", running=[])
        assert lines[0].startswith(f"waiting for Dagster run {run.run_id} of two_steps (STARTED")
        (signals / "go").touch()
        run_thread.join(timeout=300)
        waiting.join(timeout=300)
        assert results[0].success and lines[-1] == "held"


SIGNALS_ENV = "SYNTH_PIPELINE_TEST_SIGNALS"


@dg.asset
def first_step(context, synth_pipeline_store: DatasetStore) -> None:
    synth_pipeline_store.write(pd.DataFrame({"x": [1, 2]}), context.asset_key, None)


@dg.asset
def second_step() -> None:
    """Uses no store (the run is between storing steps, as far as the lock can tell); runs until told to end."""
    signals = Path(os.environ[SIGNALS_ENV])
    (signals / "running").touch()
    deadline = time.monotonic() + 120
    while not (signals / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def two_step_job() -> dg.JobDefinition:
    """A run's job for the multiprocess executor, whose step processes import this module to rebuild it."""
    return dg.Definitions(
        assets=[first_step, second_step], jobs=[dg.define_asset_job("two_steps")],
        resources={"synth_pipeline_store": DatasetStore()},
    ).resolve_job_def("two_steps")


def _hold_once(defs: dg.Definitions, instance: dg.DagsterInstance, lines: list[str]) -> None:
    with hold_data_dir(defs, instance=instance, report=lines.append):
        lines.append("held")


CHILD = """
import sys
import dagster as dg
import pandas as pd
from synth_pipeline.storage import DATA_DIR_TAG, DatasetStore

@dg.asset
def child_output(context: dg.AssetExecutionContext, synth_pipeline_store: DatasetStore) -> None:
    synth_pipeline_store.write(pd.DataFrame({"x": [1]}), context.asset_key, None)

with dg.instance_for_test() as instance:
    result = dg.materialize([child_output], instance=instance,
                            resources={"synth_pipeline_store": DatasetStore(base_dir=sys.argv[1])})
    print("success" if result.success else "failed", DATA_DIR_TAG in instance.get_run_by_id(result.run_id).tags)
"""

LAUNCHER = """
import subprocess, sys
from synth_pipeline.run_lock import RunLock

with RunLock(sys.argv[1]).hold(command="launcher", launches_runs=True):
    child = subprocess.run([sys.executable, "-c", sys.argv[2], sys.argv[1]], capture_output=True, text=True,
                           timeout=120)
print(child.stdout.strip(), child.returncode)
"""


def test_steps_in_child_processes_of_a_launcher_holding_the_lock_do_not_wait_for_it(processes):
    """As the multiprocess executor's step processes of a run the lock holder launched: covered by its hold."""
    result = subprocess.run([sys.executable, "-c", LAUNCHER, str(processes.data), CHILD], cwd=TESTS,
                            env=processes.env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # the child's step ran without waiting (a wait would have hit the timeout) and did not tag its run
    assert result.stdout.strip() == "success False 0", result.stdout + result.stderr
    assert (processes.data / "child_output.parquet").is_file()


@pytest.mark.slow
def test_runs_starting_together_on_a_fresh_dagster_home_open_it_once(tmp_path):
    """Found with the two-run test: two processes opening a fresh SQLite Dagster home at once
    stamped its schema twice ("alembic_version has more than one head"), so every later run on
    that home failed. Four processes at once, three times over; then the home still opens."""
    code = ("from synth_pipeline.runner import default_instance; "
            "instance = default_instance(); instance.get_runs(); print('opened')")
    for attempt in range(3):
        env = {**os.environ, "DAGSTER_HOME": str(tmp_path / f"home{attempt}")}
        starts = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for _ in range(4)]
        results = [(p.wait(timeout=120), *p.communicate()) for p in starts]
        assert all(code == 0 and "opened" in out for code, out, _ in results), results
        later = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert later.returncode == 0, later.stderr[-2000:]
