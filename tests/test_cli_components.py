"""The ``synth-pipeline`` command on a dg project of two components.

The project is what ``dg`` users have: ``src/<project>/definitions.py`` with a function decorated with
``@dg.definitions`` loading the defs folder, and two ``SynthPipelineComponent`` folders scaffolded by
Dagster's component test helpers: ``alpha`` keeps its data in its own folder (``data_dir: data``),
``beta`` sets none (``$SYNTH_PIPELINE_DATA_DIR`` applies, so ``--data-dir`` may choose it). Each
component binds its store under its own resource key (``<pipeline>_store``); the commands load the
definitions from the module (``-m``) or the file (``-f``), ask which pipeline when there are two, bind
that pipeline's store to the data directory, and name commands that work on this project in their hints.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster.components.testing import create_defs_folder_sandbox

from synth_pipeline import DatasetStore, SynthPipelineComponent
from synth_pipeline.cli import main
from synth_pipeline.cli_definitions import load_bound_definitions
from synth_pipeline.errors import DataDirConflictError, SynthPipelineError, UnknownNameError
from synth_pipeline.rerun_command import DEFINITIONS_TAG, run_command_of
from synth_pipeline.runner import default_instance, recover_interrupted_runs
from synth_pipeline.storage import DATA_DIR_ENV
from synth_pipeline.user_modules import DefinitionsTarget, load_definitions

REPO = Path(__file__).resolve().parents[1]

DEFINITIONS = '''\
"""The project's code location: every component under defs/ (as `create-dagster project` writes it)."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
'''


@dataclass(frozen=True)
class Project:
    """The dg project and the directories the commands run with."""

    root: Path
    src: Path
    module: str
    file: Path
    alpha: Path
    beta: Path
    variable: Path
    home: Path
    elsewhere: Path

    @property
    def alpha_data(self) -> Path:
        return self.alpha / "data"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def _fast(folder: Path, **attributes: object) -> None:
    """The scaffolded defs.yaml made quick: normal marginals, no SMOTE stage, no quality checks."""
    defs_yaml = folder / "defs.yaml"
    document = yaml.safe_load(defs_yaml.read_text(encoding="utf-8"))
    spec = document["attributes"]["spec"]
    spec["synthesizer"]["params"] = {"default_distribution": "norm"}
    spec["augmentation"] = None
    document["attributes"].update(include_quality_checks=False, **attributes)
    defs_yaml.write_text(yaml.safe_dump(document), encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    base = tmp_path_factory.mktemp("components")
    name = f"proj_{uuid.uuid4().hex[:8]}"
    with create_defs_folder_sandbox(project_name=name) as sandbox, pytest.MonkeyPatch.context() as patch:
        alpha = sandbox.scaffold_component(component_cls=SynthPipelineComponent, defs_path="alpha")
        beta = sandbox.scaffold_component(component_cls=SynthPipelineComponent, defs_path="beta")
        _fast(alpha, data_dir="data")
        _fast(beta)
        package = sandbox.defs_folder_path.parent
        (package / "__init__.py").touch()
        (package / "definitions.py").write_text(DEFINITIONS, encoding="utf-8")
        found = Project(root=sandbox.project_root, src=package.parent, module=f"{name}.definitions",
                        file=package / "definitions.py", alpha=alpha, beta=beta, variable=base / "variable",
                        home=base / "home", elsewhere=base / "elsewhere")
        found.variable.mkdir()
        found.elsewhere.mkdir()
        # The user's shell: the project installed (its src on the path), run from another directory.
        patch.syspath_prepend(str(found.src))
        patch.setenv(DATA_DIR_ENV, str(found.variable))
        patch.setenv("DAGSTER_HOME", str(found.home))
        patch.chdir(found.elsewhere)
        yield found


def _main(*args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


def _files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file()) if directory.exists() else []


def test_with_two_components_every_command_asks_which_pipeline_and_lists_them(project: Project) -> None:
    module = ["-m", project.module]
    for command in (["run", *module], ["report", *module]):
        result = _main(*command)
        assert result.code == 2, result
        assert (f"module '{project.module}' holds several synth-pipelines; choose one with --pipeline: "
                "'alpha', 'beta'") in result.err
    result = _main("lineage", "composition", *module)
    assert result.code == 2
    assert "several synth-pipelines with data in different directories; choose one with --pipeline" in result.err
    assert f"'alpha' ({project.alpha_data})" in result.err and "'beta' (no data_dir)" in result.err
    result = _main("run", *module, "--pipeline", "alphq")
    assert result.code == 2 and "no synth-pipeline named 'alphq'" in result.err
    assert "did you mean 'alpha'?" in result.err
    assert _files(project.alpha_data) == [] and _files(project.variable) == [] and not project.home.exists()


def test_the_definitions_function_is_found_in_the_module_and_in_the_file(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for target in (DefinitionsTarget(module=project.module), DefinitionsTarget(python_file=str(project.file))):
        defs = load_definitions(target)
        assert {job.name for job in defs.jobs} == {"alpha_generation", "beta_generation"}, target
    monkeypatch.syspath_prepend(str(tmp_path))
    sources = {
        "two": "import dagster as dg\n@dg.definitions\ndef a():\n    return dg.Definitions()\n"
               "@dg.definitions\ndef b():\n    return dg.Definitions()\n",
        "context": "import dagster as dg\n@dg.definitions\ndef defs(context: dg.ComponentLoadContext):\n"
                   "    return dg.Definitions()\n",
        "named": "import dagster as dg\nmy_defs = dg.Definitions()\n",
        "none": "x = 1\n",
    }
    modules = {}
    for kind, source in sources.items():
        modules[kind] = f"defs_{kind}_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{modules[kind]}.py").write_text(source, encoding="utf-8")
    with pytest.raises(SynthPipelineError, match="several functions decorated with @dg.definitions"):
        load_definitions(modules["two"])
    with pytest.raises(SynthPipelineError, match="takes a ComponentLoadContext"):
        load_definitions(modules["context"])
    assert isinstance(load_definitions(modules["named"]), dg.Definitions)  # the only one, as Dagster finds it
    with pytest.raises(UnknownNameError, match="no Dagster Definitions named `defs` nor a function decorated"):
        load_definitions(modules["none"])
    result = _main("report", "-f", str(tmp_path / "missing.py"))
    assert result.code == 2 and "does not exist" in result.err


def test_a_data_dir_binds_the_chosen_component_store_and_its_io_manager(project: Project, tmp_path: Path) -> None:
    chosen = tmp_path / "chosen"
    bound = load_bound_definitions(DefinitionsTarget(module=project.module), data_dir=str(chosen), pipeline="beta")
    resources = bound.defs.resources
    assert (bound.pipeline, bound.data_dir.path, bound.data_dir.origin) == ("beta", chosen, "--data-dir")
    assert resources["beta_store"].base_dir == str(chosen)
    assert resources["beta_io_manager"].store is resources["beta_store"]
    # the other component keeps its own store, and no shared store appears
    assert resources["alpha_store"].base_dir == str(project.alpha_data)
    assert resources["alpha_io_manager"].store is resources["alpha_store"]
    assert "synth_pipeline_store" not in resources
    # alpha binds its own directory (the variable, which beta needs, would name another: left out here)
    own = load_bound_definitions(project.module, pipeline="alpha", environ={})
    assert own.data_dir.path == project.alpha_data
    assert own.data_dir.origin == f"the definitions of module '{project.module}'"
    with pytest.raises(DataDirConflictError, match="alpha_store") as conflict:
        load_bound_definitions(project.module, data_dir=str(chosen), pipeline="alpha", environ={})
    assert str(project.alpha_data) in str(conflict.value) and str(chosen) in str(conflict.value)


def test_run_report_and_lineage_work_on_one_component_and_their_hints_name_it(
    project: Project, tmp_path: Path
) -> None:
    data = tmp_path / "beta-data"
    module = ["-m", project.module, "--pipeline", "beta"]
    result = _main("run", *module, "--data-dir", str(data))
    assert result.code == 0, result.err
    assert f"pipeline beta: data in {data} (from --data-dir)" in result.out
    assert (data / "beta" / "training_mix" / "1.parquet").is_file()
    assert (data / "beta" / "evaluation" / "1.parquet").is_file()
    # the scoped store was rebound: nothing went where the unbound store would have written
    assert _files(project.variable) == [] and _files(project.alpha_data) == []
    assert not (project.elsewhere / ".synth_pipeline").exists()
    assert f"(query: synth-pipeline lineage composition -m {project.module} --pipeline beta)" in result.out
    [run] = [record.dagster_run for record in default_instance(project.home).get_run_records(
        dg.RunsFilter(job_name="beta_generation"))]
    assert run.tags[DEFINITIONS_TAG] == f"-m {project.module}"
    assert run_command_of(run, "beta") == f"synth-pipeline run -m {project.module} --pipeline beta"

    result = _main("report", *module, "--data-dir", str(data))
    assert result.code == 0, result.err
    assert (data / "_reports" / "beta" / "generation-1.html").is_file()
    result = _main("lineage", "composition", "-f", str(project.file), "--pipeline", "beta", "--data-dir", str(data),
                   "--format", "json")
    assert result.code == 0, result.err
    assert [(row["pipeline"], row["generation"]) for row in json.loads(result.out)] == [("beta", 1)]

    # a generation after one never run is refused before any run (a trial's `--start 9` with 1-4 stored fitted and
    # stored generation 9's first tables, then failed); the hint names the command that runs this project's pipeline
    result = _main("run", *module, "--data-dir", str(data), "--start", "4")
    assert result.code == 2, result.err
    assert (f"--start 4: generation 3 has not been run under {data} (generations stored: 1), and generation 4 builds "
            f"on it. Run the generations in order: synth-pipeline run -m {project.module} --pipeline beta --start 2 "
            "--generations 3 (generations 2 to 4)") in result.err, result.err
    assert not (data / "beta" / "real_arrivals" / "4.parquet").exists()


def test_a_killed_component_run_is_recovered_with_the_command_that_runs_it_again(project: Project) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(project.src)])}
    del env[DATA_DIR_ENV]  # alpha binds its own directory
    process = subprocess.Popen(
        [sys.executable, "-m", "synth_pipeline.cli", "run", "-m", project.module, "--pipeline", "alpha"],
        cwd=project.elsewhere, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    source = project.alpha_data / "alpha" / "real_source.parquet"
    deadline = time.monotonic() + 120
    try:
        while not source.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert source.exists(), "the run was killed before it wrote its first stage"

    bound = load_bound_definitions(project.module, pipeline="alpha", environ={})
    [recovered] = recover_interrupted_runs(bound.defs, pipeline="alpha", instance=default_instance(project.home))
    command = f"synth-pipeline run -m {project.module} --pipeline alpha"
    assert recovered.generation == 1
    assert f"run it again: {command} --start 1" in recovered.describe(), recovered.describe()
    store = DatasetStore(base_dir=str(project.alpha_data))
    for asset in recovered.quarantined:  # unchecked data it wrote: the marker says how to go on
        reason = store.quarantine_reasons(dg.AssetKey.from_user_string(asset.split("[")[0]), None)
        assert command in reason["interrupted_run"], reason


def _dg(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    dg_command = Path(sys.executable).with_name("dg")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(project.src)]), "NO_COLOR": "1",
           "VIRTUAL_ENV": str(Path(sys.executable).parents[1]),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([str(dg_command), *args], cwd=project.root, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_dg_launch_runs_a_component_generation_in_process_without_run_config(project: Project) -> None:
    assert shutil.which("dg", path=str(Path(sys.executable).parent))
    instance = default_instance(project.home)
    if not instance.has_dynamic_partition("beta_generations", "1"):
        instance.add_dynamic_partitions("beta_generations", ["1"])
    launched = _dg(project, "launch", "--job", "beta_generation", "--partition", "1")
    output = launched.stdout + launched.stderr
    assert launched.returncode == 0, output
    assert "Executing steps in process" in output and "Multiprocess executor" not in output
    assert (project.variable / "beta" / "training_mix" / "1.parquet").is_file()  # no data_dir: the variable's
    run = instance.get_run_records(dg.RunsFilter(job_name="beta_generation"), limit=1)[0].dagster_run
    assert DEFINITIONS_TAG not in run.tags  # launched by dg: its code location names the definitions
    assert run_command_of(run, "beta") == f"synth-pipeline run -m {project.module} --pipeline beta"
