"""A generation job with every heavy check, for the object-storage scale-out test.

Dagster re-imports this file in each step process (the multiprocess executor). The data
directory and the stage URL come from $SYNTH_PIPELINE_DATA_DIR and $SYNTH_PIPELINE_STAGE_URL,
the S3 endpoint and credentials from the AWS_* variables, all inherited by the step processes,
as a cluster's run workers get them from their deployment.
"""

from pathlib import Path

from conftest import fast_spec
from synth_pipeline import GenerationMode, MixSpec, build_synth_pipeline

EXPECTATIONS = Path(__file__).parent.parent / "checks" / "expectations"  # the reference pipeline's suites

# No vendor data or augmentation: fewer steps keep the test short; the heavy checks of the
# synthetic stage and the mix are all there.
pipeline = build_synth_pipeline(fast_spec("s3_bc", mix=MixSpec(mode=GenerationMode.REPLACE, real_arrival_batches=4),
                                          unknown_source=None, augmentation=None))
defs = pipeline.to_definitions(include_quality_checks=True, expectation_suites=EXPECTATIONS)


def generation_job():
    """The generation job of ``s3_bc``."""
    return defs.resolve_job_def(pipeline.job.name)
