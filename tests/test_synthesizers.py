"""CTGAN and TVAE are selectable by run config, and bad config is a clear error."""

import numpy as np
import pandas as pd
import pytest

from conftest import fast_spec
from synth_pipeline import build_synth_pipeline
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import DEPTH_COLUMN, KIND_COLUMN


@pytest.mark.parametrize("method", ["ctgan", "tvae"])
def test_neural_synthesizers_selected_by_config(runner, method):
    pipeline = build_synth_pipeline(fast_spec(name=f"nn_{method}", unknown_source=None, augmentation=None))
    [run] = runner.run(pipeline, [1], stage_config={Stage.SYNTHETIC: {"method": method, "epochs": 2}})
    # Two epochs make a poor generator (TVAE may emit a single class): only the utility
    # check may object.
    assert not run.failures
    assert {c.name for c in run.failed_checks} <= {"evaluation_on_real"}
    metadata = {r.stage: r.metadata for r in run.stages}[Stage.SYNTHETIC]
    assert metadata["generator"] == f"sdv.{method}"
    assert metadata["generator_params"] == {"epochs": 2}
    synthetic = runner.read(pipeline, Stage.SYNTHETIC, 1)
    assert len(synthetic) == 114 and set(synthetic[KIND_COLUMN]) == {"synthetic"}
    assert set(synthetic[DEPTH_COLUMN]) == {1}


def test_unknown_method_and_misplaced_epochs_are_clear_errors(runner):
    pipeline = build_synth_pipeline(fast_spec(name="bad_config", unknown_source=None, augmentation=None))
    [run] = runner.run(pipeline, [1], stage_config={Stage.SYNTHETIC: {"method": "gan9000"}})
    assert ("method='gan9000' is not one of ['gaussian_copula', 'ctgan', 'tvae', 'dp_privbayes', 'mostlyai', "
            "'file'] nor 'package.module:factory'") in run.failures[0][1]
    [run] = runner.run(pipeline, [1], stage_config={Stage.SYNTHETIC: {"epochs": 3}})
    assert "epochs applies to ctgan and tvae only" in run.failures[0][1]


@pytest.mark.parametrize("method", ["gaussian_copula", "ctgan"])
def test_a_parameter_the_synthesizer_does_not_take_is_named_not_a_bare_type_error(method):
    """A trial's `params: {bogus: 1}` reached SDV and failed with `TypeError: ... unexpected keyword`."""
    from synth_pipeline.errors import SynthPipelineError
    from synth_pipeline.synthesizers import synthesize

    frame = pd.DataFrame({"a": np.linspace(0, 1, 40), "y": [0, 1] * 20})
    with pytest.raises(SynthPipelineError, match=r"synthesizer.params \['bogus'\] are not parameters of SDV's"):
        synthesize(frame, label_column="y", method=method, params={"bogus": 1, "epochs": 1} if method == "ctgan"
                   else {"bogus": 1}, num_rows=5, seed=0)
