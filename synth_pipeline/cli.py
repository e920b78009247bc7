"""The ``synth-pipeline`` command."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from synth_pipeline.config_paths import INPUT_DIRS_ENV
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.lineage_cli import add_lineage_parser, run_lineage
from synth_pipeline.naming import Stage
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.reporting import Progress, check_failures, generation_summary, markdown_summary, written_report_path
from synth_pipeline.spec import FitOn, GenerationMode, SynthesizerMethod
from synth_pipeline.storage import DATA_DIR_ENV, resolve_data_dir


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="synth-pipeline",
        description="Provenance-tagged real / synthetic / augmented / unknown data pipelines on Dagster.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run",
        help="materialize every stage of a pipeline for one or more generations",
        description="Materialize every stage for generations START..START+N-1 and print a summary per generation.",
    )
    run.add_argument("-m", "--module", default="assets.definitions",
                     help="module holding the Dagster Definitions as `defs` "
                     "(default: %(default)s, the reference pipeline)")
    run.add_argument("--pipeline", help="pipeline name, when the definitions hold more than one")
    run.add_argument("--generations", type=int, default=1, metavar="N", help="how many generations to run (default: 1)")
    run.add_argument("--start", type=int, default=1, metavar="G", help="first generation to run (default: 1)")
    run.add_argument("--next", action="store_true",
                     help="start after the last generation whose training mix is materialized (for CI and cron)")
    run.add_argument("--summary", metavar="FILE",
                     help="append a Markdown summary to FILE (e.g. $GITHUB_STEP_SUMMARY in GitHub Actions)")
    run.add_argument("--mode", choices=[m.value for m in GenerationMode], help="override the spec's mix mode")
    run.add_argument("--fit-on", choices=[f.value for f in FitOn], help="override what the synthesizer is fitted on")
    run.add_argument("--synthesizer", choices=[m.value for m in SynthesizerMethod], help="override the synthesizer")
    run.add_argument("--epochs", type=int, help="training epochs for ctgan / tvae")
    run.add_argument("--source", metavar="PATH",
                     help="CSV or Parquet file for the real source (same label column); its directory "
                     f"is allowed as an input directory for these runs (${INPUT_DIRS_ENV})")
    run.add_argument("--data-dir", metavar="DIR",
                     help=f"where stage outputs are stored (default: ${DATA_DIR_ENV} or ./.synth_pipeline/data)")
    run.add_argument("--policy", metavar="FILE",
                     help="YAML policy for these runs (overrides the one in the definitions)")
    run.add_argument("--keep-going", action="store_true",
                     help="run the remaining generations after one fails (simulations); exit code still 1")
    run.add_argument("--verbose", action="store_true", help="show Dagster's step logs")
    report = commands.add_parser(
        "report", help="(re)build a generation's HTML report from the stored data",
        description="Build the HTML report of one generation (plots of every generation up to it) from the "
        "stored training mixes, evaluations and quality figures, without running anything.",
    )
    report.add_argument("-m", "--module", default="assets.definitions",
                        help="module holding the Dagster Definitions as `defs` (default: %(default)s)")
    report.add_argument("--pipeline", help="pipeline name, when the definitions hold more than one")
    report.add_argument("--generation", type=int, metavar="G",
                        help="the generation to report on (default: the last with a stored training mix)")
    report.add_argument("--out", metavar="FILE",
                        help="write the page here (default: <data dir>/_reports/<pipeline>/generation-<G>.html)")
    report.add_argument("--data-dir", metavar="DIR",
                        help=f"where stage outputs are stored (default: ${DATA_DIR_ENV} or ./.synth_pipeline/data)")
    add_lineage_parser(commands)
    expectations = commands.add_parser(
        "expectations", help="Great Expectations suites of a pipeline's stages",
        description="Write one GX suite file per data stage (<DIR>/<stage>.json) from the pipeline's real "
        "source: schema, provenance columns and the real data's value ranges. Edit them afterwards at will.",
    )
    expectations.add_argument("action", choices=["init"])
    expectations.add_argument("pipeline", metavar="MODULE:OBJECT",
                              help="the SynthPipeline object, e.g. assets.pipeline:reference_pipeline")
    expectations.add_argument("--out", metavar="DIR", default="checks/expectations",
                              help="directory for the suite files (default: %(default)s)")
    expectations.add_argument("--force", action="store_true", help="overwrite existing suite files")
    return parser


def _load_definitions(module_name: str):
    import dagster as dg

    sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise SynthPipelineError(
            f"cannot import {module_name!r} ({error}); run from the project directory or pass -m MODULE"
        ) from error
    defs = getattr(module, "defs", None)
    if not isinstance(defs, dg.Definitions):
        raise SynthPipelineError(f"module {module_name!r} has no Dagster Definitions named `defs`")
    return defs


def _stage_config(args: argparse.Namespace) -> dict[Stage, dict]:
    config: dict[Stage, dict] = {}
    synthetic = {"method": args.synthesizer, "fit_on": args.fit_on, "epochs": args.epochs}
    synthetic = {key: value for key, value in synthetic.items() if value is not None}
    if synthetic:
        config[Stage.SYNTHETIC] = synthetic
    if args.mode:
        config[Stage.TRAINING_MIX] = {"mode": args.mode}
    if args.source:
        source = Path(args.source).absolute()
        config[Stage.REAL_SOURCE] = {"path": str(source)}
        # Run config may only name files under the data directory or an allowed input directory;
        # the file given on this command line is allowed for this process's runs.
        allowed = [part for part in os.environ.get(INPUT_DIRS_ENV, "").split(os.pathsep) if part]
        os.environ[INPUT_DIRS_ENV] = os.pathsep.join([*allowed, str(source.parent)])
    return config


def _run(args: argparse.Namespace) -> int:
    from synth_pipeline.runner import default_instance, run_generations

    if args.generations < 1 or args.start < 1:
        raise SynthPipelineError("--generations and --start must be at least 1")
    policy = SynthPolicy.from_yaml(args.policy) if args.policy else None  # a bad file: exit 2 before any run
    if args.data_dir:
        os.environ[DATA_DIR_ENV] = str(Path(args.data_dir).absolute())
    defs = _load_definitions(args.module)
    pipeline = _choose_pipeline(defs, args)
    instance = default_instance()
    print(f"pipeline {pipeline}: data in {resolve_data_dir()}, Dagster home {os.environ['DAGSTER_HOME']}", flush=True)
    start = args.start
    if args.next:
        from synth_pipeline.runner import next_generation_to_run

        start = next_generation_to_run(defs, pipeline=pipeline, instance=instance)
    generations = list(range(start, start + args.generations))
    progress = Progress(len(generations))
    failed = False
    for run in run_generations(
        defs, pipeline=pipeline, generations=generations, instance=instance,
        stage_config=_stage_config(args), quiet=not args.verbose,
        policy=policy, keep_going=args.keep_going,
        on_start=lambda g: print(f"\n{progress.starting(g)}", flush=True),
    ):
        status = "done" if run.success else "FAILED"
        print(f"generation {run.generation} {status} in {run.seconds:.1f}s (Dagster run {run.run_id})")
        print(generation_summary(run))
        if not run.success and written_report_path(run) is None:
            # The evaluation did not run, so it wrote no report: build one from what is stored
            # (e.g. the figures of the check that failed), for the user to look at.
            try:
                written = _write_report(defs, pipeline, run.generation)
                print(f"report (stored figures; generation {run.generation} was not evaluated): {written.path}")
            except Exception as error:  # a missing report must not hide the run's own failure
                print(f"report not written: {type(error).__name__}: {error}", file=sys.stderr)
        for line in check_failures(run):
            print(line, file=sys.stderr)
        for step, message in run.failures:
            print(f"step {step} FAILED: {message}", file=sys.stderr)
        if args.summary:
            with open(args.summary, "a") as handle:
                handle.write(markdown_summary(pipeline, run))
        failed = failed or not run.success
    from synth_pipeline.lineage.store import LineageStore

    store = LineageStore()
    report = store.sync()
    print(f"\nlineage: {report.events} new events recorded in {store.path} (query: synth-pipeline lineage --help)")
    return 1 if failed else 0


def _choose_pipeline(defs, args: argparse.Namespace) -> str:
    from synth_pipeline.runner import pipeline_names

    names = pipeline_names(defs)
    if args.pipeline is None and len(names) != 1:
        raise SynthPipelineError(f"{args.module} holds pipelines {names}; choose one with --pipeline")
    if args.pipeline is not None and args.pipeline not in names:
        raise SynthPipelineError(f"no synth-pipeline named {args.pipeline!r} in {args.module}; found {names}")
    return args.pipeline or names[0]


def _write_report(defs, pipeline: str, generation: int | None, out: Path | None = None):
    """Build a generation's report from the stored files (default: the last stored training mix's)."""
    from synth_pipeline.report import build_generation_report
    from synth_pipeline.runner import dataset_store, pipeline_stages
    from synth_pipeline.stages.evaluation import LABEL_COLUMN_METADATA
    from synth_pipeline.stages.previous import generation_stored, missing_mix_explanation

    keys = {stage: key for stage, (key, _) in pipeline_stages(defs, pipeline).items()}
    store = dataset_store(defs)
    if generation is None:
        stored = store.stored_generations(keys[Stage.TRAINING_MIX])
        if not stored and generation_stored(store, keys[Stage.TRAINING_MIX], 1):
            # generation 1 ran but stopped before its mix: say why, and that its report can still be built
            raise SynthPipelineError(
                f"no training mix of {pipeline} is stored under {store.root}: "
                f"{missing_mix_explanation(store, keys[Stage.TRAINING_MIX], 1)}. Its report, from what is "
                "stored: synth-pipeline report --generation 1"
            )
        if not stored:
            raise SynthPipelineError(
                f"no training mix of {pipeline} is stored under {store.root}; run a generation first "
                "(synth-pipeline run) or pass --data-dir"
            )
        generation = stored[-1]
    if generation < 1:
        raise SynthPipelineError("--generation must be at least 1")
    label = defs.resolve_asset_graph().get(keys[Stage.EVALUATION]).metadata.get(LABEL_COLUMN_METADATA)
    return build_generation_report(store, keys, pipeline=pipeline, generation=generation, label_column=label,
                                   out=out)


def _report(args: argparse.Namespace) -> int:
    if args.data_dir:
        os.environ[DATA_DIR_ENV] = str(Path(args.data_dir).absolute())
    defs = _load_definitions(args.module)
    pipeline = _choose_pipeline(defs, args)
    written = _write_report(defs, pipeline, args.generation, Path(args.out).absolute() if args.out else None)
    print(f"report of {pipeline}, generation {written.generation}: {written.path} ({written.plots} plots, "
          f"{written.seconds:.1f}s)")
    return 0


def _expectations(args: argparse.Namespace) -> int:
    from synth_pipeline.factory import SynthPipeline
    from synth_pipeline.integrity import DATA_STAGES
    from synth_pipeline.quality.expectations import write_suites
    from synth_pipeline.sources import import_object, load_source

    sys.path.insert(0, str(Path.cwd()))
    pipeline = import_object(args.pipeline)
    if not isinstance(pipeline, SynthPipeline):
        raise SynthPipelineError(f"{args.pipeline} is a {type(pipeline).__name__}, not a SynthPipeline")
    written = write_suites(
        load_source(pipeline.spec.real_source), stages=[s for s in DATA_STAGES if s in pipeline.stages],
        directory=Path(args.out), pipeline_name=pipeline.name, label_column=pipeline.spec.label_column,
        overwrite=args.force, identifiers=pipeline.spec.identifier_columns,
    )
    for path in written:
        print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``synth-pipeline`` console script."""
    args = _parser().parse_args(argv)
    commands = {"lineage": run_lineage, "expectations": _expectations, "run": _run, "report": _report}
    try:
        return commands[args.command](args)
    except SynthPipelineError as error:
        print(f"synth-pipeline: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
