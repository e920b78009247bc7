"""Holdout isolation as two rules: exact holdout records and near-copies beyond chance.

- **holdout records (exact)**: real rows in a training input beyond the train split's
  copies of their content (:func:`synth_pipeline.isolation.leaked_records`). Identical
  content on both sides of the split is legitimate (the split places each copy on its
  own), so this is a multiset count; any such record is a leak, no chance involved.
- **holdout near-copies**: unknown-provenance rows (the rows that come from outside the
  pipeline) within the near-copy radius of a holdout row and closer to it than to any
  train-split row, beyond the rate at which train-split rows look like that by chance
  (:mod:`synth_pipeline.quality.near_copies`).

Synthetic and augmented rows are not judged as near-copies: they are made inside the
pipeline from a fit input whose real rows are checked as records and whose unknown rows
are checked as near-copies here, so a holdout row can only reach them through a row
this check already sees; how close a generator's output sits to the holdout is the
privacy check's DCR share. The chance rate assumes rows drawn from the real
population, which a generator's output is not: on a 3,000-row table of six skewed
4-level categorical columns a clean Gaussian copula's 1,500 rows gave 69 holdout-only
hits against 48 expected, a false alarm.

- **holdout text near-copies** (one rule per free-text column,
  :mod:`synth_pipeline.text.isolation`): generated *and* unknown-provenance texts that
  near-copy a holdout text (MinHash Jaccard of word 3-shingles at least ``text_jaccard``)
  and no train-split text, beyond the rate at which train-split texts do so. Generated
  texts are judged here, unlike generated rows: a near-copy of a text is a shared run of
  phrases, which a generator that never saw the text does not write by chance (the
  control measures what real texts share by themselves), while an LLM prompted with
  holdout texts does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import dagster as dg
import pandas as pd

from synth_pipeline.isolation import leaked_records
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.provenance import (
    DATASET_COLUMN,
    GENERATION_COLUMN,
    KIND_COLUMN,
    ROW_HASH_COLUMN,
    ProvenanceKind,
)
from synth_pipeline.quality.near_copies import holdout_near_copies
from synth_pipeline.splitting import occurrence_numbers
from synth_pipeline.stage_files import StagePath, read_parquet
from synth_pipeline.verdicts import RuleOutcome

EXACT_RULE = "holdout records in generator inputs, outputs or training mixes"
NEAR_RULE = "near-copies of holdout rows beyond chance (unknown-provenance rows)"
TEXT_RULE = "near-copies of holdout texts beyond chance (generated and unknown-provenance rows)"
_NOT_REAL = (ProvenanceKind.SYNTHETIC.value, ProvenanceKind.AUGMENTED.value, ProvenanceKind.UNKNOWN.value)
_FILE = "_sp_scanned_dataset"
_COPY = "_sp_record_copy"
_RECORD = [ROW_HASH_COLUMN, GENERATION_COLUMN, KIND_COLUMN, DATASET_COLUMN]


def unknown_records(
    datasets: Mapping[StagePath, str], kinds: Collection[str] = (ProvenanceKind.UNKNOWN.value,)
) -> pd.DataFrame:
    """The rows of ``kinds`` (unknown provenance by default) of the scanned datasets, each record once,
    with the datasets holding it.

    A record is its content hash, generation stamp, kind and producing dataset, counted
    as a multiset within a file: a row in its ingestion output and in every mix it was
    accumulated into is one record.

    Returns:
        One row per record, with ``_sp_scanned_dataset`` listing the datasets that hold it.
    """
    frames = []
    for path, name in datasets.items():
        frame = read_parquet(path)
        frame = frame[frame[KIND_COLUMN].isin(list(kinds))].reset_index(drop=True)
        if frame.empty:
            continue
        keys = pd.MultiIndex.from_frame(frame[_RECORD].astype(str)).to_flat_index().to_numpy()
        frame[_COPY] = occurrence_numbers(keys)
        frame[_FILE] = name
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    rows = pd.concat(frames, ignore_index=True)
    holders = rows.groupby([*_RECORD, _COPY], sort=False, dropna=False)[_FILE].agg(list).rename(_FILE)
    records = rows.drop(columns=[_FILE]).drop_duplicates([*_RECORD, _COPY])
    return records.merge(holders.reset_index(), on=[*_RECORD, _COPY], how="left").reset_index(drop=True)


def holdout_isolation(
    holdout: StagePath, train: StagePath, datasets: Mapping[StagePath, str], policy: SynthPolicy,
    text_columns: Sequence[str] = (),
) -> tuple[list[RuleOutcome], dict[str, Any]]:
    """Judge the scanned training inputs for holdout records and near-copies.

    Args:
        holdout: Parquet file of the sealed holdout.
        train: Parquet file of the real train split.
        datasets: Training inputs to scan (files of real arrivals, synthetic and augmented
            outputs, training mixes) and their names for messages, e.g. ``bc/training_mix[2]``.
        policy: Supplies ``holdout_near_copy_quantile``, ``max_holdout_near_copies``,
            ``text_jaccard`` and ``near_copy_control_rows``.
        text_columns: Free-text columns: their generated and unknown-provenance texts are
            judged for near-copies of holdout texts (:mod:`synth_pipeline.text.isolation`),
            one rule per column.

    Returns:
        The exact and the near-copy outcome (and one per text column), and metadata (``leaks``
        and ``near_copies``: rows per dataset; ``near_copy_figures``; ``text_near_copies``).
    """
    leaks = leaked_records(holdout, train, list(datasets))
    leaked_in = {datasets[path]: count for path, count in sorted(leaks.per_file.items(), key=lambda i: datasets[i[0]])}
    exact = RuleOutcome(
        EXACT_RULE, float(leaks.records), 0.0, "max", sample_size=leaks.real_rows,
        # real rows only: unknown-provenance rows, even exact copies, are judged by the near-copy rule
        sample_unit="real rows",
        fix=(f"holdout records are in {_listed(leaked_in)}: real rows may enter training only from the train split "
             "(real_arrivals); remove rows copied in from the holdout or the real source and re-materialize "
             "those generations, and never feed the real_holdout asset to a generator or a mix"),
    )
    real_holdout, real_train = read_parquet(holdout), read_parquet(train)
    text_outcomes, text_metadata = _text_near_copies(real_holdout, real_train, datasets, policy, text_columns)
    metadata_text = {"text_near_copies": dg.MetadataValue.json(text_metadata)} if text_columns else {}
    candidates = unknown_records(datasets)
    metadata: dict[str, Any] = {
        "leaked_rows": leaks.records,
        "leaked_contents": leaks.contents,
        "leaks": dg.MetadataValue.json(leaked_in),
        "datasets_scanned": len(datasets),
    }
    fix_near = ("a source that holds the sealed holdout's records (or slightly changed copies) must not reach "
                "training: remove those rows, or leave the source out of the mix (mix.include_unknown); if the "
                "rows are independent records that merely equal or resemble holdout rows, raise "
                "max_holdout_near_copies or lower holdout_near_copy_quantile")
    if candidates.empty:
        near = RuleOutcome(NEAR_RULE, 0.0, policy.max_holdout_near_copies, "max", sample_size=0, skipped=True,
                           unjudged="no rows: no unknown-provenance row reached a training input")
        return [exact, near, *text_outcomes], {**metadata, "near_copies": dg.MetadataValue.json({}), **metadata_text}
    if real_holdout.empty or real_train.empty:
        near = RuleOutcome(NEAR_RULE, float("nan"), policy.max_holdout_near_copies, "max",
                           sample_size=len(candidates), fix="give the holdout split rows on both sides (spec "
                           "holdout_fraction, more real rows)",
                           unjudged="not enough rows to judge: the holdout or the train split is empty")
        return [exact, near, *text_outcomes], {**metadata, "near_copies": dg.MetadataValue.json({}), **metadata_text}
    result = holdout_near_copies(candidates, real_holdout, real_train, quantile=policy.holdout_near_copy_quantile,
                                 max_control_rows=policy.near_copy_control_rows)
    flagged = candidates.loc[result.flags, _FILE]
    near_in = pd.Series([name for names in flagged for name in names], dtype=object).value_counts()
    near_in = {str(name): int(near_in[name]) for name in sorted(near_in.index)}
    near = RuleOutcome(
        NEAR_RULE, result.excess, policy.max_holdout_near_copies, "max",
        confidence_bound=result.excess_lower_bound, sample_size=result.rows,
        fix=(f"{result.near_copies} rows within {result.radius:.3g} of a holdout row and closer to it than to "
             f"any train-split row ({result.exact_copies} of them exact copies of holdout rows; chance rate "
             f"{result.chance_rate:.3g}, from {result.control_rows} train-split rows) are in {_listed(near_in)}: "
             f"{fix_near}"),
    )
    return [exact, near, *text_outcomes], {**metadata, "near_copies": dg.MetadataValue.json(near_in),
                                           "near_copy_figures": dg.MetadataValue.json(result.to_dict()),
                                           **metadata_text}


def _text_near_copies(
    holdout: pd.DataFrame, train: pd.DataFrame, datasets: Mapping[StagePath, str], policy: SynthPolicy,
    text_columns: Sequence[str],
) -> tuple[list[RuleOutcome], dict[str, Any]]:
    """One rule per text column: generated and unknown-provenance texts near-copying a holdout text."""
    if not text_columns:
        return [], {}
    from synth_pipeline.text.isolation import holdout_text_near_copies

    candidates = unknown_records(datasets, kinds=_NOT_REAL)
    outcomes, figures = [], {}
    for column in text_columns:
        rule = f"{TEXT_RULE} ({column})"
        if candidates.empty or column not in candidates.columns:
            outcomes.append(RuleOutcome(rule, 0.0, policy.max_holdout_near_copies, "max", sample_size=0,
                                        public_rule=TEXT_RULE, skipped=True,
                                        unjudged="no rows: no generated or unknown-provenance text reached a "
                                                 "training input"))
            continue
        result, flags = holdout_text_near_copies(
            candidates[column], holdout[column], train[column], jaccard=policy.text_jaccard,
            max_control_rows=policy.near_copy_control_rows)
        flagged = candidates.loc[flags, _FILE]
        found = pd.Series([name for names in flagged for name in names], dtype=object).value_counts()
        found_in = {str(name): int(found[name]) for name in sorted(found.index)}
        made = candidates.loc[flags, DATASET_COLUMN].astype(str).value_counts()
        made_by = {str(name): int(made[name]) for name in sorted(made.index)}
        outcomes.append(RuleOutcome(
            rule, result.excess, policy.max_holdout_near_copies, "max", public_rule=TEXT_RULE,
            confidence_bound=result.excess_lower_bound, sample_size=result.rows,
            fix=(f"{result.near_copies} texts near-copy a sealed holdout text (Jaccard >= {result.jaccard:g} on word "
                 f"3-shingles) and no train-split text (chance: {result.control_near_copies} of "
                 f"{result.control_rows} train-split texts) in {_listed(found_in)}, made by "
                 f"{_listed(made_by)}: holdout texts reached a "
                 "generator's prompt or an outside file; keep the holdout out of every generator and prompt, "
                 "remove those rows and re-materialize those generations, or, if legitimate, raise "
                 "max_holdout_near_copies")))
        figures[column] = {**result.to_dict(), "datasets": found_in, "made_by": made_by}
    return outcomes, figures


def _listed(names: Mapping[str, int]) -> str:
    if not names:
        return "no dataset"
    shown = ", ".join(f"{name} ({count} rows)" for name, count in list(names.items())[:5])
    return shown + (f" and {len(names) - 5} more datasets" if len(names) > 5 else "")
