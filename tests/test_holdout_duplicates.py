"""The holdout split, arrivals, the accumulating mix and holdout isolation on tables with
few distinct rows, where identical rows are legitimate records (issue 13, defect 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import FAST_SYNTHESIZER, why
from synth_pipeline import MixSpec, SourceSpec, SynthPipelineSpec, build_synth_pipeline, tag_rows
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import GENERATION_COLUMN, KIND_COLUMN, ROW_HASH_COLUMN
from synth_pipeline.spec import GenerationMode
from synth_pipeline.splitting import holdout_mask
from synth_pipeline.stages.mix import assemble_mix
from synth_pipeline.stages.real import arrival_batch

FEATURES = ["a", "b", "c", "d", "q0", "q1", "q2"]


def flipped_binary(rows: int = 3000, seed: int = 0) -> pd.DataFrame:
    """The issue's table: four binary columns a-d, label = a with 20 % of labels flipped (32 distinct rows)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.integers(0, 2, size=(rows, 4)), columns=list("abcd"))
    frame["label"] = np.where(rng.random(rows) < 0.2, 1 - frame["a"], frame["a"])
    return frame


def survey(rows: int = 2400, seed: int = 1) -> pd.DataFrame:
    """A sibling: three-level text answers and a three-class label with 25 % noise (81 distinct rows)."""
    rng = np.random.default_rng(seed)
    answers = rng.integers(0, 3, size=(rows, 3))
    label = np.where(rng.random(rows) < 0.25, rng.integers(0, 3, rows), (answers[:, 0] + answers[:, 1]) % 3)
    frame = pd.DataFrame({f"q{i}": np.array(["no", "maybe", "yes"])[answers[:, i]] for i in range(3)})
    frame["label"] = np.array(["low", "mid", "high"])[label]
    return frame


def _balanced_accuracy(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """A decision tree on one-hot features: it learns each feature vector's majority label, as any model does."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.tree import DecisionTreeClassifier

    features = pd.get_dummies(pd.concat([train, test])[FEATURES].astype(str)).to_numpy()
    model = DecisionTreeClassifier(random_state=0).fit(features[:len(train)], train["label"])
    return float(balanced_accuracy_score(test["label"], model.predict(features[len(train):])))


@pytest.mark.parametrize("table", [flipped_binary, survey], ids=["binary-flipped", "categorical-survey"])
def test_trtr_on_the_sealed_holdout_matches_a_random_stratified_split(table):
    from sklearn.model_selection import train_test_split

    tagged = tag_rows(table(), kind="real", generation=0, dataset="d")
    tagged = tagged.reindex(columns=[*tagged.columns, *(c for c in FEATURES if c not in tagged)], fill_value="-")
    assert tagged[ROW_HASH_COLUMN].nunique() <= 81
    mask = holdout_mask(tagged, label_column="label", fraction=0.2, seed=0)
    sealed = _balanced_accuracy(tagged[~mask], tagged[mask])
    random_splits = []
    for seed in range(5):
        train, test = train_test_split(tagged, test_size=0.2, stratify=tagged["label"], random_state=seed)
        random_splits.append(_balanced_accuracy(train, test))
    print(f"{table.__name__}: sealed holdout {sealed:.3f}, random stratified splits {random_splits}")
    assert abs(sealed - np.mean(random_splits)) <= 0.05, (sealed, random_splits)
    # Every content with many copies has copies on both sides, in about the holdout fraction.
    copies = tagged.groupby(ROW_HASH_COLUMN).size()
    sealed_share = pd.Series(mask).groupby(tagged[ROW_HASH_COLUMN].to_numpy()).mean()[copies[copies >= 40].index]
    assert sealed_share.between(0.05, 0.4).all()


def test_copies_arrive_in_different_batches_and_the_batches_partition_the_train_split():
    train = tag_rows(flipped_binary(800), kind="real", generation=0, dataset="d")
    batches = [arrival_batch(train, generation=g, batches=4, seed=3) for g in (1, 2, 3, 4)]
    assert sorted(pd.concat(batches)[ROW_HASH_COLUMN]) == sorted(train[ROW_HASH_COLUMN])
    assert max(len(b) for b in batches) - min(len(b) for b in batches) <= 1
    batch_of = pd.concat([b.assign(batch=i) for i, b in enumerate(batches)])
    per_content = batch_of.groupby(ROW_HASH_COLUMN)["batch"].agg(["nunique", "size"])
    # Keyed on content, all copies of a row arrived together; now ten or more copies (all in one batch with
    # probability 4 / 4**10 each) are spread.
    assert (per_content.loc[per_content["size"] >= 10, "nunique"] >= 2).all()
    again = arrival_batch(train.sample(frac=1.0, random_state=2), generation=5, batches=4, seed=3)
    assert sorted(again[ROW_HASH_COLUMN]) == sorted(batches[0][ROW_HASH_COLUMN])  # order-independent, cycles
    assert (again[GENERATION_COLUMN] == 1).all()  # arriving again keeps the first arrival's stamp


def test_accumulating_mix_adds_new_records_whose_content_it_already_holds():
    rows = flipped_binary(200)
    real = tag_rows(rows.iloc[:100], kind="real", generation=1, dataset="real")
    synthetic_one = tag_rows(rows.iloc[100:150], kind="synthetic", generation=1, dataset="syn", depth=1)
    first = assemble_mix(pd.concat([real, synthetic_one]), None, GenerationMode.ACCUMULATE)
    # Generation 2: the same real records arrive again, new copies of known content arrive, and the
    # generator makes rows equal to rows it made before (same content, a later generation).
    new_copies = tag_rows(rows.iloc[150:200], kind="real", generation=2, dataset="real")
    synthetic_two = tag_rows(rows.iloc[100:150], kind="synthetic", generation=2, dataset="syn", depth=1)
    new_rows = pd.concat([real, new_copies, synthetic_two], ignore_index=True)
    assert new_rows[ROW_HASH_COLUMN].isin(first[ROW_HASH_COLUMN]).all()  # nothing new by content alone
    second = assemble_mix(new_rows, first, GenerationMode.ACCUMULATE)
    assert len(second) == 150 + 50 + 50
    assert (second[KIND_COLUMN] == "synthetic").sum() == 100
    assert ((second[KIND_COLUMN] == "real") & (second[GENERATION_COLUMN] == 1)).sum() == 100


def test_a_duplicate_heavy_table_runs_two_generations_with_sound_verdicts(runner, tmp_path):
    path = tmp_path / "flipped.csv"
    flipped_binary(1500).to_csv(path, index=False)
    spec = SynthPipelineSpec(name="dup", label_column="label", real_source=SourceSpec(path=str(path)),
                             synthesizer=FAST_SYNTHESIZER, augmentation=None,
                             mix=MixSpec(mode=GenerationMode.ACCUMULATE, real_arrival_batches=2))
    pipeline = build_synth_pipeline(spec)
    first, second = runner.run(pipeline, [1, 2], keep_going=True)
    for run in (first, second):
        isolation = run.check("holdout_isolation")
        assert isolation.passed, why(run)
        rules = {rule["rule"]: rule for rule in isolation.metadata["rules"]}
        exact = rules["holdout records in generator inputs, outputs or training mixes"]
        assert exact["observed"] == 0 and exact["sample_size"] > 0
        near = rules["near-copies of holdout rows beyond chance (unknown-provenance rows)"]
        assert near["verdict"] == "skipped" and near["sample_size"] == 0  # no unknown source in this pipeline
    holdout = runner.read(pipeline, Stage.REAL_HOLDOUT)
    train = runner.read(pipeline, Stage.REAL_TRAIN)
    assert set(holdout[ROW_HASH_COLUMN]) & set(train[ROW_HASH_COLUMN])  # identical records on both sides
    assert second.check("generation_budget").metadata["fresh_real_rows"] == len(runner.read(
        pipeline, Stage.REAL_ARRIVALS, 2))
    mixes = [runner.read(pipeline, Stage.TRAINING_MIX, g) for g in (1, 2)]
    synthetic = [int((mix[KIND_COLUMN] == "synthetic").sum()) for mix in mixes]
    assert synthetic[1] > synthetic[0] > 0  # generation 2's synthetic rows are added, not dropped as "seen"
    report = runner.read(pipeline, Stage.EVALUATION, 1).set_index("trained_on")
    assert report.loc["real_only", "balanced_accuracy"] > 0.75  # 0.8 is the best possible with 20 % flips


@pytest.mark.parametrize("table", [flipped_binary, "breast_cancer"], ids=["binary-flipped", "breast-cancer"])
def test_a_grown_source_keeps_every_record_on_its_side_of_the_seal(table):
    """A source read again with new rows (the arrival sensor's case) never moves a train record into the
    holdout, nor a holdout record into training; the new rows bring each class near the holdout fraction."""
    from synth_pipeline.datasets import breast_cancer

    data, label = (breast_cancer(), "target") if table == "breast_cancer" else (table(), "label")
    first = tag_rows(data.iloc[: len(data) * 3 // 4], kind="real", generation=0, dataset="d")
    mask = holdout_mask(first, label_column=label, fraction=0.2, seed=0)
    sealed, trained = first.loc[mask, ROW_HASH_COLUMN], first.loc[~mask, ROW_HASH_COLUMN]
    grown = tag_rows(data, kind="real", generation=0, dataset="d").sample(frac=1.0, random_state=3)
    fresh = holdout_mask(grown, label_column=label, fraction=0.2, seed=0)  # a plain re-split, for contrast
    regrown = holdout_mask(grown, label_column=label, fraction=0.2, seed=0,
                           sealed=sealed.to_numpy(), trained=trained.to_numpy())
    holdout_counts = grown.loc[regrown, ROW_HASH_COLUMN].value_counts()
    train_counts = grown.loc[~regrown, ROW_HASH_COLUMN].value_counts()
    # Every earlier record keeps its side: per content, at least as many copies on each side as before.
    assert (sealed.value_counts() <= holdout_counts.reindex(sealed.value_counts().index, fill_value=0)).all()
    assert (trained.value_counts() <= train_counts.reindex(trained.value_counts().index, fill_value=0)).all()
    for _, rows in grown.groupby(label):
        share = regrown[grown.index.get_indexer(rows.index)].mean()
        assert abs(share - 0.2) < 0.05
    if table == "breast_cancer":  # the plain re-split of a grown source would move records across the seal
        moved = set(trained) & set(grown.loc[fresh, ROW_HASH_COLUMN])
        assert moved, "the sealed case must differ from a plain re-split for this test to mean anything"
