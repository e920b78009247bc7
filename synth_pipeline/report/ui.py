"""A written generation report as Dagster metadata: reachable from the asset's page in the UI.

:func:`report_metadata` gives the entries any asset may attach to point at a report (the
evaluation does, each generation): the file's path, the key plot and the key figures per
generation as Markdown, which the UI renders inline.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from synth_pipeline.display import rounded
from synth_pipeline.metrics import metric_name

if TYPE_CHECKING:
    from synth_pipeline.report.build import GenerationReport
    from synth_pipeline.report.data import ReportData

KEY_TABLE_GENERATIONS = 10
"""Most generations the key table lists (the latest ones); the report's page has them all."""
_KEY_COLUMNS = (
    ("generation", "generation"), ("rows", "mix rows"), ("synthetic_fraction", "synthetic fraction"),
    ("non_real_fraction", "non-real fraction"), ("max_depth", "max depth"), ("real_only", "TRTR"),
    ("synthetic_only", "TSTR"), ("tstr_trtr_ratio", "TSTR / TRTR"),
)


def key_table_markdown(data: ReportData) -> str:
    """The training mix's composition and the scores of the latest generations, one row each, as Markdown.

    Scores are the primary metric, named in their headers (TRTR: train on real, TSTR: train on
    synthetic, both tested on the real holdout); a generation without a stored mix or evaluation shows ``–`` there.
    """
    scores = data.scores[["generation", "real_only", "synthetic_only", "tstr_trtr_ratio"]]
    table = data.composition.merge(scores, on="generation", how="outer").sort_values("generation")
    table = table.tail(KEY_TABLE_GENERATIONS)
    from synth_pipeline.report.data import scores_metric

    metric = metric_name(scores_metric(data.scores))
    # the scores' columns name their metric (R² for a regression label), as the report's page does
    header = "| " + " | ".join(f"{title} ({metric})" if column in ("real_only", "synthetic_only") else title
                               for column, title in _KEY_COLUMNS) + " |"
    rule = "|" + "|".join("---:" for _ in _KEY_COLUMNS) + "|"
    lines = ["| " + " | ".join(_cell(row[column]) for column, _ in _KEY_COLUMNS) + " |" for _, row in table.iterrows()]
    return "\n".join([header, rule, *lines])


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{rounded(value):g}"
    return str(int(value)) if isinstance(value, float) else str(value)


def report_metadata(report: GenerationReport) -> dict[str, Any]:
    """Metadata entries pointing at a written report: ``report`` (its path), ``report_plot`` (the key
    plot, inline), ``report_table`` (the key figures per generation) and ``report_seconds``."""
    entries: dict[str, Any] = {
        "report": dg.MetadataValue.path(str(report.path)),
        "report_plot": dg.MetadataValue.md(report.key_plot_markdown()),
    }
    if report.key_table:
        entries["report_table"] = dg.MetadataValue.md(report.key_table)
    entries["report_seconds"] = dg.MetadataValue.float(round(report.seconds, 3))
    return entries
