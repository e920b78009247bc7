"""Atomic file writes on a local (or mounted) file system, and the sweep of dead writers' leftovers.

A write goes to a hidden temporary file in the same directory, is flushed and renamed over
the target, so a reader sees the old file or the new one, never a partial one. Used by the
store (:mod:`synth_pipeline.storage`), stage files (:mod:`synth_pipeline.stage_files`), the
run and report writers.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import uuid
from pathlib import Path
from typing import Any

_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp$")


def temporary_path(path: Path) -> Path:
    """A new temporary name next to ``path``: ``.<name>.<uuid>.tmp`` (hidden, never a ``.parquet``)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def atomic_write(path: Path, write: Any) -> None:
    """Write via a temporary file in the same directory, then rename over ``path``.

    Readers see the old file or the new one, never a partial write; a failed write
    leaves no temporary file behind. A writer killed outright (SIGKILL, power loss)
    cannot remove its temporary file: the writer holds an exclusive ``flock`` on it
    until the rename, which the kernel releases when the process dies, so
    :func:`sweep_temporary_files` can tell a dead writer's leftover from a live write.
    On a file system without locks (some NFS mounts) the write goes ahead unlocked, and
    the sweep leaves such leftovers alone.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temporary = temporary_path(path)
        handle = open(temporary, "xb")
        try:
            if not _lock(handle) or os.fstat(handle.fileno()).st_nlink:
                break
        except BaseException:
            handle.close()
            temporary.unlink(missing_ok=True)
            raise
        # A sweep removed the file between its creation and the lock: take another name.
        handle.close()
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(temporary, path)  # still locked: a sweep never sees it unlocked under this name
    finally:
        temporary.unlink(missing_ok=True)


def _lock(handle: Any, *, wait: bool = True) -> bool:
    """Take an exclusive ``flock``; False where the file system has no locks (some NFS mounts).

    Raises:
        BlockingIOError: ``wait`` is False and another process holds the lock.
    """
    try:
        fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise
    except OSError as error:
        if error.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
            return False
        raise
    return True


def sweep_temporary_files(root: Path, *, skip: tuple[str, ...] = ()) -> list[Path]:
    """Remove temporary files of :func:`atomic_write` whose writer is gone (killed mid-write).

    A leftover is invisible to readers (hidden, and never named like a stored file), so
    it only wastes space; a temporary file still locked by a live writer is left alone.

    Args:
        root: The directory to sweep, with its subdirectories.
        skip: Names of subdirectories (relative to ``root``) not to enter.

    Returns:
        The files removed.
    """
    removed: list[Path] = []
    skipped = {str(root / name) for name in skip}
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if os.path.join(directory, d) not in skipped]
        for name in files:
            if _TEMPORARY.match(name) and _remove_if_abandoned(Path(directory) / name):
                removed.append(Path(directory) / name)
    return removed


def _remove_if_abandoned(path: Path) -> bool:
    try:
        handle = open(path, "rb")
    except FileNotFoundError:  # renamed into place or removed meanwhile
        return False
    with handle:
        try:
            if not _lock(handle, wait=False):  # no locks here: cannot tell a live writer, keep it
                return False
        except BlockingIOError:  # a live writer holds it
            return False
        # Unlinked by name: if the writer renamed it into place meanwhile, this name is gone.
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True
