"""Word tokens of free text and a vectorised token-id representation of many texts.

Tokens are lower-cased (Unicode case folding) runs of Unicode word characters
(``\\w``: letters, digits, underscore, in any script), with apostrophes inside a word
kept (``don't``, ``l'homme``, ``o’clock``); punctuation and white space separate words.

:class:`TokenizedTexts` keeps every token of many texts in one ``int64`` array of
vocabulary ids (``pandas.factorize``) with document offsets, so that n-gram counts,
vocabularies and document samples are numpy operations instead of Python loops over
n-grams. The n-gram ids combine consecutive token ids exactly (bit packing) when the
vocabulary is small enough and with a stable 64-bit mix (the SplitMix64 finaliser,
Steele et al. 2014) otherwise; n-grams never cross a document boundary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

WORD_PATTERN = re.compile(r"\w+(?:['’]\w+)*")
"""A word: Unicode word characters, with single apostrophes (ASCII or typographic) inside."""

_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def as_text(value: object) -> str:
    """``value`` as a string; missing values (None, NaN, pandas NA) are the empty text."""
    if isinstance(value, str):
        return value
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return ""
    return str(value)


def words(text: object) -> list[str]:
    """Lower-cased word tokens of ``text`` (see the module docs); ``[]`` for a missing value.

    Args:
        text: A string, or a missing value (None, NaN), which is an empty text.

    Returns:
        The words in order, case-folded.
    """
    return WORD_PATTERN.findall(as_text(text).casefold())


def normalised(text: object) -> str:
    """``text`` case-folded with runs of white space collapsed to one space and stripped (exact-copy key)."""
    return " ".join(as_text(text).casefold().split())


def mix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014): a stable bijection of 64-bit integers.

    Args:
        values: Integers of any shape (taken modulo 2**64).

    Returns:
        ``uint64`` array of the same shape.
    """
    mixed = values.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        mixed ^= mixed >> np.uint64(30)
        mixed *= _MIX_1
        mixed ^= mixed >> np.uint64(27)
        mixed *= _MIX_2
        mixed ^= mixed >> np.uint64(31)
    return mixed


@dataclass(frozen=True)
class TokenizedTexts:
    """Many texts as one array of token ids with document offsets.

    Attributes:
        ids: ``(tokens,)`` int64 vocabulary ids of every token of every document, in order.
        offsets: ``(documents + 1,)`` int64; document ``d`` holds ``ids[offsets[d]:offsets[d + 1]]``.
        vocabulary: ``(types,)`` object array; ``vocabulary[i]`` is the word of id ``i``.
    """

    ids: np.ndarray
    offsets: np.ndarray
    vocabulary: np.ndarray

    @classmethod
    def from_texts(cls, texts: Iterable[object]) -> TokenizedTexts:
        """Tokenise ``texts`` (missing values are empty texts) into one shared vocabulary.

        Args:
            texts: Strings or missing values, e.g. a ``pd.Series`` of one column.

        Returns:
            The tokenised texts, one document per input value, in order.
        """
        tokens = [words(text) for text in texts]
        lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
        flat = [word for document in tokens for word in document]
        codes, uniques = pd.factorize(pd.Series(flat, dtype=object), sort=False)
        return cls(codes.astype(np.int64, copy=False), np.r_[0, np.cumsum(lengths)].astype(np.int64),
                   np.asarray(uniques, dtype=object))

    @property
    def documents(self) -> int:
        """Number of documents."""
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """``(documents,)`` int64 tokens per document."""
        return np.diff(self.offsets)

    @property
    def doc_of_token(self) -> np.ndarray:
        """``(tokens,)`` int64 document index of each token."""
        return np.repeat(np.arange(self.documents, dtype=np.int64), self.lengths)

    def subset(self, documents: np.ndarray) -> TokenizedTexts:
        """The given documents, in the given order (repeats allowed), with the same vocabulary.

        Args:
            documents: ``(k,)`` integer document indices.

        Returns:
            A new :class:`TokenizedTexts` of ``k`` documents.
        """
        documents = np.asarray(documents, dtype=np.int64)
        lengths = self.lengths[documents]
        offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
        # Position of every kept token: its document's old start plus its rank inside the document.
        starts = np.repeat(self.offsets[:-1][documents] - offsets[:-1], lengths)
        return TokenizedTexts(self.ids[starts + np.arange(offsets[-1], dtype=np.int64)], offsets, self.vocabulary)

    def prefix(self, tokens: int) -> TokenizedTexts:
        """The first ``tokens`` tokens of the concatenated documents: later documents dropped, the last kept cut.

        Args:
            tokens: Tokens to keep (at most all of them).

        Returns:
            The documents that start before ``tokens``, the last one truncated so that exactly
            ``min(tokens, total)`` tokens remain.
        """
        tokens = int(min(max(tokens, 0), len(self.ids)))
        kept = int(np.searchsorted(self.offsets[1:], tokens, side="left")) + 1 if tokens else 0
        kept = min(kept, self.documents)
        offsets = np.minimum(self.offsets[:kept + 1], tokens)
        return TokenizedTexts(self.ids[:tokens], offsets, self.vocabulary)

    def word_hashes(self) -> np.ndarray:
        """``(types,)`` uint64 hashes of the vocabulary's words (``pandas.util.hash_array``), the same in every
        tokenisation, unlike the ids."""
        return pd.util.hash_array(self.vocabulary, categorize=False).astype(np.uint64)

    def ngram_hashes(self, n: int, positions: np.ndarray | None = None) -> np.ndarray:
        """Stable 64-bit hashes of every word n-gram inside one document (see :meth:`ngram_ids`).

        Unlike the ids, they depend only on the words, so hashes of separately tokenised
        texts can be compared.

        Args:
            n: n-gram length in words (>= 1).
            positions: Start positions from :meth:`ngram_positions` (computed when None).

        Returns:
            ``(m,)`` uint64 hashes.
        """
        starts = self.ngram_positions(n) if positions is None else positions
        words_hashed = self.word_hashes()
        combined = mix64(words_hashed[self.ids[starts]])
        with np.errstate(over="ignore"):
            for k in range(1, n):
                combined = mix64((combined * _GOLDEN) ^ words_hashed[self.ids[starts + k]])
        return combined

    def ngram_positions(self, n: int) -> np.ndarray:
        """``(m,)`` int64 start positions (into :attr:`ids`) of every n-gram inside one document.

        Raises:
            ValueError: ``n`` < 1.
        """
        if n < 1:
            raise ValueError(f"n-grams need n >= 1, got {n}")
        if len(self.ids) == 0:
            return np.zeros(0, dtype=np.int64)
        rank = np.arange(len(self.ids), dtype=np.int64) - np.repeat(self.offsets[:-1], self.lengths)
        remaining = np.repeat(self.lengths, self.lengths) - rank
        return np.flatnonzero(remaining >= n)

    def ngram_ids(self, n: int, positions: np.ndarray | None = None) -> np.ndarray:
        """Ids of every word n-gram that lies inside one document, in order.

        Equal n-grams have equal ids; different n-grams have different ids exactly when the
        vocabulary fits ``n`` ids in 63 bits (packing), and with probability about
        ``1 - m**2 / 2**65`` for ``m`` n-grams otherwise (64-bit mixing).

        Args:
            n: n-gram length in words (>= 1).
            positions: Start positions from :meth:`ngram_positions` (computed when None).

        Returns:
            ``(m,)`` int64 ids, one per n-gram occurrence.

        Raises:
            ValueError: ``n`` < 1.
        """
        starts = self.ngram_positions(n) if positions is None else positions
        if n == 1:
            return self.ids[starts]
        bits = max(int(len(self.vocabulary)).bit_length(), 1)
        if bits * n <= 63:
            packed = self.ids[starts].copy()
            for k in range(1, n):
                packed = (packed << bits) | self.ids[starts + k]
            return packed
        combined = mix64(self.ids[starts] + 1)
        with np.errstate(over="ignore"):
            for k in range(1, n):
                combined = mix64((combined * _GOLDEN) ^ self.ids[starts + k].astype(np.uint64))
        return combined.view(np.int64)
