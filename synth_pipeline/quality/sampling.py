"""Seeded row samples: how the quality measures stay affordable on large tables.

A measure computed on a sample of rows is still judged through the confidence bound it
already has (Wilson, Hanley-McNeil, bootstrap): that bound counts the rows actually used,
so a sampled verdict is as honest as an exact one, only less sensitive to a small
departure. The sample sizes are policy fields (:class:`~synth_pipeline.policy.SynthPolicy`,
"sample sizes"); the measures that decide on identity (exact copies, holdout isolation)
never sample: they are hash joins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def sample_positions(total: int, cap: int | None, seed: int | np.random.Generator) -> np.ndarray | None:
    """Positions of a simple random sample of ``cap`` of ``total`` rows, in ascending order.

    Args:
        total: Rows to sample from.
        cap: Largest sample; None: no cap.
        seed: Seed, or a generator to draw from.

    Returns:
        ``(cap,)`` int64 positions, or None when every row is used (``total <= cap``).
    """
    if cap is None or total <= cap:
        return None
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return np.sort(rng.choice(total, cap, replace=False))


FIT_SAMPLE_STREAM = 0x5F17  # the fit sample's own random stream, apart from the generator's seed use


def fit_sample_positions(total: int, cap: int | None, seed: int) -> np.ndarray | None:
    """Positions of the seeded sample a generator is fitted on when its fit input exceeds ``cap`` rows.

    The synthetic stage draws it and the quality checks draw it again from the same
    stored rows, seed and cap (recorded in the materialization metadata as
    ``fit_sample_seed`` and ``fit_rows``), so both see the same rows.

    Args:
        total: Rows of the fit input as stored.
        cap: Largest fit; None: every row.
        seed: The generation's seed (the spec's seed + the generation).

    Returns:
        ``(cap,)`` ascending positions, or None when every row is used.
    """
    return sample_positions(total, cap, np.random.default_rng([seed, FIT_SAMPLE_STREAM]))


def stratified_sample(frame: pd.DataFrame, cap: int | None, rng: np.random.Generator,
                      label_column: str | None = None) -> pd.DataFrame:
    """At most ``cap`` rows of ``frame`` without replacement, each label value keeping its share.

    Every label value keeps at least one row, so a rare class is never sampled away (the
    sample may then exceed ``cap`` by at most the number of label values). Rows without a
    label are sampled as a class of their own.

    Args:
        frame: The rows.
        cap: Largest sample; None: no cap.
        rng: Random generator.
        label_column: Column to stratify on; None: a simple random sample.

    Returns:
        ``frame`` itself when it has at most ``cap`` rows, else the sampled rows in their
        original order (index reset).
    """
    if cap is None or len(frame) <= cap:
        return frame
    if label_column is None:
        positions = sample_positions(len(frame), cap, rng)
        return frame.iloc[positions].reset_index(drop=True)
    codes = pd.factorize(frame[label_column], use_na_sentinel=False)[0]
    share = cap / len(frame)
    chosen = []
    for code, count in zip(*np.unique(codes, return_counts=True), strict=True):
        members = np.flatnonzero(codes == code)
        take = min(count, max(1, round(count * share)))
        chosen.append(rng.choice(members, take, replace=False))
    return frame.iloc[np.sort(np.concatenate(chosen))].reset_index(drop=True)
