"""Checks on empty data: nothing to judge, so the result is ``skipped``, with the reason.

A stage can legitimately hold no rows: SMOTE finds no class to top up on balanced data,
the synthesizer samples none once real arrivals stop, no real rows arrive after
``mix.real_arrival_generations``. A share, a score or an expectation about rows is then
undefined; reporting it as passed (``0 >= 0``) or failed would be an artefact. Such a
rule is :class:`~synth_pipeline.verdicts.RuleOutcome` with ``skipped=True`` and a reason
that starts with ``no rows:`` and says why this stage is empty.

Rules that demand rows (the holdout's minimum size, fresh real rows) are still judged on
empty data: there the absence of rows is the evidence.
"""

from __future__ import annotations

from typing import Literal

from synth_pipeline.naming import Stage
from synth_pipeline.verdicts import RuleOutcome

NO_ROWS = "no rows"
AUGMENTATION_NOT_FOR_REGRESSION = (
    "the label is a regression target: SMOTE augmentation tops up classes and does not apply to a continuous "
    "label (spec `augmentation: null` removes the stage)"
)
"""Why the augmented stage is empty on a regression label (its log, metadata and skipped checks say so)."""

_WHY: dict[Stage, str] = {
    Stage.AUGMENTED: "augmentation made none{in_generation}: no class of the real arrivals is below "
    "augmentation.target_ratio x the largest class (or the classes below it have fewer than 2 rows)",
    Stage.SYNTHETIC: "the synthesizer sampled none{in_generation} (synthesizer.rows_per_real_row x the arriving "
    "real rows rounds to 0, or synthesizer.num_rows is 0)",
    Stage.REAL_ARRIVALS: "no real rows arrive{in_generation} (spec mix.real_arrival_generations, or an empty real "
    "source)",
    Stage.TRAINING_MIX: "the training mix{of_generation} is empty: no real rows arrived and nothing was generated, "
    "augmented or carried over",
    Stage.UNKNOWN: "the unknown-provenance source holds no rows",
}


def no_rows_reason(stage: Stage | str, generation: int | None = None, *, regression: bool = False) -> str:
    """Why a stage holds no rows, as a skipped rule's reason: ``no rows: ...``.

    Args:
        stage: The empty stage.
        generation: Its generation (None or 0 for stages made once per pipeline).
        regression: Whether the label is a regression target: the augmented stage is then empty
            because SMOTE does not apply (:data:`AUGMENTATION_NOT_FOR_REGRESSION`), not for want of
            a class to top up.
    """
    stage = Stage(stage)
    in_generation = f" in generation {generation}" if generation else ""
    of_generation = f" of generation {generation}" if generation else ""
    why = _WHY.get(stage, f"{stage.value} is empty")
    if regression and stage is Stage.AUGMENTED:
        why = "augmentation made none{in_generation}: " + AUGMENTATION_NOT_FOR_REGRESSION
    return f"{NO_ROWS}: {why.format(in_generation=in_generation, of_generation=of_generation)}"


def no_rows_outcome(
    rule: str,
    stage: Stage | str,
    generation: int | None = None,
    *,
    threshold: float = 0.0,
    bound: Literal["max", "min"] = "max",
    regression: bool = False,
) -> RuleOutcome:
    """A skipped outcome of ``rule`` on an empty stage (0 rows measured), reason from :func:`no_rows_reason`
    (``regression``: the label is a regression target)."""
    return RuleOutcome(rule, 0.0, threshold, bound, sample_size=0, skipped=True,
                       unjudged=no_rows_reason(stage, generation, regression=regression))
