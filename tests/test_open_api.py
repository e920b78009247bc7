"""The open plugin API: provenance and guard rails on a team's own Dagster assets, with no
template (issue 15, points 1-3)."""


import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from lineage_helpers import logical_name
from synth_pipeline import (
    STORE_KEY,
    GenerationMap,
    GuardedAssets,
    Provenance,
    ProvenanceError,
    SynthPipelineError,
    SynthPolicy,
    build_guard_rails,
    combine,
    guard_rail_resources,
    guarded_definitions,
    holdout_report,
    pipeline_resources,
    provenance_asset,
    publish_rows,
    user_columns,
    with_provenance,
)
from synth_pipeline.errors import GenerationError, UnknownNameError
from synth_pipeline.lineage.facets import PROVENANCE_FACET
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.provenance import DEPTH_COLUMN, KIND_COLUMN
from synth_pipeline.storage import DatasetStore

REPO = Path(__file__).resolve().parents[1]
LABEL = "target"
QUARTERS = dg.StaticPartitionsDefinition(["2026-q1", "2026-q2", "2026-q3"])


def _breast_cancer(rows: int | None = None) -> pd.DataFrame:
    from synth_pipeline.datasets import breast_cancer

    frame = breast_cancer()[["mean_radius", "mean_texture", "mean_smoothness", "worst_area", LABEL]]
    return frame if rows is None else frame.head(rows)


def _team_split(pipeline: str, label: str, source: str, holdout: str, train: str, *, seed: int,
                leaky: bool = False) -> dg.AssetsDefinition:
    """A team's own split as a multi-asset: 30 % sealed; ``leaky`` keeps the sealed rows in the train side too."""
    holdout_p = Provenance(pipeline=pipeline, role="real_holdout", label_column=label)
    train_p = Provenance(pipeline=pipeline, role="real_train", label_column=label)

    @dg.multi_asset(specs=[with_provenance(dg.AssetSpec(holdout, deps=[source]), holdout_p),
                           with_provenance(dg.AssetSpec(train, deps=[source]), train_p)],
                    ins={"rows": dg.AssetIn(source)}, required_resource_keys={STORE_KEY}, name=f"{pipeline}_split")
    def split(context: dg.AssetExecutionContext, rows: pd.DataFrame):
        sealed = rows.sample(frac=0.3, random_state=seed)
        yield publish_rows(context, sealed, provenance=holdout_p, asset_key=holdout)
        yield publish_rows(context, rows if leaky else rows.drop(sealed.index), provenance=train_p, asset_key=train)

    return split


def _team_assets(generator, *, partitions_def=QUARTERS, generations=None, mix_extra=None, reads_holdout=False,
                 leaky_split=False):
    """A team's pipeline on quarterly partitions: loader, split, their generator, mix, trainer, evaluation."""
    generations = generations or GenerationMap.position(QUARTERS)

    @provenance_asset(pipeline="team", role="real_source", label_column=LABEL)
    def loans() -> pd.DataFrame:
        return _breast_cancer()

    split = _team_split("team", LABEL, "loans", "sealed", "train", seed=1, leaky=leaky_split)

    @provenance_asset(pipeline="team", role="real_arrivals", label_column=LABEL, partitions_def=partitions_def,
                      generations=generations)
    def arrivals(context: dg.AssetExecutionContext, train: pd.DataFrame) -> pd.DataFrame:
        generation = generations.generation(context.partition_key)
        return train.iloc[(generation - 1) * 100:generation * 100][user_columns(train)]

    @provenance_asset(pipeline="team", role="synthetic", label_column=LABEL, generator="team_generator",
                      generator_params={"kind": generator.__name__}, fitted_on="arrivals",
                      partitions_def=partitions_def, generations=generations)
    def made(context: dg.AssetExecutionContext, arrivals: pd.DataFrame) -> pd.DataFrame:
        return generator(arrivals[user_columns(arrivals)], generations.generation(context.partition_key))

    @provenance_asset(pipeline="team", role="training_mix", label_column=LABEL, partitions_def=partitions_def,
                      generations=generations)
    def mix(context: dg.AssetExecutionContext, arrivals: pd.DataFrame, made: pd.DataFrame) -> pd.DataFrame:
        # mix_extra: holdout rows slipped in behind Dagster's back (read from the store's file)
        store = getattr(context.resources, STORE_KEY)
        sealed = [store.read(dg.AssetKey("sealed")).head(mix_extra)] if mix_extra else []
        return combine([arrivals, made, *sealed])

    if reads_holdout:  # the same mix, with the holdout as a declared input
        @provenance_asset(pipeline="team", role="training_mix", label_column=LABEL, partitions_def=partitions_def,
                          generations=generations, key="mix")
        def mix(arrivals: pd.DataFrame, made: pd.DataFrame, sealed: pd.DataFrame) -> pd.DataFrame:
            return combine([arrivals, made])

    @provenance_asset(pipeline="team", role="model", partitions_def=partitions_def, generations=generations)
    def model(mix: pd.DataFrame):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1000).fit(mix[_FEATURES], mix[LABEL])

    @provenance_asset(pipeline="team", role="evaluation", partitions_def=partitions_def, generations=generations)
    def evaluation(context: dg.AssetExecutionContext, model, sealed: pd.DataFrame, mix: pd.DataFrame):
        return holdout_report({"training_mix": (model, len(mix))}, sealed, label_column=LABEL, holdout_asset="sealed",
                              generation=generations.generation(context.partition_key), features=_FEATURES)

    return [loans, split, arrivals, made, mix, model, evaluation]


_FEATURES = ["mean_radius", "mean_texture", "mean_smoothness", "worst_area"]

GUARDED = GuardedAssets(
    name="team", label_column=LABEL, real_source="loans", real_holdout="sealed", real_train="train",
    real_arrivals="arrivals", synthetic=["made"], training_mix="mix", evaluation="evaluation",
    generations=GenerationMap.position(QUARTERS),
)


def class_gaussian(rows: pd.DataFrame, generation: int) -> pd.DataFrame:
    """An honest generator: per class, a multivariate normal fitted on the class's rows."""
    rng = np.random.default_rng(generation)
    parts = []
    for label, group in rows.groupby(LABEL):
        values = rng.multivariate_normal(group[_FEATURES].mean(), group[_FEATURES].cov(), size=len(group) // 2)
        part = pd.DataFrame(values, columns=_FEATURES)
        part[LABEL] = label
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[rows.columns]


def replayer(rows: pd.DataFrame, generation: int) -> pd.DataFrame:
    """A leaking generator: it hands back the rows it was fitted on."""
    return rows.sample(n=len(rows) // 2, random_state=generation)


def _materialize(assets, partition: str, data_dir: Path, instance, policy: SynthPolicy | None = None):
    return dg.materialize(
        [*assets, *build_guard_rails(GUARDED)], partition_key=partition, instance=instance,
        resources=guard_rail_resources(GUARDED, policy=policy or SynthPolicy(min_holdout_rows=100),
                                       data_dir=str(data_dir)),
        raise_on_error=False,
    )


def _checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}


def test_team_assets_on_quarterly_partitions_are_stamped_stored_per_generation_and_guarded(tmp_path):
    data = tmp_path / "data"
    with dg.instance_for_test() as instance:
        assets = _team_assets(class_gaussian)
        first = _materialize(assets, "2026-q1", data, instance)
        second = _materialize(assets, "2026-q2", data, instance)
    for result in (first, second):
        checks = _checks(result)
        failed = {name: e.metadata.get("evidence") for name, e in checks.items() if not e.passed}
        assert result.success and not failed, failed
        # every guard rail ran on the team's assets
        assert {"sealed:holdout_purity", "mix:holdout_isolation", "mix:synthetic_budget", "mix:generation_budget",
                "mix:recursion_depth", "mix:unknown_budget", "evaluation:evaluation_on_real", "made:fidelity",
                "made:privacy", "made:utility", "made:diversity", "mix:diversity",
                "made:provenance_valid"} <= set(checks)
    # the quarter keys map to generations 1 and 2: stored per generation, checked as generation 2
    store = DatasetStore(base_dir=str(data))
    assert store.stored_generations(dg.AssetKey("made")) == [1, 2]
    assert _checks(second)["mix:generation_budget"].metadata["generation"].value == 2
    made = store.read(dg.AssetKey("made"), "2")
    assert set(made[KIND_COLUMN]) == {"synthetic"} and set(made[DEPTH_COLUMN]) == {1}
    mix = store.read(dg.AssetKey("mix"), "2")
    assert sorted(mix[KIND_COLUMN].unique()) == ["real", "synthetic"]
    # lineage: the generator's step records what it was fitted on and its provenance facet
    events = [json.loads(line) for path in LineageLayout.for_data_dir(data).journal_files()
              for line in path.read_text().splitlines()]
    complete = sorted((e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"] == "made"),
                      key=lambda e: e["eventTime"])
    assert len(complete) == 2
    facet = complete[-1]["outputs"][0]["facets"][PROVENANCE_FACET]
    assert facet["kind"] == "synthetic" and facet["generation"] == 2
    assert facet["generator"]["name"] == "team_generator" and facet["generator"]["fittedOn"].startswith("arrivals@")
    assert [logical_name(i) for i in complete[-1]["inputs"]] == ["arrivals"]


def test_guard_rails_on_team_assets_catch_a_replaying_generator_and_holdout_rows_in_the_mix(tmp_path):
    with dg.instance_for_test() as instance:
        leaking = _materialize(_team_assets(replayer), "2026-q1", tmp_path / "a", instance)
        checks = _checks(leaking)
        assert not checks["made:privacy"].passed, checks["made:privacy"].metadata["evidence"]
        assert "copies of training rows" in checks["made:privacy"].metadata["evidence"].value
        materialized = {e.asset_key.to_user_string() for e in leaking.get_asset_materialization_events()}
        assert "made" in materialized and "mix" not in materialized  # blocking: nothing downstream of it ran
        assert not leaking.success

        tainted = _materialize(_team_assets(class_gaussian, mix_extra=20), "2026-q1", tmp_path / "b", instance)
        isolation = _checks(tainted)["mix:holdout_isolation"]
        assert not isolation.passed
        assert isolation.metadata["observed"].value == 20, isolation.metadata["evidence"]

        # a split whose train side still holds the sealed records
        leaky = _materialize(_team_assets(class_gaussian, leaky_split=True), "2026-q1", tmp_path / "d", instance)
        purity = _checks(leaky)["train:holdout_excluded"]
        assert not purity.passed and not leaky.success
        assert purity.metadata["rule"].value == "holdout records also in the train split"
        sealed = DatasetStore(base_dir=str(tmp_path / "d")).read(dg.AssetKey("sealed"))
        assert purity.metadata["observed"].value == len(sealed)  # every sealed record is also a train record

        # a declared read of the holdout by anything but the evaluation is refused before anything is stored
        reader = _materialize(_team_assets(class_gaussian, reads_holdout=True), "2026-q1", tmp_path / "c", instance)
        [failure] = [e for e in reader.all_events if e.event_type_value == "STEP_FAILURE"]
        assert "mix (training_mix) reads the sealed holdout ['sealed']: only the evaluation may read it" in str(
            failure.event_specific_data.error), failure
        assert not DatasetStore(base_dir=str(tmp_path / "c")).stored_generations(dg.AssetKey("mix"))


def test_unpartitioned_generated_asset_takes_its_generation_from_output_metadata(tmp_path):
    @provenance_asset(pipeline="flat", role="real_source", label_column=LABEL)
    def rows() -> pd.DataFrame:
        return _breast_cancer(200)

    @provenance_asset(pipeline="flat", role="synthetic", label_column=LABEL, generator="jitter", fitted_on="rows")
    def made(rows: pd.DataFrame) -> dg.Output:
        frame = rows[user_columns(rows)].sample(50, random_state=0).reset_index(drop=True)
        frame[_FEATURES] = frame[_FEATURES] * 1.01
        return dg.Output(frame, metadata={"synth_pipeline/generation": 3})

    @provenance_asset(pipeline="flat", role="synthetic", label_column=LABEL, generator="jitter", fitted_on="rows",
                      key="no_generation")
    def no_generation(rows: pd.DataFrame) -> pd.DataFrame:
        return rows[user_columns(rows)].head(5)

    resources = pipeline_resources(str(tmp_path))
    result = dg.materialize([rows, made], resources=resources)
    [materialization] = [m for m in result.asset_materializations_for_node("made")]
    assert materialization.metadata["generation"].value == 3
    assert DatasetStore(base_dir=str(tmp_path)).stored_generations(dg.AssetKey("made")) == [3]
    with pytest.raises(GenerationError, match="synth_pipeline/generation"):
        dg.materialize([rows, no_generation], resources=resources)


def test_a_mix_without_provenance_and_bad_declarations_are_refused_with_the_fix(tmp_path):
    @provenance_asset(pipeline="p", role="training_mix", label_column=LABEL)
    def mix() -> pd.DataFrame:
        return _breast_cancer(10)

    with pytest.raises(ProvenanceError, match="synth_pipeline.combine"):
        dg.materialize([mix], resources=pipeline_resources(str(tmp_path)), tags={"synth_pipeline/generation": "1"})
    assert not list(tmp_path.rglob("*.parquet")), "nothing half-written"
    with pytest.raises(SynthPipelineError, match="must name its generator"):
        provenance_asset(pipeline="p", role="synthetic")
    with pytest.raises(SynthPipelineError, match="not one of"):
        provenance_asset(pipeline="p", role="synthetc")
    with pytest.raises(SynthPipelineError, match="more than one role"):
        GuardedAssets(name="p", label_column=LABEL, real_holdout="a", training_mix="a")
    with pytest.raises(GenerationError, match="is not one of the 3 keys"):
        GenerationMap.position(QUARTERS).generation("2027-q1")


def test_example_project_runs_from_the_cli_with_every_guard_rail(tmp_path):
    env = {**os.environ, "SYNTH_PIPELINE_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(REPO)}
    (tmp_path / "home").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "synth_pipeline.cli", "run", "-m", "examples.own_assets.definitions",
         "--generations", "2"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "generation 1 done" in done.stdout and "generation 2 done" in done.stdout
    store = DatasetStore(base_dir=str(tmp_path / "data"))
    simulated = store.read(dg.AssetKey("simulated"), "2")
    real_ids = set(store.read(dg.AssetKey("customers"))["customer_id"])
    assert simulated["customer_id"].notna().all() and not set(simulated["customer_id"]) & real_ids
    evaluation = store.read(dg.AssetKey("evaluation"), "2")
    assert evaluation["evaluated_on"].eq("holdout").all() and evaluation["balanced_accuracy"].between(0.5, 1).all()
    from synth_pipeline.lineage.store import LineageStore

    with LineageStore(tmp_path / "data").connect() as connection:  # keys without the pipeline's name in them
        pipelines = connection.execute("SELECT DISTINCT pipeline FROM check_results").fetchall()
    assert pipelines == [("churn",)]


def test_example_project_loads_as_a_code_location_for_the_ui(tmp_path):
    """``dagster dev -m examples.own_assets.definitions`` loads what this validates."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run([str(dagster), "definitions", "validate", "-m", "examples.own_assets.definitions"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Validation successful for code location examples.own_assets.definitions" in done.stderr + done.stdout


def test_guarded_definitions_check_names_roles_and_holdout_readers_before_anything_runs():
    from examples.own_assets import churn_assets

    assets = dg.load_assets_from_modules([churn_assets])
    base = {"name": "churn", "label_column": "churned", "real_source": "customers", "real_holdout": "holdout",
            "real_train": "train", "real_arrivals": "new_customers", "synthetic": ["simulated"],
            "training_mix": "mix", "evaluation": "evaluation"}
    checks = guarded_definitions(GuardedAssets(**base), assets).asset_checks
    assert sum(len(step.check_keys) for step in checks) == 20
    assert len(checks) == 7  # one step per checked asset: its failure names all its checks
    with pytest.raises(UnknownNameError, match="no asset 'simulatd' for the synthetic role .*did you mean 'simulated'"):
        guarded_definitions(GuardedAssets(**{**base, "synthetic": ["simulatd"]}), assets)
    with pytest.raises(SynthPipelineError,
                       match="holdout is declared real_holdout but GuardedAssets names it real_train"):
        guarded_definitions(GuardedAssets(**{**base, "real_holdout": "train", "real_train": "holdout"}), assets)
    with pytest.raises(SynthPipelineError, match="new_customers is declared real_arrivals of churn but GuardedAssets "
                                                 "does not name it"):
        guarded_definitions(GuardedAssets(**{**base, "real_arrivals": None}), assets)

    @provenance_asset(pipeline="churn", role="synthetic", label_column="churned", generator="peek",
                      fitted_on="train", partitions_def=churn_assets.generations)
    def peeking(train: pd.DataFrame, holdout: pd.DataFrame) -> pd.DataFrame:
        return train

    with pytest.raises(SynthPipelineError, match=r"\['peeking'\] depend on the sealed holdout holdout"):
        guarded_definitions(GuardedAssets(**{**base, "synthetic": ["simulated", "peeking"]}), [*assets, peeking])


def test_a_regression_target_on_team_assets_is_generated_as_a_number_and_scored_with_r2(tmp_path):
    from synth_pipeline import generations_partitions
    from synth_pipeline.datasets import diabetes

    generations = generations_partitions("dia")
    label = "target"

    @provenance_asset(pipeline="dia", role="real_source", label_column=label)
    def patients() -> pd.DataFrame:
        return diabetes()[["age", "bmi", "bp", "s5", label]]

    split = _team_split("dia", label, "patients", "held", "fit", seed=0)

    @provenance_asset(pipeline="dia", role="synthetic", label_column=label, generator="gaussian", fitted_on="fit",
                      partitions_def=generations)
    def made(fit: pd.DataFrame) -> pd.DataFrame:
        columns = user_columns(fit)
        values = np.random.default_rng(0).multivariate_normal(fit[columns].mean(), fit[columns].cov(), size=150)
        return pd.DataFrame(values, columns=columns)

    @provenance_asset(pipeline="dia", role="training_mix", label_column=label, partitions_def=generations)
    def mixed(fit: pd.DataFrame, made: pd.DataFrame) -> pd.DataFrame:
        return combine([fit, made])

    @provenance_asset(pipeline="dia", role="model", partitions_def=generations)
    def regressor(mixed: pd.DataFrame):
        from sklearn.linear_model import LinearRegression

        return LinearRegression().fit(mixed[["age", "bmi", "bp", "s5"]], mixed[label])

    @provenance_asset(pipeline="dia", role="evaluation", partitions_def=generations)
    def scored(regressor, held: pd.DataFrame, mixed: pd.DataFrame) -> pd.DataFrame:
        return holdout_report({"training_mix": (regressor, len(mixed))}, held, label_column=label,
                              holdout_asset="held", generation=1, features=["age", "bmi", "bp", "s5"])

    guarded = GuardedAssets(name="dia", label_column=label, real_source="patients", real_holdout="held",
                            real_train="fit", synthetic=["made"], training_mix="mixed", evaluation="scored")
    defs = guarded_definitions(guarded, [patients, split, made, mixed, regressor, scored], data_dir=str(tmp_path),
                               policy=SynthPolicy(min_tstr_trtr_ratio=0.3))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("dia_generations", ["1"])
        result = defs.resolve_job_def("dia_generation").execute_in_process(
            partition_key="1", instance=instance, raise_on_error=False)
    checks = {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}
    assert result.success, {k: e.metadata.get("evidence") for k, e in checks.items() if not e.passed}
    store = DatasetStore(base_dir=str(tmp_path))
    made_rows = store.read(dg.AssetKey("made"), "1")
    assert made_rows[label].nunique() > 100  # numbers, not the fit input's classes
    report = store.read(dg.AssetKey("scored"), "1")
    assert report["task"].eq("regression").all() and report["primary_metric"].eq("r2").all()
    assert 0 < report["r2"].iloc[0] < 1
    assert "r2" in checks["made:utility"].metadata["rule"].value  # the utility ratio is taken on R²


def test_the_template_declares_its_stages_as_a_team_declares_its_assets_and_passes_the_same_validation():
    from assets.pipeline import reference_pipeline
    from synth_pipeline import validate_guarded
    from synth_pipeline.naming import Stage

    validate_guarded(reference_pipeline.guarded, reference_pipeline.assets)
    graph = reference_pipeline.to_definitions().resolve_asset_graph()
    synthetic = graph.get(reference_pipeline.key(Stage.SYNTHETIC))
    declared = Provenance(pipeline="breast_cancer", role="synthetic", label_column="target",
                          generator="gaussian_copula", fitted_on=reference_pipeline.key(Stage.REAL_ARRIVALS))
    assert synthetic.metadata["synth_pipeline/provenance"] == declared.metadata()["synth_pipeline/provenance"]
    assert declared.tags().items() <= synthetic.tags.items()
    with pytest.raises(SynthPipelineError, match="declared real_holdout but GuardedAssets names it real_train"):
        import dataclasses

        swapped = dataclasses.replace(reference_pipeline.guarded, real_holdout=reference_pipeline.key(Stage.REAL_TRAIN),
                                      real_train=reference_pipeline.key(Stage.REAL_HOLDOUT))
        validate_guarded(swapped, reference_pipeline.assets)


def test_multi_asset_outputs_on_mapped_partitions_load_downstream_and_a_non_dp_fit_spends_the_budget(tmp_path):
    """A multi-asset output declared with_provenance on quarter keys is stored as generation 1 and
    loaded as such; with max_epsilon set and no real_source declared, a fit without DP on the train
    split still counts (review findings)."""
    quarters = dg.StaticPartitionsDefinition(["2026-q1", "2026-q2"])
    mapped = GenerationMap.position(quarters)
    rng = np.random.default_rng(0)

    def rows(n: int) -> pd.DataFrame:
        return pd.DataFrame({"x": rng.normal(size=n).round(3), "z": rng.normal(size=n).round(3),
                             "y": [i % 2 for i in range(n)]})

    arrivals_p = Provenance(pipeline="t", role="real_arrivals", label_column="y", generations=mapped)

    @provenance_asset(pipeline="t", role="real_holdout", label_column="y")
    def holdout() -> pd.DataFrame:
        return rows(120)

    @provenance_asset(pipeline="t", role="real_train", label_column="y")
    def train() -> pd.DataFrame:
        return rows(300)

    @dg.multi_asset(specs=[with_provenance(dg.AssetSpec("arr", partitions_def=quarters), arrivals_p)],
                    required_resource_keys={STORE_KEY}, partitions_def=quarters)
    def load(context: dg.AssetExecutionContext):
        yield publish_rows(context, rows(60), provenance=arrivals_p, asset_key="arr")

    @provenance_asset(pipeline="t", role="synthetic", label_column="y", generator="copycat", fitted_on="train",
                      partitions_def=quarters, generations=mapped)
    def made(train: pd.DataFrame) -> pd.DataFrame:
        return train[["x", "z", "y"]].head(20).assign(x=lambda f: f["x"] + 0.01)

    @provenance_asset(pipeline="t", role="training_mix", label_column="y", partitions_def=quarters, generations=mapped)
    def mix(arr: pd.DataFrame, made: pd.DataFrame) -> pd.DataFrame:
        return combine([arr, made])

    guarded = GuardedAssets(name="t", label_column="y", real_holdout="holdout", real_train="train",
                            real_arrivals="arr", synthetic=["made"], training_mix="mix", generations=mapped)
    with dg.instance_for_test() as instance:
        def run(policy: SynthPolicy, data_dir: Path):
            return dg.materialize(
                [holdout, train, load, made, mix, *build_guard_rails(guarded, quality=False)], partition_key="2026-q1",
                instance=instance, raise_on_error=False,
                resources=guard_rail_resources(guarded, policy=policy, data_dir=str(data_dir)))

        loose = run(SynthPolicy(min_holdout_rows=10), tmp_path / "a")
        strict = run(SynthPolicy(min_holdout_rows=10, max_epsilon=1.0), tmp_path / "b")
    store = DatasetStore(base_dir=str(tmp_path / "a"))
    assert loose.success  # the mix loaded the multi-asset's quarter "2026-q1" from generation 1's file
    assert store.stored_generations(dg.AssetKey("arr")) == [1] == store.stored_generations(dg.AssetKey("mix"))
    [budget] = [e for e in strict.get_asset_check_evaluations() if e.check_name == "privacy_budget"]
    assert not budget.passed, budget.metadata["evidence"]
    assert budget.metadata["privacy_fits_without_dp"].value == ["generation 1: copycat"]


def test_an_old_generations_materialization_is_found_behind_many_later_ones():
    """Checks re-run on an old generation read its own fitted_on record, not a fallback (review finding)."""
    from synth_pipeline.checks.rule_checks import latest_metadata

    with dg.instance_for_test() as instance:
        for generation in range(1, 261):
            instance.report_runless_asset_event(dg.AssetMaterialization(
                asset_key="made", metadata={"generation": generation, "fitted_on_asset": f"fit{generation}"}))
        assert latest_metadata(instance, dg.AssetKey("made"), 3)["fitted_on_asset"] == "fit3"
        assert latest_metadata(instance, dg.AssetKey("made"), 0)["generation"] == 260
        assert latest_metadata(instance, dg.AssetKey("made"), 999) == {}


def _refit_chain(tmp_path: Path) -> tuple[list[dg.AssetsDefinition], DatasetStore]:
    """Unpartitioned team assets: a real source, a jitter generator on it, SMOTE-like interpolation on the
    generated rows (augmented), and a refit declared on ``made`` that really fits on the previous generation's."""
    store = DatasetStore(base_dir=str(tmp_path))

    @provenance_asset(pipeline="chain", role="real_source", label_column=LABEL)
    def source() -> pd.DataFrame:
        return _breast_cancer(120)

    @provenance_asset(pipeline="chain", role="synthetic", label_column=LABEL, generator="jitter", fitted_on="source")
    def made(source: pd.DataFrame) -> pd.DataFrame:
        rows = source[user_columns(source)].copy()
        rows["mean_radius"] = rows["mean_radius"] * 1.01
        return rows

    @provenance_asset(pipeline="chain", role="augmented", label_column=LABEL, generator="midpoints", fitted_on="made")
    def interpolated(made: pd.DataFrame) -> pd.DataFrame:
        rows = made[user_columns(made)]
        middle = (rows.iloc[:-1].reset_index(drop=True) + rows.iloc[1:].reset_index(drop=True)) / 2
        middle[LABEL] = rows[LABEL].iloc[:-1].to_numpy()
        return middle.astype(rows.dtypes.to_dict())

    refit_p = Provenance(pipeline="chain", role="synthetic", label_column=LABEL, generator="jitter",
                         fitted_on="made")

    @dg.multi_asset(specs=[with_provenance(dg.AssetSpec("refit", deps=["made"]), refit_p)],
                    required_resource_keys={STORE_KEY})
    def refit(context: dg.AssetExecutionContext):
        from synth_pipeline import FitInput, GeneratedBy

        generation = int(context.run.tags["synth_pipeline/generation"])
        fit = FitInput(dg.AssetKey("made"), str(generation - 1), store.read(dg.AssetKey("made"), str(generation - 1)))
        yield publish_rows(context, fit.rows[user_columns(fit.rows)].head(50), provenance=refit_p, asset_key="refit",
                           generated_by=GeneratedBy(fit=fit))

    return [source, made, interpolated, refit], store


def test_augmented_rows_of_a_team_asset_keep_their_source_depth_and_a_refit_on_an_earlier_generation_is_recorded(
        tmp_path):
    """DESIGN.md: augmented rows keep their source's depth (they were stamped one deeper); a generator fitted on
    the previous generation's rows says so (fitted_on was always read at the asset's own generation)."""
    assets, store = _refit_chain(tmp_path)
    resources = pipeline_resources(str(tmp_path))
    first = dg.materialize(assets[:3], resources=resources, tags={"synth_pipeline/generation": "1"})
    assert first.success
    assert set(store.read(dg.AssetKey("made"), "1")[DEPTH_COLUMN]) == {1}
    augmented = store.read(dg.AssetKey("interpolated"), "1")
    assert len(augmented) == 119 and set(augmented[DEPTH_COLUMN]) == {1}
    assert set(augmented[KIND_COLUMN]) == {"augmented"}

    second = dg.materialize(assets, selection=["made", "refit"], resources=resources,
                            tags={"synth_pipeline/generation": "2"})
    assert second.success
    refit = store.read(dg.AssetKey("refit"), "2")
    assert set(refit[DEPTH_COLUMN]) == {2} and len(refit) == 50
    [event] = [e for e in second.get_asset_materialization_events() if e.asset_key == dg.AssetKey("refit")]
    metadata = event.materialization.metadata
    assert metadata["fitted_on"].value == "made[1]" and metadata["fitted_on_generation"].value == 1


def test_an_undeclared_value_given_to_the_io_manager_is_refused_with_both_fixes(tmp_path):
    """One storage path: a value the IO manager would store without provenance, version or lineage is refused."""
    from synth_pipeline import IO_MANAGER_KEY

    @dg.asset(io_manager_key=IO_MANAGER_KEY)
    def plain() -> pd.DataFrame:
        return pd.DataFrame({"x": [1, 2]})

    with pytest.raises(ProvenanceError, match=r"plain returned a DataFrame .*role='model'.*io_manager_key"):
        dg.materialize([plain], resources=pipeline_resources(str(tmp_path)))
    assert not list(tmp_path.rglob("*.parquet"))


def test_a_time_window_generation_map_reads_new_windows_and_dynamic_partitions_are_refused():
    """GenerationMap.position read a time-window definition's keys once, at import: a window that opened
    later (a long-running code server, a daily schedule) was refused. Dynamic keys have no fixed order."""
    import datetime

    from dagster._core.test_utils import freeze_time  # Dagster's own clock for time-window keys

    daily = dg.DailyPartitionsDefinition(start_date="2026-11-01")
    with freeze_time(datetime.datetime(2026, 11, 4, 12, tzinfo=datetime.UTC)):
        mapped = GenerationMap.position(daily)
        assert mapped.generation("2026-11-03") == 3
    with freeze_time(datetime.datetime(2026, 11, 9, 12, tzinfo=datetime.UTC)):
        assert mapped.generation("2026-11-08") == 8
        assert mapped.generation("2026-11-01") == 1
    with pytest.raises(SynthPipelineError, match="dynamic partitions 'drops'.*GenerationMap\\(function\\)"):
        GenerationMap.position(dg.DynamicPartitionsDefinition(name="drops"))


def _complement_assets(*, leave_out: bool) -> list[dg.AssetsDefinition]:
    """A team's split as two assets: the holdout, and the train split computed as the source minus it."""
    from synth_pipeline.provenance import ROW_HASH_COLUMN

    @provenance_asset(pipeline="cut", role="real_source", label_column=LABEL)
    def source() -> pd.DataFrame:
        return _breast_cancer(300)

    @provenance_asset(pipeline="cut", role="real_holdout", label_column=LABEL)
    def holdout(source: pd.DataFrame) -> pd.DataFrame:
        return source.sample(frac=0.3, random_state=0)

    @provenance_asset(pipeline="cut", role="real_train", label_column=LABEL)
    def train(source: pd.DataFrame, holdout: pd.DataFrame) -> pd.DataFrame:
        return source[~source[ROW_HASH_COLUMN].isin(holdout[ROW_HASH_COLUMN])] if leave_out else source

    @provenance_asset(pipeline="cut", role="training_mix", label_column=LABEL)
    def mix(train: pd.DataFrame) -> pd.DataFrame:
        return train

    return [source, holdout, train, mix]


@pytest.mark.parametrize("leave_out", [True, False], ids=["complement", "holdout-kept"])
def test_a_train_split_may_read_the_holdout_to_leave_it_out_and_purity_judges_the_result(tmp_path, leave_out):
    """The train split computed as source minus holdout was refused as a holdout reader (review finding); it
    is allowed, and holdout_purity fails the one that keeps the sealed rows."""
    guarded = GuardedAssets(name="cut", label_column=LABEL, real_source="source", real_holdout="holdout",
                            real_train="train", training_mix="mix")
    assets = _complement_assets(leave_out=leave_out)
    defs = guarded_definitions(guarded, assets, policy=SynthPolicy(min_holdout_rows=50), data_dir=str(tmp_path))
    result = dg.materialize([*assets, *defs.asset_checks], resources=defs.resources, raise_on_error=False,
                            tags={"synth_pipeline/generation": "1"})
    checks = {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}
    assert checks["holdout:holdout_purity"].passed
    excluded = checks["train:holdout_excluded"]
    assert excluded.passed is leave_out, excluded.metadata["evidence"]
    assert excluded.metadata["observed"].value == (0 if leave_out else 90)  # 30 % of 300 rows sealed
    assert result.success is leave_out  # the failed check blocks the run


def test_a_train_split_made_apart_from_the_holdout_in_no_fixed_order_is_refused_at_load():
    """holdout_excluded must judge this run's holdout: a train split in its own step that does not depend on the
    holdout could run first (review finding: the check then read a stale holdout or crashed on none)."""
    source, holdout, _, mix = _complement_assets(leave_out=True)

    @provenance_asset(pipeline="cut", role="real_train", label_column=LABEL)
    def train(source: pd.DataFrame) -> pd.DataFrame:
        return source

    guarded = GuardedAssets(name="cut", label_column=LABEL, real_source="source", real_holdout="holdout",
                            real_train="train", training_mix="mix")
    with pytest.raises(SynthPipelineError, match="make train depend on holdout"):
        guarded_definitions(guarded, [source, holdout, train, mix])
