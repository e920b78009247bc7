"""No lineage record is lost, and no step fails on DuckDB's lock, when steps and syncs run in parallel."""

import multiprocessing
import threading
from collections import Counter
from pathlib import Path

import dagster as dg
from openlineage.client.event_v2 import RunState
from openlineage.client.uuid import generate_new_uuid

from lineage_helpers import journal_events
from synth_pipeline.lineage.dagster_run import end_dagster_run
from synth_pipeline.lineage.emitter import LineageEmitter
from synth_pipeline.lineage.events import DatasetRef, input_dataset, run_event
from synth_pipeline.lineage.facets import DagsterRunFacet
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.lineage.recorder import output_stub
from synth_pipeline.lineage.store import LineageStore

WRITERS = 4
EVENTS_PER_WRITER = 200


def _write_events(data_dir: str, writer: int) -> None:
    layout = LineageLayout.for_data_dir(data_dir)
    dagster_run = str(generate_new_uuid())
    emitter = LineageEmitter(layout, layout.journal_file(dagster_run, f"step_{writer}", writer), forward=False)
    facet = DagsterRunFacet(dagsterRunId=dagster_run, dagsterJob="stress", stepKey=f"step_{writer}",
                            assetKey=f"stress/w{writer}")
    for number in range(EVENTS_PER_WRITER // 2):
        run_id = str(generate_new_uuid())
        for state in (RunState.START, RunState.COMPLETE):
            emitter.emit(run_event(
                state, run_id=run_id, job_name=f"stress/w{writer}/{number}", job_type="ASSET", dagster=facet,
                inputs=[input_dataset(DatasetRef(name=f"stress/in{number}", version=str(number)))],
                outputs=[output_stub(f"stress/w{writer}/{number}")],
            ))


def _sync_repeatedly(data_dir: str, rounds: int) -> None:
    store = LineageStore(data_dir)
    for _ in range(rounds):
        store.sync()


def test_parallel_writers_and_syncs_lose_nothing(tmp_path):
    context = multiprocessing.get_context("spawn")
    for round_number in range(2):  # many times: every round adds writers while syncs run
        data_dir = str(tmp_path / "data")
        processes = [context.Process(target=_write_events, args=(data_dir, WRITERS * round_number + w))
                     for w in range(WRITERS)]
        processes += [context.Process(target=_sync_repeatedly, args=(data_dir, 10)) for _ in range(2)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=300)
            assert process.exitcode == 0
        store = LineageStore(data_dir)
        store.sync()
        with store.connect() as connection:
            stored = connection.execute("SELECT count(*), count(DISTINCT run_id) FROM events").fetchall()[0]
        written = len(journal_events(tmp_path / "data"))
        assert written == WRITERS * EVENTS_PER_WRITER * (round_number + 1)
        assert stored == (written, written // 2)


# Forkserver with these modules loaded starts a step process in well under a second, instead of
# the few seconds a spawned interpreter needs to import them.
_MULTIPROCESS = {
    "max_concurrent": 4,
    "start_method": {"forkserver": {"preload_modules": [
        "dagster", "pandas", "pyarrow", "sklearn", "openlineage.client", "synth_pipeline", "multiprocess_job"]}},
}


def test_multiprocess_runs_record_every_step(tmp_path, monkeypatch):
    """Two generation runs (of two pipelines) at once, each running up to 4 step processes, while a
    thread syncs the store."""
    data_dir = tmp_path / "data"
    # Step processes fork from a server started (by the first run below) with this environment,
    # which gives them the data directory; they import the job module from the working directory
    # that reconstructable() records.
    monkeypatch.setenv("SYNTH_PIPELINE_DATA_DIR", str(data_dir))
    monkeypatch.chdir(Path(__file__).parent)
    (tmp_path / "home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "home"))
    from multiprocess_job import generation_job_a, generation_job_b, pipelines

    jobs = {pipeline.name: job for pipeline, job in zip(pipelines, (generation_job_a, generation_job_b), strict=True)}
    for name in jobs:
        instance.add_dynamic_partitions(f"{name}_generations", ["1"])
    results: dict[str, dg.JobExecutionResult] = {}
    sync_errors: list[BaseException] = []
    done = threading.Event()

    def run(name: str) -> None:
        results[name] = dg.execute_job(
            dg.reconstructable(jobs[name]), instance=instance, tags={"dagster/partition": "1"},
            run_config={"execution": {"config": {"multiprocess": _MULTIPROCESS}}},
        )

    def sync_until_done() -> None:
        store = LineageStore(data_dir)
        try:
            while not done.is_set():
                store.sync()
        except BaseException as error:  # reported by the assertion below
            sync_errors.append(error)

    syncer = threading.Thread(target=sync_until_done)
    runs = [threading.Thread(target=run, args=(name,)) for name in jobs]
    syncer.start()
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()
    done.set()
    syncer.join()

    assert sorted(results) == sorted(jobs)
    for name, result in results.items():
        failures = [event.message for event in result.all_events if event.is_step_failure]
        assert result.success and failures == [], (name, failures)
    assert sync_errors == []
    # execute_job runs end without our runner or the daemon's run status sensors: the caller ends
    # each Dagster run's own OpenLineage run (its START was emitted by its first step).
    for result in results.values():
        assert end_dagster_run(LineageLayout.for_data_dir(data_dir), result.run_id, "COMPLETE")
    journal = journal_events(data_dir)
    store = LineageStore(data_dir)
    store.sync()
    with store.connect() as connection:
        stored = connection.execute("SELECT run_id, event_type FROM events").fetchall()
    assert Counter(map(tuple, stored)) == Counter((e["run"]["runId"], e["eventType"]) for e in journal)
    states = Counter(event["eventType"] for event in journal)
    assert states["FAIL"] == 0 and states["START"] == states["COMPLETE"] > 40
    step_processes = {event["run"]["facets"]["synthPipeline_dagster"].get("stepKey") for event in journal} - {None}
    dagster_runs = {event["run"]["facets"]["synthPipeline_dagster"]["dagsterRunId"] for event in journal}
    assert len(step_processes) >= 20 and dagster_runs == {result.run_id for result in results.values()}
    with store.connect() as connection:
        generations_stored = connection.execute(
            "SELECT DISTINCT pipeline, generation FROM generations ORDER BY ALL").fetchall()
    assert generations_stored == [(name, 1) for name in sorted(jobs)]
