"""Real free text for the text generator tests, offline: paragraphs of Python's own help topics.

``pydoc_data.topics`` ships with the standard library (the text ``help("for")`` shows). Each
prose paragraph becomes a row: its text, the help topic it comes from (the label), its word
count and whether it mentions an exception (a category).
"""

from __future__ import annotations

import re
from pydoc_data.topics import topics

import pandas as pd

TOPICS = ("assignment", "comparisons", "import")
"""Help topics with 30 to 40 prose paragraphs each."""


def help_paragraphs(names: tuple[str, ...] = TOPICS, *, per_topic: int | None = None) -> pd.DataFrame:
    """One row per prose paragraph (more than 8 words, not an indented code block) of the help ``names``.

    Columns: ``text`` (the paragraph, white space collapsed), ``words`` (int), ``kind``
    (``exception`` / ``other``), ``topic`` (the label).
    """
    rows = []
    for name in names:
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", topics[name])
                      if len(p.split()) > 8 and not p.startswith("   ")]
        for text in paragraphs[:per_topic]:
            rows.append({"text": text, "words": len(text.split()),
                         "kind": "exception" if "exception" in text.lower() else "other", "topic": name})
    return pd.DataFrame(rows)
