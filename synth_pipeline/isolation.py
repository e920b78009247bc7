"""Content-hash set operations over stored Parquet files, run in DuckDB."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from synth_pipeline.provenance import KIND_COLUMN, ROW_HASH_COLUMN, ProvenanceKind

# The file-name column DuckDB adds; reserved-prefixed so it cannot collide with a user column.
_SOURCE_FILE = "_sp_source_file"


def leaked_rows(holdout: Path, candidates: Sequence[Path]) -> tuple[dict[Path, int], int]:
    """Find holdout rows (by content hash) in candidate files.

    Args:
        holdout: Parquet file of the sealed holdout.
        candidates: Parquet files that must not hold any holdout row.

    Returns:
        The leaked row count of every candidate that has at least one, and the number of
        distinct holdout rows found across all candidates.
    """
    import duckdb

    if not candidates:
        return {}, 0
    with duckdb.connect() as connection:
        found = connection.execute(
            f"SELECT {_SOURCE_FILE}, count(*), list(DISTINCT {ROW_HASH_COLUMN}) "
            f"FROM read_parquet($candidates, filename = '{_SOURCE_FILE}') "
            f"WHERE {ROW_HASH_COLUMN} IN (SELECT {ROW_HASH_COLUMN} FROM read_parquet($holdout)) "
            f"GROUP BY {_SOURCE_FILE}",
            {"candidates": [str(p) for p in candidates], "holdout": str(holdout)},
        ).fetchall()
    distinct = set().union(*(set(hashes) for _, _, hashes in found))
    return {Path(name): int(count) for name, count, _ in found}, len(distinct)


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
