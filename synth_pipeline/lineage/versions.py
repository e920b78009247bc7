"""Dataset versions: one per materialization, with a content digest kept alongside.

A dataset *version* identifies one write: the materialization of a dataset (asset key
and partition) by one OpenLineage run. Two materializations never share a version, even
when their content is identical (an empty augmented output in generations 1 and 2, the
same real arrivals every generation, a generation re-run after a failure): a shared
version would merge them into one node of the lineage graph, whose ancestry then mixes
generations and runs forward in time.

The *content digest* identifies content: frames are digested by their schema and the
order-independent digest of their row hashes, other files (pickled models) by the
SHA-256 of their bytes. It is kept as a separate field wherever identity of content
matters (row-hash manifests, "same data as" questions).

When a step publishes an output it records the version next to the lineage journal
(:func:`record_version`); a step reading a stored dataset refers to it by the recorded
version (:func:`stored_version`), provided the file still holds the recorded content.
A file written some other way (before versions were recorded, or by a process killed
between writing it and recording it) has no matching record and is referred to by its
content digest, the version such files always had.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synth_pipeline.hashing import row_hashes, set_digest
from synth_pipeline.provenance import ROW_HASH_COLUMN
from synth_pipeline.stage_files import StagePath, fingerprint, read_schema, read_table

_cache: dict[tuple[str, int, str], tuple[str, int | None]] = {}


@dataclass(frozen=True)
class StoredVersion:
    """The version of a stored dataset and the digest of its content.

    Attributes:
        version: The materialization's version (the content digest when no publish of
            this content was recorded).
        digest: The content digest.
        rows: Its row count (None for non-tabular files).
        dagster_run_id: The Dagster run whose publish wrote this content, as recorded (None: not
            recorded, e.g. by an older version, or the file holds other content than recorded).
    """

    version: str
    digest: str
    rows: int | None
    dagster_run_id: str | None = None


def file_version(path: StagePath) -> tuple[str, int | None]:
    """The content digest of a stored file (local or on object storage) and its row count
    (None for non-tabular files).

    Results are cached per (path, size, change stamp) within the process.
    """
    size, stamp = fingerprint(path)
    key = (str(path), size, stamp)
    if key not in _cache:
        _cache[key] = _parquet_version(path) if path.suffix == ".parquet" else (bytes_version(path), None)
    return _cache[key]


def materialization_version(digest: str, *, name: str, partition: str | None, run_id: str) -> str:
    """The version of one materialization: a digest of its content, dataset, partition and run.

    Args:
        digest: The content digest of what was written.
        name: The dataset name (asset key).
        partition: The partition (generation) written, None for unpartitioned assets.
        run_id: The OpenLineage run id of the materialization (unique per write).
    """
    identity = "\x1f".join((name, partition or "", run_id, digest))
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def record_version(record: Path, version: str, digest: str, *, run_id: str, dagster_run_id: str | None = None) -> None:
    """Record that the stored file now holds ``version`` (whose content digest is ``digest``), written by
    the OpenLineage run ``run_id`` of the Dagster run ``dagster_run_id``."""
    # Replaced by rename, but neither fsynced nor named like atomic_write's temporary files:
    # a lost or torn record only makes readers fall back to the content digest.
    record.parent.mkdir(parents=True, exist_ok=True)
    partial = record.with_name(f"{record.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps({"version": version, "digest": digest, "run_id": run_id,
                                   **({"dagster_run_id": dagster_run_id} if dagster_run_id else {})}))
    os.replace(partial, record)


def stored_version(path: StagePath, record: Path) -> StoredVersion:
    """The version of the stored file ``path``, as recorded in ``record`` when its content matches.

    Args:
        path: The stored dataset file.
        record: Where its publish recorded the version (see :func:`record_version`).
    """
    digest, rows = file_version(path)
    try:
        recorded = json.loads(record.read_bytes())
    except (FileNotFoundError, ValueError):
        recorded = {}
    if recorded.get("digest") == digest and isinstance(recorded.get("version"), str):
        writer = recorded.get("dagster_run_id")
        return StoredVersion(version=recorded["version"], digest=digest, rows=rows,
                             dagster_run_id=writer if isinstance(writer, str) else None)
    return StoredVersion(version=digest, digest=digest, rows=rows)


def _parquet_version(path: StagePath) -> tuple[str, int]:
    schema = read_schema(path)
    if ROW_HASH_COLUMN in schema.names:
        hashes = read_table(path, columns=[ROW_HASH_COLUMN]).column(0).to_numpy()
    else:
        frame = read_table(path).to_pandas()
        hashes = row_hashes(frame) if frame.shape[1] else np.zeros(0, dtype=np.uint64)
    columns = ",".join(f"{field.name}:{field.type}" for field in schema if not field.name.startswith("__"))
    digest = hashlib.sha256(f"{columns}|{set_digest(hashes)}".encode()).hexdigest()
    return digest[:24], len(hashes)


def bytes_version(path: StagePath) -> str:
    """The SHA-256 (first 24 hex digits) of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:24]
