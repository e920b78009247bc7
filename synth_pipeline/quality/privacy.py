"""Privacy of synthetic rows, measured against the sealed real holdout.

Every figure is judged against a control: the sealed holdout, real rows drawn like the
training rows that the generator never saw. A generator that learned the distribution
rather than the rows treats the two alike; a figure that favours the training rows
beyond what chance gives is evidence of memorization. "Training" is the generator's fit
input: the rows it saw.

- **exact copies beyond chance**: on low-cardinality data most generated rows equal some
  real row by chance (four binary columns hold 32 possible rows), so the raw copy count
  says nothing. The copies of training rows are compared with the copies of holdout
  rows instead (:func:`copies_against_holdout`): on equal-size, exchangeable references,
  a synthetic row of a generator that did not memorize is as likely to copy a content
  found in the training rows only as one found in the holdout only.
- **DCR share** (as in mostlyai-qa): the share of synthetic rows whose nearest real row is
  a training row rather than a holdout row. With training and holdout of equal size that
  share is 50 % without memorization; with other sizes it is ``n_train / (n_train +
  n_holdout)`` by chance alone (the nearest of all real rows is equally likely to be any
  of them). A tie (the nearest training and holdout rows at the same distance, e.g. a
  synthetic row equal to real rows on both sides) is broken the same way: it counts at
  the share of the tied rows that are training rows, the multiplicities of the copied
  content where the row is an exact copy, the chance share otherwise; so ties can never
  push the share away from its chance value. The reported ``dcr_share`` removes the size
  effect: its odds are the raw share's odds divided by ``n_train / n_holdout``, so it is
  0.5 without memorization whatever the sizes, and equals the raw share when they match.
  Also reported: the NNDR, the distance to the nearest training row over the distance
  to the second nearest (the 10th smallest ratio, as mostlyai-qa reports it; values near
  0 mean synthetic rows sit on individual training rows). The NNDR is informative only:
  at distance 0 it is 0 for a content held once and 1 for a content held twice, so on
  low-cardinality data compare it with its holdout counterpart, ``nndr_holdout``.
- **membership inference**: an attacker holding the synthetic data scores each real
  record by its distance to the nearest synthetic row (closer = "was in training") and
  tries to tell training rows from holdout rows. The score is the attack's ROC AUC; 0.5
  is no leak. Here the synthetic rows are the searched side and are all used; the
  candidate records are sampled to at most ``max_candidates`` per side. Tied scores
  (e.g. every candidate at distance 0 on low-cardinality data) count one half, and the
  bound's variance (DeLong) accounts for them, so an all-ties table is exactly 0.5.

Distances are Euclidean over :class:`~synth_pipeline.quality.encoding.RecordEncoder`
encodings (numeric scaled by the real range, categories one-hot) and exact
(:func:`~synth_pipeline.quality.nearest.nearest_distances`). Where a figure is compared
with a limit, the check uses its one-sided 95 % lower confidence bound, so a handful of
synthetic rows cannot fail it by chance while clear memorization still does. Synthetic
rows with identical content are not independent evidence (a generator that favours one
content produces it many times, whatever side it fell on): both bounds count clusters of
identical synthetic rows as the design effect of Kish (1965) prescribes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.provenance import ROW_HASH_COLUMN, user_columns
from synth_pipeline.quality.encoding import RecordEncoder
from synth_pipeline.quality.nearest import nearest_distances
from synth_pipeline.quality.sampling import sample_positions

DEFAULT_MAX_CANDIDATES = 10_000
DEFAULT_DCR_ROWS = 20_000
_Z_95_ONE_SIDED = 1.6449
_NNDR_EPSILON = 1e-8
# nearest_distances searches in float32: the row it finds is the nearest up to about 1e-7
# of the rows' squared norms (so a distance of 0 can come out near 1e-3 where another row
# is that close). Squared distances closer than this are ties; exact copies are recognised
# by content instead.
_SQUARED_TIE_TOLERANCE = 1e-4
_TIE_BLOCK_DISTANCES = 2**26
_TIE_BLOCK_ROWS = 16


def _tied(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Whether two distances are equal up to float32 rounding."""
    return np.abs(first**2 - second**2) <= _SQUARED_TIE_TOLERANCE * np.maximum(1.0, np.maximum(first, second) ** 2)


def _rows_within(queries: np.ndarray, reference: np.ndarray, squared_radius: np.ndarray) -> np.ndarray:
    """Per query row, the number of reference rows within its squared radius.

    Blocked float32 products of centred rows, rounded as the search of
    :func:`~synth_pipeline.quality.nearest.nearest_distances` is, in blocks of at most
    :data:`_TIE_BLOCK_DISTANCES` distances (256 MB) but at least :data:`_TIE_BLOCK_ROWS` query
    rows; run only on tied rows, so its cost is (tied rows) x (reference rows). Blocks of a
    few rows against a large reference stream the whole reference from memory for each block
    (17 rows per block against 240,000 made this a third of the privacy check at 300,000 rows,
    issue 16), so the block is as many rows as the budget allows.
    """
    centre = reference.mean(axis=0)
    reference32 = (reference - centre).astype(np.float32)
    reference_norms = np.einsum("ij,ij->i", reference32, reference32)
    counts = np.zeros(len(queries), np.int64)
    block = max(_TIE_BLOCK_ROWS, _TIE_BLOCK_DISTANCES // max(len(reference), 1))
    for start in range(0, len(queries), block):
        query32 = (queries[start:start + block] - centre).astype(np.float32)
        squared = query32 @ reference32.T  # in place from here: one block-sized array at a time
        squared *= -2
        squared += reference_norms
        squared += np.einsum("ij,ij->i", query32, query32)[:, None]
        counts[start:start + block] = (squared <= squared_radius[start:start + block, None]).sum(axis=1)
    return counts


def _tie_classes(distances: np.ndarray) -> np.ndarray:
    """Distances snapped to a grid on which float32 rounding no longer separates equal ones."""
    return np.round(distances**2 / _SQUARED_TIE_TOLERANCE)


def exact_copy_count(synthetic_hashes: np.ndarray, training_hashes: np.ndarray) -> int:
    """Number of synthetic rows whose content hash is among the training rows' hashes.

    A DuckDB hash semi-join: 5M against 5M hashes in about 0.25 s on 2 cores, against
    0.5 s for pandas ``isin`` and 7 s for ``numpy.isin``.
    """
    import duckdb

    synthetic = pd.DataFrame({"h": np.asarray(synthetic_hashes, dtype=np.uint64)})
    training = pd.DataFrame({"h": np.asarray(training_hashes, dtype=np.uint64)})
    with duckdb.connect() as connection:
        connection.execute("SET enable_progress_bar = false")
        connection.register("synthetic", synthetic)
        connection.register("training", training)
        [(count,)] = connection.execute("SELECT count(*) FROM synthetic SEMI JOIN training USING (h)").fetchall()
    return int(count)


def wilson_lower_bound(share: float, count: float) -> float:
    """One-sided 95 % lower confidence bound of a proportion observed over ``count`` trials.

    ``count`` may be an effective (non-integer) number of trials.
    """
    if count <= 0 or np.isnan(share):
        return float("nan")
    z2 = _Z_95_ONE_SIDED**2
    centre = share + z2 / (2 * count)
    spread = _Z_95_ONE_SIDED * np.sqrt(share * (1 - share) / count + z2 / (4 * count**2))
    return float(max((centre - spread) / (1 + z2 / count), 0.0))


def clopper_pearson_lower_bound(successes: float, failures: float) -> float:
    """One-sided 95 % lower bound of a success probability (Clopper & Pearson, 1934).

    The exact binomial bound: ``Beta(0.05; x, n - x + 1)``. Effective (non-integer)
    counts are accepted, the beta quantile being defined for them. 0 without successes.
    """
    from scipy.stats import beta

    if successes <= 0:
        return 0.0
    return float(beta.ppf(0.05, successes, failures + 1))


def size_adjusted_share(share: float, training_rows: int, holdout_rows: int) -> float:
    """A closer-to-training share with the effect of unequal set sizes removed (see module docs)."""
    if np.isnan(share) or training_rows == 0 or holdout_rows == 0:
        return float("nan")
    chance = training_rows / (training_rows + holdout_rows)
    weighted = share * (1 - chance)
    denominator = weighted + (1 - share) * chance
    return float(weighted / denominator) if denominator else 0.5


def auc_with_lower_bound(positive: np.ndarray, negative: np.ndarray) -> tuple[float, float]:
    """ROC AUC of scores (positives should score higher) and its one-sided 95 % lower bound.

    Ties count one half (mid-ranks). The bound uses the DeLong et al. (1988) variance,
    computed from mid-ranks (Sun & Xu, 2014), which stays right under ties: when every
    score is tied the AUC is exactly 0.5 with no spread, where the Hanley & McNeil
    formula, made for continuous scores, would invent one.
    """
    from scipy.stats import rankdata

    n_pos, n_neg = len(positive), len(negative)
    if n_pos == 0 or n_neg == 0:
        return float("nan"), float("nan")
    ranks = rankdata(np.concatenate([positive, negative]))
    auc = float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    # Placement values: the share of the other side each score beats (ties one half).
    beats_negatives = (ranks[:n_pos] - rankdata(positive)) / n_neg
    beaten_by_positives = 1 - (ranks[n_pos:] - rankdata(negative)) / n_pos
    variance = (np.var(beats_negatives, ddof=1) / n_pos if n_pos > 1 else 0.0) + (
        np.var(beaten_by_positives, ddof=1) / n_neg if n_neg > 1 else 0.0)
    return auc, float(auc - _Z_95_ONE_SIDED * np.sqrt(max(variance, 0.0)))


def _clustered_rows(values: np.ndarray, clusters: np.ndarray | None) -> float:
    """Effective number of independent rows behind the mean of ``values`` in [0, 1].

    The rows a Wilson bound may count: ``share (1 - share) / V``, with ``V`` the
    cluster-robust variance of the mean (rows of one cluster, identical synthetic rows,
    move together), at most the number of rows.
    """
    rows = len(values)
    share = float(values.mean())
    if clusters is None or share * (1 - share) == 0:
        return float(rows)
    sums = pd.Series(values - share).groupby(clusters).sum().to_numpy()
    variance = float((sums**2).sum()) / rows**2
    return float(min(rows, share * (1 - share) / variance)) if variance > 0 else float(rows)


@dataclass(frozen=True)
class DcrResult:
    """Distances to closest records and the shares derived from them."""

    dcr_share: float
    dcr_share_lower_bound: float
    dcr_share_raw: float
    dcr_share_by_chance: float
    dcr_effective_rows: float
    dcr_ties: int
    dcr_training_median: float
    dcr_holdout_median: float
    nndr_training: float
    nndr_holdout: float


def _nndr(distances: np.ndarray) -> float:
    """The 10th smallest nearest/second-nearest distance ratio (mostlyai-qa's figure)."""
    ratios = np.sort((distances[:, 0] + _NNDR_EPSILON) / (distances[:, 1] + _NNDR_EPSILON))
    ratios = ratios[np.isfinite(ratios)]
    return float(ratios[min(9, len(ratios) - 1)]) if len(ratios) else float("nan")


def distance_to_closest_record(
    synthetic: np.ndarray,
    training: np.ndarray,
    holdout: np.ndarray,
    *,
    copy_share: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    workers: int | None = None,
) -> DcrResult:
    """DCR share and NNDR of encoded synthetic rows against every training and holdout row.

    Args:
        synthetic: ``(n, d)`` encoded synthetic rows.
        training: ``(n_train, d)`` encoded training rows.
        holdout: ``(n_holdout, d)`` encoded holdout rows.
        copy_share: Per synthetic row, the share of the real rows with its content that
            are training rows, NaN where no real row has it (see
            :func:`copy_multiplicity_share`). An exact copy counts at this share, decided
            by content rather than by distances that float32 rounding puts near 0. Other
            ties count at the chance share ``n_train / (n_train + n_holdout)``.
        clusters: Per synthetic row, a content key (its hash): identical rows are one
            cluster for the bound. None: rows are independent.
        workers: Threads for the nearest-neighbour search.
    """
    to_training = nearest_distances(synthetic, training, neighbours=2, workers=workers)
    to_holdout = nearest_distances(synthetic, holdout, neighbours=2, workers=workers)
    n_train, n_hold = len(training), len(holdout)
    chance = n_train / (n_train + n_hold) if n_train + n_hold else float("nan")
    tied = _tied(to_training[:, 0], to_holdout[:, 0])
    values = (to_training[:, 0] < to_holdout[:, 0]).astype(float)
    copied = np.zeros(len(synthetic), bool) if copy_share is None else ~np.isnan(copy_share)
    if copy_share is not None:  # exact copies: decided by content, not by float32 distances near 0
        values[copied] = copy_share[copied]
    # A tie is decided the way a nearest real row drawn at random among the tied rows
    # would decide it: by the share of training rows among them. Under "no memorization"
    # that share is the chance share on average (exchangeability); counting every tie at
    # 1/2, or at the chance share, biases the DCR share on categorical data whenever the
    # sizes differ (few tied rows: near 1/2; many: near the chance share).
    others = np.flatnonzero(tied & ~copied)
    if len(others):
        radius = to_training[others, 0] ** 2
        radius = radius + _SQUARED_TIE_TOLERANCE * np.maximum(1.0, radius)
        near_training = _rows_within(synthetic[others], training, radius)
        near_holdout = _rows_within(synthetic[others], holdout, radius)
        near = near_training + near_holdout
        values[others] = np.where(near > 0, near_training / np.maximum(near, 1), chance)
    tied |= copied & (values > 0) & (values < 1)
    if not len(synthetic):
        raw, effective, lower = float("nan"), 0.0, float("nan")
    else:
        raw = float(values.mean())
        effective = _clustered_rows(values, clusters)
        lower = wilson_lower_bound(raw, effective)
    return DcrResult(
        dcr_share=size_adjusted_share(raw, n_train, n_hold),
        dcr_share_lower_bound=size_adjusted_share(lower, n_train, n_hold),
        dcr_share_raw=raw,
        dcr_share_by_chance=chance,
        dcr_effective_rows=effective,
        dcr_ties=int(tied.sum()),
        dcr_training_median=float(np.median(to_training[:, 0])) if len(synthetic) else float("nan"),
        dcr_holdout_median=float(np.median(to_holdout[:, 0])) if len(synthetic) else float("nan"),
        nndr_training=_nndr(to_training),
        nndr_holdout=_nndr(to_holdout),
    )


def copy_multiplicity_share(
    synthetic_hashes: np.ndarray, training_hashes: np.ndarray, holdout_hashes: np.ndarray
) -> np.ndarray:
    """Per synthetic row: training rows with its content over all real rows with it (NaN: none).

    The chance that the nearest real row of an exact copy, drawn at random among the
    real rows equal to it, is a training row.
    """
    training_counts = pd.Series(np.asarray(training_hashes, dtype=np.uint64)).value_counts()
    holdout_counts = pd.Series(np.asarray(holdout_hashes, dtype=np.uint64)).value_counts()
    keys = pd.Series(np.asarray(synthetic_hashes, dtype=np.uint64))
    in_training = keys.map(training_counts).fillna(0).to_numpy(dtype=float)
    in_holdout = keys.map(holdout_counts).fillna(0).to_numpy(dtype=float)
    total = in_training + in_holdout
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, in_training / total, np.nan)


@dataclass(frozen=True)
class CopyResult:
    """Exact copies of training rows judged against copies of the sealed holdout.

    Attributes:
        exact_copies: Synthetic rows equal to some training row (raw count).
        holdout_copies: Synthetic rows equal to some holdout row (raw count).
        compared_rows: Rows per side in the exchangeable comparison: the smaller of the
            training and holdout row counts; the larger side is subsampled to it.
        training_only_copies: Synthetic rows whose content is in the compared training
            rows and not in the compared holdout rows (``a``).
        holdout_only_copies: Synthetic rows whose content is in the compared holdout rows
            and not in the compared training rows (``b``).
        copy_effective_count: ``a + b`` in independent units: copies of one content
            count as one cluster (Kish's design effect).
        excess_copy_fraction: Share of synthetic rows that copy a training row beyond what
            chance gives: ``(a - b) / n_synthetic``, scaled by ``n_train / compared_rows``
            when the training side was subsampled. NaN without a holdout to compare with.
        excess_copy_fraction_lower_bound: Its one-sided 95 % lower confidence bound.
    """

    exact_copies: int
    holdout_copies: int
    compared_rows: int
    training_only_copies: int
    holdout_only_copies: int
    copy_effective_count: float
    excess_copy_fraction: float
    excess_copy_fraction_lower_bound: float


def _equal_size(hashes: np.ndarray, size: int, seed: int) -> np.ndarray:
    """A seeded random ``size``-row subsample, independent of the row order (hashes sorted first)."""
    if len(hashes) <= size:
        return hashes
    ordered = np.sort(hashes)
    return ordered[np.random.default_rng(seed).choice(len(ordered), size, replace=False)]


def copies_against_holdout(
    synthetic_hashes: np.ndarray, training_hashes: np.ndarray, holdout_hashes: np.ndarray, *, seed: int = 0
) -> CopyResult:
    """Copies of training rows against copies of holdout rows (see :class:`CopyResult`).

    Why equal sizes: the references must be exchangeable. A content (especially a
    mid-frequency one) is far more likely to appear in the larger of two sets only than
    in the smaller one only, by much more than the ratio of their sizes, so no size
    correction of raw counts is exact. An equal-size random subsample of the larger
    side makes the null exact: if the generator did not memorize, a synthetic row is as
    likely to copy a content of the training subsample only as one of the holdout only
    (contents on both sides tell nothing and are left out). So ``a ~ Binomial(a + b, 1/2)``
    and the bound is the exact Clopper-Pearson lower bound of ``a / (a + b)``, turned into
    a share of synthetic rows: ``(2 p_lower - 1) (a + b) / n_synthetic``. Identical
    synthetic rows share one coin flip (their content fell on one side), so ``a`` and
    ``b`` are scaled to Kish's effective count ``(sum s)^2 / sum s^2`` over the copied
    contents' synthetic counts ``s``; without repeated contents this is the plain
    binomial test. Holdout and training rows may share contents (duplicate records split
    per record): those count on neither side.

    Args:
        synthetic_hashes: Content hashes of the generated rows.
        training_hashes: Content hashes of the generator's fit input.
        holdout_hashes: Content hashes of the sealed holdout.
        seed: Seed of the subsample of the larger side.

    Returns:
        The raw and the compared counts, the excess share and its bound. Every join is a
        DuckDB hash join, so 5M rows a side take a fraction of a second more than
        :func:`exact_copy_count`.
    """
    import duckdb

    def frame(hashes: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"h": np.asarray(hashes, dtype=np.uint64)})

    n_synthetic, n_train, n_hold = len(synthetic_hashes), len(training_hashes), len(holdout_hashes)
    compared = min(n_train, n_hold)
    with duckdb.connect() as connection:
        connection.execute("SET enable_progress_bar = false")
        for name, hashes in (("synthetic", synthetic_hashes), ("training", training_hashes),
                             ("holdout", holdout_hashes)):
            connection.register(name, frame(hashes))
        # The side as large as the comparison is used whole (no second join over it).
        marks = {}
        for name, hashes, offset in (("training", training_hashes, 0), ("holdout", holdout_hashes, 1)):
            marks[name] = f"in_{name}"
            if len(hashes) > compared:
                connection.register(f"{name}_compared", frame(_equal_size(np.asarray(hashes), compared, seed + offset)))
                marks[name] = f"h IN (SELECT h FROM {name}_compared)"
        # Mark every synthetic row by two hash semi-joins; only the copies (usually few) are
        # grouped by content (s rows each) and marked against the compared sides.
        [(copies, holdout_copies, a, b, squares)] = connection.execute(f"""
            WITH rows AS (SELECT h, h IN (SELECT h FROM training) AS in_training,
                                 h IN (SELECT h FROM holdout) AS in_holdout FROM synthetic),
                 contents AS (SELECT h, count(*) AS s, bool_or(in_training) AS in_training,
                                     bool_or(in_holdout) AS in_holdout
                              FROM rows WHERE in_training OR in_holdout GROUP BY h),
                 marked AS (SELECT s, in_training, in_holdout,
                                   {marks["training"]} AS t, {marks["holdout"]} AS o
                            FROM contents)
            SELECT coalesce(sum(s) FILTER (WHERE in_training), 0),
                   coalesce(sum(s) FILTER (WHERE in_holdout), 0),
                   coalesce(sum(s) FILTER (WHERE t AND NOT o), 0),
                   coalesce(sum(s) FILTER (WHERE o AND NOT t), 0),
                   coalesce(sum(s * s) FILTER (WHERE t <> o), 0)
            FROM marked""").fetchall()
    a, b, squares = int(a), int(b), int(squares)
    decided = a + b
    effective = decided**2 / squares if squares else 0.0
    if compared == 0 or n_synthetic == 0:
        excess = lower = float("nan")
    else:
        scale = (n_train / compared) / n_synthetic
        excess = (a - b) * scale
        p_lower = clopper_pearson_lower_bound(a * effective / decided, b * effective / decided) if decided else 0.0
        lower = (2 * p_lower - 1) * decided * scale if decided else 0.0
    return CopyResult(
        exact_copies=int(copies), holdout_copies=int(holdout_copies), compared_rows=compared,
        training_only_copies=a, holdout_only_copies=b, copy_effective_count=float(effective),
        excess_copy_fraction=float(excess), excess_copy_fraction_lower_bound=float(lower),
    )


def membership_inference_auc(
    synthetic: np.ndarray,
    training: np.ndarray,
    holdout: np.ndarray,
    *,
    training_copied: np.ndarray | None = None,
    holdout_copied: np.ndarray | None = None,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    seed: int = 0,
    workers: int | None = None,
) -> tuple[float, float, int]:
    """AUC of the distance attack (see module docs), its 95 % lower bound, and candidates used.

    Args:
        synthetic: ``(n, d)`` encoded synthetic rows (the searched side).
        training: ``(n_train, d)`` encoded training rows (members).
        holdout: ``(n_holdout, d)`` encoded holdout rows (non-members).
        training_copied: Per training row, whether a synthetic row has its content: its
            distance is then exactly 0 (float32 search puts it near 1e-3).
        holdout_copied: The same per holdout row.
        max_candidates: Candidate records per side.
        seed: Seed of the candidate sample.
        workers: Threads for the nearest-neighbour search.
    """
    rng = np.random.default_rng(seed)

    def scores(rows: np.ndarray, copied: np.ndarray | None) -> np.ndarray:
        sampled = sample_positions(len(rows), max_candidates, rng)
        chosen = np.arange(len(rows)) if sampled is None else sampled
        distances = nearest_distances(rows[chosen], synthetic, workers=workers)[:, 0]
        if copied is not None:
            distances[np.asarray(copied)[chosen]] = 0.0
        return -_tie_classes(distances)  # equal distances tie, whatever float32 made of them

    member_scores, non_member_scores = scores(training, training_copied), scores(holdout, holdout_copied)
    auc, lower = auc_with_lower_bound(member_scores, non_member_scores)
    return auc, lower, len(member_scores) + len(non_member_scores)


@dataclass(frozen=True)
class PrivacyReport:
    """Every privacy figure of one synthetic dataset (see the module docs)."""

    synthetic_rows: int
    training_rows: int
    holdout_rows: int
    exact_copy_fraction: float
    copies: CopyResult
    dcr: DcrResult
    membership_auc: float
    membership_auc_lower_bound: float
    membership_candidates: int
    encoding: dict[str, Any]
    dcr_rows_used: int = 0

    @property
    def exact_copies(self) -> int:
        """Synthetic rows equal to some training row (raw count, not judged by itself)."""
        return self.copies.exact_copies

    def to_dict(self) -> dict[str, Any]:
        """Flat figures for check metadata."""
        figures = asdict(self)
        figures.update(figures.pop("copies"))
        figures.update(figures.pop("dcr"))
        return figures


def evaluate_privacy(
    synthetic: pd.DataFrame,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    dcr_rows: int | None = DEFAULT_DCR_ROWS,
    seed: int = 0,
) -> PrivacyReport:
    """All privacy figures of ``synthetic`` against real ``training`` and ``holdout`` rows.

    The copy comparison uses every row (a hash join). The DCR share and NNDR search the
    nearest real rows of a seeded sample of ``dcr_rows`` generated rows, against every
    training and holdout row: the Wilson bound counts the sampled rows.

    Args:
        synthetic: The generated rows (with provenance columns).
        training: The real rows the generator was fitted on (its fit input).
        holdout: Real rows no generator saw (the sealed holdout).
        max_candidates: Candidate records per side for the membership attack.
        dcr_rows: Generated rows the DCR share and NNDR are computed on; None: all.
        seed: Seed of the candidate sample, the DCR sample and the equal-size copy comparison.
    """
    columns = [c for c in user_columns(synthetic) if c in training.columns]
    hashes = [frame[ROW_HASH_COLUMN].to_numpy() for frame in (synthetic, training, holdout)]
    copies = copies_against_holdout(*hashes, seed=seed)
    encoder = RecordEncoder.fit(pd.concat([training[columns], holdout[columns]]), columns, others=(synthetic,))
    encoded_synthetic, encoded_training, encoded_holdout = (
        encoder.transform(frame) for frame in (synthetic, training, holdout)
    )
    sampled = sample_positions(len(synthetic), dcr_rows, np.random.default_rng([seed, 1]))
    chosen = slice(None) if sampled is None else sampled
    dcr = distance_to_closest_record(encoded_synthetic[chosen], encoded_training, encoded_holdout,
                                     copy_share=copy_multiplicity_share(hashes[0][chosen], *hashes[1:]),
                                     clusters=hashes[0][chosen])
    generated = pd.Series(np.unique(hashes[0]))
    auc, auc_lower, candidates = membership_inference_auc(
        encoded_synthetic, encoded_training, encoded_holdout,
        training_copied=pd.Series(hashes[1]).isin(generated).to_numpy(),
        holdout_copied=pd.Series(hashes[2]).isin(generated).to_numpy(),
        max_candidates=max_candidates, seed=seed,
    )
    return PrivacyReport(
        synthetic_rows=len(synthetic), training_rows=len(training), holdout_rows=len(holdout),
        exact_copy_fraction=copies.exact_copies / len(synthetic) if len(synthetic) else 0.0, copies=copies,
        dcr=dcr, membership_auc=auc, membership_auc_lower_bound=auc_lower, membership_candidates=candidates,
        encoding=encoder.describe(), dcr_rows_used=len(synthetic) if sampled is None else len(sampled),
    )
