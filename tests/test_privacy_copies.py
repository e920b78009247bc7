"""Exact copies judged against chance: copies of training rows against copies of the sealed
holdout, and the siblings (DCR ties, membership AUC ties) on low-cardinality data."""

import numpy as np
import pandas as pd
import pytest

from synth_pipeline import SynthPolicy
from synth_pipeline.checks.quality_checks import _privacy_outcomes
from synth_pipeline.datasets import breast_cancer
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import ProvenanceKind, tag_rows
from synth_pipeline.quality.privacy import (
    auc_with_lower_bound,
    copies_against_holdout,
    distance_to_closest_record,
    evaluate_privacy,
    membership_inference_auc,
)
from synth_pipeline.synthesizers import fit_and_sample
from synth_pipeline.verdicts import Verdict


def _tag(frame: pd.DataFrame, kind: ProvenanceKind) -> pd.DataFrame:
    depth = 0 if kind is ProvenanceKind.REAL else 1
    return tag_rows(frame.reset_index(drop=True), kind=kind, generation=1, dataset=f"t/{kind.value}", depth=depth)


def _low_cardinality(rows: int = 3000, seed: int = 0, *, with_age: bool = False) -> pd.DataFrame:
    """Issue 13's table: four binary columns, label = a with 20 % flipped (32 distinct rows)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.integers(0, 2, size=(rows, 4)), columns=list("abcd"))
    frame["label"] = np.where(rng.random(rows) < 0.2, 1 - frame["a"], frame["a"])
    if with_age:  # one mid-cardinality column makes most records identifiable
        frame["age"] = rng.integers(18, 91, rows)
        frame["income"] = rng.integers(0, 60, rows)
    return frame


def _split(real: pd.DataFrame, holdout_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A per-record random split: identical rows can land on both sides."""
    holdout = real.sample(frac=holdout_fraction, random_state=seed)
    return real.drop(holdout.index), holdout


def _verdicts(synthetic: pd.DataFrame, training: pd.DataFrame, holdout: pd.DataFrame):
    report = evaluate_privacy(_tag(synthetic, ProvenanceKind.SYNTHETIC), _tag(training, ProvenanceKind.REAL),
                              _tag(holdout, ProvenanceKind.REAL))
    outcomes = _privacy_outcomes(report, SynthPolicy(), Stage.SYNTHETIC)
    return report, {outcome.rule.split(" (")[0].split(",")[0]: outcome for outcome in outcomes}


def _clean(training: pd.DataFrame, rows: int, seed: int = 1) -> pd.DataFrame:
    return fit_and_sample(training, label_column="label", method="gaussian_copula",
                          params={"default_distribution": "norm"}, num_rows=rows, seed=seed)


def test_a_clean_generator_on_low_cardinality_data_passes_though_most_rows_equal_real_ones():
    training, holdout = _split(_low_cardinality(), 0.2, seed=0)
    report, rules = _verdicts(_clean(training, 2000), training, holdout)
    assert report.exact_copy_fraction > 0.8  # chance: 32 possible rows
    assert report.copies.holdout_copies / report.synthetic_rows > 0.8
    assert report.copies.compared_rows == len(holdout)
    copies = rules["copies of training rows beyond chance"]
    assert copies.verdict is Verdict.PASS, copies.evidence()
    assert copies.sample_size == 2000 and copies.fix and copies.confidence_bound <= copies.observed + 1e-12
    # Siblings: every synthetic row ties (an equal row on both sides); ties count at the
    # share of tied training rows, so the size-adjusted DCR share is 0.5, not a float32 coin.
    assert report.dcr.dcr_share == pytest.approx(0.5, abs=0.03)
    assert report.dcr.dcr_share_raw == pytest.approx(len(training) / (len(training) + len(holdout)), abs=0.03)
    assert report.membership_auc == pytest.approx(0.5, abs=0.02)
    assert all(outcome.verdict is Verdict.PASS for outcome in rules.values()), [o.evidence() for o in rules.values()]

    # Replaying training rows here copies contents that the holdout holds too: a replay
    # tells nothing about any record, and chance explains it (a = b = 0).
    replay = training.sample(2000, replace=True, random_state=2)
    report, rules = _verdicts(replay, training, holdout)
    assert report.copies.training_only_copies == report.copies.holdout_only_copies == 0
    assert rules["copies of training rows beyond chance"].verdict is Verdict.PASS


@pytest.mark.parametrize("table", ["continuous", "low cardinality with identifying columns"])
def test_replayed_training_rows_fail_and_a_clean_generator_passes(table):
    if table == "continuous":
        real = breast_cancer().rename(columns={"target": "label"})
        training, holdout = _split(real, 0.5, seed=0)
    else:
        training, holdout = _split(_low_cardinality(2000, with_age=True), 0.2, seed=0)
    rows = len(training)
    clean = _clean(training, rows)
    report, rules = _verdicts(clean, training, holdout)
    assert rules["copies of training rows beyond chance"].verdict is Verdict.PASS, report.copies

    replay = training.sample(rows, replace=True, random_state=3)
    few_replaced = pd.concat([training.sample(rows - rows // 10, random_state=4), clean.iloc[: rows // 10]])
    for generated in (replay, few_replaced):
        report, rules = _verdicts(generated, training, holdout)
        copies = rules["copies of training rows beyond chance"]
        assert copies.verdict is Verdict.FAIL, copies.evidence()
        assert copies.confidence_bound > 0.5 and "max_exact_copy_fraction" in copies.fix
        assert report.copies.training_only_copies > 10 * max(report.copies.holdout_only_copies, 1)
        assert "n = " in copies.evidence() and "95 % lower bound" in copies.evidence()


def _zipf_population(contents: int, rng: np.random.Generator) -> np.ndarray:
    weights = 1 / np.arange(1, contents + 1)
    return weights / weights.sum()


def test_unequal_sizes_compare_equal_size_samples_and_chance_rarely_fails():
    """Mid-frequency contents land in the larger set only far more often than in the
    smaller one: raw counts are biased, the equal-size comparison is not."""
    false_alarms, raw_bias = 0, []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        population = _zipf_population(3000, rng)
        training, holdout, synthetic = (rng.choice(3000, size=n, p=population).astype(np.uint64)
                                        for n in (3000, 500, 2000))  # no memorization
        result = copies_against_holdout(synthetic, training, holdout, seed=seed)
        false_alarms += result.excess_copy_fraction_lower_bound > 0
        only_training = np.isin(synthetic, np.setdiff1d(training, holdout)).sum()
        only_holdout = np.isin(synthetic, np.setdiff1d(holdout, training)).sum()
        raw_bias.append((only_training - only_holdout) / len(synthetic))
        assert result.compared_rows == 500
    assert np.mean(raw_bias) > 0.1  # what comparing the whole sets would call memorization
    assert false_alarms <= 3  # a one-sided 95 % bound: about 1 of 20 expected


def test_repeated_copies_of_one_content_are_one_piece_of_evidence():
    training = np.arange(1000, dtype=np.uint64)
    holdout = np.arange(1000, 2000, dtype=np.uint64)
    fresh = np.arange(5000, 5935, dtype=np.uint64)
    one_content = np.concatenate([np.full(65, 7, dtype=np.uint64), fresh])  # 65 rows, one coin flip
    many_contents = np.concatenate([np.arange(65, dtype=np.uint64), fresh])  # 65 distinct training rows
    clustered = copies_against_holdout(one_content, training, holdout)
    distinct = copies_against_holdout(many_contents, training, holdout)
    assert clustered.training_only_copies == distinct.training_only_copies == 65
    assert clustered.excess_copy_fraction == distinct.excess_copy_fraction == pytest.approx(0.065)
    assert clustered.copy_effective_count == pytest.approx(1.0)
    assert clustered.excess_copy_fraction_lower_bound < 0 < distinct.excess_copy_fraction_lower_bound
    # 3 copies against none is not evidence either (exact test: p = 1/8)
    assert copies_against_holdout(np.arange(3, dtype=np.uint64), training, holdout).excess_copy_fraction_lower_bound < 0
    empty = copies_against_holdout(fresh, training, holdout[:0])
    assert np.isnan(empty.excess_copy_fraction) and empty.compared_rows == 0


def test_dcr_ties_count_at_the_share_of_tied_training_rows():
    # 1-D: every synthetic point lies halfway between training points (at 0) and holdout
    # points (at 2). Tied rows: 3 training, 1 holdout -> 3/4, whatever the set sizes.
    training = np.concatenate([np.zeros(3), np.full(297, 10.0)])[:, None]
    holdout = np.concatenate([np.full(1, 2.0), np.full(99, -10.0)])[:, None]
    synthetic = np.ones((50, 1))
    result = distance_to_closest_record(synthetic, training, holdout)
    assert result.dcr_ties == 50 and result.dcr_share_raw == pytest.approx(0.75)

    # A categorical table of unequal sizes, synthetic rows fresh from the population:
    # ties at distances above 0 abound; the size-adjusted share stays at 0.5.
    rng = np.random.default_rng(0)

    shares = [rng.dirichlet(np.ones(levels)) for levels in (3, 4, 6, 8, 12)]

    def draw(rows):
        return pd.DataFrame({f"c{i}": rng.choice(len(p), size=rows, p=p) for i, p in enumerate(shares)}).astype(str)

    training, holdout, synthetic = (draw(n) for n in (3200, 800, 3200))
    report = evaluate_privacy(_tag(synthetic, ProvenanceKind.SYNTHETIC), _tag(training, ProvenanceKind.REAL),
                              _tag(holdout, ProvenanceKind.REAL))
    assert report.dcr.dcr_ties > 1000
    assert report.dcr.dcr_share == pytest.approx(0.5, abs=0.03)
    assert report.dcr.dcr_share_lower_bound < SynthPolicy().max_dcr_share


def test_membership_auc_on_ties_is_exactly_one_half_with_no_invented_spread():
    assert auc_with_lower_bound(np.zeros(300), np.zeros(200)) == (0.5, 0.5)
    auc, lower = auc_with_lower_bound(np.r_[np.ones(150), np.zeros(150)], np.r_[np.ones(50), np.zeros(150)])
    assert auc == pytest.approx(0.5 * 0.75 + (0.5 * 0.25 + 0.5 * 0.75) / 2) and 0.5 < lower < auc
    # Exact copies on both sides: float32 distances near 1e-3 are recognised as 0 (ties).
    rows = np.random.default_rng(1).normal(size=(200, 30)) * 50
    auc, lower, _ = membership_inference_auc(rows, rows[:100], rows[100:], training_copied=np.ones(100, bool),
                                             holdout_copied=np.ones(100, bool))
    assert (auc, lower) == (0.5, 0.5)
