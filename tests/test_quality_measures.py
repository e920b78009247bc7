"""The quality measures on real data: exact search, encodings, privacy, diversity, fidelity."""

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from synth_pipeline.datasets import breast_cancer
from synth_pipeline.provenance import ProvenanceKind, tag_rows, user_columns
from synth_pipeline.quality import fidelity
from synth_pipeline.quality.diversity import measure_diversity
from synth_pipeline.quality.encoding import RecordEncoder
from synth_pipeline.quality.nearest import nearest_distances
from synth_pipeline.quality.privacy import evaluate_privacy, size_adjusted_share
from synth_pipeline.synthesizers import fit_and_sample


def _tag(frame: pd.DataFrame, kind: ProvenanceKind) -> pd.DataFrame:
    depth = 0 if kind is ProvenanceKind.REAL else 1
    return tag_rows(frame.reset_index(drop=True), kind=kind, generation=1, dataset=f"t/{kind.value}", depth=depth)


@pytest.fixture(scope="module")
def split():
    real = breast_cancer()
    train = real.sample(frac=0.5, random_state=0)
    return _tag(train, ProvenanceKind.REAL), _tag(real.drop(train.index), ProvenanceKind.REAL)


def test_nearest_distances_are_exact():
    rng = np.random.default_rng(0)
    queries, reference = rng.normal(size=(3000, 7)), rng.normal(size=(5000, 7)) + 0.3
    expected, _ = cKDTree(reference).query(queries, k=2)
    assert np.abs(nearest_distances(queries, reference, neighbours=2) - expected).max() < 1e-4
    assert np.abs(nearest_distances(queries, reference)[:, 0] - expected[:, 0]).max() < 1e-4
    assert np.isinf(nearest_distances(queries[:3], reference[:1], neighbours=2)[:, 1]).all()
    assert nearest_distances(queries[:0], reference).shape == (0, 1)


def test_encoding_puts_a_category_mismatch_at_the_distance_of_a_full_numeric_range():
    frame = pd.DataFrame({"n": [0.0, 10.0, np.nan], "c": ["a", "b", None]})
    encoder = RecordEncoder.fit(frame, ["n", "c"])
    points = encoder.transform(pd.DataFrame({"n": [0.0, 10.0, 0.0, np.nan], "c": ["a", "a", "b", "a"]}))
    distance = lambda i, j: float(np.linalg.norm(points[i] - points[j]))  # noqa: E731
    assert distance(0, 1) == pytest.approx(1.0)  # a full numeric range
    assert distance(0, 2) == pytest.approx(1.0)  # another category
    assert distance(0, 3) == pytest.approx(1.0)  # a missing number (indicator) vs 0 at the range start
    assert encoder.describe()["dimensions"] == encoder.width == points.shape[1]


def test_copies_are_caught_and_a_fresh_model_passes(split):
    train, holdout = split
    copies = _tag(train[user_columns(train)].sample(100, random_state=1), ProvenanceKind.SYNTHETIC)
    leaked = evaluate_privacy(copies, train, holdout)
    assert leaked.exact_copies == 100 and leaked.exact_copy_fraction == 1.0
    assert leaked.dcr.dcr_share == 1.0 and leaked.dcr.dcr_share_lower_bound > 0.9
    assert leaked.dcr.nndr_training == pytest.approx(0.0, abs=1e-3)
    assert leaked.membership_auc_lower_bound > 0.55

    features = train[user_columns(train)]
    sampled = fit_and_sample(features, label_column="target", method="gaussian_copula",
                             params={"default_distribution": "norm"}, num_rows=300, seed=3)
    fresh = evaluate_privacy(_tag(sampled, ProvenanceKind.SYNTHETIC), train, holdout)
    assert fresh.exact_copies == 0
    assert 0.35 < fresh.dcr.dcr_share < 0.65 and fresh.dcr.dcr_share_lower_bound < 0.55
    assert fresh.membership_auc_lower_bound < 0.6
    assert fresh.training_rows == len(train) and fresh.holdout_rows == len(holdout)


def test_dcr_share_removes_the_effect_of_unequal_set_sizes():
    rng = np.random.default_rng(5)
    columns = [f"c{i}" for i in range(4)]

    def frame(rows):
        return _tag(pd.DataFrame(rng.normal(size=(rows, 4)), columns=columns), ProvenanceKind.REAL)

    training, holdout, synthetic = frame(3000), frame(500), frame(2000)
    report = evaluate_privacy(synthetic, training, holdout)
    assert report.dcr.dcr_share_by_chance == pytest.approx(3000 / 3500)
    assert abs(report.dcr.dcr_share_raw - 3000 / 3500) < 0.03  # closer to the bigger set by chance alone
    assert abs(report.dcr.dcr_share - 0.5) < 0.05
    assert size_adjusted_share(0.5, 100, 100) == pytest.approx(0.5)


def test_diversity_monitors_flag_collapsed_data_and_pass_healthy_data():
    rng = np.random.default_rng(2)

    def frame(scale, rows, groups):
        return pd.DataFrame({"x": rng.normal(0, scale, rows), "y": rng.normal(0, 1, rows),
                             "g": rng.choice(groups, rows)})

    real = _tag(frame(1.0, 2000, list("abcdefgh")), ProvenanceKind.REAL)
    healthy = measure_diversity(_tag(frame(1.0, 500, list("abcdefgh")), ProvenanceKind.SYNTHETIC), real)
    assert healthy.min_variance_upper_bound > 0.8 and healthy.min_category_coverage == 1.0
    assert healthy.tail_coverage_upper_bound > 0.5 and healthy.distinct_row_ratio == 1.0

    collapsed_rows = frame(0.3, 500, list("abc"))
    collapsed_rows = pd.concat([collapsed_rows, collapsed_rows.iloc[:100]], ignore_index=True)
    collapsed = measure_diversity(_tag(collapsed_rows, ProvenanceKind.SYNTHETIC), real)
    assert collapsed.min_variance_column == "x" and collapsed.min_variance_upper_bound < 0.15
    assert collapsed.min_category_coverage == pytest.approx(3 / 8)
    assert collapsed.tail_coverage < 0.6  # only y keeps its tails
    assert collapsed.distinct_row_ratio == pytest.approx(500 / 600)


def test_fidelity_scores_and_subsamples_wide_tables(split):
    train, _ = split
    features = train[user_columns(train)]
    sampled = fit_and_sample(features, label_column="target", method="gaussian_copula",
                             params={"default_distribution": "norm"}, num_rows=200, seed=4)
    score = fidelity.quality_score(train, sampled, label_column="target")
    assert 0.7 < score.score <= 1.0 and not score.subsampled and score.synthetic_rows_used == 200
    assert set(score.per_column) == set(features.columns)
    rng = np.random.default_rng(0)  # each column shuffled on its own: shapes kept, pairs broken
    shuffled = sampled.apply(lambda column: rng.permutation(column.to_numpy()))
    assert fidelity.quality_score(train, shuffled, label_column="target").column_pair_trends < score.column_pair_trends
    adversarial = fidelity.adversarial_auc(train, sampled)
    noise = fidelity.adversarial_auc(train, train.sample(frac=1, random_state=2).iloc[:200])
    assert adversarial.auc > noise.auc and noise.auc < 0.65

    # 31 columns make 465 pairs; a budget of 100 pairs x rows per pair keeps 1,000 rows.
    wide = fidelity.quality_score(train, pd.concat([sampled] * 6, ignore_index=True), label_column="target",
                                  pair_row_budget=465 * 100)
    assert wide.subsampled and wide.synthetic_rows_used == fidelity.MIN_SUBSAMPLE_ROWS


def _pair_trend_reports(real: pd.DataFrame, generated: pd.DataFrame, label: str):
    """SDMetrics' own quality report and the one with batched numeric pairs, on the same rows."""
    import warnings

    from sdmetrics.reports.single_table import QualityReport

    metadata = fidelity.sdmetrics_metadata(real, list(real.columns), label)
    reports = []
    for batched in (False, True):
        report = QualityReport()
        report.real_correlation_threshold = report.real_association_threshold = 0
        if batched:
            fidelity._batch_numeric_pairs(report)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report.generate(real, generated, metadata, verbose=False)
        reports.append(report)
    return reports


@pytest.mark.parametrize("table", ["breast_cancer", "mixed", "categories"])
def test_batched_numeric_pairs_give_sdmetrics_own_figures(table):
    """Same details (scores, correlations, errors), property scores and overall score as
    SDMetrics' pair-by-pair computation: numeric, categorical and mixed pairs (numeric x
    categorical pairs are batched too: missing categories, booleans, objects of mixed types,
    categories only one side holds, an integer label), missing values, and constant columns
    on either side."""
    rng = np.random.default_rng(3)
    if table == "categories":
        n, label = 200, "label"
        real = pd.DataFrame({
            "a": rng.normal(size=n), "b": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "c": rng.choice(["x", "y", None], n), "flag": rng.random(n) < 0.3, "i": rng.integers(0, 50, n),
            "obj": pd.Series(rng.choice([1, "1", 2.5, None], n), dtype=object), label: rng.integers(0, 3, n)})
        generated = real.sample(70, random_state=2).reset_index(drop=True)
        generated["a"] = rng.normal(2, 1, 70)
        generated["c"] = rng.choice(["x", "z"], 70)
        generated.loc[5:, "b"] = np.nan
    elif table == "breast_cancer":
        real, label = breast_cancer(), "target"
        generated = real.sample(100, random_state=0).reset_index(drop=True)
        generated["mean_radius"] += rng.normal(0, 1, len(generated))
    else:
        n, label = 300, "label"
        real = pd.DataFrame({
            "a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y", "z"], n),
            "d": rng.integers(0, 5, n), "e": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "constant_in_real": 1.0, label: rng.choice(["p", "q"], n)})
        generated = real.sample(80, random_state=1).reset_index(drop=True)
        generated["a"] = rng.normal(size=80)
        generated["constant_in_real"] = rng.normal(size=80)
        generated["b"] = 3.0  # constant in the generated rows only
    stock, batched = _pair_trend_reports(real, generated, label)
    pd.testing.assert_frame_equal(stock.get_details("Column Pair Trends"), batched.get_details("Column Pair Trends"),
                                  check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(stock.get_properties(), batched.get_properties(), check_exact=False, rtol=1e-12)
    assert batched.get_score() == pytest.approx(stock.get_score(), abs=1e-12)
    assert type(batched._properties["Column Pair Trends"]).__name__ == "BatchedColumnPairTrends"


def test_the_quality_report_samples_the_real_side_to_the_same_cap_and_its_control_uses_the_same_sample():
    """Issue 16: the SDMetrics report got every real row, so its cost grew with the real table."""
    from synth_pipeline.quality.fidelity import control_quality_score, quality_score, subsample_rows

    rng = np.random.default_rng(0)
    columns = 60  # 1,770 pairs: the cap is 5,000,000 // 1,770 = 2,824 rows
    real = pd.DataFrame(rng.normal(size=(6_000, columns)), columns=[f"c{i}" for i in range(columns)])
    real["label"] = rng.integers(0, 2, len(real))
    generated = real.sample(500, random_state=1).reset_index(drop=True)
    cap = subsample_rows(len(real), columns + 1)
    assert cap < len(real)
    score = quality_score(real, generated, label_column="label", seed=3)
    assert score.real_rows_used == cap and score.synthetic_rows_used == 500
    control = control_quality_score(real, real.tail(1_000), score.synthetic_rows_used, label_column="label", seed=3)
    assert control.real_rows_used == cap
    small = quality_score(real.head(300), generated, label_column="label", seed=3)
    assert small.real_rows_used == 300  # below the cap every real row is used


def test_the_variance_figure_shown_is_the_judged_columns_beside_its_own_bound():
    """A new-user trial saw `variance ratio 0.1378, its 95 % bound 0.9855`: the lowest ratio (income, heavy-tailed,
    so a wide bound) beside another column's bound. The judged column's ratio goes with its bound; the lowest
    ratio is reported apart."""
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"income": np.exp(rng.normal(10, 1.5, 2_000)), "age": rng.normal(40, 10, 2_000)})
    synthetic = pd.DataFrame({"income": np.exp(rng.normal(10, 1.3, 500)), "age": rng.normal(40, 8.5, 500)})
    report = measure_diversity(_tag(synthetic, ProvenanceKind.SYNTHETIC), _tag(real, ProvenanceKind.REAL))
    judged = report.min_variance_column
    assert report.min_variance_ratio == report.variance_ratios[judged]
    assert report.max_variance_ratio == report.variance_ratios[report.max_variance_column]
    assert report.lowest_variance_column == "income"
    assert report.lowest_variance_ratio == min(report.variance_ratios.values())
    # income's ratio is lower (0.40 against 0.67), but its heavy tail widens its bound past age's
    assert judged == "age" and report.min_variance_ratio > report.lowest_variance_ratio
