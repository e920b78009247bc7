"""The ``synth-pipeline lineage`` subcommands: sync, rebuild and queries of the lineage store.

The data directory is that of the dataset store bound in the definitions of ``-m MODULE`` or
``-f FILE`` (as for ``synth-pipeline run``; ``--data-dir`` or ``$SYNTH_PIPELINE_DATA_DIR`` fill in
where the definitions set none, and naming another directory than theirs is an error); when they
hold several pipelines keeping their data in different directories (components with their own
``data_dir``), ``--pipeline`` says whose. Without ``-m`` and ``-f``, ``--data-dir``, else
``$SYNTH_PIPELINE_DATA_DIR``, else ``./.synth_pipeline/data``.

Before answering, every subcommand checks that the data directory exists (an explicit one
is never created), that something has been recorded in it, and that every pipeline,
dataset, version, generator, check and generation named exists in the store: a query
naming something the store does not hold is a usage error (exit code 2) that lists what
it does hold, never an empty answer a CI gate would pass on.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import TYPE_CHECKING

import pandas as pd

from synth_pipeline.cli_validation import MAX_GENERATION, existing_directory, int_range, path_argument
from synth_pipeline.data_dir import DATA_DIR_ENV
from synth_pipeline.errors import NothingRecordedError, SynthPipelineError
from synth_pipeline.lineage.layout import LineageLayout
from synth_pipeline.user_input import cut, quoted

if TYPE_CHECKING:
    from synth_pipeline.lineage.store import LineageStore

FORMATS = ("table", "json", "csv")

_GENERATION = int_range(0, MAX_GENERATION, meaning="(0: the stages outside generations, e.g. the real source)")
_HOPS = int_range(0, meaning="(0: only the dataset itself)")


def add_lineage_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``lineage`` and its subcommands."""
    lineage = commands.add_parser(
        "lineage", help="query the lineage store (DuckDB, built from the OpenLineage event journal)",
        description="Query or rebuild the lineage store under the data directory. Queries sync new events first. "
        "A name the store does not hold is a usage error (exit code 2) listing those it holds.",
    )
    actions = lineage.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument("-m", "--module",
                       help="module holding the Dagster Definitions (`defs`, or a function decorated with "
                       "@dg.definitions), as given to `run`: the data directory is that of the dataset store "
                       "bound in them (default: none, see --data-dir)")
    where.add_argument("-f", "--python-file", metavar="FILE", type=path_argument,
                       help="Python file holding the Dagster Definitions, instead of -m")
    choose = ("with -m or -f: the pipeline whose data directory to read, when the definitions hold several "
              "keeping their data in different directories")
    common.add_argument("--data-dir", metavar="DIR", type=path_argument,
                        help="data directory, when -m is not given or its definitions set no data_dir; must exist "
                        f"(default: ${DATA_DIR_ENV} or ./.synth_pipeline/data)")
    common.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")

    sync = actions.add_parser("sync", parents=[common], help="read new journal events into the store")
    sync.add_argument("--full", action="store_true",
                      help="look at every journal file, also in run directories whose change stamp did not move "
                           "(for journal files copied in by hand)")
    sync.add_argument("--pipeline", help=choose)
    actions.add_parser("rebuild", parents=[common], help="delete the store and rebuild it from the journal"
                       ).add_argument("--pipeline", help=choose)
    for name, help_text in (("ancestors", "every dataset version a dataset was made from, to any depth"),
                            ("descendants", "everything made from a dataset version or by a generator")):
        action = actions.add_parser(name, parents=[common], help=help_text)
        action.add_argument("dataset", nargs="?", help="dataset (asset key), e.g. breast_cancer/model")
        action.add_argument("--generation", type=_GENERATION, metavar="G",
                            help="the latest version of that generation, i.e. its newest run (0: the stages "
                            "outside generations; default: latest)")
        action.add_argument("--version", help="an exact dataset version (one materialization)")
        action.add_argument("--max-hops", type=_HOPS, metavar="N", help="stop after this many hops (0 or more)")
        if name == "descendants":
            action.add_argument("--generator", help="start from every dataset this generator made, e.g. "
                                "sdv.gaussian_copula or smote (with --generation: of that generation)")
            action.add_argument("--pipeline", help=f"with --generator: only this pipeline; {choose}")
        else:
            action.add_argument("--pipeline", help=choose)
    composition = actions.add_parser(
        "composition", parents=[common], help="training-mix composition per generation (of its last run)",
        description="The training mix of each generation: of its last run (a rerun supersedes the runs "
        "before it), or of every run with --all-runs. dagster_run_id names the run.")
    composition.add_argument("--pipeline", help=f"only this pipeline; {choose}")
    composition.add_argument("--all-runs", action="store_true",
                             help="every run's mix of each generation, superseded ones included (column latest)")
    checks = actions.add_parser(
        "checks", parents=[common], help="check results per generation (latest evaluation of each check)",
        description="Check results per generation: by default the latest evaluation of each check on each asset "
        "in each generation (by event time: a rerun of a generation supersedes the runs before it), so "
        "--failed lists what fails now. --all-runs shows every evaluation. dagster_run_id names the run, "
        "evaluations how many runs evaluated that check there. The table shortens the detail column and "
        "lists the full evidence of every evaluation that did not pass below it, one line per rule.")
    checks.add_argument("--pipeline", help=f"only this pipeline; {choose}")
    checks.add_argument("--generation", type=_GENERATION, metavar="G",
                        help="only this generation (0: checks of the stages outside generations)")
    checks.add_argument("--check", help="only this check")
    checks.add_argument("--failed", action="store_true",
                        help="only checks that did not pass (of the latest evaluations, unless --all-runs)")
    checks.add_argument("--all-runs", action="store_true",
                        help="every evaluation of every run, superseded ones included (column latest marks the "
                        "latest); default: the latest evaluation of each check, asset and generation")
    audit = actions.add_parser(
        "holdout-audit", parents=[common],
        help="did any sealed-holdout record ever reach a generator? (exit 1 if so)",
        description="Per generator run: holdout records in its training data, counted as the holdout_isolation "
        "check counts them (real and unknown-provenance rows beyond the train split's copies of their content), "
        "and whether a sealed holdout is upstream of it. Exit 1 on a leak. Holdout contents the train split "
        "also holds (duplicate rows, whose copies the split places one by one) are reported on stderr, not "
        "counted as leaks.")
    audit.add_argument("--pipeline", help=f"only this pipeline; {choose}")


def run_lineage(args: argparse.Namespace) -> int:
    """Run one ``lineage`` subcommand; returns the exit code.

    Raises:
        SynthPipelineError: A usage error (exit code 2): a missing data directory, nothing
            recorded yet, a name the store does not hold, or options that do not go together.
    """
    from synth_pipeline.lineage.store import LineageStore

    if args.action == "descendants":
        _check_descendants_options(args)
    elif args.action == "ancestors":
        _require_dataset(args)
    store = LineageStore(layout=_recorded_layout(args))
    if args.action in ("sync", "rebuild"):
        report = store.sync(full=args.full) if args.action == "sync" else store.rebuild()
        _require_events(store)
        print(f"{args.action}: {report.events} events from {report.files} journal files in {report.seconds:.2f}s "
              f"-> {store.path}")
        return 0
    _require_names(args, store)
    if args.action == "ancestors":
        result = store.ancestors(args.dataset, version=args.version, generation=args.generation,
                                 max_hops=args.max_hops)
    elif args.action == "descendants":
        result = store.descendants(args.dataset, version=args.version, generation=args.generation,
                                   generator=args.generator, pipeline=args.pipeline, max_hops=args.max_hops)
    elif args.action == "composition":
        result = store.composition(args.pipeline, all_runs=args.all_runs)
    elif args.action == "checks":
        result = store.checks(pipeline=args.pipeline, generation=args.generation, check=args.check,
                              failed_only=args.failed, all_runs=args.all_runs)
    else:
        result = store.holdout_audit(args.pipeline)
    print(render(result, args.format))
    if args.action == "checks" and args.format == "table":
        evidence = evidence_lines(result)
        if evidence:
            print("\n" + "\n".join(evidence))
    if args.action == "holdout-audit":
        return _audit_verdict(result, store.holdout_overlap(args.pipeline))
    return 0


def _audit_verdict(audit: pd.DataFrame, overlap: pd.DataFrame) -> int:
    """Say on stderr what the holdout audit found beside its table; 1 on a leak."""
    for row in overlap.itertuples():
        if row.shared_contents:
            print(f"pipeline {row.pipeline}: {row.shared_contents} of {row.holdout_contents} holdout contents also "
                  f"occur in the train split ({int(row.shared_holdout_copies)} holdout and "
                  f"{int(row.shared_train_copies)} train-split copies: duplicate rows, whose copies the split "
                  "places one by one); a fit input's copies up to the train split's are not counted as leaks "
                  "(column shared_with_train_split)", file=sys.stderr)
    unknown = audit[~audit["rule_applied"].astype(bool)]
    if len(unknown):
        print(f"{len(unknown)} generator run(s) have no recorded copies (recorded before copies were kept, or no "
              "train split recorded): every holdout content in their training data counts as a leak "
              "(column rule_applied)", file=sys.stderr)
    if bool(audit["leak"].any()):
        print("holdout rows reached a generator", file=sys.stderr)
        return 1
    return 0


def _recorded_layout(args: argparse.Namespace) -> LineageLayout:
    """The lineage layout of the data directory, checked without creating anything.

    With ``-m MODULE`` or ``-f FILE``, the data directory is that of the dataset store bound in
    the definitions (:func:`~synth_pipeline.cli_definitions.load_bound_definitions`), of the pipeline
    ``--pipeline`` names when they hold several keeping their data in different directories.

    Raises:
        SynthPipelineError: ``--data-dir`` (or ``$SYNTH_PIPELINE_DATA_DIR``) names no directory.
        DataDirConflictError: The definitions of ``-m`` bind a data directory and
            ``--data-dir`` or ``$SYNTH_PIPELINE_DATA_DIR`` names another.
        NothingRecordedError: Neither a journal with events nor a store is there (for
            ``rebuild``: no journal with events, as the store would be rebuilt empty).
    """
    if args.module is not None or args.python_file is not None:
        from synth_pipeline.cli_definitions import load_bound_definitions
        from synth_pipeline.user_modules import DefinitionsTarget

        if args.data_dir is not None:
            existing_directory("--data-dir", args.data_dir)  # a typo: refused before importing anything
        target = DefinitionsTarget.of(module=args.module, python_file=args.python_file)
        data_dir = load_bound_definitions(target, data_dir=args.data_dir, existing=True,
                                          pipeline=args.pipeline).data_dir.path
    elif args.data_dir is not None:
        data_dir = existing_directory("--data-dir", args.data_dir)
    elif os.environ.get(DATA_DIR_ENV):
        data_dir = existing_directory("--data-dir", os.environ[DATA_DIR_ENV], environment=DATA_DIR_ENV)
    else:
        data_dir = None  # the default, ./.synth_pipeline/data: if absent, nothing was recorded there
    layout = LineageLayout.for_data_dir(data_dir)
    if args.action == "rebuild":
        if not _journal_has_events(layout):
            raise NothingRecordedError(
                f"nothing recorded yet in {cut(str(layout.events_dir))} (the event journal), so a rebuild would "
                f"leave {cut(str(layout.store_path))} empty; run `synth-pipeline run` first, or pass the module of "
                "your runs with -m MODULE (or --data-dir DIR)"
            )
    elif not layout.store_path.is_file() and not _journal_has_events(layout):
        raise NothingRecordedError(_nothing_recorded(layout))
    return layout


def _journal_has_events(layout: LineageLayout) -> bool:
    # Stops at the first run directory with a non-empty journal file: the files of a large journal are not all listed.
    return any(size > 0 for run_dir, _ in layout.journal_dirs() for _, size in layout.journal_sizes([run_dir]))


def _nothing_recorded(layout: LineageLayout) -> str:
    return (f"nothing recorded yet in {cut(str(layout.store_path))}; run `synth-pipeline run` first, or pass "
            "the module of your runs with -m MODULE (or their data directory with --data-dir DIR)")


def _require_events(store: LineageStore) -> None:
    from synth_pipeline.lineage import queries

    with store.connect(sync=False) as connection:
        if not queries.has_events(connection):
            raise NothingRecordedError(_nothing_recorded(store.layout))


def _require_names(args: argparse.Namespace, store: LineageStore) -> None:
    """Check the pipeline, check and generation filters name something the store holds.

    Datasets, versions and generators are checked by the queries themselves
    (:func:`~synth_pipeline.lineage.queries.resolve`, ``generator_outputs``).
    """
    from synth_pipeline.lineage import queries

    with store.connect() as connection:
        if not queries.has_events(connection):
            raise NothingRecordedError(_nothing_recorded(store.layout))
        pipeline = getattr(args, "pipeline", None)
        queries.require_recorded(connection, "pipeline", pipeline, where=store.where)
        if args.action == "checks":
            scope = f"of pipeline {quoted(pipeline)} {store.where}" if pipeline is not None else store.where
            queries.require_recorded(connection, "check", args.check, pipeline=pipeline, where=scope)
            queries.require_recorded(connection, "check generation", args.generation, pipeline=pipeline,
                                     where=f"with check results {scope}")


def _require_dataset(args: argparse.Namespace) -> None:
    if not args.dataset:
        raise SynthPipelineError(f"lineage {args.action} needs a dataset name, e.g. breast_cancer/model")


def _check_descendants_options(args: argparse.Namespace) -> None:
    """Options that would otherwise be ignored without a word are usage errors."""
    if args.generator is None:
        _require_dataset(args)
        if args.pipeline is not None and args.module is None and args.python_file is None:
            raise SynthPipelineError("lineage descendants: --pipeline applies only with --generator (a dataset "
                                     "name already belongs to one pipeline), or with -m / -f to choose whose data "
                                     "directory to read")
        return
    if args.dataset is not None:
        raise SynthPipelineError(f"lineage descendants: give either a dataset ({quoted(args.dataset)}) or "
                                 "--generator, not both")
    if args.version is not None:
        raise SynthPipelineError("lineage descendants: --version applies only with a dataset name, not with "
                                 "--generator (use --generation)")


_RULES = re.compile(r"(?P<head>\d+ rule\(s\) (?:failed|not judged)): (?P<rules>.*)", re.DOTALL)


def evidence_lines(checks: pd.DataFrame) -> list[str]:
    """The full evidence of every check evaluation in ``checks`` that did not pass, one line per rule,
    for below the table (whose detail column is shortened)."""
    shown = checks[~checks["verdict"].isin(["passed", "skipped"]) & checks["detail"].notna()]
    if shown.empty:
        return []
    lines = [f"evidence of the {len(shown)} evaluation(s) above that did not pass (full text):"]
    for row in shown.itertuples():
        lines.append(f"- {row.pipeline} generation {row.generation} {row.dataset} {row.check_name} {row.verdict} "
                     f"(run {row.dagster_run_id}):")
        found = _RULES.fullmatch(str(row.detail))
        if found is None:
            lines.append(f"    {row.detail}")
            continue
        lines.append(f"    {found['head']}:")
        lines += [f"    * {rule}" for rule in found["rules"].split(" | ")]
    return lines


def render(frame: pd.DataFrame, output_format: str) -> str:
    """A query result as an aligned table, JSON records or CSV."""
    if output_format == "json":
        # pandas writes NaN as null and timestamps as ISO text; re-dump to drop its escaped slashes.
        return json.dumps(json.loads(frame.to_json(orient="records", date_format="iso")), indent=1)
    if output_format == "csv":
        return frame.to_csv(index=False).rstrip("\n")
    if frame.empty:
        return "(no rows)"
    return frame.to_string(index=False, max_colwidth=60)
