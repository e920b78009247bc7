"""Reading the event journal and validating events, shared by the lineage tests."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

from synth_pipeline.lineage.facets import shipped_schemas
from synth_pipeline.lineage.layout import LineageLayout

OFFICIAL = Path(__file__).parent / "schemas" / "openlineage"
"""The official OpenLineage schemas the events are validated against (see its README.md)."""
_OFFICIAL = [json.loads(path.read_text()) for path in sorted(OFFICIAL.rglob("*.json"))]
CORE_ID = next(schema["$id"] for schema in _OFFICIAL if schema["$id"].endswith("/OpenLineage.json"))
REGISTRY = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in [*_OFFICIAL, *shipped_schemas().values()]
)
"""Every schema by its ``$id``: references resolve locally, never over the network."""
_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def validator(reference: str) -> jsonschema.Draft202012Validator:
    """A validator of the schema at ``reference`` (an ``$id`` with a JSON pointer), resolved in :data:`REGISTRY`."""
    return jsonschema.Draft202012Validator({"$ref": reference}, registry=REGISTRY, format_checker=_CHECKER)


_RUN_EVENT = validator(f"{CORE_ID}#/$defs/RunEvent")
_KNOWN = {schema["$id"] for schema in [*_OFFICIAL, *shipped_schemas().values()]}


def journal_events(data_dir: Path) -> list[dict[str, Any]]:
    """Every event in the journal under ``data_dir``."""
    events = []
    for path in LineageLayout.for_data_dir(data_dir).journal_files():
        events += [json.loads(line) for line in path.read_text().splitlines() if line]
    return events


def _facets(event: dict[str, Any]):
    yield from (event.get("run", {}).get("facets") or {}).values()
    yield from (event.get("job", {}).get("facets") or {}).values()
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for group in ("facets", "inputFacets", "outputFacets"):
            yield from (dataset.get(group) or {}).values()


def facets_of(event: dict[str, Any]):
    """``(where, key, facet)`` of every facet of an event: run, job, and each dataset's facets."""
    for key, facet in (event.get("run", {}).get("facets") or {}).items():
        yield "run", key, facet
    for key, facet in (event.get("job", {}).get("facets") or {}).items():
        yield "job", key, facet
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for group in ("facets", "inputFacets", "outputFacets"):
            for key, facet in (dataset.get(group) or {}).items():
                yield f"{dataset['namespace']}:{dataset['name']}", key, facet


def event_problems(event: dict[str, Any]) -> list[str]:
    """Why ``event`` is not a valid OpenLineage RunEvent (the official schema) whose every facet is
    valid against the schema its ``_schemaURL`` names (official or ours, all shipped with the
    tests or the package) ([] if it is)."""
    problems = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in _RUN_EVENT.iter_errors(event)]
    try:
        uuid.UUID(event["run"]["runId"])
        datetime.fromisoformat(event["eventTime"])
    except (KeyError, ValueError) as error:
        problems.append(f"runId or eventTime: {error}")
    for where, key, facet in facets_of(event):
        url = facet.get("_schemaURL", "")
        if url.split("#")[0] not in _KNOWN:
            problems.append(f"{where} {key}: no shipped schema for {url}")
            continue
        problems += [f"{where} {key} ({url}): {'/'.join(map(str, e.path))}: {e.message}"
                     for e in validator(url).iter_errors(facet)]
    return problems


def logical_name(dataset: dict[str, Any]) -> str:
    """A dataset's logical name: its ``symlinks`` identifier (``pipeline/stage``), else its own name."""
    identifiers = ((dataset.get("facets") or {}).get("symlinks") or {}).get("identifiers") or []
    return identifiers[0]["name"] if identifiers else dataset["name"]


def failures_and_versions(data_dir: Path, dagster_run_id: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(job, error message) of each FAIL event of a Dagster run's steps and checks (not of the Dagster run's
    own OpenLineage run, job type JOB), and the dataset versions the run produced."""
    from synth_pipeline.lineage.store import LineageStore

    with LineageStore(data_dir).connect() as connection:
        failed = connection.execute(
            "SELECT job_name, error_message FROM events WHERE dagster_run_id = ? AND event_type = 'FAIL' "
            "AND job_type IS DISTINCT FROM 'JOB' ORDER BY job_name", [dagster_run_id]).fetchall()
        produced = connection.execute(
            "SELECT DISTINCT d.name FROM dataset_versions AS d JOIN events AS e ON e.run_id = d.produced_by_run "
            "WHERE e.dagster_run_id = ?", [dagster_run_id]).fetchall()
    return failed, [name for (name,) in produced]
