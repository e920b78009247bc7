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
            "'file', 'word_markov', 'openai_chat'] nor 'package.module:factory'") in run.failures[0][1]
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


# SDV reads these names as PII sdtypes (sdv.metadata._single_table._REFERENCE_TO_SDTYPE) or as ``id``.
PII_NAMES = {"city": "city", "email": "email", "first_name": "first_name", "street_address": "street_address",
             "phone_number": "phone_number", "ssn": "ssn", "zip_code": "postcode", "latitude": "latitude",
             "region_id": "id"}


def _named_like_pii(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    text = {name: rng.choice([f"{name}-{i}" for i in range(levels)], rows) for name, levels in (
        ("city", 394), ("email", 40), ("first_name", 8), ("street_address", 25), ("phone_number", 30),
        ("ssn", 50), ("region_id", 5))}
    return pd.DataFrame({**text, "zip_code": rng.integers(10_000, 10_020, rows),
                         "latitude": rng.normal(40, 1, rows).round(4), "x": rng.normal(size=rows),
                         "label": rng.integers(0, 2, rows)})


def test_columns_named_like_personal_data_are_modelled_from_their_values_not_faked():
    """SDV's metadata detection gives such columns a PII sdtype by name and fills them with Faker values (a
    trial's 394-level ``city``: "North Diana"; a latitude anywhere on earth). synthesize() models them from
    their values, like any column, and records each replacement."""
    from synth_pipeline.synthesizers import synthesize

    frame = _named_like_pii()
    synthesis = synthesize(frame, label_column="label", method="gaussian_copula", params={}, num_rows=200, seed=0)

    made = synthesis.rows
    for column in ("city", "email", "first_name", "street_address", "phone_number", "ssn", "region_id", "zip_code"):
        assert made[column].isin(frame[column]).all(), column
    assert frame["latitude"].min() <= made["latitude"].min() and made["latitude"].max() <= frame["latitude"].max()
    assert {column: change.split(" -> ")[0] for column, change in synthesis.sdtypes_replaced.items()} == PII_NAMES
    assert synthesis.sdtypes_replaced["city"] == "city -> categorical"
    assert synthesis.sdtypes_replaced["latitude"] == "latitude -> numerical"


def test_a_column_declared_open_keeps_the_made_up_values_sdv_gives_its_name():
    from synth_pipeline.generators.registry import resolve_generator

    frame = _named_like_pii()[["city", "email", "x", "label"]]
    generator = resolve_generator("gaussian_copula", {}, open_columns=["email"])
    generator.fit(frame, label_column="label", seed=0)
    made = generator.sample(100, seed=0)

    assert not made["email"].isin(frame["email"]).any()  # Faker's addresses, as declared
    assert made["city"].isin(frame["city"]).all()
    assert generator.info().extra["sdtypes_replaced"] == {"city": "city -> categorical"}
