"""OpenLineage dataset names of stored stage files, per the spec's naming conventions.

https://openlineage.io/docs/spec/naming: a file on the local file system is namespace
``file``, name its absolute path; an object on S3 is namespace ``s3://<bucket>``, name its
object key (other fsspec protocols likewise ``<protocol>://<bucket>`` and the key). The
logical name our lineage store, queries and CLI use (the asset key ``pipeline/stage``)
goes with it as the standard ``symlinks`` facet (:func:`symlinks_facet`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from openlineage.client.generated import symlinks_dataset

from synth_pipeline.stage_files import StagePath, is_remote

LOCAL_NAMESPACE = "file"
SYMLINK_TYPE = "TABLE"
_PROTOCOL_ALIASES = {"s3a": "s3", "s3n": "s3"}


def stored_dataset_name(path: StagePath) -> tuple[str, str]:
    """``(namespace, name)`` of a stored stage file (local path or object-storage ``UPath``)."""
    if not is_remote(path):
        return LOCAL_NAMESPACE, str(path.absolute())
    parts = urlsplit(str(path))
    scheme = _PROTOCOL_ALIASES.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}", parts.path.lstrip("/")


def symlinks_facet(namespace: str, name: str, producer: str) -> symlinks_dataset.SymlinksDatasetFacet:
    """The ``symlinks`` facet naming a dataset's logical identity (``namespace``, ``pipeline/stage``)."""
    return symlinks_dataset.SymlinksDatasetFacet(
        identifiers=[symlinks_dataset.Identifier(namespace=namespace, name=name, type=SYMLINK_TYPE)],
        producer=producer,
    )
