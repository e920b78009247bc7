"""Queries see every event written before them, though they skip scanning a journal that has not changed."""

import shutil

from openlineage.client.event_v2 import RunState
from openlineage.client.uuid import generate_new_uuid

from synth_pipeline.lineage.emitter import LineageEmitter
from synth_pipeline.lineage.events import PRODUCER, DatasetRef, input_dataset, output_dataset, run_event
from synth_pipeline.lineage.facets import DagsterRunFacet, ProvenanceDatasetFacet
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.lineage.store import LineageStore


def _produce(emitter: LineageEmitter, dagster_run: str, child: str, parent: str) -> None:
    """One materialization of ``child`` (version ``<child>-v``) from ``parent``, as a step records it."""
    dagster = DagsterRunFacet(dagsterRunId=dagster_run, dagsterJob="job", stepKey="step", assetKey=child)
    provenance = ProvenanceDatasetFacet(pipeline="p", stage=child.split("/")[-1], relation="mix", kind="real",
                                        generation=1, rows=10, producer=PRODUCER)
    run_id = str(generate_new_uuid())
    for state in (RunState.START, RunState.COMPLETE):
        emitter.emit(run_event(
            state, run_id=run_id, job_name=child, job_type="ASSET", dagster=dagster,
            inputs=[input_dataset(DatasetRef(name=parent, version=f"{parent}-v"))],
            outputs=[output_dataset(child, f"{child}-v", provenance)],
        ))


def _names(frame) -> set[str]:
    return {str(name) for name in frame["name"]}


def test_a_query_sees_events_appended_after_the_previous_query(tmp_path):
    layout = LineageLayout.for_data_dir(tmp_path)
    run = str(generate_new_uuid())
    emitter = LineageEmitter(layout, layout.journal_file(run, "step", 1), forward=False)
    store = LineageStore(tmp_path)
    _produce(emitter, run, "p/b", "p/a")
    assert _names(store.ancestors("p/b")) == {"p/a", "p/b"}
    stamp = layout.journal_stamp()
    assert store.sync().events == 0  # the query already read everything

    _produce(emitter, run, "p/c", "p/b")  # the same journal file grows
    assert layout.journal_stamp() != stamp
    assert _names(store.ancestors("p/c")) == {"p/a", "p/b", "p/c"}
    assert _names(store.descendants("p/a")) == {"p/a", "p/b", "p/c"}


def test_a_journal_directory_copied_in_is_read(tmp_path):
    elsewhere = LineageLayout.for_data_dir(tmp_path / "elsewhere")
    run = str(generate_new_uuid())
    _produce(LineageEmitter(elsewhere, elsewhere.journal_file(run, "step", 1), forward=False), run, "p/y", "p/x")
    store = LineageStore(tmp_path / "here")
    layout = LineageLayout.for_data_dir(tmp_path / "here")
    local = str(generate_new_uuid())
    _produce(LineageEmitter(layout, layout.journal_file(local, "step", 1), forward=False), local, "p/b", "p/a")
    assert _names(store.ancestors("p/b")) == {"p/a", "p/b"}

    shutil.copytree(elsewhere.events_dir / run, layout.events_dir / run)
    assert _names(store.ancestors("p/y")) == {"p/x", "p/y"}


def test_full_sync_reads_a_file_grown_without_the_emitter(tmp_path):
    layout = LineageLayout.for_data_dir(tmp_path)
    run = str(generate_new_uuid())
    journal = layout.journal_file(run, "step", 1)
    _produce(LineageEmitter(layout, journal, forward=False), run, "p/b", "p/a")
    store = LineageStore(tmp_path)
    store.sync()
    other = tmp_path / "other"
    other_layout = LineageLayout.for_data_dir(other)
    _produce(LineageEmitter(other_layout, other_layout.journal_file(run, "step", 1), forward=False), run, "p/c",
             "p/b")
    with open(journal, "ab") as handle:  # appended by hand: no change stamp moves
        handle.write(other_layout.journal_file(run, "step", 1).read_bytes())
    assert store.sync(full=True).events == 2
    assert _names(store.ancestors("p/c")) == {"p/a", "p/b", "p/c"}
