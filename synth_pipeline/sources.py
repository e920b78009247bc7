"""Reading and validating external data described by a :class:`~synth_pipeline.spec.SourceSpec`.

Every check here runs in the stage that reads the data, before anything is stored, so
bad input fails that stage with a message naming the file, the column and the fix, and
no later stage runs on it. Messages name files, columns, dtypes and counts, never row
values (they end up in Dagster's event log and in the lineage journal). Which column
types are taken, converted or rejected is decided by :mod:`synth_pipeline.column_types`;
how a delimited text file is split, by :mod:`synth_pipeline.csv_format`.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synth_pipeline.column_types import ConvertedColumn, TypedFrame, conform_column_types
from synth_pipeline.csv_format import CANDIDATES, NAMES, CsvFormat, detect_delimiter, uses_decimal_comma
from synth_pipeline.errors import DataSourceError
from synth_pipeline.provenance import PROVENANCE_PREFIX, user_columns
from synth_pipeline.spec import SUFFIX_FORMATS, SourceSpec

if TYPE_CHECKING:
    from synth_pipeline.stage_files import StagePath


@dataclass(frozen=True)
class SourceData:
    """Data read from a source and checked, with what was done to read it.

    Attributes:
        frame: The data, every column in a type the generators take.
        converted: The columns converted to such a type (see :mod:`synth_pipeline.column_types`).
        csv_format: How a delimited text file was split; None for Parquet and loaders.
        warnings: Column -> the caveat of a column accepted with one (e.g. integers beyond 2**53).
    """

    frame: pd.DataFrame
    converted: list[ConvertedColumn]
    csv_format: CsvFormat | None = None
    warnings: dict[str, str] = dataclasses.field(default_factory=dict)


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
    """The frame of :func:`read_source` (same arguments and errors)."""
    return read_source(source, label_column=label_column).frame


def read_source(source: SourceSpec, *, label_column: str | None = None) -> SourceData:
    """Read the data a source points at, check it is a table the pipeline can handle, and
    convert columns to types the generators take.

    Args:
        source: The source.
        label_column: Left to the caller's label checks (an empty label column is a
            label problem, not a column to drop); its type is checked like any column's.

    Returns:
        The data, the columns converted, and how a CSV file was split.

    Raises:
        DataSourceError: The file is missing, a directory, empty, has an unsupported
            suffix or cannot be parsed; the loader does not return a DataFrame; or the
            data fails :func:`prepare_frame`.
    """
    csv_format = None
    if source.loader is not None:
        frame = import_object(source.loader)()
        if not isinstance(frame, pd.DataFrame):
            raise DataSourceError(
                f"loader {source.loader} returned {type(frame).__name__}, expected a pandas DataFrame; "
                "make the function return one (e.g. pd.DataFrame(records))"
            )
    else:
        frame, csv_format = _read_file(Path(source.path), source.format, source.delimiter)
    typed = prepare_frame(frame, source=describe(source), label_column=label_column)
    return SourceData(typed.frame, typed.converted, csv_format, typed.warnings)


def _read_file(path: Path, file_format: str | None, delimiter: str) -> tuple[pd.DataFrame, CsvFormat | None]:
    if path.is_dir():
        raise DataSourceError(
            f"{path} is a directory, not a data file; point the source at one CSV, Parquet or JSON Lines file "
            "(e.g. a file inside that directory)"
        )
    if not path.is_file():
        raise DataSourceError(
            f"data file {path} not found (working directory {Path.cwd()}); check the path, and point the "
            "source at an existing CSV, Parquet or JSON Lines file"
        )
    file_format = file_format or SUFFIX_FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise DataSourceError(
            f"cannot tell the format of {path} from its suffix; use .csv, .parquet or .jsonl (.tsv and .txt are "
            "read as delimited text, .ndjson as JSON Lines), or set format: csv|parquet|jsonl on the source"
        )
    if path.stat().st_size == 0:
        raise DataSourceError(
            f"data file {path} is empty (0 bytes: no header, no rows); write the data again, or point the "
            "source at the complete file"
        )
    if file_format == "csv":
        return _read_csv(path, delimiter)
    if file_format == "jsonl":
        return _read_json_lines(path), None
    return _read_parquet(path), None


def _read_csv(path: Path, delimiter: str) -> tuple[pd.DataFrame, CsvFormat]:
    csv_format = CsvFormat(",")
    try:
        csv_format = detect_delimiter(path, delimiter)
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle, delimiter=csv_format.delimiter, skipinitialspace=True), [])
        _reject_duplicates(header, source=str(path))
        frame = pd.read_csv(path, sep=csv_format.delimiter, skipinitialspace=True)
        if uses_decimal_comma(frame, csv_format):
            csv_format = dataclasses.replace(csv_format, decimal=",")
            frame = pd.read_csv(path, sep=csv_format.delimiter, decimal=",", skipinitialspace=True)
        _reject_unsplit(frame, path, csv_format)
        return frame, csv_format
    except UnicodeDecodeError as error:
        raise DataSourceError(
            f"cannot read {path} as CSV: it is not UTF-8 text ({error.reason} at byte {error.start}); "
            "save it as UTF-8 CSV, or give a Parquet file the .parquet suffix"
        ) from None
    except (pd.errors.ParserError, csv.Error) as error:
        name = csv_format.delimiter_name
        plural = f"{name}s" if csv_format.delimiter in NAMES else f"the {name} character"
        raise DataSourceError(
            f"cannot parse {path} as CSV: {str(error).strip()}; fix that line: every row needs as many "
            f"{name}-separated fields as the header (quote fields that contain {plural})"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataSourceError(
            f"data file {path} holds no header and no rows; write the data again, or point the source at the "
            "complete file"
        ) from None


def _reject_unsplit(frame: pd.DataFrame, path: Path, csv_format: CsvFormat) -> None:
    """A file read as one column whose header holds another candidate delimiter was split wrongly."""
    if frame.shape[1] != 1:
        return
    header = str(frame.columns[0])
    found = [c for c in CANDIDATES if c != csv_format.delimiter and c in header]
    if found:
        how = {"spec": "set on the source", "default": "no delimiter splits the header and most lines alike"}.get(
            csv_format.origin, csv_format.origin
        )
        raise DataSourceError(
            f"{path} reads as one column {header!r} with the {csv_format.delimiter_name} delimiter ({how}), but "
            f"its header holds {NAMES[found[0]]}s: set delimiter: {found[0]!r} on the source "
            "(SourceSpec(delimiter=...)), and make every line hold as many fields as the header"
        )


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError and others for a damaged file
        raise DataSourceError(
            f"cannot read {path} as Parquet ({type(error).__name__}: {str(error).strip()}); the file is corrupt, "
            "truncated or not Parquet: write it again (e.g. DataFrame.to_parquet), or give a CSV file the "
            ".csv suffix"
        ) from None


def _read_json_lines(path: Path) -> pd.DataFrame:
    """A JSON Lines file (one object per line, https://jsonlines.org) read by pyarrow's JSON reader.

    Keys become columns (a key missing from a line is a missing value); nested values come
    back as lists or dicts, which :mod:`synth_pipeline.column_types` refuses by name.
    """
    from pyarrow import ArrowInvalid
    from pyarrow import json as arrow_json

    try:
        table = arrow_json.read_json(path)
    except UnicodeDecodeError as error:
        raise DataSourceError(
            f"cannot read {path} as JSON Lines: it is not UTF-8 text ({error.reason} at byte {error.start}); "
            "save it as UTF-8") from None
    except (ArrowInvalid, OSError) as error:
        raise DataSourceError(
            f"cannot read {path} as JSON Lines ({str(error).strip()}); every line must be one JSON object such as "
            '{"text": "...", "label": "..."} with the same type for a key on every line: fix that line, or give '
            "a CSV or Parquet file its suffix") from None
    if table.num_rows == 0:
        raise DataSourceError(f"data file {path} holds no JSON object; write the records again, one per line")
    _reject_duplicates(table.column_names, source=str(path))
    return table.to_pandas()


def _reject_duplicates(columns: list[Any], *, source: str) -> None:
    duplicated = sorted(str(name) for name, count in Counter(str(c) for c in columns).items() if count > 1)
    if duplicated:
        raise DataSourceError(
            f"{source} has duplicate column names {duplicated}; give every column a unique name (a repeated "
            "name would silently become a second column such as 'name.1')"
        )


def validate_frame(frame: pd.DataFrame, *, source: str, label_column: str | None = None) -> None:
    """Check that incoming data is a flat table the pipeline can store, hash and learn from.

    The checks of :func:`prepare_frame` (same arguments), without keeping its conversions.

    Raises:
        DataSourceError: As :func:`prepare_frame`.
    """
    prepare_frame(frame, source=source, label_column=label_column)


def prepare_frame(frame: pd.DataFrame, *, source: str, label_column: str | None = None) -> TypedFrame:
    """Check incoming data and convert its columns to types the generators take.

    Missing values (NaN, None, empty CSV cells) are allowed in feature columns: the
    synthesizers, SMOTE and the default model handle them. Column types follow
    :data:`synth_pipeline.column_types.TYPE_RULES`. Everything below is rejected, every
    problem found at once.

    Args:
        frame: The data as read.
        source: Where the data came from, quoted in the error.
        label_column: A column whose values are not checked here (the caller checks
            labels); its type is.

    Returns:
        The data with convertible columns converted, the conversions, and the warnings
        of columns accepted with one.

    Raises:
        DataSourceError: Duplicate column names, no columns, no rows, a user column of a
            rejected type (durations, times of day, complex numbers, periods, intervals,
            binary data that is not UTF-8, inexact decimals, integers beyond 2**53 with
            gaps, timestamps beyond 2262, values of several types, nested values), or one
            that holds infinite numbers or no value at all.
    """
    _reject_duplicates(list(frame.columns), source=source)
    if frame.shape[1] == 0:
        raise DataSourceError(f"{source} has no columns; point the source at a table with a header and rows")
    if frame.empty:
        raise DataSourceError(
            f"{source} holds no rows (only the columns {[str(c) for c in frame.columns][:20]}); add the data "
            "rows, or point the source at the file that holds them"
        )
    # provenance columns are checked on ingestion
    columns = [c for c in frame.columns if not str(c).startswith(PROVENANCE_PREFIX)]
    typed = conform_column_types(frame, columns=columns)
    problems: list[str] = []
    for column in columns:
        if str(column) in typed.problems:
            problems.append(typed.problems[str(column)])
        elif column != label_column:  # label values are checked by the caller
            problems.extend(_value_problems(typed.frame[column], str(column)))
    if problems:
        raise DataSourceError(f"{source}: " + "; ".join(problems))
    return typed


def _value_problems(values: pd.Series, name: str) -> list[str]:
    """A column without any value, or with infinite numbers (after type conversion)."""
    present = values.dropna()
    if present.empty:
        return [
            f"column {name!r} has no value in any of its {len(values)} rows; drop it "
            f"(frame.drop(columns=[{name!r}])) or fill it"
        ]
    if pd.api.types.is_float_dtype(values):
        infinite = int(np.isinf(present.to_numpy(dtype="float64")).sum())
        if infinite:
            return [
                f"column {name!r} has {infinite} infinite value(s) (inf or -inf) in {len(values)} rows; replace "
                "them with finite numbers or leave the cells empty (missing values are allowed), e.g. "
                f"frame[{name!r}] = frame[{name!r}].replace([np.inf, -np.inf], np.nan)"
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


def stored_column_families(path: StagePath) -> dict[str, str]:
    """:func:`column_families` of a stored Parquet file, read from its schema only (no rows)."""
    from synth_pipeline.stage_files import read_schema

    stored = read_schema(path).empty_table().to_pandas()
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
