"""The differentially private generator (extra `dp`: DataSynthesizer's PrivBayes) and the privacy budget it spends."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("DataSynthesizer", reason="the optional extra 'dp' is not installed: "
                                               "pip install 'synth-pipeline[dp]'")

from generators_data import check, run_with_budget, small_pipeline, small_table, stage_metadata  # noqa: E402

from synth_pipeline import SynthesizerSpec, SynthPolicy  # noqa: E402
from synth_pipeline.errors import GeneratorSpecError  # noqa: E402
from synth_pipeline.generators.registry import resolve_generator  # noqa: E402
from synth_pipeline.naming import Stage  # noqa: E402
from synth_pipeline.privacy_budget import PRIVACY_MONITOR  # noqa: E402
from synth_pipeline.provenance import KIND_COLUMN  # noqa: E402
from synth_pipeline.storage import DatasetStore  # noqa: E402


def test_a_privbayes_fit_spends_its_epsilon_and_samples_the_fitted_columns():
    frame = small_table(rows=200)
    generator = resolve_generator("dp_privbayes", {"epsilon": 0.5, "bounds": {"x2": [0, 10]}})
    assert generator.info().privacy is None  # nothing spent before a fit
    generator.fit(frame, label_column="label", seed=1)
    rows = generator.sample(60, seed=1)
    info = generator.info()
    assert info.name == "datasynthesizer.privbayes"
    assert (info.privacy.epsilon, info.privacy.delta, info.privacy.mechanism) == (0.5, 0.0, "privbayes")
    assert info.params["bounds"] == {"x2": [0.0, 10.0]}
    assert info.extra["domain_from_data"] == ["x1", "count", "colour", "label"]
    assert list(rows.columns) == list(frame.columns) and len(rows) == 60
    assert set(rows["label"]) <= {0, 1} and set(rows["colour"]) <= {"red", "green", "blue"}
    assert rows["x2"].between(0, 10).all()


@pytest.mark.parametrize(("params", "expected"), [
    ({}, "dp_privbayes needs synthesizer.params.epsilon"),
    ({"epsilon": 0}, "synthesizer.params.epsilon must be a number above 0"),
    ({"epsilon": True}, "synthesizer.params.epsilon must be a number above 0"),
    ({"epsilon": 1, "k": 2}, "synthesizer.params ['k'] are not parameters of dp_privbayes"),
    ({"epsilon": 1, "bounds": {"x2": [5, 1]}}, "synthesizer.params.bounds.x2 must be [low, high] with low < high"),
])
def test_bad_dp_params_are_named(params, expected):
    with pytest.raises(GeneratorSpecError) as raised:
        resolve_generator("dp_privbayes", params)
    assert expected in str(raised.value)


def test_privacy_budget_blocks_once_generations_sum_past_max_epsilon(tmp_path):
    """Three generations fitted on real rows at epsilon 0.4 each: 0.4, 0.8 pass a 1.0 budget, 1.2 blocks."""
    synthesizer = SynthesizerSpec(method="dp_privbayes", params={"epsilon": 0.4})
    pipeline = small_pipeline(tmp_path, synthesizer, name="dp_budget", batches=3)
    runs = run_with_budget(pipeline, tmp_path / "data", [1, 2, 3], SynthPolicy(max_epsilon=1.0))
    results = [check(run, "privacy_budget") for run in runs]
    assert [r.passed for r in results] == [True, True, False]
    assert [r.metadata["privacy_epsilon_total"] for r in results] == pytest.approx([0.4, 0.8, 1.2])
    failed = results[2].metadata
    assert failed["privacy_generations_counted"] == [1, 2, 3]
    assert failed["privacy_epsilon_this_generation"] == pytest.approx(0.4)
    assert "(this generation 0.4, earlier generations 0.8): observed 1.2 > limit 1" in failed["evidence"]
    assert "lower synthesizer.params.epsilon" in failed["evidence"]
    assert results[2].severity == "ERROR"
    # Blocking: generation 3's mix is not built on the over-budget rows.
    assert not any(r.stage == Stage.TRAINING_MIX for r in runs[2].stages)
    for run, generation in zip(runs, [1, 2, 3], strict=True):
        metadata = stage_metadata(run, Stage.SYNTHETIC)
        assert metadata["generator"] == "datasynthesizer.privbayes"
        assert (metadata["privacy_epsilon"], metadata["privacy_delta"]) == (0.4, 0.0)
        assert metadata["fitted_on"] == f"dp_budget/real_arrivals[{generation}]"
    history = DatasetStore(base_dir=str(tmp_path / "data")).monitor_history(pipeline.key(Stage.SYNTHETIC),
                                                                            PRIVACY_MONITOR)
    assert list(history["generation"]) == [1, 2, 3] and list(history["epsilon"]) == [0.4] * 3
    assert (history["fit_real_rows"] > 0).all() and not any(math.isnan(d) for d in history["delta"])
    synthetic = DatasetStore(base_dir=str(tmp_path / "data")).read(pipeline.key(Stage.SYNTHETIC), "1")
    assert set(synthetic[KIND_COLUMN]) == {"synthetic"} and len(synthetic) > 0
