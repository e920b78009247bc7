"""Generated rows are validated like input data before they are stored.

Two parts:

- Dagster runs of a pipeline whose real source holds a column generators cannot handle (the entry point a
  user hits). The generating step fails with one ``GeneratedDataError`` naming the generator, the column,
  the problem and the fix; nothing is stored for it or after it (no Parquet file for the partition, no
  dataset version in the lineage store, which holds the step's FAIL event), and the real stages upstream
  are stored intact. SMOTE's arithmetic on such columns is fixed at its source: those runs succeed, with
  every augmented value between the two real rows it interpolates.
- :func:`validate_generated_rows` on frames: each problem a generator can cause (columns, missing and
  infinite values, invented categories and classes, values out of range, dtypes), and the dtypes it
  repairs (recorded, values unchanged).

Messages may quote offending generated values, never a value of the fit input: every text value of the
test data holds ``SENTINEL``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import FAST_SYNTHESIZER, Runner, why
from lineage_helpers import failures_and_versions
from synth_pipeline import (
    GeneratedDataError,
    SourceSpec,
    SynthesizerSpec,
    SynthPipelineError,
    SynthPipelineSpec,
    SynthPolicy,
    build_synth_pipeline,
    load_spec,
    user_columns,
    validate_generated_rows,
)
from synth_pipeline.augmentation import smote_oversample
from synth_pipeline.naming import Stage
from synth_pipeline.output_validation import ASSET_OPEN_SETTING, EXAMPLE_CHARS, explain_fit_failure, scale_hazard
from synth_pipeline.runner import GenerationRun, pipeline_stages, run_generations

SENTINEL = "QZX"
ROWS = 40
# Quick runs: nothing here measures quality, and the holdout of 40 rows is small.
POLICY = SynthPolicy(min_holdout_rows=1, min_tstr_trtr_ratio=0.0)
REAL_STAGES = (Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, Stage.REAL_ARRIVALS)


def good_frame(rows: int = ROWS, *, minority: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Two learnable classes (balanced, or ``minority`` rows of the second); numeric, integer and text features."""
    rng = np.random.default_rng(seed)
    yes = np.arange(rows) % (rows // (minority or rows // 2)) == 0
    return pd.DataFrame({
        "a": (rng.normal(size=rows) + 2.0 * yes).round(4),
        "b": rng.integers(0, 5, rows),
        "c": rng.choice([f"{SENTINEL}-red", f"{SENTINEL}-green", f"{SENTINEL}-blue"], rows),
        "label": np.where(yes, f"{SENTINEL}-yes", f"{SENTINEL}-no"),
    })


# -- Dagster runs ----------------------------------------------------------------------------------------


def _pipeline(source: Path, synthesizer: SynthesizerSpec = FAST_SYNTHESIZER):
    return build_synth_pipeline(SynthPipelineSpec(
        name="bad", label_column="label", real_source=SourceSpec(path=str(source)), synthesizer=synthesizer,
    ))


def _run(runner: Runner, pipeline, *, stages: list[Stage] | None = None) -> GenerationRun:
    defs = pipeline.to_definitions(data_dir=str(runner.data_dir), policy=POLICY, include_quality_checks=False)
    [run] = run_generations(defs, pipeline=pipeline.name, generations=[1], instance=runner.instance, stages=stages)
    return run


def _write(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "input" / "real.parquet"
    path.parent.mkdir(exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


@dataclass(frozen=True)
class BadColumn:
    """A column added to the real source that a generator cannot handle.

    Attributes:
        values: Makes the column's values from a seeded generator and the row count.
        synthesizer: The synthetic stage's generator.
        expect: Fragments of the message: the generator, the column, the problem and the fix.
        name: The column's name (SDV chooses some generators by name, e.g. for e-mail addresses).
    """

    values: Callable[[np.random.Generator, int], Any]
    synthesizer: SynthesizerSpec
    expect: tuple[str, ...]
    name: str = "x"


def _emails(rows: int) -> list[str]:
    """Ten addresses, each on several rows: a feature, not a record key (keys are kept out of generators)."""
    return [f"{SENTINEL}{i % 10}@example.org" for i in range(rows)]


RESCALE_HUGE = "rescale the column in the source: its magnitude goes beyond 1e150"
NAN_OUT = "values are missing (e.g. nan) where the 32 fit rows have none"
COPULA_MADE = "gaussian_copula made 8 rows that do not fit the 32 rows it was fitted on (bad/real_arrivals[1])"
OTHER_SYNTHESIZER = "use another synthesizer (synthesizer.method: ctgan or tvae)"

BAD_COLUMNS = [
    # the example: finite values near float max, accepted at ingestion, came out non-finite
    pytest.param(BadColumn(lambda rng, n: 1e308 * (1 + 0.01 * rng.normal(size=n)), FAST_SYNTHESIZER,
                           (COPULA_MADE, "column 'x': ", NAN_OUT, RESCALE_HUGE, OTHER_SYNTHESIZER)),
                 id="near-float-max"),
    pytest.param(BadColumn(lambda rng, n: -1e308 * (1 + 0.01 * rng.normal(size=n)), FAST_SYNTHESIZER,
                           (COPULA_MADE, "column 'x': ", NAN_OUT, RESCALE_HUGE)), id="near-minus-float-max"),
    pytest.param(BadColumn(lambda rng, n: rng.uniform(-1, 1, n) * 1.7e308, SynthesizerSpec(),
                           (COPULA_MADE, "column 'x': ", NAN_OUT, RESCALE_HUGE)),
                 id="huge-of-both-signs-default-marginal"),
    pytest.param(BadColumn(lambda rng, n: rng.integers(1, 100, n) * 5e-324, SynthesizerSpec(),
                           (COPULA_MADE, "column 'x': ", NAN_OUT,
                            "it holds non-zero values below 1e-150, whose squares underflow")), id="subnormal"),
    pytest.param(BadColumn(lambda rng, n: 1e308 * (1 + 0.01 * rng.normal(size=n)),
                           SynthesizerSpec(method="ctgan", params={"epochs": 1}),
                           ("ctgan failed on the 32 rows it was fitted on (ValueError: ", "nothing was stored",
                            f"column 'x': {RESCALE_HUGE}", "synthesizer.method: gaussian_copula or tvae")),
                 id="ctgan-near-float-max"),
    pytest.param(BadColumn(lambda rng, n: 1e308 * (1 + 0.01 * rng.normal(size=n)),
                           SynthesizerSpec(method="tvae", params={"epochs": 1}),
                           ("tvae failed on the 32 rows it was fitted on", f"column 'x': {RESCALE_HUGE}")),
                 id="tvae-near-float-max"),
]


@pytest.mark.parametrize("case", BAD_COLUMNS)
def test_generator_output_that_breaks_the_column_fails_its_step_and_stores_nothing(case, runner, tmp_path):
    source = good_frame().assign(**{case.name: case.values(np.random.default_rng(5), ROWS)})
    pipeline = _pipeline(_write(tmp_path, source), case.synthesizer)

    run = _run(runner, pipeline)

    assert not run.success
    assert len(run.failures) == 1, why(run)
    [(step, message)] = run.failures
    assert step == pipeline_stages(pipeline.to_definitions(data_dir=str(runner.data_dir)), "bad")[Stage.SYNTHETIC][1]
    assert message.startswith("synth_pipeline.errors.GeneratedDataError: "), message
    for fragment in case.expect:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert SENTINEL not in message, f"a value of the fit input leaked into the message: {message}"
    # nothing stored for the stage, nor for what is made from it
    for stage in (Stage.SYNTHETIC, Stage.TRAINING_MIX, Stage.MODEL, Stage.EVALUATION):
        assert not runner.store.exists(pipeline.key(stage), "1"), stage
    assert not (runner.data_dir / "bad" / "synthetic" / "1.parquet").exists()
    assert list(runner.data_dir.rglob(".*.tmp")) == []
    failed, produced = failures_and_versions(runner.data_dir, run.run_id)
    assert [job for job, _ in failed] == ["bad/synthetic"]
    assert case.expect[0] in failed[0][1]
    assert not {"bad/synthetic", "bad/training_mix", "bad/model"} & set(produced), produced
    # the real stages upstream are stored, the source as read
    assert {pipeline.key(stage).to_user_string() for stage in REAL_STAGES} <= set(produced)
    stored = runner.read(pipeline, Stage.REAL_SOURCE)
    pd.testing.assert_frame_equal(stored[user_columns(stored)], source)
    holdout, train = runner.read(pipeline, Stage.REAL_HOLDOUT), runner.read(pipeline, Stage.REAL_TRAIN)
    assert len(holdout) + len(train) == ROWS
    assert len(runner.read(pipeline, Stage.REAL_ARRIVALS, 1)) == len(train)


def test_a_column_declared_open_keeps_the_new_values_the_synthesizer_makes(runner, tmp_path):
    source = good_frame().assign(email=_emails(ROWS))
    synthesizer = SynthesizerSpec(params=FAST_SYNTHESIZER.params, open_categories=["email"])
    pipeline = _pipeline(_write(tmp_path, source), synthesizer)

    run = _run(runner, pipeline)

    assert run.success, why(run)
    synthetic = runner.read(pipeline, Stage.SYNTHETIC, 1)
    assert len(synthetic) == 8 and not set(synthetic["email"]) & set(source["email"])
    assert set(synthetic["c"]) <= set(source["c"])  # the other text columns stay closed
    [record] = [r for r in run.stages if r.stage == Stage.SYNTHETIC]
    assert record.metadata["generated_rows_repaired"] == []


def test_columns_sdv_reads_as_personal_data_by_name_keep_their_real_values(runner, tmp_path):
    """A trial's 394-level ``city`` column came out of the copula with no real value in it (SDV's metadata
    detection gives it sdtype 'city' by name and fills it with Faker values) and the run was blocked. The
    copula now models such columns from their values; only a column declared open gets made-up values."""
    rng = np.random.default_rng(3)
    source = good_frame().assign(email=_emails(ROWS), city=rng.choice([f"{SENTINEL}-town{i}" for i in range(12)], ROWS),
                                 first_name=rng.choice([f"{SENTINEL}-Ann", f"{SENTINEL}-Bob"], ROWS))
    pipeline = _pipeline(_write(tmp_path, source))

    run = _run(runner, pipeline)

    assert run.success, why(run)
    synthetic = runner.read(pipeline, Stage.SYNTHETIC, 1)
    for column in ("email", "city", "first_name"):
        assert set(synthetic[column]) <= set(source[column]), column
    [record] = [r for r in run.stages if r.stage == Stage.SYNTHETIC]
    assert record.metadata["sdtypes_replaced"] == {
        "email": "email -> categorical", "city": "city -> categorical", "first_name": "first_name -> categorical"}


def test_a_generator_of_ones_own_that_lets_sdv_fake_a_column_is_told_the_likely_cause():
    """A team's own SDV fit with SDV's detected metadata (real GaussianCopula) makes every ``city`` value up:
    blocked, and the message names SDV's sdtype detection by column name and how to turn it off."""
    import warnings

    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    rng = np.random.default_rng(4)
    fit = good_frame(60).assign(city=rng.choice([f"{SENTINEL}-town{i}" for i in range(30)], 60))
    metadata = Metadata.detect_from_dataframes({"t": fit}, infer_keys=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesizer = GaussianCopulaSynthesizer(metadata)
        synthesizer.fit({"t": fit})
        made = synthesizer.sample(20)["t"][list(fit.columns)]
    with pytest.raises(GeneratedDataError) as raised:
        validate_generated_rows(made, fit, generator="mine", label_column="label", fitted_on="t/fit[1]",
                                alternative="use another generator", open_setting=ASSET_OPEN_SETTING)
    message = str(raised.value)
    assert "column 'city': 20 of 20 values are not among the fit input's values" in message
    assert "every generated value is new" in message and "SDV's metadata detection" in message
    assert "metadata.update_column(column_name='city', sdtype='categorical')" in message
    assert "declare it: open_categories=('city',)" in message  # still offered, after the sdtype fix
    assert SENTINEL not in message


@pytest.mark.parametrize("values", [
    pytest.param(lambda rng, n: rng.uniform(-1, 1, n) * 1.7e308, id="huge-of-both-signs"),
    pytest.param(lambda rng, n: (2**63 - 1 - rng.integers(0, 1000, n)).astype("int64"), id="int64-near-its-maximum"),
    pytest.param(lambda rng, n: (2**62 + rng.integers(0, 1000, n)).astype("int64"), id="int64-beyond-2-to-the-53"),
])
def test_smote_interpolates_extreme_numbers_between_their_real_rows(values, runner, tmp_path):
    """SMOTE used to fail on these (its neighbour search got NaN) or make values outside the column (int64 wrapped)."""
    source = good_frame(48, minority=12).assign(x=values(np.random.default_rng(5), 48))
    pipeline = _pipeline(_write(tmp_path, source))

    run = _run(runner, pipeline, stages=[*REAL_STAGES, Stage.AUGMENTED])

    assert run.success, why(run)
    arrivals, augmented = runner.read(pipeline, Stage.REAL_ARRIVALS, 1), runner.read(pipeline, Stage.AUGMENTED, 1)
    assert len(augmented) > 0
    assert augmented["x"].dtype == source["x"].dtype
    assert np.isfinite(augmented["x"].astype("float64")).all()
    minority = arrivals.loc[arrivals["label"] == f"{SENTINEL}-yes", "x"]
    assert augmented["x"].between(minority.min(), minority.max()).all()
    [record] = [r for r in run.stages if r.stage == Stage.AUGMENTED]
    assert record.metadata["generated_rows_repaired"] == []


def test_a_spec_cannot_declare_the_label_open(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text("name: churn\nlabel_column: churned\nreal_source: {path: customers.csv}\n"
                    "synthesizer: {open_categories: [churned]}\n")
    with pytest.raises(SynthPipelineError, match="may not name the label column 'churned'"):
        load_spec(path)


# -- the validator on frames -----------------------------------------------------------------------------


def fit_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "x": [0.5, 1.5, 2.5, 3.5],
        "n": np.array([1, 2, 3, 4], dtype="int64"),
        "flag": [True, False, True, False],
        "c": [f"{SENTINEL}-a", f"{SENTINEL}-b", f"{SENTINEL}-a", f"{SENTINEL}-b"],
        "when": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"]),
        "label": [0, 1, 0, 1],
    })


def validate(rows: pd.DataFrame, fit: pd.DataFrame | None = None, **options: Any):
    return validate_generated_rows(
        rows, fit_frame() if fit is None else fit, generator="testgen", label_column="label",
        fitted_on="test/fit[1]", alternative="use another generator", **options,
    )


def _with(**columns: Any) -> Callable[[], pd.DataFrame]:
    def make() -> pd.DataFrame:
        frame = fit_frame()
        for name, value in columns.items():
            frame[name] = value(frame) if callable(value) else value
        return frame

    return make


PROBLEMS = [
    pytest.param(lambda: fit_frame().drop(columns="n"), ("no column(s) ['n']", "return exactly the columns"),
                 id="missing-column"),
    pytest.param(_with(extra=1.0), ("column(s) the fit input does not have ['extra']",), id="extra-column"),
    pytest.param(lambda: fit_frame().rename(columns={"n": "count"}),
                 ("the fit input does not have ['count']; no column(s) ['n'] (renamed?)",), id="renamed-column"),
    pytest.param(lambda: pd.concat([fit_frame(), fit_frame()[["x"]]], axis=1), ("duplicate column name(s) ['x']",),
                 id="duplicate-column"),
    pytest.param(_with(x=[0.5, np.nan, np.nan, 1.0]),
                 ("column 'x': 2 of 4 values are missing (e.g. nan) where the 4 fit rows have none",
                  "fix: use another generator"), id="nan-where-the-fit-input-had-none"),
    pytest.param(_with(x=[np.inf, 1.0, -np.inf, np.inf]),
                 ("column 'x': 3 of 4 values are infinite (2 +inf, 1 -inf; e.g. inf) where the fit rows have none",),
                 id="infinite-values"),
    pytest.param(_with(when=pd.to_datetime(["2020-01-01", None, "2020-01-03", "2020-01-04"])),
                 ("column 'when': 1 of 4 values are missing (e.g. NaT)",), id="nat-in-a-datetime-column"),
    pytest.param(_with(c=["blue", f"{SENTINEL}-a", "green", "blue"]),
                 ("column 'c': 3 of 4 values are not among the fit input's values (2 distinct, e.g. blue)",
                  "declare it: synthesizer.open_categories: ['c']"), id="invented-categories"),
    pytest.param(_with(label=[0, 1, 2, 1]),
                 ("column 'label': 1 of 4 values are not among the fit input's classes (1 distinct, e.g. 2)",
                  "the label may only hold the classes it was fitted on"), id="unknown-class"),
    pytest.param(_with(c=lambda f: f["c"].where(f.index > 0, "z" * 100)),
                 (f"e.g. {'z' * (EXAMPLE_CHARS - 3)}...)",), id="long-example-cut"),
    pytest.param(_with(flag=pd.Series(["yes", False, True, False], dtype=object)),
                 ("column 'flag': 1 of 4 values are not among the fit input's values (1 distinct, e.g. yes)",),
                 id="bool-column-with-text"),
    pytest.param(_with(flag=pd.Series([1, 0, 1, 0], dtype=object)),
                 ("column 'flag': 4 of 4 values are not among the fit input's values",), id="bool-column-as-0-and-1"),
    pytest.param(_with(n=[1.0, 2.5, 3.0, 4.0]),
                 ("column 'n': dtype float64, the fit input's is int64: 1 of 4 values are not whole numbers (e.g. 2.5)",
                  "give the column a dtype testgen keeps"), id="fractions-in-an-integer-column"),
    pytest.param(_with(n=[1.0, 2.0, 9.3e18, 4.0]), ("column 'n': dtype float64, the fit input's is int64: 1 values are "
                                                    "outside int64's range (e.g. 9.3e+18)",),
                 id="float-beyond-int64"),
    pytest.param(_with(when=lambda f: f["when"].dt.tz_localize("UTC")),
                 ("column 'when': dtype datetime64[ns, UTC], the fit input's is datetime64[ns]: the values cannot "
                  "be cast",), id="time-zone-added"),
]


@pytest.mark.parametrize(("make", "expect"), PROBLEMS)
def test_rows_that_do_not_fit_are_rejected_with_the_column_problem_and_fix(make, expect):
    with pytest.raises(GeneratedDataError) as raised:
        validate(make())
    message = str(raised.value)
    assert message.startswith("testgen made 4 rows that do not fit the 4 rows it was fitted on (test/fit[1]); "
                              "nothing was stored. "), message
    for fragment in expect:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert SENTINEL not in message, message


def test_every_problem_is_named_at_once():
    rows = fit_frame().assign(x=[np.nan, 1.0, 1.0, 1.0], c=["new", f"{SENTINEL}-a", f"{SENTINEL}-a", f"{SENTINEL}-a"])
    with pytest.raises(GeneratedDataError, match=r"column 'x': 1 of 4 values are missing .*; column 'c': 1 of 4"):
        validate(rows)


def test_rows_that_fit_pass_unchanged_with_no_repair():
    rows = fit_frame().iloc[[3, 1, 0]].reset_index(drop=True)
    validated = validate(rows)
    assert validated.rows is rows and validated.repairs == []
    assert validate(rows.iloc[0:0]).repairs == []


def test_missing_values_are_allowed_where_the_fit_input_has_them():
    fit = fit_frame().assign(x=[0.5, np.nan, 2.5, 3.5], c=[f"{SENTINEL}-a", None, f"{SENTINEL}-a", f"{SENTINEL}-b"])
    rows = fit_frame().assign(x=[np.nan] * 4, c=[None] * 4)
    assert validate(rows, fit).repairs == []


def test_a_declared_open_column_may_hold_new_values_but_the_label_never():
    rows = fit_frame().assign(c=["new-1", "new-2", f"{SENTINEL}-a", "new-3"])
    assert validate(rows, open_columns=["c"]).repairs == []
    with pytest.raises(GeneratedDataError, match="column 'label': 1 of 4 values are not among the fit input's classes"):
        validate(fit_frame().assign(label=[0, 1, 7, 1]), open_columns=["label"])


REPAIRS = [
    pytest.param(_with(n=[1.0, 2.0, 3.0, 4.0]), "n", "cast float64 -> int64 (4 values, all whole numbers within int64)",
                 id="integer-column-as-integral-floats"),
    pytest.param(_with(n=pd.array([1, 2, 3, 4], dtype="Int64")), "n", "cast Int64 -> int64", id="nullable-integer"),
    pytest.param(_with(flag=pd.Series([True, False, False, True], dtype=object)), "flag",
                 "cast object -> bool (all values True or False)", id="bool-column-as-object"),
    pytest.param(_with(c=lambda f: f["c"].astype("string")), "c", "cast string -> object", id="text-as-string-dtype"),
    pytest.param(_with(when=lambda f: f["when"].astype("datetime64[us]")), "when",
                 "cast datetime64[us] -> datetime64[ns]", id="datetime-in-another-unit"),
    pytest.param(_with(label=[0.0, 1.0, 1.0, 0.0]), "label", "cast float64 -> int64", id="label-as-floats"),
]


@pytest.mark.parametrize(("make", "column", "action"), REPAIRS)
def test_a_dtype_the_generator_changed_is_cast_back_and_recorded(make, column, action):
    rows = make()
    validated = validate(rows)
    [repair] = validated.repairs
    assert repair.column == column and repair.action.startswith(action), repair
    assert validated.rows.dtypes.to_dict() == fit_frame().dtypes.to_dict()
    assert validated.rows[column].astype(object).tolist() == rows[column].astype(object).tolist()
    assert validated.metadata()["generated_rows_repaired"].data == [{"column": column, "action": repair.action}]


def test_reordered_columns_are_put_back_in_order():
    fit = fit_frame()
    validated = validate(fit[list(reversed(fit.columns))])
    assert list(validated.rows.columns) == list(fit.columns)
    assert [r.action for r in validated.repairs] == ["columns reordered to the fit input's order"]


def test_a_cast_that_would_make_infinite_values_is_not_a_repair():
    fit = pd.DataFrame({"x": np.array([1.0, 2.0], dtype="float32"), "label": [0, 1]})
    rows = pd.DataFrame({"x": [1.0, 1e39], "label": [0, 1]})
    with pytest.raises(GeneratedDataError, match="casting to float32 would turn values into missing or infinite ones"):
        validate(rows, fit)


def test_values_outside_the_fit_range_are_rejected_for_interpolating_generators():
    rows = fit_frame().assign(n=np.array([1, 2, -(2**63), 4], dtype="int64"),
                              when=lambda f: f["when"] + pd.Timedelta("9D"))
    assert validate(rows).repairs == []  # synthesizers may go beyond the range
    with pytest.raises(GeneratedDataError) as raised:
        validate(rows, within_fit_range=True)
    message = str(raised.value)
    assert "column 'n': 1 of 4 values lie outside the range of the fit input's values (e.g. -9223372036854775808), " \
           "which testgen interpolates between" in message
    assert "column 'when': 4 of 4 values lie outside the range" in message


@pytest.mark.parametrize(("values", "hazard"), [
    (pd.Series([1e308, 2e300]), "its magnitude goes beyond 1e150, where squares and variances overflow float64"),
    (pd.Series([-1e200, 1.0]), "its magnitude goes beyond 1e150"),
    (pd.Series([5e-324, 0.0, 1e-310]), "non-zero values below 1e-150, whose squares underflow float64 to zero"),
    (pd.Series(np.array([2**62, 1], dtype="int64")), "its integers go beyond 2**53"),
    (pd.Series([0.0, 1e-5, 3e9, np.nan]), None),
    (pd.Series(np.array([2**52, -(2**52)], dtype="int64")), None),
    (pd.Series(["1e308"]), None),
])
def test_scale_hazards_name_the_rescaling_without_quoting_values(values, hazard):
    found = scale_hazard(values)
    assert (found is None) if hazard is None else (hazard in found), found


def test_a_generator_failure_is_explained_only_by_a_hazardous_column():
    fit = pd.DataFrame({"ok": [1.0, 2.0], "x": [1e308, 1.5e308], "n": np.array([2**62, 1], dtype="int64")})
    error = ValueError("array must not contain infs or NaNs")
    explained = explain_fit_failure(error, fit, generator="ctgan", alternative="use tvae")
    assert isinstance(explained, GeneratedDataError)
    assert str(explained) == (
        "ctgan failed on the 2 rows it was fitted on (ValueError: array must not contain infs or NaNs); nothing "
        "was stored. The likely cause: column 'x': rescale the column in the source: its magnitude goes beyond "
        "1e150, where squares and variances overflow float64 (divide it by a power of ten, or take its logarithm); "
        "or use tvae"
    )
    assert explain_fit_failure(error, fit[["ok", "n"]], generator="ctgan", alternative="use tvae") is None


# -- SMOTE's arithmetic on extreme numbers ---------------------------------------------------------------


def _minority_frame(x: np.ndarray) -> pd.DataFrame:
    rows = len(x)
    return pd.DataFrame({"a": np.random.default_rng(1).normal(size=rows), "x": x,
                         "label": ["big"] * (rows - rows // 3) + ["small"] * (rows // 3)})


@pytest.mark.parametrize("x", [
    pytest.param(np.random.default_rng(2).uniform(-1, 1, 30) * 1.7e308, id="huge-of-both-signs"),
    pytest.param(np.random.default_rng(2).uniform(1e307, 1.7e308, 30), id="near-float-max"),
    pytest.param(np.random.default_rng(2).integers(1, 100, 30) * 5e-324, id="subnormal"),
    pytest.param(np.where(np.arange(30) % 2, 2**63 - 1 - np.arange(30), -(2**63) + np.arange(30)).astype("int64"),
                 id="int64-at-both-ends"),
    pytest.param((2**62 + np.random.default_rng(2).integers(0, 1000, 30)).astype("int64"),
                 id="int64-beyond-2-to-the-53"),
])
def test_smote_keeps_each_value_between_its_base_and_neighbour(x):
    rows = _minority_frame(x)
    made, sources = smote_oversample(rows, label_column="label", target_ratio=1.0, k_neighbors=3, seed=0)
    assert len(made) == 10 and made["x"].dtype == rows["x"].dtype
    base, neighbour = rows["x"].to_numpy()[sources[:, 0]], rows["x"].to_numpy()[sources[:, 1]]
    values = made["x"].to_numpy()
    assert ((values >= np.minimum(base, neighbour)) & (values <= np.maximum(base, neighbour))).all()
    validate_generated_rows(made, rows, generator="smote", label_column="label", fitted_on="test", alternative="-",
                            within_fit_range=True)


def test_smote_leaves_an_integer_missing_where_its_base_or_neighbour_is():
    x = pd.array([None if i % 4 == 0 else 2**62 + i for i in range(30)], dtype="Int64")
    rows = _minority_frame(np.zeros(30)).assign(x=x)
    made, sources = smote_oversample(rows, label_column="label", target_ratio=1.0, k_neighbors=3, seed=0)
    either_missing = rows["x"].isna().to_numpy()[sources].any(axis=1)
    assert made["x"].dtype == "Int64"
    assert (made["x"].isna().to_numpy() == either_missing).all()


@pytest.mark.parametrize(("open_setting", "advised", "not_advised"), [
    pytest.param(ASSET_OPEN_SETTING, "declare it: open_categories=('c',) in provenance_asset / Provenance",
                 "synthesizer.open_categories", id="team-asset"),
    pytest.param(None, "fix: drop the column, or use another generator", "open_categories", id="smote-no-setting"),
])
def test_invented_values_name_the_setting_this_user_has_or_none(open_setting, advised, not_advised):
    """The open-columns advice named the template spec's field to a team's own asset, and was given for SMOTE,
    which has no such setting (review findings)."""
    made = _with(c=["blue", f"{SENTINEL}-a", "green", "blue"])()
    with pytest.raises(GeneratedDataError) as raised:
        validate(made, open_setting=open_setting)
    assert advised in str(raised.value) and not_advised not in str(raised.value)


def test_a_team_generator_inventing_values_is_told_its_own_declaration(tmp_path):
    """End to end through @provenance_asset: the fix names the decorator's open_categories."""
    import dagster as dg

    from synth_pipeline import pipeline_resources, provenance_asset, user_columns

    @provenance_asset(pipeline="t", role="real_source", label_column="label")
    def source() -> pd.DataFrame:
        return fit_frame()

    @provenance_asset(pipeline="t", role="synthetic", label_column="label", generator="llm", fitted_on="source")
    def made(source: pd.DataFrame) -> pd.DataFrame:
        return source[user_columns(source)].assign(c=[f"{SENTINEL}-{i}" for i in range(len(source))])

    with pytest.raises(GeneratedDataError, match=r"declare it: open_categories=\('c',\) in provenance_asset"):
        dg.materialize([source, made], resources=pipeline_resources(str(tmp_path)),
                       tags={"synth_pipeline/generation": "1"})
    assert not list((tmp_path / "made").rglob("*.parquet"))


@pytest.mark.parametrize(("make", "named"), [
    pytest.param(_with(c=["blue", "green", "blue", "red"]), True, id="every-text-value-new"),
    pytest.param(_with(c=["blue", f"{SENTINEL}-a", "green", "blue"]), False, id="some-text-values-new"),
    pytest.param(_with(flag=pd.Series([1, 0, 1, 0], dtype=object)), False, id="bool-as-0-and-1"),
])
def test_the_made_up_cause_is_named_only_when_every_text_value_is_new(make, named):
    with pytest.raises(GeneratedDataError) as raised:
        validate(make())
    assert ("every generated value is new" in str(raised.value)) is named
