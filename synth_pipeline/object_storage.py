"""Stage data on object storage: a store URL (``s3://bucket/prefix``) resolved to a path.

The stage data (datasets, monitors, check results, quarantine markers) can live under
any fsspec URL, through `universal_pathlib <https://github.com/fsspec/universal_pathlib>`_
and the protocol's fsspec implementation (``s3fs`` for ``s3://``). Both are optional:
``pip install 'synth-pipeline[s3]'``, imported only when a URL is configured.

Credentials and endpoint come from the usual places of the implementation (for S3: the
``AWS_*`` environment variables, ``~/.aws``, an instance role; ``AWS_ENDPOINT_URL`` for an
S3-compatible server) or from the store's ``storage_options``. The first use in a process
lists the bucket once, so a bad URL, missing credentials or an unreachable endpoint fail
at the start of a step with a message naming the fix, not halfway through a write.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from synth_pipeline.errors import SynthPipelineError

if TYPE_CHECKING:
    from upath import UPath

STAGE_URL_ENV = "SYNTH_PIPELINE_STAGE_URL"
"""Environment variable naming the stage data URL when the store is not configured with one."""
INSTALL_HINT = "pip install 'synth-pipeline[s3]'"
_URL = re.compile(r"^(?P<protocol>[A-Za-z][A-Za-z0-9+.-]*)://(?P<bucket>[^/]*)(?P<rest>/.*)?$")
# Protocols whose directory listings fsspec caches per process: off, so that a step sees what
# steps on other workers wrote since (the store lists partitions and quarantine markers).
_LISTING_CACHES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"}


class ObjectStorageError(SynthPipelineError):
    """The stage data URL cannot be used: bad URL, missing package, credentials or endpoint."""


def is_url(location: str) -> bool:
    """Whether ``location`` is a URL for object storage (``file://`` and plain paths are local)."""
    match = _URL.match(location)
    return match is not None and match["protocol"].lower() not in ("file", "local")


def configured_stage_url(stage_url: str | None) -> str | None:
    """The stage data URL: ``stage_url``, else $SYNTH_PIPELINE_STAGE_URL, else None (stage data is local)."""
    return stage_url or os.environ.get(STAGE_URL_ENV) or None


def stage_path(url: str, storage_options: Mapping[str, Any] | None = None) -> UPath:
    """The path of ``url`` on its file system, checked once per process (see the module docs).

    Args:
        url: An fsspec URL with a bucket, e.g. ``s3://bucket/prefix``.
        storage_options: Options of the file system (s3fs: ``endpoint_url``, ``key``,
            ``secret``, ``profile``...); by default the implementation's own configuration.

    Raises:
        ObjectStorageError: The URL is malformed, its packages are missing, or the bucket
            cannot be listed (missing, no credentials, endpoint unreachable).
    """
    return _stage_path(url, tuple(sorted((storage_options or {}).items())))


@functools.lru_cache(maxsize=16)
def _stage_path(url: str, options: tuple[tuple[str, Any], ...]) -> UPath:
    match = _URL.match(url)
    if match is None or not match["bucket"]:
        raise ObjectStorageError(
            f"stage_url {url!r} is not an object storage URL with a bucket: write it as "
            "<protocol>://<bucket>/<prefix>, e.g. s3://my-bucket/synth-pipeline (or unset stage_url / "
            f"${STAGE_URL_ENV} to keep stage data in the data directory)")
    protocol = match["protocol"].lower()
    try:
        from upath import UPath
    except ImportError as error:
        raise ObjectStorageError(
            f"stage_url {url!r} needs universal_pathlib and fsspec, which are not installed ({error}); "
            f"install them: {INSTALL_HINT}") from error
    settings = dict(options)
    if protocol in _LISTING_CACHES:
        settings.setdefault("use_listings_cache", False)
    try:
        path = UPath(url.rstrip("/"), **settings)
        filesystem = path.fs
    except ImportError as error:
        raise ObjectStorageError(
            f"stage_url {url!r}: the file system for {protocol}:// is not installed ({error}); install it: "
            f"{INSTALL_HINT} (s3fs) or the fsspec implementation of {protocol}://") from error
    except (ValueError, TypeError) as error:
        raise ObjectStorageError(
            f"stage_url {url!r} cannot be opened: {error}; use an fsspec URL such as s3://bucket/prefix and "
            "storage options the file system accepts") from error
    _probe(url, filesystem, match["bucket"], settings)
    return path


def _probe(url: str, filesystem: Any, bucket: str, settings: Mapping[str, Any]) -> None:
    """List the bucket once, turning each way it can fail into a message with its fix."""
    endpoint = settings.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get(
        "AWS_ENDPOINT_URL")
    where = f"stage_url {url!r}" + (f" at endpoint {endpoint}" if endpoint else "")
    try:
        filesystem.ls(bucket, detail=False)
    except FileNotFoundError as error:
        raise ObjectStorageError(
            f"{where}: bucket {bucket!r} does not exist ({error}); create it, or fix the bucket name") from error
    except PermissionError as error:
        raise ObjectStorageError(
            f"{where}: access to bucket {bucket!r} is denied ({error}); grant these credentials list, read and "
            "write on it, or configure other credentials") from error
    except Exception as error:  # botocore and aiohttp errors: not importable without the optional packages
        kind = type(error).__name__
        if "Credential" in kind:
            fix = ("no credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
                   "or pass key/secret in the store's storage_options")
        elif "Connect" in kind or "Timeout" in kind or isinstance(error, OSError):
            fix = ("the endpoint cannot be reached: check endpoint_url in storage_options or $AWS_ENDPOINT_URL "
                   "(for an S3-compatible server such as MinIO), and the network")
        else:
            fix = "check the URL, the credentials and the endpoint"
        raise ObjectStorageError(f"{where}: cannot list bucket {bucket!r} ({kind}: {error}); {fix}") from error


def clear_cache() -> None:
    """Forget the checked URLs of this process (for tests that restart a server)."""
    _stage_path.cache_clear()
