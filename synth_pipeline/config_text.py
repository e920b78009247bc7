"""Reading configuration files as bounded UTF-8 text, and keeping values in messages short.

Policy, spec and expectation-suite files are user input. They are read with a size cap
(reading stops one byte past it, so a huge file, a FIFO or a device costs no more), must
be UTF-8, and anything of theirs echoed in an error message goes through :func:`cut` or
:func:`show_value`, which keep the start and say how long the whole was.
"""

from __future__ import annotations

import reprlib
from pathlib import Path

from synth_pipeline.errors import ConfigFileError

MAX_CONFIG_BYTES = 64 * 1024
"""Largest policy or spec file: 64 KiB, about 25 times the commented reference policy."""

MESSAGE_VALUE_CHARS = 80
"""Characters of a value shown in an error message; the rest is cut (its length is given)."""

_BOUNDED_REPR = reprlib.Repr()
_BOUNDED_REPR.maxstring = MESSAGE_VALUE_CHARS
_BOUNDED_REPR.maxother = MESSAGE_VALUE_CHARS
_BOUNDED_REPR.maxlong = 40
_BOUNDED_REPR.maxlevel = 2
for _attribute in ("maxdict", "maxlist", "maxtuple", "maxset", "maxfrozenset"):
    setattr(_BOUNDED_REPR, _attribute, 4)


def cut(text: str, limit: int = MESSAGE_VALUE_CHARS) -> str:
    """``text``, or its first ``limit`` characters and how long it was.

    Args:
        text: Any text bound for a message.
        limit: Characters kept.

    Returns:
        ``text`` when it has at most ``limit`` characters, else e.g.
        ``"abc... (312,456,789 characters)"``.
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def show_value(value: object, limit: int = MESSAGE_VALUE_CHARS) -> str:
    """A short representation of a configured value, for messages.

    Strings are quoted and cut to ``limit`` characters (their length is given); lists and
    mappings show their first items and how many they hold. No representation of the whole
    value is ever built, so a huge value costs nothing here.

    Args:
        value: The value as given.
        limit: Characters of a string shown.

    Returns:
        E.g. ``'yes'``, ``True``, ``'aaaa...' (70,000 characters)``, ``[1, 2, 3, 4, ...] (9,000 items)``.
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    text = _BOUNDED_REPR.repr(value)
    if isinstance(value, dict | list | tuple | set | frozenset) and len(value) > 4:
        text += f" ({len(value):,} items)"
    return cut(text, 2 * limit)


def read_config_text(path: str | Path, *, what: str, max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """The text of a configuration file, read with a size cap and decoded as UTF-8.

    Args:
        path: The file.
        what: What the file is, for messages (e.g. ``policy file``).
        max_bytes: Largest accepted size.

    Returns:
        The file's text (a UTF-8 byte-order mark removed).

    Raises:
        ConfigFileError: The file is missing, a directory or not a regular file, cannot be
            read, is larger than ``max_bytes``, or is not UTF-8; the message names the file,
            the line of the first undecodable byte, and the fix.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigFileError(f"{what} {path} is a directory; point at the file itself")
    if not path.exists():
        raise ConfigFileError(f"{what} {path} not found (working directory {Path.cwd()}); check the path")
    if not path.is_file():
        raise ConfigFileError(f"{what} {path} is not a regular file (a device, pipe or socket); point at a file")
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise ConfigFileError(
            f"{what} {path} cannot be read ({error.strerror or error}); check its permissions"
        ) from None
    if len(data) > max_bytes:
        size = path.stat().st_size
        raise ConfigFileError(
            f"{what} {path} is {size:,} bytes, over the limit of {max_bytes:,} bytes for such a file; "
            "it is not the file you meant, or it holds far more than the settings it should: shorten it"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigFileError(
            f"{what} {path}, line {line}: byte 0x{data[error.start]:02x} is not UTF-8 text; "
            "save the file as UTF-8"
        ) from None
