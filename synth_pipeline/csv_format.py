"""The format of a delimited text file: its delimiter, and whether numbers use a decimal comma.

A ``;``-separated CSV read with a comma gives one column (and an error about a missing
label column), a European CSV also writes ``1,5`` for 1.5, and tab-separated files come
as ``.tsv`` or ``.txt``. This module finds the delimiter from the first lines of the
file, unless the source names one.

The rule: a delimiter must split the *header* into at least two fields and every sampled
line into as many. A decimal comma never splits the header, and a file no candidate
splits is simply one column. :class:`csv.Sniffer` was not used because it raises "Could
not determine delimiter" on a one-column file (verified), and its choice (character
frequency tables, a consistency threshold lowered down to 90 % of the lines, then a
preference order) is harder to state in an error message than the rule above.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

AUTO = "auto"
CANDIDATES = (",", ";", "\t", "|")
"""Tried in this order; the first one that splits the sample consistently wins (the comma is the default)."""
NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SAMPLE_CHARACTERS = 64 * 1024
"""Characters read to detect the delimiter: a few hundred lines of a typical file."""
_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d+(,\d+)?\s*")


@dataclass(frozen=True)
class CsvFormat:
    """How a delimited text file is read.

    Attributes:
        delimiter: The field separator.
        decimal: The decimal mark of numbers, ``.`` or ``,``.
        origin: ``spec`` (set on the source), ``detected`` (split the sample
            consistently) or ``default`` (nothing else did: one column, or no
            consistent split, read with a comma).
    """

    delimiter: str
    decimal: str = "."
    origin: str = "default"

    @property
    def delimiter_name(self) -> str:
        return NAMES.get(self.delimiter, repr(self.delimiter))

    def as_metadata(self) -> dict[str, str]:
        """The format as a JSON-able mapping (Dagster metadata)."""
        return {"delimiter": self.delimiter, "delimiter_name": self.delimiter_name, "delimiter_origin": self.origin,
                "decimal": self.decimal}

    def description(self) -> str:
        """E.g. ``semicolon-separated (detected), decimal comma``."""
        decimal = ", decimal comma" if self.decimal == "," else ""
        return f"{self.delimiter_name}-separated ({self.origin}){decimal}"


def detect_delimiter(path: Path, configured: str = AUTO) -> CsvFormat:
    """The delimiter of ``path``: ``configured`` unless it is ``auto``, else detected from its first lines.

    A candidate of :data:`CANDIDATES` qualifies when it splits the header into at least
    two fields and every other sampled line into as many; the first that qualifies wins.
    Failing that (a ragged line), the first that splits the header into two or more
    fields and most lines into as many wins, so that the reader reports the ragged line.
    A file no candidate splits is read with a comma: it has one column.

    Args:
        path: A UTF-8 text file (a byte-order mark is allowed).
        configured: The source's ``delimiter`` setting.

    Raises:
        UnicodeDecodeError: The sample is not UTF-8 (the caller reports it).
    """
    if configured != AUTO:
        return CsvFormat(configured, origin="spec")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        sample = handle.read(SAMPLE_CHARACTERS)
        complete = not handle.read(1)
    if not complete:  # the last line may be cut short
        sample = sample[: sample.rfind("\n") + 1] or sample
    widths = {candidate: _field_counts(sample, candidate) for candidate in CANDIDATES}
    for candidate, counts in widths.items():
        if counts and counts[0] >= 2 and all(count == counts[0] for count in counts[1:]):
            return CsvFormat(candidate, origin="detected")
    for candidate, counts in widths.items():
        if counts and counts[0] >= 2 and 2 * sum(count == counts[0] for count in counts) > len(counts):
            return CsvFormat(candidate, origin="detected")
    return CsvFormat(",", origin="default")


def _field_counts(sample: str, delimiter: str) -> list[int]:
    """Fields per non-empty record of ``sample`` split by ``delimiter`` (quotes respected); [] if unreadable."""
    try:
        return [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter, skipinitialspace=True)
                if row]
    except csv.Error:
        return []


def uses_decimal_comma(frame: pd.DataFrame, csv_format: CsvFormat) -> bool:
    """Whether a file read with ``csv_format`` writes numbers with a decimal comma (``1,5``).

    Only a file not separated by commas can (an unquoted ``1,5`` would be two fields). It
    does when some text column holds nothing but integers and decimal-comma numbers, with
    at least one of the latter. A ``.`` thousands separator (``1.234,5``) is not
    recognised: such a column stays text.

    Args:
        frame: The file as read with ``csv_format`` (decimal point).
        csv_format: How it was split.

    Returns:
        Whether to read the file again with ``decimal=","``.
    """
    if csv_format.delimiter == "," or csv_format.decimal == ",":
        return False
    for column in frame.columns:
        values = frame[column].dropna()
        if values.empty or not pd.api.types.is_object_dtype(values) or pd.api.types.infer_dtype(values) != "string":
            continue
        if values.str.fullmatch(_DECIMAL_COMMA).all() and values.str.contains(",", regex=False).any():
            return True
    return False
