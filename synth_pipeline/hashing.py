"""Stable content hashes of rows.

The hash identifies a row by its values, so the same record is recognised wherever it
travels (holdout isolation, exact-copy detection). It is independent of column order,
of the row index, and of the dtype of numeric and boolean columns (``1``, ``1.0`` and
``True`` hash alike, which keeps the hash stable through CSV, Parquet and generator
round trips); numbers are compared as float64, so integers beyond 2**53 may collide.
Other columns hash by their text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.errors import ProvenanceError

# A fixed 16-byte SipHash key: hashes must not change between processes or runs.
_HASH_KEY = "synth-pipeline:1"
_NULL_TOKEN = "\x00null"


def _canonical_column(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        as_float = values.astype("float64").to_numpy(copy=True, na_value=np.nan)
        as_float += 0.0  # folds -0.0 into 0.0
        as_float[np.isnan(as_float)] = np.nan  # one bit pattern for every NaN
        return pd.Series(as_float)
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.Series(values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").fillna(_NULL_TOKEN).to_numpy())
    return pd.Series(values.astype("object").where(values.notna(), _NULL_TOKEN).astype(str).to_numpy())


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """Hash every row of ``frame`` over all its columns.

    Args:
        frame: User columns only (provenance columns must be dropped first).

    Returns:
        A ``uint64`` array with one hash per row.
    """
    if frame.shape[1] == 0:
        raise ProvenanceError("cannot hash rows of a frame with no columns: give the rows at least one column")
    ordered = sorted(frame.columns, key=str)
    canonical = pd.DataFrame({str(c): _canonical_column(frame[c]) for c in ordered})
    return pd.util.hash_pandas_object(
        canonical, index=False, hash_key=_HASH_KEY, categorize=True
    ).to_numpy(dtype="uint64")


def set_digest(hashes: np.ndarray) -> str:
    """An order-independent digest of a multiset of row hashes: row count and wrapped sum.

    Two datasets with the same rows (in any order) have the same digest, so a report can
    prove which data it was computed on without holding the data.
    """
    total = int(np.asarray(hashes, dtype=np.uint64).sum(dtype=np.uint64))
    return f"{len(hashes)}:{total:016x}"
