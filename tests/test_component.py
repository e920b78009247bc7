"""The Dagster component: SynthPipelineComponent loaded from defs.yaml with Dagster's component test helpers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster.components.testing import DefsFolderSandbox, create_defs_folder_sandbox

from synth_pipeline import SynthPipelineComponent
from synth_pipeline.datasets import breast_cancer
from synth_pipeline.naming import Stage
from synth_pipeline.runner import run_generations
from synth_pipeline.storage import DatasetStore

REPO = Path(__file__).resolve().parents[1]
TYPE = "synth_pipeline.SynthPipelineComponent"


def _own(sensors):
    """The sensors but the three ending OpenLineage runs (synth_pipeline.lineage.run_sensors), which every
    pipeline's definitions include; asserts they are there."""
    name = lambda sensor: sensor["name"] if isinstance(sensor, dict) else sensor.name  # noqa: E731
    assert len([s for s in sensors if "_lineage_run_" in name(s)]) == 3
    return [s for s in sensors if "_lineage_run_" not in name(s)]


def fast_spec(name: str, **overrides: Any) -> dict[str, Any]:
    """An inline spec of the reference data with the fast Gaussian copula (normal marginals)."""
    return {
        "name": name, "label_column": "target",
        "real_source": {"loader": "synth_pipeline.datasets:breast_cancer"},
        "synthesizer": {"params": {"default_distribution": "norm"}},
        **overrides,
    }


def write_defs(sandbox: DefsFolderSandbox, folder: str, attributes: dict[str, Any]) -> Path:
    """A component folder under the sandbox's defs folder with ``attributes`` in its defs.yaml."""
    path = sandbox.defs_folder_path / folder
    path.mkdir(parents=True, exist_ok=True)
    (path / "defs.yaml").write_text(yaml.safe_dump({"type": TYPE, "attributes": attributes}), encoding="utf-8")
    return path


@pytest.fixture
def sandbox() -> Iterator[DefsFolderSandbox]:
    with create_defs_folder_sandbox() as box:
        yield box


def build_error(sandbox: DefsFolderSandbox, path: Path) -> str:
    """The message of the error loading the component at ``path`` (with the cause Dagster wraps)."""
    with pytest.raises(Exception) as raised:  # noqa: B017 - Dagster wraps our error in its ComponentTreeException
        with sandbox.load_component_and_build_defs(defs_path=path):
            pass
    error: BaseException | None = raised.value
    parts = []
    while error is not None:
        parts.append(f"{type(error).__name__}: {error}")
        error = error.__cause__
    return "\n".join(parts)


def test_inline_spec_loads_with_scoped_resources(sandbox: DefsFolderSandbox) -> None:
    path = write_defs(sandbox, "churn", {"spec": fast_spec("churn"), "data_dir": "data"})
    with sandbox.load_component_and_build_defs(defs_path=path) as (component, defs):
        assert isinstance(component, SynthPipelineComponent)
        keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
        assert {"churn/real_source", "churn/synthetic", "churn/training_mix", "churn/evaluation"} <= keys
        assert sorted(defs.resources) == ["churn_io_manager", "churn_policy", "churn_store"]
        assert defs.resources["churn_store"].base_dir == str(path / "data")
        assert [job.name for job in defs.jobs] == ["churn_generation"]
        assert not defs.schedules and not _own(defs.sensors)
        assert [s.name for s in defs.sensors] == [f"churn_lineage_run_{w}" for w in ("completed", "failed", "canceled")]


def test_without_data_dir_the_store_is_in_the_project_root_whatever_the_working_directory(
    sandbox: DefsFolderSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new user's trial found one project writing two stores, one per folder `dg launch` ran from."""
    monkeypatch.delenv("SYNTH_PIPELINE_DATA_DIR", raising=False)
    path = write_defs(sandbox, "nodir", {"spec": fast_spec("nodir")})
    root = next((p for p in (path, *path.parents) if (p / "pyproject.toml").is_file()), path)
    stores = set()
    for cwd in (tmp_path, path):
        monkeypatch.chdir(cwd)
        with sandbox.load_component_and_build_defs(defs_path=path) as (_, defs):
            stores.add(defs.resources["nodir_store"].base_dir)
    assert stores == {str(root / ".synth_pipeline" / "data")}
    monkeypatch.setenv("SYNTH_PIPELINE_DATA_DIR", str(tmp_path / "env"))  # the variable still applies
    with sandbox.load_component_and_build_defs(defs_path=path) as (_, defs):
        assert defs.resources["nodir_store"].base_dir in (None, str(tmp_path / "env"))


def test_spec_file_policy_and_paths_resolve_against_the_component_folder(
    sandbox: DefsFolderSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sandbox.defs_folder_path / "files"
    (path / "inputs").mkdir(parents=True)
    (path / "suites").mkdir()
    breast_cancer().head(120).to_csv(path / "inputs" / "real.csv", index=False)
    spec = fast_spec("files", real_source={"path": "inputs/real.csv"})
    (path / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    (path / "policy.yaml").write_text("max_synthetic_fraction: 0.3\nmax_depth: 2\n", encoding="utf-8")
    write_defs(sandbox, "files", {
        "spec_file": "spec.yaml", "policy": "policy.yaml", "expectation_suites": "suites", "data_dir": "store",
        "sensor": {"watch_dir": "drop"},
    })
    monkeypatch.chdir(tmp_path)  # another working directory: nothing may be read from it
    with sandbox.load_component_and_build_defs(defs_path=path) as (component, defs):
        spec_loaded = component.load_spec(path, "test")
        assert spec_loaded.real_source.path == str(path / "inputs" / "real.csv")
        policy = defs.resources["files_policy"]
        assert (policy.max_synthetic_fraction, policy.max_depth) == (0.3, 2)
        assert defs.resources["files_store"].base_dir == str(path / "store")
        assert str(path / "drop") in _own(defs.sensors)[0].description
        # the relative CSV path is read from the component's folder at run time too
        result = dg.materialize(
            [defs.get_assets_def(dg.AssetKey(["files", "real_source"]))],
            resources=defs.resources, instance=dg.DagsterInstance.ephemeral(),
        )
        assert result.success
    assert len(DatasetStore(base_dir=str(path / "store")).read(dg.AssetKey(["files", "real_source"]))) == 120
    assert not (tmp_path / ".synth_pipeline").exists()


def test_two_components_with_their_own_data_dirs_run_in_one_code_location(sandbox: DefsFolderSandbox) -> None:
    first = write_defs(sandbox, "first", {"spec": fast_spec("first"), "data_dir": "data",
                                          "include_quality_checks": False})
    second = write_defs(sandbox, "second", {"spec": fast_spec("second", seed=1), "data_dir": "../second_data",
                                            "include_quality_checks": False, "policy": {"max_depth": 2}})
    with sandbox.build_all_defs() as defs:
        assert {"first_store", "second_store", "first_io_manager", "second_io_manager"} <= set(defs.resources)
        instance = dg.DagsterInstance.ephemeral()
        # a whole generation of the first; the second up to its synthetic rows (enough to show where it writes)
        runs = list(run_generations(defs, pipeline="first", generations=[1], instance=instance))
        runs += run_generations(defs, pipeline="second", generations=[1], instance=instance, stages=[
            Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, Stage.REAL_ARRIVALS, Stage.SYNTHETIC])
        assert [run.success for run in runs] == [True, True], runs
    first_data, second_data = first / "data", second.parent / "second_data"
    assert (first_data / "first" / "training_mix" / "1.parquet").is_file()
    assert (first_data / "first" / "evaluation" / "1.parquet").is_file()
    assert (second_data / "second" / "synthetic" / "1.parquet").is_file()
    assert not (first_data / "second").exists() and not (second_data / "first").exists()


def test_schedule_sensor_and_translation_blocks(sandbox: DefsFolderSandbox) -> None:
    path = write_defs(sandbox, "auto", {
        "spec": fast_spec("auto"),
        "schedule": {"cron": "15 2 * * 1", "timezone": "Europe/Berlin", "enabled": True},
        "sensor": {"interval_seconds": 120},
        "translation": {"key_prefix": ["team"], "group_name": "synthetic_data", "tags": {"team": "ml"},
                        "kinds": ["csv"]},
    })
    with sandbox.load_component_and_build_defs(defs_path=path) as (_, defs):
        (schedule,) = defs.schedules
        assert (schedule.name, schedule.cron_schedule, schedule.execution_timezone) == (
            "auto_generation_schedule", "15 2 * * 1", "Europe/Berlin")
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
        (sensor,) = _own(defs.sensors)
        assert (sensor.name, sensor.minimum_interval_seconds) == ("auto_new_data_sensor", 120)
        assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
        spec = defs.resolve_asset_graph().get(dg.AssetKey(["team", "auto", "synthetic"]))
        assert spec.group_name == "synthetic_data"
        assert spec.tags["team"] == "ml" and spec.tags["synth_pipeline/provenance"] == "synthetic"
        assert "csv" in spec.kinds and "sdv" in spec.kinds


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"data_dir": "data"}, ["ComponentConfigError", "set exactly one of 'spec'", "neither is set"]),
        ({"spec": fast_spec("x"), "spec_file": "spec.yaml"}, ["set exactly one of 'spec'", "both are set"]),
        ({"spce": fast_spec("x")}, ["attributes.spce", "Extra inputs are not permitted"]),
        ({"spec_file": "missing.yaml"}, ["spec_file 'missing.yaml'", "does not exist", "relative to the component"]),
        ({"spec": fast_spec("x"), "policy": "nope.yaml"}, ["policy 'nope.yaml'", "does not exist"]),
        ({"spec": fast_spec("x"), "expectation_suites": "defs.yaml"}, ["expectation_suites", "is a file"]),
        ({"spec": fast_spec("x"), "policy": {"max_synthetic_fracton": 0.2}},
         ["ConfigValueError", "'policy' of synth_pipeline.SynthPipelineComponent", "max_synthetic_fracton"]),
        ({"spec": {"name": "x", "real_source": {"loader": "synth_pipeline.datasets:breast_cancer"}}},
         ["ConfigValueError", "'spec' of synth_pipeline.SynthPipelineComponent", "label_column"]),
        ({"spec": fast_spec("x"), "schedule": {"cron": "every day"}}, ["schedule.cron 'every day'", "five fields"]),
        ({"spec": fast_spec("x"), "schedule": {"timezone": "Mars/Olympus"}}, ["schedule.timezone", "IANA"]),
        ({"spec": fast_spec("x"), "executor": "threads"},
         ["ComponentConfigError", "executor 'threads' is not an executor", "in_process", "multiprocess"]),
        ({"spec": fast_spec("x"), "executor": {"type": "in_process", "max_concurrent": 2}},
         ["executor.max_concurrent applies to multiprocess only", "type: multiprocess"]),
        ({"spec": fast_spec("x"), "executor": {"type": "multiprocess", "max_concurrent": 0}},
         ["executor.max_concurrent 0 is out of range", "from 1 to 1,024"]),
        ({"spec": fast_spec("x"), "executor": {"type": "multiprocess", "max_concurent": 2}},
         ["attributes.executor", "max_concurent", "Extra inputs are not permitted"]),
        ({"spec": fast_spec("x", synthesizer={"method": "no_such_module_xyz:make", "params": {"rows": "r.csv"}})},
         ["ComponentConfigError", "synthesizer.method 'no_such_module_xyz:make'", "no module 'no_such_module_xyz'"]),
    ],
    ids=["no-spec", "both-specs", "unknown-key", "missing-spec-file", "missing-policy", "suites-not-a-dir",
         "bad-policy-field", "spec-missing-field", "bad-cron", "bad-timezone", "bad-executor",
         "max-concurrent-in-process", "max-concurrent-zero", "executor-unknown-key", "generator-not-importable"],
)
def test_bad_yaml_values_give_errors_naming_the_attribute(
    sandbox: DefsFolderSandbox, attributes: dict[str, Any], expected: list[str]
) -> None:
    path = write_defs(sandbox, "bad", attributes)
    message = build_error(sandbox, path)
    for text in expected:
        assert text in message, message
    if "ComponentConfigError" in message:
        assert str(path / "defs.yaml") in message


def _default_execution(defs: dg.Definitions, job: str) -> dict[str, Any]:
    """The execution config a launch of ``job`` gets without run config."""
    executor = defs.resolve_job_def(job).executor_def
    return executor.config_schema.as_field().default_value


def test_the_generation_job_runs_in_process_unless_the_executor_attribute_says_otherwise(
    sandbox: DefsFolderSandbox,
) -> None:
    """A `dg launch --job <pipeline>_generation` needs no run config to run in one process (README: a process
    per step took 2 min 47 s against about 1 minute in process); the run config may still choose either."""
    default = write_defs(sandbox, "plain", {"spec": fast_spec("plain")})
    several = write_defs(sandbox, "wide", {"spec": fast_spec("wide"),
                                           "executor": {"type": "multiprocess", "max_concurrent": 3}})
    short = write_defs(sandbox, "short", {"spec": fast_spec("short"), "executor": "multiprocess"})
    with sandbox.load_component_and_build_defs(defs_path=default) as (component, defs):
        assert component.executor == "in_process"
        assert _default_execution(defs, "plain_generation") == {"in_process": {}}
        assert defs.executor is None  # on the job: components choosing differently still merge
    with sandbox.load_component_and_build_defs(defs_path=several) as (_, defs):
        assert _default_execution(defs, "wide_generation") == {"multiprocess": {"max_concurrent": 3}}
    with sandbox.load_component_and_build_defs(defs_path=short) as (_, defs):
        assert _default_execution(defs, "short_generation") == {"multiprocess": {}}
    with sandbox.build_all_defs() as defs:  # three executors, one code location
        assert {job.name for job in defs.jobs} == {"plain_generation", "wide_generation", "short_generation"}
        config = defs.resolve_job_def("plain_generation").executor_def.config_schema
        assert config.as_field().config_type.fields.keys() == {"in_process", "multiprocess"}


def test_relative_generator_paths_resolve_against_the_component_folder(
    sandbox: DefsFolderSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file generator's `path` (rows made elsewhere) is read from the component's folder, whatever the
    working directory, as every other relative path of a component is."""
    path = sandbox.defs_folder_path / "vendor"
    (path / "rows").mkdir(parents=True)
    breast_cancer().sample(40, random_state=1).to_csv(path / "rows" / "vendor.csv", index=False)
    write_defs(sandbox, "vendor", {
        "spec": fast_spec("vendor", synthesizer={"method": "file", "params": {
            "path": "rows/vendor.csv", "generator": "acme-llm", "fitted_on": "vendor/real_arrivals[1]"}}),
        "data_dir": "data", "include_quality_checks": False,
    })
    monkeypatch.chdir(tmp_path)  # nothing may be read from the working directory
    with sandbox.load_component_and_build_defs(defs_path=path) as (component, defs):
        assert component.load_spec(path, "test").synthesizer.params["path"] == str(path / "rows" / "vendor.csv")
        [run] = run_generations(defs, pipeline="vendor", generations=[1], instance=dg.DagsterInstance.ephemeral(),
                                stages=[Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN,
                                        Stage.REAL_ARRIVALS, Stage.SYNTHETIC])
        assert run.success, run.failures
    synthetic = DatasetStore(base_dir=str(path / "data")).read(dg.AssetKey(["vendor", "synthetic"]), "1")
    assert len(synthetic) == 40


def test_a_factory_of_your_own_declares_its_path_params_by_annotation(
    sandbox: DefsFolderSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Params annotated as paths (`Path`, `Path | None`, `os.PathLike`) are anchored; text params are not, nor
    absolute paths or URLs."""
    module = f"own_generators_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from __future__ import annotations\n"
        "import os\n"
        "from pathlib import Path\n"
        "def make(model_file: Path, cache: Path | None = None, notes: str = '', store: os.PathLike | None = None,"
        " remote: Path | None = None):\n"
        "    raise NotImplementedError\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    params = {"model_file": "models/m.bin", "cache": "/abs/cache", "notes": "see notes.txt", "store": "~/data",
              "remote": "s3://bucket/key"}
    path = write_defs(sandbox, "own", {"spec": fast_spec("own", synthesizer={"method": f"{module}:make",
                                                                              "params": params})})
    with sandbox.load_component_and_build_defs(defs_path=path) as (component, _):
        anchored = component.load_spec(path, "test").synthesizer.params
    assert anchored == {**params, "model_file": str(path / "models" / "m.bin")}


def test_scaffolder_writes_a_defs_yaml_that_loads(sandbox: DefsFolderSandbox) -> None:
    path = sandbox.scaffold_component(component_cls=SynthPipelineComponent, defs_path="my-pipe")
    text = (path / "defs.yaml").read_text(encoding="utf-8")
    assert "spec:" in text and "schedule:" in text and "# translation:" in text
    with sandbox.load_component_and_build_defs(defs_path=path) as (component, defs):
        assert isinstance(component, SynthPipelineComponent)
        assert component.spec is not None and component.spec["name"] == "my_pipe"
        assert [job.name for job in defs.jobs] == ["my_pipe_generation"]
        assert [s.name for s in defs.schedules] == ["my_pipe_generation_schedule"]
        assert [s.name for s in _own(defs.sensors)] == ["my_pipe_new_data_sensor"]
    named = sandbox.scaffold_component(component_cls=SynthPipelineComponent, defs_path="other",
                                       scaffold_params={"name": "churn"})
    assert "name: churn" in (named / "defs.yaml").read_text(encoding="utf-8")


def _dg(*args: str) -> subprocess.CompletedProcess[str]:
    dg_command = Path(sys.executable).with_name("dg")
    assert dg_command.exists(), f"{dg_command} missing: pip install -e '.[dev]' installs dagster-dg-cli"
    env = {**os.environ, "PYTHONPATH": str(REPO), "VIRTUAL_ENV": str(Path(sys.executable).parents[1]),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    return subprocess.run([str(dg_command), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_dg_check_and_list_defs_on_the_reference_project() -> None:
    assert shutil.which("dg", path=str(Path(sys.executable).parent))
    checked = _dg("check", "defs")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
    listed = _dg("list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr
    defs = json.loads(listed.stdout)
    keys = {asset["asset_key"] for asset in defs["assets"]}
    assert {"breast_cancer/real_source", "breast_cancer/synthetic", "breast_cancer/unknown_ingest"} <= keys
    assert [job["name"] for job in defs["jobs"]] == ["breast_cancer_generation"]
    assert [s["name"] for s in defs["schedules"]] == ["breast_cancer_generation_schedule"]
    assert [s["name"] for s in _own(defs["sensors"])] == ["breast_cancer_new_data_sensor"]
    assert {"breast_cancer_store", "breast_cancer_policy"} <= {r["name"] for r in defs["resources"]}
