"""Near-copies of sealed-holdout texts in training inputs, judged against chance.

A generator prompted with holdout texts, or an outside file that holds them lightly
edited, leaks the holdout into training without copying a record exactly, so the exact
rule of holdout isolation (:mod:`synth_pipeline.holdout_isolation`) does not see it. Here
a text of a training input *near-copies a holdout text* when the estimated Jaccard
similarity of their word 3-shingles is at least the policy's ``text_jaccard``
(:func:`synth_pipeline.text.copies.near_copies_of`) and it near-copies no train-split text
(a text that also echoes a train-split text is explained by the split, as when one
review is published twice).

Real corpora repeat themselves (boilerplate, retweets, quotes), so a few real texts
near-copy a holdout text by chance: the chance rate is measured on a seeded sample of
train-split texts (the control), each judged against the holdout and the rest of the
train split exactly as a candidate is. As for tabular rows, the excess is counted in
rows, ``near-copies - rows x chance rate``, and the rule compares its one-sided 95 % lower
bound (Newcombe's method 10 on the two shares, times the candidate rows) with the
policy's ``max_holdout_near_copies``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.quality.near_copies import excess_lower_bound
from synth_pipeline.quality.sampling import sample_positions


@dataclass(frozen=True)
class TextIsolationResult:
    """Candidate texts near-copying a holdout text, and the chance rate of the control.

    Attributes:
        rows: Candidate texts searched.
        near_copies: Of them, texts near-copying a holdout text and no train-split text.
        control_rows: Train-split texts in the control.
        control_near_copies: Of them, texts near-copying a holdout text and no other train-split text.
        excess: ``near_copies - rows x control_near_copies / control_rows`` (rows).
        excess_lower_bound: Its one-sided 95 % lower bound (rows, at least 0).
        jaccard: The near-copy threshold.
    """

    rows: int
    near_copies: int
    control_rows: int
    control_near_copies: int
    excess: float
    excess_lower_bound: float
    jaccard: float

    def to_dict(self) -> dict[str, Any]:
        """The figures (JSON-safe: NaN as None)."""
        return {name: None if isinstance(value, float) and not np.isfinite(value) else value
                for name, value in asdict(self).items()}


class _Reference:
    """The MinHash signatures of a set of texts, computed once and searched by several query sets."""

    def __init__(self, texts: pd.Series) -> None:
        from synth_pipeline.text.shingles import signatures
        from synth_pipeline.text.tokens import TokenizedTexts

        self.size = len(texts)
        self.signatures = signatures(TokenizedTexts.from_texts(texts.tolist())) if len(texts) else None

    def copied_by(self, queries: pd.Series, jaccard: float) -> np.ndarray:
        """``(q,)`` booleans: which queries near-copy one of these texts (a query without words never does)."""
        from synth_pipeline.text.shingles import near_copies, signatures
        from synth_pipeline.text.tokens import TokenizedTexts

        if queries.empty or self.signatures is None:
            return np.zeros(len(queries), dtype=bool)
        tokens = TokenizedTexts.from_texts(queries.tolist())
        return (near_copies(signatures(tokens), self.signatures, jaccard) >= 0) & (tokens.lengths > 0)


def _flags(queries: pd.Series, holdout: _Reference, train: pd.Series, jaccard: float) -> np.ndarray:
    """Queries near-copying a holdout text and no text of ``train`` (searched only for the flagged few)."""
    of_holdout = holdout.copied_by(queries, jaccard)
    if of_holdout.any() and not train.empty:
        flagged = np.flatnonzero(of_holdout)
        of_holdout[flagged[_Reference(train).copied_by(queries.iloc[flagged], jaccard)]] = False
    return of_holdout


def holdout_text_near_copies(
    candidates: pd.Series, holdout: pd.Series, train: pd.Series, *, jaccard: float, max_control_rows: int,
    seed: int = 0,
) -> tuple[TextIsolationResult, np.ndarray]:
    """Judge candidate texts for near-copies of holdout texts (see the module docs).

    Args:
        candidates: ``(n,)`` texts of training inputs (generated and unknown-provenance rows).
        holdout: The sealed holdout's texts.
        train: The real train split's texts.
        jaccard: Near-copy threshold (estimated Jaccard similarity of word 3-shingles).
        max_control_rows: Train-split texts sampled as the control (policy ``near_copy_control_rows``).
        seed: Seed of the control sample.

    Returns:
        The result, and ``(n,)`` booleans flagging the candidates that near-copy a holdout text.
    """
    candidates, holdout, train = (texts.reset_index(drop=True) for texts in (candidates, holdout, train))
    sealed = _Reference(holdout)  # searched by the candidates and by the control
    flags = _flags(candidates, sealed, train, jaccard)
    control_size = min(max_control_rows, len(train) // 2)
    positions = sample_positions(len(train), control_size, seed)
    positions = np.arange(len(train)) if positions is None else positions
    in_control = np.zeros(len(train), dtype=bool)
    in_control[positions[:control_size]] = True
    control = _flags(train[in_control], sealed, train[~in_control], jaccard)
    hits, control_hits = int(flags.sum()), int(control.sum())
    rows, control_rows = len(candidates), int(in_control.sum())
    if not rows or not control_rows:
        excess = bound = float("nan")
    else:
        excess = hits - rows * control_hits / control_rows
        bound = max(0.0, rows * excess_lower_bound(hits, rows, control_hits, control_rows))
    result = TextIsolationResult(rows, hits, control_rows, control_hits, excess, bound, jaccard)
    return result, flags
