"""Identifier columns: detected at ingestion, kept out of generation and measures, fresh keys in generated rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import fast_spec, why
from synth_pipeline import SourceSpec, SynthesizerSpec, SynthPipeline, SynthPolicy, build_synth_pipeline
from synth_pipeline.checks.quality_checks import _real_key_outcomes
from synth_pipeline.checks.rule_checks import CheckInputs
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.identifiers import detect_identifiers, fresh_keys, stored_identifiers
from synth_pipeline.naming import Stage
from synth_pipeline.verdicts import Verdict


def _customers(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """The issue's table: a unique text key, a 1..n row number, features and a label."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows)
    income = rng.normal(50_000, 15_000, rows).round(2)
    region = rng.choice(["north", "south", "east", "west"], rows)
    churned = (rng.random(rows) < 0.2 + 0.4 * (age < 30)).astype(int)
    return pd.DataFrame({
        "row": np.arange(1, rows + 1), "customer_id": [f"CUST-{i:06d}" for i in rng.permutation(rows) + 100],
        "age": age, "income": income, "region": region, "churned": churned,
    })


def _pipeline(tmp_path: Path, frame: pd.DataFrame, **overrides) -> SynthPipeline:
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    return build_synth_pipeline(fast_spec(
        "cust", label_column="churned", real_source=SourceSpec(path=str(path)), unknown_source=None, **overrides))


def test_identifier_columns_get_fresh_keys_and_stay_out_of_the_model(runner, tmp_path):
    real = _customers()
    pipeline = _pipeline(tmp_path, real)
    (run,) = runner.run(pipeline, [1], quality_checks=True)
    assert run.success, why(run)
    assert stored_identifiers(runner.store, pipeline.key(Stage.REAL_SOURCE)) == ["row", "customer_id"]
    for stage in (Stage.SYNTHETIC, Stage.AUGMENTED):
        generated = runner.read(pipeline, stage, 1)
        assert len(generated) > 0
        assert not generated["customer_id"].isin(set(real["customer_id"])).any()
        assert not generated["row"].isin(set(real["row"])).any()
        assert generated["customer_id"].is_unique and generated["row"].is_unique
        assert list(generated.columns[:6]) == list(real.columns)  # same columns, same order
    privacy = [c for c in run.checks if c.name.endswith("privacy") and c.asset_key.endswith("synthetic")]
    assert privacy and privacy[0].passed and "real record key" in str(privacy[0].metadata)
    model = runner.read(pipeline, Stage.MODEL, 1)
    assert not {"row", "customer_id"} & set(model.feature_names_)


def test_a_generator_that_copies_real_keys_fails_the_privacy_rule(runner, tmp_path):
    """Planted fault: the stored synthetic rows are given real customers' keys."""
    real = _customers()
    pipeline = _pipeline(tmp_path, real)
    (run,) = runner.run(pipeline, [1])
    assert run.success, why(run)
    inputs = CheckInputs(pipeline, runner.store, SynthPolicy(), 1)
    (clean,) = _real_key_outcomes(inputs, Stage.SYNTHETIC)
    assert clean.verdict is Verdict.PASS and clean.observed == 0
    path = inputs.path(Stage.SYNTHETIC)
    synthetic = pd.read_parquet(path)
    synthetic["customer_id"] = real["customer_id"].iloc[: len(synthetic)].to_numpy()
    synthetic.to_parquet(path, index=False)
    (copied,) = _real_key_outcomes(CheckInputs(pipeline, runner.store, SynthPolicy(), 1), Stage.SYNTHETIC)
    assert copied.verdict is Verdict.FAIL and copied.observed == len(synthetic)
    assert f"customer_id: {len(synthetic)}" in copied.rule and "fresh keys" in copied.fix


def test_declared_identifier_columns_override_detection(runner, tmp_path):
    real = _customers()
    pipeline = _pipeline(tmp_path, real, identifier_columns=["customer_id"])
    (run,) = runner.run(pipeline, [1])
    assert run.success, why(run)
    assert stored_identifiers(runner.store, pipeline.key(Stage.REAL_SOURCE)) == ["customer_id"]
    synthetic = runner.read(pipeline, Stage.SYNTHETIC, 1)
    # fresh keys name the dataset that made them: two generated assets of one pipeline never share a key
    dataset = pipeline.key(Stage.SYNTHETIC).to_user_string().replace("/", "_")
    assert synthetic["customer_id"].str.startswith(f"syn-{dataset}-g1-").all()
    assert synthetic["customer_id"].is_unique


def test_a_declared_column_the_source_lacks_fails_at_ingestion_and_stores_nothing(runner, tmp_path):
    pipeline = _pipeline(tmp_path, _customers(), identifier_columns=["client_no"])
    (run,) = runner.run(pipeline, [1])
    assert not run.success
    message = " ".join(m for _, m in run.failures)
    assert "client_no" in message and "identifier_columns" in message
    assert not runner.store.exists(pipeline.key(Stage.REAL_SOURCE))


@pytest.mark.parametrize(("column", "values", "detected"), [
    ("customer_id", [f"CUST-{i:06d}" for i in range(100)], True),
    ("row", list(range(1, 101)), True),
    ("email", [f"user{i}@example.org" for i in range(100)], True),
    ("account_number", list(np.random.default_rng(0).choice(10**9, 100, replace=False)), True),
    # siblings that must stay features
    ("income", list(np.random.default_rng(1).choice(10**6, 100, replace=False)), False),  # unique measurement
    ("height", list(np.random.default_rng(2).normal(170, 10, 100)), False),  # unique floats
    ("comment", [f"the service was slow on day {i} and the staff was kind" for i in range(100)], False),
    ("region", ["north", "south"] * 50, False),
    ("small_id", list(range(10)), False),  # too few rows to tell a key from chance
])
def test_detection_rule(column, values, detected):
    frame = pd.DataFrame({column: values, "label": [0, 1] * (len(values) // 2)})
    found = [f.column for f in detect_identifiers(frame, label_column="label")]
    assert found == ([column] if detected else [])


def test_the_label_is_never_an_identifier():
    frame = pd.DataFrame({"label": [f"L{i}" for i in range(50)], "x": range(50)})
    assert [f.column for f in detect_identifiers(frame, label_column="label")] == ["x"]


def test_fresh_keys_never_equal_a_real_key_even_in_our_own_namespace():
    real_text = pd.Series(["syn-synthetic-g1-000001", "A"])
    keys = fresh_keys(real_text, 5, generation=1, stage="synthetic")
    assert not keys.isin(set(real_text)).any() and keys.is_unique
    real_int = pd.Series([-5, 3, 7], dtype="int64")
    generation_one = fresh_keys(real_int, 4, generation=1, stage="synthetic")
    generation_two = fresh_keys(real_int, 4, generation=2, stage="synthetic")
    augmented = fresh_keys(real_int, 4, generation=1, stage="augmented")
    assert generation_one.dtype == "int64" and (generation_one < -5).all()
    assert not set(generation_one) & set(generation_two) and not set(generation_one) & set(augmented)


def test_identifier_columns_are_named_in_spec_errors():
    with pytest.raises(SynthPipelineError, match="label column"):
        from synth_pipeline.identifiers import resolve_identifiers

        resolve_identifiers(_customers(), declared=["churned"], label_column="churned", source="customers.csv")


@pytest.mark.parametrize(("column", "values"), [
    ("signup", [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{(7 * i) % 60:02d}"
                for i in range(100)]),
    ("betrag", [f"{1000 + 37 * i:,}".replace(",", ".") + f",{i % 100:02d}" for i in range(100)]),
    ("amount_text", [f"{12.5 + 3.1 * i:.2f}" for i in range(100)]),
])
def test_numbers_and_times_written_as_text_stay_features(column, values):
    """A trial found CSV timestamps and German-format amounts (read as text) replaced by fake keys."""
    frame = pd.DataFrame({column: values, "label": [0, 1] * 50})
    assert frame[column].is_unique
    assert detect_identifiers(frame, label_column="label") == []


@pytest.mark.parametrize(("declared", "message"), [
    (["income"], "a record key must hold integers or text"),
    (["customer_id", "customer_id"], "more than once"),
])
def test_declarations_that_cannot_be_keys_fail_at_ingestion(declared, message):
    from synth_pipeline.identifiers import resolve_identifiers

    with pytest.raises(SynthPipelineError, match=message):
        resolve_identifiers(_customers(), declared=declared, label_column="churned", source="customers.csv")


def test_a_column_declared_open_is_not_judged_for_category_coverage(runner, tmp_path):
    """Following the validator's own fix (declare the column open) must not end in a diversity failure."""
    rng = np.random.default_rng(3)
    real = _customers().drop(columns=["row", "customer_id"]).assign(
        email=[f"user{i}@example.org" for i in rng.integers(0, 10, 600)])
    synthesizer = SynthesizerSpec(params={"default_distribution": "norm"}, open_categories=["email"])
    pipeline = _pipeline(tmp_path, real, synthesizer=synthesizer)
    (run,) = runner.run(pipeline, [1], quality_checks=True)
    [diversity] = [c for c in run.checks if c.name.endswith("diversity") and c.asset_key.endswith("synthetic")]
    coverage = diversity.metadata.get("category_coverages")
    coverage = getattr(coverage, "data", coverage) or {}
    assert "email" not in coverage and "region" in coverage
    assert "email" not in str(diversity.metadata.get("min_category_column", ""))
