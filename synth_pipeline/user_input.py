"""User input echoed in messages: cut to a readable length, and unknown names answered with what exists.

A message that repeats what the user typed must stay readable however long the input was
(a 100,000-character argument is echoed as its first 200 characters and its length), and
a name that matches nothing must say what does exist, with the closest match, so a typo
is fixed at once instead of silently answering an empty question.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from synth_pipeline.config_text import cut as cut_text
from synth_pipeline.errors import UnknownNameError

ECHO_LIMIT = 200
"""Characters of one user-supplied value repeated in a message."""

LISTED_LIMIT = 20
"""Names listed in a message about an unknown name; the rest are counted ("and N more")."""


def cut(text: str, limit: int = ECHO_LIMIT) -> str:
    """:func:`synth_pipeline.config_text.cut` with the CLI's longer echo limit.

    Example: ``"aaaa... (100,000 characters)"``.
    """
    return cut_text(text, limit)


def quoted(value: object) -> str:
    """``value`` as shown in a message: a string quoted (``repr``) and cut, anything else as ``str``."""
    if isinstance(value, str):
        return repr(value) if len(value) <= ECHO_LIMIT else f"{value[:ECHO_LIMIT]!r}... ({len(value):,} characters)"
    return str(value)


def closest(value: object, known: Sequence[object]) -> object | None:
    """The known name most like ``value``: the nearest number for numbers, else by :mod:`difflib`."""
    if not known:
        return None
    if isinstance(value, int) and all(isinstance(item, int) for item in known):
        return min(known, key=lambda item: (abs(item - value), item))
    names = {str(item)[: 4 * ECHO_LIMIT]: item for item in known}
    # A cut value still finds its match: difflib's cost grows with the product of the lengths.
    matches = difflib.get_close_matches(str(value)[: 4 * ECHO_LIMIT], list(names), n=1)
    return names[matches[0]] if matches else None


def listing(known: Iterable[object], limit: int = LISTED_LIMIT) -> str:
    """``known`` as ``'a', 'b', ... and N more`` (at most ``limit`` shown, each cut), or ``none``."""
    items = list(known)
    if not items:
        return "none"
    shown = ", ".join(quoted(item) for item in items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit:,} more"


def unknown_name(what: str, value: object, known: Sequence[object], *, where: str, plural: str | None = None) -> str:
    """The message for a name that matches nothing: the name (cut), the closest match, and what exists.

    Args:
        what: What the name names, e.g. ``"pipeline"``.
        value: The name given.
        known: Every name that exists, in the order to list them.
        where: Where it was looked up, e.g. ``"in the lineage store /data/lineage/lineage.duckdb"``.
        plural: The plural of ``what`` (default: ``what`` + ``"s"``).

    Returns:
        E.g. ``no pipeline 'brest_cancer' in ...; did you mean 'breast_cancer'? pipelines there (2): ...``.
    """
    match = closest(value, known)
    suggestion = f"; did you mean {quoted(match)}?" if match is not None else ";"
    return (f"no {what} {quoted(value)} {where}{suggestion} {plural or what + 's'} there ({len(known):,}): "
            f"{listing(known)}")


def require_known(what: str, value: object, known: Sequence[object], *, where: str,
                  plural: str | None = None) -> None:
    """Raise :class:`UnknownNameError` (see :func:`unknown_name`) unless ``value`` is in ``known``."""
    if value not in known:
        raise UnknownNameError(unknown_name(what, value, known, where=where, plural=plural))


def cut_echoes(message: str, inputs: Iterable[str], limit: int = ECHO_LIMIT) -> str:
    """``message`` with every long user input in it (as typed, or quoted with ``repr``) cut.

    Used on messages written by code that does not cut what it repeats, such as
    argparse's own ("invalid choice: '...'") and those of errors raised deep inside a
    command (a path in "file not found").

    Args:
        message: The message.
        inputs: The command-line arguments as given.
        limit: Characters kept of each.
    """
    long_values: set[str] = set()
    for token in inputs:
        long_values.add(token)
        if token.startswith("-") and "=" in token:  # --option=value
            long_values.add(token.split("=", 1)[1])
        elif token.startswith("-") and not token.startswith("--"):  # -mVALUE
            long_values.add(token[2:])
    # Longest first: a value inside a longer token is replaced as part of it.
    for value in sorted((v for v in long_values if len(v) > limit), key=len, reverse=True):
        message = message.replace(repr(value), quoted(value)).replace(value, cut(value, limit))
    return message
