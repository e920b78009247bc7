"""One GX runtime per process, each stage's frame one batch: real GX validations (no mocks).

The oracle for "the same verdicts and metadata as before" is what the check reported before
the runtime: a fresh ephemeral context per validation and GX's ``SUMMARY`` results for the
whole suite (the two-pass validation it replaced was tested equal to that, counts included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import fast_spec
from synth_pipeline import DatasetStore, SynthPolicy, build_synth_pipeline
from synth_pipeline.checks.expectation_checks import _expectation_outcomes
from synth_pipeline.checks.rule_checks import CheckInputs
from synth_pipeline.datasets import breast_cancer
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import DATASET_COLUMN, ProvenanceKind, tag_rows
from synth_pipeline.quality.expectations import (
    MAX_UNEXPECTED_SAMPLES,
    ValidationSummary,
    _build_suite,
    _in_suite_order,
    _outcome,
    suite_for_stage,
    validate,
)
from synth_pipeline.quality.gx_runtime import gx_import, gx_runtime
from synth_pipeline.verdicts import Verdict

LABEL = "target"


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return breast_cancer()


@pytest.fixture(scope="module")
def suites(reference) -> dict[Stage, dict]:
    return {stage: suite_for_stage(reference, stage=stage, suite_name=f"bc/{stage.value}", label_column=LABEL)
            for stage in (Stage.REAL_SOURCE, Stage.SYNTHETIC, Stage.TRAINING_MIX)}


@pytest.fixture
def real_rows(reference) -> pd.DataFrame:
    return tag_rows(reference, kind=ProvenanceKind.REAL, generation=0, dataset="bc/real_source", depth=0)


def as_before(frame: pd.DataFrame, suite: dict, unexpected_samples: int = 0) -> ValidationSummary:
    """The summary as the check made it before: a fresh context, SUMMARY results for every expectation."""
    gx = gx_runtime().gx
    context = gx.get_context(mode="ephemeral")
    batch = (context.data_sources.add_pandas("before").add_dataframe_asset(name="frame")
             .add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame}))
    expectation_suite = _build_suite(gx, suite)
    results = _in_suite_order(batch.validate(expectation_suite, result_format="SUMMARY").results, expectation_suite)
    outcomes = [_outcome(item, max(0, min(unexpected_samples, MAX_UNEXPECTED_SAMPLES))) for item in results]
    failures = [outcome for outcome in outcomes if not outcome["success"]]
    evaluated = len(outcomes)
    return ValidationSummary(
        success=not failures, evaluated=evaluated, successful=evaluated - len(failures), failed=len(failures),
        success_percent=100.0 * (evaluated - len(failures)) / evaluated if evaluated else 100.0,
        failures=[{k: v for k, v in outcome.items() if k != "success"} for outcome in failures],
        results=[{k: outcome[k] for k in ("expectation", "column", "success", "unexpected_count")}
                 for outcome in outcomes],
    )


def _broken(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows failing four ways: out of range, nulls, a wrong provenance kind, a depth beyond 0."""
    rows = rows.copy()
    rows.loc[[3, 7, 11], "mean_radius"] = float(rows["mean_radius"].max()) + 1
    rows["worst_area"] = rows["worst_area"].astype("float64")
    rows.loc[[0, 1], "worst_area"] = np.nan
    rows[DATASET_COLUMN] = rows[DATASET_COLUMN].astype(object)
    rows.loc[5, DATASET_COLUMN] = None
    rows.loc[[8, 9], "_sp_kind"] = "synthetic"
    rows.loc[[8, 9], "_sp_depth"] = 1
    return rows


def _with_mostly(suite: dict, frame: pd.DataFrame) -> dict:
    """The suite with a ``mostly`` expectation, a multicolumn one and a second table one added."""
    suite = json.loads(json.dumps(suite))
    for expectation in suite["expectations"]:
        if expectation["type"].endswith("between") and expectation["kwargs"].get("column") == "mean_texture":
            expectation["kwargs"].update(max_value=float(frame["mean_texture"].quantile(0.99)), mostly=0.9)
    suite["expectations"] += [
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["_sp_row_hash", "_sp_dataset"]}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    ]
    return suite


CASES = {
    "passes": lambda rows: rows,
    "fails four ways": _broken,
    "a column missing (GX raises on its expectations)": lambda rows: rows.drop(columns=["mean_texture"]),
    "an extra column": lambda rows: rows.assign(extra=1),
    "no rows": lambda rows: rows.iloc[:0],
    "a few rows": lambda rows: rows.head(3),
}


@pytest.mark.parametrize(("case", "samples"), [(case, 5) for case in CASES] + [("fails four ways", 0)])
def test_the_batch_gives_the_same_summary_as_before(real_rows, suites, case, samples):
    frame = CASES[case](real_rows)
    suite = _with_mostly(suites[Stage.REAL_SOURCE], real_rows)
    assert validate(frame, suite, unexpected_samples=samples) == as_before(frame, suite, samples)


@pytest.mark.parametrize("stage", [Stage.SYNTHETIC, Stage.TRAINING_MIX])
def test_other_stages_suites_give_the_same_summary_as_before(real_rows, suites, stage):
    frame = _broken(real_rows)
    assert validate(frame, suites[stage], unexpected_samples=3) == as_before(frame, suites[stage], 3)


def test_a_failing_suite_names_each_failure_with_its_count(real_rows, suites):
    summary = validate(_broken(real_rows), suites[Stage.REAL_SOURCE], unexpected_samples=2)
    failed = {(f["expectation"], f["column"]): f["unexpected_count"] for f in summary.failures}
    assert failed == {
        ("expect_column_values_to_be_in_set", "_sp_kind"): 2,
        ("expect_column_values_to_not_be_null", DATASET_COLUMN): 1,
        ("expect_column_values_to_be_between", "_sp_depth"): 2,
        ("expect_column_values_to_be_between", "mean_radius"): 3,
        ("expect_column_values_to_not_be_null", "worst_area"): 2,
    }
    assert not summary.success and summary.failed == 5 and summary.evaluated == len(suites[Stage.REAL_SOURCE]
                                                                                      ["expectations"])
    kind = next(f for f in summary.failures if f["column"] == "_sp_kind")
    assert kind["partial_unexpected_list"] == ["synthetic", "synthetic"]


def test_the_check_reports_each_rule_with_its_figures_and_fix(tmp_path, real_rows, suites):
    """The check's rules, fix and metadata from the batch: a failing suite, then a stage with no rows."""
    pipeline = build_synth_pipeline(fast_spec(name="gxrt", unknown_source=None))
    store = DatasetStore(base_dir=str(tmp_path / "data"))
    inputs = CheckInputs(pipeline=pipeline, store=store, policy=SynthPolicy(), generation=1)
    suite_file = tmp_path / "synthetic.json"
    suite_file.write_text(json.dumps(suites[Stage.SYNTHETIC]))
    key = pipeline.key(Stage.SYNTHETIC)

    rows = tag_rows(breast_cancer().head(40), kind=ProvenanceKind.SYNTHETIC, generation=1, dataset="gxrt/synthetic",
                    depth=1)
    rows.loc[[2, 4], "mean_area"] = -1.0
    store.write(rows, key, "1")
    outcomes, metadata = _expectation_outcomes(inputs, stage=Stage.SYNTHETIC, path=suite_file, unexpected_samples=0)
    [failed] = [o for o in outcomes if o.verdict is Verdict.FAIL]
    assert failed.rule == "expect_column_values_to_be_between(mean_area), unmet (1) or met (0)"
    assert failed.public_rule == "expect_column_values_to_be_between(mean_area)"
    assert (failed.observed, failed.threshold, failed.bound, failed.sample_size) == (1.0, 0.0, "max", 40)
    # the indicator is named as one: "observed 1" never reads as one unexpected value beside a fix counting 2
    assert failed.evidence().startswith("expect_column_values_to_be_between(mean_area), unmet (1) or met (0): "
                                        "observed 1 > limit 0, n = 40 rows; fix: 2 unexpected value(s) of 40 rows")
    assert failed.fix == ("2 unexpected value(s) of 40 rows; correct the data or, if the change is intended, "
                          "the suite synthetic.json")
    assert len(outcomes) == metadata["evaluated"] == len(suites[Stage.SYNTHETIC]["expectations"])
    assert metadata["successful"] == metadata["evaluated"] - 1 and metadata["rows"] == 40
    assert [f["column"] for f in metadata["failures"].data] == ["mean_area"]
    assert "| expect_column_values_to_be_between | mean_area | **no** | 2 |" in metadata["summary"].value

    store.write(rows.iloc[:0], key, "1")
    [skipped], metadata = _expectation_outcomes(inputs, stage=Stage.SYNTHETIC, path=suite_file, unexpected_samples=0)
    assert skipped.verdict is Verdict.SKIPPED and skipped.sample_size == 0
    assert skipped.reason.startswith("no rows: the synthesizer sampled none in generation 1")
    assert metadata["evaluated"] == 1 and metadata["schema"].startswith("1 table expectation(s) on the schema passed")

    store.write(rows.iloc[:0].drop(columns=["mean_area"]), key, "1")  # no rows and the wrong schema: still judged
    [schema], _ = _expectation_outcomes(inputs, stage=Stage.SYNTHETIC, path=suite_file, unexpected_samples=0)
    assert schema.verdict is Verdict.FAIL and schema.public_rule == "expect_table_columns_to_match_set"


@pytest.mark.parametrize(
    ("expectation", "message"),
    [
        ({"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "mean_radius"}},
         r"expectation 1 \(expect_column_values_to_be_betwen.*is not a valid GX expectation"),
        ({"type": "expect_column_values_to_be_between", "kwargs": {"min_value": 0}},
         r"expectation 1 \(expect_column_values_to_be_between.*is not a valid GX expectation"),
        ({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "target", "value_set": 5}},
         r"expectation 1 \(expect_column_values_to_be_in_set.*is not a valid GX expectation"),
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "target", "colum": "x"}},
         r"expectation 1 \(expect_column_values_to_not_be_null.*is not a valid GX expectation"),
    ],
    ids=["unknown type", "no column", "value set not a list", "unknown argument"],
)
def test_bad_suite_input_is_a_clear_error_and_leaves_the_runtime_usable(real_rows, suites, expectation, message):
    good = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "mean_radius"}}
    with pytest.raises(SynthPipelineError, match=r"expectation suite 'bad': " + message):
        validate(real_rows, {"name": "bad", "expectations": [good, expectation]})
    assert validate(real_rows, suites[Stage.REAL_SOURCE]).success


def test_one_runtime_serves_every_validation_of_the_process(real_rows, suites):
    runtime = gx_runtime()
    assert gx_runtime() is runtime and runtime.pid == os.getpid() == gx_import().pid
    validate(real_rows.drop(columns=["mean_texture"]), suites[Stage.REAL_SOURCE])  # GX raises inside: no harm
    assert validate(real_rows, suites[Stage.REAL_SOURCE]).success  # the next batch holds the next frame only
    assert gx_runtime() is runtime
    assert [source.name for source in runtime.context.data_sources.all().values()] == ["synth_pipeline"]
    assert [asset.name for asset in runtime.context.data_sources.get("synth_pipeline").assets] == ["stage frame"]


def test_checks_on_several_threads_get_their_own_results(real_rows, suites):
    frames = [real_rows, _broken(real_rows), real_rows.head(10), _broken(real_rows).head(20)]
    expected = [as_before(frame, suites[Stage.REAL_SOURCE]) for frame in frames]
    got: dict[int, ValidationSummary] = {}
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, validate(frames[i], suites[Stage.REAL_SOURCE])))
               for i in range(len(frames))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [got[i] for i in range(len(frames))] == expected


CHILD = """
import multiprocessing, os, sys
import pandas as pd

def step(queue):
    from synth_pipeline.quality.expectations import validate
    from synth_pipeline.quality.gx_runtime import gx_import, gx_runtime
    loaded = "great_expectations" in sys.modules
    frame = pd.DataFrame({"a": [1, 2, 3]})
    suite = {"name": "s", "expectations": [{"type": "expect_column_values_to_be_between",
                                            "kwargs": {"column": "a", "min_value": 0, "max_value": 2}}]}
    summary = validate(frame, suite)
    queue.put({"pid": os.getpid(), "loaded_at_start": loaded, "imported_by": gx_import().pid,
               "runtime_pid": gx_runtime().pid, "failed": summary.failed,
               "count": summary.failures[0]["unexpected_count"]})

if __name__ == "__main__":
    method = sys.argv[1]
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["synth_pipeline.quality.gx_preload"])
    else:
        from synth_pipeline.quality.gx_runtime import gx_runtime
        gx_runtime()  # the parent made a runtime before forking
    queue = context.Queue()
    found = []
    for _ in range(2):
        process = context.Process(target=step, args=(queue,))
        process.start()
        found.append(queue.get())
        process.join()
    print(repr(found))
"""


@pytest.mark.parametrize("method", ["forkserver", "fork"])
def test_step_processes_import_gx_once_per_server_and_make_their_own_runtime(tmp_path: Path, method):
    """Forked from a fork server that preloaded gx_preload (as Dagster's multiprocess executor can start
    steps), a step process starts with GX imported and pays no import; one forked from a process that
    had made a runtime makes its own."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run([sys.executable, str(script), method], capture_output=True, text=True, timeout=600,
                               env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    children = eval(completed.stdout.strip().splitlines()[-1])  # noqa: S307 - our own script's repr of plain data
    assert len({child["pid"] for child in children}) == 2
    for child in children:
        assert child["loaded_at_start"] and child["imported_by"] != child["pid"]  # imported before the fork
        assert child["runtime_pid"] == child["pid"]  # a runtime of its own
        assert (child["failed"], child["count"]) == (1, 1)
    if method == "forkserver":
        assert len({child["imported_by"] for child in children}) == 1  # by the one server
