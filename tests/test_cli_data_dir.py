"""One data directory per command: the one the loaded definitions bind, whatever the working directory.

A user module whose definitions set ``data_dir`` is run with ``synth-pipeline run -m MODULE``
from another working directory, with neither ``$SYNTH_PIPELINE_DATA_DIR`` nor ``$DAGSTER_HOME``
set: the runs, the lineage sync the run ends with, every ``lineage`` subcommand and ``report``
all use the definitions' directory; ``--data-dir`` or the variable naming another one is a usage
error naming both; and the command leaves ``os.environ`` as it found it.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from synth_pipeline.cli import main
from synth_pipeline.config_paths import INPUT_DIRS_ENV, confine_config_path
from synth_pipeline.datasets import breast_cancer
from synth_pipeline.errors import ConfigPathError
from synth_pipeline.lineage.layout import safe_name
from synth_pipeline.storage import DATA_DIR_ENV

MODULE_SOURCE = '''\
"""A team's code location that keeps its data in a directory of its own."""

from conftest import fast_spec
from synth_pipeline import GenerationMode, MixSpec, build_synth_pipeline

pipeline = build_synth_pipeline(fast_spec("own", unknown_source=None, augmentation=None,
                                          mix=MixSpec(mode=GenerationMode.REPLACE, real_arrival_batches=4)))
defs = pipeline.to_definitions(data_dir={data_dir!r}, include_quality_checks=False)
'''


@dataclass(frozen=True)
class Project:
    """A user module binding ``data_dir``, and the other directory commands are run from."""

    module: str
    source_dir: Path
    data_dir: Path
    elsewhere: Path


@dataclass(frozen=True)
class Command:
    """What one in-process ``synth-pipeline`` command did."""

    code: int
    out: str
    err: str
    environ_before: dict[str, str]
    environ_after: dict[str, str]


def _project(base: Path) -> Project:
    source_dir, data_dir, elsewhere = base / "proj", base / "srv" / "data", base / "elsewhere"
    source_dir.mkdir(parents=True)
    elsewhere.mkdir()
    module = f"own_defs_{uuid.uuid4().hex[:12]}"  # a new name: a module imported by another test is not reused
    (source_dir / f"{module}.py").write_text(MODULE_SOURCE.format(data_dir=str(data_dir)))
    return Project(module=module, source_dir=source_dir, data_dir=data_dir, elsewhere=elsewhere)


def _enter(patch: pytest.MonkeyPatch, project: Project) -> None:
    """The user's shell: in another directory, the module importable, no data directory or Dagster home set."""
    for name in (DATA_DIR_ENV, INPUT_DIRS_ENV, "DAGSTER_HOME"):
        patch.delenv(name, raising=False)
    patch.chdir(project.elsewhere)
    patch.syspath_prepend(str(project.source_dir))


def _main(*args: str) -> Command:
    """``synth-pipeline ARGS`` in-process, with the environment before and after it."""
    out, err = io.StringIO(), io.StringIO()
    before = dict(os.environ)
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = exit_.code
    return Command(code=code, out=out.getvalue(), err=err.getvalue(), environ_before=before,
                   environ_after=dict(os.environ))


@dataclass(frozen=True)
class Recorded:
    """The project after two runs: generation 1 plain, generation 2 with ``--source`` in a directory of its own."""

    project: Project
    first: Command
    second: Command
    source: Path


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Recorded:
    base = tmp_path_factory.mktemp("own")
    project = _project(base)
    inputs = base / "inputs"
    inputs.mkdir()
    source = inputs / "batch.csv"
    breast_cancer().to_csv(source, index=False)
    with pytest.MonkeyPatch.context() as patch:
        _enter(patch, project)
        first = _main("run", "-m", project.module)
        second = _main("run", "-m", project.module, "--start", "2", "--source", str(source))
    return Recorded(project=project, first=first, second=second, source=source)


@pytest.fixture
def project(recorded: Recorded, monkeypatch) -> Project:
    _enter(monkeypatch, recorded.project)
    return recorded.project


@pytest.fixture
def fresh(tmp_path, monkeypatch) -> Iterator[Project]:
    """A project with nothing run yet."""
    project = _project(tmp_path)
    _enter(monkeypatch, project)
    yield project
    sys.modules.pop(project.module, None)


def _journaled(data_dir: Path, run_id: str) -> int:
    """Events the steps of a Dagster run wrote to the journal (one JSON line each)."""
    files = (data_dir / "lineage" / "events" / safe_name(run_id)).glob("*.jsonl")
    return sum(1 for path in files for line in path.read_text().splitlines() if line.strip())


@pytest.mark.parametrize("which", ["first", "second"])
def test_a_run_from_another_directory_uses_the_definitions_data_dir_and_names_the_store_it_synced(recorded, which):
    project, command = recorded.project, getattr(recorded, which)
    assert command.code == 0, command.out + command.err
    home = project.elsewhere / ".synth_pipeline" / "dagster_home"
    assert f"pipeline own: data in {project.data_dir} (from the definitions of module '{project.module}'), " \
           f"Dagster home {home}" in command.out
    [run_id] = re.findall(r"\(Dagster run ([0-9a-f-]+)\)", command.out)
    store = project.data_dir / "lineage" / "lineage.duckdb"
    found = re.search(rf"lineage: (\d+) events of the run recorded in {re.escape(str(store))} "
                      rf"\(query: synth-pipeline lineage composition -m {project.module}\)", command.out)
    assert found, command.out
    assert int(found.group(1)) == _journaled(project.data_dir, run_id) > 0
    # nothing under the working directory but the default Dagster home
    assert [str(p.relative_to(project.elsewhere)) for p in project.elsewhere.rglob("*") if p.is_file()
            and "dagster_home" not in p.parts] == []
    assert command.environ_after == command.environ_before


def test_a_source_file_outside_the_data_dir_is_allowed_for_its_runs_only(recorded):
    """``--source``'s directory is bound in the dataset store for the run, not put in the environment."""
    assert recorded.second.code == 0, recorded.second.err
    assert "generation 2 done" in recorded.second.out
    assert INPUT_DIRS_ENV not in recorded.second.environ_after
    with pytest.raises(ConfigPathError):  # this process allows it no longer
        confine_config_path(str(recorded.source), recorded.project.data_dir)


@pytest.mark.parametrize(("command", "expected"), [
    (["sync"], "events from"),
    (["rebuild"], "events from"),
    (["ancestors", "own/model", "--format", "json"], '"own/training_mix"'),
    (["descendants", "own/real_source", "--format", "json"], '"own/real_holdout"'),
    (["descendants", "--generator", "sdv.gaussian_copula", "--format", "json"], '"own/synthetic"'),
    (["composition", "--format", "json"], '"own/training_mix"'),
    (["checks", "--pipeline", "own", "--format", "json"], '"synthetic_budget"'),
    (["holdout-audit", "--format", "json"], '"own/synthetic"'),
], ids=lambda value: " ".join(value) if isinstance(value, list) else "")
def test_every_lineage_subcommand_finds_the_records_from_the_module(project, command, expected):
    result = _main("lineage", *command, "-m", project.module)
    assert result.code == 0, result.err
    assert expected in result.out, result.out
    if command[0] in ("sync", "rebuild"):
        assert str(project.data_dir / "lineage" / "lineage.duckdb") in result.out
    if command[0] == "composition":
        assert sorted(row["generation"] for row in json.loads(result.out)) == [1, 2]
    assert not (project.elsewhere / ".synth_pipeline" / "data").exists()
    assert result.environ_after == result.environ_before


def test_lineage_without_module_still_reads_data_dir(project):
    result = _main("lineage", "composition", "--data-dir", str(project.data_dir))
    assert result.code == 0, result.err
    assert "own/training_mix" in result.out


def test_the_same_directory_given_again_is_no_conflict(project, tmp_path, monkeypatch):
    link = tmp_path / "link"
    link.symlink_to(project.data_dir)  # compared resolved
    assert _main("lineage", "composition", "-m", project.module, "--data-dir", str(link)).code == 0
    monkeypatch.setenv(DATA_DIR_ENV, str(project.data_dir))
    assert _main("lineage", "composition", "-m", project.module).code == 0


def test_report_from_the_module_writes_into_its_data_dir(project):
    result = _main("report", "-m", project.module)
    written = project.data_dir / "_reports" / "own" / "generation-2.html"
    assert result.code == 0, result.err
    assert f"report of own, generation 2: {written} (" in result.out
    assert written.is_file()
    assert result.environ_after == result.environ_before


@pytest.mark.parametrize("how", ["option", "variable"])
@pytest.mark.parametrize("command", [["run"], ["report"], ["lineage", "composition"], ["lineage", "rebuild"]],
                         ids=" ".join)
def test_another_data_dir_than_the_definitions_is_a_usage_error_naming_both(fresh, tmp_path, monkeypatch,
                                                                         command, how):
    other = tmp_path / "other"
    other.mkdir()
    if how == "variable":
        monkeypatch.setenv(DATA_DIR_ENV, str(other))
    extra = ["--data-dir", str(other)] if how == "option" else []
    result = _main(*command, "-m", fresh.module, *extra)
    assert result.code == 2, result.out + result.err
    origin = "--data-dir" if how == "option" else f"${DATA_DIR_ENV}"
    for text in (f"the definitions of module '{fresh.module}' bind the dataset store to {fresh.data_dir}",
                 f"{origin} names {other}", "remove data_dir from the definitions",
                 "drop --data-dir" if how == "option" else f"unset ${DATA_DIR_ENV}"):
        assert text in result.err, (text, result.err)
    assert "Traceback" not in result.err and result.out == ""
    assert list(other.iterdir()) == [] and not fresh.data_dir.exists()
    assert list(fresh.elsewhere.iterdir()) == []  # no Dagster home either: refused before anything was opened


def test_option_and_variable_fill_in_where_the_definitions_set_no_data_dir(tmp_path, monkeypatch):
    """Multiprocess_job's definitions set none: --data-dir, else the variable, else the default."""
    from synth_pipeline.cli_definitions import choose_data_dir
    from synth_pipeline.user_modules import load_definitions

    defs = load_definitions("multiprocess_job")
    environ = {DATA_DIR_ENV: str(tmp_path / "variable")}
    chosen = choose_data_dir(defs, module="multiprocess_job", option=str(tmp_path / "option"), environ=environ)
    assert (chosen.path, chosen.origin) == (tmp_path / "option", "--data-dir")
    chosen = choose_data_dir(defs, module="multiprocess_job", environ=environ)
    assert (chosen.path, chosen.origin) == (tmp_path / "variable", f"${DATA_DIR_ENV}")
    monkeypatch.chdir(tmp_path)
    chosen = choose_data_dir(defs, module="multiprocess_job", environ={})
    assert (chosen.path, chosen.origin) == (tmp_path / ".synth_pipeline" / "data", "the default")


def test_rebinding_keeps_one_store_for_every_pipeline_and_its_io_manager(tmp_path):
    """The rebound definitions of two merged pipelines share one store, which their IO manager holds."""
    from synth_pipeline.cli_definitions import bind_data_dir
    from synth_pipeline.resources import IO_MANAGER_KEY, STORE_KEY
    from synth_pipeline.runner import dataset_store, pipeline_names
    from synth_pipeline.user_modules import load_definitions

    defs = load_definitions("multiprocess_job")
    original = defs.resources[STORE_KEY]
    rebound = bind_data_dir(defs, tmp_path / "data", input_dirs=[tmp_path / "inputs"])
    store = rebound.resources[STORE_KEY]
    assert rebound.resources[IO_MANAGER_KEY].store is store
    assert dataset_store(rebound).root == tmp_path / "data" and store.input_dirs == [str(tmp_path / "inputs")]
    assert defs.resources[STORE_KEY] is original and original.base_dir is None  # the module's own are kept
    assert pipeline_names(rebound) == ["par_a", "par_b"]
    assert {name for name in rebound.resources if name.endswith("_policy")} == {"par_a_policy", "par_b_policy"}
    for job in ("par_a_generation", "par_b_generation"):
        assert rebound.resolve_job_def(job).resource_defs[STORE_KEY] is not None


@pytest.mark.parametrize("command", [["lineage", "composition"], ["lineage", "rebuild"],
                                     ["report", "--pipeline", "par_a"]], ids=" ".join)
@pytest.mark.parametrize("how", ["option", "variable"])
def test_where_the_definitions_set_no_data_dir_the_one_given_must_exist_and_is_not_created(
        tmp_path, monkeypatch, command, how):
    """``multiprocess_job`` binds no data directory: --data-dir or the variable names it, as without -m."""
    for name in (DATA_DIR_ENV, INPUT_DIRS_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    missing, empty = tmp_path / "missing", tmp_path / "empty"
    empty.mkdir()
    for directory, expected in ((missing, "does not exist"), (empty, "nothing recorded yet")):
        extra = ["--data-dir", str(directory)] if how == "option" else []
        if how == "variable":
            monkeypatch.setenv(DATA_DIR_ENV, str(directory))
        result = _main(*command, "-m", "multiprocess_job", *extra)
        assert result.code == 2 and expected in result.err, result.err
        if directory == missing:
            origin = "--data-dir" if how == "option" else f"${DATA_DIR_ENV}"
            assert f"{origin} {missing} does not exist" in result.err
    assert not missing.exists() and list(empty.iterdir()) == []
