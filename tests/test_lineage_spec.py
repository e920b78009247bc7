"""OpenLineage spec conformance (issue 18, point 5): every event of real runs is valid against the
official schemas (tests/schemas/openlineage) and ours; WARN checks complete, blocking failures fail
with ``errorMessage``; Dagster runs are parent and root; stage files follow the naming spec with
``symlinks``; column lineage agrees with Dagster's; producer and schema URLs are versioned URLs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from conftest import Runner, fast_spec, why
from lineage_helpers import REGISTRY, event_problems, facets_of, journal_events, logical_name
from synth_pipeline import SynthPolicy, build_synth_pipeline
from synth_pipeline.lineage.dagster_run import end_dagster_run, start_dagster_run
from synth_pipeline.lineage.events import PRODUCER
from synth_pipeline.lineage.facets import CHECK_FACET, shipped_schemas
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.lineage.producer import SCHEMAS_PATH
from synth_pipeline.lineage.run_sensors import lineage_run_sensors
from synth_pipeline.lineage.store import LineageStore
from synth_pipeline.naming import PARTITIONED_STAGES, Stage

REPOSITORY = "https://github.com/synth-pipeline/synth-pipeline"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Generation 1 with the quality checks (the augmented rows' privacy check warns), then
    generation 2 under a policy whose synthetic budget blocks it."""
    runner = Runner(tmp_path_factory.mktemp("spec") / "data")
    pipeline = build_synth_pipeline(fast_spec("sp"))
    [first] = runner.run(pipeline, [1], quality_checks=True)
    assert first.success, why(first)
    [second] = runner.run(pipeline, [2], policy=SynthPolicy(max_synthetic_fraction=0.01))
    assert not second.success
    return runner, pipeline, first, second, journal_events(runner.data_dir)


def _of_run(events, run_id):
    return [e for e in events if e["run"]["facets"]["synthPipeline_dagster"]["dagsterRunId"] == run_id]


def _job(events, name):
    return [e for e in events if e["job"]["name"] == name]


def test_every_event_is_valid_against_the_official_schemas_and_ours(two_runs):
    events = two_runs[4]
    assert len(events) > 100
    assert {problem for event in events for problem in event_problems(event)} == set()
    emitted = {key for event in events for _, key, _ in facets_of(event)}
    assert {"parent", "errorMessage", "symlinks", "schema", "columnLineage", "dataQualityAssertions",
            "synthPipeline_provenance", "synthPipeline_check", "synthPipeline_dagster"} <= emitted


def test_a_warn_check_completes_and_a_blocking_failure_fails_with_an_error_message(two_runs):
    _, _, first, second, events = two_runs
    [warned] = [c for c in first.checks if c.asset_key == "sp/augmented" and c.name == "privacy"]
    assert not warned.passed and warned.severity == "WARN"
    privacy = _job(_of_run(events, first.run_id), "sp/augmented:privacy")
    assert [e["eventType"] for e in privacy] == ["START", "COMPLETE"]
    facet = privacy[1]["run"]["facets"][CHECK_FACET]
    assert (facet["passed"], facet["severity"], facet["blocking"]) == (False, "WARN", False)
    assert "errorMessage" not in privacy[1]["run"]["facets"]
    assertions = privacy[1]["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert not all(a["success"] for a in assertions) and {a["severity"] for a in assertions} == {"warn"}

    budget = _job(_of_run(events, second.run_id), "sp/training_mix:synthetic_budget")
    assert [e["eventType"] for e in budget] == ["START", "FAIL"]
    error = budget[1]["run"]["facets"]["errorMessage"]
    assert error["programmingLanguage"] == "python" and "stackTrace" not in error
    rules = [r for r in second.check("synthetic_budget").metadata["rules"] if not r["passed"]]
    assert rules
    assert error["message"].startswith(f"blocking check synthetic_budget failed (ERROR): {len(rules)} rule(s)")
    for rule in rules:
        assert f"{rule['public_rule'] or rule['rule']}: observed {rule['observed']:.6g}, limit" in error["message"]
    assert "limit <= 0.01" in error["message"]
    # Every FAIL event, of a check, an asset or the Dagster run, says why.
    failed = [e for e in events if e["eventType"] == "FAIL"]
    assert failed and all(e["run"]["facets"]["errorMessage"]["message"] for e in failed)


def test_each_dagster_run_is_the_parent_and_root_of_its_steps(two_runs):
    runner, _, first, second, events = two_runs
    for run, end in ((first, "COMPLETE"), (second, "FAIL")):
        mine = _of_run(events, run.run_id)
        own = [e for e in mine if e["job"]["facets"]["jobType"]["jobType"] == "JOB"]
        assert [e["eventType"] for e in own] == ["START", end]
        assert {e["run"]["runId"] for e in own} == {run.run_id}  # Dagster's run ids are UUIDs already
        assert {e["job"]["name"] for e in own} == {"sp_generation"}
        assert all("parent" not in e["run"]["facets"] for e in own)
        steps = [e for e in mine if e not in own]
        assert min(e["eventTime"] for e in steps) >= own[0]["eventTime"]
        expected = run.run_id, "synth-pipeline", "sp_generation"
        for event in steps:
            parent = event["run"]["facets"]["parent"]
            for link in (parent, parent["root"]):
                assert (link["run"]["runId"], link["job"]["namespace"], link["job"]["name"]) == expected
    # Ending a run again, as a sensor seeing it end would, adds nothing.
    layout = LineageLayout.for_data_dir(runner.data_dir)
    assert not end_dagster_run(layout, first.run_id, "COMPLETE")
    # The store holds the Dagster run's own run beside its steps'.
    with LineageStore(runner.data_dir).connect() as connection:
        rows = connection.execute("SELECT job_name, state FROM runs WHERE job_type = 'JOB' ORDER BY started_at"
                                  ).fetchall()
    assert rows == [("sp_generation", "COMPLETE"), ("sp_generation", "FAIL")]


def test_a_run_ended_outside_the_runner_is_ended_once_by_the_run_status_sensor(tmp_path):
    """A run the runner does not end (the UI, the daemon, ``dg.materialize``) is ended by the sensor."""
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([_side_asset], instance=instance)
    layout = LineageLayout.for_data_dir(tmp_path / "data")
    assert start_dagster_run(layout, result.run_id, "__ASSET_JOB")
    assert not start_dagster_run(layout, result.run_id, "__ASSET_JOB")  # the first step only
    [success] = [s for s in lineage_run_sensors("sp") if s.name == "sp_lineage_run_completed"]
    [record] = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records
    run = instance.get_run_by_id(result.run_id).with_tags({"synth_pipeline/data_dir": str(tmp_path / "data")})
    for _ in range(2):  # evaluated twice (or after the runner ended it): one end
        success(dg.build_run_status_sensor_context(
            sensor_name=success.name, dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=instance, dagster_run=run))
    events = journal_events(tmp_path / "data")
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert {problem for event in events for problem in event_problems(event)} == set()


@dg.asset(name="side")
def _side_asset() -> int:
    return 1


def test_stage_files_are_named_by_their_path_with_a_symlink_to_the_logical_name(two_runs):
    runner, pipeline, first, _, events = two_runs
    mine = _of_run(events, first.run_id)
    for stage in pipeline.stages:
        key = pipeline.key(stage)
        partition = "1" if stage in PARTITIONED_STAGES else None
        path = str(runner.store.path_of(key, partition).absolute())
        for event in _job(mine, key.to_user_string()):
            [output] = event["outputs"]
            assert (output["namespace"], output["name"]) == ("file", path), event["eventType"]
            assert output["facets"]["symlinks"]["identifiers"] == [
                {"namespace": "synth-pipeline", "name": key.to_user_string(), "type": "TABLE"}]
    [mix] = [e for e in _job(mine, "sp/training_mix") if e["eventType"] == "COMPLETE"]
    assert {i["namespace"] for i in mix["inputs"]} == {"file"}
    assert {logical_name(i) for i in mix["inputs"]} == {
        pipeline.key(s).to_user_string() for s in (Stage.REAL_ARRIVALS, Stage.SYNTHETIC, Stage.AUGMENTED)}
    # The store and its queries keep the logical names.
    ancestors = LineageStore(runner.data_dir).ancestors("sp/training_mix", generation=1)
    assert {"sp/real_source", "sp/real_arrivals", "sp/synthetic", "sp/training_mix"} <= set(ancestors["name"])


def _complete_output(events, run_id, name):
    [event] = [e for e in _job(_of_run(events, run_id), name) if e["eventType"] == "COMPLETE"]
    return event, event["outputs"][0]


def test_column_lineage_in_events_and_in_dagster_metadata_agree(two_runs):
    runner, pipeline, first, _, events = two_runs
    stored = runner.read(pipeline, Stage.TRAINING_MIX, 1)
    user = [c for c in stored.columns if not c.startswith("_sp_")]
    materializations = {s.asset_key: s.metadata for s in first.stages}
    checked = 0
    for name, subtype in (("sp/real_holdout", "IDENTITY"), ("sp/real_train", "IDENTITY"),
                          ("sp/real_arrivals", "IDENTITY"), ("sp/training_mix", "IDENTITY"),
                          ("sp/unknown_ingest", "IDENTITY"), ("sp/synthetic", "AGGREGATION"),
                          ("sp/augmented", "AGGREGATION")):
        event, output = _complete_output(events, first.run_id, name)
        fields = output["facets"]["columnLineage"]["fields"]
        assert not any(column.startswith("_sp_") for column in fields), name
        assert set(fields) <= set(user) and set(fields), name
        inputs = {(i["namespace"], i["name"]): logical_name(i) for i in event["inputs"]}
        from_events = {}
        for column, field in fields.items():
            for source in field["inputFields"]:
                [transformation] = source["transformations"]
                assert (transformation["type"], transformation["subtype"]) == ("DIRECT", subtype), name
                assert source["field"] == column
                from_events.setdefault(column, set()).add(inputs[(source["namespace"], source["name"])])
        expected = {c: {n for n in names if n.startswith("sp/")} for c, names in from_events.items()}
        expected = {column: names for column, names in expected.items() if names}
        dagster = materializations[name].get("dagster/column_lineage")  # asset inputs only: none for a loader
        from_dagster = {column: {dep.asset_key.to_user_string() for dep in deps}
                        for column, deps in (dagster.deps_by_column.items() if dagster else [])}
        assert from_dagster == expected, name
        assert bool(expected) == (name != "sp/unknown_ingest"), name
        checked += 1
    assert checked == 7
    _, mix = _complete_output(events, first.run_id, "sp/training_mix")
    sources = {s["name"] for f in mix["facets"]["columnLineage"]["fields"].values() for s in f["inputFields"]}
    assert len(sources) == 3  # arrivals, synthetic, augmented: one file each
    _, synthetic = _complete_output(events, first.run_id, "sp/synthetic")
    assert set(synthetic["facets"]["columnLineage"]["fields"]) == set(user)


def test_the_model_has_a_schema_of_its_features_and_prediction(two_runs):
    _, _, first, _, events = two_runs
    _, model = _complete_output(events, first.run_id, "sp/model")
    fields = model["facets"]["schema"]["fields"]
    assert fields[-1]["name"] == "target" and fields[-1]["type"] == "class"
    features = fields[:-1]
    assert len(features) > 5 and {f["type"] for f in features} <= {"numeric", "categorical", "text"}
    assert "target" not in {f["name"] for f in features}


def test_producer_and_custom_schema_urls_are_versioned_fetchable_urls(two_runs):
    events = two_runs[4]
    version = PRODUCER.rsplit("/v", 1)[1]
    assert PRODUCER == f"{REPOSITORY}/tree/v{version}"
    assert {e["producer"] for e in events} == {PRODUCER}
    raw = f"https://raw.githubusercontent.com/synth-pipeline/synth-pipeline/v{version}/{SCHEMAS_PATH}/"
    custom = {facet["_schemaURL"] for event in events for _, key, facet in facets_of(event)
              if key.startswith("synthPipeline_")}
    names = {"SynthPipelineProvenanceDatasetFacet", "SynthPipelineInputRoleInputDatasetFacet",
             "SynthPipelineDagsterRunFacet", "SynthPipelineCheckRunFacet"}
    assert custom == {f"{raw}{name}.json#/$defs/{name}" for name in names}
    # Each shipped schema is at the path its URL names, under the $id the URL names, and resolves.
    root = Path(__file__).resolve().parents[1]
    for url in custom:
        document = url.split("#")[0]
        assert (root / SCHEMAS_PATH / document.rsplit("/", 1)[1]).is_file()
        assert document in shipped_schemas()
        assert REGISTRY.resolver().lookup(url).contents["allOf"]


def test_stage_files_on_object_storage_are_named_by_bucket_and_key(tmp_path):
    from upath import UPath

    from synth_pipeline.lineage.naming import stored_dataset_name

    remote = UPath("s3://ml-data/synth/sp/synthetic/1.parquet", anon=True)
    assert stored_dataset_name(remote) == ("s3://ml-data", "synth/sp/synthetic/1.parquet")
    assert stored_dataset_name(tmp_path / "x.parquet") == ("file", str(tmp_path / "x.parquet"))
