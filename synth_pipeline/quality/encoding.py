"""Mixed numeric and categorical records as points, for distance-based privacy metrics.

One encoding is fitted on the real reference rows (training and holdout together) and
applied to every side, so distances to training and to holdout rows are on one scale:

- **numeric** columns (and datetimes, as seconds): ``(x - min) / (max - min)`` with the
  reference's min and max (a constant column keeps scale 1). Values outside the
  reference range are not clipped: a far-out synthetic value stays far.
- **missing numbers**: 0, plus a 0/1 indicator column for that column, so a missing
  value differs from any present one.
- **categorical** columns (text, categories, booleans): one indicator column per level
  with weight ``1/sqrt(2)``, so two different categories are at distance 1, the same as
  numbers a full reference range apart. Missing is a level of its own. Only the
  ``max_levels`` most frequent reference levels get a column; rarer and unseen values
  share an "other" column (two different rare values then count as equal).

The distance between records is the Euclidean distance of their encodings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_MAX_LEVELS = 100
_WEIGHT = np.float32(1 / np.sqrt(2))
_MISSING = "\x00missing"


def _is_numeric(values: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)) or (
        pd.api.types.is_datetime64_any_dtype(values)
    )


def numbers_of(values: pd.Series) -> np.ndarray:
    """A numeric or datetime column as float64 (datetimes as seconds since the epoch, UTC; missing as NaN)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        seconds = values.astype("int64").to_numpy(dtype=np.float64) / 1e9
        seconds[values.isna().to_numpy()] = np.nan
        return seconds
    return values.astype("float64").to_numpy(copy=True, na_value=np.nan)


def _as_text(values: pd.Series) -> np.ndarray:
    return values.astype("object").where(values.notna(), _MISSING).astype(str).to_numpy()


@dataclass(frozen=True)
class RecordEncoder:
    """A fitted encoding of records as float32 points (see the module docs).

    Attributes:
        numeric: Numeric column -> (min, range) of the reference.
        with_missing: Numeric columns that get a missing-value indicator.
        levels: Categorical column -> levels with their own indicator, most frequent first.
    """

    numeric: dict[str, tuple[float, float]]
    with_missing: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]

    @classmethod
    def fit(
        cls,
        reference: pd.DataFrame,
        columns: list[str],
        *,
        others: tuple[pd.DataFrame, ...] = (),
        max_levels: int = DEFAULT_MAX_LEVELS,
    ) -> RecordEncoder:
        """Fit on the reference rows.

        Args:
            reference: The real rows that set scales and levels.
            columns: The columns compared (user columns, in any order).
            others: Frames the encoder will also be applied to; a numeric column with
                missing values in any of them gets an indicator.
            max_levels: Levels per categorical column with their own indicator.
        """
        if not columns:
            raise ValueError("no columns to compare records on")
        numeric: dict[str, tuple[float, float]] = {}
        levels: dict[str, tuple[str, ...]] = {}
        with_missing = []
        for column in columns:
            values = reference[column]
            if _is_numeric(values):
                as_float = numbers_of(values)
                finite = as_float[np.isfinite(as_float)]
                low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
                numeric[column] = (low, high - low if high > low else 1.0)
                if any(frame[column].isna().any() for frame in (reference, *others)):
                    with_missing.append(column)
            else:
                counts = pd.Series(_as_text(values)).value_counts(sort=True)
                levels[column] = tuple(counts.index[:max_levels])
        return cls(numeric=numeric, with_missing=tuple(with_missing), levels=levels)

    @property
    def width(self) -> int:
        """Number of encoded dimensions."""
        return len(self.numeric) + len(self.with_missing) + sum(len(v) + 1 for v in self.levels.values())

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode rows of ``frame`` as an ``(n, width)`` float32 array."""
        missing = [c for c in [*self.numeric, *self.levels] if c not in frame.columns]
        if missing:
            raise ValueError(f"columns {missing} are missing from the rows to compare")
        out = np.zeros((len(frame), self.width), dtype=np.float32)
        position = 0
        for column, (low, scale) in self.numeric.items():
            values = (numbers_of(frame[column]) - low) / scale
            absent = ~np.isfinite(values)
            values[absent] = 0.0
            out[:, position] = values
            position += 1
            if column in self.with_missing:
                out[:, position] = absent
                position += 1
        for column, column_levels in self.levels.items():
            index = pd.Index(column_levels).get_indexer(_as_text(frame[column]))
            index[index < 0] = len(column_levels)  # the shared "other" column
            out[np.arange(len(frame)), position + index] = _WEIGHT
            position += len(column_levels) + 1
        return out

    def describe(self) -> dict[str, Any]:
        """What the encoding does, for check metadata."""
        return {
            "numeric_columns": len(self.numeric),
            "categorical_columns": len(self.levels),
            "missing_indicators": len(self.with_missing),
            "dimensions": self.width,
            "numeric_scaling": "(x - reference min) / reference range",
            "categorical": "one-hot scaled by 1/sqrt(2): a mismatch is distance 1",
        }
