"""Reading external data described by a :class:`~synth_pipeline.spec.SourceSpec`."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pandas as pd

from synth_pipeline.errors import DataSourceError
from synth_pipeline.spec import SourceSpec


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


def load_source(source: SourceSpec) -> pd.DataFrame:
    """Read the data a source points at.

    Raises:
        DataSourceError: The file is missing, has an unsupported suffix, cannot be
            parsed, or the loader does not return a non-empty DataFrame.
    """
    if source.loader is not None:
        frame = import_object(source.loader)()
        if not isinstance(frame, pd.DataFrame):
            raise DataSourceError(
                f"loader {source.loader} returned {type(frame).__name__}, expected a pandas DataFrame"
            )
    else:
        frame = _read_file(Path(source.path), source.format)
    if frame.empty:
        raise DataSourceError(f"{describe(source)} holds no rows")
    return frame


def _read_file(path: Path, file_format: str | None) -> pd.DataFrame:
    if not path.is_file():
        raise DataSourceError(
            f"data file {path} not found (working directory {Path.cwd()}); point the "
            "source at an existing CSV or Parquet file"
        )
    file_format = file_format or {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(
        path.suffix.lower()
    )
    if file_format is None:
        raise DataSourceError(
            f"cannot tell the format of {path} from its suffix; use .csv or .parquet, or "
            "set format: csv|parquet on the source"
        )
    try:
        if file_format == "csv":
            return pd.read_csv(path, skipinitialspace=True)
        return pd.read_parquet(path)
    except Exception as error:  # the readers raise many unrelated types
        raise DataSourceError(f"cannot read {path} as {file_format}: {error}") from error
