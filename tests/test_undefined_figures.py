"""Undefined figures (issue 13, defect 4): a NaN or infinite figure never reaches a comparison;
the result names the cause and the fix. Monitors with nothing to measure say so, and
over-dispersion (generated spread or tails far wider than real) fails like lost diversity.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from synth_pipeline import SynthPolicy
from synth_pipeline.checks.quality_checks import _diversity_outcomes, utility_fix
from synth_pipeline.checks.rule_checks import check_result
from synth_pipeline.provenance import ProvenanceKind, tag_rows
from synth_pipeline.quality import fidelity
from synth_pipeline.quality.diversity import measure_diversity
from synth_pipeline.quality.utility import utility_scores
from synth_pipeline.verdicts import RuleOutcome, Verdict

FACTORY = "synth_pipeline.modeling:default_classifier"


def _tag(frame: pd.DataFrame, kind: ProvenanceKind = ProvenanceKind.REAL) -> pd.DataFrame:
    return tag_rows(frame.reset_index(drop=True), kind=kind, generation=1, dataset=f"t/{kind.value}",
                    depth=0 if kind is ProvenanceKind.REAL else 1)


def _utility_outcome(score) -> RuleOutcome:
    """The utility rule as the check builds it (see quality_checks._utility)."""
    return RuleOutcome("utility ratio", score.ratio, 0.7, "min", confidence_bound=score.ratio_upper_bound,
                       sample_size=score.holdout_rows, unjudged=score.undefined,
                       fix=utility_fix(score.undefined, trained_on="generated", limit=0.7))


@pytest.fixture(scope="module")
def thirty():
    """A 30-row table (iris classes 0 and 1): 24 to train on, 6 to score on."""
    frame = load_iris(as_frame=True).frame
    frame = frame[frame["target"] < 2].sample(30, random_state=0).reset_index(drop=True)
    return _tag(frame.iloc[:24]), _tag(frame.iloc[24:])


def test_a_synthetic_sample_of_one_class_warns_with_the_cause_and_the_fix(thirty):
    real, holdout = thirty
    three = _tag(real[real["target"] == 0].iloc[:3, :5], ProvenanceKind.SYNTHETIC)  # 3 rows, one class
    score = utility_scores(three, real, holdout, label_column="target", factory=FACTORY, seed=0)
    assert np.isnan(score.ratio) and score.undefined.startswith("synthetic sample holds one class of the label")
    outcome = _utility_outcome(score)
    assert outcome.verdict is Verdict.WARN and outcome.passed
    assert "synthetic sample holds one class" in outcome.evidence() and "synthesizer.num_rows" in outcome.fix
    assert "nan" not in outcome.evidence()


def test_a_real_fit_input_of_one_class_and_a_zero_trtr_warn_with_their_causes(thirty):
    real, holdout = thirty
    one_class = real[real["target"] == 1]
    score = utility_scores(real, one_class, holdout, label_column="target", factory=FACTORY, seed=0)
    assert score.undefined.startswith("real fit input holds one class of the label")
    assert "synthesizer.fit_on" in _utility_outcome(score).fix

    # Labels inverted in the fit input: the real-trained model gets every holdout row wrong.
    inverted = real.assign(target=1 - real["target"])
    zero = utility_scores(real, inverted, holdout, label_column="target", factory=FACTORY, seed=0, fits=2)
    assert zero.trained_on_real == 0 and zero.undefined.startswith("TRTR score is 0")
    outcome = _utility_outcome(zero)
    assert outcome.verdict is Verdict.WARN and "label_column" in outcome.fix


def test_adversarial_auc_and_quality_score_name_why_they_are_undefined(thirty):
    real, _ = thirty
    one_row = _tag(real.iloc[:1], ProvenanceKind.SYNTHETIC)
    adversarial = fidelity.adversarial_auc(real, one_row)
    assert np.isnan(adversarial.auc) and "fewer than 2 rows on a side" in adversarial.undefined
    outcome = RuleOutcome("adversarial AUC", adversarial.auc, 0.95, "max",
                          confidence_bound=adversarial.auc_lower_bound, unjudged=adversarial.undefined)
    assert outcome.verdict is Verdict.WARN

    one_column = real[["petal length (cm)"]]
    score = fidelity.quality_score(real, _tag(real.iloc[:20][["petal length (cm)"]], ProvenanceKind.SYNTHETIC),
                                   label_column="target")
    assert np.isnan(score.column_pair_trends) and np.isfinite(score.score) and score.undefined is None
    nothing = fidelity.quality_score(real, _tag(pd.DataFrame({"other": [1.0, 2.0]}), ProvenanceKind.SYNTHETIC),
                                     label_column="target")
    assert "no column in common" in nothing.undefined
    assert len(one_column.columns) == 1


def test_monitors_with_nothing_to_measure_are_skipped_with_the_reason_never_dropped():
    rng = np.random.default_rng(0)
    binary = lambda rows: pd.DataFrame({c: rng.integers(0, 2, rows) for c in "abcd"})  # noqa: E731
    report = measure_diversity(_tag(binary(200), ProvenanceKind.SYNTHETIC), _tag(binary(500)))
    assert np.isnan(report.tail_coverage) and np.isnan(report.min_category_coverage)
    outcomes = {o.rule.split(" (")[0].split(",")[0]: o for o in _diversity_outcomes(report, SynthPolicy())}
    tails = outcomes["tail coverage beyond real 1st/99th percentiles"]
    assert tails.verdict is Verdict.SKIPPED
    assert tails.reason == ("not applicable: no numeric column has values beyond the real 1st/99th percentiles "
                            "(binary or low-cardinality columns)")
    assert outcomes["category coverage"].reason == "not applicable: no categorical column"
    assert outcomes["variance ratio"].verdict is Verdict.PASS
    result = check_result(_diversity_outcomes(report, SynthPolicy()), 1, {})
    assert result.passed and "not applicable" in str(result.metadata["rules"].value)

    constant = pd.DataFrame({"x": np.ones(50), "g": rng.choice(list("ab"), 50)})
    flat = measure_diversity(_tag(constant.assign(x=rng.normal(size=50)), ProvenanceKind.SYNTHETIC), _tag(constant))
    assert flat.unmeasured["variance"] == "every numeric column is constant in the real rows"
    outcomes = _diversity_outcomes(flat, SynthPolicy())
    assert all(np.isfinite(o.compared) or o.verdict is not Verdict.FAIL for o in outcomes)


def _normal(scale: float, rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(0, scale, rows), "y": rng.normal(0, scale, rows)})


@pytest.mark.parametrize(("scale", "expected"), [
    (1.0, {"smallest": Verdict.PASS, "largest": Verdict.PASS, "lost": Verdict.PASS, "over": Verdict.PASS}),
    (3.0, {"smallest": Verdict.PASS, "largest": Verdict.FAIL, "lost": Verdict.PASS, "over": Verdict.FAIL}),
    (0.3, {"smallest": Verdict.FAIL, "largest": Verdict.PASS, "lost": Verdict.FAIL, "over": Verdict.PASS}),
])
def test_over_dispersion_fails_like_lost_diversity_and_healthy_data_passes_both(scale, expected):
    real = _tag(_normal(1.0, 2000, 1))
    report = measure_diversity(_tag(_normal(scale, 300, 2), ProvenanceKind.SYNTHETIC), real)
    outcomes = _diversity_outcomes(report, SynthPolicy())
    verdicts = {
        "smallest": outcomes[0].verdict, "largest": outcomes[1].verdict,
        "lost": outcomes[3].verdict, "over": outcomes[4].verdict,
    }
    assert verdicts == expected, [o.evidence() for o in outcomes]
    if scale == 3.0:  # generated tails about 9 times as heavy as real ones: the 8.8 of the issue
        assert report.tail_coverage > 6 and report.tail_coverage_lower_bound > 6
        assert "max_tail_coverage" in outcomes[4].fix and "max_variance_ratio" in outcomes[1].fix
    assert report.max_variance_lower_bound <= report.max_variance_ratio
    assert report.tail_coverage_lower_bound <= report.tail_coverage <= report.tail_coverage_upper_bound
