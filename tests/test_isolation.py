"""Record-multiset operations over Parquet files, on real files."""

import pandas as pd

from synth_pipeline import tag_rows
from synth_pipeline.isolation import fresh_real_rows, leaked_records


def _write(path, frame, kind="real", generation=1):
    tag_rows(frame, kind=kind, generation=generation, dataset="d").to_parquet(path)
    return path


def test_leaks_are_real_rows_beyond_the_train_splits_copies_even_with_a_filename_column(tmp_path):
    rows = pd.DataFrame({"filename": ["a", "b", "c", "d"], "x": [1, 2, 3, 4]})  # a user column named filename
    # "a" is in the holdout once and in the train split twice: identical records on both sides.
    holdout = _write(tmp_path / "holdout.parquet", rows.iloc[[0, 1]])
    train = _write(tmp_path / "train.parquet", rows.iloc[[0, 0, 2, 3]])
    legit = _write(tmp_path / "legit.parquet", rows.iloc[[0, 0, 2]])  # the train split's own copies of "a"
    first = _write(tmp_path / "first.parquet", rows.iloc[[0, 0, 0, 2]])  # one "a" beyond the train split's two
    second = _write(tmp_path / "second.parquet", rows.iloc[[1, 1, 3]])  # "b": holdout only; capped at its one copy
    synthetic = _write(tmp_path / "synthetic.parquet", rows.iloc[[1, 1]], kind="synthetic")  # judged by distance
    leaks = leaked_records(holdout, train, [legit, first, second, synthetic])
    assert leaks.per_file == {first: 1, second: 1}
    assert (leaks.records, leaks.contents) == (2, 2)
    assert leaks.real_rows == 10
    assert leaked_records(holdout, train, []).records == 0


def test_the_same_leaked_record_in_several_files_counts_once(tmp_path):
    rows = pd.DataFrame({"x": [1, 2, 3]})
    holdout = _write(tmp_path / "holdout.parquet", rows.iloc[[0, 0]])
    train = _write(tmp_path / "train.parquet", rows.iloc[[1, 2]])
    arrivals = _write(tmp_path / "arrivals.parquet", rows.iloc[[0, 1]])
    mix = _write(tmp_path / "mix.parquet", rows.iloc[[0, 0, 1]])
    leaks = leaked_records(holdout, train, [arrivals, mix])
    assert leaks.per_file == {arrivals: 1, mix: 2}
    assert leaks.records == 2  # the mix's two copies include the arrival's one


def test_fresh_real_rows_ignore_records_seen_earlier_and_non_real_rows(tmp_path):
    rows = pd.DataFrame({"x": range(6)})
    earlier = _write(tmp_path / "g1.parquet", rows.iloc[:3])
    current = pd.concat([
        tag_rows(rows.iloc[1:5], kind="real", generation=2, dataset="d"),
        tag_rows(rows.iloc[5:], kind="synthetic", generation=2, dataset="d", depth=1),
    ])
    current.to_parquet(tmp_path / "g2.parquet")
    # x = 1 and 2 arrived in generation 1 (stamped 1) and again here stamped 2: new copies, fresh
    assert fresh_real_rows(tmp_path / "g2.parquet", [earlier]) == 4
    assert fresh_real_rows(tmp_path / "g2.parquet", []) == 4


def test_fresh_real_rows_count_copies_of_known_content_and_not_records_arriving_again(tmp_path):
    rows = pd.DataFrame({"x": [1, 1, 1, 2]})
    first = _write(tmp_path / "g1.parquet", rows.iloc[[0, 3]], generation=1)
    # Generation 2 holds generation 1's records again (stamp 1) and two new copies of x = 1 (stamp 2).
    second = pd.concat([
        tag_rows(rows.iloc[[0, 3]], kind="real", generation=1, dataset="d"),
        tag_rows(rows.iloc[[1, 2]], kind="real", generation=2, dataset="d"),
    ])
    second.to_parquet(tmp_path / "g2.parquet")
    assert fresh_real_rows(tmp_path / "g2.parquet", [first]) == 2
    # The same content stamped 1 three times, where generation 1 held one copy: two are fresh.
    third = tag_rows(rows.iloc[[0, 1, 2]], kind="real", generation=1, dataset="d")
    third.to_parquet(tmp_path / "g3.parquet")
    assert fresh_real_rows(tmp_path / "g3.parquet", [first, tmp_path / "g2.parquet"]) == 2
