"""The strict JSON reader for hand-edited JSON settings (expectation suites).

``json.loads`` keeps the last of two equal keys without a word, accepts ``NaN`` and
``Infinity``, turns a 5,000-digit number into an exception of its own, and overflows
the stack on deeply nested input. Here a duplicate key is refused with the line of the
object holding it, the constants and overlong numbers are refused, and deep nesting is
reported as such; every message is bounded.
"""

from __future__ import annotations

import json
from json.decoder import JSONObject
from json.scanner import py_make_scanner
from pathlib import Path
from typing import Any

from synth_pipeline.config_text import cut, read_config_text
from synth_pipeline.errors import ConfigFileError

MAX_JSON_BYTES = 4 * 1024 * 1024
"""Largest expectation suite: 4 MiB, about 250 times a suite of the reference data."""

MAX_NUMBER_CHARS = 100
"""Longest number, in characters."""


class _Refused(ValueError):
    """Valid JSON that a settings file may not hold."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


def _parse_object(s_and_end: tuple[str, int], strict: bool, scan_once: Any, object_hook: Any,
                  object_pairs_hook: Any, memo: dict | None = None) -> tuple[dict, int]:
    """``json``'s object parser, refusing a key given twice in the same object."""
    text, start = s_and_end
    pairs, end = JSONObject(s_and_end, strict, scan_once, None, list, memo)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            line = text.count("\n", 0, start) + 1
            raise _Refused(f"the key {cut(key, 60)!r} is given twice in the object starting at line {line} "
                           "(JSON readers silently keep the second value)", "keep one of the two")
        seen.add(key)
    return dict(pairs), end


def _number(kind: type) -> Any:
    def parse(text: str) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise _Refused(f"a number of {len(text):,} characters is over the limit of {MAX_NUMBER_CHARS}",
                           "write a shorter number")
        return kind(text)

    return parse


def _constant(name: str) -> Any:
    raise _Refused(f"the constant {name} is not allowed (it is not standard JSON)", "write a finite number or null")


class _StrictDecoder(json.JSONDecoder):
    def __init__(self) -> None:
        super().__init__(parse_float=_number(float), parse_int=_number(int), parse_constant=_constant)
        self.parse_object = _parse_object
        # The pure-Python scanner calls parse_object above; the C one would not.
        self.scan_once = py_make_scanner(self)


def load_json_config(text: str, *, source: str) -> Any:
    """Parse a JSON settings file's text strictly.

    Args:
        text: The file's content.
        source: What and where the file is, for messages (e.g. ``expectation suite /x/real.json``).

    Returns:
        The parsed value.

    Raises:
        ConfigFileError: The text is not valid JSON (line and column given), holds a key twice
            in one object, ``NaN`` or ``Infinity``, an overlong number, or nesting deeper than
            Python's recursion limit.
    """
    try:
        return _StrictDecoder().decode(text)
    except _Refused as error:
        raise ConfigFileError(f"{source}: {error.problem}; {error.fix}") from None
    except json.JSONDecodeError as error:
        raise ConfigFileError(
            f"{source} is not valid JSON ({cut(error.msg, 100)} at line {error.lineno}, column {error.colno}); "
            "fix the syntax"
        ) from None
    except RecursionError:
        raise ConfigFileError(f"{source} nests lists and objects too deeply to read; flatten it") from None


def read_json_config(path: str | Path, *, what: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Read a JSON settings file (size-capped, UTF-8) and parse it with :func:`load_json_config`.

    Args:
        path: The file.
        what: What the file is, for messages (e.g. ``expectation suite``).
        max_bytes: Largest accepted size.

    Returns:
        The parsed value.

    Raises:
        ConfigFileError: The file is missing, unreadable, too large or not UTF-8, or its
            content is refused by :func:`load_json_config`.
    """
    return load_json_config(read_config_text(path, what=what, max_bytes=max_bytes), source=f"{what} {path}")
