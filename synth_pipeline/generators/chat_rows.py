"""What the chat generator asks a language model for, and how strictly it reads the answers.

:class:`RowSchema` is learned from the fit input: per column, the JSON type a value must
have (from the column's dtype), whether it may be null (only where the fit input has
missing values) and, for categorical string columns and booleans, the values the fit input
holds. It describes the columns to the model (:meth:`RowSchema.describe`) and checks every
object of an answer (:meth:`RowSchema.check`): exactly the fitted keys, values of the
right type, no invented category, the label asked for. The prompt itself is
:func:`chat_messages`.

What a request always sends: column names, their types, the category values and label
classes of the fit input and the median word count of text columns; real rows only as
examples (``examples_per_request``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.generators.text_columns import median_words

MAX_LISTED_VALUES = 100
"""Most category values listed in a column's description (more: the model is told it is a category)."""

DEFAULT_SYSTEM_PROMPT = (
    "You generate synthetic rows of a data table for machine-learning research. Invent new, realistic and varied "
    "rows; never copy an example row. Answer with a JSON array of objects and nothing else: no prose, no markdown."
)

_FENCE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)


@dataclass(frozen=True)
class ColumnRule:
    """What one column's values must be in an answer.

    Attributes:
        kind: ``boolean``, ``integer``, ``number``, ``datetime``, ``text`` or ``string``.
        nullable: Whether null is allowed (the fit input has missing values there).
        allowed: The values the fit input holds (categories, booleans), or None: any value of the kind.
        words: Median word count of a text column's fitted values (0 for other columns).
    """

    kind: str
    nullable: bool
    allowed: frozenset[Any] | None = None
    words: float = 0.0


class RowSchema:
    """The columns of the fit input as rules for the objects of an answer.

    Args:
        frame: The fit input.
        label_column: The target column.
        text_columns: Free-text columns: any string (no category check).
        open_columns: Categorical columns that may take values the fit input does not hold.
    """

    def __init__(self, frame: pd.DataFrame, *, label_column: str, text_columns: Collection[str],
                 open_columns: Collection[str] = ()) -> None:
        self.columns = [str(column) for column in frame.columns]
        self.label_column = label_column
        self.rules = {str(column): _rule(frame[column], text=column in text_columns,
                                         closed=column == label_column or column not in open_columns)
                      for column in frame.columns}

    def describe(self) -> dict[str, str]:
        """Each column's expected value, in words for the model, e.g. ``{"age": "integer"}``."""
        described = {}
        for column, rule in self.rules.items():
            if rule.kind == "text":
                text = f"free text, about {round(rule.words)} words"
            elif rule.allowed is not None and rule.kind != "boolean" and len(rule.allowed) <= MAX_LISTED_VALUES:
                text = f"one of {json.dumps(sorted(rule.allowed, key=str), ensure_ascii=False)}"
            elif rule.allowed is not None and rule.kind != "boolean":
                text = f"{rule.kind} category"
            else:
                text = {"datetime": "date-time, ISO 8601"}.get(rule.kind, rule.kind)
            described[column] = text + (" or null" if rule.nullable else "")
        return described

    def check(self, row: Any, *, label: Any = None) -> tuple[dict[str, Any] | None, str | None]:
        """``row`` as a row of the table, or the reason it is rejected.

        Args:
            row: One element of a parsed answer.
            label: The label value asked for (None: any valid label).

        Returns:
            ``(values, None)`` for a valid row (values by column, integers as ``int``), else
            ``(None, reason)`` with reason ``not_an_object``, ``wrong_columns``,
            ``missing_value``, ``wrong_type``, ``unseen_value`` (a category the fit input lacks),
            ``unknown_label`` (a label the fit input lacks) or ``wrong_label`` (another class than asked for).
        """
        if not isinstance(row, dict):
            return None, "not_an_object"
        if sorted(row) != sorted(self.columns):
            return None, "wrong_columns"
        values = {}
        for column, rule in self.rules.items():
            value = row[column]
            if value is None:
                if not rule.nullable:
                    return None, "missing_value"
                values[column] = None
                continue
            converted = _convert(value, rule.kind)
            if converted is None:
                return None, "wrong_type"
            if rule.allowed is not None and converted not in rule.allowed:
                return None, "unknown_label" if column == self.label_column else "unseen_value"
            values[column] = converted
        if label is not None and values[self.label_column] != label:
            return None, "wrong_label"
        return values, None


def chat_messages(schema: RowSchema, *, rows: int, label: Any, examples: Sequence[dict[str, Any]],
                  system_prompt: str | None, instructions: str | None) -> list[dict[str, str]]:
    """The chat messages asking for ``rows`` new rows (of the class ``label``, unless None).

    Args:
        schema: The table's columns.
        rows: How many rows to ask for.
        label: The label value every row must have, or None (regression: any).
        examples: Real rows to show (JSON-ready dicts; empty: none is sent).
        system_prompt: Replaces :data:`DEFAULT_SYSTEM_PROMPT`.
        instructions: Added to the request (e.g. what the table is about).

    Returns:
        A system and a user message.
    """
    parts = ["Columns (each object has exactly these keys):", json.dumps(schema.describe(), ensure_ascii=False)]
    if instructions:
        parts.append(instructions)
    if examples:
        parts += ["Example rows from the real table (for style only; do not copy them):",
                  json.dumps(list(examples), ensure_ascii=False)]
    which = "" if label is None else f" with {json.dumps(schema.label_column)} = {json.dumps(label)}"
    parts.append(f"Write {rows} new rows{which}. Answer with a JSON array of {rows} objects.")
    return [{"role": "system", "content": system_prompt or DEFAULT_SYSTEM_PROMPT},
            {"role": "user", "content": "\n".join(parts)}]


def parse_answer(content: str | None) -> list[Any] | None:
    """The list of rows in a model's answer, or None when the answer is not one.

    Accepted: a JSON array; the same inside one Markdown code fence; an object whose only
    value is an array (what a server's JSON mode makes of an array). Nothing else: no
    prose around it, no ``NaN`` / ``Infinity``.

    Args:
        content: The answer's text.

    Returns:
        The array's elements (not yet checked), or None.
    """
    if not content:
        return None
    text = content.strip()
    fenced = _FENCE.fullmatch(text)
    if fenced:
        text = fenced.group(1)
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except ValueError:
        return None
    if isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), list):
        value = next(iter(value.values()))
    return value if isinstance(value, list) else None


def json_ready(row: pd.Series) -> dict[str, Any]:
    """A row of the fit input as JSON values (NumPy scalars as Python ones, missing as null, dates as ISO text)."""
    return {str(column): _json_value(value) for column, value in row.items()}


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return _json_value(value.item())
    return value


def _rule(values: pd.Series, *, text: bool, closed: bool) -> ColumnRule:
    nullable = bool(values.isna().any())
    if text:
        return ColumnRule("text", nullable, words=median_words(values))
    if pd.api.types.is_bool_dtype(values):
        return ColumnRule("boolean", nullable, frozenset({True, False}))
    if pd.api.types.is_integer_dtype(values):
        return ColumnRule("integer", nullable)
    if pd.api.types.is_float_dtype(values):
        return ColumnRule("number", nullable)
    if pd.api.types.is_datetime64_any_dtype(values):
        return ColumnRule("datetime", nullable)
    present = [_json_value(v) for v in values.dropna().unique()]
    kind = "string" if all(isinstance(v, str) for v in present) else "value"
    return ColumnRule(kind, nullable, frozenset(present) if closed else None)


def _convert(value: Any, kind: str) -> Any:
    """``value`` as a value of ``kind``, or None when it is not one."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "integer":
        if number and math.isfinite(value) and float(value).is_integer():
            return int(value)
        return None
    if kind == "number":
        return float(value) if number and math.isfinite(value) else None
    if kind == "datetime":
        if not isinstance(value, str):
            return None
        try:
            return pd.Timestamp(value).isoformat()
        except ValueError:
            return None
    if kind in ("text", "string"):
        return value if isinstance(value, str) else None
    return value if isinstance(value, (str, int, float)) else None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
