"""The dataset store a set of Dagster definitions binds, found from the definitions or their repository.

Schedules, sensors, the runner and the recovery of killed runs use it, so they all read the data
directory the definitions bind, not the one the environment names.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from synth_pipeline.resources import STORE_KEY, store_resource_key
from synth_pipeline.storage import DatasetStore


def dataset_store(defs: dg.Definitions | dg.RepositoryDefinition, pipeline: str | None = None) -> DatasetStore:
    """The dataset store bound in ``defs`` or its repository (the default one if none is).

    A repository (what a schedule's or sensor's context holds) keeps its resources as Dagster
    resource definitions; the store bound in the definitions is recovered from them, so
    schedules, sensors and the recovery of killed runs use the data directory the definitions
    bind, not the one the environment names.

    Args:
        defs: The definitions or their repository.
        pipeline: A pipeline's name: its own store (``<pipeline>_store``, bound by a pipeline
            built with ``scoped_resources``, e.g. by the Dagster component) is preferred when bound.
            None: the shared ``synth_pipeline_store``.
    """
    keys = [store_resource_key(pipeline), STORE_KEY] if pipeline is not None else [STORE_KEY]
    if isinstance(defs, dg.RepositoryDefinition):
        resources = defs.get_top_level_resources()
        found = [_store_of_definition(resources[key]) for key in keys if key in resources]
    else:
        found = [(defs.resources or {})[key] for key in keys if key in (defs.resources or {})]
    bound = found[0] if found else None
    return bound if isinstance(bound, DatasetStore) else DatasetStore()


def _store_of_definition(definition: Any) -> DatasetStore | None:
    """The :class:`DatasetStore` a repository's resource definition was made from (None if it is not one)."""
    if isinstance(definition, DatasetStore):
        return definition
    # A bound ConfigurableResource becomes a definition whose resource function is a method of it.
    owner = getattr(getattr(definition, "resource_fn", None), "__self__", None)
    if isinstance(owner, DatasetStore):
        return owner
    if isinstance(definition, dg.ResourceDefinition) and isinstance(
            getattr(definition, "configurable_resource_cls", None), type) and issubclass(
            definition.configurable_resource_cls, DatasetStore):
        field = definition.config_schema.as_field()  # its configured values are the schema's defaults
        return definition.configurable_resource_cls(**field.default_value) if field.default_provided else None
    return None
