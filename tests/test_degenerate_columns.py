"""Columns SDV's Gaussian copula collapses to one value are detected, refitted and recorded."""

import numpy as np
import pandas as pd

from conftest import fast_spec, why
from synth_pipeline import MixSpec, SynthesizerSpec, build_synth_pipeline
from synth_pipeline.datasets import breast_cancer
from synth_pipeline.degenerate_columns import FALLBACK_DISTRIBUTIONS, find_collapsed_columns
from synth_pipeline.synthesizers import synthesize

# The rows (positions in breast_cancer()) of the reference pipeline's generation-2 arrivals
# when the collapse was reported: SDV's beta fit of their texture_error is a point mass at
# the column minimum (its sample kurtosis lies beyond every beta's, see degenerate_columns).
GENERATION_2_ROWS = [
    0, 5, 6, 16, 24, 26, 39, 40, 45, 57, 60, 62, 69, 71, 72, 73, 75, 78, 87, 95, 96, 102, 108, 112, 119, 122,
    123, 124, 133, 140, 143, 148, 161, 163, 168, 192, 194, 195, 198, 199, 211, 218, 219, 220, 221, 225, 226,
    227, 229, 230, 233, 245, 256, 264, 266, 273, 275, 276, 284, 286, 292, 297, 314, 316, 317, 323, 334, 335,
    337, 338, 339, 345, 349, 364, 365, 368, 378, 379, 380, 392, 396, 404, 405, 410, 411, 413, 421, 422, 423,
    424, 432, 433, 438, 443, 445, 447, 451, 454, 461, 466, 469, 472, 473, 482, 492, 500, 518, 533, 534, 535,
    536, 541, 554, 556,
]


def _generation_2(columns: list[str]) -> pd.DataFrame:
    return breast_cancer().iloc[GENERATION_2_ROWS][columns].reset_index(drop=True)


def _spread(sampled: pd.Series, fit: pd.Series) -> float:
    def as_float(values):
        return values.astype("int64") if pd.api.types.is_datetime64_any_dtype(values) else values.astype(float)
    return float(as_float(sampled).std() / as_float(fit).std())


def test_texture_error_of_the_reference_data_is_refitted_and_recorded():
    fit_input = _generation_2(["mean_radius", "texture_error", "target"])
    synthesis = synthesize(fit_input, label_column="target", method="gaussian_copula", params={},
                           num_rows=28, seed=2)
    [recovery] = synthesis.recoveries
    assert recovery.column == "texture_error" and recovery.detected.finding == "constant"
    assert recovery.detected.value == str(fit_input["texture_error"].min()) and recovery.detected.chance < 1e-20
    assert recovery.distribution_before == "beta" and recovery.recovered
    assert recovery.distribution_after in FALLBACK_DISTRIBUTIONS
    assert synthesis.marginal_overrides == {"texture_error": recovery.distribution_after}
    texture = synthesis.rows["texture_error"]
    assert _spread(texture, fit_input["texture_error"]) > 0.4 and texture.nunique() > 20
    assert texture.between(fit_input["texture_error"].min(), fit_input["texture_error"].max()).all()
    record = recovery.as_metadata()
    assert record["detected"]["evidence"].startswith("constant: 0.4334 in 28 sampled rows")
    assert record["action"] == f"recovered: marginal refitted as {recovery.distribution_after} (was beta)"


def test_an_integer_column_is_refitted_and_stays_integer():
    fit_input = _generation_2(["texture_error", "target"])
    fit_input["texture_error"] = (fit_input["texture_error"] * 1000).round().astype("int64")
    synthesis = synthesize(fit_input, label_column="target", method="gaussian_copula", params={},
                           num_rows=28, seed=2)
    assert [(r.column, r.detected.finding, r.recovered) for r in synthesis.recoveries] == [
        ("texture_error", "constant", True)]
    assert synthesis.rows["texture_error"].dtype == "int64" and synthesis.rows["texture_error"].nunique() > 20


def test_a_tz_aware_datetime_column_is_refitted_and_keeps_its_time_zone():
    rng = np.random.default_rng(13)  # near-normal dates over years: the beta fit in epoch ns degenerates
    when = pd.Timestamp("2023-06-01", tz="UTC") + pd.to_timedelta(rng.normal(0, 1, 150) * 365, unit="D")
    fit_input = pd.DataFrame({"when": when.tz_convert("Europe/Paris"), "target": rng.integers(0, 2, 150)})
    synthesis = synthesize(fit_input, label_column="target", method="gaussian_copula", params={},
                           num_rows=30, seed=1)
    [recovery] = synthesis.recoveries
    assert (recovery.column, recovery.detected.finding, recovery.distribution_before) == ("when", "constant", "beta")
    assert recovery.recovered
    assert str(synthesis.rows["when"].dtype) == "datetime64[ns, Europe/Paris]"
    assert _spread(synthesis.rows["when"], fit_input["when"]) > 0.4


def test_a_wide_table_recovers_its_collapsed_column_without_false_flags():
    rng = np.random.default_rng(1)
    rows = 150
    columns = {f"n{i:03d}": rng.normal(50, 10, rows).round(3) for i in range(200)}
    columns |= {f"int{i}": rng.poisson(4, rows) for i in range(5)}
    columns |= {f"bool{i}": rng.random(rows) < 0.4 for i in range(5)}
    columns |= {f"few{i}": rng.choice([1.0, 2.5, 4.0], rows) for i in range(5)}
    columns |= {f"miss{i}": np.where(rng.random(rows) < 0.25, np.nan, rng.normal(0, 1, rows)) for i in range(3)}
    columns["colour"] = rng.choice(["red", "green", "blue", "grey"], rows)
    columns["heavy"] = np.random.default_rng(34).lognormal(0, 0.7, rows).round(4)  # its beta fit degenerates
    fit_input = pd.DataFrame(columns).assign(target=rng.integers(0, 2, rows))
    assert fit_input.shape == (150, 221)
    # Normal marginals elsewhere keep the fit fast; the beta is SDV's default.
    params = {"default_distribution": "norm", "numerical_distributions": {"heavy": "beta"}}
    synthesis = synthesize(fit_input, label_column="target", method="gaussian_copula", params=params,
                           num_rows=40, seed=1)
    assert [(r.column, r.distribution_before, r.recovered) for r in synthesis.recoveries] == [
        ("heavy", "beta", True)]
    assert find_collapsed_columns(fit_input, synthesis.rows) == []
    assert _spread(synthesis.rows["heavy"], fit_input["heavy"]) > 0.3


def test_siblings_are_judged_against_what_the_fit_input_gives_by_chance():
    rng = np.random.default_rng(0)
    rows = 200
    fit_input = pd.DataFrame({
        "flag": rng.random(rows) < 0.5,
        "rare_flag": rng.random(rows) < 0.02,
        "colour": rng.choice(["red", "green", "blue"], rows),
        "few": rng.choice([1.0, 2.5, 4.0], rows),
        "count": rng.poisson(3, rows),
        "gappy": np.where(rng.random(rows) < 0.3, np.nan, rng.normal(0, 1, rows)),
        "mostly_missing": np.where(rng.random(rows) < 0.97, np.nan, 1.0 + rng.random(rows)),
    })
    healthy = fit_input.sample(30, random_state=1).reset_index(drop=True)
    assert find_collapsed_columns(fit_input, healthy) == []

    collapsed = healthy.assign(
        flag=True, rare_flag=False, colour="red", few=2.5, count=3,
        gappy=np.where(healthy["gappy"].isna(), np.nan, 0.25), mostly_missing=np.nan,
    )
    found = {c.column: c for c in find_collapsed_columns(fit_input, collapsed)}
    # rare_flag all False and mostly_missing all missing are what 30 fit rows often show.
    assert set(found) == {"flag", "colour", "few", "count", "gappy"}
    assert found["flag"].finding == found["colour"].finding == "one category"
    assert found["few"].finding == found["count"].finding == found["gappy"].finding == "constant"
    assert all(c.chance < 1e-4 for c in found.values())

    narrowed = healthy.assign(count=np.where(healthy.index % 2, 2, 3), gappy=healthy["gappy"] * 0.05)
    found = {c.column: c for c in find_collapsed_columns(fit_input, narrowed)}
    assert set(found) == {"count", "gappy"} and found["gappy"].finding.startswith("narrowed")
    assert find_collapsed_columns(fit_input, healthy.assign(gappy=np.nan)) != []  # 30 missing of 30 at 30 %
    assert find_collapsed_columns(fit_input, collapsed.iloc[:2]) == []  # two rows prove nothing


def test_the_synthetic_stage_records_the_recovery_and_passes_diversity(runner):
    # Generation 1 of the reference data with a beta marginal on the columns SDV's default
    # collapses there, normal marginals elsewhere (fast).
    columns = ["mean_symmetry", "concave_points_error", "worst_area"]
    params = {"default_distribution": "norm", "numerical_distributions": dict.fromkeys(columns, "beta")}
    spec = fast_spec("degenerate", unknown_source=None, augmentation=None,
                     synthesizer=SynthesizerSpec(params=params), mix=MixSpec(real_arrival_batches=4))
    pipeline = build_synth_pipeline(spec)
    [run] = runner.run(pipeline, [1], quality_checks=True)
    metadata = {r.stage: r.metadata for r in run.stages}["synthetic"]
    records = metadata["collapsed_columns"]
    assert records and {r["column"] for r in records} <= set(columns), records
    assert all(r["recovered"] and r["distribution_before"] == "beta" for r in records)
    assert metadata["collapsed_columns_left"] == []
    assert metadata["marginal_overrides"] == {r["column"]: r["distribution_after"] for r in records}
    diversity = next(c for c in run.checks if c.name == "diversity" and c.asset_key.endswith("/synthetic"))
    assert diversity.passed, why(run)
