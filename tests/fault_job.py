"""A small generation job for the fault tests (``synth-pipeline run -m fault_job``).

One pipeline on the breast-cancer data with the fast synthesizer, SMOTE augmentation, no
vendor data and no quality checks; accumulate mode, with fresh real rows for 4
generations, so each generation reads the previous one's training mix. The data directory
comes from --data-dir.
"""

from conftest import fast_spec
from synth_pipeline import GenerationMode, MixSpec, SynthPolicy, build_synth_pipeline

pipeline = build_synth_pipeline(
    fast_spec("faults", mix=MixSpec(mode=GenerationMode.ACCUMULATE, real_arrival_batches=4), unknown_source=None)
)
# The tiny synthetic sets score unevenly on the holdout: the test is about crashes, not that threshold.
defs = pipeline.to_definitions(include_quality_checks=False, policy=SynthPolicy(min_tstr_trtr_ratio=0.5))
