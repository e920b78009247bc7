import numpy as np
import pandas as pd

from synth_pipeline.augmentation import smote_oversample


def _imbalanced() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "size": np.concatenate([rng.normal(0, 1, 80), rng.normal(5, 1, 20)]),
            "count": np.concatenate([rng.integers(0, 10, 80), rng.integers(20, 30, 20)]),
            "colour": ["red"] * 80 + ["blue", "green"] * 10,
            "label": ["majority"] * 80 + ["minority"] * 20,
        }
    )


def test_only_the_minority_class_is_topped_up_to_the_target_ratio():
    rows = _imbalanced()
    made, sources = smote_oversample(rows, label_column="label", target_ratio=0.5, k_neighbors=5, seed=1)
    assert len(made) == 20 and set(made["label"]) == {"minority"}
    assert sources.shape == (20, 2)
    assert set(rows.iloc[sources.ravel()]["label"]) == {"minority"}


def test_new_rows_interpolate_between_base_and_neighbour():
    rows = _imbalanced()
    made, sources = smote_oversample(rows, label_column="label", target_ratio=0.5, k_neighbors=5, seed=1)
    base, partner = rows.iloc[sources[:, 0]].reset_index(), rows.iloc[sources[:, 1]].reset_index()
    low = np.minimum(base["size"], partner["size"]) - 1e-9
    high = np.maximum(base["size"], partner["size"]) + 1e-9
    assert ((made["size"] >= low) & (made["size"] <= high)).all()
    assert made["count"].dtype == rows["count"].dtype
    assert (made["colour"].to_numpy() == base["colour"].to_numpy()).all()


def test_balanced_data_needs_no_new_rows():
    rows = pd.DataFrame({"x": range(10), "label": [0, 1] * 5})
    made, sources = smote_oversample(rows, label_column="label", target_ratio=1.0, k_neighbors=3, seed=0)
    assert made.empty and sources.shape == (0, 2)


def test_empty_input_and_nullable_integers():
    empty = pd.DataFrame({"x": pd.Series([], dtype="float64"), "label": pd.Series([], dtype="int64")})
    made, sources = smote_oversample(empty, label_column="label", target_ratio=0.8, k_neighbors=3, seed=0)
    assert made.empty and sources.shape == (0, 2)
    rows = pd.DataFrame({"n": pd.array([1, 2, 3, 4, 10, 11], dtype="Int64"), "label": [0, 0, 0, 0, 1, 1]})
    made, _ = smote_oversample(rows, label_column="label", target_ratio=1.0, k_neighbors=1, seed=0)
    assert len(made) == 2 and made["n"].dtype == "Int64" and made["n"].between(10, 11).all()
