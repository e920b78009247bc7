"""Column types and CSV formats at ingestion, through the entry point a user hits (a Dagster run).

- A column type the generators cannot take fails the reading stage, before anything is stored, with a
  message naming the file, the column and the fix (checked with ``test_bad_input``'s leave-nothing-behind
  checks).
- A type with a lossless form they take is converted; the stage's ``converted_columns`` metadata records
  it, and a whole generation (Gaussian copula, quality checks on) completes on it. CTGAN and TVAE fit and
  sample every accepted type, and their rows survive storing (row hashes still match), so the choice of
  synthesizer cannot turn an accepted source into a late failure.
- A delimited file is split by its own delimiter (``;``, tab, ``|``; a decimal comma; a byte-order mark;
  Windows line endings), recorded in the ``csv_format`` metadata; a one-column file stays one column.

The decisions themselves are the table in :mod:`synth_pipeline.column_types`.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import test_bad_input as bad
from test_bad_input import SENTINEL, ConfigCase, DataCase, good_frame, loader

from conftest import FAST_SYNTHESIZER, why
from synth_pipeline import SourceSpec, SynthesizerSpec, SynthPipelineSpec, SynthPolicy, build_synth_pipeline
from synth_pipeline.config_bounds import MAX_ROWS, MAX_SPREAD_RATIO
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import ProvenanceKind, provenance_problems, tag_rows
from synth_pipeline.sources import read_source
from synth_pipeline.synthesizers import synthesize

ROWS = bad.ROWS
# Every limit at its loosest: on these tiny data only a crash (a failed step or check evaluation) fails a run.
LENIENT = SynthPolicy(
    max_synthetic_fraction=1.0, max_class_synthetic_fraction=1.0, max_minority_class_synthetic_fraction=1.0,
    max_synthetic_fraction_growth=1.0, min_holdout_rows=1, max_holdout_near_copies=MAX_ROWS, min_tstr_trtr_ratio=0.0,
    min_quality_score=0.0, max_adversarial_auc=1.0, max_exact_copy_fraction=1.0, max_dcr_share=1.0,
    max_membership_auc=1.0, min_variance_ratio=0.0, min_category_coverage=0.0, min_tail_coverage=0.0,
    min_distinct_row_ratio=0.0, max_variance_ratio=MAX_SPREAD_RATIO, max_tail_coverage=MAX_SPREAD_RATIO,
)


def cycle(values: list, rows: int = ROWS) -> list:
    """``values`` repeated to ``rows`` items."""
    return [values[i % len(values)] for i in range(rows)]


def arrow_parquet(columns: Callable[[int], dict[str, pa.Array]], name: str = "real.parquet", rows: int = ROWS,
                  base: Callable[[int], pd.DataFrame] = good_frame):
    """A Parquet file of ``base(rows)`` plus pyarrow columns (types pandas does not write itself)."""

    def write(directory: Path) -> SourceSpec:
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(base(rows), preserve_index=False)
        for column, values in columns(rows).items():
            table = table.append_column(column, values)
        path = directory / name
        pq.write_table(table, path)
        return SourceSpec(path=str(path))

    return write


def delimited(frame: Callable[[], pd.DataFrame], name: str, sep: str, *, decimal_mark: str = ".", bom: bool = False,
              crlf: bool = False, delimiter: str = "auto"):
    """A delimited text file of ``frame()``, written as a spreadsheet would export it."""

    def write(directory: Path) -> SourceSpec:
        path = directory / name
        text = frame().to_csv(index=False, sep=sep, decimal=decimal_mark, lineterminator="\r\n" if crlf else "\n")
        path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
        return SourceSpec(path=str(path), delimiter=delimiter)

    return write


def _stage_metadata(run, stage: Stage) -> dict:
    return {record.stage: record.metadata for record in run.stages}[stage.value]


# -- rejected types: the reading stage fails and nothing is stored -------------------------------------------

DURATIONS = pd.to_timedelta(np.arange(ROWS), unit="min")


def arrow_column(values: list, arrow_type: pa.DataType | None = None, name: str = "real.parquet"):
    """A Parquet file of :func:`good_frame` plus column ``d`` of ``values`` (cycled) as ``arrow_type``."""
    return arrow_parquet(lambda n: {"d": pa.array(cycle(values, n), arrow_type)}, name)


LONG_DECIMAL = decimal.Decimal("0.12345678901234567891")
TWO_ZONES = pd.Series(cycle([pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2020-01-01", tz="Asia/Tokyo")]),
                      dtype=object)
FAR_STAMP = np.datetime64("3000-01-01", "us")
NS_RANGE = "outside 1677-09-21 to 2262-04-11"

REJECTED = [
    pytest.param(DataCase(bad.parquet(bad.with_column(d=DURATIONS)),
                          ("real.parquet: column 'd' holds durations (timedelta64[ns])",
                           "frame['d'] = frame['d'].dt.total_seconds()", "write the file again")), id="duration"),
    pytest.param(DataCase(arrow_column([LONG_DECIMAL], pa.decimal128(38, 20)),
                          ("real.parquet: column 'd' holds 40 decimal value(s) (of 40) that float64 cannot hold "
                           "exactly", "round them")), id="decimal-beyond-float64"),
    pytest.param(DataCase(arrow_column([b"\xff" + SENTINEL.encode(), None], pa.binary()),
                          ("real.parquet: column 'd' holds binary values, 20 of 20 not UTF-8 text",
                           "drop the column, or encode it as text")), id="binary-not-utf8"),
    pytest.param(DataCase(arrow_column([dt.time(9, 30), dt.time(17)], pa.time64("us")),
                          ("real.parquet: column 'd' holds times of day (object (time))", "seconds since midnight")),
                 id="time-of-day"),
    pytest.param(DataCase(bad.parquet(bad.with_column(d=pd.array(cycle([2**62 + 1, None, 2**62 + 3]), "Int64"))),
                          ("real.parquet: column 'd' holds 27 integer(s) beyond ±2**53 (Int64), with 13 missing "
                           "value(s): no column type keeps them exact", "fill the gaps",
                           "make it text (frame['d'] = frame['d'].astype(str))")),
                 id="integers-beyond-2-to-the-53-with-gaps"),
    pytest.param(DataCase(loader(bad.with_column(d=pd.Series(cycle([2**70, 5]), dtype=object))),
                          ("column 'd' holds 20 integer(s) beyond ±2**53 (object (integer)), mixed with fractions or "
                           "beyond 64 bits", "subtract an offset")), id="integers-beyond-64-bits"),
    pytest.param(DataCase(arrow_column([FAR_STAMP]), (f"real.parquet: column 'd' holds timestamps {NS_RANGE} "
                                                      "(datetime64[us])", "move them into that range")),
                 id="timestamp-beyond-2262"),
    pytest.param(DataCase(arrow_column([dt.date(9999, 12, 31)], pa.date32()),
                          (f"column 'd' holds dates {NS_RANGE} (object (date))", "move them into that range")),
                 id="date-beyond-2262"),
    pytest.param(DataCase(bad.parquet(bad.with_column(d=pd.period_range("2020-01", periods=ROWS, freq="M"))),
                          ("column 'd' holds periods (period[M])", "frame['d'].dt.to_timestamp()")), id="period"),
    pytest.param(DataCase(bad.parquet(bad.with_column(d=pd.arrays.IntervalArray.from_breaks(np.arange(ROWS + 1)))),
                          ("column 'd' holds intervals (interval[int64, right])", "frame['d'].array.left")),
                 id="interval"),
    pytest.param(DataCase(loader(bad.with_column(d=np.arange(ROWS) + 1j)),
                          ("loader ", "column 'd' holds complex numbers (complex128)", "split it into two columns")),
                 id="complex"),
    pytest.param(DataCase(loader(bad.with_column(d=TWO_ZONES)),
                          ("column 'd' holds timestamps of different time zones",
                           "pd.to_datetime(frame['d'], utc=True)")), id="mixed-time-zones"),
    pytest.param(DataCase(bad.parquet(bad.with_column(d=DURATIONS, e=[dt.time(9, 30)] * ROWS)),
                          ("column 'd' holds durations", "; column 'e' holds times of day")),
                 id="every-problem-at-once"),
    pytest.param(DataCase(bad.parquet(bad.with_column(d=DURATIONS), name="vendor.parquet"),
                          ("vendor.parquet: column 'd' holds durations",), via="unknown"),
                 id="unknown-source-duration"),
    pytest.param(DataCase(arrow_column([b"\xfe\xff"], pa.binary(), "new.parquet"),
                          ("new.parquet: column 'd' holds binary values",), via="launch"), id="launch-file-binary"),
]


@pytest.mark.parametrize("case", REJECTED)
def test_types_the_generators_cannot_take_fail_at_ingestion(case, runner, tmp_path, monkeypatch):
    bad._data_case(case, runner, tmp_path, monkeypatch)


# -- converted types: recorded, and a whole generation runs on them ------------------------------------------


@dataclass(frozen=True)
class Converted:
    """A source whose columns are converted: (column, type read, type stored) of each; and the generator."""

    write: Callable[[Path], SourceSpec]
    conversions: tuple[tuple[str, str, str], ...]
    synthesizer: SynthesizerSpec = FAST_SYNTHESIZER


def _parquet_columns(rows: int) -> dict[str, pa.Array]:
    days = [dt.date(2020, 1, 1) + dt.timedelta(days=i % 9) for i in range(rows)]
    return {
        "price": pa.array(cycle([decimal.Decimal("19.99"), decimal.Decimal("0.10"), None, decimal.Decimal("7")], rows),
                          pa.decimal128(10, 2)),
        "blob": pa.array(cycle([f"{SENTINEL}-é".encode(), f"{SENTINEL}-b".encode(), None], rows), pa.binary()),
        "colour": pa.array(cycle([f"{SENTINEL}-red", f"{SENTINEL}-blue", None], rows)).dictionary_encode(),
        "day": pa.array(days, pa.date32()),
        "stamp": pa.array(np.array(days, dtype="datetime64[ms]")),
        "stamp_tz": pa.array(np.array(days, dtype="datetime64[us]"), pa.timestamp("us", tz="UTC")),
    }


def _pandas_typed(rows: int) -> dict[str, object]:
    return {
        "half": np.linspace(0, 4, rows).astype("float16"),
        "count": pd.array(cycle([1, None, 3, 7], rows), "Int64"),
        "share": pd.array(cycle([0.5, None, 0.25], rows), "Float64"),
        "flag": pd.array(cycle([True, False, False], rows), "boolean"),
        "name": pd.array(cycle([f"{SENTINEL}-x", None, f"{SENTINEL}-y"], rows), "string[pyarrow]"),
    }


# One Parquet file with pandas extension-typed columns and pyarrow-typed ones.
_typed_parquet = arrow_parquet(_parquet_columns, base=lambda rows: good_frame(rows).assign(**_pandas_typed(rows)))


def _loader_frame() -> pd.DataFrame:
    days = [dt.datetime(2020, 1, 1) + dt.timedelta(days=i % 9) for i in range(ROWS)]
    return good_frame().assign(
        ints=pd.Series(cycle([1, 2, None, 4]), dtype=object),
        numbers=pd.Series(cycle([1, 2.5, 3]), dtype=object),
        when=pd.Series(days, dtype=object),
        flag=pd.Series(cycle([True, None, False]), dtype=object),
        sparse=pd.arrays.SparseArray(cycle([0.0, 0.0, 1.5])),
        arrow_int=pd.array(cycle([1, None, 5]), pd.ArrowDtype(pa.int64())),
        arrow_stamp=pd.array(days, pd.ArrowDtype(pa.timestamp("ms"))),
        arrow_decimal=pd.array(cycle([decimal.Decimal("1.5"), decimal.Decimal("2.25")]),
                               pd.ArrowDtype(pa.decimal128(5, 2))),
        codes=pd.Categorical(cycle([3, 1, 2])),
    )


def _european_frame() -> pd.DataFrame:
    return good_frame().assign(flag=pd.Series(cycle([True, None, False]), dtype=object))


PARQUET_CONVERSIONS = (
    ("half", "float16", "float64"),
    ("count", "Int64", "float64"),
    ("share", "Float64", "float64"),
    ("flag", "boolean", "bool"),
    ("name", "string", "object (string)"),
    ("price", "object (decimal)", "float64"),
    ("blob", "object (bytes)", "object (string)"),
    ("colour", "category", "object (string)"),
    ("day", "object (date)", "datetime64[ns]"),
    ("stamp", "datetime64[ms]", "datetime64[ns]"),
    ("stamp_tz", "datetime64[us, UTC]", "datetime64[ns, UTC]"),
)

CONVERTED = [
    pytest.param(Converted(_typed_parquet, PARQUET_CONVERSIONS), id="parquet"),
    pytest.param(Converted(_typed_parquet, PARQUET_CONVERSIONS, SynthesizerSpec(method="ctgan", params={"epochs": 1})),
                 id="parquet-ctgan"),
    pytest.param(Converted(_typed_parquet, PARQUET_CONVERSIONS, SynthesizerSpec(method="tvae", params={"epochs": 1})),
                 id="parquet-tvae"),
    pytest.param(Converted(loader(_loader_frame), (
        ("ints", "object (integer)", "float64"),
        ("numbers", "object (mixed-integer-float)", "float64"),
        ("when", "object (datetime)", "datetime64[ns]"),
        ("flag", "object (boolean)", "boolean"),
        ("sparse", "Sparse[float64, nan]", "float64"),
        ("arrow_int", "int64[pyarrow]", "float64"),
        ("arrow_stamp", "timestamp[ms][pyarrow]", "datetime64[ns]"),
        ("arrow_decimal", "decimal128(5, 2)[pyarrow]", "float64"),
        ("codes", "category", "int64"),
    )), id="loader"),
    # A European spreadsheet export: ';', decimal commas, a byte-order mark, Windows line endings, and a
    # column of booleans with empty cells (stored, a part without gaps read back as bool and failed its hashes).
    pytest.param(Converted(delimited(_european_frame, "real.csv", ";", decimal_mark=",", bom=True, crlf=True), (
        ("flag", "object (boolean)", "boolean"),
    )), id="european-csv"),
]


@pytest.mark.parametrize("case", CONVERTED)
def test_converted_types_are_recorded_and_a_generation_runs_on_them(case, runner, tmp_path, monkeypatch):
    inputs = bad._inputs(tmp_path)
    monkeypatch.syspath_prepend(str(inputs))  # for the loader
    pipeline = build_synth_pipeline(SynthPipelineSpec(
        name="typed", label_column="label", real_source=case.write(inputs), synthesizer=case.synthesizer,
    ))

    [run] = runner.run(pipeline, [1], policy=LENIENT, quality_checks=True)

    assert run.success, why(run)
    recorded = _stage_metadata(run, Stage.REAL_SOURCE)["converted_columns"]
    assert [(r["column"], r["from"], r["to"]) for r in recorded] == list(case.conversions)
    stored = runner.read(pipeline, Stage.REAL_SOURCE)
    synthetic = runner.read(pipeline, Stage.SYNTHETIC, 1)
    mix = runner.read(pipeline, Stage.TRAINING_MIX, 1)
    for column, _, to_type in case.conversions:
        assert str(stored[column].dtype) == to_type.removesuffix(" (string)"), column
        assert synthetic[column].dtype == stored[column].dtype == mix[column].dtype, column
    assert not any(SENTINEL in str(value) for value in recorded)


# -- CTGAN and TVAE take every accepted type -----------------------------------------------------------------


def _one_column(column: str, values: Callable[[int], object], via: str = "parquet"):
    """A source of 50 rows of :func:`good_frame` plus ``column``."""
    rows = 50

    def frame() -> pd.DataFrame:
        return good_frame(rows).assign(**{column: values(rows)})

    if via == "loader":
        return loader(frame)
    if via == "arrow":
        return arrow_parquet(lambda n: {column: values(n)}, rows=rows)
    return bad.parquet(frame)


ACCEPTED = {
    # converted at ingestion
    "decimal": _one_column("x", lambda n: pa.array(cycle([decimal.Decimal("1.25"), decimal.Decimal("0.1"), None], n),
                                                   pa.decimal128(10, 2)), "arrow"),
    "binary-utf8": _one_column("x", lambda n: pa.array(cycle([b"a", b"b", b"c", None], n), pa.binary()), "arrow"),
    "category": _one_column("x", lambda n: pd.Categorical(cycle(["a", "b", None], n))),
    "date": _one_column("x", lambda n: pa.array([dt.date(2020, 1, 1 + i % 20) for i in range(n)], pa.date32()),
                        "arrow"),
    "timestamp-ms": _one_column("x", lambda n: pa.array(np.datetime64("2020-01-01", "ms")
                                                        + np.arange(n).astype("timedelta64[D]")), "arrow"),
    "float16": _one_column("x", lambda n: np.linspace(0, 3, n).astype("float16")),
    "Int64-with-gaps": _one_column("x", lambda n: pd.array(cycle([1, None, 5, 9], n), "Int64")),
    "Float64-with-gaps": _one_column("x", lambda n: pd.array(cycle([1.5, None, 2.0], n), "Float64")),
    "string-pyarrow": _one_column("x", lambda n: pd.array(cycle(["a", None, "b"], n), "string[pyarrow]")),
    "object-booleans-with-gaps": _one_column("x", lambda n: pd.Series(cycle([True, None, False], n), dtype=object),
                                             "loader"),
    "object-integers": _one_column("x", lambda n: pd.Series(cycle([1, 2, 3], n), dtype=object), "loader"),
    "object-datetimes": _one_column("x", lambda n: pd.Series([dt.datetime(2020, 1, 1 + i % 20) for i in range(n)],
                                                             dtype=object), "loader"),
    "arrow-backed": _one_column("x", lambda n: pd.array(cycle([1, None, 5], n), pd.ArrowDtype(pa.int64())), "loader"),
    "sparse": _one_column("x", lambda n: pd.arrays.SparseArray(cycle([0.0, 1.5], n)), "loader"),
    # accepted as they are
    "boolean-with-gaps": _one_column("x", lambda n: pd.array(cycle([True, None, False], n), "boolean")),
    "datetime-time-zone": _one_column("x", lambda n: pd.date_range("2020-01-01", periods=n, tz="Europe/Berlin")),
    "uint64": _one_column("x", lambda n: np.arange(n, dtype="uint64")),
    "int8": _one_column("x", lambda n: np.arange(n, dtype="int8"), "loader"),
    "float32": _one_column("x", lambda n: np.linspace(-1, 1, n).astype("float32")),
}


@pytest.mark.parametrize("write", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_ctgan_and_tvae_fit_and_sample_every_accepted_type(write, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))  # for the loader
    data = read_source(write(tmp_path), label_column="label")  # the stages' ingestion, conversions included
    fit = data.frame
    for method in ("ctgan", "tvae"):
        rows = synthesize(fit, label_column="label", method=method, params={"epochs": 1}, num_rows=20, seed=0).rows
        assert len(rows) == 20 and rows["x"].dtype == fit["x"].dtype, (method, rows["x"].dtype)
        sampled, real = rows["x"].dropna(), fit["x"].dropna()
        assert len(sampled), method  # e.g. float16 was sampled as all-NaN
        if pd.api.types.is_bool_dtype(real) or pd.api.types.is_object_dtype(real):  # categories
            assert set(sampled) <= set(real), method
        else:  # numbers and timestamps: SDV keeps them within the fitted range
            assert real.min() <= sampled.min() and sampled.max() <= real.max(), (method, sampled.min(), sampled.max())
        # the rows survive storing: their row hashes still match once read back
        stored = tmp_path / f"{method}.parquet"
        tag_rows(rows, kind=ProvenanceKind.SYNTHETIC, generation=1, dataset="t/synthetic", depth=1).to_parquet(stored)
        assert provenance_problems(pd.read_parquet(stored)) == [], method


# -- delimited text files ------------------------------------------------------------------------------------


def _quoted_frame() -> pd.DataFrame:
    return good_frame().assign(c=lambda f: f.c + ";x, y|z")  # every candidate delimiter inside quoted text


def _csv_format(delimiter: str, origin: str = "detected", decimal_mark: str = ".") -> dict[str, str]:
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", ":": "':'"}
    return {"delimiter": delimiter, "delimiter_name": names[delimiter], "delimiter_origin": origin,
            "decimal": decimal_mark}


FORMATS = [
    pytest.param(delimited(good_frame, "real.csv", ";"), good_frame, _csv_format(";"), id="semicolon"),
    pytest.param(delimited(good_frame, "real.csv", ";", decimal_mark=","), good_frame,
                 _csv_format(";", decimal_mark=","), id="semicolon-decimal-comma"),
    pytest.param(delimited(good_frame, "real.tsv", "\t"), good_frame, _csv_format("\t"), id="tsv"),
    pytest.param(delimited(good_frame, "real.txt", "\t", decimal_mark=","), good_frame,
                 _csv_format("\t", decimal_mark=","), id="txt-tab-decimal-comma"),
    pytest.param(delimited(good_frame, "real.csv", "|"), good_frame, _csv_format("|"), id="pipe"),
    pytest.param(delimited(good_frame, "real.csv", ",", bom=True, crlf=True), good_frame, _csv_format(","),
                 id="bom-crlf"),
    pytest.param(delimited(good_frame, "real.csv", ";", decimal_mark=",", bom=True, crlf=True), good_frame,
                 _csv_format(";", decimal_mark=","), id="excel-european"),
    pytest.param(delimited(_quoted_frame, "real.csv", ";"), _quoted_frame, _csv_format(";"), id="quoted-delimiters"),
    pytest.param(delimited(good_frame, "real.csv", ";", delimiter=";"), good_frame, _csv_format(";", "spec"),
                 id="set-on-spec"),
]


@pytest.mark.parametrize(("write", "frame", "csv_format"), FORMATS)
def test_delimited_files_are_split_by_their_own_delimiter(write, frame, csv_format, runner, tmp_path):
    pipeline = bad._pipeline(write(bad._inputs(tmp_path)))

    run = bad._run(runner, pipeline, 1, stages=[Stage.REAL_SOURCE])

    assert run.success, why(run)
    assert _stage_metadata(run, Stage.REAL_SOURCE)["csv_format"] == csv_format
    expected = frame()
    pd.testing.assert_frame_equal(runner.read(pipeline, Stage.REAL_SOURCE)[list(expected.columns)], expected)


def test_a_format_and_delimiter_set_on_the_spec_read_any_suffix(runner, tmp_path):
    path = bad._inputs(tmp_path) / "real.dat"
    path.write_text(good_frame().to_csv(index=False, sep=":"))
    pipeline = bad._pipeline(SourceSpec(path=str(path), format="csv", delimiter=":"))

    run = bad._run(runner, pipeline, 1, stages=[Stage.REAL_SOURCE])

    assert run.success, why(run)
    assert _stage_metadata(run, Stage.REAL_SOURCE)["csv_format"] == _csv_format(":", "spec")
    pd.testing.assert_frame_equal(runner.read(pipeline, Stage.REAL_SOURCE)[list(good_frame().columns)], good_frame())


def test_files_given_at_launch_keep_the_spec_delimiter(runner, tmp_path, monkeypatch):
    """A CSV file given at launch is split by the spec source's delimiter; a Parquet file has none to keep."""
    inputs = bad._inputs(tmp_path)
    monkeypatch.setenv(bad.INPUT_DIRS_ENV, str(inputs))
    pipeline = bad._pipeline(delimited(good_frame, "real.csv", ";", delimiter=";")(inputs))
    assert bad._run(runner, pipeline, 1, stages=[Stage.REAL_SOURCE]).success
    later = [delimited(lambda: good_frame(seed=1), "new.csv", ";")(inputs).path,
             bad.parquet(lambda: good_frame(seed=2), "new.parquet")(inputs).path]

    runs = [bad._run(runner, pipeline, generation, stages=[Stage.REAL_SOURCE],
                     stage_config={Stage.REAL_SOURCE: {"path": path}}) for generation, path in enumerate(later, 2)]

    assert all(run.success for run in runs), [why(run) for run in runs]
    assert _stage_metadata(runs[0], Stage.REAL_SOURCE)["csv_format"] == _csv_format(";", "spec")
    assert "csv_format" not in _stage_metadata(runs[1], Stage.REAL_SOURCE)
    pd.testing.assert_frame_equal(runner.read(pipeline, Stage.REAL_SOURCE)[list(good_frame().columns)],
                                  good_frame(seed=2))


def test_integers_beyond_2_to_the_53_are_kept_with_a_warning(runner, tmp_path):
    """Stored exactly (SMOTE and an identifier column keep them so); the warning says generators round them."""
    source = good_frame().assign(d=2**62 + np.arange(ROWS), e=np.arange(ROWS, dtype="uint64") + np.uint64(2**63))
    pipeline = bad._pipeline(bad.parquet(lambda: source)(bad._inputs(tmp_path)))

    run = bad._run(runner, pipeline, 1, stages=[Stage.REAL_SOURCE])

    assert run.success, why(run)
    warnings = _stage_metadata(run, Stage.REAL_SOURCE)["column_warnings"]
    assert sorted(warnings) == ["d", "e"]
    assert warnings["d"].startswith("column 'd' holds 40 integer(s) beyond ±2**53 (int64): kept exact")
    assert "unless it is an identifier column" in warnings["e"]
    pd.testing.assert_frame_equal(runner.read(pipeline, Stage.REAL_SOURCE)[list(source.columns)], source)


def test_a_one_column_file_stays_one_column(runner, tmp_path):
    """A file no delimiter splits is one column, even when its values hold ';' or quoted commas."""
    inputs = bad._inputs(tmp_path)
    single = inputs / "vendor.csv"
    single.write_text("label\n" + "".join(f'"{SENTINEL}-{i % 2};a, b"\n' for i in range(ROWS)))
    good = bad.csv(good_frame, "good.csv")(inputs)
    pipeline = bad._pipeline(good, unknown=SourceSpec(path=str(single)))

    run = bad._run(runner, pipeline, 1, stages=[Stage.UNKNOWN])

    assert run.success, why(run)
    assert _stage_metadata(run, Stage.UNKNOWN)["csv_format"] == _csv_format(",", "default")
    stored = runner.read(pipeline, Stage.UNKNOWN)
    assert stored["label"].tolist() == [f"{SENTINEL}-{i % 2};a, b" for i in range(ROWS)]


def _ragged_semicolons() -> bytes:
    lines = good_frame().to_csv(index=False, sep=";").splitlines()
    lines[7] += ";1"
    return ("\n".join(lines) + "\n").encode()


UNREADABLE = [
    pytest.param(DataCase(bad.raw("real.csv", _ragged_semicolons()),
                          ("cannot parse", "line 8", "every row needs as many semicolon-separated fields as the header",
                           "quote fields that contain semicolons")), id="ragged-semicolon-file"),
    pytest.param(DataCase(delimited(good_frame, "real.csv", ";", delimiter=","),
                          ("real.csv reads as one column 'a;b;c;label' with the comma delimiter (set on the source)",
                           "its header holds semicolons: set delimiter: ';' on the source")),
                 id="delimiter-set-wrongly"),
]


@pytest.mark.parametrize("case", UNREADABLE)
def test_files_split_wrongly_fail_naming_the_delimiter(case, runner, tmp_path, monkeypatch):
    bad._data_case(case, runner, tmp_path, monkeypatch)


SPECS = [
    pytest.param(ConfigCase(bad.GOOD_SPEC.replace("{path: customers.csv}", "{path: customers.csv, delimiter: ';;'}"),
                            "spec", ("line 3: real_source: delimiter must be 'auto' or one character", "got ';;'")),
                 id="delimiter-of-two-characters"),
    pytest.param(ConfigCase(bad.GOOD_SPEC.replace("{path: customers.csv}", "{loader: 'a.b:c', delimiter: ';'}"),
                            "spec", ("real_source: delimiter applies to CSV files only",)), id="delimiter-on-loader"),
    pytest.param(ConfigCase(bad.GOOD_SPEC.replace("{path: customers.csv}", "{path: customers.pq, delimiter: ';'}"),
                            "spec", ("real_source: delimiter applies to CSV files only",)),
                 id="delimiter-on-parquet-file"),
]


@pytest.mark.parametrize("case", SPECS)
def test_bad_delimiter_settings_are_rejected_on_load(case, tmp_path, monkeypatch, capsys):
    bad._config_case(case, tmp_path, monkeypatch, capsys)


def test_a_tab_delimiter_loads_from_yaml(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text(bad.GOOD_SPEC.replace("{path: customers.csv}", '{path: customers.tsv, delimiter: "\\t"}'))
    assert bad.load_spec(path).real_source.delimiter == "\t"
