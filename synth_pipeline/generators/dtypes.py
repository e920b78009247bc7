"""Giving sampled rows back the columns and dtypes of the frame a generator was fitted on.

Generators that round-trip data through their own storage (Parquet, Arrow) hand back
pandas' nullable dtypes (``Int64``, ``Float64``, ``string``) or other column orders; the
:class:`~synth_pipeline.generators.protocol.Generator` protocol promises the fitted
frame's columns, in order, with its dtypes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.errors import GeneratedDataError


def empty_like(dtypes: pd.Series) -> pd.DataFrame:
    """A frame with no rows and the given columns (index of ``dtypes``) and dtypes."""
    return pd.DataFrame({column: pd.Series([], dtype=dtype) for column, dtype in dtypes.items()})


def _missing_to_nan(column: pd.Series) -> pd.Series:
    """An object column whose missing values (``pd.NA`` from a ``string`` column) are ``np.nan``."""
    values = column.astype(object)
    return values.where(values.notna(), np.nan)


def restore_dtypes(rows: pd.DataFrame, dtypes: pd.Series, *, generator: str) -> pd.DataFrame:
    """``rows`` with exactly the columns of ``dtypes`` (its index, in order), each cast to its dtype.

    Args:
        rows: Sampled rows (n x at least the fitted columns; other columns are dropped).
        dtypes: The fitted frame's ``DataFrame.dtypes``.
        generator: The generator's name, for error messages.

    Returns:
        A new frame, index 0..n-1.

    Raises:
        GeneratedDataError: A fitted column is missing from ``rows``, holds missing values
            where the fitted dtype cannot (a NumPy integer or bool column), or holds values
            that do not convert to the fitted dtype.
    """
    missing = [column for column in dtypes.index if column not in rows.columns]
    if missing:
        raise GeneratedDataError(
            f"{generator} returned no column {', '.join(map(repr, missing))} of the frame it was fitted on; "
            "refit the generator on the frame you sample for, or report this as a generator bug"
        )
    out: dict[str, pd.Series] = {}
    for column, dtype in dtypes.items():
        values = rows[column].reset_index(drop=True)
        if values.dtype == dtype:
            out[column] = values
            continue
        if isinstance(dtype, np.dtype) and dtype.kind in "iub" and values.isna().any():
            raise GeneratedDataError(
                f"{generator} sampled {int(values.isna().sum())} missing values in column {column!r}, whose fitted "
                f"dtype {dtype} cannot hold them; fill the missing values before fitting or use a nullable dtype "
                "(e.g. Int64) for that column"
            )
        try:
            out[column] = _missing_to_nan(values) if pd.api.types.is_object_dtype(dtype) else values.astype(dtype)
        except (TypeError, ValueError) as error:
            raise GeneratedDataError(
                f"{generator} sampled values in column {column!r} that do not convert to its fitted dtype "
                f"{dtype} ({error}); check the column's type in the fit input"
            ) from error
    return pd.DataFrame(out, columns=list(dtypes.index))
