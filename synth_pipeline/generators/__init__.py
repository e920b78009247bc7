"""Generators behind one protocol: fit on a frame, sample n rows, name and parameters recorded.

See :mod:`synth_pipeline.generators.protocol`. Concrete generators import their heavy
libraries (SDV, torch, smartnoise, mostlyai) only when fitted, never at definition load.
"""

from synth_pipeline.generators.protocol import Generator, GeneratorInfo, PrivacySpend

__all__ = ["Generator", "GeneratorInfo", "PrivacySpend"]
