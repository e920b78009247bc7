"""Great Expectations (GX Core 1.x) suites, stored as JSON files, run as Dagster asset checks.

One suite file per data stage, ``<suites dir>/<stage>.json`` (e.g. ``synthetic.json``),
written by :func:`write_suites` from the real reference data and then edited by hand
at will. Each suite holds:

* the schema: exactly the reference's user columns plus the five provenance columns;
* valid provenance columns: the kinds the stage may hold (``real`` only in the real
  stages, and so on), no nulls, generation and depth at least 0, depth 0 in real stages;
* the reference's values: numeric columns between the reference min and max, other
  columns (and always the label) within the reference's distinct values (up to 100),
  and no nulls in columns the reference has none in.

:func:`build_expectation_checks` turns the files into blocking asset checks named
``expectations``, which read the suite file each time they run.

Importing this module does not import great_expectations (2-3 s of CPU): :func:`validate`
imports it on first use, once per process, and validates every frame of that process as a
batch of one GX runtime (:mod:`synth_pipeline.quality.gx_runtime`).
"""

# No ``from __future__ import annotations`` here: Dagster reads the check function's
# annotations (context type, resource parameter) as objects, not strings.

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.atomic_files import atomic_write
from synth_pipeline.config_json import read_json_config
from synth_pipeline.config_text import cut
from synth_pipeline.errors import ConfigFileError, SynthPipelineError
from synth_pipeline.naming import STAGE_PROVENANCE, Stage
from synth_pipeline.provenance import (
    DATASET_COLUMN,
    DEPTH_COLUMN,
    GENERATION_COLUMN,
    KIND_COLUMN,
    PROVENANCE_COLUMNS,
    ROW_HASH_COLUMN,
    ProvenanceKind,
    user_columns,
)
from synth_pipeline.quality.gx_runtime import gx_runtime

CHECK_NAME = "expectations"
MAX_SET_VALUES = 100
"""Columns with more distinct reference values than this get no in-set expectation (the label always gets one)."""
MAX_UNEXPECTED_SAMPLES = 20
"""GX's SUMMARY result keeps at most this many unexpected values per expectation."""
_SINGLE_KIND_STAGES = (ProvenanceKind.REAL, ProvenanceKind.SYNTHETIC, ProvenanceKind.AUGMENTED)
_REFERENCE = "reference data"


@dataclass(frozen=True)
class ValidationSummary:
    """The outcome of validating a frame against a suite.

    Attributes:
        success: Every expectation succeeded.
        evaluated: Expectations evaluated.
        successful: Expectations that succeeded.
        failed: Expectations that failed (including those GX could not evaluate).
        success_percent: ``100 * successful / evaluated`` (100 for an empty suite).
        failures: One dict per failed expectation: ``expectation`` (type), ``column``,
            ``unexpected_count``, ``unexpected_percent``, ``partial_unexpected_list`` (the
            first ``unexpected_samples`` offending values; empty unless asked for, since they
            are raw row values), ``observed_value`` and ``details`` (e.g. the missing and
            unexpected columns of a schema mismatch; for column expectations only when
            ``unexpected_samples`` > 0, since a column's max or distinct values are row
            values) and ``error`` (the message when GX raised, e.g. on a missing column), all
            JSON-safe.
        results: One dict per expectation, in suite order: ``expectation``, ``column``,
            ``success`` and ``unexpected_count``.
    """

    success: bool
    evaluated: int
    successful: int
    failed: int
    success_percent: float
    failures: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)


# --- building and storing suites (no great_expectations import needed) ---


def suite_for_stage(
    reference: pd.DataFrame, *, stage: Stage, suite_name: str, label_column: str,
    identifiers: Iterable[str] | None = None, task: str = "auto", text_columns: Iterable[str] | None = None,
) -> dict:
    """Build a GX suite for one data stage from the real reference data.

    The result is the plain JSON structure GX reads back with
    ``gx.ExpectationSuite(**suite)``: ``name``, ``expectations`` (each with ``type``,
    ``kwargs`` and ``meta``) and ``meta``. Numeric columns get a range, string, categorical
    and boolean columns a value set (up to 100 values); columns of other types (e.g.
    datetimes) only a not-null expectation, when the reference has no nulls there. The
    unknown-provenance stage gets the schema and provenance expectations only: its data
    is unvetted by definition (and quarantined by default).

    Args:
        reference: The real data; provenance columns, if present, are ignored.
        stage: The stage the suite is for; it decides the provenance kinds allowed.
        suite_name: The suite's name.
        label_column: The label; its values are always checked against the reference's.
        identifiers: Identifier columns, which get no range or value set (generated rows
            carry fresh keys); None detects them (:func:`~synth_pipeline.identifiers.detect_identifiers`).
        task: The spec's ``task``; a label that resolves to regression (:mod:`synth_pipeline.task`)
            gets a range like any number, not a value set.
        text_columns: Free-text columns, which get no value set (generated text is new by
            design; :mod:`synth_pipeline.text` measures it); None detects them
            (:func:`~synth_pipeline.text_columns.detect_text_columns`).

    Returns:
        The suite as a JSON-serializable dict.

    Raises:
        SynthPipelineError: The label column is not in the reference data.
    """
    stage = Stage(stage)
    data = reference[user_columns(reference)]
    if label_column not in data.columns:
        raise SynthPipelineError(
            f"label column {label_column!r} is not in the reference data (columns: {list(data.columns)}); "
            "pass the pipeline spec's label_column"
        )
    expectations = [
        _expectation(
            "expect_table_columns_to_match_set",
            {"column_set": [str(c) for c in data.columns] + list(PROVENANCE_COLUMNS), "exact_match": True},
            source="reference data and provenance columns",
        ),
        *_provenance_expectations(stage),
    ]
    if identifiers is None:
        from synth_pipeline.identifiers import detect_identifiers

        identifiers = [found.column for found in detect_identifiers(data, label_column=label_column)]
    keys = set(identifiers)
    if text_columns is None:
        from synth_pipeline.text_columns import detect_text_columns

        text_columns = [found.column for found in detect_text_columns(data, label_column=label_column, exclude=keys)]
    keys |= set(text_columns)  # like keys, free text gets no value set: only "not null" holds for it
    from synth_pipeline.task import detect_task

    label_task = detect_task(data[label_column], task, column=label_column, source="the reference data")
    label_is_class = not label_task.is_regression
    if stage is not Stage.UNKNOWN:  # unvetted by definition: add value checks by hand if you want them
        for column in data.columns:
            found = _column_expectations(data[column], is_label=column == label_column and label_is_class)
            if column in keys:  # fresh keys and new text in generated rows: only "not null" holds for them
                found = [e for e in found if e["type"] == "expect_column_values_to_not_be_null"]
            expectations += found
    return {
        "name": suite_name,
        "expectations": expectations,
        "meta": {
            "synth_pipeline": {
                "stage": stage.value,
                "label_column": label_column,
                "reference_rows": len(data),
                "generated_by": "synth_pipeline.quality.expectations.suite_for_stage",
            }
        },
    }


def allowed_kinds(stage: Stage) -> list[str]:
    """The provenance kinds a stage may hold: its own for single-kind stages, any kind otherwise."""
    expected = STAGE_PROVENANCE[Stage(stage)]
    if expected in _SINGLE_KIND_STAGES:
        return [expected]
    return [kind.value for kind in ProvenanceKind]


def _expectation(kind: str, kwargs: dict[str, Any], *, source: str = _REFERENCE, **meta: Any) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {"source": source, **meta}}


def _provenance_expectations(stage: Stage) -> list[dict]:
    real_only = STAGE_PROVENANCE[stage] == ProvenanceKind.REAL
    source = f"provenance model, stage {stage.value}"
    found = [
        _expectation(
            "expect_column_values_to_be_in_set", {"column": KIND_COLUMN, "value_set": allowed_kinds(stage)},
            source=source,
        )
    ]
    found += [
        _expectation("expect_column_values_to_not_be_null", {"column": column}, source=source)
        for column in (KIND_COLUMN, ROW_HASH_COLUMN, DATASET_COLUMN, GENERATION_COLUMN, DEPTH_COLUMN)
    ]
    found.append(
        _expectation(
            "expect_column_values_to_be_between", {"column": GENERATION_COLUMN, "min_value": 0, "max_value": None},
            source=source,
        )
    )
    found.append(
        _expectation(
            "expect_column_values_to_be_between",
            {"column": DEPTH_COLUMN, "min_value": 0, "max_value": 0 if real_only else None},
            source=source,
        )
    )
    return found


def _column_expectations(values: pd.Series, *, is_label: bool) -> list[dict]:
    """Not null (when the reference has no nulls), then a range or a value set."""
    column = str(values.name)
    found = []
    if not values.isna().any():
        found.append(_expectation("expect_column_values_to_not_be_null", {"column": column}))
    present = values.dropna()
    if present.empty:
        return found
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and not is_label:
        bounds = {"min_value": _json_safe(present.min()), "max_value": _json_safe(present.max())}
        found.append(_expectation("expect_column_values_to_be_between", {"column": column, **bounds}))
    elif is_label or _is_categorical(values):
        value_set = _value_set(present)
        if value_set is not None and (is_label or len(value_set) <= MAX_SET_VALUES):
            found.append(
                _expectation(
                    "expect_column_values_to_be_in_set", {"column": column, "value_set": value_set},
                    distinct_values=len(value_set),
                )
            )
    return found


def _is_categorical(values: pd.Series) -> bool:
    types = pd.api.types
    return (
        types.is_bool_dtype(values) or types.is_object_dtype(values) or types.is_string_dtype(values)
        or isinstance(values.dtype, pd.CategoricalDtype)
    )


def _value_set(present: pd.Series) -> list | None:
    """The distinct values as plain JSON scalars, sorted; None if one has no exact JSON form."""
    distinct = [value.item() if isinstance(value, np.generic) else value for value in pd.unique(present)]
    if not all(isinstance(value, str | int | float | bool) for value in distinct):
        return None  # e.g. dates in an object column: their text would never match the data
    return sorted(distinct, key=lambda value: (type(value).__name__, value))


def write_suites(
    reference: pd.DataFrame,
    *,
    stages: Iterable[Stage | str],
    directory: Path,
    pipeline_name: str,
    label_column: str,
    overwrite: bool = False,
    identifiers: Iterable[str] | None = None,
    task: str = "auto",
    text_columns: Iterable[str] | None = None,
) -> list[Path]:
    """Write one suite file per stage, ``<directory>/<stage>.json``, built from the reference data.

    Files are written atomically (indented JSON with sorted keys). Nothing is written
    when any target file exists and ``overwrite`` is False.

    Args:
        reference: The real data (user columns; provenance columns are ignored).
        stages: The data stages to write suites for.
        directory: Where the files go (created if missing).
        pipeline_name: The pipeline; suites are named ``<pipeline>/<stage>``.
        label_column: The label column.
        overwrite: Replace existing suite files (hand edits in them are lost).
        identifiers: Identifier columns (see :func:`suite_for_stage`); None detects them.
        task: The spec's ``task`` (see :func:`suite_for_stage`).
        text_columns: Free-text columns (see :func:`suite_for_stage`); None detects them.

    Returns:
        The paths written, in the order of ``stages``.

    Raises:
        SynthPipelineError: A suite file exists and ``overwrite`` is False, or the label
            column is not in the reference data.
    """
    directory = Path(directory)
    targets = {Stage(stage): directory / f"{Stage(stage).value}.json" for stage in stages}
    existing = [str(path) for path in targets.values() if path.exists()]
    if existing and not overwrite:
        raise SynthPipelineError(
            f"expectation suite file(s) {existing} already exist and may hold hand edits; "
            "delete them or pass overwrite=True to replace them"
        )
    for stage, path in targets.items():
        suite = suite_for_stage(
            reference, stage=stage, suite_name=f"{pipeline_name}/{stage.value}", label_column=label_column,
            identifiers=identifiers, task=task, text_columns=text_columns,
        )
        text = json.dumps(suite, indent=2, sort_keys=True, allow_nan=False) + "\n"
        atomic_write(path, lambda handle, text=text: handle.write(text.encode()))
    return list(targets.values())


def load_suite(path: Path) -> dict:
    """Read a suite file and check its structure (not the expectations themselves: GX does that).

    Args:
        path: The suite file.

    Returns:
        The suite as a dict, ready for :func:`validate`.

    Raises:
        SynthPipelineError: The file is missing, or lacks a ``name`` or an ``expectations``
            list of ``{"type": ..., "kwargs": {...}}`` objects.
        ConfigFileError: The file is too large, not UTF-8 or not valid JSON, or holds a key
            twice in one object, ``NaN``/``Infinity`` or an overlong number (see
            :mod:`synth_pipeline.config_json`).
    """
    path = Path(path)
    if not path.exists():
        raise SynthPipelineError(
            f"expectation suite {path} does not exist; write it with "
            "synth_pipeline.quality.expectations.write_suites() or point the check at the right directory"
        )
    try:
        suite = read_json_config(path, what="expectation suite")
    except ConfigFileError as error:
        raise ConfigFileError(f"{error}; or write the file again with write_suites(..., overwrite=True)") from None
    problem = _structure_problem(suite)
    if problem:
        raise SynthPipelineError(
            f"expectation suite {path} is not a Great Expectations suite: {problem}. A suite is "
            '{"name": "...", "expectations": [{"type": "expect_...", "kwargs": {...}, "meta": {...}}], "meta": {}}'
        )
    return suite


def _structure_problem(suite: Any) -> str | None:
    if not isinstance(suite, dict):
        return f"the file holds a JSON {type(suite).__name__}, not an object"
    if not isinstance(suite.get("name"), str) or not suite["name"]:
        return "'name' is missing or not a non-empty string"
    if not isinstance(suite.get("expectations"), list):
        return "'expectations' is missing or not a list"
    for index, item in enumerate(suite["expectations"]):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            return f"expectation {index} has no 'type'"
        if not isinstance(item.get("kwargs", {}), dict):
            return f"expectation {index} ({cut(item['type'], 60)}) has 'kwargs' that is not an object"
    return None


# --- validating with great_expectations ---


def validate(frame: pd.DataFrame, suite: dict, *, unexpected_samples: int = 0) -> ValidationSummary:
    """Validate a frame against a suite with GX and summarize the outcome.

    The frame is one batch of the process's GX runtime (:func:`~synth_pipeline.quality.gx_runtime.gx_runtime`:
    GX imported, and its ephemeral context, data source and batch definition made, once per
    process). The whole suite is validated on it in one pass with GX's ``BOOLEAN_ONLY`` results;
    only the expectations that failed or pass with ``mostly`` below 1 are validated again on the
    same batch for their counts (``SUMMARY``), so a suite that passes costs one validation.

    Args:
        frame: The data to validate.
        suite: A suite dict (from :func:`suite_for_stage` or :func:`load_suite`).
        unexpected_samples: How many offending values of each failed expectation to keep
            (at most 20). Default 0: results hold counts only, no row values.

    Returns:
        The summary, with one entry per failed expectation in ``failures``.

    Raises:
        SynthPipelineError: An expectation in the suite is not valid (unknown type,
            missing or unknown arguments).
    """
    runtime = gx_runtime()
    expectation_suite = _build_suite(runtime.gx, suite)
    with runtime.lock:
        batch = runtime.batch(frame)
        # GX's SUMMARY format costs about twice BOOLEAN_ONLY (measured: 0.69 s vs 0.27 s of CPU
        # for a 71-expectation suite on 569 rows), and most expectations pass.
        quick = batch.validate(expectation_suite, result_format="BOOLEAN_ONLY")
        ordered = _in_suite_order(quick.results, expectation_suite)
        again = [index for index, item in enumerate(ordered) if _needs_counts(item)]
        if again:
            detailed_suite = runtime.gx.ExpectationSuite(
                name=f"{expectation_suite.name} (details)",
                expectations=[ordered[index].expectation_config.to_domain_obj() for index in again])
            detailed = _in_suite_order(batch.validate(detailed_suite, result_format="SUMMARY").results,
                                       detailed_suite)
            for index, item in zip(again, detailed, strict=True):
                ordered[index] = item
    samples = max(0, min(unexpected_samples, MAX_UNEXPECTED_SAMPLES))
    outcomes = [_outcome(item, samples) for item in ordered]
    failures = [outcome for outcome in outcomes if not outcome["success"]]
    evaluated = len(outcomes)
    return ValidationSummary(
        success=not failures,
        evaluated=evaluated,
        successful=evaluated - len(failures),
        failed=len(failures),
        success_percent=100.0 * (evaluated - len(failures)) / evaluated if evaluated else 100.0,
        failures=[{k: v for k, v in outcome.items() if k != "success"} for outcome in failures],
        results=[{k: outcome[k] for k in ("expectation", "column", "success", "unexpected_count")}
                 for outcome in outcomes],
    )


def _needs_counts(item: Any) -> bool:
    """Whether a BOOLEAN_ONLY result leaves out counts or values the summary reports.

    A passing column expectation without ``mostly`` has no unexpected value: its count is 0.
    A passing table expectation (``expect_table_...``) has no count, and of its result only a
    failure's details (e.g. the missing columns) are reported: it is not validated again, so a
    suite whose expectations all pass is validated once. Other expectations without a column
    (column pairs, several columns) are, for their counts.
    """
    config = item.expectation_config
    if not item.success or item.exception_info and _exception_message(item.exception_info):
        return True
    if str(config.type).startswith("expect_table_"):
        return False
    if config.kwargs.get("column") is None:
        return True
    mostly = config.kwargs.get("mostly")
    return mostly is not None and mostly < 1


def _build_suite(gx: ModuleType, suite: dict) -> Any:
    """The GX suite; each expectation built on its own so that an invalid one raises.

    ``gx.ExpectationSuite(**suite)`` logs an expectation of unknown type to stderr and
    drops it from the suite: a typo would silently disable that expectation.
    """
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    name = suite.get("name")
    expectations = []
    for index, item in enumerate(suite.get("expectations", [])):
        try:
            expectations.append(ExpectationConfiguration(**item).to_domain_obj())
        except Exception as error:  # noqa: BLE001 - GX raises several unrelated types here
            raise SynthPipelineError(
                f"expectation suite {name!r}: expectation {index} ({item.get('type')}, kwargs "
                f"{item.get('kwargs')}) is not a valid GX expectation: {error}"
            ) from error
    return gx.ExpectationSuite(
        name=name, expectations=expectations, meta=suite.get("meta"), notes=suite.get("notes"),
        suite_parameters=suite.get("suite_parameters"),
    )


def _in_suite_order(results: Sequence[Any], expectation_suite: Any) -> list[Any]:
    """GX returns results grouped by how it computed them; put them back in the suite's order."""
    positions: dict[str, int] = {}
    for index, expectation in enumerate(expectation_suite.expectations):
        positions.setdefault(_identity(expectation.configuration), index)
    return sorted(results, key=lambda item: positions.get(_identity(item.expectation_config), len(positions)))


def _identity(configuration: Any) -> str:
    # The result's configuration also carries the batch id.
    kwargs = {key: value for key, value in configuration.kwargs.items() if key != "batch_id"}
    return json.dumps(_json_safe([configuration.type, kwargs, configuration.meta]), sort_keys=True)


def _outcome(item: Any, samples: int) -> dict[str, Any]:
    """A small JSON-safe dict describing one expectation's result."""
    config = item.expectation_config
    result = item.result or {}
    error = _exception_message(item.exception_info)
    column = config.kwargs.get("column")
    # A column expectation's observed value and details can hold row values (a max, the
    # distinct values and their counts); a table's name columns (a schema mismatch).
    shows_values = samples > 0 or column is None
    details = _json_safe(result.get("details")) if shows_values else None
    return {
        "expectation": config.type,
        "column": _json_safe(column),
        "success": bool(item.success) and error is None,
        # BOOLEAN_ONLY results of passing expectations carry no counts: they are 0 (see _needs_counts)
        "unexpected_count": _json_safe(result.get("unexpected_count", None if column is None else 0)),
        "unexpected_percent": _json_safe(result.get("unexpected_percent", None if column is None else 0.0)),
        "partial_unexpected_list": _json_safe(list(result.get("partial_unexpected_list") or [])[:samples]),
        # a schema mismatch's details name the columns; its observed value lists them all
        "observed_value": None if details or not shows_values else _json_safe(result.get("observed_value")),
        "details": details,
        "error": error,
    }


def _exception_message(info: Any) -> str | None:
    """The message of an exception GX caught, from either layout of ``exception_info``.

    It is ``{"raised_exception": ..., "exception_message": ...}`` or, when a metric
    failed, a dict of those keyed by metric id.
    """
    if not isinstance(info, dict):
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            return str(entry.get("exception_message") or "GX raised an exception")
    return None


def _json_safe(value: Any) -> Any:
    """``value`` with numpy scalars made plain, NaN and missing values as None, other objects as text."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool):
        return value
    return str(value)


# --- Dagster asset checks ---
