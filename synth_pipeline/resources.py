"""The Dagster resources every synth-pipeline needs, and their keys.

- ``synth_pipeline_store``: the :class:`~synth_pipeline.storage.DatasetStore` (stage
  outputs, check records, monitors);
- ``synth_pipeline_io_manager``: loads stored outputs as asset inputs;
- ``<pipeline>_policy``: the :class:`~synth_pipeline.policy.SynthPolicy` the checks enforce.
"""

from __future__ import annotations

import functools

import dagster as dg

from synth_pipeline.storage import DatasetStore, SynthPipelineIOManager

IO_MANAGER_KEY = "synth_pipeline_io_manager"
# Assets take the store as a parameter of this very name (Dagster binds resources by
# parameter name; a mismatch fails definition validation, see tests/test_definitions.py).
STORE_KEY = "synth_pipeline_store"


def policy_resource_key(pipeline_name: str) -> str:
    """The resource key of a pipeline's :class:`~synth_pipeline.policy.SynthPolicy`."""
    return f"{pipeline_name}_policy"


def pipeline_resources(data_dir: str | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources every synth-pipeline needs: the dataset store and its IO manager.

    The same objects are returned for the same ``data_dir``, so the definitions of
    several pipelines can be combined with ``dg.Definitions.merge``.
    """
    return dict(_shared_resources(data_dir))


@functools.cache
def _shared_resources(data_dir: str | None) -> tuple[tuple[str, dg.ConfigurableResource], ...]:
    store = DatasetStore(base_dir=data_dir)
    return ((STORE_KEY, store), (IO_MANAGER_KEY, SynthPipelineIOManager(store=store)))
