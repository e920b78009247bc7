"""Two generations: depth growth along the recursive loop, replace and accumulate modes."""

import pytest

from conftest import FAST_SYNTHESIZER, fast_spec
from synth_pipeline import FitOn, GenerationMode, MixSpec, SynthesizerSpec, build_synth_pipeline
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import DEPTH_COLUMN, GENERATION_COLUMN, KIND_COLUMN, ROW_HASH_COLUMN

RECURSIVE = SynthesizerSpec(params=FAST_SYNTHESIZER.params, fit_on=FitOn.PREVIOUS_MIX)


def _spec(mode: GenerationMode, **overrides):
    fields = {
        "name": f"loop_{mode.value}",
        "unknown_source": None,
        "synthesizer": RECURSIVE,
        "mix": MixSpec(mode=mode, real_arrival_batches=2),
    }
    return fast_spec(**{**fields, **overrides})


@pytest.mark.parametrize("mode", list(GenerationMode))
def test_depth_grows_by_one_when_fitted_on_the_previous_mix(runner, mode):
    pipeline = build_synth_pipeline(_spec(mode))
    runs = runner.run(pipeline, [1, 2])
    assert [r.success for r in runs] == [True, True]
    first, second = (runner.read(pipeline, Stage.SYNTHETIC, g) for g in (1, 2))
    assert set(first[DEPTH_COLUMN]) == {1}
    assert set(second[DEPTH_COLUMN]) == {2}
    mix_two = runner.read(pipeline, Stage.TRAINING_MIX, 2)
    assert mix_two[DEPTH_COLUMN].max() == 2
    metadata = {r.stage: r.metadata for r in runs[1].stages}
    assert metadata[Stage.SYNTHETIC]["fitted_on"] == f"{pipeline.name}/training_mix[1]"
    assert metadata[Stage.SYNTHETIC]["fit_rows"] == len(runner.read(pipeline, Stage.TRAINING_MIX, 1))
    assert metadata[Stage.TRAINING_MIX]["max_depth"] == 2
    assert metadata[Stage.TRAINING_MIX]["generation"] == 2


def test_replace_mode_drops_earlier_generations(runner):
    pipeline = build_synth_pipeline(_spec(GenerationMode.REPLACE))
    runner.run(pipeline, [1, 2])
    mix_one, mix_two = (runner.read(pipeline, Stage.TRAINING_MIX, g) for g in (1, 2))
    assert set(mix_two[GENERATION_COLUMN]) == {2}
    assert not set(mix_one[ROW_HASH_COLUMN]) & set(mix_two[ROW_HASH_COLUMN])


def test_accumulate_mode_keeps_earlier_generations_and_adds_fresh_real_rows(runner):
    pipeline = build_synth_pipeline(_spec(GenerationMode.ACCUMULATE))
    runs = runner.run(pipeline, [1, 2])
    mix_one, mix_two = (runner.read(pipeline, Stage.TRAINING_MIX, g) for g in (1, 2))
    arrivals_two = runner.read(pipeline, Stage.REAL_ARRIVALS, 2)
    assert set(mix_one[ROW_HASH_COLUMN]) <= set(mix_two[ROW_HASH_COLUMN])
    assert len(mix_two) == len(mix_one) + len(arrivals_two) + len(runner.read(pipeline, Stage.SYNTHETIC, 2)) + len(
        runner.read(pipeline, Stage.AUGMENTED, 2)
    )
    fresh = mix_two[(mix_two[KIND_COLUMN] == "real") & (mix_two[GENERATION_COLUMN] == 2)]
    assert len(fresh) == len(arrivals_two) > 0
    # the two arrival batches split the real train split between them
    arrivals_one = runner.read(pipeline, Stage.REAL_ARRIVALS, 1)
    train = runner.read(pipeline, Stage.REAL_TRAIN)
    assert not set(arrivals_one[ROW_HASH_COLUMN]) & set(arrivals_two[ROW_HASH_COLUMN])
    assert len(arrivals_one) + len(arrivals_two) == len(train)
    assert {r.stage: r.metadata for r in runs[1].stages}[Stage.TRAINING_MIX]["fresh_real_rows"] == len(fresh)


def test_mode_can_be_overridden_at_run_time(runner):
    pipeline = build_synth_pipeline(_spec(GenerationMode.ACCUMULATE))
    runner.run(pipeline, [1])
    [run] = runner.run(pipeline, [2], stage_config={Stage.TRAINING_MIX: {"mode": "replace"}})
    assert run.success
    assert set(runner.read(pipeline, Stage.TRAINING_MIX, 2)[GENERATION_COLUMN]) == {2}


def test_accumulating_a_generation_whose_predecessor_is_missing_fails_clearly(runner):
    pipeline = build_synth_pipeline(_spec(GenerationMode.ACCUMULATE, synthesizer=FAST_SYNTHESIZER))
    [run] = runner.run(pipeline, [2])
    assert not run.success
    [(step, message)] = run.failures
    assert "training_mix" in step
    assert "generation 1 of loop_accumulate/training_mix has not been materialized" in message
    assert "--generations 2" in message
    assert not runner.store.exists(pipeline.key(Stage.TRAINING_MIX), "2")


@pytest.mark.parametrize("key", ["0", "01", "-1", "²", "one"])
def test_generation_keys_must_be_canonical_positive_numbers(key):
    from synth_pipeline.errors import GenerationError
    from synth_pipeline.generations import parse_generation

    with pytest.raises(GenerationError, match="not a positive number"):
        parse_generation(key)
