"""The protocol every generator of synthetic rows follows.

A generator is fitted on a frame of user columns (no ``_sp_`` provenance column, no
identifier column) and samples rows with the same columns. What it records about itself
(:class:`GeneratorInfo`) goes into the provenance of the rows it made: the OpenLineage
``generator`` of the provenance facet and the ``generator`` / ``generator_params``
materialization metadata. A differentially private generator also reports the privacy
budget it spent on its fit input (:class:`PrivacySpend`), which the policy sums over
generations (sequential composition).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pandas as pd


@dataclass(frozen=True)
class PrivacySpend:
    """The (epsilon, delta) differential-privacy budget one fit spent on its input rows.

    Attributes:
        epsilon: The privacy-loss bound (> 0).
        delta: The failure probability (0 for pure epsilon-DP).
        mechanism: The mechanism that spent it (e.g. ``smartnoise.aim``).
    """

    epsilon: float
    delta: float = 0.0
    mechanism: str = ""


@dataclass(frozen=True)
class GeneratorInfo:
    """What a fitted generator records about itself in the provenance of its rows.

    Attributes:
        name: Stable dotted name (e.g. ``sdv.gaussian_copula``, ``mypkg.gen:make``).
        params: The parameters it was built with (JSON-serializable).
        privacy: The DP budget its fit spent, or None for a generator without a DP guarantee.
        extra: Further figures to show in materialization metadata (JSON-serializable).
        fitted_on_depth: For rows made elsewhere (:mod:`synth_pipeline.generators.external`):
            the largest depth of the rows the outside generator was fitted on, as declared
            (0: real rows only). The stage tags its rows one deeper than the larger of this
            and its own fit input's depth. None: the fit input's depth alone.
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    privacy: PrivacySpend | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    fitted_on_depth: int | None = None


@runtime_checkable
class Generator(Protocol):
    """Fit on a frame, sample rows like it.

    Implementations must be deterministic for a given ``seed`` where the underlying
    library allows it, must not mutate ``frame``, and must return exactly the columns
    of the fitted frame (in that order); the pipeline validates the output like an input
    (:func:`synth_pipeline.output_validation.validate_generated_rows`).
    """

    def fit(self, frame: pd.DataFrame, *, label_column: str, seed: int) -> None:
        """Fit on ``frame`` (rows x user columns); ``label_column`` is the target."""
        ...

    def sample(self, num_rows: int, *, seed: int) -> pd.DataFrame:
        """``num_rows`` new rows with the fitted frame's columns and dtypes."""
        ...

    def info(self) -> GeneratorInfo:
        """Name, parameters and (for DP generators) the privacy budget spent by the last fit."""
        ...
