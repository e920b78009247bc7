"""Reading and writing stored stage files, local or on object storage, the same way.

A stored file is a :class:`pathlib.Path` in the data directory, or a ``UPath`` under the
store's stage URL (:mod:`synth_pipeline.object_storage`). A ``UPath`` is not a file-system
path (``open(path)``, ``pd.read_parquet(path)`` refuse it), so every reader goes through
these functions, which hand pandas, pyarrow and DuckDB the path's own fsspec file system.

Writes are atomic on both: locally a temporary file renamed into place
(:func:`synth_pipeline.atomic_files.atomic_write`); on object storage the file is serialized in
memory and uploaded as one object, which S3 makes visible only once the upload completed
(one PUT, or a multipart upload that is completed only after its last part), so a reader
sees the old object or the new one, never part of one; a failed upload leaves the old one.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq
    from upath import UPath

StagePath: TypeAlias = "Path | UPath"
"""A stored file: local, or on object storage."""


def is_remote(path: StagePath) -> bool:
    """Whether ``path`` is on object storage (a ``UPath`` of a protocol other than local files)."""
    return getattr(path, "protocol", "") not in ("", "file", "local") and hasattr(path, "fs")


def read_parquet(path: StagePath, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A stored Parquet file as a frame (as :func:`pandas.read_parquet` gives it), optionally some columns."""
    selected = list(columns) if columns is not None else None
    if not is_remote(path):
        return pd.read_parquet(path, columns=selected)
    return pd.read_parquet(path.path, columns=selected, filesystem=path.fs)


def parquet_file(path: StagePath) -> pq.ParquetFile:
    """The Parquet file (metadata, schema, row groups) without reading its rows."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path) if not is_remote(path) else pq.ParquetFile(path.path, filesystem=path.fs)


def read_schema(path: StagePath) -> pa.Schema:
    """The Arrow schema of a stored Parquet file (pandas metadata included)."""
    return parquet_file(path).schema_arrow


def read_table(path: StagePath, columns: Sequence[str] | None = None) -> pa.Table:
    """A stored Parquet file as an Arrow table."""
    import pyarrow.parquet as pq

    selected = list(columns) if columns is not None else None
    if not is_remote(path):
        return pq.read_table(path, columns=selected)
    return pq.read_table(path.path, columns=selected, filesystem=path.fs)


def fingerprint(path: StagePath) -> tuple[int, str]:
    """Size and a change stamp of a stored file: a rewrite changes it (for per-file caches).

    Local files: size and modification time (ns). Objects: size and ETag (content-derived
    on S3), falling back to the modification time where a store has no ETag.
    """
    if not is_remote(path):
        stat = path.stat()
        return stat.st_size, str(stat.st_mtime_ns)
    info = path.fs.info(path.path)
    stamp = info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime") or ""
    return int(info.get("size") or 0), str(stamp)


def write_atomically(path: StagePath, write: Callable[[Any], None]) -> None:
    """Write a stored file atomically: ``write`` gets a binary handle (see the module docs)."""
    if not is_remote(path):
        from synth_pipeline.atomic_files import atomic_write

        atomic_write(path, write)
        return
    buffer = io.BytesIO()
    write(buffer)  # serialized completely before anything is sent: a failed write sends nothing
    path.fs.pipe_file(path.path, buffer.getvalue())


def duckdb_connection(paths: Iterable[StagePath]) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection that can ``read_parquet`` every one of ``paths`` by ``str(path)``.

    The file systems of paths on object storage are registered with the connection
    (``register_filesystem``), so DuckDB reads through the same fsspec file system, with the
    same credentials and endpoint, as pandas and pyarrow do.
    """
    import duckdb

    connection = duckdb.connect()
    registered: set[int] = set()
    for path in paths:
        if is_remote(path) and id(path.fs) not in registered:
            connection.register_filesystem(path.fs)
            registered.add(id(path.fs))
    return connection
