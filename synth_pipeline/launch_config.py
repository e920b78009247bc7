"""Run config as launched, before Dagster converts it, for strict re-validation.

Dagster checks launched config against its schema, but its ``Float`` type lets a boolean
through and turns it into 1.0 (``max_synthetic_fraction: true`` in the launchpad), so
the pydantic models, strict as they are, never see it. The policy resource and the stages
with numeric run-time settings validate the config as written again, with the same rules
as a policy or spec file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg


def _plain(config: object) -> dict[str, Any] | None:
    if not isinstance(config, Mapping):
        return None
    # {"env": "VAR"} values are read from the environment by Dagster, which checks them itself
    return {str(name): value for name, value in config.items() if not isinstance(value, Mapping)}


def launched_resource_config(context: dg.InitResourceContext) -> tuple[str, dict[str, Any]] | None:
    """The key of the resource being initialized and its config as written in the run config.

    Args:
        context: The resource's init context.

    Returns:
        ``(resource key, config)``, or None when the run sets no config for it (or there is
        no run, as in ``build_resources``).
    """
    run = context.dagster_run
    if run is None or not run.run_config:
        return None
    key = next((name for name, definition in context.all_resource_defs.items()
                if definition is context.resource_def), None)
    entry = run.run_config.get("resources", {}).get(key) if key else None
    config = _plain(entry.get("config")) if isinstance(entry, Mapping) else None
    return (key, config) if key and config else None


def launched_op_config(context: dg.AssetExecutionContext) -> tuple[str, dict[str, Any]] | None:
    """The name of the asset's op and its config as written in the run config.

    Args:
        context: The asset's execution context.

    Returns:
        ``(op name, config)``, or None when the run sets no config for it.
    """
    op_context = context.op_execution_context
    name = op_context.op.name
    entry = (op_context.run_config or {}).get("ops", {}).get(name)
    config = _plain(entry.get("config")) if isinstance(entry, Mapping) else None
    return (name, config) if config else None
