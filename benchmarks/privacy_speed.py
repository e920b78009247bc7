"""Speed of the privacy measures, side by side with the baselines, in one run.

1. DCR: exact distance from each of 100,000 synthetic rows to the closest of 100,000
   training rows, 16 numeric columns (synth-pipeline's search: faiss, exact), next to
   scikit-learn's exact ``NearestNeighbors`` on the same data (``--no-sklearn`` skips it).
   Then the whole DCR share (training and a 100,000-row holdout, two nearest each).
2. The same verdict as SDMetrics ``DCROverfittingProtection``: both on the same data,
   a clean case (synthetic rows drawn fresh from the real distribution) and a leaking
   case (training rows with a little noise), at growing sizes while SDMetrics is
   expected to finish within ``--sdmetrics-limit`` seconds (default 300; its time grows
   with the square of the rows, so the next size is predicted from the last).
3. Exact copies: 5,000,000 synthetic row hashes against 5,000,000 training row hashes,
   and the same including hashing both sides' rows (4 numeric columns).

Run: ``python benchmarks/privacy_speed.py``. Data are generated (seeded); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from synth_pipeline.cores import available_cores
from synth_pipeline.hashing import row_hashes
from synth_pipeline.quality.nearest import nearest_distances
from synth_pipeline.quality.privacy import distance_to_closest_record, exact_copy_count

LIMIT_SHARE = 0.55  # the policy's default max_dcr_share


def correlated(rows: int, columns: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of a correlated Gaussian (a fixed random covariance)."""
    mixing = np.random.default_rng(1).normal(size=(columns, columns)) / np.sqrt(columns)
    return rng.normal(size=(rows, columns)) @ mixing


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def dcr_speed(rows: int, columns: int, sklearn: bool) -> None:
    rng = np.random.default_rng(0)
    synthetic, training, holdout = (correlated(rows, columns, rng).astype(np.float32) for _ in range(3))
    print(f"\n1. DCR, {rows:,} synthetic x {rows:,} training rows, {columns} numeric columns, "
          f"{available_cores()} cores")
    nearest_distances(synthetic[:2000], training[:2000])  # warm up BLAS and threads
    ours, seconds = timed(nearest_distances, synthetic, training)
    print(f"   synth-pipeline, nearest training row (exact):       {seconds:7.2f} s")
    _, seconds_two = timed(nearest_distances, synthetic, training, neighbours=2)
    print(f"   synth-pipeline, two nearest (DCR + NNDR):           {seconds_two:7.2f} s")
    if sklearn:
        from sklearn.neighbors import NearestNeighbors

        index = NearestNeighbors(n_neighbors=1, algorithm="auto", n_jobs=-1).fit(training)
        (theirs, _), seconds = timed(index.kneighbors, synthetic)
        print(f"   scikit-learn NearestNeighbors (exact, n_jobs=-1):   {seconds:7.2f} s "
              f"(largest difference {np.abs(theirs[:, 0] - ours[:, 0]).max():.1e})")
    result, seconds = timed(distance_to_closest_record, synthetic, training, holdout)
    print(f"   whole DCR share (+{rows:,}-row holdout, 2-NN each): {seconds:7.2f} s "
          f"(share {result.dcr_share:.3f}, NNDR {result.nndr_training:.3f})")


def _frames(rows: int, columns: int, leak: bool, rng: np.random.Generator) -> tuple[pd.DataFrame, ...]:
    names = [f"c{i}" for i in range(columns)]
    training, holdout = (pd.DataFrame(correlated(rows, columns, rng), columns=names) for _ in range(2))
    if leak:
        synthetic = training + rng.normal(scale=0.01, size=training.shape)
    else:
        synthetic = pd.DataFrame(correlated(rows, columns, rng), columns=names)
    return synthetic, training, holdout


def _ours(synthetic: pd.DataFrame, training: pd.DataFrame, holdout: pd.DataFrame) -> float:
    """The size-adjusted DCR share, encoding included (equal sizes here: the raw share)."""
    from synth_pipeline.quality.encoding import RecordEncoder

    columns = list(training.columns)
    encoder = RecordEncoder.fit(pd.concat([training, holdout]), columns)
    return distance_to_closest_record(*(encoder.transform(f) for f in (synthetic, training, holdout))).dcr_share


def _sdmetrics(synthetic: pd.DataFrame, training: pd.DataFrame, holdout: pd.DataFrame) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.single_table import DCROverfittingProtection

        metadata = {"columns": {c: {"sdtype": "numerical"} for c in training.columns}}
        breakdown = DCROverfittingProtection.compute_breakdown(training, synthetic, holdout, metadata, None)
    return breakdown["synthetic_data_percentages"]["closer_to_training"]


def verdicts(sizes: list[int], columns: int, limit_seconds: float) -> None:
    print(f"\n2. Verdict vs SDMetrics DCROverfittingProtection ({columns} numeric columns; training, holdout "
          f"and synthetic of equal size; memorization when the closer-to-training share > {LIMIT_SHARE})")
    _ours(*_frames(100, columns, False, np.random.default_rng(0)))  # imports and threads, not measured
    print(f"   {'rows':>7} {'case':>6}  {'SDMetrics share':>15} {'time':>8}  {'ours share':>10} {'time':>7}  "
          f"{'speed-up':>8}  same verdict")
    previous: tuple[int, float] | None = None
    for rows in sizes:
        if previous is not None and previous[1] * (rows / previous[0]) ** 2 > limit_seconds:
            print(f"   (stopping: SDMetrics would need about {previous[1] * (rows / previous[0]) ** 2:.0f} s at "
                  f"{rows:,} rows, its cost growing with the square of the rows; limit {limit_seconds:.0f} s)")
            return
        slowest = 0.0
        for leak in (False, True):
            frames = _frames(rows, columns, leak, np.random.default_rng(rows))
            theirs, their_seconds = timed(_sdmetrics, *frames)
            ours, our_seconds = timed(_ours, *frames)
            slowest = max(slowest, their_seconds)
            same = "yes" if (theirs > LIMIT_SHARE) == (ours > LIMIT_SHARE) else "NO"
            print(f"   {rows:>7,} {'leak' if leak else 'clean':>6}  {theirs:>15.3f} {their_seconds:>7.1f}s  "
                  f"{ours:>10.3f} {our_seconds:>6.2f}s  {their_seconds / our_seconds:>7.0f}x  {same}")
        previous = (rows, slowest)


def copies_speed(rows: int) -> None:
    rng = np.random.default_rng(0)
    print(f"\n3. Exact copies, {rows:,} synthetic vs {rows:,} training rows")
    training = pd.DataFrame(rng.integers(0, 1000, size=(rows, 4)), columns=list("abcd"))
    synthetic = pd.DataFrame(rng.integers(0, 1000, size=(rows, 4)), columns=list("abcd"))
    synthetic.iloc[: rows // 100] = training.iloc[: rows // 100].to_numpy()  # 1 % planted copies
    (train_hashes, synthetic_hashes), hashing = timed(lambda: (row_hashes(training), row_hashes(synthetic)))
    copies, seconds = timed(exact_copy_count, synthetic_hashes, train_hashes)
    print(f"   stored content hashes (what the check reads):    {seconds:6.2f} s ({copies:,} copies found)")
    print(f"   including hashing both sides' rows:              {seconds + hashing:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=16)
    parser.add_argument("--no-sklearn", dest="sklearn", action="store_false")
    parser.add_argument("--sdmetrics-sizes", type=int, nargs="+", default=[1000, 2000, 3000, 4000, 5000, 7000, 10000])
    parser.add_argument("--sdmetrics-limit", type=float, default=300.0)
    parser.add_argument("--copy-rows", type=int, default=5_000_000)
    parts = ["dcr", "verdict", "copies"]
    parser.add_argument("--parts", nargs="+", choices=parts, default=parts, help="measurements to run (default: all)")
    args = parser.parse_args()
    if "dcr" in args.parts:
        dcr_speed(args.rows, args.columns, args.sklearn)
    if "verdict" in args.parts:
        verdicts(args.sdmetrics_sizes, args.columns, args.sdmetrics_limit)
    if "copies" in args.parts:
        copies_speed(args.copy_rows)


if __name__ == "__main__":
    main()
