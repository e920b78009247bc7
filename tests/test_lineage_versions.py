"""Lineage versions: every materialization is its own version, even when its content repeats.

The pipeline below writes identical content again and again: SMOTE with a target ratio
under the class balance adds no rows, so each generation's augmented output is the same
empty table, made from different real arrivals; and generation 1 runs twice (first
failing a blocking check on its mix, which is quarantined, then passing) with the same
result at every stage. None of these may merge in the lineage store: a merged empty
augmented table made generation 2's arrivals an ancestor of generation 1's mix.
"""

import json

import pandas as pd
import pytest

from conftest import Runner, fast_spec, why
from lineage_helpers import event_problems, journal_events, logical_name
from synth_pipeline import AugmentationSpec, MixSpec, SynthPolicy, build_synth_pipeline
from synth_pipeline.cli import main
from synth_pipeline.lineage.facets import INPUT_FACET, PROVENANCE_FACET
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.lineage.recorder import stored_ref
from synth_pipeline.lineage.store import LineageStore
from synth_pipeline.lineage.versions import file_version
from synth_pipeline.naming import Stage

PERMISSIVE = SynthPolicy(max_synthetic_fraction=0.9, max_synthetic_fraction_growth=1.0)
# Fails the mix's synthetic budget: generation 1's first run is blocked and its mix quarantined.
STRICT = SynthPolicy(max_synthetic_fraction=0.01, max_synthetic_fraction_growth=1.0)


@pytest.fixture(scope="module")
def repeated(tmp_path_factory):
    runner = Runner(tmp_path_factory.mktemp("versions") / "data")
    spec = fast_spec("lv", mix=MixSpec(real_arrival_batches=2), augmentation=AugmentationSpec(target_ratio=0.5))
    pipeline = build_synth_pipeline(spec)
    [failed] = runner.run(pipeline, [1], policy=STRICT)
    assert not failed.success
    assert "synthetic_budget" in runner.store.quarantine_reasons(pipeline.key(Stage.TRAINING_MIX), "1")
    runs = runner.run(pipeline, [1, 2], policy=PERMISSIVE)
    assert all(run.success for run in runs), [why(run) for run in runs]
    store = LineageStore(runner.data_dir)
    store.sync()  # as `synth-pipeline lineage sync` does
    return runner, pipeline, failed, runs, store


def _metadata(run, stage: Stage) -> dict:
    [record] = [s for s in run.stages if s.stage == stage]
    return record.metadata


def _versions(store, name: str) -> pd.DataFrame:
    with store.connect() as connection:
        return connection.execute(
            "SELECT version, content_digest, generation, produced_at, produced_by_run FROM dataset_versions "
            "WHERE name = ? AND stage IS NOT NULL ORDER BY produced_at", [name]).df()


def test_identical_content_written_in_each_generation_is_one_version_per_materialization(repeated):
    _, _, failed, runs, store = repeated
    for stage in (Stage.REAL_ARRIVALS, Stage.AUGMENTED, Stage.TRAINING_MIX, Stage.REAL_SOURCE):
        versions = _versions(store, f"lv/{stage.value}")
        assert len(versions) == 3, stage  # generation 1 twice, generation 2 once (or three runs' writes)
        assert versions["version"].is_unique and versions["produced_by_run"].is_unique
        written = [_metadata(run, stage) for run in [failed, *runs]]
        assert list(versions["version"]) == [m["lineage_version"] for m in written]
        assert list(versions["content_digest"]) == [m["lineage_content_digest"] for m in written]
    # The repeats are really repeats: one content, several versions.
    augmented = _versions(store, "lv/augmented")
    assert augmented["content_digest"].nunique() == 1 and list(augmented["generation"]) == [1, 1, 2]
    assert [_metadata(run, Stage.AUGMENTED)["dagster/row_count"] for run in [failed, *runs]] == [0, 0, 0]
    arrivals = _versions(store, "lv/real_arrivals")
    assert arrivals["content_digest"].nunique() == 2 and list(arrivals["generation"]) == [1, 1, 2]


def test_ancestors_of_generation_1_hold_nothing_of_generation_2(repeated):
    _, _, _, runs, store = repeated
    ancestors = store.ancestors("lv/training_mix", generation=1)
    itself = ancestors[ancestors["hops"] == 0].iloc[0]
    assert itself["version"] == _metadata(runs[0], Stage.TRAINING_MIX)["lineage_version"]
    assert 2 not in set(ancestors["generation"].dropna().astype(int))
    assert {"lv/real_arrivals", "lv/augmented", "lv/synthetic", "lv/real_train"} <= set(ancestors["name"])
    assert (ancestors["produced_at"].dropna() <= itself["produced_at"]).all()


def test_ancestors_of_generation_2_are_found_and_point_at_the_newest_run(repeated):
    _, _, failed, runs, store = repeated
    augmented = store.ancestors("lv/augmented", generation=2)
    start = augmented[augmented["hops"] == 0].iloc[0]
    assert (start["generation"], start["version"]) == (2, _metadata(runs[1], Stage.AUGMENTED)["lineage_version"])
    arrivals = augmented[augmented["name"] == "lv/real_arrivals"]
    assert list(arrivals["version"]) == [_metadata(runs[1], Stage.REAL_ARRIVALS)["lineage_version"]]

    # Generation 2's mix builds on generation 1's mix (accumulate): the re-run's version, never
    # the quarantined one of the failed run, though both hold the same rows.
    mix = store.ancestors("lv/training_mix", generation=2)
    previous = mix[(mix["name"] == "lv/training_mix") & (mix["hops"] > 0)]
    assert list(previous["version"]) == [_metadata(runs[0], Stage.TRAINING_MIX)["lineage_version"]]
    quarantined = _metadata(failed, Stage.TRAINING_MIX)
    assert quarantined["lineage_version"] not in set(mix["version"])
    assert quarantined["lineage_content_digest"] == _metadata(runs[0], Stage.TRAINING_MIX)["lineage_content_digest"]
    downstream = store.descendants("lv/training_mix", version=quarantined["lineage_version"])
    assert list(downstream["version"]) == [quarantined["lineage_version"]]  # nothing was built on it


def test_no_edge_runs_forward_in_time(repeated):
    _, _, _, _, store = repeated
    with store.connect() as connection:
        edges, forward = connection.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE parent.produced_at > child.produced_at)
            FROM edges AS e
            JOIN dataset_versions AS parent ON parent.node_id = e.parent_id
            JOIN dataset_versions AS child ON child.node_id = e.child_id
            WHERE parent.produced_at IS NOT NULL
            """).fetchall()[0]
        later_generation = connection.execute(
            """
            SELECT count(*) FROM edges AS e
            JOIN dataset_versions AS parent ON parent.node_id = e.parent_id
            JOIN dataset_versions AS child ON child.node_id = e.child_id
            WHERE parent.generation > child.generation
            """).fetchall()[0][0]
    assert edges > 20 and forward == 0 and later_generation == 0


def test_checks_attach_to_the_materialization_they_checked(repeated):
    _, _, failed, runs, store = repeated
    with store.connect() as connection:
        outcomes = dict(connection.execute(
            "SELECT d.version, bool_and(coalesce(r.passed, false)) FROM check_results AS r "
            "JOIN dataset_versions AS d USING (node_id) WHERE d.name = 'lv/training_mix' AND r.generation = 1 "
            "GROUP BY ALL").fetchall())
    assert outcomes == {_metadata(failed, Stage.TRAINING_MIX)["lineage_version"]: False,
                        _metadata(runs[0], Stage.TRAINING_MIX)["lineage_version"]: True}
    # By content digest (as the recovery of killed runs asks), the latest evaluation counts.
    digest = _metadata(runs[0], Stage.TRAINING_MIX)["lineage_content_digest"]
    assert store.check_outcomes("lv/training_mix", digest, 1)["synthetic_budget"] is True
    version = _metadata(failed, Stage.TRAINING_MIX)["lineage_version"]
    assert store.check_outcomes("lv/training_mix", version, 1)["synthetic_budget"] is False


def test_events_name_the_version_read_and_stay_valid_openlineage(repeated):
    runner, _, _, runs, _ = repeated
    events = journal_events(runner.data_dir)
    assert {problem for event in events for problem in event_problems(event)} == set()
    complete = [e for e in events if e["eventType"] == "COMPLETE" and e["outputs"] and e["outputs"][0].get("facets")]
    produced = {(logical_name(o), o["facets"]["version"]["datasetVersion"]):
                o["facets"][PROVENANCE_FACET]["contentDigest"] for e in complete for o in e["outputs"]}
    reads = [(logical_name(i), i["facets"]["version"]["datasetVersion"],
              i["inputFacets"][INPUT_FACET]["contentDigest"])
             for e in complete for i in e["inputs"] if logical_name(i).startswith("lv/")]
    assert reads and all(produced[(name, version)] == digest for name, version, digest in reads)
    [augmented] = [e for e in complete if e["job"]["name"] == "lv/augmented"
                   and e["run"]["facets"]["parent"]["run"]["runId"] == runs[1].run_id]
    fitted_on = augmented["outputs"][0]["facets"][PROVENANCE_FACET]["generator"]["fittedOn"]
    assert fitted_on == f"lv/real_arrivals@{_metadata(runs[1], Stage.REAL_ARRIVALS)['lineage_version']}"


@pytest.mark.parametrize("generation", [1, 2])
def test_cli_answers_for_every_generation(repeated, capsys, generation):
    runner, _, _, runs, _ = repeated
    data_dir = ["--data-dir", str(runner.data_dir), "--format", "json"]

    def query(*command: str) -> list[dict]:
        assert main(["lineage", *command, *data_dir]) == 0, capsys.readouterr().err
        return json.loads(capsys.readouterr().out)

    run = runs[generation - 1]
    for stage in (Stage.REAL_ARRIVALS, Stage.AUGMENTED, Stage.SYNTHETIC, Stage.TRAINING_MIX, Stage.MODEL):
        rows = query("ancestors", f"lv/{stage.value}", "--generation", str(generation))
        assert rows[0]["hops"] == 0 and rows[0]["version"] == _metadata(run, stage)["lineage_version"], stage
        assert max(row["generation"] for row in rows if row["generation"] is not None) == generation
        below = query("descendants", f"lv/{stage.value}", "--generation", str(generation))
        assert min(row["generation"] for row in below) == generation
    made = query("descendants", "--generator", "smote", "--pipeline", "lv", "--generation", str(generation))
    assert {row["generation"] for row in made if row["name"] == "lv/augmented"} == {generation}
    [mix] = [row for row in query("composition", "--pipeline", "lv") if row["generation"] == generation]
    assert mix["version"] == _metadata(run, Stage.TRAINING_MIX)["lineage_version"]
    checks = query("checks", "--pipeline", "lv", "--generation", str(generation))
    assert {row["generation"] for row in checks} == {generation}
    assert main(["lineage", "holdout-audit", *data_dir]) == 0
    assert not any(row["leak"] for row in json.loads(capsys.readouterr().out))


def test_a_file_not_written_by_a_recorded_publish_is_known_by_its_content(repeated, tmp_path):
    runner, pipeline, _, runs, _ = repeated
    key = pipeline.key(Stage.AUGMENTED)
    ref = stored_ref(runner.store, key, "2")
    assert (ref.version, ref.digest) == (_metadata(runs[1], Stage.AUGMENTED)["lineage_version"],
                                         _metadata(runs[1], Stage.AUGMENTED)["lineage_content_digest"])
    # The same frame stored in another data directory, without a publish: no recorded version.
    from synth_pipeline import DatasetStore

    other = DatasetStore(base_dir=str(tmp_path / "other"))
    path = other.write(runner.store.read(key, "2"), key, "2")
    bare = stored_ref(other, key, "2")
    assert bare.version == bare.digest == file_version(path)[0] == ref.digest
    assert not LineageLayout.for_data_dir(other.root).version_record(path).exists()
