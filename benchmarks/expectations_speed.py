"""Cost of one generation's Great Expectations checks on the demo data: today's way and the new one.

The reference pipeline's generation 1 (breast-cancer data, 8 stages with a suite each, 506
expectations) is made once (``synth-pipeline run`` into a temporary directory, or ``--data-dir``
of an earlier run), then the GX part of its eight ``expectations`` checks is timed, each way in
fresh processes so that each pays its own import of great_expectations:

* **today** (reproduced here as it was before issue 16): every check makes a new ephemeral GX
  context, pandas data source, asset and batch definition, validates its suite with
  ``BOOLEAN_ONLY`` results, then validates again with ``SUMMARY`` every expectation that failed,
  has ``mostly`` below 1 or is a table expectation (so every suite is validated twice);
* **new** (:func:`synth_pipeline.quality.expectations.validate`): one GX runtime per process
  (import, context, data source and batch definition made once), each stage's frame one batch,
  validated once when every expectation passes.

Both run under the two ways Dagster runs a generation's steps:

* the in-process executor (``synth-pipeline run``, ``make run``): one process for all steps;
* the multiprocess executor (runs launched from the UI, a schedule or a sensor): a process per
  step, started with ``spawn`` (Dagster's default: each ``expectations`` step imports GX) or
  forked from a ``forkserver`` that preloads :mod:`synth_pipeline.quality.gx_preload` (GX
  imported once per run). Step processes are started one after another here (Dagster runs up
  to one per core at a time; CPU time is the same either way).

Timed: the import of great_expectations, and for each check what happens from the suite dict and
the stored frame to the summary (context, suite, batch, validations, the summary). Not timed:
reading the Parquet file and the suite file, the interpreter, Dagster and the code location,
which a step process pays whatever the check does. CPU seconds are those of the processes doing
the work, summed. Figures depend on the machine's load, printed before and after each row.

Run: ``python benchmarks/expectations_speed.py [--data-dir DIR] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SUITES_DIR = ROOT / "checks" / "expectations"
TARGET_RATIO = 0.25
STEP_MODULES = ("dagster", "pandas", "pyarrow.parquet", "assets.definitions",
                "synth_pipeline.checks.expectation_checks")
"""What a step process holds before its check runs (not timed)."""


# --- the demo data ---


def make_demo_data(directory: Path) -> Path:
    """Run generation 1 of the reference pipeline into ``directory`` (a subprocess); return the data dir."""
    home = directory / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    data = directory / "data"
    env = {**os.environ, "DAGSTER_HOME": str(home), "SYNTH_PIPELINE_DATA_DIR": str(data),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    print(f"making the demo data: synth-pipeline run (generation 1) into {data} ...", flush=True)
    code = "import sys; from synth_pipeline.cli import main; sys.exit(main(['run']))"
    completed = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"synth-pipeline run failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return data


def stage_files(data_dir: Path) -> list[tuple[str, str, str]]:
    """``(stage, frame path, suite path)`` of each checked stage of generation 1, in pipeline order."""
    from assets.pipeline import reference_pipeline
    from synth_pipeline.checks.provenance_checks import DATA_STAGES
    from synth_pipeline.checks.rule_checks import CheckInputs
    from synth_pipeline.guarded import as_guarded
    from synth_pipeline.policy import SynthPolicy
    from synth_pipeline.storage import DatasetStore

    guarded = as_guarded(reference_pipeline)
    inputs = CheckInputs(pipeline=guarded, store=DatasetStore(base_dir=str(data_dir)), policy=SynthPolicy(),
                         generation=1)
    found = []
    for stage, _ in guarded.roles():
        suite = SUITES_DIR / f"{stage.value}.json"
        if stage in DATA_STAGES and suite.is_file():
            frame = inputs.path(stage)
            if not frame.is_file():
                sys.exit(f"{frame} is missing: is {data_dir} the data directory of a run of generation 1?")
            found.append((stage.value, str(frame), str(suite)))
    return found


# --- timing ---


class Clock:
    """Wall and CPU seconds of named phases of this process."""

    def __init__(self) -> None:
        self.phases: dict[str, list[float]] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            spent = self.phases.setdefault(name, [0.0, 0.0])
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu


# --- today's approach, as synth_pipeline.quality.expectations.validate was before issue 16 ---


@functools.cache
def _today_import() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations

    return great_expectations


def _today_needs_counts(item: Any) -> bool:
    from synth_pipeline.quality.expectations import _exception_message

    config = item.expectation_config
    if not item.success or item.exception_info and _exception_message(item.exception_info):
        return True
    if config.kwargs.get("column") is None:
        return True
    mostly = config.kwargs.get("mostly")
    return mostly is not None and mostly < 1


def validate_today(frame: Any, suite: dict, clock: Clock, unexpected_samples: int = 0) -> Any:
    """Today's ``validate``: a new context and data source per call, two passes (timed by phase)."""
    from synth_pipeline.quality.expectations import (
        MAX_UNEXPECTED_SAMPLES,
        ValidationSummary,
        _build_suite,
        _in_suite_order,
        _outcome,
    )

    with clock.phase("import"):
        gx = _today_import()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with clock.phase("suite"):
        expectation_suite = _build_suite(gx, suite)
    with clock.phase("context"):
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    with clock.phase("batch"):
        batch_definition = (
            context.data_sources.add_pandas("synth_pipeline")
            .add_dataframe_asset(name="frame")
            .add_batch_definition_whole_dataframe("whole frame")
        )
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    with clock.phase("validation"):
        quick = batch.validate(expectation_suite, result_format="BOOLEAN_ONLY")
    with clock.phase("second pass"):
        ordered = _in_suite_order(quick.results, expectation_suite)
        again = [index for index, item in enumerate(ordered) if _today_needs_counts(item)]
        if again:
            detailed_suite = gx.ExpectationSuite(
                name=f"{expectation_suite.name} (details)",
                expectations=[ordered[index].expectation_config.to_domain_obj() for index in again])
            detailed = _in_suite_order(batch.validate(detailed_suite, result_format="SUMMARY").results,
                                       detailed_suite)
            for index, item in zip(again, detailed, strict=True):
                ordered[index] = item
    with clock.phase("summary"):
        samples = max(0, min(unexpected_samples, MAX_UNEXPECTED_SAMPLES))
        outcomes = [_outcome(item, samples) for item in ordered]
        failures = [outcome for outcome in outcomes if not outcome["success"]]
        evaluated = len(outcomes)
        return ValidationSummary(
            success=not failures, evaluated=evaluated, successful=evaluated - len(failures), failed=len(failures),
            success_percent=100.0 * (evaluated - len(failures)) / evaluated if evaluated else 100.0,
            failures=[{k: v for k, v in outcome.items() if k != "success"} for outcome in failures],
            results=[{k: outcome[k] for k in ("expectation", "column", "success", "unexpected_count")}
                     for outcome in outcomes],
        )


def validate_new(frame: Any, suite: dict, clock: Clock) -> Any:
    """The new ``validate`` (the runtime's first use, i.e. the import and context, timed apart)."""
    from synth_pipeline.quality.expectations import validate
    from synth_pipeline.quality.gx_runtime import gx_runtime

    with clock.phase("import"):
        from synth_pipeline.quality.gx_runtime import gx_import

        gx_import()
    with clock.phase("runtime"):
        gx_runtime()
    with clock.phase("validation"):
        return validate(frame, suite)


# --- one check, as a step runs it ---


def check_gx_part(approach: str, stage: str, frame_path: str, suite_path: str) -> dict[str, Any]:
    """Read the stage's frame and suite (not timed), then time the GX part of its check."""
    import pandas as pd

    from synth_pipeline.quality.expectations import load_suite

    frame, suite = pd.read_parquet(frame_path), load_suite(Path(suite_path))
    clock = Clock()
    imported_here = "great_expectations" not in sys.modules
    wall, cpu = time.perf_counter(), time.process_time()
    summary = (validate_today if approach == "today" else validate_new)(frame, suite, clock)
    total = [time.perf_counter() - wall, time.process_time() - cpu]
    record = None
    if approach != "today":
        from synth_pipeline.quality.gx_runtime import gx_import

        imported = gx_import()
        record = {"pid": imported.pid, "cpu": imported.cpu_seconds, "wall": imported.wall_seconds}
    return {"stage": stage, "rows": len(frame), "expectations": summary.evaluated, "total": total,
            "phases": clock.phases, "pid": os.getpid(), "import_record": record,
            "imported_here": imported_here,
            "verdicts": {"success": summary.success, "failed": summary.failed, "failures": summary.failures,
                         "results": summary.results}}


def _preload_step_modules() -> None:
    import importlib

    for module in STEP_MODULES:
        importlib.import_module(module)


def in_process_worker(approach: str, stages: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """All checks in this process, one after another (the in-process executor)."""
    _preload_step_modules()
    return [check_gx_part(approach, *stage) for stage in stages]


def _step(approach: str, stage: tuple[str, str, str], queue: Any) -> None:
    _preload_step_modules()
    queue.put(check_gx_part(approach, *stage))


def multiprocess_worker(approach: str, start_method: str, stages: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Each check in its own step process, as Dagster's multiprocess executor starts them."""
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        context.set_forkserver_preload([*STEP_MODULES, "synth_pipeline.quality.gx_preload"])
    queue = context.Queue()
    found = []
    for stage in stages:
        process = context.Process(target=_step, args=(approach, stage, queue))
        process.start()
        found.append(queue.get())
        process.join()
    return found


# --- the report ---


def _run_worker(args: list[str]) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run([sys.executable, __file__, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"worker {args[:3]} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def totals(checks: list[dict[str, Any]]) -> tuple[float, float, int]:
    """Wall and CPU seconds of the GX part of all checks, and the number of GX imports paid.

    A check that reports its import record from another process (a preloading fork server)
    did not pay it; the server's import is counted once.
    """
    wall = sum(check["total"][0] for check in checks)
    cpu = sum(check["total"][1] for check in checks)
    imports = sum(1 for check in checks if check["imported_here"])
    servers = {check["import_record"]["pid"]: check["import_record"] for check in checks
               if check["import_record"] and check["import_record"]["pid"] != check["pid"]}
    for record in servers.values():
        wall, cpu, imports = wall + record["wall"], cpu + record["cpu"], imports + 1
    return wall, cpu, imports


SCENARIOS = [
    ("in-process executor", "today", ["in-process", "today"]),
    ("in-process executor", "new", ["in-process", "new"]),
    ("multiprocess, spawn (default)", "today", ["multiprocess", "today", "spawn"]),
    ("multiprocess, spawn (default)", "new code", ["multiprocess", "new", "spawn"]),
    ("multiprocess, forkserver+preload", "new", ["multiprocess", "new", "forkserver"]),
]


def report(data_dir: Path, repeat: int) -> None:
    stages = stage_files(data_dir)
    print(f"GX part of the {len(stages)} expectations checks of generation 1, demo data in {data_dir}; "
          f"{os.cpu_count()} cores, python {sys.version.split()[0]}")
    for run in range(1, repeat + 1):
        print(f"\nrun {run} of {repeat}")
        print(f"{'executor':34s} {'approach':9s} {'imports':>7s} {'wall s':>7s} {'CPU s':>7s} {'CPU ratio':>9s}  "
              "load before / after")
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        baseline: dict[str, float] = {}
        for executor, approach, args in SCENARIOS:
            before = _load()
            checks = _run_worker(["--worker", *args, "--data-dir", str(data_dir)])
            results[executor, approach] = checks
            wall, cpu, imports = totals(checks)
            if approach == "today":
                baseline[executor.split(",")[0]] = cpu
            ratio = cpu / baseline[executor.split(",")[0]]
            print(f"{executor:34s} {approach:9s} {imports:7d} {wall:7.2f} {cpu:7.2f} {ratio:9.2f}  "
                  f"{before} / {_load()}")
        today_checks = results["in-process executor", "today"]
        same = all(
            [check["verdicts"] for check in checks] == [check["verdicts"] for check in today_checks]
            for checks in results.values())
        print(f"same per-suite verdicts, counts and failures in every row: {'yes' if same else 'NO'}; "
              f"target: CPU ratio <= {TARGET_RATIO}")
        _breakdown(results["in-process executor", "today"], results["in-process executor", "new"])


def _breakdown(today: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    phases = ["import", "context", "suite", "batch", "validation", "second pass", "summary"]
    print("\nin-process executor, per check, CPU seconds (wall in brackets for the totals)")
    print(f"{'stage':15s} {'rows':>5s} {'exp':>4s} " + " ".join(f"{name:>11s}" for name in phases)
          + f" {'today':>15s} {'new':>15s}  new: import+runtime")
    for old, fresh in zip(today, new, strict=True):
        cells = " ".join(f"{old['phases'].get(name, [0, 0])[1]:11.3f}" for name in phases)
        first = fresh["phases"].get("import", [0, 0])[1] + fresh["phases"].get("runtime", [0, 0])[1]
        print(f"{old['stage']:15s} {old['rows']:5d} {old['expectations']:4d} {cells} "
              f"{old['total'][1]:6.3f} ({old['total'][0]:6.2f}) {fresh['total'][1]:6.3f} ({fresh['total'][0]:6.2f})"
              f"  {first:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="data directory of a run of generation 1 (default: make one)")
    parser.add_argument("--repeat", type=int, default=1, help="how many times to measure every row")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        stages = stage_files(args.data_dir)
        kind, approach, *rest = args.worker
        checks = (in_process_worker(approach, stages) if kind == "in-process"
                  else multiprocess_worker(approach, rest[0], stages))
        print(json.dumps(checks))
        return
    if args.data_dir is not None:
        report(args.data_dir, args.repeat)
        return
    with tempfile.TemporaryDirectory(prefix="expectations_speed_") as directory:
        report(make_demo_data(Path(directory)), args.repeat)


if __name__ == "__main__":
    main()
