"""Generated rows are validated like input data before they are stored.

A generator (an SDV synthesizer in the synthetic stage, SMOTE in the augmented stage, a
user's own) returns rows that must fit the rows it was fitted on:

- the same columns (reordered columns are put back in order, a repair);
- no missing value (NaN, None, NaT) in a column whose fit input has none, and no
  infinite number in a numeric column whose fit input has none;
- in a text, categorical or boolean column, and always in the label column, only values
  the fit input holds, unless the column is declared open (``open_columns``, from the
  spec's ``synthesizer.open_categories``); the label never is. When *every* generated value
  of such a column is new, the message names the likely cause: SDV's metadata detection
  gave the column a PII sdtype from its name (``city``, ``email``, ``first_name`` ...) and
  SDV filled it with fake values (:mod:`synth_pipeline.synthesizers` prevents this for its
  own SDV synthesizers; a generator of the user's own may still do it);
- where the generator interpolates between fit rows (SMOTE), numbers and datetimes
  within the range of the fit input's values;
- each column of its fit input's dtype: integer columns stay integer, bool stays bool,
  datetimes stay datetimes.

A dtype the generator changed is **repaired** when the values survive the cast back
unchanged (floats that are all integral and within the integer type, object values
that are all ``True``/``False``, text returned as another text dtype); each repair is
returned, for the materialization metadata. Values are never repaired: a missing or
infinite value, an invented category or a value out of range fails the step before
anything is stored, with a :class:`~synth_pipeline.errors.GeneratedDataError` naming
the generator, each column, the problem with counts and an example, and the fix.

Example values in messages are always offending *generated* values (NaN, inf, a category
the fit input does not hold, a number out of range or that cannot be cast), cut to
:data:`EXAMPLE_CHARS` characters, never a value of the fit input (real rows): messages
end up in Dagster's event log and the lineage journal.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.errors import GeneratedDataError
from synth_pipeline.spec import SynthesizerMethod

EXAMPLE_CHARS = 40
"""Example values in messages are cut to this many characters."""

HUGE_MAGNITUDE = 1e150
"""Numbers beyond this magnitude have squares (variances, distances) that overflow float64."""

TINY_MAGNITUDE = 1e-150
"""Non-zero numbers below this magnitude have squares that underflow float64 to zero."""

EXACT_INTEGERS = 2**53
"""float64, the arithmetic of every generator, holds every integer only up to this magnitude."""

SPEC_OPEN_SETTING = "synthesizer.open_categories: [{column!r}]"
"""How the template's spec declares a column open (:func:`validate_generated_rows` ``open_setting``)."""
ASSET_OPEN_SETTING = "open_categories=({column!r},) in provenance_asset / Provenance"
"""How a team's own generated asset declares a column open."""
SMOTE_ALTERNATIVE = "turn augmentation off for this data (augmentation: null in the spec)"
"""The fix offered for SMOTE's rows when the data cannot be changed."""

MADE_UP_MIN_ROWS = 2
"""Generated values of a closed column that are all new, from this many on, are named as made up (one is no pattern)."""
MADE_UP_CAUSE = (
    "every generated value is new, so the generator made the column up instead of learning it. Likely cause: "
    "SDV's metadata detection (Metadata.detect_from_dataframe) reads the column's name as personal data (names "
    "such as city, email, first_name, address, phone_number, ssn, zip_code give a PII sdtype of that name) and "
    "SDV then fills the column with fake values")
"""Why a closed column whose generated values are all new was likely made up (see :func:`validate_generated_rows`)."""
MADE_UP_FIX = ("in the generator's SDV metadata give the column the sdtype of its values, e.g. "
               "metadata.update_column(column_name={column!r}, sdtype='categorical') (synth-pipeline's SDV "
               "synthesizers do so for every column not declared open)")
"""The first fix for a made-up column, with ``{column}`` for its name."""


_MARGINAL_FIX = "use another marginal for this column (synthesizer.params.numerical_distributions) or "


def synthesizer_alternative(method: str) -> str:
    """The fix offered for an SDV synthesizer's rows when the data cannot be changed.

    Args:
        method: The synthesizer that made the rows, e.g. ``gaussian_copula``.

    Returns:
        Another marginal (Gaussian copula only) or another synthesizer, named as spec fields.
    """
    others = " or ".join(m.value for m in SynthesizerMethod if m.value != method)
    marginal = _MARGINAL_FIX if method == SynthesizerMethod.GAUSSIAN_COPULA.value else ""
    return f"{marginal}use another synthesizer (synthesizer.method: {others})"


@dataclass(frozen=True)
class Repair:
    """A dtype or column order a generator changed and that was put back, values unchanged.

    Attributes:
        column: The column, or None for the column order.
        action: What was done, e.g. ``cast float64 -> int64 (20 values, all integral)``.
    """

    column: str | None
    action: str

    def as_metadata(self) -> dict[str, Any]:
        """A JSON-ready record for the materialization metadata."""
        return asdict(self)


@dataclass(frozen=True)
class ValidatedRows:
    """Generated rows that passed validation, and the repairs made to them.

    Attributes:
        rows: The rows, with the fit input's columns, column order and dtypes.
        repairs: One record per repair; empty when the rows came out right.
    """

    rows: pd.DataFrame
    repairs: list[Repair] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        """The ``generated_rows_repaired`` materialization metadata entry (a JSON list)."""
        import dagster as dg

        return {"generated_rows_repaired": dg.MetadataValue.json([r.as_metadata() for r in self.repairs])}


@dataclass(frozen=True)
class _Problem:
    column: str | None
    problem: str
    fix: str

    def line(self) -> str:
        where = f"column {self.column!r}: " if self.column is not None else ""
        return f"{where}{self.problem}; fix: {self.fix}"


def validate_generated_rows(
    rows: pd.DataFrame,
    fit_input: pd.DataFrame,
    *,
    generator: str,
    label_column: str,
    fitted_on: str,
    alternative: str,
    open_columns: Collection[str] = (),
    within_fit_range: bool = False,
    label_is_class: bool = True,
    open_setting: str | None = SPEC_OPEN_SETTING,
) -> ValidatedRows:
    """Check a generator's rows against the rows it was fitted on; repair dtypes, never values.

    Args:
        rows: The generated rows (user columns only).
        fit_input: The rows the generator was fitted on (user columns only).
        generator: The generator's name in messages, e.g. ``gaussian_copula`` or ``smote``.
        label_column: Holds only the fit input's classes, whatever its dtype.
        fitted_on: What the generator was fitted on, for messages (e.g. ``bc/real_arrivals[1]``).
        alternative: The fix when the data cannot be changed, e.g. another synthesizer.
        open_columns: Text, categorical or boolean columns that may hold values the fit
            input does not (never the label).
        within_fit_range: Numbers and datetimes must lie within the fit input's range
            (for generators that interpolate between fit rows).
        label_is_class: False for a regression label: it is then checked like any other
            numeric column (no closed set of classes).
        open_setting: How the user declares an open column, with ``{column}`` for its name
            (:data:`SPEC_OPEN_SETTING` for the template's spec, :data:`ASSET_OPEN_SETTING` for a
            team's own asset); None where no such setting applies (e.g. SMOTE, which only
            recombines fit values): invented values are then not advised to be declared open.

    Returns:
        The rows, repaired where a dtype came back changed, with the repairs made.

    Raises:
        GeneratedDataError: Columns are missing, extra or duplicated; or a column holds
            missing or infinite values its fit input does not, categories it does not
            hold, values out of its range (``within_fit_range``), or values that cannot
            be cast back to its dtype. Every problem is named at once.
    """
    problems = _column_set_problems(rows, fit_input)
    repairs: list[Repair] = []
    if not problems and list(rows.columns) != list(fit_input.columns):
        rows = rows[list(fit_input.columns)]
        repairs.append(Repair(None, "columns reordered to the fit input's order"))
    repaired: dict[Any, pd.Series] = {}
    if not problems:
        for column in fit_input.columns:
            label = column == label_column and label_is_class
            closed = label or (column not in open_columns and _family(fit_input[column].dtype) in ("category", "bool"))
            found, cast, repair = _check_column(
                rows[column], fit_input[column], generator=generator, alternative=alternative,
                closed=closed, label=label, within_fit_range=within_fit_range, open_setting=open_setting,
            )
            problems += found
            if repair is not None:
                repaired[column] = cast
                repairs.append(repair)
    if problems:
        raise GeneratedDataError(
            f"{generator} made {len(rows)} rows that do not fit the {len(fit_input)} rows it was fitted on "
            f"({fitted_on}); nothing was stored. " + "; ".join(p.line() for p in problems)
        )
    if repaired:
        rows = rows.copy()
        for column, cast in repaired.items():
            rows[column] = cast
    return ValidatedRows(rows, repairs)


def _column_set_problems(rows: pd.DataFrame, fit_input: pd.DataFrame) -> list[_Problem]:
    fix = "make the generator return exactly the columns it was fitted on, with the same names"
    made = [str(c) for c in rows.columns]
    expected = [str(c) for c in fit_input.columns]
    duplicated = sorted({c for c in made if made.count(c) > 1})
    if duplicated:
        return [_Problem(None, f"duplicate column name(s) {duplicated}", fix)]
    extra = [c for c in made if c not in expected]
    missing = [c for c in expected if c not in made]
    parts = []
    if extra:
        parts.append(f"column(s) the fit input does not have {extra}")
    if missing:
        parts.append(f"no column(s) {missing}" + (" (renamed?)" if extra else ""))
    return [_Problem(None, "; ".join(parts), fix)] if parts else []


def _family(dtype: Any) -> str:
    """``bool``, ``integer``, ``float``, ``datetime``, ``duration`` or ``category`` (text, categorical, other)."""
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "duration"
    return "category"


def _check_column(
    made: pd.Series,
    fit: pd.Series,
    *,
    generator: str,
    alternative: str,
    closed: bool,
    label: bool,
    within_fit_range: bool,
    open_setting: str | None = SPEC_OPEN_SETTING,
) -> tuple[list[_Problem], pd.Series | None, Repair | None]:
    """The problems of one generated column; else the column cast back to the fit dtype and the repair, if any."""
    name, rows = str(made.name), len(made)
    value_fix = _value_fix(fit, alternative)
    problems = []
    missing = made.isna()
    if missing.any() and not fit.isna().any():
        problems.append(_Problem(
            name, f"{int(missing.sum())} of {rows} values are missing (e.g. {_example(made[missing])}) where the "
            f"{len(fit)} fit rows have none", value_fix,
        ))
    infinite = _infinite(made)
    if infinite.any() and not _infinite(fit).any():
        positive = int((made[infinite].astype("float64") > 0).sum())
        problems.append(_Problem(
            name, f"{int(infinite.sum())} of {rows} values are infinite ({positive} +inf, "
            f"{int(infinite.sum()) - positive} -inf; e.g. {_example(made[infinite])}) where the fit rows have none",
            value_fix,
        ))
    if closed:
        invented = _unknown_values(made, fit)
        if invented.any():
            what = "classes" if label else "values"
            # a marginal (numerical_distributions) shapes numbers only: no fix for a text column
            alternative = alternative.replace(_MARGINAL_FIX, "")
            # Every value of a text column new: made up, not learned (SDV's name-based PII sdtypes).
            made_up = (_family(fit.dtype) == "category"
                       and int(invented.sum()) == int(made.notna().sum()) >= MADE_UP_MIN_ROWS)
            cause = f"; {MADE_UP_CAUSE}" if made_up else ""
            sdtype_fix = MADE_UP_FIX.format(column=name) + "; or " if made_up else ""
            if label:
                fix = f"the label may only hold the classes it was fitted on: {sdtype_fix}{alternative}"
            elif open_setting is None:
                fix = f"{sdtype_fix}drop the column, or {alternative}"
            else:
                fix = (f"{sdtype_fix}if new values are expected in this column (identifiers, e-mail addresses, free "
                       f"text), declare it: {open_setting.format(column=name)}; otherwise drop the column, or "
                       f"{alternative}")
            problems.append(_Problem(
                name, f"{int(invented.sum())} of {rows} values are not among the fit input's {what} "
                f"({made[invented].astype(str).nunique()} distinct, e.g. {_example(made[invented])}){cause}", fix,
            ))
    if within_fit_range:
        outside = _outside_range(made, fit)
        if outside.any():
            problems.append(_Problem(
                name, f"{int(outside.sum())} of {rows} values lie outside the range of the fit input's values (e.g. "
                f"{_example(made[outside])}), which {generator} interpolates between", value_fix,
            ))
    if problems or made.dtype == fit.dtype:
        return problems, None, None
    cast, why = _cast_back(made, fit)
    if cast is None:
        fix = f"give the column a dtype {generator} keeps in the source (e.g. float64 for numbers, object for text), " \
              f"or {alternative}"
        return [_Problem(name, f"dtype {made.dtype}, the fit input's is {fit.dtype}: {why}", fix)], None, None
    return [], cast, Repair(name, why)


def _example(values: pd.Series) -> str:
    text = str(values.iloc[0])
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 3] + "..."


def _infinite(values: pd.Series) -> pd.Series:
    if _family(values.dtype) == "float":
        return pd.Series(np.isinf(values.to_numpy(dtype="float64", na_value=np.nan)), index=values.index)
    if values.dtype == object:  # a float may hide among other values
        return values.map(lambda v: isinstance(v, float) and math.isinf(v)).astype(bool)
    return pd.Series(False, index=values.index)


def _key(value: Any) -> tuple[bool, Any]:
    # True == 1 in Python: the flag keeps a generated 1 from passing for a fitted True, and back.
    return isinstance(value, bool | np.bool_), value


def _unknown_values(made: pd.Series, fit: pd.Series) -> pd.Series:
    """True where ``made`` holds a value (not missing) that ``fit`` does not hold."""
    present, fit_values = made.notna(), fit.dropna()
    kinds = {pd.api.types.infer_dtype(made[present]), pd.api.types.infer_dtype(fit_values)}
    if kinds <= {"string", "empty"} or object not in (made.dtype, fit.dtype):
        return present & ~made.isin(fit_values.unique())
    # Object columns that may mix booleans and numbers: compare by key, value by value.
    known = {_key(v) for v in fit_values.astype(object)}
    flags = [bool(here) and _key(v) not in known for v, here in zip(made.astype(object), present, strict=True)]
    return pd.Series(flags, index=made.index, dtype=bool)


def _outside_range(made: pd.Series, fit: pd.Series) -> pd.Series:
    """True where a number or datetime of ``made`` lies outside the range of ``fit``'s values."""
    if _family(fit.dtype) not in ("integer", "float", "datetime", "duration") or fit.dropna().empty:
        return pd.Series(False, index=made.index)
    try:
        low, high = fit.min(), fit.max()
        outside = (made < low) | (made > high)
    except TypeError:  # values the comparison cannot order: the dtype check reports them
        return pd.Series(False, index=made.index)
    return outside.fillna(False).astype(bool)


def _cast_back(made: pd.Series, fit: pd.Series) -> tuple[pd.Series | None, str]:
    """``made`` cast to ``fit``'s dtype and what was done, or None and why the values do not survive the cast."""
    target, family, source = fit.dtype, _family(fit.dtype), _family(made.dtype)
    present = made.dropna()
    if family == "integer":
        if source not in ("integer", "float"):
            return None, f"it holds {source} values, not numbers"
        numbers = present.to_numpy(dtype="float64")
        fractional = present[np.mod(numbers, 1) != 0]
        if len(fractional):
            return None, f"{len(fractional)} of {len(made)} values are not whole numbers (e.g. {_example(fractional)})"
        info = np.iinfo(getattr(target, "numpy_dtype", target))
        # float(info.max) rounds up for 64-bit types: a value at it would wrap on the cast
        outside = present[(numbers < float(info.min)) | (numbers >= float(info.max) + 1.0)]
        if len(outside):
            return None, f"{len(outside)} values are outside {target}'s range (e.g. {_example(outside)})"
        why = f"cast {made.dtype} -> {target} ({len(present)} values, all whole numbers within {target})"
    elif family == "float":
        if source not in ("integer", "float"):
            return None, f"it holds {source} values, not numbers"
        why = f"cast {made.dtype} -> {target}"
    elif family == "bool":
        if not all(isinstance(v, bool | np.bool_) for v in present.astype(object)):
            other = present[[not isinstance(v, bool | np.bool_) for v in present.astype(object)]]
            return None, f"{len(other)} values are not True or False (e.g. {_example(other)})"
        why = f"cast {made.dtype} -> {target} (all values True or False)"
    elif family != source:
        return None, f"it holds {source} values"
    else:
        why = f"cast {made.dtype} -> {target}"
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # judged below: overflow makes infinite values
            cast = made.astype(target)
    except (TypeError, ValueError, OverflowError) as error:
        return None, f"the values cannot be cast ({type(error).__name__}: {_cut(str(error))})"
    if int(cast.isna().sum()) != int(made.isna().sum()) or (_infinite(cast).any() and not _infinite(made).any()):
        return None, f"casting to {target} would turn values into missing or infinite ones"
    return cast, why


def _cut(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def scale_hazard(values: pd.Series) -> str | None:
    """Why generators cannot do arithmetic on a numeric column's scale, and how to rescale it; None if they can.

    Args:
        values: A column of the fit input.

    Returns:
        A fix naming the hazard (magnitudes whose squares overflow or underflow float64,
        integers beyond what float64 holds exactly) without quoting any value, or None.
    """
    family = _family(values.dtype)
    if family not in ("integer", "float"):
        return None
    magnitudes = _magnitudes(values)
    if family == "integer" and magnitudes.size and magnitudes.max() >= EXACT_INTEGERS:
        return (
            "its integers go beyond 2**53, past which float64 (the arithmetic generators use) cannot hold every "
            "integer: subtract an offset (e.g. the column's minimum) in the source, or store it as text if it is an "
            "identifier"
        )
    return _magnitude_hazard(magnitudes)


def _magnitude_hazard(magnitudes: np.ndarray) -> str | None:
    """The fix for non-zero finite magnitudes whose squares overflow or underflow float64; None if none do."""
    if magnitudes.size == 0:
        return None
    if magnitudes.max() > HUGE_MAGNITUDE:
        return (
            f"rescale the column in the source: its magnitude goes beyond {_power(HUGE_MAGNITUDE)}, where squares and "
            "variances overflow float64 (divide it by a power of ten, or take its logarithm)"
        )
    if magnitudes.min() < TINY_MAGNITUDE:
        return (
            f"rescale the column in the source: it holds non-zero values below {_power(TINY_MAGNITUDE)}, whose squares "
            "underflow float64 to zero (multiply it by a power of ten)"
        )
    return None


def _magnitudes(values: pd.Series) -> np.ndarray:
    """The non-zero finite absolute values of a numeric column, as floats."""
    magnitudes = np.abs(values.dropna().to_numpy(dtype="float64"))
    return magnitudes[np.isfinite(magnitudes) & (magnitudes > 0)]


def _power(value: float) -> str:
    return f"{value:.0e}".replace("e+", "e")


def _value_fix(fit: pd.Series, alternative: str) -> str:
    hazard = scale_hazard(fit)
    return f"{hazard}; or {alternative}" if hazard else alternative


def explain_fit_failure(
    error: BaseException, fit_input: pd.DataFrame, *, generator: str, alternative: str
) -> GeneratedDataError | None:
    """A :class:`GeneratedDataError` for a generator that failed on a column's scale, else None.

    Generators raise their own errors on numbers whose arithmetic overflows (SDV's CTGAN
    and TVAE: ``ValueError: array must not contain infs or NaNs``), naming no column.

    Args:
        error: What the generator raised.
        fit_input: The rows it was being fitted on.
        generator: Its name in the message.
        alternative: The fix when the data cannot be changed, e.g. another synthesizer.

    Returns:
        The error to raise instead, naming the columns whose scale is a hazard
        (:func:`scale_hazard`) and the fix; None when no column's scale is one (the
        original error is then the better message).
    """
    # Magnitudes only: integers beyond 2**53 lose precision in generators but make none of them fail.
    hazards = {
        str(column): hazard for column in fit_input.columns
        if _family(fit_input[column].dtype) in ("integer", "float")
        and (hazard := _magnitude_hazard(_magnitudes(fit_input[column]))) is not None
    }
    if not hazards:
        return None
    columns = "; ".join(f"column {c!r}: {h}" for c, h in hazards.items())
    return GeneratedDataError(
        f"{generator} failed on the {len(fit_input)} rows it was fitted on ({type(error).__name__}: "
        f"{_cut(str(error).strip())}); nothing was stored. The likely cause: {columns}; or {alternative}"
    )
