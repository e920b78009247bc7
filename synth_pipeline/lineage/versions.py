"""Content versions of stored datasets.

A version identifies content, not a write: re-materializing a deterministic stage
gives the same version, so the lineage graph does not grow with every re-run. Frames
are versioned by their schema and the order-independent digest of their row hashes;
other files (pickled models) by the SHA-256 of their bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from synth_pipeline.hashing import row_hashes, set_digest
from synth_pipeline.provenance import ROW_HASH_COLUMN

_cache: dict[tuple[str, int, int], tuple[str, int | None]] = {}


def file_version(path: Path) -> tuple[str, int | None]:
    """The content version of a stored file and its row count (None for non-tabular files).

    Results are cached per (path, size, mtime) within the process.
    """
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _cache:
        _cache[key] = _parquet_version(path) if path.suffix == ".parquet" else (bytes_version(path), None)
    return _cache[key]


def _parquet_version(path: Path) -> tuple[str, int]:
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    if ROW_HASH_COLUMN in schema.names:
        hashes = pq.read_table(path, columns=[ROW_HASH_COLUMN]).column(0).to_numpy()
    else:
        frame = pq.read_table(path).to_pandas()
        hashes = row_hashes(frame) if frame.shape[1] else np.zeros(0, dtype=np.uint64)
    columns = ",".join(f"{field.name}:{field.type}" for field in schema if not field.name.startswith("__"))
    digest = hashlib.sha256(f"{columns}|{set_digest(hashes)}".encode()).hexdigest()
    return digest[:24], len(hashes)


def bytes_version(path: Path) -> str:
    """The SHA-256 (first 24 hex digits) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:24]
