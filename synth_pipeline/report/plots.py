"""The report's plots, drawn with matplotlib as PNG bytes.

matplotlib is imported inside the functions (loading the Dagster definitions must not
pay for it), and only its object-oriented API is used: a :class:`matplotlib.figure.Figure`
rendered by the Agg canvas, so no GUI backend or global pyplot state is involved.

Every plot has the generation on its x axis. Points are drawn with markers, so a single
generation, or a score between two missing (NaN) ones, is still visible; a series with no
number at all is marked "(no value)" in the legend.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from synth_pipeline.metrics import metric_name
from synth_pipeline.report.data import ReportData, scores_metric

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

KIND_COLORS = {"real": "#4C72B0", "synthetic": "#DD8452", "augmented": "#55A868", "unknown": "#8C8C8C"}
STAGE_COLORS = {"synthetic": "#DD8452", "augmented": "#55A868", "training_mix": "#8172B3"}
SCORE_COLORS = {"real_only": "#4C72B0", "synthetic_only": "#DD8452", "training_mix": "#8172B3"}
SCORE_LABELS = {"real_only": "TRTR (train on real)", "synthetic_only": "TSTR (train on synthetic)",
                "training_mix": "training mix model"}
LIMIT_STYLE = {"color": "#C44E52", "linestyle": "--", "linewidth": 1}

REPORT_DPI = 100
KEY_PLOT_SIZE = (6.4, 2.8)
KEY_PLOT_DPI = 100
PALETTE_COLORS = 256


def _figure(width: float, height: float, rows: int = 1, columns: int = 1, **margins: float) -> tuple[Figure, Any]:
    """A figure with a grid of axes, laid out by fixed margins.

    Fixed margins rather than matplotlib's constrained layout: that draws every figure
    twice and doubled the report's time.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    layout = {"left": 0.6 / width, "right": 1 - 0.15 / width, "bottom": 0.5 / height, "top": 1 - 0.35 / height,
              "wspace": 0.25, "hspace": 0.55}
    layout.update(margins)
    figure.subplots_adjust(**layout)
    return figure, figure.subplots(rows, columns, squeeze=False)


def to_png(figure: Figure, dpi: int = REPORT_DPI, colors: int = PALETTE_COLORS) -> bytes:
    """Render a figure as a PNG with a palette of ``colors`` colors (4-5 times smaller than full color).

    No timestamp or software tag is written, so the same figures give the same bytes.
    """
    from PIL import Image  # a dependency of matplotlib

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette = image.convert("RGB").quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _generation_axis(axes: Axes, generations: Sequence[int], *, title: str, ylabel: str | None = None) -> None:
    from matplotlib.ticker import MaxNLocator

    if len(generations):
        first, last = int(min(generations)), int(max(generations))
        axes.set_xlim(first - 0.5, last + 0.5)
        if last - first < 8:
            axes.set_xticks(range(first, last + 1))
        else:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    axes.tick_params(labelsize=8)
    axes.set_xlabel("generation", fontsize=8)
    if ylabel:
        axes.set_ylabel(ylabel, fontsize=8)
    axes.set_title(title, fontsize=9)
    axes.grid(True, alpha=0.3)


def _marker_size(points: int) -> float:
    return 4.5 if points <= 40 else 2.0


def _line(axes: Axes, x: pd.Series, y: pd.Series, *, label: str, color: str, **style: Any) -> bool:
    """One series: markers on every number, lines between consecutive numbers, NaN as gaps.

    Returns:
        Whether the series holds any number.
    """
    values = pd.to_numeric(y, errors="coerce").astype(float)
    measured = bool(values.notna().any())
    axes.plot(x.to_numpy(), values.to_numpy(), marker="o", markersize=_marker_size(len(values)),
              label=label if measured else f"{label} (no value)", color=color, linewidth=1.5, **style)
    return measured


def _limit(axes: Axes, frame: pd.DataFrame, column: str, label: str = "policy limit") -> None:
    """The policy limit stored with the figures (the last generation's), as a dashed line."""
    if column in frame and frame[column].notna().any():
        axes.axhline(float(frame[column].dropna().iloc[-1]), label=label, **LIMIT_STYLE)


def _legend(axes: Axes, **options: Any) -> None:
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7, framealpha=0.85, **options)


def _figure_legend(figure: Figure, panels: Sequence[Axes]) -> None:
    """One legend above all panels, each label once (keeps the panels' points uncovered)."""
    handles: dict[str, Any] = {}
    for panel in panels:
        for handle, label in zip(*panel.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        figure.legend(list(handles.values()), list(handles), loc="upper center", ncols=len(handles), fontsize=8,
                      frameon=False, bbox_to_anchor=(0.5, 1.0))


def _nothing_to_show(axes: Axes, message: str) -> None:
    axes.text(0.5, 0.5, message, transform=axes.transAxes, ha="center", va="center", fontsize=8, color="#777777")


def _span(data: ReportData) -> list[int]:
    """The generations every plot's x axis covers: the first with any figure through the report's."""
    frames = (data.composition, data.scores, data.diversity, data.privacy, data.utility)
    seen = [int(g) for frame in frames if "generation" in frame for g in frame["generation"].dropna()]
    return [min(seen) if seen else 1, data.generation]


def _fractions(axes: Axes, composition: pd.DataFrame, span: Sequence[int]) -> None:
    generations = composition["generation"]
    _line(axes, generations, composition["synthetic_fraction"], label="synthetic", color=KIND_COLORS["synthetic"])
    _line(axes, generations, composition["non_real_fraction"], label="non-real (incl. augmented)",
          color="#937860", linestyle=":")
    top = float(composition[["synthetic_fraction", "non_real_fraction"]].max().max()) if len(composition) else 0.0
    axes.set_ylim(0, 0.5 if math.isnan(top) else min(1.05, max(0.5, math.ceil(top * 10) / 10 + 0.1)))
    _generation_axis(axes, span, title="Share of the training mix", ylabel="fraction of rows")
    _legend(axes, loc="upper left")
    if composition.empty:
        _nothing_to_show(axes, "no training mix stored")


def _scores(axes: Axes, scores: pd.DataFrame, span: Sequence[int]) -> None:
    generations = scores["generation"]
    for model in ("real_only", "synthetic_only", "training_mix"):
        _line(axes, generations, scores[model], label=SCORE_LABELS[model], color=SCORE_COLORS[model],
              linestyle=":" if model == "training_mix" else "-")
    # R² can be negative (a model worse than the label's mean): the axis then reaches below 0
    lowest = scores[["real_only", "synthetic_only", "training_mix"]].min().min() if len(scores) else 0.0
    axes.set_ylim(min(0.0, math.floor(float(lowest) * 10) / 10) if math.isfinite(lowest) else 0.0, 1.05)
    _generation_axis(axes, span, title="Scores on the real holdout", ylabel=metric_name(scores_metric(scores)))
    _legend(axes, loc="lower left")
    if scores.empty:
        _nothing_to_show(axes, "no evaluation stored")


def key_plot(data: ReportData) -> bytes:
    """Synthetic fraction of the mix and TSTR / TRTR scores per generation (small, for the UI)."""
    figure, axes = _figure(*KEY_PLOT_SIZE, 1, 2, top=0.85, left=0.1, right=0.98, wspace=0.3, bottom=0.16)
    _fractions(axes[0][0], data.composition, _span(data))
    _scores(axes[0][1], data.scores, _span(data))
    shown = "generation 1" if data.generation == 1 else f"generations 1-{data.generation}"
    figure.suptitle(f"{data.pipeline}, {shown}", fontsize=10)
    return to_png(figure, KEY_PLOT_DPI)


def composition_plot(data: ReportData) -> bytes | None:
    """Rows per provenance kind in each generation's training mix, as shares and counts."""
    composition = data.composition
    if composition.empty:
        return None
    figure, axes = _figure(9, 3.0, 1, 2, left=0.07, right=0.98, bottom=0.15, top=0.9, wspace=0.2)
    generations = composition["generation"].to_numpy()
    for panel, shares in ((axes[0][0], True), (axes[0][1], False)):
        layers = []
        for kind in KIND_COLORS:
            counts = composition[f"rows_{kind}"].astype(float)
            layers.append((counts / composition["rows"].where(composition["rows"] > 0) if shares else counts)
                          .fillna(0.0).to_numpy())
        if len(generations) <= 40:
            bottom = 0.0
            for (kind, color), heights in zip(KIND_COLORS.items(), layers, strict=True):
                panel.bar(generations, heights, bottom=bottom, width=0.8, color=color, label=kind, linewidth=0)
                bottom = bottom + heights
        else:  # bars would be thinner than a pixel, and slow: areas instead
            panel.stackplot(generations, *layers, colors=list(KIND_COLORS.values()), labels=list(KIND_COLORS),
                            step="mid")
        _generation_axis(panel, _span(data), title="Share of rows per kind" if shares else "Rows per kind",
                         ylabel="fraction of rows" if shares else "rows")
    axes[0][0].set_ylim(0, 1)
    axes[0][1].set_ylim(0, float(composition["rows"].max()) * 1.25 or 1)
    _legend(axes[0][1], loc="upper left", ncols=4)
    return to_png(figure)


def scores_plot(data: ReportData) -> bytes | None:
    """TSTR, TRTR and the mix model's score, and their ratios, per generation."""
    scores = data.scores
    if scores.empty:
        return None
    figure, axes = _figure(9, 3.0, 1, 2, left=0.07, right=0.98, bottom=0.15, top=0.9, wspace=0.2)
    _scores(axes[0][0], scores, _span(data))
    ratios = axes[0][1]
    _line(ratios, scores["generation"], scores["tstr_trtr_ratio"], label="evaluation: TSTR / TRTR",
          color=SCORE_COLORS["synthetic_only"])
    _line(ratios, scores["generation"], scores["mix_trtr_ratio"], label="evaluation: mix / TRTR",
          color=SCORE_COLORS["training_mix"], linestyle=":")
    utility = data.utility
    for stage, label in (("synthetic", "utility check: synthetic"), ("augmented", "utility check: augmented")):
        rows = utility[utility["stage"] == stage] if "stage" in utility else utility.iloc[0:0]
        if len(rows) and "judged_ratio" in rows:  # the figure its check judged against the limit
            _line(ratios, rows["generation"], rows["judged_ratio"], label=f"{label} (ratio judged)",
                  color=STAGE_COLORS[stage], linestyle="--", alpha=0.7)
    _limit(ratios, utility, "limit_tstr_trtr_ratio", "policy limit (min)")
    plotted = [line.get_ydata() for line in ratios.get_lines()]
    numbers = pd.Series([float(v) for values in plotted for v in values], dtype=float).dropna()
    low = float(numbers.min()) if len(numbers) else 0.5
    high = float(numbers.max()) if len(numbers) else 1.0
    ratios.set_ylim(min(0.5, low - 0.05), max(1.1, high + 0.05))
    _generation_axis(ratios, _span(data), title="Ratio to train-on-real", ylabel="ratio")
    _legend(ratios, loc="lower left", ncols=2 if len(ratios.get_lines()) > 3 else 1)
    return to_png(figure)


DIVERSITY_PANELS = (
    ("min_variance_ratio", "min_variance_upper_bound", "limit_variance_ratio", "variance ratio (smallest column)"),
    ("min_category_coverage", None, "limit_category_coverage", "category coverage (smallest column)"),
    ("tail_coverage", "tail_coverage_upper_bound", "limit_tail_coverage", "tail coverage"),
    ("distinct_row_ratio", None, "limit_distinct_row_ratio", "distinct-row ratio"),
)
"""(figure, its 95 % bound or None, stored limit, title) of each diversity panel."""


def _stage_lines(axes: Axes, frame: pd.DataFrame, column: str, band: str | None = None) -> bool:
    """One line per stage (with a band to the figure's confidence bound); whether any number was drawn."""
    measured = False
    for stage, rows in frame.groupby("stage", sort=False):
        if column not in rows or not pd.to_numeric(rows[column], errors="coerce").notna().any():
            continue  # e.g. category coverage without categorical columns
        color = STAGE_COLORS.get(str(stage), "#333333")
        measured |= _line(axes, rows["generation"], rows[column], label=str(stage), color=color)
        if band is not None and band in rows:
            axes.fill_between(rows["generation"].to_numpy(), rows[column].astype(float).to_numpy(),
                              rows[band].astype(float).to_numpy(), color=color, alpha=0.15, linewidth=0)
    return measured


def _top(frame: pd.DataFrame, columns: Sequence[str | None], floor: float) -> float:
    present = [c for c in columns if c is not None and c in frame]
    values = pd.concat([pd.to_numeric(frame[c], errors="coerce") for c in present]) if present else pd.Series()
    return max(floor, float(values.max()) * 1.08) if values.notna().any() else floor


def diversity_plot(data: ReportData) -> bytes | None:
    """The four collapse monitors per generation and stage (1.0: as diverse as real data)."""
    diversity = data.diversity
    if diversity.empty:
        return None
    figure, axes = _figure(9, 5.2, 2, 2, left=0.07, right=0.98, bottom=0.08, top=0.9, wspace=0.15, hspace=0.4)
    for panel, (column, band, limit, title) in zip((a for row in axes for a in row), DIVERSITY_PANELS, strict=True):
        if not _stage_lines(panel, diversity, column, band):
            _nothing_to_show(panel, "not measured (no such column)")
        _limit(panel, diversity, limit)
        panel.axhline(1.0, color="#999999", linewidth=0.8)
        _generation_axis(panel, _span(data), title=title, ylabel="relative to real")
        panel.set_ylim(0, _top(diversity, (column, band), 1.1))
    _figure_legend(figure, [a for row in axes for a in row])
    return to_png(figure)


PRIVACY_PANELS = (
    ("dcr_share", "dcr_share_lower_bound", "limit_dcr_share", "DCR share (0.5: no memorization)"),
    ("membership_auc", "membership_auc_lower_bound", "limit_membership_auc", "membership AUC (0.5: no leak)"),
    ("excess_copy_fraction", "excess_copy_fraction_lower_bound", "limit_exact_copy_fraction",
     "copies beyond chance (share of rows)"),
)
"""(figure, its 95 % lower bound or None, stored limit, title) of each privacy panel."""


def privacy_plot(data: ReportData) -> bytes | None:
    """DCR share, membership-inference AUC and the share of copies beyond chance per generation and stage."""
    privacy = data.privacy
    if privacy.empty:
        return None
    figure, axes = _figure(9, 3.2, 1, 3, left=0.06, right=0.98, bottom=0.14, top=0.82, wspace=0.22)
    for panel, (column, band, limit, title) in zip(axes[0], PRIVACY_PANELS, strict=True):
        if not _stage_lines(panel, privacy, column, band):
            _nothing_to_show(panel, "not measured")
        _limit(panel, privacy, limit)
        _generation_axis(panel, _span(data), title=title)
        top = 1.02 if band else _top(privacy, (column, limit), 0.05)
        shown = [name for name in (column, band) if name and name in privacy]
        lowest = float(privacy[shown].min().min()) if shown else 0.0
        # points at 0 (no copies) stay visible above the axis; a copy bound below 0 (fewer than chance) too
        panel.set_ylim(min(-0.02 * top, lowest * 1.05 if lowest == lowest else 0.0), top)
    _figure_legend(figure, list(axes[0]))
    return to_png(figure)
