"""Which run of a generation a report describes, and what an earlier run of it left in the store.

A generation can be run again (e.g. blocked, then rerun under another policy). A rerun replaces
the stored outputs and check records it makes again, and leaves the others as the earlier run
wrote them: nothing is deleted. The report describes the generation as its *latest* run left
it, and shows what an earlier run left as such.

- The latest run: the Dagster run building the report, when there is one (the evaluation's
  report, a blocked check's report); else the run of the generation's most recently written
  check record (``recorded_at``), among the records of the generation and those of the stages
  made once that a run of this generation wrote (``run_generation``).
- A check record is from an earlier run when it belongs to the generation (its own generation,
  or ``run_generation`` for a stage made once) and another run wrote it. Such records stay in
  the report, marked, and are left out of its verdict.
- A stage's stored output of the generation is from an earlier run when its version record
  (:mod:`synth_pipeline.lineage.versions`, written by the publish that stored it) names another
  Dagster run for the content the file holds.

Without those columns or records (stores written by an older version) nothing is marked: the
report reads as it did before.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from synth_pipeline.storage import DatasetStore

EARLIER_COLUMN = "earlier_run"
"""A report frame's column naming the earlier run that left a row (absent: every row is the latest run's)."""
UNKNOWN_RUN = "unknown"
"""The writer named for a record of the generation kept without a run id (written by an older version)."""


def short_run(run_id: str) -> str:
    """A Dagster run id as the UI shows it in lists: its first 8 characters."""
    return run_id[:8]


def run_name(run: str) -> str:
    """An earlier run as a report names it: ``run 1a2b3c4d``, or ``an earlier run`` when not recorded."""
    return "an earlier run" if run == UNKNOWN_RUN else f"run {short_run(run)}"


def _of_generation(records: pd.DataFrame, generation: int) -> pd.Series:
    """Which records a run of ``generation`` wrote: the generation's own, and the once-made stages' records
    whose ``run_generation`` is it."""
    own = records["generation"] == generation
    if "run_generation" in records.columns:
        own = own | (records["run_generation"] == generation)
    return own


def latest_run(records: pd.DataFrame, generation: int, run_id: str | None = None) -> str | None:
    """The run a report of ``generation`` describes (see the module docs); None when the store cannot tell.

    Args:
        records: The generation's kept check records (:func:`~synth_pipeline.generation_verdict.kept_check_records`).
        generation: The report's generation.
        run_id: The Dagster run building the report, if any: that is the latest run.
    """
    if run_id is not None:
        return run_id
    if records.empty or not {"recorded_at", "run_id"} <= set(records.columns):
        return None
    dated = records[_of_generation(records, generation) & records["recorded_at"].notna()
                    & records["run_id"].notna()]
    if dated.empty:
        return None
    return str(dated.loc[pd.to_datetime(dated["recorded_at"], utc=True).idxmax(), "run_id"])


def mark_earlier_records(records: pd.DataFrame, generation: int, latest: str | None) -> pd.DataFrame:
    """``records`` with an :data:`EARLIER_COLUMN` column: the run that wrote each record of ``generation``
    that the ``latest`` run did not write again (:data:`UNKNOWN_RUN` if not recorded), else empty."""
    marked = records.assign(**{EARLIER_COLUMN: ""})
    if latest is None or records.empty:
        return marked
    writers = (records["run_id"] if "run_id" in records.columns else pd.Series(None, index=records.index,
                                                                              dtype=object))
    # a record of the generation without a run id was written by an older version: before the latest run
    writers = writers.map(lambda run: UNKNOWN_RUN if pd.isna(run) else str(run))
    earlier = _of_generation(records, generation) & (writers != latest)
    marked.loc[earlier, EARLIER_COLUMN] = writers[earlier]
    return marked


def stored_by(store: DatasetStore, asset_key: dg.AssetKey, partition: str) -> str | None:
    """The Dagster run that wrote the stored output of ``asset_key`` for ``partition``, as its version record
    says (None: nothing stored, or not recorded)."""
    from synth_pipeline.lineage.layout import LineageLayout
    from synth_pipeline.lineage.versions import stored_version

    if not store.exists(asset_key, partition):
        return None
    path = store.path_of(asset_key, partition)
    return stored_version(path, LineageLayout.for_data_dir(store.root).version_record(path)).dagster_run_id


def earlier_writer(store: DatasetStore, asset_key: dg.AssetKey, generation: int, latest: str | None) -> str:
    """The earlier run that left the stored output of ``asset_key`` for ``generation``; empty when the
    ``latest`` run wrote it, nothing is stored, or the store cannot tell."""
    if latest is None:
        return ""
    writer = stored_by(store, asset_key, str(generation))
    return writer if writer is not None and writer != latest else ""


def mark_generation_rows(frame: pd.DataFrame, generation: int, writer: str) -> pd.DataFrame:
    """``frame`` (rows per generation) with :data:`EARLIER_COLUMN` set on ``generation``'s rows to the
    earlier run ``writer`` that left them; unchanged when ``writer`` is empty."""
    if not writer or frame.empty:
        return frame
    marked = frame.assign(**{EARLIER_COLUMN: ""}) if EARLIER_COLUMN not in frame.columns else frame.copy()
    marked.loc[marked["generation"] == generation, EARLIER_COLUMN] = writer
    return marked
