"""A generation run again is reported as its latest run left it.

A trial ran generation 1 blocked by one policy, then again under another policy, blocked earlier:
the report still showed the first run's blocking failures in its verdict and its training mix as
the generation's. The earlier run's data stay stored (nothing is deleted); the report marks what
the earlier run left and keeps it out of the verdict.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from multiprocess_job import pipelines  # par_a: replace mode, no augmentation; its definitions serve the CLI
from test_report import _Page

from conftest import why
from synth_pipeline import SynthPolicy
from synth_pipeline.cli import main
from synth_pipeline.data_dir import DATA_DIR_ENV
from synth_pipeline.naming import Stage
from synth_pipeline.report import build_generation_report, report_path
from synth_pipeline.runner import pipeline_stages
from synth_pipeline.storage import CHECKS_MONITOR, MONITORS_DIR

MIX_BUDGET = SynthPolicy(max_synthetic_fraction=0.01, max_class_synthetic_fraction=0.01,
                         max_minority_class_synthetic_fraction=0.01)
"""Blocks generation 1 at its training mix (synthetic_budget): the mix is stored, not used."""
SMALL_HOLDOUT = SynthPolicy(min_holdout_rows=1000)
"""Blocks generation 1 at the holdout (holdout_purity): 113 rows sealed."""
STRICT_FIDELITY = SynthPolicy(min_quality_score=1.0)
"""Blocks generation 1 at its synthetic rows (fidelity), before the mix is made."""
EARLIER = "left by an earlier run"


def _banner(text: str) -> str | None:
    found = re.search(r'<p class="verdict failed" id="verdict">(.*?)</p>', text)
    return found[1] if found else None


def _check_items(text: str) -> dict[str, str]:
    """The 'checks that failed or warned' list: ``<check> on <stage>`` -> the item's text."""
    if '<ul id="checks">' not in text:
        return {}
    section = text.split('<ul id="checks">')[1]
    items = {}
    for part in section.split("<li><b>")[1:]:
        name, rest = part.split("</b>", 1)
        stage = rest.split(":", 1)[0].removeprefix(" on ")
        items[f"{name} on {stage}"] = rest.split("<ul>", 1)[0]
    return items


def _rebuild(runner, monkeypatch, pipeline, out: Path) -> str:
    """``synth-pipeline report`` of generation 1, from the store alone."""
    monkeypatch.setenv(DATA_DIR_ENV, str(runner.data_dir))
    assert main(["report", "-m", "multiprocess_job", "--pipeline", pipeline.name, "--generation", "1",
                 "--out", str(out)]) == 0
    return out.read_text()


def test_a_rerun_blocked_at_the_holdout_reports_its_own_block_not_the_earlier_runs(runner, monkeypatch):
    """The trial's case: blocked at the mix, then rerun and blocked at the holdout."""
    pipeline = pipelines[0]
    [first] = runner.run(pipeline, [1], policy=MIX_BUDGET)
    assert first.verdict.headline().startswith("generation 1 blocked by 1 check: par_a/training_mix synthetic_budget")
    [second] = runner.run(pipeline, [1], policy=SMALL_HOLDOUT)
    assert second.verdict.headline().startswith("generation 1 blocked by 1 check: par_a/real_holdout holdout_purity")

    # The report the holdout's check wrote when the block was found: the in-process executor runs the holdout's
    # checks before the stages below the real train split, so the mix and its checks were still the first run's.
    text = report_path(runner.data_dir, pipeline.name, 1).read_text()
    assert f"in Dagster run <code>{second.run_id}</code>" in text  # written by the second run
    banner = _banner(text)
    assert banner and banner.startswith("generation 1 blocked by 1 check: par_a/real_holdout holdout_purity ("), banner
    assert "synthetic_budget" not in banner, banner
    assert re.search(r'checks that failed</dt><dd><span class="failed">1 blocking</span>: holdout_purity on '
                     r"real_holdout</dd>", text)
    items = _check_items(text)
    assert "(blocking)" in items["holdout_purity on real_holdout"], items
    earlier_mix_check = items["synthetic_budget on training_mix"]  # kept, shown as the first run's
    assert "(blocking)" not in earlier_mix_check, earlier_mix_check
    assert f"failed in run {first.run_id[:8]}, not run again in run {second.run_id[:8]}" in earlier_mix_check
    assert _Page(text).column("composition", EARLIER) == [f"run {first.run_id[:8]}"]

    # Rebuilt after the run: the second run remade the mix (not downstream of the holdout), and its checks passed
    rebuilt = _rebuild(runner, monkeypatch, pipeline, runner.data_dir / "rebuilt.html")
    banner = _banner(rebuilt)
    assert banner == ("generation 1 blocked by 1 check: par_a/real_holdout holdout_purity (holdout rows: observed "
                      "113 &lt; limit 1000, n = 113); not run: par_a/evaluation"), banner
    assert set(_check_items(rebuilt)) == {"holdout_purity on real_holdout"}
    assert EARLIER not in _Page(rebuilt).tables["composition"][0]
    assert f"describing generation 1's latest run <code>{second.run_id}</code>" in rebuilt


def test_a_rerun_blocked_before_the_mix_marks_the_earlier_runs_mix_and_scores_as_not_run(runner, monkeypatch):
    """A passed generation run again and blocked at its synthetic rows: the stored mix, model and evaluation are
    the first run's. The report says they were not run in the latest run and marks their figures."""
    pipeline = pipelines[0]
    [first] = runner.run(pipeline, [1])
    assert first.success, why(first)
    [second] = runner.run(pipeline, [1], policy=STRICT_FIDELITY, quality_checks=True)
    assert second.verdict.headline().startswith("generation 1 blocked by 1 check: par_a/synthetic fidelity (")
    expected_not_run = "; not run: par_a/training_mix, par_a/model, par_a/evaluation"
    assert second.verdict.headline().endswith(expected_not_run)
    mix = runner.read(pipeline, Stage.TRAINING_MIX, 1)  # the first run's, still stored

    in_run = report_path(runner.data_dir, pipeline.name, 1).read_text()
    rebuilt = _rebuild(runner, monkeypatch, pipeline, runner.data_dir / "rebuilt.html")
    for text in (in_run, rebuilt):
        banner = _banner(text)
        assert banner and banner.startswith("generation 1 blocked by 1 check: par_a/synthetic fidelity ("), banner
        assert banner.endswith(expected_not_run), banner
        page = _Page(text)
        assert page.column("composition", "rows") == [str(len(mix))]  # kept, not deleted
        assert page.column("composition", EARLIER) == [f"run {first.run_id[:8]}"]
        assert page.column("scores", EARLIER) == [f"run {first.run_id[:8]}"]
        assert f"Per class in generation 1's mix (left by run {first.run_id[:8]})" in text
        assert f"(left by run {first.run_id[:8]})" in text.split("<dt>training mix</dt>")[1].split("</dd>")[0]
        assert "generation 1 was run again: run " + second.run_id[:8] + " did not write" in text

    # A store written before runs were recorded (no recorded_at, run ids or run generation): read as before
    for path in (runner.data_dir / MONITORS_DIR).rglob(f"{CHECKS_MONITOR}/*/*.parquet"):
        records = pd.read_parquet(path)
        records.drop(columns=["recorded_at", "run_id", "run_generation"], errors="ignore").to_parquet(path)
    keys = {stage: key for stage, (key, _) in pipeline_stages(pipeline.to_definitions(), pipeline.name).items()}
    old = build_generation_report(runner.store, keys, pipeline=pipeline.name, generation=1, label_column="target",
                                  out=runner.data_dir / "old.html").path.read_text()
    assert EARLIER not in _Page(old).tables["composition"][0]
    banner = _banner(old)
    assert banner and banner.startswith("generation 1 blocked by 1 check: par_a/synthetic fidelity ("), banner
    assert "not run" not in banner  # as before: every per-generation stage is stored


def test_a_rerun_that_passes_after_a_blocked_run_reports_no_block(runner, monkeypatch):
    """Blocked by the quality checks, then run again without them: it passed. Its report must not show the
    first run's blocking failures (their records stay stored: the second run did not run those checks)."""
    pipeline = pipelines[0]
    [first] = runner.run(pipeline, [1], policy=STRICT_FIDELITY, quality_checks=True)
    assert first.verdict.headline().startswith("generation 1 blocked by 1 check: par_a/synthetic fidelity (")
    [second] = runner.run(pipeline, [1])
    assert second.success, why(second)

    in_run = report_path(runner.data_dir, pipeline.name, 1).read_text()  # the evaluation's
    rebuilt = _rebuild(runner, monkeypatch, pipeline, runner.data_dir / "rebuilt.html")
    for text in (in_run, rebuilt):
        assert _banner(text) is None
        assert "checks that failed</dt><dd>none</dd>" in text
        item = _check_items(text)["fidelity on synthetic"]
        assert "(blocking)" not in item, item
        assert f"failed in run {first.run_id[:8]}, not run again in run {second.run_id[:8]}" in item, item
        assert EARLIER not in _Page(text).tables["composition"][0]
        summary = text.split("<dt>fidelity checks</dt><dd>")[1].split("</dd>")[0]
        assert f"(left by run {first.run_id[:8]})" in summary, summary
