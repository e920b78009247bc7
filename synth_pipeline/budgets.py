"""The policy's rules as plain functions of dataset compositions.

Each rule returns a :class:`RuleOutcome` (observed value against a threshold); the
asset checks in :mod:`synth_pipeline.policy_checks` only gather the inputs and report.
"""

from __future__ import annotations

from synth_pipeline.composition import Composition
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.provenance import ProvenanceKind
from synth_pipeline.verdicts import RuleOutcome


def synthetic_budget(composition: Composition, policy: SynthPolicy) -> list[RuleOutcome]:
    """Budgeted fraction overall and per class; the minority class gets the stricter limit."""
    kinds = policy.budgeted_kinds()
    outcomes = [RuleOutcome("synthetic fraction, overall", composition.fraction(*kinds),
                            policy.max_synthetic_fraction, "max")]
    minority = composition.minority_class
    for index, (label, fraction) in enumerate(sorted(composition.class_fraction(*kinds).items()), start=1):
        if label == minority and len(composition.rows_by_class) > 1:
            outcomes.append(RuleOutcome(f"synthetic fraction, class {label} (minority)", fraction,
                                        policy.max_minority_class_synthetic_fraction, "max",
                                        f"synthetic fraction, class #{index} (minority)"))
        else:
            outcomes.append(RuleOutcome(f"synthetic fraction, class {label}", fraction,
                                        policy.max_class_synthetic_fraction, "max",
                                        f"synthetic fraction, class #{index}"))
    return outcomes


def generation_budget(
    current: Composition, previous: Composition | None, fresh_real_rows: int, policy: SynthPolicy
) -> list[RuleOutcome]:
    """Growth of the budgeted fraction since the previous generation, and fresh real rows.

    Args:
        current: This generation's training mix.
        previous: The previous generation's training mix, or None for the first generation.
        fresh_real_rows: Real rows in this mix that no earlier generation's mix held.
        policy: The limits.
    """
    kinds = policy.budgeted_kinds()
    growth = current.fraction(*kinds) - previous.fraction(*kinds) if previous is not None else 0.0
    return [
        RuleOutcome("synthetic fraction growth since previous generation", growth,
                    policy.max_synthetic_fraction_growth, "max"),
        RuleOutcome("fresh real rows", float(fresh_real_rows), float(policy.min_fresh_real_rows), "min"),
    ]


def recursion_depth(composition: Composition, policy: SynthPolicy) -> list[RuleOutcome]:
    """The deepest row's generator depth."""
    return [RuleOutcome("max depth", float(composition.max_depth), float(policy.max_depth), "max")]


def unknown_budget(composition: Composition, policy: SynthPolicy) -> list[RuleOutcome]:
    """The share of unknown-provenance rows."""
    return [RuleOutcome("unknown fraction", composition.fraction(ProvenanceKind.UNKNOWN),
                        policy.max_unknown_fraction, "max")]


def holdout_purity(composition: Composition, policy: SynthPolicy) -> list[RuleOutcome]:
    """The holdout is entirely real and large enough."""
    return [
        RuleOutcome("holdout rows", float(composition.rows), float(policy.min_holdout_rows), "min"),
        RuleOutcome("real fraction", composition.fraction(ProvenanceKind.REAL), 1.0, "min"),
    ]
