"""Nearest-neighbour search for the privacy checks: own kernel, faiss exact and approximate, in one run.

1. ``--rows`` (default 100,000) synthetic rows against as many training rows and as many
   holdout rows, ``--columns`` (default 16) columns of a correlated Gaussian (seeded, as
   in privacy_speed.py). Every method searches the two nearest training rows and the two
   nearest holdout rows of every synthetic row, as the DCR share and the NNDR need, in
   three cases: ``clean`` (synthetic rows drawn fresh from the same distribution),
   ``leak`` (every synthetic row a training row plus noise of scale 0.01) and
   ``partial`` (``--partial`` of them leaked, default 12 %: a DCR share just over the
   limit, where a search that misses neighbours could flip the verdict). Methods:

   - ``own GEMM``: the blocked float32 matrix-product search synth-pipeline had until
     faiss replaced it (below, unchanged), one thread per core;
   - ``faiss flat k=1``: ``IndexFlatL2``, nearest row only (the DCR share needs no
     more, the NNDR does): the anchor;
   - ``faiss flat k=2``: ``IndexFlatL2``'s own two-nearest search, timed on the first
     search only (``--flat-k2-searches``): its generic kernel is about ten times slower;
   - ``synth-pipeline``: :func:`synth_pipeline.quality.nearest.nearest_distances`, faiss
     flat with the two nearest composed from one-nearest searches (the exact reference);
   - ``faiss HNSW``: ``IndexHNSWFlat`` (approximate), M 32, efConstruction 40, efSearch 64;
   - ``faiss IVF``: ``IndexIVFFlat`` (approximate), 4 sqrt(n) lists rounded down to a
     power of two, nprobe 16.

   Each method runs in a process of its own: peak MiB is the peak resident size while it
   builds and searches, over the resident size once the data are made. Build: making the
   approximate index, once per reference (training, holdout), not counted in search.
   Search: the median wall and CPU time of its searches (all cases and references).
   ``max |d - exact|``: the largest difference from the exact distances, both nearest.
   Verdicts: per case, the DCR share's 95 % lower bound and its verdict against the
   policy default ``max_dcr_share``, by :func:`~synth_pipeline.quality.privacy.
   distance_to_closest_record` on each method's distances; the NNDR to training is
   informative (no policy limit) and shown for comparison.
2. ``--large-rows`` (default 1,000,000; 0 skips) rows each side: the whole DCR of a
   generation of that size with ``--large-method`` (default ``faiss IVF``), next to
   the exact search of a sample of ``--sample-rows`` synthetic rows (default 20,000)
   against every real row, and the precision of the share's bound at that sample size.

Run: ``python benchmarks/nearest_neighbours.py``. Data are generated (seeded); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

CASES = ("clean", "leak", "partial")
REFERENCES = ("training", "holdout")
EXACT = "synth-pipeline"
METHODS = ("own GEMM", "faiss flat k=1", "faiss flat k=2", EXACT, "faiss HNSW", "faiss IVF")
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 40, 64
IVF_NPROBE = 16


def correlated(rows: int, columns: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of a correlated Gaussian (a fixed random covariance), as in privacy_speed.py."""
    mixing = np.random.default_rng(1).normal(size=(columns, columns)) / np.sqrt(columns)
    return rng.normal(size=(rows, columns)) @ mixing


def make_data(rows: int, columns: int, partial: float) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Real rows (training, holdout) and the synthetic rows of each case, float32."""
    rng = np.random.default_rng(0)
    training, holdout, fresh = (correlated(rows, columns, rng).astype(np.float32) for _ in range(3))
    leaked = (training + rng.normal(scale=0.01, size=training.shape)).astype(np.float32)
    mixed = fresh.copy()
    mixed[:round(partial * rows)] = leaked[:round(partial * rows)]
    return {"training": training, "holdout": holdout}, {"clean": fresh, "leak": leaked, "partial": mixed}


# The search synth-pipeline had (synth_pipeline/quality/nearest.py until faiss replaced it), unchanged.
QUERY_BLOCK_ROWS = 512
REFERENCE_CHUNK_ROWS = 1024


def own_gemm(queries: np.ndarray, reference: np.ndarray, *, neighbours: int = 1, workers: int | None = None):
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float64))
    reference = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    result = np.full((len(queries), neighbours), np.inf)
    if len(queries) == 0 or len(reference) == 0:
        return result
    centre = reference.mean(axis=0)
    query32 = (queries - centre).astype(np.float32)
    reference32 = (reference - centre).astype(np.float32)
    folded = np.hstack([-2 * reference32, np.einsum("ij,ij->i", reference32, reference32)[:, None]]).T
    chunks = [np.ascontiguousarray(folded[:, s:s + REFERENCE_CHUNK_ROWS])
              for s in range(0, folded.shape[1], REFERENCE_CHUNK_ROWS)]
    augmented = np.hstack([query32, np.ones((len(query32), 1), np.float32)])
    query_norms = np.einsum("ij,ij->i", query32, query32)
    partial = np.empty((len(queries), neighbours), np.float32)

    def search(start: int) -> None:
        block = augmented[start:start + QUERY_BLOCK_ROWS]
        best = np.full(len(block), np.inf, np.float32)
        second = np.full(len(block), np.inf, np.float32)
        scratch = np.empty((len(block), REFERENCE_CHUNK_ROWS), np.float32)
        for chunk in chunks:
            products = scratch[:, :chunk.shape[1]]
            np.matmul(block, chunk, out=products)
            chunk_best = products.min(axis=1)
            if neighbours == 1:
                np.minimum(best, chunk_best, out=best)
                continue
            changed = np.flatnonzero(chunk_best < second)
            if changed.size == 0:
                continue
            candidates = products[changed]
            nearest = candidates.argmin(axis=1)
            candidates[np.arange(changed.size), nearest] = np.inf
            chunk_second = candidates.min(axis=1)
            first = chunk_best[changed]
            second[changed] = np.minimum(np.maximum(best[changed], first), np.minimum(second[changed], chunk_second))
            best[changed] = np.minimum(best[changed], first)
        partial[start:start + len(block), 0] = best
        if neighbours == 2:
            partial[start:start + len(block), 1] = second

    from threadpoolctl import threadpool_limits

    from synth_pipeline.cores import available_cores

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers or available_cores()) as pool:
        list(pool.map(search, range(0, len(queries), QUERY_BLOCK_ROWS)))
    squared = partial.astype(np.float64) + query_norms[:, None]
    result[:] = np.sqrt(np.maximum(squared, 0.0))
    return result


def _faiss() -> Any:
    import faiss

    from synth_pipeline.cores import available_cores

    faiss.omp_set_num_threads(available_cores())
    return faiss


def _index(method: str, reference: np.ndarray) -> Any:
    """The method's index over ``reference`` (built, for the approximate ones)."""
    faiss = _faiss()
    columns = reference.shape[1]
    if method.startswith("faiss flat"):
        index = faiss.IndexFlatL2(columns)
    elif method == "faiss HNSW":
        index = faiss.IndexHNSWFlat(columns, HNSW_M)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif method == "faiss IVF":
        lists = 2 ** int(np.log2(4 * np.sqrt(len(reference))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(columns), columns, lists)
        index.train(reference)
        index.nprobe = IVF_NPROBE
    else:
        return reference  # searched as it is
    index.add(reference)
    return index


def _searcher(method: str) -> Callable[[Any, np.ndarray, int], np.ndarray]:
    """``search(index, queries, neighbours)`` -> ``(n, neighbours)`` distances."""
    if method == "own GEMM":
        return lambda reference, queries, k: own_gemm(queries, reference, neighbours=k)
    if method == EXACT:
        from synth_pipeline.quality.nearest import nearest_distances

        return lambda reference, queries, k: nearest_distances(queries, reference, neighbours=k)

    def search(index: Any, queries: np.ndarray, k: int) -> np.ndarray:
        squared, rows = index.search(queries, k)
        distances = np.sqrt(np.maximum(squared.astype(np.float64), 0.0))
        distances[rows < 0] = np.inf
        return distances

    return search


def _memory_kib(field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in KiB (Linux)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def _reset_peak() -> None:
    """Restart the peak resident size from the current one (Linux 4.0 and later)."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def timed(function: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def run_method(method: str, rows: int, columns: int, partial: float, searches: int | None,
               sample_rows: int | None = None) -> dict[str, Any]:
    """One method's searches, in a process of its own (peak memory, threads and caches of its own).

    ``sample_rows``: search only that many synthetic rows (a seeded sample) of each case.
    """
    real, synthetic = make_data(rows, columns, partial)
    if sample_rows:
        chosen = np.sort(np.random.default_rng(7).choice(rows, min(sample_rows, rows), replace=False))
        synthetic = {case: rows_[chosen] for case, rows_ in synthetic.items()}
    neighbours = 1 if method == "faiss flat k=1" else 2
    search = _searcher(method)
    if method not in ("faiss HNSW", "faiss IVF"):  # warm up threads and BLAS (an index build does that itself)
        search(_index(method, real["training"][:2000]), synthetic["clean"][:2000], neighbours)
    _reset_peak()
    resident = _memory_kib("VmRSS")
    out: dict[str, Any] = {"build": {}, "searches": []}
    for reference in REFERENCES:
        index, wall, cpu = timed(lambda reference=reference: _index(method, real[reference]))
        out["build"][reference] = (wall, cpu)
        for case in CASES:
            if searches is not None and len(out["searches"]) >= searches:
                break
            distances, wall, cpu = timed(lambda index=index, case=case: search(index, synthetic[case], neighbours))
            out["searches"].append({"case": case, "reference": reference, "wall": wall, "cpu": cpu,
                                    "distances": distances})
        del index
    out["peak_mib"] = (_memory_kib("VmHWM") - resident) / 1024
    return out


def in_own_process(function: Callable[..., Any], *args: Any) -> Any:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


@contextmanager
def given_distances(distances: dict[int, np.ndarray]):
    """Make the privacy measures read these distances (keyed by the reference array's id) instead of searching."""
    from synth_pipeline.quality import privacy

    original = privacy.nearest_distances
    privacy.nearest_distances = lambda queries, reference, **_: distances[id(reference)]
    try:
        yield
    finally:
        privacy.nearest_distances = original


def verdicts(result: dict[str, Any], real: dict[str, np.ndarray], synthetic: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per case: the DCR result and verdict from the method's distances (None where it did not search every case)."""
    from synth_pipeline.policy import SynthPolicy
    from synth_pipeline.quality.privacy import distance_to_closest_record
    from synth_pipeline.verdicts import RuleOutcome

    found = {(s["case"], s["reference"]): s["distances"] for s in result["searches"]}
    judged = {}
    for case in CASES:
        if not all((case, reference) in found for reference in REFERENCES):
            judged[case] = None
            continue
        pairs = {}
        for reference in REFERENCES:
            distances = found[case, reference]
            if distances.shape[1] == 1:  # nearest only: no second nearest, no NNDR
                distances = np.column_stack([distances[:, 0], np.full(len(distances), np.nan)])
            pairs[id(real[reference])] = distances
        with given_distances(pairs):
            dcr = distance_to_closest_record(synthetic[case], real["training"], real["holdout"])
        limit = SynthPolicy().max_dcr_share
        verdict = RuleOutcome("DCR share", dcr.dcr_share, limit, "max", confidence_bound=dcr.dcr_share_lower_bound)
        judged[case] = {"dcr": dcr, "verdict": verdict.verdict.value, "nndr": dcr.nndr_training
                        if found[case, "training"].shape[1] == 2 else float("nan")}
    return judged


def largest_difference(result: dict[str, Any], exact: dict[str, Any]) -> float:
    reference = {(s["case"], s["reference"]): s["distances"] for s in exact["searches"]}
    worst = 0.0
    for search in result["searches"]:
        distances = search["distances"]
        expected = reference[search["case"], search["reference"]][:, :distances.shape[1]]
        worst = max(worst, float(np.abs(distances - expected).max()))
    return worst


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f}" if values else "      –"


def part_one(args: argparse.Namespace) -> None:
    rows, columns = args.rows, args.columns
    print(f"\n1. {rows:,} synthetic x {rows:,} training and {rows:,} holdout rows, {columns} columns, "
          f"two nearest each (the DCR share and NNDR); cases: clean, leak (all rows), partial "
          f"({args.partial:.0%} leaked); load average {os.getloadavg()[0]:.1f} at start")
    results = {}
    for method in args.methods:
        searches = args.flat_k2_searches if method == "faiss flat k=2" else None
        started = time.perf_counter()
        results[method] = in_own_process(run_method, method, rows, columns, args.partial, searches)
        print(f"   ({method}: {time.perf_counter() - started:.0f} s with data and index making; "
              f"load average {os.getloadavg()[0]:.1f})", flush=True)
    real, synthetic = make_data(rows, columns, args.partial)
    exact = results.get(EXACT) or in_own_process(run_method, EXACT, rows, columns, args.partial, None)
    exact_verdicts = verdicts(exact, real, synthetic)
    print(f"\n   {'method':<16} {'build s':>8} {'search s':>8} {'CPU s':>7} {'searches':>8} {'DCR s':>6} "
          f"{'peak MiB':>8} {'max |d - exact|':>15}   " + "  ".join(f"{case + ' bound':>19}" for case in CASES)
          + f"  {'NNDR clean/leak':>15}  same verdicts")
    for method, result in results.items():
        builds = [wall for wall, _ in result["build"].values()]
        walls = [s["wall"] for s in result["searches"]]
        cpus = [s["cpu"] for s in result["searches"]]
        judged = verdicts(result, real, synthetic)
        cells, same = [], True
        for case in CASES:
            if judged[case] is None:
                cells.append(f"{'–':>19}")
                same = None if same else same
                continue
            cells.append(f"{judged[case]['dcr'].dcr_share_lower_bound:8.4f} {judged[case]['verdict']:>10}")
            same = same and judged[case]["verdict"] == exact_verdicts[case]["verdict"]
        nndr = "/".join(f"{judged[c]['nndr']:.4f}" if judged[c] and np.isfinite(judged[c]["nndr"]) else "–"
                        for c in ("clean", "leak"))
        approximate = method in ("faiss HNSW", "faiss IVF")
        build = f"{statistics.median(builds):8.2f}" if approximate else f"{'–':>8}"
        dcr = 2 * statistics.median(walls) + (sum(builds) if approximate else 0.0)
        print(f"   {method:<16} {build} {_median(walls):>8} {_median(cpus):>7} {len(walls):>8} {dcr:6.1f} "
              f"{result['peak_mib']:8.0f} {largest_difference(result, exact):15.2e}   " + "  ".join(cells)
              + f"  {nndr:>15}  {'–' if same is None else 'yes' if same else 'NO'}")
    print(f"   (search s, CPU s: medians over the searches; build s: median of the two indexes; DCR s: what one "
          f"DCR costs, both indexes and two searches; bound: the DCR share's 95 % lower bound, verdict against "
          f"max_dcr_share; NNDR to training; load average now {os.getloadavg()[0]:.1f})")


def part_two(args: argparse.Namespace) -> None:
    rows, columns, sample = args.large_rows, args.columns, args.sample_rows
    print(f"\n2. {rows:,} rows each side, {columns} columns: {args.large_method} on every synthetic row, exact "
          f"(synth-pipeline) on a sample of {sample:,} synthetic rows against every real row; "
          f"load average {os.getloadavg()[0]:.1f}")
    approximate = in_own_process(run_method, args.large_method, rows, columns, args.partial, None)
    exact = in_own_process(run_method, EXACT, rows, columns, args.partial, None, sample)
    real, synthetic = make_data(rows, columns, args.partial)
    judged_all = verdicts(approximate, real, synthetic)
    chosen = np.sort(np.random.default_rng(7).choice(rows, min(sample, rows), replace=False))
    judged_sample = verdicts(exact, real, {case: rows_[chosen] for case, rows_ in synthetic.items()})
    builds = [wall for wall, _ in approximate["build"].values()]
    print(f"   {args.large_method}: build {_median(builds).strip()} s per index, search "
          f"{_median([s['wall'] for s in approximate['searches']]).strip()} s (CPU "
          f"{_median([s['cpu'] for s in approximate['searches']]).strip()} s) per search, "
          f"peak {approximate['peak_mib']:.0f} MiB")
    print(f"   exact on the sample: search {_median([s['wall'] for s in exact['searches']]).strip()} s (CPU "
          f"{_median([s['cpu'] for s in exact['searches']]).strip()} s) per search, peak {exact['peak_mib']:.0f} MiB")
    for case in CASES:
        a, e = judged_all[case], judged_sample[case]
        print(f"   {case:>8}: all rows ({args.large_method}) share {a['dcr'].dcr_share:.4f} bound "
              f"{a['dcr'].dcr_share_lower_bound:.4f} {a['verdict']:>4};  sample (exact) share "
              f"{e['dcr'].dcr_share:.4f} bound {e['dcr'].dcr_share_lower_bound:.4f} {e['verdict']:>4}  "
              f"{'same' if a['verdict'] == e['verdict'] else 'DIFFERENT'}")
    for n in (sample, rows):
        print(f"   a share near the limit 0.55 measured on {n:,} synthetic rows: its 95 % bound lies "
              f"{1.6449 * np.sqrt(0.55 * 0.45 / n):.4f} below it")
    for margin in (0.01, 0.005):
        print(f"   synthetic rows for a share {margin} over the limit to fail: "
              f"{int(np.ceil(1.6449**2 * 0.55 * 0.45 / margin**2)):,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=16)
    parser.add_argument("--partial", type=float, default=0.12, help="share of leaked rows in the partial case")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--flat-k2-searches", type=int, default=1,
                        help="searches of faiss's own two-nearest flat search (slow; 6 gives verdicts)")
    parser.add_argument("--large-rows", type=int, default=1_000_000, help="rows each side of part 2 (0: skip)")
    parser.add_argument("--large-method", choices=METHODS, default="faiss IVF")
    parser.add_argument("--sample-rows", type=int, default=20_000)
    args = parser.parse_args()
    if args.rows:
        part_one(args)
    if args.large_rows:
        part_two(args)


if __name__ == "__main__":
    main()
