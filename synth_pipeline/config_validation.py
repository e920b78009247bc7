"""Turning pydantic validation errors of a policy or spec into one short, actionable message.

Each problem names the line (when the values came from a file), the field, what is wrong,
the value given (cut to a few dozen characters) and, for the usual YAML slips, the fix.
However many problems there are, the message lists the first few and counts the rest, so
200,000 unknown keys cost a few milliseconds and a few lines, not minutes and megabytes.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import numpy as np
from pydantic import ValidationError

from synth_pipeline.config_text import cut, show_value
from synth_pipeline.config_yaml import YamlConfig
from synth_pipeline.errors import ConfigValueError

MAX_PROBLEMS_SHOWN = 5
"""Problems listed in a message; the others are counted."""

MAX_PROBLEM_CHARS = 300
"""Longest description of one problem; longer ones are cut."""

_Model = TypeVar("_Model")

_EXPECTED = {
    "int_type": "a whole number", "int_from_float": "a whole number", "float_type": "a number",
    "string_type": "text", "bool_type": "true or false", "dict_type": "a mapping", "list_type": "a list",
    "model_type": "a mapping", "model_attributes_type": "a mapping",
}


def _hint(kind: str, given: Any, word: str | None) -> str:
    """The fix for a type slip, or '' when pydantic's message says enough."""
    expected = _EXPECTED.get(kind)
    if isinstance(given, bool) and kind != "bool_type":
        want = expected or "one of the values listed"
        quotable = want in ("text", "one of the values listed")
        fix = f"quote it ('{word or str(given).lower()}')" if quotable else f"write {want}"
        return f"a boolean (YAML reads unquoted true/false/yes/no/on/off as booleans), not {want}: {fix}"
    if kind == "bool_type":
        return "write true or false"
    if kind in ("int_type", "float_type") and isinstance(given, str) and _is_number(given):
        return "write the number without quotes"
    if kind == "int_type" and isinstance(given, float):
        return "write a whole number"
    if kind == "string_type" and isinstance(given, int | float):
        return "quote the value to make it text"
    if kind == "finite_number":
        return "write a finite number (not .inf or .nan)"
    return ""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _problem(item: Mapping[str, Any], known: list[str], document: YamlConfig | None, hints: set[str]) -> str:
    """One problem; a hint already given for an earlier problem (in ``hints``) is not repeated."""
    loc = tuple(item["loc"])
    field = ".".join(cut(str(part), 60) for part in loc) or "(top level)"
    line = document.line_of(loc) if document is not None else None
    where = f"line {line}: " if line is not None else ""
    if item["type"] == "extra_forbidden":
        name = str(loc[-1])
        # difflib is quadratic in the name's length: only reasonable names get a suggestion
        close = difflib.get_close_matches(name, known, n=1) if len(name) <= 100 else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{where}{field}: unknown field{hint}"
    message = cut(item["msg"].removeprefix("Value error, "), 300)
    if item["type"] == "missing":
        return f"{where}{field}: {message}"
    given = item["input"]
    if item["type"] == "value_error" and isinstance(given, dict):
        return f"{where}{field}: {message}"  # a check of the whole mapping: its message says what is wrong
    word = document.booleans.get(loc) if document is not None else None
    shown = word if word is not None and word.lower() not in ("true", "false") else show_value(given)
    hint = _hint(item["type"], given, word)
    repeated = hint in hints
    hints.add(hint)
    return f"{where}{field}: {message} (got {shown})" + (f", {hint}" if hint and not repeated else "")


def validation_problems(
    error: ValidationError, known_fields: Iterable[str], document: YamlConfig | None = None
) -> str:
    """One ``[line N: ]field: problem (got value)`` per pydantic error, for the first few errors.

    Args:
        error: The validation error.
        known_fields: Every field name of the model and its parts, for "did you mean" hints.
        document: The file the values came from, for line numbers and the words YAML read as
            booleans; None for values given in Python or run config.

    Returns:
        The problems joined by ``"; "``: at most :data:`MAX_PROBLEMS_SHOWN`, then how many
        more unknown fields and other problems there are.
    """
    known = sorted(set(known_fields))
    items = error.errors(include_url=False, include_context=False)
    if document is not None:
        # in the order the user wrote them (problems without a line, e.g. missing fields, last)
        items.sort(key=lambda item: document.line_of(tuple(item["loc"])) or float("inf"))
    hints: set[str] = set()
    problems = [cut(_problem(item, known, document, hints), MAX_PROBLEM_CHARS) for item in items[:MAX_PROBLEMS_SHOWN]]
    rest = items[MAX_PROBLEMS_SHOWN:]
    unknown = sum(item["type"] == "extra_forbidden" for item in rest)
    if unknown:
        problems.append(f"and {unknown:,} more unknown field{'s' if unknown > 1 else ''}")
    if len(rest) - unknown:
        problems.append(f"and {len(rest) - unknown:,} more problem{'s' if len(rest) - unknown > 1 else ''}")
    return "; ".join(problems)


def validate_config(
    build: Callable[[dict[str, Any]], _Model],
    values: Mapping[Any, Any],
    *,
    source: str,
    known_fields: Iterable[str],
    fix: str,
    document: YamlConfig | None = None,
) -> _Model:
    """Build a model from configured values, or raise one bounded message naming each problem.

    Args:
        build: Makes the model from a mapping of field names (e.g. ``Model.model_validate``).
        values: The configured values.
        source: What the values are, for the message (e.g. ``policy file /x/policy.yaml``).
        known_fields: Every field name, for "did you mean" hints.
        fix: The closing sentence: where the fields are documented.
        document: The file the values came from (line numbers), if any.

    Returns:
        The model.

    Raises:
        ConfigValueError: A field is unknown, missing, of the wrong type (strict: a boolean
            is not a number, text is not a number or boolean) or out of range.
    """
    try:
        return build({str(key): value for key, value in values.items()})
    except ValidationError as error:
        raise ConfigValueError(
            f"invalid {source}: {validation_problems(error, known_fields, document)}. {fix}"
        ) from None


def python_values(data: Any) -> Any:
    """A mapping of field values with numpy scalars as Python scalars and paths as text.

    Strict validation is against what YAML and run config turn into the wrong type (``yes``
    read as a boolean, ``"0.3"`` as text). Python callers' ``numpy.int64(5)`` or
    ``Path("data.csv")`` mean exactly what they say, so they are converted before it
    (``numpy.bool_`` stays a boolean, so it is still no number). Used as a pydantic
    ``model_validator(mode="before")``; anything but a mapping is returned unchanged.
    """
    if not isinstance(data, Mapping):
        return data
    return {key: _python_value(value) for key, value in data.items()}


def _python_value(value: Any) -> Any:
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value
