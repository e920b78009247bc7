"""The lineage graph as one Arrow table: built from the store, extended by each sync, kept on disk.

One row per dataset version, in node id order (``dataset_versions.node_id`` is ``0 .. n-1``):
the columns a reachability result shows (text columns dictionary-encoded), ``parents``
(each version's parent node ids: the list column's offsets and values are the
child -> parents adjacency as compressed sparse rows) and ``sort_rank`` (the version's
position in ``name, generation NULLS LAST, version`` order, the order of a result).

On disk it is an Arrow IPC file, ``<data dir>/lineage/lineage.graph``: a new process maps
it, without copying or parsing, instead of building the graph from the tables (seconds for
500,000 versions). Why Arrow: a standard, versioned format that pyarrow writes, checks and
memory-maps, so the project keeps no file format of its own. The file's schema metadata
names the store (its ``store_id``) and the number of ingests the graph reflects; the
store checks both before using it, so a file a killed sync left behind, or one of another
store, is never used (:meth:`synth_pipeline.lineage.store.LineageStore.graph`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TEXT_COLUMNS = ("name", "version", "stage", "kind", "pipeline", "content_digest")
"""Columns held dictionary-encoded: each node's value is a code into the column's distinct values."""

_SELECT = """
SELECT node_id, name, version, generation, stage, kind, "rows", synthetic_fraction, max_depth, pipeline,
       produced_at, content_digest
FROM dataset_versions WHERE node_id >= $first OR node_id IN (SELECT unnest($changed::BIGINT[])) ORDER BY node_id
"""
_KEY = b"synth_pipeline.store"


def build(connection: duckdb.DuckDBPyConnection) -> pa.Table:
    """The graph of every version and edge in the store."""
    edges = connection.execute("SELECT parent_id, child_id FROM edges").fetchnumpy()
    return extend(None, connection, parents=edges["parent_id"], children=edges["child_id"])


def extend(table: pa.Table | None, connection: duckdb.DuckDBPyConnection, *, parents: np.ndarray,
           children: np.ndarray) -> pa.Table:
    """``table`` (None: empty) with what the store added since: versions and the edges given.

    The store only appends versions (node ids from ``len(table)`` on) and edges, and only
    ever changes a version never produced before (one seen as an input, given its
    provenance by a later event of its producer). So the new versions are read, and those
    the graph holds without a stage are read again.

    Args:
        table: The graph before: node ids ``0 .. len(table) - 1``.
        connection: The store, after the change.
        parents: With ``children``, the edges added since: ``parents[i] -> children[i]``.
        children: See ``parents``.

    Returns:
        The graph of the store.

    Raises:
        ValueError: The result does not have the store's number of versions or of edges
            (the caller builds the graph from the tables instead).
    """
    known = 0 if table is None else table.num_rows
    changed = (np.zeros(0, dtype=np.int64) if table is None
               else np.flatnonzero(~table.column("stage").is_valid().to_numpy(zero_copy_only=False)))
    rows = connection.sql(_SELECT, params={"first": known, "changed": changed.tolist()}).to_arrow_table()
    ids = rows.column("node_id").to_numpy()
    count = known + int((ids >= known).sum())
    if not np.array_equal(ids[ids >= known], np.arange(known, count)) or not np.isin(changed, ids).all():
        raise ValueError("the store's node ids are not 0 .. n-1")
    rows = rows.drop_columns(["node_id"])
    # Times in UTC, whatever the reading connection's time zone: every sync's rows then have one type.
    rows = rows.set_column(rows.schema.get_field_index("produced_at"), "produced_at",
                           rows.column("produced_at").cast(pa.timestamp("us", tz="UTC")))
    for column in TEXT_COLUMNS:
        rows = rows.set_column(rows.schema.get_field_index(column), column,
                               pc.dictionary_encode(rows.column(column).cast(pa.string())))
    # Node k is row k of the old table, or (new or changed) its row among those read; the
    # old dictionaries come first in the unified ones, so their codes stay as they were.
    where = np.arange(count, dtype=np.int64)
    where[ids] = known + np.arange(ids.size)
    nodes = rows if table is None else pa.concat_tables(
        [table.drop_columns(["parents", "sort_rank"]), rows]).unify_dictionaries()
    nodes = nodes.combine_chunks().take(pa.array(where))
    if table is None:
        indptr, indices = np.zeros(1, dtype=np.int32), np.zeros(0, dtype=np.int32)
    else:
        adjacency = table.column("parents").combine_chunks()
        indptr, indices = adjacency.offsets.to_numpy(), adjacency.values.to_numpy()
    indptr, indices = _add_rows(indptr, indices, count, np.asarray(children, dtype=np.int64),
                                np.asarray(parents, dtype=np.int32))
    nodes = nodes.append_column("parents", pa.ListArray.from_arrays(pa.array(indptr), pa.array(indices)))
    stored = connection.execute(
        "SELECT (SELECT count(*) FROM dataset_versions), (SELECT count(*) FROM edges)").fetchall()[0]
    if stored != (count, indices.size):
        raise ValueError(f"the graph has {count} versions and {indices.size} edges, the store {stored}")
    return nodes.append_column("sort_rank", pa.array(_sort_ranks(nodes)))


def write(table: pa.Table, path: Path, key: dict[str, str | None]) -> None:
    """Write ``table`` to ``path`` as the graph of the store state ``key`` (complete or not at all)."""
    table = table.replace_schema_metadata({_KEY: json.dumps(key)})
    temporary = path.with_name(f".staging-{os.getpid()}.{path.name}")
    try:
        with pa.OSFile(str(temporary), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read(path: Path, key: dict[str, str | None]) -> pa.Table | None:
    """The graph in ``path`` if it is a complete graph file of the store state ``key``; else None.

    The table's buffers are the mapped file's pages (a later sync replaces the file by
    renaming, so the mapping stays valid).
    """
    try:
        table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
    except (FileNotFoundError, pa.ArrowInvalid):
        return None
    if (table.schema.metadata or {}).get(_KEY) != json.dumps(key).encode():
        return None
    return table


def _add_rows(indptr: np.ndarray, indices: np.ndarray, count: int, rows: np.ndarray,
              columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compressed sparse rows grown to ``count`` rows, with the entries ``(rows[i], columns[i])`` added."""
    old_rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    all_rows = np.concatenate([old_rows, rows])
    order = np.argsort(all_rows, kind="stable")
    grown = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(np.bincount(all_rows, minlength=count), out=grown[1:])
    return grown, np.concatenate([indices, columns]).astype(np.int32, copy=False)[order]


def _sort_ranks(nodes: pa.Table) -> np.ndarray:
    """Each node's position in ``ORDER BY name, generation NULLS LAST, version`` (as DuckDB orders text: by bytes)."""

    def text_key(column: str) -> np.ndarray:
        values = nodes.column(column).combine_chunks()
        ranks = pc.rank(values.dictionary, sort_keys="ascending", tiebreaker="dense").to_numpy()
        return np.append(ranks, ranks.size + 1)[values.indices.fill_null(-1).to_numpy()]  # missing last

    generation = nodes.column("generation").combine_chunks()
    generation_key = generation.fill_null(np.iinfo(np.int32).max).to_numpy().astype(np.int64)
    generation_key[~generation.is_valid().to_numpy(zero_copy_only=False)] = np.iinfo(np.int64).max
    order = np.lexsort((text_key("version"), generation_key, text_key("name")))
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank
