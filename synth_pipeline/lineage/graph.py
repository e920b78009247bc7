"""Reachability over the lineage graph (dataset versions and their edges), to any depth.

The store's ``edges`` table is loaded once into compressed sparse rows and walked with
SciPy's breadth-first search, which runs in C in time linear in the edges reached,
however deep the graph is. A recursive SQL query (see :mod:`synth_pipeline.lineage.queries`)
gives the same answer but needs one iteration per level, which is slow on long
generation chains.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np


@dataclass(frozen=True)
class LineageGraph:
    """The edges of the store as sparse rows, in both directions.

    Attributes:
        nodes: Number of node ids (``max(node_id) + 1``).
        up_indptr, up_indices: child -> parents.
        down_indptr, down_indices: parent -> children.
    """

    nodes: int
    up_indptr: np.ndarray
    up_indices: np.ndarray
    down_indptr: np.ndarray
    down_indices: np.ndarray

    @classmethod
    def load(cls, connection: duckdb.DuckDBPyConnection) -> LineageGraph:
        """Read the ``edges`` table."""
        nodes = int(connection.execute("SELECT coalesce(max(node_id), -1) + 1 FROM dataset_versions").fetchall()[0][0])
        edges = connection.execute("SELECT parent_id, child_id FROM edges").fetchnumpy()
        parents = np.asarray(edges["parent_id"], dtype=np.int32)
        children = np.asarray(edges["child_id"], dtype=np.int32)
        up_indptr, up_indices = _csr(children, parents, nodes)
        down_indptr, down_indices = _csr(parents, children, nodes)
        return cls(nodes, up_indptr, up_indices, down_indptr, down_indices)

    def reach(self, starts: np.ndarray, *, upstream: bool) -> tuple[np.ndarray, np.ndarray]:
        """Every node reachable from ``starts`` (which are included, at 0 hops).

        Args:
            starts: Node ids to start from.
            upstream: Follow edges to parents (ancestors) rather than to children (descendants).

        Returns:
            ``(node_ids, hops)``: each reachable node and its fewest hops from a start.
        """
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import breadth_first_order

        indptr, indices = (self.up_indptr, self.up_indices) if upstream else (self.down_indptr, self.down_indices)
        starts = np.unique(np.asarray(starts, dtype=np.int32))
        if starts.size == 0:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
        # A virtual root (node id ``nodes``) with an edge to each start turns a
        # multi-source search into one single-source search.
        root = self.nodes
        extended_indptr = np.append(indptr, indptr[-1] + starts.size).astype(np.int64)
        extended_indices = np.concatenate([indices, starts])
        graph = csr_matrix(
            (np.ones(extended_indices.size, dtype=np.int8), extended_indices, extended_indptr),
            shape=(root + 1, root + 1),
        )
        order, predecessors = breadth_first_order(graph, root, directed=True, return_predecessors=True)
        hops = _depths(order, predecessors) - 1
        return order[1:].astype(np.int32), hops[1:].astype(np.int32)


def _csr(sources: np.ndarray, targets: np.ndarray, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(sources, kind="stable")
    counts = np.bincount(sources, minlength=nodes)
    indptr = np.zeros(nodes + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, targets[order].astype(np.int32)


def _depths(order: np.ndarray, predecessors: np.ndarray) -> np.ndarray:
    """Hops from the root of each node in a BFS ``order``, by pointer jumping (log-depth passes)."""
    position = np.full(predecessors.size, -1, dtype=np.int64)
    position[order] = np.arange(order.size)
    ancestor = position[np.where(predecessors[order] < 0, order[0], predecessors[order])]
    distance = np.ones(order.size, dtype=np.int64)
    distance[0] = 0
    while np.any(ancestor != 0):
        distance = distance + distance[ancestor]
        ancestor = ancestor[ancestor]
    return distance
