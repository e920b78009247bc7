"""Blocking asset checks built from rule evaluations: the machinery shared by the policy
and quality checks.

A check is a function of :class:`CheckInputs` returning rule outcomes and extra
metadata; :func:`rule_check` describes it as a blocking ERROR check (:class:`RuleCheck`)
and :func:`asset_checks` builds the checks of each asset into one Dagster step that, for
each check, records lineage, quarantines the checked data when a rule fails, and reports
``observed``, ``threshold``, ``rule``, ``generation`` and every rule evaluated; the step
fails once, at its end, naming every blocking failure.
"""


import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import numpy as np
import pandas as pd

from synth_pipeline.composition import Composition, summarize
from synth_pipeline.display import shown_float
from synth_pipeline.generations import generation_key
from synth_pipeline.guarded import GuardedAssets, as_guarded
from synth_pipeline.metadata import metadata_values
from synth_pipeline.naming import Stage
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.rerun_command import RUN_COMMAND, run_command_of
from synth_pipeline.resources import policy_resource_key
from synth_pipeline.storage import DatasetStore
from synth_pipeline.verdicts import RuleOutcome, Verdict, deciding_outcome, shown_verdict, verdict_of

if TYPE_CHECKING:
    from synth_pipeline.task import LabelTask


@dataclass(frozen=True)
class CheckInputs:
    """What a rule evaluation can look at.

    Attributes:
        pipeline: The guarded assets (roles -> asset keys) of the pipeline checked.
        store: Where its datasets are stored.
        policy: The limits in force for the run.
        generation: The generation checked (0 for assets not made per generation).
        instance: The Dagster instance (materialization metadata), None outside a run.
        checked: The asset checked (one of several of its role, e.g. one synthetic asset
            of two); None: the only asset of ``role``.
        role: The role of the asset checked.
        run_command: The command that runs the pipeline's generations, for hints
            (:func:`~synth_pipeline.rerun_command.run_command_of`).
    """

    pipeline: GuardedAssets
    store: DatasetStore
    policy: SynthPolicy
    generation: int
    instance: dg.DagsterInstance | None = None
    checked: dg.AssetKey | None = None
    role: Stage | None = None
    run_command: str = RUN_COMMAND

    def __post_init__(self) -> None:
        object.__setattr__(self, "pipeline", as_guarded(self.pipeline))  # a template pipeline is accepted too

    def key(self, stage: Stage) -> dg.AssetKey:
        """The asset of ``stage``: the checked asset for its own role, else the pipeline's one."""
        if stage is self.role and self.checked is not None:
            return self.checked
        return self.pipeline.key(stage)

    def no_rows_outcome(self, rule: str, stage: Stage) -> RuleOutcome:
        """``rule`` skipped on ``stage``, which holds no rows, with the reason (:mod:`synth_pipeline.no_rows`):
        for the augmented stage on a regression label, that augmentation does not apply, not that no class
        needed topping up."""
        from synth_pipeline.no_rows import no_rows_outcome

        return no_rows_outcome(rule, stage, self.generation,
                               regression=stage is Stage.AUGMENTED and self.regression_label())

    def regression_label(self) -> bool:
        """Whether the label is a regression target; False when its task cannot be read (no stored real data)."""
        try:
            return bool(self.label_task.is_regression)
        except Exception:  # noqa: BLE001 - only the wording of a skipped rule's reason depends on it
            return False

    def fresh_real_role(self) -> Stage:
        """Where this generation's fresh real rows are: the real arrivals, else the real train split."""
        return Stage.REAL_ARRIVALS if self.pipeline.real_arrivals is not None else Stage.REAL_TRAIN

    def describe(self, stage: Stage) -> str:
        """``<asset key>[<generation>]`` of a stage as read here (no generation for others)."""
        name = self.key(stage).to_user_string()
        return f"{name}[{self.generation}]" if self.pipeline.per_generation(stage) and self.generation else name

    def path(self, stage: Stage, generation: int | None = None) -> Path:
        """The stored Parquet file of a stage (this generation's for per-generation stages)."""
        partition = generation_key(generation or self.generation) if self.pipeline.per_generation(stage) else None
        return self.store.parquet_path(self.key(stage), partition)

    def read(self, stage: Stage, generation: int | None = None, *, keys: bool = False) -> pd.DataFrame:
        """A stage's stored frame (this generation's for per-generation stages).

        Identifier columns (:mod:`synth_pipeline.identifiers`) are left out unless ``keys``:
        they name records, so no measure may compare them; the content hash is then computed
        without them (so a copy of a real row under a fresh key is still a copy).
        """
        from synth_pipeline.stage_files import read_parquet

        frame = read_parquet(self.path(stage, generation))
        return frame if keys else self.without_identifiers(frame)

    def without_identifiers(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` without its identifier columns, its content hash computed without them.

        The stored hash covers the keys: a generated row with a fresh key would never equal the
        real row it copies. Measures compare content, so they hash it without the keys.
        """
        return _without(frame, self.identifiers)

    @cached_property
    def label_task(self) -> "LabelTask":
        """The label's task (classification, or regression with its bins), from the stored real data."""
        from synth_pipeline.task import stored_task

        guarded = self.pipeline
        source = guarded.real_source or guarded.real_train or guarded.real_holdout
        return stored_task(self.store, source, label_column=guarded.label_column, declared=guarded.task,
                           holdout_fraction=guarded.holdout_fraction)

    @cached_property
    def identifiers(self) -> list[str]:
        """The identifier columns resolved at the real source's ingestion."""
        from synth_pipeline.identifiers import stored_identifiers

        if self.pipeline.real_source is None:
            return []
        return stored_identifiers(self.store, self.pipeline.real_source)

    @cached_property
    def text_columns(self) -> list[str]:
        """The free-text columns resolved at the real source's ingestion (:mod:`synth_pipeline.text_columns`)."""
        from synth_pipeline.text_columns import stored_text_columns

        return stored_text_columns(self.store, self.pipeline.real_source)

    @cached_property
    def categorical_columns(self) -> list[str]:
        """The columns every measure treats as categories although they may hold numbers: those resolved at
        the real source's ingestion (flags, codes; :mod:`synth_pipeline.categorical_columns`) and the label
        of a classification task."""
        from synth_pipeline.categorical_columns import measured_categories, stored_categorical_columns

        stored = stored_categorical_columns(self.store, self.pipeline.real_source)
        return measured_categories(stored, label_column=self.pipeline.label_column,
                                   label_is_class=not self.label_task.is_regression)

    @property
    def utility_rows(self) -> int:
        """Most rows a utility model trains on: the policy's ``utility_sample_rows``, and at most its
        ``text_sample_rows`` when the data has free-text columns (each fit vectorises every text)."""
        policy = self.policy
        return min(policy.utility_sample_rows, policy.text_sample_rows) if self.text_columns \
            else policy.utility_sample_rows

    def without_text(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` without its free-text columns, its content hash computed without them, for the tabular
        measures (the text columns are measured by :mod:`synth_pipeline.text`)."""
        return _without(frame, self.text_columns)

    def history(self, stage: Stage, *, through: int) -> dict[int, Any]:
        """Stored Parquet files of a per-generation stage for generations 1..through."""
        return {g: path for key in self._keys(stage) for g, path in self.key_history(key, through=through).items()}

    def key_history(self, key: dg.AssetKey, *, through: int) -> dict[int, Any]:
        """Stored Parquet files of one per-generation asset for generations 1..through."""
        return {g: self.store.parquet_path(key, str(g)) for g in self.store.stored_generations(key, through=through)}

    def _keys(self, stage: Stage) -> tuple[dg.AssetKey, ...]:
        return (self.checked,) if stage is self.role and self.checked is not None else self.pipeline.keys(stage)

    def mix(self, generation: int | None = None) -> Composition:
        """Composition of a generation's training mix."""
        # per quantile bin of a regression label (synth_pipeline.task), per class otherwise
        edges = self.label_task.bin_edges
        return summarize(self.path(Stage.TRAINING_MIX, generation), self.pipeline.label_column, edges or None)

    def materialization_metadata(self, stage: Stage) -> dict[str, Any]:
        """Metadata of the latest materialization of a stage (this generation's), or {}."""
        if self.instance is None:
            return {}
        return latest_metadata(self.instance, self.key(stage), self.generation if self.pipeline.per_generation(stage)
                               else 0)


def _without(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame`` without ``columns``, its content hash computed without them (unchanged if it has none)."""
    from synth_pipeline.hashing import row_hashes
    from synth_pipeline.provenance import ROW_HASH_COLUMN, user_columns

    dropped = [c for c in columns if c in frame.columns]
    if not dropped:
        return frame
    frame = frame.drop(columns=dropped)
    if ROW_HASH_COLUMN in frame.columns and len(frame):
        frame[ROW_HASH_COLUMN] = row_hashes(frame[user_columns(frame)])
    return frame


def latest_metadata(instance: dg.DagsterInstance, key: dg.AssetKey, generation: int) -> dict[str, Any]:
    """Metadata of the latest materialization of ``key`` for ``generation`` (any, for 0), or {}.

    A partitioned asset's materializations are matched on their ``generation`` metadata
    (partition keys need not be generation numbers, see :mod:`synth_pipeline.guarded`).
    """
    cursor = None
    while True:  # newest first, a page at a time: an old generation may lie behind many later ones
        page = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=100, cursor=cursor)
        for record in page.records:
            materialization = record.asset_materialization
            if materialization is None:
                continue
            metadata = metadata_values(materialization.metadata)
            if not generation or metadata.get("generation") == generation:
                return metadata
        if not page.has_more:
            return {}
        cursor = page.cursor


Evaluation = Callable[[CheckInputs], tuple[list[RuleOutcome], dict[str, Any]]]


@dataclass(frozen=True)
class RuleCheck:
    """One blocking check before it is built: what :func:`rule_check` returns and :func:`asset_checks`
    turns into Dagster asset checks, grouped into one step per asset.

    Attributes:
        pipeline: The guarded assets.
        stage: The role of the checked asset.
        name: The check's name.
        evaluate: Computes the rule outcomes and extra metadata.
        description: Shown in the Dagster UI.
        asset_key: The checked asset.
        enforced: Whether the run's policy enforces this check; when it returns False a
            failure is a WARN (shown, not blocking, no quarantine). None: always enforced.
        enforced_by: The policy field ``enforced`` reads (e.g. ``enforce_quality_on_augmented``), named in
            a failure that does not block (metadata ``not_blocking``).
        additional_deps: Other assets the check reads: in a run that materializes them, it waits for them.
    """

    pipeline: GuardedAssets
    stage: Stage
    name: str
    evaluate: Evaluation
    description: str
    asset_key: dg.AssetKey
    enforced: Callable[[SynthPolicy], bool] | None = None
    enforced_by: str | None = None
    additional_deps: tuple[dg.AssetKey, ...] = ()

    @property
    def check_key(self) -> dg.AssetCheckKey:
        """The Dagster key of the check."""
        return dg.AssetCheckKey(self.asset_key, self.name)

    def spec(self) -> dg.AssetCheckSpec:
        """The check's blocking Dagster spec."""
        return dg.AssetCheckSpec(
            self.name, asset=self.asset_key, blocking=True, description=self.description,
            additional_deps=[k for k in self.additional_deps if k != self.asset_key],
        )


def rule_check(
    pipeline: GuardedAssets,
    stage: Stage,
    name: str,
    evaluate: Evaluation,
    description: str,
    *,
    enforced: Callable[[SynthPolicy], bool] | None = None,
    enforced_by: str | None = None,
    asset_key: dg.AssetKey | None = None,
    additional_deps: Sequence[dg.AssetKey] = (),
) -> RuleCheck:
    """A blocking ERROR check on an asset of role ``stage`` that runs ``evaluate`` (see the module docs);
    :func:`asset_checks` builds it, with the other checks of its asset, into Dagster asset checks.

    Every check of synth-pipeline is made here, so each one finds its generation, records
    lineage, quarantines on failure and reports its evidence the same way.

    Args are the attributes of :class:`RuleCheck`; ``asset_key`` defaults to the only asset of ``stage``.
    """
    return RuleCheck(pipeline=pipeline, stage=stage, name=name, evaluate=evaluate, description=description,
                     asset_key=asset_key or pipeline.key(stage), enforced=enforced, enforced_by=enforced_by,
                     additional_deps=tuple(additional_deps))


def asset_checks(
    rules: Sequence[RuleCheck], *, label: str = "checks", together: Collection[dg.AssetKey] = ()
) -> list[dg.AssetChecksDefinition]:
    """Dagster asset checks of ``rules``: one step (a ``multi_asset_check``) per checked asset.

    A step runs every check of its asset selected in the run, each on its own (one that
    raises does not stop the others), and fails once at the end: with the first error a
    check raised, else, when any blocking check failed, with the generation's verdict naming
    every blocking failure recorded (:func:`synth_pipeline.checks.blocked.blocked_failure`).
    Dagster shows the first failed step's message as the run's, so grouping an asset's checks
    in one step is what lets the run's failure name all of them. A single check keeps
    Dagster's own step name, ``<asset>_<check>``.

    Args:
        rules: The checks, of one pipeline or several.
        label: Ends the step name of an asset with several checks: ``<asset>_<label>``; unique per
            call made on the same assets (e.g. ``guard_rails``, ``quality_checks``).
        together: Assets whose checks share one step (e.g. a pipeline's synthetic and augmented
            assets, so one blocked generation's run names the failures of both). None of them may
            depend on another: a blocking check holds back everything downstream of its asset, and
            the step waits for every asset it checks.

    Raises:
        SynthPipelineError: Two rules have the same asset and name.
    """
    groups: dict[Any, list[RuleCheck]] = {}
    seen: set[dg.AssetCheckKey] = set()
    for rule in rules:
        if rule.check_key in seen:
            from synth_pipeline.errors import SynthPipelineError

            raise SynthPipelineError(
                f"two checks named {rule.name!r} on {rule.asset_key.to_user_string()}: give one another name")
        seen.add(rule.check_key)
        shared = rule.asset_key in together
        groups.setdefault((rule.pipeline.name, "together") if shared else rule.asset_key, []).append(rule)
    return [_checks_step(group, label=label) for group in groups.values()]


def _step_name(group: Sequence[RuleCheck], label: str) -> str:
    """``<asset>_<check>`` for one check (Dagster's own name for it), ``<asset>_<label>`` for several of an
    asset, ``<pipeline>_<assets>_<label>`` for several assets' checks."""
    keys = list(dict.fromkeys(rule.asset_key for rule in group))
    if len(group) == 1:
        return f"{keys[0].to_python_identifier()}_{group[0].name}"
    if len(keys) == 1:
        return f"{keys[0].to_python_identifier()}_{label}"
    pipeline = re.sub(r"\W", "_", group[0].pipeline.name)
    return f"{pipeline}_{'_'.join(key.path[-1] for key in keys)}_{label}"


def _checks_step(group: Sequence[RuleCheck], *, label: str) -> dg.AssetChecksDefinition:
    """One step running the checks of ``group`` (see :func:`asset_checks`)."""
    pipelines = {rule.pipeline.name: rule.pipeline for rule in group}
    resource_keys = {key for pipeline in pipelines.values()
                     for key in (pipeline.store_key, policy_resource_key(pipeline.name))}
    by_key = {rule.check_key: rule for rule in group}
    description = group[0].description if len(group) == 1 else "; ".join(
        f"{rule.asset_key.to_user_string()} {rule.name}: {rule.description}" for rule in group)

    @dg.multi_asset_check(
        specs=[rule.spec() for rule in group], name=_step_name(group, label), can_subset=True,
        required_resource_keys=resource_keys, description=description,
    )
    def checks_step(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        blocked: list[tuple[CheckInputs, str, dg.AssetCheckResult]] = []
        errors: list[BaseException] = []
        for key in [key for key in by_key if key in context.selected_asset_check_keys]:
            try:
                inputs, result = _run_rule(context, by_key[key])
            except Exception as error:  # noqa: BLE001 - the others still run; the step fails with it below
                context.log.error(f"check {key.name} on {key.asset_key.to_user_string()} raised "
                                  f"{type(error).__name__}: {error}")
                errors.append(error)
                continue
            yield shown_result(result, key)  # figures rounded for display; lineage and the store keep them exact
            if not result.passed and result.severity is dg.AssetCheckSeverity.ERROR:
                blocked.append((inputs, key.name, result))
        report = None
        if blocked:  # once, after every check of the step has kept its record: the report names them all
            from synth_pipeline.checks.blocked import write_blocked_report

            report = write_blocked_report(context, blocked[0][0])
        if errors:
            raise errors[0]
        if blocked:
            # Dagster's own failure would name the checks only; this one names every blocking failure of
            # the generation recorded, with observed vs limit, and what is not run.
            from synth_pipeline.checks.blocked import blocked_failure

            raise blocked_failure(context, blocked, report=report)

    return checks_step


def _run_rule(context: dg.AssetCheckExecutionContext, rule: RuleCheck) -> tuple[CheckInputs, dg.AssetCheckResult]:
    """Evaluate one check: its result (exact figures), recorded in the store and lineage; when it blocks,
    the checked data quarantined, the block recorded (run tags, partition notes) and the generation's
    report linked from the result (the step writes it once all its checks ran).

    Returns:
        The check's inputs and its result.
    """
    pipeline, asset_key, name = rule.pipeline, rule.asset_key, rule.name
    policy_key = policy_resource_key(pipeline.name)
    generation = check_generation(context, pipeline, rule.stage, asset_key)
    inputs = CheckInputs(
        pipeline=pipeline, store=getattr(context.resources, pipeline.store_key),
        policy=getattr(context.resources, policy_key), generation=generation, instance=context.instance,
        checked=asset_key, role=rule.stage, run_command=run_command_of(context.run, pipeline.name),
    )
    from synth_pipeline.lineage.recorder import CheckLineage  # openlineage: import at run time only

    partition = generation_key(generation) if generation else None
    report = None
    with CheckLineage(
        context.op_execution_context, inputs.store, asset_key=asset_key, partition=partition, check_name=name,
        pipeline=pipeline.name,
    ) as lineage:
        outcomes, extra = rule.evaluate(inputs)
        severity = (
            dg.AssetCheckSeverity.ERROR if rule.enforced is None or rule.enforced(inputs.policy)
            else dg.AssetCheckSeverity.WARN
        )
        if severity is dg.AssetCheckSeverity.WARN and any(o.verdict is Verdict.FAIL for o in outcomes):
            # a failure the policy lets through: say which setting, or the line reads as a bare "warning"
            setting = f"`{rule.enforced_by}` is false" if rule.enforced_by else "it does not enforce this check"
            extra = {**extra, "not_blocking": f"failed, not blocking: the policy's {setting}"}
        result = check_result(outcomes, generation, extra, severity=severity)
        blocked = not result.passed and result.severity is dg.AssetCheckSeverity.ERROR
        if blocked:
            inputs.store.quarantine(asset_key, partition, name, result.description or name)
        from synth_pipeline.checks.blocked import run_generation

        # run_generation: which generation's run checked it (a check of a stage made once has generation 0)
        record = {**evaluation_record(result, outcomes), "run_id": context.op_execution_context.run_id,
                  "run_generation": run_generation(context, inputs)}
        inputs.store.write_check_result(asset_key, name, generation, record)
        if blocked:
            from synth_pipeline.checks.blocked import blocked_report_path, record_block

            record_block(context, inputs, check_name=name, evidence=result.description or name)
            report = blocked_report_path(context, inputs)  # written once, when the step's checks have all run
            if report is not None:  # the report, reachable from the failed check in the UI
                result = check_result(outcomes, generation, {**extra, "report": dg.MetadataValue.path(
                    str(report))}, severity=severity)
        lineage.record(result, [outcome.to_dict() for outcome in outcomes], generation=generation,
                       verdict=record["verdict"])
    return inputs, result


def check_generation(
    context: dg.AssetCheckExecutionContext, pipeline: GuardedAssets, stage: Stage, asset_key: dg.AssetKey
) -> int:
    """The generation a check evaluates: for a partitioned asset, from the partition key (through
    the pipeline's :class:`~synth_pipeline.guarded.GenerationMap`); for an unpartitioned one, the
    ``generation`` its latest materialization recorded (which its publishing resolved from output
    metadata, run tag or the run's partition, in that order: one answer for both); 0 for roles not
    made per generation.

    Raises:
        GenerationError: A per-generation asset has neither (see :mod:`synth_pipeline.guarded`).
    """
    if not pipeline.per_generation(stage):
        return 0
    op_context = context.op_execution_context
    graph = op_context.job_def.asset_layer.asset_graph
    partitioned = graph.has(asset_key) and graph.get(asset_key).partitions_def is not None
    if partitioned and op_context.has_partition_key:
        return pipeline.generations.generation(op_context.partition_key)
    generation = latest_metadata(context.instance, asset_key, 0).get("generation")
    if not isinstance(generation, int) or generation < 1:
        from synth_pipeline.errors import GenerationError

        raise GenerationError(
            f"{asset_key.to_user_string()} is made once per generation but its latest materialization names no "
            "generation: partition it, or give the output metadata 'synth_pipeline/generation' (see "
            "synth_pipeline.guarded)")
    return generation


def evaluation_record(result: dg.AssetCheckResult, outcomes: list[RuleOutcome]) -> dict[str, Any]:
    """What the report shows of a check evaluation: its verdict as the UI shows it and the
    evidence line of every rule that failed or could not be judged (aggregates only)."""
    blocking = result.severity is dg.AssetCheckSeverity.ERROR
    lines = [o.public_evidence() for o in outcomes if o.verdict in (Verdict.FAIL, Verdict.WARN)]
    return {"verdict": shown_verdict(verdict_of(outcomes), passed=result.passed, blocking=blocking),
            "blocking": blocking, "evidence": "\n".join(lines)}


def shown_result(result: dg.AssetCheckResult, key: dg.AssetCheckKey) -> dg.AssetCheckResult:
    """``result`` of the check ``key`` as the Dagster UI shows it: its float figures (``observed``,
    ``threshold``, ...) rounded (:mod:`synth_pipeline.display`). The exact figures stay in its lineage event
    (recorded from ``result``) and in ``rules``, every rule's outcome as JSON."""
    return dg.AssetCheckResult(
        asset_key=key.asset_key, check_name=key.name, passed=result.passed, severity=result.severity,
        description=result.description,
        metadata={name: _shown(value) for name, value in (result.metadata or {}).items()},
    )


def _shown(value: Any) -> Any:
    """A float figure rounded for display; any other value as it is."""
    if isinstance(value, dg.FloatMetadataValue) and value.value is not None:
        return shown_float(value.value)
    if isinstance(value, (float, np.floating)):
        return shown_float(float(value))
    return value


def check_result(
    outcomes: list[RuleOutcome],
    generation: int,
    extra: dict[str, Any],
    *,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """A result from rule outcomes: the deciding rule's evidence, plus ``extra``.

    A failed rule fails the check with ``severity``; a rule that could not be judged
    (not enough evidence) makes a WARN result that never blocks; rules that were all
    skipped (no rows) pass, and the description says ``skipped`` and why. The
    description is the deciding rule's evidence line (:meth:`RuleOutcome.evidence`),
    and every failed rule's line follows it. The figures are exact: :func:`shown_result`
    rounds them for the Dagster UI.
    """
    headline = deciding_outcome(outcomes)
    verdict = verdict_of(outcomes)
    failed = [o for o in outcomes if o.verdict is Verdict.FAIL]
    warned = [o for o in outcomes if o.verdict is Verdict.WARN]
    metadata: dict[str, Any] = {
        "verdict": verdict.value,
        "observed": dg.MetadataValue.float(float(headline.observed)),
        "confidence_bound": dg.MetadataValue.float(
            float("nan") if headline.confidence_bound is None else float(headline.confidence_bound)),
        "threshold": dg.MetadataValue.float(float(headline.threshold)),
        "bound": headline.bound,
        "sample_size": headline.sample_size,
        "rule": headline.rule,
        "evidence": headline.evidence(),
        "fix": headline.fix or "",
        "generation": generation,
        "failed_rules": len(failed),
        "unjudged_rules": len(warned),
        "rules": dg.MetadataValue.json([o.to_dict() for o in outcomes]),
    }
    if headline.reason is not None:
        metadata["reason"] = headline.reason
    metadata.update(extra)
    if verdict is Verdict.FAIL:
        description = f"{len(failed)} rule(s) failed: " + " | ".join(o.evidence() for o in failed)
    elif verdict is Verdict.WARN:
        description = f"{len(warned)} rule(s) not judged: " + " | ".join(o.evidence() for o in warned)
    elif verdict is Verdict.SKIPPED:
        description = f"skipped: {headline.reason}"
    else:
        description = f"all {len(outcomes)} rule(s) passed"
    if verdict is Verdict.WARN:
        severity = dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        passed=verdict in (Verdict.PASS, Verdict.SKIPPED), severity=severity, metadata=metadata,
        description=description,
    )
