"""Column types at ingestion: which dtypes the generators take, which are converted, which rejected.

A CSV or Parquet source (or a loader) can give a column any pandas dtype, and pyarrow
maps Parquet types onto more (``object`` columns of ``Decimal``, ``bytes``,
``datetime.date`` or ``datetime.time``; ``category`` for dictionary-encoded columns;
nullable ``Int64`` / ``boolean`` / ``string``). Several of them pass ingestion and then
break a later stage: SDV refuses them at fit time, samples garbage, or a stored file
reads back with another type so its row hashes no longer match. :data:`TYPE_RULES` is
the one table that decides, per column, before anything is stored:

- **accept**: the three SDV synthesizers (GaussianCopula, CTGAN, TVAE), SMOTE, the
  model and the quality checks take the column as it is (a few with a warning, e.g.
  integers beyond 2**53, which generators round);
- **convert**: the values have a lossless form the pipeline takes; the column is
  converted and the conversion recorded (:class:`ConvertedColumn`, the stage's
  ``converted_columns`` metadata);
- **reject**: no lossless form; ingestion fails naming the column and the fix.

The first rule whose test matches decides. A converted column is classified again (a
``category`` of dates becomes ``object`` dates, then ``datetime64[ns]``).

Each rule's ``why`` gives the evidence it rests on. "Verified" means: fitted and sampled
with SDV 2.0 (GaussianCopula, CTGAN and TVAE with ``epochs=1``, 50 rows) through
:func:`synth_pipeline.synthesizers.synthesize`, and run through generation 1 of a real
pipeline with the quality checks (``tests/test_source_types.py``).
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

EXACT_INTEGER_LIMIT = 2**53
"""Largest integer magnitude float64 holds exactly; SDV's transformers and the row hash compute in float64."""

_NESTED_TYPES = (list, tuple, dict, set, np.ndarray)
_NS_RANGE = "1677-09-21 to 2262-04-11"

Action = Literal["accept", "convert", "reject"]


class Unconvertible(Exception):
    """A column's values cannot take the form a rule converts to; the message holds the problem and the fix."""


@dataclass(frozen=True)
class Column:
    """A column being classified: its values, name and pandas' inferred kind of its values."""

    values: pd.Series
    name: str
    inferred: str

    @classmethod
    def of(cls, values: pd.Series, name: str) -> Column:
        return cls(values, name, pd.api.types.infer_dtype(values, skipna=True))

    @property
    def type_name(self) -> str:
        """The dtype, with the kind of the values for ``object`` columns (e.g. ``object (decimal)``)."""
        dtype = str(self.values.dtype)
        return f"{dtype} ({self.inferred})" if dtype == "object" else dtype


@dataclass(frozen=True)
class TypeRule:
    """One row of the table.

    Attributes:
        name: Short name of the type, e.g. ``decimal``.
        matches: Whether the rule applies to a column.
        action: ``accept``, ``convert`` or ``reject``.
        result: What the column becomes (or why it is refused), for the table in the docs.
        why: The evidence for the decision.
        convert: For ``convert``: the converted values; raises :class:`Unconvertible`
            when these values have no lossless form.
        problem: For ``reject``: the message naming the column and the fix.
        warning: For ``accept``: a caveat to log and record, naming the column and the fix.
    """

    name: str
    matches: Callable[[Column], bool]
    action: Action
    result: str
    why: str
    convert: Callable[[Column], pd.Series] | None = None
    problem: Callable[[Column], str] | None = None
    warning: Callable[[Column], str] | None = None


@dataclass(frozen=True)
class ConvertedColumn:
    """A column converted at ingestion: from which type to which, and by which rules."""

    column: str
    from_type: str
    to_type: str
    rules: tuple[str, ...]

    def as_metadata(self) -> dict[str, str]:
        """The record as a JSON-able mapping (Dagster metadata, lineage)."""
        return {"column": self.column, "from": self.from_type, "to": self.to_type, "rule": " -> ".join(self.rules)}

    def log_line(self) -> str:
        return f"converted column {self.column!r} from {self.from_type} to {self.to_type} ({', '.join(self.rules)})"


@dataclass(frozen=True)
class TypedFrame:
    """The outcome of :func:`conform_column_types`.

    Attributes:
        frame: The data with every convertible column converted (rejected columns as read).
        converted: One record per converted column.
        problems: Column -> why it is rejected and how to fix it.
        warnings: Column -> the caveat of an accepted column and how to avoid it.
    """

    frame: pd.DataFrame
    converted: list[ConvertedColumn] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)


# -- tests --------------------------------------------------------------------------------------------------


def _dtype_is(check: Callable[[Any], bool]) -> Callable[[Column], bool]:
    return lambda column: bool(check(column.values.dtype))


def _object_of(*kinds: str) -> Callable[[Column], bool]:
    return lambda column: pd.api.types.is_object_dtype(column.values.dtype) and column.inferred in kinds


_NULLABLE_NUMBERS = {f"{kind}{bits}" for kind in ("Int", "UInt") for bits in (8, 16, 32, 64)} | {"Float32", "Float64"}


def _is_nullable_with_numpy_form(column: Column) -> bool:
    """pandas' nullable numbers and strings, and 'boolean' without gaps (with gaps it is the form for bools)."""
    dtype = column.values.dtype
    if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, pd.api.extensions.ExtensionDtype)
                                             and dtype.name in _NULLABLE_NUMBERS):
        return True
    return isinstance(dtype, pd.BooleanDtype) and not column.values.isna().any()


def _is_integer(column: Column) -> bool:
    dtype = column.values.dtype
    return (pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.ArrowDtype)) or (
        pd.api.types.is_object_dtype(dtype) and column.inferred in ("integer", "mixed-integer-float")
    )


def _beyond_exact(column: Column) -> int:
    """How many values are integers beyond ±2**53 (counted with Python ints: no overflow)."""
    present = column.values.dropna()
    if present.empty:
        return 0
    if pd.api.types.is_object_dtype(column.values.dtype):
        return sum(isinstance(v, int | np.integer) and abs(int(v)) > EXACT_INTEGER_LIMIT for v in present)
    low, high = int(present.min()), int(present.max())
    if low >= -EXACT_INTEGER_LIMIT and high <= EXACT_INTEGER_LIMIT:
        return 0
    as_int = present.to_numpy()
    if as_int.dtype == np.uint64:
        return int((as_int > np.uint64(EXACT_INTEGER_LIMIT)).sum())
    as_int = as_int.astype(np.int64)
    return int(((as_int > EXACT_INTEGER_LIMIT) | (as_int < -EXACT_INTEGER_LIMIT)).sum())


def _is_big_integer(column: Column) -> bool:
    return _is_integer(column) and _beyond_exact(column) > 0


def _exact_integer_form(column: Column) -> bool:
    """Whether the integers fit a numpy int64 or uint64 column: no gaps (those make float64, which rounds
    them, or keep pandas' Int64, which scikit-learn refuses), no fractions, within 64 bits."""
    values = column.values
    if values.isna().any():
        return False
    if not pd.api.types.is_object_dtype(values.dtype):
        return True
    if column.inferred != "integer":
        return False
    low, high = min(int(v) for v in values), max(int(v) for v in values)
    return (-(2**63) <= low and high < 2**63) or (0 <= low and high < 2**64)


def _is_inexact_big_integer(column: Column) -> bool:
    return _is_big_integer(column) and not _exact_integer_form(column)


def _is_numpy_big_integer(column: Column) -> bool:
    return isinstance(column.values.dtype, np.dtype) and _is_big_integer(column)


def _is_datetime_other_unit(column: Column) -> bool:
    dtype = column.values.dtype
    if not pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.ArrowDtype):
        return False
    unit = dtype.unit if isinstance(dtype, pd.DatetimeTZDtype) else np.datetime_data(dtype)[0]
    return unit != "ns"


# -- conversions --------------------------------------------------------------------------------------------


def _same_index(column: Column, values: pd.Series) -> pd.Series:
    return values.set_axis(column.values.index).rename(column.values.name)


def _to_dense(column: Column) -> pd.Series:
    return column.values.sparse.to_dense()


def _from_arrow(column: Column) -> pd.Series:
    import pyarrow as pa

    # pyarrow's own pandas conversion: the dtype the same column would have read from Parquet, except that
    # integers with gaps become Python ints (classified next) rather than float64, which could round them.
    values = pa.chunked_array(pa.array(column.values.array)).to_pandas(integer_object_nulls=True)
    return _same_index(column, values)


def _to_object(column: Column) -> pd.Series:
    return column.values.astype(object).where(column.values.notna(), np.nan)


def _to_numpy(column: Column) -> pd.Series:
    values = column.values
    if isinstance(values.dtype, pd.StringDtype):
        return _to_object(column)
    if isinstance(values.dtype, pd.BooleanDtype):
        return values.astype(bool)  # only without gaps (see _is_nullable_with_numpy_form)
    if values.dtype.kind in "iu" and values.isna().any():
        return values.astype("float64")  # exact: magnitudes beyond 2**53 were rejected before
    return values.astype(values.dtype.numpy_dtype)


def _to_float64(column: Column) -> pd.Series:
    return column.values.astype("float64")


def _to_ns(column: Column) -> pd.Series:
    values = column.values
    try:
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            return values.dt.as_unit("ns")
        return values.astype("datetime64[ns]")
    except (OverflowError, pd.errors.OutOfBoundsDatetime, ValueError):
        raise Unconvertible(
            f"column {column.name!r} holds timestamps outside {_NS_RANGE} ({column.type_name}), the range of "
            "the nanosecond timestamps the generators compute in; move them into that range (e.g. subtract "
            "a fixed offset) or store the year as a number, and write the file again"
        ) from None


def _object_to_datetime(column: Column) -> pd.Series:
    present = column.values.dropna()
    try:
        if column.inferred == "date":
            converted = pd.to_datetime(column.values.where(column.values.notna(), None))
        else:
            converted = pd.to_datetime(column.values)
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        raise Unconvertible(
            f"column {column.name!r} holds dates outside {_NS_RANGE} ({column.type_name}), the range of the "
            "nanosecond timestamps the generators compute in; move them into that range or store the year as "
            "a number, and write the file again"
        ) from None
    except (ValueError, TypeError):  # e.g. timestamps with different UTC offsets
        raise Unconvertible(
            f"column {column.name!r} holds timestamps of different time zones ({column.type_name}); convert "
            f"them to one zone, e.g. frame[{column.name!r}] = pd.to_datetime(frame[{column.name!r}], utc=True)"
        ) from None
    if not pd.api.types.is_datetime64_any_dtype(converted) or len(converted.dropna()) != len(present):
        raise Unconvertible(
            f"column {column.name!r} holds values pandas cannot read as timestamps ({column.type_name}); "
            f"convert it, e.g. frame[{column.name!r}] = pd.to_datetime(frame[{column.name!r}], utc=True)"
        )
    return converted.dt.as_unit("ns")


def _object_to_bool(column: Column) -> pd.Series:
    values = column.values
    return values.astype("boolean") if values.isna().any() else values.astype(bool)


def _object_to_number(column: Column) -> pd.Series:
    return pd.to_numeric(column.values.where(column.values.notna(), np.nan))


def _decimal_to_float(column: Column) -> pd.Series:
    present = column.values.dropna()
    # Exact means: the float's shortest repr reads back as the same decimal (any decimal of up to
    # 15 significant digits does); 0.1 qualifies, 0.10000000000000000001 does not.
    inexact = sum(not d.is_finite() or decimal.Decimal(repr(float(d))) != d for d in present)
    if inexact:
        raise Unconvertible(
            f"column {column.name!r} holds {inexact} decimal value(s) (of {len(present)}) that float64 cannot "
            "hold exactly (more than 15 significant digits) or that are infinite; the generators compute in "
            f"float64: round them, e.g. frame[{column.name!r}] = frame[{column.name!r}].map(lambda d: round(d, 6)), "
            "or store the column as text if it is an identifier, and write the file again"
        )
    return column.values.astype("float64")


def _bytes_to_text(column: Column) -> pd.Series:
    present = column.values.dropna()
    undecodable = 0
    for value in present:
        try:
            bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            undecodable += 1
    if undecodable:
        raise Unconvertible(
            f"column {column.name!r} holds binary values, {undecodable} of {len(present)} not UTF-8 text; the "
            "generators model numbers, categories and dates, not binary data: drop the column, or encode it "
            "as text (e.g. hex: frame[{0!r}] = frame[{0!r}].map(bytes.hex)) and write the file again".format(
                column.name
            )
        )
    return column.values.map(lambda value: bytes(value).decode("utf-8"), na_action="ignore")


# -- rejections -------------------------------------------------------------------------------------------


def _timedelta_problem(column: Column) -> str:
    return (
        f"column {column.name!r} holds durations ({column.type_name}), which the generators do not take (SDV "
        "refuses dtype kind 'm') and which have no lossless numeric form; store them as numbers in a unit you "
        f"choose, e.g. frame[{column.name!r}] = frame[{column.name!r}].dt.total_seconds(), and write the file again"
    )


def _big_integer_problem(column: Column) -> str:
    gaps = int(column.values.isna().sum())
    why = f"with {gaps} missing value(s)" if gaps else "mixed with fractions or beyond 64 bits"
    return (
        f"column {column.name!r} holds {_beyond_exact(column)} integer(s) beyond ±2**53 ({column.type_name}), "
        f"{why}: no column type keeps them exact (float64 rounds such integers; pandas' nullable Int64 is "
        "refused by scikit-learn, Parquet stores no integer beyond 64 bits): fill the gaps, subtract an offset "
        f"(e.g. the column's minimum), or, if it is an identifier, make it text (frame[{column.name!r}] = "
        f"frame[{column.name!r}].astype(str))"
    )


def _big_integer_warning(column: Column) -> str:
    return (
        f"column {column.name!r} holds {_beyond_exact(column)} integer(s) beyond ±2**53 ({column.type_name}): "
        "kept exact in the stored data, but the generators compute in float64 and round them (SDV sampled 1 or 2 "
        "distinct values from 56-60), and rows that differ only there get the same row hash; unless it is an "
        "identifier column (kept out of the generators), subtract an offset (e.g. the column's minimum) or make "
        "it text"
    )


def _complex_problem(column: Column) -> str:
    return (
        f"column {column.name!r} holds complex numbers ({column.type_name}), which no generator models; "
        f"split it into two columns, e.g. frame[{column.name!r} + '_re'] = frame[{column.name!r}].to_numpy().real "
        "and the same with .imag for '_im', then drop it"
    )


def _time_problem(column: Column) -> str:
    return (
        f"column {column.name!r} holds times of day ({column.type_name}), which the generators do not take "
        "(SDV fails on datetime.time values); store them as seconds since midnight, e.g. "
        f"frame[{column.name!r}] = frame[{column.name!r}].map(lambda t: t.hour * 3600 + t.minute * 60 + t.second), "
        "or as text (.astype(str)), and write the file again"
    )


def _period_problem(column: Column) -> str:
    return (
        f"column {column.name!r} holds periods ({column.type_name}), which the generators do not take (SDV "
        f"fails on Period values); store their start, frame[{column.name!r}] = "
        f"frame[{column.name!r}].dt.to_timestamp(), or their text (.astype(str)), and write the file again"
    )


def _interval_problem(column: Column) -> str:
    return (
        f"column {column.name!r} holds intervals ({column.type_name}), which the generators do not take (SDV "
        f"fails on Interval values); split each into its ends, e.g. frame[{column.name!r} + '_left'] = "
        f"frame[{column.name!r}].array.left and the same with .right, then drop it"
    )


def _mixed_problem(column: Column) -> str:
    present = column.values.dropna()
    nested = sorted({type(value).__name__ for value in present if isinstance(value, _NESTED_TYPES)})
    if nested:
        return (
            f"column {column.name!r} holds nested values ({', '.join(nested)}); synth-pipeline needs a flat table "
            "of numbers, text, booleans and dates: spread the values over one column each, or drop the column"
        )
    types = sorted({type(value).__name__ for value in present})
    return (
        f"column {column.name!r} mixes value types ({', '.join(types)}); convert it to one type, e.g. "
        f"frame[{column.name!r}] = frame[{column.name!r}].astype(str) for text or pd.to_numeric(...) for numbers"
    )


def _unsupported_problem(column: Column) -> str:
    return (
        f"column {column.name!r} has a type the generators do not take ({column.type_name}); convert it to "
        "numbers, text, booleans or timestamps, or drop it"
    )


# -- the table -----------------------------------------------------------------------------------------------

_SDV_REFUSES = "SDV 2.0 fails at fit time with all three synthesizers (verified)"

TYPE_RULES: tuple[TypeRule, ...] = (
    # Containers first: their values are classified again once unpacked.
    TypeRule("sparse", _dtype_is(lambda d: isinstance(d, pd.SparseDtype)), "convert", "dense values, then classified",
             "Parquet cannot store sparse columns (pyarrow TypeError) and SDV cannot detect their metadata (verified); "
             "densifying is lossless", convert=_to_dense),
    TypeRule("arrow-backed", _dtype_is(lambda d: isinstance(d, pd.ArrowDtype)), "convert",
             "pyarrow's default pandas type, then classified",
             "a loader can return pyarrow-backed columns; converting them as pd.read_parquet does gives every "
             "source the same types (lossless)", convert=_from_arrow),
    TypeRule("category", _dtype_is(lambda d: isinstance(d, pd.CategoricalDtype)), "convert",
             "object (its categories' values), then classified",
             "CTGAN and TVAE refuse 'category' columns (SDV InvalidDataTypeError, verified; the Gaussian copula takes "
             "them); the values are unchanged, a categorical column stays categorical for SDV",
             convert=_to_object),
    TypeRule("integer beyond 2**53, inexact", _is_inexact_big_integer, "reject", "rejected",
             "with gaps, integers beyond 2**53 become float64, which rounds them, or stay Int64, which crashes the "
             "fidelity check (verified); Python ints beyond 64 bits cannot be stored in Parquet (OverflowError)",
             problem=_big_integer_problem),
    TypeRule("pandas nullable", _is_nullable_with_numpy_form, "convert",
             "numpy dtype (Int with gaps -> float64, string -> object; boolean with gaps kept)",
             "Int64/Float64 columns with gaps crash the fidelity check (scikit-learn refuses pd.NA, verified); the "
             "numpy form is lossless (integers within 2**53) and is what CSV sources give",
             convert=_to_numpy),
    TypeRule("float16", _dtype_is(lambda d: d == np.float16), "convert", "float64",
             "SDV samples float16 columns as all-NaN (verified, all three synthesizers); float64 holds every "
             "float16 exactly", convert=_to_float64),
    TypeRule("complex", _dtype_is(pd.api.types.is_complex_dtype), "reject", "rejected",
             f"{_SDV_REFUSES} (dtype kind 'c'); Parquet cannot store it either", problem=_complex_problem),
    TypeRule("timedelta", lambda c: pd.api.types.is_timedelta64_dtype(c.values.dtype)
             or _object_of("timedelta", "timedelta64")(c), "reject", "rejected",
             f"{_SDV_REFUSES} (InvalidMetadataError, kind 'm'); seconds as float64 would round sub-second parts, "
             "and the unit is the user's choice", problem=_timedelta_problem),
    TypeRule("datetime, not in ns", _is_datetime_other_unit, "convert", "datetime64[ns] (same time zone)",
             "SDV samples datetime64[s|ms|us] columns as dates around 1970 (verified); Parquet timestamps in ms or "
             "us read as those units. Lossless within the ns range; beyond it SDV fails (verified), so rejected",
             convert=_to_ns),
    TypeRule("datetime", _dtype_is(pd.api.types.is_datetime64_any_dtype), "accept", "kept (naive or time zone)",
             "all three synthesizers fit and sample datetime64[ns], naive and with a time zone (verified)"),
    TypeRule("period", lambda c: isinstance(c.values.dtype, pd.PeriodDtype) or _object_of("period")(c), "reject",
             "rejected", f"{_SDV_REFUSES} (Period is not JSON serializable); a timestamp would drop the frequency",
             problem=_period_problem),
    TypeRule("interval", lambda c: isinstance(c.values.dtype, pd.IntervalDtype) or _object_of("interval")(c),
             "reject", "rejected", f"{_SDV_REFUSES} (Interval is not JSON serializable)", problem=_interval_problem),
    TypeRule("bool", _dtype_is(pd.api.types.is_bool_dtype), "accept", "kept",
             "numpy bool, and pandas 'boolean' for booleans with gaps: all three synthesizers (verified)"),
    TypeRule("integer beyond 2**53", _is_numpy_big_integer, "accept", "kept, with a warning",
             "stored exactly, and no generator fails on them, but SDV rounds them (verified: int64 2**62 + k and "
             "2**63 - k sampled as 1-2 distinct values by all three synthesizers); an identifier column is kept out "
             "of the generators (synth_pipeline.identifiers), and SMOTE interpolates them exactly",
             warning=_big_integer_warning),
    TypeRule("number", _dtype_is(pd.api.types.is_numeric_dtype), "accept", "kept",
             "int8-64, uint8-64, float32/64: all three synthesizers (verified)"),
    # object columns, by the kind of their values
    TypeRule("text", _object_of("string"), "accept", "kept",
             "text: categorical for SDV, all three synthesizers (verified)"),
    TypeRule("object booleans", _object_of("boolean"), "convert", "bool, or 'boolean' with gaps",
             "a CSV column of booleans with empty cells reads as object; stored, a part of it without gaps reads "
             "back as bool and its row hashes (text at tagging, numbers after) no longer match (verified: "
             "provenance_valid failed on augmented rows)", convert=_object_to_bool),
    TypeRule("object numbers", _object_of("integer", "floating", "mixed-integer-float"), "convert",
             "int64, or float64 with gaps or fractions",
             "Python numbers in an object column are stored as Parquet numbers, so their row hashes change on "
             "reading back (verified: provenance_valid failed); the numeric form is lossless within 2**53",
             convert=_object_to_number),
    TypeRule("decimal", _object_of("decimal"), "convert", "float64 if every value is exact in it, else rejected",
             f"{_SDV_REFUSES} (Decimal is not JSON serializable); float64 holds decimals of up to 15 significant "
             "digits exactly (the shortest repr reads back as the same decimal)", convert=_decimal_to_float),
    TypeRule("bytes", _object_of("bytes"), "convert", "str if every value is UTF-8, else rejected",
             f"{_SDV_REFUSES} (bytes is not JSON serializable) and the row hash raises UnicodeDecodeError on "
             "non-UTF-8 bytes; Parquet writers without the UTF8 annotation store text as binary, and decoding "
             "it is lossless", convert=_bytes_to_text),
    TypeRule("date", _object_of("date"), "convert", "datetime64[ns]",
             "Parquet date32/date64 read as datetime.date objects; SDV samples them back as text (verified), so "
             "a stored mix would hold dates and strings; midnight timestamps are lossless",
             convert=_object_to_datetime),
    TypeRule("object datetimes", _object_of("datetime", "datetime64"), "convert", "datetime64[ns]",
             "Python datetimes in an object column are stored as Parquet timestamps, so their row hashes change on "
             "reading back; one time zone is required", convert=_object_to_datetime),
    TypeRule("time", _object_of("time"), "reject", "rejected",
             f"{_SDV_REFUSES} (time is not JSON serializable); no timestamp or number holds a time of day "
             "without choosing a unit", problem=_time_problem),
    TypeRule("mixed or nested", _dtype_is(pd.api.types.is_object_dtype), "reject", "rejected",
             "values of several types, or lists, arrays and dicts (Parquet lists, structs and maps): no single "
             "type the generators take", problem=_mixed_problem),
    TypeRule("other", lambda c: True, "reject", "rejected", "any dtype not above", problem=_unsupported_problem),
)


def _conform_column(values: pd.Series, name: str) -> tuple[pd.Series, list[str], str | None, str | None]:
    """The column after every conversion, the rules applied, the problem if it is rejected, and the
    warning if it is accepted with one."""
    applied: list[str] = []
    # Every conversion ends in an accepted or rejected type within two or three steps; the bound only
    # turns a rule that converted to its own input into an error rather than an endless loop.
    for _ in range(len(TYPE_RULES)):
        column = Column.of(values, name)
        rule = next(r for r in TYPE_RULES if r.matches(column))
        if rule.action == "accept":
            return values, applied, None, rule.warning(column) if rule.warning else None
        if rule.action == "reject":
            assert rule.problem is not None
            return values, applied, rule.problem(column), None
        assert rule.convert is not None
        try:
            values = rule.convert(column)
        except Unconvertible as error:
            return values, applied, str(error), None
        applied.append(rule.name)
    raise AssertionError(f"column {name!r}: conversions did not settle ({applied})")


def conform_column_types(frame: pd.DataFrame, *, columns: Iterable[Any]) -> TypedFrame:
    """Apply :data:`TYPE_RULES` to ``columns`` of ``frame``.

    Columns without any value are left as they are (the caller reports them).

    Args:
        frame: The data as read.
        columns: The columns to classify (user columns: provenance columns have their
            own checks).

    Returns:
        A copy of ``frame`` with convertible columns converted, the conversions, the
        problem of every rejected column and the warning of every column accepted with
        one (names, dtypes and counts only, never values).
    """
    converted_frame = frame  # copied on the first conversion: the caller's frame is never changed
    converted: list[ConvertedColumn] = []
    problems: dict[str, str] = {}
    warnings: dict[str, str] = {}
    for key in columns:
        values, name = frame[key], str(key)
        if values.isna().all():
            continue
        before = Column.of(values, name).type_name
        result, applied, problem, warning = _conform_column(values, name)
        if warning is not None:
            warnings[name] = warning
        if problem is not None:
            problems[name] = problem
        elif applied:
            if converted_frame is frame:
                converted_frame = frame.copy()
            converted_frame[key] = result
            converted.append(ConvertedColumn(name, before, Column.of(result, name).type_name, tuple(applied)))
    return TypedFrame(converted_frame, converted, problems, warnings)
