"""A TSTR/TRTR ratio of two near-chance scores says nothing (a new-user trial: TSTR 0.504, TRTR 0.539 on
a binary label, ratio 0.934, reported "ok").

The utility checks and the evaluation's ``evaluation_on_real`` now warn, never pass and never block, when
the real-trained model's balanced accuracy is not clearly above chance (its bootstrap 95 % lower bound at
most 1/k for k classes; for regression, R² at most 0), with the scores, the chance level, the bound, the
holdout size and the fix. Real model fits and real pipeline runs (Gaussian copula), small data.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from conftest import FAST_SYNTHESIZER, why
from synth_pipeline import SourceSpec, SynthPipelineSpec, build_synth_pipeline
from synth_pipeline.checks.quality_checks import (
    NEAR_CHANCE_FIX,
    chance_reaches_limit,
    utility_fix,
    utility_outcome,
)
from synth_pipeline.metrics import chance_score, tstr_trtr_skill_ratio
from synth_pipeline.quality.utility import utility_scores
from synth_pipeline.report import report_path
from synth_pipeline.reporting import (
    check_verdict,
    evaluation_summary,
    generation_summary,
    markdown_summary,
    quality_summary,
)
from synth_pipeline.verdicts import RuleOutcome, Verdict

CLASSIFIER = "synth_pipeline.modeling:default_classifier"
REGRESSOR = "synth_pipeline.modeling:default_regressor"


def _unrelated(rows: int, classes: int, seed: int = 1) -> pd.DataFrame:
    """Features and a label drawn independently: no model can beat chance on it."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=rows).round(4), "b": rng.normal(size=rows).round(4),
                         "c": rng.choice(["red", "green", "blue"], rows), "label": rng.integers(0, classes, rows)})


def _outcome(score) -> RuleOutcome:
    """The utility rule as the check builds it (quality_checks._utility)."""
    cause = score.undefined or score.not_informative
    return RuleOutcome("utility ratio", score.ratio, 0.7, "min", confidence_bound=score.ratio_upper_bound,
                       sample_size=score.holdout_rows, unjudged=cause,
                       fix=utility_fix(cause, trained_on="generated", limit=0.7))


@pytest.mark.parametrize("classes", [2, 3])
def test_a_label_the_features_do_not_predict_is_not_informative(classes):
    frame = _unrelated(400, classes)
    score = utility_scores(frame.iloc[:150], frame.iloc[150:300], frame.iloc[300:], label_column="label",
                           factory=CLASSIFIER, seed=0)

    assert score.undefined is None and math.isfinite(score.ratio)  # the ratio exists, and means nothing
    assert score.chance == pytest.approx(1 / classes)
    assert score.trained_on_real_lower_bound <= score.chance
    assert score.not_informative.startswith("not informative: the model trained on the real fit input is not "
                                            "clearly above chance")
    for figure in (f"TRTR balanced_accuracy {score.trained_on_real:.3g}",
                   f"95 % lower bound {score.trained_on_real_lower_bound:.3g}",
                   f"chance {score.chance:.3g} = 1/{classes} classes", "100 holdout rows",
                   f"TSTR {score.trained_on_generated:.3g}"):
        assert figure in score.not_informative, figure
    outcome = _outcome(score)
    assert outcome.verdict is Verdict.WARN and outcome.passed  # warns, never blocks, never passes
    assert outcome.fix == NEAR_CHANCE_FIX and "label_column" in outcome.fix and "more rows" in outcome.fix
    assert "not judged: not informative" in outcome.evidence() and "fix: the features do not predict" in \
        outcome.evidence()


def test_with_a_size_matched_trtr_the_reason_quotes_the_ratio_it_does_not_judge_with_its_own_scores():
    """Fewer generated rows than real ones: the model on every real row decides that nothing is informative, and
    the reason quotes the ratio of the figures reported (TSTR over the size-matched TRTR), not a second ratio over
    the all-rows TRTR (a trial's line read "TSTR/TRTR 0.999 ... so the ratio 0.988 (TSTR 0.545 / TRTR 0.552)")."""
    frame = _unrelated(600, 2)
    score = utility_scores(frame.iloc[:40], frame.iloc[40:400], frame.iloc[400:], label_column="label",
                           factory=CLASSIFIER, seed=0)

    assert score.control_rows == 40 and score.trained_on_real != score.trained_on_real_all_rows
    reason = score.not_informative
    assert reason.startswith("not informative: the model trained on the real fit input is not clearly above chance "
                             f"(TRTR balanced_accuracy {score.trained_on_real_all_rows:.3g}"), reason
    assert (f"so the ratio {score.ratio:.3g} (TSTR {score.trained_on_generated:.3g} / TRTR "
            f"{score.trained_on_real:.3g} of real samples of 40 rows) compares near-chance scores") in reason, reason
    assert _outcome(score).fix == NEAR_CHANCE_FIX  # the label is unlearnable at any size: not "generate more rows"


def test_a_label_the_features_predict_is_judged_and_its_skill_ratio_reported():
    frame = load_breast_cancer(as_frame=True).frame.sample(frac=1, random_state=0).reset_index(drop=True)
    score = utility_scores(frame.iloc[:100], frame.iloc[100:300], frame.iloc[300:420], label_column="target",
                           factory=CLASSIFIER, seed=0)

    assert score.not_informative is None and score.trained_on_real_lower_bound > score.chance == 0.5
    assert score.skill_ratio == pytest.approx((score.trained_on_generated - 0.5) / (score.trained_on_real - 0.5))
    assert score.skill_ratio_upper_bound >= score.skill_ratio
    assert _outcome(score).verdict is Verdict.PASS


def test_the_skill_ratio_takes_chance_out_of_both_scores():
    # The plain ratio of a binary label never falls below 0.5 / TRTR: at chance it is 0.5 / 0.7 = 0.71.
    assert tstr_trtr_skill_ratio(0.5, 0.7, chance_score("balanced_accuracy", 2)) == 0.0
    assert tstr_trtr_skill_ratio(0.6, 0.7, 0.5) == pytest.approx(0.5)
    assert tstr_trtr_skill_ratio(0.3, 0.7, 0.5) == 0.0  # below chance counts as chance
    assert math.isnan(tstr_trtr_skill_ratio(0.6, 0.5, 0.5)) and math.isnan(tstr_trtr_skill_ratio(0.6, 0.4, 0.5))
    assert tstr_trtr_skill_ratio(0.3, 0.6, chance_score("r2")) == pytest.approx(0.5)  # R²: the plain ratio


def test_a_regression_r2_not_clearly_above_zero_is_not_informative():
    rng = np.random.default_rng(2)
    x = rng.normal(size=240)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=240), "y": 0.8 * x + rng.normal(size=240)})
    score = utility_scores(frame.iloc[:80], frame.iloc[80:160], frame.iloc[160:], label_column="y",
                           factory=REGRESSOR, seed=0, task="regression")

    assert score.undefined is None and score.trained_on_real > 0 >= score.trained_on_real_lower_bound
    assert score.chance == 0 and "TRTR r2" in score.not_informative
    assert "chance 0, the R² of predicting the holdout mean" in score.not_informative
    assert _outcome(score).verdict is Verdict.WARN


def test_a_pipeline_on_an_unpredictable_label_warns_that_utility_is_not_informative(runner, tmp_path: Path):
    """The trial's case end to end: the utility check and evaluation_on_real warn, and the run summary
    says "warning" and why, not "ok"."""
    source = tmp_path / "unrelated.csv"
    _unrelated(600, 2).to_csv(source, index=False)
    pipeline = build_synth_pipeline(SynthPipelineSpec(
        name="chance", label_column="label", real_source=SourceSpec(path=str(source)), unknown_source=None,
        augmentation=None, synthesizer=FAST_SYNTHESIZER,
    ))
    [run] = runner.run(pipeline, [1], quality_checks=True)

    assert run.success, why(run)  # a warning never blocks
    checks = {(c.asset_key.split("/")[-1], c.name): c for c in run.checks}
    for key in (("synthetic", "utility"), ("evaluation", "evaluation_on_real")):
        check = checks[key]
        metadata = check.metadata
        assert not check.passed and check.severity == "WARN" and check_verdict(check) == "warning", key
        assert metadata["verdict"] == "warn" and metadata["reason"].startswith("not informative"), key
        assert metadata["tstr_trtr_informative"] is False and metadata["chance_score"] == 0.5, key
        assert metadata["trtr_score_lower_bound"] <= 0.5, key
        assert metadata["fix"] == NEAR_CHANCE_FIX, key
        # the scores beside the ratio are the ones it is made of (the evaluation's own models are kept apart)
        assert metadata["tstr_trtr_ratio"] == pytest.approx(metadata["tstr_score"] / metadata["trtr_score"],
                                                            rel=2e-3), key
    [utility_line] = [line for line in quality_summary(run).splitlines() if line.startswith("utility")]
    assert " warning " in utility_line and " ok " not in utility_line
    assert "not judged: not informative: the model trained on the real fit input" in utility_line
    summary = evaluation_summary(run)
    assert "(chance 0.5); TSTR/TRTR ratio" in summary
    assert "ratio not judged: not informative: the model trained on the mix's real rows" in summary
    # a CI summary's heading does not hide the warnings behind "passed"
    warned = sum(check_verdict(c) == "warning" for c in run.checks)
    assert warned >= 2 and markdown_summary("chance", run).startswith(
        f"### chance, generation 1: passed, {warned} warnings\n"), markdown_summary("chance", run)[:200]
    # the report's utility table names nothing as judged, and shows no judged figure beside the warning
    row = _report_utility_row(runner.data_dir, "chance", "synthetic")
    assert row["ratio judged"] == "not judged" and row["judged ratio"] == row["its 95 % upper bound"] == "&ndash;"
    assert row["check"] == "warning" and row["chance"] == "0.500"
    # metadata keeps 4 significant digits, the table 3 decimals of the stored figure
    plain = checks[("synthetic", "utility")].metadata["tstr_trtr_ratio"]
    assert float(row["plain TSTR / TRTR"]) == pytest.approx(plain, abs=6e-4)


def _report_utility_row(data_dir: Path, pipeline: str, stage: str, generation: int = 1) -> dict[str, str]:
    """The cells (by column header) of a stage's row in the report's utility table."""
    page = report_path(data_dir, pipeline, generation).read_text()
    table = page.split('<table id="utility">', 1)[1].split("</table>", 1)[0]
    header = re.findall(r"<th>(.*?)</th>", table)
    [cells] = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)
               if f"<td>{stage}</td>" in row]
    return dict(zip(header, cells, strict=False))


def _weak_signal(rows: int, seed: int = 2) -> pd.DataFrame:
    """A binary label the features predict only a little (balanced accuracy about 0.6-0.7)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    label = (a + 0.3 * b + rng.normal(scale=1.6, size=rows) > 0).astype(int)
    return pd.DataFrame({"a": a.round(4), "b": b.round(4), "label": label})


def test_where_a_model_at_chance_reaches_the_limit_the_skill_ratio_is_judged_and_blocks_labels_without_information():
    real = _weak_signal(3_000)
    # A generator that keeps each column's marginal but not the label's relation to the features (the
    # second new-user trial: TSTR 0.485, TRTR 0.554, ratio 0.875, reported "ok").
    generated = real.iloc[:1_000].copy()
    generated["label"] = np.random.default_rng(5).permutation(generated["label"].to_numpy())
    score = utility_scores(generated, real.iloc[1_000:2_000], real.iloc[2_000:], label_column="label",
                           factory=CLASSIFIER, seed=0)
    assert score.not_informative is None and score.trained_on_real < 0.5 / 0.7  # informative, and weak
    assert chance_reaches_limit(score, 0.7) and score.ratio >= 0.7  # a model at chance clears the plain limit

    outcome = utility_outcome(score, None, rule="utility ratio", trained_on="generated", limit=0.7)
    assert outcome.verdict is Verdict.FAIL
    assert outcome.observed == score.skill_ratio and outcome.confidence_bound == score.skill_ratio_upper_bound < 0.7
    evidence = outcome.evidence()
    assert outcome.rule.startswith("utility ratio, on skill above chance: (TSTR - chance) / (TRTR - chance) with TSTR ")
    assert f"TRTR {score.trained_on_real:.3g}, chance 0.5" in outcome.rule
    assert "cannot fail" not in evidence  # the words that contradicted a failure next to them
    assert f"n = {score.holdout_rows} holdout rows; judged on skill above chance, not on the plain ratio " \
           f"TSTR / TRTR = {score.ratio:.3g}: a model that learned nothing scores chance 0.5, so its plain ratio " \
           f"would be 0.5 / {score.trained_on_real:.3g} = {0.5 / score.trained_on_real:.3g}" in evidence
    assert evidence.index("judged on skill") < evidence.index("; fix: ")

    # The same generator fitted on the real rows' relation passes: the rule judges skill, not noise.
    kept = utility_scores(real.iloc[:1_000], real.iloc[1_000:2_000], real.iloc[2_000:], label_column="label",
                          factory=CLASSIFIER, seed=0)
    assert chance_reaches_limit(kept, 0.7)
    assert utility_outcome(kept, None, rule="utility ratio", trained_on="generated", limit=0.7).verdict is Verdict.PASS


def test_where_the_plain_ratio_can_fail_it_is_the_one_judged():
    frame = pd.DataFrame(load_breast_cancer(as_frame=True).frame).rename(columns={"target": "label"})
    score = utility_scores(frame.iloc[:200], frame.iloc[200:400], frame.iloc[400:], label_column="label",
                           factory=CLASSIFIER, seed=0)
    assert not chance_reaches_limit(score, 0.7)
    outcome = utility_outcome(score, None, rule="utility ratio", trained_on="generated", limit=0.7)
    assert outcome.rule == f"utility ratio: TSTR {score.trained_on_generated:.3g} / TRTR {score.trained_on_real:.3g}"
    assert outcome.public_rule == "utility ratio" and outcome.observed == score.ratio
    assert outcome.confidence_bound == score.ratio_upper_bound
    assert not chance_reaches_limit(type("R2", (), {"chance": 0.0, "trained_on_real": 0.3})(), 0.7)  # regression


def test_a_generator_below_chance_fails_on_skill_and_its_line_says_why_not_that_the_plain_ratio_cannot_fail():
    """The trial's line: "the plain ratio 0.66 cannot fail here ... observed 0 < limit 0.7". A generator that
    inverts the label's relation to the features scores below chance, so the plain ratio falls below the limit
    too; the line names the scores, the figure judged and its bound, the holdout rows, and why that figure."""
    real = _weak_signal(3_000)
    inverted = real.iloc[:1_000].assign(label=lambda frame: 1 - frame["label"])
    score = utility_scores(inverted, real.iloc[1_000:2_000], real.iloc[2_000:], label_column="label",
                           factory=CLASSIFIER, seed=0)
    assert score.trained_on_generated < 0.5 and score.ratio < 0.7 and chance_reaches_limit(score, 0.7)

    outcome = utility_outcome(score, None, rule="utility ratio", trained_on="generated", limit=0.7)
    evidence = outcome.evidence()
    assert outcome.verdict is Verdict.FAIL and outcome.observed == score.skill_ratio == 0.0
    assert "cannot fail" not in evidence
    assert (f"with TSTR {score.trained_on_generated:.3g}, TRTR {score.trained_on_real:.3g}, chance 0.5 (a TSTR below "
            f"chance counts as chance): observed 0 (95 % upper bound {score.skill_ratio_upper_bound:.4g}) < limit "
            f"0.7, n = {score.holdout_rows} holdout rows") in evidence
    assert f"not on the plain ratio TSTR / TRTR = {score.ratio:.3g}" in evidence
    # the fix speaks of the figure judged, not of the plain ratio
    assert "keeps less than 0.7 of the real-trained model's gain over chance" in outcome.fix


def test_a_pipeline_judged_on_skill_shows_that_figure_first_in_its_summary(runner, tmp_path: Path):
    """Where a model at chance would reach the limit, the CLI summary leads with the skill ratio and its bound
    (the figure the verdict is about), and shows the plain ratio as not judged."""
    source = tmp_path / "weak.csv"
    _weak_signal(3_000).to_csv(source, index=False)
    pipeline = build_synth_pipeline(SynthPipelineSpec(
        name="weak", label_column="label", real_source=SourceSpec(path=str(source)), unknown_source=None,
        augmentation=None, synthesizer=FAST_SYNTHESIZER,
    ))
    [run] = runner.run(pipeline, [1], quality_checks=True, keep_going=True)
    [check] = [c for c in run.checks if c.name == "utility"]
    metadata = check.metadata
    assert metadata["tstr_trtr_judged"] == "tstr_trtr_skill_ratio", metadata["evidence"]
    assert "on skill above chance: (TSTR - chance) / (TRTR - chance)" in metadata["evidence"]
    assert "cannot fail" not in metadata["evidence"]
    [line] = [line for line in quality_summary(run).splitlines() if line.startswith("utility")]
    shown = line.split(f" {check_verdict(check)} ", 1)[1].strip()
    assert shown.startswith("TSTR/TRTR on skill above chance "), line
    assert ", its 95 % bound " in shown and ", plain TSTR/TRTR (not judged: a model at chance would reach the " \
        "limit) " in shown, line
    # the report's utility table shows the judged figure (a trial's table showed the plain ratio and its bound,
    # marked failed with that bound above the limit)
    row = _report_utility_row(runner.data_dir, "weak", "synthetic")
    assert row["ratio judged"] == "skill above chance"
    for column, name in (("judged ratio", "tstr_trtr_skill_ratio"),
                         ("its 95 % upper bound", "tstr_trtr_skill_ratio_upper_bound"),
                         ("plain TSTR / TRTR", "tstr_trtr_ratio")):
        assert float(row[column]) == pytest.approx(metadata[name], abs=6e-4), (column, row)
    assert row["check"] == check_verdict(check).replace("ok", "passed")
    # the evaluation line names the figure evaluation_on_real judged beside the evaluation's own plain ratio (a
    # trial's line showed only a plain 0.722 where the check had judged a skill ratio of 0.389)
    [on_real] = [c for c in run.checks if c.name == "evaluation_on_real"]
    assert on_real.metadata["tstr_trtr_judged"] == "tstr_trtr_skill_ratio", on_real.metadata["evidence"]
    [evaluation] = [text for text in generation_summary(run, runner.store).splitlines()
                    if text.startswith("evaluation on")]
    assert (f"; judged by evaluation_on_real ({check_verdict(on_real)}): TSTR/TRTR on skill above chance "
            f"{on_real.metadata['tstr_trtr_skill_ratio']:.4g}, its 95 % bound ") in evaluation, evaluation
