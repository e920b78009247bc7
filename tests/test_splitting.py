import numpy as np
import pandas as pd
import pytest

from synth_pipeline import tag_rows
from synth_pipeline.datasets import breast_cancer
from synth_pipeline.splitting import holdout_mask


@pytest.fixture(scope="module")
def tagged() -> pd.DataFrame:
    return tag_rows(breast_cancer(), kind="real", generation=0, dataset="bc")


def test_split_is_deterministic_for_a_seed_and_changes_with_it(tagged):
    first = holdout_mask(tagged, label_column="target", fraction=0.2, seed=0)
    again = holdout_mask(tagged, label_column="target", fraction=0.2, seed=0)
    other = holdout_mask(tagged, label_column="target", fraction=0.2, seed=1)
    assert (first == again).all()
    assert (first != other).any()


def test_split_is_stratified(tagged):
    mask = holdout_mask(tagged, label_column="target", fraction=0.2, seed=0)
    for _, group in tagged.groupby("target"):
        assert mask[group.index].sum() == round(0.2 * len(group))


def test_split_does_not_depend_on_row_order(tagged):
    shuffled = tagged.sample(frac=1.0, random_state=3)
    chosen = set(tagged.loc[holdout_mask(tagged, label_column="target", fraction=0.2, seed=0), "_sp_row_hash"])
    chosen_shuffled = set(
        shuffled.loc[holdout_mask(shuffled, label_column="target", fraction=0.2, seed=0), "_sp_row_hash"]
    )
    assert chosen == chosen_shuffled


def test_copies_of_a_row_are_split_like_any_other_rows():
    rows = pd.DataFrame({"x": np.arange(400) % 10, "y": (np.arange(400) % 10) % 2})  # every row 40 times
    tagged = tag_rows(rows, kind="real", generation=0, dataset="d")
    mask = holdout_mask(tagged, label_column="y", fraction=0.3, seed=5)
    assert mask.sum() == 120  # stratified over rows, not distinct contents
    sealed_share = pd.Series(mask).groupby(tagged["_sp_row_hash"]).mean()
    assert len(sealed_share) == 10 and sealed_share.between(0.05, 0.6).all()  # every content on both sides


def test_sealed_copies_do_not_depend_on_row_order():
    rows = pd.DataFrame({"x": np.arange(300) % 7, "y": np.arange(300) % 2})
    tagged = tag_rows(rows, kind="real", generation=0, dataset="d")
    shuffled = tagged.sample(frac=1.0, random_state=4).reset_index(drop=True)
    sealed = tagged.loc[holdout_mask(tagged, label_column="y", fraction=0.2, seed=0), "_sp_row_hash"]
    sealed_shuffled = shuffled.loc[holdout_mask(shuffled, label_column="y", fraction=0.2, seed=0), "_sp_row_hash"]
    assert sorted(sealed) == sorted(sealed_shuffled)  # the same multiset of contents


def test_invalid_fraction_is_rejected(tagged):
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        holdout_mask(tagged, label_column="target", fraction=1.5, seed=0)
