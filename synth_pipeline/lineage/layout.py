"""Where lineage lives under the data directory.

::

    <data_dir>/lineage/events/<dagster run id>/<step>-<pid>.jsonl   the event journal
    <data_dir>/lineage/row_hashes/<content digest>.parquet          row hashes of holdouts, train
                                                                     splits and generator inputs
    <data_dir>/lineage/versions/<stored file path>.json             the version each stored
                                                                     dataset file holds
    <data_dir>/lineage/lineage.duckdb                               the query store
    <data_dir>/lineage/lineage.graph                                its lineage graph (Arrow IPC)

The journal is the record: one append-only file per step process, so parallel steps
never share a file. The DuckDB store is derived from it and can be rebuilt at any time.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from synth_pipeline.data_dir import resolve_data_dir
from synth_pipeline.stage_files import StagePath, is_remote

MANIFEST_COUNTS = ("copies", "real_copies", "unknown_copies")
"""Columns of a row-hash manifest beside ``row_hash``: rows with that hash, of them real, of them unknown-provenance."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]+")


def safe_name(text: str) -> str:
    """``text`` reduced to characters safe in a file name."""
    return _UNSAFE.sub("_", text).strip(".") or "_"


@dataclass(frozen=True)
class LineageLayout:
    """Paths of the lineage files under one data directory.

    Attributes:
        root: ``<data_dir>/lineage``.
    """

    root: Path

    @classmethod
    def for_data_dir(cls, data_dir: str | Path | None = None) -> LineageLayout:
        """The layout under ``data_dir`` (default: the data directory the store resolves)."""
        return cls(root=resolve_data_dir(str(data_dir) if data_dir is not None else None) / "lineage")

    @property
    def events_dir(self) -> Path:
        return self.root / "events"

    @property
    def row_hashes_dir(self) -> Path:
        return self.root / "row_hashes"

    @property
    def store_path(self) -> Path:
        return self.root / "lineage.duckdb"

    @property
    def wal_path(self) -> Path:
        """DuckDB's write-ahead log of the store."""
        return self.store_path.with_name(f"{self.store_path.name}.wal")

    @property
    def lock_path(self) -> Path:
        return self.root / "lineage.duckdb.lock"

    @property
    def graph_path(self) -> Path:
        """The lineage graph (an Arrow IPC file), kept up to date by each sync (:mod:`~.graph_table`)."""
        return self.root / "lineage.graph"

    def journal_file(self, run_id: str, step_key: str, pid: int) -> Path:
        """The journal file of one step process."""
        return self.events_dir / safe_name(run_id) / f"{safe_name(step_key)}-{pid}.jsonl"

    def row_hash_manifest(self, digest: str) -> Path:
        """The row-hash file of a dataset's content (named by its content digest)."""
        return self.row_hashes_dir / f"{safe_name(digest)}.parquet"

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    def version_record(self, data_file: StagePath) -> Path:
        """Where the version of a stored dataset file is recorded (see :mod:`~synth_pipeline.lineage.versions`).

        The record mirrors the file's path under the data directory (``root``'s parent); a
        file on object storage (a stage URL) gets one flat, safe name made from its URL.
        """
        try:
            if is_remote(data_file):
                raise ValueError("on object storage")
            relative = Path(data_file).absolute().relative_to(self.root.parent)
        except ValueError:  # not under this data directory: one flat, safe name
            relative = Path(safe_name(str(data_file)))
        return self.versions_dir / relative.with_name(f"{relative.name}.json")

    def journal_files(self) -> list[Path]:
        """Every journal file, in name order."""
        return [path for path, _ in self.journal_sizes()]

    def journal_dirs(self) -> list[tuple[Path, int]]:
        """Every run directory of the journal with its change stamp, in name order.

        A run directory's stamp (its modification time in ns) changes when a file is
        created in it and, set by :meth:`mark_journal_changed`, after every event.
        """
        return [(Path(path), stamp) for path, stamp in self.journal_dir_stamps()]

    def journal_dir_stamps(self) -> list[tuple[str, int]]:
        """As :meth:`journal_dirs`, with paths as text (cheaper for a journal of 10,000s of runs)."""
        try:
            with os.scandir(self.events_dir) as entries:
                found = [(entry.path, entry.stat().st_mtime_ns) for entry in entries if entry.is_dir()]
        except FileNotFoundError:
            return []
        found.sort()
        return found

    def journal_sizes(self, run_dirs: list[Path] | None = None) -> list[tuple[Path, int]]:
        """Every journal file (of ``run_dirs``, default all) and its size in bytes, in name order."""
        return [(Path(path), size) for path, size in self.journal_paths_and_sizes(run_dirs)]

    def journal_paths_and_sizes(self, run_dirs: list[str] | list[Path] | None = None) -> list[tuple[str, int]]:
        """As :meth:`journal_sizes`, with paths as text (a sync lists 100,000s of files; Path
        objects cost more to make and to sort than the listing itself)."""
        found: list[tuple[str, int]] = []
        for run_dir in run_dirs if run_dirs is not None else [path for path, _ in self.journal_dir_stamps()]:
            try:
                with os.scandir(run_dir) as entries:
                    found += [(entry.path, entry.stat().st_size) for entry in entries
                              if entry.name.endswith(".jsonl") and entry.is_file()]
            except FileNotFoundError:
                continue
        found.sort()
        return found

    def journal_stamp(self) -> int | None:
        """The journal's change stamp: the events directory's modification time in ns (None if absent).

        Every emitted event sets it (:meth:`mark_journal_changed`), as does every new run
        directory, so an unchanged stamp means nothing was written since it was read.
        """
        try:
            return self.events_dir.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def mark_journal_changed(self, journal_file: Path) -> None:
        """Set the change stamps of ``journal_file``'s run directory and of the journal to now.

        Called after each event is appended, so a sync can skip what has not changed.
        """
        # An explicit nanosecond time: the kernel's own clock for "now" can be coarse enough
        # that two writes a few milliseconds apart leave the same stamp.
        now = time.time_ns()
        for directory in (journal_file.parent, self.events_dir):
            try:
                os.utime(directory, ns=(now, now))
            except PermissionError:  # a directory owned by another user: only "now" is allowed
                os.utime(directory)
