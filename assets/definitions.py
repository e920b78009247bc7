"""The code location Dagster loads (see workspace.yaml): the reference pipeline and its checks."""

from assets.pipeline import reference_pipeline
from checks import EXPECTATIONS_DIR, reference_policy

defs = reference_pipeline.to_definitions(policy=reference_policy, expectation_suites=EXPECTATIONS_DIR)
