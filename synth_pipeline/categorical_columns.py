"""Categorical columns stored as numbers: flags, few-level codes and codes such as postal codes.

A number is a quantity only when arithmetic on it means something. A ``churned`` flag of 0
and 1, a ``contract`` coded 0/1/2 or a ``zip_code`` are categories written with digits:
their variance, tails and Kolmogorov-Smirnov distance say nothing a statistician would
sign ("variance ratio ... in column churned"), and a generator that models a zip code as
a quantity makes up codes that do not exist (a trial: 7 % of GaussianCopula's zip codes
were real ones). So these columns are

- found once, at ingestion of the real source (:func:`detect_categorical_columns`), unless
  the spec declares them (``categorical_columns``: a list, or ``[]`` for "none": every
  numeric column is then a quantity);
- measured as categories: category coverage rather than variance and tails in the
  diversity check (:mod:`synth_pipeline.quality.diversity`), SDMetrics' TV complement rather
  than KS in the fidelity check, one-hot rather than scaled numbers in the privacy distances
  (:mod:`synth_pipeline.quality.encoding`);
- modelled as categories by the SDV synthesizers (sdtype ``categorical`` where SDV's own
  detection says ``numerical``) and copied from the base row, not interpolated, by SMOTE.

The class label is categorical whenever the task is classification (:mod:`synth_pipeline.task`);
it is not in this list, and :func:`measured_categories` adds it.

Detection rule, on the real source's non-missing values of a numeric (not boolean) column
that is not the label, an identifier or free text (the first that holds decides):

- **constant**: one whole-number value, a category whose evidence says it tells a model nothing;
- **flag**: whole numbers with at most :data:`MAX_FLAG_VALUES` distinct values;
- **few levels**: whole numbers with at most ``min(MAX_LEVELS, rows / 10)`` distinct
  values, the rule SDV 2.0 itself uses to model such a column as discrete levels (its
  ``ordinal`` sdtype), so the measures judge the column as the generator models it;
- **code**: whole numbers >= 0 that read as labels, not amounts: at least
  :data:`MIN_CODE_VALUES` distinct values, every value written with the same number of
  digits (at least :data:`MIN_CODE_DIGITS`: 5-digit postal codes, 3-digit area codes), the
  values recur (at most :data:`MAX_CODE_DISTINCT_SHARE` of them distinct: codes group
  records, a measurement rarely repeats exactly), they fill at most
  :data:`MAX_CODE_FILL` of their span (a count or a year fills its range; codes are
  scattered over theirs), and at most :data:`MAX_ROUND_SHARE` of them are multiples of 10
  (amounts are often rounded; codes are not). Near-unique integer keys are identifiers
  (:mod:`synth_pipeline.identifiers`), not codes.

Codes written with leading zeros and read as integers (``02134`` as ``2134``) have no fixed
width, so they are not detected: declare them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.resolved_columns import (
    ResolvedColumn,
    check_declared,
    declared_columns,
    detected_columns,
    store_columns,
    stored_columns,
)

if TYPE_CHECKING:
    import dagster as dg

    from synth_pipeline.storage import DatasetStore

MAX_FLAG_VALUES = 2
"""Whole numbers with at most this many distinct values are a flag (0/1, 1/2)."""

MAX_LEVELS = 10
"""Whole numbers with at most this many distinct values (and at most a tenth of the rows) are levels: SDV 2.0's
rule for its ``ordinal`` sdtype (``SingleTableMetadata._detect_ordinal_sdtype``)."""

MIN_CODE_VALUES = 20
"""Fewest distinct values of a code (fewer: a flag or levels, or too little to tell)."""

MIN_CODE_DIGITS = 3
"""Fewest digits of a fixed-width code."""

MAX_CODE_DISTINCT_SHARE = 0.8
"""Most distinct values, as a share of the values, of a code: codes recur."""

MAX_CODE_FILL = 0.5
"""Largest share of the span ``max - min + 1`` a code's distinct values fill."""

MAX_ROUND_SHARE = 0.3
"""Largest share of multiples of 10 among a code's values (about 0.1 for codes, more for rounded amounts)."""

MONITOR = "categorical_columns"
"""The stored monitor (under the real source's key) that holds the resolved categorical columns."""

CategoricalColumn = ResolvedColumn
"""One categorical column: its name, ``origin`` (``declared`` or ``detected``) and ``evidence``."""


def category_evidence(values: pd.Series) -> str | None:
    """Why a numeric column holds categories (see the module docs), or None when it holds a quantity.

    Counts and widths only, never values (README, Security).
    """
    types = pd.api.types
    if not types.is_numeric_dtype(values) or types.is_bool_dtype(values):
        return None
    present = values.dropna()
    if present.empty:
        return None
    numbers = present.to_numpy(dtype="float64")
    if not np.isfinite(numbers).all() or not (numbers == np.round(numbers)).all():
        return None
    distinct = int(pd.unique(numbers).size)
    if distinct == 1:  # a trial's constant column read "1 distinct whole-number value(s): a flag"
        return ("1 distinct whole-number value: a constant, kept as one category (it tells a model nothing: "
                "drop it from the source, or check how it was exported)")
    if distinct <= MAX_FLAG_VALUES:
        return f"{distinct} distinct whole-number value(s): a flag"
    if distinct <= min(MAX_LEVELS, round(len(values) / 10)):
        return (f"{distinct} distinct whole-number values in {len(values)} rows (at most {MAX_LEVELS} and a tenth "
                "of the rows, as SDV models levels): levels")
    return _code_evidence(numbers, distinct)


def _code_evidence(numbers: np.ndarray, distinct: int) -> str | None:
    if distinct < MIN_CODE_VALUES or numbers.min() < 0:
        return None
    widths = np.unique(np.char.str_len(np.abs(numbers).astype(np.int64).astype(str)))
    if len(widths) != 1 or int(widths[0]) < MIN_CODE_DIGITS:
        return None
    share = distinct / len(numbers)
    fill = distinct / (float(numbers.max()) - float(numbers.min()) + 1)
    rounded = float((numbers % 10 == 0).mean())
    if share > MAX_CODE_DISTINCT_SHARE or fill > MAX_CODE_FILL or rounded > MAX_ROUND_SHARE:
        return None
    return (f"whole numbers of {int(widths[0])} digits each, {distinct} distinct of {len(numbers)} values "
            f"({share:.0%}, they recur), filling {fill:.1%} of their span, {rounded:.0%} multiples of 10: a code")


def detect_categorical_columns(
    frame: pd.DataFrame, *, label_column: str, exclude: Collection[str] = ()
) -> list[CategoricalColumn]:
    """The numeric user columns of ``frame`` that hold categories (see the module docs for the rule).

    Args:
        frame: Real rows (user columns and any provenance columns, which are ignored).
        label_column: Never in the list (its kind follows the task).
        exclude: Identifier and free-text columns, which have roles of their own.

    Returns:
        The detected columns, in column order.
    """
    return detected_columns(frame, category_evidence, label_column=label_column, exclude=exclude)


def resolve_categorical_columns(
    frame: pd.DataFrame, *, declared: list[str] | None, label_column: str, identifiers: Collection[str],
    text_columns: Collection[str], source: str,
) -> list[CategoricalColumn]:
    """The categorical columns of a real source: the spec's list, or those detected.

    Args:
        frame: The real source's rows.
        declared: The spec's ``categorical_columns`` (None: detect; ``[]``: none, every numeric column
            is a quantity).
        label_column: The label, whose kind follows the task instead.
        identifiers: The identifier columns (record keys), which are not categories.
        text_columns: The free-text columns, which are not categories.
        source: The source's description, for messages.

    Raises:
        SynthPipelineError: A declared column is missing, repeated, the label, an identifier or a
            text column; the message names the column and the fix.
    """
    if declared is None:
        return detect_categorical_columns(frame, label_column=label_column, exclude={*identifiers, *text_columns})
    check_declared(frame, declared, field="categorical_columns", source=source)
    if label_column in declared:
        raise SynthPipelineError(
            f"{source}: categorical_columns names the label column {label_column!r}; the label's kind follows the "
            "task: set `task: classification` for classes (categorical), or remove it from categorical_columns")
    for field, others in (("identifier_columns", identifiers), ("text_columns", text_columns)):
        both = [c for c in declared if c in set(others)]
        if both:
            raise SynthPipelineError(
                f"{source}: categorical_columns names {both}, also in {field}; a column has one role: remove it "
                f"from categorical_columns or from {field}")
    return declared_columns(declared)


def store_categorical_columns(store: DatasetStore, source_key: dg.AssetKey, columns: list[CategoricalColumn]) -> None:
    """Keep the resolved categorical columns beside the real source (read by :func:`stored_categorical_columns`)."""
    store_columns(store, source_key, MONITOR, columns)


def stored_categorical_columns(store: DatasetStore, source_key: dg.AssetKey | None) -> list[str]:
    """The categorical columns resolved at the real source's ingestion ([] before any, or none)."""
    return stored_columns(store, source_key, MONITOR)


def measured_categories(columns: Collection[str], *, label_column: str | None, label_is_class: bool) -> list[str]:
    """The columns every measure treats as categories: the resolved list, and the label when it holds classes.

    Args:
        columns: The resolved categorical columns (:func:`stored_categorical_columns`).
        label_column: The label, if any.
        label_is_class: False for a regression label (a quantity).
    """
    label = [label_column] if label_column and label_is_class and label_column not in columns else []
    return [*columns, *label]
