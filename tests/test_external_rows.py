"""Rows made elsewhere (an LLM, a simulator, a vendor) ingested through the synthetic stage with declared provenance."""

from __future__ import annotations

import pytest
from generators_data import check, run_with_budget, small_pipeline, small_table, stage_metadata

from synth_pipeline import SynthesizerSpec, SynthPolicy
from synth_pipeline.errors import GeneratorSpecError
from synth_pipeline.generators.registry import resolve_generator
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import DEPTH_COLUMN, KIND_COLUMN, user_columns


def _outside_rows(tmp_path, rows: int = 70, suffix: str = "parquet", **columns):
    """Rows an outside generator made: a different draw of the same table (never the pipeline's rows)."""
    frame = small_table(rows=rows, seed=99)
    frame = frame.assign(**columns)
    path = tmp_path / f"vendor.{suffix}"
    frame.to_parquet(path, index=False) if suffix == "parquet" else frame.to_csv(path, index=False)
    return path, frame


def test_rows_made_elsewhere_are_tagged_with_their_declared_generator_and_depth(runner, tmp_path):
    path, made = _outside_rows(tmp_path)
    synthesizer = SynthesizerSpec(method="file", params={
        "path": str(path), "generator": "acme-llm-v2", "fitted_on": "ext/real_arrivals[1]"})
    pipeline = small_pipeline(tmp_path, synthesizer, name="ext")
    [run] = runner.run(pipeline, [1])
    assert not run.failures, run.failures
    metadata = stage_metadata(run, Stage.SYNTHETIC)
    assert metadata["generator"] == "external.acme-llm-v2"
    assert metadata["generator_params"] == {"path": str(path), "generator": "acme-llm-v2", "take": "all",
                                            "fitted_on_depth": 0, "fitted_on": "ext/real_arrivals[1]"}
    assert metadata["declared_fitted_on"] == "ext/real_arrivals[1]" and metadata["file_rows"] == 70
    assert "privacy_epsilon" not in metadata
    synthetic = runner.read(pipeline, Stage.SYNTHETIC, 1)
    assert len(synthetic) == 70  # take: all
    assert synthetic[user_columns(synthetic)].reset_index(drop=True).equals(made)
    assert set(synthetic[KIND_COLUMN]) == {"synthetic"} and set(synthetic[DEPTH_COLUMN]) == {1}
    mix = runner.read(pipeline, Stage.TRAINING_MIX, 1)
    assert (mix[KIND_COLUMN] == "synthetic").sum() == 70


def test_a_declared_deeper_fit_deepens_the_rows_and_take_sample_draws_the_rows_asked_for(runner, tmp_path):
    path, made = _outside_rows(tmp_path, rows=200, suffix="csv")
    synthesizer = SynthesizerSpec(method="file", num_rows=50, params={
        "path": str(path), "generator": "simulator", "fitted_on_depth": 2, "take": "sample"})
    pipeline = small_pipeline(tmp_path, synthesizer, name="deep")
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(max_depth=3))
    assert not run.failures, run.failures
    synthetic = runner.read(pipeline, Stage.SYNTHETIC, 1)
    assert len(synthetic) == 50 and set(synthetic[DEPTH_COLUMN]) == {3}
    assert synthetic["x1"].isin(made["x1"]).all() and synthetic["x1"].is_unique
    [blocked] = runner.run(pipeline, [1], policy=SynthPolicy(max_depth=2))
    assert "recursion_depth" in {c.name for c in blocked.failed_checks}


def test_a_declared_epsilon_counts_against_the_privacy_budget(tmp_path):
    path, _ = _outside_rows(tmp_path)
    synthesizer = SynthesizerSpec(method="file", params={"path": str(path), "generator": "vendor-dp",
                                                         "epsilon": 0.7, "delta": 1e-7})
    pipeline = small_pipeline(tmp_path, synthesizer, name="ext_dp", batches=2)
    runs = run_with_budget(pipeline, tmp_path / "data", [1, 2], SynthPolicy(max_epsilon=1.0))
    assert stage_metadata(runs[0], Stage.SYNTHETIC)["privacy_epsilon"] == 0.7
    assert [check(run, "privacy_budget").passed for run in runs] == [True, False]
    assert check(runs[1], "privacy_budget").metadata["privacy_epsilon_total"] == pytest.approx(1.4)


def test_a_file_without_the_fitted_columns_fails_with_the_columns_named(runner, tmp_path):
    path, _ = _outside_rows(tmp_path, extra_note="made by hand")
    pipeline = small_pipeline(tmp_path, SynthesizerSpec(method="file", params={"path": str(path), "generator": "x"}),
                              name="cols")
    [run] = runner.run(pipeline, [1])
    [(_, message)] = run.failures
    assert "missing [], not in the fit input ['extra_note']" in message and "fix the file" in message


@pytest.mark.parametrize(("params", "expected"), [
    ({"generator": "x"}, "the file generator needs synthesizer.params.path"),
    ({"path": "a.csv", "generator": "x", "kind": "unknown"}, "declare them in the spec's unknown_source"),
    ({"path": "a.csv", "generator": "x", "take": "some"}, "synthesizer.params.take must be 'all' or 'sample'"),
    ({"path": "a.csv", "generator": "x", "fitted_on_depth": -1}, "fitted_on_depth must be an integer from 0"),
    ({"path": "a.csv", "generator": "x", "delta": 0.1}, "delta given without epsilon"),
    ({"path": "a.csv", "generator": "x", "rows": 3}, "['rows'] are not parameters of the file generator"),
])
def test_bad_file_params_are_named(params, expected):
    with pytest.raises(GeneratorSpecError) as raised:
        resolve_generator("file", params)
    assert expected in str(raised.value)
