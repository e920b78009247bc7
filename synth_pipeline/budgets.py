"""The policy's rules as plain functions of dataset compositions.

Each rule returns a :class:`RuleOutcome` (observed value against a threshold, the rows
it was measured on, and what to change when it fails); the asset checks in
:mod:`synth_pipeline.checks.policy_checks` only gather the inputs and report.

The figures here are exact counts and fractions of whole datasets, not estimates, so no
confidence bound applies: they are compared as observed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from synth_pipeline.composition import Composition
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.provenance import ProvenanceKind
from synth_pipeline.verdicts import RuleOutcome

BUDGET_FIX = (
    "sample fewer synthetic rows (spec synthesizer.rows_per_real_row, or synthesizer.num_rows), top up less "
    "(augmentation.target_ratio), or raise the policy's {field} if this share is intended"
)
GROWTH_FIX = (
    "grow the budgeted share more slowly: sample fewer synthetic rows per generation (synthesizer.rows_per_real_row "
    "or synthesizer.num_rows), top up less (augmentation.target_ratio), bring more real rows "
    "(mix.real_arrival_batches, or run --source FILE with new rows), use mix.mode accumulate, or raise the "
    "policy's max_synthetic_fraction_growth"
)
FRESH_ROWS_FIX = (
    "bring new real rows to each generation: split the real data into at least as many arrival batches as "
    "generations you run (spec mix.real_arrival_batches; with 1, every generation receives the same rows), "
    "run `synth-pipeline run --source FILE` with a file of new rows, or let the new-data sensor "
    "(synth_pipeline.automation.build_arrival_sensor) start a generation for each new file; set the policy's "
    "min_fresh_real_rows to 0 only to simulate a loop without new data"
)
DEPTH_FIX = (
    "fit the synthesizer on real rows (spec synthesizer.fit_on: real, or run --fit-on real) so generated rows "
    "have depth 1, or use mix.mode replace so deep rows from earlier generations leave the mix; raise the "
    "policy's max_depth only to study the recursive loop"
)
UNKNOWN_FIX = (
    "keep unknown-provenance rows out of the mix (spec mix.include_unknown: false), or declare their provenance "
    "when ingesting them (tag them real, synthetic or augmented), or raise the policy's max_unknown_fraction"
)
HOLDOUT_SIZE_FIX = (
    "seal a larger holdout (spec holdout_fraction) or bring more real rows (a larger real source), or lower the "
    "policy's min_holdout_rows if the scores may rest on fewer rows"
)
HOLDOUT_REAL_FIX = (
    "the holdout must be cut from real rows only: make sure the real source's rows carry no other provenance "
    "(a file with _sp_kind columns keeps them); rebuild real_source and real_holdout"
)


def budgeted_measure(policy: SynthPolicy) -> str:
    """What the synthetic budgets measure under ``policy``, named as the composition tables name it.

    The budgets count the policy's budgeted kinds (:meth:`SynthPolicy.budgeted_kinds`): by default
    synthetic, augmented and unknown rows, which is the tables' ``non-real fraction``; with only
    synthetic rows budgeted, their ``synthetic fraction``; any other set of kinds is named by its
    kinds. Each rule of :func:`synthetic_budget` and the growth rule of :func:`generation_budget`
    start with it, so the figure a rule judges is the column of that name, not another.
    """
    kinds = [kind.value for kind in policy.budgeted_kinds()]
    if kinds == [ProvenanceKind.SYNTHETIC.value]:
        return "synthetic fraction"
    if set(kinds) == {kind.value for kind in ProvenanceKind} - {ProvenanceKind.REAL.value}:
        return f"non-real fraction ({' + '.join(kinds)})"
    return f"budgeted fraction ({' + '.join(kinds)})"


def class_rule_names(label: str, index: int, noun: str = "class", *, minority: bool = False) -> tuple[str, str]:
    """A class's ``(private, public)`` name in a rule: ``class #2 (value 1)`` and ``class #2``.

    Classes are numbered in label order (``#i`` from 1), so the public name, which holds no data
    value and goes to lineage events and shared reports, names the same class as the private
    one, which adds the value for the user's own terminal and the Dagster UI. A minority class
    says so in both: ``class #2 (value 1, minority)``, ``class #2 (minority)``. A regression
    label's quantile bins (``noun`` ``bin``) are named by number and range (``#01 [25, 30)``),
    no row value: that name is kept, the public one being ``bin #i``.

    Args:
        label: The class label (for bins: the bin's name).
        index: Its number in label order, from 1.
        noun: ``class`` or ``bin`` (:attr:`Composition.group`).
        minority: Whether the class is a minority.
    """
    tag = ", minority" if minority else ""
    public = f"{noun} #{index}" + (" (minority)" if minority else "")
    if noun != "class":
        return f"{noun} {label}" + (" (minority)" if minority else ""), public
    return f"class #{index} (value {label}{tag})", public


def synthetic_budget(composition: Composition, policy: SynthPolicy) -> list[RuleOutcome]:
    """Budgeted fraction overall and per class; minority classes get the stricter limit.

    The rules are named by what they measure (:func:`budgeted_measure`: with the default policy
    ``non-real fraction (synthetic + augmented + unknown)``, the tables' non-real fraction) and
    name each class by number and value (:func:`class_rule_names`): ``..., class #2 (value 1, minority)``,
    public rule ``..., class #2 (minority)``.

    A class is a minority when the largest class has at least
    ``policy.minority_imbalance_ratio`` times its real rows
    (:meth:`Composition.minority_classes`): balanced data has none, and every class
    under-represented by that ratio (not only the smallest) gets
    ``max_minority_class_synthetic_fraction``.

    For a regression label the composition is per quantile bin of the label
    (:mod:`synth_pipeline.task`; ``composition.group == "bin"``): each bin gets
    ``max_class_synthetic_fraction``, named ``bin #01 [lo, hi)`` (public rule ``bin #i``).
    Bins have no minorities: they hold equal shares of the real source by construction, so
    a difference in real rows between bins is chance, not imbalance.
    """
    kinds = policy.budgeted_kinds()
    measure = budgeted_measure(policy)
    outcomes = [RuleOutcome(f"{measure}, overall", composition.fraction(*kinds),
                            policy.max_synthetic_fraction, "max", sample_size=composition.rows,
                            fix=BUDGET_FIX.format(field="max_synthetic_fraction"))]
    minorities = _minorities(composition, policy)
    for index, (label, fraction) in enumerate(sorted(composition.class_fraction(*kinds).items()), start=1):
        rows = sum(composition.rows_by_class[label].values())
        private, public = class_rule_names(label, index, composition.group, minority=label in minorities)
        if label in minorities:
            field = "max_minority_class_synthetic_fraction"
            outcomes.append(RuleOutcome(
                f"{measure}, {private}", fraction,
                policy.max_minority_class_synthetic_fraction, "max", f"{measure}, {public}",
                sample_size=rows,
                fix=BUDGET_FIX.format(field=field) + " (a minority class: the largest class has at least "
                f"{policy.minority_imbalance_ratio:g} times its real rows, policy minority_imbalance_ratio)",
            ))
        else:
            outcomes.append(RuleOutcome(
                f"{measure}, {private}", fraction, policy.max_class_synthetic_fraction, "max",
                f"{measure}, {public}", sample_size=rows,
                fix=BUDGET_FIX.format(field="max_class_synthetic_fraction"),
            ))
    return outcomes


def minority_class_numbers(composition: Composition, policy: SynthPolicy) -> list[str]:
    """The minority classes by number (``class #i`` in label order, as rules' ``public_rule``), never by value."""
    minorities = _minorities(composition, policy)
    return [class_rule_names(label, index)[1] for index, label in enumerate(sorted(composition.rows_by_class), start=1)
            if label in minorities]


def _minorities(composition: Composition, policy: SynthPolicy) -> set[str]:
    """Minority classes; none among the quantile bins of a regression label (see :func:`synthetic_budget`)."""
    if composition.group != "class":
        return set()
    return set(composition.minority_classes(policy.minority_imbalance_ratio))


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
        RuleOutcome(f"{budgeted_measure(policy)} growth since previous generation", growth,
                    policy.max_synthetic_fraction_growth, "max", sample_size=current.rows, fix=GROWTH_FIX),
        RuleOutcome("fresh real rows", float(fresh_real_rows), float(policy.min_fresh_real_rows), "min",
                    sample_size=current.rows_by_kind[ProvenanceKind.REAL.value], fix=FRESH_ROWS_FIX),
    ]


def recursion_depth(composition: Composition, policy: SynthPolicy) -> list[RuleOutcome]:
    """The deepest row's generator depth."""
    return [RuleOutcome("max depth", float(composition.max_depth), float(policy.max_depth), "max",
                        sample_size=composition.rows, fix=DEPTH_FIX)]


def unknown_budget(composition: Composition, policy: SynthPolicy) -> list[RuleOutcome]:
    """The share of unknown-provenance rows."""
    return [RuleOutcome("unknown fraction", composition.fraction(ProvenanceKind.UNKNOWN),
                        policy.max_unknown_fraction, "max", sample_size=composition.rows, fix=UNKNOWN_FIX)]


def holdout_purity(composition: Composition, policy: SynthPolicy) -> list[RuleOutcome]:
    """The holdout is entirely real and large enough."""
    return [
        RuleOutcome("holdout rows", float(composition.rows), float(policy.min_holdout_rows), "min",
                    sample_size=composition.rows, fix=HOLDOUT_SIZE_FIX),
        RuleOutcome("real fraction", composition.fraction(ProvenanceKind.REAL), 1.0, "min",
                    sample_size=composition.rows, fix=HOLDOUT_REAL_FIX),
    ]


AUGMENTATION_HEADROOM = 0.9
"""Share of a class's budget augmentation may plan to fill: the generator's class counts vary by chance."""


def augmentation_allowance(
    real_rows: Mapping[Any, int], policy: SynthPolicy, *, synthetic_per_real_row: float
) -> dict[Any, int]:
    """New rows augmentation may add to each class and keep the mix within the class budgets.

    Augmented rows count against the per-class synthetic budgets (unless the policy says
    otherwise), and so do the synthesizer's rows of that class, expected at
    ``synthetic_per_real_row`` per real row. With ``r`` real and ``s = r x synthetic_per_real_row``
    synthetic rows, the class's budgeted fraction stays at most ``L`` (its limit times
    :data:`AUGMENTATION_HEADROOM`) while ``(a + s) / (r + s + a) <= L``, that is
    ``a <= (L (r + s) - s) / (1 - L)``. Without this, the defaults contradicted each other:
    SMOTE's ``target_ratio`` 0.7 breaks the minority limit 0.4 on any binary label whose
    imbalance ratio is above about 2.

    Args:
        real_rows: Real rows per class label (the rows augmentation works from).
        policy: The run's policy: class limits, minority rule, which kinds are budgeted.
        synthetic_per_real_row: Synthetic rows expected per real row of a class.

    Returns:
        The most rows to add per class label; empty when augmented rows are not budgeted.
    """
    if not policy.augmented_counts_as_synthetic or not real_rows:
        return {}
    largest = max(real_rows.values())
    allowance = {}
    for label, real in real_rows.items():
        minority = largest >= policy.minority_imbalance_ratio * real
        limit = AUGMENTATION_HEADROOM * (
            policy.max_minority_class_synthetic_fraction if minority else policy.max_class_synthetic_fraction)
        synthetic = real * synthetic_per_real_row
        allowance[label] = max(0, math.floor((limit * (real + synthetic) - synthetic) / (1 - limit))) if limit < 1 \
            else int(1e12)
    return allowance
