"""The command line cannot mislead a CI gate: wrong names, out-of-range numbers, long input, missing stores.

Every case runs the real ``synth-pipeline`` entry point (:func:`synth_pipeline.cli.main`)
against a real lineage store and data directory (one generation of ``par_a`` from
``multiprocess_job``, shared by the module), and checks the exit code (2: usage error),
that the message names the value given (cut when long) and lists what exists, and that
nothing was created or changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Runner, why
from synth_pipeline.cli import main
from synth_pipeline.config_paths import INPUT_DIRS_ENV
from synth_pipeline.lineage.store import LineageStore
from synth_pipeline.storage import DATA_DIR_ENV

PROJECT = Path(__file__).resolve().parents[1]
LONG = "x" * 100_000
LONG_NUMBER = "9" * 100_000
MODULE = ["-m", "multiprocess_job"]  # two pipelines, par_a and par_b; par_a is recorded below
LINEAGE_QUERIES = [
    ["ancestors", "par_a/model"],
    ["descendants", "par_a/real_source"],
    ["descendants", "--generator", "sdv.gaussian_copula"],
    ["composition"],
    ["checks"],
    ["holdout-audit"],
]
LINEAGE_COMMANDS = [["sync"], ["rebuild"], *LINEAGE_QUERIES]
READ_ONLY_COMMANDS = [*(["lineage", *command] for command in LINEAGE_COMMANDS),
                      ["report", *MODULE, "--pipeline", "par_a"]]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """The data directory of one recorded generation of ``par_a`` (its lineage store synced)."""
    from multiprocess_job import pipelines

    runner = Runner(tmp_path_factory.mktemp("recorded") / "data")
    [run] = runner.run(pipelines[0], [1])
    assert run.success, why(run)
    LineageStore(runner.data_dir).sync()
    return runner.data_dir


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """Each test starts without these variables and gets them back (the CLI only reads them)."""
    for name in (DATA_DIR_ENV, INPUT_DIRS_ENV):
        monkeypatch.setenv(name, "")  # recorded, so the value before the test is restored afterwards
        monkeypatch.delenv(name)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.chdir(PROJECT)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``synth-pipeline ARGS`` in-process: (exit code, stdout, stderr); argparse errors exit via SystemExit."""
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(data_dir: Path) -> tuple[list[str], int]:
    """The files under a data directory (the store's own files aside: a query may sync it) and its event count."""
    files = sorted(str(path.relative_to(data_dir)) for path in data_dir.rglob("*")
                   if not path.name.startswith("lineage.duckdb"))
    with LineageStore(data_dir).connect(sync=False) as connection:
        return files, connection.execute("SELECT count(*) FROM events").fetchall()[0][0]


def assert_usage_error(code: int, err: str, *expected: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, (text, err)


# --- 8. a name that matches nothing is a usage error listing what exists ---------------------------------------

@pytest.mark.parametrize("command", [
    ["lineage", "holdout-audit"],
    ["lineage", "composition"],
    ["lineage", "checks"],
    ["lineage", "checks", "--failed"],
    ["lineage", "descendants", "--generator", "sdv.gaussian_copula"],
], ids=lambda command: " ".join(command))
def test_an_unknown_pipeline_in_a_lineage_query_exits_2_listing_the_pipelines(recorded, capsys, command):
    before = snapshot(recorded)
    code, out, err = cli(capsys, *command, "--pipeline", "par_a_", "--data-dir", str(recorded))
    assert_usage_error(code, err, "no pipeline 'par_a_' in the lineage store", str(recorded),
                       "did you mean 'par_a'?", "pipelines there (1): 'par_a'")
    assert out == ""  # no "(no rows)" for a gate to pass on
    assert snapshot(recorded) == before


@pytest.mark.parametrize("command", [["run"], ["report"]])
def test_an_unknown_pipeline_in_run_and_report_exits_2_listing_the_module_pipelines(recorded, capsys, tmp_path,
                                                                                   command):
    data_dir = recorded if command == ["report"] else tmp_path / "new_data"
    code, _, err = cli(capsys, *command, *MODULE, "--pipeline", "par_a_", "--data-dir", str(data_dir))
    assert_usage_error(code, err, "no synth-pipeline named 'par_a_' in module 'multiprocess_job'",
                       "did you mean 'par_a'?", "synth-pipelines there (2): 'par_a', 'par_b'")
    assert not (tmp_path / "new_data").exists() and not (tmp_path / "dagster_home").exists()
    assert not (recorded / "_reports" / "par_a_").exists()


@pytest.mark.parametrize(("command", "expected"), [
    (["lineage", "ancestors", "par_a/modle"],
     ["no dataset 'par_a/modle'", "did you mean 'par_a/model'?", "'par_a/training_mix'"]),
    (["lineage", "descendants", "par_a/real_sourc"],
     ["no dataset 'par_a/real_sourc'", "did you mean 'par_a/real_source'?"]),
    (["lineage", "ancestors", "par_a/model", "--generation", "7"],
     ["no generation 7 of dataset 'par_a/model'", "did you mean 1?", "generations there (1): 1"]),
    (["lineage", "descendants", "par_a/model", "--version", "no-such-version"],
     ["no version 'no-such-version' of dataset 'par_a/model'", "versions there (1): '"]),
    (["lineage", "descendants", "--generator", "sdv.gaussian_copul"],
     ["no generator 'sdv.gaussian_copul'", "did you mean 'sdv.gaussian_copula'?", "generators there (1)"]),
    (["lineage", "descendants", "--generator", "sdv.gaussian_copula", "--pipeline", "par_a", "--generation", "5"],
     ["no generation 5 of generator 'sdv.gaussian_copula' of pipeline 'par_a'", "generations there (1): 1"]),
    (["lineage", "checks", "--check", "synthetic_budgt"],
     ["no check 'synthetic_budgt'", "did you mean 'synthetic_budget'?", "'holdout_purity'"]),
    (["lineage", "checks", "--pipeline", "par_a", "--generation", "5"],
     ["no generation 5 with check results of pipeline 'par_a'", "did you mean 1?", "generations there (2): 0, 1"]),
    (["report", *MODULE, "--pipeline", "par_a", "--generation", "5"],
     ["no generation 5 of pipeline 'par_a' is stored in", "did you mean 1?", "generations stored there (1): 1"]),
], ids=lambda value: " ".join(value) if isinstance(value, list) and value[0] in ("lineage", "report") else "")
def test_an_unknown_name_or_generation_exits_2_with_the_closest_match_and_what_exists(recorded, capsys, command,
                                                                                     expected):
    before = snapshot(recorded)
    code, out, err = cli(capsys, *command, "--data-dir", str(recorded))
    assert_usage_error(code, err, *expected)
    assert out == ""
    assert snapshot(recorded) == before
    assert not (recorded / "_reports" / "par_a" / "generation-5.html").exists()


@pytest.mark.parametrize(("command", "expected"), [
    (["run", "-m", "multiprocess_jb"],
     ["no module 'multiprocess_jb' in the working directory or the import path", "did you mean 'multiprocess_job'?",
      "'assets'"]),
    (["run", "-m", "assets.definitons"],
     ["no module 'assets.definitons' in package 'assets'", "did you mean 'assets.definitions'?",
      "modules there (6): 'assets.definitions', 'assets.defs', 'assets.dg_definitions', 'assets.pipeline'"]),
    (["report", "-m", "asets.definitions"],
     ["cannot import 'asets.definitions': no module 'asets'", "did you mean 'assets'?"]),
    (["run", "-m", "assets/definitions.py"],
     ["'assets/definitions.py' is not a module name", "the module 'assets.definitions'"]),
    (["report", "-m", "assets.pipeline"],
     ["module 'assets.pipeline' has no Dagster Definitions named `defs`"]),
    (["expectations", "init", "assets.pipeline:reference_pipelin"],
     ["no object 'reference_pipelin' in module 'assets.pipeline'", "did you mean 'reference_pipeline'?",
      "SynthPipeline objects there (1): 'reference_pipeline'"]),
    (["expectations", "init", "asset.pipeline:reference_pipeline"],
     ["cannot import 'asset.pipeline': no module 'asset'", "did you mean 'assets'?"]),
    (["expectations", "init", "assets.pipeline:REFERENCE_SPEC"],
     ["is a SynthPipelineSpec, not a SynthPipeline", "'reference_pipeline'"]),
    (["expectations", "init", "assets.pipeline"],
     ["'assets.pipeline' does not name an object: write MODULE:OBJECT"]),
], ids=lambda value: " ".join(value) if isinstance(value, list) and value[0] in ("run", "report", "expectations")
   else "")
def test_an_unknown_module_or_object_exits_2_listing_what_exists(capsys, tmp_path, command, expected):
    out_dir = tmp_path / "suites"
    extra = ["--out", str(out_dir)] if command[0] == "expectations" else ["--data-dir", str(tmp_path / "data")]
    if command[0] == "report":
        (tmp_path / "data").mkdir()
    code, _, err = cli(capsys, *command, *extra)
    assert_usage_error(code, err, *expected)
    assert not out_dir.exists() and not (tmp_path / "dagster_home").exists()
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_a_filter_that_exists_but_matches_no_rows_still_answers_with_exit_0(recorded, capsys):
    """Only names that match nothing are errors: known names whose combination has no rows are an answer."""
    data_dir = ["--data-dir", str(recorded), "--format", "json"]
    code, out, err = cli(capsys, "lineage", "checks", "--pipeline", "par_a", "--check", "synthetic_budget",
                         "--generation", "0", *data_dir)
    assert code == 0, err
    assert json.loads(out) == []  # synthetic_budget checks the training mix, which has no generation 0
    code, out, err = cli(capsys, "lineage", "holdout-audit", "--pipeline", "par_a", *data_dir)
    assert code == 0, err
    assert [row["pipeline"] for row in json.loads(out)] == ["par_a"]


# --- an empty or missing store is not a wrong name -----------------------------------------------------------

@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=lambda command: " ".join(command))
def test_a_data_dir_that_does_not_exist_is_a_usage_error_and_is_not_created(capsys, tmp_path, command):
    missing = tmp_path / "no_such_dir"
    code, out, err = cli(capsys, *command, "--data-dir", str(missing))
    assert_usage_error(code, err, f"--data-dir {missing} does not exist")
    assert not missing.exists()


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=lambda command: " ".join(command))
def test_an_empty_data_dir_says_nothing_is_recorded_yet_and_stays_empty(capsys, tmp_path, command):
    empty = tmp_path / "data"
    empty.mkdir()
    code, out, err = cli(capsys, *command, "--data-dir", str(empty))
    assert_usage_error(code, err, "nothing recorded yet", "run `synth-pipeline run` first")
    if command[0] == "lineage":
        assert str(empty / "lineage") in err
    else:
        assert f"for pipeline 'par_a' in {empty}" in err
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("command", LINEAGE_QUERIES, ids=lambda command: " ".join(command))
def test_the_default_data_dir_is_not_created_by_a_query(capsys, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "lineage", *command)
    assert_usage_error(code, err, f"nothing recorded yet in {tmp_path / '.synth_pipeline' / 'data' / 'lineage'}")
    assert list(tmp_path.iterdir()) == []


def test_a_data_dir_variable_naming_no_directory_is_named_in_the_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "typo"))
    code, _, err = cli(capsys, "lineage", "checks")
    assert_usage_error(code, err, f"${DATA_DIR_ENV} {tmp_path / 'typo'} does not exist")
    assert not (tmp_path / "typo").exists()


def test_a_store_whose_journal_is_gone_is_not_rebuilt_empty(recorded, capsys, tmp_path):
    """A store kept without its journal (a CI artifact) answers queries; `rebuild` refuses to empty it."""
    import shutil

    copy = tmp_path / "data"
    (copy / "lineage").mkdir(parents=True)
    shutil.copy(recorded / "lineage" / "lineage.duckdb", copy / "lineage" / "lineage.duckdb")
    code, out, err = cli(capsys, "lineage", "composition", "--data-dir", str(copy), "--format", "json")
    assert code == 0, err
    assert [row["pipeline"] for row in json.loads(out)] == ["par_a"]
    code, _, err = cli(capsys, "lineage", "rebuild", "--data-dir", str(copy))
    assert_usage_error(code, err, "nothing recorded yet in", "so a rebuild would leave")
    assert snapshot(copy)[1] == snapshot(recorded)[1]


# --- 9. numeric options are checked against their range ------------------------------------------------------

@pytest.mark.parametrize(("command", "option", "value", "allowed"), [
    (["lineage", "ancestors", "par_a/model"], "--max-hops", "-5", "of at least 0"),
    (["lineage", "descendants", "par_a/real_source"], "--max-hops", "-1", "of at least 0"),
    (["lineage", "ancestors", "par_a/model"], "--generation", "-1", "from 0 to 1,000,000"),
    (["lineage", "descendants", "--generator", "smote"], "--generation", "1000001", "from 0 to 1,000,000"),
    (["lineage", "checks"], "--generation", "-2", "from 0 to 1,000,000"),
    (["lineage", "checks"], "--generation", "two", "from 0 to 1,000,000"),
    (["report", *MODULE], "--generation", "0", "from 1 to 1,000,000"),
    (["run", *MODULE], "--generations", "0", "from 1 to 1,000"),
    (["run", *MODULE], "--generations", "1001", "from 1 to 1,000"),
    (["run", *MODULE], "--generations", "1.5", "from 1 to 1,000"),
    (["run", *MODULE], "--start", "0", "from 1 to 1,000,000"),
    (["run", *MODULE], "--start", "-3", "from 1 to 1,000,000"),
    (["run", *MODULE], "--epochs", "0", "from 1 to 100,000"),
], ids=lambda value: " ".join(value) if isinstance(value, list) else str(value))
def test_a_numeric_option_out_of_range_is_an_argparse_error_naming_option_value_and_range(
        recorded, capsys, tmp_path, command, option, value, allowed):
    data_dir = recorded if command[0] != "run" else tmp_path / "new_data"
    before = snapshot(recorded)
    code, out, err = cli(capsys, *command, f"{option}={value}", "--data-dir", str(data_dir))
    assert_usage_error(code, err, f"argument {option}: ", value, f"allowed: a whole number {allowed}", "usage:")
    assert out == ""
    assert snapshot(recorded) == before
    assert not (tmp_path / "new_data").exists() and not (tmp_path / "dagster_home").exists()


# --- 10. echoed input is cut ------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    [LONG],
    ["lineage", LONG],
    ["lineage", "checks", "--format", LONG],
    ["lineage", "checks", f"--format={LONG}"],
    ["lineage", "checks", LONG],
    ["lineage", "checks", "--generation", LONG_NUMBER],
    ["lineage", "checks", "--data-dir", LONG],
    ["lineage", "holdout-audit", "--pipeline", LONG],
    ["lineage", "composition", f"--pipeline={LONG}"],
    ["lineage", "checks", "--check", LONG],
    ["lineage", "ancestors", LONG],
    ["lineage", "ancestors", "par_a/model", "--version", LONG],
    ["lineage", "descendants", "--generator", LONG],
    ["lineage", "descendants", LONG, "--generator", "smote"],
    ["report", *MODULE, "--pipeline", LONG],
    ["report", *MODULE, "--out", LONG],
    ["report", "-m", LONG],
    ["run", "-m", LONG],
    ["run", f"-m{LONG}"],
    ["run", *MODULE, "--pipeline", LONG],
    ["run", "--source", f"/tmp/{LONG}.csv"],
    ["run", "--summary", LONG],
    ["run", "--mode", LONG],
    ["expectations", LONG, "assets.pipeline:reference_pipeline"],
    ["expectations", "init", LONG],
    ["expectations", "init", f"assets.pipeline:{LONG}"],
    ["expectations", "init", f"{LONG}:reference_pipeline"],
], ids=lambda command: " ".join(part if len(part) < 50 else f"<{len(part):,} characters>" for part in command))
def test_a_100000_character_argument_is_echoed_cut(recorded, capsys, command):
    data_dir = ["--data-dir", str(recorded)] if command[0] == "lineage" and "--data-dir" not in command else []
    code, out, err = cli(capsys, *command, *data_dir)
    assert_usage_error(code, err, "x" * 190 if LONG in "".join(command) else "9" * 200)  # its start
    assert "characters)" in err and "100,0" in err  # e.g. "... (100,000 characters)"
    assert LONG not in err and LONG_NUMBER not in err
    assert len(err) < 3_000


def test_a_long_path_is_cut_in_the_error_of_the_file_it_names(capsys, tmp_path):
    """A path short enough to be valid, too long to echo: the policy file's own error cuts it."""
    policy = tmp_path / ("p" * 250) / "policy.yaml"
    code, _, err = cli(capsys, "run", *MODULE, "--policy", str(policy), "--data-dir", str(tmp_path / "data"))
    assert_usage_error(code, err, "policy file", f"... ({len(str(policy)):,} characters)")
    assert str(policy) not in err
    assert not (tmp_path / "data").exists()


def test_a_failed_run_still_exits_1_and_cuts_the_long_source_path_its_step_error_repeats(capsys, tmp_path):
    """A run failure is not a usage error (exit 1, as before); only the echo of the path is cut."""
    source = tmp_path / ("d" * 250) / "missing.csv"
    code, out, err = cli(capsys, "run", *MODULE, "--pipeline", "par_a", "--source", str(source),
                         "--data-dir", str(tmp_path / "data"))
    assert code == 1, err
    assert "generation 1 FAILED" in out
    [line] = [line for line in err.splitlines() if line.startswith("step par_a__real_source FAILED")]
    assert f"... ({len(str(source)):,} characters) not found" in line, line
    assert str(source) not in err


# --- siblings: options that would be ignored, or found wrong only after the runs ------------------------------

@pytest.mark.parametrize(("command", "expected"), [
    (["lineage", "descendants", "par_a/model", "--pipeline", "par_a"], "--pipeline applies only with --generator"),
    (["lineage", "descendants", "--generator", "smote", "--version", "v"], "--version applies only with a dataset"),
    (["lineage", "descendants", "par_a/model", "--generator", "smote"], "give either a dataset ('par_a/model') or"),
    (["lineage", "descendants"], "needs a dataset name"),
    (["lineage", "ancestors"], "needs a dataset name"),
], ids=lambda value: " ".join(value) if isinstance(value, list) else "")
def test_options_that_would_be_ignored_are_usage_errors(recorded, capsys, command, expected):
    code, out, err = cli(capsys, *command, "--data-dir", str(recorded))
    assert_usage_error(code, err, expected)
    assert out == ""


def test_start_and_next_together_are_a_usage_error(capsys, tmp_path):
    code, _, err = cli(capsys, "run", *MODULE, "--start", "2", "--next", "--data-dir", str(tmp_path / "data"))
    assert_usage_error(code, err, "argument --next: not allowed with argument --start")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("where", ["missing_dir/summary.md", "."])
def test_a_summary_file_that_cannot_be_written_is_refused_before_any_run(capsys, tmp_path, where):
    summary = tmp_path / where
    code, out, err = cli(capsys, "run", *MODULE, "--pipeline", "par_a", "--summary", str(summary),
                         "--data-dir", str(tmp_path / "data"))
    assert_usage_error(code, err, "--summary")
    assert out == ""  # no generation was started
    assert not (tmp_path / "data").exists() and not (tmp_path / "dagster_home").exists()


def test_a_long_list_of_what_exists_is_bounded():
    """At most 20 names are listed, then "and N more"; the count gives the total."""
    from synth_pipeline.user_input import listing, unknown_name

    names = [f"pipeline_{i:03d}" for i in range(150)]
    message = unknown_name("pipeline", "pipeline_15x", names, where="in the lineage store")
    assert "pipelines there (150): 'pipeline_000'" in message
    assert message.endswith("'pipeline_019' and 130 more")
    assert listing([]) == "none"


def test_run_takes_no_abbreviated_options(capsys, tmp_path):
    """`run --generation 99` (the option of report and lineage) once ran 99 generations as `--generations`."""
    code, _, err = cli(capsys, "run", *MODULE, "--pipeline", "par_a", "--generation", "99",
                       "--data-dir", str(tmp_path / "data"))
    assert_usage_error(code, err, "unrecognized arguments: --generation 99")
    assert not (tmp_path / "data").exists()


def test_a_policy_file_changes_only_the_fields_it_names_and_an_empty_one_is_refused(capsys, tmp_path):
    """`--policy FILE` naming one field kept every other limit at the package default, which can be
    looser than the policy bound in the definitions; an empty file put them all back."""
    from synth_pipeline import SynthPolicy
    from synth_pipeline.cli import _policy_over_bound
    from synth_pipeline.user_modules import load_definitions

    defs = load_definitions("multiprocess_job")
    bound = defs.resources["par_a_policy"]
    partial = tmp_path / "partial.yaml"
    partial.write_text("max_depth: 2\n")
    merged = _policy_over_bound(defs, "par_a", SynthPolicy.from_yaml(partial), str(partial))
    assert merged.max_depth == 2
    assert {k: v for k, v in merged.to_mapping().items() if k != "max_depth"} == {
        k: v for k, v in bound.to_mapping().items() if k != "max_depth"}
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing set\n")
    code, _, err = cli(capsys, "run", *MODULE, "--pipeline", "par_a", "--policy", str(empty),
                       "--data-dir", str(tmp_path / "data"))
    assert_usage_error(code, err, "sets no field")
    assert not (tmp_path / "data").exists()
