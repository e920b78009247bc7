"""Minority classes: the stricter synthetic budget applies only to classes the largest class
outnumbers by at least the policy's ``minority_imbalance_ratio``; balanced data has none."""

import math

import pandas as pd
import pytest

from conftest import FAST_SYNTHESIZER, why
from synth_pipeline import SourceSpec, SynthPipelineSpec, SynthPolicy, build_synth_pipeline
from synth_pipeline.budgets import minority_class_numbers, synthetic_budget
from synth_pipeline.composition import Composition


def _mix(real: dict[str, int], synthetic: dict[str, int]) -> Composition:
    by_class = {label: {"real": real[label], "synthetic": synthetic[label], "augmented": 0, "unknown": 0}
                for label in real}
    counts = {"real": sum(real.values()), "synthetic": sum(synthetic.values()), "augmented": 0, "unknown": 0}
    return Composition(rows=sum(counts.values()), rows_by_kind=counts, provenance="mixed", max_depth=1,
                       rows_by_class=by_class)


def _by_rule(outcomes):
    return {outcome.rule: outcome for outcome in outcomes}


def test_balanced_classes_have_no_minority_and_0_403_does_not_block():
    # iris: 50/50/50 real rows; class 0 at 0.403 synthetic used to be "the minority" by a tie
    mix = _mix({"0": 50, "1": 50, "2": 50}, {"0": 34, "1": 30, "2": 30})
    assert mix.minority_classes(SynthPolicy().minority_imbalance_ratio) == []
    assert mix.imbalance_ratio == 1.0
    outcomes = _by_rule(synthetic_budget(mix, SynthPolicy()))
    class_zero = outcomes["non-real fraction (synthetic + augmented + unknown), class #1 (value 0)"]
    assert class_zero.observed == pytest.approx(34 / 84) and class_zero.observed > 0.4
    assert class_zero.threshold == 0.5 and class_zero.passed
    assert not any("minority" in rule for rule in outcomes)
    assert class_zero.sample_size == 84 and "max_class_synthetic_fraction" in class_zero.fix


def test_imbalanced_classes_get_the_stricter_limit():
    mix = _mix({"0": 100, "1": 40}, {"0": 20, "1": 27})  # ratio 2.5
    outcomes = _by_rule(synthetic_budget(mix, SynthPolicy()))
    minority = outcomes["non-real fraction (synthetic + augmented + unknown), class #2 (value 1, minority)"]
    assert minority.threshold == 0.4 and minority.observed == pytest.approx(27 / 67) and not minority.passed
    assert minority.public_rule == "non-real fraction (synthetic + augmented + unknown), class #2 (minority)"
    assert "max_minority_class_synthetic_fraction" in minority.fix and "rows_per_real_row" in minority.fix
    assert "n = 67" in minority.evidence()
    assert outcomes["non-real fraction (synthetic + augmented + unknown), class #1 (value 0)"].threshold == 0.5
    assert minority_class_numbers(mix, SynthPolicy()) == ["class #2"]
    # the same mix under a policy that calls only 3:1 imbalance a minority: the looser limit
    assert _by_rule(synthetic_budget(mix, SynthPolicy(minority_imbalance_ratio=3)))[
        "non-real fraction (synthetic + augmented + unknown), class #2 (value 1)"].passed


@pytest.mark.parametrize(
    ("real", "minorities"),
    [
        ({"a": 60, "b": 40, "c": 40}, ["b", "c"]),  # tied small classes: both, exactly at the ratio 1.5
        ({"a": 60, "b": 41, "c": 40}, ["c"]),       # 60 / 41 = 1.46 < 1.5: only c
        ({"a": 51, "b": 50, "c": 49}, []),          # near-balanced: none, whatever breaks the tie
        ({"a": 50, "b": 50}, []),                   # a two-way tie
        ({"a": 90, "b": 30, "c": 31}, ["b", "c"]),  # every class past the ratio, not only the smallest
    ],
)
def test_near_balanced_and_tied_classes(real, minorities):
    mix = _mix(real, dict.fromkeys(real, 10))
    assert mix.minority_classes(1.5) == minorities
    stricter = [o.rule for o in synthetic_budget(mix, SynthPolicy()) if o.threshold == 0.4]
    number = {label: index for index, label in enumerate(sorted(real), start=1)}
    assert stricter == [f"non-real fraction (synthetic + augmented + unknown), class #{number[label]} (value {label}, "
                        "minority)" for label in minorities]


def test_ratio_is_undefined_without_two_classes_or_real_rows():
    assert math.isnan(_mix({"a": 10}, {"a": 5}).imbalance_ratio)
    assert _mix({"a": 10}, {"a": 5}).minority_classes(1.5) == []
    assert _mix({"a": 0, "b": 0}, {"a": 5, "b": 5}).minority_classes(1.5) == []
    no_real = _mix({"a": 10, "b": 0}, {"a": 5, "b": 5})  # a class that only the generator made
    assert no_real.imbalance_ratio == math.inf and no_real.minority_classes(1.5) == ["b"]


def _iris(path, class_two_rows: int = 50):
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame = pd.concat([frame[frame["target"] < 2], frame[frame["target"] == 2].head(class_two_rows)])
    frame.to_csv(path, index=False)
    return SourceSpec(path=str(path))


def _iris_pipeline(name: str, source: SourceSpec):
    return build_synth_pipeline(SynthPipelineSpec(name=name, label_column="target", real_source=source,
                                                  synthesizer=FAST_SYNTHESIZER, seed=3))


# A minority limit every class's synthetic share exceeds: it blocks exactly when a class is
# called a minority. (The iris holdout has 30 rows.)
_STRICT_MINORITY = SynthPolicy(max_minority_class_synthetic_fraction=0.05, min_holdout_rows=20)


def test_iris_materialization_has_no_minority_and_passes_the_budget(runner, tmp_path):
    pipeline = _iris_pipeline("iris", _iris(tmp_path / "iris.csv"))
    [run] = runner.run(pipeline, [1], policy=_STRICT_MINORITY)
    check = run.check("synthetic_budget")
    assert check.passed and check.metadata["verdict"] == "pass", why(run)
    assert check.metadata["minority_classes"] == [] and check.metadata["imbalance_ratio"] == 1.0
    fractions = {rule["rule"]: rule["observed"] for rule in check.metadata["rules"]}
    # every class above the minority limit: the old tie-broken "minority" (class 0) would have blocked
    assert min(value for rule, value in fractions.items() if "class" in rule) > 0.05, fractions
    assert not any("minority" in rule for rule in fractions)


def test_imbalanced_iris_materialization_names_the_minority_by_number(runner, tmp_path):
    pipeline = _iris_pipeline("iris_imbalanced", _iris(tmp_path / "iris.csv", class_two_rows=25))
    [run] = runner.run(pipeline, [1], policy=_STRICT_MINORITY)
    check = run.check("synthetic_budget")
    assert check.metadata["minority_classes"] == ["class #3"]
    assert check.metadata["imbalance_ratio"] == pytest.approx(2.0)
    assert not check.passed
    assert check.metadata["rule"] == "non-real fraction (synthetic + augmented + unknown), class #3 (value 2, minority)"
    assert "minority_imbalance_ratio" in check.metadata["fix"]


def test_augmentation_allowance_keeps_each_class_within_its_budget():
    from synth_pipeline.budgets import AUGMENTATION_HEADROOM, augmentation_allowance

    policy = SynthPolicy()
    real = {"no": 300, "yes": 100}  # imbalance 3: "yes" is a minority
    allowance = augmentation_allowance(real, policy, synthetic_per_real_row=0.25)
    for label, limit in (("yes", policy.max_minority_class_synthetic_fraction),
                         ("no", policy.max_class_synthetic_fraction)):
        added, synthetic = allowance[label], 0.25 * real[label]
        assert (added + synthetic) / (real[label] + synthetic + added) <= AUGMENTATION_HEADROOM * limit
        assert (added + 1 + synthetic) / (real[label] + synthetic + added + 1) > AUGMENTATION_HEADROOM * limit
    assert augmentation_allowance(real, SynthPolicy(augmented_counts_as_synthetic=False),
                                  synthetic_per_real_row=0.25) == {}


def test_default_augmentation_respects_the_default_minority_budget(runner, tmp_path):
    """A binary label with 25 % positives (imbalance 3): SMOTE's default target 0.7 alone would
    make the positives 0.59 non-real against the minority limit 0.4 (found by a new user on
    their first table). The default pipeline now passes its own default budget, and says
    that augmentation was capped."""
    import numpy as np

    rng = np.random.default_rng(0)
    rows = 1200
    x = rng.normal(size=(rows, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=(rng.random(rows) < 0.25).astype(int))
    path = tmp_path / "imbalanced.csv"
    frame.to_csv(path, index=False)
    pipeline = build_synth_pipeline(SynthPipelineSpec(name="imbalanced", label_column="label",
                                                      real_source=SourceSpec(path=str(path)),
                                                      synthesizer=FAST_SYNTHESIZER))
    [run] = runner.run(pipeline, [1])
    assert run.success, why(run)
    budget = run.check("synthetic_budget")
    assert budget.metadata["minority_classes"] == ["class #2"]
    minority = next(rule for rule in budget.metadata["rules"] if "minority" in rule["rule"])
    assert minority["observed"] <= 0.4
    augmented = next(s for s in run.stages if s.stage.value == "augmented")
    capped = augmented.metadata["capped_by_policy"]
    assert set(capped) == {"class #2"} and capped["class #2"]["allowed"] < capped["class #2"]["target"]
    assert augmented.metadata["dagster/row_count"] == capped["class #2"]["allowed"]
    # ... and the CLI summary says so under its table (a trial saw the cut only in metadata)
    from synth_pipeline.reporting import generation_summary

    note = (f"note: imbalanced/augmented: augmentation capped by the policy's class budgets "
            f"(max_class_synthetic_fraction, max_minority_class_synthetic_fraction): class #2 "
            f"{capped['class #2']['target']} -> {capped['class #2']['allowed']} rows")
    assert note in generation_summary(run).splitlines(), generation_summary(run)
