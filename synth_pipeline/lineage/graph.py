"""The lineage graph in memory: dataset versions and their edges, for reachability to any depth.

The store's ``edges`` table is loaded once into compressed sparse rows and walked with
SciPy's breadth-first search, which runs in C in time linear in the edges reached,
however deep the graph is. A recursive SQL query (see :mod:`synth_pipeline.lineage.queries`)
gives the same answer but needs one iteration per level, which is slow on long
generation chains. The dataset versions' columns are held as arrays, so a query's rows
are gathered by position rather than joined in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

NODE_COLUMNS = ("name", "version", "generation", "stage", "kind", "rows", "synthetic_fraction", "max_depth",
                "pipeline", "produced_at", "content_digest")
"""The columns of a reachability result, after ``hops`` (as in ``queries.ANCESTORS_SQL``)."""

_CATEGORICAL = ("name", "version", "stage", "kind", "pipeline", "content_digest")
# Text columns are categorical: a query's rows are then gathered as integer codes, which
# is several times faster than gathering Python strings on results of 100,000s of rows.

_LOAD_NODES = f"""
-- Results are ordered by hops, then name, generation and version: each node's rank by the
-- last three lets a result sort on two integers.
SELECT {", ".join(f'"{column}"' for column in NODE_COLUMNS)},
       row_number() OVER (ORDER BY name, generation NULLS LAST, version) - 1 AS sort_rank
FROM dataset_versions ORDER BY node_id
"""


@dataclass(frozen=True)
class LineageGraph:
    """The edges of the store as sparse matrices in both directions, and the node table.

    Node ids are the positions ``0 .. n-1`` the store assigns (``dataset_versions.node_id``).

    Attributes:
        nodes: The dataset versions, one row per node id.
        up: child -> parents adjacency.
        down: parent -> children adjacency.
    """

    nodes: pd.DataFrame
    up: csr_matrix
    down: csr_matrix
    _sort_rank: np.ndarray = field(repr=False)
    _by_rank: np.ndarray = field(repr=False)
    _by_name: dict[str, np.ndarray] = field(repr=False)
    _generation: np.ndarray = field(repr=False)  # float, NaN where absent
    _produced: np.ndarray = field(repr=False)  # int64 ns, -1 where absent

    @classmethod
    def load(cls, connection: duckdb.DuckDBPyConnection) -> LineageGraph:
        """Read ``dataset_versions`` and ``edges``."""
        nodes = connection.execute(_LOAD_NODES).df()
        for column in _CATEGORICAL:
            nodes[column] = nodes[column].astype("category")
        count = len(nodes)
        edges = connection.execute("SELECT parent_id, child_id FROM edges").fetchnumpy()
        parents = np.asarray(edges["parent_id"], dtype=np.int32)
        children = np.asarray(edges["child_id"], dtype=np.int32)
        rank = nodes.pop("sort_rank").to_numpy(dtype=np.int64)
        generation = nodes["generation"].to_numpy(dtype=np.float64, na_value=np.nan)
        produced = nodes["produced_at"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        produced[nodes["produced_at"].isna().to_numpy()] = -1
        by_name = {str(name): np.asarray(ids)
                   for name, ids in nodes.groupby("name", sort=False, observed=True).indices.items()}
        by_rank = np.empty(count, dtype=np.int64)
        by_rank[rank] = np.arange(count)
        return cls(nodes, _adjacency(children, parents, count), _adjacency(parents, children, count), rank, by_rank,
                   by_name, generation, produced)

    def find(self, name: str, *, version: str | None = None, generation: int | None = None) -> int | None:
        """The node of ``name`` at ``version``, or the latest of ``generation``, or the latest; None if absent.

        "Latest" is the last produced (versions never produced by a recorded run come last).
        """
        candidates = self._by_name.get(name)
        if candidates is None:
            return None
        if version is not None:
            versions = self.nodes["version"].array
            if version not in versions.categories:
                return None
            candidates = candidates[versions.codes[candidates] == versions.categories.get_loc(version)]
        if generation is not None:
            candidates = candidates[self._generation[candidates] == generation]
        if candidates.size == 0:
            return None
        produced = self._produced[candidates]
        return int(candidates[produced == produced.max()].max())

    def names(self) -> list[str]:
        """The dataset names of produced versions, sorted."""
        return sorted(str(name) for name in self.nodes.loc[self.nodes["stage"].notna(), "name"].unique())

    def versions_of(self, name: str) -> list[str]:
        """The versions of dataset ``name``, oldest first (empty if there is no such dataset)."""
        candidates = self._by_name.get(name, np.zeros(0, dtype=np.int64))
        candidates = candidates[np.argsort(self._produced[candidates], kind="stable")]
        return [str(version) for version in self.nodes["version"].array.take(candidates)]

    def generations_of(self, name: str, *, version: str | None = None) -> list[int]:
        """The generations of dataset ``name`` (of its version ``version`` if given), ascending."""
        candidates = self._by_name.get(name, np.zeros(0, dtype=np.int64))
        if version is not None:
            candidates = [node for node in candidates if self.nodes["version"].array[node] == version]
        generations = self._generation[np.asarray(candidates, dtype=np.int64)]
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
        """The dataset versions ``node_ids`` with their ``hops``, ordered by hops, name, generation, version."""
        picked, hops = self._ordered(node_ids, hops)
        columns = {"hops": hops}
        for column in NODE_COLUMNS:
            values = self.nodes[column].array
            if isinstance(values, pd.Categorical):
                columns[column] = pd.Categorical.from_codes(values.codes.take(picked), dtype=values.dtype,
                                                            validate=False)
            else:
                columns[column] = values.take(picked)
        return pd.DataFrame(columns, copy=False)


    def _ordered(self, node_ids: np.ndarray, hops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``node_ids`` and ``hops`` ordered by hops, then name, generation and version."""
        # Each node's rank in (name, generation, version) order is precomputed, so ordering
        # by rank is marking the ranks present and reading them back in order; a stable
        # sort on hops (a radix sort for 16-bit keys) then keeps that order within each hop.
        present = np.zeros(len(self.nodes), dtype=bool)
        present[self._sort_rank[node_ids]] = True
        by_rank = self._by_rank[np.flatnonzero(present)]
        hop_of = np.empty(len(self.nodes), dtype=np.int32)
        hop_of[node_ids] = hops
        hops_by_rank = hop_of[by_rank]
        keys = hops_by_rank.astype(np.int16) if hops_by_rank.size and hops_by_rank.max() < 2**15 else hops_by_rank
        order = np.argsort(keys, kind="stable")
        return by_rank[order], hops_by_rank[order]


def _adjacency(sources: np.ndarray, targets: np.ndarray, count: int) -> csr_matrix:
    from scipy.sparse import csr_matrix

    order = np.argsort(sources, kind="stable")
    indptr = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(np.bincount(sources, minlength=count), out=indptr[1:])
    indices = targets[order].astype(np.int32)
    # float64 weights and int32 indices are what SciPy's graph routines use: anything
    # else is converted, a copy of every edge, on each search.
    return csr_matrix((np.ones(indices.size, dtype=np.float64), indices, indptr), shape=(count, count))


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
