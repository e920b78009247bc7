"""The ``synth-pipeline lineage`` subcommands: sync, rebuild and queries of the lineage store."""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from synth_pipeline.storage import DATA_DIR_ENV

FORMATS = ("table", "json", "csv")


def add_lineage_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``lineage`` and its subcommands."""
    lineage = commands.add_parser(
        "lineage", help="query the lineage store (DuckDB, built from the OpenLineage event journal)",
        description="Query or rebuild the lineage store under the data directory. Queries sync new events first.",
    )
    actions = lineage.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", metavar="DIR",
                        help=f"data directory (default: ${DATA_DIR_ENV} or ./.synth_pipeline/data)")
    common.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")

    sync = actions.add_parser("sync", parents=[common], help="read new journal events into the store")
    sync.add_argument("--full", action="store_true",
                      help="look at every journal file, also in run directories whose change stamp did not move "
                           "(for journal files copied in by hand)")
    actions.add_parser("rebuild", parents=[common], help="delete the store and rebuild it from the journal")
    for name, help_text in (("ancestors", "every dataset version a dataset was made from, to any depth"),
                            ("descendants", "everything made from a dataset version or by a generator")):
        action = actions.add_parser(name, parents=[common], help=help_text)
        action.add_argument("dataset", nargs="?", help="dataset (asset key), e.g. breast_cancer/model")
        action.add_argument("--generation", type=int,
                            help="the latest version of that generation, i.e. its newest run (default: latest)")
        action.add_argument("--version", help="an exact dataset version (one materialization)")
        action.add_argument("--max-hops", type=int, help="stop after this many hops")
        if name == "descendants":
            action.add_argument("--generator", help="start from every dataset this generator made, e.g. "
                                "sdv.gaussian_copula or smote (with --generation: of that generation)")
            action.add_argument("--pipeline", help="with --generator: only this pipeline")
    composition = actions.add_parser("composition", parents=[common], help="training-mix composition per generation")
    composition.add_argument("--pipeline")
    checks = actions.add_parser("checks", parents=[common], help="check history per generation")
    checks.add_argument("--pipeline")
    checks.add_argument("--generation", type=int)
    checks.add_argument("--check", help="only this check")
    checks.add_argument("--failed", action="store_true", help="only failed checks")
    audit = actions.add_parser("holdout-audit", parents=[common],
                               help="did any sealed-holdout row ever reach a generator? (exit 1 if so)")
    audit.add_argument("--pipeline")


def run_lineage(args: argparse.Namespace) -> int:
    """Run one ``lineage`` subcommand; returns the exit code."""
    from synth_pipeline.lineage.store import LineageStore

    store = LineageStore(args.data_dir)
    if args.action in ("sync", "rebuild"):
        report = store.sync(full=args.full) if args.action == "sync" else store.rebuild()
        print(f"{args.action}: {report.events} events from {report.files} journal files in {report.seconds:.2f}s "
              f"-> {store.path}")
        return 0
    if args.action == "ancestors":
        _require_dataset(args)
        result = store.ancestors(args.dataset, version=args.version, generation=args.generation,
                                 max_hops=args.max_hops)
    elif args.action == "descendants":
        if args.generator is None:
            _require_dataset(args)
        result = store.descendants(args.dataset, version=args.version, generation=args.generation,
                                   generator=args.generator, pipeline=args.pipeline, max_hops=args.max_hops)
    elif args.action == "composition":
        result = store.composition(args.pipeline)
    elif args.action == "checks":
        result = store.checks(pipeline=args.pipeline, generation=args.generation, check=args.check,
                              failed_only=args.failed)
    else:
        result = store.holdout_audit(args.pipeline)
    print(render(result, args.format))
    if args.action == "holdout-audit" and bool(result["leak"].any()):
        print("holdout rows reached a generator", file=sys.stderr)
        return 1
    return 0


def _require_dataset(args: argparse.Namespace) -> None:
    from synth_pipeline.errors import SynthPipelineError

    if not args.dataset:
        raise SynthPipelineError(f"lineage {args.action} needs a dataset name, e.g. breast_cancer/model")


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
