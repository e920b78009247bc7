"""Persistence of stage outputs: Parquet for frames, pickle for models, written atomically.

Layout under the stage location (the data directory, or the stage URL: see below)::

    <data_dir>/<asset key path>.parquet                 unpartitioned assets
    <data_dir>/<asset key path>/<generation>.parquet    one file per generation
    (.pkl instead of .parquet for non-tabular values such as trained models)
    <data_dir>/_monitors/<asset key path>/<monitor>/<generation>.parquet
                                                        quality monitors' figures per generation

The data directory is, in order of precedence: the ``base_dir`` the resource is
configured with, the ``SYNTH_PIPELINE_DATA_DIR`` environment variable, or
``.synth_pipeline/data`` under the working directory.

The stage data (the files above) can live on object storage instead: configure the
store's ``stage_url`` (or $SYNTH_PIPELINE_STAGE_URL), e.g. ``s3://bucket/prefix``
(:mod:`synth_pipeline.object_storage`). What needs a POSIX file system stays in the data
directory, which every process of a run must still share: the run lock, the lineage
journal and store, version records, the model cache, reports and incoming files.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import dagster as dg
import pandas as pd

from synth_pipeline import stage_files
from synth_pipeline.data_dir import DATA_DIR_ENV, resolve_data_dir
from synth_pipeline.errors import StoredDataNotFoundError, SynthPipelineError
from synth_pipeline.object_storage import STAGE_URL_ENV, configured_stage_url, stage_path
from synth_pipeline.run_lock import RunLock
from synth_pipeline.stage_files import StagePath

MONITORS_DIR = "_monitors"
DATA_DIR_TAG = "synth_pipeline/data_dir"
"""Run tag naming the data directory a Dagster run started elsewhere (UI, schedule, sensor) writes into."""
CHECKS_MONITOR = "checks"
"""Where check evaluations are kept, below an asset's monitor directory (:meth:`DatasetStore.write_check_result`)."""
_SAFE_PART = re.compile(r"^[A-Za-z0-9_.=-]+$")


class DatasetStore(dg.ConfigurableResource):
    """Reads and writes stage outputs under the data directory, or under a stage URL.

    Attributes:
        base_dir: The data directory (a local or shared POSIX directory); see the module
            docs for the default. It always holds the run lock, lineage and caches.
        input_dirs: Directories besides the data directory (and ``$SYNTH_PIPELINE_INPUT_DIRS``)
            that file paths in run config may name (:mod:`synth_pipeline.config_paths`);
            ``synth-pipeline run --source FILE`` binds the file's directory here.
        stage_url: Where the stage data goes instead of the data directory: an fsspec URL
            such as ``s3://bucket/prefix`` (default: $SYNTH_PIPELINE_STAGE_URL, else the data
            directory). Needs ``pip install 'synth-pipeline[s3]'``.
        storage_options: Options of the stage URL's file system (s3fs: ``endpoint_url``,
            ``key``, ``secret``, ``profile``); by default its own configuration (``AWS_*``).

    Example:
        .. code-block:: python

            store = DatasetStore(base_dir="/shared/synth", stage_url="s3://ml-data/synth-pipeline")
    """

    base_dir: str | None = None
    input_dirs: list[str] = []
    stage_url: str | None = None
    storage_options: dict[str, str] = {}

    @property
    def root(self) -> Path:
        """The resolved data directory (run lock, lineage, caches; stage data unless a stage URL is set)."""
        return resolve_data_dir(self.base_dir)

    @property
    def stage_root(self) -> StagePath:
        """Where stage data lives: the stage URL's path (checked once per process), else the data directory.

        Raises:
            ObjectStorageError: The stage URL cannot be used (names the problem and its fix).
        """
        url = configured_stage_url(self.stage_url)
        return stage_path(url, self.storage_options) if url else self.root

    def check_stage_location(self) -> None:
        """Fail now if the stage URL cannot be used (bad URL, missing package, credentials or endpoint).

        Raises:
            ObjectStorageError: Names the problem and its fix.
        """
        self.stage_root  # noqa: B018 - resolving it checks it (once per process)

    @property
    def stage_location(self) -> str:
        """The stage location as messages name it (URL or directory), without checking it."""
        return configured_stage_url(self.stage_url) or str(self.root)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[DatasetStore]:
        """Make a Dagster step wait while another run holds the data directory (:mod:`synth_pipeline.run_lock`).

        Steps run by a process holding the directory's run lock (``synth-pipeline run``) are part
        of its runs and go ahead. Any other step (a run from the UI, a schedule or a sensor) tags
        its run with the directory, for a ``synth-pipeline run`` starting meanwhile to wait for the
        whole run, and shares the lock while it runs, waiting for an exclusive holder first.
        """
        self.check_stage_location()  # before the step does any work
        lock = RunLock(self.root)
        if lock.covers_this_process():
            with super().yield_for_execution(context) as store:
                yield store
            return
        run, instance = context.dagster_run, context.instance
        if run is not None and instance is not None and run.tags.get(DATA_DIR_TAG) != str(self.root):
            instance.add_run_tags(run.run_id, {DATA_DIR_TAG: str(self.root)})
        with lock.share(report=context.log.info if context.log else None):
            with super().yield_for_execution(context) as store:
                yield store

    def _stem(self, asset_key: dg.AssetKey, partition_key: str | None) -> StagePath:
        parts = list(asset_key.path) + ([partition_key] if partition_key is not None else [])
        for part in parts:
            if not _SAFE_PART.match(part) or not part.strip("."):
                raise SynthPipelineError(
                    f"cannot store {asset_key.to_user_string()}: path part {part!r} may only "
                    "contain letters, digits and _ . = - (and not only dots); rename the asset key or partition"
                )
        return self.stage_root.joinpath(*parts)

    def path_for(self, asset_key: dg.AssetKey, partition_key: str | None, value: Any) -> StagePath:
        """The file a value of this type is stored in."""
        return self.file_for(asset_key, partition_key, tabular=isinstance(value, pd.DataFrame))

    def file_for(self, asset_key: dg.AssetKey, partition_key: str | None, *, tabular: bool) -> StagePath:
        """The file a frame (``tabular``: Parquet) or another value (pickle) of this asset is stored in."""
        stem = self._stem(asset_key, partition_key)
        return stem.with_name(stem.name + (".parquet" if tabular else ".pkl"))

    def write(self, value: Any, asset_key: dg.AssetKey, partition_key: str | None = None) -> StagePath:
        """Store ``value`` atomically and return its path; lifts any quarantine of the old value."""
        path = self.path_for(asset_key, partition_key, value)
        if isinstance(value, pd.DataFrame):
            stage_files.write_atomically(path, lambda handle: value.to_parquet(handle, index=False))
        else:
            stage_files.write_atomically(path, lambda handle: pickle.dump(value, handle, protocol=5))
        for marker in self._quarantine_markers(asset_key, partition_key):
            marker.unlink(missing_ok=True)
        return path

    def quarantine(self, asset_key: dg.AssetKey, partition_key: str | None, check_name: str, reason: str) -> None:
        """Mark a stored value as failing a blocking check, until it is written again."""
        stem = self._stem(asset_key, partition_key)
        marker = stem.with_name(f"{stem.name}.quarantine.{check_name}.txt")
        stage_files.write_atomically(marker, lambda handle: handle.write(reason.encode()))

    def quarantine_reasons(self, asset_key: dg.AssetKey, partition_key: str | None = None) -> dict[str, str]:
        """Check name -> reason for every blocking check the stored value failed."""
        return {
            marker.name.split(".quarantine.")[1].removesuffix(".txt"): marker.read_text()
            for marker in self._quarantine_markers(asset_key, partition_key)
        }

    def _quarantine_markers(self, asset_key: dg.AssetKey, partition_key: str | None) -> list[StagePath]:
        stem = self._stem(asset_key, partition_key)
        return sorted(stem.parent.glob(f"{stem.name}.quarantine.*.txt")) if stem.parent.is_dir() else []

    def exists(self, asset_key: dg.AssetKey, partition_key: str | None = None) -> bool:
        """Whether a value is stored for this asset (partition)."""
        stem = self._stem(asset_key, partition_key)
        return any(stem.with_name(stem.name + s).is_file() for s in (".parquet", ".pkl"))

    def path_of(self, asset_key: dg.AssetKey, partition_key: str | None = None) -> StagePath:
        """The file a value is stored in (Parquet or pickle).

        Raises:
            StoredDataNotFoundError: Nothing is stored for this asset (partition).
        """
        stem = self._stem(asset_key, partition_key)
        for suffix in (".parquet", ".pkl"):
            path = stem.with_name(stem.name + suffix)
            if path.is_file():
                return path
        self._not_found(asset_key, partition_key)

    def parquet_path(self, asset_key: dg.AssetKey, partition_key: str | None = None) -> StagePath:
        """The Parquet file of a stored frame (read it with :mod:`synth_pipeline.stage_files`).

        Raises:
            StoredDataNotFoundError: No frame is stored for this asset (partition).
        """
        stem = self._stem(asset_key, partition_key)
        path = stem.with_name(stem.name + ".parquet")
        if not path.is_file():
            self._not_found(asset_key, partition_key)
        return path

    def stored_partitions(self, asset_key: dg.AssetKey) -> list[str]:
        """The partition keys stored for an asset (frames only), in name order."""
        directory = self._stem(asset_key, None)
        return sorted(p.stem for p in directory.glob("*.parquet")) if directory.is_dir() else []

    def stored_generations(self, asset_key: dg.AssetKey, *, through: int | None = None) -> list[int]:
        """The generations (numeric partition keys) stored for an asset, ascending, up to ``through``."""
        generations = sorted(int(p) for p in self.stored_partitions(asset_key) if p.isdigit())
        return [g for g in generations if through is None or g <= through]

    def _monitor_dir(self, asset_key: dg.AssetKey, monitor: str) -> StagePath:
        self._stem(asset_key, None)  # the key's parts are checked there
        return self.stage_root.joinpath(MONITORS_DIR, *asset_key.path, *monitor.split("/"))

    def write_monitor(
        self, asset_key: dg.AssetKey, monitor: str, partition_key: str, figures: pd.DataFrame
    ) -> StagePath:
        """Store a monitor's figures for one generation of an asset (atomically; rewrites replace)."""
        path = self._monitor_dir(asset_key, monitor) / f"{partition_key}.parquet"
        stage_files.write_atomically(path, lambda handle: figures.to_parquet(handle, index=False))
        return path

    def monitor_history(self, asset_key: dg.AssetKey, monitor: str) -> pd.DataFrame:
        """Every stored generation of a monitor's figures, in file-name order (empty if none)."""
        directory = self._monitor_dir(asset_key, monitor)
        files = sorted(directory.glob("*.parquet")) if directory.is_dir() else []
        return pd.concat([stage_files.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame()

    def write_check_result(
        self, asset_key: dg.AssetKey, check_name: str, generation: int, row: dict[str, Any]
    ) -> StagePath:
        """Keep one evaluation of a check (verdict and evidence lines, no row values) for the report.

        ``generation`` is 0 for the unpartitioned stages; a rerun replaces the record. Each record
        gets ``recorded_at``, when it was written (UTC): the report takes the run of a generation's
        most recent record for its latest run (:mod:`synth_pipeline.report.runs`).
        """
        frame = pd.DataFrame([{"generation": generation, "check": check_name, **row,
                               "recorded_at": pd.Timestamp.now(tz="UTC")}])
        return self.write_monitor(asset_key, f"{CHECKS_MONITOR}/{check_name}", str(generation), frame)

    def check_results(self, asset_key: dg.AssetKey) -> pd.DataFrame:
        """Every kept check evaluation of an asset (:meth:`write_check_result`); empty if none."""
        directory = self._monitor_dir(asset_key, CHECKS_MONITOR)
        files = sorted(directory.glob("*/*.parquet")) if directory.is_dir() else []
        return pd.concat([stage_files.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame()

    def read(self, asset_key: dg.AssetKey, partition_key: str | None = None) -> Any:
        """Load a stored value.

        Raises:
            StoredDataNotFoundError: Nothing is stored for this asset (partition).
        """
        stem = self._stem(asset_key, partition_key)
        parquet, pickled = stem.with_name(stem.name + ".parquet"), stem.with_name(stem.name + ".pkl")
        if parquet.is_file():
            return stage_files.read_parquet(parquet)
        if pickled.is_file():
            with pickled.open("rb") as handle:
                return pickle.load(handle)
        self._not_found(asset_key, partition_key)

    def _not_found(self, asset_key: dg.AssetKey, partition_key: str | None) -> NoReturn:
        where = asset_key.to_user_string() + (f" generation {partition_key}" if partition_key else "")
        raise StoredDataNotFoundError(
            f"{where} has not been materialized under {self.stage_location}; materialize it first "
            "(earlier generations before later ones), or point the store at the data "
            f"directory (${DATA_DIR_ENV}) or stage URL (${STAGE_URL_ENV}) that holds it"
        )


class SynthPipelineIOManager(dg.ConfigurableIOManager):
    """Dagster IO manager that persists stage outputs through a :class:`DatasetStore`.

    Attributes:
        store: Where the files live.
    """

    store: DatasetStore

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Refuse a plain value: outputs are stored in one way only, stamped with provenance.

        Assets declared with provenance (:mod:`synth_pipeline.provenance_assets`) and the
        template's stages store through :func:`~synth_pipeline.publishing.publish_declared`, which
        also versions them and records their lineage, and return no value here. A value stored
        here would have neither, and downstream checks could not tell where its rows came from.

        Raises:
            ProvenanceError: The asset returned a value (names the asset and the two fixes).
        """
        if obj is None:
            return
        from synth_pipeline.errors import ProvenanceError

        raise ProvenanceError(
            f"{context.asset_key.to_user_string()} returned a {type(obj).__name__} to the synth-pipeline IO manager, "
            "which stores only outputs declared with provenance (stamped, versioned, in lineage). Declare the asset "
            "with @synth_pipeline.provenance_asset(role=...) (a trained model: role='model'), or give it an IO "
            "manager of its own (io_manager_key=...)")

    def load_input(self, context: dg.InputContext) -> Any:
        """The stored value of an upstream asset: its partition's, mapped to the generation it
        is stored under (:mod:`synth_pipeline.guarded`); for an unpartitioned asset made per
        generation, its latest generation."""
        from synth_pipeline.guarded import stored_partition

        if context.has_asset_partitions:
            return self.store.read(context.asset_key, stored_partition(context.asset_key, context.asset_partition_key))
        if not self.store.exists(context.asset_key):
            generations = self.store.stored_generations(context.asset_key)
            if generations:
                return self.store.read(context.asset_key, str(generations[-1]))
        return self.store.read(context.asset_key, None)
