"""The lineage graph in memory: dataset versions and their edges, for reachability to any depth.

The graph is an Arrow table (:mod:`synth_pipeline.lineage.graph_table`): one row per
dataset version, with its parents. Its ``parents`` column is the child -> parents
adjacency as compressed sparse rows, walked with SciPy's breadth-first search, which runs
in C in time linear in the edges reached, however deep the graph is. A recursive SQL query
(see :mod:`synth_pipeline.lineage.queries`) gives the same answer but needs one iteration
per level, which is slow on long generation chains. A query's rows are gathered by
position from the table's columns rather than joined in SQL; text is gathered as Arrow
strings from the dictionary-encoded columns, so loading a graph makes no Python object
per version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from synth_pipeline.lineage import graph_table
from synth_pipeline.lineage.graph_table import TEXT_COLUMNS

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

NODE_COLUMNS = ("name", "version", "generation", "stage", "kind", "rows", "synthetic_fraction", "max_depth",
                "pipeline", "produced_at", "content_digest")
"""The columns of a reachability result, after ``hops`` (as in ``queries.ANCESTORS_SQL``)."""


@dataclass(frozen=True)
class LineageGraph:
    """The edges of the store as sparse matrices, and the dataset versions' columns.

    Node ids are the positions ``0 .. n-1`` the store assigns (``dataset_versions.node_id``).

    Attributes:
        table: The graph's table (:mod:`~synth_pipeline.lineage.graph_table`).
        up: child -> parents adjacency.
    """

    table: pa.Table = field(repr=False)
    up: csr_matrix
    _text: dict[str, pa.DictionaryArray] = field(repr=False)
    _numbers: dict[str, object] = field(repr=False)  # pandas arrays: numbers as DuckDB gives them, labels
    _sort_rank: np.ndarray = field(repr=False)
    _by_rank: np.ndarray = field(repr=False)
    _generation: np.ndarray = field(repr=False)  # float, NaN where absent
    _produced: np.ndarray = field(repr=False)  # int64 us, -1 where absent
    _by_name: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, connection: duckdb.DuckDBPyConnection) -> LineageGraph:
        """Build the graph from the store's ``dataset_versions`` and ``edges``."""
        return cls.from_table(graph_table.build(connection), connection)

    @classmethod
    def from_table(cls, table: pa.Table, connection: duckdb.DuckDBPyConnection) -> LineageGraph:
        """The graph of ``table``; times are shown in ``connection``'s time zone, as it shows them."""
        from scipy.sparse import csr_matrix

        count = table.num_rows
        text = {column: table.column(column).combine_chunks() for column in TEXT_COLUMNS}
        numbers: dict[str, object] = {}
        for column in _LABELS:  # few distinct values: categoricals, gathered as integer codes
            numbers[column] = pd.Categorical.from_codes(
                text[column].indices.fill_null(-1).to_numpy(),
                dtype=pd.CategoricalDtype(pd.Index(text[column].dictionary.to_pylist(), dtype=object)))
        for column in ("generation", "rows", "synthetic_fraction", "max_depth"):
            values = table.column(column).combine_chunks()
            if pa.types.is_floating(values.type):
                numbers[column] = values.to_numpy(zero_copy_only=False)  # NaN where missing
            elif values.null_count:  # nullable integers where a value is missing, as DuckDB gives them
                numbers[column] = pd.arrays.IntegerArray(values.fill_null(0).to_numpy(),
                                                         ~values.is_valid().to_numpy(zero_copy_only=False))
            else:
                numbers[column] = values.to_numpy()
        produced = table.column("produced_at").combine_chunks()
        numbers["produced_at"] = _times(produced, connection)
        generation = table.column("generation").combine_chunks()
        micros = produced.cast(pa.int64())
        sort_rank = table.column("sort_rank").combine_chunks().to_numpy()
        by_rank = np.empty(count, dtype=np.int64)
        by_rank[sort_rank] = np.arange(count)
        parents = table.column("parents").combine_chunks()
        # float64 weights and int32 indices are what SciPy's graph routines use: anything
        # else is converted, a copy of every edge, on each search.
        up = csr_matrix((np.ones(len(parents.values), dtype=np.float64), parents.values.to_numpy(),
                         parents.offsets.to_numpy()), shape=(count, count))
        return cls(table, up, text, numbers, sort_rank, by_rank,
                   generation.cast(pa.float64()).fill_null(np.nan).to_numpy(), micros.fill_null(-1).to_numpy())

    @cached_property
    def down(self) -> csr_matrix:
        """parent -> children adjacency."""
        return self.up.transpose().tocsr()

    def _of_name(self, name: str) -> np.ndarray:
        """The node ids of dataset ``name`` (empty if there is none)."""
        candidates = self._by_name.get(name)
        if candidates is None:
            names = self._text["name"]
            code = pc.index(names.dictionary, name).as_py()
            candidates = (np.zeros(0, dtype=np.int64) if code < 0 else
                          np.flatnonzero(names.indices.fill_null(-1).to_numpy() == code))
            self._by_name[name] = candidates
        return candidates

    def _of_version(self, candidates: np.ndarray, version: str) -> np.ndarray:
        """Those of ``candidates`` at ``version``."""
        same = pc.equal(self._take_text("version", candidates), version)
        return candidates[same.fill_null(False).to_numpy(zero_copy_only=False)]

    def _text_of(self, column: str, node_ids: np.ndarray) -> list[str | None]:
        return self._take_text(column, node_ids).to_pylist()

    def _take_text(self, column: str, node_ids: np.ndarray) -> pa.Array:
        values = self._text[column]
        return pc.take(values.dictionary, pc.take(values.indices, pa.array(node_ids, type=pa.int64())))

    def find(self, name: str, *, version: str | None = None, generation: int | None = None) -> int | None:
        """The node of ``name`` at ``version``, or the latest of ``generation``, or the latest; None if absent.

        "Latest" is the last produced (versions never produced by a recorded run come last).
        """
        candidates = self._of_name(name)
        if version is not None:
            candidates = self._of_version(candidates, version)
        if generation is not None:
            candidates = candidates[self._generation[candidates] == generation]
        if candidates.size == 0:
            return None
        produced = self._produced[candidates]
        return int(candidates[produced == produced.max()].max())

    def names(self) -> list[str]:
        """The dataset names of produced versions, sorted."""
        produced = np.flatnonzero(self._text["stage"].is_valid().to_numpy(zero_copy_only=False))
        return sorted({name for name in self._text_of("name", produced) if name is not None})

    def versions_of(self, name: str) -> list[str]:
        """The versions of dataset ``name``, oldest first (empty if there is no such dataset)."""
        candidates = self._of_name(name)
        return self._text_of("version", candidates[np.argsort(self._produced[candidates], kind="stable")])

    def generations_of(self, name: str, *, version: str | None = None) -> list[int]:
        """The generations of dataset ``name`` (of its version ``version`` if given), ascending."""
        candidates = self._of_name(name)
        if version is not None:
            candidates = self._of_version(candidates, version)
        generations = self._generation[candidates]
        return sorted({int(generation) for generation in generations if not np.isnan(generation)})

    def reach(self, starts: np.ndarray, *, upstream: bool) -> tuple[np.ndarray, np.ndarray]:
        """Every node reachable from ``starts`` (which are included, at 0 hops).

        Args:
            starts: Node ids to start from.
            upstream: Follow edges to parents (ancestors) rather than to children (descendants).

        Returns:
            ``(node_ids, hops)`` in breadth-first order: each reachable node and its fewest
            hops from a start.
        """
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import breadth_first_order

        graph = self.up if upstream else self.down
        starts = np.unique(np.asarray(starts, dtype=np.int32))
        if starts.size == 0:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
        if starts.size == 1:
            order, predecessors = breadth_first_order(graph, int(starts[0]), directed=True,
                                                      return_predecessors=True)
            return order.astype(np.int32, copy=False), _hops(order, predecessors)
        # A virtual root (node id ``n``) with an edge to each start turns a multi-source
        # search into one single-source search.
        root = graph.shape[0]
        extended = csr_matrix(
            (np.ones(graph.indices.size + starts.size, dtype=np.int8),
             np.concatenate([graph.indices, starts]),
             np.append(graph.indptr, graph.indptr[-1] + starts.size).astype(np.int64)),
            shape=(root + 1, root + 1),
        )
        order, predecessors = breadth_first_order(extended, root, directed=True, return_predecessors=True)
        return order[1:].astype(np.int32), _hops(order, predecessors)[1:] - 1

    def frame(self, node_ids: np.ndarray, hops: np.ndarray) -> pd.DataFrame:
        """The dataset versions ``node_ids`` with their ``hops``, ordered by hops, name, generation, version.

        Names, stages, kinds and pipelines are categoricals (as before the graph was kept on
        disk); versions and content digests, one per version, Arrow-backed strings (pandas'
        ``str`` type: missing is NaN), whose distinct values loading a graph never turns into
        Python objects; numbers as DuckDB gives them.
        """
        picked, hops = self._ordered(node_ids, hops)
        columns: dict[str, object] = {"hops": hops}
        for column in NODE_COLUMNS:
            if column in _LABELS:
                values = self._numbers[column]
                columns[column] = pd.Categorical.from_codes(values.codes.take(picked), dtype=values.dtype,
                                                            validate=False)
            elif column in self._text:
                columns[column] = pd.array(self._take_text(column, picked), dtype=_TEXT_DTYPE)
            else:
                columns[column] = self._numbers[column].take(picked)
        return pd.DataFrame(columns, copy=False)

    def _ordered(self, node_ids: np.ndarray, hops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``node_ids`` and ``hops`` ordered by hops, then name, generation and version."""
        # Each node's rank in (name, generation, version) order is precomputed, so ordering
        # by rank is marking the ranks present and reading them back in order; a stable
        # sort on hops (a radix sort for 16-bit keys) then keeps that order within each hop.
        count = self._sort_rank.size
        present = np.zeros(count, dtype=bool)
        present[self._sort_rank[node_ids]] = True
        by_rank = self._by_rank[np.flatnonzero(present)]
        hop_of = np.empty(count, dtype=np.int32)
        hop_of[node_ids] = hops
        hops_by_rank = hop_of[by_rank]
        keys = hops_by_rank.astype(np.int16) if hops_by_rank.size and hops_by_rank.max() < 2**15 else hops_by_rank
        order = np.argsort(keys, kind="stable")
        return by_rank[order], hops_by_rank[order]


_TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)
_LABELS = ("name", "stage", "kind", "pipeline")


def _times(micros: pa.Array, connection: duckdb.DuckDBPyConnection) -> pd.arrays.DatetimeArray:
    """Times as ``connection`` gives them: time-zone-aware, in its time zone."""
    zone = connection.execute("SELECT TIMESTAMPTZ '2000-01-01 00:00:00+00'").df().dtypes.iloc[0].tz
    return pd.Series(micros.to_numpy(zero_copy_only=False)).dt.tz_localize("UTC").dt.tz_convert(zone).array


def _hops(order: np.ndarray, predecessors: np.ndarray) -> np.ndarray:
    """Hops from the root of each node in a breadth-first ``order``.

    In breadth-first order each level is a consecutive run, and the positions of the
    nodes' predecessors never decrease, so level k + 1 starts at the first node whose
    predecessor lies at or after the start of level k: the number of nodes whose
    predecessor lies before it. Those counts come from one cumulative sum, which leaves
    one array lookup per level.
    """
    size = order.size
    position = np.empty(predecessors.size, dtype=np.int32)
    position[order] = np.arange(size, dtype=np.int32)
    parent = predecessors[order]
    parent[0] = order[0]  # the root has none
    parent_position = position[parent]
    parent_position[0] = -1
    # before[j] = how many nodes have their predecessor at a position below j.
    before = np.cumsum(np.bincount(parent_position + 1, minlength=size + 1))
    starts = [0]
    start = before.dtype.type(0)
    while start < size:
        start = before[start]
        starts.append(start)
    return np.repeat(np.arange(len(starts) - 1, dtype=np.int32), np.diff(starts))
