"""Figures as the Dagster UI shows them: long floats rounded to a few significant digits.

The UI prints a float metadata value as it is (``0.3333333333333333``). Fractions, ratios
and scores are rounded for display where they become Dagster metadata; the exact values
stay where they are recorded for machines: the lineage store (computed from the stored
rows), the per-rule ``rules`` JSON of a check and its OpenLineage event.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import dagster as dg

SIGNIFICANT_DIGITS = 4
"""Significant digits a rounded figure keeps (its integer part is always kept whole)."""


def rounded(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` to ``digits`` significant digits, never rounding its integer part.

    ``1/3`` -> ``0.3333``; ``2/3000`` -> ``0.0006667``; ``12345.678`` -> ``12346.0``; NaN and
    infinities unchanged.
    """
    value = float(value)
    if not math.isfinite(value) or value == 0:
        return value
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return round(value, decimals)


def shown_float(value: float, digits: int = SIGNIFICANT_DIGITS) -> dg.FloatMetadataValue:
    """A float metadata value rounded for display (:func:`rounded`)."""
    return dg.MetadataValue.float(rounded(value, digits))


def shown_json(value: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """``value`` (JSON-like: dicts, lists, numbers) with every float rounded for display; ints and text unchanged."""
    if isinstance(value, bool) or isinstance(value, int) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return rounded(value, digits)
    if isinstance(value, Mapping):
        return {key: shown_json(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [shown_json(item, digits) for item in value]
    return value
