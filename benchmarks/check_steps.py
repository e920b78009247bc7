"""Cost of the guard rails' steps in one generation: a step per check (before b7e664e) against a step per asset.

Generation 1 of the reference pipeline (:mod:`assets.pipeline`, the policy and Great
Expectations suites of ``checks/``, 34 blocking checks on 9 assets) is run with its checks laid
out two ways, side by side in one run of this script:

* **per check** (the baseline, as before b7e664e): every check its own Dagster step (34 check
  steps, 43 in all), rebuilt from the same rules, ``asset_checks([rule])`` for each of
  ``provenance_rules + policy_rules + quality_rules + expectation_rules`` (so the check code is
  today's: only the grouping into steps differs), bound with
  ``to_definitions(include_checks=False, include_quality_checks=False, asset_checks=...)``.
  The code location is this module, imported as ``benchmarks.check_steps`` (``defs``);
* **per asset** (now): :mod:`assets.definitions` as it is: the checks of each asset in one step,
  the synthetic and augmented assets' in one together (8 check steps, 17 in all).

Each layout under the two executors:

* **multiprocess**: the run as a run worker executes a run launched from the Dagster UI:
  ``python -m dagster job execute -m <module> -a defs -j breast_cancer_generation --tags
  '{"dagster/partition": "1"}'``, with the code location's executor
  (:func:`synth_pipeline.executors.preloading_executor`: a process per step, forked from a
  server that imported the code location and Great Expectations once; at most one step per
  core at a time). The module is named with ``-m``, as workspace.yaml names it, so the fork
  server's preloaded module is the one each step uses;
* **in process**: :func:`synth_pipeline.runner.run_generations`, what ``synth-pipeline run``
  executes (every step in one process; the CLI's lineage sync afterwards is left out).

Every run is a fresh Python process (``--timeout`` stops it) with a Dagster home (SQLite) and a
data directory of its own, in which this script first adds the dynamic partition ``1``. Each of
the ``--repeat`` rounds runs every configuration, the layouts in turns (which goes first
alternates). Per run: the process's wall seconds
(interpreter, imports, loading the code location, the run), the Dagster run's own seconds
(RUN_START to its end, from the event log), the steps started (all, and those running checks),
``start s``: the mean seconds from a step's process being asked for to the step's start
(multiprocess only: a forked step; the same in both layouts when the fork server preloaded each
code location), the check evaluations with how many passed and failed, and the machine's load average
(``os.getloadavg``: 1, 5, 15 min) before and after. A summary gives the median per layout and
executor. Both layouts must evaluate the same checks with the same verdicts (passed, severity,
the rule verdict) in every run; the script says whether they do, and whether the observed
figures agree too. The machine's other work moves the figures: read them with the load.

Run: ``python benchmarks/check_steps.py [--repeat N] [--executor both|multiprocess|in-process]
[--timeout SECONDS]`` (about 10 minutes per repeat on 2 busy cores; no network needed).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    import dagster as dg

    from synth_pipeline.checks.rule_checks import RuleCheck

PIPELINE = "breast_cancer"
JOB = f"{PIPELINE}_generation"
GENERATION = 1
PER_CHECK_MODULE = "benchmarks.check_steps"
LAYOUTS = {"per check": PER_CHECK_MODULE, "per asset": "assets.definitions"}
"""Layout -> the code location module holding its ``defs``."""
EXECUTORS = ("multiprocess", "in process")

CheckKey = tuple[str, str]  # (asset, check)


# --- the per-check code location ---


def per_check_rules() -> list[RuleCheck]:
    """Every check of the reference pipeline, as :func:`~synth_pipeline.checks.guard_rails.build_guard_rails`
    makes them for ``assets.definitions``: provenance, policy, quality and expectations."""
    from assets.pipeline import reference_pipeline
    from checks import EXPECTATIONS_DIR
    from synth_pipeline.checks.expectation_checks import expectation_rules
    from synth_pipeline.checks.policy_checks import policy_rules
    from synth_pipeline.checks.provenance_checks import provenance_rules
    from synth_pipeline.checks.quality_checks import quality_rules
    from synth_pipeline.guarded import as_guarded

    guarded = as_guarded(reference_pipeline)
    return [*provenance_rules(guarded), *policy_rules(guarded), *quality_rules(guarded),
            *expectation_rules(guarded, EXPECTATIONS_DIR)]


def per_check_definitions() -> dg.Definitions:
    """``assets.definitions`` with a step per check: the same rules, each built alone."""
    from assets.pipeline import reference_pipeline
    from checks import reference_policy
    from synth_pipeline.automation import build_arrival_sensor, build_generation_schedule
    from synth_pipeline.checks.rule_checks import asset_checks
    from synth_pipeline.executors import preloading_executor

    return reference_pipeline.to_definitions(
        policy=reference_policy,
        include_checks=False,
        include_quality_checks=False,
        asset_checks=[step for rule in per_check_rules() for step in asset_checks([rule])],
        schedules=[build_generation_schedule(reference_pipeline)],
        sensors=[build_arrival_sensor(reference_pipeline, None)],
        executor=preloading_executor(PER_CHECK_MODULE),
    )


# --- one run ---


@dataclass
class Measurement:
    """One run of generation 1 with one layout and one executor."""

    layout: str
    executor: str
    wall: float = 0.0
    run_seconds: float = float("nan")
    steps: int = 0
    check_steps: int = 0
    step_start: float = float("nan")
    failed_steps: list[str] = field(default_factory=list)
    evaluations: dict[CheckKey, dict[str, Any]] = field(default_factory=dict)
    run_status: str = ""
    load_before: tuple[float, ...] = ()
    load_after: tuple[float, ...] = ()

    @property
    def passed(self) -> int:
        return sum(1 for evaluation in self.evaluations.values() if evaluation["passed"])

    @property
    def failed(self) -> int:
        return len(self.evaluations) - self.passed

    def verdicts(self) -> dict[CheckKey, tuple[bool, str, str]]:
        """Per check: passed, severity, the rule verdict (pass / fail / warn / skipped)."""
        return {key: (e["passed"], e["severity"], e["verdict"]) for key, e in self.evaluations.items()}

    def observed(self) -> dict[CheckKey, Any]:
        """Per check: its observed figure as the Dagster UI shows it."""
        return {key: e["observed"] for key, e in self.evaluations.items()}


def check_step_names(module: str) -> set[str]:
    """The step (op) names of the asset checks of a layout's definitions."""
    import importlib

    defs = importlib.import_module(module).defs
    return {checks.node_def.name for checks in defs.asset_checks}


def _fresh_instance(directory: Path) -> tuple[Path, Path]:
    """A Dagster home (SQLite, no telemetry) holding partition ``1`` of the generations, and a data directory."""
    import dagster as dg

    home, data = directory / "dagster_home", directory / "data"
    home.mkdir(parents=True)
    data.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        instance.add_dynamic_partitions(f"{PIPELINE}_generations", [str(GENERATION)])
    finally:
        instance.dispose()
    return home, data


def _command(layout: str, executor: str) -> list[str]:
    module = LAYOUTS[layout]
    if executor == "multiprocess":
        return [sys.executable, "-m", "dagster", "job", "execute", "-m", module, "-a", "defs", "-d", str(ROOT),
                "-j", JOB, "--tags", json.dumps({"dagster/partition": str(GENERATION)})]
    return [sys.executable, str(Path(__file__).resolve()), "--in-process-worker", module]


def _run(command: list[str], env: dict[str, str], log: Path, timeout: float) -> tuple[float, int]:
    """Run ``command`` to its end (killed with its step processes after ``timeout``); wall seconds, exit code."""
    with open(log, "w") as output:
        started = time.perf_counter()
        # A session of its own, so that a run that hangs is killed with its step processes and fork server.
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            output.write(f"\nstill running after {timeout:.0f} s: killed\n")
            code = -9
        return time.perf_counter() - started, code


def _read_run(home: Path, measurement: Measurement, check_steps: set[str]) -> bool:
    """Fill ``measurement`` from the event log of the one run in ``home``; False when there is no run."""
    import dagster as dg

    events = dg.DagsterEventType
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        runs = instance.get_runs()
        if len(runs) != 1:
            return False
        measurement.run_status = runs[0].status.value
        started = ended = None
        steps: set[str] = set()
        asked: dict[str, float] = {}  # step -> when its process was asked for (multiprocess only)
        waits: list[float] = []
        for record in instance.all_logs(runs[0].run_id):
            event = record.dagster_event
            if event is None:
                continue
            if event.event_type == events.RUN_START:
                started = record.timestamp
            elif event.event_type in (events.RUN_SUCCESS, events.RUN_FAILURE):
                ended = record.timestamp
            elif event.event_type == events.STEP_WORKER_STARTING:
                asked[event.step_key] = record.timestamp
            elif event.event_type == events.STEP_START:
                steps.add(event.step_key)
                if event.step_key in asked:
                    waits.append(record.timestamp - asked[event.step_key])
            elif event.event_type == events.STEP_FAILURE:
                measurement.failed_steps.append(event.step_key)
            elif event.event_type == events.ASSET_CHECK_EVALUATION:
                evaluation = event.event_specific_data
                metadata = {name: getattr(value, "value", value) for name, value in evaluation.metadata.items()}
                key = (evaluation.asset_key.to_user_string(), evaluation.check_name)
                measurement.evaluations[key] = {
                    "passed": evaluation.passed, "severity": evaluation.severity.value,
                    "verdict": metadata.get("verdict"), "observed": metadata.get("observed")}
        if started is not None and ended is not None:
            measurement.run_seconds = ended - started
        measurement.steps = len(steps)
        measurement.check_steps = len(steps & check_steps)
        if waits:
            measurement.step_start = statistics.mean(waits)
        return True
    finally:
        instance.dispose()


def measure(layout: str, executor: str, check_steps: set[str], timeout: float) -> Measurement:
    """Run generation 1 with ``layout`` under ``executor`` in a fresh process, instance and data directory."""
    measurement = Measurement(layout, executor)
    with tempfile.TemporaryDirectory(prefix="check_steps_") as directory:
        home, data = _fresh_instance(Path(directory))
        env = {**os.environ, "DAGSTER_HOME": str(home), "SYNTH_PIPELINE_DATA_DIR": str(data),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        log = Path(directory) / "run.log"
        measurement.load_before = os.getloadavg()
        measurement.wall, code = _run(_command(layout, executor), env, log, timeout)
        measurement.load_after = os.getloadavg()
        # A blocked generation ends `dagster job execute` with exit code 1 (the event log says why); any other
        # failure to run is the benchmark's.
        if (code != 0 and executor == "in process") or code == -9 or not _read_run(home, measurement, check_steps):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            sys.exit(f"{layout}, {executor}: exit code {code}\n{tail}")
    return measurement


def in_process_worker(module: str) -> None:
    """Run generation 1 of the definitions of ``module`` in this process, as ``synth-pipeline run`` does."""
    import importlib

    import dagster as dg

    from synth_pipeline.runner import run_generations

    defs = importlib.import_module(module).defs
    instance = dg.DagsterInstance.get()
    try:
        for run in run_generations(defs, pipeline=PIPELINE, generations=[GENERATION], instance=instance):
            print(f"generation {run.generation}: success={run.success} in {run.seconds:.1f}s")
    finally:
        instance.dispose()


# --- the report ---


def _load(figures: tuple[float, ...]) -> str:
    return " ".join(f"{value:.1f}" for value in figures)


HEADER = (f"{'layout':10s} {'executor':12s} {'wall s':>7s} {'run s':>7s} {'steps':>5s} {'check steps':>11s} "
          f"{'start s':>7s} "
          f"{'checks':>6s} {'passed':>6s} {'failed':>6s} {'run':>7s}  load before / after (1 5 15 min)")


def _row(m: Measurement) -> str:
    start = "-" if m.step_start != m.step_start else f"{m.step_start:.2f}"  # NaN: no step processes
    return (f"{m.layout:10s} {m.executor:12s} {m.wall:7.1f} {m.run_seconds:7.1f} {m.steps:5d} {m.check_steps:11d} "
            f"{start:>7s} "
            f"{len(m.evaluations):6d} {m.passed:6d} {m.failed:6d} {m.run_status:>7s}  "
            f"{_load(m.load_before)} / {_load(m.load_after)}")


def _compare(measurements: list[Measurement]) -> list[str]:
    """Whether every run evaluated the same checks with the same verdicts (and observed figures)."""
    reference = measurements[0]
    lines = []
    same = all(m.verdicts() == reference.verdicts() for m in measurements)
    lines.append(f"same checks with the same verdicts in every run: {'yes' if same else 'NO'} "
                 f"({len(reference.evaluations)} checks; {reference.failed} failed)")
    for m in measurements:
        if m.verdicts() != reference.verdicts():
            ours, theirs = m.verdicts(), reference.verdicts()
            differ = sorted(key for key in set(ours) | set(theirs) if ours.get(key) != theirs.get(key))
            lines.append(f"  {m.layout}, {m.executor} differs from {reference.layout}, {reference.executor} on: "
                         + ", ".join(f"{asset}:{check} {ours.get((asset, check))} vs {theirs.get((asset, check))}"
                                     for asset, check in differ))
    differing = {key for m in measurements for key, value in m.observed().items()
                 if json.dumps(value) != json.dumps(reference.observed().get(key))}
    lines.append("same observed figures in every run: "
                 + ("yes" if not differing else f"no, {len(differing)} differ: "
                    + ", ".join(f"{asset}:{check}" for asset, check in sorted(differing))))
    failed = sorted(f"{asset}:{check} ({e['severity']})" for (asset, check), e in reference.evaluations.items()
                    if not e["passed"])
    if failed:
        lines.append(f"failed checks: {', '.join(failed)}")
    return lines


def report(repeat: int, executors: tuple[str, ...], timeout: float) -> None:
    print(f"generation {GENERATION} of the reference pipeline; {os.cpu_count()} cores, "
          f"python {sys.version.split()[0]}, load {_load(os.getloadavg())}", flush=True)
    check_steps = {layout: check_step_names(module) for layout, module in LAYOUTS.items()}
    print("check steps in the definitions: "
          + ", ".join(f"{layout} {len(names)}" for layout, names in check_steps.items()), flush=True)
    measurements: list[Measurement] = []
    print(f"\n{HEADER}", flush=True)
    for run in range(repeat):
        for executor in executors:
            # Alternate which layout goes first, so a change of load does not always favour one.
            layouts = list(LAYOUTS) if run % 2 == 0 else list(reversed(LAYOUTS))
            for layout in layouts:
                measurement = measure(layout, executor, check_steps[layout], timeout)
                measurements.append(measurement)
                print(_row(measurement), flush=True)
    print(f"\nmedian of {repeat} run{'s' if repeat > 1 else ''}")
    print(f"{'layout':10s} {'executor':12s} {'wall s':>7s} {'run s':>7s} {'steps':>5s} {'check steps':>11s}  "
          "run s, per asset / per check")
    for executor in executors:
        medians = {}
        for layout in LAYOUTS:
            runs = [m for m in measurements if m.layout == layout and m.executor == executor]
            medians[layout] = statistics.median(m.run_seconds for m in runs)
            ratio = f"{medians['per asset'] / medians['per check']:.2f}" if len(medians) == 2 else ""
            print(f"{layout:10s} {executor:12s} {statistics.median(m.wall for m in runs):7.1f} {medians[layout]:7.1f} "
                  f"{runs[0].steps:5d} {runs[0].check_steps:11d}  {ratio}")
    print()
    for line in _compare(measurements):
        print(line)
    for m in measurements:
        if m.failed_steps:
            print(f"{m.layout}, {m.executor}: run {m.run_status}, failed steps: {', '.join(sorted(m.failed_steps))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="how many times to run every configuration")
    parser.add_argument("--executor", choices=["both", "multiprocess", "in-process"], default="both",
                        help="which executors to measure (default: both)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one run may take (default: 1800)")
    parser.add_argument("--in-process-worker", metavar="MODULE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process_worker:
        in_process_worker(args.in_process_worker)
        return
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    executors = EXECUTORS if args.executor == "both" else (args.executor.replace("-", " "),)
    report(args.repeat, executors, args.timeout)


if __name__ == "__main__":
    main()
else:
    # Imported by name (benchmarks.check_steps) as the per-check code location: by the run worker, the fork
    # server and each step, and by the in-process worker. Built at import, as assets.definitions builds its
    # defs, so the fork server holds it and no step builds it again.
    defs = per_check_definitions()
