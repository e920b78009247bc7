"""Plain-text reports of pipeline runs."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from synth_pipeline.generation_verdict import evidence_lines
from synth_pipeline.no_rows import NO_ROWS
from synth_pipeline.runner import CheckRecord, GenerationRun, StageRecord

if TYPE_CHECKING:
    from synth_pipeline.storage import DatasetStore

_MODELS = ("training_mix", "real_only", "synthetic_only")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Align rows under headers, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) if rows else False for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        aligned = (v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True))
        return "  ".join(aligned).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.3f}"
    return "-" if value is None else str(value)


def generation_summary(run: GenerationRun, store: DatasetStore | None = None) -> str:
    """Stage, provenance, rows, synthetic fraction and depth of every data stage of a run.

    Args:
        run: The generation run.
        store: The pipeline's dataset store: the evaluation's scores are then read exact from the
            stored evaluation (its Dagster metadata rounds them for the UI), as the report reads them.
    """
    rows = []
    for record in run.stages:
        metadata = record.metadata
        if "provenance" not in metadata:
            continue
        rows.append(
            [
                record.asset_key,
                "-" if record.generation is None else record.generation,
                metadata["provenance"],
                int(metadata.get("dagster/row_count", 0)),
                *_fractions(metadata),
                int(metadata.get("max_depth", 0)),
            ]
        )
    table = format_table(
        ["stage", "generation", "provenance", "rows", "synthetic fraction", "non-real fraction", "max depth"], rows
    )
    lines = (table, *stage_notes(run), evaluation_summary(run, store), quality_summary(run), report_summary(run))
    return "\n".join(line for line in lines if line)


def stage_notes(run: GenerationRun) -> list[str]:
    """What a stage's row count alone does not say, one line each: augmentation the policy's class budgets
    capped (SMOTE's target and the rows allowed, per class), which otherwise shows only in metadata
    (a trial's summary read ``fraud/augmented 2 augmented 5`` where SMOTE aimed at 304)."""
    notes = []
    for record in run.stages:
        capped = record.metadata.get("capped_by_policy")  # plain values (runner: metadata_values)
        if capped:
            classes = ", ".join(f"{name} {figures['target']} -> {figures['allowed']} rows"
                                for name, figures in capped.items())
            notes.append(f"note: {record.asset_key}: augmentation capped by the policy's class budgets "
                         f"(max_class_synthetic_fraction, max_minority_class_synthetic_fraction): {classes}")
    return notes


def _fractions(metadata: dict) -> tuple[float, float]:
    """A stage's synthetic and non-real fractions, exact: from its rows per kind where the metadata has
    them (the ``*_fraction`` entries are rounded for the Dagster UI, and rounding those again to 3
    decimals could differ from the report's figure by one in the last place), else those entries."""
    counts = metadata.get("rows_by_kind")
    if isinstance(counts, dict) and all(isinstance(counts.get(kind), int) for kind in ("real", "synthetic")):
        total = sum(int(rows) for rows in counts.values())
        if total:
            return counts["synthetic"] / total, 1.0 - counts["real"] / total
        return 0.0, 0.0
    return (float(metadata.get("synthetic_fraction", math.nan)), float(metadata.get("non_real_fraction", math.nan)))


_QUALITY_FIGURES = {
    "fidelity": (("quality", "quality_score"), ("its bound", "quality_score_upper_bound"),
                 ("adversarial AUC", "adversarial_auc"), ("its 95 % bound", "adversarial_auc_lower_bound"),
                 ("text adversarial AUC", "text_adversarial_auc"),
                 ("its 95 % bound", "text_adversarial_auc_lower_bound")),
    "privacy": (("copies", "exact_copies"), ("DCR share", "dcr_share"), ("membership AUC", "membership_auc"),
                ("texts equal to a training text (raw count)", "text_exact_copies"),
                ("text near-copies beyond chance", "text_near_copy_excess"),
                ("its 95 % bound", "text_near_copy_excess_lower_bound")),
    "utility": (("TSTR/TRTR", "tstr_trtr_ratio"), ("its 95 % bound", "tstr_trtr_ratio_upper_bound")),
    "diversity": (("variance ratio", "min_variance_ratio"), ("its 95 % bound", "min_variance_upper_bound"),
                  ("in column", "min_variance_column"),
                  ("largest variance ratio", "max_variance_ratio"), ("tail coverage", "tail_coverage"),
                  ("distinct-row ratio", "distinct_row_ratio"),
                  ("distinct-2 ratio", "text_distinct_2_ratio"), ("its 95 % bound", "text_distinct_2_upper_bound"),
                  ("vocabulary coverage ratio", "text_vocabulary_coverage_ratio"),
                  ("rare n-gram coverage ratio", "text_tail_coverage_ratio"),
                  ("near-duplicate excess", "text_near_duplicate_excess")),
}

_SKILL_FIGURES = (("TSTR/TRTR on skill above chance", "tstr_trtr_skill_ratio"),
                  ("its 95 % bound", "tstr_trtr_skill_ratio_upper_bound"),
                  ("plain TSTR/TRTR (not judged: a model at chance would reach the limit)", "tstr_trtr_ratio"))
"""The utility figures shown where the skill ratio was judged (see ``utility_outcome`` in the quality checks)."""


def quality_summary(run: GenerationRun) -> str:
    """One line per quality check that ran: its headline figures and verdict; one line per check of any
    kind that was skipped (no rows), with the reason."""
    lines = []
    for check in run.checks:
        if check_verdict(check) == "skipped":
            reason = str(check.metadata.get("reason", ""))
            if reason.startswith(NO_ROWS):  # not a rule the policy leaves off, e.g. privacy_budget without max_epsilon
                lines.append(f"{check.name:<9} {check.asset_key:<28} skipped {reason}")
            continue
        figures = _QUALITY_FIGURES.get(check.name)
        if check.name == "utility" and check.metadata.get("tstr_trtr_judged") == "tstr_trtr_skill_ratio":
            figures = _SKILL_FIGURES  # the figure the verdict is about comes first, with its own bound
        if figures is None or not any(key in check.metadata for _, key in figures):
            continue
        verdict = check_verdict(check)
        shown = ", ".join(f"{label} {_number(check.metadata[key])}" for label, key in figures
                          if key in check.metadata and _measured(check.metadata[key]))
        rules = check.metadata.get("rules")
        unjudged = sorted({rule["reason"] for rule in rules if rule.get("verdict") == "warn" and rule.get("reason")}
                          ) if isinstance(rules, list) else []
        if unjudged:  # say why, not only that, a figure was not judged
            shown = _joined(shown, "not judged: " + "; ".join(unjudged))
        tstr, chance = check.metadata.get("tstr_score"), check.metadata.get("chance_score")
        if (check.name == "utility" and isinstance(tstr, float) and isinstance(chance, float) and chance > 0
                and tstr < chance):  # a pass on a wide bound: the reader should still see this
            shown = _joined(shown, f"note: TSTR {_number(tstr)} is below chance {_number(chance)}")
        if check.metadata.get("not_blocking") and isinstance(rules, list):  # failed, and the policy lets it pass
            failed = [str(rule.get("rule")) for rule in rules if rule.get("verdict") == "fail"]
            shown = _joined(shown, f"{check.metadata['not_blocking']}: {', '.join(failed)}")
        lines.append(f"{check.name:<9} {check.asset_key:<28} {verdict:<7} {shown}")
    suites = [check for check in run.checks if check.name == "expectations" and check_verdict(check) != "skipped"]
    if suites:
        failed = [check.asset_key for check in suites if not check.passed]
        evaluated = sum(int(check.metadata.get("evaluated", 0)) for check in suites)
        verdict = f"FAILED on {', '.join(failed)}" if failed else "all passed"
        lines.append(f"expectations: {len(suites)} Great Expectations suites, {evaluated} expectations, {verdict}")
    return "\n".join(sorted(lines))


def _joined(*parts: str) -> str:
    """The non-empty parts of a summary line, joined by ``; ``."""
    return "; ".join(part for part in parts if part)


def check_verdict(check: CheckRecord) -> str:
    """``ok``, ``FAILED`` (blocking), ``warning`` (not blocking, or not enough evidence) or ``skipped`` (no rows)."""
    if check.metadata.get("verdict") == "skipped":
        return "skipped"
    return "ok" if check.passed else ("FAILED" if check.severity == "ERROR" else "warning")


def evaluation_summary(run: GenerationRun, store: DatasetStore | None = None) -> str:
    """One line per trained model: its primary score on the real holdout, the TSTR/TRTR ratio with the
    chance level, and why the ratio was not judged when the ``evaluation_on_real`` check says so (e.g. not
    informative: real_only not clearly above chance).

    The scores and the ratio are the stored evaluation's exact figures when ``store`` holds it (as the
    report shows them), else the evaluation's metadata (rounded for the Dagster UI).
    """
    from synth_pipeline.metrics import tstr_trtr_ratio

    for record in run.stages:
        metadata = record.metadata
        if "primary_metric" in metadata:
            metric = metadata["primary_metric"]
            figures = _stored_scores(store, record, metric)
            ratio = (tstr_trtr_ratio(figures["synthetic_only"], figures["real_only"]) if figures
                     else float(metadata["tstr_trtr_ratio"]))
            figures = figures or {name: float(metadata[f"{name}_{metric}"]) for name in _MODELS}
            scores = ", ".join(f"{name} {_cell(figures[name])}" for name in _MODELS)
            chance = metadata.get("chance_score")
            at_chance = f" (chance {_number(chance)})" if isinstance(chance, float) and _measured(chance) else ""
            line = (
                f"evaluation on {metadata['evaluated_on']} ({metadata['holdout_rows']} real rows), "
                f"{metric}: {scores}{at_chance}; TSTR/TRTR ratio {_cell(ratio)}"
            )
            return line + "".join(f"; {reason}" for reason in [*_ratio_not_judged(run), *_ratio_judged(run, ratio)])
    return ""


def _ratio_judged(run: GenerationRun, shown: float) -> list[str]:
    """The figure ``evaluation_on_real`` judged, where it is not the ratio ``shown`` (the evaluation's own models):
    the skill ratio where a model at chance would reach the limit, else the refitted models' ratio (TRTR
    size-matched where the mix holds fewer synthetic than real rows), each with the bound compared. A trial's
    line showed 0.722 while the check had passed a skill ratio of 0.389 (bound 2.64)."""
    for check in run.checks:
        metadata = check.metadata
        if check.name != "evaluation_on_real" or metadata.get("unjudged_rules") or "tstr_trtr_judged" not in metadata:
            continue
        judged = str(metadata["tstr_trtr_judged"])
        value, bound = metadata.get(judged), metadata.get(f"{judged}_upper_bound")
        if not isinstance(value, (int, float)) or not _measured(value):
            return []
        skill = judged == "tstr_trtr_skill_ratio"
        if not skill and abs(float(value) - shown) <= 5e-4:
            return []
        name = "TSTR/TRTR on skill above chance" if skill else "TSTR/TRTR"
        sized = (f", TRTR from real samples of {metadata['trtr_control_rows']} rows"
                 if metadata.get("trtr_control_rows") else "")
        bounded = f", its 95 % bound {_number(bound)}" if isinstance(bound, float) and _measured(bound) else ""
        return [f"judged by evaluation_on_real ({check_verdict(check)}): {name} {_number(value)}{bounded} "
                f"(refitted models{sized})"]
    return []


def _stored_scores(store: DatasetStore | None, record: StageRecord, metric: str) -> dict[str, float] | None:
    """The three models' exact ``metric`` scores from the stored evaluation; None when it cannot be read."""
    if store is None or record.generation is None:
        return None
    import dagster as dg

    try:
        frame = store.read(dg.AssetKey.from_user_string(record.asset_key), str(record.generation))
        scores = frame.set_index("trained_on")[metric]
        return {name: float(scores[name]) for name in _MODELS}
    except Exception:  # noqa: BLE001 - a summary line falls back to the rounded metadata, never fails
        return None


def _ratio_not_judged(run: GenerationRun) -> list[str]:
    """Why the evaluation's TSTR/TRTR ratio was not judged (the ``evaluation_on_real`` check's warnings)."""
    reasons = []
    for check in run.checks:
        rules = check.metadata.get("rules") if check.name == "evaluation_on_real" else None
        if isinstance(rules, list):
            reasons += [f"ratio not judged: {rule['reason']}" for rule in rules if rule.get("verdict") == "warn"
                        and rule.get("reason") and "TSTR/TRTR" in str(rule.get("rule"))]
    return reasons


def written_report_path(run: GenerationRun) -> str | None:
    """The path of the generation's HTML report, if its evaluation wrote one."""
    for record in run.stages:
        if "report" in record.metadata and "primary_metric" in record.metadata:
            return str(record.metadata["report"])
    return None


def report_summary(run: GenerationRun) -> str:
    """One line naming the generation's HTML report (or why it was not written); empty without an evaluation."""
    path = written_report_path(run)
    if path is not None:
        return f"report: {path}"
    for record in run.stages:
        if "report_error" in record.metadata:
            return f"report not written: {record.metadata['report_error']}"
    return ""


def check_failures(run: GenerationRun) -> list[str]:
    """One line per failed check: which check, on which asset and generation, and its evidence and fix."""
    lines = []
    for check in run.failed_checks:
        metadata = check.metadata
        evidence = list(evidence_lines(metadata))  # the failed rules' lines, as the verdict names them
        if not evidence:  # a check that states no evidence (e.g. a user's own): its deciding figure
            comparison = ">" if metadata.get("bound") == "max" else "<"
            evidence = [f"{metadata.get('rule', '?')}: observed {_number(metadata.get('observed'))} {comparison} "
                        f"threshold {_number(metadata.get('threshold'))}"]
        generation = metadata.get("generation", run.generation)
        where = f"check {check.name} FAILED on {check.asset_key}, generation {generation}"
        lines += [f"{where}: {line}" for line in evidence]
    return lines


def _measured(value: object) -> bool:
    """Whether a figure was measured (not NaN, as an unjudged bound is)."""
    return not (isinstance(value, float) and math.isnan(value))


def _number(value: object) -> str:
    if isinstance(value, float) and not math.isnan(value):
        return str(int(value)) if value.is_integer() else f"{value:.4g}"
    return str(value)


class Progress:
    """Progress lines for a multi-generation run: which generation, elapsed time, time left."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.started = time.perf_counter()

    def starting(self, generation: int) -> str:
        """The line announcing a generation (counts it as started)."""
        elapsed = time.perf_counter() - self.started
        position = self.done + 1
        self.done += 1
        bar = "#" * (20 * (position - 1) // self.total) + "." * (20 - 20 * (position - 1) // self.total)
        left = f", about {elapsed / (position - 1) * (self.total - position + 1):.0f}s left" if position > 1 else ""
        return (f"generation {generation}: materializing all stages ... [{bar}] {position}/{self.total}, "
                f"{elapsed:.0f}s elapsed{left}")


def markdown_summary(pipeline: str, run: GenerationRun, store: DatasetStore | None = None) -> str:
    """A Markdown section for one generation run: verdict, stages, evaluation, failed checks; rules by their
    public names (:func:`public_rule_names`), since the section is meant to be shared."""
    status = run.verdict.status.value
    verdict = "passed" if run.success else ("blocked" if status == "blocked" else "FAILED")
    warned = sum(check_verdict(check) == "warning" for check in run.checks)
    if warned:  # a CI reader skims the heading: "passed" alone hid warnings in a trial
        verdict += f", {warned} warning{'s' if warned != 1 else ''}"
    lines = [f"### {pipeline}, generation {run.generation}: {verdict}", ""]
    if not run.success:
        lines += [run.verdict.headline(), ""]
    lines += [f"Dagster run `{run.run_id}`, {run.seconds:.1f}s.", "", "```", generation_summary(run, store), "```", ""]
    failures = check_failures(run) + [f"step {step} FAILED: {message}" for step, message in run.failures]
    if failures:
        lines += ["**Blocking failures**", "", *[f"- {line}" for line in failures], ""]
    return public_rule_names("\n".join(lines), run) + "\n"


def public_rule_names(text: str, run: GenerationRun) -> str:
    """``text`` with every rule of the run's checks named by its ``public_rule`` (``class #2``, not
    ``class #2 (value 1)``), as lineage events name it: for a summary that is shared (a CI job summary),
    where no data value belongs. Longer rule texts are replaced first, so none is cut inside another."""
    public = {str(rule["rule"]): str(rule["public_rule"])
              for check in run.checks if isinstance(check.metadata.get("rules"), list)
              for rule in check.metadata["rules"]
              if isinstance(rule, dict) and rule.get("public_rule") and rule.get("rule")}
    for private in sorted(public, key=len, reverse=True):
        text = text.replace(private, public[private])
    return text
