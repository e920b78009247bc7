"""Fitting SDV synthesizers and sampling from them. SDV (and torch) load lazily here.

**Column sdtypes.** SDV's metadata detection (``Metadata.detect_from_dataframes``) reads a
column's *name* before its values: a column named ``city``, ``email``, ``first_name``,
``street_address``, ``phone_number``, ``ssn``, ``zip_code``, ``latitude``, ``iban`` ...
(``sdv.metadata._single_table._REFERENCE_TO_SDTYPE``) gets that PII sdtype, and a name with
the token ``id`` gets sdtype ``id``, whatever the column holds. SDV does not model such
columns: it fills them with made-up values (Faker's ``"North Diana"`` for a city, random
coordinates for a latitude), so a 394-level ``city`` column came out with no real value in
it. The SDV metadata built here (:func:`sdv_metadata`) keeps SDV's detection from the values
(``numerical``, ``categorical``, ``boolean``, ``datetime``, ``ordinal``: the sdtypes
:mod:`synth_pipeline.column_types` was verified with) and replaces a sdtype SDV chose by name
with the one it detects from the same values under a neutral name, unless the column is
declared open (``synthesizer.open_categories``): there SDV's made-up values are wanted
(e-mail addresses, names) and the name-based sdtype stays. Every replacement is logged and
recorded (:attr:`Synthesis.sdtypes_replaced`).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.degenerate_columns import (
    FALLBACK_DISTRIBUTIONS,
    CollapsedColumn,
    ColumnRecovery,
    find_collapsed_columns,
)
from synth_pipeline.modeling import SINGLE_THREAD_ROWS
from synth_pipeline.output_validation import explain_fit_failure, synthesizer_alternative
from synth_pipeline.spec import SynthesizerMethod

_TABLE = "table"
_CLASSES = {
    SynthesizerMethod.GAUSSIAN_COPULA: "GaussianCopulaSynthesizer",
    SynthesizerMethod.CTGAN: "CTGANSynthesizer",
    SynthesizerMethod.TVAE: "TVAESynthesizer",
}
VALUE_SDTYPES = frozenset({"numerical", "categorical", "boolean", "datetime", "ordinal"})
"""SDV sdtypes that model a column from its values; SDV gives every other sdtype it detects
(PII types such as ``city`` or ``email``, and ``id``) from the column's name and makes their values up."""


@dataclass(frozen=True)
class Synthesis:
    """Sampled rows, and what was done about columns the synthesizer collapsed.

    Attributes:
        rows: The sampled rows, with the columns (and column order) of the fit input.
        recoveries: One record per column that came out collapsed (see
            :mod:`synth_pipeline.degenerate_columns`), recovered or not.
        marginal_overrides: Column -> distribution the final fit used instead of the
            configured one (Gaussian copula only).
        sdtypes_replaced: Column -> ``"<sdtype SDV read from the name> -> <sdtype used>"``
            for each column whose name-based sdtype was replaced (see the module docs).
    """

    rows: pd.DataFrame
    recoveries: list[ColumnRecovery] = field(default_factory=list)
    marginal_overrides: dict[str, str] = field(default_factory=dict)
    sdtypes_replaced: dict[str, str] = field(default_factory=dict)


def fit_and_sample(
    training: pd.DataFrame,
    *,
    label_column: str,
    method: SynthesizerMethod | str,
    params: dict[str, Any],
    num_rows: int,
    seed: int,
    log: logging.Logger | Any | None = None,
    label_is_class: bool = True,
    open_columns: Collection[str] = (),
) -> pd.DataFrame:
    """Fit an SDV single-table synthesizer on ``training`` and sample ``num_rows`` rows.

    The rows of :func:`synthesize` (same arguments): collapsed Gaussian-copula columns are
    refitted; the record of what was recovered is dropped.

    Returns:
        The sampled rows, with the columns (and column order) of ``training``.
    """
    return synthesize(
        training, label_column=label_column, method=method, params=params, num_rows=num_rows, seed=seed, log=log,
        label_is_class=label_is_class, open_columns=open_columns,
    ).rows


def synthesize(
    training: pd.DataFrame,
    *,
    label_column: str,
    method: SynthesizerMethod | str,
    params: dict[str, Any],
    num_rows: int,
    seed: int,
    log: logging.Logger | Any | None = None,
    label_is_class: bool = True,
    open_columns: Collection[str] = (),
    categorical_columns: Collection[str] = (),
) -> Synthesis:
    """Fit, sample, and recover columns the synthesizer collapsed to one value.

    A sampled column that is (near) constant where ``training`` was not (see
    :func:`~synth_pipeline.degenerate_columns.find_collapsed_columns`) is, for the
    Gaussian copula, refitted with each marginal of
    :data:`~synth_pipeline.degenerate_columns.FALLBACK_DISTRIBUTIONS` in turn (through
    SDV's ``numerical_distributions``) until it no longer collapses. A column no
    fallback recovers, or any collapsed column of CTGAN or TVAE, is left as sampled:
    the diversity check judges it. Every finding and action is logged and returned.

    Args:
        training: The fit input: user columns only.
        label_column: Declared categorical in the SDV metadata, whatever its dtype
            (unless ``label_is_class`` is False).
        method: Which synthesizer to use.
        params: Extra keyword arguments for the synthesizer.
        num_rows: Rows to sample.
        seed: Seeds numpy and torch, so a fit and sample can be repeated.
        log: Where to report progress (a Dagster or stdlib logger).
        label_is_class: False for a regression label: it keeps the sdtype SDV detects from
            its values (numerical), so the generator models it as a quantity, not as categories.
        open_columns: Columns whose generated values may be new (``synthesizer.open_categories``):
            they keep the sdtype SDV reads from their name (e.g. ``email``: made-up addresses);
            every other column is modelled from its values (see the module docs).
        categorical_columns: Numeric columns that hold categories (flags, codes; see
            :mod:`synth_pipeline.categorical_columns`): sdtype ``categorical`` where SDV detects ``numerical``.

    Returns:
        The sampled rows and the record of recoveries.

    Raises:
        GeneratedDataError: The synthesizer failed on a column whose scale float64
            arithmetic cannot handle (see :func:`~synth_pipeline.output_validation.explain_fit_failure`).
    """
    method = SynthesizerMethod(method)
    declared_label = label_column if label_is_class else None
    metadata, replaced = sdv_metadata(training, label_column=declared_label, open_columns=open_columns,
                                      categorical_columns=categorical_columns)
    if replaced:
        _log(log, "info", "SDV reads these columns by their names as personal data or keys and would make their "
                          "values up; they are modelled from their values instead: "
             + ", ".join(f"{column} (sdtype {change})" for column, change in replaced.items())
             + "; declare a column in synthesizer.open_categories to let SDV make its values up")
    rows, learned = _fit_and_sample_once(training, metadata, method, params, num_rows, seed, log)
    found = {c.column: c for c in find_collapsed_columns(training, rows)}
    if not found:
        return Synthesis(rows, sdtypes_replaced=replaced)
    for collapsed in found.values():
        _log(log, "warning", f"{method.value} collapsed column {collapsed.column}: {collapsed.evidence()}")
    if method is not SynthesizerMethod.GAUSSIAN_COPULA:
        action = f"left as sampled: {method.value} has no per-column marginal to refit; the diversity check judges it"
        recoveries = [ColumnRecovery(c, found[c], None, None, False, action) for c in found]
        return Synthesis(rows, recoveries, sdtypes_replaced=replaced)

    before = {c: learned.get(c) for c in found}
    configured = dict(params.get("numerical_distributions") or {})
    overrides: dict[str, str] = {}
    pending = [c for c in found if c in learned]
    for fallback in FALLBACK_DISTRIBUTIONS:
        targets = [c for c in pending if learned.get(c) != fallback]
        if not targets:
            continue
        overrides.update(dict.fromkeys(targets, fallback))
        _log(log, "info", f"refitting with the {fallback} marginal for {', '.join(targets)}")
        refit_params = {**params, "numerical_distributions": {**configured, **overrides}}
        rows, learned = _fit_and_sample_once(training, metadata, method, refit_params, num_rows, seed, log)
        again: dict[str, CollapsedColumn] = {c.column: c for c in find_collapsed_columns(training, rows)}
        for column in again.keys() - found.keys():  # not expected: other marginals are refitted unchanged
            found[column], before[column] = again[column], learned.get(column)
            _log(log, "warning", f"refit collapsed column {column}: {again[column].evidence()}")
        pending = [c for c in again if c in learned]
        if not pending:
            break
    recoveries = [_recovery(c, found[c], before[c], overrides.get(c), recovered=c not in pending) for c in found]
    for recovery in recoveries:
        _log(log, "info" if recovery.recovered else "warning", recovery.log_line())
    return Synthesis(rows, recoveries, overrides, replaced)


def _recovery(
    column: str, detected: CollapsedColumn, before: str | None, after: str | None, *, recovered: bool
) -> ColumnRecovery:
    if before is None:
        action = "left as sampled: not a fitted marginal of the copula; the diversity check judges it"
    elif recovered:
        action = f"recovered: marginal refitted as {after} (was {before})"
    else:
        action = f"not recovered by refitting as {after} (was {before}): left as sampled; the diversity check judges it"
    return ColumnRecovery(column, detected, before, after, recovered and before is not None, action)


def sdv_metadata(
    training: pd.DataFrame, *, label_column: str | None, open_columns: Collection[str] = (),
    categorical_columns: Collection[str] = (),
) -> tuple[dict[str, Any], dict[str, str]]:
    """The SDV metadata (as a dict, for ``Metadata.load_from_dict``) a synthesizer is fitted with.

    SDV's detection, except that a column whose sdtype SDV chose by name (not in
    :data:`VALUE_SDTYPES`) gets the sdtype SDV detects from its values under a neutral name,
    unless it is in ``open_columns`` (see the module docs); ``label_column`` is declared
    categorical (None: a regression label, modelled from its values like any column), and so is each of
    ``categorical_columns`` that SDV would model as a quantity (``numerical``): a postal code sampled
    as a number is a code that does not exist. A column SDV already models as discrete levels
    (``ordinal``, ``categorical``) keeps that sdtype.

    Args:
        training: The fit input: user columns only.
        label_column: The class label, or None.
        open_columns: Columns that keep the sdtype SDV reads from their name.
        categorical_columns: Numeric columns that hold categories (:mod:`synth_pipeline.categorical_columns`).

    Returns:
        The metadata, and for each replaced column ``"<sdtype by name> -> <sdtype used>"``.
    """
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframes({_TABLE: training}, infer_keys=None)
    columns = metadata.tables[_TABLE].columns
    by_name = [c for c, described in columns.items()
               if described["sdtype"] not in VALUE_SDTYPES and c not in set(open_columns)]
    replaced: dict[str, str] = {}
    if by_name:
        # The same values under names that read as nothing: SDV then detects from the values alone.
        neutral = training[by_name].set_axis([f"column_{i}" for i in range(len(by_name))], axis=1)
        detected = Metadata.detect_from_dataframes({_TABLE: neutral}, infer_keys=None).tables[_TABLE].columns
        for i, column in enumerate(by_name):
            from_values = detected[f"column_{i}"]
            replaced[str(column)] = f"{columns[column]['sdtype']} -> {from_values['sdtype']}"
            metadata.update_column(column_name=column, table_name=_TABLE, **from_values)
    if label_column is not None:
        metadata.update_column(column_name=label_column, sdtype="categorical", table_name=_TABLE)
    for column in categorical_columns:
        if column in columns and columns[column]["sdtype"] == "numerical":
            metadata.update_column(column_name=column, sdtype="categorical", table_name=_TABLE)
    return metadata.to_dict(), replaced


def _fit_and_sample_once(
    training: pd.DataFrame,
    metadata_dict: dict[str, Any],
    method: SynthesizerMethod,
    params: dict[str, Any],
    num_rows: int,
    seed: int,
    log: logging.Logger | Any | None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """One fit and sample with the metadata of :func:`sdv_metadata`; also the marginal each
    column was fitted with (Gaussian copula)."""
    from sdv import single_table
    from sdv.metadata import Metadata

    metadata = Metadata.load_from_dict(metadata_dict)
    synthesizer_class = getattr(single_table, _CLASSES[method])
    np.random.seed(seed % 2**32)
    if method is not SynthesizerMethod.GAUSSIAN_COPULA:
        import torch

        torch.manual_seed(seed)
    started = time.perf_counter()
    _log(log, "info", f"fitting {method.value} on {len(training)} rows x {training.shape[1]} columns "
                      f"(params {params or 'default'})")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*save_to_json.*")
        _check_params(synthesizer_class, method, params)
        synthesizer = synthesizer_class(metadata, **params)
        try:
            with _fit_threads(method, len(training)):
                synthesizer.fit({_TABLE: training})
            # SDV samples from a fixed seed unless told otherwise, so refits on the same data
            # would return the very same rows; SDV exposes seeding only through this method.
            synthesizer._set_random_state(seed)
            sampled = synthesizer.sample(num_rows)[_TABLE]
        except (ValueError, FloatingPointError, OverflowError) as error:
            explained = explain_fit_failure(
                error, training, generator=method.value, alternative=synthesizer_alternative(method.value)
            )
            if explained is None:
                raise
            raise explained from error
    _log(log, "info", f"fitted and sampled {num_rows} rows in {time.perf_counter() - started:.1f}s")
    return sampled[list(training.columns)], _learned_distributions(synthesizer, method)


def _check_params(synthesizer_class: type, method: SynthesizerMethod, params: dict[str, Any]) -> None:
    """Refuse parameters the SDV synthesizer does not take, before it raises a bare ``TypeError``.

    Raises:
        SynthPipelineError: A key of ``params`` is not a keyword of the synthesizer's constructor.
    """
    import inspect

    from synth_pipeline.errors import SynthPipelineError

    accepted = [name for name in inspect.signature(synthesizer_class.__init__).parameters
                if name not in ("self", "metadata")]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise SynthPipelineError(
            f"synthesizer.params {unknown} are not parameters of SDV's {synthesizer_class.__name__} "
            f"({method.value}); it takes {accepted}: fix synthesizer.params in the spec")


@contextmanager
def _fit_threads(method: SynthesizerMethod, rows: int) -> Iterator[None]:
    """One BLAS thread while the Gaussian copula fits on fewer than SINGLE_THREAD_ROWS rows.

    The fit's BLAS work is the condition number of the correlation matrix (copulas: an SVD of
    a columns x columns matrix). On 2 busy cores OpenBLAS's second thread spins: py-spy found
    1.7 s of a 221-column generation's two fits there, against 3-4 ms on one thread. Sampling
    (whose SVD decides the rows drawn) keeps the process's threads, so the rows are unchanged.
    CTGAN and TVAE (torch) are left as they are.
    """
    if method is not SynthesizerMethod.GAUSSIAN_COPULA or rows >= SINGLE_THREAD_ROWS:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _learned_distributions(synthesizer: Any, method: SynthesizerMethod) -> dict[str, str]:
    if method is not SynthesizerMethod.GAUSSIAN_COPULA:
        return {}
    try:
        learned = synthesizer.get_learned_distributions()
    except (ValueError, KeyError, AttributeError):  # e.g. a model SDV cannot describe
        return {}
    return {str(column): str(entry["distribution"]) for column, entry in learned.items()}


def _log(log: logging.Logger | Any | None, level: str, message: str) -> None:
    if log:
        getattr(log, level)(message)
