"""Where lineage lives under the data directory.

::

    <data_dir>/lineage/events/<dagster run id>/<step>-<pid>.jsonl   the event journal
    <data_dir>/lineage/row_hashes/<version>.parquet                 row hashes of holdouts
                                                                     and generator inputs
    <data_dir>/lineage/lineage.duckdb                               the query store

The journal is the record: one append-only file per step process, so parallel steps
never share a file. The DuckDB store is derived from it and can be rebuilt at any time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from synth_pipeline.storage import resolve_data_dir

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
    def lock_path(self) -> Path:
        return self.root / "lineage.duckdb.lock"

    def journal_file(self, run_id: str, step_key: str, pid: int) -> Path:
        """The journal file of one step process."""
        return self.events_dir / safe_name(run_id) / f"{safe_name(step_key)}-{pid}.jsonl"

    def row_hash_manifest(self, version: str) -> Path:
        """The row-hash file of a dataset version."""
        return self.row_hashes_dir / f"{safe_name(version)}.parquet"

    def journal_files(self) -> list[Path]:
        """Every journal file, in name order."""
        return sorted(self.events_dir.glob("*/*.jsonl")) if self.events_dir.is_dir() else []
