"""The synth-pipeline Dagster component: a pipeline declared in a ``defs.yaml`` of a ``dg`` project.

``dg scaffold defs synth_pipeline.SynthPipelineComponent my_pipe`` writes a working ``defs.yaml``;
:class:`SynthPipelineComponent` documents every attribute.
"""

from synth_pipeline.components.pipeline_component import SynthPipelineComponent

__all__ = ["SynthPipelineComponent"]
