"""The code location of the example: the team's assets with synth-pipeline's guard rails.

Run it: ``synth-pipeline run -m examples.own_assets.definitions`` (CLI) or
``dagster dev -m examples.own_assets.definitions`` (UI), from the repository root.
"""

import dagster as dg

from examples.own_assets import churn_assets
from synth_pipeline import GuardedAssets, SynthPolicy, guarded_definitions

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

# Checks GUARDED against the assets (names, roles, who reads the holdout), then builds every guard
# rail, the generation job `synth-pipeline run` starts, and the resources.
defs = guarded_definitions(GUARDED, ASSETS, policy=SynthPolicy(max_synthetic_fraction=0.3))
