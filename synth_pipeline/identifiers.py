"""Identifier columns: keys that name a record rather than describe it.

A unique ``customer_id`` or a 1..n row number carries no pattern a generator should learn,
and a generator that treats it as a category replays real keys: SDV's Gaussian copula
samples categorical values from the fitted frequencies, so every synthetic ``customer_id``
is a real customer's. So identifier columns are

- found once, at ingestion of the real source (:func:`detect_identifiers`), unless the spec
  declares them (``identifier_columns``: a list, or ``[]`` for "none");
- kept out of every generator's fit (the synthetic and augmented stages), of the model's
  features and of every quality measure (fidelity, privacy, diversity, utility);
- given *fresh* keys in generated rows (:func:`fresh_keys`), which cannot equal a real key
  known at generation time: text keys ``syn-<stage>-g<generation>-<n>``, integer keys
  negative and below the smallest real key;
- checked by the privacy check, which fails when any generated row holds a real key.

Detection rule (a column is identifier-like when all hold): it is not the label; it is
integer or text (not float, bool or dates: unique floats are the normal state of a
measurement); it has at least :data:`MIN_ROWS` values, of which at least
:data:`NEAR_UNIQUE` are distinct; and for integers, its name reads as a key
(:data:`KEY_NAME`) or its values are a near-contiguous range (a row number), so that a
near-unique measurement (an income in dollars) stays a feature; for text, the values are
short (median at most :data:`MAX_KEY_WORDS` words), so that free text stays a feature.
"""

from __future__ import annotations

import re
import warnings
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
from synth_pipeline.storage import DatasetStore

if TYPE_CHECKING:
    import dagster as dg

MIN_ROWS = 20
"""Below this many values, uniqueness is no evidence of a key (most columns of 10 rows are unique)."""

NEAR_UNIQUE = 0.95
"""Share of distinct values among the non-missing ones from which a column is near-unique."""

MAX_KEY_WORDS = 3
"""Text keys (codes, e-mail addresses, names) have at most this many words at the median."""

KEY_NAME = re.compile(r"(^|[_\-\s.])(id|key|uuid|guid|number|num|no|nr|code|index|idx)$|^id[_\-\s.]|^(id|key|index)$",
                      re.IGNORECASE)
"""Column names that read as a key: ``id``, ``customer_id``, ``order-no``, ``key`` ..."""

_UNSPACED_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
"""Kana and CJK ideographs: scripts written without spaces, where each character counts as a word."""


def word_counts(values: pd.Series) -> pd.Series:
    """Words per value: whitespace-separated words, or the kana and CJK characters when there are more
    (Japanese and Chinese are written without spaces: a sentence would otherwise count as one word).
    Missing values have 0."""
    text = values.fillna("").astype(str)
    return np.maximum(text.str.split().str.len(), text.str.count(_UNSPACED_SCRIPT.pattern))


INTEGER_KEY_SPACING = 1_000_000_000
"""Fresh integer keys of one generation and stage lie in their own block of this size."""

MONITOR = "identifiers"
"""The stored monitor (under the real source's key) that holds the resolved identifier columns."""


IdentifierColumn = ResolvedColumn
"""One identifier column: its name, ``origin`` (``declared`` or ``detected``) and ``evidence``."""


def detect_identifiers(
    frame: pd.DataFrame, *, label_column: str, exclude: Collection[str] = ()
) -> list[IdentifierColumn]:
    """The identifier-like user columns of ``frame`` (see the module docs for the rule).

    Args:
        frame: Real rows (user columns and any provenance columns, which are ignored).
        label_column: Never an identifier.
        exclude: Columns declared otherwise (the spec's ``text_columns``), never identifiers.

    Returns:
        The detected columns, in column order.
    """
    return detected_columns(frame, key_evidence, label_column=label_column, exclude=exclude)


def key_evidence(values: pd.Series) -> str | None:
    """The figures that make ``values`` a record key under the module's rule, or None when it is not."""
    types = pd.api.types
    present = values.dropna()
    if len(present) < MIN_ROWS or types.is_bool_dtype(values):
        return None
    distinct = int(present.nunique())
    share = distinct / len(present)
    if share < NEAR_UNIQUE:
        return None
    figures = f"{distinct} distinct of {len(present)} values ({share:.1%})"
    if types.is_integer_dtype(values):
        span = float(present.max()) - float(present.min()) + 1
        if KEY_NAME.search(str(values.name)):
            return f"{figures}, integer, named like a key"
        if span <= 1.1 * distinct:
            return f"{figures}, integers filling {int(span)} consecutive values (a row number)"
        return None
    if types.is_object_dtype(values) or types.is_string_dtype(values):
        if not all(isinstance(v, str) for v in present.head(1000)):
            return None
        words = word_counts(present).median()
        if words <= MAX_KEY_WORDS and not _reads_as_measurement(present.astype(str)):
            return f"{figures}, short text (median {words:g} words)"
    return None


_NUMBER_TEXT = re.compile(r"^[-+]?[\d.,\s']*\d[\d.,\s']*(e[-+]?\d+)?$", re.IGNORECASE)


def _reads_as_measurement(text: pd.Series) -> bool:
    """Whether most values are numbers or points in time written as text (``2.427,94``,
    ``2024-07-30 09:33:38``): unique because they are measured finely, not because they name
    a record. Keys with letters or a leading zero (``CUST-000123``, ``000123``) are not."""
    sample = text.head(500)
    numbers = sample.str.fullmatch(_NUMBER_TEXT) & ~sample.str.match(r"^0\d")
    if numbers.mean() >= 0.9:
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(times.notna().mean() >= 0.9)


def resolve_identifiers(
    frame: pd.DataFrame, *, declared: list[str] | None, label_column: str, source: str, exclude: Collection[str] = ()
) -> list[IdentifierColumn]:
    """The identifier columns of a real source: the spec's list, or those detected.

    Args:
        frame: The real source's rows.
        declared: The spec's ``identifier_columns`` (None: detect; ``[]``: none).
        label_column: The label, which cannot be an identifier.
        source: The source's description, for messages.
        exclude: Columns the spec declares as free text, which detection leaves alone.

    Raises:
        SynthPipelineError: A declared column is missing from the source or is the label.
    """
    if declared is None:
        return detect_identifiers(frame, label_column=label_column, exclude=exclude)
    check_declared(frame, declared, field="identifier_columns", source=source)
    types = pd.api.types
    unfit = [f"{c} ({frame[c].dtype})" for c in declared
             if not (types.is_integer_dtype(frame[c]) or types.is_object_dtype(frame[c])
                     or types.is_string_dtype(frame[c])) or types.is_bool_dtype(frame[c])]
    if unfit:
        raise SynthPipelineError(
            f"{source}: identifier_columns names {', '.join(unfit)}: a record key must hold integers or text "
            "(generated rows get fresh keys of that type); remove it from identifier_columns, or store the key "
            "as text or integers")
    if label_column in declared:
        raise SynthPipelineError(
            f"{source}: identifier_columns names the label column {label_column!r}; a label cannot be "
            "a record key: remove it from identifier_columns")
    return declared_columns(declared)


def store_identifiers(store: DatasetStore, source_key: dg.AssetKey, identifiers: list[IdentifierColumn]) -> None:
    """Keep the resolved identifier columns beside the real source (read by :func:`stored_identifiers`)."""
    store_columns(store, source_key, MONITOR, identifiers)


def stored_identifiers(store: DatasetStore, source_key: dg.AssetKey) -> list[str]:
    """The identifier columns resolved at the real source's ingestion ([] before any, or none)."""
    return stored_columns(store, source_key, MONITOR)


def real_keys(store: DatasetStore, source_key: dg.AssetKey, identifiers: list[str]) -> pd.DataFrame:
    """Every real key known now: the identifier columns of the stored real source."""
    if not identifiers:
        return pd.DataFrame()
    from synth_pipeline.stage_files import read_parquet

    return read_parquet(store.parquet_path(source_key), columns=identifiers)


def fresh_keys(real_keys: pd.Series, count: int, *, generation: int, stage: str) -> pd.Series:
    """``count`` keys for generated rows that equal no key in ``real_keys``.

    Text keys read ``syn-<stage>-g<generation>-<n>`` (``n`` from 1, zero-padded); integer keys
    are negative, in a block per generation and stage below ``min(0, smallest real key)``.

    Args:
        real_keys: Every real value of the column known now (the real source's).
        count: Keys to make.
        generation: The generation of the rows (keeps generations' keys apart).
        stage: A short stage tag, e.g. ``synthetic`` or ``augmented``.

    Returns:
        The keys, with ``real_keys``' dtype where it can hold them, index ``0..count-1``.
    """
    known = set(real_keys.dropna().tolist())
    if pd.api.types.is_integer_dtype(real_keys):
        floor = min(0, int(real_keys.min())) if real_keys.notna().any() else 0
        block = (2 * generation + (stage != "synthetic")) * INTEGER_KEY_SPACING
        keys = floor - block - np.arange(1, count + 1, dtype=np.int64)
        return pd.Series(keys, dtype=real_keys.dtype)
    width = max(6, len(str(count)))
    prefix = f"syn-{stage}-g{generation}-"
    while any(str(k).startswith(prefix) for k in known):  # a real key in our namespace: move out of it
        prefix = "x" + prefix
    keys = pd.Series([f"{prefix}{n:0{width}d}" for n in range(1, count + 1)], dtype=object)
    return keys.astype(real_keys.dtype) if pd.api.types.is_string_dtype(real_keys) else keys


def with_fresh_keys(
    generated: pd.DataFrame, real: pd.DataFrame, identifiers: list[str], columns: list[str], *,
    generation: int, stage: str,
) -> pd.DataFrame:
    """``generated`` (made without the identifier columns) with fresh keys, in ``columns`` order."""
    out = generated.reset_index(drop=True).copy()
    for column in identifiers:
        out[column] = fresh_keys(real[column], len(out), generation=generation, stage=stage)
    return out[[c for c in columns if c in out.columns]]


def real_keys_in(generated: pd.DataFrame, real: pd.DataFrame, identifiers: list[str]) -> dict[str, int]:
    """Per identifier column, how many generated rows hold a real key (columns missing on either side are skipped)."""
    counts = {}
    for column in identifiers:
        if column in generated.columns and column in real.columns:
            counts[column] = int(generated[column].isin(set(real[column].dropna().tolist())).sum())
    return counts


def fresh_key_metadata(identifiers: list[str], generated: pd.DataFrame) -> dict[str, object]:
    """Materialization metadata saying which columns got fresh keys, with the first and last key."""
    import dagster as dg

    described = {
        column: (f"fresh keys {generated[column].iloc[0]} .. {generated[column].iloc[-1]} (never a real key)"
                 if len(generated) else "fresh keys (no rows)")
        for column in identifiers if column in generated.columns
    }
    return {"identifier_columns": dg.MetadataValue.json(described)}
