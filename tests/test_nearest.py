"""The exact nearest-neighbour search (faiss) against brute force, and the DCR verdict it feeds."""

import numpy as np
import pytest

from synth_pipeline import SynthPolicy
from synth_pipeline.quality import nearest
from synth_pipeline.quality.nearest import nearest_distances
from synth_pipeline.quality.privacy import distance_to_closest_record


def _brute_force(queries: np.ndarray, reference: np.ndarray, neighbours: int) -> np.ndarray:
    """Every distance in float64, sorted: the nearest ``neighbours`` per query (inf where there are fewer)."""
    result = np.full((len(queries), neighbours), np.inf)
    for start in range(0, len(queries), 100):
        differences = queries[start:start + 100, None, :] - reference[None, :, :]
        distances = np.sort(np.sqrt((differences**2).sum(axis=2)), axis=1)
        result[start:start + 100, :min(neighbours, len(reference))] = distances[:, :neighbours]
    return result


def _grid_rows(rng: np.random.Generator, rows: int, columns: int) -> np.ndarray:
    """Rows on a small integer grid: many exact duplicates and tied distances."""
    return rng.integers(0, 3, size=(rows, columns)).astype(float) * 0.5 + 3.0


@pytest.mark.parametrize("blocks, leaf_rows", [(nearest.BLOCKS, nearest.LEAF_ROWS), (3, 2)])
def test_distances_equal_brute_force_with_duplicates_and_ties(monkeypatch, blocks, leaf_rows):
    # (3, 2): the second nearest composed over many levels of blocks, duplicates split between blocks
    monkeypatch.setattr(nearest, "BLOCKS", blocks)
    monkeypatch.setattr(nearest, "LEAF_ROWS", leaf_rows)
    rng = np.random.default_rng(0)
    reference = _grid_rows(rng, 1500, 4)
    # copies of reference rows, grid points, and points halfway between grid points (ties at d > 0)
    queries = np.vstack([reference[:200], _grid_rows(rng, 200, 4), _grid_rows(rng, 200, 4) + 0.25])
    for neighbours in (1, 2):
        # squared distances are multiples of 1/16: float32 rounding cannot reorder them, so equal exactly
        assert np.array_equal(nearest_distances(queries, reference, neighbours=neighbours),
                              _brute_force(queries, reference, neighbours))

    continuous = rng.normal(size=(700, 5)) * 30 + 100
    reference = np.vstack([continuous[:400], continuous[:50]])  # 50 rows held twice
    queries = np.vstack([continuous[:100], continuous[400:]])  # 50 copies of doubles, 50 of singles, 300 new
    found, expected = nearest_distances(queries, reference, neighbours=2), _brute_force(queries, reference, 2)
    assert found[:50].tolist() == [[0.0, 0.0]] * 50  # a row held twice: nearest and second nearest at 0
    assert (found[50:100, 0] == 0.0).all() and (found[50:100, 1] > 0).all()
    # elsewhere exact up to the float32 search choosing among rows within its rounding
    assert np.abs(found**2 - expected**2).max() <= 1e-6 * (np.abs(reference).max() ** 2 * reference.shape[1])


def test_too_few_rows_empty_inputs_and_no_columns():
    rows = np.arange(12.0).reshape(4, 3)
    found = nearest_distances(rows, rows[:1], neighbours=2)
    assert found.tolist() == _brute_force(rows, rows[:1], 2).tolist() and np.isinf(found[:, 1]).all()
    assert nearest_distances(rows[:0], rows).shape == (0, 1)
    assert np.isinf(nearest_distances(rows, rows[:0], neighbours=2)).all()
    assert nearest_distances(np.ones((3, 0)), np.ones((2, 0)), neighbours=2).tolist() == [[0.0, 0.0]] * 3
    with pytest.raises(ValueError, match="neighbours"):
        nearest_distances(rows, rows, neighbours=3)


def _correlated(rows: int, rng: np.random.Generator) -> np.ndarray:
    mixing = np.random.default_rng(1).normal(size=(6, 6)) / np.sqrt(6)
    return rng.normal(size=(rows, 6)) @ mixing


def test_dcr_verdict_passes_clean_rows_and_fails_leaked_ones():
    rng = np.random.default_rng(3)
    training, holdout, fresh = (_correlated(3000, rng) for _ in range(3))
    leaked = training + rng.normal(scale=0.01, size=training.shape)
    limit = SynthPolicy().max_dcr_share
    clean = distance_to_closest_record(fresh, training, holdout)
    leak = distance_to_closest_record(leaked, training, holdout)
    # the share is the brute-force share of rows closer to a training row (rows tied within the
    # tie tolerance count at the share of tied training rows instead)
    for synthetic, result in ((fresh, clean), (leaked, leak)):
        closer = _brute_force(synthetic, training, 1)[:, 0] < _brute_force(synthetic, holdout, 1)[:, 0]
        assert abs(result.dcr_share_raw - closer.mean()) <= result.dcr_ties / len(synthetic)
    assert clean.dcr_share_lower_bound <= limit < leak.dcr_share_lower_bound
    assert leak.dcr_share > 0.99 and abs(clean.dcr_share - 0.5) < 0.05
    assert leak.nndr_training < 0.1 < clean.nndr_training
