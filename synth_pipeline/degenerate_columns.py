"""Columns a synthesizer collapsed to one value, and the record of what was done about them.

SDV's Gaussian copula fits each column's marginal by maximum likelihood, by default with a
four-parameter beta (upstream SDV issue #2542). On a heavy-tailed column whose sample
kurtosis lies beyond what any beta can have for its skewness (excess kurtosis above
``1.5 * skewness**2``, the gamma limit), scipy's moment-matching start for ``beta.fit``
does not converge and leaves ``b`` in the millions; the likelihood search then stays
there, since the beta's lower end sits on the sample minimum and every other value has
(numerically) zero likelihood, so the search has nothing to follow. Near-normal columns
fail the other way: the start puts ``a`` in the millions and the search shrinks the scale
to a sliver of the range (seen on a tz-aware datetime, fitted in epoch nanoseconds: a few
milliseconds of a four-year range). Copulas rejects only fits whose scale is near zero in
absolute terms, so both are sampled as (nearly) one value. Categories are fitted the same
way (as intervals of ``[0, 1]``), so they are checked too.

A sampled numeric column (datetimes as nanoseconds) is **collapsed** when the range of its
non-missing values holds at most :data:`MAX_RANGE_COVERAGE` of the fit input's values (a
constant holds only its own ties), and a draw of as many rows from the fit input would
cover that little with probability below :data:`FAMILY_CHANCE`, spread over the table's
columns (Bonferroni). Under that null the share of a distribution covered by the range of
``n`` draws follows ``Beta(n - 1, 2)`` whatever the distribution (ties only make it
larger), so the chance is exact and distribution-free. A non-numeric column is collapsed
when it holds one category (or none) where the fit input held several, with chance
``share ** n``. A handful of sampled rows, or a column nearly constant in its fit input,
is never flagged by chance; a generator that misses a real tail of a large table is not
flagged either, since its range still holds more than the limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

MAX_RANGE_COVERAGE = 0.75
"""A sampled numeric column whose range holds more of the fit input than this is never collapsed."""

FAMILY_CHANCE = 1e-3
"""Chance, over all columns of a table, of flagging a column a same-size draw from the fit input would show."""

FALLBACK_DISTRIBUTIONS = ("truncnorm", "norm")
"""Marginals tried in turn for a collapsed column: truncated normal on the fit input's range,
then the closed-form normal (clipped to the range by SDV), which cannot degenerate on a
column with any spread."""


@dataclass(frozen=True)
class CollapsedColumn:
    """A sampled column that came out (near) constant where its fit input was not.

    Attributes:
        column: The column.
        finding: ``constant``, ``narrowed (range holds x % of the fit input)``,
            ``one category`` or ``all missing``.
        value: The value (or ``[min, max]`` range) the sampled column collapsed to, as text.
        rows: Sampled rows.
        fit_distinct: Distinct non-missing values in the fit input.
        sample_distinct: Distinct non-missing values in the sample.
        variance_ratio: Sample variance over fit-input variance (numeric columns), else None.
        chance: Probability that as many rows drawn from the fit input look this collapsed
            (see the module docs).
    """

    column: str
    finding: str
    value: str
    rows: int
    fit_distinct: int
    sample_distinct: int
    variance_ratio: float | None
    chance: float

    def evidence(self) -> str:
        """One line: what was seen, against what the fit input would give by chance."""
        ratio = "" if self.variance_ratio is None else f", variance ratio {self.variance_ratio:.3g}"
        return (
            f"{self.finding}: {self.value} in {self.rows} sampled rows, fit input {self.fit_distinct} distinct "
            f"values{ratio}; chance of this from the fit input {self.chance:.3g}"
        )


@dataclass(frozen=True)
class ColumnRecovery:
    """What was done about one collapsed column.

    Attributes:
        column: The column.
        detected: The first detection, on the synthesizer as configured.
        distribution_before: Its marginal when it collapsed (None if not a fitted marginal).
        distribution_after: The marginal it was refitted with last (None if none was tried).
        recovered: Whether the final sample's column is no longer collapsed.
        action: One line for the log and the metadata.
    """

    column: str
    detected: CollapsedColumn
    distribution_before: str | None
    distribution_after: str | None
    recovered: bool
    action: str

    def as_metadata(self) -> dict[str, Any]:
        """A JSON-ready record for the materialization metadata."""
        record = asdict(self)
        record["detected"] = {**asdict(self.detected), "evidence": self.detected.evidence()}
        return record

    def log_line(self) -> str:
        """One line for the run log."""
        return f"column {self.column}: {self.detected.evidence()}; {self.action}"


def _is_numeric(values: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)) or (
        pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_timedelta64_dtype(values)
    )


def _as_float(values: pd.Series) -> np.ndarray:
    """Non-missing values as floats (datetimes and durations as nanoseconds)."""
    present = values.dropna()
    if pd.api.types.is_datetime64_any_dtype(present) or pd.api.types.is_timedelta64_dtype(present):
        return present.astype("int64").to_numpy(dtype=np.float64)
    return present.astype("float64").to_numpy()


def _numeric_collapse(fit: pd.Series, sample: pd.Series) -> tuple[str, str, float, float | None] | None:
    """(finding, value, chance, variance ratio) if the sample's range holds too little of the fit input."""
    fit_values, values = _as_float(fit), _as_float(sample)
    if len(np.unique(fit_values)) < 2:
        return None
    if len(values) == 0:
        return "all missing", "missing", float(fit.isna().mean()) ** len(sample), None
    if len(values) < 2:
        return None
    from scipy.special import betainc

    low, high = float(values.min()), float(values.max())
    coverage = float(np.mean((fit_values >= low) & (fit_values <= high)))
    if coverage > MAX_RANGE_COVERAGE:
        return None
    chance = float(betainc(len(values) - 1, 2, coverage))
    ratio = float(np.var(values) / np.var(fit_values))
    shown = sample.dropna()
    if low == high:
        return "constant", str(shown.iloc[0]), chance, 0.0
    low_text, high_text = str(shown.iloc[int(np.argmin(values))]), str(shown.iloc[int(np.argmax(values))])
    return f"narrowed (range holds {coverage:.0%} of the fit input)", f"[{low_text}, {high_text}]", chance, ratio


def _categorical_collapse(fit: pd.Series, sample: pd.Series) -> tuple[str, str, float, None] | None:
    """(finding, value, chance, None) if one category or none, with the chance of as many fit rows."""
    fit_text = fit.dropna().astype(str)
    values = sample.dropna().astype(str).unique()
    if len(values) > 1 or fit_text.nunique() + int(fit.isna().any()) < 2:
        return None
    if len(values) == 0:
        return "all missing", "missing", float(fit.isna().mean()) ** len(sample), None
    share = float(((fit_text == values[0]).sum() + fit.isna().sum()) / len(fit))
    return "one category", values[0], share ** len(sample), None


def find_collapsed_columns(
    fit_input: pd.DataFrame, sample: pd.DataFrame, *, family_chance: float = FAMILY_CHANCE
) -> list[CollapsedColumn]:
    """The columns of ``sample`` that collapsed where ``fit_input`` did not (see the module docs).

    Args:
        fit_input: The rows the synthesizer was fitted on (user columns).
        sample: The rows it produced, with the same columns.
        family_chance: Chance of any false flag over the table's columns (Bonferroni).

    Returns:
        One finding per collapsed column, in column order; empty for an empty sample.
    """
    rows = len(sample)
    columns = [c for c in sample.columns if c in fit_input.columns]
    if rows == 0 or len(fit_input) == 0 or not columns:
        return []
    per_column = family_chance / len(columns)
    found = []
    for column in columns:
        fit, values = fit_input[column], sample[column]
        numeric = _is_numeric(fit) and _is_numeric(values)
        seen = _numeric_collapse(fit, values) if numeric else _categorical_collapse(fit, values)
        if seen is None:
            continue
        finding, value, chance, ratio = seen
        if chance < per_column:
            found.append(CollapsedColumn(
                column=str(column), finding=finding, value=value, rows=rows,
                fit_distinct=int(fit.nunique()), sample_distinct=int(values.nunique()),
                variance_ratio=ratio, chance=chance,
            ))
    return found
