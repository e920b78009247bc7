"""A generation job for the multiprocess-executor test: Dagster re-imports this file in each step process.

The data directory comes from $SYNTH_PIPELINE_DATA_DIR, which the step processes inherit.
"""

from conftest import fast_spec
from synth_pipeline import GenerationMode, MixSpec, build_synth_pipeline

# Four real batches, so every generation brings fresh real rows and all checks pass. No vendor
# data or augmentation: fewer steps keep the test short, and the steps left still run 4 at a time.
pipeline = build_synth_pipeline(fast_spec(
    "par", mix=MixSpec(mode=GenerationMode.REPLACE, real_arrival_batches=4), unknown_source=None, augmentation=None))
defs = pipeline.to_definitions()


def generation_job():
    """The pipeline's generation job, resolved from the definitions."""
    return defs.resolve_job_def(pipeline.job.name)
