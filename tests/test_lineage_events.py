"""OpenLineage events: one START and one COMPLETE / FAIL per materialization and check, valid and data-free."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from conftest import Runner, fast_spec, why
from lineage_helpers import event_problems, journal_events, logical_name
from synth_pipeline import SourceSpec, SynthPipelineSpec, SynthPolicy, build_synth_pipeline
from synth_pipeline.lineage.facets import CHECK_FACET, DAGSTER_FACET, PROVENANCE_FACET
from synth_pipeline.naming import Stage


@pytest.fixture(scope="module")
def one_generation(tmp_path_factory):
    runner = Runner(tmp_path_factory.mktemp("events") / "data")
    pipeline = build_synth_pipeline(fast_spec("ev"))
    [run] = runner.run(pipeline, [1])
    assert run.success, why(run)
    return runner, pipeline, run, journal_events(runner.data_dir)


def _by_job(events):
    jobs = {}
    for event in events:
        jobs.setdefault(event["job"]["name"], []).append(event)
    return jobs


def test_every_materialization_and_check_has_start_and_complete(one_generation):
    _, pipeline, run, events = one_generation
    jobs = _by_job(events)
    for stage in pipeline.stages:
        name = pipeline.key(stage).to_user_string()
        assert [e["eventType"] for e in jobs[name]] == ["START", "COMPLETE"], name
    for check in run.checks:
        name = f"{check.asset_key}:{check.name}"
        assert [e["eventType"] for e in jobs[name]] == ["START", "COMPLETE"], name
    # The Dagster run is an OpenLineage run of its own (job: the Dagster job), the parent of the others.
    assert [e["eventType"] for e in jobs["ev_generation"]] == ["START", "COMPLETE"]
    assert len(jobs) == len(pipeline.stages) + len(run.checks) + 1
    # One OpenLineage run per job, START and COMPLETE sharing its id, all under the Dagster run.
    assert all(len({e["run"]["runId"] for e in job}) == 1 for job in jobs.values())
    steps = [e for e in events if e["job"]["name"] != "ev_generation"]
    assert {e["run"]["facets"]["parent"]["run"]["runId"] for e in steps} == {run.run_id}
    assert {e["run"]["facets"][DAGSTER_FACET]["dagsterRunId"] for e in events} == {run.run_id}


def test_events_are_valid_openlineage_with_valid_custom_facets(one_generation):
    events = one_generation[3]
    assert {problem for event in events for problem in event_problems(event)} == set()


def test_complete_events_carry_inputs_outputs_schema_and_provenance(one_generation):
    runner, pipeline, _, events = one_generation
    complete = {e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE"}
    mix = complete[pipeline.key(Stage.TRAINING_MIX).to_user_string()]
    assert {logical_name(i) for i in mix["inputs"]} == {
        pipeline.key(s).to_user_string() for s in (Stage.REAL_ARRIVALS, Stage.SYNTHETIC, Stage.AUGMENTED)
    }
    [output] = mix["outputs"]
    stored = runner.read(pipeline, Stage.TRAINING_MIX, 1)
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == list(stored.columns)
    provenance = output["facets"][PROVENANCE_FACET]
    counts = stored["_sp_kind"].value_counts()
    assert provenance["rowsByKind"] == {k: int(counts.get(k, 0)) for k in ("real", "synthetic", "augmented", "unknown")}
    assert provenance["syntheticFraction"] == pytest.approx(counts.get("synthetic", 0) / len(stored))
    assert (provenance["kind"], provenance["generation"], provenance["relation"]) == ("mixed", 1, "mix")
    assert provenance["maxDepth"] == int(stored["_sp_depth"].max())
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == len(stored)

    synthetic = complete[pipeline.key(Stage.SYNTHETIC).to_user_string()]
    generator = synthetic["outputs"][0]["facets"][PROVENANCE_FACET]["generator"]
    assert generator["name"] == "sdv.gaussian_copula"
    assert generator["params"] == {"default_distribution": "norm"}
    [fit] = [i for i in synthetic["inputs"] if i["inputFacets"]["synthPipeline_input"]["role"] == "fit"]
    assert generator["fittedOn"] == f"{logical_name(fit)}@{fit['facets']['version']['datasetVersion']}"


def test_check_outcomes_are_data_quality_assertions(one_generation):
    _, _, run, events = one_generation
    budget = [e for e in events if e["job"]["name"].endswith(":synthetic_budget") and e["eventType"] == "COMPLETE"]
    [event] = budget
    assertions = event["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    rules = run.check("synthetic_budget").metadata["rules"]
    assert [a["assertion"] for a in assertions] == [r["public_rule"] or r["rule"] for r in rules]
    assert [a["actual"] for a in assertions] == [f"{r['observed']:.6g}" for r in rules]
    assert all(a["success"] for a in assertions)
    assert event["run"]["facets"][CHECK_FACET]["passed"] is True


def test_failed_check_and_failed_step_emit_fail(tmp_path):
    runner = Runner(tmp_path / "data")
    pipeline = build_synth_pipeline(fast_spec("fl"))
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(max_synthetic_fraction=0.01))
    assert not run.success
    events = journal_events(runner.data_dir)
    [failed] = [e for e in events if e["job"]["name"].endswith(":synthetic_budget") and e["eventType"] != "START"]
    assert failed["eventType"] == "FAIL"
    assertions = failed["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert not all(a["success"] for a in assertions)
    assert failed["run"]["facets"][CHECK_FACET]["passed"] is False

    [run] = runner.run(pipeline, [2], stage_config={Stage.REAL_SOURCE: {"path": "incoming/missing.csv"}})
    source = [e for e in journal_events(runner.data_dir)
              if e["job"]["name"] == "fl/real_source" and e["run"]["facets"]["synthPipeline_dagster"]["dagsterRunId"]
              == run.run_id]
    assert [e["eventType"] for e in source] == ["START", "FAIL"]
    assert "missing.csv" in source[1]["run"]["facets"]["errorMessage"]["message"]


def test_events_hold_statistics_not_row_values(tmp_path):
    rng = np.random.default_rng(7)
    rows = 160
    frame = pd.DataFrame({
        "secret_amount": rng.choice([731904.125, 824417.375, 915530.625], size=rows),
        "secret_code": rng.choice(["ZEBRA-QUOKKA-7731", "PANGOLIN-AXOLOTL-9182"], size=rows),
        "noise": rng.normal(size=rows),
        "label": rng.choice(["CLASS-NARWHAL", "CLASS-OKAPI"], size=rows),
    })
    path = tmp_path / "secret.csv"
    frame.to_csv(path, index=False)
    spec = SynthPipelineSpec(name="secret", label_column="label", real_source=SourceSpec(path=str(path)),
                             synthesizer=fast_spec().synthesizer)
    runner = Runner(tmp_path / "data")
    [run] = runner.run(build_synth_pipeline(spec), [1], policy=SynthPolicy(min_holdout_rows=10,
                                                                            min_tstr_trtr_ratio=0))
    assert run.success, why(run)
    text = "\n".join(p.read_text() for p in (tmp_path / "data" / "lineage" / "events").rglob("*.jsonl"))
    assert Counter(e["eventType"] for e in journal_events(runner.data_dir))["COMPLETE"] > 10
    for value in ("731904", "824417", "915530", "ZEBRA", "PANGOLIN", "NARWHAL", "OKAPI"):
        assert value not in text, value
    assert "secret_amount" in text  # column names are schema, and are there
