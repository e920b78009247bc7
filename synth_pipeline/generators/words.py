"""Splitting text into word and punctuation tokens, and joining tokens back into readable text.

A token is a word (letters, digits, underscores, with inner ``-``, ``'``, ``’`` or ``.``
as in ``don't`` or ``os.path``) or a single punctuation character, so a model of token
sequences also learns where commas, brackets and full stops go.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TOKEN = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]")
"""A word, or one character that is neither a word character nor white space."""

_NO_SPACE_BEFORE = frozenset(".,;:!?)]}%’”…")
_NO_SPACE_AFTER = frozenset("([{‘“")
_STRAIGHT_QUOTES = frozenset("\"'`")


def tokenize(text: str) -> list[str]:
    """The word and punctuation tokens of ``text``, in order (white space dropped).

    Args:
        text: Any string.

    Returns:
        The tokens, e.g. ``["Hello", ",", "world", "."]`` for ``"Hello, world."``.
    """
    return TOKEN.findall(text)


def detokenize(tokens: Iterable[str]) -> str:
    """Join tokens with spaces, except where punctuation attaches to its neighbour.

    Closing punctuation (``. , ; : ! ? ) ] }``) attaches to the token before it, opening
    brackets to the token after; a straight quote (``"``, ``'``, `````) opens and closes
    in turn, attaching inwards.

    Args:
        tokens: Tokens as :func:`tokenize` makes them.

    Returns:
        The text, e.g. ``"Hello, world (again)."``.
    """
    parts: list[str] = []
    open_quotes: set[str] = set()
    attach_next = True  # no space before the first token
    for token in tokens:
        closing = token in _NO_SPACE_BEFORE
        if token in _STRAIGHT_QUOTES:
            closing = token in open_quotes
            open_quotes.symmetric_difference_update({token})
        if parts and not attach_next and not closing:
            parts.append(" ")
        parts.append(token)
        attach_next = token in _NO_SPACE_AFTER or (token in _STRAIGHT_QUOTES and token in open_quotes)
    return "".join(parts)
