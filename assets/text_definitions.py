"""The code location of the text reference pipeline (see workspace.yaml and :mod:`assets.text_pipeline`)."""

from assets.text_pipeline import reviews_pipeline
from checks import REVIEWS_EXPECTATIONS_DIR, reference_policy
from synth_pipeline.automation import build_generation_schedule
from synth_pipeline.executors import preloading_executor

defs = reviews_pipeline.to_definitions(
    policy=reference_policy,
    expectation_suites=REVIEWS_EXPECTATIONS_DIR,
    schedules=[build_generation_schedule(reviews_pipeline)],  # off until switched on in the UI
    executor=preloading_executor("assets.text_definitions"),
)
