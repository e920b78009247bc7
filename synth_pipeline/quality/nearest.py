"""Exact nearest-neighbour distances, searched by faiss.

Distance-to-closest-record metrics need, for every query row, the exact distance to its
nearest (and second-nearest) reference row, over every reference row. The search is
faiss's exact brute-force search (``faiss.knn``, the computation of ``IndexFlatL2``,
from ``faiss-cpu``); this module only prepares the rows and composes the second nearest:

- both sides are centred on the reference mean and cast to float32, which faiss
  searches by matrix products (``|q|^2 - 2 q.r + |r|^2``): centring keeps the float32
  cancellation small, so the row found nearest is the nearest up to about 1e-7 of the
  rows' squared norms. The distances to the rows found are then recomputed in float64
  from the rows themselves: an exact copy is at distance 0, not near 1e-3 (unless
  another row lies within that rounding of it);
- faiss's one-nearest search has a fused kernel (about 4.5 s of CPU for 100,000 x
  100,000 rows of 16 columns), its k-nearest search a generic one about ten times slower
  (``benchmarks/nearest_neighbours.py``). So the two nearest are composed from
  one-nearest searches: the reference is cut into ``BLOCKS`` blocks; a query's nearest
  row is in the block with the smallest nearest distance, and its second nearest is the
  nearest of another block or the second nearest within that block, found the same way
  on the block (by faiss's k-nearest search once a block has at most ``LEAF_ROWS``
  rows). Every reference row is still compared with every query row, so the result is
  exact, ties and duplicates included (a row held twice is both nearest and second
  nearest), at about 1.2 times the cost of the nearest alone.

Approximate indexes (faiss HNSW, IVF) kept the DCR verdicts in that benchmark but were no
faster at 100,000 rows and return other distances (missed neighbours), so the search stays
exact. faiss is imported on the first search, not when definitions load. It runs ``workers``
OpenMP threads (default: one per available core), and one for small searches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth_pipeline.cores import available_cores

BLOCKS = 8
LEAF_ROWS = 1024
SINGLE_THREAD_PAIRS = 2**22  # query x reference rows under which a search runs on one thread
_REFINE_ROWS = 65_536


def _faiss() -> Any:
    """The faiss module, set to search every batch of queries by matrix products.

    faiss searches a batch under 128,000 values (8,000 rows of 16 columns) one query at a
    time: about ten times slower against a large reference (5,000 x 100,000 rows: 1.7 s
    against 0.2 s of CPU measured). The setting is process-wide; this module is faiss's
    only user.
    """
    import faiss

    faiss.cvar.distance_compute_blas_threshold = 0
    return faiss


def _search(queries: np.ndarray, reference: np.ndarray, neighbours: int,
            threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Squared distances (inf where there are fewer rows) and rows of the ``neighbours`` nearest.

    Small searches run on one thread: on busy cores, waiting for a descheduled sibling
    thread costs more than they do (OpenMP's thread count is set per calling thread).
    """
    faiss = _faiss()
    faiss.omp_set_num_threads(threads if len(queries) * len(reference) >= SINGLE_THREAD_PAIRS else 1)
    squared, rows = faiss.knn(queries, reference, neighbours)
    squared[rows < 0] = np.inf
    return squared, rows


def _two_nearest(queries: np.ndarray, reference: np.ndarray, threads: int) -> np.ndarray:
    """``(n, 2)`` reference rows nearest and second nearest to each query, -1 for none (see the module docs)."""
    if len(queries) == 0 or len(reference) <= LEAF_ROWS:
        return _search(queries, reference, 2, threads)[1]
    starts = [rows[0] for rows in np.array_split(np.arange(len(reference)), BLOCKS)]
    blocks = [reference[start:end] for start, end in zip(starts, starts[1:] + [len(reference)], strict=True)]
    searches = [_search(queries, block, 1, threads) for block in blocks]
    squared = np.column_stack([found[:, 0] for found, _ in searches])
    rows = np.column_stack([found_rows[:, 0] + start for (_, found_rows), start in zip(searches, starts, strict=True)])
    own = squared.argmin(axis=1)
    everyone = np.arange(len(queries))
    squared[everyone, own] = np.inf
    other = squared.argmin(axis=1)  # the nearest outside the block holding the nearest
    other_squared, other_row = squared[everyone, other], rows[everyone, other]
    result = np.empty((len(queries), 2), np.int64)
    for index, (start, block) in enumerate(zip(starts, blocks, strict=True)):
        members = np.flatnonzero(own == index)
        if len(members):
            within = _two_nearest(queries[members], block, threads)
            within_squared = np.sum((queries[members] - block[np.maximum(within[:, 1], 0)]) ** 2, axis=1)
            within_squared[within[:, 1] < 0] = np.inf
            result[members, 0] = within[:, 0] + start
            beaten = other_squared[members] < within_squared
            result[members, 1] = np.where(beaten, other_row[members], within[:, 1] + start)
    return result


def _distances(queries: np.ndarray, reference: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Float64 distances from each query to the given reference rows (-1: none, inf), ascending."""
    result = np.full(rows.shape, np.inf)
    for start in range(0, len(queries), _REFINE_ROWS):
        block = queries[start:start + _REFINE_ROWS]
        for column in range(rows.shape[1]):
            found = rows[start:start + _REFINE_ROWS, column]
            differences = block - reference[np.maximum(found, 0)]
            result[start:start + len(block), column] = np.where(
                found >= 0, np.sqrt(np.einsum("ij,ij->i", differences, differences)), np.inf)
    return np.sort(result, axis=1)


def nearest_distances(
    queries: np.ndarray,
    reference: np.ndarray,
    *,
    neighbours: int = 1,
    workers: int | None = None,
) -> np.ndarray:
    """Euclidean distance from each query row to its nearest reference rows (exact).

    Args:
        queries: ``(n, d)`` array.
        reference: ``(m, d)`` array; every row is searched.
        neighbours: 1 (nearest) or 2 (nearest and second nearest).
        workers: Threads to use (default: one per available core).

    Returns:
        ``(n, neighbours)`` float64 array, ascending along each row; ``inf`` where the
        reference has fewer rows than ``neighbours``.
    """
    if neighbours not in (1, 2):
        raise ValueError(f"neighbours must be 1 or 2, got {neighbours}")
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float64))
    reference = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    if queries.shape[1] != reference.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} columns, reference has {reference.shape[1]}")
    if len(queries) == 0 or len(reference) == 0 or queries.shape[1] == 0:  # no search: every row at 0, or none
        result = np.full((len(queries), neighbours), np.inf)
        result[:, :len(reference) if queries.shape[1] == 0 else 0] = 0.0
        return result
    centre = reference.mean(axis=0)
    query32 = np.ascontiguousarray(queries - centre, dtype=np.float32)
    reference32 = np.ascontiguousarray(reference - centre, dtype=np.float32)
    threads = workers or available_cores()
    if neighbours == 1:
        rows = _search(query32, reference32, 1, threads)[1]
    else:
        rows = _two_nearest(query32, reference32, threads)
    return _distances(queries, reference, rows)
