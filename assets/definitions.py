"""The code location Dagster loads (see workspace.yaml): the reference pipeline and its checks."""

import os

from assets.pipeline import reference_pipeline
from checks import EXPECTATIONS_DIR, reference_policy
from synth_pipeline.automation import build_arrival_sensor, build_generation_schedule
from synth_pipeline.executors import preloading_executor

# New real-data files dropped here start a generation (when the sensor is switched on). By default
# (None) the sensor watches incoming/breast_cancer under the data directory of the store bound in
# these definitions, because run config may only name files there (or in $SYNTH_PIPELINE_INPUT_DIRS):
# the sensor passes each file to the run as config.
WATCH_DIR = os.environ.get("SYNTH_PIPELINE_WATCH_DIR") or None

defs = reference_pipeline.to_definitions(
    policy=reference_policy,
    expectation_suites=EXPECTATIONS_DIR,
    schedules=[build_generation_schedule(reference_pipeline)],  # daily at 03:00 UTC, off until switched on
    sensors=[build_arrival_sensor(reference_pipeline, WATCH_DIR)],
    # UI, schedule and sensor runs fork each step from a server that imported this module and Great
    # Expectations once per run, instead of a fresh interpreter per step (768 s -> 215 s per generation
    # measured); the launchpad may still choose in_process.
    executor=preloading_executor("assets.definitions"),
)
