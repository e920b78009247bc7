"""Names a new user reads: one name per class everywhere (``class #i`` in label order, the value only where
the user's own terminal shows it), budget rules named by what they measure (the tables' non-real fraction),
the regression metric and augmentation's skip named as they are, and the CLI's figures rounded once."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import FAST_SYNTHESIZER, why
from synth_pipeline import MixSpec, SourceSpec, SynthPipelineSpec, SynthPolicy, build_synth_pipeline
from synth_pipeline.budgets import budgeted_measure, generation_budget, synthetic_budget
from synth_pipeline.composition import Composition
from synth_pipeline.display import shown_float
from synth_pipeline.report import report_path
from synth_pipeline.reporting import check_failures, generation_summary, markdown_summary
from synth_pipeline.runner import GenerationRun, StageRecord

NON_REAL = "non-real fraction (synthetic + augmented + unknown)"

# -- budget rules name what they measure ------------------------------------------------------------------


def _trial_mix() -> Composition:
    """The trial's stored mix: 1,208 real, 403 synthetic, 153 augmented rows; class "1" a minority."""
    by_class = {"0": {"real": 900, "synthetic": 271, "augmented": 0, "unknown": 0},
                "1": {"real": 308, "synthetic": 132, "augmented": 153, "unknown": 0}}
    counts = {"real": 1208, "synthetic": 403, "augmented": 153, "unknown": 0}
    return Composition(rows=1764, rows_by_kind=counts, provenance="mixed", max_depth=1, rows_by_class=by_class)


def test_budget_rules_are_named_by_the_fraction_they_judge():
    mix = _trial_mix()
    outcomes = {o.rule: o for o in synthetic_budget(mix, SynthPolicy(max_synthetic_fraction=0.15))}
    overall = outcomes[f"{NON_REAL}, overall"]
    # the figure judged is the tables' non-real fraction (0.315), not their synthetic fraction (0.228)
    assert overall.observed == pytest.approx(mix.non_real_fraction) and not overall.passed
    assert mix.synthetic_fraction == pytest.approx(403 / 1764)
    minority = outcomes[f"{NON_REAL}, class #2 (value 1, minority)"]
    assert minority.observed == pytest.approx(285 / 593) and minority.public_rule == f"{NON_REAL}, class #2 (minority)"
    assert f"{NON_REAL}, class #1 (value 0)" in outcomes
    [growth, _] = generation_budget(mix, None, 1, SynthPolicy())
    assert growth.rule == f"{NON_REAL} growth since previous generation"

    # another policy budgets other kinds: the rules say which
    only_synthetic = SynthPolicy(augmented_counts_as_synthetic=False, unknown_counts_as_synthetic=False)
    assert budgeted_measure(only_synthetic) == "synthetic fraction"
    [overall, *_] = synthetic_budget(mix, only_synthetic)
    assert overall.rule == "synthetic fraction, overall" and overall.observed == pytest.approx(mix.synthetic_fraction)
    assert budgeted_measure(SynthPolicy(unknown_counts_as_synthetic=False)) == \
        "budgeted fraction (synthetic + augmented)"


# -- one name per class, in every place that shows it -------------------------------------------------------


def _iris(path, class_two_rows: int = 25) -> SourceSpec:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame = pd.concat([frame[frame["target"] < 2], frame[frame["target"] == 2].head(class_two_rows)])
    frame.to_csv(path, index=False)
    return SourceSpec(path=str(path))


def test_a_blocked_class_has_one_name_in_the_cli_dagster_report_and_lineage(runner, tmp_path):
    """Class 2 of iris (the third label) is a minority and breaks its limit: every place names it
    ``class #3``; the CLI and the Dagster metadata add its value, the shared places do not."""
    pipeline = build_synth_pipeline(SynthPipelineSpec(
        name="names", label_column="target", real_source=_iris(tmp_path / "iris.csv"),
        synthesizer=FAST_SYNTHESIZER, seed=3))
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(max_minority_class_synthetic_fraction=0.05,
                                                         min_holdout_rows=20))
    private, public = f"{NON_REAL}, class #3 (value 2, minority)", f"{NON_REAL}, class #3 (minority)"
    check = run.check("synthetic_budget")
    assert not check.passed and check.metadata["rule"] == private, why(run)  # Dagster UI: the user's own

    cli = "\n".join(check_failures(run)) + "\n" + run.verdict.headline()  # the BLOCKED lines
    assert f"{private}: observed " in cli

    shared = markdown_summary(pipeline.name, run)  # --summary: a CI job summary, shared
    assert f"{public}: observed " in shared and "(value 2" not in shared

    report = report_path(runner.data_dir, pipeline.name, 1).read_text()
    assert f"{public}: observed " in report and "(value " not in report

    from synth_pipeline.lineage.store import LineageStore

    lineage = LineageStore(runner.data_dir)
    lineage.sync()
    recorded = lineage.checks(pipeline=pipeline.name, check="synthetic_budget").to_json(orient="records")
    assert "class #3 (minority)" in recorded and "(value " not in recorded
    # never the value as a class name (the old "class 2" beside "class #3")
    for text in (cli, shared, report, recorded):
        assert not re.search(r"class \d", text), text


# -- the CLI rounds once ----------------------------------------------------------------------------------


def test_cli_fractions_come_from_the_exact_counts_not_the_rounded_metadata():
    counts = {"real": 1208, "synthetic": 403, "augmented": 153, "unknown": 0}
    metadata = {"provenance": "mixed", "dagster/row_count": 1764, "rows_by_kind": counts, "max_depth": 1,
                # as Dagster shows them: 0.2285 and 0.3152 (4 significant digits)
                "synthetic_fraction": shown_float(403 / 1764).value, "non_real_fraction": shown_float(556 / 1764).value}
    run = GenerationRun(generation=1, run_id="r", success=True, seconds=1.0,
                        stages=[StageRecord("t/training_mix", "training_mix", 1, metadata)])
    row = generation_summary(run).splitlines()[2].split()
    # 403 / 1764 = 0.228458: 0.228 as the report shows it (0.2285 rounded again gave 0.229)
    assert row[4:6] == [f"{403 / 1764:.3f}", f"{556 / 1764:.3f}"] == ["0.228", "0.315"]


# -- a regression label: its metric, and why augmentation made nothing -------------------------------------


def test_regression_report_names_r2_and_augmentation_says_it_does_not_apply(runner):
    pipeline = build_synth_pipeline(SynthPipelineSpec(
        name="price", label_column="target", real_source=SourceSpec(loader="synth_pipeline.datasets:diabetes"),
        holdout_fraction=0.25, mix=MixSpec(real_arrival_batches=2), synthesizer=FAST_SYNTHESIZER,
    ))
    [run] = runner.run(pipeline, [1], policy=SynthPolicy(min_tstr_trtr_ratio=0.0))
    assert run.success, why(run)
    evaluation = next(s.metadata for s in run.stages if s.asset_key == "price/evaluation")
    assert evaluation["primary_metric"] == "r2"

    page = report_path(runner.data_dir, pipeline.name, 1).read_text()
    assert "balanced_accuracy" not in page and "balanced accuracy" not in page
    assert "<dt>scores (R²)</dt>" in page and "Left: R² on the sealed real holdout." in page
    assert evaluation["report_table"].splitlines()[0].endswith("| TRTR (R²) | TSTR (R²) | TSTR / TRTR |")

    # the augmented stage is empty because SMOTE does not apply, not because no class needed rows
    augmented = next(c for c in run.checks if c.asset_key == "price/augmented" and c.name == "provenance_valid")
    reason = augmented.metadata["reason"]
    assert reason.startswith("no rows: augmentation made none in generation 1: the label is a regression target")
    assert "augmentation: null" in reason and "class" not in reason.replace("classes", "")
    assert "target_ratio" not in page and "the label is a regression target" in page

    # the CLI's scores, read exact from the stored evaluation, are the report's to the last digit
    store = runner.store
    line = next(text for text in generation_summary(run, store).splitlines() if text.startswith("evaluation on"))
    cli_ratio = re.search(r"TSTR/TRTR ratio (-?[\d.]+)", line).group(1)
    report_row = re.search(r'<table id="scores">.*?<tbody><tr>(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", report_row)
    # generation, TRTR, TSTR, TSTR / TRTR
    assert cli_ratio == cells[3], (line, cells)
    assert f"real_only {cells[1]}, synthetic_only {cells[2]}" in line, (line, cells)
