"""Content-hash set operations over stored Parquet files, run in DuckDB."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from synth_pipeline.provenance import KIND_COLUMN, ROW_HASH_COLUMN, ProvenanceKind


def leaked_rows(holdout: Path, candidates: Sequence[Path]) -> dict[Path, int]:
    """How many rows of each candidate file have a content hash found in the holdout.

    Args:
        holdout: Parquet file of the sealed holdout.
        candidates: Parquet files that must not hold any holdout row.

    Returns:
        The leaked row count of every candidate that has at least one.
    """
    import duckdb

    if not candidates:
        return {}
    with duckdb.connect() as connection:
        found = connection.execute(
            f"SELECT filename, count(*) FROM read_parquet($candidates, filename = true) "
            f"WHERE {ROW_HASH_COLUMN} IN (SELECT {ROW_HASH_COLUMN} FROM read_parquet($holdout)) "
            "GROUP BY filename",
            {"candidates": [str(p) for p in candidates], "holdout": str(holdout)},
        ).fetchall()
    return {Path(name): int(count) for name, count in found}


def fresh_real_rows(dataset: Path, earlier: Sequence[Path]) -> int:
    """Real rows of ``dataset`` whose content hash is in no real row of the ``earlier`` files."""
    import duckdb

    real = f"{KIND_COLUMN} = '{ProvenanceKind.REAL.value}'"
    with duckdb.connect() as connection:
        if not earlier:
            query, params = f"SELECT count(*) FROM read_parquet($dataset) WHERE {real}", {"dataset": str(dataset)}
        else:
            query = (
                f"SELECT count(*) FROM read_parquet($dataset) WHERE {real} AND {ROW_HASH_COLUMN} NOT IN "
                f"(SELECT {ROW_HASH_COLUMN} FROM read_parquet($earlier) WHERE {real})"
            )
            params = {"dataset": str(dataset), "earlier": [str(p) for p in earlier]}
        [(count,)] = connection.execute(query, params).fetchall()
    return int(count)
