"""No lineage record is lost, and no step fails on DuckDB's lock, when steps and syncs run in parallel."""

import multiprocessing

from openlineage.client.event_v2 import RunState
from openlineage.client.uuid import generate_new_uuid

from lineage_helpers import journal_events
from synth_pipeline.lineage.emitter import LineageEmitter
from synth_pipeline.lineage.events import DatasetRef, input_dataset, run_event
from synth_pipeline.lineage.facets import DagsterRunFacet
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.lineage.recorder import output_stub
from synth_pipeline.lineage.store import LineageStore

WRITERS = 6
EVENTS_PER_WRITER = 200


def _write_events(data_dir: str, writer: int) -> None:
    layout = LineageLayout.for_data_dir(data_dir)
    dagster_run = str(generate_new_uuid())
    emitter = LineageEmitter(layout.journal_file(dagster_run, f"step_{writer}", writer), forward=False)
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
