"""The code location of the example: the team's assets with synth-pipeline's guard rails.

Run it: ``synth-pipeline run -m examples.own_assets.definitions`` (CLI) or
``dagster dev -m examples.own_assets.definitions`` (UI), from the repository root.
"""

import dagster as dg

from examples.own_assets import churn_assets
from synth_pipeline import GuardedAssets, SynthPolicy, build_guard_rails, generation_job, guard_rail_resources

GUARDED = GuardedAssets(
    name=churn_assets.PIPELINE,
    label_column=churn_assets.LABEL,
    real_source=dg.AssetKey("customers"),
    real_holdout=dg.AssetKey("holdout"),
    real_train=dg.AssetKey("train"),
    real_arrivals=dg.AssetKey("new_customers"),
    synthetic=[dg.AssetKey("simulated")],
    training_mix=dg.AssetKey("mix"),
    evaluation=dg.AssetKey("evaluation"),
)

ASSETS = dg.load_assets_from_modules([churn_assets])

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=build_guard_rails(GUARDED),
    jobs=[generation_job(GUARDED.name, ASSETS)],
    resources=guard_rail_resources(GUARDED, policy=SynthPolicy(max_synthetic_fraction=0.3)),
)
