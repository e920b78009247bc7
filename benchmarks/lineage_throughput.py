"""Lineage store speed at scale, against bare DuckDB, side by side in one run.

Builds an event journal of ``--generations`` generation runs (default 10,000) laid out
as Dagster steps write it (one directory per Dagster run, one file per step), then:

1. Ingestion: ``LineageStore.rebuild()`` reads the whole journal into the store.
   Target: at least 20,000 events/s. Baseline: DuckDB's ``read_json`` of the same journal,
   gathered into one file, into one table of the same event columns (parsing only, no
   lineage tables; DuckDB reading the 100,000 small files directly takes far longer). Also reported: one sync after
   one more generation run (the everyday case) and a sync with nothing new.
2. Ancestry: ``LineageStore.ancestors()`` of the training mix of randomly drawn
   generations, whose ancestry runs back through every earlier generation. Target:
   p50 under 50 ms. Baseline: ``queries.ANCESTORS_SQL``, the recursive CTE the README
   documents, on the same tables and the same start versions (each capped at
   ``--cte-timeout`` seconds, since it needs one iteration per hop).

Each generation has ``--shards`` real arrival shards (split from the real train set),
a synthetic shard fitted on each, an augmented shard made from each, a training mix of
all of them plus vendor data and the previous generation's mix, a model and an
evaluation on the holdout, and four checks on the mix: ``6 * shards + 5`` edges per
generation, so 1,010,000 edges with the defaults. The events of one generation are built
with the plugin's own event builders and serialized as openlineage-python's file
transport does; each generation's run ids, versions, times and generation number are
then stamped into that template (building 1M events one by one would take minutes and
measure nothing about the store).

3. The first query in a new process: a new ``LineageStore`` in this process (the graph is
   loaded; modules, SciPy's included, already imported), and a new Python process
   (``python -c``: interpreter, imports and the query, timed apart).

Before/after: ``--compare-with REV`` also times another version of the plugin (a git
revision of this repository, e.g. the commit before a change) on the same journal, in the
same run: its ``rebuild()`` into a store of its own, its first query in a new store
object and in a new process, and its ancestry p50, printed beside this version's. The
load average (``os.getloadavg``) is printed with each measurement: on a shared machine the
figures move with it.

Usage: python benchmarks/lineage_throughput.py [--generations 10000] [--shards 16]
       [--queries 101] [--cte-queries 5] [--cte-timeout 60] [--workdir DIR] [--compare-with REV]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import scipy.sparse.csgraph  # noqa: F401  (imported by the first ancestry query; here, so it times the graph)
from openlineage.client.event_v2 import RunState
from openlineage.client.generated import schema_dataset
from openlineage.client.serde import Serde

from synth_pipeline.lineage import queries
from synth_pipeline.lineage.events import (
    PRODUCER,
    DatasetRef,
    assertion,
    input_dataset,
    output_dataset,
    run_event,
)
from synth_pipeline.lineage.facets import CheckRunFacet, DagsterRunFacet, Generator, ProvenanceDatasetFacet
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.lineage.recorder import output_stub
from synth_pipeline.lineage.store import LineageStore

PIPELINE = "bench"
JOB = f"{PIPELINE}_generation"
# Sentinels in the template, replaced per generation. The generation sentinel is an
# integer so that it stays a JSON number in the provenance facet.
GENERATION = 777000001
PREVIOUS = 777000000
DAGSTER_RUN = "77700000-0000-4000-8000-999999999999"
EVENT_TIME = "2099-01-01T00:00:00+00:00"
_RUN_SENTINEL = "77700000-0000-4000-8000-{:012d}"
COLUMNS = [("age", "int64"), ("workclass", "object"), ("education", "object"), ("hours", "int64"),
           ("capital_gain", "float64"), ("capital_loss", "float64"), ("occupation", "object"),
           ("race", "object"), ("sex", "object"), ("income", "object")]
CHECKS = ["synthetic_budget", "generation_budget", "recursion_depth", "unknown_budget"]


def _schema() -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=name, type=dtype, ordinal_position=index)
                for index, (name, dtype) in enumerate(COLUMNS, start=1)],
        producer=PRODUCER,
    )


class _TemplateBuilder:
    """The events of one generation run, with sentinels where per-generation values go."""

    def __init__(self, shards: int) -> None:
        self.shards = shards
        self.files: dict[str, list[str]] = {}  # step key -> serialized events
        self._runs = 0

    def version(self, stage: str, generation: int = GENERATION) -> str:
        return f"{stage}-g{generation}"

    def _emit(self, step: str, asset: str, inputs: list[DatasetRef], stage: str, relation: str, kind: str,
              rows: int, generator: Generator | None = None) -> None:
        run_id = _RUN_SENTINEL.format(self._runs)
        self._runs += 1
        dagster = DagsterRunFacet(dagsterRunId=DAGSTER_RUN, dagsterJob=JOB, stepKey=step,
                                  assetKey=f"{PIPELINE}/{stage}", partitionKey=str(GENERATION))
        name = f"{PIPELINE}/{asset}"
        provenance = ProvenanceDatasetFacet(
            pipeline=PIPELINE, stage=stage, relation=relation, kind=kind, generation=GENERATION, rows=rows,
            rowsByKind={kind: rows}, syntheticFraction=1.0 if kind == "synthetic" else 0.0,
            nonRealFraction=0.0 if kind == "real" else 1.0, maxDepth=1 if kind == "synthetic" else 0,
            generator=generator, producer=PRODUCER,
        )
        output = output_dataset(name, self.version(asset), provenance, size=rows * 80)
        output.facets["schema"] = _schema()
        common = {"run_id": run_id, "job_name": name, "job_type": "ASSET", "dagster": dagster,
                  "inputs": [input_dataset(ref) for ref in inputs], "event_time": EVENT_TIME}
        events = self.files.setdefault(step, [])
        events.append(Serde.to_json(run_event(RunState.START, outputs=[output_stub(name)], **common)))
        events.append(Serde.to_json(run_event(RunState.COMPLETE, outputs=[output], **common)))

    def _check(self, check: str, mix: DatasetRef) -> None:
        run_id = _RUN_SENTINEL.format(self._runs)
        self._runs += 1
        step = f"{PIPELINE}__training_mix_{check}"
        dagster = DagsterRunFacet(dagsterRunId=DAGSTER_RUN, dagsterJob=JOB, stepKey=step,
                                  assetKey=f"{PIPELINE}/training_mix", partitionKey=str(GENERATION),
                                  checkName=check)
        rule = assertion(check, f"{check} rule", passed=True, observed=0.2, threshold=0.3, bound="max")
        facet = CheckRunFacet(checkName=check, passed=True, severity="ERROR", blocking=True,
                              generation=GENERATION, rule=rule.assertion, observed=0.2, threshold=0.3,
                              description="all 1 rule(s) passed", producer=PRODUCER)
        common = {"run_id": run_id, "job_name": f"{PIPELINE}/training_mix:{check}", "job_type": "ASSET_CHECK",
                  "dagster": dagster, "event_time": EVENT_TIME}
        events = self.files.setdefault(step, [])
        events.append(Serde.to_json(run_event(RunState.START, inputs=[input_dataset(mix)], **common)))
        events.append(Serde.to_json(run_event(RunState.COMPLETE, inputs=[input_dataset(mix, [rule])],
                                              check=facet, **common)))

    def build(self) -> tuple[dict[str, str], int]:
        """Step key -> a ``str.format`` template of its journal file; and the number of runs."""
        ref = lambda asset, role="data", generation=GENERATION: DatasetRef(  # noqa: E731
            f"{PIPELINE}/{asset}", self.version(asset, generation), role)
        mix_inputs: list[DatasetRef] = []
        for shard in range(self.shards):
            arrivals, synthetic, augmented = f"arrivals_{shard}", f"synthetic_{shard}", f"augmented_{shard}"
            self._emit(f"{PIPELINE}__real_arrivals", arrivals, [ref("real_train", "source", 0)],
                       "real_arrivals", "split", "real", 500)
            self._emit(f"{PIPELINE}__synthetic", synthetic, [ref(arrivals, "fit")], "synthetic", "generate",
                       "synthetic", 500, Generator(name="sdv.gaussian_copula",
                                                   params={"default_distribution": "norm"},
                                                   fittedOn=f"{PIPELINE}/{arrivals}"))
            self._emit(f"{PIPELINE}__augmented", augmented, [ref(arrivals, "fit")], "augmented", "augment",
                       "augmented", 100, Generator(name="smote", params={"k_neighbors": 5}))
            mix_inputs += [ref(arrivals), ref(synthetic), ref(augmented)]
        mix_inputs += [ref("unknown_ingest", generation=0), ref("training_mix", "previous", PREVIOUS)]
        self._emit(f"{PIPELINE}__training_mix", "training_mix", mix_inputs, "training_mix", "mix", "mixed",
                   1100 * self.shards)
        self._emit(f"{PIPELINE}__model", "model", [ref("training_mix")], "model", "train", "derived", 1)
        self._emit(f"{PIPELINE}__evaluation", "evaluation", [ref("model", "model"), ref("real_holdout", "holdout", 0)],
                   "evaluation", "evaluate", "derived", 3)
        for check in CHECKS:
            self._check(check, ref("training_mix", "checked"))
        templates = {step: _to_format("\n".join(lines) + "\n", self._runs) for step, lines in self.files.items()}
        return templates, self._runs


def _to_format(text: str, runs: int) -> str:
    text = text.replace("{", "{{").replace("}", "}}")
    text = text.replace(str(GENERATION), "{g}").replace(str(PREVIOUS), "{p}")
    text = text.replace(DAGSTER_RUN, "{d}").replace(EVENT_TIME, "{t}")
    return re.sub(r"77700000-0000-4000-8000-(\d{12})", lambda m: "{r" + str(int(m.group(1))) + "}", text)


def write_journal(layout: LineageLayout, templates: dict[str, str], runs: int, generations: int) -> int:
    """Write the journal of ``generations`` generation runs; returns the number of events."""
    events_per_generation = sum(template.count("\n") for template in templates.values())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    for generation in range(1, generations + 1):
        write_generation(layout, templates, runs, generation, start)
        if generation % max(1, generations // 10) == 0:
            print(f"  journal: {generation:,}/{generations:,} generations "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    return events_per_generation * generations


def write_generation(layout: LineageLayout, templates: dict[str, str], runs: int, generation: int,
                     start: datetime) -> None:
    """Write one generation run's journal files."""
    dagster_run = f"{generation:08x}-0000-4000-8000-{0:012x}"
    values = {f"r{index}": f"{generation:08x}-0000-4000-8000-{index + 1:012x}" for index in range(runs)}
    values.update(g=generation, p=generation - 1, d=dagster_run,
                  t=(start + timedelta(minutes=generation)).isoformat())
    for step, template in templates.items():
        path = layout.journal_file(dagster_run, step, 1000)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values))


def bare_ingestion(layout: LineageLayout) -> tuple[float, int]:
    """Seconds for DuckDB alone to parse the journal (gathered into one file, as the store reads it)
    into a table with the store's event columns, and the events read."""
    from synth_pipeline.lineage.schema import EVENT_COLUMNS

    staging = layout.root / "bare.jsonl"
    started = time.perf_counter()
    with open(staging, "wb") as out:
        for path in layout.journal_files():
            out.write(path.read_bytes())
    with duckdb.connect() as bare:
        bare.execute(
            "CREATE TABLE raw AS SELECT * FROM read_json($file, format = 'newline_delimited', columns = $columns)",
            {"file": str(staging), "columns": EVENT_COLUMNS},
        )
        events = bare.execute("SELECT count(*) FROM raw").fetchall()[0][0]
    seconds = time.perf_counter() - started
    staging.unlink()
    return seconds, events


def _cpu() -> float:
    """CPU seconds this process has used (all its threads: DuckDB's too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    """The load averages over 1, 5 and 15 minutes."""
    return "load " + " ".join(f"{value:.2f}" for value in os.getloadavg())


# Run by another Python process, with the plugin version under test first on its path.
_COLD_QUERY = r"""
import sys, time
started = time.perf_counter()
from pathlib import Path
import scipy.sparse.csgraph  # the first query imports it anyway; timed with the other imports
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.lineage.store import LineageStore
imported = time.perf_counter()
LineageStore(layout=LineageLayout(root=Path(sys.argv[1]))).ancestors(sys.argv[2], version=sys.argv[3])
print(imported - started, time.perf_counter() - imported)
"""

_OTHER_VERSION = r"""
import json, os, sys, time
from pathlib import Path
import scipy.sparse.csgraph  # as in this process: the first query's time is the graph's, not imports'
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.lineage.store import LineageStore
import synth_pipeline
layout = LineageLayout(root=Path(sys.argv[1]))
targets = json.loads(sys.argv[2])
import resource
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
cpu_started = cpu()
report = LineageStore(layout=layout).rebuild()
rebuild_cpu = cpu() - cpu_started
started = time.perf_counter()
LineageStore(layout=layout).ancestors(targets[0][0], version=targets[0][1])
cold = time.perf_counter() - started
store = LineageStore(layout=layout)
times = []
for name, version in targets:
    started = time.perf_counter()
    store.ancestors(name, version=version)
    times.append(time.perf_counter() - started)
os.rename(sys.argv[3], layout.events_dir / Path(sys.argv[3]).name)  # one more generation run
one_more = store.sync()
nothing_new = store.sync()
print(json.dumps({"events": report.events, "seconds": report.seconds, "cpu": rebuild_cpu, "cold": cold, "times": times,
                  "one_more": [one_more.events, one_more.files, one_more.seconds], "nothing_new": nothing_new.seconds,
                  "plugin": synth_pipeline.__file__}))
"""


def cold_query(root: Path, target: tuple[str, str], python_path: Path) -> tuple[float, float, float]:
    """(process wall time, imports, first query) of one ancestry query in a new Python process."""
    started = time.perf_counter()
    # Run from the plugin's directory: ``python -c`` puts the working directory first on the path.
    output = subprocess.run([sys.executable, "-c", _COLD_QUERY, str(root), *target], check=True, cwd=python_path,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(python_path)}).stdout
    wall = time.perf_counter() - started
    # The last line: DuckDB may print a progress bar before it (a version that builds the graph slowly).
    imported, query = (float(value) for value in output.splitlines()[-1].split())
    return wall, imported, query


def other_version(revision: str, layout: LineageLayout, workdir: Path, targets: list[tuple[str, str]],
                  one_more: Callable[[LineageLayout], object]) -> dict:
    """Rebuild, first query (new store object and new process), ancestry times and syncs of
    the plugin at git ``revision``, on the same journal, in a store of its own (its journal
    directory links to this one's runs; ``one_more`` writes the run it syncs after the rebuild)."""
    repository = Path(__file__).resolve().parents[1]
    tree = workdir / f"plugin-{revision}"
    tree.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(repository), "archive", revision], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    root, extra = workdir / "lineage-other", LineageLayout(root=workdir / "lineage-extra")
    for directory in (root, extra.root):
        shutil.rmtree(directory, ignore_errors=True)
    (root / "events").mkdir(parents=True)
    with os.scandir(layout.events_dir) as runs:
        for run in runs:
            (root / "events" / run.name).symlink_to(run.path)
    one_more(extra)
    [extra_run] = extra.events_dir.iterdir()
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    print(f"  {revision}: rebuild ({_load()})", flush=True)
    output = subprocess.run([sys.executable, "-c", _OTHER_VERSION, str(root), json.dumps(targets), str(extra_run)],
                            check=True, cwd=tree, capture_output=True, text=True, env=environment).stdout
    measured = json.loads(output.splitlines()[-1])
    measured["load"] = _load()
    print(f"  {revision}: {measured['events']:,} events in {measured['seconds']:.1f} s ({measured['load']}), "
          f"plugin {measured['plugin']}", flush=True)
    measured["process"] = cold_query(root, targets[0], tree)
    for directory in (root, extra.root):
        shutil.rmtree(directory, ignore_errors=True)
    return measured


def _process_cell(measured: tuple[float, float, float]) -> str:
    wall, imported, query = measured
    return f"{wall * 1000:.0f} ms ({imported * 1000:.0f} ms; {query * 1000:.0f} ms)"


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def time_ancestry(store: LineageStore, targets: list[tuple[str, str]]) -> tuple[list[float], list[int]]:
    """Seconds and rows of ``store.ancestors`` for each (name, version)."""
    times, rows = [], []
    for name, version in targets:
        started = time.perf_counter()
        found = store.ancestors(name, version=version)
        times.append(time.perf_counter() - started)
        rows.append(len(found))
    return times, rows


def time_cte(store: LineageStore, targets: list[tuple[str, str]], timeout: float) -> list[tuple[float, int | None]]:
    """Seconds and rows of the recursive CTE for each (name, version); (inf, None) if stopped at ``timeout``."""
    measured = []
    with store.connect(sync=False) as connection:
        for name, version in targets:
            timer = threading.Timer(timeout, connection.interrupt)
            started = time.perf_counter()
            timer.start()
            try:
                rows = len(connection.execute(queries.ANCESTORS_SQL, {"name": name, "version": version}).fetchall())
                measured.append((time.perf_counter() - started, rows))
            except duckdb.InterruptException:
                measured.append((float("inf"), None))
            finally:
                timer.cancel()
            seconds = measured[-1][0]
            print(f"  CTE, {version}: " + (f"{seconds:.2f} s" if np.isfinite(seconds) else
                                            f"stopped after {timeout:.0f} s"), flush=True)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generations", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=16, help="real arrival shards per generation")
    parser.add_argument("--queries", type=int, default=101, help="ancestry queries timed")
    parser.add_argument("--cte-queries", type=int, default=5, help="of those, how many the CTE baseline runs")
    parser.add_argument("--cte-timeout", type=float, default=60.0, help="seconds before a CTE query is stopped")
    parser.add_argument("--workdir", type=Path, help="keep the journal and store here (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare-with", metavar="REV",
                        help="also time the plugin at this git revision (e.g. the commit before a change)")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lineage-bench-"))
    if (workdir / "lineage").exists():
        shutil.rmtree(workdir / "lineage")
    layout = LineageLayout(root=workdir / "lineage")
    store = LineageStore(layout=layout)
    try:
        print(f"Writing the journal of {args.generations:,} generations ({args.shards} shards each) "
              f"under {layout.events_dir}", flush=True)
        templates, runs = _TemplateBuilder(args.shards).build()
        events = write_journal(layout, templates, runs, args.generations)
        edges_expected = (6 * args.shards + 5) * args.generations
        files = len(layout.journal_files())
        journal_bytes = sum(path.stat().st_size for path in layout.journal_files())
        print(f"  {events:,} events, {files:,} files, {journal_bytes / 1e9:.2f} GB; {edges_expected:,} edges expected",
              flush=True)

        rng = np.random.default_rng(args.seed)
        mixes = [(f"{PIPELINE}/training_mix", f"training_mix-g{generation}")
                 for generation in rng.integers(1, args.generations + 1, size=args.queries)]
        other = None
        if args.compare_with:
            # First, so that this version does not find the journal warmer in the page cache.
            print(f"Version {args.compare_with}", flush=True)
            other = other_version(
                args.compare_with, layout, workdir, [(str(name), str(version)) for name, version in mixes],
                lambda extra: write_generation(extra, templates, runs, args.generations + 1,
                                               datetime(2026, 1, 1, tzinfo=UTC)))
        print(f"Ingestion ({_load()})", flush=True)
        cpu_started = _cpu()
        report = store.rebuild()
        rebuild_cpu = _cpu() - cpu_started
        ingest_load = _load()
        print(f"  rebuild: {report.seconds:.1f} s ({ingest_load})", flush=True)
        with store.connect(sync=False) as connection:
            stored_events, edges, versions = connection.execute(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM edges), "
                "(SELECT count(*) FROM dataset_versions)").fetchall()[0]
            generations_stored = connection.execute(
                "SELECT count(DISTINCT generation) FROM generations").fetchall()[0][0]
        assert stored_events == events, (stored_events, events)
        assert edges == edges_expected, (edges, edges_expected)

        write_generation(layout, templates, runs, args.generations + 1, datetime(2026, 1, 1, tzinfo=UTC))
        one_more = store.sync()
        nothing_new = store.sync()

        print(f"Ancestry ({_load()})", flush=True)
        cold_started = time.perf_counter()
        LineageStore(layout=layout).ancestors(*mixes[0][:1], version=mixes[0][1])
        cold = time.perf_counter() - cold_started
        process = cold_query(layout.root, mixes[0], Path(__file__).resolve().parents[1])
        with store.connect(sync=False) as connection:
            produced = connection.execute(
                "SELECT name, version FROM dataset_versions WHERE stage IS NOT NULL ORDER BY node_id").fetchall()
        anything = [produced[index] for index in rng.integers(0, len(produced), size=args.queries)]
        results = {label: time_ancestry(store, targets) for label, targets in
                   (("training mix of a random generation", mixes), ("any dataset version", anything))}
        query_load = _load()
        cte = time_cte(store, mixes[: args.cte_queries], args.cte_timeout)
        for (_, rows), api_rows in zip(cte, results["training mix of a random generation"][1], strict=False):
            assert rows in (None, api_rows), (rows, api_rows)
        print(f"Bare DuckDB ({_load()})", flush=True)
        bare_seconds, raw = bare_ingestion(layout)
        assert raw == events + one_more.events, (raw, events, one_more.events)  # read after one more run
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"Store: {stored_events:,} events, {edges:,} edges, {versions:,} dataset versions, "
          f"{generations_stored:,} generations ({files:,} journal files, {journal_bytes / 1e9:.2f} GB)")
    print()
    print("| ingestion | synth-pipeline | bare DuckDB read_json (gather + parse only) |")
    print("| --- | --- | --- |")
    print(f"| whole journal | {report.seconds:.1f} s, {events / report.seconds:,.0f} events/s "
          f"(target >= 20,000; {rebuild_cpu:.1f} s CPU; {ingest_load}) | {bare_seconds:.1f} s, "
          f"{raw / bare_seconds:,.0f} events/s |")
    print(f"| one more generation run ({one_more.events} events, {one_more.files} files) | "
          f"{one_more.seconds * 1000:.0f} ms | |")
    print(f"| sync with nothing new | {nothing_new.seconds * 1000:.0f} ms | |")
    print()
    print("| ancestry query | synth-pipeline (`LineageStore.ancestors`, SciPy BFS) | "
          "bare DuckDB recursive CTE (`ANCESTORS_SQL`) |")
    print("| --- | --- | --- |")
    for label, (times, rows) in results.items():
        print(f"| {label}: p50 of {len(times)} (rows returned: median {statistics.median(rows):,.0f}, "
              f"max {max(rows):,}) | {_median_ms(times):.1f} ms (target < 50 ms); p90 "
              f"{np.percentile(times, 90) * 1000:.1f} ms | |")
    if cte:
        mix_times = results["training mix of a random generation"][0][: len(cte)]
        cte_seconds = [seconds for seconds, _ in cte]
        cte_p50 = statistics.median(cte_seconds)
        shown = f"{cte_p50 * 1000:,.0f} ms" if np.isfinite(cte_p50) else f"> {args.cte_timeout:.0f} s (stopped)"
        each = ", ".join(f"{t:.1f} s" if np.isfinite(t) else "stopped" for t in cte_seconds)
        print(f"| training mix, the first {len(cte)} of the same queries: p50 | {_median_ms(mix_times):.1f} ms | "
              f"{shown}; each: {each} |")
    print(f"| first query in a new `LineageStore` (loads the graph; {query_load}) | {cold * 1000:.0f} ms "
          f"(target < 500 ms) | |")
    print(f"| first query in a new Python process: whole process (imports; query) | {_process_cell(process)} | |")
    if other is not None:
        mix_p50 = _median_ms(results["training mix of a random generation"][0])
        print()
        print(f"| before / after | {args.compare_with} | this version |")
        print("| --- | --- | --- |")
        print(f"| ingest the whole journal (`rebuild`) | {other['seconds']:.1f} s, "
              f"{other['events'] / other['seconds']:,.0f} events/s ({other['cpu']:.1f} s CPU; {other['load']}) | "
              f"{report.seconds:.1f} s, {events / report.seconds:,.0f} events/s ({rebuild_cpu:.1f} s CPU; "
              f"{ingest_load}) |")
        other_events, other_files, other_seconds = other["one_more"]
        print(f"| sync after one more generation run ({one_more.events} events) | {other_seconds * 1000:.0f} ms "
              f"({other_events} events, {other_files} files) | {one_more.seconds * 1000:.0f} ms |")
        print(f"| sync with nothing new | {other['nothing_new'] * 1000:.0f} ms | {nothing_new.seconds * 1000:.0f} ms |")
        print(f"| first query in a new `LineageStore` | {other['cold'] * 1000:.0f} ms | {cold * 1000:.0f} ms |")
        print(f"| first query in a new Python process (imports; query) | {_process_cell(other['process'])} | "
              f"{_process_cell(process)} |")
        print(f"| ancestors of a random generation's training mix, p50 of {len(other['times'])} | "
              f"{_median_ms(other['times']):.1f} ms | {mix_p50:.1f} ms |")


if __name__ == "__main__":
    main()
