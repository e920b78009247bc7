"""Numbers that are categories (a new-user trial: the diversity line read "variance ratio ... in column churned",
a 0/1 label; and a zip code was modelled as a quantity, so 7 % of the generated codes were real ones).

Flags, few-level codes and fixed-width codes are found at the real source's ingestion, or declared in the spec
(``categorical_columns``), and then modelled and measured as categories: SDV's sdtype, SMOTE, the diversity
monitors and SDMetrics' column shapes. Real detection on small frames, real GaussianCopula fits and real
pipeline runs (1 generation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from churn_data import churn_pipeline, churn_table

from conftest import Runner, why
from synth_pipeline import SynthPolicy
from synth_pipeline.augmentation import smote_oversample
from synth_pipeline.categorical_columns import (
    category_evidence,
    detect_categorical_columns,
    resolve_categorical_columns,
    stored_categorical_columns,
)
from synth_pipeline.checks.quality_checks import _diversity, _fidelity
from synth_pipeline.checks.rule_checks import CheckInputs
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.naming import Stage
from synth_pipeline.quality.diversity import measure_diversity
from synth_pipeline.quality.fidelity import sdmetrics_metadata
from synth_pipeline.synthesizers import sdv_metadata, synthesize

RNG = np.random.default_rng(7)
ROWS = 600


def _codes(digits: int, distinct: int, rows: int = ROWS) -> np.ndarray:
    """``distinct`` codes of ``digits`` digits, scattered over their span, each recurring."""
    pool = RNG.choice(np.arange(10 ** (digits - 1) + 1, 10**digits - 1), distinct, replace=False)
    pool = pool[pool % 10 != 0][: distinct]
    return pool[RNG.integers(0, len(pool), rows)]


@pytest.mark.parametrize(("values", "kind"), [
    (RNG.integers(0, 2, ROWS), "a flag"),  # 0/1
    (RNG.integers(1, 3, ROWS).astype(float), "a flag"),  # 1.0/2.0 floats
    (pd.Series(RNG.integers(0, 2, ROWS)).where(RNG.random(ROWS) > 0.1).to_numpy(), "a flag"),  # gaps: float
    (RNG.integers(0, 4, ROWS), "levels"),  # a contract coded 0/1/2/3
    (np.full(ROWS, 3), "how it was exported)"),  # a constant: said so, not called a flag
    (_codes(5, 200), "a code"),  # postal codes
    (_codes(3, 150), "a code"),  # area codes
])
def test_flags_levels_and_codes_are_categories(values, kind):
    evidence = category_evidence(pd.Series(values, name="c"))
    assert evidence is not None and evidence.endswith(kind), evidence


@pytest.mark.parametrize("values", [
    RNG.normal(size=ROWS),  # a measurement
    RNG.integers(1, 73, ROWS),  # tenure in months: 72 values, two digits
    RNG.integers(1950, 2021, ROWS),  # years: fixed width, but they fill their span
    RNG.integers(10_000, 99_999, ROWS) // 100 * 100,  # amounts rounded to hundreds
    RNG.permutation(np.arange(10_000, 99_999))[:ROWS],  # near-unique five-digit numbers: no recurring codes
    np.r_[_codes(5, 100, ROWS - 50), RNG.integers(100, 9_999, 50)],  # codes read without their leading zeros
    RNG.integers(0, 20, ROWS) * 1.5,  # not whole numbers
    RNG.integers(0, 2, ROWS).astype(bool),  # booleans are categorical anyway
])
def test_quantities_and_what_a_shape_cannot_tell_are_not_detected(values):
    assert category_evidence(pd.Series(values, name="q")) is None


def test_detection_leaves_the_label_identifiers_and_text_alone_and_names_no_value():
    frame = churn_table()
    found = {c.column: c for c in detect_categorical_columns(frame, label_column="churned")}
    assert set(found) == {"zip_code", "senior"}  # not churned (the label), tenure, charges or contract (text)
    assert "5 digits each" in found["zip_code"].evidence and found["zip_code"].origin == "detected"
    for value in map(str, frame["zip_code"].unique()):
        assert value not in found["zip_code"].evidence
    assert [c.column for c in detect_categorical_columns(frame, label_column="churned", exclude={"zip_code"})] \
        == ["senior"]


def test_a_declared_list_replaces_detection_and_is_checked():
    frame = churn_table()

    def resolve(declared, **kwargs):
        arguments = {"label_column": "churned", "identifiers": [], "text_columns": [], "source": "churn.csv"}
        return [c.column for c in resolve_categorical_columns(frame, declared=declared, **{**arguments, **kwargs})]

    assert resolve(None) == ["zip_code", "senior"]
    assert resolve([]) == [] and resolve(["tenure"]) == ["tenure"]
    with pytest.raises(SynthPipelineError, match="categorical_columns names the label column 'churned'.*task"):
        resolve(["churned"])
    with pytest.raises(SynthPipelineError, match=r"names \['zip_code'\], also in identifier_columns"):
        resolve(["zip_code"], identifiers=["zip_code"])
    with pytest.raises(SynthPipelineError, match="which the source does not have"):
        resolve(["zip"])


def test_sdv_models_a_code_as_a_category_and_samples_only_real_codes():
    frame = churn_table(300)
    metadata, _ = sdv_metadata(frame, label_column="churned", categorical_columns=["zip_code", "senior"])
    columns = metadata["tables"]["table"]["columns"]
    assert columns["zip_code"]["sdtype"] == "categorical"  # SDV alone: numerical
    assert columns["senior"]["sdtype"] == "ordinal"  # discrete levels already: kept
    assert sdv_metadata(frame, label_column="churned")[0]["tables"]["table"]["columns"]["zip_code"]["sdtype"] \
        == "numerical"
    rows = synthesize(frame, label_column="churned", method="gaussian_copula",
                      params={"default_distribution": "norm"}, num_rows=200, seed=0,
                      categorical_columns=["zip_code"]).rows
    assert rows["zip_code"].isin(frame["zip_code"]).all()


def test_smote_copies_a_code_from_its_base_row_instead_of_interpolating_it():
    frame = churn_table(200).drop(columns="contract")
    frame = pd.concat([frame[frame["churned"] == 0], frame[frame["churned"] == 1].head(20)], ignore_index=True)
    made, sources = smote_oversample(frame, label_column="churned", target_ratio=1.0, k_neighbors=3, seed=0,
                                     categorical=["zip_code", "senior"])
    assert len(made)
    np.testing.assert_array_equal(made["zip_code"], frame["zip_code"].to_numpy()[sources[:, 0]])
    interpolated, _ = smote_oversample(frame, label_column="churned", target_ratio=1.0, k_neighbors=3, seed=0)
    assert not interpolated["zip_code"].isin(frame["zip_code"]).all()  # what it did before


def test_the_measures_take_a_code_and_the_label_as_categories():
    real = churn_table(400)
    tagged = real.assign(_sp_kind="real", _sp_row_hash=np.arange(len(real), dtype=np.uint64))
    report = measure_diversity(tagged, tagged, categorical=["zip_code", "senior", "churned"])
    assert set(report.variance_ratios) == {"tenure", "charges"}
    assert {"zip_code", "senior", "churned", "contract"} <= set(report.category_coverages)
    plain = measure_diversity(tagged, tagged)
    assert {"zip_code", "senior", "churned"} <= set(plain.variance_ratios)  # what the trial saw
    described = sdmetrics_metadata(real, list(real.columns), "churned", ["zip_code"])["columns"]
    assert described["zip_code"]["sdtype"] == described["churned"]["sdtype"] == "categorical"
    assert described["tenure"]["sdtype"] == "numerical"


@pytest.fixture(scope="module")
def churn_run(tmp_path_factory):
    """One generation of the churn pipeline with the quality checks (GaussianCopula)."""
    directory = tmp_path_factory.mktemp("churn")
    runner = Runner(directory / "data")
    pipeline = churn_pipeline(directory)
    [run] = runner.run(pipeline, [1], quality_checks=True)
    return runner, pipeline, run


def test_a_pipeline_models_and_measures_flags_and_codes_as_categories(churn_run):
    runner, pipeline, run = churn_run
    assert run.success, why(run)
    assert stored_categorical_columns(runner.store, pipeline.key(Stage.REAL_SOURCE)) == ["zip_code", "senior"]
    real = runner.read(pipeline, Stage.REAL_SOURCE)
    generated = runner.read(pipeline, Stage.SYNTHETIC, 1)
    assert generated["zip_code"].isin(real["zip_code"]).all()  # codes that exist, not numbers near them
    assert set(generated["senior"]) <= {0, 1} and set(generated["churned"]) <= {0, 1}
    checks = {(c.asset_key.split("/")[-1], c.name): c.metadata for c in run.checks}
    for stage in ("synthetic", "training_mix"):
        diversity = checks[(stage, "diversity")]
        assert set(diversity["variance_ratios"]) == {"tenure", "charges"}, stage
        assert {"zip_code", "senior", "churned"} <= set(diversity["category_coverages"]), stage
        assert diversity["min_variance_column"] in ("tenure", "charges")
    assert {"zip_code", "senior", "churned"} <= set(checks[("synthetic", "fidelity")]["column_shape_scores"])


def test_the_spec_declares_which_numbers_are_categories(tmp_path):
    """``categorical_columns: []``: every number is a quantity (as before); a list: exactly those columns."""
    for declared, numeric, categories in (([], {"zip_code", "senior", "tenure", "charges"}, set()),
                                          (["zip_code"], {"senior", "tenure", "charges"}, {"zip_code"})):
        name = f"decl{len(declared)}"
        runner = Runner(tmp_path / name)
        pipeline = churn_pipeline(tmp_path, name=name, categorical_columns=declared, augmentation=None)
        [run] = runner.run(pipeline, [1])  # the policy checks only; the quality checks are evaluated below
        assert run.success, why(run)
        assert stored_categorical_columns(runner.store, pipeline.key(Stage.REAL_SOURCE)) == declared
        inputs = CheckInputs(pipeline=pipeline, store=runner.store, policy=SynthPolicy(), generation=1,
                             instance=runner.instance, checked=pipeline.key(Stage.SYNTHETIC), role=Stage.SYNTHETIC)
        assert inputs.categorical_columns == [*declared, "churned"]  # the label is a class either way
        _, figures = _diversity(inputs, stage=Stage.SYNTHETIC)
        assert set(figures["variance_ratios"].data) == numeric, declared
        assert categories | {"churned"} <= set(figures["category_coverages"].data), declared
        outcomes, _ = _fidelity(inputs, stage=Stage.SYNTHETIC)
        assert outcomes[0].public_rule is None and outcomes[0].rule == "SDMetrics quality score"
        real = runner.read(pipeline, Stage.REAL_SOURCE)
        generated = runner.read(pipeline, Stage.SYNTHETIC, 1)
        if "zip_code" in declared:
            assert generated["zip_code"].isin(real["zip_code"]).all()
        else:  # modelled as a quantity: made-up codes
            assert not generated["zip_code"].isin(real["zip_code"]).all()


def test_a_declared_list_that_names_the_label_fails_at_ingestion(tmp_path):
    runner = Runner(tmp_path / "data")
    pipeline = churn_pipeline(tmp_path, name="bad", categorical_columns=["churned"], augmentation=None)
    [run] = runner.run(pipeline, [1], keep_going=True)
    assert not run.success
    assert any("categorical_columns names the label column 'churned'" in message for _, message in run.failures)


def test_the_spec_field_is_validated(tmp_path: Path):
    with pytest.raises(Exception, match="categorical_columns"):
        churn_pipeline(tmp_path, name="typed", categorical_columns="zip_code")
