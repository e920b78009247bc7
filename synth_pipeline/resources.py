"""The Dagster resources every synth-pipeline needs, and their keys.

- ``synth_pipeline_store``: the :class:`~synth_pipeline.storage.DatasetStore` (stage
  outputs, check records, monitors);
- ``synth_pipeline_io_manager``: loads stored outputs as asset inputs;
- ``<pipeline>_policy``: the :class:`~synth_pipeline.policy.SynthPolicy` the checks enforce.

A pipeline built with ``build_synth_pipeline(..., scoped_resources=True)`` (what
:class:`~synth_pipeline.component.SynthPipelineComponent` does) takes its store and IO manager
under keys of its own instead, ``<pipeline>_store`` and ``<pipeline>_io_manager``
(:meth:`ResourceKeys.scoped`), so pipelines with different data directories can share one
code location without clashing on a resource key.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import dagster as dg

from synth_pipeline.naming import IO_MANAGER_KEY, STORE_KEY
from synth_pipeline.storage import DatasetStore, SynthPipelineIOManager


def policy_resource_key(pipeline_name: str) -> str:
    """The resource key of a pipeline's :class:`~synth_pipeline.policy.SynthPolicy`."""
    return f"{pipeline_name}_policy"


def store_resource_key(pipeline_name: str) -> str:
    """The resource key of a pipeline's own dataset store (pipelines built with ``scoped_resources``)."""
    return f"{pipeline_name}_store"


@dataclass(frozen=True)
class ResourceKeys:
    """The resource keys under which a pipeline's assets and checks find the dataset store and IO manager.

    Attributes:
        store: Key of the :class:`~synth_pipeline.storage.DatasetStore`.
        io_manager: Key of the :class:`~synth_pipeline.storage.SynthPipelineIOManager`.
    """

    store: str = STORE_KEY
    io_manager: str = IO_MANAGER_KEY

    @classmethod
    def scoped(cls, pipeline_name: str) -> ResourceKeys:
        """Keys of the pipeline's own: ``<pipeline>_store`` and ``<pipeline>_io_manager``."""
        return cls(store=store_resource_key(pipeline_name), io_manager=f"{pipeline_name}_io_manager")


def pipeline_resources(
    data_dir: str | None = None, keys: ResourceKeys = ResourceKeys()
) -> dict[str, dg.ConfigurableResource]:
    """The resources every synth-pipeline needs: the dataset store and its IO manager.

    The same objects are returned for the same ``data_dir`` and ``keys``, so the definitions
    of several pipelines can be combined with ``dg.Definitions.merge``.

    Args:
        data_dir: The store's data directory (None: ``$SYNTH_PIPELINE_DATA_DIR``, else the default).
        keys: The keys to bind them under (default: the shared ``synth_pipeline_store`` and
            ``synth_pipeline_io_manager``).
    """
    return dict(_shared_resources(data_dir, keys))


@functools.cache
def _shared_resources(data_dir: str | None, keys: ResourceKeys) -> tuple[tuple[str, dg.ConfigurableResource], ...]:
    store = DatasetStore(base_dir=data_dir)
    return ((keys.store, store), (keys.io_manager, SynthPipelineIOManager(store=store)))
