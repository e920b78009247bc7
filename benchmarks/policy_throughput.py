"""Throughput of the policy computations against bare DuckDB, side by side in one run.

1. Composition and budgets (what synthetic_budget, recursion_depth and unknown_budget
   compute) over a 10M-row Parquet file, against a bare DuckDB ``GROUP BY`` of label and
   kind over the same file. Target: at least 0.4 x the bare throughput.
2. Holdout isolation with 5M holdout rows against 5M candidate rows, against a bare
   DuckDB semi-join on the precomputed hashes. Target: at most 1.5 x the bare time.

Usage: python benchmarks/policy_throughput.py [--rows 10000000] [--repeats 5] [--workdir DIR]
The data is generated (seeded) into the work directory on first use and reused.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from synth_pipeline.budgets import recursion_depth, synthetic_budget, unknown_budget
from synth_pipeline.composition import summarize
from synth_pipeline.isolation import leaked_records
from synth_pipeline.policy import SynthPolicy

KINDS = np.array(["real", "synthetic", "augmented", "unknown"])


def write_tagged(path: Path, rows: int, seed: int, hashes: np.ndarray | None = None) -> None:
    """A provenance-tagged table: two features, a 3-class label and the five _sp_ columns."""
    rng = np.random.default_rng(seed)
    table = pa.table(
        {
            "x": rng.normal(size=rows),
            "y": rng.integers(0, 100, size=rows),
            "label": rng.choice(np.array(["a", "b", "c"]), size=rows, p=[0.6, 0.3, 0.1]),
            "_sp_kind": rng.choice(KINDS, size=rows, p=[0.7, 0.2, 0.08, 0.02]),
            "_sp_generation": rng.integers(1, 10, size=rows, dtype=np.int32),
            "_sp_depth": rng.integers(0, 4, size=rows, dtype=np.int32),
            "_sp_row_hash": hashes if hashes is not None else rng.integers(0, 2**63, size=rows, dtype=np.uint64),
            "_sp_dataset": np.full(rows, "bench/training_mix"),
        }
    )
    pq.write_table(table, path)


def timed(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time over ``repeats`` runs (after one warm-up), and the last result."""
    result = function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "synth_pipeline_bench")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    policy = SynthPolicy()

    mix = args.workdir / f"mix_{args.rows}.parquet"
    if not mix.exists():
        print(f"writing {args.rows:,} rows to {mix} ...", flush=True)
        write_tagged(mix, args.rows, seed=1)

    def ours() -> list:
        composition = summarize(mix, "label")
        return [*synthetic_budget(composition, policy), *recursion_depth(composition, policy),
                *unknown_budget(composition, policy)]

    def bare() -> list:
        with duckdb.connect() as connection:
            return connection.execute(
                "SELECT label, _sp_kind, count(*) FROM read_parquet($p) GROUP BY ALL", {"p": str(mix)}
            ).fetchall()

    ours_time, outcomes = timed(ours, args.repeats)
    bare_time, _ = timed(bare, args.repeats)
    ratio = bare_time / ours_time
    print(f"\ncomposition + budgets over {args.rows:,} rows (median of {args.repeats})")
    print(f"  synth-pipeline : {ours_time * 1000:8.1f} ms  {args.rows / ours_time / 1e6:8.1f} M rows/s "
          f"({len(outcomes)} rules evaluated)")
    print(f"  bare DuckDB    : {bare_time * 1000:8.1f} ms  {args.rows / bare_time / 1e6:8.1f} M rows/s")
    print(f"  throughput ratio {ratio:.2f} x bare (target >= 0.40): {'MET' if ratio >= 0.4 else 'MISSED'}")

    half = args.rows // 2
    holdout, candidates = args.workdir / f"holdout_{half}.parquet", args.workdir / f"candidates_{half}.parquet"
    if not holdout.exists() or not candidates.exists():
        rng = np.random.default_rng(2)
        holdout_hashes = rng.integers(0, 2**63, size=half, dtype=np.uint64)
        candidate_hashes = rng.integers(0, 2**63, size=half, dtype=np.uint64)
        candidate_hashes[:1000] = holdout_hashes[:1000]  # 1,000 planted leaks
        print(f"writing {half:,} + {half:,} rows for the isolation benchmark ...", flush=True)
        write_tagged(holdout, half, seed=3, hashes=holdout_hashes)
        write_tagged(candidates, half, seed=4, hashes=candidate_hashes)

    # No train split: every real candidate row with a holdout row's content is a leaked holdout record.
    no_train = args.workdir / "train_empty.parquet"
    write_tagged(no_train, 0, seed=5)

    def ours_isolation() -> int:
        return leaked_records(holdout, no_train, [candidates]).records

    def bare_isolation() -> int:
        with duckdb.connect() as connection:
            [(count,)] = connection.execute(
                "SELECT count(*) FROM read_parquet($c) AS c SEMI JOIN read_parquet($h) AS h USING (_sp_row_hash) "
                "WHERE c._sp_kind = 'real'",
                {"c": str(candidates), "h": str(holdout)},
            ).fetchall()
        return count

    ours_time, ours_leaks = timed(ours_isolation, args.repeats)
    bare_time, bare_leaks = timed(bare_isolation, args.repeats)
    assert ours_leaks == bare_leaks, (ours_leaks, bare_leaks)
    slowdown = ours_time / bare_time
    print(f"\nholdout isolation, {half:,} holdout vs {half:,} candidate rows (median of {args.repeats})")
    print(f"  synth-pipeline : {ours_time * 1000:8.1f} ms  ({ours_leaks:,} leaked rows found)")
    print(f"  bare DuckDB    : {bare_time * 1000:8.1f} ms  semi-join on precomputed hashes")
    print(f"  time ratio {slowdown:.2f} x bare (target <= 1.50): {'MET' if slowdown <= 1.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
