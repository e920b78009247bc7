"""The ``synth-pipeline`` command.

Only what every command needs is imported here; what imports Dagster (the definitions,
the runner, the policy, the reports) is imported by the commands that use it, so that
``synth-pipeline lineage`` without ``-m`` (and ``--help``) never loads Dagster.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth_pipeline.cli_validation import (
    MAX_EPOCHS,
    MAX_GENERATION,
    MAX_GENERATIONS_PER_RUN,
    CliArgumentParser,
    existing_directory,
    int_range,
    path_argument,
)
from synth_pipeline.data_dir import DATA_DIR_ENV
from synth_pipeline.errors import NothingRecordedError, SynthPipelineError
from synth_pipeline.generators.registry import known_methods
from synth_pipeline.lineage_cli import add_lineage_parser, run_lineage
from synth_pipeline.spec_choices import FitOn, GenerationMode
from synth_pipeline.user_input import cut, cut_echoes, quoted, require_known

if TYPE_CHECKING:
    from synth_pipeline.cli_definitions import BoundDefinitions
    from synth_pipeline.naming import Stage
    from synth_pipeline.policy import SynthPolicy

_MESSAGE_LIMIT = 5_000  # characters of one error message, whatever it repeats

BUSY_EXIT_CODE = 3
"""``synth-pipeline run --no-wait`` found the data directory in use by another run; nothing was run."""


def _parser() -> argparse.ArgumentParser:
    parser = CliArgumentParser(
        prog="synth-pipeline",
        description="Provenance-tagged real / synthetic / augmented / unknown data pipelines on Dagster.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run",
        help="materialize every stage of a pipeline for one or more generations",
        description="Materialize every stage for generations START..START+N-1 and print a summary per generation.",
    )
    _add_definitions_options(run, "")
    run.add_argument("--pipeline", help="pipeline name, when the definitions hold more than one (e.g. two "
                     "components of a dg project)")
    run.add_argument("--generations", type=int_range(1, MAX_GENERATIONS_PER_RUN), default=1, metavar="N",
                     help=f"how many generations to run, 1 to {MAX_GENERATIONS_PER_RUN:,} (default: 1)")
    first = run.add_mutually_exclusive_group()
    first.add_argument("--start", type=int_range(1, MAX_GENERATION), default=1, metavar="G",
                       help="first generation to run (default: 1)")
    first.add_argument("--next", action="store_true",
                       help="start after the last generation whose training mix is materialized (for CI and cron)")
    run.add_argument("--summary", metavar="FILE", type=path_argument,
                     help="append a Markdown summary to FILE (e.g. $GITHUB_STEP_SUMMARY in GitHub Actions)")
    run.add_argument("--mode", choices=[m.value for m in GenerationMode], help="override the spec's mix mode")
    run.add_argument("--fit-on", choices=[f.value for f in FitOn], help="override what the synthesizer is fitted on")
    run.add_argument("--synthesizer", choices=known_methods(), help="override the generator (a built-in name)")
    run.add_argument("--epochs", type=int_range(1, MAX_EPOCHS), metavar="N", help="training epochs for ctgan / tvae")
    run.add_argument("--source", metavar="PATH", type=path_argument,
                     help="CSV, Parquet or JSON Lines file for the real source (same label column); its directory "
                     "is allowed as an input directory for these runs only")
    run.add_argument("--data-dir", metavar="DIR", type=path_argument,
                     help="where stage outputs are stored when the definitions set no data_dir, created if need "
                     f"be (default: ${DATA_DIR_ENV} or ./.synth_pipeline/data); another directory than the "
                     "definitions' own is an error")
    run.add_argument("--policy", metavar="FILE", type=path_argument,
                     help="YAML policy for these runs (overrides the one in the definitions)")
    run.add_argument("--keep-going", action="store_true",
                     help="run the remaining generations after one fails (simulations); exit code still 1")
    run.add_argument("--verbose", action="store_true", help="show Dagster's step logs")
    run.add_argument("--no-wait", action="store_true",
                     help=f"exit {BUSY_EXIT_CODE} at once if another run is using the data directory, "
                     "instead of waiting for it")
    report = commands.add_parser(
        "report", help="(re)build a generation's HTML report from the stored data",
        description="Build the HTML report of one generation (plots of every generation up to it) from the "
        "stored training mixes, evaluations and quality figures, without running anything.",
    )
    _add_definitions_options(report, ", as given to `run`; the pipeline's dataset store names the data directory")
    report.add_argument("--pipeline", help="pipeline name, when the definitions hold more than one")
    report.add_argument("--generation", type=int_range(1, MAX_GENERATION), metavar="G",
                        help="the generation to report on, one with stored data (default: the last generation run, "
                        "blocked or not)")
    report.add_argument("--out", metavar="FILE", type=path_argument,
                        help="write the page here (default: <data dir>/_reports/<pipeline>/generation-<G>.html)")
    report.add_argument("--data-dir", metavar="DIR", type=path_argument,
                        help="where stage outputs are stored when the definitions set no data_dir; must exist "
                        f"(default: ${DATA_DIR_ENV} or ./.synth_pipeline/data)")
    add_lineage_parser(commands)
    expectations = commands.add_parser(
        "expectations", help="Great Expectations suites of a pipeline's stages",
        description="Write one GX suite file per data stage (<DIR>/<stage>.json) from the pipeline's real "
        "source: schema, provenance columns and the real data's value ranges. Edit them afterwards at will.",
    )
    expectations.add_argument("action", choices=["init"])
    expectations.add_argument("pipeline", metavar="MODULE:OBJECT",
                              help="the SynthPipeline object, e.g. assets.pipeline:reference_pipeline")
    expectations.add_argument("--out", metavar="DIR", default="checks/expectations", type=path_argument,
                              help="directory for the suite files (default: %(default)s)")
    expectations.add_argument("--force", action="store_true", help="overwrite existing suite files")
    return parser


def _add_definitions_options(parser: argparse.ArgumentParser, purpose: str) -> None:
    """``-m MODULE`` or ``-f FILE``: where the Dagster definitions are (as for ``dagster dev``)."""
    from synth_pipeline.user_modules import DEFAULT_DEFINITIONS_MODULE

    where = parser.add_mutually_exclusive_group()
    where.add_argument("-m", "--module",
                       help="module holding the Dagster Definitions: `defs`, or a function decorated with "
                       f"@dg.definitions (a dg project's definitions module){purpose} (default: "
                       f"{DEFAULT_DEFINITIONS_MODULE}, the reference pipeline)")
    where.add_argument("-f", "--python-file", metavar="FILE", type=path_argument,
                       help="Python file holding the Dagster Definitions, instead of -m")


def _target(args: argparse.Namespace):
    """Where the command loads the definitions from (``-m`` / ``-f``; default: the reference module)."""
    from synth_pipeline.user_modules import DefinitionsTarget

    return DefinitionsTarget.of(module=args.module, python_file=args.python_file)


def _command(bound: BoundDefinitions, command: str, *options: str) -> str:
    """``synth-pipeline COMMAND`` with the ``-m`` / ``-f`` and ``--pipeline`` that load ``bound`` again."""
    from synth_pipeline.runner import pipeline_names

    words = ["synth-pipeline", *command.split()]
    if not bound.target.is_default:
        words += bound.target.arguments()
    if bound.pipeline is not None and len(pipeline_names(bound.defs)) > 1:
        words += ["--pipeline", bound.pipeline]
    return shlex.join([*words, *options])


def _source(args: argparse.Namespace) -> Path | None:
    """The ``--source`` file, absolute (None if not given)."""
    return Path(args.source).absolute() if args.source else None


def _stage_config(args: argparse.Namespace) -> dict[Stage, dict]:
    """Run config per stage from the options that override the spec (``--synthesizer``, ``--mode``, ``--source``...)."""
    from synth_pipeline.naming import Stage

    config: dict[Stage, dict] = {}
    synthetic = {"method": args.synthesizer, "fit_on": args.fit_on, "epochs": args.epochs}
    synthetic = {key: value for key, value in synthetic.items() if value is not None}
    if synthetic:
        config[Stage.SYNTHETIC] = synthetic
    if args.mode:
        config[Stage.TRAINING_MIX] = {"mode": args.mode}
    source = _source(args)
    if source is not None:
        config[Stage.REAL_SOURCE] = {"path": str(source)}
    return config


def _run(args: argparse.Namespace) -> int:
    from synth_pipeline.cli_definitions import load_bound_definitions
    from synth_pipeline.policy import SynthPolicy
    from synth_pipeline.runner import dagster_home, default_instance, hold_data_dir

    if args.summary is not None:
        _require_writable_file("--summary", args.summary)  # not found out after the runs
    policy = SynthPolicy.from_yaml(args.policy) if args.policy else None  # a bad file: exit 2 before any run
    # Run config may only name files under the data directory or an allowed input directory; the
    # --source file's directory is allowed for these runs: bound in the store, not the environment.
    source = _source(args)
    bound = load_bound_definitions(_target(args), data_dir=args.data_dir,
                                   input_dirs=[source.parent] if source is not None else [],
                                   pipeline=args.pipeline, pipeline_required=True)
    pipeline = str(bound.pipeline)
    if policy is not None:
        policy = _policy_over_bound(bound.defs, pipeline, policy, args.policy)
    home = dagster_home()
    instance = default_instance(home)
    # One run per data directory at a time, held from choosing the generation (--next) to the lineage sync.
    command = shlex.join(["synth-pipeline", *args.argv])
    with hold_data_dir(bound.defs, instance=instance, command=command, wait=not args.no_wait, report=_say,
                       pipeline=pipeline):
        return _run_holding_lock(args, bound, pipeline, instance, home, policy)


def _require_previous_generation_run(bound: BoundDefinitions, start: int, count: int) -> None:
    """Refuse ``--start G`` when generation G-1 was never run in the data directory, before any run: generations
    are a sequence (each builds on, and is checked against, the one before), and such a run would fit and store
    generation G's first tables before failing.

    Raises:
        GenerationError: Naming the generations stored and the command that runs the missing ones in order.
    """
    from synth_pipeline.errors import GenerationError
    from synth_pipeline.stages.previous import generation_stored, stored_generation_numbers

    if start == 1:
        return
    store, mix_key = _store_and_mix(bound.defs, str(bound.pipeline))
    if generation_stored(store, mix_key, start - 1):
        return
    stored = stored_generation_numbers(store, mix_key)
    first = next(g for g in range(1, start) if g not in stored)
    last = start + count - 1
    run = _command(bound, "run")
    raise GenerationError(
        f"--start {start}: generation {start - 1} has not been run under {store.stage_location} "
        f"(generations stored: {_generation_ranges(stored) or 'none'}), and generation {start} builds on it. Run "
        f"the generations in order: {run} --start {first} --generations {last - first + 1} (generations {first} to "
        f"{last}), or {run} --next to run the next one")


def _generation_ranges(generations: list[int]) -> str:
    """``1-4, 7`` for [1, 2, 3, 4, 7]."""
    ranges: list[list[int]] = []
    for generation in generations:
        if ranges and generation == ranges[-1][1] + 1:
            ranges[-1][1] = generation
        else:
            ranges.append([generation, generation])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def _policy_over_bound(defs: Any, pipeline: str, from_file: SynthPolicy, path: str) -> SynthPolicy:
    """The policy bound in the definitions with the fields the ``--policy`` file sets (only those).

    A file that names two fields must not silently put every other limit back to the package
    defaults, which may be looser than the team's own; and a file that sets nothing is a mistake.

    Raises:
        ConfigValueError: The file sets no field.
    """
    from synth_pipeline.errors import ConfigValueError
    from synth_pipeline.factory import policy_resource_key
    from synth_pipeline.policy import SynthPolicy

    named = sorted(from_file.model_fields_set)
    if not named:
        raise ConfigValueError(f"--policy {cut(path)} sets no field; name the limits to change, e.g. 'max_depth: 2' "
                               "(the policy in the definitions applies without --policy)")
    bound = (defs.resources or {}).get(policy_resource_key(pipeline))
    base = bound.to_mapping() if isinstance(bound, SynthPolicy) else {}
    return SynthPolicy.from_mapping({**base, **{name: getattr(from_file, name) for name in named}})


def _say(line: str) -> None:
    print(line, flush=True)


def _run_holding_lock(args: argparse.Namespace, bound: BoundDefinitions, pipeline: str, instance, home: Path,
                      policy: SynthPolicy | None) -> int:
    from synth_pipeline.generation_verdict import GenerationStatus
    from synth_pipeline.reporting import (
        Progress,
        check_failures,
        generation_summary,
        markdown_summary,
        written_report_path,
    )
    from synth_pipeline.rerun_command import definitions_tag
    from synth_pipeline.runner import dataset_store, run_generations

    defs = bound.defs
    store = dataset_store(defs, pipeline)
    data_dir = store.root
    print(f"pipeline {pipeline}: data in {data_dir} (from {bound.data_dir.origin}), Dagster home {home}", flush=True)
    start = args.start
    if args.next:
        from synth_pipeline.runner import next_generation_to_run

        start = next_generation_to_run(defs, pipeline=pipeline, instance=instance)
    else:
        _require_previous_generation_run(bound, start, args.generations)
    generations = list(range(start, start + args.generations))
    progress = Progress(len(generations))
    failed = False
    run_ids: list[str] = []
    for run in run_generations(
        defs, pipeline=pipeline, generations=generations, instance=instance,
        stage_config=_stage_config(args), quiet=not args.verbose,
        policy=policy, keep_going=args.keep_going,
        on_start=lambda g: print(f"\n{progress.starting(g)}", flush=True), tags=definitions_tag(bound.target),
    ):
        run_ids.append(run.run_id)
        verdict = run.verdict
        status = "done" if run.success else ("BLOCKED" if verdict.status is GenerationStatus.BLOCKED else "FAILED")
        print(f"generation {run.generation} {status} in {run.seconds:.1f}s (Dagster run {run.run_id})")
        print(generation_summary(run, store))
        if not run.success and written_report_path(run) is None:
            # The evaluation did not run, so it wrote no report: build one from what is stored
            # (e.g. the figures of the check that failed), for the user to look at.
            try:
                written = _write_report(bound, run.generation, run_id=run.run_id, step_errors=run.failures)
                print(f"report (stored figures; generation {run.generation} was not evaluated): {written.path}")
            except Exception as error:  # a missing report must not hide the run's own failure
                print(f"report not written: {type(error).__name__}: {error}", file=sys.stderr)
        if not run.success:
            print(cut_echoes(verdict.headline(), args.argv), file=sys.stderr)
        for line in check_failures(run):
            print(line, file=sys.stderr)
        for step, message in run.failures:
            # A step's error may repeat a path given here (--source), however long.
            print(cut_echoes(f"step {step} FAILED: {message}", args.argv), file=sys.stderr)
        if args.summary:
            with open(args.summary, "a") as handle:
                handle.write(markdown_summary(pipeline, run, store))
        failed = failed or not run.success
    print(f"\n{_lineage_summary(data_dir, run_ids, _command(bound, 'lineage composition'))}")
    return 1 if failed else 0


def _lineage_summary(data_dir: Path, run_ids: list[str], query: str) -> str:
    """Sync the lineage store of ``data_dir`` (the bound store's) and say what it holds of these runs.

    The count is of the events the runs' steps journaled that the store holds, whoever synced
    them (a lineage query run meanwhile syncs too), not only those this sync added.
    """
    from synth_pipeline.lineage.store import LineageStore

    store = LineageStore(data_dir)
    store.sync()
    events = store.events_of_runs(run_ids)
    runs = "the run" if len(run_ids) == 1 else f"the {len(run_ids)} runs"
    return f"lineage: {events} events of {runs} recorded in {store.path} (query: {query})"


def _require_writable_file(option: str, path: str) -> None:
    """A file to be written later must have a directory to go in (and not be a directory)."""
    target = Path(path).expanduser().absolute()
    if target.is_dir():
        raise SynthPipelineError(f"{option} {cut(str(target))} is a directory, not a file")
    if not target.parent.is_dir():
        raise SynthPipelineError(f"{option} {cut(str(target))}: its directory {cut(str(target.parent))} does "
                                 "not exist")


def _write_report(bound: BoundDefinitions, generation: int | None, out: Path | None = None,
                  run_id: str | None = None, step_errors: Sequence[tuple[str, str]] = ()):
    """Build a generation's report of the bound pipeline from the stored files (default: the last generation
    with anything stored, whether or not it reached its training mix), as the run ``run_id`` left it (default:
    the generation's latest run)."""
    from synth_pipeline.naming import Stage
    from synth_pipeline.report import build_generation_report
    from synth_pipeline.runner import dataset_store, pipeline_stages
    from synth_pipeline.stages.evaluation import LABEL_COLUMN_METADATA
    from synth_pipeline.stages.previous import stored_generation_numbers

    defs, pipeline = bound.defs, str(bound.pipeline)
    keys = {stage: key for stage, (key, _) in pipeline_stages(defs, pipeline).items()}
    store = dataset_store(defs, pipeline)
    if generation is None:
        started = stored_generation_numbers(store, keys[Stage.TRAINING_MIX])
        if not started:
            raise SynthPipelineError(
                f"nothing of {pipeline} is stored under {store.stage_location}; run a generation first "
                f"({_command(bound, 'run')}), or pass the module of your runs with -m (or -f, or --data-dir)"
            )
        generation = started[-1]  # the last generation run, blocked or not: its report says which
    if generation < 1:
        raise SynthPipelineError("--generation must be at least 1")
    label = defs.resolve_asset_graph().get(keys[Stage.EVALUATION]).metadata.get(LABEL_COLUMN_METADATA)
    return build_generation_report(store, keys, pipeline=pipeline, generation=generation, label_column=label,
                                   out=out, run_id=run_id, step_errors=step_errors)


def _report(args: argparse.Namespace) -> int:
    if args.data_dir:
        existing_directory("--data-dir", args.data_dir)  # a typo: refused before importing anything
    from synth_pipeline.cli_definitions import load_bound_definitions

    bound = load_bound_definitions(_target(args), data_dir=args.data_dir, existing=True, pipeline=args.pipeline,
                                   pipeline_required=True)
    pipeline = str(bound.pipeline)
    _require_stored_generation(bound.defs, pipeline, args.generation)
    written = _write_report(bound, args.generation, Path(args.out).absolute() if args.out else None)
    print(f"report of {pipeline}, generation {written.generation}: {written.path} ({written.plots} plots, "
          f"{written.seconds:.1f}s)")
    if args.generation is None and (note := _last_mix_note(bound, written.generation)):
        print(note)
    return 0


def _last_mix_note(bound: BoundDefinitions, generation: int) -> str:
    """A line for a default report of a generation that stopped before its training mix: which generation
    last reached one, and the command for its report; empty when the generation has its mix."""
    store, mix_key = _store_and_mix(bound.defs, str(bound.pipeline))
    mixes = store.stored_generations(mix_key)
    if generation in mixes:
        return ""
    if not mixes:
        return f"generation {generation} stopped before its training mix, and no generation has one stored yet"
    return (f"generation {generation} stopped before its training mix; the last generation with one is {mixes[-1]}: "
            f"{_command(bound, 'report', '--generation', str(mixes[-1]))}")


def _store_and_mix(defs, pipeline: str):
    """``pipeline``'s dataset store and its training mix's asset key (the stage whose generations the
    commands about stored generations read)."""
    from synth_pipeline.naming import Stage
    from synth_pipeline.runner import dataset_store, pipeline_stages

    return dataset_store(defs, pipeline), pipeline_stages(defs, pipeline)[Stage.TRAINING_MIX][0]


def _require_stored_generation(defs, pipeline: str, generation: int | None) -> None:
    """Something of ``pipeline`` is stored, and of ``generation`` if one is asked for.

    Raises:
        NothingRecordedError: Nothing of the pipeline is stored in the data directory.
        UnknownNameError: Nothing of that generation is stored; the message lists those that are.
    """
    from synth_pipeline.stages.previous import stored_generation_numbers

    store, mix_key = _store_and_mix(defs, pipeline)
    stored = stored_generation_numbers(store, mix_key)
    if not stored:
        raise NothingRecordedError(f"nothing recorded yet for pipeline {quoted(pipeline)} in {cut(str(store.root))}; "
                                   "run `synth-pipeline run` first, or pass the module of your runs with -m MODULE "
                                   "(or its file with -f FILE, or --data-dir DIR)")
    if generation is not None:
        require_known("generation", generation, stored,
                      where=f"of pipeline {quoted(pipeline)} is stored in {cut(str(store.root))}",
                      plural="generations stored")


def _expectations(args: argparse.Namespace) -> int:
    from synth_pipeline.checks.provenance_checks import DATA_STAGES
    from synth_pipeline.factory import import_pipeline
    from synth_pipeline.quality.expectations import write_suites
    from synth_pipeline.sources import load_source

    pipeline = import_pipeline(args.pipeline)
    written = write_suites(
        load_source(pipeline.spec.real_source), stages=[s for s in DATA_STAGES if s in pipeline.stages],
        directory=Path(args.out), pipeline_name=pipeline.name, label_column=pipeline.spec.label_column,
        overwrite=args.force, identifiers=pipeline.spec.identifier_columns, task=pipeline.spec.task,
        text_columns=pipeline.spec.text_columns,
    )
    for path in written:
        print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``synth-pipeline`` console script.

    Returns:
        The exit code: 0 when everything succeeded, 1 when a run or a check failed, 2 on a
        usage error (argparse's own errors exit with 2 through ``SystemExit``), 3 when
        ``run --no-wait`` found the data directory in use.
    """
    arguments = tuple(str(argument) for argument in (sys.argv[1:] if argv is None else argv))
    args = _parser().parse_args(arguments)
    args.argv = arguments  # for cutting long arguments a command's messages repeat
    commands = {"lineage": run_lineage, "expectations": _expectations, "run": _run, "report": _report}
    try:
        return commands[args.command](args)
    except SynthPipelineError as error:
        # Imported here: only ``run`` takes the run lock (and imports filelock for it).
        from synth_pipeline.run_lock import DataDirBusyError

        if isinstance(error, DataDirBusyError):
            print(f"synth-pipeline: {cut(cut_echoes(str(error), arguments), _MESSAGE_LIMIT)}", file=sys.stderr)
            return BUSY_EXIT_CODE
        message = cut(cut_echoes(str(error), arguments), _MESSAGE_LIMIT)
        print(f"synth-pipeline: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
