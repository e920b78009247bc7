"""The reference pipeline: breast-cancer data shipped with scikit-learn, no download needed.

It is an ordinary user of the plugin: a spec, the factory, nothing else. Point the real
source at your own file at launch time (Dagster config of ``real_source``: ``path``),
or copy this file and change the spec.
"""

from synth_pipeline import MixSpec, SourceSpec, SynthPipelineSpec, build_synth_pipeline

REFERENCE_SPEC = SynthPipelineSpec(
    name="breast_cancer",
    label_column="target",
    real_source=SourceSpec(loader="synth_pipeline.datasets:breast_cancer"),
    unknown_source=SourceSpec(loader="synth_pipeline.datasets:breast_cancer_vendor_drop"),
    # The real train split arrives over four generations, so generations 1-4 each bring
    # fresh real rows; from generation 5 on none arrive and generation_budget fails.
    mix=MixSpec(real_arrival_batches=4),
)

reference_pipeline = build_synth_pipeline(REFERENCE_SPEC)
