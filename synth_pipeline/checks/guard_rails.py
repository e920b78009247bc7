"""Guard rails for any Dagster assets: the provenance, policy and quality checks of a
pipeline, built from the asset keys its assets have (:class:`~synth_pipeline.guarded.GuardedAssets`).

The template (:func:`~synth_pipeline.build_synth_pipeline`) builds its checks here too:
``pipeline.to_definitions()`` is ``build_guard_rails(pipeline.guarded)`` plus its assets.

Example:
    .. code-block:: python

        guarded = GuardedAssets(
            name="churn", label_column="churned",
            real_holdout=dg.AssetKey("holdout"), real_train=dg.AssetKey("train"),
            synthetic=[dg.AssetKey("llm_rows")], training_mix=dg.AssetKey("mix"),
            evaluation=dg.AssetKey("evaluation"),
        )
        defs = dg.Definitions(
            assets=[...],
            asset_checks=build_guard_rails(guarded),
            resources=guard_rail_resources(guarded, policy=SynthPolicy(max_synthetic_fraction=0.3)),
        )
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import dagster as dg

from synth_pipeline.guarded import GuardedAssets, as_guarded
from synth_pipeline.naming import PIPELINE_TAG
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.resources import ResourceKeys, pipeline_resources, policy_resource_key


def build_guard_rails(
    guarded: GuardedAssets,
    *,
    provenance: bool = True,
    policy: bool = True,
    quality: bool | Collection[str] = True,
    expectation_suites: str | Path | None = None,
    unexpected_value_samples: int = 0,
    together: Collection[dg.AssetKey] = (),
) -> list[dg.AssetChecksDefinition]:
    """Every guard rail for the assets of ``guarded``, as blocking Dagster asset checks: one step per
    asset for all its checks, so a blocked run's failure names every one that failed
    (:func:`~synth_pipeline.checks.rule_checks.asset_checks`).

    Args:
        guarded: The assets by role.
        provenance: ``provenance_valid`` on every data asset
            (:func:`~synth_pipeline.checks.provenance_checks.build_provenance_checks`).
        policy: The policy checks (:func:`~synth_pipeline.checks.policy_checks.build_policy_checks`):
            holdout purity and isolation, synthetic and generation budgets, recursion depth,
            unknown budget, evaluation on real (the last only with an ``evaluation`` asset).
        quality: The quality checks (:func:`~synth_pipeline.checks.quality_checks.build_quality_checks`)
            on every synthetic and augmented asset and the mix; or the names of those to build.
        expectation_suites: A directory of Great Expectations suites ``<role>.json``
            (:func:`~synth_pipeline.checks.expectation_checks.build_expectation_checks`).
        unexpected_value_samples: Offending values per failed expectation shown (0: counts only).
        together: Assets whose checks share one step, none depending on another (see
            :func:`independent_generated_assets`; :func:`guarded_definitions` passes them).

    Returns:
        The checks; bind :func:`guard_rail_resources` with them.

    Raises:
        SynthPipelineError: An expectation suite present is invalid, or an unknown quality check is named.
    """
    guarded = as_guarded(guarded)
    from synth_pipeline.checks.policy_checks import policy_rules
    from synth_pipeline.checks.provenance_checks import provenance_rules
    from synth_pipeline.checks.quality_checks import quality_rules
    from synth_pipeline.checks.rule_checks import RuleCheck, asset_checks

    rules: list[RuleCheck] = []
    if provenance:
        rules += provenance_rules(guarded)
    if policy:
        rules += policy_rules(guarded)
    if quality:
        rules += quality_rules(guarded, only=None if quality is True else quality)
    if expectation_suites is not None:
        from synth_pipeline.checks.expectation_checks import expectation_rules

        rules += expectation_rules(guarded, Path(expectation_suites), unexpected_samples=unexpected_value_samples)
    return asset_checks(rules, label="guard_rails", together=together)


def independent_generated_assets(
    guarded: GuardedAssets, assets: Sequence[dg.AssetsDefinition | dg.AssetSpec]
) -> list[dg.AssetKey]:
    """The synthetic and augmented assets of ``guarded`` none of which is upstream of another among
    ``assets``: their checks can share one step (``build_guard_rails(together=...)``), so a run
    blocked on several of them names every failure. An asset with another generated asset upstream
    of it, or downstream, is left out (its checks keep a step of their own).
    """
    from synth_pipeline.naming import Stage

    parents = {spec.key: {dep.asset_key for dep in spec.deps} for item in assets
               for spec in (item.specs if isinstance(item, dg.AssetsDefinition) else [item])}

    def ancestors(key: dg.AssetKey) -> set[dg.AssetKey]:
        found: set[dg.AssetKey] = set()
        frontier = list(parents.get(key, ()))
        while frontier:
            parent = frontier.pop()
            if parent not in found:
                found.add(parent)
                frontier.extend(parents.get(parent, ()))
        return found

    generated = [*guarded.keys(Stage.SYNTHETIC), *guarded.keys(Stage.AUGMENTED)]
    upstream = {key: ancestors(key) for key in generated}
    related = {key for key in generated for other in generated if other != key and other in upstream[key]}
    related |= {other for key in generated for other in generated if other != key and other in upstream[key]}
    independent = [key for key in generated if key not in related]
    return independent if len(independent) > 1 else []


def guard_rail_resources(
    guarded: GuardedAssets, *, policy: SynthPolicy | None = None, data_dir: str | None = None
) -> dict[str, dg.ConfigurableResource]:
    """The resources the guard rails of ``guarded`` read: the store, its IO manager and the policy.

    Args:
        guarded: The assets by role (its ``name`` keys the policy resource).
        policy: The limits (default: ``SynthPolicy()``).
        data_dir: Where data is stored (default: see :mod:`synth_pipeline.storage`).
    """
    keys = ResourceKeys(store=guarded.store_key)
    return {**pipeline_resources(data_dir, keys), policy_resource_key(guarded.name): policy or SynthPolicy()}


def generation_job(
    pipeline: str, assets: Sequence[dg.AssetsDefinition | dg.AssetSpec] | dg.AssetSelection
) -> dg.UnresolvedAssetJobDefinition:
    """The job that materializes one generation of ``pipeline`` (one partition key per run).

    Named ``<pipeline>_generation`` and tagged with the pipeline, so ``synth-pipeline run``,
    the schedule and the sensor (:mod:`synth_pipeline.automation`) find it. Partition the
    per-generation assets with :func:`~synth_pipeline.generations.generations_partitions`
    for the CLI to add generations as it runs them.

    Args:
        pipeline: The pipeline's name (``GuardedAssets.name``).
        assets: The assets of a generation, or a selection of them.
    """
    selection = assets if isinstance(assets, dg.AssetSelection) else dg.AssetSelection.assets(*assets)
    return dg.define_asset_job(
        name=f"{pipeline}_generation", selection=selection, tags={PIPELINE_TAG: pipeline},
        description=f"Materialize every asset of {pipeline} for one generation (partition).",
    )


def validate_guarded(guarded: GuardedAssets, assets: Sequence[dg.AssetsDefinition | dg.AssetSpec]) -> None:
    """Check ``guarded`` against the assets it guards, before anything runs.

    Raises:
        UnknownNameError: A key named in ``guarded`` is no asset of ``assets`` (with the closest match).
        SynthPipelineError: An asset declared for this pipeline (:mod:`synth_pipeline.provenance_assets`)
            plays another role than ``guarded`` gives it, or is left out of ``guarded`` (it would go
            unchecked); or an asset other than the evaluation and the train split depends on the sealed holdout.
    """
    from synth_pipeline.errors import SynthPipelineError
    from synth_pipeline.naming import STAGE_TAG, Stage
    from synth_pipeline.user_input import require_known

    specs = {spec.key: spec for item in assets
             for spec in (item.specs if isinstance(item, dg.AssetsDefinition) else [item])}
    known = sorted(key.to_user_string() for key in specs)
    for stage, key in guarded.roles():
        require_known("asset", key.to_user_string(), known, where=f"for the {stage.value} role of {guarded.name}'s "
                      "guard rails among the assets given")
    roles = {key: stage for stage, key in guarded.roles()}
    for key, spec in specs.items():
        if spec.tags.get(PIPELINE_TAG) != guarded.name or STAGE_TAG not in spec.tags:
            continue
        declared = spec.tags[STAGE_TAG]
        if key not in roles and declared not in (Stage.MODEL.value,):
            raise SynthPipelineError(
                f"{key.to_user_string()} is declared {declared} of {guarded.name} but GuardedAssets does not name it: "
                f"add it ({declared}=...) so its checks are built")
        if key in roles and roles[key].value != declared:
            raise SynthPipelineError(
                f"{key.to_user_string()} is declared {declared} but GuardedAssets names it {roles[key].value}: make "
                "the two agree")
    _require_train_after_holdout(guarded, assets, specs)
    # The train split may read the holdout to leave its rows out; holdout_excluded fails it if any stay in.
    allowed = {guarded.evaluation, guarded.real_train}
    readers = sorted(key.to_user_string() for key, spec in specs.items()
                     if guarded.real_holdout in {dep.asset_key for dep in spec.deps} and key not in allowed)
    if readers:
        raise SynthPipelineError(
            f"{readers} depend on the sealed holdout {guarded.real_holdout.to_user_string()}: only the evaluation "
            f"({guarded.evaluation.to_user_string() if guarded.evaluation else 'none named'}) may read it, and the "
            "train split to leave its rows out")


def _require_train_after_holdout(guarded: GuardedAssets, assets: Sequence[dg.AssetsDefinition | dg.AssetSpec],
                                 specs: dict[dg.AssetKey, dg.AssetSpec]) -> None:
    """The train split is made in the holdout's step or after it, so ``holdout_excluded`` judges this run's holdout.

    Raises:
        SynthPipelineError: They are separate steps and the train split does not depend on the holdout.
    """
    from synth_pipeline.errors import SynthPipelineError

    train, holdout = guarded.real_train, guarded.real_holdout
    if train is None or train not in specs or holdout not in specs:
        return
    together = any(isinstance(item, dg.AssetsDefinition) and {train, holdout} <= set(item.keys) for item in assets)
    if not together and holdout not in {dep.asset_key for dep in specs[train].deps}:
        raise SynthPipelineError(
            f"the train split {train.to_user_string()} and the holdout {holdout.to_user_string()} are made in separate "
            f"steps, in no fixed order, so holdout_excluded could judge another run's holdout: make "
            f"{train.to_user_string()} depend on {holdout.to_user_string()} (deps=[...], or read it to leave its "
            "rows out) or make both in one multi-asset")


def guarded_definitions(
    guarded: GuardedAssets,
    assets: Sequence[dg.AssetsDefinition | dg.AssetSpec],
    *,
    policy: SynthPolicy | None = None,
    data_dir: str | None = None,
    expectation_suites: str | Path | None = None,
    asset_checks: Sequence[dg.AssetChecksDefinition] = (),
    schedules: Sequence[dg.ScheduleDefinition] = (),
    sensors: Sequence[dg.SensorDefinition] = (),
) -> dg.Definitions:
    """Definitions of a team's assets with every guard rail, checked against them first.

    ``validate_guarded`` + ``build_guard_rails`` + ``generation_job`` + ``guard_rail_resources``
    in one call, so that none is forgotten.

    Raises:
        UnknownNameError, SynthPipelineError: As :func:`validate_guarded`.
    """
    validate_guarded(guarded, assets)
    together = independent_generated_assets(guarded, assets)
    return dg.Definitions(
        assets=list(assets),
        asset_checks=[*build_guard_rails(guarded, expectation_suites=expectation_suites, together=together),
                      *asset_checks],
        jobs=[generation_job(guarded.name, assets)],
        schedules=list(schedules), sensors=list(sensors),
        resources=guard_rail_resources(guarded, policy=policy, data_dir=data_dir),
    )
