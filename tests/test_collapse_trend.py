"""Collapse trend: the spread of stored log variance ratios and mean shifts across generations.

The test function is exercised on simulated histories of the recursive loop (normal
refits, as SDV's Gaussian copula with normal marginals does), and once through Dagster:
a few replace-mode generations whose diversity check on the training mix stores the
figures and reports the trend in its metadata.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.quality.trend import (
    MEASURES,
    TREND_MONITOR,
    collapse_trend,
    look_level,
    trend_figures,
)
from synth_pipeline.verdicts import Verdict

M = 100
DEFAULTS = {"min_generations": 5, "false_alarm_rate": 0.01, "tolerance": 0.05}


def _figures(frame: pd.DataFrame, real: pd.DataFrame, generation: int) -> pd.DataFrame:
    figures = trend_figures(frame, real, list(real.columns))
    figures.insert(0, "generation", generation)
    return figures


def _loop(mode: str, generations: int, seed: int, rows: int = M) -> list[pd.DataFrame]:
    """Stored figures of the single-Gaussian loop (Shumailov et al. 2024), one frame per generation."""
    rng = np.random.default_rng(seed)
    real = pd.DataFrame({"x": rng.normal(0.0, 1.0, rows)})
    mix = pd.concat([real, pd.DataFrame({"x": rng.normal(real["x"].mean(), real["x"].std(ddof=0), rows)})])
    history = [_figures(mix, real, 1)]
    for generation in range(2, generations + 1):
        new = pd.DataFrame({"x": rng.normal(mix["x"].mean(), mix["x"].std(ddof=0), rows)})
        mix = new if mode == "replace" else pd.concat([mix, new])
        history.append(_figures(mix, real, generation))
    return history


def _first_flag(history: list[pd.DataFrame], **policy) -> int | None:
    for generation in range(1, len(history) + 1):
        outcome = collapse_trend(pd.concat(history[:generation]), generation, **{**DEFAULTS, **policy}).outcome()
        if outcome is not None and outcome.verdict is Verdict.FAIL:
            return generation
    return None


def _independent(sampler, generations: int, rows: int, seed: int) -> pd.DataFrame:
    """Each generation an independent sample of one distribution: the null hypothesis."""
    rng = np.random.default_rng(seed)
    real = pd.DataFrame({"x": sampler(rng, rows)})
    return pd.concat([_figures(pd.DataFrame({"x": sampler(rng, rows)}), real, g) for g in range(1, generations + 1)])


def test_replace_loop_is_flagged_by_generation_20_in_most_runs():
    firsts = [_first_flag(_loop("replace", 30, seed)) for seed in range(12)]
    flagged = [f for f in firsts if f is not None]
    assert sum(f <= 20 for f in flagged) >= 9 and np.median(flagged) <= 16


def test_accumulate_loop_raises_no_alarm_over_200_generations():
    for seed in range(2):
        history = _loop("accumulate", 200, seed)
        for generation in (*range(5, 200, 15), 200):  # spaced looks, to keep the test fast
            verdict = collapse_trend(pd.concat(history[:generation]), generation, **DEFAULTS)
            assert verdict.outcome().verdict is Verdict.PASS, verdict.to_metadata()


def _null_p_values(sampler, rows: int, runs: int) -> dict[str, np.ndarray]:
    """Each measure's p-value at one look (10 generations) over independent runs of the null."""
    p_values: dict[str, list[float]] = {measure: [] for measure in MEASURES}
    for seed in range(runs):
        verdict = collapse_trend(_independent(sampler, 10, rows, seed), 10,
                                 min_generations=10, false_alarm_rate=0.01, tolerance=0.0)
        for trend in verdict.columns:
            p_values[trend.measure].append(trend.p_value)
    return {measure: np.array(values) for measure, values in p_values.items()}


def test_independent_generations_are_calibrated_chi_square():
    """Under the null each measure's p-value at one look is uniform: 10 % of runs fall below 0.1."""
    for measure, p_values in _null_p_values(lambda rng, n: rng.normal(3.0, 2.0, n), 60, 150).items():
        assert len(p_values) == 150
        assert 0.04 <= np.mean(p_values < 0.1) <= 0.17, measure


def test_heavy_tailed_and_skewed_columns_are_not_mistaken_for_drift():
    """Student t (5 df): the log sample variance scatters about four times more than a normal's;
    the pooled kurtosis widens the allowance. A skewed column (exponential) has a mean whose
    scatter is still ``variance / n``. Stable data stay within chance on both measures."""
    for sampler in (lambda rng, n: rng.standard_t(5, n), lambda rng, n: rng.exponential(1.0, n)):
        for measure, p_values in _null_p_values(sampler, 400, 100).items():
            assert np.mean(p_values < 0.1) <= 0.17, measure


def test_a_wandering_mean_is_flagged_when_the_variance_holds():
    """The location half of collapse: each refit moves the mean by a draw of variance 1/M while
    the spread stays put. The scale test alone cannot see it; the location test does."""
    firsts = []
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        real = pd.DataFrame({"x": rng.normal(0, 1, M)})
        centre, frames = 0.0, []
        for generation in range(1, 31):
            frames.append(_figures(pd.DataFrame({"x": rng.normal(centre, 1, M)}), real, generation))
            centre += rng.normal(0, 1 / np.sqrt(M))
        firsts.append(_first_flag(frames))
        verdict = collapse_trend(pd.concat(frames), 30, **DEFAULTS)
        if firsts[-1] is not None:
            assert verdict.worst.measure == "mean shift"
    assert sum(f is not None for f in firsts) >= 7


def test_tolerance_keeps_large_mixes_from_failing_on_irrelevant_changes():
    """50,000-row generations whose variance alternates by 3 %: real, but not collapse."""
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(0, 1, 50_000)})
    history = pd.concat([_figures(pd.DataFrame({"x": rng.normal(0, 1 + 0.015 * (g % 2), 50_000)}), real, g)
                         for g in range(1, 21)])
    assert collapse_trend(history, 20, **DEFAULTS).outcome().verdict is Verdict.PASS
    assert collapse_trend(history, 20, **{**DEFAULTS, "tolerance": 0.0}).outcome().verdict is Verdict.FAIL


def test_constant_bias_is_not_a_trend():
    """A generator whose variance is steadily 0.8 of real has no trend (the level rule judges it)."""
    rng = np.random.default_rng(1)
    real = pd.DataFrame({"x": rng.normal(0, 1, 5_000)})
    history = pd.concat([_figures(pd.DataFrame({"x": rng.normal(0, 0.8**0.5, 5_000)}), real, g) for g in range(1, 31)])
    outcome = collapse_trend(history, 30, **DEFAULTS).outcome()
    assert outcome.verdict is Verdict.PASS
    assert outcome.observed < 2


def test_not_judged_before_min_generations_then_a_rule_with_its_evidence():
    history = pd.concat(_loop("replace", 6, seed=0))
    early = collapse_trend(history, 4, **DEFAULTS)
    assert early.outcome() is None and not early.judged
    assert "not yet judged: 4 of the 5" in early.to_metadata()["reason"]
    outcome = collapse_trend(history, 5, **DEFAULTS).outcome()
    assert outcome.sample_size == 5 and outcome.bound == "max" and "mix.mode: accumulate" in outcome.fix
    # generation 1's mix holds the 100 real rows and 100 synthetic ones
    assert "generations 1-5" in outcome.rule and "600 rows" in outcome.rule
    assert outcome.threshold > 1 and np.isfinite(outcome.observed)


def test_later_generations_and_undefined_figures_are_left_out():
    history = pd.concat(_loop("replace", 8, seed=2))
    collapsed = pd.DataFrame([{"generation": 9, "column": "x", "rows": M, "variance_ratio": 0.0,
                               "excess_kurtosis": np.nan}])
    with_later = collapse_trend(pd.concat([history, collapsed]), 6, **DEFAULTS)
    assert with_later.to_metadata() == collapse_trend(history, 6, **DEFAULTS).to_metadata()
    at_nine = collapse_trend(pd.concat([history, collapsed]), 9, **DEFAULTS)
    assert at_nine.worst.generations == tuple(range(1, 9))


def test_columns_share_the_level_and_the_worst_column_is_reported():
    rng = np.random.default_rng(3)
    real = pd.DataFrame({"steady": rng.normal(0, 1, M), "drifting": rng.normal(0, 1, M)})
    frames = []
    for g in range(1, 21):
        data = pd.DataFrame({"steady": rng.normal(0, 1, M), "drifting": rng.normal(0, 0.9 ** g, M)})
        frames.append(_figures(data, real, g))
    verdict = collapse_trend(pd.concat(frames), 20, **DEFAULTS)
    assert {t.level for t in verdict.columns} == {verdict.look_level / 4}  # two columns, two measures
    assert verdict.worst.column == "drifting" and verdict.outcome().verdict is Verdict.FAIL
    assert "(column;" in verdict.outcome().public_rule


def test_levels_of_all_looks_sum_to_the_false_alarm_rate():
    total = sum(look_level(0.01, 5, g) for g in range(5, 1_000_000))
    assert total == pytest.approx(0.01, rel=1e-5)


def test_replace_generations_report_the_trend_in_the_diversity_check(runner, tmp_path):
    """Real materializations: the training mix's diversity check stores the figures of each
    generation and reports the trend: not yet judged, then a rule with its evidence."""
    import dagster as dg

    from synth_pipeline import (
        FitOn,
        GenerationMode,
        MixSpec,
        SourceSpec,
        Stage,
        SynthesizerSpec,
        SynthPipelineSpec,
        SynthPolicy,
        build_synth_pipeline,
    )
    from synth_pipeline.checks.quality_checks import build_quality_checks
    from synth_pipeline.runner import run_generations

    rng = np.random.default_rng(0)
    path = tmp_path / "real.csv"
    pd.DataFrame({"x": rng.normal(0, 1, 2 * 60), "group": rng.choice(["a", "b"], 2 * 60)}).to_csv(path, index=False)
    spec = SynthPipelineSpec(
        name="trend_replace", label_column="group", real_source=SourceSpec(path=str(path)), holdout_fraction=0.5,
        augmentation=None, mix=MixSpec(mode=GenerationMode.REPLACE, real_arrival_generations=1),
        synthesizer=SynthesizerSpec(params={"default_distribution": "norm", "enforce_min_max_values": False},
                                    fit_on=FitOn.PREVIOUS_MIX, num_rows=60),
    )
    pipeline = build_synth_pipeline(spec)
    policy = SynthPolicy(trend_min_generations=3)
    mix_key = pipeline.key(Stage.TRAINING_MIX)
    defs = pipeline.to_definitions(
        data_dir=str(runner.data_dir), include_checks=False, include_quality_checks=False, policy=policy,
        asset_checks=[c for c in build_quality_checks(pipeline, only=["diversity"])
                      if next(iter(c.check_keys)).asset_key == mix_key],
    )
    loop = [Stage.REAL_ARRIVALS, Stage.SYNTHETIC, Stage.TRAINING_MIX]
    runs = [*run_generations(defs, pipeline=spec.name, generations=[1], instance=runner.instance,
                             stages=[Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, *loop]),
            *run_generations(defs, pipeline=spec.name, generations=[2, 3, 4], instance=runner.instance,
                             stages=loop, keep_going=True)]
    assert [run.generation for run in runs] == [1, 2, 3, 4]
    history = runner.store.monitor_history(mix_key, TREND_MONITOR)
    real_variance = runner.read(pipeline, Stage.REAL_TRAIN)["x"].var()
    for run in runs:
        metadata = run.check("diversity").metadata
        trend = metadata["collapse_trend"].data if isinstance(metadata["collapse_trend"], dg.JsonMetadataValue) \
            else metadata["collapse_trend"]
        stored = history[history["generation"] == run.generation].iloc[0]
        mix = runner.read(pipeline, Stage.TRAINING_MIX, run.generation)
        assert stored["rows"] == len(mix) and stored["variance_ratio"] == pytest.approx(mix["x"].var() / real_variance)
        rules = [r for r in metadata["rules"] if r["rule"].startswith("collapse trend")]
        if run.generation < policy.trend_min_generations:
            assert not trend["judged"] and rules == []
            continue
        expected = collapse_trend(history, run.generation, min_generations=3, false_alarm_rate=0.01,
                                  tolerance=0.05).outcome()
        assert trend["judged"] and trend["generations_stored"] == run.generation
        [rule] = rules
        assert rule["observed"] == pytest.approx(expected.observed)
        assert rule["sample_size"] == run.generation and rule["threshold"] == pytest.approx(expected.threshold)
        assert rule["verdict"] == expected.verdict.value and "n = " in rule["evidence"]
