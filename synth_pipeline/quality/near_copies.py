"""Near-copies of sealed holdout records among outside rows in training, judged against chance.

A source that holds holdout rows slightly changed (e.g. every value times 1 + 1e-6)
escapes a content-hash comparison, yet a model trained on it is graded on rows it has
seen. So every unknown-provenance row that reached a training input (see
:mod:`synth_pipeline.holdout_isolation` for why only those) is compared with the real rows by distance:

- **near-copy radius** ``r``: the ``quantile``-th smallest of the distances from each
  holdout row to its nearest train-split row, i.e. how close two different real records
  come by themselves (never below the kernel's rounding error, ``RADIUS_FLOOR``). On
  tables with few distinct rows most of those distances are 0 and ``r`` is that floor:
  only exact copies, up to rounding, count.
- **holdout near-copy**: a row within ``r`` of a holdout row and strictly closer to the
  holdout than to any train-split row (a row equal to content both sides hold is not one).
- **chance rate** ``p0``: how often a real record that is not a holdout record looks like
  a holdout near-copy. The train split is the control: each train-split row (up to
  ``max_control_rows``, sampled) is measured against the holdout and the rest of the
  train split exactly as the candidates are. A row from the same population as the real
  data, made without seeing the holdout, is a holdout near-copy at about this rate
  whatever the sizes of holdout and train split (both sides of the comparison use them).
- **excess**: holdout near-copies beyond chance, ``k - n * p0`` for ``k`` of ``n`` rows;
  its one-sided 95 % lower bound is ``n`` times Newcombe's (1998, method 10) hybrid score
  lower bound of the difference of the two proportions, from Wilson bounds of each. The
  check fails when that bound exceeds the policy's limit, so chance near-copies on a
  low-cardinality table do not fail it while a handful of copied holdout rows does.

Distances are Euclidean over :class:`~synth_pipeline.quality.encoding.RecordEncoder`
encodings fitted on the real rows, computed exactly by
:func:`~synth_pipeline.quality.nearest.nearest_distances`; rows whose content hash equals
a reference row's are at distance 0 exactly (the float32 search may find another row within
about 1e-3 of an exact match instead, which would otherwise break ties at random).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.provenance import ROW_HASH_COLUMN, user_columns
from synth_pipeline.quality.encoding import RecordEncoder
from synth_pipeline.quality.nearest import nearest_distances
from synth_pipeline.quality.sampling import sample_positions

DEFAULT_MAX_CONTROL_ROWS = 5_000
# The float32 search's error on a distance near 0 (about 6e-4 measured on the reference
# data): the radius is never smaller, so a copy that differs only in rounding still counts.
RADIUS_FLOOR = 2e-3
_Z_95_ONE_SIDED = 1.6449


def wilson_bound(successes: int, trials: int, *, upper: bool) -> float:
    """One-sided 95 % Wilson score bound of a proportion (NaN for no trials)."""
    if trials == 0:
        return float("nan")
    share = successes / trials
    z2 = _Z_95_ONE_SIDED**2
    centre = share + z2 / (2 * trials)
    spread = _Z_95_ONE_SIDED * np.sqrt(share * (1 - share) / trials + z2 / (4 * trials**2))
    value = ((centre + spread) if upper else (centre - spread)) / (1 + z2 / trials)
    return float(min(max(value, 0.0), 1.0))


def excess_lower_bound(hits: int, rows: int, control_hits: int, control_rows: int) -> float:
    """One-sided 95 % lower bound of ``hits / rows - control_hits / control_rows`` (Newcombe, method 10)."""
    if rows == 0 or control_rows == 0:
        return float("nan")
    share, chance = hits / rows, control_hits / control_rows
    low = wilson_bound(hits, rows, upper=False)
    high = wilson_bound(control_hits, control_rows, upper=True)
    return float(share - chance - np.sqrt((share - low) ** 2 + (high - chance) ** 2))


@dataclass(frozen=True)
class NearCopyResult:
    """Holdout near-copies among candidate rows, and the chance rate they are judged against.

    Attributes:
        rows: Candidate rows judged.
        near_copies: Candidate rows that are holdout near-copies (see the module docs).
        exact_copies: Of those, rows whose content equals a holdout row's.
        radius: The near-copy radius ``r`` (encoded distance units).
        radius_quantile: The quantile of holdout-to-train distances ``r`` was taken at.
        control_rows: Train-split rows measured as the control.
        control_hits: Control rows that are holdout near-copies.
        chance_rate: ``control_hits / control_rows``.
        excess: ``near_copies - rows * chance_rate``.
        excess_lower_bound: One-sided 95 % lower bound of the excess (rows), at least 0.
        control: What the chance rate was measured on (``population``: train-split rows
            as independent draws from the real population).
        flags: Per candidate row, whether it is a holdout near-copy.
    """

    rows: int
    near_copies: int
    exact_copies: int
    radius: float
    radius_quantile: float
    control_rows: int
    control_hits: int
    chance_rate: float
    excess: float
    excess_lower_bound: float
    control: str
    flags: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Figures for check metadata (without the per-row flags)."""
        figures = asdict(self)
        figures.pop("flags")
        return figures


def _distances(queries: np.ndarray, reference: np.ndarray, query_hashes: np.ndarray, reference_hashes: np.ndarray,
               *, neighbours: int = 1) -> np.ndarray:
    """Nearest distances with exact content matches set to exactly 0."""
    distances = nearest_distances(queries, reference, neighbours=neighbours)
    if len(reference_hashes):
        copies = pd.Series(reference_hashes).value_counts()
        matches = pd.Series(query_hashes).map(copies).fillna(0).to_numpy()
        for column in range(neighbours):
            distances[matches > column, column] = 0.0
    return distances


def holdout_near_copies(
    candidates: pd.DataFrame,
    holdout: pd.DataFrame,
    train: pd.DataFrame,
    *,
    quantile: float,
    max_control_rows: int = DEFAULT_MAX_CONTROL_ROWS,
    seed: int = 0,
) -> NearCopyResult:
    """Find holdout near-copies among ``candidates`` and the chance rate of such rows.

    Args:
        candidates: Non-real rows that reached a training input (with provenance columns),
            each record once.
        holdout: The sealed real holdout.
        train: The real train split.
        quantile: Quantile of the holdout-to-train nearest distances taken as the radius.
        max_control_rows: Train-split rows sampled as the control (all when fewer).
        seed: Seed of the control sample.

    Returns:
        The near-copies and their comparison with chance.

    Raises:
        ValueError: The holdout or the train split has no rows.
    """
    if holdout.empty or train.empty:
        raise ValueError("the holdout and the train split both need rows")
    columns = user_columns(holdout)
    encoder = RecordEncoder.fit(pd.concat([train[columns], holdout[columns]]), columns, others=(candidates,))
    hold_points, train_points = encoder.transform(holdout), encoder.transform(train)
    hold_hashes = holdout[ROW_HASH_COLUMN].to_numpy(dtype=np.uint64)
    train_hashes = train[ROW_HASH_COLUMN].to_numpy(dtype=np.uint64)

    real_gaps = _distances(hold_points, train_points, hold_hashes, train_hashes)[:, 0]
    radius = max(float(np.quantile(real_gaps, quantile, method="inverted_cdf")), RADIUS_FLOOR)

    sampled = sample_positions(len(train), max_control_rows, seed)
    control = np.arange(len(train)) if sampled is None else sampled
    control_hashes = train_hashes[control]
    # The nearest train-split row of a train-split row is itself: its second nearest is the nearest other.
    control_to_train = _distances(train_points[control], train_points, control_hashes, train_hashes,
                                  neighbours=2)[:, 1]
    control_to_hold = _distances(train_points[control], hold_points, control_hashes, hold_hashes)[:, 0]
    # "Closer to the holdout" must beat the kernel's float32 rounding: on low-cardinality data a row is
    # equally near an identical holdout row and an identical train-split row, and noise must not decide.
    control_hits = int(((control_to_hold <= radius) & (control_to_hold < control_to_train - RADIUS_FLOOR)).sum())

    candidate_hashes = candidates[ROW_HASH_COLUMN].to_numpy(dtype=np.uint64)
    points = encoder.transform(candidates)
    to_hold = _distances(points, hold_points, candidate_hashes, hold_hashes)[:, 0]
    to_train = _distances(points, train_points, candidate_hashes, train_hashes)[:, 0]
    flags = (to_hold <= radius) & (to_hold < to_train - RADIUS_FLOOR)
    hits, rows = int(flags.sum()), len(candidates)
    chance = control_hits / len(control)
    lower = excess_lower_bound(hits, rows, control_hits, len(control))
    return NearCopyResult(
        rows=rows, near_copies=hits, exact_copies=int((flags & np.isin(candidate_hashes, hold_hashes)).sum()),
        radius=radius, radius_quantile=quantile, control_rows=len(control), control_hits=control_hits,
        chance_rate=chance, excess=hits - rows * chance,
        excess_lower_bound=max(rows * lower, 0.0) if rows else float("nan"), control="population", flags=flags,
    )

