"""Scale-out: concurrent generation runs on a PostgreSQL-backed Dagster instance lose nothing.

Each run is an OS process of its own, ``dagster job execute``, the way a run worker runs on a
cluster: it loads the code location (tests/multiprocess_job.py), reads the instance settings
from $DAGSTER_HOME, which holds examples/cluster/dagster.yaml copied unchanged (credentials
from the DAGSTER_PG_* variables), and runs its steps with the multiprocess executor, each step
a process of its own writing to PostgreSQL and to the shared data directory. The runs share
nothing else, like run workers on different machines. Two pipelines run side by side, each
running generations 1 and 2 back to back (generation 2 reads generation 1 of its pipeline, so
one pipeline's generations cannot overlap), while this process syncs the lineage store after
every run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml
from postgres_server import PostgresServer, postgres_server  # noqa: F401 - postgres_server is a fixture

from lineage_helpers import journal_events
from synth_pipeline import DatasetStore
from synth_pipeline.lineage.store import LineageStore
from synth_pipeline.naming import PIPELINE_TAG

TESTS = Path(__file__).parent
CLUSTER = TESTS.parent / "examples" / "cluster"
GENERATIONS = (1, 2)
Event = dg.DagsterEventType
COUNTED = (Event.STEP_SUCCESS, Event.ASSET_MATERIALIZATION, Event.ASSET_CHECK_EVALUATION, Event.RUN_SUCCESS)
RUN_TIMEOUT = 600  # seconds for one run process; a run takes about 30-60 s on 2 busy cores

# Forkserver with these modules loaded starts each step process in well under a second.
RUN_CONFIG = {
    "execution": {"config": {"multiprocess": {
        "max_concurrent": 2,
        "start_method": {"forkserver": {"preload_modules": [
            "dagster", "dagster_postgres", "pandas", "pyarrow", "sklearn", "openlineage.client", "synth_pipeline",
            "multiprocess_job"]}},
    }}},
    "loggers": {"console": {"config": {"log_level": "WARNING"}}},
}


def _launch(name: str, generation: int, env: dict[str, str], config: Path, logs: Path) -> int:
    """One generation run of one pipeline, as a process of its own; its exit code."""
    log = logs / f"{name}_{generation}.log"
    with open(log, "w") as output:
        # A session of its own, so that a run that hangs is killed with its step processes.
        run = subprocess.Popen(
            [sys.executable, "-m", "dagster", "job", "execute", "-m", "multiprocess_job", "-a", "defs",
             "-d", str(TESTS), "-j", f"{name}_generation", "-c", str(config),
             "--tags", json.dumps({"dagster/partition": str(generation)})],
            cwd=TESTS, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            return run.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
            output.write(f"\nstill running after {RUN_TIMEOUT} s: killed\n")
            return -9


def _step_timings(records) -> list[tuple[float, float]]:
    """Per step of a run: seconds from asking for its process to its start, and from start to success."""
    times: dict[str, dict[dg.DagsterEventType, float]] = {}
    for record in records:
        if record.is_dagster_event and record.dagster_event.step_key:
            times.setdefault(record.dagster_event.step_key, {})[record.dagster_event.event_type] = record.timestamp
    return [(t[Event.STEP_START] - t[Event.STEP_WORKER_STARTING], t[Event.STEP_SUCCESS] - t[Event.STEP_START])
            for t in times.values() if {Event.STEP_WORKER_STARTING, Event.STEP_START, Event.STEP_SUCCESS} <= set(t)]


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.mark.slow
def test_concurrent_generations_on_postgres_lose_nothing(
    postgres_server: PostgresServer, tmp_path, monkeypatch, request  # noqa: F811 - the imported fixture
):
    from multiprocess_job import defs, pipelines

    home, data_dir, logs = tmp_path / "dagster_home", tmp_path / "data", tmp_path / "logs"
    home.mkdir()
    logs.mkdir()
    shutil.copy(CLUSTER / "dagster.yaml", home / "dagster.yaml")  # the documented file, as is
    database = postgres_server.create_database("scale_out")  # empty: every run and event in it is ours
    settings = {**database.env(), "DAGSTER_HOME": str(home), "SYNTH_PIPELINE_DATA_DIR": str(data_dir)}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    env = dict(os.environ)  # for the run processes
    config = tmp_path / "run_config.yaml"
    config.write_text(yaml.safe_dump(RUN_CONFIG))

    instance = dg.DagsterInstance.get()  # from $DAGSTER_HOME: PostgreSQL
    request.addfinalizer(instance.dispose)
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    # The documented queue limit names the tag every generation run carries.
    [limit] = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert limit["key"] == PIPELINE_TAG and limit["limit"] == 1
    names = [pipeline.name for pipeline in pipelines]
    jobs = {name: defs.resolve_job_def(f"{name}_generation") for name in names}
    assert all(job.tags[PIPELINE_TAG] == name for name, job in jobs.items())
    # This process creates the tables (a cluster runs `dagster instance migrate` once) and the
    # partitions, before the runs start, as `synth-pipeline run` adds each generation's first.
    for name in names:
        instance.add_dynamic_partitions(f"{name}_generations", [str(g) for g in GENERATIONS])

    exit_codes: dict[tuple[str, int], int] = {}
    sync_errors: list[BaseException] = []

    def backfill(name: str) -> None:
        """Generations 1, 2, ... of one pipeline back to back; the lineage store synced after each."""
        store = LineageStore(data_dir)
        for generation in GENERATIONS:
            exit_codes[name, generation] = _launch(name, generation, env, config, logs)
            try:
                store.sync()
            except BaseException as error:  # reported by the assertion below
                sync_errors.append(error)
            if exit_codes[name, generation] != 0:
                return

    started = time.perf_counter()
    threads = [threading.Thread(target=backfill, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started

    expected_runs = {(name, str(g)) for name in names for g in GENERATIONS}
    failed = {key: code for key, code in exit_codes.items() if code != 0}
    assert not failed, "\n\n".join(f"{key}: exit {code}\n{_tail(logs / f'{key[0]}_{key[1]}.log')}"
                                    for key, code in failed.items())
    assert sync_errors == []

    # Run storage (PostgreSQL): exactly the launched runs, every one a success.
    runs = instance.get_runs()
    by_key = {(run.tags[PIPELINE_TAG], run.tags["dagster/partition"]): run for run in runs}
    assert len(runs) == len(by_key) and set(by_key) == expected_runs
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}

    # Event log (PostgreSQL): every planned step succeeded, every asset materialized once with
    # its partition, every check evaluated once and passed.
    from dagster._core.execution.api import create_execution_plan

    store = DatasetStore(base_dir=str(data_dir))
    totals: Counter[dg.DagsterEventType] = Counter()
    materialized: dict[str, int] = {}  # Dagster run id -> materializations
    evaluated: dict[str, int] = {}  # Dagster run id -> check evaluations
    mix_rows: dict[tuple[str, int], int] = {}
    timings: list[tuple[float, float]] = []  # per step: seconds to start its process, seconds it ran
    for (name, partition), run in sorted(by_key.items()):
        job = jobs[name]
        planned_steps = set(create_execution_plan(job, tags={"dagster/partition": partition}).step_keys_to_execute)
        assets = set(job.asset_layer.selected_asset_keys)
        checks = set(job.asset_layer.asset_graph.asset_check_keys)
        partitioned = {key for key in assets if job.asset_layer.asset_graph.get(key).partitions_def is not None}
        events = [record.dagster_event for record in instance.all_logs(run.run_id) if record.is_dagster_event]
        types = Counter(event.event_type for event in events)
        totals.update(types)
        succeeded = [event.step_key for event in events if event.event_type == Event.STEP_SUCCESS]
        assert sorted(succeeded) == sorted(planned_steps), (name, partition)
        assert types[Event.STEP_FAILURE] == 0 and types[Event.RUN_SUCCESS] == 1
        materializations = [event.step_materialization_data.materialization for event in events
                            if event.event_type == Event.ASSET_MATERIALIZATION]
        assert Counter(m.asset_key for m in materializations) == Counter(assets)
        assert types[Event.ASSET_MATERIALIZATION_PLANNED] == len(assets)
        assert {m.asset_key: m.partition for m in materializations} == {
            key: partition if key in partitioned else None for key in assets}
        evaluations = [event.event_specific_data for event in events
                       if event.event_type == Event.ASSET_CHECK_EVALUATION]
        assert Counter(e.asset_check_key for e in evaluations) == Counter(checks)
        assert types[Event.ASSET_CHECK_EVALUATION_PLANNED] == len(checks)
        assert all(e.passed for e in evaluations)
        materialized[run.run_id], evaluated[run.run_id] = len(materializations), len(evaluations)
        # Every stored output is where the IO manager puts it, and readable.
        for m in materializations:
            path, value = store.path_of(m.asset_key, m.partition), store.read(m.asset_key, m.partition)
            if isinstance(value, pd.DataFrame):
                assert path.suffix == ".parquet" and len(pd.read_parquet(path)) == len(value) > 0, path
                if m.asset_key.path[-1] == "training_mix":
                    mix_rows[name, int(partition)] = len(value)
            else:
                assert path.suffix == ".pkl" and value is not None, path
        timings += _step_timings(instance.all_logs(run.run_id))
    # Partitions: one run per generation, every partitioned asset materialized for each.
    for name, job in jobs.items():
        assert instance.get_dynamic_partitions(f"{name}_generations") == [str(g) for g in GENERATIONS]
        for key in job.asset_layer.selected_asset_keys:
            if job.asset_layer.asset_graph.get(key).partitions_def is not None:
                assert instance.get_materialized_partitions(key) == {str(g) for g in GENERATIONS}, key
    assert sorted(mix_rows) == sorted((name, g) for name in names for g in GENERATIONS)

    # The same, counted in PostgreSQL's own tables.
    connection = database.connect()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT status, count(*) FROM runs GROUP BY status")
        assert dict(cursor.fetchall()) == {"SUCCESS": len(expected_runs)}
        cursor.execute("SELECT dagster_event_type, count(*) FROM event_logs WHERE dagster_event_type = ANY(%s) "
                       "GROUP BY 1", ([kind.value for kind in COUNTED],))
        in_tables = {Event(kind): count for kind, count in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM event_logs")
        [[event_rows]] = cursor.fetchall()
        cursor.execute("SELECT execution_status, count(*) FROM asset_check_executions GROUP BY 1")
        check_rows = dict(cursor.fetchall())
        cursor.execute("SELECT partitions_def_name, count(*) FROM dynamic_partitions GROUP BY 1")
        partition_rows = dict(cursor.fetchall())
    finally:
        connection.close()
    assert in_tables == {kind: totals[kind] for kind in COUNTED}
    assert check_rows == {"SUCCEEDED": totals[Event.ASSET_CHECK_EVALUATION]}
    assert partition_rows == {f"{name}_generations": len(GENERATIONS) for name in names}

    # Lineage: the store holds every journal event exactly once, each Dagster run's
    # materializations and check evaluations as OpenLineage runs, and each generation's mix.
    journal = journal_events(data_dir)
    lineage = LineageStore(data_dir)
    lineage.sync()
    with lineage.connect() as duck:
        stored = duck.execute("SELECT run_id, event_type FROM events").fetchall()
        completed = duck.execute(
            "SELECT dagster_run_id, job_type, count(*) FROM events WHERE event_type = 'COMPLETE' GROUP BY ALL"
        ).fetchall()
        # steps and checks; the Dagster runs' own OpenLineage runs (job type JOB) are ended by the runner or the
        # run-status sensors, and these runs were executed with neither (their START is counted below)
        states = dict(duck.execute("SELECT event_type, count(*) FROM events WHERE job_type IS DISTINCT FROM 'JOB' "
                                   "GROUP BY ALL").fetchall())
        job_starts = duck.execute("SELECT count(DISTINCT dagster_run_id) FROM events WHERE job_type = 'JOB' "
                                  "AND event_type = 'START'").fetchone()[0]
    assert Counter(map(tuple, stored)) == Counter((e["run"]["runId"], e["eventType"]) for e in journal)
    assert len(stored) == len(journal)
    assert states.get("FAIL", 0) == 0 and states["START"] == states["COMPLETE"]
    assert job_starts == len(runs)
    per_run = {(run_id, job_type): count for run_id, job_type, count in completed}
    assert {run_id for run_id, _ in per_run} == {run.run_id for run in runs}
    for run in runs:
        assert per_run[run.run_id, "ASSET"] == materialized[run.run_id]
        assert per_run[run.run_id, "ASSET_CHECK"] == evaluated[run.run_id]
    for name in names:
        composition = lineage.composition(name)
        assert composition["generation"].tolist() == list(GENERATIONS)
        for row in composition.itertuples():
            assert row.rows == mix_rows[name, row.generation]
            assert row.rows_real + row.rows_synthetic + row.rows_augmented + row.rows_unknown == row.rows

    print(f"\nscale-out: {len(runs)} runs of {len(names)} pipelines in {seconds:.0f} s; "
          f"{totals[Event.STEP_SUCCESS]} steps, {totals[Event.ASSET_MATERIALIZATION]} materializations, "
          f"{totals[Event.ASSET_CHECK_EVALUATION]} check evaluations, {event_rows} Dagster events in PostgreSQL; "
          f"{len(journal)} OpenLineage events in the journal and the store; a step process started in "
          f"{statistics.median(t[0] for t in timings):.1f} s and ran {statistics.median(t[1] for t in timings):.1f} s "
          f"(medians)")


# The cluster files: what can be checked without a cluster, a broker or a lineage server.

def _load_cluster_definitions(executor: str, monkeypatch) -> dg.Definitions:
    import importlib.util

    monkeypatch.setenv("SYNTH_PIPELINE_EXECUTOR", executor)
    monkeypatch.chdir(TESTS.parent)
    spec = importlib.util.spec_from_file_location(f"cluster_definitions_{executor}", CLUSTER / "definitions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.defs


def test_cluster_files_parse_and_agree():
    documents = {path.name: list(yaml.safe_load_all(path.read_text()))
                 for path in sorted(CLUSTER.iterdir()) if path.suffix in (".yaml", ".yml")}
    assert set(documents) >= {"dagster.yaml", "helm-values.yaml", "celery.yaml", "openlineage.yml",
                              "workspace.yaml", "data-pvc.yaml"}
    assert all(docs and all(isinstance(doc, dict) for doc in docs) for docs in documents.values())
    [instance], [helm], [pvc] = documents["dagster.yaml"], documents["helm-values.yaml"], documents["data-pvc.yaml"]
    # The Helm values configure what dagster.yaml configures, the same way.
    limits = helm["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert limits == instance["concurrency"]["runs"]["tag_concurrency_limits"]
    assert limits[0]["key"] == PIPELINE_TAG
    assert helm["postgresql"]["postgresqlScheme"] == instance["storage"]["postgres"]["postgres_db"]["scheme"]
    [deployment] = helm["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--python-file") + 1] == "examples/cluster/definitions.py"
    env = {item["name"]: item["value"] for item in deployment["env"]}
    assert env["SYNTH_PIPELINE_EXECUTOR"] == "k8s" and env["SYNTH_PIPELINE_DATA_DIR"].startswith("/data/")
    mounts = {mount["name"]: mount["mountPath"] for mount in deployment["volumeMounts"]}
    assert env["OPENLINEAGE_CONFIG"] == f"{mounts['openlineage']}/openlineage.yml"
    # The sensor hands each new file to the run as config, which must stay inside the data directory.
    data_dir = Path(env["SYNTH_PIPELINE_DATA_DIR"])
    assert Path(env["SYNTH_PIPELINE_WATCH_DIR"]).is_relative_to(data_dir) or any(
        Path(env["SYNTH_PIPELINE_WATCH_DIR"]).is_relative_to(allowed)
        for allowed in env.get("SYNTH_PIPELINE_INPUT_DIRS", "").split(os.pathsep) if allowed)
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in deployment["volumes"]
              if "persistentVolumeClaim" in v}
    assert claims == {"synth-pipeline-data": pvc["metadata"]["name"]} and mounts["synth-pipeline-data"] == "/data"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert helm["runLauncher"]["type"] == "K8sRunLauncher"
    # The Dockerfile copies what exists and pins the Dagster integrations this checkout tests with.
    from importlib.metadata import version

    dockerfile = (CLUSTER / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (TESTS.parent / source).exists(), line
    assert f'"dagster-postgres=={version("dagster-postgres")}"' in dockerfile
    assert dockerfile.count(f'=={version("dagster-postgres")}"') == 3  # dagster-k8s, -celery: one release line


def test_cluster_dagster_yaml_is_a_valid_postgres_instance_config(tmp_path, monkeypatch):
    """Without a server: the documented settings pass Dagster's instance config schema."""
    from dagster._core.instance.ref import InstanceRef

    shutil.copy(CLUSTER / "dagster.yaml", tmp_path / "dagster.yaml")
    for name, value in PostgresServer("db.example", 5433, "u", "p", "d", tmp_path, tmp_path).env().items():
        monkeypatch.setenv(name, value)
    ref = InstanceRef.from_dir(str(tmp_path))
    for data in (ref.run_storage_data, ref.event_storage_data, ref.schedule_storage_data):
        assert data.module_name == "dagster_postgres"
        assert yaml.safe_load(data.config_yaml)["postgres_db"]["hostname"] == {"env": "DAGSTER_PG_HOST"}
    from dagster_postgres.utils import pg_url_from_config

    config = yaml.safe_load(ref.run_storage_data.config_yaml)
    assert pg_url_from_config({"postgres_db": {k: (os.environ[v["env"]] if isinstance(v, dict) else v)
                                               for k, v in config["postgres_db"].items()}}) == (
        "postgresql+psycopg2://u:p@db.example:5433/d")
    assert ref.run_coordinator_data.class_name == "QueuedRunCoordinator"


def test_cluster_definitions_pick_the_executor(monkeypatch):
    defs = _load_cluster_definitions("multiprocess", monkeypatch)
    job = defs.resolve_job_def("breast_cancer_generation")
    assert job.executor_def.name == "multiprocess"
    import assets.definitions

    reference = assets.definitions.defs
    assert {str(k) for k in job.asset_layer.selected_asset_keys} == {
        str(k) for k in reference.resolve_job_def("breast_cancer_generation").asset_layer.selected_asset_keys}
    assert [s.name for s in defs.schedules] == [s.name for s in reference.schedules]
    assert [s.name for s in defs.sensors] == [s.name for s in reference.sensors]
    with pytest.raises(ValueError, match="SYNTH_PIPELINE_EXECUTOR='spark'"):
        _load_cluster_definitions("spark", monkeypatch)
    for executor, package in (("k8s", "dagster_k8s"), ("celery", "dagster_celery")):
        try:  # not dev dependencies: checked where installed (with the image's packages)
            __import__(package)
        except ImportError:
            continue
        defs = _load_cluster_definitions(executor, monkeypatch)
        assert defs.resolve_job_def("breast_cancer_generation").executor_def.name == executor


def test_cluster_openlineage_yml_sends_events_over_http(tmp_path, monkeypatch):
    """The documented transport, pointed at a local validating server, receives the journal's events."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import RunState
    from openlineage.client.transport.http import HttpTransport
    from openlineage.client.uuid import generate_new_uuid
    from test_lineage_transport import LineageServer

    from synth_pipeline.lineage import emitter
    from synth_pipeline.lineage.emitter import LineageEmitter
    from synth_pipeline.lineage.events import run_event
    from synth_pipeline.lineage.facets import DagsterRunFacet
    from synth_pipeline.lineage.layout import LineageLayout
    from synth_pipeline.lineage.recorder import output_stub

    documented = yaml.safe_load((CLUSTER / "openlineage.yml").read_text())
    assert isinstance(OpenLineageClient(config=documented).transport, HttpTransport)
    server = LineageServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        local = {**documented, "transport": {**documented["transport"],
                                             "url": f"http://127.0.0.1:{server.server_address[1]}"}}
        (tmp_path / "openlineage.yml").write_text(yaml.safe_dump(local))
        for name in [n for n in os.environ if n.startswith("OPENLINEAGE")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("OPENLINEAGE_CONFIG", str(tmp_path / "openlineage.yml"))
        emitter.configured_client.cache_clear()
        layout = LineageLayout.for_data_dir(tmp_path / "data")
        dagster_run, run_id = str(generate_new_uuid()), str(generate_new_uuid())
        journal = LineageEmitter(layout, layout.journal_file(dagster_run, "cluster__check", 0))
        facet = DagsterRunFacet(dagsterRunId=dagster_run, dagsterJob="cluster", stepKey="cluster__check",
                                assetKey="cluster/check")
        for state in (RunState.START, RunState.COMPLETE):
            journal.emit(run_event(state, run_id=run_id, job_name="cluster/check", job_type="ASSET",
                                   dagster=facet, outputs=[output_stub("cluster/check")]))
    finally:
        server.shutdown()
        emitter.configured_client.cache_clear()
    assert len(server.received) == 2 and server.problems == []
    assert server.paths == {"/" + documented["transport"]["endpoint"]}
    assert [e["eventType"] for e in journal_events(tmp_path / "data")] == ["START", "COMPLETE"]
