"""The DuckDB lineage store: tables, queries (API, SQL, CLI), rebuild, holdout audit, hostile input."""

import csv
import io
import json

import pandas as pd
import pytest

from conftest import Runner, fast_spec, why
from lineage_helpers import journal_events
from synth_pipeline import GenerationMode, MixSpec, SourceSpec, SynthPolicy, build_synth_pipeline
from synth_pipeline.cli import main
from synth_pipeline.display import rounded
from synth_pipeline.lineage import queries
from synth_pipeline.lineage.queries import LineageQueryError
from synth_pipeline.lineage.store import LineageStore
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import ROW_HASH_COLUMN
from synth_pipeline.spec import FitOn, SynthesizerSpec

TABLES = ("events", "dataset_versions", "edges", "generators", "check_results", "check_assertions", "row_hashes")


@pytest.fixture(scope="module")
def two_generations(tmp_path_factory):
    runner = Runner(tmp_path_factory.mktemp("store") / "data")
    spec = fast_spec("ls", mix=MixSpec(mode=GenerationMode.ACCUMULATE, real_arrival_batches=2),
                     synthesizer=SynthesizerSpec(params={"default_distribution": "norm"}, fit_on=FitOn.PREVIOUS_MIX))
    pipeline = build_synth_pipeline(spec)
    runs = runner.run(pipeline, [1, 2])
    assert all(run.success for run in runs), [why(run) for run in runs]
    return runner, pipeline, runs, LineageStore(runner.data_dir)


def _counts(store):
    with store.connect(sync=False) as connection:
        return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] for table in TABLES}


def test_every_event_is_stored_and_rebuild_gives_the_same_store(two_generations):
    runner, _, runs, store = two_generations
    store.sync()
    events = journal_events(runner.data_dir)
    counts = _counts(store)
    assert counts["events"] == len(events)
    assert counts["check_results"] == sum(len(run.checks) for run in runs)
    assert store.sync().events == 0  # nothing ingested twice
    store.rebuild()
    assert _counts(store) == counts


def test_composition_per_generation_matches_the_runs(two_generations):
    _, _, runs, store = two_generations
    composition = store.composition("ls").set_index("generation")
    for run in runs:
        [mix] = [s for s in run.stages if s.stage == Stage.TRAINING_MIX]
        row = composition.loc[run.generation]
        assert row["rows"] == mix.metadata["dagster/row_count"]
        assert rounded(row["synthetic_fraction"]) == mix.metadata["synthetic_fraction"]  # exact here, rounded in the UI
        assert {k: row[f"rows_{k}"] for k in ("real", "synthetic", "augmented", "unknown")} == mix.metadata[
            "rows_by_kind"]


def test_ancestry_to_any_depth_matches_the_recursive_sql(two_generations):
    _, _, _, store = two_generations
    ancestors = store.ancestors("ls/model", generation=2)
    found = set(zip(ancestors["name"], ancestors["generation"].astype("Int64"), strict=True))
    # The generation-2 model descends from generation 1 through the mix (accumulate) and the
    # generator fitted on the previous mix, down to the source.
    assert {("ls/training_mix", 2), ("ls/synthetic", 2), ("ls/training_mix", 1), ("ls/synthetic", 1),
            ("ls/real_arrivals", 1), ("ls/real_train", 0), ("ls/real_source", 0)} <= found
    assert ("ls/real_holdout", 0) not in found
    with store.connect() as connection:
        version = ancestors.loc[ancestors["hops"] == 0, "version"].item()
        by_sql = connection.execute(queries.ANCESTORS_SQL, {"name": "ls/model", "version": version}).df()
    # Same rows in the same order; the API gives text columns as categoricals.
    pd.testing.assert_frame_equal(by_sql, ancestors, check_dtype=False, check_categorical=False)


def test_descendants_of_a_generator_reach_the_models(two_generations):
    _, _, _, store = two_generations
    downstream = store.descendants(generator="sdv.gaussian_copula", pipeline="ls", generation=1)
    found = set(zip(downstream["name"], downstream["generation"], strict=True))
    assert {("ls/synthetic", 1), ("ls/training_mix", 1), ("ls/model", 1), ("ls/synthetic", 2),
            ("ls/model", 2), ("ls/evaluation", 2)} <= found
    assert not any(name.endswith(("real_arrivals", "real_holdout")) for name in downstream["name"])


def test_check_history_per_generation(two_generations):
    _, _, runs, store = two_generations
    history = store.checks(pipeline="ls")
    for run in runs:
        rows = history[history["generation"].eq(run.generation) & history["dataset"].str.endswith("training_mix")]
        assert set(rows["check_name"]) >= {"synthetic_budget", "recursion_depth", "generation_budget"}
        assert rows["passed"].all()


def test_holdout_audit_is_clean_on_a_sealed_pipeline(two_generations):
    _, _, _, store = two_generations
    audit = store.holdout_audit("ls")
    assert len(audit) == 4  # SDV and SMOTE, two generations
    assert (audit["fit_rows_hashed"] > 0).all()
    assert not audit["leak"].any()


def test_holdout_audit_finds_holdout_rows_that_reached_a_generator(tmp_path):
    """Vendor data holding our own holdout rows enters the mix; generation 2's generator is fitted on it."""
    from synth_pipeline.datasets import breast_cancer

    runner = Runner(tmp_path / "data")
    vendor = tmp_path / "vendor.csv"
    breast_cancer().to_csv(vendor, index=False)  # every real row, the holdout's included
    spec = fast_spec("lk", unknown_source=SourceSpec(path=str(vendor)),
                     mix=MixSpec(include_unknown=True, real_arrival_batches=2),
                     synthesizer=SynthesizerSpec(params={"default_distribution": "norm"}, fit_on=FitOn.PREVIOUS_MIX))
    runner.run(build_synth_pipeline(spec), [1, 2], keep_going=True, policy=SynthPolicy(max_unknown_fraction=1.0))
    audit = LineageStore(runner.data_dir).holdout_audit("lk").set_index(["generator", "generation"])
    leaked = audit.loc[("sdv.gaussian_copula", 2)]
    assert leaked["holdout_rows_in_fit"] > 0 and leaked["rule_applied"]
    # Counted as the holdout_isolation check counts: copies beyond the train split's (none here: no duplicates).
    assert leaked["holdout_records_in_fit"] == leaked["holdout_rows_in_fit"]
    assert bool(leaked["leak"])
    assert main(["lineage", "holdout-audit", "--data-dir", str(runner.data_dir)]) == 1


def test_holdout_audit_counts_copies_of_duplicate_rows_as_the_isolation_check_does(tmp_path, capsys):
    """Legitimate exact duplicates: copies of a row land on both sides of the split, so the holdout and the
    train split share contents. The holdout_isolation check passes; the audit agrees and exits 0, saying how
    many holdout contents the train split also holds."""
    from synth_pipeline.datasets import breast_cancer

    real = breast_cancer()
    source = tmp_path / "duplicates.csv"
    pd.concat([real, *[real.iloc[:20]] * 2, real.iloc[20:40]]).to_csv(source, index=False)  # 20 rows x3, 20 x2
    runner = Runner(tmp_path / "data")
    pipeline = build_synth_pipeline(fast_spec("dup", real_source=SourceSpec(path=str(source)), unknown_source=None,
                                              mix=MixSpec(real_arrival_batches=2)))
    runs = runner.run(pipeline, [1, 2])
    assert all(run.success and run.check("holdout_isolation").passed for run in runs), [why(r) for r in runs]
    hashes = {stage: set(runner.read(pipeline, stage)[ROW_HASH_COLUMN]) for stage in (Stage.REAL_HOLDOUT,
                                                                                        Stage.REAL_TRAIN)}
    shared = len(hashes[Stage.REAL_HOLDOUT] & hashes[Stage.REAL_TRAIN])
    assert shared > 0  # copies of one row on both sides

    store = LineageStore(runner.data_dir)
    audit = store.holdout_audit("dup")
    assert len(audit) == 4 and audit["rule_applied"].all()
    assert (audit["holdout_rows_in_fit"] > 0).any()  # by content alone, the arrivals hold holdout contents
    assert (audit["holdout_records_in_fit"] == 0).all() and not audit["leak"].any()
    assert (audit["shared_with_train_split"] == audit["holdout_rows_in_fit"]).all()
    [overlap] = store.holdout_overlap("dup").itertuples()
    assert overlap.shared_contents == shared and overlap.holdout_contents == len(hashes[Stage.REAL_HOLDOUT])
    capsys.readouterr()
    assert main(["lineage", "holdout-audit", "--data-dir", str(runner.data_dir)]) == 0
    err = capsys.readouterr().err
    assert f"{shared} of {overlap.holdout_contents} holdout contents also occur in the train split" in err
    assert "reached a generator" not in err


def test_hostile_names_are_parameters_not_sql(two_generations, capsys):
    runner, _, _, store = two_generations
    store.sync()  # the counts of a synced store: the queries below sync too, and must find nothing new to add
    before = _counts(store)
    hostile = "x'; DROP TABLE edges; --"
    with pytest.raises(LineageQueryError, match="no dataset"):
        store.ancestors(hostile)
    assert main(["lineage", "descendants", hostile, "--data-dir", str(runner.data_dir)]) == 2
    assert "no dataset" in capsys.readouterr().err
    # A pipeline the store does not hold is a usage error listing those it holds (no empty answer).
    assert main(["lineage", "checks", "--pipeline", hostile, "--data-dir", str(runner.data_dir),
                 "--format", "json"]) == 2
    assert "no pipeline" in capsys.readouterr().err
    assert _counts(store) == before


@pytest.mark.parametrize("output_format", ["table", "json", "csv"])
def test_cli_queries_in_every_format(two_generations, capsys, output_format):
    runner, _, _, _ = two_generations
    for command in (["ancestors", "ls/model"], ["descendants", "ls/real_source"], ["composition"],
                    ["checks", "--generation", "2"], ["holdout-audit"]):
        assert main(["lineage", *command, "--data-dir", str(runner.data_dir), "--format", output_format]) == 0
        out = capsys.readouterr().out
        if output_format == "json":
            assert json.loads(out)
        elif output_format == "csv":
            assert out.count("\n") >= 1 and "," in out.splitlines()[0]
        else:
            assert out.strip() and out.strip() != "(no rows)"


def test_queries_after_a_rebuild_by_another_process_match_those_before(two_generations):
    _, _, _, store = two_generations
    before = store.descendants(generator="sdv.gaussian_copula", pipeline="ls")
    audit = store.holdout_audit()
    LineageStore(store.layout.root.parent).rebuild()  # as another process would: this store's cache is stale
    pd.testing.assert_frame_equal(store.descendants(generator="sdv.gaussian_copula", pipeline="ls"), before,
                                  check_categorical=False)
    pd.testing.assert_frame_equal(store.holdout_audit(), audit)


def test_checks_and_composition_show_the_latest_run_of_a_generation_by_default(tmp_path, capsys):
    """Generation 1 fails its synthetic budget twice (two rules each) and passes on a third run: ``lineage checks
    --failed`` lists nothing for it, as a CI gate needs; ``--all-runs`` keeps the history; the table shows every
    failed rule's evidence in full."""
    runner = Runner(tmp_path / "data")
    pipeline = build_synth_pipeline(fast_spec("rr", unknown_source=None, augmentation=None,
                                              mix=MixSpec(real_arrival_batches=2)))
    strict = SynthPolicy(max_synthetic_fraction=0.01, max_class_synthetic_fraction=0.01,
                         max_minority_class_synthetic_fraction=0.01)
    failed = [run for _ in range(2) for run in runner.run(pipeline, [1], policy=strict, keep_going=True)]
    assert not any(run.check("synthetic_budget").passed for run in failed)
    [passed] = runner.run(pipeline, [1])
    assert passed.success, why(passed)
    data_dir = ["--data-dir", str(runner.data_dir)]
    store = LineageStore(runner.data_dir)

    latest = store.checks(pipeline="rr", generation=1)
    budget = latest[latest["check_name"] == "synthetic_budget"]
    assert len(budget) == 1 and budget["passed"].all() and budget["latest"].all()
    assert budget["dagster_run_id"].item() == passed.run_id and budget["evaluations"].item() == 3
    assert store.checks(pipeline="rr", generation=1, failed_only=True).empty
    history = store.checks(pipeline="rr", generation=1, failed_only=True, all_runs=True)
    assert set(history["dagster_run_id"]) == {run.run_id for run in failed}
    assert "synthetic_budget" in set(history["check_name"]) and not history["latest"].any()

    assert main(["lineage", "checks", "--generation", "1", "--failed", *data_dir]) == 0
    assert capsys.readouterr().out.strip() == "(no rows)"
    for output_format in ("json", "csv"):
        assert main(["lineage", "checks", "--generation", "1", "--failed", "--format", output_format,
                     *data_dir]) == 0
        out = capsys.readouterr().out.strip()
        assert out == "[]" if output_format == "json" else out.startswith("pipeline,") and "\n" not in out
        assert main(["lineage", "checks", "--generation", "1", "--failed", "--all-runs", "--format", output_format,
                     *data_dir]) == 0
        out = capsys.readouterr().out
        rows = json.loads(out) if output_format == "json" else list(csv.DictReader(io.StringIO(out)))
        assert {row["dagster_run_id"] for row in rows} == {run.run_id for run in failed}

    # The table shortens the detail column and gives each failed rule's evidence in full below it.
    assert main(["lineage", "checks", "--generation", "1", "--failed", "--all-runs", "--check", "synthetic_budget",
                 *data_dir]) == 0
    table = capsys.readouterr().out
    details = history.loc[history["check_name"] == "synthetic_budget", "detail"]
    assert len(details) == 2
    for detail in details:
        head, rules = detail.split(": ", 1)
        assert head in ("2 rule(s) failed", "3 rule(s) failed") and len(detail) > 60
        assert f"    {head}:\n" in table
        for rule in rules.split(" | "):
            assert f"    * {rule}\n" in table + "\n", rule
    assert all(f"(run {run.run_id}):" in table for run in failed)

    composition = store.composition("rr")
    assert len(composition) == 1 and composition["dagster_run_id"].item() == passed.run_id
    every_mix = store.composition("rr", all_runs=True)
    assert list(every_mix["dagster_run_id"]) == [*(run.run_id for run in failed), passed.run_id]
    assert list(every_mix["latest"]) == [False, False, True]
    assert main(["lineage", "composition", "--format", "json", *data_dir]) == 0
    assert [row["dagster_run_id"] for row in json.loads(capsys.readouterr().out)] == [passed.run_id]


def test_checks_help_names_the_all_runs_flag(capsys):
    with pytest.raises(SystemExit):
        main(["lineage", "checks", "--help"])
    assert "--all-runs" in capsys.readouterr().out
