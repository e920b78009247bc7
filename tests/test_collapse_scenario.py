"""Six generations of the recursive loop: replace trips the guards where the policy says, accumulate passes.

Both runs use the same data, synthesizer and policy. Replace mode gets no fresh real data
after generation 1 (one arrival batch) and refits the generator on the previous training
mix; accumulate mode gets a fresh sixth of the real data every generation.
"""


from conftest import FAST_SYNTHESIZER, fast_spec
from synth_pipeline import FitOn, GenerationMode, MixSpec, SynthesizerSpec, SynthPolicy, build_synth_pipeline

GENERATIONS = [1, 2, 3, 4, 5, 6]
# With 76 real rows a generation, train-on-synthetic scores are noisy (TSTR/TRTR 0.66 in
# accumulate generation 1), so the scenario's utility floor is 0.6; all else is default.
POLICY = SynthPolicy(min_tstr_trtr_ratio=0.6)


def _spec(name: str, mode: GenerationMode, fit_on: FitOn, batches: int):
    return fast_spec(
        name=name, unknown_source=None, augmentation=None,
        synthesizer=SynthesizerSpec(params=FAST_SYNTHESIZER.params, fit_on=fit_on, rows_per_real_row=0.5),
        mix=MixSpec(mode=mode, real_arrival_batches=batches),
    )


def _failing_generations(runs, check: str) -> list[int]:
    return [run.generation for run in runs if not run.check(check).passed]


def test_replace_mode_trips_depth_and_generation_budget_where_the_policy_predicts(runner):
    spec = _spec("replace_loop", GenerationMode.REPLACE, FitOn.PREVIOUS_MIX, batches=1)
    runs = runner.run(build_synth_pipeline(spec), GENERATIONS, policy=POLICY, keep_going=True)
    # No real row is fresh after the single batch of generation 1 ...
    first_stale = spec.mix.real_arrival_batches + 1
    assert _failing_generations(runs, "generation_budget") == GENERATIONS[first_stale - 1:]
    # ... and generation g's synthetic rows are g hops deep: the bound is crossed at max_depth + 1.
    assert _failing_generations(runs, "recursion_depth") == GENERATIONS[POLICY.max_depth:]
    assert [run.check("recursion_depth").metadata["observed"] for run in runs] == GENERATIONS
    for run in runs:
        assert {c.name for c in run.failed_checks} <= {"generation_budget", "recursion_depth"}
        assert run.success == (run.generation == 1)


def test_accumulate_mode_with_fresh_real_data_passes_every_generation(runner):
    spec = _spec("accumulate_loop", GenerationMode.ACCUMULATE, FitOn.REAL, batches=len(GENERATIONS))
    runs = runner.run(build_synth_pipeline(spec), GENERATIONS, policy=POLICY, keep_going=True)
    for run in runs:
        assert run.success, [(c.name, c.metadata["rule"], c.metadata["observed"]) for c in run.failed_checks]
        assert run.check("generation_budget").metadata["fresh_real_rows"] > 0
    growth = [next(r for r in run.check("generation_budget").metadata["rules"] if "growth" in r["rule"])["observed"]
              for run in runs]
    assert max(growth) <= POLICY.max_synthetic_fraction_growth


def test_accumulate_mode_refitting_on_the_previous_mix_trips_depth_only(runner):
    """Refitting on the previous mix deepens rows in accumulate mode too: only the
    across-generation budget tells the two modes apart."""
    spec = _spec("accumulate_recursive", GenerationMode.ACCUMULATE, FitOn.PREVIOUS_MIX, batches=len(GENERATIONS))
    runs = runner.run(build_synth_pipeline(spec), GENERATIONS, policy=POLICY, keep_going=True)
    assert _failing_generations(runs, "recursion_depth") == GENERATIONS[POLICY.max_depth:]
    assert _failing_generations(runs, "generation_budget") == []
