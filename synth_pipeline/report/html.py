"""The report as one self-contained HTML page: inline CSS, plots as base64 PNG ``data:`` URIs.

The page loads nothing from anywhere (no scripts, style sheets, fonts or remote images),
so it can be mailed, archived as a CI artifact or opened offline. Every text taken from
the data (pipeline, stage and column names, class labels) is HTML-escaped.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from html import escape

import pandas as pd

from synth_pipeline.generation_verdict import GenerationStatus
from synth_pipeline.metrics import metric_name
from synth_pipeline.report.data import ReportData, scores_metric
from synth_pipeline.report.runs import EARLIER_COLUMN, run_name, short_run

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em;
       border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.meta, figcaption, p.note { color: #555; font-size: 0.9em; }
figure { margin: 1em 0; } img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; }
th { background: #f4f4f4; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #2a7a2a; } .failed { color: #b22222; font-weight: bold; } .warning { color: #b86e00; }
.skipped { color: #555; font-style: italic; } .earlier { color: #555; font-style: italic; }
p.verdict { border-left: 4px solid #b22222; padding: 0.4em 0.8em; background: #fbeeee; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.summary dt { font-weight: bold; } dl.summary dd { margin: 0; }
"""

Column = tuple[str, str, str]
"""(frame column, header, format): format ``d`` integer, ``f`` 3 decimals, ``s`` text, ``b`` verdict,
``r`` the earlier run that left a row (empty: the latest run's)."""

_VERDICT_CLASS = {"passed": "ok", "failed": "failed", "warning": "warning", "skipped": "skipped"}


def verdicts(frame: pd.DataFrame) -> pd.Series:
    """Each stored check result as ``passed``, ``failed`` (blocking), ``warning`` (failed, not blocking, or
    a rule not judged: a ``verdict`` of ``warn``) or ``skipped`` (no rows to measure: a ``verdict`` of
    ``skipped``)."""
    if "passed" not in frame:
        return pd.Series(dtype=object, index=frame.index)
    blocking = (frame["blocking"].map(lambda b: True if pd.isna(b) else bool(b)) if "blocking" in frame
                else pd.Series(True, index=frame.index))
    failed = blocking.map(lambda b: "failed" if bool(b) else "warning")
    shown = frame["passed"].astype(bool).map({True: "passed"}).fillna(failed)
    if "verdict" in frame:  # a rule not judged (too few rows, not informative) warns, as the CLI says
        shown = shown.mask(frame["verdict"] == "warn", "warning").mask(frame["verdict"] == "skipped", "skipped")
    return shown


def png_data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _cell(value: object, kind: str) -> str:
    if kind == "r":
        run = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
        return f'<td class="earlier">{escape(run_name(run))}</td>' if run else "<td></td>"
    missing = value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
    if missing:
        return '<td class="n">&ndash;</td>'
    if kind == "d":
        return f'<td class="n">{int(value)}</td>'  # type: ignore[call-overload]
    if kind == "f":
        return f'<td class="n">{float(value):.3f}</td>'  # type: ignore[arg-type]
    if kind == "b":
        return f'<td class="{_VERDICT_CLASS[value]}">{value}</td>'  # type: ignore[index]
    return f"<td>{escape(str(value))}</td>"


_EARLIER: Column = (EARLIER_COLUMN, "left by an earlier run", "r")


def table(frame: pd.DataFrame, columns: Sequence[Column], table_id: str) -> str:
    """An HTML table of the given columns (those absent from ``frame`` are skipped), and, when ``frame`` marks
    rows an earlier run of the generation left, a last column naming that run."""
    if "passed" in frame:
        frame = frame.assign(passed=verdicts(frame))
    present = [column for column in [*columns, _EARLIER] if column[0] in frame.columns]
    head = "".join(f"<th>{escape(header)}</th>" for _, header, _ in present)
    body = "".join(
        "<tr>" + "".join(_cell(row[name], kind) for name, _, kind in present) + "</tr>"
        for _, row in frame.iterrows()
    )
    return f'<table id="{escape(table_id)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _figure(png: bytes | None, name: str, alt: str, caption: str) -> str:
    if png is None:
        return ""
    return (f'<figure><img data-plot="{escape(name)}" alt="{escape(alt)}" src="{png_data_uri(png)}">'
            f"<figcaption>{caption}</figcaption></figure>")


COMPOSITION_COLUMNS: list[Column] = [
    ("generation", "generation", "d"), ("rows", "rows", "d"), ("rows_real", "real", "d"),
    ("rows_synthetic", "synthetic", "d"), ("rows_augmented", "augmented", "d"), ("rows_unknown", "unknown", "d"),
    ("synthetic_fraction", "synthetic fraction", "f"), ("non_real_fraction", "non-real fraction", "f"),
    ("max_depth", "max depth", "d"),
]
CLASS_COLUMNS: list[Column] = [
    ("number", "class #", "s"), ("class", "label value", "s"), ("rows", "rows", "d"),
    ("synthetic_fraction", "synthetic fraction", "f"),
    ("non_real_fraction", "non-real fraction", "f"),
]
SCORE_COLUMNS: list[Column] = [
    ("generation", "generation", "d"), ("real_only", "TRTR (train on real)", "f"),
    ("synthetic_only", "TSTR (train on synthetic)", "f"), ("tstr_trtr_ratio", "TSTR / TRTR", "f"),
    ("training_mix", "mix model", "f"), ("mix_trtr_ratio", "mix / TRTR", "f"),
    ("real_only_rows", "real rows", "d"), ("synthetic_only_rows", "synthetic rows", "d"),
    ("training_mix_rows", "mix rows", "d"), ("holdout_rows", "holdout rows", "d"),
]
UTILITY_COLUMNS: list[Column] = [
    ("stage", "stage", "s"), ("generation", "generation", "d"), ("tstr_score", "trained on generated", "f"),
    ("trtr_score", "trained on real", "f"), ("chance_score", "chance", "f"), ("judged", "ratio judged", "s"),
    ("judged_ratio", "judged ratio", "f"), ("judged_upper_bound", "its 95 % upper bound", "f"),
    ("limit_tstr_trtr_ratio", "limit (min)", "f"), ("passed", "check", "b"),
    ("tstr_trtr_ratio", "plain TSTR / TRTR", "f"), ("tstr_trtr_skill_ratio", "skill ratio", "f"),
]
DIVERSITY_COLUMNS: list[Column] = [
    ("stage", "stage", "s"), ("generation", "generation", "d"), ("rows", "rows", "d"),
    ("min_variance_ratio", "variance ratio", "f"), ("min_variance_upper_bound", "its 95 % bound", "f"),
    ("min_variance_column", "judged column", "s"), ("lowest_variance_ratio", "lowest ratio (any column)", "f"),
    ("lowest_variance_column", "in column", "s"), ("min_category_coverage", "category coverage", "f"),
    ("max_variance_ratio", "largest variance ratio", "f"), ("max_variance_lower_bound", "its 95 % lower bound", "f"),
    ("tail_coverage", "tail coverage", "f"), ("tail_coverage_upper_bound", "its 95 % bound", "f"),
    ("tail_coverage_lower_bound", "its 95 % lower bound", "f"),
    ("distinct_row_ratio", "distinct-row ratio", "f"), ("passed", "check", "b"),
]
PRIVACY_COLUMNS: list[Column] = [
    ("stage", "stage", "s"), ("generation", "generation", "d"), ("synthetic_rows", "generated rows", "d"),
    ("exact_copies", "exact copies", "d"), ("dcr_share", "DCR share", "f"),
    ("dcr_share_lower_bound", "its 95 % lower bound", "f"), ("dcr_share_raw", "raw share", "f"),
    ("dcr_share_by_chance", "by chance", "f"), ("nndr_training", "NNDR", "f"),
    ("membership_auc", "membership AUC", "f"), ("membership_auc_lower_bound", "its 95 % lower bound", "f"),
    ("passed", "check", "b"),
]


def _numbered(classes: pd.DataFrame) -> pd.DataFrame:
    """The per-class table in label order with each class's number (``#i``), as the budget rules name it
    (:func:`~synth_pipeline.budgets.class_rule_names`); a regression label's bins keep their own names."""
    classes = classes.sort_values("class", key=lambda labels: labels.astype(str)).reset_index(drop=True)
    if classes["class"].astype(str).str.startswith("#").all():  # quantile bins: "#01 [lo, hi)"
        return classes
    return classes.assign(number=[f"#{index}" for index in range(1, len(classes) + 1)])


def _number(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "&ndash;"
    return f"{value:.3f}" if isinstance(value, float) else escape(str(value))


def _earlier(row: object) -> str:
    """`` (left by run ...)`` for a row an earlier run of the generation left, else empty."""
    run = getattr(row, EARLIER_COLUMN, "")
    run = "" if run is None or (isinstance(run, float) and math.isnan(run)) else str(run)
    return f' <span class="earlier">(left by {escape(run_name(run))})</span>' if run else ""


def _verdicts(frame: pd.DataFrame, generation: int) -> str:
    rows = frame[frame["generation"] == generation] if "passed" in frame else frame.iloc[0:0]
    if rows.empty:
        return "not measured"
    return ", ".join(
        f'{escape(str(row.stage))} <span class="{_VERDICT_CLASS[verdict]}">{verdict}</span>{_earlier(row)}'
        for row, verdict in zip(rows.itertuples(), verdicts(rows), strict=True)
    )


def _summary(data: ReportData) -> str:
    mix = data.composition[data.composition["generation"] == data.generation]
    scores = data.scores[data.scores["generation"] == data.generation]
    items: list[tuple[str, str]] = []
    if len(mix):
        row = mix.iloc[0]
        items.append(("training mix", f"{int(row['rows'])} rows, synthetic fraction "
                      f"{_number(float(row['synthetic_fraction']))}, non-real fraction "
                      f"{_number(float(row['non_real_fraction']))}, max depth {int(row['max_depth'])}"
                      f"{_earlier(row)}"))
    else:
        items.append(("training mix", "none stored for this generation"))
    if len(scores):
        row = scores.iloc[0]
        items.append((f"scores ({metric_name(str(row.get('metric') or scores_metric(data.scores)))})",
                      f"TRTR {_number(float(row['real_only']))}, TSTR {_number(float(row['synthetic_only']))}, "
                      f"TSTR / TRTR {_number(float(row['tstr_trtr_ratio']))}, mix model "
                      f"{_number(float(row['training_mix']))} on {int(row['holdout_rows'])} real holdout rows"
                      f"{_earlier(row)}"))
    else:
        items.append(("scores", "not evaluated"))
    for name, frame in (("diversity", data.diversity), ("privacy", data.privacy), ("utility", data.utility)):
        items.append((f"{name} checks", _verdicts(frame, data.generation)))
    # Every other check, from its kept verdicts: a fidelity, expectations or policy failure is named here too.
    others = data.check_verdicts[~data.check_verdicts["check"].isin(["diversity", "privacy", "utility"])]
    for name, rows in others.groupby("check", sort=True):
        items.append((f"{name} checks", ", ".join(
            f'{escape(str(row.stage))} <span class="{_VERDICT_CLASS.get(str(row.verdict), "warning")}">'
            f"{escape(str(row.verdict))}</span>{_earlier(row)}" for row in rows.itertuples())))
    # an earlier run's failure did not block the latest run: listed below, not counted here
    failed = data.checks[(data.checks["verdict"] == "failed") & (data.checks[EARLIER_COLUMN] == "")]
    items.append(("checks that failed", f'<span class="failed">{len(failed)} blocking</span>: '
                  + escape(", ".join(f"{r.check} on {r.stage}" for r in failed.itertuples())) if len(failed)
                  else "none"))
    if data.step_errors:  # "checks that failed: none" alone would read as a generation that went well
        items.append(("steps that failed", f'<span class="failed">{len(data.step_errors)}</span>: '
                      + escape(", ".join(step for step, _ in data.step_errors))))
    for row in data.empty[data.empty["generation"] == data.generation].itertuples():
        items.append((f"{row.stage} (no rows)",
                      f'every check <span class="skipped">skipped</span>: {escape(str(row.reason))}{_earlier(row)}'))
    return '<dl class="summary">' + "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _verdict_banner(data: ReportData) -> str:
    """The generation's verdict in one sentence, first on the page: blocked by which checks, what did not run."""
    if data.verdict is None or data.verdict.status is GenerationStatus.PASSED:
        return ""
    banner = f'<p class="verdict failed" id="verdict">{escape(data.verdict.headline())}</p>'
    if data.step_errors:  # what the run's failed steps said, as the CLI prints it
        banner += '<ul id="step-errors">' + "".join(
            f"<li><code>{escape(step)}</code> FAILED: {escape(_cut(message))}</li>"
            for step, message in data.step_errors) + "</ul>"
    return banner


def _cut(message: str, limit: int = 1000) -> str:
    """A step's error message, cut to ``limit`` characters (a traceback's worth of text helps nobody here)."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _checks(data: ReportData) -> str:
    """The checks that failed or warned, each with the evidence line of every rule behind it."""
    if data.checks.empty:
        return ""
    items = []
    for row in data.checks.itertuples():
        verdict = str(row.verdict)
        lines = "".join(f"<li><code>{escape(line)}</code></li>" for line in str(row.evidence).splitlines() if line)
        earlier = str(getattr(row, EARLIER_COLUMN, "") or "")
        if earlier:  # kept from an earlier run of the generation: not what blocked the latest one
            latest = f" in run {short_run(data.latest_run)}" if data.latest_run else ""
            shown = (f'<span class="earlier">{escape(verdict)} in {escape(run_name(earlier))}, not run again'
                     f"{escape(latest)}</span>")
        else:
            shown = (f'<span class="{_VERDICT_CLASS.get(verdict, "warning")}">{escape(verdict)}</span>'
                     f"{' (blocking)' if verdict == 'failed' else ''}")
        items.append(f'<li><b>{escape(str(row.check))}</b> on {escape(str(row.stage))}: {shown}<ul>{lines}</ul></li>')
    return (f"<h2>Checks that failed or warned</h2>"
            "<p>Each line: the rule, its observed figure, the 95 % bound compared with the limit, the sample "
            f'size and the fix.</p><ul id="checks">{"".join(items)}</ul>')


def _not_measured(what: str) -> str:
    return (f'<p class="note">No {what} figures are stored for these generations: the quality checks did not run '
            "(<code>include_quality_checks=False</code>) or did not reach this stage.</p>")


def render_report(
    data: ReportData,
    plots: Mapping[str, bytes | None],
    *,
    built_at: str,
    source: str | None = None,
    run_id: str | None = None,
) -> str:
    """The report page.

    Args:
        data: The figures (:func:`~synth_pipeline.report.data.gather_report_data`).
        plots: PNG bytes by name: ``key``, ``composition``, ``scores``, ``diversity``,
            ``privacy`` (None or absent: not drawn).
        built_at: When the report was built (shown as is).
        source: Where the figures were read from (shown as is).
        run_id: The Dagster run that built it, if any.

    Returns:
        The HTML text.
    """
    g = data.generation
    title = f"{data.pipeline}: generation {g} report"
    origin = f" in Dagster run <code>{escape(run_id)}</code>" if run_id else ""
    if data.latest_run and data.latest_run != run_id:
        origin += f", describing generation {g}'s latest run <code>{escape(data.latest_run)}</code>"
    where = f" from <code>{escape(source)}</code>" if source else ""
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Built {escape(built_at)}{origin}, with the figures of generations 1&ndash;{g} read'
        f"{where}. Aggregates only: row counts, shares, scores and check figures; no row values.</p>",
        _verdict_banner(data),
        _summary(data),
        _checks(data),
        _figure(plots.get("key"), "key", "synthetic fraction and TSTR / TRTR per generation",
                "Left: share of synthetic (and of all non-real) rows in each generation's training mix. "
                "Right: scores on the sealed real holdout of the same model trained on the mix's real rows "
                "(TRTR), on its synthetic rows (TSTR), and on the whole mix."),
        "<h2>Training-mix composition</h2>",
        _figure(plots.get("composition"), "composition", "rows per provenance kind per generation",
                "Rows of each provenance kind in each generation's training mix, as shares and as counts."),
        table(data.composition, COMPOSITION_COLUMNS, "composition"),
    ]
    if len(data.class_fractions):
        mix_run = data.earlier_stages.get("training_mix", "")
        left = f" (left by {escape(run_name(mix_run))})" if mix_run else ""
        parts += [f"<p>Per class in generation {g}'s mix{left} (rules name a class by its number, "
                  "<code>class #i</code> in label order):</p>",
                  table(_numbered(data.class_fractions), CLASS_COLUMNS, "classes")]
    parts += [
        "<h2>Train on synthetic vs train on real</h2>",
        _figure(plots.get("scores"), "scores", "TSTR, TRTR and ratios per generation",
                f"Left: {escape(metric_name(scores_metric(data.scores)))} on the sealed real holdout. Right: the "
                "ratios to train-on-real, with "
                "the utility checks' ratios (the generated stage alone, fitted-on rows as the real side) and "
                "the policy's minimum."),
        table(data.scores, SCORE_COLUMNS, "scores"),
    ]
    if len(data.utility):
        parts += ["<p>Utility checks. The ratio judged is the plain TSTR / TRTR, or the skill ratio "
                  "(TSTR - chance) / (TRTR - chance) where a model that learned nothing would already reach "
                  "the limit on the plain ratio; nothing is judged where TRTR is not clearly above chance or "
                  "too few rows trained a model. The check fails when the judged ratio's 95 % upper bound is "
                  "below the limit.</p>", table(data.utility, UTILITY_COLUMNS, "utility")]
    parts.append("<h2>Diversity (collapse monitors)</h2>")
    if len(data.diversity):
        parts += [
            _figure(plots.get("diversity"), "diversity", "collapse monitors per generation",
                    "Each monitor relative to the real train split (1.0: as diverse as real data). The checks "
                    "compare the variance and tail figures' 95 % upper bounds with the policy's minimum "
                    "(dashed), the others the figures themselves."),
            table(data.diversity, DIVERSITY_COLUMNS, "diversity"),
        ]
    else:
        parts.append(_not_measured("diversity"))
    parts.append("<h2>Privacy</h2>")
    if len(data.privacy):
        parts += [
            _figure(plots.get("privacy"), "privacy", "privacy figures per generation",
                    "Against the real rows each generator was fitted on and the sealed holdout. The checks "
                    "compare the 95 % lower bounds of the DCR share and membership AUC with the policy's "
                    "maximum (dashed)."),
            table(data.privacy, PRIVACY_COLUMNS, "privacy"),
        ]
    else:
        parts.append(_not_measured("privacy"))
    if data.notes:
        parts += ["<h2>Notes</h2><ul>", *(f"<li>{escape(note)}</li>" for note in data.notes), "</ul>"]
    parts.append("</body></html>\n")
    return "\n".join(part for part in parts if part)
