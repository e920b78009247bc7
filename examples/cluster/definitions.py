"""The reference code location on a cluster: assets/definitions.py with a distributed executor.

The assets, checks, generation job, schedule and sensor are those of ``assets.definitions``,
unchanged; only the executor (what runs each step) differs, chosen by $SYNTH_PIPELINE_EXECUTOR:

- ``multiprocess`` (default): each step a process of the run worker (as on one machine);
- ``k8s``: each step a Kubernetes Job of its own (``dagster_k8s.k8s_job_executor``; needs
  ``dagster-k8s``), in the image and with the volumes and variables of the run worker;
- ``celery``: each step a task on a Celery queue (``dagster_celery.celery_executor``; needs
  ``dagster-celery``), broker and result backend from $DAGSTER_CELERY_BROKER_URL and
  $DAGSTER_CELERY_BACKEND_URL, read by the run worker when the run starts;
- ``docker``: each step a container (``dagster_docker.docker_executor``; needs ``dagster-docker``).

Serve it with ``dagster code-server start --python-file examples/cluster/definitions.py
--working-directory <project root>`` (or ``dagster api grpc`` with the same arguments, as the
Helm chart does). Whatever the executor, every step writes its Parquet files under
$SYNTH_PIPELINE_DATA_DIR and its lineage journal under ``<data dir>/lineage``: that directory
must be the same shared file system on every machine or pod that runs steps.
"""

from __future__ import annotations

import importlib
import os

import dagster as dg

import assets.definitions  # not `from ... import defs`: one Definitions object at module scope

EXECUTORS = {
    "multiprocess": ("dagster", "multiprocess_executor"),
    "k8s": ("dagster_k8s", "k8s_job_executor"),
    "celery": ("dagster_celery", "celery_executor"),
    "docker": ("dagster_docker", "docker_executor"),
}


def executor_named(name: str) -> dg.ExecutorDefinition:
    """The executor called ``name`` in :data:`EXECUTORS` (Celery's configured from the environment)."""
    if name not in EXECUTORS:
        raise ValueError(f"SYNTH_PIPELINE_EXECUTOR={name!r}: expected one of {sorted(EXECUTORS)}")
    module, attribute = EXECUTORS[name]
    executor = getattr(importlib.import_module(module), attribute)
    if name == "celery":  # schedules and sensors launch runs without run config: configure it here
        executor = executor.configured(
            {"broker": {"env": "DAGSTER_CELERY_BROKER_URL"}, "backend": {"env": "DAGSTER_CELERY_BACKEND_URL"}}
        )
    return executor


def cluster_definitions(executor: str | None = None) -> dg.Definitions:
    """The reference definitions with the executor ``executor`` (default: $SYNTH_PIPELINE_EXECUTOR)."""
    name = executor or os.environ.get("SYNTH_PIPELINE_EXECUTOR", "multiprocess")
    # The reference code location has an executor of its own (preloading_executor): replace it, as
    # Definitions.merge refuses two executors.
    base = assets.definitions.defs
    return dg.Definitions(
        assets=base.assets, asset_checks=base.asset_checks, jobs=base.jobs, schedules=base.schedules,
        sensors=base.sensors, resources=base.resources, loggers=base.loggers, metadata=base.metadata,
        executor=executor_named(name),
    )


defs = cluster_definitions()
