"""A word n-gram Markov text generator (built-in ``synthesizer.method: word_markov``, no extra).

For each label class and each text column it learns an order-``k`` Markov chain over word
and punctuation tokens (:mod:`synth_pipeline.generators.words`): the next token is drawn
from the counts of the tokens that followed the same ``k`` tokens in the class's texts
(Shannon, "A Mathematical Theory of Communication", 1948, section 3; Jurafsky & Martin,
*Speech and Language Processing*, 3rd ed., chapter 3 "N-gram Language Models"). Each text
is padded with ``k`` start tokens and closed by an end token, so the chain also learns how
texts begin and end. No smoothing: it only ever emits n-grams it has seen.

Sampling draws each row's class from the fitted class frequencies, then every text column's
text from that class's chain (at most ``max_words`` tokens), and the row's other columns
(numbers, categories, the label) as one whole sub-row drawn with replacement from the
class's fitted rows, so they keep their joint distribution within the class. A text column
is missing in a sampled row as often as in the class's fitted rows.

A chain of order 2 on short texts often walks one fitted text from start to end: on the
shipped reviews (median 18 words) 10 % of its texts were exact copies of training reviews,
which the privacy check rightly fails. So, as markovify does (``Text.test_sentence_output``),
a sampled text is redrawn (up to ``tries`` times) when it repeats a run of words from any
fitted text longer than ``max_overlap`` x its length, at most ``max_overlap_words`` words;
a text still overlapping after the last try is kept and counted (``kept_overlapping`` in
the generator's metadata), so the privacy check judges it. ``max_overlap: 1`` turns the
filter off.

Why it is here: it is the smallest honest model of text that *collapses*. Refitted on its
own output, it can only lose n-grams (a chain emits nothing it has not seen, and a rare
transition that is not sampled is gone for good), so vocabulary and distinct n-grams
shrink generation after generation, as Shumailov et al. (Nature, 2024) describe for
language models; the pipeline's checks can be shown catching it.

Which columns are text: the ``text_columns`` the pipeline sets on the generator, else the
string columns whose median word count is above 3 (:mod:`synth_pipeline.generators.text_columns`).
With a regression label (``label_is_class`` False) there is a single chain per text column
and the label is drawn with the other columns.

Example spec (YAML)::

    synthesizer:
      method: word_markov
      params: {order: 2, max_words: 200, max_overlap: 0.7, max_overlap_words: 15, tries: 10}
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.errors import GeneratorSpecError
from synth_pipeline.generators.dtypes import empty_like, restore_dtypes
from synth_pipeline.generators.protocol import GeneratorInfo
from synth_pipeline.generators.text_columns import MIN_MEDIAN_WORDS, text_columns_of
from synth_pipeline.generators.words import detokenize, tokenize
from synth_pipeline.text.tokens import TokenizedTexts

METHOD = "word_markov"
NAME = "text.word_markov"
MAX_ORDER = 10
MAX_WORDS_CAP = 1_000
"""Cap of the default ``max_words`` (3x the longest fitted text); an explicit ``max_words`` may be up to 10x this."""

START = "<s>"
END = "</s>"
"""Padding and end tokens; :func:`~synth_pipeline.generators.words.tokenize` never makes them (``<`` splits off)."""

_PARAMS = ("order", "max_words", "max_overlap", "max_overlap_words", "tries")



@dataclass(frozen=True)
class _Successors:
    tokens: tuple[str, ...]
    cumulative: tuple[int, ...]


class WordChain:
    """An order-``k`` Markov chain over tokens, with start padding and an end token.

    Args:
        order: How many preceding tokens a state holds (``k`` >= 1).
        texts: The token sequences to learn from (one per text).
    """

    def __init__(self, order: int, texts: Sequence[Sequence[str]]) -> None:
        self.order = order
        counts: dict[tuple[str, ...], dict[str, int]] = {}
        for tokens in texts:
            state = (START,) * order
            for token in [*tokens, END]:
                following = counts.setdefault(state, {})
                following[token] = following.get(token, 0) + 1
                state = (*state[1:], token)
        # Successors in first-seen order, so a seed gives the same text on every machine.
        self._table = {state: _Successors(tuple(following), tuple(np.cumsum(list(following.values())).tolist()))
                       for state, following in counts.items()}

    @property
    def states(self) -> int:
        """Number of distinct states (``k``-token contexts) seen."""
        return len(self._table)

    def vocabulary(self) -> set[str]:
        """The tokens the chain can emit (without the end token)."""
        return {token for successors in self._table.values() for token in successors.tokens} - {END}

    def generate(self, rng: np.random.Generator, max_words: int) -> list[str]:
        """One token sequence: from the start state until the end token or ``max_words`` tokens.

        Args:
            rng: The random source (one uniform draw per token).
            max_words: Most tokens to emit (the text is cut there).

        Returns:
            The tokens.
        """
        state = (START,) * self.order
        tokens: list[str] = []
        for draw in rng.random(max_words):
            successors = self._table[state]
            token = successors.tokens[bisect.bisect_right(successors.cumulative, draw * successors.cumulative[-1])]
            if token == END:
                break
            tokens.append(token)
            state = (*state[1:], token)
        return tokens


@dataclass(frozen=True)
class _ClassModel:
    rows: np.ndarray
    """Positions (in the fitted frame) of the class's rows, for the non-text sub-rows."""
    chains: dict[str, WordChain]
    missing: dict[str, float]
    """Share of the class's rows whose text is missing, per text column."""


class WordMarkovGenerator:
    """Class-conditional word n-gram Markov chains for text columns (see the module docs).

    Args:
        order: Tokens of context per state (1 to 10); 2 by default (a trigram model).
        max_words: Most tokens of a sampled text; None: 3x the longest fitted text's tokens,
            at most 1,000.
        max_overlap: Longest run of a fitted text's tokens a sampled text may repeat, as a
            share of its own tokens (0 to 1; 1 turns the overlap filter off). Default 0.7,
            markovify's.
        max_overlap_words: ... and at most this many tokens (1 to 1,000). Default 15, markovify's.
        tries: Draws per text before one that still overlaps is kept (1 to 1,000). Default 10.
        log: Where to report the fit (a Dagster or stdlib logger).

    Attributes:
        text_columns: The text columns, set by the pipeline (its resolved list); None: detect them.
        label_is_class: False for a regression label (one chain per text column, no classes).

    Raises:
        GeneratorSpecError: ``order`` or ``max_words`` is not an integer in range.
    """

    def __init__(self, *, order: int = 2, max_words: int | None = None, max_overlap: float = 0.7,
                 max_overlap_words: int = 15, tries: int = 10, log: logging.Logger | Any | None = None) -> None:
        self.order = _integer("order", order, low=1, high=MAX_ORDER)
        if isinstance(max_overlap, bool) or not isinstance(max_overlap, int | float) or not 0 <= max_overlap <= 1:
            raise GeneratorSpecError(f"synthesizer.params.max_overlap of {METHOD} must be a number from 0 to 1 (got "
                                     f"{max_overlap!r}): fix it in the spec")
        self.max_overlap = float(max_overlap)
        self.max_overlap_words = _integer("max_overlap_words", max_overlap_words, low=1, high=MAX_WORDS_CAP)
        self.tries = _integer("tries", tries, low=1, high=MAX_WORDS_CAP)
        self._fitted_words: dict[str, TokenizedTexts] = {}
        self._fitted_runs: dict[tuple[str, int], np.ndarray] = {}
        self._overlaps = {"rejected_overlapping": 0, "kept_overlapping": 0}
        self.max_words = None if max_words is None else _integer("max_words", max_words, low=1,
                                                                 high=10 * MAX_WORDS_CAP)
        self.log = log
        self.text_columns: tuple[str, ...] | None = None
        self.label_is_class = True
        self._frame: pd.DataFrame | None = None
        self._texts: list[str] = []
        self._classes: list[tuple[Any, float, _ClassModel]] = []
        self._max_words = 0
        self._extra: dict[str, Any] = {}

    def fit(self, frame: pd.DataFrame, *, label_column: str, seed: int) -> None:
        """Learn one chain per class and text column, and keep the class's non-text rows.

        Args:
            frame: The fit input (not modified).
            label_column: The target column; its classes condition the chains.
            seed: Unused: the fit is a count.

        Raises:
            GeneratorSpecError: No rows, no label column, no text column, or a class whose
                rows hold no text in a text column.
        """
        if label_column not in frame.columns:
            raise GeneratorSpecError(f"{METHOD}: the label column {label_column!r} is not in the fit input")
        if not len(frame):
            raise GeneratorSpecError(f"{METHOD}: the fit input has no rows: nothing to learn text from")
        texts = text_columns_of(frame, label_column=label_column, declared=self.text_columns, generator=METHOD)
        if not texts:
            raise GeneratorSpecError(
                f"{METHOD} (synthesizer.method) found no text column in the fit input (columns "
                f"{list(map(str, frame.columns))}; a column of strings is text when its median value has more than "
                f"{MIN_MEDIAN_WORDS} words; in a pipeline, the columns the real source's text_columns resolved to): "
                "declare them in the spec's text_columns, or use a tabular synthesizer.method")
        if self.label_is_class:
            codes, uniques = pd.factorize(frame[label_column], use_na_sentinel=False)
            groups = [(uniques[i], np.flatnonzero(codes == i)) for i in range(len(uniques))]
        else:
            groups = [(None, np.arange(len(frame)))]
        tokenized = {column: [None if _missing(v) else tokenize(str(v)) for v in frame[column]] for column in texts}
        classes = []
        for value, rows in groups:
            chains, missing = {}, {}
            for column in texts:
                present = [tokenized[column][i] for i in rows if tokenized[column][i] is not None]
                if not any(present):
                    which = "the fit input" if value is None else f"the rows of class {value!r} ({label_column})"
                    raise GeneratorSpecError(
                        f"{METHOD}: {which} hold no text in column {column!r} ({len(rows)} rows, all missing or "
                        "empty), so there is nothing to learn its text from: fill in their text, drop those rows, or "
                        "leave the column out of the text columns")
                chains[column] = WordChain(self.order, present)
                missing[column] = 1 - len(present) / len(rows)
            classes.append((value, len(rows) / len(frame), _ClassModel(rows, chains, missing)))
        longest = max(len(tokens) for column in texts for tokens in tokenized[column] if tokens is not None)
        self._max_words = self.max_words or min(3 * max(longest, 1), MAX_WORDS_CAP)
        self._frame, self._texts, self._classes = frame, texts, classes
        self._fitted_words = {column: TokenizedTexts.from_texts(frame[column]) for column in texts
                              } if self.max_overlap < 1 else {}
        self._fitted_runs = {}
        vocabulary = set().union(*(chain.vocabulary() for *_, model in classes for chain in model.chains.values()))
        states = {_key(value): sum(chain.states for chain in model.chains.values()) for value, _, model in classes}
        self._extra = {"text_columns": texts, "vocabulary_size": len(vocabulary), "states_per_class": states,
                       "max_words": self._max_words}
        if self.log:
            self.log.info(f"{METHOD}: order-{self.order} word chains for {len(texts)} text column(s) x {len(classes)} "
                          f"class(es) fitted on {len(frame):,} rows: vocabulary {len(vocabulary):,} tokens, "
                          f"{sum(states.values()):,} states; texts cut at {self._max_words} tokens")

    def sample(self, num_rows: int, *, seed: int) -> pd.DataFrame:
        """``num_rows`` rows: class from the fitted frequencies, texts from its chains, other columns bootstrapped.

        Args:
            num_rows: Rows to make (>= 0).
            seed: Seeds a :func:`numpy.random.default_rng`; the same seed gives the same rows.

        Returns:
            The rows, with the fitted frame's columns (in order) and dtypes.

        Raises:
            GeneratorSpecError: :meth:`fit` was not called first.
        """
        if self._frame is None:
            raise GeneratorSpecError(f"{METHOD}: sample() called before fit()")
        frame = self._frame
        if num_rows <= 0:
            return empty_like(frame.dtypes)
        rng = np.random.default_rng(seed)
        drawn = rng.choice(len(self._classes), size=num_rows, p=[share for _, share, _ in self._classes])
        positions = np.empty(num_rows, dtype=np.int64)
        texts: dict[str, list[object]] = {column: [None] * num_rows for column in self._texts}
        for index, (_, _, model) in enumerate(self._classes):
            where = np.flatnonzero(drawn == index)
            positions[where] = rng.choice(model.rows, size=len(where))
            for row in where:
                for column in self._texts:
                    absent = model.missing[column] and rng.random() < model.missing[column]
                    texts[column][row] = np.nan if absent else detokenize(
                        model.chains[column].generate(rng, self._max_words))
        for column in self._fitted_words:
            self._redraw_overlapping(texts[column], column, drawn, rng)
        if self.log and self._fitted_words:
            self.log.info(f"{METHOD}: {self._overlaps['rejected_overlapping']:,} sampled texts redrawn for repeating a "
                          f"fitted text; {self._overlaps['kept_overlapping']:,} kept after {self.tries} tries")
        rows = frame.iloc[positions].reset_index(drop=True)
        for column in self._texts:
            rows[column] = pd.Series(texts[column], dtype=object)
        return restore_dtypes(rows, frame.dtypes, generator=METHOD)

    def _redraw_overlapping(self, texts: list[object], column: str, drawn: np.ndarray,
                            rng: np.random.Generator) -> None:
        """Redraw, in place and up to ``tries`` draws in all, the texts that repeat a long run of a fitted text."""
        pending = np.arange(len(texts))
        for attempt in range(1, self.tries + 1):
            pending = pending[self._overlapping([texts[i] for i in pending], column)]
            if not len(pending):
                return
            if attempt == self.tries:
                self._overlaps["kept_overlapping"] += len(pending)
                return
            self._overlaps["rejected_overlapping"] += len(pending)
            for row in pending:
                chain = self._classes[drawn[row]][2].chains[column]
                texts[row] = detokenize(chain.generate(rng, self._max_words))

    def _overlapping(self, texts: list[object], column: str) -> np.ndarray:
        """markovify's test, on words (:mod:`synth_pipeline.text.tokens`) and vectorised: a text of ``n`` words
        overlaps when a run of more than ``min(max_overlap_words, round(max_overlap x n))`` of its words (all of
        them, for a short text) occurs in one fitted text. Missing texts never overlap."""
        tokens = TokenizedTexts.from_texts(texts)
        lengths = tokens.lengths
        windows = np.minimum(np.minimum(self.max_overlap_words, np.round(self.max_overlap * lengths)) + 1, lengths)
        flags = np.zeros(len(texts), dtype=bool)
        for window in np.unique(windows[windows > 0]).astype(int):
            documents = np.flatnonzero(windows == window)
            part = tokens.subset(documents)
            positions = part.ngram_positions(window)
            hits = np.isin(part.ngram_hashes(window, positions), self._runs(column, window))
            flags[documents[np.unique(part.doc_of_token[positions[hits]])]] = True
        return flags

    def _runs(self, column: str, window: int) -> np.ndarray:
        """Sorted hashes of every run of ``window`` words inside one fitted text (cached)."""
        key = (column, window)
        if key not in self._fitted_runs:
            self._fitted_runs[key] = np.unique(self._fitted_words[column].ngram_hashes(window))
        return self._fitted_runs[key]

    def info(self) -> GeneratorInfo:
        """``text.word_markov``, its params, and (after a fit) text columns, vocabulary size, states per class,
        and the sampled texts redrawn or kept for repeating a fitted text."""
        params = {"order": self.order, "max_words": self.max_words, "max_overlap": self.max_overlap,
                  "max_overlap_words": self.max_overlap_words, "tries": self.tries}
        return GeneratorInfo(name=NAME, params=params, extra={**self._extra, **self._overlaps})


def make_word_markov_generator(method: str, params: dict[str, Any],
                               log: logging.Logger | Any | None) -> WordMarkovGenerator:
    """The registry's factory for ``word_markov``.

    Raises:
        GeneratorSpecError: ``params`` holds an unknown key or an invalid value.
    """
    unknown = sorted(set(params) - set(_PARAMS))
    if unknown:
        raise GeneratorSpecError(f"synthesizer.params {unknown} are not parameters of {METHOD}; it takes "
                                 f"{list(_PARAMS)}: fix synthesizer.params in the spec")
    return WordMarkovGenerator(**params, log=log)


def _integer(name: str, value: Any, *, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise GeneratorSpecError(f"synthesizer.params.{name} of {METHOD} must be an integer from {low} to {high:,} "
                                 f"(got {value!r}): fix it in the spec")
    return value


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _key(value: Any) -> str:
    """A class value as a JSON object key."""
    return "all" if value is None else str(value.item() if isinstance(value, np.generic) else value)
