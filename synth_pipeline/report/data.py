"""The figures a generation report shows, gathered from the stored files.

Everything here is an aggregate: row counts and shares per provenance kind (overall and
per class label), model scores, and the quality checks' per-generation figures. No row
value is read into a report, apart from class labels in the per-class table.

Sources, all under the data directory of a :class:`~synth_pipeline.storage.DatasetStore`:

- composition: each stored generation's training mix (``_sp_kind`` counted with one
  DuckDB ``GROUP BY`` over the Parquet file, :func:`~synth_pipeline.composition.summarize`);
- scores: each stored generation's evaluation frame (train-on-real, train-on-synthetic and
  the mix model on the sealed holdout);
- diversity, privacy and utility: the quality checks' figures per generation
  (``DatasetStore.monitor_history``), with the policy limits they were compared with.

A generation run again is reported as its latest run left it: the rows, check records and
stages an earlier run of it left are marked (an ``earlier_run`` column) and kept out of the
verdict (:mod:`synth_pipeline.report.runs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd

from synth_pipeline.composition import summarize
from synth_pipeline.generation_verdict import (
    GenerationVerdict,
    blocking_failures,
    kept_check_records,
    not_materialized,
    verdict_from_records,
)
from synth_pipeline.metrics import PRIMARY_METRIC, REGRESSION_PRIMARY_METRIC
from synth_pipeline.metrics import tstr_trtr_ratio as score_ratio
from synth_pipeline.naming import PARTITIONED_STAGES, Stage
from synth_pipeline.provenance import ALL_KINDS, ProvenanceKind
from synth_pipeline.report.runs import (
    EARLIER_COLUMN,
    earlier_writer,
    latest_run,
    mark_earlier_records,
    mark_generation_rows,
    run_name,
    short_run,
)
from synth_pipeline.storage import DatasetStore

MONITORED_STAGES = (Stage.SYNTHETIC, Stage.AUGMENTED, Stage.TRAINING_MIX)
"""Stages whose quality figures the report gathers (those present in the store)."""
DATA_STAGES_PER_GENERATION = (Stage.REAL_ARRIVALS, Stage.SYNTHETIC, Stage.AUGMENTED, Stage.TRAINING_MIX)
"""Per-generation data stages whose empty generations the report names (their checks are skipped)."""
EMPTY_COLUMNS = ("stage", "generation", "reason")
_CHECKED_STAGES = {"privacy": (Stage.SYNTHETIC, Stage.AUGMENTED), "utility": (Stage.SYNTHETIC, Stage.AUGMENTED)}
"""Monitors whose check runs on fewer stages than :data:`MONITORED_STAGES`."""


@dataclass(frozen=True)
class ReportData:
    """Per-generation figures of one pipeline, up to and including one generation.

    Attributes:
        pipeline: The pipeline's name.
        generation: The generation the report is for; later generations are left out.
        composition: One row per stored training mix: ``generation``, ``rows``,
            ``rows_<kind>`` for the four kinds, ``synthetic_fraction``,
            ``non_real_fraction`` and ``max_depth``.
        class_fractions: The report generation's mix per class label: ``class``,
            ``rows``, ``synthetic_fraction``, ``non_real_fraction``.
        scores: One row per stored evaluation: ``generation``, ``training_mix``,
            ``real_only`` (TRTR), ``synthetic_only`` (TSTR) in the evaluation's primary metric
            (named in ``metric``: ``balanced_accuracy``, ``r2`` for regression; :func:`scores_metric`),
            ``tstr_trtr_ratio``, ``mix_trtr_ratio``, the training rows of each model and
            ``holdout_rows``.
        diversity: The diversity check's figures, one row per stage and generation
            (``stage`` names the stage).
        privacy: The privacy check's figures, likewise.
        utility: The utility check's figures, likewise.
        notes: What is missing and why (e.g. a generation without an evaluation).
        empty: Stored per-generation stages that hold no rows, up to the report's
            generation: ``stage``, ``generation``, ``reason`` (``no rows: ...``). Every
            check on such a stage is skipped; the monitor tables show it as ``skipped``.
        checks: The report generation's checks that failed or warned, with their
            evidence lines (:func:`gather_checks`).
        check_verdicts: Every check evaluated in the report generation (and once on the
            unpartitioned stages): ``stage``, ``check``, ``verdict`` (:func:`gather_check_verdicts`).
        verdict: Passed, or blocked by which checks (observed vs limit) and what did not run,
            as the latest run left the generation.
        latest_run: The Dagster run the report describes, the generation's latest (None: the store
            cannot tell, e.g. written by an older version). Rows, checks and stages an earlier run of
            the generation left carry that run's id in an ``earlier_run`` column
            (:mod:`synth_pipeline.report.runs`).
        earlier_stages: Per-generation stages whose stored output of the report generation an
            earlier run left: stage name -> that run's id.
        step_errors: The steps of the generation's run that raised (not a failed check), with their
            error messages, when the report's builder knows them (``synth-pipeline run``); the
            verdict then reads FAILED and names them.
    """

    pipeline: str
    generation: int
    composition: pd.DataFrame
    class_fractions: pd.DataFrame
    scores: pd.DataFrame
    diversity: pd.DataFrame
    privacy: pd.DataFrame
    utility: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    empty: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(EMPTY_COLUMNS)))
    checks: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(CHECK_COLUMNS)))
    check_verdicts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(VERDICT_COLUMNS)))
    verdict: GenerationVerdict | None = None
    latest_run: str | None = None
    earlier_stages: dict[str, str] = field(default_factory=dict)
    step_errors: tuple[tuple[str, str], ...] = ()


CHECK_COLUMNS = ("stage", "check", "verdict", "blocking", "evidence", EARLIER_COLUMN)
VERDICT_COLUMNS = ("stage", "check", "verdict", EARLIER_COLUMN)


def gather_check_records(store: DatasetStore, keys: Mapping[Stage, dg.AssetKey], *, generation: int) -> pd.DataFrame:
    """Every check record kept for ``generation`` (and for the unpartitioned real stages), read once:
    a ``stage`` column and those of :func:`~synth_pipeline.generation_verdict.kept_check_records`, in stage
    order."""
    ordered = [stage for stage in Stage if stage in keys]
    records = kept_check_records(store, [keys[stage] for stage in ordered], generation)
    stage_of = {keys[stage].to_user_string(): stage.value for stage in ordered}
    return records.assign(stage=records["asset"].map(stage_of))


def _with_earlier(records: pd.DataFrame) -> pd.DataFrame:
    return records if EARLIER_COLUMN in records.columns else records.assign(**{EARLIER_COLUMN: ""})


def gather_check_verdicts(records: pd.DataFrame) -> pd.DataFrame:
    """The verdict of every kept check of :func:`gather_check_records`: ``stage``, ``check``, ``verdict``
    (``passed``, ``failed``, ``warning`` or ``skipped``) and ``earlier_run`` (the earlier run of the generation
    that left it, else empty), in stage order."""
    return _with_earlier(records)[list(VERDICT_COLUMNS)].reset_index(drop=True)


def gather_verdict(
    store: DatasetStore,
    keys: Mapping[Stage, dg.AssetKey],
    records: pd.DataFrame,
    *,
    generation: int,
    earlier_stages: Mapping[str, str] | None = None,
) -> GenerationVerdict:
    """The generation's verdict from its kept check records (:func:`gather_check_records`) of its latest run
    (those marked as an earlier run's are left out): the blocking checks that failed, and, when any did, the
    per-generation stages the latest run did not write (nothing stored, or stored by an earlier run:
    ``earlier_stages``, stage name -> run)."""
    blocking = blocking_failures(records[_with_earlier(records)[EARLIER_COLUMN] == ""])
    per_generation = [stage for stage in Stage if stage in keys and stage in PARTITIONED_STAGES]
    not_run = []
    if blocking:
        missing = set(not_materialized(store, [keys[stage] for stage in per_generation], generation))
        not_run = [keys[stage].to_user_string() for stage in per_generation
                   if keys[stage].to_user_string() in missing or stage.value in (earlier_stages or {})]
    return verdict_from_records(generation, blocking, not_run)


def gather_checks(records: pd.DataFrame) -> pd.DataFrame:
    """The checks of :func:`gather_check_records` that failed or warned, with every failed or unjudged
    rule's evidence line: ``stage``, ``check``, ``verdict`` (``failed`` or ``warning``), ``blocking``,
    ``evidence`` (lines joined by newlines), ``earlier_run`` (the earlier run that left it, else empty)."""
    records = _with_earlier(records)
    return records.loc[records["verdict"].isin(["failed", "warning"]), list(CHECK_COLUMNS)].reset_index(drop=True)


def gather_composition(
    store: DatasetStore, mix_key: dg.AssetKey, *, through: int, label_column: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows per kind and shares of every stored training mix up to generation ``through``.

    Args:
        store: Where the mixes are stored.
        mix_key: The training mix's asset key.
        through: The last generation to include.
        label_column: For the per-class breakdown of generation ``through``'s mix.

    Returns:
        ``(composition, class_fractions)`` as described in :class:`ReportData`.
    """
    records = []
    class_rows = []
    for generation in store.stored_generations(mix_key, through=through):
        composition = summarize(store.parquet_path(mix_key, str(generation)), label_column)
        records.append({
            "generation": generation,
            "rows": composition.rows,
            **{f"rows_{kind}": composition.rows_by_kind[kind] for kind in (k.value for k in ALL_KINDS)},
            "synthetic_fraction": composition.synthetic_fraction,
            "non_real_fraction": composition.non_real_fraction,
            "max_depth": composition.max_depth,
        })
        if generation == through:
            non_real = composition.class_fraction(
                ProvenanceKind.SYNTHETIC, ProvenanceKind.AUGMENTED, ProvenanceKind.UNKNOWN
            )
            class_rows = [
                {"class": label, "rows": sum(counts.values()),
                 "synthetic_fraction": composition.synthetic_fraction_by_class[label],
                 "non_real_fraction": non_real[label]}
                for label, counts in composition.rows_by_class.items()
            ]
    columns = ["generation", "rows", *(f"rows_{k.value}" for k in ALL_KINDS), "synthetic_fraction",
               "non_real_fraction", "max_depth"]
    return (pd.DataFrame(records, columns=columns),
            pd.DataFrame(class_rows, columns=["class", "rows", "synthetic_fraction", "non_real_fraction"]))


def score_row(evaluation: pd.DataFrame, generation: int) -> dict[str, float | int | str]:
    """One generation's scores in its primary metric (named in ``metric``) from its evaluation frame."""
    by_model = evaluation.set_index("trained_on")
    # a regression evaluation names its primary metric (r2); older frames have no such column
    metric = str(evaluation["primary_metric"].iloc[0]) if "primary_metric" in evaluation else PRIMARY_METRIC
    row: dict[str, float | int | str] = {"generation": generation}
    for model in ("training_mix", "real_only", "synthetic_only"):
        present = model in by_model.index
        row[model] = float(by_model.at[model, metric]) if present else float("nan")
        row[f"{model}_rows"] = int(by_model.at[model, "train_rows"]) if present else 0
    row["tstr_trtr_ratio"] = score_ratio(row["synthetic_only"], row["real_only"])
    row["mix_trtr_ratio"] = score_ratio(row["training_mix"], row["real_only"])
    row["holdout_rows"] = int(evaluation["holdout_rows"].iloc[0]) if "holdout_rows" in evaluation else 0
    row["metric"] = metric
    return row


def scores_metric(scores: pd.DataFrame) -> str:
    """The metric of the scores (:func:`gather_scores`): the latest generation's, else :data:`PRIMARY_METRIC`."""
    named = scores["metric"].dropna() if "metric" in scores else pd.Series(dtype=object)
    return str(named.iloc[-1]) if len(named) else PRIMARY_METRIC


def gather_scores(
    store: DatasetStore, evaluation_key: dg.AssetKey, *, through: int, current: pd.DataFrame | None = None
) -> pd.DataFrame:
    """TSTR, TRTR and mix scores of every stored evaluation up to generation ``through``.

    Args:
        store: Where the evaluations are stored.
        evaluation_key: The evaluation's asset key.
        through: The last generation to include.
        current: Generation ``through``'s evaluation frame, when it is not stored yet
            (the evaluation asset builds its report before its output is written).
    """
    stored = store.stored_generations(evaluation_key, through=through)
    generations = [g for g in stored if current is None or g < through]
    rows = [score_row(store.read(evaluation_key, str(g)), g) for g in generations]
    if current is not None:
        rows.append(score_row(current, through))
    columns = ["generation", "training_mix", "training_mix_rows", "real_only", "real_only_rows", "synthetic_only",
               "synthetic_only_rows", "tstr_trtr_ratio", "mix_trtr_ratio", "holdout_rows", "metric"]
    return pd.DataFrame(rows, columns=columns)


def gather_empty(
    store: DatasetStore, keys: Mapping[Stage, dg.AssetKey], *, through: int, regression: bool = False
) -> pd.DataFrame:
    """Stored generations (up to ``through``) of the per-generation data stages that hold no rows.

    Reads only each Parquet file's footer (its row count). ``regression``: the label is a regression
    target, so an empty augmented stage is empty because augmentation does not apply.

    Returns:
        ``stage``, ``generation`` and ``reason`` (why the stage is empty, ``no rows: ...``).
    """
    from synth_pipeline.no_rows import no_rows_reason
    from synth_pipeline.stage_files import parquet_file

    rows = [
        {"stage": stage.value, "generation": generation,
         "reason": no_rows_reason(stage, generation, regression=regression)}
        for stage in DATA_STAGES_PER_GENERATION if stage in keys
        for generation in store.stored_generations(keys[stage], through=through)
        if parquet_file(store.parquet_path(keys[stage], str(generation))).metadata.num_rows == 0
    ]
    return pd.DataFrame(rows, columns=list(EMPTY_COLUMNS))


def gather_monitor(
    store: DatasetStore,
    keys: Mapping[Stage, dg.AssetKey],
    monitor: str,
    *,
    through: int,
    empty: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One monitor's stored figures for the monitored stages, up to generation ``through``.

    Args:
        store: The pipeline's dataset store.
        keys: Asset key of each stage.
        monitor: The monitor's name.
        through: The last generation to include.
        empty: Empty stages (:func:`gather_empty`): each monitored one gets a row with
            ``rows`` 0 and ``verdict`` ``skipped`` (its check measured nothing), unless a
            figure is stored for it.

    Returns:
        One row per stage and generation, with a ``stage`` column; empty when none is stored.
    """
    frames = []
    for stage in MONITORED_STAGES:
        if stage not in keys:
            continue
        history = store.monitor_history(keys[stage], monitor)
        if history.empty or "generation" not in history:
            history = pd.DataFrame(columns=["generation"])
        history = history[history["generation"] <= through].copy()
        checked = stage in _CHECKED_STAGES.get(monitor, MONITORED_STAGES)
        skipped = [] if empty is None or not checked else [
            {"generation": int(row.generation), "rows": 0, "passed": True, "verdict": "skipped",
             "reason": row.reason}
            for row in empty[empty["stage"] == stage.value].itertuples()
            if int(row.generation) not in set(history["generation"])
        ]
        if skipped:
            history = pd.concat([history, pd.DataFrame(skipped)], ignore_index=True) if len(history) else \
                pd.DataFrame(skipped)
        if history.empty:
            continue
        history.insert(0, "stage", stage.value)
        frames.append(history)
    if not frames:
        return pd.DataFrame(columns=["stage", "generation"])
    return pd.concat(frames, ignore_index=True).sort_values(["stage", "generation"], ignore_index=True)


SKILL_JUDGED = "skill above chance"
PLAIN_JUDGED = "TSTR / TRTR"
NOT_JUDGED = "not judged"


def judged_utility_columns(utility: pd.DataFrame) -> pd.DataFrame:
    """The utility monitor's rows with the figure its check judged beside the verdict.

    The utility rule judges the skill ratio ``(TSTR - chance) / (TRTR - chance)`` in place of the plain
    ratio where a model at chance would reach the limit (:func:`~synth_pipeline.checks.quality_checks.
    utility_outcome`), and judges nothing where TRTR is not clearly above chance or too few rows trained
    a model. A table showing the plain ratio and its bound beside a "failed" verdict would then show a
    figure that was not judged (a bound above the minimum marked failed).

    Args:
        utility: The utility monitor's rows (:func:`gather_monitor`): ``tstr_trtr_ratio`` and its upper
            bound, ``tstr_trtr_skill_ratio`` and its upper bound, ``tstr_trtr_judged`` (the judged
            figure's name; absent from figures stored before it was kept, then the plain ratio, which
            was the rule then unless the skill figures say otherwise), ``verdict``.

    Returns:
        The rows with ``judged`` (``TSTR / TRTR``, ``skill above chance`` or ``not judged``),
        ``judged_ratio`` and ``judged_upper_bound`` (NaN where nothing was judged).
    """
    if utility.empty or "tstr_trtr_ratio" not in utility:
        return utility
    names = utility["tstr_trtr_judged"] if "tstr_trtr_judged" in utility else \
        pd.Series("tstr_trtr_ratio", index=utility.index)
    skill = names.eq("tstr_trtr_skill_ratio")
    unjudged = utility["verdict"].isin(["warn", "skipped"]) if "verdict" in utility else \
        pd.Series(False, index=utility.index)
    nan = pd.Series(float("nan"), index=utility.index)
    skill_ratio = utility.get("tstr_trtr_skill_ratio", nan).astype(float)
    skill_bound = utility.get("tstr_trtr_skill_ratio_upper_bound", nan).astype(float)
    ratio = skill_ratio.where(skill, utility["tstr_trtr_ratio"].astype(float))
    bound = skill_bound.where(skill, utility.get("tstr_trtr_ratio_upper_bound", nan).astype(float))
    judged = pd.Series(PLAIN_JUDGED, index=utility.index).mask(skill, SKILL_JUDGED).mask(unjudged, NOT_JUDGED)
    return utility.assign(judged=judged, judged_ratio=ratio.mask(unjudged), judged_upper_bound=bound.mask(unjudged))


def gather_report_data(
    store: DatasetStore,
    keys: Mapping[Stage, dg.AssetKey],
    *,
    pipeline: str,
    generation: int,
    label_column: str | None = None,
    current_evaluation: pd.DataFrame | None = None,
    run_id: str | None = None,
) -> ReportData:
    """Everything a generation report shows, read from the stored files.

    Args:
        store: The pipeline's dataset store.
        keys: Asset key of each stage (at least the training mix and the evaluation).
        pipeline: The pipeline's name.
        generation: The report's generation; later stored generations are left out.
        label_column: The class label, for the per-class table (None: no such table).
        current_evaluation: This generation's evaluation frame, if not stored yet.
        run_id: The Dagster run building the report (the generation's latest run); None: the run of the
            generation's most recent check record (:mod:`synth_pipeline.report.runs`).

    Returns:
        The report's figures.
    """
    from synth_pipeline.quality.monitor_names import DIVERSITY_MONITOR, PRIVACY_MONITOR, UTILITY_MONITOR

    composition, class_fractions = gather_composition(
        store, keys[Stage.TRAINING_MIX], through=generation, label_column=label_column
    )
    scores = gather_scores(store, keys[Stage.EVALUATION], through=generation, current=current_evaluation)
    notes = []
    missing_mix = sorted(set(range(1, generation + 1)) - set(composition["generation"]))
    if missing_mix:
        notes.append(f"no stored training mix for generation(s) {_ranges(missing_mix)}")
    missing_scores = sorted(set(composition["generation"]) - set(scores["generation"]))
    if missing_scores:
        notes.append(f"no stored evaluation for generation(s) {_ranges(missing_scores)}")
    # a regression label's scores are R²: its empty augmented stage is then named as not applying
    empty = gather_empty(store, keys, through=generation,
                         regression=scores_metric(scores) == REGRESSION_PRIMARY_METRIC)
    records = gather_check_records(store, keys, generation=generation)
    latest = latest_run(records, generation, run_id)
    records = mark_earlier_records(records, generation, latest)
    earlier_stages = {stage.value: writer for stage in Stage if stage in keys and stage in PARTITIONED_STAGES
                      if (writer := earlier_writer(store, keys[stage], generation, latest))}
    composition = mark_generation_rows(composition, generation, earlier_stages.get(Stage.TRAINING_MIX.value, ""))
    if current_evaluation is None:  # else the row is this run's evaluation, not the stored one
        scores = mark_generation_rows(scores, generation, earlier_stages.get(Stage.EVALUATION.value, ""))
    if earlier_stages and len(empty):
        left = empty["stage"].map(earlier_stages).fillna("")
        empty = empty.assign(**{EARLIER_COLUMN: left.where(empty["generation"] == generation, "")})
    monitors = {
        name: _mark_monitor(gather_monitor(store, keys, name, through=generation, empty=empty), name, records,
                            generation)
        for name in (DIVERSITY_MONITOR, PRIVACY_MONITOR, UTILITY_MONITOR)
    }
    monitors[UTILITY_MONITOR] = judged_utility_columns(monitors[UTILITY_MONITOR])
    notes += _earlier_notes(generation, latest, earlier_stages, records)
    return ReportData(
        pipeline=pipeline, generation=generation, composition=composition, class_fractions=class_fractions,
        scores=scores, diversity=monitors[DIVERSITY_MONITOR], privacy=monitors[PRIVACY_MONITOR],
        utility=monitors[UTILITY_MONITOR], notes=notes, empty=empty,
        checks=gather_checks(records),
        check_verdicts=gather_check_verdicts(records),
        verdict=gather_verdict(store, keys, records, generation=generation, earlier_stages=earlier_stages),
        latest_run=latest, earlier_stages=earlier_stages,
    )


def _mark_monitor(frame: pd.DataFrame, monitor: str, records: pd.DataFrame, generation: int) -> pd.DataFrame:
    """A monitor's figures with the rows of ``generation`` its check (named like the monitor) kept from an
    earlier run marked with that run (:data:`~synth_pipeline.report.runs.EARLIER_COLUMN`)."""
    earlier = records[(records["check"] == monitor) & (records[EARLIER_COLUMN] != "")
                      & (records["generation"] == generation)]
    if frame.empty or earlier.empty:
        return frame
    writer = dict(zip(earlier["stage"], earlier[EARLIER_COLUMN], strict=True))
    marked = frame.assign(**{EARLIER_COLUMN: ""})
    rows = marked["generation"] == generation
    marked.loc[rows, EARLIER_COLUMN] = marked.loc[rows, "stage"].map(writer).fillna("")
    return marked


def _earlier_notes(
    generation: int, latest: str | None, earlier_stages: Mapping[str, str], records: pd.DataFrame
) -> list[str]:
    """What an earlier run of the generation left that the report shows, one note per kind."""
    if latest is None:
        return []
    notes = []
    if earlier_stages:
        notes.append(f"generation {generation} was run again: run {short_run(latest)} did not write "
                     + ", ".join(f"{stage} (left by {run_name(run)})" for stage, run in earlier_stages.items())
                     + "; their figures are those of the earlier run")
    earlier = records[records[EARLIER_COLUMN] != ""]
    if len(earlier):
        judged = earlier[earlier["verdict"].isin(["failed", "warning"])]
        named = [f"{row.check} on {row.stage} ({row.verdict} in {run_name(str(getattr(row, EARLIER_COLUMN)))})"
                 for row in judged.itertuples()]
        others = len(earlier) - len(judged)
        named += [f"{others} more that passed or were skipped"] if others else []
        notes.append(f"checks of generation {generation} not run again in run {short_run(latest)}, kept as an "
                     "earlier run left them and not part of the verdict: " + ", ".join(named))
    return notes


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` as ``1-3, 5``."""
    parts: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ", ".join(parts)
