"""Building a generation's report file: gather the figures, draw them, write the page.

The evaluation asset calls :func:`build_generation_report` at the end of each generation;
``synth-pipeline report`` calls it to rebuild a report from the stored files alone.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pandas as pd

from synth_pipeline.atomic_files import atomic_write
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.naming import Stage
from synth_pipeline.storage import DatasetStore

REPORTS_DIR = "_reports"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class GenerationReport:
    """A written report.

    Attributes:
        path: The HTML file.
        generation: The generation it reports on.
        key_plot: The key plot (synthetic fraction and TSTR / TRTR per generation) as PNG bytes.
        plots: How many plots the page holds.
        seconds: Time taken to gather, draw and write it.
        key_table: The key figures per generation as a Markdown table
            (:func:`~synth_pipeline.report.ui.key_table_markdown`).
    """

    path: Path
    generation: int
    key_plot: bytes
    plots: int
    seconds: float
    key_table: str = ""

    def key_plot_markdown(self) -> str:
        """The key plot as a Markdown image with a ``data:`` URI (the Dagster UI renders it inline)."""
        encoded = base64.b64encode(self.key_plot).decode("ascii")
        return f"![synthetic fraction and TSTR / TRTR per generation](data:image/png;base64,{encoded})"


def report_path(root: Path, pipeline: str, generation: int) -> Path:
    """Where a generation's report is written: ``<root>/_reports/<pipeline>/generation-<g>.html``.

    Raises:
        SynthPipelineError: The pipeline name is not a safe file name, or the generation is below 1.
    """
    if not _SAFE_NAME.match(pipeline) or generation < 1:
        raise SynthPipelineError(f"cannot name a report for pipeline {pipeline!r}, generation {generation}: "
                                 "pipeline names are letters, digits and _, generations start at 1")
    return root / REPORTS_DIR / pipeline / f"generation-{int(generation)}.html"


def build_generation_report(
    store: DatasetStore,
    keys: Mapping[Stage, dg.AssetKey],
    *,
    pipeline: str,
    generation: int,
    label_column: str | None = None,
    current_evaluation: pd.DataFrame | None = None,
    run_id: str | None = None,
    out: Path | None = None,
    step_errors: Sequence[tuple[str, str]] = (),
) -> GenerationReport:
    """Gather a generation's figures from the store, plot them and write the HTML page atomically.

    Args:
        store: The pipeline's dataset store.
        keys: Asset key of each stage (at least the training mix and the evaluation).
        pipeline: The pipeline's name.
        generation: The report's generation (the figures of generations 1..generation).
        label_column: The class label, for the per-class table.
        current_evaluation: This generation's evaluation frame, if not stored yet.
        run_id: The Dagster run building it, shown in the page: the generation's latest run, which the
            page describes (None: the run of the generation's most recent check record, see
            :mod:`synth_pipeline.report.runs`).
        out: Write here instead of :func:`report_path`.
        step_errors: The steps of the run that raised, with their messages (step key, message): the page's
            verdict then reads FAILED and lists them (a failed run's page once said only "checks that
            failed none").

    Returns:
        The written report.
    """
    from filelock import FileLock

    started = time.perf_counter()
    path = out if out is not None else report_path(store.root, pipeline, generation)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Several steps may write one generation's report (each failing blocking check, the evaluation,
    # the CLI): gathering and writing under one lock, the last writer has read every earlier record.
    with FileLock(f"{path}.lock"):
        return _build(store, keys, pipeline=pipeline, generation=generation, label_column=label_column,
                      current_evaluation=current_evaluation, run_id=run_id, path=path, started=started,
                      step_errors=tuple(step_errors))


def _build(
    store: DatasetStore,
    keys: Mapping[Stage, dg.AssetKey],
    *,
    pipeline: str,
    generation: int,
    label_column: str | None,
    current_evaluation: pd.DataFrame | None,
    run_id: str | None,
    path: Path,
    started: float,
    step_errors: tuple[tuple[str, str], ...] = (),
) -> GenerationReport:
    import synth_pipeline.report.plots as plots
    from synth_pipeline.report.data import gather_report_data
    from synth_pipeline.report.html import render_report
    from synth_pipeline.report.ui import key_table_markdown

    data = gather_report_data(
        store, keys, pipeline=pipeline, generation=generation, label_column=label_column,
        current_evaluation=current_evaluation, run_id=run_id,
    )
    if step_errors and data.verdict is not None:
        verdict = dataclasses.replace(data.verdict, errors=tuple(step for step, _ in step_errors))
        data = dataclasses.replace(data, verdict=verdict, step_errors=step_errors)
    drawn = {
        "key": plots.key_plot(data),
        "composition": plots.composition_plot(data),
        "scores": plots.scores_plot(data),
        "diversity": plots.diversity_plot(data),
        "privacy": plots.privacy_plot(data),
    }
    page = render_report(
        data, drawn, built_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), source=str(store.root),
        run_id=run_id,
    )
    atomic_write(path, lambda handle: handle.write(page.encode("utf-8")))
    return GenerationReport(
        path=path, generation=generation, key_plot=drawn["key"], plots=sum(png is not None for png in drawn.values()),
        seconds=time.perf_counter() - started, key_table=key_table_markdown(data),
    )
