"""The dg project's code location (``[tool.dg]`` in pyproject.toml): every component under ``assets/defs``.

``assets/defs/reference/defs.yaml`` declares the reference pipeline as a
:class:`~synth_pipeline.SynthPipelineComponent`; ``dg dev`` and ``dg launch`` load this module.
"""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """The definitions of the components in ``assets/defs``."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
