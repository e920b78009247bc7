"""Free-text columns: prose (reviews, messages, prompts, responses) rather than categories.

A free-text column is hashed and provenance-tagged like any column, but it is not a
category: nearly every value is new, so category coverage, value sets, one-hot
encodings and "only fitted-on values" rules read it wrongly (a generator that writes new
sentences would fail them all, one that replays real sentences would pass them). So text
columns are

- found once, at ingestion of the real source (:func:`detect_text_columns`), unless the
  spec declares them (``text_columns``: a list, or ``[]`` for "none"), and kept beside
  the source like the identifier columns (:func:`stored_text_columns`);
- left out of the tabular quality measures and measured by the text ones instead
  (:mod:`synth_pipeline.text`): distinct-n, vocabulary and rare n-gram coverage, lengths,
  near-duplicates, near-copies of real records (MinHash), adversarial AUC on n-grams;
- open in output validation: generated text may, and should, be new;
- given to the model as text (hashed word n-grams, :mod:`synth_pipeline.modeling`).

Detection rule (a column is free text when all hold): it is not the label or an
identifier; its values are text; it has at least :data:`MIN_ROWS` values; its median value
has more than :data:`~synth_pipeline.identifiers.MAX_KEY_WORDS` words (the identifier
rule's bound, so a column is never both; kana and CJK characters count as words,
:func:`~synth_pipeline.identifiers.word_counts`); and at least :data:`MIN_DISTINCT_SHARE` of
its values are distinct (a category repeats far more than prose, even templated prose).
A declared column that reads as a record key or as a short category is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.identifiers import MAX_KEY_WORDS, key_evidence, word_counts
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

MIN_ROWS = 20
"""Below this many values a column is not detected as text (declare it instead)."""

MIN_DISTINCT_SHARE = 0.2
"""Share of distinct values among the non-missing ones from which multi-word text is prose, not a category
(templated support messages or boilerplate repeat often; a category of four-word titles repeats far more)."""

MAX_CATEGORY_VALUES = 20
"""A declared text column with at most this many distinct values and short values reads as a category."""

MONITOR = "text_columns"
"""The stored monitor (under the real source's key) that holds the resolved text columns."""


TextColumn = ResolvedColumn
"""One free-text column: its name, ``origin`` (``declared`` or ``detected``) and ``evidence``."""


def is_text_values(values: pd.Series) -> bool:
    """Whether a column holds text (object or string dtype, the first 1,000 present values all ``str``)."""
    types = pd.api.types
    if not (types.is_object_dtype(values) or types.is_string_dtype(values)) or types.is_bool_dtype(values):
        return False
    return all(isinstance(value, str) for value in values.dropna().head(1000))


def text_evidence(values: pd.Series) -> str | None:
    """The figures that make ``values`` free text under the module's rule, or None when it is not."""
    present = values.dropna()
    if len(present) < MIN_ROWS or not is_text_values(values):
        return None
    words = float(word_counts(present).median())
    share = present.nunique() / len(present)
    if words <= MAX_KEY_WORDS or share < MIN_DISTINCT_SHARE:
        return None
    return f"median {words:g} words, {share:.1%} of {len(present)} values distinct"


def detect_text_columns(
    frame: pd.DataFrame, *, label_column: str, exclude: list[str] | tuple[str, ...] = ()
) -> list[TextColumn]:
    """The free-text user columns of ``frame`` (see the module docs for the rule).

    Args:
        frame: Real rows (provenance columns are ignored).
        label_column: Never a text column (a label is a class or a number).
        exclude: Columns already resolved otherwise (identifier columns).

    Returns:
        The detected columns, in column order.
    """
    return detected_columns(frame, text_evidence, label_column=label_column, exclude=exclude)


def resolve_text_columns(
    frame: pd.DataFrame, *, declared: list[str] | None, label_column: str, identifiers: list[str], source: str
) -> list[TextColumn]:
    """The text columns of a real source: the spec's list, or those detected.

    Args:
        frame: The real source's rows.
        declared: The spec's ``text_columns`` (None: detect; ``[]``: none).
        label_column: The label, which cannot be a text column.
        identifiers: The identifier columns, which cannot be text columns.
        source: The source's description, for messages.

    Raises:
        SynthPipelineError: A declared column is missing, repeated, the label, an identifier,
            or does not hold text; the message names the column and the fix.
    """
    if declared is None:
        return detect_text_columns(frame, label_column=label_column, exclude=identifiers)
    check_declared(frame, declared, field="text_columns", source=source)
    if label_column in declared:
        raise SynthPipelineError(
            f"{source}: text_columns names the label column {label_column!r}; the label is what the model "
            "predicts (a class or a number): remove it from text_columns")
    keys = [c for c in declared if c in identifiers]
    if keys:
        raise SynthPipelineError(
            f"{source}: text_columns names {keys}, also identifier columns (record keys); a column is one or the "
            "other: remove it from text_columns or from identifier_columns")
    not_text = [f"{c} ({frame[c].dtype})" for c in declared if not is_text_values(frame[c])]
    if not_text:
        raise SynthPipelineError(
            f"{source}: text_columns names {', '.join(not_text)}, which do not hold text; remove them from "
            "text_columns, or store the values as text")
    for column in declared:
        values = frame[column]
        if (evidence := key_evidence(values)) is not None:
            raise SynthPipelineError(
                f"{source}: text_columns names {column!r}, which reads as a record key ({evidence}): a text "
                "generator would copy or remake its values; declare it in identifier_columns instead (generated "
                "rows get fresh keys), or remove it from text_columns")
        present = values.dropna()
        if present.nunique() <= MAX_CATEGORY_VALUES and float(word_counts(present).median()) <= MAX_KEY_WORDS:
            raise SynthPipelineError(
                f"{source}: text_columns names {column!r}, which reads as a category ({present.nunique()} distinct "
                f"values, median {float(word_counts(present).median()):g} words): a category is modelled and "
                "judged as one; remove it from text_columns")
    return declared_columns(declared)


def store_text_columns(store: DatasetStore, source_key: dg.AssetKey, text_columns: list[TextColumn]) -> None:
    """Keep the resolved text columns beside the real source (read by :func:`stored_text_columns`)."""
    store_columns(store, source_key, MONITOR, text_columns)


def stored_text_columns(store: DatasetStore, source_key: dg.AssetKey | None) -> list[str]:
    """The text columns resolved at the real source's ingestion ([] before any, or none)."""
    return stored_columns(store, source_key, MONITOR)
