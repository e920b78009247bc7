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
from synth_pipeline.metrics import PRIMARY_METRIC
from synth_pipeline.metrics import tstr_trtr_ratio as score_ratio
from synth_pipeline.naming import PARTITIONED_STAGES, Stage
from synth_pipeline.provenance import ALL_KINDS, ProvenanceKind
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
            ``real_only`` (TRTR), ``synthetic_only`` (TSTR) in :data:`PRIMARY_METRIC`,
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
        verdict: Passed, or blocked by which checks (observed vs limit) and what did not run.
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


CHECK_COLUMNS = ("stage", "check", "verdict", "blocking", "evidence")
VERDICT_COLUMNS = ("stage", "check", "verdict")


def gather_check_records(store: DatasetStore, keys: Mapping[Stage, dg.AssetKey], *, generation: int) -> pd.DataFrame:
    """Every check record kept for ``generation`` (and for the unpartitioned real stages), read once:
    a ``stage`` column and those of :func:`~synth_pipeline.generation_verdict.kept_check_records`, in stage
    order."""
    ordered = [stage for stage in Stage if stage in keys]
    records = kept_check_records(store, [keys[stage] for stage in ordered], generation)
    stage_of = {keys[stage].to_user_string(): stage.value for stage in ordered}
    return records.assign(stage=records["asset"].map(stage_of))


def gather_check_verdicts(records: pd.DataFrame) -> pd.DataFrame:
    """The verdict of every kept check of :func:`gather_check_records`: ``stage``, ``check``, ``verdict``
    (``passed``, ``failed``, ``warning`` or ``skipped``), in stage order."""
    return records[list(VERDICT_COLUMNS)].reset_index(drop=True)


def gather_verdict(
    store: DatasetStore, keys: Mapping[Stage, dg.AssetKey], records: pd.DataFrame, *, generation: int
) -> GenerationVerdict:
    """The generation's verdict from its kept check records (:func:`gather_check_records`): the blocking
    checks that failed, and, when any did, the per-generation stages with nothing stored for it (not run)."""
    blocking = blocking_failures(records)
    per_generation = [keys[stage] for stage in Stage if stage in keys and stage in PARTITIONED_STAGES]
    not_run = not_materialized(store, per_generation, generation) if blocking else []
    return verdict_from_records(generation, blocking, not_run)


def gather_checks(records: pd.DataFrame) -> pd.DataFrame:
    """The checks of :func:`gather_check_records` that failed or warned, with every failed or unjudged
    rule's evidence line: ``stage``, ``check``, ``verdict`` (``failed`` or ``warning``), ``blocking``,
    ``evidence`` (lines joined by newlines)."""
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


def score_row(evaluation: pd.DataFrame, generation: int) -> dict[str, float | int]:
    """One generation's scores (:data:`PRIMARY_METRIC`) from its evaluation frame."""
    by_model = evaluation.set_index("trained_on")
    # a regression evaluation names its primary metric (r2); older frames have no such column
    metric = str(evaluation["primary_metric"].iloc[0]) if "primary_metric" in evaluation else PRIMARY_METRIC
    row: dict[str, float | int] = {"generation": generation}
    for model in ("training_mix", "real_only", "synthetic_only"):
        present = model in by_model.index
        row[model] = float(by_model.at[model, metric]) if present else float("nan")
        row[f"{model}_rows"] = int(by_model.at[model, "train_rows"]) if present else 0
    row["tstr_trtr_ratio"] = score_ratio(row["synthetic_only"], row["real_only"])
    row["mix_trtr_ratio"] = score_ratio(row["training_mix"], row["real_only"])
    row["holdout_rows"] = int(evaluation["holdout_rows"].iloc[0]) if "holdout_rows" in evaluation else 0
    return row


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
               "synthetic_only_rows", "tstr_trtr_ratio", "mix_trtr_ratio", "holdout_rows"]
    return pd.DataFrame(rows, columns=columns)


def gather_empty(store: DatasetStore, keys: Mapping[Stage, dg.AssetKey], *, through: int) -> pd.DataFrame:
    """Stored generations (up to ``through``) of the per-generation data stages that hold no rows.

    Reads only each Parquet file's footer (its row count).

    Returns:
        ``stage``, ``generation`` and ``reason`` (why the stage is empty, ``no rows: ...``).
    """
    from synth_pipeline.no_rows import no_rows_reason
    from synth_pipeline.stage_files import parquet_file

    rows = [
        {"stage": stage.value, "generation": generation, "reason": no_rows_reason(stage, generation)}
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


def gather_report_data(
    store: DatasetStore,
    keys: Mapping[Stage, dg.AssetKey],
    *,
    pipeline: str,
    generation: int,
    label_column: str | None = None,
    current_evaluation: pd.DataFrame | None = None,
) -> ReportData:
    """Everything a generation report shows, read from the stored files.

    Args:
        store: The pipeline's dataset store.
        keys: Asset key of each stage (at least the training mix and the evaluation).
        pipeline: The pipeline's name.
        generation: The report's generation; later stored generations are left out.
        label_column: The class label, for the per-class table (None: no such table).
        current_evaluation: This generation's evaluation frame, if not stored yet.

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
    empty = gather_empty(store, keys, through=generation)
    records = gather_check_records(store, keys, generation=generation)
    monitors = {
        name: gather_monitor(store, keys, name, through=generation, empty=empty)
        for name in (DIVERSITY_MONITOR, PRIVACY_MONITOR, UTILITY_MONITOR)
    }
    return ReportData(
        pipeline=pipeline, generation=generation, composition=composition, class_fractions=class_fractions,
        scores=scores, diversity=monitors[DIVERSITY_MONITOR], privacy=monitors[PRIVACY_MONITOR],
        utility=monitors[UTILITY_MONITOR], notes=notes, empty=empty,
        checks=gather_checks(records),
        check_verdicts=gather_check_verdicts(records),
        verdict=gather_verdict(store, keys, records, generation=generation),
    )


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
