"""Record-multiset operations over stored Parquet files, run in DuckDB.

Identical rows are legitimate on real tables (few distinct values, repeated answers), and
the holdout split places each copy on its own (:func:`synth_pipeline.splitting.holdout_mask`),
so the same content can sit in the sealed holdout and in the train split at once. A
content hash therefore names a row's values, not a record: these functions count copies.
A real row in a training input is a holdout record only beyond the train split's copies
of its content, and a real row is fresh only beyond the copies of its record (content,
generation stamp, dataset) earlier generations held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from synth_pipeline.provenance import DATASET_COLUMN, GENERATION_COLUMN, KIND_COLUMN, ROW_HASH_COLUMN, ProvenanceKind
from synth_pipeline.stage_files import StagePath, duckdb_connection

# The file-name column DuckDB adds; reserved-prefixed so it cannot collide with a user column.
_SOURCE_FILE = "_sp_source_file"
_REAL = f"{KIND_COLUMN} = '{ProvenanceKind.REAL.value}'"


@dataclass(frozen=True)
class RecordLeaks:
    """Holdout records found in training inputs.

    Attributes:
        per_file: Leaked holdout records of every candidate file that holds at least one.
        records: Leaked holdout records across all candidates, each counted once (the
            same record in an arrival batch and in the mixes built from it is one leak).
        contents: Distinct holdout contents (row hashes) among the leaked records.
        real_rows: Real rows scanned, over all candidates.
    """

    per_file: dict[StagePath, int]
    records: int
    contents: int
    real_rows: int


def leaked_records(holdout: StagePath, train: StagePath, candidates: Sequence[StagePath]) -> RecordLeaks:
    """Count the real rows of candidate files that can only be sealed holdout records.

    Real rows reach training inputs from the train split; for each content hash, a
    candidate's real rows beyond the train split's copies of that content are holdout
    records (at most as many as the holdout holds). Rows of other kinds are judged by
    :mod:`synth_pipeline.quality.near_copies` against chance instead: a generator or a
    vendor may produce a row equal to a holdout row without having seen it.

    Args:
        holdout: Parquet file of the sealed holdout.
        train: Parquet file of the real train split.
        candidates: Parquet files that must not hold any holdout record.

    Returns:
        The leaks, per file and overall.
    """
    if not candidates:
        return RecordLeaks({}, 0, 0, 0)
    with duckdb_connection([holdout, train, *candidates]) as connection:
        found = connection.execute(
            f"""
            WITH held AS (SELECT {ROW_HASH_COLUMN} AS h, count(*) AS copies FROM read_parquet($holdout) GROUP BY h),
                 train AS (SELECT {ROW_HASH_COLUMN} AS h, count(*) AS copies FROM read_parquet($train)
                           WHERE {_REAL} GROUP BY h),
                 found AS (SELECT {_SOURCE_FILE} AS file, {ROW_HASH_COLUMN} AS h, count(*) AS copies
                           FROM read_parquet($candidates, filename = '{_SOURCE_FILE}') WHERE {_REAL}
                           GROUP BY file, h)
            SELECT found.file, found.h,
                   least(greatest(found.copies - coalesce(train.copies, 0), 0), held.copies) AS leaked
            FROM found JOIN held USING (h) LEFT JOIN train USING (h)
            WHERE leaked > 0
            """,
            {"candidates": [str(p) for p in candidates], "holdout": str(holdout), "train": str(train)},
        ).fetchall()
        [(real_rows,)] = connection.execute(
            f"SELECT count(*) FROM read_parquet($candidates) WHERE {_REAL}",
            {"candidates": [str(p) for p in candidates]},
        ).fetchall()
    by_name = {str(path): path for path in candidates}  # DuckDB names each file as it was given
    per_file: dict[StagePath, int] = {}
    per_content: dict[int, int] = {}
    for name, content, leaked in found:
        path = by_name[name]
        per_file[path] = per_file.get(path, 0) + int(leaked)
        per_content[content] = max(per_content.get(content, 0), int(leaked))
    return RecordLeaks(per_file, sum(per_content.values()), len(per_content), int(real_rows))


def fresh_real_rows(dataset: StagePath, earlier: Sequence[StagePath]) -> int:
    """Real records of ``dataset`` that none of the ``earlier`` files held.

    A real record is its content hash, generation stamp (the generation it first
    arrived in) and producing dataset, counted as a multiset: a new copy of content an
    earlier generation held is fresh; a record that arrives again is not.
    """
    record = f"{ROW_HASH_COLUMN}, {GENERATION_COLUMN}, {DATASET_COLUMN}"
    with duckdb_connection([dataset, *earlier]) as connection:
        if not earlier:
            query, params = f"SELECT count(*) FROM read_parquet($dataset) WHERE {_REAL}", {"dataset": str(dataset)}
        else:
            query = f"""
                WITH now AS (SELECT {record}, count(*) AS copies FROM read_parquet($dataset) WHERE {_REAL}
                             GROUP BY ALL),
                     per_file AS (SELECT {_SOURCE_FILE}, {record}, count(*) AS copies
                                  FROM read_parquet($earlier, filename = '{_SOURCE_FILE}') WHERE {_REAL}
                                  GROUP BY ALL),
                     before AS (SELECT {record}, max(copies) AS copies FROM per_file GROUP BY ALL)
                SELECT coalesce(sum(greatest(now.copies - coalesce(before.copies, 0), 0)), 0)
                FROM now LEFT JOIN before USING ({record})
            """
            params = {"dataset": str(dataset), "earlier": [str(p) for p in earlier]}
        [(count,)] = connection.execute(query, params).fetchall()
    return int(count)
