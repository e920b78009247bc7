"""Near-copies of the sealed holdout among non-real training rows, judged against chance
(issue 13, defect 10), and exact holdout records arriving as real rows."""

from __future__ import annotations

import pandas as pd
import pytest
from test_holdout_duplicates import flipped_binary, survey

from conftest import FAST_SYNTHESIZER, fast_spec
from synth_pipeline import FitOn, MixSpec, SourceSpec, SynthesizerSpec, SynthPolicy, build_synth_pipeline, tag_rows
from synth_pipeline.datasets import breast_cancer
from synth_pipeline.provenance import user_columns
from synth_pipeline.quality.near_copies import excess_lower_bound, holdout_near_copies
from synth_pipeline.splitting import holdout_mask
from synth_pipeline.synthesizers import fit_and_sample

NEAR_RULE = "near-copies of holdout rows beyond chance (unknown-provenance rows)"
EXACT_RULE = "holdout records in generator inputs, outputs or training mixes"
LENIENT_UNKNOWN = SynthPolicy(max_unknown_fraction=1.0, unknown_counts_as_synthetic=False)


def _split(frame: pd.DataFrame, label: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    tagged = tag_rows(frame, kind="real", generation=0, dataset="real")
    mask = holdout_mask(tagged, label_column=label, fraction=0.2, seed=0)
    return tagged[mask].reset_index(drop=True), tagged[~mask].reset_index(drop=True)


def _nudged(rows: pd.DataFrame, label: str) -> pd.DataFrame:
    """The issue's vendor: every feature value times (1 + 1e-6)."""
    features = [c for c in user_columns(rows) if c != label]
    return rows[user_columns(rows)].astype({c: float for c in features}).assign(
        **{c: lambda f, c=c: f[c] * (1 + 1e-6) for c in features})


def _synthetic(train: pd.DataFrame, label: str, rows: int) -> pd.DataFrame:
    sampled = fit_and_sample(train[user_columns(train)], label_column=label, method="gaussian_copula",
                             params=FAST_SYNTHESIZER.params, num_rows=rows, seed=0)
    return tag_rows(sampled, kind="synthetic", generation=1, dataset="syn", depth=1)


def test_the_excess_bound_needs_more_than_one_chance_hit():
    assert excess_lower_bound(1, 500, 3, 400) < 0 < excess_lower_bound(5, 500, 0, 400)
    assert excess_lower_bound(30, 1000, 30, 1000) < 0  # the same rate as the control
    assert excess_lower_bound(60, 1000, 30, 1000) > 0  # twice the control's rate, on 1,000 rows each


@pytest.mark.parametrize("kind", ["nudged", "exact"])
def test_copies_of_the_holdout_are_far_beyond_chance(kind):
    holdout, train = _split(breast_cancer(), "target")
    vendor = _nudged(holdout, "target") if kind == "nudged" else holdout[user_columns(holdout)]
    result = holdout_near_copies(tag_rows(vendor, kind="unknown", generation=0, dataset="v"), holdout, train,
                                 quantile=0.05)
    assert result.near_copies == len(holdout) == 113
    assert result.exact_copies == (113 if kind == "exact" else 0)
    assert result.chance_rate < 0.05 and result.excess_lower_bound > 100


def test_a_few_holdout_copies_among_many_other_rows_are_caught():
    holdout, train = _split(breast_cancer(), "target")
    rows = pd.concat([train.iloc[:200], holdout.iloc[:8]])[user_columns(holdout)]
    result = holdout_near_copies(tag_rows(_nudged(rows, "target"), kind="unknown", generation=0, dataset="v"),
                                 holdout, train, quantile=0.05)
    assert result.near_copies >= 8 and result.excess_lower_bound > 0


@pytest.mark.parametrize("table,label", [(flipped_binary, "label"), (survey, "label"), (breast_cancer, "target")],
                         ids=["binary-flipped", "categorical-survey", "breast-cancer"])
def test_rows_from_the_same_population_are_not_near_copies_beyond_chance(table, label):
    holdout, train = _split(table(), label)
    # A generator fitted on the train split, and a vendor with new records of the same population.
    fresh = table(seed=7) if table is not breast_cancer else None
    candidates = [_synthetic(train, label, 1500)]
    if fresh is not None:
        candidates.append(tag_rows(fresh, kind="unknown", generation=0, dataset="v"))
    for rows in candidates:
        result = holdout_near_copies(rows, holdout, train, quantile=0.05)
        assert result.excess_lower_bound == 0, result.to_dict()
    if table is flipped_binary:
        assert result.radius == pytest.approx(2e-3)  # every holdout row has an identical train-split row


def test_the_vendor_example_is_blocked_in_the_dagster_run(runner, tmp_path):
    """The issue's case: holdout rows times (1 + 1e-6) as a vendor source, in the mix, fed to a previous_mix
    generator. Holdout isolation fails in generation 1, names the mix, and reports the exact rule apart."""
    spec = fast_spec(name="vendor", mix=MixSpec(include_unknown=True, real_arrival_batches=2),
                     synthesizer=SynthesizerSpec(params=FAST_SYNTHESIZER.params, fit_on=FitOn.PREVIOUS_MIX))
    holdout, _ = _split(breast_cancer(), "target")
    assert spec.seed == 0 and spec.holdout_fraction == 0.2  # the split the pipeline makes
    _nudged(holdout, "target").to_csv(tmp_path / "vendor.csv", index=False)
    pipeline = build_synth_pipeline(spec.model_copy(update={"unknown_source": SourceSpec(
        path=str(tmp_path / "vendor.csv"))}))
    first, second = runner.run(pipeline, [1, 2], policy=LENIENT_UNKNOWN, keep_going=True)
    for generation, run in ((1, first), (2, second)):
        check = run.check("holdout_isolation")
        assert not check.passed and check.severity == "ERROR"
        assert check.metadata["rule"] == NEAR_RULE
        rules = {rule["rule"]: rule for rule in check.metadata["rules"]}
        assert rules[EXACT_RULE]["verdict"] == "pass"
        near = rules[NEAR_RULE]
        assert near["verdict"] == "fail" and near["confidence_bound"] > 90 and near["sample_size"] >= 113
        assert "fix:" in near["evidence"] and "max_holdout_near_copies" in near["evidence"]
        assert check.metadata["near_copies"][f"vendor/training_mix[{generation}]"] == 113
    assert first.check("unknown_budget").passed  # the lenient policy lets unknown rows in
    assert second.check("holdout_isolation").metadata["near_copies"]["vendor/training_mix[1]"] == 113


def test_holdout_records_declared_real_are_exact_leaks(runner, tmp_path):
    # A "vendor" file that carries provenance columns claiming its rows are real: the sealed holdout itself.
    pipeline = build_synth_pipeline(fast_spec(name="declared", mix=MixSpec(include_unknown=True)))
    holdout, _ = _split(breast_cancer(), "target")
    holdout.iloc[:20].to_parquet(tmp_path / "vendor.parquet")
    pipeline = build_synth_pipeline(pipeline.spec.model_copy(update={"unknown_source": SourceSpec(
        path=str(tmp_path / "vendor.parquet"))}))
    [run] = runner.run(pipeline, [1], policy=LENIENT_UNKNOWN)
    check = run.check("holdout_isolation")
    assert not check.passed and check.metadata["rule"] == EXACT_RULE
    assert (check.metadata["observed"], check.metadata["threshold"]) == (20, 0)
    assert check.metadata["leaks"] == {"declared/training_mix[1]": 20}
    rules = {rule["rule"]: rule for rule in check.metadata["rules"]}
    # The vendor rows carry real provenance: no unknown row reached training, so nothing is judged as a near-copy.
    assert rules[NEAR_RULE]["verdict"] == "skipped"
    assert "real rows may enter training only from the train split" in rules[EXACT_RULE]["evidence"]


def test_exact_holdout_copies_from_an_unknown_source_are_named_as_such(runner, tmp_path):
    """A trial: 11 exact holdout rows in a vendor file read "holdout records: observed 0" (the exact rule counts
    real rows) and the near-copy fix did not say that some were exact copies. Both now say what they counted."""
    holdout, _ = _split(breast_cancer(), "target")
    holdout[user_columns(holdout)].iloc[:20].to_csv(tmp_path / "vendor.csv", index=False)  # unknown rows
    spec = fast_spec(name="exact", mix=MixSpec(include_unknown=True))
    pipeline = build_synth_pipeline(spec.model_copy(update={"unknown_source": SourceSpec(
        path=str(tmp_path / "vendor.csv"))}))
    [run] = runner.run(pipeline, [1], policy=LENIENT_UNKNOWN)
    check = run.check("holdout_isolation")
    rules = {rule["rule"]: rule for rule in check.metadata["rules"]}
    assert not check.passed and rules[NEAR_RULE]["verdict"] == "fail", check.metadata["evidence"]
    assert check.metadata["near_copy_figures"]["exact_copies"] == 20
    assert "(20 of them exact copies of holdout rows; chance rate " in rules[NEAR_RULE]["evidence"]
    assert rules[EXACT_RULE]["verdict"] == "pass"
    assert f"observed 0 <= limit 0, n = {rules[EXACT_RULE]['sample_size']} real rows" in rules[EXACT_RULE]["evidence"]


@pytest.mark.parametrize("field,value", [("holdout_near_copy_quantile", 0.0), ("holdout_near_copy_quantile", 1.0),
                                         ("max_holdout_near_copies", -1)])
def test_near_copy_policy_fields_are_validated(field, value):
    from synth_pipeline.errors import SynthPipelineError

    with pytest.raises(SynthPipelineError, match=field):
        SynthPolicy.from_mapping({field: value})
    assert SynthPolicy.from_yaml("checks/policy.yaml").holdout_near_copy_quantile == 0.05
