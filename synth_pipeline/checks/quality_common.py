"""What the quality checks and their text rules share: the fixes offered for too few rows and a missing
holdout, the diversity fixes, and whether a stage's privacy and diversity failures block."""

from __future__ import annotations

from synth_pipeline.naming import Stage
from synth_pipeline.policy import SynthPolicy

MORE_ROWS_FIX = ("generate more rows (spec `synthesizer.num_rows` or `synthesizer.rows_per_real_row`; for "
                 "augmentation `augmentation.target_ratio`), bring more real rows, or lower the policy's `{field}`")
NO_HOLDOUT_FIX = "seal real rows away for the control (spec `holdout_fraction`, a source with more rows)"


def too_few_rows(rows: int, minimum: int, what: str) -> str | None:
    """The WARN reason when ``rows`` is below the policy's ``minimum`` (None when it is not)."""
    return f"not enough rows to judge: {rows} {what} < {minimum}" if rows < minimum else None


DIVERSITY_FIX = {
    "lost": ("fit the generator on real rows (`synthesizer.fit_on: real`), accumulate real data "
             "(`mix.mode: accumulate`), lower the synthetic share, or, if acceptable, lower `{field}`"),
    "wide": ("another marginal distribution (spec `synthesizer.params`, e.g. `default_distribution: beta`) or "
             "synthesizer, or, if acceptable, raise `{field}`"),
}
"""The diversity fixes of the synthetic stage and the training mix (``synthesizer.*``, ``mix.*``)."""

AUGMENTED_DIVERSITY_FIX = {
    "lost": ("SMOTE places rows between real neighbours of a class, which narrows its spread by design: "
             "interpolate fewer rows (`augmentation.target_ratio`) or between more neighbours "
             "(`augmentation.k_neighbors`), leave augmentation out (`augmentation: null`), or, if acceptable, "
             "lower `{field}`"),
    "wide": ("other augmentation settings (`augmentation.k_neighbors`, `augmentation.target_ratio`) or none "
             "(`augmentation: null`), or, if acceptable, raise `{field}`"),
}
"""The diversity fixes of the augmented stage: SMOTE is configured under ``augmentation.*``, not ``synthesizer.*``."""

GENERATOR_SETTINGS = {
    Stage.SYNTHETIC: "another synthesizer or its parameters (spec `synthesizer.method`, `synthesizer.params`)",
    Stage.AUGMENTED: ("other augmentation settings (spec `augmentation.target_ratio`, `augmentation.k_neighbors`) "
                      "or no augmentation (`augmentation: null`)"),
}
"""What a fix offers to change in the stage that made the rows: SMOTE's settings are ``augmentation.*``."""


def diversity_fixes(stage: Stage) -> dict[str, str]:
    """The diversity fixes (``lost``, ``wide``) of ``stage``: SMOTE's for the augmented stage."""
    return AUGMENTED_DIVERSITY_FIX if stage is Stage.AUGMENTED else DIVERSITY_FIX


def augmented_enforced(policy: SynthPolicy) -> bool:
    """Whether the policy makes augmented data's privacy and diversity failures block."""
    return policy.enforce_quality_on_augmented


def blocks_on_failure(stage: Stage, policy: SynthPolicy) -> bool:
    """Whether the privacy and diversity checks of a stage block (see
    :func:`~synth_pipeline.checks.quality_checks.build_quality_checks`)."""
    return stage is not Stage.AUGMENTED or augmented_enforced(policy)
