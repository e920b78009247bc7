"""The policy object: defaults, validation naming the field, YAML and Dagster config."""

import pytest

from conftest import fast_spec
from synth_pipeline import SynthPipelineError, SynthPolicy, build_synth_pipeline
from synth_pipeline.budgets import generation_budget, synthetic_budget
from synth_pipeline.composition import Composition


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"max_synthetic_fraction": -0.1}, "max_synthetic_fraction"),
        ({"max_minority_class_synthetic_fraction": 1.2}, "max_minority_class_synthetic_fraction"),
        ({"max_depth": -1}, "max_depth"),
        ({"min_fresh_real_rows": -5}, "min_fresh_real_rows"),
        ({"max_synthetic_fractoin": 0.3}, "max_synthetic_fractoin"),
    ],
)
def test_invalid_values_and_unknown_keys_name_the_field(values, field):
    with pytest.raises(SynthPipelineError, match=f"{field}: "):
        SynthPolicy.from_mapping(values)


def test_yaml_loading_keeps_defaults_for_omitted_fields(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("max_depth: 5\nmax_unknown_fraction: 0.02\n")
    policy = SynthPolicy.from_yaml(path)
    assert policy.max_depth == 5 and policy.max_unknown_fraction == 0.02
    assert policy.max_synthetic_fraction == SynthPolicy().max_synthetic_fraction
    path.write_text("max_depth: 5\nmax_deph: 2\n")
    with pytest.raises(SynthPipelineError, match="max_deph"):
        SynthPolicy.from_yaml(path)
    with pytest.raises(SynthPipelineError, match="not found"):
        SynthPolicy.from_yaml(tmp_path / "missing.yaml")


def test_reference_policy_file_is_valid():
    from checks import POLICY_FILE, reference_policy

    assert reference_policy.to_mapping() == {
        "max_synthetic_fraction": 0.5, "max_class_synthetic_fraction": 0.5,
        "max_minority_class_synthetic_fraction": 0.4, "minority_imbalance_ratio": 1.5,
        "max_synthetic_fraction_growth": 0.1,
        "min_fresh_real_rows": 1, "max_depth": 3, "max_unknown_fraction": 0.0,
        "unknown_counts_as_synthetic": True, "augmented_counts_as_synthetic": True,
        "min_holdout_rows": 100, "min_tstr_trtr_ratio": 0.7,
        "holdout_near_copy_quantile": 0.05, "max_holdout_near_copies": 0.0,
        "min_quality_score": 0.7, "max_adversarial_auc": 0.95, "max_exact_copy_fraction": 0.05,
        "max_dcr_share": 0.55, "max_membership_auc": 0.6, "min_variance_ratio": 0.5,
        "min_category_coverage": 0.8, "min_tail_coverage": 0.25, "min_distinct_row_ratio": 0.9,
        "trend_min_generations": 5, "trend_false_alarm_rate": 0.01, "trend_tolerance": 0.05,
        "min_utility_rows": 20, "min_fidelity_rows": 20, "max_variance_ratio": 3.0, "max_tail_coverage": 6.0,
        "enforce_quality_on_augmented": False, "max_epsilon": None,
        "dcr_sample_rows": 20_000, "membership_sample_rows": 10_000, "fidelity_pair_row_budget": 5_000_000,
        "adversarial_sample_rows": 20_000, "utility_sample_rows": 200_000, "near_copy_control_rows": 5_000,
        "min_distinct_n_ratio": 0.9, "min_vocabulary_coverage_ratio": 0.9, "min_text_tail_coverage_ratio": 0.5,
        "max_near_duplicate_excess": 0.05, "max_near_copy_fraction": 0.05, "text_jaccard": 0.7,
        "text_sample_rows": 10_000,
    }
    assert POLICY_FILE.name == "policy.yaml"


def test_unknown_counts_as_synthetic_unless_the_policy_says_otherwise():
    counts = {"real": 80, "synthetic": 10, "augmented": 0, "unknown": 10}
    composition = Composition(rows=100, rows_by_kind=counts, provenance="mixed", max_depth=1)
    [overall] = synthetic_budget(composition, SynthPolicy())
    assert overall.observed == pytest.approx(0.2)
    [overall] = synthetic_budget(composition, SynthPolicy(unknown_counts_as_synthetic=False))
    assert overall.observed == pytest.approx(0.1)


def test_minority_class_gets_the_stricter_limit():
    zero = {"real": 20, "synthetic": 9, "augmented": 0, "unknown": 0}
    one = {"real": 60, "synthetic": 11, "augmented": 0, "unknown": 0}
    composition = Composition(rows=100, rows_by_kind={"real": 80, "synthetic": 20, "augmented": 0, "unknown": 0},
                              provenance="mixed", max_depth=1, rows_by_class={"0": zero, "1": one})
    strict = SynthPolicy(max_minority_class_synthetic_fraction=0.3)
    outcomes = {o.rule: o for o in synthetic_budget(composition, strict)}
    minority = outcomes["non-real fraction (synthetic + augmented + unknown), class #1 (value 0, minority)"]
    assert minority.threshold == 0.3 and minority.observed == pytest.approx(9 / 29) and not minority.passed
    assert outcomes["non-real fraction (synthetic + augmented + unknown), class #2 (value 1)"].threshold == 0.5


def test_growth_is_measured_against_the_previous_generation():
    def mix(real, synthetic):
        counts = {"real": real, "synthetic": synthetic, "augmented": 0, "unknown": 0}
        return Composition(rows=real + synthetic, rows_by_kind=counts, provenance="mixed", max_depth=1)

    growth, fresh = generation_budget(mix(50, 50), mix(80, 20), fresh_real_rows=0, policy=SynthPolicy())
    assert growth.observed == pytest.approx(0.3) and not growth.passed
    assert fresh.observed == 0 and not fresh.passed
    growth, _ = generation_budget(mix(80, 20), None, fresh_real_rows=80, policy=SynthPolicy())
    assert growth.observed == 0 and growth.passed


def test_policy_set_by_run_config_reaches_the_checks(runner):
    pipeline = build_synth_pipeline(fast_spec(name="runcfg", unknown_source=None))
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(max_synthetic_fraction=0.05))
    check = run.check("synthetic_budget")
    assert not check.passed
    assert check.metadata["threshold"] == pytest.approx(0.05)
    assert check.metadata["rule"] == "non-real fraction (synthetic + augmented + unknown), overall"
