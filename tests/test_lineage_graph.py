"""The lineage graph kept on disk, and ingest in batches: same answers as building from the tables.

A small journal written with the plugin's own event builders: generation chains with a
generator fitted on each arrival, a training mix of its generation and the previous mix,
a model, a re-run of one generation's mix (two versions of one name and generation), an
input never produced, and check events. Ancestors and descendants of every version must
be the same from the graph a sync persisted, from the graph built from the tables, and
from the recursive SQL (``queries.ANCESTORS_SQL``), however the journal was synced: at
once, in many small batches, bit by bit with consumers read before their producers, or
after a sync that died half-way.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from openlineage.client.event_v2 import RunState
from openlineage.client.uuid import generate_new_uuid

import synth_pipeline.lineage.store as store_module
from synth_pipeline.lineage import graph_table, queries
from synth_pipeline.lineage.emitter import LineageEmitter
from synth_pipeline.lineage.events import PRODUCER, DatasetRef, assertion, input_dataset, output_dataset, run_event
from synth_pipeline.lineage.facets import CheckRunFacet, DagsterRunFacet, Generator, ProvenanceDatasetFacet
from synth_pipeline.lineage.graph import LineageGraph
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.lineage.store import LineageStore

TABLES = ("events", "dataset_versions", "edges", "generators", "check_results", "check_assertions")


class _Journal:
    """Writes one Dagster run per generation, one journal file per step, as steps do."""

    def __init__(self, root) -> None:
        self.layout = LineageLayout.for_data_dir(root)
        self._minute = 0

    def _time(self) -> str:
        self._minute += 1
        return f"2026-01-01T{self._minute // 60:02d}:{self._minute % 60:02d}:00+00:00"

    def produce(self, run: str, step: str, name: str, version: str, inputs: list[DatasetRef], *, generation: int,
                kind: str = "real", generator: Generator | None = None) -> DatasetRef:
        emitter = LineageEmitter(self.layout, self.layout.journal_file(run, step, 1), forward=False)
        dagster = DagsterRunFacet(dagsterRunId=run, dagsterJob="job", stepKey=step, assetKey=f"p/{name}",
                                  partitionKey=str(generation))
        provenance = ProvenanceDatasetFacet(pipeline="p", stage=name, relation="mix", kind=kind, generation=generation,
                                            rows=10 * generation, rowsByKind={kind: 10 * generation},
                                            generator=generator, producer=PRODUCER)
        run_id = str(generate_new_uuid())
        common = {"run_id": run_id, "job_name": f"p/{name}", "job_type": "ASSET", "dagster": dagster,
                  "inputs": [input_dataset(ref) for ref in inputs]}
        emitter.emit(run_event(RunState.START, event_time=self._time(), **common))
        emitter.emit(run_event(RunState.COMPLETE, outputs=[output_dataset(f"p/{name}", version, provenance)],
                               event_time=self._time(), **common))
        return DatasetRef(f"p/{name}", version)

    def check(self, run: str, checked: DatasetRef, generation: int) -> None:
        step = "mix_budget"
        emitter = LineageEmitter(self.layout, self.layout.journal_file(run, step, 1), forward=False)
        dagster = DagsterRunFacet(dagsterRunId=run, dagsterJob="job", stepKey=step, assetKey=checked.name,
                                  partitionKey=str(generation), checkName="budget")
        rule = assertion("budget", "budget rule", passed=True, observed=0.2, threshold=0.3, bound="max")
        facet = CheckRunFacet(checkName="budget", passed=True, severity="ERROR", blocking=True, generation=generation,
                              rule=rule.assertion, observed=0.2, threshold=0.3, producer=PRODUCER)
        ref = DatasetRef(checked.name, checked.version, "checked")
        common = {"run_id": str(generate_new_uuid()), "job_name": f"{checked.name}:budget", "job_type": "ASSET_CHECK",
                  "dagster": dagster}
        emitter.emit(run_event(RunState.START, inputs=[input_dataset(ref)], event_time=self._time(), **common))
        emitter.emit(run_event(RunState.COMPLETE, inputs=[input_dataset(ref, [rule])], check=facet,
                               event_time=self._time(), **common))

    def generation(self, generation: int, previous: DatasetRef | None, *, tag: str = "x",
                   after_the_model: Callable[[], object] | None = None) -> DatasetRef:
        """Write one generation (versions ``<stage>-g<generation>-<tag>``); with ``after_the_model``,
        the model's events first, then that call (e.g. a sync), then its producers'."""
        run = str(generate_new_uuid())
        suffix = f"-{tag}"
        source = DatasetRef("p/source", "source-v", "source")
        arrivals = DatasetRef("p/arrivals", f"arrivals-g{generation}{suffix}")
        synthetic = DatasetRef("p/synthetic", f"synthetic-g{generation}{suffix}")
        mix = DatasetRef("p/mix", f"mix-g{generation}{suffix}")
        steps = [
            lambda: self.produce(run, "arrivals", "arrivals", arrivals.version, [source], generation=generation),
            lambda: self.produce(run, "synthetic", "synthetic", synthetic.version,
                                 [DatasetRef(arrivals.name, arrivals.version, "fit")], generation=generation,
                                 kind="synthetic", generator=Generator(name="sdv.gaussian_copula",
                                                                       params={"default_distribution": "norm"})),
            lambda: self.produce(run, "mix", "mix", mix.version,
                                 [arrivals, synthetic, DatasetRef("p/vendor", "vendor-v"),
                                  *([DatasetRef(previous.name, previous.version, "previous")] if previous else [])],
                                 generation=generation, kind="mixed"),
            lambda: self.produce(run, "model", "model", f"model-g{generation}{suffix}",
                                 [DatasetRef(mix.name, mix.version, "data")], generation=generation, kind="derived"),
            lambda: self.check(run, mix, generation),
        ]
        if after_the_model is not None:
            steps[3]()
            after_the_model()
            steps = [*steps[:3], steps[4]]
        for step in steps:
            step()
        return mix


def _write(journal: _Journal, generations: range, previous: DatasetRef | None = None,
           between: Callable[[], object] = lambda: None) -> DatasetRef | None:
    for generation in generations:
        before = previous
        previous = journal.generation(generation, before)
        if generation == 2:
            # Run again: a second version of each dataset of generation 2 (ordered before the
            # first run's by version, written after it), on which later generations build.
            between()
            previous = journal.generation(2, before, tag="a")
    return previous


def _answers(store: LineageStore) -> dict[tuple[str, str, bool], pd.DataFrame]:
    """Ancestors and descendants of every dataset version, by (name, version, upstream)."""
    with store.connect() as connection:
        versions = connection.execute("SELECT name, version FROM dataset_versions ORDER BY ALL").fetchall()
    answers = {}
    for name, version in versions:
        answers[(name, version, True)] = store.ancestors(name, version=version)
        answers[(name, version, False)] = store.descendants(name, version=version)
    return answers


def _by_sql(store: LineageStore) -> dict[tuple[str, str, bool], pd.DataFrame]:
    with store.connect() as connection:
        versions = connection.execute("SELECT name, version FROM dataset_versions ORDER BY ALL").fetchall()
        return {(name, version, upstream): connection.execute(
                    queries.ANCESTORS_SQL if upstream else queries.DESCENDANTS_SQL,
                    {"name": name, "version": version}).df()
                for name, version in versions for upstream in (True, False)}


def _values(frame: pd.DataFrame) -> pd.DataFrame:
    # Text columns are categoricals whose categories follow the store's history; the values must match.
    values = frame.astype(object)
    return values.where(frame.notna(), None)


def _assert_same(answers, expected) -> None:
    assert answers.keys() == expected.keys()
    for key, frame in expected.items():
        pd.testing.assert_frame_equal(_values(answers[key]), _values(frame), check_dtype=False, obj=str(key))


def _graph_contents(table: pa.Table) -> tuple[dict[str, list], list[tuple[int, int]]]:
    """A graph table's columns with text decoded, and its edges (child, parent) sorted: the
    same for the same graph, whatever order its dictionaries and edges were added in."""
    columns = {name: (column.combine_chunks().dictionary_decode() if pa.types.is_dictionary(column.type)
                      else column.combine_chunks()).to_pylist()
               for name, column in zip(table.column_names, table.columns, strict=True) if name != "parents"}
    parents = table.column("parents").combine_chunks()
    children = np.repeat(np.arange(table.num_rows), np.diff(parents.offsets.to_numpy()))
    return columns, sorted(zip(children.tolist(), parents.values.to_numpy().tolist(), strict=True))


def _key(store: LineageStore) -> dict[str, str | None]:
    """The store state a graph file must name to be used."""
    with store.connect(sync=False) as connection:
        return store_module._key(store_module._content(connection))


def _built(store: LineageStore) -> pa.Table:
    with store.connect(sync=False) as connection:
        return graph_table.build(connection)


def _contents(store: LineageStore) -> dict[str, list[tuple]]:
    """Every table's rows, node ids replaced by the (name, version) they stand for."""
    with store.connect(sync=False) as connection:
        node = "(SELECT name || '@' || version FROM dataset_versions AS d WHERE d.node_id = {})"
        sql = {
            "events": "SELECT * FROM events",
            "dataset_versions": "SELECT * EXCLUDE (node_id) FROM dataset_versions",
            "edges": f"SELECT {node.format('parent_id')}, {node.format('child_id')}, relation, role, run_id FROM edges",
            "generators": f"SELECT {node.format('g.node_id')}, generator, params, {node.format('fitted_on_id')}, "
                          "pipeline, generation, run_id FROM generators AS g",
            "check_results": f"SELECT * EXCLUDE (node_id), {node.format('c.node_id')} FROM check_results AS c",
            "check_assertions": "SELECT * FROM check_assertions",
        }
        return {table: sorted(connection.execute(query).fetchall(), key=repr) for table, query in sql.items()}


@pytest.fixture
def journal(tmp_path) -> _Journal:
    return _Journal(tmp_path / "data")


def test_the_persisted_graph_answers_as_the_tables_and_the_recursive_sql(journal):
    _write(journal, range(1, 7))
    store = LineageStore(journal.layout.root.parent)
    store.sync()
    assert journal.layout.graph_path.is_file()  # written by the sync
    persisted = _answers(LineageStore(journal.layout.root.parent))  # a new store: loads the file
    _assert_same(persisted, _by_sql(store))
    with store.connect(sync=False) as connection:
        from_tables = LineageGraph.load(connection)
    loaded = LineageStore(journal.layout.root.parent).graph()
    assert _graph_contents(loaded.table) == _graph_contents(from_tables.table)
    # The re-run is a second version of generation 2: ancestry from it has its own mix, not the first run's.
    rerun = store.ancestors("p/model", version="model-g2-a")
    assert "mix-g2-a" in set(rerun["version"]) and "mix-g2-x" not in set(rerun["version"])
    assert store.ancestors("p/mix", generation=2)["version"].iloc[0] == "mix-g2-a"  # the latest run


def test_a_graph_extended_by_later_syncs_answers_as_a_fresh_rebuild(journal):
    store = LineageStore(journal.layout.root.parent)
    # Generation 2's re-run in a sync of its own: its versions get higher node ids than the
    # first run's, though they come first in (name, generation, version) order.
    previous = _write(journal, range(1, 4), between=store.sync)
    store.sync()
    assert len(store.ancestors("p/model")) > 0  # the graph is in memory and on disk
    previous = _write(journal, range(4, 6), previous)
    store.sync()
    # The model of generation 6 is synced before its mix is produced: the mix is first a
    # version seen only as an input, given its provenance by the next sync.
    previous = journal.generation(6, previous, after_the_model=LineageStore(journal.layout.root.parent).sync)
    LineageStore(journal.layout.root.parent).sync()  # another store object: extends the graph on disk
    journal.generation(7, previous)
    extended = _answers(LineageStore(journal.layout.root.parent))  # extended by the sync this query makes
    graph = LineageStore(journal.layout.root.parent).graph()
    assert _graph_contents(graph.table) == _graph_contents(_built(store))

    stale = journal.layout.graph_path.read_bytes()
    store.rebuild()
    _assert_same(extended, _answers(store))
    _assert_same(extended, _by_sql(store))
    # The graph file of the store before the rebuild, put back: it names another store, so
    # it is not used (the answers come from the rebuilt store's tables).
    journal.layout.graph_path.write_bytes(stale)
    journal.generation(8, previous)
    fresh = LineageStore(journal.layout.root.parent)
    _assert_same(_answers(fresh), _by_sql(fresh))
    assert journal.layout.graph_path.read_bytes() != stale


def test_batches_of_any_size_store_the_same_rows(journal, monkeypatch):
    _write(journal, range(1, 6))
    store = LineageStore(journal.layout.root.parent)
    store.rebuild()
    whole = _contents(store), _answers(store)
    monkeypatch.setattr(store_module, "_BATCH_BYTES", 3000)  # a few journal files per transaction
    assert store.rebuild().events == len(whole[0]["events"])
    assert _contents(store) == whole[0]
    _assert_same(_answers(store), whole[1])


def test_an_interrupted_sync_is_completed_by_the_next(journal, monkeypatch):
    _write(journal, range(1, 6))
    reference = LineageStore(journal.layout.root.parent)
    reference.rebuild()
    expected = _contents(reference), _answers(reference)
    for path in journal.layout.root.glob("lineage.*"):  # start again with no store
        if path.name != "lineage.duckdb.lock":
            path.unlink()

    monkeypatch.setattr(store_module, "_BATCH_BYTES", 3000)
    original = LineageStore._ingest
    calls = []

    def dies_at_the_third_batch(self, connection, batch, delta):
        calls.append(batch.bytes)
        if len(calls) == 3:
            connection.execute("BEGIN TRANSACTION")
            connection.execute(store_module.STAGE_EVENTS, {"file": str(batch.path),
                                                           "columns": store_module.EVENT_COLUMNS})
            connection.execute(store_module.INGEST[0])  # half-way through the batch's statements
            raise KeyboardInterrupt
        return original(self, connection, batch, delta)

    monkeypatch.setattr(LineageStore, "_ingest", dies_at_the_third_batch)
    store = LineageStore(journal.layout.root.parent)
    with pytest.raises(KeyboardInterrupt):
        store.sync()
    monkeypatch.setattr(LineageStore, "_ingest", original)
    partial = _contents(LineageStore(journal.layout.root.parent))
    assert 0 < len(partial["events"]) < len(expected[0]["events"])  # two batches committed, the third not at all
    assert not list(journal.layout.root.glob(".staging-*"))

    completed = LineageStore(journal.layout.root.parent)
    completed.sync()
    assert _contents(completed) == expected[0]
    _assert_same(_answers(LineageStore(journal.layout.root.parent)), expected[1])


def test_a_graph_file_the_store_has_moved_past_is_not_used(journal, monkeypatch):
    """A sync that could not write the graph (killed after its commit), or a sync by a
    version that does not keep it: the file names an older state and is built again."""
    previous = _write(journal, range(1, 3))
    store = LineageStore(journal.layout.root.parent)
    store.sync()
    stale = journal.layout.graph_path.read_bytes()
    _write(journal, range(3, 5), previous)
    monkeypatch.setattr(LineageStore, "_update_graph", lambda *args: None)
    LineageStore(journal.layout.root.parent).sync()
    monkeypatch.undo()
    assert journal.layout.graph_path.read_bytes() == stale
    fresh = LineageStore(journal.layout.root.parent)
    answers = _answers(fresh)
    _assert_same(answers, _by_sql(fresh))
    assert len(fresh.ancestors("p/model", generation=4)) > len(fresh.ancestors("p/model", generation=2))
    assert journal.layout.graph_path.read_bytes() != stale  # written again for the present state


def test_a_sync_without_new_versions_writes_the_same_graph_for_the_new_state(journal):
    """Check events alone change no version and no edge: the graph is the same, named for the new state."""
    previous = _write(journal, range(1, 3))
    store = LineageStore(journal.layout.root.parent)
    store.sync()
    old_key = _key(store)
    before = graph_table.read(journal.layout.graph_path, old_key)
    journal.check(str(generate_new_uuid()), previous, 2)
    assert store.sync().events == 2
    assert graph_table.read(journal.layout.graph_path, old_key) is None  # named for the new state
    after = graph_table.read(journal.layout.graph_path, _key(store))
    assert after is not None and _graph_contents(after) == _graph_contents(before)
    fresh = LineageStore(journal.layout.root.parent)
    _assert_same(_answers(fresh), _by_sql(fresh))


def test_a_damaged_graph_file_is_not_used(journal):
    _write(journal, range(1, 4))
    store = LineageStore(journal.layout.root.parent)
    store.sync()
    expected = _by_sql(store)
    whole = journal.layout.graph_path.read_bytes()
    journal.layout.graph_path.write_bytes(whole[: len(whole) // 2])  # cut off, as by a full disk
    assert graph_table.read(journal.layout.graph_path, _key(LineageStore(journal.layout.root.parent))) is None
    _assert_same(_answers(LineageStore(journal.layout.root.parent)), expected)
    assert journal.layout.graph_path.read_bytes() != whole[: len(whole) // 2]  # written again


_SYNCS = """
import sys
from synth_pipeline.lineage.store import LineageStore
for _ in range(int(sys.argv[2])):
    store = LineageStore(sys.argv[1])
    store.sync()
    try:
        store.ancestors("p/mix")
    except Exception as error:  # no mix yet
        assert "no dataset" in str(error) or "not" in str(error), error
"""


def test_concurrent_syncs_and_queries_leave_a_graph_that_answers_as_the_tables(journal):
    """Two processes sync and query in a loop while generations are written: whichever sync
    wrote the graph file last, it is the graph of the store's tables."""
    data = journal.layout.root.parent
    root = Path(__file__).resolve().parents[1]
    processes = [subprocess.Popen([sys.executable, "-c", _SYNCS, str(data), "15"], cwd=root,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    previous = None
    for generation in range(1, 7):
        previous = journal.generation(generation, previous)
    for process in processes:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output.decode()
    store = LineageStore(data)
    store.sync()
    loaded = graph_table.read(journal.layout.graph_path, _key(store))
    assert loaded is not None and _graph_contents(loaded) == _graph_contents(_built(store))
    _assert_same(_answers(LineageStore(data)), _by_sql(store))
