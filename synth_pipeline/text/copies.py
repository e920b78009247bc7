"""Copies of real texts in generated texts, judged against chance with the sealed holdout.

A generator that memorised its training texts reproduces some of them verbatim or with
small edits. Two kinds of copy of a training text are counted in the generated texts:

- **exact copies**: the text equals a training text after case folding and collapsing
  white space (:func:`synth_pipeline.text.tokens.normalised`), found by hashing on ALL
  rows (a hash join: cheap at any size);
- **near-copies**: the estimated Jaccard similarity of the two texts' word 3-shingle sets
  is at least ``jaccard`` (Broder 1997; MinHash + MinHash LSH from datasketch, see
  :mod:`synth_pipeline.text.shingles`). Exact copies are near-copies as well.

Short or formulaic texts ("See also.", "Changed in version 3.8.") match a real text by
chance, more often the more real texts there are. So each count is compared with the same
count against the **sealed holdout**, real texts the generator never saw: training and
holdout texts are subsampled (seeded) to the same size ``m``, and the excess share
``share(training) - share(holdout)`` gets a one-sided 95 % lower bound from Newcombe's
(1998, method 10) hybrid score interval
(:func:`synth_pipeline.quality.near_copies.excess_lower_bound`). Both shares are measured
on the same generated texts; the interval treats them as independent, which is
conservative when they are positively correlated (a generic text tends to match either
side), the usual case. Texts without words are never copies.

Near-copies cost a MinHash per text (about 60 µs for 100 words) and an LSH query, so the
generated texts searched and ``m`` are capped at ``max_rows`` (default
:data:`DEFAULT_MAX_ROWS`, seeded sample); with 10,000 generated texts the standard error of
a near-copy share is at most ``sqrt(p (1 - p) / 10,000)``, 0.001 at p = 1 %: a copy rate of
about 0.5 % above the holdout's is then detected.

:func:`near_copies_of` serves holdout isolation: it finds near-copies of holdout texts in
any training input (query = the input's texts, reference = the holdout).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.quality.near_copies import excess_lower_bound
from synth_pipeline.quality.sampling import sample_positions
from synth_pipeline.text.tokens import WORD_PATTERN, TokenizedTexts, normalised

DEFAULT_MAX_ROWS = 10_000
DEFAULT_JACCARD = 0.7
_NAN = float("nan")


@dataclass(frozen=True)
class TextCopyResult:
    """Exact and near copies of training texts among generated texts, against the holdout control.

    Shares are of generated texts (0-1). NaN figures come with a reason in :attr:`undefined`.

    Attributes:
        rows: Generated texts given.
        training_rows / holdout_rows: Training and holdout texts given.
        exact_copies: Generated texts equal to any training text (all rows).
        exact_copy_share: ``exact_copies / rows``.
        exact_holdout_copies: Generated texts equal to any holdout text (all rows).
        compared_rows: ``m``: training and holdout texts in the equal-size comparison of exact copies.
        exact_training_hits / exact_holdout_hits: Generated texts (all rows) equal to one of the
            ``m`` sampled training / holdout texts.
        exact_excess: ``(exact_training_hits - exact_holdout_hits) / rows``, scaled by
            ``training_rows / compared_rows`` (the sample finds that fraction of the copies), at most 1.
        exact_excess_lower_bound: Its one-sided 95 % lower bound (Newcombe), scaled alike.
        query_rows: Generated texts searched for near-copies (at most ``max_rows``).
        near_compared_rows: Training and holdout texts each in the near-copy comparison.
        near_copies / near_copy_share: Searched texts near-copying a sampled training text.
        holdout_near_copies / holdout_near_copy_share: Searched texts near-copying a sampled holdout text.
        excess_share: ``near_copy_share - holdout_near_copy_share``, scaled by
            ``training_rows / near_compared_rows``, at most 1.
        excess_lower_bound: Its one-sided 95 % lower bound (Newcombe), scaled alike.
        jaccard: Near-copy threshold (estimated Jaccard similarity of word 3-shingles).
    """

    rows: int
    training_rows: int
    holdout_rows: int
    exact_copies: int = 0
    exact_copy_share: float = _NAN
    exact_holdout_copies: int = 0
    compared_rows: int = 0
    exact_training_hits: int = 0
    exact_holdout_hits: int = 0
    exact_excess: float = _NAN
    exact_excess_lower_bound: float = _NAN
    query_rows: int = 0
    near_compared_rows: int = 0
    near_copies: int = 0
    near_copy_share: float = _NAN
    holdout_near_copies: int = 0
    holdout_near_copy_share: float = _NAN
    excess_share: float = _NAN
    excess_lower_bound: float = _NAN
    jaccard: float = _NAN

    @property
    def undefined(self) -> str | None:
        """Why the excess is undefined (no generated, training or holdout texts), or None."""
        if self.rows == 0:
            return "no generated texts"
        if self.training_rows == 0 or self.holdout_rows == 0:
            return (f"no {'training' if self.training_rows == 0 else 'holdout'} texts: copies cannot be "
                    "judged against the holdout")
        return None

    def to_dict(self) -> dict[str, Any]:
        """The figures (for check metadata)."""
        return asdict(self)


def text_hashes(texts: pd.Series) -> np.ndarray:
    """``(n,)`` uint64 hashes of the normalised texts; 0 for a text without words.

    Args:
        texts: Texts; missing values are empty texts.
    """
    keys = pd.Series([normalised(text) for text in texts], dtype=object)
    hashes = pd.util.hash_array(keys.to_numpy(dtype=object), categorize=False).astype(np.uint64)
    has_words = np.fromiter((WORD_PATTERN.search(key) is not None for key in keys), dtype=bool, count=len(keys))
    hashes[~has_words] = 0
    return hashes


def _sample(texts: pd.Series, size: int, seed: int | np.random.Generator) -> pd.Series:
    positions = sample_positions(len(texts), size, seed)
    return texts if positions is None else texts.iloc[positions]


def _hits(queries: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return (queries != 0) & np.isin(queries, reference[reference != 0])


def near_copies_of(reference: pd.Series, queries: pd.Series, *, jaccard: float = DEFAULT_JACCARD) -> np.ndarray:
    """For each query text, the position of a reference text it near-copies, or -1.

    Used for holdout isolation: ``reference`` is the sealed holdout and ``queries`` the texts
    of a training input; a query at a non-negative position is a (near-)copy of that holdout
    text. Among several, the most similar reference text is returned (the first on ties). A
    query without words copies nothing.

    Args:
        reference: ``(r,)`` reference texts (missing values are empty).
        queries: ``(q,)`` texts to look up.
        jaccard: Near-copy threshold on the estimated Jaccard similarity of word 3-shingles, in (0, 1].

    Returns:
        ``(q,)`` int64 positions into ``reference`` (0-based, not index labels), or -1.

    Raises:
        ValueError: ``jaccard`` outside (0, 1].
    """
    from synth_pipeline.text.shingles import signatures

    if not 0 < jaccard <= 1:
        raise ValueError(f"jaccard must be in (0, 1], got {jaccard}")
    query_tokens = TokenizedTexts.from_texts(queries.tolist())
    return _near_copies(query_tokens, signatures(query_tokens), reference, jaccard)


def _near_copies(query_tokens: TokenizedTexts, query_signatures: Any, reference: pd.Series,
                 jaccard: float) -> np.ndarray:
    from synth_pipeline.text.shingles import near_copies, signatures

    found = near_copies(query_signatures, signatures(TokenizedTexts.from_texts(reference.tolist())), jaccard)
    found[query_tokens.lengths == 0] = -1
    return found


def text_copies(
    generated: pd.Series, training: pd.Series, holdout: pd.Series, *, jaccard: float = DEFAULT_JACCARD,
    seed: int = 0, max_rows: int | None = DEFAULT_MAX_ROWS,
) -> TextCopyResult:
    """Exact and near copies of training texts among generated texts, judged against the holdout.

    Args:
        generated: ``(g,)`` generated texts (missing values are empty texts).
        training: ``(t,)`` the real texts the generator was fitted on.
        holdout: ``(h,)`` sealed real texts it never saw.
        jaccard: Near-copy threshold on the estimated Jaccard similarity of word 3-shingles, in (0, 1].
        seed: Seed of the samples.
        max_rows: Largest number of generated texts searched for near-copies, and of training and
            holdout texts each compared with; None: no cap. Exact copies always use every row.

    Returns:
        The counts, shares and excesses over the holdout (see :class:`TextCopyResult`).

    Raises:
        ValueError: ``jaccard`` outside (0, 1].
    """
    if not 0 < jaccard <= 1:
        raise ValueError(f"jaccard must be in (0, 1], got {jaccard}")
    rows, training_rows, holdout_rows = len(generated), len(training), len(holdout)
    figures: dict[str, Any] = {"rows": rows, "training_rows": training_rows, "holdout_rows": holdout_rows,
                               "jaccard": float(jaccard)}
    generated_hashes = text_hashes(generated)
    training_hashes, holdout_hashes = text_hashes(training), text_hashes(holdout)
    if rows:
        exact = int(_hits(generated_hashes, training_hashes).sum())
        figures.update(exact_copies=exact, exact_copy_share=exact / rows,
                       exact_holdout_copies=int(_hits(generated_hashes, holdout_hashes).sum()))
    if not rows or not training_rows or not holdout_rows:
        return TextCopyResult(**figures)

    rng = np.random.default_rng(seed)
    compared = min(training_rows, holdout_rows)
    train_pick = sample_positions(training_rows, compared, rng)
    hold_pick = sample_positions(holdout_rows, compared, rng)
    train_sample = training_hashes if train_pick is None else training_hashes[train_pick]
    hold_sample = holdout_hashes if hold_pick is None else holdout_hashes[hold_pick]
    train_hits = int(_hits(generated_hashes, train_sample).sum())
    hold_hits = int(_hits(generated_hashes, hold_sample).sum())
    # Hits on an m-text sample of t training texts find about m / t of the copies: both the excess and
    # its bound are scaled by t / m, as the tabular copy rule does (quality.privacy.copies_against_holdout).
    scale = training_rows / compared
    figures.update(compared_rows=compared, exact_training_hits=train_hits, exact_holdout_hits=hold_hits,
                   exact_excess=min((train_hits - hold_hits) / rows * scale, 1.0),
                   exact_excess_lower_bound=min(excess_lower_bound(train_hits, rows, hold_hits, rows) * scale, 1.0))

    cap = rows if max_rows is None else max(int(max_rows), 1)
    queries = _sample(generated, cap, rng)
    near_compared = min(compared, cap)
    from synth_pipeline.text.shingles import signatures

    query_tokens = TokenizedTexts.from_texts(queries.tolist())
    query_signatures = signatures(query_tokens)
    found_training = _near_copies(query_tokens, query_signatures, _sample(training, near_compared, rng), jaccard)
    found_holdout = _near_copies(query_tokens, query_signatures, _sample(holdout, near_compared, rng), jaccard)
    near, near_hold, searched = int((found_training >= 0).sum()), int((found_holdout >= 0).sum()), len(queries)
    figures.update(query_rows=searched, near_compared_rows=near_compared, near_copies=near,
                   near_copy_share=near / searched, holdout_near_copies=near_hold,
                   holdout_near_copy_share=near_hold / searched,
                   excess_share=min((near - near_hold) / searched * training_rows / near_compared, 1.0),
                   excess_lower_bound=min(excess_lower_bound(near, searched, near_hold, searched)
                                          * training_rows / near_compared, 1.0))
    return TextCopyResult(**figures)
