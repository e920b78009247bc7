"""A real Dagster webserver for the UI tests: started, queried over GraphQL, stopped; headless Chromium.

Used by ``test_ui_e2e.py``. Nothing here is mocked: the webserver loads ``workspace.yaml``
from the project root exactly as ``make ui`` does, on a temporary ``DAGSTER_HOME``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from dagster_graphql import DagsterGraphQLClient

from conftest import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS_DIR = PROJECT_ROOT / "test-artifacts"
TERMINAL_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})

# The webserver launches runs itself (DefaultRunCoordinator) instead of queueing them for
# the daemon (Dagster's default QueuedRunCoordinator, which `dagster dev` pairs with a
# daemon). One process tree less on a shared 2-core machine, no dependence on the
# daemon's queue polling, and the schedules/sensors of the code location stay untouched.
INSTANCE_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""

RUN_EVENTS_QUERY = """
query RunEvents($runId: ID!, $cursor: String) {
  logsForRun(runId: $runId, afterCursor: $cursor, limit: 500) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on MessageEvent { message }
        ... on StepEvent { stepKey }
        ... on MaterializationEvent { assetKey { path } partition }
        ... on ObservationEvent { assetKey { path } partition }
        ... on ExecutionStepFailureEvent { error { message } }
        ... on RunFailureEvent { runError: error { message } }
        ... on AssetCheckEvaluationEvent {
          evaluation {
            checkName
            assetKey { path }
            success
            severity
            partition
            metadataEntries {
              label
              ... on IntMetadataEntry { intValue }
              ... on FloatMetadataEntry { floatValue }
              ... on TextMetadataEntry { text }
            }
          }
        }
      }
    }
    ... on PythonError { message }
    ... on RunNotFoundError { message }
  }
}
"""


class GraphQLError(AssertionError):
    """A GraphQL request that returned errors or an error type."""


class ServerExited(RuntimeError):
    """The webserver process ended before it was ready."""


class DagsterWebserver:
    """``dagster-webserver -w workspace.yaml`` on 127.0.0.1, in its own process group.

    Args:
        dagster_home: A fresh directory for the Dagster instance; ``dagster.yaml`` is written there.
        data_dir: The pipeline's data directory (``SYNTH_PIPELINE_DATA_DIR``).
        log_path: Where the server's stdout and stderr go.
    """

    def __init__(self, dagster_home: Path, data_dir: Path, log_path: Path) -> None:
        self.dagster_home = dagster_home
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180.0, attempts: int = 3) -> None:
        """Start the server and wait until it serves the code location (loaded without errors).

        The port is free when chosen but only bound once the code location has loaded, so
        another process may take it meanwhile: then the server is started again on a new port.
        """
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        (self.dagster_home / "dagster.yaml").write_text(INSTANCE_YAML)
        for attempt in range(1, attempts + 1):
            self._spawn()
            try:
                self._wait_until_ready(timeout)
                return
            except ServerExited:
                if attempt == attempts or "address already in use" not in self.log_tail():
                    raise
                self.stop()
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"

    def _spawn(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "OPENLINEAGE_URL"}  # lineage stays in data_dir
        env.update(
            DAGSTER_HOME=str(self.dagster_home),
            SYNTH_PIPELINE_DATA_DIR=str(self.data_dir),
            SYNTH_PIPELINE_WATCH_DIR=str(self.data_dir / "incoming"),
        )
        webserver = shutil.which("dagster-webserver", path=Path(sys.executable).parent) or "dagster-webserver"
        command = [webserver, "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)]
        with self.log_path.open("wb") as log:
            # A new session makes the server, its code server and its run workers one process group.
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_problem = "no answer yet"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerExited(f"dagster-webserver exited with code {self.process.returncode}\n{self.log_tail()}")
            try:
                requests.get(f"{self.url}/server_info", timeout=5).raise_for_status()
                last_problem = self._location_problem()
                if not last_problem:
                    return
            except requests.RequestException as error:
                last_problem = repr(error)
            time.sleep(0.5)
        raise TimeoutError(
            f"dagster-webserver on {self.url} not ready after {timeout:.0f} s ({last_problem})\n{self.log_tail()}"
        )

    def _location_problem(self) -> str:
        """Empty when every code location is loaded; why not otherwise (a load error raises)."""
        data = self.graphql(
            """{ workspaceOrError { __typename ... on Workspace { locationEntries {
                 name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
        )
        entries = data["workspaceOrError"].get("locationEntries") or []
        for entry in entries:
            error = entry["locationOrLoadError"] or {}
            if error.get("__typename") == "PythonError":
                raise RuntimeError(f"code location {entry['name']} failed to load: {error['message']}")
        if not entries or any(entry["loadStatus"] != "LOADED" or not entry["locationOrLoadError"] for entry in entries):
            return f"code locations loading: {entries}"
        return ""

    def stop(self) -> None:
        """Terminate the whole process group: webserver, code server and any run worker."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            pass
        try:  # whatever outlived the webserver's own shutdown
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def log_tail(self, chars: int = 8000) -> str:
        """The end of the server's output, for error messages."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- dagster-webserver output ({self.log_path}) ---\n{text[-chars:]}"

    def client(self) -> DagsterGraphQLClient:
        """Dagster's official Python GraphQL client for this server."""
        return DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=60)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a query to /graphql; its ``data``, or :class:`GraphQLError` on errors."""
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        response.raise_for_status()
        payload = response.json()
        if payload.get("errors"):
            raise GraphQLError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def repository_of_job(self, job_name: str) -> dict[str, str]:
        """The ``RepositorySelector`` (location and repository name) that holds ``job_name``."""
        data = self.graphql(
            "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } jobs { name } } } } }"
        )
        for repository in data["repositoriesOrError"]["nodes"]:
            if any(job["name"] == job_name for job in repository["jobs"]):
                return {"repositoryLocationName": repository["location"]["name"], "repositoryName": repository["name"]}
        raise GraphQLError(f"no repository has a job {job_name!r}: {data}")

    def add_dynamic_partition(self, repository: dict[str, str], partitions_def: str, key: str) -> None:
        """Add ``key`` to a dynamic partitions definition, as the UI's "Add partition" does."""
        data = self.graphql(
            """mutation Add($repository: RepositorySelector!, $name: String!, $key: String!) {
                 addDynamicPartition(repositorySelector: $repository, partitionsDefName: $name, partitionKey: $key) {
                   __typename ... on AddDynamicPartitionSuccess { partitionKey } ... on Error { message } } }""",
            {"repository": repository, "name": partitions_def, "key": key},
        )
        result = data["addDynamicPartition"]
        if result["__typename"] != "AddDynamicPartitionSuccess":
            raise GraphQLError(f"addDynamicPartition({partitions_def}, {key}): {result}")

    def wait_for_run(self, run_id: str, timeout: float = 600.0) -> str:
        """Poll the run's status with the official client until it ends; the final status."""
        client = self.client()
        deadline = time.monotonic() + timeout
        status = "not started"
        while time.monotonic() < deadline:
            status = client.get_run_status(run_id).value
            if status in TERMINAL_RUN_STATUSES:
                return status
            time.sleep(1.0)
        raise TimeoutError(f"run {run_id} still {status} after {timeout:.0f} s\n{self.log_tail()}")

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        """Every event of a run's event log, paging through ``logsForRun``."""
        events: list[dict[str, Any]] = []
        cursor = None
        while True:
            result = self.graphql(RUN_EVENTS_QUERY, {"runId": run_id, "cursor": cursor})["logsForRun"]
            if result["__typename"] != "EventConnection":
                raise GraphQLError(f"logsForRun({run_id}): {result}")
            events += result["events"]
            cursor = result["cursor"]
            if not result["hasMore"]:
                return events

    def set_nux_seen(self) -> None:
        """Dismiss the first-visit "Join the Dagster community" dialog (what its Skip button does)."""
        self.graphql("mutation { setNuxSeen }")


def run_failure_summary(events: list[dict[str, Any]]) -> str:
    """The failure messages of a run's events, for assertion messages."""
    lines = []
    for event in events:
        error = event.get("error") or event.get("runError")
        if error:
            lines.append(f"{event['__typename']} {event.get('stepKey') or ''}: {error['message']}")
    return "\n".join(lines) or "(no failure events)"


def chromium_paths() -> tuple[str, str] | None:
    """Debian's Chromium and ChromeDriver executables, or None when either is missing."""
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    return (chromium, driver) if chromium and driver else None


@contextmanager
def headless_chromium(chromium: str, chromedriver: str, profile_dir: Path) -> Iterator[Any]:
    """A Selenium driver for a headless Chromium with a fresh profile, quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--window-size=1920,1080", f"--user-data-dir={profile_dir}",
        # Without these Chromium keeps opening connections that a closed network refuses.
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()
