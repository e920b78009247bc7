"""The differential-privacy budget spent on the real rows, summed over generations.

Every generation of the synthetic stage records what its fit spent
(:func:`record_privacy_spend`, the monitor :data:`PRIVACY_MONITOR` of the synthetic asset):
the generator, the (epsilon, delta) it reports (:class:`~synth_pipeline.generators.PrivacySpend`),
and how many real rows of the pipeline's real source its fit input held.

The rule (:func:`privacy_budget`), by sequential composition (Dwork & Roth, *The
Algorithmic Foundations of Differential Privacy*, 2014, Theorem 3.16; the basic
composition theorem, Thm 3.14 for two mechanisms): running mechanisms that are
(epsilon_i, delta_i)-DP on the same rows is (sum epsilon_i, sum delta_i)-DP. Every
recorded fit whose input held real rows of the same real source counts, whatever
generation it belongs to: a row of an early arrival batch can reach later fits through
an accumulated training mix, and the rule does not try to prove that two fits saw
disjoint rows (parallel composition would allow the maximum instead of the sum; the sum
is an upper bound). A fit by a generator without a DP guarantee that saw real rows spends
an unbounded budget. Fits on no real rows (no rows asked for; only synthetic rows) spend
nothing. Sampling again from a fitted generator is post-processing and costs nothing.
A rerun of a generation replaces that generation's record: the output it replaces is
assumed never released.

The check ``privacy_budget`` (:func:`build_privacy_budget_checks`, one of the policy checks) fails, blocking, when the
total exceeds the policy's ``max_epsilon`` or a fit without a DP guarantee saw real rows;
with ``max_epsilon`` unset it is skipped and shows the total.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from synth_pipeline.generators.protocol import GeneratorInfo
from synth_pipeline.verdicts import RuleOutcome

if TYPE_CHECKING:
    import dagster as dg

    from synth_pipeline.checks.rule_checks import CheckInputs, RuleCheck
    from synth_pipeline.guarded import GuardedAssets
    from synth_pipeline.storage import DatasetStore

PRIVACY_MONITOR = "privacy_spend"
"""The monitor (per generation of the synthetic asset) holding each fit's spend."""

CHECK_NAME = "privacy_budget"
_RULE = "privacy budget spent on the real rows (epsilon, sequential composition)"


def spend_record(info: GeneratorInfo, *, generation: int, fit_real_rows: int, fitted: bool, fitted_on: str,
                 real_source: str) -> dict[str, Any]:
    """One generation's spend, as stored in the monitor.

    Args:
        info: The generator's info after its fit.
        generation: The generation.
        fit_real_rows: Real rows (of ``real_source``) in the fit input.
        fitted: Whether the generator was fitted (no rows asked for: no fit, no spend).
        fitted_on: The fit input, e.g. ``bc/real_arrivals[2]``.
        real_source: The real source's asset key, e.g. ``bc/real_source``.

    Returns:
        ``generation``, ``generator``, ``dp`` (whether the generator reported a spend),
        ``epsilon`` and ``delta`` (NaN without DP), ``mechanism``, ``fit_real_rows`` (0
        when not fitted), ``fitted_on`` and ``real_source``.
    """
    privacy = info.privacy
    return {
        "generation": generation, "generator": info.name, "dp": privacy is not None,
        "epsilon": float(privacy.epsilon) if privacy is not None else math.nan,
        "delta": float(privacy.delta) if privacy is not None else math.nan,
        "mechanism": privacy.mechanism if privacy is not None else "",
        "fit_real_rows": int(fit_real_rows) if fitted else 0, "fitted_on": fitted_on, "real_source": real_source,
    }


def record_privacy_spend(store: DatasetStore, asset_key: dg.AssetKey, partition_key: str,
                         record: dict[str, Any]) -> None:
    """Store one generation's spend (:func:`spend_record`) in the synthetic asset's monitor; a rerun replaces it."""
    store.write_monitor(asset_key, PRIVACY_MONITOR, partition_key, pd.DataFrame([record]))


def privacy_budget(history: pd.DataFrame, *, generation: int, real_source: str,
                   max_epsilon: float | None) -> tuple[list[RuleOutcome], dict[str, Any]]:
    """Judge the total epsilon spent on ``real_source``'s rows against ``max_epsilon`` (see the module docs).

    Args:
        history: Every stored spend record (:func:`spend_record`), any generations.
        generation: The generation checked (its record must be in ``history`` to count it).
        real_source: The real source whose rows are protected.
        max_epsilon: The policy's limit; None: not enforced (the outcomes are skipped).

    Returns:
        Two outcomes: the total epsilon of the DP fits (observed: the sum, limit
        ``max_epsilon``), and the fits without a DP guarantee that saw real rows (observed:
        their number, limit 0: each one's loss is unbounded); sample size = fits counted. Metadata:
        ``privacy_epsilon_total`` (inf when a fit without DP counted), ``privacy_delta_total``,
        ``privacy_epsilon_this_generation``, ``privacy_generations_counted`` and
        ``privacy_fits_without_dp``.
    """
    if len(history):
        counted = history[(history["real_source"] == real_source) & (history["fit_real_rows"] > 0)]
        counted = counted.sort_values("generation")
    else:
        counted = pd.DataFrame(columns=["generation", "generator", "dp", "epsilon", "delta"])
    private = counted[counted["dp"].astype(bool)]
    without_dp = [f"generation {int(r.generation)}: {r.generator}" for r in counted.itertuples() if not bool(r.dp)]
    epsilon = float(private["epsilon"].sum())
    this = counted[counted["generation"] == generation]
    this_epsilon = math.inf if (~this["dp"].astype(bool)).any() else float(this["epsilon"].sum())
    generations = [int(g) for g in counted["generation"]]
    metadata = {
        "privacy_epsilon_total": math.inf if without_dp else epsilon,
        "privacy_delta_total": float(private["delta"].sum()),
        "privacy_epsilon_this_generation": this_epsilon,
        "privacy_generations_counted": generations,
        "privacy_fits_without_dp": without_dp,
    }
    # The sum covers the DP fits only: a fit without a guarantee has no epsilon to add, and is judged
    # by the second rule. So the first rule names the DP fits' own figures, never "unbounded".
    this_dp = private[private["generation"] == generation]
    earlier = float(private.loc[private["generation"] != generation, "epsilon"].sum())
    this_text = _figure(float(this_dp["epsilon"].sum())) if len(this_dp) else "no DP fit"
    dp_generations = sorted({int(g) for g in private["generation"]})
    spent = (f"{_RULE} by the differentially private fits, generations {dp_generations or 'none'} "
             f"(this generation {this_text}, earlier generations {_figure(earlier)})")
    not_summed = (f"not in this sum: {len(without_dp)} fit(s) without a DP guarantee ({'; '.join(without_dp)}), "
                  "each an unbounded loss, judged by the rule on such fits") if without_dp else None
    unbounded = "fits without a differential-privacy guarantee on real rows (each an unbounded privacy loss)"
    fits = {"sample_size": len(generations), "sample_unit": "fit(s)"}
    if max_epsilon is None:
        reason = "max_epsilon is not set in the policy (privacy budget not enforced)"
        return [RuleOutcome(rule=spent, observed=epsilon, threshold=math.inf, bound="max", **fits, unjudged=reason,
                            skipped=True),
                RuleOutcome(rule=unbounded, observed=len(without_dp), threshold=0, bound="max", **fits,
                            unjudged=reason, skipped=True)], metadata
    no_dp_fix = (f"{'; '.join(without_dp)} fitted without a differential-privacy guarantee on real rows: use a DP "
                 "generator (synthesizer.method: dp_privbayes) for every generation fitted on real rows, declare "
                 "the outside generator's epsilon (file generator params), or unset max_epsilon")
    budget_fix = (f"the DP fits on these real rows spent epsilon {_figure(epsilon)} in total, past max_epsilon "
                  f"{max_epsilon:g}: lower synthesizer.params.epsilon, fit fewer generations on real rows (fit_on: "
                  "previous_mix still spends budget while the mix holds real rows), or raise max_epsilon if the "
                  "data owner accepts the larger loss")
    # Counts and sums of reported epsilons are exact: no confidence bound applies.
    return [RuleOutcome(rule=spent, observed=epsilon, threshold=float(max_epsilon), bound="max", **fits,
                        fix=budget_fix, basis=not_summed),
            RuleOutcome(rule=unbounded, observed=len(without_dp), threshold=0, bound="max", **fits,
                        fix=no_dp_fix)], metadata


def evaluate_privacy_budget(inputs: CheckInputs) -> tuple[list[RuleOutcome], dict[str, Any]]:
    """The ``privacy_budget`` rule for a check: the spend records of every synthetic asset of the
    pipeline (sequential composition counts every fit on the same real rows, whichever generator made it)."""
    from synth_pipeline.naming import Stage

    histories = [inputs.store.monitor_history(key, PRIVACY_MONITOR) for key in inputs.pipeline.keys(Stage.SYNTHETIC)]
    history = pd.concat([h for h in histories if len(h)], ignore_index=True) if any(len(h) for h in histories) \
        else pd.DataFrame()
    source = inputs.pipeline.real_source or inputs.pipeline.real_train or inputs.pipeline.real_holdout
    return privacy_budget(history, generation=inputs.generation, real_source=source.to_user_string(),
                          max_epsilon=inputs.policy.max_epsilon)


def build_privacy_budget_checks(pipeline: GuardedAssets) -> list[dg.AssetChecksDefinition]:
    """The checks of :func:`privacy_budget_rules`, one step per asset."""
    from synth_pipeline.checks.rule_checks import asset_checks

    return asset_checks(privacy_budget_rules(pipeline), label="privacy_budget_checks")


def privacy_budget_rules(pipeline: GuardedAssets) -> list[RuleCheck]:
    """The blocking ``privacy_budget`` check on each synthetic asset (see the module docs)."""
    from synth_pipeline.checks.rule_checks import rule_check
    from synth_pipeline.naming import Stage

    return [rule_check(
        pipeline, Stage.SYNTHETIC, CHECK_NAME, evaluate_privacy_budget,
        "Total differential-privacy epsilon spent on the real rows over all generations (sequential composition) "
        "within max_epsilon; fits without DP on real rows count as unbounded.", asset_key=key,
    ) for key in pipeline.keys(Stage.SYNTHETIC)]


def _figure(value: float) -> str:
    return "unbounded" if math.isinf(value) else f"{value:.4g}"
