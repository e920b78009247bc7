"""Reading the event journal and validating events, shared by the lineage tests."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema

from synth_pipeline.lineage.facets import shipped_schemas
from synth_pipeline.lineage.layout import LineageLayout

CORE_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "openlineage_run_event.json").read_text())
_CORE = jsonschema.Draft202012Validator(CORE_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
_FACETS = {
    url: jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for url, schema in shipped_schemas().items()
}


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


def event_problems(event: dict[str, Any]) -> list[str]:
    """Why ``event`` is not a valid OpenLineage RunEvent with valid synth-pipeline facets ([] if it is)."""
    problems = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in _CORE.iter_errors(event)]
    try:
        uuid.UUID(event["run"]["runId"])
        datetime.fromisoformat(event["eventTime"])
    except (KeyError, ValueError) as error:
        problems.append(f"runId or eventTime: {error}")
    for facet in _facets(event):
        validator = _FACETS.get(facet.get("_schemaURL", "").split("#")[0])
        if validator is not None:
            problems += [f"{facet['_schemaURL']}: {e.message}" for e in validator.iter_errors(facet)]
        elif facet.get("_schemaURL", "").startswith("urn:synth-pipeline"):
            problems.append(f"no shipped schema for {facet['_schemaURL']}")
    return problems


def failures_and_versions(data_dir: Path, dagster_run_id: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(job, error message) of each FAIL event of a Dagster run, and the dataset versions the run produced."""
    from synth_pipeline.lineage.store import LineageStore

    with LineageStore(data_dir).connect() as connection:
        failed = connection.execute(
            "SELECT job_name, error_message FROM events WHERE dagster_run_id = ? AND event_type = 'FAIL' "
            "ORDER BY job_name", [dagster_run_id]).fetchall()
        produced = connection.execute(
            "SELECT DISTINCT d.name FROM dataset_versions AS d JOIN events AS e ON e.run_id = d.produced_by_run "
            "WHERE e.dagster_run_id = ?", [dagster_run_id]).fetchall()
    return failed, [name for (name,) in produced]
