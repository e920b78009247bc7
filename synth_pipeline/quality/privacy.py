"""Privacy of synthetic rows, measured against the sealed real holdout.

Three measures, computed on every row of the reference sides (training and holdout are
never subsampled: a subsample can miss exactly the rows that were memorized):

- **exact copies**: synthetic rows whose content hash equals a real training row's.
- **DCR share** (as in mostlyai-qa): the share of synthetic rows closer to a training
  row than to any holdout row, ties counting one half. A generator that learned the
  distribution rather than the rows is as close to unseen real rows as to seen ones.
  With equal-size training and holdout sets that share is 50 %; with other sizes it is
  ``n_train / (n_train + n_holdout)`` by chance alone (the nearest of all real rows is
  equally likely to be any of them). The reported ``dcr_share`` removes that size effect:
  its odds are the raw share's odds divided by ``n_train / n_holdout``, so it is 0.5
  without memorization whatever the sizes, and equals the raw share when they match.
  Also reported: the NNDR, the distance to the nearest training row over the distance
  to the second nearest (the 10th smallest ratio, as mostlyai-qa reports it; values near
  0 mean synthetic rows sit on individual training rows).
- **membership inference**: an attacker holding the synthetic data scores each real
  record by its distance to the nearest synthetic row (closer = "was in training") and
  tries to tell training rows from holdout rows. The score is the attack's ROC AUC; 0.5
  is no leak. Here the synthetic rows are the searched side and are all used; the
  candidate records are sampled to at most ``max_candidates`` per side.

Distances are Euclidean over :class:`~synth_pipeline.quality.encoding.RecordEncoder`
encodings (numeric scaled by the real range, categories one-hot) and exact
(:func:`~synth_pipeline.quality.nearest.nearest_distances`). Where a figure is compared
with a limit, the check uses its one-sided 95 % lower confidence bound, so a handful of
synthetic rows cannot fail it by chance while clear memorization still does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.provenance import ROW_HASH_COLUMN, user_columns
from synth_pipeline.quality.encoding import RecordEncoder
from synth_pipeline.quality.nearest import nearest_distances

DEFAULT_MAX_CANDIDATES = 10_000
_Z_95_ONE_SIDED = 1.6449
_NNDR_EPSILON = 1e-8


def exact_copy_count(synthetic_hashes: np.ndarray, training_hashes: np.ndarray) -> int:
    """Number of synthetic rows whose content hash is among the training rows' hashes.

    A DuckDB hash semi-join: 5M against 5M hashes in about 0.25 s on 2 cores, against
    0.5 s for pandas ``isin`` and 7 s for ``numpy.isin``.
    """
    import duckdb

    synthetic = pd.DataFrame({"h": np.asarray(synthetic_hashes, dtype=np.uint64)})
    training = pd.DataFrame({"h": np.asarray(training_hashes, dtype=np.uint64)})
    with duckdb.connect() as connection:
        connection.register("synthetic", synthetic)
        connection.register("training", training)
        [(count,)] = connection.execute("SELECT count(*) FROM synthetic SEMI JOIN training USING (h)").fetchall()
    return int(count)


def wilson_lower_bound(share: float, count: int) -> float:
    """One-sided 95 % lower confidence bound of a proportion observed over ``count`` trials."""
    if count == 0 or np.isnan(share):
        return float("nan")
    z2 = _Z_95_ONE_SIDED**2
    centre = share + z2 / (2 * count)
    spread = _Z_95_ONE_SIDED * np.sqrt(share * (1 - share) / count + z2 / (4 * count**2))
    return float(max((centre - spread) / (1 + z2 / count), 0.0))


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

    The bound uses the Hanley & McNeil (1982) standard error.
    """
    from scipy.stats import rankdata

    n_pos, n_neg = len(positive), len(negative)
    if n_pos == 0 or n_neg == 0:
        return float("nan"), float("nan")
    ranks = rankdata(np.concatenate([positive, negative]))
    auc = float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return auc, float(auc - _Z_95_ONE_SIDED * np.sqrt(max(variance, 0.0)))


@dataclass(frozen=True)
class DcrResult:
    """Distances to closest records and the shares derived from them."""

    dcr_share: float
    dcr_share_lower_bound: float
    dcr_share_raw: float
    dcr_share_by_chance: float
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
    synthetic: np.ndarray, training: np.ndarray, holdout: np.ndarray, *, workers: int | None = None
) -> DcrResult:
    """DCR share and NNDR of encoded synthetic rows against every training and holdout row."""
    to_training = nearest_distances(synthetic, training, neighbours=2, workers=workers)
    to_holdout = nearest_distances(synthetic, holdout, neighbours=2, workers=workers)
    closer = to_training[:, 0] < to_holdout[:, 0]
    tied = to_training[:, 0] == to_holdout[:, 0]
    raw = float(closer.mean() + tied.mean() / 2) if len(synthetic) else float("nan")
    n_train, n_hold = len(training), len(holdout)
    return DcrResult(
        dcr_share=size_adjusted_share(raw, n_train, n_hold),
        dcr_share_lower_bound=size_adjusted_share(wilson_lower_bound(raw, len(synthetic)), n_train, n_hold),
        dcr_share_raw=raw,
        dcr_share_by_chance=n_train / (n_train + n_hold) if n_train + n_hold else float("nan"),
        dcr_training_median=float(np.median(to_training[:, 0])) if len(synthetic) else float("nan"),
        dcr_holdout_median=float(np.median(to_holdout[:, 0])) if len(synthetic) else float("nan"),
        nndr_training=_nndr(to_training),
        nndr_holdout=_nndr(to_holdout),
    )


def membership_inference_auc(
    synthetic: np.ndarray,
    training: np.ndarray,
    holdout: np.ndarray,
    *,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    seed: int = 0,
    workers: int | None = None,
) -> tuple[float, float, int]:
    """AUC of the distance attack (see module docs), its 95 % lower bound, and candidates used."""
    rng = np.random.default_rng(seed)

    def candidates(rows: np.ndarray) -> np.ndarray:
        return rows if len(rows) <= max_candidates else rows[rng.choice(len(rows), max_candidates, replace=False)]

    members, non_members = candidates(training), candidates(holdout)
    member_scores = -nearest_distances(members, synthetic, workers=workers)[:, 0]
    non_member_scores = -nearest_distances(non_members, synthetic, workers=workers)[:, 0]
    auc, lower = auc_with_lower_bound(member_scores, non_member_scores)
    return auc, lower, len(members) + len(non_members)


@dataclass(frozen=True)
class PrivacyReport:
    """Every privacy figure of one synthetic dataset (see the module docs)."""

    synthetic_rows: int
    training_rows: int
    holdout_rows: int
    exact_copies: int
    exact_copy_fraction: float
    dcr: DcrResult
    membership_auc: float
    membership_auc_lower_bound: float
    membership_candidates: int
    encoding: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Flat figures for check metadata."""
        figures = asdict(self)
        figures.update(figures.pop("dcr"))
        return figures


def evaluate_privacy(
    synthetic: pd.DataFrame,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    copy_reference: pd.DataFrame | None = None,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    seed: int = 0,
) -> PrivacyReport:
    """All privacy figures of ``synthetic`` against real ``training`` and ``holdout`` rows.

    Args:
        synthetic: The generated rows (with provenance columns).
        training: The real rows the generator was fitted on.
        holdout: Real rows no generator saw (the sealed holdout).
        copy_reference: Real rows exact copies are searched in (default: ``training``);
            e.g. the whole real train split.
        max_candidates: Candidate records per side for the membership attack.
        seed: Seed of the candidate sample.
    """
    columns = [c for c in user_columns(synthetic) if c in training.columns]
    copies_of = training if copy_reference is None else copy_reference
    copies = exact_copy_count(synthetic[ROW_HASH_COLUMN].to_numpy(), copies_of[ROW_HASH_COLUMN].to_numpy())
    encoder = RecordEncoder.fit(pd.concat([training[columns], holdout[columns]]), columns, others=(synthetic,))
    encoded_synthetic, encoded_training, encoded_holdout = (
        encoder.transform(frame) for frame in (synthetic, training, holdout)
    )
    dcr = distance_to_closest_record(encoded_synthetic, encoded_training, encoded_holdout)
    auc, auc_lower, candidates = membership_inference_auc(
        encoded_synthetic, encoded_training, encoded_holdout, max_candidates=max_candidates, seed=seed
    )
    return PrivacyReport(
        synthetic_rows=len(synthetic), training_rows=len(training), holdout_rows=len(holdout),
        exact_copies=copies, exact_copy_fraction=copies / len(synthetic) if len(synthetic) else 0.0,
        dcr=dcr, membership_auc=auc, membership_auc_lower_bound=auc_lower, membership_candidates=candidates,
        encoding=encoder.describe(),
    )
