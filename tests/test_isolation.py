"""Hash set operations over Parquet files, on real files."""

import pandas as pd

from synth_pipeline import tag_rows
from synth_pipeline.isolation import fresh_real_rows, leaked_rows


def _write(path, frame, kind="real"):
    tag_rows(frame, kind=kind, generation=1, dataset="d").to_parquet(path)
    return path


def test_leaks_are_counted_per_file_and_distinct_overall_even_with_a_filename_column(tmp_path):
    rows = pd.DataFrame({"filename": ["a", "b", "c", "d"], "x": [1, 2, 3, 4]})  # a user column named filename
    holdout = _write(tmp_path / "holdout.parquet", rows.iloc[:2])
    first = _write(tmp_path / "first.parquet", rows.iloc[[0, 0, 2]], kind="synthetic")  # one holdout row, twice
    second = _write(tmp_path / "second.parquet", rows.iloc[[0, 1, 3]], kind="synthetic")
    clean = _write(tmp_path / "clean.parquet", rows.iloc[2:], kind="synthetic")
    per_file, distinct = leaked_rows(holdout, [first, second, clean])
    assert per_file == {first: 2, second: 2}
    assert distinct == 2


def test_fresh_real_rows_ignore_rows_seen_earlier_and_non_real_rows(tmp_path):
    rows = pd.DataFrame({"x": range(6)})
    earlier = _write(tmp_path / "g1.parquet", rows.iloc[:3])
    current = pd.concat([
        tag_rows(rows.iloc[1:5], kind="real", generation=2, dataset="d"),
        tag_rows(rows.iloc[5:], kind="synthetic", generation=2, dataset="d", depth=1),
    ])
    current.to_parquet(tmp_path / "g2.parquet")
    assert fresh_real_rows(tmp_path / "g2.parquet", [earlier]) == 2  # x = 3 and 4
    assert fresh_real_rows(tmp_path / "g2.parquet", []) == 4
