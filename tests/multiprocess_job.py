"""Generation jobs for the multiprocess-executor test: Dagster re-imports this file in each step process.

Two pipelines in one code location, so their generation runs can run at the same time (a
generation's checks read the previous generation of its own pipeline, so two generations of
one pipeline cannot). The data directory comes from $SYNTH_PIPELINE_DATA_DIR, which the step
processes inherit.
"""

import dagster as dg

from conftest import fast_spec
from synth_pipeline import GenerationMode, MixSpec, build_synth_pipeline

# No vendor data or augmentation: fewer steps keep the test short, and the steps left still
# run 4 at a time.
pipelines = [
    build_synth_pipeline(fast_spec(name, mix=MixSpec(mode=GenerationMode.REPLACE, real_arrival_batches=4),
                                   unknown_source=None, augmentation=None))
    for name in ("par_a", "par_b")
]
defs = dg.Definitions.merge(*(pipeline.to_definitions(include_quality_checks=False) for pipeline in pipelines))


def generation_job_a():
    """The generation job of ``par_a``."""
    return defs.resolve_job_def(pipelines[0].job.name)


def generation_job_b():
    """The generation job of ``par_b``."""
    return defs.resolve_job_def(pipelines[1].job.name)
