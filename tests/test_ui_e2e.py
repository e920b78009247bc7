"""The Dagster UI as a user uses it: a real webserver, a run launched over GraphQL, a browser.

One webserver (``dagster-webserver -w workspace.yaml`` on 127.0.0.1, a free port) serves the
reference code location on a temporary ``DAGSTER_HOME``. Generation 1 is launched through
Dagster's official Python GraphQL client and its check results are read back over GraphQL;
a headless Chromium then opens the asset group's lineage graph and must show every stage
with the check results of that run, and the evaluation's page must render its key plot.
The screenshots are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import ARTIFACTS_DIR, DagsterWebserver, chromium_paths, headless_chromium, run_failure_summary

from assets.pipeline import reference_pipeline
from synth_pipeline.naming import Stage

pytestmark = pytest.mark.slow

PIPELINE = reference_pipeline
GENERATION = "1"
POLICY_CHECKS = {
    Stage.REAL_HOLDOUT: {"holdout_purity"},
    Stage.TRAINING_MIX: {"holdout_isolation", "synthetic_budget", "generation_budget", "recursion_depth",
                         "unknown_budget"},
    Stage.EVALUATION: {"evaluation_on_real"},
}
SCREENSHOT = ARTIFACTS_DIR / "ui-asset-graph.png"
PAGE_SOURCE = ARTIFACTS_DIR / "ui-asset-graph.html"
PLOT_SCREENSHOT = ARTIFACTS_DIR / "ui-evaluation-plot.png"

ASSET_NODES_QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    isPartitioned
    repository { name location { name } }
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
  }
}
"""


@dataclass(frozen=True)
class LaunchedRun:
    """A generation run launched over GraphQL, and its event log as GraphQL returns it."""

    run_id: str
    status: str
    events: list[dict[str, Any]]

    def evaluations(self) -> list[dict[str, Any]]:
        """The run's asset check evaluations."""
        return [e["evaluation"] for e in self.events if e["__typename"] == "AssetCheckEvaluationEvent"]

    def materializations(self) -> dict[str, str | None]:
        """Asset name -> partition of each materialization in the run."""
        return {
            e["assetKey"]["path"][-1]: e["partition"] for e in self.events if e["__typename"] == "MaterializationEvent"
        }


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterWebserver]:
    """The Dagster webserver on the project's workspace.yaml, stopped (process group) afterwards."""
    base = tmp_path_factory.mktemp("dagster_ui")
    server = DagsterWebserver(
        dagster_home=base / "dagster_home", data_dir=base / "data", log_path=base / "webserver.log"
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def asset_nodes(webserver: DagsterWebserver) -> dict[str, dict[str, Any]]:
    """The reference pipeline's asset nodes as the webserver describes them, by stage name."""
    nodes = webserver.graphql(ASSET_NODES_QUERY)["assetNodes"]
    return {node["assetKey"]["path"][-1]: node for node in nodes if node["groupName"] == PIPELINE.name}


def _launch_generation(webserver: DagsterWebserver, generation: str, policy: dict[str, Any] | None = None
                       ) -> LaunchedRun:
    """A generation of the reference job (under ``policy``, if given), launched and awaited over GraphQL."""
    repository = webserver.repository_of_job(PIPELINE.job.name)
    webserver.add_dynamic_partition(repository, PIPELINE.generations.name, generation)
    # In-process execution: one import of the code location instead of one per step
    # (the multiprocess default), several times faster on a small machine and not
    # exposed to source files changing between steps in a shared checkout.
    run_config: dict[str, Any] = {"execution": {"config": {"in_process": {}}}}
    if policy is not None:
        run_config["resources"] = {f"{PIPELINE.name}_policy": {"config": policy}}
    run_id = webserver.client().submit_job_execution(
        PIPELINE.job.name,
        repository_location_name=repository["repositoryLocationName"],
        repository_name=repository["repositoryName"],
        tags={"dagster/partition": generation},
        run_config=run_config,
    )
    status = webserver.wait_for_run(run_id)
    return LaunchedRun(run_id=run_id, status=status, events=webserver.run_events(run_id))


@pytest.fixture(scope="module")
def generation_run(webserver: DagsterWebserver) -> LaunchedRun:
    """Generation 1 of the reference job, launched and awaited through the GraphQL API."""
    return _launch_generation(webserver, GENERATION)


def _metadata(evaluation: dict[str, Any]) -> dict[str, Any]:
    """An evaluation's metadata entries as label -> value (int, float or text entries)."""
    values = {}
    for entry in evaluation["metadataEntries"]:
        values[entry["label"]] = next(
            (entry[field] for field in ("intValue", "floatValue", "text") if field in entry), None
        )
    return values


def _check_executions(webserver: DagsterWebserver, checks: list[tuple[str, str]]) -> dict[tuple[str, str], list]:
    """Each check's recorded executions (assetCheckExecutions), all checks in one aliased query."""
    fields = [
        f'c{i}: assetCheckExecutions(assetKey: {{path: ["{PIPELINE.name}", "{stage}"]}}, checkName: "{name}", '
        f"limit: 10) {{ runId status evaluation {{ success }} }}"
        for i, (stage, name) in enumerate(checks)
    ]
    data = webserver.graphql("{ " + "\n".join(fields) + " }")
    return {check: data[f"c{i}"] for i, check in enumerate(checks)}


def test_graphql_run_reports_the_asset_check_results(
    webserver: DagsterWebserver, asset_nodes: dict[str, dict[str, Any]], generation_run: LaunchedRun
) -> None:
    """A run launched with the GraphQL client succeeds and every declared check reports back over GraphQL."""
    assert generation_run.status == "SUCCESS", (
        f"run {generation_run.run_id} ended {generation_run.status}:\n"
        f"{run_failure_summary(generation_run.events)}\n{webserver.log_tail()}"
    )
    assert set(asset_nodes) == {str(stage) for stage in PIPELINE.stages}

    # Every stage was materialized by the run, the per-generation ones for partition "1".
    assert generation_run.materializations() == {
        name: GENERATION if node["isPartitioned"] else None for name, node in asset_nodes.items()
    }

    # Every check the webserver declares was evaluated exactly once in the run, and nothing else.
    declared = {(name, check["name"]) for name, node in asset_nodes.items()
                for check in node["assetChecksOrError"]["checks"]}
    evaluations = generation_run.evaluations()
    evaluated = Counter((e["assetKey"]["path"][-1], e["checkName"]) for e in evaluations)
    assert set(evaluated) == declared
    assert max(evaluated.values()) == 1
    by_check = {(e["assetKey"]["path"][-1], e["checkName"]): e for e in evaluations}

    # The policy checks: blocking, passed, with the rule's metadata for this generation.
    blocking = {(name, check["name"]) for name, node in asset_nodes.items()
                for check in node["assetChecksOrError"]["checks"] if check["blocking"]}
    for stage, names in POLICY_CHECKS.items():
        for name in names:
            evaluation = by_check[(stage, name)]
            metadata = _metadata(evaluation)
            assert (stage, name) in blocking
            assert evaluation["success"], f"{stage}/{name} failed: {metadata}"
            assert evaluation["severity"] == "ERROR"
            assert {"observed", "threshold", "rule"} <= set(metadata), f"{stage}/{name}: {sorted(metadata)}"
            assert metadata["generation"] == (int(GENERATION) if asset_nodes[stage]["isPartitioned"] else 0)

    # Provenance is deterministic: valid on every stage. ERROR-severity results all passed
    # (the run succeeded); quality checks of WARN severity may fail without stopping it.
    invalid = [name for (name, check), e in by_check.items() if check == "provenance_valid" and not e["success"]]
    assert invalid == []
    failed_errors = [key for key, e in by_check.items() if e["severity"] == "ERROR" and not e["success"]]
    assert failed_errors == []

    # The check execution records agree with the event log: one execution per check from
    # this run (a fresh instance has no others), its status matching the evaluation.
    executions = _check_executions(webserver, sorted(declared))
    assert sum(len(records) for records in executions.values()) == len(evaluations)
    for check, records in executions.items():
        assert len(records) == 1, (check, records)
        record = records[0]
        assert record["runId"] == generation_run.run_id
        assert record["evaluation"]["success"] == by_check[check]["success"]
        assert record["status"] == ("SUCCEEDED" if by_check[check]["success"] else "FAILED"), (check, record)


def _graph_nodes(driver: Any) -> dict[str, str]:
    """Stage name -> text of each asset node drawn in the lineage graph."""
    texts = driver.execute_script(
        "return Array.from(document.querySelectorAll('svg foreignObject > div'), node => node.innerText)"
    )
    return {text.split("\n", 1)[0].strip(): text for text in texts if text and text.strip()}


def _graph_problems(driver: Any, expected_checks: dict[str, tuple[int, int] | None]) -> list[str]:
    """What the graph does not show yet: missing stages, or check counts other than the run's."""
    nodes = _graph_nodes(driver)
    problems = []
    for name, counts in expected_checks.items():
        if name not in nodes:
            problems.append(f"{name}: no node")
        elif counts is not None:
            shown = re.search(r"Asset checks\s+(\d+) / (\d+) Passed", nodes[name])
            if not shown or (int(shown[1]), int(shown[2])) != counts:
                problems.append(f"{name}: expected '{counts[0]} / {counts[1]} Passed' in {nodes[name]!r}")
    return problems


def test_asset_graph_page_shows_the_stages(
    webserver: DagsterWebserver,
    asset_nodes: dict[str, dict[str, Any]],
    generation_run: LaunchedRun,
    tmp_path: Path,
) -> None:
    """Headless Chromium opens the asset group's lineage graph: every stage, with the run's check results."""
    paths = chromium_paths()
    if paths is None:
        pytest.skip("Chromium or ChromeDriver not installed (Debian: apt-get install chromium chromium-driver)")
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    assert generation_run.status == "SUCCESS", run_failure_summary(generation_run.events)
    # Per stage: (passed, evaluated) checks in the run, as the node's "Asset checks" row counts them.
    expected_checks: dict[str, tuple[int, int] | None] = {name: None for name in asset_nodes}
    for evaluation in generation_run.evaluations():
        name = evaluation["assetKey"]["path"][-1]
        passed, total = expected_checks[name] or (0, 0)
        expected_checks[name] = (passed + evaluation["success"], total + 1)

    node = next(iter(asset_nodes.values()))
    repository = f"{node['repository']['name']}@{node['repository']['location']['name']}"
    page = f"{webserver.url}/locations/{repository}/asset-groups/{PIPELINE.name}"
    webserver.set_nux_seen()  # otherwise a "Join the Dagster community" dialog covers the graph
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    chromium, chromedriver = paths
    with headless_chromium(chromium, chromedriver, tmp_path / "chromium-profile") as driver:
        driver.get(page)
        try:
            WebDriverWait(driver, 90, poll_frequency=0.5).until(lambda d: not _graph_problems(d, expected_checks))
        except TimeoutException:
            problems = _graph_problems(driver, expected_checks)
            pytest.fail(f"{page} does not show the stages (screenshot: {SCREENSHOT}): {problems}")
        finally:
            driver.save_screenshot(str(SCREENSHOT))
            PAGE_SOURCE.write_text(driver.page_source)
            print(f"asset graph screenshot: {SCREENSHOT}")
        assert PIPELINE.name in driver.title


def test_evaluation_page_shows_the_key_plot(
    webserver: DagsterWebserver, generation_run: LaunchedRun, tmp_path: Path
) -> None:
    """The evaluation's materialization shows its ``report_plot`` metadata as a rendered PNG."""
    paths = chromium_paths()
    if paths is None:
        pytest.skip("Chromium or ChromeDriver not installed (Debian: apt-get install chromium chromium-driver)")
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    assert generation_run.status == "SUCCESS", run_failure_summary(generation_run.events)
    page = f"{webserver.url}/assets/{PIPELINE.name}/{Stage.EVALUATION.value}?view=events&partition={GENERATION}"
    webserver.set_nux_seen()
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    chromium, chromedriver = paths
    with headless_chromium(chromium, chromedriver, tmp_path / "chromium-profile") as driver:
        driver.get(page)
        try:
            # The metadata table shows markdown entries behind a "[Show Markdown]" link in the report_plot row.
            show = WebDriverWait(driver, 90, poll_frequency=0.5).until(lambda d: d.find_elements(
                By.XPATH, "//tr[td[normalize-space()='report_plot']]//*[normalize-space(text())='[Show Markdown]']"))
            show[0].click()
            images = WebDriverWait(driver, 30, poll_frequency=0.5).until(lambda d: d.execute_script(
                "return Array.from(document.images).filter(i => i.src.startsWith('data:image/png;base64,')"
                " && i.complete && i.naturalWidth > 0).map(i => [i.naturalWidth, i.naturalHeight])"))
        except TimeoutException:
            pytest.fail(f"{page} does not show the report plot (screenshot: {PLOT_SCREENSHOT})")
        finally:
            time.sleep(1)  # let the dialog finish fading in, for a readable screenshot
            driver.save_screenshot(str(PLOT_SCREENSHOT))
            print(f"evaluation plot screenshot: {PLOT_SCREENSHOT}")
    [(width, height)] = images
    assert width > 300 and height > 100  # a decoded plot, not a broken-image placeholder


AUTOMATION_QUERY = """
query ($repository: RepositorySelector!) {
  repositoryOrError(repositorySelector: $repository) {
    ... on Repository {
      schedules { name cronSchedule executionTimezone scheduleState { status } }
      sensors { name minIntervalSeconds sensorState { status } }
    }
  }
}
"""
SWITCH_MUTATIONS = {
    ("schedule", "start"): "mutation ($s: ScheduleSelector!) { startSchedule(scheduleSelector: $s) "
                           "{ ... on ScheduleStateResult { scheduleState { status } } } }",
    ("schedule", "reset"): "mutation ($s: ScheduleSelector!) { resetSchedule(scheduleSelector: $s) "
                           "{ ... on ScheduleStateResult { scheduleState { status } } } }",
    ("sensor", "start"): "mutation ($s: SensorSelector!) { startSensor(sensorSelector: $s) "
                         "{ ... on Sensor { sensorState { status } } } }",
    ("sensor", "reset"): "mutation ($s: SensorSelector!) { resetSensor(sensorSelector: $s) "
                         "{ ... on Sensor { sensorState { status } } } }",
}


def test_schedule_and_sensor_are_listed_stopped_and_switchable(webserver: DagsterWebserver) -> None:
    """The UI's Automation page data: both are there, stopped by default, and can be switched on and back off."""
    repository = webserver.repository_of_job(PIPELINE.job.name)

    def automation() -> dict[str, Any]:
        found = webserver.graphql(AUTOMATION_QUERY, {"repository": repository})["repositoryOrError"]
        return {item["name"]: item for item in [*found["schedules"], *found["sensors"]]}

    def status(item: dict[str, Any]) -> str:
        return (item.get("scheduleState") or item.get("sensorState"))["status"]

    listed = automation()
    schedule, sensor = f"{PIPELINE.name}_generation_schedule", f"{PIPELINE.name}_new_data_sensor"
    assert (listed[schedule]["cronSchedule"], listed[schedule]["executionTimezone"]) == ("0 3 * * *", "UTC")
    assert listed[sensor]["minIntervalSeconds"] == 30
    assert {name: status(listed[name]) for name in (schedule, sensor)} == {schedule: "STOPPED", sensor: "STOPPED"}
    for kind, name in (("schedule", schedule), ("sensor", sensor)):
        selector = {"repositoryLocationName": repository["repositoryLocationName"],
                    "repositoryName": repository["repositoryName"], f"{kind}Name": name}
        for action, expected in (("start", "RUNNING"), ("reset", "STOPPED")):
            [result] = webserver.graphql(SWITCH_MUTATIONS[kind, action], {"s": selector}).values()
            assert status(result) == expected, (kind, action, result)
            assert status(automation()[name]) == expected


# --- generation 2, blocked by synthetic's checks: what the UI says (issue 18) -----------------------------------------
# Limits generation 2's synthetic rows cannot meet: the fidelity quality bound below 1, the TSTR/TRTR bound below 5.
BLOCKING_POLICY = {"min_quality_score": 1.0, "min_tstr_trtr_ratio": 5.0}
BLOCKED_GENERATION = "2"
RUN_TAGS_QUERY = "query ($id: ID!) { runOrError(runId: $id) { ... on Run { status tags { key value } } } }"


@pytest.fixture(scope="module")
def blocked_run(webserver: DagsterWebserver, generation_run: LaunchedRun) -> LaunchedRun:
    """Generation 2 launched over GraphQL with limits its synthetic rows cannot meet (after generation 1)."""
    return _launch_generation(webserver, BLOCKED_GENERATION, BLOCKING_POLICY)


def test_a_blocked_generation_says_by_what_in_the_run_its_tags_and_the_partitions(
    webserver: DagsterWebserver, blocked_run: LaunchedRun
) -> None:
    """The run fails (CI and alerts rely on it) with the verdict: every blocking failure, observed vs limit, and
    what was not run; the run's tags and the partitions' metadata say the same."""
    assert blocked_run.status == "FAILURE", run_failure_summary(blocked_run.events)
    failed = sorted((e["assetKey"]["path"][-1], e["checkName"]) for e in blocked_run.evaluations()
                    if not e["success"] and e["severity"] == "ERROR")
    assert ("synthetic", "fidelity") in failed and ("synthetic", "utility") in failed, failed
    [run_failure] = [e for e in blocked_run.events if e["__typename"] == "RunFailureEvent"]
    message = run_failure["runError"]["message"] if run_failure.get("runError") else run_failure["message"]
    assert f"generation {BLOCKED_GENERATION} blocked by " in message, message
    assert re.search(r"observed [\d.]+ \(95 % upper bound [\d.]+\) < limit (1|5)\b", message), message
    assert f"not run: {PIPELINE.name}/training_mix, {PIPELINE.name}/model, {PIPELINE.name}/evaluation" in message
    tags = {t["key"]: t["value"] for t in
            webserver.graphql(RUN_TAGS_QUERY, {"id": blocked_run.run_id})["runOrError"]["tags"]}
    assert tags["synth_pipeline/blocked"] == f"generation {BLOCKED_GENERATION}"
    for stage, check in failed:
        assert "observed" in tags[f"synth_pipeline/blocked/{PIPELINE.name}.{stage}/{check}"]
    notes = [e for e in blocked_run.events if e["__typename"] == "ObservationEvent"]
    assert {e["assetKey"]["path"][-1] for e in notes} >= {"synthetic", "training_mix", "model", "evaluation"}


BLOCKED_PAGES = {
    # screenshot name: (path under the webserver, texts the page must show)
    "ui-blocked-run": ("/runs/{run_id}", ["GenerationBlocked: generation 2 blocked by", "not run:"]),
    "ui-blocked-synthetic-partition": ("/assets/{pipeline}/synthetic?view=partitions&partition=2",
                                       ["blocked by fidelity"]),
    "ui-blocked-training-mix-checks": ("/assets/{pipeline}/training_mix?view=checks", ["synthetic_budget"]),
    "ui-blocked-graph": ("/locations/{repository}/asset-groups/{pipeline}", ["synthetic", "training_mix"]),
    # provenance at a glance: the described _sp_ columns of the definition, the code references
    "ui-provenance-columns": ("/assets/{pipeline}/training_mix", ["_sp_kind", "Provenance of the row: real"]),
    # the report reachable from the UI: generation 1's evaluation with its key-figure table and report path
    "ui-evaluation-report": ("/assets/{pipeline}/evaluation?view=events&partition=1", ["report_table", "report"]),
}


@pytest.mark.parametrize("name", sorted(BLOCKED_PAGES))
def test_blocked_generation_pages_are_screenshotted(
    webserver: DagsterWebserver, asset_nodes: dict[str, dict[str, Any]], blocked_run: LaunchedRun, name: str,
    tmp_path: Path,
) -> None:
    """Each UI view of the blocked generation shows what it should; its screenshot is kept in test-artifacts/."""
    paths = chromium_paths()
    if paths is None:
        pytest.skip("Chromium or ChromeDriver not installed (Debian: apt-get install chromium chromium-driver)")
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    node = next(iter(asset_nodes.values()))
    repository = f"{node['repository']['name']}@{node['repository']['location']['name']}"
    path, texts = BLOCKED_PAGES[name]
    page = webserver.url + path.format(run_id=blocked_run.run_id, pipeline=PIPELINE.name, repository=repository)
    webserver.set_nux_seen()
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    screenshot = ARTIFACTS_DIR / f"{name}.png"

    def missing(driver: Any) -> list[str]:
        shown = driver.execute_script("return document.body.innerText")
        return [text for text in texts if text not in shown]

    with headless_chromium(*paths, tmp_path / "chromium-profile") as driver:
        driver.get(page)
        try:
            WebDriverWait(driver, 90, poll_frequency=0.5).until(lambda d: not missing(d))
        except TimeoutException:
            pytest.fail(f"{page} does not show {missing(driver)} (screenshot: {screenshot})")
        finally:
            time.sleep(2)  # let late panels render, for a readable screenshot
            driver.save_screenshot(str(screenshot))
            print(f"{name} screenshot: {screenshot}")
