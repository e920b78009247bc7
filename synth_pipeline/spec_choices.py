"""The choices of a pipeline spec: the synthesizer, what it is fitted on, the mix mode.

Kept apart from the spec's pydantic models (:mod:`synth_pipeline.spec`, which re-exports
them: import them from there) so that the ``synth-pipeline`` parser, which offers them as
choices, imports neither pydantic nor the models, and ``synth-pipeline lineage`` stays quick.
"""

from __future__ import annotations

from enum import StrEnum


class SynthesizerMethod(StrEnum):
    """The SDV single-table synthesizers a synthetic stage can use.

    ``synthesizer.method`` also takes the other built-in generators and user generators
    (:mod:`synth_pipeline.generators.registry`).
    """

    GAUSSIAN_COPULA = "gaussian_copula"
    CTGAN = "ctgan"
    TVAE = "tvae"


class FitOn(StrEnum):
    """What a generation's synthesizer is fitted on."""

    REAL = "real"
    """The real rows arriving in this generation (depth of the output: 1)."""
    PREVIOUS_MIX = "previous_mix"
    """Generation g-1's training mix: the recursive loop; depth grows by one each time."""


class GenerationMode(StrEnum):
    """How a generation's training mix relates to the previous one."""

    REPLACE = "replace"
    """Only this generation's rows; earlier data is dropped."""
    ACCUMULATE = "accumulate"
    """The previous mix plus this generation's new rows."""
