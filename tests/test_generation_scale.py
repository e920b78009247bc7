"""The scaling benchmark's measurement functions work (benchmarks/generation_scale.py); no time is asserted."""

from pathlib import Path

import pandas as pd

from benchmarks import generation_scale as scale
from synth_pipeline.naming import Stage


def test_measure_generation_attributes_every_step(tmp_path: Path):
    frame = scale.wide_table(rows=300, columns=6)
    source = tmp_path / "table.csv"
    frame.to_csv(source, index=False)
    unknown = tmp_path / "unknown.csv"
    scale.resample_with_noise(frame, 15, seed=1, label=scale.WIDE_LABEL).to_csv(unknown, index=False)

    measured = scale.measure_generation(source, case="t300", label=scale.WIDE_LABEL, workdir=tmp_path,
                                        unknown=unknown, expectations=True)

    assert measured.success, measured.failed_checks + measured.failures
    assert (measured.rows, measured.columns, measured.unknown_rows) == (300, 6, 15)
    assert measured.skipped == []
    labels = {step["label"] for step in measured.steps}
    for stage in (Stage.REAL_SOURCE, Stage.SYNTHETIC, Stage.AUGMENTED, Stage.TRAINING_MIX, Stage.MODEL,
                  Stage.EVALUATION):
        assert f"asset {stage.value}" in labels
    # one step per checked asset (the synthetic and augmented assets' together), labelled with its checks
    checks = [label for label in labels if label.startswith("check ")]
    assert any("synthetic:utility" in label and "augmented:utility" in label for label in checks), checks
    assert any("training_mix:expectations" in label for label in checks), checks
    assert all(step["status"] == "success" for step in measured.steps)
    assert all(step["wall_s"] >= 0 and step["cpu_s"] >= 0 and step["peak_rss"] > 0 for step in measured.steps)
    # every moment of the generation is in one step or between steps
    parts = measured.total["steps_perf_s"] + measured.outside["wall_s"]
    assert abs(parts - measured.total["wall_s"]) < 0.05 * measured.total["wall_s"] + 0.5
    assert measured.total["peak_rss"] == max(
        [step["peak_rss"] for step in measured.steps] + [measured.outside["peak_rss"]])


def test_cases_and_growth(tmp_path: Path):
    adult = pd.DataFrame({"age": [20, 30, 40, 50], "gain": [0, 0, 0, 1000], "job": ["a", "b", "a", "c"],
                          "income": ["<", ">", "<", "<"]})
    resampled = scale.resample_with_noise(adult, 400, seed=0)
    assert len(resampled) == 400 and set(resampled["job"]) <= {"a", "b", "c"}
    assert set(resampled["income"]) <= {"<", ">"}
    assert resampled["age"].dtype == adult["age"].dtype and resampled["age"].between(20, 50).all()
    gains = resampled["gain"]
    assert ((gains == 0) | (gains > 500)).all() and (gains == 0).any()  # zeros stay zeros, others are jittered
    assert scale.parse_size("32k") is None and scale.parse_size("1m") == 1_000_000
    assert scale.parse_size("300k") == 300_000 and scale.parse_size("2500") == 2500
    assert abs(scale.fit_exponent([1e4, 1e5, 1e6], [1.0, 100.0, 10_000.0]) - 2.0) < 1e-9
    assert scale.fit_exponent([1e4], [1.0]) is None

    def case(name, rows, seconds, status="done"):
        step = {"label": "asset synthetic", "status": "success", "wall_s": seconds, "cpu_s": seconds, "start_ts": 0}
        return {"case": name, "rows": rows, "columns": 15, "status": status, "steps": [step],
                "total": {"wall_s": seconds + 1, "cpu_s": seconds, "peak_rss": rows * 1000, "others_cores": 0.0}}

    results = [case("32k", 32_561, 10.0), case("100k", 100_000, 10.0 * (100_000 / 32_561) ** 1.5),
               case("1m", 1_000_000, 0.0, status="stopped") | {"steps": []}]
    fitted = {item["label"]: item for item in scale.growth(results)}
    assert abs(fitted["asset synthetic"]["wall_exponent"] - 1.5) < 1e-9
    assert fitted["asset synthetic"]["values"][2] is None
    assert "FAIL (did not finish" in scale.format_summary(results)
    # a run under other thread settings than the largest case's is not fitted with the others
    other = case("32k", 32_561, 1000.0) | {"threads_env": {"OMP_WAIT_POLICY": "PASSIVE"}}
    refitted = {item["label"]: item for item in scale.growth([*results, other])}
    assert abs(refitted["asset synthetic"]["wall_exponent"] - 1.5) < 1e-9


def test_adult_cases_skip_cleanly_without_the_file(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(scale, "ADULT", tmp_path / "absent.csv")

    assert scale.main(["--sizes", "32k,100k", "--no-wide"]) == 0

    printed = capsys.readouterr().out
    assert "SKIPPED the Adult cases 32k, 100k" in printed and "absent.csv is not present" in printed
    assert "0 case(s)" in printed and "Summary against the targets" in printed
