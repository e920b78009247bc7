"""The DuckDB lineage store: built from the event journal by one writer at a time.

DuckDB admits one writing process per database file, while Dagster's multiprocess
executor runs steps in parallel processes. Steps therefore never open the store: they
append to their own journal files (:mod:`synth_pipeline.lineage.emitter`). The store
is brought up to date by :meth:`LineageStore.sync`, which holds an exclusive lock file
while it reads the journal files that are new or have grown, so concurrent syncs and
queries wait for each other instead of failing on DuckDB's lock. Each file's read offset
is committed with its events, so syncing twice, or after a crash, never duplicates a
record.

Crash safety: the lock is an ``flock``, which the kernel releases when its holder dies,
so a killed sync never blocks the next one; a killed sync's transaction is rolled back
by DuckDB and its staging file removed by the next sync. Only complete journal lines are
read: a line cut off by a killed writer has no newline and is never ingested (its
writer is gone, so it never completes); it stays in the journal file, which is read up
to it.

Queries sync first, cheaply: every emitted event also sets the modification time of the
journal directory, and a query only scans the journal when that time differs from the
one the last sync recorded. The graph used by ancestry queries is kept in memory between
queries until the journal or the store changes, and on disk beside the store
(``lineage.graph``, :mod:`~synth_pipeline.lineage.graph_table`): each sync extends it by
what it added and writes it, under the lock, after its last commit, so a new process maps
it rather than building it from the tables. It names the store and the number of ingests
it reflects, both committed with the events; a graph file that does not match (a sync
killed before writing it, a rebuilt store) is never used: the graph is built from the
tables again.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synth_pipeline.lineage import graph_table, queries
from synth_pipeline.lineage.graph import LineageGraph
from synth_pipeline.lineage.layout import MANIFEST_COUNTS, LineageLayout
from synth_pipeline.lineage.schema import (
    DDL,
    DROP_DUPLICATE_EVENTS,
    EVENT_COLUMNS,
    INGEST,
    MANIFESTS_TO_LOAD,
    SCHEMA_VERSION,
    STAGE_EVENTS,
)
from synth_pipeline.user_input import cut

# Journal bytes read per transaction. Each batch costs some fixed work on the store's big
# tables, so few large batches ingest fastest; 1 GiB of events takes about 2-3 GB of memory.
_BATCH_BYTES = 1 << 30
_STAGING_PREFIX = ".staging-"
_PROCESS_LOCKS: dict[str, threading.RLock] = {}
_HELD: set[str] = set()
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncReport:
    """What a sync read.

    Attributes:
        files: Journal files read (new or grown since the last sync).
        events: Events added to the store.
        seconds: Wall-clock time.
    """

    files: int
    events: int
    seconds: float


class LineageStore:
    """The lineage store of one data directory.

    Args:
        data_dir: The data directory (default: as the dataset store resolves it).
        layout: Explicit lineage paths (overrides ``data_dir``).
    """

    def __init__(self, data_dir: str | Path | None = None, *, layout: LineageLayout | None = None) -> None:
        self.layout = layout or LineageLayout.for_data_dir(data_dir)
        self._cached: _CachedGraph | None = None
        # The graph table of the last sync or load, with the store state it reflects.
        self._table: tuple[tuple[str | None, str | None], pa.Table] | None = None

    @property
    def path(self) -> Path:
        """The DuckDB file."""
        return self.layout.store_path

    @property
    def where(self) -> str:
        """``in the lineage store <path>``, for messages about names it does not hold."""
        return f"{queries.STORE} {cut(str(self.path))}"

    @contextmanager
    def connect(self, *, sync: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the store, under the store's lock (brought up to date first by default)."""
        with self._locked():
            connection = self._open()
            try:
                if sync:
                    self._sync_if_journal_changed(connection)
                yield connection
            finally:
                connection.close()

    def graph(self) -> LineageGraph:
        """The lineage graph, up to date with the journal (kept in memory while nothing changes)."""
        journal = self.layout.journal_stamp()
        cached = self._cached
        if (cached is not None and cached.journal == journal and _settled(journal)
                and cached.store == self._store_stamp()):
            return cached.graph
        with self._locked():
            connection = self._open()
            try:
                journal = self._sync_if_journal_changed(connection)
                # Which store, and how many ingests it has had: a rebuilt store may have the
                # same row counts with other node ids.
                content = _content(connection)
                graph = cached.graph if cached is not None and cached.content == content else LineageGraph.from_table(
                    self._graph_table(connection, content), connection)
            finally:
                connection.close()
            # Stamps are taken under the lock: the journal's as it was before the sync
            # scanned it (a later event changes it again), the store's after closing.
            self._cached = _CachedGraph(journal=journal, store=self._store_stamp(), content=content, graph=graph)
        return graph

    def ancestors(
        self, name: str, *, version: str | None = None, generation: int | None = None, max_hops: int | None = None
    ) -> pd.DataFrame:
        """Every dataset version ``name`` (at ``version``, or the latest of ``generation``, or the
        latest) was made from, to any depth, with the fewest hops to each (0 = itself)."""
        graph = self.graph()
        starts = queries.resolve(graph, name, version=version, generation=generation, where=self.where)
        return queries.reachable(graph, starts, upstream=True, max_hops=max_hops)

    def descendants(
        self,
        name: str | None = None,
        *,
        version: str | None = None,
        generation: int | None = None,
        generator: str | None = None,
        pipeline: str | None = None,
        max_hops: int | None = None,
    ) -> pd.DataFrame:
        """Everything made from a dataset version, or (with ``generator``) from every dataset a
        generator such as ``sdv.gaussian_copula`` made (in ``pipeline`` / ``generation`` if given)."""
        if (name is None) == (generator is None):
            raise queries.LineageQueryError("give either a dataset name or a generator")
        if name is not None:
            graph = self.graph()
            starts = queries.resolve(graph, name, version=version, generation=generation, where=self.where)
        else:
            with self._graph_and_connection() as (graph, connection):
                starts = queries.generator_outputs(connection, generator, pipeline=pipeline, generation=generation,
                                                   where=self.where)
        return queries.reachable(graph, starts, upstream=False, max_hops=max_hops)

    def composition(self, pipeline: str | None = None, *, all_runs: bool = False) -> pd.DataFrame:
        """Per generation: rows per kind, synthetic and non-real fractions and depth of the training mix
        its last run made (with ``all_runs``: of every run's mix), and the Dagster run."""
        with self.connect() as connection:
            return queries.composition(connection, pipeline, all_runs=all_runs)

    def checks(
        self, *, pipeline: str | None = None, generation: int | None = None, check: str | None = None,
        failed_only: bool = False, all_runs: bool = False,
    ) -> pd.DataFrame:
        """Check results per generation: the latest evaluation of each check on each asset in each
        generation, or (``all_runs``) every evaluation, superseded ones included.

        Args:
            pipeline: Only this pipeline.
            generation: Only this generation.
            check: Only this check.
            failed_only: Only evaluations that did not pass (among the latest, unless ``all_runs``).
            all_runs: The whole history rather than the latest evaluations.
        """
        with self.connect() as connection:
            return queries.checks(connection, pipeline=pipeline, generation=generation, check=check,
                                  failed_only=failed_only, all_runs=all_runs)

    def check_outcomes(self, name: str, version: str, generation: int) -> dict[str, bool]:
        """Check name -> whether its latest evaluation on a dataset version, in this generation
        (0: unpartitioned), let it through: passed, or failed with WARN severity (checks never
        evaluated on it are absent).

        Args:
            name: The dataset name.
            version: The exact version (materialization), or a content digest: then the
                latest evaluation on any materialization of that content counts.
            generation: The generation the checks were evaluated for.
        """
        with self.connect() as connection:
            rows = connection.execute(
                "SELECT r.check_name, arg_max(coalesce(r.passed, false) OR r.severity = 'WARN', r.evaluated_at) "
                "FROM check_results AS r JOIN dataset_versions AS d USING (node_id) "
                "WHERE d.name = $name AND (d.version = $version OR d.content_digest = $version) "
                "AND r.generation = $generation GROUP BY r.check_name",
                {"name": name, "version": version, "generation": generation},
            ).fetchall()
        return {check: bool(passed) for check, passed in rows}

    def events_of_runs(self, dagster_run_ids: Sequence[str]) -> int:
        """How many events of these Dagster runs the store holds (brought up to date first).

        Counts what the runs' steps journaled, whoever synced it into the store (a query
        started meanwhile syncs too), unlike the ``events`` of one :meth:`sync`.

        Args:
            dagster_run_ids: The Dagster run ids.

        Returns:
            The number of events, 0 when none is recorded.
        """
        if not dagster_run_ids:
            return 0
        with self.connect() as connection:
            return int(connection.execute(
                "SELECT count(*) FROM events WHERE list_contains($ids, dagster_run_id)", {"ids": list(dagster_run_ids)}
            ).fetchall()[0][0])

    def holdout_audit(self, pipeline: str | None = None) -> pd.DataFrame:
        """Per generator run: holdout rows in its training data, and whether a holdout is upstream of it."""
        with self._graph_and_connection() as (graph, connection):
            return queries.holdout_audit(connection, graph, pipeline=pipeline)

    def holdout_overlap(self, pipeline: str | None = None) -> pd.DataFrame:
        """Per pipeline: the sealed holdout's contents the train split also holds (legitimate duplicate rows)."""
        with self.connect() as connection:
            return queries.holdout_overlap(connection, pipeline)

    @contextmanager
    def _graph_and_connection(self) -> Iterator[tuple[LineageGraph, duckdb.DuckDBPyConnection]]:
        # One lock for both, so node ids read with SQL are those of the graph.
        with self._locked():
            graph = self.graph()
            with self.connect(sync=False) as connection:
                yield graph, connection

    def sync(self, *, full: bool = False) -> SyncReport:
        """Read new and grown journal files into the store.

        Args:
            full: Look at every journal file, rather than only in the run directories whose
                change stamp moved since the last sync (needed for journal files appended to
                by hand, or by a writer killed between appending an event and stamping it).
        """
        with self._locked():
            connection = self._open()
            try:
                return self._sync(connection, full=full)
            finally:
                connection.close()

    def rebuild(self) -> SyncReport:
        """Delete the store and build it again from the journal (the record)."""
        with self._locked():
            self._cached = self._table = None
            self._delete_store()
            connection = self._open()
            try:
                return self._sync(connection, full=True)
            finally:
                connection.close()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # flock excludes other processes; the per-path RLock makes it re-entrant within this
        # one (a second flock on the same file from this process would wait for itself).
        key = str(self.layout.lock_path)
        with _PROCESS_LOCKS.setdefault(key, threading.RLock()):
            if key in _HELD:
                yield
                return
            self.layout.root.mkdir(parents=True, exist_ok=True)
            with open(self.layout.lock_path, "a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                _HELD.add(key)
                try:
                    yield
                finally:
                    _HELD.discard(key)
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _sweep_staging(self, *, keep: Path) -> None:
        """Remove staging files of syncs killed before they could (only the lock holder writes one)."""
        for path in self.layout.root.glob(f"{_STAGING_PREFIX}*"):
            if path != keep:
                path.unlink(missing_ok=True)

    def _store_stamp(self) -> tuple[tuple[int, int] | None, ...]:
        return _file_stamp(self.path), _file_stamp(self.layout.wal_path)

    def _delete_store(self) -> None:
        # The write-ahead log first: a process killed in between leaves a store without its
        # log (consistent as of its last checkpoint), never a log without its store. The
        # graph file names the store it was written for, so one left behind is never used.
        for path in (self.layout.wal_path, self.path, self.layout.graph_path):
            path.unlink(missing_ok=True)

    def _graph_table(self, connection: duckdb.DuckDBPyConnection, content: tuple[str | None, str | None]) -> pa.Table:
        """The graph of the store in state ``content``: the one this object last synced or
        loaded, or the graph file, or (if neither is of that state) built from the tables and written."""
        if self._table is not None and self._table[0] == content:
            return self._table[1]
        table = graph_table.read(self.layout.graph_path, _key(content))
        if table is None:
            table = graph_table.build(connection)
            self._write_graph(table, content)
        self._table = (content, table)
        return table

    def _write_graph(self, table: pa.Table, content: tuple[str | None, str | None]) -> None:
        try:
            graph_table.write(table, self.layout.graph_path, _key(content))
        except OSError as error:  # each new process then builds the graph from the tables
            _LOG.warning("could not write the lineage graph %s: %s", self.layout.graph_path, error)

    def _update_graph(self, connection: duckdb.DuckDBPyConnection, before: tuple[str | None, str | None],
                      delta: _GraphDelta) -> None:
        """Bring the graph, in memory and on disk, from store state ``before`` to the present one."""
        after = _content(connection)
        if after == before:
            return
        if self._table is not None and self._table[0] == before:
            base = self._table[1]
        elif before[1] is None:  # no ingest before: an empty graph
            base = None
        else:
            base = graph_table.read(self.layout.graph_path, _key(before))
            if base is None:  # the graph of the state before is not at hand: built from the tables
                self._table = None
                self._graph_table(connection, after)
                return
        try:
            table = graph_table.extend(base, connection, parents=delta.parents(), children=delta.children())
        except ValueError as error:  # never expected: the graph is then built from the tables
            _LOG.warning("lineage graph rebuilt from the tables: %s", error)
            table = graph_table.build(connection)
        self._table = (after, table)
        self._write_graph(table, after)

    def _open(self) -> duckdb.DuckDBPyConnection:
        connection = duckdb.connect(str(self.path))
        schema_version = _meta(connection, "schema_version")
        if schema_version == str(SCHEMA_VERSION):
            return connection  # nothing to create: opening the store writes nothing
        if schema_version is not None:
            # The journal is the record: a store of another schema version is rebuilt from it.
            connection.close()
            self._delete_store()
            connection = duckdb.connect(str(self.path))
        # One transaction: a process killed while creating the store leaves none of it.
        connection.execute("BEGIN TRANSACTION")
        connection.execute(DDL)
        connection.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        connection.execute("INSERT OR REPLACE INTO meta VALUES ('store_id', ?)", [uuid.uuid4().hex])
        connection.execute("COMMIT")
        return connection

    def _sync_if_journal_changed(self, connection: duckdb.DuckDBPyConnection) -> int | None:
        """Sync unless the journal's stamp is the one the last sync recorded; return the stamp."""
        journal = self.layout.journal_stamp()
        if journal is None or _meta(connection, "journal_stamp") != str(journal):
            self._sync(connection)
        return journal

    def _sync(self, connection: duckdb.DuckDBPyConnection, *, full: bool = False) -> SyncReport:
        started = time.perf_counter()
        # Stamps are read before the files: an event appended during the scan changes them again.
        journal = self.layout.journal_stamp()
        run_dirs = self.layout.journal_dir_stamps()
        if not full:
            seen = dict(connection.execute("SELECT path, stamp FROM journal_dirs").fetchall())
            run_dirs = [(path, stamp) for path, stamp in run_dirs if seen.get(path) != stamp]
        offsets = self._offsets(connection, [path for path, _ in run_dirs])
        # One checkpoint at the end rather than one per batch, which rewrites the big tables each time.
        connection.execute("SET checkpoint_threshold = '1TB'")
        before = _content(connection)
        delta = _GraphDelta()
        batch = _Batch(self.layout.root / f"{_STAGING_PREFIX}{os.getpid()}.jsonl")
        self._sweep_staging(keep=batch.path)
        files = added = 0
        try:
            for path, size in self.layout.journal_paths_and_sizes([path for path, _ in run_dirs]):
                offset = offsets.get(path, 0)
                if size == offset:
                    continue
                if size < offset:  # never happens to an append-only journal; read it again whole
                    offset = 0
                batch.add(path, offset)
                files += 1
                if batch.bytes >= _BATCH_BYTES:
                    added += self._ingest(connection, batch, delta)
                    batch.clear()
            if batch.files:
                added += self._ingest(connection, batch, delta)
        finally:
            batch.discard()
        settled = [(path, stamp) for path, stamp in run_dirs if _settled(stamp)]
        if settled:
            connection.execute(
                "INSERT OR REPLACE INTO journal_dirs SELECT unnest($paths), unnest($stamps)",
                {"paths": [path for path, _ in settled], "stamps": [stamp for _, stamp in settled]},
            )
        if _settled(journal):
            connection.execute("INSERT OR REPLACE INTO meta VALUES ('journal_stamp', ?)", [str(journal)])
        connection.execute("RESET checkpoint_threshold")
        if added:
            connection.execute("CHECKPOINT")
        if delta.ingests:
            try:
                self._update_graph(connection, before, delta)
            except Exception:  # the events are stored: a query builds the graph from the tables instead
                _LOG.exception("could not update the lineage graph %s", self.layout.graph_path)
                self._table = None
                self.layout.graph_path.unlink(missing_ok=True)
        return SyncReport(files=files, events=added, seconds=time.perf_counter() - started)

    @staticmethod
    def _offsets(connection: duckdb.DuckDBPyConnection, run_dirs: list[str]) -> dict[str, int]:
        """How far each journal file in ``run_dirs`` has been read."""
        if len(run_dirs) > 64:
            return dict(connection.execute("SELECT path, size FROM ingested_files").fetchall())
        offsets: dict[str, int] = {}
        for run_dir in run_dirs:
            offsets.update(connection.execute(
                "SELECT path, size FROM ingested_files WHERE starts_with(path, ?)", [f"{run_dir}{os.sep}"]
            ).fetchall())
        return offsets

    def _ingest(self, connection: duckdb.DuckDBPyConnection, batch: _Batch, delta: _GraphDelta) -> int:
        """Read the batch's lines into the store in one transaction, with each file's new offset."""
        batch.flush()
        connection.execute("BEGIN TRANSACTION")
        try:
            base = connection.execute("SELECT coalesce(max(node_id), -1) + 1 FROM dataset_versions").fetchall()[0][0]
            connection.execute(STAGE_EVENTS, {"file": str(batch.path), "columns": EVENT_COLUMNS})
            connection.execute(DROP_DUPLICATE_EVENTS)
            added = connection.execute("SELECT count(*) FROM staged").fetchall()[0][0]
            for statement in INGEST:
                connection.execute(statement, {"base": base} if "$base" in statement else None)
            for digest, manifest in connection.execute(MANIFESTS_TO_LOAD).fetchall():
                path = self.layout.root / manifest
                if path.is_file():
                    connection.execute(_load_manifest(path), [digest, str(path)])
            connection.execute(
                "INSERT OR REPLACE INTO ingested_files SELECT unnest($paths), unnest($offsets), now()",
                {"paths": list(batch.files), "offsets": list(batch.files.values())},
            )
            connection.execute(
                "INSERT OR REPLACE INTO meta SELECT 'ingests', "
                "CAST(coalesce((SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'ingests'), 0) + 1 AS VARCHAR)"
            )
            # The edges this batch added, for the graph (the versions it added or changed are
            # read from the tables: see graph_table.extend).
            edges = connection.execute("SELECT parent_id, child_id FROM new_edges").fetchnumpy()
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        delta.add(edges["parent_id"], edges["child_id"])
        return int(added)


def _load_manifest(path: Path) -> str:
    """The statement loading one row-hash manifest; one written before copies were kept loads NULL counts."""
    names = set(pq.read_schema(path).names)
    counts = ", ".join(name if name in names else "NULL" for name in MANIFEST_COUNTS)
    return f"INSERT INTO row_hashes SELECT ?, row_hash, {counts} FROM read_parquet(?)"


class _GraphDelta:
    """The edges the ingests of one sync added."""

    def __init__(self) -> None:
        self.ingests = 0
        self._parents: list[np.ndarray] = []
        self._children: list[np.ndarray] = []

    def add(self, parents: np.ndarray, children: np.ndarray) -> None:
        self.ingests += 1
        self._parents.append(np.asarray(parents, dtype=np.int32))
        self._children.append(np.asarray(children, dtype=np.int32))

    def parents(self) -> np.ndarray:
        return np.concatenate([np.zeros(0, dtype=np.int32), *self._parents])

    def children(self) -> np.ndarray:
        return np.concatenate([np.zeros(0, dtype=np.int32), *self._children])


@dataclass(frozen=True)
class _CachedGraph:
    journal: int | None
    store: tuple[tuple[int, int] | None, ...]
    content: tuple[str | None, str | None]
    graph: LineageGraph


# A stamp this recent is not trusted to say "nothing changed since": on a file system with
# coarse timestamps (1 s on some), or when another user's directory only takes the kernel's
# clock, an event written in the same tick leaves the stamp as it was.
_SETTLE_NS = 2_000_000_000


def _settled(stamp: int | None) -> bool:
    return stamp is not None and time.time_ns() - stamp > _SETTLE_NS


def _content(connection: duckdb.DuckDBPyConnection) -> tuple[str | None, str | None]:
    """Which store, and how many ingests it has had (None before the first)."""
    return _meta(connection, "store_id"), _meta(connection, "ingests")


def _key(content: tuple[str | None, str | None]) -> dict[str, object]:
    return {"store_id": content[0], "ingests": content[1]}


def _meta(connection: duckdb.DuckDBPyConnection, key: str) -> str | None:
    try:
        rows = connection.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    except duckdb.CatalogException:  # a new store: no tables yet
        return None
    return rows[0][0] if rows else None


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size


class _Batch:
    """Complete lines of journal files gathered into one staging file (DuckDB reads one big
    file far faster than many small ones), with the offset each file was read up to.

    A line not yet ended by a newline (an event being written, or cut off by a killed
    process) is left for a later sync.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: dict[str, int] = {}
        self.bytes = 0
        self._chunks: list[bytes] = []

    def add(self, journal: str, offset: int) -> None:
        with open(journal, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1
        if end:
            self._chunks.append(data[:end])
            self.bytes += end
        self.files[journal] = offset + end

    def flush(self) -> None:
        with open(self.path, "wb") as handle:
            handle.writelines(self._chunks)

    def clear(self) -> None:
        self.files.clear()
        self._chunks.clear()
        self.bytes = 0

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
