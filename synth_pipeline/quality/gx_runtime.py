"""One Great Expectations (GX Core 1.x) runtime per process, made on first use and then reused.

Importing great_expectations costs 2-3 s of CPU (about 460 of its own modules, plus
sqlalchemy, altair, botocore ...); validating a 71-expectation suite on a few hundred rows
costs about 0.25 s, almost all of it GX's per-expectation bookkeeping. What this module
saves is everything around the validation:

* the import happens once per process (:func:`great_expectations`), on first use, so that
  loading a code location never pays it;
* one ephemeral data context, one pandas data source, one dataframe asset and one
  whole-dataframe batch definition serve every validation in the process
  (:func:`gx_runtime`), instead of a context and data source per check;
* each stage's frame is one batch (:meth:`GxRuntime.batch`): the suite is validated on it
  in one pass (see :func:`synth_pipeline.quality.expectations.validate`).

Which process that is depends on the Dagster executor. The in-process executor (``synth-pipeline
run``, the tests) runs every step of a run in one process: GX is imported once, by the first
``expectations`` check, and later generations run by the same process do not pay it again.
Dagster's multiprocess executor (the default for runs launched from the UI, a schedule or a
sensor) starts each step in a new process; with its default ``spawn`` start method each
``expectations`` step imports GX again. With ``start_method: forkserver`` and this package's
preload module in ``preload_modules`` (see :mod:`synth_pipeline.quality.gx_preload`), the fork
server imports GX once per run and every step process starts from it with GX imported.

A runtime belongs to the process that made it: a process forked from one that already made a
runtime makes its own on first use (the context's locks and caches are not shared across a fork).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pandas as pd

DATA_SOURCE = "synth_pipeline"
"""The name of the runtime's pandas data source."""
DATA_ASSET = "stage frame"
"""The name of its dataframe asset: each stage's frame is one batch of it."""
BATCH_DEFINITION = "whole frame"
"""The name of the asset's whole-dataframe batch definition."""


@dataclass(frozen=True)
class GxImport:
    """Where and at what cost great_expectations was imported for this process.

    Attributes:
        pid: The process that imported it: this one, or the process it was forked from (a
            fork server that preloaded :mod:`synth_pipeline.quality.gx_preload`).
        wall_seconds: Wall time of the import.
        cpu_seconds: CPU time of the importing process during the import.
        already_loaded: GX was in ``sys.modules`` before (imported by other code): the
            times are then those of a lookup.
    """

    pid: int
    wall_seconds: float
    cpu_seconds: float
    already_loaded: bool


@functools.cache
def gx_import() -> GxImport:
    """Import great_expectations on the first call in a process; later calls return the same record.

    A process forked after the import (from a preloading fork server) inherits the record, so
    ``gx_import().pid != os.getpid()`` there: the step did not pay the import.

    Returns:
        The record of the import.
    """
    already_loaded = "great_expectations" in sys.modules
    # Read when GX is imported; unset, GX would try to send usage statistics.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    wall, cpu = time.perf_counter(), time.process_time()
    import great_expectations  # noqa: F401 - the import is the point

    return GxImport(pid=os.getpid(), wall_seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu,
                    already_loaded=already_loaded)


def great_expectations() -> ModuleType:
    """great_expectations, imported on the first call in a process (:func:`gx_import`).

    Returns:
        The ``great_expectations`` module.
    """
    gx_import()
    return sys.modules["great_expectations"]


@dataclass(frozen=True)
class GxRuntime:
    """The GX objects one process validates with.

    Attributes:
        gx: The ``great_expectations`` module.
        context: The process's ephemeral data context (in memory, nothing written to disk).
        batch_definition: A whole-dataframe batch definition of the context's one dataframe
            asset; each frame validated is a batch of it.
        lock: Held while a batch is validated: a GX context is not thread-safe, and a process
            may run checks on several threads.
        pid: The process that made the runtime.
    """

    gx: ModuleType
    context: Any
    batch_definition: Any
    lock: threading.Lock
    pid: int

    def batch(self, frame: pd.DataFrame) -> Any:
        """``frame`` as a GX batch, ready for ``batch.validate(suite, result_format=...)``.

        Args:
            frame: The data to validate (not copied).

        Returns:
            A ``great_expectations`` ``Batch`` of the runtime's dataframe asset.
        """
        return self.batch_definition.get_batch(batch_parameters={"dataframe": frame})


_made: list[GxRuntime] = []
_making = threading.Lock()


def gx_runtime() -> GxRuntime:
    """This process's GX runtime: made (and GX imported) on the first call, reused afterwards.

    Returns:
        The runtime of the calling process.
    """
    with _making:
        if not _made or _made[0].pid != os.getpid():
            _made[:] = [_make_runtime()]
        return _made[0]


def _make_runtime() -> GxRuntime:
    gx = great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # The validator writes tqdm bars to stderr by default.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch_definition = (
        context.data_sources.add_pandas(DATA_SOURCE)
        .add_dataframe_asset(name=DATA_ASSET)
        .add_batch_definition_whole_dataframe(BATCH_DEFINITION)
    )
    return GxRuntime(gx=gx, context=context, batch_definition=batch_definition, lock=threading.Lock(),
                     pid=os.getpid())
