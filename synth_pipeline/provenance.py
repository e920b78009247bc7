"""The provenance model: the four kinds and the per-row provenance columns.

Every row handled by synth-pipeline carries five reserved columns (prefix ``_sp_``):

========================  ========  ===================================================
column                    type      meaning
========================  ========  ===================================================
``_sp_kind``              string    ``real``, ``synthetic``, ``augmented`` or ``unknown``
``_sp_generation``        int32     generation in which the row entered the pipeline
                                    (0 = before the first generation)
``_sp_depth``             int32     generator hops from real data: real = 0; a row made
                                    by a generator fitted on rows of max depth d has
                                    depth d + 1; augmented rows keep their source's depth
``_sp_row_hash``          uint64    stable content hash of the row's user columns
``_sp_dataset``           string    the dataset (asset key) that produced the row
========================  ========  ===================================================

Data that arrives without these columns is ``unknown``, never ``real``, unless the
stage that ingests it explicitly declares it real.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import pandas as pd

from synth_pipeline.errors import ProvenanceError, ReservedColumnError
from synth_pipeline.hashing import row_hashes

PROVENANCE_PREFIX = "_sp_"
KIND_COLUMN = "_sp_kind"
GENERATION_COLUMN = "_sp_generation"
DEPTH_COLUMN = "_sp_depth"
ROW_HASH_COLUMN = "_sp_row_hash"
DATASET_COLUMN = "_sp_dataset"
PROVENANCE_COLUMNS: tuple[str, ...] = (
    KIND_COLUMN,
    GENERATION_COLUMN,
    DEPTH_COLUMN,
    ROW_HASH_COLUMN,
    DATASET_COLUMN,
)
PROVENANCE_COLUMN_TYPES: dict[str, str] = {
    KIND_COLUMN: "string", GENERATION_COLUMN: "int32", DEPTH_COLUMN: "int32", ROW_HASH_COLUMN: "uint64",
    DATASET_COLUMN: "string",
}
"""The stored dtype of each provenance column (as pandas names it)."""
PROVENANCE_COLUMN_DESCRIPTIONS: dict[str, str] = {
    KIND_COLUMN: "Provenance of the row: real, synthetic, augmented or unknown (data that arrived without "
    "provenance is unknown, never real).",
    GENERATION_COLUMN: "Generation in which the row entered the pipeline (0 = before the first generation).",
    DEPTH_COLUMN: "Generator hops from real data: real rows 0; a row generated from rows of depth at most d "
    "has depth d + 1; augmented rows keep their source's depth.",
    ROW_HASH_COLUMN: "Stable content hash of the row's user columns (finds copies of real rows, e.g. of the "
    "sealed holdout).",
    DATASET_COLUMN: "The dataset (asset key) that produced the row.",
}
"""What each provenance column means, shown as its description in the Dagster UI."""


class ProvenanceKind(StrEnum):
    """Where a row (or a dataset) came from."""

    REAL = "real"
    """Collected from the world."""
    SYNTHETIC = "synthetic"
    """Produced by a generative model (SDV synthesizer, LLM, simulator)."""
    AUGMENTED = "augmented"
    """A transformation of real rows (noise, oversampling, recombination)."""
    UNKNOWN = "unknown"
    """Arrived without provenance metadata. Never assumed real."""


ALL_KINDS: tuple[ProvenanceKind, ...] = tuple(ProvenanceKind)


def user_columns(frame: pd.DataFrame) -> list[str]:
    """Return the user (non-provenance) columns of ``frame`` in their original order."""
    return [c for c in frame.columns if not str(c).startswith(PROVENANCE_PREFIX)]


def check_user_columns(frame: pd.DataFrame, *, source: str) -> None:
    """Reject user columns that collide with the reserved provenance prefix.

    Args:
        frame: The incoming data.
        source: Where the data came from, quoted in the error.

    Raises:
        ReservedColumnError: A column starts with ``_sp_`` but is not one of the five
            provenance columns, or the data carries only some of them.
    """
    reserved = [str(c) for c in frame.columns if str(c).startswith(PROVENANCE_PREFIX)]
    foreign = [c for c in reserved if c not in PROVENANCE_COLUMNS]
    if foreign:
        raise ReservedColumnError(
            f"{source}: column(s) {foreign} use the prefix '{PROVENANCE_PREFIX}', which "
            "synth-pipeline reserves for provenance columns. Rename them before ingestion "
            f"(e.g. frame.rename(columns={{'{foreign[0]}': '{foreign[0][len(PROVENANCE_PREFIX):]}'}}))."
        )
    if reserved and set(reserved) != set(PROVENANCE_COLUMNS):
        missing = sorted(set(PROVENANCE_COLUMNS) - set(reserved))
        raise ProvenanceError(
            f"{source}: carries only part of the provenance columns (missing {missing}). "
            "Either supply all of "
            f"{list(PROVENANCE_COLUMNS)} or none (then the rows are ingested as 'unknown')."
        )


def has_provenance(frame: pd.DataFrame) -> bool:
    """Return True when ``frame`` carries all provenance columns."""
    return all(c in frame.columns for c in PROVENANCE_COLUMNS)


def tag_rows(
    frame: pd.DataFrame,
    *,
    kind: ProvenanceKind | str,
    generation: int,
    dataset: str,
    depth: int | np.ndarray | pd.Series = 0,
) -> pd.DataFrame:
    """Return a copy of ``frame`` with fresh provenance columns.

    Any provenance columns already present are replaced; the content hash is computed
    from the user columns.

    Args:
        frame: Rows to tag (user columns only, or with old provenance columns).
        kind: Provenance kind of every row.
        generation: Generation in which the rows enter the pipeline.
        dataset: The producing dataset, usually the asset key as a string.
        depth: Generator hops from real data, one value or one per row.

    Returns:
        A new frame: the user columns followed by the five provenance columns.
    """
    kind = ProvenanceKind(kind)
    if kind is ProvenanceKind.REAL and np.any(np.asarray(depth) != 0):
        raise ProvenanceError("real rows have depth 0 by definition")
    data = frame[user_columns(frame)].reset_index(drop=True)
    tagged = data.copy()
    tagged[KIND_COLUMN] = pd.Series([kind.value] * len(data), dtype="string")
    tagged[GENERATION_COLUMN] = np.full(len(data), generation, dtype="int32")
    tagged[DEPTH_COLUMN] = np.broadcast_to(np.asarray(depth, dtype="int32"), (len(data),)).copy()
    tagged[ROW_HASH_COLUMN] = row_hashes(data)
    tagged[DATASET_COLUMN] = pd.Series([dataset] * len(data), dtype="string")
    return tagged


def ingest(
    frame: pd.DataFrame,
    *,
    dataset: str,
    generation: int = 0,
    declared_kind: ProvenanceKind | str | None = None,
) -> pd.DataFrame:
    """Bring external data under provenance control.

    Data that already carries all provenance columns keeps them (after validation).
    Data without them is tagged ``declared_kind`` when the stage declares one, and
    ``unknown`` otherwise: missing provenance is never assumed real.

    Args:
        frame: The incoming data.
        dataset: The ingesting dataset, recorded as producer of untagged rows.
        generation: Generation recorded on untagged rows.
        declared_kind: What the stage declares the data to be, or None.

    Returns:
        The data with valid provenance columns.

    Raises:
        ReservedColumnError: A user column uses the reserved prefix.
        ProvenanceError: Existing provenance columns are partial, invalid, or
            contradict ``declared_kind``.
    """
    check_user_columns(frame, source=dataset)
    if has_provenance(frame):
        frame = frame.reset_index(drop=True)
        validate_provenance(frame, source=dataset)
        if declared_kind is not None:
            kinds = set(frame[KIND_COLUMN].unique())
            if kinds - {ProvenanceKind(declared_kind).value}:
                declared = ProvenanceKind(declared_kind).value
                raise ProvenanceError(
                    f"{dataset}: declared {declared!r} but the rows' provenance columns say "
                    f"{sorted(str(k) for k in kinds)}. Rows that are not {declared} do not belong in this "
                    f"stage (ingest them through a stage that does not declare a kind, e.g. an unknown "
                    f"source); if they really are {declared}, drop their {PROVENANCE_PREFIX} columns."
                )
        return frame
    return tag_rows(
        frame,
        kind=declared_kind or ProvenanceKind.UNKNOWN,
        generation=generation,
        dataset=dataset,
    )


def validate_provenance(frame: pd.DataFrame, *, source: str) -> None:
    """Check that the provenance columns of ``frame`` hold valid values.

    Raises:
        ProvenanceError: A column is missing, a kind is not one of the four, a depth or
            generation is negative or null, a real row has non-zero depth, or a content
            hash does not match the row's user columns.
    """
    if not has_provenance(frame):
        missing = [c for c in PROVENANCE_COLUMNS if c not in frame.columns]
        raise ProvenanceError(f"{source}: provenance columns missing: {missing}")
    problems = provenance_problems(frame)
    if problems:
        raise ProvenanceError(
            f"{source}: invalid provenance columns: " + "; ".join(problems) + ". Fix those values, or drop all "
            f"five {PROVENANCE_PREFIX} columns so that the rows are tagged afresh by the stage ingesting them "
            "(as 'unknown' unless it declares a kind)."
        )


def provenance_problems(frame: pd.DataFrame) -> list[str]:
    """Describe every way the provenance columns of ``frame`` are invalid (empty if none).

    The descriptions hold column names and counts, never the offending values.
    """
    problems: list[str] = []
    kinds = frame[KIND_COLUMN]
    allowed = [k.value for k in ALL_KINDS]
    null_kinds = int(kinds.isna().sum())
    bad_kinds = int((kinds.notna() & ~kinds.isin(allowed)).sum())
    if null_kinds or bad_kinds:
        problems.append(
            f"{KIND_COLUMN}: {bad_kinds} rows with an unrecognised kind and {null_kinds} with none; "
            f"allowed: {allowed}"
        )
    for column in (GENERATION_COLUMN, DEPTH_COLUMN):
        values = frame[column]
        if not (pd.api.types.is_integer_dtype(values) or pd.api.types.is_float_dtype(values)):
            problems.append(f"{column} must hold non-negative integers, found dtype {values.dtype}")
            continue
        nulls, negative = int(values.isna().sum()), int((values < 0).sum())
        if nulls or negative:
            problems.append(f"{column}: {negative} negative and {nulls} null values (must be integers >= 0)")
    depth = pd.to_numeric(frame[DEPTH_COLUMN], errors="coerce")
    real_with_depth = int(((kinds == ProvenanceKind.REAL.value) & (depth != 0)).sum())
    if real_with_depth:
        problems.append(f"{real_with_depth} real rows with {DEPTH_COLUMN} != 0 (real rows have depth 0)")
    stored = pd.to_numeric(frame[ROW_HASH_COLUMN], errors="coerce").to_numpy()
    mismatched = int((row_hashes(frame[user_columns(frame)]) != stored).sum())
    if mismatched:
        problems.append(
            f"{mismatched} rows whose {ROW_HASH_COLUMN} does not match their values "
            "(rows were edited without re-tagging: tag them again with tag_rows)"
        )
    return problems


def combine(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate provenance-tagged frames, keeping every row's own provenance.

    Raises:
        ProvenanceError: A frame lacks provenance columns, or the frames' user columns
            differ.
    """
    if not frames:
        raise ProvenanceError("combine() needs at least one frame")
    columns = user_columns(frames[0])
    for index, frame in enumerate(frames):
        if not has_provenance(frame):
            raise ProvenanceError(f"frame {index} has no provenance columns; tag it first")
        if set(user_columns(frame)) != set(columns):
            raise ProvenanceError(
                f"frame {index} has columns {sorted(user_columns(frame))}, expected "
                f"{sorted(columns)}"
            )
    ordered = [f[columns + list(PROVENANCE_COLUMNS)] for f in frames]
    return pd.concat(ordered, ignore_index=True)


def dataset_kind(frame: pd.DataFrame) -> str:
    """The dataset-level provenance: the single kind of all rows, ``mixed`` or ``empty``."""
    return kind_label([str(kind) for kind in frame[KIND_COLUMN].unique()])


def kind_label(kinds_present: list[str]) -> str:
    """The single kind present, ``mixed`` for several, ``empty`` for none."""
    if len(kinds_present) == 1:
        return kinds_present[0]
    return "mixed" if kinds_present else "empty"
