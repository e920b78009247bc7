"""Reading and validating external data described by a :class:`~synth_pipeline.spec.SourceSpec`.

Every check here runs in the stage that reads the data, before anything is stored, so
bad input fails that stage with a message naming the file, the column and the fix, and
no later stage runs on it. Messages name files, columns, dtypes and counts, never row
values (they end up in Dagster's event log and in the lineage journal).
"""

from __future__ import annotations

import csv
import importlib
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.errors import DataSourceError
from synth_pipeline.provenance import PROVENANCE_PREFIX, user_columns
from synth_pipeline.spec import SourceSpec

SUFFIX_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_NESTED_TYPES = (list, tuple, dict, set, np.ndarray)


def import_object(reference: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attribute = reference.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        raise DataSourceError(
            f"cannot import {reference!r}: {error}. Check the module is installed and the "
            "name is spelled 'package.module:function'."
        ) from error
    return target


def describe(source: SourceSpec) -> str:
    """A short human-readable description of where data comes from."""
    return source.path if source.path is not None else f"loader {source.loader}"


def load_source(source: SourceSpec, *, label_column: str | None = None) -> pd.DataFrame:
    """Read the data a source points at, and check it is a table the pipeline can handle.

    Args:
        source: The source.
        label_column: Left to the caller's label checks (an empty label column is a
            label problem, not a column to drop).

    Raises:
        DataSourceError: The file is missing, a directory, empty, has an unsupported
            suffix or cannot be parsed; the loader does not return a DataFrame; or the
            data fails :func:`validate_frame`.
    """
    if source.loader is not None:
        frame = import_object(source.loader)()
        if not isinstance(frame, pd.DataFrame):
            raise DataSourceError(
                f"loader {source.loader} returned {type(frame).__name__}, expected a pandas DataFrame; "
                "make the function return one (e.g. pd.DataFrame(records))"
            )
    else:
        frame = _read_file(Path(source.path), source.format)
    validate_frame(frame, source=describe(source), label_column=label_column)
    return frame


def _read_file(path: Path, file_format: str | None) -> pd.DataFrame:
    if path.is_dir():
        raise DataSourceError(
            f"{path} is a directory, not a data file; point the source at one CSV or Parquet file "
            "(e.g. a file inside that directory)"
        )
    if not path.is_file():
        raise DataSourceError(
            f"data file {path} not found (working directory {Path.cwd()}); check the path, and point the "
            "source at an existing CSV or Parquet file"
        )
    file_format = file_format or SUFFIX_FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise DataSourceError(
            f"cannot tell the format of {path} from its suffix; use .csv or .parquet, or "
            "set format: csv|parquet on the source"
        )
    if path.stat().st_size == 0:
        raise DataSourceError(
            f"data file {path} is empty (0 bytes: no header, no rows); write the data again, or point the "
            "source at the complete file"
        )
    if file_format == "csv":
        return _read_csv(path)
    return _read_parquet(path)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle, skipinitialspace=True), [])
        _reject_duplicates(header, source=str(path))
        return pd.read_csv(path, skipinitialspace=True)
    except UnicodeDecodeError as error:
        raise DataSourceError(
            f"cannot read {path} as CSV: it is not UTF-8 text ({error.reason} at byte {error.start}); "
            "save it as UTF-8 CSV, or give a Parquet file the .parquet suffix"
        ) from None
    except (pd.errors.ParserError, csv.Error) as error:
        raise DataSourceError(
            f"cannot parse {path} as CSV: {str(error).strip()}; fix that line: every row needs as many "
            "comma-separated fields as the header (quote fields that contain commas)"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataSourceError(
            f"data file {path} holds no header and no rows; write the data again, or point the source at the "
            "complete file"
        ) from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError and others for a damaged file
        raise DataSourceError(
            f"cannot read {path} as Parquet ({type(error).__name__}: {str(error).strip()}); the file is corrupt, "
            "truncated or not Parquet: write it again (e.g. DataFrame.to_parquet), or give a CSV file the "
            ".csv suffix"
        ) from None


def _reject_duplicates(columns: list[Any], *, source: str) -> None:
    duplicated = sorted(str(name) for name, count in Counter(str(c) for c in columns).items() if count > 1)
    if duplicated:
        raise DataSourceError(
            f"{source} has duplicate column names {duplicated}; give every column a unique name (a repeated "
            "name would silently become a second column such as 'name.1')"
        )


def validate_frame(frame: pd.DataFrame, *, source: str, label_column: str | None = None) -> None:
    """Check that incoming data is a flat table the pipeline can store, hash and learn from.

    Missing values (NaN, None, empty CSV cells) are allowed in feature columns: the
    synthesizers, SMOTE and the default model handle them. Everything below is rejected,
    every problem found at once.

    Args:
        frame: The data as read.
        source: Where the data came from, quoted in the error.
        label_column: A column whose values are not checked here (the caller checks labels).

    Raises:
        DataSourceError: Duplicate column names, no columns, no rows, or a user column
            that holds infinite numbers, no value at all, values of several types (e.g.
            numbers and text), or nested values (lists, arrays, dicts).
    """
    _reject_duplicates(list(frame.columns), source=source)
    if frame.shape[1] == 0:
        raise DataSourceError(f"{source} has no columns; point the source at a table with a header and rows")
    if frame.empty:
        raise DataSourceError(
            f"{source} holds no rows (only the columns {[str(c) for c in frame.columns][:20]}); add the data "
            "rows, or point the source at the file that holds them"
        )
    problems = [
        problem
        for column in frame.columns
        # provenance columns are checked on ingestion, labels by the caller
        if not str(column).startswith(PROVENANCE_PREFIX) and column != label_column
        for problem in _column_problems(frame[column], str(column))
    ]
    if problems:
        raise DataSourceError(f"{source}: " + "; ".join(problems))


def _column_problems(values: pd.Series, name: str) -> list[str]:
    present = values.dropna()
    if present.empty:
        return [
            f"column {name!r} has no value in any of its {len(values)} rows; drop it "
            f"(frame.drop(columns=[{name!r}])) or fill it"
        ]
    if pd.api.types.is_float_dtype(values):
        infinite = int(np.isinf(present.to_numpy(dtype="float64")).sum())
    elif values.dtype == object:  # an object column may hold floats among other values
        infinite = sum(isinstance(value, float) and math.isinf(value) for value in present)
    else:
        infinite = 0
    if infinite:
        return [
            f"column {name!r} has {infinite} infinite value(s) (inf or -inf) in {len(values)} rows; replace "
            "them with finite numbers or leave the cells empty (missing values are allowed), e.g. "
            f"frame[{name!r}] = frame[{name!r}].replace([np.inf, -np.inf], np.nan)"
        ]
    if values.dtype == object and pd.api.types.infer_dtype(present, skipna=True).startswith("mixed"):
        types = sorted({type(value).__name__ for value in present})
        nested = sorted({type(value).__name__ for value in present if isinstance(value, _NESTED_TYPES)})
        if nested:
            return [
                f"column {name!r} holds nested values ({', '.join(nested)}); synth-pipeline needs a flat table "
                "of numbers, text, booleans and dates: spread the values over one column each, or drop the column"
            ]
        if len(types) > 1 and types != ["float", "int"]:
            return [
                f"column {name!r} mixes value types ({', '.join(types)}); convert it to one type, e.g. "
                f"frame[{name!r}] = frame[{name!r}].astype(str) for text or pd.to_numeric(...) for numbers"
            ]
    return []


def column_families(frame: pd.DataFrame) -> dict[str, str]:
    """The kind of values of each user column: ``number`` (including booleans), ``datetime``, ``duration`` or ``text``.

    Integer and float columns are one family (a CSV with an empty cell turns an integer
    column into floats), and so are booleans (they hash like 0 and 1). Types are read the
    way Parquet stores the frame, so data compares alike before and after it is stored (a
    CSV column of booleans with empty cells reads as pandas ``object``, is stored as bool).
    """
    import pyarrow as pa

    columns = user_columns(frame)
    stored = pa.Schema.from_pandas(frame[columns], preserve_index=False).empty_table().to_pandas()
    return {str(column): _family(dtype) for column, dtype in stored.dtypes.items()}


def _family(dtype: Any) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return _family(dtype.categories.dtype)
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "duration"
    return "text"


def stored_column_families(path: Path) -> dict[str, str]:
    """:func:`column_families` of a stored Parquet file, read from its schema only (no rows)."""
    import pyarrow.parquet as pq

    stored = pq.read_schema(path).empty_table().to_pandas()
    return {str(column): _family(stored[column].dtype) for column in user_columns(stored)}


def check_schema(frame: pd.DataFrame, expected: dict[str, str], *, source: str, reference: str) -> None:
    """Reject data whose user columns differ from ``expected`` (names, or the family of their values).

    Args:
        frame: The incoming data.
        expected: :func:`column_families` of the data it must match.
        source: Where the incoming data came from, quoted in the error.
        reference: What ``expected`` describes, quoted in the error.

    Raises:
        DataSourceError: Columns were added, removed, renamed, or changed family (e.g.
            a numeric column arriving as text).
    """
    current = column_families(frame)
    added = [c for c in current if c not in expected]
    missing = [c for c in expected if c not in current]
    retyped = [f"{c!r} was {expected[c]}, is now {current[c]}" for c in current if c in expected
               and current[c] != expected[c]]
    parts = []
    if added:
        parts.append(f"new column(s) {added}")
    if missing:
        parts.append(f"missing column(s) {missing}")
    if added and missing:
        parts[-1] += " (renamed?)"
    if retyped:
        parts.append("changed type: " + ", ".join(retyped))
    if parts:
        raise DataSourceError(
            f"schema drift: {source} does not have the columns of {reference}: {'; '.join(parts)}. Every "
            "generation's real data needs the same columns with the same kind of values: fix the file (restore "
            "the columns' names, add the missing ones, convert the types), or start a new pipeline (another "
            "name or data directory) for data with the new columns"
        )
